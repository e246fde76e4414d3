package tracker

import (
	"github.com/flowtop/flowtop/process"
	"net/netip"
	"strings"

	"github.com/flowtop/flowtop/analyzer"
)

// Service identification: the tracker feeds each TCP and UDP connection's payload
// to an analyzer.Session from its first payload byte (TCP reassembled in sequence
// order, with gaps, as Zeek's analyzers get it) until the session is done, then
// drops it; a connection that is decided, or never carries payload, costs a flag
// test per packet. The session reports back through host: services in
// confirmation order (conn.svc), role flips, names, passive DNS answers.

// maxInspectBuffered bounds the data one direction of an inspection holds above a
// hole; beyond it the oldest holes are given up as gaps.
const maxInspectBuffered = 64 << 10

// inspection is one connection's identification under way: the analyzer session
// and the reassembly of each direction for it. It is the session's ContentSink.
type inspection struct {
	sess  *analyzer.Session
	cs    contentState
	ended [2]bool // by side: its FIN came with every byte before it delivered
}

// Data implements ContentSink.
func (x *inspection) Data(isOrig bool, data []byte) { x.sess.Data(isOrig, data) }

// Gap implements ContentSink.
func (x *inspection) Gap(isOrig bool, n uint64) { x.sess.Gap(isOrig, n) }

// Names are the names learned on a connection's wire. A Names value is never
// changed once a Record holds it.
type Names struct {
	SNI       string // TLS server name (also from a QUIC Initial)
	HTTPHost  string // HTTP Host header
	DNSQuery  string // the DNS question
	SSHClient string // SSH client software
	SSHServer string // SSH server software
}

// ServerName is conn.log's server_name: the SNI, else the HTTP host, else the DNS
// query; "" when none was seen.
func (n *Names) ServerName() string {
	switch {
	case n == nil:
		return ""
	case n.SNI != "":
		return n.SNI
	case n.HTTPHost != "":
		return n.HTTPHost
	}
	return n.DNSQuery
}

// String lists the names that were seen, as kind=name pairs.
func (n *Names) String() string {
	if n == nil {
		return "<none>"
	}
	var b strings.Builder
	for k := analyzer.NameSNI; k <= analyzer.NameSSHServer; k++ {
		if f := n.field(k); *f != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k.String() + "=" + *f)
		}
	}
	return b.String()
}

// set returns a copy of n with the name of kind set, unless n has one of that kind
// already (then n itself).
func (n *Names) set(kind analyzer.NameKind, name string) *Names {
	var m Names
	if n != nil {
		m = *n
	}
	f := m.field(kind)
	if f == nil || *f != "" {
		return n
	}
	*f = name
	return &m
}

func (n *Names) field(kind analyzer.NameKind) *string {
	switch kind {
	case analyzer.NameSNI:
		return &n.SNI
	case analyzer.NameHTTPHost:
		return &n.HTTPHost
	case analyzer.NameDNSQuery:
		return &n.DNSQuery
	case analyzer.NameSSHClient:
		return &n.SSHClient
	case analyzer.NameSSHServer:
		return &n.SSHServer
	}
	return nil
}

// passiveDNS maps addresses to the names DNS answers seen on the wire gave them.
// It holds two generations of at most passiveDNSSize entries each: when the newer
// fills, the older is dropped, so recent answers stay and memory is bounded.
type passiveDNS struct {
	cur, old map[netip.Addr]string
}

const passiveDNSSize = 1 << 16

func (d *passiveDNS) add(addr netip.Addr, name string) {
	addr = addr.Unmap()
	if d.cur == nil {
		d.cur = make(map[netip.Addr]string)
	}
	if len(d.cur) >= passiveDNSSize {
		d.old, d.cur = d.cur, make(map[netip.Addr]string, passiveDNSSize/4)
	}
	d.cur[addr] = name
}

func (d *passiveDNS) lookup(addr netip.Addr) string {
	if d.cur == nil {
		return ""
	}
	addr = addr.Unmap()
	if n, ok := d.cur[addr]; ok {
		return n
	}
	return d.old[addr]
}

// NameOf returns the name the DNS answers seen so far gave addr, or "".
func (t *Tracker) NameOf(addr netip.Addr) string { return t.pdns.lookup(addr) }

// newInspector builds the tracker's Inspector, or nil with NoService.
func newInspector(cfg Config, t *Tracker) (*analyzer.Inspector, error) {
	if cfg.NoService {
		return nil, nil
	}
	return analyzer.New(cfg.Service, (*host)(t))
}

// handleOf is the analyzer's name for connection c.
func handleOf(c *conn) uint64 { return uint64(c.gen)<<32 | uint64(c.idx) }

// transportOf returns the analyzer transport of a TCP or UDP connection.
func transportOf(p Proto) analyzer.Transport {
	if p == ProtoTCP {
		return analyzer.TCP
	}
	return analyzer.UDP
}

// expectAt looks c up in the expected connections, at creation or after a flip,
// and adds the labels of a match.
func (t *Tracker) expectAt(c *conn) {
	if !t.insp.Pending() {
		return
	}
	id := c.connID()
	labels, ok := t.insp.Expected(analyzer.ConnID{
		Orig:      netip.AddrPortFrom(id.OrigH, id.OrigP),
		Resp:      netip.AddrPortFrom(id.RespH, id.RespP),
		Transport: transportOf(c.key.Proto),
	}, t.now)
	if !ok {
		return
	}
	c.flags2 |= connExpected
	for _, l := range labels {
		addService(c, l)
	}
}

// inspectionOf returns c's inspection, starting one when c may still get a
// service and has none; nil when c is decided.
func (t *Tracker) inspectionOf(c *conn) *inspection {
	if c.insp != 0 {
		return t.insps[c.insp-1]
	}
	if c.flags2&connInspected != 0 || t.insp == nil {
		return nil
	}
	var i uint32
	if n := len(t.inspFree); n > 0 {
		i = t.inspFree[n-1]
		t.inspFree = t.inspFree[:n-1]
	} else {
		t.insps = append(t.insps, new(inspection))
		i = uint32(len(t.insps) - 1)
	}
	x := t.insps[i]
	c.insp = i + 1
	respSide := 1
	if c.flags2&connInitSide1 != 0 {
		respSide = 0
	}
	x.sess = t.insp.NewSession(handleOf(c), transportOf(c.key.Proto), c.port(respSide), c.flags2&connExpected != 0)
	x.cs.sink = x
	x.cs.limit = maxInspectBuffered
	if c.tcp != 0 {
		// Each direction's stream starts at its first byte (relative sequence 1).
		for s := range x.cs.side {
			x.cs.side[s] = contentSide{started: true, next: 1, start: 1}
		}
	}
	return x
}

// inspectTCP gives the inspection n bytes of side s's data at relative sequence
// seq (data nil when the payload was not kept).
func (t *Tracker) inspectTCP(c *conn, s int, seq, n uint64, data []byte) {
	x := t.inspectionOf(c)
	if x == nil {
		return
	}
	t.contentTCP(c, &x.cs, s, seq, n, data)
	t.checkInspection(c, x)
}

// inspectAcked passes an acknowledgement of side s's data to the inspection.
func (t *Tracker) inspectAcked(c *conn, s int, upTo uint64) {
	x := t.insps[c.insp-1]
	t.contentAcked(c, &x.cs, s, upTo)
	t.checkInspection(c, x)
}

// inspectEnd tells the inspection that side s sent its FIN at relative sequence
// fin. Once both sides ended with nothing left in a hole, no byte can reach the
// analyzers any more and the inspection ends now rather than when the connection
// is removed (seconds later, by tcp_close_delay), so that its buffers go to the
// next connection.
func (t *Tracker) inspectEnd(c *conn, s int, fin uint64) {
	x := t.insps[c.insp-1]
	x.sess.End(c.isOrigSide(s))
	if d := &x.cs.side[s]; len(d.blocks) == 0 && d.next >= fin {
		x.ended[s] = true
	}
	if x.ended[0] && x.ended[1] {
		t.endInspection(c)
		return
	}
	t.checkInspection(c, x)
}

// inspectUDP gives the inspection a datagram.
func (t *Tracker) inspectUDP(c *conn, p *packet, isOrig bool) {
	x := t.inspectionOf(c)
	if x == nil {
		return
	}
	t.contentUDP(c, &x.cs, p, isOrig)
	t.checkInspection(c, x)
}

// checkInspection ends c's inspection once nothing can change its outcome.
func (t *Tracker) checkInspection(c *conn, x *inspection) {
	if c.insp != 0 && x.sess.Done() {
		t.endInspection(c)
	}
}

// endInspection drops c's inspection: c is decided.
func (t *Tracker) endInspection(c *conn) {
	x := t.insps[c.insp-1]
	if outs := x.sess.Outcomes(); len(outs) > 0 {
		t.infoOf(c).analyzers = outs
	}
	x.sess.Release()
	x.sess = nil
	for s := range x.cs.side {
		d := &x.cs.side[s]
		clear(d.blocks)
		*d = contentSide{blocks: d.blocks[:0]}
	}
	x.ended = [2]bool{}
	t.inspFree = append(t.inspFree, c.insp-1)
	c.insp = 0
	c.flags2 |= connInspected
}

// finishInspection ends c's inspection as c is removed: data held above holes is
// delivered (its confirmations count, as Zeek's analyzers' shutdown is handled
// before the connection is logged; its violations do not).
func (t *Tracker) finishInspection(c *conn) {
	x := t.insps[c.insp-1]
	t.closing = true
	t.flushContent(c, &x.cs)
	t.closing = false
	t.endInspection(c)
}

// addService adds id to c's services unless present.
func addService(c *conn, id analyzer.ID) {
	for i, s := range c.svc {
		if s == id {
			return
		}
		if s == 0 {
			c.svc[i] = id
			return
		}
	}
}

// removeService deletes id from c's services, keeping the order of the others.
func removeService(c *conn, id analyzer.ID) {
	for i, s := range c.svc {
		if s == id {
			copy(c.svc[i:], c.svc[i+1:])
			c.svc[len(c.svc)-1] = 0
			return
		}
	}
}

// service returns conn.log's service: the confirmed services, comma-joined, ""
// when none.
func service(c *conn) string {
	if c.svc[0] == 0 {
		return ""
	}
	if c.svc[1] == 0 {
		return analyzer.Name(c.svc[0])
	}
	var b strings.Builder
	for i, s := range c.svc {
		if s == 0 {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(analyzer.Name(s))
	}
	return b.String()
}

// connInfo is what a connection learned on the wire (its names and what its
// analyzers decided) and from the host (the processes behind its endpoints, by
// side). All are immutable once a Record holds them.
type connInfo struct {
	names     *Names
	analyzers []analyzer.Outcome
	procs     [2]*process.Process
	sctpPorts [2]uint16 // an SCTP connection's first ports, by side (for the Community ID)
	// What flow records from a flowtop said of a connection built from them.
	flowState, flowHistory, flowService string
	// flowSeen is the network time of the connection's latest record: its
	// inactivity counts from there when records come late (another exporter's
	// clock, a file read out of order).
	flowSeen int64
}

// infoOf returns c's info slot, creating it.
func (t *Tracker) infoOf(c *conn) *connInfo {
	if c.info == 0 {
		if k := len(t.infoFree); k > 0 {
			c.info = t.infoFree[k-1] + 1
			t.infoFree = t.infoFree[:k-1]
		} else {
			t.infos = append(t.infos, connInfo{})
			c.info = uint32(len(t.infos))
		}
	}
	return &t.infos[c.info-1]
}

// namesOf returns c's names, or nil.
func (t *Tracker) namesOf(c *conn) *Names {
	if c.info == 0 {
		return nil
	}
	return t.infos[c.info-1].names
}

// analyzersOf returns what c's analyzers decided so far, or nil.
func (t *Tracker) analyzersOf(c *conn) []analyzer.Outcome {
	if c.insp != 0 {
		return t.insps[c.insp-1].sess.Outcomes()
	}
	if c.info == 0 {
		return nil
	}
	return t.infos[c.info-1].analyzers
}

// freeInfo releases c's info.
func (t *Tracker) freeInfo(c *conn) {
	if c.info == 0 {
		return
	}
	t.infos[c.info-1] = connInfo{}
	t.infoFree = append(t.infoFree, c.info-1)
	c.info = 0
}

// tunnelConfirm confirms the tunnel analyzer of kind on the outer connection c
// (service-detection.md §6): VXLAN, Geneve, AYIYA and GTP on a good header, Teredo
// once both directions carried one.
func (t *Tracker) tunnelConfirm(c *conn, kind tunnelKind, isOrig bool) {
	if t.insp == nil {
		return
	}
	var name string
	switch kind {
	case tunVXLAN:
		name = "vxlan"
	case tunGeneve:
		name = "geneve"
	case tunAYIYA:
		name = "ayiya"
	case tunGTP:
		name = "gtpv1"
	case tunTeredo:
		x := t.extraOf(c)
		x.teredoSeen |= 1 << roleIndex(isOrig)
		if x.teredoSeen != 3 {
			return
		}
		name = "teredo"
	default:
		return
	}
	if a := analyzer.Lookup(name); a != nil && t.insp.Enabled(a.ID()) {
		addService(c, a.ID())
	}
}

// host is the Tracker as the analyzers' Host.
type host Tracker

var _ analyzer.Host = (*host)(nil)

// conn returns the connection of handle h, or nil when it is gone.
func (h *host) conn(handle uint64) *conn {
	t := (*Tracker)(h)
	idx := uint32(handle)
	if int(idx/slabChunk) >= len(t.slab) {
		return nil
	}
	c := t.slot(idx)
	if c.gen != uint32(handle>>32) {
		return nil
	}
	return c
}

func (h *host) ConnID(handle uint64) analyzer.ConnID {
	c := h.conn(handle)
	if c == nil {
		return analyzer.ConnID{}
	}
	id := c.connID()
	return analyzer.ConnID{
		Orig:      netip.AddrPortFrom(id.OrigH, id.OrigP),
		Resp:      netip.AddrPortFrom(id.RespH, id.RespP),
		Transport: transportOf(c.key.Proto),
	}
}

func (h *host) Partial(handle uint64) bool {
	c := h.conn(handle)
	return c != nil && c.tcp != 0 && (*Tracker)(h).tcpOf(c).partial
}

func (h *host) Size(handle uint64) uint64 {
	c := h.conn(handle)
	if c == nil {
		return 0
	}
	if c.tcp != 0 {
		tc := (*Tracker)(h).tcpOf(c)
		return tc.ep[0].size(&tc.ep[1]) + tc.ep[1].size(&tc.ep[0])
	}
	return c.size[0] + c.size[1]
}

func (h *host) AddService(handle uint64, id analyzer.ID) {
	if c := h.conn(handle); c != nil {
		addService(c, id)
	}
}

func (h *host) RemoveService(handle uint64, id analyzer.ID) {
	if c := h.conn(handle); c != nil && !h.closing {
		removeService(c, id)
	}
}

func (h *host) Flip(handle uint64) {
	if c := h.conn(handle); c != nil {
		(*Tracker)(h).flip(c)
	}
}

func (h *host) LongLived(handle uint64) {
	if c := h.conn(handle); c != nil {
		(*Tracker)(h).setInactivityTimeout(c, DefaultServiceInactivity.Nanoseconds())
	}
}

func (h *host) Name(handle uint64, kind analyzer.NameKind, name string) {
	c := h.conn(handle)
	if c == nil {
		return
	}
	t := (*Tracker)(h)
	old := t.namesOf(c)
	if n := old.set(kind, name); n != old {
		t.infoOf(c).names = n
	}
}

func (h *host) Answer(name string, addr netip.Addr) { h.pdns.add(addr, name) }

func (h *host) Now() int64 { return h.now }
