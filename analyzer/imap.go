package analyzer

// IMAP (service-detection.md §8 row imap, §5.1 STARTTLS). IMAP has no signature.
//
// Zeek's IMAP analyzer only follows the connection up to the point where STARTTLS
// could happen. Every line of either direction must be "tag SP command ...", tag
// and command being runs of printable non-space ASCII (alphanumerics and
// punctuation); anything else is a parse error, a violation (empty lines are
// absorbed by the line end before them, except at the start of a direction). The
// analyzer confirms on a server "* OK" (the greeting is enough), on a client
// "capability" (exactly, lower case) or "starttls" (any case), and on any
// "authenticate", "login", "examine", "create", "list" or "fetch" (exactly, either
// side), after which it stops for good: the handshake is past STARTTLS. A client
// STARTTLS answered OK with its tag hands the rest of both directions to an SSL
// child.

// init registers imap on its port; it has no signature.
func init() {
	register(&Analyzer{
		Name:        "imap",
		Transport:   TCP,
		Ports:       []uint16{143},
		SkipPartial: true,
		StopAtGap:   true,
		New:         func() Parser { return new(imapParser) },
	})
}

// imapLastCommands are the commands after which the analyzer stops: they come
// after the point where STARTTLS could happen.
var imapLastCommands = []string{"authenticate", "login", "examine", "create", "list", "fetch"}

// imapParser is the IMAP analyzer on one connection.
type imapParser struct {
	lines      [2]lineReader
	started    [2]bool // a line of that direction has parsed
	stls       []byte  // the tag of the client's STARTTLS, nil for none
	tlsHandoff         // after STARTTLS: every byte goes to tls
}

// Data implements Parser.
func (p *imapParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirOf(isOrig)
	for !p.done && len(data) > 0 {
		if p.raw {
			p.feedTLS(c, isOrig, p.lines[d].raw(data))
			return
		}
		line, _, ok := p.lines[d].next(&data)
		if !ok {
			return
		}
		p.line(c, isOrig, line)
	}
}

// imapToken returns the run of printable non-space ASCII at the start of b
// (IMAP's [[:alnum:][:punct:]]+).
func imapToken(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] > ' ' && b[i] < 0x7f {
		i++
	}
	return b[:i]
}

// line parses one line: tag, spaces, command, anything.
func (p *imapParser) line(c *Ctx, isOrig bool, line []byte) {
	d := dirOf(isOrig)
	if len(line) == 0 && p.started[d] {
		return
	}
	tag := imapToken(line)
	rest := line[len(tag):]
	n := skip(rest, &spaceOnly)
	cmd := imapToken(rest[n:])
	if len(tag) == 0 || n == 0 || len(cmd) == 0 {
		c.Violation()
		p.stop(c)
		return
	}
	p.started[d] = true
	if !isOrig && string(tag) == "*" && wordIs(cmd, "OK") {
		c.Confirm()
	}
	if isOrig && (string(cmd) == "capability" || wordIs(cmd, "STARTTLS")) {
		c.Confirm()
	}
	for _, w := range imapLastCommands {
		if string(cmd) == w {
			c.Confirm()
			p.stop(c)
			return
		}
	}
	if isOrig && wordIs(cmd, "STARTTLS") {
		p.stls = append(p.stls[:0], tag...)
	}
	if !isOrig && p.stls != nil && string(tag) == string(p.stls) && wordIs(cmd, "OK") {
		// STARTTLS accepted: TLS begins after this line, in both directions.
		p.switchTLS(c)
	}
}

// Gap implements Parser; imap stops at gaps (StopAtGap).
func (p *imapParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End implements Parser.
func (p *imapParser) End(c *Ctx, isOrig bool) { p.tlsEnd(isOrig) }
