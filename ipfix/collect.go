package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
)

// Collector receives NetFlow v5, v9 and IPFIX over UDP, or IPFIX over TCP
// (RFC 7011 §10.4), from any number of exporters, and hands each message's
// flows to its handler, on its own goroutine. Malformed messages are counted
// (Stats) and reported once through warn, never fatal.
type Collector struct {
	addr    string
	network string
	pc      net.PacketConn
	ln      net.Listener
	handle  func([]Flow)
	warn    func(string)
	mu      sync.Mutex // the Decoder, shared by TCP connections
	dec     *Decoder
	done    sync.WaitGroup
	closing atomic.Bool
	warned  atomic.Bool
	conns   sync.Map // TCP connections, to close
}

// ParseListen parses udp://ADDR:PORT or tcp://ADDR:PORT (ADDR may be empty for
// every address) into a network and an address to listen on.
func ParseListen(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", "", fmt.Errorf("%q: want udp://ADDR:PORT or tcp://ADDR:PORT", s)
	}
	if u.Scheme != "udp" && u.Scheme != "tcp" {
		return "", "", fmt.Errorf("%q: the transport is udp or tcp, not %q", s, u.Scheme)
	}
	if u.Port() == "" {
		return "", "", fmt.Errorf("%q: a port is needed (IPFIX's is 4739, NetFlow's often 2055)", s)
	}
	return u.Scheme, u.Host, nil
}

// Listen starts a Collector on a URL that ParseListen accepts. handle gets each
// message's flows (the slice is reused after the call); pen is the enterprise
// number of flowtop's elements (0: DefaultPEN).
func Listen(s string, pen uint32, handle func([]Flow), warn func(string)) (*Collector, error) {
	network, addr, err := ParseListen(s)
	if err != nil {
		return nil, err
	}
	if warn == nil {
		warn = func(string) {}
	}
	c := &Collector{network: network, handle: handle, warn: warn, dec: NewDecoder(pen)}
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("collect on %s: %w", s, err)
		}
		if u, ok := pc.(*net.UDPConn); ok {
			u.SetReadBuffer(8 << 20) // bursts of an exporter reading a file
		}
		c.pc, c.addr = pc, pc.LocalAddr().String()
		c.done.Add(1)
		go c.readUDP()
		return c, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("collect on %s: %w", s, err)
	}
	c.ln, c.addr = ln, ln.Addr().String()
	c.done.Add(1)
	go c.accept()
	return c, nil
}

// Addr returns the address the Collector listens on.
func (c *Collector) Addr() string { return c.addr }

// Stats returns the decoder's counts.
func (c *Collector) Stats() DecodeStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dec.Stats()
}

// Close stops listening and waits until the last message is handled.
func (c *Collector) Close() {
	if c.closing.Swap(true) {
		return
	}
	if c.pc != nil {
		c.pc.Close()
	}
	if c.ln != nil {
		c.ln.Close()
	}
	c.conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	c.done.Wait()
}

func (c *Collector) readUDP() {
	defer c.done.Done()
	buf := make([]byte, 65536)
	var flows []Flow
	for {
		n, from, err := c.pc.ReadFrom(buf)
		if err != nil {
			if !c.closing.Load() && !errors.Is(err, net.ErrClosed) {
				c.warn(fmt.Sprintf("collect on %s: %v", c.addr, err))
			}
			return
		}
		var ap netip.AddrPort
		if u, ok := from.(*net.UDPAddr); ok {
			ap = u.AddrPort()
		}
		flows = c.decode(buf[:n], ap, flows[:0])
	}
}

func (c *Collector) decode(msg []byte, from netip.AddrPort, flows []Flow) []Flow {
	c.mu.Lock()
	err := c.dec.Decode(msg, from, func(f *Flow) { flows = append(flows, *f) })
	c.mu.Unlock()
	if err != nil && !c.warned.Swap(true) {
		c.warn(fmt.Sprintf("collect on %s: from %v: %v (counted; further ones at exit)", c.addr, from, err))
	}
	if len(flows) > 0 {
		c.handle(flows)
	}
	return flows
}

func (c *Collector) accept() {
	defer c.done.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			if !c.closing.Load() && !errors.Is(err, net.ErrClosed) {
				c.warn(fmt.Sprintf("collect on %s: %v", c.addr, err))
			}
			return
		}
		c.conns.Store(conn, true)
		c.done.Add(1)
		go c.readTCP(conn)
	}
}

// readTCP reads IPFIX messages from a stream: each starts with its version and
// length.
func (c *Collector) readTCP(conn net.Conn) {
	defer c.done.Done()
	defer c.conns.Delete(conn)
	defer conn.Close()
	var from netip.AddrPort
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		from = a.AddrPort()
	}
	var flows []Flow
	msg := make([]byte, maxMessageLen)
	for {
		if _, err := io.ReadFull(conn, msg[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(msg[2:]))
		if binary.BigEndian.Uint16(msg) != version10 || n < headerLen {
			c.decode(msg[:4], from, nil) // counted as malformed; the stream is lost
			return
		}
		if _, err := io.ReadFull(conn, msg[4:n]); err != nil {
			return
		}
		flows = c.decode(msg[:n], from, flows[:0])
	}
}
