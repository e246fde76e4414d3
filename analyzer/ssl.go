package analyzer

// The ssl analyzer: TLS and SSL over TCP (service-detection.md §8 row ssl; the
// signatures tls-c and tls-s of §7). It reads the record layer of both directions,
// checks every record header, and follows the handshake messages in the clear: a
// ClientHello that parses with an acceptable version confirms, and gives the
// connection its TLS server name. A ServerHello never confirms.
//
// Other analyzers attach it as a child after STARTTLS (§5.1), and QUIC feeds it the
// decrypted CRYPTO data wrapped in handshake records, so it makes no assumption
// about what came before the first record it is given.

import "encoding/binary"

// init registers ssl on its ports with the TLS client and server signatures.
func init() {
	register(&Analyzer{
		Name:        "ssl",
		Transport:   TCP,
		Ports:       []uint16{443, 465, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223},
		SkipPartial: true,
		StopAtGap:   true,
		New:         func() Parser { return new(sslParser) },
	},
		&Rule{Name: "tls-c", Transport: TCP, Dir: Orig, Enables: "ssl",
			Pattern: `^\x16\x03[\x00-\x03]..\x01...\x03[\x00-\x03]`, Match: matchTLSClient},
		&Rule{Name: "tls-s", Transport: TCP, Dir: Resp, Enables: "ssl",
			Pattern: `^(\x15\x03[\x00-\x03]....)?\x16\x03[\x00-\x03]..\x02...(\x03[\x00-\x04]|\x7f[\x00-\x50])`,
			Match:   matchTLSServer},
	)
}

// Byte classes of the TLS signatures.
var (
	tlsMinor   = span(0x00, 0x03)
	tlsHandRec = bytesOf(0x16)
	tlsMajor   = bytesOf(0x03)
)

// matchTLSClient is tls-c: a handshake record of SSLv3 to TLS 1.2 holding a
// ClientHello whose client_version is SSLv3 to TLS 1.2.
func matchTLSClient(data []byte) Result {
	return seq(data, tlsHandRec, tlsMajor, tlsMinor, anyByte, anyByte, bytesOf(0x01),
		anyByte, anyByte, anyByte, tlsMajor, tlsMinor)
}

// matchTLSServer is tls-s: an optional alert record, then a handshake record
// holding a ServerHello whose server_version is SSLv3 to TLS 1.3 or a TLS 1.3 draft.
func matchTLSServer(data []byte) Result {
	if len(data) == 0 {
		return More
	}
	if data[0] == 0x15 {
		r := seq(data, bytesOf(0x15), tlsMajor, tlsMinor, anyByte, anyByte, anyByte, anyByte)
		if r != Match {
			return r
		}
		data = data[7:]
	}
	r := seq(data, tlsHandRec, tlsMajor, tlsMinor, anyByte, anyByte, bytesOf(0x02),
		anyByte, anyByte, anyByte, bytesOf(0x03, 0x7f))
	if r != Match {
		return r
	}
	if len(data) < 11 {
		return More
	}
	if data[9] == 0x03 && data[10] <= 0x04 || data[9] == 0x7f && data[10] <= 0x50 {
		return Match
	}
	return Fail
}

// TLS record content types.
const (
	tlsChangeCipherSpec = 20
	tlsHandshake        = 22
)

// sslV2 is the record-layer version of a connection that speaks SSLv2 records
// throughout (after an SSLv2 ServerHello).
const sslV2 = 0x0002

// sslParser is the ssl analyzer on one connection.
type sslParser struct {
	dirs [2]sslDir
	// version is the record-layer version, fixed by the first TLS record of either
	// direction (or sslV2 by an SSLv2 ServerHello); 0 until then.
	version uint16
}

// What the body of the current record is, for the parser.
const (
	sslSkip    = iota // content the parser does not read
	sslHand           // handshake messages in the clear
	sslV2Hello        // an SSLv2 ClientHello
)

// sslDir is one direction's record layer and handshake reassembly.
type sslDir struct {
	hdr       [5]byte
	nhdr      int
	inBody    bool
	left      int    // bytes of the current record's body still to come
	kind      uint8  // sslSkip, sslHand or sslV2Hello
	encrypted bool   // a ChangeCipherSpec was sent: later handshake records are ciphertext
	v2        []byte // the SSLv2 ClientHello so far, when it spans chunks
	hs        tlsHandshakeStream
}

// tlsHandshakeStream reassembles one direction's handshake messages from the
// bodies of its handshake records: a message may span records, and a record may
// hold several messages.
type tlsHandshakeStream struct {
	hdr   [4]byte
	nhdr  int
	inMsg bool
	typ   byte
	left  int    // bytes of the current message's body still to come
	keep  bool   // the body is a hello the parser reads
	buf   []byte // the body so far, when it spans fragments
}

// Data reads the next bytes of one direction: record headers, and the bodies of
// the records the parser looks into.
func (p *sslParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := &p.dirs[dirIndex(isOrig)]
	for len(data) > 0 {
		if !d.inBody {
			n := copy(d.hdr[d.nhdr:], data)
			d.nhdr += n
			data = data[n:]
			if d.nhdr < len(d.hdr) {
				return
			}
			d.nhdr = 0
			if !p.header(c, d, isOrig) {
				return
			}
			if d.left > 0 {
				d.inBody = true
			} else if d.kind == sslV2Hello && !p.v2Hello(c, d, nil) {
				return
			}
			continue
		}
		n := min(d.left, len(data))
		body := data[:n]
		data = data[n:]
		d.left -= n
		switch d.kind {
		case sslHand:
			if !p.handshake(c, d, body) {
				return
			}
		case sslV2Hello:
			if !p.v2Hello(c, d, body) {
				return
			}
		}
		if d.left == 0 {
			d.inBody = false
			d.kind = sslSkip
		}
	}
}

// header checks the record header in d.hdr (five bytes, however the record is
// framed) and sets up the reading of its body. It reports false after a violation
// (§8 row ssl: every record header is checked).
func (p *sslParser) header(c *Ctx, d *sslDir, isOrig bool) bool {
	h := &d.hdr
	d.kind = sslSkip
	switch {
	case p.version == sslV2:
		// An SSLv2 connection: 2-byte record headers, the first three body bytes
		// already read as part of h.
		return p.v2Length(c, d)
	case p.version == 0 && h[0]&0x80 != 0:
		switch {
		case h[2] == 1 && isOrig:
			v := binary.BigEndian.Uint16(h[3:])
			if v != sslV2 && (v < 0x0300 || v > 0x0303) {
				return p.fail(c)
			}
			d.kind = sslV2Hello
			d.v2 = nil
		case h[2] == 4 && h[4] < 2 && !isOrig:
			p.version = sslV2
		default:
			return p.fail(c)
		}
		if !p.v2Length(c, d) {
			return false
		}
		if d.kind == sslV2Hello && d.left > tlsMaxHello {
			// Too big to be a real hello: not judged (see tlsMaxHello).
			c.Stop()
			return false
		}
		return true
	}
	v := binary.BigEndian.Uint16(h[1:])
	if v < 0x0300 || v > 0x0303 || h[0] < 20 || h[0] > 30 {
		return p.fail(c)
	}
	if p.version == 0 {
		p.version = v
	}
	d.left = int(binary.BigEndian.Uint16(h[3:]))
	switch h[0] {
	case tlsChangeCipherSpec:
		d.encrypted = true
	case tlsHandshake:
		if !d.encrypted {
			d.kind = sslHand
		}
	}
	return true
}

// v2Length sets the body length of an SSLv2 record: the 15-bit length counts the
// bytes after the 2-byte header, three of which are already in d.hdr.
func (p *sslParser) v2Length(c *Ctx, d *sslDir) bool {
	n := int(d.hdr[0]&0x7f)<<8 | int(d.hdr[1])
	if n < 3 {
		return p.fail(c)
	}
	d.left = n - 3
	return true
}

// v2Hello collects and parses an SSLv2 ClientHello: three 2-byte lengths (cipher
// specs, session id, challenge), then the data they announce, which must fit the
// record. Its version was checked with the header, so a hello that parses
// confirms.
func (p *sslParser) v2Hello(c *Ctx, d *sslDir, body []byte) bool {
	buf := body
	if len(d.v2) > 0 || d.left > 0 {
		if d.v2 == nil {
			d.v2 = make([]byte, 0, len(body)+d.left) // at most tlsMaxHello
		}
		d.v2 = append(d.v2, body...)
		if d.left > 0 {
			return true
		}
		buf = d.v2
	}
	d.v2 = nil
	if len(buf) < 6 {
		return p.fail(c)
	}
	n := int(binary.BigEndian.Uint16(buf)) + int(binary.BigEndian.Uint16(buf[2:])) + int(binary.BigEndian.Uint16(buf[4:]))
	if 6+n > len(buf) {
		return p.fail(c)
	}
	c.Confirm()
	return true
}

// handshake reads a fragment of handshake messages (the body, or part of the body,
// of a handshake record) and parses each complete hello.
func (p *sslParser) handshake(c *Ctx, d *sslDir, frag []byte) bool {
	s := &d.hs
	for len(frag) > 0 {
		if !s.inMsg {
			n := copy(s.hdr[s.nhdr:], frag)
			s.nhdr += n
			frag = frag[n:]
			if s.nhdr < len(s.hdr) {
				return true
			}
			s.nhdr = 0
			s.typ = s.hdr[0]
			if !tlsKnownHandshake(s.typ) {
				return p.fail(c)
			}
			s.left = int(s.hdr[1])<<16 | int(s.hdr[2])<<8 | int(s.hdr[3])
			s.keep = s.typ == tlsTypeClientHello || s.typ == tlsTypeServerHello
			if s.keep && s.left > tlsMaxHello {
				// Too big to be a real hello: not judged (see tlsMaxHello).
				c.Stop()
				return false
			}
			s.inMsg = true
			if s.left == 0 {
				s.inMsg = false
				if s.keep && !p.message(c, s.typ, nil) {
					return false
				}
			}
			continue
		}
		n := min(s.left, len(frag))
		part := frag[:n]
		frag = frag[n:]
		s.left -= n
		if !s.keep {
			if s.left == 0 {
				s.inMsg = false
			}
			continue
		}
		if s.left > 0 || len(s.buf) > 0 {
			if s.buf == nil {
				s.buf = make([]byte, 0, len(part)+s.left) // the whole body: at most tlsMaxHello
			}
			s.buf = append(s.buf, part...)
			if s.left > 0 {
				continue
			}
			part = s.buf
		}
		s.inMsg = false
		ok := p.message(c, s.typ, part)
		s.buf = nil
		if !ok {
			return false
		}
	}
	return true
}

// message parses a complete hello (tlsCheckHello); a bad one is a violation.
func (p *sslParser) message(c *Ctx, typ byte, body []byte) bool {
	if !tlsCheckHello(c, typ, body) {
		return p.fail(c)
	}
	return true
}

// fail raises a violation and stops the parser: after a framing error nothing
// later can be read in step. It returns false for the callers' convenience.
func (p *sslParser) fail(c *Ctx) bool {
	c.Violation()
	c.Stop()
	return false
}

// Gap ends the parser: the analyzer stops at the first gap (StopAtGap).
func (p *sslParser) Gap(c *Ctx, isOrig bool, n uint64) { c.Stop() }

// End needs nothing: a record cut by a FIN is not a violation.
func (p *sslParser) End(c *Ctx, isOrig bool) {}

// Reset makes p as new, keeping its buffers (resetter).
func (p *sslParser) Reset() {
	var keep [2][2][]byte
	for d := range p.dirs {
		keep[d] = [2][]byte{p.dirs[d].v2[:0], p.dirs[d].hs.buf[:0]}
	}
	*p = sslParser{}
	for d := range p.dirs {
		p.dirs[d].v2, p.dirs[d].hs.buf = keep[d][0], keep[d][1]
	}
}
