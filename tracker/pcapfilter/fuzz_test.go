package pcapfilter

import (
	"errors"
	"net/netip"
	"sync"
	"testing"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// offline makes host lookups local for the duration of a test: fuzzed
// names must not reach DNS.
func offline(t testing.TB) {
	saved := lookupHost
	lookupHost = func(name string) ([]netip.Addr, error) {
		if name == "localhost" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, errors.New("no such host")
	}
	t.Cleanup(func() { lookupHost = saved })
}

var fuzzLinks = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw, 12, 14,
	layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeNull, layers.LinkTypeLoop,
}

// FuzzParse checks that no expression makes Parse or Compile panic, that
// errors are single lines, and that programs are valid.
func FuzzParse(f *testing.F) {
	for _, e := range append(append([]string{}, tcpdumpExprs...), grammarExprs...) {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		offline(t)
		flt, err := Parse(expr)
		if err != nil {
			checkOneLine(t, expr, err)
			return
		}
		if flt.String() != expr {
			t.Fatalf("String() = %q", flt.String())
		}
		for _, link := range fuzzLinks {
			raw, err := flt.Compile(link, 65535)
			if err != nil {
				checkOneLine(t, expr, err)
				continue
			}
			if len(raw) > maxInsns {
				t.Fatalf("%q: %d instructions", expr, len(raw))
			}
			ins, ok := bpf.Disassemble(raw)
			if !ok {
				t.Fatalf("%q: program does not disassemble", expr)
			}
			if _, err := bpf.NewVM(ins); err != nil {
				t.Fatalf("%q on link %d: invalid program: %v", expr, link, err)
			}
		}
	})
}

// fuzzProgram is a golden tcpdump program with ours for the same filter.
type fuzzProgram struct {
	g                      golden
	ours, opt              []bpf.Instruction
	oursVM, optVM, unoptVM *bpf.VM
}

var (
	fuzzOnce  sync.Once
	fuzzProgs [][]fuzzProgram // by index in tcpdumpLinks
)

// fuzzPrograms compiles the golden expressions that tcpdump compiles.
func fuzzPrograms(t testing.TB) [][]fuzzProgram {
	fuzzOnce.Do(func() {
		links := map[string]int{}
		for i, l := range tcpdumpLinks {
			links[l.name] = i
		}
		fuzzProgs = make([][]fuzzProgram, len(tcpdumpLinks))
		for _, g := range readGolden(t) {
			if g.err != "" || nameDependent[g.expr] != nil {
				continue
			}
			li := links[g.link]
			f, err := Parse(g.expr)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := f.program(tcpdumpLinks[li].ours[0], 262144)
			if err != nil {
				t.Fatal(err)
			}
			oursVM, err := bpf.NewVM(ours)
			if err != nil {
				t.Fatal(err)
			}
			fuzzProgs[li] = append(fuzzProgs[li], fuzzProgram{g: g, ours: ours, opt: insnsOf(t, g.prog),
				oursVM: oursVM, optVM: vmOf(t, g.prog), unoptVM: vmOf(t, g.unopt)})
		}
	})
	return fuzzProgs
}

// FuzzMatch runs random packets through our programs and tcpdump's, from
// testdata/tcpdump.txt, in x/net/bpf. Verdicts must equal those of
// tcpdump's unoptimized program, and those of its optimized program unless
// one of the two aborts (libpcap's optimizer may abort on another load).
func FuzzMatch(f *testing.F) {
	linkIndex := map[layers.LinkType]uint8{}
	for i, l := range tcpdumpLinks {
		for _, o := range l.ours {
			linkIndex[o] = uint8(i)
		}
	}
	for _, p := range synthetic() {
		f.Add(linkIndex[p.link], p.data)
	}
	f.Fuzz(func(t *testing.T, li uint8, data []byte) {
		for _, p := range fuzzPrograms(t)[int(li)%len(tcpdumpLinks)] {
			got := verdict(t, p.oursVM, data)
			want := verdict(t, p.unoptVM, data)
			if got != want {
				t.Errorf("%s %q: got %v, tcpdump -O %v on % x", p.g.link, p.g.expr, got, want, data)
			}
			if wantOpt := verdict(t, p.optVM, data); got != wantOpt {
				_, abortOurs := traceRun(p.ours, data)
				_, abortOpt := traceRun(p.opt, data)
				if !abortOurs && !abortOpt {
					t.Errorf("%s %q: got %v, tcpdump %v on % x", p.g.link, p.g.expr, got, wantOpt, data)
				}
			}
		}
	})
}
