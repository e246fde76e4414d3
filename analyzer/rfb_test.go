package analyzer

import (
	"strings"
	"testing"
)

// RFB handshakes after RFC 6143 §7.1 and §7.2.
var (
	rfbTestChallenge = strings.Repeat("\xa5", 16)
	rfbTestResponse  = strings.Repeat("\x3c", 16)
	// rfb38 is version 3.8 with VNC authentication, accepted, then ClientInit and
	// the start of ServerInit.
	rfb38 = []step{
		r("RFB 003.008\n"), o("RFB 003.008\n"),
		r("\x02\x01\x02"), o("\x02"),
		r(rfbTestChallenge), o(rfbTestResponse),
		r("\x00\x00\x00\x00"), o("\x01"),
		r("\x04\x00\x03\x00\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\x00\x00\x00\x00\x00\x00\x06ubuntu"),
	}
	// rfb33 is version 3.3: the server decides on VNC authentication.
	rfb33 = []step{
		r("RFB 003.003\n"), o("RFB 003.003\n"),
		r("\x00\x00\x00\x02" + rfbTestChallenge), o(rfbTestResponse),
		r("\x00\x00\x00\x00"), o("\x01"),
	}
)

// TestRFB: the 3.3, 3.7 and 3.8 handshakes, each violation, one-sided and
// partial connections (§8 row rfb).
func TestRFB(t *testing.T) {
	rf := []string{"rfb"}
	port := "10.0.0.2:5900"
	vnc := func(steps ...step) script { return script{Analyzers: rf, Resp: port, Steps: steps} }
	runCases(t, []serviceCase{
		{"3.8 with VNC authentication", script{Analyzers: rf, Resp: port, Steps: rfb38}, "rfb", true},
		{"3.3 with VNC authentication", script{Analyzers: rf, Resp: port, Steps: rfb33}, "rfb", true},
		{"3.7 without authentication", vnc(r("RFB 003.007\n"), o("RFB 003.007\n"), r("\x01\x01"), o("\x01"), o("\x01")), "rfb", true},
		{"3.8 without authentication", vnc(r("RFB 003.008\n"), o("RFB 003.008\n"), r("\x01\x01"), o("\x01"), r("\x00\x00\x00\x00")), "rfb", false},
		{"3.3 without authentication", vnc(r("RFB 003.003\n"), o("RFB 003.003\n"), r("\x00\x00\x00\x01"), o("\x01")), "rfb", false},
		{"Apple 3.889", vnc(r("RFB 003.889\n"), o("RFB 003.889\n"), r("\x02\x1e\x02"), o("\x1e")), "rfb", false},
		{"a 3.8 client of a 4.1 server", vnc(r("RFB 004.001\n"), o("RFB 003.008\n"), r("\x02\x10\x02"), o("\x10")), "rfb", false},
		{"authentication failed", vnc(r("RFB 003.008\n"), o("RFB 003.008\n"), r("\x01\x02"), o("\x02"), r(rfbTestChallenge), o(rfbTestResponse),
			r("\x00\x00\x00\x01\x00\x00\x00\x0eBad password!!")), "rfb", false},
		{"connection refused with a reason", vnc(r("RFB 003.008\n"), o("RFB 003.008\n"), r("\x00\x00\x00\x00\x0cToo many ...")), "rfb", false},
		{"version lines only", vnc(r("RFB 003.008\n"), o("RFB 003.008\n")), "rfb", true},
		{"invalid 3.3 security type", vnc(r("RFB 003.003\n"), o("RFB 003.003\n"), r("\x00\x00\x00\x07")), "", true},
		{"choice the server did not offer", vnc(r("RFB 003.008\n"), o("RFB 003.008\n"), r("\x02\x01\x02"), o("\x05")), "", true},
		{"invalid security result", vnc(r("RFB 003.008\n"), o("RFB 003.008\n"), r("\x01\x02"), o("\x02"), r(rfbTestChallenge), o(rfbTestResponse),
			r("\x00\x00\x00\x07")), "", true},
		{"client version line that does not parse", vnc(r("RFB 003.008\n"), o("RFB 3.8\n\x00\x00\x00\x00")), "", false},
		{"server version line that does not parse", vnc(r("RFB 003.00x\n"), o("RFB 003.008\n")), "", false},
		{"server side only", vnc(r("RFB 003.008\n"), r("\x02\x01\x02")), "", false},
		{"client side only", vnc(o("RFB 003.008\n")), "", false},
		{"partial connection", script{Analyzers: rf, Resp: port, Partial: true, Steps: rfb38}, "", false},
		{"gap before the client's version", vnc(r("RFB 003.008\n"), step{Orig: true, Gap: 4}, o("RFB 003.008\n")), "", false},
	})
}

// FuzzRFB feeds the rfb analyzer arbitrary streams.
func FuzzRFB(f *testing.F) {
	f.Add(fuzzInput(rfb38...))
	f.Add(fuzzInput(rfb33...))
	f.Add(fuzzInput(r("RFB 003.007\n"), o("RFB 003.007\n"), r("\x01\x01"), o("\x01")))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"rfb"}, TCP, 5900, false, data)
	})
}

// init adds samples for rfb-c and rfb-s to the rule tests.
func init() {
	ruleSamples = append(ruleSamples, "RFB 003.003\n", "RF", "RFC")
}
