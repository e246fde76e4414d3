package process

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// sockDiag asks the kernel about sockets through NETLINK_SOCK_DIAG: one exact
// lookup per socket (a hash lookup in the kernel, no dump).
type sockDiag struct {
	fd  int
	seq atomic.Uint32
	buf []byte
}

// Sizes of struct inet_diag_req_v2 and struct inet_diag_msg (linux/inet_diag.h).
const (
	diagReqLen = 56
	diagMsgLen = 72
)

func openSockDiag() (*sockDiag, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("netlink sock_diag: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink sock_diag: %w", err)
	}
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink sock_diag: %w", err)
	}
	return &sockDiag{fd: fd, buf: make([]byte, 1<<16)}, nil
}

func (d *sockDiag) close() { unix.Close(d.fd) }

// diagEntry is what the kernel says of one socket.
type diagEntry struct {
	local, remote netip.AddrPort
	uid, inode    uint32
}

// family returns the address family to ask in, and both addresses as the kernel
// compares them: IPv4 when both are IPv4 (IPv4-mapped IPv6 addresses included),
// else IPv6.
func family(s Socket) (uint8, netip.Addr, netip.Addr) {
	l, r := s.Local.Addr().Unmap(), s.Remote.Addr().Unmap()
	if l.Is4() && r.Is4() {
		return unix.AF_INET, l, r
	}
	return unix.AF_INET6, netip.AddrFrom16(l.As16()), netip.AddrFrom16(r.As16())
}

// request builds a sock_diag request for s (the zero Socket's fields for a dump).
func (d *sockDiag) request(b []byte, fam uint8, proto Proto, flags uint16, src, dst netip.AddrPort) []byte {
	const hdr = unix.SizeofNlMsghdr
	b = b[:hdr+diagReqLen]
	clear(b)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|flags)
	ne.PutUint32(b[8:], d.seq.Add(1))
	r := b[hdr:]
	r[0], r[1] = fam, byte(proto)
	ne.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], src.Port())
	binary.BigEndian.PutUint16(id[2:], dst.Port())
	putAddr(id[4:20], src.Addr())
	putAddr(id[20:36], dst.Addr())
	ne.PutUint32(id[40:], ^uint32(0)) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], ^uint32(0))
	return b
}

func putAddr(b []byte, a netip.Addr) {
	if !a.IsValid() {
		return
	}
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

// errNotFound is an exact lookup's answer for a socket the kernel does not have.
var errNotFound = errors.New("no such socket")

// lookup asks for the socket whose local end is src and remote end dst.
func (d *sockDiag) lookup(proto Proto, s Socket) (diagEntry, error) {
	fam, l, r := family(s)
	src, dst := netip.AddrPortFrom(l, s.Local.Port()), netip.AddrPortFrom(r, s.Remote.Port())
	if proto == UDP {
		// The kernel's UDP lookup takes the request's source as the packet's:
		// the socket's local end is the destination (udp_diag.c: "src and dst
		// are swapped for historical reasons").
		src, dst = dst, src
	}
	req := d.request(make([]byte, unix.SizeofNlMsghdr+diagReqLen), fam, proto, 0, src, dst)
	seq := binary.NativeEndian.Uint32(req[8:])
	var found diagEntry
	ok := false
	err := d.exchange(req, seq, func(e diagEntry) {
		if !ok {
			found, ok = e, true
		}
	})
	if err != nil {
		return diagEntry{}, err
	}
	if !ok {
		return diagEntry{}, errNotFound
	}
	return found, nil
}

// exchange sends req and hands each socket of the answer to fn, until the answer
// ends (an exact lookup's single message, a dump's NLMSG_DONE) or fails.
func (d *sockDiag) exchange(req []byte, seq uint32, fn func(diagEntry)) error {
	if err := unix.Sendto(d.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink sock_diag: %w", err)
	}
	dump := binary.NativeEndian.Uint16(req[6:])&unix.NLM_F_DUMP != 0
	for {
		n, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("netlink sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(d.buf[:n])
		if err != nil {
			return fmt.Errorf("netlink sock_diag: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue // a late answer to an earlier request
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return errors.New("netlink sock_diag: short error message")
				}
				errno := -int32(binary.NativeEndian.Uint32(m.Data))
				if errno == 0 {
					return nil
				}
				if unix.Errno(errno) == unix.ENOENT {
					return errNotFound
				}
				return fmt.Errorf("netlink sock_diag: %w", unix.Errno(errno))
			case unix.SOCK_DIAG_BY_FAMILY:
				if e, ok := parseDiagMsg(m.Data); ok {
					fn(e)
				}
				if !dump {
					return nil
				}
			}
		}
	}
}

// parseDiagMsg decodes a struct inet_diag_msg.
func parseDiagMsg(b []byte) (diagEntry, bool) {
	if len(b) < diagMsgLen {
		return diagEntry{}, false
	}
	id := b[4:52]
	var l, r netip.Addr
	switch b[0] {
	case unix.AF_INET:
		l = netip.AddrFrom4([4]byte(id[4:8]))
		r = netip.AddrFrom4([4]byte(id[20:24]))
	case unix.AF_INET6:
		l = netip.AddrFrom16([16]byte(id[4:20])).Unmap()
		r = netip.AddrFrom16([16]byte(id[20:36])).Unmap()
	default:
		return diagEntry{}, false
	}
	ne := binary.NativeEndian
	return diagEntry{
		local:  netip.AddrPortFrom(l, binary.BigEndian.Uint16(id[0:])),
		remote: netip.AddrPortFrom(r, binary.BigEndian.Uint16(id[2:])),
		uid:    ne.Uint32(b[64:]),
		inode:  ne.Uint32(b[68:]),
	}, true
}
