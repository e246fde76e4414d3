package main

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/tracker/pcapfilter"
)

// attribution names the local processes behind a live capture's connections: each
// new connection goes to a process.Attributor, whose answers come back to the
// tracker's goroutine through Do.
type attribution struct {
	a  *process.Attributor[tracker.Conn]
	tr *tracker.Tracker
}

// procSource is what attribution reads: the socket resolver and the watcher of
// new connections' first packets.
type procSource struct {
	r *process.Resolver
	w *process.Watcher // nil when it could not be opened
}

// watchExpr passes TCP SYNs (IPv4, and IPv6 without extension headers) and UDP.
const (
	watchSYN = "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02)"
	watchAll = watchSYN + " or udp"
)

// openProcSource opens what attribution needs, before -Z drops privileges, and
// reads the owners of the sockets already open. It returns nil, with the lines to
// tell the user, when attribution is off: reading a file, --no-process, or a
// kernel or platform without it.
func openProcSource(o *options, iface string) (*procSource, []string) {
	if o.read != "" || o.noProcess {
		return nil, nil
	}
	r, err := process.New()
	if err != nil {
		return nil, []string{fmt.Sprintf("process attribution is off: %v", err)}
	}
	r.Prime()
	ps := &procSource{r: r}
	msgs := r.Warnings()
	if w, err := openWatcher(iface); err != nil {
		msgs = append(msgs, fmt.Sprintf("process attribution: %v: connections shorter than a few milliseconds may go unattributed", err))
	} else {
		ps.w = w
	}
	if o.user != "" {
		msgs = append(msgs, fmt.Sprintf("process attribution: running as %s (-Z), processes of other users are named by their user only", o.user))
	}
	if peer := otherNamespacePeer(iface); peer != "" {
		msgs = append(msgs, "process attribution: "+peer)
	}
	return ps, msgs
}

// openWatcher opens the watcher of first packets on iface ("any": all).
func openWatcher(iface string) (*process.Watcher, error) {
	index := 0
	if iface != "any" && iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return nil, err
		}
		index = ifi.Index
	}
	var f process.WatchFilters
	for _, c := range []struct {
		expr string
		prog *[]bpf.RawInstruction
	}{{watchAll, &f.All}, {watchSYN, &f.SYN}} {
		flt, err := pcapfilter.Parse(c.expr)
		if err != nil {
			return nil, err
		}
		if *c.prog, err = flt.Compile(layers.LinkTypeRaw, process.WatchSnaplen); err != nil {
			return nil, err
		}
	}
	return process.NewWatcher(index, f)
}

// close releases what was opened, for a session that ends before it starts.
func (ps *procSource) close() {
	if ps == nil {
		return
	}
	if ps.w != nil {
		ps.w.Close()
	}
	ps.r.Close()
}

// startAttribution hands each new connection to an Attributor on ps; set the
// attribution's tracker once it exists, before it runs.
func startAttribution(ps *procSource, h *tracker.Handlers) *attribution {
	if ps == nil {
		return nil
	}
	at := &attribution{}
	at.a = process.NewAttributor(ps.r, at.deliver)
	if ps.w != nil {
		at.a.Watch(ps.w)
	}
	prev := h.NewConn
	h.NewConn = func(c tracker.Conn) {
		if prev != nil {
			prev(c)
		}
		id := c.ID()
		at.a.Submit(c, process.Ends{
			Proto: process.Proto(id.Proto),
			Orig:  netip.AddrPortFrom(id.OrigH, id.OrigP),
			Resp:  netip.AddrPortFrom(id.RespH, id.RespP),
		})
	}
	return at
}

// deliver applies a batch of answers on the tracker's goroutine.
func (at *attribution) deliver(ans []process.Answer[tracker.Conn]) {
	fn := func() {
		for _, x := range ans {
			if x.Orig != nil {
				x.Key.SetProcess(x.Ends.Orig, x.Orig)
			}
			if x.Resp != nil {
				x.Key.SetProcess(x.Ends.Resp, x.Resp)
			}
		}
	}
	// Do refuses when its queue is full (the UI's calls share it): try again
	// shortly, for a while; the tracker is never made to wait.
	for range 100 {
		if at.tr.Do(fn) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drain looks up what is still queued and waits (a bounded time) until the
// tracker has applied every answer: call it before stopping the tracker, so that
// the records it then flushes carry their processes.
func (at *attribution) drain() {
	if at == nil {
		return
	}
	at.a.Close()
	done := make(chan struct{})
	if at.tr.Do(func() { close(done) }) {
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
}

// stop stops the Attributor without waiting for the tracker: call it once the
// tracker has stopped.
func (at *attribution) stop() {
	if at != nil {
		at.a.Close()
	}
}
