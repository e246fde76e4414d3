package tracker

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
)

// Run reads src until it ends or ctx is cancelled, then flushes every connection.
// It returns nil at the end of input, ErrTruncated for a file cut inside a record
// (after flushing), ctx.Err() when cancelled, or the source's read error.
//
// A capture file on a machine with two or more CPUs is read and decoded on a second
// goroutine, ahead of the connection table (see runPipelined); the result is the
// same as reading packet by packet. Other sources are read on the caller's goroutine,
// so that a packet is processed as soon as it is read.
func (t *Tracker) Run(ctx context.Context, src Source) error {
	if fs, ok := src.(*fileSource); ok && fs.regular && runtime.GOMAXPROCS(0) >= 2 {
		return t.runPipelined(ctx, src)
	}
	return t.runSerial(ctx, src)
}

// ctxCheckEvery is how many packets Run processes between checks of its context.
const ctxCheckEvery = 1024

func (t *Tracker) runSerial(ctx context.Context, src Source) error {
	done := ctx.Done()
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
			return t.finish(err)
		}
		t.Packet(data, ci, link)
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

// batch is a run of decoded packets, and the read error that ended the input after
// them, if any.
type batch struct {
	pkts [batchSize]packet
	n    int
	err  error
}

// runPipelined is Run with two goroutines: a reader that reads and decodes frames
// into batches of packets (decoding copies what the table needs, so capture buffers
// can be reused at once), and the caller's goroutine, which owns the table and
// processes the batches in order. Batches cycle between the two through channels.
// Only the caller's goroutine touches connections, timers and stats; the decoder is
// immutable. The reader has stopped when runPipelined returns.
func (t *Tracker) runPipelined(ctx context.Context, src Source) error {
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
		wg.Wait()
	}()

	done := ctx.Done()
	for n := 0; ; {
		var b *batch
		select {
		case b = <-full:
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
		for b.n < batchSize {
			data, ci, link, err := src.ReadPacket()
			if err != nil {
				b.err = err
				break
			}
			t.dec.frame(data, ci, link, &b.pkts[b.n])
			b.n++
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
