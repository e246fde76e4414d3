// Package process says which local process owns each end of a connection: the
// pid, command, user, and where present the systemd unit or container, of the
// socket behind a 5-tuple.
//
// On Linux (no cgo) a Resolver looks each socket up by its exact 5-tuple through
// NETLINK_SOCK_DIAG (one kernel hash lookup: inode and uid), then maps the inode
// to a process through a cache of /proc/PID/fd links that is refreshed only on a
// miss: first the processes that owned sockets before, then the processes started
// since the last scan, and a full scan at most every FullScanEvery. Answers are kept
// after the process exits. Only sockets of the resolver's own network namespace can
// be seen. Elsewhere New returns ErrUnsupported.
//
// The contract with the tracker is small: the tracker stores the *Process values
// a Resolver produced (shared and never changed) and copies them into its records;
// it never calls this package. The wiring (cmd/flowtop) submits each new
// connection of a live capture to an Attributor, which resolves it on its own
// goroutine, retries young connections briefly, and hands the answers back.
package process
