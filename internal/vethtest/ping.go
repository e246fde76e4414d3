package vethtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"
)

// ICMP message types of an echo exchange.
const (
	icmp4EchoRequest = 8
	icmp4EchoReply   = 0
	icmp6EchoRequest = 128
	icmp6EchoReply   = 129
)

// icmpHeaderLen is the length of an echo message's header: type, code,
// checksum, identifier, sequence number.
const icmpHeaderLen = 8

// Ping sends count ICMP echo requests carrying size bytes of payload from src to
// dst (ICMPv4 or ICMPv6, by their family), one at a time, and waits up to
// timeout for each reply. It uses a raw socket bound to src, so it needs root or
// CAP_NET_RAW but no ping binary, and a random identifier, so that concurrent
// pings do not take each other's replies. On the wire each request and each
// reply is an IP packet of 20 (IPv4) or 40 (IPv6) + 8 + size bytes.
func Ping(src, dst netip.Addr, count, size int, timeout time.Duration) error {
	if src.Is4() != dst.Is4() {
		return fmt.Errorf("ping %s from %s: address families differ", dst, src)
	}
	network, request, reply := "ip4:icmp", byte(icmp4EchoRequest), byte(icmp4EchoReply)
	if src.Is6() {
		network, request, reply = "ip6:ipv6-icmp", icmp6EchoRequest, icmp6EchoReply
	}
	pc, err := net.ListenPacket(network, src.String())
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w", dst, src, err)
	}
	defer pc.Close()
	id := uint16(rand.Uint32())
	to := &net.IPAddr{IP: dst.AsSlice()}
	buf := make([]byte, 64<<10)
	for seq := uint16(1); int(seq) <= count; seq++ {
		msg := echoMessage(request, id, seq, size)
		if _, err := pc.WriteTo(msg, to); err != nil {
			return fmt.Errorf("ping %s from %s: %w", dst, src, err)
		}
		if err := pc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		for {
			// Go strips the IPv4 header; an ICMPv6 socket never gets one.
			n, _, err := pc.ReadFrom(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("ping %s from %s: no reply to echo request %d within %v", dst, src, seq, timeout)
			}
			if err != nil {
				return fmt.Errorf("ping %s from %s: %w", dst, src, err)
			}
			m := buf[:n]
			if len(m) == icmpHeaderLen+size && m[0] == reply &&
				binary.BigEndian.Uint16(m[4:]) == id && binary.BigEndian.Uint16(m[6:]) == seq {
				break
			}
		}
	}
	return nil
}

// echoMessage returns an echo request or reply of typ with a payload of size
// bytes. The ICMPv4 checksum is filled in; for ICMPv6 the kernel computes it
// (it covers a pseudo-header only the kernel knows for sure).
func echoMessage(typ byte, id, seq uint16, size int) []byte {
	m := make([]byte, icmpHeaderLen+size)
	m[0] = typ
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	for i := icmpHeaderLen; i < len(m); i++ {
		m[i] = byte(i)
	}
	if typ == icmp4EchoRequest || typ == icmp4EchoReply {
		binary.BigEndian.PutUint16(m[2:], checksum(m))
	}
	return m
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
