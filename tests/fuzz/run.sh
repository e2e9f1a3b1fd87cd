#!/bin/sh
# Runs every libFuzzer target for FUZZ_SECONDS (default 20) each, starting
# from tests/fuzz/corpus/<name>/ (seeds, committed) and a scratch copy for
# what the run finds.  One PASS/FAIL line per target.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-20}
rc=0
for bin in build/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	work=build/fuzz-work/$name
	mkdir -p "$work" "$seeds"
	art=build/fuzz-artifacts/$name/
	mkdir -p "$art"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$art" "$work" "$seeds" >"build/fuzz-work/$name.log" 2>&1; then
		echo "PASS: fuzz-$name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "build/fuzz-work/$name.log" | tail -1))"
	else
		echo "FAIL: fuzz-$name (log build/fuzz-work/$name.log, artifacts $art)"
		tail -30 "build/fuzz-work/$name.log"
		rc=1
	fi
done
exit $rc
