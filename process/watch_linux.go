package process

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// UDPRateLimit is the rate of UDP packets above which a Watcher stops looking at
// UDP for UDPBackoff (keeping TCP SYNs): each packet wakes it, and at that rate
// the tracker's own lookups, a few milliseconds later, do better for less.
const (
	UDPRateLimit = 2000 // packets a second
	UDPBackoff   = 10 * time.Second
)

// WatchSnaplen is how much of each packet a Watcher reads: the IP and transport
// headers.
const WatchSnaplen = 128

// Watcher sees the first packet of each new connection the moment the kernel
// does, on a packet socket of its own whose filter (in the kernel) passes TCP SYNs
// and UDP, so that a connection that lives two milliseconds (a curl) is looked up
// while its sockets and its process still exist: the capture's ring hands packets
// over in blocks, later than that.
type Watcher struct {
	fd       int
	all, syn []bpf.RawInstruction
	stop     atomic.Bool
	wg       sync.WaitGroup
}

// WatchFilters are a Watcher's kernel filters, for packets that start at the IP
// header: All passes TCP SYNs and UDP, SYN only TCP SYNs.
type WatchFilters struct {
	All, SYN []bpf.RawInstruction
}

// NewWatcher opens a Watcher's packet socket on the interface with index ifindex
// (0: every interface); Attributor.Watch starts it. Open it before dropping
// privileges: it needs CAP_NET_RAW.
func NewWatcher(ifindex int, f WatchFilters) (*Watcher, error) {
	// Protocol 0: the socket receives nothing until bind names ETH_P_ALL and the
	// interface, after the filter is on. (A socket opened on ETH_P_ALL would be
	// unhooked while bind waits for an RCU grace period, deaf for milliseconds.)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	w := &Watcher{fd: fd, all: f.All, syn: f.SYN}
	fail := func(err error) (*Watcher, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := w.attach(f.All); err != nil {
		return fail(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return fail(err)
	}
	tv := unix.Timeval{Usec: 100_000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail(err)
	}
	return w, nil
}

// start runs the Watcher, handing each packet's ends to hint.
func (w *Watcher) start(hint func(Ends)) {
	w.wg.Add(1)
	go w.run(hint)
}

// Close stops the Watcher and closes its socket.
func (w *Watcher) Close() {
	w.stop.Store(true)
	w.wg.Wait()
	unix.Close(w.fd)
}

func (w *Watcher) attach(prog []bpf.RawInstruction) error {
	if len(prog) == 0 {
		return nil
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	return unix.SetsockoptSockFprog(w.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp)
}

func (w *Watcher) run(hint func(Ends)) {
	defer w.wg.Done()
	buf := make([]byte, WatchSnaplen)
	var udp int
	window := time.Now()
	var backoff time.Time
	for !w.stop.Load() {
		n, _, err := unix.Recvfrom(w.fd, buf, unix.MSG_TRUNC)
		now := time.Now()
		if now.Sub(window) >= time.Second {
			if udp > UDPRateLimit && backoff.IsZero() {
				if w.attach(w.syn) == nil {
					backoff = now
				}
			} else if !backoff.IsZero() && now.Sub(backoff) >= UDPBackoff {
				if w.attach(w.all) == nil {
					backoff = time.Time{}
				}
			}
			window, udp = now, 0
		}
		if err != nil {
			continue // the timeout (to see stop), or EINTR
		}
		e, ok := parseEnds(buf[:min(n, len(buf))])
		if !ok {
			continue
		}
		if e.Proto == UDP {
			udp++
		}
		hint(e)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
