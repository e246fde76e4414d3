#!/usr/bin/env bash
# make-ordinary-capture.sh — regenerate testdata/ordinary/ordinary.pcap.
#
# Creates two throwaway network namespaces (ft-cli-*, ft-srv-*) joined by a veth
# pair, captures on the client's veth with tcpdump and generates a small, fixed
# mix of ordinary traffic between them:
#
#   1. HTTP GET of a 20 KiB file   over IPv4 (10.77.0.1 -> 10.77.0.2:8080)
#   2. HTTP GET of a 300 KiB file  over IPv4 (10.77.0.1 -> 10.77.0.2:8080)
#   3. HTTP GET of a 20 KiB file   over IPv6 (fd77::1   -> fd77::2:8080)
#   4. a refused TCP connection            (10.77.0.1 -> 10.77.0.2:8099, closed)
#   5. a TCP download aborted by the client with RST (SO_LINGER 0) once it has
#      read at least 12 KiB            (10.77.0.1 -> 10.77.0.2:8081)
#   6. a UDP echo exchange, 4 datagrams each way (10.77.0.1 -> 10.77.0.2:7777)
#   7. ping -c 3 10.77.0.2, ping -6 -c 2 fd77::2
#
# Nothing leaves the two namespaces. To keep the capture free of link-layer
# noise the neighbour entries are static (no ARP / IPv6 neighbour discovery),
# DAD and router solicitations are off, the links settle before tcpdump starts,
# and segmentation/checksum offloads are off so the file holds real MTU-sized
# packets with valid checksums.
#
# Usage (as root): scripts/make-ordinary-capture.sh [OUTPUT.pcap]
# Needs: ip (iproute2), tcpdump, python3, ping (iputils), ethtool.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/testdata/ordinary/ordinary.pcap}

die() { echo "make-ordinary-capture: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for tool in ip tcpdump python3 ping ethtool ss; do
	command -v "$tool" >/dev/null || die "missing tool: $tool"
done

# Resolve the interpreter once (version-manager shims are slow to start).
py=$(python3 -c 'import sys; print(sys.executable)')

suffix=$$-$RANDOM
CLI=ft-cli-$suffix
SRV=ft-srv-$suffix
CIF=ftc0 # client side of the veth pair (inside $CLI)
SIF=fts0 # server side of the veth pair (inside $SRV)
CMAC=02:77:00:00:00:01
SMAC=02:77:00:00:00:02
C4=10.77.0.1 S4=10.77.0.2 C6=fd77::1 S6=fd77::2

work=$(mktemp -d /tmp/ft-ordinary.XXXXXX)
pids=()
tcpdump_pid=

cleanup() {
	set +e
	if [ -n "$tcpdump_pid" ]; then kill "$tcpdump_pid" 2>/dev/null; wait "$tcpdump_pid" 2>/dev/null; fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$CLI" 2>/dev/null
	ip netns del "$SRV" 2>/dev/null
	rm -rf "$work"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_cli() { ip netns exec "$CLI" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }

# --- helper programs ------------------------------------------------------

cat >"$work/servers.py" <<'EOF'
# Servers for the ordinary capture: a paced TCP sender (the client aborts it)
# and a UDP echo server. Runs until killed.
import socket, sys, threading, time

def paced_sender(addr):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr)
    ls.listen(4)
    while True:
        c, _ = ls.accept()
        chunk = bytes(range(256)) * 16  # 4 KiB
        try:
            for _ in range(100):         # up to 400 KiB, 4 KiB every 20 ms
                c.sendall(chunk)
                time.sleep(0.02)
        except OSError:
            pass                          # reset by the client: expected
        c.close()

def udp_echo(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(addr)
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)

host = sys.argv[1]
threading.Thread(target=paced_sender, args=((host, 8081),), daemon=True).start()
udp_echo((host, 7777))
EOF

cat >"$work/client.py" <<'EOF'
# Client actions for the ordinary capture; one action per invocation.
import http.client, socket, struct, sys, time

def http_get(host, path, size):
    conn = http.client.HTTPConnection(host, 8080, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200 or len(body) != size:
        sys.exit(f"GET {host}{path}: status {resp.status}, {len(body)} bytes, want {size}")

def refused(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        return
    finally:
        s.close()
    sys.exit(f"connect {host}:{port}: not refused")

def abort(host, port, want):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, port))
    got = 0
    while got < want:
        b = s.recv(65536)
        if not b:
            sys.exit("abort: server closed early")
        got += len(b)
    # Linger on with timeout 0: close() discards the socket and sends RST.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def udp(host, port, sizes):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect((host, port))
    for n in sizes:
        msg = bytes((i * 7) & 0xFF for i in range(n))
        s.send(msg)
        if s.recv(65535) != msg:
            sys.exit("udp: bad echo")
        time.sleep(0.05)
    s.close()

act = sys.argv[1]
if act == "get":
    http_get(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif act == "refused":
    refused(sys.argv[2], int(sys.argv[3]))
elif act == "abort":
    abort(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif act == "udp":
    udp(sys.argv[2], int(sys.argv[3]), [int(x) for x in sys.argv[4:]])
else:
    sys.exit("unknown action " + act)
EOF

# Deterministic file contents.
mkdir -p "$work/www"
"$py" - "$work/www" <<'EOF'
import sys
d = sys.argv[1]
for name, size in (("small.bin", 20 * 1024), ("large.bin", 300 * 1024)):
    with open(f"{d}/{name}", "wb") as f:
        f.write((bytes(range(256)) * (size // 256 + 1))[:size])
EOF

# --- namespaces and link --------------------------------------------------

ip netns add "$CLI"
ip netns add "$SRV"
ip -n "$CLI" link add "$CIF" address "$CMAC" type veth peer name "$SIF" address "$SMAC" netns "$SRV"

setup_side() { # ns ifname addr4 addr6 peer4 peer6 peermac
	local ns=$1 ifn=$2
	ip netns exec "$ns" sysctl -qw \
		"net.ipv6.conf.$ifn.accept_dad=0" \
		"net.ipv6.conf.$ifn.accept_ra=0" \
		"net.ipv6.conf.$ifn.router_solicitations=0"
	ip netns exec "$ns" ethtool -K "$ifn" rx off tx off tso off gso off gro off >/dev/null
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$3/24" dev "$ifn"
	ip -n "$ns" addr add "$4/64" dev "$ifn" nodad
	ip -n "$ns" link set "$ifn" up
	ip -n "$ns" neigh replace "$5" lladdr "$7" dev "$ifn" nud permanent
	ip -n "$ns" neigh replace "$6" lladdr "$7" dev "$ifn" nud permanent
}
setup_side "$CLI" "$CIF" "$C4" "$C6" "$S4" "$S6" "$SMAC"
setup_side "$SRV" "$SIF" "$S4" "$S6" "$C4" "$C6" "$CMAC"

# --- servers --------------------------------------------------------------

# http.server binds [::] dual-stack, so it serves both 10.77.0.2 and fd77::2.
# Background jobs run "ip netns exec" directly (not through a shell function),
# so $! is the pid that ip execs into: the server or tcpdump itself.
ip netns exec "$SRV" "$py" -m http.server 8080 --bind :: --directory "$work/www" >"$work/http.log" 2>&1 &
pids+=($!)
ip netns exec "$SRV" "$py" "$work/servers.py" "$S4" >"$work/servers.log" 2>&1 &
pids+=($!)

wait_for() { # description command...
	local what=$1; shift
	for _ in $(seq 100); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	die "timed out waiting for $what"
}
listening() { in_srv ss -Hlnt "sport = :8080" | grep -q . && in_srv ss -Hlnt "sport = :8081" | grep -q . && in_srv ss -Hlnu "sport = :7777" | grep -q .; }
wait_for "servers" listening

# Let the links settle (MLD reports and the like) before capturing.
sleep 2

# --- capture --------------------------------------------------------------

ip netns exec "$CLI" tcpdump -i "$CIF" -n -U -w "$work/ordinary.pcap" 2>"$work/tcpdump.log" &
tcpdump_pid=$!
wait_for "tcpdump" grep -q "listening on" "$work/tcpdump.log"
sleep 0.5

gap() { sleep 0.3; }
in_cli "$py" "$work/client.py" get "$S4" /small.bin $((20 * 1024)); gap
in_cli "$py" "$work/client.py" get "$S4" /large.bin $((300 * 1024)); gap
in_cli "$py" "$work/client.py" get "$S6" /small.bin $((20 * 1024)); gap
in_cli "$py" "$work/client.py" refused "$S4" 8099; gap
in_cli "$py" "$work/client.py" abort "$S4" 8081 $((12 * 1024)); gap
in_cli "$py" "$work/client.py" udp "$S4" 7777 16 100 512 1200; gap
in_cli ping -q -n -c 3 -i 0.2 -W 2 "$S4" >/dev/null; gap
in_cli ping -6 -q -n -c 2 -i 0.2 -W 2 "$S6" >/dev/null

# Let the teardowns finish, then stop tcpdump (SIGTERM flushes and exits;
# SIGINT would be ignored by a background job of a non-interactive shell).
sleep 1
kill -TERM "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=
cat "$work/tcpdump.log" >&2

mkdir -p "$(dirname "$out")"
cp "$work/ordinary.pcap" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
