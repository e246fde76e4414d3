package tracker

import (
	"encoding/binary"
	"math/bits"
)

// onesSum adds data, which starts at an even offset of the checksummed bytes, to a
// ones'-complement running sum of big-endian 16-bit words (RFC 1071). It adds 8
// bytes per step in native (little-endian) order with end-around carries, and swaps
// the folded result into network order: the ones'-complement sum does not depend on
// byte order (RFC 1071 §2(B)).
func onesSum(data []byte, sum uint64) uint64 {
	var s, c uint64
	for len(data) >= 32 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(data[0:8]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(data[8:16]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(data[16:24]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(data[24:32]), c)
		data = data[32:]
	}
	for len(data) >= 8 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(data), c)
		data = data[8:]
	}
	var tail uint64
	if len(data) >= 4 {
		tail = uint64(binary.LittleEndian.Uint32(data))
		data = data[4:]
	}
	if len(data) >= 2 {
		tail += uint64(binary.LittleEndian.Uint16(data))
		data = data[2:]
	}
	if len(data) == 1 {
		tail += uint64(data[0])
	}
	s, c = bits.Add64(s, tail, c)
	s += c // cannot carry again: s is 0 after a carry out
	return sum + uint64(bits.ReverseBytes16(fold(s)))
}

// fold reduces a running sum to 16 bits.
func fold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + (sum >> 16)
	}
	return uint16(sum)
}

// checksumOK reports whether data (with its checksum field in place) sums to 0xffff,
// with the transport pseudo-header of the packet when pseudo is true.
func (p *packet) checksumOK(data []byte, pseudo bool) bool {
	var sum uint64
	if pseudo {
		if p.v6 {
			sum = onesSum(p.src[:], 0)
			sum = onesSum(p.dst[:], sum)
		} else {
			sum = onesSum(p.src[12:], 0)
			sum = onesSum(p.dst[12:], sum)
		}
		sum += uint64(p.proto) + uint64(len(data))
	}
	return fold(onesSum(data, sum)) == 0xffff
}

// ipv4HeaderOK verifies an IPv4 header checksum.
func ipv4HeaderOK(hdr []byte) bool {
	return fold(onesSum(hdr, 0)) == 0xffff
}
