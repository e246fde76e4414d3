package analyzer

import (
	"strings"
	"testing"
)

// Redis sessions captured on loopback (redis-server 7.0.15 and redis-cli).
var (
	// redisSet is `redis-cli SET greeting "hello world"`.
	redisSet = []step{
		o("*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$11\r\nhello world\r\n"),
		r("+OK\r\n"),
	}
	// redisHello3 is `redis-cli -3 HGETALL nosuch`: HELLO 3 answered by a RESP3 map,
	// then an empty map.
	redisHello3 = []step{
		o("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"),
		r("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0." +
			"15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:4\r\n$4\r\nmode\r\n$10\r\nst" +
			"andalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r" +
			"\n"),
		o("*2\r\n$7\r\nHGETALL\r\n$6\r\nnosuch\r\n"),
		r("%0\r\n"),
	}
	// redisLRange is `redis-cli LRANGE l 0 -1`: an array of bulk strings.
	redisLRange = []step{
		o("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n$2\r\n-1\r\n"),
		r("*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"),
	}
)

// redisPing is a PING command and its answer.
var redisPing = []step{o("*1\r\n$4\r\nPING\r\n"), r("+PONG\r\n")}

// redisMidstream is how the oracle case tcp-redis-midstream begins (a Django
// cache client picked up mid-connection, on port 10625): GET answered by a bulk
// string, GET of a missing key answered by the null bulk string, SET answered OK.
var redisMidstream = []step{
	o("*2\r\n$3\r\nGET\r\n$14\r\n:1:factorial_3\r\n"), r("$1\r\n6\r\n"),
	o("*2\r\n$3\r\nGET\r\n$15\r\n:1:factorial_50\r\n"), r("$-1\r\n"),
	o("*5\r\n$3\r\nSET\r\n$14\r\n:1:factorial_1\r\n$1\r\n1\r\n$2\r\nPX\r\n$5\r\n60000\r\n"), r("+OK\r\n"),
}

// redisReply is a script: a PING, then the server's reply.
func redisReply(reply string) []step { return []step{o("*1\r\n$4\r\nPING\r\n"), r(reply)} }

// TestRedis: RESP2 and RESP3 replies, the client-first condition, mid-stream
// connections, violations, FIN and gaps (§8 row redis).
func TestRedis(t *testing.T) {
	rd := []string{"redis"}
	port := "10.0.0.2:6379"
	then := func(a []step, b ...step) []step { return append(append([]step{}, a...), b...) }
	nested := strings.Repeat("*1\r\n", redisMaxDepth+1) + ":1\r\n"
	runCases(t, []serviceCase{
		{"SET", script{Analyzers: rd, Resp: port, Steps: redisSet}, "redis", true},
		{"RESP3 HELLO", script{Analyzers: rd, Resp: port, Steps: redisHello3}, "redis", true},
		{"LRANGE", script{Analyzers: rd, Resp: port, Steps: redisLRange}, "redis", true},
		{"inline commands", script{Analyzers: rd, Resp: port, Steps: []step{
			o("PING\r\nSET k v\r\n"), r("+PONG\r\n+OK\r\n")}}, "redis", true},
		{"inline command ended by LF alone", script{Analyzers: rd, Resp: port, Steps: []step{
			o("PING\n"), r("+PONG\r\n")}}, "redis", false},
		{"error reply", script{Analyzers: rd, Resp: port, Steps: redisReply("-ERR unknown command 'FOO'\r\n")}, "redis", false},
		{"integer", script{Analyzers: rd, Resp: port, Steps: redisReply(":-42\r\n")}, "redis", false},
		{"null array", script{Analyzers: rd, Resp: port, Steps: redisReply("*-1\r\n")}, "redis", false},
		{"empty bulk string", script{Analyzers: rd, Resp: port, Steps: redisReply("$0\r\n\r\n")}, "redis", false},
		{"RESP3 null", script{Analyzers: rd, Resp: port, Steps: redisReply("_\r\n")}, "redis", false},
		{"RESP3 boolean", script{Analyzers: rd, Resp: port, Steps: redisReply("#t\r\n")}, "redis", false},
		{"RESP3 double", script{Analyzers: rd, Resp: port, Steps: redisReply(",-inf\r\n")}, "redis", false},
		{"RESP3 big number", script{Analyzers: rd, Resp: port, Steps: redisReply("(3492890328409238509324850943850943825024385\r\n")}, "redis", false},
		{"RESP3 bulk error", script{Analyzers: rd, Resp: port, Steps: redisReply("!21\r\nSYNTAX invalid syntax\r\n")}, "redis", false},
		{"RESP3 verbatim string", script{Analyzers: rd, Resp: port, Steps: redisReply("=15\r\ntxt:Some string\r\n")}, "redis", true},
		{"RESP3 set", script{Analyzers: rd, Resp: port, Steps: redisReply("~2\r\n+a\r\n:1\r\n")}, "redis", false},
		{"RESP3 push", script{Analyzers: rd, Resp: port, Steps: redisReply(">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$2\r\nhi\r\n")}, "redis", false},
		{"RESP3 attribute, then the value", script{Analyzers: rd, Resp: port, Steps: redisReply(
			"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n")}, "redis", true},
		{"RESP3 attribute alone is no reply", script{Analyzers: rd, Resp: port, Steps: redisReply("|1\r\n+a\r\n+b\r\n")}, "", false},
		{"incomplete array", script{Analyzers: rd, Resp: port, Steps: redisReply("*3\r\n$1\r\na\r\n$1\r\nb\r\n")}, "", false},
		{"mid-stream from a message boundary (oracle tcp-redis-midstream)", script{Analyzers: rd, Resp: "10.0.0.2:10625",
			Ports: map[string][]Port{"redis": {{10625, TCP}}}, Partial: true, Steps: redisMidstream}, "redis", true},
		{"mid-stream, unregistered port: DPD", script{Analyzers: rd, Resp: "10.0.0.2:10625", Partial: true,
			Steps: redisMidstream}, "redis", true},
		{"DPD on another port", script{Analyzers: rd, Resp: "10.0.0.2:7000", Steps: redisPing}, "redis", true},
		{"mid-stream starting with a reply", script{Analyzers: rd, Resp: port, Partial: true, Steps: redisMidstream[1:]}, "", false},
		{"server speaks first", script{Analyzers: rd, Resp: port, Steps: []step{
			r("+OK ready\r\n"), o("*1\r\n$4\r\nPING\r\n"), r("+PONG\r\n")}}, "", false},
		{"a POP3 banner is not redis", script{Analyzers: rd, Resp: "10.0.0.2:9110", Steps: []step{
			r("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"), o("USER bob\r\n"), r("+OK\r\n")}}, "", false},
		{"client only", script{Analyzers: rd, Resp: port, Steps: redisPing[:1]}, "", false},
		{"server only", script{Analyzers: rd, Resp: port, Steps: redisPing[1:]}, "", false},
		{"unknown reply type", script{Analyzers: rd, Resp: port, Steps: redisReply("?what\r\n")}, "", false},
		{"simple string with a bare LF", script{Analyzers: rd, Resp: port, Steps: redisReply("+OK\n")}, "", false},
		{"line without its LF", script{Analyzers: rd, Resp: port, Steps: redisReply(":1\rx")}, "", false},
		{"number that is not one", script{Analyzers: rd, Resp: port, Steps: redisReply(":12a\r\n")}, "", false},
		{"bad boolean", script{Analyzers: rd, Resp: port, Steps: redisReply("#x\r\n")}, "", false},
		{"bad null", script{Analyzers: rd, Resp: port, Steps: redisReply("_0\r\n")}, "", false},
		{"negative length", script{Analyzers: rd, Resp: port, Steps: redisReply("$-2\r\n")}, "", false},
		{"huge length", script{Analyzers: rd, Resp: port, Steps: redisReply("$99999999999999\r\n")}, "", false},
		{"nesting too deep", script{Analyzers: rd, Resp: port, Steps: redisReply(nested)}, "", false},
		{"violation after confirmation: bulk without CRLF", script{Analyzers: rd, Resp: port, Steps: then(redisPing,
			o("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), r("$3\r\nabcX\r\n"))}, "", true},
		{"client violation after confirmation", script{Analyzers: rd, Resp: port, Steps: then(redisPing,
			o("*x\r\n"))}, "", false},
		{"FIN inside a reply", script{Analyzers: rd, Resp: port, Steps: then(redisPing,
			o("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), r("$5\r\nhel"), step{End: true})}, "", false},
		{"FIN between messages", script{Analyzers: rd, Resp: port, Steps: then(redisPing,
			step{Orig: true, End: true}, step{End: true})}, "redis", false},
		{"gap in the server's stream", script{Analyzers: rd, Resp: port, Steps: []step{
			o("*1\r\n$4\r\nPING\r\n"), {Gap: 3}, r("+PONG\r\n")}}, "", false},
		{"gap in the client's stream", script{Analyzers: rd, Resp: port, Steps: []step{
			o("*1\r\n$4\r\nPI"), {Orig: true, Gap: 8}, r("+PONG\r\n")}}, "redis", false},
		{"violations after 10 KiB do not count", script{Analyzers: rd, Resp: port, Steps: then(redisPing,
			o("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10240\r\n"+strings.Repeat("v", 10240)+"\r\n"), r("+OK\r\n"), r("?"))}, "redis", false},
	})
}

// FuzzRedis feeds the redis analyzer arbitrary streams, on its port and, partial,
// through the signatures.
func FuzzRedis(f *testing.F) {
	f.Add(fuzzInput(redisSet...))
	f.Add(fuzzInput(redisHello3...))
	f.Add(fuzzInput(redisMidstream...))
	f.Add(fuzzInput(redisReply("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n")...))
	f.Add(fuzzInput(o("PING\r\n"), r("#t\r\n_\r\n(12\r\n=3\r\ntxt\r\n"), step{End: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"redis"}, TCP, 6379, false, data)
		dbrFuzz(t, []string{"redis"}, TCP, 7000, true, data)
	})
}

// init adds samples for redis-s and redis-c to the rule tests.
func init() {
	ruleSamples = append(ruleSamples, "+OK\r\n", "-ERR x\r\n", "_\r\n", ",1.5\r\n", ":-1\r\n", "$-1\r\n", "*3\r\n",
		"#t\r\n", "(123.\r\n", "!12.5\r\n", "=+5\r\n", "%2\r\n", "`1\r\n", "~1\r", ">+\r\n", ":\r\n", "*1x", "$12.34.5\r\n",
		"+\r", "PING\r\n", "GET x\n", "|1\r\n")
}
