package tsharkcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ordinaryPcap is the capture made by scripts/make-ordinary-capture.sh.
const ordinaryPcap = "../../testdata/ordinary/ordinary.pcap"

// The two hosts of the capture (scripts/make-ordinary-capture.sh).
var (
	client4 = netip.MustParseAddr("10.77.0.1")
	server4 = netip.MustParseAddr("10.77.0.2")
	client6 = netip.MustParseAddr("fd77::1")
	server6 = netip.MustParseAddr("fd77::2")
)

// kind is one sort of connection the script generates, recognised by transport
// and server port, with the conn_state Zeek gives it.
type kind struct {
	name      string
	proto     string
	port      uint16 // server port; 0 for ICMP
	count     int    // connections of this kind in the capture
	connState string
}

// kinds is the expected-state table (see testdata/ordinary/README.md).
var kinds = []kind{
	// Both sides send FIN: both endpoints CLOSED.
	{"http download", TCP, 8080, 3, "SF"},
	// SYN answered by RST-ACK: resp RESET while orig is SYN_SENT.
	{"refused", TCP, 8099, 1, "REJ"},
	// Client RST (SO_LINGER 0) on an established connection; the responder
	// never closed.
	{"client abort", TCP, 8081, 1, "RSTO"},
	// Both sides sent datagrams.
	{"udp echo", UDP, 7777, 1, "SF"},
	// ICMP is always OTH (one IPv4 and one IPv6 echo conversation).
	{"ping", ICMP, 0, 2, "OTH"},
}

// classify returns the kind of the connection with key k and its client and
// server endpoints (ports zero for ICMP).
func classify(k Key) (kd *kind, client, server netip.AddrPort, err error) {
	switch {
	case k.Lo.Addr() == client4 && k.Hi.Addr() == server4, k.Lo.Addr() == client6 && k.Hi.Addr() == server6:
		client, server = k.Lo, k.Hi
	case k.Hi.Addr() == client4 && k.Lo.Addr() == server4, k.Hi.Addr() == client6 && k.Lo.Addr() == server6:
		client, server = k.Hi, k.Lo
	default:
		return nil, client, server, fmt.Errorf("%s: not between the capture's client and server", k)
	}
	for i := range kinds {
		if kinds[i].proto == k.Proto && kinds[i].port == server.Port() {
			return &kinds[i], client, server, nil
		}
	}
	return nil, client, server, fmt.Errorf("%s: no kind for server port %d/%s", k, server.Port(), k.Proto)
}

func needTshark(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed; skipping the tshark cross-check")
	}
	return path
}

func ordinarySummary(t *testing.T, tshark string) *Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := RunTshark(ctx, tshark, ordinaryPcap)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTsharkSummaryOfOrdinaryCapture checks the tshark half on its own: the
// conversations tshark finds in the capture are the ones the script generated,
// with the counts that follow from how it generated them.
func TestTsharkSummaryOfOrdinaryCapture(t *testing.T) {
	s := ordinarySummary(t, needTshark(t))
	t.Logf("tshark conversations in %s:\n%s", ordinaryPcap, s.Table())

	if s.NonIP != 0 {
		t.Errorf("%d non-IP frames; the script uses static neighbours, want none", s.NonIP)
	}
	seen := map[string]int{}
	httpSizes := map[int]int{} // file size -> downloads
	for _, c := range s.Conversations {
		kd, client, server, err := classify(c.Key)
		if err != nil {
			t.Error(err)
			continue
		}
		seen[kd.name]++
		if c.A != client {
			t.Errorf("%s: first packet sent by %s, want the client %s", c.Key, c.A, client)
		}
		cp, cb, _ := c.From(client)
		sp, sb, _ := c.From(server)
		v6 := client.Addr().Is6()
		errorf := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s (%s): client %d pkts/%d B, server %d pkts/%d B: %s",
				kd.name, c.Key, cp, cb, sp, sb, fmt.Sprintf(format, args...))
		}
		switch kd.name {
		case "http download":
			// 20 KiB over IPv6, 20 KiB and 300 KiB over IPv4; the server
			// sends the file plus headers and 52-72 B of IP/TCP per packet.
			size := 20 * 1024
			if !v6 && sb > 100*1024 {
				size = 300 * 1024
			}
			httpSizes[size]++
			if sb <= uint64(size) || sb > uint64(size)*115/100 {
				errorf("server IP bytes not within 15%% above the %d B file", size)
			}
			if sp < uint64(size/1448) {
				errorf("fewer server packets than MSS-sized segments of the file")
			}
			if cp < 4 || cb > 4096 {
				errorf("want >= 4 client packets (handshake, request, FIN) and < 4 KiB")
			}
		case "refused":
			// SYN with MSS, SACK-permitted, timestamps and window scale
			// (20 + 40 B), answered by a bare RST-ACK (20 + 20 B).
			if cp != 1 || cb != 60 || sp != 1 || sb != 40 {
				errorf("want 1 SYN of 60 B and 1 RST-ACK of 40 B")
			}
		case "client abort":
			// The client reads at least 12 KiB of the paced 4 KiB chunks,
			// then resets; the server never sends more than 400 KiB.
			if sb < 12*1024 || sb > 500*1024 || sp < 10 {
				errorf("server should have sent 12-400 KiB of data")
			}
			if cp < 3 {
				errorf("want >= 3 client packets (SYN, ACK, RST)")
			}
		case "udp echo":
			// Payloads 16, 100, 512 and 1200 B, echoed; 28 B of IP+UDP each.
			if want := uint64(4*28 + 16 + 100 + 512 + 1200); cp != 4 || sp != 4 || cb != want || sb != want {
				errorf("want 4 datagrams and %d IP bytes each way", want)
			}
		case "ping":
			// 56 B of echo data: 84 B per IPv4 packet, 104 B per IPv6 one;
			// ping -c 3 over IPv4, ping -c 2 over IPv6.
			n, size := uint64(3), uint64(84)
			if v6 {
				n, size = 2, 104
			}
			if cp != n || sp != n || cb != n*size || sb != n*size {
				errorf("want %d requests and %d replies of %d B", n, n, size)
			}
		}
	}
	for _, kd := range kinds {
		if seen[kd.name] != kd.count {
			t.Errorf("%d %s conversations, want %d", seen[kd.name], kd.name, kd.count)
		}
	}
	if httpSizes[20*1024] != 2 || httpSizes[300*1024] != 1 {
		t.Errorf("HTTP downloads by size %v, want two of 20 KiB and one of 300 KiB", httpSizes)
	}
}

// TestOrdinaryCaptureMatchesTshark runs flowtop on the capture and checks every
// connection's packets and IP bytes per direction against tshark's count, that
// no conversation is missing, and conn_state against the kinds table.
func TestOrdinaryCaptureMatchesTshark(t *testing.T) {
	tshark := needTshark(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "flowtop", "main.go")); errors.Is(err, os.ErrNotExist) {
		t.Skip("cmd/flowtop/main.go does not exist yet; skipping the flowtop run")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found: %v", err)
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "flowtop")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/flowtop")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/flowtop: %v\n%s", err, out)
	}

	pcap, err := filepath.Abs(ordinaryPcap)
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "conn.json")
	runCtx, cancelRun := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancelRun()
	run := exec.CommandContext(runCtx, bin, "-r", pcap, "--headless", "--json", "-w", outFile)
	var stderr bytes.Buffer
	run.Stdout, run.Stderr = &stderr, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("flowtop -r %s --headless --json -w %s: %v\n%s", pcap, outFile, err, stderr.Bytes())
	}
	f, err := os.Open(outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}

	s := ordinarySummary(t, tshark)
	t.Logf("tshark conversations:\n%s", s.Table())
	var lines []string
	for _, r := range recs {
		lines = append(lines, r.String())
	}
	t.Logf("flowtop records:\n%s", strings.Join(lines, "\n"))

	pairs, problems := Match(s, recs)
	for _, p := range problems {
		t.Error(p)
	}
	for _, p := range pairs {
		kd, client, _, err := classify(p.Conv.Key)
		if err != nil {
			t.Error(err)
			continue
		}
		if p.Rec.ConnState != kd.connState {
			t.Errorf("%s (%s): conn_state %q, want %q (history %q)", kd.name, p.Conv.Key, p.Rec.ConnState, kd.connState, p.Rec.History)
		}
		if p.Rec.Orig.Addr() != client.Addr() {
			t.Errorf("%s (%s): originator %s, want the client %s", kd.name, p.Conv.Key, p.Rec.Orig, client)
		}
	}
}

// tsharkRows is a hand-written dump in the TsharkFields layout.
const tsharkRows = `1,10.0.0.1,10.0.0.2,,,60,,6,,40000,80,,
2,10.0.0.2,10.0.0.1,,,40,,6,,80,40000,,
3,,,,,,,,,,,,
4,,,fd00::1,fd00::2,,28,,17,,,5000,53
5,,,fd00::2,fd00::1,,60,,17,,,53,5000
6,10.0.0.3,10.0.0.1,,,56,,1,,40000,80,,
7,10.0.0.1,10.0.0.3,,,84,,1,,,,,
8,10.0.0.1,10.0.0.2,,,52,,6,,40000,80,,
9,,,fd00::1,fd00::2,,64,,58,,,,
`

func TestParseTshark(t *testing.T) {
	s, err := ParseTshark(strings.NewReader(tsharkRows))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", s.Table())
	ap := netip.MustParseAddrPort
	want := []Conversation{
		{Key: MakeKey(TCP, ap("10.0.0.1:40000"), ap("10.0.0.2:80")), A: ap("10.0.0.1:40000"), B: ap("10.0.0.2:80"),
			FirstFrame: 1, APkts: 2, AIPBytes: 112, BPkts: 1, BIPBytes: 40},
		{Key: MakeKey(UDP, ap("[fd00::2]:53"), ap("[fd00::1]:5000")), A: ap("[fd00::1]:5000"), B: ap("[fd00::2]:53"),
			FirstFrame: 4, APkts: 1, AIPBytes: 68, BPkts: 1, BIPBytes: 100},
		// The ICMP error quotes a TCP header; it still counts as ICMP.
		{Key: MakeKey(ICMP, ap("10.0.0.1:0"), ap("10.0.0.3:0")), A: ap("10.0.0.3:0"), B: ap("10.0.0.1:0"),
			FirstFrame: 6, APkts: 1, AIPBytes: 56, BPkts: 1, BIPBytes: 84},
		{Key: MakeKey(ICMP, ap("[fd00::1]:0"), ap("[fd00::2]:0")), A: ap("[fd00::1]:0"), B: ap("[fd00::2]:0"),
			FirstFrame: 9, APkts: 1, AIPBytes: 104},
	}
	if s.Frames != 9 || s.NonIP != 1 {
		t.Errorf("frames %d, non-IP %d; want 9, 1", s.Frames, s.NonIP)
	}
	if len(s.Conversations) != len(want) {
		t.Fatalf("%d conversations, want %d", len(s.Conversations), len(want))
	}
	for i, c := range s.Conversations {
		if *c != want[i] {
			t.Errorf("conversation %d:\n got %+v\nwant %+v", i, *c, want[i])
		}
	}
}

func TestParseTsharkRejectsBadRows(t *testing.T) {
	for _, row := range []string{
		"1,10.0.0.1,10.0.0.2,,,60,,6,,40000,80,",  // too few fields
		"x,10.0.0.1,10.0.0.2,,,60,,6,,40000,80,,", // bad frame number
		"1,10.0.0.1,10.0.0.2,,,60,,17,,,,,",       // UDP without ports (fragment)
		"1,10.0.0.1,bogus,,,60,,6,,40000,80,,",    // bad address
		"1,10.0.0.1,10.0.0.2,,,70000,,6,,1,80,,",  // ip.len out of range
	} {
		if _, err := ParseTshark(strings.NewReader(row + "\n")); err == nil {
			t.Errorf("ParseTshark(%q): no error", row)
		}
	}
}

func TestMatch(t *testing.T) {
	s, err := ParseTshark(strings.NewReader(tsharkRows))
	if err != nil {
		t.Fatal(err)
	}
	// Orientations as a tracker might choose them: the TCP one reversed (so
	// the directions must be swapped), ICMP with Zeek's type/code ports.
	good := `{"id.orig_h":"10.0.0.2","id.orig_p":80,"id.resp_h":"10.0.0.1","id.resp_p":40000,"proto":"tcp","orig_pkts":1,"orig_ip_bytes":40,"resp_pkts":2,"resp_ip_bytes":112,"conn_state":"OTH","history":"^hA"}
{"id.orig_h":"fd00::1","id.orig_p":5000,"id.resp_h":"fd00::2","id.resp_p":53,"proto":"udp","orig_pkts":1,"orig_ip_bytes":68,"resp_pkts":1,"resp_ip_bytes":100,"conn_state":"SF"}

{"id.orig_h":"10.0.0.3","id.orig_p":3,"id.resp_h":"10.0.0.1","id.resp_p":3,"proto":"icmp","orig_pkts":1,"orig_ip_bytes":56,"resp_pkts":1,"resp_ip_bytes":84,"conn_state":"OTH"}
{"id.orig_h":"fd00::1","id.orig_p":128,"id.resp_h":"fd00::2","id.resp_p":129,"proto":"icmp","orig_pkts":1,"orig_ip_bytes":104,"resp_pkts":0,"resp_ip_bytes":0,"conn_state":"OTH"}
`
	recs, err := ReadRecords(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	pairs, problems := Match(s, recs)
	if len(problems) != 0 || len(pairs) != 4 {
		t.Errorf("matching records: %d pairs, problems %q", len(pairs), problems)
	}

	// Wrong counts, a duplicate, a stranger, and three conversations left out.
	bad := `{"id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","orig_pkts":1,"orig_ip_bytes":40,"resp_pkts":2,"resp_ip_bytes":112,"conn_state":"OTH"}
{"id.orig_h":"10.0.0.2","id.orig_p":80,"id.resp_h":"10.0.0.1","id.resp_p":40000,"proto":"tcp","orig_pkts":1,"orig_ip_bytes":40,"resp_pkts":2,"resp_ip_bytes":112,"conn_state":"OTH"}
{"id.orig_h":"10.9.9.9","id.orig_p":1,"id.resp_h":"10.0.0.1","id.resp_p":2,"proto":"udp","orig_pkts":1,"orig_ip_bytes":40,"resp_pkts":0,"resp_ip_bytes":0,"conn_state":"S0"}
`
	recs, err = ReadRecords(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	_, problems = Match(s, recs)
	wantSub := []string{"flowtop orig 1 pkts/40 ip_bytes", "claimed by two records", "no tshark conversation",
		"missing from flowtop: udp", "missing from flowtop: icmp 10.0.0.1", "missing from flowtop: icmp [fd00::1]"}
	if len(problems) != len(wantSub) {
		t.Fatalf("problems %q, want %d", problems, len(wantSub))
	}
	for i, sub := range wantSub {
		if !strings.Contains(problems[i], sub) {
			t.Errorf("problem %d = %q, want it to mention %q", i, problems[i], sub)
		}
	}
}
