package tracker

import (
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/flowtop/flowtop/analyzer"
)

// testConversation plays a TCP connection on port: handshake, then each message of
// msgs in turn (client first, alternating), each acknowledged, and returns the
// tracker and the record of the connection after a flush.
type testConversation struct {
	t    *testing.T
	tr   *Tracker
	cli  testSeg
	ts   time.Time
	cseq uint32
	sseq uint32
	recs []Record
}

func newConversation(t *testing.T, cfg Config, port uint16) *testConversation {
	cv := &testConversation{t: t, cli: testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: port}, ts: testEpoch, cseq: 1000, sseq: 900000}
	cv.tr = New(cfg, Handlers{Remove: func(r *Record) { cv.recs = append(cv.recs, *r) }})
	for _, f := range testHandshake(t, cv.cli, cv.cseq, cv.sseq) {
		cv.packet(f)
	}
	cv.cseq++
	cv.sseq++
	return cv
}

func (cv *testConversation) packet(f []byte) {
	cv.tr.Packet(f, testCI(f, cv.ts), layers.LinkTypeEthernet)
	cv.ts = cv.ts.Add(time.Millisecond)
}

// send sends data from the client (or the server) and its acknowledgement.
func (cv *testConversation) send(fromClient bool, data string) {
	s, ack := cv.cli, cv.cli.reverse()
	seq, aseq := &cv.cseq, &cv.sseq
	if !fromClient {
		s, ack = ack, s
		seq, aseq = aseq, seq
	}
	s.seq, s.ack, s.flags, s.payload = *seq, *aseq, flagACK|0x08, []byte(data)
	cv.packet(s.build(cv.t))
	*seq += uint32(len(data))
	ack.seq, ack.ack, ack.flags = *aseq, *seq, flagACK
	cv.packet(ack.build(cv.t))
}

func (cv *testConversation) conn() *conn {
	for _, w := range cv.tr.table.slots {
		if w != 0 {
			return cv.tr.slot(uint32(w) - 1)
		}
	}
	return nil
}

func TestInspection(t *testing.T) {
	get := "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	for _, tc := range []struct {
		name    string
		cfg     Config
		port    uint16
		msgs    []string
		service string
		host    string
	}{
		{"http", Config{}, 80, []string{get, ok}, "http", "www.example.com"},
		{"http by signature", Config{}, 8081, []string{get, ok}, "http", "www.example.com"},
		{"ssh answer removes http", Config{}, 80, []string{get, "SSH-2.0-OpenSSH_9.2\r\n"}, "", "www.example.com"},
		{"off", Config{NoService: true}, 80, []string{get, ok}, "", ""},
		{"not enabled", Config{Service: analyzer.Config{Analyzers: []string{"dns"}}}, 80, []string{get, ok}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := newConversation(t, tc.cfg, tc.port)
			for i, m := range tc.msgs {
				cv.send(i%2 == 0, m)
			}
			cv.tr.Flush()
			if len(cv.recs) != 1 {
				t.Fatalf("%d records", len(cv.recs))
			}
			r := cv.recs[0]
			if r.Service != tc.service {
				t.Errorf("service %q, want %q", r.Service, tc.service)
			}
			if got := r.Names.ServerName(); got != tc.host {
				t.Errorf("server name %q, want %q", got, tc.host)
			}
		})
	}
}

// TestInspectionEnds: once a connection is decided its inspection state is gone,
// and its packets allocate nothing.
func TestInspectionEnds(t *testing.T) {
	cv := newConversation(t, Config{UIDSeed: 1}, 80)
	cv.send(true, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
	c := cv.conn()
	if c.insp == 0 {
		t.Fatal("no inspection under way after the request line")
	}
	body := strings.Repeat("x", 1000)
	for range 11 {
		cv.send(true, body)
	}
	if c.insp != 0 || c.flags2&connInspected == 0 {
		t.Fatalf("inspection still under way past the violation window (insp %d flags %b)", c.insp, c.flags2)
	}
	data := cv.cli
	data.seq, data.ack, data.flags, data.payload = cv.cseq, cv.sseq, flagACK|0x08, []byte(body)
	ack := cv.cli.reverse()
	ack.seq, ack.ack, ack.flags = cv.sseq, cv.cseq, flagACK
	dataFrame, ackFrame := data.build(t), ack.build(t)
	step := func() {
		setTCPSeqAck(dataFrame, cv.cseq, cv.sseq)
		cv.cseq += uint32(len(body))
		setTCPSeqAck(ackFrame, cv.sseq, cv.cseq)
		cv.packet(dataFrame)
		cv.packet(ackFrame)
	}
	allocs := testing.AllocsPerRun(200, step)
	if allocs != 0 {
		t.Errorf("a decided connection's data and ACK allocate %v times", allocs)
	}
	cv.tr.Flush()
	if got := cv.recs[0].Service; got != "http" {
		t.Errorf("service %q", got)
	}
	if len(cv.tr.inspFree) != len(cv.tr.insps) {
		t.Errorf("%d inspections, %d free", len(cv.tr.insps), len(cv.tr.inspFree))
	}
}

// TestInspectionUndecided: a connection removed while undecided has its held data
// flushed into the analyzers first.
func TestInspectionRemoved(t *testing.T) {
	cv := newConversation(t, Config{}, 80)
	cv.send(true, "GET / HTTP/1.1\r\n\r\n")
	if c := cv.conn(); c.insp == 0 {
		t.Fatal("no inspection")
	}
	cv.tr.Flush()
	if got := cv.recs[0].Service; got != "http" {
		t.Errorf("service %q, want http", got)
	}
	if len(cv.tr.inspFree) != len(cv.tr.insps) {
		t.Errorf("inspection not released")
	}
}
