package analyzer

import (
	"bytes"
	"encoding/binary"
)

// RDP over TCP (service-detection.md §8 row rdp, §7 rules rdp-s and rdp-c, §5.1
// for TLS). [MS-RDPBCGR] frames the connection sequence in TPKT (version 3, a
// reserved byte, a 16-bit length counting the header) around X.224 TPDUs: the
// client's Connection Request, the server's Connection Confirm (which may carry an
// RDP_NEG_RSP naming the selected security protocol), then Data TPDUs carrying
// T.125 MCS. The MCS Connect-Initial (BER) holds the client's GCC Conference
// Create Request (PER), whose user data are the client data blocks (Client Core
// Data first); the MCS Connect-Response holds the GCC Conference Create Response
// with the server data blocks (Server Core, Security and Network Data).
//
// Client Core Data that parses, or a GCC Conference Create Response whose data
// blocks (Server Security Data among them) parse, confirms. Both are only seen
// with standard RDP security: when the Connection Confirm selects a protocol above
// 0 (TLS, CredSSP, ...) everything after it is TLS and goes to an SSL child, so
// the service is `ssl` alone. A TPDU or MCS structure that does not parse is a
// violation. Once a direction's MCS connect message is read nothing later can
// change the service: the parser reads no further (the rest is encrypted, or in
// fast-path framing).

// init registers the rdp analyzer on its port with rdp-s and rdp-c (§7).
func init() {
	register(&Analyzer{
		Name:        "rdp",
		Transport:   TCP,
		Ports:       []uint16{3389},
		SkipPartial: true,
		StopAtGap:   true,
		New:         func() Parser { return new(rdpParser) },
	},
		&Rule{Name: "rdp-s", Transport: TCP, Pattern: `^(.{5}\xd0|.*McDn)`, Match: matchRDPServer, Resume: resumeRDPServer},
		&Rule{Name: "rdp-c", Transport: TCP, Pattern: `^.*(Cookie: mstshash=|Duca.*(rdpdr|rdpsnd|drdynvc|cliprdr))`,
			Needs: "rdp-s", Enables: "rdp", Match: matchRDPClient},
	)
}

// matchRDPServer is rdp-s: an X.224 Connection Confirm after the TPKT header, or
// the GCC response key "McDn" anywhere.
func matchRDPServer(b []byte) Result {
	if len(b) >= 6 && b[5] == 0xd0 || bytes.Contains(b, []byte("McDn")) {
		return Match
	}
	return More
}

// resumeRDPServer is matchRDPServer on b when it said More on b[:old]: byte 5
// is not 0xd0 if it was there already, and "McDn" is not within the old bytes.
func resumeRDPServer(b []byte, old int) Result {
	if old < 6 {
		return matchRDPServer(b)
	}
	if bytes.Contains(b[old-3:], []byte("McDn")) {
		return Match
	}
	return More
}

// rdpChannels are the static virtual channel names of the rdp-c rule.
var rdpChannels = []string{"rdpdr", "rdpsnd", "drdynvc", "cliprdr"}

// matchRDPClient is rdp-c: the mstshash cookie of a Connection Request, or the GCC
// request key "Duca" followed later by a well-known channel name.
func matchRDPClient(b []byte) Result {
	if bytes.Contains(b, []byte("Cookie: mstshash=")) {
		return Match
	}
	if i := bytes.Index(b, []byte("Duca")); i >= 0 {
		rest := b[i+4:]
		for _, ch := range rdpChannels {
			if bytes.Contains(rest, []byte(ch)) {
				return Match
			}
		}
	}
	return More
}

// rdpMaxPDU bounds the TPKT packets the parser collects. The connect messages are
// a few KiB at most; a longer one is not judged.
const rdpMaxPDU = 8 << 10

// X.224 TPDU codes (the high nibble of the byte after the length indicator).
const (
	x224ConnReq  = 0xe0
	x224ConnConf = 0xd0
	x224Data     = 0xf0
)

// GCC user data block types.
const (
	rdpCSCore     = 0xc001
	rdpSCCore     = 0x0c01
	rdpSCSecurity = 0x0c02
	rdpSCNet      = 0x0c03
)

// rdpParser is the RDP analyzer on one connection.
type rdpParser struct {
	buf  [2][]byte // each direction's bytes not yet read
	done [2]bool   // the direction's MCS connect message was read
	tls  bool      // the Connection Confirm selected TLS or CredSSP
	ssl  *Child
}

// Data collects each direction's TPKT packets and reads them.
func (p *rdpParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.tls {
		p.ssl.Data(isOrig, data)
		if p.ssl.Stopped() {
			c.Stop()
		}
		return
	}
	d := dirIndex(isOrig)
	if p.done[d] {
		return
	}
	if len(p.buf[d]) == 0 {
		// Read straight from data; keep only an incomplete packet.
		n := p.read(c, d, data)
		if n >= 0 && !p.tls && !p.done[d] {
			p.buf[d] = append(p.buf[d], data[n:]...)
		}
		return
	}
	p.buf[d] = append(p.buf[d], data...)
	n := p.read(c, d, p.buf[d])
	if n >= 0 && !p.tls && !p.done[d] {
		p.buf[d] = p.buf[d][:copy(p.buf[d], p.buf[d][n:])]
	}
}

// read reads the complete packets at the start of b, from direction d, and
// returns how many bytes it consumed, or -1 once the parser stopped or handed
// over to SSL.
func (p *rdpParser) read(c *Ctx, d uint8, b []byte) int {
	off := 0
	for !p.done[d] {
		rest := b[off:]
		if len(rest) < 4 {
			break
		}
		if rest[0] != 3 {
			return p.fail(c)
		}
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if n < 7 {
			return p.fail(c)
		}
		if n > rdpMaxPDU {
			return p.stop(c)
		}
		if len(rest) < n {
			break
		}
		off += n
		if !p.tpdu(c, d == 0, rest[4:n]) {
			return -1
		}
		if p.tls {
			// Everything after the Connection Confirm is TLS: hand both
			// directions' remaining bytes to the SSL child.
			p.ssl = c.Child("ssl")
			var client, server []byte
			if d == 0 {
				client, server = b[off:], p.buf[1]
			} else {
				client, server = p.buf[0], b[off:]
			}
			p.ssl.Data(true, client)
			p.ssl.Data(false, server)
			p.buf = [2][]byte{}
			if p.ssl.Stopped() {
				c.Stop()
			}
			return -1
		}
	}
	if p.done[0] && p.done[1] {
		return p.stop(c)
	}
	if p.done[d] {
		p.buf[d] = nil
	}
	return off
}

// tpdu reads one X.224 TPDU; false once the parser stopped.
func (p *rdpParser) tpdu(c *Ctx, isOrig bool, t []byte) bool {
	li := int(t[0])
	if li+1 > len(t) || li < 2 {
		return p.fail(c) >= 0
	}
	switch t[1] & 0xf0 {
	case x224ConnConf:
		if isOrig {
			return true
		}
		return p.confirm(c, t)
	case x224Data:
		mcs := t[li+1:]
		switch {
		case isOrig && len(mcs) >= 2 && mcs[0] == 0x7f && mcs[1] == 0x65:
			p.done[0] = true
			return p.connectInitial(c, mcs[2:])
		case !isOrig && len(mcs) >= 2 && mcs[0] == 0x7f && mcs[1] == 0x66:
			p.done[1] = true
			return p.connectResponse(c, mcs[2:])
		}
	}
	// Connection Requests and other TPDUs carry nothing that decides.
	return true
}

// confirm reads a Connection Confirm: after the fixed part (length indicator,
// code, two references, class) an optional RDP_NEG_RSP (type 2: the selected
// protocol) or RDP_NEG_FAILURE (type 3: the server refuses, nothing follows).
func (p *rdpParser) confirm(c *Ctx, t []byte) bool {
	if len(t) < 7 {
		return p.fail(c) >= 0
	}
	neg := t[7:]
	if len(neg) < 8 {
		return true // no negotiation: standard RDP security
	}
	switch neg[0] {
	case 2:
		if binary.LittleEndian.Uint32(neg[4:]) > 0 {
			p.tls = true
		}
	case 3:
		p.stop(c)
		return false
	}
	return true
}

// connectInitial reads an MCS Connect-Initial (after its tag): BER length, then
// calling and called domain selectors, the upward flag, three domain parameter
// sequences, and the user data octet string holding the GCC request.
func (p *rdpParser) connectInitial(c *Ctx, b []byte) bool {
	body, _, ok := rdpBERLen(b)
	if !ok {
		return p.fail(c) >= 0
	}
	var user []byte
	for _, tag := range []byte{0x04, 0x04, 0x01, 0x30, 0x30, 0x30, 0x04} {
		if user, body, ok = rdpBERElem(body, tag); !ok {
			return p.fail(c) >= 0
		}
	}
	blocks, ok := rdpGCC(user, "Duca")
	if !ok {
		return p.fail(c) >= 0
	}
	core := false
	for len(blocks) > 0 {
		typ, data, rest, ok := rdpBlock(blocks)
		if !ok {
			return p.fail(c) >= 0
		}
		blocks = rest
		if typ == rdpCSCore {
			// version, desktop size, color depth, SAS sequence, keyboard layout,
			// client build, client name, keyboard type, subtype and function
			// keys, IME file name: 128 bytes before the optional fields.
			if len(data) < 128 {
				return p.fail(c) >= 0
			}
			core = true
		}
	}
	if core {
		c.Confirm()
		p.stop(c)
		return false
	}
	return true
}

// connectResponse reads an MCS Connect-Response (after its tag): BER length,
// result, called connect id, domain parameters, and the user data octet string
// holding the GCC response, whose server data blocks must all parse.
func (p *rdpParser) connectResponse(c *Ctx, b []byte) bool {
	body, _, ok := rdpBERLen(b)
	if !ok {
		return p.fail(c) >= 0
	}
	var user []byte
	for _, tag := range []byte{0x0a, 0x02, 0x30, 0x04} {
		if user, body, ok = rdpBERElem(body, tag); !ok {
			return p.fail(c) >= 0
		}
	}
	blocks, ok := rdpGCC(user, "McDn")
	if !ok {
		return p.fail(c) >= 0
	}
	for len(blocks) > 0 {
		typ, data, rest, ok := rdpBlock(blocks)
		if !ok {
			return p.fail(c) >= 0
		}
		blocks = rest
		switch typ {
		case rdpSCCore:
			ok = len(data) >= 4 // the server's version
		case rdpSCSecurity:
			// Encryption method and level; then, when either is set, the
			// lengths of the server random and certificate, and those.
			ok = len(data) >= 8
			if ok && len(data) >= 16 {
				n := uint64(binary.LittleEndian.Uint32(data[8:])) + uint64(binary.LittleEndian.Uint32(data[12:]))
				ok = 16+n <= uint64(len(data))
			}
		case rdpSCNet:
			// The I/O channel, the channel count, then the channel ids.
			ok = len(data) >= 4 && 4+2*int(binary.LittleEndian.Uint16(data[2:])) <= len(data)
		}
		if !ok {
			return p.fail(c) >= 0
		}
	}
	c.Confirm()
	p.stop(c)
	return false
}

// rdpBERLen reads a BER definite length at the start of b and returns the content
// it announces, which must be present, and what follows it.
func rdpBERLen(b []byte) (content, rest []byte, ok bool) {
	if len(b) == 0 {
		return nil, nil, false
	}
	n, h := int(b[0]), 1
	switch {
	case n < 0x80:
	case n == 0x81 && len(b) >= 2:
		n, h = int(b[1]), 2
	case n == 0x82 && len(b) >= 3:
		n, h = int(binary.BigEndian.Uint16(b[1:])), 3
	default:
		return nil, nil, false
	}
	if h+n > len(b) {
		return nil, nil, false
	}
	return b[h : h+n], b[h+n:], true
}

// rdpBERElem reads a BER element with the one-byte tag at the start of b: its
// content, and what follows it.
func rdpBERElem(b []byte, tag byte) (content, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != tag {
		return nil, nil, false
	}
	return rdpBERLen(b[1:])
}

// rdpGCC reads T.124 connect data (PER): the t124Identifier object key, the
// connectPDU length, then the conference create request or response up to its
// H.221 key (Duca from the client, McDn from the server) and the length of the
// user data that follow. It returns the data blocks.
func rdpGCC(b []byte, key string) ([]byte, bool) {
	if len(b) < 7 || b[0] != 0 || b[1] != 5 {
		return nil, false
	}
	b, ok := rdpPERLen(b[7:])
	if !ok {
		return nil, false
	}
	i := bytes.Index(b[:min(len(b), 24)], []byte(key))
	if i < 0 {
		return nil, false
	}
	return rdpPERLen(b[i+4:])
}

// rdpPERLen reads a PER length determinant (one byte below 0x80, or two bytes
// with the high bit set) and returns what follows, cut to that length when it is
// shorter.
func rdpPERLen(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	n, h := int(b[0]), 1
	if n&0x80 != 0 {
		if len(b) < 2 || n&0x40 != 0 {
			return nil, false
		}
		n, h = (n&0x3f)<<8|int(b[1]), 2
	}
	b = b[h:]
	if n < len(b) {
		b = b[:n]
	}
	return b, true
}

// rdpBlock reads one GCC user data block: a little-endian type and a length that
// counts the 4-byte header.
func rdpBlock(b []byte) (typ uint16, data, rest []byte, ok bool) {
	if len(b) < 4 {
		return 0, nil, nil, false
	}
	typ = binary.LittleEndian.Uint16(b)
	n := int(binary.LittleEndian.Uint16(b[2:]))
	if n < 4 || n > len(b) {
		return 0, nil, nil, false
	}
	return typ, b[4:n], b[n:], true
}

// fail raises a violation and stops; it returns -1 for read.
func (p *rdpParser) fail(c *Ctx) int {
	c.Violation()
	return p.stop(c)
}

// stop ends the parser and lets its buffers go; it returns -1 for read.
func (p *rdpParser) stop(c *Ctx) int {
	p.buf = [2][]byte{}
	p.done = [2]bool{true, true}
	c.Stop()
	return -1
}

// Gap needs nothing: the analyzer stops at the first gap (StopAtGap).
func (p *rdpParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End passes the end of a direction on to the SSL child.
func (p *rdpParser) End(c *Ctx, isOrig bool) {
	if p.tls {
		p.ssl.End(isOrig)
	}
}

// held returns the bytes the parser keeps, for tests.
func (p *rdpParser) held() int { return cap(p.buf[0]) + cap(p.buf[1]) }
