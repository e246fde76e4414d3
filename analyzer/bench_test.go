package analyzer

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// BenchmarkSession runs whole sessions through a warm Inspector, as the tracker
// does for a short connection: random payload (what encrypted or unknown traffic
// looks like to DPD) in one to three chunks each way, on a port with analyzers
// registered and on one without, and a DNS exchange over UDP. It reports the
// cost of inspecting one connection from its first byte to its last.
func BenchmarkSession(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	pattern := make([]byte, 1<<16)
	for i := range pattern {
		pattern[i] = byte(rng.Uint32())
	}
	dns := []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01")
	dnsResp := append(append([]byte{}, dns...), "\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x5d\xb8\xd8\x22"...)
	dnsResp[2], dnsResp[3], dnsResp[7] = 0x81, 0x80, 1
	for _, c := range []struct {
		name  string
		proto Transport
		port  uint16
	}{
		{"tcp-443-random", TCP, 443},
		{"tcp-80-random", TCP, 80},
		{"tcp-9999-random", TCP, 9999},
		{"udp-53-dns", UDP, 53},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := &fakeHost{id: ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:40000"), Resp: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), c.port), Transport: c.proto}}
			in, err := New(Config{}, h)
			if err != nil {
				b.Fatal(err)
			}
			// Each session's chunks, drawn beforehand: 1-3 of 50-1400 bytes each way.
			type delivery struct {
				orig bool
				data []byte
			}
			sessions := make([][]delivery, 1024)
			for i := range sessions {
				if c.proto == UDP {
					sessions[i] = []delivery{{true, dns}, {false, dnsResp}}
					continue
				}
				for range 1 + rng.IntN(3) {
					for _, orig := range []bool{true, false} {
						n := 50 + rng.IntN(1351)
						off := rng.IntN(len(pattern) - n)
						sessions[i] = append(sessions[i], delivery{orig, pattern[off : off+n]})
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.size, h.services, h.id.Orig = 0, h.services[:0], netip.MustParseAddrPort("10.0.0.1:40000")
				s := in.NewSession(uint64(i), c.proto, c.port, false)
				for _, d := range sessions[i%len(sessions)] {
					if s.Done() {
						break
					}
					h.size += uint64(len(d.data))
					s.Data(d.orig, d.data)
				}
				s.Release()
			}
		})
	}
}

// BenchmarkSessionsInterleaved is BenchmarkSession's random TCP sessions on port
// 443 with 16384 of them open at once, their chunks delivered in turn and cut from
// 64 MiB of payload, as a busy capture interleaves connections: each chunk finds
// its session's state and its payload out of the cache. It reports the cost of
// one session.
func BenchmarkSessionsInterleaved(b *testing.B) {
	const open = 16384
	rng := rand.New(rand.NewPCG(1, 2))
	pattern := make([]byte, 64<<20)
	for i := range pattern {
		pattern[i] = byte(rng.Uint32())
	}
	h := &fakeHost{id: ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:40000"), Resp: netip.MustParseAddrPort("10.0.0.2:443"), Transport: TCP}}
	in, err := New(Config{}, h)
	if err != nil {
		b.Fatal(err)
	}
	type conn struct {
		s    *Session
		left int // chunks still to deliver
		orig bool
	}
	conns := make([]conn, open)
	start := func(c *conn, i int) {
		c.s = in.NewSession(uint64(i), TCP, 443, false)
		c.left = 2 * (1 + rng.IntN(3))
		c.orig = true
	}
	for i := range conns {
		start(&conns[i], i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for k := 0; done < b.N; k++ {
		c := &conns[k%open]
		n := 50 + rng.IntN(1351)
		off := rng.IntN(len(pattern) - n)
		h.size = 0
		if !c.s.Done() {
			c.s.Data(c.orig, pattern[off:off+n])
		}
		c.orig = !c.orig
		if c.left--; c.left == 0 {
			c.s.Release()
			done++
			start(c, k)
		}
	}
}
