#!/usr/bin/env bash
# Runs the throughput and memory benchmarks of this package and prints, per
# workload, flowtop's and the baseline's packet rates and their ratio, the cost of
# unused extensions (hooks, thresholds, polling), then the memory per open
# connection. Each figure is the median of BENCH_COUNT runs
# (default 3). The benchmark captures are generated on the first run into
# $TMPDIR/flowtop-bench (about 1 GB) and reused afterwards.
#
# Usage: internal/bench/report.sh   (from anywhere; `make bench` calls it)
set -euo pipefail

cd "$(dirname "$0")/../.."
count=${BENCH_COUNT:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

go test -run '^$' -bench . -benchtime 1x -count "$count" ./internal/bench | tee "$out"

echo
awk '
# Benchmark lines: name iterations value unit value unit ...
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)   # GOMAXPROCS suffix
	sub(/^Benchmark/, "", name)
	for (i = 4; i <= NF; i += 2) {
		if ($i == "pkts/s" || $i == "bytes/conn") {
			k = name SUBSEP $i
			vals[k, ++n[k]] = $(i - 1)
		}
	}
}

# median of the values recorded for name and unit; "" when there are none
function median(name, unit,    k, m, i, j, t, a) {
	k = name SUBSEP unit
	m = n[k]
	if (m == 0) return ""
	for (i = 1; i <= m; i++) a[i] = vals[k, i] + 0
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}

function rate(v) { return v == "" ? "n/a" : sprintf("%.3f M pkts/s", v / 1e6) }

END {
	split("many elephants", wls, " ")
	for (w = 1; w <= 2; w++) {
		f = median("Flowtop/" wls[w], "pkts/s")
		b = median("Baseline/" wls[w], "pkts/s")
		ratio = (f != "" && b != "" && b > 0) ? sprintf("%.2f", f / b) : "n/a"
		printf "%-10s flowtop %s, baseline %s, ratio %s\n", wls[w] ":", rate(f), rate(b), ratio
	}
	en = median("Extensions/none", "pkts/s")
	eh = median("Extensions/new-conn-handler", "pkts/s")
	eu = median("Extensions/used-by-1pct", "pkts/s")
	printf "%-10s none %s, NewConn handler %s (ratio %s), 1%% of connections using them %s (ratio to the handler alone %s)\n",
		"extensions:", rate(en), rate(eh), (en != "" && eh != "" && en > 0) ? sprintf("%.2f", eh / en) : "n/a",
		rate(eu), (eh != "" && eu != "" && eh > 0) ? sprintf("%.2f", eu / eh) : "n/a"
	f = median("MemoryPerConn/flowtop", "bytes/conn")
	b = median("MemoryPerConn/baseline", "bytes/conn")
	printf "%-10s flowtop %s bytes/conn, baseline map %s bytes/conn\n", "memory:",
		f == "" ? "n/a" : sprintf("%.0f", f), b == "" ? "n/a" : sprintf("%.0f", b)
}
' "$out"
