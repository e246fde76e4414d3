//go:build linux

package main

// The live tests build the flowtop binary and run it as a user does: capturing on
// the host end of a veth pair into a private network namespace (package
// vethtest), while the test sends known traffic across the pair, then ending it
// with SIGINT. They need root and skip otherwise; no packet leaves the pair.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowtop/flowtop/internal/tsharkcheck"
	"github.com/flowtop/flowtop/internal/vethtest"
)

// liveHelperEnv makes TestLiveHelper act as the traffic peer when the test
// binary re-executes itself inside the namespace: "serve ADDR4 ADDR6".
const liveHelperEnv = "FLOWTOP_LIVE_TEST_HELPER"

// Bounds on the steps of a live test. Each is a limit, not a pause: the step
// ends as soon as what it waits for happens.
const (
	liveStartTimeout = 10 * time.Second // flowtop or tcpdump ready to capture
	liveIOTimeout    = 5 * time.Second  // one exchange with the peer
	liveStopTimeout  = 10 * time.Second // exit after SIGINT
)

// liveSettle is how long the capturers get, after the last exchange completed,
// for its last packets. The kernel hands a packet to the capture sockets before
// delivering or sending it, so nearly everything is queued by then; what is not
// is the final ACK a TCP stack sends from its receive path after waking the
// reader, and the capturer has to read its queue before the signal closes it.
const liveSettle = 300 * time.Millisecond

// liveStatsLine is the line flowtop prints on stderr at the end of a live
// headless capture.
var liveStatsLine = regexp.MustCompile(`^flowtop: (\S+): (\d+) packets received, (\d+) dropped by the kernel$`)

// TestLiveHelper is not a test: it is the peer process of the live tests, run
// inside the network namespace.
func TestLiveHelper(t *testing.T) {
	mode := os.Getenv(liveHelperEnv)
	if mode == "" {
		return
	}
	f := strings.Fields(mode)
	var err error
	if len(f) == 3 && f[0] == "serve" {
		err = liveServe(f[1], f[2])
	} else if len(f) == 2 && f[0] == "services" {
		err = liveServices(f[1])
	} else {
		err = fmt.Errorf("bad %s=%q", liveHelperEnv, mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "live helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// liveServe listens on TCP and UDP on addr4 and addr6, prints "ready TCP4 TCP6
// UDP4 UDP6" (the ports), and serves until its standard input is closed:
//   - TCP: the client sends a 4-byte big-endian count M, then anything up to its
//     FIN; the server reads it all, sends M bytes and closes.
//   - UDP: every datagram of n bytes is answered with liveReplySize(n) bytes.
func liveServe(addr4, addr6 string) error {
	var tcp []net.Listener
	var udp []net.PacketConn
	for _, a := range []struct{ network, addr string }{{"tcp4", addr4}, {"tcp6", addr6}} {
		lc := net.ListenConfig{Control: liveControl} // accepted sockets inherit the buffer
		l, err := lc.Listen(context.Background(), a.network, net.JoinHostPort(a.addr, "0"))
		if err != nil {
			return err
		}
		defer l.Close()
		tcp = append(tcp, l)
	}
	for _, a := range []struct{ network, addr string }{{"udp4", addr4}, {"udp6", addr6}} {
		c, err := net.ListenPacket(a.network, net.JoinHostPort(a.addr, "0"))
		if err != nil {
			return err
		}
		defer c.Close()
		udp = append(udp, c)
	}
	fmt.Printf("ready %d %d %d %d\n", tcp[0].Addr().(*net.TCPAddr).Port, tcp[1].Addr().(*net.TCPAddr).Port,
		udp[0].LocalAddr().(*net.UDPAddr).Port, udp[1].LocalAddr().(*net.UDPAddr).Port)

	var wg sync.WaitGroup
	errc := make(chan error, 16)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	for _, l := range tcp {
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return // closed at the end
				}
				wg.Go(func() {
					if err := liveServeTCP(c); err != nil {
						report(err)
					}
				})
			}
		})
	}
	for _, c := range udp {
		wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, from, err := c.ReadFrom(buf)
				if err != nil {
					return // closed at the end
				}
				if _, err := c.WriteTo(livePayload(liveReplySize(n)), from); err != nil {
					report(err)
				}
			}
		})
	}
	io.Copy(io.Discard, os.Stdin)
	for _, l := range tcp {
		l.Close()
	}
	for _, c := range udp {
		c.Close()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// liveServeTCP serves one TCP connection (see liveServe).
func liveServeTCP(c net.Conn) error {
	defer c.Close()
	c.SetDeadline(time.Now().Add(liveIOTimeout))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return fmt.Errorf("tcp %s: header: %w", c.RemoteAddr(), err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return fmt.Errorf("tcp %s: request: %w", c.RemoteAddr(), err)
	}
	if _, err := c.Write(livePayload(int(binary.BigEndian.Uint32(hdr[:])))); err != nil {
		return fmt.Errorf("tcp %s: response: %w", c.RemoteAddr(), err)
	}
	return nil
}

// liveRcvBuf is the receive buffer of the TCP sockets at both ends: larger than
// anything a plan sends, so that the window stays open however late the reader
// runs (with -race, on a busy machine). A zero window would add W or w to the
// history.
const liveRcvBuf = 8 << 20

// liveControl gives a socket a fixed receive buffer of liveRcvBuf bytes, beyond
// net.core.rmem_max (SO_RCVBUFFORCE: the live tests run as root). It is set
// before the SYN, which announces the window scale the buffer needs.
func liveControl(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, liveRcvBuf)
	}); err != nil {
		return err
	}
	return serr
}

// liveReplySize is the size of the UDP answer to a datagram of n bytes.
func liveReplySize(n int) int { return (n*7)%997 + 3 }

// livePayload returns n recognisable bytes.
func livePayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + 7)
	}
	return b
}

// liveTCP is one TCP exchange: the client sends the 4-byte header and send more
// bytes, the server answers with recv bytes.
type liveTCP struct {
	v6         bool
	send, recv int
}

// livePlan is the traffic a live test sends from the host end to the peer.
type livePlan struct {
	tcp        []liveTCP
	refused    []bool // one connection to a closed port per entry; true: over IPv6
	udpSizes   []int  // datagram sizes, sent over IPv4 and over IPv6
	pings4     [2]int // count, payload size
	pings6     [2]int
	closedPort int // nothing listens there in the namespace
}

// liveBasicPlan covers every kind of connection once or twice.
var liveBasicPlan = livePlan{
	tcp: []liveTCP{
		{v6: false, send: 100_000, recv: 300_000},
		{v6: false, send: 5_000, recv: 0},
		{v6: true, send: 1_000, recv: 70_000},
	},
	refused:    []bool{false},
	udpSizes:   []int{0, 1, 100, 512, 1400},
	pings4:     [2]int{3, 56},
	pings6:     [2]int{2, 100},
	closedPort: 9,
}

// liveVariedPlan adds more sizes and a refused IPv6 connection, for the
// comparison with tshark.
var liveVariedPlan = livePlan{
	tcp: []liveTCP{
		{v6: false, send: 0, recv: 1},
		{v6: false, send: 1_000_000, recv: 10},
		{v6: false, send: 3_000, recv: 2_000_000},
		{v6: true, send: 40_000, recv: 40_000},
		{v6: true, send: 0, recv: 0},
	},
	refused:    []bool{false, true},
	udpSizes:   []int{17, 1200, 1, 333},
	pings4:     [2]int{4, 1000},
	pings6:     [2]int{3, 8},
	closedPort: 9,
}

// liveWant is what flowtop must have written for one connection of the plan.
type liveWant struct {
	name       string
	proto      string
	orig, resp netip.AddrPort
	state      string
	// history checks the history field ("" when absent).
	history func(string) error
	// Exact payload bytes, checked when the record has them (duration > 0).
	origBytes, respBytes uint64
	// Exact packets and IP bytes, unless pkts is false.
	pkts                     bool
	origPkts, respPkts       uint64
	origIPBytes, respIPBytes uint64
	// pktsPartly: only these are exact (refused connections: the SYN's options
	// vary with the stack's settings).
	pktsPartly bool
}

// liveRecord is the part of a JSON conn.log line the live tests read.
type liveRecord struct {
	OrigH       string          `json:"id.orig_h"`
	OrigP       uint16          `json:"id.orig_p"`
	RespH       string          `json:"id.resp_h"`
	RespP       uint16          `json:"id.resp_p"`
	Proto       string          `json:"proto"`
	Duration    json.RawMessage `json:"duration"` // nil when absent
	OrigBytes   *uint64         `json:"orig_bytes"`
	RespBytes   *uint64         `json:"resp_bytes"`
	ConnState   string          `json:"conn_state"`
	MissedBytes uint64          `json:"missed_bytes"`
	History     string          `json:"history"`
	OrigPkts    uint64          `json:"orig_pkts"`
	OrigIPBytes uint64          `json:"orig_ip_bytes"`
	RespPkts    uint64          `json:"resp_pkts"`
	RespIPBytes uint64          `json:"resp_ip_bytes"`

	orig, resp netip.AddrPort
	line       string
}

// TestLiveKnownTraffic captures known traffic on a veth pair with flowtop
// --headless --json, without -C: the kernel leaves checksums of the host's own
// packets to the (virtual) hardware, and flowtop must not count them as bad. It
// checks each connection's record against what was sent.
func TestLiveKnownTraffic(t *testing.T) {
	p := vethtest.New(t, vethtest.Options{})
	bin := flowtopBinary(t)
	srv := liveStartServer(t, p)
	dir := t.TempDir()
	out := filepath.Join(dir, "live.json")

	ft := liveStart(t, "flowtop", bin, "--headless", "--json", "-i", p.Host, "-w", out)
	ft.waitCapturing(t, p.HostIndex)
	wants := liveRunPlan(t, p, srv, liveBasicPlan)
	srv.stop(t)
	time.Sleep(liveSettle)
	ft.interrupt(t)

	recs := liveReadRecords(t, out)
	checkLiveRecords(t, p, recs, wants)
	t.Run("stats line", func(t *testing.T) {
		var total uint64
		for _, r := range recs {
			total += r.OrigPkts + r.RespPkts
		}
		lines := strings.Split(strings.TrimRight(ft.stderr.String(), "\n"), "\n")
		last := lines[len(lines)-1]
		m := liveStatsLine.FindStringSubmatch(last)
		if m == nil {
			t.Fatalf("last line of stderr %q, want %q", last, "flowtop: "+p.Host+": N packets received, M dropped by the kernel")
		}
		recv, _ := strconv.ParseUint(m[2], 10, 64)
		drops, _ := strconv.ParseUint(m[3], 10, 64)
		if m[1] != p.Host {
			t.Errorf("stats line names interface %q, want %q", m[1], p.Host)
		}
		if drops != 0 {
			t.Errorf("%d packets dropped by the kernel, want 0 for this little traffic", drops)
		}
		if recv < total {
			t.Errorf("%d packets received, fewer than the %d the records count", recv, total)
		}
	})
}

// TestLiveMatchesTshark captures varied traffic with flowtop -C and tcpdump at
// the same time, on the same interface, and requires flowtop's packets and IP
// bytes per connection and direction to equal tshark's counts on tcpdump's file.
func TestLiveMatchesTshark(t *testing.T) {
	vethtest.RequireRoot(t)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("skipping: tshark is not installed")
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("skipping: tcpdump is not installed")
	}
	p := vethtest.New(t, vethtest.Options{})
	bin := flowtopBinary(t)
	srv := liveStartServer(t, p)
	dir := t.TempDir()
	out, pcap := filepath.Join(dir, "live.json"), filepath.Join(dir, "cap.pcap")

	// tcpdump is the reference: a large buffer (in KiB), so that it does not
	// drop the 64 KiB segments the stack hands to the veth in bursts, and
	// immediate mode, so that it gets each packet at once instead of when a
	// block of its ring fills up or times out (after a second).
	td := liveStart(t, "tcpdump", tcpdump, "-i", p.Host, "-n", "-U", "--immediate-mode", "-B", "65536", "-w", pcap)
	ft := liveStart(t, "flowtop", bin, "--headless", "-C", "--json", "-i", p.Host, "-w", out)
	td.waitStderr(t, "listening on")
	ft.waitCapturing(t, p.HostIndex)
	wants := liveRunPlan(t, p, srv, liveVariedPlan)
	srv.stop(t)
	time.Sleep(liveSettle)
	td.interrupt(t)
	ft.interrupt(t)
	if captured, received, dropped := liveTcpdumpStats(td.stderr.String()); dropped != 0 || captured != received || received < 0 {
		t.Fatalf("tcpdump did not write every packet it was given, or did not say: its capture is no reference; stderr: %s", td.stderr.String())
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sum, err := tsharkcheck.RunTshark(ctx, tshark, pcap)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tshark conversations:\n%s", sum.Table())
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := tsharkcheck.ReadRecords(f)
	if err != nil {
		t.Fatal(err)
	}
	pairs, problems := tsharkcheck.Match(sum, recs)
	for _, pr := range problems {
		t.Error(pr)
	}
	// Every planned connection is among the matched ones: the comparison did
	// cover the traffic.
	matched := map[tsharkcheck.Key]bool{}
	for _, pr := range pairs {
		matched[pr.Rec.Key()] = true
	}
	for _, w := range wants {
		if !matched[tsharkcheck.MakeKey(w.proto, w.orig, w.resp)] {
			t.Errorf("%s (%s %s -> %s) not among the connections both tools saw", w.name, w.proto, w.orig, w.resp)
		}
	}
	if sum.NonIP != 0 {
		t.Logf("%d non-IP frames in the capture", sum.NonIP)
	}
}

// liveTcpdumpStats parses the counts tcpdump prints at exit; a count it did not
// print is -1.
func liveTcpdumpStats(stderr string) (captured, received, dropped int) {
	count := func(what string) int {
		m := regexp.MustCompile(`(?m)^(\d+) packets? ` + what + `$`).FindStringSubmatch(stderr)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return count("captured"), count("received by filter"), count("dropped by kernel")
}

// liveServer is the helper process serving TCP and UDP inside the namespace.
type liveServer struct {
	cmd                    *exec.Cmd
	stdin                  io.WriteCloser
	stderr                 bytes.Buffer
	tcp4, tcp6, udp4, udp6 int
}

// liveStartServer starts the helper in p's namespace and waits until it listens.
func liveStartServer(t *testing.T, p *vethtest.Pair) *liveServer {
	t.Helper()
	s, line := liveStartHelper(t, p, fmt.Sprintf("serve %s %s", p.Peer4, p.Peer6))
	if _, err := fmt.Sscanf(line, "ready %d %d %d %d", &s.tcp4, &s.tcp6, &s.udp4, &s.udp6); err != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		t.Fatalf("helper did not start: %q, %v; stderr: %s", line, err, s.stderr.String())
	}
	return s
}

// liveStartHelper runs this test binary as the helper in mode inside p's
// namespace, and returns it with the first line it printed.
func liveStartHelper(t *testing.T, p *vethtest.Pair, mode string) (*liveServer, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("skipping: cannot find the test binary: %v", err)
	}
	s := &liveServer{cmd: p.Command(exe, "-test.run=^TestLiveHelper$")}
	s.cmd.Env = append(os.Environ(), liveHelperEnv+"="+mode)
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		t.Fatalf("helper %q did not start: %q, %v; stderr: %s", mode, line, err, s.stderr.String())
	}
	return s, line
}

// stop closes the helper's standard input and requires a clean exit: every
// connection it accepted was served without error.
func (s *liveServer) stop(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("helper: %v; stderr: %s", err, s.stderr.String())
		}
	case <-time.After(liveIOTimeout):
		s.cmd.Process.Kill()
		<-done
		t.Fatalf("helper did not exit within %v of the end of the traffic", liveIOTimeout)
	}
}

// liveProc is a capturer (flowtop or tcpdump) running in the background.
type liveProc struct {
	name   string
	cmd    *exec.Cmd
	stderr *liveWatch
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, once done is closed
}

// liveStart starts a capturer; the test fails if it cannot.
func liveStart(t *testing.T, name, path string, args ...string) *liveProc {
	t.Helper()
	return liveStartAs(t, nil, name, path, args...)
}

// liveStartAs is liveStart as another user, when cred is not nil.
func liveStartAs(t *testing.T, cred *syscall.Credential, name, path string, args ...string) *liveProc {
	t.Helper()
	lp := &liveProc{name: name, cmd: exec.Command(path, args...), stderr: newLiveWatch(), done: make(chan struct{})}
	if cred != nil {
		lp.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	lp.cmd.Stdout = io.Discard
	lp.cmd.Stderr = lp.stderr
	if err := lp.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		lp.err = lp.cmd.Wait()
		close(lp.done)
	}()
	t.Cleanup(func() {
		select {
		case <-lp.done:
		default:
			lp.cmd.Process.Kill()
			<-lp.done
		}
	})
	return lp
}

// waitCapturing waits until the process has a packet socket bound to the
// interface with index ifindex (a row in /proc/net/packet whose inode is one of
// the process's descriptors): from then on it sees every packet there.
func (lp *liveProc) waitCapturing(t *testing.T, ifindex int) {
	t.Helper()
	deadline := time.Now().Add(liveStartTimeout)
	for {
		ok, err := liveBoundTo(lp.cmd.Process.Pid, ifindex)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		select {
		case <-lp.done:
			t.Fatalf("%s exited before capturing (%v): %s", lp.name, lp.err, lp.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s had no packet socket on interface %d after %v; stderr: %s", lp.name, ifindex, liveStartTimeout, lp.stderr.String())
		}
	}
}

// waitStderr waits until the process has written s to its standard error.
func (lp *liveProc) waitStderr(t *testing.T, s string) {
	t.Helper()
	select {
	case <-lp.stderr.wait(s):
	case <-lp.done:
		t.Fatalf("%s exited before saying %q (%v): %s", lp.name, s, lp.err, lp.stderr.String())
	case <-time.After(liveStartTimeout):
		t.Fatalf("%s did not say %q within %v: %s", lp.name, s, liveStartTimeout, lp.stderr.String())
	}
}

// interrupt sends SIGINT and requires exit status 0 within liveStopTimeout.
func (lp *liveProc) interrupt(t *testing.T) {
	t.Helper()
	lp.stop(t, os.Interrupt)
}

// stop sends sig and requires exit status 0 within liveStopTimeout.
func (lp *liveProc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := lp.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", lp.name, err)
	}
	select {
	case <-lp.done:
	case <-time.After(liveStopTimeout):
		lp.cmd.Process.Kill()
		<-lp.done
		t.Fatalf("%s did not exit within %v of %v; stderr: %s", lp.name, liveStopTimeout, sig, lp.stderr.String())
	}
	if lp.err != nil {
		t.Fatalf("%s after %v: %v; stderr: %s", lp.name, sig, lp.err, lp.stderr.String())
	}
	t.Logf("%s stderr: %s", lp.name, strings.TrimSpace(lp.stderr.String()))
}

// liveBoundTo reports whether process pid has a running packet socket bound to
// interface ifindex, according to /proc/net/packet (columns: sk RefCnt Type
// Proto Iface R Rmem User Inode).
func liveBoundTo(pid, ifindex int) (bool, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false, nil // exiting, or not started yet: the caller checks
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	b, err := os.ReadFile("/proc/net/packet")
	if err != nil {
		return false, fmt.Errorf("cannot tell whether the capture started: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) >= 9 && f[4] == strconv.Itoa(ifindex) && f[5] == "1" && inodes[f[8]] {
			return true, nil
		}
	}
	return false, nil
}

// liveWatch collects a process's standard error and signals when a string
// appears in it.
type liveWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	waiters map[string]chan struct{}
}

func newLiveWatch() *liveWatch { return &liveWatch{waiters: map[string]chan struct{}{}} }

func (w *liveWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	w.notifyLocked()
	return len(b), nil
}

// wait returns a channel closed once s has been written.
func (w *liveWatch) wait(s string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.waiters[s]
	if !ok {
		ch = make(chan struct{})
		w.waiters[s] = ch
		w.notifyLocked()
	}
	return ch
}

// notifyLocked closes the channels of the strings seen so far; w.mu is held.
func (w *liveWatch) notifyLocked() {
	for s, ch := range w.waiters {
		select {
		case <-ch: // closed already
		default:
			if bytes.Contains(w.buf.Bytes(), []byte(s)) {
				close(ch)
			}
		}
	}
}

func (w *liveWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// liveRunPlan sends the plan's traffic from the host end, one exchange after
// the other, and returns the records it must produce.
func liveRunPlan(t *testing.T, p *vethtest.Pair, srv *liveServer, plan livePlan) []liveWant {
	t.Helper()
	var wants []liveWant
	for i, x := range plan.tcp {
		host, peer, port := p.Host4, p.Peer4, srv.tcp4
		if x.v6 {
			host, peer, port = p.Host6, p.Peer6, srv.tcp6
		}
		dst := netip.AddrPortFrom(peer, uint16(port))
		src := liveTCPExchange(t, dst, x.send, x.recv)
		if src.Addr() != host {
			t.Fatalf("tcp exchange %d went out from %s, not the host end's %s", i, src, host)
		}
		wants = append(wants, liveWant{
			name:  fmt.Sprintf("tcp exchange %d (%d bytes up, %d down)", i, x.send, x.recv),
			proto: "tcp", orig: src, resp: dst, state: "SF",
			history:   liveTCPHistory(x.recv > 0),
			origBytes: uint64(4 + x.send), respBytes: uint64(x.recv),
		})
	}
	for _, v6 := range plan.refused {
		host, peer := p.Host4, p.Peer4
		if v6 {
			host, peer = p.Host6, p.Peer6
		}
		dst := netip.AddrPortFrom(peer, uint16(plan.closedPort))
		src := liveRefused(t, host, dst)
		// The SYN's size depends on the options the stack sends; the RST-ACK
		// is a bare header.
		rst := uint64(20 + 20)
		if v6 {
			rst = 40 + 20
		}
		wants = append(wants, liveWant{
			name: "refused " + dst.String(), proto: "tcp", orig: src, resp: dst, state: "REJ",
			history:    liveExact("Sr"),
			pktsPartly: true, origPkts: 1, respPkts: 1, respIPBytes: rst,
		})
	}
	for _, v6 := range []bool{false, true} {
		peer, port, hdr := p.Peer4, srv.udp4, uint64(20+8)
		if v6 {
			peer, port, hdr = p.Peer6, srv.udp6, 40+8
		}
		dst := netip.AddrPortFrom(peer, uint16(port))
		src := liveUDPExchange(t, dst, plan.udpSizes)
		w := liveWant{
			name: "udp " + dst.String(), proto: "udp", orig: src, resp: dst, state: "SF",
			history: liveExact("Dd"), pkts: true,
			origPkts: uint64(len(plan.udpSizes)), respPkts: uint64(len(plan.udpSizes)),
		}
		for _, n := range plan.udpSizes {
			r := liveReplySize(n)
			w.origBytes += uint64(n)
			w.respBytes += uint64(r)
			w.origIPBytes += hdr + uint64(n)
			w.respIPBytes += hdr + uint64(r)
		}
		wants = append(wants, w)
	}
	for _, v6 := range []bool{false, true} {
		host, peer, ping, hdr := p.Host4, p.Peer4, plan.pings4, uint64(20+8)
		req, rep := uint16(8), uint16(0) // the reply type is the ICMP "port" of the responder
		if v6 {
			host, peer, ping, hdr = p.Host6, p.Peer6, plan.pings6, 40+8
			req, rep = 128, 129
		}
		if err := vethtest.Ping(host, peer, ping[0], ping[1], liveIOTimeout); err != nil {
			t.Fatal(err)
		}
		n, size := uint64(ping[0]), uint64(ping[1])
		wants = append(wants, liveWant{
			name: "ping " + peer.String(), proto: "icmp",
			orig: netip.AddrPortFrom(host, req), resp: netip.AddrPortFrom(peer, rep), state: "OTH",
			history:   liveExact(""),
			origBytes: n * size, respBytes: n * size,
			pkts: true, origPkts: n, respPkts: n, origIPBytes: n * (hdr + size), respIPBytes: n * (hdr + size),
		})
	}
	return wants
}

// liveTCPExchange runs one exchange with the helper at dst (see liveServe) and
// returns the client's address.
func liveTCPExchange(t *testing.T, dst netip.AddrPort, send, recv int) netip.AddrPort {
	t.Helper()
	d := net.Dialer{Timeout: liveIOTimeout, Control: liveControl}
	c, err := d.Dial("tcp", dst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(liveIOTimeout))
	msg := make([]byte, 4, 4+send)
	binary.BigEndian.PutUint32(msg, uint32(recv))
	msg = append(msg, livePayload(send)...)
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("tcp %s: %v", dst, err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("tcp %s: %v", dst, err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("tcp %s: %v", dst, err)
	}
	if len(got) != recv {
		t.Fatalf("tcp %s: received %d bytes, want %d", dst, len(got), recv)
	}
	return c.LocalAddr().(*net.TCPAddr).AddrPort()
}

// liveRefused connects to dst, where nothing listens, from host, and returns
// the client's address.
func liveRefused(t *testing.T, host netip.Addr, dst netip.AddrPort) netip.AddrPort {
	t.Helper()
	// Bind the client port first, to know it when the connection fails.
	d := net.Dialer{Timeout: liveIOTimeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(host, liveFreePort(t, host)))}
	c, err := d.Dial("tcp", dst.String())
	if err == nil {
		c.Close()
		t.Fatalf("connection to %s was accepted, want it refused", dst)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connection to %s: %v, want connection refused", dst, err)
	}
	return netip.AddrPortFrom(host, uint16(d.LocalAddr.(*net.TCPAddr).Port))
}

// liveFreePort returns a TCP port that is free on host.
func liveFreePort(t *testing.T, host netip.Addr) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// liveUDPExchange sends one datagram of each size to dst, waiting for each
// answer, and returns the client's address.
func liveUDPExchange(t *testing.T, dst netip.AddrPort, sizes []int) netip.AddrPort {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 65536)
	for _, n := range sizes {
		if _, err := c.Write(livePayload(n)); err != nil {
			t.Fatalf("udp %s: %v", dst, err)
		}
		c.SetReadDeadline(time.Now().Add(liveIOTimeout))
		m, err := c.Read(buf)
		if err != nil {
			t.Fatalf("udp %s: no answer to %d bytes: %v", dst, n, err)
		}
		if m != liveReplySize(n) {
			t.Fatalf("udp %s: answer of %d bytes to %d, want %d", dst, m, n, liveReplySize(n))
		}
	}
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// liveTCPHistory checks the history of a client that sends data and FIN, then
// reads the server's answer (data only when respData) and FIN. The handshake
// and the first data come in a fixed order, "ShAD"; after that, the server's
// pure ACK ("a", optional: it may ride on its data), its data ("d"), the
// client's FIN ("F") and the server's FIN ("f") each appear once, in an order
// that depends on timing. Any other letter (retransmission, bad checksum,
// reset, flip) is wrong.
func liveTCPHistory(respData bool) func(string) error {
	return func(h string) error {
		rest, ok := strings.CutPrefix(h, "ShAD")
		if !ok {
			return fmt.Errorf("history %q does not start with ShAD", h)
		}
		seen := map[rune]bool{}
		for _, c := range rest {
			if !strings.ContainsRune("adFf", c) || seen[c] {
				return fmt.Errorf("history %q: unexpected %q after ShAD", h, c)
			}
			seen[c] = true
		}
		if !seen['F'] || !seen['f'] {
			return fmt.Errorf("history %q lacks a FIN (F and f)", h)
		}
		if seen['d'] != respData {
			return fmt.Errorf("history %q: server data letter d present %v, want %v", h, seen['d'], respData)
		}
		return nil
	}
}

// liveExact checks for exactly the history want.
func liveExact(want string) func(string) error {
	return func(h string) error {
		if h != want {
			return fmt.Errorf("history %q, want %q", h, want)
		}
		return nil
	}
}

// liveReadRecords reads flowtop's JSON lines.
func liveReadRecords(t *testing.T, path string) []*liveRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*liveRecord
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		r := &liveRecord{line: line}
		if err := json.Unmarshal([]byte(line), r); err != nil {
			t.Fatalf("%s line %d: %v: %s", path, i+1, err, line)
		}
		oh, err1 := netip.ParseAddr(r.OrigH)
		rh, err2 := netip.ParseAddr(r.RespH)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s line %d: bad address: %s", path, i+1, line)
		}
		r.orig, r.resp = netip.AddrPortFrom(oh.Unmap(), r.OrigP), netip.AddrPortFrom(rh.Unmap(), r.RespP)
		recs = append(recs, r)
	}
	return recs
}

// checkLiveRecords checks each wanted connection against its record, one
// subtest per connection, and that no other record is between the pair's
// addresses.
func checkLiveRecords(t *testing.T, p *vethtest.Pair, recs []*liveRecord, wants []liveWant) {
	t.Helper()
	used := map[*liveRecord]bool{}
	for _, w := range wants {
		var found []*liveRecord
		for _, r := range recs {
			if r.Proto == w.proto && ((r.orig == w.orig && r.resp == w.resp) || (r.orig == w.resp && r.resp == w.orig)) {
				found = append(found, r)
				used[r] = true
			}
		}
		t.Run(w.name, func(t *testing.T) {
			if len(found) != 1 {
				t.Fatalf("%d records for %s %s -> %s, want 1:\n%s", len(found), w.proto, w.orig, w.resp, liveLines(found))
			}
			r := found[0]
			errorf := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%s\n\t%s", fmt.Sprintf(format, args...), r.line)
			}
			if r.orig != w.orig {
				errorf("originator %s, want %s", r.orig, w.orig)
			}
			if r.ConnState != w.state {
				errorf("conn_state %s, want %s", r.ConnState, w.state)
			}
			if err := w.history(r.History); err != nil {
				errorf("%v", err)
			}
			if r.MissedBytes != 0 {
				errorf("missed_bytes %d, want 0", r.MissedBytes)
			}
			switch {
			case r.Duration == nil && (r.OrigBytes != nil || r.RespBytes != nil):
				errorf("orig_bytes/resp_bytes without a duration")
			case r.Duration == nil && w.state != "REJ":
				errorf("no duration, but the connection lasted several round trips")
			case r.Duration != nil && (r.OrigBytes == nil || r.RespBytes == nil):
				errorf("duration without orig_bytes/resp_bytes")
			case r.Duration != nil && (*r.OrigBytes != w.origBytes || *r.RespBytes != w.respBytes):
				errorf("orig_bytes %d, resp_bytes %d; want %d, %d", *r.OrigBytes, *r.RespBytes, w.origBytes, w.respBytes)
			}
			if w.pkts && (r.OrigPkts != w.origPkts || r.RespPkts != w.respPkts ||
				r.OrigIPBytes != w.origIPBytes || r.RespIPBytes != w.respIPBytes) {
				errorf("orig %d pkts/%d IP bytes, resp %d/%d; want %d/%d, %d/%d",
					r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes,
					w.origPkts, w.origIPBytes, w.respPkts, w.respIPBytes)
			}
			if w.pktsPartly && (r.OrigPkts != w.origPkts || r.RespPkts != w.respPkts || r.RespIPBytes != w.respIPBytes) {
				errorf("orig %d pkts, resp %d pkts/%d IP bytes; want %d, %d/%d",
					r.OrigPkts, r.RespPkts, r.RespIPBytes, w.origPkts, w.respPkts, w.respIPBytes)
			}
		})
	}
	ours := map[netip.Addr]bool{p.Host4: true, p.Peer4: true, p.Host6: true, p.Peer6: true}
	var extra []*liveRecord
	for _, r := range recs {
		if !used[r] && ours[r.orig.Addr()] && ours[r.resp.Addr()] {
			extra = append(extra, r)
		}
	}
	if len(extra) > 0 {
		t.Errorf("records of connections the test did not make:\n%s", liveLines(extra))
	}
}

func liveLines(recs []*liveRecord) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\t%s\n", r.line)
	}
	return b.String()
}
