package tracker

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	tunA = netip.MustParseAddr("192.0.2.1")
	tunB = netip.MustParseAddr("192.0.2.2")
)

// outerIP returns an Ethernet frame of an IPv4 datagram of protocol proto from tunA
// to tunB carrying payload.
func outerIP(tb testing.TB, proto layers.IPProtocol, payload []byte) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: testMACA, DstMAC: testMACB, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: tunA.AsSlice(), DstIP: tunB.AsSlice()},
		gopacket.Payload(payload))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// outerUDP returns an Ethernet frame of UDP from tunA:sport to tunB:dport carrying payload.
func outerUDP(tb testing.TB, sport, dport uint16, payload []byte) []byte {
	return testSeg{src: tunA, dst: tunB, sport: sport, dport: dport, udp: true, payload: payload}.build(tb)
}

// trackFrames runs frames, a millisecond apart, through a tracker and returns the
// records, by uid.
func trackFrames(t *testing.T, frames ...[]byte) map[string]*Record {
	t.Helper()
	out := map[string]*Record{}
	tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(r *Record) { c := *r; out[r.UID] = &c }})
	for i, f := range frames {
		tr.Packet(f, testCI(f, testEpoch.Add(time.Duration(i)*time.Millisecond)), layers.LinkTypeEthernet)
	}
	tr.Flush()
	return out
}

// find returns the record of the connection with the given responder port and protocol.
func find(recs map[string]*Record, proto Proto, resp uint16) *Record {
	for _, r := range recs {
		if r.Proto == proto && r.RespP == resp {
			return r
		}
	}
	return nil
}

func TestTunnels(t *testing.T) {
	inner4 := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 53, udp: true, payload: []byte("query")}
	inner6 := inner4
	inner6.src, inner6.dst = testCli6, testSrv6
	eth4, eth6 := inner4.build(t), inner6.build(t)
	ip4, ip6 := eth4[14:14+binary.BigEndian.Uint16(eth4[16:18])], eth6[14:] // without Ethernet padding
	vxlanHdr := []byte{0x08, 0, 0, 0, 0, 0, 42, 0}
	geneveHdr := []byte{0x01, 0, 0x65, 0x58, 0, 0, 42, 0, 1, 2, 3, 4} // one option word
	gtpHdr := func(inner []byte) []byte {
		h := []byte{0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0} // E set: one extension
		binary.BigEndian.PutUint16(h[2:4], uint16(len(inner)+8))
		return h
	}
	teredoHdr := slices.Concat([]byte{0, 1, 2, 0, 'i', 'd'}, make([]byte, 9), []byte{0, 0, 1, 2, 3, 4, 5, 6})
	ayiyaHdr := slices.Concat([]byte{0x41, 0x52, 0x11, 41, 0, 0, 0, 0}, make([]byte, 16+20))
	erspan2 := slices.Concat([]byte{0x10, 0, 0x88, 0xbe, 0, 0, 0, 1}, []byte{0x10, 0, 0, 1, 0, 0, 0, 0})
	erspan3 := slices.Concat([]byte{0, 0, 0x22, 0xeb}, []byte{0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 8))
	for _, c := range []struct {
		name  string
		frame []byte
		inner Proto  // the inner connection's protocol
		outer uint16 // the outer UDP connection's responder port; 0 for an IP tunnel
	}{
		{"vxlan", outerUDP(t, 50000, 4789, slices.Concat(vxlanHdr, eth4)), ProtoUDP, 4789},
		{"geneve", outerUDP(t, 50000, 6081, slices.Concat(geneveHdr, eth6)), ProtoUDP, 6081},
		{"geneve-ip", outerUDP(t, 50000, 6081, slices.Concat([]byte{0, 0, 0x08, 0}, vxlanHdr[4:], ip4)), ProtoUDP, 6081},
		{"gtp", outerUDP(t, 2152, 2152, slices.Concat(gtpHdr(ip4), ip4)), ProtoUDP, 2152},
		{"teredo", outerUDP(t, 50000, 3544, slices.Concat(teredoHdr, ip6)), ProtoUDP, 3544},
		{"teredo-detected", outerUDP(t, 50000, 40001, slices.Concat(teredoHdr[15:], ip6)), ProtoUDP, 40001},
		{"ayiya", outerUDP(t, 50000, 5072, slices.Concat(ayiyaHdr, ip6)), ProtoUDP, 5072},
		{"ayiya-detected", outerUDP(t, 50000, 40002, slices.Concat(ayiyaHdr, ip6)), ProtoUDP, 40002},
		{"ipip", outerIP(t, 4, ip4), ProtoUDP, 0},
		{"ip6ip", outerIP(t, 41, ip6), ProtoUDP, 0},
		{"gre-ip", outerIP(t, 47, slices.Concat([]byte{0, 0, 0x08, 0}, ip4)), ProtoUDP, 0},
		{"gre-key-seq-eth", outerIP(t, 47, slices.Concat([]byte{0x30, 0, 0x65, 0x58, 0, 0, 0, 7, 0, 0, 0, 1}, eth4)), ProtoUDP, 0},
		{"erspan2", outerIP(t, 47, slices.Concat(erspan2, eth4)), ProtoUDP, 0},
		{"erspan3", outerIP(t, 47, slices.Concat(erspan3, eth6)), ProtoUDP, 0},
		{"pptp", outerIP(t, 47, slices.Concat([]byte{0x30, 0x01, 0x88, 0x0b, 0, 50, 0, 1, 0, 0, 0, 1, 0xff, 3, 0, 0x21}, ip4)), ProtoUDP, 0},
		{"gre-in-gre", outerIP(t, 47, slices.Concat([]byte{0, 0, 0x08, 0}, outerIP(t, 47, slices.Concat([]byte{0, 0, 0x08, 0}, ip4))[14:])), ProtoUDP, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs := trackFrames(t, c.frame)
			in := find(recs, c.inner, 53)
			if in == nil {
				t.Fatalf("no inner connection in %d records", len(recs))
			}
			if len(in.TunnelParents) != 1 {
				t.Fatalf("tunnel_parents %v", in.TunnelParents)
			}
			parent := in.TunnelParents[0]
			if c.outer != 0 {
				out := find(recs, ProtoUDP, c.outer)
				if out == nil || out.UID != parent || out.OrigBytes != 0 || out.OrigPkts != 1 {
					t.Errorf("outer %+v, inner's parent %s", out, parent)
				}
				if len(recs) != 2 {
					t.Errorf("%d records, want the inner and the outer", len(recs))
				}
			} else if recs[parent] != nil || len(recs) != 1 {
				t.Errorf("IP tunnel: %d records, parent %s logged: %v", len(recs), parent, recs[parent] != nil)
			}
		})
	}
}

// TestTunnelRules checks when Zeek decapsulates a UDP tunnel and what it records.
func TestTunnelRules(t *testing.T) {
	inner := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 53, udp: true, payload: []byte("query")}
	vx := func(sport, dport uint16, flags byte, eth []byte) []byte {
		return outerUDP(t, sport, dport, slices.Concat([]byte{flags, 0, 0, 0, 0, 0, 42, 0}, eth))
	}
	good := inner.build(t)
	t.Run("violation stops decapsulation", func(t *testing.T) {
		recs := trackFrames(t, vx(50000, 4789, 0, good), vx(50000, 4789, 0x08, good))
		if find(recs, ProtoUDP, 53) != nil {
			t.Error("decapsulated after a VXLAN header without the I flag")
		}
	})
	t.Run("the responder port decides", func(t *testing.T) {
		// 4789 -> 53: both likely server ports, no flip, the responder port is 53.
		recs := trackFrames(t, vx(4789, 53, 0x08, good))
		if len(recs) != 1 {
			t.Errorf("%d records; want only the outer", len(recs))
		}
		// 4789 -> 50000 is flipped: the responder port is 4789.
		recs = trackFrames(t, vx(4789, 50000, 0x08, good))
		if find(recs, ProtoUDP, 53) == nil {
			t.Error("not decapsulated on the flipped connection")
		}
	})
	t.Run("bad outer checksum", func(t *testing.T) {
		f := vx(50000, 4789, 0x08, good)
		f[14+20+6] ^= 0xff
		recs := trackFrames(t, f)
		if len(recs) != 1 || find(recs, ProtoUDP, 4789).History != "C" {
			t.Errorf("records %d", len(recs))
		}
	})
	t.Run("too deep", func(t *testing.T) {
		f := good
		for i := range maxTunnelDepth + 1 {
			f = vx(50000+uint16(i), 4789, 0x08, f)
		}
		recs := trackFrames(t, f)
		if len(recs) != maxTunnelDepth+1 {
			t.Errorf("%d records, want %d VXLAN connections", len(recs), maxTunnelDepth+1)
		}
		deepest := 0
		for _, r := range recs {
			if r.History == "DX" {
				deepest++
			}
		}
		if find(recs, ProtoUDP, 53) != nil || deepest != 1 {
			t.Errorf("inner decapsulated or X missing: %d with DX", deepest)
		}
	})
	t.Run("tunnel changes", func(t *testing.T) {
		// The same inner flow through two VXLAN connections, alternately: the
		// sixth change is past Tunnel::max_changes_per_connection.
		var frames [][]byte
		for i := range 8 {
			frames = append(frames, vx(50000+uint16(i%2), 4789, 0x08, good))
		}
		recs := trackFrames(t, frames...)
		in := find(recs, ProtoUDP, 53)
		if in == nil || in.History != "DX" || len(in.TunnelParents) != 2 || in.OrigPkts != 8 {
			t.Errorf("inner %+v", in)
		}
		recs = trackFrames(t, frames[:6]...) // five changes
		if in := find(recs, ProtoUDP, 53); in == nil || in.History != "D" {
			t.Errorf("after five changes: %+v", in)
		}
	})
	t.Run("in and out of the tunnel", func(t *testing.T) {
		recs := trackFrames(t, vx(50000, 4789, 0x08, good), good, vx(50000, 4789, 0x08, good))
		if in := find(recs, ProtoUDP, 53); in == nil || in.OrigPkts != 3 || len(in.TunnelParents) != 1 || in.History != "D" {
			t.Errorf("inner %+v", in)
		}
	})
	t.Run("ip tunnel uid is per address pair", func(t *testing.T) {
		a := outerIP(t, 4, good[14:])
		other := inner
		other.sport = 40001
		b := outerIP(t, 47, slices.Concat([]byte{0, 0, 0x08, 0}, other.build(t)[14:]))
		recs := trackFrames(t, a, b)
		r1, r2 := find(recs, ProtoUDP, 53), (*Record)(nil)
		for _, r := range recs {
			if r.OrigP == 40001 {
				r2 = r
			}
		}
		if r1 == nil || r2 == nil || !slices.Equal(r1.TunnelParents, r2.TunnelParents) || len(r1.TunnelParents) != 1 {
			t.Errorf("%+v\n%+v", r1, r2)
		}
	})
}

// FuzzTunnelHeaders reads arbitrary bytes as every tunnel header: no panic, and an
// inner packet lies inside the input.
func FuzzTunnelHeaders(f *testing.F) {
	f.Add([]byte{0x08, 0, 0, 0, 0, 0, 42, 0, 1})
	f.Add([]byte{0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0x10, 0x05, 0, 0x45})
	f.Add([]byte{0, 1, 2, 0, 'i', 'd', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0x60})
	f.Add([]byte{0, 0, 0x22, 0xeb, 0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	d := newDecoder(false)
	within := func(inner, data []byte) bool {
		return len(inner) == 0 || len(inner) <= len(data) && &inner[len(inner)-1] == &data[len(data)-1] ||
			cap(inner) <= cap(data) && len(inner) <= len(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for k := tunVXLAN; k <= tunGTP; k++ {
			v, next, inner := d.udpTunnelHeader(k, data)
			if v == tunInner && (next == hdrNone || len(inner) == 0 || !within(inner, data)) {
				t.Errorf("kind %d: inner %d bytes, header %d", k, len(inner), next)
			}
		}
		if next, inner := d.gre(data); next != hdrNone && (len(inner) == 0 || !within(inner, data)) {
			t.Errorf("gre: inner %d bytes", len(inner))
		}
		for _, p := range []Proto{4, 41} {
			if next, inner := ipInIP(p, data); next != hdrNone && !within(inner, data) {
				t.Errorf("ip in ip: inner %d bytes", len(inner))
			}
		}
		teredoDetect(data)
		ayiyaDetect(data)
	})
}

// TestTunnelDecodeAllocs: decoding a tunnelled frame allocates nothing.
func TestTunnelDecodeAllocs(t *testing.T) {
	inner := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 53, udp: true, payload: []byte("query")}.build(t)
	frames := [][]byte{
		outerUDP(t, 50000, 4789, slices.Concat([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, inner)),
		outerIP(t, 47, slices.Concat([]byte{0, 0, 0x08, 0}, inner[14:])),
		outerUDP(t, 50000, 3544, slices.Concat([]byte{0, 0, 1, 2, 3, 4, 5, 6}, testSeg{src: testCli6, dst: testSrv6, sport: 1, dport: 2, udp: true}.build(t)[14:])),
	}
	d := newDecoder(false)
	var p packet
	n := testing.AllocsPerRun(100, func() {
		for _, f := range frames {
			d.frame(f, testCI(f, testEpoch), layers.LinkTypeEthernet, &p)
			for d.next(&p) {
			}
		}
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
	for _, f := range frames {
		d.frame(f, testCI(f, testEpoch), layers.LinkTypeEthernet, &p)
		if !d.next(&p) || p.res != decodedIP || p.depth != 1 {
			t.Errorf("inner packet: %v depth %d", p.res, p.depth)
		}
	}
}

// TestIPTunnelTableBound: a full IP tunnel table forgets idle tunnels first, then
// the older half, so that it never grows past maxIPTunnels.
func TestIPTunnelTableBound(t *testing.T) {
	tr := New(Config{UIDSeed: 1}, Handlers{})
	tr.now = 10 * ipTunnelTimeout.Nanoseconds()
	for i := range maxIPTunnels {
		var k [32]byte
		binary.BigEndian.PutUint32(k[:], uint32(i))
		last := tr.now - int64(i) // all recent: none idle
		if i%4 == 0 {
			last = 0 // idle
		}
		tr.ipTunnels[k] = ipTunnelEntry{kind: tunIP, seq: ipTunnelSeq | uint64(i), last: last}
	}
	p := &packet{src: [16]byte{15: 1}, dst: [16]byte{15: 2}, tun: tunGRE}
	tr.ipTunnelLevel(p)
	if n := len(tr.ipTunnels); n != maxIPTunnels-maxIPTunnels/4+1 {
		t.Errorf("%d tunnels after dropping the idle quarter, want %d", n, maxIPTunnels-maxIPTunnels/4+1)
	}
	for i := range maxIPTunnels / 4 {
		var k [32]byte
		binary.BigEndian.PutUint32(k[:], uint32(i))
		k[4] = 1 // a pair not in the table yet
		tr.ipTunnels[k] = ipTunnelEntry{kind: tunIP, last: tr.now}
	}
	p.dst[15] = 3
	tr.ipTunnelLevel(p)
	if n := len(tr.ipTunnels); n >= maxIPTunnels*3/4 || n == 0 {
		t.Errorf("%d tunnels after pruning a full table of active ones", n)
	}
}
