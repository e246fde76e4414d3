package analyzer

import "bytes"

// A line splitter for the line-based protocols (FTP, SMTP, POP3, IMAP, IRC and the
// SSH version exchange), after Zeek's ContentLine analyzer: one per direction, fed
// the in-order chunks of the stream, it hands out complete lines without their
// end-of-line bytes. A line that spans chunks is buffered, up to max bytes; the
// rest of a longer line is read past and the line is handed out cut, flagged long.
// Every protocol here decides on a line's beginning, so the cut costs nothing.

// lineMax is the longest line kept by the line-based parsers.
const lineMax = 4096

// lineReader splits one direction of a stream into lines.
type lineReader struct {
	buf  []byte // the start of a line that spans chunks, at most max bytes
	max  int    // the longest line kept (0: lineMax)
	lfOK bool   // only LF (or CRLF, the CR dropped) ends a line, as FTP's NVT; else CR, LF and CRLF do
	cr   bool   // the last byte was a CR that ended a line: an LF right after it belongs to it
	over bool   // the line being read passed max bytes: the rest is read past
	drop bool   // read past everything up to the next line end (resynchronising after a gap)
}

// next takes the next complete line from *data, which it advances past the line's
// end. It returns ok false when *data holds no line end any more: the partial line
// is kept for the next chunk. The line is valid until the next call; long says it
// was cut at max bytes.
func (l *lineReader) next(data *[]byte) (line []byte, long, ok bool) {
	d := *data
	for {
		if l.cr && len(d) > 0 {
			l.cr = false
			if d[0] == '\n' {
				d = d[1:]
			}
		}
		i := l.eol(d)
		if i < 0 {
			l.keep(d)
			*data = d[len(d):]
			return nil, false, false
		}
		seg, end := d[:i], d[i]
		d = d[i+1:]
		if end == '\r' {
			// The LF of a CRLF belongs to this line end; if the chunk ends here,
			// it may start the next one.
			if len(d) > 0 {
				if d[0] == '\n' {
					d = d[1:]
				}
			} else {
				l.cr = true
			}
		}
		if l.drop {
			l.drop = false
			l.buf = l.buf[:0]
			l.over = false
			continue
		}
		*data = d
		if len(l.buf) == 0 && !l.over {
			if l.lfOK {
				seg = trimCR(seg)
			}
			if m := l.limit(); len(seg) > m {
				return seg[:m], true, true
			}
			return seg, false, true
		}
		l.keep(seg)
		line, long = l.buf, l.over
		if l.lfOK && !long {
			line = trimCR(line)
		}
		l.buf, l.over = l.buf[:0], false
		return line, long, true
	}
}

// flush returns the partial line left at the end of the direction (Zeek's
// ContentLine delivers it when the direction closes), if any.
func (l *lineReader) flush() (line []byte, long, ok bool) {
	if l.drop || len(l.buf) == 0 && !l.over {
		l.buf, l.over, l.drop = l.buf[:0], false, false
		return nil, false, false
	}
	line, long = l.buf, l.over
	if l.lfOK && !long {
		line = trimCR(line)
	}
	l.buf, l.over = l.buf[:0], false
	return line, long, true
}

// raw returns data, the next bytes of the direction after its last line, when
// the protocol stops being lines (STARTTLS): without the LF of a CRLF whose CR
// ended the last line.
func (l *lineReader) raw(data []byte) []byte {
	if l.cr && len(data) > 0 {
		l.cr = false
		if data[0] == '\n' {
			return data[1:]
		}
	}
	return data
}

// resync forgets the partial line and reads past the rest of it: after a content
// gap the bytes resume in the middle of a line.
func (l *lineReader) resync() {
	l.buf, l.over, l.cr, l.drop = l.buf[:0], false, false, true
}

// eol returns the index of the byte that ends the first line in d, or -1.
func (l *lineReader) eol(d []byte) int {
	if l.lfOK {
		return bytes.IndexByte(d, '\n')
	}
	for i, b := range d {
		if b == '\n' || b == '\r' {
			return i
		}
	}
	return -1
}

// limit returns the longest line kept.
func (l *lineReader) limit() int {
	if l.max > 0 {
		return l.max
	}
	return lineMax
}

// keep appends seg to the partial line, up to the limit.
func (l *lineReader) keep(seg []byte) {
	if l.drop || l.over || len(seg) == 0 {
		return
	}
	limit := l.limit()
	if room := limit - len(l.buf); len(seg) > room {
		seg = seg[:room]
		l.over = true
	}
	if cap(l.buf)-len(l.buf) < len(seg) {
		// Grow by doubling, but never past the limit.
		n := min(max(2*cap(l.buf), len(l.buf)+len(seg), 64), limit)
		b := make([]byte, len(l.buf), n)
		copy(b, l.buf)
		l.buf = b
	}
	l.buf = append(l.buf, seg...)
}

// trimCR drops one trailing CR (the CR of a CRLF line end).
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// tlsHandoff is the switch to TLS that the line protocols share: FTP's AUTH TLS,
// SMTP's STARTTLS, POP3's STLS, IMAP's STARTTLS, IRC's numeric 670 and XMPP's
// <proceed/>. Once the server accepts, TLS begins after the accepting line (or
// tag) in both directions, and every later byte goes to an SSL child; the parser
// stops when the child stops, or when there is no child to start. Parsers embed
// it, and done is their "stopped" flag.
type tlsHandoff struct {
	tls  *Child
	raw  bool // after the switch: every byte goes to tls
	done bool // the parser has stopped
}

// switchTLS starts TLS after the server's acceptance: it attaches the SSL child,
// or stops the parser when none can be attached.
func (h *tlsHandoff) switchTLS(c *Ctx) {
	if h.tls = c.Child("ssl"); h.tls == nil {
		h.stop(c)
		return
	}
	h.raw = true
}

// feedTLS hands bytes after the switch to the SSL child, and stops the parser
// when the child has stopped.
func (h *tlsHandoff) feedTLS(c *Ctx, isOrig bool, data []byte) {
	h.tls.Data(isOrig, data)
	if h.tls.Stopped() {
		h.stop(c)
	}
}

// tlsGap hands a gap after the switch to the SSL child; it reports whether it
// did (false before the switch).
func (h *tlsHandoff) tlsGap(isOrig bool, n uint64) bool {
	if h.raw {
		h.tls.Gap(isOrig, n)
	}
	return h.raw
}

// tlsEnd hands the end of a direction after the switch to the SSL child; it
// reports whether it did (false before the switch).
func (h *tlsHandoff) tlsEnd(isOrig bool) bool {
	if h.raw {
		h.tls.End(isOrig)
	}
	return h.raw
}

// stop ends the parsing of the connection.
func (h *tlsHandoff) stop(c *Ctx) {
	h.done = true
	c.Stop()
}

// cmdMaxPending bounds the commands waiting for their replies (pipelining).
const cmdMaxPending = 32

// pendingCmds is the queue by which FTP, SMTP and POP3 pair each server reply
// with the client command it answers: one kind per command awaiting its reply,
// oldest first. When the queue is full a new command drops the oldest.
type pendingCmds struct {
	kind [cmdMaxPending]uint8
	n    int
}

// push queues a command of kind k.
func (q *pendingCmds) push(k uint8) {
	if q.n == cmdMaxPending {
		copy(q.kind[:], q.kind[1:])
		q.n--
	}
	q.kind[q.n] = k
	q.n++
}

// oldest returns the kind of the oldest pending command; ok is false when none
// is pending.
func (q *pendingCmds) oldest() (k uint8, ok bool) {
	if q.n == 0 {
		return 0, false
	}
	return q.kind[0], true
}

// list returns the kinds of the pending commands, oldest first, valid until the
// next change.
func (q *pendingCmds) list() []uint8 { return q.kind[:q.n] }

// remove drops the i-th oldest pending command.
func (q *pendingCmds) remove(i int) {
	copy(q.kind[i:], q.kind[i+1:q.n])
	q.n--
}

// pop drops the oldest pending command, if any.
func (q *pendingCmds) pop() {
	if q.n > 0 {
		q.remove(0)
	}
}

// reset forgets every pending command.
func (q *pendingCmds) reset() { q.n = 0 }

// lineSpace is the whitespace of [[:space:]] that does not end a line.
var lineSpace = bytesOf('\t', '\v', '\f', ' ')

// dirOf returns the index of a direction: 0 for the originator.
func dirOf(isOrig bool) int {
	if isOrig {
		return 0
	}
	return 1
}

// isSpaceByte is C's isspace: space, tab, newline, vertical tab, form feed, CR.
func isSpaceByte(b byte) bool { return spaceClass.has(b) }

// skipSpaceBytes drops leading isspace bytes.
func skipSpaceBytes(b []byte) []byte {
	for len(b) > 0 && isSpaceByte(b[0]) {
		b = b[1:]
	}
	return b
}

// lineWord splits b, after leading whitespace, into its first word (up to the
// next isspace byte) and the rest after the whitespace that follows it.
func lineWord(b []byte) (word, rest []byte) {
	b = skipSpaceBytes(b)
	i := 0
	for i < len(b) && !isSpaceByte(b[i]) {
		i++
	}
	return b[:i], skipSpaceBytes(b[i:])
}

// wordIs reports whether b equals the upper-case ASCII word w, ignoring case.
func wordIs(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range len(b) {
		if upperASCII(b[i]) != w[i] {
			return false
		}
	}
	return true
}

// upperASCII is ASCII toupper.
func upperASCII(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

// wordIndex returns the index of the word b in words (upper case), ignoring
// case, or -1.
func wordIndex(b []byte, words []string) int {
	for i, w := range words {
		if wordIs(b, w) {
			return i
		}
	}
	return -1
}

// atWSLineStarts is `(|.*[\r\n])W*P` where W is a class holding neither CR nor
// LF, or `(|.*[\r\n])[[:space:]]*P` when ws is spaceClass: P tried at every
// position reachable from the start of the data or from just after a CR or LF
// over a run of ws bytes. It is linear (each position is tried once) and never
// fails, since a later line may still match.
func atWSLineStarts(data []byte, ws *class, p func([]byte) Result) Result {
	reach := true
	for i := 0; i < len(data); i++ {
		if reach && p(data[i:]) == Match {
			return Match
		}
		b := data[i]
		switch {
		case b == '\r' || b == '\n':
			reach = true
		case ws.has(b):
		default:
			reach = false
		}
	}
	return More
}

// lineTail reports whether data has a CR or LF at index from or later: the
// `.*[\r\n]` that ends several line signatures.
func lineTail(data []byte, from int) Result {
	if from < 0 {
		from = 0
	}
	if from < len(data) {
		for _, b := range data[from:] {
			if b == '\r' || b == '\n' {
				return Match
			}
		}
	}
	return More
}

// base64Decode appends to dst the bytes that the base64 text src decodes to. Like
// Zeek's decode_base64 it is lenient: bytes outside the alphabet are skipped and
// decoding ends at the first '='.
func base64Decode(dst, src []byte) []byte {
	var acc uint32
	n := 0
	for _, c := range src {
		var v byte
		switch {
		case 'A' <= c && c <= 'Z':
			v = c - 'A'
		case 'a' <= c && c <= 'z':
			v = c - 'a' + 26
		case '0' <= c && c <= '9':
			v = c - '0' + 52
		case c == '+':
			v = 62
		case c == '/':
			v = 63
		case c == '=':
			return base64Tail(dst, acc, n)
		default:
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	return base64Tail(dst, acc, n)
}

// base64Tail appends the bytes of a final group of n (< 4) base64 digits.
func base64Tail(dst []byte, acc uint32, n int) []byte {
	switch n {
	case 2:
		dst = append(dst, byte(acc>>4))
	case 3:
		dst = append(dst, byte(acc>>10), byte(acc>>2))
	}
	return dst
}
