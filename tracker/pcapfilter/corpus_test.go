package pcapfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// packet is one packet of the test corpus.
type packet struct {
	name string
	link layers.LinkType
	data []byte
}

// Capture files outside this package. The oracle captures live outside the
// repository and may be absent.
var (
	oracleGlob   = filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap*")
	ordinaryGlob = filepath.Join("..", "..", "testdata", "ordinary", "*.pcap")
)

// maxPerCapture bounds the packets taken from one capture file.
const maxPerCapture = 3000

var (
	corpusOnce sync.Once
	corpusPkts []packet
	corpusNote string
	corpusErr  error
)

// corpus returns the capture packets and the synthetic ones. note says
// which captures were missing.
func corpus(t testing.TB) ([]packet, string) {
	t.Helper()
	corpusOnce.Do(func() {
		var files []string
		oracle, _ := filepath.Glob(oracleGlob)
		if len(oracle) == 0 {
			corpusNote = "oracle captures (../shared/oracle) absent; using testdata and synthetic packets only"
		}
		ordinary, _ := filepath.Glob(ordinaryGlob)
		files = append(append(files, oracle...), ordinary...)
		sort.Strings(files)
		for _, f := range files {
			pkts, err := readCapture(f)
			if err != nil {
				corpusErr = fmt.Errorf("%s: %w", f, err)
				return
			}
			corpusPkts = append(corpusPkts, pkts...)
		}
		corpusPkts = append(corpusPkts, synthetic()...)
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusPkts, corpusNote
}

// readCapture reads a pcap or pcapng file.
func readCapture(path string) ([]packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	name := filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
	var pkts []packet
	add := func(i int, link layers.LinkType, data []byte) {
		pkts = append(pkts, packet{name: fmt.Sprintf("%s#%d", name, i+1), link: link, data: data})
	}
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		for i := 0; i < maxPerCapture; i++ {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			intf, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return nil, err
			}
			add(i, intf.LinkType, data)
		}
		return pkts, nil
	}
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, err
	}
	for i := 0; i < maxPerCapture; i++ {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		add(i, r.LinkType(), data)
	}
	return pkts, nil
}

// --- synthetic packets ---

func mac(s string) []byte {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return hw
}

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func ether(dst, src string, etype uint16, payload []byte) []byte {
	return cat(mac(dst), mac(src), be16(etype), payload)
}

// tag is a VLAN tag: TPID, then TCI, then the inner type.
func tag(tpid uint16, vid uint16) []byte { return cat(be16(tpid), be16(vid)) }

// etherTagged builds a frame with VLAN tags between the addresses and the
// type.
func etherTagged(dst, src string, tags [][]byte, etype uint16, payload []byte) []byte {
	b := cat(mac(dst), mac(src))
	for _, t := range tags {
		b = append(b, t...)
	}
	return cat(b, be16(etype), payload)
}

// ipv4 builds an IPv4 header; frag holds the flags and fragment offset.
func ipv4(src, dst string, proto byte, opts []byte, frag uint16, payload []byte) []byte {
	ihl := 5 + len(opts)/4
	total := 4*ihl + len(payload)
	h := []byte{byte(0x40 | ihl), 0, 0, 0, 0x12, 0x34, 0, 0, 64, proto, 0, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[6:], frag)
	return cat(h, ip(src), ip(dst), opts, payload)
}

func ipv6(src, dst string, nh byte, payload []byte) []byte {
	h := []byte{0x60, 0, 0, 0, 0, 0, nh, 64}
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	return cat(h, ip(src), ip(dst), payload)
}

// ext6 is an IPv6 extension header of 8 bytes (hop-by-hop, destination
// options, routing) or a fragment header.
func ext6(nh byte, payload []byte) []byte { return cat([]byte{nh, 0, 1, 4, 0, 0, 0, 0}, payload) }

func frag6(nh byte, offset uint16, more bool, payload []byte) []byte {
	fo := offset << 3
	if more {
		fo |= 1
	}
	return cat([]byte{nh, 0}, be16(fo), be32(0xabcd), payload)
}

func tcp(sport, dport uint16, flags byte, payload []byte) []byte {
	h := cat(be16(sport), be16(dport), be32(1000), be32(2000), []byte{0x50, flags, 0xff, 0xff, 0, 0, 0, 0})
	return cat(h, payload)
}

func udp(sport, dport uint16, payload []byte) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(8+len(payload))), be16(0), payload)
}

func sctp(sport, dport uint16) []byte {
	return cat(be16(sport), be16(dport), be32(1), be32(0), []byte{1, 0, 0, 4})
}

func icmp(typ, code byte) []byte { return []byte{typ, code, 0, 0, 0, 1, 0, 1, 'p', 'i', 'n', 'g'} }

func arp(op uint16, sha, spa, tha, tpa string) []byte {
	return cat(be16(1), be16(0x0800), []byte{6, 4}, be16(op), mac(sha), ip(spa), mac(tha), ip(tpa))
}

func mplsLabel(label uint32, bottom bool) []byte {
	v := label<<12 | 64
	if bottom {
		v |= 1 << 8
	}
	return be32(v)
}

// l3 is a network-layer packet with its Ethernet type.
type l3 struct {
	name  string
	etype uint16
	data  []byte
}

// l3Packets are the IPv4, IPv6 and ARP packets of the synthetic corpus.
func l3Packets() []l3 {
	payload := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	tls := []byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0}
	var ps []l3
	v4 := func(name string, b []byte) { ps = append(ps, l3{name, 0x0800, b}) }
	v6 := func(name string, b []byte) { ps = append(ps, l3{name, 0x86dd, b}) }

	hosts4 := [][2]string{{"10.0.0.1", "10.0.0.2"}, {"10.0.0.2", "192.168.1.10"},
		{"192.168.1.20", "10.0.0.1"}, {"10.77.0.1", "10.77.0.2"}, {"172.16.5.4", "8.8.8.8"},
		{"127.0.0.1", "127.0.0.1"}, {"10.1.2.3", "224.0.0.251"}, {"10.0.0.1", "10.0.0.1"}}
	ports := [][2]uint16{{12345, 80}, {80, 12345}, {443, 50000}, {53, 53}, {6005, 22},
		{8080, 8081}, {2049, 6010}, {55555, 60000}, {1000, 1023}, {7777, 5353}}
	for i, h := range hosts4 {
		pt := ports[i%len(ports)]
		pt2 := ports[(i+3)%len(ports)]
		v4(fmt.Sprintf("ipv4-tcp-%d", i), ipv4(h[0], h[1], 6, nil, 0x4000, tcp(pt[0], pt[1], 0x18, payload)))
		v4(fmt.Sprintf("ipv4-udp-%d", i), ipv4(h[0], h[1], 17, nil, 0, udp(pt2[0], pt2[1], payload)))
		v4(fmt.Sprintf("ipv4-sctp-%d", i), ipv4(h[1], h[0], 132, nil, 0, sctp(pt[1], pt[0])))
	}
	for _, pt := range ports {
		v4(fmt.Sprintf("ipv4-tcp-%d-%d", pt[0], pt[1]), ipv4("10.0.0.1", "10.0.0.2", 6, nil, 0, tcp(pt[0], pt[1], 0x10, nil)))
		v4(fmt.Sprintf("ipv4-udp-%d-%d", pt[0], pt[1]), ipv4("10.0.0.2", "10.0.0.1", 17, nil, 0, udp(pt[0], pt[1], nil)))
		v6(fmt.Sprintf("ipv6-tcp-%d-%d", pt[0], pt[1]), ipv6("fd77::1", "fd77::2", 6, tcp(pt[0], pt[1], 0x10, nil)))
		v6(fmt.Sprintf("ipv6-udp-%d-%d", pt[0], pt[1]), ipv6("2001:db8::1", "2001:db8::2", 17, udp(pt[0], pt[1], nil)))
	}
	// Every TCP flag, alone and in common pairs.
	for i, f := range []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x12, 0x14, 0x11, 0x18, 0x00, 0xff} {
		v4(fmt.Sprintf("ipv4-tcpflags-%#x", f), ipv4("10.0.0.1", "192.168.1.10", 6, nil, 0, tcp(80, uint16(40000+i), f, nil)))
	}
	v4("ipv4-tcp-8080", ipv4("10.77.0.1", "10.77.0.2", 6, nil, 0x4000, tcp(41000, 8080, 0x02, nil)))
	v4("ipv4-tcp-payload", ipv4("10.0.0.2", "10.0.0.1", 6, nil, 0, tcp(80, 33333, 0x18, payload)))
	v4("ipv4-tcp-tls", ipv4("10.0.0.2", "10.0.0.1", 6, nil, 0, tcp(50000, 443, 0x18, tls)))
	v4("ipv4-options-tcp", ipv4("10.0.0.1", "10.0.0.2", 6, []byte{0x94, 4, 0, 0, 1, 1, 1, 0}, 0, tcp(12345, 80, 0x02, nil)))
	v4("ipv4-options-udp", ipv4("192.168.1.10", "10.0.0.2", 17, []byte{0x01, 0x01, 0x01, 0x00}, 0, udp(5353, 53, nil)))
	v4("ipv4-frag-first", ipv4("10.0.0.1", "10.0.0.2", 6, nil, 0x2000, tcp(12345, 80, 0x18, payload)))
	v4("ipv4-frag-later", ipv4("10.0.0.1", "10.0.0.2", 6, nil, 0x0010, cat(be16(80), be16(80), payload)))
	v4("ipv4-frag-later-udp", ipv4("10.0.0.2", "10.0.0.1", 17, nil, 0x0003, cat(be16(53), be16(53), payload)))
	for _, tc := range [][2]byte{{8, 0}, {0, 0}, {3, 3}, {3, 1}, {11, 0}, {5, 1}, {13, 0}, {17, 0}} {
		v4(fmt.Sprintf("icmp-%d-%d", tc[0], tc[1]), ipv4("10.0.0.1", "10.0.0.2", 1, nil, 0, icmp(tc[0], tc[1])))
	}
	v4("igmp", ipv4("10.0.0.1", "224.0.0.251", 2, nil, 0, []byte{0x16, 0, 0, 0, 224, 0, 0, 251}))
	v4("esp", ipv4("10.0.0.1", "10.0.0.2", 50, nil, 0, cat(be32(1), be32(1), payload)))
	v4("ah", ipv4("10.0.0.1", "10.0.0.2", 51, nil, 0, cat([]byte{6, 4, 0, 0}, be32(1), be32(1), be32(0), tcp(1, 80, 2, nil))))
	v4("vrrp", ipv4("10.0.0.1", "224.0.0.18", 112, nil, 0, []byte{0x21, 1, 100, 1, 0, 1, 0, 0, 10, 0, 0, 254}))
	v4("pim", ipv4("10.0.0.1", "224.0.0.13", 103, nil, 0, []byte{0x20, 0, 0, 0}))
	v4("ipv4-big", ipv4("10.0.0.1", "10.0.0.2", 17, nil, 0, udp(1234, 4321, make([]byte, 1200))))
	v4("ipv4-proto-99", ipv4("10.0.0.1", "10.0.0.2", 99, nil, 0, payload))

	v6("ipv6-tcp", ipv6("fd77::1", "fd77::2", 6, tcp(41958, 8080, 0x02, nil)))
	v6("ipv6-tcp-80", ipv6("2001:db8::1", "2001:db8::2", 6, tcp(80, 50000, 0x12, payload)))
	v6("ipv6-udp-53", ipv6("2001:db8::2", "2001:db8::1", 17, udp(53, 5353, payload)))
	v6("ipv6-sctp", ipv6("fd77::2", "2001:db8::1", 132, sctp(80, 2000)))
	v6("ipv6-loopback", ipv6("::1", "::1", 6, tcp(6000, 6005, 0x02, nil)))
	v6("ipv6-hopbyhop-tcp", ipv6("fd77::1", "fd77::2", 0, ext6(6, tcp(12345, 80, 0x02, nil))))
	v6("ipv6-dstopts-udp", ipv6("fd77::1", "fd77::2", 60, ext6(17, udp(53, 53, nil))))
	v6("ipv6-frag-tcp-first", ipv6("fd77::1", "fd77::2", 44, frag6(6, 0, true, tcp(12345, 80, 0x18, payload))))
	v6("ipv6-frag-udp-later", ipv6("fd77::2", "fd77::1", 44, frag6(17, 100, false, payload)))
	v6("ipv6-frag-icmp6", ipv6("fd77::2", "fd77::1", 44, frag6(58, 0, true, icmp(128, 0))))
	v6("icmp6-echo", ipv6("fd77::1", "fd77::2", 58, icmp(128, 0)))
	v6("icmp6-echoreply", ipv6("fd77::2", "fd77::1", 58, icmp(129, 0)))
	v6("icmp6-ns", ipv6("fe80::1", "ff02::1:ff00:2", 58, cat(icmp(135, 0), ip("fd77::2"))))
	v6("icmp6-ra", ipv6("fe80::1", "ff02::1", 58, icmp(134, 0)))
	v6("ipv6-mcast-udp", ipv6("fe80::1", "ff02::fb", 17, udp(5353, 5353, nil)))
	v6("ipv6-esp", ipv6("2001:db8::1", "2001:db8::2", 50, cat(be32(1), be32(1))))
	v6("ipv6-pim", ipv6("fe80::1", "ff02::d", 103, []byte{0x20, 0, 0, 0}))

	ps = append(ps,
		l3{"arp-request", 0x0806, arp(1, "00:11:22:33:44:55", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")},
		l3{"arp-reply", 0x0806, arp(2, "66:77:88:99:aa:bb", "10.0.0.2", "00:11:22:33:44:55", "10.0.0.1")},
		l3{"arp-other", 0x0806, arp(1, "66:77:88:99:aa:bb", "192.168.1.20", "00:00:00:00:00:00", "192.168.1.10")},
		l3{"rarp-request", 0x8035, arp(3, "00:11:22:33:44:55", "0.0.0.0", "00:11:22:33:44:55", "0.0.0.0")},
		l3{"rarp-reply", 0x8035, arp(4, "66:77:88:99:aa:bb", "10.0.0.2", "00:11:22:33:44:55", "10.0.0.1")},
	)
	return ps
}

const (
	macA     = "00:11:22:33:44:55"
	macB     = "66:77:88:99:aa:bb"
	macBcast = "ff:ff:ff:ff:ff:ff"
	macMcast = "01:00:5e:00:00:fb"
	macOrd   = "02:77:00:00:00:01"
)

// synthetic builds the edge-case packets, for every supported link type.
func synthetic() []packet {
	var ps []packet
	add := func(link layers.LinkType, name string, data []byte) {
		ps = append(ps, packet{name: "synthetic/" + name, link: link, data: data})
	}
	eth := layers.LinkTypeEthernet
	for i, p := range l3Packets() {
		dst, src := macA, macB
		switch i % 4 {
		case 1:
			dst, src = macB, macA
		case 2:
			dst, src = macBcast, macOrd
		case 3:
			dst, src = macMcast, macA
		}
		frame := ether(dst, src, p.etype, p.data)
		add(eth, p.name, frame)
		// Truncated copies: inside the link header, the network header
		// and the transport header.
		for _, n := range []int{0, 1, 13, 14, 15, 20, 23, 24, 33, 34, 37, 38, 41, 54, 55, 57} {
			if n < len(frame) && (i%3 == 0 || n > 30) {
				add(eth, fmt.Sprintf("%s/trunc%d", p.name, n), frame[:n])
			}
		}
		// VLAN and QinQ.
		for _, tags := range [][][]byte{
			{tag(0x8100, 10)}, {tag(0x8100, 100)}, {tag(0x88a8, 20)}, {tag(0x9100, 10)},
			{tag(0x88a8, 10), tag(0x8100, 20)}, {tag(0x8100, 100), tag(0x8100, 200)},
			{tag(0x8100, 0x2000|10)},
		} {
			if i%2 == 1 && len(tags) == 1 && tags[0][3] != 10 {
				continue
			}
			add(eth, fmt.Sprintf("%s/vlan%x", p.name, tags), etherTagged(dst, src, tags, p.etype, p.data))
		}
		// MPLS, one and two labels.
		if p.etype != 0x0806 && p.etype != 0x8035 {
			add(eth, p.name+"/mpls100", ether(dst, src, 0x8847, cat(mplsLabel(100, true), p.data)))
			add(eth, p.name+"/mpls100-200", ether(dst, src, 0x8847, cat(mplsLabel(100, false), mplsLabel(200, true), p.data)))
			add(eth, p.name+"/mpls200-nobottom", ether(dst, src, 0x8847, cat(mplsLabel(200, false), p.data)))
			add(eth, p.name+"/vlan10-mpls100", etherTagged(dst, src, [][]byte{tag(0x8100, 10)}, 0x8847, cat(mplsLabel(100, true), p.data)))
		}
		// Other link types.
		sll := cat(be16(0), be16(1), be16(6), mac(src), []byte{0, 0}, be16(p.etype), p.data)
		add(layers.LinkTypeLinuxSLL, p.name, sll)
		if i%5 == 0 {
			add(layers.LinkTypeLinuxSLL, p.name+"/trunc17", sll[:17])
		}
		if p.etype != 0x0800 && p.etype != 0x86dd {
			continue
		}
		for _, l := range []layers.LinkType{layers.LinkTypeRaw, 12, 14} {
			add(l, p.name, p.data)
		}
		if p.etype == 0x0800 {
			add(layers.LinkTypeIPv4, p.name, p.data)
		} else {
			add(layers.LinkTypeIPv6, p.name, p.data)
		}
		// BSD loopback: AF_INET is 2 everywhere; AF_INET6 varies.
		afs := []uint32{2}
		if p.etype == 0x86dd {
			afs = []uint32{24, 28, 30, 10}
		}
		for _, af := range afs {
			add(layers.LinkTypeNull, fmt.Sprintf("%s/af%d", p.name, af), cat(binary.NativeEndian.AppendUint32(nil, af), p.data))
			add(layers.LinkTypeNull, fmt.Sprintf("%s/af%d-swapped", p.name, af), cat(binary.LittleEndian.AppendUint32(nil, af<<24|af), p.data))
			add(layers.LinkTypeLoop, fmt.Sprintf("%s/af%d", p.name, af), cat(be32(af), p.data))
		}
	}
	// Raw packets that are neither IPv4 nor IPv6, and short ones.
	for _, l := range []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeLinuxSLL} {
		add(l, "empty", nil)
		add(l, "one-byte-0x45", []byte{0x45})
		add(l, "version-5", cat([]byte{0x55}, make([]byte, 40)))
	}
	// 802.3 frames with 802.2 LLC headers.
	llc := func(name string, dsap, ssap byte) {
		body := cat([]byte{dsap, ssap, 3}, make([]byte, 40))
		add(eth, "llc-"+name, ether("01:80:c2:00:00:00", macA, uint16(len(body)), body))
		add(layers.LinkTypeLinuxSLL, "llc-"+name, cat(be16(0), be16(1), be16(6), mac(macA), []byte{0, 0}, be16(4), body))
	}
	llc("stp", 0x42, 0x42)
	llc("iso", 0xfe, 0xfe)
	llc("netbeui", 0xf0, 0xf0)
	llc("ip", 0x06, 0x06)
	llc("snap", 0xaa, 0xaa)
	llc("sap100", 100, 100)
	add(eth, "ether-lldp", ether("01:80:c2:00:00:0e", macA, 0x88cc, make([]byte, 46)))
	add(eth, "ether-decnet", ether(macA, macB, 0x6003, make([]byte, 46)))
	add(eth, "ether-lat", ether(macA, macB, 0x6004, make([]byte, 46)))
	add(eth, "ether-len1500", ether(macA, macB, 1500, make([]byte, 46)))
	add(eth, "ether-len1501", ether(macA, macB, 1501, make([]byte, 46)))
	add(eth, "ether-ipv6-mcast", ether("33:33:00:00:00:01", macA, 0x86dd, ipv6("fe80::1", "ff02::1", 58, icmp(134, 0))))
	add(eth, "ether-all-ff", ether(macBcast, macBcast, 0xffff, make([]byte, 46)))
	// An untagged frame that looks like IPv4 when read 4 bytes late, as
	// everything after "not vlan" is.
	add(eth, "ether-shifted-ipv4", cat(mac(macA), mac(macB), be16(0x88b5), be16(0), be16(0x0800),
		ipv4("10.0.0.1", "10.0.0.2", 6, nil, 0, tcp(12345, 80, 0x02, nil))))
	return ps
}
