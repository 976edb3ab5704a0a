/*
 * replay_main.c - the plain driver for any target: runs it over input files, and over every
 * file in the folders given, with no fuzzing engine (any C compiler, the system OpenSSL).
 *
 * Each input runs in its own child process, forked after the target is initialised: a crash
 * or a hang is counted against that input and the others still run. The child runs the input
 * twice and compares fz_digest, so an input that does not take the same path every time is
 * reported too: libFuzzer's coverage feedback and every recorded seed depend on it.
 *
 *   <target> [--no-fork] [--timeout SECS] [--digest] PATH...
 *                                                    replay; prints one summary line, and with
 *                                                    --digest a line "<fz_digest> <path>" per
 *                                                    input (16 hex digits; what the input made
 *                                                    the target do, to compare two builds)
 *   <target> TOOL-OPTIONS...                         a target's own tools (fz_tool_main)
 *
 * Summary: "replay <target>: N inputs, M crashes" (plus hangs and nondeterministic runs when
 * there are any). Exit status 0 when every input ran cleanly, 1 otherwise, 2 for bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define REPLAY_MAX_INPUT ((size_t)4 << 20)
#define EXIT_NONDETERMINISTIC 86

typedef struct counts {
    size_t inputs, crashes, hangs, nondet;
} counts;

static int print_digest;

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
        fclose(f);
        return -1;
    }
    size_t want = (size_t)st.st_size < REPLAY_MAX_INPUT ? (size_t)st.st_size : REPLAY_MAX_INPUT;
    uint8_t *buf = malloc(want > 0 ? want : 1);
    size_t n = buf != NULL ? fread(buf, 1, want, f) : 0;
    int bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Run one input twice in this process; returns 0, or EXIT_NONDETERMINISTIC. */
static int run_twice(const char *path, const uint8_t *data, size_t len)
{
    /* libFuzzer hands the target a buffer of exactly |len| bytes; so do we, so that ASan
     * sees a read past the input as what it is. */
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return 1;
    memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    uint64_t first = fz_digest;
    memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    if (print_digest) {
        printf("%016llx %s\n", (unsigned long long)first, path);
        fflush(stdout);
    }
    if (first == FZ_DIGEST_UNSTABLE || fz_digest == FZ_DIGEST_UNSTABLE)
        return 0;
    return fz_digest == first ? 0 : EXIT_NONDETERMINISTIC;
}

static void run_one(const char *path, int fork_each, unsigned timeout, counts *c)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) < 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        c->crashes++;
        return;
    }
    c->inputs++;
    if (!fork_each) {
        if (run_twice(path, data, len) != 0) {
            fprintf(stderr, "NONDETERMINISTIC %s: two runs took different paths\n", path);
            c->nondet++;
        }
        free(data);
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "replay: fork: %s\n", strerror(errno));
        c->crashes++;
        free(data);
        return;
    }
    if (pid == 0) {
        alarm(timeout);
        _exit(run_twice(path, data, len));
    }
    free(data);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        fprintf(stderr, "HANG %s: still running after %u s\n", path, timeout);
        c->hangs++;
    } else if (WIFSIGNALED(status)) {
        fprintf(stderr, "CRASH %s: signal %d (%s)\n", path, WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        c->crashes++;
    } else if (WEXITSTATUS(status) == EXIT_NONDETERMINISTIC) {
        fprintf(stderr, "NONDETERMINISTIC %s: two runs took different paths\n", path);
        c->nondet++;
    } else if (WEXITSTATUS(status) != 0) {
        fprintf(stderr, "CRASH %s: exit status %d\n", path, WEXITSTATUS(status));
        c->crashes++;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in |dir| (not recursing, skipping dot files), in name order, so two
 * runs over the same folder report in the same order. */
static void run_dir(const char *dir, int fork_each, unsigned timeout, counts *c)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(names, cap * sizeof(*names));
            if (nn == NULL)
                break;
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            run_one(path, fork_each, timeout, c);
        free(names[i]);
    }
    free(names);
}

static const char *target_name(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    return slash != NULL ? slash + 1 : argv0;
}

int main(int argc, char **argv)
{
    int fork_each = 1;
    unsigned timeout = 60;
    counts c = {0, 0, 0, 0};

    if (fz_tool_main != NULL) {
        int rc = fz_tool_main(argc, argv);
        if (rc >= 0)
            return rc;
    }
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--no-fork") == 0) {
            fork_each = 0;
        } else if (strcmp(argv[first], "--digest") == 0) {
            print_digest = 1;
        } else if (strcmp(argv[first], "--timeout") == 0 && first + 1 < argc) {
            timeout = (unsigned)strtoul(argv[++first], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--no-fork] [--timeout SECS] [--digest] FILE|DIR...\n",
                    argv[0]);
            return 2;
        }
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = first; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0)
            fprintf(stderr, "replay: %s: %s (skipped)\n", argv[i], strerror(errno));
        else if (S_ISDIR(st.st_mode))
            run_dir(argv[i], fork_each, timeout, &c);
        else
            run_one(argv[i], fork_each, timeout, &c);
    }
    printf("replay %s: %zu inputs, %zu crashes", target_name(argv[0]), c.inputs, c.crashes);
    if (c.hangs > 0)
        printf(", %zu hangs", c.hangs);
    if (c.nondet > 0)
        printf(", %zu nondeterministic", c.nondet);
    printf("\n");
    return c.crashes + c.hangs + c.nondet > 0 ? 1 : 0;
}
