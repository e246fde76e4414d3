package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/flowtop/flowtop/internal/benchgen"
	"github.com/flowtop/flowtop/tracker"
)

// seed is the benchgen seed of every capture the benchmarks use.
const seed = 1

// memConns is the number of open connections BenchmarkMemoryPerConn creates.
const memConns = 200_000

// readBuffer is the baseline's read-ahead in front of pcapgo, the same size as
// the tracker's file source uses.
const readBuffer = 1 << 20

var workloads = []benchgen.Workload{benchgen.ManyFlows(), benchgen.Elephants()}

// capture is a generated capture file and what it holds.
type capture struct {
	path string
	sum  benchgen.Summary
}

var (
	capturesMu sync.Mutex
	captures   = map[string]capture{}
)

// captureFile returns the capture of wl, generating it into
// os.TempDir()/flowtop-bench unless a previous run left it there.
func captureFile(b *testing.B, wl benchgen.Workload) capture {
	b.Helper()
	capturesMu.Lock()
	defer capturesMu.Unlock()
	if c, ok := captures[wl.Name]; ok {
		return c
	}
	path := filepath.Join(os.TempDir(), "flowtop-bench", wl.Name+".pcap")
	start := time.Now()
	sum, err := benchgen.Generate(path, wl, seed)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("capture %s (%v): %+v", path, time.Since(start).Round(time.Millisecond), sum)
	c := capture{path, sum}
	captures[wl.Name] = c
	return c
}

func skipShort(b *testing.B) {
	if testing.Short() {
		b.Skip("reads captures of hundreds of MB and opens 200k connections; skipped with -short")
	}
}

// flowKey is the baseline's connection key: fixed-size and comparable, IPv4
// addresses mapped into IPv6, canonicalised so that both directions of a flow
// share one entry. ICMP flows have zero ports.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
}

// baseline is the minimal loop the tracker is measured against: decode with
// preallocated layers and count packets per 5-tuple.
type baseline struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	counts  map[flowKey]uint64
}

func newBaseline() *baseline {
	bl := &baseline{
		decoded: make([]gopacket.LayerType, 0, 8),
		counts:  make(map[flowKey]uint64),
	}
	bl.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&bl.eth, &bl.dot1q, &bl.ip4, &bl.ip6, &bl.tcp, &bl.udp, &bl.icmp4, &bl.icmp6)
	bl.parser.IgnoreUnsupported = true
	return bl
}

// packet counts one Ethernet frame.
func (bl *baseline) packet(data []byte) {
	// A decoding error leaves the layers decoded before it; use what there is.
	_ = bl.parser.DecodeLayers(data, &bl.decoded)
	var k flowKey
	ip := false
	for _, typ := range bl.decoded {
		switch typ {
		case layers.LayerTypeIPv4:
			k.a[10], k.a[11], k.b[10], k.b[11] = 0xff, 0xff, 0xff, 0xff
			copy(k.a[12:], bl.ip4.SrcIP)
			copy(k.b[12:], bl.ip4.DstIP)
			k.proto = uint8(bl.ip4.Protocol)
			ip = true
		case layers.LayerTypeIPv6:
			copy(k.a[:], bl.ip6.SrcIP)
			copy(k.b[:], bl.ip6.DstIP)
			k.proto = uint8(bl.ip6.NextHeader)
			ip = true
		case layers.LayerTypeTCP:
			k.pa, k.pb = uint16(bl.tcp.SrcPort), uint16(bl.tcp.DstPort)
		case layers.LayerTypeUDP:
			k.pa, k.pb = uint16(bl.udp.SrcPort), uint16(bl.udp.DstPort)
		}
	}
	if !ip {
		return
	}
	if c := bytes.Compare(k.a[:], k.b[:]); c > 0 || c == 0 && k.pa > k.pb {
		k.a, k.b, k.pa, k.pb = k.b, k.a, k.pb, k.pa
	}
	bl.counts[k]++
}

// runBaseline reads the capture at path through the baseline loop and returns
// the number of packets and of distinct flows.
func runBaseline(path string) (pkts uint64, flows int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, readBuffer))
	if err != nil {
		return 0, 0, err
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		return 0, 0, fmt.Errorf("%s: link type %v, want Ethernet", path, r.LinkType())
	}
	bl := newBaseline()
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			return pkts, len(bl.counts), nil
		}
		if err != nil {
			return pkts, len(bl.counts), err
		}
		bl.packet(data)
		pkts++
	}
}

// BenchmarkBaseline runs the minimal decode-and-count loop over each workload's
// capture, one whole file per iteration.
func BenchmarkBaseline(b *testing.B) {
	skipShort(b)
	for _, wl := range workloads {
		c := captureFile(b, wl)
		b.Run(wl.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(c.sum.Bytes))
			var pkts uint64
			var flows int
			for b.Loop() {
				n, fl, err := runBaseline(c.path)
				if err != nil {
					b.Fatal(err)
				}
				pkts += n
				flows = fl
			}
			if want := c.sum.TCPConns + c.sum.UDPFlows + c.sum.ICMPFlows; flows != want {
				b.Errorf("baseline counted %d flows, the capture has %d", flows, want)
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkFlowtop runs the tracker with its default configuration over each
// workload's capture, one whole file per iteration, from OpenFile to the end of
// Run (which flushes every connection). The conns metric is the number of
// connection records the tracker removed.
func BenchmarkFlowtop(b *testing.B) {
	skipShort(b)
	for _, wl := range workloads {
		c := captureFile(b, wl)
		b.Run(wl.Name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(c.sum.Bytes))
			var pkts uint64
			var removed int
			for b.Loop() {
				src, err := tracker.OpenFile(c.path)
				if err != nil {
					b.Fatal(err)
				}
				removed = 0
				tr := tracker.New(tracker.Config{}, tracker.Handlers{Remove: func(*tracker.Record) { removed++ }})
				err = tr.Run(context.Background(), src)
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
				if n := tr.Stats().Packets; n != c.sum.Packets {
					b.Fatalf("tracker read %d packets, the capture has %d", n, c.sum.Packets)
				}
				pkts += tr.Stats().Packets
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(removed), "conns")
		})
	}
}

// BenchmarkExtensions measures what removal hooks, thresholds and polling cost the
// connections that do not use them, over the many-flows capture:
//   - "none": no extension in use and no handler but Remove;
//   - "new-conn-handler": a NewConn handler that returns at once, the price of being
//     told about every new connection (Zeek's new_connection event);
//   - "used-by-1pct": the same handler gives every hundredth connection a removal
//     hook, byte, packet and duration thresholds and a poll every second of network
//     time; the other 99% use nothing.
//
// used-by-1pct at the rate of new-conn-handler means unused extensions cost nothing
// measurable. (The crossings, polls and hooks metrics show the extensions ran.)
func BenchmarkExtensions(b *testing.B) {
	skipShort(b)
	c := captureFile(b, benchgen.ManyFlows())
	for _, name := range []string{"none", "new-conn-handler", "used-by-1pct"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var pkts, crossings, polls, hooks uint64
			for b.Loop() {
				src, err := tracker.OpenFile(c.path)
				if err != nil {
					b.Fatal(err)
				}
				h := tracker.Handlers{Remove: func(*tracker.Record) {}}
				hook := tracker.NewRemovalHook(func(*tracker.Record) { hooks++ })
				poll := func(tracker.Conn, int) time.Duration { polls++; return time.Second }
				n := 0
				switch name {
				case "new-conn-handler":
					h.NewConn = func(tracker.Conn) { n++ }
				case "used-by-1pct":
					h.NewConn = func(c tracker.Conn) {
						if n++; n%100 != 0 {
							return
						}
						c.RegisterRemovalHook(hook)
						c.SetBytesThreshold(1000, true)
						c.SetBytesThreshold(100000, false)
						c.SetPacketsThreshold(10, false)
						c.SetDurationThreshold(time.Second)
						c.Poll(0, poll)
					}
					h.Threshold = func(*tracker.Crossing) { crossings++ }
				}
				tr := tracker.New(tracker.Config{}, h)
				err = tr.Run(context.Background(), src)
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
				pkts += tr.Stats().Packets
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(crossings)/float64(b.N), "crossings")
			b.ReportMetric(float64(polls)/float64(b.N), "polls")
			b.ReportMetric(float64(hooks)/float64(b.N), "hooks")
		})
	}
}

// openConns holds the packets that open memConns connections (built once).
var openConns = sync.OnceValue(func() []benchgen.Packet {
	return benchgen.OpenConns(memConns, seed)
})

// heapAlloc returns the bytes of live heap objects after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryPerConn opens memConns connections (SYN, SYN-ACK, ACK each,
// left open) and reports the live heap they cost per connection: in the
// tracker, and for reference in the baseline's packet-count map.
func BenchmarkMemoryPerConn(b *testing.B) {
	skipShort(b)
	pkts := openConns()
	b.Run("flowtop", func(b *testing.B) {
		b.ReportAllocs()
		var perConn float64
		var active int
		for b.Loop() {
			before := heapAlloc()
			tr := tracker.New(tracker.Config{}, tracker.Handlers{Remove: func(*tracker.Record) {}})
			for _, p := range pkts {
				tr.Packet(p.Data, p.CI, layers.LinkTypeEthernet)
			}
			after := heapAlloc()
			active = tr.Stats().Active
			runtime.KeepAlive(tr)
			perConn = (float64(after) - float64(before)) / memConns
		}
		b.ReportMetric(perConn, "bytes/conn")
		b.ReportMetric(float64(active), "conns")
	})
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		var perConn float64
		for b.Loop() {
			before := heapAlloc()
			bl := newBaseline()
			for _, p := range pkts {
				bl.packet(p.Data)
			}
			after := heapAlloc()
			if len(bl.counts) != memConns {
				b.Fatalf("baseline counted %d connections, want %d", len(bl.counts), memConns)
			}
			runtime.KeepAlive(bl)
			perConn = (float64(after) - float64(before)) / memConns
		}
		b.ReportMetric(perConn, "bytes/conn")
	})
}
