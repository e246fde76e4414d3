package analyzer

import (
	"net/netip"
	"testing"
)

// FuzzAnalyzers feeds every analyzer, attached by its port and through the PIA,
// arbitrary streams in both directions, cut into arbitrary chunks with gaps and
// ends: no input may panic. The first byte picks the analyzer, each following
// control byte says who sends how much of the rest.
func FuzzAnalyzers(f *testing.F) {
	f.Add([]byte("\x00\x10GET / HTTP/1.1\r\n\r\n\x90HTTP/1.1 200 OK\r\n\r\n"))
	f.Add([]byte("\x01\x05SSH-2.0-x\r\n\x85SSH-2.0-y\r\n"))
	f.Add([]byte("\x02\x7f\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03"))
	all := registered()
	var parsers []*Analyzer
	for _, a := range all {
		if a.New != nil {
			parsers = append(parsers, a)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		a := parsers[int(data[0])%len(parsers)]
		data = data[1:]
		proto := a.Transport
		if proto == 0 {
			proto = TCP
		}
		port := uint16(9)
		if len(a.Ports) > 0 {
			port = a.Ports[0]
		}
		h := &fakeHost{id: ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:1024"), Resp: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port), Transport: proto}}
		in, err := New(Config{}, h)
		if err != nil {
			t.Fatal(err)
		}
		s := in.NewSession(1, proto, port, false)
		if a.Transport == 0 || len(a.Ports) == 0 {
			// Helpers and analyzers without ports: attach directly.
			s.root.attach(a)
		}
		for len(data) > 0 {
			ctl := data[0]
			data = data[1:]
			isOrig := ctl&0x80 == 0
			n := int(ctl & 0x3f)
			switch {
			case ctl&0x40 != 0 && n == 0:
				s.End(isOrig)
			case ctl&0x40 != 0:
				h.size += uint64(n)
				s.Gap(isOrig, uint64(n))
			default:
				n = min(n+1, len(data))
				h.size += uint64(n)
				s.Data(isOrig, data[:n])
				data = data[n:]
			}
			if h.flips > 0 {
				h.partial = !h.partial
			}
		}
		s.Done()
		s.Release()
	})
}
