package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// dirCounts are a tuple's packets and IP bytes each way.
type dirCounts struct{ origPkts, origBytes, respPkts, respBytes uint64 }

// tupleKey is a TCP or UDP 5-tuple, originator first.
type tupleKey struct {
	proto, origH string
	origP        int
	respH        string
	respP        int
}

// connlogCounts sums conn.log's per-direction packets and IP bytes of TCP and
// UDP connections by 5-tuple (a tuple reused is summed, as a collector's records
// of it would be).
func connlogCounts(t *testing.T, jsonLog []byte) map[tupleKey]dirCounts {
	t.Helper()
	out := map[tupleKey]dirCounts{}
	for _, r := range parseConnLog(t, jsonLog) {
		if r.Proto != "tcp" && r.Proto != "udp" {
			continue
		}
		k := tupleKey{r.Proto, r.OrigH, r.OrigP, r.RespH, r.RespP}
		c := out[k]
		c.origPkts += r.OrigPkts
		c.origBytes += r.OrigIPBytes
		c.respPkts += r.RespPkts
		c.respBytes += r.RespIPBytes
		out[k] = c
	}
	return out
}

// connRec is what the tests compare of a conn.log JSON record.
type connRec struct {
	UID         string  `json:"uid"`
	Proto       string  `json:"proto"`
	OrigH       string  `json:"id.orig_h"`
	OrigP       int     `json:"id.orig_p"`
	RespH       string  `json:"id.resp_h"`
	RespP       int     `json:"id.resp_p"`
	Service     string  `json:"service"`
	ConnState   string  `json:"conn_state"`
	History     string  `json:"history"`
	OrigBytes   *uint64 `json:"orig_bytes"`
	OrigPkts    uint64  `json:"orig_pkts"`
	OrigIPBytes uint64  `json:"orig_ip_bytes"`
	RespPkts    uint64  `json:"resp_pkts"`
	RespIPBytes uint64  `json:"resp_ip_bytes"`
}

// parseConnLog reads a JSON conn.log.
func parseConnLog(t *testing.T, jsonLog []byte) []connRec {
	t.Helper()
	var out []connRec
	for _, line := range bytes.Split(bytes.TrimSpace(jsonLog), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r connRec
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("conn.log: %v: %s", err, line)
		}
		out = append(out, r)
	}
	return out
}

// nfRec is a flow record as nfdump prints it: exporter (sysid), protocol
// ("tcp", "udp", else the number), addresses, ports, packets and bytes each way.
type nfRec struct {
	exp                    int
	proto, sa, da          string
	sp, dp                 int
	ipkt, ibyt, opkt, obyt uint64
}

// freeUDPPort returns a UDP port of 127.0.0.1 that nothing listens on.
func freeUDPPort(t *testing.T) (int, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, pc.LocalAddr().String()
}

// nfcapd runs a collector on a free UDP port of 127.0.0.1, storing into dir,
// with more arguments if given; stop ends it and returns its flows as nfdump
// prints them.
func nfcapd(t *testing.T, dir string, more ...string) (port int, stop func() []nfRec) {
	t.Helper()
	port, _ = freeUDPPort(t)
	cmd := exec.Command("nfcapd", append([]string{"-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", dir, "-t", "3600", "-B", "8388608"}, more...)...)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	var log bytes.Buffer
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !said && strings.Contains(sc.Text(), "Startup") {
				ready <- true
				said = true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("nfcapd did not start: %s", log.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("nfcapd did not start in 10 s")
	}
	time.Sleep(100 * time.Millisecond) // "Startup" is said just before the socket is read
	return port, func() []nfRec {
		time.Sleep(time.Second) // for nfcapd to read the last datagrams off its socket
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		files, _ := filepath.Glob(filepath.Join(dir, "nfcapd.2*"))
		if len(files) == 0 {
			t.Fatalf("nfcapd wrote no file: %s", log.String())
		}
		args := []string{"-6", "-N", "-q", "-o", "fmt:%exp|%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%opkt|%obyt"}
		for _, f := range files {
			args = append(args, "-r", f)
		}
		b, err := exec.Command("nfdump", args...).Output()
		if err != nil {
			t.Fatalf("nfdump: %v", err)
		}
		var recs []nfRec
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Split(line, "|")
			if len(f) != 10 {
				t.Fatalf("nfdump line %q", line)
			}
			for i := range f {
				f[i] = strings.TrimSpace(f[i])
			}
			r := nfRec{proto: f[1], sa: f[2], da: f[4]}
			if p, ok := map[string]string{"6": "tcp", "17": "udp"}[f[1]]; ok { // -N prints numbers
				r.proto = p
			}
			r.exp, _ = strconv.Atoi(f[0])
			r.sp, _ = strconv.Atoi(f[3])
			r.dp, _ = strconv.Atoi(f[5])
			for j, v := range []*uint64{&r.ipkt, &r.ibyt, &r.opkt, &r.obyt} {
				*v, _ = strconv.ParseUint(f[6+j], 10, 64)
			}
			recs = append(recs, r)
		}
		return recs
	}
}

// TestExportToNfcapd exports every oracle trace to nfcapd, as biflows and as
// uniflows, and checks that nfdump shows, for every TCP and UDP connection,
// the packets and IP bytes each way that conn.log does.
func TestExportToNfcapd(t *testing.T) {
	for _, tool := range []string{"nfcapd", "nfdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found (Debian package nfdump)", tool)
		}
	}
	traces, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap*"))
	if len(traces) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	for _, biflow := range []bool{true, false} {
		t.Run(fmt.Sprintf("biflow=%v", biflow), func(t *testing.T) {
			port, stop := nfcapd(t, t.TempDir())
			// Each trace is its own exporter (observation domain), which nfcapd
			// numbers (sysid) in the order it first hears from them.
			var want []map[tupleKey]dirCounts
			for i, trace := range traces {
				var stdout, stderr bytes.Buffer
				target := fmt.Sprintf("udp://127.0.0.1:%d?domain=%d&biflow=%v", port, i+1, biflow)
				if st := run([]string{"-C", "--headless", "--json", "-v", "-r", trace, "--export", target}, &stdout, &stderr); st != exitOK {
					t.Fatalf("%s: status %d: %s", trace, st, stderr.String())
				}
				if !strings.Contains(stderr.String(), " 0 dropped") {
					t.Fatalf("%s: %s", trace, stderr.String())
				}
				if strings.Contains(stderr.String(), ": 0 records in") {
					continue // no connections, no records: nfcapd never hears of it
				}
				want = append(want, connlogCounts(t, stdout.Bytes()))
			}
			got := make([]map[tupleKey]dirCounts, len(want))
			for _, r := range stop() {
				sys := r.exp
				if sys < 1 || sys > len(got) {
					t.Fatalf("nfdump: exporter %d of %d: %+v", sys, len(got), r)
				}
				if r.proto != "tcp" && r.proto != "udp" {
					continue
				}
				proto, sp, dp := r.proto, r.sp, r.dp
				n := []uint64{r.ipkt, r.ibyt, r.opkt, r.obyt}
				if got[sys-1] == nil {
					got[sys-1] = map[tupleKey]dirCounts{}
				}
				k := tupleKey{proto, r.sa, sp, r.da, dp}
				if !biflow {
					// A uniflow record of the responder's direction counts for
					// the connection it answers, when conn.log has that one.
					rk := tupleKey{proto, r.da, dp, r.sa, sp}
					if _, ok := want[sys-1][rk]; ok {
						if _, fwd := want[sys-1][k]; !fwd {
							c := got[sys-1][rk]
							c.respPkts += n[0]
							c.respBytes += n[1]
							got[sys-1][rk] = c
							continue
						}
					}
				}
				c := got[sys-1][k]
				c.origPkts += n[0]
				c.origBytes += n[1]
				c.respPkts += n[2]
				c.respBytes += n[3]
				got[sys-1][k] = c
			}
			conns := 0
			for i := range want {
				for k, w := range want[i] {
					conns++
					if g := got[i][k]; g != w {
						t.Errorf("exporter %d %v: nfdump %+v, conn.log %+v", i+1, k, g, w)
					}
				}
				for k := range got[i] {
					if _, ok := want[i][k]; !ok {
						t.Errorf("exporter %d: nfdump has %v, conn.log not", i+1, k)
					}
				}
			}
			t.Logf("%d TCP and UDP 5-tuples of %d traces agree (a reused tuple's connections summed)", conns, len(want))
		})
	}
}

// ipfixCapture listens on a UDP port of 127.0.0.1 and writes what arrives, each
// datagram as a UDP packet to port 4739 (IPFIX's), into a capture for tshark;
// stop returns the capture's path once every datagram is in.
func ipfixCapture(t *testing.T, path string) (port int, stop func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.(*net.UDPConn).SetReadBuffer(16 << 20) // a trace's burst of records
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(127, 0, 0, 1), DstIP: net.IPv4(127, 0, 0, 1)}
			udp := &layers.UDP{SrcPort: 40000, DstPort: 4739}
			udp.SetNetworkLayerForChecksum(ip)
			sb := gopacket.NewSerializeBuffer()
			gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(buf[:n]))
			data := sb.Bytes()
			w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(data), Length: len(data)}, data)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port, func() {
		time.Sleep(200 * time.Millisecond) // the last datagrams, off the socket
		pc.Close()
		<-done
		f.Close()
	}
}

// TestExportDecodedByTshark has Wireshark's IPFIX dissector, an independent
// decoder, read the export of every oracle trace: each record's addresses,
// ports, per-direction packets and octets (RFC 5103 reverse elements) and the
// enterprise elements (uid, conn_state, history, service under the documented
// PEN) must be conn.log's.
func TestExportDecodedByTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("skipping: tshark not found")
	}
	traces, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap*"))
	if len(traces) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	type conn struct {
		Proto     string `json:"proto"`
		OrigH     string `json:"id.orig_h"`
		OrigP     int    `json:"id.orig_p"`
		RespH     string `json:"id.resp_h"`
		RespP     int    `json:"id.resp_p"`
		ConnState string `json:"conn_state"`
		History   string `json:"history"`
		Service   string `json:"service"`
		OrigPkts  uint64 `json:"orig_pkts"`
		OrigBytes uint64 `json:"orig_ip_bytes"`
		RespPkts  uint64 `json:"resp_pkts"`
		RespBytes uint64 `json:"resp_ip_bytes"`
	}
	pcap := filepath.Join(t.TempDir(), "ipfix.pcap")
	port, stop := ipfixCapture(t, pcap)
	want := map[string]*conn{}
	for _, trace := range traces {
		var stdout, stderr bytes.Buffer
		if st := run([]string{"-C", "--headless", "--json", "-r", trace, "--export", fmt.Sprintf("udp://127.0.0.1:%d", port)}, &stdout, &stderr); st != exitOK {
			t.Fatalf("%s: status %d: %s", trace, st, stderr.String())
		}
		dec := json.NewDecoder(&stdout)
		for dec.More() {
			var raw map[string]any
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(raw)
			c := new(conn)
			json.Unmarshal(b, c)
			want[raw["uid"].(string)] = c
		}
	}
	stop()
	out, err := exec.Command("tshark", "-n", "-r", pcap, "-T", "json", "--no-duplicate-keys").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var pkts []struct {
		Source struct {
			Layers struct {
				Cflow map[string]json.RawMessage `json:"cflow"`
			} `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		t.Fatalf("tshark's JSON: %v", err)
	}
	hexString := func(s string) string {
		var b []byte
		for _, h := range strings.Split(s, ":") {
			v, _ := strconv.ParseUint(h, 16, 8)
			b = append(b, byte(v))
		}
		return string(b)
	}
	// numbered returns the members of m named prefix N, in the order of N.
	numbered := func(m map[string]json.RawMessage, prefix string) []json.RawMessage {
		var out []json.RawMessage
		for i := 1; ; i++ {
			found := false
			for name, v := range m {
				if rest, ok := strings.CutPrefix(name, prefix+strconv.Itoa(i)); ok && (rest == "" || rest[0] == ' ') {
					out, found = append(out, v), true
				}
			}
			if !found {
				return out
			}
		}
	}
	got := map[string]*conn{}
	for _, p := range pkts {
		for _, set := range numbered(p.Source.Layers.Cflow, "Set ") {
			var flows map[string]json.RawMessage
			json.Unmarshal(set, &flows)
			for _, raw := range numbered(flows, "Flow ") {
				var fl struct {
					Src     string          `json:"cflow.srcaddr"`
					Src6    string          `json:"cflow.srcaddrv6"`
					Dst     string          `json:"cflow.dstaddr"`
					Dst6    string          `json:"cflow.dstaddrv6"`
					SrcPort string          `json:"cflow.srcport"`
					DstPort string          `json:"cflow.dstport"`
					Proto   string          `json:"cflow.protocol"`
					Packets []string        `json:"cflow.packets"`
					Octets  []string        `json:"cflow.octets"`
					PEN     json.RawMessage `json:"cflow.enterprise_private_entry"`
					PENTree []struct {
						Len string `json:"cflow.string_len_short"`
					} `json:"cflow.enterprise_private_entry_tree"`
				}
				if err := json.Unmarshal(raw, &fl); err != nil {
					t.Fatalf("tshark flow: %v: %s", err, raw)
				}
				// Four strings: an empty one has no value, only its length.
				var vals []string
				json.Unmarshal(fl.PEN, &vals)
				var strs [4]string
				k := 0
				for i, e := range fl.PENTree {
					if i < 4 && e.Len != "0" && k < len(vals) {
						strs[i] = hexString(vals[k])
						k++
					}
				}
				uid := strs[0]
				c := got[uid]
				if c == nil {
					c = &conn{OrigH: fl.Src + fl.Src6, RespH: fl.Dst + fl.Dst6, ConnState: strs[1], History: strs[2], Service: strs[3]}
					c.OrigP, _ = strconv.Atoi(fl.SrcPort)
					c.RespP, _ = strconv.Atoi(fl.DstPort)
					c.Proto = fl.Proto
					got[uid] = c
				}
				n := func(s []string, i int) uint64 {
					if i >= len(s) {
						return 0
					}
					v, _ := strconv.ParseUint(s[i], 10, 64)
					return v
				}
				c.OrigPkts += n(fl.Packets, 0)
				c.RespPkts += n(fl.Packets, 1)
				c.OrigBytes += n(fl.Octets, 0)
				c.RespBytes += n(fl.Octets, 1)
				// The final record's strings are the connection's (active ones may
				// be earlier states).
				c.ConnState, c.History, c.Service = strs[1], strs[2], strs[3]
			}
		}
	}
	compared := 0
	for uid, w := range want {
		if w.Proto != "tcp" && w.Proto != "udp" {
			continue
		}
		g := got[uid]
		if g == nil {
			t.Errorf("%s (%s %s:%d > %s:%d): not in tshark's decode", uid, w.Proto, w.OrigH, w.OrigP, w.RespH, w.RespP)
			continue
		}
		compared++
		g.Proto = w.Proto // tshark gives the number
		if *g != *w {
			t.Errorf("%s: tshark read\n %+v\nconn.log says\n %+v", uid, *g, *w)
		}
	}
	t.Logf("%d TCP and UDP connections read back by tshark", compared)
}
