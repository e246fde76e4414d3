package analyzer

import (
	"strings"
	"testing"
)

// snmpTLV encodes a BER TLV, with a long-form length when it needs one.
func snmpTLV(tag byte, parts ...string) string {
	v := strings.Join(parts, "")
	n := len(v)
	switch {
	case n < 0x80:
		return string([]byte{tag, byte(n)}) + v
	case n < 0x100:
		return string([]byte{tag, 0x81, byte(n)}) + v
	default:
		return string([]byte{tag, 0x82, byte(n >> 8), byte(n)}) + v
	}
}

// snmpInt encodes a small INTEGER.
func snmpInt(v byte) string { return snmpTLV(snmpInteger, string([]byte{v})) }

// sysDescr.0, 1.3.6.1.2.1.1.1.0.
var snmpSysDescr = snmpTLV(snmpOID, "\x2b\x06\x01\x02\x01\x01\x01\x00")

// snmpV2 is a v1 (version 0) or v2c (version 1) message with community "public".
func snmpV2(version byte, pdu string) string {
	return snmpTLV(snmpSequence, snmpInt(version), snmpTLV(snmpOctets, "public"), pdu)
}

// snmpPDU is a PDU of the tag with request id 0x1234 and one binding of value.
func snmpPDU(tag byte, value string) string {
	return snmpTLV(tag, snmpTLV(snmpInteger, "\x12\x34"), snmpInt(0), snmpInt(0),
		snmpTLV(snmpSequence, snmpTLV(snmpSequence, snmpSysDescr, value)))
}

// snmpV3 is a v3 message (RFC 3412 §6) with the flags, an empty USM security
// parameters block, and, unless encrypted, a scoped PDU.
func snmpV3(flags string, pdu string) string {
	usm := snmpTLV(snmpSequence, snmpTLV(snmpOctets), snmpInt(0), snmpInt(0), snmpTLV(snmpOctets), snmpTLV(snmpOctets), snmpTLV(snmpOctets))
	global := snmpTLV(snmpSequence, snmpTLV(snmpInteger, "\x4b\x1d"), snmpTLV(snmpInteger, "\x00\xff\xe3"), snmpTLV(snmpOctets, flags), snmpInt(3))
	var data string
	if len(flags) == 1 && flags[0]&0x02 != 0 {
		data = snmpTLV(snmpOctets, strings.Repeat("\xe5", 48))
	} else {
		data = snmpTLV(snmpSequence, snmpTLV(snmpOctets), snmpTLV(snmpOctets), pdu)
	}
	return snmpTLV(snmpSequence, snmpInt(3), global, snmpTLV(snmpOctets, usm), data)
}

var (
	snmpGet      = snmpV2(1, snmpPDU(0xa0, "\x05\x00"))
	snmpResponse = snmpV2(1, snmpPDU(0xa2, snmpTLV(snmpOctets, "Linux router 6.1.0")))
	snmpV1Get    = snmpV2(0, snmpPDU(0xa0, "\x05\x00"))
	snmpV1Resp   = snmpV2(0, snmpPDU(0xa2, snmpTLV(snmpOctets, "Linux")))
	// A v1 Trap-PDU (RFC 1157 §4.1.6): enterprise, agent address, coldStart.
	snmpV1Trap = snmpV2(0, snmpTLV(snmpTrapV1, snmpTLV(snmpOID, "\x2b\x06\x01\x04\x01\x08\x07"), snmpTLV(snmpIPAddress, "\xc0\x00\x02\x01"),
		snmpInt(0), snmpInt(0), snmpTLV(snmpTimeTicks, "\x01\x02"), snmpTLV(snmpSequence)))
	snmpV2Trap     = snmpV2(1, snmpPDU(0xa7, snmpTLV(snmpTimeTicks, "\x01\x02")))
	snmpV2Inform   = snmpV2(1, snmpPDU(0xa6, snmpTLV(snmpTimeTicks, "\x01\x02")))
	snmpV3Discov   = snmpV3("\x04", snmpPDU(0xa0, "\x05\x00"))     // reportable, no auth: engine discovery
	snmpV3Report   = snmpV3("\x00", snmpPDU(0xa8, "\x41\x01\x05")) // usmStatsUnknownEngineIDs counter
	snmpV3AuthPriv = snmpV3("\x07", "")
)

// TestSNMP covers the responder-only confirmation, traps, tags and v3 flags.
func TestSNMP(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"v2c get answered", script{Steps: []step{o(snmpGet), r(snmpResponse)}}, "snmp"},
		{"v1 get answered", script{Steps: []step{o(snmpV1Get), r(snmpV1Resp)}}, "snmp"},
		{"requests alone never confirm", script{Steps: []step{o(snmpGet), o(snmpGet)}}, ""},
		{"the responder alone", script{Steps: []step{r(snmpResponse)}}, "snmp"},
		{"v3 discovery answered by a report", script{Steps: []step{o(snmpV3Discov), r(snmpV3Report)}}, "snmp"},
		{"v3 encrypted", script{Steps: []step{o(snmpV3AuthPriv), r(snmpV3AuthPriv)}}, "snmp"},
		{"v1 traps to 162 never confirm", script{Resp: "10.0.0.2:162", Steps: []step{o(snmpV1Trap), o(snmpV1Trap)}}, ""},
		{"v2 traps to 162 never confirm", script{Resp: "10.0.0.2:162", Steps: []step{o(snmpV2Trap)}}, ""},
		{"an inform answered on 162", script{Resp: "10.0.0.2:162", Steps: []step{o(snmpV2Inform), r(snmpResponse)}}, "snmp"},
		{"a long-form length", script{Steps: []step{r(snmpV2(1, snmpPDU(0xa2, snmpTLV(snmpOctets, strings.Repeat("d", 300)))))}}, "snmp"},
		{"no port, no signature", script{Resp: "10.0.0.2:1161", Steps: []step{o(snmpGet), r(snmpResponse)}}, ""},
		{"not a sequence", script{Steps: []step{r("\x31" + snmpResponse[1:])}}, ""},
		{"version not an integer", script{Steps: []step{r(snmpTLV(snmpSequence, snmpTLV(snmpOctets, "\x01"), snmpTLV(snmpOctets, "public")))}}, ""},
		{"community not an octet string", script{Steps: []step{r(snmpTLV(snmpSequence, snmpInt(1), snmpTLV(snmpOID, "public")))}}, ""},
		{"a wrong tag after the header still confirms first", script{Steps: []step{r(snmpV2(1, snmpTLV(0xa2, snmpTLV(snmpOctets, "x"))))}}, ""},
		{"a wrong tag from the originator", script{Steps: []step{r(snmpResponse), o(snmpV2(1, snmpTLV(0xa0, snmpTLV(snmpOctets, "x"))))}}, ""},
		{"a binding without an oid", script{Steps: []step{r(snmpV2(1, snmpTLV(0xa2, snmpInt(1), snmpInt(0), snmpInt(0),
			snmpTLV(snmpSequence, snmpTLV(snmpSequence, snmpInt(5), "\x05\x00")))))}}, ""},
		{"a truncated message", script{Steps: []step{r(snmpResponse[:len(snmpResponse)-3])}}, ""},
		{"v3 privacy without authentication", script{Steps: []step{r(snmpV3("\x02", ""))}}, ""},
		{"v3 flags of two bytes", script{Steps: []step{r(snmpV3("\x04\x00", snmpPDU(0xa8, "\x05\x00")))}}, ""},
		{"an unknown version is nothing", script{Steps: []step{r(snmpTLV(snmpSequence, snmpInt(2), "garbage"))}}, ""},
		{"an unknown pdu is not parsed", script{Steps: []step{r(snmpV2(1, snmpTLV(0xbf, "anything")))}}, "snmp"},
		{"tcp is not analyzed", script{Proto: TCP, Steps: []step{o(snmpGet), r(snmpResponse)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"snmp"}
			if tc.s.Proto == 0 {
				tc.s.Proto = UDP
			}
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:161"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// FuzzSNMP feeds the SNMP parser arbitrary datagrams.
func FuzzSNMP(f *testing.F) {
	f.Add(rpFuzzInput(o(snmpGet), r(snmpResponse), o(snmpV1Trap)))
	f.Add(rpFuzzInput(o(snmpV3Discov), r(snmpV3Report), r(snmpV3AuthPriv)))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpFuzz(t, []string{"snmp"}, UDP, 161, false, data, rpCheckBounds)
	})
}
