package tracker

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The reference decoder: flowtop's original decoder, built on gopacket's
// DecodingLayerParser and layers (with the IPv6 extension header offset fixed). The
// tracker's own decoder must classify and slice every frame exactly as it does;
// TestDecodeMatchesReference and FuzzDecode compare them.

// refPacket is what the reference decoder extracts from a frame.
type refPacket struct {
	src, dst [16]byte
	v6       bool
	proto    Proto
	ipLen    int
	dgLen    int
	l4       []byte
	l4Len    int
}

// Layer types of flowtop's own decoding layers (registered outside gopacket's range).
var (
	refLayerTypeSLL2 = gopacket.RegisterLayerType(4276, gopacket.LayerTypeMetadata{Name: "LinuxSLL2"})
)

// refDecoder turns frames into packets. It is owned by one goroutine and reuses its
// layers, so decoding allocates nothing.
type refDecoder struct {
	eth   refEthernet
	snap  refSNAP
	pbb   PBB
	fddi  refFDDI
	radio refRadiotap
	dot11 refDot11
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  refSLL2
	loop  layers.Loopback
	ip4   refIPv4Layer
	ip6   refIPv6Layer
	ext   refIPv6ExtLayer
	mpls  refMPLS
	pppoe refPPPoE
	ppp   refPPPSerial
	ppp9  refPPPLink
	vntag VNTag
	fp    FabricPath

	ignoreChecksums bool

	ethParser, sllParser, sll2Parser, loopParser, ip4Parser, ip6Parser *gopacket.DecodingLayerParser
	pppParser, pppHDLCParser, fddiParser, radioParser, dot11Parser     *gopacket.DecodingLayerParser
	decoded                                                            []gopacket.LayerType
}

func newRefDecoder(ignoreChecksums bool) *refDecoder {
	d := &refDecoder{ignoreChecksums: ignoreChecksums, decoded: make([]gopacket.LayerType, 0, 16)}
	d.ext.d = d
	all := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6, &d.ext,
		&d.mpls, &d.pppoe, &d.ppp, &d.ppp9, &d.vntag, &d.fp, &d.snap, &d.pbb, &d.fddi, &d.radio, &d.dot11}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first, all...)
		p.IgnoreUnsupported = true
		return p
	}
	d.ethParser = mk(layers.LayerTypeEthernet)
	d.sllParser = mk(layers.LayerTypeLinuxSLL)
	d.sll2Parser = mk(refLayerTypeSLL2)
	d.loopParser = mk(layers.LayerTypeLoopback)
	d.ip4Parser = mk(layers.LayerTypeIPv4)
	d.ip6Parser = mk(layers.LayerTypeIPv6)
	d.pppParser = mk(refLayerTypePPPLink)
	d.pppHDLCParser = mk(refLayerTypePPPSerial)
	d.fddiParser = mk(refLayerTypeFDDI)
	d.radioParser = mk(refLayerTypeRadiotap)
	d.dot11Parser = mk(refLayerTypeDot11)
	return d
}

func (d *refDecoder) parserFor(link layers.LinkType, data []byte) *gopacket.DecodingLayerParser {
	switch link {
	case linkTypeEth:
		return d.ethParser
	case linkTypeLinSLL:
		return d.sllParser
	case linkTypeSLL2:
		return d.sll2Parser
	case linkTypeNull, linkTypeLoop:
		return d.loopParser
	case linkTypeIPv4:
		return d.ip4Parser
	case linkTypeIPv6:
		return d.ip6Parser
	case linkTypePPP:
		return d.pppParser
	case linkTypePPPHDLC:
		return d.pppHDLCParser
	case linkTypeFDDI:
		return d.fddiParser
	case linkTypeRadio:
		return d.radioParser
	case linkTypeDot11:
		return d.dot11Parser
	case linkTypeRawIP, linkTypeRaw12, linkTypeRaw14:
		if len(data) > 0 && data[0]>>4 == 6 {
			return d.ip6Parser
		}
		return d.ip4Parser
	}
	return nil
}

// decode fills p from one frame of the given link type; wireLen is the frame's
// length on the wire. It applies Zeek's IP-layer checks (conn-semantics §0.4).
func (d *refDecoder) decode(data []byte, wireLen int, link layers.LinkType, p *refPacket) decodeResult {
	parser := d.parserFor(link, data)
	if parser == nil {
		return notIP
	}
	d.ext.reset()
	err := parser.DecodeLayers(data, &d.decoded)
	ipIdx := -1
	for i, lt := range d.decoded {
		if lt == layers.LayerTypeIPv4 || lt == layers.LayerTypeIPv6 {
			ipIdx = i
			break
		}
	}
	if ipIdx < 0 {
		if err != nil {
			return malformed
		}
		return notIP
	}
	for _, lt := range d.decoded[:ipIdx] {
		if lt == layers.LayerTypePPPoE {
			// What follows PPPoE's payload length is not captured data.
			data = data[:refOffsetIn(data, d.pppoe.payload)+len(d.pppoe.payload)]
		}
	}
	if d.decoded[ipIdx] == layers.LayerTypeIPv4 {
		return d.finishIPv4(data, wireLen, p)
	}
	if err != nil && len(d.decoded) == ipIdx+1 && d.ext.depth == 0 {
		// The IPv6 header itself decoded, an extension header did not.
		return malformed
	}
	return d.finishIPv6(data, wireLen, p)
}

// refOffsetIn returns where sub starts inside frame; both slice one backing array.
func refOffsetIn(frame, sub []byte) int { return cap(frame) - cap(sub) }

func (d *refDecoder) finishIPv4(frame []byte, wireLen int, p *refPacket) decodeResult {
	ip := &d.ip4.IPv4
	hdr := ip.Contents
	ipStart := refOffsetIn(frame, hdr)
	total := int(binary.BigEndian.Uint16(hdr[2:4]))
	p.ipLen = total // Zeek's IP_Hdr::TotalLen: 0 for TSO packets, and so is their ip_bytes
	if total == 0 {
		if !d.ignoreChecksums {
			return droppedIP // TSO: Zeek trusts a zero length only with -C
		}
		total = len(frame) - ipStart
	}
	if wireLen-ipStart < total || len(hdr) > total {
		return droppedIP
	}
	if !d.ignoreChecksums && !ipv4HeaderOK(hdr) {
		return droppedIP
	}
	// A fragment is left to reassembly, unless it is the first and was not
	// captured whole: Zeek reads that one on its own.
	if (ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0) && (len(frame)-ipStart >= total || ip.FragOffset != 0) {
		return fragment
	}
	p.v6 = false
	p.src = [16]byte{10: 0xff, 11: 0xff}
	p.dst = p.src
	copy(p.src[12:], hdr[12:16])
	copy(p.dst[12:], hdr[16:20])
	p.proto = Proto(hdr[9])
	p.dgLen = total
	return d.finishTransport(frame, ipStart, ipStart+len(hdr), p)
}

func (d *refDecoder) finishIPv6(frame []byte, wireLen int, p *refPacket) decodeResult {
	ip := &d.ip6.IPv6
	hdr := ip.Contents
	ipStart := refOffsetIn(frame, hdr)
	if ip.Length == 0 && (ip.HopByHop != nil || refIsIPv6Ext(ip.NextHeader)) {
		return droppedIP // jumbograms are not supported; extension headers do not fit
	}
	total := int(ip.Length) + 40
	if wireLen-ipStart < total {
		return droppedIP
	}
	if d.ext.fragment && (len(frame)-ipStart >= total || !d.ext.fragFirst) {
		return fragment
	}
	p.v6 = true
	copy(p.src[:], hdr[8:24])
	copy(p.dst[:], hdr[24:40])
	p.ipLen, p.dgLen = total, total
	tOff := ipStart + 40
	next := ip.NextHeader
	if ip.HopByHop != nil {
		tOff += len(ip.HopByHop.Contents)
		next = ip.HopByHop.NextHeader
	}
	if d.ext.depth > 0 {
		tOff = ipStart + d.ext.end
		next = d.ext.next
	}
	p.proto = Proto(next)
	return d.finishTransport(frame, ipStart, tOff, p)
}

func (d *refDecoder) finishTransport(frame []byte, ipStart, tOff int, p *refPacket) decodeResult {
	switch p.proto {
	case 50, 135: // ESP and mobility stop Zeek's analysis
		return noTransport
	case 4, 41, 47: // IP in IP and GRE: the tunnel's inner packet follows
		return ipTunnel
	}
	end := ipStart + p.dgLen
	if tOff > end {
		return malformed
	}
	p.l4Len = end - tOff
	capEnd := end
	if capEnd > len(frame) {
		capEnd = len(frame)
	}
	if tOff > capEnd {
		p.l4 = frame[capEnd:capEnd]
	} else {
		p.l4 = frame[tOff:capEnd]
	}
	return decodedIP
}

// refIPv4Layer is gopacket's IPv4 layer, stopping the parser after it: the tracker
// reads transport headers itself (see parseTransport).
type refIPv4Layer struct{ layers.IPv4 }

// NextLayerType ends decoding at the network layer.
func (l *refIPv4Layer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// refIPv6Layer is gopacket's IPv6 layer; decoding continues only into extension headers.
type refIPv6Layer struct{ layers.IPv6 }

// DecodeFromBytes is gopacket's, except that a payload length of 0 without a
// hop-by-hop header is a 40-byte datagram (Zeek's reading), not an error.
func (l *refIPv6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) >= 40 && data[4] == 0 && data[5] == 0 && data[6] != 0 {
		l.IPv6 = layers.IPv6{
			BaseLayer:    layers.BaseLayer{Contents: data[:40], Payload: data[40:40]},
			Version:      data[0] >> 4,
			TrafficClass: data[0]<<4 | data[1]>>4,
			FlowLabel:    binary.BigEndian.Uint32(data[0:4]) & 0x000fffff,
			NextHeader:   layers.IPProtocol(data[6]),
			HopLimit:     data[7],
			SrcIP:        data[8:24],
			DstIP:        data[24:40],
		}
		return nil
	}
	return l.IPv6.DecodeFromBytes(data, df)
}

// NextLayerType continues into extension headers and ends at the transport layer.
func (l *refIPv6Layer) NextLayerType() gopacket.LayerType {
	if len(l.Payload) == 0 {
		return gopacket.LayerTypeZero
	}
	next := l.NextHeader
	if l.HopByHop != nil {
		next = l.HopByHop.NextHeader
	}
	if refIsIPv6Ext(next) {
		return next.LayerType()
	}
	return gopacket.LayerTypeZero
}

func refIsIPv6Ext(p layers.IPProtocol) bool {
	switch p {
	case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Fragment,
		layers.IPProtocolIPv6Destination:
		return true
	}
	return false
}

// refIPv6ExtLayer walks IPv6 extension headers (RFC 8200 §4) after the fixed header,
// noting where the transport header starts and whether the refPacket is a fragment.
type refIPv6ExtLayer struct {
	d        *refDecoder
	contents []byte
	payload  []byte
	nh       layers.IPProtocol
	next     layers.IPProtocol
	end      int // offset of the transport header from the start of the IPv6 header
	depth    int
	fragment bool
	// fragFirst: the fragment is the first of its datagram.
	fragFirst bool
}

func (l *refIPv6ExtLayer) reset() { l.depth, l.fragment = 0, false }

// CanDecode implements gopacket.DecodingLayer.
func (l *refIPv6ExtLayer) CanDecode() gopacket.LayerClass { return layers.LayerClassIPv6Extension }

// LayerPayload implements gopacket.DecodingLayer.
func (l *refIPv6ExtLayer) LayerPayload() []byte { return l.payload }

// DecodeFromBytes implements gopacket.DecodingLayer.
func (l *refIPv6ExtLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return refErrShortExtension
	}
	// The parser tells us which type it asked for only through the previous header's
	// next-header field, which we keep in l.next.
	cur := l.next
	if l.depth == 0 {
		cur = l.d.ip6.NextHeader
		if l.d.ip6.HopByHop != nil {
			cur = l.d.ip6.HopByHop.NextHeader
		}
	}
	n := 8
	if cur == layers.IPProtocolIPv6Fragment {
		off := binary.BigEndian.Uint16(data[2:4])
		if off>>3 != 0 || off&1 != 0 {
			l.fragment, l.fragFirst = true, off>>3 == 0
		}
	} else {
		n = (int(data[1]) + 1) * 8
	}
	if len(data) < n {
		df.SetTruncated()
		return refErrShortExtension
	}
	l.contents, l.payload = data[:n], data[n:]
	l.nh = cur
	l.next = layers.IPProtocol(data[0])
	l.depth++
	l.end = refOffsetIn(l.d.frameOf(), l.payload)
	return nil
}

// NextLayerType implements gopacket.DecodingLayer.
func (l *refIPv6ExtLayer) NextLayerType() gopacket.LayerType {
	if l.fragment || !refIsIPv6Ext(l.next) {
		return gopacket.LayerTypeZero
	}
	return l.next.LayerType()
}

// frameOf returns a slice whose backing array is the current frame: the IPv6 header.
func (d *refDecoder) frameOf() []byte {
	c := d.ip6.Contents
	return c[:0:cap(c)]
}

var refErrShortExtension = refDecodeError("truncated IPv6 extension header")

type refDecodeError string

func (e refDecodeError) Error() string { return string(e) }

// refSLL2 decodes the Linux "cooked" capture header v2 (LINKTYPE_LINUX_SLL2, 276):
// protocol type (2), reserved (2), interface index (4), ARPHRD type (2), refPacket type (1),
// address length (1), address (8); 20 bytes in all.
type refSLL2 struct {
	proto   layers.EthernetType
	payload []byte
}

// CanDecode implements gopacket.DecodingLayer.
func (l *refSLL2) CanDecode() gopacket.LayerClass { return refLayerTypeSLL2 }

// LayerPayload implements gopacket.DecodingLayer.
func (l *refSLL2) LayerPayload() []byte { return l.payload }

// NextLayerType implements gopacket.DecodingLayer.
func (l *refSLL2) NextLayerType() gopacket.LayerType { return l.proto.LayerType() }

// DecodeFromBytes implements gopacket.DecodingLayer.
func (l *refSLL2) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return refDecodeError("truncated SLL2 header")
	}
	l.proto = layers.EthernetType(binary.BigEndian.Uint16(data[0:2]))
	l.payload = data[20:]
	return nil
}
