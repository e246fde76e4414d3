package tracker

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// FuzzDecode feeds arbitrary frames of every supported link type through the decoder
// and the connection table: nothing may panic.
func FuzzDecode(f *testing.F) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	seeds := []testSeg{
		{src: a, dst: b, sport: 1234, dport: 80, flags: flagSYN, seq: 7},
		{src: a, dst: b, sport: 1234, dport: 53, udp: true, payload: []byte("query")},
		{src: a6, dst: b6, sport: 1234, dport: 443, flags: flagACK, payload: []byte("data")},
		{src: a, dst: b, sport: 1, dport: 2, vlan: true, flags: flagFIN | flagACK},
	}
	links := []layers.LinkType{linkTypeEth, linkTypeLinSLL, linkTypeSLL2, linkTypeNull, linkTypeRawIP, linkTypeIPv4, linkTypeIPv6}
	for _, s := range seeds {
		frame := s.build(f)
		for i := range links {
			f.Add(uint8(i), frame)
			f.Add(uint8(i), frame[14:])
		}
	}
	f.Fuzz(func(t *testing.T, li uint8, frame []byte) {
		tr := New(Config{UIDSeed: 1}, func(*Record) {})
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1e9, 0), CaptureLength: len(frame), Length: len(frame)}
		link := links[int(li)%len(links)]
		tr.Packet(frame, ci, link)
		ci.Timestamp = ci.Timestamp.Add(time.Second)
		tr.Packet(frame, ci, link)
		tr.Flush()
	})
}

// FuzzFileSource reads arbitrary bytes as a capture file: it may fail, never panic,
// and must end with io.EOF, ErrTruncated or another error.
func FuzzFileSource(f *testing.F) {
	s := testSeg{src: netip.MustParseAddr("10.0.0.1"), dst: netip.MustParseAddr("10.0.0.2"),
		sport: 1, dport: 80, flags: flagSYN}
	frame := s.build(f)
	f.Add(testPcap(f, layers.LinkTypeEthernet, frame, frame))
	f.Add(testPcapng(f, layers.LinkTypeEthernet, frame))
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a})
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewFileSource(bytes.NewReader(data))
		if err != nil {
			return
		}
		tr := New(Config{UIDSeed: 1}, func(*Record) {})
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
	f.Fuzz(func(t *testing.T, prog []byte) {
		a, b := netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("10.1.1.1")
		var recs []Record
		tr := New(Config{UIDSeed: 1}, func(r *Record) { recs = append(recs, *r) })
		seq := [2]uint32{1000, 5000}
		ts := time.Unix(1.5e9, 0)
		n := 0
		for len(prog) >= 5 && n < 200 {
			dir, flags, dseq, dack, plen := prog[0]&1, prog[1]&0x1f, prog[2], prog[3], int(prog[4]%64)
			prog = prog[5:]
			s := testSeg{src: a, dst: b, sport: 40000, dport: 22, flags: flags, window: 512,
				seq: seq[dir] + uint32(dseq), ack: seq[dir^1] + uint32(dack), payload: make([]byte, plen)}
			if dir == 1 {
				s.src, s.dst, s.sport, s.dport = b, a, 22, 40000
			}
			seq[dir] += uint32(plen)
			frame := s.build(t)
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
	})
}
