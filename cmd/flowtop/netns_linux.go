package main

import (
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// otherNamespacePeer says, for a veth-like interface whose other end is in
// another network namespace (a container's), that the processes there cannot be
// seen; "" otherwise. Only sockets of flowtop's own namespace can be attributed.
func otherNamespacePeer(iface string) string {
	if iface == "" || iface == "any" {
		return ""
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return ""
	}
	b, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return ""
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return ""
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		info := (*syscall.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
		if int(info.Index) != ifi.Index {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return ""
		}
		for _, a := range attrs {
			if a.Attr.Type == unix.IFLA_LINK_NETNSID {
				return fmt.Sprintf("%s's other end is in another network namespace: the processes there are not seen", iface)
			}
		}
	}
	return ""
}
