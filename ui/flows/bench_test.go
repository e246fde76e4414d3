package flows

import (
	"testing"

	"github.com/flowtop/flowtop/internal/flowsynth"
	"github.com/flowtop/flowtop/ui/filter"
)

// Benchmarks of the Store alone, the pipeline's share of a display frame: Apply of a
// snapshot in which about 10% of the flows changed, and Rows sorted and filtered.
// BenchmarkFrame in package ui measures the whole frame (pipeline and View). The
// synthetic workload comes from internal/flowsynth.
//
//	go test -run '^$' -bench FrameStore -benchmem ./ui/flows/

// benchSizes are the store sizes measured: flows held, live and lingering closed.
var benchSizes = []struct {
	name string
	n    int
}{{"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}}

// benchFilter is the filter of the measured queries: about 72% of the flows (the
// TCP connections past their handshake) pass.
const benchFilter = "tcp and bytes > 1k"

// BenchmarkFrameStore measures, at each size, one refresh of the Store:
//
//   - apply: Apply of the next snapshot (10% of the flows changed, a few opened and
//     closed, the closed ones past the linger time expired);
//   - rows/sort=start: Rows sorted by start (the default, whose order barely
//     changes between frames), closed flows shown, filtered by benchFilter;
//   - rows/sort=rate: the same sorted by rate, descending (top talkers), whose
//     order changes every frame;
//   - sort/sort=rate: the sort alone, the rest of Rows being its index rebuild
//     and the filter. (Sorting by start, the slice is already in order.)
//
// Each iteration generates and applies a snapshot and, but for apply, computes
// the rows as the pipeline does; only the named step is timed. apply skips Rows,
// which does not change what Apply does, to keep the untimed share small.
func BenchmarkFrameStore(b *testing.B) {
	flt, err := filter.Compile(benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range benchSizes {
		b.Run("n="+size.name, func(b *testing.B) {
			for _, step := range []struct {
				name string
				sort Column
				desc bool
				only string // "apply", "rows" or "sort"
			}{
				{"apply", ByStart, false, "apply"},
				{"rows/sort=start", ByStart, false, "rows"},
				{"rows/sort=rate", ByRate, true, "rows"},
				{"sort/sort=rate", ByRate, true, "sort"},
			} {
				b.Run(step.name, func(b *testing.B) {
					g := flowsynth.New(size.n, 1)
					s := New(flowsynth.Linger)
					s.Apply(g.Initial())
					q := Query{Sort: step.sort, Desc: step.desc, Match: flt.Match, ShowClosed: true}
					rows, _ := s.Rows(q)
					b.ReportAllocs()
					for b.Loop() {
						b.StopTimer()
						snap := g.Next()
						switch step.only {
						case "apply":
							b.StartTimer()
							s.Apply(snap)
						case "rows":
							s.Apply(snap)
							b.StartTimer()
							rows, _ = s.Rows(q)
						case "sort":
							s.Apply(snap)
							b.StartTimer()
							s.sort(q.Sort, q.Desc)
							b.StopTimer()
							rows, _ = s.Rows(q) // rebuilds the index
							b.StartTimer()
						}
					}
					if step.only != "apply" {
						b.ReportMetric(float64(len(rows)), "rows")
					}
					b.ReportMetric(float64(s.Len()), "flows")
				})
			}
		})
	}
}
