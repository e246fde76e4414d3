package analyzer

import "testing"

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
		port := uint16(9)
		if len(a.Ports) > 0 {
			port = a.Ports[0]
		}
		h, s := attachedSession(t, a.Name, port)
		for _, st := range fuzzSteps(data[1:]) {
			deliver(h, s, st)
			if h.flips > 0 {
				h.partial = !h.partial
			}
		}
		s.Done()
		s.Release()
	})
}
