package tracker

import (
	"context"
	"errors"
	"io"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Stats counts what the tracker has seen. Read it only from the owner goroutine,
// or after Run returned.
type Stats struct {
	Packets   uint64 // packets read from the source
	Bytes     uint64 // wire bytes of those packets
	Malformed uint64 // packets whose headers could not be decoded
	Skipped   uint64 // packets with no IP layer, or dropped by Zeek's IP checks
	Conns     uint64 // connections created
	Active    int    // connections in the table now
}

// Tracker owns the connection table. It is not safe for concurrent use: one goroutine
// (the one calling Run, or Packet and Flush) owns it and every connection in it.
type Tracker struct {
	cfg    Config
	remove func(*Record)
	stats  Stats
}

// New returns a Tracker with cfg; removed connections are handed to remove (on the
// owner goroutine; the Record must not be retained after remove returns unless copied).
func New(cfg Config, remove func(*Record)) *Tracker {
	return &Tracker{cfg: cfg, remove: remove}
}

// Stats returns the tracker's counters.
func (t *Tracker) Stats() Stats { return t.stats }

// Packet processes one captured packet of the given link type. data is not retained.
func (t *Tracker) Packet(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) {
	t.stats.Packets++
	t.stats.Bytes += uint64(ci.Length)
}

// Flush removes every connection as at end of input.
func (t *Tracker) Flush() {}

// Run reads src until it ends or ctx is cancelled, then flushes every connection.
// It returns nil at the end of input, ErrTruncated for a file cut inside a record
// (after flushing), ctx.Err() when cancelled, or the source's read error.
func (t *Tracker) Run(ctx context.Context, src Source) error {
	done := ctx.Done()
	for n := 0; ; n++ {
		if n&1023 == 0 {
			select {
			case <-done:
				t.Flush()
				return ctx.Err()
			default:
			}
		}
		data, ci, link, err := src.ReadPacket()
		if err != nil {
			t.Flush()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		t.Packet(data, ci, link)
	}
}
