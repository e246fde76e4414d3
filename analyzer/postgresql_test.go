package analyzer

import (
	"strings"
	"testing"
)

// pgSession is a psql session captured on loopback (psql 15, PostgreSQL 15,
// sslmode=disable): StartupMessage, authentication and parameter status, a
// query, Terminate.
var pgSession = []step{
	o("\x00\x00\x00?\x00\x03\x00\x00user\x00postgres\x00database\x00postgres\x00applicat" +
		"ion_name\x00psql\x00\x00"),
	r("R\x00\x00\x00\x08\x00\x00\x00\x00S\x00\x00\x00\x1aapplication_name\x00psql\x00S\x00\x00\x00\x19client_" +
		"encoding\x00UTF8\x00S\x00\x00\x00\x17DateStyle\x00ISO, MDY\x00S\x00\x00\x00&defau" +
		"lt_transaction_read_only\x00off\x00S\x00\x00\x00\x17in_hot_standby" +
		"\x00off\x00S\x00\x00\x00\x19integer_datetimes\x00on\x00S\x00\x00\x00\x1bIntervalStyl" +
		"e\x00postgres\x00S\x00\x00\x00\x14is_superuser\x00on\x00S\x00\x00\x00\x19server_enco" +
		"ding\x00UTF8\x00S\x00\x00\x002server_version\x0015.18 (Debian 15.1" +
		"8-0+deb12u1)\x00S\x00\x00\x00#session_authorization\x00postgres" +
		"\x00S\x00\x00\x00#standard_conforming_strings\x00on\x00S\x00\x00\x00\x15TimeZo" +
		"ne\x00Etc/UTC\x00K\x00\x00\x00\x0c\x00\x00\x0e3\x1d\x19\xb2\x01Z\x00\x00\x00\x05I"),
	o("Q\x00\x00\x00\x0dselect 1\x00"),
	r("T\x00\x00\x00!\x00\x01?column?\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00D\x00\x00\x00\x0b\x00\x01\x00\x00\x00\x011C\x00" +
		"\x00\x00\x0dSELECT 1\x00Z\x00\x00\x00\x05I"),
	o("X\x00\x00\x00\x04"),
}

// pgTLSSession is the start of a psql session with sslmode=require, captured the same
// way: SSLRequest, `S`, the ClientHello.
var pgTLSSession = []step{
	o("\x00\x00\x00\x08\x04\xd2\x16/"),
	r("S"),
	o("\x16\x03\x01\x01 \x01\x00\x01\x1c\x03\x03\x80\xb7\xf1\xc0\x17<\xed\xb9\xfd\x092\xaa\x96~TOa\xfc\xb5\x13\xa1\xc6a\x82\xfa\xee>A\x8d\xa2\xff= \xcc\xf0-\x19" +
		"9B\xaf\x1c\x9f}\xf5\xe4\x0b\xec;\xab\x13\xad\x10\x1f\xc4[\xed\x1f\x80S\xbd\xceg9\xdb\xbc\x00>\x13\x02\x13\x03\x13\x01\xc0,\xc00\x00\x9f\xcc\xa9\xcc\xa8\xcc\xaa" +
		"\xc0+\xc0/\x00\x9e\xc0$\xc0(\x00k\xc0#\xc0'\x00g\xc0\x0a\xc0\x14\x009\xc0\x09\xc0\x13\x003\x00\x9d\x00\x9c\x00=\x00<\x005\x00/\x00\xff\x01\x00\x00\x95" +
		"\x00\x0b\x00\x04\x03\x00\x01\x02\x00\x0a\x00\x16\x00\x14\x00\x1d\x00\x17\x00\x1e\x00\x19\x00\x18\x01\x00\x01\x01\x01\x02\x01\x03\x01\x04\x00#\x00\x00\x00\x16\x00\x00\x00\x17\x00\x00\x00\x0d" +
		"\x00*\x00(\x04\x03\x05\x03\x06\x03\x08\x07\x08\x08\x08\x09\x08\x0a\x08\x0b\x08\x04\x08\x05\x08\x06\x04\x01\x05\x01\x06\x01\x03\x03\x03\x01\x03\x02\x04\x02\x05\x02\x06\x02\x00+\x00\x05" +
		"\x04\x03\x04\x03\x03\x00-\x00\x02\x01\x01\x003\x00&\x00$\x00\x1d\x00 \xf6B\xa8\xbd\xbdpq\x9b\xae\xb2/\x02\x1cm9cp\x83\xffo\xb5R\x05=O\x85\x98" +
		"\x11\x92\xac\xd6X"),
}

// pgStartupMsg is a StartupMessage (protocol 3.0) for user bob, with an empty
// database name.
var pgStartupMsg = pgStartupWith("user\x00bob\x00database\x00\x00\x00")

// pgStartupWith frames a protocol 3.0 StartupMessage around the parameters.
func pgStartupWith(params string) string {
	n := 8 + len(params)
	return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), 0, 3, 0, 0}) + params
}

// pgAuthOK is the backend's AuthenticationOk and ReadyForQuery.
const pgAuthOK = "R\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I"

// TestPostgreSQL: startup-phase messages, the SSL answer, message framing, the
// pg-* rules off the port, partial connections, FIN and gaps (§8 row postgresql).
func TestPostgreSQL(t *testing.T) {
	pg := []string{"postgresql", "ssl"}
	port := "10.0.0.2:5432"
	sslReq := "\x00\x00\x00\x08\x04\xd2\x16\x2f"
	gssReq := "\x00\x00\x00\x08\x04\xd2\x16\x30"
	hello := dbrClientHello("db.example.com")
	runCases(t, []serviceCase{
		{"psql session", script{Analyzers: pg, Resp: port, Steps: pgSession}, "postgresql", true},
		{"psql with TLS", script{Analyzers: pg, Resp: port, Steps: pgTLSSession}, "postgresql,ssl", true},
		{"StartupMessage alone (client side only)", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg)}}, "postgresql", true},
		{"incomplete StartupMessage", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg[:20])}}, "", false},
		{"server side only", script{Analyzers: pg, Resp: port, Steps: pgSession[1:2]}, "", false},
		{"SSLRequest answered N, then startup", script{Analyzers: pg, Resp: port, Steps: []step{
			o(sslReq), r("N"), o(pgStartupMsg), r(pgAuthOK)}}, "postgresql", true},
		{"SSLRequest answered N without more", script{Analyzers: pg, Resp: port, Steps: []step{
			o(sslReq), r("N")}}, "postgresql", false},
		{"SSLRequest answered S, ClientHello", script{Analyzers: pg, Resp: port, Steps: []step{
			o(sslReq), r("S"), o(hello)}}, "postgresql,ssl", false},
		{"SSLRequest answered S with ssl disabled", script{Analyzers: []string{"postgresql"}, Resp: port, Steps: []step{
			o(sslReq), r("S"), o(hello)}}, "postgresql", false},
		{"SSLRequest answered with another byte", script{Analyzers: pg, Resp: port, Steps: []step{
			o(sslReq), r("E")}}, "", false},
		{"SSLRequest only", script{Analyzers: pg, Resp: port, Steps: []step{o(sslReq)}}, "", false},
		{"GSSENCRequest answered N, then startup", script{Analyzers: pg, Resp: port, Steps: []step{
			o(gssReq), r("N"), o(pgStartupMsg)}}, "postgresql", false},
		{"GSSENCRequest answered N, then SSLRequest answered S", script{Analyzers: pg, Resp: port, Steps: []step{
			o(gssReq), r("N"), o(sslReq), r("S"), o(hello)}}, "postgresql,ssl", true},
		{"GSSENCRequest answered G", script{Analyzers: pg, Resp: port, Steps: []step{
			o(gssReq), r("G"), o("\x00\x00\x01\x00")}}, "", false},
		{"CancelRequest", script{Analyzers: pg, Resp: port, Steps: []step{
			o("\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x12\x34\x56\x78\x9a\xbc")}}, "", false},
		{"DPD: startup and an answer on another port", script{Analyzers: pg, Resp: "10.0.0.2:9999", Steps: []step{
			o(pgStartupMsg), r(pgAuthOK)}}, "postgresql", true},
		{"DPD: psql session on another port", script{Analyzers: pg, Resp: "10.0.0.2:15432", Steps: pgSession}, "postgresql", true},
		{"DPD: startup needs an answer", script{Analyzers: pg, Resp: "10.0.0.2:9999", Steps: []step{
			o(pgStartupMsg)}}, "", false},
		{"DPD: SSL on another port", script{Analyzers: pg, Resp: "10.0.0.2:9999", Steps: pgTLSSession}, "postgresql,ssl", true},
		{"partial connection: no partial check", script{Analyzers: pg, Resp: port, Partial: true, Steps: []step{
			o(pgStartupMsg), r(pgAuthOK)}}, "postgresql", false},
		{"mid-stream messages are no startup", script{Analyzers: pg, Resp: port, Partial: true, Steps: pgSession[2:]}, "", false},
		{"message length below 4", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg), r(pgAuthOK), o("Q\x00\x00\x00\x02")}}, "", false},
		{"backend message length below 4", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg), r("R\x00\x00\x00\x03")}}, "", false},
		{"startup with an unknown code", script{Analyzers: pg, Resp: port, Steps: []step{
			o("\x00\x00\x00\x10\x00\x02\x00\x00user\x00bo\x00"), r(pgAuthOK)}}, "", false},
		{"startup without the terminating name", script{Analyzers: pg, Resp: port, Steps: []step{
			o("\x00\x00\x00\x0d\x00\x03\x00\x00user\x00"), r(pgAuthOK)}}, "", false},
		{"startup without parameters", script{Analyzers: pg, Resp: port, Steps: []step{
			o("\x00\x00\x00\x08\x00\x03\x00\x00")}}, "", false},
		{"startup too long", script{Analyzers: pg, Resp: port, Steps: []step{
			o("\x00\x01\x00\x00\x00\x03\x00\x00user\x00")}}, "", false},
		{"TLS sent directly (sslnegotiation=direct)", script{Analyzers: []string{"postgresql"}, Resp: port, Steps: []step{
			o(hello)}}, "", false},
		{"FIN inside a message", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg), r(pgAuthOK), o("Q\x00\x00\x00\x0dsel"), {Orig: true, End: true}}}, "", false},
		{"FIN between messages", script{Analyzers: pg, Resp: port, Steps: append(append([]step{}, pgSession...),
			step{Orig: true, End: true}, step{End: true})}, "postgresql", false},
		{"gap before the startup", script{Analyzers: pg, Resp: port, Steps: []step{
			{Orig: true, Gap: 20}, o(pgStartupMsg), r(pgAuthOK)}}, "", false},
		{"gap after the startup", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg), {Orig: true, Gap: 20}, o("Q\x00\x00\x00\x02"), r(pgAuthOK)}}, "postgresql", false},
		{"long session: violations no longer count", script{Analyzers: pg, Resp: port, Steps: []step{
			o(pgStartupMsg), r(pgAuthOK), o("Q\x00\x00\x28\x05" + strings.Repeat("x", 10240) + "\x00"), o("Q\x00\x00\x00\x02")}}, "postgresql", false},
	})
}

// FuzzPostgreSQL feeds the postgresql analyzer arbitrary streams, on its port and
// through the signatures.
func FuzzPostgreSQL(f *testing.F) {
	f.Add(fuzzInput(pgSession...))
	f.Add(fuzzInput(pgTLSSession...))
	f.Add(fuzzInput(o("\x00\x00\x00\x08\x04\xd2\x16\x30"), r("N"), o(pgStartupMsg), r(pgAuthOK), step{Orig: true, End: true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"postgresql", "ssl"}, TCP, 5432, false, data)
		dbrFuzz(t, []string{"postgresql", "ssl"}, TCP, 9999, false, data)
	})
}

// init adds samples for the pg-* rules to the rule tests.
func init() {
	ruleSamples = append(ruleSamples,
		"\x00\x00\x00\x08\x04\xd2\x16\x2f", "\x00\x00\x00\x08\x04\xd2\x16\x30", "S", "N", "E",
		pgStartupMsg, "\x00\x00\x01\x10\x00\x03\x00\x00"+strings.Repeat("a", 250)+"user\x00",
		"\x00\x00\x01\x10\x00\x03\x00\x00"+strings.Repeat("a", 257)+"user\x00",
		"\x00\x00\x01\x10\x00\x03\x00\x00"+strings.Repeat("a", 256)+"user\x00",
		"\x00\x00\x01\x10\x00\x03\x00\x00"+strings.Repeat("a", 255)+"use", pgAuthOK, "R\x00\x01", "z\x00\x00\x00")
}
