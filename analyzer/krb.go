package analyzer

import "encoding/binary"

// Kerberos (RFC 4120): krb on 88/udp, one message per datagram, and krb_tcp on
// 88/tcp, each message behind a 4-byte length. Both confirm on any complete
// Kerberos message and violate on a parse error (service-detection.md §8);
// krb_tcp ignores partial connections and stops at a gap ("P, G"). Kerberos that
// GSSAPI finds inside another protocol is always krb (§1): gssapi attaches the UDP
// analyzer as its child and hands it each message, which is exactly what a
// datagram is to it.
func init() {
	register(&Analyzer{Name: "krb", Transport: UDP, Ports: []uint16{88}, New: func() Parser { return new(krbParser) }},
		&Rule{Name: "krb-udp-req", Transport: UDP, Enables: "krb",
			Pattern: `^(\x6a|\x6c).{1,4}\x30.{1,4}\xa1\x03\x02\x01\x05\xa2\x03\x02\x01`,
			Match:   func(b []byte) Result { return krbRuleMatch(b, krbReqTags, "\xa1\x03\x02\x01\x05\xa2\x03\x02\x01") }},
		&Rule{Name: "krb-udp-rep", Transport: UDP, Enables: "krb",
			Pattern: `^(\x6b|\x6d|\x7e).{1,4}\x30.{1,4}\xa0\x03\x02\x01\x05\xa1\x03\x02\x01`,
			Match:   func(b []byte) Result { return krbRuleMatch(b, krbRepTags, "\xa0\x03\x02\x01\x05\xa1\x03\x02\x01") }})
	register(&Analyzer{Name: "krb_tcp", Transport: TCP, Ports: []uint16{88}, SkipPartial: true, StopAtGap: true,
		New: func() Parser { return new(krbTCPParser) }},
		&Rule{Name: "krb-tcp-req", Transport: TCP, Enables: "krb_tcp",
			Pattern: `^.{4}(\x6a|\x6c).{1,4}\x30.{1,4}\xa1\x03\x02\x01\x05\xa2\x03\x02\x01`,
			Match:   func(b []byte) Result { return krbTCPRuleMatch(b, krbReqTags, "\xa1\x03\x02\x01\x05\xa2\x03\x02\x01") }},
		&Rule{Name: "krb-tcp-rep", Transport: TCP, Enables: "krb_tcp",
			Pattern: `^.{4}(\x6b|\x6d|\x7e).{1,4}\x30.{1,4}\xa0\x03\x02\x01\x05\xa1\x03\x02\x01`,
			Match:   func(b []byte) Result { return krbTCPRuleMatch(b, krbRepTags, "\xa0\x03\x02\x01\x05\xa1\x03\x02\x01") }})
}

// The first bytes of the krb signatures: AS-REQ and TGS-REQ; AS-REP, TGS-REP and
// KRB-ERROR.
var (
	krbReqTags = bytesOf(0x6a, 0x6c)
	krbRepTags = bytesOf(0x6b, 0x6d, 0x7e)
)

// krbRuleMatch matches `^(first).{1,4}\x30.{1,4}tail`: every split of the two
// variable runs is tried, and the answer is Match if one split matches, More if
// one still may, else Fail.
func krbRuleMatch(b []byte, first class, tail string) Result {
	if len(b) == 0 {
		return More
	}
	if !first.has(b[0]) {
		return Fail
	}
	res := Fail
	for i := 1; i <= 4; i++ {
		p := 1 + i // the \x30
		if p >= len(b) {
			res = More
			continue
		}
		if b[p] != 0x30 {
			continue
		}
		for j := 1; j <= 4; j++ {
			q := p + 1 + j
			if q > len(b) {
				res = More
				continue
			}
			switch lit(b[q:], tail) {
			case Match:
				return Match
			case More:
				res = More
			}
		}
	}
	return res
}

// krbTCPRuleMatch is krbRuleMatch after the 4-byte length prefix (`^.{4}`).
func krbTCPRuleMatch(b []byte, first class, tail string) Result {
	if len(b) < 4 {
		return More
	}
	return krbRuleMatch(b[4:], first, tail)
}

// krbParser is the krb analyzer: each delivery is one message.
type krbParser struct{}

// Data parses one datagram (or one message from gssapi).
func (p *krbParser) Data(c *Ctx, isOrig bool, data []byte) {
	if krbValid(data) {
		c.Confirm()
	} else {
		c.Violation()
	}
}

// Gap does nothing: datagrams have no gaps.
func (p *krbParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does nothing.
func (p *krbParser) End(c *Ctx, isOrig bool) {}

// krbMaxMsg bounds the bytes krb_tcp keeps of one message; a longer message has
// only its start checked, and counts as complete when its last byte goes by.
const krbMaxMsg = 16 << 10

// krbTCPParser is the krb_tcp analyzer.
type krbTCPParser struct {
	dir  [2]pduStream
	head [2]bool // the start of an oversized message checked out
}

// krbTCPLen is the size of a length-prefixed message. RFC 4120 §7.2.2 reserves
// the high bit of the length; with it set the record is not a message.
func krbTCPLen(b []byte) (uint64, berStatus) {
	if len(b) < 4 {
		return 0, berShort
	}
	n := binary.BigEndian.Uint32(b)
	if n&0x80000000 != 0 {
		return 0, berBad
	}
	return 4 + uint64(n), berOK
}

// Data cuts the stream into messages and parses each.
func (p *krbTCPParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirIndex(isOrig)
	if !p.dir[d].confirmUnits(c, data, krbMaxMsg, krbTCPLen, &p.head[d], krbTCPValid, krbTCPHeadValid) {
		c.Violation()
		c.Stop()
	}
}

// krbTCPValid checks a whole message past its length prefix.
func krbTCPValid(m []byte) bool { return krbValid(m[4:]) }

// krbTCPHeadValid checks the kept start of an oversized message past its length
// prefix.
func krbTCPHeadValid(m []byte) bool { return krbHeadValid(m[4:]) }

// Gap never arrives: krb_tcp stops at the first gap.
func (p *krbTCPParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does nothing: binpac raises nothing for a message cut by a FIN.
func (p *krbTCPParser) End(c *Ctx, isOrig bool) {}

// krbMsgTag reports whether tag is the identifier of a Kerberos message
// ([APPLICATION n], constructed): AS-REQ 10 ... AP-REP 15, KRB-SAFE 20, KRB-PRIV
// 21, KRB-CRED 22, KRB-ERROR 30.
func krbMsgTag(tag byte) bool {
	if tag&0xe0 != berApplication|berConstructed {
		return false
	}
	switch tag & 0x1f {
	case 10, 11, 12, 13, 14, 15, 20, 21, 22, 30:
		return true
	}
	return false
}

// krbHeadValid checks what can be checked of the first bytes of a message too
// long to keep: its identifier and the SEQUENCE it holds.
func krbHeadValid(b []byte) bool {
	tag, h, _, st := berHeader(b)
	if st != berOK || !krbMsgTag(tag) {
		return false
	}
	tag, _, _, st = berHeader(b[h:])
	return st == berOK && tag == 0x30
}

// krbValid reports whether b starts with a complete Kerberos message: an
// [APPLICATION n] of a message type holding a SEQUENCE of explicitly tagged
// fields in increasing tag order, each holding one well-formed element, with the
// fields the message type requires (pvno and msg-type first). Bytes after the
// message are ignored, as binpac ignores the rest of a datagram.
func krbValid(b []byte) bool {
	app, _, ok := berNext(b)
	if !ok || !krbMsgTag(app.tag) {
		return false
	}
	seq, _, ok := berNext(app.body)
	if !ok || seq.tag != 0x30 {
		return false
	}
	// Field tag numbers the type needs; pvno and msg-type come first, at [1] and
	// [2] in a KDC-REQ and at [0] and [1] elsewhere.
	var need uint32
	switch app.tag & 0x1f {
	case 10, 12: // KDC-REQ: pvno, msg-type, req-body
		need = 1<<1 | 1<<2 | 1<<4
	case 11, 13: // KDC-REP: pvno, msg-type, crealm, cname, ticket, enc-part
		need = 1<<0 | 1<<1 | 1<<3 | 1<<4 | 1<<5 | 1<<6
	case 14: // AP-REQ: pvno, msg-type, ap-options, ticket, authenticator
		need = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4
	case 15: // AP-REP: pvno, msg-type, enc-part
		need = 1<<0 | 1<<1 | 1<<2
	case 20: // KRB-SAFE: pvno, msg-type, safe-body, cksum
		need = 1<<0 | 1<<1 | 1<<2 | 1<<3
	case 21: // KRB-PRIV: pvno, msg-type, enc-part
		need = 1<<0 | 1<<1 | 1<<3
	case 22: // KRB-CRED: pvno, msg-type, tickets, enc-part
		need = 1<<0 | 1<<1 | 1<<2 | 1<<3
	case 30: // KRB-ERROR: pvno, msg-type, stime, susec, error-code, realm, sname
		need = 1<<0 | 1<<1 | 1<<4 | 1<<5 | 1<<6 | 1<<9 | 1<<10
	}
	var seen uint32
	last := -1
	l := berList{seq.body}
	for {
		f, ok, bad := l.next()
		if bad {
			return false
		}
		if !ok {
			break
		}
		n := int(f.num())
		if f.tag&0xe0 != berContext|berConstructed || n <= last {
			return false
		}
		last = n
		seen |= 1 << n
		v, rest, ok := berNext(f.body)
		if !ok || len(rest) != 0 || !berCheckElem(v, 0) {
			return false
		}
	}
	return seen&need == need
}
