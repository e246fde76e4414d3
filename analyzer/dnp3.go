package analyzer

// DNP3 (service-detection.md §8): dnp3_tcp is registered on 20000/tcp and enabled
// by the dnp3-t signature on responder data; dnp3_udp has no port and is enabled
// by dnp3-u (§7). Both read the link layer: frames of a 10-byte header (05 64,
// length, control, destination, source, CRC) and user data in blocks of up to 16
// bytes, each followed by its CRC. The first header whose CRC is right confirms; a
// header with a wrong CRC is a violation. Anything else that breaks the framing (no
// 05 64 where a header should start, a length below 5, a bad data-block CRC, a gap)
// silently ends the parsing, as Zeek's DNP3 analyzer skips the rest of the
// connection then. Over UDP the datagrams are read as one stream per direction, as
// Zeek does. DNP3 does not look at the partial flag (§9).

// init registers both DNP3 analyzers with their signatures (§7, §8).
func init() {
	register(&Analyzer{
		Name:      "dnp3_tcp",
		Transport: TCP,
		Ports:     []uint16{20000},
		New:       func() Parser { return new(dnp3Parser) },
	}, &Rule{
		Name:      "dnp3-t",
		Transport: TCP,
		Dir:       Resp,
		Pattern:   `^\x05\x64`,
		Match:     matchDNP3,
		Enables:   "dnp3_tcp",
	})
	register(&Analyzer{
		Name:      "dnp3_udp",
		Transport: UDP,
		New:       func() Parser { return new(dnp3Parser) },
	}, &Rule{
		Name:      "dnp3-u",
		Transport: UDP,
		Pattern:   `^\x05\x64`,
		Match:     matchDNP3,
		Enables:   "dnp3_udp",
	})
}

// matchDNP3 is `^\x05\x64`, the start of a link header.
func matchDNP3(data []byte) Result { return lit(data, "\x05\x64") }

// dnp3Table is the byte-wise table of the DNP3 CRC: CRC-16 with polynomial 0x3D65,
// processed least significant bit first (the reflected polynomial is 0xA6BC).
var dnp3Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA6BC
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// dnp3CRC is the DNP3 CRC of b: initial value 0, final complement.
func dnp3CRC(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c>>8 ^ dnp3Table[byte(c)^x]
	}
	return ^c
}

// dnp3CRCOK checks the CRC that follows b on the wire, low byte first.
func dnp3CRCOK(b []byte, crc []byte) bool {
	v := dnp3CRC(b)
	return crc[0] == byte(v) && crc[1] == byte(v>>8)
}

// dnp3Dir is the framing state of one direction.
type dnp3Dir struct {
	hdr    [10]byte
	nh     int
	left   int      // user-data bytes of the current frame still to come, CRCs not counted
	blk    [18]byte // the current data block and its CRC
	nb     int
	blkLen int // data bytes of the current block; 0 between blocks
}

// dnp3Parser reads the DNP3 link layer of both directions, for TCP and UDP alike.
type dnp3Parser struct{ d [2]dnp3Dir }

// Data reads the frames of one direction; a frame may span chunks (or datagrams).
func (p *dnp3Parser) Data(c *Ctx, isOrig bool, data []byte) {
	d := &p.d[dirIndex(isOrig)]
	for len(data) > 0 {
		if d.left == 0 {
			k := copy(d.hdr[d.nh:], data)
			d.nh += k
			data = data[k:]
			if d.nh < len(d.hdr) {
				return
			}
			d.nh = 0
			if d.hdr[0] != 0x05 || d.hdr[1] != 0x64 {
				c.Stop()
				return
			}
			if !dnp3CRCOK(d.hdr[:8], d.hdr[8:]) {
				c.Violation()
				return
			}
			c.Confirm()
			n := int(d.hdr[2])
			if n < 5 {
				c.Stop()
				return
			}
			d.left = n - 5 // the length counts control, destination and source
			continue
		}
		if d.blkLen == 0 {
			d.blkLen, d.nb = min(16, d.left), 0
		}
		k := copy(d.blk[d.nb:d.blkLen+2], data)
		d.nb += k
		data = data[k:]
		if d.nb < d.blkLen+2 {
			return
		}
		if !dnp3CRCOK(d.blk[:d.blkLen], d.blk[d.blkLen:d.blkLen+2]) {
			c.Stop()
			return
		}
		d.left -= d.blkLen
		d.blkLen = 0
	}
}

// Gap breaks the framing: the parser stops.
func (p *dnp3Parser) Gap(c *Ctx, isOrig bool, n uint64) { c.Stop() }

// End changes nothing.
func (p *dnp3Parser) End(c *Ctx, isOrig bool) {}
