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
