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
