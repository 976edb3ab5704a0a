#!/usr/bin/env bash
# fuzz-campaign.sh - run one fuzz target for a while, with libFuzzer or AFL++, keeping what it
# finds. `make fuzz` and `make fuzz-smoke` call it after building the target.
#
#   scripts/fuzz-campaign.sh --target NAME [--engine libfuzzer|afl] [--seconds N] [--jobs N]
#                            [--build DIR] [--smoke]
#
# Work corpus: BUILD/fuzz/work/<target>/, seeded from corpus/<target>/ and
# corpus/regressions/<target>/ (copied in: the committed corpus is never written to); it
# persists, so the next campaign starts where this one stopped. Crashes, leaks, timeouts and
# out-of-memory inputs go to BUILD/fuzz/crashes/<target>/ and are never deleted. --smoke runs
# from a temporary copy of the corpus instead and leaves no work corpus behind.
#
# While it runs it keeps one status line up to date (exec/s, coverage, corpus size, crashes),
# read from libFuzzer's status lines or AFL++'s fuzzer_stats; the full output is in
# BUILD/fuzz/logs/<target>-<engine>.log. JOBS > 1 runs libFuzzer with -fork=JOBS, or one AFL++
# main instance and JOBS-1 secondaries.
#
# LIBFUZZER_FLAGS / AFL_FLAGS (environment) add flags of the engine's own, after those of
# fuzz/<target>.options (so they win), e.g. LIBFUZZER_FLAGS=-entropic=1.
#
# Exit status: 0 when nothing new was found, 1 when crashes were found (their files are
# listed), 2 for bad usage or a missing build.
set -uo pipefail

engine=libfuzzer target='' seconds=60 jobs=1 build=build smoke=0
while [ $# -gt 0 ]; do
    case $1 in
    --engine) engine=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    *) echo "usage: $0 --target NAME [--engine libfuzzer|afl] [--seconds N] [--jobs N]" \
           "[--build DIR] [--smoke]" >&2; exit 2 ;;
    esac
done
[ -n "$target" ] || { echo "fuzz-campaign: --target is required" >&2; exit 2; }
case $engine in libfuzzer | afl) ;; *) echo "fuzz-campaign: unknown engine $engine" >&2; exit 2 ;; esac
case $seconds$jobs in *[!0-9]*) echo "fuzz-campaign: --seconds and --jobs take numbers" >&2; exit 2 ;; esac
[ "$jobs" -ge 1 ] || jobs=1

bin=$build/fuzz/$engine/$target
[ -x "$bin" ] || { echo "fuzz-campaign: $bin is not built (make ${engine/libfuzzer/fuzz}-build)" >&2; exit 2; }

crashes=$build/fuzz/crashes/$target
logs=$build/fuzz/logs
mkdir -p "$crashes" "$logs"
log=$logs/$target-$engine.log
if [ "$smoke" = 1 ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/tlsrig-smoke-$target.XXXXXX")
    trap 'rm -rf "$work"' EXIT
else
    work=$build/fuzz/work/$target
    mkdir -p "$work"
fi
for seeds in corpus/$target corpus/regressions/$target; do
    [ -d "$seeds" ] && find "$seeds" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "$work/" \;
done
[ -n "$(ls -A "$work")" ] || printf '\026\003\001' > "$work/empty-record"

# The .options file (libFuzzer's, as ClusterFuzz reads it): every "key = value" of its
# [libfuzzer] section becomes -key=value; AFL++ takes the dictionary and max_len from it.
mapfile -t lf_options < <(scripts/fuzz-options.sh "fuzz/$target.options")
dict='' max_len=''
for opt in "${lf_options[@]}"; do
    case $opt in
    -dict=*) dict=${opt#-dict=} ;;
    -max_len=*) max_len=${opt#-max_len=} ;;
    esac
done

# ASan's defaults keep 256 MB of freed memory in quarantine and 30 frames per allocation; a
# TLS handshake allocates so much that page faults and stack unwinding took a quarter of each
# run. A finding is reproduced with the binary alone, under the full defaults.
ASAN_SPEED=quarantine_size_mb=32:malloc_context_size=5
export ASAN_OPTIONS=${ASAN_OPTIONS:-$ASAN_SPEED}

count_crashes() { find "$crashes" -maxdepth 1 -type f | wc -l; }
crashes_before=$(count_crashes)
start=$(date +%s)
tty=0
[ -t 1 ] && tty=1
last_print=0

# status LINE: one line, rewritten in place on a terminal, every 10 s otherwise.
status() {
    local now elapsed
    now=$(date +%s)
    elapsed=$((now - start))
    if [ "$tty" = 1 ]; then
        printf '\r\033[K[%s %s] %3ds  %s' "$target" "$engine" "$elapsed" "$1"
    elif [ $((now - last_print)) -ge 10 ]; then
        printf '[%s %s] %3ds  %s\n' "$target" "$engine" "$elapsed" "$1"
        last_print=$now
    fi
}

summary_stats=""

run_libfuzzer() {
    local args=(-max_total_time="$seconds" -artifact_prefix="$crashes/" -print_final_stats=1
        -timeout=25 -rss_limit_mb=4096)
    args+=("${lf_options[@]}")
    # Forked jobs keep going past a finding, so a long campaign collects every crash.
    [ "$jobs" -gt 1 ] && args+=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    # shellcheck disable=SC2206 # split on purpose: several flags in one variable
    args+=(${LIBFUZZER_FLAGS:-})
    local execs=0 cov=0 ft=0 corp=0 eps=0 line
    "$bin" "${args[@]}" "$work" 2>&1 | tee "$log" | while IFS= read -r line; do
        case $line in
        \#*cov:*)
            [[ $line =~ ^#([0-9]+) ]] && execs=${BASH_REMATCH[1]}
            [[ $line =~ cov:\ ([0-9]+) ]] && cov=${BASH_REMATCH[1]}
            [[ $line =~ ft:\ ([0-9]+) ]] && ft=${BASH_REMATCH[1]}
            [[ $line =~ corp:\ ([0-9]+) ]] && corp=${BASH_REMATCH[1]}
            [[ $line =~ exec/s:?\ ([0-9]+) ]] && eps=${BASH_REMATCH[1]}
            status "exec/s $eps  cov $cov  ft $ft  corpus $corp  crashes $(($(count_crashes) - crashes_before))"
            echo "runs $execs, $eps exec/s, cov $cov, ft $ft, corpus $corp" > "$log.stats"
            ;;
        *"Test unit written to"* | *"ERROR: libFuzzer"* | *"ERROR: AddressSanitizer"* | *"runtime error:"*)
            [ "$tty" = 1 ] && printf '\n'
            echo "$line"
            ;;
        esac
    done
    local rc=${PIPESTATUS[0]}
    [ "$tty" = 1 ] && printf '\n'
    summary_stats=$(cat "$log.stats" 2>/dev/null)
    rm -f "$log.stats"
    # A non-zero exit without a new artifact is libFuzzer refusing to run (a bad flag, an
    # unreadable dictionary), not a finding.
    if [ "$rc" -ne 0 ] && [ "$(count_crashes)" -eq "$crashes_before" ]; then
        tail -n 5 "$log" >&2
        echo "fuzz-campaign: $bin exited with status $rc (log: $log)" >&2
        exit 2
    fi
}

run_afl() {
    local out=$build/fuzz/afl-out/$target
    mkdir -p "$out"
    # A whole OpenSSL linked in has ~73,000 edges, more than AFL++'s default map.
    export AFL_MAP_SIZE=${AFL_MAP_SIZE:-131072}
    export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
    export AFL_AUTORESUME=1 AFL_NO_AFFINITY=1 AFL_SKIP_CRASHES=1
    # AFL++ wants these (it checks); the rest as for libFuzzer
    export ASAN_OPTIONS=$ASAN_OPTIONS:abort_on_error=1:symbolize=0:detect_leaks=0
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1}
    local args=(-i "$work" -o "$out" -V "$seconds" -m none -t 5000)
    [ -n "$dict" ] && args+=(-x "$dict")
    [ -n "$max_len" ] && args+=(-G "$max_len")
    # shellcheck disable=SC2206
    args+=(${AFL_FLAGS:-})
    local pids=() i
    afl-fuzz "${args[@]}" -M main -- "$bin" > "$log" 2>&1 &
    pids+=($!)
    for ((i = 1; i < jobs; i++)); do
        afl-fuzz "${args[@]}" -S "s$i" -- "$bin" > "$logs/$target-afl-s$i.log" 2>&1 &
        pids+=($!)
    done
    stat_of() { sed -n "s/^$1 *: *//p" "$2" 2>/dev/null | head -n 1; }
    local alive=1 eps cov corp found runs n f
    while [ "$alive" = 1 ]; do
        sleep 2
        alive=0
        for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null && alive=1; done
        # exec/s, runs and crashes add up over the main instance and the secondaries
        eps=0 found=0 runs=0 cov='?' corp='?'
        for f in "$out"/*/fuzzer_stats; do
            [ -f "$f" ] || continue
            # execs_per_sec is meaningless while AFL++ calibrates: average over the run instead
            eps=$(awk -v a="$eps" -v n="$(stat_of execs_done "$f")" -v t0="$(stat_of start_time "$f")" \
                -v t1="$(stat_of last_update "$f")" \
                'BEGIN { d = t1 - t0; printf "%d", a + (d > 0 ? n / d : 0) }')
            n=$(stat_of saved_crashes "$f")
            found=$((found + ${n:-0}))
            n=$(stat_of execs_done "$f")
            runs=$((runs + ${n:-0}))
        done
        if [ -f "$out/main/fuzzer_stats" ]; then
            cov=$(stat_of edges_found "$out/main/fuzzer_stats")
            corp=$(stat_of corpus_count "$out/main/fuzzer_stats")
        fi
        status "exec/s $eps  cov $cov edges  corpus $corp  crashes ${found:-0}"
        summary_stats="runs $runs, $eps exec/s, cov $cov edges, corpus $corp"
    done
    [ "$tty" = 1 ] && printf '\n'
    wait
    grep -h -E "PROGRAM ABORT|Location" "$log" "$logs/$target"-afl-s*.log 2>/dev/null | head -n 5
    # Keep what was found where libFuzzer's findings go, and the queue in the work corpus.
    for f in "$out"/*/crashes/id:* "$out"/*/hangs/id:*; do
        [ -f "$f" ] || continue
        local kind=crash
        case $f in */hangs/*) kind=timeout ;; esac
        cp -n "$f" "$crashes/afl-$kind-$(sha1sum "$f" | cut -c1-40)"
    done
    # named by content, as libFuzzer names its corpus, so the two engines share entries
    for f in "$out"/*/queue/id:*; do
        [ -f "$f" ] && cp -n "$f" "$work/$(sha1sum "$f" | cut -c1-40)"
    done
}

run_$engine

found=$(($(count_crashes) - crashes_before))
corpus_size=$(find "$work" -maxdepth 1 -type f | wc -l)
where=$work
[ "$smoke" = 1 ] && where="a temporary copy"
echo "fuzz $target ($engine, ${seconds} s, $jobs job$([ "$jobs" -gt 1 ] && echo s)):" \
    "${summary_stats:-no status line}; work corpus $corpus_size files in $where;" \
    "$found new in $crashes/"
if [ "$found" -gt 0 ]; then
    find "$crashes" -maxdepth 1 -type f -newermt "@$start" -printf '  %p\n' 2>/dev/null
    echo "  reproduce: $build/fuzz/replay/$target FILE   (scenario: fuzz/scenario_to_scn FILE)"
    exit 1
fi
exit 0
