// Package tracker captures packets and keeps a bidirectional connection table with
// Zeek's conn.log semantics (../shared/conn-semantics.md is the spec).
//
// Ownership: one goroutine owns a Tracker and every connection in it; nothing else
// touches a connection. Consumers receive immutable Records (and, later, events).
//
// Time: all timers run on network time, the timestamps of the packets themselves, so
// reading a capture file behaves exactly like the live wire.
//
// Memory: packet data is aliased only while a packet is processed and never retained.
package tracker
