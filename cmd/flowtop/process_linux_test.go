//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowtop/flowtop/internal/vethtest"
)

// The process attribution tests run flowtop, servers and clients inside a fresh
// network namespace, capturing live on its loopback, and check conn.log's
// orig_pid, orig_comm, resp_pid and resp_comm against the pids the test started.

// procHTTPServer serves a page over HTTP/1.0 (one request a connection, as
// python3 -m http.server does) that takes it 10 ms to make, as an application's
// would, and prints its port. The curls then live about as long as the issue's
// ("a curl that lives 10 ms"); over the loopback, an instant reply ends the
// connection within a millisecond of its SYN, before any lookup can be sure to
// see its sockets (the README gives that case's figures).
const procHTTPServer = `
import http.server, sys, time
body = b"x" * int(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.01)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`

// procUDPServer answers each datagram after 10 ms (a resolver asking upstream)
// and prints its port.
const procUDPServer = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(2048)
    time.sleep(0.01)
    s.sendto(d, a)
`

// procUDPClient makes N exchanges with the echo server, each from a socket of
// its own (a connection each), as a resolver's queries do.
const procUDPClient = `
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    c.sendto(b"query %d" % i, ("127.0.0.1", port))
    c.recvfrom(2048)
    c.close()
`

// procLoad holds N/2 TCP connections (N sockets) open on the loopback, prints
// "ready", and waits to be killed.
const procLoad = `
import socket, resource, sys, time
n = int(sys.argv[1]) // 2
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4096)
keep = []
for i in range(n):
    c = socket.create_connection(l.getsockname())
    s, _ = l.accept()
    keep += [c, s]
print("ready", flush=True)
time.sleep(3600)
`

// procChatter holds one TCP connection with itself and sends a byte each way
// every 20 ms; it prints the client's port.
const procChatter = `
import socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
print(c.getsockname()[1], flush=True)
while True:
    c.send(b"x"); s.recv(1); s.send(b"y"); c.recv(1)
    time.sleep(0.02)
`

// procRecord is a conn.log JSON line with the process fields.
type procRecord struct {
	TS       float64 `json:"ts"`
	UID      string  `json:"uid"`
	OrigP    uint16  `json:"id.orig_p"`
	RespP    uint16  `json:"id.resp_p"`
	Proto    string  `json:"proto"`
	OrigPID  int     `json:"orig_pid"`
	OrigComm string  `json:"orig_comm"`
	OrigUser string  `json:"orig_user"`
	RespPID  int     `json:"resp_pid"`
	RespComm string  `json:"resp_comm"`
	RespUser string  `json:"resp_user"`
}

var procNS atomic.Int32

// procNamespace creates a network namespace with its loopback up, removed at the
// end of the test, and returns its name.
func procNamespace(t *testing.T) string {
	t.Helper()
	vethtest.RequireRoot(t)
	for _, tool := range []string{"ip", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found", tool)
		}
	}
	ns := fmt.Sprintf("ftproc%d-%d", os.Getpid(), procNS.Add(1))
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	return ns
}

// procStart starts a long-running python3 script in ns and returns it with the
// first line it printed.
func procStart(t *testing.T, ns, python, script string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, python, "-c", script}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		if l == "" {
			t.Fatalf("%s did not start", script[:40])
		}
		return cmd, l
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not start within a minute", script[:40])
	}
	return nil, ""
}

// procPython is the python3 interpreter itself (not a wrapper script), so that
// the pid the test starts is the interpreter's.
func procPython(t *testing.T) string {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skipf("skipping: python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// procCapturing waits until flowtop holds its two packet sockets (the capture's
// and the watcher's of first packets).
func procCapturing(t *testing.T, ft *liveProc) {
	t.Helper()
	deadline := time.Now().Add(liveStartTimeout)
	for time.Now().Before(deadline) {
		if procPacketSockets(ft.cmd.Process.Pid) >= 2 {
			return
		}
		select {
		case <-ft.done:
			t.Fatalf("flowtop exited: %v: %s", ft.err, ft.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("flowtop did not start capturing: %s", ft.stderr.String())
}

// procPacketSockets counts the running packet sockets among pid's files, bound to
// ETH_P_ALL, as its network namespace's /proc/PID/net/packet lists them
// (columns: sk RefCnt Type Proto Iface R Rmem User Inode).
func procPacketSockets(pid int) int {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/packet", pid))
	n := 0
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(l); len(f) >= 9 && inodes[f[8]] && f[3] == "0003" && f[5] == "1" {
			n++
		}
	}
	return n
}

// procTraffic runs curls curl processes, one after the other, against the HTTP
// server, and one python3 client making udp exchanges with the echo server. It
// returns the pids it started.
func procTraffic(t *testing.T, ns, python string, httpPort, udpPort string, curls, udp int) (map[int]bool, int) {
	t.Helper()
	pids := map[int]bool{}
	for range curls {
		c := exec.Command("ip", "netns", "exec", ns, "curl", "-s", "-o", os.DevNull, "--max-time", "5", "http://127.0.0.1:"+httpPort+"/")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pids[c.Process.Pid] = true
		if err := c.Wait(); err != nil {
			t.Fatalf("curl: %v", err)
		}
	}
	c := exec.Command("ip", "netns", "exec", ns, python, "-c", procUDPClient, udpPort, strconv.Itoa(udp))
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	client := c.Process.Pid
	if err := c.Wait(); err != nil {
		t.Fatalf("udp client: %v", err)
	}
	return pids, client
}

// procCheck reads conn.log and requires every connection to the servers to name
// both processes.
func procCheck(t *testing.T, path string, httpPort, udpPort string, curlPIDs map[int]bool, httpPID, udpPID, clientPID int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nTCP, nUDP int
	seen := map[int]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r procRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		switch {
		case r.Proto == "tcp" && strconv.Itoa(int(r.RespP)) == httpPort:
			nTCP++
			if !curlPIDs[r.OrigPID] || seen[r.OrigPID] || r.OrigComm != "curl" || r.RespPID != httpPID || r.RespComm != "python3" {
				t.Errorf("HTTP connection %s at %.6f from port %d: orig %d %q, resp %d %q; want one of the curls (each once) and python3 %d",
					r.UID, r.TS, r.OrigP, r.OrigPID, r.OrigComm, r.RespPID, r.RespComm, httpPID)
			}
			seen[r.OrigPID] = true
			if r.OrigUser != "root" || r.RespUser != "root" {
				t.Errorf("HTTP connection %s: users %q, %q", r.UID, r.OrigUser, r.RespUser)
			}
		case r.Proto == "udp" && strconv.Itoa(int(r.RespP)) == udpPort:
			nUDP++
			if r.OrigPID != clientPID || r.OrigComm != "python3" || r.RespPID != udpPID || r.RespComm != "python3" {
				t.Errorf("UDP connection %s from port %d: orig %d %q, resp %d %q; want python3 %d and python3 %d",
					r.UID, r.OrigP, r.OrigPID, r.OrigComm, r.RespPID, r.RespComm, clientPID, udpPID)
			}
		}
	}
	if nTCP != len(curlPIDs) || nUDP == 0 {
		t.Errorf("%d HTTP connections (want %d), %d UDP", nTCP, len(curlPIDs), nUDP)
	}
}

// procCheckOpen requires the connection from port to name pid at both ends.
func procCheckOpen(t *testing.T, path, port string, pid int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r procRecord
		if err := json.Unmarshal([]byte(line), &r); err == nil && strconv.Itoa(int(r.OrigP)) == port {
			if r.OrigPID != pid || r.RespPID != pid {
				t.Errorf("connection open before the start: orig %d, resp %d; want %d at both ends", r.OrigPID, r.RespPID, pid)
			}
			return
		}
	}
	t.Errorf("no record of the connection from port %s, open before the start", port)
}

// TestLiveProcesses is issue 16's acceptance run: in a fresh network namespace,
// flowtop captures on the loopback while 40 curl processes fetch from a python3
// HTTP server and a python3 client makes 20 UDP exchanges with a python3 echo
// server; conn.log names both processes of every connection, by exact pid. Then
// the same with 20,000 sockets held open in the namespace.
func TestLiveProcesses(t *testing.T) {
	ns := procNamespace(t)
	python := procPython(t)
	bin := flowtopBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "flowtop.toml")
	os.WriteFile(cfg, []byte("[connlog]\nextra_fields = [\"orig_pid\", \"orig_comm\", \"orig_user\", \"resp_pid\", \"resp_comm\", \"resp_user\"]\n"), 0o644)

	httpSrv, httpPort := procStart(t, ns, python, procHTTPServer, "2000")
	udpSrv, udpPort := procStart(t, ns, python, procUDPServer)
	// A connection open before flowtop starts is named too, from the scan of
	// every process's sockets at start.
	chatter, chatterPort := procStart(t, ns, python, procChatter)
	for _, load := range []int{0, 20000} {
		t.Run(fmt.Sprintf("%d open sockets", load), func(t *testing.T) {
			// The load is held by processes of 10,000 sockets each, under the
			// usual limit of open files.
			for range load / 10000 {
				procStart(t, ns, python, procLoad, "10000")
			}
			out := filepath.Join(t.TempDir(), "conn.json")
			ft := liveStart(t, "flowtop", "ip", "netns", "exec", ns, bin, "--headless", "--json", "-v", "-i", "lo", "--config", cfg, "-w", out)
			procCapturing(t, ft)
			curls, client := procTraffic(t, ns, python, httpPort, udpPort, 40, 20)
			time.Sleep(liveSettle)
			ft.interrupt(t)
			procCheck(t, out, httpPort, udpPort, curls, httpSrv.Process.Pid, udpSrv.Process.Pid, client)
			procCheckOpen(t, out, chatterPort, chatter.Process.Pid)
		})
	}
}

// Without the privilege to read other users' /proc/PID/fd (flowtop as nobody,
// with only CAP_NET_RAW to capture), and after -Z drops root: flowtop says so in
// one line, captures as usual, and names what it can, the socket's user.
func TestLiveProcessesUnprivileged(t *testing.T) {
	ns := procNamespace(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("skipping: setpriv not found")
	}
	python := procPython(t)
	bin := flowtopBinary(t)
	httpSrv, httpPort := procStart(t, ns, python, procHTTPServer, "2000")
	// A directory nobody can write, under one it can reach.
	dir, err := os.MkdirTemp("", "flowtop-proc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	cfg := filepath.Join(dir, "flowtop.toml")
	os.WriteFile(cfg, []byte("[connlog]\nextra_fields = [\"orig_pid\", \"orig_comm\", \"orig_user\", \"resp_pid\", \"resp_comm\", \"resp_user\"]\n"), 0o644)
	for _, c := range []struct {
		name string
		pre  []string // before flowtop's arguments
		post []string // after them
		line string   // the one line about attribution
		// serverPID says whether the server's pid is known: it is with -Z,
		// which reads every process's fds as root before dropping privileges.
		serverPID bool
	}{
		{"nobody with CAP_NET_RAW", []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=+net_raw", "--ambient-caps=+net_raw", "--"}, nil,
			"flowtop: process attribution: other users' /proc/PID/fd cannot be read (needs root, or CAP_SYS_PTRACE): their connections name the user only", false},
		{"-Z nobody", nil, []string{"-Z", "nobody"},
			"flowtop: process attribution: running as nobody (-Z), processes of other users are named by their user only", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".json")
			args := append([]string{"netns", "exec", ns}, c.pre...)
			args = append(args, bin, "--headless", "--json", "-i", "lo", "--config", cfg, "-w", out)
			args = append(args, c.post...)
			ft := liveStart(t, "flowtop", "ip", args...)
			procCapturing(t, ft)
			for range 3 {
				if err := exec.Command("ip", "netns", "exec", ns, "curl", "-s", "-o", os.DevNull, "http://127.0.0.1:"+httpPort+"/").Run(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(liveSettle)
			ft.interrupt(t)
			var lines []string
			for _, l := range strings.Split(ft.stderr.String(), "\n") {
				if strings.Contains(l, "process attribution") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || lines[0] != c.line {
				t.Errorf("attribution lines %q, want only %q", lines, c.line)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var r procRecord
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				if strconv.Itoa(int(r.RespP)) != httpPort {
					continue
				}
				n++
				wantResp := 0
				if c.serverPID {
					wantResp = httpSrv.Process.Pid
				}
				if r.OrigUser != "root" || r.OrigPID != 0 || r.RespUser != "root" || r.RespPID != wantResp {
					t.Errorf("%s: orig %d %q, resp %d %q; want the user root, no pid for the new curl, pid %d for the server",
						r.UID, r.OrigPID, r.OrigUser, r.RespPID, r.RespUser, wantResp)
				}
			}
			if n != 3 {
				t.Errorf("%d HTTP connections, want 3", n)
			}
		})
	}
}

// Capturing on the host end of a veth pair whose peer lives in another network
// namespace, flowtop says that the processes there are not seen.
func TestLiveProcessesOtherNamespace(t *testing.T) {
	p := vethtest.New(t, vethtest.Options{})
	bin := flowtopBinary(t)
	ft := liveStart(t, "flowtop", bin, "--headless", "-i", p.Host, "-w", os.DevNull)
	ft.waitCapturing(t, p.HostIndex)
	ft.interrupt(t)
	want := "flowtop: process attribution: " + p.Host + "'s other end is in another network namespace: the processes there are not seen"
	if !strings.Contains(ft.stderr.String(), want+"\n") {
		t.Errorf("stderr %q lacks %q", ft.stderr.String(), want)
	}
}
