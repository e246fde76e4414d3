//go:build linux

package main

// TestLiveServices runs flowtop on a veth pair while real clients of HTTP, TLS,
// DNS and SSH talk to real servers in the namespace, and checks that conn.log's
// service field and the optional server_name column name what was on the wire,
// as Zeek's would.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/flowtop/flowtop/internal/vethtest"
)

// Ports the "services" helper listens on, inside the namespace.
const (
	svcHTTPPort    = 8080 // HTTP, a port Zeek registers for it
	svcOddHTTPPort = 8999 // HTTP where no analyzer is registered: found by DPD
	svcTLSPort     = 443
	svcAltTLSPort  = 8443
	svcDNSPort     = 53 // UDP
	svcSSHPort     = 22
	svcRawPort     = 80 // a sink for bytes that are no protocol at all
)

// The SSH account of the helper's server.
const svcSSHUser, svcSSHPassword = "flowtop", "live-test"

// svcRawSize and svcRawSeed make the random payload sent to svcRawPort.
const (
	svcRawSize = 2000
	svcRawSeed = 20240917
)

// svcDNSAnswer is the address the helper's DNS responder gives for any A query.
var svcDNSAnswer = [4]byte{192, 0, 2, 53}

// TestLiveServices: one connection per protocol from the host end to the
// helper; each record must carry the service and server_name Zeek would give.
func TestLiveServices(t *testing.T) {
	p := vethtest.New(t, vethtest.Options{})
	bin := flowtopBinary(t)
	srv := svcStartHelper(t, p)
	dir := t.TempDir()
	out := filepath.Join(dir, "conn.log")
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[connlog]\nextra_fields = [\"server_name\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ft := liveStart(t, "flowtop", bin, "--headless", "-i", p.Host, "-w", out, "--config", cfg)
	ft.waitCapturing(t, p.HostIndex)

	peer := func(port int) netip.AddrPort { return netip.AddrPortFrom(p.Peer4, uint16(port)) }
	var wants []svcWant
	last := time.Now()
	add := func(name, proto string, dst netip.AddrPort, src netip.AddrPort, service, serverName string, history func(string) error) {
		t.Logf("%s: %s -> %s in %v", name, src, dst, time.Since(last).Round(time.Millisecond))
		last = time.Now()
		if src.Addr() != p.Host4 {
			t.Fatalf("%s went out from %s, not the host end's %s", name, src, p.Host4)
		}
		wants = append(wants, svcWant{name: name, proto: proto, orig: src, resp: dst,
			service: service, serverName: serverName, history: history})
	}
	add("http on 8080", "tcp", peer(svcHTTPPort), svcHTTPGet(t, peer(svcHTTPPort), "web.test"), "http", "web.test", liveTCPHistory(true))
	add("http on 8999", "tcp", peer(svcOddHTTPPort), svcHTTPGet(t, peer(svcOddHTTPPort), "odd.test"), "http", "odd.test", liveTCPHistory(true))
	add("tls on 443", "tcp", peer(svcTLSPort), svcTLS(t, peer(svcTLSPort), "secure.test"), "ssl", "secure.test", liveTCPHistory(true))
	add("tls on 8443", "tcp", peer(svcAltTLSPort), svcTLS(t, peer(svcAltTLSPort), "alt.test"), "ssl", "alt.test", liveTCPHistory(true))
	add("dns on 53", "udp", peer(svcDNSPort), svcDNS(t, peer(svcDNSPort), "www.example.test."), "dns", "www.example.test", liveExact("Dd"))
	// Both ends of SSH send their banner at once: which comes first varies.
	add("ssh on 22", "tcp", peer(svcSSHPort), svcSSH(t, peer(svcSSHPort)), "ssh", "", nil)
	add("random bytes on 80", "tcp", peer(svcRawPort), svcRaw(t, peer(svcRawPort)), "", "", liveTCPHistory(true))
	srv.stop(t)
	time.Sleep(liveSettle)
	ft.interrupt(t)

	recs := svcReadTSV(t, out)
	t.Logf("conn.log records:\n%s", svcLines(recs))
	svcCheck(t, p, recs, wants)
}

// svcWant is what conn.log must say about one connection.
type svcWant struct {
	name, proto         string
	orig, resp          netip.AddrPort
	service, serverName string             // "" for unset ("-")
	history             func(string) error // nil: not checked
}

// svcRecord is one conn.log TSV line, by field name.
type svcRecord struct {
	f          map[string]string
	orig, resp netip.AddrPort
	line       string
}

// svcReadTSV reads flowtop's TSV conn.log, naming each value after the
// #fields header.
func svcReadTSV(t *testing.T, path string) []*svcRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var recs []*svcRecord
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if h, ok := strings.CutPrefix(line, "#fields\t"); ok {
			names = strings.Split(h, "\t")
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		vals := strings.Split(line, "\t")
		if names == nil || len(vals) != len(names) {
			t.Fatalf("%s line %d: %d values for %d fields: %q\n%s", path, i+1, len(vals), len(names), line, data)
		}
		r := &svcRecord{f: map[string]string{}, line: line}
		for j, n := range names {
			r.f[n] = vals[j]
		}
		var err error
		if r.orig, err = netip.ParseAddrPort(net.JoinHostPort(r.f["id.orig_h"], r.f["id.orig_p"])); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		if r.resp, err = netip.ParseAddrPort(net.JoinHostPort(r.f["id.resp_h"], r.f["id.resp_p"])); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		recs = append(recs, r)
	}
	if names == nil {
		t.Fatalf("%s has no #fields line:\n%s", path, data)
	}
	if !slices.Contains(names, "server_name") {
		t.Fatalf("%s: no server_name column although the config asks for it; #fields %q", path, names)
	}
	return recs
}

// svcCheck checks each wanted connection against its record, one subtest per
// connection, and that no other record is between the pair's IPv4 addresses.
func svcCheck(t *testing.T, p *vethtest.Pair, recs []*svcRecord, wants []svcWant) {
	t.Helper()
	unset := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	used := map[*svcRecord]bool{}
	for _, w := range wants {
		var found []*svcRecord
		for _, r := range recs {
			if r.f["proto"] == w.proto && ((r.orig == w.orig && r.resp == w.resp) || (r.orig == w.resp && r.resp == w.orig)) {
				found = append(found, r)
				used[r] = true
			}
		}
		t.Run(w.name, func(t *testing.T) {
			if len(found) != 1 {
				t.Fatalf("%d records for %s %s -> %s, want 1:\n%s", len(found), w.proto, w.orig, w.resp, svcLines(found))
			}
			r := found[0]
			errorf := func(format string, args ...any) {
				t.Helper()
				t.Errorf("%s\n\t%s", fmt.Sprintf(format, args...), r.line)
			}
			if r.orig != w.orig {
				errorf("originator %s, want %s", r.orig, w.orig)
			}
			if s := r.f["conn_state"]; s != "SF" {
				errorf("conn_state %s, want SF", s)
			}
			if w.history != nil {
				if err := w.history(r.f["history"]); err != nil {
					errorf("%v", err)
				}
			}
			if s := r.f["service"]; s != unset(w.service) {
				errorf("service %s, want %s", s, unset(w.service))
			}
			if s := r.f["server_name"]; s != unset(w.serverName) {
				errorf("server_name %s, want %s", s, unset(w.serverName))
			}
		})
	}
	var extra []*svcRecord
	for _, r := range recs {
		a, b := r.orig.Addr(), r.resp.Addr()
		if !used[r] && (a == p.Host4 || a == p.Peer4) && (b == p.Host4 || b == p.Peer4) {
			extra = append(extra, r)
		}
	}
	if len(extra) > 0 {
		t.Errorf("records of connections the test did not make:\n%s", svcLines(extra))
	}
}

func svcLines(recs []*svcRecord) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\t%s\n", r.line)
	}
	return b.String()
}

// svcStartHelper starts the "services" helper in p's namespace and waits until
// it listens.
func svcStartHelper(t *testing.T, p *vethtest.Pair) *liveServer {
	t.Helper()
	s, line := liveStartHelper(t, p, "services "+p.Peer4.String())
	if line != "ready\n" {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		t.Fatalf("services helper did not start: %q; stderr: %s", line, s.stderr.String())
	}
	return s
}

// svcDial opens a TCP connection to dst with the I/O deadline set.
func svcDial(t *testing.T, dst netip.AddrPort) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: liveIOTimeout}
	c, err := d.Dial("tcp4", dst.String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(liveIOTimeout))
	return c.(*net.TCPConn)
}

func svcAddr(c net.Conn) netip.AddrPort { return c.LocalAddr().(*net.TCPAddr).AddrPort() }

// svcHTTPGet sends GET / with that Host and Connection: close, reads the
// answer up to the server's FIN, closes and returns the client's address.
func svcHTTPGet(t *testing.T, dst netip.AddrPort, host string) netip.AddrPort {
	t.Helper()
	c := svcDial(t, dst)
	defer c.Close()
	req, err := http.NewRequest("GET", "http://"+host+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	if err := req.Write(c); err != nil {
		t.Fatalf("http %s: %v", dst, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("http %s: %v", dst, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(body) != "hello "+host+"\n" {
		t.Fatalf("http %s: status %d, body %q, %v", dst, resp.StatusCode, body, err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // the server's FIN
		t.Fatalf("http %s: %v", dst, err)
	}
	return svcAddr(c)
}

// svcTLS makes a TLS handshake with SNI sni, exchanges a line, sends
// close_notify and FIN, reads up to the server's FIN and returns the client's
// address.
func svcTLS(t *testing.T, dst netip.AddrPort, sni string) netip.AddrPort {
	t.Helper()
	c := svcDial(t, dst)
	defer c.Close()
	tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("tls %s: %v", dst, err)
	}
	if _, err := io.WriteString(tc, "ping\n"); err != nil {
		t.Fatalf("tls %s: %v", dst, err)
	}
	line, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil || line != "pong "+sni+"\n" {
		t.Fatalf("tls %s: answer %q, %v", dst, line, err)
	}
	if err := tc.CloseWrite(); err != nil { // close_notify
		t.Fatalf("tls %s: %v", dst, err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("tls %s: %v", dst, err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil { // the server's close_notify and FIN
		t.Fatalf("tls %s: %v", dst, err)
	}
	return svcAddr(c)
}

// svcDNS asks dst for name's A record over UDP and returns the client's
// address.
func svcDNS(t *testing.T, dst netip.AddrPort, name string) netip.AddrPort {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x5eed, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		t.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	q, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(q); err != nil {
		t.Fatalf("dns %s: %v", dst, err)
	}
	c.SetReadDeadline(time.Now().Add(liveIOTimeout))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("dns %s: no answer: %v", dst, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatalf("dns %s: %v", dst, err)
	}
	if m.ID != 0x5eed || len(m.Answers) != 1 {
		t.Fatalf("dns %s: answer %+v", dst, m)
	}
	if a, ok := m.Answers[0].Body.(*dnsmessage.AResource); !ok || a.A != svcDNSAnswer {
		t.Fatalf("dns %s: answer %v", dst, m.Answers[0])
	}
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// svcSSH makes an SSH handshake with password authentication, then sends FIN
// and waits for the server's, and returns the client's address.
func svcSSH(t *testing.T, dst netip.AddrPort) netip.AddrPort {
	t.Helper()
	c := svcDial(t, dst)
	defer c.Close()
	cc, chans, reqs, err := ssh.NewClientConn(c, dst.String(), &ssh.ClientConfig{
		User:            svcSSHUser,
		Auth:            []ssh.AuthMethod{ssh.Password(svcSSHPassword)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         liveIOTimeout,
	})
	if err != nil {
		t.Fatalf("ssh %s: %v", dst, err)
	}
	client := ssh.NewClient(cc, chans, reqs)
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("ssh %s: %v", dst, err)
	}
	client.Wait() // returns at the server's FIN
	client.Close()
	return svcAddr(c)
}

// svcRaw sends svcRawSize random bytes to dst, then FIN, waits for the
// server's FIN and returns the client's address.
func svcRaw(t *testing.T, dst netip.AddrPort) netip.AddrPort {
	t.Helper()
	c := svcDial(t, dst)
	defer c.Close()
	b := make([]byte, svcRawSize)
	mrand.New(mrand.NewSource(svcRawSeed)).Read(b)
	if _, err := c.Write(b); err != nil {
		t.Fatalf("tcp %s: %v", dst, err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("tcp %s: %v", dst, err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != fmt.Sprintf("%d\n", svcRawSize) {
		t.Fatalf("tcp %s: answer %q, %v", dst, got, err)
	}
	return svcAddr(c)
}

// liveServices is the "services ADDR4" helper: it serves HTTP, TLS, DNS, SSH
// and a byte sink on the svc ports of addr4, prints "ready" and serves until
// its standard input is closed.
func liveServices(addr4 string) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	report := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	listen := func(port int) (net.Listener, error) {
		return net.Listen("tcp4", net.JoinHostPort(addr4, fmt.Sprint(port)))
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	tcp := map[int]net.Listener{}
	for _, port := range []int{svcHTTPPort, svcOddHTTPPort, svcTLSPort, svcAltTLSPort, svcSSHPort, svcRawPort} {
		l, err := listen(port)
		if err != nil {
			return err
		}
		closers = append(closers, l)
		tcp[port] = l
	}
	udp, err := net.ListenPacket("udp4", net.JoinHostPort(addr4, fmt.Sprint(svcDNSPort)))
	if err != nil {
		return err
	}
	closers = append(closers, udp)

	// HTTP.
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s\n", r.Host)
		}),
		ReadTimeout:  liveIOTimeout,
		WriteTimeout: liveIOTimeout,
	}
	for _, port := range []int{svcHTTPPort, svcOddHTTPPort} {
		l := tcp[port]
		wg.Go(func() {
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				report(fmt.Errorf("http: %w", err))
			}
		})
	}

	// Accepts connections on l, serving each with serve, until l is closed.
	accept := func(l net.Listener, serve func(net.Conn) error) {
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(liveIOTimeout))
					if err := serve(c); err != nil {
						report(fmt.Errorf("%s: %w", c.LocalAddr(), err))
					}
				})
			}
		})
	}

	// TLS: answers "ping" with "pong SNI", then reads up to close_notify and
	// closes (close_notify and FIN).
	cert, err := svcCert()
	if err != nil {
		return err
	}
	for _, port := range []int{svcTLSPort, svcAltTLSPort} {
		accept(tcp[port], func(c net.Conn) error {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			br := bufio.NewReader(tc)
			line, err := br.ReadString('\n')
			if err != nil || line != "ping\n" {
				return fmt.Errorf("tls request %q: %v", line, err)
			}
			if _, err := fmt.Fprintf(tc, "pong %s\n", tc.ConnectionState().ServerName); err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, br); err != nil {
				return err
			}
			return tc.Close()
		})
	}

	// SSH: password authentication, no channels; closes at the client's FIN.
	hostKey, err := svcSSHHostKey()
	if err != nil {
		return err
	}
	sshConfig := &ssh.ServerConfig{
		PasswordCallback: func(m ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if m.User() == svcSSHUser && string(pw) == svcSSHPassword {
				return nil, nil
			}
			return nil, fmt.Errorf("password rejected for %q", m.User())
		},
	}
	sshConfig.AddHostKey(hostKey)
	accept(tcp[svcSSHPort], func(c net.Conn) error {
		sc, chans, reqs, err := ssh.NewServerConn(c, sshConfig)
		if err != nil {
			return fmt.Errorf("ssh handshake: %w", err)
		}
		go ssh.DiscardRequests(reqs)
		go func() {
			for ch := range chans {
				ch.Reject(ssh.Prohibited, "no channels here")
			}
		}()
		sc.Wait() // the client's FIN
		sc.Close()
		return nil
	})

	// Byte sink: reads up to the FIN, answers with the count and closes.
	accept(tcp[svcRawPort], func(c net.Conn) error {
		n, err := io.Copy(io.Discard, c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c, "%d\n", n)
		return err
	})

	// DNS: answers every A query with svcDNSAnswer.
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			ans, err := svcDNSReply(buf[:n])
			if err != nil {
				report(fmt.Errorf("dns: %w", err))
				continue
			}
			if _, err := udp.WriteTo(ans, from); err != nil {
				report(fmt.Errorf("dns: %w", err))
			}
		}
	})

	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	hs.Close()
	for _, c := range closers {
		c.Close()
	}
	closers = nil
	wg.Wait()
	return errors.Join(errs...)
}

// svcDNSReply answers a DNS query for an A record with svcDNSAnswer.
func svcDNSReply(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	if q.Type != dnsmessage.TypeA {
		return nil, fmt.Errorf("query of type %v, want A", q.Type)
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
		dnsmessage.AResource{A: svcDNSAnswer}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// svcCert returns a new self-signed ECDSA certificate.
func svcCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "flowtop live test"},
		DNSNames:     []string{"secure.test", "alt.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// svcSSHHostKey returns a new ed25519 SSH host key.
func svcSSHHostKey() (ssh.Signer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(key)
}
