package extract

import (
	"runtime"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/flowtop/flowtop/tracker"
)

// PcapName returns the name of the pcapng file of a connection's packets: its
// uid, which no other connection has, then its endpoints as they were when the
// file was started.
func PcapName(uid string, id tracker.ConnID) string {
	return "packets_" + uid + "_" + id.Orig() + "-" + id.Resp() + ".pcapng"
}

// PacketSink returns a sink that writes connection c's frames into a pcapng
// file in the Extractor's directory (created at the first frame, with the
// same rules as content files: 0600, never over an existing name, within the
// byte caps), and registers a removal hook that closes it. It implements
// tracker.PacketSink; call it on the tracker's goroutine and pass the sink to
// Conn.SetPacketSink.
func (x *Extractor) PacketSink(c tracker.Conn) *Sink {
	s := &Sink{x: x, uid: c.UID(), pcap: true}
	s.names[0] = PcapName(s.uid, c.ID())
	x.stats.extracting.Add(1)
	x.stats.conns.Add(1)
	c.RegisterRemovalHook(tracker.NewRemovalHook(func(*tracker.Record) { s.Close() }))
	return s
}

// Packet implements tracker.PacketSink: it queues a copy of the frame. A frame
// the queue cannot take is counted (Progress.Lost), never waited for.
func (s *Sink) Packet(ci gopacket.CaptureInfo, link layers.LinkType, frame []byte) {
	if s.stopped.Load() {
		return
	}
	buf := bufPool.Get().(*[]byte)
	*buf = append((*buf)[:0], frame...)
	if s.send(op{kind: opFrame, s: s, data: buf, ci: ci, link: link}) {
		return
	}
	bufPool.Put(buf)
	s.pmu.Lock()
	s.progress.Lost++
	s.pmu.Unlock()
	s.x.stats.lost.Add(uint64(len(frame)))
}

// writeFrame appends a frame to the sink's pcapng file, within the caps; a
// link type not seen before in the file becomes an interface of its own.
func (x *Extractor) writeFrame(s *Sink, o op) {
	n := uint64(len(*o.data))
	if c := x.cfg.MaxBytesPerConn; c > 0 && s.written+n > c {
		x.closeSink(s, ErrConnCap, "")
		return
	}
	if c := x.cfg.MaxBytesTotal; c > 0 && x.total.Load()+n > c {
		x.closeSink(s, ErrTotalCap, "")
		return
	}
	if s.ng == nil {
		f, err := x.create(s, 0)
		if err != nil {
			x.closeSink(s, err, s.names[0])
			return
		}
		intf := pcapgo.DefaultNgInterface
		intf.LinkType = o.link
		opts := pcapgo.DefaultNgWriterOptions
		opts.SectionInfo.Application = "flowtop"
		opts.SectionInfo.OS = runtime.GOOS
		if s.ng, err = pcapgo.NewNgWriterInterface(f, intf, opts); err != nil {
			x.closeSink(s, err, s.paths[0])
			return
		}
		s.ifaces = map[layers.LinkType]int{o.link: 0}
	}
	id, ok := s.ifaces[o.link]
	if !ok {
		intf := pcapgo.DefaultNgInterface
		intf.LinkType = o.link
		var err error
		if id, err = s.ng.AddInterface(intf); err != nil {
			x.closeSink(s, err, s.paths[0])
			return
		}
		s.ifaces[o.link] = id
	}
	ci := o.ci
	ci.InterfaceIndex = id
	ci.CaptureLength = len(*o.data)
	if err := s.ng.WritePacket(ci, *o.data); err != nil {
		x.closeSink(s, err, s.paths[0])
		return
	}
	s.written += n
	x.total.Add(n)
	x.stats.bytes.Add(n)
	s.pmu.Lock()
	s.progress.Written[0] += n
	s.progress.Packets++
	s.pmu.Unlock()
}
