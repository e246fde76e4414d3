package analyzer

import (
	"net/netip"
)

// MaxInspect bounds how far into a connection analyzers read: once its
// orig_bytes + resp_bytes pass it, only confirmed Persistent analyzers go on. Zeek
// has no such bound; a protocol that confirms this late is out of reach.
const MaxInspect = 1 << 20

// Session is the inspection of one connection: the analyzers attached to it, with
// the PIA that attaches more by signature. The host feeds it each direction's
// reassembled data (TCP) or datagrams (UDP) until Done, then releases it.
type Session struct {
	in      *Inspector
	conn    uint64
	proto   Transport
	root    node
	partial bool      // the host's Partial, read once per delivery
	off     [2]uint64 // bytes delivered so far per direction (gaps included)
	cur     bool      // the direction being delivered (isOrig)
	changed bool      // an outcome changed since Outcomes last built them
	outs    []Outcome // the outcomes as Outcomes last built them; never changed once returned
	// The connection's PIA and its first analyzers are part of the Session, so
	// that a delivery, with thousands of connections open, finds them next to it
	// in memory rather than behind pointers of their own.
	rootPIA pia
	instBuf [2]*instance
}

// node is where analyzers attach: the connection itself, or the inside of a tunnel
// (HTTP CONNECT, WebSocket, SOCKS) with a PIA of its own.
type node struct {
	s     *Session
	insts []*instance
	pia   *pia      // nil once its window closed
	owner *instance // for a tunnel: the analyzer whose payload it carries
}

// instance is one analyzer attached to a connection.
type instance struct {
	a         *Analyzer
	p         Parser
	ctx       Ctx
	node      *node     // where it is attached; nil for a child
	parent    *instance // the analyzer that attached it, for children
	confirmed bool
	stopped   bool        // detached (violation) or done (Stop, gap)
	children  []*instance // children, and the parsers inside its tunnels
	tunnels   []*node
	out       Outcome
}

// NewSession starts inspecting the connection conn (the host's handle) of
// transport proto, whose responder port at creation was respPort. With expected
// set (an expected connection matched) no port analyzers are attached, only the
// PIA.
func (in *Inspector) NewSession(conn uint64, proto Transport, respPort uint16, expected bool) *Session {
	s := takeOr(&in.free, func() *Session { return new(Session) })
	insts := s.root.insts[:0]
	if cap(insts) == 0 {
		insts = s.instBuf[:0]
	}
	rp := s.rootPIA // released: only its buffers are kept
	*s = Session{in: in, conn: conn, proto: proto, root: node{insts: insts}, rootPIA: rp}
	s.root.s = s
	s.rootPIA.embedded = true
	in.initPIA(&s.rootPIA, proto)
	s.root.pia = &s.rootPIA
	if !expected {
		for _, a := range in.ports[Port{respPort, proto}] {
			s.root.attach(a)
		}
	}
	return s
}

// Release returns s to its Inspector for reuse; s must not be used afterwards.
// Its instances, and the parsers that can be reset, go to the next sessions: a
// connection's inspection allocates nothing once the Inspector is warm.
func (s *Session) Release() {
	in := s.in
	s.root.release()
	for _, i := range s.root.insts {
		in.recycle(i)
	}
	clear(s.root.insts)
	s.root.insts = s.root.insts[:0]
	s.in = nil
	in.free = append(in.free, s)
}

func (n *node) release() {
	if n.pia != nil {
		n.s.in.releasePIA(n.pia)
		n.pia = nil
	}
}

// attach attaches a new instance of a to n, as by its port, and returns it.
func (n *node) attach(a *Analyzer) *instance { return n.attachVia(a, Outcome{Via: ViaPort}) }

// attachVia attaches a new instance of a to n and returns it; how says how it came.
func (n *node) attachVia(a *Analyzer, how Outcome) *instance {
	i := n.s.in.newInstance(a, n.s, how)
	i.node = n
	n.insts = append(n.insts, i)
	n.s.changed = true
	return i
}

// resetter is a Parser that can be reused: Reset makes it as new, keeping its
// buffers. The Inspector keeps the parsers of ended sessions that are resetters for
// the next instances of their analyzer.
type resetter interface{ Reset() }

// newInstance returns an instance of a on session s, from the free lists when it
// can.
func (in *Inspector) newInstance(a *Analyzer, s *Session, how Outcome) *instance {
	i := takeOr(&in.insFree, func() *instance { return new(instance) })
	p := takeOr(&in.parsers[a.id], a.New)
	*i = instance{a: a, p: p, out: how, children: i.children[:0], tunnels: i.tunnels[:0]}
	i.out.Analyzer = a.id
	i.ctx = Ctx{s: s, i: i}
	return i
}

// takeOr pops the last value of the free list, or returns a new one from make.
func takeOr[T any](free *[]T, make func() T) T {
	n := len(*free)
	if n == 0 {
		return make()
	}
	x := (*free)[n-1]
	*free = (*free)[:n-1]
	return x
}

// maxFreeParsers bounds the reset parsers kept per analyzer.
const maxFreeParsers = 1024

// recycle puts i, the instances it attached, and their parsers on the free lists.
func (in *Inspector) recycle(i *instance) {
	for _, c := range i.children {
		in.recycle(c)
	}
	for _, t := range i.tunnels {
		t.release()
		for _, c := range t.insts {
			in.recycle(c)
		}
	}
	if r, ok := i.p.(resetter); ok && len(in.parsers[i.a.id]) < maxFreeParsers {
		r.Reset()
		in.parsers[i.a.id] = append(in.parsers[i.a.id], i.p)
	}
	clear(i.children)
	clear(i.tunnels)
	*i = instance{children: i.children[:0], tunnels: i.tunnels[:0]}
	in.insFree = append(in.insFree, i)
}

// live reports whether n has a live instance of a.
func (n *node) live(a *Analyzer) bool {
	for _, i := range n.insts {
		if i.a == a && !i.stopped {
			return true
		}
	}
	return false
}

// Data delivers the next bytes of one direction.
func (s *Session) Data(isOrig bool, data []byte) {
	if len(data) == 0 {
		return
	}
	s.partial = s.proto == TCP && s.in.host.Partial(s.conn)
	s.root.data(isOrig, data)
	s.off[dirIndex(isOrig)] += uint64(len(data))
}

// Gap reports n bytes of one direction that were not captured.
func (s *Session) Gap(isOrig bool, n uint64) {
	s.partial = s.proto == TCP && s.in.host.Partial(s.conn)
	s.root.gap(isOrig, n)
	s.off[dirIndex(isOrig)] += n
}

// End reports that one direction ended (its FIN).
func (s *Session) End(isOrig bool) {
	for _, i := range s.root.insts {
		i.end(isOrig)
	}
}

func (n *node) data(isOrig bool, data []byte) {
	for k := 0; k < len(n.insts); k++ {
		n.insts[k].data(isOrig, data)
	}
	if n.pia != nil {
		n.pia.chunk(n, isOrig, data, 0)
	}
}

func (n *node) gap(isOrig bool, size uint64) {
	for k := 0; k < len(n.insts); k++ {
		n.insts[k].gap(isOrig, size)
	}
	if n.pia != nil {
		n.pia.chunk(n, isOrig, nil, size)
	}
}

func (i *instance) data(isOrig bool, data []byte) {
	if i.stopped {
		return
	}
	if i.a.SkipPartial && i.ctx.s.partial {
		i.out.Partial = true
		return
	}
	i.ctx.s.cur = isOrig
	i.p.Data(&i.ctx, isOrig, data)
}

func (i *instance) gap(isOrig bool, n uint64) {
	if i.stopped || i.a.SkipPartial && i.ctx.s.partial {
		return
	}
	i.ctx.s.cur = isOrig
	if i.a.StopAtGap {
		i.decide(VerdictGap, isOrig)
		i.stop()
		return
	}
	i.p.Gap(&i.ctx, isOrig, n)
}

func (i *instance) end(isOrig bool) {
	if i.stopped {
		return
	}
	i.ctx.s.cur = isOrig
	i.p.End(&i.ctx, isOrig)
}

// stop detaches i and everything it attached.
func (i *instance) stop() {
	i.stopped = true
	for _, c := range i.children {
		c.stop()
	}
	for _, t := range i.tunnels {
		for _, c := range t.insts {
			c.stop()
		}
		t.release()
	}
}

// busy reports whether i still has work that can change the connection's record.
func (i *instance) busy(size uint64) bool {
	if i.stopped {
		return false
	}
	for _, c := range i.children {
		if c.busy(size) {
			return true
		}
	}
	for _, t := range i.tunnels {
		if t.busy(size) {
			return true
		}
	}
	if i.confirmed && i.a.Persistent {
		return true
	}
	if size > MaxInspect {
		return false
	}
	// Until violations stop counting, a violation can still remove a service.
	return !i.confirmed || size <= ViolationLimit
}

func (n *node) busy(size uint64) bool {
	if n.pia != nil {
		return true
	}
	for _, i := range n.insts {
		if i.busy(size) {
			return true
		}
	}
	return false
}

// Done reports whether nothing the connection still sends can change its service
// or names: every analyzer confirmed (and violations no longer count), was ruled
// out, or stopped, and the PIA's window closed. The host then releases s.
func (s *Session) Done() bool {
	if s.root.pia != nil {
		return false // the PIA's window is open (the host's Size is not needed)
	}
	return !s.root.busy(s.in.host.Size(s.conn))
}

// Services returns the confirmed services of s; for tests.
func (s *Session) analyzers() []*instance { return s.root.insts }

// Ctx is a parser's view of its connection: it reports what the parser found.
type Ctx struct {
	s *Session
	i *instance
}

// Confirm declares the data to be the analyzer's protocol: its name joins the
// connection's services (once per instance).
func (c *Ctx) Confirm() {
	i := c.i
	if i.confirmed || i.stopped {
		return
	}
	i.confirmed = true
	i.decide(VerdictConfirmed, true)
	h := c.s.in.host
	h.AddService(c.s.conn, i.a.id)
	if i.a.LongLived {
		h.LongLived(c.s.conn)
	}
}

// Confirmed reports whether the analyzer has confirmed.
func (c *Ctx) Confirmed() bool { return c.i.confirmed }

// Violation declares that the data is not the analyzer's protocol. Unless
// violations no longer count (ViolationLimit), the analyzer is detached and its
// name leaves the connection's services (service-detection.md §3.2).
func (c *Ctx) Violation() {
	i := c.i
	if i.stopped || i.a.Name == "ntlm" {
		return
	}
	h := c.s.in.host
	if h.Size(c.s.conn) > ViolationLimit {
		return
	}
	i.decide(VerdictViolation, c.s.cur)
	i.stop()
	h.RemoveService(c.s.conn, i.a.id)
}

// Stop says the parser needs no more data; it is not a violation.
func (c *Ctx) Stop() {
	if !c.i.confirmed {
		c.i.decide(VerdictStopped, c.s.cur)
	}
	c.i.stop()
}

// Name records a name learned on the connection (the first of each kind counts).
func (c *Ctx) Name(kind NameKind, name string) {
	if name != "" {
		c.s.in.host.Name(c.s.conn, kind, name)
	}
}

// Answer records a DNS answer: addr is name (passive DNS).
func (c *Ctx) Answer(name string, addr netip.Addr) {
	if name != "" && addr.IsValid() {
		c.s.in.host.Answer(name, addr)
	}
}

// Expect schedules an expected connection.
func (c *Ctx) Expect(e Expectation) {
	c.s.in.expect.add(e, c.s.in.host.Now())
}

// Flip reverses the connection's roles: later data arrives with isOrig swapped.
func (c *Ctx) Flip() { c.s.in.host.Flip(c.s.conn) }

// ConnID returns the connection's endpoints in its current roles.
func (c *Ctx) ConnID() ConnID { return c.s.in.host.ConnID(c.s.conn) }

// Transport returns the connection's transport (TCP inside tunnels).
func (c *Ctx) Transport() Transport { return c.s.proto }

// Child attaches the analyzer name as a child of this one, fed by the parser:
// SSL after STARTTLS, GSSAPI inside LDAP, Kerberos inside GSSAPI. The child's
// confirmations and violations are its own. It returns nil when that analyzer is
// disabled.
func (c *Ctx) Child(name string) *Child {
	a := Lookup(name)
	if a == nil || a.New == nil || !c.s.in.enabled[a.id] {
		return nil
	}
	ch := c.s.in.newInstance(a, c.s, Outcome{Via: ViaParent, Parent: c.i.a.id})
	ch.parent = c.i
	c.i.children = append(c.i.children, ch)
	c.s.changed = true
	return &Child{i: ch}
}

// Tunnel starts a PIA for payload tunnelled inside this analyzer's protocol (HTTP
// CONNECT or upgrade, WebSocket, SOCKS): its byte 0 is the first tunnelled byte, it
// has a fresh DPD window, and it sees TCP whatever the connection's transport.
func (c *Ctx) Tunnel() *Child {
	depth := 0
	for i := c.i; i != nil; {
		var n *node
		if i.node != nil {
			n = i.node
		} else {
			for p := i.parent; p != nil && n == nil; p = p.parent {
				n = p.node
			}
		}
		if n == nil || n.owner == nil {
			break
		}
		depth++
		i = n.owner
	}
	if depth >= maxTunnelNesting {
		return nil // tunnels in tunnels this deep are not followed (Child accepts nil)
	}
	n := &node{s: c.s, pia: c.s.in.newPIA(TCP), owner: c.i}
	c.i.tunnels = append(c.i.tunnels, n)
	return &Child{n: n}
}

// maxTunnelNesting bounds tunnels inside tunnels (CONNECT in CONNECT...), each with
// a PIA of its own.
const maxTunnelNesting = 4

// Child is an analyzer, or a tunnel's PIA, that a parser attached and feeds.
type Child struct {
	i *instance
	n *node
}

// Data feeds the child the next bytes of one direction.
func (ch *Child) Data(isOrig bool, data []byte) {
	if ch == nil || len(data) == 0 {
		return
	}
	if ch.i != nil {
		ch.i.data(isOrig, data)
	} else {
		ch.n.data(isOrig, data)
	}
}

// Gap reports n missing bytes of one direction to the child.
func (ch *Child) Gap(isOrig bool, n uint64) {
	if ch == nil {
		return
	}
	if ch.i != nil {
		ch.i.gap(isOrig, n)
	} else {
		ch.n.gap(isOrig, n)
	}
}

// End tells the child that one direction ended.
func (ch *Child) End(isOrig bool) {
	if ch == nil {
		return
	}
	if ch.i != nil {
		ch.i.end(isOrig)
		return
	}
	for _, i := range ch.n.insts {
		i.end(isOrig)
	}
}

// Stopped reports whether the child was detached or stopped.
func (ch *Child) Stopped() bool {
	if ch == nil {
		return true
	}
	if ch.i != nil {
		return ch.i.stopped
	}
	return !ch.n.busy(0)
}

// Confirmed reports whether the child analyzer confirmed.
func (ch *Child) Confirmed() bool { return ch != nil && ch.i != nil && ch.i.confirmed }
