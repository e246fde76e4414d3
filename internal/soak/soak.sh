#!/usr/bin/env bash
# soak.sh — a long live capture with steady churn, watched from outside.
# `make soak` runs it (as root); it is not part of `make test`.
#
# It makes a network namespace with one end of a veth pair (10.199.0.2) and
# keeps the other end (10.199.0.1) in the root namespace; all traffic stays on
# that pair. In the namespace runs the load server (internal/soak/load); from
# the root namespace the load client makes RATE short TCP connections and
# RATE/10 UDP exchanges a second and holds LONG slow TCP streams, for DURATION
# seconds, while flowtop --headless captures on the root end. Every 10 s it
# samples flowtop's RSS (/proc) and, through SIGUSR1's status line, its
# goroutines and heap. At the end it stops flowtop with SIGINT and checks that
# conn.log has every connection the client made and that the kernel dropped
# nothing; it prints the samples' first, last, minimum and maximum.
#
# With MODE=tui the interactive view captures instead, in a tmux session, with
# -w; the long streams are marked for extraction (x). The view has no SIGUSR1
# status line: the samples then give the process's threads instead of its
# goroutines.
#
# Usage (as root): bash internal/soak/soak.sh
#   MODE=tui    the interactive view in tmux (default: headless)
#   DURATION=S  seconds of load (default 600)
#   RATE=N      short connections a second (default 2000)
#   LONG=N      long connections (default 4)
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-600}
rate=${RATE:-2000}
long=${LONG:-4}
mode=${MODE:-headless}
dir=$(mktemp -d /tmp/flowtop-soak.XXXXXX)
ns=flowtop-soak-$$
cleanup() {
	kill "${server:-}" "${ft:-}" 2>/dev/null || true
	tmux kill-session -t "$ns" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	ip link del ftsoak0 2>/dev/null || true
}
trap cleanup EXIT
go build -o "$dir/flowtop" ./cmd/flowtop
go build -o "$dir/load" ./internal/soak/load
ip netns add "$ns"
ip link add ftsoak0 type veth peer name ftsoak1
ip link set ftsoak1 netns "$ns"
ip addr add 10.199.0.1/24 dev ftsoak0
ip link set ftsoak0 up
ip netns exec "$ns" ip addr add 10.199.0.2/24 dev ftsoak1
ip netns exec "$ns" ip link set ftsoak1 up
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" "$dir/load" -serve 10.199.0.2 &
server=$!
sleep 1
if [ "$mode" = tui ]; then
	tmux new-session -d -s "$ns" -x 160 -y 40 \
		"sh -c 'echo \$\$ > $dir/pid; exec $dir/flowtop -i ftsoak0 --no-process -w $dir/conn.log --extract-dir $dir/contents 2> $dir/stderr.txt'"
	sleep 2
	ft=$(cat "$dir/pid")
else
	"$dir/flowtop" -i ftsoak0 --headless -v --no-process -w "$dir/conn.log" 2> "$dir/stderr.txt" &
	ft=$!
	sleep 2
fi
"$dir/load" -client 10.199.0.2 -rate "$rate" -long "$long" -duration "${duration}s" > "$dir/client.txt" &
client=$!
if [ "$mode" = tui ]; then
	sleep 5
	tmux send-keys -t "$ns" ':' && tmux send-keys -t "$ns" '10.199.0.2:8001' Enter && tmux send-keys -t "$ns" x
	sleep 1
	tmux capture-pane -p -t "$ns" | tail -1
fi
echo "soak: $duration s at $rate connections/s, files in $dir"
printf 'sec rss_kib goroutines heap\n' > "$dir/samples.txt"
start=$(date +%s)
while kill -0 "$client" 2>/dev/null; do
	sleep 10
	if [ "$mode" = tui ]; then
		gor=$(awk '/Threads/ {print $2}' "/proc/$ft/status")
		heap=-
	else
		kill -USR1 "$ft"
		sleep 0.5
		line=$(grep 'status:' "$dir/stderr.txt" | tail -1)
		gor=$(echo "$line" | sed -n 's/.* \([0-9]*\) goroutines.*/\1/p')
		heap=$(echo "$line" | sed -n 's/.*goroutines, \(.*\) heap/\1/p')
	fi
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$ft/status")
	printf '%d %s %s %s\n' $(($(date +%s) - start)) "$rss" "$gor" "$heap" >> "$dir/samples.txt"
done
wait "$client" || true
sleep 2
if [ "$mode" = tui ]; then
	tmux capture-pane -p -t "$ns" | head -1
	tmux send-keys -t "$ns" q
	while kill -0 "$ft" 2>/dev/null; do sleep 0.2; done
else
	kill -INT "$ft"
	wait "$ft" || true
fi
cat "$dir/client.txt"
read -r _ short _ udp _ longs _ failed _ udpconns _ ambiguous < "$dir/client.txt"
tcp8000=$(awk -F'\t' '!/^#/ && $7=="tcp" && $6=="8000"' "$dir/conn.log" | wc -l)
tcp8000sf=$(awk -F'\t' '!/^#/ && $7=="tcp" && $6=="8000" && $12=="SF"' "$dir/conn.log" | wc -l)
udp8053=$(awk -F'\t' '!/^#/ && $7=="udp" && $6=="8053"' "$dir/conn.log" | wc -l)
long8001=$(awk -F'\t' '!/^#/ && $7=="tcp" && $6=="8001"' "$dir/conn.log" | wc -l)
echo "conn.log: $tcp8000 short TCP ($tcp8000sf SF), $udp8053 UDP, $long8001 long (client: $short, $udpconns UDP connections of $udp exchanges (+$ambiguous at the timeout's edge), $longs; $failed failed)"
grep -v 'status:' "$dir/stderr.txt" || true
[ "$mode" = tui ] && echo "(the view: the goroutine columns are the process's threads)"
awk 'NR > 1 { if (NR == 2) { f = $2; g0 = $3; min = $2; max = $2; gmin = $3; gmax = $3 } l = $2; g1 = $3;
	if ($2 + 0 < min + 0) min = $2; if ($2 + 0 > max + 0) max = $2;
	if ($3 + 0 < gmin + 0) gmin = $3; if ($3 + 0 > gmax + 0) gmax = $3 }
	END { printf "RSS MiB: first %d, last %d, min %d, max %d; goroutines: first %d, last %d, min %d, max %d\n", f/1024, l/1024, min/1024, max/1024, g0, g1, gmin, gmax }' "$dir/samples.txt"
ok=1
[ "$tcp8000" -ge "$short" ] || ok=0
[ "$udp8053" -ge "$udpconns" ] && [ "$udp8053" -le $((udpconns + ambiguous)) ] || ok=0
[ "$long8001" -ge "$longs" ] || ok=0
grep -q ' 0 dropped by the kernel' "$dir/stderr.txt" || ok=0
[ "$mode" = tui ] && ls "$dir/contents" 2>/dev/null | head -4
[ $ok = 1 ] && echo "soak: every connection in conn.log, no drops" || { echo "soak: FAILED"; exit 1; }
