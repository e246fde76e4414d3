// Package communityid computes the Community ID v1 of a flow: the
// direction-free flow hash that Zeek's community-id-logging policy script,
// Suricata, Arkime, Wireshark and Elastic compute, so that records of the same
// traffic from different tools can be joined with one string comparison.
//
// The hash is SHA-1 over the 2-byte seed, the ordered addresses, the IP
// protocol, a zero byte and, for TCP, UDP, SCTP, ICMP and ICMPv6, the ordered
// ports, base64-encoded after the version prefix "1:". ICMP and ICMPv6 use
// Zeek's port equivalents (the type, and the counterpart type or the code), as
// Zeek's connection table and conn.log do, so a conn.log ICMP tuple goes in as
// it is. Specification: https://github.com/corelight/community-id-spec.
package communityid
