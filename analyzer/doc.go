// Package analyzer decides what a connection is, the way Zeek fills conn.log's
// service field (../shared/service-detection.md is the spec), and learns the names
// seen on the wire: the TLS server name, the HTTP host, the DNS query, the SSH
// software, and the addresses DNS answers give names to.
//
// An Inspector holds the enabled analyzers, their port registrations and DPD
// signatures, and the expected connections (FTP data, IRC DCC). For each TCP or UDP
// connection that carries payload the host (the tracker) starts a Session and feeds
// it each direction's reassembled stream (TCP, in sequence order, with gaps) or its
// datagrams (UDP). The session attaches the analyzers registered for the responder
// port and a PIA: the PIA buffers the first chunks of both directions (the DPD
// window: 1024 bytes or 100 chunks), matches the signatures against them, and
// attaches the analyzer a firing signature enables, replaying the buffer into it.
// Each analyzer's parser confirms its protocol or raises a violation; the session
// applies Zeek's rules (a confirmation adds the service; a violation within the
// first 10 KiB detaches the analyzer and removes its service) and reports the
// result to the host. Once Done says nothing more can change, the host releases the
// session, and the connection costs nothing more.
//
// One file per protocol: each registers its analyzer, with its ports and the
// signatures that enable it, from init. Signatures are matched on raw bytes by
// hand-written matchers; each keeps its regular expression as Pattern, and
// rule_test.go holds the matcher to it.
//
// Parsers get untrusted bytes: a malformed, truncated or one-sided stream is a
// violation or nothing, never a panic, and no parser keeps more than a bounded
// amount of data (each package fuzz target feeds every analyzer arbitrary streams).
//
// Everything runs on the host's goroutine; nothing here is safe for concurrent use.
package analyzer
