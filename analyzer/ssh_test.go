package analyzer

import (
	"strings"
	"testing"
)

// The ssh analyzer (service-detection.md §8 row ssh): version lines, then the
// cleartext key exchange, confirmed by NEWKEYS.

// init adds samples for the ssh signatures.
func init() {
	ruleSamples = append(ruleSamples, "SSH-2.0-OpenSSH_9.7\r\n", "SSH-1.99-x", "sSh-1.5", "SSH-3.0", "SSH_2.0", "SSH-2,0")
}

// sshPacket returns an SSH2 binary packet of message type typ (RFC 4253 §6),
// padded to a multiple of 8 bytes with at least 4 bytes of padding.
func sshPacket(typ byte, payload string) string {
	n := 1 + 1 + len(payload) // padding_length, type, payload
	pad := 8 - (4+n)%8
	if pad < 4 {
		pad += 8
	}
	return be32(n+pad) + string([]byte{byte(pad), typ}) + payload + strings.Repeat("\x00", pad)
}

// sshPacket1 returns an SSH1 packet of type typ: length, 8 - length%8 bytes of
// padding, type, data, CRC.
func sshPacket1(typ byte, data string) string {
	n := 1 + len(data) + 4
	pad := 8 - n%8
	return be32(n) + strings.Repeat("\x00", pad) + string([]byte{typ}) + data + "\x00\x00\x00\x00"
}

// sshKexInit is a KEXINIT (20) with a cookie and short name-lists.
var sshKexInit = sshPacket(20, strings.Repeat("\x11", 16)+be32(25)+"curve25519-sha256,ext-inf"+
	strings.Repeat(be32(4)+"none", 9)+"\x00"+be32(0))

// sshNewKeys is a NEWKEYS (21).
var sshNewKeys = sshPacket(21, "")

const (
	sshClientLine = "SSH-2.0-OpenSSH_9.7\r\n"
	sshServerLine = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5\r\n"
)

// sshPreBanner is text a server sends before its version line (from a server
// that greets with a cow).
const sshPreBanner = " ______________\n< Hi stranger >\n --------------\n        \\   ^__^\n         \\  (oo)\\_______\n"

// TestSSH covers confirmation, names, violations, one-sided, partial and
// signature-only connections.
func TestSSH(t *testing.T) {
	names := map[NameKind]string{NameSSHClient: "OpenSSH_9.7", NameSSHServer: "OpenSSH_9.2p1 Debian-2+deb12u5"}
	only := []string{"ssh"}
	lnRunCases(t, []lnCase{
		{name: "exchange", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine), o(sshKexInit), r(sshKexInit), o(sshPacket(30, be32(32)+strings.Repeat("k", 32))),
			r(sshPacket(31, be32(8)+"hostkey!")), r(sshNewKeys), o(sshNewKeys), o("\x8e\x11\x22 encrypted")}},
			service: "ssh", names: names},
		{name: "server newkeys alone", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine + sshKexInit + sshNewKeys)}},
			service: "ssh", names: names},
		{name: "pre-banner", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshPreBanner + "Mark Twain\n" + sshServerLine + sshKexInit), o(sshKexInit), o(sshNewKeys)}},
			service: "ssh", names: names},
		{name: "client kex before server version", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine + sshKexInit + sshNewKeys), r(sshServerLine)}},
			service: "ssh", names: names},
		{name: "lf only", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o("SSH-2.0-OpenSSH_9.7\n"), r("SSH-2.0-dropbear_2022.83\n" + sshKexInit), o(sshKexInit + sshNewKeys)}},
			service: "ssh", names: map[NameKind]string{NameSSHClient: "OpenSSH_9.7", NameSSHServer: "dropbear_2022.83"}},
		{name: "1.99 server", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r("SSH-1.99-OpenSSH_3.1p1\r\n"), o(sshKexInit), o(sshNewKeys)}},
			service: "ssh"},
		{name: "ssh1", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			r("SSH-1.5-1.2.27\n"), o("SSH-1.5-1.2.27\n"), r(sshPacket1(2, strings.Repeat("p", 40))),
			o(sshPacket1(3, strings.Repeat("s", 20)))}},
			service: "ssh", names: map[NameKind]string{NameSSHClient: "1.2.27", NameSSHServer: "1.2.27"}},
		{name: "ssh1 client without session key", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			r("SSH-1.5-1.2.27\n"), o("SSH-1.5-1.2.27\n"), r(sshPacket1(2, strings.Repeat("p", 40)))}},
			service: ""},
		{name: "versions disagree", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r("SSH-1.5-old\r\n"), o(sshKexInit + sshNewKeys)}},
			service: "", names: map[NameKind]string{NameSSHClient: "OpenSSH_9.7", NameSSHServer: "old"}},
		{name: "no newkeys", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine), o(sshKexInit), r(sshKexInit)}},
			service: "", names: names},
		{name: "client only", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine + sshKexInit + sshNewKeys)}},
			service: "", names: map[NameKind]string{NameSSHClient: "OpenSSH_9.7"}},
		{name: "server only", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			r(sshServerLine + sshKexInit + sshNewKeys)}},
			service: "", names: map[NameKind]string{NameSSHServer: "OpenSSH_9.2p1 Debian-2+deb12u5"}},
		{name: "client not ssh", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o("GET / HTTP/1.1\r\n" + sshClientLine), r(sshServerLine), o(sshKexInit + sshNewKeys)}},
			service: ""},
		{name: "packet length too small", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine), r("\x00\x00\x00\x01\x00\x14"), o(sshKexInit + sshNewKeys)}},
			service: ""},
		{name: "padding past the packet", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine), o("\x00\x00\x00\x0c\x0b\x14" + strings.Repeat("\x00", 10) + sshNewKeys)}},
			service: ""},
		{name: "packet too long", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine), o("\x01\x00\x00\x00\x04\x14"), r(sshNewKeys)}},
			service: ""},
		{name: "partial", s: script{Analyzers: only, Resp: "10.0.0.2:22", Partial: true, Steps: []step{
			o(sshClientLine), r(sshServerLine), o(sshKexInit + sshNewKeys)}},
			service: ""},
		{name: "gap", s: script{Analyzers: only, Resp: "10.0.0.2:22", Steps: []step{
			o(sshClientLine), r(sshServerLine), {Orig: true, Gap: 100}, o(sshNewKeys), r(sshNewKeys)}},
			service: "", noSplit: true},
		{name: "signature off port", s: script{Analyzers: only, Resp: "10.0.0.2:2222", Steps: []step{
			o(sshClientLine), r(sshServerLine), o(sshKexInit), r(sshKexInit + sshNewKeys)}},
			service: "ssh", names: names},
		{name: "signature needs the server", s: script{Analyzers: only, Resp: "10.0.0.2:2222", Steps: []step{
			o(sshClientLine + sshKexInit + sshNewKeys)}},
			service: ""},
	})
}

// TestSSHLongLived checks that confirmation raises the inactivity timeout.
func TestSSHLongLived(t *testing.T) {
	h, _ := run(t, script{Analyzers: []string{"ssh"}, Resp: "10.0.0.2:22", Steps: []step{
		o(sshClientLine), r(sshServerLine), o(sshKexInit + sshNewKeys)}})
	if h.service() != "ssh" || !h.long {
		t.Fatalf("service %q, long-lived %v", h.service(), h.long)
	}
}
