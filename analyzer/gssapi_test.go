package analyzer

import "testing"

// Hand-built GSSAPI tokens (RFC 2743 §3.1, RFC 1964 §1.1, RFC 4178 §4.2).

// gssKrb is a Kerberos InitialContextToken: the OID, a 2-byte token id, the
// message.
func gssKrb(tokID, msg string) string { return tlv(0x60, tlv(0x06, oidKRB5), tokID, msg) }

// spnegoInit is a SPNEGO InitialContextToken with a NegTokenInit offering MS
// Kerberos, Kerberos and NTLM, with mechToken (none when empty).
func spnegoInit(mechToken string) string {
	fields := tlv(0xa0, tlv(0x30, tlv(0x06, oidMSKRB5), tlv(0x06, oidKRB5), tlv(0x06, oidNTLMSSP)))
	if mechToken != "" {
		fields += tlv(0xa2, octets(mechToken))
	}
	return tlv(0x60, tlv(0x06, oidSPNEGO), tlv(0xa0, tlv(0x30, fields)))
}

// spnegoInit2 is the NegTokenInit2 a server sends in its SMB negotiate response:
// mechanisms and negHints, no token.
func spnegoInit2() string {
	return tlv(0x60, tlv(0x06, oidSPNEGO), tlv(0xa0, tlv(0x30,
		tlv(0xa0, tlv(0x30, tlv(0x06, oidMSKRB5), tlv(0x06, oidKRB5), tlv(0x06, oidNTLMSSP))),
		tlv(0xa3, tlv(0x30, tlv(0xa0, tlv(0x1b, "not_defined_in_RFC4178@please_ignore")))))))
}

// spnegoResp is a NegTokenResp with a state, the supported mechanism and a
// response token (none when empty).
func spnegoResp(state byte, mech, tok string) string {
	fields := tlv(0xa0, tlv(0x0a, string([]byte{state}))) + tlv(0xa1, tlv(0x06, mech))
	if tok != "" {
		fields += tlv(0xa2, octets(tok))
	}
	return tlv(0xa1, tlv(0x30, fields))
}

// TestGSSAPI feeds the helper blobs and checks that the nested krb or ntlm
// confirms first, and what does not parse.
func TestGSSAPI(t *testing.T) {
	for _, c := range []struct {
		name  string
		blobs []step
		want  string
	}{
		{"spnego ntlm negotiate", []step{o(spnegoInit(ntlmNegotiate()))}, "ntlm,gssapi"},
		{"spnego ntlm exchange", []step{o(spnegoInit(ntlmNegotiate())), r(spnegoResp(1, oidNTLMSSP, ntlmChallenge())),
			o(spnegoResp(1, oidNTLMSSP, ntlmAuthenticate()))}, "ntlm,gssapi"},
		{"spnego kerberos", []step{o(spnegoInit(gssKrb("\x01\x00", krbAPReq()))), r(spnegoResp(0, oidMSKRB5, gssKrb("\x02\x00", krbAPRep())))}, "krb,gssapi"},
		{"kerberos without spnego", []step{o(gssKrb("\x01\x00", krbAPReq()))}, "krb,gssapi"},
		{"negTokenInit2 only", []step{r(spnegoInit2())}, "gssapi"},
		{"raw ntlmssp", []step{o(ntlmNegotiate())}, "ntlm,gssapi"},
		{"wrap token", []step{o("\x05\x04\x06\xff\x00\x10\x00\x1c" + "12345678")}, "gssapi"},
		{"bad krb inside", []step{o(spnegoInit(gssKrb("\x01\x00", tlv(0x30))))}, "gssapi"},
		{"garbage", []step{o("garbage!")}, ""},
		{"bad spnego field", []step{o(tlv(0x60, tlv(0x06, oidSPNEGO), tlv(0xa0, tlv(0x30, tlv(0xa5, berInt1(1))))))}, ""},
		{"truncated", []step{o(spnegoInit(ntlmNegotiate())[:30])}, ""},
		{"token not octets", []step{o(tlv(0xa1, tlv(0x30, tlv(0xa2, berInt1(1)))))}, ""},
		{"confirmed then garbage", []step{o(spnegoInit(ntlmNegotiate())), r("\x30\x30")}, "ntlm"},
	} {
		// Each blob is one delivery, as the parents hand them over.
		h, s := attachedSession(t, "gssapi", 9)
		play(h, s, c.blobs)
		if got := h.service(); got != c.want {
			t.Errorf("%s: service %q, want %q", c.name, got, c.want)
		}
		s.Release()
	}
}

// FuzzGSSAPI feeds the GSSAPI parser arbitrary blobs.
func FuzzGSSAPI(f *testing.F) {
	f.Add([]byte(spnegoInit(ntlmNegotiate())))
	f.Add([]byte(spnegoInit(gssKrb("\x01\x00", krbAPReq()))))
	f.Add([]byte(spnegoResp(1, oidNTLMSSP, ntlmChallenge())))
	f.Add([]byte(spnegoInit2()))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, s := attachedSession(t, "gssapi", 9)
		s.Data(true, b)
		s.Data(false, b)
		s.Release()
	})
}
