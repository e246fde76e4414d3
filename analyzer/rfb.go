package analyzer

import "encoding/binary"

// RFB, the VNC remote framebuffer protocol (RFC 6143; service-detection.md §8 row
// rfb, §7 rules rfb-c and rfb-s). It has no port: only the signatures attach it,
// and rfb-s needs rfb-c, so both sides must be seen.
//
// Each side opens with its ProtocolVersion, `RFB xxx.yyy\n` (12 bytes); the
// client's confirms. The security handshake follows, as the client's version
// says. Version 3.3: the server names the security type in a 32-bit word (0: the
// connection failed, 1: none, 2: VNC authentication). Versions 3.7 and later: the
// server lists the types it offers (a count byte, then the types; a count of 0
// means failure) and the client picks one. VNC authentication is a 16-byte
// challenge, a 16-byte response and a 32-bit SecurityResult (also sent after type
// none from 3.8 on). A 3.3 security type other than those three, a client choice
// the server did not offer, and a SecurityResult other than 0 (OK), 1 (failed) or
// 2 (too many attempts, in older servers) are violations; so is a version line
// that does not parse. After the SecurityResult nothing more can change the
// service.

// init registers the rfb analyzer, which has no port, with rfb-c and rfb-s (§7).
func init() {
	register(&Analyzer{
		Name:        "rfb",
		Transport:   TCP,
		SkipPartial: true,
		New:         func() Parser { return new(rfbParser) },
	},
		&Rule{Name: "rfb-c", Transport: TCP, Dir: Orig, Pattern: `^RFB`,
			Match: func(b []byte) Result { return lit(b, "RFB") }},
		&Rule{Name: "rfb-s", Transport: TCP, Dir: Resp, Pattern: `^RFB`, Needs: "rfb-c", Enables: "rfb",
			Match: func(b []byte) Result { return lit(b, "RFB") }},
	)
}

// rfbMaxHeld bounds what the parser keeps of a direction: the messages it reads
// are at most 256 bytes.
const rfbMaxHeld = 1 << 10

// Handshake states, after the version lines.
const (
	rfbVersions  uint8 = iota // waiting for both version lines
	rfbSecType33              // 3.3: the server's security type word
	rfbSecTypes               // 3.7+: the server's list of security types
	rfbChoice                 // 3.7+: the client's choice
	rfbChallenge              // VNC authentication: the server's challenge
	rfbResponse               // VNC authentication: the client's response
	rfbResult                 // the server's SecurityResult
)

// rfbParser is the RFB analyzer on one connection.
type rfbParser struct {
	buf     [2][]byte
	version [2]int // each side's version line, as 33, 37 or 38; 0 until read
	state   uint8
	offered [256]bool // the security types the server listed
}

// Data collects each direction and advances the handshake as far as the bytes
// of both allow.
func (p *rfbParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirIndex(isOrig)
	if len(p.buf[d])+len(data) > rfbMaxHeld {
		p.stop(c)
		return
	}
	p.buf[d] = append(p.buf[d], data...)
	p.advance(c)
}

// take returns the first n bytes of direction d and consumes them; ok is false
// while fewer have arrived.
func (p *rfbParser) take(d, n int) ([]byte, bool) {
	if len(p.buf[d]) < n {
		return nil, false
	}
	b := p.buf[d][:n]
	p.buf[d] = p.buf[d][n:]
	return b, true
}

// peek returns direction d's first byte, if any.
func (p *rfbParser) peek(d int) (byte, bool) {
	if len(p.buf[d]) == 0 {
		return 0, false
	}
	return p.buf[d][0], true
}

// advance runs the handshake.
func (p *rfbParser) advance(c *Ctx) {
	for {
		switch p.state {
		case rfbVersions:
			for d := 1; d >= 0; d-- {
				if p.version[d] != 0 {
					continue
				}
				b, ok := p.take(d, 12)
				if !ok {
					continue
				}
				if p.version[d] = rfbVersion(b); p.version[d] == 0 {
					p.fail(c)
					return
				}
				if d == 0 {
					c.Confirm()
				}
			}
			if p.version[0] == 0 || p.version[1] == 0 {
				return
			}
			// The client's version, never above the server's, decides.
			p.state = rfbSecTypes
			if p.version[0] == 33 {
				p.state = rfbSecType33
			}
		case rfbSecType33:
			b, ok := p.take(1, 4)
			if !ok {
				return
			}
			switch binary.BigEndian.Uint32(b) {
			case 0, 1: // failed (a reason follows), or no authentication
				p.stop(c)
				return
			case 2:
				p.state = rfbChallenge
			default:
				p.fail(c)
				return
			}
		case rfbSecTypes:
			n, ok := p.peek(1)
			if !ok {
				return
			}
			if n == 0 {
				p.stop(c) // failed: a reason follows
				return
			}
			b, ok := p.take(1, 1+int(n))
			if !ok {
				return
			}
			for _, t := range b[1:] {
				p.offered[t] = true
			}
			p.state = rfbChoice
		case rfbChoice:
			b, ok := p.take(0, 1)
			if !ok {
				return
			}
			switch t := b[0]; {
			case !p.offered[t]:
				p.fail(c)
				return
			case t == 2:
				p.state = rfbChallenge
			case t == 1 && p.version[0] == 38:
				p.state = rfbResult
			default:
				// No authentication before 3.8, or a type this parser does
				// not follow.
				p.stop(c)
				return
			}
		case rfbChallenge:
			if _, ok := p.take(1, 16); !ok {
				return
			}
			p.state = rfbResponse
		case rfbResponse:
			if _, ok := p.take(0, 16); !ok {
				return
			}
			p.state = rfbResult
		case rfbResult:
			b, ok := p.take(1, 4)
			if !ok {
				return
			}
			if binary.BigEndian.Uint32(b) > 2 {
				p.fail(c)
				return
			}
			p.stop(c)
			return
		default:
			return
		}
	}
}

// rfbVersion parses a ProtocolVersion line and returns the handshake it implies
// (RFC 6143 §7.1.1: versions other than 3.7 and 3.8 are handled as 3.3; later
// versions, such as Apple's 3.889 and 4.x, follow 3.8), or 0 if it does not parse.
func rfbVersion(b []byte) int {
	if string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return 0
	}
	major, minor := 0, 0
	for i := 4; i < 11; i++ {
		if i == 7 {
			continue
		}
		if b[i] < '0' || b[i] > '9' {
			return 0
		}
		if i < 7 {
			major = major*10 + int(b[i]-'0')
		} else {
			minor = minor*10 + int(b[i]-'0')
		}
	}
	switch {
	case major > 3 || major == 3 && minor >= 8:
		return 38
	case major == 3 && minor == 7:
		return 37
	}
	return 33
}

// fail raises a violation and stops.
func (p *rfbParser) fail(c *Ctx) {
	c.Violation()
	p.stop(c)
}

// stop ends the parser and lets its buffers go.
func (p *rfbParser) stop(c *Ctx) {
	p.buf = [2][]byte{}
	c.Stop()
}

// Gap ends the parser: the handshake cannot be followed across missing bytes.
func (p *rfbParser) Gap(c *Ctx, isOrig bool, n uint64) { p.stop(c) }

// End needs nothing.
func (p *rfbParser) End(c *Ctx, isOrig bool) {}

// held returns the bytes the parser keeps, for tests.
func (p *rfbParser) held() int { return cap(p.buf[0]) + cap(p.buf[1]) }
