package process

import (
	"encoding/binary"
	"net/netip"
)

// parseEnds reads a packet's transport and ends from its IP header on: IPv4, or
// IPv6 with at most hop-by-hop and destination options before TCP or UDP. Only
// first fragments carry ports.
func parseEnds(b []byte) (Ends, bool) {
	if len(b) < 1 {
		return Ends{}, false
	}
	var src, dst netip.Addr
	var proto byte
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0xf) * 4
		if ihl < 20 || len(b) < ihl+4 || binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
			return Ends{}, false
		}
		proto = b[9]
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		l4 = b[ihl:]
	case 6:
		if len(b) < 40 {
			return Ends{}, false
		}
		src, dst = netip.AddrFrom16([16]byte(b[8:24])).Unmap(), netip.AddrFrom16([16]byte(b[24:40])).Unmap()
		proto, l4 = b[6], b[40:]
		for proto == 0 || proto == 60 { // hop-by-hop, destination options
			if len(l4) < 8 {
				return Ends{}, false
			}
			hl := (int(l4[1]) + 1) * 8
			if len(l4) < hl {
				return Ends{}, false
			}
			proto, l4 = l4[0], l4[hl:]
		}
	default:
		return Ends{}, false
	}
	if proto != byte(TCP) && proto != byte(UDP) || len(l4) < 4 {
		return Ends{}, false
	}
	sp, dp := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	return Ends{Proto: Proto(proto), Orig: netip.AddrPortFrom(src, sp), Resp: netip.AddrPortFrom(dst, dp)}, true
}
