package tracker

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// udpFlow feeds UDP datagrams of a client/server pair to a tracker; the IPv4 size
// of a datagram with n payload bytes is 28+n.
type udpFlow struct {
	t  *testing.T
	tr *Tracker
	c  testSeg
}

func newUDPFlow(t *testing.T, tr *Tracker) *udpFlow {
	return &udpFlow{t: t, tr: tr, c: testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 5000, udp: true}}
}

// send sends a datagram of n payload bytes at testEpoch+at, from the client (orig)
// or the server.
func (f *udpFlow) send(orig bool, n int, at time.Duration) {
	s := f.c
	if !orig {
		s = s.reverse()
	}
	s.payload = make([]byte, n)
	frame := s.build(f.t)
	f.tr.Packet(frame, testCI(frame, testEpoch.Add(at)), layers.LinkTypeEthernet)
}

// crossingLog records crossings as "metric value dir".
type crossingLog []string

func (l *crossingLog) handler(x *Crossing) {
	dir := "resp"
	if x.IsOrig {
		dir = "orig"
	}
	v := fmt.Sprint(x.Threshold)
	if x.Metric == MetricDuration {
		v = x.Duration().String()
	}
	*l = append(*l, fmt.Sprintf("%s %s %s", x.Metric, v, dir))
}

func TestThresholds(t *testing.T) {
	type step struct {
		orig bool
		n    int // payload bytes; IP bytes are n+28
		at   time.Duration
	}
	tests := []struct {
		name  string
		setup func(c Conn) // in the NewConn handler, after the first datagram (orig, 0 bytes, 28 IP bytes)
		steps []step
		want  []string
	}{{
		name:  "already exceeded fires when set",
		setup: func(c Conn) { c.SetBytesThreshold(28, true); c.SetBytesThreshold(29, true) },
		want:  []string{"bytes 28 orig"},
	}, {
		name: "several for one packet, ascending, once each",
		setup: func(c Conn) {
			c.SetBytesThreshold(100, true)
			c.SetBytesThreshold(60, true)
			c.SetBytesThreshold(80, true)
		},
		steps: []step{{true, 100, time.Millisecond}, {true, 100, 2 * time.Millisecond}},
		want:  []string{"bytes 60 orig", "bytes 80 orig", "bytes 100 orig"},
	}, {
		name:  "directions are separate",
		setup: func(c Conn) { c.SetBytesThreshold(50, false); c.SetPacketsThreshold(2, true) },
		steps: []step{{true, 100, time.Millisecond}, {false, 10, 2 * time.Millisecond}, {false, 10, 3 * time.Millisecond}},
		want:  []string{"packets 2 orig", "bytes 50 resp"},
	}, {
		name: "zero and duplicates",
		setup: func(c Conn) {
			c.SetPacketsThreshold(0, true)
			c.SetPacketsThreshold(3, false)
			c.SetPacketsThreshold(3, false)
		},
		steps: []step{{false, 0, time.Millisecond}, {false, 0, 2 * time.Millisecond}, {false, 0, 3 * time.Millisecond}, {false, 0, 4 * time.Millisecond}},
		want:  []string{"packets 3 resp"},
	}, {
		name:  "deleted never fires",
		setup: func(c Conn) { c.SetBytesThreshold(40, true); c.DeleteBytesThreshold(40, true) },
		steps: []step{{true, 100, time.Millisecond}},
		want:  nil,
	}, {
		name:  "duration: strictly greater, direction of the noticing packet",
		setup: func(c Conn) { c.SetDurationThreshold(time.Second); c.SetDurationThreshold(2 * time.Second) },
		steps: []step{{false, 1, time.Second}, {false, 1, time.Second + 1}, {true, 1, 5 * time.Second}},
		want:  []string{"duration 1s resp", "duration 2s orig"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got crossingLog
			tr := New(Config{UIDSeed: 1}, Handlers{NewConn: tc.setup, Threshold: got.handler})
			f := newUDPFlow(t, tr)
			f.send(true, 0, 0)
			for _, s := range tc.steps {
				f.send(s.orig, s.n, s.at)
			}
			tr.Flush()
			if !slices.Equal(got, tc.want) {
				t.Errorf("crossings %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThresholdAPIResults(t *testing.T) {
	var c Conn
	tr := New(Config{UIDSeed: 1}, Handlers{NewConn: func(h Conn) { c = h }})
	newUDPFlow(t, tr).send(true, 0, 0)
	for _, r := range []struct {
		what string
		got  bool
		want bool
	}{
		{"set 0 bytes", c.SetBytesThreshold(0, true), false},
		{"set 0 duration", c.SetDurationThreshold(0), false},
		{"delete never set", c.DeleteBytesThreshold(500, true), false},
		{"set 500", c.SetBytesThreshold(500, true), true},
		{"set 500 again", c.SetBytesThreshold(500, true), true},
		{"delete 500 resp", c.DeleteBytesThreshold(500, false), false},
		{"delete 500", c.DeleteBytesThreshold(500, true), true},
		{"delete 500 again", c.DeleteBytesThreshold(500, true), false},
		{"set 7 packets", c.SetPacketsThreshold(7, false), true},
	} {
		if r.got != r.want {
			t.Errorf("%s: %v, want %v", r.what, r.got, r.want)
		}
	}
	if l := c.Thresholds(); !slices.Equal(l.RespPackets, []uint64{7}) || len(l.OrigBytes) != 0 {
		t.Errorf("pending %+v, want resp packets [7] only", l)
	}
	tr.Flush()
	if c.Alive() || c.SetBytesThreshold(1, true) || c.UID() != "" || c.Poll(0, func(Conn, int) time.Duration { return 0 }) {
		t.Error("a removed connection's handle still works")
	}
	var zero Conn
	if zero.Alive() || zero.SetBytesThreshold(1, true) {
		t.Error("the zero Conn works")
	}
}

func TestPolling(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		every time.Duration
		stop  int // return -1 once n reaches stop
		ats   []time.Duration
		want  string // "n@ms" of each call, ms since the first packet
	}{
		{"runs before the next packet", 0, time.Second, 100, []time.Duration{500 * time.Millisecond}, "0@500 1@500"},
		{"drifts with packets", 0, time.Second, 100,
			[]time.Duration{100 * time.Millisecond, 1500 * time.Millisecond, 2000 * time.Millisecond, 2600 * time.Millisecond},
			"0@100 1@1500 2@2600 3@2600"},
		{"negative stops", 0, 10 * time.Millisecond, 1,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}, "0@100 1@200"},
		{"delayed first call", time.Second, 0, 100,
			[]time.Duration{500 * time.Millisecond, 999 * time.Millisecond, time.Second}, "0@1000 1@1000"},
		// 61 s of silence: the UDP connection times out at 60 s, before the check due
		// at 61 s; polling stops silently and the new connection is not polled.
		{"stops with the connection", 0, 61 * time.Second, 100, []time.Duration{time.Millisecond, 70 * time.Second}, "0@1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			polled := false
			tr := New(Config{UIDSeed: 1}, Handlers{NewConn: func(c Conn) {
				if polled {
					return
				}
				polled = true
				c.Poll(tc.delay, func(c Conn, n int) time.Duration {
					ms := time.Duration(c.t.now-testEpoch.UnixNano()) / time.Millisecond
					calls = append(calls, fmt.Sprintf("%d@%d", n, ms))
					if n >= tc.stop {
						return -1
					}
					return tc.every
				})
			}})
			f := newUDPFlow(t, tr)
			f.send(true, 0, 0)
			for _, at := range tc.ats {
				f.send(false, 1, at)
			}
			tr.Flush()
			if got := strings.Join(calls, " "); got != tc.want {
				t.Errorf("calls %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRemovalHooks(t *testing.T) {
	var order []string
	hook := NewRemovalHook(func(r *Record) { order = append(order, "hook "+r.ConnState+" "+r.Reason.String()) })
	other := NewRemovalHook(func(r *Record) { order = append(order, "other") })
	n := 0
	tr := New(Config{UIDSeed: 1}, Handlers{
		NewConn: func(c Conn) {
			n++
			switch n {
			case 1: // both hooks, the second unregistered again
				c.RegisterRemovalHook(hook)
				c.RegisterRemovalHook(other)
				c.UnregisterRemovalHook(other)
				c.RegisterRemovalHook(hook)
			case 2: // no hook
			}
		},
		Remove: func(r *Record) { order = append(order, "remove "+r.ConnState) },
	})
	f := newUDPFlow(t, tr)
	f.send(true, 0, 0)
	f.send(false, 0, time.Millisecond)
	g := newUDPFlow(t, tr)
	g.c.sport = 40001
	g.send(true, 0, 2*time.Millisecond)
	tr.Flush()
	want := []string{"hook SF end_of_input", "remove SF", "remove S0"}
	if !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}

// stampedFrame is a frame and its capture time.
type stampedFrame struct {
	data []byte
	ts   time.Time
}

// blockingSource is a live-like Source fed through a channel, which Run can wake.
type blockingSource struct {
	pkts   chan stampedFrame
	woken  chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newBlockingSource() *blockingSource {
	return &blockingSource{pkts: make(chan stampedFrame), woken: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (s *blockingSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	select {
	case f := <-s.pkts:
		return f.data, testCI(f.data, f.ts), layers.LinkTypeEthernet, nil
	case <-s.woken:
		return nil, gopacket.CaptureInfo{}, 0, errWoken
	case <-s.closed:
		return nil, gopacket.CaptureInfo{}, 0, io.EOF
	}
}

func (s *blockingSource) wakeUp() {
	select {
	case s.woken <- struct{}{}:
	default:
	}
}

func (s *blockingSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// TestFeedLive runs a tracker on a source that stays idle after three datagrams: the
// Feed still publishes (the ticker wakes the source), calls passed to Do still run,
// and network time follows the wall clock, so a connection stamped in 2024 times out
// for inactivity and arrives as a removal, while one stamped now stays.
func TestFeedLive(t *testing.T) {
	src := newBlockingSource()
	tr := New(Config{UIDSeed: 1}, Handlers{})
	feed := tr.Feed(5 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background(), src) }()

	c := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 5000, udp: true}
	old := c
	old.sport = 40001
	src.pkts <- stampedFrame{c.build(t), time.Now()}
	src.pkts <- stampedFrame{c.reverse().build(t), time.Now()}
	src.pkts <- stampedFrame{old.build(t), testEpoch}

	updated := map[uint16]string{}
	var removed []string
	var handle Conn
	deadline := time.After(10 * time.Second)
	for len(removed) == 0 || updated[40000] != "SF" {
		select {
		case s := <-feed.C():
			for _, u := range s.Updates {
				updated[u.OrigP] = u.ConnState
				if u.OrigP == 40000 {
					handle = u.Conn
				}
			}
			for _, r := range s.Removed {
				removed = append(removed, fmt.Sprint(r.OrigP, " ", r.ConnState, " ", r.Reason))
			}
		case <-deadline:
			t.Fatalf("after 10 s: updates %v, removals %q", updated, removed)
		}
	}
	if want := []string{"40001 S0 inactivity"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	ran := make(chan bool)
	if !tr.Do(func() { ran <- handle.Alive() && handle.SetBytesThreshold(1, true) }) {
		t.Fatal("Do refused a call")
	}
	select {
	case ok := <-ran:
		if !ok {
			t.Error("the live connection's handle did not take a threshold")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call passed to Do did not run on an idle source")
	}
	var crossed bool
	for !crossed {
		select {
		case s := <-feed.C():
			for _, x := range s.Crossings {
				crossed = x.Metric == MetricBytes && x.Threshold == 1 && x.IsOrig && x.UID == handle.t.uid(1)
			}
		case <-deadline:
			t.Fatal("the crossing set through Do was not published")
		}
	}
	src.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var last *Snapshot
	for last == nil || !last.Final {
		select {
		case last = <-feed.C():
		case <-time.After(10 * time.Second):
			t.Fatal("no final snapshot")
		}
	}
	if len(last.Removed) != 1 || last.Removed[0].OrigP != 40000 || last.Removed[0].Reason != ReasonEndOfInput {
		t.Errorf("final snapshot removals %+v, want the live connection at end of input", last.Removed)
	}
}

// TestFeedCoalesces checks the latest-value slot: while the consumer does not take a
// snapshot, changes accumulate instead of being published or lost.
func TestFeedCoalesces(t *testing.T) {
	tr := New(Config{UIDSeed: 1}, Handlers{})
	feed := tr.Feed(0)
	feed.maxRemoved = 1
	f := newUDPFlow(t, tr)
	f.send(true, 10, 0)
	tr.publish(false)
	f.send(false, 10, time.Millisecond)
	tr.publish(false) // not taken yet: accumulates
	g := newUDPFlow(t, tr)
	g.c.sport = 40001
	g.send(true, 0, 2*time.Millisecond)
	s1 := <-feed.C()
	if len(s1.Updates) != 1 || s1.Updates[0].ConnState != "S0" {
		t.Fatalf("first snapshot %+v, want one S0 update", s1.Updates)
	}
	if s1.Updates[0].UID == "" || s1.Updates[0].UID != s1.Updates[0].Conn.UID() {
		t.Errorf("update uid %q, handle uid %q", s1.Updates[0].UID, s1.Updates[0].Conn.UID())
	}
	tr.publish(false)
	s2 := <-feed.C()
	var states []string
	for _, u := range s2.Updates {
		states = append(states, u.ConnState+" "+u.History)
	}
	if want := []string{"SF Dd", "S0 D"}; !slices.Equal(states, want) {
		t.Errorf("second snapshot %q, want %q", states, want)
	}
	h := newUDPFlow(t, tr)
	h.c.sport = 40002
	h.send(true, 0, 3*time.Millisecond)
	k := newUDPFlow(t, tr)
	k.c.sport = 40003
	k.send(true, 0, 2*time.Minute) // f, g and h time out: room for one
	tr.Flush()                     // k: the final removals are never dropped
	tr.publish(true)
	s3 := <-feed.C()
	var reasons []string
	for _, r := range s3.Removed {
		reasons = append(reasons, fmt.Sprint(r.OrigP, " ", r.Reason))
	}
	if !s3.Final || s3.Dropped.Removals != 2 || !slices.Equal(reasons, []string{"40000 inactivity", "40003 end_of_input"}) {
		t.Errorf("final snapshot: final %v, removed %q, %d dropped; want final, 40000 inactivity and 40003 end_of_input, 2 dropped",
			s3.Final, reasons, s3.Dropped.Removals)
	}
}

// TestFeedFile reads a capture with a Feed attached: the final snapshot holds every
// connection's removal, the same records the Remove handler got.
func TestFeedFile(t *testing.T) {
	cli := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80}
	frames := testHandshake(t, cli, 1000, 5000)
	u := testSeg{src: testCli6, dst: testSrv6, sport: 53000, dport: 53, udp: true, payload: []byte("q")}
	frames = append(frames, u.build(t), u.reverse().build(t))
	var records []string
	tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(r *Record) { records = append(records, r.UID+" "+r.ConnState) }})
	feed := tr.Feed(time.Hour)
	src, err := NewFileSource(strings.NewReader(string(testPcap(t, layers.LinkTypeEthernet, frames...))))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	s := <-feed.C()
	var got []string
	for _, r := range s.Removed {
		got = append(got, r.UID+" "+r.ConnState)
	}
	if !s.Final || !slices.Equal(got, records) || len(got) != 2 {
		t.Errorf("final %v, removed %q; want final and %q", s.Final, got, records)
	}
	if s.Stats.Packets != uint64(len(frames)) {
		t.Errorf("stats: %d packets, want %d", s.Stats.Packets, len(frames))
	}
}

// TestEviction fills a table bounded to two connections: each new connection evicts
// the one closest to its timeout, which is reported with ReasonEviction.
func TestEviction(t *testing.T) {
	var removed []string
	tr := New(Config{UIDSeed: 1, MaxConns: 2}, Handlers{Remove: func(r *Record) {
		removed = append(removed, fmt.Sprint(r.OrigP, " ", r.Reason))
	}})
	for i, port := range []uint16{40000, 40001, 40002} {
		f := newUDPFlow(t, tr)
		f.c.sport = port
		f.send(true, 0, time.Duration(i)*time.Second)
	}
	// 40000's inactivity deadline is the earliest: it went first.
	if want := []string{"40000 eviction"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	if s := tr.Stats(); s.Active != 2 || s.Evicted != 1 {
		t.Errorf("active %d, evicted %d; want 2, 1", s.Active, s.Evicted)
	}
	tr.Flush()
	if len(removed) != 3 {
		t.Errorf("removed %q after Flush", removed)
	}
}
