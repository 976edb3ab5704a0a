#!/usr/bin/env bash
# fuzz-coverage.sh - source-based coverage (llvm-cov) of fuzz corpora run through
# coverage-instrumented binaries, with OpenSSL's libssl in focus. `make coverage` calls it.
#
#   scripts/fuzz-coverage.sh --target NAME [--build DIR] [--corpus PATH]... [--out DIR]
#   scripts/fuzz-coverage.sh --bin BIN [--runner replay|libfuzzer] --corpus PATH [--corpus ...]
#                            [--bin BIN2 --corpus PATH2 ...] --out DIR
#   common options: [--jobs N] [--timeout SECS] [--batch N] [--no-html] [--keep-raw]
#
# --target NAME uses BUILD/fuzz/cov/NAME (make coverage-build) over corpus/NAME/,
# corpus/regressions/NAME/ and BUILD/fuzz/work/NAME/ (those present), or over the --corpus
# paths given, into BUILD/fuzz/coverage/NAME/. --bin takes any binary built with
# -fprofile-instr-generate -fcoverage-mapping, e.g. OpenSSL's fuzz/server built by
# `scripts/build-openssl.sh cov --with-openssl-fuzzers`; each --corpus (a folder or a file)
# belongs to the --bin before it. All binaries' runs go into one merged profile, and every
# binary is an object of the report, so a function linked into several counts once with the
# counters of all of them.
#
# How inputs run: a forked child leaves with _exit() and never writes its profile, so the
# binaries run in-process, in batches of --batch inputs (default 64), one profile file each
# (LLVM_PROFILE_FILE=OUT/raw/<batch>-%p.profraw), --jobs batches at a time (default 1). Runner
# `replay` (fuzz/replay_main.c: `BIN --no-fork FILE...`; it runs each input twice, so
# execution counts are doubled) or `libfuzzer` (`BIN -timeout=T FILE...`); the default is
# found from the binary. A batch that crashes or hangs writes no profile: its inputs then run
# one by one, and an input that still writes none is listed as failed (stderr, summary.txt,
# summary.json) and left out; the corpus files are only ever read.
#
# Output in OUT (each run replaces these and nothing else there):
#   merged.profdata   the merged profile         html/index.html   llvm-cov show, per file
#   summary.txt       the table below (also printed)
#   summary.json      machine-readable: per area {lines,functions,regions,branches} x
#                     {covered,count,percent}, the inputs, the failed ones, the handler table
#   handlers.txt      the ssl/statem message handlers: side, execution count, line coverage
#   run.log           the binaries' own output         export-summary.json  llvm-cov's export
# scripts/coverage-report.py computes the summary; see its header for the details.
#
# Environment: LLVM_PROFDATA, LLVM_COV (default llvm-profdata-14 / llvm-cov-14, else the
# unversioned names).
#
# Exit status: 0 coverage written (inputs may have failed: see above), 1 no input produced a
# profile or an llvm tool failed, 2 bad usage, a missing binary or corpus, no inputs, 3 a
# required tool is missing.
set -euo pipefail

prog=fuzz-coverage.sh
here=$(cd "$(dirname "$0")" && pwd)
trap 'echo "$prog: error: unexpected failure at line $LINENO" >&2' ERR

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}
die() { echo "$prog: error: $1" >&2; exit "${2:-1}"; }
say() { echo "$prog: $*" >&2; }

target='' build=build out='' jobs=1 timeout=30 batch=64 html=1 keep_raw=0
bins=() runners=() corpus_bin=() corpus_path=()
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value" 2; fi; }
while [ $# -gt 0 ]; do
    case $1 in
    --target) need "$@"; target=$2; shift 2 ;;
    --build) need "$@"; build=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    --bin) need "$@"; bins+=("$2"); runners+=(auto); shift 2 ;;
    --runner)
        need "$@"
        [ ${#bins[@]} -gt 0 ] || die "--runner applies to the --bin before it; none given" 2
        case $2 in
        replay | libfuzzer | auto) ;;
        *) die "unknown runner $2 (replay|libfuzzer)" 2 ;;
        esac
        runners[${#runners[@]} - 1]=$2
        shift 2
        ;;
    --corpus)
        need "$@"
        if [ ${#bins[@]} -eq 0 ] && [ -z "$target" ]; then
            die "--corpus $2 comes before any --bin (and there is no --target)" 2
        fi
        corpus_bin+=($((${#bins[@]} > 0 ? ${#bins[@]} - 1 : 0)))
        corpus_path+=("$2")
        shift 2
        ;;
    --jobs) need "$@"; jobs=$2; shift 2 ;;
    --timeout) need "$@"; timeout=$2; shift 2 ;;
    --batch) need "$@"; batch=$2; shift 2 ;;
    --no-html) html=0; shift ;;
    --keep-raw) keep_raw=1; shift ;;
    -h | --help) usage ;;
    *) echo "$prog: unknown argument: $1" >&2; usage ;;
    esac
done
for n in "$jobs" "$timeout" "$batch"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] ||
        die "--jobs, --timeout and --batch take positive numbers (got $n)" 2
done

# ---- what to run ----
if [ -n "$target" ]; then
    [ ${#bins[@]} -eq 0 ] || die "--target and --bin do not mix" 2
    [[ $target =~ ^[A-Za-z0-9_-]+$ ]] || die "bad target name: $target" 2
    bins=("$build/fuzz/cov/$target")
    runners=(auto)
    [ -x "${bins[0]}" ] || die "${bins[0]} is not built (make coverage-build)" 2
    if [ ${#corpus_path[@]} -eq 0 ]; then
        for d in "corpus/$target" "corpus/regressions/$target" "$build/fuzz/work/$target"; do
            [ -d "$d" ] && { corpus_bin+=(0); corpus_path+=("$d"); }
        done
        [ ${#corpus_path[@]} -gt 0 ] ||
            die "no corpus for $target (none of corpus/$target, corpus/regressions/$target," \
                "$build/fuzz/work/$target)" 2
    fi
    out=${out:-$build/fuzz/coverage/$target}
fi
[ ${#bins[@]} -gt 0 ] || die "give --target NAME or --bin BIN --corpus PATH ... --out DIR" 2
[ -n "$out" ] || die "--out DIR is required with --bin" 2

# ---- tools ----
pick_tool() { # pick_tool ENV-VALUE NAME: the versioned name first
    local t
    for t in "$1" "$2-14" "$2"; do
        [ -n "$t" ] && command -v "$t" >/dev/null 2>&1 && { command -v "$t"; return 0; }
    done
    die "$2 not found (install llvm-14, or set ${3})" 3
}
profdata=$(pick_tool "${LLVM_PROFDATA:-}" llvm-profdata LLVM_PROFDATA)
llvm_cov=$(pick_tool "${LLVM_COV:-}" llvm-cov LLVM_COV)
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found (package python3)" 3
command -v timeout >/dev/null 2>&1 || die "timeout not found (package coreutils)" 3

for i in "${!bins[@]}"; do
    b=${bins[$i]}
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then die "$b: not an executable file" 2; fi
    # Every binary built with -fprofile-instr-generate has this section.
    grep -qaF __llvm_prf_cnts "$b" ||
        die "$b: not built with -fprofile-instr-generate (no profile counters)" 2
    if [ "${runners[$i]}" = auto ]; then
        if grep -qaF -- '[--no-fork] [--timeout SECS]' "$b"; then
            runners[i]=replay
        elif grep -qaF 'ERROR: libFuzzer' "$b"; then
            runners[i]=libfuzzer
        else
            die "$b: neither a replay_main nor a libFuzzer binary; say which with --runner" 2
        fi
    fi
done

# ---- inputs: regular files, not dot files, one folder level (as replay_main reads them) ----
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlsrig-cov.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

runinfo=$work/run-info
: >"$runinfo"
for i in "${!bins[@]}"; do
    printf 'bin\t%s\t%s\n' "${bins[$i]}" "${runners[$i]}" >>"$runinfo"
    : >"$work/inputs-$i"
done
total=0
for k in "${!corpus_path[@]}"; do
    p=${corpus_path[$k]} i=${corpus_bin[$k]}
    [[ $p != *$'\t'* && $p != *$'\n'* ]] ||
        die "corpus $p: tabs and newlines in names are not supported" 2
    if [ -d "$p" ]; then
        n0=$(tr -cd '\0' <"$work/inputs-$i" | wc -c)
        find "$p" -mindepth 1 -maxdepth 1 -type f ! -name '.*' -print0 | sort -z >>"$work/inputs-$i"
        n=$(($(tr -cd '\0' <"$work/inputs-$i" | wc -c) - n0))
    elif [ -f "$p" ]; then
        printf '%s\0' "$p" >>"$work/inputs-$i"
        n=1
    else
        die "corpus $p: no such file or folder" 2
    fi
    printf 'corpus\t%s\t%s\t%s\n' "$i" "$p" "$n" >>"$runinfo"
    total=$((total + n))
done
[ "$total" -gt 0 ] || die "no inputs in ${corpus_path[*]}" 2
printf 'inputs\t%s\n' "$total" >>"$runinfo"

# ---- runs ----
raw=$out/raw
rm -rf "$raw" "$out/merged.profdata"
mkdir -p "$raw"
log=$out/run.log
: >"$log"

# run_inputs BIN-INDEX TAG TIME-LIMIT FILE... - one process over the files; 0 when it wrote
# its profile (and exited as the runner does on success), 1 otherwise.
run_inputs() {
    local i=$1 tag=$2 limit=$3 rc=0
    shift 3
    local args=()
    case ${runners[$i]} in
    replay) args=(--no-fork) ;;
    libfuzzer) args=(-timeout="$timeout" -rss_limit_mb=4096) ;;
    esac
    # In a subshell with its output redirected, so that the shell's own "Segmentation fault"
    # report of a crashing input goes to the log too.
    # (Two commands, or bash would exec the last one and report in our stderr after all.)
    (
        LLVM_PROFILE_FILE="$raw/$tag-%p.profraw" \
            timeout -k 5 "$limit" "${bins[$i]}" "${args[@]}" "$@" || exit $?
        exit 0
    ) >>"$work/log-$tag" 2>&1 || rc=$?
    # replay exits 1 for an input whose two runs took different paths: still a clean run.
    if [ "$rc" -eq 0 ] || { [ "${runners[$i]}" = replay ] && [ "$rc" -eq 1 ]; }; then
        compgen -G "$raw/$tag-*.profraw" >/dev/null && return 0
        echo "no profile written (exit status $rc)" >>"$work/log-$tag"
        return 1
    fi
    rm -f "$raw/$tag"-*.profraw
    local why="exit status $rc"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        why="time limit of $limit s reached"
    elif [ "$rc" -gt 128 ]; then
        why="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    fi
    echo "$why" >>"$work/log-$tag"
    return 1
}

# run_batch BIN-INDEX BATCH-NO FILE... - a batch, or its files one by one if it fails.
run_batch() {
    local i=$1 b=$2 f k=0 reason
    shift 2
    local limit=$((timeout * 2 + $# / 4))
    run_inputs "$i" "b$i-$b" "$limit" "$@" && return 0
    reason=$(tail -n 1 "$work/log-b$i-$b")
    echo "batch $b of ${bins[$i]} failed: $reason; running its inputs one by one" \
        >>"$work/log-b$i-$b"
    for f in "$@"; do
        k=$((k + 1))
        if ! run_inputs "$i" "s$i-$b-$k" "$timeout" "$f"; then
            reason=$(tail -n 1 "$work/log-s$i-$b-$k")
            printf 'failed\t%s\t%s\t%s\n' "$i" "$f" "$reason" >"$work/failed-$i-$b-$k"
        fi
    done
    return 0
}

nbins=${#bins[@]}
say "running $total inputs through $nbins binar$([ "$nbins" -gt 1 ] && echo ies || echo y)" \
    "($jobs at a time, $batch per process)"
running=0
for i in "${!bins[@]}"; do
    mapfile -d '' files <"$work/inputs-$i"
    for ((s = 0, b = 0; s < ${#files[@]}; s += batch, b++)); do
        if [ "$running" -ge "$jobs" ]; then
            wait -n || true
            running=$((running - 1))
        fi
        run_batch "$i" "$b" "${files[@]:s:batch}" &
        running=$((running + 1))
    done
done
wait || true
# logs and failures in a stable order
find "$work" -maxdepth 1 -name 'log-*' -print0 | sort -zV | xargs -0r cat >>"$log"
find "$work" -maxdepth 1 -name 'failed-*' -print0 | sort -zV | xargs -0r cat >>"$runinfo"
nfailed=$(grep -c '^failed' "$runinfo" || true)
if [ "$nfailed" -gt 0 ]; then
    grep '^failed' "$runinfo" | cut -f3,4 | sed "s/^/$prog: FAILED input /; s/\t/: /" >&2
fi

# ---- merge ----
find "$raw" -name '*.profraw' >"$work/profiles"
[ -s "$work/profiles" ] || die "no input produced a profile (see $log)" 1
say "merging $(wc -l <"$work/profiles") profiles"
mapfile -t profiles <"$work/profiles"
"$profdata" merge -sparse -failure-mode=all -o "$out/merged.profdata" "${profiles[@]}" 2>>"$log" ||
    die "$profdata merge failed (see $log)" 1
[ "$keep_raw" = 1 ] || rm -rf "$raw"

objects=("${bins[0]}")
for b in "${bins[@]:1}"; do objects+=(-object "$b"); done
title=${target:-$(printf '%s ' "${bins[@]}")}

# ---- HTML ----
if [ "$html" = 1 ]; then
    say "writing $out/html/index.html"
    rm -rf "$out/html"
    "$llvm_cov" show -format=html -output-dir="$out/html" -instr-profile="$out/merged.profdata" \
        -show-branches=count -show-line-counts-or-regions -project-title="tlsrig coverage: $title" \
        "${objects[@]}" 2>>"$log" || die "$llvm_cov show failed (see $log)" 1
    [ -f "$out/html/index.html" ] || die "$llvm_cov show wrote no $out/html/index.html" 1
fi

# ---- summary ----
report_objects=()
for b in "${bins[@]}"; do report_objects+=(--object "$b"); done
rc=0
/usr/bin/python3 "$here/coverage-report.py" --llvm-cov "$llvm_cov" \
    --profile "$out/merged.profdata" --out "$out" --run-info "$runinfo" --title "${title% }" \
    "${report_objects[@]}" || rc=$?
[ "$rc" -eq 0 ] || die "scripts/coverage-report.py failed (status $rc)" "$rc"
where="$out/summary.txt and $out/summary.json"
[ "$html" = 0 ] || where+=", HTML in $out/html/index.html"
say "summary in $where"
exit 0
