package analyzer

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// fakeHost is a one-connection Host for tests: it keeps the services in order,
// the names, the answers and the flips, and counts the bytes delivered as the size.
type fakeHost struct {
	id       ConnID
	partial  bool
	size     uint64
	services []ID
	names    map[NameKind]string
	answers  map[netip.Addr]string
	flips    int
	long     bool
	now      int64
}

func (h *fakeHost) ConnID(uint64) ConnID { return h.id }
func (h *fakeHost) Partial(uint64) bool  { return h.partial }
func (h *fakeHost) Size(uint64) uint64   { return h.size }
func (h *fakeHost) LongLived(uint64)     { h.long = true }
func (h *fakeHost) Now() int64           { return h.now }
func (h *fakeHost) AddService(_ uint64, id ID) {
	if !slices.Contains(h.services, id) {
		h.services = append(h.services, id)
	}
}
func (h *fakeHost) RemoveService(_ uint64, id ID) {
	if i := slices.Index(h.services, id); i >= 0 {
		h.services = slices.Delete(h.services, i, i+1)
	}
}
func (h *fakeHost) Flip(uint64) {
	h.flips++
	h.id.Orig, h.id.Resp = h.id.Resp, h.id.Orig
}
func (h *fakeHost) Name(_ uint64, k NameKind, n string) {
	if h.names == nil {
		h.names = map[NameKind]string{}
	}
	if _, ok := h.names[k]; !ok {
		h.names[k] = n
	}
}
func (h *fakeHost) Answer(n string, a netip.Addr) {
	if h.answers == nil {
		h.answers = map[netip.Addr]string{}
	}
	h.answers[a] = n
}

// service returns the services joined as conn.log writes them.
func (h *fakeHost) service() string {
	var s []string
	for _, id := range h.services {
		s = append(s, Name(id))
	}
	return strings.Join(s, ",")
}

// step is one delivery in a scripted connection: data from the originator
// (Orig) or the responder, a gap of Gap bytes, or the end of a direction.
type step struct {
	Orig bool
	Data string
	Gap  uint64
	End  bool
	Flip bool // the host flips the roles before this step (as a TCP flip would)
}

// script is a connection to run through a Session.
type script struct {
	Analyzers []string // nil: every analyzer
	Ports     map[string][]Port
	Proto     Transport
	Orig      string // "10.0.0.1:1234"
	Resp      string // "10.0.0.2:80"
	Partial   bool
	Expected  bool
	Steps     []step
}

// run runs s and returns the host with what the analyzers reported, and whether
// the session was done at the end.
func run(t testing.TB, s script) (*fakeHost, bool) {
	t.Helper()
	h, _, sess := newSession(t, s)
	play(h, sess, s.Steps)
	done := sess.Done()
	sess.Release()
	return h, done
}

// o and r are steps of the originator and the responder.
func o(data string) step { return step{Orig: true, Data: data} }
func r(data string) step { return step{Data: data} }
