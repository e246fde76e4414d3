package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Canned `ndpiReader -v 2` output (nDPI 4.2), cut short where the lines are long.
const ndpiOut = `Using nDPI (4.2.0) [1 thread(s)]

Detected protocols:
	HTTP                 packets: 1             bytes: 62            flows: 1

JA3 Host Stats: 
		 IP Address                  	 # JA3C     
	1	 193.167.0.100            	 1      

	1	TCP 1.1.1.1:20394 <-> 2.2.2.2:443 [VLAN: 2474][proto: 91.140/TLS.Apple][Encrypted][Confidence: DPI][cat: Web/5][44 pkts/26603 bytes <-> 42 pkts/14261 bytes][Hostname/SNI: xp.apple.com][ALPN: h2;http/1.1][Plen Bins: 0,0]
	2	TCP 192.168.17.53:49640 <-> 212.227.17.186:143 [proto: 51/IMAPS][Encrypted][Confidence: DPI][cat: Email/3][18 pkts/1536 bytes <-> 14 pkts/6439 bytes]
	3	TCP 212.227.15.166:110 <-> 192.168.0.4:26242 [proto: 2/POP3][ClearText][Confidence: Match by port][cat: Email/3][3 pkts/194 bytes <-> 3 pkts/162 bytes]
	4	UDP 192.168.2.16:137 -> 192.168.2.255:137 [proto: 10/NetBIOS][ClearText][Confidence: DPI][cat: System/18][3 pkts/276 bytes -> 0 pkts/0 bytes][Hostname/SNI: ipv6.google.com][PLAIN TEXT (FAFGDGCOEHEPEPEHEMEFCOEDEPENAA)]
	5	ICMPV6 [::]:0 -> [ff02::1:ff00:3]:0 [proto: 102/ICMPV6][ClearText][Confidence: DPI][cat: Network/14][2 pkts/148 bytes -> 0 pkts/0 bytes]
	6	TCP 127.0.0.1:57628 <-> 127.0.0.1:22 [proto: 92/SSH][Encrypted][Confidence: DPI][cat: RemoteAccess/12][Hostname/SNI: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10][bytes ratio: 0.034 (Mixed)]
	7	TCP [::1]:56778 <-> [::1]:8080 [proto: 7/HTTP][ClearText][Confidence: DPI][cat: Web/5][Hostname/SNI: [][bytes ratio: -0.108 (Mixed)][URL: [::1]:8080/]
	8	132 192.168.170.8:0 <-> 192.168.170.56:0 [proto: 84/SCTP][ClearText][Confidence: DPI][cat: Network/14]
	9	UDP 141.142.220.118:55092 <-> 141.142.2.2:53 [proto: 5.176/DNS.Wikipedia][ClearText][Confidence: DPI][cat: Web/5][Hostname/SNI: meta.wikimedia.org][208.80.152.2]


Undetected flows:
	1	TCP [2001:470:4867:99::21]:55647 <-> [2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49190 [proto: 0/Unknown][ClearText][Confidence: Unknown][5 pkts/784 bytes <-> 4 pkts/356 bytes]
`

// The same flows as flowtop's conn.log has them, plus one nDPI does not see.
const connLog = "#separator \\x09\n#path\tconn\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tconn_state\thistory\tip_proto\tserver_name\n" +
	"1.0\tC1\t1.1.1.1\t20394\t2.2.2.2\t443\ttcp\tssl\tSF\tShADadFf\t6\txp.apple.com\n" +
	"2.0\tC2\t192.168.17.53\t49640\t212.227.17.186\t143\ttcp\timap,ssl\tSF\tShADadFf\t6\t-\n" +
	"3.0\tC3\t192.168.0.4\t26242\t212.227.15.188\t110\ttcp\t-\tREJ\tSr\t6\t-\n" +
	"3.5\tC4\t192.168.0.4\t26242\t212.227.15.166\t110\ttcp\t-\tREJ\tSr\t6\t-\n" +
	"3.6\tC5\t192.168.0.4\t26242\t212.227.15.166\t110\ttcp\t-\tREJ\tSr\t6\t-\n" +
	"4.0\tC6\t192.168.2.16\t137\t192.168.2.255\t137\tudp\tdns\tS0\tD\t17\tEJFAFGDGCOEHEPEPEHEMEFCOEDEPENAA\n" +
	"5.0\tC7\t::\t135\tff02::1:ff00:3\t136\ticmp\t-\tOTH\t-\t58\t-\n" +
	"6.0\tC8\t127.0.0.1\t57628\t127.0.0.1\t22\ttcp\tssh\tSF\tShADadFf\t6\t-\n" +
	"7.0\tC9\t::1\t56778\t::1\t8080\ttcp\thttp\tSF\tShADadfF\t6\t::1\n" +
	"8.0\tCa\t192.168.170.8\t0\t192.168.170.56\t0\tunknown_transport\t-\tOTH\t-\t132\t-\n" +
	"9.0\tCb\t141.142.220.118\t55092\t141.142.2.2\t53\tudp\tdns\tSF\tDd\t17\tmeta.wikimedia.org.\n" +
	"10.0\tCc\t2001:470:1f11:81f:c999:d94:aa7c:2e3e\t49190\t2001:470:4867:99::21\t55647\ttcp\tftp-data\tSF\tShAdfFa\t6\t-\n" +
	"11.0\tCd\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\tS0\tD\t17\t-\n"

func TestParseNDPI(t *testing.T) {
	nd, err := parseNDPI(strings.NewReader(ndpiOut))
	if err != nil {
		t.Fatal(err)
	}
	if len(nd) != 10 {
		t.Fatalf("%d flows, want 10 (9 detected, 1 undetected): %+v", len(nd), nd)
	}
	f := nd[0]
	if f.Proto != 6 || f.A.String() != "1.1.1.1:20394" || f.B.String() != "2.2.2.2:443" ||
		f.Label != "TLS.Apple" || f.Master() != "TLS" || f.Confidence != "DPI" || f.Host != "xp.apple.com" {
		t.Errorf("VLAN TLS flow: %+v", f)
	}
	if got := nd[2].Confidence; got != "Match by port" {
		t.Errorf("POP3 confidence %q", got)
	}
	if f := nd[4]; f.Proto != 58 || f.B.Addr().String() != "ff02::1:ff00:3" {
		t.Errorf("ICMPv6 flow: %+v", f)
	}
	if f := nd[6]; f.Host != "[" || f.A.String() != "[::1]:56778" {
		t.Errorf("IPv6 HTTP flow (nDPI cuts the Host header at its first colon): %+v", f)
	}
	if f := nd[7]; f.Proto != 132 || f.Label != "SCTP" {
		t.Errorf("SCTP flow: %+v", f)
	}
	if f := nd[9]; f.Label != "Unknown" || f.Confidence != "Unknown" || f.Proto != 6 {
		t.Errorf("undetected flow: %+v", f)
	}
}

func TestParseConnLog(t *testing.T) {
	ft, err := parseConnLog(strings.NewReader(connLog))
	if err != nil {
		t.Fatal(err)
	}
	if len(ft) != 13 {
		t.Fatalf("%d records, want 13", len(ft))
	}
	if r := ft[1]; strings.Join(r.Service, ",") != "imap,ssl" || r.Name != "" || r.Proto != 6 {
		t.Errorf("imap record: %+v", r)
	}
	if r := ft[6]; r.Proto != 58 || r.Orig.Port() != 135 {
		t.Errorf("icmp record: %+v", r)
	}
	if _, err := parseConnLog(strings.NewReader("1.0\tC1\n")); err == nil {
		t.Error("a conn.log without #fields parsed")
	}
}

func TestPairAndClassify(t *testing.T) {
	ft, err := parseConnLog(strings.NewReader(connLog))
	if err != nil {
		t.Fatal(err)
	}
	nd, err := parseNDPI(strings.NewReader(ndpiOut))
	if err != nil {
		t.Fatal(err)
	}
	groups := pairFlows(ft, nd)
	byKey := map[string]*group{}
	for _, g := range groups {
		byKey[g.Key] = g
	}
	// 13 flowtop records, two of them (REJ to .166) of one 5-tuple: 12 groups;
	// every nDPI flow pairs with one of them.
	if len(groups) != 12 {
		for _, g := range groups {
			t.Log(g.Key, len(g.FT), len(g.ND))
		}
		t.Fatalf("%d groups, want 12", len(groups))
	}
	tests := []struct {
		key         string
		nFT, nND    int
		proto, name string
	}{
		{"6 1.1.1.1:20394 2.2.2.2:443", 1, 1, pAgree, nAgree},                                                  // TLS.Apple is ssl
		{"6 192.168.17.53:49640 212.227.17.186:143", 1, 1, pAgree, nNone},                                      // IMAPS is imap,ssl
		{"6 192.168.0.4:26242 212.227.15.166:110", 2, 1, pNDPI, nNone},                                         // endpoints reversed, a port guess
		{"17 192.168.2.16:137 192.168.2.255:137", 1, 1, pAgree, nAgree},                                        // NetBIOS NS is dns; encoded name
		{"58 [::]:0 [ff02::1:ff00:3]:0", 1, 1, pNDPIOther, nNone},                                              // ICMP by addresses
		{"6 127.0.0.1:22 127.0.0.1:57628", 1, 1, pAgree, nNone},                                                // SSH software not compared
		{"6 [::1]:56778 [::1]:8080", 1, 1, pAgree, nDiffer},                                                    // nDPI's "[" for [::1]:8080
		{"132 192.168.170.56:0 192.168.170.8:0", 1, 1, pNDPIOther, nNone},                                      // SCTP
		{"17 141.142.2.2:53 141.142.220.118:55092", 1, 1, pAgree, nAgree},                                      // trailing dot
		{"6 [2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49190 [2001:470:4867:99::21]:55647", 1, 1, pFlowtop, nNone}, // ftp-data, nDPI Unknown
		{"6 192.168.0.4:26242 212.227.15.188:110", 1, 0, "", ""},
		{"17 10.0.0.1:1 10.0.0.2:2", 1, 0, "", ""},
	}
	for _, tc := range tests {
		g := byKey[tc.key]
		if g == nil {
			t.Errorf("no group %q", tc.key)
			continue
		}
		if len(g.FT) != tc.nFT || len(g.ND) != tc.nND {
			t.Errorf("%s: %d flowtop, %d nDPI records, want %d, %d", tc.key, len(g.FT), len(g.ND), tc.nFT, tc.nND)
		}
		if tc.nND == 0 {
			continue
		}
		if p := g.protocol(); p != tc.proto {
			t.Errorf("%s: protocol %q, want %q", tc.key, p, tc.proto)
		}
		if n := g.name(); n != tc.name {
			t.Errorf("%s: name %q, want %q", tc.key, n, tc.name)
		}
	}
	var tl tally
	tl.add(capture{Groups: groups})
	if tl.paired != 10 || tl.ftOnly != 2 || tl.ndOnly != 0 || tl.byPort != 1 || tl.proto[pAgree] != 6 || tl.otherNames != 1 {
		t.Errorf("tally %+v", tl)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"FHEPFCELEHFCEPFFFACACACACACACABN": "WORKGROUP",
		"ECFCFHEDDAEDECDDDIDDEEDBEGDEDCAA": "BRWC0CB383D1F42",
		"www.example.org":                  "www.example.org",
	} {
		if got := netbiosDecode(in); got != want {
			t.Errorf("netbiosDecode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"WWW.Example.org.": "www.example.org", "[::1]:8080": "::1", "example.com:8080": "example.com",
		"127.0.0.1:80": "127.0.0.1", "::1": "::1", "[": "[",
	} {
		if got := normName(in); got != want {
			t.Errorf("normName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNDPIReader runs the real ndpiReader on a capture of the oracle corpus.
func TestNDPIReader(t *testing.T) {
	bin, err := exec.LookPath("ndpiReader")
	if err != nil {
		t.Skip("ndpiReader not installed (apt-get install libndpi-bin)")
	}
	pcap := filepath.Join("..", "..", "..", "shared", "oracle", "cases", "tcp-imap-starttls", "trace.pcap")
	if _, err := os.Stat(pcap); err != nil {
		t.Skip("oracle corpus not present: ", err)
	}
	out, err := exec.Command(bin, "-i", pcap, "-v", "2").Output()
	if err != nil {
		t.Fatal(err)
	}
	nd, err := parseNDPI(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	if len(nd) != 1 || nd[0].Master() != "IMAPS" {
		t.Errorf("flows %+v, want one IMAPS flow", nd)
	}
}
