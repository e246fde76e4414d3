package pcapfilter

import (
	"sync"
	"sync/atomic"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// defaultSnaplen is tcpdump's default snapshot length, used by a Matcher
// created with snaplen 0.
const defaultSnaplen = 262144

// Matcher runs a filter in user space. It compiles the filter once per
// link type, on first use, and is safe for concurrent use.
type Matcher struct {
	f       *Filter
	snaplen uint32
	mu      sync.Mutex // serializes compilation
	vms     [256]atomic.Pointer[compiled]
}

// compiled is the program of one link type, or why there is none.
type compiled struct {
	vm  *bpf.VM
	err error
}

// Matcher returns a Matcher for f. A snaplen of 0 means 262144.
func (f *Filter) Matcher(snaplen uint32) *Matcher {
	if snaplen == 0 {
		snaplen = defaultSnaplen
	}
	return &Matcher{f: f, snaplen: snaplen}
}

// Match reports whether a packet of the given link type passes the filter.
// It fails only when the filter cannot be compiled for that link type, and
// does not allocate once the link type has been seen.
func (m *Matcher) Match(link layers.LinkType, data []byte) (bool, error) {
	c := m.vms[link].Load()
	if c == nil {
		c = m.compile(link)
	}
	if c.err != nil {
		return false, c.err
	}
	n, err := c.vm.Run(data)
	return n > 0, err
}

func (m *Matcher) compile(link layers.LinkType) *compiled {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.vms[link].Load(); c != nil {
		return c
	}
	c := &compiled{}
	prog, err := m.f.program(link, m.snaplen)
	if err == nil {
		c.vm, err = bpf.NewVM(prog)
		if err != nil {
			err = m.f.errorf("%v", err)
		}
	}
	c.err = err
	m.vms[link].Store(c)
	return c
}
