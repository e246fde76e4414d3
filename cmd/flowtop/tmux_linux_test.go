package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The interactive view run in tmux as a user runs it.

// TestInteractiveWritesAsItGoes replays a capture in the interactive view with -w
// and --events: once the input ended, while the view is still open, conn.log and
// the event log hold every connection (they were empty until quit).
func TestInteractiveWritesAsItGoes(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	bin := flowtopBinary(t)
	trace, err := filepath.Abs(filepath.Join("..", "..", "testdata", "ordinary", "ordinary.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath, evPath := filepath.Join(dir, "conn.log"), filepath.Join(dir, "events.json")
	session := fmt.Sprintf("flowtop-test-%d", os.Getpid())
	run := func(args ...string) string {
		out, err := exec.Command(tmux, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The shell's sleep keeps the pane after flowtop exits, to read what it said.
	run("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
		fmt.Sprintf("%s -r %s --speed 10 -w %s --events %s; sleep 60", bin, trace, logPath, evPath))
	defer exec.Command(tmux, "kill-session", "-t", session).Run()

	count := func(path, prefix string) int {
		b, _ := os.ReadFile(path)
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") && strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	const conns = 8 // in ordinary.pcap
	deadline := time.Now().Add(20 * time.Second)
	var pane string
	for {
		pane = run("capture-pane", "-p", "-t", session)
		if strings.Contains(pane, "END OF INPUT") && count(logPath, "") == conns && count(evPath, `{"ts"`) >= conns {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("with the view open at the end of input, conn.log holds %d records and the event log %d events, want %d;\npane:\n%s\nconn.log:\n%s",
				count(logPath, ""), count(evPath, `{"ts"`), conns, pane, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run("send-keys", "-t", session, "q")
}

// TestWritePackets presses w on a running connection of a paced replay, as a
// user does: the pcapng file, read by tshark, holds the connection's packets from
// the mark on (the view says how many it had); with [capture] recent_buffer,
// all of them.
func TestWritePackets(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("skipping: tshark not found")
	}
	trace, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "tcp-irc-dcc", "trace.pcapng"))
	if _, serr := os.Stat(trace); err != nil || serr != nil {
		t.Skip("oracle corpus not available (../shared)")
	}
	bin := flowtopBinary(t)
	for _, ring := range []bool{false, true} {
		t.Run(fmt.Sprintf("recent_buffer=%v", ring), func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "config.toml")
			text := "[ui]\ntheme = \"mono\"\n"
			if ring {
				text += "[capture]\nrecent_buffer = \"16MiB\"\n"
			}
			os.WriteFile(conf, []byte(text), 0o600)
			logPath := filepath.Join(dir, "conn.log")
			session := fmt.Sprintf("flowtop-w-%d-%v", os.Getpid(), ring)
			tm := func(args ...string) string {
				out, err := exec.Command(tmux, args...).CombinedOutput()
				if err != nil {
					t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			// The IRC connection lasts 170 s of the trace: 8.5 s at 20 times.
			tm("new-session", "-d", "-s", session, "-x", "200", "-y", "50",
				fmt.Sprintf("%s -r %s --speed 20 --config %s --extract-dir %s -w %s; sleep 60", bin, trace, conf, dir, logPath))
			defer exec.Command(tmux, "kill-session", "-t", session).Run()
			wait := func(what string, ok func(string) bool) string {
				deadline := time.Now().Add(30 * time.Second)
				for {
					pane := tm("capture-pane", "-p", "-t", session)
					if ok(pane) {
						return pane
					}
					if time.Now().After(deadline) {
						t.Fatalf("waiting for %s; pane:\n%s", what, pane)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			wait("the IRC connection", func(p string) bool { return strings.Contains(p, "10.0.0.22:6667") })
			time.Sleep(time.Second) // the connection runs on
			tm("send-keys", "-t", session, ":")
			tm("send-keys", "-t", session, "10.0.0.22:6667", "Enter")
			tm("send-keys", "-t", session, "w")
			pane := wait("w's message", func(p string) bool { return strings.Contains(p, "writing the packets of") })
			before := 0
			if !ring {
				i := strings.Index(pane, "its first ")
				if i < 0 {
					t.Fatalf("no count of the packets before the mark:\n%s", pane)
				}
				fmt.Sscanf(pane[i:], "its first %d", &before)
			}
			wait("the end of input", func(p string) bool { return strings.Contains(p, "END OF INPUT") })
			tm("send-keys", "-t", session, "q")
			wait("flowtop's exit", func(p string) bool { return strings.Contains(p, "flowtop: extracted") })
			files, _ := filepath.Glob(filepath.Join(dir, "packets_*_10.0.0.7:59069-10.0.0.22:6667.pcapng"))
			if len(files) != 1 {
				t.Fatalf("pcapng files %q", files)
			}
			out, err := exec.Command("tshark", "-n", "-r", files[0], "-T", "fields", "-e", "frame.number").Output()
			if err != nil {
				t.Fatalf("tshark -r %s: %v", files[0], err)
			}
			got := strings.Count(string(out), "\n")
			b, _ := os.ReadFile(logPath)
			total := -1
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Split(l, "\t"); len(f) > 19 && f[5] == "6667" {
					var o, r int
					fmt.Sscan(f[16], &o)
					fmt.Sscan(f[18], &r)
					total = o + r
				}
			}
			if want := total - before; got != want || (!ring && before == 0) {
				t.Errorf("the file has %d packets; conn.log counts %d, %d of them before the mark: want %d", got, total, before, want)
			}
		})
	}
}
