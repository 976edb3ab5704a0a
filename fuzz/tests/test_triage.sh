#!/usr/bin/env bash
# test_triage.sh - the test of scripts/fuzz-triage.sh, on crashme (fuzz/tests/crashme.c, a
# target with known bugs). `make triage-test` builds crashme three ways and runs it.
#
#   fuzz/tests/test_triage.sh REPLAY-BIN LIBFUZZER-BIN [AFL-BIN|-]
#
# It writes crash files into a temporary folder and checks what triage makes of them:
#   1. two inputs of each of two bugs and a clean input: exactly two signatures (a heap
#      overflow, a signed overflow), each with a report, both of its inputs copied, a minimised
#      input smaller than either original that still gives the same kind; the clean input
#      under not-reproduced/; the originals untouched; exit status 1
#   2. the same again: the same signatures, the same minimised inputs, the same summary
#   3. two heap overflows in two functions (same kind, other frames) stay apart; a null read,
#      a leak, a failed assert and a hang are classified as such
#   4. only clean inputs, and an empty folder: no signature, exit status 0
#   5. bad usage exits 2, a missing build 3
#   6. (with AFL-BIN) step 1 again with --engine afl: afl-tmin minimises
# Every failed check prints what it expected and what it got. Takes about 30 s.
#
# Exit status: 0 all checks passed, 1 a check failed, 2 bad usage, 3 a missing tool or build.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 REPLAY-BIN LIBFUZZER-BIN [AFL-BIN|-]" >&2
    exit 2
fi
replay_bin=$1 lf_bin=$2 afl_bin=${3:--}
for b in "$replay_bin" "$lf_bin"; do
    [ -x "$b" ] || { echo "test_triage: $b is not built" >&2; exit 3; }
done
[ "$afl_bin" = - ] || [ -x "$afl_bin" ] || { echo "test_triage: $afl_bin is not built" >&2; exit 3; }
root=$(cd "$(dirname "$0")/../.." && pwd)
triage=$root/scripts/fuzz-triage.sh
[ -x "$triage" ] || { echo "test_triage: $triage is missing" >&2; exit 3; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-triage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0

check() { # check WHAT EXPECTED GOT
    checks=$((checks + 1))
    if [ "$2" = "$3" ]; then
        echo "  ok   $1"
    else
        echo "  FAIL $1: expected '$2', got '$3'"
        failures=$((failures + 1))
    fi
}

# run_triage NAME OUT [ARGS...]: runs triage on crashme; its exit status in $rc, output in
# $tmp/NAME.log.
run_triage() {
    local name=$1 out=$2
    shift 2
    rc=0
    "$triage" --target crashme --replay-bin "$replay_bin" --libfuzzer-bin "$lf_bin" \
        --out "$out" --attempts 2 --minimize-time 2 "$@" > "$tmp/$name.log" 2>&1 || rc=$?
}

sig_dirs() { # the signature folders under $1, by name
    find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E '^[0-9a-f]{12}$' | sort || true
}
kind_of() { sed -n 's/^kind: *//p' "$1/report.txt"; }
size_of() { stat -c %s "$1"; }
inputs_of() { find "$1/inputs" -type f -printf '%f\n' | sort | paste -sd ' '; }

# ---- 1. two bugs, two inputs each, and a clean input ----
echo "1. two bugs x two inputs + a clean input"
crashes=$tmp/crashes
mkdir -p "$crashes"
printf 'H%s' "first heap overflow input, thirty-odd bytes" > "$crashes/crash-heap-a"
printf 'H%s' "another one" > "$crashes/crash-heap-b"
printf 'U\177%s' "signed overflow, long tail" > "$crashes/crash-ubsan-a"
printf 'U\377%s' "short" > "$crashes/crash-ubsan-b"
printf 'harmless' > "$crashes/crash-clean"
(cd "$crashes" && sha1sum -- *) > "$tmp/originals.sha1"

out=$tmp/triage
run_triage one "$out" "$crashes"
check "exit status with crashes" 1 "$rc"
t=$out/crashme
check "unique signatures" 2 "$(sig_dirs "$t" | wc -l)"
heap='' ubsan=''
for h in $(sig_dirs "$t"); do
    case $(kind_of "$t/$h") in
    heap-buffer-overflow) heap=$t/$h ;;
    signed-integer-overflow) ubsan=$t/$h ;;
    *) check "kind of $h" "heap-buffer-overflow or signed-integer-overflow" "$(kind_of "$t/$h")" ;;
    esac
done
check "a heap-buffer-overflow signature" yes "$([ -n "$heap" ] && echo yes || echo no)"
check "a signed-integer-overflow signature" yes "$([ -n "$ubsan" ] && echo yes || echo no)"
for d in "$heap" "$ubsan"; do
    [ -n "$d" ] || continue
    k=$(kind_of "$d")
    check "$k: report.txt" yes "$([ -s "$d/report.txt" ] && echo yes || echo no)"
    # the target's frames only: no sanitizer, libFuzzer or libc frame among the top three
    case $k in
    heap-buffer-overflow) want="$k in crash_heap_read < LLVMFuzzerTestOneInput" ;;
    *) want="$k in crash_signed_add < LLVMFuzzerTestOneInput" ;;
    esac
    check "$k: signature" "$want" "$(sed -n 's/^signature: //p' "$d/report.txt")"
    check "$k: report has the sanitizer output" yes \
        "$(grep -q "SUMMARY: .*Sanitizer: $k" "$d/report.txt" && echo yes || echo no)"
    check "$k: report has a replay command" yes \
        "$(grep -q "$replay_bin .*/minimized" "$d/report.txt" && echo yes || echo no)"
    for f in "$d"/inputs/*; do
        check "$k: $(basename "$f") is an exact copy" yes \
            "$(cmp -s "$f" "$crashes/$(basename "$f")" && echo yes || echo no)"
        check "$k: minimised smaller than $(basename "$f")" yes \
            "$([ "$(size_of "$d/minimized")" -lt "$(size_of "$f")" ] && echo yes || echo no)"
    done
    # the minimised input, run on its own, still shows the bug
    again=$(UBSAN_OPTIONS=report_error_type=1 "$lf_bin" -runs=1 "$d/minimized" 2>&1 || true)
    check "$k: minimised input still gives $k" yes \
        "$(echo "$again" | grep -q "SUMMARY: .*Sanitizer: $k" && echo yes || echo no)"
done
[ -n "$heap" ] && check "heap inputs" "crash-heap-a crash-heap-b" "$(inputs_of "$heap")"
[ -n "$ubsan" ] && check "ubsan inputs" "crash-ubsan-a crash-ubsan-b" "$(inputs_of "$ubsan")"
check "clean input under not-reproduced/" yes \
    "$(cmp -s "$t/not-reproduced/crash-clean" "$crashes/crash-clean" && echo yes || echo no)"
check "summary.txt" yes "$(grep -q '2 unique crash' "$t/summary.txt" && echo yes || echo no)"
check "summary table on stdout" 2 "$(grep -cE '^  [0-9a-f]{12}  ' "$tmp/one.log")"
check "originals intact" "$(cat "$tmp/originals.sha1")" "$(cd "$crashes" && sha1sum -- *)"
check "no leftovers of the run" "" "$(find "$out" -mindepth 1 -maxdepth 1 -name '.crashme.*' ! -name '.crashme.lock')"

# ---- 2. idempotent ----
echo "2. the same again"
cp -r "$t" "$tmp/first"
run_triage two "$out" "$crashes"
check "exit status" 1 "$rc"
check "same signatures" "$(sig_dirs "$tmp/first" | paste -sd ' ')" "$(sig_dirs "$t" | paste -sd ' ')"
for h in $(sig_dirs "$tmp/first"); do
    check "$h: same minimised input" yes \
        "$(cmp -s "$tmp/first/$h/minimized" "$t/$h/minimized" && echo yes || echo no)"
    check "$h: same inputs" "$(inputs_of "$tmp/first/$h")" "$(inputs_of "$t/$h")"
done
check "same summary.txt" yes "$(cmp -s "$tmp/first/summary.txt" "$t/summary.txt" && echo yes || echo no)"
check "originals intact" "$(cat "$tmp/originals.sha1")" "$(cd "$crashes" && sha1sum -- *)"

# ---- 3. same kind elsewhere stays apart; the other kinds ----
echo "3. kinds, and one kind in two places"
more=$tmp/more
mkdir -p "$more"
printf 'H%s' "read past the end" > "$more/heap-read"
printf 'S%s' "write past the end" > "$more/heap-write"
printf 'N%s' "null" > "$more/null"
printf 'L%s' "leak this" > "$more/leak"
printf 'A%s' "assert" > "$more/assert"
printf 'T%s' "spin" > "$more/spin"
run_triage three "$tmp/triage3" --timeout 1 --attempts 1 --minimize-time 1 "$more"
check "exit status" 1 "$rc"
t3=$tmp/triage3/crashme
got=$(for h in $(sig_dirs "$t3"); do echo "$(kind_of "$t3/$h") $(inputs_of "$t3/$h")"; done | sort | paste -sd ',')
check "kinds and inputs" \
    "assert assert,heap-buffer-overflow heap-read,heap-buffer-overflow heap-write,leak leak,null-pointer-use null,timeout spin" \
    "$got"

# ---- 4. nothing reproduces ----
echo "4. clean inputs only"
clean=$tmp/clean
mkdir -p "$clean" "$tmp/empty"
printf 'harmless' > "$clean/a"
printf 'Z' > "$clean/b"
run_triage four "$tmp/triage4" "$clean"
check "exit status, clean inputs" 0 "$rc"
check "no signature" 0 "$(sig_dirs "$tmp/triage4/crashme" | wc -l)"
check "both under not-reproduced/" "a b report.txt" \
    "$(find "$tmp/triage4/crashme/not-reproduced" -type f -printf '%f\n' | sort | paste -sd ' ')"
run_triage five "$tmp/triage5" "$tmp/empty"
check "exit status, empty folder" 0 "$rc"

# ---- 5. usage and missing builds ----
echo "5. usage errors and missing builds"
rc=0
"$triage" --replay-bin "$replay_bin" --libfuzzer-bin "$lf_bin" "$clean" > /dev/null 2>&1 || rc=$?
check "no --target" 2 "$rc"
run_triage six "$tmp/triage6" "$tmp/does-not-exist"
check "missing input" 2 "$rc"
run_triage seven "$tmp/triage7" --frames x "$clean"
check "bad --frames" 2 "$rc"
rc=0
"$triage" --target crashme --replay-bin "$replay_bin" --libfuzzer-bin "$tmp/no-such-build" \
    --out "$tmp/triage8" "$clean" > /dev/null 2>&1 || rc=$?
check "missing sanitizer build" 3 "$rc"
check "originals intact after all runs" "$(cat "$tmp/originals.sha1")" "$(cd "$crashes" && sha1sum -- *)"

# ---- 6. AFL++ ----
if [ "$afl_bin" != - ] && command -v afl-tmin > /dev/null; then
    echo "6. --engine afl"
    run_triage afl "$tmp/triage-afl" --engine afl --afl-bin "$afl_bin" "$crashes"
    check "exit status" 1 "$rc"
    ta=$tmp/triage-afl/crashme
    check "same signatures as libFuzzer's" "$(sig_dirs "$tmp/first" | paste -sd ' ')" \
        "$(sig_dirs "$ta" | paste -sd ' ')"
    for h in $(sig_dirs "$ta"); do
        check "$h: afl-tmin minimised with the same signature" 1 \
            "$(grep -c '^  afl-tmin.*gives the same signature' "$ta/$h/report.txt")"
        for f in "$ta/$h"/inputs/*; do
            check "$h: minimised smaller than $(basename "$f")" yes \
                "$([ "$(size_of "$ta/$h/minimized")" -lt "$(size_of "$f")" ] && echo yes || echo no)"
        done
    done
else
    echo "6. --engine afl: skipped (no AFL++ build of crashme or no afl-tmin)"
fi

if [ "$failures" -gt 0 ]; then
    echo "test_triage: $failures of $checks checks failed (triage logs were in $tmp)"
    for l in "$tmp"/*.log; do
        echo "--- $(basename "$l")"
        tail -n 15 "$l"
    done
    exit 1
fi
echo "test_triage: all $checks checks passed"
