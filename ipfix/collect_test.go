package ipfix

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCollectorRoundTrip: an Exporter's records reach a Collector over UDP and
// over TCP, whole; a malformed datagram is counted and warned about once.
func TestCollectorRoundTrip(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			var mu sync.Mutex
			var got []Flow
			var warnings []string
			c, err := Listen(network+"://127.0.0.1:0", 0, func(fs []Flow) {
				mu.Lock()
				got = append(got, fs...)
				mu.Unlock()
			}, func(s string) { mu.Lock(); warnings = append(warnings, s); mu.Unlock() })
			if err != nil {
				t.Fatal(err)
			}
			tg, _ := ParseTarget(network + "://" + c.Addr())
			x, err := NewExporter(tg, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := sampleFlows()
			for _, f := range want {
				x.Export(f)
			}
			x.Close()
			if network == "udp" {
				u, _ := net.Dial("udp", c.Addr())
				u.Write([]byte{0, 10, 0, 3}) // an IPFIX header cut short
				u.Close()
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				n, w := len(got), len(warnings)
				mu.Unlock()
				if n >= len(want) && (network == "tcp" || w > 0) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			c.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(want) {
				t.Fatalf("%d flows collected, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].UID != want[i].UID || got[i].Octets != want[i].Octets || got[i].RevOctets != want[i].RevOctets {
					t.Errorf("flow %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			if network == "udp" {
				if s := c.Stats(); s.Malformed != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "malformed") {
					t.Errorf("malformed datagram: stats %+v, warnings %q", s, warnings)
				}
			}
		})
	}
}

func TestParseListen(t *testing.T) {
	for in, want := range map[string]string{
		"udp://:2055":          "udp :2055",
		"tcp://127.0.0.1:4739": "tcp 127.0.0.1:4739",
		"udp://host":           "error",
		"sctp://:4739":         "error",
		"udp://:1?x=1":         "error",
	} {
		n, a, err := ParseListen(in)
		got := n + " " + a
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("%s: %q (%v), want %q", in, got, err, want)
		}
	}
}
