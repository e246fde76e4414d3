package tracker

import (
	"bytes"
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The reference decoder's link layers that gopacket v1 has no DecodingLayer for,
// each as Zeek's packet analyzer reads it (src/packet_analysis/protocol/...). The
// tracker's own decoder (decode.go) must agree with them on every frame.

var (
	refLayerTypeFDDI      = gopacket.RegisterLayerType(4277, gopacket.LayerTypeMetadata{Name: "refFDDI"})
	refLayerTypeRadiotap  = gopacket.RegisterLayerType(4278, gopacket.LayerTypeMetadata{Name: "refRadiotap"})
	refLayerTypeDot11     = gopacket.RegisterLayerType(4281, gopacket.LayerTypeMetadata{Name: "refDot11"})
	refLayerTypePPPSerial = gopacket.RegisterLayerType(4279, gopacket.LayerTypeMetadata{Name: "PPPSerial"})
	refLayerTypePPPLink   = gopacket.RegisterLayerType(4280, gopacket.LayerTypeMetadata{Name: "PPP"})
	refLayerTypeSNAP      = gopacket.RegisterLayerType(4282, gopacket.LayerTypeMetadata{Name: "refSNAP"})
)

func init() {
	// EtherTypes gopacket does not know, so that Ethernet, 802.1Q and VN-Tag
	// layers hand their payload to the layers below.
	layers.EthernetTypeMetadata[EthernetTypeVNTag] = layers.EnumMetadata{Name: "VNTag", LayerType: LayerTypeVNTag}
	layers.EthernetTypeMetadata[EthernetTypeFabricPath] = layers.EnumMetadata{Name: "FabricPath", LayerType: LayerTypeFabricPath}
	layers.EthernetTypeMetadata[EthernetTypePBB] = layers.EnumMetadata{Name: "PBB", LayerType: LayerTypePBB}
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
// Zeek's PPPoE analyzer does: 0x0021 and 0x0057 carry IP, and the payload ends
// where the header's length says (refDecoder.decode cuts the frame there).
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
	n := max(int(binary.BigEndian.Uint16(data[4:6]))-2, 0)
	l.payload = data[8 : 8+min(n, len(data)-8)]
	l.next = refPPPNext(binary.BigEndian.Uint16(data[6:8]), l.payload)
	if len(l.payload) == 0 {
		l.next = gopacket.LayerTypeZero
	}
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

// refEthernet is gopacket's Ethernet layer, except for IEEE 802.3 frames, which it
// reads as Zeek does: a length field beyond the frame fails it, and the payload is
// not cut to the length (gopacket cuts it, Zeek passes trailers on).
type refEthernet struct{ layers.Ethernet }

func (l *refEthernet) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.Ethernet.DecodeFromBytes(data, df); err != nil {
		return err
	}
	if l.EthernetType == layers.EthernetTypeLLC && l.Length <= 1500 {
		if int(l.Length) > len(data)-14 {
			return refDecodeError("802.3 length beyond the frame")
		}
		l.Payload = data[14:]
	}
	return nil
}

func (l *refEthernet) NextLayerType() gopacket.LayerType {
	if l.EthernetType == layers.EthernetTypeLLC {
		if l.Length > 1500 {
			return gopacket.LayerTypeZero // neither a length nor an EtherType
		}
		// Only an 802.3 length field leads to LLC/SNAP, as in Zeek: EtherType 0
		// after 802.1Q or a cooked header, which gopacket also calls LLC, does not.
		return refLayerTypeSNAP
	}
	return l.Ethernet.NextLayerType()
}

// refSNAP reads an 802.2 LLC header and, for SNAP (DSAP and SSAP 0xaa), the OUI and
// EtherType (RFC 1042), as Zeek's SNAP analyzer does; only a zero OUI and an IP
// EtherType lead on, to IP by the version nibble.
type refSNAP struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refSNAP) CanDecode() gopacket.LayerClass    { return refLayerTypeSNAP }
func (l *refSNAP) LayerPayload() []byte              { return l.payload }
func (l *refSNAP) NextLayerType() gopacket.LayerType { return l.next }
func (l *refSNAP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	l.next, l.payload = gopacket.LayerTypeZero, nil
	if len(data) < 2 || data[0] != 0xaa || data[1] != 0xaa {
		return nil // plain LLC or Novell: nothing follows
	}
	hdr := 3
	if len(data) >= 3 && data[2]&3 != 3 {
		hdr = 4
	}
	if len(data) < 3 || len(data) < hdr+5 {
		return refDecodeError("truncated SNAP header")
	}
	if oui := data[hdr : hdr+3]; oui[0]|oui[1]|oui[2] != 0 {
		return nil
	}
	l.payload = data[hdr+5:]
	if t := layers.EthernetType(binary.BigEndian.Uint16(data[hdr+3:])); t == layers.EthernetTypeIPv4 || t == layers.EthernetTypeIPv6 {
		l.next = refIPByVersion(l.payload)
	}
	return nil
}

// refFDDI skips an FDDI MAC header (13 bytes) and LLC/SNAP (8) unread, as Zeek's
// FDDI analyzer does, and takes what follows for IP.
type refFDDI struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refFDDI) CanDecode() gopacket.LayerClass    { return refLayerTypeFDDI }
func (l *refFDDI) LayerPayload() []byte              { return l.payload }
func (l *refFDDI) NextLayerType() gopacket.LayerType { return l.next }
func (l *refFDDI) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 22 {
		return refDecodeError("truncated FDDI header")
	}
	l.payload = data[21:]
	l.next = refIPByVersion(l.payload)
	return nil
}

// refRadiotap skips a radiotap header by its little-endian length (offset 2).
type refRadiotap struct{ payload []byte }

func (l *refRadiotap) CanDecode() gopacket.LayerClass    { return refLayerTypeRadiotap }
func (l *refRadiotap) LayerPayload() []byte              { return l.payload }
func (l *refRadiotap) NextLayerType() gopacket.LayerType { return refLayerTypeDot11 }
func (l *refRadiotap) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return refDecodeError("truncated radiotap header")
	}
	n := int(data[2]) | int(data[3])<<8
	if len(data) <= n {
		return refDecodeError("radiotap length beyond the frame")
	}
	l.payload = data[n:]
	return nil
}

// refDot11 reads an 802.11 data frame's MAC header and LLC/SNAP as Zeek's
// IEEE802_11 analyzer does (see dot11 in decode.go for the rules).
type refDot11 struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *refDot11) CanDecode() gopacket.LayerClass    { return refLayerTypeDot11 }
func (l *refDot11) LayerPayload() []byte              { return l.payload }
func (l *refDot11) NextLayerType() gopacket.LayerType { return l.next }
func (l *refDot11) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	l.next, l.payload = gopacket.LayerTypeZero, nil
	if len(data) < 25 {
		return refDecodeError("truncated 802.11 header")
	}
	typ, subtype := data[0]>>2&3, data[0]>>4
	if typ < 2 || subtype&4 != 0 {
		return nil // management, control or no data
	}
	hdr := 24
	if data[1]&3 == 3 {
		hdr += 6
	}
	if subtype&8 != 0 {
		if hdr >= len(data) {
			return refDecodeError("truncated 802.11 QoS header")
		}
		if data[hdr]&0x80 != 0 || data[1]&0x40 != 0 {
			return nil // A-MSDU or protected
		}
		hdr += 2
	}
	if hdr >= len(data) || len(data)-hdr < 8 {
		return refDecodeError("truncated 802.11 frame")
	}
	snap := data[hdr:]
	if !bytes.Equal(snap[:6], []byte{0xaa, 0xaa, 3, 0, 0, 0}) {
		return nil
	}
	l.payload = snap[8:]
	if t := layers.EthernetType(binary.BigEndian.Uint16(snap[6:8])); t == layers.EthernetTypeIPv4 || t == layers.EthernetTypeIPv6 {
		l.next = refIPByVersion(l.payload)
	}
	return nil
}
