#!/usr/bin/env bash
# process.sh — the CPU cost of process attribution, measured from outside.
# `make bench-process` runs it (as root).
#
# In a throwaway network namespace it holds SOCKETS TCP sockets open (python3
# processes of 10,000 each, on the loopback), starts a python3 HTTP server whose
# pages take 10 ms to make, and then, for DURATION seconds, runs RATE curl
# processes a second against it, while flowtop --headless -v -i lo captures.
# Each round runs flowtop twice on the same load, with attribution (the default)
# and with --no-process, in alternating order, and reads each run's user and
# system CPU time from /usr/bin/time. It prints, per run, the CPU seconds, the
# CPU seconds per minute, the connections whose originator was named, and
# flowtop's attribution line; then the medians, and the difference: what
# attribution costs a minute at that load.
#
# Usage (as root): bash internal/bench/process.sh
#   DURATION=S  seconds of traffic per run (default 60)
#   RATE=N      curl processes a second (default 10)
#   SOCKETS=N   sockets held open (default 20000)
#   ROUNDS=N    rounds (default 2)
# Needs: go, ip, python3, curl, /usr/bin/time.
set -euo pipefail

DURATION=${DURATION:-60} RATE=${RATE:-10} SOCKETS=${SOCKETS:-20000} ROUNDS=${ROUNDS:-2}
die() { echo "bench-process: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root"
for t in ip python3 curl /usr/bin/time go; do command -v "$t" >/dev/null || die "$t not found"; done

cd "$(dirname "$0")/../.."
work=$(mktemp -d)
ns=ftbench$$
bin=$work/flowtop
CGO_ENABLED=0 go build -o "$bin" ./cmd/flowtop
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
python=$(python3 -c 'import sys; print(sys.executable)')
printf '[connlog]\nextra_fields = ["orig_pid", "orig_comm", "resp_pid", "resp_comm"]\n' >"$work/cfg.toml"

for ((i = 0; i < SOCKETS / 10000; i++)); do
	ip netns exec "$ns" "$python" -c '
import socket, resource, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
keep = []
for i in range(5000):
    c = socket.create_connection(l.getsockname()); s, _ = l.accept(); keep += [c, s]
print("ready", flush=True)
time.sleep(86400)' >"$work/load$i" &
	pids+=($!)
done
ip netns exec "$ns" "$python" -c '
import http.server, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.01); self.send_response(200); self.send_header("Content-Length", "2000"); self.end_headers(); self.wfile.write(b"x" * 2000)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 8080), H); print("ready", flush=True); s.serve_forever()' >"$work/http" &
pids+=($!)
for f in "$work"/load* "$work/http"; do
	for _ in $(seq 600); do grep -q ready "$f" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$f" || die "load did not start"
done
held=$(ip netns exec "$ns" ss -tan | grep -c ESTAB || true)
echo "load: $held established TCP sockets in the namespace, $RATE curls a second, ${DURATION}s a run"

run() { # $1: label, then flowtop's extra flags
	local label=$1; shift
	local log=$work/$label.log
	/usr/bin/time -f "%U %S" -o "$work/time" ip netns exec "$ns" "$bin" --headless --json -v -i lo --config "$work/cfg.toml" -w "$work/conn.json" "$@" 2>"$log" &
	local tp=$!
	sleep 1
	local end=$((SECONDS + DURATION)) curls=()
	while ((SECONDS < end)); do
		for ((k = 0; k < RATE; k++)); do
			ip netns exec "$ns" curl -s -o /dev/null --max-time 5 http://127.0.0.1:8080/ &
			curls+=($!)
		done
		sleep 1
	done
	wait "${curls[@]}" || true
	sleep 0.5
	pkill -INT -f "$bin --headless" || true
	wait "$tp" || true
	read -r u s <"$work/time"
	local cpu named total
	cpu=$(echo "$u + $s" | bc)
	total=$(grep -c '"id.resp_p":8080' "$work/conn.json" || true)
	named=$(grep '"id.resp_p":8080' "$work/conn.json" | grep -c '"orig_comm":"curl"' || true)
	printf '%-12s cpu %6.2fs  per minute %6.2fs  curls named %d/%d\n' "$label" "$cpu" "$(echo "$cpu * 60 / $DURATION" | bc -l)" "$named" "$total"
	grep "process attribution" "$log" | sed 's/^/             /' || true
	echo "$cpu" >>"$work/$label.cpu"
}

for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then run attribution; run off --no-process; else run off --no-process; run attribution; fi
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
on=$(median "$work/attribution.cpu") off=$(median "$work/off.cpu")
printf 'median cpu: attribution %.2fs, off %.2fs; attribution costs %.2f CPU-seconds a minute at this load\n' "$on" "$off" "$(echo "($on - $off) * 60 / $DURATION" | bc -l)"
