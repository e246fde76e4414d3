package analyzer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The PIA keeps its rules' progress in bit sets, settles rules by their first
// byte, matches line rules incrementally and unanchored ones from where they left
// off, and evaluates a rule that needs another only once that one fired: all of it
// must fire the same rules, in the same order, as the signature engine's plain
// semantics (service-detection.md §2.3-2.5), which naivePIA spells out.

// fired is a rule firing as the PIA reports it to fireHook.
type fired struct {
	rule   string
	isOrig bool
}

// naivePIA is the DPD window and signature matching done the obvious way: every
// rule that has not fired is matched against the whole data of the direction
// (TCP) or the datagram (UDP) at every chunk of the window.
type naivePIA struct {
	in      *Inspector
	tcp     bool
	data    [2][]byte
	total   int
	chunks  int
	closed  bool
	fired   map[int]bool
	firedIn map[int]uint8
	matched [2]map[int]bool
	out     []fired
}

func newNaivePIA(in *Inspector, proto Transport) *naivePIA {
	return &naivePIA{in: in, tcp: proto == TCP, fired: map[int]bool{}, firedIn: map[int]uint8{},
		matched: [2]map[int]bool{{}, {}}}
}

func (p *naivePIA) chunk(isOrig bool, data []byte, gap bool) {
	if p.closed {
		return
	}
	d := dirIndex(isOrig)
	p.chunks++
	if !gap && len(data) > 0 {
		p.data[d] = append(p.data[d], data...)
		p.total += len(data)
		in := data
		if p.tcp {
			in = p.data[d]
		}
		p.match(d, in)
	}
	if p.total > dpdBufferSize || p.chunks > dpdMaxChunks {
		p.closed = true
	}
}

// applies reports whether rule k is matched on data of direction d.
func (p *naivePIA) applies(k int, d uint8) bool {
	r := p.in.rules[k]
	if r == nil || p.fired[k] {
		return false
	}
	want := TCP
	if !p.tcp {
		want = UDP
	}
	if r.Transport != 0 && r.Transport != want || !p.tcp && r.Dir != Any {
		return false
	}
	return !(r.Dir == Orig && d == 1 || r.Dir == Resp && d == 0)
}

func (p *naivePIA) match(d uint8, data []byte) {
	for k, r := range p.in.rules {
		if !p.applies(k, d) {
			continue
		}
		if !p.tcp && (r.MinSize > 0 && len(data) < r.MinSize || r.MaxSize > 0 && len(data) > r.MaxSize) {
			continue
		}
		if r.Match(data) != Match {
			continue
		}
		if r.needs >= 0 {
			if f, ok := p.firedIn[r.needs]; !ok || f == d {
				if p.tcp {
					p.matched[d][k] = true // fires when what it needs fires
				}
				continue
			}
		}
		p.fire(k, d)
	}
}

func (p *naivePIA) fire(k int, d uint8) {
	if p.fired[k] {
		return
	}
	p.fired[k], p.firedIn[k] = true, d
	p.out = append(p.out, fired{p.in.rules[k].Name, d == 0})
	for _, q := range allRules[k].neededBy {
		if p.in.rules[q] != nil && p.matched[d^1][q] {
			p.fire(q, d^1)
		}
	}
}

// piaSamples are pieces the random streams are made of: what the rules look for,
// near misses, line ends, and filler.
var piaSamples = append(slices.Clone(ruleSamples),
	"\r\n", "\n", "\r", " ", "USER ", "NICK x\r\n", "USER a b c :d\r\n", "220 x\r\n", "230 ok\r\n", "331 pw\r\n",
	"SERVER a 1 :x\r\n", ":s 001 n :x\r\n", "001 ", "Duca", "rdpdr", "McDn", "Cookie: mstshash=", "\xd0",
	"*1\r\n", "+OK", "-ERR x\r\n", "SIP/2.0 200 OK\r\n", " SIP/2.0\r\n", "\x00\x03\x00", "user\x00",
	"\x30\x0c\x02\x01\x01\x60", "\x30", "RFB 003.008\n", "ECHO", "ping", "HELO x\r\n", "  EHLO\r\n",
	"SSH-2.0-x\r\n", "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03\x03", "MQ", "\xffSMB",
)

// randomStream returns a chunk of data for a random stream: samples and random
// bytes, sometimes long enough to fill the window.
func randomStream(rng *rand.Rand) string {
	var b strings.Builder
	for range 1 + rng.IntN(6) {
		switch rng.IntN(8) {
		case 0:
			for range rng.IntN(64) {
				b.WriteByte(byte(rng.Uint32()))
			}
		case 1:
			b.WriteString(strings.Repeat("z", rng.IntN(1100)))
		default:
			b.WriteString(piaSamples[rng.IntN(len(piaSamples))])
		}
	}
	return b.String()
}

// firedBy runs the steps through a Session on port (on an Inspector that ran
// earlier sessions) and returns the rules that fired, in order.
func firedBy(w *warmInspector, proto Transport, port uint16, steps []step) []fired {
	var got []fired
	fireHook = func(n *node, k int, isOrig bool) {
		if n.owner == nil { // the connection's PIA, not one inside a tunnel
			got = append(got, fired{allRules[k].Name, isOrig})
		}
	}
	defer func() { fireHook = nil }()
	*w.h = fakeHost{id: ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:40000"),
		Resp: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port), Transport: proto}, now: 1e18}
	s := w.in.NewSession(1, proto, port, false)
	play(w.h, s, steps)
	s.Release()
	return got
}

func TestPIAAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, proto := range []Transport{TCP, UDP} {
		w := newWarmInspector(t, script{Proto: proto, Resp: "10.0.0.2:9999"})
		for i := range 30000 {
			var steps []step
			for range 1 + rng.IntN(8) {
				st := step{Orig: rng.IntN(2) == 0}
				if proto == TCP && rng.IntN(12) == 0 {
					st.Gap = uint64(1 + rng.IntN(100))
				} else {
					st.Data = randomStream(rng)
					if st.Data == "" {
						st.Data = "x"
					}
				}
				steps = append(steps, st)
			}
			// Port 9999 has no analyzers; the others test that analyzers
			// attached by port or signature change nothing of the matching.
			port := []uint16{9999, 80, 21, 6667, 443}[rng.IntN(5)]
			got := firedBy(w, proto, port, steps)
			naive := newNaivePIA(w.in, proto)
			for _, st := range steps {
				naive.chunk(st.Orig, []byte(st.Data), st.Gap > 0)
			}
			if !slices.Equal(got, naive.out) {
				t.Fatalf("%v session %d on port %d: %s\nfired %v\nnaive %v", proto, i, port, fmtSteps(steps), got, naive.out)
			}
		}
	}
}

func fmtSteps(steps []step) string {
	var b strings.Builder
	for _, st := range steps {
		who := "r"
		if st.Orig {
			who = "o"
		}
		if st.Gap > 0 {
			fmt.Fprintf(&b, "\n  %s gap %d", who, st.Gap)
		} else {
			fmt.Fprintf(&b, "\n  %s %q", who, st.Data)
		}
	}
	return b.String()
}
