package analyzer

import (
	"bytes"
	"net/netip"
)

// FTP control connections (service-detection.md §8 row ftp, §7 ftp-c/ftp-s, §4
// for the data connections, §5.1 for AUTH TLS and AUTH GSSAPI).
//
// Both directions are lines ending at LF (Zeek reads FTP through its NVT
// analyzer, which drops the CR of a CRLF). The analyzer confirms on nearly any
// client line: one whose first word is 3 to 100 printable characters. A server
// line that starts a reply must begin with a three-digit code of at least 100
// followed by a space or '-' (a multi-line reply, whose other lines are free text
// until the line that repeats the code and a space); anything else is a
// violation. PORT and EPRT requests, and 227 and 229 replies to PASV and EPSV,
// announce data connections, which the analyzer expects (label ftp-data). After
// AUTH TLS answered 234 the rest of both directions is TLS, fed to an SSL child;
// after AUTH GSSAPI answered 334 the base64 ADAT tokens are (GridFTP's GSI).

// init registers ftp on its ports with the ftp-c and ftp-s signatures (§7).
func init() {
	register(&Analyzer{
		Name:       "ftp",
		Transport:  TCP,
		Ports:      []uint16{21, 2811},
		Persistent: true,
		LongLived:  true,
		New:        func() Parser { return &ftpParser{lines: [2]lineReader{{lfOK: true}, {lfOK: true}}} },
	},
		&Rule{Name: "ftp-c", Transport: TCP, Dir: Orig, Pattern: `^(|.*[\n\r]) *[uU][sS][eE][rR] `,
			Match: matchFTPClient, AtLine: ftpClientAt},
		&Rule{Name: "ftp-s", Transport: TCP, Dir: Resp, Pattern: `^[\n\r ]*(120|220)[^0-9].*[\n\r] *(230|331)[^0-9]`,
			Match: matchFTPServer, Needs: "ftp-c", Enables: "ftp"},
	)
}

// Byte classes of the FTP signatures.
var (
	spaceOnly   = bytesOf(' ')
	crlfOrSpace = bytesOf('\r', '\n', ' ')
)

// matchFTPClient is ftp-c.
func matchFTPClient(b []byte) Result { return atLineStarts(b, ftpClientAt) }

// ftpClientAt is ftp-c at a line start: optional spaces and "USER ".
func ftpClientAt(b []byte) Result {
	rest, ok := skipped(b, &spaceOnly)
	if !ok {
		return More
	}
	return litFold(rest, "user ")
}

// The reply codes of ftp-s: a greeting, then a login answer.
var (
	ftpGreetCodes = []string{"120", "220"}
	ftpLoginCodes = []string{"230", "331"}
)

// matchFTPServer is ftp-s: a 120 or 220 greeting, then a later line with a 230
// or 331 reply.
func matchFTPServer(b []byte) Result {
	rest, ok := skipped(b, &crlfOrSpace)
	if !ok {
		return More
	}
	if r := oneOf(rest, ftpGreetCodes, false); r != Match {
		return r
	}
	if len(rest) < 4 {
		return More
	}
	if digitClass.has(rest[3]) {
		return Fail
	}
	t := rest[4:]
	for i, c := range t {
		if c != '\r' && c != '\n' {
			continue
		}
		u := t[i+1:]
		u = u[skip(u, &spaceOnly):]
		if oneOf(u, ftpLoginCodes, false) == Match && len(u) > 3 && !digitClass.has(u[3]) {
			return Match
		}
	}
	return More
}

// Kinds of pending FTP commands: only what a reply's meaning depends on.
const (
	ftpCmdOther uint8 = iota
	ftpCmdPASV
	ftpCmdEPSV
)

// What the last AUTH asked for.
const (
	ftpAuthNone uint8 = iota
	ftpAuthTLS
	ftpAuthGSSAPI
)

// ftpParser is the FTP analyzer on one connection.
type ftpParser struct {
	lines      [2]lineReader
	pend       pendingCmds // commands awaiting their final reply
	multi      int         // the code of the multi-line reply being read, 0 for none
	auth       uint8       // what the last AUTH asked for
	tlsHandoff             // after AUTH TLS: every byte goes to tls
	adat       bool        // after AUTH GSSAPI: ADAT tokens go to tls
	dec        []byte      // decoded ADAT token
}

// Data implements Parser.
func (p *ftpParser) Data(c *Ctx, isOrig bool, data []byte) {
	l := &p.lines[dirOf(isOrig)]
	if p.raw {
		p.feedTLS(c, isOrig, l.raw(data))
		return
	}
	for !p.done {
		line, _, ok := l.next(&data)
		if !ok {
			return
		}
		p.line(c, isOrig, line)
		if p.raw {
			p.feedTLS(c, isOrig, data)
			return
		}
	}
}

// line handles one line.
func (p *ftpParser) line(c *Ctx, isOrig bool, line []byte) {
	if isOrig {
		p.request(c, line)
	} else {
		p.reply(c, line)
	}
}

// request handles a client line.
func (p *ftpParser) request(c *Ctx, line []byte) {
	word, arg := lineWord(line)
	if len(word) >= 3 && len(word) <= 100 && printableWord(word) {
		c.Confirm()
	}
	if p.adat {
		p.adatRequest(word, arg)
	}
	if len(word) == 0 {
		return
	}
	kind := ftpCmdOther
	switch {
	case wordIs(word, "PASV"):
		kind = ftpCmdPASV
	case wordIs(word, "EPSV"):
		kind = ftpCmdEPSV
	case wordIs(word, "PORT"):
		// The server connects from its control address to the one named.
		if a, port, ok := ftpParsePort(arg); ok {
			p.expect(c, c.ConnID().Resp.Addr(), netip.AddrFrom4(a), port)
		}
	case wordIs(word, "EPRT"):
		if a, port, ok := ftpParseExt(arg); ok && a.IsValid() {
			p.expect(c, c.ConnID().Resp.Addr(), a, port)
		}
	case wordIs(word, "AUTH"):
		switch {
		case string(arg) == "TLS":
			p.auth = ftpAuthTLS
		case bytes.Contains(arg, []byte("GSSAPI")):
			p.auth = ftpAuthGSSAPI
		default:
			p.auth = ftpAuthNone
		}
	}
	p.pend.push(kind)
}

// printableWord reports whether every byte of w is printable and not a space.
func printableWord(w []byte) bool {
	for _, b := range w {
		if b <= ' ' || b >= 0x7f {
			return false
		}
	}
	return true
}

// expect schedules the data connection from orig to addr:port.
func (p *ftpParser) expect(c *Ctx, orig, addr netip.Addr, port uint16) {
	c.Expect(Expectation{Orig: orig, Resp: netip.AddrPortFrom(addr, port), Transport: TCP, Label: "ftp-data"})
}

// reply handles a server line.
func (p *ftpParser) reply(c *Ctx, line []byte) {
	code := 0
	if len(line) >= 3 && digitClass.has(line[0]) && digitClass.has(line[1]) && digitClass.has(line[2]) {
		code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	}
	final := true
	if p.multi != 0 {
		if code != p.multi || len(line) <= 3 || line[3] != ' ' {
			// A line inside a multi-line reply: free text.
			return
		}
		p.multi = 0
	} else {
		// A new reply.
		if code < 100 {
			c.Violation()
			return
		}
		if len(line) > 3 {
			switch line[3] {
			case ' ':
			case '-':
				p.multi = code
				final = false
			default:
				c.Violation()
				return
			}
		}
	}
	var msg []byte
	if len(line) > 3 {
		msg = skipSpaceBytes(line[4:])
	}
	if p.adat {
		p.adatReply(code, line[3:])
	}
	cmd := p.take(code, final)
	switch {
	case (code == 227 || code == 229) && (cmd == ftpCmdPASV || cmd == ftpCmdEPSV):
		// The client connects to the address the server names.
		id := c.ConnID()
		if code == 227 {
			if a, port, ok := ftpParsePort(ftpPASVNumbers(msg)); ok {
				p.expect(c, id.Orig.Addr(), netip.AddrFrom4(a), port)
			}
		} else if a, port, ok := ftpParseExt(ftpEPSVArgs(msg)); ok {
			if !a.IsValid() || a.IsUnspecified() {
				a = id.Resp.Addr()
			}
			p.expect(c, id.Orig.Addr(), a, port)
		}
	case code == 234 && p.auth == ftpAuthTLS:
		// AUTH TLS accepted: TLS begins after this line, in both directions.
		p.auth = ftpAuthNone
		p.switchTLS(c)
	case code == 334 && p.auth == ftpAuthGSSAPI && p.tls == nil:
		// AUTH GSSAPI accepted: the ADAT exchange that follows carries TLS.
		if p.tls = c.Child("ssl"); p.tls != nil {
			p.adat = true
		}
	}
}

// take returns the pending command a reply answers, and removes it when the
// reply is final (a completion code, not a 1xx preliminary one). Like Zeek's FTP
// script it prefers a PASV or EPSV for 227 and 229, and else takes the oldest.
func (p *ftpParser) take(code int, final bool) uint8 {
	pend := p.pend.list()
	if len(pend) == 0 {
		return ftpCmdOther
	}
	k := 0
	if code == 227 || code == 229 {
		for i, kind := range pend {
			if kind == ftpCmdPASV || kind == ftpCmdEPSV {
				k = i
				break
			}
		}
	}
	cmd := pend[k]
	if final && code >= 200 {
		p.pend.remove(k)
	}
	return cmd
}

// ftpPASVNumbers returns where a 227 reply's six numbers start: after '(', after
// the word PORT and one more byte, or at the digits before the first comma.
func ftpPASVNumbers(msg []byte) []byte {
	if i := bytes.IndexByte(msg, '('); i >= 0 {
		return msg[i+1:]
	}
	if i := bytes.Index(msg, []byte("PORT")); i >= 0 {
		return msg[min(i+5, len(msg)):]
	}
	if i := bytes.IndexByte(msg, ','); i >= 0 {
		for i > 0 && digitClass.has(msg[i-1]) {
			i--
		}
		return msg[i:]
	}
	return nil
}

// ftpEPSVArgs returns a 229 reply's text after its '(', or nil.
func ftpEPSVArgs(msg []byte) []byte {
	if i := bytes.IndexByte(msg, '('); i >= 0 {
		return msg[i+1:]
	}
	return nil
}

// scanInt reads a decimal integer the way C's sscanf("%d") does: after optional
// whitespace and sign, at least one digit. Values saturate far beyond any byte or
// port, so overflow cannot make a bad number look good.
func scanInt(b []byte) (v int64, rest []byte, ok bool) {
	b = skipSpaceBytes(b)
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	i := 0
	for i < len(b) && digitClass.has(b[i]) {
		if v < 1<<40 {
			v = v*10 + int64(b[i]-'0')
		}
		i++
	}
	if i == 0 {
		return 0, b, false
	}
	if neg {
		v = -v
	}
	return v, b[i:], true
}

// ftpParsePort parses the "h1,h2,h3,h4,p1,p2" of PORT and of 227 replies: six
// numbers 0 to 255 separated by commas (text may follow).
func ftpParsePort(b []byte) (a [4]byte, port uint16, ok bool) {
	var v [6]int64
	for i := range v {
		if i > 0 {
			if len(b) == 0 || b[0] != ',' {
				return a, 0, false
			}
			b = b[1:]
		}
		n, rest, ok := scanInt(b)
		if !ok || n < 0 || n > 255 {
			return a, 0, false
		}
		v[i], b = n, rest
	}
	a = [4]byte{byte(v[0]), byte(v[1]), byte(v[2]), byte(v[3])}
	return a, uint16(v[4])<<8 | uint16(v[5]), true
}

// ftpParseExt parses the "<d>proto<d>addr<d>port<d>" of EPRT and of 229 replies
// (RFC 2428), with any delimiter d. The address may be empty (229 replies name
// none): addr is then the zero Addr.
func ftpParseExt(b []byte) (addr netip.Addr, port uint16, ok bool) {
	if len(b) == 0 {
		return addr, 0, false
	}
	d := b[0]
	b = b[1:]
	i := bytes.IndexByte(b, d)
	if i < 0 || !ftpNumberText(b[:i], true) {
		return addr, 0, false
	}
	b = b[i+1:]
	if i = bytes.IndexByte(b, d); i < 0 {
		return addr, 0, false
	}
	if i > 0 {
		a, err := netip.ParseAddr(string(b[:i]))
		if err != nil || a.Zone() != "" {
			return addr, 0, false
		}
		addr = a
	}
	b = b[i+1:]
	if i = bytes.IndexByte(b, d); i < 0 || !ftpNumberText(b[:i], false) {
		return addr, 0, false
	}
	n, _, _ := scanInt(b[:i])
	if n < 0 || n > 65535 {
		return addr, 0, false
	}
	return addr, uint16(n), true
}

// ftpNumberText reports whether b is all of one number as strtol reads it
// (optional whitespace and sign, digits); empty counts when emptyOK.
func ftpNumberText(b []byte, emptyOK bool) bool {
	if len(b) == 0 {
		return emptyOK
	}
	_, rest, ok := scanInt(b)
	return ok && len(rest) == 0
}

// adatRequest feeds a client ADAT token to TLS; any other command ends the
// exchange.
func (p *ftpParser) adatRequest(word, arg []byte) {
	if string(word) != "ADAT" {
		p.adat = false
		return
	}
	p.dec = base64Decode(p.dec[:0], arg)
	p.tls.Data(true, p.dec)
}

// adatReply handles a server reply line during the ADAT exchange (rest is the
// line after the code).
func (p *ftpParser) adatReply(code int, rest []byte) {
	switch code {
	case 232, 234, 421, 431, 500, 501, 503, 535, 631, 632, 633:
		// The exchange is over, or failed.
		p.adat = false
	case 235, 334, 335:
		// Security data, possibly with a token "ADAT=base64".
		if len(rest) > 0 && rest[0] == '-' {
			rest = rest[1:]
		}
		rest = skipSpaceBytes(rest)
		if len(rest) >= 5 && string(rest[:5]) == "ADAT=" {
			p.dec = base64Decode(p.dec[:0], rest[5:])
			p.tls.Data(false, p.dec)
		}
		if code == 235 {
			p.adat = false
		}
	}
}

// Gap implements Parser: the line being read is lost; parsing resumes at the
// next line.
func (p *ftpParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.tlsGap(isOrig, n) {
		return
	}
	p.lines[dirOf(isOrig)].resync()
}

// End implements Parser: the partial last line is a line (Zeek's ContentLine
// delivers it at the end of the direction).
func (p *ftpParser) End(c *Ctx, isOrig bool) {
	if p.tlsEnd(isOrig) {
		return
	}
	if line, _, ok := p.lines[dirOf(isOrig)].flush(); ok && !p.done {
		p.line(c, isOrig, line)
	}
}
