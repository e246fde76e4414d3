// Package benchgen generates deterministic synthetic packet captures for
// flowtop's throughput and memory benchmarks.
//
// A capture is described by a Workload and a seed: the same pair always gives
// the same bytes. Captures are classic pcap files (Ethernet link type,
// microsecond timestamps) whose IPv4, TCP, UDP, ICMP and ICMPv6 checksums are
// all correct, because the tracker verifies them. Flows are interleaved the way
// a busy link interleaves them: a fixed number of flows is active at once, each
// packet comes from a randomly chosen active flow, and packet time advances by a
// few microseconds per packet, so timestamps strictly increase.
//
// Every TCP connection is a well-formed Zeek "SF" connection: three-way
// handshake, data segments each acknowledged by the peer, and a FIN exchange in
// both directions followed by a final ACK.
package benchgen

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Workload describes a synthetic capture. The zero value is an empty capture.
// Workloads are comparable, so a cached capture can be matched to the one asked
// for with ==.
type Workload struct {
	// Name labels the workload in sidecar files and reports.
	Name string `json:"name"`
	// TCPConns is the number of short request/response TCP connections:
	// handshake, 1–3 data segments (50–1400 bytes) each way, FIN teardown.
	TCPConns int `json:"tcp_conns"`
	// UDPFlows is the number of DNS-like UDP flows: one query (40–80 bytes) to
	// port 53 and one response (100–400 bytes).
	UDPFlows int `json:"udp_flows"`
	// ICMPFlows is the number of ICMP (ICMPv6 for IPv6 flows) echo flows of 1–4
	// request/reply pairs with 56-byte payloads.
	ICMPFlows int `json:"icmp_flows"`
	// Elephants is the number of long bulk TCP connections. Even-numbered ones
	// are downloads (the responder sends), odd-numbered ones uploads.
	Elephants int `json:"elephants"`
	// ElephantSegments is the number of full-size data segments each elephant
	// carries, every one acknowledged by its own ACK: 1448 bytes over IPv4, 1428
	// over IPv6 (a 1500-byte MTU less the TCP timestamp option of a typical
	// stack, although the generator sends no options outside SYNs).
	ElephantSegments int `json:"elephant_segments"`
	// Concurrency is how many flows are active (interleaved) at once.
	Concurrency int `json:"concurrency"`
	// IPv6Percent is the share of flows of each kind that use IPv6.
	IPv6Percent int `json:"ipv6_percent"`
	// MeanGap is the mean packet inter-arrival time. Gaps are whole microseconds,
	// uniform in [1µs, 2*MeanGap-1µs].
	MeanGap time.Duration `json:"mean_gap"`
}

// ManyFlows is the connection-heavy workload: 200k short TCP connections, 40k
// DNS-like UDP flows and 5k ICMP echo flows, 10% IPv6, 2000 flows active at
// once, 10µs mean packet gap. It has about 2.9M packets spanning about 29 s of
// packet time, short enough that no inactivity timeout fires, long enough that
// most connections are removed by the TCP close delay before the end.
func ManyFlows() Workload {
	return Workload{
		Name:        "many",
		TCPConns:    200_000,
		UDPFlows:    40_000,
		ICMPFlows:   5_000,
		Concurrency: 2000,
		IPv6Percent: 10,
		MeanGap:     10 * time.Microsecond,
	}
}

// Elephants is the bulk-transfer workload: 50 interleaved TCP connections of
// 2500 full-size segments each (about 200 MB of capture, 250k packets), 10%
// IPv6, 10µs mean packet gap.
func Elephants() Workload {
	return Workload{
		Name:             "elephants",
		Elephants:        50,
		ElephantSegments: 2500,
		Concurrency:      50,
		IPv6Percent:      10,
		MeanGap:          10 * time.Microsecond,
	}
}

// ByName returns the predefined workload called name ("many" or "elephants").
func ByName(name string) (Workload, bool) {
	switch name {
	case "many":
		return ManyFlows(), true
	case "elephants":
		return Elephants(), true
	}
	return Workload{}, false
}

// Scale returns w with every flow count and ElephantSegments multiplied by f,
// keeping at least one of anything w had. Concurrency, the IPv6 share and the
// packet gap are unchanged. Tests use it to build small captures.
func (w Workload) Scale(f float64) Workload {
	scale := func(n int) int {
		if n <= 0 {
			return n
		}
		return max(1, int(math.Round(float64(n)*f)))
	}
	w.TCPConns = scale(w.TCPConns)
	w.UDPFlows = scale(w.UDPFlows)
	w.ICMPFlows = scale(w.ICMPFlows)
	w.Elephants = scale(w.Elephants)
	w.ElephantSegments = scale(w.ElephantSegments)
	return w
}

// flows returns the total number of flows of every kind.
func (w Workload) flows() int {
	return w.TCPConns + w.UDPFlows + w.ICMPFlows + w.Elephants
}

func (w Workload) validate() error {
	switch {
	case w.TCPConns < 0 || w.UDPFlows < 0 || w.ICMPFlows < 0 || w.Elephants < 0 || w.ElephantSegments < 0:
		return errors.New("benchgen: negative flow count")
	case w.flows() > 0 && w.Concurrency < 1:
		return errors.New("benchgen: concurrency must be at least 1")
	case w.IPv6Percent < 0 || w.IPv6Percent > 100:
		return fmt.Errorf("benchgen: ipv6 percent %d out of range", w.IPv6Percent)
	case w.MeanGap < time.Microsecond:
		return fmt.Errorf("benchgen: mean gap %v below 1µs", w.MeanGap)
	}
	return nil
}

// Summary counts what a generated capture holds.
type Summary struct {
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"` // sum of packet lengths, without pcap record headers
	TCPConns  int    `json:"tcp_conns"`
	UDPFlows  int    `json:"udp_flows"`
	ICMPFlows int    `json:"icmp_flows"`
	// Duration is the packet time from the first packet to the last.
	Duration time.Duration `json:"duration"`
}
