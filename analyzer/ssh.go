package analyzer

import "encoding/binary"

// SSH (service-detection.md §8 row ssh, §7 ssh-s/ssh-c).
//
// Each side first sends a version line ("SSH-2.0-software comments"); the server
// may send other text lines before its own. Then come the cleartext binary packets
// of the key exchange, framed by the protocol version both lines agree on. The
// analyzer confirms on NEWKEYS (SSH2 message 21) or SSH1 SESSION_KEY (3) in either
// direction, after which everything is encrypted and the parser stops. A client
// stream that does not begin with "SSH-", or a packet that cannot be framed, is a
// violation. The software of each version line is the connection's SSH name.

// init registers ssh on its port with the ssh-s and ssh-c signatures (§7).
func init() {
	register(&Analyzer{
		Name:        "ssh",
		Transport:   TCP,
		Ports:       []uint16{22},
		SkipPartial: true,
		StopAtGap:   true,
		LongLived:   true,
		New:         func() Parser { return new(sshParser) },
	},
		&Rule{Name: "ssh-s", Transport: TCP, Dir: Resp, Pattern: `^[sS][sS][hH]-[12]\.`, Match: matchSSHVersion},
		&Rule{Name: "ssh-c", Transport: TCP, Dir: Orig, Pattern: `^[sS][sS][hH]-[12]\.`, Match: matchSSHVersion,
			Needs: "ssh-s", Enables: "ssh"},
	)
}

// sshVersionClasses are the bytes of `[sS][sS][hH]-[12]\.`.
var sshVersionClasses = []class{bytesOf('s', 'S'), bytesOf('s', 'S'), bytesOf('h', 'H'), bytesOf('-'), bytesOf('1', '2'), bytesOf('.')}

// matchSSHVersion is the ssh-s and ssh-c signature.
func matchSSHVersion(b []byte) Result { return seq(b, sshVersionClasses...) }

// SSH message types that end the cleartext exchange, and limits.
const (
	sshMsgNewKeys     = 21 // SSH2 NEWKEYS
	sshCMsgSessionKey = 3  // SSH1 SSH_CMSG_SESSION_KEY
	// sshMaxFrame is the largest packet that can be framed: Zeek's binpac flow
	// buffer refuses to grow past 10 MiB (BinPAC::flowbuffer_capacity_max), a
	// parse error.
	sshMaxFrame = 10 << 20
	// sshMaxPending bounds the binary data a side may send before the other
	// side's version line has said how to frame it.
	sshMaxPending = 8 << 10
	// sshMaxLine is how much of a text line is kept: the version line is at most
	// 255 bytes (RFC 4253 §4.2).
	sshMaxLine = 1024
)

// Per-direction states.
const (
	sshVersion uint8 = iota // reading text lines up to the version line
	sshBinary               // reading binary packets
)

// Protocol versions both sides agree on.
const (
	sshUndecided uint8 = iota
	sshV1
	sshV2
	sshNone // the version lines do not agree: nothing more to learn
)

// sshSide is one direction's state.
type sshSide struct {
	lines   lineReader
	state   uint8
	major   uint8    // what the version line offers: 1, 2, or 3 for 1.99 (both)
	skipLF  bool     // the version line ended with a CR: an LF right after it is part of it
	pending []byte   // binary data that came before the protocol version was known
	hdr     [13]byte // the packet header being read
	hn      int      // bytes of hdr read
	left    uint64   // bytes of the current packet still to read past
	typ     byte     // the current packet's message type
}

// sshParser is the SSH analyzer on one connection.
type sshParser struct {
	side  [2]sshSide
	proto uint8
	done  bool // stopped: nothing more to parse
}

// Data implements Parser.
func (p *sshParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := dirOf(isOrig)
	s := &p.side[d]
	if p.done {
		return
	}
	if s.state == sshVersion {
		s.lines.max = sshMaxLine
		for {
			line, _, ok := s.lines.next(&data)
			if !ok {
				return
			}
			if !p.versionLine(c, isOrig, line) || p.done {
				return
			}
			if s.state == sshBinary {
				s.skipLF = s.lines.cr
				break
			}
		}
		s.lines = lineReader{}
	}
	if s.skipLF && len(data) > 0 {
		s.skipLF = false
		if data[0] == '\n' {
			data = data[1:]
		}
	}
	p.binary(c, d, data)
}

// versionLine handles a text line of the version exchange; it returns false when
// the parser is done with the connection.
func (p *sshParser) versionLine(c *Ctx, isOrig bool, line []byte) bool {
	if len(line) < 4 || string(line[:4]) != "SSH-" {
		if isOrig {
			// The client must begin with its version; the server may say other
			// things first (RFC 4253 §4.2).
			p.fail(c)
			return false
		}
		return true
	}
	d := dirOf(isOrig)
	s := &p.side[d]
	s.state = sshBinary
	rest := line[4:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "1.99":
		s.major = 3
	case len(rest) >= 1 && rest[0] == '1':
		s.major = 1
	case len(rest) >= 1 && rest[0] == '2':
		s.major = 2
	}
	// The software is what follows the protocol version and its '-'.
	sw := ""
	for i, b := range rest {
		if b == '-' {
			sw = string(rest[i+1:])
			break
		}
	}
	if isOrig {
		c.Name(NameSSHClient, sw)
	} else {
		c.Name(NameSSHServer, sw)
	}
	if p.side[d^1].state == sshBinary {
		p.decide(c)
	}
	return true
}

// decide picks the protocol from both version lines, then frames the binary data
// that waited for it.
func (p *sshParser) decide(c *Ctx) {
	cl, sv := p.side[0].major, p.side[1].major
	switch {
	case cl&2 != 0 && sv&2 != 0:
		p.proto = sshV2
	case cl&1 != 0 && sv&1 != 0:
		p.proto = sshV1
	default:
		p.proto = sshNone
		p.stop(c)
		return
	}
	for d := range p.side {
		s := &p.side[d]
		if len(s.pending) > 0 {
			buf := s.pending
			s.pending = nil
			p.binary(c, d, buf)
			if p.done {
				return
			}
		}
	}
}

// binary frames the binary packets of direction d.
func (p *sshParser) binary(c *Ctx, d int, data []byte) {
	s := &p.side[d]
	if len(data) == 0 || p.done {
		return
	}
	if p.proto == sshUndecided {
		if len(s.pending)+len(data) > sshMaxPending {
			p.stop(c)
			return
		}
		s.pending = append(s.pending, data...)
		return
	}
	for len(data) > 0 {
		if s.left > 0 {
			n := uint64(len(data))
			if n > s.left {
				n = s.left
			}
			s.left -= n
			data = data[n:]
			if s.left == 0 && p.packetDone(c, s) {
				return
			}
			continue
		}
		need := p.headerLen(s)
		k := copy(s.hdr[s.hn:need], data)
		s.hn += k
		data = data[k:]
		if s.hn < need {
			continue
		}
		if need == 4 && p.proto == sshV1 {
			// The SSH1 header's length says how much padding precedes the type.
			if p.headerLen(s) == 0 {
				p.fail(c)
				return
			}
			continue
		}
		length := uint64(binary.BigEndian.Uint32(s.hdr[:4]))
		if p.proto == sshV2 {
			// uint32 packet_length, byte padding_length, byte type, payload, padding.
			pad := uint64(s.hdr[4])
			if length < 2 || pad > length-2 || length+4 > sshMaxFrame {
				p.fail(c)
				return
			}
			s.typ = s.hdr[5]
			s.left = length - 2
		} else {
			// uint32 length, 8 - length%8 bytes of padding, then type, data, CRC.
			pad := 8 - length%8
			s.typ = s.hdr[4+pad]
			s.left = length - 1
		}
		s.hn = 0
		if s.left == 0 && p.packetDone(c, s) {
			return
		}
	}
}

// headerLen returns how many header bytes the current packet needs before its
// message type is known; 0 marks an SSH1 length that cannot be framed.
func (p *sshParser) headerLen(s *sshSide) int {
	if p.proto == sshV2 {
		return 6
	}
	if s.hn < 4 {
		return 4
	}
	length := uint64(binary.BigEndian.Uint32(s.hdr[:4]))
	pad := 8 - length%8
	if length < 5 || length+4+pad > sshMaxFrame {
		return 0
	}
	return 4 + int(pad) + 1
}

// packetDone handles a complete packet; it returns true when the parser stopped.
func (p *sshParser) packetDone(c *Ctx, s *sshSide) bool {
	if p.proto == sshV2 && s.typ == sshMsgNewKeys || p.proto == sshV1 && s.typ == sshCMsgSessionKey {
		// From here on the packets are encrypted: nothing more to parse.
		c.Confirm()
		p.stop(c)
		return true
	}
	return false
}

// fail raises a violation and stops: once the framing is lost nothing more can be
// parsed, even when the violation no longer counts (past 10 KiB).
func (p *sshParser) fail(c *Ctx) {
	c.Violation()
	p.stop(c)
}

// stop ends the parsing of the connection.
func (p *sshParser) stop(c *Ctx) {
	p.done = true
	c.Stop()
}

// Gap implements Parser; ssh stops at gaps (StopAtGap).
func (p *sshParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End implements Parser.
func (p *sshParser) End(c *Ctx, isOrig bool) {}
