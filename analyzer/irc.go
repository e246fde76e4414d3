package analyzer

import (
	"bytes"
	"net/netip"
)

// IRC (service-detection.md §8 row irc, §7 irc-*, §4 DCC SEND, §5.1 STARTTLS).
//
// Both directions are lines of at most 512 bytes (longer ones are skipped). A line
// is "[@tags ][:prefix ]command params" or "[@tags ][:prefix ]DDD params" (a
// numeric reply). The analyzer confirms on an originator line whose command is a
// known IRC command. A line with fewer than 3 bytes after the prefix, a line that
// starts with a digit but not with "DDD ", and more than 20 commands longer than
// 20 bytes are violations. A PRIVMSG carrying a CTCP "DCC SEND" announces a
// connection to the address and port it names, which the analyzer expects (label
// irc-dcc-data, from any originator). Numeric 670 (STARTTLS accepted) hands the
// rest of both directions to an SSL child.

// init registers irc on its ports with the irc-* signatures (§7).
func init() {
	register(&Analyzer{
		Name:       "irc",
		Transport:  TCP,
		Ports:      []uint16{6666, 6667, 6668, 6669},
		Persistent: true,
		New:        func() Parser { return &ircParser{lines: [2]lineReader{{max: ircMaxLine}, {max: ircMaxLine}}} },
	},
		&Rule{Name: "irc-s", Transport: TCP, Dir: Resp, Pattern: `^(|.*[\n\r])(:[^ \n\r]+ )?[0-9][0-9][0-9] `,
			Match: matchIRCServer, AtLine: ircServerAt},
		&Rule{Name: "irc-c1", Transport: TCP, Dir: Orig,
			Pattern: `^(|.*[\r\n]) *[Uu][Ss][Ee][Rr] +.+[\n\r]+ *[Nn][Ii][Cc][Kk] +.*[\r\n]`,
			Match:   func(b []byte) Result { return matchIRCTwoLines(b, "user", "nick", 1) },
			AtLine:  func(b []byte) Result { return ircTwoLinesAt(b, "user", "nick", 1) }, Needs: "irc-s", Enables: "irc"},
		&Rule{Name: "irc-c2", Transport: TCP, Dir: Orig,
			Pattern: `^(|.*[\r\n]) *[Nn][Ii][Cc][Kk] +.+[\r\n]+ *[Uu][Ss][Ee][Rr] +.+[\r\n]`,
			Match:   func(b []byte) Result { return matchIRCTwoLines(b, "nick", "user", 2) },
			AtLine:  func(b []byte) Result { return ircTwoLinesAt(b, "nick", "user", 2) }, Needs: "irc-s", Enables: "irc"},
		&Rule{Name: "irc-ss1", Transport: TCP, Pattern: ircServerPattern, Match: matchIRCServerServer, AtLine: ircServerServerAt},
		&Rule{Name: "irc-ss2", Transport: TCP, Pattern: ircServerPattern, Match: matchIRCServerServer, AtLine: ircServerServerAt,
			Needs: "irc-ss1", Enables: "irc"},
	)
}

// ircServerPattern is the pattern of irc-ss1 and irc-ss2: a server's SERVER
// registration.
const ircServerPattern = `^(|.*[\r\n]) *[Ss][Ee][Rr][Vv][Ee][Rr] +[^ ]+ +[0-9]+ +:.+[\r\n]`

// ircMaxLine is the longest line IRC parses; longer ones are skipped.
const ircMaxLine = 512

// matchIRCServer is irc-s.
func matchIRCServer(b []byte) Result { return atLineStarts(b, ircServerAt) }

// ircServerAt is irc-s at a line start: a numeric reply, with an optional
// prefix, `(:[^ \n\r]+ )?[0-9][0-9][0-9] `.
func ircServerAt(b []byte) Result {
	if len(b) > 0 && b[0] == ':' {
		i := 1
		for i < len(b) && b[i] != ' ' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		if i == len(b) {
			return More
		}
		if i == 1 || b[i] != ' ' {
			return Fail
		}
		b = b[i+1:]
	}
	return seq(b, ircReplySig...)
}

// ircReplySig is a numeric reply's code and the space after it.
var ircReplySig = []class{digitClass, digitClass, digitClass, spaceOnly}

// ircWordAt matches ` *WORD ` (word in lower case, matched in either case) at
// the start of b; on Match it also returns the index of the space after the word.
func ircWordAt(b []byte, word string) (int, Result) {
	i := skip(b, &spaceOnly)
	if i == len(b) {
		return 0, More
	}
	if r := litFold(b[i:], word); r != Match {
		return 0, r
	}
	i += len(word)
	if i == len(b) {
		return 0, More
	}
	if b[i] != ' ' {
		return 0, Fail
	}
	return i, Match
}

// matchIRCTwoLines is irc-c1 (first "user", then "nick", minTail 1) and irc-c2
// (first "nick", then "user", minTail 2) over the whole data: the earliest line
// with the first word is the best start, so one pass suffices.
func matchIRCTwoLines(b []byte, first, second string, minTail int) Result {
	reach := true
	for i := 0; i < len(b); i++ {
		if reach {
			if _, r := ircWordAt(b[i:], first); r == Match {
				return ircTwoLines(b[i:], first, second, minTail, false)
			}
		}
		reach = b[i] == '\r' || b[i] == '\n'
	}
	return More
}

// ircTwoLinesAt is irc-c1 or irc-c2 at a line start: the first word and a space,
// at least one more byte, then after a later CR or LF the second word and a space,
// and a CR or LF at least minTail bytes past that space. The earliest second word
// is the best continuation.
//
// The PIA tries it at every line start, so it stops at the next line that starts
// with the first word too: every continuation past that line's first byte after
// its word and space is that line's own, found when the PIA tries it there (its
// scan starts at the same place). Scanning on to the end of the data from every
// line start would take time quadratic in the chunk, for a chunk of "USER x" lines.
func ircTwoLinesAt(b []byte, first, second string, minTail int) Result {
	return ircTwoLines(b, first, second, minTail, true)
}

// ircTwoLines is ircTwoLinesAt; yield says whether it stops at a later line with
// the first word (the PIA tries that one itself) or reads to the end of b.
func ircTwoLines(b []byte, first, second string, minTail int, yield bool) Result {
	u, r := ircWordAt(b, first)
	if r != Match {
		return r
	}
	end := len(b)
	for i := u + 2; i < end; i++ {
		if b[i] != '\r' && b[i] != '\n' {
			continue
		}
		if k, r := ircWordAt(b[i+1:], second); r == Match {
			return lineTail(b, i+1+k+minTail)
		}
		if yield && end == len(b) {
			if k, r := ircWordAt(b[i+1:], first); r == Match {
				end = min(end, i+1+k+2)
			}
		}
	}
	return More
}

// matchIRCServerServer is irc-ss1 and irc-ss2.
func matchIRCServerServer(b []byte) Result { return atLineStarts(b, ircServerServerAt) }

// ircServerServerAt is irc-ss1 and irc-ss2 at a line start: "SERVER name
// hopcount :info", ended by a CR or LF.
func ircServerServerAt(b []byte) Result {
	k, r := ircWordAt(b, "server")
	if r != Match {
		return r
	}
	i := k + skip(b[k:], &spaceOnly)
	j := i
	for j < len(b) && b[j] != ' ' {
		j++
	}
	if j == len(b) {
		return More
	}
	i = j + skip(b[j:], &spaceOnly)
	j = i + skip(b[i:], &digitClass)
	switch {
	case j == len(b):
		return More
	case j == i || b[j] != ' ':
		return Fail
	}
	i = j + skip(b[j:], &spaceOnly)
	switch {
	case i == len(b):
		return More
	case b[i] != ':':
		return Fail
	}
	// `.+[\r\n]`: a CR or LF at least two bytes past the colon.
	return lineTail(b, i+2)
}

// ircCommands are the commands whose use by the originator confirms IRC.
var ircCommands = []string{"ADMIN", "AWAY", "CNOTICE", "CPRIVMSG", "CONNECT", "DIE", "ENCAP", "ERROR", "INFO",
	"INVITE", "ISON", "JOIN", "KICK", "KILL", "KNOCK", "LINKS", "LIST", "LUSERS", "MODE", "MOTD", "NAMES", "NICK",
	"NOTICE", "OPER", "PART", "PASS", "PING", "PONG", "PRIVMSG", "QUIT", "REHASH", "RULES", "SERVER", "SERVICE",
	"SERVLIST", "SETNAME", "SILENCE", "SQUERY", "SQUIT", "STATS", "SUMMON", "TIME", "TOPIC", "TRACE", "USER",
	"USERHOST", "USERS", "VERSION", "WALLOPS", "WHO", "WHOIS", "WHOWAS", "STARTTLS"}

// Limits on long commands: more than ircMaxLong commands longer than
// ircLongCommand bytes is a violation.
const (
	ircLongCommand = 20
	ircMaxLong     = 20
)

// ircParser is the IRC analyzer on one connection.
type ircParser struct {
	lines      [2]lineReader
	long       int // commands longer than ircLongCommand so far
	tlsHandoff     // after numeric 670: every byte goes to tls
}

// Data implements Parser.
func (p *ircParser) Data(c *Ctx, isOrig bool, data []byte) {
	l := &p.lines[dirOf(isOrig)]
	for !p.done && len(data) > 0 {
		if p.raw {
			p.feedTLS(c, isOrig, l.raw(data))
			return
		}
		line, long, ok := l.next(&data)
		if !ok {
			return
		}
		if !long {
			p.line(c, isOrig, line)
		}
	}
}

// line handles one line of at most 512 bytes.
func (p *ircParser) line(c *Ctx, isOrig bool, line []byte) {
	// IRCv3 message tags, then the prefix, each ended by a space.
	for _, lead := range []byte{'@', ':'} {
		if len(line) > 0 && line[0] == lead {
			i := bytes.IndexByte(line, ' ')
			if i < 0 {
				return
			}
			line = line[i+1:]
		}
	}
	if len(line) < 3 {
		c.Violation()
		return
	}
	var cmd, params []byte
	code := 0
	if digitClass.has(line[0]) {
		if len(line) < 4 || !digitClass.has(line[1]) || !digitClass.has(line[2]) || line[3] != ' ' {
			c.Violation()
			return
		}
		code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
		params = line[4:]
	} else {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			cmd = line
		} else {
			cmd, params = line[:i], bytes.TrimLeft(line[i+1:], " ")
		}
		if len(cmd) > ircLongCommand {
			if p.long++; p.long > ircMaxLong {
				c.Violation()
			}
			return
		}
		if isOrig && wordIndex(cmd, ircCommands) >= 0 {
			c.Confirm()
		}
	}
	switch {
	case code == 670:
		// STARTTLS accepted: TLS begins after this line, in both directions.
		p.switchTLS(c)
	case wordIs(cmd, "PRIVMSG"):
		p.dcc(c, params)
	}
}

// dcc schedules the connection a "PRIVMSG target :\x01DCC SEND file ip port
// [size]\x01" announces: from anyone to the IPv4 address, written as a decimal
// number, and port.
func (p *ircParser) dcc(c *Ctx, params []byte) {
	i := bytes.IndexByte(params, ' ')
	if i < 0 {
		return
	}
	msg := bytes.TrimLeft(params[i+1:], " ")
	if len(msg) > 0 && msg[0] == ':' {
		msg = msg[1:]
	}
	if len(msg) > 0 && msg[0] == 1 {
		msg = msg[1:]
	}
	if len(msg) <= 3 || string(msg[:3]) != "DCC" {
		return
	}
	if msg[len(msg)-1] == 1 {
		msg = msg[:len(msg)-1]
	}
	var words [8][]byte
	n := 0
	for len(msg) > 0 {
		msg = msg[skip(msg, &spaceOnly):]
		if len(msg) == 0 {
			break
		}
		if n == len(words) {
			return
		}
		i := bytes.IndexByte(msg, ' ')
		if i < 0 {
			i = len(msg)
		}
		words[n], msg = msg[:i], msg[i:]
		n++
	}
	if n < 5 || n > 7 || n == 7 && words[6][len(words[6])-1] != 'T' {
		return
	}
	if string(words[1]) != "SEND" {
		return
	}
	// The address: each byte a decimal digit (anything else counts as 0), the
	// number wrapping at 32 bits, as Zeek computes it.
	var ip uint32
	for _, b := range words[3] {
		d := uint32(0)
		if digitClass.has(b) {
			d = uint32(b - '0')
		}
		ip = ip*10 + d
	}
	port, _, ok := scanInt(words[4])
	if !ok || port < 0 || port > 65535 {
		// atoi gives 0 for no digits; Zeek makes a port number past 65535 0.
		port = 0
	}
	addr := netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
	c.Expect(Expectation{Resp: netip.AddrPortFrom(addr, uint16(port)), Transport: TCP, Label: "irc-dcc-data"})
}

// Gap implements Parser: the line being read is lost; parsing resumes at the
// next line.
func (p *ircParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.tlsGap(isOrig, n) {
		return
	}
	p.lines[dirOf(isOrig)].resync()
}

// End implements Parser: the partial last line is a line.
func (p *ircParser) End(c *Ctx, isOrig bool) {
	if p.tlsEnd(isOrig) {
		return
	}
	if line, long, ok := p.lines[dirOf(isOrig)].flush(); ok && !long && !p.done {
		p.line(c, isOrig, line)
	}
}
