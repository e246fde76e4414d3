package process

import (
	"net"
	"net/netip"
	"os"
	"testing"
)

// The Resolver finds this test's own sockets by their 5-tuples, both ends, over
// TCP and UDP, IPv4, IPv6 and IPv4 on a dual-stack socket (an IPv4-mapped
// address), and says nothing of a socket that does not exist.
func TestResolverOwnSockets(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	defer r.Close()
	self := int32(os.Getpid())
	check := func(name string, proto Proto, local, remote net.Addr) {
		t.Helper()
		s := Socket{Proto: proto, Local: addrPort(local), Remote: addrPort(remote)}
		p, err := r.Lookup(s)
		if err != nil || p == nil || p.PID != self || p.UID != uint32(os.Getuid()) {
			t.Errorf("%s: %+v: %+v, %v; want pid %d", name, s, p, err, self)
		}
	}
	for _, c := range []struct{ name, network, listen, dial string }{
		{"tcp4", "tcp", "127.0.0.1:0", "127.0.0.1"},
		{"tcp6", "tcp", "[::1]:0", "::1"},
		{"tcp4 on a dual-stack socket", "tcp", "[::]:0", "127.0.0.1"},
	} {
		ln, err := net.Listen(c.network, c.listen)
		if err != nil {
			t.Logf("%s: %v", c.name, err)
			continue
		}
		port := ln.Addr().(*net.TCPAddr).Port
		cl, err := net.Dial("tcp", net.JoinHostPort(c.dial, itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		sv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		check(c.name+" client", TCP, cl.LocalAddr(), cl.RemoteAddr())
		check(c.name+" server", TCP, sv.LocalAddr(), sv.RemoteAddr())
		cl.Close()
		sv.Close()
		ln.Close()
	}
	for _, c := range []struct{ name, listen, dial string }{
		{"udp4", "127.0.0.1:0", "127.0.0.1"},
		{"udp6", "[::1]:0", "::1"},
		{"udp4 on a dual-stack socket", "[::]:0", "127.0.0.1"},
	} {
		sv, err := net.ListenPacket("udp", c.listen)
		if err != nil {
			t.Logf("%s: %v", c.name, err)
			continue
		}
		port := sv.LocalAddr().(*net.UDPAddr).Port
		cl, err := net.Dial("udp", net.JoinHostPort(c.dial, itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		check(c.name+" client", UDP, cl.LocalAddr(), cl.RemoteAddr())
		// The server's socket is unconnected: its local end is the port it is
		// bound to, its remote end the client.
		srvEnd := netip.AddrPortFrom(addrPort(cl.RemoteAddr()).Addr(), uint16(port))
		s := Socket{Proto: UDP, Local: srvEnd, Remote: addrPort(cl.LocalAddr())}
		if p, err := r.Lookup(s); err != nil || p == nil || p.PID != self {
			t.Errorf("%s server: %+v: %+v, %v", c.name, s, p, err)
		}
		cl.Close()
		sv.Close()
	}
	none := Socket{Proto: TCP, Local: netip.MustParseAddrPort("127.0.0.1:1"), Remote: netip.MustParseAddrPort("127.0.0.1:2")}
	if p, err := r.Lookup(none); p != nil || err != nil {
		t.Errorf("no such socket: %+v, %v", p, err)
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

func itoa(n int) string { return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(n)).String()[8:] }
