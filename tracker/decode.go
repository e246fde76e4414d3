package tracker

import (
	"encoding/binary"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// l4Copy is how many transport header bytes a packet keeps: the fixed TCP header,
// which also covers the UDP header with the first payload byte (NTP) and ICMP's type
// and code.
const l4Copy = 20

// packet is what the tracker needs of one IP datagram. It copies the few transport
// header bytes the tracker reads and the transport checksum verdict, so it does not
// alias the capture buffer: decoding can run ahead on another goroutine.
type packet struct {
	ts       int64 // capture time, ns since the epoch
	src, dst [16]byte
	ipLen    int // datagram length from the IP header (IPv6: payload length + 40); ip_bytes counts this
	l4Len    int // transport length according to the IP header
	capLen   int // transport bytes captured, clipped to the datagram
	wireLen  int // frame length on the wire (Stats.Bytes)
	proto    Proto
	v6       bool
	res      decodeResult
	// csumOK is the transport checksum verdict (pseudo-header included for TCP, UDP
	// and ICMPv6). It is computed only when checksums are verified, the protocol is
	// TCP, UDP, ICMP or ICMPv6 and the whole datagram was captured (capLen >= l4Len).
	csumOK bool
	// csumTrusted: the capture says the transport checksum needs no check (the
	// kernel had not computed it yet, or the NIC verified it); csumOK is then set.
	csumTrusted bool
	hdr         [l4Copy]byte // the first min(capLen, l4Copy) transport bytes
	// frame is the whole captured frame the packet came in (a tunnel's inner
	// packets share it), and link its link type, for packet sinks: valid while
	// Packet runs; a pipelined Run copies it only while frames are kept.
	frame []byte
	link  layers.LinkType
	// l4data is the captured transport segment (header and payload), for content
	// delivery. It aliases the frame while Packet runs; a pipelined Run copies it
	// only when payload is kept, and sets it nil otherwise.
	l4data []byte

	// Encapsulation. A frame decodes to a chain of packets: its own, then what
	// a tunnel carried or a fragment completed (see decoder.next).
	depth uint8      // levels of encapsulation around this packet
	cont  bool       // not the frame's first packet
	tun   tunnelKind // ipTunnel: the tunnel; UDP: the tunnel the payload may be (set for these only)
	// tunPort is the port that made the UDP payload a tunnel; 0 when the payload
	// itself was recognised (Teredo and AYIYA on other ports).
	tunPort    uint16
	tunVerdict tunnelVerdict // what the UDP tunnel's header came to
}

// decodeResult says what became of a frame.
type decodeResult uint8

const (
	decodedIP   decodeResult = iota // an IP datagram for the connection table
	notIP                           // no IP layer (ARP, LLDP, ...)
	malformed                       // a header could not be decoded
	droppedIP                       // Zeek's IP checks drop it: bad length or header checksum
	fragment                        // an IP fragment (reassembly is not done yet)
	noTransport                     // ESP or mobility: Zeek's analysis stops
	ipTunnel                        // IP in IP or GRE: the tunnel's inner packet comes next, if it decodes
)

// decoder turns frames into packets. It keeps no state between frames and allocates
// nothing.
//
// It reads link and IP headers itself, and decides every frame exactly as the
// gopacket-based decoder it replaced did (gopacket's DecodingLayerParser over its
// Ethernet, Dot1Q, LinuxSLL, Loopback, IPv4 and IPv6 layers, plus flowtop's SLL2 and
// IPv6 extension layers): the same frames are malformed, not IP or decoded, at the
// same offsets. The exceptions are two bugs of that decoder: the transport header
// after IPv6 extension headers was looked for at an offset counted from the IPv6
// header instead of the frame, and a Linux cooked header's address length could fail
// the frame. decode_ref_test.go keeps that decoder (the first bug fixed) as the
// reference, and TestDecodeMatchesReference and FuzzDecode compare the two.
type decoder struct {
	ignoreChecksums bool

	// The rest of the frame being decoded, for next: a header of kind at data,
	// inside buf (whose offsets the walk counts in) of wire length wire, at
	// encapsulation depth depth.
	cont struct {
		kind    hdrKind
		buf     []byte
		data    []byte
		wire    int
		depth   uint8
		lastGTP bool // inside a GTP tunnel already
	}
	frags      fragments // IP fragments being reassembled
	now        int64     // network time, for the fragments' timeout
	depth      uint8     // of the packet being decoded
	lastGTP    bool
	uncaptured int // bytes of the frame on the wire beyond the capture

	// DecodingLayers for the rare headers gopacket has no layer for.
	vntag      VNTag
	fabricPath FabricPath
	pbb        PBB
	teredo     Teredo
	ayiya      AYIYA
	erspan3    ERSPAN3
}

func newDecoder(ignoreChecksums bool) *decoder {
	return &decoder{ignoreChecksums: ignoreChecksums,
		frags: *newFragments(FragmentTimeout.Nanoseconds(), maxFragmentBytes, maxFragmentSets)}
}

// FragmentTimeout is how long an incomplete datagram's fragments are kept after the
// first arrived (Zeek's frag_timeout as policy/tuning/defaults sets it; conn-semantics
// §0.4).
const FragmentTimeout = 5 * time.Minute

// Bounds of the fragments kept for reassembly: the oldest datagrams go first.
const (
	maxFragmentBytes = 64 << 20
	maxFragmentSets  = 1 << 14
)

// Link types that carry IP directly (DLT_RAW has several numbers across systems).
const (
	linkTypeRaw12 layers.LinkType = 12
	linkTypeRaw14 layers.LinkType = 14
	linkTypeIPv4  layers.LinkType = 228
	linkTypeIPv6  layers.LinkType = 229
	// linkTypeSLL2 is LINKTYPE_LINUX_SLL2 (276) as gopacket v1's uint8 LinkType sees it
	// (276 mod 256); 20 is otherwise unassigned.
	linkTypeSLL2    layers.LinkType = 276 & 0xff
	linkTypeLoop    layers.LinkType = 108
	linkTypeRawIP   layers.LinkType = layers.LinkTypeRaw
	linkTypeNull    layers.LinkType = layers.LinkTypeNull
	linkTypeEth     layers.LinkType = layers.LinkTypeEthernet
	linkTypeLinSLL  layers.LinkType = layers.LinkTypeLinuxSLL
	linkTypePPP     layers.LinkType = layers.LinkTypePPP // 9: with or without HDLC-like framing
	linkTypePPPHDLC layers.LinkType = 50                 // LINKTYPE_PPP_HDLC (PPP in HDLC-like framing)
	linkTypeFDDI    layers.LinkType = layers.LinkTypeFDDI
	linkTypeDot11   layers.LinkType = layers.LinkTypeIEEE802_11     // 105
	linkTypeRadio   layers.LinkType = layers.LinkTypeIEEE80211Radio // 127: radiotap, then 802.11
)

// hdrKind is a header the decoder knows how to read.
type hdrKind uint8

const (
	hdrNone hdrKind = iota // anything else: the frame is not IP
	hdrEthernet
	hdrDot1Q
	hdrSLL
	hdrSLL2
	hdrLoopback
	hdrIPv4
	hdrIPv6
	hdrIP         // IPv4 or IPv6, by the version nibble
	hdrMPLS       // an MPLS label stack
	hdrPPPoE      // a PPPoE session header and the PPP protocol
	hdrPPP        // LINKTYPE_PPP's header: HDLC-like framing or not
	hdrPPPSerial  // LINKTYPE_PPP_HDLC's header
	hdrVNTag      // a Cisco VN-Tag
	hdrFabricPath // the end of a Cisco FabricPath header
	hdrPBB        // an 802.1ah I-TAG
	hdrFDDI       // an FDDI header and LLC/SNAP
	hdrRadiotap   // a radiotap header
	hdrDot11      // an 802.11 MAC header and LLC/SNAP
	hdrIPv4Whole  // a reassembled IPv4 datagram: its fragment fields and stale checksum are not read
)

// firstHeader returns the outermost header of a frame of the given link type.
func firstHeader(link layers.LinkType, data []byte) hdrKind {
	switch link {
	case linkTypeEth:
		return hdrEthernet
	case linkTypeLinSLL:
		return hdrSLL
	case linkTypeSLL2:
		return hdrSLL2
	case linkTypeNull, linkTypeLoop:
		return hdrLoopback
	case linkTypeIPv4:
		return hdrIPv4
	case linkTypeIPv6:
		return hdrIPv6
	case linkTypePPP:
		return hdrPPP
	case linkTypePPPHDLC:
		return hdrPPPSerial
	case linkTypeFDDI:
		return hdrFDDI
	case linkTypeDot11:
		return hdrDot11
	case linkTypeRadio:
		return hdrRadiotap
	case linkTypeRawIP, linkTypeRaw12, linkTypeRaw14:
		if len(data) > 0 && data[0]>>4 == 6 {
			return hdrIPv6
		}
		return hdrIPv4
	}
	return hdrNone
}

// etherTypeHeader returns the header an EtherType announces.
func etherTypeHeader(t uint16) hdrKind {
	switch layers.EthernetType(t) {
	case layers.EthernetTypeIPv4:
		return hdrIPv4
	case layers.EthernetTypeIPv6:
		return hdrIPv6
	case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ:
		return hdrDot1Q
	case layers.EthernetTypeTransparentEthernetBridging:
		return hdrEthernet
	case layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast:
		return hdrMPLS
	case layers.EthernetTypePPPoESession:
		return hdrPPPoE
	case EthernetTypeVNTag:
		return hdrVNTag
	case EthernetTypeFabricPath:
		return hdrFabricPath
	case EthernetTypePBB:
		return hdrPBB
	}
	return hdrNone
}

// snapIPHeader returns the header an LLC/SNAP EtherType announces where Zeek's
// 802.11 and SNAP analyzers look for IP: 0x0800 and 0x86dd lead to IP, told apart
// by the version nibble; ARP and anything else are not IP.
func snapIPHeader(t uint16) hdrKind {
	if t == uint16(layers.EthernetTypeIPv4) || t == uint16(layers.EthernetTypeIPv6) {
		return hdrIP
	}
	return hdrNone
}

// ipVersionHeader returns the IP header that data starts with, by its version
// nibble, as Zeek's IP analyzer decides: hdrNone for anything else.
func ipVersionHeader(data []byte) hdrKind {
	switch data[0] >> 4 {
	case 4:
		return hdrIPv4
	case 6:
		return hdrIPv6
	}
	return hdrNone
}

// pppHeader returns the header a PPP protocol number announces (RFC 1661): IP
// (0x0021, 0x0057, told apart by the version nibble, as Zeek does) or MPLS (0x0281).
func pppHeader(proto uint16) hdrKind {
	switch proto {
	case 0x0021, 0x0057:
		return hdrIP
	case 0x0281:
		return hdrMPLS
	}
	return hdrNone
}

// loopbackHeader returns the header a BSD loopback protocol family announces.
func loopbackHeader(family uint32) hdrKind {
	switch layers.ProtocolFamily(family) {
	case layers.ProtocolFamilyIPv4:
		return hdrIPv4
	case layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin,
		layers.ProtocolFamilyIPv6Linux:
		return hdrIPv6
	}
	return hdrNone
}

// frame decodes one captured frame into p, result and capture details included.
// Packets inside it follow from next.
func (d *decoder) frame(data []byte, ci gopacket.CaptureInfo, link layers.LinkType, p *packet) {
	p.ts = ci.Timestamp.UnixNano()
	p.wireLen = ci.Length
	p.depth, p.cont = 0, false
	d.cont.kind, d.depth, d.lastGTP = hdrNone, 0, false
	d.uncaptured = max(ci.Length-len(data), 0)
	if p.ts > d.now {
		d.now = p.ts
	}
	if d.frags.due(d.now) {
		d.frags.expire(d.now)
	}
	p.res = d.decode(data, ci.Length, link, p)
}

// next decodes the next packet of the frame that frame or next last decoded: the
// inner packet of a tunnel, or the datagram a fragment completed. It reports false
// when the frame holds no more. p keeps its timestamp.
func (d *decoder) next(p *packet) bool {
	if d.cont.kind == hdrNone {
		return false
	}
	d.decodeNext(p)
	return true
}

// decodeNext decodes the frame's continuation into p.
func (d *decoder) decodeNext(p *packet) {
	c := &d.cont
	kind := c.kind
	c.kind = hdrNone
	*p = packet{ts: p.ts, depth: c.depth, cont: true}
	d.depth, d.lastGTP = c.depth, c.lastGTP
	p.res = d.decodeAt(c.buf, c.data, kind, 0, c.wire, p)
}

// follow makes the frame continue with a header of kind at data, inside buf, one
// tunnel level deeper than the packet being decoded.
func (d *decoder) follow(kind hdrKind, buf, data []byte, wire int, tun tunnelKind) {
	c := &d.cont
	c.kind, c.buf, c.data, c.wire = kind, buf, data, wire
	c.depth = d.depth + 1
	c.lastGTP = tun == tunGTP
}

// reassembled makes the frame continue with datagram dg, which a fragment of the
// packet being decoded completed, at the same depth.
func (d *decoder) reassembled(kind hdrKind, dg []byte) {
	c := &d.cont
	if kind == hdrIPv4 {
		kind = hdrIPv4Whole
	}
	c.kind, c.buf, c.data, c.wire = kind, dg, dg, len(dg)
	c.depth, c.lastGTP = d.depth, d.lastGTP
}

// decode fills p from one frame of the given link type; wireLen is the frame's
// length on the wire. It applies Zeek's IP-layer checks (conn-semantics §0.4) and,
// unless checksums are ignored, verifies the transport checksum.
func (d *decoder) decode(data []byte, wireLen int, link layers.LinkType, p *packet) decodeResult {
	return d.decodeAt(data, data, hdrNone, link, wireLen, p)
}

// decodeAt decodes a packet from a header of kind at data, inside frame (hdrNone:
// the frame's first header, by link): it walks the headers, copies the transport
// header, verifies the transport checksum and looks for a tunnel in a UDP payload.
func (d *decoder) decodeAt(frame, data []byte, kind hdrKind, link layers.LinkType, wireLen int, p *packet) decodeResult {
	if kind == hdrNone {
		kind = firstHeader(link, data)
	}
	res, l4 := d.walk(frame, data, kind, wireLen, p)
	if res != decodedIP {
		return res
	}
	p.capLen = len(l4)
	p.l4data = l4
	if n := copy(p.hdr[:], l4); n < l4Copy {
		clear(p.hdr[n:])
	}
	// The checksum verdict: only when checksums are verified and the datagram
	// was captured whole; trusted when the capture vouches for it.
	verify := !d.ignoreChecksums && len(l4) >= p.l4Len
	p.csumOK = verify && p.csumTrusted
	switch p.proto {
	case ProtoTCP, ProtoICMPv6:
		if verify && !p.csumTrusted {
			p.csumOK = p.checksumOK(l4[:p.l4Len], true)
		}
	case ProtoUDP:
		if verify && !p.csumTrusted {
			p.csumOK = p.checksumOK(l4[:p.l4Len], true)
		}
		p.tun = tunNone
		if len(l4) >= udpHeader && p.l4Len >= udpHeader && mayTunnel(l4) {
			d.udpTunnel(p, l4)
		}
	case ProtoICMP:
		if verify && !p.csumTrusted {
			p.csumOK = p.checksumOK(l4[:p.l4Len], false)
		}
	}
	return decodedIP
}

// mayTunnel is a quick test of a UDP segment (header and payload) that passes every
// one udpTunnel may find a tunnel in: a tunnel port (2123-6081), or a payload that
// could be AYIYA (bytes 1 and 2) or Teredo (an IPv6 version nibble, an
// authentication header, or an origin indication before IPv6, in at least 40 bytes).
func mayTunnel(l4 []byte) bool {
	sp, dp := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	if sp-2123 <= 6081-2123 || dp-2123 <= 6081-2123 {
		return true
	}
	pl := l4[udpHeader:]
	if len(pl) < 40 {
		return len(pl) >= 3 && pl[1] == 0x52 && pl[2] == 0x11
	}
	return pl[1] == 0x52 && pl[2] == 0x11 || pl[0]>>4 == 6 || pl[0] == 0 && (pl[1] == 1 || pl[1] == 0 && len(pl) >= 48 && pl[8]>>4 == 6)
}

// udpTunnel looks for a tunnel in the payload of UDP packet p: by port (Zeek's
// analyzers register on the responder's port; the tracker checks which that is),
// or, on other ports, by recognising Teredo or AYIYA. It records the candidate in
// p and makes the frame continue with its inner packet.
func (d *decoder) udpTunnel(p *packet, l4 []byte) {
	sport, dport := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	payload := l4[udpHeader:]
	kind, port := udpTunnelPort(dport), dport
	if kind == tunNone {
		kind, port = udpTunnelPort(sport), sport
	}
	if kind == tunNone {
		switch {
		case ayiyaDetect(payload):
			kind, port = tunAYIYA, 0
		case teredoDetect(payload):
			kind, port = tunTeredo, 0
		default:
			return
		}
	}
	p.tun, p.tunPort = kind, port
	if d.depth >= maxTunnelDepth {
		p.tunVerdict = tunTooDeep
		return
	}
	var next hdrKind
	var inner []byte
	if p.tunVerdict, next, inner = d.udpTunnelHeader(kind, payload); p.tunVerdict == tunInner {
		// The inner packet's wire length counts what the capture missed of the
		// outer frame, but not the outer frame's trailer (Zeek's build_inner_packet).
		d.follow(next, l4, inner, len(l4)+d.uncaptured, kind)
	}
}

// walk reads the headers from one of kind at data, inside frame, down to the
// transport header and fills p's IP fields; for decodedIP it returns the transport
// bytes as captured, clipped to the datagram.
//
// The walk reproduces the DecodingLayerParser loop: each header is checked and
// decoded, a header whose payload is empty or whose successor is unknown ends the
// walk (not IP), and a header that fails to decode before the IP layer makes the
// frame malformed.
func (d *decoder) walk(frame, data []byte, kind hdrKind, wireLen int, p *packet) (decodeResult, []byte) {
	for {
		var next hdrKind
		var payload []byte
		switch kind {
		case hdrEthernet:
			if len(data) < 14 {
				return malformed, nil
			}
			t := binary.BigEndian.Uint16(data[12:14])
			if t < 0x0600 {
				var res decodeResult
				if res, next, payload = llc(data[14:], t); res != decodedIP {
					return res, nil
				}
				break
			}
			next, payload = etherTypeHeader(t), data[14:]
		case hdrDot1Q:
			if len(data) < 4 {
				return malformed, nil
			}
			next, payload = etherTypeHeader(binary.BigEndian.Uint16(data[2:4])), data[4:]
		case hdrSLL:
			// Linux cooked capture: packet type (2), ARPHRD type (2), address length
			// (2), address (8), protocol type (2). Like Zeek, ignore the address
			// length. (gopacket sliced the address with it, within the capacity of
			// the capture buffer, so a bogus length failed the frame or not
			// depending on the buffer.)
			if len(data) < 16 {
				return malformed, nil
			}
			next, payload = etherTypeHeader(binary.BigEndian.Uint16(data[14:16])), data[16:]
		case hdrSLL2:
			// Linux cooked capture v2: protocol type (2), reserved (2), interface
			// index (4), ARPHRD type (2), packet type (1), address length (1),
			// address (8); 20 bytes in all.
			if len(data) < 20 {
				return malformed, nil
			}
			next, payload = etherTypeHeader(binary.BigEndian.Uint16(data[0:2])), data[20:]
		case hdrLoopback:
			if len(data) < 4 {
				return malformed, nil
			}
			// The family is in host byte order; families are below 256.
			var family uint32
			if data[0] == 0 && data[1] == 0 {
				family = binary.BigEndian.Uint32(data[:4])
			} else {
				family = binary.LittleEndian.Uint32(data[:4])
			}
			if family > 0xff {
				return malformed, nil
			}
			next, payload = loopbackHeader(family), data[4:]
		case hdrMPLS:
			// RFC 3032 label stack entries, 4 bytes each, up to the bottom of
			// the stack; Zeek wants more than 4 bytes left at each entry, then
			// takes what follows for IP if it is longer than 20 bytes.
			for {
				if len(data) <= 4 {
					return malformed, nil
				}
				bottom := data[2]&1 != 0
				data = data[4:]
				if bottom {
					break
				}
			}
			next, payload = hdrNone, data
			if len(data) > 20 {
				next = hdrIP
			}
		case hdrPPPoE:
			// RFC 2516 session header (6 bytes) and the PPP protocol (2). As Zeek
			// does, what follows counts as captured only up to the header's payload
			// length: the bytes after it (Ethernet padding) are not the packet's,
			// and a datagram longer than that is a truncated capture.
			if len(data) <= 8 {
				return malformed, nil
			}
			n := max(int(binary.BigEndian.Uint16(data[4:6]))-2, 0)
			next, payload = pppHeader(binary.BigEndian.Uint16(data[6:8])), data[8:8+min(n, len(data)-8)]
			frame = frame[:offsetIn(frame, payload)+len(payload)]
		case hdrPPP:
			// LINKTYPE_PPP: after 0xff 0x03 (RFC 1662 address and control), or
			// at once, the PPP protocol (RFC 1661).
			if len(data) <= 2 {
				return malformed, nil
			}
			if data[0] == 0xff && data[1] == 0x03 {
				if len(data) <= 4 {
					return malformed, nil
				}
				next, payload = pppHeader(binary.BigEndian.Uint16(data[2:4])), data[4:]
			} else {
				next, payload = pppHeader(binary.BigEndian.Uint16(data[0:2])), data[2:]
			}
		case hdrPPPSerial:
			// RFC 1662: address, control, protocol; Zeek assumes all four bytes.
			if len(data) <= 4 {
				return malformed, nil
			}
			next, payload = pppHeader(binary.BigEndian.Uint16(data[2:4])), data[4:]
		case hdrVNTag:
			if d.vntag.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
				return malformed, nil
			}
			next, payload = etherTypeHeader(uint16(d.vntag.Type)), d.vntag.Payload
		case hdrFabricPath:
			if d.fabricPath.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
				return malformed, nil
			}
			next, payload = hdrEthernet, d.fabricPath.Payload
		case hdrPBB:
			if d.pbb.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
				return malformed, nil
			}
			next, payload = hdrEthernet, d.pbb.Payload
		case hdrFDDI:
			// Zeek skips the FDDI header (frame control and two addresses, 13
			// bytes) and an LLC/SNAP header (8) without reading them, and takes
			// what follows for IP.
			if len(data) <= 21 {
				return malformed, nil
			}
			next, payload = hdrIP, data[21:]
		case hdrRadiotap:
			// The radiotap header's own length is at offset 2, little-endian
			// (radiotap.org); an 802.11 frame follows.
			if len(data) <= 3 {
				return malformed, nil
			}
			n := int(binary.LittleEndian.Uint16(data[2:4]))
			if n >= len(data) {
				return malformed, nil
			}
			next, payload = hdrDot11, data[n:]
		case hdrDot11:
			var res decodeResult
			if res, next, payload = dot11(data); res != decodedIP {
				return res, nil
			}
		case hdrIP:
			if kind = ipVersionHeader(data); kind == hdrNone {
				return notIP, nil
			}
			continue
		case hdrIPv4:
			return d.ipv4(frame, data, wireLen, p, false)
		case hdrIPv4Whole:
			return d.ipv4(frame, data, wireLen, p, true)
		case hdrIPv6:
			return d.ipv6(frame, data, wireLen, p)
		default:
			return notIP, nil
		}
		if len(payload) == 0 {
			return notIP, nil
		}
		kind, data = next, payload
	}
}

// dot11 reads an IEEE 802.11 data frame's MAC header (IEEE 802.11-2020 §9.2.4)
// and the LLC/SNAP header after it, as Zeek's IEEE802_11 analyzer does: management,
// control and no-data frames are not IP, four-address frames have 6 more bytes,
// QoS frames 2 more, protected QoS frames are not read, and the payload must start
// with SNAP (aa aa 03) and a zero OUI. An A-MSDU is not split (Zeek reads each of its
// subframes); it is not IP here. The HT Control field is not accounted for, as in
// Zeek. It returns decodedIP with the header that follows and its bytes.
func dot11(data []byte) (decodeResult, hdrKind, []byte) {
	n := 24
	if len(data) <= n {
		return malformed, hdrNone, nil
	}
	fc := data[0]
	if fc>>2&0x02 == 0 || fc>>4&0x04 != 0 {
		return notIP, hdrNone, nil // management or control, or a subtype without data
	}
	if data[1]&0x03 == 0x03 {
		n += 6 // from one distribution system to another: a fourth address
	}
	if fc>>4&0x08 != 0 { // QoS data: a 2-byte QoS control field
		if len(data) <= n {
			return malformed, hdrNone, nil
		}
		if data[n]&0x80 != 0 || data[1]&0x40 != 0 {
			return notIP, hdrNone, nil // an A-MSDU, or protected
		}
		n += 2
	}
	if len(data) <= n {
		return malformed, hdrNone, nil
	}
	llc := data[n:]
	if len(llc) < 8 {
		return malformed, hdrNone, nil
	}
	if llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 || llc[3] != 0 || llc[4] != 0 || llc[5] != 0 {
		return notIP, hdrNone, nil
	}
	return decodedIP, snapIPHeader(binary.BigEndian.Uint16(llc[6:8])), llc[8:]
}

// llc reads an IEEE 802.3 frame's payload (length is the frame's length field) as
// Zeek's Ethernet and SNAP analyzers do: a length beyond the frame is malformed,
// and only SNAP (aa aa) with a zero OUI can lead to IP (RFC 1042); the LLC header
// is 3 bytes, or 4 with an I or S format control field. It returns decodedIP with
// the header that follows and its bytes.
func llc(data []byte, length uint16) (decodeResult, hdrKind, []byte) {
	if length > 1500 {
		return notIP, hdrNone, nil // neither a length nor an EtherType
	}
	if len(data) < int(length) {
		return malformed, hdrNone, nil
	}
	if len(data) < 2 || data[0] != 0xaa || data[1] != 0xaa {
		return notIP, hdrNone, nil
	}
	if len(data) < 3 {
		return malformed, hdrNone, nil
	}
	n := 3
	if data[2]&0x03 != 0x03 {
		n = 4
	}
	if len(data) < n+5 {
		return malformed, hdrNone, nil
	}
	if data[n] != 0 || data[n+1] != 0 || data[n+2] != 0 {
		return notIP, hdrNone, nil
	}
	return decodedIP, snapIPHeader(binary.BigEndian.Uint16(data[n+3 : n+5])), data[n+5:]
}

// offsetIn returns where sub starts inside frame; both slice one backing array.
func offsetIn(frame, sub []byte) int { return cap(frame) - cap(sub) }

// ipv4 decodes the IPv4 header at the start of data, inside frame.
// whole says data is a reassembled datagram.
func (d *decoder) ipv4(frame, data []byte, wireLen int, p *packet, whole bool) (decodeResult, []byte) {
	// Header checks, as gopacket's IPv4 layer makes them.
	if len(data) < 20 {
		return malformed, nil
	}
	ihl := int(data[0]&0x0f) * 4
	length := int(binary.BigEndian.Uint16(data[2:4]))
	if length == 0 {
		length = int(uint16(len(data))) // TSO: gopacket takes the captured length
	}
	if length < 20 || ihl < 20 || ihl > length || (len(data) < length && ihl > len(data)) {
		return malformed, nil
	}
	if !ipv4OptionsOK(data[20:ihl]) {
		return malformed, nil
	}
	hdr := data[:ihl]

	ipStart := offsetIn(frame, hdr)
	total := int(binary.BigEndian.Uint16(hdr[2:4]))
	p.ipLen = total // Zeek's IP_Hdr::TotalLen: 0 for TSO packets, and so is their ip_bytes
	if total == 0 {
		if !d.ignoreChecksums {
			return droppedIP, nil // TSO: Zeek trusts a zero length only with -C
		}
		total = len(frame) - ipStart
	}
	if wireLen-ipStart < total || len(hdr) > total {
		return droppedIP, nil
	}
	if !d.ignoreChecksums && !whole && !ipv4HeaderOK(hdr) {
		return droppedIP, nil
	}
	if frag := binary.BigEndian.Uint16(hdr[6:8]); frag&0x3fff != 0 && !whole {
		// More fragments, or a fragment offset.
		if d.fragment4(frame, hdr, ipStart, total, frag) {
			return fragment, nil
		}
	}
	p.v6 = false
	// IPv4-mapped addresses. dst is written on its own, not copied from src: a
	// 16-byte load of the two 8-byte stores just made would wait for them.
	p.src = [16]byte{10: 0xff, 11: 0xff}
	p.dst = [16]byte{10: 0xff, 11: 0xff}
	copy(p.src[12:], hdr[12:16])
	copy(p.dst[12:], hdr[16:20])
	p.proto = Proto(hdr[9])
	return d.transport(frame, ipStart, ipStart+len(hdr), total, p)
}

// fragment4 hands the IPv4 fragment with header hdr at ipStart in frame, of total
// length total and fragment field frag, to reassembly, and makes the frame continue
// with the datagram it completes. It reports false for a first fragment not captured
// whole, which Zeek reads on its own; other fragments not captured whole are dropped.
func (d *decoder) fragment4(frame, hdr []byte, ipStart, total int, frag uint16) bool {
	offset := int(frag&0x1fff) * 8
	if len(frame)-ipStart < total {
		return offset != 0
	}
	key := fragKey{id: uint32(binary.BigEndian.Uint16(hdr[4:6]))}
	key.src = [16]byte{10: 0xff, 11: 0xff}
	key.dst = key.src
	copy(key.src[12:], hdr[12:16])
	copy(key.dst[12:], hdr[16:20])
	payload := frame[ipStart+len(hdr) : ipStart+total]
	if dg, ok := d.frags.add(key, d.now, hdr, 0, hdr[9], offset, frag&0x2000 != 0, payload); ok {
		d.reassembled(hdrIPv4, dg)
	}
	return true
}

// ipv4OptionsOK walks IPv4 options as gopacket's IPv4 layer does, failing where it
// fails: an option without room for its length, or a length below 3 or beyond the
// header. End of options ends the walk.
func ipv4OptionsOK(opts []byte) bool {
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of options
			return true
		case 1: // no-operation
			opts = opts[1:]
		default:
			if len(opts) < 2 {
				return false
			}
			n := int(opts[1])
			if len(opts) < n || n <= 2 {
				return false
			}
			opts = opts[n:]
		}
	}
	return true
}

// ipv6 decodes the IPv6 header at the start of data, inside frame, and walks its
// extension headers.
func (d *decoder) ipv6(frame, data []byte, wireLen int, p *packet) (decodeResult, []byte) {
	if len(data) < 40 {
		return malformed, nil
	}
	length := int(binary.BigEndian.Uint16(data[4:6]))
	next := data[6]
	payload := data[40:]
	hbhLen := 0 // a hop-by-hop header, which gopacket decodes as part of the IPv6 header
	if next == uint8(layers.IPProtocolIPv6HopByHop) {
		n, nh, jumbo, ok := hopByHop(payload)
		if !ok {
			return malformed, nil
		}
		hbhLen, next = n, nh
		switch {
		case jumbo > 0 && length == 0:
			// A jumbogram: gopacket leaves the payload at the hop-by-hop header and
			// clips it to the jumbo length. Zeek drops jumbograms, but a first
			// extension header that does not decode still makes the frame malformed.
			if int64(jumbo) < int64(len(payload)) {
				payload = payload[:jumbo]
			}
			if r := walkIPv6Ext(frame, payload, next, 0); r.failed && r.depth == 0 {
				return malformed, nil
			}
			return droppedIP, nil
		case jumbo > 0 || length == 0:
			return malformed, nil
		}
		payload = payload[n:]
	}
	// A payload length of 0 without a jumbo option is taken at its word, as Zeek
	// does: a 40-byte datagram, whose empty transport no connection accepts but an
	// unknown protocol's session counts. Extension headers do not fit in it.
	if length == 0 && isIPv6Ext(next) {
		return droppedIP, nil
	}
	// gopacket clips the payload to the payload length, counted after a hop-by-hop header.
	if length < len(payload) {
		payload = payload[:length]
	}
	nextAt := offsetIn(frame, data) + 6 // the byte that names the header after the fixed one
	if hbhLen > 0 {
		nextAt = offsetIn(frame, data) + 40
	}
	ext := walkIPv6Ext(frame, payload, next, nextAt)
	if ext.failed && ext.depth == 0 {
		return malformed, nil // the IPv6 header decoded, the first extension header did not
	}

	ipStart := offsetIn(frame, data)
	total := length + 40
	if wireLen-ipStart < total {
		return droppedIP, nil
	}
	if ext.fragment {
		if len(frame)-ipStart >= total {
			fh := frame[ext.end-8 : ext.end]
			key := fragKey{id: binary.BigEndian.Uint32(fh[4:8]), v6: true}
			copy(key.src[:], data[8:24])
			copy(key.dst[:], data[24:40])
			offField := binary.BigEndian.Uint16(fh[2:4])
			hdr := frame[ipStart : ext.end-8]
			payload := frame[ext.end : ipStart+total]
			if dg, ok := d.frags.add(key, d.now, hdr, ext.fragNextAt-ipStart, fh[0], int(offField&0xfff8), offField&1 != 0, payload); ok {
				d.reassembled(hdrIPv6, dg)
			}
			return fragment, nil
		}
		if binary.BigEndian.Uint16(frame[ext.end-6:ext.end-4])&0xfff8 != 0 {
			return fragment, nil // not captured whole, and not the first fragment
		}
	}
	p.v6 = true
	copy(p.src[:], data[8:24])
	copy(p.dst[:], data[24:40])
	p.ipLen = total
	tOff := ipStart + 40 + hbhLen
	if ext.depth > 0 {
		tOff, next = ext.end, ext.next
	}
	p.proto = Proto(next)
	return d.transport(frame, ipStart, tOff, total, p)
}

// hopByHop decodes a hop-by-hop options header as gopacket does: it returns the
// header's length, its next header, the jumbo payload length (0 without a jumbo
// option) and whether it decoded. Options are read up to the header's length but
// may run past it.
func hopByHop(data []byte) (n int, next uint8, jumbo uint32, ok bool) {
	if len(data) < 2 {
		return 0, 0, 0, false
	}
	next, n = data[0], int(data[1])*8+8
	if len(data) < n {
		return 0, 0, 0, false
	}
	var jumboOpt []byte
	found := false
	for off := 2; off < n; {
		opt := data[off:]
		if len(opt) < 2 {
			return 0, 0, 0, false
		}
		if opt[0] == 0 { // Pad1
			off++
			continue
		}
		l := int(opt[1]) + 2
		if len(opt) < l {
			return 0, 0, 0, false
		}
		if opt[0] == 0xc2 && !found { // jumbo payload
			jumboOpt, found = opt[2:l], true
		}
		off += l
	}
	if found {
		if len(jumboOpt) != 4 {
			return 0, 0, 0, false
		}
		if jumbo = binary.BigEndian.Uint32(jumboOpt); jumbo <= 65535 {
			return 0, 0, 0, false
		}
	}
	return n, next, jumbo, true
}

// ipv6ExtWalk is where a walk over IPv6 extension headers stopped.
type ipv6ExtWalk struct {
	depth    int   // extension headers decoded
	end      int   // offset in the frame after the last one decoded
	next     uint8 // next header of the last one decoded
	fragment bool  // a fragment header with an offset or more fragments
	failed   bool  // an extension header was truncated
	// fragNextAt is the offset in the frame of the byte that names the fragment
	// header (the next header field of the header before it).
	fragNextAt int
}

func isIPv6Ext(p uint8) bool {
	switch layers.IPProtocol(p) {
	case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Fragment,
		layers.IPProtocolIPv6Destination:
		return true
	}
	return false
}

// walkIPv6Ext walks the extension headers (RFC 8200 §4) in data, inside frame, that
// start with header type next, up to the first other header, an empty remainder or a
// fragment. nextAt is the offset in the frame of the byte that names the first.
func walkIPv6Ext(frame, data []byte, next uint8, nextAt int) ipv6ExtWalk {
	var w ipv6ExtWalk
	for isIPv6Ext(next) && len(data) > 0 {
		w.fragNextAt = nextAt
		nextAt = offsetIn(frame, data)
		if len(data) < 8 {
			w.failed = true
			return w
		}
		n := 8
		if next == uint8(layers.IPProtocolIPv6Fragment) {
			if off := binary.BigEndian.Uint16(data[2:4]); off>>3 != 0 || off&1 != 0 {
				w.fragment = true
			}
		} else {
			n = (int(data[1]) + 1) * 8
		}
		if len(data) < n {
			w.failed = true
			return w
		}
		next = data[0]
		data = data[n:]
		w.depth++
		w.end = offsetIn(frame, data)
		w.next = next
		if w.fragment {
			return w
		}
	}
	return w
}

// transport locates the transport header at tOff of a datagram of dgLen bytes that
// starts at ipStart. Tunnels, ESP and mobility headers stop here.
func (d *decoder) transport(frame []byte, ipStart, tOff, dgLen int, p *packet) (decodeResult, []byte) {
	switch p.proto {
	case 50, 135: // ESP and mobility stop Zeek's analysis
		return noTransport, nil
	case 4, 41, 47:
		return d.ipTunnel(frame, tOff, dgLen-(tOff-ipStart), p), nil
	}
	end := ipStart + dgLen
	if tOff > end {
		return malformed, nil
	}
	p.l4Len = end - tOff
	capEnd := min(end, len(frame))
	if tOff > capEnd {
		return decodedIP, frame[capEnd:capEnd]
	}
	return decodedIP, frame[tOff:capEnd]
}

// ipTunnel reads the payload of an IP-in-IP or GRE datagram, at tOff in frame, of
// length l4Len by its IP header, and makes the frame continue with the inner packet
// when there is one. Like Zeek, it reads what was captured after the outer IP header,
// trailers included, and counts the inner packet's wire length from the captured part.
func (d *decoder) ipTunnel(frame []byte, tOff, l4Len int, p *packet) decodeResult {
	p.tun = tunIP
	if p.proto == 47 {
		p.tun = tunGRE
	}
	p.l4Len = l4Len
	if d.depth >= maxTunnelDepth || tOff > len(frame) {
		return ipTunnel
	}
	data := frame[tOff:]
	if p.tun == tunGRE {
		if next, inner := d.gre(data); next != hdrNone {
			d.follow(next, data, inner, len(data), p.tun)
		}
	} else if next, inner := ipInIP(p.proto, data); next != hdrNone {
		d.follow(next, inner, inner, len(inner), p.tun)
	}
	return ipTunnel
}
