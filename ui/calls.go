package ui

import (
	"slices"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/flowtop/flowtop/ui/flows"
)

// Every call from the UI into the tracker is here. The rule: a call the user
// asked for goes through do, which says so on the bottom line when the tracker
// cannot take it (the capture ended, or its queue is full); a background query
// (the detail view's facts, the sparkline's sampling) goes through ask and is
// silently skipped then. Answers come back through reply, never blocking the
// tracker.

// ask runs fn on the tracker's goroutine if it can, without a word when not: for
// queries the UI makes on its own.
func (m *Model) ask(fn func()) {
	if m.tr != nil && !m.ended {
		m.tr.Do(fn)
	}
}

// do runs fn on the tracker's goroutine, reporting when it cannot.
func (m *Model) do(fn func()) {
	switch {
	case m.tr == nil || m.ended:
		m.message = "capture has ended: nothing to change"
	case !m.tr.Do(fn):
		m.message = "tracker busy: try again"
	}
}

// reply sends msg from the tracker's goroutine without ever blocking it: replies
// wait in a queue that one goroutine delivers in order (so an older answer never
// overtakes a newer one); when the UI lags that far behind, a reply is dropped.
func (m *Model) reply(msg tea.Msg) {
	select {
	case m.replies <- msg:
	default:
	}
}

// deliver forwards replies to the program, in order.
func deliver(replies <-chan tea.Msg, send func(tea.Msg)) {
	for msg := range replies {
		send(msg)
	}
}

// follow samples the selected connection for the sparkline, through the tracker's
// polling API.
func (m *Model) follow() {
	f := m.selected()
	if f == nil || f.Closed || m.ended || m.tr == nil || f.Conn == m.sampledConn {
		return
	}
	if m.spark != nil {
		m.spark.stop.Store(true)
	}
	s := &sampler{uid: f.UID}
	m.spark, m.sampledConn = s, f.Conn
	conn := f.Conn
	m.ask(func() { conn.Poll(0, s.poll) })
}

func (m *Model) changeThreshold(t threshold, add bool) {
	d := m.dialog
	if d.uid == "" {
		m.defaults = slices.DeleteFunc(m.defaults, func(x threshold) bool { return x == t })
		if add {
			m.defaults = append(m.defaults, t)
		}
		d.list = slices.Clone(m.defaults)
		d.sel = min(d.sel, max(len(d.list)-1, 0))
		m.applyDefaults()
		return
	}
	conn, uid := d.conn, d.uid
	m.do(func() {
		t.apply(conn, add)
		m.reply(connInfo(uid, conn))
	})
}

// applyDefaults hands the default thresholds to the tracker.
func (m *Model) applyDefaults() {
	d := toDefaults(m.defaults)
	tr := m.tr
	m.do(func() { tr.SetDefaultThresholds(d) })
}

// toWrite returns the selected connection if its content or packets can be
// written, else nil, saying why on the bottom line (what: "extraction", ...).
func (m *Model) toWrite(what, nothingLeft string) *flows.Flow {
	f := m.selected()
	switch {
	case f == nil:
		return nil
	case m.ex == nil:
		m.message = what + " is not available"
		return nil
	case f.Closed:
		m.message = "connection closed: " + nothingLeft
		return nil
	case f.FromFlows:
		m.message = "a connection from flow records has no packets or content to write"
		return nil
	}
	return f
}

// togglePackets starts or stops writing the selected connection's packets into
// a pcapng file (the w key).
func (m *Model) togglePackets() {
	f := m.toWrite("writing packets", "no packets left to write")
	if f == nil {
		return
	}
	conn, uid, ex := f.Conn, f.UID, m.ex
	m.do(func() {
		on, name, before, written := ex.togglePackets(conn)
		m.reply(packetsMsg{uid, on, name, before, written})
	})
}

// toggleExtract starts or stops extracting the selected connection (the x key).
func (m *Model) toggleExtract() {
	f := m.toWrite("extraction", "nothing left to extract")
	if f == nil {
		return
	}
	conn, uid, ex := f.Conn, f.UID, m.ex
	m.do(func() { m.reply(extractMsg{uid, ex.toggle(conn)}) })
}
