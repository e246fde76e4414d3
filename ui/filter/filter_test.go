package filter

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/process"
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
		// tcpdump's forms
		{"tcp port 443", "Cweb"},
		{"udp port 443", ""},
		{"port 53 or 22", "Cdns Crej"},
		{"port 443 or 22 or 53", "Cweb Cdns Crej"},
		{"src host 10.0.0.1", "Cweb Crej"},
		{"dst host 10.0.0.1", "Cping"},
		{"src port 53000", "Cdns"},
		{"dst port 53000", ""},
		{"dst port 22 or 443", "Cweb Crej"},
		{"src net 10.0.0.0/8 and dst net 10.9.0.0/16", "Crej"},
		{"host 10.9.9.9 or 192.0.2.80", "Cweb Crej"},
		{"ip6", "Cdns"},
		{"ip", "Cweb Crej Cping"},
		{"ip6 host 2001:db8::53", "Cdns"},
		{"icmp6", ""},
		{"proto tcp", "Cweb Crej"},
		{"proto tcp and dst port 22", "Crej"},
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
		if s := matching(f, all); s != tc.want {
			t.Errorf("%q matches %q, want %q", tc.expr, s, tc.want)
		}
	}
}

// Records with services and names, for service, name ~ and host NAME.
var (
	named = []*tracker.Record{
		{UID: "Chttp", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40000,
			RespH: netip.MustParseAddr("198.51.100.7"), RespP: 80, Proto: tracker.ProtoTCP},
			Service: "http", Names: &tracker.Names{HTTPHost: "en.wikipedia.org"}, RespName: "dyna.wikimedia.org"},
		{UID: "Cimap", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.5"), OrigP: 40001,
			RespH: netip.MustParseAddr("203.0.113.9"), RespP: 143, Proto: tracker.ProtoTCP},
			Service: "imap,ssl", Names: &tracker.Names{SNI: "Mail.Example.COM"}, OrigName: "laptop.home.arpa"},
		{UID: "Cdns", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 53000,
			RespH: netip.MustParseAddr("10.0.0.53"), RespP: 53, Proto: tracker.ProtoUDP},
			Service: "dns", Names: &tracker.Names{DNSQuery: "www.wikipedia.org"}},
		{UID: "Cssh", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40002,
			RespH: netip.MustParseAddr("192.0.2.22"), RespP: 22, Proto: tracker.ProtoTCP},
			Names: &tracker.Names{SSHClient: "OpenSSH_9.6", SSHServer: "OpenSSH_8.9p1 Ubuntu"}, RespName: "git.example.com."},
		{UID: "Cnone", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40003,
			RespH: netip.MustParseAddr("192.0.2.44"), RespP: 443, Proto: tracker.ProtoTCP}},
	}
)

func TestServiceAndNames(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"service http", "Chttp"},
		{"service HTTP", "Chttp"},
		{"service ssl", "Cimap"},
		{"service imap", "Cimap"},
		{"service htt", ""},   // a whole entry of the list, not a substring
		{"service ssh", ""},   // the port's guess does not count
		{"service https", ""}, // nor here
		{"not service dns", "Chttp Cimap Cssh Cnone"},
		{"service http or service dns", "Chttp Cdns"},
		{"name ~ wikipedia", "Chttp Cdns"}, // HTTP Host, DNS query
		{"name ~ WIKIMEDIA", "Chttp"},      // the responder's passive-DNS name
		{"name ~ mail.example", "Cimap"},   // SNI, without case
		{"name ~ home.arpa", "Cimap"},      // the originator's passive-DNS name
		{"name ~ openssh_9", "Cssh"},       // SSH client software
		{"name ~ ubuntu", "Cssh"},          // SSH server software
		{"name~example.com", "Cimap Cssh"},
		{"name ~ nowhere", ""},
		{"host en.wikipedia.org", "Chttp"}, // the server name
		{"host EN.Wikipedia.ORG", "Chttp"},
		{"host wikipedia.org", ""}, // exact
		{"host .wikipedia.org", "Chttp Cdns"},
		{"host .en.wikipedia.org", "Chttp"}, // the domain itself
		{"host dyna.wikimedia.org", "Chttp"},
		{"host .wikimedia.org", "Chttp"},
		{"host git.example.com", "Cssh"}, // the root's dot ignored
		{"host git.example.com.", "Cssh"},
		{"host .example.com", "Cimap Cssh"},
		{"host laptop.home.arpa", "Cimap"},
		{"host .org", "Chttp Cdns"},
		{"host xample.com", ""},
		{"host .xample.com", ""},
		{"host 10.0.0.1", "Chttp Cdns Cssh Cnone"},
		{"host 203.0.113.0/24", "Cimap"},
		{"host .example.com and service ssl", "Cimap"},
	}
	for _, tc := range tests {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if s := matching(f, named); s != tc.want {
			t.Errorf("%q matches %q, want %q", tc.expr, s, tc.want)
		}
	}
}

// Records with local processes, for proc, pid and user: a local curl to a remote
// server, a local client of a local server (both sides known), a server whose
// client is remote, a socket whose process was gone (its owner alone known), and
// a connection with no process.
var (
	curl     = &process.Process{PID: 4242, PPID: 4000, UID: 1000, User: "alice", Comm: "curl", Cmdline: "curl -sS https://example.com/"}
	psql     = &process.Process{PID: 5001, PPID: 4000, UID: 1000, User: "alice", Comm: "psql"}
	pg       = &process.Process{PID: 812, PPID: 1, UID: 113, User: "postgres", Comm: "postgres", Unit: "postgresql.service"}
	nginx    = &process.Process{PID: 900, PPID: 1, UID: 33, User: "www-data", Comm: "nginx"}
	orphan   = &process.Process{UID: 0, User: "root"}
	nameless = &process.Process{PID: 77, UID: 1001, User: "1001", Comm: "Web Content"}
	owned    = []*tracker.Record{
		{UID: "Ccurl", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40000,
			RespH: netip.MustParseAddr("192.0.2.80"), RespP: 443, Proto: tracker.ProtoTCP}, OrigProc: curl},
		{UID: "Cpsql", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("127.0.0.1"), OrigP: 40001,
			RespH: netip.MustParseAddr("127.0.0.1"), RespP: 5432, Proto: tracker.ProtoTCP}, OrigProc: psql, RespProc: pg},
		{UID: "Cweb", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("198.51.100.9"), OrigP: 50000,
			RespH: netip.MustParseAddr("10.0.0.1"), RespP: 80, Proto: tracker.ProtoTCP}, RespProc: nginx},
		{UID: "Cgone", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40002,
			RespH: netip.MustParseAddr("192.0.2.53"), RespP: 53, Proto: tracker.ProtoUDP}, OrigProc: orphan},
		{UID: "Cuid", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40003,
			RespH: netip.MustParseAddr("192.0.2.44"), RespP: 443, Proto: tracker.ProtoTCP}, OrigProc: nameless},
		{UID: "Cnone", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("192.0.2.1"), OrigP: 40004,
			RespH: netip.MustParseAddr("192.0.2.2"), RespP: 443, Proto: tracker.ProtoTCP}},
	}
)

func TestProcesses(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"proc curl", "Ccurl"},
		{"PROC curl", "Ccurl"},     // the word without case
		{"proc CURL", ""},          // the name with it, as pgrep -x
		{"proc cur", ""},           // exactly
		{"proc psql", "Cpsql"},     // the originator's
		{"proc postgres", "Cpsql"}, // or the responder's
		{"proc nginx", "Cweb"},     // a server's, its client remote
		{"proc ~ GRE", "Cpsql"},    // a part, without case
		{"proc ~ n", "Cweb Cuid"},  // "Web Content" too
		{"proc~s", "Cpsql"},        // psql, postgres
		{"pid 4242", "Ccurl"},
		{"pid 812", "Cpsql"}, // the responder's
		{"pid 900 or pid 77", "Cweb Cuid"},
		{"pid 4000", ""}, // a parent's pid is not the process's
		{"user alice", "Ccurl Cpsql"},
		{"user postgres", "Cpsql"},
		{"user Alice", ""},     // user names have case
		{"user root", "Cgone"}, // a socket's owner alone
		{"user 0", "Cgone"},    // by uid
		{"user 33", "Cweb"},    // by uid, for a user with a name
		{"user 1001", "Cuid"},  // a uid without a name
		{"user 1000 and pid 5001", "Cpsql"},
		{"not proc curl", "Cpsql Cweb Cgone Cuid Cnone"}, // the ones without a process too
		{"tcp and user alice and not port 443", "Cpsql"},
		{"proc curl and dst port 443", "Ccurl"},
		{"port 443 or proc nginx", "Ccurl Cweb Cuid Cnone"},
	}
	for _, tc := range tests {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if s := matching(f, owned); s != tc.want {
			t.Errorf("%q matches %q, want %q", tc.expr, s, tc.want)
		}
	}
}

func TestCommunityID(t *testing.T) {
	// The spec's baseline vector 128.232.110.120:34855 -> 66.35.250.204:80/tcp, both ways.
	a := tracker.Record{UID: "Ca", ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("128.232.110.120"), OrigP: 34855,
		RespH: netip.MustParseAddr("66.35.250.204"), RespP: 80, Proto: tracker.ProtoTCP}}
	b := tracker.Record{UID: "Cb", ConnID: tracker.ConnID{OrigH: a.RespH, OrigP: a.RespP, RespH: a.OrigH, RespP: a.OrigP, Proto: tracker.ProtoTCP}}
	recs := append([]*tracker.Record{&a, &b}, all...)
	tests := []struct {
		expr string
		seed uint16
		want string
	}{
		{"cid 1:LQU9qZlK+B5F3KDmev6m5PMibrg=", 0, "Ca Cb"},
		{"cid 1:LQU9qZlK+B5F3KDmev6m5PMibrg=", 1, ""},
		{"cid 1:3V71V58M3Ksw/yuFALMcW0LAHvc=", 1, "Ca Cb"},
		{"(cid 1:LQU9qZlK+B5F3KDmev6m5PMibrg=) or uid Cweb", 0, "Ca Cb Cweb"},
		{"not cid 1:LQU9qZlK+B5F3KDmev6m5PMibrg= and tcp", 0, "Cweb Crej"},
	}
	for _, tc := range tests {
		f, err := CompileWith(tc.expr, Options{CommunityIDSeed: tc.seed})
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if g := matching(f, recs); g != tc.want {
			t.Errorf("%q seed %d: %q, want %q", tc.expr, tc.seed, g, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"tcpp", `filter: column 1: unknown word "tcpp"`},
		{"tcp and", "filter: column 8: an expression expected at the end"},
		{"host", "filter: column 5: an address, network or name expected at the end"},
		{"net", "filter: column 4: an address or network expected at the end"},
		{"net example.com", `filter: column 5: address "example.com"`},
		{"host ex,ample.com", `filter: column 6: name "ex,ample.com": want e.g. example.com`},
		{"host café.fr", `filter: column 6: name "café.fr"`},
		{"host 2001:db8::zz", `filter: column 6: address "2001:db8::zz"`},
		{"service", "filter: column 8: a service such as http expected at the end"},
		{"name example", `filter: column 6: "~" expected, as in name ~ example.com`},
		{"name ~", "filter: column 7: part of a name expected at the end"},
		{"host 10.0.0.300", `filter: column 6: address "10.0.0.300"`},
		{"port 70000", `filter: column 6: port "70000": want 0 to 65535`},
		{"bytes 5", `filter: column 7: bytes: comparison expected (= != < <= > >=), got "5"`},
		{"bytes > lots", `filter: column 9: size "lots"`},
		{"duration > 5", `filter: column 12: duration "5": want e.g. 2s, 500ms, 1h`},
		{"(tcp", `filter: column 5: ")" expected`},
		{"tcp udp", `filter: column 5: unexpected "udp"`},
		{"history R", `filter: column 9: "~" expected, as in history ~ R`},
		{"tcp)", `filter: column 4: unexpected ")"`},
		{"src 10.0.0.1", "filter: column 1: host, net or port expected after src"},
		{"proto ip", "filter: column 7: tcp, udp or icmp expected after proto"},
		{"src host example.com", "filter: column 10: src host takes an address or network, not a name"},
		{"tcp port", "filter: column 9: a port expected at the end"},
		{"53", `filter: column 1: unknown word "53"`},
		{"proc", "filter: column 5: a command name such as curl expected at the end"},
		{"proc ~", "filter: column 7: part of a command name expected at the end"},
		{"pid", "filter: column 4: a process id expected at the end"},
		{"pid curl", `filter: column 5: pid "curl": want a process id such as 4242`},
		{"pid 0", `filter: column 5: pid "0": want a process id such as 4242`},
		{"pid -1", `filter: column 5: pid "-1": want a process id such as 4242`},
		{"pid 4294967296", `filter: column 5: pid "4294967296": want a process id`},
		{"user", "filter: column 5: a user name or uid expected at the end"},
		{"cid", "filter: column 4: a Community ID such as 1:LQU9qZlK+B5F3KDmev6m5PMibrg= expected at the end"},
		{"cid 1:abc", `filter: column 5: cid "1:abc": want a Community ID v1`},
		{"cid LQU9qZlK+B5F3KDmev6m5PMibrg=", `filter: column 5: cid "LQU9qZlK+B5F3KDmev6m5PMibrg": want a Community ID v1`},
		{"pid 1 or 2", `filter: column 10: unknown word "2"`}, // a bare value reuses host, net or port only
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s…", tc.expr, err, tc.want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"tcp and not (state SF or port 22)", "bytes > 1MB", "history ~ ShAD", "host 2001:db8::/32 || !udp",
		"service http and name ~ wiki", "host .example.com", "proc curl or pid 4242", "user 0 and not proc ~ ssh", "cid 1:LQU9qZlK+B5F3KDmev6m5PMibrg= or tcp"} {
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
		for _, r := range slices.Concat(all, named, owned) {
			flt.Match(r)
		}
	})
}

// matching lists the uids of the records f matches, in order.
func matching(f *Filter, recs []*tracker.Record) string {
	var got []string
	for _, r := range recs {
		if f.Match(r) {
			got = append(got, r.UID)
		}
	}
	return strings.Join(got, " ")
}
