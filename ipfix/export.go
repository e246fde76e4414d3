package ipfix

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Target is where an Exporter sends, parsed from a URL such as
// udp://192.0.2.1:4739?biflow=false&domain=7.
type Target struct {
	Network string // "udp" or "tcp"
	Addr    string // host:port
	Encoder EncoderConfig
}

// ParseTarget parses udp://HOST:PORT or tcp://HOST:PORT with the optional
// query keys biflow (true, the default, or false for two uniflow records per
// connection), domain (the observation domain ID, default 1) and pen (the
// enterprise number of flowtop's elements, default DefaultPEN).
func ParseTarget(s string) (Target, error) {
	var t Target
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return t, fmt.Errorf("%q: want udp://HOST:PORT or tcp://HOST:PORT", s)
	}
	if u.Scheme != "udp" && u.Scheme != "tcp" {
		return t, fmt.Errorf("%q: the transport is udp or tcp, not %q", s, u.Scheme)
	}
	if u.Port() == "" {
		return t, fmt.Errorf("%q: a port is needed (IPFIX's is 4739)", s)
	}
	if u.Path != "" && u.Path != "/" {
		return t, fmt.Errorf("%q: unexpected path %q", s, u.Path)
	}
	t.Network, t.Addr = u.Scheme, u.Host
	t.Encoder.Domain = 1
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "biflow":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return t, fmt.Errorf("%q: biflow=%q: want true or false", s, v)
			}
			t.Encoder.Uniflow = !b
		case "domain":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return t, fmt.Errorf("%q: domain=%q: want 0 to 4294967295", s, v)
			}
			t.Encoder.Domain = uint32(n)
		case "pen":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return t, fmt.Errorf("%q: pen=%q: want a private enterprise number", s, v)
			}
			t.Encoder.PEN = uint32(n)
		default:
			return t, fmt.Errorf("%q: unknown option %q (biflow, domain, pen)", s, k)
		}
	}
	return t, nil
}

// String returns the target as a URL.
func (t Target) String() string { return t.Network + "://" + t.Addr }

// Exporter tuning.
const (
	// QueueLen bounds the flows waiting to be sent; when the collector is slow
	// or down, more are dropped and counted, never waited for.
	QueueLen = 1 << 16
	// TemplateEvery is how often templates are resent over UDP (RFC 7011 §8.4);
	// TemplateEveryMessages bounds the messages between two resends.
	TemplateEvery         = 30 * time.Second
	TemplateEveryMessages = 64
	// UDPMessagesPerSecond paces UDP sends, so that a burst (a file read at full
	// speed) does not overrun the collector's socket buffer: 10,000 messages a
	// second are some 400,000 records.
	UDPMessagesPerSecond = 10000
	// flushEvery bounds how long a flow waits for its message to fill.
	flushEvery = 200 * time.Millisecond
	// closeTimeout bounds how long Close waits for a TCP collector.
	closeTimeout = 3 * time.Second
)

// ExportStats counts an Exporter's work.
type ExportStats struct {
	Flows    uint64 // flows sent
	Messages uint64 // messages sent
	Dropped  uint64 // flows dropped: the queue was full or the collector unreachable
	Errors   uint64 // sends that failed
}

// Exporter sends flows to a collector on its own goroutine. Export never
// blocks. Warnings (the collector unreachable, back again) go to the warn
// function given to NewExporter, once per change.
type Exporter struct {
	t    Target
	enc  *Encoder
	ch   chan Flow
	warn func(string)
	done chan struct{}
	stop chan struct{}
	once sync.Once

	conn     net.Conn
	down     bool // the last send failed; warned
	sentTmpl time.Time
	msgsTmpl int
	dialAt   time.Time // TCP: no new dial before
	backoff  time.Duration
	pace     time.Time // UDP: the earliest time of the next send

	flows, msgs, dropped, errs atomic.Uint64
}

// NewExporter starts an Exporter. A UDP target's address is resolved at once
// (an error here is a bad address); a TCP collector is connected to in the
// background, and again after each failure.
func NewExporter(t Target, warn func(string)) (*Exporter, error) {
	if warn == nil {
		warn = func(string) {}
	}
	x := &Exporter{t: t, enc: NewEncoder(t.Encoder), ch: make(chan Flow, QueueLen), warn: warn,
		done: make(chan struct{}), stop: make(chan struct{})}
	if t.Network == "udp" {
		c, err := net.Dial("udp", t.Addr)
		if err != nil {
			return nil, fmt.Errorf("export to %s: %w", t, err)
		}
		x.conn = c
	} else if _, _, err := net.SplitHostPort(t.Addr); err != nil {
		return nil, fmt.Errorf("export to %s: %w", t, err)
	}
	go x.run()
	return x, nil
}

// Export queues f. It reports false when the queue was full and f dropped.
func (x *Exporter) Export(f Flow) bool {
	select {
	case x.ch <- f:
		return true
	default:
		x.dropped.Add(1)
		return false
	}
}

// Close sends what is queued (waiting at most a few seconds for a TCP
// collector) and stops the Exporter. It is idempotent.
func (x *Exporter) Close() {
	x.once.Do(func() { close(x.stop) })
	<-x.done
}

// Stats returns the counts so far.
func (x *Exporter) Stats() ExportStats {
	return ExportStats{Flows: x.flows.Load(), Messages: x.msgs.Load(), Dropped: x.dropped.Load(), Errors: x.errs.Load()}
}

func (x *Exporter) run() {
	defer close(x.done)
	defer func() {
		if x.conn != nil {
			x.conn.Close()
		}
	}()
	batch := make([]Flow, 0, 256)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case f := <-x.ch:
			batch = append(batch, f)
			if len(batch) == cap(batch) {
				x.send(batch, false)
				batch = batch[:0]
			}
		case <-tick.C:
			x.send(batch, false)
			batch = batch[:0]
		case <-x.stop:
			deadline := time.Now().Add(closeTimeout)
			for {
				select {
				case f := <-x.ch:
					batch = append(batch, f)
					if len(batch) < cap(batch) {
						continue
					}
				default:
				}
				if len(batch) == 0 {
					return
				}
				if time.Now().After(deadline) || !x.connect(true) {
					x.dropped.Add(uint64(len(batch) + len(x.ch)))
					return
				}
				x.send(batch, true)
				batch = batch[:0]
			}
		}
	}
}

// send encodes and writes flows; those it cannot send are counted as dropped.
func (x *Exporter) send(flows []Flow, closing bool) {
	if len(flows) == 0 {
		return
	}
	if !x.connect(closing) {
		x.dropped.Add(uint64(len(flows)))
		return
	}
	now := time.Now()
	tmpl := x.sentTmpl.IsZero() || x.t.Network == "udp" &&
		(now.Sub(x.sentTmpl) >= TemplateEvery || x.msgsTmpl >= TemplateEveryMessages)
	if tmpl {
		x.sentTmpl, x.msgsTmpl = now, 0
	}
	sent := 0
	err := x.enc.Encode(flows, now, tmpl, func(msg []byte) error {
		if x.t.Network == "tcp" {
			x.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		} else {
			if d := time.Until(x.pace); d > 0 {
				time.Sleep(d)
			}
			// A burst of up to 10 ms worth is sent at once; beyond, one message
			// per 1/UDPMessagesPerSecond.
			if floor := time.Now().Add(-10 * time.Millisecond); x.pace.Before(floor) {
				x.pace = floor
			}
			x.pace = x.pace.Add(time.Second / UDPMessagesPerSecond)
		}
		if _, err := x.conn.Write(msg); err != nil {
			return err
		}
		x.msgs.Add(1)
		x.msgsTmpl++
		sent++
		return nil
	})
	if err != nil && !errors.Is(err, ErrTooLong) {
		x.errs.Add(1)
		x.dropped.Add(uint64(len(flows)))
		x.failed(err)
		return
	}
	x.flows.Add(uint64(len(flows)))
	if x.down {
		x.down = false
		x.warn(fmt.Sprintf("export to %s: the collector takes records again", x.t))
	}
}

// connect makes sure a TCP collector is connected, redialling with backoff; a
// new connection gets the templates first.
func (x *Exporter) connect(closing bool) bool {
	if x.conn != nil {
		return true
	}
	if now := time.Now(); now.Before(x.dialAt) && !closing {
		return false
	}
	c, err := net.DialTimeout("tcp", x.t.Addr, closeTimeout)
	if err != nil {
		x.backoff = min(max(2*x.backoff, time.Second), 30*time.Second)
		x.dialAt = time.Now().Add(x.backoff)
		x.failed(err)
		return false
	}
	x.conn, x.backoff, x.sentTmpl = c, 0, time.Time{}
	return true
}

// failed warns once per outage; a TCP connection is dropped for a redial.
func (x *Exporter) failed(err error) {
	if x.t.Network == "tcp" && x.conn != nil {
		x.conn.Close()
		x.conn = nil
		x.dialAt = time.Now().Add(time.Second)
	}
	if !x.down {
		x.down = true
		x.warn(fmt.Sprintf("export to %s: %v; records are dropped until it answers", x.t, err))
	}
}
