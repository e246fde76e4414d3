package process

import (
	"net"
	"os"
	"testing"
	"time"
)

// An Attributor names both ends of a connection submitted by its 5-tuple, also
// when a Watcher's hint looked it up first in the other orientation, and says
// nothing of a connection that has no local socket.
func TestAttributor(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	got := make(chan Answer[int], 16)
	a := NewAttributor(r, func(ans []Answer[int]) {
		for _, x := range ans {
			got <- x
		}
	})
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn := func() Ends {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		sv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sv.Close() })
		return Ends{Proto: TCP, Orig: addrPort(cl.LocalAddr()), Resp: addrPort(cl.RemoteAddr())}
	}
	wait := func(name string, key int) Answer[int] {
		t.Helper()
		select {
		case x := <-got:
			if x.Key != key {
				t.Fatalf("%s: answer for %d, want %d", name, x.Key, key)
			}
			return x
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no answer", name)
		}
		return Answer[int]{}
	}
	self := int32(os.Getpid())

	e := conn()
	a.Submit(1, e)
	if x := wait("submitted", 1); x.Orig == nil || x.Resp == nil || x.Orig.PID != self || x.Resp.PID != self || x.Ends != e {
		t.Errorf("submitted: %+v", x)
	}

	// A hint seen as the responder's packet: the answer still fits the ends as
	// submitted.
	e = conn()
	a.hint(Ends{Proto: TCP, Orig: e.Resp, Resp: e.Orig})
	var before Stats
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if before = a.Stats(); before.Lookups >= 4 {
			break
		}
	}
	a.Submit(2, e)
	if x := wait("hinted", 2); x.Orig == nil || x.Resp == nil || x.Orig.PID != self || x.Resp.PID != self {
		t.Errorf("hinted: %+v", x)
	}
	if after := a.Stats(); after.Lookups != before.Lookups {
		t.Errorf("the hint's answer was looked up again: %d lookups, then %d", before.Lookups, after.Lookups)
	}

	// Not local at all: no lookup, no answer.
	a.Submit(3, Ends{Proto: TCP, Orig: addrPort(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}), Resp: addrPort(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 2})})
	// ICMP is not looked up.
	a.Submit(4, Ends{Proto: ICMP})
	e = conn()
	a.Submit(5, e)
	if x := wait("after the unknown ones", 5); x.Orig == nil {
		t.Errorf("after the unknown ones: %+v", x)
	}
	if s := a.Stats(); s.Lookups == 0 || s.Owned == 0 {
		t.Errorf("stats %+v", s)
	}
}
