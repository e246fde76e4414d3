package analyzer

import (
	"strings"
	"testing"
)

// wsKey is the masking key of RFC 6455 §5.7's examples.
const wsKey = "\x37\xfa\x21\x3d"

// wsFrame builds a frame (RFC 6455 §5.2): first is FIN, RSV and opcode; the
// payload is masked with key unless key is empty.
func wsFrame(first byte, key string, payload string) string {
	b := []byte{first}
	m := byte(0)
	if key != "" {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, key...)
	for i := range len(payload) {
		c := payload[i]
		if key != "" {
			c ^= key[i%4]
		}
		b = append(b, c)
	}
	return string(b)
}

// The examples of RFC 6455 §5.7.
const (
	wsHello       = "\x81\x05\x48\x65\x6c\x6c\x6f"                 // unmasked text "Hello"
	wsHelloMasked = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" // masked text "Hello"
	wsHel, wsLo   = "\x01\x03\x48\x65\x6c", "\x80\x02\x6c\x6f"     // "Hello" in two fragments
	wsPing        = "\x89\x05\x48\x65\x6c\x6c\x6f"                 // unmasked ping
	wsPongMasked  = "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" // masked pong
	wsBinary256   = "\x82\x7e\x01\x00"                             // the header of a 256-byte binary frame
	wsBinary64K   = "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"     // the header of a 64 KiB binary frame
	wsClose1000   = "\x88\x82\x37\xfa\x21\x3d\x34\x12"             // masked close, status 1000
)

// TestWebSocketMaskExample holds wsFrame to the masked example of RFC 6455 §5.7.
func TestWebSocketMaskExample(t *testing.T) {
	if got := wsFrame(0x81, wsKey, "Hello"); got != wsHelloMasked {
		t.Errorf("wsFrame = %x, want %x", got, wsHelloMasked)
	}
}

// TestWebSocket attaches the analyzer directly, as HTTP would, and covers framing,
// violations and the tunnel with MQTT inside.
func TestWebSocket(t *testing.T) {
	ws := []string{"websocket", "mqtt"}
	big := strings.Repeat("b", 256)
	for _, tc := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"an unmasked text message", []step{r(wsHello)}, "websocket"},
		{"a masked text message", []step{o(wsHelloMasked)}, "websocket"},
		{"a masked message byte by byte", bytewise([]step{o(wsHelloMasked)}), "websocket"},
		{"a fragmented message, first part", []step{r(wsHel)}, ""},
		{"a fragmented message", []step{r(wsHel), r(wsLo)}, "websocket"},
		{"a fragmented message, a ping between", []step{r(wsHel + wsPing + wsLo)}, "websocket"},
		{"a ping is a message", []step{r(wsPing)}, "websocket"},
		{"a pong", []step{o(wsPongMasked)}, "websocket"},
		{"a close", []step{o(wsClose1000)}, "websocket"},
		{"a 16-bit length", []step{r(wsBinary256 + big)}, "websocket"},
		{"a 64-bit length, byte by byte header", bytewise([]step{r(wsBinary64K)}), ""},
		{"a 64-bit length", []step{r(wsBinary64K + strings.Repeat("z", 1<<16))}, "websocket"},
		{"an incomplete frame", []step{r(wsBinary256 + big[:255])}, ""},
		{"an empty message", []step{r("\x81\x00")}, "websocket"},
		{"a reserved opcode", []step{r(wsHello), r("\x83\x00")}, ""},
		{"a reserved control opcode", []step{r("\x8b\x00")}, ""},
		{"a fragmented control frame", []step{r("\x09\x00")}, ""},
		{"a control frame over 125 bytes", []step{r("\x89\x7e\x00\x80" + strings.Repeat("p", 128))}, ""},
		{"a 64-bit length with the top bit", []step{r("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01")}, ""},
		{"a continuation without a message", []step{r(wsLo)}, ""},
		{"a new message inside a fragmented one", []step{r(wsHel + wsHello)}, ""},
		{"fragments are per direction", []step{r(wsHel), o(wsHelloMasked), r(wsLo)}, "websocket"},
		{"a gap stops it", []step{r(wsHello[:3]), {Gap: 2}, r(wsHello[5:])}, ""},
		// MQTT over WebSocket: the CONNECT reaches the tunnel before its frame
		// completes the first message, so mqtt confirms first (§5.2).
		{"mqtt inside, first message", []step{o(wsFrame(0x82, wsKey, mqttConnectMsg)), r(wsFrame(0x82, "", mqttConnackM))}, "mqtt,websocket"},
		{"mqtt inside, later message", []step{r(wsHello), o(wsFrame(0x82, wsKey, mqttConnectMsg))}, "websocket,mqtt"},
		{"mqtt inside, split over fragments", []step{o(wsFrame(0x02, wsKey, mqttConnectMsg[:5]) + wsFrame(0x80, "\x01\x02\x03\x04", mqttConnectMsg[5:]))}, "mqtt,websocket"},
		{"mqtt inside, byte by byte", bytewise([]step{o(wsFrame(0x82, wsKey, mqttConnectMsg))}), "mqtt,websocket"},
		{"control payload is not passed on", []step{o(wsFrame(0x89, wsKey, mqttConnectMsg))}, "websocket"},
		{"compressed messages are not passed on", []step{o(wsFrame(0xc2, wsKey, mqttConnectMsg))}, "websocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := runAttached(t, script{Analyzers: ws, Resp: "10.0.0.2:8080", Steps: tc.steps}, "websocket")
			if h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// TestWebSocketThroughHTTP runs the upgrade through the HTTP analyzer, which
// attaches the WebSocket analyzer as its child.
func TestWebSocketThroughHTTP(t *testing.T) {
	if Lookup("http") == nil {
		t.Skip("no http analyzer")
	}
	upgrade := "GET /mqtt HTTP/1.1\r\nHost: broker.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n"
	switched := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	for _, tc := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"mqtt over websocket", []step{o(upgrade), r(switched), o(wsFrame(0x82, wsKey, mqttConnectMsg)), r(wsFrame(0x82, "", mqttConnackM))}, "http,mqtt,websocket"},
		{"text first, then mqtt", []step{o(upgrade), r(switched + wsHello), o(wsFrame(0x82, wsKey, mqttConnectMsg))}, "http,websocket,mqtt"},
		{"no upgrade, no websocket", []step{o(upgrade), r("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), r(wsHello)}, "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Analyzers: []string{"http", "websocket", "mqtt"}, Resp: "10.0.0.2:80", Steps: tc.steps})
			if h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// FuzzWebSocket feeds the WebSocket parser (and MQTT in its tunnel) arbitrary streams.
func FuzzWebSocket(f *testing.F) {
	f.Add(rpFuzzInput(o(wsHelloMasked), r(wsHel), r(wsPing), r(wsLo), o(wsClose1000)))
	f.Add(rpFuzzInput(o(wsFrame(0x82, wsKey, mqttConnectMsg)), r(wsFrame(0x82, "", mqttConnackM)), o(wsFrame(0x82, wsKey, strings.Repeat("q", 5000)))))
	f.Add(rpFuzzInput(bytewise([]step{r(wsBinary256 + strings.Repeat("x", 256))})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpFuzz(t, []string{"websocket", "mqtt"}, TCP, 8080, true, data, rpCheckBounds)
	})
}
