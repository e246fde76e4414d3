// Package ipfix carries connections to and from flow collectors: it encodes
// them as IPFIX (RFC 7011) messages, bidirectional with RFC 5103 reverse
// elements or as two uniflow records, and decodes what exporters send, NetFlow
// v5, NetFlow v9 (RFC 3954) and IPFIX, into the same Flow values.
//
// The package knows nothing of the tracker. A Flow is a flow record's content:
// the 5-tuple, packets and octets (IP bytes) each way, start and end in
// milliseconds, the TCP flags each way, the end reason, and flowtop's
// conn.log fields (uid, conn_state, history, service) as enterprise-specific
// elements under the enterprise number the Encoder is given; see Templates.
//
// Files: flow.go (Flow), elements.go (the information elements and templates),
// encode.go (Encoder: flows into messages), export.go (Exporter: messages to a
// collector over UDP or TCP, never blocking its caller), decode.go (Decoder:
// NetFlow v5, v9 and IPFIX into flows, with a bounded template cache) and
// collect.go (Collector: a UDP or TCP listener feeding a Decoder).
package ipfix
