// Package vethtest gives tests a private piece of network: a veth pair whose
// host end stays in the test's network namespace and whose peer end lives in a
// new network namespace, with IPv4 and IPv6 addresses on both ends. Traffic
// sent between the two ends never leaves the machine, so live-capture tests can
// generate and capture real packets without touching any real network.
//
// New needs root and the ip command (iproute2); without them it skips the test
// with a one-line message. Everything New creates is removed by t.Cleanup,
// whether the test passes, fails or skips later.
//
// The link is kept quiet so that a capture on it holds only what the test sends:
// neighbour entries are static both ways (no ARP, no neighbour discovery), no
// IPv6 link-local addresses are generated (no duplicate address detection, no
// router solicitations), global IPv6 addresses are added with nodad, and the
// multicast listener reports that the kernel sends when the link comes up are
// sped up and over before New returns.
//
// Addresses and names are unique per call: interface and namespace names carry
// the process id and a per-process counter, and each pair's subnets are derived
// from the host end's interface index, which no other interface in the test's
// namespace has at the same time. IPv4 subnets are /30s in 10.214.0.0/16, IPv6
// subnets /64s in fd76:6574:68::/48.
//
// Commands run in the peer's namespace through Pair.Command ("ip netns exec").
// Ping sends ICMP echo requests over raw sockets, with no ping binary needed.
package vethtest
