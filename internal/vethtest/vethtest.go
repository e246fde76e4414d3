package vethtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Prefix lengths of the addresses New assigns: each pair has a subnet of its
// own, holding just its two ends.
const (
	Prefix4 = 30 // IPv4: a /30 per pair
	Prefix6 = 64 // IPv6: a /64 per pair
)

// slots is the number of distinct subnets: /30s in 10.214.0.0/16.
const slots = 1 << 14

// maxIfname is the longest interface name Linux accepts (IFNAMSIZ less the NUL).
const maxIfname = 15

// mldSettleTimeout bounds how long New waits for the multicast listener
// reports sent when the link comes up.
const mldSettleTimeout = 2 * time.Second

// Options changes how New sets up a pair. The zero value is the default: the
// kernel's offload settings are kept.
type Options struct {
	// DisableOffloads turns off checksum, segmentation and receive offloads on
	// both ends (ethtool -K ... rx off tx off tso off gso off gro off), so that
	// captured packets carry their final checksums and are at most MTU-sized.
	// New skips the test when ethtool is not installed.
	DisableOffloads bool
}

// Pair is a veth pair: Host is in the network namespace of the test process,
// Peer in the network namespace NS. Packets sent by one end arrive at the
// other. The fields are set by New and must not be changed.
type Pair struct {
	NS        string           // name of the network namespace that holds Peer
	Host      string           // interface name of the host end
	Peer      string           // interface name of the peer end (inside NS)
	HostIndex int              // interface index of Host in the test's namespace
	HostMAC   net.HardwareAddr // link-layer address of Host
	PeerMAC   net.HardwareAddr // link-layer address of Peer
	Host4     netip.Addr       // IPv4 address of Host (/30)
	Peer4     netip.Addr       // IPv4 address of Peer (/30)
	Host6     netip.Addr       // IPv6 address of Host (/64)
	Peer6     netip.Addr       // IPv6 address of Peer (/64)
}

// String describes the pair in one line, for test logs.
func (p *Pair) String() string {
	return fmt.Sprintf("%s (%s %s %s) <-> netns %s: %s (%s %s %s)",
		p.Host, p.HostMAC, p.Host4, p.Host6, p.NS, p.Peer, p.PeerMAC, p.Peer4, p.Peer6)
}

// Command returns a command that runs name with args inside the pair's
// namespace (through "ip netns exec"). ip execs name after switching
// namespaces, so the command's process is name's process: signals sent to it
// reach name, and its standard streams are name's.
func (p *Pair) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", p.NS, name}, args...)...)
}

// CommandContext is Command with a context that kills the process when done.
func (p *Pair) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", p.NS, name}, args...)...)
}

// Run runs name with args inside the pair's namespace and returns its combined
// output; it fails the test if the command fails.
func (p *Pair) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := run("ip", append([]string{"netns", "exec", p.NS, name}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RequireRoot skips the test, with a one-line message, unless it runs on Linux
// as root with the ip command installed: what New needs.
func RequireRoot(t testing.TB) {
	t.Helper()
	switch {
	case runtime.GOOS != "linux":
		t.Skipf("skipping: network namespaces need Linux, not %s", runtime.GOOS)
	case os.Geteuid() != 0:
		t.Skip("skipping: needs root to create network namespaces and veth pairs")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: the ip command (iproute2) is not installed")
	}
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		t.Skip("skipping: IPv6 is disabled in this kernel")
	}
}

// seq numbers the pairs made by this process.
var seq atomic.Uint32

// New creates a network namespace and a veth pair into it, addresses both ends,
// brings the link up and returns when it is quiet (see the package comment).
// Everything is removed by t.Cleanup. It skips the test when RequireRoot does,
// or when this machine cannot create namespaces or veth pairs; any other
// failure fails the test.
func New(t testing.TB, opt Options) *Pair {
	t.Helper()
	RequireRoot(t)
	if opt.DisableOffloads {
		if _, err := exec.LookPath("ethtool"); err != nil {
			t.Skip("skipping: ethtool is not installed (needed to turn offloads off)")
		}
	}
	p := create(t)

	ifi, err := net.InterfaceByName(p.Host)
	if err != nil {
		t.Fatalf("vethtest: %v", err)
	}
	a := allocate(ifi.Index)
	p.HostIndex = ifi.Index
	p.Host4, p.Peer4, p.Host6, p.Peer6 = a.host4, a.peer4, a.host6, a.peer6
	p.HostMAC, p.PeerMAC = a.hostMAC, a.peerMAC

	in := func(args ...string) []string { return append([]string{"-n", p.NS}, args...) }
	steps := [][]string{
		// No link-local addresses: no DAD, no router solicitations.
		{"ip", "link", "set", "dev", p.Host, "address", p.HostMAC.String(), "addrgenmode", "none"},
		append([]string{"ip"}, in("link", "set", "dev", p.Peer, "address", p.PeerMAC.String(), "addrgenmode", "none")...),
		{"sh", "-c", sysctlScript(p.Host)},
		{"ip", "netns", "exec", p.NS, "sh", "-c", sysctlScript(p.Peer)},
		{"ip", "addr", "add", prefix(p.Host4, Prefix4), "dev", p.Host},
		{"ip", "addr", "add", prefix(p.Host6, Prefix6), "dev", p.Host, "nodad"},
		append([]string{"ip"}, in("addr", "add", prefix(p.Peer4, Prefix4), "dev", p.Peer)...),
		append([]string{"ip"}, in("addr", "add", prefix(p.Peer6, Prefix6), "dev", p.Peer, "nodad")...),
	}
	if opt.DisableOffloads {
		off := []string{"rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro", "off"}
		steps = append(steps,
			append([]string{"ethtool", "-K", p.Host}, off...),
			append([]string{"ip", "netns", "exec", p.NS, "ethtool", "-K", p.Peer}, off...))
	}
	steps = append(steps,
		append([]string{"ip"}, in("link", "set", "dev", "lo", "up")...),
		append([]string{"ip"}, in("link", "set", "dev", p.Peer, "up")...),
		[]string{"ip", "link", "set", "dev", p.Host, "up"},
		// Static neighbours: no ARP, no neighbour solicitations.
		[]string{"ip", "neigh", "replace", p.Peer4.String(), "lladdr", p.PeerMAC.String(), "dev", p.Host, "nud", "permanent"},
		[]string{"ip", "neigh", "replace", p.Peer6.String(), "lladdr", p.PeerMAC.String(), "dev", p.Host, "nud", "permanent"},
		append([]string{"ip"}, in("neigh", "replace", p.Host4.String(), "lladdr", p.HostMAC.String(), "dev", p.Peer, "nud", "permanent")...),
		append([]string{"ip"}, in("neigh", "replace", p.Host6.String(), "lladdr", p.HostMAC.String(), "dev", p.Peer, "nud", "permanent")...),
	)
	for _, s := range steps {
		if _, err := run(s[0], s[1:]...); err != nil {
			t.Fatalf("vethtest: %v", err)
		}
	}
	if err := p.waitMLD(mldSettleTimeout); err != nil {
		t.Logf("vethtest: %v; the capture may see a few multicast listener reports", err)
	}
	return p
}

// create makes the namespace and the veth pair, retrying with the next name if
// one is taken (by a leftover of a crashed run with the same process id).
func create(t testing.TB) *Pair {
	t.Helper()
	for attempt := 0; ; attempt++ {
		ns, host, peer := names(os.Getpid(), int(seq.Add(1)))
		if _, err := run("ip", "netns", "add", ns); err != nil {
			if isExists(err) && attempt < 5 {
				continue
			}
			t.Skipf("skipping: cannot create a network namespace: %v", err)
		}
		p := &Pair{NS: ns, Host: host, Peer: peer}
		t.Cleanup(func() { p.removeNS(t) })
		if _, err := run("ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns); err != nil {
			if isExists(err) && attempt < 5 {
				continue
			}
			t.Skipf("skipping: cannot create a veth pair: %v", err)
		}
		// Cleanups run last-in first-out: the link goes before the namespace.
		t.Cleanup(func() { p.removeLink(t) })
		return p
	}
}

// removeLink deletes the host end, which deletes the peer end too. Deleting the
// namespace alone would leave the pair (and the host end's addresses) behind
// for as long as a process the test forgot to end still runs in it.
func (p *Pair) removeLink(t testing.TB) {
	t.Helper()
	if _, err := net.InterfaceByName(p.Host); err != nil {
		return // already gone
	}
	if _, err := run("ip", "link", "del", "dev", p.Host); err != nil {
		t.Errorf("vethtest cleanup: %v", err)
	}
}

// removeNS kills what still runs in the namespace (only the test can have
// started it, the namespace being the test's own), then deletes the namespace.
func (p *Pair) removeNS(t testing.TB) {
	t.Helper()
	out, err := run("ip", "netns", "pids", p.NS)
	if err == nil {
		for _, f := range strings.Fields(out) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid <= 0 {
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				t.Logf("vethtest cleanup: killed process %d, still running in %s", pid, p.NS)
			}
		}
	}
	if _, err := run("ip", "netns", "del", p.NS); err != nil {
		t.Errorf("vethtest cleanup: %v", err)
	}
}

// waitMLD waits until both ends have sent their multicast listener reports for
// the groups joined when the link came up: as many reports as the robustness
// variable (net.ipv6.mld_qrv, which new namespaces inherit) asks for.
// sysctlScript made their interval one millisecond, so this takes a few jiffies.
func (p *Pair) waitMLD(timeout time.Duration) error {
	qrv := 2 // the kernel's default
	if b, err := os.ReadFile("/proc/sys/net/ipv6/mld_qrv"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			qrv = n
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		hostOut, err1 := run("cat", "/proc/net/dev_snmp6/"+p.Host)
		peerOut, err2 := run("ip", "netns", "exec", p.NS, "cat", "/proc/net/dev_snmp6/"+p.Peer)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("reading MLD counters: %w", err)
		}
		hn, pn := mldReports(hostOut), mldReports(peerOut)
		if hn >= qrv && pn >= qrv {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v, %s sent %d and %s %d MLD reports, want %d each",
				timeout, p.Host, hn, p.Peer, pn, qrv)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mldReports returns the multicast listener reports counted in an interface's
// dev_snmp6 file: MLDv2 reports plus MLDv1 reports, which dev_snmp6 calls group
// membership responses.
func mldReports(devSNMP6 string) int {
	sent := 0
	for _, l := range strings.Split(devSNMP6, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && (f[0] == "Icmp6OutMLDv2Reports" || f[0] == "Icmp6OutGroupMembResponses") {
			n, _ := strconv.Atoi(f[1])
			sent += n
		}
	}
	return sent
}

// sysctlScript returns a shell script that enables IPv6 on interface ifname and
// keeps it from talking on its own: no DAD, no router advertisements or solicitations, and
// unsolicited multicast listener reports repeated after 1 ms instead of up to a
// second, so that they are over before a test starts capturing.
func sysctlScript(ifname string) string {
	settings := []struct {
		name  string
		value int
	}{
		{"disable_ipv6", 0}, // in case the machine's default turns IPv6 off
		{"accept_dad", 0},
		{"accept_ra", 0},
		{"router_solicitations", 0},
		{"mldv1_unsolicited_report_interval", 1},
		{"mldv2_unsolicited_report_interval", 1},
	}
	var b strings.Builder
	b.WriteString("set -e")
	for _, s := range settings {
		fmt.Fprintf(&b, "; echo %d > /proc/sys/net/ipv6/conf/%s/%s", s.value, ifname, s.name)
	}
	return b.String()
}

// names returns the namespace and interface names of the seq'th pair made by
// process pid. Interface names fit IFNAMSIZ: "vt", the pid and the sequence
// number in base 36, "-" between them, and "h" (host) or "p" (peer).
func names(pid, seq int) (ns, host, peer string) {
	id := strconv.FormatInt(int64(pid), 36) + "-" + strconv.FormatInt(int64(seq), 36)
	return fmt.Sprintf("vethtest-%d-%d", pid, seq), "vt" + id + "h", "vt" + id + "p"
}

// addrs are the addresses of one pair.
type addrs struct {
	host4, peer4     netip.Addr
	host6, peer6     netip.Addr
	hostMAC, peerMAC net.HardwareAddr
}

// allocate returns the addresses of the pair whose host end has interface index
// ifindex. Two interfaces that exist at the same time in one namespace have
// different indexes, so concurrent pairs (in this process or another) get
// different subnets unless their indexes differ by a multiple of 16384.
func allocate(ifindex int) addrs {
	slot := ifindex % slots
	if slot < 0 {
		slot += slots
	}
	hi, lo := byte(slot>>8), byte(slot)
	base := 4 * slot // the /30's network address within 10.214.0.0/16
	b2, b3 := byte(base>>8), byte(base)
	v6 := func(last byte) netip.Addr {
		return netip.AddrFrom16([16]byte{0xfd, 0x76, 0x65, 0x74, 0x00, 0x68, hi, lo, 15: last})
	}
	return addrs{
		host4:   netip.AddrFrom4([4]byte{10, 214, b2, b3 + 1}),
		peer4:   netip.AddrFrom4([4]byte{10, 214, b2, b3 + 2}),
		host6:   v6(1),
		peer6:   v6(2),
		hostMAC: net.HardwareAddr{0x02, 0x76, 0x74, hi, lo, 0x01},
		peerMAC: net.HardwareAddr{0x02, 0x76, 0x74, hi, lo, 0x02},
	}
}

func prefix(a netip.Addr, bits int) string {
	return netip.PrefixFrom(a, bits).String()
}

// run runs a command and returns its combined output; on failure the error
// holds the command line and the output.
func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), &cmdError{cmd: name + " " + strings.Join(args, " "), err: err, out: string(bytes.TrimSpace(out))}
	}
	return string(out), nil
}

// cmdError is a failed command with its output.
type cmdError struct {
	cmd, out string
	err      error
}

func (e *cmdError) Error() string { return fmt.Sprintf("%s: %v: %s", e.cmd, e.err, e.out) }

func (e *cmdError) Unwrap() error { return e.err }

// isExists reports whether a command failed because the name it was to create
// is taken.
func isExists(err error) bool {
	var ce *cmdError
	return errors.As(err, &ce) && strings.Contains(ce.out, "exists")
}
