package tracker

import (
	"fmt"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// DefaultSnaplen is the capture length used when LiveOptions.Snaplen is zero. It is
// also the largest snaplen accepted (libpcap's limit), large enough for GRO/GSO
// super-packets.
const DefaultSnaplen = 262144

// DefaultBuffer is the size of a live capture's ring buffer when
// LiveOptions.Buffer is zero: 32 MiB absorb about 20 ms of a saturated 10 Gb/s
// link while the tracker catches up (tcpdump's default is 2 MiB).
const DefaultBuffer = 32 << 20

// MinBuffer is the smallest ring buffer accepted: 2 MiB, tcpdump's default.
const MinBuffer = 2 << 20

// Filter is a capture filter, compiled to a classic BPF program per link type (a
// *pcapfilter.Filter). A program accepts a packet by returning non-zero.
type Filter interface {
	Compile(link layers.LinkType, snaplen uint32) ([]bpf.RawInstruction, error)
	String() string
}

// LiveOptions configures a live capture.
type LiveOptions struct {
	// Snaplen is the number of bytes kept of each packet; zero (or anything
	// outside 1..DefaultSnaplen) means DefaultSnaplen.
	Snaplen int
	// Promisc puts the interface into promiscuous mode for as long as the
	// capture is open (the kernel undoes it when the socket closes). It is
	// ignored for the "any" pseudo-interface, as libpcap does.
	Promisc bool
	// Buffer is the size in bytes of the kernel ring the packets wait in; zero
	// means DefaultBuffer. It is rounded up to whole ring blocks (1 MiB).
	Buffer int
	// Filter, if not nil, selects the packets captured. Its program runs in the
	// kernel, attached to the socket; a program that tests for VLAN tags runs in
	// user space instead, after the tag the kernel took out of the frame is put
	// back, so that it sees the frame as it was on the wire.
	Filter Filter
}

// CaptureStats are a live capture's kernel counters since it was opened, as
// PACKET_STATISTICS reports them (and tcpdump prints them at exit).
type CaptureStats struct {
	Received uint64 // packets that passed the filter, dropped ones included
	Dropped  uint64 // packets the kernel dropped because the ring was full
}

// statsSource is a source with kernel counters (a live capture). captureStats
// reads them; it may be called from any goroutine, also after Close (it then
// returns the last counts).
type statsSource interface {
	captureStats() CaptureStats
}

// offloadSource is a source that knows, for the last packet it returned, whether
// its transport checksum needs no check: the kernel had not computed it yet (a
// packet sent by the capturing host, with checksum offload) or the NIC verified it.
type offloadSource interface {
	checksumTrusted() bool
}

// releaser is a source that must be told when its reader will not read again
// (Run has returned), so that Close can free what the last packet's data aliases.
type releaser interface {
	release()
}

// matcher runs a Filter in user space on packets of any link type, with one BPF
// virtual machine per link type, compiled when the link type is first seen.
type matcher struct {
	f       Filter
	snaplen uint32
	vms     [256]*bpf.VM // by link type (gopacket v1's LinkType is a uint8)
}

func newMatcher(f Filter, snaplen uint32) *matcher {
	return &matcher{f: f, snaplen: snaplen}
}

// match reports whether data, a packet of the given link type, passes the filter.
// It fails only if the filter cannot be compiled for the link type.
func (m *matcher) match(link layers.LinkType, data []byte) (bool, error) {
	vm := m.vms[link]
	if vm == nil {
		var err error
		if vm, err = compileVM(m.f, link, m.snaplen); err != nil {
			return false, err
		}
		m.vms[link] = vm
	}
	n, err := vm.Run(data)
	return err == nil && n > 0, nil
}

// compileVM compiles f for link and loads the program into a BPF virtual machine.
func compileVM(f Filter, link layers.LinkType, snaplen uint32) (*bpf.VM, error) {
	raw, err := f.Compile(link, snaplen)
	if err != nil {
		return nil, err
	}
	prog, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, fmt.Errorf("filter %q: the program for link type %v has an instruction the BPF interpreter cannot run", f.String(), link)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %v", f.String(), err)
	}
	return vm, nil
}

// testsVLAN reports whether prog compares a value with an 802.1Q, 802.1ad or old
// QinQ tag protocol identifier, that is, whether it looks for VLAN tags.
func testsVLAN(prog []bpf.RawInstruction) bool {
	for _, ins := range prog {
		if ins.Op&0x07 == 0x05 && ins.Op&0x08 == 0 { // BPF_JMP with a constant (BPF_K)
			switch ins.K {
			case 0x8100, 0x88a8, 0x9100:
				return true
			}
		}
	}
	return false
}

// filteredSource passes on the packets of a source that a filter accepts: a
// capture file read with -f.
type filteredSource struct {
	Source
	m *matcher
}

// FilterSource returns a source that yields only the packets of src that f
// accepts, running f's program in user space (for capture files; a live capture
// takes its filter in LiveOptions). A packet of a link type that f cannot be
// compiled for ends the input with that error.
func FilterSource(src Source, f Filter) Source {
	return &filteredSource{Source: src, m: newMatcher(f, DefaultSnaplen)}
}

// ReadPacket implements Source.
func (s *filteredSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	for {
		data, ci, link, err := s.Source.ReadPacket()
		if err != nil {
			return data, ci, link, err
		}
		ok, err := s.m.match(link, data)
		if err != nil {
			return nil, gopacket.CaptureInfo{}, 0, err
		}
		if ok {
			return data, ci, link, nil
		}
	}
}

// wakeUp passes a wake-up on to the filtered source, if it can be woken.
func (s *filteredSource) wakeUp() {
	if w, ok := s.Source.(wakeable); ok {
		w.wakeUp()
	}
}
