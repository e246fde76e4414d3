package ui

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/tracker"
)

// Extraction is the TUI's control of content extraction: the connections being
// extracted and whether every new connection is. It plugs into the tracker through
// Content (a tracker.Handlers.Content) and the x key's calls through Tracker.Do, so
// all its sink changes happen on the tracker's goroutine; the UI only reads.
type Extraction struct {
	x       *extract.Extractor
	all     atomic.Bool
	sinks   sync.Map // uid → *extract.Sink
	packets sync.Map // uid → *extract.Sink: the w key's pcapng files
}

// togglePackets starts writing c's packets into a pcapng file, or stops it if
// it is being written. It returns whether it is on now, the file's name, and
// the packets c had when marked. Call it on the tracker's goroutine.
func (e *Extraction) togglePackets(c tracker.Conn) (on bool, name string, before uint64, written uint64) {
	uid := c.UID()
	if v, ok := e.packets.Load(uid); ok {
		s := v.(*extract.Sink)
		if p := s.Progress(); !p.Done {
			c.SetPacketSink(nil) // closes it
			e.packets.Delete(uid)
			return false, p.Files[0], 0, p.Packets
		}
	}
	s := e.x.PacketSink(c)
	n := c.Counters()
	c.SetPacketSink(s)
	e.packets.Store(uid, s)
	return true, extract.PcapName(uid, c.ID()), n.OrigPkts + n.RespPkts, 0
}

// NewExtraction controls extraction through x; with all set, every new connection
// is extracted from the start (flowtop --extract all).
func NewExtraction(x *extract.Extractor, all bool) *Extraction {
	e := &Extraction{x: x}
	e.all.Store(all)
	return e
}

// Content is a tracker.Handlers.Content: while extraction of all new connections is
// on, it starts one for c.
func (e *Extraction) Content(c tracker.Conn) tracker.ContentSink {
	if !e.all.Load() {
		return nil
	}
	return e.start(c)
}

func (e *Extraction) start(c tracker.Conn) *extract.Sink {
	s := e.x.Sink(c)
	e.sinks.Store(c.UID(), s)
	return s
}

// toggle starts or stops extracting c, on the tracker's goroutine, and reports
// whether it is extracted now.
func (e *Extraction) toggle(c tracker.Conn) bool {
	uid := c.UID()
	if s := e.sink(uid); s != nil && !s.Progress().Done {
		s.Detach(c)
		return false
	}
	return c.SetContentSink(e.start(c))
}

// sink returns the latest sink of the connection with uid, or nil.
func (e *Extraction) sink(uid string) *extract.Sink {
	if s, ok := e.sinks.Load(uid); ok {
		return s.(*extract.Sink)
	}
	return nil
}

// active reports whether the connection with uid is being extracted.
func (e *Extraction) active(uid string) bool {
	s := e.sink(uid)
	return s != nil && !s.Progress().Done
}

// setAll turns the extraction of all new connections on or off.
func (e *Extraction) setAll(on bool) { e.all.Store(on) }

// All reports whether every new connection is extracted.
func (e *Extraction) All() bool { return e.all.Load() }

// Dir returns the directory the content files go to, with a trailing separator.
func (e *Extraction) Dir() string {
	d := e.x.Dir()
	if !strings.HasSuffix(d, string(filepath.Separator)) {
		d += string(filepath.Separator)
	}
	return d
}

// Stats returns the extractor's counters.
func (e *Extraction) Stats() extract.Stats { return e.x.Stats() }
