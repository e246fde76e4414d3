package tracker

import (
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// The hot path must not allocate: a packet of an existing connection costs no heap.

// allocRuns is the number of runs testing.AllocsPerRun averages over.
const allocRuns = 1000

// TestPacketNoAllocsTCP feeds data segments and their ACKs on an established TCP
// connection, over IPv4, IPv6 and 802.1Q, with and without checksum verification.
func TestPacketNoAllocsTCP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cli, srv testSeg
	}{
		{"ipv4", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80}, testSeg{}},
		{"ipv6", testSeg{src: testCli6, dst: testSrv6, sport: 40000, dport: 443}, testSeg{}},
		{"vlan", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 22, vlan: true}, testSeg{}},
	} {
		for _, ignore := range []bool{false, true} {
			name := tc.name
			if ignore {
				name += "-C"
			}
			t.Run(name, func(t *testing.T) {
				testTCPNoAllocs(t, tc.cli, Config{IgnoreChecksums: ignore, UIDSeed: 1})
			})
		}
	}
}

func testTCPNoAllocs(t *testing.T, cli testSeg, cfg Config) {
	const cseq, sseq, size = 1000, 900000, 100
	var rec Record
	recs := 0
	tr := New(cfg, Handlers{Remove: func(r *Record) { rec = *r; recs++ }})
	ts := testEpoch
	for _, f := range testHandshake(t, cli, cseq, sseq) {
		tr.Packet(f, testCI(f, ts), layers.LinkTypeEthernet)
		ts = ts.Add(time.Millisecond)
	}
	data := cli
	data.seq, data.ack, data.flags, data.payload = cseq+1, sseq+1, flagACK|0x08, make([]byte, size)
	for i := range data.payload {
		data.payload[i] = byte(i)
	}
	ack := cli.reverse()
	ack.seq, ack.ack, ack.flags = sseq+1, cseq+1+size, flagACK
	dataFrame, ackFrame := data.build(t), ack.build(t)
	seq := uint32(cseq + 1)
	step := func() {
		setTCPSeqAck(dataFrame, seq, sseq+1)
		setTCPSeqAck(ackFrame, sseq+1, seq+size)
		seq += size
		ts = ts.Add(time.Microsecond)
		tr.Packet(dataFrame, testCI(dataFrame, ts), layers.LinkTypeEthernet)
		tr.Packet(ackFrame, testCI(ackFrame, ts), layers.LinkTypeEthernet)
	}
	step() // the first data and ACK add history letters
	allocs := testing.AllocsPerRun(allocRuns, step)
	if allocs != 0 {
		t.Errorf("Packet allocates %v times per data segment and ACK, want 0", allocs)
	}
	tr.Flush()
	if recs != 1 {
		t.Fatalf("%d records, want 1", recs)
	}
	// AllocsPerRun runs step once more to warm up.
	wantPkts := uint64(2 + allocRuns + 2)
	if rec.OrigPkts != wantPkts || rec.RespPkts != wantPkts-1 || rec.History != "ShADa" || rec.ConnState != "S1" {
		t.Errorf("record: pkts %d/%d history %q state %s; want %d/%d ShADa S1",
			rec.OrigPkts, rec.RespPkts, rec.History, rec.ConnState, wantPkts, wantPkts-1)
	}
	if want := uint64(size * (allocRuns + 2)); rec.OrigBytes != want {
		t.Errorf("orig_bytes %d, want %d", rec.OrigBytes, want)
	}
}

// TestPacketNoAllocsUDP feeds datagrams of an existing UDP flow in both directions.
func TestPacketNoAllocsUDP(t *testing.T) {
	for _, tc := range []struct {
		name string
		cli  testSeg
	}{
		{"ipv4", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 53, udp: true}},
		{"ipv6", testSeg{src: testCli6, dst: testSrv6, sport: 40000, dport: 53, udp: true}},
	} {
		for _, ignore := range []bool{false, true} {
			name := tc.name
			if ignore {
				name += "-C"
			}
			t.Run(name, func(t *testing.T) {
				var rec Record
				tr := New(Config{IgnoreChecksums: ignore, UIDSeed: 1}, Handlers{Remove: func(r *Record) { rec = *r }})
				q := tc.cli
				q.payload = make([]byte, 40)
				r := tc.cli.reverse()
				r.payload = make([]byte, 200)
				qf, rf := q.build(t), r.build(t)
				ts := testEpoch
				step := func() {
					// Vary the payload so that every datagram is new; keep its checksum right.
					qf[len(qf)-1]++
					fixL4Checksum(qf)
					ts = ts.Add(time.Microsecond)
					tr.Packet(qf, testCI(qf, ts), layers.LinkTypeEthernet)
					tr.Packet(rf, testCI(rf, ts), layers.LinkTypeEthernet)
				}
				step() // creates the flow
				allocs := testing.AllocsPerRun(allocRuns, step)
				if allocs != 0 {
					t.Errorf("Packet allocates %v times per datagram pair, want 0", allocs)
				}
				tr.Flush()
				want := uint64(allocRuns + 2)
				if rec.OrigPkts != want || rec.RespPkts != want || rec.History != "Dd" || rec.ConnState != "SF" {
					t.Errorf("record: pkts %d/%d history %q state %s; want %d/%d Dd SF",
						rec.OrigPkts, rec.RespPkts, rec.History, rec.ConnState, want, want)
				}
			})
		}
	}
}
