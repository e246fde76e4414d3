package analyzer

import "encoding/binary"

// RADIUS (service-detection.md §8 row radius). Every datagram that parses confirms
// (RFC 2865 §3: code, identifier, a length of at least 20 that the datagram holds,
// the authenticator, then attributes of at least 2 bytes each that exactly fill the
// length); every one that does not is a violation.

func init() {
	register(&Analyzer{
		Name:      "radius",
		Transport: UDP,
		Ports:     []uint16{1812},
		New:       func() Parser { return radiusParser{} },
	})
}

// radiusHeaderLen is code, identifier, length and the 16-byte authenticator.
const radiusHeaderLen = 20

// radiusParser parses each RADIUS datagram of a connection; it keeps no state.
type radiusParser struct{}

// Data parses one datagram.
func (radiusParser) Data(c *Ctx, isOrig bool, d []byte) {
	if radiusParses(d) {
		c.Confirm()
	} else {
		c.Violation()
	}
}

// radiusParses reports whether d is a well-formed RADIUS packet. Bytes after the
// packet's length are padding, which RFC 2865 says to ignore.
func radiusParses(d []byte) bool {
	if len(d) < radiusHeaderLen {
		return false
	}
	n := int(binary.BigEndian.Uint16(d[2:]))
	if n < radiusHeaderLen || n > len(d) {
		return false
	}
	for off := radiusHeaderLen; off < n; {
		if off+2 > n {
			return false
		}
		l := int(d[off+1])
		if l < 2 || off+l > n {
			return false
		}
		off += l
	}
	return true
}

// Gap is not called for UDP.
func (radiusParser) Gap(*Ctx, bool, uint64) {}

// End is not called for UDP.
func (radiusParser) End(*Ctx, bool) {}
