package analyzer

import (
	"bytes"
	"strconv"
)

// HTTP/1.x (service-detection.md §8 row http, §5.2 for CONNECT and upgrades).
//
// The parser follows each direction's messages: request or status line, headers,
// and a body framed by Content-Length, chunked coding, or (responses) the end of
// the connection. It confirms on the first valid request line (or a status line
// answering an outstanding request) and raises a violation on a non-empty line
// that should start a message and does not. After a CONNECT answered 200, or a 101
// upgrade, the bytes of both directions go to a nested PIA (or the WebSocket
// analyzer).

func init() {
	register(&Analyzer{
		Name:        "http",
		Transport:   TCP,
		Ports:       []uint16{80, 81, 631, 1080, 3128, 8000, 8080, 8888},
		SkipPartial: true,
		New:         func() Parser { return new(httpParser) },
	},
		&Rule{Name: "http-c", Transport: TCP, Dir: Orig, Enables: "http",
			Pattern: `[[:space:]]*(OPTIONS|GET|HEAD|POST|PUT|DELETE|QUERY|ACL|BASELINE-CONTROL|BIND|CHECKIN|CHECKOUT|CONNECT|COPY|LABEL|LINK|LOCK|MERGE|MKACTIVITY|MKCALENDAR|MKCOL|MKREDIRECTREF|MOVE|ORDERPATCH|PATCH|PROPFIND|PROPPATCH|REBIND|REPORT|SEARCH|TRACE|UNBIND|UNCHECKOUT|UNLINK|UNLOCK|UPDATE|VERSION-CONTROL|BCOPY|BDELETE|BMOVE|BPROPFIND|BPROPPATCH|NOTIFY|POLL|SUBSCRIBE|UNSUBSCRIBE|X-MS-ENUMATTS|MKWORKSPACE|RPC_IN_DATA|RPC_OUT_DATA)`,
			Match: func(b []byte) Result {
				rest, ok := skipped(b, &spaceClass)
				if !ok {
					return More
				}
				return oneOf(rest, httpMethods, false)
			}},
		&Rule{Name: "http-s", Transport: TCP, Dir: Resp, Enables: "http",
			Pattern: `[hH][tT][tT][pP]/[0-9]`,
			Match: func(b []byte) Result {
				return then(litFold(b, "http/"), func() Result { return seq(b[5:], digitClass) })
			}},
	)
}

// httpMethods are the methods of the http-c signature.
var httpMethods = []string{"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "QUERY", "ACL", "BASELINE-CONTROL",
	"BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR",
	"MKCOL", "MKREDIRECTREF", "MOVE", "ORDERPATCH", "PATCH", "PROPFIND", "PROPPATCH", "REBIND", "REPORT", "SEARCH",
	"TRACE", "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE", "VERSION-CONTROL", "BCOPY", "BDELETE", "BMOVE",
	"BPROPFIND", "BPROPPATCH", "NOTIFY", "POLL", "SUBSCRIBE", "UNSUBSCRIBE", "X-MS-ENUMATTS", "MKWORKSPACE",
	"RPC_IN_DATA", "RPC_OUT_DATA"}

// httpMaxLine is how much of a line the parser keeps; the rest of a longer line is
// read past. Every decision is made on a line's beginning.
const httpMaxLine = 4096

// httpMaxPending bounds the requests waiting for their responses.
const httpMaxPending = 64

// Per-direction parser states.
const (
	httpStart      uint8 = iota // expecting a request or status line
	httpHeaders                 // in the headers
	httpBody                    // in a body of known length (left bytes)
	httpChunkSize               // expecting a chunk-size line
	httpChunkData               // in a chunk (left bytes)
	httpChunkEnd                // expecting the line that ends a chunk
	httpTrailers                // in the trailers after the last chunk
	httpUntilClose              // a response body that lasts until the connection closes
	httpTunnel                  // after CONNECT or an upgrade: bytes go to the tunnel
	httpDone                    // stopped (a gap outside a body)
)

// Request kinds, queued until their responses.
const (
	reqOther uint8 = iota
	reqHead
	reqConnect
	reqHTTP09
)

// httpSide is one direction's parser state.
type httpSide struct {
	state   uint8
	lastCR  bool // the last line ended with CR: a LF that follows belongs to it
	long    bool // the line being read is longer than httpMaxLine
	line    []byte
	left    uint64 // bytes left in a body or chunk
	hasLen  bool
	length  uint64
	chunked bool

	// Headers of the message being read that matter after it.
	connUpgrade bool
	upgrade     []byte
	status      int
}

// httpParser is the HTTP analyzer's instance on one connection.
type httpParser struct {
	side    [2]httpSide
	pending []uint8 // kinds of requests awaiting responses, oldest first
	named   bool
	tunnel  *Child // the nested PIA or WebSocket analyzer after CONNECT or an upgrade
}

func (p *httpParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirIndex(isOrig)
	s := &p.side[d]
	for len(data) > 0 {
		switch s.state {
		case httpDone:
			return
		case httpTunnel:
			p.tunnel.Data(isOrig, data)
			return
		case httpBody, httpChunkData:
			n := uint64(len(data))
			if n > s.left {
				n = s.left
			}
			s.left -= n
			data = data[n:]
			if s.left == 0 {
				if s.state == httpBody {
					p.endMessage(c, isOrig)
				} else {
					s.state = httpChunkEnd
				}
			}
		case httpUntilClose:
			return
		default:
			if s.state == httpStart && !isOrig && len(p.pending) > 0 && p.pending[0] == reqHTTP09 {
				// An HTTP/0.9 reply is the data itself, until the end.
				c.Confirm()
				s.state = httpUntilClose
				return
			}
			var line []byte
			var ok bool
			line, data, ok = s.readLine(data)
			if !ok {
				return
			}
			p.line(c, isOrig, line)
		}
	}
}

// readLine reads up to the end of a line (CR, LF or CRLF) and returns it with the
// rest of data; ok is false when data ended inside the line (kept for later).
func (s *httpSide) readLine(data []byte) (line, rest []byte, ok bool) {
	if s.lastCR {
		s.lastCR = false
		if data[0] == '\n' {
			data = data[1:]
			if len(data) == 0 {
				return nil, nil, false
			}
		}
	}
	i := indexCRLF(data)
	if i < 0 {
		s.keep(data)
		return nil, nil, false
	}
	s.lastCR = data[i] == '\r'
	rest = data[i+1:]
	if s.lastCR && len(rest) > 0 && rest[0] == '\n' {
		s.lastCR = false
		rest = rest[1:]
	}
	if len(s.line) == 0 && !s.long {
		line = data[:i]
		if len(line) > httpMaxLine {
			line = line[:httpMaxLine]
		}
		return line, rest, true
	}
	s.keep(data[:i])
	line = s.line
	s.line = s.line[:0]
	s.long = false
	return line, rest, true
}

// keep appends part of a line, up to httpMaxLine bytes.
func (s *httpSide) keep(b []byte) {
	if room := httpMaxLine - len(s.line); room < len(b) {
		b = b[:max(room, 0)]
		s.long = true
	}
	s.line = append(s.line, b...)
}

// line handles one complete line of a direction.
func (p *httpParser) line(c *Ctx, isOrig bool, line []byte) {
	s := &p.side[dirIndex(isOrig)]
	switch s.state {
	case httpStart:
		if len(trimLeftSpaceTab(line)) == 0 {
			return // blank lines between messages are skipped
		}
		if isOrig {
			p.requestLine(c, line)
		} else {
			p.statusLine(c, line)
		}
	case httpHeaders, httpTrailers:
		if len(line) == 0 {
			if s.state == httpTrailers {
				p.endMessage(c, isOrig)
			} else {
				p.endHeaders(c, isOrig)
			}
			return
		}
		if s.state == httpHeaders {
			p.header(c, isOrig, line)
		}
	case httpChunkSize:
		n, ok := chunkSize(line)
		switch {
		case !ok:
			c.Stop() // the body cannot be followed any more
			s.state = httpDone
		case n == 0:
			s.state = httpTrailers
		default:
			s.state, s.left = httpChunkData, n
		}
	case httpChunkEnd:
		s.state = httpChunkSize
	}
}

// requestLine parses a request line: a method token, whitespace, a URI, and an
// optional HTTP version (without one it is HTTP/0.9 and needs a method of three
// characters or more).
func (p *httpParser) requestLine(c *Ctx, line []byte) {
	line = trimLeftSpaceTab(line)
	m := 0
	for m < len(line) && httpToken(line[m]) {
		m++
	}
	method := line[:m]
	rest := line[m:]
	ws := 0
	for ws < len(rest) && (rest[ws] == ' ' || rest[ws] == '\t') {
		ws++
	}
	if m == 0 || ws == 0 {
		c.Violation() // no method, or nothing after it: the rest need not be read
		return
	}
	uri := rest[ws:]
	if end := indexSpaceTab(uri); end >= 0 {
		uri = uri[:end]
	}
	version := trimSpaceTab(rest[ws+len(uri):])
	http09 := !bytes.HasPrefix(version, []byte("HTTP/"))
	if m == 0 || ws == 0 || len(uri) == 0 || http09 && m < 3 {
		c.Violation()
		return
	}
	kind := reqOther
	switch {
	case http09:
		kind = reqHTTP09
	case string(method) == "HEAD":
		kind = reqHead
	case string(method) == "CONNECT":
		kind = reqConnect
	}
	if len(p.pending) < httpMaxPending {
		p.pending = append(p.pending, kind)
	}
	c.Confirm()
	s := &p.side[0]
	if http09 {
		return // no headers follow
	}
	s.startMessage()
}

// httpToken reports a token character: printable ASCII other than the separators.
func httpToken(b byte) bool {
	if b <= ' ' || b >= 0x7f {
		return false
	}
	switch b {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return false
	}
	return true
}

// statusLine parses a status line: HTTP/version, whitespace, a three-character
// code.
func (p *httpParser) statusLine(c *Ctx, line []byte) {
	if len(line) < 5 || !bytes.EqualFold(line[:5], []byte("HTTP/")) {
		c.Violation()
		return
	}
	rest := line[5:]
	v := 0
	for v < len(rest) && rest[v] != ' ' && rest[v] != '\t' {
		v++
	}
	ws := v
	for ws < len(rest) && (rest[ws] == ' ' || rest[ws] == '\t') {
		ws++
	}
	code := rest[ws:]
	if v == 0 || ws == v || len(code) < 3 || len(code) > 3 && code[3] != ' ' && code[3] != '\t' {
		c.Violation()
		return
	}
	status, err := strconv.Atoi(string(code[:3]))
	if err != nil {
		status = 0
	}
	if len(p.pending) > 0 {
		c.Confirm()
	}
	s := &p.side[1]
	s.startMessage()
	s.status = status
}

// startMessage resets a direction for the headers of a new message.
func (s *httpSide) startMessage() {
	s.state = httpHeaders
	s.hasLen, s.length, s.chunked = false, 0, false
	s.connUpgrade, s.upgrade, s.status = false, s.upgrade[:0], 0
}

// header reads the headers that frame the body, name the host, or upgrade.
func (p *httpParser) header(c *Ctx, isOrig bool, line []byte) {
	s := &p.side[dirIndex(isOrig)]
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return
	}
	name = bytes.TrimSpace(name)
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("content-length")):
		if n, err := strconv.ParseUint(string(value), 10, 63); err == nil {
			s.hasLen, s.length = true, n
		}
	case bytes.EqualFold(name, []byte("transfer-encoding")):
		if bytes.Contains(bytes.ToLower(value), []byte("chunked")) {
			s.chunked = true
		}
	case bytes.EqualFold(name, []byte("connection")):
		first, _, _ := bytes.Cut(value, []byte(","))
		s.connUpgrade = bytes.EqualFold(bytes.TrimSpace(first), []byte("upgrade"))
	case bytes.EqualFold(name, []byte("upgrade")):
		s.upgrade = append(s.upgrade[:0], value...)
	case isOrig && !p.named && bytes.EqualFold(name, []byte("host")):
		p.named = true
		c.Name(NameHTTPHost, hostName(value))
	}
}

// hostName returns a Host header's host, without a port, lower case.
func hostName(v []byte) string {
	h := v
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && !bytes.Contains(h[i:], []byte("]")) {
		if _, err := strconv.Atoi(string(h[i+1:])); err == nil || i == len(h)-1 {
			if bytes.Count(h, []byte(":")) == 1 || h[0] == '[' {
				h = h[:i]
			}
		}
	}
	h = bytes.TrimSuffix(bytes.TrimPrefix(h, []byte("[")), []byte("]"))
	return string(bytes.ToLower(h))
}

// endHeaders decides what follows a message's headers: a body, nothing, or a
// tunnel.
func (p *httpParser) endHeaders(c *Ctx, isOrig bool) {
	s := &p.side[dirIndex(isOrig)]
	if isOrig {
		switch {
		case s.chunked:
			s.state = httpChunkSize
		case s.hasLen && s.length > 0:
			s.state, s.left = httpBody, s.length
		default:
			s.state = httpStart
		}
		return
	}
	kind := reqOther
	if len(p.pending) > 0 {
		kind = p.pending[0]
	}
	switch {
	case s.status == 101 && s.connUpgrade && len(s.upgrade) > 0 && len(p.pending) == 1:
		p.pending = p.pending[:0]
		if bytes.EqualFold(s.upgrade, []byte("websocket")) {
			p.tunnel = c.Child("websocket")
		}
		if p.tunnel == nil {
			p.tunnel = c.Tunnel()
		}
		p.side[0].state, p.side[1].state = httpTunnel, httpTunnel
	case s.status >= 100 && s.status < 200:
		s.state = httpStart // an interim response: the final one follows
	case kind == reqConnect && s.status == 200:
		p.pending = p.pending[:0]
		p.tunnel = c.Tunnel()
		p.side[0].state, p.side[1].state = httpTunnel, httpTunnel
	case kind == reqHead || s.status == 204 || s.status == 304 || kind == reqConnect && s.status/100 == 2:
		p.endMessage(c, false)
	case s.chunked:
		s.state = httpChunkSize
	case s.hasLen:
		if s.length == 0 {
			p.endMessage(c, false)
		} else {
			s.state, s.left = httpBody, s.length
		}
	default:
		s.state = httpUntilClose
	}
}

// endMessage ends a direction's message; a response answers the oldest request.
func (p *httpParser) endMessage(c *Ctx, isOrig bool) {
	s := &p.side[dirIndex(isOrig)]
	s.state = httpStart
	if !isOrig && len(p.pending) > 0 {
		p.pending = p.pending[1:]
	}
}

// chunkSize parses a chunk-size line: hexadecimal digits, optionally followed by
// extensions.
func chunkSize(line []byte) (uint64, bool) {
	line = bytes.TrimSpace(line)
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = bytes.TrimSpace(line[:i])
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(line), 16, 64)
	return n, err == nil
}

func (p *httpParser) Gap(c *Ctx, isOrig bool, n uint64) {
	s := &p.side[dirIndex(isOrig)]
	switch {
	case s.state == httpTunnel:
		p.tunnel.Gap(isOrig, n)
		return
	case s.state == httpUntilClose:
		return // a body until the end: nothing to follow
	case (s.state == httpBody || s.state == httpChunkData) && n <= s.left:
		// A gap inside a body is read past.
		s.left -= n
		if s.left == 0 {
			if s.state == httpBody {
				p.endMessage(c, isOrig)
			} else {
				s.state = httpChunkEnd
			}
		}
		return
	}
	// A gap outside a body: this direction's messages cannot be followed any more.
	s.state = httpDone
	if p.side[0].state == httpDone && p.side[1].state == httpDone {
		c.Stop()
	}
}

func (p *httpParser) End(c *Ctx, isOrig bool) {
	if p.tunnel != nil {
		p.tunnel.End(isOrig)
	}
}

// Reset makes p as new, keeping its buffers (resetter).
func (p *httpParser) Reset() {
	var line, upgrade [2][]byte
	for d := range p.side {
		line[d], upgrade[d] = p.side[d].line[:0], p.side[d].upgrade[:0]
	}
	*p = httpParser{pending: p.pending[:0]}
	for d := range p.side {
		p.side[d].line, p.side[d].upgrade = line[d], upgrade[d]
	}
}
