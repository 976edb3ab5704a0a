#!/usr/bin/env bash
# fuzz-triage.sh - reproduce, classify, deduplicate and minimise the crashes of a fuzz target.
# `make triage TARGET=<name> [ENGINE=libfuzzer|afl]` calls it after building the target.
#
#   scripts/fuzz-triage.sh --target NAME [--engine libfuzzer|afl] [--build DIR] [--out DIR]
#                          [--frames N] [--attempts N] [--timeout SECS] [--minimize-time SECS]
#                          [--replay-bin PATH] [--libfuzzer-bin PATH] [--afl-bin PATH]
#                          [INPUT...]
#
# Inputs: every regular file (dot files skipped) of each folder given, and each file given;
# with none, BUILD/fuzz/crashes/<target>/, where scripts/fuzz-campaign.sh keeps what libFuzzer
# and AFL++ find. Inputs are only read: they are copied, never moved or deleted.
#
# Each input runs --attempts times (default 3) under the sanitizer build,
# BUILD/fuzz/libfuzzer/<target> (`-runs=1 FILE`, libFuzzer's -timeout=SECS, default 25, and a
# harder limit around it), and once under the replay build, BUILD/fuzz/replay/<target>. The
# sanitizer report gives the kind (heap-buffer-overflow, heap-use-after-free, SEGV, leak,
# signed-integer-overflow and the other UBSan checks, assert, abort, timeout, oom, ...) and
# the stack. An input "reproduces" when every sanitizer run reports the same crash, is "flaky"
# when only some do (or they disagree), and is "not reproduced" when none does and the replay
# build runs it cleanly too. A crash that only the replay build shows (it links the system
# OpenSSL) reproduces as kind replay-<signal>, with no frames.
#
# Signature: the kind plus the function names of the top --frames (default 3) frames of the
# report's first stack, leaving out the sanitizer and libFuzzer runtimes and libc; its hash
# (12 hex digits of the SHA-1 of kind and frames, one a line) names the crash. For each
# signature the smallest input that reproduces is minimised: libFuzzer's -minimize_crash for
# --minimize-time SECS (default 60) with the libFuzzer build, or afl-tmin with the AFL++
# build BUILD/fuzz/afl/<target> for --engine afl. The result is kept only when it still gives
# the same signature; otherwise the original stands in for it. A minimised input of an earlier
# run that still gives its signature is reused, so a second run finds the same files.
#
# Output, rebuilt from the inputs on every run (--out DIR replaces BUILD/fuzz/triage):
#   BUILD/fuzz/triage/<target>/<hash>/report.txt   signature, kind, frames, status, inputs,
#                                                  reproduce commands, the full report (and
#                                                  for the scenario and mitm targets the
#                                                  .scn text)
#   BUILD/fuzz/triage/<target>/<hash>/inputs/      copies of the inputs with this signature
#   BUILD/fuzz/triage/<target>/<hash>/minimized    the minimised input
#   BUILD/fuzz/triage/<target>/not-reproduced/     copies of inputs that did not crash, report
#   BUILD/fuzz/triage/<target>/summary.txt         the table printed on stdout, input by input
#
# The sanitizer runs use ASAN_OPTIONS and UBSAN_OPTIONS from the environment with the settings
# triage needs appended (symbolized stacks, leak detection, UBSan stacks and check names);
# llvm-symbolizer is found on PATH or in /usr/lib/llvm-*/bin unless ASAN_SYMBOLIZER_PATH says.
#
# Exit status: 0 no input reproduces a crash, 1 at least one unique crash reproduces (flaky
# ones included), 2 bad usage or an input that does not exist, 3 a build or a tool is missing,
# or triage itself failed.
set -euo pipefail

prog=fuzz-triage
usage() {
    sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() {
    local code=$1
    shift
    echo "$prog: $*" >&2
    exit "$code"
}

target='' engine=libfuzzer build=build out_root='' frames=3 attempts=3 timeout=25 min_time=60
replay_bin='' lf_bin='' afl_bin=''
inputs=()
while [ $# -gt 0 ]; do
    case $1 in
    --target | --engine | --build | --out | --frames | --attempts | --timeout | --minimize-time | \
        --replay-bin | --libfuzzer-bin | --afl-bin)
        [ $# -ge 2 ] || die 2 "$1 needs a value"
        case $1 in
        --target) target=$2 ;;
        --engine) engine=$2 ;;
        --build) build=$2 ;;
        --out) out_root=$2 ;;
        --frames) frames=$2 ;;
        --attempts) attempts=$2 ;;
        --timeout) timeout=$2 ;;
        --minimize-time) min_time=$2 ;;
        --replay-bin) replay_bin=$2 ;;
        --libfuzzer-bin) lf_bin=$2 ;;
        --afl-bin) afl_bin=$2 ;;
        esac
        shift 2
        ;;
    -h | --help) usage ;;
    --) shift; inputs+=("$@"); break ;;
    -*) echo "$prog: unknown option $1" >&2; usage ;;
    *) inputs+=("$1"); shift ;;
    esac
done
[ -n "$target" ] || die 2 "--target is required"
case $target in *[!A-Za-z0-9_-]*) die 2 "--target: '$target' is not a target name" ;; esac
case $engine in libfuzzer | afl) ;; *) die 2 "--engine: '$engine' is neither libfuzzer nor afl" ;; esac
for n in "$frames" "$attempts" "$timeout" "$min_time"; do
    case $n in '' | *[!0-9]*) die 2 "--frames, --attempts, --timeout and --minimize-time take numbers" ;; esac
done
if [ "$frames" -lt 1 ] || [ "$attempts" -lt 1 ] || [ "$timeout" -lt 1 ]; then
    die 2 "--frames, --attempts and --timeout must be at least 1"
fi

root=$(cd "$(dirname "$0")/.." && pwd)
: "${replay_bin:=$build/fuzz/replay/$target}"
: "${lf_bin:=$build/fuzz/libfuzzer/$target}"
: "${afl_bin:=$build/fuzz/afl/$target}"
: "${out_root:=$build/fuzz/triage}"

# ---- tools and builds ----

for tool in timeout sha1sum awk flock cmp; do
    command -v "$tool" > /dev/null || die 3 "$tool is not installed (coreutils, gawk or mawk, util-linux, diffutils)"
done
[ -x "$replay_bin" ] || die 3 "replay build $replay_bin is missing (make $replay_bin)"
[ -x "$lf_bin" ] || die 3 "sanitizer build $lf_bin is missing (make $lf_bin)"
if [ "$engine" = afl ]; then
    [ -x "$afl_bin" ] || die 3 "AFL++ build $afl_bin is missing (make $afl_bin)"
    command -v afl-tmin > /dev/null || die 3 "afl-tmin is not installed (the afl++ package)"
fi
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer || true)
    for s in /usr/lib/llvm-*/bin/llvm-symbolizer; do
        [ -n "$ASAN_SYMBOLIZER_PATH" ] || [ ! -x "$s" ] || ASAN_SYMBOLIZER_PATH=$s
    done
fi
if [ -z "$ASAN_SYMBOLIZER_PATH" ] || [ ! -x "$ASAN_SYMBOLIZER_PATH" ]; then
    die 3 "llvm-symbolizer not found (the llvm package; or set ASAN_SYMBOLIZER_PATH): stacks need function names"
fi
export ASAN_SYMBOLIZER_PATH

# The binary as the sanitizers print its module path, to tell its runtime frames (no debug
# information) from the target's.
lf_real=$(readlink -f "$lf_bin")

san_asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}symbolize=1:detect_leaks=1:abort_on_error=0:handle_abort=1:allocator_may_return_null=0"
san_ubsan="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:report_error_type=1:halt_on_error=1:symbolize=1"
lf_flags=(-timeout="$timeout" -rss_limit_mb=4096)
hard_limit=$((timeout + 30))

# ---- inputs ----

files=()
if [ ${#inputs[@]} -eq 0 ]; then
    default_dir=$build/fuzz/crashes/$target
    [ -d "$default_dir" ] && inputs=("$default_dir")
fi
for p in "${inputs[@]}"; do
    if [ -d "$p" ]; then
        while IFS= read -r -d '' f; do
            files+=("$f")
        done < <(find "$p" -mindepth 1 -maxdepth 1 -type f ! -name '.*' -print0 | sort -z)
    elif [ -f "$p" ]; then
        files+=("$p")
    else
        die 2 "input $p does not exist (or is not a regular file or folder)"
    fi
done
for f in "${files[@]}"; do
    [ -r "$f" ] || die 2 "input $f is not readable"
done

# ---- output: built in a staging folder, swapped in at the end ----

mkdir -p "$out_root" || die 3 "cannot create $out_root"
out=$out_root/$target
exec 9> "$out_root/.$target.lock"
flock -w 900 9 || die 3 "another triage of $target has held $out_root/.$target.lock for 15 minutes"
# under the lock, so the name is ours; mkdir (not mktemp) so the result gets the usual mode
stage=$out_root/.$target.new.$$
rm -rf "$stage"
mkdir "$stage" || die 3 "cannot create $stage"
# shellcheck disable=SC2317 # run by the trap
cleanup() { rm -rf "$stage" "$out_root/.$target.old"; }
trap cleanup EXIT
trap 'exit 3' INT TERM
logs=$stage/.logs
mkdir -p "$logs"

# ---- one sanitizer run ----

# parse_report LOG: prints "kind<TAB>K", then "frame<TAB>FUNCTION<TAB>LOCATION" for each frame
# of the first stack that is the target's (not the sanitizer or libFuzzer runtime, not libc).
parse_report() {
    awk -v self="$lf_real" '
    function slug(s) { gsub(/[^A-Za-z0-9_.+-]+/, "-", s); sub(/^-+/, "", s); sub(/-+$/, "", s); return s }
    state == 0 && (/ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|MemorySanitizer|libFuzzer)/ || / runtime error: /) {
        state = 1; header = $0
    }
    state >= 1 && /^ *#[0-9]+ 0x[0-9a-f]+ / {
        if (state == 1) state = 2
        if (state == 2) nf_all[n_all++] = $0
        if ($0 ~ / in abort /) aborted = 1
        next
    }
    state == 2 { state = 3 }
    /^SUMMARY: / && summary == "" { summary = $0 }
    /Assertion `.*. failed/ { assertion = 1 }
    END {
        kind = ""
        if (summary != "") {
            s = summary; sub(/^SUMMARY: /, "", s)
            tool = s; sub(/:.*/, "", tool)
            rest = s; sub(/^[^:]*: */, "", rest)
            word = rest; sub(/ .*/, "", word)
            if (tool == "LeakSanitizer" || rest ~ /^[0-9]+ byte\(s\) leaked/) kind = "leak"
            else if (tool == "libFuzzer") {
                if (rest ~ /^deadly signal/) kind = assertion ? "assert" : (aborted ? "abort" : "deadly-signal")
                else if (rest ~ /^timeout/) kind = "timeout"
                else if (rest ~ /^out-of-memory/ || rest ~ /^malloc/) kind = "oom"
                else if (rest ~ /exited/) kind = "exit"
                else kind = slug(rest)
            } else if (word == "ABRT") kind = assertion ? "assert" : "abort"
            else if (word == "out-of-memory" || word == "allocation-size-too-big" || word == "rss-limit-exceeded") kind = (word == "out-of-memory" ? "oom" : word)
            else kind = slug(word)
        } else if (header ~ / runtime error: /) kind = "undefined-behavior"
        else if (header != "") kind = "unknown"
        if (kind == "") exit
        print "kind\t" kind
        for (i = 0; i < n_all; i++) {
            l = nf_all[i]
            sub(/^ *#[0-9]+ 0x[0-9a-f]+ /, "", l)
            sub(/ \(BuildId: [0-9a-f]+\)$/, "", l)
            fn = ""; loc = ""; mod = ""
            if (l ~ /^in /) {
                l = substr(l, 4)
                if (match(l, / \([^()]*\+0x[0-9a-f]+\)$/)) {
                    mod = substr(l, RSTART + 2, RLENGTH - 3); sub(/\+0x[0-9a-f]+$/, "", mod)
                    fn = substr(l, 1, RSTART - 1)
                } else if (match(l, / [^ ]*(\/|\.(c|cc|cpp|cxx|h|hpp|inc|S|s))(:[0-9]+)*$/)) {
                    loc = substr(l, RSTART + 1); fn = substr(l, 1, RSTART - 1)
                } else fn = l
            }
            if (fn == "") continue
            if (fn ~ /^(__asan|__ubsan|__lsan|__msan|__sanitizer|__interceptor|___interceptor|__interception|fuzzer::|__libc_|__GI_|__pthread_kill|__assert_fail)/) continue
            if (fn ~ /^(_start|raise|abort|gsignal|pthread_kill)$/) continue
            if (loc ~ /compiler-rt\//) continue
            if (mod ~ /(^|\/)(libc|libm|libpthread|libdl|libstdc\+\+|libgcc_s|libc\+\+|libc\+\+abi)\.so/ || mod ~ /(^|\/)ld-linux/) continue
            # no debug information inside the binary itself: the sanitizer or libFuzzer runtime
            # (by name as well, for a binary run through a wrapper)
            if (loc == "" && mod == self) continue
            if (loc == "" && fn ~ /^(main|malloc|calloc|realloc|reallocarray|free|memalign|posix_memalign|aligned_alloc|valloc|pvalloc|strdup|strndup|operator new|operator delete)/) continue
            print "frame\t" fn "\t" loc
        }
    }' "$1"
}

# san_run FILE LOG: one sanitizer run of FILE, report in LOG. Sets r_kind (empty when it ran
# cleanly), r_funcs and r_frames (function names; "function location" lines), r_hash, r_sig.
san_run() {
    local file=$1 log=$2 rc=0 tag fn loc
    ASAN_OPTIONS=$san_asan UBSAN_OPTIONS=$san_ubsan timeout -k 5 "$hard_limit" \
        "$lf_bin" -runs=1 "${lf_flags[@]}" "$file" > "$log" 2>&1 < /dev/null || rc=$?
    r_kind='' r_funcs=() r_frames=() r_hash='' r_sig=''
    while IFS=$'\t' read -r tag fn loc; do
        case $tag in
        kind) r_kind=$fn ;;
        frame) r_funcs+=("$fn"); r_frames+=("$fn${loc:+ $loc}") ;;
        esac
    done < <(parse_report "$log")
    if [ -z "$r_kind" ] && [ "$rc" -ne 0 ]; then
        case $rc in
        124 | 137) r_kind=timeout; echo "$prog: killed after $hard_limit s" >> "$log" ;;
        *) r_kind=exit-$rc ;;
        esac
    fi
    [ -n "$r_kind" ] || return 0
    local top=("${r_funcs[@]:0:$frames}")
    r_sig=$r_kind
    [ ${#top[@]} -gt 0 ] && r_sig="$r_kind in $(printf '%s < ' "${top[@]}" | sed 's/ < $//')"
    r_hash=$(printf '%s\n' "$r_kind" "${top[@]}" | sha1sum | cut -c1-12)
}

# replay_run FILE LOG: sets rp_result: clean, "crash: ...", hang, nondeterministic or "error: ...".
replay_run() {
    local file=$1 log=$2 rc=0
    timeout -k 5 $((2 * timeout + 30)) "$replay_bin" --timeout "$timeout" "$file" > "$log" 2>&1 < /dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
        rp_result=clean
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || grep -q '^HANG ' "$log"; then
        rp_result=hang
    elif grep -q '^CRASH .*: signal ' "$log"; then
        rp_result="crash: $(sed -n 's/^CRASH .*: \(signal [0-9]*\).*/\1/p' "$log" | head -n 1)"
        rp_result+=" ($(sed -n 's/^CRASH .*: signal [0-9]* (\(.*\))$/\1/p' "$log" | head -n 1))"
    elif grep -q '^CRASH .*: exit status ' "$log"; then
        rp_result="crash: $(sed -n 's/^CRASH .*: \(exit status [0-9]*\).*/\1/p' "$log" | head -n 1)"
    elif grep -q '^NONDETERMINISTIC ' "$log"; then
        rp_result=nondeterministic
    else
        rp_result="error: exit status $rc"
    fi
}

# ---- reproduce every input ----

declare -A g_inputs g_status g_kind g_sig g_frames g_rep g_rep_size g_log
n_in=${#files[@]}
i=0
in_status=() in_hash=() in_detail=()
if [ "$n_in" -gt 0 ]; then
    echo "$prog: $target: reproducing $n_in input(s), $attempts sanitizer run(s) each (timeout $timeout s)" >&2
fi
for f in "${files[@]}"; do
    crashes=0 first_hash='' first_log='' agree=1
    declare -a first_frames=()
    for ((k = 1; k <= attempts; k++)); do
        log=$logs/$i-$k.log
        san_run "$f" "$log"
        [ -n "$r_kind" ] || continue
        crashes=$((crashes + 1))
        if [ -z "$first_hash" ]; then
            first_hash=$r_hash first_log=$log first_kind=$r_kind first_sig=$r_sig
            first_frames=("${r_frames[@]}")
        elif [ "$r_hash" != "$first_hash" ]; then
            agree=0
        fi
    done
    replay_run "$f" "$logs/$i-replay.log"
    if [ "$crashes" -eq "$attempts" ] && [ "$agree" = 1 ]; then
        st=reproduces
    elif [ "$crashes" -gt 0 ]; then
        st=flaky
    elif [ "$rp_result" = hang ] || [ "${rp_result#crash}" != "$rp_result" ]; then
        # Only the replay build (system OpenSSL, no sanitizers) shows it: no stack to go by.
        st=reproduces
        first_kind=replay-$(echo "$rp_result" | sed 's/^crash: //; s/ (.*//; s/ /-/g')
        first_sig=$first_kind first_frames=() first_log=$logs/$i-replay.log
        first_hash=$(printf '%s\n' "$first_kind" | sha1sum | cut -c1-12)
    else
        st=not-reproduced
    fi
    in_status[i]=$st
    in_detail[i]="sanitizer $crashes/$attempts, replay $rp_result"
    if [ "$st" != not-reproduced ]; then
        h=$first_hash
        in_hash[i]=$h
        size=$(stat -c %s "$f")
        if [ -z "${g_inputs[$h]:-}" ]; then
            g_kind[$h]=$first_kind g_sig[$h]=$first_sig g_status[$h]=$st
            g_frames[$h]=$(printf '%s\n' "${first_frames[@]:0:$frames}")
            g_rep[$h]=$i g_rep_size[$h]=$size g_log[$h]=$first_log
        else
            # the representative: the smallest input that reproduces every time
            if { [ "$st" = reproduces ] && [ "${g_status[$h]}" != reproduces ]; } ||
                { [ "$st" = "${g_status[$h]}" ] && [ "$size" -lt "${g_rep_size[$h]}" ]; }; then
                g_rep[$h]=$i g_rep_size[$h]=$size g_log[$h]=$first_log
            fi
            [ "$st" = reproduces ] && g_status[$h]=reproduces
        fi
        g_inputs[$h]+="$i "
    else
        in_hash[i]=''
    fi
    printf '%s: [%d/%d] %s: %s (%s)%s\n' "$prog" $((i + 1)) "$n_in" "$f" "$st" "${in_detail[i]}" \
        "${in_hash[i]:+ -> ${in_hash[i]} ${first_sig}}" >&2
    i=$((i + 1))
done

# copy_input SRC DIR: copies SRC into DIR under its own name, or NAME-<sha1> when another
# input of that name is there already. Prints the copy's name.
copy_input() {
    local src=$1 dir=$2 name
    name=$(basename "$src")
    if [ -e "$dir/$name" ] && ! cmp -s "$src" "$dir/$name"; then
        name=$name-$(sha1sum < "$src" | cut -c1-12)
    fi
    cp -p "$src" "$dir/$name" || die 3 "cannot copy $src to $dir"
    echo "$name"
}

# ---- minimise one input per signature ----

# minimize HASH SRC DEST: writes the minimised input to DEST (or SRC's bytes when minimising
# fails or changes the signature); sets min_note.
minimize() {
    local h=$1 src=$2 dest=$3 try=$logs/$1.min log=$logs/$1.min.log rc=0
    local old=$out/$h/minimized
    if [ -f "$old" ] && [ "$(stat -c %s "$old")" -lt "$(stat -c %s "$src")" ]; then
        san_run "$old" "$logs/$h.reuse.log"
        if [ "$r_hash" = "$h" ]; then
            cp "$old" "$dest"
            min_note="kept from the previous triage (still gives this signature)"
            return
        fi
    fi
    case ${g_kind[$h]} in
    replay-*)
        cp "$src" "$dest"
        min_note="not minimised: only the replay build crashes, and the minimisers need a sanitizer report"
        return
        ;;
    esac
    rm -f "$try"
    local use=$engine why=''
    if [ "$engine" = afl ] && [ "${g_kind[$h]}" = leak ]; then
        # The AFL++ driver runs inputs in a persistent loop and LeakSanitizer looks only at
        # exit, so afl-tmin never sees the leak and would "minimise" a clean run.
        use=libfuzzer why=" (afl-tmin cannot see leaks)"
    fi
    if [ "$use" = libfuzzer ]; then
        # -max_total_time bounds each of its steps, not the whole: the outer limit does. What it
        # leaves when stopped is checked like any other result.
        ASAN_OPTIONS=$san_asan UBSAN_OPTIONS=$san_ubsan timeout -k 5 $((min_time + timeout + 3)) \
            "$lf_bin" -minimize_crash=1 -exact_artifact_path="$try" -max_total_time="$min_time" \
            "${lf_flags[@]}" "$src" > "$log" 2>&1 < /dev/null || rc=$?
        how="libFuzzer -minimize_crash, $min_time s$why"
    else
        local hang=()
        [ "${g_kind[$h]}" = timeout ] && hang=(-H)
        AFL_MAP_SIZE=${AFL_MAP_SIZE:-262144} AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
            ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1:symbolize=0:detect_leaks=0" \
            UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:abort_on_error=1" \
            timeout -k 5 "$min_time" afl-tmin "${hang[@]}" -i "$src" -o "$try" -m none \
            -t $((timeout * 1000)) -- "$afl_bin" > "$log" 2>&1 < /dev/null || rc=$?
        how="afl-tmin, at most $min_time s"
    fi
    if [ ! -s "$try" ]; then
        cp "$src" "$dest"
        min_note="not minimised: $how left no result (exit status $rc)"
        min_log=$log
        return
    fi
    min_log=$log
    if [ "$(stat -c %s "$try")" -ge "$(stat -c %s "$src")" ]; then
        cp "$src" "$dest"
        min_note="not minimised: $how found nothing smaller"
        return
    fi
    san_run "$try" "$logs/$h.check.log"
    if [ "$r_hash" = "$h" ]; then
        cp "$try" "$dest"
        min_note="$how; gives the same signature"
    else
        cp "$src" "$dest"
        min_note="not minimised: the $(stat -c %s "$try")-byte result of $how gives ${r_sig:-no crash} instead (the original is kept)"
    fi
}

hashes=()
for h in "${!g_inputs[@]}"; do hashes+=("$h"); done
# report order: kind, then hash, so that two runs list the same table
if [ ${#hashes[@]} -gt 0 ]; then
    mapfile -t hashes < <(for h in "${hashes[@]}"; do printf '%s\t%s\n' "${g_kind[$h]}" "$h"; done |
        sort | cut -f2)
fi

q() { printf '%q' "$1"; }
# the targets whose replay build writes an input as a scenario (--print-scn)
prints_scn() { case $target in scenario | server_mitm | client_mitm) return 0 ;; *) return 1 ;; esac; }
declare -A g_min_size
for h in "${hashes[@]}"; do
    d=$stage/$h
    mkdir -p "$d/inputs"
    names=()
    for k in ${g_inputs[$h]}; do
        names+=("$(copy_input "${files[k]}" "$d/inputs")  ($(stat -c %s "${files[k]}") bytes, ${in_status[k]}; ${in_detail[k]}) from ${files[k]}")
    done
    rep=${files[${g_rep[$h]}]}
    echo "$prog: $h: minimising $rep (${g_rep_size[$h]} bytes, $engine)" >&2
    min_note='' min_log=''
    minimize "$h" "$rep" "$d/minimized"
    g_min_size[$h]=$(stat -c %s "$d/minimized")
    final_min=$out/$h/minimized
    scn=''
    if prints_scn; then
        if [ "$replay_bin" = "$build/fuzz/replay/scenario" ]; then
            scn=$(BUILD=$build timeout 60 "$root/fuzz/scenario_to_scn" "$d/minimized" 2>&1) || scn+=$'\n'"(scenario_to_scn failed)"
        else
            scn=$(timeout 60 "$replay_bin" --print-scn "$d/minimized" 2>&1) || scn+=$'\n'"(--print-scn failed)"
        fi
        printf '%s\n' "$scn" > "$d/minimized.scn"
    fi
    {
        echo "signature: ${g_sig[$h]}"
        echo "hash:      $h"
        echo "kind:      ${g_kind[$h]}"
        echo "status:    ${g_status[$h]}"
        echo "target:    $target"
        echo
        echo "top frames:"
        if [ -n "${g_frames[$h]}" ]; then
            printf '%s\n' "${g_frames[$h]}" | sed 's/^/  /'
        else
            echo "  (none: the report has no stack of the target's own)"
        fi
        echo
        echo "inputs (${#names[@]}, copied to inputs/):"
        printf '  %s\n' "${names[@]}"
        echo
        echo "minimised input: minimized (${g_min_size[$h]} bytes, from $rep, ${g_rep_size[$h]} bytes)"
        echo "  $min_note"
        echo
        echo "reproduce:"
        echo "  $(q "$replay_bin") $(q "$final_min")"
        echo "  ASAN_SYMBOLIZER_PATH=$(q "$ASAN_SYMBOLIZER_PATH") UBSAN_OPTIONS=print_stacktrace=1:report_error_type=1 \\"
        echo "      $(q "$lf_bin") -runs=1 $(q "$final_min")"
        if [ "$engine" = afl ]; then
            echo "  AFL_MAP_SIZE=${AFL_MAP_SIZE:-262144} $(q "$afl_bin") < $(q "$final_min")"
        fi
        if prints_scn; then
            if [ "$target" = scenario ]; then
                echo "  fuzz/scenario_to_scn $(q "$final_min") > found.scn   (also minimized.scn)"
            else
                echo "  $(q "$replay_bin") --print-scn $(q "$final_min") > found.scn   (also minimized.scn)"
            fi
            echo
            echo "scenario (--print-scn of the minimised input):"
            printf '%s\n' "$scn" | sed 's/^/  /'
        fi
        echo
        echo "sanitizer report (of $rep):"
        sed 's/^/  /' "${g_log[$h]}"
        if [ -n "$min_log" ]; then
            echo
            echo "minimiser output (last 20 lines):"
            tail -n 20 "$min_log" | sed "s|$stage/.logs/|(work folder)/|g; s/\x1b\[[0-9;]*m//g; s/^/  /"
        fi
    } > "$d/report.txt"
done

# ---- not reproduced, summary ----

n_not=0
for ((k = 0; k < n_in; k++)); do
    [ "${in_status[k]}" = not-reproduced ] || continue
    if [ "$n_not" -eq 0 ]; then
        mkdir -p "$stage/not-reproduced"
        printf 'Inputs that crashed in none of %d sanitizer runs nor under the replay build.\n\n' \
            "$attempts" > "$stage/not-reproduced/report.txt"
    fi
    name=$(copy_input "${files[k]}" "$stage/not-reproduced")
    echo "  $name  ($(stat -c %s "${files[k]}") bytes; ${in_detail[k]}) from ${files[k]}" \
        >> "$stage/not-reproduced/report.txt"
    n_not=$((n_not + 1))
done

n_rep=0 n_flaky=0
for h in "${hashes[@]}"; do
    if [ "${g_status[$h]}" = reproduces ]; then n_rep=$((n_rep + 1)); else n_flaky=$((n_flaky + 1)); fi
done
{
    echo "triage $target ($engine): $n_in input(s), ${#hashes[@]} unique crash(es)" \
        "($n_rep reproduce, $n_flaky flaky), $n_not input(s) not reproduced"
    if [ ${#hashes[@]} -gt 0 ]; then
        printf '  %-12s  %-24s  %-10s  %6s  %-15s  %s\n' hash kind status inputs "bytes min/orig" "top frames"
        for h in "${hashes[@]}"; do
            top_s=$(printf '%s\n' "${g_frames[$h]}" | sed 's/ .*//' | paste -sd '<' | sed 's/</ < /g')
            printf '  %-12s  %-24s  %-10s  %6s  %-15s  %s\n' "$h" "${g_kind[$h]}" "${g_status[$h]}" \
                "$(wc -w <<< "${g_inputs[$h]}")" "${g_min_size[$h]}/${g_rep_size[$h]}" "${top_s:--}"
        done
    fi
    [ "$n_not" -eq 0 ] || echo "  not reproduced: $n_not input(s), copied to $out/not-reproduced/"
    echo "  output: $out/"
} > "$stage/summary.txt"
{
    echo
    echo "inputs:"
    for ((k = 0; k < n_in; k++)); do
        printf '  %s  %s  %s  (%s)\n' "${in_hash[k]:-------------}" "${in_status[k]}" "${files[k]}" "${in_detail[k]}"
    done
} >> "$stage/summary.txt"

rm -rf "$logs"
if [ -e "$out" ]; then
    rm -rf "$out_root/.$target.old"
    mv "$out" "$out_root/.$target.old" || die 3 "cannot move the previous $out aside"
fi
mv "$stage" "$out" || die 3 "cannot move the results to $out"
rm -rf "$out_root/.$target.old"
trap - EXIT

# the table, from the copy now in place
sed '/^$/,$d' "$out/summary.txt"
[ ${#hashes[@]} -eq 0 ] && exit 0
exit 1
