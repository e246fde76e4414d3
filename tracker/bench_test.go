package tracker

import (
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// Benchmarks of the per-packet hot path. The end-to-end throughput benchmarks over
// capture files are in internal/bench.

// benchShapes are the frame shapes BenchmarkDecode measures.
func benchShapes(b *testing.B) []struct {
	name  string
	frame []byte
} {
	payload := make([]byte, 512)
	return []struct {
		name  string
		frame []byte
	}{
		{"ipv4-tcp", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80, seq: 1, ack: 1,
			flags: flagACK, payload: payload}.build(b)},
		{"ipv6-tcp", testSeg{src: testCli6, dst: testSrv6, sport: 40000, dport: 80, seq: 1, ack: 1,
			flags: flagACK, payload: payload}.build(b)},
		{"ipv4-udp", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 53, udp: true,
			payload: payload[:64]}.build(b)},
		{"vlan-ipv4-tcp", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80, seq: 1, ack: 1,
			flags: flagACK, payload: payload, vlan: true}.build(b)},
	}
}

// BenchmarkDecode measures the decoder alone: link, IP and transport headers of one
// frame into a packet (checksums included).
func BenchmarkDecode(b *testing.B) {
	for _, s := range benchShapes(b) {
		b.Run(s.name, func(b *testing.B) {
			d := newDecoder(false)
			var p packet
			b.ReportAllocs()
			b.SetBytes(int64(len(s.frame)))
			for b.Loop() {
				if r := d.decode(s.frame, len(s.frame), layers.LinkTypeEthernet, &p); r != decodedIP {
					b.Fatalf("decode: %d", r)
				}
			}
		})
	}
}

// BenchmarkPacketEstablished measures Packet on an established TCP connection: a
// 512-byte data segment and its ACK per iteration (two packets).
func BenchmarkPacketEstablished(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		name, cli := "ipv4", testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 80}
		if v6 {
			name, cli = "ipv6", testSeg{src: testCli6, dst: testSrv6, sport: 40000, dport: 80}
		}
		b.Run(name, func(b *testing.B) {
			const cseq, sseq, size = 1000, 900000, 512
			tr := New(Config{UIDSeed: 1}, Handlers{})
			ts := testEpoch
			for _, f := range testHandshake(b, cli, cseq, sseq) {
				tr.Packet(f, testCI(f, ts), layers.LinkTypeEthernet)
			}
			data := cli
			data.seq, data.ack, data.flags, data.payload = cseq+1, sseq+1, flagACK, make([]byte, size)
			ack := cli.reverse()
			ack.seq, ack.ack, ack.flags = sseq+1, cseq+1+size, flagACK
			dataFrame, ackFrame := data.build(b), ack.build(b)
			seq := uint32(cseq + 1)
			b.ReportAllocs()
			b.SetBytes(int64(len(dataFrame) + len(ackFrame)))
			for b.Loop() {
				setTCPSeqAck(dataFrame, seq, sseq+1)
				setTCPSeqAck(ackFrame, sseq+1, seq+size)
				seq += size
				ts = ts.Add(time.Microsecond)
				tr.Packet(dataFrame, testCI(dataFrame, ts), layers.LinkTypeEthernet)
				tr.Packet(ackFrame, testCI(ackFrame, ts), layers.LinkTypeEthernet)
			}
		})
	}
}

// BenchmarkNewConnections measures the life of a short connection: handshake, FIN
// teardown (seven packets) and, five seconds of packet time later, its removal and
// record. Every iteration is a new connection (client port and sequence numbers
// change); packet time advances 20µs per packet, so about 36k closed connections
// wait for their close timer at any time.
func BenchmarkNewConnections(b *testing.B) {
	const cseq, sseq = 1000, 900000
	cli := testSeg{src: testCli4, dst: testSrv4, sport: 1, dport: 80}
	srv := cli.reverse()
	seg := func(s testSeg, seq, ack uint32, flags uint8) []byte {
		s.seq, s.ack, s.flags = seq, ack, flags
		return s.build(b)
	}
	frames := [][]byte{
		seg(cli, cseq, 0, flagSYN),
		seg(srv, sseq, cseq+1, flagSYN|flagACK),
		seg(cli, cseq+1, sseq+1, flagACK),
		seg(cli, cseq+1, sseq+1, flagFIN|flagACK),
		seg(srv, sseq+1, cseq+2, flagACK),
		seg(srv, sseq+1, cseq+2, flagFIN|flagACK),
		seg(cli, cseq+2, sseq+2, flagACK),
	}
	records := 0
	tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(*Record) { records++ }})
	ts := testEpoch
	port := uint16(1)
	b.ReportAllocs()
	for b.Loop() {
		port++
		if port == 0 {
			port = 1
		}
		for i, f := range frames {
			_, l4 := testL4Offset(f)
			if i == 0 || i == 2 || i == 3 || i == 6 {
				setPort(f, l4, port)
			} else {
				setPort(f, l4+2, port)
			}
			ts = ts.Add(20 * time.Microsecond)
			tr.Packet(f, testCI(f, ts), layers.LinkTypeEthernet)
		}
	}
	b.StopTimer()
	tr.Flush()
	if records != b.N {
		b.Fatalf("%d records for %d connections", records, b.N)
	}
}

// setPort rewrites the 16-bit port at off of a TCP frame and updates the checksum.
func setPort(frame []byte, off int, port uint16) {
	_, l4 := testL4Offset(frame)
	patch16(frame, l4+16, off, port)
}

// BenchmarkFrame measures the decoding of one frame as Run does it: the frame's own
// packet, then the packets inside it (none for these shapes).
func BenchmarkFrame(b *testing.B) {
	for _, s := range benchShapes(b) {
		b.Run(s.name, func(b *testing.B) {
			d := newDecoder(false)
			var p packet
			ci := testCI(s.frame, testEpoch)
			b.ReportAllocs()
			b.SetBytes(int64(len(s.frame)))
			for b.Loop() {
				d.frame(s.frame, ci, layers.LinkTypeEthernet, &p)
				for d.next(&p) {
				}
			}
		})
	}
}
