package ui

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/internal/benchgen"
	"github.com/flowtop/flowtop/internal/flowsynth"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/ui/filter"
	"github.com/flowtop/flowtop/ui/flows"
)

// Benchmarks of the TUI's refresh: what one display frame costs (BenchmarkFrame)
// and what the TUI costs the capture (BenchmarkAttached). Both render at 180×50
// without colour (TestMain forces lipgloss's ASCII profile). Run them with
//
//	go test -run '^$' -bench 'Frame|Attached' -benchmem ./ui/ ./ui/flows/
//
// The goal is a frame under 16 ms at 100k connections, and a capture read with
// the TUI attached at no less than 0.9× the headless rate.

// Terminal size of the benchmarks.
const benchWidth, benchHeight = 180, 50

// benchSizes are the numbers of connections the Store holds (live and lingering
// closed).
var benchSizes = []struct {
	name string
	n    int
}{{"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}}

// benchFilter is the filter of the measured frames: about 72% of the flows (the
// TCP connections past their handshake) pass.
const benchFilter = "tcp and bytes > 1k"

// benchFrame is a model fed by a pipeline that BenchmarkFrame drives by hand, one
// snapshot at a time, on the benchmark's goroutine.
type benchFrame struct {
	g     *flowsynth.Gen
	pipe  *pipeline
	m     *Model
	q     flows.Query
	frame frameMsg // the latest frame the pipeline sent
}

// newBenchFrame builds a store of n flows and a model showing it at 180×50,
// sorted by sort (descending with desc), filtered by benchFilter, closed flows
// shown (flowtop's default), the cursor on the 21st row.
func newBenchFrame(b *testing.B, n int, sort flows.Column, desc bool) *benchFrame {
	b.Helper()
	bf := &benchFrame{g: flowsynth.New(n, 1)}
	bf.pipe = newPipeline(nil, flowsynth.Linger, func(f frameMsg) { bf.frame = f })
	x := extract.New(extract.Config{Dir: b.TempDir()}, nil)
	b.Cleanup(x.Close)
	opts := Options{Source: "eth0", Live: true, Linger: flowsynth.Linger, ShowClosed: true}
	m, err := newModel(opts, nil, NewExtraction(x, false), nil, bf.pipe, func(tea.Msg) {})
	if err != nil {
		b.Fatal(err)
	}
	bf.m = m
	m.Update(tea.WindowSizeMsg{Width: benchWidth, Height: benchHeight})
	if m.filter, err = filter.Compile(benchFilter); err != nil {
		b.Fatal(err)
	}
	m.sort, m.desc = sort, desc
	<-bf.pipe.queries // newModel's
	m.sendQuery()
	bf.q = <-bf.pipe.queries // the query the model asks for, as the pipeline gets it
	bf.apply(bf.g.Initial())
	bf.rows()
	bf.view()
	m.move(20)
	return bf
}

// apply is the pipeline's Apply of a snapshot.
func (bf *benchFrame) apply(snap *tracker.Snapshot) {
	bf.pipe.store.Pin(bf.pipe.selectedUID())
	bf.pipe.store.Apply(snap)
}

// rows is the pipeline's emit: Rows and the frame.
func (bf *benchFrame) rows() { bf.pipe.emit(bf.q, nil, false) }

// view is the event loop's work on a frame: Update, then View.
func (bf *benchFrame) view() string {
	bf.m.Update(bf.frame)
	return bf.m.View()
}

// BenchmarkFrame measures one display frame at each size, sorted by start (the
// default, whose order barely changes from frame to frame) and by rate,
// descending (top talkers, whose order changes every frame), filtered by
// benchFilter:
//
//   - frame: the whole of it: the pipeline's Apply of a snapshot in which 10% of
//     the flows changed and its Rows (sort and filter), then the model's Update
//     and View, as the event loop does (the terminal's write excepted); the
//     apply-ns, rows-ns and view-ns metrics split its time;
//   - apply: Apply alone (and Pin);
//   - rows: the pipeline's emit alone (Rows, sort and filter, and the frame);
//   - view: Update and View alone, on frames precomputed in turn.
//
// Generating the snapshots is never timed; apply, rows and view time their step
// only, so sum their ns/op and allocations for a frame without the GC interplay.
func BenchmarkFrame(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("n="+size.name, func(b *testing.B) {
			for _, order := range []struct {
				name string
				sort flows.Column
				desc bool
			}{{"start", flows.ByStart, false}, {"rate", flows.ByRate, true}} {
				b.Run("sort="+order.name, func(b *testing.B) {
					for _, step := range []string{"frame", "apply", "rows", "view"} {
						b.Run(step, func(b *testing.B) {
							bf := newBenchFrame(b, size.n, order.sort, order.desc)
							switch step {
							case "frame":
								benchWholeFrame(b, bf)
							case "view":
								benchView(b, bf)
							default:
								benchStep(b, bf, step)
							}
							b.ReportMetric(float64(len(bf.frame.rows)), "rows")
						})
					}
				})
			}
		})
	}
}

// benchWholeFrame times whole frames: Apply, Rows, Update and View.
func benchWholeFrame(b *testing.B, bf *benchFrame) {
	var apply, rows, view time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		snap := bf.g.Next()
		b.StartTimer()
		t0 := time.Now()
		bf.apply(snap)
		t1 := time.Now()
		bf.rows()
		t2 := time.Now()
		bf.view()
		apply, rows, view = apply+t1.Sub(t0), rows+t2.Sub(t1), view+time.Since(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(apply)/n, "apply-ns")
	b.ReportMetric(float64(rows)/n, "rows-ns")
	b.ReportMetric(float64(view)/n, "view-ns")
}

// benchStep times the apply or the rows step of each frame, the pipeline doing
// both. (The model is not fed: it does not change what the pipeline does.)
func benchStep(b *testing.B, bf *benchFrame, step string) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		snap := bf.g.Next()
		if step == "apply" {
			b.StartTimer()
			bf.apply(snap)
			b.StopTimer()
			bf.rows()
		} else {
			bf.apply(snap)
			b.StartTimer()
			bf.rows()
			b.StopTimer()
		}
		b.StartTimer()
	}
}

// benchView times Update and View of successive frames, computed beforehand and
// handed to the model in turn (the rows of a frame are immutable).
func benchView(b *testing.B, bf *benchFrame) {
	frames := make([]frameMsg, 4)
	for i := range frames {
		bf.apply(bf.g.Next())
		bf.rows()
		frames[i] = bf.frame
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bf.frame = frames[i%len(frames)]
		bf.view()
		i++
	}
}

// BenchmarkAttached reads benchgen's many-flows capture (2.9M packets, 245k
// connections; generated into os.TempDir()/flowtop-bench on the first run, shared
// with internal/bench) with the tracker's Run, in turn:
//
//   - headless: the file directly, no Feed, as flowtop --headless;
//   - attached: as the TUI reads it: through a full-speed Replay, the content
//     handler of the TUI's Extraction set, and a Feed every 50 ms, whose snapshots
//     the real pipeline (newPipeline, run) applies, sorts and filters into frames
//     that another goroutine, standing for Bubble Tea's event loop (no terminal),
//     takes through an unbuffered channel as Program.Send does and passes to the
//     Model's Update, then View (closed flows shown, lingering a minute, sorted by
//     start: flowtop's defaults);
//   - attached250ms: the same with flowtop's default refresh, 250 ms;
//   - feedonly: the Replay and the Feed every 50 ms, its snapshots taken and
//     dropped at once: the tracker's share of the cost of attaching.
//
// Each iteration runs headless, attached, attached250ms, feedonly, then the same
// in reverse (so that a drift of the machine's speed cancels out). The metrics are
// the packets per second of Run for each and the ratios to headless, the goal
// being attached/headless ≥ 0.9; frames/run and final-ms (from Run's return to
// the View of the final frame) show the TUI's side, and lost/run the removals and
// crossings the Feed dropped (those flows then stay listed as live, or are never
// listed). CPU profiles carry the labels variant (headless, attached,
// attached250ms, feedonly) and, with the TUI, role (the variant and tracker,
// pipeline or ui):
//
//	go tool pprof -top -tagfocus role=attached/pipeline ui.test cpu.prof
func BenchmarkAttached(b *testing.B) {
	if testing.Short() {
		b.Skip("reads a capture of 800 MB; skipped with -short")
	}
	path := filepath.Join(os.TempDir(), "flowtop-bench", "many.pcap")
	sum, err := benchgen.Generate(path, benchgen.ManyFlows(), 1)
	if err != nil {
		b.Fatal(err)
	}
	type variant struct {
		name   string
		every  time.Duration // 0: headless
		ui     bool          // the pipeline and the model take the snapshots
		run    time.Duration
		final  time.Duration
		frames int
		lost   uint64
	}
	head := &variant{name: "headless"}
	att := &variant{name: "attached", every: 50 * time.Millisecond, ui: true}
	att250 := &variant{name: "attached250ms", every: 250 * time.Millisecond, ui: true}
	feed := &variant{name: "feedonly", every: 50 * time.Millisecond}
	order := []*variant{head, att, att250, feed, feed, att250, att, head}
	runs := 0
	for b.Loop() {
		for _, v := range order {
			runtime.GC()
			pprof.Do(context.Background(), pprof.Labels("variant", v.name), func(ctx context.Context) {
				if v.every == 0 {
					v.run += runHeadless(b, path, sum.Packets)
					return
				}
				r := runAttached(ctx, b, path, sum.Packets, v.every, v.ui)
				v.run += r.run
				v.final += r.final
				v.frames += r.frames
				v.lost += r.lost
			})
		}
		runs += 2
	}
	rate := func(v *variant) float64 { return float64(sum.Packets) * float64(runs) / v.run.Seconds() }
	b.ReportMetric(rate(head), "headless-pkts/s")
	for _, v := range []*variant{att, att250, feed} {
		b.ReportMetric(rate(v), v.name+"-pkts/s")
		b.ReportMetric(rate(v)/rate(head), v.name+"/headless")
		if v.ui {
			b.ReportMetric(float64(v.frames)/float64(runs), v.name+"-frames/run")
			b.ReportMetric(float64(v.final.Milliseconds())/float64(runs), v.name+"-final-ms")
		}
		b.ReportMetric(float64(v.lost)/float64(runs), v.name+"-lost/run")
	}
}

// runHeadless reads the capture with Run and returns Run's time.
func runHeadless(b *testing.B, path string, packets uint64) time.Duration {
	src, err := tracker.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	tr := tracker.New(tracker.Config{}, tracker.Handlers{Remove: func(*tracker.Record) {}})
	start := time.Now()
	err = tr.Run(context.Background(), src)
	d := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if n := tr.Stats().Packets; n != packets {
		b.Fatalf("read %d packets, the capture has %d", n, packets)
	}
	return d
}

// attachedRun is what runAttached measured.
type attachedRun struct {
	run    time.Duration // Run's time
	final  time.Duration // from Run's return to the final frame's View
	frames int           // frames viewed
	lost   uint64        // removals and crossings the Feed dropped
}

// runAttached reads the capture as the TUI does (see BenchmarkAttached), the Feed
// publishing every every; without ui, a goroutine drops the snapshots instead.
// ctx carries the profiler labels.
func runAttached(ctx context.Context, b *testing.B, path string, packets uint64, every time.Duration, ui bool) attachedRun {
	f, err := tracker.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	replay := tracker.NewReplay(f, 0)
	defer replay.Close()
	x := extract.New(extract.Config{Dir: b.TempDir()}, nil)
	defer x.Close()
	ex := NewExtraction(x, false)
	tr := tracker.New(tracker.Config{}, tracker.Handlers{Remove: func(*tracker.Record) {}, Content: ex.Content})
	feed := tr.Feed(every)
	if !ui {
		return runFeedOnly(b, tr, replay, feed, packets)
	}

	msgs := make(chan tea.Msg) // unbuffered, like Program.Send's
	pipe := newPipeline(feed.C(), time.Minute, func(f frameMsg) { msgs <- f })
	opts := Options{Source: path, Linger: time.Minute, ShowClosed: true}
	m, err := newModel(opts, tr, ex, replay, pipe, func(msg tea.Msg) { msgs <- msg })
	if err != nil {
		b.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: benchWidth, Height: benchHeight})

	label := func(role string) pprof.LabelSet {
		v, _ := pprof.Label(ctx, "variant")
		return pprof.Labels("role", v+"/"+role)
	}
	var r attachedRun
	finalAt := make(chan time.Time, 1)
	uiDone := make(chan struct{})
	go pprof.Do(ctx, label("ui"), func(context.Context) { // the event loop
		defer close(uiDone)
		for msg := range msgs {
			m.Update(msg)
			_ = m.View()
			if f, ok := msg.(frameMsg); ok {
				r.frames++
				if f.final {
					finalAt <- time.Now()
				}
			}
		}
	})
	pipeCtx, cancel := context.WithCancel(ctx)
	pipeDone := make(chan struct{})
	go pprof.Do(pipeCtx, label("pipeline"), func(ctx context.Context) {
		defer close(pipeDone)
		pipe.run(ctx)
	})

	var start, end time.Time
	pprof.Do(ctx, label("tracker"), func(context.Context) {
		start = time.Now()
		err = tr.Run(context.Background(), replay)
		end = time.Now()
	})
	if err != nil {
		b.Fatal(err)
	}
	msgs <- Done(err)
	r.run, r.final = end.Sub(start), (<-finalAt).Sub(end)
	cancel()
	<-pipeDone
	close(msgs)
	<-uiDone
	if n := m.frame.stats.Packets; n != packets {
		b.Fatalf("the final frame counts %d packets, the capture has %d", n, packets)
	}
	r.lost = m.frame.drops.Removals + m.frame.drops.Crossings
	return r
}

// runFeedOnly runs tr on replay while a goroutine takes feed's snapshots and drops
// them.
func runFeedOnly(b *testing.B, tr *tracker.Tracker, replay *tracker.Replay, feed *tracker.Feed, packets uint64) attachedRun {
	var r attachedRun
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range feed.C() {
			if s.Final {
				r.lost = s.Dropped.Removals + s.Dropped.Crossings
				return
			}
		}
	}()
	start := time.Now()
	err := tr.Run(context.Background(), replay)
	r.run = time.Since(start)
	<-done
	if err != nil {
		b.Fatal(err)
	}
	if n := tr.Stats().Packets; n != packets {
		b.Fatalf("read %d packets, the capture has %d", n, packets)
	}
	return r
}
