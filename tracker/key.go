package tracker

import (
	"bytes"
	"net/netip"
)

// FlowKey identifies a connection in the table. It is a packed, comparable value so
// that one map lookup serves both directions: addresses are stored as 16 bytes
// (IPv4 mapped into IPv6), and the (address, port) pairs are put in canonical order,
// smaller first, except for one-way ICMP messages, which Zeek keys in packet order.
type FlowKey struct {
	A, B   [16]byte
	PA, PB uint16
	Proto  Proto
	OneWay bool
}

// makeKey returns the key for a packet from (src, sport) to (dst, dport), and whether
// the source is the key's A side.
func makeKey(src, dst *[16]byte, sport, dport uint16, proto Proto, oneWay bool) (FlowKey, bool) {
	if oneWay || lessEndpoint(src, sport, dst, dport) {
		return FlowKey{A: *src, B: *dst, PA: sport, PB: dport, Proto: proto, OneWay: oneWay}, true
	}
	return FlowKey{A: *dst, B: *src, PA: dport, PB: sport, Proto: proto}, false
}

// lessEndpoint orders (address, port) pairs; ties (a connection to itself) keep packet order.
func lessEndpoint(a *[16]byte, pa uint16, b *[16]byte, pb uint16) bool {
	if c := bytes.Compare(a[:], b[:]); c != 0 {
		return c < 0
	}
	return pa <= pb
}

// addrOf converts a 16-byte key address back to a netip.Addr, unmapping IPv4.
func addrOf(b [16]byte) netip.Addr {
	return netip.AddrFrom16(b).Unmap()
}
