package benchgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

const (
	snaplen       = 65535
	writeBuffer   = 1 << 20
	elephantSeg4  = 1448 // the usual full-size segment: 1500-byte MTU, room for TCP timestamps
	elephantSeg6  = 1428 // the same for IPv6
	echoPayload   = 56
	patternLen    = 64 << 10
	webServers    = 1000 // per address family
	dnsServers    = 4    // per address family
	ephemeralLow  = 32768
	ephemeralHigh = 60999
)

// The capture is taken next to the clients: originators send to the router's MAC.
var (
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	routerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

// startMicros is the packet time of the first packet: 2024-01-01T00:00:00Z.
const startMicros = 1704067200 * 1e6

// TCP flags in a step.
const (
	flagFIN = 1 << iota
	flagSYN
	flagRST
	flagPSH
	flagACK
)

type kind uint8

const (
	kindTCP      kind = iota // short request/response connection
	kindElephant             // long bulk connection
	kindUDP                  // DNS-like query and response
	kindICMP                 // echo requests and replies
	kindOpen                 // handshake only; the connection stays open (OpenConns)
)

// step is one packet of a flow's script.
type step struct {
	server bool  // sent by the responder
	flags  uint8 // TCP flags
	size   uint16
}

// flow is an active flow: its endpoints, its script and how far it has got.
type flow struct {
	kind         kind
	v6           bool
	cli, srv     net.IP
	cport, sport uint16
	id           uint16    // DNS transaction id or ICMP echo identifier
	nxt          [2]uint32 // TCP: next sequence number of the originator [0] and responder [1]
	steps        []step
	pos          int
}

// tuple identifies a flow, to keep the flows of one capture distinct.
type tuple struct {
	cli, srv     [16]byte
	cport, sport uint16
	proto        uint8
}

// packetWriter is where generated packets go: a pcapgo.Writer or memory.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// gen builds packets. It reuses one set of layers and one serialize buffer, so
// a packet costs a serialization and a write, and no allocation.
type gen struct {
	rng     *rand.Rand
	out     packetWriter
	gapSpan int   // gaps are 1 + rng.IntN(gapSpan) microseconds
	now     int64 // microseconds since startMicros
	first   int64 // now at the first packet
	sum     Summary

	buf     gopacket.SerializeBuffer
	opts    gopacket.SerializeOptions
	eth     layers.Ethernet
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	echo6   layers.ICMPv6Echo
	payload gopacket.Payload
	layers  []gopacket.SerializableLayer
	synOpts [2][]layers.TCPOption // SYN options for IPv4 and IPv6
	ipID    uint16

	pattern []byte // random bytes payloads are cut from
	scratch []byte // payloads that need a header written into them

	web4, web6, dns4, dns6 []net.IP
	used                   map[tuple]struct{}
	kindCount              [kindOpen + 1]int // flows started per kind
	free                   []*flow
}

// Write generates the capture wl describes with the given seed and writes it to
// w as a classic pcap file. The same workload and seed always give the same
// bytes.
func Write(w io.Writer, wl Workload, seed uint64) (Summary, error) {
	if err := wl.validate(); err != nil {
		return Summary{}, err
	}
	bw := bufio.NewWriterSize(w, writeBuffer)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		return Summary{}, fmt.Errorf("benchgen: write pcap header: %w", err)
	}
	g := newGen(seed, pw, wl.MeanGap)
	if err := g.run(wl); err != nil {
		return g.sum, fmt.Errorf("benchgen: write packet: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return g.sum, fmt.Errorf("benchgen: write packet: %w", err)
	}
	return g.sum, nil
}

func newGen(seed uint64, out packetWriter, meanGap time.Duration) *gen {
	g := &gen{
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		out:     out,
		gapSpan: max(1, 2*int(meanGap/time.Microsecond)-1),
		buf:     gopacket.NewSerializeBufferExpectedSize(64, 1500),
		opts:    gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		layers:  make([]gopacket.SerializableLayer, 0, 5),
		scratch: make([]byte, 1500),
		used:    make(map[tuple]struct{}),
		synOpts: [2][]layers.TCPOption{synOptions(1460), synOptions(1440)},
	}
	g.pattern = make([]byte, patternLen)
	for i := 0; i < patternLen; i += 8 {
		binary.LittleEndian.PutUint64(g.pattern[i:], g.rng.Uint64())
	}
	for range webServers {
		g.web4 = append(g.web4, g.addr4())
		g.web6 = append(g.web6, g.addr6())
	}
	for range dnsServers {
		g.dns4 = append(g.dns4, g.addr4())
		g.dns6 = append(g.dns6, g.addr6())
	}
	g.ip4 = layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment}
	g.ip6 = layers.IPv6{Version: 6, HopLimit: 64}
	return g
}

// run interleaves the workload's flows: it keeps up to wl.Concurrency flows
// active and sends the next packet of a random one, until every flow is done.
func (g *gen) run(wl Workload) error {
	remaining := [...]int{kindTCP: wl.TCPConns, kindElephant: wl.Elephants, kindUDP: wl.UDPFlows, kindICMP: wl.ICMPFlows}
	left := wl.flows()
	active := make([]*flow, 0, wl.Concurrency)
	for {
		for len(active) < wl.Concurrency && left > 0 {
			// Pick the kind in proportion to what remains, so kinds stay mixed.
			r := g.rng.IntN(left)
			k := kindTCP
			for r >= remaining[k] {
				r -= remaining[k]
				k++
			}
			remaining[k]--
			left--
			active = append(active, g.newFlow(k, wl))
		}
		if len(active) == 0 {
			return nil
		}
		i := g.rng.IntN(len(active))
		f := active[i]
		if err := g.emit(f); err != nil {
			return err
		}
		if f.pos == len(f.steps) {
			last := len(active) - 1
			active[i] = active[last]
			active[last] = nil
			active = active[:last]
			g.free = append(g.free, f)
		}
	}
}

// newFlow starts a flow of kind k with distinct endpoints and its script.
func (g *gen) newFlow(k kind, wl Workload) *flow {
	var f *flow
	if n := len(g.free); n > 0 {
		f = g.free[n-1]
		g.free = g.free[:n-1]
		*f = flow{steps: f.steps[:0]}
	} else {
		f = &flow{}
	}
	idx := g.kindCount[k]
	g.kindCount[k]++
	// Exactly IPv6Percent of each kind, spread evenly.
	f.kind = k
	f.v6 = (idx+1)*wl.IPv6Percent/100 > idx*wl.IPv6Percent/100
	for {
		var proto uint8
		switch k {
		case kindTCP, kindElephant, kindOpen:
			proto = uint8(layers.IPProtocolTCP)
			f.srv = g.pick(f.v6, g.web4, g.web6)
			switch r := g.rng.IntN(10); {
			case r < 6:
				f.sport = 443
			case r < 9:
				f.sport = 80
			default:
				f.sport = 8080
			}
		case kindUDP:
			proto = uint8(layers.IPProtocolUDP)
			f.srv = g.pick(f.v6, g.dns4, g.dns6)
			f.sport = 53
		case kindICMP:
			proto = uint8(layers.IPProtocolICMPv4)
			f.srv = g.pick(f.v6, g.web4, g.web6)
		}
		if f.v6 {
			f.cli = g.addr6()
		} else {
			f.cli = g.addr4()
		}
		f.id = uint16(g.rng.Uint32())
		if k == kindICMP {
			f.cport = f.id
		} else {
			f.cport = uint16(ephemeralLow + g.rng.IntN(ephemeralHigh-ephemeralLow+1))
		}
		t := tuple{cport: f.cport, sport: f.sport, proto: proto}
		copy(t.cli[:], f.cli.To16())
		copy(t.srv[:], f.srv.To16())
		if _, dup := g.used[t]; !dup {
			g.used[t] = struct{}{}
			break
		}
	}
	f.nxt = [2]uint32{g.rng.Uint32(), g.rng.Uint32()}

	s := f.steps[:0]
	switch k {
	case kindTCP:
		g.sum.TCPConns++
		s = handshake(s)
		for range 1 + g.rng.IntN(3) {
			s = append(s, step{false, flagPSH | flagACK, g.segSize()}, step{true, flagACK, 0})
		}
		for range 1 + g.rng.IntN(3) {
			s = append(s, step{true, flagPSH | flagACK, g.segSize()}, step{false, flagACK, 0})
		}
		s = teardown(s)
	case kindElephant:
		g.sum.TCPConns++
		s = handshake(s)
		sender := idx%2 == 0 // even: download, odd: upload
		for range wl.ElephantSegments {
			seg := uint16(elephantSeg4)
			if f.v6 {
				seg = elephantSeg6
			}
			s = append(s, step{sender, flagACK, seg}, step{!sender, flagACK, 0})
		}
		s = teardown(s)
	case kindOpen:
		g.sum.TCPConns++
		s = handshake(s)
	case kindUDP:
		g.sum.UDPFlows++
		s = append(s, step{false, 0, uint16(40 + g.rng.IntN(41))}, step{true, 0, uint16(100 + g.rng.IntN(301))})
	case kindICMP:
		g.sum.ICMPFlows++
		for range 1 + g.rng.IntN(4) {
			s = append(s, step{false, 0, echoPayload}, step{true, 0, echoPayload})
		}
	}
	f.steps = s
	return f
}

// synOptions returns the options of a SYN: MSS mss, NOP, window scale 7.
func synOptions(mss uint16) []layers.TCPOption {
	return []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{byte(mss >> 8), byte(mss)}},
		{OptionType: layers.TCPOptionKindNop},
		{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{7}},
	}
}

func handshake(s []step) []step {
	return append(s, step{false, flagSYN, 0}, step{true, flagSYN | flagACK, 0}, step{false, flagACK, 0})
}

func teardown(s []step) []step {
	return append(s, step{false, flagFIN | flagACK, 0}, step{true, flagFIN | flagACK, 0}, step{false, flagACK, 0})
}

// segSize is the payload size of a short connection's data segment.
func (g *gen) segSize() uint16 { return uint16(50 + g.rng.IntN(1351)) }

func (g *gen) pick(v6 bool, pool4, pool6 []net.IP) net.IP {
	if v6 {
		return pool6[g.rng.IntN(len(pool6))]
	}
	return pool4[g.rng.IntN(len(pool4))]
}

// addr4 returns a random host address in 10.0.0.0/8 (last octet 1–254).
func (g *gen) addr4() net.IP {
	r := g.rng.Uint32()
	return net.IP{10, byte(r >> 16), byte(r >> 8), byte(1 + r%254)}
}

// addr6 returns a random address in 2001:db8::/32.
func (g *gen) addr6() net.IP {
	ip := make(net.IP, 16)
	ip[0], ip[1], ip[2], ip[3] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint32(ip[4:], g.rng.Uint32())
	binary.BigEndian.PutUint64(ip[8:], g.rng.Uint64())
	return ip
}

// emit sends the next packet of f's script.
func (g *gen) emit(f *flow) error {
	st := f.steps[f.pos]
	seqNo := uint16(f.pos/2 + 1) // ICMP echo sequence number
	f.pos++
	g.now += 1 + int64(g.rng.IntN(g.gapSpan))

	src, dst, sport, dport, side := f.cli, f.srv, f.cport, f.sport, 0
	if st.server {
		src, dst, sport, dport, side = f.srv, f.cli, f.sport, f.cport, 1
	}
	g.eth.SrcMAC, g.eth.DstMAC = clientMAC, routerMAC
	if st.server {
		g.eth.SrcMAC, g.eth.DstMAC = routerMAC, clientMAC
	}
	ls := append(g.layers[:0], &g.eth)
	var network gopacket.NetworkLayer
	var proto layers.IPProtocol
	switch {
	case f.kind == kindUDP:
		proto = layers.IPProtocolUDP
	case f.kind == kindICMP && f.v6:
		proto = layers.IPProtocolICMPv6
	case f.kind == kindICMP:
		proto = layers.IPProtocolICMPv4
	default:
		proto = layers.IPProtocolTCP
	}
	if f.v6 {
		g.eth.EthernetType = layers.EthernetTypeIPv6
		g.ip6.SrcIP, g.ip6.DstIP, g.ip6.NextHeader = src, dst, proto
		network = &g.ip6
		ls = append(ls, &g.ip6)
	} else {
		g.eth.EthernetType = layers.EthernetTypeIPv4
		g.ipID++
		g.ip4.SrcIP, g.ip4.DstIP, g.ip4.Protocol, g.ip4.Id = src, dst, proto, g.ipID
		network = &g.ip4
		ls = append(ls, &g.ip4)
	}

	payload := g.pattern[:0]
	if st.size > 0 && f.kind != kindUDP {
		off := g.rng.IntN(patternLen - int(st.size))
		payload = g.pattern[off : off+int(st.size)]
	}
	switch proto {
	case layers.IPProtocolTCP:
		t := &g.tcp
		t.SrcPort, t.DstPort = layers.TCPPort(sport), layers.TCPPort(dport)
		t.Seq = f.nxt[side]
		t.Ack = 0
		t.FIN, t.SYN, t.RST = st.flags&flagFIN != 0, st.flags&flagSYN != 0, st.flags&flagRST != 0
		t.PSH, t.ACK = st.flags&flagPSH != 0, st.flags&flagACK != 0
		if t.ACK {
			t.Ack = f.nxt[1-side]
		}
		t.Window = 502 + uint16(side)*7
		t.Options, t.Padding = nil, nil
		if t.SYN {
			t.Options = g.synOpts[0]
			if f.v6 {
				t.Options = g.synOpts[1]
			}
			t.Window = 64240
		}
		f.nxt[side] += uint32(st.size)
		if t.SYN {
			f.nxt[side]++
		}
		if t.FIN {
			f.nxt[side]++
		}
		if err := t.SetNetworkLayerForChecksum(network); err != nil {
			return err
		}
		ls = append(ls, t)
	case layers.IPProtocolUDP:
		g.udp.SrcPort, g.udp.DstPort = layers.UDPPort(sport), layers.UDPPort(dport)
		if err := g.udp.SetNetworkLayerForChecksum(network); err != nil {
			return err
		}
		ls = append(ls, &g.udp)
		payload = g.dnsPayload(f, int(st.size), st.server)
	case layers.IPProtocolICMPv4:
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if st.server {
			typ = layers.ICMPv4TypeEchoReply
		}
		g.icmp4.TypeCode = layers.CreateICMPv4TypeCode(typ, 0)
		g.icmp4.Id, g.icmp4.Seq = f.id, seqNo
		ls = append(ls, &g.icmp4)
	case layers.IPProtocolICMPv6:
		typ := uint8(layers.ICMPv6TypeEchoRequest)
		if st.server {
			typ = layers.ICMPv6TypeEchoReply
		}
		g.icmp6.TypeCode = layers.CreateICMPv6TypeCode(typ, 0)
		if err := g.icmp6.SetNetworkLayerForChecksum(network); err != nil {
			return err
		}
		g.echo6.Identifier, g.echo6.SeqNumber = f.id, seqNo
		ls = append(ls, &g.icmp6, &g.echo6)
	}
	if len(payload) > 0 {
		g.payload = payload
		ls = append(ls, &g.payload)
	}
	g.layers = ls

	if err := gopacket.SerializeLayers(g.buf, g.opts, ls...); err != nil {
		return err
	}
	data := g.buf.Bytes()
	if g.sum.Packets == 0 {
		g.first = g.now
	}
	g.sum.Duration = time.Duration(g.now-g.first) * time.Microsecond
	g.sum.Packets++
	g.sum.Bytes += uint64(len(data))
	ci := gopacket.CaptureInfo{
		Timestamp:     time.UnixMicro(startMicros + g.now).UTC(),
		CaptureLength: len(data),
		Length:        len(data),
	}
	if err := g.out.WritePacket(ci, data); err != nil {
		return err
	}
	return nil
}

// dnsPayload builds a well-formed DNS message of size bytes in scratch: the
// query asks a TXT question whose name is derived from the flow's id and query
// size, and the response repeats the question and answers it with TXT strings
// that fill the rest of the message.
func (g *gen) dnsPayload(f *flow, size int, response bool) []byte {
	b := g.scratch[:size]
	clear(b[:12])
	binary.BigEndian.PutUint16(b[0:], f.id)
	binary.BigEndian.PutUint16(b[2:], 0x0100) // standard query, recursion desired
	binary.BigEndian.PutUint16(b[4:], 1)      // qdcount
	// Question: <label>.com TXT IN, qsize-12 bytes, the label taking the rest.
	qsize := int(f.steps[0].size)
	n := qsize - 12 - 4 - 5 - 1 // type+class, "\x03com\x00", label length byte
	b[12] = byte(n)
	for i := range n {
		b[13+i] = 'a' + g.pattern[(int(f.id)+i)%patternLen]%26
	}
	o := 13 + n
	o += copy(b[o:], "\x03com\x00\x00\x10\x00\x01")
	if !response {
		return b
	}
	binary.BigEndian.PutUint16(b[2:], 0x8180) // response, RD, RA, no error
	binary.BigEndian.PutUint16(b[6:], 1)      // ancount
	// Answer: name pointer to the question, TXT IN, TTL 300, rdata of TXT strings.
	o += copy(b[o:], "\xc0\x0c\x00\x10\x00\x01\x00\x00\x01\x2c")
	rdlen := size - o - 2
	binary.BigEndian.PutUint16(b[o:], uint16(rdlen))
	o += 2
	for o < size {
		l := min(255, size-o-1)
		b[o] = byte(l)
		copy(b[o+1:o+1+l], g.pattern[o:])
		o += 1 + l
	}
	return b
}
