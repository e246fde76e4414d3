package tracker

import (
	"net/netip"
	"testing"
	"time"
)

// TestAddFlow: flow records become connections: the two directions of a
// tuple (uniflow records, either order) are one connection, the first
// record's source its originator; an ICMP type and code become conn.log's
// ports; a final record removes its connection; others wait for the
// inactivity timeout on the records' time; thresholds cross on counts.
func TestAddFlow(t *testing.T) {
	var removed []Record
	var crossed []Crossing
	tr := New(Config{Thresholds: Thresholds{OrigBytes: []uint64{1000}}}, Handlers{
		Remove:    func(r *Record) { removed = append(removed, *r) },
		Threshold: func(x *Crossing) { crossed = append(crossed, *x) },
	})
	t0 := time.Unix(1_700_000_000, 0)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	c6 := netip.MustParseAddr("2001:db8::9")
	tr.AddFlow(&FlowRecord{Src: a, Dst: b, SrcPort: 40000, DstPort: 53, Proto: ProtoUDP,
		Packets: 1, Octets: 70, Start: t0, End: t0})
	tr.AddFlow(&FlowRecord{Src: b, Dst: a, SrcPort: 53, DstPort: 40000, Proto: ProtoUDP,
		Packets: 2, Octets: 300, Start: t0.Add(time.Millisecond), End: t0.Add(5 * time.Millisecond)})
	// A TCP biflow from a flowtop, ended: removed at once, with what it said.
	tr.AddFlow(&FlowRecord{Src: a, Dst: b, SrcPort: 40001, DstPort: 80, Proto: ProtoTCP,
		Packets: 8, Octets: 1200, RevPackets: 6, RevOctets: 5000, Start: t0, End: t0.Add(time.Second),
		ConnState: "SF", History: "ShADadFf", Service: "http", Final: true, Reason: ReasonClose})
	// ICMPv6 echo request: type 128, code 0.
	tr.AddFlow(&FlowRecord{Src: c6, Dst: netip.MustParseAddr("2001:db8::1"), SrcPort: 128, DstPort: 0, Proto: ProtoICMPv6,
		Packets: 3, Octets: 312, Start: t0, End: t0.Add(2 * time.Second)})
	if len(removed) != 1 || removed[0].Service != "http" || removed[0].ConnState != "SF" || removed[0].History != "ShADadFf" ||
		removed[0].Reason != ReasonClose || !removed[0].FromFlows || removed[0].OrigIPBytes != 1200 || removed[0].RespIPBytes != 5000 {
		t.Fatalf("the ended TCP record: %+v", removed)
	}
	if len(crossed) != 1 || crossed[0].Threshold != 1000 {
		t.Errorf("crossings %+v, want the 1000-byte one of the TCP record", crossed)
	}
	// Records of an hour later: the UDP and ICMP connections timed out before.
	tr.AdvanceTo(t0.Add(time.Hour))
	if len(removed) != 3 {
		t.Fatalf("%d removed after an hour of record time: %+v", len(removed), removed)
	}
	udp, icmp := removed[1], removed[2]
	if udp.Proto != ProtoUDP {
		udp, icmp = icmp, udp
	}
	if udp.OrigH != a || udp.OrigP != 40000 || udp.OrigPkts != 1 || udp.OrigIPBytes != 70 || udp.RespPkts != 2 || udp.RespIPBytes != 300 ||
		udp.Reason != ReasonInactivity || udp.ConnState != "" || udp.History != "" || udp.Duration != 5*time.Millisecond {
		t.Errorf("UDP from two uniflow records: %+v", udp)
	}
	if icmp.OrigP != 128 || icmp.RespP != 129 || icmp.OrigPkts != 3 {
		t.Errorf("ICMPv6 echo: ports %d %d, %d packets", icmp.OrigP, icmp.RespP, icmp.OrigPkts)
	}
	if s := tr.Stats(); s.Conns != 3 || s.Packets != 1+2+14+3 {
		t.Errorf("stats %+v", s)
	}
}

func TestIdleSourceEnds(t *testing.T) {
	var removed int
	tr := New(Config{}, Handlers{Remove: func(*Record) { removed++ }})
	src := NewIdleSource()
	done := make(chan error)
	go func() { done <- tr.Run(t.Context(), src) }()
	added := make(chan bool)
	for !tr.Do(func() {
		tr.AddFlow(&FlowRecord{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1, DstPort: 2,
			Proto: ProtoUDP, Packets: 1, Octets: 40, Start: time.Unix(1, 0), End: time.Unix(1, 0)})
		close(added)
	}) {
		time.Sleep(time.Millisecond)
	}
	<-added
	src.Close()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if removed != 1 {
		t.Errorf("%d connections flushed at the end, want 1", removed)
	}
}
