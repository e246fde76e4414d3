// Package extract writes the reassembled payload of connections to files, one per
// direction, as Zeek's contents.zeek does: contents_<orig_h>:<orig_p>-<resp_h>:<resp_p>_orig.dat
// and …_resp.dat, IPv6 addresses in square brackets, each hole in a stream written
// as "\n<<gap N>>\n".
//
// It plugs into the tracker through its hook API: Sink returns a tracker.ContentSink
// for a connection and registers a removal hook that closes its files. The tracker
// calls the sink on its own goroutine; the sink only copies the data into a bounded
// queue, and a writer goroutine does the file work, so a slow disk never slows
// capture. What does not fit in the queue is counted and written as a gap marker.
//
// Files are created mode 0600 in a directory created 0700 when absent. A name that
// exists (a file, a directory or a symlink, even a dangling one) is never opened or
// followed: the file gets a numeric suffix instead. Names come only from addresses
// and ports. Caps on the bytes written per connection and in total stop an
// extraction with an Alert; a write error stops that connection's extraction with an
// Alert naming the file; capture goes on.
package extract

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/flowtop/flowtop/tracker"
)

// Config is how an Extractor writes.
type Config struct {
	Dir             string // where files go; created 0700 when absent
	MaxBytesPerConn uint64 // cap on the bytes written for one connection (both files); 0: none
	MaxBytesTotal   uint64 // cap on the bytes written in all; 0: none
	QueueLen        int    // writes waiting for the writer goroutine; 0: DefaultQueueLen
}

// DefaultQueueLen is the writer queue's length when Config.QueueLen is 0.
const DefaultQueueLen = 4096

// DefaultDir is the directory headless extraction writes to by default.
const DefaultDir = "flowtop-contents"

// Alert is a problem with one extraction: a cap reached or a write error. The
// extraction it names has stopped; nothing else is affected.
type Alert struct {
	UID  string
	File string // the file concerned, if any
	Err  error
}

func (a Alert) Error() string {
	if a.File != "" {
		return fmt.Sprintf("extraction of %s stopped: %s: %v", a.UID, a.File, a.Err)
	}
	return fmt.Sprintf("extraction of %s stopped: %v", a.UID, a.Err)
}

// Errors reported in alerts when a cap is reached.
var (
	ErrConnCap  = errors.New("per-connection byte cap reached")
	ErrTotalCap = errors.New("total byte cap reached")
)

// Stats counts an Extractor's work.
type Stats struct {
	Files      uint64 // files created
	Bytes      uint64 // payload bytes written
	LostBytes  uint64 // bytes the queue could not take, written as gaps
	Alerts     uint64
	Extracting int64  // connections being extracted now
	Conns      uint64 // connections extraction was started for
}

// Extractor writes the content of the connections it was given sinks for.
type Extractor struct {
	cfg    Config
	ops    chan op
	alerts func(Alert)
	wg     sync.WaitGroup

	// Sinks closed while the queue was full wait here; the writer closes them once
	// it has written everything queued before (wake tells it to look).
	mu      sync.Mutex
	pending []*Sink
	wake    chan struct{}

	total atomic.Uint64
	stats struct {
		files, bytes, lost, alerts, conns atomic.Uint64
		extracting                        atomic.Int64
	}
	dirOnce sync.Once
	dirErr  error
}

// New starts an Extractor. alerts, if not nil, is called on the writer goroutine for
// each Alert; it must not block for long.
func New(cfg Config, alerts func(Alert)) *Extractor {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	x := &Extractor{cfg: cfg, ops: make(chan op, cfg.QueueLen), alerts: alerts, wake: make(chan struct{}, 1)}
	x.wg.Add(1)
	go x.writer()
	return x
}

// Stats returns the Extractor's counters.
func (x *Extractor) Stats() Stats {
	return Stats{
		Files:      x.stats.files.Load(),
		Bytes:      x.stats.bytes.Load(),
		LostBytes:  x.stats.lost.Load(),
		Alerts:     x.stats.alerts.Load(),
		Extracting: x.stats.extracting.Load(),
		Conns:      x.stats.conns.Load(),
	}
}

// Dir returns the directory the Extractor writes its files into.
func (x *Extractor) Dir() string { return x.cfg.Dir }

// Close waits until every queued write is done and every file is closed. Call it
// after the tracker has stopped (its Run flushed and removed every connection).
func (x *Extractor) Close() {
	close(x.ops)
	x.wg.Wait()
}

// opKind is what the writer goroutine does.
type opKind uint8

const (
	opData opKind = iota
	opGap
	opClose
	opFrame // a frame for a pcapng sink
)

type op struct {
	kind opKind
	s    *Sink
	dir  int     // 0 orig, 1 resp
	data *[]byte // a buffer from bufPool, returned once written
	n    uint64
	ci   gopacket.CaptureInfo // opFrame
	link layers.LinkType      // opFrame
}

// Sink is the extraction of one connection. It implements tracker.ContentSink.
type Sink struct {
	x       *Extractor
	uid     string
	names   [2]string // file base names
	stopped atomic.Bool
	lost    [2]uint64 // missing or queue-refused bytes, not yet queued as a gap (tracker goroutine)
	final   [2]uint64 // lost bytes handed to the writer with the close

	// writer goroutine state
	files   [2]*os.File
	paths   [2]string
	written uint64
	closed  bool

	// A pcapng sink (PacketSink) writes frames into one file, names[0].
	pcap   bool
	ng     *pcapgo.NgWriter
	ifaces map[layers.LinkType]int

	pmu      sync.Mutex // guards progress, which the writer updates for other readers
	progress Progress
}

// Progress is what a Sink has written so far.
type Progress struct {
	Files   [2]string // paths of the originator's and the responder's file; "" until created
	Written [2]uint64 // bytes written to each, gap markers included
	Done    bool      // the extraction has ended: closed, detached or stopped by an alert
	// A pcapng sink's frames written (their bytes in Written[0]) and frames the
	// queue could not take.
	Packets, Lost uint64
}

// Progress returns what s has written so far. Any goroutine may call it.
func (s *Sink) Progress() Progress {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.progress
}

// FileNames returns Zeek's file names for a connection's two directions.
func FileNames(id tracker.ConnID) (orig, resp string) {
	base := "contents_" + id.Orig() + "-" + id.Resp()
	return base + "_orig.dat", base + "_resp.dat"
}

// Sink returns the sink for connection c and registers a removal hook on it that
// closes the files. Call it on the tracker's goroutine, e.g. from
// tracker.Handlers.Content, then pass the sink to the tracker.
func (x *Extractor) Sink(c tracker.Conn) *Sink {
	s := &Sink{x: x, uid: c.UID()}
	s.names[0], s.names[1] = FileNames(c.ID())
	x.stats.extracting.Add(1)
	x.stats.conns.Add(1)
	c.RegisterRemovalHook(tracker.NewRemovalHook(func(*tracker.Record) { s.Close() }))
	return s
}

// Data implements tracker.ContentSink: it queues a copy of data.
func (s *Sink) Data(isOrig bool, data []byte) {
	if s.stopped.Load() {
		return
	}
	d := dirIndex(isOrig)
	// Lost bytes come first: while their gap marker cannot be queued, the data
	// after them cannot be either.
	if s.flushLost(d); s.lost[d] == 0 {
		buf := bufPool.Get().(*[]byte)
		*buf = append((*buf)[:0], data...)
		if s.send(op{kind: opData, s: s, dir: d, data: buf}) {
			return
		}
		bufPool.Put(buf)
	}
	s.lost[d] += uint64(len(data))
	s.x.stats.lost.Add(uint64(len(data)))
}

// bufPool recycles the copies of data on their way to the writer, so that an
// extraction does not allocate per segment.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// Gap implements tracker.ContentSink. Adjacent gaps (a hole reported piece by piece
// as acknowledgements pass it) become one marker, written before the next data.
func (s *Sink) Gap(isOrig bool, n uint64) {
	if s.stopped.Load() {
		return
	}
	s.lost[dirIndex(isOrig)] += n
}

// flushLost queues the bytes lost so far in direction d as one gap.
func (s *Sink) flushLost(d int) {
	if s.lost[d] > 0 && s.send(op{kind: opGap, s: s, dir: d, n: s.lost[d]}) {
		s.lost[d] = 0
	}
}

// Close stops the extraction; the writer closes its files after writing what was
// queued before, and a last gap marker for anything lost. It never blocks. Closing
// twice is harmless.
func (s *Sink) Close() {
	if s.stopped.Swap(true) {
		return
	}
	s.final, s.lost = s.lost, [2]uint64{}
	if s.send(op{kind: opClose, s: s}) {
		return
	}
	x := s.x
	x.mu.Lock()
	x.pending = append(x.pending, s)
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// send queues o without blocking.
func (s *Sink) send(o op) bool {
	select {
	case s.x.ops <- o:
		return true
	default:
		return false
	}
}

func dirIndex(isOrig bool) int {
	if isOrig {
		return 0
	}
	return 1
}

// writer runs the queued operations, and closes the pending sinks whenever the
// queue is empty (so after everything they queued).
func (x *Extractor) writer() {
	defer x.wg.Done()
	for {
		var o op
		var ok bool
		select {
		case o, ok = <-x.ops:
		default:
			x.closePending()
			select {
			case o, ok = <-x.ops:
			case <-x.wake:
				continue
			}
		}
		if !ok {
			x.closePending()
			return
		}
		x.run(o)
	}
}

func (x *Extractor) run(o op) {
	if o.data != nil {
		defer bufPool.Put(o.data)
	}
	s := o.s
	if s.closed {
		return
	}
	switch o.kind {
	case opData:
		x.write(s, o.dir, *o.data)
	case opGap:
		x.gap(s, o.dir, o.n)
	case opClose:
		x.finish(s)
	case opFrame:
		x.writeFrame(s, o)
	}
}

func (x *Extractor) gap(s *Sink, d int, n uint64) {
	x.write(s, d, []byte("\n<<gap "+strconv.FormatUint(n, 10)+">>\n"))
}

// finish writes a closed sink's last gaps and closes its files.
func (x *Extractor) finish(s *Sink) {
	for d, n := range s.final {
		if n > 0 {
			x.gap(s, d, n)
		}
	}
	x.closeSink(s, nil, "")
}

func (x *Extractor) closePending() {
	x.mu.Lock()
	p := x.pending
	x.pending = nil
	x.mu.Unlock()
	for _, s := range p {
		x.finish(s)
	}
}

// write appends b to the file of direction d, creating it first, within the caps.
func (x *Extractor) write(s *Sink, d int, b []byte) {
	if c := x.cfg.MaxBytesPerConn; c > 0 && s.written+uint64(len(b)) > c {
		b = b[:c-s.written]
		x.writeSome(s, d, b)
		x.closeSink(s, ErrConnCap, "")
		return
	}
	if c := x.cfg.MaxBytesTotal; c > 0 {
		if t := x.total.Load(); t+uint64(len(b)) > c {
			x.writeSome(s, d, b[:c-t])
			x.closeSink(s, ErrTotalCap, "")
			return
		}
	}
	x.writeSome(s, d, b)
}

func (x *Extractor) writeSome(s *Sink, d int, b []byte) {
	if s.closed || len(b) == 0 {
		return
	}
	f := s.files[d]
	if f == nil {
		var err error
		if f, err = x.create(s, d); err != nil {
			x.closeSink(s, err, filepath.Join(x.cfg.Dir, s.names[d]))
			return
		}
	}
	n, err := f.Write(b)
	s.pmu.Lock()
	s.progress.Written[d] += uint64(n)
	s.pmu.Unlock()
	s.written += uint64(n)
	x.total.Add(uint64(n))
	x.stats.bytes.Add(uint64(n))
	if err != nil {
		x.closeSink(s, err, s.paths[d])
	}
}

// maxSuffix bounds the numbered names tried when a file name exists.
const maxSuffix = 1000

// create makes the file of direction d, never opening an existing name.
func (x *Extractor) create(s *Sink, d int) (*os.File, error) {
	x.dirOnce.Do(func() {
		if err := os.MkdirAll(x.cfg.Dir, 0o700); err != nil {
			x.dirErr = err
		}
	})
	if x.dirErr != nil {
		return nil, x.dirErr
	}
	name := s.names[d]
	ext := filepath.Ext(name)
	stem := name[:len(name)-len(ext)]
	for i := 0; i < maxSuffix; i++ {
		if i > 0 {
			name = stem + "-" + strconv.Itoa(i) + ext
		}
		path := filepath.Join(x.cfg.Dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.files[d], s.paths[d] = f, path
		s.pmu.Lock()
		s.progress.Files[d] = path
		s.pmu.Unlock()
		x.stats.files.Add(1)
		return f, nil
	}
	return nil, fmt.Errorf("%s: %d names with suffixes exist already", name, maxSuffix)
}

// closeSink closes s's files; with an error it also stops the extraction and
// reports an Alert.
func (x *Extractor) closeSink(s *Sink, cause error, file string) {
	if s.closed {
		return
	}
	s.closed = true
	s.stopped.Store(true)
	s.pmu.Lock()
	s.progress.Done = true
	s.pmu.Unlock()
	x.stats.extracting.Add(-1)
	if s.ng != nil {
		if err := s.ng.Flush(); err != nil && cause == nil {
			cause, file = err, s.paths[0]
		}
	}
	for d, f := range s.files {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil && cause == nil {
			cause, file = err, s.paths[d]
		}
	}
	if cause != nil {
		x.stats.alerts.Add(1)
		if x.alerts != nil {
			x.alerts(Alert{UID: s.uid, File: file, Err: cause})
		}
	}
}

// Paths returns the files written so far for the sink's two directions ("" when a
// direction had no data). Read it only after the Extractor is closed.
func (s *Sink) Paths() (orig, resp string) { return s.paths[0], s.paths[1] }

// Detach stops extracting connection c into s (for a user who unmarks it): the
// tracker stops delivering, and the files are closed after what was queued. Call it
// on the tracker's goroutine (e.g. through tracker.Tracker.Do).
func (s *Sink) Detach(c tracker.Conn) {
	c.SetContentSink(nil)
	s.Close()
}
