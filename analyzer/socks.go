package analyzer

import "bytes"

// SOCKS 4, 4a and 5 (RFC 1928, RFC 1929; service-detection.md §8 row socks, §7
// rules socks*, §5.2 for the tunnelled payload).
//
// SOCKS4: the client's request (version 4, command 1 CONNECT or 2 BIND, port,
// IPv4 address, NUL-terminated user id, and for 4a, when the address is 0.0.0.x,
// a NUL-terminated host name) is answered by an 8-byte reply (version 0, status,
// port, address). SOCKS5: the client lists its authentication methods, the server
// picks one (0: none, 2: user name and password, 0xff: none acceptable), the
// user/password sub-negotiation runs if picked, then the client's request (version
// 5, command 1-3, a reserved 0, address type 1 IPv4, 3 domain name or 4 IPv6,
// address, port) is answered by a reply of the same layout. A BIND is answered
// twice.
//
// The reply to the request confirms. A bad version, a non-zero reserved field, an
// unknown command or address type is a violation. The client is the side that
// speaks first, so the analyzer also reads a connection whose roles are reversed
// (the socks4 reverse rules). Once both sides have finished the exchange their
// bytes go to a nested PIA, which finds the tunnelled protocol (`socks,http`).

// init registers the socks analyzer on its port with the socks rules (§7).
func init() {
	register(&Analyzer{
		Name:        "socks",
		Transport:   TCP,
		Ports:       []uint16{1080},
		SkipPartial: true,
		New:         func() Parser { return new(socksParser) },
	},
		&Rule{Name: "socks4-c", Transport: TCP, Dir: Orig, Pattern: `^\x04[\x01\x02].{0,32}\x00`, Match: matchSOCKS4Request},
		&Rule{Name: "socks4-s", Transport: TCP, Dir: Resp, Pattern: `^\x00[\x5a-\x5d]`, Needs: "socks4-c", Enables: "socks",
			Match: matchSOCKS4Reply},
		&Rule{Name: "socks4-reverse-c", Transport: TCP, Dir: Resp, Pattern: `^\x04[\x01\x02].{0,32}\x00`, Match: matchSOCKS4Request},
		&Rule{Name: "socks4-reverse-s", Transport: TCP, Dir: Orig, Pattern: `^\x00[\x5a-\x5d]`, Needs: "socks4-reverse-c",
			Enables: "socks", Match: matchSOCKS4Reply},
		&Rule{Name: "socks5-c", Transport: TCP, Dir: Orig, Pattern: `^\x05.[\x00-\x03\x05-\x09]`,
			Match: func(b []byte) Result { return seq(b, bytesOf(5), anyByte, socks5Methods) }},
		&Rule{Name: "socks5-s", Transport: TCP, Dir: Resp, Pattern: `^\x05[\x00-\x03\x05-\x09\xff]`, Needs: "socks5-c",
			Enables: "socks", Match: func(b []byte) Result { return seq(b, bytesOf(5), socks5Choices) }},
	)
}

// Byte classes of the socks rules.
var (
	socks5Methods = union(span(0, 3), span(5, 9))
	socks5Choices = union(socks5Methods, bytesOf(0xff))
	socks4Cmd     = bytesOf(1, 2)
	socks4Status  = span(0x5a, 0x5d)
)

// matchSOCKS4Request is socks4-c: version 4, CONNECT or BIND, and a NUL among the
// 33 bytes that follow.
func matchSOCKS4Request(b []byte) Result {
	if r := seq(b, bytesOf(4), socks4Cmd); r != Match {
		return r
	}
	if i := bytes.IndexByte(b[2:min(len(b), 35)], 0); i >= 0 {
		return Match
	}
	if len(b) >= 35 {
		return Fail
	}
	return More
}

// matchSOCKS4Reply is socks4-s: version 0 and a status 90-93.
func matchSOCKS4Reply(b []byte) Result { return seq(b, bytesOf(0), socks4Status) }

// Limits of the parser.
const (
	socksMaxMsg   = 1 << 10 // a handshake message (user ids, names: at most a few hundred bytes)
	socksMaxEarly = 4 << 10 // client payload kept until the server has finished
)

// Handshake phases: which message is expected next, and from whom.
const (
	socksStart     uint8 = iota // the client's first message
	socks4Request               // client
	socks4Reply                 // server
	socks5Greeting              // client: methods
	socks5Method                // server: the chosen method
	socks5Auth                  // client: user name and password
	socks5AuthOK                // server: the sub-negotiation's status
	socks5Request               // client
	socks5Reply                 // server
	socksTunnel                 // both finished: bytes go to the nested PIA
	socksStopped                // the parser gave up
)

// socksParser is the SOCKS analyzer on one connection.
type socksParser struct {
	phase   uint8
	client  uint8 // direction index of the client (the first to speak)
	cmd     byte  // the request's command
	second  bool  // a BIND's second reply is expected
	buf     [2][]byte
	dropped uint64 // client payload beyond socksMaxEarly, reported as a gap
	tunnel  *Child
}

// Data collects each direction and runs the handshake; after it, bytes go to
// the tunnel.
func (p *socksParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirIndex(isOrig)
	if p.phase == socksTunnel {
		p.tunnel.Data(isOrig, data)
		return
	}
	if p.phase == socksStart && len(p.buf[0]) == 0 && len(p.buf[1]) == 0 {
		p.client = d
	}
	if d == p.client && p.clientDone() {
		// Payload before the server has finished: kept for the tunnel, and
		// what does not fit reported to it as a gap.
		if p.dropped > 0 || len(p.buf[d])+len(data) > socksMaxEarly {
			p.dropped += uint64(len(data))
			return
		}
		p.buf[d] = append(p.buf[d], data...)
		return
	}
	p.buf[d] = append(p.buf[d], data...)
	for p.step(c) {
	}
	switch {
	case p.phase >= socksTunnel:
	case d == p.client && p.clientDone():
		// The rest of the chunk is early payload.
		if len(p.buf[d]) > socksMaxEarly {
			p.dropped = uint64(len(p.buf[d]) - socksMaxEarly)
			p.buf[d] = p.buf[d][:socksMaxEarly]
		}
	case len(p.buf[d]) > socksMaxMsg:
		// No handshake message is this long.
		p.stop(c)
	}
}

// clientDone reports whether the client has sent its request: only the server
// has more to say.
func (p *socksParser) clientDone() bool {
	return p.phase == socks4Reply || p.phase == socks5Reply
}

// take consumes the first n bytes of direction d.
func (p *socksParser) take(d uint8, n int) {
	p.buf[d] = p.buf[d][:copy(p.buf[d], p.buf[d][n:])]
}

// step reads the next message of the handshake if it is complete, and reports
// whether it did (false also once the parser stopped or the tunnel started).
func (p *socksParser) step(c *Ctx) bool {
	cl, sv := p.client, p.client^1
	b := p.buf[cl]
	switch p.phase {
	case socksStart:
		if len(b) == 0 {
			return false
		}
		switch b[0] {
		case 4:
			p.phase = socks4Request
		case 5:
			p.phase = socks5Greeting
		default:
			return p.fail(c)
		}
		return true

	case socks4Request:
		// version, command, port (2), address (4), user id, NUL[, host, NUL]
		if len(b) >= 2 && b[1] != 1 && b[1] != 2 {
			return p.fail(c)
		}
		if len(b) < 9 {
			return false
		}
		i := bytes.IndexByte(b[8:], 0)
		if i < 0 {
			return false
		}
		n := 8 + i + 1
		if b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0 {
			// SOCKS4a: the host name follows.
			j := bytes.IndexByte(b[n:], 0)
			if j < 0 {
				return false
			}
			n += j + 1
		}
		p.cmd = b[1]
		p.take(cl, n)
		p.phase = socks4Reply
		return true

	case socks4Reply:
		// version 0 (4 from some servers), status, port, address
		r := p.buf[sv]
		if len(r) > 0 && r[0] != 0 && r[0] != 4 {
			return p.fail(c)
		}
		if len(r) < 8 {
			return false
		}
		status := r[1]
		p.take(sv, 8)
		c.Confirm()
		if p.cmd == 2 && status == 90 && !p.second {
			p.second = true // the BIND's second reply, when the peer connects
			return true
		}
		return p.startTunnel(c)

	case socks5Greeting:
		// version, method count, methods
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return false
		}
		p.take(cl, 2+int(b[1]))
		p.phase = socks5Method
		return true

	case socks5Method:
		r := p.buf[sv]
		if len(r) > 0 && r[0] != 5 {
			return p.fail(c)
		}
		if len(r) < 2 {
			return false
		}
		m := r[1]
		p.take(sv, 2)
		switch m {
		case 0:
			p.phase = socks5Request
		case 2:
			p.phase = socks5Auth
		default:
			// No acceptable method, or one (GSSAPI, ...) this parser cannot
			// follow.
			p.stop(c)
			return false
		}
		return true

	case socks5Auth:
		// version 1, user name length, user name, password length, password
		if len(b) > 0 && b[0] != 1 {
			return p.fail(c)
		}
		if len(b) < 2 {
			return false
		}
		n := 2 + int(b[1])
		if len(b) < n+1 || len(b) < n+1+int(b[n]) {
			return false
		}
		p.take(cl, n+1+int(b[n]))
		p.phase = socks5AuthOK
		return true

	case socks5AuthOK:
		// version (1; some servers send 5: not judged), status
		r := p.buf[sv]
		if len(r) < 2 {
			return false
		}
		if r[1] != 0 {
			p.stop(c) // authentication failed
			return false
		}
		p.take(sv, 2)
		p.phase = socks5Request
		return true

	case socks5Request:
		n, ok := p.socks5Msg(c, b, true)
		if !ok || n == 0 {
			return false
		}
		p.cmd = b[1]
		p.take(cl, n)
		p.phase = socks5Reply
		return true

	case socks5Reply:
		r := p.buf[sv]
		n, ok := p.socks5Msg(c, r, false)
		if !ok || n == 0 {
			return false
		}
		status := r[1]
		p.take(sv, n)
		c.Confirm()
		if p.cmd == 2 && status == 0 && !p.second {
			p.second = true
			return true
		}
		return p.startTunnel(c)
	}
	return false
}

// socks5Msg checks a SOCKS5 request or reply at the start of b: version 5, the
// command (requests: 1-3) or status, a reserved 0, the address type and the
// address, and the port. It returns the message's length, 0 while it is
// incomplete; ok is false after a violation.
func (p *socksParser) socks5Msg(c *Ctx, b []byte, request bool) (int, bool) {
	switch {
	case len(b) > 0 && b[0] != 5:
		return 0, p.fail(c)
	case len(b) > 1 && request && (b[1] < 1 || b[1] > 3):
		return 0, p.fail(c)
	case len(b) > 2 && b[2] != 0:
		return 0, p.fail(c)
	case len(b) < 4:
		return 0, true
	}
	var n int
	switch b[3] {
	case 1:
		n = 4 + 4 + 2
	case 4:
		n = 4 + 16 + 2
	case 3:
		if len(b) < 5 {
			return 0, true
		}
		n = 4 + 1 + int(b[4]) + 2
	default:
		return 0, p.fail(c)
	}
	if len(b) < n {
		return 0, true
	}
	return n, true
}

// startTunnel hands the bytes after the exchange to a nested PIA: the client's
// early payload (and the size of what did not fit, as a gap), then the rest of
// the server's bytes.
func (p *socksParser) startTunnel(c *Ctx) bool {
	p.phase = socksTunnel
	p.tunnel = c.Tunnel()
	cl, sv := p.client, p.client^1
	p.tunnel.Data(cl == 0, p.buf[cl])
	if p.dropped > 0 {
		p.tunnel.Gap(cl == 0, p.dropped)
	}
	p.tunnel.Data(sv == 0, p.buf[sv])
	p.buf = [2][]byte{}
	return false
}

// fail raises a violation and stops; it returns false for the callers.
func (p *socksParser) fail(c *Ctx) bool {
	c.Violation()
	p.stop(c)
	return false
}

// stop ends the parser and lets its buffers go.
func (p *socksParser) stop(c *Ctx) {
	p.buf = [2][]byte{}
	p.phase = socksStopped
	c.Stop()
}

// Gap: before the tunnel, the exchange cannot be followed across missing bytes;
// inside it, the gap is the tunnel's.
func (p *socksParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if p.phase == socksTunnel {
		p.tunnel.Gap(isOrig, n)
		return
	}
	p.stop(c)
}

// End passes the end of a direction on to the tunnel.
func (p *socksParser) End(c *Ctx, isOrig bool) {
	if p.phase == socksTunnel {
		p.tunnel.End(isOrig)
	}
}

// held returns the bytes the parser keeps, for tests.
func (p *socksParser) held() int { return cap(p.buf[0]) + cap(p.buf[1]) }
