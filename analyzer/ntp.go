package analyzer

import "encoding/binary"

// NTP (service-detection.md §8 row ntp, §11). Every datagram that parses confirms
// and every one that does not is a violation. Modes 1–5 need the 48-byte header;
// mode 0 always parses; mode 6 (control) needs its 12-byte header and its data,
// mode 7 (private) its 6-byte header, its data and, with the auth bit, a 20-byte
// MAC. A server packet from the orig or a client packet from the resp flips the
// roles, once.

func init() {
	register(&Analyzer{
		Name:      "ntp",
		Transport: UDP,
		Ports:     []uint16{123},
		New:       func() Parser { return new(ntpParser) },
	})
}

// NTP sizes and modes (RFC 5905; RFC 1305 appendix B for mode 6; ntpd for mode 7).
const (
	ntpHeaderLen    = 48
	ntpControlLen   = 12
	ntpPrivateLen   = 6
	ntpMACLen       = 20
	ntpModeClient   = 3
	ntpModeServer   = 4
	ntpModeControl  = 6
	ntpModePrivate  = 7
	ntpMaxVersion   = 4
	ntpPrivateAuth  = 0x80  // mode 7: the auth bit of the second byte
	ntpPrivateItems = 0xfff // mode 7: the data length bits
)

// ntpParser parses each NTP datagram of a connection.
type ntpParser struct {
	flipped bool // the roles were flipped once already
}

// Data parses one datagram.
func (p *ntpParser) Data(c *Ctx, isOrig bool, data []byte) {
	if !ntpParses(data) {
		c.Violation()
		return
	}
	c.Confirm()
	if p.flipped || len(data) < ntpHeaderLen {
		return
	}
	// §11. The version test matches what the tracker did before this analyzer.
	v, mode := data[0]>>3&7, data[0]&7
	if v >= 1 && v <= ntpMaxVersion && (isOrig && mode == ntpModeServer || !isOrig && mode == ntpModeClient) {
		p.flipped = true
		c.Flip()
	}
}

// ntpParses reports whether a datagram is a well-formed NTP message.
func ntpParses(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	switch mode := d[0] & 7; mode {
	case 0:
		return true
	case ntpModeControl:
		return len(d) >= ntpControlLen && ntpControlLen+int(binary.BigEndian.Uint16(d[10:])) <= len(d)
	case ntpModePrivate:
		if len(d) < ntpPrivateLen {
			return false
		}
		n := ntpPrivateLen + int(binary.BigEndian.Uint16(d[4:])&ntpPrivateItems)
		if d[1]&ntpPrivateAuth != 0 {
			n += ntpMACLen
		}
		return n <= len(d)
	default:
		return len(d) >= ntpHeaderLen
	}
}

// Gap is not called for UDP.
func (p *ntpParser) Gap(*Ctx, bool, uint64) {}

// End is not called for UDP.
func (p *ntpParser) End(*Ctx, bool) {}
