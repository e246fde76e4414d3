#!/usr/bin/env bash
# Compares the tracker's throughput at another revision with the working tree's, side
# by side: BenchmarkFlowtop of both, alternately, BENCH_COUNT times each (default 5),
# on the same generated captures; prints each side's median and the ratio.
#
# Usage: internal/bench/compare.sh REV   (e.g. a commit before a change)
set -euo pipefail

rev=${1:?usage: compare.sh REV}
cd "$(dirname "$0")/../.."
count=${BENCH_COUNT:-5}
old=$(mktemp -d)
out=$(mktemp)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"; rm -f "$out"' EXIT
git worktree add --detach "$old" "$rev" >/dev/null

(cd "$old" && go test -c -o "$old/old.test" ./internal/bench)
go test -c -o "$old/new.test" ./internal/bench
for i in $(seq "$count"); do
	for side in old new; do
		"$old/$side.test" -test.run '^$' -test.bench "${BENCH_FILTER:-^BenchmarkFlowtop$}" -test.benchtime 1x |
			sed -n "s/^Benchmark/$side /p" | tee -a "$out"
	done
done

echo
awk '
{
	name = $2; sub(/-[0-9]+$/, "", name)
	for (i = 5; i <= NF; i += 2) if ($i == "pkts/s") vals[$1, name, ++n[$1, name]] = $(i - 1)
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
		printf "%-24s '"$rev"' %.3f M pkts/s, working tree %.3f M pkts/s, ratio %.3f\n", name ":", o / 1e6, w / 1e6, w / o
	}
}
' "$out"
