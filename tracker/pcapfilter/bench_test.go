package pcapfilter

import (
	"testing"

	"github.com/google/gopacket/layers"
)

// BenchmarkMatch matches an Ethernet/IPv4/TCP packet; it must not allocate.
func BenchmarkMatch(b *testing.B) {
	f, err := Parse("tcp port 80 or udp port 53")
	if err != nil {
		b.Fatal(err)
	}
	m := f.Matcher(0)
	pkt := ether(macA, macB, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, nil, 0x4000, tcp(12345, 80, 0x18, make([]byte, 100))))
	if ok, err := m.Match(layers.LinkTypeEthernet, pkt); err != nil || !ok {
		b.Fatalf("Match = %v, %v", ok, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, _ := m.Match(layers.LinkTypeEthernet, pkt); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkCompile compiles a typical filter and a long one.
func BenchmarkCompile(b *testing.B) {
	for name, expr := range map[string]string{
		"ports": "tcp port 80 or udp port 53",
		"hosts": longExpr(80),
	} {
		f, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := f.Compile(layers.LinkTypeEthernet, 262144); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
