package benchgen

import (
	"time"

	"github.com/google/gopacket"
)

// Packet is one generated packet held in memory.
type Packet struct {
	Data []byte
	CI   gopacket.CaptureInfo
}

// OpenConns returns the packets of n distinct TCP connections that are opened
// and left open: SYN, SYN-ACK and ACK for each, one connection after another,
// 1µs apart (so the whole set spans 3n microseconds of packet time). 10% of the
// connections are IPv6. Memory benchmarks feed these to a connection table and
// measure what it holds afterwards. Packet data shares a few large arrays.
func OpenConns(n int, seed uint64) []Packet {
	m := &memWriter{pkts: make([]Packet, 0, 3*n)}
	g := newGen(seed, m, time.Microsecond)
	wl := Workload{IPv6Percent: 10}
	for range n {
		f := g.newFlow(kindOpen, wl)
		for f.pos < len(f.steps) {
			if err := g.emit(f); err != nil {
				panic("benchgen: " + err.Error()) // serializing fixed, valid layers cannot fail
			}
		}
		g.free = append(g.free, f)
	}
	return m.pkts
}

// memWriter keeps packets in memory, copying their data into shared chunks.
type memWriter struct {
	chunk []byte
	pkts  []Packet
}

const memChunk = 1 << 20

func (m *memWriter) WritePacket(ci gopacket.CaptureInfo, data []byte) error {
	if len(m.chunk)+len(data) > cap(m.chunk) {
		m.chunk = make([]byte, 0, max(memChunk, len(data)))
	}
	start := len(m.chunk)
	m.chunk = append(m.chunk, data...)
	m.pkts = append(m.pkts, Packet{Data: m.chunk[start:len(m.chunk):len(m.chunk)], CI: ci})
	return nil
}
