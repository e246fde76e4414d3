package analyzer

import (
	"slices"
	"strings"
	"testing"
)

// Hand-built SMB traffic (RFC 1002 §4.3, MS-SMB2 §2.2, MS-SMB §2.2.4).

// nbss frames an SMB message as a NetBIOS session message.
func nbss(m string) string {
	n := len(m)
	return string([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}) + m
}

// nbName is a NetBIOS name in first-level encoding (RFC 1001 §14.1).
func nbName(name string) string {
	name = (name + strings.Repeat(" ", 16))[:16]
	var b strings.Builder
	b.WriteByte(0x20)
	for i := range 16 {
		b.WriteByte('A' + name[i]>>4)
		b.WriteByte('A' + name[i]&0x0f)
	}
	b.WriteByte(0)
	return b.String()
}

var (
	// A NetBIOS session request and its positive response, as on port 139.
	nbssRequest  = "\x81\x00\x00\x44" + nbName("SERVER") + nbName("CLIENT")
	nbssPositive = "\x82\x00\x00\x00"
)

// smb2Header is an SMB2 header of a command; resp sets SMB2_FLAGS_SERVER_TO_REDIR.
func smb2Header(cmd int, resp bool, status uint32, mid int) string {
	flags := 0
	if resp {
		flags = 1
	}
	return "\xfeSMB" + le16(64) + le16(0) + le32(int(status)) + le16(cmd) + le16(1) + le32(flags) + le32(0) +
		le32(mid) + le32(0) + le32(0xfeff) + le32(0) + strings.Repeat("\x00", 8) + strings.Repeat("\x00", 16)
}

// smb2NegotiateReq offers SMB 2.0.2 and 2.1.
func smb2NegotiateReq() string {
	return smb2Header(0, false, 0, 0) + le16(36) + le16(2) + le16(1) + le16(0) + le32(0x7f) + strings.Repeat("\x11", 16) +
		strings.Repeat("\x00", 8) + le16(0x0202) + le16(0x0210)
}

// smb2NegotiateResp picks SMB 2.1 and carries blob as its security buffer.
func smb2NegotiateResp(blob string) string {
	return smb2Header(0, true, 0, 0) + le16(65) + le16(1) + le16(0x0210) + le16(0) + strings.Repeat("\x22", 16) +
		le32(7) + le32(65536) + le32(65536) + le32(65536) + strings.Repeat("\x00", 16) + le16(128) + le16(len(blob)) + le32(0) + blob
}

// smb2SessionSetupReq carries blob.
func smb2SessionSetupReq(blob string) string {
	return smb2Header(1, false, 0, 1) + le16(25) + "\x00\x01" + le32(1) + le32(0) + le16(88) + le16(len(blob)) +
		strings.Repeat("\x00", 8) + blob
}

// smb2SessionSetupResp carries blob, with a status.
func smb2SessionSetupResp(status uint32, blob string) string {
	return smb2Header(1, true, status, 1) + le16(9) + le16(0) + le16(72) + le16(len(blob)) + blob
}

// smb1Header is an SMB1 header; reply sets the reply flag.
func smb1Header(cmd byte, reply bool) string {
	flags := byte(0x18)
	if reply {
		flags |= 0x80
	}
	return "\xffSMB" + string([]byte{cmd}) + le32(0) + string([]byte{flags}) + le16(0xc853) + strings.Repeat("\x00", 12) +
		le16(0) + le16(0xfeff) + le16(0) + le16(1)
}

// smb1NegotiateReq offers NT LM 0.12.
func smb1NegotiateReq() string {
	d := "\x02NT LM 0.12\x00\x02SMB 2.002\x00"
	return smb1Header(0x72, false) + "\x00" + le16(len(d)) + d
}

// smb1NegotiateResp picks NT LM 0.12 with extended security and a blob.
func smb1NegotiateResp(blob string) string {
	words := le16(0) + "\x03" + le16(50) + le16(1) + le32(16644) + le32(65536) + le32(0) + le32(0x8000f3fd) +
		strings.Repeat("\x00", 8) + le16(0) + "\x00"
	data := strings.Repeat("\x33", 16) + blob
	return smb1Header(0x72, true) + "\x11" + words + le16(len(data)) + data
}

// smb1SessionSetupReq is a SESSION_SETUP_ANDX request with a security blob.
func smb1SessionSetupReq(blob string) string {
	words := "\xff\x00" + le16(0) + le16(16644) + le16(50) + le16(0) + le32(0) + le16(len(blob)) + le32(0) + le32(0x800000d4)
	data := blob + "U\x00n\x00i\x00x\x00\x00\x00"
	return smb1Header(0x73, false) + "\x0c" + words + le16(len(data)) + data
}

// The SMB frames are rule samples too.
func init() {
	ruleSamples = append(ruleSamples, nbss(smb2NegotiateReq()), nbss(smb1NegotiateReq()), nbssRequest, "\x00\x00\x00\x2f\xfdSMB")
}

// smbSet returns the services as a sorted set.
func smbSet(s string) string {
	l := strings.Split(s, ",")
	slices.Sort(l)
	return strings.Join(l, ",")
}

// TestSMB runs SMB connections: the NetBIOS session setup skipped on 139, the
// third chunk confirming, the security blobs going to gssapi and ntlm, resyncing
// after errors and gaps, and the signature off the ports.
func TestSMB(t *testing.T) {
	negResp := nbss(smb2NegotiateResp(spnegoInit2()))
	sessReq := nbss(smb2SessionSetupReq(spnegoInit(ntlmNegotiate())))
	sessResp := nbss(smb2SessionSetupResp(smbMoreProcessingNeeded, spnegoResp(1, oidNTLMSSP, ntlmChallenge())))
	smb2 := []step{o(nbss(smb2NegotiateReq())), r(negResp), o(sessReq), r(sessResp)}
	cases := []struct {
		name  string
		s     script
		want  string
		split bool // also every two-chunk split of a message (compared as sets)
	}{
		{"smb2 on 139", script{Resp: "10.0.0.2:139", Steps: append([]step{o(nbssRequest), r(nbssPositive)}, smb2...)}, "gssapi,ntlm,smb", true},
		{"smb2 on 445", script{Resp: "10.0.0.2:445", Steps: smb2}, "gssapi,ntlm,smb", true},
		{"two chunks are not enough", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2NegotiateReq())), r(nbss(smb2NegotiateResp("")))}}, "", false},
		{"three chunks", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2NegotiateReq())), r(nbss(smb2NegotiateResp(""))),
			o(nbss(smb2SessionSetupReq(ntlmNegotiate())))}}, "ntlm,smb", false},
		{"raw ntlm blob", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2SessionSetupReq(ntlmNegotiate())))}}, "ntlm", false},
		{"smb1", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb1NegotiateReq())), r(nbss(smb1NegotiateResp(spnegoInit2()))),
			o(nbss(smb1SessionSetupReq(spnegoInit(ntlmNegotiate()))))}}, "gssapi,ntlm,smb", true},
		{"no sync", script{Resp: "10.0.0.2:445", Steps: []step{o("hello"), r("world"), o("again"), r("and again")}}, "", false},
		{"keepalives after sync", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2NegotiateReq())), r("\x85\x00\x00\x00"), o("\x85\x00\x00\x00")}}, "smb", false},
		{"short smb2 header", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss("\xfeSMB" + strings.Repeat("\x00", 20))), r(negResp), o(sessReq)}}, "", false},
		{"blob out of bounds", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2NegotiateReq())),
			r(nbss(smb2NegotiateResp("")[:64+56] + le16(128) + le16(500) + le32(0))), o(sessReq), r(sessResp)}}, "", false},
		{"error resyncs", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss("\xfeSMB")), o(sessReq), r(sessResp), o(sessReq), o("junk"), o(sessReq)}}, "", false},
		{"signature", script{Resp: "10.0.0.2:8445", Steps: smb2}, "gssapi,ntlm,smb", false},
		{"gap resyncs", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2NegotiateReq())), {Orig: true, Gap: 100}, r("\x00\x00\x00"), o(sessReq), r(sessResp)}}, "ntlm,gssapi,smb", false},
		{"big read", script{Resp: "10.0.0.2:445", Steps: []step{o(nbss(smb2NegotiateReq())),
			r(nbss(smb2Header(8, true, 0, 5) + le16(17) + "\x50\x00" + le32(70000) + le32(0) + le32(0) + strings.Repeat("d", 70000))),
			o(nbss(smb2Header(8, false, 0, 6) + strings.Repeat("\x00", 49)))}}, "smb", false},
	}
	for _, c := range cases {
		h, _ := run(t, c.s)
		if got := h.service(); got != c.want {
			t.Errorf("%s: service %q, want %q", c.name, got, c.want)
		}
		if !c.split {
			continue
		}
		// SMB counts chunks, so a different cut changes the order of the
		// confirmations (and the first cut must keep the SMB header whole).
		for _, steps := range splits(c.s.Steps) {
			s := c.s
			s.Steps = steps
			h, _ := run(t, s)
			if got := smbSet(h.service()); got != smbSet(c.want) && got != smbSet(strings.TrimPrefix(strings.ReplaceAll(","+c.want, ",smb", ""), ",")) {
				t.Fatalf("%s split: service %q, want the set of %q", c.name, h.service(), c.want)
			}
		}
	}
}

// FuzzSMB feeds the SMB analyzer arbitrary streams.
func FuzzSMB(f *testing.F) {
	f.Add(fuzzInput(o(nbssRequest), r(nbssPositive), o(nbss(smb2NegotiateReq())), r(nbss(smb2NegotiateResp(spnegoInit2())))))
	f.Add(fuzzInput(o(nbss(smb2SessionSetupReq(spnegoInit(ntlmNegotiate())))), r(nbss(smb2SessionSetupResp(smbMoreProcessingNeeded, ntlmChallenge())))))
	f.Add(fuzzInput(o(nbss(smb1NegotiateReq())), r(nbss(smb1NegotiateResp(spnegoInit2()))), o(nbss(smb1SessionSetupReq(ntlmNegotiate())))))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := fuzzSession(t, "smb", 445, data)
		streamsBounded(t, s, smbMaxFrame)
		s.Release()
	})
}
