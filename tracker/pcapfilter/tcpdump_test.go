package pcapfilter

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

var update = flag.Bool("update", false, "regenerate testdata/tcpdump.txt with the local tcpdump")

const goldenFile = "testdata/tcpdump.txt"

// tcpdumpLink is a link type as tcpdump knows it, with the link types of
// ours that must behave the same.
type tcpdumpLink struct {
	name string // as printed in the golden file
	file uint32 // LINKTYPE_ value of the capture file given to tcpdump -r
	ours []layers.LinkType
}

var tcpdumpLinks = []tcpdumpLink{
	{"EN10MB", 1, []layers.LinkType{layers.LinkTypeEthernet}},
	{"LINUX_SLL", 113, []layers.LinkType{layers.LinkTypeLinuxSLL}},
	{"RAW", 101, []layers.LinkType{layers.LinkTypeRaw, 12, 14}},
	{"IPV4", 228, []layers.LinkType{layers.LinkTypeIPv4}},
	{"IPV6", 229, []layers.LinkType{layers.LinkTypeIPv6}},
	{"NULL", 0, []layers.LinkType{layers.LinkTypeNull}},
	{"LOOP", 108, []layers.LinkType{layers.LinkTypeLoop}},
}

// tcpdumpExprs are compared with tcpdump on every link type. Each should
// both match and not match some packet of the corpus.
var tcpdumpExprs = []string{
	// host
	"host 10.0.0.1",
	"src host 10.0.0.1",
	"dst host 192.168.1.10",
	"host 10.0.0.1 and host 10.0.0.2",
	"src and dst host 10.0.0.1",
	"src or dst host 10.0.0.2",
	"host fd77::1",
	"src host 2001:db8::1",
	"ip6 host ::1",
	"arp host 10.0.0.1",
	"rarp src host 10.0.0.2",
	"ip host 10.77.0.1",
	"host localhost",
	"ip dst host localhost",
	"host 10.0.0.1 or 10.0.0.2 or 192.168.1.10",
	"not host 10.0.0.1 and 10.0.0.2",
	"host 10.0.0.1 and (10.0.0.2 or 192.168.1.10)",
	"host 10.1",
	"dst 10.0.0.1",
	// net
	"net 10.0.0.0/8",
	"net 192.168.1.0/24",
	"src net 10.77.0.0/16",
	"dst net 192.168",
	"net 10",
	"net 10.0.0.0 mask 255.255.255.0",
	"net fd77::/16",
	"dst net 2001:db8::/32",
	"arp net 192.168.1",
	// port
	"port 80",
	"tcp port 80",
	"udp port 53",
	"tcp dst port 443",
	"src port 12345",
	"tcp port 80 or 443",
	"tcp port http",
	"port domain",
	"udp port 53 or tcp port 80 and not 8080",
	"tcp port 80 or udp port 53",
	"sctp port 80",
	"port 8080 and host 10.77.0.2",
	"not port 22",
	"tcp src port 80 or dst port 8080",
	"port 80 or (443 or 8080)",
	"tcp src or dst port 6005",
	"tcp src and dst port 53 or udp src and dst port 53",
	// portrange
	"portrange 6000-6010",
	"tcp portrange 8080-8090",
	"udp src portrange 50000-60000",
	"portrange 1-1023 and tcp",
	"sctp portrange 70-90",
	// proto
	"ip proto 17",
	"ip6 proto 58",
	"proto 6",
	"ip proto \\udp",
	"proto \\sctp",
	"ether proto 0x0806",
	"ether proto \\ip6",
	"ip proto 132",
	"ip6 proto 44",
	"ip6 and tcp",
	"ip6 and udp",
	// protocol keywords
	"ip",
	"ip6",
	"arp",
	"rarp",
	"tcp",
	"udp",
	"icmp",
	"icmp6",
	"sctp",
	"igmp",
	"esp or ah",
	"vrrp",
	"pim",
	"carp",
	"decnet or lat",
	"stp",
	"iso",
	"netbeui",
	"ether proto 100",
	// vlan
	"vlan",
	"vlan 10",
	"vlan 10 and host 10.0.0.1",
	"vlan and vlan 20 and ip",
	"vlan 100 and tcp port 80",
	"vlan or ip",
	"not vlan and tcp",
	"vlan (10)",
	"vlan and arp",
	// mpls
	"mpls",
	"mpls 100 and host 10.0.0.1",
	"mpls and mpls 200 and tcp",
	"vlan 10 and mpls 100 and ip6",
	"mpls 200",
	// tcp flags
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn|tcp-ack",
	"tcp[13] & 7 != 0",
	"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
	"tcp[tcpflags] & tcp-push != 0",
	"tcp[tcpflags] & tcp-urg != 0 or tcp[tcpflags] & tcp-ece != 0 or tcp[tcpflags] & tcp-cwr != 0",
	"tcp[tcpflags] = tcp-syn",
	// icmp
	"icmp[icmptype] = icmp-echo",
	"icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"icmp6[icmp6type] = icmp6-echo",
	"icmp[icmpcode] = 3",
	"icmp6 and ip6[40] = 135",
	"icmp6[icmp6type] = icmp6-neighborsolicit or icmp6[0] = icmp6-routeradvert",
	// arithmetic
	"ip[2:2] > 576",
	"ip[0] & 0xf != 5",
	"ip[6:2] & 0x1fff = 0",
	"len > 100",
	"len <= 64",
	"less 64",
	"greater 1000",
	"tcp port 80 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)",
	"len - 14 = ip[2:2]",
	"ip[9] % 5 = 1",
	"ether[12:2] ^ 0x0800 = 0",
	"udp[4:2] - 8 > 100",
	"- len + 200 > 100",
	"ip[ip[0] & 0xf] = 0",
	"tcp[(tcp[12] >> 4) * 4] = 0x16",
	"len * 2 / 3 > 50",
	"ip6[6] = 17",
	"arp[6:2] = 1",
	"link[0] & 1 = 1",
	"len - tcp[1] >= 60",
	"ip[8] >> 1 << 1 = 64",
	"ether[0] | 1 = 0xff",
	"len % 3 + 1 = 1",
	"ip[1] < ip[9]",
	"udp[0:4] = 0x00350035",
	"ip[2:2] - 20 >= len - 34",
	"1 + 1 = 2 and ip",
	"len <= 010",
	// ether
	"ether host 00:11:22:33:44:55",
	"ether src 66:77:88:99:aa:bb",
	"ether dst ff:ff:ff:ff:ff:ff",
	"ether broadcast",
	"ether multicast",
	"broadcast or multicast",
	"ip multicast",
	"ip6 multicast",
	"ether host 02:77:00:00:00:01 and not ip6",
	"ether src host 0011.2233.4455",
	// boolean
	"(tcp or udp) and not (port 80 or port 53)",
	"!tcp && !udp",
	"tcp || udp and host 10.0.0.1",
	"not (host 10.0.0.1 or host 10.0.0.2)",
	"ip and not ip6",
	"(host 10.0.0.1 or (host 10.0.0.2)) and tcp",
	"byte 12 = 8",
	"byte 23 > 10",
	"not not tcp",
	"",
}

// grammarExprs exercise the parser: qualifier inheritance, ambiguous
// parentheses, precedence and errors. They are compared on Ethernet only.
var grammarExprs = []string{
	"host 1.1.1.1 and (2.2.2.2 or host 3.3.3.3)",
	"host 1.1.1.1 and (host 2.2.2.2 or 3.3.3.3)",
	"host 1.1.1.1 or ((2.2.2.2 or 3.3.3.3) or 4.4.4.4)",
	"host 1.1.1.1 or (4.4.4.4 or (2.2.2.2 or 3.3.3.3))",
	"host 1.1.1.1 or (host 2.2.2.2) or 3.3.3.3",
	"(host 1.1.1.1) or 1.1.1.2",
	"((host 1.1.1.1))",
	"port 80 or ((443))",
	"port (80)",
	"host 10.0.0.1 and ( ! 10.0.0.2 or 192.168.1.10)",
	"host 10.0.0.1 and ( ! host 10.0.0.2 or 192.168.1.10)",
	"(80) > len",
	"(len) > 80",
	"((len + 1)) > 80",
	"len > (80)",
	"not 1.1.1.1",
	"port 80 and (1 + 1) = 2",
	"port 80 and ! (1) = 1",
	"port 80 and (!81)",
	"vlan 10 and 20",
	"tcp or 80",
	"1.2.3.4",
	"80",
	"TCP",
	"host",
	"port 99999",
	"host 1.2.3.256",
	"net 10.1.2.3/8",
	"host 1.2.3.0/24",
	"len = 10 / 0",
	"len / (0 + 1) = 1",
	"len / ether[0] = 1",
	"len << (40 - 1) = 1",
	"len - 1 > 60",
	"len-1 > 0",
	"len = 10 % 4 + 1",
	"len = 2 * 3 ^ 1 * 30",
	"len = -2 % 3",
	"len = 08",
	"len = 4294967296",
	"src or dst port 80",
	"src or 1.2.3.4",
	"src and dst net 10",
	"tcp src port 80 and dst port 8080",
	"ip proto tcp",
	"ether proto \\ip",
	"proto \\icmp",
	"ip6 proto \\ipv6-icmp",
	"udp port http",
	"tcp port domain",
	"port ftp-data",
	"portrange ftp-data",
	"portrange 10-ssh",
	"ip6 host 1.2.3.4",
	"tcp host 1.2.3.4",
	"ip host ::1",
	"arp host ::1",
	"ether host 1.2.3.4",
	"host 00:11:22:33:44:55",
	"ether 00:11:22:33:44:55",
	"ether proto 0x800 and ip",
	"link proto 0x86dd",
	"less 10 or greater 1000",
	"vlan 4096",
	"mpls 1048576",
	"ip broadcast",
	"tcp[13] = 2 and tcp[14:2] > 0x100",
	"ip[0:3] = 1",
	"icmp[icmptype] = icmp-echo or icmp6",
	"not tcp port 80 and not udp",
	"not not not tcp",
	"! port 80 or 443",
	"tcp port 80 and not 443 or 8080",
	"host 10.0.0.1 && (10.0.0.2 || 192.168.1.10)",
	"(tcp)",
	"((tcp) or (udp))",
	"(port 80) and 443",
	"host 10.0.0.1 or (port 80) or 10.0.0.2",
	"ether[0] = 1 and ether[1:2] = 2 or ether[2:4] = 3",
	"len >= 0x40 and len <= 0100",
	"tcp[tcpflags] == tcp-syn | tcp-ack",
	"ip6[6] = 6 and ip6[40 + 13] & 2 != 0",
	"port 80 || port 443 && tcp",
	"not host 10.0.0.1 and 10.0.0.2 or 192.168.1.10",
	"(not host 10.0.0.1) and 10.0.0.2",
	"src 10.0.0.1 and dst 10.0.0.2",
	"dst port 53 or src 10.0.0.1",
	"udp and src port 53 or 5353",
	"ip6 and (tcp or udp) and not port 53",
	"net 10.0.0.0/33",
	"net 10.0.0.0 mask 255.0.255.0",
	"net fd77::/129",
	"host fd77::/64",
	"ether src host aa-bb-cc-dd-ee-ff",
	"ether dst 001122334455",
	"ip[2:2] = 0x0054 and ip[9] = 1",
	"vlan and vlan and vlan",
	"mpls and vlan",
	"mpls and arp",
	"mpls 100 and net 10.0.0.0/8",
	"vlan 10 or vlan 20",
	"ip and vlan and ip",
	"tcp dst port 80 or src port 80 and src net 10",
	"ip[2:2] - 20 > tcp[12] >> 2",
	"arp or rarp or ip6 or ip",
	"ether proto 1500 or ether proto 1501",
	longExpr(80),
}

// longExpr is a filter whose program needs jumps longer than 255
// instructions.
func longExpr(n int) string {
	var b strings.Builder
	b.WriteString("host 10.0.0.1")
	for i := 2; i <= n; i++ {
		fmt.Fprintf(&b, " or 10.0.%d.%d", i/200, i%200)
	}
	return b.String() + " or tcp port 80"
}

// golden is one tcpdump result: the program tcpdump uses (optimized) and
// the one its code generator produces before optimization (tcpdump -O), or
// the error.
type golden struct {
	link  string
	expr  string
	prog  []bpf.RawInstruction
	unopt []bpf.RawInstruction
	err   string
}

func (g golden) line() string {
	if g.err != "" {
		return g.link + "\t" + g.expr + "\terror: " + g.err
	}
	return g.link + "\t" + g.expr + "\tprog: " + progString(g.prog) + "\tunopt: " + progString(g.unopt)
}

func progString(prog []bpf.RawInstruction) string {
	var parts []string
	for _, in := range prog {
		parts = append(parts, fmt.Sprintf("%d %d %d %d", in.Op, in.Jt, in.Jf, in.K))
	}
	return strings.Join(parts, ",")
}

func parseProg(s string) ([]bpf.RawInstruction, error) {
	var prog []bpf.RawInstruction
	for _, ins := range strings.Split(s, ",") {
		var in bpf.RawInstruction
		if _, err := fmt.Sscanf(ins, "%d %d %d %d", &in.Op, &in.Jt, &in.Jf, &in.K); err != nil {
			return nil, fmt.Errorf("bad instruction %q: %v", ins, err)
		}
		prog = append(prog, in)
	}
	return prog, nil
}

func parseGolden(line string) (golden, error) {
	f := strings.Split(line, "\t")
	if len(f) < 3 {
		return golden{}, fmt.Errorf("bad golden line %q", line)
	}
	g := golden{link: f[0], expr: f[1]}
	if msg, ok := strings.CutPrefix(f[2], "error: "); ok && len(f) == 3 {
		g.err = msg
		return g, nil
	}
	prog, ok1 := strings.CutPrefix(f[2], "prog: ")
	unopt, ok2 := "", false
	if len(f) == 4 {
		unopt, ok2 = strings.CutPrefix(f[3], "unopt: ")
	}
	if !ok1 || !ok2 {
		return golden{}, fmt.Errorf("bad golden line %q", line)
	}
	var err error
	if g.prog, err = parseProg(prog); err != nil {
		return golden{}, err
	}
	if g.unopt, err = parseProg(unopt); err != nil {
		return golden{}, err
	}
	return g, nil
}

func readGolden(t testing.TB) []golden {
	t.Helper()
	data, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -run TestTcpdump -update with tcpdump installed)", err)
	}
	var gs []golden
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		g, err := parseGolden(line)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gs
}

// tcpdumpPath is the tcpdump binary, or "" when there is none.
var tcpdumpPath = func() string {
	p, err := exec.LookPath("tcpdump")
	if err != nil {
		return ""
	}
	return p
}()

var (
	captureDirOnce sync.Once
	captureDir     string
)

// TestMain removes the capture files written for tcpdump.
func TestMain(m *testing.M) {
	code := m.Run()
	if captureDir != "" {
		os.RemoveAll(captureDir)
	}
	os.Exit(code)
}

// emptyCapture returns an empty pcap file of a link type, for tcpdump -r,
// so that tcpdump compiles as it does for capture files.
func emptyCapture(t testing.TB, linktype uint32) string {
	captureDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "pcapfilter")
		if err != nil {
			t.Fatal(err)
		}
		captureDir = d
	})
	path := filepath.Join(captureDir, fmt.Sprintf("link%d.pcap", linktype))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	var hdr [24]byte
	binary.NativeEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.NativeEndian.PutUint16(hdr[4:], 2)
	binary.NativeEndian.PutUint16(hdr[6:], 4)
	binary.NativeEndian.PutUint32(hdr[16:], 262144)
	binary.NativeEndian.PutUint32(hdr[20:], linktype)
	if err := os.WriteFile(path, hdr[:], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runTcpdump compiles expr with tcpdump for a link type, with and without
// its optimizer. The optimizer refuses to print a program that rejects
// every packet; the unoptimized program stands in for it then.
func runTcpdump(t testing.TB, l tcpdumpLink, expr string) golden {
	g := golden{link: l.name, expr: expr}
	file := emptyCapture(t, l.file)
	compile := func(opts ...string) ([]bpf.RawInstruction, string) {
		args := append([]string{"-n", "-r", file, "-ddd"}, opts...)
		if expr != "" {
			args = append(args, "--", expr)
		}
		cmd := exec.Command(tcpdumpPath, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			msg := ""
			for _, line := range strings.Split(stderr.String(), "\n") {
				if m, ok := strings.CutPrefix(line, "tcpdump: "); ok {
					msg = m
				}
			}
			if msg == "" {
				t.Fatalf("tcpdump %q: %v: %s", args, err, stderr.String())
			}
			return nil, msg
		}
		sc := bufio.NewScanner(&stdout)
		sc.Scan() // instruction count
		var prog []bpf.RawInstruction
		for sc.Scan() {
			var in bpf.RawInstruction
			if _, err := fmt.Sscanf(sc.Text(), "%d %d %d %d", &in.Op, &in.Jt, &in.Jf, &in.K); err != nil {
				t.Fatalf("tcpdump output %q: %v", sc.Text(), err)
			}
			prog = append(prog, in)
		}
		return prog, ""
	}
	prog, msg := compile()
	unopt, msgO := compile("-O")
	switch {
	case msgO != "":
		g.err = msgO
	case msg == "expression rejects all packets":
		g.prog, g.unopt = unopt, unopt
	case msg != "":
		// The optimizer folds constants and finds, say, a division by
		// zero; tcpdump fails.
		g.err, g.unopt = msg, unopt
	default:
		g.prog, g.unopt = prog, unopt
	}
	return g
}

// vmOf runs a tcpdump program in x/net/bpf, which lacks NEG.
func vmOf(t testing.TB, prog []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	vm, err := bpf.NewVM(insnsOf(t, prog))
	if err != nil {
		t.Fatalf("tcpdump program: %v", err)
	}
	return vm
}

func insnsOf(t testing.TB, prog []bpf.RawInstruction) []bpf.Instruction {
	t.Helper()
	ins, _ := bpf.Disassemble(prog)
	for i, in := range ins {
		switch in := in.(type) {
		case bpf.NegateA:
			ins[i] = bpf.ALUOpConstant{Op: bpf.ALUOpMul, Val: 0xffffffff}
		case bpf.LoadExtension:
			// x/net/bpf reads word loads at offsets near 4 GiB as Linux
			// extensions; for a capture file they are out of range.
			if in.Num != bpf.ExtLen {
				ins[i] = bpf.LoadAbsolute{Off: 0xfffff000 + uint32(in.Num), Size: 4}
			}
		case bpf.RawInstruction:
			t.Fatalf("instruction %d of tcpdump program is not supported by x/net/bpf: %v", i, in)
		}
	}
	return ins
}

func verdict(t testing.TB, vm *bpf.VM, data []byte) bool {
	n, err := vm.Run(data)
	if err != nil {
		t.Fatalf("bpf: %v", err)
	}
	return n > 0
}

// nameDependent lists expressions whose meaning depends on the local name
// databases; their golden programs are compared only when the names
// resolve as they did on the machine that wrote the golden file.
var nameDependent = map[string]func() bool{
	"host localhost":        localhostIsLoopback4,
	"ip dst host localhost": localhostIsLoopback4,
}

func localhostIsLoopback4() bool {
	a, err := resolveHost("localhost")
	return err == nil && len(a) == 1 && a[0] == netip.MustParseAddr("127.0.0.1")
}

// TestTcpdump compares the verdicts of our programs with tcpdump's, stored
// in testdata/tcpdump.txt and, when tcpdump is installed, compiled afresh.
func TestTcpdump(t *testing.T) {
	if *update {
		if tcpdumpPath == "" {
			t.Fatal("-update needs tcpdump")
		}
		var buf strings.Builder
		out, _ := exec.Command(tcpdumpPath, "--version").Output()
		fmt.Fprintf(&buf, "# tcpdump programs for TestTcpdump, one per line: link type, expression, then either\n")
		fmt.Fprintf(&buf, "# \"prog:\" (tcpdump -r FILE -ddd) and \"unopt:\" (the same with -O), as code jt jf k per\n")
		fmt.Fprintf(&buf, "# instruction, or tcpdump's error. Regenerate with\n")
		fmt.Fprintf(&buf, "#   go test ./tracker/pcapfilter -run TestTcpdump -update\n")
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.HasPrefix(line, "tcpdump") || strings.HasPrefix(line, "libpcap") {
				fmt.Fprintf(&buf, "# %s\n", line)
			}
		}
		for _, e := range tcpdumpExprs {
			for _, l := range tcpdumpLinks {
				buf.WriteString(runTcpdump(t, l, e).line() + "\n")
			}
		}
		for _, e := range grammarExprs {
			buf.WriteString(runTcpdump(t, tcpdumpLinks[0], e).line() + "\n")
		}
		if err := os.WriteFile(goldenFile, []byte(buf.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gs := readGolden(t)
	pkts, note := corpus(t)
	if note != "" {
		t.Log(note)
	}
	live := tcpdumpPath != "" && !*update
	if !live && !*update {
		t.Log("tcpdump not installed; comparing with testdata/tcpdump.txt only")
	}
	byLink := map[layers.LinkType][]packet{}
	for _, p := range pkts {
		byLink[p.link] = append(byLink[p.link], p)
	}
	links := map[string]tcpdumpLink{}
	for _, l := range tcpdumpLinks {
		links[l.name] = l
	}
	exprs := map[string]bool{}
	for _, e := range append(slices.Clone(tcpdumpExprs), grammarExprs...) {
		exprs[e] = true
	}
	var st compareStats
	for _, g := range gs {
		if !exprs[g.expr] {
			t.Errorf("golden file has %q, which is in no expression table; run with -update", g.expr)
			continue
		}
		if ok := nameDependent[g.expr]; ok != nil && !ok() {
			t.Logf("%q: names resolve differently here; skipped", g.expr)
			continue
		}
		l := links[g.link]
		refs := []golden{g}
		if g.link == "NULL" && binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
			// The golden file was written on a little-endian host, and
			// Null headers are in host byte order.
			refs = nil
		}
		if live {
			if fresh := runTcpdump(t, l, g.expr); fresh.line() != g.line() {
				t.Logf("%s %q: local tcpdump differs from the golden file; comparing with both", g.link, g.expr)
				refs = append(refs, fresh)
			}
		}
		for _, ref := range refs {
			for _, link := range l.ours {
				compareWithTcpdump(t, ref, link, byLink[link], &st)
			}
		}
	}
	for _, e := range tcpdumpExprs {
		m := st.matched[e]
		if e != "" && (m[0] == 0 || m[1] == 0) {
			t.Logf("%q matches %d and rejects %d corpus packets", e, m[0], m[1])
		}
	}
	t.Logf("%d+%d expressions, %d packets (%d Ethernet), %d verdicts compared with tcpdump's programs; "+
		"%d abort on a load past the end of the packet or a division by zero, of which %d differ from "+
		"the optimized program only because libpcap's optimizer reorders tests (those match tcpdump -O)",
		len(tcpdumpExprs), len(grammarExprs), len(pkts), len(byLink[layers.LinkTypeEthernet]), st.compared, st.aborted, st.abortDiffer)
}

// compareStats counts the comparisons of TestTcpdump.
type compareStats struct {
	compared, aborted, abortDiffer int
	matched                        map[string][2]int // accepted and rejected packets per expression
}

// compareWithTcpdump compares our verdicts for one expression and link type
// with tcpdump's. They must equal those of tcpdump's unoptimized program
// everywhere, and those of its optimized program on every packet where
// neither program aborts.
func compareWithTcpdump(t *testing.T, ref golden, link layers.LinkType, pkts []packet, st *compareStats) {
	t.Helper()
	f, err := Parse(ref.expr)
	var prog []bpf.Instruction
	if err == nil {
		prog, err = f.program(link, 262144)
	}
	switch {
	case ref.err != "" && err == nil:
		t.Errorf("%s %q: tcpdump fails (%s), we do not", ref.link, ref.expr, ref.err)
		return
	case ref.err != "":
		return
	case err != nil:
		t.Errorf("%s %q: tcpdump compiles, we fail: %v", ref.link, ref.expr, err)
		return
	}
	ours, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("%q: our program: %v", ref.expr, err)
	}
	opt, unopt := insnsOf(t, ref.prog), insnsOf(t, ref.unopt)
	optVM, unoptVM := vmOf(t, ref.prog), vmOf(t, ref.unopt)
	if st.matched == nil {
		st.matched = map[string][2]int{}
	}
	bad := 0
	report := func(p packet, format string, args ...any) {
		bad++
		if bad <= 3 {
			t.Errorf("%s (%d) %q: %s: %s\n  packet % x", ref.link, link, ref.expr, p.name, fmt.Sprintf(format, args...), p.data)
		}
	}
	for _, p := range pkts {
		got := verdict(t, ours, p.data)
		want := verdict(t, unoptVM, p.data)
		wantOpt := verdict(t, optVM, p.data)
		_, abortOurs := traceRun(prog, p.data)
		_, abortOpt := traceRun(opt, p.data)
		if a, _ := traceRun(unopt, p.data); a != want {
			t.Fatalf("traceRun disagrees with x/net/bpf on %s", p.name)
		}
		st.compared++
		m := st.matched[ref.expr]
		if got {
			m[0]++
		} else {
			m[1]++
		}
		st.matched[ref.expr] = m
		if got != want {
			report(p, "got %v, tcpdump -O %v", got, want)
		}
		if abortOurs || abortOpt {
			st.aborted++
			if got != wantOpt {
				st.abortDiffer++
			}
			continue
		}
		if got != wantOpt {
			report(p, "got %v, tcpdump %v", got, wantOpt)
		}
	}
	if bad > 3 {
		t.Errorf("%s %q: %d more differences", ref.link, ref.expr, bad-3)
	}
}

// TestTcpdumpCoverage checks that the golden file covers the table.
func TestTcpdumpCoverage(t *testing.T) {
	gs := readGolden(t)
	var have []string
	for _, g := range gs {
		have = append(have, g.link+"\t"+g.expr)
	}
	for _, e := range tcpdumpExprs {
		for _, l := range tcpdumpLinks {
			if !slices.Contains(have, l.name+"\t"+e) {
				t.Errorf("golden file lacks %s %q; run with -update", l.name, e)
			}
		}
	}
	for _, e := range grammarExprs {
		if !slices.Contains(have, "EN10MB\t"+e) {
			t.Errorf("golden file lacks EN10MB %q; run with -update", e)
		}
	}
	if len(tcpdumpExprs) < 80 {
		t.Errorf("only %d expressions", len(tcpdumpExprs))
	}
}

var (
	randomN    = flag.Int("random", 0, "TestTcpdumpRandom: number of random expressions to compare with tcpdump")
	randomSeed = flag.Int64("seed", 1, "TestTcpdumpRandom: random seed")
	randomLink = flag.String("link", "EN10MB", "TestTcpdumpRandom: link type, as named in testdata/tcpdump.txt")
)

// randomVocab is spliced into random expressions to break them.
var randomVocab = strings.Fields(`host net port portrange src dst and or not ! ( ) tcp udp ip ip6 arp ether
proto 10.0.0.1 fd77::1 80 443 0x10 1 + - * / % & | ^ << >> = != > < >= <= [ ] : len less vlan mpls
broadcast multicast tcpflags tcp-syn 00:11:22:33:44:55 localhost http 6000-6010 10.0.0.0/8 mask \\udp`)

// TestTcpdumpRandom compares random expressions, valid or slightly broken,
// with tcpdump: both must reject them or both compile them, with equal
// verdicts on the synthetic packets. It runs only with -random N and an
// installed tcpdump:
//
//	go test ./tracker/pcapfilter -run TestTcpdumpRandom -random 3000 -seed 7 -link RAW
func TestTcpdumpRandom(t *testing.T) {
	if *randomN == 0 {
		t.Skip("run with -random N")
	}
	if tcpdumpPath == "" {
		t.Skip("tcpdump not installed")
	}
	r := rand.New(rand.NewSource(*randomSeed))
	i := slices.IndexFunc(tcpdumpLinks, func(l tcpdumpLink) bool { return l.name == *randomLink })
	if i < 0 {
		t.Fatalf("unknown link %q", *randomLink)
	}
	l := tcpdumpLinks[i]
	link := l.ours[0]
	pkts, _ := corpus(t)
	var synth []packet
	for _, p := range pkts {
		if p.link == link && strings.HasPrefix(p.name, "synthetic") {
			synth = append(synth, p)
		}
	}
	var st compareStats
	failed, compiled, optimizer := 0, 0, 0
	for i := 0; i < *randomN; i++ {
		toks := strings.Fields(genExpr(r, 0))
		if r.Intn(3) == 0 && len(toks) > 0 {
			j := r.Intn(len(toks))
			switch r.Intn(3) {
			case 0:
				toks = append(toks[:j], toks[j+1:]...)
			case 1:
				toks = append(toks[:j], append([]string{randomVocab[r.Intn(len(randomVocab))]}, toks[j:]...)...)
			default:
				toks[j] = randomVocab[r.Intn(len(randomVocab))]
			}
		}
		expr := strings.Join(toks, " ")
		g := runTcpdump(t, l, expr)
		f, err := Parse(expr)
		if err == nil {
			_, err = f.program(link, 262144)
		}
		switch {
		case g.err != "" && err != nil:
			failed++
			continue
		case g.err == "" && err == nil:
			compiled++
			compareWithTcpdump(t, g, link, synth, &st)
			continue
		}
		// tcpdump's optimizer folds constants and refuses some divisions
		// by zero and large shifts that it proves; we decide from the
		// expression alone.
		optOnly := g.err == "division by zero" || g.err == "modulus by zero" || g.err == "shift by more than 31 bits"
		switch {
		case optOnly && err == nil && g.unopt != nil:
			optimizer++
			g.err, g.prog = "", g.unopt
			compareWithTcpdump(t, g, link, synth, &st)
		case err != nil && strings.Contains(err.Error(), "by zero"):
			optimizer++
		default:
			t.Errorf("%q: tcpdump error %q, ours %v", expr, g.err, err)
		}
	}
	t.Logf("%d expressions: %d rejected by both, %d compiled by both, %d differ only by tcpdump's optimizer arithmetic checks; %d verdicts compared",
		*randomN, failed, compiled, optimizer, st.compared)
}

func pick(r *rand.Rand, xs ...string) string { return xs[r.Intn(len(xs))] }

// genExpr returns a random boolean expression of the kinds users write.
func genExpr(r *rand.Rand, d int) string {
	if d > 3 {
		return genPrim(r)
	}
	switch r.Intn(9) {
	case 0, 1, 2:
		return genPrim(r)
	case 3:
		return genExpr(r, d+1) + " " + pick(r, "and", "or", "&&", "||") + " " + genExpr(r, d+1)
	case 4:
		return pick(r, "not", "!") + " " + genExpr(r, d+1)
	case 5:
		return "( " + genExpr(r, d+1) + " )"
	case 6:
		return genPrim(r) + " " + pick(r, "and", "or") + " " + pick(r, "not ", "", "") + genID(r)
	case 7:
		return genPrim(r) + " " + pick(r, "and", "or") + " ( " + genID(r) + " " + pick(r, "and", "or") + " " + genID(r) + " )"
	default:
		return genArith(r, 0) + " " + pick(r, "=", "==", "!=", ">", "<", ">=", "<=") + " " + genArith(r, 0)
	}
}

// genID returns an identifier without qualifiers.
func genID(r *rand.Rand) string {
	return pick(r, "10.0.0.1", "10.0.0.2", "192.168.1.10", "fd77::1", "80", "443", "53", "10", "10.1", "localhost", "http", "(80)", "22", "6000-6010", "10.0.0.0/8", "00:11:22:33:44:55")
}

// genPrim returns a random primitive.
func genPrim(r *rand.Rand) string {
	switch r.Intn(14) {
	case 0:
		return pick(r, "", "ip ", "arp ", "rarp ", "ip6 ") + pick(r, "", "src ", "dst ", "src or dst ", "src and dst ") + pick(r, "host ", "") + pick(r, "10.0.0.1", "10.0.0.2", "192.168.1.10", "fd77::1", "localhost", "10.1", "2001:db8::1")
	case 1:
		return pick(r, "", "src ", "dst ") + "net " + pick(r, "10.0.0.0/8", "10", "192.168", "fd77::/16", "10.0.0.0 mask 255.0.0.0", "192.168.1.0/24")
	case 2:
		return pick(r, "", "tcp ", "udp ", "sctp ") + pick(r, "", "src ", "dst ") + "port " + pick(r, "80", "443", "53", "http", "domain", "22", "8080", "(80)")
	case 3:
		return pick(r, "", "tcp ", "udp ") + pick(r, "", "src ", "dst ") + "portrange " + pick(r, "6000-6010", "1-1023", "80", "50000-60000")
	case 4:
		return pick(r, "ip proto ", "ip6 proto ", "proto ", "ether proto ") + pick(r, "6", "17", "58", "\\udp", "\\tcp", "0x800", "\\ip", "44", "132")
	case 5:
		return pick(r, "tcp", "udp", "ip", "ip6", "arp", "rarp", "icmp", "icmp6", "sctp", "igmp", "esp", "ah", "pim", "vrrp", "stp", "iso")
	case 6:
		return pick(r, "vlan", "vlan 10", "vlan 20", "vlan 100", "mpls", "mpls 100", "mpls 200")
	case 7:
		return pick(r, "less ", "greater ") + pick(r, "64", "100", "1000")
	case 8:
		return pick(r, "ether host ", "ether src ", "ether dst ", "ether src host ") + pick(r, "00:11:22:33:44:55", "66:77:88:99:aa:bb", "ff:ff:ff:ff:ff:ff")
	case 9:
		return pick(r, "broadcast", "multicast", "ether broadcast", "ip multicast", "ip6 multicast", "ether multicast")
	case 10:
		return pick(r, "tcp[tcpflags] & tcp-syn != 0", "tcp[13] & 7 != 0", "icmp[icmptype] = icmp-echo", "icmp6[icmp6type] = icmp6-echo", "ip[6:2] & 0x1fff = 0")
	default:
		return genArith(r, 0) + " " + pick(r, "=", "!=", ">", "<", ">=", "<=") + " " + genArith(r, 0)
	}
}

// genArith returns a random arithmetic expression.
func genArith(r *rand.Rand, d int) string {
	if d > 2 {
		return pick(r, "1", "2", "4", "20", "0x10", "len", "100")
	}
	switch r.Intn(8) {
	case 0, 1:
		return pick(r, "1", "2", "4", "20", "0x10", "len", "100", "0", "13", "255")
	case 2, 3:
		return pick(r, "ip", "tcp", "udp", "ether", "ip6", "icmp", "arp", "link", "icmp6") + "[" + genArith(r, d+1) + pick(r, "", ":1", ":2", ":4") + "]"
	case 4, 5:
		return genArith(r, d+1) + " " + pick(r, "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>") + " " + genArith(r, d+1)
	case 6:
		return "( " + genArith(r, d+1) + " )"
	default:
		return "- " + genArith(r, d+1)
	}
}

// traceRun interprets a program like x/net/bpf and also reports whether it
// was aborted, rejecting the packet, by a load past the end of the packet
// or a division by zero. libpcap's optimizer reorders tests and folds
// arithmetic, so its programs may abort on different packets than the
// unoptimized ones.
func traceRun(prog []bpf.Instruction, data []byte) (accept, abort bool) {
	var a, x uint32
	var mem [16]uint32
	load := func(off uint64, size int) (uint32, bool) {
		if off+uint64(size) > uint64(len(data)) {
			return 0, false
		}
		switch size {
		case 1:
			return uint32(data[off]), true
		case 2:
			return uint32(binary.BigEndian.Uint16(data[off:])), true
		}
		return binary.BigEndian.Uint32(data[off:]), true
	}
	alu := func(op bpf.ALUOp, v uint32) (uint32, bool) {
		switch op {
		case bpf.ALUOpAdd:
			return a + v, true
		case bpf.ALUOpSub:
			return a - v, true
		case bpf.ALUOpMul:
			return a * v, true
		case bpf.ALUOpDiv, bpf.ALUOpMod:
			if v == 0 {
				return 0, false
			}
			if op == bpf.ALUOpDiv {
				return a / v, true
			}
			return a % v, true
		case bpf.ALUOpOr:
			return a | v, true
		case bpf.ALUOpAnd:
			return a & v, true
		case bpf.ALUOpShiftLeft:
			return a << v, true
		case bpf.ALUOpShiftRight:
			return a >> v, true
		case bpf.ALUOpXor:
			return a ^ v, true
		}
		panic(fmt.Sprintf("alu op %v", op))
	}
	jump := func(cond bpf.JumpTest, v uint32, jt, jf uint8) int {
		var ok bool
		switch cond {
		case bpf.JumpEqual:
			ok = a == v
		case bpf.JumpNotEqual:
			ok = a != v
		case bpf.JumpGreaterThan:
			ok = a > v
		case bpf.JumpLessThan:
			ok = a < v
		case bpf.JumpGreaterOrEqual:
			ok = a >= v
		case bpf.JumpLessOrEqual:
			ok = a <= v
		case bpf.JumpBitsSet:
			ok = a&v != 0
		case bpf.JumpBitsNotSet:
			ok = a&v == 0
		}
		if ok {
			return int(jt)
		}
		return int(jf)
	}
	for pc := 0; pc < len(prog); pc++ {
		var ok = true
		switch in := prog[pc].(type) {
		case bpf.LoadAbsolute:
			a, ok = load(uint64(in.Off), in.Size)
		case bpf.LoadIndirect:
			a, ok = load(uint64(in.Off)+uint64(x), in.Size)
		case bpf.LoadMemShift:
			var b uint32
			b, ok = load(uint64(in.Off), 1)
			x = (b & 0xf) * 4
		case bpf.LoadConstant:
			if in.Dst == bpf.RegA {
				a = in.Val
			} else {
				x = in.Val
			}
		case bpf.LoadScratch:
			if in.Dst == bpf.RegA {
				a = mem[in.N]
			} else {
				x = mem[in.N]
			}
		case bpf.StoreScratch:
			if in.Src == bpf.RegA {
				mem[in.N] = a
			} else {
				mem[in.N] = x
			}
		case bpf.LoadExtension:
			a = uint32(len(data))
		case bpf.ALUOpConstant:
			a, _ = alu(in.Op, in.Val)
		case bpf.ALUOpX:
			a, ok = alu(in.Op, x)
		case bpf.TAX:
			x = a
		case bpf.TXA:
			a = x
		case bpf.Jump:
			pc += int(in.Skip)
		case bpf.JumpIf:
			pc += jump(in.Cond, in.Val, in.SkipTrue, in.SkipFalse)
		case bpf.JumpIfX:
			pc += jump(in.Cond, x, in.SkipTrue, in.SkipFalse)
		case bpf.RetConstant:
			return in.Val != 0, false
		case bpf.RetA:
			return a != 0, false
		default:
			panic(fmt.Sprintf("instruction %T", in))
		}
		if !ok {
			return false, true
		}
	}
	return false, false
}
