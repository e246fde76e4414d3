package ipfix

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExportUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tg, _ := ParseTarget("udp://" + pc.LocalAddr().String())
	x, err := NewExporter(tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		f := sampleFlows()[i%len(sampleFlows())]
		f.SrcPort = uint16(i)
		if !x.Export(f) {
			t.Fatal("queue full at 500")
		}
	}
	x.Close()
	x.Close() // idempotent
	d := NewDecoder(0)
	n := 0
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for n < 500 {
		k, from, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d flows: %v", n, err)
		}
		if err := d.Decode(buf[:k], from.(*net.UDPAddr).AddrPort(), func(*Flow) { n++ }); err != nil {
			t.Fatal(err)
		}
	}
	if s := x.Stats(); s.Flows != 500 || s.Dropped != 0 || d.Stats().NoTemplate != 0 {
		t.Errorf("stats %+v, decoder %+v", s, d.Stats())
	}
}

// TestExportTCPReconnects: a collector that is down is a warning, records are
// dropped, not waited for; once it listens, a new connection gets templates
// first and the records after.
func TestExportTCPReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down
	var mu sync.Mutex
	var warnings []string
	tg, _ := ParseTarget("tcp://" + addr)
	x, err := NewExporter(tg, func(s string) { mu.Lock(); warnings = append(warnings, s); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	x.Export(sampleFlows()[0])
	deadline := time.Now().Add(3 * time.Second)
	for x.Stats().Dropped == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if x.Stats().Dropped != 1 {
		t.Fatalf("with the collector down: %+v", x.Stats())
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen again on %s: %v", addr, err)
	}
	defer ln.Close()
	got := make(chan []Flow, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		d := NewDecoder(0)
		var flows []Flow
		for len(flows) < 3 {
			var h [4]byte
			if _, err := io.ReadFull(c, h[:]); err != nil {
				break
			}
			msg := make([]byte, binary.BigEndian.Uint16(h[2:]))
			copy(msg, h[:])
			if _, err := io.ReadFull(c, msg[4:]); err != nil {
				break
			}
			d.Decode(msg, netip.AddrPort{}, func(f *Flow) { flows = append(flows, *f) })
		}
		got <- flows
	}()
	// Records keep coming; the exporter redials within its backoff.
	stop := time.After(10 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var flows []Flow
wait:
	for {
		select {
		case flows = <-got:
			break wait
		case <-tick.C:
			x.Export(sampleFlows()[1])
		case <-stop:
			t.Fatal("no records after the collector came up")
		}
	}
	x.Close()
	if len(flows) < 3 || flows[0].UID != "Cdns" {
		t.Errorf("collector got %+v", flows)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) < 2 || !strings.Contains(warnings[0], "dropped until it answers") || !strings.Contains(warnings[len(warnings)-1], "takes records again") {
		t.Errorf("warnings %q", warnings)
	}
}

func TestExportNeverBlocks(t *testing.T) {
	tg, _ := ParseTarget("tcp://127.0.0.1:1") // nothing listens
	x, err := NewExporter(tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := sampleFlows()[0]
	for range QueueLen + 1000 {
		x.Export(f) // returns at once, queued or dropped
	}
	x.Close()
	if s := x.Stats(); s.Dropped != QueueLen+1000 || s.Flows != 0 {
		t.Errorf("stats %+v", s)
	}
}
