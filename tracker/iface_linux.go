package tracker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// AnyInterface is the pseudo-interface that captures on every interface at once,
// with Linux cooked (SLL) headers instead of each interface's own link header.
const AnyInterface = "any"

// lookupInterface finds iface by name, reporting a missing one as ENODEV.
func lookupInterface(iface string) (*net.Interface, error) {
	ifi, err := net.InterfaceByName(iface)
	if err == nil {
		return ifi, nil
	}
	all, lerr := net.Interfaces()
	if lerr != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == iface {
			return &all[i], nil
		}
	}
	return nil, unix.ENODEV
}

// loopbackIndex returns the index of the first loopback interface, or 0.
func loopbackIndex() int {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi.Index
		}
	}
	return 0
}

// DefaultInterface returns the interface to capture on when none is given: the one
// holding the IPv4 default route (the IPv6 one if there is no IPv4 default), else
// the first interface that is up and not loopback.
func DefaultInterface() (string, error) {
	for _, r := range []struct {
		path  string
		parse func(io.Reader) string
	}{
		{"/proc/net/route", defaultRouteIPv4},
		{"/proc/net/ipv6_route", defaultRouteIPv6},
	} {
		f, err := os.Open(r.path)
		if err != nil {
			continue
		}
		name := r.parse(f)
		f.Close()
		if name == "" {
			continue
		}
		if _, err := net.InterfaceByName(name); err == nil {
			return name, nil
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("find default interface: %w", err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 {
			return ifi.Name, nil
		}
	}
	return "", errors.New("find default interface: no default route and no interface is up besides loopback")
}

// Route flags from linux/route.h.
const (
	rtfUp     = 0x0001
	rtfReject = 0x0200
)

// defaultRouteIPv4 returns the interface of the lowest-metric usable default route
// in a /proc/net/route table, or "".
//
//	Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
func defaultRouteIPv4(r io.Reader) string {
	best, bestMetric := "", uint64(0)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.ParseUint(f[6], 10, 64)
		if err1 != nil || err2 != nil || flags&rtfUp == 0 || flags&rtfReject != 0 || f[0] == "*" || f[0] == "lo" {
			continue
		}
		if best == "" || metric < bestMetric {
			best, bestMetric = f[0], metric
		}
	}
	return best
}

// defaultRouteIPv6 returns the interface of the lowest-metric usable ::/0 route in
// a /proc/net/ipv6_route table, or "".
//
//	dest destlen src srclen nexthop metric refcnt use flags iface
func defaultRouteIPv6(r io.Reader) string {
	best, bestMetric := "", uint64(0)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "00000000000000000000000000000000" || f[1] != "00" {
			continue
		}
		metric, err1 := strconv.ParseUint(f[5], 16, 64)
		flags, err2 := strconv.ParseUint(f[8], 16, 32)
		if err1 != nil || err2 != nil || flags&rtfUp == 0 || flags&rtfReject != 0 || f[9] == "lo" {
			continue
		}
		if best == "" || metric < bestMetric {
			best, bestMetric = f[9], metric
		}
	}
	return best
}
