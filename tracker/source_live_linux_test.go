package tracker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The live tests capture for real: they need root (they skip otherwise) and only
// ever send traffic over loopback or a veth pair into a network namespace that they
// create and remove.

// liveHelperEnv makes TestLiveHelperProcess act as a helper when the test binary
// re-executes itself: "peer ADDR COUNT" (UDP echo peer inside the netns) or
// "open IFACE" (print OpenLive's error, run as an unprivileged user) or "inject
// IFACE SRC DST" (send vlanFrames on IFACE through a packet socket).
const liveHelperEnv = "FLOWTOP_LIVE_HELPER"

// TestLiveHelperProcess is not a test: it is the helper run by the other live tests.
func TestLiveHelperProcess(t *testing.T) {
	mode := os.Getenv(liveHelperEnv)
	if mode == "" {
		return
	}
	f := strings.Fields(mode)
	var err error
	switch {
	case len(f) == 3 && f[0] == "peer":
		err = runUDPPeer(f[1], f[2])
	case len(f) == 4 && f[0] == "inject":
		err = injectFrames(f[1], netip.MustParseAddr(f[2]), netip.MustParseAddr(f[3]))
	case len(f) == 2 && f[0] == "open":
		_, oerr := OpenLive(f[1], LiveOptions{})
		fmt.Printf("OPEN-ERROR: %q\n", fmt.Sprint(oerr))
	default:
		err = fmt.Errorf("bad %s=%q", liveHelperEnv, mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// runUDPPeer listens on addr:0, prints "ready PORT", and answers count datagrams
// with replies of replySize bytes.
func runUDPPeer(addr, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr)})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("ready %d\n", c.LocalAddr().(*net.UDPAddr).Port)
	buf := make([]byte, 65536)
	for i := 0; i < n; i++ {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		m, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return err
		}
		if _, err := c.WriteToUDP(payload(replySize(m), byte(m)), from); err != nil {
			return err
		}
	}
	return nil
}

// vlanTags are the 802.1Q tags of the frames injectFrames sends (0: untagged).
var vlanTags = []uint16{0, 42, 43, 42, 0}

// vlanPort is the UDP port of the injected frames.
const vlanPort = 9999

// injectFrames sends one broadcast UDP datagram from src to dst per entry of
// vlanTags, tagged in the frame itself, through a packet socket on iface.
func injectFrames(iface string, src, dst netip.Addr) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for i, tag := range vlanTags {
		eth := &layers.Ethernet{SrcMAC: ifi.HardwareAddr, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		udp := &layers.UDP{SrcPort: layers.UDPPort(20000 + i), DstPort: vlanPort}
		udp.SetNetworkLayerForChecksum(ip)
		ls := []gopacket.SerializableLayer{eth}
		if tag != 0 {
			eth.EthernetType = layers.EthernetTypeDot1Q
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: tag, Type: layers.EthernetTypeIPv4})
		}
		ls = append(ls, ip, udp, gopacket.Payload(payload(50+i, byte(i))))
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			return err
		}
		if err := unix.Sendto(fd, buf.Bytes(), 0, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(unix.ETH_P_ALL)}); err != nil {
			return err
		}
	}
	return nil
}

// replySize is the size of the peer's answer to a datagram of n bytes.
func replySize(n int) int { return (n*7)%997 + 3 }

// payload returns n recognisable bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*13)
	}
	return b
}

func requireLiveRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping live capture test: needs root (run go test as root)")
	}
}

// openLive opens a live source, skipping the test when this root lacks CAP_NET_RAW
// (as in some containers).
func openLive(t *testing.T, iface string, opt LiveOptions) Source {
	t.Helper()
	src, err := OpenLive(iface, opt)
	var perm *permissionError
	if errors.As(err, &perm) {
		t.Skipf("skipping live capture test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// run runs a command and returns its combined output as the error on failure.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// vethPair is a veth link whose host end is in this namespace and whose peer end
// lives in the namespace ns.
type vethPair struct {
	ns       string
	host     string
	hostIP   netip.Addr
	peerIP   netip.Addr
	hostMAC  net.HardwareAddr
	hostIdx  int
	exe      string // this test binary
	peerName string
	sfx      string // random part of the names
}

// setupVeth creates a network namespace and a veth pair into it with a random
// 10.213.x.y/30 subnet; everything is removed when the test ends.
func setupVeth(t *testing.T) *vethPair {
	t.Helper()
	requireLiveRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping live capture test: the ip command (iproute2) is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("skipping live capture test: cannot find the test binary: %v", err)
	}
	sfx := fmt.Sprintf("%06x", rand.IntN(1<<24))
	v := &vethPair{ns: "ft-live-" + sfx, host: "ftl" + sfx + "h", peerName: "ftl" + sfx + "p", exe: exe, sfx: sfx}
	base := [4]byte{10, 213, byte(rand.IntN(256)), byte(4 * rand.IntN(64))}
	v.hostIP = netip.AddrFrom4([4]byte{base[0], base[1], base[2], base[3] + 1})
	v.peerIP = netip.AddrFrom4([4]byte{base[0], base[1], base[2], base[3] + 2})

	if err := run("ip", "netns", "add", v.ns); err != nil {
		t.Skipf("skipping live capture test: cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := run("ip", "netns", "del", v.ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := run("ip", "link", "add", v.host, "type", "veth", "peer", "name", v.peerName); err != nil {
		t.Skipf("skipping live capture test: cannot create a veth pair: %v", err)
	}
	t.Cleanup(func() {
		// Deleting one end removes both; it may already be gone with the netns.
		_ = run("ip", "link", "del", v.host)
	})
	for _, args := range [][]string{
		{"link", "set", v.peerName, "netns", v.ns},
		{"addr", "add", v.hostIP.String() + "/30", "dev", v.host},
		{"link", "set", v.host, "up"},
		{"-n", v.ns, "addr", "add", v.peerIP.String() + "/30", "dev", v.peerName},
		{"-n", v.ns, "link", "set", v.peerName, "up"},
		{"-n", v.ns, "link", "set", "lo", "up"},
	} {
		if err := run("ip", args...); err != nil {
			t.Fatal(err)
		}
	}
	ifi, err := net.InterfaceByName(v.host)
	if err != nil {
		t.Fatal(err)
	}
	v.hostMAC, v.hostIdx = ifi.HardwareAddr, ifi.Index
	return v
}

// capturedUDP is a decoded IPv4/UDP packet from a live source.
type capturedUDP struct {
	ci      gopacket.CaptureInfo
	link    layers.LinkType
	dataLen int
	eth     layers.Ethernet
	sll     layers.LinuxSLL // the cooked header, on "any"
	vlan    int             // 802.1Q VLAN id, or -1 for an untagged frame
	src     netip.AddrPort
	dst     netip.AddrPort
	payload []byte
}

// decodeUDP decodes an Ethernet (or Linux cooked)/IPv4/UDP packet; ok is false
// for anything else.
func decodeUDP(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) (capturedUDP, bool) {
	p := gopacket.NewPacket(data, link, gopacket.Default) // copies data
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	sll, _ := p.Layer(layers.LayerTypeLinuxSLL).(*layers.LinuxSLL)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if (eth == nil && sll == nil) || ip == nil || udp == nil {
		return capturedUDP{}, false
	}
	if eth == nil {
		eth = &layers.Ethernet{}
	}
	var cooked layers.LinuxSLL
	if sll != nil {
		cooked = layers.LinuxSLL{PacketType: sll.PacketType, AddrType: sll.AddrType, AddrLen: sll.AddrLen, EthernetType: sll.EthernetType}
	}
	vlan := -1
	if q, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		vlan = int(q.VLANIdentifier)
	}
	srcIP, _ := netip.AddrFromSlice(ip.SrcIP.To4())
	dstIP, _ := netip.AddrFromSlice(ip.DstIP.To4())
	return capturedUDP{
		ci:      ci,
		link:    link,
		dataLen: len(data),
		eth:     layers.Ethernet{SrcMAC: eth.SrcMAC, DstMAC: eth.DstMAC, EthernetType: eth.EthernetType},
		sll:     cooked,
		vlan:    vlan,
		src:     netip.AddrPortFrom(srcIP, uint16(udp.SrcPort)),
		dst:     netip.AddrPortFrom(dstIP, uint16(udp.DstPort)),
		payload: udp.Payload,
	}, true
}

// liveReader reads src in a goroutine, passing on the UDP packets that match.
type liveReader struct {
	pkts chan capturedUDP
	done chan error // the error ReadPacket ended with
}

func startReader(src Source, match func(capturedUDP) bool) *liveReader {
	r := &liveReader{pkts: make(chan capturedUDP, 1024), done: make(chan error, 1)}
	go func() {
		for {
			data, ci, link, err := src.ReadPacket()
			if err != nil {
				r.done <- err
				return
			}
			if ci.CaptureLength != len(data) {
				r.done <- fmt.Errorf("CaptureLength %d, but %d bytes of data", ci.CaptureLength, len(data))
				return
			}
			if p, ok := decodeUDP(data, ci, link); ok && match(p) {
				r.pkts <- p
			}
		}
	}()
	return r
}

// collect waits for want packets, then for quiet more time to catch extra ones.
func (r *liveReader) collect(t *testing.T, want int, quiet time.Duration) []capturedUDP {
	t.Helper()
	var got []capturedUDP
	timeout := time.After(10 * time.Second)
	for len(got) < want {
		select {
		case p := <-r.pkts:
			got = append(got, p)
		case err := <-r.done:
			t.Fatalf("capture ended after %d of %d packets: %v", len(got), want, err)
		case <-timeout:
			t.Fatalf("captured only %d of %d packets in 10s", len(got), want)
		}
	}
	extra := time.After(quiet)
	for {
		select {
		case p := <-r.pkts:
			got = append(got, p)
		case <-extra:
			return got
		}
	}
}

// closeAndWait closes src and checks that the blocked reader ends with io.EOF.
func (r *liveReader) closeAndWait(t *testing.T, src Source) {
	t.Helper()
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-r.done:
		if err != io.EOF {
			t.Errorf("ReadPacket after Close: %v, want io.EOF", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadPacket within 2s")
	}
	if _, _, _, err := src.ReadPacket(); err != io.EOF {
		t.Errorf("ReadPacket on a closed source: %v, want io.EOF", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func checkTimestamp(t *testing.T, what string, ts, from, to time.Time) {
	t.Helper()
	if ts.Before(from.Add(-time.Second)) || ts.After(to.Add(time.Second)) {
		t.Errorf("%s: timestamp %v not within a second of the send window [%v, %v]", what, ts, from, to)
	}
}

// TestLiveVeth captures UDP exchanged with a peer in another network namespace and
// checks that exactly those datagrams are seen, in order, with their sizes,
// addresses, MACs and kernel timestamps.
func TestLiveVeth(t *testing.T) {
	v := setupVeth(t)

	src := openLive(t, v.host, LiveOptions{Promisc: true})
	sizes := []int{1, 100, 512, 1400, 0}

	peer := exec.Command("ip", "netns", "exec", v.ns, v.exe, "-test.run=^TestLiveHelperProcess$")
	peer.Env = append(os.Environ(), fmt.Sprintf("%s=peer %s %d", liveHelperEnv, v.peerIP, len(sizes)))
	peer.Stderr = os.Stderr
	stdout, err := peer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	defer peer.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var peerPort int
	if _, serr := fmt.Sscanf(line, "ready %d", &peerPort); err != nil || serr != nil {
		t.Fatalf("peer did not start: %q %v %v", line, err, serr)
	}
	peerAddr := netip.AddrPortFrom(v.peerIP, uint16(peerPort))

	match := func(p capturedUDP) bool {
		return p.src == peerAddr || p.dst == peerAddr
	}
	r := startReader(src, match)

	conn, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(v.hostIP, 0)), net.UDPAddrFromAddrPort(peerAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hostAddr := conn.LocalAddr().(*net.UDPAddr).AddrPort()

	type datagram struct {
		src, dst netip.AddrPort
		payload  []byte
	}
	var want []datagram
	from := time.Now()
	buf := make([]byte, 2048)
	for i, n := range sizes {
		out := payload(n, byte(i))
		if _, err := conn.Write(out); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reply to datagram %d: %v", i, err)
		}
		in := payload(replySize(n), byte(n))
		if !bytes.Equal(buf[:m], in) {
			t.Fatalf("reply to datagram %d: got %d bytes, want %d", i, m, len(in))
		}
		want = append(want, datagram{hostAddr, peerAddr, out}, datagram{peerAddr, hostAddr, in})
	}
	to := time.Now()
	if err := peer.Wait(); err != nil {
		t.Fatalf("peer: %v", err)
	}

	got := r.collect(t, len(want), 300*time.Millisecond)
	if len(got) != len(want) {
		t.Errorf("captured %d datagrams, want exactly %d", len(got), len(want))
	}
	var last time.Time
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		what := fmt.Sprintf("packet %d (%v -> %v, %d bytes)", i, w.src, w.dst, len(w.payload))
		if g.src != w.src || g.dst != w.dst {
			t.Errorf("%s: captured %v -> %v", what, g.src, g.dst)
		}
		if !bytes.Equal(g.payload, w.payload) {
			t.Errorf("%s: captured payload of %d bytes differs", what, len(g.payload))
		}
		if wantLen := 14 + 20 + 8 + len(w.payload); g.ci.Length != wantLen || g.ci.CaptureLength != wantLen || g.dataLen != wantLen {
			t.Errorf("%s: Length %d CaptureLength %d data %d, want %d", what, g.ci.Length, g.ci.CaptureLength, g.dataLen, wantLen)
		}
		if g.link != layers.LinkTypeEthernet || g.eth.EthernetType != layers.EthernetTypeIPv4 || g.vlan != -1 {
			t.Errorf("%s: link %v ethertype %v vlan %d", what, g.link, g.eth.EthernetType, g.vlan)
		}
		hostMAC, side := g.eth.SrcMAC, "source"
		if w.src == peerAddr {
			hostMAC, side = g.eth.DstMAC, "destination"
		}
		if !bytes.Equal(hostMAC, v.hostMAC) {
			t.Errorf("%s: %s MAC %v, want the host end's %v", what, side, hostMAC, v.hostMAC)
		}
		if g.ci.InterfaceIndex != v.hostIdx {
			t.Errorf("%s: InterfaceIndex %d, want %d", what, g.ci.InterfaceIndex, v.hostIdx)
		}
		checkTimestamp(t, what, g.ci.Timestamp, from, to)
		if g.ci.Timestamp.Before(last) {
			t.Errorf("%s: timestamp %v before the previous packet's %v", what, g.ci.Timestamp, last)
		}
		last = g.ci.Timestamp
	}
	r.closeAndWait(t, src)
}

// TestLiveVLAN sends a datagram over a VLAN on top of the veth pair and captures
// it on the veth: the 802.1Q tag, which the kernel keeps out of the packet data
// (veth offloads VLAN tagging), must be put back into the frame.
func TestLiveVLAN(t *testing.T) {
	v := setupVeth(t)
	hostVLAN, peerVLAN := "ftl"+v.sfx+"v", "ftl"+v.sfx+"w"
	if err := run("ip", "link", "add", "link", v.host, "name", hostVLAN, "type", "vlan", "id", "42"); err != nil {
		t.Skipf("skipping: this kernel cannot create VLAN interfaces (8021q): %v", err)
	}
	t.Cleanup(func() { _ = run("ip", "link", "del", hostVLAN) })
	b := v.hostIP.As4()
	b[2] ^= 0x80 // a second /30 for the VLAN
	b[3]--
	hostIP := netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3] + 1})
	peerIP := netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3] + 2})
	for _, args := range [][]string{
		{"-n", v.ns, "link", "add", "link", v.peerName, "name", peerVLAN, "type", "vlan", "id", "42"},
		{"addr", "add", hostIP.String() + "/30", "dev", hostVLAN},
		{"link", "set", hostVLAN, "up"},
		{"-n", v.ns, "addr", "add", peerIP.String() + "/30", "dev", peerVLAN},
		{"-n", v.ns, "link", "set", peerVLAN, "up"},
	} {
		if err := run("ip", args...); err != nil {
			t.Fatal(err)
		}
	}

	src := openLive(t, v.host, LiveOptions{})
	dst := netip.AddrPortFrom(peerIP, 9) // nobody listens: the peer answers with ICMP
	r := startReader(src, func(p capturedUDP) bool { return p.dst == dst })
	conn, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(hostIP, 0)), net.UDPAddrFromAddrPort(dst))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := payload(123, 7)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := r.collect(t, 1, 300*time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("captured the datagram %d times, want once", len(got))
	}
	g := got[0]
	if g.eth.EthernetType != layers.EthernetTypeDot1Q || g.vlan != 42 {
		t.Errorf("ethertype %v vlan %d, want an 802.1Q tag with VLAN 42", g.eth.EthernetType, g.vlan)
	}
	if want := 14 + 4 + 20 + 8 + len(msg); g.ci.Length != want || g.ci.CaptureLength != want {
		t.Errorf("Length %d CaptureLength %d, want %d", g.ci.Length, g.ci.CaptureLength, want)
	}
	if !bytes.Equal(g.payload, msg) {
		t.Errorf("payload differs")
	}
	r.closeAndWait(t, src)
}

// ringPacket lays out one packet in a fake ring block as TPACKET_V3 does: the
// tpacket3_hdr at 0, the sockaddr_ll after it, and the frame at mac.
func ringPacket(frame []byte, mac int, h unix.Tpacket3Hdr, sll unix.RawSockaddrLinklayer) ([]byte, *unix.Tpacket3Hdr, *unix.RawSockaddrLinklayer) {
	blk := make([]byte, 512)
	h.Mac = uint16(mac)
	h.Snaplen, h.Len = uint32(len(frame)), max(h.Len, uint32(len(frame)))
	hp := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[0]))
	*hp = h
	sp := (*unix.RawSockaddrLinklayer)(unsafe.Pointer(&blk[tpacket3HdrLen]))
	*sp = sll
	copy(blk[mac:], frame)
	return blk, hp, sp
}

// TestLiveRingFrame feeds frame() hand-made ring headers: VLAN tag re-insertion
// (with an 802.1ad TPID), the cooked header of "any", the nanosecond timestamp,
// the lengths and the snaplen.
func TestLiveRingFrame(t *testing.T) {
	frame := []byte{
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // MACs
		0x08, 0x00, 0x45, 0, 0, 20, // EtherType IPv4, start of IP
	}
	eth := &liveSource{link: layers.LinkTypeEthernet, snaplen: DefaultSnaplen}
	const mac = 86 // where the kernel puts an Ethernet frame with 4 bytes reserved
	ts := unix.Tpacket3Hdr{Sec: 1700000000, Nsec: 123456789}

	// Tagged: 802.1ad TPID, PCP 3, VLAN 42; the wire was 1000 bytes.
	h := ts
	h.Status = unix.TP_STATUS_VLAN_VALID | unix.TP_STATUS_VLAN_TPID_VALID
	h.Len = 1000
	h.Hv1.Vlan_tci, h.Hv1.Vlan_tpid = 3<<13|42, 0x88a8
	blk, hp, sp := ringPacket(frame, mac, h, unix.RawSockaddrLinklayer{Ifindex: 7})
	data, ci, ok := eth.frame(blk, 0, hp, sp)
	want := append(append(append([]byte{}, frame[:12]...), 0x88, 0xa8, 0x60, 42), frame[12:]...)
	if !ok || !bytes.Equal(data, want) {
		t.Errorf("tagged frame (ok %v)\n got %x\nwant %x", ok, data, want)
	}
	if ci.CaptureLength != len(frame)+4 || ci.Length != 1004 || ci.InterfaceIndex != 7 {
		t.Errorf("tagged: CaptureLength %d Length %d ifindex %d, want %d 1004 7", ci.CaptureLength, ci.Length, ci.InterfaceIndex, len(frame)+4)
	}
	if !ci.Timestamp.Equal(time.Unix(1700000000, 123456789)) {
		t.Errorf("timestamp %v", ci.Timestamp)
	}

	// A TCI without the status bit (older kernels), no TPID: 802.1Q.
	h = ts
	h.Hv1.Vlan_tci = 7
	blk, hp, sp = ringPacket(frame, mac, h, unix.RawSockaddrLinklayer{})
	if data, _, _ := eth.frame(blk, 0, hp, sp); !bytes.Equal(data[12:16], []byte{0x81, 0x00, 0, 7}) {
		t.Errorf("802.1Q tag %x", data[12:16])
	}

	// Untagged: data as received.
	blk, hp, sp = ringPacket(frame, mac, ts, unix.RawSockaddrLinklayer{})
	if data, ci, _ := eth.frame(blk, 0, hp, sp); !bytes.Equal(data, frame) || ci.Length != len(frame) || ci.CaptureLength != len(frame) {
		t.Errorf("untagged: %x Length %d CaptureLength %d", data, ci.Length, ci.CaptureLength)
	}

	// A small snaplen clips the data, not the wire length.
	small := &liveSource{link: layers.LinkTypeEthernet, snaplen: 14}
	blk, hp, sp = ringPacket(frame, mac, ts, unix.RawSockaddrLinklayer{})
	if data, ci, _ := small.frame(blk, 0, hp, sp); len(data) != 14 || ci.CaptureLength != 14 || ci.Length != len(frame) {
		t.Errorf("snaplen 14: %d bytes, CaptureLength %d Length %d", len(data), ci.CaptureLength, ci.Length)
	}

	// A frame whose offsets leave the block, or overlap the headers, is refused.
	blk, hp, sp = ringPacket(frame, mac, ts, unix.RawSockaddrLinklayer{})
	hp.Snaplen = 1 << 20
	if _, _, ok := eth.frame(blk, 0, hp, sp); ok {
		t.Error("a frame longer than the block was accepted")
	}
	hp.Snaplen, hp.Mac = uint32(len(frame)), tpacket3HdrLen
	if _, _, ok := eth.frame(blk, 0, hp, sp); ok {
		t.Error("a frame over the sockaddr_ll was accepted")
	}

	// "any": the network header, preceded by a cooked header built from the
	// sockaddr_ll (outgoing, Ethernet, 6-byte address, IPv4), and by a VLAN tag.
	any := &liveSource{link: layers.LinkTypeLinuxSLL, cooked: true, snaplen: DefaultSnaplen}
	ip := frame[14:]
	sll := unix.RawSockaddrLinklayer{Protocol: htons(0x0800), Hatype: unix.ARPHRD_ETHER, Pkttype: unix.PACKET_OUTGOING, Halen: 6, Addr: [8]byte{0xa, 0xb, 0xc, 0xd, 0xe, 0xf}, Ifindex: 3}
	const net = 116 // where the kernel puts the network header with 20 bytes reserved
	blk, hp, sp = ringPacket(ip, net, ts, sll)
	data, ci, ok = any.frame(blk, 0, hp, sp)
	wantSLL := []byte{0, 4, 0, 1, 0, 6, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0, 0, 0x08, 0x00}
	if !ok || !bytes.Equal(data, append(append([]byte{}, wantSLL...), ip...)) || ci.Length != 16+len(ip) || ci.InterfaceIndex != 3 {
		t.Errorf("cooked: ok %v %x Length %d ifindex %d", ok, data, ci.Length, ci.InterfaceIndex)
	}
	h = ts
	h.Status, h.Hv1.Vlan_tci = unix.TP_STATUS_VLAN_VALID, 42
	blk, hp, sp = ringPacket(ip, net, h, sll)
	data, ci, _ = any.frame(blk, 0, hp, sp)
	wantTagged := append(append(append([]byte{}, wantSLL[:14]...), 0x81, 0x00, 0, 42, 0x08, 0x00), ip...)
	if !bytes.Equal(data, wantTagged) || ci.CaptureLength != 20+len(ip) {
		t.Errorf("cooked, tagged:\n got %x\nwant %x", data, wantTagged)
	}
}

// TestCookedProgram checks the rewriting of a program for the cooked header into
// one the kernel runs on a SOCK_DGRAM packet, as libpcap's fix_offset does.
func TestCookedProgram(t *testing.T) {
	ld := func(mode uint16, k uint32) bpf.RawInstruction {
		return bpf.RawInstruction{Op: 0x00 | mode | 0x08, K: k}
	} // BPF_LD|BPF_H
	const abs, ind = 0x20, 0x40
	prog := []bpf.RawInstruction{
		ld(abs, 14),                   // protocol
		ld(abs, 0),                    // packet type
		ld(abs, 16+9),                 // IPv4 protocol
		{Op: 0xb1, K: 16},             // ldxb 4*([16]&0xf)
		ld(ind, 16+2),                 // a port
		{Op: 0x15, Jt: 1, K: 0x0800},  // jeq: not a load, kept
		{Op: 0x06, K: DefaultSnaplen}, // ret
	}
	got, ok := cookedProgram(prog)
	if !ok {
		t.Fatal("cookedProgram refused a program it can rewrite")
	}
	want := []uint32{skfAdOff + skfAdProtocol, skfAdOff + skfAdPktType, 9, 0, 2, 0x0800, DefaultSnaplen}
	for i := range got {
		if got[i].K != want[i] || got[i].Op != prog[i].Op {
			t.Errorf("instruction %d: %+v, want K %#x", i, got[i], want[i])
		}
	}
	if prog[0].K != 14 {
		t.Error("cookedProgram changed its input")
	}
	// The hardware address (offset 6) has no ancillary load.
	if _, ok := cookedProgram([]bpf.RawInstruction{ld(abs, 6)}); ok {
		t.Error("a load of the link-layer address was rewritten")
	}
}

// loopbackUDP sends one datagram with a random payload of n bytes over 127.0.0.1
// and returns it with the receiver's address.
func loopbackUDP(t *testing.T, n int) ([]byte, netip.AddrPort, func()) {
	t.Helper()
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dst := l.LocalAddr().(*net.UDPAddr).AddrPort()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); l.Close() })
	msg := make([]byte, n)
	for i := range msg {
		msg[i] = byte(rand.Uint32())
	}
	return msg, dst, func() {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLiveLoopback captures a datagram on lo: it must be seen exactly once (the
// kernel shows loopback packets both leaving and arriving), with zero MACs.
func TestLiveLoopback(t *testing.T) {
	requireLiveRoot(t)
	src := openLive(t, "lo", LiveOptions{})
	msg, dst, send := loopbackUDP(t, 300)
	r := startReader(src, func(p capturedUDP) bool { return p.dst == dst })
	from := time.Now()
	send()
	to := time.Now()
	got := r.collect(t, 1, 300*time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("captured the datagram %d times, want once", len(got))
	}
	g := got[0]
	zero := make(net.HardwareAddr, 6)
	if g.link != layers.LinkTypeEthernet || !bytes.Equal(g.eth.SrcMAC, zero) || !bytes.Equal(g.eth.DstMAC, zero) || g.eth.EthernetType != layers.EthernetTypeIPv4 {
		t.Errorf("link %v, Ethernet %v -> %v type %v; want Ethernet with zero MACs, IPv4", g.link, g.eth.SrcMAC, g.eth.DstMAC, g.eth.EthernetType)
	}
	if !bytes.Equal(g.payload, msg) {
		t.Errorf("payload differs")
	}
	if want := 14 + 20 + 8 + len(msg); g.ci.Length != want || g.ci.CaptureLength != want {
		t.Errorf("Length %d CaptureLength %d, want %d", g.ci.Length, g.ci.CaptureLength, want)
	}
	checkTimestamp(t, "loopback datagram", g.ci.Timestamp, from, to)
	r.closeAndWait(t, src)
}

// TestLiveAny captures a datagram on lo through the "any" pseudo-interface: it
// must be seen once (the outgoing copy on loopback is skipped), with a Linux
// cooked header built from the kernel's address.
func TestLiveAny(t *testing.T) {
	requireLiveRoot(t)
	src := openLive(t, AnyInterface, LiveOptions{Promisc: true}) // promiscuous mode is ignored on "any"
	msg, dst, send := loopbackUDP(t, 200)
	r := startReader(src, func(p capturedUDP) bool { return p.dst == dst })
	send()
	got := r.collect(t, 1, 300*time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("captured the datagram %d times, want once", len(got))
	}
	g := got[0]
	if g.link != layers.LinkTypeLinuxSLL || g.sll.PacketType != layers.LinuxSLLPacketTypeHost ||
		g.sll.AddrType != unix.ARPHRD_LOOPBACK || g.sll.EthernetType != layers.EthernetTypeIPv4 {
		t.Errorf("link %v, cooked header %+v; want Linux SLL, host, loopback, IPv4", g.link, g.sll)
	}
	if !bytes.Equal(g.payload, msg) {
		t.Errorf("payload differs")
	}
	if want := 16 + 20 + 8 + len(msg); g.ci.Length != want || g.ci.CaptureLength != want {
		t.Errorf("Length %d CaptureLength %d, want %d", g.ci.Length, g.ci.CaptureLength, want)
	}
	if lo, _ := net.InterfaceByName("lo"); lo != nil && g.ci.InterfaceIndex != lo.Index {
		t.Errorf("InterfaceIndex %d, want lo's %d", g.ci.InterfaceIndex, lo.Index)
	}
	r.closeAndWait(t, src)
}

// TestLiveDrops fills the smallest ring without reading it: the kernel must
// count the packets it could not keep, and the counters must add up.
func TestLiveDrops(t *testing.T) {
	requireLiveRoot(t)
	src := openLive(t, "lo", LiveOptions{Buffer: MinBuffer})
	ss := src.(statsSource)
	_, _, send := loopbackUDP(t, 1400)
	const sent = 4000 // about 6 MB of frames into a 2 MiB ring
	for range sent {
		send()
	}
	time.Sleep(100 * time.Millisecond) // let the last blocks retire
	st := ss.captureStats()
	if st.Dropped == 0 {
		t.Errorf("no drops after %d packets into a %d-byte ring nobody read: %+v", sent, MinBuffer, st)
	}
	if st.Received < sent || st.Dropped >= st.Received {
		t.Errorf("counters %+v, want Received >= %d > Dropped", st, sent)
	}
	// Reading once more adds nothing new to what was counted (the kernel resets
	// its counters at each read; the source sums them).
	if again := ss.captureStats(); again.Received < st.Received || again.Dropped < st.Dropped {
		t.Errorf("counters went back: %+v then %+v", st, again)
	}
	src.Close()
	if after := ss.captureStats(); after.Dropped < st.Dropped {
		t.Errorf("counters after Close %+v, want at least %+v", after, st)
	}
}

// TestLiveSnaplen checks that a small snaplen truncates the data but keeps the
// wire length.
func TestLiveSnaplen(t *testing.T) {
	requireLiveRoot(t)
	src := openLive(t, "lo", LiveOptions{Snaplen: 64})
	msg, dst, send := loopbackUDP(t, 1000)
	r := startReader(src, func(p capturedUDP) bool { return p.dst == dst })
	send()
	got := r.collect(t, 1, 0)
	g := got[0]
	if g.ci.CaptureLength != 64 || g.dataLen != 64 || g.ci.Length != 14+20+8+len(msg) {
		t.Errorf("CaptureLength %d data %d Length %d, want 64, 64, %d", g.ci.CaptureLength, g.dataLen, g.ci.Length, 14+20+8+len(msg))
	}
	if !bytes.Equal(g.payload, msg[:64-42]) {
		t.Errorf("truncated payload differs")
	}
	r.closeAndWait(t, src)
}

// TestLiveReadNoAllocs checks that ReadPacket does not allocate.
func TestLiveReadNoAllocs(t *testing.T) {
	requireLiveRoot(t)
	src := openLive(t, "lo", LiveOptions{})
	const runs = 50
	_, _, send := loopbackUDP(t, 200)
	for range runs + 10 { // queue the packets first: a sender would allocate
		send()
	}
	watchdog := time.AfterFunc(10*time.Second, func() { src.Close() })
	defer watchdog.Stop()
	var readErr error
	allocs := testing.AllocsPerRun(runs, func() {
		if _, _, _, err := src.ReadPacket(); err != nil && readErr == nil {
			readErr = err
		}
	})
	if readErr != nil {
		t.Fatalf("ReadPacket: %v", readErr)
	}
	if allocs != 0 {
		t.Errorf("ReadPacket allocates %v times per packet, want 0", allocs)
	}
}

// TestLiveNoSuchInterface checks the one-line error for a missing interface.
func TestLiveNoSuchInterface(t *testing.T) {
	_, err := OpenLive("ftl-nosuch0", LiveOptions{})
	if err == nil {
		t.Fatal("OpenLive on a missing interface succeeded")
	}
	if got, want := err.Error(), "open interface ftl-nosuch0: no such device"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if !errors.Is(err, unix.ENODEV) {
		t.Errorf("error %v does not wrap ENODEV", err)
	}
}

// TestLivePermissionError runs OpenLive as an unprivileged user and checks the
// one-line error that says how to fix it.
func TestLivePermissionError(t *testing.T) {
	requireLiveRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("skipping: cannot find the test binary: %v", err)
	}
	// The go build directory is private to root: copy the binary where nobody can
	// run it.
	dir, err := os.MkdirTemp("", "ft-live-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "tracker.test")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestLiveHelperProcess$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), liveHelperEnv+"=open lo", "HOME="+dir, "GOCOVERDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("skipping: cannot run the test binary as uid 65534: %v: %s", err, bytes.TrimSpace(out))
	}
	const want = "capture on lo needs root or CAP_NET_RAW: run with sudo, or setcap cap_net_raw,cap_net_admin=eip on the flowtop binary"
	var got string
	for _, line := range strings.Split(string(out), "\n") {
		if q, ok := strings.CutPrefix(line, "OPEN-ERROR: "); ok {
			got, _ = strconv.Unquote(q)
		}
	}
	if got != want {
		t.Errorf("unprivileged OpenLive error %q, want %q (output %q)", got, want, out)
	}
}

// TestLiveDefaultInterface checks that DefaultInterface names an existing,
// non-loopback interface.
func TestLiveDefaultInterface(t *testing.T) {
	name, err := DefaultInterface()
	if err != nil {
		ifs, _ := net.Interfaces()
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 {
				t.Fatalf("DefaultInterface: %v, but %s is up", err, ifi.Name)
			}
		}
		t.Skipf("no usable interface here: %v", err)
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatalf("DefaultInterface returned %q: %v", name, err)
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		t.Errorf("DefaultInterface returned the loopback interface %q", name)
	}
	t.Logf("default interface: %s", name)
}

func TestLiveDefaultRouteParse(t *testing.T) {
	const v4head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	v4 := []struct{ table, want string }{
		{v4head + "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
			"eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n", "eth0"},
		{v4head + "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
			"eth1\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n", "eth1"},
		{v4head + "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n", ""},
		{v4head + "*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n", ""}, // unreachable default
		{"", ""},
	}
	for i, c := range v4 {
		if got := defaultRouteIPv4(strings.NewReader(c.table)); got != c.want {
			t.Errorf("IPv4 case %d: %q, want %q", i, got, c.want)
		}
	}
	const z = "00000000000000000000000000000000"
	v6 := []struct{ table, want string }{
		{"fe800000000000000000000000000000 40 " + z + " 00 " + z + " 00000100 00000001 00000000 00000001     eth0\n" +
			z + " 00 " + z + " 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n", "eth0"},
		{z + " 00 " + z + " 00 " + z + " ffffffff 00000001 00000000 00200200       lo\n", ""}, // unreachable default on lo
		{z + " 00 " + z + " 00 fe800000000000000000000000000001 00000600 00000001 00000000 00000003    wlan0\n" +
			z + " 00 " + z + " 00 fe800000000000000000000000000001 00000064 00000001 00000000 00000003     eth2\n", "eth2"},
		{"", ""},
	}
	for i, c := range v6 {
		if got := defaultRouteIPv6(strings.NewReader(c.table)); got != c.want {
			t.Errorf("IPv6 case %d: %q, want %q", i, got, c.want)
		}
	}
}

// TestLiveWake checks that wakeUp makes a blocked ReadPacket return errWoken, and
// that the next read captures again.
func TestLiveWake(t *testing.T) {
	requireLiveRoot(t)
	src := openLive(t, "lo", LiveOptions{})
	w, ok := src.(wakeable)
	if !ok {
		t.Fatal("the live source cannot be woken")
	}
	errc := make(chan error, 1)
	go func() {
		_, _, _, err := src.ReadPacket()
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the read block (a packet on lo would end it early, which the test tolerates)
	w.wakeUp()
	select {
	case err := <-errc:
		if err != nil && err != errWoken {
			t.Fatalf("woken read: %v, want errWoken", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wakeUp did not unblock ReadPacket")
	}
	msg, dst, send := loopbackUDP(t, 100)
	r := startReader(src, func(p capturedUDP) bool { return p.dst == dst })
	send()
	if got := r.collect(t, 1, 300*time.Millisecond); len(got) != 1 || !bytes.Equal(got[0].payload, msg) {
		t.Fatalf("after a wake-up, captured %d datagrams, want 1", len(got))
	}
	r.closeAndWait(t, src)
}

func TestRingGeometry(t *testing.T) {
	for _, c := range []struct{ size, snaplen, block, n int }{
		{DefaultBuffer, DefaultSnaplen, 1 << 20, 32},
		{MinBuffer, DefaultSnaplen, 512 << 10, 4}, // as libpcap: the block holds the largest packet
		{MinBuffer, 1500, 256 << 10, 8},
		{MinBuffer, 64, 256 << 10, 8},
		{256 << 20, DefaultSnaplen, 1 << 20, 256},
		{3 << 20, 100, 256 << 10, 12},
	} {
		b, n := ringGeometry(c.size, c.snaplen)
		if b != c.block || n != c.n {
			t.Errorf("ringGeometry(%d, %d) = %d×%d, want %d×%d", c.size, c.snaplen, n, b, c.n, c.block)
		}
	}
}

// fillBlock lays out packets in a ring block as the kernel does: the block
// header, then each packet's tpacket3_hdr, sockaddr_ll and frame, 16-byte
// aligned, chained by Next_offset. It returns the number of packets.
func fillBlock(blk []byte, frame []byte, n int) {
	const first = 48 // after the block descriptor
	hdr := (*unix.TpacketHdrV1)(unsafe.Pointer(&blk[8]))
	hdr.Num_pkts, hdr.Offset_to_first_pkt = uint32(n), first
	off := first
	const mac = 86
	step := (mac + len(frame) + 15) &^ 15
	for i := range n {
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[off]))
		*h = unix.Tpacket3Hdr{Sec: 1700000000, Nsec: uint32(i), Snaplen: uint32(len(frame)), Len: uint32(len(frame)), Mac: mac}
		if i < n-1 {
			h.Next_offset = uint32(step)
		}
		copy(blk[off+mac:], frame)
		off += step
	}
}

// BenchmarkRingWalk measures the per-packet work of reading the ring: walking a
// block's headers and building each packet in place.
func BenchmarkRingWalk(b *testing.B) {
	frame := make([]byte, 128)
	s := &liveSource{link: layers.LinkTypeEthernet, snaplen: DefaultSnaplen, ring: make([]byte, ringMaxBlock), blockSize: ringMaxBlock, nblocks: 1}
	n := ringMaxBlock / ((86 + len(frame) + 15) &^ 15)
	fillBlock(s.ring, frame, n-1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		s.left, s.next = n-1, 48
		for s.left > 0 && i < b.N {
			if _, _, ok := s.nextPacket(); !ok {
				b.Fatal("packet skipped")
			}
			i++
		}
	}
}

// FuzzRingBlock walks arbitrary block contents: a corrupt block (bad offsets,
// lengths or counts) must be skipped, never read out of bounds, and every packet
// returned must lie within the block.
func FuzzRingBlock(f *testing.F) {
	seed := make([]byte, 4096)
	fillBlock(seed, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45, 0, 0, 20}, 8)
	f.Add(seed[:1024], false)
	f.Add(seed[:200], true)
	f.Fuzz(func(t *testing.T, data []byte, cooked bool) {
		s := &liveSource{link: layers.LinkTypeEthernet, cooked: cooked, snaplen: DefaultSnaplen, ring: make([]byte, ringMaxBlock), blockSize: ringMaxBlock, nblocks: 1}
		copy(s.ring, data)
		h := s.blockHdr(0)
		s.left, s.next = min(int(h.Num_pkts), 1<<16), int(h.Offset_to_first_pkt)
		for s.left > 0 {
			d, ci, ok := s.nextPacket()
			if !ok {
				continue
			}
			if len(d) != ci.CaptureLength || ci.Length < ci.CaptureLength || len(d) > DefaultSnaplen {
				t.Fatalf("packet of %d bytes, CaptureLength %d, Length %d", len(d), ci.CaptureLength, ci.Length)
			}
		}
	})
}
