#!/usr/bin/env bash
# memory.sh — flowtop's peak memory on a flood of unique SYNs, measured from
# outside. `make bench-memory` runs it.
#
# It generates SYNS SYNs from unique 5-tuples, 1 µs apart (internal/benchgen
# -syns), then reads them headless, once with the default memory budget
# ([limits] memory, 1 GiB) and once unbounded ([limits] memory = 0),
# alternating, and prints each run's peak RSS (/usr/bin/time), wall time, the
# records in conn.log and the evictions.
#
# Usage: bash internal/bench/memory.sh
#   SYNS=N     SYNs (default 3000000)
#   ROUNDS=N   rounds (default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
syns=${SYNS:-3000000}
rounds=${ROUNDS:-1}
dir=${BENCH_DIR:-/tmp/flowtop-bench}
mkdir -p "$dir"
trace="$dir/syn-$syns.pcap"
[ -f "$trace" ] || go run ./internal/benchgen/cmd/benchgen -syns "$syns" -o "$trace"
go build -o "$dir/flowtop" ./cmd/flowtop
printf '[limits]\nmemory = 0\n' > "$dir/unbounded.toml"
printf '' > "$dir/default.toml"
for r in $(seq "$rounds"); do
	for cfg in default unbounded; do
		/usr/bin/time -v -o "$dir/time.txt" "$dir/flowtop" --config "$dir/$cfg.toml" -r "$trace" --headless -v -w "$dir/conn.log" 2> "$dir/stderr.txt"
		rss=$(awk -F: '/Maximum resident/ {print $2+0}' "$dir/time.txt")
		wall=$(awk '/Elapsed/ {print $NF}' "$dir/time.txt")
		records=$(grep -vc '^#' "$dir/conn.log")
		evicted=$(sed -n 's/.*(\([0-9]*\) evicted).*/\1/p' "$dir/stderr.txt")
		printf '%-10s peak RSS %5d MiB  wall %s  %d records in conn.log  %s evicted\n' "$cfg" $((rss / 1024)) "$wall" "$records" "$evicted"
	done
done
