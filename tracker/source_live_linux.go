package tracker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// DefaultSnaplen is the capture length used when LiveOptions.Snaplen is zero. It is
// also the largest snaplen accepted (libpcap's limit), large enough for GRO/GSO
// super-packets.
const DefaultSnaplen = 262144

// LiveOptions configures a live capture.
type LiveOptions struct {
	// Snaplen is the number of bytes kept of each packet; zero (or anything
	// outside 1..DefaultSnaplen) means DefaultSnaplen.
	Snaplen int
	// Promisc puts the interface into promiscuous mode for as long as the
	// capture is open (the kernel undoes it when the socket closes).
	Promisc bool
}

// liveRcvBuf is the socket receive buffer requested for a live capture: a few MiB
// absorb bursts that the default (about 200 KiB) would drop.
const liveRcvBuf = 4 << 20

// vlanHeadroom is room in front of the receive buffer for re-inserting an 802.1Q
// tag that the kernel (or the NIC) stripped, without moving the payload.
const vlanHeadroom = 4

var (
	cmsgHdrLen  = unix.CmsgLen(0)
	auxdataSize = int(unsafe.Sizeof(unix.TpacketAuxdata{}))
	timespecLen = int(unsafe.Sizeof(unix.Timespec{}))
	timevalLen  = int(unsafe.Sizeof(unix.Timeval{}))
)

// liveSource is a live capture on one Linux interface: an AF_PACKET SOCK_RAW socket
// read with recvmsg into one reused buffer. The descriptor is non-blocking and
// registered with the Go runtime poller (os.NewFile + SyscallConn), so a blocked
// ReadPacket parks its goroutine rather than a thread, and Close wakes it at once.
// A later TPACKET_V3 ring can use the same descriptor and wait the same way.
type liveSource struct {
	iface string
	link  layers.LinkType
	// skipOutgoing drops PACKET_OUTGOING copies; on loopback every packet is
	// seen both leaving and arriving, and libpcap keeps only the arrival.
	skipOutgoing bool

	file   *os.File
	rc     syscall.RawConn
	recvFn func(fd uintptr) bool // s.recv, bound once so reads do not allocate
	closed atomic.Bool

	// recvmsg state, reused for every packet. msg points at sa, iov and oob.
	buf   []byte // vlanHeadroom + snaplen
	oob   []byte
	msg   unix.Msghdr
	iov   unix.Iovec
	sa    unix.RawSockaddrLinklayer
	n     int           // recvmsg result (full packet length thanks to MSG_TRUNC)
	errno syscall.Errno // recvmsg error other than EAGAIN
}

var _ Source = (*liveSource)(nil)

// OpenLive starts capturing on the network interface iface. It needs root or
// CAP_NET_RAW (and CAP_NET_ADMIN for Promisc). Ethernet and loopback interfaces
// yield layers.LinkTypeEthernet (loopback has Ethernet framing with zero MACs on
// Linux); interfaces without a link header (tun, WireGuard) yield
// layers.LinkTypeRaw. Packet timestamps are the kernel's receive (or transmit)
// times. ReadPacket blocks until a packet arrives; Close unblocks it and later
// calls return io.EOF. ReadPacket must not be called concurrently with itself.
func OpenLive(iface string, opt LiveOptions) (Source, error) {
	if iface == "" {
		return nil, errors.New("open interface: no interface name given")
	}
	ifi, err := lookupInterface(iface)
	if err != nil {
		return nil, fmt.Errorf("open interface %s: %w", iface, err)
	}
	snaplen := opt.Snaplen
	if snaplen <= 0 || snaplen > DefaultSnaplen {
		snaplen = DefaultSnaplen
	}

	// Protocol 0: the socket receives nothing until bind names ETH_P_ALL and the
	// interface, so no packet from another interface slips in before the bind.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, &permissionError{iface: iface, err: err}
		}
		return nil, fmt.Errorf("open interface %s: packet socket: %w", iface, err)
	}
	s := &liveSource{iface: iface}
	if err := s.setup(fd, ifi, snaplen, opt.Promisc); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, &permissionError{iface: iface, err: err}
		}
		return nil, fmt.Errorf("open interface %s: %w", iface, err)
	}
	s.file = os.NewFile(uintptr(fd), "capture "+iface)
	if s.rc, err = s.file.SyscallConn(); err != nil {
		s.file.Close()
		return nil, fmt.Errorf("open interface %s: %w", iface, err)
	}
	s.recvFn = s.recv
	return s, nil
}

// lookupInterface finds iface by name, reporting a missing one as ENODEV.
func lookupInterface(iface string) (*net.Interface, error) {
	ifi, err := net.InterfaceByName(iface)
	if err == nil {
		return ifi, nil
	}
	all, lerr := net.Interfaces()
	if lerr != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == iface {
			return &all[i], nil
		}
	}
	return nil, unix.ENODEV
}

// setup configures and binds the packet socket and prepares the read buffers.
func (s *liveSource) setup(fd int, ifi *net.Interface, snaplen int, promisc bool) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fmt.Errorf("enable PACKET_AUXDATA: %w", err)
	}
	tsLen := timespecLen
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMP, 1); err != nil {
			return fmt.Errorf("enable timestamps: %w", err)
		}
		tsLen = timevalLen
	}
	// SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back
	// to what SO_RCVBUF allows. A small buffer only means drops under load.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, liveRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, liveRcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return unix.ENODEV // removed since the lookup
		}
		return fmt.Errorf("bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if !ok {
		return fmt.Errorf("getsockname: unexpected address %T", sa)
	}
	switch ll.Hatype {
	case unix.ARPHRD_ETHER:
		s.link = layers.LinkTypeEthernet
	case unix.ARPHRD_LOOPBACK:
		s.link = layers.LinkTypeEthernet
		s.skipOutgoing = true
	case unix.ARPHRD_NONE:
		s.link = layers.LinkTypeRaw
	default:
		return fmt.Errorf("unsupported link type (ARPHRD %d); only Ethernet, loopback and tun-style interfaces can be captured", ll.Hatype)
	}
	if promisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("enable promiscuous mode: %w", err)
		}
	}

	s.buf = make([]byte, vlanHeadroom+snaplen)
	// Room for the two control messages we ask for, plus slack for any other.
	s.oob = make([]byte, unix.CmsgSpace(auxdataSize)+unix.CmsgSpace(tsLen)+64)
	s.iov.Base = &s.buf[vlanHeadroom]
	s.iov.SetLen(snaplen)
	s.msg.Name = (*byte)(unsafe.Pointer(&s.sa))
	s.msg.Iov = &s.iov
	s.msg.Iovlen = 1
	s.msg.Control = &s.oob[0]
	return nil
}

// recv is the RawConn read callback: one non-blocking recvmsg. It returns false
// (wait for the descriptor to become readable) only when no packet is queued.
func (s *liveSource) recv(fd uintptr) bool {
	for {
		s.msg.Namelen = uint32(unsafe.Sizeof(s.sa))
		s.msg.SetControllen(len(s.oob))
		s.msg.Flags = 0
		n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&s.msg)), unix.MSG_TRUNC)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.n, s.errno = int(n), e
		return true
	}
}

// ReadPacket implements Source. The data aliases an internal buffer that the next
// call overwrites. It returns io.EOF once the source is closed.
func (s *liveSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	for {
		if s.closed.Load() {
			return nil, gopacket.CaptureInfo{}, 0, io.EOF
		}
		if err := s.rc.Read(s.recvFn); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && !s.closed.Load() {
				s.file.SetReadDeadline(time.Time{})
				return nil, gopacket.CaptureInfo{}, 0, errWoken
			}
			if s.closed.Load() || errors.Is(err, os.ErrClosed) {
				return nil, gopacket.CaptureInfo{}, 0, io.EOF
			}
			return nil, gopacket.CaptureInfo{}, 0, fmt.Errorf("read %s: %w", s.iface, err)
		}
		if s.errno != 0 {
			// ENETDOWN: the interface went down or was removed.
			return nil, gopacket.CaptureInfo{}, 0, fmt.Errorf("read %s: %w", s.iface, s.errno)
		}
		if s.skipOutgoing && s.sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		data, ci := s.packet()
		return data, ci, s.link, nil
	}
}

// packet builds the result of the last recvmsg from the buffer and its control
// messages (parsed in place: unix.ParseSocketControlMessage allocates).
func (s *liveSource) packet() ([]byte, gopacket.CaptureInfo) {
	var ci gopacket.CaptureInfo
	ci.InterfaceIndex = int(s.sa.Ifindex)
	wire := s.n
	capLen := min(s.n, len(s.buf)-vlanHeadroom)
	var aux *unix.TpacketAuxdata

	oob := s.oob[:min(int(s.msg.Controllen), len(s.oob))]
	for len(oob) >= cmsgHdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < cmsgHdrLen || l > len(oob) {
			break
		}
		body := oob[cmsgHdrLen:l]
		switch {
		case h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA && len(body) >= auxdataSize:
			aux = (*unix.TpacketAuxdata)(unsafe.Pointer(&body[0]))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && len(body) >= timespecLen:
			ts := (*unix.Timespec)(unsafe.Pointer(&body[0]))
			ci.Timestamp = time.Unix(int64(ts.Sec), int64(ts.Nsec))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMP && len(body) >= timevalLen:
			tv := (*unix.Timeval)(unsafe.Pointer(&body[0]))
			ci.Timestamp = time.Unix(int64(tv.Sec), int64(tv.Usec)*1000)
		}
		next := unix.CmsgSpace(l - cmsgHdrLen)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	if ci.Timestamp.IsZero() {
		// The kernel always sends the timestamp we asked for; this is only a
		// fallback for a truncated control buffer.
		ci.Timestamp = time.Now()
	}

	data := s.buf[vlanHeadroom : vlanHeadroom+capLen]
	if aux != nil {
		wire = int(aux.Len)
		// Put back an 802.1Q tag that was stripped into the metadata, as libpcap
		// does: move the two MAC addresses 4 bytes forward, tag after them.
		if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 && s.link == layers.LinkTypeEthernet && capLen >= 12 {
			tpid := uint16(0x8100)
			if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && aux.Vlan_tpid != 0 {
				tpid = aux.Vlan_tpid
			}
			copy(s.buf[0:12], s.buf[vlanHeadroom:vlanHeadroom+12])
			s.buf[12], s.buf[13] = byte(tpid>>8), byte(tpid)
			s.buf[14], s.buf[15] = byte(aux.Vlan_tci>>8), byte(aux.Vlan_tci)
			data = s.buf[:vlanHeadroom+capLen]
			wire += vlanHeadroom
		}
	}
	ci.CaptureLength = len(data)
	ci.Length = max(wire, len(data))
	return data, ci
}

// wakeUp makes a blocked (or the next) ReadPacket return errWoken, so that Run can
// serve its Feed and calls while no packets arrive.
func (s *liveSource) wakeUp() { s.file.SetReadDeadline(time.Now()) }

// Close implements Source. It wakes a ReadPacket blocked in another goroutine, which
// then returns io.EOF. Closing twice is harmless.
func (s *liveSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.file.Close()
}

// permissionError is the error for a capture without the needed privileges.
type permissionError struct {
	iface string
	err   error
}

func (e *permissionError) Error() string {
	return "capture on " + e.iface + " needs root or CAP_NET_RAW: run with sudo, or setcap cap_net_raw,cap_net_admin=eip on the flowtop binary"
}

func (e *permissionError) Unwrap() error { return e.err }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// DefaultInterface returns the interface to capture on when none is given: the one
// holding the IPv4 default route (the IPv6 one if there is no IPv4 default), else
// the first interface that is up and not loopback.
func DefaultInterface() (string, error) {
	for _, r := range []struct {
		path  string
		parse func(io.Reader) string
	}{
		{"/proc/net/route", defaultRouteIPv4},
		{"/proc/net/ipv6_route", defaultRouteIPv6},
	} {
		f, err := os.Open(r.path)
		if err != nil {
			continue
		}
		name := r.parse(f)
		f.Close()
		if name == "" {
			continue
		}
		if _, err := net.InterfaceByName(name); err == nil {
			return name, nil
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("find default interface: %w", err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 {
			return ifi.Name, nil
		}
	}
	return "", errors.New("find default interface: no default route and no interface is up besides loopback")
}

// Route flags from linux/route.h.
const (
	rtfUp     = 0x0001
	rtfReject = 0x0200
)

// defaultRouteIPv4 returns the interface of the lowest-metric usable default route
// in a /proc/net/route table, or "".
//
//	Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
func defaultRouteIPv4(r io.Reader) string {
	best, bestMetric := "", uint64(0)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.ParseUint(f[6], 10, 64)
		if err1 != nil || err2 != nil || flags&rtfUp == 0 || flags&rtfReject != 0 || f[0] == "*" || f[0] == "lo" {
			continue
		}
		if best == "" || metric < bestMetric {
			best, bestMetric = f[0], metric
		}
	}
	return best
}

// defaultRouteIPv6 returns the interface of the lowest-metric usable ::/0 route in
// a /proc/net/ipv6_route table, or "".
//
//	dest destlen src srclen nexthop metric refcnt use flags iface
func defaultRouteIPv6(r io.Reader) string {
	best, bestMetric := "", uint64(0)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "00000000000000000000000000000000" || f[1] != "00" {
			continue
		}
		metric, err1 := strconv.ParseUint(f[5], 16, 64)
		flags, err2 := strconv.ParseUint(f[8], 16, 32)
		if err1 != nil || err2 != nil || flags&rtfUp == 0 || flags&rtfReject != 0 || f[9] == "lo" {
			continue
		}
		if best == "" || metric < bestMetric {
			best, bestMetric = f[9], metric
		}
	}
	return best
}
