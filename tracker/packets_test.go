package tracker

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

type frameLog struct {
	frames [][]byte
	closed int
}

func (l *frameLog) Packet(_ gopacket.CaptureInfo, _ layers.LinkType, frame []byte) {
	l.frames = append(l.frames, bytes.Clone(frame))
}
func (l *frameLog) Close() { l.closed++ }

// TestPacketSink: a sink set on a connection gets its frames from then on; with
// a recent-packet ring, also those from before still in the ring; the sink is
// closed when the connection is removed. Another connection's frames never
// reach it.
func TestPacketSink(t *testing.T) {
	for _, ring := range []int{0, 1 << 20, 130} {
		var conn Conn
		tr := New(Config{RecentBuffer: ring}, Handlers{NewConn: func(c Conn) {
			if !conn.Alive() {
				conn = c
			}
		}})
		f := newUDPFlow(t, tr)
		other := newUDPFlow(t, tr)
		other.c.sport = 40001
		f.send(true, 10, 0)
		f.send(false, 20, time.Millisecond)
		other.send(true, 30, 2*time.Millisecond)
		log := &frameLog{}
		if !conn.SetPacketSink(log) {
			t.Fatal("SetPacketSink refused a live connection")
		}
		before := len(log.frames)
		f.send(true, 40, 3*time.Millisecond)
		other.send(true, 50, 4*time.Millisecond)
		tr.Flush()
		switch {
		case ring == 0 && before != 0:
			t.Errorf("no ring: %d frames from before the mark", before)
		case ring == 1<<20 && before != 2:
			t.Errorf("ring: %d frames from before the mark, want 2", before)
		case ring == 130 && before != 0:
			// The frames are 52, 62 and 72 bytes: the third wraps to the start
			// and overwrites both of the connection's.
			t.Errorf("small ring: %d frames from before the mark, want 0", before)
		}
		if got := len(log.frames) - before; got != 1 {
			t.Errorf("ring %d: %d frames after the mark, want 1", ring, got)
		}
		if n := len(log.frames); n > 0 && len(log.frames[n-1]) != 14+20+8+40 {
			t.Errorf("ring %d: last frame is %d bytes, want the whole 82-byte frame", ring, len(log.frames[n-1]))
		}
		if log.closed != 1 {
			t.Errorf("ring %d: sink closed %d times at removal", ring, log.closed)
		}
	}
}

func TestPacketSinkAllocs(t *testing.T) {
	tr := New(Config{}, Handlers{})
	f := newUDPFlow(t, tr)
	f.send(true, 10, 0)
	s := f.c
	s.payload = make([]byte, 10)
	frame := s.build(t)
	ci := testCI(frame, testEpoch.Add(time.Millisecond))
	if n := testing.AllocsPerRun(100, func() { tr.Packet(frame, ci, layers.LinkTypeEthernet) }); n != 0 {
		t.Errorf("a packet of a connection without a sink allocates %v times", n)
	}
}
