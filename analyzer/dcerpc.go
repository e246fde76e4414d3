package analyzer

import "encoding/binary"

// DCE-RPC connection-oriented PDUs (C706 chapter 12, MS-RPCE) on 135/tcp. The
// analyzer confirms on the first complete PDU and violates on a parse error; it
// stops at the first gap (service-detection.md §8 row dce_rpc, "G"). Its
// signature is not tied to a transport, but the analyzer parses TCP only, so the
// framework refuses it on UDP (§7). Auth verifiers go to helpers before the PDU
// confirms (§5.3): SPNEGO (auth type 9) to gssapi, NTLMSSP (10) to ntlm, and
// Kerberos (16) to krb.
func init() {
	register(&Analyzer{Name: "dce_rpc", Transport: TCP, Ports: []uint16{135}, StopAtGap: true,
		New: func() Parser { return new(dceParser) }},
		&Rule{Name: "dce_rpc", Pattern: `^\x05[\x00\x01][\x00-\x13]`, Match: dceMatch, Enables: "dce_rpc"})
}

var (
	dceVersion = bytesOf(5)
	dceMinor   = bytesOf(0, 1)
	dcePType   = span(0, 0x13)
)

// dceMatch is the dce_rpc signature: version 5, minor version 0 or 1, and a PDU
// type up to 19.
func dceMatch(b []byte) Result { return seq(b, dceVersion, dceMinor, dcePType) }

// dceMaxPDU bounds the bytes kept of one PDU; a larger one has only its header
// checked, and counts as complete when its last byte goes by.
const dceMaxPDU = 16 << 10

// PDU types whose bodies are checked.
const (
	dceRequest  = 0
	dceResponse = 2
	dceBind     = 11
	dceBindAck  = 12
)

// dceParser is the dce_rpc analyzer.
type dceParser struct {
	dir       [2]pduStream
	head      [2]bool
	gss, ntlm *Child
	krb       *Child
	haveGSS   bool
	haveNTLM  bool
	haveKrb   bool
}

// dceOrder returns the byte order the PDU's data representation announces.
func dceOrder(b []byte) binary.ByteOrder {
	if b[4]&0x10 != 0 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}

// dceLen is the size of a PDU, frag_length. A header whose version is not 5 or
// whose frag_length cannot hold the header is malformed.
func dceLen(b []byte) (uint64, berStatus) {
	if len(b) > 0 && b[0] != 5 {
		return 0, berBad
	}
	if len(b) < 10 {
		return 0, berShort
	}
	n := dceOrder(b).Uint16(b[8:])
	if n < 16 {
		return 0, berBad
	}
	return uint64(n), berOK
}

// Data cuts the stream into PDUs and parses each.
func (p *dceParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirIndex(isOrig)
	whole := func(m []byte) bool { return p.pdu(c, isOrig, m) }
	if !p.dir[d].confirmUnits(c, data, dceMaxPDU, dceLen, &p.head[d], whole, dceHeaderValid) {
		p.fail(c)
	}
}

// fail reports a parse error; the stream is no longer framed, so parsing stops.
func (p *dceParser) fail(c *Ctx) {
	c.Violation()
	c.Stop()
}

// Gap never arrives: dce_rpc stops at the first gap.
func (p *dceParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does nothing.
func (p *dceParser) End(c *Ctx, isOrig bool) {}

// dceHeaderValid checks the fixed header of a PDU: version 5 and a body length
// (frag_length less the header, the auth verifier and its 8-byte trailer) that
// is not negative.
func dceHeaderValid(m []byte) bool {
	if len(m) < 16 || m[0] != 5 {
		return false
	}
	bo := dceOrder(m)
	frag := int(bo.Uint16(m[8:]))
	auth := int(bo.Uint16(m[10:]))
	if auth > 0 {
		auth += 8
	}
	return frag-16-auth >= 0
}

// pdu parses one complete PDU: the header, the body of a single-fragment bind,
// bind_ack, request or response, and the auth verifier, which goes to its helper.
func (p *dceParser) pdu(c *Ctx, isOrig bool, m []byte) bool {
	if !dceHeaderValid(m) {
		return false
	}
	bo := dceOrder(m)
	ptype, flags := m[2], m[3]
	authLen := int(bo.Uint16(m[10:]))
	bodyEnd := len(m) - authLen
	if authLen > 0 {
		bodyEnd -= 8
	}
	body := m[16:bodyEnd]
	if flags&0x03 == 0x03 && !dceBody(ptype, flags, body, bo) {
		return false
	}
	if authLen > 0 {
		p.auth(c, isOrig, m[bodyEnd], m[bodyEnd+8:])
	}
	return true
}

// dceBody checks the body of a PDU that is its own only fragment.
func dceBody(ptype, flags byte, b []byte, bo binary.ByteOrder) bool {
	switch ptype {
	case dceRequest:
		n := 8
		if flags&0x80 != 0 { // an object UUID follows
			n += 16
		}
		return len(b) >= n
	case dceResponse:
		return len(b) >= 8
	case dceBind:
		// max_xmit, max_recv, assoc_group, then the presentation context list:
		// count, 3 reserved bytes, and per context an id, a transfer syntax count,
		// a reserved byte, the abstract syntax and the transfer syntaxes (20 bytes
		// each).
		if len(b) < 12 {
			return false
		}
		k := int(b[8])
		b = b[12:]
		for range k {
			if len(b) < 24 {
				return false
			}
			n := 24 + 20*int(b[2])
			if len(b) < n {
				return false
			}
			b = b[n:]
		}
		return true
	case dceBindAck:
		// max_xmit, max_recv, assoc_group, the secondary address (a length and
		// the bytes), padding to 4, then the result list: count, 3 reserved
		// bytes, 24 bytes per result.
		if len(b) < 10 {
			return false
		}
		off := 10 + int(bo.Uint16(b[8:]))
		off = (off + 3) &^ 3
		if len(b) < off+4 {
			return false
		}
		return len(b) >= off+4+24*int(b[off])
	}
	return true
}

// auth passes an auth verifier to the helper of its auth type.
func (p *dceParser) auth(c *Ctx, isOrig bool, typ byte, blob []byte) {
	if len(blob) == 0 {
		return
	}
	switch typ {
	case 9: // RPC_C_AUTHN_GSS_NEGOTIATE
		if !p.haveGSS {
			p.haveGSS = true
			p.gss = c.Child("gssapi")
		}
		p.gss.Data(isOrig, blob)
	case 10: // RPC_C_AUTHN_WINNT
		if !p.haveNTLM {
			p.haveNTLM = true
			p.ntlm = c.Child("ntlm")
		}
		p.ntlm.Data(isOrig, blob)
	case 16: // RPC_C_AUTHN_GSS_KERBEROS: a Kerberos message, GSS-framed or bare
		if k, ok := krbInGSS(blob); ok {
			if !p.haveKrb {
				p.haveKrb = true
				p.krb = c.Child("krb")
			}
			p.krb.Data(isOrig, k)
		}
	}
}

// krbInGSS returns the Kerberos message in a token: the AP-REQ, AP-REP or
// KRB-ERROR of a Kerberos InitialContextToken (after the OID and the 2-byte token
// id), or the token itself when it is a bare Kerberos message.
func krbInGSS(b []byte) ([]byte, bool) {
	if len(b) > 0 && krbMsgTag(b[0]) {
		return b, true
	}
	e, _, ok := berNext(b)
	if !ok || e.tag != 0x60 {
		return nil, false
	}
	oid, rest, ok := berNext(e.body)
	if !ok || oid.tag != berOID || string(oid.body) != oidKRB5 && string(oid.body) != oidMSKRB5 {
		return nil, false
	}
	if len(rest) < 2 || rest[1] != 0 || rest[0] < 1 || rest[0] > 3 {
		return nil, false
	}
	return rest[2:], true
}
