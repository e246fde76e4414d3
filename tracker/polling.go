package tracker

import "time"

// Polling translates Zeek's ConnPolling (conn-semantics §10): a callback that runs on
// network time, first after a delay and then after whatever interval it returns. A
// check due at T runs just before the first packet with a timestamp at or after T, so
// the period drifts as Zeek's does; at the end of input, pending checks run once more
// while their connections still exist.

// PollFunc is a poll callback. n counts its earlier calls for this watch (0, 1, 2…).
// It returns when to run again; a negative interval stops polling.
type PollFunc func(c Conn, n int) time.Duration

// pollEntry is one scheduled check.
type pollEntry struct {
	t   int64  // due, ns of network time
	seq uint64 // scheduling order, to run checks due at the same time in FIFO order
	idx uint32
	gen uint32
	n   int
	fn  PollFunc
}

// pollHeap is a min-heap of checks by due time, then scheduling order.
type pollHeap []pollEntry

func (h pollHeap) less(i, j int) bool {
	return h[i].t < h[j].t || h[i].t == h[j].t && h[i].seq < h[j].seq
}

func (h *pollHeap) push(e pollEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *pollHeap) pop() pollEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = pollEntry{}
	s = s[:n]
	for i := 0; ; {
		m, l := i, 2*i+1
		if l < n && s.less(l, m) {
			m = l
		}
		if r := l + 1; r < n && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// Poll runs fn for the connection after delay of network time (0: before the next
// packet), and then after each interval fn returns, until fn returns a negative
// interval or the connection is removed; then polling stops silently. It reports
// false for a stale handle or a nil fn.
func (h Conn) Poll(delay time.Duration, fn PollFunc) bool {
	c := h.conn()
	if c == nil || fn == nil {
		return false
	}
	h.t.schedulePoll(c, max(delay, 0), 0, fn)
	return true
}

// schedulePoll schedules check n of fn on c after delay. Checks scheduled while
// timers run wait for the next round, so that a delay of 0 means "before the next
// packet", never a loop.
func (t *Tracker) schedulePoll(c *conn, delay time.Duration, n int, fn PollFunc) {
	t.pollSeq++
	e := pollEntry{t: t.now + delay.Nanoseconds(), seq: t.pollSeq, idx: c.idx, gen: c.gen, n: n, fn: fn}
	if t.inTimers {
		t.pollLater = append(t.pollLater, e)
		return
	}
	t.polls.push(e)
}

// runPoll runs one due check and reschedules it as its callback asks.
func (t *Tracker) runPoll(e pollEntry) {
	c := t.liveConn(e.idx, e.gen)
	if c == nil {
		return
	}
	t.depth++
	next := e.fn(Conn{t: t, idx: e.idx, gen: e.gen}, e.n)
	t.depth--
	if c = t.liveConn(e.idx, e.gen); c != nil && next >= 0 {
		t.schedulePoll(c, next, e.n+1, e.fn)
	}
}

// flushPolls runs every pending check once, in due order, as Zeek does at the end of
// input; what they reschedule is dropped with their connections.
func (t *Tracker) flushPolls() {
	t.inTimers = true
	for len(t.polls) > 0 {
		t.runPoll(t.polls.pop())
	}
	t.inTimers = false
	clear(t.pollLater)
	t.pollLater = t.pollLater[:0]
}
