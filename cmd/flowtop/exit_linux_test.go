package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenPipe: flowtop ... | head: when standard output closes, flowtop
// stops with one line and status 1, not killed by SIGPIPE, no stack trace.
func TestBrokenPipe(t *testing.T) {
	bin := flowtopBinary(t)
	trace := filepath.Join("..", "..", "testdata", "ordinary", "ordinary.pcap")
	cmd := exec.Command(bin, "-r", trace, "--headless", "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	out.(*os.File).Close() // the reader is gone before the first record
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v (want status 1)", err)
	}
	if got := stderr.String(); got != "flowtop: write conn.log to standard output: broken pipe\n" {
		t.Errorf("stderr %q", got)
	}
}

// TestFullDisk: conn.log on a file system that fills up: one line, status 1,
// and the file holds whole records only, the last one complete.
func TestFullDisk(t *testing.T) {
	bin := flowtopBinary(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("skipping: unshare not found")
	}
	traces, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "l2-fddi-llc-rst-scan", "trace.pcap"))
	if len(traces) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	trace, _ := filepath.Abs(traces[0])
	dir := t.TempDir()
	mnt, keep := filepath.Join(dir, "small"), filepath.Join(dir, "conn.log")
	os.Mkdir(mnt, 0o700)
	// A private mount namespace: a 40 KiB tmpfs that conn.log (about 150 KiB) fills.
	script := `mount -t tmpfs -o size=40k none "$1" || exit 99
"$2" -r "$3" --headless -w "$1/conn.log"; rc=$?
cp "$1/conn.log" "$4"; exit $rc`
	cmd := exec.Command("unshare", "-m", "sh", "-c", script, "sh", mnt, bin, trace, keep)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if ok && ee.ExitCode() == 99 {
		t.Skipf("skipping: cannot mount a tmpfs: %s", stderr.String())
	}
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v (want status 1): %s", err, stderr.String())
	}
	if got := stderr.String(); !strings.HasPrefix(got, "flowtop: write conn.log to ") || !strings.HasSuffix(got, ": no space left on device; the file holds every record before, whole\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q", got)
	}
	b, err := os.ReadFile(keep)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || b[len(b)-1] != '\n' {
		t.Fatalf("conn.log of %d bytes does not end in a whole line", len(b))
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if !strings.HasPrefix(line, "#") && strings.Count(line, "\t") != 21 {
			t.Fatalf("line %d has %d fields: %q", i+1, strings.Count(line, "\t")+1, line)
		}
	}
}
