package tracker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// textSink records content as text: data as is, gaps as <gap N>.
type textSink struct{ orig, resp strings.Builder }

func (s *textSink) Data(isOrig bool, data []byte) {
	if isOrig {
		s.orig.Write(data)
	} else {
		s.resp.Write(data)
	}
}

func (s *textSink) Gap(isOrig bool, n uint64) {
	if isOrig {
		fmt.Fprintf(&s.orig, "<gap %d>", n)
	} else {
		fmt.Fprintf(&s.resp, "<gap %d>", n)
	}
}

// establish plays a handshake from a client to port 80 and returns the client's
// segment template and a function that sends frames 1 ms apart.
func establish(t *testing.T, tr *Tracker, cseq, sseq uint32) (testSeg, func([]byte)) {
	cli := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80}
	ts := testEpoch
	send := func(f []byte) {
		ts = ts.Add(time.Millisecond)
		tr.Packet(f, testCI(f, ts), layers.LinkTypeEthernet)
	}
	for _, f := range testHandshake(t, cli, cseq, sseq) {
		send(f)
	}
	return cli, send
}

// TestContentTCP sends the client's stream "0123456789abcdef" (relative sequence 1
// is "0") in pieces, with the server's acknowledgements, and checks what the sink
// gets.
func TestContentTCP(t *testing.T) {
	const stream = "0123456789abcdef"
	type seg struct {
		off, n int // client data: stream[off:off+n]; n = 0 with ack > 0 is a server ACK
		ack    int // server acknowledges up to stream offset ack
	}
	tests := []struct {
		name   string
		markAt int // mark after this many segments (0: at establishment)
		segs   []seg
		want   string
	}{
		{"in order", 0, []seg{{0, 4, 0}, {4, 4, 0}, {8, 8, 0}}, "0123456789abcdef"},
		{"out of order and retransmitted", 0, []seg{{4, 4, 0}, {0, 6, 0}, {0, 4, 0}, {8, 8, 0}, {2, 10, 0}}, "0123456789abcdef"},
		{"hole acknowledged", 0, []seg{{0, 4, 0}, {8, 4, 0}, {0, 0, 12}, {12, 4, 0}}, "0123<gap 4>89abcdef"},
		{"unseen data acknowledged", 0, []seg{{0, 4, 0}, {0, 0, 10}, {10, 6, 0}}, "0123<gap 6>abcdef"},
		{"held above a hole until removal", 0, []seg{{0, 2, 0}, {6, 2, 0}, {12, 4, 0}}, "01<gap 4>67<gap 4>cdef"},
		{"marked later starts at the next byte", 2, []seg{{0, 4, 0}, {4, 4, 0}, {8, 8, 0}}, "89abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const cseq, sseq = 1000, 9000
			sink := new(textSink)
			var handle Conn
			tr := New(Config{UIDSeed: 1}, Handlers{Established: func(c Conn) {
				handle = c
				if tc.markAt == 0 {
					c.SetContentSink(sink)
				}
			}})
			cli, send := establish(t, tr, cseq, sseq)
			for i, sg := range tc.segs {
				if i == tc.markAt && tc.markAt > 0 {
					handle.SetContentSink(sink)
				}
				if sg.n == 0 {
					a := cli.reverse()
					a.seq, a.ack, a.flags = sseq+1, uint32(cseq+1+sg.ack), flagACK
					send(a.build(t))
					continue
				}
				d := cli
				d.seq, d.ack, d.flags, d.payload = uint32(cseq+1+sg.off), sseq+1, flagACK, []byte(stream[sg.off:sg.off+sg.n])
				send(d.build(t))
			}
			tr.Flush()
			if got := sink.orig.String(); got != tc.want {
				t.Errorf("orig stream %q, want %q", got, tc.want)
			}
			if got := sink.resp.String(); got != "" {
				t.Errorf("resp stream %q, want none", got)
			}
		})
	}
}

func TestContentUDPAndUnmark(t *testing.T) {
	sink := new(textSink)
	var handle Conn
	tr := New(Config{UIDSeed: 1}, Handlers{Content: func(c Conn) ContentSink { handle = c; return sink }})
	f := newUDPFlow(t, tr)
	send := func(orig bool, s string, at time.Duration) {
		seg := f.c
		if !orig {
			seg = seg.reverse()
		}
		seg.payload = []byte(s)
		frame := seg.build(t)
		tr.Packet(frame, testCI(frame, testEpoch.Add(at)), layers.LinkTypeEthernet)
	}
	send(true, "query", 0)
	send(false, "answer", time.Millisecond)
	send(true, "again", 2*time.Millisecond)
	handle.SetContentSink(nil)
	send(true, "unseen", 3*time.Millisecond)
	tr.Flush()
	if o, r := sink.orig.String(), sink.resp.String(); o != "queryagain" || r != "answer" {
		t.Errorf("orig %q resp %q, want %q and %q", o, r, "queryagain", "answer")
	}
}

// streamCheck is a ContentSink that checks the orig stream against the bytes sent:
// each delivered byte must be the stream's byte at its position, gaps skip ahead.
type streamCheck struct {
	t      *testing.T
	stream []byte
	pos    int
}

func (s *streamCheck) Data(isOrig bool, data []byte) {
	if !isOrig {
		return
	}
	if s.pos+len(data) > len(s.stream) || string(data) != string(s.stream[s.pos:s.pos+len(data)]) {
		s.t.Fatalf("data at %d (%d bytes) is not the stream's", s.pos, len(data))
	}
	s.pos += len(data)
}

func (s *streamCheck) Gap(isOrig bool, n uint64) {
	if isOrig {
		s.pos += int(n)
	}
}

// FuzzContentTCP sends pieces of a known stream in any order, with acknowledgements,
// and checks that the content delivered is the stream: every byte in its place,
// holes as gaps, nothing twice.
func FuzzContentTCP(f *testing.F) {
	f.Add([]byte{0, 0, 10, 0, 20, 10, 1, 30, 0, 0, 10, 20})
	f.Add([]byte{0, 40, 8, 1, 48, 0, 0, 0, 40})
	f.Fuzz(func(t *testing.T, prog []byte) {
		stream := make([]byte, 256)
		for i := range stream {
			stream[i] = byte(i*7 + 3)
		}
		check := &streamCheck{t: t, stream: stream}
		const cseq, sseq = 1000, 9000
		tr := New(Config{UIDSeed: 1}, Handlers{Content: func(Conn) ContentSink { return check }})
		cli, send := establish(t, tr, cseq, sseq)
		maxEnd := 0
		for n := 0; len(prog) >= 3 && n < 40; n++ {
			kind, off, ln := prog[0]%2, int(prog[1]), int(prog[2]%64)
			prog = prog[3:]
			if kind == 1 { // the server acknowledges up to off
				a := cli.reverse()
				a.seq, a.ack, a.flags = sseq+1, uint32(cseq+1+off), flagACK
				send(a.build(t))
				continue
			}
			ln = min(ln, len(stream)-off)
			if ln <= 0 {
				continue
			}
			d := cli
			d.seq, d.ack, d.flags, d.payload = uint32(cseq+1+off), sseq+1, flagACK, stream[off:off+ln]
			send(d.build(t))
			maxEnd = max(maxEnd, off+ln)
		}
		tr.Flush()
		if check.pos > max(maxEnd, len(stream)) {
			t.Fatalf("delivered up to %d, beyond the %d bytes sent", check.pos, maxEnd)
		}
	})
}
