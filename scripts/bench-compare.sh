#!/usr/bin/env bash
# bench-compare.sh - speed before and after a change, measured in one run.
#
#   scripts/bench-compare.sh --base REV [--rounds N] [--fuzz] [--passes N] [--bench-args ARGS]
#                            [--threshold R] [--build DIR]
#
# "Before" is REV, checked out into a temporary git worktree under BUILD/bench-compare/ (removed
# at the end, also on failure or interrupt); "after" is this tree as it is, uncommitted changes
# included. Each tree gets its own build of tlsrig-bench and the tlsrig runner, and with --fuzz
# the libFuzzer builds of the fuzz targets, both linked against one instrumented OpenSSL
# (scripts/build-openssl.sh fuzz). A target that one tree's Makefile cannot build is left out.
#
# Then, in rounds, both trees run the same work one after the other, the order swapped every
# round (before, after | after, before | ...) so a drift of the machine's speed cancels:
#   bench     tlsrig-bench PKI ARGS (default --quick): its engine/raw ratio per case
#   suite     tlsrig run -j 1 over one scenario folder (this tree's conformance/scenarios, or
#             REV's when REV's runner cannot read this one): scenarios/s
#   fuzz      each libFuzzer target run over the files of corpus/<target>/, every file N times
#             (--passes): executions per second, process start included
# The suite and fuzz rates are per CPU second of the process (user + system time): on a shared
# machine the time a process spends descheduled swings by tens of percent between runs, and
# would drown a few percent of real change. Rates per wall second are printed beside them.
# Every process is pinned to one CPU (taskset, CPU 0 unless CPU is set). Per measure, the
# before and after columns are medians over the rounds, and after/before is the median of the
# per-round quotients (each round's two runs ran next to each other in time).
#
# Exit status: 0 every after/before >= the threshold (0.97), 1 some below, 2 usage, 3 a build
# or a run failed.
set -euo pipefail

usage() {
    cat >&2 <<EOF
usage: $0 --base REV [--rounds N] [--fuzz] [--passes N] [--bench-args ARGS] [--threshold R]
          [--build DIR]
  --base REV         the "before" revision (a commit, tag or branch, e.g. HEAD~1)
  --rounds N         rounds of measurement, each running both trees (default 5)
  --fuzz             also compare the libFuzzer targets' exec/s
  --passes N         runs of each corpus file per fuzz measurement (default 20)
  --bench-args ARGS  tlsrig-bench options (default --quick; "" for its full measurement)
  --threshold R      lowest acceptable after/before (default 0.97)
  --build DIR        this tree's build directory (default build)
EOF
    exit 2
}

base='' rounds=5 fuzz=0 passes=20 bench_args=--quick threshold=0.97 build=build
while [ $# -gt 0 ]; do
    case $1 in
    --base) base=${2:-}; shift 2 ;;
    --rounds) rounds=${2:-}; shift 2 ;;
    --fuzz) fuzz=1; shift ;;
    --passes) passes=${2:-}; shift 2 ;;
    --bench-args) bench_args=${2-}; shift 2 ;;
    --threshold) threshold=${2:-}; shift 2 ;;
    --build) build=${2:-}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "bench-compare: unknown argument '$1'" >&2; usage ;;
    esac
done
[ -n "$base" ] || { echo "bench-compare: --base REV is required" >&2; usage; }
for n in "$rounds" "$passes"; do
    case $n in '' | *[!0-9]* | 0) echo "bench-compare: '$n' is not a positive count" >&2; usage ;; esac
done
case $threshold in '' | *[!0-9.]*) echo "bench-compare: bad --threshold" >&2; usage ;; esac

cd "$(dirname "$0")/.."
here=$PWD
say() { echo "bench-compare: $*" >&2; }
fail() { say "$*"; exit 3; }

rev=$(git rev-parse --verify --quiet "$base^{commit}") || fail "'$base' is not a commit"
short=$(git rev-parse --short "$rev")
after_desc="working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- 2>/dev/null ||
    echo ', uncommitted changes'))"

pin_cpu=${CPU:-0}
pin=()
command -v taskset >/dev/null 2>&1 && pin=(taskset -c "$pin_cpu")

work=$(realpath -m "$build")/bench-compare
wt=$work/before
# cleanup - remove the temporary worktree, and its registration even when the folder is gone
cleanup() {
    git worktree remove --force "$wt" >/dev/null 2>&1 || true
    rm -rf "$wt"
    if git worktree list --porcelain | grep -qxF "worktree $wt"; then git worktree prune; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- builds ----
cleanup
rm -rf "$work"
mkdir -p "$work"
say "checking out $base ($short) into $wt"
git worktree add --quiet --detach "$wt" "$rev" || fail "git worktree add failed"

bins=(build/bin/tlsrig-bench build/bin/tlsrig)
targets=(server client scenario scenario_parser)
make_args=()
if [ "$fuzz" = 1 ]; then
    say "instrumented OpenSSL (cached after the first build)"
    prefix=$(scripts/build-openssl.sh fuzz | tail -n 1) || fail "scripts/build-openssl.sh failed"
    make_args=(FUZZ_OPENSSL="$prefix")
    for t in "${targets[@]}"; do bins+=("build/fuzz/libfuzzer/$t"); done
fi

# build_tree NAME TREE-DIR BUILD-DIR - make every binary of $bins that the tree's Makefile knows
build_tree() {
    local name=$1 dir=$2 out=$3 b want=()
    for b in "${bins[@]}"; do
        local target=$out/${b#build/}
        if make -C "$dir" -n BUILD="$out" "${make_args[@]}" "$target" >/dev/null 2>&1; then
            want+=("$target")
        else
            say "$name: no rule for $target, left out"
        fi
    done
    [ ${#want[@]} -gt 0 ] || return 0
    make -C "$dir" --no-print-directory -s -j"$(nproc)" BUILD="$out" "${make_args[@]}" \
        "${want[@]}" >"$work/build-$name.log" 2>&1 ||
        { tail -n 30 "$work/build-$name.log" >&2; fail "building $name in $dir failed"; }
}
say "building before ($short)"
build_tree before "$wt" build
say "building after (this tree)"
build_tree after "$here" "$build"

# path TREE BIN - the binary of TREE ("before" or "after"), empty when it was not built
path() {
    local p
    if [ "$1" = before ]; then p=$wt/build/${2#build/}; else p=$build/${2#build/}; fi
    if [ -x "$p" ]; then echo "$p"; fi
}

pki=$here/pki
suite=$here/conformance/scenarios
if [ -n "$(path before build/bin/tlsrig)" ] &&
    ! "$(path before build/bin/tlsrig)" list "$suite" >/dev/null 2>&1; then
    say "$short's runner cannot read this tree's scenarios; both trees run $short's instead"
    suite=$wt/conformance/scenarios
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32:malloc_context_size=5}

# ---- measures; each appends "measure<TAB>tree<TAB>round<TAB>value" lines to $results ----
results=$work/results.tsv
: >"$results"
# measure_bench TREE ROUND - tlsrig-bench's engine/raw ratio per case
measure_bench() {
    local bin log
    bin=$(path "$1" build/bin/tlsrig-bench)
    [ -n "$bin" ] || return 0
    log=$work/bench-$1-$2.log
    # shellcheck disable=SC2086 # bench_args is a list of options
    "${pin[@]}" "$bin" "$pki" $bench_args >"$log" 2>&1 || { cat "$log" >&2; fail "$bin failed"; }
    awk -v tree="$1" -v round="$2" '
        $2 == "engine" && $4 == "raw" && $6 == "ratio" {
            printf "engine/raw %s\t%s\t%s\t%s\n", $1, tree, round, $7
        }' "$log" >>"$results"
}

# timed LOG CMD... - run CMD pinned, its output to LOG; sets $rc (its exit status), $wall
# (elapsed seconds) and $cpu (user + system seconds)
TIMEFORMAT='%R %U %S'
timed() {
    local log=$1 user sys
    shift
    rc=0
    { time "${pin[@]}" "$@" >"$log" 2>&1; } 2>"$work/time.out" || rc=$?
    read -r wall user sys <"$work/time.out"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
}

# record MEASURE TREE ROUND COUNT - append COUNT per CPU second and per wall second
record() {
    awk -v m="$1" -v tree="$2" -v round="$3" -v n="$4" -v c="$cpu" -v w="$wall" 'BEGIN {
        printf "%s\t%s\t%s\t%.3f\n", m, tree, round, n / c
        printf "%s (wall)\t%s\t%s\t%.3f\n", m, tree, round, n / w
    }' >>"$results"
}

# measure_suite TREE ROUND - scenarios/s of tlsrig run -j 1
measure_suite() {
    local bin count log
    bin=$(path "$1" build/bin/tlsrig)
    [ -n "$bin" ] || return 0
    count=$("$bin" list "$suite" | wc -l)
    log=$work/suite-$1-$2.log
    timed "$log" "$bin" run --pki "$pki" -j 1 "$suite"
    # 1 is "a scenario failed": still a measurement of speed; worse means it did not run
    [ "$rc" -le 1 ] || { tail -n 20 "$log" >&2; fail "$bin run failed ($rc)"; }
    [ "$rc" -eq 0 ] || say "$1: some scenarios fail (log: $log)"
    record "scenarios/s (-j 1)" "$1" "$2" "$count"
}

# measure_fuzz TREE ROUND - exec/s of each libFuzzer target over its committed corpus
measure_fuzz() {
    local t bin files log
    for t in "${targets[@]}"; do
        bin=$(path "$1" "build/fuzz/libfuzzer/$t")
        [ -n "$bin" ] || continue
        files=("$here/corpus/$t"/*)
        log=$work/fuzz-$t-$1-$2.log
        timed "$log" "$bin" -runs="$passes" "${files[@]}"
        [ "$rc" -eq 0 ] || { tail -n 20 "$log" >&2; fail "$bin failed over corpus/$t"; }
        record "fuzz $t exec/s" "$1" "$2" "$((${#files[@]} * passes))"
    done
}

measures=(measure_bench measure_suite)
[ "$fuzz" = 1 ] && measures+=(measure_fuzz)
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order=(before after); else order=(after before); fi
    say "round $r of $rounds (${order[0]} first)"
    for m in "${measures[@]}"; do
        for tree in "${order[@]}"; do "$m" "$tree" "$r"; done
    done
done

# ---- summary ----
echo "bench-compare: before = $base ($short), after = $after_desc"
where="pinned to CPU $pin_cpu"
[ ${#pin[@]} -gt 0 ] || where="not pinned (no taskset)"
echo "rounds: $rounds, order swapped each round, medians over rounds; $where"
echo "rates per CPU second of the process (user + system), so time spent descheduled on a"
echo "shared machine does not count; the (wall) rows are per elapsed second, shown, not judged"
awk -F '\t' -v threshold="$threshold" '
    function median(list,    v, n, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    {
        if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
        val[$1, $2] = val[$1, $2] " " $4
        round[$1, $2, $3] = $4
        rounds[$1] = rounds[$1] " " $3
    }
    END {
        printf "%-40s %12s %12s %13s\n", "measure", "before", "after", "after/before"
        bad = 0
        for (i = 1; i <= n; i++) {
            m = order[i]; q = ""
            split(rounds[m], rs, " ")
            for (k in rs)
                if (!((m, rs[k]) in done) && ((m, "before", rs[k]) in round) &&
                    ((m, "after", rs[k]) in round) && round[m, "before", rs[k]] > 0) {
                    done[m, rs[k]] = 1
                    q = q " " round[m, "after", rs[k]] / round[m, "before", rs[k]]
                }
            b = ((m, "before") in val) ? sprintf("%.3f", median(val[m, "before"])) : "n/a"
            a = ((m, "after") in val) ? sprintf("%.3f", median(val[m, "after"])) : "n/a"
            ratio[m] = q == "" ? "" : median(q)
            printf "%-40s %12s %12s %13s\n", m, b, a, q == "" ? "n/a" : sprintf("%.3f", ratio[m])
        }
        print ""
        for (i = 1; i <= n; i++) {
            m = order[i]
            if (m ~ / \(wall\)$/)
                continue
            if (ratio[m] == "") {
                printf "%s: after/before = n/a (measured in one tree only)\n", m
                continue
            }
            # judged as printed, so 0.968 reads 0.97 and passes a 0.97 threshold
            ok = sprintf("%.2f", ratio[m]) + 0 >= threshold + 0
            bad += !ok
            printf "%s: after/before = %.2f (%s)\n", m, ratio[m],
                   ok ? ">= " threshold " ok" : "below " threshold
        }
        exit bad > 0
    }' "$results" | tee "$work/summary.txt" || exit 1
