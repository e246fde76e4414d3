package benchgen

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// onesSum adds b to the ones' complement sum s as big-endian 16-bit words.
func onesSum(b []byte, s uint32) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		s += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// checksumOK reports whether a ones' complement sum that includes the checksum
// field folds to 0xffff.
func checksumOK(s uint32) bool {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return s == 0xffff
}

// pseudoSum is the sum of the IPv4 or IPv6 pseudo-header for an upper-layer
// packet of length n and protocol proto.
func pseudoSum(src, dst []byte, proto uint8, n int) uint32 {
	s := onesSum(src, 0)
	s = onesSum(dst, s)
	return s + uint32(proto) + uint32(n)>>16 + uint32(n)&0xffff
}

type flowKey struct {
	a, b   netip.Addr
	pa, pb uint16
	proto  uint8
}

// key returns the canonical (direction-independent) key of a packet.
func key(src, dst netip.Addr, sp, dp uint16, proto uint8) flowKey {
	if c := src.Compare(dst); c > 0 || c == 0 && sp > dp {
		src, dst, sp, dp = dst, src, dp, sp
	}
	return flowKey{src, dst, sp, dp, proto}
}

// tcpConn is what the checker tracks of a TCP connection.
type tcpConn struct {
	cli      netip.Addr
	v6       bool
	nxt      [2]uint32 // next expected sequence number per side (0 = originator)
	synAck   bool
	fins     [2]bool
	closed   bool // final ACK after both FINs seen
	dataSegs [2]int
}

// stats is what the checker found in a capture.
type stats struct {
	Summary
	v6Flows    [kindOpen + 1]int
	tcp        map[flowKey]*tcpConn
	udpPackets map[flowKey]int
	icmp       map[flowKey]int
}

// check decodes a whole capture with gopacket and verifies every checksum, the
// timestamps, the TCP sequence and acknowledgement numbers, and the flow shapes.
func check(t *testing.T, r io.Reader) stats {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	if pr.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", pr.LinkType())
	}
	var (
		eth   layers.Ethernet
		ip4   layers.IPv4
		ip6   layers.IPv6
		tcp   layers.TCP
		udp   layers.UDP
		icmp4 layers.ICMPv4
		icmp6 layers.ICMPv6
		echo6 layers.ICMPv6Echo
		pay   gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &udp, &icmp4, &icmp6, &echo6, &pay)
	parser.IgnoreUnsupported = true // payloads on well-known ports (DNS, TLS)
	var decoded []gopacket.LayerType
	st := stats{tcp: map[flowKey]*tcpConn{}, udpPackets: map[flowKey]int{}, icmp: map[flowKey]int{}}
	var first, last time.Time
	for n := 0; ; n++ {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("packet %d: "+format, append([]any{n + 1}, args...)...)
		}
		if ci.CaptureLength != len(data) || ci.Length != len(data) {
			fail("lengths %d/%d, data %d", ci.CaptureLength, ci.Length, len(data))
		}
		if n == 0 {
			first = ci.Timestamp
		} else if !ci.Timestamp.After(last) {
			fail("timestamp %v not after %v", ci.Timestamp, last)
		}
		last = ci.Timestamp
		st.Packets++
		st.Bytes += uint64(len(data))
		if len(data) < 60 {
			fail("%d bytes, shorter than a minimum Ethernet frame", len(data))
		}
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			fail("decode: %v", err)
		}

		var src, dst netip.Addr
		var l4 []byte
		var proto uint8
		v6 := decoded[1] == layers.LayerTypeIPv6
		if v6 {
			src, _ = netip.AddrFromSlice(ip6.SrcIP)
			dst, _ = netip.AddrFromSlice(ip6.DstIP)
			proto = uint8(ip6.NextHeader)
			l4 = data[14+40 : 14+40+int(ip6.Length)]
		} else {
			hdr := data[14 : 14+int(ip4.IHL)*4]
			if !checksumOK(onesSum(hdr, 0)) {
				fail("bad IPv4 header checksum")
			}
			src, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip4.DstIP.To4())
			proto = uint8(ip4.Protocol)
			l4 = data[14+int(ip4.IHL)*4 : 14+int(ip4.Length)]
		}
		if proto != uint8(layers.IPProtocolICMPv4) {
			if !checksumOK(pseudoSum(src.AsSlice(), dst.AsSlice(), proto, len(l4)) + onesSum(l4, 0)) {
				fail("bad %v checksum", layers.IPProtocol(proto))
			}
		} else if !checksumOK(onesSum(l4, 0)) {
			fail("bad ICMP checksum")
		}
		if want := netip.MustParsePrefix("10.0.0.0/8"); v6 {
			want = netip.MustParsePrefix("2001:db8::/32")
			if !want.Contains(src) || !want.Contains(dst) {
				fail("addresses %v %v outside %v", src, dst, want)
			}
		} else if !want.Contains(src) || !want.Contains(dst) {
			fail("addresses %v %v outside %v", src, dst, want)
		}

		switch layers.IPProtocol(proto) {
		case layers.IPProtocolTCP:
			k := key(src, dst, uint16(tcp.SrcPort), uint16(tcp.DstPort), proto)
			c := st.tcp[k]
			if tcp.SYN && !tcp.ACK {
				if c != nil {
					fail("second SYN for %v", k)
				}
				c = &tcpConn{cli: src, v6: v6}
				c.nxt[0] = tcp.Seq + 1
				st.tcp[k] = c
				if v6 {
					st.v6Flows[kindTCP]++
				}
				continue
			}
			if c == nil {
				fail("TCP packet without SYN")
			}
			if c.closed {
				fail("TCP packet after the final ACK")
			}
			side := 0
			if src != c.cli {
				side = 1
			}
			if !tcp.ACK {
				fail("no ACK flag after the SYN")
			}
			if tcp.SYN {
				if side != 1 || c.synAck {
					fail("unexpected SYN-ACK")
				}
				c.synAck = true
				c.nxt[1] = tcp.Seq
			}
			if !c.synAck {
				fail("originator packet before the SYN-ACK")
			}
			if tcp.Seq != c.nxt[side] || tcp.Ack != c.nxt[1-side] {
				fail("seq %d ack %d, want %d %d", tcp.Seq, tcp.Ack, c.nxt[side], c.nxt[1-side])
			}
			if c.fins[0] && c.fins[1] {
				if side != 0 || len(tcp.Payload) != 0 || tcp.FIN {
					fail("want a bare final ACK from the originator")
				}
				c.closed = true
			}
			c.nxt[side] += uint32(len(tcp.Payload))
			if tcp.SYN || tcp.FIN {
				c.nxt[side]++
			}
			if tcp.FIN {
				c.fins[side] = true
			}
			if len(tcp.Payload) > 0 {
				c.dataSegs[side]++
			}
		case layers.IPProtocolUDP:
			k := key(src, dst, uint16(udp.SrcPort), uint16(udp.DstPort), proto)
			if st.udpPackets[k] == 0 {
				if udp.DstPort != 53 || len(udp.Payload) < 40 || len(udp.Payload) > 80 {
					fail("first UDP packet is not a DNS query")
				}
				if v6 {
					st.v6Flows[kindUDP]++
				}
			} else if udp.SrcPort != 53 || len(udp.Payload) < 100 || len(udp.Payload) > 400 {
				fail("second UDP packet is not a DNS response")
			}
			st.udpPackets[k]++
			var dns layers.DNS
			if err := dns.DecodeFromBytes(udp.Payload, gopacket.NilDecodeFeedback); err != nil {
				fail("DNS: %v", err)
			}
			if dns.QR != (st.udpPackets[k] == 2) || len(dns.Questions) != 1 || len(dns.Answers) != int(dns.ANCount) {
				fail("DNS: unexpected message %+v", dns)
			}
		case layers.IPProtocolICMPv4, layers.IPProtocolICMPv6:
			var id, seq uint16
			var reply bool
			if v6 {
				id, seq = echo6.Identifier, echo6.SeqNumber
				reply = icmp6.TypeCode.Type() == layers.ICMPv6TypeEchoReply
			} else {
				id, seq = icmp4.Id, icmp4.Seq
				reply = icmp4.TypeCode.Type() == layers.ICMPv4TypeEchoReply
			}
			k := key(src, dst, id, id, proto)
			n := st.icmp[k]
			if n == 0 && v6 {
				st.v6Flows[kindICMP]++
			}
			if reply != (n%2 == 1) || seq != uint16(n/2+1) {
				fail("ICMP echo %d of its flow: reply %v seq %d", n+1, reply, seq)
			}
			if len(l4) != 8+echoPayload {
				fail("ICMP message of %d bytes", len(l4))
			}
			st.icmp[k]++
		default:
			fail("unexpected protocol %d", proto)
		}
	}
	st.Duration = last.Sub(first)
	st.TCPConns, st.UDPFlows, st.ICMPFlows = len(st.tcp), len(st.udpPackets), len(st.icmp)
	return st
}

// checkWorkload verifies a capture generated for wl against wl, its summary and
// the flow shapes of its kinds.
func checkWorkload(t *testing.T, wl Workload, sum Summary, st stats) {
	t.Helper()
	if st.Summary != sum {
		t.Errorf("decoded %+v, summary %+v", st.Summary, sum)
	}
	if sum.TCPConns != wl.TCPConns+wl.Elephants || sum.UDPFlows != wl.UDPFlows || sum.ICMPFlows != wl.ICMPFlows {
		t.Errorf("summary %+v for workload %+v", sum, wl)
	}
	for k, c := range st.tcp {
		if !c.closed {
			t.Errorf("TCP %v not closed", k)
		}
		if wl.Elephants > 0 {
			if c.dataSegs[0]+c.dataSegs[1] != wl.ElephantSegments || c.dataSegs[0] != 0 && c.dataSegs[1] != 0 {
				t.Errorf("elephant %v: data segments %v", k, c.dataSegs)
			}
		} else if c.dataSegs[0] < 1 || c.dataSegs[0] > 3 || c.dataSegs[1] < 1 || c.dataSegs[1] > 3 {
			t.Errorf("TCP %v: data segments %v", k, c.dataSegs)
		}
	}
	for k, n := range st.udpPackets {
		if n != 2 {
			t.Errorf("UDP %v: %d packets", k, n)
		}
	}
	for k, n := range st.icmp {
		if n%2 != 0 || n < 2 || n > 8 {
			t.Errorf("ICMP %v: %d packets", k, n)
		}
	}
	v6 := func(n int) int { return n * wl.IPv6Percent / 100 }
	if got, want := st.v6Flows[kindTCP], v6(wl.TCPConns)+v6(wl.Elephants); got != want {
		t.Errorf("IPv6 TCP connections: %d, want %d", got, want)
	}
	if got, want := st.v6Flows[kindUDP], v6(wl.UDPFlows); got != want {
		t.Errorf("IPv6 UDP flows: %d, want %d", got, want)
	}
	if got, want := st.v6Flows[kindICMP], v6(wl.ICMPFlows); got != want {
		t.Errorf("IPv6 ICMP flows: %d, want %d", got, want)
	}
}

func TestWrite(t *testing.T) {
	for _, wl := range []Workload{ManyFlows().Scale(0.005), Elephants().Scale(0.1)} {
		t.Run(wl.Name, func(t *testing.T) {
			var buf bytes.Buffer
			sum, err := Write(&buf, wl, 7)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v: %d bytes", sum, buf.Len())
			checkWorkload(t, wl, sum, check(t, &buf))
		})
	}
}

func TestWriteSmallConcurrency(t *testing.T) {
	wl := ManyFlows().Scale(0.001)
	wl.Concurrency = 3
	var buf bytes.Buffer
	sum, err := Write(&buf, wl, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkWorkload(t, wl, sum, check(t, &buf))
}

func TestWriteDeterministic(t *testing.T) {
	wl := ManyFlows().Scale(0.001)
	gen := func(seed uint64) []byte {
		var buf bytes.Buffer
		if _, err := Write(&buf, wl, seed); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b, c := gen(1), gen(1), gen(2)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different captures")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds, same capture")
	}
}

func TestWriteInvalid(t *testing.T) {
	for _, wl := range []Workload{
		{TCPConns: -1, Concurrency: 1, MeanGap: time.Microsecond},
		{TCPConns: 1, MeanGap: time.Microsecond},
		{TCPConns: 1, Concurrency: 1, IPv6Percent: 101, MeanGap: time.Microsecond},
		{TCPConns: 1, Concurrency: 1},
	} {
		if _, err := Write(io.Discard, wl, 1); err == nil {
			t.Errorf("%+v: no error", wl)
		}
	}
}

// countingWriter counts the bytes written to it.
type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// TestFullScale generates the full workloads (without keeping them) and checks
// their size and that they stay well within the inactivity timeouts.
func TestFullScale(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the full benchmark workloads")
	}
	for _, wl := range []Workload{ManyFlows(), Elephants()} {
		t.Run(wl.Name, func(t *testing.T) {
			var n countingWriter
			start := time.Now()
			sum, err := Write(&n, wl, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v: %.1f MB in %v", sum, float64(n)/1e6, time.Since(start).Round(time.Millisecond))
			if sum.TCPConns != wl.TCPConns+wl.Elephants || sum.UDPFlows != wl.UDPFlows || sum.ICMPFlows != wl.ICMPFlows {
				t.Errorf("summary %+v for workload %+v", sum, wl)
			}
			if sum.Duration > 45*time.Second {
				t.Errorf("trace spans %v of packet time", sum.Duration)
			}
			if n > 1e9 {
				t.Errorf("capture of %d bytes", n)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "small.pcap")
	wl := ManyFlows().Scale(0.001)
	sum, err := Generate(path, wl, 3)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	checkWorkload(t, wl, sum, check(t, f))
	f.Close()

	// A cached capture is kept as it is.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	mtime := func() time.Time {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return info.ModTime()
	}
	sum2, err := Generate(path, wl, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sum2 != sum || !mtime().Equal(old) {
		t.Errorf("cached capture regenerated: %+v, mtime %v", sum2, mtime())
	}

	// Other parameters, or a damaged file, make a new capture.
	for _, tc := range []struct {
		name   string
		damage func()
		wl     Workload
		seed   uint64
	}{
		{"seed", nil, wl, 4},
		{"workload", nil, wl.Scale(2), 4},
		{"truncated", func() { os.Truncate(path, 100) }, wl.Scale(2), 4},
		{"no sidecar", func() { os.Remove(path + ".json") }, wl.Scale(2), 4},
		{"bad sidecar", func() { os.WriteFile(path+".json", []byte("{"), 0o644) }, wl.Scale(2), 4},
	} {
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		if tc.damage != nil {
			tc.damage()
		}
		sum, err := Generate(path, tc.wl, tc.seed)
		if err != nil {
			t.Fatal(err)
		}
		if mtime().Equal(old) {
			t.Errorf("%s: capture not regenerated", tc.name)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		checkWorkload(t, tc.wl, sum, check(t, f))
		f.Close()
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Errorf("directory holds %d files, want the capture and its sidecar", len(entries))
	}
}

func TestOpenConns(t *testing.T) {
	const n = 1000
	pkts := OpenConns(n, 1)
	if len(pkts) != 3*n {
		t.Fatalf("%d packets, want %d", len(pkts), 3*n)
	}
	// Write them to a pcap and run the checker over it, which tracks the
	// handshakes; then every connection must be open after its ACK.
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(p.CI, p.Data); err != nil {
			t.Fatal(err)
		}
	}
	st := check(t, &buf)
	if len(st.tcp) != n {
		t.Fatalf("%d connections, want %d", len(st.tcp), n)
	}
	for k, c := range st.tcp {
		if !c.synAck || c.closed || c.fins != [2]bool{} {
			t.Errorf("%v: %+v", k, c)
		}
	}
	if st.v6Flows[kindTCP] != n/10 {
		t.Errorf("%d IPv6 connections, want %d", st.v6Flows[kindTCP], n/10)
	}
}
