package analyzer

import (
	"strings"
	"testing"
)

// Helpers shared by the tests of the database and remote-access analyzers
// (mysql, postgresql, redis, rdp, rdpeudp, rfb, socks), prefixed dbr.

// dbrClientHello returns a TLS 1.2 ClientHello record naming sni.
func dbrClientHello(sni string) string {
	var ext []byte
	name := append([]byte{0}, byte(len(sni)>>8), byte(len(sni)))
	name = append(name, sni...)
	list := append([]byte{byte(len(name) >> 8), byte(len(name))}, name...)
	ext = append(ext, 0, 0, byte(len(list)>>8), byte(len(list)))
	ext = append(ext, list...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                         // session id
	body = append(body, 0, 4, 0xc0, 0x2f, 0, 0x2f) // cipher suites
	body = append(body, 1, 0)                      // compression
	body = append(body, byte(len(ext)>>8), byte(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	rec := append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	return string(rec)
}

// dbrHeld is what every parser of these analyzers reports for the fuzz tests:
// the bytes it keeps buffered.
type dbrHeld interface{ held() int }

// dbrMaxHeld bounds what a parser may keep at any time.
const dbrMaxHeld = 64 << 10

// dbrFuzz runs the fuzz input data (fuzzSteps' format; on UDP, with bit 6 for
// datagrams of RDPEUDP's size) through a session of transport proto to the
// responder port, with the analyzers enabled. After every delivery no parser may
// hold more than dbrMaxHeld bytes. partial runs the connection as a partial one.
func dbrFuzz(t *testing.T, analyzers []string, proto Transport, port uint16, partial bool, data []byte) {
	sc := fuzzScript(proto, port, analyzers...)
	sc.Partial = partial
	h, _, s := newSession(t, sc)
	steps := fuzzSteps(data)
	if proto == UDP {
		steps = fuzzDatagrams(data, udpLarge)
	}
	for _, st := range steps {
		deliver(h, s, st)
		for _, i := range s.analyzers() {
			if p, ok := i.p.(dbrHeld); ok && p.held() > dbrMaxHeld {
				t.Fatalf("%s holds %d bytes", i.a.Name, p.held())
			}
		}
	}
	s.Done()
	s.Release()
}

// MySQL test messages: packets are a 3-byte length, a sequence number, a payload.

// mysqlPacket frames a payload.
func mysqlPacket(seq byte, payload string) string {
	n := len(payload)
	return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}) + payload
}

// mysqlGreetingV10 is a MySQL 8 server greeting (protocol 10).
var mysqlGreetingV10 = mysqlPacket(0, "\x0a8.0.36\x00"+
	"\x08\x00\x00\x00"+ // connection id
	"\x3b\x1a\x55\x2e\x0c\x63\x34\x11"+ // auth-plugin-data part 1
	"\x00"+ // filler
	"\xff\xff"+ // capabilities (low)
	"\xff"+ // character set
	"\x02\x00"+ // status
	"\xff\xdf"+ // capabilities (high)
	"\x15"+ // auth-plugin-data length
	strings.Repeat("\x00", 10)+
	"\x1f\x6e\x3c\x72\x12\x7d\x62\x59\x46\x01\x13\x2a\x00"+ // part 2
	"caching_sha2_password\x00")

// mysqlGreetingV9 is a protocol 9 greeting (MySQL 3.x).
var mysqlGreetingV9 = mysqlPacket(0, "\x093.22.32\x00\x05\x00\x00\x00abcdefgh\x00")

// mysqlCaps41 are the capability flags of a 4.1 client: LONG_PASSWORD,
// LONG_FLAG, CONNECT_WITH_DB, PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION,
// PLUGIN_AUTH and others; mysqlCaps41SSL adds CLIENT_SSL.
const (
	mysqlCaps41    = "\x8d\xa6\x0f\x00"
	mysqlCaps41SSL = "\x8d\xae\x0f\x00"
)

// mysqlLogin is a 4.1 handshake response: user root, a 20-byte scramble, database
// test, plugin mysql_native_password.
var mysqlLogin = mysqlPacket(1, mysqlCaps41+"\x00\x00\x00\x01\x21"+strings.Repeat("\x00", 23)+
	"root\x00\x14"+strings.Repeat("\x5a", 20)+"test\x00mysql_native_password\x00")

// mysqlSSLRequest is the short SSL request of a 4.1 client.
var mysqlSSLRequest = mysqlPacket(1, mysqlCaps41SSL+"\x00\x00\x00\x01\x21"+strings.Repeat("\x00", 23))

// mysqlLogin320 is a 3.20 handshake response (no PROTOCOL_41).
var mysqlLogin320 = mysqlPacket(1, "\x05\x00\x00\x00\x01root\x00scrambl\x00")

// mysqlOK is the server's OK packet after authentication.
var mysqlOK = mysqlPacket(2, "\x00\x00\x00\x02\x00\x00\x00")

// MariaDB sessions captured on loopback (mariadbd 10.11 and the mariadb client):
// a login with connection attributes, a query and quit; the start of a login
// with --ssl (greeting, SSL request, ClientHello); a login refused with an error
// packet.
var (
	mysqlSession = []step{
		r("d\x00\x00\x00\n5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x08\x00\x00\x00,IhQ>\x22" +
			",T\x00\xfe\xff\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00GD`5(fN2LjO.\x00mysql_native_p" +
			"assword\x00"),
		o("\xd5\x00\x00\x01\x8c\xa2\xbf\x00\x00\x00\x10\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00bob\x00\x14\x10\x93r\x8f\x98?=" +
			"\xfe\xa0\xe4\x14\xd6\x97\xfe\xc2\x13\xc7\x87\xa9\xd4mysql\x00mysql_native_password\x00\x7f\x03_os\x05L" +
			"inux\x0c_client_name\nlibmariadb\x04_pid\x0518648\x0f_client_" +
			"version\x063.3.20\x09_platform\x06x86_64\x0cprogram_name\x05mys" +
			"ql\x0c_server_host\x09127.0.0.1"),
		r("\x11\x00\x00\x02\x00\x00\x00\x02@\x00\x00\x00\x08\x01\x06\x05mysql"),
		o("\x09\x00\x00\x00\x03select 1"),
		r("\x02\x00\x00\x01\x01\x01\x18\x00\x00\x02\x03def\x00\x00\x00\x011\x00\x00\x0c?\x00\x01\x00\x00\x00\x03\x81\x00\x00\x00\x00\x05\x00\x00\x03\xfe\x00\x00\x02\x00\x02\x00\x00\x04\x01" +
			"1\x05\x00\x00\x05\xfe\x00\x00\x02\x00"),
		o("\x01\x00\x00\x00\x01"),
	}
	mysqlTLSSession = []step{
		r("d\x00\x00\x00\n5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x09\x00\x00\x00O(t6Og" +
			":+\x00\xfe\xff\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00gGnqlN}NKmb&\x00mysql_native_p" +
			"assword\x00"),
		o(" \x00\x00\x01\x84\xaa\xbf\x00\x00\x00\x10\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00"),
		o("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xe5\xdb\xee\xb5\xd9\x02\x22(\xdch6X\xa3\x93\xc3hf6`_\xad\xf30:L^\xd8\x0fG\xdc3. \xc4\xdd8\xe6" +
			"a\x01\xcf\xa2\xdad\xa7N\xa6\x01\xb8^\xdf\x86[H\xa4\xc7\xfd\r\xae\xe6\xb0I\x1e\x83n\xcc\x00>\x13\x02\x13\x03\x13\x01\xc0,\xc00\x00\x9f\xcc\xa9\xcc\xa8\xcc\xaa" +
			"\xc0+\xc0/\x00\x9e\xc0$\xc0(\x00k\xc0#\xc0'\x00g\xc0\n\xc0\x14\x009\xc0\x09\xc0\x13\x003\x00\x9d\x00\x9c\x00=\x00<\x005\x00/\x00\xff\x01\x00\x01u" +
			"\x00\x0b\x00\x04\x03\x00\x01\x02\x00\n\x00\x16\x00\x14\x00\x1d\x00\x17\x00\x1e\x00\x19\x00\x18\x01\x00\x01\x01\x01\x02\x01\x03\x01\x04\x00#\x00\x00\x00\x16\x00\x00\x00\x17\x00\x00\x00\r" +
			"\x00*\x00(\x04\x03\x05\x03\x06\x03\x08\x07\x08\x08\x08\x09\x08\n\x08\x0b\x08\x04\x08\x05\x08\x06\x04\x01\x05\x01\x06\x01\x03\x03\x03\x01\x03\x02\x04\x02\x05\x02\x06\x02\x00+\x00\x09" +
			"\x08\x03\x04\x03\x03\x03\x02\x03\x01\x00-\x00\x02\x01\x01\x003\x00&\x00$\x00\x1d\x00 :\xe5\x00\x96\xf0\xc0\xff\xd6\x09\xff?\x1f\xd2\xdd\x84\xfd\x22\xaaA\xc5\xf2\xccM" +
			"\xc4\xb3\xa4\xb7\xac\xc4\x86\x90%\x00\x15\x00\xd8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
			"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
			"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
			"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
			"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
	}
	mysqlRefused = []step{
		r("d\x00\x00\x00\n5.5.5-10.11.19-MariaDB-0+deb12u1\x00\n\x00\x00\x00(3g.N|" +
			"G-\x00\xfe\xff\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00IgN/=(O4W8Qp\x00mysql_native_p" +
			"assword\x00"),
		o("\xd2\x00\x00\x01\x84\xa2\xbf\x00\x00\x00\x10\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00nobody\x00\x14Z\x8a\xe2\x16" +
			"b\xb2\xa1\x86\xfe\x9fP|6\x16?\xc0/`w\xd7mysql_native_password\x00\x7f\x03_os\x05Linu" +
			"x\x0c_client_name\nlibmariadb\x04_pid\x0518678\x0f_client_ver" +
			"sion\x063.3.20\x09_platform\x06x86_64\x0cprogram_name\x05mysql\x0c" +
			"_server_host\x09127.0.0.1"),
		r("J\x00\x00\x02\xff\x15\x04#28000Access denied for user 'nobody'@'lo" +
			"calhost' (using password: YES)"),
	}
)

// TestMySQL: greetings, handshake responses, the SSL switch, violations, partial
// connections and gaps (§8 row mysql, §5.1, §9).
func TestMySQL(t *testing.T) {
	my := []string{"mysql", "ssl"}
	port := "10.0.0.2:3306"
	hello := dbrClientHello("db.example.com")
	runCases(t, []serviceCase{
		{"MariaDB session", script{Analyzers: my, Resp: port, Steps: mysqlSession}, "mysql", true},
		{"MariaDB session with TLS", script{Analyzers: my, Resp: port, Steps: mysqlTLSSession}, "mysql,ssl", true},
		{"MariaDB login refused", script{Analyzers: my, Resp: port, Steps: mysqlRefused}, "mysql", true},
		{"login after a v10 greeting", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlLogin), r(mysqlOK)}}, "mysql", true},
		{"port 1434", script{Analyzers: my, Resp: "10.0.0.2:1434", Steps: []step{
			r(mysqlGreetingV10), o(mysqlLogin)}}, "mysql", false},
		{"login after a v9 greeting", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV9), o(mysqlLogin320)}}, "mysql", true},
		{"3.20 login after a v10 greeting", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlLogin320)}}, "mysql", false},
		{"SSL request then TLS", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlSSLRequest), o(hello)}}, "mysql,ssl", true},
		{"SSL request and ClientHello in one chunk", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlSSLRequest + hello)}}, "mysql,ssl", false},
		{"SSL request without TLS after it", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlSSLRequest), o("\x00\x01garbage")}}, "mysql", false},
		{"SSL with ssl disabled", script{Analyzers: []string{"mysql"}, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlSSLRequest), o(hello)}}, "mysql", false},
		{"greeting only", script{Analyzers: my, Resp: port, Steps: []step{r(mysqlGreetingV10)}}, "", false},
		{"client only", script{Analyzers: my, Resp: port, Steps: []step{o(mysqlLogin)}}, "", false},
		{"client data waits for the greeting", script{Analyzers: my, Resp: port, Steps: []step{
			o(mysqlLogin), r(mysqlGreetingV10)}}, "mysql", false},
		{"error greeting", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlPacket(0, "\xffj\x04Host '10.0.0.1' is not allowed to connect")), o(mysqlLogin)}}, "", false},
		{"greeting of another version", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlPacket(0, "\x0b8.0\x00"+strings.Repeat("\x00", 20))), o(mysqlLogin)}}, "", false},
		{"greeting without its fields", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlPacket(0, "\x0a8.0.36\x00\x01\x02")), o(mysqlLogin)}}, "", false},
		{"response too short", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlPacket(1, mysqlCaps41+"\x00\x00"))}}, "", false},
		{"response with an unterminated user", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), o(mysqlPacket(1, mysqlCaps41+"\x00\x00\x00\x01\x21"+strings.Repeat("\x00", 23)+"root"))}}, "", false},
		{"not MySQL", script{Analyzers: my, Resp: port, Steps: []step{
			r("SSH-2.0-OpenSSH_9.2\r\n"), o("SSH-2.0-OpenSSH_9.2\r\n")}}, "", false},
		{"partial connection", script{Analyzers: my, Resp: port, Partial: true, Steps: []step{
			r(mysqlGreetingV10), o(mysqlLogin)}}, "", false},
		{"gap before the login", script{Analyzers: my, Resp: port, Steps: []step{
			r(mysqlGreetingV10), {Orig: true, Gap: 10}, o(mysqlLogin)}}, "", false},
		{"no signature off its ports", script{Analyzers: my, Resp: "10.0.0.2:9999", Steps: []step{
			r(mysqlGreetingV10), o(mysqlLogin)}}, "", false},
	})
}

// TestMySQLStops: after the login nothing can change the service, so the session is
// done; after an SSL request it lasts as long as the SSL child needs it.
func TestMySQLStops(t *testing.T) {
	_, done := run(t, script{Analyzers: []string{"mysql"}, Resp: "10.0.0.2:3306", Steps: []step{
		r(mysqlGreetingV10), o(mysqlLogin)}})
	if !done {
		t.Error("session not done after the login")
	}
}

// FuzzMySQL feeds the mysql analyzer (and its SSL child) arbitrary streams.
func FuzzMySQL(f *testing.F) {
	f.Add(fuzzInput(r(mysqlGreetingV10), o(mysqlLogin), r(mysqlOK)))
	f.Add(fuzzInput(mysqlSession...))
	f.Add(fuzzInput(mysqlTLSSession...))
	f.Add(fuzzInput(r(mysqlGreetingV10), o(mysqlSSLRequest), o(dbrClientHello("x"))))
	f.Add(fuzzInput(r(mysqlGreetingV9), o(mysqlLogin320)))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"mysql", "ssl"}, TCP, 3306, false, data)
	})
}
