#!/usr/bin/env bash
# run-tests.sh - run cmocka test binaries and print one summary line.
#
#   run-tests.sh LABEL BIN... [-- LABEL BIN...]...
#
# Each binary runs with a timeout (a hung test fails instead of hanging CI). Sanitizer
# builds run with leak detection on; a leak or sanitizer report fails the binary.
set -u

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
TIMEOUT=${TLSRIG_TEST_TIMEOUT:-300}

passed=0 failed=0 bad_bins=()
label=""
expect_label=1
for arg in "$@"; do
    if [ "$arg" = "--" ]; then expect_label=1; continue; fi
    if [ $expect_label -eq 1 ]; then label=$arg; expect_label=0; continue; fi
    bin=$arg
    log=$(mktemp)
    timeout "$TIMEOUT" "$bin" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    p=${p:-0} f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1   # crashed, timed out, leaked or a sanitizer fired after the tests
    fi
    passed=$((passed + p)) failed=$((failed + f))
    if [ $rc -ne 0 ]; then
        bad_bins+=("$label/$(basename "$bin")")
        echo "---- $label $(basename "$bin") (exit $rc) ----"
        cat "$log"
    else
        printf '%-6s %-28s %3d passed\n' "$label" "$(basename "$bin")" "$p"
    fi
    rm -f "$log"
done
echo
if [ ${#bad_bins[@]} -gt 0 ]; then
    echo "failing binaries: ${bad_bins[*]}"
fi
echo "unit tests: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ ${#bad_bins[@]} -eq 0 ]
