#!/usr/bin/env bash
# bench-conformance.sh TLSRIG_BIN PKI SCENARIOS
# Scenarios per second on one core (runner pinned to CPU 0, one job) and the wall time of
# the whole suite with every core. Prints figures against the targets; it is a measurement,
# so it exits 0 unless the suite itself fails.
set -euo pipefail
bin=$1 pki=$2 dir=$3
count=$("$bin" list "$dir" | wc -l)
now() { date +%s.%N; }

t0=$(now)
taskset -c 0 "$bin" run --pki "$pki" -j 1 "$dir" >/dev/null
t1=$(now)
"$bin" run --pki "$pki" -j 0 "$dir" >/dev/null
t2=$(now)

awk -v n="$count" -v a="$t0" -v b="$t1" -v c="$t2" -v cpus="$(nproc)" 'BEGIN {
    one = b - a; all = c - b; rate = n / one
    printf "conformance suite: %d scenario variants\n", n
    printf "  one core (-j 1, pinned): %.2f s  = %.0f scenarios/s   (target >= 200/s: %s)\n",
           one, rate, (rate >= 200 ? "met" : "NOT met")
    printf "  all %d cores (-j 0):      %.2f s                    (target < 60 s: %s)\n",
           cpus, all, (all < 60 ? "met" : "NOT met")
}'
