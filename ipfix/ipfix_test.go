package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var exporter = netip.MustParseAddrPort("192.0.2.9:40000")

func sampleFlows() []Flow {
	t0 := time.UnixMilli(1_700_000_000_123)
	return []Flow{
		{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 40000, DstPort: 80, Proto: 6,
			Packets: 10, Octets: 1500, RevPackets: 8, RevOctets: 9000, TCPFlags: 0x1b, RevTCPFlags: 0x13,
			Start: t0, End: t0.Add(1500 * time.Millisecond), EndReason: EndOfFlow,
			UID: "CAbc123", ConnState: "SF", History: "ShADadFf", Service: "http"},
		{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::53"), SrcPort: 5353, DstPort: 53, Proto: 17,
			Packets: 1, Octets: 80, Start: t0, End: t0, EndReason: EndIdle, UID: "Cdns", ConnState: "S0", History: "D"},
		{Src: netip.MustParseAddr("192.168.0.89"), Dst: netip.MustParseAddr("192.168.0.1"), SrcPort: 8, DstPort: 0, Proto: 1,
			Packets: 3, Octets: 252, RevPackets: 3, RevOctets: 252, Start: t0, End: t0.Add(2 * time.Second), EndReason: EndForced, UID: "Cping"},
		{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.3"), SrcPort: 3, DstPort: 1, Proto: 1,
			Packets: 1, Octets: 56, Start: t0, End: t0, EndReason: EndResource, UID: "Cunreach", History: string(make([]byte, 300))},
	}
}

func decodeAll(t *testing.T, d *Decoder, msgs [][]byte) []Flow {
	t.Helper()
	var got []Flow
	for _, m := range msgs {
		if err := d.Decode(m, exporter, func(f *Flow) { got = append(got, *f) }); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return got
}

func encodeAll(t *testing.T, e *Encoder, flows []Flow, tmpl bool) [][]byte {
	t.Helper()
	var msgs [][]byte
	if err := e.Encode(flows, time.Unix(1_700_000_100, 0), tmpl, func(m []byte) error {
		msgs = append(msgs, append([]byte(nil), m...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestRoundTrip(t *testing.T) {
	for _, uni := range []bool{false, true} {
		t.Run(fmt.Sprintf("uniflow=%v", uni), func(t *testing.T) {
			e := NewEncoder(EncoderConfig{Domain: 7, Uniflow: uni})
			flows := sampleFlows()
			msgs := encodeAll(t, e, flows, true)
			got := decodeAll(t, NewDecoder(0), msgs)
			var want []Flow
			for _, f := range flows {
				f.Exporter, f.Domain = exporter, 7
				if uni {
					r := f.Reverse()
					f.RevPackets, f.RevOctets, f.RevTCPFlags = 0, 0, 0
					want = append(want, f)
					if r.Packets > 0 {
						r.RevPackets, r.RevOctets, r.RevTCPFlags = 0, 0, 0
						want = append(want, r)
					}
					continue
				}
				f.Biflow = true // the template has reverse elements
				want = append(want, f)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
			// The sequence number counts data records before each message.
			if n := binary.BigEndian.Uint32(msgs[0][8:]); n != 0 {
				t.Errorf("first sequence number %d", n)
			}
			if e.Sequence() != uint32(len(want)) {
				t.Errorf("sequence %d after %d records", e.Sequence(), len(want))
			}
		})
	}
}

func TestMessagesBounded(t *testing.T) {
	e := NewEncoder(EncoderConfig{MaxMessage: 600})
	var flows []Flow
	for i := range 100 {
		f := sampleFlows()[i%2]
		f.SrcPort = uint16(i)
		flows = append(flows, f)
	}
	msgs := encodeAll(t, e, flows, true)
	if len(msgs) < 10 {
		t.Fatalf("%d messages for 100 records of up to 600 bytes", len(msgs))
	}
	var seq uint32
	for i, m := range msgs {
		if len(m) > 600 || int(binary.BigEndian.Uint16(m[2:])) != len(m) {
			t.Fatalf("message %d: %d bytes, header says %d", i, len(m), binary.BigEndian.Uint16(m[2:]))
		}
		if s := binary.BigEndian.Uint32(m[8:]); s != seq {
			t.Fatalf("message %d: sequence %d, want %d", i, s, seq)
		}
		d := NewDecoder(0)
		d.Decode(msgs[0], exporter, func(*Flow) {}) // the templates
		n := 0
		if err := d.Decode(m, exporter, func(*Flow) { n++ }); err != nil {
			t.Fatal(err)
		}
		seq += uint32(n)
	}
	got := decodeAll(t, NewDecoder(0), msgs)
	if len(got) != 100 {
		t.Fatalf("%d flows back, want 100", len(got))
	}
	for i, f := range got {
		if f.SrcPort != uint16(i) {
			t.Fatalf("flow %d has port %d: order lost", i, f.SrcPort)
		}
	}
}

func TestNoTemplateYet(t *testing.T) {
	e := NewEncoder(EncoderConfig{})
	tmpl := e.Templates(time.Now())
	data := encodeAll(t, e, sampleFlows()[:1], false)
	d := NewDecoder(0)
	n := 0
	d.Decode(data[0], exporter, func(*Flow) { n++ })
	if n != 0 || d.Stats().NoTemplate != 1 {
		t.Fatalf("data before its template: %d flows, stats %+v", n, d.Stats())
	}
	d.Decode(tmpl, exporter, func(*Flow) {})
	d.Decode(data[0], exporter, func(*Flow) { n++ })
	if n != 1 {
		t.Fatalf("after the template: %d flows", n)
	}
	// Another exporter's templates are its own.
	other := netip.MustParseAddrPort("192.0.2.10:40000")
	d.Decode(data[0], other, func(*Flow) { n++ })
	if n != 1 {
		t.Fatal("a template was shared between exporters")
	}
}

// netflow5 builds a NetFlow v5 message of one TCP and one ICMP record.
func netflow5() []byte {
	m := make([]byte, 24+2*48)
	binary.BigEndian.PutUint16(m[0:], 5)
	binary.BigEndian.PutUint16(m[2:], 2)
	binary.BigEndian.PutUint32(m[4:], 100_000) // sysUpTime ms
	binary.BigEndian.PutUint32(m[8:], 1_700_000_000)
	r := m[24:]
	copy(r[0:], []byte{10, 1, 1, 1})
	copy(r[4:], []byte{10, 1, 1, 2})
	binary.BigEndian.PutUint32(r[16:], 5)
	binary.BigEndian.PutUint32(r[20:], 700)
	binary.BigEndian.PutUint32(r[24:], 98_000)
	binary.BigEndian.PutUint32(r[28:], 99_500)
	binary.BigEndian.PutUint16(r[32:], 33000)
	binary.BigEndian.PutUint16(r[34:], 22)
	r[37], r[38] = 0x1b, 6
	r = m[72:]
	copy(r[0:], []byte{10, 1, 1, 1})
	copy(r[4:], []byte{10, 1, 1, 3})
	binary.BigEndian.PutUint32(r[16:], 1)
	binary.BigEndian.PutUint32(r[20:], 84)
	binary.BigEndian.PutUint16(r[34:], 8<<8) // echo request, code 0
	r[38] = 1
	return m
}

func TestNetFlow5(t *testing.T) {
	got := decodeAll(t, NewDecoder(0), [][]byte{netflow5()})
	if len(got) != 2 {
		t.Fatalf("%d flows", len(got))
	}
	f := got[0]
	if f.Src != netip.MustParseAddr("10.1.1.1") || f.DstPort != 22 || f.Packets != 5 || f.Octets != 700 || f.TCPFlags != 0x1b {
		t.Errorf("TCP record: %+v", f)
	}
	if want := time.Unix(1_700_000_000, 0).Add(-2 * time.Second); !f.Start.Equal(want) || !f.End.Equal(want.Add(1500*time.Millisecond)) {
		t.Errorf("times %v %v, want start %v", f.Start, f.End, want)
	}
	if g := got[1]; g.Proto != 1 || g.SrcPort != 8 || g.DstPort != 0 {
		t.Errorf("ICMP record: type %d code %d", g.SrcPort, g.DstPort)
	}
}

// netflow9 builds a NetFlow v9 message: a template flowset and a data flowset
// of one IPv4 UDP record with OUT_BYTES and OUT_PKTS.
func netflow9() []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], 9)
	binary.BigEndian.PutUint16(b[2:], 2)
	binary.BigEndian.PutUint32(b[4:], 50_000)
	binary.BigEndian.PutUint32(b[8:], 1_700_000_000)
	binary.BigEndian.PutUint32(b[16:], 3) // source ID
	fields := [][2]uint16{{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 4}, {2, 4}, {23, 4}, {24, 4}, {22, 4}, {21, 4}}
	tmpl := binary.BigEndian.AppendUint16(nil, 0)
	tmpl = binary.BigEndian.AppendUint16(tmpl, uint16(4+4+4*len(fields)))
	tmpl = binary.BigEndian.AppendUint16(tmpl, 300)
	tmpl = binary.BigEndian.AppendUint16(tmpl, uint16(len(fields)))
	for _, f := range fields {
		tmpl = binary.BigEndian.AppendUint16(tmpl, f[0])
		tmpl = binary.BigEndian.AppendUint16(tmpl, f[1])
	}
	rec := []byte{10, 2, 2, 1, 10, 2, 2, 2, 0x9c, 0x40, 0, 53, 17}
	for _, v := range []uint32{120, 2, 300, 2, 49_000, 49_900} {
		rec = binary.BigEndian.AppendUint32(rec, v)
	}
	data := binary.BigEndian.AppendUint16(nil, 300)
	data = binary.BigEndian.AppendUint16(data, uint16(4+len(rec)+3))
	data = append(append(data, rec...), 0, 0, 0) // padding
	return append(append(b, tmpl...), data...)
}

func TestNetFlow9(t *testing.T) {
	got := decodeAll(t, NewDecoder(0), [][]byte{netflow9()})
	if len(got) != 1 {
		t.Fatalf("%d flows", len(got))
	}
	f := got[0]
	want := time.Unix(1_700_000_000, 0).Add(-time.Second)
	if f.SrcPort != 40000 || f.DstPort != 53 || f.Proto != 17 || f.Octets != 120 || f.Packets != 2 ||
		f.RevOctets != 300 || f.RevPackets != 2 || f.Domain != 3 || !f.Start.Equal(want) || !f.End.Equal(want.Add(900*time.Millisecond)) {
		t.Errorf("v9 record: %+v", f)
	}
}

func TestMalformed(t *testing.T) {
	good := encodeAll(t, NewEncoder(EncoderConfig{}), sampleFlows(), true)[0]
	cut := func(n int) []byte { return append([]byte(nil), good[:n]...) }
	badLen := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(badLen[2:], uint16(len(good)+10))
	badSet := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(badSet[18:], 2)
	for name, m := range map[string][]byte{
		"empty": nil, "version 7": {0, 7, 0, 0}, "short header": cut(10), "length past the end": badLen,
		"set of length 2": badSet, "v5 short": netflow5()[:60], "v9 short": netflow9()[:30],
	} {
		err := NewDecoder(0).Decode(m, exporter, func(*Flow) {})
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestTemplateFlood(t *testing.T) {
	d := NewDecoder(0)
	for id := range 2000 {
		m := make([]byte, headerLen)
		binary.BigEndian.PutUint16(m, 10)
		set := binary.BigEndian.AppendUint16(nil, setTemplate)
		set = binary.BigEndian.AppendUint16(set, 12)
		set = binary.BigEndian.AppendUint16(set, uint16(256+id))
		set = binary.BigEndian.AppendUint16(set, 1)
		set = binary.BigEndian.AppendUint16(set, ieOctetDeltaCount)
		set = binary.BigEndian.AppendUint16(set, 4)
		m = append(m, set...)
		binary.BigEndian.PutUint16(m[2:], uint16(len(m)))
		d.Decode(m, exporter, func(*Flow) {})
	}
	if got := len(d.sources[sourceKey{exporter: exporter}]); got != MaxTemplatesPerSource {
		t.Errorf("%d templates kept, want the bound %d", got, MaxTemplatesPerSource)
	}
	if d.Stats().TemplatesRefused != 2000-MaxTemplatesPerSource {
		t.Errorf("refused %d", d.Stats().TemplatesRefused)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		want    Target
	}{
		{in: "udp://127.0.0.1:4739", want: Target{Network: "udp", Addr: "127.0.0.1:4739", Encoder: EncoderConfig{Domain: 1}}},
		{in: "tcp://[::1]:9995?biflow=false&domain=9&pen=12345", want: Target{Network: "tcp", Addr: "[::1]:9995", Encoder: EncoderConfig{Domain: 9, Uniflow: true, PEN: 12345}}},
		{in: "http://x:1", err: `the transport is udp or tcp`},
		{in: "udp://host", err: `a port is needed`},
		{in: "127.0.0.1:4739", err: `want udp://HOST:PORT`},
		{in: "udp://h:1?biflow=maybe", err: `biflow="maybe"`},
		{in: "udp://h:1?zip=1", err: `unknown option "zip"`},
	} {
		got, err := ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v", tc.in, got, err)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

func FuzzDecode(f *testing.F) {
	e := NewEncoder(EncoderConfig{})
	e.Encode(sampleFlows(), time.Unix(1_700_000_000, 0), true, func(m []byte) error { f.Add(append([]byte(nil), m...)); return nil })
	f.Add(netflow5())
	f.Add(netflow9())
	f.Fuzz(func(t *testing.T, msg []byte) {
		d := NewDecoder(0)
		for range 2 { // the second time with what the first taught it
			d.Decode(msg, exporter, func(fl *Flow) {
				if fl.Start.IsZero() || fl.End.IsZero() {
					t.Fatal("a flow without times")
				}
			})
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := NewEncoder(EncoderConfig{})
	flows := sampleFlows()[:2]
	for b.Loop() {
		e.Encode(flows, time.Unix(1_700_000_000, 0), false, func([]byte) error { return nil })
	}
}
