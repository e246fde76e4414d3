package analyzer

// DHCP (service-detection.md §8 row dhcp, §7 rule dhcp). A BOOTP message (RFC 951,
// RFC 2131: 236 fixed bytes) with the magic cookie and an option list that ends in
// the END option confirms; a bad cookie, a short message or an option list without
// END is a violation. A message without a message-type option (53) is also a
// violation, raised after the confirmation, so the service goes again.

func init() {
	register(&Analyzer{
		Name:      "dhcp",
		Transport: UDP,
		Ports:     []uint16{67, 68, 4011},
		New:       func() Parser { return new(dhcpParser) },
	}, &Rule{
		Name:      "dhcp",
		Transport: UDP,
		Pattern:   `^.{236}\x63\x82\x53\x63`,
		Match:     matchDHCP,
		Enables:   "dhcp",
	})
}

// DHCP layout and option codes (RFC 2131 §3, RFC 2132).
const (
	dhcpFixedLen   = 236
	dhcpCookie     = "\x63\x82\x53\x63"
	dhcpOptPad     = 0
	dhcpOptMsgType = 53
	dhcpOptEnd     = 255
)

// matchDHCP is the dhcp rule: any 236 bytes, then the magic cookie.
func matchDHCP(data []byte) Result {
	if len(data) <= dhcpFixedLen {
		return More
	}
	return lit(data[dhcpFixedLen:], dhcpCookie)
}

// dhcpParser parses each DHCP datagram of a connection.
type dhcpParser struct{}

// Data parses one datagram.
func (dhcpParser) Data(c *Ctx, isOrig bool, d []byte) {
	if len(d) < dhcpFixedLen+len(dhcpCookie) || string(d[dhcpFixedLen:dhcpFixedLen+len(dhcpCookie)]) != dhcpCookie {
		c.Violation()
		return
	}
	typed, ended := false, false
	for off := dhcpFixedLen + len(dhcpCookie); off < len(d) && !ended; {
		code := d[off]
		off++
		switch code {
		case dhcpOptPad:
		case dhcpOptEnd:
			ended = true
		default:
			if off >= len(d) || off+1+int(d[off]) > len(d) {
				c.Violation() // the option runs past the datagram: a parse error
				return
			}
			typed = typed || code == dhcpOptMsgType
			off += 1 + int(d[off])
		}
	}
	if !ended {
		c.Violation()
		return
	}
	c.Confirm()
	if !typed {
		c.Violation()
	}
}

// Gap is not called for UDP.
func (dhcpParser) Gap(*Ctx, bool, uint64) {}

// End is not called for UDP.
func (dhcpParser) End(*Ctx, bool) {}
