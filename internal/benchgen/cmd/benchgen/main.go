// Command benchgen writes a synthetic benchmark capture (see package benchgen).
//
//	go run ./internal/benchgen/cmd/benchgen -workload many -o /tmp/flowtop-bench/many.pcap
//
// An existing capture made with the same workload and seed is kept.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/flowtop/flowtop/internal/benchgen"
)

func main() {
	name := flag.String("workload", "many", "workload: many or elephants")
	out := flag.String("o", "", "output pcap `file` (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	scale := flag.Float64("scale", 1, "multiply the workload's flow and segment counts by `f`")
	syns := flag.Int("syns", 0, "instead of a workload, write `N` SYNs from unique 5-tuples, 1µs apart (a SYN flood)")
	flag.Parse()
	if *syns > 0 && *out != "" {
		if err := benchgen.WriteSYNs(*out, *syns, time.Microsecond); err != nil {
			fmt.Fprintln(os.Stderr, "benchgen:", err)
			os.Exit(1)
		}
		return
	}
	wl, ok := benchgen.ByName(*name)
	if !ok || *out == "" || flag.NArg() > 0 || *scale <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *scale != 1 {
		wl = wl.Scale(*scale)
	}
	start := time.Now()
	sum, err := benchgen.Generate(*out, wl, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
	var size int64
	if info, err := os.Stat(*out); err == nil {
		size = info.Size()
	}
	fmt.Printf("%s: %s, %d packets, %.1f MB, %d tcp, %d udp, %d icmp flows, %v of packet time (%v)\n",
		*out, wl.Name, sum.Packets, float64(size)/1e6, sum.TCPConns, sum.UDPFlows, sum.ICMPFlows,
		sum.Duration, time.Since(start).Round(time.Millisecond))
}
