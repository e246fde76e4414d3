package tracker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Source yields captured packets. Data returned by ReadPacket is only valid until the
// next call (sources read with zero copy). ReadPacket returns io.EOF at the end of
// input and ErrTruncated when a file ends inside a record.
type Source interface {
	ReadPacket() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error)
	Close() error
}

// ErrTruncated reports a capture file that ends in the middle of a packet record.
// Everything read before it is valid.
var ErrTruncated = errors.New("capture file is truncated")

// fileReadBuffer is the read-ahead in front of pcapgo: one large buffer makes
// file reads cheap compared with per-record syscalls.
const fileReadBuffer = 1 << 20

// fileSource reads a pcap or pcapng file.
type fileSource struct {
	regular bool // reading a regular file: reads never wait for data to arrive
	closer  io.Closer
	raw     *pcapReader    // classic pcap
	pcap    *pcapgo.Reader // classic pcap, gzip-compressed
	ng      *pcapgo.NgReader
	links   []layers.LinkType // pcapng: link type per interface id
}

var _ Source = (*fileSource)(nil)

// OpenFile opens a pcap or pcapng capture; "-" reads standard input.
func OpenFile(path string) (Source, error) {
	var f *os.File
	if path == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, errors.Unwrap(err))
		}
	}
	src, err := NewFileSource(f)
	if err != nil {
		f.Close()
		if pe := (*os.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err // the path is said once, here
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		src.(*fileSource).regular = true
	}
	return src, nil
}

// errBadCapture is returned when gopacket's readers panic on a malformed file
// (pcapgo v1.1.19 divides by zero on some bad pcapng interface blocks).
var errBadCapture = errors.New("malformed capture file")

// NewFileSource reads a pcap or pcapng stream from r, detected by its magic number.
// Close closes r when it is an io.Closer.
func NewFileSource(r io.Reader) (src Source, err error) {
	defer func() {
		if recover() != nil {
			src, err = nil, errBadCapture
		}
	}()
	br := bufio.NewReaderSize(r, fileReadBuffer)
	magic, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("not a pcap or pcapng file (too short)")
		}
		return nil, err
	}
	s := &fileSource{}
	if c, ok := r.(io.Closer); ok {
		s.closer = c
	}
	if magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: its section header block is cut", ErrTruncated)
		}
		if err != nil {
			return nil, fmt.Errorf("not a valid pcapng file: %v", err)
		}
		s.ng = ng
		return s, nil
	}
	if raw := newPcapReader(br); raw != nil {
		s.raw = raw
		return s, nil
	}
	if _, _, ok := pcapMagic(magic); ok {
		// newPcapReader takes any whole version 2.4 header: this one is cut.
		if h, _ := br.Peek(24); len(h) < 24 {
			return nil, fmt.Errorf("%w: its file header ends after %d of 24 bytes", ErrTruncated, len(h))
		}
	}
	// Anything else is gzip-compressed pcap, which pcapgo reads, or not a capture.
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, errors.New("not a pcap or pcapng file")
	}
	s.pcap = pr
	return s, nil
}

// ReadPacket implements Source.
func (s *fileSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if s.raw != nil {
		data, ci, err := s.raw.read()
		if err != nil {
			return nil, ci, 0, fileErr(err)
		}
		return data, ci, s.raw.link, nil
	}
	return s.readPcapgo()
}

// readPcapgo reads a packet through pcapgo (gzip-compressed pcap, and pcapng).
func (s *fileSource) readPcapgo() (data []byte, ci gopacket.CaptureInfo, link layers.LinkType, err error) {
	defer func() {
		if recover() != nil {
			data, link, err = nil, 0, errBadCapture
		}
	}()
	if s.pcap != nil {
		data, ci, err := s.pcap.ZeroCopyReadPacketData()
		if err != nil {
			return nil, ci, 0, fileErr(err)
		}
		return data, ci, s.pcap.LinkType(), nil
	}
	data, ci, err = s.ng.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, 0, fileErr(err)
	}
	return data, ci, s.ngLink(ci.InterfaceIndex), nil
}

// ngLink returns the link type of pcapng interface i, caching the lookups.
func (s *fileSource) ngLink(i int) layers.LinkType {
	for len(s.links) <= i {
		intf, err := s.ng.Interface(len(s.links))
		if err != nil {
			return layers.LinkTypeNull
		}
		s.links = append(s.links, intf.LinkType)
	}
	return s.links[i]
}

func fileErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

// Close implements Source.
func (s *fileSource) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// Classic pcap magic numbers, as read little-endian.
const (
	pcapMagicMicros    = 0xa1b2c3d4
	pcapMagicNanos     = 0xa1b23c4d
	pcapMagicMicrosBig = 0xd4c3b2a1
	pcapMagicNanosBig  = 0x4d3cb2a1
)

// pcapReader reads classic pcap records straight out of the read buffer, without
// copying: a record's data is a slice of the buffer, valid until the next read. It
// reads exactly what pcapgo's Reader reads, with the same results and errors
// (TestPcapReaderMatchesPcapgo and FuzzFileSource compare them).
type pcapReader struct {
	br       *bufio.Reader
	bigEnd   bool
	nanos    uint32 // nanoseconds per unit of the timestamp fraction
	snaplen  uint32
	link     layers.LinkType
	consumed int    // bytes of the previous record still in br
	buf      []byte // records that do not fit br's buffer
}

// newPcapReader reads the file header of an uncompressed classic pcap file (version
// 2.4) from br, or returns nil, having consumed nothing, when br holds anything else.
func newPcapReader(br *bufio.Reader) *pcapReader {
	h, err := br.Peek(24)
	if err != nil {
		return nil
	}
	r := &pcapReader{br: br}
	nanos, bigEnd, ok := pcapMagic(h)
	if !ok {
		return nil
	}
	r.nanos, r.bigEnd = nanos, bigEnd
	if r.u16(h[4:6]) != 2 || r.u16(h[6:8]) != 4 {
		return nil
	}
	r.snaplen = r.u32(h[16:20])
	r.link = layers.LinkType(r.u32(h[20:24])) // gopacket v1's LinkType keeps the low 8 bits
	br.Discard(24)
	return r
}

func (r *pcapReader) u16(b []byte) uint16 {
	if r.bigEnd {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *pcapReader) u32(b []byte) uint32 {
	if r.bigEnd {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// pcapMagic reads a classic pcap magic number at the start of b: the nanoseconds
// per unit of the timestamp fraction and the byte order, ok false for none.
func pcapMagic(b []byte) (nanos uint32, bigEnd, ok bool) {
	switch binary.LittleEndian.Uint32(b) {
	case pcapMagicMicros:
		return 1000, false, true
	case pcapMagicNanos:
		return 1, false, true
	case pcapMagicMicrosBig:
		return 1000, true, true
	case pcapMagicNanosBig:
		return 1, true, true
	}
	return 0, false, false
}

// readFullErr is io.ReadFull's error for a read of which n bytes arrived before err.
func readFullErr(n int, err error) error {
	if n > 0 && err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// read returns the next record, as pcapgo's ZeroCopyReadPacketData does.
func (r *pcapReader) read() ([]byte, gopacket.CaptureInfo, error) {
	var ci gopacket.CaptureInfo
	if r.consumed > 0 {
		r.br.Discard(r.consumed)
		r.consumed = 0
	}
	hdr, err := r.br.Peek(16)
	if len(hdr) < 16 {
		r.consumed = len(hdr)
		return nil, ci, readFullErr(len(hdr), err)
	}
	// The fraction is scaled in 32 bits, as pcapgo does.
	ci.Timestamp = time.Unix(int64(r.u32(hdr[0:4])), int64(r.u32(hdr[4:8])*r.nanos)).UTC()
	ci.CaptureLength = int(r.u32(hdr[8:12]))
	ci.Length = int(r.u32(hdr[12:16]))
	r.consumed = 16
	if ci.CaptureLength > int(r.snaplen) {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, r.snaplen)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	if n := 16 + ci.CaptureLength; n <= r.br.Size() {
		rec, err := r.br.Peek(n)
		r.consumed = len(rec)
		if len(rec) < n {
			return nil, ci, readFullErr(len(rec)-16, err)
		}
		return rec[16:], ci, nil
	}
	// A record larger than the read buffer: copy it, growing the buffer as the data
	// arrives, so that a broken length in a short file costs no huge allocation.
	r.br.Discard(16)
	r.consumed = 0
	data := r.buf[:0]
	for len(data) < ci.CaptureLength {
		n := min(ci.CaptureLength-len(data), max(len(data), fileReadBuffer))
		data = slices.Grow(data, n)
		got, err := io.ReadFull(r.br, data[len(data):len(data)+n])
		data = data[:len(data)+got]
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return nil, ci, readFullErr(len(data), err)
		}
	}
	r.buf = data
	return data, ci, nil
}
