package tracker

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The reference decoder's link layers that gopacket v1 has no DecodingLayer for,
// each as Zeek's packet analyzer reads it (src/packet_analysis/protocol/...). The
// tracker's own decoder (decode.go) must agree with them on every frame.

var (
	refLayerTypeVNTag      = gopacket.RegisterLayerType(4277, gopacket.LayerTypeMetadata{Name: "VNTag"})
	refLayerTypeFabricPath = gopacket.RegisterLayerType(4278, gopacket.LayerTypeMetadata{Name: "FabricPath"})
	refLayerTypePPPSerial  = gopacket.RegisterLayerType(4279, gopacket.LayerTypeMetadata{Name: "PPPSerial"})
	refLayerTypePPPLink    = gopacket.RegisterLayerType(4280, gopacket.LayerTypeMetadata{Name: "PPP"})
)

func init() {
	// EtherTypes gopacket does not know, so that Ethernet, 802.1Q and VN-Tag
	// layers hand their payload to the layers below.
	layers.EthernetTypeMetadata[0x8926] = layers.EnumMetadata{Name: "VNTag", LayerType: refLayerTypeVNTag}
	layers.EthernetTypeMetadata[0x8903] = layers.EnumMetadata{Name: "FabricPath", LayerType: refLayerTypeFabricPath}
}

// refIPByVersion is the layer type of an IP header by its version nibble, as
// Zeek's IP analyzer decides; LayerTypeZero (not IP) for anything else.
func refIPByVersion(data []byte) gopacket.LayerType {
	if len(data) > 0 {
		switch data[0] >> 4 {
		case 4:
			return layers.LayerTypeIPv4
		case 6:
			return layers.LayerTypeIPv6
		}
	}
	return gopacket.LayerTypeZero
}

// refMPLS skips an MPLS label stack (RFC 3032): 4-byte entries up to the one with
// the bottom-of-stack bit. The payload's protocol is not encoded; like Zeek, take
// it for IP by its version nibble if more than an IPv4 header's 20 bytes remain.
type refMPLS struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refMPLS) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (l *refMPLS) LayerPayload() []byte              { return l.payload }
func (l *refMPLS) NextLayerType() gopacket.LayerType { return l.next }
func (l *refMPLS) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	for {
		if len(data) <= 4 {
			df.SetTruncated()
			return refDecodeError("truncated MPLS label stack")
		}
		bottom := data[2]&1 != 0
		data = data[4:]
		if bottom {
			break
		}
	}
	l.payload, l.next = data, gopacket.LayerTypeZero
	if len(data) > 20 {
		l.next = refIPByVersion(data)
	}
	return nil
}

// refPPPoE reads a PPPoE session header (RFC 2516 §4: version/type, code,
// session id, length; 6 bytes) and the PPP protocol after it (RFC 1661), as
// Zeek's PPPoE analyzer does: 0x0021 and 0x0057 carry IP.
type refPPPoE struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refPPPoE) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (l *refPPPoE) LayerPayload() []byte              { return l.payload }
func (l *refPPPoE) NextLayerType() gopacket.LayerType { return l.next }
func (l *refPPPoE) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 8 {
		df.SetTruncated()
		return refDecodeError("truncated PPPoE header")
	}
	l.payload, l.next = data[8:], refPPPNext(binary.BigEndian.Uint16(data[6:8]), data[8:])
	return nil
}

// refPPPNext is the layer a PPP protocol number announces (RFC 1661, RFC 3032).
func refPPPNext(proto uint16, payload []byte) gopacket.LayerType {
	switch proto {
	case 0x0021, 0x0057:
		return refIPByVersion(payload)
	case 0x0281:
		return layers.LayerTypeMPLS
	}
	return gopacket.LayerTypeZero
}

// refPPPLink reads the header of LINKTYPE_PPP as Zeek's PPP analyzer does: RFC
// 1662 address and control (0xff 0x03) then the protocol, or the protocol at once.
type refPPPLink struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refPPPLink) CanDecode() gopacket.LayerClass    { return refLayerTypePPPLink }
func (l *refPPPLink) LayerPayload() []byte              { return l.payload }
func (l *refPPPLink) NextLayerType() gopacket.LayerType { return l.next }
func (l *refPPPLink) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 2 {
		df.SetTruncated()
		return refDecodeError("truncated PPP header")
	}
	if data[0] == 0xff && data[1] == 0x03 {
		return (*refPPPSerial)(l).DecodeFromBytes(data, df)
	}
	l.payload, l.next = data[2:], refPPPNext(binary.BigEndian.Uint16(data[0:2]), data[2:])
	return nil
}

// refPPPSerial reads the header of LINKTYPE_PPP_HDLC (RFC 1662 HDLC-like framing:
// address, control, 2-byte protocol), as Zeek's PPPSerial analyzer does.
type refPPPSerial struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refPPPSerial) CanDecode() gopacket.LayerClass    { return refLayerTypePPPSerial }
func (l *refPPPSerial) LayerPayload() []byte              { return l.payload }
func (l *refPPPSerial) NextLayerType() gopacket.LayerType { return l.next }
func (l *refPPPSerial) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 4 {
		df.SetTruncated()
		return refDecodeError("truncated PPP header")
	}
	l.payload, l.next = data[4:], refPPPNext(binary.BigEndian.Uint16(data[2:4]), data[4:])
	return nil
}

// refVNTag reads a Cisco VN-Tag (IEEE 802.1Qbh draft; EtherType 0x8926): 4 bytes of
// tag, then the EtherType of what follows.
type refVNTag struct {
	proto   layers.EthernetType
	payload []byte
}

func (l *refVNTag) CanDecode() gopacket.LayerClass    { return refLayerTypeVNTag }
func (l *refVNTag) LayerPayload() []byte              { return l.payload }
func (l *refVNTag) NextLayerType() gopacket.LayerType { return l.proto.LayerType() }
func (l *refVNTag) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 6 {
		df.SetTruncated()
		return refDecodeError("truncated VN-Tag")
	}
	l.proto, l.payload = layers.EthernetType(binary.BigEndian.Uint16(data[4:6])), data[6:]
	return nil
}

// refFabricPath skips the rest of a Cisco FabricPath header (EtherType 0x8903,
// then 2 bytes of FTag and TTL) to the encapsulated Ethernet frame, which Zeek's
// Ethernet analyzer requires to be longer than an Ethernet header.
type refFabricPath struct{ payload []byte }

func (l *refFabricPath) CanDecode() gopacket.LayerClass    { return refLayerTypeFabricPath }
func (l *refFabricPath) LayerPayload() []byte              { return l.payload }
func (l *refFabricPath) NextLayerType() gopacket.LayerType { return layers.LayerTypeEthernet }
func (l *refFabricPath) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 16 {
		df.SetTruncated()
		return refDecodeError("truncated FabricPath frame")
	}
	l.payload = data[2:]
	return nil
}
