package tracker

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// FuzzDecode feeds arbitrary frames of every supported link type through the decoder
// and the connection table: nothing may panic, and the decoder must decide every
// frame as the reference decoder (gopacket's layers) does. The high nibble of li
// makes the frame longer on the wire than captured.
func FuzzDecode(f *testing.F) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	seeds := []testSeg{
		{src: a, dst: b, sport: 1234, dport: 80, flags: flagSYN, seq: 7},
		{src: a, dst: b, sport: 1234, dport: 53, udp: true, payload: []byte("query")},
		{src: a6, dst: b6, sport: 1234, dport: 443, flags: flagACK, payload: []byte("data")},
		{src: a, dst: b, sport: 1, dport: 2, vlan: true, flags: flagFIN | flagACK},
	}
	links := []layers.LinkType{linkTypeEth, linkTypeLinSLL, linkTypeSLL2, linkTypeNull, linkTypeRawIP, linkTypeIPv4, linkTypeIPv6,
		linkTypePPP, linkTypePPPHDLC, linkTypeFDDI, linkTypeDot11, linkTypeRadio}
	for _, s := range seeds {
		frame := s.build(f)
		for i := range links {
			f.Add(uint8(i), frame)
			f.Add(uint8(i), frame[14:])
		}
	}
	// Tunnels and fragments, which continue a frame's packet chain.
	inner := seeds[1].build(f)
	f.Add(uint8(0), outerUDP(f, 50000, 4789, append([]byte{0x08, 0, 0, 0, 0, 0, 42, 0}, inner...)))
	f.Add(uint8(0), outerIP(f, 47, append([]byte{0, 0, 0x65, 0x58}, inner...)))
	f.Add(uint8(0), outerIP(f, 4, inner[14:]))
	big := testSeg{src: a, dst: b, sport: 1234, dport: 53, udp: true, payload: make([]byte, 100)}.build(f)
	for _, frag := range fragment4(f, big, 48) {
		f.Add(uint8(0), frag)
	}
	pairs := []*decoderPair{newDecoderPair(false), newDecoderPair(true)}
	f.Fuzz(func(t *testing.T, li uint8, frame []byte) {
		// No spare capacity: gopacket's LinuxSLL slices its address within
		// cap(frame), which would differ between fuzzing and replaying a corpus file.
		frame = frame[:len(frame):len(frame)]
		tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(*Record) {}})
		link := links[int(li&0x0f)%len(links)]
		wire := len(frame) + int(li>>4)*100
		for _, dp := range pairs {
			if d := dp.diff(frame, wire, link); d != "" {
				t.Fatalf("link %d, -C %v, %d bytes on the wire: %s", link, dp.d.ignoreChecksums, wire, d)
			}
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1e9, 0), CaptureLength: len(frame), Length: wire}
		tr.Packet(frame, ci, link)
		ci.Timestamp = ci.Timestamp.Add(time.Second)
		tr.Packet(frame, ci, link)
		tr.Flush()
	})
}

// FuzzFileSource reads arbitrary bytes as a capture file: it may fail, never panic,
// and must end with io.EOF, ErrTruncated or another error. Classic pcap files must
// read exactly as pcapgo reads them.
func FuzzFileSource(f *testing.F) {
	s := testSeg{src: netip.MustParseAddr("10.0.0.1"), dst: netip.MustParseAddr("10.0.0.2"),
		sport: 1, dport: 80, flags: flagSYN}
	frame := s.build(f)
	f.Add(testPcap(f, layers.LinkTypeEthernet, frame, frame))
	f.Add(testPcapng(f, layers.LinkTypeEthernet, frame))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, size := range []int{fileReadBuffer, 64} {
			if d := pcapReaderDiff(data, size); d != "" {
				t.Fatalf("buffer %d: %s", size, d)
			}
		}
		src, err := NewFileSource(bytes.NewReader(data))
		if err != nil {
			return
		}
		tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(*Record) {}})
		for i := 0; i < 10000; i++ {
			d, ci, link, err := src.ReadPacket()
			if err != nil {
				if err == io.EOF || err == ErrTruncated {
					break
				}
				break
			}
			tr.Packet(d, ci, link)
		}
		tr.Flush()
	})
}

var tcpStates = map[string]bool{"S0": true, "S1": true, "SF": true, "REJ": true, "S2": true, "S3": true,
	"RSTO": true, "RSTR": true, "RSTOS0": true, "RSTRH": true, "SH": true, "SHR": true, "OTH": true}

// FuzzTCPStateMachine plays arbitrary sequences of TCP segments between two endpoints:
// every valid segment must be counted in exactly one record, and every record must be
// well formed.
func FuzzTCPStateMachine(f *testing.F) {
	f.Add([]byte{0, 0x02, 0, 0, 0, 1, 0x12, 0, 0, 0, 0, 0x10, 1, 0, 5, 0, 0x11, 2, 0, 0, 1, 0x11, 0, 0, 0})
	f.Add([]byte{0, 0x02, 0, 0, 0, 1, 0x04, 0, 0, 0})
	f.Add([]byte{1, 0x10, 9, 200, 40, 0, 0x18, 3, 3, 30, 1, 0x14, 0, 0, 0})
	f.Fuzz(runTCPProgram)
}

// runTCPProgram plays a FuzzTCPStateMachine program, 5 bytes per segment: direction
// (bit 0), flags (FIN, SYN, RST, PSH, ACK in bits 0-4; bit 5 advertises a zero
// window), sequence and acknowledgement offsets (the first also advances time by
// that many 10 ms steps), payload length (mod 64). Then it checks the records.
func runTCPProgram(t *testing.T, prog []byte) {
	var recs []Record
	tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(r *Record) { recs = append(recs, *r) }})
	hosts := [2][4]byte{{192, 168, 1, 1}, {10, 1, 1, 1}}
	ports := [2]uint16{40000, 22}
	seq := [2]uint32{1000, 5000}
	ts := time.Unix(1.5e9, 0)
	var frame []byte
	n := 0
	for len(prog) >= 5 && n < 200 {
		dir, flags, dseq, dack, plen := int(prog[0]&1), prog[1], prog[2], prog[3], int(prog[4]%64)
		prog = prog[5:]
		win := uint16(512)
		if flags&0x20 != 0 {
			win = 0
		}
		frame = appendTCPFrame(frame[:0], hosts[dir], hosts[dir^1], ports[dir], ports[dir^1],
			seq[dir]+uint32(dseq), seq[dir^1]+uint32(dack), flags&0x1f, win, plen)
		seq[dir] += uint32(plen)
		ts = ts.Add(time.Duration(dseq) * 10 * time.Millisecond)
		tr.Packet(frame, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, layers.LinkTypeEthernet)
		n++
	}
	tr.Flush()
	var pkts uint64
	for _, r := range recs {
		pkts += r.OrigPkts + r.RespPkts
		if !tcpStates[r.ConnState] {
			t.Errorf("conn_state %q is not a Zeek TCP state", r.ConnState)
		}
		if r.Duration < 0 || (r.HasDuration && r.Duration == 0) {
			t.Errorf("bad duration %v (set %v)", r.Duration, r.HasDuration)
		}
		if r.Proto != ProtoTCP {
			t.Errorf("proto %v", r.Proto)
		}
	}
	if pkts != uint64(n) {
		t.Errorf("%d segments sent, %d counted in %d records", n, pkts, len(recs))
	}
}

// appendTCPFrame appends an Ethernet/IPv4/TCP frame with plen zero bytes of payload
// and correct checksums. The fuzzer builds frames by hand: gopacket's serializer
// would take most of its time.
func appendTCPFrame(buf []byte, src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, plen int) []byte {
	buf = append(buf, 2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00)
	ip := len(buf)
	buf = append(buf, 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0)
	buf = append(buf, src[:]...)
	buf = append(buf, dst[:]...)
	tcp := len(buf)
	buf = binary.BigEndian.AppendUint16(buf, sport)
	buf = binary.BigEndian.AppendUint16(buf, dport)
	buf = binary.BigEndian.AppendUint32(buf, seq)
	buf = binary.BigEndian.AppendUint32(buf, ack)
	buf = append(buf, 5<<4, flags)
	buf = binary.BigEndian.AppendUint16(buf, win)
	buf = append(buf, 0, 0, 0, 0)
	buf = append(buf, make([]byte, plen)...)
	binary.BigEndian.PutUint16(buf[ip+2:], uint16(len(buf)-ip))
	binary.BigEndian.PutUint16(buf[ip+10:], ^fold16(sum16(0, buf[ip:tcp])))
	pseudo := sum16(sum16(0, src[:]), dst[:]) + 6 + uint32(len(buf)-tcp)
	binary.BigEndian.PutUint16(buf[tcp+16:], ^fold16(sum16(pseudo, buf[tcp:])))
	return buf
}

// sum16 adds b to a ones'-complement sum of big-endian 16-bit words.
func sum16(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func fold16(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
