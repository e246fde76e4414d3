package analyzer

import (
	"encoding/binary"
	"strings"
	"testing"
)

// RDP test messages, built after the examples of [MS-RDPBCGR] §4.1.

// rdpTPKT frames an X.224 TPDU in TPKT.
func rdpTPKT(tpdu string) string {
	n := 4 + len(tpdu)
	return string([]byte{3, 0, byte(n >> 8), byte(n)}) + tpdu
}

// rdpNeg is an RDP_NEG_REQ (1), RDP_NEG_RSP (2) or RDP_NEG_FAILURE (3).
func rdpNeg(typ byte, value uint32) string {
	b := []byte{typ, 0, 8, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[4:], value)
	return string(b)
}

// rdpCR is an X.224 Connection Request with a cookie and an optional negotiation
// request ("" for none).
func rdpCR(cookie, neg string) string {
	v := "Cookie: mstshash=" + cookie + "\r\n" + neg
	return rdpTPKT(string([]byte{byte(6 + len(v)), 0xe0, 0, 0, 0, 0, 0}) + v)
}

// rdpCC is an X.224 Connection Confirm with an optional negotiation response.
func rdpCC(neg string) string {
	return rdpTPKT(string([]byte{byte(6 + len(neg)), 0xd0, 0, 0, 0x12, 0x34, 0}) + neg)
}

// rdpBER is a BER element with a one-byte tag (or the two-byte MCS tags when tag
// is above 0xff).
func rdpBER(tag int, content string) string {
	var b []byte
	if tag > 0xff {
		b = append(b, byte(tag>>8), byte(tag))
	} else {
		b = append(b, byte(tag))
	}
	switch n := len(content); {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	default:
		b = append(b, 0x82, byte(n>>8), byte(n))
	}
	return string(b) + content
}

// rdpPER is a PER length determinant and what it counts.
func rdpPER(content string) string {
	n := len(content)
	if n < 0x80 {
		return string([]byte{byte(n)}) + content
	}
	return string([]byte{0x80 | byte(n>>8), byte(n)}) + content
}

// rdpUserBlock is a GCC user data block.
func rdpUserBlock(typ uint16, data string) string {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint16(b, typ)
	binary.LittleEndian.PutUint16(b[2:], uint16(4+len(data)))
	return string(b) + data
}

// rdpDomainParams is an MCS DomainParameters sequence.
func rdpDomainParams(vals ...int) string {
	var s string
	for _, v := range vals {
		if v > 0xff {
			s += string([]byte{2, 2, byte(v >> 8), byte(v)})
		} else {
			s += string([]byte{2, 1, byte(v)})
		}
	}
	return rdpBER(0x30, s)
}

// rdpT124 is the T.124 ConnectData prefix: the t124Identifier object key.
const rdpT124 = "\x00\x05\x00\x14\x7c\x00\x01"

// rdpConnectInitial is an MCS Connect-Initial in a Data TPDU, carrying a GCC
// Conference Create Request with the client data blocks.
func rdpConnectInitial(blocks ...string) string {
	gcc := rdpT124 + rdpPER("\x00\x08\x00\x10\x00\x01\xc0\x00Duca"+rdpPER(strings.Join(blocks, "")))
	body := rdpBER(0x04, "\x01") + rdpBER(0x04, "\x01") + rdpBER(0x01, "\xff") +
		rdpDomainParams(34, 2, 0, 1, 0, 1, 0xffff, 2) +
		rdpDomainParams(1, 1, 1, 1, 0, 1, 0x420, 2) +
		rdpDomainParams(0xffff, 0xfc17, 0xffff, 1, 0, 1, 0xffff, 2) +
		rdpBER(0x04, gcc)
	return rdpTPKT("\x02\xf0\x80" + rdpBER(0x7f65, body))
}

// rdpConnectResponse is an MCS Connect-Response in a Data TPDU, carrying a GCC
// Conference Create Response with the server data blocks.
func rdpConnectResponse(blocks ...string) string {
	gcc := rdpT124 + rdpPER("\x14\x76\x0a\x01\x01\x00\x01\xc0\x00McDn"+rdpPER(strings.Join(blocks, "")))
	body := rdpBER(0x0a, "\x00") + rdpBER(0x02, "\x00") +
		rdpDomainParams(34, 3, 0, 1, 0, 1, 0xfff8, 2) + rdpBER(0x04, gcc)
	return rdpTPKT("\x02\xf0\x80" + rdpBER(0x7f66, body))
}

// Client data blocks: Client Core Data (the 128 mandatory bytes and the usual
// optional ones), Client Security Data, Client Network Data with three channels.
var (
	rdpCSCoreData = rdpUserBlock(0xc001, "\x04\x00\x08\x00\x00\x05\x00\x04\x01\xca\x03\xaa\x09\x04\x00\x00\x28\x0a\x00\x00"+
		"E\x00L\x00T\x00O\x00N\x00S\x00-\x00D\x00E\x00V\x002\x00"+strings.Repeat("\x00", 10)+
		"\x04\x00\x00\x00\x00\x00\x00\x00\x0c\x00\x00\x00"+strings.Repeat("\x00", 64)+
		"\x01\xca\x01\x00\x00\x00\x00\x00\x18\x00\x07\x00\x01\x00"+strings.Repeat("\x00", 64)+"\x00\x00\x00\x00\x00\x00")
	rdpCSSecurity = rdpUserBlock(0xc002, "\x1b\x00\x00\x00\x00\x00\x00\x00")
	rdpCSNet      = rdpUserBlock(0xc003, "\x03\x00\x00\x00"+"rdpdr\x00\x00\x00\x00\x00\x80\x80"+
		"cliprdr\x00\x00\x00\xa0\xc0"+"rdpsnd\x00\x00\x00\x00\x00\xc0")
)

// Server data blocks: Server Core Data, Server Network Data, Server Security
// Data with RC4 128-bit encryption, a 32-byte server random and a proprietary
// certificate (184 bytes).
var (
	rdpSCCoreData = rdpUserBlock(0x0c01, "\x04\x00\x08\x00\x00\x00\x00\x00")
	rdpSCNetData  = rdpUserBlock(0x0c03, "\xeb\x03\x03\x00\xec\x03\xed\x03\xee\x03\x00\x00")
	rdpSCSecData  = rdpUserBlock(0x0c02, "\x02\x00\x00\x00\x02\x00\x00\x00\x20\x00\x00\x00\xb8\x00\x00\x00"+
		strings.Repeat("\x5e", 32)+"\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x06\x00\x5c\x00RSA1"+strings.Repeat("\x33", 184-18))
)

// rdpStandard is a connection sequence with standard RDP security, up to the
// MCS Connect-Response.
var rdpStandard = []step{
	o(rdpCR("eltons", rdpNeg(1, 0))), r(rdpCC(rdpNeg(2, 0))),
	o(rdpConnectInitial(rdpCSCoreData, rdpCSSecurity, rdpCSNet)),
	r(rdpConnectResponse(rdpSCCoreData, rdpSCNetData, rdpSCSecData)),
}

// TestRDP: standard RDP security, TLS and CredSSP (ssl alone), violations,
// partial connections, gaps and the rdp rules off the port (§8 row rdp).
func TestRDP(t *testing.T) {
	rd := []string{"rdp", "ssl"}
	port := "10.0.0.2:3389"
	hello := dbrClientHello("rdp.example.com")
	ci := rdpConnectInitial(rdpCSCoreData, rdpCSSecurity, rdpCSNet)
	ciNoCore := rdpConnectInitial(rdpCSSecurity, rdpCSNet)
	cresp := rdpConnectResponse(rdpSCCoreData, rdpSCNetData, rdpSCSecData)
	cr := rdpCR("eltons", rdpNeg(1, 0))
	cc := rdpCC(rdpNeg(2, 0))
	runCases(t, []serviceCase{
		{"standard RDP security", script{Analyzers: rd, Resp: port, Steps: rdpStandard}, "rdp", true},
		{"no negotiation", script{Analyzers: rd, Resp: port, Steps: []step{
			o(rdpCR("eltons", "")), r(rdpCC("")), o(ci)}}, "rdp", true},
		{"Client Core Data alone (client side only)", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), o(ci)}}, "rdp", false},
		{"the GCC response confirms", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(ciNoCore), r(cresp)}}, "rdp", true},
		{"server security data without encryption", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(ciNoCore), r(rdpConnectResponse(rdpSCCoreData, rdpUserBlock(0x0c02, "\x00\x00\x00\x00\x00\x00\x00\x00")))}}, "rdp", false},
		{"TLS selected", script{Analyzers: rd, Resp: port, Steps: []step{
			o(rdpCR("eltons", rdpNeg(1, 3))), r(rdpCC(rdpNeg(2, 1))), o(hello)}}, "ssl", true},
		{"CredSSP selected", script{Analyzers: rd, Resp: port, Steps: []step{
			o(rdpCR("eltons", rdpNeg(1, 3))), r(rdpCC(rdpNeg(2, 2))), o(hello)}}, "ssl", false},
		{"TLS selected, no ClientHello", script{Analyzers: rd, Resp: port, Steps: []step{
			o(rdpCR("eltons", rdpNeg(1, 3))), r(rdpCC(rdpNeg(2, 1)))}}, "", false},
		{"TLS selected, ssl disabled", script{Analyzers: []string{"rdp"}, Resp: port, Steps: []step{
			o(rdpCR("eltons", rdpNeg(1, 3))), r(rdpCC(rdpNeg(2, 1))), o(hello), o(ci)}}, "", false},
		{"negotiation failure", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(rdpCC(rdpNeg(3, 5))), o(ci)}}, "", false},
		{"Client Core Data too short", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(rdpConnectInitial(rdpUserBlock(0xc001, "\x04\x00\x08\x00"), rdpCSNet)), r(cresp)}}, "", false},
		{"data block longer than its data", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(rdpConnectInitial("\x01\xc0\xff\x00" + rdpCSCoreData))}}, "", false},
		{"bad server security data", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(ciNoCore), r(rdpConnectResponse(rdpSCCoreData,
				rdpUserBlock(0x0c02, "\x02\x00\x00\x00\x02\x00\x00\x00\x20\x00\x00\x00\xb8\x00\x00\x00")))}}, "", false},
		{"bad server network data", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(ciNoCore), r(rdpConnectResponse(rdpSCCoreData, rdpUserBlock(0x0c03, "\xeb\x03\x09\x00")))}}, "", false},
		{"GCC without its key", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(rdpTPKT("\x02\xf0\x80" + rdpBER(0x7f65, rdpBER(0x04, "\x01")+rdpBER(0x04, "\x01")+rdpBER(0x01, "\xff")+
				rdpDomainParams(1)+rdpDomainParams(1)+rdpDomainParams(1)+rdpBER(0x04, rdpT124+rdpPER("\x00\x08\x00\x10Xuca\x05"+rdpCSCoreData)))))}}, "", false},
		{"bad BER in the Connect-Initial", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o(rdpTPKT("\x02\xf0\x80\x7f\x65\x05\x04\x09\x01"))}}, "", false},
		{"not TPKT", script{Analyzers: rd, Resp: port, Steps: []step{
			o("\x04\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00"), r(cc), o(ci)}}, "", false},
		{"TPKT too short for a TPDU", script{Analyzers: rd, Resp: port, Steps: []step{
			o("\x03\x00\x00\x05\x00"), o(ci)}}, "", false},
		{"X.224 length beyond the packet", script{Analyzers: rd, Resp: port, Steps: []step{
			o("\x03\x00\x00\x0b\x20\xe0\x00\x00\x00\x00\x00"), o(ci)}}, "", false},
		{"packet too long to judge", script{Analyzers: rd, Resp: port, Steps: []step{
			o(cr), r(cc), o("\x03\x00\xff\xff" + strings.Repeat("\x00", 9000))}}, "", false},
		{"partial connection", script{Analyzers: rd, Resp: port, Partial: true, Steps: rdpStandard}, "", false},
		{"gap", script{Analyzers: rd, Resp: port, Steps: []step{o(cr), {Gap: 10}, r(cc), o(ci)}}, "", false},
		{"DPD on another port", script{Analyzers: rd, Resp: "10.0.0.2:13389", Steps: rdpStandard}, "rdp", true},
		{"DPD on another port with TLS", script{Analyzers: rd, Resp: "10.0.0.2:13389", Steps: []step{
			o(rdpCR("eltons", rdpNeg(1, 3))), r(rdpCC(rdpNeg(2, 1))), o(hello)}}, "ssl", true},
		{"DPD needs both sides", script{Analyzers: rd, Resp: "10.0.0.2:13389", Steps: []step{o(cr), o(ci)}}, "", false},
	})
}

// FuzzRDP feeds the rdp analyzer (and its SSL child) arbitrary streams.
func FuzzRDP(f *testing.F) {
	f.Add(fuzzInput(rdpStandard...))
	f.Add(fuzzInput(o(rdpCR("x", rdpNeg(1, 3))), r(rdpCC(rdpNeg(2, 1))), o(dbrClientHello("x"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"rdp", "ssl"}, TCP, 3389, false, data)
	})
}

// init adds samples for rdp-s and rdp-c to the rule tests.
func init() {
	ruleSamples = append(ruleSamples, "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00", "\x03\x00\x00\x13\x0e\xe0",
		"xxMcD", "abcMcDn", "Cookie: mstshash=eltons\r\n", "Cookie: msts", "..Duca....rdpsnd", "Duca", "Duca drdynv",
		"Ducacliprdr", "Duc", "rdpdrDuca")
}
