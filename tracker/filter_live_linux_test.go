package tracker

import (
	"cmp"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracker/pcapfilter"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// seenPacket is a captured packet: when, and its length and hash, which identify
// it across two captures of the same traffic (each socket stamps a packet with its
// own time, microseconds apart).
type seenPacket struct {
	ts   int64
	n    int
	hash uint32
}

// drain reads src until Close and returns what it saw, and the frames themselves.
func drain(src Source) (chan []seenPacket, chan [][]byte) {
	seen, frames := make(chan []seenPacket, 1), make(chan [][]byte, 1)
	go func() {
		var s []seenPacket
		var f [][]byte
		for {
			data, ci, _, err := src.ReadPacket()
			if err != nil {
				if err == errWoken {
					continue
				}
				seen <- s
				frames <- f
				return
			}
			s = append(s, seenPacket{ci.Timestamp.UnixNano(), len(data), crc32.ChecksumIEEE(data)})
			f = append(f, append([]byte(nil), data...))
		}
	}()
	return seen, frames
}

// TestLiveFilterMatchesUserSpace captures the same loopback traffic twice, with a
// filter attached to the socket and without, for a table of expressions: the
// kernel must keep exactly the packets that the same program keeps when run in
// user space on the unfiltered capture. On "any" the program is first rewritten
// for the kernel's view of cooked packets.
func TestLiveFilterMatchesUserSpace(t *testing.T) {
	requireLiveRoot(t)
	exprs := []string{
		"udp",
		"udp port {A}",
		"udp dst port {A} or tcp src port {T}",
		"portrange {A}-{B}",
		"host 127.0.0.1 and tcp",
		"net 127.0.0.0/8 and not udp",
		"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
		"tcp[tcpflags] & tcp-push != 0 and dst port {T}",
		"ip proto 17 and greater 500",
		"less 100 and not icmp",
		"not (tcp or udp port {B})",
		"ip[2:2] > 1000",
	}
	for _, iface := range []string{"lo", AnyInterface} {
		t.Run(iface, func(t *testing.T) {
			// One unfiltered capture and one per expression, all open at once
			// over the same traffic (small rings: there are 13 of them).
			ports := reservePorts(t) // the expressions name them before the traffic runs
			names := strings.NewReplacer("{A}", fmt.Sprint(ports[0]), "{B}", fmt.Sprint(ports[1]), "{T}", fmt.Sprint(ports[2]))
			all := openLive(t, iface, LiveOptions{Buffer: MinBuffer})
			allSeen, allFrames := drain(all)
			type filtered struct {
				expr string
				f    *pcapfilter.Filter
				src  Source
				seen chan []seenPacket
			}
			var fs []filtered
			for _, format := range exprs {
				expr := names.Replace(format)
				f, err := pcapfilter.Parse(expr)
				if err != nil {
					t.Fatalf("%s: %v", expr, err)
				}
				src := openLive(t, iface, LiveOptions{Buffer: MinBuffer, Filter: f})
				if src.(*liveSource).user != nil {
					t.Fatalf("%s: runs in user space, want the kernel", expr)
				}
				seen, _ := drain(src)
				fs = append(fs, filtered{expr, f, src, seen})
			}
			from := time.Now()
			sendMix(t, ports)
			to := time.Now()
			time.Sleep(100 * time.Millisecond) // the ring hands over blocks within 20 ms
			all.Close()
			everything, frames := <-allSeen, <-allFrames
			in := func(p seenPacket) bool { return p.ts >= from.UnixNano() && p.ts <= to.UnixNano() }
			for _, x := range fs {
				x.src.Close()
				kept := slices.DeleteFunc(<-x.seen, func(p seenPacket) bool { return !in(p) })
				vm, err := compileVM(x.f, all.(*liveSource).link, DefaultSnaplen)
				if err != nil {
					t.Fatal(err)
				}
				var want []seenPacket
				for i, p := range everything {
					if n, _ := vm.Run(frames[i]); n > 0 && in(p) {
						want = append(want, p)
					}
				}
				slices.SortFunc(want, compareSeen)
				slices.SortFunc(kept, compareSeen)
				if !slices.EqualFunc(want, kept, func(a, b seenPacket) bool { return compareSeen(a, b) == 0 }) {
					t.Errorf("%s: the kernel kept %d packets, user space %d of %d\n%v\n%v", x.expr, len(kept), len(want), len(everything), kept, want)
				}
				if len(want) == 0 {
					t.Errorf("%s: matched nothing: the traffic does not exercise it", x.expr)
				}
			}
		})
	}
}

// compareSeen orders packets by length and hash.
func compareSeen(a, b seenPacket) int {
	return cmp.Or(cmp.Compare(a.n, b.n), cmp.Compare(a.hash, b.hash))
}

// reservePorts picks three free loopback ports: two UDP, one TCP.
func reservePorts(t *testing.T) [3]int {
	t.Helper()
	var p [3]int
	for i := range 2 {
		l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p[i] = l.LocalAddr().(*net.UDPAddr).Port
		l.Close()
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p[2] = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// sendMix sends UDP datagrams of several sizes to the two UDP ports (from
// another port each time), and runs a TCP connection with data both ways on the
// TCP port.
func sendMix(t *testing.T, ports [3]int) {
	t.Helper()
	var ls [2]*net.UDPConn
	for i := range ls {
		l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ports[i]})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ls[i] = l
	}
	for i, n := range []int{10, 80, 400, 1200, 30, 600} {
		c, err := net.DialUDP("udp4", nil, ls[i%2].LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		c.Write(make([]byte, n))
		c.Close()
	}
	tl, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", ports[2]))
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := tl.Accept()
		if err != nil {
			return
		}
		io.ReadFull(s, make([]byte, 3000))
		s.Write(make([]byte, 700))
		s.Close()
	}()
	tc, err := net.Dial("tcp4", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tc.Write(make([]byte, 3000))
	io.ReadAll(tc)
	tc.Close()
	<-done
}

// TestLiveFilterInUserSpace checks the filters that cannot run in the kernel as
// they would on the frames flowtop returns: one that looks for VLAN tags (the
// kernel sees frames without them) and, on "any", one that reads the cooked
// header beyond what the kernel knows. They run in user space and still filter.
func TestLiveFilterInUserSpace(t *testing.T) {
	requireLiveRoot(t)
	for _, c := range []struct{ iface, expr string }{
		{"lo", "udp dst port {A} or vlan"},                   // vlan last: it shifts what follows, as in libpcap
		{AnyInterface, "link[6:2] = 0 and udp dst port {A}"}, // the first bytes of lo's all-zero address
	} {
		t.Run(c.iface, func(t *testing.T) {
			ports := reservePorts(t)
			expr := strings.ReplaceAll(c.expr, "{A}", fmt.Sprint(ports[0]))
			f, err := pcapfilter.Parse(expr)
			if err != nil {
				t.Fatal(err)
			}
			src := openLive(t, c.iface, LiveOptions{Buffer: MinBuffer, Filter: f})
			if src.(*liveSource).user == nil {
				t.Fatalf("%s on %s: attached to the socket, want user space", expr, c.iface)
			}
			seen, frames := drain(src)
			sendMix(t, ports)
			time.Sleep(100 * time.Millisecond)
			src.Close()
			<-seen
			got := <-frames
			if len(got) != 3 { // sendMix sends 3 datagrams to port A
				t.Errorf("%s on %s: %d packets, want the 3 datagrams to port %d", expr, c.iface, len(got), ports[0])
			}
		})
	}
}

// TestLiveFilterVLAN sends frames with 802.1Q tags in them from the far end of a
// veth pair (so no 8021q module is needed); the receiving kernel takes the tags
// out of the frames, as NICs do. A vlan filter must see the tags (it runs in user
// space, after they are put back), while a filter without vlan sees the frames as
// the kernel does, untagged, as libpcap's kernel filters do.
func TestLiveFilterVLAN(t *testing.T) {
	v := setupVeth(t)
	var want42, wantAll int
	for _, tag := range vlanTags {
		if tag == 42 {
			want42++
		}
		wantAll++
	}
	for _, c := range []struct {
		expr string
		want int
		user bool
	}{
		{fmt.Sprintf("vlan 42 and udp dst port %d", vlanPort), want42, true},
		{fmt.Sprintf("udp dst port %d", vlanPort), wantAll, false},
	} {
		t.Run(c.expr, func(t *testing.T) {
			f, err := pcapfilter.Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			src := openLive(t, v.host, LiveOptions{Buffer: MinBuffer, Filter: f})
			if got := src.(*liveSource).user != nil; got != c.user {
				t.Errorf("in user space: %v, want %v", got, c.user)
			}
			seen, frames := drain(src)
			inject := exec.Command("ip", "netns", "exec", v.ns, v.exe, "-test.run=^TestLiveHelperProcess$")
			inject.Env = append(os.Environ(), fmt.Sprintf("%s=inject %s %s %s", liveHelperEnv, v.peerName, v.peerIP, v.hostIP))
			if out, err := inject.CombinedOutput(); err != nil {
				t.Fatalf("inject: %v: %s", err, out)
			}
			time.Sleep(100 * time.Millisecond)
			src.Close()
			<-seen
			got := <-frames
			if len(got) != c.want {
				t.Fatalf("%d frames, want %d", len(got), c.want)
			}
			for _, fr := range got {
				p, ok := decodeUDP(fr, gopacket.CaptureInfo{CaptureLength: len(fr), Length: len(fr)}, layers.LinkTypeEthernet)
				if !ok || p.dst.Port() != vlanPort {
					t.Fatalf("captured a frame that is not an injected datagram: %x", fr)
				}
				if c.user && p.vlan != 42 {
					t.Errorf("vlan 42 filter kept a frame of VLAN %d", p.vlan)
				}
			}
		})
	}
}
