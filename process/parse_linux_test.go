package process

import (
	"net/netip"
	"testing"
)

func TestParseEnds(t *testing.T) {
	ip4 := func(proto byte, frag uint16, l4 ...byte) []byte {
		b := []byte{0x45, 0, 0, 0, 0, 0, byte(frag >> 8), byte(frag), 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
		return append(b, l4...)
	}
	ip6 := func(next byte, rest ...byte) []byte {
		b := make([]byte, 40)
		b[0], b[6] = 0x60, next
		b[23], b[39] = 1, 2 // ::1 and ::2
		return append(b, rest...)
	}
	ports := []byte{0x9c, 0x40, 0x00, 0x50} // 40000 → 80
	for _, c := range []struct {
		name string
		b    []byte
		want Ends
		ok   bool
	}{
		{"tcp4", ip4(6, 0, ports...), Ends{TCP, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")}, true},
		{"udp4", ip4(17, 0, ports...), Ends{UDP, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")}, true},
		{"first fragment", ip4(6, 0x2000, ports...), Ends{TCP, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")}, true},
		{"later fragment", ip4(6, 0x0010, ports...), Ends{}, false},
		{"icmp", ip4(1, 0, ports...), Ends{}, false},
		{"short ports", ip4(6, 0, 0x9c, 0x40), Ends{}, false},
		{"bad ihl", append([]byte{0x44}, ip4(6, 0, ports...)[1:]...), Ends{}, false},
		{"tcp6", ip6(6, ports...), Ends{TCP, netip.MustParseAddrPort("[::1]:40000"), netip.MustParseAddrPort("[::2]:80")}, true},
		{"tcp6 after hop-by-hop", ip6(0, append([]byte{6, 0, 0, 0, 0, 0, 0, 0}, ports...)...), Ends{TCP, netip.MustParseAddrPort("[::1]:40000"), netip.MustParseAddrPort("[::2]:80")}, true},
		{"ipv6 fragment header", ip6(44, append([]byte{6, 0, 0, 0, 0, 0, 0, 0}, ports...)...), Ends{}, false},
		{"short ipv6", ip6(6)[:30], Ends{}, false},
		{"not ip", []byte{0x10, 1, 2, 3}, Ends{}, false},
		{"empty", nil, Ends{}, false},
	} {
		got, ok := parseEnds(c.b)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseEnds(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 80})
	f.Add(append(make([]byte, 40), 1, 2, 3, 4))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := parseEnds(b)
		if ok && (e.Proto != TCP && e.Proto != UDP || !e.Orig.IsValid() || !e.Resp.IsValid()) {
			t.Fatalf("%+v from %x", e, b)
		}
	})
}

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		in    string
		comm  string
		ppid  int32
		start uint64
		ok    bool
	}{
		{"4242 (curl) S 4200 4242 4200 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3", "curl", 4200, 987654, true},
		// A command name may hold spaces and parentheses: the last ')' ends it.
		{"7 (a) (b) c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 1", "a) (b) c", 1, 55, true},
		{"7 (x) R 1", "", 0, 0, false},
		{"garbage", "", 0, 0, false},
	} {
		comm, ppid, start, ok := parseStat([]byte(c.in))
		if comm != c.comm || ppid != c.ppid || start != c.start || ok != c.ok {
			t.Errorf("%q: %q %d %d %v", c.in, comm, ppid, start, ok)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (curl) S 4200 4242 4200 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStat(b) })
}

func TestCmdline(t *testing.T) {
	if got := cmdline([]byte("curl\x00-s\x00http://x/\x00")); got != "curl -s http://x/" {
		t.Errorf("%q", got)
	}
	if got := cmdline([]byte("a\nb\x1bc")); got != "a b c" {
		t.Errorf("control characters: %q", got)
	}
	long := make([]byte, 2*MaxCmdline)
	for i := range long {
		long[i] = 'a'
	}
	if got := cmdline(long); len(got) != MaxCmdline {
		t.Errorf("%d bytes, want at most %d", len(got), MaxCmdline)
	}
}

func TestCgroupOf(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct{ in, path, unit, container string }{
		{"0::/system.slice/sshd.service\n", "/system.slice/sshd.service", "sshd.service", ""},
		{"0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1.scope\n", "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1.scope", "app-firefox-1.scope", ""},
		{"0::/system.slice/docker-" + id + ".scope\n", "/system.slice/docker-" + id + ".scope", "docker-" + id + ".scope", id},
		{"0::/kubepods/burstable/pod1/" + id + "\n", "/kubepods/burstable/pod1/" + id, "", id},
		{"12:cpu:/x\n0::/\n", "/", "", ""},
		{"1:name=systemd:/x\n", "", "", ""},
	} {
		p, u, k := cgroupOf([]byte(c.in))
		if p != c.path || u != c.unit || k != c.container {
			t.Errorf("%q: %q %q %q", c.in, p, u, k)
		}
	}
}

func TestAppendPIDs(t *testing.T) {
	// Three linux_dirent64 records: ".", "42" and "self".
	rec := func(ino uint64, name string) []byte {
		n := (19 + len(name) + 1 + 7) &^ 7
		b := make([]byte, n)
		for i := range 8 {
			b[i] = byte(ino >> (8 * i))
		}
		b[16], b[17] = byte(n), byte(n>>8)
		copy(b[19:], name)
		return b
	}
	var buf []byte
	buf = append(buf, rec(1, ".")...)
	buf = append(buf, rec(777, "42")...)
	buf = append(buf, rec(2, "self")...)
	got := appendPIDs(nil, buf)
	if len(got) != 1 || got[0] != (pidEntry{42, 777}) {
		t.Errorf("%+v", got)
	}
	if got := appendPIDs(nil, buf[:10]); len(got) != 0 {
		t.Errorf("truncated: %+v", got)
	}
}

func FuzzAppendPIDs(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 4, '4', '2', 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { appendPIDs(nil, b) })
}

func TestProcessLabel(t *testing.T) {
	var none *Process
	for _, c := range []struct {
		p    *Process
		want string
	}{
		{&Process{PID: 4242, Comm: "curl"}, "curl/4242"},
		{&Process{User: "alice"}, "(alice)"},
		{none, ""},
	} {
		if got := c.p.Label(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

func FuzzParseDiagMsg(f *testing.F) {
	f.Add(make([]byte, diagMsgLen))
	f.Fuzz(func(t *testing.T, b []byte) { parseDiagMsg(b) })
}
