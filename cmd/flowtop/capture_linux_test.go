package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests of the capture options as a user runs them: the real binary, on lo.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// flowtopBinary builds flowtop once per test run into a directory that any user
// can read, so that it can also run unprivileged; it skips without root.
func flowtopBinary(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping capture test: needs root (run go test as root)")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flowtop-capture-test-")
		if err != nil {
			binErr = err
			return
		}
		os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "flowtop")
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("the go command is not in PATH (needed to build flowtop): %v", err)
			return
		}
		cmd := exec.Command(goTool, "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// openDir returns a new directory that any user can write to and reach (a
// t.TempDir's parent is private to root), removed when the test ends.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "flowtop-capture-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMain removes the binary built for the capture tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// startCapture starts the binary with args (as uid, unless it is 0) and waits
// until the capture is open, which a headless flowtop says by creating its output:
// the file named by -w (after dropping privileges, with -Z).
func startCapture(t *testing.T, bin, out string, uid uint32, args ...string) *liveProc {
	t.Helper()
	var cred *syscall.Credential
	if uid != 0 {
		cred = &syscall.Credential{Uid: uid, Gid: uid}
	}
	lp := liveStartAs(t, cred, "flowtop", bin, args...)
	deadline := time.Now().Add(liveStartTimeout)
	for {
		if _, err := os.Stat(out); err == nil {
			return lp
		}
		select {
		case <-lp.done:
			t.Fatalf("flowtop %s exited early (%v): %s", strings.Join(args, " "), lp.err, lp.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("flowtop %s did not open its output in %v", strings.Join(args, " "), liveStartTimeout)
		}
	}
}

// tcpOnLoopback opens a TCP connection on 127.0.0.1 and exchanges up and down
// bytes; the connection stays open until the test ends. It returns the client's
// and the server's ports.
func tcpOnLoopback(t *testing.T, up, down int) (client, server int) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.ReadFull(c, make([]byte, up))
		c.Write(bytes.Repeat([]byte("d"), down))
		accepted <- c
	}()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write(bytes.Repeat([]byte("u"), up))
	if _, err := io.ReadFull(c, make([]byte, down)); err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	t.Cleanup(func() { s.Close() })
	return c.LocalAddr().(*net.TCPAddr).Port, l.Addr().(*net.TCPAddr).Port
}

// procUIDs returns the real, effective, saved and filesystem uids of a process.
func procUIDs(t *testing.T, pid int) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatal("no Uid line in /proc/PID/status")
	return ""
}

// TestSignalFlushes ends a headless capture with SIGTERM, and with SIGHUP (a
// closed terminal), while a TCP connection is still open: its record is written
// (with the bytes exchanged) and its extracted content flushed, and the exit status
// is 0 with the kernel's counts on standard error.
func TestSignalFlushes(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) { testSignalFlushes(t, sig) })
	}
}

func testSignalFlushes(t *testing.T, sig syscall.Signal) {
	bin := flowtopBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "conn.json")
	c := startCapture(t, bin, out, 0, "--headless", "--json", "-i", "lo", "-w", out,
		"--extract", "all", "--extract-dir", filepath.Join(dir, "x"), "tcp")
	cport, sport := tcpOnLoopback(t, 3000, 70000)
	time.Sleep(200 * time.Millisecond) // the ring hands over blocks within 20 ms
	c.stop(t, sig)                     // requires exit status 0
	stderr := c.stderr.String()
	if !strings.Contains(stderr, "flowtop: lo: ") || !strings.Contains(stderr, " dropped by the kernel") {
		t.Errorf("stderr %q lacks the capture counts", stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`"id.orig_p":%d,"id.resp_h":"127.0.0.1","id.resp_p":%d,"proto":"tcp"`, cport, sport)
	var rec string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, want) {
			rec = line
		}
	}
	if rec == "" {
		t.Fatalf("no record of the open connection %d->%d in %s", cport, sport, data)
	}
	for _, field := range []string{`"orig_bytes":3000`, `"resp_bytes":70000`, `"conn_state":"S1"`} {
		if !strings.Contains(rec, field) {
			t.Errorf("record lacks %s: %s", field, rec)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "x", "*"))
	var sizes []int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			sizes = append(sizes, st.Size())
		}
	}
	if fmt.Sprint(sizes) != "[3000 70000]" && fmt.Sprint(sizes) != "[70000 3000]" {
		t.Errorf("extracted files %v of sizes %v, want the 3000 and 70000 bytes exchanged", files, sizes)
	}
}

// TestDropPrivileges runs a capture with -Z nobody: the process then runs as
// nobody, its output is created as nobody, and it still captures.
func TestDropPrivileges(t *testing.T) {
	bin := flowtopBinary(t)
	dir := openDir(t)
	out := filepath.Join(dir, "conn.log")
	c := startCapture(t, bin, out, 0, "--headless", "-i", "lo", "-Z", "nobody", "-w", out)
	if got := procUIDs(t, c.cmd.Process.Pid); got != "65534 65534 65534 65534" {
		t.Errorf("uids after -Z nobody: %s, want 65534 everywhere", got)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(out, &st); err != nil || st.Uid != 65534 {
		t.Errorf("conn.log owned by uid %d (%v), want nobody", st.Uid, err)
	}
	_, sport := tcpOnLoopback(t, 10, 10)
	time.Sleep(200 * time.Millisecond)
	c.interrupt(t)
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), fmt.Sprintf("\t%d\ttcp\t", sport)) {
		t.Errorf("conn.log written as nobody lacks the connection to port %d:\n%s", sport, data)
	}
}

// TestUnprivileged runs flowtop as nobody: without CAP_NET_RAW it fails with one
// line that says how to fix it; after `setcap cap_net_raw,cap_net_admin=eip` on
// the binary (what make setcap does), the same user captures.
func TestUnprivileged(t *testing.T) {
	bin := flowtopBinary(t)
	dir := openDir(t)
	cmd := exec.Command(bin, "--headless", "-i", "lo", "-w", filepath.Join(dir, "x.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	const want = "flowtop: capture on lo needs root or CAP_NET_RAW: run with sudo, or setcap cap_net_raw,cap_net_admin=eip on the flowtop binary\n"
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitError || stderr.String() != want {
		t.Fatalf("as nobody: %v, stderr %q; want exit %d and %q", err, stderr.String(), exitError, want)
	}

	if _, err := exec.LookPath("setcap"); err != nil {
		t.Skip("setcap not installed (Debian: libcap2-bin); skipping the capability half")
	}
	capBin := filepath.Join(dir, "flowtop")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capBin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("setcap", "cap_net_raw,cap_net_admin=eip", capBin).CombinedOutput(); err != nil {
		t.Skipf("setcap failed (file system without extended attributes?): %v: %s", err, out)
	}
	out := filepath.Join(dir, "cap.log")
	c := startCapture(t, capBin, out, 65534, "--headless", "-i", "lo", "-w", out)
	c.interrupt(t) // nobody with the capabilities captures and exits 0
}
