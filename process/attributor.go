package process

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Ends are a new connection's two endpoints, originator first.
type Ends struct {
	Proto      Proto
	Orig, Resp netip.AddrPort
}

// Answer is what an Attributor learned of a connection: the process behind each
// local end that it found (nil where not found, or not local).
type Answer[K comparable] struct {
	Key        K
	Ends       Ends
	Orig, Resp *Process
}

// Retries are the delays after a connection's first lookup at which the ends not
// found yet are looked up again: a socket may not be visible yet when its first
// packet is seen, and a new process not listed.
var Retries = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 250 * time.Millisecond, time.Second}

// QueueLen bounds the connections waiting for their first lookup; Submit drops
// (and counts) the ones beyond it rather than block.
const QueueLen = 8192

// Attributor resolves the processes of connections on its own goroutine: Submit
// never blocks its caller (the tracker's goroutine), and answers go to deliver in
// batches, from the Attributor's goroutine.
type Attributor[K comparable] struct {
	r       *Resolver
	in      chan job[K]
	hints   chan Ends
	recent  map[Ends]seen // what the hints found, by their ends
	deliver func([]Answer[K])
	stop    chan struct{}
	done    chan struct{}
	local   localAddrs
	dropped atomic.Uint64
	mu      sync.Mutex
	stats   Stats
	once    sync.Once
	watcher *Watcher
}

type job[K comparable] struct {
	key   K
	ends  Ends
	tries uint8
	due   time.Time
	found [2]bool
}

// NewAttributor starts an Attributor on r, which it then owns (Close closes it).
func NewAttributor[K comparable](r *Resolver, deliver func([]Answer[K])) *Attributor[K] {
	a := &Attributor[K]{
		r: r, in: make(chan job[K], QueueLen), hints: make(chan Ends, QueueLen), recent: map[Ends]seen{},
		deliver: deliver, stop: make(chan struct{}), done: make(chan struct{}),
	}
	go a.run()
	return a
}

// Submit queues a new connection. It never blocks: when the queue is full the
// connection is not attributed, and Dropped counts it.
func (a *Attributor[K]) Submit(k K, e Ends) {
	if e.Proto != TCP && e.Proto != UDP {
		return
	}
	select {
	case a.in <- job[K]{key: k, ends: e}:
	default:
		a.dropped.Add(1)
	}
}

// seen is what a hint found of a connection's ends, and when.
type seen struct {
	orig, resp *Process
	at         time.Time
}

// recentFor is how long the answers of hints are kept for the connections the
// tracker submits later; maxRecent bounds them.
const (
	recentFor = time.Minute
	maxRecent = 1 << 16
)

// hint looks up, at once, the ends of a connection whose first packet a Watcher
// has just seen; Submit then finds the answer ready. It never blocks.
func (a *Attributor[K]) hint(e Ends) {
	select {
	case a.hints <- e:
	default:
	}
}

// Watch starts w, whose packets then hint a's lookups; Close stops it.
func (a *Attributor[K]) Watch(w *Watcher) {
	a.watcher = w
	w.start(a.hint)
}

// Dropped is how many connections Submit could not queue.
func (a *Attributor[K]) Dropped() uint64 { return a.dropped.Load() }

// Stats returns the Resolver's counters.
func (a *Attributor[K]) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Close looks up, once, every connection still queued, delivers the answers and
// stops; retries still pending are abandoned. It returns when deliver has been
// called for the last time.
func (a *Attributor[K]) Close() {
	a.once.Do(func() {
		if a.watcher != nil {
			a.watcher.Close()
		}
		close(a.stop)
	})
	<-a.done
}

func (a *Attributor[K]) run() {
	defer close(a.done)
	defer a.r.Close()
	var retry []job[K]
	sweep := time.NewTicker(10 * time.Second)
	defer sweep.Stop()
	var out []Answer[K]
	timer := time.NewTimer(time.Hour)
	flush := func() {
		if len(out) > 0 {
			a.deliver(out)
			out = nil
		}
		a.mu.Lock()
		a.stats = a.r.Stats
		a.mu.Unlock()
	}
	for {
		var next time.Time
		for _, j := range retry {
			if next.IsZero() || j.due.Before(next) {
				next = j.due
			}
		}
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), 0))
		}
		select {
		case e := <-a.hints:
			a.look(e)
			for more := true; more; {
				select {
				case e := <-a.hints:
					a.look(e)
				default:
					more = false
				}
			}
			flush()
		case j := <-a.in:
			out = a.try(&j, out, &retry)
			// Take what else is queued before delivering, so answers go in batches.
			for more := true; more && len(out) < 256; {
				select {
				case j := <-a.in:
					out = a.try(&j, out, &retry)
				default:
					more = false
				}
			}
			flush()
		case now := <-sweep.C:
			for e, s := range a.recent {
				if now.Sub(s.at) > recentFor {
					delete(a.recent, e)
				}
			}
		case <-timer.C:
			now := time.Now()
			keep := retry[:0]
			var due []job[K]
			for _, j := range retry {
				if j.due.After(now) {
					keep = append(keep, j)
				} else {
					due = append(due, j)
				}
			}
			retry = keep
			for i := range due {
				out = a.try(&due[i], out, &retry)
			}
			flush()
		case <-a.stop:
			for {
				select {
				case j := <-a.in:
					j.tries = uint8(len(Retries)) // no retry now
					out = a.try(&j, out, &retry)
					continue
				default:
				}
				break
			}
			flush()
			return
		}
	}
}

// try looks up the ends of j not found yet, appends an answer when it found one,
// and schedules a retry while some local end is still unknown.
func (a *Attributor[K]) try(j *job[K], out []Answer[K], retry *[]job[K]) []Answer[K] {
	ans := Answer[K]{Key: j.key, Ends: j.ends}
	got, missing := false, false
	if j.tries == 0 {
		// A hint may have found them already, in either orientation.
		s, ok := a.recent[j.ends]
		if !ok {
			if s, ok = a.recent[Ends{j.ends.Proto, j.ends.Resp, j.ends.Orig}]; ok {
				s.orig, s.resp = s.resp, s.orig
			}
		}
		if ok {
			// An owner known without its process is kept unless a lookup
			// does better.
			for side, p := range [2]*Process{s.orig, s.resp} {
				if p == nil {
					continue
				}
				j.found[side] = p.PID != 0
				got = true
				if side == 0 {
					ans.Orig = p
				} else {
					ans.Resp = p
				}
			}
		}
	}
	for side, s := range [2]Socket{
		{Proto: j.ends.Proto, Local: j.ends.Orig, Remote: j.ends.Resp},
		{Proto: j.ends.Proto, Local: j.ends.Resp, Remote: j.ends.Orig},
	} {
		if j.found[side] || !a.local.has(s.Local.Addr()) {
			continue
		}
		p, err := a.lookup(s, side == 1)
		if err != nil || p == nil || p.PID == 0 && int(j.tries) < len(Retries) {
			// Not (yet) seen, or its process not yet listed: try again later.
			missing = true
			if p == nil || p.PID == 0 && (side == 0 && ans.Orig != nil || side == 1 && ans.Resp != nil) {
				continue // nothing better than what a hint found
			}
		}
		if p.PID != 0 || int(j.tries) >= len(Retries) {
			j.found[side] = true
		}
		if side == 0 {
			ans.Orig = p
		} else {
			ans.Resp = p
		}
		got = true
	}
	if got {
		out = append(out, ans)
	}
	if missing && int(j.tries) < len(Retries) {
		j.due = time.Now().Add(Retries[j.tries])
		j.tries++
		*retry = append(*retry, *j)
	}
	return out
}

// look looks up, once, the ends of a connection a hint announced.
func (a *Attributor[K]) look(e Ends) {
	if _, ok := a.recent[e]; ok {
		return
	}
	if _, ok := a.recent[Ends{e.Proto, e.Resp, e.Orig}]; ok {
		return
	}
	if len(a.recent) >= maxRecent {
		clear(a.recent)
	}
	s := seen{at: time.Now()}
	if a.local.has(e.Orig.Addr()) {
		s.orig, _ = a.lookup(Socket{Proto: e.Proto, Local: e.Orig, Remote: e.Resp}, false)
	}
	if a.local.has(e.Resp.Addr()) {
		s.resp, _ = a.lookup(Socket{Proto: e.Proto, Local: e.Resp, Remote: e.Orig}, true)
	}
	a.recent[e] = s
}

// lookup looks s up; for a TCP responder whose socket is gone (the server closed
// it already), the process listening on its port, which accepted it.
func (a *Attributor[K]) lookup(s Socket, resp bool) (*Process, error) {
	p, err := a.r.Lookup(s)
	if p == nil && err == nil && resp && s.Proto == TCP {
		return a.r.LookupListener(s.Local)
	}
	return p, err
}

// localAddrs are the host's own addresses, where sockets can be: loopback, and the
// interfaces' addresses, read again at most every second when an address is not
// among them.
type localAddrs struct {
	set  map[netip.Addr]bool
	read time.Time
}

func (l *localAddrs) has(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	if l.set[a] {
		return true
	}
	if time.Since(l.read) < time.Second {
		return false
	}
	l.read = time.Now()
	l.set = map[netip.Addr]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				l.set[ip.Unmap()] = true
			}
		}
	}
	return l.set[a]
}
