package analyzer

import "encoding/binary"

// Modbus/TCP (service-detection.md §8): registered on 502/tcp, no signature. Each
// PDU is an MBAP header (transaction id, protocol id 0, length, unit id) and a
// function code with its data; the length counts the unit id and everything after
// it. The first complete PDU confirms. Violations, kept to what the grammar
// cannot accept: a protocol id other than 0, a length too short for the unit id
// and function code, an exception response without its code, fixed fields of the
// common function codes that do not fit, and register byte counts that are odd or
// overrun the PDU. It does not look at the partial flag (§9); a gap ends the
// parsing of that direction, whose PDU boundaries are lost.

// init registers Modbus on its port (§8); it has no signature (§7).
func init() {
	register(&Analyzer{
		Name:      "modbus",
		Transport: TCP,
		Ports:     []uint16{502},
		New:       func() Parser { return new(modbusParser) },
	})
}

// modbusKeep is the largest Modbus/TCP ADU (MBAP header plus a 253-byte PDU):
// what is kept of a PDU. The rest of a longer one is counted, not kept.
const modbusKeep = 260

// modbusDir is the parsing state of one direction.
type modbusDir struct {
	buf   [modbusKeep]byte
	n     int // bytes of the current PDU in buf
	got   int // bytes of the current PDU read
	total int // the PDU's size (length + 6), once the header is in
	dead  bool
}

// modbusParser parses both directions of a Modbus/TCP connection.
type modbusParser struct{ d [2]modbusDir }

// Data reads the PDUs of one direction; a PDU may span chunks.
func (p *modbusParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := &p.d[dirIndex(isOrig)]
	for len(data) > 0 && !d.dead {
		if d.total == 0 {
			k := copy(d.buf[d.n:6], data)
			d.n += k
			d.got += k
			data = data[k:]
			if d.n < 6 {
				return
			}
			pid := binary.BigEndian.Uint16(d.buf[2:])
			length := int(binary.BigEndian.Uint16(d.buf[4:]))
			if pid != 0 || length < 2 {
				c.Violation()
				d.dead = true
				return
			}
			d.total = length + 6
		}
		k := min(d.total-d.got, len(data))
		d.n += copy(d.buf[d.n:], data[:k])
		d.got += k
		data = data[k:]
		if d.got == d.total {
			ok := modbusPDU(isOrig, d.buf[:d.n], d.n == d.total)
			d.n, d.got, d.total = 0, 0, 0
			c.Confirm()
			if !ok {
				c.Violation()
				d.dead = true
			}
		}
	}
}

// modbusPDU checks a complete PDU (pdu holds its first modbusKeep bytes; whole says
// it is all of it): false when the function code's fields cannot be parsed.
func modbusPDU(isOrig bool, pdu []byte, whole bool) bool {
	fc := pdu[7]
	b := pdu[8:]
	// fits says whether n bytes of data follow the function code; beyond the kept
	// prefix of an over-long PDU nothing can be said.
	fits := func(n int) bool { return n <= len(b) || !whole }
	if !isOrig && fc&0x80 != 0 {
		return fits(1) // the exception code
	}
	switch fc {
	case 1, 2, 3, 4, 5, 6:
		if isOrig || fc >= 5 {
			return fits(4) // address and quantity or value
		}
		if !fits(1) {
			return false
		}
		if len(b) < 1 {
			return true
		}
		// Read coils and discrete inputs answer bits, registers answer words.
		n := int(b[0])
		return (fc <= 2 || n%2 == 0) && fits(1+n)
	case 15, 16:
		if !isOrig {
			return fits(4)
		}
		if !fits(5) {
			return false
		}
		if len(b) < 5 {
			return true
		}
		n := int(b[4])
		return (fc == 15 || n%2 == 0) && fits(5+n)
	case 22:
		return fits(6) // address, AND mask, OR mask
	case 23:
		at := 0 // the byte count of the registers: read in the answer, written in the request
		if isOrig {
			at = 8
		}
		if !fits(at + 1) {
			return false
		}
		if len(b) < at+1 {
			return true
		}
		n := int(b[at])
		return n%2 == 0 && fits(at+1+n)
	}
	return true
}

// Gap loses the PDU boundaries of that direction: it is not parsed any more.
func (p *modbusParser) Gap(c *Ctx, isOrig bool, n uint64) {
	p.d[dirIndex(isOrig)].dead = true
	if p.d[0].dead && p.d[1].dead {
		c.Stop()
	}
}

// End changes nothing.
func (p *modbusParser) End(c *Ctx, isOrig bool) {}
