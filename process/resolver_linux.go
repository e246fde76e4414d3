package process

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FullScanEvery is how often, at most, a Resolver reads every process's fds when a
// socket's owner is neither a process that owned sockets before nor a new one.
const FullScanEvery = 5 * time.Second

// youngFor is how long after it was first listed a process is scanned again on
// every miss: a new client opens its socket after it starts.
const youngFor = 2 * time.Second

// maxHot is how many of the latest socket owners a miss rescans first.
const maxHot = 32

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time: 100 on every
// Linux architecture flowtop builds for.
const clockTicks = 100

// Resolver finds the process behind a socket. It is not safe for concurrent use:
// one goroutine (an Attributor's) owns it.
type Resolver struct {
	diag     *sockDiag
	proc     string             // the procfs mount, "/proc"
	owners   map[uint32]int32   // socket inode → pid, from the fd scans
	procs    map[int32]*Process // by pid, valid while the pid's start time is the same
	starts   map[int32]uint64   // start time (ticks since boot) of each cached pid
	byUID    map[uint32]*Process
	users    map[uint32]string
	hot      []int32         // the latest socket owners, most recent first
	young    []int32         // scratch
	known    map[int32]known // the processes listed last (pids wrap and are reused: a new one is not a higher one)
	dirent   []byte          // Getdents's buffer
	lastFull time.Time
	boot     time.Time
	warnings []string
	link     []byte // Readlink's buffer

	// Stats count the Resolver's work.
	Stats Stats
}

// Stats are a Resolver's counters.
type Stats struct {
	Lookups   uint64        // sockets asked for
	Found     uint64        // sockets the kernel had
	Owned     uint64        // sockets whose process was found
	FDScans   uint64        // /proc/PID/fd directories read
	FullScans uint64        // reads of every process's fds
	ScanTime  time.Duration // wall time spent reading /proc
}

// New opens a Resolver on the current network namespace. It fails when the kernel
// offers no sock_diag; Warnings then says what attribution lacks (privileges).
func New() (*Resolver, error) {
	d, err := openSockDiag()
	if err != nil {
		return nil, err
	}
	r := &Resolver{
		diag:   d,
		proc:   "/proc",
		owners: map[uint32]int32{},
		procs:  map[int32]*Process{},
		starts: map[int32]uint64{},
		byUID:  map[uint32]*Process{},
		link:   make([]byte, 64),
		boot:   bootTime("/proc/stat"),
	}
	if os.Getpid() != 1 {
		if _, err := os.ReadDir("/proc/1/fd"); errors.Is(err, fs.ErrPermission) {
			r.warnings = append(r.warnings, "process attribution: other users' /proc/PID/fd cannot be read (needs root, or CAP_SYS_PTRACE): their connections name the user only")
		}
	}
	return r, nil
}

// Warnings says, once, what this Resolver cannot see.
func (r *Resolver) Warnings() []string { return r.warnings }

// Close releases the netlink socket.
func (r *Resolver) Close() { r.diag.close() }

// Prime reads every process's fds once, so that connections open before the
// capture started, and their processes, are known at once.
func (r *Resolver) Prime() { r.fullScan() }

// Lookup returns the process behind s: nil and no error when the kernel has no
// such socket (it closed, or it is not local); a Process with PID 0 when the
// socket's owner (a user) is known but not its process.
func (r *Resolver) Lookup(s Socket) (*Process, error) {
	if s.Proto != TCP && s.Proto != UDP {
		return nil, nil
	}
	r.Stats.Lookups++
	e, err := r.diag.lookup(s.Proto, s)
	if err == errNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if e.local.Port() != s.Local.Port() || e.inode == 0 {
		return nil, nil // not this socket, or one with no file (closed, TIME_WAIT)
	}
	return r.owner(e), nil
}

// LookupListener returns the process whose TCP socket listens on local: the one
// that accepted a connection to it, when that connection's own socket is gone.
func (r *Resolver) LookupListener(local netip.AddrPort) (*Process, error) {
	// No established socket has a zero peer: the kernel's lookup falls back to
	// the listener.
	var peer netip.Addr
	if local.Addr().Unmap().Is4() {
		peer = netip.IPv4Unspecified()
	} else {
		peer = netip.IPv6Unspecified()
	}
	return r.Lookup(Socket{Proto: TCP, Local: local, Remote: netip.AddrPortFrom(peer, 0)})
}

// owner returns the process holding the socket e.
func (r *Resolver) owner(e diagEntry) *Process {
	r.Stats.Found++
	pid, ok := r.owners[e.inode]
	if !ok {
		pid, ok = r.find(e.inode)
	}
	if ok {
		if p := r.process(pid, e.uid); p != nil {
			r.Stats.Owned++
			r.touch(pid)
			return p
		}
	}
	return r.userOnly(e.uid)
}

// find looks for the process holding inode: the young processes first, newest
// first (a client that has just connected, which may be gone in a few
// milliseconds; one listed a moment ago, before it connected, is scanned again),
// then the latest socket owners (a server's new socket), then, rate-limited, all.
func (r *Resolver) find(inode uint32) (int32, bool) {
	start := time.Now()
	defer func() { r.Stats.ScanTime += time.Since(start) }()
	now := start
	pids := r.listPIDs()
	r.remember(pids, now)
	young := r.young[:0]
	for _, p := range pids {
		if now.Sub(r.known[p.pid].first) < youngFor {
			young = append(young, p.pid)
		}
	}
	// The newest first: the process that just connected was listed last.
	slices.SortFunc(young, func(a, b int32) int { return r.known[b].first.Compare(r.known[a].first) })
	r.young = young
	for _, pid := range young {
		r.scanFDs(pid)
		if p, ok := r.owners[inode]; ok {
			return p, true
		}
	}
	for _, pid := range r.hot {
		r.scanFDs(pid)
		if p, ok := r.owners[inode]; ok {
			return p, true
		}
	}
	if time.Since(r.lastFull) >= FullScanEvery {
		r.fullScan()
		if p, ok := r.owners[inode]; ok {
			return p, true
		}
	}
	return 0, false
}

// fullScan rebuilds the inode map from every process's fds.
func (r *Resolver) fullScan() {
	start := time.Now()
	r.Stats.FullScans++
	r.lastFull = start
	clear(r.owners)
	pids := r.listPIDs()
	for _, p := range pids {
		r.scanFDs(p.pid)
	}
	r.remember(pids, time.Time{}) // scanned just now: not young
	r.Stats.ScanTime += time.Since(start)
}

// remember records when each process of pids was first listed, and forgets the
// ones that are gone.
func (r *Resolver) remember(pids []pidEntry, now time.Time) {
	next := make(map[int32]known, len(pids))
	for _, p := range pids {
		if k, ok := r.known[p.pid]; ok && k.ino == p.ino {
			next[p.pid] = k
		} else {
			next[p.pid] = known{p.ino, now}
		}
	}
	r.known = next
}

// known is a listed process: its /proc/PID inode and when it was first listed.
type known struct {
	ino   uint64
	first time.Time
}

// touch makes pid the latest socket owner.
func (r *Resolver) touch(pid int32) {
	for i, p := range r.hot {
		if p == pid {
			copy(r.hot[1:i+1], r.hot[:i])
			r.hot[0] = pid
			return
		}
	}
	if len(r.hot) < maxHot {
		r.hot = append(r.hot, 0)
	}
	copy(r.hot[1:], r.hot)
	r.hot[0] = pid
}

// listPIDs lists the processes in /proc, each with the inode of its /proc/PID
// directory: a new process that reuses a pid has another.
func (r *Resolver) listPIDs() []pidEntry {
	fd, err := unix.Open(r.proc, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	if r.dirent == nil {
		r.dirent = make([]byte, 1<<16)
	}
	var pids []pidEntry
	for {
		n, err := unix.Getdents(fd, r.dirent)
		if err != nil || n <= 0 {
			return pids
		}
		pids = appendPIDs(pids, r.dirent[:n])
	}
}

// pidEntry is a process as /proc lists it.
type pidEntry struct {
	pid int32
	ino uint64
}

// appendPIDs appends the numeric entries of a getdents64 buffer (struct
// linux_dirent64: ino, off, reclen, type, name).
func appendPIDs(pids []pidEntry, b []byte) []pidEntry {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if v, err := strconv.ParseInt(string(name), 10, 32); err == nil && v > 0 {
			pids = append(pids, pidEntry{int32(v), binary.NativeEndian.Uint64(b)})
		}
		b = b[reclen:]
	}
	return pids
}

// scanFDs records the sockets among pid's open files.
func (r *Resolver) scanFDs(pid int32) {
	dir := r.proc + "/" + strconv.Itoa(int(pid)) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	r.Stats.FDScans++
	for _, n := range names {
		k, err := unix.Readlink(dir+"/"+n, r.link)
		if err != nil || k < 10 || !bytes.HasPrefix(r.link[:k], []byte("socket:[")) {
			continue
		}
		if v, err := strconv.ParseUint(string(r.link[8:k-1]), 10, 32); err == nil {
			r.owners[uint32(v)] = pid
		}
	}
}

// process returns the Process of pid, read once per process (a pid reused by a
// new process is read again). uid is the socket's owner.
func (r *Resolver) process(pid int32, uid uint32) *Process {
	dir := r.proc + "/" + strconv.Itoa(int(pid))
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return nil
	}
	comm, ppid, start, ok := parseStat(stat)
	if !ok {
		return nil
	}
	if p := r.procs[pid]; p != nil && r.starts[pid] == start && p.UID == uid {
		return p
	}
	p := &Process{PID: pid, PPID: ppid, UID: uid, User: r.user(uid), Comm: comm}
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil {
		p.Cmdline = cmdline(b)
	}
	if b, err := os.ReadFile(dir + "/cgroup"); err == nil {
		p.Cgroup, p.Unit, p.Container = cgroupOf(b)
	}
	if !r.boot.IsZero() {
		p.Start = r.boot.Add(time.Duration(start) * time.Second / clockTicks)
	}
	r.procs[pid], r.starts[pid] = p, start
	if len(r.procs) > 1<<16 {
		clear(r.procs) // bounded: processes come and go; the next lookups read them again
		clear(r.starts)
	}
	return p
}

// userOnly is the Process of a socket whose process is not known, by its owner.
func (r *Resolver) userOnly(uid uint32) *Process {
	if p := r.byUID[uid]; p != nil {
		return p
	}
	p := &Process{UID: uid, User: r.user(uid)}
	r.byUID[uid] = p
	return p
}

// user returns uid's user name, or uid in decimal, reading the user database once
// per uid.
func (r *Resolver) user(uid uint32) string {
	if n, ok := r.users[uid]; ok {
		return n
	}
	id := strconv.FormatUint(uint64(uid), 10)
	name := id
	if u, err := user.LookupId(id); err == nil && u.Username != "" {
		name = u.Username
	}
	if r.users == nil {
		r.users = map[uint32]string{}
	}
	r.users[uid] = name
	return name
}

// parseStat reads the command name, the parent pid and the start time from
// /proc/PID/stat ("pid (comm) state ppid ... starttime ...").
func parseStat(b []byte) (comm string, ppid int32, start uint64, ok bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 {
		return "", 0, 0, false
	}
	pp, err1 := strconv.ParseInt(f[1], 10, 32)
	st, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return string(b[open+1 : end]), int32(pp), st, true
}

// cmdline turns /proc/PID/cmdline's NUL-separated arguments into one line.
func cmdline(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) > MaxCmdline {
		b = b[:MaxCmdline]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c == 0 || c < ' ' {
			c = ' '
		}
		out[i] = c
	}
	return string(out)
}

// cgroupOf reads /proc/PID/cgroup: the unified hierarchy's path, the systemd unit
// it names, and a container id.
func cgroupOf(b []byte) (path, unit, container string) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path = p
			break
		}
	}
	if path == "" {
		return "", "", ""
	}
	for _, el := range strings.Split(path, "/") {
		if strings.HasSuffix(el, ".service") || strings.HasSuffix(el, ".scope") {
			unit = el
		}
		if id := containerID(el); id != "" {
			container = id
		}
	}
	return path, unit, container
}

// containerID returns the container id a cgroup path element names: docker-ID.scope,
// libpod-ID.scope, crio-ID.scope, cri-containerd-ID.scope, or a bare 64-digit hex ID
// (cgroupfs drivers).
func containerID(el string) string {
	el = strings.TrimSuffix(el, ".scope")
	if i := strings.LastIndexByte(el, '-'); i >= 0 {
		switch el[:i] {
		case "docker", "libpod", "crio", "cri-containerd":
			el = el[i+1:]
		default:
			return ""
		}
	}
	if len(el) != 64 {
		return ""
	}
	for _, c := range el {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return el
}

// bootTime reads the boot time (btime) from /proc/stat; zero when unknown.
func bootTime(path string) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
}
