package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/flowtop/flowtop/config"
	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/tracker"
)

// sharedTrace returns a trace of the oracle corpus, or skips.
func sharedTrace(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "oracle", "cases", name)
	matches, _ := filepath.Glob(filepath.Join(p, "trace.pcap*"))
	if len(matches) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	return matches[0]
}

func TestExitStatusAndErrors(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "notes.txt")
	os.WriteFile(notPcap, []byte("hello, not a capture\n"), 0o644)
	badConfig := filepath.Join(dir, "bad.toml")
	os.WriteFile(badConfig, []byte("[tracker]\nignore_checksums = true\nbogus = 1\n"), 0o644)

	ordinary := filepath.Join("..", "..", "testdata", "ordinary", "ordinary.pcap")
	cutHeader := filepath.Join(dir, "cut.pcap") // a pcap file header cut at 12 of its 24 bytes
	if b, err := os.ReadFile(ordinary); err != nil {
		t.Fatal(err)
	} else {
		os.WriteFile(cutHeader, b[:12], 0o644)
	}
	keyClash := filepath.Join(dir, "keys.toml") // detail rebound to pause's default key
	os.WriteFile(keyClash, []byte("[ui]\ntheme = \"dark\"\n\n[keys]\ndetail = \" \"\n"), 0o644)
	cutNg := filepath.Join(dir, "cut.pcapng") // a pcapng section header block cut at 10 bytes
	os.WriteFile(cutNg, []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c}, 0o644)
	tests := map[string]struct {
		args       []string
		status     int
		stderrHas  string
		stderrOneL bool
	}{
		"unknown flag":      {[]string{"-x"}, exitUsage, "flag provided but not defined: -x", true},
		"both sources":      {[]string{"-i", "lo", "-r", "x"}, exitUsage, "-i and -r cannot be used together", true},
		"filter twice":      {[]string{"-r", "x", "-f", "tcp", "udp"}, exitUsage, `unexpected argument "udp": the filter was given with -f`, true},
		"bad filter":        {[]string{"--headless", "-r", ordinary, "tcp", "prot", "80"}, exitUsage, `filter "tcp prot 80"`, true},
		"bad filter -f":     {[]string{"--headless", "-r", ordinary, "-f", "port 99999"}, exitUsage, `filter "port 99999"`, true},
		"bad snaplen":       {[]string{"-i", "lo", "-s", "0"}, exitUsage, "want a number of bytes from 1 to 262144", true},
		"bad buffer":        {[]string{"-i", "lo", "--buffer", "64"}, exitUsage, "64 is outside 2MiB..1TiB", true},
		"unknown user":      {[]string{"--headless", "-r", ordinary, "-Z", "ft-no-such-user"}, exitError, "-Z ft-no-such-user: no such user", true},
		"missing file":      {[]string{"--headless", "-r", filepath.Join(dir, "nope.pcap")}, exitError, "no such file or directory", true},
		"not a capture":     {[]string{"--headless", "-r", notPcap}, exitError, "not a pcap or pcapng file", true},
		"bad config":        {[]string{"--headless", "--config", badConfig, "-r", notPcap}, exitError, "bogus", true},
		"missing config":    {[]string{"--headless", "--config", filepath.Join(dir, "none.toml"), "-r", notPcap}, exitError, "none.toml", true},
		"unwritable output": {[]string{"--headless", "-r", notPcap, "-w", filepath.Join(dir, "no", "dir", "x.log")}, exitError, "", true},
		"version":           {[]string{"-version"}, exitOK, "", false},
		"bad speed":         {[]string{"-r", notPcap, "--speed", "fast"}, exitUsage, `--speed: speed "fast": want "max" or a positive number`, true},
		"speed when live":   {[]string{"-i", "lo", "--speed", "1"}, exitUsage, "--speed applies to -r only", true},
		"unknown theme":     {[]string{"-r", notPcap, "--theme", "nope"}, exitUsage, "nope", true},
		"directory":         {[]string{"--headless", "-r", dir}, exitError, "flowtop: read " + dir + ": is a directory", true},
		"cut file header":   {[]string{"--headless", "-r", cutHeader}, exitError, "truncated", true},
		"key clash":         {[]string{"--config", keyClash, "-r", ordinary}, exitError, keyClash + `:5: keys.detail: "space" is bound to both detail and pause`, true},
		"cut pcapng header": {[]string{"--headless", "-r", cutNg}, exitError, "truncated", true},
		"no terminal":       {[]string{"-r", notPcap}, exitError, errNoTerminal.Error(), true},
	}
	if term.IsTerminal(os.Stdout.Fd()) {
		delete(tests, "no terminal") // run by hand in a terminal
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tc.args, &stdout, &stderr); got != tc.status {
				t.Fatalf("status %d, want %d; stderr: %s", got, tc.status, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderrHas) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.stderrHas)
			}
			if tc.stderrOneL && strings.Count(strings.TrimRight(stderr.String(), "\n"), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", stderr.String())
			}
		})
	}
}

func TestHeadlessTSV(t *testing.T) {
	trace := sharedTrace(t, "tcp-http-get")
	out := filepath.Join(t.TempDir(), "conn.log")
	var stdout, stderr bytes.Buffer
	if st := run([]string{"--headless", "-r", trace, "-w", out}, &stdout, &stderr); st != exitOK {
		t.Fatalf("status %d: %s", st, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != `#separator \x09` || !strings.HasPrefix(lines[len(lines)-1], "#close\t") {
		t.Fatalf("not a Zeek TSV log:\n%s", data)
	}
	var rec []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "#") {
			rec = strings.Split(l, "\t")
		}
	}
	// Zeek's baseline for this trace: SF, ShADadFf, 7 packets / 512 IP bytes each way 7 / 5379.
	want := map[int]string{2: "141.142.228.5", 3: "59856", 5: "80", 6: "tcp", 9: "136", 10: "5007",
		11: "SF", 15: "ShADadFf", 16: "7", 17: "512", 18: "7", 19: "5379", 21: "6"}
	for i, v := range want {
		if rec[i] != v {
			t.Errorf("field %d = %q, want %q (record %q)", i, rec[i], v, rec)
		}
	}
}

func TestHeadlessJSONAndTruncated(t *testing.T) {
	trace := sharedTrace(t, "tcp-http-get")
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, data[:3000], 0o644) // ends inside a record
	var stdout, stderr bytes.Buffer
	if st := run([]string{"--headless", "--json", "-r", cut}, &stdout, &stderr); st != exitOK {
		t.Fatalf("status %d: %s", st, stderr.String())
	}
	if !strings.Contains(stderr.String(), "truncated") {
		t.Errorf("no truncation warning: %q", stderr.String())
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &rec); err != nil {
		t.Fatalf("output is not one JSON record: %v\n%s", err, stdout.String())
	}
	if rec["id.orig_h"] != "141.142.228.5" || rec["proto"] != "tcp" || rec["conn_state"] != "S1" {
		t.Errorf("unexpected record before the cut: %v", rec)
	}
}

// TestEventsThresholds is issue 3's acceptance run: the [thresholds] block of the
// issue, the thresholds feature trace, --events. The threshold events must be the 13
// lines of Zeek's expected.txt, in order, with the same connection, value and
// direction; every connection also gets one remove event.
func TestEventsThresholds(t *testing.T) {
	feature := filepath.Join("..", "..", "..", "shared", "oracle", "features", "thresholds")
	expected, err := os.ReadFile(filepath.Join(feature, "expected.txt"))
	if err != nil {
		t.Skip("oracle features not available (../shared)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(`[thresholds]
orig_bytes = [1, 2500, 2700]     # counts; strings with units also accepted: "10MB", "1.5GiB", "500k"
resp_bytes = [2000]
orig_packets = []
resp_packets = [50, 52]
duration = ["200ms"]
`), 0o644)
	evPath, connPath := filepath.Join(dir, "ev.jsonl"), filepath.Join(dir, "conn.log")
	var stdout, stderr bytes.Buffer
	args := []string{"--headless", "--config", cfg, "-r", filepath.Join(feature, "trace.pcapng"), "--events", evPath, "-w", connPath, "--json"}
	if st := run(args, &stdout, &stderr); st != exitOK {
		t.Fatalf("status %d: %s", st, stderr.String())
	}

	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(expected)), "\n") {
		// triggered bytes, [orig_h=10.0.0.7, orig_p=59069/tcp, resp_h=..., resp_p=6667/tcp, proto=6, ctx=[]], 2500, T
		if !strings.HasPrefix(line, "triggered ") {
			continue
		}
		kind, rest, _ := strings.Cut(strings.TrimPrefix(line, "triggered "), ", [")
		id, rest, _ := strings.Cut(rest, "], ")
		var oh, op, rh, rp string
		for _, f := range strings.Split(id, ", ") {
			k, v, _ := strings.Cut(f, "=")
			v = strings.TrimSuffix(v, "/tcp")
			switch k {
			case "orig_h":
				oh = v
			case "orig_p":
				op = v
			case "resp_h":
				rh = v
			case "resp_p":
				rp = v
			}
		}
		value, dir, _ := strings.Cut(rest, ", ")
		if kind == "duration" {
			value = strings.TrimSuffix(value, " msecs") + "ms"
		}
		want = append(want, strings.Join([]string{kind, oh, op, rh, rp, value, dir}, " "))
	}
	if len(want) != 13 {
		t.Fatalf("expected.txt holds %d crossings, the issue says 13", len(want))
	}

	data, err := os.ReadFile(evPath)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	removes := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev struct {
			Event string `json:"event"`
			UID   string `json:"uid"`
			ID    struct {
				OrigH string `json:"orig_h"`
				OrigP int    `json:"orig_p"`
				RespH string `json:"resp_h"`
				RespP int    `json:"resp_p"`
			} `json:"id"`
			Metric    string  `json:"metric"`
			Threshold float64 `json:"threshold"`
			IsOrig    bool    `json:"is_orig"`
			Reason    string  `json:"reason"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("bad event line %q: %v", line, err)
		}
		switch ev.Event {
		case "threshold":
			value := strconv.FormatFloat(ev.Threshold, 'f', -1, 64)
			if ev.Metric == "duration" {
				value = strconv.FormatFloat(ev.Threshold*1000, 'f', 1, 64) + "ms"
			}
			dir := "F"
			if ev.IsOrig {
				dir = "T"
			}
			got = append(got, strings.Join([]string{ev.Metric, ev.ID.OrigH, strconv.Itoa(ev.ID.OrigP),
				ev.ID.RespH, strconv.Itoa(ev.ID.RespP), value, dir}, " "))
		case "remove":
			removes[ev.UID] = ev.Reason
		default:
			t.Errorf("unknown event %q", ev.Event)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("threshold events:\n%s\nwant (Zeek):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	conns, _ := os.ReadFile(connPath)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(conns)), "\n") {
		var rec struct {
			UID string `json:"uid"`
		}
		json.Unmarshal([]byte(line), &rec)
		if _, ok := removes[rec.UID]; !ok {
			t.Errorf("conn.log record %s has no remove event", rec.UID)
		}
		n++
	}
	if n != len(removes) || n == 0 {
		t.Errorf("%d records, %d remove events", n, len(removes))
	}
}

// TestExtractContents is the first acceptance run of issue 4: --extract all on the
// contents trace writes the FTP control connection's files, byte-identical to Zeek's,
// under Zeek's names; a per-connection cap from the config file stops extractions
// with a one-line warning each, and the run still succeeds.
func TestExtractContents(t *testing.T) {
	feature := filepath.Join("..", "..", "..", "shared", "oracle", "features", "contents")
	if _, err := os.Stat(filepath.Join(feature, "trace.pcap")); err != nil {
		t.Skip("oracle features not available (../shared)")
	}
	dir := filepath.Join(t.TempDir(), "D")
	var stdout, stderr bytes.Buffer
	args := []string{"--headless", "-r", filepath.Join(feature, "trace.pcap"), "--extract", "all", "--extract-dir", dir, "-w", os.DevNull}
	if st := run(args, &stdout, &stderr); st != exitOK {
		t.Fatalf("status %d: %s", st, stderr.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("extraction dir: %v, %d files", err, len(entries))
	}
	if want := fmt.Sprintf("flowtop: extracted %d files (", len(entries)); !strings.Contains(stderr.String(), want) ||
		!strings.Contains(stderr.String(), " connections into "+dir+"\n") {
		t.Errorf("stderr %q lacks %q... into %s", stderr.String(), want, dir)
	}
	base := "contents_[2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49185-[2001:470:4867:99::21]:21_"
	for _, d := range []string{"orig", "resp"} {
		got, err := os.ReadFile(filepath.Join(dir, base+d+".dat"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(feature, "expected_"+d+".dat"))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, Zeek's %d, differ", d, len(got), len(want))
		}
	}

	cfg := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(cfg, []byte("[extract]\nmax_bytes_per_conn = 100\n"), 0o644)
	dir2 := filepath.Join(t.TempDir(), "D2")
	stderr.Reset()
	args = []string{"--headless", "--config", cfg, "-r", filepath.Join(feature, "trace.pcap"), "--extract", "all", "--extract-dir", dir2, "-w", os.DevNull}
	if st := run(args, &stdout, &stderr); st != exitOK {
		t.Fatalf("status %d with a cap: %s", st, stderr.String())
	}
	if !strings.Contains(stderr.String(), "per-connection byte cap reached") {
		t.Errorf("no cap warning; stderr: %s", stderr.String())
	}
	if fi, err := os.Stat(filepath.Join(dir2, base+"resp.dat")); err != nil || fi.Size() > 100 {
		t.Errorf("capped file: %v", err)
	}
}

// Closed rows linger (and then leave the table) live and in a paced replay; a
// file read at full speed keeps every connection listed, whatever [ui] linger says.
func TestLingerByPace(t *testing.T) {
	withLinger, err := config.Parse("config.toml", []byte("[ui]\nlinger = \"30s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    options
		file *config.Config
		want time.Duration
	}{
		{"live", options{}, new(config.Config), defaultLinger},
		{"file at full speed", options{read: "x.pcap"}, new(config.Config), 0},
		{"file at full speed, linger set", options{read: "x.pcap"}, withLinger, 0},
		{"paced replay", options{read: "x.pcap", speed: "5"}, new(config.Config), defaultLinger},
		{"paced replay, linger set", options{read: "x.pcap", speed: "5"}, withLinger, 30 * time.Second},
		{"live, linger set", options{}, withLinger, 30 * time.Second},
	} {
		opts, _, err := uiOptions(&tc.o, tc.file, tracker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if opts.Linger != tc.want {
			t.Errorf("%s: linger %v, want %v", tc.name, opts.Linger, tc.want)
		}
	}
}

// At exit, the user who extracted anything is told where the files are; one who
// never did is told nothing, unless --extract all asked for every connection.
func TestReportExtraction(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		start bool
		all   bool
		want  string
	}{
		{"none started", false, false, ""},
		{"none started, all", false, true, "flowtop: extracted 0 files (0 B) of 0 connections into " + dir + "\n"},
		{"one started", true, false, "flowtop: extracted 0 files (0 B) of 1 connection into " + dir + "\n"},
	} {
		out := &outputs{}
		ex := out.startExtractor(&options{extractDir: dir}, new(config.Config), func(extract.Alert) {})
		if tc.start {
			tr := tracker.New(tracker.Config{}, tracker.Handlers{NewConn: func(c tracker.Conn) { ex.Sink(c) }})
			src, err := tracker.OpenFile(filepath.Join("..", "..", "testdata", "ordinary", "ordinary.pcap"))
			if err != nil {
				t.Fatal(err)
			}
			data, ci, link, err := src.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			tr.Packet(data, ci, link)
			src.Close()
		}
		ex.Close()
		var stderr bytes.Buffer
		out.reportExtraction(&stderr, tc.all)
		if stderr.String() != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, stderr.String(), tc.want)
		}
	}
}
