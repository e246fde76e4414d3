package analyzer

import "encoding/binary"

// WebSocket (RFC 6455; service-detection.md §8 and §5.2): no port and no
// signature. The HTTP analyzer attaches it as a child after a 101 reply that
// upgrades to websocket, and feeds it both directions from the first byte after
// the handshake. Frames are read in both directions; the first complete message
// (a frame with FIN) confirms. A frame the RFC forbids is a violation: a reserved
// opcode, a fragmented or over-long control frame, a 64-bit length with its top
// bit set, a continuation outside a fragmented message or a new data frame inside
// one. The payload of the data frames, unmasked, goes to a tunnel PIA in arrival
// order; it gets there before the frame that ends the first message confirms, so
// an inner protocol that confirms on that message comes first (§5.2). Messages
// compressed by permessage-deflate (RSV1) are not passed on. It stops at the first
// gap ("G").

// init registers WebSocket without ports: only the HTTP analyzer attaches it.
func init() {
	register(&Analyzer{
		Name:      "websocket",
		Transport: TCP,
		StopAtGap: true,
		New:       func() Parser { return new(wsParser) },
	})
}

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPong         = 0xa
)

// wsScratch is the size of the buffer payload is unmasked into.
const wsScratch = 4096

// wsDir is the framing state of one direction.
type wsDir struct {
	hdr      [14]byte // the frame header: 2 bytes, the extended length, the masking key
	nh       int
	need     int    // the header's size, once its first 2 bytes are in; 0 before
	inFrame  bool   // in the payload of a frame
	left     uint64 // payload bytes still to come
	key      [4]byte
	masked   bool
	ki       int  // the key offset of the next payload byte
	fin      bool // the current frame is the last of its message
	data     bool // the current frame carries message data (not control)
	fragment bool // a fragmented data message is in progress
	deflated bool // the current message is compressed: its payload is not passed on
	dead     bool
}

// wsParser reads the frames of both directions and passes the data on.
type wsParser struct {
	d       [2]wsDir
	t       *Child // the tunnel PIA, started with the first payload
	scratch []byte
}

// Data reads frames of one direction; a frame may span chunks.
func (p *wsParser) Data(c *Ctx, isOrig bool, data []byte) {
	d := &p.d[dirIndex(isOrig)]
	for len(data) > 0 && !d.dead {
		if !d.inFrame {
			want := 2
			if d.need > 0 {
				want = d.need
			}
			k := copy(d.hdr[d.nh:want], data)
			d.nh += k
			data = data[k:]
			if d.nh < want {
				return
			}
			if d.need == 0 {
				if !p.start(d) {
					c.Violation()
					d.dead = true
					return
				}
				if d.need > 2 {
					continue
				}
			}
			if !p.header(d) {
				c.Violation()
				d.dead = true
				return
			}
			if d.left == 0 {
				p.frameEnd(c, d)
			}
			continue
		}
		n := int(min(d.left, uint64(len(data))))
		if d.data && !d.deflated {
			p.forward(c, d, isOrig, data[:n])
		} else if d.masked {
			d.ki = (d.ki + n) % 4
		}
		d.left -= uint64(n)
		data = data[n:]
		if d.left == 0 {
			p.frameEnd(c, d)
		}
	}
}

// start checks the first 2 header bytes and sets the header's size.
func (p *wsParser) start(d *wsDir) bool {
	b0, b1 := d.hdr[0], d.hdr[1]
	op := b0 & 0x0f
	d.fin = b0&0x80 != 0
	switch {
	case op >= wsClose && op <= wsPong:
		if !d.fin || b1&0x7f > 125 {
			return false // control frames are never fragmented, at most 125 bytes
		}
		d.data = false
	case op == wsContinuation:
		if !d.fragment {
			return false
		}
		d.data = true
	case op == wsText || op == wsBinary:
		if d.fragment {
			return false
		}
		d.data = true
		d.deflated = b0&0x40 != 0
	default:
		return false // reserved
	}
	d.need = 2
	switch b1 & 0x7f {
	case 126:
		d.need += 2
	case 127:
		d.need += 8
	}
	d.masked = b1&0x80 != 0
	if d.masked {
		d.need += 4
	}
	return true
}

// header reads the length and the masking key of a complete header and enters the
// payload.
func (p *wsParser) header(d *wsDir) bool {
	h := d.hdr[:d.need]
	n := uint64(h[1] & 0x7f)
	h = h[2:]
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h))
		h = h[2:]
	case 127:
		n = binary.BigEndian.Uint64(h)
		if n>>63 != 0 {
			return false
		}
		h = h[8:]
	}
	if d.masked {
		copy(d.key[:], h)
	}
	d.left, d.ki = n, 0
	d.inFrame = true
	d.nh, d.need = 0, 0
	return true
}

// frameEnd ends a frame: its FIN completes a message, which confirms.
func (p *wsParser) frameEnd(c *Ctx, d *wsDir) {
	d.inFrame = false
	if d.data {
		d.fragment = !d.fin
	}
	if d.fin {
		if d.data {
			d.deflated = false
		}
		c.Confirm()
	}
}

// forward passes payload to the tunnel, unmasked.
func (p *wsParser) forward(c *Ctx, d *wsDir, isOrig bool, b []byte) {
	if p.t == nil {
		p.t = c.Tunnel()
	}
	if !d.masked {
		p.t.Data(isOrig, b)
		return
	}
	if p.scratch == nil {
		p.scratch = make([]byte, wsScratch)
	}
	for len(b) > 0 {
		n := min(len(b), len(p.scratch))
		out := p.scratch[:n]
		for i, x := range b[:n] {
			out[i] = x ^ d.key[(d.ki+i)&3]
		}
		d.ki = (d.ki + n) & 3
		p.t.Data(isOrig, out)
		b = b[n:]
	}
}

// Gap: the framework stops the analyzer at the first gap (StopAtGap).
func (p *wsParser) Gap(c *Ctx, isOrig bool, n uint64) { c.Stop() }

// End passes the end of the direction on to the tunnel.
func (p *wsParser) End(c *Ctx, isOrig bool) {
	if p.t != nil {
		p.t.End(isOrig)
	}
}
