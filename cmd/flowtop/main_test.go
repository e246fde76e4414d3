package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

	tests := map[string]struct {
		args       []string
		status     int
		stderrHas  string
		stderrOneL bool
	}{
		"unknown flag":      {[]string{"-x"}, exitUsage, "flag provided but not defined: -x", true},
		"both sources":      {[]string{"-i", "lo", "-r", "x"}, exitUsage, "-i and -r cannot be used together", true},
		"stray argument":    {[]string{"-r", "x", "extra"}, exitUsage, `unexpected argument "extra"`, true},
		"missing file":      {[]string{"--headless", "-r", filepath.Join(dir, "nope.pcap")}, exitError, "no such file or directory", true},
		"not a capture":     {[]string{"--headless", "-r", notPcap}, exitError, "not a pcap or pcapng file", true},
		"bad config":        {[]string{"--headless", "--config", badConfig, "-r", notPcap}, exitError, "bogus", true},
		"missing config":    {[]string{"--headless", "--config", filepath.Join(dir, "none.toml"), "-r", notPcap}, exitError, "none.toml", true},
		"unwritable output": {[]string{"--headless", "-r", notPcap, "-w", filepath.Join(dir, "no", "dir", "x.log")}, exitError, "", true},
		"version":           {[]string{"-version"}, exitOK, "", false},
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
