package analyzer

import "encoding/binary"

// LDAP (RFC 4511): ldap_tcp on 389 and 3268/tcp, ldap_udp (CLDAP) on 389/udp.
// Both confirm on the first complete LDAP message, in either direction, and
// violate on a parse error; there is no partial check, so a capture that starts at
// a message boundary is detected mid-stream (service-detection.md §8, §9). The
// grammar checked is the one of Zeek's Spicy LDAP analyzer, quirks included (a
// DelRequest or AbandonRequest does not parse there, nor here).
//
// Bind credentials go to helpers (§5.3): SASL GSSAPI and GSS-SPNEGO blobs to
// gssapi, NTLM ones and Sicily binds to ntlm, in both directions, before the
// message that carries them confirms LDAP (§3.1: a Kerberos bind as the first
// message gives krb,gssapi,ldap_tcp). After a successful StartTLS the rest of the
// connection goes to an ssl child (§5.1). After a successful SASL bind, messages
// that do not start like an LDAP message are taken to be SASL-wrapped and skipped
// by their 4-byte length, as Zeek does.
func init() {
	register(&Analyzer{Name: "ldap_tcp", Transport: TCP, Ports: []uint16{389, 3268},
		New: func() Parser { return new(ldapParser) }},
		&Rule{Name: "ldap-c-tcp", Transport: TCP, Pattern: `^\x30.\x02\x01.\x60`, Match: ldapClientMatch},
		&Rule{Name: "ldap-s-tcp", Transport: TCP, Pattern: `^\x30`, Match: ldapServerMatch,
			Needs: "ldap-c-tcp", Enables: "ldap_tcp"})
	register(&Analyzer{Name: "ldap_udp", Transport: UDP, Ports: []uint16{389},
		New: func() Parser { return &ldapParser{udp: true} }},
		&Rule{Name: "ldap-c-udp", Transport: UDP, Pattern: `^\x30.\x02\x01.\x60`, Match: ldapClientMatch},
		&Rule{Name: "ldap-s-udp", Transport: UDP, Pattern: `^\x30`, Match: ldapServerMatch,
			Needs: "ldap-c-udp", Enables: "ldap_udp"})
}

var (
	ldapSeq  = bytesOf(0x30)
	ldapInt  = bytesOf(0x02)
	ldapOne  = bytesOf(0x01)
	ldapBind = bytesOf(0x60)
)

// ldapClientMatch is ldap-c: a short-length SEQUENCE, a one-byte message id and a
// BindRequest.
func ldapClientMatch(b []byte) Result {
	return seq(b, ldapSeq, anyByte, ldapInt, ldapOne, anyByte, ldapBind)
}

// ldapServerMatch is ldap-s: anything that starts with a SEQUENCE.
func ldapServerMatch(b []byte) Result { return seq(b, ldapSeq) }

// ldapMaxMsg bounds the bytes kept of one message. A longer one (a big search
// result) has only its header checked, and counts as complete when its last byte
// goes by.
const ldapMaxMsg = 16 << 10

// ldapMode is how the connection's next messages are read (Zeek's MessageMode).
type ldapMode uint8

// Message modes.
const (
	ldapPlain ldapMode = iota // LDAP messages
	ldapMaybe                 // after a SASL bind: the next message decides
	ldapSASL                  // SASL-wrapped: 4-byte length, then opaque bytes
	ldapTLS                   // after StartTLS: everything goes to ssl
)

// SASL mechanisms the parser distinguishes.
const (
	ldapMechNone   = iota
	ldapMechOther  // any other mechanism
	ldapMechGSSAPI // GSSAPI
	ldapMechSPNEGO // GSS-SPNEGO
	ldapMechNTLM   // NTLM
)

// The StartTLS extended operation's name.
const ldapStartTLS = "1.3.6.1.4.1.1466.20037"

// ldapParser is the ldap_tcp or ldap_udp analyzer.
type ldapParser struct {
	udp      bool
	dir      [2]pduStream
	dead     [2]bool // this direction is no longer parsed (after an error or a gap)
	head     [2]bool // the header of an oversized message checked out
	mode     ldapMode
	mech     uint8 // the mechanism of the last SASL bind request
	startTLS bool  // a StartTLS request was seen
	gss      *Child
	ntlm     *Child
	ssl      *Child
	haveGSS  bool
	haveNTLM bool
}

// saslLen is the size of a SASL-wrapped buffer: a 4-byte length and the bytes.
func saslLen(b []byte) (uint64, berStatus) {
	if len(b) < 4 {
		return 0, berShort
	}
	return 4 + uint64(binary.BigEndian.Uint32(b)), berOK
}

// Data parses a datagram, or the next bytes of a direction of the stream.
func (p *ldapParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.mode == ldapTLS {
		p.ssl.Data(isOrig, data)
		return
	}
	if p.udp {
		p.datagram(c, isOrig, data)
		return
	}
	d := dirIndex(isOrig)
	if p.dead[d] {
		return
	}
	st := &p.dir[d]
	for {
		if p.mode == ldapMaybe && !st.pending() && len(data) > 0 {
			// Zeek's heuristic: an LDAP message starts with its SEQUENCE; a SASL
			// buffer with a length that would be enormous if it did.
			if data[0] == 0x30 {
				p.mode = ldapPlain
			} else {
				p.mode = ldapSASL
			}
		}
		size := pduLen(ldapFrame)
		if p.mode == ldapSASL {
			size = saslLen
		}
		m, kind := st.next(&data, ldapMaxMsg, size)
		switch kind {
		case pduNone:
			return
		case pduBad:
			p.fail(c, d)
			return
		case pduWhole:
			if p.mode == ldapSASL {
				continue
			}
			if !p.message(c, isOrig, m) {
				p.fail(c, d)
				return
			}
			c.Confirm()
			if p.mode == ldapTLS {
				// The rest of the stream is TLS, from the next byte on.
				p.ssl.Data(isOrig, data)
				return
			}
		case pduHead:
			if p.mode == ldapSASL {
				continue
			}
			if !ldapHeadValid(m) {
				p.fail(c, d)
				return
			}
			p.head[d] = true
		case pduTail:
			if p.head[d] {
				c.Confirm()
			}
			p.head[d] = false
		}
	}
}

// fail reports a parse error and gives up on the direction.
func (p *ldapParser) fail(c *Ctx, d uint8) {
	c.Violation()
	p.dead[d] = true
	p.dir[d].reset()
}

// datagram parses one CLDAP datagram: one or more whole messages.
func (p *ldapParser) datagram(c *Ctx, isOrig bool, b []byte) {
	for len(b) > 0 {
		if p.mode == ldapMaybe {
			if b[0] == 0x30 {
				p.mode = ldapPlain
			} else {
				p.mode = ldapSASL
			}
		}
		if p.mode == ldapSASL {
			n, _ := saslLen(b)
			if n > uint64(len(b)) {
				c.Violation()
				return
			}
			b = b[n:]
			continue
		}
		n, st := berFrame(b)
		if st != berOK || n > uint64(len(b)) || !p.message(c, isOrig, b[:n]) {
			c.Violation()
			return
		}
		c.Confirm()
		b = b[n:]
		if p.mode == ldapTLS {
			p.ssl.Data(isOrig, b)
			return
		}
	}
}

// Gap stops the parsing of that direction: what follows is no longer aligned.
func (p *ldapParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.mode == ldapTLS {
		p.ssl.Gap(isOrig, n)
		return
	}
	d := dirIndex(isOrig)
	p.dead[d] = true
	p.dir[d].reset()
}

// End: a direction that ends inside a message is a parse error, as in every Spicy
// analyzer (service-detection.md §3.3).
func (p *ldapParser) End(c *Ctx, isOrig bool) {
	if p.mode == ldapTLS {
		p.ssl.End(isOrig)
		return
	}
	d := dirIndex(isOrig)
	if !p.udp && !p.dead[d] && p.dir[d].pending() {
		p.fail(c, d)
	}
}

// ldapFrame is the size of the LDAPMessage at the start of b. Like the Spicy
// parser, it rejects a message as soon as a header it has is wrong: the
// SEQUENCE's, the message id's, the protocolOp's.
func ldapFrame(b []byte) (uint64, berStatus) {
	if len(b) > 0 && b[0]&0xdf != berSequence {
		return 0, berBad
	}
	n, st := berFrame(b)
	if st != berOK {
		return n, st
	}
	_, h, _, _ := berHeader(b)
	if len(b) > h && b[h]&0xdf != berInteger {
		return 0, berBad
	}
	_, h2, m, st2 := berHeader(b[h:])
	if st2 == berOK && uint64(len(b)) > uint64(h+h2)+m {
		if op := b[uint64(h+h2)+m]; op&0xc0 != berApplication {
			return 0, berBad
		}
	}
	return n, st
}

// ldapOp reports whether n is a protocolOp Zeek's grammar knows.
func ldapOp(n byte) bool {
	return n <= 16 || n == 19 || n == 23 || n == 24 || n == 25
}

// ldapHeadValid checks the start of a message too long to keep: the SEQUENCE,
// the message id and the protocolOp's tag.
func ldapHeadValid(b []byte) bool {
	tag, h, _, st := berHeader(b)
	if st != berOK || tag&0xdf != berSequence {
		return false
	}
	b = b[h:]
	tag, h, n, st := berHeader(b)
	if st != berOK || tag&0xdf != berInteger || n > uint64(len(b)-h) {
		return false
	}
	b = b[h+int(n):]
	tag, _, _, st = berHeader(b)
	return st == berOK && tag&0xc0 == berApplication && ldapOp(tag&0x1f)
}

// message parses one complete LDAPMessage: a universal SEQUENCE holding a
// universal INTEGER message id and an [APPLICATION n] protocolOp (then controls,
// which are not looked at). It feeds the helpers and switches modes as it goes.
func (p *ldapParser) message(c *Ctx, isOrig bool, m []byte) bool {
	msg, _, ok := berNext(m)
	if !ok || msg.tag&0xdf != berSequence {
		return false
	}
	id, rest, ok := berNext(msg.body)
	if !ok || id.tag&0xdf != berInteger || len(id.body) > 8 {
		return false
	}
	op, _, ok := berNext(rest)
	if !ok || op.class() != berApplication || !ldapOp(op.num()) {
		return false
	}
	l := berList{op.body}
	switch op.num() {
	case 0:
		return p.bindRequest(c, isOrig, &l)
	case 1:
		return p.bindResponse(c, isOrig, &l)
	case 3:
		return ldapSearchRequest(&l)
	case 4: // SearchResultEntry: objectName, attributes
		return ldapString(&l) && ldapAny(&l)
	case 5, 7, 9, 11, 13, 15: // responses that are an LDAPResult
		_, ok := ldapResult(&l)
		return ok
	case 6, 10: // ModifyRequest, DelRequest: an objectName element
		return ldapString(&l)
	case 16: // AbandonRequest: a message id element
		e, ok := ldapElem(&l)
		return ok && e.class() == berUniversal && (e.num() == berInteger || e.num() == berEnumerated)
	case 23:
		return p.extendedRequest(&l)
	case 24:
		return p.extendedResponse(c, &l)
	}
	// UnbindRequest and the operations Zeek does not parse (AddRequest,
	// ModDNRequest, CompareRequest, SearchResultReference, IntermediateResponse).
	return true
}

// ldapElem reads the next element of a field list, checked as a recursive
// ASN1Message.
func ldapElem(l *berList) (berElem, bool) {
	e, ok, _ := l.next()
	if !ok || !berCheckElem(e, 0) {
		return berElem{}, false
	}
	return e, true
}

// ldapAny reads any next element.
func ldapAny(l *berList) bool {
	_, ok := ldapElem(l)
	return ok
}

// ldapString reads an element the grammar converts to a string.
func ldapString(l *berList) bool {
	e, ok := ldapElem(l)
	return ok && e.class() == berUniversal && berIsString(e.num())
}

// ldapInteger reads an element the grammar converts to a number.
func ldapInteger(l *berList) (int64, bool) {
	e, ok := ldapElem(l)
	if !ok || e.class() != berUniversal || e.num() != berInteger && e.num() != berEnumerated {
		return 0, false
	}
	return berInt(e.body), true
}

// ldapResult reads an LDAPResult: resultCode, matchedDN, diagnosticMessage.
func ldapResult(l *berList) (int64, bool) {
	code, ok := ldapInteger(l)
	return code, ok && ldapString(l) && ldapString(l)
}

// bindRequest parses a BindRequest (version, name, authentication) and passes
// its credentials on.
func (p *ldapParser) bindRequest(c *Ctx, isOrig bool, l *berList) bool {
	if _, ok := ldapInteger(l); !ok || !ldapString(l) {
		return false
	}
	auth, ok := ldapElem(l)
	if !ok || auth.class() == berUniversal {
		return false
	}
	switch auth.num() {
	case 3: // sasl
		if len(auth.body) == 0 {
			return true
		}
		return p.saslCredentials(c, isOrig, auth.body)
	case 10, 11: // Sicily negotiate and response: a bare NTLMSSP message
		if !isNTLMSSP(auth.body) {
			return false
		}
		p.toNTLM(c, isOrig, auth.body)
	}
	return true
}

// saslCredentials parses SaslCredentials (mechanism, credentials), notes the
// mechanism and passes the credentials to the helper it names.
func (p *ldapParser) saslCredentials(c *Ctx, isOrig bool, b []byte) bool {
	l := berList{b}
	mech, ok, _ := l.next()
	if !ok || mech.class() != berUniversal || !berIsString(mech.num()) || !berCheckElem(mech, berMaxDepth) {
		return false
	}
	switch string(mech.body) {
	case "GSSAPI":
		p.mech = ldapMechGSSAPI
	case "GSS-SPNEGO":
		p.mech = ldapMechSPNEGO
	case "NTLM":
		p.mech = ldapMechNTLM
	default:
		p.mech = ldapMechOther
	}
	// The credentials OCTET STRING, which GSS-SPNEGO requires and checks the start
	// of: an InitialContextToken with the SPNEGO OID, a NegTokenResp, or NTLMSSP.
	var creds []byte
	tag, h, n, st := berHeader(l.b)
	if st == berOK && tag&0x1f == berOctets {
		creds = l.b[h:]
		creds = creds[:min(uint64(len(creds)), n)]
	}
	if p.mech == ldapMechSPNEGO {
		if st != berOK || tag&0x1f != berOctets || !ldapSPNEGOStart(creds) {
			return false
		}
	}
	p.credentials(c, isOrig, creds)
	return true
}

// ldapSPNEGOStart checks the start of GSS-SPNEGO bind credentials as Zeek does.
func ldapSPNEGOStart(b []byte) bool {
	switch {
	case isNTLMSSP(b):
		return true
	case len(b) > 0 && b[0] == 0xa1:
		_, _, _, st := berHeader(b)
		return st == berOK
	case len(b) > 0 && b[0] == 0x60:
		_, h, _, st := berHeader(b)
		if st != berOK {
			return false
		}
		tag, h2, n, st := berHeader(b[h:])
		return st == berOK && tag&0xdf == berOID && string(b[h+h2:min(uint64(len(b)), uint64(h+h2)+n)]) == oidSPNEGO
	}
	return false
}

// credentials passes one direction's bind credentials to gssapi or ntlm,
// according to the SASL mechanism and the blob itself.
func (p *ldapParser) credentials(c *Ctx, isOrig bool, b []byte) {
	if len(b) == 0 {
		return
	}
	switch {
	case isNTLMSSP(b):
		if p.mech == ldapMechGSSAPI || p.mech == ldapMechSPNEGO || p.mech == ldapMechNTLM {
			p.toNTLM(c, isOrig, b)
		}
	case p.mech == ldapMechGSSAPI || p.mech == ldapMechSPNEGO:
		if !p.haveGSS {
			p.haveGSS = true
			p.gss = c.Child("gssapi")
		}
		p.gss.Data(isOrig, b)
	}
}

// toNTLM hands an NTLMSSP message to the ntlm child.
func (p *ldapParser) toNTLM(c *Ctx, isOrig bool, b []byte) {
	if !p.haveNTLM {
		p.haveNTLM = true
		p.ntlm = c.Child("ntlm")
	}
	p.ntlm.Data(isOrig, b)
}

// bindResponse parses a BindResponse (an LDAPResult, then serverSaslCreds [7]
// and nothing else), switches to SASL reading after a successful SASL bind, and
// passes the server's credentials on.
func (p *ldapParser) bindResponse(c *Ctx, isOrig bool, l *berList) bool {
	code, ok := ldapResult(l)
	if !ok {
		return false
	}
	if p.mech != ldapMechNone && code == 0 {
		p.mode = ldapMaybe
	}
	var creds []byte
	first := true
	for {
		e, ok, bad := l.next()
		if bad {
			return false
		}
		if !ok {
			break
		}
		if e.class() != berContext || e.num() != 7 {
			return false
		}
		if first {
			creds, first = e.body, false
		}
	}
	if p.mech == ldapMechSPNEGO && !first {
		// The server's GSS-SPNEGO answer must be a NegTokenResp or NTLMSSP; an
		// accepted MS Kerberos mechanism means wrapped messages from now on.
		switch {
		case isNTLMSSP(creds):
		case len(creds) > 0 && creds[0] == 0xa1:
			ms, ok := ldapNegTokenResp(creds)
			if !ok {
				return false
			}
			if ms {
				p.mode = ldapSASL
			}
		default:
			return false
		}
	}
	p.credentials(c, isOrig, creds)
	return true
}

// ldapNegTokenResp checks a NegTokenResp as Zeek's LDAP grammar does, and reports
// whether it accepts the MS Kerberos mechanism.
func ldapNegTokenResp(b []byte) (msKrb, ok bool) {
	_, h, _, st := berHeader(b)
	if st != berOK {
		return false, false
	}
	seq, _, ok := berNext(b[h:])
	if !ok || seq.class() != berUniversal || seq.num() != berSequence && seq.num() != berSet || !berCheckElem(seq, 0) {
		return false, false
	}
	accepted := false
	var mech []byte
	l := berList{seq.body}
	for {
		e, ok, _ := l.next()
		if !ok {
			break
		}
		id := byte(0)
		if e.class() != berUniversal {
			id = e.num()
		}
		switch id {
		case 0:
			accepted = e.class() != berUniversal && string(e.body) == "\x0a\x01\x00"
		case 1:
			if e.class() == berUniversal {
				continue
			}
			m, _, ok := berNext(e.body)
			if !ok || m.class() != berUniversal || !berIsString(m.num()) || !berCheckElem(m, berMaxDepth) {
				return false, false
			}
			mech = m.body
		case 2, 3:
		default:
			return false, false
		}
	}
	return accepted && string(mech) == oidMSKRB5, true
}

// ldapSearchRequest parses a SearchRequest: baseObject, scope, derefAliases,
// sizeLimit, timeLimit, typesOnly, filter, attributes.
func ldapSearchRequest(l *berList) bool {
	if !ldapString(l) {
		return false
	}
	for range 4 {
		if _, ok := ldapInteger(l); !ok {
			return false
		}
	}
	e, ok := ldapElem(l)
	if !ok || e.class() != berUniversal || e.num() != berBoolean {
		return false
	}
	f, ok := ldapElem(l)
	if !ok || !ldapFilter(f, 0) {
		return false
	}
	return ldapAny(l)
}

// ldapFilter checks a search Filter as Zeek's grammar parses it: a context tag
// 0-9; and, for and/or, a list of filters, for not, one filter, for the
// attribute-value forms the fields read by their one-byte tags and lengths.
func ldapFilter(f berElem, depth int) bool {
	if f.class() == berUniversal || f.num() > 9 {
		return false
	}
	if depth >= berMaxDepth {
		return true
	}
	b := f.body
	switch f.num() {
	case 0, 1: // and, or
		for len(b) > 0 {
			g, rest, ok := berNext(b)
			if !ok || !berCheckElem(g, 0) || !ldapFilter(g, depth+1) {
				return false
			}
			b = rest
		}
		return true
	case 2: // not
		g, _, ok := berNext(b)
		return ok && berCheckElem(g, 0) && ldapFilter(g, depth+1)
	case 3, 5, 6, 8: // equalityMatch, greaterOrEqual, lessOrEqual, approxMatch
		return ldapShortFields(b, 2)
	case 9: // extensibleMatch
		return ldapShortFields(b, 3)
	case 4: // substrings: type, then a SEQUENCE of initial/any/final
		if len(b) < 2 || 2+int(b[1]) > len(b) {
			return false
		}
		b = b[2+int(b[1]):]
		_, h, n, st := berHeader(b)
		if st != berOK || n > uint64(len(b)-h) {
			return false
		}
		l := berList{b[h : h+int(n)]}
		for {
			e, ok, bad := l.next()
			if bad || ok && !berCheckElem(e, berMaxDepth) {
				return false
			}
			if !ok {
				return true
			}
			if e.class() != berUniversal && e.num() > 2 {
				return false
			}
		}
	}
	return true // present
}

// ldapShortFields checks k fields of a one-byte tag, a one-byte length and that
// many bytes, which is how Zeek reads an AttributeValueAssertion.
func ldapShortFields(b []byte, k int) bool {
	for range k {
		if len(b) < 2 || 2+int(b[1]) > len(b) {
			return false
		}
		b = b[2+int(b[1]):]
	}
	return true
}

// extendedRequest parses an ExtendedRequest: requestName [0], requestValue [1],
// noting a StartTLS request.
func (p *ldapParser) extendedRequest(l *berList) bool {
	tag, h, n, st := berHeader(l.b)
	if st != berOK || tag&0xc0 != berContext || n > uint64(len(l.b)-h) {
		return false
	}
	name := l.b[h : h+int(n)]
	l.b = l.b[h+int(n):]
	if len(l.b) > 0 {
		e, ok, _ := l.next()
		if !ok || e.class() != berContext || !berCheckElem(e, berMaxDepth) {
			return false
		}
	}
	if string(name) == ldapStartTLS {
		p.startTLS = true
	}
	return true
}

// extendedResponse parses an ExtendedResponse: an LDAPResult, then up to two of
// responseName [10] and responseValue [11]. A success after a StartTLS request
// hands the rest of the connection to ssl.
func (p *ldapParser) extendedResponse(c *Ctx, l *berList) bool {
	code, ok := ldapResult(l)
	if !ok {
		return false
	}
	for range 2 {
		if len(l.b) == 0 {
			break
		}
		e, ok, _ := l.next()
		if !ok || e.class() != berContext || e.num() != 10 && e.num() != 11 {
			return false
		}
	}
	if p.startTLS && code == 0 {
		p.mode = ldapTLS
		p.ssl = c.Child("ssl")
	}
	return true
}
