package filter

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

var (
	web = tracker.Record{UID: "Cweb", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40000,
		RespH: netip.MustParseAddr("192.0.2.80"), RespP: 443, Proto: tracker.ProtoTCP},
		ConnState: "SF", History: "ShADadFf", OrigBytes: 500, RespBytes: 2_000_000, OrigPkts: 10, RespPkts: 1500,
		OrigIPBytes: 1000, RespIPBytes: 2_100_000, Duration: 3 * time.Second}
	dns = tracker.Record{UID: "Cdns", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("2001:db8::1"), OrigP: 53000,
		RespH: netip.MustParseAddr("2001:db8::53"), RespP: 53, Proto: tracker.ProtoUDP},
		ConnState: "SF", History: "Dd", OrigBytes: 40, RespBytes: 120, OrigPkts: 1, RespPkts: 1, Duration: time.Millisecond}
	rej = tracker.Record{UID: "Crej", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40001,
		RespH: netip.MustParseAddr("10.9.9.9"), RespP: 22, Proto: tracker.ProtoTCP},
		ConnState: "REJ", History: "Sr", OrigPkts: 1, RespPkts: 1}
	ping = tracker.Record{UID: "Cping", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("::ffff:10.0.0.2"), OrigP: 8,
		RespH: netip.MustParseAddr("10.0.0.1"), RespP: 0, Proto: tracker.ProtoICMP}, ConnState: "OTH"}
	all = []*tracker.Record{&web, &dns, &rej, &ping}
)

func TestMatch(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "Cweb Cdns Crej Cping"},
		{"   ", "Cweb Cdns Crej Cping"},
		{"tcp", "Cweb Crej"},
		{"UDP", "Cdns"},
		{"icmp", "Cping"},
		{"host 10.0.0.1", "Cweb Crej Cping"},
		{"host 10.0.0.2", "Cping"},
		{"host 2001:db8::53", "Cdns"},
		{"net 10.9.0.0/16", "Crej"},
		{"host 2001:db8::/32", "Cdns"},
		{"port 443", "Cweb"},
		{"port 53 or port 22", "Cdns Crej"},
		{"state SF", "Cweb Cdns"},
		{"state rej", "Crej"},
		{"bytes > 1MB", "Cweb"},
		{"bytes>=160", "Cweb Cdns"},
		{"resp_bytes < 1KiB and udp", "Cdns"},
		{"orig_bytes = 500", "Cweb"},
		{"pkts != 2", "Cweb Cping"},
		{"ip_bytes > 2M", "Cweb"},
		{"duration > 1s", "Cweb"},
		{"duration <= 1ms", "Cdns Crej Cping"},
		{"history ~ R", ""},
		{"history ~ r", "Crej"},
		{"history~AD", "Cweb"},
		{"not tcp", "Cdns Cping"},
		{"!tcp && !udp", "Cping"},
		{"tcp and not (state SF or port 22)", ""},
		{"tcp and (state SF || port 22)", "Cweb Crej"},
		{"udp or tcp and port 443", "Cweb Cdns"},
		{"(udp or tcp) and port 443", "Cweb"},
		{"uid Cdns", "Cdns"},
	}
	for _, tc := range tests {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		var got []string
		for _, r := range all {
			if f.Match(r) {
				got = append(got, r.UID)
			}
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%q matches %q, want %q", tc.expr, s, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"tcpp", `filter: column 1: unknown word "tcpp"`},
		{"tcp and", "filter: column 8: an expression expected at the end"},
		{"host", "filter: column 5: an address or network expected at the end"},
		{"host 10.0.0.300", `filter: column 6: address "10.0.0.300"`},
		{"port 70000", `filter: column 6: port "70000": want 0 to 65535`},
		{"bytes 5", `filter: column 7: bytes: comparison expected (= != < <= > >=), got "5"`},
		{"bytes > lots", `filter: column 9: size "lots"`},
		{"duration > 5", `filter: column 12: duration "5": want e.g. 2s, 500ms, 1h`},
		{"(tcp", `filter: column 5: ")" expected`},
		{"tcp udp", `filter: column 5: unexpected "udp"`},
		{"history R", `filter: column 9: "~" expected, as in history ~ R`},
		{"tcp)", `filter: column 4: unexpected ")"`},
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s…", tc.expr, err, tc.want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"tcp and not (state SF or port 22)", "bytes > 1MB", "history ~ ShAD", "host 2001:db8::/32 || !udp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := Compile(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		for _, r := range all {
			flt.Match(r)
		}
	})
}
