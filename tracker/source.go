package tracker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

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
	pcap    *pcapgo.Reader
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
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		src.(*fileSource).regular = true
	}
	return src, nil
}

// NewFileSource reads a pcap or pcapng stream from r, detected by its magic number.
// Close closes r when it is an io.Closer.
func NewFileSource(r io.Reader) (Source, error) {
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
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			return nil, fmt.Errorf("not a valid pcapng file: %v", err)
		}
		s.ng = ng
		return s, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, errors.New("not a pcap or pcapng file")
	}
	s.pcap = pr
	return s, nil
}

// ReadPacket implements Source.
func (s *fileSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if s.pcap != nil {
		data, ci, err := s.pcap.ZeroCopyReadPacketData()
		if err != nil {
			return nil, ci, 0, fileErr(err)
		}
		return data, ci, s.pcap.LinkType(), nil
	}
	data, ci, err := s.ng.ZeroCopyReadPacketData()
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
