package analyzer

// XMPP (service-detection.md §8 row xmpp, §7 xmpp, §5.1 STARTTLS).
//
// Zeek's XMPP analyzer reads each direction as a sequence of XML tokens
// `<name rest>content`: optional spaces and line ends, '<', a name (an optional
// '/', then letters, digits, '?' and ':'), anything but '<' and '>', '>', then
// text up to the next '<'. Anything else ('<' inside a tag, '>' in the text, a
// stream that starts with something other than '<', a '<' not followed by a name)
// is a parse error, a violation. The analyzer confirms when the client sends an
// element named exactly stream:stream. A client <starttls> answered by a server
// <proceed> (either with a namespace prefix) hands the rest of both directions to
// an SSL child. Once the stream is past the point where STARTTLS could happen
// (success, message, db:result, db:verify or presence) the analyzer stops.

// init registers xmpp on its ports with the xmpp signature (§7).
func init() {
	register(&Analyzer{
		Name:        "xmpp",
		Transport:   TCP,
		Ports:       []uint16{5222, 5269},
		SkipPartial: true,
		StopAtGap:   true,
		New:         func() Parser { return new(xmppParser) },
	},
		&Rule{Name: "xmpp", Transport: TCP, Pattern: `^(<\?xml[^?>]*\?>)?[\n\r ]*<stream:stream [^>]*xmlns='jabber:`,
			Match: matchXMPP, Enables: "xmpp"},
	)
}

// xmppDeclByte is `[^?>]`.
var xmppDeclByte = func() class {
	c := anyByte
	c[0] &^= 1<<'?' | 1<<'>'
	return c
}()

// matchXMPP is the xmpp signature: an optional XML declaration, then a
// stream:stream element with a jabber namespace before its '>'.
func matchXMPP(b []byte) Result {
	switch lit(b, "<?xml") {
	case Match:
		// A declaration: the rest of the pattern cannot match without it.
		i := 5 + skip(b[5:], &xmppDeclByte)
		switch {
		case i == len(b):
			return More
		case b[i] == '>':
			return Fail
		case i+1 == len(b):
			return More
		case b[i+1] != '>':
			return Fail
		}
		b = b[i+2:]
	case More:
		// "<" or a prefix of "<?xml": both branches may still match.
		return More
	}
	b = b[skip(b, &crlfOrSpace):]
	if r := lit(b, "<stream:stream "); r != Match {
		return r
	}
	b = b[len("<stream:stream "):]
	const ns = "xmlns='jabber:"
	for i := range b {
		if b[i] == '>' {
			return Fail
		}
		if r := lit(b[i:], ns); r != Fail {
			return r
		}
	}
	return More
}

// Token-reading states of one direction.
const (
	xmppStart   uint8 = iota // before the first token: spaces, then '<'
	xmppName                 // after '<': the name
	xmppRest                 // after the name: attributes up to '>'
	xmppContent              // after '>': text up to the next '<'
)

// xmppMaxName is how much of a name is kept: longer names are none of those the
// analyzer looks for.
const xmppMaxName = 32

// xmppSide is one direction's token reader.
type xmppSide struct {
	state uint8
	name  [xmppMaxName]byte
	n     int // length of the name so far (may exceed xmppMaxName)
}

// xmppParser is the XMPP analyzer on one connection.
type xmppParser struct {
	side       [2]xmppSide
	starttls   bool // the client asked for STARTTLS
	tlsHandoff      // after <proceed>: every byte goes to tls
}

// Data implements Parser.
func (p *xmppParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.done {
		return
	}
	if p.raw {
		p.feedTLS(c, isOrig, data)
		return
	}
	s := &p.side[dirOf(isOrig)]
	for i := 0; i < len(data); i++ {
		b := data[i]
		switch s.state {
		case xmppStart:
			switch b {
			case ' ', '\r', '\n':
			case '<':
				s.state, s.n = xmppName, 0
			default:
				p.fail(c)
				return
			}
		case xmppName:
			if xmppNameByte(b) || b == '/' && s.n == 0 {
				if s.n < xmppMaxName {
					s.name[s.n] = b
				}
				s.n++
				continue
			}
			if s.n == 0 || s.n == 1 && s.name[0] == '/' {
				p.fail(c)
				return
			}
			s.state = xmppRest
			i-- // the byte belongs to the rest
		case xmppRest:
			switch b {
			case '<':
				p.fail(c)
				return
			case '>':
				s.state = xmppContent
				p.token(c, isOrig, s)
				if p.done {
					return
				}
				if p.raw {
					p.feedTLS(c, isOrig, data[i+1:])
					return
				}
			}
		case xmppContent:
			switch b {
			case '<':
				s.state, s.n = xmppName, 0
			case '>':
				p.fail(c)
				return
			}
		}
	}
}

// xmppNameByte reports whether b may be in a name (after its optional '/').
func xmppNameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '?' || b == ':'
}

// token handles a complete token of direction s.
func (p *xmppParser) token(c *Ctx, isOrig bool, s *xmppSide) {
	if s.n > xmppMaxName {
		return
	}
	name := s.name[:s.n]
	local := name
	for i, b := range name {
		if b == ':' {
			local = name[i+1:]
			break
		}
	}
	if isOrig && string(name) == "stream:stream" {
		c.Confirm()
	}
	switch string(name) {
	case "success", "message", "db:result", "db:verify", "presence":
		// Past the point where STARTTLS could happen.
		p.done = true
		c.Stop()
		return
	}
	if isOrig && string(local) == "starttls" {
		p.starttls = true
	}
	if !isOrig && p.starttls && string(local) == "proceed" {
		// TLS begins after this tag, in both directions.
		p.switchTLS(c)
	}
}

// fail raises a violation and stops: the token stream is lost.
func (p *xmppParser) fail(c *Ctx) {
	c.Violation()
	p.done = true
	c.Stop()
}

// Gap implements Parser; xmpp stops at gaps (StopAtGap).
func (p *xmppParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End implements Parser.
func (p *xmppParser) End(c *Ctx, isOrig bool) { p.tlsEnd(isOrig) }
