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
