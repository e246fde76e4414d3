package tracker

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"time"
)

// Run reads src until it ends or ctx is cancelled, then flushes every connection.
// It returns nil at the end of input, ErrTruncated for a file cut inside a record
// (after flushing), ctx.Err() when cancelled, or the source's read error.
//
// A capture file on a machine with two or more CPUs, read directly or through a
// Replay at full speed, is read and decoded on a second goroutine, ahead of the
// connection table (see runPipelined); the result is the same as reading packet by
// packet. Other sources are read on the caller's goroutine, so that a packet is
// processed as soon as it is read.
//
// While Run runs, calls passed to Do run between packets, and an attached Feed
// publishes snapshots at its interval, also while a live source sees no packets or
// a Replay waits. Network time then follows the wall clock for a live source, so
// that idle connections time out as they would in Zeek, and the replay clock for a
// paced Replay. When Run returns, the Feed gets its final snapshot.
func (t *Tracker) Run(ctx context.Context, src Source) error {
	ref := &wakeRef{}
	if c, ok := src.(idleClock); ok {
		ref.clock = c
	}
	pipelined := runtime.GOMAXPROCS(0) >= 2 && readsAhead(src)
	var woken chan struct{}
	if pipelined {
		woken = make(chan struct{}, 1)
		ref.w = ownerWaker(woken) // the reader is never woken: the owner waits on batches
	} else if w, ok := src.(wakeable); ok {
		ref.w = w
	}
	t.wake.Store(ref)
	stopWake := context.AfterFunc(ctx, t.wakeSource) // a blocked read sees the cancellation
	ss, _ := src.(statsSource)
	t.capture = ss
	stop := t.startTicker(ss != nil)
	var err error
	if pipelined {
		err = t.runPipelined(ctx, src, woken)
	} else {
		err = t.runSerial(ctx, src)
	}
	stopWake()
	stop()
	if r, ok := src.(releaser); ok {
		r.release()
	}
	if ss != nil {
		t.readCaptureStats()
	}
	t.serviceCalls()
	if t.feed != nil {
		t.publish(true)
	}
	t.wake.Store(nil)
	return err
}

// readsAhead reports whether Run may read src on a goroutine of its own: a regular
// capture file, directly or through a Replay at full speed.
func readsAhead(src Source) bool {
	switch s := src.(type) {
	case *fileSource:
		return s.regular
	case *Replay:
		return s.speed == 0 && readsAhead(s.src)
	case *filteredSource:
		return readsAhead(s.Source)
	}
	return false
}

// wakeable is a source whose blocked ReadPacket can be made to return errWoken.
type wakeable interface{ wakeUp() }

// idleClock is a source that keeps network time while it delivers no packet (a
// paced Replay): idleTime returns it, or ok false to leave network time as it is.
// Other sources follow the wall clock when idle.
type idleClock interface{ idleTime() (ns int64, ok bool) }

// ownerWaker wakes a pipelined Run's owner goroutine while it waits for a batch.
type ownerWaker chan struct{}

func (w ownerWaker) wakeUp() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// wakeRef holds, for the running source, what wakeSource wakes (nil if nothing can
// be woken) and its idle clock, if any.
type wakeRef struct {
	w     wakeable
	clock idleClock
}

// wakeSource wakes the running source, if it can be woken. Any goroutine may call it.
func (t *Tracker) wakeSource() {
	if r := t.wake.Load(); r != nil && r.w != nil {
		r.w.wakeUp()
	}
}

// errWoken is returned by a woken ReadPacket: no packet, try again.
var errWoken = errors.New("woken up without a packet")

// maxPendingCalls bounds the calls queued by Do.
const maxPendingCalls = 256

// Do queues fn to run on the owner goroutine between two packets, while Run runs.
// fn may use Conn handles (for instance those of a Snapshot's updates) to set
// thresholds or register hooks. Do never blocks: it reports false when too many
// calls are pending.
func (t *Tracker) Do(fn func()) bool {
	select {
	case t.calls <- fn:
	default:
		return false
	}
	t.attn.Store(true)
	t.wakeSource()
	return true
}

// statsEvery is how often Run reads a live capture's kernel counters (a variable
// for tests).
var statsEvery = time.Second

// startTicker starts the goroutine that asks the owner for a snapshot at the Feed's
// interval and, with stats set, for the capture's kernel counters every statsEvery,
// waking a blocked source when the owner has not answered the previous tick. It
// returns a function that stops the goroutine and waits for it.
func (t *Tracker) startTicker(stats bool) (stop func()) {
	feed := t.feed != nil && t.feed.every > 0
	every := statsEvery
	switch {
	case feed && stats:
		every = min(t.feed.every, statsEvery)
	case feed:
		every = t.feed.every
	case !stats:
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		lastStats, statsAfter := time.Now(), statsEvery-every/2
		for {
			select {
			case now := <-tick.C:
				if feed {
					t.feed.due.Store(true)
				}
				if stats && now.Sub(lastStats) >= statsAfter {
					t.statsDue.Store(true)
					lastStats = now
				}
				if t.attn.Swap(true) {
					t.wakeSource() // the owner did not answer the last tick: blocked in a read
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// service runs between packets when attention was asked for: pending calls, and a
// snapshot when one is due. idle says the source was woken without a packet.
func (t *Tracker) service(idle bool) {
	t.attn.Store(false)
	if idle {
		// No packet. A live source's network time follows the wall clock, as
		// Zeek's does. A paced replay's stays the packets' time, so that
		// timers fire, and records and events carry, the times they have at full
		// speed; only the snapshots follow its clock, so that idle times count on
		// between packets.
		if r := t.wake.Load(); r != nil && r.clock != nil {
			if now, ok := r.clock.idleTime(); ok {
				t.shown = max(t.shown, now)
			}
		} else {
			t.depth++
			t.advance(time.Now().UnixNano())
			t.depth--
			t.settle()
		}
	}
	t.serviceCalls()
	if t.statsDue.Swap(false) {
		t.readCaptureStats()
	}
	if t.feed != nil && t.feed.due.Swap(false) {
		t.publish(false)
	}
}

// readCaptureStats reads the live capture's kernel counters into the stats, and
// runs the Drops handler if the kernel dropped packets since the last read.
func (t *Tracker) readCaptureStats() {
	if t.capture == nil {
		return
	}
	st := t.capture.captureStats()
	more := st.Dropped > t.stats.Capture.Dropped
	t.stats.Capture = st
	if more && t.h.Drops != nil {
		t.depth++
		t.h.Drops(st, time.Unix(0, t.now))
		t.depth--
		t.settle()
	}
}

// serviceCalls runs the calls queued by Do.
func (t *Tracker) serviceCalls() {
	for {
		select {
		case fn := <-t.calls:
			t.depth++
			fn()
			t.depth--
			t.settle()
		default:
			return
		}
	}
}

// ctxCheckEvery is how many packets Run processes between checks of its context.
const ctxCheckEvery = 1024

func (t *Tracker) runSerial(ctx context.Context, src Source) error {
	done := ctx.Done()
	trust, _ := src.(offloadSource)
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			select {
			case <-done:
				t.Flush()
				return ctx.Err()
			default:
			}
		}
		data, ci, link, err := src.ReadPacket()
		if err != nil {
			if err == errWoken {
				select {
				case <-done:
					t.Flush()
					return ctx.Err()
				default:
				}
				t.service(true)
				continue
			}
			return t.finish(err)
		}
		t.packet(data, ci, link, trust != nil && trust.checksumTrusted())
		if t.attn.Load() {
			t.service(false)
		}
	}
}

// finish flushes the table at the end of input and returns Run's result for the
// source's read error.
func (t *Tracker) finish(err error) error {
	t.Flush()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// Pipeline sizes: packets per batch, and batches in flight.
const (
	batchSize    = 256
	batchesAhead = 8
)

// maxFramePackets bounds the packets one frame decodes to: its own, one per tunnel
// level, and a reassembled datagram at each level.
const maxFramePackets = 2 * (maxTunnelDepth + 1)

// batch is a run of decoded packets, and the read error that ended the input after
// them, if any.
type batch struct {
	pkts   [batchSize]packet
	bufs   [batchSize][]byte // copies of the packets' transport data, when payload is kept
	frames [batchSize][]byte // copies of the frames, when frames are kept
	n      int
	err    error
}

// runPipelined is Run with two goroutines: a reader that reads and decodes frames
// into batches of packets (decoding copies what the table needs, so capture buffers
// can be reused at once), and the caller's goroutine, which owns the table and
// processes the batches in order. Batches cycle between the two through channels.
// Only the caller's goroutine touches connections, timers and stats; the decoder is
// immutable. The reader has stopped when runPipelined returns.
//
// woken wakes the owner while it waits for a batch (a paused Replay), to serve calls
// and the Feed; network time stays as it is.
func (t *Tracker) runPipelined(ctx context.Context, src Source, woken <-chan struct{}) error {
	full := make(chan *batch, batchesAhead)
	empty := make(chan *batch, batchesAhead)
	for range batchesAhead {
		empty <- new(batch)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.readBatches(src, empty, full, stop)
	}()
	defer func() {
		close(stop)
		if w, ok := src.(wakeable); ok {
			w.wakeUp() // a paused Replay holds the reader in ReadPacket
		}
		wg.Wait()
	}()

	done := ctx.Done()
	for n := 0; ; {
		var b *batch
		select {
		case b = <-full:
		case <-woken:
			t.service(false)
			continue
		case <-done:
			t.Flush()
			return ctx.Err()
		}
		for i := range b.n {
			if n%ctxCheckEvery == 0 {
				select {
				case <-done:
					t.Flush()
					return ctx.Err()
				default:
				}
			}
			t.handle(&b.pkts[i])
			n++
		}
		if b.err != nil {
			return t.finish(b.err)
		}
		if t.attn.Load() {
			t.service(false)
		}
		empty <- b
	}
}

// readBatches reads and decodes src into batches until a read error, which it
// passes on in the last batch, or until stop is closed.
func (t *Tracker) readBatches(src Source, empty <-chan *batch, full chan<- *batch, stop <-chan struct{}) {
	for {
		var b *batch
		select {
		case b = <-empty:
		case <-stop:
			return
		}
		b.n, b.err = 0, nil
		// A frame decodes to up to maxFramePackets packets, which go in one batch.
		for b.n <= batchSize-maxFramePackets {
			data, ci, link, err := src.ReadPacket()
			if err != nil {
				if err == errWoken {
					// Only runPipelined's return wakes the reader.
					select {
					case <-stop:
						return
					default:
						continue
					}
				}
				b.err = err
				break
			}
			p := &b.pkts[b.n]
			t.dec.frame(data, ci, link, p)
			var frame []byte
			if t.keepFrames.Load() {
				b.frames[b.n] = append(b.frames[b.n][:0], data...)
				frame = b.frames[b.n]
			}
			for {
				p.frame, p.link = frame, link
				if p.l4data != nil {
					// The frame's buffer is reused by the next read: keep a copy of the
					// transport data only if content delivery may want it.
					if t.keepPayload.Load() {
						b.bufs[b.n] = append(b.bufs[b.n][:0], p.l4data...)
						p.l4data = b.bufs[b.n]
					} else {
						p.l4data = nil
					}
				}
				b.n++
				if b.n == batchSize {
					break
				}
				next := &b.pkts[b.n]
				next.ts = p.ts
				if !t.dec.next(next) {
					break
				}
				p = next
			}
		}
		select {
		case full <- b:
		case <-stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}
