// Command flowtop is top for network connections: it tracks TCP, UDP and ICMP
// connections with Zeek's conn.log semantics, live from an interface or from a
// pcap/pcapng file, and writes a Zeek-compatible conn.log.
//
//	flowtop [-i IFACE | -r FILE] [-C] [--config FILE] [--headless] [-w FILE] [--json] [--events FILE]
//	        [--extract all] [--extract-dir DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/flowtop/flowtop/config"
	"github.com/flowtop/flowtop/connlog"
	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/tracker"
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
	ignoreChecksums, headless      bool
	json, verbose, showVersion     bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("flowtop", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by run; -h prints usage
	fs.StringVar(&o.iface, "i", "", "capture live on `IFACE` (default: the interface of the default route)")
	fs.StringVar(&o.read, "r", "", "read packets from a pcap or pcapng `FILE` (- for standard input)")
	fs.BoolVar(&o.ignoreChecksums, "C", false, "ignore checksums (like zeek -C)")
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` (default: $XDG_CONFIG_HOME/flowtop/config.toml if present)")
	fs.BoolVar(&o.headless, "headless", false, "no user interface: write each connection's record when it is removed")
	fs.StringVar(&o.write, "w", "-", "write conn.log to `FILE` (- for standard output)")
	fs.BoolVar(&o.json, "json", false, "write JSON lines instead of Zeek's TSV")
	fs.StringVar(&o.events, "events", "", "write threshold crossings and removals as JSON lines to `FILE` (- for standard output)")
	fs.StringVar(&o.extract, "extract", "", "extract content: `all` writes every connection's streams to files")
	fs.StringVar(&o.extractDir, "extract-dir", "", "directory for extracted content (default: [extract] dir, else ./"+extract.DefaultDir+")")
	fs.BoolVar(&o.verbose, "v", false, "print a summary on standard error at exit")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "usage: flowtop [-i IFACE | -r FILE] [-C] [--config FILE] [--headless] [-w FILE] [--json] [--events FILE] [--extract all] [--extract-dir DIR]\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.iface != "" && o.read != "" {
		return nil, errors.New("-i and -r cannot be used together")
	}
	if o.extract != "" && o.extract != "all" {
		return nil, fmt.Errorf("--extract %q: the only mode is all", o.extract)
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
	if err := headless(o, stdout, stderr); err != nil {
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
	return cfg, file, nil
}

// openSource opens the file, the named interface or the default interface.
func openSource(o *options) (tracker.Source, string, error) {
	if o.read != "" {
		src, err := tracker.OpenFile(o.read)
		return src, o.read, err
	}
	iface := o.iface
	if iface == "" {
		var err error
		if iface, err = tracker.DefaultInterface(); err != nil {
			return nil, "", fmt.Errorf("no interface to capture on: %v (name one with -i)", err)
		}
	}
	src, err := tracker.OpenLive(iface, tracker.LiveOptions{Promisc: true})
	return src, iface, err
}

// headless tracks the source and writes each removed connection's record.
func headless(o *options, stdout, stderr io.Writer) error {
	if !o.headless {
		fmt.Fprintln(stderr, "flowtop: the interactive view is not built yet; running headless")
	}
	cfg, file, err := trackerConfig(o)
	if err != nil {
		return err
	}
	src, name, err := openSource(o)
	if err != nil {
		return err
	}
	defer src.Close()

	out, closeOut, err := createOutput(o.write, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	format := connlog.TSV
	if o.json {
		format = connlog.JSON
	}
	w := connlog.NewWriter(out, format)
	var werr error
	h := tracker.Handlers{Remove: func(r *tracker.Record) {
		if werr == nil {
			werr = w.Write(r)
		}
	}}
	var ev *eventLog
	if o.events != "" {
		evOut, closeEv, err := createOutput(o.events, stdout)
		if err != nil {
			return err
		}
		defer closeEv()
		ev = &eventLog{w: connlog.NewEventWriter(evOut), live: o.read == ""}
		h.Threshold = func(x *tracker.Crossing) { ev.log(func(w *connlog.EventWriter) error { return w.WriteCrossing(x) }) }
		writeConn := h.Remove
		h.Remove = func(r *tracker.Record) {
			writeConn(r)
			ev.log(func(w *connlog.EventWriter) error { return w.WriteRemoval(r) })
		}
	}
	var ex *extract.Extractor
	if o.extract == "all" {
		dir := o.extractDir
		if dir == "" {
			dir = file.Extract.Dir
		}
		ex = extract.New(extract.Config{
			Dir:             dir,
			MaxBytesPerConn: uint64(file.Extract.MaxBytesPerConn),
			MaxBytesTotal:   uint64(file.Extract.MaxBytesTotal),
		}, func(a extract.Alert) {
			fmt.Fprintf(stderr, "flowtop: warning: %v\n", a)
			if ev != nil {
				ev.log(func(w *connlog.EventWriter) error { return w.WriteAlert(time.Now(), a.UID, a.File, a.Err.Error()) })
			}
		})
		cfg.KeepPayload = true
		h.Content = func(c tracker.Conn) tracker.ContentSink { return ex.Sink(c) }
	}
	tr := tracker.New(cfg, h)

	// SIGINT and SIGTERM end the capture; the tracker then flushes every connection.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		src.Close() // unblocks a live read
	}()

	runErr := tr.Run(ctx, src)
	if ex != nil {
		ex.Close() // every extracted byte is written and every file closed
	}
	closeErr := w.Close(time.Now())
	var everr error
	if ev != nil {
		everr = ev.close()
	}
	switch {
	case errors.Is(runErr, tracker.ErrTruncated):
		fmt.Fprintf(stderr, "flowtop: warning: %s: %v; every record up to the cut was written\n", name, runErr)
	case errors.Is(runErr, context.Canceled):
	case runErr != nil:
		return fmt.Errorf("%s: %w", name, runErr)
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", o.write, werr)
	}
	if closeErr != nil {
		return fmt.Errorf("write %s: %w", o.write, closeErr)
	}
	if everr != nil {
		return fmt.Errorf("write %s: %w", o.events, everr)
	}
	if o.verbose {
		s := tr.Stats()
		fmt.Fprintf(stderr, "flowtop: %s: %d packets, %d connections (%d evicted), %d not IP, %d malformed, %d dropped by IP checks, %d fragments, %d tunnelled\n",
			name, s.Packets, s.Conns, s.Evicted, s.NotIP, s.Malformed, s.Dropped, s.Fragments, s.Tunnels)
	}
	return nil
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
	return f, func() { f.Close() }, nil
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
