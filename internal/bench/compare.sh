#!/usr/bin/env bash
# Compares the tracker's throughput at another revision with the working tree's, side
# by side: BenchmarkFlowtop of both, alternately, BENCH_COUNT times each (default 5),
# on the same generated captures; prints each side's median and the ratio.
#
# Usage: internal/bench/compare.sh REV   (e.g. a commit before a change)
#
# BENCH_PKG, BENCH_FILTER, BENCH_TIME and BENCH_UNIT choose other benchmarks (the
# package, the -bench pattern, -benchtime, and the figure compared: pkts/s or ns/op).
set -euo pipefail

rev=${1:?usage: compare.sh REV}
cd "$(dirname "$0")/../.."
count=${BENCH_COUNT:-5}
old=$(mktemp -d)
out=$(mktemp)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"; rm -f "$out"' EXIT
git worktree add --detach "$old" "$rev" >/dev/null

pkg=${BENCH_PKG:-./internal/bench}
unit=${BENCH_UNIT:-pkts/s}
(cd "$old" && go test -c -o "$old/old.test" "$pkg")
go test -c -o "$old/new.test" "$pkg"
for i in $(seq "$count"); do
	for side in old new; do
		"$old/$side.test" -test.run '^$' -test.bench "${BENCH_FILTER:-^BenchmarkFlowtop$}" -test.benchtime "${BENCH_TIME:-1x}" |
			sed -n "s/^Benchmark/$side /p" | tee -a "$out"
	done
done

echo
awk -v unit="$unit" '
{
	name = $2; sub(/-[0-9]+$/, "", name)
	for (i = 4; i <= NF; i++) if ($i == unit) vals[$1, name, ++n[$1, name]] = $(i - 1)
	names[name] = 1
}
function median(side, name,    m, i, j, t, a) {
	m = n[side, name]
	for (i = 1; i <= m; i++) a[i] = vals[side, name, i] + 0
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	for (name in names) {
		o = median("old", name); w = median("new", name)
		if (unit == "pkts/s")
			printf "%-24s '"$rev"' %.3f M pkts/s, working tree %.3f M pkts/s, ratio %.3f\n", name ":", o / 1e6, w / 1e6, w / o
		else
			printf "%-28s '"$rev"' %.2f %s, working tree %.2f %s, ratio %.3f\n", name ":", o, unit, w, unit, w / o
	}
}
' "$out" | sort
