package analyzer

import "encoding/binary"

// RDP over UDP, [MS-RDPEUDP] (service-detection.md §8 row rdpeudp, §7 rule
// rdpeudp). Every datagram of the handshake starts with the RDPUDP_FEC_HEADER:
// snSourceAck (4), uReceiveWindowSize (2), uFlags (2), big-endian. A SYN carries
// the RDPUDP_SYNDATA_PAYLOAD after it (initial sequence number, upstream and
// downstream MTU: 8 bytes), then, as its flags say, an RDPUDP_CORRELATION_ID_PAYLOAD
// (32 bytes) and an RDPUDP_SYNDATAEX_PAYLOAD (4 bytes, and a 32-byte cookie hash
// for version 3); the datagram is padded to the MTU.
//
// The originator's SYN (the SYN flag without ACK, snSourceAck 0xffffffff) and then
// the responder's SYN+ACK (any datagram with SYN or ACK set, flags & 0x0005)
// confirm. A datagram that cannot be the next step of the handshake, or is too
// short for what its flags announce, is a violation. After the handshake the
// datagrams are TLS or DTLS records: nothing more to read.

// init registers the rdpeudp analyzer on 3389/udp with its rule (§7).
func init() {
	register(&Analyzer{
		Name:      "rdpeudp",
		Transport: UDP,
		Ports:     []uint16{3389},
		New:       func() Parser { return new(rdpeudpParser) },
	},
		&Rule{Name: "rdpeudp", Transport: UDP, Pattern: `^\xff{4}.{3}\x01`, MinSize: 1132, MaxSize: 1232,
			Enables: "rdpeudp",
			Match: func(b []byte) Result {
				return seq(b, rdpudpFF, rdpudpFF, rdpudpFF, rdpudpFF, anyByte, anyByte, anyByte, rdpudpSYNLow)
			}},
	)
}

// Byte classes of the rdpeudp rule: snSourceAck 0xffffffff, and the low byte of
// uFlags exactly SYN.
var (
	rdpudpFF     = bytesOf(0xff)
	rdpudpSYNLow = bytesOf(0x01)
)

// RDPUDP_FEC_HEADER flags.
const (
	rdpudpSYN           = 0x0001
	rdpudpACK           = 0x0004
	rdpudpCorrelationID = 0x0800
	rdpudpSYNEX         = 0x1000
)

// rdpeudpParser is the RDPEUDP analyzer on one connection.
type rdpeudpParser struct {
	synSeen bool // the originator's SYN was seen
}

// Data reads one datagram.
func (p *rdpeudpParser) Data(c *Ctx, isOrig bool, data []byte) {
	if len(data) < 8 {
		p.fail(c)
		return
	}
	ack := binary.BigEndian.Uint32(data)
	flags := binary.BigEndian.Uint16(data[6:])
	switch {
	case isOrig:
		// The SYN, or its retransmission.
		if flags&(rdpudpSYN|rdpudpACK) != rdpudpSYN || ack != 0xffffffff || !rdpeudpSYNFits(flags, data) {
			p.fail(c)
			return
		}
		p.synSeen = true
	case !p.synSeen:
		// The server does not speak first.
		p.fail(c)
	case flags&(rdpudpSYN|rdpudpACK) == 0 || flags&rdpudpSYN != 0 && !rdpeudpSYNFits(flags, data):
		p.fail(c)
	default:
		c.Confirm()
		c.Stop()
	}
}

// rdpeudpSYNFits reports whether a SYN datagram holds the payloads its flags
// announce.
func rdpeudpSYNFits(flags uint16, data []byte) bool {
	n := 8 + 8
	if flags&rdpudpCorrelationID != 0 {
		n += 32
	}
	if flags&rdpudpSYNEX != 0 {
		n += 4
		if len(data) >= n && binary.BigEndian.Uint16(data[n-2:]) == 0x0101 {
			n += 32 // RDPUDP_PROTOCOL_VERSION_3: the cookie hash
		}
	}
	return len(data) >= n
}

// fail raises a violation and stops.
func (p *rdpeudpParser) fail(c *Ctx) {
	c.Violation()
	c.Stop()
}

// Gap does not occur on UDP.
func (p *rdpeudpParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does not occur on UDP.
func (p *rdpeudpParser) End(c *Ctx, isOrig bool) {}

// held returns the bytes the parser keeps, for tests: none.
func (p *rdpeudpParser) held() int { return 0 }
