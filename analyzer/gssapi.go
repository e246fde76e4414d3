package analyzer

// GSSAPI (RFC 2743) with SPNEGO (RFC 4178) is a helper analyzer: SMB, LDAP and
// DCE-RPC hand it security blobs (service-detection.md §5.3). It passes the
// mechanism tokens it finds on to a krb or ntlm child, and confirms after the
// parse, so that the nested analyzer confirms first; a blob it cannot parse is a
// violation (§8 row gssapi).
func init() {
	register(&Analyzer{Name: "gssapi", New: func() Parser { return new(gssapiParser) }})
}

// gssapiParser parses each delivery as one blob. Like Zeek's, it keeps one krb
// and one ntlm child for all the blobs of its parent.
type gssapiParser struct {
	krb, ntlm       *Child
	haveKrb, haveNT bool
}

// Data parses one blob; the children it feeds confirm before it does.
func (p *gssapiParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.blob(c, isOrig, data) {
		c.Confirm()
	} else {
		c.Violation()
	}
}

// Gap does nothing: every blob is delivered whole.
func (p *gssapiParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does nothing.
func (p *gssapiParser) End(c *Ctx, isOrig bool) {}

// toKrb hands one Kerberos message to the krb child.
func (p *gssapiParser) toKrb(c *Ctx, isOrig bool, b []byte) {
	if !p.haveKrb {
		p.haveKrb = true
		p.krb = c.Child("krb")
	}
	p.krb.Data(isOrig, b)
}

// toNTLM hands one NTLMSSP message to the ntlm child.
func (p *gssapiParser) toNTLM(c *Ctx, isOrig bool, b []byte) {
	if !p.haveNT {
		p.haveNT = true
		p.ntlm = c.Child("ntlm")
	}
	p.ntlm.Data(isOrig, b)
}

// isNTLMSSP reports whether b starts with the NTLMSSP signature.
func isNTLMSSP(b []byte) bool { return len(b) >= 7 && string(b[:7]) == "NTLMSSP" }

// blob parses a GSSAPI token: an InitialContextToken ([APPLICATION 0] with the
// mechanism's OID), a bare SPNEGO NegTokenInit or NegTokenResp, a raw NTLMSSP
// message, or an RFC 4121 MIC or Wrap token (token ids 04 04 and 05 04), which
// carry nothing to look at.
func (p *gssapiParser) blob(c *Ctx, isOrig bool, b []byte) bool {
	if isNTLMSSP(b) {
		p.toNTLM(c, isOrig, b)
		return true
	}
	if len(b) >= 2 && (b[0] == 0x04 || b[0] == 0x05) && b[1] == 0x04 {
		return true
	}
	e, _, ok := berNext(b)
	if !ok {
		return false
	}
	switch e.tag {
	case 0x60:
		oid, rest, ok := berNext(e.body)
		if !ok || oid.tag != berOID {
			return false
		}
		switch string(oid.body) {
		case oidSPNEGO:
			neg, _, ok := berNext(rest)
			if !ok {
				return false
			}
			if neg.tag != 0xa0 && neg.tag != 0xa1 {
				return false
			}
			return p.negToken(c, isOrig, neg.body)
		case oidKRB5, oidMSKRB5:
			// A 2-byte token id (01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR,
			// others for RFC 1964 MIC and Wrap tokens), then the message.
			if len(rest) < 2 {
				return false
			}
			if rest[1] == 0 && rest[0] >= 1 && rest[0] <= 3 {
				p.toKrb(c, isOrig, rest[2:])
			}
			return true
		case oidNTLMSSP:
			if isNTLMSSP(rest) {
				p.toNTLM(c, isOrig, rest)
			}
			return true
		}
		return true // another mechanism: its token is opaque
	case 0xa0, 0xa1:
		return p.negToken(c, isOrig, e.body)
	}
	return false
}

// negToken parses the SEQUENCE of a NegTokenInit ([0] mechTypes, [1] reqFlags,
// [2] mechToken, [3] mechListMIC or, in a NegTokenInit2, negHints) or of a
// NegTokenResp ([0] negState, [1] supportedMech, [2] responseToken, [3]
// mechListMIC). Like Zeek's grammar it allows no other field; each field holds one
// element, and the token in field [2], an OCTET STRING, goes to its mechanism.
func (p *gssapiParser) negToken(c *Ctx, isOrig bool, b []byte) bool {
	seq, _, ok := berNext(b)
	if !ok || seq.tag != 0x30 {
		return false
	}
	l := berList{seq.body}
	for {
		f, ok, bad := l.next()
		if bad {
			return false
		}
		if !ok {
			return true
		}
		if f.class() != berContext || f.num() > 3 {
			return false
		}
		v, _, ok := berNext(f.body)
		if !ok {
			return false
		}
		if f.num() == 2 {
			if v.class() != berUniversal || v.num() != berOctets {
				return false
			}
			p.mechToken(c, isOrig, v.body)
		}
	}
}

// mechToken passes a SPNEGO mechanism token on: an NTLMSSP message to ntlm, and
// the message inside a Kerberos InitialContextToken (after its OID and 2-byte
// token id) to krb, whatever the token id, as Zeek does. Other tokens are opaque.
func (p *gssapiParser) mechToken(c *Ctx, isOrig bool, b []byte) {
	switch {
	case isNTLMSSP(b):
		p.toNTLM(c, isOrig, b)
	case len(b) > 0 && b[0] == 0x60:
		e, _, ok := berNext(b)
		if !ok {
			return
		}
		oid, rest, ok := berNext(e.body)
		if !ok || oid.tag != berOID || len(rest) < 2 {
			return
		}
		p.toKrb(c, isOrig, rest[2:])
	}
}
