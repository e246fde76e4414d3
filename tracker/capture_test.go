package tracker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// capSource is a live-like source of frames: it reports a trusted checksum for
// every packet when trusted is set, kernel counters, and whether Run released it.
// After its frames, it waits (like an idle interface) until Close, when hold is set.
type capSource struct {
	frames   [][]byte
	i        int
	trusted  bool
	hold     chan struct{} // nil: io.EOF after the frames
	wake     chan struct{}
	mu       sync.Mutex
	stats    CaptureStats
	released bool
}

func (s *capSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if s.i == len(s.frames) {
		if s.hold != nil {
			select {
			case <-s.hold:
			case <-s.wake:
				return nil, gopacket.CaptureInfo{}, 0, errWoken
			}
		}
		return nil, gopacket.CaptureInfo{}, 0, io.EOF
	}
	f, ts := s.frames[s.i], testEpoch.Add(time.Duration(s.i)*time.Millisecond)
	s.i++
	return f, testCI(f, ts), layers.LinkTypeEthernet, nil
}

func (s *capSource) Close() error {
	if s.hold != nil {
		close(s.hold)
	}
	return nil
}

func (s *capSource) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *capSource) checksumTrusted() bool { return s.trusted }

func (s *capSource) captureStats() CaptureStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *capSource) setStats(st CaptureStats) {
	s.mu.Lock()
	s.stats = st
	s.mu.Unlock()
}

func (s *capSource) release() { s.released = true }

// TestRunTrustedChecksums checks that packets whose checksums the capture vouches
// for (checksum offload) are tracked as if their checksums were right, and that
// without that they are bad checksums.
func TestRunTrustedChecksums(t *testing.T) {
	good := runTestFrames(t, 3)
	bad := make([][]byte, len(good))
	for i, f := range good {
		bad[i] = append([]byte(nil), f...)
		ip, l4 := testL4Offset(bad[i])
		proto := bad[i][ip+9]
		if bad[i][ip]>>4 == 6 {
			proto = bad[i][ip+6]
		}
		off := l4 + 16 // TCP checksum
		if proto == 17 {
			off = l4 + 6 // UDP checksum
		}
		bad[i][off] ^= 0x5a // as sent with offload: not computed yet
	}
	want := fmt.Sprint(recordsOf(good))
	run := func(frames [][]byte, trusted bool) string {
		var out []string
		tr := New(Config{UIDSeed: 3}, Handlers{Remove: func(r *Record) { out = append(out, fmt.Sprintf("%+v", *r)) }})
		if err := tr.Run(context.Background(), &capSource{frames: frames, trusted: trusted}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	if got := run(bad, true); got != want {
		t.Errorf("trusted bad checksums:\n got %s\nwant %s", got, want)
	}
	if got := run(bad, false); got == want {
		t.Error("untrusted bad checksums were tracked as good ones")
	}
	if got := run(good, false); got != want {
		t.Errorf("good checksums through Run:\n got %s\nwant %s", got, want)
	}
}

// TestRunCaptureStats checks that Run reads the kernel counters periodically and
// at its end, runs Drops only when the drop count grew, and releases the source.
func TestRunCaptureStats(t *testing.T) {
	old := statsEvery
	statsEvery = 5 * time.Millisecond
	defer func() { statsEvery = old }()

	src := &capSource{frames: runTestFrames(t, 2), hold: make(chan struct{}), wake: make(chan struct{}, 1)}
	type drop struct {
		st  CaptureStats
		now time.Time
	}
	drops := make(chan drop, 16)
	tr := New(Config{}, Handlers{Drops: func(st CaptureStats, now time.Time) { drops <- drop{st, now} }})
	done := make(chan error, 1)
	go func() { done <- tr.Run(context.Background(), src) }()

	src.setStats(CaptureStats{Received: 10}) // no drops: no call
	time.Sleep(30 * time.Millisecond)
	src.setStats(CaptureStats{Received: 20, Dropped: 4})
	select {
	case d := <-drops:
		if d.st != (CaptureStats{Received: 20, Dropped: 4}) || d.now.Before(testEpoch) {
			t.Errorf("Drops(%+v, %v), want {20 4} at network time", d.st, d.now)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drops did not run while Run was waiting for packets")
	}
	src.setStats(CaptureStats{Received: 30, Dropped: 9})
	src.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := tr.Stats().Capture; got != (CaptureStats{Received: 30, Dropped: 9}) {
		t.Errorf("Stats().Capture after Run = %+v, want the last counts {30 9}", got)
	}
	var last drop
	for len(drops) > 0 {
		last = <-drops
	}
	if last.st.Dropped != 9 {
		t.Errorf("last Drops call saw %+v, want the final counts", last.st)
	}
	if !src.released {
		t.Error("Run did not release the source")
	}
}

// acceptUDP is a filter that accepts Ethernet/IPv4 and IPv6 UDP, compiled by hand.
type acceptUDP struct{}

func (acceptUDP) String() string { return "udp" }

func (acceptUDP) Compile(link layers.LinkType, snaplen uint32) ([]bpf.RawInstruction, error) {
	if link != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("filter %q: link type %v not supported", "udp", link)
	}
	return bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x0800, SkipFalse: 2},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17, SkipTrue: 3, SkipFalse: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x86dd, SkipFalse: 3},
		bpf.LoadAbsolute{Off: 20, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17, SkipFalse: 1},
		bpf.RetConstant{Val: snaplen},
		bpf.RetConstant{Val: 0},
	})
}

// TestFilterSource checks that a filtered file yields exactly the packets the
// program accepts, and that a link type the filter cannot take ends the input
// with the filter's error.
func TestFilterSource(t *testing.T) {
	frames := runTestFrames(t, 20)
	src, err := NewFileSource(bytes.NewReader(testPcap(t, layers.LinkTypeEthernet, frames...)))
	if err != nil {
		t.Fatal(err)
	}
	f := FilterSource(src, acceptUDP{})
	n := 0
	for {
		data, _, _, err := f.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if data[23] != 17 && !(data[12] == 0x86 && data[20] == 17) {
			t.Fatalf("packet %d is not UDP", n)
		}
		n++
	}
	if n != 20 {
		t.Errorf("%d UDP packets passed, want 20", n)
	}

	raw, err := NewFileSource(bytes.NewReader(testPcap(t, layers.LinkTypeRaw, frames[0][14:])))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := FilterSource(raw, acceptUDP{}).ReadPacket(); err == nil || err.Error() != `filter "udp": link type Raw not supported` {
		t.Errorf("raw IP through an Ethernet-only filter: %v", err)
	}
}

// TestTestsVLAN checks the detection of programs that look for VLAN tags, which
// must run in user space on a live capture.
func TestTestsVLAN(t *testing.T) {
	jeq := func(k uint32) bpf.RawInstruction { return bpf.RawInstruction{Op: 0x15, K: k} }
	for _, c := range []struct {
		prog []bpf.RawInstruction
		want bool
	}{
		{[]bpf.RawInstruction{jeq(0x0800), jeq(0x86dd)}, false},
		{[]bpf.RawInstruction{jeq(0x0800), jeq(0x8100)}, true},
		{[]bpf.RawInstruction{jeq(0x88a8)}, true},
		{[]bpf.RawInstruction{jeq(0x9100)}, true},
		{[]bpf.RawInstruction{{Op: 0x04, K: 0x8100}}, false}, // add, not a comparison
		{[]bpf.RawInstruction{{Op: 0x1d, K: 0x8100}}, false}, // jeq x: not a constant
	} {
		if got := testsVLAN(c.prog); got != c.want {
			t.Errorf("testsVLAN(%v) = %v, want %v", c.prog, got, c.want)
		}
	}
}
