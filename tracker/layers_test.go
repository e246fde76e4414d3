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
	// shortest is the shortest input that decodes, when not all of data is needed.
	shortest int
}{
	{"vntag", func() gopacket.DecodingLayer { return new(VNTag) },
		[]byte{0x80, 0x01, 0x00, 0x02, 0x08, 0x00, 0x45}, 6, layers.LayerTypeIPv4,
		func(l gopacket.DecodingLayer) bool {
			v := l.(*VNTag)
			return v.Tag == 0x80010002 && v.Type == layers.EthernetTypeIPv4
		}, 0},
	{"fabricpath", func() gopacket.DecodingLayer { return new(FabricPath) },
		append([]byte{0x01, 0x3f}, make([]byte, 15)...), 2, layers.LayerTypeEthernet,
		func(l gopacket.DecodingLayer) bool { f := l.(*FabricPath); return f.FTag == 4 && f.TTL == 63 }, 0},
	{"pbb", func() gopacket.DecodingLayer { return new(PBB) },
		append([]byte{0x78, 0x12, 0x34, 0x56}, make([]byte, 15)...), 4, layers.LayerTypeEthernet,
		func(l gopacket.DecodingLayer) bool {
			b := l.(*PBB)
			return b.Priority == 3 && b.DropOK && b.UCA && b.ISID == 0x123456
		}, 0},
	{"teredo", func() gopacket.DecodingLayer { return new(Teredo) },
		append([]byte{0, 1, 1, 1, 'i', 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0x60}, make([]byte, 39)...), 23, layers.LayerTypeIPv6,
		func(l gopacket.DecodingLayer) bool { r := l.(*Teredo); return len(r.Auth) == 15 && len(r.Origin) == 8 }, 0},
	{"ayiya", func() gopacket.DecodingLayer { return new(AYIYA) },
		append([]byte{0x41, 0x52, 0x11, 41, 0, 0, 0, 9}, make([]byte, 16+20+1)...), 44, layers.LayerTypeIPv6,
		func(l gopacket.DecodingLayer) bool {
			a := l.(*AYIYA)
			return a.OpCode == 1 && a.Epoch == 9 && len(a.Identity) == 16 && len(a.Signature) == 20
		}, 44},
	{"erspan3", func() gopacket.DecodingLayer { return new(ERSPAN3) },
		append([]byte{0x20, 0x05, 0x00, 0x07, 0, 0, 0, 9, 0, 0, 0, 1}, make([]byte, 8+15)...), 20, layers.LayerTypeEthernet,
		func(l gopacket.DecodingLayer) bool {
			e := l.(*ERSPAN3)
			return e.Version == 2 && e.VLAN == 5 && e.SessionID == 7 && e.Timestamp == 9 && len(e.Platform) == 8
		}, 0},
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
			shortest := len(c.data)
			if c.shortest > 0 {
				shortest = c.shortest
			}
			for n := range shortest {
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
// and a decoded header must leave a payload at the end of the input (possibly
// empty where a header alone is valid).
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
			p := l.LayerPayload()
			if len(p) == 0 && c.shortest > 0 {
				continue // a header alone is valid
			}
			if len(p) == 0 || len(p) > len(data) || &p[len(p)-1] != &data[len(data)-1] {
				t.Errorf("%s: payload %d bytes of %d", c.name, len(p), len(data))
			}
		}
	})
}
