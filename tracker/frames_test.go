package tracker

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Test frames: Ethernet (optionally 802.1Q-tagged) carrying IPv4 or IPv6 and TCP or
// UDP, built with gopacket's serializer so that lengths and checksums are right.

// testSeg describes one segment or datagram from src to dst.
type testSeg struct {
	src, dst     netip.Addr
	sport, dport uint16
	udp          bool
	vlan         bool
	seq, ack     uint32
	flags        uint8 // flagFIN, flagSYN, flagRST, flagACK (and 0x08 PSH)
	window       uint16
	payload      []byte
}

var (
	testMACA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	testMACB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
)

// build serializes s into an Ethernet frame.
func (s testSeg) build(tb testing.TB) []byte {
	tb.Helper()
	v6 := s.src.Is6()
	eth := &layers.Ethernet{SrcMAC: testMACA, DstMAC: testMACB, EthernetType: layers.EthernetTypeIPv4}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	if s.vlan {
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 42, Type: eth.EthernetType})
		eth.EthernetType = layers.EthernetTypeDot1Q
	}
	proto := layers.IPProtocolTCP
	if s.udp {
		proto = layers.IPProtocolUDP
	}
	var netLayer gopacket.NetworkLayer
	if v6 {
		ip := &layers.IPv6{Version: 6, NextHeader: proto, HopLimit: 64,
			SrcIP: s.src.AsSlice(), DstIP: s.dst.AsSlice()}
		netLayer = ip
		ls = append(ls, ip)
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto,
			SrcIP: s.src.AsSlice(), DstIP: s.dst.AsSlice()}
		netLayer = ip
		ls = append(ls, ip)
	}
	if s.udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(s.sport), DstPort: layers.UDPPort(s.dport)}
		if err := u.SetNetworkLayerForChecksum(netLayer); err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, u)
	} else {
		win := s.window
		if win == 0 && s.flags&flagRST == 0 {
			win = 65535
		}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport),
			Seq: s.seq, Ack: s.ack, Window: win,
			FIN: s.flags&flagFIN != 0, SYN: s.flags&flagSYN != 0, RST: s.flags&flagRST != 0,
			PSH: s.flags&0x08 != 0, ACK: s.flags&flagACK != 0}
		if err := tcp.SetNetworkLayerForChecksum(netLayer); err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, tcp)
	}
	ls = append(ls, gopacket.Payload(s.payload))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// reverse returns s's endpoints swapped.
func (s testSeg) reverse() testSeg {
	s.src, s.dst, s.sport, s.dport = s.dst, s.src, s.dport, s.sport
	return s
}

// testL4Offset returns where the transport header of an untagged or tagged Ethernet
// frame built by testSeg.build starts, and where the IP header starts.
func testL4Offset(frame []byte) (ipOff, l4Off int) {
	ipOff = 14
	if binary.BigEndian.Uint16(frame[12:14]) == uint16(layers.EthernetTypeDot1Q) {
		ipOff = 18
	}
	if frame[ipOff]>>4 == 6 {
		return ipOff, ipOff + 40
	}
	return ipOff, ipOff + int(frame[ipOff]&0x0f)*4
}

// setTCPSeqAck rewrites the sequence and acknowledgement numbers of a TCP frame built
// by testSeg.build and updates its checksum incrementally, without allocating.
func setTCPSeqAck(frame []byte, seq, ack uint32) {
	_, l4 := testL4Offset(frame)
	csum := l4 + 16
	patch16(frame, csum, l4+4, uint16(seq>>16))
	patch16(frame, csum, l4+6, uint16(seq))
	patch16(frame, csum, l4+8, uint16(ack>>16))
	patch16(frame, csum, l4+10, uint16(ack))
}

// patch16 sets the 16-bit word at off to v and updates the checksum at csum
// (RFC 1624: HC' = ~(~HC + ~m + m')).
func patch16(frame []byte, csum, off int, v uint16) {
	old := binary.BigEndian.Uint16(frame[off:])
	binary.BigEndian.PutUint16(frame[off:], v)
	sum := uint32(^binary.BigEndian.Uint16(frame[csum:])) + uint32(^old) + uint32(v)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(frame[csum:], ^uint16(sum))
}

// fixL4Checksum recomputes the TCP or UDP checksum of a frame built by testSeg.build.
// It is written independently of the tracker's checksum code.
func fixL4Checksum(frame []byte) {
	ipOff, l4Off := testL4Offset(frame)
	var proto byte
	var src, dst []byte
	var end int // end of the datagram: Ethernet pads short frames
	if frame[ipOff]>>4 == 6 {
		proto, src, dst = frame[ipOff+6], frame[ipOff+8:ipOff+24], frame[ipOff+24:ipOff+40]
		end = ipOff + 40 + int(binary.BigEndian.Uint16(frame[ipOff+4:]))
	} else {
		proto, src, dst = frame[ipOff+9], frame[ipOff+12:ipOff+16], frame[ipOff+16:ipOff+20]
		end = ipOff + int(binary.BigEndian.Uint16(frame[ipOff+2:]))
	}
	csumOff := l4Off + 16
	if proto == byte(layers.IPProtocolUDP) {
		csumOff = l4Off + 6
	}
	frame[csumOff], frame[csumOff+1] = 0, 0
	l4 := frame[l4Off:end]
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	sum += uint32(proto) + uint32(len(l4))
	add(l4)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 && proto == byte(layers.IPProtocolUDP) {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[csumOff:], c)
}

// testCI returns capture info for a frame captured at ts.
func testCI(frame []byte, ts time.Time) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}
}

// testEpoch is the capture time of the first test packet.
var testEpoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// testHandshake returns the frames of a three-way handshake from c (the client,
// initial sequence number cseq) to the server (sseq), and the client's data
// template for the established connection.
func testHandshake(tb testing.TB, c testSeg, cseq, sseq uint32) [][]byte {
	tb.Helper()
	syn := c
	syn.seq, syn.ack, syn.flags, syn.payload = cseq, 0, flagSYN, nil
	synAck := c.reverse()
	synAck.seq, synAck.ack, synAck.flags, synAck.payload = sseq, cseq+1, flagSYN|flagACK, nil
	ack := c
	ack.seq, ack.ack, ack.flags, ack.payload = cseq+1, sseq+1, flagACK, nil
	return [][]byte{syn.build(tb), synAck.build(tb), ack.build(tb)}
}

// testPcap returns a classic pcap file (microsecond timestamps) of the frames.
func testPcap(tb testing.TB, link layers.LinkType, frames ...[]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, link); err != nil {
		tb.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(testCI(f, testEpoch.Add(time.Duration(i)*time.Millisecond)), f); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

// testPcapng returns a pcapng file of the frames on one interface.
func testPcapng(tb testing.TB, link layers.LinkType, frames ...[]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, link)
	if err != nil {
		tb.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(testCI(f, testEpoch.Add(time.Duration(i)*time.Millisecond)), f); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Addresses of the test endpoints.
var (
	testCli4 = netip.MustParseAddr("10.0.0.1")
	testSrv4 = netip.MustParseAddr("192.0.2.80")
	testCli6 = netip.MustParseAddr("2001:db8::1")
	testSrv6 = netip.MustParseAddr("2001:db8::80")
)
