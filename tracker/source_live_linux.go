package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Ring geometry. TPACKET_V3 packs packets of any size one after another into
// blocks; ringFrameSize only serves the kernel's bookkeeping checks.
const (
	ringMaxBlock     = 1 << 20 // blocks are at most this large
	ringMinBlocks    = 8       // and, when the snaplen allows, at least this many
	ringFrameSize    = 2048
	ringBlockTimeout = 20 // ms after which a block that is not full is handed over
	vlanHeadroom     = 4  // room to put back an 802.1Q tag in front of the frame
	sllHeaderLen     = 16 // Linux cooked header (LINKTYPE_LINUX_SLL)
	tpacket3HdrLen   = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr)); struct sockaddr_ll follows
)

// Socket states of liveSource.state.
const (
	stateClosed = 1 << iota // Close was called
	stateLent               // the reader is in ReadPacket or holds the last packet's data
)

// liveSource is a live capture on one Linux interface, or on all of them: an
// AF_PACKET socket with a TPACKET_V3 receive ring mapped into memory. The kernel
// fills the ring's blocks; ReadPacket walks a block's packets in place (their data
// aliases the ring, with no copy) and hands the block back to the kernel when the
// next call moves past it. The descriptor is non-blocking and registered with the
// Go runtime poller, so waiting for a block parks the goroutine rather than a
// thread, and Close wakes it at once.
type liveSource struct {
	iface string
	link  layers.LinkType
	// cooked: the "any" pseudo-interface, read with SOCK_DGRAM; ReadPacket writes
	// a Linux cooked header in front of each packet's network header.
	cooked bool
	// skipOutgoing drops PACKET_OUTGOING copies on loopback, where every packet
	// is seen both leaving and arriving (libpcap keeps only the arrival): all of
	// them when capturing on lo, those of interface loIndex on "any".
	skipOutgoing bool
	loIndex      int32
	snaplen      int
	user         *bpf.VM // the filter when it runs in user space, else nil

	file    *os.File
	rc      syscall.RawConn
	readyFn func(fd uintptr) bool // s.ready, bound once so reads do not allocate
	state   atomic.Uint32

	ring      []byte // the mapped ring: nblocks blocks of blockSize bytes
	blockSize int
	nblocks   int
	cur       int    // block the reader is at
	held      bool   // the reader holds block cur (it is the user's until released)
	left      int    // packets of block cur not yet read
	next      int    // offset in block cur of the next packet's header
	status    uint32 // tp_status of the last packet returned
	unmapOnce sync.Once

	statsMu sync.Mutex
	stats   CaptureStats
}

var _ Source = (*liveSource)(nil)

// OpenLive starts capturing on the network interface iface, or on every interface
// for "any" (AnyInterface). It needs root or CAP_NET_RAW (and CAP_NET_ADMIN for
// Promisc). Ethernet and loopback interfaces yield layers.LinkTypeEthernet
// (loopback has Ethernet framing with zero MACs on Linux); interfaces without a
// link header (tun, WireGuard) yield layers.LinkTypeRaw; "any" yields
// layers.LinkTypeLinuxSLL. Packet timestamps are the kernel's receive (or
// transmit) times, in nanoseconds. ReadPacket blocks until a packet arrives; Close
// unblocks it and later calls return io.EOF. ReadPacket must not be called
// concurrently with itself.
func OpenLive(iface string, opt LiveOptions) (Source, error) {
	if iface == "" {
		return nil, errors.New("open interface: no interface name given")
	}
	s, err := openRing(iface, opt)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, &permissionError{iface: iface, err: err}
		}
		return nil, fmt.Errorf("open interface %s: %w", iface, err)
	}
	return s, nil
}

// openRing opens the socket and its ring; OpenLive words its errors.
func openRing(iface string, opt LiveOptions) (*liveSource, error) {
	s := &liveSource{iface: iface, snaplen: opt.Snaplen}
	if s.snaplen <= 0 || s.snaplen > DefaultSnaplen {
		s.snaplen = DefaultSnaplen
	}
	ifindex := 0
	if iface == AnyInterface {
		s.cooked, s.link = true, layers.LinkTypeLinuxSLL
		s.loIndex = int32(loopbackIndex())
	} else {
		ifi, err := lookupInterface(iface)
		if err != nil {
			return nil, err
		}
		ifindex = ifi.Index
	}

	// Protocol 0: the socket receives nothing until bind names ETH_P_ALL and the
	// interface, so no packet slips past the filter or in from another interface.
	typ := unix.SOCK_RAW
	if s.cooked {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := s.setup(fd, ifindex, opt); err != nil {
		s.unmap()
		unix.Close(fd)
		return nil, err
	}
	s.file = os.NewFile(uintptr(fd), "capture "+iface)
	if s.rc, err = s.file.SyscallConn(); err != nil {
		s.file.Close()
		s.unmap()
		return nil, err
	}
	s.readyFn = s.ready
	return s, nil
}

// setup configures the socket, maps its ring, attaches the filter and binds.
func (s *liveSource) setup(fd, ifindex int, opt LiveOptions) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("TPACKET_V3 ring: %w", err)
	}
	// Room in front of each packet for what ReadPacket writes there: a VLAN tag,
	// and on "any" the cooked header too.
	reserve := vlanHeadroom
	if s.cooked {
		reserve += sllHeaderLen
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_RESERVE, reserve); err != nil {
		return fmt.Errorf("ring headroom: %w", err)
	}
	size := opt.Buffer
	if size <= 0 {
		size = DefaultBuffer
	}
	s.blockSize, s.nblocks = ringGeometry(size, s.snaplen)
	req := unix.TpacketReq3{
		Block_size:     uint32(s.blockSize),
		Block_nr:       uint32(s.nblocks),
		Frame_size:     ringFrameSize,
		Frame_nr:       uint32(s.nblocks * (s.blockSize / ringFrameSize)),
		Retire_blk_tov: ringBlockTimeout,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("ring of %d MiB: %w", s.nblocks*s.blockSize>>20, err)
	}
	ring, err := unix.Mmap(fd, 0, s.nblocks*s.blockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map the ring of %d MiB: %w", s.nblocks*s.blockSize>>20, err)
	}
	s.ring = ring

	if !s.cooked {
		// The link type decides how the filter is compiled: bind first with
		// protocol 0 (still receiving nothing) to learn it.
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: ifindex}); err != nil {
			return bindError(err)
		}
		if err := s.linkType(fd); err != nil {
			return err
		}
	}
	if err := s.attachFilter(fd, opt.Filter); err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return bindError(err)
	}
	if opt.Promisc && !s.cooked {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("enable promiscuous mode: %w", err)
		}
	}
	return nil
}

// ringGeometry returns the block size and count of a ring of about size bytes:
// blocks of a power of two that hold the largest packet (snaplen plus headers),
// up to ringMaxBlock, and at least ringMinBlocks of them when that allows. Many
// blocks let the kernel go on filling while flowtop holds one; large ones cost
// fewer hand-overs.
func ringGeometry(size, snaplen int) (blockSize, nblocks int) {
	minBlock := os.Getpagesize()
	for minBlock < snaplen+512 { // tpacket3_hdr, sockaddr_ll, headroom, alignment
		minBlock <<= 1
	}
	blockSize = ringMaxBlock
	for blockSize > minBlock && blockSize*ringMinBlocks > size {
		blockSize >>= 1
	}
	blockSize = max(blockSize, minBlock)
	return blockSize, max(2, (size+blockSize-1)/blockSize)
}

// bindError words a bind failure; a missing device was removed since the lookup.
func bindError(err error) error {
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
		return unix.ENODEV
	}
	return fmt.Errorf("bind: %w", err)
}

// linkType sets s.link from the hardware type of the bound interface.
func (s *liveSource) linkType(fd int) error {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if !ok {
		return fmt.Errorf("getsockname: unexpected address %T", sa)
	}
	switch ll.Hatype {
	case unix.ARPHRD_ETHER:
		s.link = layers.LinkTypeEthernet
	case unix.ARPHRD_LOOPBACK:
		s.link = layers.LinkTypeEthernet
		s.skipOutgoing = true
	case unix.ARPHRD_NONE:
		s.link = layers.LinkTypeRaw
	default:
		return fmt.Errorf("unsupported link type (ARPHRD %d); only Ethernet, loopback and tun-style interfaces can be captured (or use -i any)", ll.Hatype)
	}
	return nil
}

// attachFilter attaches f's program for the socket's link type, or, if the
// kernel cannot run it as it would run on the frame ReadPacket returns, keeps it
// to run in user space. Without a filter, a snaplen below the maximum is still
// enforced by a program that accepts every packet with that length.
func (s *liveSource) attachFilter(fd int, f Filter) error {
	var prog []bpf.RawInstruction
	if f == nil {
		if s.snaplen >= DefaultSnaplen {
			return nil
		}
		prog = []bpf.RawInstruction{{Op: 0x06, K: uint32(s.snaplen)}} // ret #snaplen
	} else {
		var err error
		if prog, err = f.Compile(s.link, uint32(s.snaplen)); err != nil {
			return err
		}
		kernel := !testsVLAN(prog) // the kernel sees frames without their VLAN tags
		if kernel && s.cooked {
			prog, kernel = cookedProgram(prog)
		}
		if !kernel {
			vm, err := compileVM(f, s.link, uint32(s.snaplen))
			if err != nil {
				return err
			}
			s.user = vm
			return nil
		}
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("attach the filter: %w", err)
	}
	return nil
}

// Linux socket filter ancillary data offsets (linux/filter.h).
const (
	skfAdOff      = 0xfffff000 // SKF_AD_OFF (-0x1000)
	skfAdProtocol = 0
	skfAdPktType  = 4
)

// cookedProgram rewrites a program compiled for Linux cooked headers to run on
// the kernel's view of a SOCK_DGRAM packet, which starts at the network header,
// as libpcap does: packet offsets past the cooked header move back by its length,
// and the two fields of the header that the kernel knows (the packet type and the
// protocol) become ancillary loads. ok is false if the program reads anything
// else of the header; it must then run in user space.
func cookedProgram(prog []bpf.RawInstruction) (out []bpf.RawInstruction, ok bool) {
	out = append([]bpf.RawInstruction(nil), prog...)
	for i := range out {
		ins := &out[i]
		class, mode := ins.Op&0x07, ins.Op&0xe0
		if class != 0x00 && class != 0x01 { // BPF_LD, BPF_LDX
			continue
		}
		if mode != 0x20 && mode != 0x40 && mode != 0xa0 { // BPF_ABS, BPF_IND, BPF_MSH
			continue
		}
		switch {
		case ins.K >= sllHeaderLen:
			ins.K -= sllHeaderLen
		case ins.K == 0 && class == 0x00 && mode == 0x20:
			ins.K = skfAdOff + skfAdPktType
		case ins.K == 14 && class == 0x00 && mode == 0x20:
			ins.K = skfAdOff + skfAdProtocol
		default:
			return nil, false
		}
	}
	return out, true
}

// block returns block i of the ring.
func (s *liveSource) block(i int) []byte {
	return s.ring[i*s.blockSize : (i+1)*s.blockSize : (i+1)*s.blockSize]
}

// blockHdr returns the header of block i (struct tpacket_hdr_v1, after the
// block descriptor's version and private-area offset).
func (s *liveSource) blockHdr(i int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&s.ring[i*s.blockSize+8]))
}

// ready is the RawConn read callback: it reports whether the kernel has handed
// the current block to user space.
func (s *liveSource) ready(uintptr) bool {
	return atomic.LoadUint32(&s.blockHdr(s.cur).Block_status)&unix.TP_STATUS_USER != 0
}

// ReadPacket implements Source. The data aliases the ring and stays valid until
// the next call. It returns io.EOF once the source is closed.
func (s *liveSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	for {
		if !s.lend() {
			return nil, gopacket.CaptureInfo{}, 0, io.EOF
		}
		if s.left == 0 {
			if s.held {
				// Every packet of the block was read: hand it back.
				atomic.StoreUint32(&s.blockHdr(s.cur).Block_status, unix.TP_STATUS_KERNEL)
				s.held = false
				s.cur = (s.cur + 1) % s.nblocks
			}
			if !s.ready(0) {
				if err := s.rc.Read(s.readyFn); err != nil {
					return nil, gopacket.CaptureInfo{}, 0, s.readError(err)
				}
			}
			h := s.blockHdr(s.cur)
			s.held, s.left, s.next = true, int(h.Num_pkts), int(h.Offset_to_first_pkt)
			continue
		}
		if data, ci, ok := s.nextPacket(); ok {
			return data, ci, s.link, nil
		}
	}
}

// nextPacket walks to the next packet of the held block and builds it. ok is
// false for a packet that is skipped: an outgoing copy on loopback, one the
// user-space filter rejects, or a header that does not fit the block (a corrupt
// block: the rest of it is skipped).
func (s *liveSource) nextPacket() (data []byte, ci gopacket.CaptureInfo, ok bool) {
	off := s.next
	blk := s.block(s.cur)
	if off < 0 || off%4 != 0 || off+tpacket3HdrLen+int(unsafe.Sizeof(unix.RawSockaddrLinklayer{})) > len(blk) {
		s.left = 0
		return nil, ci, false
	}
	h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[off]))
	s.left--
	s.next = off + int(h.Next_offset)
	sll := (*unix.RawSockaddrLinklayer)(unsafe.Pointer(&blk[off+tpacket3HdrLen]))
	if sll.Pkttype == unix.PACKET_OUTGOING && (s.skipOutgoing || (s.cooked && sll.Ifindex == s.loIndex)) {
		return nil, ci, false
	}
	if data, ci, ok = s.frame(blk, off, h, sll); !ok {
		return nil, ci, false
	}
	if s.user != nil {
		if n, err := s.user.Run(data); err != nil || n == 0 {
			return nil, ci, false
		}
	}
	s.status = h.Status
	return data, ci, true
}

// frame builds the packet whose header h is at off in blk: it puts back a VLAN
// tag the kernel took out of the frame (as libpcap does), writes the cooked header
// on "any", and clips the data to the snaplen. ok is false for a header whose
// offsets do not fit the block.
func (s *liveSource) frame(blk []byte, off int, h *unix.Tpacket3Hdr, sll *unix.RawSockaddrLinklayer) (data []byte, ci gopacket.CaptureInfo, ok bool) {
	mac := off + int(h.Mac)
	capLen, wire := int(h.Snaplen), int(h.Len)
	sllEnd := off + tpacket3HdrLen + int(unsafe.Sizeof(*sll)) // what is before must stay
	if mac < sllEnd || mac+capLen > len(blk) {
		return nil, ci, false
	}
	tagged := h.Hv1.Vlan_tci != 0 || h.Status&unix.TP_STATUS_VLAN_VALID != 0
	var tag [4]byte
	if tagged {
		tpid := uint16(0x8100)
		if h.Hv1.Vlan_tpid != 0 || h.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = h.Hv1.Vlan_tpid
		}
		binary.BigEndian.PutUint16(tag[0:2], tpid)
		binary.BigEndian.PutUint16(tag[2:4], uint16(h.Hv1.Vlan_tci))
	}
	start := mac
	switch {
	case s.cooked:
		proto := (*[2]byte)(unsafe.Pointer(&sll.Protocol)) // network byte order
		hdrLen := sllHeaderLen
		if tagged {
			hdrLen += 4
		}
		start = mac - hdrLen
		if start < sllEnd {
			return nil, ci, false
		}
		hdr := blk[start:mac]
		binary.BigEndian.PutUint16(hdr[0:2], uint16(sll.Pkttype))
		binary.BigEndian.PutUint16(hdr[2:4], sll.Hatype)
		binary.BigEndian.PutUint16(hdr[4:6], uint16(sll.Halen))
		copy(hdr[6:14], sll.Addr[:])
		if tagged {
			copy(hdr[14:18], tag[:])
			copy(hdr[18:20], proto[:])
		} else {
			copy(hdr[14:16], proto[:])
		}
		capLen += hdrLen
		wire += hdrLen
	case tagged && s.link == layers.LinkTypeEthernet && capLen >= 12 && mac-4 >= sllEnd:
		// Move the two MAC addresses 4 bytes forward and put the tag after them.
		start = mac - 4
		copy(blk[start:start+12], blk[mac:mac+12])
		copy(blk[start+12:start+16], tag[:])
		capLen += 4
		wire += 4
	}
	capLen = min(capLen, s.snaplen)
	ci.Timestamp = time.Unix(int64(h.Sec), int64(h.Nsec))
	ci.CaptureLength = capLen
	ci.Length = max(wire, capLen)
	ci.InterfaceIndex = int(sll.Ifindex)
	return blk[start : start+capLen], ci, true
}

// checksumTrusted implements offloadSource for the last packet returned: the
// kernel had not computed its transport checksum yet (sent by this host with
// checksum offload), or the interface verified it.
func (s *liveSource) checksumTrusted() bool {
	return s.status&(unix.TP_STATUS_CSUMNOTREADY|unix.TP_STATUS_CSUM_VALID) != 0
}

// readError turns a failed wait for the ring into ReadPacket's error.
func (s *liveSource) readError(err error) error {
	closed := s.state.Load()&stateClosed != 0
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && !closed:
		s.file.SetReadDeadline(time.Time{})
		return errWoken
	case closed || errors.Is(err, os.ErrClosed):
		s.returned()
		return io.EOF
	}
	return fmt.Errorf("read %s: %w", s.iface, err)
}

// lend marks the ring as in use by the reader, until it returns an error or
// release is called. It reports false, and gives the ring up, once the source is
// closed.
func (s *liveSource) lend() bool {
	for {
		old := s.state.Load()
		if old&stateClosed != 0 {
			s.returned()
			return false
		}
		if old&stateLent != 0 || s.state.CompareAndSwap(old, old|stateLent) {
			return true
		}
	}
}

// returned marks the ring as no longer in use by the reader, and unmaps it if
// the source was closed meanwhile.
func (s *liveSource) returned() {
	for {
		old := s.state.Load()
		if s.state.CompareAndSwap(old, old&^stateLent) {
			if old&stateClosed != 0 {
				s.unmap()
			}
			return
		}
	}
}

// release implements releaser: the reader will not read again.
func (s *liveSource) release() { s.returned() }

// unmap unmaps the ring, once.
func (s *liveSource) unmap() {
	s.unmapOnce.Do(func() {
		if s.ring != nil {
			unix.Munmap(s.ring)
			s.ring = nil
		}
	})
}

// wakeUp makes a blocked (or the next) ReadPacket return errWoken, so that Run can
// serve its Feed and calls while no packets arrive.
func (s *liveSource) wakeUp() { s.file.SetReadDeadline(time.Now()) }

// captureStats implements statsSource: the kernel's counters since the capture
// was opened (PACKET_STATISTICS resets them at each read, so they are summed).
func (s *liveSource) captureStats() CaptureStats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.state.Load()&stateClosed == 0 {
		s.readStats()
	}
	return s.stats
}

// readStats adds the kernel's counters to s.stats; statsMu must be held.
func (s *liveSource) readStats() {
	s.rc.Control(func(fd uintptr) {
		st, err := unix.GetsockoptTpacketStatsV3(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err == nil {
			s.stats.Received += uint64(st.Packets)
			s.stats.Dropped += uint64(st.Drops)
		}
	})
}

// Close implements Source. It wakes a ReadPacket blocked in another goroutine,
// which then returns io.EOF. The ring stays mapped until the reader has come back
// (or Run has returned), since the last packet's data aliases it. Closing twice is
// harmless.
func (s *liveSource) Close() error {
	s.statsMu.Lock()
	if s.state.Load()&stateClosed == 0 {
		s.readStats() // the last counts, kept for captureStats
	}
	s.statsMu.Unlock()
	for {
		old := s.state.Load()
		if old&stateClosed != 0 {
			return nil
		}
		if s.state.CompareAndSwap(old, old|stateClosed) {
			err := s.file.Close()
			if old&stateLent == 0 {
				s.unmap()
			}
			return err
		}
	}
}

// permissionError is the error for a capture without the needed privileges.
type permissionError struct {
	iface string
	err   error
}

func (e *permissionError) Error() string {
	return "capture on " + e.iface + " needs root or CAP_NET_RAW: run with sudo, or setcap cap_net_raw,cap_net_admin=eip on the flowtop binary"
}

func (e *permissionError) Unwrap() error { return e.err }

func htons(v uint16) uint16 { return v<<8 | v>>8 }
