package tracker

import (
	"encoding/binary"

	"github.com/google/gopacket"
)

// tunnelKind is a kind of encapsulation, as Zeek's Tunnel::Type names them.
type tunnelKind uint8

const (
	tunNone   tunnelKind = iota
	tunIP                // IP in IP (protocols 4 and 41)
	tunGRE               // GRE (protocol 47), ERSPAN included
	tunVXLAN             // VXLAN, 4789/udp
	tunGeneve            // Geneve, 6081/udp
	tunTeredo            // Teredo, 3544/udp or detected
	tunAYIYA             // AYIYA, 5072/udp or detected
	tunGTP               // GTPv1-U, 2152/udp (and 2123/udp)
)

// maxTunnelDepth is Zeek's Tunnel::max_depth: a packet inside this many levels of
// encapsulation is not decapsulated further.
const maxTunnelDepth = 4

// maxTunnelChanges is Zeek's Tunnel::max_changes_per_connection.
const maxTunnelChanges = 5

// udpTunnelPort returns the UDP tunnel Zeek's packet analyzers register on port
// (scripts/base/packet-protocols/*/main.zeek).
func udpTunnelPort(port uint16) tunnelKind {
	switch port {
	case 4789:
		return tunVXLAN
	case 6081:
		return tunGeneve
	case 3544:
		return tunTeredo
	case 5072:
		return tunAYIYA
	case 2152, 2123:
		return tunGTP
	}
	return tunNone
}

// tunnelVerdict is what reading a tunnel header came to.
type tunnelVerdict uint8

const (
	tunInner     tunnelVerdict = iota // an inner packet follows
	tunNoInner                        // nothing to decapsulate, and no protocol violation
	tunViolation                      // a protocol violation: Zeek stops decapsulating the connection
	tunTooDeep                        // already inside maxTunnelDepth levels: not read
)

// udpTunnelHeader reads the header of a UDP tunnel of the given kind at the start of
// a UDP payload, as Zeek's packet analyzer for it does, and returns the header the
// inner packet starts with and its bytes.
func (d *decoder) udpTunnelHeader(kind tunnelKind, data []byte) (tunnelVerdict, hdrKind, []byte) {
	switch kind {
	case tunVXLAN:
		return vxlan(data)
	case tunGeneve:
		return geneve(data)
	case tunTeredo:
		return teredo(&d.teredo, data)
	case tunAYIYA:
		return ayiya(&d.ayiya, data)
	case tunGTP:
		return gtp(data, d.lastGTP)
	}
	return tunNoInner, hdrNone, nil
}

// vxlan reads a VXLAN header (RFC 7348 §5): flags with the I bit (0x08), 24
// reserved bits, the VNI and 8 reserved bits; an Ethernet frame follows.
func vxlan(data []byte) (tunnelVerdict, hdrKind, []byte) {
	if len(data) < 8 || data[0]&0x08 == 0 {
		return tunViolation, hdrNone, nil
	}
	if len(data) == 8 {
		return tunNoInner, hdrNone, nil // vxlan_empty_packet
	}
	return tunInner, hdrEthernet, data[8:]
}

// geneve reads a Geneve header (RFC 8926 §3.4): version and option length (in
// 4-byte words), flags, the protocol type, the VNI, then options. Zeek decapsulates
// Ethernet (0x6558), IPv4 and IPv6 (oracle tun-geneve-ipv6), and 0x08dd, which Zeek 7
// had where it meant 0x86dd.
func geneve(data []byte) (tunnelVerdict, hdrKind, []byte) {
	if len(data) < 8 {
		return tunViolation, hdrNone, nil
	}
	if data[0]>>6 != 0 {
		return tunNoInner, hdrNone, nil // geneve_invalid_version: a weird, not a violation
	}
	n := 8 + int(data[0]&0x3f)*4
	if n > len(data) {
		return tunViolation, hdrNone, nil
	}
	if n == len(data) {
		return tunNoInner, hdrNone, nil // geneve_empty_packet
	}
	switch binary.BigEndian.Uint16(data[2:4]) {
	case 0x6558:
		return tunInner, hdrEthernet, data[n:]
	case 0x0800, 0x86dd, 0x08dd:
		return tunInner, hdrIP, data[n:]
	}
	return tunNoInner, hdrNone, nil
}

// teredo reads Teredo with its layer l and applies Zeek's checks: the IPv6 packet's
// length must be exactly what is left, and a bubble (no next header, no payload;
// RFC 4380 §2.8) is valid but carries no connection.
func teredo(l *Teredo, data []byte) (tunnelVerdict, hdrKind, []byte) {
	if l.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
		return tunViolation, hdrNone, nil
	}
	ip := l.Payload
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	switch {
	case len(ip) == 40+plen:
	case len(ip) > 40+plen && ip[6] == 59 && plen == 0: // a bubble with payload
	default:
		return tunViolation, hdrNone, nil
	}
	if ip[6] == 59 {
		return tunNoInner, hdrNone, nil // a bubble
	}
	return tunInner, hdrIPv6, ip
}

// teredoDetect reports a UDP payload on another port that Zeek's Teredo analyzer
// claims (Teredo::DetectProtocol): an IPv6 header with a Teredo (2001:0::/32) source
// or destination, or an origin indication (after an authentication header or not)
// before an IPv6 header.
func teredoDetect(data []byte) bool {
	if len(data) < 40 {
		return false
	}
	if len(data) > 8 && data[0]>>4 != 6 && (data[0] != 0 || data[1] > 1) {
		return false
	}
	teredoAddr := func(a []byte) bool { return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0 }
	if data[0]>>4 == 6 && (teredoAddr(data[8:12]) || teredoAddr(data[24:28])) {
		return true
	}
	if data[0] == 0 && data[1] == 1 {
		if len(data) < 4 {
			return false
		}
		n := 13 + int(data[2]) + int(data[3])
		if len(data) < n {
			return false
		}
		data = data[n:]
		if len(data) < 40 || data[0] != 0 || data[1] != 0 {
			return false
		}
	}
	if data[0] == 0 && data[1] == 0 {
		if len(data) < 8 {
			return false
		}
		data = data[8:]
		return len(data) >= 40 && data[0]>>4 == 6
	}
	return false
}

// ayiya reads an AYIYA header with its layer l: only forwarded packets of IPv4 or
// IPv6 carry an inner packet, which Zeek takes for IP by its version nibble.
func ayiya(l *AYIYA, data []byte) (tunnelVerdict, hdrKind, []byte) {
	if l.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
		return tunViolation, hdrNone, nil
	}
	if l.NextLayerType() == gopacket.LayerTypeZero {
		return tunNoInner, hdrNone, nil
	}
	return tunInner, hdrIP, l.Payload
}

// ayiyaDetect reports a UDP payload on another port that Zeek's AYIYA analyzer
// claims: a SHA-1 signature of 5 words with hash method 2 (0x52) and HMAC
// authentication of a forward operation (0x11), in bytes 1 and 2.
func ayiyaDetect(data []byte) bool {
	return len(data) >= 3 && data[1] == 0x52 && data[2] == 0x11
}

// gtp reads a GTPv1-U header (3GPP TS 29.281 §5): flags (version 1, protocol type
// GTP), message type, length, TEID, and with any of the E, S or PN flags a 4-byte
// sequence/N-PDU/next-extension field and, with E, the extension headers. Only
// G-PDUs (type 255) carry an inner packet, which must be IPv4 or IPv6 of exactly the
// length left, as Zeek's GTPv1 analyzer wants.
func gtp(data []byte, lastGTP bool) (tunnelVerdict, hdrKind, []byte) {
	if lastGTP {
		return tunViolation, hdrNone, nil // GTP in GTP
	}
	if len(data) < 8 {
		return tunViolation, hdrNone, nil
	}
	flags := data[0]
	if flags>>5 != 1 {
		return tunViolation, hdrNone, nil
	}
	if flags&0x10 == 0 || data[1] != 0xff {
		return tunNoInner, hdrNone, nil // GTP', or not a G-PDU
	}
	n := 8
	if flags&0x07 != 0 {
		if len(data) < 12 {
			return tunViolation, hdrNone, nil
		}
		n = 12
		if flags&0x04 != 0 {
			// Extension headers: a length in 4-byte units, contents, the next type;
			// at least one is read when E is set, until a next type of 0.
			for {
				if len(data) < n+1 || data[n] == 0 || len(data) < n+int(data[n])*4 {
					return tunViolation, hdrNone, nil
				}
				l := int(data[n]) * 4
				next := data[n+l-1]
				n += l
				if next == 0 {
					break
				}
			}
		}
	}
	inner := data[n:]
	if len(inner) < 20 {
		return tunViolation, hdrNone, nil
	}
	var total int
	switch inner[0] >> 4 {
	case 4:
		total = int(binary.BigEndian.Uint16(inner[2:4]))
	case 6:
		if len(inner) < 40 {
			return tunViolation, hdrNone, nil
		}
		total = 40 + int(binary.BigEndian.Uint16(inner[4:6]))
	default:
		return tunViolation, hdrNone, nil
	}
	if total != len(inner) {
		return tunViolation, hdrNone, nil
	}
	return tunInner, hdrIP, inner
}

// gre reads a GRE header (RFC 2784, RFC 2890; version 1 is PPTP's, RFC 2637 §4.1)
// as Zeek 7's GRE analyzer does, and returns what follows: Ethernet for transparent
// bridging (0x6558) and ERSPAN types I, II and III (0x88be, 0x22eb; the ERSPAN
// header skipped), 802.11 for Aruba, and raw IP (by version) for anything else. A
// header Zeek rejects leaves nothing to decapsulate.
func (d *decoder) gre(data []byte) (hdrKind, []byte) {
	if len(data) < 4 {
		return hdrNone, nil
	}
	flags := binary.BigEndian.Uint16(data[0:2])
	proto := binary.BigEndian.Uint16(data[2:4])
	ver := flags & 7
	n := 4
	for _, bit := range [...]uint16{0x8000, 0x2000, 0x1000, 0x0080} {
		if flags&bit != 0 {
			n += 4
		}
	}
	if len(data) < n {
		return hdrNone, nil // truncated_GRE
	}
	pptp, eth, erspan := 0, 0, 0
	next := hdrIP
	switch ver {
	case 0:
		switch {
		case proto == 0x6558:
			if len(data) <= n+14 {
				return hdrNone, nil
			}
			eth, next = 14, hdrEthernet
		case proto == 0x88be:
			if len(data) <= n+14 {
				return hdrNone, nil
			}
			eth, next = 14, hdrEthernet
			if flags&0x1000 != 0 { // ERSPAN type II
				erspan = 8
				if len(data) < n+14+8 {
					return hdrNone, nil
				}
			}
		case proto == 0x22eb: // ERSPAN type III
			if d.erspan3.DecodeFromBytes(data[n:], gopacket.NilDecodeFeedback) != nil {
				return hdrNone, nil
			}
			eth, next, erspan = 14, hdrEthernet, len(d.erspan3.Contents)
		case proto&0x8200 == 0x8200 && proto&0xf == 0, proto&0x8300 == 0x8300 && proto&0xf == 0 && proto <= 0x8370, proto == 0x9000:
			if len(data) <= n {
				return hdrNone, nil
			}
			next = hdrDot11 // Aruba
		}
	case 1:
		if proto != 0x880b {
			return hdrNone, nil
		}
		pptp = 4
	default:
		return hdrNone, nil
	}
	if flags&0x4000 != 0 || flags&0x0078 != 0 {
		return hdrNone, nil // routing, or flags Zeek does not know
	}
	if len(data) < n+pptp+eth+erspan {
		return hdrNone, nil
	}
	if ver == 1 {
		if ppp := binary.BigEndian.Uint16(data[n+2 : n+4]); ppp != 0x0021 && ppp != 0x0057 {
			return hdrNone, nil
		}
	}
	if len(data) == n+pptp+erspan {
		return hdrNone, nil
	}
	return next, data[n+pptp+erspan:]
}

// ipInIP checks an IP-in-IP payload as Zeek's IPTunnel analyzer does: the inner
// header's version must match the protocol (4: IPv4, 41: IPv6), and the captured
// bytes must hold the whole inner datagram; bytes after it are dropped.
func ipInIP(proto Proto, data []byte) (hdrKind, []byte) {
	switch {
	case proto == 4 && len(data) >= 20 && data[0]>>4 == 4:
		total := int(binary.BigEndian.Uint16(data[2:4]))
		if total < 20 || total > len(data) {
			return hdrNone, nil
		}
		return hdrIPv4, data[:total]
	case proto == 41 && len(data) >= 40 && data[0]>>4 == 6:
		total := 40 + int(binary.BigEndian.Uint16(data[4:6]))
		if total > len(data) {
			return hdrNone, nil
		}
		return hdrIPv6, data[:total]
	}
	return hdrNone, nil
}
