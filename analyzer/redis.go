package analyzer

import "bytes"

// Redis (service-detection.md §8 row redis, §7 rules redis-s and redis-c).
//
// Both directions speak RESP (RESP2 and RESP3): every value starts with a type
// byte and a line ended by CRLF; bulk values ($ ! =) then carry the announced
// number of bytes and a CRLF, aggregates (* ~ > % |) the announced number of values
// (twice that for maps and attributes; an attribute precedes the value it
// annotates). A client may also send an inline command: a plain line.
//
// A complete server reply confirms, but only once the client has sent something:
// the server never speaks first, so server data before any client data fails at
// once (a POP3 `+OK` banner is not Redis). Anything that does not parse is a
// violation. As a Spicy analyzer it does not look at the partial flag, so it
// works mid-stream from a message boundary; a gap ends the reading of its
// direction, and a direction that ends (FIN) inside a message is a violation
// (§3.3).

// init registers the redis analyzer on its port with redis-s and redis-c (§7).
func init() {
	register(&Analyzer{
		Name:      "redis",
		Transport: TCP,
		Ports:     []uint16{6379},
		New:       func() Parser { return new(redisParser) },
	},
		&Rule{Name: "redis-s", Transport: TCP, Dir: Resp, Enables: "redis",
			Pattern: "^([-+_,].*\\r\\n|[:$*#(!=%`~>][+-]?[0-9]+(\\.[0-9]*)?\\r\\n)",
			Match:   matchRedisServer},
		&Rule{Name: "redis-c", Transport: TCP, Dir: Orig, Needs: "redis-s", Enables: "redis",
			Pattern: `^.*\r\n`,
			Match:   matchCRLF},
	)
}

// Byte classes of the redis-s rule.
var (
	redisLineTypes = bytesOf('-', '+', '_', ',')
	redisNumTypes  = bytesOf(':', '$', '*', '#', '(', '!', '=', '%', '`', '~', '>')
)

// matchCRLF is `^.*\r\n`: a CRLF anywhere.
func matchCRLF(b []byte) Result {
	if bytes.Contains(b, crlf) {
		return Match
	}
	return More
}

// crlf ends every RESP line.
var crlf = []byte("\r\n")

// matchRedisServer is redis-s: a line type byte and then a CRLF anywhere, or a
// number type byte and a (decimal) number ending its line.
func matchRedisServer(b []byte) Result {
	if len(b) == 0 {
		return More
	}
	if redisLineTypes.has(b[0]) {
		return matchCRLF(b[1:])
	}
	if !redisNumTypes.has(b[0]) {
		return Fail
	}
	i := 1
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	start := i
	for i < len(b) && digitClass.has(b[i]) {
		i++
	}
	if i == len(b) {
		return More
	}
	if i == start {
		return Fail
	}
	if b[i] == '.' {
		i++
		for i < len(b) && digitClass.has(b[i]) {
			i++
		}
	}
	return lit(b[i:], "\r\n")
}

// Limits of the parser.
const (
	redisMaxDepth  = 64       // nesting of aggregates
	redisMaxInline = 64 << 10 // an inline command line (Redis' own limit)
	redisMaxNumber = 1 << 40  // a length or count; larger is not Redis
)

// Per-direction states.
const (
	redisType   uint8 = iota // expecting a value's type byte
	redisLine                // in a simple string or error line (till CR)
	redisNumber              // in a number line
	redisBool                // in a boolean line
	redisNull                // in the empty line of a null
	redisDouble              // in a double line
	redisLF                  // after the CR ending a line
	redisBulk                // in a bulk value's bytes
	redisBulkCR              // expecting the CR after a bulk value
	redisInline              // in an inline command
	redisDead                // stopped by a gap
)

// redisSide is one direction's RESP parser.
type redisSide struct {
	state  uint8
	typ    byte   // type of the value whose line is being read
	neg    bool   // the number has a minus sign
	digits int    // digits of the number so far; -1 after a sign only
	num    int64  // the number so far (lengths and counts)
	n      int    // bytes of the current line
	skip   uint64 // bulk bytes still to come
	depth  int
	left   [redisMaxDepth]int64 // values still to come in each open aggregate
	attr   [redisMaxDepth]bool  // the aggregate is an attribute
}

// redisParser is the Redis analyzer on one connection.
type redisParser struct {
	side       [2]redisSide
	clientSent bool
}

// Data parses the next bytes of one direction.
func (p *redisParser) Data(c *Ctx, isOrig bool, data []byte) {
	if isOrig {
		p.clientSent = true
	} else if !p.clientSent {
		// The server never speaks first.
		c.Violation()
		c.Stop()
		return
	}
	s := &p.side[dirIndex(isOrig)]
	for i := 0; i < len(data); i++ {
		b := data[i]
		switch s.state {
		case redisDead:
			return
		case redisType:
			if !p.start(c, s, isOrig, b) {
				return
			}
		case redisLine:
			// Simple strings and errors hold anything but CR and LF.
			switch b {
			case '\r':
				s.state = redisLF
			case '\n':
				p.fail(c)
				return
			}
		case redisNumber:
			if !p.digit(c, s, b) {
				return
			}
		case redisBool:
			if b == '\r' && s.n == 1 {
				s.state = redisLF
			} else if s.n > 0 || b != 't' && b != 'f' {
				p.fail(c)
				return
			}
			s.n++
		case redisNull:
			if b != '\r' {
				p.fail(c)
				return
			}
			s.state = redisLF
		case redisDouble:
			switch {
			case b == '\r' && s.n > 0:
				s.state = redisLF
			case b == '\r' || b == '\n':
				p.fail(c)
				return
			}
			s.n++
		case redisLF:
			if b != '\n' {
				p.fail(c)
				return
			}
			if !p.lineDone(c, s, isOrig) {
				return
			}
		case redisBulk:
			n := uint64(len(data) - i)
			if n > s.skip {
				n = s.skip
			}
			s.skip -= n
			i += int(n) - 1
			if s.skip == 0 {
				s.state = redisBulkCR
			}
		case redisBulkCR:
			if b != '\r' {
				p.fail(c)
				return
			}
			s.typ = 0 // the CRLF ends a value, not a line with a number
			s.state = redisLF
		case redisInline:
			if b == '\n' {
				s.state = redisType
				continue
			}
			s.n++
			if s.n > redisMaxInline {
				p.fail(c)
				return
			}
		}
	}
}

// start reads a value's type byte.
func (p *redisParser) start(c *Ctx, s *redisSide, isOrig bool, b byte) bool {
	s.typ, s.n, s.num, s.neg, s.digits = b, 0, 0, false, 0
	switch b {
	case '+', '-':
		s.state = redisLine
	case ':', '(', '$', '!', '=', '*', '~', '>', '%', '|':
		s.state = redisNumber
	case '#':
		s.state = redisBool
	case '_':
		s.state = redisNull
	case ',':
		s.state = redisDouble
	default:
		if isOrig && s.depth == 0 {
			// An inline command.
			s.state = redisInline
			if b == '\n' {
				s.state = redisType
			}
			s.n = 1
			return true
		}
		return p.fail(c)
	}
	if isOrig && s.depth == 0 && b != '*' {
		// A client sends commands: arrays, or inline lines.
		s.state = redisInline
		s.n = 1
	}
	return true
}

// digit reads one byte of a number line: an optional sign, then digits, then CR.
func (p *redisParser) digit(c *Ctx, s *redisSide, b byte) bool {
	switch {
	case b >= '0' && b <= '9':
		if s.digits < 0 {
			s.digits = 0
		}
		s.digits++
		if s.typ != ':' && s.typ != '(' {
			s.num = s.num*10 + int64(b-'0')
			if s.num > redisMaxNumber {
				return p.fail(c)
			}
		} else if s.typ == ':' && s.digits > 19 {
			return p.fail(c)
		}
	case (b == '-' || b == '+') && s.digits == 0 && s.n == 0:
		s.neg = b == '-'
		s.digits = -1
	case b == '\r' && s.digits > 0:
		s.state = redisLF
	default:
		return p.fail(c)
	}
	s.n++
	return true
}

// lineDone acts on a line (or a bulk value) that its LF just ended: a scalar
// completes a value, a length starts a bulk value, a count opens an aggregate.
func (p *redisParser) lineDone(c *Ctx, s *redisSide, isOrig bool) bool {
	s.state = redisType
	switch s.typ {
	case '$', '!', '=':
		if s.neg {
			if s.num != 1 || s.typ != '$' {
				return p.fail(c)
			}
			break // the null bulk string
		}
		s.skip = uint64(s.num)
		s.state = redisBulk
		if s.skip == 0 {
			s.state = redisBulkCR
		}
		return true
	case '*', '~', '>', '%', '|':
		if s.neg {
			if s.num != 1 || s.typ != '*' {
				return p.fail(c)
			}
			break // the null array
		}
		n := s.num
		if s.typ == '%' || s.typ == '|' {
			n *= 2
		}
		if n == 0 {
			if s.typ == '|' {
				return true // an empty attribute: the value follows
			}
			break
		}
		if s.depth == redisMaxDepth {
			return p.fail(c)
		}
		s.left[s.depth] = n
		s.attr[s.depth] = s.typ == '|'
		s.depth++
		return true
	}
	if p.valueDone(s) && !isOrig {
		// A complete server reply; the client has spoken, or Data would have failed.
		c.Confirm()
	}
	return true
}

// valueDone counts a complete value in the open aggregates, closing those it
// completes; it reports whether a top-level message is complete. A completed
// attribute is not a value of its own: the value it annotates follows.
func (p *redisParser) valueDone(s *redisSide) bool {
	for s.depth > 0 {
		s.left[s.depth-1]--
		if s.left[s.depth-1] > 0 {
			return false
		}
		s.depth--
		if s.attr[s.depth] {
			return false
		}
	}
	return true
}

// fail raises a violation and stops; false for the callers' convenience.
func (p *redisParser) fail(c *Ctx) bool {
	c.Violation()
	c.Stop()
	return false
}

// Gap ends the reading of that direction: values cannot be framed after it.
func (p *redisParser) Gap(c *Ctx, isOrig bool, n uint64) {
	p.side[dirIndex(isOrig)].state = redisDead
	if p.side[0].state == redisDead && p.side[1].state == redisDead {
		c.Stop()
	}
}

// End: a direction that ends inside a message is a violation (§3.3).
func (p *redisParser) End(c *Ctx, isOrig bool) {
	s := &p.side[dirIndex(isOrig)]
	if s.state != redisDead && (s.state != redisType || s.depth > 0) {
		p.fail(c)
	}
}

// held returns the bytes the parser keeps, for tests: none.
func (p *redisParser) held() int { return 0 }
