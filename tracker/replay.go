package tracker

import (
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Replay is a Source that delivers the packets of another source, normally a capture
// file, at a chosen speed, and can be paused. Pause, Resume, Paused, Speed and Close
// are safe from any goroutine; ReadPacket, like any Source's, is called by one.
//
// At speed N, packet i is delivered when the wall-clock time since the first packet,
// not counting paused time, reaches (ts_i - ts_0)/N. Network time is the packets'
// time whatever the pace: timers fire, and records and events carry, the times a
// full-speed run gives them. Between packets only the Feed's snapshots follow the
// replay clock, so that idle times count on; a pause freezes it.
type Replay struct {
	src   Source
	speed float64 // > 0, or 0 for as fast as possible

	state atomic.Uint32 // replayPaused | replayWoken | replayClosed
	kick  chan struct{} // one pending signal: the state changed, stop waiting
	done  chan struct{} // closed by Close

	// The wall clock and the wait; tests replace them.
	now   func() time.Time
	sleep func(d time.Duration) // waits d (d < 0: forever), or less when kicked or closed
	timer *time.Timer

	// The packet a paced replay has read and not yet delivered (reader only).
	held bool
	data []byte
	ci   gopacket.CaptureInfo
	link layers.LinkType

	mu       sync.Mutex
	paused   bool
	pausedAt time.Time // when the current pause began
	started  bool      // the first packet was read: ts0 and base are set
	ts0      int64     // the first packet's timestamp, ns
	base     time.Time // when the replay clock read ts0, moved on by paused time
	next     int64     // the held packet's timestamp, when hasNext
	hasNext  bool
	lastIdle int64 // the last idle time reported
}

// Replay state bits.
const (
	replayPaused = 1 << iota
	replayWoken
	replayClosed
)

var (
	_ Source    = (*Replay)(nil)
	_ wakeable  = (*Replay)(nil)
	_ idleClock = (*Replay)(nil)
)

// NewReplay returns a Replay of src at speed times real time; speed <= 0 means as
// fast as possible. Closing the Replay closes src.
func NewReplay(src Source, speed float64) *Replay {
	if !(speed > 0) || math.IsInf(speed, 1) {
		speed = 0
	}
	r := &Replay{src: src, speed: speed, kick: make(chan struct{}, 1), done: make(chan struct{}), now: time.Now}
	r.sleep = r.sleepWall
	return r
}

// Speed returns the replay speed: a multiple of real time, or 0 for as fast as
// possible.
func (r *Replay) Speed() float64 { return r.speed }

// Paused reports whether the replay is paused.
func (r *Replay) Paused() bool { return r.state.Load()&replayPaused != 0 }

// Pause stops delivering packets until Resume. Paused time does not count towards
// the pacing.
func (r *Replay) Pause() {
	r.mu.Lock()
	if !r.paused {
		r.paused, r.pausedAt = true, r.now()
		r.state.Or(replayPaused)
	}
	r.mu.Unlock()
	r.signal()
}

// Resume continues a paused replay where it stopped.
func (r *Replay) Resume() {
	r.mu.Lock()
	if r.paused {
		r.paused = false
		if r.started {
			r.base = r.base.Add(r.now().Sub(r.pausedAt))
		}
		r.state.And(^uint32(replayPaused))
	}
	r.mu.Unlock()
	r.signal()
}

// Close implements Source: it closes the inner source and ends any wait; ReadPacket
// then returns io.EOF. Closing twice is harmless.
func (r *Replay) Close() error {
	if r.state.Or(replayClosed)&replayClosed != 0 {
		return nil
	}
	close(r.done)
	return r.src.Close()
}

// wakeUp makes a waiting (or the next) ReadPacket return errWoken.
func (r *Replay) wakeUp() {
	r.state.Or(replayWoken)
	r.signal()
}

// signal ends the current wait, if any, so that ReadPacket looks at the state again.
func (r *Replay) signal() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// ReadPacket implements Source. It waits while the replay is paused and, at a set
// speed, until the packet is due; it returns errWoken when woken while waiting.
func (r *Replay) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if r.speed == 0 && r.state.Load() == 0 {
		data, ci, link, err := r.src.ReadPacket()
		if err != nil {
			err = r.readErr(err)
		}
		return data, ci, link, err
	}
	return r.readWait()
}

// readErr is the error for a read error of the inner source: io.EOF once closed.
func (r *Replay) readErr(err error) error {
	if r.state.Load()&replayClosed != 0 {
		return io.EOF
	}
	return err
}

// readWait is ReadPacket when it may have to wait. A paced replay reads the packet
// first, to know when it is due, and holds it across wake-ups.
func (r *Replay) readWait() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if r.speed > 0 && !r.held {
		data, ci, link, err := r.src.ReadPacket()
		if err != nil {
			return nil, ci, 0, r.readErr(err)
		}
		r.hold(data, ci, link)
	}
	for {
		s := r.state.Load()
		switch {
		case s&replayClosed != 0:
			r.held = false
			return nil, gopacket.CaptureInfo{}, 0, io.EOF
		case s&replayWoken != 0:
			r.state.And(^uint32(replayWoken))
			return nil, gopacket.CaptureInfo{}, 0, errWoken
		case s&replayPaused != 0:
			r.sleep(-1)
			continue
		}
		if r.speed == 0 {
			data, ci, link, err := r.src.ReadPacket()
			if err != nil {
				err = r.readErr(err)
			}
			return data, ci, link, err
		}
		if d := r.untilDue(); d > 0 {
			r.sleep(d)
			continue
		}
		r.mu.Lock()
		r.hasNext = false
		r.mu.Unlock()
		r.held = false
		return r.data, r.ci, r.link, nil
	}
}

// hold keeps a packet read ahead; the first one starts the replay clock.
func (r *Replay) hold(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) {
	r.held, r.data, r.ci, r.link = true, data, ci, link
	ts := ci.Timestamp.UnixNano()
	r.mu.Lock()
	if !r.started {
		r.started, r.ts0, r.base = true, ts, r.now()
		if r.paused {
			r.pausedAt = r.base
		}
	}
	r.next, r.hasNext = ts, true
	r.mu.Unlock()
}

// elapsed returns the replay's wall-clock time since the first packet, less paused
// time. r.mu is held.
func (r *Replay) elapsed() time.Duration {
	if r.paused {
		return r.pausedAt.Sub(r.base)
	}
	return r.now().Sub(r.base)
}

// untilDue returns how long the held packet still has to wait.
func (r *Replay) untilDue() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	due := float64(r.next-r.ts0) / r.speed
	if due >= 1<<62 {
		due = 1 << 62
	}
	return time.Duration(due) - r.elapsed()
}

// sleepWall waits d on the wall clock (d < 0: forever), or less when kicked or
// closed.
func (r *Replay) sleepWall(d time.Duration) {
	if d < 0 {
		r.waitKick()
		return
	}
	if r.timer == nil {
		r.timer = time.NewTimer(d)
	} else {
		r.timer.Reset(d)
	}
	select {
	case <-r.timer.C:
	case <-r.kick:
	case <-r.done:
	}
	r.timer.Stop()
}

// waitKick waits until kicked or closed.
func (r *Replay) waitKick() {
	select {
	case <-r.kick:
	case <-r.done:
	}
}

// idleTime implements idleClock: the replay clock, ts0 plus the unpaused time since
// the first packet times the speed, but not beyond the packet read ahead and never
// backwards. A paused or full-speed replay leaves network time alone.
func (r *Replay) idleTime() (int64, bool) {
	if r.speed == 0 {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || !r.hasNext {
		return 0, false
	}
	v := r.next
	if off := float64(r.elapsed()) * r.speed; off < float64(r.next-r.ts0) {
		v = r.ts0 + int64(off)
	}
	v = max(v, r.lastIdle)
	r.lastIdle = v
	return v, true
}
