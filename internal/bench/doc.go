// Package bench holds flowtop's throughput and memory benchmarks; it has no
// non-test code.
//
// BenchmarkFlowtop runs the tracker over the synthetic captures of package
// benchgen (generated once into os.TempDir()/flowtop-bench and reused across
// runs), and BenchmarkBaseline runs the minimal loop over the same files:
// pcapgo with a 1 MiB read buffer and zero-copy reads, a DecodingLayerParser
// over preallocated layers, and a packet count per canonical 5-tuple in a map.
// The ratio of the two is the tracker's cost over the bare minimum.
// BenchmarkMemoryPerConn measures the heap each open connection costs in the
// tracker and, for reference, in the baseline map.
//
// report.sh runs them all and prints one summary line per workload.
package bench
