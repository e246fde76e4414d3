package analyzer

import (
	"fmt"
	"maps"
	"net/netip"
	"testing"
)

// The test harness every analyzer's tests share, on top of host_test.go's
// fakeHost, script and run: sessions to start and steps to deliver, the same
// steps cut finer, service tables, and the input format of the fuzz targets.

// newSession starts the session of s as run does, with the same defaults, and
// delivers nothing yet.
func newSession(t testing.TB, s script) (*fakeHost, *Inspector, *Session) {
	t.Helper()
	h := hostFor(s)
	in, err := New(Config{Analyzers: s.Analyzers, Ports: s.Ports}, h)
	if err != nil {
		t.Fatal(err)
	}
	return h, in, in.NewSession(1, h.id.Transport, h.id.Resp.Port(), s.Expected)
}

// hostFor returns the fresh host of s's connection: by default TCP from
// 10.0.0.1:40000 to 10.0.0.2:80.
func hostFor(s script) *fakeHost {
	if s.Orig == "" {
		s.Orig = "10.0.0.1:40000"
	}
	if s.Resp == "" {
		s.Resp = "10.0.0.2:80"
	}
	if s.Proto == 0 {
		s.Proto = TCP
	}
	return &fakeHost{id: ConnID{Orig: netip.MustParseAddrPort(s.Orig), Resp: netip.MustParseAddrPort(s.Resp), Transport: s.Proto}, partial: s.Partial, now: 1e18}
}

// warmInspector is an Inspector that runs script after script on one host, so
// that later sessions reuse what earlier ones released.
type warmInspector struct {
	h  *fakeHost
	in *Inspector
}

func newWarmInspector(t testing.TB, s script) *warmInspector {
	h, in, sess := newSession(t, s)
	sess.Release()
	return &warmInspector{h, in}
}

// run runs s on w and returns what the host saw of it alone.
func (w *warmInspector) run(s script) *fakeHost {
	fresh := hostFor(s)
	*w.h = *fresh
	sess := w.in.NewSession(1, fresh.id.Transport, fresh.id.Resp.Port(), s.Expected)
	play(w.h, sess, s.Steps)
	sess.Release()
	h := *w.h
	return &h
}

// deliver hands one step to sess, counting its bytes in the host's size.
func deliver(h *fakeHost, sess *Session, st step) {
	if st.Flip {
		h.Flip(1)
	}
	switch {
	case st.End:
		sess.End(st.Orig)
	case st.Gap > 0:
		h.size += st.Gap
		sess.Gap(st.Orig, st.Gap)
	default:
		h.size += uint64(len(st.Data))
		sess.Data(st.Orig, []byte(st.Data))
	}
}

// play delivers the steps in order.
func play(h *fakeHost, sess *Session, steps []step) {
	for _, st := range steps {
		deliver(h, sess, st)
	}
}

// runIn is run, also returning the Inspector, so that tests can look up the
// expected connections the analyzers scheduled.
func runIn(t testing.TB, s script) (*fakeHost, *Inspector) {
	t.Helper()
	h, in, sess := newSession(t, s)
	play(h, sess, s.Steps)
	sess.Release()
	return h, in
}

// runAttached is run with the named analyzer also attached directly at the
// connection's root (as a parent analyzer attaches a child): it returns the host
// and that analyzer's parser.
func runAttached(t testing.TB, s script, name string) (*fakeHost, Parser) {
	t.Helper()
	h, _, sess := newSession(t, s)
	p := sess.root.attach(Lookup(name)).p
	play(h, sess, s.Steps)
	sess.Release()
	return h, p
}

// bytewise returns the steps with every data step cut into one-byte steps (a
// flip goes with the first); gaps and ends stay as they are.
func bytewise(steps []step) []step {
	var out []step
	for _, st := range steps {
		if len(st.Data) <= 1 || st.End || st.Gap > 0 {
			out = append(out, st)
			continue
		}
		for i := range len(st.Data) {
			b := st
			b.Data = st.Data[i : i+1]
			b.Flip = st.Flip && i == 0
			out = append(out, b)
		}
	}
	return out
}

// runBytewise is run with every data step delivered one byte at a time.
func runBytewise(t testing.TB, s script) (*fakeHost, bool) {
	t.Helper()
	s.Steps = bytewise(s.Steps)
	return run(t, s)
}

// splits returns, for each step holding data and each cut point inside it, the
// steps with that one step cut in two there.
func splits(steps []step) [][]step {
	var out [][]step
	for k, st := range steps {
		for i := 1; i < len(st.Data); i++ {
			a, b := st, st
			a.Data, b.Data = st.Data[:i], st.Data[i:]
			s := append(append(append([]step(nil), steps[:k]...), a, b), steps[k+1:]...)
			out = append(out, s)
		}
	}
	return out
}

// serviceCase is a scripted connection and the service it must end with.
type serviceCase struct {
	name string
	s    script
	want string
	// split: also run the script with every data step cut into one-byte steps
	// (and, for runCasesCut, cut in two at every point), which must give the
	// same service.
	split bool
}

// runCases runs each case as a subtest: as scripted and, with split, one byte per
// step.
func runCases(t *testing.T, cases []serviceCase) {
	t.Helper()
	runServiceCases(t, cases, false)
}

// runCasesCut is runCases where split also cuts each data step in two at every
// point.
func runCasesCut(t *testing.T, cases []serviceCase) {
	t.Helper()
	runServiceCases(t, cases, true)
}

// runServiceCases is runCases, and with cut runCasesCut. Each case also runs on
// a warm Inspector, one that ran every case before it (twice, to reuse the
// parsers the first run left): the instances and parsers a session reuses must
// behave as new ones.
func runServiceCases(t *testing.T, cases []serviceCase, cut bool) {
	t.Helper()
	warm := map[string]*warmInspector{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, tc.s)
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
			key := fmt.Sprint(tc.s.Analyzers, tc.s.Ports)
			w := warm[key]
			if w == nil {
				w = newWarmInspector(t, tc.s)
				warm[key] = w
			}
			for range 2 {
				if got := w.run(tc.s); got.service() != h.service() || !maps.Equal(got.names, h.names) {
					t.Errorf("on a warm inspector: service %q names %v, want %q %v", got.service(), got.names, h.service(), h.names)
				}
			}
			if !tc.split {
				return
			}
			if h, _ := runBytewise(t, tc.s); h.service() != tc.want {
				t.Errorf("one byte per step: service %q, want %q", h.service(), tc.want)
			}
			if !cut {
				return
			}
			s := tc.s
			for _, steps := range splits(tc.s.Steps) {
				s.Steps = steps
				if h, _ := run(t, s); h.service() != tc.want {
					t.Fatalf("split: service %q, want %q", h.service(), tc.want)
				}
			}
		})
	}
}

// fuzzScript is the connection the fuzz targets run: from 10.0.0.1:1024 to
// 10.0.0.2:port over proto, with the analyzers (none: every analyzer).
func fuzzScript(proto Transport, port uint16, analyzers ...string) script {
	return script{Analyzers: analyzers, Proto: proto, Orig: "10.0.0.1:1024",
		Resp: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port).String()}
}

// attachedSession starts a fuzz target's session (fuzzScript) for the analyzer
// name on its transport (TCP for a helper), with the analyzers enabled (none:
// every analyzer). When neither a port nor the PIA would attach name (a helper,
// or an analyzer without ports) it is attached directly at the root, as a parent
// analyzer attaches a child.
func attachedSession(t testing.TB, name string, port uint16, analyzers ...string) (*fakeHost, *Session) {
	t.Helper()
	a := Lookup(name)
	proto := a.Transport
	if proto == 0 {
		proto = TCP
	}
	h, _, sess := newSession(t, fuzzScript(proto, port, analyzers...))
	if a.Transport == 0 || len(a.Ports) == 0 {
		sess.root.attach(a)
	}
	return h, sess
}

// udpFuzz says how fuzzDatagrams reads the control bytes of fuzzSteps on UDP.
type udpFuzz uint8

const (
	// udpWhole: a gap is dropped, and data of the largest size (control bits
	// 0x3f) is the rest of the input, as one datagram.
	udpWhole udpFuzz = iota + 1
	// udpLarge: bit 6 gives a datagram of 32 times the low six bits plus one
	// bytes (RDPEUDP's sizes), never a gap or an end.
	udpLarge
)

// fuzzSteps decodes the input of a fuzz target into steps. Each step is a
// control byte, and its data: bit 7 set, it is the responder's; bit 6 set, a gap
// of the low six bits' size, or the end of the direction when they are 0; else
// the low six bits plus one give the size of the data that follows (cut short at
// the end of the input). fuzzInput writes this format.
func fuzzSteps(data []byte) []step { return fuzzDatagrams(data, 0) }

// fuzzDatagrams is fuzzSteps for a target of datagrams, which reads the format
// as how says (0: as fuzzSteps).
func fuzzDatagrams(data []byte, how udpFuzz) []step {
	var steps []step
	for len(data) > 0 {
		ctl := data[0]
		data = data[1:]
		isOrig := ctl&0x80 == 0
		n := int(ctl & 0x3f)
		switch {
		case how == udpLarge && ctl&0x40 != 0:
			n = n*32 + 31
		case ctl&0x40 != 0 && n == 0:
			steps = append(steps, step{Orig: isOrig, End: true})
			continue
		case ctl&0x40 != 0:
			if how != udpWhole {
				steps = append(steps, step{Orig: isOrig, Gap: uint64(n)})
			}
			continue
		case how == udpWhole && n == 0x3f:
			n = len(data)
		}
		n = min(n+1, len(data))
		steps = append(steps, step{Orig: isOrig, Data: string(data[:n])})
		data = data[n:]
	}
	return steps
}

// fuzzInput encodes steps in fuzzSteps' format, for seeds: data in pieces of at
// most 64 bytes, gaps of at most 63.
func fuzzInput(steps ...step) []byte {
	var out []byte
	for _, st := range steps {
		var dir byte
		if !st.Orig {
			dir = 0x80
		}
		switch {
		case st.End:
			out = append(out, dir|0x40)
		case st.Gap > 0:
			out = append(out, dir|0x40|byte(min(st.Gap, 63)))
		default:
			for d := st.Data; len(d) > 0; {
				n := min(len(d), 64)
				out = append(out, dir|byte(n-1))
				out = append(out, d[:n]...)
				d = d[n:]
			}
		}
	}
	return out
}
