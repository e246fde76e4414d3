package analyzer

import (
	"strings"
	"testing"
)

// modbusADU builds a Modbus/TCP ADU (Modbus Messaging on TCP/IP Implementation
// Guide V1.0b, §3.1.3): MBAP header with protocol id 0 and the length of unit id,
// function code and data, then the PDU.
func modbusADU(tid uint16, fc byte, data string) string {
	n := 2 + len(data)
	return string([]byte{byte(tid >> 8), byte(tid), 0, 0, byte(n >> 8), byte(n), 0x01, fc}) + data
}

var (
	// Read holding registers 0..9 and the answer (20 bytes of registers).
	modbusReadReq  = modbusADU(1, 3, "\x00\x00\x00\x0a")
	modbusReadResp = modbusADU(1, 3, "\x14"+strings.Repeat("\x00\x2a", 10))
	// Write single coil 0x10 on, echoed.
	modbusCoil = modbusADU(2, 5, "\x00\x10\xff\x00")
	// Write multiple registers 1..2 and the answer.
	modbusWriteReq  = modbusADU(3, 16, "\x00\x01\x00\x02\x04\x00\x0a\x01\x02")
	modbusWriteResp = modbusADU(3, 16, "\x00\x01\x00\x02")
	// Read coils answered by an exception (illegal data address).
	modbusCoilsReq  = modbusADU(4, 1, "\x00\x00\x00\x08")
	modbusException = modbusADU(4, 0x81, "\x02")
	// Read/write multiple registers.
	modbusRWReq  = modbusADU(5, 23, "\x00\x00\x00\x01\x00\x10\x00\x01\x02\x12\x34")
	modbusRWResp = modbusADU(5, 23, "\x02\x00\x07")
)

// TestModbus covers confirmation, chunking and the function-code violations.
func TestModbus(t *testing.T) {
	conv := []step{o(modbusReadReq), r(modbusReadResp), o(modbusCoil), r(modbusCoil), o(modbusWriteReq), r(modbusWriteResp),
		o(modbusCoilsReq), r(modbusException), o(modbusRWReq), r(modbusRWResp)}
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"a conversation on 502", script{Steps: conv}, "modbus"},
		{"one byte at a time", script{Steps: bytewise(conv)}, "modbus"},
		{"all in one chunk", script{Steps: []step{o(modbusReadReq + modbusCoil + modbusWriteReq), r(modbusReadResp + modbusCoil)}}, "modbus"},
		{"client alone", script{Steps: []step{o(modbusReadReq)}}, "modbus"},
		{"server alone", script{Steps: []step{r(modbusReadResp)}}, "modbus"},
		{"mid-stream", script{Partial: true, Steps: []step{o(modbusReadReq)}}, "modbus"},
		{"an incomplete pdu", script{Steps: []step{o(modbusReadReq[:11])}}, ""},
		{"an unknown function code parses", script{Steps: []step{o(modbusADU(9, 0x5a, "anything"))}}, "modbus"},
		{"a pdu longer than what is kept", script{Steps: []step{o(modbusADU(9, 0x5a, strings.Repeat("x", 1000)))}}, "modbus"},
		{"no port, no signature", script{Resp: "10.0.0.2:5020", Steps: conv}, ""},
		{"protocol id not 0", script{Steps: []step{o("\x00\x01\x00\x01\x00\x06\x01\x03\x00\x00\x00\x0a")}}, ""},
		{"length below 2", script{Steps: []step{o("\x00\x01\x00\x00\x00\x01\x01")}}, ""},
		{"odd register byte count", script{Steps: []step{o(modbusReadReq), r(modbusADU(1, 3, "\x13"+strings.Repeat("\x00", 19)))}}, ""},
		{"byte count past the pdu", script{Steps: []step{o(modbusReadReq), r(modbusADU(1, 3, "\x14\x00\x01"))}}, ""},
		{"odd byte count written", script{Steps: []step{o(modbusADU(3, 16, "\x00\x01\x00\x02\x03\x00\x0a\x01"))}}, ""},
		{"odd byte count read and written", script{Steps: []step{o(modbusADU(5, 23, "\x00\x00\x00\x01\x00\x10\x00\x01\x01\x12"))}}, ""},
		{"short read request", script{Steps: []step{o(modbusADU(1, 3, "\x00\x00"))}}, ""},
		{"exception without its code", script{Steps: []step{o(modbusCoilsReq), r(modbusADU(4, 0x81, ""))}}, ""},
		{"violation after confirmation", script{Steps: []step{o(modbusReadReq), r(modbusReadResp), o(modbusADU(1, 6, "\x00"))}}, ""},
		{"a gap loses the direction", script{Steps: []step{{Orig: true, Gap: 4}, o(modbusReadReq)}}, ""},
		{"http on 502", script{Steps: []step{o("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"modbus"}
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:502"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// FuzzModbus feeds the Modbus parser arbitrary chunked streams.
func FuzzModbus(f *testing.F) {
	f.Add(rpFuzzInput(o(modbusReadReq), r(modbusReadResp), o(modbusWriteReq), r(modbusWriteResp), o(modbusRWReq), r(modbusRWResp)))
	f.Add(rpFuzzInput(bytewise([]step{o(modbusCoilsReq), r(modbusException)})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpFuzz(t, []string{"modbus"}, TCP, 502, false, data, rpCheckBounds)
	})
}
