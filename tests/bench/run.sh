#!/bin/sh
# Runs every benchmark script tests/bench/bench_*.sh; each prints figures.
# Benchmarks measure; they never fail on a number.
set -u
cd "$(dirname "$0")/../.."
for b in tests/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	echo "=== $(basename "$b" .sh)"
	sh "$b" || echo "(benchmark $b exited $?)"
	echo
done
