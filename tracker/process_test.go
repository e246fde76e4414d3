package tracker

import (
	"net/netip"
	"testing"

	"github.com/flowtop/flowtop/process"
)

// SetProcess names the process behind an endpoint by its address and port: the
// record carries it on that endpoint's role, the feed sees the change, and an
// endpoint the connection does not have is refused.
func TestSetProcess(t *testing.T) {
	var conn Conn
	var removed []Record
	tr := New(Config{}, Handlers{NewConn: func(c Conn) { conn = c }, Remove: func(r *Record) { removed = append(removed, *r) }})
	feed := tr.Feed(0)
	f := newUDPFlow(t, tr)
	f.send(true, 10, 0)
	if !conn.Alive() {
		t.Fatal("no connection")
	}
	tr.publish(false) // the packet's update
	<-feed.C()
	id := conn.ID()
	client := &process.Process{PID: 10, Comm: "dig"}
	server := &process.Process{PID: 20, Comm: "named"}
	if !conn.SetProcess(netip.AddrPortFrom(id.OrigH, id.OrigP), client) ||
		!conn.SetProcess(netip.AddrPortFrom(id.RespH, id.RespP), server) {
		t.Fatal("SetProcess refused the connection's own endpoints")
	}
	if conn.SetProcess(netip.AddrPortFrom(id.OrigH, id.OrigP+1), server) {
		t.Error("SetProcess accepted an endpoint the connection does not have")
	}
	// IPv4 as an IPv4-mapped IPv6 address is the same endpoint.
	if !conn.SetProcess(netip.AddrPortFrom(netip.AddrFrom16(id.OrigH.As16()), id.OrigP), client) {
		t.Error("SetProcess refused the originator's IPv4-mapped address")
	}
	var r Record
	conn.Record(&r)
	if r.OrigProc != client || r.RespProc != server {
		t.Errorf("record: orig %+v resp %+v", r.OrigProc, r.RespProc)
	}
	tr.publish(false)
	snap := <-feed.C()
	if len(snap.Updates) != 1 || snap.Updates[0].OrigProc != client {
		t.Errorf("feed: %+v", snap.Updates)
	}
	tr.Flush()
	if len(removed) != 1 || removed[0].OrigProc != client || removed[0].RespProc != server {
		t.Errorf("removal record: %+v", removed)
	}
}
