// Command flowtop is top for network connections: it tracks TCP, UDP and ICMP
// connections with Zeek's conn.log semantics, live from an interface or from a
// pcap/pcapng file, and writes a Zeek-compatible conn.log.
//
//	flowtop [-i IFACE|any | -r FILE [--speed max|N]] [-f EXPR] [-s SNAPLEN] [--buffer SIZE] [--no-promisc]
//	        [-Z USER] [-C] [--config FILE] [--theme NAME] [--headless] [-w FILE] [--json]
//	        [--events FILE] [--extract all] [--extract-dir DIR] [--export URL [--active-timeout D]] [EXPR]
//
// EXPR is a capture filter in tcpdump's syntax, given with -f or as the trailing
// arguments.
//
// Without --headless it runs the interactive view (package ui); -w then writes
// conn.log only when given.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowtop/flowtop/config"
	"github.com/flowtop/flowtop/connlog"
	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/ipfix"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/tracker/pcapfilter"
	"github.com/flowtop/flowtop/units"
)

// version is stamped by the Makefile (-ldflags "-X main.version=...").
var version = "dev"

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// options are the parsed command line.
type options struct {
	iface, read, configPath, write string
	events, extract, extractDir    string
	theme, speed                   string
	filter, user                   string         // -f (or the trailing arguments), -Z
	noProcess                      bool           // --no-process
	export                         string         // --export URL
	collect                        string         // --collect URL
	pcapDir                        string         // --pcap-dir DIR
	activeTimeout                  time.Duration  // --active-timeout; 0: the default
	compiled                       tracker.Filter // filter, parsed with the flags; nil for none
	loadedTheme                    *themes.Theme  // --theme, loaded with the flags; nil for none
	snaplen, buffer                int            // -s, --buffer; 0: the default
	ignoreChecksums, headless      bool
	json, verbose, showVersion     bool
	noPromisc                      bool
	writeSet                       bool // -w was given
}

// usage is the synopsis printed by -h.
const usage = "usage: flowtop [-i IFACE|any | -r FILE [--speed max|N]] [-f EXPR] [-s SNAPLEN] [--buffer SIZE] [--no-promisc] [-Z USER] [-C] [--config FILE] [--theme NAME] [--headless] [-w FILE] [--json] [--events FILE] [--extract all] [--extract-dir DIR] [--export URL [--active-timeout D]] [EXPR]\n"

func main() {
	// A closed pipe on standard output (flowtop ... | head) is a write error that
	// ends the session with one line, not a silent death by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("flowtop", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by run; -h prints usage
	fs.StringVar(&o.iface, "i", "", "capture live on `IFACE`, or on every interface with any (default: the interface of the default route)")
	fs.StringVar(&o.read, "r", "", "read packets from a pcap or pcapng `FILE` (- for standard input)")
	fs.StringVar(&o.filter, "f", "", "capture filter `EXPR` in tcpdump's syntax, e.g. 'tcp port 443 or udp' (or give it as the trailing arguments)")
	fs.Var(snaplenFlag{&o.snaplen}, "s", "keep at most `SNAPLEN` bytes of each live packet (default 262144)")
	fs.Var(snaplenFlag{&o.snaplen}, "snaplen", "same as -s")
	fs.Var(bufferFlag{&o.buffer}, "buffer", fmt.Sprintf("kernel ring buffer `SIZE` for a live capture, e.g. 64MiB (default %dMiB)", tracker.DefaultBuffer>>20))
	fs.BoolVar(&o.noPromisc, "no-promisc", false, "do not put the interface into promiscuous mode")
	fs.BoolVar(&o.noPromisc, "p", false, "same as --no-promisc (as tcpdump -p)")
	fs.BoolFunc("promisc", "put the interface into promiscuous mode (the default)", func(string) error { o.noPromisc = false; return nil })
	fs.StringVar(&o.user, "Z", "", "after opening the capture, drop privileges and run as `USER`")
	fs.BoolVar(&o.ignoreChecksums, "C", false, "ignore checksums (like zeek -C)")
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` (default: $XDG_CONFIG_HOME/flowtop/config.toml if present)")
	fs.BoolVar(&o.noProcess, "no-process", false, "do not name the local processes behind live connections")
	fs.StringVar(&o.export, "export", "", "send every connection as IPFIX to a collector at `URL`: udp://HOST:PORT or tcp://HOST:PORT (?biflow=false for two uniflow records, &domain=N, &pen=N)")
	fs.StringVar(&o.pcapDir, "pcap-dir", "", "with --headless --extract all, also write each connection's packets as a pcapng file into `DIR`")
	fs.StringVar(&o.collect, "collect", "", "receive NetFlow v5, v9 and IPFIX from exporters at `URL` (udp://ADDR:PORT, or tcp://ADDR:PORT for IPFIX) instead of capturing packets")
	fs.DurationVar(&o.activeTimeout, "active-timeout", 0, "with --export, send a record of a long-lived connection every `DURATION` of network time (default 60s)")
	fs.BoolVar(&o.headless, "headless", false, "no user interface: write each connection's record when it is removed")
	fs.StringVar(&o.write, "w", "-", "write conn.log to `FILE` (- for standard output)")
	fs.BoolVar(&o.json, "json", false, "write JSON lines instead of Zeek's TSV")
	fs.StringVar(&o.events, "events", "", "write threshold crossings and removals as JSON lines to `FILE` (- for standard output)")
	fs.StringVar(&o.extract, "extract", "", "extract content: `all` writes every connection's streams to files")
	fs.StringVar(&o.extractDir, "extract-dir", "", "directory for extracted content (default: [extract] dir, else ./"+extract.DefaultDir+")")
	fs.StringVar(&o.theme, "theme", "", "colour theme `NAME`: dark, light, high-contrast, mono, or a file in $XDG_CONFIG_HOME/flowtop/themes (default: [ui] theme, else dark)")
	fs.StringVar(&o.speed, "speed", "", "replay speed of -r: `max` (default) or N times real time, e.g. 1, 10, 0.5")
	fs.BoolVar(&o.verbose, "v", false, "print a summary on standard error at exit")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { o.writeSet = o.writeSet || f.Name == "w" })
	if fs.NArg() > 0 {
		// tcpdump's convention: the arguments after the options are the filter.
		if o.filter != "" {
			return nil, fmt.Errorf("unexpected argument %q: the filter was given with -f", fs.Arg(0))
		}
		o.filter = strings.Join(fs.Args(), " ")
	}
	if o.iface != "" && o.read != "" {
		return nil, errors.New("-i and -r cannot be used together")
	}
	if o.collect != "" {
		if o.iface != "" || o.read != "" {
			return nil, errors.New("--collect receives flow records instead of packets: it cannot be used with -i or -r")
		}
		if _, _, err := ipfix.ParseListen(o.collect); err != nil {
			return nil, fmt.Errorf("--collect %v", err)
		}
	}
	if o.speed != "" {
		if o.read == "" {
			return nil, errors.New("--speed applies to -r only")
		}
		if _, err := config.ParseSpeed(o.speed); err != nil {
			return nil, fmt.Errorf("--speed: %v", err)
		}
	}
	if o.activeTimeout < 0 || o.activeTimeout > 0 && o.activeTimeout < time.Second {
		return nil, fmt.Errorf("--active-timeout %v: want 1s or more", o.activeTimeout)
	}
	if o.export != "" {
		if _, err := ipfix.ParseTarget(o.export); err != nil {
			return nil, fmt.Errorf("--export %v", err)
		}
	}
	if o.pcapDir != "" && (!o.headless || o.extract != "all") {
		return nil, errors.New("--pcap-dir goes with --headless --extract all (in the view, w writes a connection's packets)")
	}
	if o.extract != "" && o.extract != "all" {
		return nil, fmt.Errorf("--extract %q: the only mode is all", o.extract)
	}
	// A filter or a theme that cannot be used is a usage error, found before any
	// capture starts.
	if o.filter != "" {
		f, err := pcapfilter.Parse(o.filter)
		if err != nil {
			return nil, err
		}
		o.compiled = f
	}
	if o.theme != "" {
		th, err := themes.Load(o.theme, themes.UserDir())
		if err != nil {
			return nil, fmt.Errorf("--theme: %v", err)
		}
		o.loadedTheme = th
	}
	return &o, nil
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) (status int) {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "flowtop: %v (see flowtop -h)\n", err)
		return exitUsage
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "flowtop", version)
		return exitOK
	}
	defer func() {
		// A bug must not end in a stack trace; say it in one line.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "flowtop: internal error: %v\n", r)
			status = exitError
		}
	}()
	session := headless
	if !o.headless {
		session = interactive
	}
	if err := session(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "flowtop: %v\n", err)
		return exitError
	}
	return exitOK
}

// trackerConfig builds the tracker configuration from the config file and flags, and
// returns the file's configuration too (empty when there is none).
func trackerConfig(o *options) (tracker.Config, *config.Config, error) {
	var cfg tracker.Config
	file := new(config.Config)
	path := o.configPath
	if path == "" {
		if p := config.DefaultPath(); p != "" {
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path != "" {
		c, err := config.Load(path)
		if err != nil {
			return cfg, nil, err
		}
		cfg = c.TrackerConfig(cfg)
		file = c
	}
	if o.ignoreChecksums {
		cfg.IgnoreChecksums = true
	}
	applyMemoryBudget(&cfg, file)
	return cfg, file, nil
}

// connTableBytes is what one tracked connection costs the heap (connection, TCP
// state, table entry, timer: 377 bytes measured, README Performance), rounded
// up: what the table's share of the budget is divided by. The other half of
// the budget is the garbage collector's headroom and everything else (on a
// flood of 3M unique SYNs the process peaks at 660 MiB of its 1 GiB).
const connTableBytes = 400

// viewRowBytes is what a connection held by the interactive view costs (its
// copy of the record, strings, index and GC headroom), measured on a flood of
// unique SYNs: what the view's share of the budget is divided by.
const viewRowBytes = 1500

// viewFlows is how many connections the view may hold: a quarter of the
// memory budget; 0 (no bound) when the budget is unbounded.
func viewFlows(file *config.Config) int {
	return int(min(file.MemoryBudget()/4/viewRowBytes, math.MaxInt32))
}

// applyMemoryBudget bounds the process by [limits] memory (default 1 GiB): the
// Go runtime's soft limit, and, unless [tracker] max_connections says
// otherwise, a connection table of half the budget. A full table evicts (every
// evicted connection is still written, reason eviction).
func applyMemoryBudget(cfg *tracker.Config, file *config.Config) {
	budget := file.MemoryBudget()
	if budget == 0 {
		return
	}
	debug.SetMemoryLimit(int64(min(budget, math.MaxInt64)))
	if !file.Defined("tracker", "max_connections") {
		cfg.MaxConns = int(min(budget/2/connTableBytes, math.MaxInt32))
	}
}

// headless tracks the source and writes each removed connection's record.
func headless(o *options, stdout, stderr io.Writer) error {
	// SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped SSH session) end the
	// capture, from the start: the tracker then flushes every connection, once the
	// processes of the last ones are in.
	sig, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	cfg, file, err := trackerConfig(o)
	if err != nil {
		return err
	}
	src, name, resolver, msgs, err := openCapture(o)
	if err != nil {
		return err
	}
	defer src.Close()
	for _, m := range msgs {
		fmt.Fprintf(stderr, "flowtop: %s\n", m)
	}

	out, err := openOutputs(o, file, stdout, true, false)
	if err != nil {
		return err
	}
	defer out.closeFiles()
	var h tracker.Handlers
	out.handle(&h)
	if o.extract == "all" {
		ex := out.startExtractor(o, file, func(a extract.Alert) { fmt.Fprintf(stderr, "flowtop: warning: %v\n", a) })
		cfg.KeepPayload = true
		h.Content = func(c tracker.Conn) tracker.ContentSink { return ex.Sink(c) }
	}
	if o.pcapDir != "" {
		px := out.startPcap(o, file, func(a extract.Alert) { fmt.Fprintf(stderr, "flowtop: warning: %v\n", a) })
		// A connection's sink is set after its first packet: the recent-packet
		// ring hands that one over.
		cfg.RecentBuffer = max(cfg.RecentBuffer, 4<<20)
		prev := h.NewConn
		h.NewConn = func(c tracker.Conn) {
			if prev != nil {
				prev(c)
			}
			c.SetPacketSink(px.PacketSink(c))
		}
	}
	warn := func(msg string) { fmt.Fprintf(stderr, "flowtop: warning: %s\n", msg) }
	fx, err := startExport(o, &h, warn)
	if err != nil {
		return err
	}
	at := startAttribution(resolver, &h)
	tr := tracker.New(cfg, h)
	if at != nil {
		at.tr = tr
	}
	var fc *flowCollect
	if o.collect != "" {
		if fc, err = startCollect(o, tr, src.(*tracker.IdleSource), warn); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out.failed = func() {
		out.failed = nil
		stop() // as a signal does: the session ends, what is tracked is flushed
	}
	go func() {
		<-sig.Done()
		at.drain()
		if fc != nil {
			fc.close() // the records received are counted, then the source ends
			return
		}
		cancel()
		src.Close() // unblocks a live read
	}()

	stopStatus := statusOnSignal(tr, stderr)
	runErr := tr.Run(ctx, src)
	stopStatus()
	at.stop()
	fx.close()
	outErr := out.close()
	if o.read == "" && o.collect == "" {
		reportCapture(stderr, name, tr.Stats().Capture)
	}
	fc.report(stderr, o.verbose)
	out.reportExtraction(stderr, o.extract == "all")
	out.reportPcap(stderr, tr.Stats().FramesMissed)
	fx.report(stderr, o.export, o.verbose)
	if err := runError(name, runErr, stderr); err != nil {
		return err
	}
	if outErr != nil {
		return outErr
	}
	if o.verbose && at != nil {
		s := at.a.Stats()
		fmt.Fprintf(stderr, "flowtop: process attribution: %d sockets looked up, %d found, %d with their process; %d fd directories read, %d full scans, %v reading /proc; %d connections not queued\n",
			s.Lookups, s.Found, s.Owned, s.FDScans, s.FullScans, s.ScanTime.Round(time.Millisecond), at.a.Dropped())
	}
	if o.verbose {
		s := tr.Stats()
		fmt.Fprintf(stderr, "flowtop: %s: %d packets, %d connections (%d evicted), %d not IP, %d malformed, %d dropped by IP checks, %d fragments, %d tunnelled\n",
			name, s.Packets, s.Conns, s.Evicted, s.NotIP, s.Malformed, s.Dropped, s.Fragments, s.Tunnels)
	}
	return nil
}

// statusOnSignal prints a status line on standard error at each SIGUSR1 (as
// dd does), for those who watch a long headless run from outside: packets,
// connections, the table, evictions, drops, goroutines and the Go heap.
func statusOnSignal(tr *tracker.Tracker, stderr io.Writer) (stop func()) {
	usr := make(chan os.Signal, 1)
	signal.Notify(usr, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-usr:
				tr.Do(func() {
					s := tr.Stats()
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					fmt.Fprintf(stderr, "flowtop: status: %d packets, %d connections, %d active, %d evicted, %d dropped by the kernel, %d goroutines, %s heap\n",
						s.Packets, s.Conns, s.Active, s.Evicted, s.Capture.Dropped, runtime.NumGoroutine(), units.FormatBytes(m.HeapAlloc))
				})
			}
		}
	}()
	return func() {
		signal.Stop(usr)
		close(done)
	}
}

// runError turns the tracker's Run result into the session's error: a truncated
// file is only a warning, a cancelled run (a signal, the user quitting) none.
func runError(name string, err error, stderr io.Writer) error {
	switch {
	case errors.Is(err, tracker.ErrTruncated):
		fmt.Fprintf(stderr, "flowtop: warning: %s: %v; every record up to the cut was written\n", name, err)
	case errors.Is(err, context.Canceled):
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// outputs are what a session writes: conn.log (-w), the event log (--events) and
// extracted content. close writes out everything and reports the first error.
type outputs struct {
	path, evPath string
	log          *connlog.Writer // nil: no conn.log
	logErr       error
	ev           *eventLog // nil: no event log
	ex           *extract.Extractor
	pcap         *extract.Extractor // --pcap-dir
	closers      []func()
	// failed is called once, on the tracker's goroutine, when conn.log cannot
	// be written (a closed pipe, a full disk): it stops the session.
	failed func()
	// flushEach writes each record and event through at once, for those who
	// watch the files while the interactive view runs (tail -f). Headless, only
	// the event log is written through, when live.
	flushEach bool
}

// openOutputs creates conn.log (when withLog is set or -w was given) and the event
// log.
func openOutputs(o *options, file *config.Config, stdout io.Writer, withLog, flushEach bool) (*outputs, error) {
	out := &outputs{path: o.write, evPath: o.events, flushEach: flushEach}
	if withLog || o.writeSet {
		f, closeF, err := createOutput(o.write, stdout)
		if err != nil {
			return nil, err
		}
		out.closers = append(out.closers, closeF)
		format := connlog.TSV
		if o.json {
			format = connlog.JSON
		}
		out.log = connlog.NewWriter(f, format)
		out.log.SetCommunityIDSeed(file.Connlog.CommunityIDSeed)
		for _, name := range file.Connlog.ExtraFields {
			// The config file accepts only the fields connlog knows.
			if fld, err := connlog.ParseField(name); err == nil {
				out.log.SetExtraFields(append(out.log.ExtraFields(), fld)...)
			}
		}
	}
	if o.events != "" {
		f, closeF, err := createOutput(o.events, stdout)
		if err != nil {
			out.closeFiles()
			return nil, err
		}
		out.closers = append(out.closers, closeF)
		out.ev = &eventLog{w: connlog.NewEventWriter(f), live: flushEach || o.read == ""}
	}
	return out, nil
}

// handle sets the handlers that write conn.log and the event log.
func (out *outputs) handle(h *tracker.Handlers) {
	h.Remove = func(r *tracker.Record) {
		if out.log != nil && out.logErr == nil {
			out.logErr = out.log.Write(r)
			if out.flushEach && out.logErr == nil {
				out.logErr = out.log.Flush()
			}
			if out.logErr != nil && out.failed != nil {
				out.failed() // conn.log cannot be written: the session ends
			}
		}
		if out.ev != nil {
			out.ev.log(func(w *connlog.EventWriter) error { return w.WriteRemoval(r) })
		}
	}
	if out.ev != nil {
		h.Threshold = func(x *tracker.Crossing) {
			out.ev.log(func(w *connlog.EventWriter) error { return w.WriteCrossing(x) })
		}
		h.Drops = func(st tracker.CaptureStats, now time.Time) {
			out.ev.log(func(w *connlog.EventWriter) error { return w.WriteDrops(now, st) })
		}
	}
}

// startExtractor starts content extraction into --extract-dir, else [extract] dir.
// Alerts go to alert and to the event log.
func (out *outputs) startExtractor(o *options, file *config.Config, alert func(extract.Alert)) *extract.Extractor {
	dir := o.extractDir
	if dir == "" {
		dir = file.Extract.Dir
	}
	out.ex = extract.New(extract.Config{
		Dir:             dir,
		MaxBytesPerConn: uint64(file.Extract.MaxBytesPerConn),
		MaxBytesTotal:   uint64(file.Extract.MaxBytesTotal),
	}, func(a extract.Alert) {
		alert(a)
		if out.ev != nil {
			out.ev.log(func(w *connlog.EventWriter) error { return w.WriteAlert(time.Now(), a.UID, a.File, a.Err.Error()) })
		}
	})
	return out.ex
}

// close writes every extracted byte and closes every file, then flushes conn.log and
// the event log; call it after the tracker has stopped. It returns the first error.
func (out *outputs) close() error {
	if out.ex != nil {
		out.ex.Close()
	}
	if out.pcap != nil {
		out.pcap.Close()
	}
	var err error
	if out.log != nil {
		if cerr := out.log.Close(time.Now()); out.logErr == nil {
			out.logErr = cerr
		}
		if out.logErr != nil {
			name, cause, whole := out.path, out.logErr, "; the file holds every record before, whole"
			if name == "-" || name == "" {
				name, whole = "standard output", ""
			}
			if pe := (*os.PathError)(nil); errors.As(cause, &pe) {
				cause = pe.Err // the path is said once
			}
			err = fmt.Errorf("write conn.log to %s: %w%s", name, cause, whole)
		}
	}
	if out.ev != nil {
		if everr := out.ev.close(); everr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", out.evPath, everr)
		}
	}
	out.closeFiles()
	return err
}

// reportExtraction says at exit how much content was extracted and where it is:
// always when every connection was extracted (--extract all), else when the user
// extracted any.
func (out *outputs) reportExtraction(stderr io.Writer, all bool) {
	if out.ex == nil {
		return
	}
	st := out.ex.Stats()
	if st.Conns == 0 && !all {
		return
	}
	fmt.Fprintf(stderr, "flowtop: extracted %s (%s) of %s into %s", plural(st.Files, "file"), units.FormatBytes(st.Bytes),
		plural(st.Conns, "connection"), out.ex.Dir())
	if st.LostBytes > 0 {
		fmt.Fprintf(stderr, "; %s lost to a full queue, marked as gaps", units.FormatBytes(st.LostBytes))
	}
	if st.Alerts > 0 {
		fmt.Fprintf(stderr, "; %s", plural(st.Alerts, "alert"))
	}
	fmt.Fprintln(stderr)
}

// startPcap starts writing connections' packets into --pcap-dir, with
// [extract]'s caps.
func (out *outputs) startPcap(o *options, file *config.Config, alert func(extract.Alert)) *extract.Extractor {
	out.pcap = extract.New(extract.Config{
		Dir:             o.pcapDir,
		MaxBytesPerConn: uint64(file.Extract.MaxBytesPerConn),
		MaxBytesTotal:   uint64(file.Extract.MaxBytesTotal),
		QueueLen:        1 << 16, // a frame per packet of every connection
	}, alert)
	return out.pcap
}

// reportPcap says where --pcap-dir's files went.
func (out *outputs) reportPcap(stderr io.Writer, missed uint64) {
	if out.pcap == nil {
		return
	}
	st := out.pcap.Stats()
	fmt.Fprintf(stderr, "flowtop: wrote the packets of %s into %s (%s, %s)", plural(st.Conns, "connection"), out.pcap.Dir(),
		plural(st.Files, "pcapng file"), units.FormatBytes(st.Bytes))
	if st.LostBytes > 0 {
		fmt.Fprintf(stderr, "; %s of frames lost to a full queue", units.FormatBytes(st.LostBytes))
	}
	if missed > 0 {
		fmt.Fprintf(stderr, "; %s read ahead of their connection's file were not kept", plural(missed, "frame"))
	}
	if st.Alerts > 0 {
		fmt.Fprintf(stderr, "; %s", plural(st.Alerts, "alert"))
	}
	fmt.Fprintln(stderr)
}

// plural is "1 file", "2 files".
func plural(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// flush writes what conn.log and the event log buffer; call it on the tracker's
// goroutine or once the tracker stopped.
func (out *outputs) flush() {
	if out.log != nil && out.logErr == nil {
		out.logErr = out.log.Flush()
	}
	if out.ev != nil {
		out.ev.log(func(w *connlog.EventWriter) error { return w.Flush() })
	}
}

// closeFiles closes the output files.
func (out *outputs) closeFiles() {
	for _, c := range out.closers {
		c()
	}
	out.closers = nil
}

// createOutput opens an output file, truncating it, or returns stdout for "-" or "".
func createOutput(path string, stdout io.Writer) (io.Writer, func(), error) {
	if path == "-" || path == "" {
		return stdout, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", path, errors.Unwrap(err))
	}
	w := &wholeLines{f: f}
	return w, func() { f.Close() }, nil
}

// wholeLines writes to a file and, when a write fails (a full disk), cuts the
// file after its last whole line, so that what it holds is valid records only.
type wholeLines struct {
	f       *os.File
	written int64 // bytes written so far
	lastNL  int64 // offset just after the last newline written
}

func (w *wholeLines) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		w.lastNL = w.written + int64(i) + 1
	}
	w.written += int64(n)
	if err != nil && w.lastNL < w.written {
		if fi, serr := w.f.Stat(); serr == nil && fi.Mode().IsRegular() {
			w.f.Truncate(w.lastNL)
		}
	}
	return n, err
}

// eventLog is the --events file. Its writes are serialised: the extraction writer
// reports alerts from its own goroutine.
type eventLog struct {
	mu   sync.Mutex
	w    *connlog.EventWriter
	live bool // flush each event, for tail -f
	err  error
}

// log writes one event with write; the first error is kept for close.
func (l *eventLog) log(write func(*connlog.EventWriter) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := write(l.w)
	if err == nil && l.live {
		err = l.w.Flush()
	}
	if l.err == nil {
		l.err = err
	}
}

// close flushes the log and returns its first error.
func (l *eventLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); l.err == nil {
		l.err = err
	}
	return l.err
}

// stopSignals end a capture, headless or interactive: what was tracked is flushed
// and flowtop exits 0.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
