package analyzer

import (
	"strings"
	"testing"
)

// rdpeudpPad pads a datagram with zeros to n bytes, as [MS-RDPEUDP] pads the SYN
// and SYN+ACK to the MTU.
func rdpeudpPad(d string, n int) string { return d + strings.Repeat("\x00", n-len(d)) }

// The handshake of the oracle case udp-rdpeudp-success (a Windows client over
// IPv6 loopback), header fields as in the trace: the client's SYN with a
// correlation id and SYNEX (version 3), the server's SYN+ACK with SYNEX (version
// 2), both padded to 1232 bytes; then the first data datagram.
var (
	rdpeudpSYN = rdpeudpPad("\xff\xff\xff\xff\x00\x40\x18\x01"+ // snSourceAck, window, SYN|CORRELATION_ID|SYNEX
		"\x0b\x12\x7f\x15\x04\xd0\x04\xd0"+ // initial sequence number, MTUs 1232
		"\x78\x55\xd0\x64\xfb\xaf\x43\xf0\xb6\xe8\xf8\xaa\xdf\xad\x00\x00"+strings.Repeat("\x00", 16)+ // correlation id
		"\x00\x01\x00\x03", 1232) // SYNEX: version info valid, version 3
	rdpeudpSYNACK = rdpeudpPad("\x0b\x12\x7f\x15\x00\x40\x10\x05"+ // ack of the client's sequence number, SYN|ACK|SYNEX
		"\x0f\x94\xea\x0b\x04\xd0\x04\xd0"+
		"\x00\x01\x00\x02", 1232)
	rdpeudpData = "\x0f\x94\xea\x0b\x00\x40\x00\x0c" + strings.Repeat("\x17", 195)
)

// TestRDPEUDP: the SYN and SYN+ACK handshake, the payload-size bounds of the
// rule, and each violation (§8 row rdpeudp).
func TestRDPEUDP(t *testing.T) {
	ru := []string{"rdpeudp"}
	port := "10.0.0.2:3389"
	udp := func(steps ...step) script { return script{Analyzers: ru, Proto: UDP, Resp: port, Steps: steps} }
	other := func(steps ...step) script {
		return script{Analyzers: ru, Proto: UDP, Resp: "10.0.0.2:50000", Steps: steps}
	}
	runCases(t, []serviceCase{
		{"SYN and SYN+ACK", udp(o(rdpeudpSYN), r(rdpeudpSYNACK)), "rdpeudp", false},
		{"handshake and data", udp(o(rdpeudpSYN), r(rdpeudpSYNACK), o(rdpeudpData), r("\x16\x03")), "rdpeudp", false},
		{"retransmitted SYN", udp(o(rdpeudpSYN), o(rdpeudpSYN), r(rdpeudpSYNACK)), "rdpeudp", false},
		{"minimal SYN, ACK answer", udp(o("\xff\xff\xff\xff\x00\x40\x00\x01\x00\x00\x00\x01\x04\x74\x04\x74"),
			r("\x00\x00\x00\x01\x00\x40\x00\x04")), "rdpeudp", false},
		{"DPD on another port", other(o(rdpeudpSYN), r(rdpeudpSYNACK)), "rdpeudp", false},
		{"DPD: SYN below the payload size", other(o(rdpeudpPad(rdpeudpSYN[:64], 1100)), r(rdpeudpSYNACK)), "", false},
		{"DPD: SYN above the payload size", other(o(rdpeudpPad(rdpeudpSYN[:64], 1300)), r(rdpeudpSYNACK)), "", false},
		{"SYN only", udp(o(rdpeudpSYN)), "", false},
		{"server first", udp(r(rdpeudpSYNACK), o(rdpeudpSYN), r(rdpeudpSYNACK)), "", false},
		{"client data before a SYN", udp(o(rdpeudpData), o(rdpeudpSYN), r(rdpeudpSYNACK)), "", false},
		{"SYN with ACK set", udp(o("\xff\xff\xff\xff\x00\x40\x00\x05"+rdpeudpSYN[8:]), r(rdpeudpSYNACK)), "", false},
		{"SYN acknowledging something", udp(o("\x00\x00\x00\x01"+rdpeudpSYN[4:]), r(rdpeudpSYNACK)), "", false},
		{"SYN too short for its correlation id", udp(o(rdpeudpSYN[:30]), r(rdpeudpSYNACK)), "", false},
		{"SYN without its SYN data", udp(o(rdpeudpSYN[:12]), r(rdpeudpSYNACK)), "", false},
		{"answer neither SYN nor ACK", udp(o(rdpeudpSYN), r("\x0b\x12\x7f\x15\x00\x40\x00\x08")), "", false},
		{"SYN+ACK without its SYN data", udp(o(rdpeudpSYN), r(rdpeudpSYNACK[:10])), "", false},
		{"datagram shorter than the header", udp(o("\xff\xff\xff")), "", false},
	})
}

// FuzzRDPEUDP feeds the rdpeudp analyzer arbitrary datagrams.
func FuzzRDPEUDP(f *testing.F) {
	f.Add(fuzzInput(o(rdpeudpSYN[:64]), r(rdpeudpSYNACK[:64])))
	f.Add(fuzzInput(o(rdpeudpSYN[:20]), r(rdpeudpSYNACK[:20]), o(rdpeudpData[:60])))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"rdpeudp"}, UDP, 3389, false, data)
		dbrFuzz(t, []string{"rdpeudp"}, UDP, 50000, false, data)
	})
}

// init adds samples for the rdpeudp rule to the rule tests.
func init() {
	ruleSamples = append(ruleSamples, rdpeudpSYN[:16], "\xff\xff\xff\xff\x00\x40\x18\x02", "\xff\xff\xff\xfe")
}
