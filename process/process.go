package process

import (
	"errors"
	"net/netip"
	"strconv"
	"time"
)

// Process is a local process that owns a socket. Values are shared between
// connections and never changed once made.
type Process struct {
	PID       int32     // 0 when only the socket's owner is known (the process was gone, or its fds unreadable)
	PPID      int32     // the parent's pid, 0 when unknown
	UID       uint32    // the socket's owner
	User      string    // the user name of UID, or UID in decimal
	Comm      string    // the command name (/proc/PID/comm)
	Cmdline   string    // the arguments, space-separated, at most MaxCmdline bytes
	Cgroup    string    // the unified cgroup path
	Unit      string    // the systemd unit the cgroup names (sshd.service), if any
	Container string    // the container id the cgroup names (docker, podman, containerd, crio), if any
	Start     time.Time // when the process started; zero when unknown
}

// MaxCmdline bounds Process.Cmdline.
const MaxCmdline = 4096

// Label is the short form a table column shows: "curl/4242", or the user alone
// when the pid is unknown.
func (p *Process) Label() string {
	if p == nil {
		return ""
	}
	if p.PID == 0 {
		return "(" + p.User + ")"
	}
	return p.Comm + "/" + strconv.Itoa(int(p.PID))
}

// Proto is a socket's transport protocol, as IP numbers it.
type Proto uint8

// The transports a Resolver looks up.
const (
	TCP  Proto = 6
	UDP  Proto = 17
	ICMP Proto = 1
	// ICMPv6 is ICMP over IPv6.
	ICMPv6 Proto = 58
)

// Socket is one end of a connection as the local host sees it: its own address
// and the peer's.
type Socket struct {
	Proto  Proto
	Local  netip.AddrPort
	Remote netip.AddrPort
}

// ErrUnsupported is returned by New where process attribution does not exist.
var ErrUnsupported = errors.New("process attribution is only available on Linux")
