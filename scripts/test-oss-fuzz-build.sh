#!/usr/bin/env bash
# test-oss-fuzz-build.sh - run .clusterfuzzlite/build.sh here the way OSS-Fuzz and
# ClusterFuzzLite run it, then check what it put in $OUT. `make oss-fuzz-check` calls it.
#
#   scripts/test-oss-fuzz-build.sh [--sanitizer address|undefined] [--seconds N] [--no-cache]
#                                  [--keep]
#
#   --sanitizer   the infrastructure's flags for ASan (default) or for its UBSan build
#   --seconds N   fuzz each target N seconds from its seed corpus (default 5; 0 skips)
#   --no-cache    build OpenSSL from scratch in a temporary $WORK (what the infrastructure
#                 does every time); by default $WORK is kept in the cache, keyed by a hash of
#                 the compiler and flags, so build.sh's OpenSSL step is incremental
#   --keep        keep the temporary directory (SRC, OUT, logs) and print where it is
#
# Environment: OPENSSL_SRC an unconfigured OpenSSL 3.x tree (default: the newest Debian
# source tree that scripts/build-openssl.sh extracted into the cache, fetched by running it
# when there is none; it is built out of tree and checked to stay unmodified);
# TLSRIG_CACHE the cache root (default ~/.cache/tlsrig).
#
# The build gets a fresh SRC holding the project (a symlink) as tlsrig and OpenSSL as openssl,
# CC=clang CXX=clang++ with the infrastructure's CFLAGS/CXXFLAGS and
# LIB_FUZZING_ENGINE=-fsanitize=fuzzer. Then $OUT is moved elsewhere, as the runners copy it,
# and from there, with TLSRIG_PKI unset and another working directory, each target must: exist;
# have its options file, its seed corpus zip and the dictionary its options name; run every
# input of its seed corpus with the options' flags (so libFuzzer parses the dictionary)
# without a crash; and fuzz for --seconds without a finding. The server target must fail
# without the shipped PKI (so the PKI lookup is what the check exercises).
#
# Exit status: 0 all checks passed, 1 the build or a check failed (the temporary directory,
# with any crash input, is kept and named), 2 bad usage, 3 a required tool is missing (clang
# with libFuzzer, zip, unzip, perl, make).
set -euo pipefail

# One braced block, read in full before any of it runs: editing this file during a run (the
# build takes minutes) cannot change what the running instance executes.
{

prog=test-oss-fuzz-build.sh
sanitizer=address seconds=5 use_cache=1 keep=0
usage() {
    echo "usage: scripts/$prog [--sanitizer address|undefined] [--seconds N] [--no-cache] [--keep]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --sanitizer) [ $# -ge 2 ] || usage; sanitizer=$2; shift 2 ;;
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --no-cache) use_cache=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "$prog: unknown argument: $1" >&2; usage ;;
    esac
done
case $seconds in '' | *[!0-9]*) echo "$prog: --seconds takes a number" >&2; exit 2 ;; esac

t_start=$(date +%s)
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

# ---- tools ---------------------------------------------------------------------------------
for tool in clang clang++ zip unzip perl make timeout flock sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "$prog: $tool is not installed; this check needs clang with libFuzzer" \
            "(scripts/setup-deps.sh installs the tools)" >&2
        exit 3
    }
done
probe=$(mktemp -d "${TMPDIR:-/tmp}/tlsrig-ossfuzz-probe.XXXXXX")
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' > "$probe/p.c"
if ! clang -fsanitize=fuzzer,address "$probe/p.c" -o "$probe/p" > "$probe/log" 2>&1; then
    cat "$probe/log" >&2
    rm -rf "$probe"
    echo "$prog: clang cannot link a libFuzzer target with ASan (libclang-rt-*-dev missing?)" >&2
    exit 3
fi
rm -rf "$probe"

# ---- the infrastructure's flags ------------------------------------------------------------
ub_checks=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero
ub_checks+=,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow
ub_checks+=,unreachable,vla-bound,vptr
case $sanitizer in
address) san_flags="-fsanitize=address -fsanitize-address-use-after-scope" ;;
undefined)
    # unsigned-integer-overflow is checked but recoverable, and silenced at run time
    san_flags="-fsanitize=$ub_checks,unsigned-integer-overflow -fno-sanitize-recover=$ub_checks"
    ;;
*) echo "$prog: --sanitizer takes address or undefined, not $sanitizer" >&2; exit 2 ;;
esac
flags="-O1 -fno-omit-frame-pointer -gline-tables-only $san_flags -fsanitize=fuzzer-no-link"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1}
unset TLSRIG_PKI

# ---- OpenSSL source ------------------------------------------------------------------------
cache=${TLSRIG_CACHE:-$HOME/.cache/tlsrig}
newest_src() {
    local d best=''
    for d in "$cache"/src/openssl-*/; do
        if [ ! -f "$d.complete" ] || [ ! -f "${d}Configure" ]; then continue; fi
        if [ -z "$best" ] || dpkg --compare-versions "$(basename "$d")" gt "$(basename "$best")"; then
            best=$d
        fi
    done
    echo "${best%/}"
}
if [ -n "${OPENSSL_SRC:-}" ]; then
    ossl_src=$OPENSSL_SRC
else
    ossl_src=$(newest_src)
    if [ -z "$ossl_src" ]; then
        echo "$prog: no OpenSSL source in $cache/src; scripts/build-openssl.sh plain fetches it"
        rc=0
        scripts/build-openssl.sh plain > /dev/null || rc=$?
        [ "$rc" -eq 0 ] || { echo "$prog: scripts/build-openssl.sh plain failed ($rc)" >&2; exit "$rc"; }
        ossl_src=$(newest_src)
        [ -n "$ossl_src" ] || { echo "$prog: still no OpenSSL source in $cache/src" >&2; exit 3; }
    fi
fi
[ -f "$ossl_src/Configure" ] || { echo "$prog: $ossl_src is not an OpenSSL source tree" >&2; exit 2; }
ossl_src=$(cd "$ossl_src" && pwd -P)
src_digest() { find "$ossl_src" -type f -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum; }
src_before=$(src_digest)

# ---- SRC, WORK, OUT ------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlsrig-ossfuzz.XXXXXX")
failed=1
# shellcheck disable=SC2317 # run by the EXIT trap
finish() {
    if [ "$failed" = 1 ] || [ "$keep" = 1 ]; then
        echo "$prog: kept $tmp (logs, \$OUT, crash inputs)"
    else
        rm -rf "$tmp"
    fi
}
trap finish EXIT
fail() {
    echo "$prog: FAIL: $*" >&2
    echo "$prog: took $(($(date +%s) - t_start)) s" >&2
    exit 1
}

src=$tmp/src out=$tmp/out
mkdir -p "$src"
ln -s "$root" "$src/tlsrig"
ln -s "$ossl_src" "$src/openssl"
cp .clusterfuzzlite/build.sh "$src/build.sh"
if [ "$use_cache" = 1 ]; then
    key=$( { clang --version; echo "$flags"; echo "$ossl_src"; } | sha256sum | cut -c1-16)
    work=$cache/oss-fuzz-work/$sanitizer-$key
    mkdir -p "$work"
    # One check at a time per cached WORK; wait up to an hour for another one to finish.
    exec 9> "$work.lock"
    flock -w 3600 9 || fail "timed out waiting for $work.lock"
else
    work=$tmp/work
    mkdir -p "$work"
fi

echo "$prog: build.sh with the $sanitizer flags (SRC=$src WORK=$work OUT=$out; log $tmp/build.log)"
b_start=$(date +%s)
rc=0
(cd "$src/tlsrig" && env CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer SRC="$src" WORK="$work" OUT="$out" \
    timeout 3600 bash "$src/build.sh") > "$tmp/build.log" 2>&1 || rc=$?
build_secs=$(($(date +%s) - b_start))
grep "^build.sh:" "$tmp/build.log" || true
if [ "$rc" -ne 0 ]; then
    tail -n 30 "$tmp/build.log" >&2
    fail "build.sh exited with status $rc after $build_secs s (log: $tmp/build.log)"
fi
echo "$prog: build.sh took $build_secs s"
[ "$src_before" = "$(src_digest)" ] || fail "the build wrote into the OpenSSL source $ossl_src"

# ---- checks, from where a runner would have copied $OUT --------------------------------------
run_out=$tmp/runner-out
mv "$out" "$run_out"
elsewhere=$tmp/cwd
mkdir -p "$elsewhere"
read -r -a targets <<< "$(sed -n 's/^FZ_TARGETS *:= *//p' fuzz/fuzz.mk | head -n 1)"
[ ${#targets[@]} -gt 0 ] || fail "cannot read FZ_TARGETS from fuzz/fuzz.mk"
[ -d "$run_out/tlsrig-pki" ] || fail "\$OUT has no tlsrig-pki/"

for t in "${targets[@]}"; do
    bin=$run_out/$t
    [ -x "$bin" ] || fail "$t: \$OUT/$t is missing or not executable"
    [ -f "$run_out/$t.options" ] || fail "$t: \$OUT/$t.options is missing"
    dict=$(sed -n 's/^[[:space:]]*dict[[:space:]]*=[[:space:]]*//p' "$run_out/$t.options")
    if [ -n "$dict" ]; then
        [ "$dict" = "$t.dict" ] || fail "$t: options name dict = $dict, not $t.dict"
        [ -s "$run_out/$dict" ] || fail "$t: \$OUT/$dict is missing or empty"
    fi
    seeds=$tmp/seeds/$t
    mkdir -p "$seeds"
    expected=0
    for d in corpus/$t corpus/regressions/$t; do
        [ -d "$d" ] || continue
        expected=$((expected + $(find "$d" -maxdepth 1 -type f ! -name '.*' | wc -l)))
    done
    if [ "$expected" -gt 0 ]; then
        [ -f "$run_out/${t}_seed_corpus.zip" ] || fail "$t: \$OUT/${t}_seed_corpus.zip is missing"
        unzip -q "$run_out/${t}_seed_corpus.zip" -d "$seeds" || fail "$t: the seed corpus zip is unreadable"
    fi
    n_seeds=$(find "$seeds" -type f | wc -l)
    # Equal names are equal seeds (content hashes), so the zip may hold fewer than the sum.
    if [ "$n_seeds" -eq 0 ] && [ "$expected" -gt 0 ] || [ "$n_seeds" -gt "$expected" ]; then
        fail "$t: the seed corpus zip holds $n_seeds files; corpus/ has $expected"
    fi
    mapfile -t opts < <("$root/scripts/fuzz-options.sh" "$run_out/$t.options")

    # every seed, once
    log=$tmp/$t-seeds.log
    rc=0
    (cd "$elsewhere" && timeout 900 "$bin" "${opts[@]}" -runs=0 -timeout=25 \
        -artifact_prefix="$tmp/crash-$t-" "$seeds") > "$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -n 25 "$log" >&2
        fail "$t: running its seed corpus exited with status $rc (log: $log)"
    fi
    if [ -n "$dict" ] && ! grep -q "^Dictionary: [1-9][0-9]* entries" "$log"; then
        fail "$t: libFuzzer did not load a dictionary from $dict (log: $log)"
    fi
    grep -q "INFO: seed corpus: files: $n_seeds " "$log" ||
        fail "$t: libFuzzer did not read the $n_seeds seeds (log: $log)"
    inited=$(sed -n 's/^#[0-9]*[[:space:]]*INITED.* cov: \([0-9]*\) .*/\1/p' "$log" | head -n 1)
    [ -n "$inited" ] || fail "$t: no INITED line from libFuzzer (log: $log)"
    line="$t: $n_seeds seeds ok, cov $inited"
    [ -n "$dict" ] && line+=", $(grep -o '^Dictionary: [0-9]* entries' "$log" | head -n 1 | cut -d' ' -f2) dictionary entries"

    # a short run
    if [ "$seconds" -gt 0 ]; then
        work_corpus=$tmp/work-corpus/$t
        mkdir -p "$work_corpus"
        cp -R "$seeds/." "$work_corpus/"
        log=$tmp/$t-fuzz.log
        rc=0
        (cd "$elsewhere" && timeout $((seconds + 120)) "$bin" "${opts[@]}" \
            -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
            -artifact_prefix="$tmp/crash-$t-" "$work_corpus") > "$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -n 10 >&2
            fail "$t: a $seconds s run exited with status $rc (log: $log; inputs: $tmp/crash-$t-*)"
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        [ "${runs:-0}" -gt 0 ] || fail "$t: the $seconds s run executed nothing (log: $log)"
        line+="; ${seconds} s run: $runs execs, cov $(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
    fi
    echo "$prog: $line"
done

# The PKI lookup: without the shipped PKI the server target must refuse to start.
mv "$run_out/tlsrig-pki" "$run_out/tlsrig-pki.away"
rc=0
# (the braces keep bash's "Aborted" notice about the expected abort off the terminal)
{ (cd "$elsewhere" && timeout 120 "$run_out/server" -runs=0 "$tmp/seeds/server") \
    > "$tmp/server-nopki.log" 2>&1 || rc=$?; } 2>/dev/null
mv "$run_out/tlsrig-pki.away" "$run_out/tlsrig-pki"
# (the harness aborts naming the PKI file it could not load)
if [ "$rc" -eq 0 ] || ! grep -q "^fuzz harness: .*tlsrig-pki" "$tmp/server-nopki.log"; then
    fail "server ran without its PKI (status $rc; log: $tmp/server-nopki.log)"
fi
echo "$prog: server refuses to run without \$OUT/tlsrig-pki, as it should"

failed=0
echo "$prog: PASS ($sanitizer): ${targets[*]}; build.sh $build_secs s, total $(($(date +%s) - t_start)) s"
exit 0
}
