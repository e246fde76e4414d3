package pcapfilter

import (
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// checkOneLine fails unless err is a single line about expr.
func checkOneLine(t testing.TB, expr string, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%q: error has more than one line: %q", expr, msg)
	}
	if want := "filter " + strconv.Quote(expr) + ": "; !strings.HasPrefix(msg, want) {
		t.Errorf("%q: error %q does not start with %q", expr, msg, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]struct {
		expr string
		want string // substring of the error
	}{
		"missing host":         {"host", `filter "host": missing address after "host"`},
		"port out of range":    {"port 99999", `filter "port 99999": port 99999 out of range`},
		"missing port":         {"tcp port", `missing port after "port"`},
		"dangling and":         {"host 10.0.0.1 and", "unexpected end of expression"},
		"number without qual":  {"tcp or 80", `"80"`},
		"bare address":         {"1.2.3.4", `"1.2.3.4"`},
		"bad address":          {"host 1.2.3.256", `"1.2.3.256"`},
		"host bits in net":     {"net 10.1.2.3/8", `10.1.2.3/8`},
		"mask on host":         {"host 10.0.0.0/8", `net 10.0.0.0`},
		"ip6 on ipv4":          {"ip6 host 1.2.3.4", `'ip6'`},
		"tcp on host":          {"tcp host 1.2.3.4", `'tcp'`},
		"ip on ipv6":           {"ip host ::1", `'ip'`},
		"udp port of tcp":      {"udp port http", `"http"`},
		"unknown port":         {"port nosuchservice", `"nosuchservice"`},
		"unknown proto":        {"ip proto nosuchproto", `"nosuchproto"`},
		"unknown ether proto":  {"ether proto \\nosuchproto", `"nosuchproto"`},
		"unclosed paren":       {"(host 1.2.3.4", `")"`},
		"extra paren":          {"host 1.2.3.4)", `")"`},
		"relop without rhs":    {"len > ", "end of expression"},
		"arith without relop":  {"len + 1", "comparison"},
		"bad size":             {"ip[0:3] = 1", "3"},
		"vlan too big":         {"vlan 4096", "4096"},
		"mpls too big":         {"mpls 1048576", "1048576"},
		"octal":                {"len = 08", "08"},
		"overflow":             {"len = 4294967296", "4294967296"},
		"division by zero":     {"len / 0 = 1", "division by zero"},
		"modulus by zero":      {"len % (1 - 1) = 1", "modulus by zero"},
		"shift":                {"len << 32 = 1", "32"},
		"ether address alone":  {"ether 00:11:22:33:44:55", `"00:11:22:33:44:55"`},
		"mac as host":          {"host 00:11:22:33:44:55", `"00:11:22:33:44:55"`},
		"upper case keyword":   {"TCP", `"TCP"`},
		"bad character":        {"tcp port 80 #", `'#'`},
		"bogus mac":            {"ether host 1:2:3", `"1:2:"`},
		"juxtaposition":        {"tcp udp", `"udp"`},
		"dir on proto":         {"src proto 6", `"proto"`},
		"src or what":          {"src or 10.0.0.1", `"10.0.0.1"`},
		"vlan inherits":        {"vlan 10 or 20", `"20"`},
		"paren resets quals":   {"(host 10.0.0.1) or 10.0.0.2", `"10.0.0.2"`},
		"id list with term":    {"host 10.0.0.1 and (10.0.0.2 or host 10.0.0.3)", `"host"`},
		"less needs a number":  {"less len", `"len"`},
		"link alone":           {"ether", `"ether"`},
		"proto of arp":         {"arp proto 1", "arp"},
		"tcp multicast":        {"tcp multicast", "tcp multicast"},
		"byte and":             {"byte 12 & 1", "not supported"},
		"gateway":              {"gateway foo", `"gateway" is not supported`},
		"protochain":           {"ip protochain 6", `"protochain" is not supported`},
		"inbound":              {"inbound", `"inbound" is not supported`},
		"llc":                  {"llc", `"llc" is not supported`},
		"wlan type":            {"wlan type mgt", "not supported"},
		"802.11 address":       {"wlan addr1 00:11:22:33:44:55", "not supported"},
		"decnet host":          {"decnet host 10.1", "not supported"},
		"iso proto":            {"iso proto 1", "not supported"},
		"ipx":                  {"ipx", `"ipx" is not supported`},
		"pppoe":                {"pppoes", "not supported"},
		"arcnet":               {"link host $01", "not supported"},
		"radio":                {"radio", `"radio"`},
		"radio index":          {"radio[0] = 1", "radio"},
		"portrange of names":   {"portrange ftp-data", `"ftp-data"`},
		"ip6 mask":             {"net fd77::/129", "129"},
		"ipv6 mask on host":    {"host fd77::/64", `net fd77::/64`},
		"ether on ip address":  {"ether host 1.2.3.4", "1.2.3.4"},
		"port on ipv4 address": {"port 1.2.3.4", "1.2.3.4"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tc.expr, f, tc.want)
			}
			checkOneLine(t, tc.expr, err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tc.expr, err, tc.want)
			}
		})
	}
}

// Packets for the link-type tests.
var (
	v4TCP = ipv4("10.0.0.1", "10.0.0.2", 6, nil, 0, tcp(12345, 80, 0x02, nil))
	v6UDP = ipv6("fd77::1", "fd77::2", 17, udp(5353, 53, nil))
)

func native32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func TestLinkTypes(t *testing.T) {
	type match struct {
		data []byte
		want bool
	}
	tests := map[string]struct {
		link    layers.LinkType
		expr    string
		err     string // substring of the Compile error, if it must fail
		matches []match
	}{
		"ethernet tcp": {layers.LinkTypeEthernet, "tcp port 80", "", []match{
			{ether(macA, macB, 0x0800, v4TCP), true},
			{ether(macA, macB, 0x86dd, v6UDP), false}}},
		"ethernet broadcast": {layers.LinkTypeEthernet, "ether broadcast", "", []match{
			{ether(macBcast, macB, 0x0800, v4TCP), true},
			{ether(macA, macB, 0x0800, v4TCP), false}}},
		"ethernet vlan": {layers.LinkTypeEthernet, "vlan 10 and ip", "", []match{
			{etherTagged(macA, macB, [][]byte{tag(0x8100, 10)}, 0x0800, v4TCP), true},
			{etherTagged(macA, macB, [][]byte{tag(0x8100, 11)}, 0x0800, v4TCP), false},
			{ether(macA, macB, 0x0800, v4TCP), false}}},
		"sll ip": {layers.LinkTypeLinuxSLL, "ip and dst port 80", "", []match{
			{cat(make([]byte, 14), be16(0x0800), v4TCP), true},
			{cat(make([]byte, 14), be16(0x86dd), v6UDP), false}}},
		"sll llc": {layers.LinkTypeLinuxSLL, "stp", "", []match{
			{cat(make([]byte, 14), be16(4), []byte{0x42, 0x42, 3}), true},
			{cat(make([]byte, 14), be16(0x0800), v4TCP), false}}},
		"sll ether host": {layers.LinkTypeLinuxSLL, "ether host 00:11:22:33:44:55",
			`filter "ether host 00:11:22:33:44:55": link type Linux SLL has no Ethernet header`, nil},
		"sll vlan": {layers.LinkTypeLinuxSLL, "vlan", "no VLAN support", nil},
		"raw ip6": {layers.LinkTypeRaw, "ip6 and udp", "", []match{
			{v6UDP, true}, {v4TCP, false}}},
		"raw 12":  {12, "ip", "", []match{{v4TCP, true}, {v6UDP, false}}},
		"raw 14":  {14, "host fd77::2", "", []match{{v6UDP, true}, {v4TCP, false}}},
		"raw arp": {layers.LinkTypeRaw, "arp or rarp", "", []match{{v4TCP, false}, {v6UDP, false}}},
		"raw ether": {layers.LinkTypeRaw, "ether host 00:11:22:33:44:55",
			"link type Raw has no Ethernet header", nil},
		"raw mpls": {layers.LinkTypeRaw, "mpls", "no MPLS support", nil},
		"ipv4 ip":  {layers.LinkTypeIPv4, "ip", "", []match{{v4TCP, true}, {[]byte{0x60}, true}}},
		"ipv4 ip6": {layers.LinkTypeIPv4, "ip6", "", []match{{v4TCP, false}, {v6UDP, false}}},
		"ipv6 ip6": {layers.LinkTypeIPv6, "ip6 and dst port 53", "", []match{{v6UDP, true}}},
		"ipv6 ip":  {layers.LinkTypeIPv6, "ip", "", []match{{v6UDP, false}, {v4TCP, false}}},
		"null ip": {layers.LinkTypeNull, "ip", "", []match{
			{cat(native32(2), v4TCP), true},
			{cat(be32(2), v4TCP), binary.NativeEndian.Uint32(be32(2)) == 2}}},
		"null ip6": {layers.LinkTypeNull, "ip6", "", []match{
			{cat(native32(24), v6UDP), true},
			{cat(native32(28), v6UDP), true},
			{cat(native32(30), v6UDP), true},
			{cat(native32(10), v6UDP), false}}},
		"loop ip": {layers.LinkTypeLoop, "ip and tcp", "", []match{
			{cat(be32(2), v4TCP), true},
			{cat(be32(30), v6UDP), false}}},
		"loop ip6": {layers.LinkTypeLoop, "ip6", "", []match{
			{cat(be32(24), v6UDP), true},
			{cat(be32(2), v4TCP), false}}},
		"unsupported": {layers.LinkTypeIEEE802_11, "ip", "link type 105", nil},
		"ppp":         {layers.LinkTypePPP, "tcp", "is not supported", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := f.Compile(tc.link, 65535)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Compile(%d) error %v, want %q", tc.link, err, tc.err)
				}
				checkOneLine(t, tc.expr, err)
				if _, err := f.Matcher(0).Match(tc.link, nil); err == nil {
					t.Errorf("Match did not fail")
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%d): %v", tc.link, err)
			}
			vm := vmOf(t, raw)
			m := f.Matcher(0)
			for i, c := range tc.matches {
				n, err := vm.Run(c.data)
				if err != nil {
					t.Fatal(err)
				}
				if got := n > 0; got != c.want {
					t.Errorf("packet %d: program verdict %v, want %v", i, got, c.want)
				}
				if n > 0 && n != 65535 {
					t.Errorf("packet %d: program returned %d, want the snaplen", i, n)
				}
				got, err := m.Match(tc.link, c.data)
				if err != nil || got != c.want {
					t.Errorf("packet %d: Match = %v, %v; want %v", i, got, err, c.want)
				}
			}
		})
	}
}

func TestCompile(t *testing.T) {
	f, err := Parse("")
	if err != nil {
		t.Fatal(err)
	}
	if f.String() != "" {
		t.Errorf("String() = %q", f.String())
	}
	raw, err := f.Compile(layers.LinkTypeEthernet, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bpf.RawInstruction{{Op: 6, K: 1500}}; len(raw) != 1 || raw[0] != want[0] {
		t.Errorf("empty filter compiles to %v, want %v", raw, want)
	}
	if _, err := f.Compile(layers.LinkTypeEthernet, 0); err == nil {
		t.Error("snaplen 0 accepted")
	}
	const expr = "  tcp   port 80 "
	f, err = Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	if f.String() != expr {
		t.Errorf("String() = %q, want %q", f.String(), expr)
	}
	// Long programs need jumps past 255 instructions.
	f, err = Parse(longExpr(200))
	if err != nil {
		t.Fatal(err)
	}
	raw, err = f.Compile(layers.LinkTypeEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 300 || len(raw) > maxInsns {
		t.Errorf("long program has %d instructions", len(raw))
	}
	vm := vmOf(t, raw)
	pkt := ether(macA, macB, 0x0800, ipv4("10.0.0.3", "10.0.0.1", 17, nil, 0, udp(1, 2, nil)))
	if n, _ := vm.Run(pkt); n == 0 {
		t.Error("long program rejects a matching packet")
	}
	pkt = ether(macA, macB, 0x0800, ipv4("10.0.1.199", "192.168.9.9", 6, nil, 0, tcp(1, 80, 2, nil)))
	if n, _ := vm.Run(pkt); n == 0 {
		t.Error("long program rejects a packet matching its last term")
	}
}

func TestQualifierInheritance(t *testing.T) {
	// Each pair must accept the same packets.
	tests := []struct{ short, long string }{
		{"host 10.0.0.1 or 10.0.0.2", "host 10.0.0.1 or host 10.0.0.2"},
		{"tcp dst port 80 or 443 or 8080", "tcp dst port 80 or tcp dst port 443 or tcp dst port 8080"},
		{"not host 10.0.0.1 and 10.0.0.2", "not host 10.0.0.1 and host 10.0.0.2"},
		{"host 10.0.0.1 and (10.0.0.2 or 192.168.1.10)", "host 10.0.0.1 and (host 10.0.0.2 or host 192.168.1.10)"},
		{"src net 10 or 192.168", "src net 10 or src net 192.168"},
		{"udp port 53 and not 5353", "udp port 53 and not udp port 5353"},
		{"host 10.0.0.1 or (port 80) or 10.0.0.2", "host 10.0.0.1 or port 80 or host 10.0.0.2"},
	}
	pkts, _ := corpus(t)
	for _, tc := range tests {
		a, err := Parse(tc.short)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(tc.long)
		if err != nil {
			t.Fatal(err)
		}
		ma, mb := a.Matcher(0), b.Matcher(0)
		for _, p := range pkts {
			if p.link != layers.LinkTypeEthernet {
				continue
			}
			x, err1 := ma.Match(p.link, p.data)
			y, err2 := mb.Match(p.link, p.data)
			if err1 != nil || err2 != nil || x != y {
				t.Errorf("%q and %q differ on %s: %v %v (%v %v)", tc.short, tc.long, p.name, x, y, err1, err2)
				break
			}
		}
	}
}

func TestMatcherConcurrent(t *testing.T) {
	f, err := Parse("tcp port 80 or udp port 53")
	if err != nil {
		t.Fatal(err)
	}
	m := f.Matcher(0)
	pkt := ether(macA, macB, 0x0800, v4TCP)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeIEEE802_11}
			for j := 0; j < 200; j++ {
				link := links[(i+j)%len(links)]
				data := pkt
				if link == layers.LinkTypeRaw {
					data = v4TCP
				}
				ok, err := m.Match(link, data)
				switch {
				case link == layers.LinkTypeIEEE802_11 && err == nil:
					t.Error("no error for an unsupported link type")
				case link != layers.LinkTypeIEEE802_11 && (err != nil || !ok):
					t.Errorf("Match(%d) = %v, %v", link, ok, err)
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestMatchAllocs(t *testing.T) {
	f, err := Parse("tcp port 80 or udp port 53")
	if err != nil {
		t.Fatal(err)
	}
	m := f.Matcher(0)
	pkt := ether(macA, macB, 0x0800, v4TCP)
	if ok, err := m.Match(layers.LinkTypeEthernet, pkt); err != nil || !ok {
		t.Fatalf("Match = %v, %v", ok, err)
	}
	_, _ = m.Match(layers.LinkTypeIEEE802_11, pkt)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = m.Match(layers.LinkTypeEthernet, pkt)
		_, _ = m.Match(layers.LinkTypeIEEE802_11, pkt)
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per call", allocs)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name       string
		port, prot int
		ok         bool
	}{
		{"http", 80, ipprotoTCP, true},
		{"domain", 53, protoUndef, true},
		{"bootps", 67, ipprotoUDP, true},
		{"8080", 8080, protoUndef, true},
		{"no-such-service", 0, 0, false},
	}
	for _, tc := range tests {
		port, prot, ok := nameToPort(tc.name)
		if ok != tc.ok || ok && (port != tc.port || prot != tc.prot) {
			t.Errorf("nameToPort(%q) = %d, %d, %v; want %d, %d, %v", tc.name, port, prot, ok, tc.port, tc.prot, tc.ok)
		}
	}
	for _, tc := range []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"6000-6010", 6000, 6010, true},
		{"10-ssh", 10, 22, true},
		{"ftp-data", 0, 0, false},
		{"80", 0, 0, false},
	} {
		lo, hi, _, ok := nameToPortRange(tc.in)
		if ok != tc.ok || ok && (lo != tc.lo || hi != tc.hi) {
			t.Errorf("nameToPortRange(%q) = %d, %d, %v", tc.in, lo, hi, ok)
		}
	}
	if v, ok := inetNetwork("10.1"); !ok || v != 0x0a01 {
		t.Errorf("inetNetwork(10.1) = %#x, %v", v, ok)
	}
	if v, ok := protoByName("udp"); !ok || v != 17 {
		t.Errorf("protoByName(udp) = %d, %v", v, ok)
	}
	if mac := etherAton("0011.2233.4455"); mac != [6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55} {
		t.Errorf("etherAton = %x", mac)
	}
}

func TestDeepNesting(t *testing.T) {
	for _, expr := range []string{
		strings.Repeat("(", 5000) + "tcp" + strings.Repeat(")", 5000),
		strings.Repeat("not ", 5000) + "tcp",
		"len = " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000),
	} {
		_, err := Parse(expr)
		if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("Parse(%.20q...) error %v", expr, err)
		}
	}
	f, err := Parse(strings.Repeat("(", 100) + "tcp" + strings.Repeat(")", 100))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Compile(layers.LinkTypeEthernet, 100); err != nil {
		t.Fatal(err)
	}
}
