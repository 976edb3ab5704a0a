/*
 * afl_main.c - the AFL++ driver for any target: persistent mode with the test case in shared
 * memory. The target is initialised before the fork server starts, so every child inherits
 * its contexts instead of building them. Outside afl-fuzz it runs once on standard input.
 *
 * Only afl-clang-fast (and afl-clang-lto) define the __AFL_* macros used here.
 */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h> /* read(), which the __AFL_FUZZ_* macros use */

#include "harness.h"

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "afl_main.c builds only with afl-clang-fast: it uses AFL++ shared-memory persistent mode"
#endif

__AFL_FUZZ_INIT();

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    __AFL_INIT();
    /* The buffer must be fetched after __AFL_INIT, and the length on each iteration. */
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        LLVMFuzzerTestOneInput(buf, (size_t)len);
    }
    return 0;
}
