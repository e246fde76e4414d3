package tracker

import "encoding/binary"

// onesSum adds data to a ones'-complement running sum (RFC 1071). It reads 8 bytes
// per step into a 64-bit accumulator and folds once at the end.
func onesSum(data []byte, sum uint64) uint64 {
	for len(data) >= 32 {
		sum += uint64(binary.BigEndian.Uint32(data[0:]))
		sum += uint64(binary.BigEndian.Uint32(data[4:]))
		sum += uint64(binary.BigEndian.Uint32(data[8:]))
		sum += uint64(binary.BigEndian.Uint32(data[12:]))
		sum += uint64(binary.BigEndian.Uint32(data[16:]))
		sum += uint64(binary.BigEndian.Uint32(data[20:]))
		sum += uint64(binary.BigEndian.Uint32(data[24:]))
		sum += uint64(binary.BigEndian.Uint32(data[28:]))
		data = data[32:]
	}
	for len(data) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(data))
		data = data[4:]
	}
	if len(data) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(data))
		data = data[2:]
	}
	if len(data) == 1 {
		sum += uint64(data[0]) << 8
	}
	return sum
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
