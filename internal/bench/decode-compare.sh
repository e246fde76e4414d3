#!/usr/bin/env bash
# Compares the decoder at another revision with the working tree's, side by side:
# BenchmarkDecode (link, IP and transport headers of one frame, checksum included)
# of both, alternately, BENCH_COUNT times each (default 8); prints each side's median
# ns/op per frame shape and the ratio.
#
# Usage: internal/bench/decode-compare.sh REV   (e.g. a commit before a change)
set -euo pipefail

rev=${1:?usage: decode-compare.sh REV}
cd "$(dirname "$0")/../.."
count=${BENCH_COUNT:-8}
old=$(mktemp -d)
out=$(mktemp)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"; rm -f "$out"' EXIT
git worktree add --detach "$old" "$rev" >/dev/null

(cd "$old" && go test -c -o "$old/old.test" ./tracker)
go test -c -o "$old/new.test" ./tracker
for i in $(seq "$count"); do
	for side in old new; do
		"$old/$side.test" -test.run '^$' -test.bench "${BENCH_FILTER:-^BenchmarkDecode$}" -test.benchtime 1s |
			sed -n "s/^Benchmark/$side /p" | tee -a "$out"
	done
done

echo
awk '
{
	name = $2; sub(/-[0-9]+$/, "", name)
	for (i = 4; i <= NF; i++) if ($i == "ns/op") vals[$1, name, ++n[$1, name]] = $(i - 1)
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
		printf "%-28s '"$rev"' %.2f ns, working tree %.2f ns, ratio %.3f\n", name ":", o, w, w / o
	}
}
' "$out" | sort
