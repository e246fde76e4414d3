package analyzer

// A small BER reader for the directory and authentication protocols (LDAP,
// Kerberos, GSSAPI/SPNEGO). They all use definite lengths and one-byte
// identifiers, and that is all this reader knows: like the parsers Zeek uses
// (Spicy's ASN1 module and binpac's ASN1EncodingMeta), it reads the identifier as
// one octet (a tag number of 31 is just 31), and takes the indefinite-length octet
// 0x80 as a length of zero. Every read is bounded by the slice it is given, so no
// input can make it read out of range or allocate.

// Identifier-octet classes and the constructed bit.
const (
	berUniversal   = 0x00
	berApplication = 0x40
	berContext     = 0x80
	berPrivate     = 0xc0
	berConstructed = 0x20
)

// Universal tag numbers the parsers look at.
const (
	berBoolean    = 1
	berInteger    = 2
	berBitString  = 3
	berOctets     = 4
	berNull       = 5
	berOID        = 6
	berEnumerated = 10
	berSequence   = 16
	berSet        = 17
)

// berMaxDepth bounds how deep berCheck descends into nested SEQUENCEs, so that a
// crafted message cannot exhaust the stack; deeper content is taken as it is.
const berMaxDepth = 64

// berStatus says whether a header or a unit could be read from the bytes at hand.
type berStatus uint8

// Header read results.
const (
	berOK    berStatus = iota
	berShort           // truncated: more bytes may complete it
	berBad             // malformed: no more bytes can help
)

// berHeader reads the identifier and length octets at the start of b: tag is the
// identifier octet, hdr the size of the header and n the content length. A long
// length of more than 8 octets is malformed (no parser can hold it).
func berHeader(b []byte) (tag byte, hdr int, n uint64, st berStatus) {
	if len(b) < 2 {
		return 0, 0, 0, berShort
	}
	tag = b[0]
	l := b[1]
	if l < 0x80 {
		return tag, 2, uint64(l), berOK
	}
	k := int(l & 0x7f)
	if k > 8 {
		return tag, 0, 0, berBad
	}
	if len(b) < 2+k {
		return tag, 0, 0, berShort
	}
	for _, c := range b[2 : 2+k] {
		n = n<<8 | uint64(c)
	}
	return tag, 2 + k, n, berOK
}

// berFrame is a pduLen for a stream of BER elements: the total size of the element
// at the start of b.
func berFrame(b []byte) (uint64, berStatus) {
	_, h, n, st := berHeader(b)
	if st != berOK {
		return 0, st
	}
	if n > 1<<40 {
		return 0, berBad
	}
	return uint64(h) + n, berOK
}

// berElem is one element: its identifier octet and its content.
type berElem struct {
	tag  byte
	body []byte
}

// class returns the element's class bits (berUniversal ... berPrivate).
func (e berElem) class() byte { return e.tag & 0xc0 }

// num returns the element's tag number (the low five bits of the identifier).
func (e berElem) num() byte { return e.tag & 0x1f }

// berNext reads the element at the start of b, whose content must lie within b,
// and returns it with the bytes after it.
func berNext(b []byte) (e berElem, rest []byte, ok bool) {
	tag, h, n, st := berHeader(b)
	if st != berOK || n > uint64(len(b)-h) {
		return berElem{}, nil, false
	}
	end := h + int(n)
	return berElem{tag, b[h:end]}, b[end:], true
}

// berList reads b as a sequence of elements, one call of next at a time.
type berList struct{ b []byte }

// next returns the next element; ok is false at the end of the list or when the
// next element is malformed (bad tells which).
func (l *berList) next() (e berElem, ok, bad bool) {
	if len(l.b) == 0 {
		return berElem{}, false, false
	}
	e, rest, ok := berNext(l.b)
	if !ok {
		l.b = nil
		return berElem{}, false, true
	}
	l.b = rest
	return e, true, false
}

// berCheck reports whether b is exactly a list of well-formed elements, checked
// as Spicy's ASN1 module parses a recursive ASN1Message (which Zeek's LDAP grammar
// uses for every field): universal SEQUENCEs and SETs are descended into, a
// BOOLEAN has one content octet, a NULL none, a BIT STRING and an OID at least
// one, an INTEGER or ENUMERATED at most eight; the content of every other element
// is taken as it is.
func berCheck(b []byte, depth int) bool {
	for len(b) > 0 {
		e, rest, ok := berNext(b)
		if !ok || !berCheckElem(e, depth) {
			return false
		}
		b = rest
	}
	return true
}

// berCheckElem checks one element as berCheck does.
func berCheckElem(e berElem, depth int) bool {
	if e.class() != berUniversal {
		return true
	}
	switch e.num() {
	case berBoolean:
		return len(e.body) == 1
	case berNull:
		return len(e.body) == 0
	case berBitString, berOID:
		return len(e.body) >= 1
	case berInteger, berEnumerated:
		return len(e.body) <= 8
	case berSequence, berSet:
		if depth >= berMaxDepth {
			return true
		}
		return berCheck(e.body, depth+1)
	}
	return true
}

// berIsString reports whether a universal element of tag number n has a string
// value in Spicy's ASN1 module (an OCTET STRING, an OID or a character string);
// fields the grammar converts to a string must be one of these.
func berIsString(n byte) bool {
	switch n {
	case berOctets, berOID, 12, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30:
		return true
	}
	return false
}

// berInt returns the value of an INTEGER or ENUMERATED content (big-endian two's
// complement, at most 8 octets; an empty content is 0).
func berInt(b []byte) int64 {
	if len(b) == 0 || len(b) > 8 {
		return 0
	}
	v := int64(int8(b[0]))
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v
}

// OIDs in their DER content encoding.
var (
	oidSPNEGO  = "\x2b\x06\x01\x05\x05\x02"                 // 1.3.6.1.5.5.2
	oidKRB5    = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"     // 1.2.840.113554.1.2.2
	oidMSKRB5  = "\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"     // 1.2.840.48018.1.2.2
	oidNTLMSSP = "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" // 1.3.6.1.4.1.311.2.2.10
)

// pduStream cuts one direction of a TCP stream into protocol data units whose
// size the unit's header gives (a BER element, a length-prefixed record). It
// keeps at most limit bytes of an incomplete unit: a larger unit is handed over as
// its first limit bytes (pduHead), its rest is passed over, and its end is reported
// (pduTail), however it was cut into chunks, so that the result never depends on
// the chunking. Units that lie whole within a chunk are returned without copying.
type pduStream struct {
	buf  []byte
	skip uint64 // bytes of an oversized unit still to pass over
	used bool   // buf holds the unit last returned; clear it on the next call
}

// What pduStream.next returns.
const (
	pduNone  = iota // the chunk is used up
	pduWhole        // a complete unit
	pduHead         // the first limit bytes of a unit too large to keep
	pduTail         // the end of an oversized unit went by
	pduBad          // the unit's header is malformed
)

// pduLen returns the total size of the unit at the start of b: berShort when b
// is too short to tell, berBad when the header is malformed.
type pduLen func(b []byte) (uint64, berStatus)

// pending reports whether the stream is inside a unit (a FIN there ends a
// message in the middle).
func (s *pduStream) pending() bool { return s.skip > 0 || len(s.buf) > 0 && !s.used }

// reset forgets any partial unit (after a gap or an error).
func (s *pduStream) reset() {
	s.buf = s.buf[:0]
	s.skip = 0
	s.used = false
}

// next returns the next unit from *data, consuming what it uses of it. The unit
// is valid until the next call.
func (s *pduStream) next(data *[]byte, limit int, size pduLen) ([]byte, int) {
	if s.used {
		s.buf = s.buf[:0]
		s.used = false
	}
	d := *data
	if s.skip > 0 {
		if len(d) == 0 {
			return nil, pduNone
		}
		k := min(s.skip, uint64(len(d)))
		s.skip -= k
		*data = d[k:]
		if s.skip == 0 {
			return nil, pduTail
		}
		return nil, pduNone
	}
	if len(s.buf) == 0 {
		if len(d) == 0 {
			return nil, pduNone
		}
		n, st := size(d)
		switch {
		case st == berBad:
			return nil, pduBad
		case st == berOK && n <= uint64(limit) && n <= uint64(len(d)):
			*data = d[n:]
			return d[:n], pduWhole
		case st == berOK && len(d) >= limit:
			s.skip = n - uint64(limit)
			*data = d[limit:]
			return d[:limit], pduHead
		case st == berShort && len(d) >= limit:
			return nil, pduBad
		}
		s.buf = appendBounded(s.buf, d, limit)
		*data = d[len(d):]
		return nil, pduNone
	}
	orig, took := d, 0
	for {
		n, st := size(s.buf)
		var want int
		switch {
		case st == berBad:
			return nil, pduBad
		case st == berOK && n <= uint64(len(s.buf)):
			// Bytes appended while the header was incomplete may belong to the
			// next unit: give them back.
			if excess := len(s.buf) - int(n); excess > 0 {
				took -= excess
				s.buf = s.buf[:n]
			}
			*data = orig[took:]
			s.used = true
			return s.buf, pduWhole
		case st == berOK && len(s.buf) >= limit:
			s.skip = n - uint64(len(s.buf))
			*data = orig[took:]
			s.used = true
			return s.buf, pduHead
		case st == berOK:
			want = int(min(n, uint64(limit))) - len(s.buf)
		case len(s.buf) >= limit:
			return nil, pduBad
		default:
			want = min(16, limit-len(s.buf)) // the header is still incomplete
		}
		if took == len(orig) {
			*data = orig[took:]
			return nil, pduNone
		}
		k := min(want, len(orig)-took)
		s.buf = appendBounded(s.buf, orig[took:took+k], limit)
		took += k
	}
}

// confirmUnits reads the units data completes in one direction of a protocol
// that confirms on every unit that checks out, as dce_rpc and krb_tcp do: a whole
// unit must pass whole, and the kept head of an oversized unit must pass head;
// the oversized unit then confirms when its end goes by (*headOK remembers that
// its head passed). It returns false at a malformed header or a unit that does
// not pass: the stream is no longer framed, and the caller reports the violation
// and stops.
func (s *pduStream) confirmUnits(c *Ctx, data []byte, limit int, size pduLen, headOK *bool, whole, head func([]byte) bool) bool {
	for {
		m, kind := s.next(&data, limit, size)
		switch kind {
		case pduNone:
			return true
		case pduBad:
			return false
		case pduWhole:
			if !whole(m) {
				return false
			}
			c.Confirm()
		case pduHead:
			if !head(m) {
				return false
			}
			*headOK = true
		case pduTail:
			if *headOK {
				c.Confirm()
			}
			*headOK = false
		}
	}
}

// appendBounded appends b to buf, growing buf to at most limit bytes of capacity
// (the caller never appends past limit), so a stream's buffer stays within bounds.
func appendBounded(buf, b []byte, limit int) []byte {
	if n := len(buf) + len(b); n > cap(buf) {
		c := min(max(2*cap(buf), n, 256), limit)
		nb := make([]byte, len(buf), c)
		copy(nb, buf)
		buf = nb
	}
	return append(buf, b...)
}
