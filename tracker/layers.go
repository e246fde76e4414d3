package tracker

import (
	"encoding/binary"
	"errors"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// DecodingLayers for the link and tunnel headers that gopacket has no layer for.
// Each reads its header as Zeek's packet analyzer for it does (the truncation
// limits included), decodes without allocating, and names what follows with a
// gopacket layer type. The tracker's decoder calls them directly for these rare
// headers; so can any gopacket DecodingLayerParser.

// Layer types of flowtop's DecodingLayers, from the range gopacket leaves to
// applications (above 2000).
var (
	LayerTypeVNTag      = gopacket.RegisterLayerType(4201, gopacket.LayerTypeMetadata{Name: "VNTag", Decoder: decodeWith(func() gopacket.DecodingLayer { return new(VNTag) })})
	LayerTypeFabricPath = gopacket.RegisterLayerType(4202, gopacket.LayerTypeMetadata{Name: "FabricPath", Decoder: decodeWith(func() gopacket.DecodingLayer { return new(FabricPath) })})
	LayerTypePBB        = gopacket.RegisterLayerType(4203, gopacket.LayerTypeMetadata{Name: "PBB", Decoder: decodeWith(func() gopacket.DecodingLayer { return new(PBB) })})
)

// EtherTypes of the link headers above.
const (
	EthernetTypeVNTag      layers.EthernetType = 0x8926
	EthernetTypeFabricPath layers.EthernetType = 0x8903
	EthernetTypePBB        layers.EthernetType = 0x88e7
)

// errTruncated is what the layers return for a header that is not all there: a
// value, so that failing costs no allocation.
var errTruncated = errors.New("truncated header")

// decodeWith makes a gopacket.Decoder from a DecodingLayer constructor, so that the
// layer types also work with gopacket.NewPacket.
func decodeWith(mk func() gopacket.DecodingLayer) gopacket.Decoder {
	return gopacket.DecodeFunc(func(data []byte, p gopacket.PacketBuilder) error {
		l := mk()
		if err := l.DecodeFromBytes(data, p); err != nil {
			return err
		}
		p.AddLayer(l.(gopacket.Layer))
		return p.NextDecoder(l.NextLayerType())
	})
}

// VNTag is a Cisco VN-Tag (IEEE 802.1Qbh, EtherType 0x8926): 4 bytes of tag (the
// direction and pointer bits and the destination and source virtual interfaces),
// then the EtherType of what follows. Like Zeek's VNTag analyzer, it wants more
// than the 6 header bytes.
type VNTag struct {
	layers.BaseLayer
	Tag  uint32              // direction, pointer, destination and source VIFs
	Type layers.EthernetType // what follows
}

// LayerType returns LayerTypeVNTag.
func (v *VNTag) LayerType() gopacket.LayerType { return LayerTypeVNTag }

// CanDecode returns LayerTypeVNTag.
func (v *VNTag) CanDecode() gopacket.LayerClass { return LayerTypeVNTag }

// NextLayerType returns the layer type of the tag's EtherType.
func (v *VNTag) NextLayerType() gopacket.LayerType { return v.Type.LayerType() }

// DecodeFromBytes decodes a VN-Tag.
func (v *VNTag) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 6 {
		df.SetTruncated()
		return errTruncated
	}
	v.Tag = binary.BigEndian.Uint32(data[0:4])
	v.Type = layers.EthernetType(binary.BigEndian.Uint16(data[4:6]))
	v.Contents, v.Payload = data[:6], data[6:]
	return nil
}

// FabricPath is the end of a Cisco FabricPath header (EtherType 0x8903, after the
// outer destination and source switch addresses): the forwarding tag and TTL, 2
// bytes, then the encapsulated Ethernet frame, which Zeek's Ethernet analyzer wants
// longer than its own 14-byte header.
type FabricPath struct {
	layers.BaseLayer
	FTag uint16 // forwarding tag (10 bits)
	TTL  uint8  // hop limit (6 bits)
}

// LayerType returns LayerTypeFabricPath.
func (f *FabricPath) LayerType() gopacket.LayerType { return LayerTypeFabricPath }

// CanDecode returns LayerTypeFabricPath.
func (f *FabricPath) CanDecode() gopacket.LayerClass { return LayerTypeFabricPath }

// NextLayerType returns LayerTypeEthernet: the encapsulated frame.
func (f *FabricPath) NextLayerType() gopacket.LayerType { return layers.LayerTypeEthernet }

// DecodeFromBytes decodes the FabricPath tag.
func (f *FabricPath) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 16 {
		df.SetTruncated()
		return errTruncated
	}
	v := binary.BigEndian.Uint16(data[0:2])
	f.FTag, f.TTL = v>>6, uint8(v&0x3f)
	f.Contents, f.Payload = data[:2], data[2:]
	return nil
}

// PBB is the I-TAG of IEEE 802.1ah Provider Backbone Bridging (EtherType 0x88e7):
// priority, drop eligibility, use-customer-address and the 24-bit service
// instance, 4 bytes, then the customer's Ethernet frame. Like Zeek's PBB analyzer it
// wants more than 18 bytes: the tag and a customer Ethernet header.
type PBB struct {
	layers.BaseLayer
	Priority uint8  // I-PCP
	DropOK   bool   // I-DEI
	UCA      bool   // use customer addresses
	ISID     uint32 // backbone service instance identifier
}

// LayerType returns LayerTypePBB.
func (b *PBB) LayerType() gopacket.LayerType { return LayerTypePBB }

// CanDecode returns LayerTypePBB.
func (b *PBB) CanDecode() gopacket.LayerClass { return LayerTypePBB }

// NextLayerType returns LayerTypeEthernet: the customer frame.
func (b *PBB) NextLayerType() gopacket.LayerType { return layers.LayerTypeEthernet }

// DecodeFromBytes decodes an I-TAG.
func (b *PBB) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 18 {
		df.SetTruncated()
		return errTruncated
	}
	b.Priority, b.DropOK, b.UCA = data[0]>>5, data[0]&0x10 != 0, data[0]&0x08 != 0
	b.ISID = binary.BigEndian.Uint32(data[0:4]) & 0xffffff
	b.Contents, b.Payload = data[:4], data[4:]
	return nil
}

// Layer types of flowtop's tunnel DecodingLayers.
var (
	LayerTypeTeredo  = gopacket.RegisterLayerType(4204, gopacket.LayerTypeMetadata{Name: "Teredo", Decoder: decodeWith(func() gopacket.DecodingLayer { return new(Teredo) })})
	LayerTypeAYIYA   = gopacket.RegisterLayerType(4205, gopacket.LayerTypeMetadata{Name: "AYIYA", Decoder: decodeWith(func() gopacket.DecodingLayer { return new(AYIYA) })})
	LayerTypeERSPAN3 = gopacket.RegisterLayerType(4206, gopacket.LayerTypeMetadata{Name: "ERSPAN3", Decoder: decodeWith(func() gopacket.DecodingLayer { return new(ERSPAN3) })})
)

// errBadHeader is what the layers return for a header that breaks its protocol.
var errBadHeader = errors.New("invalid header")

// Teredo is the Teredo encapsulation of IPv6 in UDP (RFC 4380 §5.1.1): an optional
// authentication header (indicator 0x0001, client identifier and authentication
// value lengths, both, a nonce and a confirmation byte), then an optional origin
// indication (indicator 0x0000, the obfuscated origin port and address, 8 bytes),
// then the IPv6 packet, whose first 40 bytes must be there. The order and the
// limits are those of Zeek's Teredo analyzer.
type Teredo struct {
	layers.BaseLayer
	Auth   []byte // the authentication header, if present
	Origin []byte // the origin indication, if present
}

// LayerType returns LayerTypeTeredo.
func (l *Teredo) LayerType() gopacket.LayerType { return LayerTypeTeredo }

// CanDecode returns LayerTypeTeredo.
func (l *Teredo) CanDecode() gopacket.LayerClass { return LayerTypeTeredo }

// NextLayerType returns LayerTypeIPv6.
func (l *Teredo) NextLayerType() gopacket.LayerType { return layers.LayerTypeIPv6 }

// DecodeFromBytes decodes the Teredo headers in front of an IPv6 packet.
func (l *Teredo) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	l.Auth, l.Origin = nil, nil
	all := data
	for {
		if len(data) < 2 {
			df.SetTruncated()
			return errTruncated
		}
		switch tag := binary.BigEndian.Uint16(data); {
		case tag == 0x0000:
			if l.Origin != nil {
				return errBadHeader
			}
			if len(data) < 8 {
				df.SetTruncated()
				return errTruncated
			}
			l.Origin, data = data[:8], data[8:]
			continue
		case tag == 0x0001:
			if l.Origin != nil || l.Auth != nil {
				return errBadHeader // authentication comes first, once
			}
			if len(data) < 4 || len(data) < 4+int(data[2])+int(data[3])+8+1 {
				df.SetTruncated()
				return errTruncated
			}
			n := 4 + int(data[2]) + int(data[3]) + 8 + 1
			l.Auth, data = data[:n], data[n:]
			continue
		case tag>>12 != 6:
			return errBadHeader
		}
		break
	}
	if len(data) < 40 {
		df.SetTruncated()
		return errTruncated
	}
	l.Contents, l.Payload = all[:len(all)-len(data)], data
	return nil
}

// AYIYA is the header of AYIYA, Anything In Anything (draft-massar-v6ops-ayiya-02
// §6): identity length (as a power of two) and type, signature length (in 4-byte
// words) and hash method, authentication method and operation code, next header,
// epoch time, then the identity and the signature. Like Zeek's AYIYA analyzer, it
// holds the identity length in a byte, so lengths of 2^8 and more are 0.
type AYIYA struct {
	layers.BaseLayer
	OpCode     uint8             // 1: forward
	NextHeader layers.IPProtocol // what follows: 4 and 41 are IP
	Epoch      uint32            // seconds since 1970
	Identity   []byte
	Signature  []byte
}

// LayerType returns LayerTypeAYIYA.
func (l *AYIYA) LayerType() gopacket.LayerType { return LayerTypeAYIYA }

// CanDecode returns LayerTypeAYIYA.
func (l *AYIYA) CanDecode() gopacket.LayerClass { return LayerTypeAYIYA }

// NextLayerType returns IPv4 or IPv6 for forwarded packets that carry them, and
// LayerTypeZero otherwise.
func (l *AYIYA) NextLayerType() gopacket.LayerType {
	if l.OpCode != 1 || len(l.Payload) == 0 {
		return gopacket.LayerTypeZero
	}
	switch l.NextHeader {
	case layers.IPProtocolIPv4:
		return layers.LayerTypeIPv4
	case layers.IPProtocolIPv6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

// DecodeFromBytes decodes an AYIYA header.
func (l *AYIYA) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errTruncated
	}
	id := int(uint8(1) << (data[0] >> 4))
	sig := int(data[1]>>4) * 4
	n := 8 + id + sig
	if n > len(data) {
		df.SetTruncated()
		return errTruncated
	}
	l.OpCode, l.NextHeader = data[2]&0x0f, layers.IPProtocol(data[3])
	l.Epoch = binary.BigEndian.Uint32(data[4:8])
	l.Identity, l.Signature = data[8:8+id], data[8+id:n]
	l.Contents, l.Payload = data[:n], data[n:]
	return nil
}

// ERSPAN3 is an ERSPAN type III header (draft-foschiano-erspan-03 §4.3), GRE
// protocol 0x22eb: version, VLAN, class of service, BSO, truncation, session id,
// timestamp, security group tag, flags, hardware id and the O bit, which announces an
// 8-byte platform-specific subheader. A mirrored Ethernet frame follows, which
// Zeek's GRE analyzer wants longer than its header.
type ERSPAN3 struct {
	layers.BaseLayer
	Version   uint8
	VLAN      uint16
	SessionID uint16
	Timestamp uint32
	Platform  []byte // the platform-specific subheader, when O is set
}

// LayerType returns LayerTypeERSPAN3.
func (l *ERSPAN3) LayerType() gopacket.LayerType { return LayerTypeERSPAN3 }

// CanDecode returns LayerTypeERSPAN3.
func (l *ERSPAN3) CanDecode() gopacket.LayerClass { return LayerTypeERSPAN3 }

// NextLayerType returns LayerTypeEthernet: the mirrored frame.
func (l *ERSPAN3) NextLayerType() gopacket.LayerType { return layers.LayerTypeEthernet }

// DecodeFromBytes decodes an ERSPAN type III header.
func (l *ERSPAN3) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) <= 12+14 {
		df.SetTruncated()
		return errTruncated
	}
	n := 12
	l.Platform = nil
	if data[11]&0x01 != 0 {
		if len(data) <= 12+8+14 {
			df.SetTruncated()
			return errTruncated
		}
		n, l.Platform = 20, data[12:20]
	}
	l.Version = data[0] >> 4
	l.VLAN = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
	l.SessionID = binary.BigEndian.Uint16(data[2:4]) & 0x03ff
	l.Timestamp = binary.BigEndian.Uint32(data[4:8])
	l.Contents, l.Payload = data[:n], data[n:]
	return nil
}
