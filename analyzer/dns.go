package analyzer

import (
	"encoding/binary"
	"net/netip"
)

// DNS (service-detection.md §8 row dns, §11). A message confirms when its header,
// question section and answer section parse (for UPDATE the zone, prerequisite and
// update sections); Zeek skips the authority and additional sections by default
// (dns_skip_all_auth, dns_skip_all_addl), so they are not read. The only
// violations are more than 25 questions and a NAPTR record shorter than 4 bytes.
// The first question name becomes the connection's DNS name, and A/AAAA answers
// feed passive DNS.

func init() {
	// The same parser reads TCP's framing (a 2-byte length before each message)
	// when c.Transport() is TCP.
	register(&Analyzer{
		Name:      "dns",
		Transport: UDP,
		Ports:     []uint16{53, 137, 5353, 5355},
		TCPPorts:  []uint16{53},
		New:       func() Parser { return new(dnsParser) },
	})
}

// DNS limits and codes.
const (
	dnsHeaderLen  = 12
	dnsMaxQueries = 25   // dns_max_queries: more questions is not DNS (a violation)
	dnsMaxName    = 512  // Zeek decodes names into a 512-byte buffer; longer fails
	dnsMaxJumps   = 128  // compression pointers followed in one name
	dnsKeep       = 8192 // bytes of one TCP message kept; see dnsStream
	dnsMaxChain   = 8    // CNAME chain names followed for passive DNS

	dnsOpQuery  = 0
	dnsOpNotify = 4
	dnsOpUpdate = 5

	dnsPortNetBIOS = 137
)

// DNS record types the answer parser checks (RFC 1035, 2782, 3403, 3596, 6672).
const (
	dnsTypeA     = 1
	dnsTypeNS    = 2
	dnsTypeMD    = 3
	dnsTypeMF    = 4
	dnsTypeCNAME = 5
	dnsTypeSOA   = 6
	dnsTypeMB    = 7
	dnsTypeMG    = 8
	dnsTypeMR    = 9
	dnsTypePTR   = 12
	dnsTypeMX    = 15
	dnsTypeAAAA  = 28
	dnsTypeSRV   = 33 // NBSTAT on NetBIOS (port 137)
	dnsTypeNAPTR = 35
	dnsTypeDNAME = 39
)

// dnsStatus is how parsing part of a message ended.
type dnsStatus uint8

const (
	dnsOK    dnsStatus = iota
	dnsTrunc           // the message ended first
	dnsBad             // malformed: a forward pointer, a name too long, a bad record
	dnsNAPTR           // a NAPTR record shorter than 4 bytes: a violation
)

// dnsParser parses every DNS message of a connection: one per UDP datagram, or
// the length-prefixed messages of each TCP direction.
type dnsParser struct {
	started bool // a message with a full header was seen (Zeek's first_message is over)
	named   bool // the DNS name was reported
	flipped bool // this parser flipped the roles: TCP stream sides swapped
	netbios bool // either port is 137 (NetBIOS name service): any opcode goes
	tcp     [2]dnsStream
	name    [dnsMaxName]byte // scratch for decoding names
	// chain holds the question name and the CNAME targets reached from it, one
	// after another, with their ends in chainEnd, for passive DNS.
	chain    []byte
	chainEnd [dnsMaxChain]int
	nchain   int
}

// dnsStream frames one TCP direction: a 2-byte length, then that many bytes.
// Messages wholly inside one chunk are parsed in place; others are copied into buf,
// at most dnsKeep bytes of them. A longer message (zone transfers) is parsed from
// its kept prefix: running out of kept bytes in the answers then counts as
// success, since the questions fit (25 real names need at most 6.5 KB) and the
// answers seen so far were well-formed.
type dnsStream struct {
	nlen int    // length bytes seen of the current message (0, 1 or 2)
	size int    // the current message's length
	got  int    // bytes of the current message seen
	lost bool   // a gap hit the current message: it is dropped
	dead bool   // a gap broke the framing: the direction is no longer parsed
	hi   byte   // the first length byte
	buf  []byte // the kept part of a message that spans chunks
}

// Data parses one datagram (UDP) or frames the next chunk of a direction (TCP).
func (p *dnsParser) Data(c *Ctx, isOrig bool, data []byte) {
	if c.Transport() != TCP {
		p.message(c, isOrig, data, false)
		return
	}
	s := &p.tcp[p.side(isOrig)]
	if s.dead {
		return
	}
	for len(data) > 0 {
		if s.nlen < 2 {
			if s.nlen == 0 {
				s.hi = data[0]
				s.nlen = 1
				data = data[1:]
				continue
			}
			s.size = int(s.hi)<<8 | int(data[0])
			s.nlen, s.got, s.lost, s.buf = 2, 0, false, s.buf[:0]
			data = data[1:]
			if s.size == 0 {
				// An empty message has no header: nothing to parse.
				s.nlen = 0
			}
			continue
		}
		need := s.size - s.got
		if s.got == 0 && len(data) >= need {
			p.message(c, isOrig, data[:need], false)
			data = data[need:]
			s.nlen = 0
			continue
		}
		if s.got == 0 && cap(s.buf) < min(s.size, dnsKeep) {
			s.buf = make([]byte, 0, min(s.size, dnsKeep))
		}
		n := min(need, len(data))
		if !s.lost {
			if keep := min(n, dnsKeep-len(s.buf)); keep > 0 {
				s.buf = append(s.buf, data[:keep]...)
			}
		}
		s.got += n
		data = data[n:]
		if s.got == s.size {
			if !s.lost {
				p.message(c, isOrig, s.buf, s.size > len(s.buf))
			}
			s.nlen, s.buf = 0, s.buf[:0]
		}
	}
}

// side returns the index of the TCP stream state of the sender whose current role
// is isOrig: the state stays with the endpoint when this parser flips the roles.
func (p *dnsParser) side(isOrig bool) int {
	if isOrig != p.flipped {
		return 0
	}
	return 1
}

// Gap drops the TCP message that lost bytes; a gap in or across a length prefix
// loses the framing, and the direction is parsed no further.
func (p *dnsParser) Gap(c *Ctx, isOrig bool, n uint64) {
	if c.Transport() != TCP {
		return
	}
	s := &p.tcp[p.side(isOrig)]
	if s.dead {
		return
	}
	if s.nlen < 2 || n > uint64(s.size-s.got) {
		s.dead, s.buf = true, nil
		return
	}
	s.got += int(n)
	s.lost = true
	if s.got == s.size {
		s.nlen, s.buf = 0, s.buf[:0]
	}
}

// End parses the partial TCP message a direction ended in, as Zeek flushes it.
func (p *dnsParser) End(c *Ctx, isOrig bool) {
	if c.Transport() != TCP {
		return
	}
	s := &p.tcp[p.side(isOrig)]
	if s.dead || s.nlen < 2 || s.got == 0 || s.lost {
		return
	}
	msg := s.buf
	s.nlen, s.buf = 0, nil
	p.message(c, isOrig, msg, s.got > len(msg))
}

// message parses one DNS message sent by the current orig (isOrig) or resp. cut
// says msg is the kept prefix of a longer TCP message.
func (p *dnsParser) message(c *Ctx, isOrig bool, msg []byte, cut bool) {
	if len(msg) < dnsHeaderLen {
		return
	}
	qr := msg[2]&0x80 != 0
	opcode := msg[2] >> 3 & 0xf
	if !p.started {
		// §11: a response as the first message, from the orig, means the roles are
		// the wrong way round, unless it was sent to a multicast group (mDNS).
		p.started = true
		id := c.ConnID()
		p.netbios = id.Orig.Port() == dnsPortNetBIOS || id.Resp.Port() == dnsPortNetBIOS
		if qr && isOrig && !id.Resp.Addr().IsMulticast() {
			c.Flip()
			p.flipped = !p.flipped
		}
	}
	netbios := p.netbios
	if opcode != dnsOpQuery && opcode != dnsOpNotify && opcode != dnsOpUpdate && !netbios {
		return // an unknown opcode: Zeek only adds history X
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	if qd > dnsMaxQueries {
		c.Violation()
		return
	}
	nrr := int(binary.BigEndian.Uint16(msg[6:]))
	if opcode == dnsOpUpdate {
		// The prerequisite (ANCOUNT) and update (NSCOUNT) sections of RFC 2136.
		nrr += int(binary.BigEndian.Uint16(msg[8:]))
	}
	p.nchain = 0
	off := dnsHeaderLen
	st := dnsOK
	for i := 0; i < qd && st == dnsOK; i++ {
		var name []byte
		if name, off, st = p.readName(msg, off); st == dnsOK && off+4 > len(msg) {
			st = dnsTrunc
		}
		if st == dnsOK && i == 0 {
			p.setChain(name)
		}
		off += 4
	}
	if st != dnsOK {
		return // even when cut: 25 questions of real names (≤ 255 bytes) fit in dnsKeep
	}
	ans := off
	for i := 0; i < nrr && st == dnsOK; i++ {
		off, st = p.checkRR(msg, off, netbios)
	}
	switch {
	case st == dnsNAPTR:
		c.Violation()
		return
	case st == dnsBad, st == dnsTrunc && !cut:
		return
	}
	c.Confirm()
	if !p.named && p.nchain > 0 && p.chainEnd[0] > 0 {
		p.named = true
		c.Name(NameDNSQuery, string(p.chain[:p.chainEnd[0]]))
	}
	if qr && opcode != dnsOpUpdate {
		p.answers(c, msg, ans, int(binary.BigEndian.Uint16(msg[6:])))
	}
}

// setChain starts the CNAME chain at the question name.
func (p *dnsParser) setChain(name []byte) {
	p.chain = append(p.chain[:0], name...)
	p.chainEnd[0] = len(name)
	p.nchain = 1
}

// inChain reports whether name is the question name or a CNAME reached from it.
func (p *dnsParser) inChain(name []byte) bool {
	start := 0
	for i := range p.nchain {
		if string(p.chain[start:p.chainEnd[i]]) == string(name) {
			return true
		}
		start = p.chainEnd[i]
	}
	return false
}

// answers reports the A and AAAA records of the answer section (n records at off)
// for passive DNS. An address whose owner is the question name, or a CNAME target
// reached from it, is recorded under the question name (what the client asked
// for); any other address under its owner.
func (p *dnsParser) answers(c *Ctx, msg []byte, off, n int) {
	if n == 0 {
		return
	}
	// Follow CNAMEs first: chains are usually in order, but need not be.
	for range dnsMaxChain {
		grew := false
		o := off
		for i := 0; i < n && p.nchain > 0 && p.nchain < dnsMaxChain; i++ {
			rr, next, st := p.readRR(msg, o)
			if st != dnsOK {
				break
			}
			o = next
			if rr.typ != dnsTypeCNAME || rr.class&0x7fff != 1 || !p.inChain(rr.owner) {
				continue
			}
			target, _, st := p.readName(msg, rr.rdata)
			if st != dnsOK || p.inChain(target) {
				continue
			}
			p.chain = append(p.chain, target...)
			p.chainEnd[p.nchain] = len(p.chain)
			p.nchain++
			grew = true
		}
		if !grew {
			break
		}
	}
	var qname string
	for i := 0; i < n; i++ {
		rr, next, st := p.readRR(msg, off)
		if st != dnsOK {
			return
		}
		off = next
		if rr.class&0x7fff != 1 { // IN; mDNS sets the top bit (cache flush)
			continue
		}
		var addr netip.Addr
		switch {
		case rr.typ == dnsTypeA && rr.end-rr.rdata == 4:
			addr = netip.AddrFrom4([4]byte(msg[rr.rdata:rr.end]))
		case rr.typ == dnsTypeAAAA && rr.end-rr.rdata == 16:
			addr = netip.AddrFrom16([16]byte(msg[rr.rdata:rr.end]))
		default:
			continue
		}
		if p.nchain > 0 && p.inChain(rr.owner) {
			if qname == "" {
				qname = string(p.chain[:p.chainEnd[0]])
			}
			c.Answer(qname, addr)
		} else {
			c.Answer(string(rr.owner), addr)
		}
	}
}

// dnsRR is a resource record's header: the owner name (in the parser's scratch
// buffer), type, class and where its data lies in the message.
type dnsRR struct {
	owner      []byte
	typ, class uint16
	rdata, end int
}

// readRR reads the record at off and returns it and the offset after it.
func (p *dnsParser) readRR(msg []byte, off int) (dnsRR, int, dnsStatus) {
	var rr dnsRR
	var st dnsStatus
	rr.owner, off, st = p.readName(msg, off)
	if st != dnsOK {
		return rr, 0, st
	}
	if off+10 > len(msg) {
		return rr, 0, dnsTrunc
	}
	rr.typ = binary.BigEndian.Uint16(msg[off:])
	rr.class = binary.BigEndian.Uint16(msg[off+2:])
	rr.rdata = off + 10
	rr.end = rr.rdata + int(binary.BigEndian.Uint16(msg[off+8:]))
	if rr.end > len(msg) {
		return rr, 0, dnsTrunc
	}
	return rr, rr.end, dnsOK
}

// checkRR reads the record at off and checks its data as Zeek's type parsers do:
// an A of 4 bytes, an AAAA of at least 16, the names of NS, CNAME, PTR, SOA, MX,
// SRV and NAPTR records, a NAPTR of at least 4 bytes. Other types are skipped.
func (p *dnsParser) checkRR(msg []byte, off int, netbios bool) (int, dnsStatus) {
	rr, next, st := p.readRR(msg, off)
	if st != dnsOK {
		return 0, st
	}
	n := rr.end - rr.rdata
	at := rr.rdata // where a name in the data starts
	switch rr.typ {
	case dnsTypeA:
		if n != 4 {
			return 0, dnsBad
		}
		return next, dnsOK
	case dnsTypeAAAA:
		if n < 16 {
			return 0, dnsBad
		}
		return next, dnsOK
	case dnsTypeNS, dnsTypeMD, dnsTypeMF, dnsTypeCNAME, dnsTypeMB, dnsTypeMG, dnsTypeMR, dnsTypePTR, dnsTypeDNAME:
	case dnsTypeSOA:
		_, at, st = p.readName(msg, at)
		if st != dnsOK {
			return 0, st
		}
		_, at, st = p.readName(msg, at)
		if st != dnsOK {
			return 0, st
		}
		if at+20 > len(msg) {
			return 0, dnsTrunc
		}
		return next, dnsOK
	case dnsTypeMX:
		if n < 2 {
			return 0, dnsBad
		}
		at += 2
	case dnsTypeSRV:
		if netbios { // NBSTAT
			return next, dnsOK
		}
		if n < 6 {
			return 0, dnsBad
		}
		at += 6
	case dnsTypeNAPTR:
		if n < 4 {
			return 0, dnsNAPTR
		}
		at += 4
		for range 3 { // flags, services, regexp: character strings
			if at >= rr.end || at+1+int(msg[at]) > rr.end {
				return 0, dnsBad
			}
			at += 1 + int(msg[at])
		}
	default:
		return next, dnsOK
	}
	// The name may run past the record's data, as in Zeek, which only notes it.
	if _, _, st = p.readName(msg, at); st != dnsOK {
		return 0, st
	}
	return next, dnsOK
}

// readName decodes the name at off into the parser's scratch buffer: labels in
// lower case joined by dots, without the trailing dot. It returns the name, the
// offset after its wire form, and the status. Compression pointers must point
// backwards (Zeek rejects forward offsets), which with the length bound and the
// jump bound ends every pointer loop.
func (p *dnsParser) readName(msg []byte, off int) ([]byte, int, dnsStatus) {
	name := p.name[:0]
	next := -1
	for jumps := 0; ; {
		if off >= len(msg) {
			return nil, 0, dnsTrunc
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if next < 0 {
				next = off + 1
			}
			if n := len(name); n >= 2 && name[n-1] == '.' {
				name = name[:n-1]
			}
			return name, next, dnsOK
		case l >= 0xc0:
			if off+1 >= len(msg) {
				return nil, 0, dnsTrunc
			}
			ptr := (l&0x3f)<<8 | int(msg[off+1])
			if ptr >= off || jumps >= dnsMaxJumps {
				return nil, 0, dnsBad
			}
			jumps++
			if next < 0 {
				next = off + 2
			}
			off = ptr
		default:
			if off+1+l > len(msg) {
				return nil, 0, dnsTrunc
			}
			if len(name)+l+1 > dnsMaxName {
				return nil, 0, dnsBad
			}
			for _, b := range msg[off+1 : off+1+l] {
				name = append(name, lower(b))
			}
			name = append(name, '.')
			off += 1 + l
		}
	}
}

// Reset makes p as new, keeping its buffers (resetter).
func (p *dnsParser) Reset() {
	bufs := [2][]byte{p.tcp[0].buf[:0], p.tcp[1].buf[:0]}
	chain := p.chain[:0]
	*p = dnsParser{chain: chain} // name is scratch: what it held is never read again
	p.tcp[0].buf, p.tcp[1].buf = bufs[0], bufs[1]
}
