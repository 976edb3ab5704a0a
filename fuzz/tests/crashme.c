/*
 * crashme.c - a deliberately broken fuzz target, used only by the triage test
 * (fuzz/tests/test_triage.sh). It is never fuzzed and never part of fuzz-build.
 *
 * Targets: nothing of tlsrig; it gives scripts/fuzz-triage.sh known bugs to find, each behind
 * its own first byte, so that the test knows which inputs must land in the same signature.
 *
 * Input: one selector byte, then an argument byte where a bug needs one.
 *   'H' ...    heap-buffer-overflow: reads one byte past a copy of the input (crash_heap_read)
 *   'S' ...    heap-buffer-overflow again, in another function (crash_heap_write): the same
 *              kind, other frames, so it must not share a signature with 'H'
 *   'U' b ...  signed integer overflow (UBSan) when b > 16 (crash_signed_add)
 *   'N' ...    null pointer read: SEGV (crash_null_read)
 *   'L' ...    leaks a copy of the input (crash_leak)
 *   'A' ...    a failed assert (crash_assert)
 *   'T' ...    never returns (crash_spin): a timeout
 *   other      runs cleanly
 * Anything after the bytes a bug needs is ignored, so a minimiser can cut every input down to
 * one byte ('U': two).
 *
 * max_len: any.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The replay driver compares this between two runs of an input; crashme is deterministic. */
uint64_t fz_digest;

/* Written through volatile objects so that the compiler cannot see the bugs and fold them. */
static volatile uint8_t sink;
static int zero_int;
static int *volatile maybe_null = &zero_int;
static void *volatile leaked;

__attribute__((noinline)) static void crash_heap_read(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    sink = copy[size]; /* one byte past the end */
    free(copy);
}

__attribute__((noinline)) static void crash_heap_write(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    copy[size] = sink; /* one byte past the end */
    free(copy);
}

__attribute__((noinline)) static int crash_signed_add(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int v = INT_MAX - 16;
    v += data[1]; /* overflows for data[1] > 16 */
    return v;
}

__attribute__((noinline)) static int crash_null_read(void)
{
    maybe_null = NULL;
    int v = *maybe_null;
    maybe_null = &zero_int;
    return v;
}

__attribute__((noinline)) static void crash_leak(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size + 16);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    /* Stored in a volatile pointer, then overwritten: nothing refers to the block any more. */
    leaked = copy;
    leaked = NULL;
}

__attribute__((noinline)) static void crash_assert(const uint8_t *data, size_t size)
{
    assert(size == 0 || data[0] != 'A');
}

__attribute__((noinline)) static void crash_spin(void)
{
    for (;;)
        sink = (uint8_t)(sink + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_digest = 0;
    if (size == 0)
        return 0;
    switch (data[0]) {
    case 'H':
        crash_heap_read(data, size);
        break;
    case 'S':
        crash_heap_write(data, size);
        break;
    case 'U':
        sink = (uint8_t)crash_signed_add(data, size);
        break;
    case 'N':
        sink = (uint8_t)crash_null_read();
        break;
    case 'L':
        crash_leak(data, size);
        break;
    case 'A':
        crash_assert(data, size);
        break;
    case 'T':
        crash_spin();
        break;
    default:
        break;
    }
    return 0;
}
