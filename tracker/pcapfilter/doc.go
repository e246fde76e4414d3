// Package pcapfilter compiles capture-filter expressions written in the
// tcpdump / pcap-filter(7) language into classic BPF programs, in pure Go.
//
// The contract is libpcap 1.10's: for every supported expression and link
// type, a program accepts the packets that tcpdump 4.99's program accepts.
// The code is not libpcap's and the instructions differ, but the tests
// compare verdicts with tcpdump over real and synthetic captures. That
// includes libpcap's quirks: qualifier inheritance ("host a or b"), "vlan"
// and "mpls" shifting the offsets of everything parsed after them, IPv4
// transport fields read only from first fragments, IPv6 ports read at the
// fixed offset 40, arithmetic precedence (where "%" and "^" take everything
// to their right), and the order of tests, which matters because a load past
// the end of a packet rejects it at once.
//
// Parse does everything that does not depend on the link type: lexing,
// parsing, qualifier inheritance and name lookups (host names through
// net.DefaultResolver, services from /etc/services or a built-in table,
// protocols from /etc/protocols or a built-in table, networks from
// /etc/networks, MAC names from /etc/ethers). Compile generates the program
// for one link type and shortens it without changing its verdicts: it skips
// tests already decided on a path, merges identical tests and drops reloads.
// A Matcher runs a Filter in user space with golang.org/x/net/bpf,
// compiling once per link type.
//
// Supported link types are Ethernet, Linux SLL, raw IP (101, 12 and 14, where
// the version nibble tells IPv4 from IPv6), raw IPv4 (228), raw IPv6 (229),
// and BSD loopback (Null with a host-byte-order address family, Loop with a
// network-byte-order one). As when libpcap reads a capture file, the IPv6
// families of Null and Loop are 24, 28 and 30, and "ip broadcast", having
// no netmask, matches the all-zeros and all-ones destinations.
//
// Known differences from tcpdump:
//   - "len" is the length of the bytes given to the program (the captured
//     length), as in every user-space BPF engine; libpcap's engine uses the
//     length on the wire.
//   - libpcap's optimizer reorders tests, so on a truncated packet its
//     program may stop at a different load than libpcap's unoptimized
//     program; verdicts always equal the unoptimized program's.
//   - A division or modulus by an expression starting with the number 0, or
//     by a constant zero, and a shift by an expression starting with a
//     number above 31, are errors, as in libpcap; tcpdump's optimizer also
//     rejects a few such operations it proves degenerate after its own
//     folding (we compile them: a division by zero rejects the packet).
//   - 802.11, ATM, MTP, DECnet, ISO, IPX, AppleTalk, PPPoE, Geneve, PF and
//     interface-metadata primitives, "gateway", "protochain" and
//     "byte N & M" / "byte N | M" are rejected with an error saying they
//     are not supported.
//
// Errors from Parse and Compile are single lines of the form
//
//	filter "EXPR": message
package pcapfilter
