#!/usr/bin/env bash
# Captures real traffic on loopback inside a network namespace of its own, for
# ndpicompare (testdata/loopback.pcap was made with it):
#
#   bash internal/ndpicompare/loopback.sh internal/ndpicompare/testdata/loopback.pcap
#
# Needs root, iproute2, tcpdump, python3, curl, openssl and dig; SSH flows are
# added when sshd and ssh are installed. Every server and client runs in the
# namespace and talks to 127.0.0.1 or ::1 there: nothing reaches another
# address. The namespace and everything started in it go away at exit.
#
# Flows: HTTP (curl and python's http.server) on 80, on 8080 over IPv6 and on
# 443 (plain HTTP on the TLS port); TLS with SNI (openssl s_server, curl and
# s_client) on 443 and 8443; DNS (a small responder) over UDP and TCP on 53 and
# over UDP on 5300; SSH on 22 and 2222; and bytes of no protocol on 993/tcp.
set -euo pipefail

out=$(realpath -m "${1:?usage: loopback.sh OUT.pcap}")
ns=ndpicompare$$
work=$(mktemp -d)

cleanup() {
	local pids
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null || true
		sleep 1
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
client() { ip netns exec "$ns" timeout 10 "$@"; }
nsx ip link set lo up

waitport() { # PROTO PORT: wait until something listens there
	for _ in $(seq 50); do
		if nsx ss -Hln"${1:0:1}" "sport = :$2" | grep -q .; then return 0; fi
		sleep 0.1
	done
	echo "loopback.sh: nothing listens on $2/$1" >&2
	return 1
}

# Servers.
echo '<html><body>flowtop</body></html>' >"$work/index.html"
nsx python3 -m http.server 80 --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
nsx python3 -m http.server 8080 --bind ::1 --directory "$work" >/dev/null 2>&1 &
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=shop.example.com \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
nsx openssl s_server -quiet -accept 443 -cert "$work/cert.pem" -key "$work/key.pem" -www >/dev/null 2>&1 &
nsx openssl s_server -quiet -accept 8443 -cert "$work/cert.pem" -key "$work/key.pem" -www >/dev/null 2>&1 &

cat >"$work/dns.py" <<'EOF'
# A DNS responder: every A question gets 127.0.0.1, any other type no answer.
import socket, struct, sys, threading

def answer(q):
    ident, flags, qd = struct.unpack("!HHH", q[:6])
    i = 12
    while q[i]:
        i += q[i] + 1
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    ans = b""
    if qtype == 1:
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1 if ans else 0, 0, 0) + question + ans

def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        q, peer = s.recvfrom(4096)
        s.sendto(answer(q), peer)

def tcp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    while True:
        c, _ = s.accept()
        with c:
            n = struct.unpack("!H", c.recv(2))[0]
            q = b""
            while len(q) < n:
                q += c.recv(n - len(q))
            a = answer(q)
            c.sendall(struct.pack("!H", len(a)) + a)

for p in (53, 5300):
    threading.Thread(target=udp, args=(p,), daemon=True).start()
threading.Thread(target=tcp, args=(53,), daemon=True).start()
threading.Event().wait()
EOF
nsx python3 "$work/dns.py" &

cat >"$work/raw.py" <<'EOF'
# Bytes of no protocol, both ways, on the port given.
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
while True:
    c, _ = s.accept()
    with c:
        c.recv(4096)
        c.sendall(bytes(range(7, 200)))
EOF
nsx python3 "$work/raw.py" 993 &

have_ssh=
if command -v sshd >/dev/null && command -v ssh >/dev/null; then
	have_ssh=1
	ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
	mkdir -p /run/sshd
	for p in 22 2222; do
		nsx "$(command -v sshd)" -D -e -f /dev/null -h "$work/hostkey" -p "$p" \
			-o ListenAddress=127.0.0.1 -o PidFile=none >/dev/null 2>&1 &
	done
fi

waitport tcp 80
waitport tcp 8080
waitport tcp 443
waitport tcp 8443
waitport udp 53
waitport tcp 993
if [ -n "$have_ssh" ]; then waitport tcp 22; waitport tcp 2222; fi

# The capture.
nsx tcpdump -i lo -s 0 -U -w "$out" >/dev/null 2>&1 &
sleep 1

# Clients.
client curl -s -o /dev/null -H 'Host: www.example.org' http://127.0.0.1/
client curl -s -o /dev/null http://127.0.0.1/index.html
client curl -s -o /dev/null -g 'http://[::1]:8080/'
client curl -sk -o /dev/null --resolve shop.example.com:443:127.0.0.1 https://shop.example.com/
client curl -sk -o /dev/null --tlsv1.2 --tls-max 1.2 --resolve legacy.example.com:443:127.0.0.1 https://legacy.example.com/
client curl -sk -o /dev/null --resolve api.example.net:8443:127.0.0.1 https://api.example.net:8443/
client openssl s_client -connect 127.0.0.1:443 -servername mail.example.com </dev/null >/dev/null 2>&1 || true
client curl -s -o /dev/null -m 3 http://127.0.0.1:443/ || true # plain HTTP to the TLS server
client dig +tries=1 +time=2 @127.0.0.1 www.example.com A >/dev/null
client dig +tries=1 +time=2 @127.0.0.1 mirror.example.org AAAA >/dev/null
client dig +tries=1 +time=2 +tcp @127.0.0.1 zone.example.com A >/dev/null
client dig +tries=1 +time=2 -p 5300 @127.0.0.1 odd-port.example.com A >/dev/null
printf 'hello\r\n' | client python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 993)); s.sendall(sys.stdin.buffer.read()); s.recv(4096); s.close()'
if [ -n "$have_ssh" ]; then
	for p in 22 2222; do
		client ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o ConnectTimeout=5 -p "$p" nobody@127.0.0.1 true >/dev/null 2>&1 || true
	done
fi

sleep 1
echo "loopback.sh: wrote $out"
