#!/bin/sh
# bench_store.sh - the encrypted store's figures next to this machine's
# limits measured in the same run: `openssl speed -evp aes-256-gcm` and a
# plain SQLite loop (one 2 KB row per transaction, the store's pragmas).
# Prints figures; never fails on a number.
set -u
cd "$(dirname "$0")/../.."
B=build/rel/bench/bench_store
[ -x "$B" ] || { echo "bench_store: $B not built (make bench)"; exit 1; }
# On the disk under build/, not a tmpfs: fsync must cost what it costs.
D=$(mktemp -d "$PWD/build/bench-store.XXXXXX")
trap 'rm -rf "$D"' EXIT

echo "--- limits of this machine"
ossl=$(openssl speed -evp aes-256-gcm -seconds 1 2>/dev/null | awk '/^AES-256-GCM/ { v = $NF } END { sub("k", "", v); printf "%.0f", v / 1000 }')
echo "openssl speed -evp aes-256-gcm (16 KB blocks): $ossl MB/s"
plain1=$("$B" plain "$D" 400)
echo "$plain1"

echo "--- group commit, 2 KB messages (encrypted, sealed DK, one recipient)"
echo "    ahead: DKs sealed by smtpd's background thread (keys_pub_seal_ahead); inline: by each writer"
for t in 1 8 64; do
	for how in ahead inline; do
		mkdir "$D/c$t$how"
		case $t in 1) n=400 ;; 8) n=1600 ;; 64) n=6400 ;; esac
		"$B" commit "$D/c$t$how" $t $n $how
	done
done | tee "$D/commits"
rm -f "$D/plain.db"*
plain2=$("$B" plain "$D" 400)
echo "$plain2 (again, after)"

echo "--- encryption, no I/O: inline (DK + crypto_box_seal + AES-256-GCM chunks) and with the DK sealed ahead"
"$B" crypt 2048 4000 | tee "$D/c2k"
"$B" crypt 1048576 100 | tee "$D/c1m"
"$B" crypt 20971520 5 | tee "$D/c20m"
echo "--- whole write path, durable"
mkdir "$D/w1" "$D/w20"
"$B" write "$D/w1" 1048576 30
"$B" write "$D/w20" 20971520 3

echo "--- against the targets"
rate() { awk '{ for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^(msgs|rows)\/s/) { print $i; exit } }'; }
p1=$(echo "$plain1" | rate); p2=$(echo "$plain2" | rate)
c1=$(grep 'threads=1 ahead' "$D/commits" | rate)
c1i=$(grep 'threads=1 inline' "$D/commits" | rate)
c64=$(grep 'threads=64 ahead' "$D/commits" | rate)
c64i=$(grep 'threads=64 inline' "$D/commits" | rate)
cpu64=$(sed -n 's/.*threads=64 ahead.*CPU \([0-9.]*\) us per msg.*/\1/p' "$D/commits")
ncpu=$(nproc)
mb1=$(awk '{ print $3 }' "$D/c1m")
raw1=$(sed -n 's/.*bare EVP GCM \([0-9.]*\) MB.*/\1/p' "$D/c1m")
ring1m=$(sed -n 's/.*sealed ahead: \([0-9.]*\) us.*/\1/p' "$D/c1m")
us2k=$(sed -n 's/.*(\([0-9.]*\) us per message.*/\1/p' "$D/c2k")
ring2k=$(sed -n 's/.*sealed ahead: \([0-9.]*\) us.*/\1/p' "$D/c2k")
last2k=$(sed -n 's/.*last chunk alone \([0-9.]*\) us.*/\1/p' "$D/c2k")
ossl2=$(openssl speed -evp aes-256-gcm -seconds 1 2>/dev/null | awk '/^AES-256-GCM/ { v = $NF } END { sub("k", "", v); printf "%.0f", v / 1000 }')
echo "openssl speed again: $ossl2 MB/s"
[ "$ossl2" -gt "$ossl" ] && ossl=$ossl2
awk -v p1="$p1" -v p2="$p2" -v c1="$c1" -v c1i="$c1i" -v c64="$c64" -v c64i="$c64i" -v mb1="$mb1" -v ossl="$ossl" -v us="$us2k" -v ring="$ring2k" -v last="$last2k" -v raw1="$raw1" -v ring1m="$ring1m" -v cpu64="$cpu64" -v ncpu="$ncpu" 'BEGIN {
	p = (p1 + p2) / 2
	printf "encryption on the writer path of a 2 KB message (sealed DK from the ring + GCM): %.2f us = %.1f%% of its %.0f us commit (target < 10%%)\n", ring, 100 * ring * c1 / 1e6, 1e6 / c1
	printf "  the seal itself, done ahead by one background thread: %.0f us of CPU per message (inline it would be %.1f%% of a %.0f us commit)\n", us - ring, 100 * us * c1i / 1e6, 1e6 / c1i
	printf "  of which after end-of-data (the last chunk): %.2f us = %.2f%%\n", last, 100 * last * c1 / 1e6
	mbr = 1048576 / ring1m
	printf "1 MB encryption as smtpd does it (DK sealed ahead): %.0f MB/s = %.0f%% of openssl speed %.0f MB/s (best of two runs) (target >= 70%%)\n", mbr, 100 * mbr / ossl, ossl
	printf "  with the seal inline: %.0f MB/s = %.0f%%; a bare EVP AES-256-GCM loop alongside: %.0f MB/s\n", mb1, 100 * mb1 / ossl, raw1
	printf "64 writers: %.0f msgs/s = %.1fx the plain loop (%.0f rows/s, mean of before/after) (target >= 5x); each writer sealing inline: %.0f msgs/s = %.1fx\n", c64, c64 / p, p, c64i, c64i / p
	if (cpu64 > 0)
		printf "  CPU-bound: %.0f us of CPU per message, so %d cores can commit at most %.0f msgs/s = %.1fx the plain loop\n", cpu64, ncpu, ncpu * 1e6 / cpu64, ncpu * 1e6 / cpu64 / p
}'
