package tracker

import (
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// layerCases are headers of each of flowtop's DecodingLayers, with what must
// decode from them; short is the longest prefix that must fail as truncated.
var layerCases = []struct {
	name  string
	layer func() gopacket.DecodingLayer
	data  []byte
	hdr   int                // header length
	next  gopacket.LayerType // what follows
	check func(gopacket.DecodingLayer) bool
}{
	{"vntag", func() gopacket.DecodingLayer { return new(VNTag) },
		[]byte{0x80, 0x01, 0x00, 0x02, 0x08, 0x00, 0x45}, 6, layers.LayerTypeIPv4,
		func(l gopacket.DecodingLayer) bool {
			v := l.(*VNTag)
			return v.Tag == 0x80010002 && v.Type == layers.EthernetTypeIPv4
		}},
	{"fabricpath", func() gopacket.DecodingLayer { return new(FabricPath) },
		append([]byte{0x01, 0x3f}, make([]byte, 15)...), 2, layers.LayerTypeEthernet,
		func(l gopacket.DecodingLayer) bool { f := l.(*FabricPath); return f.FTag == 4 && f.TTL == 63 }},
	{"pbb", func() gopacket.DecodingLayer { return new(PBB) },
		append([]byte{0x78, 0x12, 0x34, 0x56}, make([]byte, 15)...), 4, layers.LayerTypeEthernet,
		func(l gopacket.DecodingLayer) bool {
			b := l.(*PBB)
			return b.Priority == 3 && b.DropOK && b.UCA && b.ISID == 0x123456
		}},
}

func TestLayers(t *testing.T) {
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			l := c.layer()
			if err := l.DecodeFromBytes(c.data, gopacket.NilDecodeFeedback); err != nil {
				t.Fatal(err)
			}
			if l.NextLayerType() != c.next || len(l.LayerPayload()) != len(c.data)-c.hdr || !c.check(l) {
				t.Errorf("decoded %+v, next %v", l, l.NextLayerType())
			}
			// Zeek's analyzers want more than the minimum: every shorter header fails.
			for n := range len(c.data) {
				if err := l.DecodeFromBytes(c.data[:n], gopacket.NilDecodeFeedback); err == nil {
					t.Errorf("%d bytes decoded", n)
				}
			}
			if n := testing.AllocsPerRun(100, func() {
				_ = l.DecodeFromBytes(c.data, gopacket.NilDecodeFeedback)
				_ = l.DecodeFromBytes(c.data[:1], gopacket.NilDecodeFeedback)
			}); n != 0 {
				t.Errorf("%v allocations per decode", n)
			}
			// The layer type also decodes through gopacket.NewPacket.
			typ := l.CanDecode().(gopacket.LayerType)
			p := gopacket.NewPacket(c.data, typ, gopacket.Default)
			if p.Layer(typ) == nil {
				t.Errorf("NewPacket: no %v layer: %v", typ, p)
			}
		})
	}
}

// FuzzLayers decodes arbitrary bytes with each DecodingLayer: it must not panic,
// and a decoded header must leave a payload inside the input.
func FuzzLayers(f *testing.F) {
	for _, c := range layerCases {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range layerCases {
			l := c.layer()
			if l.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
				continue
			}
			if p := l.LayerPayload(); len(p) == 0 || len(p) > len(data) || &p[len(p)-1] != &data[len(data)-1] {
				t.Errorf("%s: payload %d bytes of %d", c.name, len(p), len(data))
			}
		}
	})
}
