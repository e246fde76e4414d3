package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/flowtop/flowtop/config"
	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/ui"
)

// Defaults of the interactive view when [ui] leaves them out.
const (
	defaultRefresh = 250 * time.Millisecond
	defaultLinger  = time.Minute
)

// errNoTerminal is the error of the interactive view run without a terminal.
var errNoTerminal = errors.New("the interactive view needs a terminal; use --headless to write conn.log")

// replaySpeed is the pace of a file's replay (--speed, else [ui] speed): a multiple
// of real time, 0 for as fast as it reads.
func replaySpeed(o *options, file *config.Config) float64 {
	if o.speed != "" {
		s, _ := config.ParseSpeed(o.speed) // checked with the flags
		return float64(s)
	}
	return float64(file.UI.Speed)
}

// uiOptions builds the TUI's options from [ui], [keys], [thresholds] and the flags.
func uiOptions(o *options, file *config.Config, cfg tracker.Config) (ui.Options, time.Duration, error) {
	u := &file.UI
	opts := ui.Options{
		Live:       o.read == "",
		ByteRates:  u.Units == config.RateBytes,
		Linger:     defaultLinger,
		ShowClosed: u.ShowClosed || !file.Defined("ui", "show_closed"), // closed rows linger, dimmed, by default
		Defaults:   cfg.Thresholds,

		CommunityIDSeed: file.Connlog.CommunityIDSeed,
		RecentBuffer:    cfg.RecentBuffer > 0,
		MaxFlows:        viewFlows(file),
	}
	if file.Defined("ui", "linger") {
		opts.Linger = time.Duration(u.Linger)
	}
	if o.read != "" && replaySpeed(o, file) == 0 {
		// A file read at full speed is over in moments: every connection it held
		// stays listed, as conn.log lists them. Linger is for live captures and
		// paced replays, where rows age as one watches.
		opts.Linger = 0
	}
	if len(u.Columns) > 0 {
		opts.Columns = u.Columns
	}
	// The column chooser saves, on request, to the file in use, else to the
	// default one (created if need be).
	savePath := o.configPath
	if savePath == "" {
		savePath = config.DefaultPath()
	}
	if savePath != "" {
		opts.SaveColumns = func(cols []string) error { return config.SaveColumns(savePath, cols) }
	}
	opts.Theme = o.loadedTheme // --theme, loaded with the flags
	if opts.Theme == nil {
		name := string(u.Theme)
		if name == "" {
			name = "dark"
		}
		th, err := themes.Load(name, themes.UserDir())
		if err != nil {
			return opts, 0, err
		}
		opts.Theme = th
	}
	keys, err := ui.NewKeyMap(file.Keys)
	if ke := (*ui.KeyError)(nil); errors.As(err, &ke) {
		return opts, 0, file.KeyError(ke.Msg, "keys", ke.Action) // with the file and line
	} else if err != nil {
		return opts, 0, err
	}
	opts.Keys = &keys
	refresh := defaultRefresh
	if u.Refresh > 0 {
		refresh = time.Duration(u.Refresh)
	}
	return opts, refresh, nil
}

// interactive runs the TUI on the source until the user quits. Reading a file, the
// table stays on screen after the end of input. conn.log is written only with -w.
func interactive(o *options, stdout, stderr io.Writer) error {
	cfg, file, err := trackerConfig(o)
	if err != nil {
		return err
	}
	opts, refresh, err := uiOptions(o, file, cfg)
	if err != nil {
		return err
	}
	if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
		return errNoTerminal
	}
	src, name, resolver, msgs, err := openCapture(o)
	if err != nil {
		return err
	}
	defer src.Close()
	opts.Source = name
	var replay *tracker.Replay
	var pauser ui.Pauser
	if o.read != "" {
		replay = tracker.NewReplay(src, replaySpeed(o, file))
		src, pauser = replay, replay
	}

	// The view's user may watch -w and --events grow: records are written as they
	// happen, except in a full-speed read, which is over in moments (and flushed
	// at its end).
	out, err := openOutputs(o, file, stdout, false, o.read == "" || replaySpeed(o, file) > 0)
	if err != nil {
		return err
	}
	defer out.closeFiles()
	var h tracker.Handlers
	out.handle(&h)
	var prog *ui.Program
	alerts := make(chan string, 64) // extraction alerts, before and while the TUI runs
	ex := out.startExtractor(o, file, func(a extract.Alert) {
		select {
		case alerts <- a.Error():
		default:
		}
	})
	extraction := ui.NewExtraction(ex, o.extract == "all")
	h.Content = extraction.Content
	cfg.KeepPayload = o.extract == "all"
	fx, err := startExport(o, &h, func(msg string) {
		select {
		case alerts <- msg:
		default:
		}
	})
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
		if fc, err = startCollect(o, tr, src.(*tracker.IdleSource), func(msg string) {
			select {
			case alerts <- msg:
			default:
			}
		}); err != nil {
			return err
		}
	}
	for _, m := range msgs {
		alerts <- m // shown in the alerts pane
	}
	feed := tr.Feed(refresh)
	prog, err = ui.New(opts, feed, tr, extraction, pauser, nil, nil)
	if err != nil {
		return err
	}

	// The tracker runs until the user quits, or until the end of input; SIGTERM (and
	// SIGINT from outside, the terminal being raw) quits too.
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	trCtx, stopTracker := context.WithCancel(ctx)
	defer stopTracker()
	runDone := make(chan error, 1)
	go func() {
		err := tr.Run(trCtx, src)
		out.flush() // the view stays open at the end of input: the files are complete now
		prog.Send(ui.Done(err))
		runDone <- err
	}()
	go func() {
		for {
			select {
			case a := <-alerts:
				prog.Send(ui.Alert(time.Now(), a))
			case <-trCtx.Done():
				return
			}
		}
	}()
	uiErr := prog.Run(ctx)

	at.drain() // the last connections' processes, before the tracker flushes them
	fc.close() // the records received, before the tracker flushes them
	stopTracker()
	src.Close() // unblocks a live read
	runErr := <-runDone
	at.stop()
	fx.close()
	outErr := out.close()
	if o.read == "" && o.collect == "" {
		reportCapture(stderr, name, tr.Stats().Capture)
	}
	fc.report(stderr, o.verbose)
	out.reportExtraction(stderr, o.extract == "all")
	fx.report(stderr, o.export, o.verbose)
	if uiErr != nil {
		return fmt.Errorf("terminal: %w", uiErr)
	}
	if err := runError(name, runErr, stderr); err != nil {
		return err
	}
	return outErr
}
