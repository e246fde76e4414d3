package communityid

import (
	"net/netip"
	"testing"
)

// baseline is the Community ID spec's published reference data
// (baseline/baseline_deflt.json and baseline_seed1.json of
// corelight/community-id-spec): each tuple as a packet carries it, both
// directions, with the expected ID.
var baseline = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	seed0, seed1 string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
}

func TestBaseline(t *testing.T) {
	for _, c := range baseline {
		f := Flow{Src: netip.MustParseAddr(c.saddr), Dst: netip.MustParseAddr(c.daddr), Proto: c.proto, SrcPort: c.sport, DstPort: c.dport}
		if got := ID(0, f); got != c.seed0 {
			t.Errorf("ID(0, %v) = %s, want %s", f, got, c.seed0)
		}
		if got := ID(1, f); got != c.seed1 {
			t.Errorf("ID(1, %v) = %s, want %s", f, got, c.seed1)
		}
	}
}

func TestMappedAndInvalid(t *testing.T) {
	v4 := Flow{Src: netip.MustParseAddr("128.232.110.120"), Dst: netip.MustParseAddr("66.35.250.204"), Proto: 6, SrcPort: 34855, DstPort: 80}
	mapped := v4
	mapped.Src = netip.AddrFrom16(v4.Src.As16())
	if ID(0, mapped) != ID(0, v4) {
		t.Errorf("an IPv4-mapped address hashes as %s, IPv4 as %s", ID(0, mapped), ID(0, v4))
	}
	mixed := v4
	mixed.Dst = netip.MustParseAddr("2001:db8::1")
	if got := ID(0, mixed); got != "" {
		t.Errorf("mixed families: %q, want empty", got)
	}
	if got := ID(0, Flow{Proto: 6}); got != "" {
		t.Errorf("no addresses: %q, want empty", got)
	}
	if ID(1, v4) == ID(0, v4) {
		t.Error("the seed does not change the ID")
	}
}

func TestAllocs(t *testing.T) {
	f := Flow{Src: netip.MustParseAddr("192.168.1.52"), Dst: netip.MustParseAddr("8.8.8.8"), Proto: 17, SrcPort: 54585, DstPort: 53}
	var sum [20]byte
	if n := testing.AllocsPerRun(100, func() { Sum(0, f, &sum) }); n != 0 {
		t.Errorf("Sum allocates %v times", n)
	}
}

func BenchmarkID(b *testing.B) {
	f := Flow{Src: netip.MustParseAddr("192.168.1.52"), Dst: netip.MustParseAddr("8.8.8.8"), Proto: 17, SrcPort: 54585, DstPort: 53}
	for b.Loop() {
		ID(0, f)
	}
}

func FuzzID(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, uint8(1), uint16(8), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, a, b []byte, proto uint8, sp, dp, seed uint16) {
		src, _ := netip.AddrFromSlice(a)
		dst, _ := netip.AddrFromSlice(b)
		fw := Flow{Src: src, Dst: dst, Proto: proto, SrcPort: sp, DstPort: dp}
		id := ID(seed, fw)
		if id != "" && len(id) != 30 {
			t.Fatalf("ID %q has length %d", id, len(id))
		}
	})
}
