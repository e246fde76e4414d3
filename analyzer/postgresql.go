package analyzer

import "encoding/binary"

// PostgreSQL (service-detection.md §8 row postgresql, §7 rules pg-*, §5.1 for TLS).
//
// The frontend (client) opens with a startup-phase message: an int32 length that
// counts itself, an int32 code, then a body. The code is the protocol version of a
// StartupMessage (3.x: a body of NUL-terminated name/value strings ended by an
// empty name), or the pseudo-version of an SSLRequest, GSSENCRequest or
// CancelRequest. The backend answers an SSLRequest with one byte, `S` (TLS
// follows) or `N`. After the startup phase every message of either side is a type
// byte and an int32 length that counts itself but not the type byte.
//
// A complete StartupMessage, or the `S`/`N` answer to an SSLRequest, confirms;
// after `S` the rest of both directions goes to an SSL child (`postgresql,ssl`).
// A message that does not parse is a violation: a startup-phase message with a bad
// length or code or an unterminated parameter list, a message length below 4, a
// bad answer to an SSLRequest. As a Spicy analyzer it does not look at the partial
// flag, and a direction that ends (FIN) inside a message is a violation too
// (§3.3).

// init registers the postgresql analyzer on its port with the pg-* rules (§7).
func init() {
	register(&Analyzer{
		Name:      "postgresql",
		Transport: TCP,
		Ports:     []uint16{5432},
		New:       func() Parser { return new(pgParser) },
	},
		&Rule{Name: "pg-sslreq", Transport: TCP, Pattern: `^\x00\x00\x00\x08\x04\xd2\x16\x2f`,
			Match: func(b []byte) Result { return lit(b, "\x00\x00\x00\x08\x04\xd2\x16\x2f") }},
		&Rule{Name: "pg-ssl-ans", Pattern: `^[SN]`, Needs: "pg-sslreq", Enables: "postgresql",
			Match: func(b []byte) Result { return seq(b, pgSSLAnswer) }},
		&Rule{Name: "pg-startup", Transport: TCP, Pattern: `^....\x00\x03\x00.{0,256}user\x00`,
			Match: matchPGStartup},
		&Rule{Name: "pg-any-ans", Pattern: `^[a-zA-Z0-9]\x00\x00..`, Needs: "pg-startup", Enables: "postgresql",
			Match: func(b []byte) Result {
				return seq(b, pgAnswerSig...)
			}},
	)
}

// Byte classes of the pg-* rules.
var (
	pgSSLAnswer = bytesOf('S', 'N')
	pgAnsType   = union(span('a', 'z'), span('A', 'Z'), digitClass)
)

// matchPGStartup is pg-startup: a length, protocol version 3.x, and the parameter
// name "user" starting within the first 257 bytes of the body.
func matchPGStartup(b []byte) Result {
	if r := seq(b, pgStartupSig...); r != Match {
		return r
	}
	for i := 7; i <= 7+256; i++ {
		if i >= len(b) {
			return More
		}
		switch lit(b[i:], "user\x00") {
		case Match:
			return Match
		case More:
			return More
		}
	}
	return Fail
}

// Startup-phase codes (the int32 after the length).
const (
	pgCodeSSL    = 80877103
	pgCodeGSS    = 80877104
	pgCodeCancel = 80877102
)

// pgMaxStartup is the longest startup-phase message a server accepts
// (PostgreSQL's MAX_STARTUP_PACKET_LENGTH); a longer one is not PostgreSQL.
const pgMaxStartup = 10000

// pgMaxPending bounds the frontend bytes kept while it waits for the answer to an
// SSLRequest or GSSENCRequest (a client sends nothing then).
const pgMaxPending = 4 << 10

// Frontend states.
const (
	pgStartup     uint8 = iota // expecting a startup-phase message header
	pgStartupBody              // in a StartupMessage's parameters
	pgAwaitSSL                 // an SSLRequest waits for its answer
	pgAwaitGSS                 // a GSSENCRequest waits for its answer
	pgMessages                 // regular messages
	pgTLS                      // after `S`: bytes go to the SSL child
)

// pgSide is one direction's message framing.
type pgSide struct {
	hdr  [8]byte
	nhdr int
	left uint32 // bytes of the current message body still to come
	dead bool   // stopped by a gap
}

// pgParser is the PostgreSQL analyzer on one connection.
type pgParser struct {
	side    [2]pgSide // frontend, backend
	front   uint8     // the frontend's state
	strLen  int       // startup parameters: length of the string being read
	nStr    int       // startup parameters: strings read
	params  bool      // startup parameters: the terminating empty name was read
	pending []byte    // frontend bytes while a request waits for its answer
	ssl     *Child
}

// Data reads the next bytes of one direction.
func (p *pgParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.front == pgTLS {
		p.ssl.Data(isOrig, data)
		if p.ssl.Stopped() {
			c.Stop()
		}
		return
	}
	if isOrig {
		p.frontend(c, data)
	} else {
		p.backend(c, data)
	}
}

// frontend reads client bytes.
func (p *pgParser) frontend(c *Ctx, data []byte) {
	s := &p.side[0]
	for len(data) > 0 && !s.dead {
		switch p.front {
		case pgStartup:
			n := copy(s.hdr[s.nhdr:8], data)
			s.nhdr += n
			data = data[n:]
			if s.nhdr < 8 {
				return
			}
			s.nhdr = 0
			if !p.startup(c) {
				return
			}
		case pgStartupBody:
			n := min(uint64(len(data)), uint64(s.left))
			for _, b := range data[:n] {
				switch {
				case p.params:
				case b != 0:
					p.strLen++
				case p.strLen == 0 && p.nStr%2 == 0:
					p.params = true
				default:
					p.nStr++
					p.strLen = 0
				}
			}
			data = data[n:]
			s.left -= uint32(n)
			if s.left > 0 {
				return
			}
			if !p.params {
				p.fail(c)
				return
			}
			c.Confirm()
			p.front = pgMessages
		case pgAwaitSSL, pgAwaitGSS:
			if len(p.pending)+len(data) > pgMaxPending {
				p.fail(c)
				return
			}
			p.pending = append(p.pending, data...)
			return
		case pgMessages:
			p.messages(c, s, data)
			return
		default:
			return
		}
	}
}

// startup reads a startup-phase header from the frontend's hdr and sets up what
// follows it; false after a violation or a stop.
func (p *pgParser) startup(c *Ctx) bool {
	s := &p.side[0]
	n := binary.BigEndian.Uint32(s.hdr[:4])
	code := binary.BigEndian.Uint32(s.hdr[4:8])
	if n < 8 || n > pgMaxStartup {
		return p.fail(c)
	}
	switch {
	case code == pgCodeSSL && n == 8:
		p.front = pgAwaitSSL
	case code == pgCodeGSS && n == 8:
		p.front = pgAwaitGSS
	case code == pgCodeCancel && n == 16:
		// A cancel connection carries nothing else.
		c.Stop()
		return false
	case code>>16 == 3:
		p.front = pgStartupBody
		s.left = n - 8
		p.strLen, p.nStr, p.params = 0, 0, false
		if s.left == 0 {
			return p.fail(c)
		}
	default:
		return p.fail(c)
	}
	return true
}

// backend reads server bytes: the one-byte answer to a pending SSLRequest or
// GSSENCRequest, and messages.
func (p *pgParser) backend(c *Ctx, data []byte) {
	s := &p.side[1]
	if s.dead {
		return
	}
	if (p.front == pgAwaitSSL || p.front == pgAwaitGSS) && s.nhdr == 0 && s.left == 0 {
		ans := data[0]
		data = data[1:]
		pending := p.pending
		p.pending = nil
		switch {
		case ans == 'S' && p.front == pgAwaitSSL:
			c.Confirm()
			p.front = pgTLS
			p.ssl = c.Child("ssl")
			p.ssl.Data(true, pending)
			p.ssl.Data(false, data)
			if p.ssl.Stopped() {
				c.Stop()
			}
			return
		case ans == 'N':
			if p.front == pgAwaitSSL {
				c.Confirm()
			}
			p.front = pgStartup
			p.frontend(c, pending)
		case ans == 'G' && p.front == pgAwaitGSS:
			// GSSAPI encryption: nothing more can be read.
			c.Stop()
			return
		default:
			p.fail(c)
			return
		}
	}
	p.messages(c, s, data)
}

// messages reads regular messages: a type byte, an int32 length of at least 4,
// and a body, which is skipped.
func (p *pgParser) messages(c *Ctx, s *pgSide, data []byte) {
	for len(data) > 0 {
		if s.left > 0 {
			n := min(uint64(len(data)), uint64(s.left))
			s.left -= uint32(n)
			data = data[n:]
			continue
		}
		n := copy(s.hdr[s.nhdr:5], data)
		s.nhdr += n
		data = data[n:]
		if s.nhdr < 5 {
			return
		}
		s.nhdr = 0
		l := binary.BigEndian.Uint32(s.hdr[1:5])
		if l < 4 {
			p.fail(c)
			return
		}
		s.left = l - 4
	}
}

// fail raises a violation and stops: nothing later can be framed. It returns false
// for the callers' convenience.
func (p *pgParser) fail(c *Ctx) bool {
	c.Violation()
	p.pending = nil
	c.Stop()
	return false
}

// Gap ends the reading of that direction: the framing is lost (the SSL child gets
// the gap and decides for itself).
func (p *pgParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.front == pgTLS {
		p.ssl.Gap(isOrig, n)
		if p.ssl.Stopped() {
			c.Stop()
		}
		return
	}
	p.side[dirIndex(isOrig)].dead = true
	if p.side[0].dead && p.side[1].dead {
		c.Stop()
	}
}

// End: a direction that ends inside a message is a violation (§3.3).
func (p *pgParser) End(c *Ctx, isOrig bool) {
	if p.front == pgTLS {
		p.ssl.End(isOrig)
		return
	}
	s := &p.side[dirIndex(isOrig)]
	if s.dead {
		return
	}
	mid := s.nhdr > 0 || s.left > 0
	if isOrig && (p.front == pgAwaitSSL || p.front == pgAwaitGSS) && len(p.pending) > 0 {
		mid = true
	}
	if mid {
		p.fail(c)
	}
}

// held returns the bytes the parser keeps, for tests.
func (p *pgParser) held() int { return cap(p.pending) }

// pgStartupSig is the start of the pg-startup signature, byte by byte: a length
// and protocol version 3.0; pgAnswerSig is pg-any-ans.
var (
	pgStartupSig = []class{anyByte, anyByte, anyByte, anyByte, bytesOf(0), bytesOf(3), bytesOf(0)}
	pgAnswerSig  = []class{pgAnsType, bytesOf(0), bytesOf(0), anyByte, anyByte}
)
