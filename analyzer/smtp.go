package analyzer

// SMTP (service-detection.md §8 row smtp, §7 smtp-s/smtp-c, §5.1 STARTTLS).
//
// Both directions are lines. The analyzer confirms on a client line whose first
// word is an SMTP verb (outside the message text of DATA and the chunks of BDAT),
// on a line of an AUTH exchange, and on the "." that ends DATA. Every server line
// must begin with a reply code of three digits in 100-599; anything else is a
// violation. Replies are paired with the commands they answer, so that STARTTLS
// (or X-ANONYMOUSTLS) answered 220 hands the rest of both directions to an SSL
// child, DATA answered 354 starts the message text, and AUTH answered 334 starts
// its exchange. After a content gap the parser resynchronises at the next line
// instead of stopping.

// init registers smtp on its ports with the smtp-s and smtp-c signatures (§7).
func init() {
	register(&Analyzer{
		Name:        "smtp",
		Transport:   TCP,
		Ports:       []uint16{25, 587},
		SkipPartial: true,
		New:         func() Parser { return new(smtpParser) },
	},
		&Rule{Name: "smtp-s", Transport: TCP, Dir: Resp, Pattern: `^[[:space:]]*220[[:space:]-]`, Match: matchSMTPServer},
		&Rule{Name: "smtp-c", Transport: TCP, Dir: Orig, Pattern: `^(|.*[\n\r])[[:space:]]*([hH][eE][lL][oO]|[eE][hH][lL][oO])`,
			Match: matchSMTPClient, AtLine: smtpClientAt, Needs: "smtp-s", Enables: "smtp"},
	)
}

// smtpGreetEnd is `[[:space:]-]`.
var smtpGreetEnd = union(spaceClass, bytesOf('-'))

// matchSMTPServer is smtp-s: a 220 greeting.
func matchSMTPServer(b []byte) Result {
	rest, ok := skipped(b, &spaceClass)
	if !ok {
		return More
	}
	return then(lit(rest, "220"), func() Result { return seq(rest[3:], smtpGreetEnd) })
}

// matchSMTPClient is smtp-c: HELO or EHLO at the start of a line, after any
// whitespace (which may span lines).
func matchSMTPClient(b []byte) Result { return atWSLineStarts(b, &spaceClass, smtpHello) }

// smtpHellos are the words of smtp-c.
var smtpHellos = []string{"helo", "ehlo"}

// smtpHello is HELO or EHLO, in any case.
func smtpHello(b []byte) Result { return oneOf(b, smtpHellos, true) }

// smtpClientAt is smtp-c at a line start.
//
// The pattern's whitespace may run over line ends; a run that reaches one is
// left to the line start after it (Fail here), so that the PIA waits on one
// position only, whatever the number of blank lines.
func smtpClientAt(b []byte) Result {
	rest, ok := skipped(b, &lineSpace)
	if !ok {
		return More
	}
	if rest[0] == '\r' || rest[0] == '\n' {
		return Fail
	}
	return smtpHello(rest)
}

// smtpVerbs are the commands whose use confirms SMTP.
var smtpVerbs = []string{"EHLO", "HELO", "MAIL", "RCPT", "DATA", "QUIT", "RSET", "VRFY", "EXPN", "HELP", "NOOP",
	"STARTTLS", "X-ANONYMOUSTLS", "SEND", "SOML", "SAML", "TURN", "BDAT", "ETRN", "AUTH"}

// Kinds of pending SMTP commands: only what the parser acts on.
const (
	smtpCmdOther uint8 = iota
	smtpCmdData
	smtpCmdAuth
	smtpCmdTLS // STARTTLS or X-ANONYMOUSTLS
)

// smtpParser is the SMTP analyzer on one connection.
type smtpParser struct {
	lines      [2]lineReader
	pend       pendingCmds // commands awaiting their reply
	greeted    bool        // the server's greeting was read
	inData     bool        // the client is sending the message text of DATA
	inAuth     bool        // the client is in an AUTH exchange
	bdat       uint64      // bytes of a BDAT chunk still to read past
	tlsHandoff             // after STARTTLS: every byte goes to tls
}

// Data implements Parser.
func (p *smtpParser) Data(c *Ctx, isOrig bool, data []byte) {
	l := &p.lines[dirOf(isOrig)]
	for !p.done && len(data) > 0 {
		if p.raw {
			p.feedTLS(c, isOrig, l.raw(data))
			return
		}
		if isOrig && p.bdat > 0 {
			n := min(p.bdat, uint64(len(data)))
			p.bdat -= n
			data = data[n:]
			continue
		}
		line, _, ok := l.next(&data)
		if !ok {
			return
		}
		p.line(c, isOrig, line)
	}
}

// line handles one line.
func (p *smtpParser) line(c *Ctx, isOrig bool, line []byte) {
	if isOrig {
		p.request(c, line)
	} else {
		p.reply(c, line)
	}
}

// request handles a client line.
func (p *smtpParser) request(c *Ctx, line []byte) {
	switch {
	case p.inData:
		if len(line) == 1 && line[0] == '.' {
			p.inData = false
			c.Confirm()
		}
		return
	case p.inAuth:
		// A response to the server's AUTH challenge.
		c.Confirm()
		return
	}
	word, arg := lineWord(line)
	if len(word) == 0 {
		return
	}
	kind := smtpCmdOther
	if i := wordIndex(word, smtpVerbs); i >= 0 {
		c.Confirm()
		switch smtpVerbs[i] {
		case "DATA":
			kind = smtpCmdData
		case "STARTTLS", "X-ANONYMOUSTLS":
			kind = smtpCmdTLS
		case "AUTH":
			kind = smtpCmdAuth
		case "BDAT":
			// BDAT size [LAST]: the chunk follows the command at once (RFC 3030).
			if n, _, ok := scanInt(arg); ok && n > 0 {
				p.bdat = uint64(n)
			}
		}
	}
	p.pend.push(kind)
}

// reply handles a server line.
func (p *smtpParser) reply(c *Ctx, line []byte) {
	if len(line) < 3 || !digitClass.has(line[0]) || !digitClass.has(line[1]) || !digitClass.has(line[2]) ||
		line[0] < '1' || line[0] > '5' {
		c.Violation()
		return
	}
	if len(line) > 3 && line[3] == '-' {
		// Not the last line of the reply.
		return
	}
	code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if !p.greeted {
		p.greeted = true
		return
	}
	cmd := smtpCmdOther
	if k, ok := p.pend.oldest(); ok {
		cmd = k
	}
	switch {
	case cmd == smtpCmdAuth && code == 334:
		// A challenge: the AUTH goes on.
		p.inAuth = true
		return
	case cmd == smtpCmdData && code == 354 && !p.inData:
		// The message text follows; the reply after its end answers DATA too.
		p.inData = true
		return
	}
	p.inAuth = false
	p.pend.pop()
	if cmd == smtpCmdTLS && code == 220 {
		// TLS begins after this line, in both directions.
		p.switchTLS(c)
	}
}

// Gap implements Parser. SMTP recovers from gaps: the line being read is lost,
// and so is the pairing of replies with commands; a gap in the client's data ends
// the message text or exchange it interrupted.
func (p *smtpParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.tlsGap(isOrig, n) {
		return
	}
	if isOrig && p.bdat > 0 {
		if n < p.bdat {
			p.bdat -= n
			return
		}
		p.bdat = 0
	}
	p.lines[dirOf(isOrig)].resync()
	p.pend.reset()
	if isOrig {
		p.inData, p.inAuth = false, false
	}
}

// End implements Parser: the partial last line is a line.
func (p *smtpParser) End(c *Ctx, isOrig bool) {
	if p.tlsEnd(isOrig) {
		return
	}
	if line, _, ok := p.lines[dirOf(isOrig)].flush(); ok && !p.done {
		p.line(c, isOrig, line)
	}
}
