package analyzer

// POP3 (service-detection.md §8 row pop3, §7 pop3-c/pop3-s, §5.1 STLS).
//
// Both directions are lines. Each server reply after the greeting answers the
// oldest pending client command. The analyzer confirms on "+OK" answering USER,
// CAPA or STLS. Outside the data of a multi-line reply (LIST and UIDL without an
// argument, RETR, TOP, CAPA, AUTH without an argument) a server line must begin
// with "+OK" or "-ERR", or be a "+" continuation of an AUTH exchange; anything
// else is a violation, and so is an eleventh unknown client command. STLS answered
// +OK hands the rest of both directions to an SSL child. POP3 has no port: only
// the signatures attach it.

// init registers pop3, without ports, with the pop3-c and pop3-s signatures (§7).
func init() {
	register(&Analyzer{
		Name:        "pop3",
		Transport:   TCP,
		SkipPartial: true,
		New:         func() Parser { return new(pop3Parser) },
	},
		&Rule{Name: "pop3-c", Transport: TCP, Dir: Orig,
			Pattern: `^(|.*[\r\n])[[:space:]]*([uU][sS][eE][rR][[:space:]]|[aA][pP][oO][pP][[:space:]]|[cC][aA][pP][aA]|[aA][uU][tT][hH]|[sS][tT][lL][sS])`,
			Match:   matchPOP3Client, AtLine: pop3ClientAt},
		&Rule{Name: "pop3-s", Transport: TCP, Dir: Resp, Pattern: `^\+OK`,
			Match: func(b []byte) Result { return lit(b, "+OK") }, Needs: "pop3-c", Enables: "pop3"},
	)
}

// matchPOP3Client is pop3-c: USER, APOP, CAPA, AUTH or STLS at the start of a
// line, after any whitespace (which may span lines).
func matchPOP3Client(b []byte) Result { return atWSLineStarts(b, &spaceClass, pop3Command) }

// The words of pop3-c: those that need whitespace after them, and the others.
var (
	pop3WordsSpace = []string{"user", "apop"}
	pop3Words      = []string{"capa", "auth", "stls"}
)

// pop3Command is the command alternation of pop3-c.
func pop3Command(b []byte) Result {
	if r := oneOf(b, pop3WordsSpace, true); r != Fail {
		return then(r, func() Result { return seq(b[4:], spaceClass) })
	}
	return oneOf(b, pop3Words, true)
}

// pop3ClientAt is pop3-c at a line start.
//
// The pattern's whitespace may run over line ends; a run that reaches one is
// left to the line start after it (Fail here), so that the PIA waits on one
// position only, whatever the number of blank lines.
func pop3ClientAt(b []byte) Result {
	rest, ok := skipped(b, &lineSpace)
	if !ok {
		return More
	}
	if rest[0] == '\r' || rest[0] == '\n' {
		return Fail
	}
	return pop3Command(rest)
}

// pop3Commands are the commands the analyzer knows; any other counts as unknown.
var pop3Commands = []string{"USER", "PASS", "APOP", "AUTH", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET",
	"QUIT", "TOP", "UIDL", "CAPA", "STLS", "LAST", "XSENDER"}

// Kinds of pending POP3 commands.
const (
	pop3CmdOther    uint8 = iota
	pop3CmdConfirms       // USER, CAPA: +OK confirms
	pop3CmdSTLS           // +OK confirms and starts TLS
	pop3CmdAuth           // AUTH with a mechanism: "+" continuations follow
	pop3CmdMulti          // +OK is followed by data lines up to "."
	pop3CmdCapa           // CAPA: confirms, and is multi-line
)

// pop3MaxUnknown is the number of unknown client commands tolerated
// (POP3::max_unknown_client_commands).
const pop3MaxUnknown = 10

// pop3Parser is the POP3 analyzer on one connection.
type pop3Parser struct {
	lines      [2]lineReader
	pend       pendingCmds // commands awaiting their reply
	greeted    bool        // the server's greeting was read
	multi      bool        // the server is sending the data of a multi-line reply
	inAuth     bool        // an AUTH exchange is under way: client lines are not commands
	unknown    int         // unknown client commands so far
	tlsHandoff             // after STLS: every byte goes to tls
}

// Data implements Parser.
func (p *pop3Parser) Data(c *Ctx, isOrig bool, data []byte) {
	l := &p.lines[dirOf(isOrig)]
	for !p.done && len(data) > 0 {
		if p.raw {
			p.feedTLS(c, isOrig, l.raw(data))
			return
		}
		line, _, ok := l.next(&data)
		if !ok {
			return
		}
		p.line(c, isOrig, line)
	}
}

// line handles one line.
func (p *pop3Parser) line(c *Ctx, isOrig bool, line []byte) {
	if isOrig {
		p.request(c, line)
	} else {
		p.reply(c, line)
	}
}

// request handles a client line.
func (p *pop3Parser) request(c *Ctx, line []byte) {
	if p.inAuth {
		// A response to the server's challenge, not a command.
		return
	}
	word, arg := lineWord(line)
	if len(word) == 0 {
		return
	}
	i := wordIndex(word, pop3Commands)
	if i < 0 {
		if p.unknown++; p.unknown > pop3MaxUnknown {
			c.Violation()
			return
		}
	}
	kind := pop3CmdOther
	if i >= 0 {
		switch pop3Commands[i] {
		case "USER":
			kind = pop3CmdConfirms
		case "CAPA":
			kind = pop3CmdCapa
		case "STLS":
			kind = pop3CmdSTLS
		case "AUTH":
			kind = pop3CmdAuth
			if len(arg) == 0 {
				// Without a mechanism AUTH lists them (RFC 1734, 5034).
				kind = pop3CmdMulti
			}
		case "RETR", "TOP":
			kind = pop3CmdMulti
		case "LIST", "UIDL":
			if len(arg) == 0 {
				kind = pop3CmdMulti
			}
		}
	}
	p.pend.push(kind)
}

// reply handles a server line.
func (p *pop3Parser) reply(c *Ctx, line []byte) {
	if p.multi {
		if len(line) == 1 && line[0] == '.' {
			p.multi = false
		}
		return
	}
	ok := len(line) >= 3 && string(line[:3]) == "+OK"
	bad := len(line) >= 4 && string(line[:4]) == "-ERR"
	cmd := pop3CmdOther
	if k, ok := p.pend.oldest(); ok && p.greeted {
		cmd = k
	}
	if !ok && !bad {
		if len(line) > 0 && line[0] == '+' && (cmd == pop3CmdAuth || p.inAuth) {
			// A challenge of the AUTH exchange (RFC 5034).
			p.inAuth = true
			return
		}
		c.Violation()
		return
	}
	if !p.greeted {
		p.greeted = true
		return
	}
	p.inAuth = false
	p.pend.pop()
	if !ok {
		return
	}
	switch cmd {
	case pop3CmdConfirms:
		c.Confirm()
	case pop3CmdCapa:
		c.Confirm()
		p.multi = true
	case pop3CmdMulti:
		p.multi = true
	case pop3CmdSTLS:
		c.Confirm()
		// TLS begins after this line, in both directions.
		p.switchTLS(c)
	}
}

// Gap implements Parser: the line being read is lost; parsing resumes at the
// next line.
func (p *pop3Parser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.tlsGap(isOrig, n) {
		return
	}
	p.lines[dirOf(isOrig)].resync()
}

// End implements Parser: the partial last line is a line.
func (p *pop3Parser) End(c *Ctx, isOrig bool) {
	if p.tlsEnd(isOrig) {
		return
	}
	if line, _, ok := p.lines[dirOf(isOrig)].flush(); ok && !p.done {
		p.line(c, isOrig, line)
	}
}
