package analyzer

import "encoding/binary"

// MQTT (service-detection.md §8): registered on 1883/tcp and enabled anywhere by
// the mqtt signature (§7, `^.{4,7}MQ`: the protocol name of a CONNECT). The
// analyzer parses MQTT 3.1.1 control packets in both directions; a CONNECT or a
// PUBLISH that parses confirms, a remaining length longer than four bytes or a
// packet whose fields do not fit its remaining length is a violation. It does not
// look at the partial flag (§9), so it works mid-stream from a packet boundary; a
// gap ends the parsing of that direction, whose packet boundaries are lost.

// init registers MQTT on its port with the signature of a CONNECT (§7, §8).
func init() {
	register(&Analyzer{
		Name:      "mqtt",
		Transport: TCP,
		Ports:     []uint16{1883},
		New:       func() Parser { return new(mqttParser) },
	}, &Rule{
		Name:    "mqtt",
		Pattern: `^.{4,7}MQ`,
		Match:   matchMQTT,
		Enables: "mqtt",
	})
}

// matchMQTT is `^.{4,7}MQ`: "MQ" at offset 4, 5, 6 or 7.
func matchMQTT(data []byte) Result {
	res := Fail
	for i := 4; i <= 7; i++ {
		switch {
		case i >= len(data):
			return More
		case data[i] != 'M':
		case i+1 >= len(data):
			res = More
		case data[i+1] == 'Q':
			return Match
		}
	}
	return res
}

// MQTT control packet types (MQTT 3.1.1 §2.2.1).
const (
	mqttConnect     = 1
	mqttConnack     = 2
	mqttPublish     = 3
	mqttPuback      = 4
	mqttPubrec      = 5
	mqttPubrel      = 6
	mqttPubcomp     = 7
	mqttSubscribe   = 8
	mqttSuback      = 9
	mqttUnsubscribe = 10
	mqttUnsuback    = 11
)

// mqttKeep bounds the bytes of one packet body kept for parsing. Every field the
// analyzer checks of a real CONNECT, PUBLISH or SUBSCRIBE lies well within it; the
// rest of a longer packet (a big payload) is counted, not kept.
const mqttKeep = 4096

// mqttDir is the parsing state of one direction.
type mqttDir struct {
	hdr    [5]byte // the fixed header: type and flags, then up to 4 length bytes
	nh     int     // header bytes read; the header is complete when body is true
	inBody bool
	rem    int    // body bytes still to come
	total  int    // the packet's remaining length
	body   []byte // the first bytes of the body, up to mqttKeep, when it spans chunks
	dead   bool   // a gap: the packet boundaries are lost
}

// mqttParser parses both directions of an MQTT connection.
type mqttParser struct{ d [2]mqttDir }

// Data reads the packets of one direction; a packet may span chunks.
func (p *mqttParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := &p.d[dirIndex(isOrig)]
	for len(data) > 0 && !d.dead {
		if !d.inBody {
			b := data[0]
			data = data[1:]
			d.hdr[d.nh] = b
			d.nh++
			if d.nh == 1 {
				continue
			}
			if b&0x80 != 0 {
				if d.nh == len(d.hdr) {
					// A fifth length byte: the remaining length is malformed.
					c.Violation()
					d.dead = true
					return
				}
				continue
			}
			n, mult := 0, 1
			for _, l := range d.hdr[1:d.nh] {
				n += int(l&0x7f) * mult
				mult *= 128
			}
			d.inBody, d.rem, d.total = true, n, n
			d.body = d.body[:0]
		}
		if len(d.body) == 0 && len(data) >= d.rem {
			// The whole body is in this chunk: parse it in place.
			body := data[:d.rem]
			data = data[d.rem:]
			p.packet(c, d, body, true)
			continue
		}
		n := min(d.rem, len(data))
		if keep := min(n, mqttKeep-len(d.body)); keep > 0 {
			if d.body == nil {
				d.body = make([]byte, 0, mqttKeep) // never grown: appends stay within it
			}
			d.body = append(d.body, data[:keep]...)
		}
		d.rem -= n
		data = data[n:]
		if d.rem == 0 {
			p.packet(c, d, d.body, len(d.body) == d.total)
		}
	}
}

// packet checks one complete packet (whole says body is all of it, not its first
// mqttKeep bytes) and readies d for the next.
func (p *mqttParser) packet(c *Ctx, d *mqttDir, body []byte, whole bool) {
	typ, flags := d.hdr[0]>>4, d.hdr[0]&0x0f
	d.nh, d.inBody, d.rem, d.total = 0, false, 0, 0
	d.body = d.body[:0]
	r := mqttReader{b: body, whole: whole}
	switch typ {
	case mqttConnect:
		r.str() // protocol name
		r.u8()  // protocol level
		cf := r.u8()
		r.u16() // keep alive
		r.str() // client identifier
		if cf&0x04 != 0 {
			r.str() // will topic
			r.str() // will message
		}
		if cf&0x80 != 0 {
			r.str() // user name
		}
		if cf&0x40 != 0 {
			r.str() // password
		}
	case mqttPublish:
		r.str() // topic
		if flags&0x06 != 0 {
			r.u16() // packet identifier, with QoS 1 or 2
		}
	case mqttConnack:
		r.u8()
		r.u8()
	case mqttPuback, mqttPubrec, mqttPubrel, mqttPubcomp, mqttUnsuback, mqttSuback:
		r.u16()
	case mqttSubscribe:
		r.u16()
		for len(r.b) > 0 && !r.bad && !r.unknown {
			r.str()
			r.u8() // requested QoS
		}
	case mqttUnsubscribe:
		r.u16()
		for len(r.b) > 0 && !r.bad && !r.unknown {
			r.str()
		}
	}
	switch {
	case r.bad:
		c.Violation()
		d.dead = true
	case typ == mqttConnect || typ == mqttPublish:
		c.Confirm()
	}
}

// Gap loses the packet boundaries of that direction: it is not parsed any more.
func (p *mqttParser) Gap(c *Ctx, isOrig bool, n uint64) {
	p.d[dirIndex(isOrig)].dead = true
	if p.d[0].dead && p.d[1].dead {
		c.Stop()
	}
}

// End changes nothing: a packet cut by the FIN is not reported.
func (p *mqttParser) End(c *Ctx, isOrig bool) {}

// mqttReader reads the fields of a packet body. A field beyond the end of a whole
// body is a parse error (bad); beyond the kept prefix of a longer body it cannot be
// checked (unknown), and the packet is taken as parsing.
type mqttReader struct {
	b            []byte
	whole        bool
	bad, unknown bool
}

// need reports whether n more bytes can be read.
func (r *mqttReader) need(n int) bool {
	if r.bad || r.unknown {
		return false
	}
	if n <= len(r.b) {
		return true
	}
	if r.whole {
		r.bad = true
	} else {
		r.unknown = true
	}
	return false
}

// u8 reads a byte.
func (r *mqttReader) u8() byte {
	if !r.need(1) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// u16 reads a big-endian 16-bit integer.
func (r *mqttReader) u16() int {
	if !r.need(2) {
		return 0
	}
	v := int(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	return v
}

// str skips a length-prefixed string (or binary field).
func (r *mqttReader) str() {
	n := r.u16()
	if r.need(n) {
		r.b = r.b[n:]
	}
}
