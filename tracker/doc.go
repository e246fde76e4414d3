// Package tracker captures packets and keeps a bidirectional connection table with
// Zeek's conn.log semantics (../shared/conn-semantics.md is the spec).
//
// Ownership: one goroutine owns a Tracker and every connection in it; nothing else
// touches a connection. Consumers receive immutable Records (and, later, events).
// Run may read and decode a capture file on a second goroutine, which hands
// self-contained decoded packets to the owner in batches (run.go).
//
// Time: all timers run on network time, the timestamps of the packets themselves, so
// reading a capture file behaves exactly like the live wire.
//
// Memory: packet data is aliased only while a packet is decoded and never retained:
// the decoded packet copies the few transport header bytes the tracker reads.
// Connections and their TCP state live in pointer-free slabs that the garbage
// collector does not scan, indexed by a compact open-addressing flow table.
package tracker
