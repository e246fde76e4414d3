package analyzer

import (
	"strings"
	"testing"
)

// Hand-built DCE-RPC connection-oriented PDUs (C706 §12.6, MS-RPCE §2.2.2).

// dcePDU is a little-endian PDU of a type, with its body and, when auth is not
// empty, an auth verifier of the auth type.
func dcePDU(ptype byte, body string, authType byte, auth string) string {
	trailer := ""
	if auth != "" {
		trailer = string([]byte{authType, 2, 0, 0}) + le32(0) + auth
	}
	frag := 16 + len(body) + len(trailer)
	return "\x05\x00" + string([]byte{ptype, 0x03}) + "\x10\x00\x00\x00" + le16(frag) + le16(len(auth)) + le32(2) + body + trailer
}

// The endpoint mapper's interface and NDR's transfer syntax.
var (
	dceEPM = "\x08\x83\xaf\xe1\x1f\x5d\xc9\x11\x91\xa4\x08\x00\x2b\x14\xa0\xfa" + le16(3) + le16(0)
	dceNDR = "\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60" + le16(2) + le16(0)
)

// dceBindBody offers the endpoint mapper over NDR.
func dceBindBody() string {
	return le16(5840) + le16(5840) + le32(0) + "\x01\x00\x00\x00" + le16(0) + "\x01\x00" + dceEPM + dceNDR
}

// dceBindAckBody accepts it, with the secondary address "135".
func dceBindAckBody() string {
	return le16(5840) + le16(5840) + le32(0x1234) + le16(4) + "135\x00" + "\x00\x00" + "\x01\x00\x00\x00" + le16(0) + le16(0) + dceNDR
}

// The DCE-RPC PDUs are rule samples too.
func init() {
	ruleSamples = append(ruleSamples, dcePDU(11, dceBindBody(), 0, ""), "\x05\x01\x13", "\x05\x02\x00", "\x05\x00\x14")
}

// TestDCERPC runs DCE-RPC connections: binds with and without auth verifiers,
// each violation, gaps, the signature, UDP refused, and every cut.
func TestDCERPC(t *testing.T) {
	bind := dcePDU(11, dceBindBody(), 0, "")
	ack := dcePDU(12, dceBindAckBody(), 0, "")
	req := dcePDU(0, le32(4)+le16(0)+le16(3)+"\x00\x00\x00\x00", 0, "")
	cases := []serviceCase{
		{"bind", script{Resp: "10.0.0.2:135", Steps: []step{o(bind), r(ack), o(req)}}, "dce_rpc", true},
		{"ack only", script{Resp: "10.0.0.2:135", Steps: []step{r(ack)}}, "dce_rpc", true},
		{"ntlm bind", script{Resp: "10.0.0.2:135", Steps: []step{o(dcePDU(11, dceBindBody(), 10, ntlmNegotiate())),
			r(dcePDU(12, dceBindAckBody(), 10, ntlmChallenge()))}}, "ntlm,dce_rpc", true},
		{"spnego bind", script{Resp: "10.0.0.2:135", Steps: []step{o(dcePDU(11, dceBindBody(), 9, spnegoInit(gssKrb("\x01\x00", krbAPReq()))))}}, "krb,gssapi,dce_rpc", true},
		{"kerberos bind", script{Resp: "10.0.0.2:135", Steps: []step{o(dcePDU(11, dceBindBody(), 16, gssKrb("\x01\x00", krbAPReq())))}}, "krb,dce_rpc", true},
		{"bad version", script{Resp: "10.0.0.2:135", Steps: []step{o("\x04" + bind[1:])}}, "", false},
		{"short frag", script{Resp: "10.0.0.2:135", Steps: []step{o(bind[:8] + le16(10) + bind[10:])}}, "", false},
		{"auth longer than frag", script{Resp: "10.0.0.2:135", Steps: []step{o(bind[:10] + le16(200) + bind[12:])}}, "", false},
		{"bind contexts past the end", script{Resp: "10.0.0.2:135", Steps: []step{o(dcePDU(11, dceBindBody()[:8]+"\x05\x00\x00\x00", 0, ""))}}, "", false},
		{"garbage after", script{Resp: "10.0.0.2:135", Steps: []step{o(bind), o("garbage")}}, "", false},
		{"gap first", script{Resp: "10.0.0.2:135", Steps: []step{{Orig: true, Gap: 5}, o(bind)}}, "", false},
		{"signature", script{Resp: "10.0.0.2:49667", Steps: []step{o(bind), r(ack)}}, "dce_rpc", true},
		{"not on udp", script{Proto: UDP, Resp: "10.0.0.2:49667", Steps: []step{o(bind)}}, "", false},
		{"big request", script{Resp: "10.0.0.2:135", Steps: []step{o(dcePDU(0, le32(4)+le16(0)+le16(3)+strings.Repeat("s", 30000), 0, ""))}}, "dce_rpc", false},
	}
	runCasesCut(t, cases)
}

// FuzzDCERPC feeds the DCE-RPC analyzer arbitrary streams.
func FuzzDCERPC(f *testing.F) {
	f.Add(fuzzInput(o(dcePDU(11, dceBindBody(), 10, ntlmNegotiate())), r(dcePDU(12, dceBindAckBody(), 10, ntlmChallenge()))))
	f.Add(fuzzInput(o(dcePDU(11, dceBindBody(), 9, spnegoInit(gssKrb("\x01\x00", krbAPReq()))))))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := fuzzSession(t, "dce_rpc", 135, data)
		streamsBounded(t, s, dceMaxPDU)
		s.Release()
	})
}
