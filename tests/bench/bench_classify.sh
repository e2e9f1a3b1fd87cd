#!/bin/sh
# Classifier throughput on one core (MB/s) for 2 KB, 100 KB and 10 MB
# messages; target >= 50 MB/s for text.  Built by `make bench`.
set -u
cd "$(dirname "$0")/../.."
bin=build/rel/bench/bench_classify
if [ ! -x "$bin" ]; then
	echo "bench_classify: $bin not built (make bench)"
	exit 1
fi
if command -v taskset >/dev/null 2>&1; then
	taskset -c 0 "$bin"
else
	"$bin"
fi
