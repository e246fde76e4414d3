package tracker

import (
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/flowtop/flowtop/analyzer"
)

// Stats counts what the tracker has seen. Read it only from the owner goroutine,
// or after Run returned.
type Stats struct {
	Packets   uint64 // packets read from the source
	Bytes     uint64 // wire bytes of those packets
	NotIP     uint64 // frames without an IP layer
	Malformed uint64 // frames whose headers could not be decoded
	Dropped   uint64 // IP datagrams dropped by Zeek's checks (length, header checksum, truncated transport header) or not analysed (ESP, mobility)
	Fragments uint64 // IP fragments
	Tunnels   uint64 // inner packets taken out of tunnels
	Conns     uint64 // connections created
	Evicted   uint64 // connections evicted because the table was full (Config.MaxConns)
	// FramesMissed counts frames of connections with a PacketSink that the
	// tracker no longer held (read ahead before the sink was set).
	FramesMissed uint64
	Active       int   // connections in the table now
	First        int64 // network time of the first packet, ns; 0 before it
	// Capture holds a live capture's kernel counters, read every second while Run
	// runs and once more at its end; zero for a file.
	Capture CaptureStats
}

// slabChunk is the number of connections (and of TCP states) per slab chunk; chunks
// never move, so a *conn stays valid while its slot is in use.
const slabChunk = 1024

// Tracker owns the connection table. It is not safe for concurrent use: one goroutine
// (the one calling Run, or Packet and Flush) owns it and every connection in it.
type Tracker struct {
	cfg       Config
	timeouts  Timeouts
	h         Handlers
	dec       *decoder
	table     flowTable
	slab      [][]conn     // connections
	free      []uint32     // free slab slots
	tcpSlab   [][]tcpConn  // TCP states of connections
	tcpFree   []uint32     // free TCP slab slots
	extras    []*connExtra // rare per-connection state
	extraFree []uint32     // free extras
	histBuf   []byte       // scratch space for a history

	enc            [maxTunnelDepth]encapLevel // encapsulation of the frame's packets so far
	encN           uint8                      // its depth: packets deeper than this are not processed
	ipTunnels      map[[32]byte]ipTunnelEntry // IP tunnels by address pair
	ipTunnelsMade  uint64
	heap           timerHeap
	now            int64 // network time, ns
	shown          int64 // a paced replay's clock between packets, for snapshots only
	likely         [2][65536 / 64]uint64
	localNets      []netip.Prefix
	portInactivity map[PortProto]time.Duration
	uidKey         [2]uint64
	stats          Stats
	rec            Record

	insp     *analyzer.Inspector // service identification; nil when off
	insps    []*inspection       // inspections under way, by conn.insp-1
	inspFree []uint32
	infos    []connInfo // names and analyzer outcomes, by conn.info-1
	infoFree []uint32
	pdns     passiveDNS
	closing  bool // a removed connection's inspection is flushed: violations do not count
	dnsOn    bool // the DNS analyzer runs: its session timer expires UDP DNS connections

	queue     []event     // events not yet handled (drain)
	depth     int         // > 0 while a packet, timer or handler runs: events wait
	polls     pollHeap    // scheduled poll checks
	pollLater []pollEntry // checks rescheduled during the current timer round
	pollSeq   uint64
	inTimers  bool // a timer round runs: new checks go to pollLater
	wantNew   bool // queue new_connection events
	wantEst   bool // queue connection_established events
	feed      *Feed

	calls chan func() // queued by Do
	// keepPayload makes a pipelined Run copy transport data for content delivery.
	keepPayload atomic.Bool
	// keepFrames makes a pipelined Run copy whole frames, for packet sinks and
	// the recent-packet ring.
	keepFrames atomic.Bool
	recent     *recentRing             // Config.RecentBuffer; nil when off
	attn       atomic.Bool             // Do or the Feed's ticker wants the owner's attention
	statsDue   atomic.Bool             // the ticker asks for the capture's kernel counters
	capture    statsSource             // the running source's kernel counters, if it has any
	wake       atomic.Pointer[wakeRef] // the running source, if it can be woken
}

// New returns a Tracker with cfg that reports to h, on the owner goroutine.
// cfg.Service must be valid (analyzer.Config.Validate).
func New(cfg Config, h Handlers) *Tracker {
	t := &Tracker{
		cfg:      cfg,
		timeouts: cfg.Timeouts.withDefaults(),
		h:        h,
		calls:    make(chan func(), maxPendingCalls),
		dec:      newDecoder(cfg.IgnoreChecksums),
		table:    newFlowTable([5]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}),
	}
	t.setWants()
	ports := cfg.LikelyServerPorts
	if ports == nil {
		ports = DefaultLikelyServerPorts()
	}
	for _, p := range ports {
		if i := protoIndex(p.Proto); i >= 0 {
			t.likely[i][p.Port/64] |= 1 << (p.Port % 64)
		}
	}
	insp, err := newInspector(cfg, t)
	if err != nil {
		panic("tracker: invalid Config.Service: " + err.Error())
	}
	t.insp = insp
	if insp != nil {
		t.dnsOn = insp.EnabledName("dns")
	}
	// Analyzers read payload from each connection's first byte.
	t.keepPayload.Store(cfg.KeepPayload || insp != nil)
	if cfg.RecentBuffer > 0 {
		t.recent = newRecentRing(cfg.RecentBuffer)
		t.keepFrames.Store(true)
	}
	t.localNets = cfg.LocalNets
	if t.localNets == nil {
		t.localNets = DefaultLocalNets()
	}
	t.ipTunnels = make(map[[32]byte]ipTunnelEntry)
	t.portInactivity = cfg.PortInactivity
	if t.portInactivity == nil {
		t.portInactivity = DefaultPortInactivity()
	}
	seed := cfg.UIDSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.uidKey = [2]uint64{r.Uint64(), r.Uint64()}
	return t
}

func protoIndex(p Proto) int {
	switch p {
	case ProtoTCP:
		return 0
	case ProtoUDP:
		return 1
	}
	return -1
}

func (t *Tracker) likelyServer(port uint16, p Proto) bool {
	i := protoIndex(p)
	return i >= 0 && t.likely[i][port/64]&(1<<(port%64)) != 0
}

// Stats returns the tracker's counters.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.Active = t.table.n
	return s
}

// Packet processes one captured packet of the given link type. data is not retained.
func (t *Tracker) Packet(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) {
	t.packet(data, ci, link, false)
}

// packet is Packet for a packet whose transport checksum the capture vouches for
// when trusted is set (see offloadSource).
func (t *Tracker) packet(data []byte, ci gopacket.CaptureInfo, link layers.LinkType, trusted bool) {
	var p packet
	p.csumTrusted = trusted
	t.dec.frame(data, ci, link, &p)
	p.frame, p.link = data, link // valid while the frame's packets are handled
	t.handle(&p)
	for t.dec.next(&p) {
		t.handle(&p)
	}
}

// handle processes a decoded frame: it advances network time, fires due timers and
// updates the connection table.
//
// A frame's packets come in order: its own, then those inside it (p.cont), which
// are processed only inside tunnels the tracker accepted.
func (t *Tracker) handle(p *packet) {
	if !p.cont {
		t.stats.Packets++
		t.stats.Bytes += uint64(p.wireLen)
		t.encN = 0
	} else if p.depth > t.encN {
		return // its tunnel was not decapsulated
	}
	t.depth++
	t.advance(p.ts)
	switch {
	case p.res == decodedIP:
		t.process(p)
	case p.res == ipTunnel:
		if p.depth < maxTunnelDepth {
			t.ipTunnelLevel(p)
		}
	case p.cont: // what a tunnel carried that is not IP is not counted
	case p.res == notIP:
		t.stats.NotIP++
	case p.res == malformed:
		t.stats.Malformed++
	case p.res == droppedIP, p.res == noTransport:
		t.stats.Dropped++
	case p.res == fragment:
		t.stats.Fragments++
	}
	t.depth--
	if len(t.queue) != 0 {
		t.settle()
	}
}

// advance moves network time to ts (it never goes back) and fires the timers due by
// then, which run before the packet or idle tick that brought the time.
func (t *Tracker) advance(ts int64) {
	if t.stats.First == 0 {
		t.stats.First = ts
	}
	if ts > t.now {
		t.now = ts
	}
	if t.timerDue(t.now) {
		t.expireTimers(t.now)
	}
}

// Transport header sizes that must be captured before a connection is created.
const (
	tcpMinHeader  = 20
	udpHeader     = 8
	icmpMinHeader = 8
)

func (t *Tracker) process(p *packet) {
	var sport, dport uint16
	oneWay := false
	l4 := &p.hdr
	switch p.proto {
	case ProtoTCP, ProtoUDP:
		min := tcpMinHeader
		if p.proto == ProtoUDP {
			min = udpHeader
		}
		if p.capLen < min || p.l4Len < min {
			t.stats.Dropped++
			return
		}
		sport, dport = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	case ProtoICMP, ProtoICMPv6:
		if p.capLen < icmpMinHeader || p.l4Len < icmpMinHeader {
			t.stats.Dropped++
			return
		}
		sport, dport, oneWay = icmpKeyPorts(p.proto == ProtoICMPv6, l4[0], l4[1])
	}
	key, srcIsA := makeKey(&p.src, &p.dst, sport, dport, p.proto, oneWay)
	side := 1
	if srcIsA {
		side = 0
	}
	h := t.table.hash(&key)
	var c *conn
	if idx, ok := t.lookup(&key, h); ok {
		c = t.slot(idx)
		if c.tcp != 0 && t.isReuse(c, p) {
			t.removeConn(c, ReasonReuse)
			c = nil
		}
	}
	if c == nil {
		c = t.newConn(&key, h, p, side, sport, dport)
	}
	if p.depth > 0 || c.flags&connTunnel != 0 {
		t.checkEncap(c, p.depth)
	}
	switch p.proto {
	case ProtoTCP:
		if t.tcpPacket(c, p, side) {
			t.count(c, p, side)
		}
	case ProtoUDP:
		good := t.udpPacket(c, p, side)
		if p.tun != tunNone {
			t.udpTunnelLevel(c, p, good, c.isOrigSide(side))
		}
	case ProtoICMP, ProtoICMPv6:
		t.icmpPacket(c, p, side)
	default:
		c.last = p.ts
		t.count(c, p, side)
	}
	if t.recent != nil {
		t.recent.add(c, p)
	}
	if c.flags2&connPackets != 0 {
		t.deliverFrame(c, p)
	}
	if t.feed != nil {
		t.feed.mark(c)
	}
}

// count counts a packet of side s in pkts and ip_bytes (the ConnSize analyzer) and
// checks the connection's thresholds, if it has any.
func (t *Tracker) count(c *conn, p *packet, s int) {
	c.pkts[s]++
	c.ipBytes[s] += uint64(p.ipLen)
	if c.flags&connThresholds != 0 {
		t.checkSide(c, s)
	}
}

// udpPacket processes a UDP packet of side s; it reports false for a bad checksum.
func (t *Tracker) udpPacket(c *conn, p *packet, s int) bool {
	l4 := &p.hdr
	isOrig := c.isOrigSide(s)
	captured := p.capLen >= p.l4Len
	if !t.cfg.IgnoreChecksums && captured && !(!p.v6 && l4[6] == 0 && l4[7] == 0) && !p.csumOK {
		t.scaledHistory(c, roleCode('C', isOrig), cntChecksum, s)
		return false
	}
	// Zeek's UDP adapter keeps sizes by role and does not swap them when an
	// application analyzer flips the roles later; so do we.
	role := roleIndex(isOrig)
	c.flags |= connActiveOrig << role
	if ulen := int(binary.BigEndian.Uint16(l4[4:6])); ulen > udpHeader {
		c.size[role] += uint64(ulen - udpHeader)
	}
	if isOrig {
		t.checkHistory(c, histData, 'D')
	} else {
		t.checkHistory(c, histData<<histResp, 'd')
	}
	if cs := t.contentOf(c); cs != nil {
		t.contentUDP(c, cs, p, isOrig)
	}
	if c.flags2&connInspected == 0 {
		t.inspectUDP(c, p, isOrig)
	}
	c.last = p.ts
	// The conn-size analyzer sees the packet last, with the direction it arrived with.
	t.countRole(c, p, isOrig)
	return true
}

func roleIndex(isOrig bool) int {
	if isOrig {
		return 0
	}
	return 1
}

// countRole counts a packet for the side that currently holds the role it arrived with.
func (t *Tracker) countRole(c *conn, p *packet, isOrig bool) {
	s := int(c.origSide)
	if !isOrig {
		s ^= 1
	}
	t.count(c, p, s)
}

func (t *Tracker) icmpPacket(c *conn, p *packet, s int) {
	captured := p.capLen >= p.l4Len
	if !t.cfg.IgnoreChecksums && captured && !p.csumOK {
		return
	}
	c.last = p.ts
	c.size[roleIndex(c.isOrigSide(s))] += uint64(p.l4Len - icmpMinHeader)
	if captured {
		t.count(c, p, s)
	}
}

// icmpKeyPorts returns the ports of an ICMP message of type typ and code in
// the connection key: the type and its counterpart for requests and replies,
// else the type and the code of a one-way message.
func icmpKeyPorts(v6 bool, typ, code uint8) (sport, dport uint16, oneWay bool) {
	if peer, ok := icmpCounterpart(v6, typ); ok {
		return uint16(typ), uint16(peer), false
	}
	return uint16(typ), uint16(code), true
}

// ICMPCode returns the code of the ICMP message behind conn.log's ICMP ports:
// respP for a one-way type, 0 for requests and replies (their code is always 0).
func ICMPCode(v6 bool, origP, respP uint16) uint8 {
	if _, ok := icmpCounterpart(v6, uint8(origP)); ok {
		return 0
	}
	return uint8(respP)
}

// icmpCounterpart returns the reply type for request/reply ICMP types (and the
// request for replies), conn-semantics §3.
func icmpCounterpart(v6 bool, typ uint8) (uint8, bool) {
	if v6 {
		switch typ {
		case 128, 133, 135, 130, 139, 144:
			return typ + 1, true
		case 129, 134, 136, 131, 140, 145:
			return typ - 1, true
		}
		return 0, false
	}
	switch typ {
	case 8:
		return 0, true
	case 0:
		return 8, true
	case 13, 15, 17:
		return typ + 1, true
	case 14, 16, 18:
		return typ - 1, true
	case 10:
		return 9, true
	case 9:
		return 10, true
	}
	return 0, false
}

// slot returns the connection in slab slot idx.
func (t *Tracker) slot(idx uint32) *conn {
	return &t.slab[idx/slabChunk][idx%slabChunk]
}

// newConn creates the connection for key (whose hash is h); the packet's sender (on
// side) is the originator unless the port heuristics flip the roles (conn-semantics
// §2.2).
func (t *Tracker) newConn(key *FlowKey, h uint32, p *packet, side int, sport, dport uint16) *conn {
	c := t.allocConn(key, h, side, p.ts)

	flip := false
	switch p.proto {
	case ProtoTCP:
		ti := allocSlot(&t.tcpSlab, &t.tcpFree)
		c.tcp = ti + 1
		tc := t.tcpOf(c)
		*tc = tcpConn{active: true}
		for i := range tc.ep {
			tc.ep[i].lastReassem, tc.ep[i].trimSeq = 1, 1
		}
		flags := p.hdr[13]
		if flags&flagSYN == 0 || flags&flagACK != 0 {
			if t.likelyServer(sport, ProtoTCP) {
				if t.likelyServer(dport, ProtoTCP) {
					flip = flags&flagSYN == 0 && sport < dport
				} else {
					flip = true
				}
			}
		}
		c.inactivity = t.timeouts.UDPInactivity.Nanoseconds()
		tc.at[timerExpire1] = t.now + DefaultTCPAttempt.Nanoseconds()
	case ProtoUDP:
		flip = t.likelyServer(sport, ProtoUDP) && !t.likelyServer(dport, ProtoUDP)
		c.inactivity = t.timeouts.UDPInactivity.Nanoseconds()
	case ProtoICMP, ProtoICMPv6:
		c.inactivity = t.timeouts.ICMPInactivity.Nanoseconds()
	default:
		c.inactivity = t.timeouts.UnknownInactivity.Nanoseconds()
		if p.proto == protoSCTP && p.capLen >= 4 {
			// Zeek's key of another transport has no ports, and conn.log says 0;
			// the Community ID of SCTP hashes its first packet's ports.
			info := t.infoOf(c)
			info.sctpPorts[side] = binary.BigEndian.Uint16(p.hdr[0:2])
			info.sctpPorts[side^1] = binary.BigEndian.Uint16(p.hdr[2:4])
		}
	}
	if flip && !isLimitedBroadcast(&p.dst) {
		t.flip(c)
	}
	if p.proto == ProtoUDP && t.dnsOn && dnsPort(c.port(int(c.origSide^1))) {
		c.flags |= connDNS
	}
	switch {
	case t.insp == nil || p.proto != ProtoTCP && p.proto != ProtoUDP:
		c.flags2 |= connInspected
	default:
		if c.origSide == 1 {
			c.flags2 |= connInitSide1
		}
		t.expectAt(c)
	}
	t.armTimers(c)
	if t.h.Content != nil && p.proto == ProtoUDP {
		t.askContent(c)
	}
	if t.wantNew {
		t.enqueue(c, event{kind: evNewConn, ts: p.ts})
	}
	return c
}

// allocConn takes a slot for a new connection of key (hash h) whose first
// packet, at ts, came from side, and enters it in the table (evicting first
// when the table is full).
func (t *Tracker) allocConn(key *FlowKey, h uint32, side int, ts int64) *conn {
	if t.cfg.MaxConns > 0 && t.table.n >= t.cfg.MaxConns {
		t.evict()
	}
	idx := allocSlot(&t.slab, &t.free)
	c := t.slot(idx)
	gen := c.gen + 1
	if gen == 0 {
		gen = 1
	}
	*c = conn{key: *key, start: ts, last: ts, gen: gen, idx: idx, origSide: uint8(side)}
	t.stats.Conns++
	c.seq = t.stats.Conns
	t.table.insert(h, idx)
	return c
}

// allocSlot takes a free slot of a slab, adding a chunk when none is free.
func allocSlot[T any](slab *[][]T, free *[]uint32) uint32 {
	if n := len(*free); n > 0 {
		idx := (*free)[n-1]
		*free = (*free)[:n-1]
		return idx
	}
	n := len(*slab) * slabChunk
	*slab = append(*slab, make([]T, slabChunk))
	for i := slabChunk - 1; i > 0; i-- {
		*free = append(*free, uint32(n+i))
	}
	return uint32(n)
}

var limitedBroadcast = [16]byte{10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}

func isLimitedBroadcast(a *[16]byte) bool { return *a == limitedBroadcast }

// port returns the transport port of side s.
func (c *conn) port(s int) uint16 {
	if s == 0 {
		return c.key.PA
	}
	return c.key.PB
}

func (c *conn) addr(s int) [16]byte {
	if s == 0 {
		return c.key.A
	}
	return c.key.B
}

// removeConn finalises c, hands its record to the consumer and frees its slot.
func (t *Tracker) removeConn(c *conn, reason RemoveReason) {
	if c.insp != 0 {
		t.finishInspection(c)
	}
	t.fillRecord(c, &t.rec)
	t.rec.Reason = reason
	t.rec.Removed = time.Unix(0, t.now)
	if x := t.peekExtra(c); x != nil {
		if x.content != nil {
			t.flushContent(c, x.content)
		}
		if len(x.hooks) > 0 {
			runRemovalHooks(x, &t.rec)
		}
		if x.packets != nil {
			x.packets.Close()
			x.packets = nil
		}
	}
	if t.h.Remove != nil {
		t.h.Remove(&t.rec)
	}
	if t.feed != nil {
		t.feed.removal(c, &t.rec)
	}
	t.table.remove(t.table.hash(&c.key), c.idx)
	c.gen++
	if c.gen == 0 {
		c.gen = 1
	}
	if c.tcp != 0 {
		t.tcpFree = append(t.tcpFree, c.tcp-1)
		c.tcp = 0
	}
	t.freeExtra(c)
	t.freeInfo(c)
	t.free = append(t.free, c.idx)
}

// fillRecord fills r with c's record as it would be if c were removed now.
func (t *Tracker) fillRecord(c *conn, r *Record) {
	t.fillFigures(c, r)
	r.UID = t.uid(c.seq)
	r.History = string(t.historyOf(c))
}

// historyOf returns c's history: what Zeek's history letters say, or for a
// connection from flow records what an exporting flowtop said.
func (t *Tracker) historyOf(c *conn) []byte {
	if c.flags2&connFromFlows != 0 {
		if c.info != 0 {
			return []byte(t.infos[c.info-1].flowHistory)
		}
		return nil
	}
	return t.history(c)
}

// connID returns c's 5-tuple, originator first.
func (c *conn) connID() ConnID {
	o, rs := int(c.origSide), int(c.origSide^1)
	return ConnID{
		OrigH: addrOf(c.addr(o)),
		OrigP: c.port(o),
		RespH: addrOf(c.addr(rs)),
		RespP: c.port(rs),
		Proto: c.key.Proto,
	}
}

// fillFigures fills every field of r but the two strings that cost an allocation,
// UID and History.
func (t *Tracker) fillFigures(c *conn, r *Record) {
	o, rs := int(c.origSide), int(c.origSide^1)
	*r = Record{
		TS:          time.Unix(0, c.start),
		ConnID:      c.connID(),
		ConnState:   t.connState(c),
		OrigPkts:    c.pkts[o],
		OrigIPBytes: c.ipBytes[o],
		RespPkts:    c.pkts[rs],
		RespIPBytes: c.ipBytes[rs],
		Service:     service(c),
		Names:       t.namesOf(c),
		Analyzers:   t.analyzersOf(c),
	}
	if t.pdns.cur != nil {
		r.OrigName, r.RespName = t.pdns.lookup(r.OrigH), t.pdns.lookup(r.RespH)
	}
	if c.info != 0 {
		info := &t.infos[c.info-1]
		r.OrigProc, r.RespProc = info.procs[o], info.procs[rs]
		r.SCTPOrigP, r.SCTPRespP = info.sctpPorts[o], info.sctpPorts[rs]
		if c.flags2&connFromFlows != 0 && info.flowService != "" {
			r.Service = info.flowService
		}
	}
	r.FromFlows = c.flags2&connFromFlows != 0
	if d := c.last - c.start; d > 0 {
		r.Duration, r.HasDuration = time.Duration(d), true
		if c.tcp != 0 {
			tc := t.tcpOf(c)
			r.OrigBytes = tc.ep[o].size(&tc.ep[rs])
			r.RespBytes = tc.ep[rs].size(&tc.ep[o])
		} else {
			r.OrigBytes, r.RespBytes = c.size[0], c.size[1]
		}
	}
	if x := t.peekExtra(c); x != nil {
		r.MissedBytes = x.missed
		if x.tunnel != nil {
			r.TunnelParents = t.tunnelParents(c)
		}
	}
	if len(t.localNets) > 0 {
		r.HasLocal = true
		r.LocalOrig = t.isLocal(r.OrigH)
		r.LocalResp = t.isLocal(r.RespH)
	}
}

func (t *Tracker) isLocal(a netip.Addr) bool {
	for _, n := range t.localNets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

const base62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// uid derives a Zeek-style connection uid ("C" and base62 digits of 96 bits) from the
// connection's sequence number, keyed by the tracker's seed.
func (t *Tracker) uid(seq uint64) string {
	var buf [uidLen]byte
	return string(t.appendUID(buf[:0], seq))
}

// uidLen is the length of a uid.
const uidLen = 18

// appendUID appends the uid of connection seq to b.
func (t *Tracker) appendUID(b []byte, seq uint64) []byte {
	a := mix(seq ^ t.uidKey[0])
	c := mix(seq+t.uidKey[1]) >> 32
	b = append(b, 'C')
	for range 11 {
		b = append(b, base62[a%62])
		a /= 62
	}
	for range 6 {
		b = append(b, base62[c%62])
		c /= 62
	}
	return b
}

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Flush removes every connection as at end of input, oldest first, after running
// pending poll checks once more and handling queued events.
func (t *Tracker) Flush() {
	t.depth++
	t.flushPolls()
	t.depth--
	t.settle()
	type entry struct {
		seq uint64
		idx uint32
	}
	conns := make([]entry, 0, t.table.n)
	for _, w := range t.table.slots {
		if w != 0 {
			idx := uint32(w) - 1
			conns = append(conns, entry{t.slot(idx).seq, idx})
		}
	}
	slices.SortFunc(conns, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	if t.feed != nil {
		// The final removals all reach the Feed: they are bounded by the table, and
		// the consumer shows the final table from them.
		t.feed.flushing = true
		defer func() { t.feed.flushing = false }()
	}
	for _, e := range conns {
		t.removeConn(t.slot(e.idx), ReasonEndOfInput)
	}
	t.heap = t.heap[:0]
}
