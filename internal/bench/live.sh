#!/usr/bin/env bash
# live.sh — live-capture benchmark: flowtop and tcpdump on the same replayed
# traffic, side by side. `make bench-live` runs it.
#
# The traffic is the many-flows benchmark capture (package benchgen, workload
# "many", seed 1: about 2.9M packets), generated on first use into
# $TMPDIR/flowtop-bench/many.pcap and reused afterwards, as `make bench` does.
# tcpreplay --topspeed sends it into the host end of a veth pair; the capturer
# runs inside a throwaway network namespace on the peer end, so every packet
# arrives there as incoming traffic, and nothing reaches a real network. The
# link carries no addresses and no link-local IPv6, so it adds no packets of its
# own.
#
# Each round runs, one after the other on the same replay:
#   flowtop     flowtop --headless -i PEER -w /dev/null   (TSV, default buffer)
#   flowtop-2M  the same with --buffer 2MiB, tcpdump's default buffer
#   tcpdump     tcpdump -i PEER -w /dev/null              (default buffer)
#   tcpdump-B   tcpdump -B KiB -i PEER -w /dev/null       (flowtop's default
#               --buffer, as read from `flowtop -h`; skipped if it has none)
# Odd rounds run them in that order, even rounds in the reverse order. For each
# run the capturer is started, waited for until its packet socket is bound to
# the interface, fed the replay, given half a second to take in the last
# packets, and stopped with SIGINT; it then reports the packets the kernel
# received for it and dropped (tcpdump: "N packets received by filter", "M
# packets dropped by kernel"; flowtop: "flowtop: IFACE: N packets received, M
# dropped by the kernel"). A capturer that prints no such line shows n/a.
#
# Output: one row per run, then the median of each capturer over the rounds:
# packets sent (tcpreplay's successful packets), received, dropped, drop % (of
# the packets sent) and the replay rate (tcpreplay's pps). Exits 1 if flowtop's
# median drops exceed tcpdump's (default buffer), 2 on a setup error; when
# flowtop's counts are n/a the comparison is skipped.
#
# Usage (as root): bash internal/bench/live.sh
#   BENCH_COUNT=N   rounds (default 3)
#   BENCH_LIMIT=N   replay only the first N packets of the capture (default: all)
# Needs: go, ip (iproute2), tcpreplay, tcpdump; ethtool is used if present.
set -euo pipefail

die() { echo "bench-live: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespace, veth pair, packet capture)"
for tool in go ip tcpreplay tcpdump; do
	command -v "$tool" >/dev/null || die "missing tool: $tool"
done
count=${BENCH_COUNT:-3}
limit=${BENCH_LIMIT:-}
[[ $count =~ ^[1-9][0-9]*$ ]] || die "BENCH_COUNT=$count: want a positive number"
[[ -z $limit || $limit =~ ^[1-9][0-9]*$ ]] || die "BENCH_LIMIT=$limit: want a positive number"

cd "$(dirname "$0")/../.."

NS=ft-bench-$$
SND=ftbs$$ # host end: tcpreplay sends here
RCV=ftbr$$ # peer end, inside $NS: the capturers listen here
work=$(mktemp -d /tmp/ft-bench-live.XXXXXX)
cap_pid= # the running capturer
rep_pid= # the running tcpreplay

cleanup() {
	set +e
	for p in $cap_pid $rep_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip link del "$SND" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- flowtop, the capture, the link ----------------------------------------

echo "building flowtop"
CGO_ENABLED=0 go build -o "$work/flowtop" ./cmd/flowtop

pcap=${TMPDIR:-/tmp}/flowtop-bench/many.pcap
go run ./internal/benchgen/cmd/benchgen -workload many -seed 1 -o "$pcap"

# flowtop's default ring buffer, in KiB for tcpdump -B: from the --buffer line of
# `flowtop -h`, e.g. "... (default 32MiB)".
buffer_kib=
help=$("$work/flowtop" -h 2>&1 || true)
if grep -qE '^ +-buffer( |$)' <<<"$help"; then
	buffer_kib=$(awk '
		/^ +-/ { in_buffer = ($1 == "-buffer") }
		in_buffer && match($0, /\(default [0-9.]+ ?[A-Za-z]*\)/) {
			s = substr($0, RSTART + 9, RLENGTH - 10)
			n = s + 0; u = s; sub(/^[0-9. ]+/, "", u)
			f["B"] = 1 / 1024; f[""] = 1 / 1024
			f["K"] = 1; f["KB"] = 1; f["KiB"] = 1; f["k"] = 1; f["kB"] = 1
			f["M"] = 1024; f["MB"] = 1024; f["MiB"] = 1024
			f["G"] = 1048576; f["GB"] = 1048576; f["GiB"] = 1048576
			if (u in f) printf "%d\n", n * f[u]
			exit
		}' <<<"$help")
	[ -n "$buffer_kib" ] || echo "note: flowtop has --buffer, but its default size could not be read from -h; tcpdump-B skipped"
else
	echo "note: flowtop has no --buffer flag; tcpdump-B skipped"
fi

ip netns add "$NS"
ip link add "$SND" type veth peer name "$RCV" netns "$NS"
# No addresses, no link-local IPv6: the link sends nothing of its own. A large
# MTU, so that no frame of the capture is too long for the veth.
ip link set "$SND" mtu 9000 addrgenmode none up
ip -n "$NS" link set "$RCV" mtu 9000 addrgenmode none up
if command -v ethtool >/dev/null; then
	# Deliver every frame as sent (no merging on the receive side).
	ip netns exec "$NS" ethtool -K "$RCV" gro off 2>/dev/null || true
fi
rcv_index=$(ip netns exec "$NS" cat "/sys/class/net/$RCV/ifindex")

# --- one run -----------------------------------------------------------------

# bound PID: does process PID have a running packet socket bound to $RCV?
# (/proc/net/packet of the namespace: sk RefCnt Type Proto Iface R Rmem User Inode)
bound() {
	local inodes
	inodes=$(for fd in /proc/"$1"/fd/*; do readlink "$fd"; done 2>/dev/null |
		sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
	[ -n "$inodes" ] || return 1
	ip netns exec "$NS" awk -v idx="$rcv_index" -v inodes=" $inodes" \
		'NR > 1 && $5 == idx && $6 == 1 && index(inodes, " " $9 " ") { found = 1 } END { exit !found }' /proc/net/packet
}

# wait_ready NAME PID LOG: until the capturer's socket is bound (and tcpdump has
# said it is listening), at most 10 s.
wait_ready() {
	local name=$1 pid=$2 log=$3
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "$name exited before capturing"; }
		if bound "$pid" && { [ "${name#tcpdump}" = "$name" ] || grep -q "listening on" "$log"; }; then
			return 0
		fi
		sleep 0.05
	done
	cat "$log" >&2
	die "$name did not start capturing within 10 s"
}

# run_one ROUND NAME: one capture of the replay; appends a row to $work/rows.
run_one() {
	local round=$1 name=$2 log=$work/$2.$1.log replay=$work/replay.$2.$1.log
	local -a cmd
	case $name in
	flowtop) cmd=("$work/flowtop" --headless -i "$RCV" -w /dev/null) ;;
	flowtop-2M) cmd=("$work/flowtop" --headless --buffer 2MiB -i "$RCV" -w /dev/null) ;;
	tcpdump) cmd=(tcpdump -i "$RCV" -w /dev/null) ;;
	tcpdump-B) cmd=(tcpdump -B "$buffer_kib" -i "$RCV" -w /dev/null) ;;
	esac
	# ip execs the capturer: $! is its pid.
	ip netns exec "$NS" "${cmd[@]}" >/dev/null 2>"$log" &
	cap_pid=$!
	wait_ready "$name" "$cap_pid" "$log"

	tcpreplay --topspeed ${limit:+--limit="$limit"} -i "$SND" "$pcap" >"$replay" 2>&1 &
	rep_pid=$!
	if ! wait "$rep_pid"; then
		rep_pid=
		cat "$replay" >&2
		die "tcpreplay failed"
	fi
	rep_pid=

	# The last packets may still sit in the receive backlog or the capturer's
	# queue; the kernel counts them as received only once they reach its socket.
	sleep 0.5
	kill -INT "$cap_pid"
	local st=0
	wait "$cap_pid" || st=$?
	cap_pid=
	[ "$st" = 0 ] || { echo "warning: $name exited with status $st:" >&2; tail -n 5 "$log" >&2; }

	local sent pps recv drop
	sent=$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' "$replay" | head -n 1)
	pps=$(sed -n 's/^Rated:.*, \([0-9.]*\) pps.*/\1/p' "$replay" | head -n 1)
	if [ "${name#flowtop}" != "$name" ]; then
		local line
		line=$(grep -E "^flowtop: $RCV: [0-9]+ packets received, [0-9]+ dropped by the kernel$" "$log" | tail -n 1 || true)
		recv=$(sed -n 's/.*: \([0-9]*\) packets received, .*/\1/p' <<<"$line")
		drop=$(sed -n 's/.*received, \([0-9]*\) dropped.*/\1/p' <<<"$line")
	else
		recv=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$log" | tail -n 1)
		drop=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$log" | tail -n 1)
	fi
	echo "$round $name ${sent:-n/a} ${recv:-n/a} ${drop:-n/a} ${pps:-n/a}" >>"$work/rows"
}

# --- the rounds ----------------------------------------------------------------

tools=(flowtop flowtop-2M tcpdump)
[ -n "$buffer_kib" ] && tools+=(tcpdump-B)
echo "replaying $pcap${limit:+ (first $limit packets)} into $SND, capturing on $RCV in netns $NS; $count rounds"
for round in $(seq "$count"); do
	order=("${tools[@]}")
	if ((round % 2 == 0)); then
		order=()
		for ((i = ${#tools[@]} - 1; i >= 0; i--)); do order+=("${tools[i]}"); done
	fi
	for name in "${order[@]}"; do
		echo "round $round: $name"
		run_one "$round" "$name"
	done
done

# --- the table -------------------------------------------------------------------

echo
[ -n "$buffer_kib" ] && echo "tcpdump-B: tcpdump -B $buffer_kib (KiB), flowtop's default buffer"
awk -v tools="${tools[*]}" '
function pct(d, s) { return (d == "n/a" || s == "n/a" || s == 0) ? "n/a" : sprintf("%.3f", 100 * d / s) }
# num formats a count or rate: whole numbers as such, others with one decimal
function num(x) { return x == "n/a" ? x : (x == int(x) ? sprintf("%d", x) : sprintf("%.1f", x)) }
function row(label, tool, s, r, d, p) {
	printf "%-8s %-10s %10s %10s %10s %8s %12s\n", label, tool, num(s), num(r), num(d), pct(d, s), num(p == "n/a" ? p : int(p + 0.5))
}
# median of the numeric values in v[1..n] (n/a values are left out); "n/a" if none
function median(v, n,    a, m, i, j, t) {
	m = 0
	for (i = 1; i <= n; i++) if (v[i] != "n/a") a[++m] = v[i] + 0
	if (m == 0) return "n/a"
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
BEGIN { printf "%-8s %-10s %10s %10s %10s %8s %12s\n", "run", "tool", "sent", "received", "dropped", "drop %", "replay pps" }
{
	row("round " $1, $2, $3, $4, $5, $6)
	k = $2; n[k]++
	sent[k, n[k]] = $3; recv[k, n[k]] = $4; drop[k, n[k]] = $5; pps[k, n[k]] = $6
}
END {
	split(tools, ts, " ")
	for (i = 1; i in ts; i++) {
		k = ts[i]
		delete v1; delete v2; delete v3; delete v4
		for (j = 1; j <= n[k]; j++) { v1[j] = sent[k, j]; v2[j] = recv[k, j]; v3[j] = drop[k, j]; v4[j] = pps[k, j] }
		row("median", k, median(v1, n[k]), median(v2, n[k]), median(v3, n[k]), median(v4, n[k]))
		print k, median(v3, n[k]) > "/dev/stderr"
	}
}' "$work/rows" 2>"$work/medians"

ft=$(awk '$1 == "flowtop" { print $2 }' "$work/medians")
td=$(awk '$1 == "tcpdump" { print $2 }' "$work/medians")
echo
if [ "$ft" = n/a ]; then
	echo "flowtop printed no packet counts (its 'flowtop: $RCV: N packets received, M dropped by the kernel' line is missing): drops not compared"
elif [ "$td" = n/a ]; then
	echo "tcpdump printed no packet counts: drops not compared"
elif awk -v f="$ft" -v t="$td" 'BEGIN { exit !(f > t) }'; then
	echo "FAIL: flowtop's median drops ($ft) exceed tcpdump's ($td)"
	exit 1
else
	echo "ok: flowtop's median drops ($ft) do not exceed tcpdump's ($td)"
fi
