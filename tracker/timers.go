package tracker

// Connection timers run on network time. Each connection has at most one entry in the
// tracker's heap, at the earliest of its deadlines; when that entry comes due the
// connection's due timers fire in deadline order and the entry is re-armed. The
// inactivity deadline (last_time + timeout) is evaluated lazily, so a packet never
// touches the heap.

// Timer kinds, after Zeek's TCP analyzer timers.
const (
	timerAttempt = iota // AttemptTimer: unanswered SYN
	timerExpire1        // ExpireTimer armed at creation (tcp_SYN_timeout, then every tcp_session_timer)
	timerExpire2        // ExpireTimer armed by a half close
	timerReset          // ResetTimer: RST after FIN
	timerDelete         // connection delete after a complete close
	numTimers
)

// timerEntry is one heap entry: a connection slot and generation, due at t.
type timerEntry struct {
	t   int64
	idx uint32
	gen uint32
}

// timerHeap is a binary min-heap of entries ordered by time.
type timerHeap []timerEntry

func (h *timerHeap) push(e timerEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].t <= s[i].t {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *timerHeap) pop() timerEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s[r].t < s[l].t {
			m = r
		}
		if s[i].t <= s[m].t {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// dnsSessionTimeout is Zeek's dns_session_timeout.
const dnsSessionTimeout = 10_000_000_000

// dnsPort reports the UDP ports Zeek's DNS analyzer registers on (DNS, NetBIOS name
// service, mDNS, LLMNR).
func dnsPort(port uint16) bool { return port == 53 || port == 137 || port == 5353 || port == 5355 }

// dnsDeadline is when Zeek's DNS analyzer removes a UDP connection: its ExpireTimer
// fires every dns_session_timeout from the connection's start and removes the
// connection once it has been quiet for dns_session_timeout less a second. Computed
// from start and last_time, it needs no state of its own.
func dnsDeadline(c *conn) int64 {
	quietBy := c.last + dnsSessionTimeout - 1_000_000_000
	k := (quietBy - c.start + dnsSessionTimeout - 1) / dnsSessionTimeout
	return c.start + max(k, 1)*dnsSessionTimeout
}

// nextDeadline returns the connection's earliest deadline, inactivity included.
func (t *Tracker) nextDeadline(c *conn) int64 {
	next := c.last + c.inactivity
	if c.flags2&connFromFlows != 0 && c.info != 0 {
		next = max(c.last, t.infos[c.info-1].flowSeen) + c.inactivity
	}
	if c.inactivity == 0 {
		next = 0
	}
	if c.flags&connDNS != 0 {
		if d := dnsDeadline(c); next == 0 || d < next {
			next = d
		}
	}
	if c.tcp != 0 {
		for _, at := range t.tcpOf(c).at {
			if at != 0 && (next == 0 || at < next) {
				next = at
			}
		}
	}
	return next
}

// armTimers makes sure the heap holds an entry no later than c's next deadline.
func (t *Tracker) armTimers(c *conn) {
	next := t.nextDeadline(c)
	if next == 0 || (c.heapAt != 0 && c.heapAt <= next) {
		return
	}
	c.heapAt = next
	t.heap.push(timerEntry{t: next, idx: c.idx, gen: c.gen})
}

// setInactivityTimeout is Session::SetInactivityTimeout: the timer counts from last_time.
func (t *Tracker) setInactivityTimeout(c *conn, d int64) {
	c.inactivity = d
	t.armTimers(c)
}

// timerDue reports whether a connection timer or a poll check is due at now.
func (t *Tracker) timerDue(now int64) bool {
	return len(t.heap) > 0 && t.heap[0].t <= now || len(t.polls) > 0 && t.polls[0].t <= now
}

// expireTimers fires every timer due at or before now (timers fire before a packet
// with the same timestamp).
func (t *Tracker) expireTimers(now int64) {
	if len(t.polls) == 0 {
		for len(t.heap) > 0 && t.heap[0].t <= now {
			t.fireEntry(now)
		}
		return
	}
	// Connection timers and poll checks run in due order, a connection timer first
	// on a tie. Checks scheduled meanwhile wait for the next round.
	t.inTimers = true
	for {
		conns := len(t.heap) > 0 && t.heap[0].t <= now
		polls := len(t.polls) > 0 && t.polls[0].t <= now
		if conns && (!polls || t.heap[0].t <= t.polls[0].t) {
			t.fireEntry(now)
		} else if polls {
			t.runPoll(t.polls.pop())
		} else {
			break
		}
	}
	t.inTimers = false
	for _, e := range t.pollLater {
		t.polls.push(e)
	}
	clear(t.pollLater)
	t.pollLater = t.pollLater[:0]
}

// evict removes the connection whose next deadline is the earliest, to make room for
// a new one; every connection has a deadline (at least its inactivity timeout), so
// the heap's first live entry names it.
func (t *Tracker) evict() {
	for len(t.heap) > 0 {
		ent := t.heap.pop()
		c := t.slot(ent.idx)
		if c.gen != ent.gen || c.heapAt != ent.t {
			continue
		}
		t.stats.Evicted++
		t.removeConn(c, ReasonEviction)
		return
	}
}

// fireEntry pops the heap's first entry and fires its connection's due timers.
func (t *Tracker) fireEntry(now int64) {
	ent := t.heap.pop()
	c := t.slot(ent.idx)
	if c.gen != ent.gen || c.heapAt != ent.t {
		return // stale: the connection is gone or re-armed earlier
	}
	c.heapAt = 0
	if t.fireDue(c, now) {
		t.armTimers(c)
	}
}

// fireDue runs c's timers that are due at now, earliest first. It returns false if
// the connection was removed.
func (t *Tracker) fireDue(c *conn, now int64) bool {
	var tc *tcpConn
	if c.tcp != 0 {
		tc = t.tcpOf(c)
	}
	for {
		kind, at := -1, int64(0)
		if tc != nil {
			for k, d := range tc.at {
				if d != 0 && d <= now && (kind < 0 || d < at) {
					kind, at = k, d
				}
			}
		}
		inact := c.inactivity != 0 && c.last+c.inactivity <= now
		if inact && (kind < 0 || c.last+c.inactivity <= at) || c.flags&connDNS != 0 && dnsDeadline(c) <= now {
			t.removeConn(c, ReasonInactivity)
			return false
		}
		if kind < 0 {
			return true
		}
		tc.at[kind] = 0
		if !t.fireTimer(c, tc, kind, now) {
			return false
		}
	}
}

// fireTimer runs one TCP analyzer timer of c (whose TCP state is tc); it returns false
// if the connection was removed.
func (t *Tracker) fireTimer(c *conn, tc *tcpConn, kind int, now int64) bool {
	if kind == timerDelete {
		reason := ReasonClose
		if tc.ep[0].state == tcpReset || tc.ep[1].state == tcpReset {
			reason = ReasonReset
		}
		t.removeConn(c, reason)
		return false
	}
	if !tc.active {
		return true
	}
	orig, resp := &tc.ep[c.origSide], &tc.ep[c.origSide^1]
	switch kind {
	case timerAttempt:
		if (orig.state == tcpSynSent || orig.state == tcpSynAckSent) && resp.state == tcpInactive {
			tc.active = false
			t.removeConn(c, ReasonAttempt)
			return false
		}
	case timerExpire1, timerExpire2:
		if c.last+t.timeouts.TCPLinger.Nanoseconds() < now {
			if orig.didClose || resp.didClose {
				if (orig.didClose && resp.didClose) || orig.state == tcpReset || resp.state == tcpReset ||
					orig.state == tcpInactive || resp.state == tcpInactive {
					tc.active = false
					t.removeConn(c, ReasonExpire)
					return false
				}
			}
			if resp.state == tcpInactive && orig.state == tcpInactive {
				t.removeConn(c, ReasonExpire)
				return false
			}
		}
		tc.at[kind] = now + t.timeouts.TCPSession.Nanoseconds()
	case timerReset:
		t.removeConn(c, ReasonReset)
		return false
	}
	return true
}
