package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers with ports in the hash.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// Flow is a flow's tuple as a monitor sees it: source and destination address,
// IP protocol, and the ports (for ICMP and ICMPv6, the type and the counterpart
// type or code, as Zeek and conn.log give them).
type Flow struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
}

// ID returns the flow's Community ID v1 with the given seed, such as
// "1:LQU9qZlK+B5F3KDmev6m5PMibrg=". The two directions of a flow give the same
// ID. It returns "" when the addresses are invalid or of different families.
func ID(seed uint16, f Flow) string {
	var sum [sha1.Size]byte
	if !Sum(seed, f, &sum) {
		return ""
	}
	var out [2 + 28]byte // "1:" and the base64 of 20 bytes
	out[0], out[1] = '1', ':'
	base64.StdEncoding.Encode(out[2:], sum[:])
	return string(out[:])
}

// Sum writes the flow's SHA-1 digest (the ID before its base64 rendering) into
// sum and reports whether the flow could be hashed.
func Sum(seed uint16, f Flow, sum *[sha1.Size]byte) bool {
	src, dst := f.Src.Unmap(), f.Dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return false
	}
	sp, dp := f.SrcPort, f.DstPort
	ports := true
	oneWay := false
	switch f.Proto {
	case protoTCP, protoUDP, protoSCTP:
	case protoICMP:
		_, two := icmp4Counterpart[uint8(sp)]
		oneWay = !two || sp > 0xff
	case protoICMPv6:
		_, two := icmp6Counterpart[uint8(sp)]
		oneWay = !two || sp > 0xff
	default:
		ports = false
		sp, dp = 0, 0
	}
	if !oneWay {
		// The smaller address:port comes first; equal addresses leave it to the ports.
		if c := src.Compare(dst); c > 0 || c == 0 && sp > dp {
			src, dst = dst, src
			sp, dp = dp, sp
		}
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	b := binary.BigEndian.AppendUint16(buf[:0], seed)
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	b = append(b, f.Proto, 0)
	if ports {
		b = binary.BigEndian.AppendUint16(b, sp)
		b = binary.BigEndian.AppendUint16(b, dp)
	}
	*sum = sha1.Sum(b)
	return true
}

// icmp4Counterpart is Zeek's ICMP4_counterpart: the types whose messages come
// in request/reply pairs. Router advertisements are not mapped back to
// solicitations, as in Zeek. Other types are one-way: their "port pair" is the
// type and the code, never reordered.
var icmp4Counterpart = map[uint8]uint8{
	8: 0, 0: 8, // echo, echo reply
	13: 14, 14: 13, // timestamp, timestamp reply
	15: 16, 16: 15, // information request, reply
	10: 9,          // router solicitation → advertisement
	17: 18, 18: 17, // address mask request, reply
}

// icmp6Counterpart is Zeek's ICMP6_counterpart.
var icmp6Counterpart = map[uint8]uint8{
	128: 129, 129: 128, // echo request, reply
	133: 134, 134: 133, // router solicitation, advertisement
	135: 136, 136: 135, // neighbor solicitation, advertisement
	130: 131, 131: 130, // multicast listener query, report
	139: 140, 140: 139, // node information query, response
	144: 145, 145: 144, // home agent address discovery request, reply
}
