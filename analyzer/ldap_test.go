package analyzer

import (
	"slices"
	"strings"
	"testing"
)

// Hand-built LDAP messages (RFC 4511 §4).

// ldapMsg is an LDAPMessage with a one-byte message id.
func ldapMsg(id byte, op string) string { return tlv(0x30, berInt1(id), op) }

// ldapResultOp is an operation holding an LDAPResult (and extra fields).
func ldapResultOp(tag, code byte, extra ...string) string {
	return tlv(tag, append([]string{tlv(0x0a, string([]byte{code})), octets(""), octets("")}, extra...)...)
}

var (
	ldapSimpleBind = ldapMsg(1, tlv(0x60, berInt1(3), octets("cn=admin,dc=example,dc=com"), tlv(0x80, "secret")))
	ldapBindOK     = ldapMsg(1, ldapResultOp(0x61, 0))
	ldapSearch     = ldapMsg(2, tlv(0x63, octets("dc=example,dc=com"), tlv(0x0a, "\x02"), tlv(0x0a, "\x00"), berInt1(0), berInt1(0),
		tlv(0x01, "\x00"),
		tlv(0xa0, tlv(0x87, "objectClass"), tlv(0xa3, octets("cn"), octets("alice")), tlv(0xa4, octets("cn"), tlv(0x30, tlv(0x80, "al"))),
			tlv(0xa2, tlv(0xa9, tlv(0x81, "1.2.840.113556.1.4.803"), tlv(0x82, "userAccountControl"), tlv(0x83, "2")))),
		tlv(0x30, octets("cn"), octets("mail"))))
	ldapEntry = ldapMsg(2, tlv(0x64, octets("cn=alice,dc=example,dc=com"),
		tlv(0x30, tlv(0x30, octets("cn"), tlv(0x31, octets("alice"))))))
	ldapDone   = ldapMsg(2, ldapResultOp(0x65, 0))
	ldapUnbind = ldapMsg(3, tlv(0x42))
	ldapDelete = ldapMsg(4, tlv(0x4a, "cn=alice,dc=example,dc=com"))

	ldapStartTLSReq  = ldapMsg(1, tlv(0x77, tlv(0x80, ldapStartTLS)))
	ldapStartTLSResp = ldapMsg(1, ldapResultOp(0x78, 0, tlv(0x8a, ldapStartTLS)))
	ldapStartTLSFail = ldapMsg(1, ldapResultOp(0x78, 2))
)

// ldapSASLBind is a SASL bind request with a mechanism and credentials, written
// with the 4-byte lengths of Windows.
func ldapSASLBind(id byte, mech, creds string) string {
	return tlv4(0x30, berInt1(id), tlv4(0x60, berInt1(3), octets(""), tlv4(0xa3, octets(mech), tlv4(0x04, creds))))
}

// ldapSASLBindResp is a bind response with a result code and server credentials.
func ldapSASLBindResp(id, code byte, creds string) string {
	if creds == "" {
		return tlv4(0x30, berInt1(id), ldapResultOp(0x61, code))
	}
	return tlv4(0x30, berInt1(id), ldapResultOp(0x61, code, tlv(0x87, creds)))
}

// saslWrapped is a SASL-wrapped buffer: a 4-byte length and a sealed Kerberos
// wrap token.
func saslWrapped(n int) string {
	tok := "\x05\x04\x06\xff\x00\x10\x00\x1c" + strings.Repeat("\x99", n)
	return be32(len(tok)) + tok
}

// tlsClientHello is a TLS 1.2 ClientHello record with an SNI.
func tlsClientHello() string {
	sni := "ldap.example.com"
	ext := be16(0) + be16(len(sni)+5) + be16(len(sni)+3) + "\x00" + be16(len(sni)) + sni
	body := "\x03\x03" + strings.Repeat("\x42", 32) + "\x00" + be16(4) + "\xc0\x2f\x00\x2f" + "\x01\x00" + be16(len(ext)) + ext
	hs := "\x01" + string([]byte{0, byte(len(body) >> 8), byte(len(body))}) + body
	return "\x16\x03\x01" + be16(len(hs)) + hs
}

// be16 is a big-endian 16-bit integer.
func be16(n int) string { return string([]byte{byte(n >> 8), byte(n)}) }

// The LDAP messages are rule samples too (ldap-c and ldap-s).
func init() {
	ruleSamples = append(ruleSamples, ldapSimpleBind, ldapBindOK, ldapSearch, "\x30\x0c\x02\x01\x01\x61")
}

// ldapKrbBind and the rest are a GSS-SPNEGO Kerberos bind, its answer and a
// search under the SASL layer, as Windows writes them.
var (
	ldapKrbBind     = ldapSASLBind(5, "GSS-SPNEGO", spnegoInit(gssKrb("\x01\x00", krbAPReq())))
	ldapKrbBindResp = ldapSASLBindResp(5, 0, spnegoResp(0, oidMSKRB5, gssKrb("\x02\x00", krbAPRep())))
)

// TestLDAP runs LDAP connections through the analyzers: confirmation, the helper
// order of service-detection.md §3.1, StartTLS, SASL wrapping, each violation,
// one-sided and mid-stream traffic, signatures off the ports, and every cut.
func TestLDAP(t *testing.T) {
	ssl := ""
	if a := Lookup("ssl"); a != nil && a.New != nil {
		ssl = ",ssl"
	}
	big := ldapMsg(7, tlv(0x64, octets("cn=big"), tlv(0x30, tlv(0x30, octets("jpegPhoto"), tlv(0x31, octets(strings.Repeat("\xff", 20000)))))))
	cases := []serviceCase{
		{"simple bind", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSimpleBind), r(ldapBindOK), o(ldapUnbind)}}, "ldap_tcp", true},
		{"search", script{Resp: "10.0.0.2:3268", Steps: []step{o(ldapSearch), r(ldapEntry + ldapDone)}}, "ldap_tcp", true},
		{"kerberos bind first", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapKrbBind), r(ldapKrbBindResp),
			o(saslWrapped(60)), r(saslWrapped(200) + saslWrapped(10))}}, "krb,gssapi,ldap_tcp", true},
		{"kerberos bind later", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch), r(ldapDone), o(ldapKrbBind), r(ldapKrbBindResp),
			o(saslWrapped(60))}}, "ldap_tcp,krb,gssapi", true},
		{"sasl gssapi raw kerberos", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSASLBind(1, "GSSAPI", gssKrb("\x01\x00", krbAPReq()))),
			r(ldapSASLBindResp(1, 14, gssKrb("\x02\x00", krbAPRep())))}}, "krb,gssapi,ldap_tcp", true},
		{"gss-spnego raw ntlm", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSASLBind(1, "GSS-SPNEGO", ntlmNegotiate())),
			r(ldapSASLBindResp(1, 14, ntlmChallenge())), o(ldapSASLBind(2, "GSS-SPNEGO", ntlmAuthenticate())), r(ldapSASLBindResp(2, 0, "")),
			o(ldapSearch)}}, "ntlm,ldap_tcp", true},
		{"gss-spnego ntlm", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSASLBind(1, "GSS-SPNEGO", spnegoInit(ntlmNegotiate()))),
			r(ldapSASLBindResp(1, 14, spnegoResp(1, oidNTLMSSP, ntlmChallenge())))}}, "ntlm,gssapi,ldap_tcp", true},
		{"gss-spnego not spnego", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSASLBind(1, "GSS-SPNEGO", gssKrb("\x01\x00", krbAPReq())))}}, "", false},
		{"gss-spnego bad answer", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSASLBind(1, "GSS-SPNEGO", ntlmNegotiate())),
			r(ldapSASLBindResp(1, 14, "\x30\x00"))}}, "ntlm", false},
		{"sicily", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapMsg(1, tlv(0x60, berInt1(3), octets(""), tlv(0x8a, ntlmNegotiate()))))}}, "ntlm,ldap_tcp", true},
		{"sicily not ntlm", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapMsg(1, tlv(0x60, berInt1(3), octets(""), tlv(0x8a, "hello"))))}}, "", false},
		{"starttls", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapStartTLSReq), r(ldapStartTLSResp), o(tlsClientHello())}}, "ldap_tcp" + ssl, true},
		{"starttls refused", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapStartTLSReq), r(ldapStartTLSFail), o(ldapSearch)}}, "ldap_tcp", true},
		{"sasl then cleartext", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSASLBind(1, "EXTERNAL", "")), r(ldapSASLBindResp(1, 0, "")),
			o(ldapSearch), r(ldapDone)}}, "ldap_tcp", true},
		{"garbage", script{Resp: "10.0.0.2:389", Steps: []step{o("hello there\r\n"), r(ldapDone)}}, "", false},
		{"garbage both ways", script{Resp: "10.0.0.2:389", Steps: []step{o("hello there\r\n"), r("\x30\x03\x02\x01")}}, "", false},
		{"violation removes", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch), r(ldapDone), o("\x31\x00")}}, "", false},
		{"unknown operation", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapMsg(1, tlv(0x74)))}}, "", false},
		{"delete does not parse in zeek", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch), r(ldapDone), o(ldapDelete)}}, "", false},
		{"referral in bind response", script{Resp: "10.0.0.2:389", Steps: []step{r(ldapMsg(1, ldapResultOp(0x61, 10, tlv(0xa3, octets("ldap://x")))))}}, "", false},
		{"fin inside a message", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch), r(ldapDone[:5]), {End: true}}}, "", false},
		{"fin at a boundary", script{Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch), r(ldapDone), {End: true}}}, "ldap_tcp", false},
		{"server only", script{Resp: "10.0.0.2:389", Steps: []step{r(ldapEntry), r(ldapDone)}}, "ldap_tcp", true},
		{"mid-stream", script{Resp: "10.0.0.2:389", Partial: true, Steps: []step{r(ldapEntry)}}, "ldap_tcp", false},
		{"big entry", script{Resp: "10.0.0.2:389", Steps: []step{r(big)}}, "ldap_tcp", false},
		{"big entry cut", script{Resp: "10.0.0.2:389", Steps: []step{r(big[:17000])}}, "", false},
		{"gap then message", script{Resp: "10.0.0.2:389", Steps: []step{{Orig: true, Gap: 20}, o(ldapSearch)}}, "", false},
		{"gap one side", script{Resp: "10.0.0.2:389", Steps: []step{{Orig: true, Gap: 20}, o(ldapSearch), r(ldapDone)}}, "ldap_tcp", false},
		{"signature", script{Resp: "10.0.0.2:10389", Steps: []step{o(ldapSimpleBind), r(ldapBindOK)}}, "ldap_tcp", true},
		{"signature needs the server", script{Resp: "10.0.0.2:10389", Steps: []step{o(ldapSimpleBind)}}, "", false},
		{"udp search", script{Proto: UDP, Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch), r(ldapEntry + ldapDone)}}, "ldap_udp", false},
		{"udp answer only", script{Proto: UDP, Resp: "10.0.0.2:389", Steps: []step{r(ldapDone)}}, "ldap_udp", false},
		{"udp cut", script{Proto: UDP, Resp: "10.0.0.2:389", Steps: []step{o(ldapSearch[:20])}}, "", false},
		{"udp garbage", script{Proto: UDP, Resp: "10.0.0.2:389", Steps: []step{o("garbage")}}, "", false},
		{"udp signature", script{Proto: UDP, Resp: "10.0.0.2:10389", Steps: []step{o(ldapSimpleBind), r(ldapBindOK)}}, "ldap_udp", false},
	}
	runCasesCut(t, cases)
}

// TestLDAPStartTLSChild checks that the TLS bytes after a StartTLS go to the ssl
// child, from the byte after the response on.
func TestLDAPStartTLSChild(t *testing.T) {
	_, _, s := newSession(t, script{Resp: "10.0.0.2:389"})
	s.Data(true, []byte(ldapStartTLSReq))
	s.Data(false, []byte(ldapStartTLSResp+"\x16\x03"))
	p := s.root.insts[slices.IndexFunc(s.root.insts, func(i *instance) bool { return i.a.Name == "ldap_tcp" })].p.(*ldapParser)
	if p.mode != ldapTLS {
		t.Fatalf("mode %d after StartTLS, want TLS", p.mode)
	}
	s.Release()
}

// FuzzLDAP feeds the LDAP analyzers arbitrary streams and datagrams.
func FuzzLDAP(f *testing.F) {
	f.Add(byte(0), fuzzInput(o(ldapSimpleBind), r(ldapBindOK), o(ldapSearch), r(ldapEntry+ldapDone)))
	f.Add(byte(0), fuzzInput(o(ldapKrbBind), r(ldapKrbBindResp), o(saslWrapped(20))))
	f.Add(byte(0), fuzzInput(o(ldapStartTLSReq), r(ldapStartTLSResp), o(tlsClientHello())))
	f.Add(byte(1), fuzzInput(o(ldapSearch), r(ldapEntry)))
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		name := "ldap_tcp"
		if which&1 != 0 {
			name = "ldap_udp"
		}
		s := fuzzSession(t, name, 389, data)
		streamsBounded(t, s, ldapMaxMsg)
		s.Release()
	})
}
