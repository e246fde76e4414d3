package vethtest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNames(t *testing.T) {
	tests := map[string]struct {
		pid, seq         int
		ns, host, peer   string
		wantMaxIfnameLen bool
	}{
		"first":       {pid: 1, seq: 1, ns: "vethtest-1-1", host: "vt1-1h", peer: "vt1-1p"},
		"base 36":     {pid: 12345, seq: 36, ns: "vethtest-12345-36", host: "vt9ix-10h", peer: "vt9ix-10p"},
		"largest pid": {pid: 1 << 22, seq: 1, ns: "vethtest-4194304-1", host: "vt2hwcg-1h", peer: "vt2hwcg-1p"},
		"longest": {pid: 1 << 22, seq: 36*36*36*36*36*36 - 1, ns: "vethtest-4194304-2176782335",
			host: "vt2hwcg-zzzzzzh", peer: "vt2hwcg-zzzzzzp", wantMaxIfnameLen: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns, host, peer := names(tc.pid, tc.seq)
			if ns != tc.ns || host != tc.host || peer != tc.peer {
				t.Errorf("names(%d, %d) = %q, %q, %q; want %q, %q, %q", tc.pid, tc.seq, ns, host, peer, tc.ns, tc.host, tc.peer)
			}
			if len(host) > maxIfname || len(peer) > maxIfname {
				t.Errorf("interface names %q, %q longer than %d bytes", host, peer, maxIfname)
			}
			if tc.wantMaxIfnameLen && len(host) != maxIfname {
				t.Errorf("%q: %d bytes, want exactly %d", host, len(host), maxIfname)
			}
		})
	}
}

// TestNamesUnique checks that different processes and sequence numbers never
// share a name, including pairs like (1, 11) and (11, 1).
func TestNamesUnique(t *testing.T) {
	seen := map[string][2]int{}
	for _, pid := range []int{1, 11, 36, 37, 1295, 4194304} {
		for _, s := range []int{1, 2, 11, 36, 37, 1296} {
			ns, host, peer := names(pid, s)
			for _, n := range []string{ns, host, peer} {
				if prev, ok := seen[n]; ok {
					t.Errorf("names(%d, %d) and names(%d, %d) both give %q", pid, s, prev[0], prev[1], n)
				}
				seen[n] = [2]int{pid, s}
			}
		}
	}
}

func TestAllocate(t *testing.T) {
	tests := map[string]struct {
		ifindex                    int
		host4, peer4, host6, peer6 string
		hostMAC, peerMAC           string
	}{
		"index 1":    {1, "10.214.0.5", "10.214.0.6", "fd76:6574:68:1::1", "fd76:6574:68:1::2", "02:76:74:00:01:01", "02:76:74:00:01:02"},
		"index 63":   {63, "10.214.0.253", "10.214.0.254", "fd76:6574:68:3f::1", "fd76:6574:68:3f::2", "02:76:74:00:3f:01", "02:76:74:00:3f:02"},
		"index 64":   {64, "10.214.1.1", "10.214.1.2", "fd76:6574:68:40::1", "fd76:6574:68:40::2", "02:76:74:00:40:01", "02:76:74:00:40:02"},
		"index 300":  {300, "10.214.4.177", "10.214.4.178", "fd76:6574:68:12c::1", "fd76:6574:68:12c::2", "02:76:74:01:2c:01", "02:76:74:01:2c:02"},
		"last slot":  {16383, "10.214.255.253", "10.214.255.254", "fd76:6574:68:3fff::1", "fd76:6574:68:3fff::2", "02:76:74:3f:ff:01", "02:76:74:3f:ff:02"},
		"wraps":      {16384, "10.214.0.1", "10.214.0.2", "fd76:6574:68::1", "fd76:6574:68::2", "02:76:74:00:00:01", "02:76:74:00:00:02"},
		"wraps, too": {16385 + 16384, "10.214.0.5", "10.214.0.6", "fd76:6574:68:1::1", "fd76:6574:68:1::2", "02:76:74:00:01:01", "02:76:74:00:01:02"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := allocate(tc.ifindex)
			got := []string{a.host4.String(), a.peer4.String(), a.host6.String(), a.peer6.String(), a.hostMAC.String(), a.peerMAC.String()}
			want := []string{tc.host4, tc.peer4, tc.host6, tc.peer6, tc.hostMAC, tc.peerMAC}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("allocate(%d) = %v, want %v", tc.ifindex, got, want)
					break
				}
			}
		})
	}
}

// TestAllocateDisjoint checks the property New relies on: every slot's two
// ends share a subnet, and no two slots' subnets overlap.
func TestAllocateDisjoint(t *testing.T) {
	seen4 := map[netip.Prefix]int{}
	seen6 := map[netip.Prefix]int{}
	for i := range slots {
		a := allocate(i)
		p4, _ := a.host4.Prefix(Prefix4)
		p6, _ := a.host6.Prefix(Prefix6)
		if !p4.Contains(a.peer4) || !p6.Contains(a.peer6) {
			t.Fatalf("slot %d: peer %s %s outside the host's %s %s", i, a.peer4, a.peer6, p4, p6)
		}
		if p4.Addr() == a.host4 || !netip.MustParsePrefix("10.214.0.0/16").Contains(a.host4) {
			t.Fatalf("slot %d: host address %s is the network address or outside 10.214.0.0/16", i, a.host4)
		}
		if j, ok := seen4[p4]; ok {
			t.Fatalf("slots %d and %d share %s", j, i, p4)
		}
		if j, ok := seen6[p6]; ok {
			t.Fatalf("slots %d and %d share %s", j, i, p6)
		}
		seen4[p4], seen6[p6] = i, i
	}
}

func TestSysctlScript(t *testing.T) {
	got := sysctlScript("vt1-1h")
	for _, want := range []string{
		"set -e;",
		"echo 0 > /proc/sys/net/ipv6/conf/vt1-1h/accept_dad",
		"echo 1 > /proc/sys/net/ipv6/conf/vt1-1h/mldv2_unsolicited_report_interval",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("sysctlScript: %q lacks %q", got, want)
		}
	}
}

func TestMLDReports(t *testing.T) {
	tests := map[string]struct {
		devSNMP6 string
		sent     int
	}{
		"v2":        {"ifIndex 7\nIcmp6InMsgs 0\nIcmp6OutMLDv2Reports  3\nIcmp6OutMsgs 4\n", 3},
		"v1 and v2": {"Icmp6OutGroupMembResponses 1\nIcmp6OutMLDv2Reports 1\n", 2},
		"received":  {"Icmp6InMLDv2Reports 5\nIcmp6OutMLDv2Reports 0\n", 0},
		"garbage":   {"Icmp6OutMLDv2Reports x y\n", 0},
		"empty":     {"", 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if n := mldReports(tc.devSNMP6); n != tc.sent {
				t.Errorf("mldReports = %d, want %d", n, tc.sent)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	// An echo request with id 1, seq 1 and no payload: 0x0800 + 0x0001 + 0x0001.
	m := echoMessage(icmp4EchoRequest, 1, 1, 0)
	if got, want := binary.BigEndian.Uint16(m[2:]), uint16(^uint16(0x0802)); got != want {
		t.Errorf("checksum %#04x, want %#04x", got, want)
	}
	if checksum(m) != 0 {
		t.Errorf("a message with its checksum filled in does not sum to zero")
	}
	odd := echoMessage(icmp4EchoRequest, 0xbeef, 7, 3)
	if checksum(odd) != 0 {
		t.Errorf("odd-length message: checksum does not verify")
	}
}

// TestPairPing creates a pair, checks where its ends are, and pings across it
// over IPv4 and IPv6, with the kernel's offloads and with them turned off.
func TestPairPing(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := "offloads"
		if off {
			name = "no offloads"
		}
		t.Run(name, func(t *testing.T) {
			p := New(t, Options{DisableOffloads: off})
			t.Log(p)
			ifi, err := net.InterfaceByName(p.Host)
			if err != nil || ifi.Index != p.HostIndex || ifi.HardwareAddr.String() != p.HostMAC.String() {
				t.Fatalf("host end %s: %v, %v; want index %d, MAC %s", p.Host, ifi, err, p.HostIndex, p.HostMAC)
			}
			if _, err := net.InterfaceByName(p.Peer); err == nil {
				t.Errorf("the peer end %s is in the test's namespace", p.Peer)
			}
			out := p.Run(t, "ip", "-o", "addr", "show", "dev", p.Peer)
			for _, a := range []string{prefix(p.Peer4, Prefix4), prefix(p.Peer6, Prefix6)} {
				if !strings.Contains(out, a) {
					t.Errorf("peer end in %s lacks %s: %s", p.NS, a, out)
				}
			}
			if strings.Contains(out, "fe80:") {
				t.Errorf("peer end has a link-local address: %s", out)
			}
			for _, dst := range []netip.Addr{p.Peer4, p.Peer6} {
				src := p.Host4
				if dst.Is6() {
					src = p.Host6
				}
				if err := Ping(src, dst, 3, 100, 2*time.Second); err != nil {
					t.Error(err)
				}
			}
			if off {
				if out := p.Run(t, "ethtool", "-k", p.Peer); !strings.Contains(out, "tx-checksumming: off") {
					t.Errorf("peer end still checksums in hardware:\n%s", out)
				}
				if out, _ := exec.Command("ethtool", "-k", p.Host).Output(); !strings.Contains(string(out), "tcp-segmentation-offload: off") {
					t.Errorf("host end still segments in hardware:\n%s", out)
				}
			}
		})
	}
}

// TestCleanup checks that the pair and its namespace are gone when the test
// that made them ends.
func TestCleanup(t *testing.T) {
	var p *Pair
	t.Run("make", func(t *testing.T) { p = New(t, Options{}) })
	if p == nil {
		t.Skip("skipping: no pair was made")
	}
	if _, err := net.InterfaceByName(p.Host); err == nil {
		t.Errorf("%s still exists", p.Host)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == p.NS {
			t.Errorf("namespace %s still exists", p.NS)
		}
	}
}

// TestQuietLink captures on the host end from the moment New returns, pings
// twice over each family and checks that the capture holds those eight echo
// messages and nothing else: no ARP, no neighbour discovery, no MLD.
func TestQuietLink(t *testing.T) {
	p := New(t, Options{})
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		t.Skipf("skipping: cannot open a packet socket: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: p.HostIndex}); err != nil {
		t.Fatal(err)
	}
	// Read with a short timeout: whatever arrives after the pings is noise.
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200_000}); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]netip.Addr{{p.Host4, p.Peer4}, {p.Host6, p.Peer6}} {
		if err := Ping(pair[0], pair[1], 2, 32, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	var echo4, echo6 int
	buf := make([]byte, 65536)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f := buf[:n]
		switch {
		case n == 14+20+8+32 && binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IP && f[14+9] == 1:
			echo4++
		case n == 14+40+8+32 && binary.BigEndian.Uint16(f[12:]) == unix.ETH_P_IPV6 && f[14+6] == 58 &&
			(f[14+40] == icmp6EchoRequest || f[14+40] == icmp6EchoReply):
			echo6++
		default:
			t.Errorf("unexpected frame of %d bytes: % x", n, f[:min(n, 64)])
		}
	}
	if echo4 != 4 || echo6 != 4 {
		t.Errorf("captured %d ICMPv4 and %d ICMPv6 echo messages, want 4 and 4", echo4, echo6)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
