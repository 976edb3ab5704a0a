#!/usr/bin/env bash
# bench-fuzz.sh - tlsrig's server and client fuzz targets against OpenSSL's own fuzz/server and
# fuzz/client: executions per second and the libssl code both pairs reach in the same time.
#
#   scripts/bench-fuzz.sh [--seconds N] [--build DIR] [--out DIR]
#
# Both sides link one and the same static OpenSSL: scripts/build-openssl.sh fuzz
# --with-openssl-fuzzers builds it (ASan + UBSan + libFuzzer coverage) from Debian's source
# package together with OpenSSL's two targets, and our targets are linked against that prefix.
# Each pair (ours, theirs) then runs at the same time for N seconds (default 600), pinned to
# one core each, under the same ASAN_OPTIONS: ours from a copy of the committed corpus and our
# .options, theirs from an empty corpus (OpenSSL's corpora are not in its source package) with
# libFuzzer's defaults. Server and client pairs run one after the other.
#
# Speed is libFuzzer's own final figure (stat::average_exec_per_sec: executions over the whole
# run). Coverage is measured afterwards, the same way for both: every corpus a run ended with
# is replayed through source-coverage builds (the cov flavor: our targets' replay builds and
# OpenSSL's targets built with -fprofile-instr-generate) by scripts/fuzz-coverage.sh, and the
# covered branches and regions of OpenSSL's ssl/ directory are counted for our two targets
# together and for theirs together.
#
# Prints one table, also written to OUT/results.txt (OUT defaults to BUILD/bench-fuzz).
# Exit status: 0 measured, 1 a run failed (its log is named), 2 usage, 3 a tool is missing.
set -euo pipefail

seconds=600 build=build out=''
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=${2:-}; shift 2 ;;
    --build) build=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--build DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
case $seconds in '' | *[!0-9]*) echo "bench-fuzz: --seconds takes a number" >&2; exit 2 ;; esac
[ "$seconds" -ge 5 ] || { echo "bench-fuzz: --seconds must be at least 5" >&2; exit 2; }
out=${out:-$build/bench-fuzz}
cd "$(dirname "$0")/.."

for tool in taskset make; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench-fuzz: $tool is missing" >&2; exit 3; }
done

say() { echo "bench-fuzz: $*" >&2; }

# ---- builds ----
say "instrumented OpenSSL with its own fuzz targets (cached after the first build)"
prefix=$(scripts/build-openssl.sh fuzz --with-openssl-fuzzers | tail -n 1) || exit 3
cov_prefix=$(scripts/build-openssl.sh cov --with-openssl-fuzzers | tail -n 1) || exit 3
theirs_bin=$prefix/bin/openssl-fuzz
theirs_cov=$cov_prefix/bin/openssl-fuzz
for t in server client; do
    for b in "$theirs_bin-$t" "$theirs_cov-$t"; do
        [ -x "$b" ] || { echo "bench-fuzz: $b was not built" >&2; exit 3; }
    done
done

# Our targets against the very same OpenSSL prefix, in a build directory of their own so the
# everyday fuzz builds keep theirs.
bbuild=$build/bench-fuzz-build
say "our targets, linked against $prefix"
make --no-print-directory -s BUILD="$bbuild" FUZZ_OPENSSL="$prefix" \
    "$bbuild/fuzz/libfuzzer/server" "$bbuild/fuzz/libfuzzer/client" >&2
make --no-print-directory -s BUILD="$build" "$build/fuzz/cov/server" "$build/fuzz/cov/client" >&2
ours_bin=$bbuild/fuzz/libfuzzer
ours_cov=$build/fuzz/cov

# ---- runs ----
rm -rf "$out"
mkdir -p "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32:malloc_context_size=5}

# run NAME CPU BIN CORPUS FLAGS... - one campaign in the background; sets $! for the caller.
run() {
    local name=$1 cpu=$2 bin=$3 corpus=$4
    shift 4
    mkdir -p "$out/$name/artifacts"
    taskset -c "$cpu" "$bin" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$out/$name/artifacts/" "$@" "$corpus" >"$out/$name/log" 2>&1 &
}

ncpu=$(nproc)
cpu_b=$((ncpu > 1 ? 1 : 0))
for t in server client; do
    mkdir -p "$out/ours-$t/corpus" "$out/theirs-$t/corpus"
    cp corpus/"$t"/* "$out/ours-$t/corpus/"
    say "$t: ours and OpenSSL's, ${seconds} s each, side by side"
    mapfile -t opts < <(scripts/fuzz-options.sh "fuzz/$t.options")
    run "ours-$t" 0 "$ours_bin/$t" "$out/ours-$t/corpus" "${opts[@]}"
    p1=$!
    run "theirs-$t" "$cpu_b" "$theirs_bin-$t" "$out/theirs-$t/corpus"
    p2=$!
    wait "$p1" || say "ours-$t stopped early with status $? (see $out/ours-$t/log)"
    wait "$p2" || say "theirs-$t stopped early with status $? (see $out/theirs-$t/log)"
done

# stat NAME KEY - a libFuzzer final statistic of a run
stat() { sed -n "s/^stat::$2: *//p" "$out/$1/log" | tail -n 1; }
for r in ours-server theirs-server ours-client theirs-client; do
    if [ -z "$(stat "$r" average_exec_per_sec)" ]; then
        tail -n 20 "$out/$r/log" >&2
        echo "bench-fuzz: $r printed no final statistics (log: $out/$r/log)" >&2
        exit 1
    fi
done

# ---- coverage of what each pair ended with ----
say "replaying the final corpora through the coverage builds"
# coverage SIDE SERVER-BIN CLIENT-BIN - libssl coverage of one side's two final corpora
coverage() {
    scripts/fuzz-coverage.sh --out "$out/cov-$1" --bin "$2" --corpus "$out/$1-server/corpus" \
        --bin "$3" --corpus "$out/$1-client/corpus" >"$out/cov-$1.log" 2>&1 ||
        { tail -n 20 "$out/cov-$1.log" >&2; echo "bench-fuzz: coverage of $1 failed" >&2; exit 1; }
}
coverage ours "$ours_cov/server" "$ours_cov/client"
coverage theirs "$theirs_cov-server" "$theirs_cov-client"

/usr/bin/python3 - "$out" "$seconds" <<'EOF' | tee "$out/results.txt"
import json, re, sys
out, seconds = sys.argv[1], sys.argv[2]

def last(run, pattern):
    """the last number |pattern| captures in a run's log"""
    val = None
    for line in open(f"{out}/{run}/log", errors="replace"):
        m = re.search(pattern, line)
        if m:
            val = int(m.group(1))
    return val

def stat(run, key):
    return last(run, rf"^stat::{key}:\s*(\d+)")

def last_cov(run):
    return last(run, r"\bcov: (\d+)")

def libssl(side):
    return json.load(open(f"{out}/cov-{side}/summary.json"))["libssl"]

print(f"fuzz benchmark: {seconds} s per run, one core each, same OpenSSL build")
print(f"{'target':8} {'ours exec/s':>12} {'OpenSSL exec/s':>15} {'ratio':>8}   ours runs / theirs runs")
for t in ("server", "client"):
    o, p = stat(f"ours-{t}", "average_exec_per_sec"), stat(f"theirs-{t}", "average_exec_per_sec")
    ratio = o / p if p else float("inf")
    print(f"{t:8} {o:>12} {p:>15} {ratio:>7.1f}x   "
          f"{stat(f'ours-{t}', 'number_of_executed_units')} / "
          f"{stat(f'theirs-{t}', 'number_of_executed_units')}")
o, p = libssl("ours"), libssl("theirs")
print("libssl (ssl/) coverage, server and client targets together:")
for k in ("branches", "regions", "lines", "functions"):
    oc, pc = o[k]["covered"], p[k]["covered"]
    # the totals differ slightly: each binary links the libssl objects it uses
    print(f"  {k:10} ours {oc:>6} of {o[k]['count']:<6} OpenSSL's {pc:>6} of "
          f"{p[k]['count']:<6} ratio {(oc / pc if pc else float('inf')):.2f}x")
crashes = {r: len(__import__("os").listdir(f"{out}/{r}/artifacts"))
           for r in ("ours-server", "ours-client", "theirs-server", "theirs-client")}
print("libFuzzer edge counters at the end (whole binary, not comparable across builds): "
      + ", ".join(f"{r} {last_cov(r)}" for r in crashes))
print("artifacts (crashes, timeouts, leaks): "
      + ", ".join(f"{r} {n}" for r, n in crashes.items()))
EOF
say "results in $out/results.txt"
