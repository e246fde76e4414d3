package analyzer

import "unicode/utf8"

// Finger (RFC 1288; service-detection.md §8), registered on 79/tcp, no signature;
// a Spicy analyzer in Zeek. The client sends one request line: optional `/W`, then
// a user name, optionally `@host`; it confirms when the user is not empty or `/W`
// was given. The server sends lines; one longer than 10 bytes confirms. Every line
// must be valid UTF-8 and at most fingerMaxLine bytes: otherwise, or when a
// direction ends inside a line (a Spicy unit left unfinished, §3.3), it is a
// violation. Data after the request line is not parsed; a gap ends the parsing of
// that direction.

// init registers Finger on its port (§8); it has no signature (§7).
func init() {
	register(&Analyzer{
		Name:      "finger",
		Transport: TCP,
		Ports:     []uint16{79},
		New:       func() Parser { return new(fingerParser) },
	})
}

// fingerMaxLine bounds a line, its line end not counted.
const fingerMaxLine = 4096

// fingerMinReply is the length a server line must exceed to confirm.
const fingerMinReply = 10

// Stages of reading the request line.
const (
	fingerLead  = iota // white space before `/W` or the user
	fingerSlash        // after a `/`: `W` makes it /W, anything else a user name
	fingerAfter        // white space after /W
	fingerUser         // in the user name
	fingerRest         // after the user name: `@host` and the rest, not parsed
)

// fingerDir is the line state of one direction.
type fingerDir struct {
	n     int  // bytes of the current line, line end not counted
	cr    bool // its last byte is a CR (of a CR LF)
	utf   fingerUTF8
	stage uint8 // request stage (originator)
	whois bool
	user  int  // bytes of the user name
	done  bool // the direction is not parsed any more
}

// fingerParser reads the request and the reply lines.
type fingerParser struct{ d [2]fingerDir }

// Data reads lines of one direction; a line may span chunks.
func (p *fingerParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := &p.d[dirIndex(isOrig)]
	for _, b := range data {
		if d.done {
			return
		}
		if b == '\n' {
			p.line(c, d, isOrig)
			continue
		}
		d.n++
		if d.n > fingerMaxLine+1 || !d.utf.feed(b) {
			// One byte over the bound may be the CR of the line end.
			c.Violation()
			d.done = true
			return
		}
		d.cr = b == '\r'
		if isOrig {
			d.request(b)
		}
	}
}

// request follows the request line's grammar through byte b.
func (d *fingerDir) request(b byte) {
	switch d.stage {
	case fingerLead, fingerAfter:
		switch {
		case b == ' ' || b == '\t':
		case b == '/' && d.stage == fingerLead:
			d.stage = fingerSlash
		default:
			d.stage = fingerUser
			d.userByte(b)
		}
	case fingerSlash:
		if b == 'W' {
			d.whois = true
			d.stage = fingerAfter
			return
		}
		d.stage = fingerUser
		d.user = 1 // the slash
		d.userByte(b)
	case fingerUser:
		d.userByte(b)
	}
}

// userByte adds b to the user name, or ends it.
func (d *fingerDir) userByte(b byte) {
	switch b {
	case ' ', '\t', '@', '\r':
		d.stage = fingerRest
	default:
		d.user++
	}
}

// line ends a line at its LF.
func (p *fingerParser) line(c *Ctx, d *fingerDir, isOrig bool) {
	n := d.n
	if d.cr {
		n--
	}
	if !d.utf.complete() || n > fingerMaxLine {
		c.Violation()
		d.done = true
		return
	}
	if isOrig {
		if d.user > 0 || d.whois {
			c.Confirm()
		}
		d.done = true
		return
	}
	if n > fingerMinReply {
		c.Confirm()
	}
	d.n, d.cr = 0, false
}

// Gap ends the parsing of that direction.
func (p *fingerParser) Gap(c *Ctx, isOrig bool, n uint64) {
	p.d[dirIndex(isOrig)].done = true
	if p.d[0].done && p.d[1].done {
		c.Stop()
	}
}

// End violates when the direction ends inside a line.
func (p *fingerParser) End(c *Ctx, isOrig bool) {
	d := &p.d[dirIndex(isOrig)]
	if !d.done && d.n > 0 {
		c.Violation()
	}
	d.done = true
	if p.d[0].done && p.d[1].done {
		c.Stop()
	}
}

// fingerUTF8 checks UTF-8 one byte at a time, across chunks.
type fingerUTF8 struct {
	buf        [4]byte
	have, need uint8
}

// feed adds b and reports whether the bytes so far can still be valid UTF-8.
func (u *fingerUTF8) feed(b byte) bool {
	if u.need == 0 {
		switch {
		case b < 0x80:
			return true
		case b >= 0xc2 && b <= 0xdf:
			u.need = 2
		case b >= 0xe0 && b <= 0xef:
			u.need = 3
		case b >= 0xf0 && b <= 0xf4:
			u.need = 4
		default:
			return false
		}
		u.buf[0], u.have = b, 1
		return true
	}
	if b&0xc0 != 0x80 {
		return false
	}
	u.buf[u.have] = b
	u.have++
	if u.have < u.need {
		return true
	}
	// The sequence is whole: utf8.Valid rejects the overlong forms and surrogates.
	ok := utf8.Valid(u.buf[:u.need])
	u.have, u.need = 0, 0
	return ok
}

// complete reports whether no sequence is cut off.
func (u *fingerUTF8) complete() bool { return u.need == 0 }
