package tracker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// decoderPair runs the tracker's decoder and the reference decoder side by side.
type decoderPair struct {
	d   *decoder
	ref *refDecoder
}

func newDecoderPair(ignoreChecksums bool) *decoderPair {
	return &decoderPair{newDecoder(ignoreChecksums), newRefDecoder(ignoreChecksums)}
}

// diff decodes frame with both decoders and describes the first difference, or
// returns "".
func (dp *decoderPair) diff(frame []byte, wireLen int, link layers.LinkType) string {
	var rp refPacket
	want := dp.ref.decode(frame, wireLen, link, &rp)
	var p packet
	res, l4 := dp.d.walk(frame, frame, firstHeader(link, frame), wireLen, &p)
	if want == malformed && sllAddressFails(frame, link) {
		return "" // the reference fails on the address length, which Zeek ignores
	}
	if res != want {
		return fmt.Sprintf("result %d, reference %d", res, want)
	}
	if res != decodedIP {
		return ""
	}
	switch {
	case p.src != rp.src || p.dst != rp.dst:
		return fmt.Sprintf("addresses %x > %x, reference %x > %x", p.src, p.dst, rp.src, rp.dst)
	case p.v6 != rp.v6 || p.proto != rp.proto:
		return fmt.Sprintf("v6 %v proto %d, reference v6 %v proto %d", p.v6, p.proto, rp.v6, rp.proto)
	case p.ipLen != rp.ipLen || p.l4Len != rp.l4Len:
		return fmt.Sprintf("ipLen %d l4Len %d, reference %d %d", p.ipLen, p.l4Len, rp.ipLen, rp.l4Len)
	case offsetIn(frame, l4) != refOffsetIn(frame, rp.l4) || len(l4) != len(rp.l4):
		return fmt.Sprintf("transport at %d+%d, reference %d+%d",
			offsetIn(frame, l4), len(l4), refOffsetIn(frame, rp.l4), len(rp.l4))
	}
	// The copied header and the checksum verdict.
	if r := dp.d.decode(frame, wireLen, link, &p); r != decodedIP {
		return fmt.Sprintf("decode %d after parse %d", r, res)
	}
	n := min(len(rp.l4), l4Copy)
	if p.capLen != len(rp.l4) || !bytes.Equal(p.hdr[:n], rp.l4[:n]) {
		return fmt.Sprintf("header copy %x (%d bytes), transport %x", p.hdr, p.capLen, rp.l4)
	}
	if !dp.d.ignoreChecksums && len(rp.l4) >= rp.l4Len {
		var want bool
		switch rp.proto {
		case ProtoTCP, ProtoUDP, ProtoICMPv6:
			want = p.checksumOK(rp.l4[:rp.l4Len], true)
		case ProtoICMP:
			want = p.checksumOK(rp.l4[:rp.l4Len], false)
		}
		if p.csumOK != want {
			return fmt.Sprintf("checksum verdict %v, want %v", p.csumOK, want)
		}
	}
	return ""
}

// sllAddressFails reports a Linux cooked frame whose address length makes gopacket's
// LinuxSLL layer slice beyond the capacity of the frame (or wrap around), which
// fails it in the reference decoder.
func sllAddressFails(frame []byte, link layers.LinkType) bool {
	if link != layers.LinkTypeLinuxSLL || len(frame) < 16 {
		return false
	}
	hi := binary.BigEndian.Uint16(frame[4:6]) + 6
	return hi < 6 || int(hi) > cap(frame)
}

// testTraces returns the capture files of the Zeek oracle corpus, if it is there.
func testTraces(tb testing.TB) []string {
	dir := os.Getenv("FLOWTOP_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared")
	}
	var files []string
	for _, pat := range []string{"*/trace.pcap", "*/trace.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, "oracle", "cases", pat))
		files = append(files, m...)
	}
	return files
}

// testFrame is one captured frame.
type testFrame struct {
	data    []byte
	wireLen int
	link    layers.LinkType
}

// traceFrames reads every frame of the oracle traces (copied).
func traceFrames(tb testing.TB) []testFrame {
	var out []testFrame
	for _, f := range testTraces(tb) {
		src, err := OpenFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for {
			data, ci, link, err := src.ReadPacket()
			if err != nil {
				break
			}
			out = append(out, testFrame{bytes.Clone(data), ci.Length, link})
		}
		src.Close()
	}
	return out
}

// syntheticFrames returns frames of every link type the decoder reads, with IPv6
// extension headers, IPv4 options, fragments and tunnels.
func syntheticFrames(tb testing.TB) []testFrame {
	tcp4 := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80, seq: 7, ack: 9, flags: flagACK,
		payload: []byte("GET / HTTP/1.1\r\n\r\n")}
	tcp6 := tcp4
	tcp6.src, tcp6.dst = testCli6, testSrv6
	udp4 := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 53, udp: true, payload: []byte("query")}
	vlan := tcp4
	vlan.vlan = true
	eth4, eth6, ethU, ethV := tcp4.build(tb), tcp6.build(tb), udp4.build(tb), vlan.build(tb)
	ip4, ip6 := eth4[14:], eth6[14:]
	var out []testFrame
	add := func(link layers.LinkType, data []byte) {
		out = append(out, testFrame{data, len(data), link})
	}
	add(layers.LinkTypeEthernet, eth4)
	add(layers.LinkTypeEthernet, eth6)
	add(layers.LinkTypeEthernet, ethU)
	add(layers.LinkTypeEthernet, ethV)
	add(layers.LinkTypeRaw, ip4)
	add(layers.LinkTypeRaw, ip6)
	add(linkTypeIPv4, ip4)
	add(linkTypeIPv6, ip6)
	add(linkTypeRaw12, ip6)
	// Linux cooked v1 and v2.
	sll := make([]byte, 16)
	binary.BigEndian.PutUint16(sll[4:6], 6)
	binary.BigEndian.PutUint16(sll[14:16], 0x0800)
	add(layers.LinkTypeLinuxSLL, append(sll, ip4...))
	sll2 := make([]byte, 20)
	binary.BigEndian.PutUint16(sll2[0:2], 0x86dd)
	add(linkTypeSLL2, append(sll2, ip6...))
	// BSD loopback, both byte orders.
	add(layers.LinkTypeNull, append([]byte{2, 0, 0, 0}, ip4...))
	add(linkTypeLoop, append([]byte{0, 0, 0, 30}, ip6...))
	// QinQ and Ethernet in Ethernet (transparent bridging).
	qinq := append(bytes.Clone(eth4[:12]), 0x88, 0xa8, 0, 7, 0x81, 0, 0, 8, 0x08, 0)
	add(layers.LinkTypeEthernet, append(qinq, ip4...))
	teb := append(bytes.Clone(eth4[:12]), 0x65, 0x58)
	add(layers.LinkTypeEthernet, append(teb, eth4...))
	out = append(out, linkLayerFrames(eth4, eth6, qinq)...)
	// IPv6 with extension headers: destination options, hop-by-hop, fragments.
	for _, ext := range []gopacket.SerializableLayer{
		&layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}}},
		&layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}}},
	} {
		add(layers.LinkTypeEthernet, ipv6WithExt(tb, ext, 0))
	}
	add(layers.LinkTypeEthernet, ipv6WithExt(tb, nil, 0))
	add(layers.LinkTypeEthernet, ipv6WithExt(tb, nil, 1)) // atomic fragment
	add(layers.LinkTypeEthernet, ipv6WithExt(tb, nil, 8)) // offset 1
	// IPv4 with options, and fragments.
	opt := ipv4WithOptions(tb, []byte{1, 1, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0})
	add(layers.LinkTypeEthernet, opt)
	frag := bytes.Clone(eth4)
	frag[14+6] = 0x20 // more fragments
	add(layers.LinkTypeEthernet, frag)
	return out
}

// linkLayerFrames returns frames of the link layers of SPAN ports and access
// networks, each carrying the IPv4 (or IPv6) packet of eth4 (eth6): MPLS (two
// labels; one inside a VLAN), PPPoE (over QinQ, whose first 16 bytes are qinq),
// PPP with and without HDLC-like framing, PPP in HDLC framing carrying MPLS,
// VN-Tag inside a VLAN, and Cisco FabricPath.
func linkLayerFrames(eth4, eth6, qinq []byte) []testFrame {
	ip4, ip6 := eth4[14:], eth6[14:]
	var out []testFrame
	add := func(link layers.LinkType, data []byte) {
		out = append(out, testFrame{data, len(data), link})
	}
	ethType := func(t uint16) []byte { return binary.BigEndian.AppendUint16(bytes.Clone(eth4[:12]), t) }
	labels := []byte{0, 0x10, 0x00, 0x40, 0, 0x20, 0x01, 0x40} // two entries, the second at the bottom
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x8847), labels, ip4))
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x8100), []byte{0, 5, 0x88, 0x47}, labels[4:], ip6))
	pppoe := func(proto uint16, ip []byte) []byte { // with its payload length
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16([]byte{0x11, 0, 0, 1}, uint16(2+len(ip))), proto)
	}
	add(layers.LinkTypeEthernet, slices.Concat(qinq[:len(qinq)-2], []byte{0x88, 0x64}, pppoe(0x21, ip4), ip4))
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x8864), pppoe(0x57, ip6), ip6))
	// Ethernet padding after a short PPPoE payload is not part of the packet.
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x8864), pppoe(0x21, ip4), ip4, make([]byte, 6)))
	add(linkTypePPP, slices.Concat([]byte{0, 0x57}, ip6))
	add(linkTypePPP, slices.Concat([]byte{0xff, 0x03, 0, 0x21}, ip4))
	add(linkTypePPPHDLC, slices.Concat([]byte{0xff, 0x03, 0x02, 0x81}, labels[4:], ip4))
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x8100), []byte{0, 9, 0x89, 0x26}, []byte{0x80, 1, 0, 2, 0x08, 0}, ip4))
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x8903), []byte{0x01, 0x3f}, eth6))
	// 802.1ah: a B-TAG, the I-TAG, then the customer's frame.
	add(layers.LinkTypeEthernet, slices.Concat(ethType(0x88a8), []byte{0, 3, 0x88, 0xe7}, []byte{0x60, 0, 0x12, 0x34}, eth4))
	// IEEE 802.3 with an LLC/SNAP header (RFC 1042), with a trailer after the length.
	snap := []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x86, 0xdd}
	add(layers.LinkTypeEthernet, slices.Concat(ethType(uint16(len(snap)+len(ip6))), snap, ip6, []byte{0, 0, 0, 0}))
	add(linkTypeFDDI, slices.Concat([]byte{0x50}, eth4[:12], snap[:6], []byte{0x08, 0}, ip4))
	// Radiotap (8 bytes: version, pad, length, present flags), then 802.11 data
	// frames with LLC/SNAP: from the access point, QoS data, and four addresses.
	radiotap := []byte{0, 0, 8, 0, 0, 0, 0, 0}
	mac := func(fc0, fc1 byte, n int) []byte {
		h := make([]byte, n)
		h[0], h[1] = fc0, fc1
		return h
	}
	add(linkTypeRadio, slices.Concat(radiotap, mac(0x08, 0x02, 24), snap[:6], []byte{0x08, 0}, ip4))
	add(linkTypeDot11, slices.Concat(mac(0x88, 0x01, 26), snap, ip6))
	add(linkTypeDot11, slices.Concat(mac(0x08, 0x03, 30), snap[:6], []byte{0x08, 0}, ip4))
	return out
}

// ipv6WithExt returns an Ethernet frame of IPv6, the extension header (or, when ext
// is nil, a fragment header with offset field frag) and UDP.
func ipv6WithExt(tb testing.TB, ext gopacket.SerializableLayer, frag uint16) []byte {
	tb.Helper()
	eth := &layers.Ethernet{SrcMAC: testMACA, DstMAC: testMACB, EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: testCli6.AsSlice(), DstIP: testSrv6.AsSlice()}
	u := &layers.UDP{SrcPort: 1234, DstPort: 53}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		tb.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	switch e := ext.(type) {
	case *layers.IPv6Destination:
		ip.NextHeader, e.NextHeader = layers.IPProtocolIPv6Destination, layers.IPProtocolUDP
		err = gopacket.SerializeLayers(buf, opts, eth, ip, e, u, gopacket.Payload("hello"))
	case *layers.IPv6HopByHop:
		ip.NextHeader, e.NextHeader = layers.IPProtocolIPv6HopByHop, layers.IPProtocolUDP
		ip.HopByHop = e
		err = gopacket.SerializeLayers(buf, opts, eth, ip, u, gopacket.Payload("hello"))
	default:
		ip.NextHeader = layers.IPProtocolIPv6Fragment
		fh := []byte{byte(layers.IPProtocolUDP), 0, byte(frag >> 8), byte(frag), 0, 0, 0, 1}
		err = gopacket.SerializeLayers(buf, opts, eth, ip, gopacket.Payload(fh), u, gopacket.Payload("hello"))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// ipv4WithOptions returns an Ethernet frame of IPv4 with the given options and UDP.
func ipv4WithOptions(tb testing.TB, options []byte) []byte {
	tb.Helper()
	f := testSeg{src: testCli4, dst: testSrv4, sport: 1, dport: 2, udp: true, payload: []byte("x")}.build(tb)
	ip := f[14:]
	out := append(bytes.Clone(f[:14+20]), options...)
	out = append(out, ip[20:]...)
	h := out[14:]
	h[0] = 0x40 | byte((20+len(options))/4)
	binary.BigEndian.PutUint16(h[2:4], uint16(len(out)-14))
	h[10], h[11] = 0, 0
	var sum uint32
	for i := 0; i < 20+len(options); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:12], ^uint16(sum))
	return out
}

// TestDecodeMatchesReference checks the decoder against the reference decoder on
// every frame of the oracle traces, on synthetic frames of every link type, and on
// every truncation and many single-byte corruptions of the headers of those.
func TestDecodeMatchesReference(t *testing.T) {
	frames := append(syntheticFrames(t), traceFrames(t)...)
	pairs := []*decoderPair{newDecoderPair(false), newDecoderPair(true)}
	n := 0
	check := func(f testFrame, what string) {
		n++
		for _, dp := range pairs {
			if d := dp.diff(f.data, f.wireLen, f.link); d != "" {
				t.Fatalf("%s (link %d, -C %v, %d bytes on the wire): %s\nframe %x", what, f.link,
					dp.d.ignoreChecksums, f.wireLen, d, f.data)
			}
		}
	}
	synthetic := len(syntheticFrames(t))
	sample := 29 // truncate and corrupt every 29th trace frame, and every synthetic one
	if testing.Short() {
		sample = 101
	}
	for i, f := range frames {
		check(f, fmt.Sprintf("frame %d", i))
		if i >= synthetic && (i-synthetic)%sample != 0 {
			continue
		}
		// Truncated captures, with the full wire length.
		for l := 0; l < len(f.data) && l < 128; l++ {
			check(testFrame{f.data[:l:l], f.wireLen, f.link}, fmt.Sprintf("frame %d cut at %d", i, l))
		}
		buf := make([]byte, len(f.data))
		for pos := 0; pos < len(f.data) && pos < 96; pos++ {
			for _, v := range []byte{0, 1, 2, 4, 5, 6, 0x0f, 0x2c, 0x3c, 0x45, 0x60, 0x80, 0xc2, 0xff} {
				copy(buf, f.data)
				buf[pos] = v
				check(testFrame{buf, f.wireLen, f.link}, fmt.Sprintf("frame %d with [%d]=%#x", i, pos, v))
			}
		}
	}
	t.Logf("%d frames compared", n)
}

// TestDecodeIPv6ExtensionOffset checks that the transport header after IPv6
// extension headers is found where it is, whatever the link header's length.
func TestDecodeIPv6ExtensionOffset(t *testing.T) {
	f := ipv6WithExt(t, &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{
		{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}}}, 0)
	var p packet
	if r := newDecoder(false).decode(f, len(f), layers.LinkTypeEthernet, &p); r != decodedIP {
		t.Fatalf("decode: %d", r)
	}
	if p.proto != ProtoUDP || p.l4Len != 8+5 || p.capLen != 8+5 || binary.BigEndian.Uint16(p.hdr[0:2]) != 1234 ||
		binary.BigEndian.Uint16(p.hdr[2:4]) != 53 || !p.csumOK {
		t.Errorf("proto %d l4Len %d capLen %d header %x checksum %v; want UDP 1234 > 53, 13 bytes, good checksum",
			p.proto, p.l4Len, p.capLen, p.hdr, p.csumOK)
	}
}

// TestOnesSum checks the checksum arithmetic against a plain 16-bit word sum, for
// every length up to 300 bytes and extreme contents.
func TestOnesSum(t *testing.T) {
	naive := func(data []byte, sum uint64) uint16 {
		for i := 0; i+1 < len(data); i += 2 {
			sum += uint64(data[i])<<8 | uint64(data[i+1])
		}
		if len(data)%2 == 1 {
			sum += uint64(data[len(data)-1]) << 8
		}
		return fold(sum)
	}
	buf := make([]byte, 300)
	for _, fill := range []func(i int) byte{
		func(int) byte { return 0xff },
		func(int) byte { return 0 },
		func(i int) byte { return byte(i*131 + i>>3) },
		func(i int) byte { return byte(0xff - i%3) },
	} {
		for i := range buf {
			buf[i] = fill(i)
		}
		for n := 0; n <= len(buf); n++ {
			for _, start := range []uint64{0, 1, 0xffff, 0x1fffe, 1 << 40} {
				if got, want := fold(onesSum(buf[:n], start)), naive(buf[:n], start); got != want {
					t.Fatalf("%d bytes %x from %#x: sum %#04x, want %#04x", n, buf[:min(n, 16)], start, got, want)
				}
			}
		}
	}
}

// TestDecodeSLLAddressLength checks that a Linux cooked header's address length,
// which Zeek ignores, does not decide whether the frame decodes.
func TestDecodeSLLAddressLength(t *testing.T) {
	ip := testSeg{src: testCli4, dst: testSrv4, sport: 1, dport: 53, udp: true}.build(t)[14:]
	for _, addrLen := range []uint16{0, 6, 8, 200, 65530, 65535} {
		sll := make([]byte, 16, 16+len(ip))
		binary.BigEndian.PutUint16(sll[4:6], addrLen)
		binary.BigEndian.PutUint16(sll[14:16], 0x0800)
		frame := append(sll, ip...)
		var p packet
		if r := newDecoder(false).decode(frame, len(frame), layers.LinkTypeLinuxSLL, &p); r != decodedIP {
			t.Errorf("address length %d: result %d, want decoded", addrLen, r)
		}
	}
}

// TestDecodeLinkLayers checks that every frame of linkLayerFrames decodes to its
// inner IP packet (the comparison with the reference decoder alone would also
// pass if both gave up), and that cutting the link header short is malformed.
func TestDecodeLinkLayers(t *testing.T) {
	tcp4 := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80, seq: 7, flags: flagACK}
	tcp6 := tcp4
	tcp6.src, tcp6.dst = testCli6, testSrv6
	eth4, eth6 := tcp4.build(t), tcp6.build(t)
	qinq := append(bytes.Clone(eth4[:12]), 0x88, 0xa8, 0, 7, 0x81, 0, 0, 8, 0x08, 0)
	d := newDecoder(false)
	for i, f := range linkLayerFrames(eth4, eth6, qinq) {
		var p packet
		if r := d.decode(f.data, f.wireLen, f.link, &p); r != decodedIP {
			t.Errorf("frame %d (link %d): %v, want decoded IP\n%x", i, f.link, r, f.data)
			continue
		}
		want := testCli4
		if p.v6 {
			want = testCli6
		}
		if src := netip.AddrFrom16(p.src).Unmap(); src != want || p.proto != ProtoTCP || binary.BigEndian.Uint16(p.hdr[2:4]) != 80 {
			t.Errorf("frame %d (link %d): %v proto %d port %d, want TCP from %v to port 80", i, f.link, src, p.proto, binary.BigEndian.Uint16(p.hdr[2:4]), want)
		}
	}
	for _, c := range []struct {
		link layers.LinkType
		data []byte
	}{
		{linkTypePPP, []byte{0, 0x57}},
		{linkTypePPP, []byte{0xff, 0x03, 0, 0x21}},
		{linkTypePPPHDLC, []byte{0xff, 0x03, 0, 0x21}},
		{layers.LinkTypeEthernet, append(bytes.Clone(eth4[:12]), 0x88, 0x47, 0, 0, 1, 64)},                      // a label and nothing after
		{layers.LinkTypeEthernet, append(bytes.Clone(eth4[:12]), 0x88, 0x64, 0x11, 0, 0, 1, 0, 0, 0, 0x21)},     // PPPoE header only
		{layers.LinkTypeEthernet, append(bytes.Clone(eth4[:12]), 0x89, 0x26, 0x80, 1, 0, 2, 8, 0)},              // VN-Tag only
		{layers.LinkTypeEthernet, append(bytes.Clone(eth4[:12]), 0x89, 0x03, 1, 0x3f)},                          // FabricPath, no inner frame
		{layers.LinkTypeEthernet, slices.Concat(eth4[:12], []byte{0x88, 0xe7, 0x60, 0, 0x12, 0x34}, eth4[:14])}, // PBB, no payload
		{layers.LinkTypeEthernet, slices.Concat(eth4[:12], []byte{0, 100, 0xaa, 0xaa, 3, 0, 0, 0, 8, 0})},       // 802.3 length beyond the frame
		{layers.LinkTypeEthernet, slices.Concat(eth4[:12], []byte{0, 4, 0xaa, 0xaa, 3, 0})},                     // SNAP cut short
		{linkTypeFDDI, make([]byte, 21)},
		{linkTypeRadio, []byte{0, 0, 8, 0, 0, 0, 0, 0}},
		{linkTypeDot11, make([]byte, 24)},
	} {
		var p packet
		if r := d.decode(c.data, len(c.data), c.link, &p); r != malformed {
			t.Errorf("%x (link %d): %v, want malformed", c.data, c.link, r)
		}
	}
	// Frames that are not IP, and IP that Zeek does not read.
	for _, c := range []struct {
		link layers.LinkType
		data []byte
	}{
		{linkTypeDot11, slices.Concat([]byte{0x80, 0}, make([]byte, 22), eth4)},                        // a beacon
		{linkTypeDot11, slices.Concat([]byte{0x48, 0x01}, make([]byte, 22), eth4)},                     // null data
		{linkTypeDot11, slices.Concat([]byte{0x88, 0x41}, make([]byte, 24), []byte{0xaa, 0xaa}, eth4)}, // protected QoS
		{linkTypeDot11, slices.Concat([]byte{0x08, 0x02}, make([]byte, 22), []byte{0xaa, 0xaa, 3, 0, 0, 1, 8, 0}, eth4[14:])},
		{layers.LinkTypeEthernet, slices.Concat(eth4[:12], []byte{0, 46, 0x42, 0x42, 3}, make([]byte, 43))},                       // LLC (STP)
		{layers.LinkTypeEthernet, slices.Concat(eth4[:12], []byte{0, 28, 0xaa, 0xaa, 3, 0, 0, 0, 0x08, 6}, eth4[14:34])},          // SNAP ARP
		{layers.LinkTypeEthernet, slices.Concat(eth4[:12], []byte{0x81, 0, 0, 5, 0, 0, 0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, eth4[14:])}, // EtherType 0 in a VLAN tag: not a length
	} {
		var p packet
		if r := d.decode(c.data, len(c.data), c.link, &p); r != notIP {
			t.Errorf("%x (link %d): %v, want not IP", c.data, c.link, r)
		}
	}
}

// TestDecodeIPv6ZeroPayloadLength: a payload length of 0 without a jumbo option is
// a 40-byte datagram (Zeek's reading; oracle l2-cisco-fabric-path), not a
// malformed frame: an unknown protocol's session counts 40 IP bytes, and a TCP
// segment has no captured header.
func TestDecodeIPv6ZeroPayloadLength(t *testing.T) {
	tcp6 := testSeg{src: testCli6, dst: testSrv6, sport: 40000, dport: 80, seq: 7, flags: flagACK}
	f := tcp6.build(t)
	f[14+4], f[14+5] = 0, 0
	for _, c := range []struct {
		next  uint8
		proto Proto
	}{{99, 99}, {6, ProtoTCP}} {
		f[14+6] = c.next
		var p packet
		if r := newDecoder(false).decode(f, len(f), layers.LinkTypeEthernet, &p); r != decodedIP {
			t.Fatalf("next header %d: %v, want decoded IP", c.next, r)
		}
		if p.ipLen != 40 || p.l4Len != 0 || p.capLen != 0 || p.proto != c.proto {
			t.Errorf("next header %d: ipLen %d l4Len %d capLen %d proto %d; want 40, 0, 0, %d",
				c.next, p.ipLen, p.l4Len, p.capLen, p.proto, c.proto)
		}
	}
	f[14+6] = 43 // a routing header does not fit in 40 bytes: invalid_IP_header_size
	var p packet
	if r := newDecoder(false).decode(f, len(f), layers.LinkTypeEthernet, &p); r != droppedIP {
		t.Errorf("routing header in a zero-length payload: %v, want dropped", r)
	}
}

// TestPcapngLinkTypes reads a pcapng file whose interfaces have different link
// types: each packet is decoded with its own interface's.
func TestPcapngLinkTypes(t *testing.T) {
	eth := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80, seq: 7, flags: flagSYN}.build(t)
	raw := testSeg{src: testCli6, dst: testSrv6, sport: 40001, dport: 443, seq: 7, flags: flagSYN}.build(t)[14:]
	ppp := slices.Concat([]byte{0xff, 0x03, 0, 0x21}, testSeg{src: testCli4, dst: testSrv4, sport: 40002, dport: 22, seq: 7, flags: flagSYN}.build(t)[14:54])
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rawID, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	pppID, err := w.AddInterface(pcapgo.NgInterface{LinkType: linkTypePPPHDLC, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []struct {
		data []byte
		intf int
	}{{eth, 0}, {raw, rawID}, {ppp, pppID}} {
		ci := testCI(f.data, testEpoch.Add(time.Duration(i)*time.Second))
		ci.InterfaceIndex = f.intf
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "multi.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var ports []uint16
	tr := New(Config{}, Handlers{Remove: func(r *Record) { ports = append(ports, r.RespP) }})
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []uint16{22, 80, 443}) {
		t.Errorf("connections to ports %v, want 22, 80 and 443", ports)
	}
}

// TestPPPoEPadding: the bytes after a PPPoE payload (Ethernet padding) are not
// captured data, also when the IP header claims them (oracle l2-pppoe-over-qinq: a
// bare ACK whose IP length counts 6 bytes of padding); the segment counts, but
// its "payload" is not delivered.
func TestPPPoEPadding(t *testing.T) {
	ack := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 443, seq: 7, ack: 9, flags: flagACK}.build(t)
	ip := bytes.Clone(ack[14 : 14+40])                          // the IPv4 and TCP headers, not the frame's own padding
	binary.BigEndian.PutUint16(ip[2:4], uint16(len(ip)+6))      // the IP length counts the padding
	hdr := []byte{0x11, 0, 0, 1, 0, byte(2 + len(ip)), 0, 0x21} // PPPoE: the real payload length
	frame := slices.Concat(ack[:12], []byte{0x88, 0x64}, hdr, ip, make([]byte, 6))
	var p packet
	d := newDecoder(true)
	d.frame(frame, testCI(frame, testEpoch), layers.LinkTypeEthernet, &p)
	if p.res != decodedIP || p.l4Len != 26 || p.capLen != 20 {
		t.Errorf("result %d, l4Len %d, capLen %d; want decoded IP, 26, 20", p.res, p.l4Len, p.capLen)
	}
}
