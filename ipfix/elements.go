package ipfix

// Information elements (IANA's IPFIX registry, RFC 7012), by number. NetFlow v9
// field types share these numbers for the elements used here.
const (
	ieOctetDeltaCount            = 1
	iePacketDeltaCount           = 2
	ieProtocolIdentifier         = 4
	ieTCPControlBits             = 6
	ieSourceTransportPort        = 7
	ieSourceIPv4Address          = 8
	ieDestinationTransportPort   = 11
	ieDestinationIPv4Address     = 12
	ieFlowEndSysUpTime           = 21
	ieFlowStartSysUpTime         = 22
	iePostOctetDeltaCount        = 23 // NetFlow v9 OUT_BYTES
	iePostPacketDeltaCount       = 24 // NetFlow v9 OUT_PKTS
	ieSourceIPv6Address          = 27
	ieDestinationIPv6Address     = 28
	ieICMPTypeCodeIPv4           = 32
	ieOctetTotalCount            = 85
	iePacketTotalCount           = 86
	ieFlowEndReason              = 136
	ieICMPTypeCodeIPv6           = 139
	ieFlowStartSeconds           = 150
	ieFlowEndSeconds             = 151
	ieFlowStartMilliseconds      = 152
	ieFlowEndMilliseconds        = 153
	ieSystemInitTimeMilliseconds = 160
)

// ReversePEN is the enterprise number of RFC 5103's reverse elements: element
// N under it is element N of the flow's reverse direction.
const ReversePEN = 29305

// DefaultPEN is the enterprise number flowtop's own elements are exported under
// unless configured otherwise: 32473, IANA's number for documentation and
// examples (RFC 5612), since flowtop has none of its own. A site that joins
// flowtop's elements with others' sets its own.
const DefaultPEN = 32473

// flowtop's enterprise-specific elements (under the configured PEN), all
// variable-length strings: conn.log's uid, conn_state, history and service.
const (
	ieFlowtopUID       = 1
	ieFlowtopConnState = 2
	ieFlowtopHistory   = 3
	ieFlowtopService   = 4
)

// varLen is the field length of a variable-length element in a template.
const varLen = 0xffff

// field is a template's field specifier.
type field struct {
	id     uint16
	length uint16
	pen    uint32 // 0: IANA
}

// Template IDs of the four templates an Encoder exports.
const (
	TemplateBiflow4  = 256 // IPv4, both directions (RFC 5103)
	TemplateBiflow6  = 257 // IPv6, both directions
	TemplateUniflow4 = 258 // IPv4, one direction
	TemplateUniflow6 = 259 // IPv6, one direction
)

// template returns the fields of template id with flowtop's elements under pen:
//
//	sourceIPv4Address (8) or sourceIPv6Address (27)
//	destinationIPv4Address (12) or destinationIPv6Address (28)
//	sourceTransportPort (7), destinationTransportPort (11)   ICMP: 0 and type*256+code
//	protocolIdentifier (4)
//	tcpControlBits (6, 2 bytes)
//	icmpTypeCodeIPv4 (32) or icmpTypeCodeIPv6 (139)          type*256+code; 0 if not ICMP
//	flowEndReason (136)
//	flowStartMilliseconds (152), flowEndMilliseconds (153)
//	packetDeltaCount (2), octetDeltaCount (1)                 IP packets and bytes
//	biflows: the reverse (PEN 29305) packetDeltaCount, octetDeltaCount, tcpControlBits
//	uid (PEN 1), conn_state (PEN 2), history (PEN 3), service (PEN 4)   strings
func template(id uint16, pen uint32) []field {
	v6 := id == TemplateBiflow6 || id == TemplateUniflow6
	bi := id == TemplateBiflow4 || id == TemplateBiflow6
	icmpIE := uint16(ieICMPTypeCodeIPv4)
	if v6 {
		icmpIE = ieICMPTypeCodeIPv6
	}
	fs := make([]field, 0, 20)
	if v6 {
		fs = append(fs, field{id: ieSourceIPv6Address, length: 16}, field{id: ieDestinationIPv6Address, length: 16})
	} else {
		fs = append(fs, field{id: ieSourceIPv4Address, length: 4}, field{id: ieDestinationIPv4Address, length: 4})
	}
	fs = append(fs,
		field{id: ieSourceTransportPort, length: 2}, field{id: ieDestinationTransportPort, length: 2},
		field{id: ieProtocolIdentifier, length: 1}, field{id: ieTCPControlBits, length: 2},
		field{id: icmpIE, length: 2},
		field{id: ieFlowEndReason, length: 1},
		field{id: ieFlowStartMilliseconds, length: 8}, field{id: ieFlowEndMilliseconds, length: 8},
		field{id: iePacketDeltaCount, length: 8}, field{id: ieOctetDeltaCount, length: 8})
	if bi {
		fs = append(fs,
			field{id: iePacketDeltaCount, length: 8, pen: ReversePEN},
			field{id: ieOctetDeltaCount, length: 8, pen: ReversePEN},
			field{id: ieTCPControlBits, length: 2, pen: ReversePEN})
	}
	return append(fs,
		field{id: ieFlowtopUID, length: varLen, pen: pen},
		field{id: ieFlowtopConnState, length: varLen, pen: pen},
		field{id: ieFlowtopHistory, length: varLen, pen: pen},
		field{id: ieFlowtopService, length: varLen, pen: pen})
}
