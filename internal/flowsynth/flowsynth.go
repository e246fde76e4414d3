// Package flowsynth generates a synthetic stream of tracker snapshots, for the
// benchmarks of the TUI's flow store and frames.
package flowsynth

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

// The synthetic workload: a tracker's Feed at its default rate (every 250 ms) on a
// busy link with n connections held, 5% of them closed and lingering (Linger is a
// minute of network time). Each snapshot updates 10% of the flows (a random tenth:
// bytes, packets, duration, sometimes the state), closes a few and opens as many
// (so that, as the oldest closed flows expire, the store keeps its size).
// Addresses, ports and protocols are those of a campus link: 80% TCP, mostly to
// 443 and 80, 17% UDP, mostly DNS, 3% ICMP, 10% IPv6, clients in a /16, servers
// among a few thousand; bytes are log-uniform from tens of bytes to megabytes; one
// TCP connection in ten is an unanswered attempt (S0).
const (
	Every  = 250 * time.Millisecond
	Linger = time.Minute
)

// synthConn is a connection of the synthetic workload.
type synthConn struct {
	uid          string
	seq          uint64
	ts, last     time.Time
	id           tracker.ConnID
	state, hist  string
	origB, respB uint64
	origP, respP uint64
}

// Gen generates the snapshots.
type Gen struct {
	rng     *rand.Rand
	n       int // flows held: live + closed lingering
	now     time.Time
	conns   []synthConn // every connection ever opened (closed ones are cleared)
	live    []int32     // indices in conns of the live ones
	servers []netip.Addr
	churn   int // connections closed (and opened) per snapshot
	stats   tracker.Stats
	snap    tracker.Snapshot // reused: the Store copies what it keeps
}

var synthEpoch = time.Unix(1_700_000_000, 0).UTC()

func New(n int, seed uint64) *Gen {
	g := &Gen{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), n: n, now: synthEpoch.Add(10 * time.Minute)}
	// One closed flow in 20 lingers; they expire over Linger, and as many close.
	g.churn = max(1, n/20/int(Linger/Every))
	for i := range 3000 {
		if i%10 == 0 {
			g.servers = append(g.servers, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
		} else {
			g.servers = append(g.servers, netip.AddrFrom4([4]byte{byte(23 + g.rng.IntN(200)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(254))}))
		}
	}
	return g
}

// logUniform returns an integer log-uniformly distributed in [lo, hi].
func (g *Gen) logUniform(lo, hi float64) uint64 {
	return uint64(math.Exp(math.Log(lo) + g.rng.Float64()*(math.Log(hi)-math.Log(lo))))
}

// open adds a connection that started at ts.
func (g *Gen) open(ts time.Time) int32 {
	g.stats.Conns++
	c := synthConn{seq: g.stats.Conns, ts: ts}
	c.uid = synthUID(c.seq)
	server := g.servers[g.rng.IntN(len(g.servers))]
	var client netip.Addr
	if server.Is6() {
		client = netip.AddrFrom16([16]byte{0xfd, 0, 0, 0, 0, 0, 0, 1, 8: byte(g.rng.Uint32()), 12: byte(g.rng.Uint32()), 13: byte(g.rng.Uint32()), 15: 1 + byte(g.rng.IntN(254))})
	} else {
		client = netip.AddrFrom4([4]byte{10, byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(254))})
	}
	c.id = tracker.ConnID{OrigH: client, RespH: server, OrigP: uint16(32768 + g.rng.IntN(28232))}
	switch p := g.rng.IntN(100); {
	case p < 80:
		c.id.Proto = tracker.ProtoTCP
		c.id.RespP = [...]uint16{443, 443, 443, 443, 443, 443, 80, 80, 22, 8080, 993, 5432}[g.rng.IntN(12)]
		c.state, c.hist = "S1", "ShADad"
		if g.rng.IntN(10) == 0 {
			c.state, c.hist = "S0", "S"
		}
	case p < 97:
		c.id.Proto = tracker.ProtoUDP
		c.id.RespP = [...]uint16{53, 53, 53, 53, 53, 53, 53, 123, 443, 5353}[g.rng.IntN(10)]
		c.state, c.hist = "SF", "Dd"
	default:
		c.id.Proto = tracker.ProtoICMP
		if server.Is6() {
			c.id.Proto = tracker.ProtoICMPv6
		}
		c.id.OrigP, c.id.RespP = 8, 0
		c.state, c.hist = "OTH", ""
	}
	c.last = ts
	g.grow(&c, time.Duration(g.rng.Int64N(int64(g.now.Sub(ts))+1)))
	g.conns = append(g.conns, c)
	return int32(len(g.conns) - 1)
}

// grow adds traffic to c, its last packet d after its start at the latest: a
// retransmitted SYN for an unanswered TCP attempt (S0), payload both ways for the
// others, TCP the most (the first time, at least the 1k of a request and its
// response, so that the share of flows that benchFilter passes does not drift).
func (g *Gen) grow(c *synthConn, d time.Duration) {
	var ob, rb uint64
	switch {
	case c.state == "S0":
		c.origP++
		g.stats.Packets++
		g.stats.Bytes += 74
		return
	case c.id.Proto != tracker.ProtoTCP:
		ob, rb = g.logUniform(40, 1200), g.logUniform(56, 1400)
	case c.origP == 0:
		ob, rb = g.logUniform(300, 2e5), g.logUniform(800, 5e6)
	default:
		ob, rb = g.logUniform(40, 2e5), g.logUniform(1, 5e6)
	}
	c.origB += ob
	c.respB += rb
	c.origP += 1 + ob/1200
	c.respP += 1 + rb/1400
	if last := c.ts.Add(d); last.After(c.last) {
		c.last = last
	}
	g.stats.Packets += 2 + ob/1200 + rb/1400
	g.stats.Bytes += ob + rb + 80
}

// record returns c's conn.log record as of now.
func (c *synthConn) record() tracker.Record {
	hdr := uint64(40)
	if c.id.Proto != tracker.ProtoTCP {
		hdr = 28
	}
	return tracker.Record{
		TS: c.ts, UID: c.uid, ConnID: c.id,
		Duration: c.last.Sub(c.ts), HasDuration: c.last.After(c.ts),
		OrigBytes: c.origB, RespBytes: c.respB, ConnState: c.state, History: c.hist,
		OrigPkts: c.origP, OrigIPBytes: c.origB + hdr*c.origP, RespPkts: c.respP, RespIPBytes: c.respB + hdr*c.respP,
	}
}

// close returns c's final record, removed at t: closed with FINs, or an
// unanswered attempt timed out.
func (c *synthConn) close(t time.Time) tracker.Record {
	reason := tracker.ReasonAttempt
	if c.state != "S0" {
		c.state, c.hist, reason = "SF", c.hist+"fF", tracker.ReasonClose
	}
	r := c.record()
	r.Reason, r.Removed = reason, t
	return r
}

func (c *synthConn) update() tracker.Update {
	return tracker.Update{Record: c.record(), Seq: c.seq, Inactivity: time.Hour}
}

// synthUID returns a uid shaped like the tracker's: "C", 11 base62 digits of a
// bijective mix of seq (so uids are distinct) and 6 more.
func synthUID(seq uint64) string {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	a, c := synthMix(seq), synthMix(seq+0x632be59bd9b4e019)>>32
	b := make([]byte, 0, 18)
	b = append(b, 'C')
	for range 11 {
		b = append(b, base62[a%62])
		a /= 62
	}
	for range 6 {
		b = append(b, base62[c%62])
		c /= 62
	}
	return string(b)
}

// synthMix is SplitMix64's finaliser, a bijection.
func synthMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// initial returns the first snapshot: n flows, started over the last ten minutes,
// 5% of them closed at times spread over the last Linger.
func (g *Gen) Initial() *tracker.Snapshot {
	closed := g.n / 20
	snap := &tracker.Snapshot{Time: g.now, Updates: make([]tracker.Update, 0, g.n-closed), Removed: make([]tracker.Record, 0, closed)}
	g.conns = make([]synthConn, 0, g.n+g.n/4)
	g.live = make([]int32, 0, g.n)
	for i := range g.n {
		ts := synthEpoch.Add(time.Duration(g.rng.Int64N(int64(g.now.Sub(synthEpoch) - time.Second))))
		j := g.open(ts)
		c := &g.conns[j]
		if i < closed {
			snap.Removed = append(snap.Removed, c.close(g.now.Add(-time.Duration(g.rng.Int64N(int64(Linger))))))
			g.conns[j] = synthConn{}
			continue
		}
		g.live = append(g.live, j)
		snap.Updates = append(snap.Updates, c.update())
	}
	g.stats.Active = len(g.live)
	snap.Stats = g.stats
	return snap
}

// next returns the next snapshot, Every later. The snapshot is reused by the
// following call.
func (g *Gen) Next() *tracker.Snapshot {
	g.now = g.now.Add(Every)
	s := &g.snap
	s.Time = g.now
	s.Updates, s.Removed = s.Updates[:0], s.Removed[:0]
	changed := max(g.n/10-g.churn, 1)
	k := min(changed+g.churn, len(g.live))
	for j := range k { // a random sample of the live flows, without repeats
		x := j + g.rng.IntN(len(g.live)-j)
		g.live[j], g.live[x] = g.live[x], g.live[j]
	}
	for _, j := range g.live[:min(changed, k)] {
		c := &g.conns[j]
		g.grow(c, g.now.Sub(c.ts)-time.Duration(g.rng.Int64N(int64(Every))))
		s.Updates = append(s.Updates, c.update())
	}
	if changed < k {
		for _, j := range g.live[changed:k] {
			c := &g.conns[j]
			s.Removed = append(s.Removed, c.close(g.now))
			g.conns[j] = synthConn{}
		}
		g.live = append(g.live[:changed], g.live[k:]...)
	}
	for range k - changed {
		j := g.open(g.now.Add(-time.Duration(g.rng.Int64N(int64(Every)))))
		g.live = append(g.live, j)
		s.Updates = append(s.Updates, g.conns[j].update())
	}
	g.stats.Active = len(g.live)
	s.Stats = g.stats
	return s
}
