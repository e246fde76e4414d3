package analyzer

import "bytes"

// MySQL (service-detection.md §8 row mysql, §5.1 for TLS). There is no DPD
// signature: the analyzer only runs on its ports.
//
// Every MySQL message is a packet: a 3-byte little-endian payload length, a
// sequence number, then the payload. The server speaks first with its greeting
// (the initial handshake, protocol version 10, or 9 for very old servers); the
// client answers with its handshake response. That response parsing after a
// greeting of version 9 or 10 confirms. A response that is a short SSL request
// (the capability flags with CLIENT_SSL and nothing after them) switches the
// connection to TLS: the bytes that follow, in both directions, go to an SSL child
// (`mysql,ssl`). After the handshake nothing else can change the service, so the
// parser stops.

// init registers the mysql analyzer on its ports (§8); it has no signature.
func init() {
	register(&Analyzer{
		Name:        "mysql",
		Transport:   TCP,
		Ports:       []uint16{1434, 3306},
		SkipPartial: true,
		StopAtGap:   true,
		New:         func() Parser { return new(mysqlParser) },
	})
}

// Capability flags of the handshake response (MySQL client/server protocol).
const (
	mysqlConnectWithDB = 0x0008
	mysqlProtocol41    = 0x0200
	mysqlSSL           = 0x0800
)

// mysqlMaxPacket bounds the handshake packets the parser collects. Greetings and
// handshake responses are a few hundred bytes; a longer one is not judged.
const mysqlMaxPacket = 8 << 10

// Parser states.
const (
	mysqlGreeting uint8 = iota // waiting for the server's greeting
	mysqlResponse              // waiting for the client's handshake response
	mysqlTLS                   // after an SSL request: bytes go to the SSL child
)

// mysqlParser is the MySQL analyzer on one connection.
type mysqlParser struct {
	state   uint8
	version byte      // the greeting's protocol version, 9 or 10
	buf     [2][]byte // each direction's bytes not yet read
	ssl     *Child
}

// Data collects each direction until its next handshake packet is complete and
// reads it: the server's greeting, then the client's response (which must wait
// for the greeting, whatever order the bytes arrive in).
func (p *mysqlParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.state == mysqlTLS {
		p.ssl.Data(isOrig, data)
		p.checkChild(c)
		return
	}
	d := dirIndex(isOrig)
	p.buf[d] = append(p.buf[d], data...)
	if len(p.buf[d]) > 2*mysqlMaxPacket {
		// Too much before a handshake message completes: nothing to judge.
		p.stop(c)
		return
	}
	p.advance(c)
}

// advance reads every handshake packet that is complete, in protocol order.
func (p *mysqlParser) advance(c *Ctx) {
	for {
		switch p.state {
		case mysqlGreeting:
			body, ok := p.packet(c, 1)
			if !ok {
				return
			}
			if !p.greeting(c, body) {
				return
			}
			p.state = mysqlResponse
		case mysqlResponse:
			body, ok := p.packet(c, 0)
			if !ok {
				return
			}
			p.response(c, body)
			return
		default:
			return
		}
	}
}

// packet takes the next complete packet out of direction d's buffer and returns
// its payload (valid until the buffer is next written); ok is false while it is
// incomplete, or after the parser gave up.
func (p *mysqlParser) packet(c *Ctx, d int) (body []byte, ok bool) {
	b := p.buf[d]
	if len(b) < 4 {
		return nil, false
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if n > mysqlMaxPacket {
		p.stop(c)
		return nil, false
	}
	if len(b) < 4+n {
		return nil, false
	}
	body = b[4 : 4+n]
	p.buf[d] = b[4+n:]
	return body, true
}

// greeting reads the server's initial handshake. Version 10 carries the server
// version string, a connection id, 8 bytes of scramble and a filler before the
// optional capability fields; version 9 the version string, a connection id and a
// NUL-terminated scramble. An error packet (0xff) instead of a greeting means the
// server refused the client: the connection will not confirm. Anything else is not
// MySQL.
func (p *mysqlParser) greeting(c *Ctx, body []byte) bool {
	if len(body) == 0 {
		p.fail(c)
		return false
	}
	switch body[0] {
	case 10, 9:
		p.version = body[0]
	case 0xff:
		p.stop(c)
		return false
	default:
		p.fail(c)
		return false
	}
	i := bytes.IndexByte(body[1:], 0)
	if i < 0 {
		p.fail(c)
		return false
	}
	rest := body[2+i:]
	if p.version == 10 {
		if len(rest) < 4+8+1 {
			p.fail(c)
			return false
		}
	} else if len(rest) < 4 || bytes.IndexByte(rest[4:], 0) < 0 {
		p.fail(c)
		return false
	}
	return true
}

// response reads the client's handshake response. With CLIENT_PROTOCOL_41 it is
// the 4.1 layout: capability flags (4), maximum packet size (4), character set
// (1), 23 reserved bytes, then the credentials, starting with a NUL-terminated
// user name. Without it (and always after a version 9 greeting) the 3.20 layout:
// capability flags (2), maximum packet size (3), then the user name. A response
// that ends where the credentials would start is complete; with CLIENT_SSL it is
// the SSL request, after which TLS starts.
func (p *mysqlParser) response(c *Ctx, body []byte) {
	fixed := 32
	if p.version == 9 || len(body) >= 2 && (int(body[0])|int(body[1])<<8)&mysqlProtocol41 == 0 {
		fixed = 5
	}
	if len(body) < fixed {
		p.fail(c)
		return
	}
	flags := int(body[0]) | int(body[1])<<8
	if len(body) > fixed && bytes.IndexByte(body[fixed:], 0) < 0 {
		p.fail(c)
		return
	}
	c.Confirm()
	if len(body) == fixed && flags&mysqlSSL != 0 {
		p.state = mysqlTLS
		p.ssl = c.Child("ssl")
		client, server := p.buf[0], p.buf[1]
		p.buf = [2][]byte{}
		p.ssl.Data(true, client)
		p.ssl.Data(false, server)
		p.checkChild(c)
		return
	}
	p.stop(c)
}

// fail raises a violation: the bytes are not MySQL, and nothing after them can be
// read in step.
func (p *mysqlParser) fail(c *Ctx) {
	c.Violation()
	p.stop(c)
}

// stop ends the parser and lets its buffers go.
func (p *mysqlParser) stop(c *Ctx) {
	p.buf = [2][]byte{}
	c.Stop()
}

// checkChild stops the parser once the SSL child is gone: it has nothing left to
// feed.
func (p *mysqlParser) checkChild(c *Ctx) {
	if p.ssl.Stopped() {
		c.Stop()
	}
}

// Gap needs nothing: the analyzer stops at the first gap (StopAtGap).
func (p *mysqlParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End passes the end of a direction on to the SSL child.
func (p *mysqlParser) End(c *Ctx, isOrig bool) {
	if p.state == mysqlTLS {
		p.ssl.End(isOrig)
	}
}

// held returns the bytes the parser keeps, for tests.
func (p *mysqlParser) held() int { return cap(p.buf[0]) + cap(p.buf[1]) }
