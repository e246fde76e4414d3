// Package tracker captures packets and keeps a bidirectional connection table with
// Zeek's conn.log semantics (../shared/conn-semantics.md is the spec).
//
// Ownership: one goroutine owns a Tracker and every connection in it; nothing else
// touches a connection. Consumers receive immutable Records.
//
// Extension points, after Zeek's conn package: Handlers (new connection,
// established, threshold crossing, removal) run on the owner goroutine in Zeek's
// event order, from a FIFO queue drained after each packet. They get a Conn, a
// generation-checked handle on which to set byte, packet and duration thresholds
// (thresholds.go), register removal hooks (hooks.go) and poll (polling.go). Only
// connections that use an extension pay for it. Another goroutine (the TUI) follows
// the tracker through a Feed (feed.go) of coalesced snapshots that never blocks
// packet processing, and acts on connections with Do.
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
