package analyzer

import "bytes"

// SIP over UDP (service-detection.md §8): registered on 5060/udp and enabled
// anywhere by the two sip signatures (§7). Each datagram is one message, read by
// direction as Zeek's SIP grammar does: the originator's as a request (`method SP
// uri SP SIP/x.y`), the responder's as a response (`SIP/x.y SP code reason`), each
// followed by header lines up to an empty line and a body. Only a response that
// parses confirms; a datagram that does not parse is a violation, whichever side
// sent it (a CRLF keep-alive from the originator included).

// init registers SIP on its UDP port with the request and response signatures.
func init() {
	register(&Analyzer{
		Name:      "sip",
		Transport: UDP,
		Ports:     []uint16{5060},
		New:       func() Parser { return sipParser{} },
	}, &Rule{
		Name:      "sip-req",
		Transport: UDP,
		Pattern:   `^.* SIP/[0-9]\.[0-9]\r\n`,
		Match:     matchSIPRequest,
		Enables:   "sip",
	}, &Rule{
		Name:      "sip-resp",
		Transport: UDP,
		Pattern:   `^ ?SIP/[0-9]\.[0-9](\r\n| [0-9]{3} )`,
		Match:     matchSIPResponse,
		Enables:   "sip",
	})
}

// sipVersion matches `SIP/[0-9]\.[0-9]`.
func sipVersion(data []byte) Result {
	return then(lit(data, "SIP/"), func() Result {
		return seq(data[4:], digitClass, bytesOf('.'), digitClass)
	})
}

// matchSIPRequest is `^.* SIP/[0-9]\.[0-9]\r\n`: a request line's version, found
// anywhere.
func matchSIPRequest(data []byte) Result {
	for {
		i := bytes.Index(data, []byte(" SIP/"))
		if i < 0 {
			return More
		}
		b := data[i:]
		if then(sipVersion(b[1:]), func() Result { return lit(b[8:], "\r\n") }) == Match {
			return Match
		}
		data = data[i+1:]
	}
}

// matchSIPResponse is `^ ?SIP/[0-9]\.[0-9](\r\n| [0-9]{3} )`: a status line.
func matchSIPResponse(data []byte) Result {
	try := func(b []byte) Result {
		return then(sipVersion(b), func() Result {
			b := b[7:]
			if len(b) > 0 && b[0] == '\r' {
				return lit(b, "\r\n")
			}
			return seq(b, bytesOf(' '), digitClass, digitClass, digitClass, bytesOf(' '))
		})
	}
	if len(data) > 0 && data[0] == ' ' {
		// `^ ?`: "SIP" cannot start with a space, so at most one branch is live.
		return try(data[1:])
	}
	return try(data)
}

// sipParser parses SIP datagrams; it keeps no state.
type sipParser struct{}

// Data parses one datagram as a request (from the originator) or a response.
func (sipParser) Data(c *Ctx, isOrig bool, data []byte) {
	var ok bool
	if isOrig {
		ok = sipMessage(data, sipRequestLine)
	} else {
		ok = sipMessage(data, sipStatusLine)
	}
	switch {
	case !ok:
		c.Violation()
	case !isOrig:
		c.Confirm()
	}
}

// Gap cannot happen on UDP.
func (sipParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End cannot happen on UDP.
func (sipParser) End(c *Ctx, isOrig bool) {}

// sipTokenClass is the token characters of SIP (RFC 3261 §25.1) as Zeek's grammar
// takes them: anything but separators, white space and line ends.
var sipTokenClass = func() class {
	c := anyByte
	for _, b := range []byte("()<>@,;:\\\"/[]?={} \t\r\n") {
		c[b>>6] &^= 1 << (b & 63)
	}
	return c
}()

// sipWS is the white space between the words of a start line.
var sipWS = bytesOf(' ', '\t')

// sipLine splits the first line off data: the line without its CR LF (or LF), the
// rest, and false when no line end follows.
func sipLine(data []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line, rest = data[:i], data[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, true
}

// sipMessage parses a start line with start, then the header lines: each a token,
// optional white space and a colon, or a continuation starting with white space,
// up to an empty line (or the end of the datagram). The body is not read.
func sipMessage(data []byte, start func([]byte) bool) bool {
	line, rest, ok := sipLine(data)
	if !ok || !start(line) {
		return false
	}
	for len(rest) > 0 {
		next := rest
		if line, rest, ok = sipLine(next); !ok {
			line, rest = next, nil // the last line, without its line end
		}
		if len(line) == 0 {
			return true // the body follows
		}
		if sipWS.has(line[0]) {
			continue // a folded header value
		}
		n := skip(line, &sipTokenClass)
		if n == 0 {
			return false
		}
		line = line[n:]
		line = line[skip(line, &sipWS):]
		if len(line) == 0 || line[0] != ':' {
			return false
		}
	}
	return true
}

// sipVersionAt parses `SIP/digits.digits` at the start of b and returns the rest.
func sipVersionAt(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte("SIP/")) {
		return nil, false
	}
	b = b[4:]
	n := skip(b, &digitClass)
	if n == 0 || n >= len(b) || b[n] != '.' {
		return nil, false
	}
	b = b[n+1:]
	n = skip(b, &digitClass)
	if n == 0 {
		return nil, false
	}
	return b[n:], true
}

// sipRequestLine parses `method SP uri SP SIP/x.y` (the rest of the line is not
// checked).
func sipRequestLine(line []byte) bool {
	n := skip(line, &sipTokenClass)
	if n == 0 {
		return false
	}
	line = line[n:]
	n = skip(line, &sipWS)
	if n == 0 {
		return false
	}
	line = line[n:]
	n = indexSpaceTab(line)
	if n <= 0 {
		return false
	}
	line = line[n:]
	line = line[skip(line, &sipWS):]
	_, ok := sipVersionAt(line)
	return ok
}

// sipStatusLine parses `SIP/x.y SP code` and a reason phrase (not checked); white
// space before the version is allowed, as the sip-resp signature allows it.
func sipStatusLine(line []byte) bool {
	line = line[skip(line, &sipWS):]
	line, ok := sipVersionAt(line)
	if !ok {
		return false
	}
	n := skip(line, &sipWS)
	if n == 0 {
		return false
	}
	line = line[n:]
	return seq(line, digitClass, digitClass, digitClass) == Match
}
