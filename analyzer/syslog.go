package analyzer

import "bytes"

// Syslog (service-detection.md §8), two analyzers and no signature:
//   - syslog on 514/udp: every datagram is a message, an optional `<digits>`
//     priority then anything, so any datagram confirms; only one that starts with
//     `<` not followed by digits and `>` is a violation.
//   - syslog_tcp on 514/tcp (RFC 6587 framing, a Spicy analyzer in Zeek): a
//     stream of frames, each either `length SP message` (octet counting) or
//     `<prio>message` ended by CR, LF or NUL (non-transparent framing). The first
//     complete frame confirms; a frame that starts otherwise, a malformed length or
//     priority, or a FIN inside a frame (§3.3) is a violation. Line ends between
//     frames are skipped. Only the originator's data is parsed: syslog flows one
//     way, and the server sends nothing to parse. A gap ends the parsing.

// init registers both syslog analyzers on port 514 (§8); neither has a signature.
func init() {
	register(&Analyzer{
		Name:      "syslog",
		Transport: UDP,
		Ports:     []uint16{514},
		New:       func() Parser { return syslogParser{} },
	})
	register(&Analyzer{
		Name:      "syslog_tcp",
		Transport: TCP,
		Ports:     []uint16{514},
		New:       func() Parser { return new(syslogTCPParser) },
	})
}

// syslogParser parses syslog datagrams; it keeps no state.
type syslogParser struct{}

// Data confirms on a datagram unless its priority is malformed.
func (syslogParser) Data(c *Ctx, isOrig bool, data []byte) {
	if len(data) > 0 && data[0] == '<' {
		n := skip(data[1:], &digitClass)
		if n == 0 || 1+n >= len(data) || data[1+n] != '>' {
			c.Violation()
			return
		}
	}
	c.Confirm()
}

// Gap cannot happen on UDP.
func (syslogParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End cannot happen on UDP.
func (syslogParser) End(c *Ctx, isOrig bool) {}

// States of a syslog_tcp direction.
const (
	syslogStart  = iota // between frames
	syslogLength        // in the decimal length of an octet-counted frame
	syslogOctets        // in an octet-counted message
	syslogPrio          // in the digits after `<`
	syslogText          // in a non-transparent message, up to its line end
	syslogDead          // after a violation: nothing more is parsed
)

// syslogMaxLength bounds the digits of an octet count (RFC 6587 allows any, but
// no message is gigabytes long; more is taken as not syslog).
const syslogMaxLength = 9

// syslogDir is the framing state of the originator's stream.
type syslogDir struct {
	state  uint8
	digits int // digits read of the length or priority
	left   int // octets of the message still to come
}

// syslogTCPParser reads the syslog frames the originator sends.
type syslogTCPParser struct{ d syslogDir }

// syslogEnds are the bytes that end a non-transparent frame.
var syslogEnds = bytesOf('\r', '\n', 0)

// Data reads the originator's frames; a frame may span chunks.
func (p *syslogTCPParser) Data(c *Ctx, isOrig bool, data []byte) {
	if !isOrig {
		return
	}
	d := &p.d
	for len(data) > 0 {
		switch d.state {
		case syslogDead:
			return
		case syslogStart:
			data = data[skip(data, &syslogEnds):]
			if len(data) == 0 {
				return
			}
			switch b := data[0]; {
			case b == '<':
				d.state, d.digits = syslogPrio, 0
			case digitClass.has(b):
				d.state, d.digits, d.left = syslogLength, 1, int(b-'0')
			default:
				c.Violation()
				d.state = syslogDead
				return
			}
			data = data[1:]
		case syslogLength:
			b := data[0]
			data = data[1:]
			switch {
			case digitClass.has(b) && d.digits < syslogMaxLength:
				d.digits++
				d.left = d.left*10 + int(b-'0')
			case b == ' ':
				d.state = syslogOctets
				if d.left == 0 {
					p.frame(c, d)
				}
			default:
				c.Violation()
				d.state = syslogDead
				return
			}
		case syslogOctets:
			n := min(d.left, len(data))
			d.left -= n
			data = data[n:]
			if d.left == 0 {
				p.frame(c, d)
			}
		case syslogPrio:
			b := data[0]
			data = data[1:]
			switch {
			case digitClass.has(b):
				d.digits++
			case b == '>' && d.digits > 0:
				d.state = syslogText
			default:
				c.Violation()
				d.state = syslogDead
				return
			}
		case syslogText:
			i := bytes.IndexAny(data, "\r\n\x00")
			if i < 0 {
				return
			}
			data = data[i+1:]
			p.frame(c, d)
		}
	}
}

// frame ends a complete frame: it confirms.
func (p *syslogTCPParser) frame(c *Ctx, d *syslogDir) {
	d.state = syslogStart
	c.Confirm()
}

// Gap in the originator's stream ends the parsing.
func (p *syslogTCPParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if isOrig {
		c.Stop()
	}
}

// End violates when the direction ends inside a frame (a Spicy unit left
// unfinished, §3.3).
func (p *syslogTCPParser) End(c *Ctx, isOrig bool) {
	if !isOrig {
		return
	}
	if p.d.state != syslogStart && p.d.state != syslogDead {
		c.Violation()
	}
	c.Stop()
}
