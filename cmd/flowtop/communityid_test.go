package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// The Community ID spec's published baseline (corelight/community-id-spec,
// baseline/baseline_deflt.json and baseline_seed1.json), for the protocols
// conn.log holds: each tuple as the first packet of a connection carries it,
// both directions. The ICMP "ports" are the type and code of the packet.
var communityIDBaseline = []struct {
	proto        layers.IPProtocol
	saddr, daddr string
	sport, dport uint16 // ICMP: type, code of the packet sent
	seed0, seed1 string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "192.168.0.1", "192.168.0.89", 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
}

// onePacketCapture writes a capture of one packet from saddr to daddr: a TCP SYN,
// a UDP datagram, an SCTP packet, or an ICMP or ICMPv6 message of the given type
// and code.
func onePacketCapture(t *testing.T, path string, proto layers.IPProtocol, saddr, daddr string, sport, dport uint16) {
	t.Helper()
	src, dst := netip.MustParseAddr(saddr), netip.MustParseAddr(daddr)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	var ipl interface {
		gopacket.SerializableLayer
		gopacket.NetworkLayer
	}
	if src.Is4() {
		ipl = &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ipl = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	ls := []gopacket.SerializableLayer{eth, ipl}
	payload := gopacket.Payload(bytes.Repeat([]byte{0}, 24))
	switch proto {
	case layers.IPProtocolTCP:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Seq: 1000, Window: 65535}
		tcp.SetNetworkLayerForChecksum(ipl)
		ls, payload = append(ls, tcp), nil
	case layers.IPProtocolUDP:
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		udp.SetNetworkLayerForChecksum(ipl)
		ls = append(ls, udp)
	case layers.IPProtocolSCTP:
		ls = append(ls, &layers.SCTP{SrcPort: layers.SCTPPort(sport), DstPort: layers.SCTPPort(dport), VerificationTag: 1})
	case layers.IPProtocolICMPv4:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(sport), uint8(dport)), Id: 7, Seq: 1})
	case layers.IPProtocolICMPv6:
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(sport), uint8(dport))}
		icmp.SetNetworkLayerForChecksum(ipl)
		ls = append(ls, icmp)
	}
	if payload != nil {
		ls = append(ls, payload)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1_700_000_000, 0), CaptureLength: len(data), Length: len(data)}
	if err := w.WritePacket(ci, data); err != nil {
		t.Fatal(err)
	}
}

// TestCommunityID reads a capture of each baseline tuple and checks conn.log's
// community_id, with seed 0 and seed 1, in TSV and in JSON.
func TestCommunityID(t *testing.T) {
	dir := t.TempDir()
	for seed := range 2 {
		path := filepath.Join(dir, "config.toml")
		conf := fmt.Sprintf("[connlog]\nextra_fields = [\"community_id\"]\ncommunity_id_seed = %d\n", seed)
		if seed == 0 {
			conf = "[connlog]\nextra_fields = [\"community_id\"]\n" // the default seed
		}
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := []string{"--config", path}
		for i, c := range communityIDBaseline {
			want := c.seed0
			if seed == 1 {
				want = c.seed1
			}
			trace := filepath.Join(dir, "vector.pcap")
			onePacketCapture(t, trace, c.proto, c.saddr, c.daddr, c.sport, c.dport)
			var out, errb bytes.Buffer
			if st := run(append(cfg, "--headless", "--json", "-r", trace), &out, &errb); st != exitOK {
				t.Fatalf("vector %d: status %d: %s", i, st, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("vector %d (%s %s > %s): %d records: %s", i, c.proto, c.saddr, c.daddr, len(lines), out.String())
			}
			var rec struct {
				CommunityID string `json:"community_id"`
				OrigH       string `json:"id.orig_h"`
				OrigP       int    `json:"id.orig_p"`
				RespP       int    `json:"id.resp_p"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.CommunityID != want {
				t.Errorf("seed %d, vector %d (%s %s:%d > %s:%d; conn.log %s %d %d): community_id %q, want %q",
					seed, i, c.proto, c.saddr, c.sport, c.daddr, c.dport, rec.OrigH, rec.OrigP, rec.RespP, rec.CommunityID, want)
			}
			// The TSV log carries the same value, typed string.
			out.Reset()
			if st := run(append(cfg, "--headless", "-r", trace), &out, &errb); st != exitOK {
				t.Fatalf("vector %d: TSV: status %d: %s", i, st, errb.String())
			}
			if !strings.Contains(out.String(), "\t"+want+"\n") || !strings.Contains(out.String(), "\tcommunity_id\n") {
				t.Errorf("seed %d, vector %d: TSV lacks community_id %s:\n%s", seed, i, want, out.String())
			}
		}
	}
}

// TestCommunityIDAgreesWithTshark reads each oracle trace and checks that every
// TCP, UDP and ICMP connection's community_id is one Wireshark's Community ID
// post-dissector computes for the same packets. Traces with tunnels are left
// out: Wireshark gives a packet one ID, of its innermost flow, where conn.log has
// the outer connection too.
func TestCommunityIDAgreesWithTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("skipping: tshark not found")
	}
	cases, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap*"))
	if len(cases) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	conf := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(conf, []byte("[connlog]\nextra_fields = [\"community_id\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, trace := range cases {
		name := filepath.Base(filepath.Dir(trace))
		if strings.HasPrefix(name, "tun-") {
			continue
		}
		out, err := exec.Command("tshark", "-n", "-r", trace, "--enable-protocol", "communityid", "-T", "fields", "-e", "communityid").Output()
		if err != nil {
			t.Fatalf("%s: tshark: %v", name, err)
		}
		theirs := map[string]bool{}
		for _, id := range strings.FieldsFunc(string(out), func(r rune) bool { return r == '\n' || r == ',' }) {
			theirs[id] = true
		}
		var stdout, stderr bytes.Buffer
		if st := run([]string{"-C", "--config", conf, "--headless", "--json", "-r", trace}, &stdout, &stderr); st != exitOK {
			t.Fatalf("%s: status %d: %s", name, st, stderr.String())
		}
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			var r struct {
				Proto string `json:"proto"`
				CID   string `json:"community_id"`
				UID   string `json:"uid"`
			}
			if line == "" || json.Unmarshal([]byte(line), &r) != nil || r.Proto == "unknown_transport" {
				continue
			}
			compared++
			if !theirs[r.CID] {
				t.Errorf("%s: %s (%s): community_id %s is not among tshark's", name, r.UID, r.Proto, r.CID)
			}
		}
	}
	t.Logf("%d connections agree with tshark", compared)
}
