package tracker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/flowtop/flowtop/internal/benchgen"
)

// fakeClock is a wall clock that moves only when told to. Any goroutine may use it.
type fakeClock struct{ ns atomic.Int64 }

var fakeEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *fakeClock) now() time.Time          { return fakeEpoch.Add(time.Duration(c.ns.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// stampedPcap returns a pcap file of distinct UDP datagrams captured at testEpoch
// plus each offset.
func stampedPcap(t *testing.T, offsets ...time.Duration) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, off := range offsets {
		f := testSeg{src: testCli4, dst: testSrv4, sport: uint16(30000 + i), dport: 5000, udp: true}.build(t)
		if err := w.WritePacket(testCI(f, testEpoch.Add(off)), f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// newTestReplay returns a Replay of the pcap data on a fake clock whose pacing
// waits are recorded and then take exactly the time asked for; paused waits are
// real.
func newTestReplay(t *testing.T, data []byte, speed float64) (*Replay, *fakeClock, *[]time.Duration) {
	t.Helper()
	src, err := NewFileSource(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReplay(src, speed)
	clk := &fakeClock{}
	var waits []time.Duration
	r.now = clk.now
	r.sleep = func(d time.Duration) {
		if d < 0 {
			r.waitKick()
			return
		}
		waits = append(waits, d)
		clk.advance(d)
	}
	return r, clk, &waits
}

// pacingOffsets are the capture times of the pacing tests' packets, relative to
// the first: two of them share a timestamp.
var pacingOffsets = []time.Duration{0, time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond,
	14 * time.Millisecond, 16500 * time.Microsecond}

// TestReplayPacing checks the waits a Replay asks for: each packet is due when the
// replay's wall-clock time since the first packet reaches its capture offset divided
// by the speed, so the time spent processing a packet (50µs here) is not added.
func TestReplayPacing(t *testing.T) {
	const work = 50 * time.Microsecond
	us := func(n ...int) []time.Duration {
		var ds []time.Duration
		for _, v := range n {
			ds = append(ds, time.Duration(v)*time.Microsecond)
		}
		return ds
	}
	for _, tc := range []struct {
		speed float64
		waits [][]time.Duration // per packet
	}{
		{1, [][]time.Duration{nil, us(950), us(2950), nil, us(9900), us(2450)}},
		{10, [][]time.Duration{nil, us(50), us(250), nil, us(900), us(200)}},
		{0.5, [][]time.Duration{nil, us(1950), us(5950), nil, us(19900), us(4950)}},
	} {
		t.Run(fmt.Sprint(tc.speed), func(t *testing.T) {
			r, clk, waits := newTestReplay(t, stampedPcap(t, pacingOffsets...), tc.speed)
			if r.Speed() != tc.speed {
				t.Errorf("Speed %v, want %v", r.Speed(), tc.speed)
			}
			for i, off := range pacingOffsets {
				*waits = nil
				_, ci, _, err := r.ReadPacket()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if !ci.Timestamp.Equal(testEpoch.Add(off)) {
					t.Fatalf("packet %d stamped %v, want %v", i, ci.Timestamp, testEpoch.Add(off))
				}
				if !slices.Equal(*waits, tc.waits[i]) {
					t.Errorf("packet %d: waits %v, want %v", i, *waits, tc.waits[i])
				}
				clk.advance(work)
			}
			*waits = nil
			if _, _, _, err := r.ReadPacket(); err != io.EOF || len(*waits) != 0 {
				t.Errorf("after the last packet: %v after waits %v, want io.EOF at once", err, *waits)
			}
		})
	}
}

// TestReplayPause pauses a speed-1 replay in the middle of a wait: no packet comes
// while it is paused, network time stands still, and after Resume the packet waits
// only the rest of its time; the hour spent paused does not count.
func TestReplayPause(t *testing.T) {
	r, clk, waits := newTestReplay(t, stampedPcap(t, pacingOffsets...), 1)
	pausedIn := make(chan struct{})
	r.sleep = func(d time.Duration) {
		if d < 0 {
			r.waitKick()
			return
		}
		*waits = append(*waits, d)
		if len(*waits) == 2 { // waiting for the third packet: paused a millisecond in
			clk.advance(time.Millisecond)
			r.Pause()
			close(pausedIn)
			return
		}
		clk.advance(d)
	}
	got := make(chan time.Time, len(pacingOffsets))
	done := make(chan error, 1)
	go func() {
		for {
			_, ci, _, err := r.ReadPacket()
			if err != nil {
				done <- err
				return
			}
			got <- ci.Timestamp
			clk.advance(50 * time.Microsecond)
		}
	}()
	<-pausedIn
	for i := range 2 {
		if ts := <-got; !ts.Equal(testEpoch.Add(pacingOffsets[i])) {
			t.Fatalf("packet %d stamped %v", i, ts)
		}
	}
	if !r.Paused() {
		t.Fatal("Paused is false after Pause")
	}
	clk.advance(time.Hour)
	if ns, ok := r.idleTime(); ok {
		t.Errorf("paused: idle time %v, want none", time.Unix(0, ns))
	}
	select {
	case ts := <-got:
		t.Fatalf("packet stamped %v delivered while paused", ts)
	default:
	}
	r.Pause() // twice is harmless
	r.Resume()
	r.Resume()
	if r.Paused() {
		t.Fatal("Paused is true after Resume")
	}
	for i := 2; i < len(pacingOffsets); i++ {
		if ts := <-got; !ts.Equal(testEpoch.Add(pacingOffsets[i])) {
			t.Fatalf("packet %d stamped %v", i, ts)
		}
	}
	if err := <-done; err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	if want := []time.Duration{ms(0.95), ms(2.95), ms(1.95), ms(9.9), ms(2.45)}; !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v", *waits, want)
	}
}

// TestReplayIdleTime follows the idle clock of a speed-10 replay between packets:
// the replay clock scaled by the speed, capped at the packet read ahead, frozen while
// paused, never going back (the capture's third packet is stamped before the
// second), and none while no packet is held.
func TestReplayIdleTime(t *testing.T) {
	ms := time.Millisecond
	r, clk, _ := newTestReplay(t, stampedPcap(t, 0, 10*ms, 5*ms, 20*ms), 10)
	wakeIn := time.Duration(0) // when set, a wait is woken after this long
	r.sleep = func(d time.Duration) {
		if d < 0 {
			r.waitKick()
			return
		}
		if wakeIn > 0 {
			clk.advance(wakeIn)
			r.wakeUp()
			return
		}
		clk.advance(d)
	}
	read := func(wantErr error, wantOff time.Duration) {
		t.Helper()
		_, ci, _, err := r.ReadPacket()
		if err != wantErr {
			t.Fatalf("ReadPacket: %v, want %v", err, wantErr)
		}
		if err == nil && !ci.Timestamp.Equal(testEpoch.Add(wantOff)) {
			t.Fatalf("packet stamped %v, want +%v", ci.Timestamp, wantOff)
		}
	}
	idle := func(want time.Duration, wantOK bool) {
		t.Helper()
		ns, ok := r.idleTime()
		if ok != wantOK || ok && ns != testEpoch.Add(want).UnixNano() {
			t.Fatalf("idle time +%v %v, want +%v %v", time.Duration(ns-testEpoch.UnixNano()), ok, want, wantOK)
		}
	}
	read(nil, 0)
	idle(0, false) // nothing read ahead
	wakeIn = 300 * time.Microsecond
	read(errWoken, 0) // the second packet is due at 1ms of wall time
	idle(3*ms, true)
	clk.advance(200 * time.Microsecond)
	idle(5*ms, true)
	clk.advance(time.Second)
	idle(10*ms, true) // capped at the packet read ahead
	r.Pause()
	idle(0, false)
	clk.advance(time.Hour)
	r.Resume()
	idle(10*ms, true)
	wakeIn = 0
	read(nil, 10*ms)
	idle(0, false)
	r.wakeUp()
	read(errWoken, 0) // holds the third packet, stamped 5ms
	idle(10*ms, true) // not back to 5ms
	read(nil, 5*ms)
	read(nil, 20*ms)
	read(io.EOF, 0)

	full := NewReplay(&fileSource{}, 0)
	if _, ok := full.idleTime(); ok {
		t.Error("a full-speed replay has an idle time")
	}
}

// TestReplaySpeed checks that a speed that is not a positive finite number means as
// fast as possible.
func TestReplaySpeed(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{2.5, 2.5}, {1, 1}, {0, 0}, {-1, 0}, {math.NaN(), 0}, {math.Inf(1), 0},
	} {
		if got := NewReplay(&fileSource{}, tc.in).Speed(); got != tc.want {
			t.Errorf("NewReplay(%v).Speed() = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestReplayReadsAhead checks which sources Run reads on a goroutine of their own:
// regular files, directly or through a full-speed Replay.
func TestReplayReadsAhead(t *testing.T) {
	regular, pipe := &fileSource{regular: true}, &fileSource{}
	for _, tc := range []struct {
		name string
		src  Source
		want bool
	}{
		{"regular file", regular, true},
		{"pipe", pipe, false},
		{"max replay of a file", NewReplay(regular, 0), true},
		{"paced replay of a file", NewReplay(regular, 1), false},
		{"max replay of a pipe", NewReplay(pipe, 0), false},
		{"live", newBlockingSource(), false},
	} {
		if got := readsAhead(tc.src); got != tc.want {
			t.Errorf("%s: readsAhead %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReplayCloseUnblocks closes a Replay while ReadPacket waits, paused or for a
// packet due in a year: ReadPacket returns io.EOF, and the file is closed.
func TestReplayCloseUnblocks(t *testing.T) {
	data := stampedPcap(t, 0, 365*24*time.Hour)
	for _, paused := range []bool{false, true} {
		t.Run(fmt.Sprintf("paused=%v", paused), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.pcap")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r := NewReplay(src, 1)
			if _, _, _, err := r.ReadPacket(); err != nil {
				t.Fatal(err)
			}
			if paused {
				r.Pause()
			}
			done := make(chan error, 1)
			go func() {
				_, _, _, err := r.ReadPacket()
				done <- err
			}()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != io.EOF {
				t.Errorf("ReadPacket: %v, want io.EOF", err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if err := src.(*fileSource).closer.Close(); err == nil {
				t.Error("the file is still open")
			}
		})
	}
}

// TestReplayRunIdle runs a paced replay with a frozen wall clock: between two
// datagrams 100 s apart, calls passed to Do see the snapshots' time follow the
// replay clock and stand still while paused, while network time stays the
// packets'; the first flow times out for inactivity (60 s) when the second datagram
// comes, and every record carries the times a full-speed run gives it.
func TestReplayRunIdle(t *testing.T) {
	src, err := NewFileSource(bytes.NewReader(stampedPcap(t, 0, 100*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReplay(src, 1)
	clk := &fakeClock{}
	r.now = clk.now
	// The wall clock moves only when the test says. Each wait Run enters is sent
	// with the number of test calls run before it (owner goroutine only).
	type wait struct {
		d     time.Duration
		calls int
	}
	asked := make(chan wait, 100)
	calls := 0
	r.sleep = func(d time.Duration) {
		asked <- wait{d, calls}
		r.waitKick()
	}
	var removed, removedAt []string
	tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(rec *Record) {
		removed = append(removed, fmt.Sprintf("%d %s %v", rec.OrigP, rec.ConnState, rec.Reason))
		removedAt = append(removedAt, fmt.Sprintf("%d %v %v", rec.OrigP, rec.Removed.Sub(testEpoch), rec.Duration))
	}})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background(), r) }()
	if w := <-asked; w.d != 100*time.Second {
		t.Fatalf("first wait %v, want 100s", w.d)
	}
	type view struct {
		now     time.Duration // network time, since the first packet
		shown   time.Duration // the snapshots' time
		packets uint64
		removed []string
	}
	finished, looks := false, 0
	// look runs a call on the owner and returns when Run waits again after it, so
	// that the next step's call comes with a new wake-up and idle tick.
	look := func() view {
		t.Helper()
		looks++
		n := looks
		ch := make(chan view, 1)
		if !tr.Do(func() {
			calls = n
			ch <- view{time.Duration(tr.now - testEpoch.UnixNano()), time.Duration(max(tr.now, tr.shown) - testEpoch.UnixNano()),
				tr.Stats().Packets, slices.Clone(removed)}
		}) {
			t.Fatal("Do refused")
		}
		for !finished {
			select {
			case w := <-asked:
				if w.calls == n {
					return <-ch
				}
			case err := <-done:
				finished = true
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		return <-ch
	}
	// Between packets the snapshots follow the replay clock, but network time
	// stays the packets' (timers fire, and records carry, the times they have at
	// full speed): the inactivity timer due at +60s fires with the packet at +100s,
	// once it is read.
	for _, step := range []struct {
		name       string
		do         func()
		net, shown time.Duration
		removed    []string
	}{
		{"start", func() {}, 0, 0, nil},
		{"30s on", func() { clk.advance(30 * time.Second) }, 0, 30 * time.Second, nil},
		{"paused an hour", func() { r.Pause(); clk.advance(time.Hour) }, 0, 30 * time.Second, nil},
		{"resumed, 40s on", func() { r.Resume(); clk.advance(40 * time.Second) }, 0, 70 * time.Second, nil},
		{"at the next packet", func() { clk.advance(100 * time.Second) }, 0, 100 * time.Second, nil},
	} {
		step.do()
		if v := look(); v.now != step.net || v.shown != step.shown || v.packets != 1 || !slices.Equal(v.removed, step.removed) {
			t.Errorf("%s: network time +%v, shown +%v, %d packets, removed %q; want +%v, +%v, 1, %q",
				step.name, v.now, v.shown, v.packets, v.removed, step.net, step.shown, step.removed)
		}
	}
	if !finished {
		t.Fatal("Run did not finish after the last packet")
	}
	var fullSpeed []string
	full, err := NewFileSource(bytes.NewReader(stampedPcap(t, 0, 100*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	ftr := New(Config{UIDSeed: 1}, Handlers{Remove: func(rec *Record) {
		fullSpeed = append(fullSpeed, fmt.Sprintf("%d %v %v", rec.OrigP, rec.Removed.Sub(testEpoch), rec.Duration))
	}})
	if err := ftr.Run(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removedAt, fullSpeed) {
		t.Errorf("paced: removed at %q; at full speed %q", removedAt, fullSpeed)
	}
	if want := []string{"30000 S0 inactivity", "30001 S0 end_of_input"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
}

// writeTestFile writes data to a file in a temporary directory and returns its path.
func writeTestFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayPausedRun pauses a replay from a handler, at the tenth new connection,
// in each of Run's modes: while it is paused, Do calls run and no packet is
// processed (in pipelined mode, the batches read ahead are). Then Resume lets the
// replay finish, with a Feed that publishes while paused; Close or cancelling the
// context, without a Feed (nothing else wakes Run), makes Run return, with every
// connection flushed.
func TestReplayPausedRun(t *testing.T) {
	frames := runTestFrames(t, 2000)
	path := writeTestFile(t, "f.pcap", testPcap(t, layers.LinkTypeEthernet, frames...))
	total := uint64(len(frames))
	for _, mode := range []struct {
		name      string
		speed     float64
		procs     int
		pipelined bool
	}{
		{"serial-paced", 1, 2, false},
		{"serial-max", 0, 1, false},
		{"pipelined-max", 0, 2, true},
	} {
		for _, end := range []string{"resume", "close", "cancel"} {
			t.Run(mode.name+"-"+end, func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(mode.procs))
				src, err := OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				r := NewReplay(src, mode.speed)
				defer r.Close()
				if mode.speed > 0 {
					clk := &fakeClock{}
					r.now = clk.now
					r.sleep = func(d time.Duration) {
						if d < 0 {
							r.waitKick()
							return
						}
						clk.advance(d)
					}
				}
				pausedAt := make(chan uint64, 1)
				var tr *Tracker
				conns, records := 0, 0
				tr = New(Config{UIDSeed: 3}, Handlers{
					NewConn: func(Conn) {
						if conns++; conns == 10 {
							r.Pause()
							pausedAt <- tr.Stats().Packets // counts the packet being processed
						}
					},
					Remove: func(*Record) { records++ },
				})
				var feed *Feed
				if end == "resume" {
					feed = tr.Feed(time.Millisecond)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- tr.Run(ctx, r) }()

				at := <-pausedAt
				packets := func() uint64 {
					t.Helper()
					ch := make(chan uint64)
					if !tr.Do(func() { ch <- tr.Stats().Packets }) {
						t.Fatal("Do refused")
					}
					return <-ch
				}
				first := packets()
				for range 3 { // snapshots keep coming
					if feed == nil {
						packets()
						continue
					}
					if s := <-feed.C(); s.Final || s.Stats.Packets >= total {
						t.Fatalf("snapshot while paused: final %v, %d packets", s.Final, s.Stats.Packets)
					}
				}
				last := packets()
				if !mode.pipelined && (first != at || last != at) {
					t.Errorf("paused at packet %d, processed %d then %d", at, first, last)
				}
				if last >= total {
					t.Errorf("processed %d packets of %d while paused", last, total)
				}

				var wantErr error
				switch end {
				case "resume":
					r.Resume()
				case "close":
					r.Close()
				case "cancel":
					cancel()
					wantErr = context.Canceled
				}
				if err := <-done; !errors.Is(err, wantErr) {
					t.Fatalf("Run: %v, want %v", err, wantErr)
				}
				st := tr.Stats()
				if st.Active != 0 || records != int(st.Conns) {
					t.Errorf("after Run: %d active, %d records of %d connections", st.Active, records, st.Conns)
				}
				if end == "resume" && st.Packets != total {
					t.Errorf("after Resume: %d packets, want %d", st.Packets, total)
				}
				if end != "resume" && st.Packets >= total {
					t.Errorf("Run read all %d packets; it should have stopped while paused", st.Packets)
				}
				for feed != nil {
					if s := <-feed.C(); s.Final {
						break
					}
				}
			})
		}
	}
}

// TestReplayMaxMatchesFile checks that a full-speed Replay of a benchgen capture
// gives exactly the records and stats of reading the file directly, pipelined and
// serial.
func TestReplayMaxMatchesFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "small.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := benchgen.Write(f, benchgen.ManyFlows().Scale(0.01), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(replay bool) ([]string, Stats) {
		t.Helper()
		src, err := OpenFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if replay {
			src = NewReplay(src, 0)
		}
		defer src.Close()
		var recs []string
		tr := New(Config{UIDSeed: 7}, Handlers{Remove: func(r *Record) { recs = append(recs, fmt.Sprintf("%+v", *r)) }})
		if err := tr.Run(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		return recs, tr.Stats()
	}
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("procs%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			want, wantStats := run(false)
			got, gotStats := run(true)
			if wantStats.Packets != sum.Packets {
				t.Fatalf("read %d packets of %d", wantStats.Packets, sum.Packets)
			}
			if gotStats != wantStats {
				t.Errorf("stats %+v, want %+v", gotStats, wantStats)
			}
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("record %d:\n%s\nwant\n%s", i, got[i], want[i])
				}
			}
		})
	}
}

// BenchmarkReplay reads benchgen's many-flows capture (shared with internal/bench,
// in os.TempDir()/flowtop-bench) with Run, directly and through a full-speed Replay,
// each headless and with a Feed drained as the TUI would (every 100ms).
func BenchmarkReplay(b *testing.B) {
	if testing.Short() {
		b.Skip("reads a capture of 800 MB; skipped with -short")
	}
	path := filepath.Join(os.TempDir(), "flowtop-bench", "many.pcap")
	sum, err := benchgen.Generate(path, benchgen.ManyFlows(), 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		replay bool
		feed   bool
	}{
		{"direct", false, false},
		{"replay", true, false},
		{"direct-feed", false, true},
		{"replay-feed", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(sum.Bytes))
			var pkts uint64
			for b.Loop() {
				src, err := OpenFile(path)
				if err != nil {
					b.Fatal(err)
				}
				if bc.replay {
					src = NewReplay(src, 0)
				}
				tr := New(Config{}, Handlers{Remove: func(*Record) {}})
				drained := make(chan struct{})
				if bc.feed {
					feed := tr.Feed(100 * time.Millisecond)
					go func() {
						defer close(drained)
						for s := range feed.C() {
							if s.Final {
								return
							}
						}
					}()
				} else {
					close(drained)
				}
				err = tr.Run(context.Background(), src)
				src.Close()
				<-drained
				if err != nil {
					b.Fatal(err)
				}
				if n := tr.Stats().Packets; n != sum.Packets {
					b.Fatalf("read %d packets, the capture has %d", n, sum.Packets)
				}
				pkts += sum.Packets
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
