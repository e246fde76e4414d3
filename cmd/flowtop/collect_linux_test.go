package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// directed is a TCP or UDP flow direction: source to destination.
type directed struct {
	proto string
	src   string
	sport int
	dst   string
	dport int
}

type counts struct{ pkts, bytes uint64 }

func addDirected(m map[directed]counts, k directed, pkts, bytes uint64) {
	if pkts == 0 && bytes == 0 {
		return
	}
	c := m[k]
	c.pkts += pkts
	c.bytes += bytes
	m[k] = c
}

// TestCollectSoftflowd: softflowd reads every oracle trace and exports NetFlow
// v5, v9 and IPFIX to nfcapd, which repeats each datagram to a collecting
// flowtop. For every direction of every TCP and UDP flow, flowtop's conn.log
// counts the packets and bytes that nfdump shows of the same export.
func TestCollectSoftflowd(t *testing.T) {
	for _, tool := range []string{"softflowd", "nfcapd", "nfdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found (Debian packages softflowd, nfdump)", tool)
		}
	}
	traces, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap"))
	if len(traces) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	bin := flowtopBinary(t)
	for _, version := range []int{5, 9, 10} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			dir := t.TempDir()
			port, _ := freeUDPPort(t)
			logPath := filepath.Join(dir, "conn.log")
			var stderr bytes.Buffer
			ft := exec.Command(bin, "--collect", fmt.Sprintf("udp://127.0.0.1:%d", port), "--headless", "--json", "-v", "-w", logPath)
			ft.Stderr = &stderr
			if err := ft.Start(); err != nil {
				t.Fatal(err)
			}
			defer ft.Process.Kill()
			nfPort, stop := nfcapd(t, dir, "-R", fmt.Sprintf("127.0.0.1/%d", port))
			for _, trace := range traces {
				// Traces of link types softflowd does not read export nothing.
				exec.Command("softflowd", "-r", trace, "-n", fmt.Sprintf("127.0.0.1:%d", nfPort), "-v", strconv.Itoa(version)).Run()
			}
			nf := stop()
			time.Sleep(500 * time.Millisecond) // the repeated datagrams, into flowtop's socket
			ft.Process.Signal(syscall.SIGINT)
			if err := ft.Wait(); err != nil {
				t.Fatalf("flowtop: %v: %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "0 malformed") || !strings.Contains(stderr.String(), "0 records dropped") {
				t.Errorf("flowtop: %s", stderr.String())
			}

			want := map[directed]counts{} // nfdump's
			for _, r := range nf {
				if r.proto == "tcp" || r.proto == "udp" {
					addDirected(want, directed{r.proto, r.sa, r.sp, r.da, r.dp}, r.ipkt, r.ibyt)
					addDirected(want, directed{r.proto, r.da, r.dp, r.sa, r.sp}, r.opkt, r.obyt)
				}
			}
			data, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			got := map[directed]counts{}
			conns := 0
			for _, r := range parseConnLog(t, data) {
				if r.OrigBytes != nil {
					t.Errorf("a connection from flow records has orig_bytes: %+v", r)
				}
				if r.Proto != "tcp" && r.Proto != "udp" {
					continue
				}
				conns++
				addDirected(got, directed{r.Proto, r.OrigH, r.OrigP, r.RespH, r.RespP}, r.OrigPkts, r.OrigIPBytes)
				addDirected(got, directed{r.Proto, r.RespH, r.RespP, r.OrigH, r.OrigP}, r.RespPkts, r.RespIPBytes)
			}
			if len(want) == 0 {
				t.Fatal("nfdump shows no TCP or UDP flows")
			}
			for k, w := range want {
				if g := got[k]; g != w {
					t.Errorf("%v: flowtop %+v, nfdump %+v", k, g, w)
				}
			}
			for k, g := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%v: flowtop %+v, nfdump nothing", k, g)
				}
			}
			t.Logf("NetFlow/IPFIX v%d: %d flow directions agree, in %d TCP and UDP connections", version, len(want), conns)
		})
	}
}

// TestRelay: one flowtop exports every oracle trace, another collects it. The
// collector's conn.log has, for each TCP and UDP 5-tuple, the exporter's
// per-direction packets and IP bytes, and for a tuple the exporter saw once,
// its conn_state, history and service.
func TestRelay(t *testing.T) {
	traces, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap*"))
	if len(traces) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	bin := flowtopBinary(t)
	dir := t.TempDir()
	port, addr := freeUDPPort(t)
	logPath := filepath.Join(dir, "conn.log")
	var stderr bytes.Buffer
	ft := exec.Command(bin, "--collect", "udp://"+addr, "--headless", "--json", "-v", "-w", logPath)
	ft.Stderr = &stderr
	if err := ft.Start(); err != nil {
		t.Fatal(err)
	}
	defer ft.Process.Kill()
	time.Sleep(300 * time.Millisecond) // listening
	var exported bytes.Buffer
	for _, trace := range traces {
		var stdout, errb bytes.Buffer
		if st := run([]string{"-C", "--headless", "--json", "-r", trace, "--export", fmt.Sprintf("udp://127.0.0.1:%d", port)}, &stdout, &errb); st != exitOK {
			t.Fatalf("%s: %s", trace, errb.String())
		}
		exported.Write(stdout.Bytes())
	}
	time.Sleep(500 * time.Millisecond)
	ft.Process.Signal(syscall.SIGTERM)
	if err := ft.Wait(); err != nil {
		t.Fatalf("collector: %v: %s", err, stderr.String())
	}
	collected, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct{ connState, history, service string }
	parse := func(b []byte) (map[tupleKey]dirCounts, map[tupleKey][]rec) {
		byTuple := map[tupleKey][]rec{}
		for _, r := range parseConnLog(t, b) {
			k := tupleKey{r.Proto, r.OrigH, r.OrigP, r.RespH, r.RespP}
			byTuple[k] = append(byTuple[k], rec{r.ConnState, r.History, r.Service})
		}
		return connlogCounts(t, b), byTuple
	}
	wantN, wantRecs := parse(exported.Bytes())
	gotN, gotRecs := parse(collected)
	for k, w := range wantN {
		if g := gotN[k]; g != w {
			t.Errorf("%v: collected %+v, exported %+v", k, g, w)
		}
		if len(wantRecs[k]) == 1 && (len(gotRecs[k]) != 1 || gotRecs[k][0] != wantRecs[k][0]) {
			t.Errorf("%v: collected %+v, exported %+v", k, gotRecs[k], wantRecs[k])
		}
	}
	if len(gotN) != len(wantN) {
		t.Errorf("collected %d TCP and UDP tuples, exported %d", len(gotN), len(wantN))
	}
	t.Logf("%d TCP and UDP tuples relayed; %s", len(wantN), strings.TrimSpace(stderr.String()))
}
