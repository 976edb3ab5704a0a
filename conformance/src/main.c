/*
 * main.c - tlsrig, the conformance runner: run, list, record and replay scenarios.
 *
 * Scenarios run in worker processes forked from the runner. The engine under test may crash
 * or spin, and one scenario doing so must still leave a verdict for every other one: the
 * parent hands a worker one scenario at a time over a socket pair, the worker sends back
 * its verdict, and the parent turns a worker's death into "crashed" for the scenario it was
 * running and kills a worker whose scenario outlives --timeout. A fresh worker then takes
 * the rest. A worker runs many scenarios because a process per scenario costs more than
 * most scenarios do (fork, copy-on-write faults, exit); each scenario still starts from its
 * own seed, since rig_run restarts the deterministic source and the virtual clock and frees
 * every context it made.
 *
 * Results are printed sorted by id whatever order the workers finish in, so -j N prints
 * exactly what -j 1 prints.
 *
 * Exit status: 0 all passed (expected failures included), 1 a scenario failed, passed
 * unexpectedly, timed out or crashed, 2 malformed input or bad usage, 3 internal error.
 * When several apply the highest wins: an internal error means the verdicts cannot be
 * trusted, and malformed input means some scenarios were never judged.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcapng.h"
#include "report.h"
#include "rig.h"
#include "scn.h"
#include "transcript.h"

/* Sanitized builds check the workers for leaks themselves (see worker_main). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define TLSRIG_LSAN 1
#endif
#endif
#if !defined(TLSRIG_LSAN) && defined(__SANITIZE_ADDRESS__)
#define TLSRIG_LSAN 1
#endif
#ifndef TLSRIG_LSAN
#define TLSRIG_LSAN 0
#endif
#if TLSRIG_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define PROG "tlsrig"

enum {
    EXIT_PASSED = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2, /* also malformed input */
    EXIT_INTERNAL = 3,
};

#define DEFAULT_TIMEOUT 20.0
#define DEFAULT_PKI "pki"
#define DEFAULT_PCAP_DIR "build/conformance-failures"
#define MAX_JOBS 1024

/* Not in the usage text: the most scenarios one worker process runs before a fresh one
 * takes over (0: no limit, the default; replay defaults to 1). 1 gives every scenario a
 * process of its own, which is how to check that batching changes no verdict or byte. */
#define BATCH_ENV "TLSRIG_BATCH"

/* The interpreter's own wall-clock limit is set below the kill deadline, so a scenario that
 * is merely slow fails with the line it was on rather than a bare "timed out". */
#define WALL_SHARE 0.75

#define TEXT_MAX 2048  /* one message */
#define PATH_TEXT 1024 /* a capture path */

/* ---- small helpers ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* truncate_into is snprintf for messages: cutting a long one short is intended, and a
 * separate name keeps that visible (and out of the truncation warning, which is for
 * writes that must not be cut). */
static void truncate_into(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void truncate_into(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static void die_oom(void)
{
    fprintf(stderr, PROG ": out of memory\n");
    exit(EXIT_INTERNAL);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n > 0 ? n : 1, size);
    if (p == NULL)
        die_oom();
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        die_oom();
    return d;
}

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static void sv_push(strvec *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap == 0 ? 16 : sv->cap * 2;
        char **v = realloc(sv->v, cap * sizeof(*v));
        if (v == NULL)
            die_oom();
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = xstrdup(s);
}

static void sv_free(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* natural_cmp orders digit runs by value, so "RFC 5246" sorts before "RFC 8446" and
 * "§4.2" before "§4.10". Ties fall back to plain byte order to keep the order total. */
static int natural_cmp(const char *a, const char *b)
{
    const char *p = a, *q = b;
    while (*p != '\0' && *q != '\0') {
        if (isdigit((unsigned char)*p) && isdigit((unsigned char)*q)) {
            while (*p == '0')
                p++;
            while (*q == '0')
                q++;
            size_t np = 0, nq = 0;
            while (isdigit((unsigned char)p[np]))
                np++;
            while (isdigit((unsigned char)q[nq]))
                nq++;
            if (np != nq)
                return np < nq ? -1 : 1;
            int c = memcmp(p, q, np);
            if (c != 0)
                return c;
            p += np;
            q += nq;
            continue;
        }
        if (*p != *q)
            return (unsigned char)*p < (unsigned char)*q ? -1 : 1;
        p++;
        q++;
    }
    if (*p != *q)
        return (unsigned char)*p < (unsigned char)*q ? -1 : 1;
    return strcmp(a, b);
}

/* sanitize_id makes a variant id a file name: "x[version=1.2]" -> "x_version=1.2_". Only a
 * conservative set of characters survives, so the name needs no quoting in a shell and can
 * never climb out of its folder. */
static void sanitize_id(const char *id, char *out, size_t outlen)
{
    size_t n = 0;
    for (const char *p = id; *p != '\0' && n + 1 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        int keep = isalnum(c) || c == '-' || c == '_' || c == '=' || c == ',' || c == '+' ||
                   (c == '.' && n > 0);
        out[n++] = keep ? (char)c : '_';
    }
    if (n == 0 && outlen > 1)
        out[n++] = '_';
    out[n] = '\0';
}

/* mkdir_p creates |dir| and its parents; an existing folder is fine (workers racing to
 * create the capture folder all succeed). */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    struct stat st;
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
            truncate_into(err, errlen, "cannot create %s: %s", buf, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot create %s: not a folder", dir);
        return -1;
    }
    return 0;
}

static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    if (f == NULL)
        goto cleanup;
    for (;;) {
        if (n == cap) {
            cap = cap == 0 ? 65536 : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL)
                goto cleanup;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto cleanup;
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
    rc = 0;
cleanup:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

static int write_file(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        truncate_into(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    size_t put = fwrite(data, 1, len, f);
    int bad = put != len || ferror(f);
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        truncate_into(err, errlen, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

/* ---- command line ---- */

typedef enum command {
    CMD_RUN = 1,
    CMD_LIST = 2,
    CMD_RECORD = 4,
    CMD_REPLAY = 8,
} command;

static const char *const command_names[] = {"run", "list", "record", "replay", NULL};

typedef enum opt_id {
    OPT_FILTER,
    OPT_JOBS,
    OPT_TAP,
    OPT_JUNIT,
    OPT_JSON,
    OPT_PKI,
    OPT_PCAP_DIR,
    OPT_TIMEOUT,
    OPT_RFC,
    OPT_OUTDIR,
} opt_id;

static const struct option_def {
    const char *name;
    const char *alias;
    opt_id id;
    int has_arg;
    unsigned commands;
} option_defs[] = {
    {"-k", NULL, OPT_FILTER, 1, CMD_RUN | CMD_LIST},
    {"-j", "--jobs", OPT_JOBS, 1, CMD_RUN},
    {"--tap", NULL, OPT_TAP, 0, CMD_RUN},
    {"--junit", NULL, OPT_JUNIT, 1, CMD_RUN},
    {"--json", NULL, OPT_JSON, 1, CMD_RUN},
    {"--pki", NULL, OPT_PKI, 1, CMD_RUN | CMD_RECORD | CMD_REPLAY},
    {"--pcap-dir", NULL, OPT_PCAP_DIR, 1, CMD_RUN},
    {"--timeout", NULL, OPT_TIMEOUT, 1, CMD_RUN | CMD_RECORD | CMD_REPLAY},
    {"--rfc", NULL, OPT_RFC, 0, CMD_LIST},
    {"-o", "--output", OPT_OUTDIR, 1, CMD_RECORD},
};

#define N_OPTION_DEFS (sizeof(option_defs) / sizeof(option_defs[0]))

typedef struct options {
    command cmd;
    const char *cmd_name;
    const char *filter;
    long jobs;
    int tap;
    int rfc;
    const char *junit;
    const char *json;
    const char *pki;
    const char *pcap_dir;
    const char *outdir;
    double timeout;
    long batch; /* see BATCH_ENV */
    const char **paths;
    size_t n_paths;
} options;

static void usage(void)
{
    fputs("usage: " PROG " <command> [options] PATH...\n"
          "\n"
          "commands:\n"
          "  run [-k SUBSTR] [-j N] [--tap] [--junit FILE] [--json FILE] [--pki DIR]\n"
          "      [--pcap-dir DIR] [--timeout SECS] PATH...\n"
          "        run scenarios: .scn files, or folders searched for them recursively\n"
          "  list [--rfc] [-k SUBSTR] PATH...\n"
          "        one line per variant with its RFC sections; --rfc: the sections covered\n"
          "  record [--pki DIR] -o OUTDIR FILE...\n"
          "        run and write OUTDIR/<id>.tls, <id>.pcapng and <id>.keylog\n"
          "  replay [--pki DIR] TRANSCRIPT...\n"
          "        run recorded scenarios again and compare the wire bytes\n"
          "\n"
          "options:\n"
          "  -k SUBSTR        only variants whose id contains SUBSTR\n"
          "  -j N             run N scenarios at once (0: one per CPU; default 1)\n"
          "  --tap            TAP version 13 instead of result lines\n"
          "  --junit FILE     also write JUnit XML;  --json FILE  also write JSON\n"
          "  --pki DIR        test PKI (default $TLSRIG_PKI, else " DEFAULT_PKI ")\n"
          "  --pcap-dir DIR   captures of failing scenarios (default " DEFAULT_PCAP_DIR "/)\n"
          "  --timeout SECS   kill a scenario after SECS seconds (default 20; 0: never)\n"
          "\n"
          "exit status: 0 all passed, 1 a scenario failed, 2 malformed input or bad usage,\n"
          "3 internal error\n",
          stderr);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static const struct option_def *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTION_DEFS; i++) {
        const struct option_def *d = &option_defs[i];
        if ((strlen(d->name) == len && strncmp(d->name, name, len) == 0) ||
            (d->alias != NULL && strlen(d->alias) == len && strncmp(d->alias, name, len) == 0))
            return d;
    }
    return NULL;
}

static int unknown_option(const char *arg, size_t len)
{
    const char *names[2 * N_OPTION_DEFS + 2];
    size_t k = 0;
    char word[256];
    snprintf(word, sizeof(word), "%.*s", (int)(len < 255 ? len : 255), arg);
    for (size_t i = 0; i < N_OPTION_DEFS; i++) {
        /* Suggestions for one-letter options would match almost anything. */
        if (strlen(option_defs[i].name) > 2)
            names[k++] = option_defs[i].name;
        if (option_defs[i].alias != NULL)
            names[k++] = option_defs[i].alias;
    }
    names[k++] = "--help";
    names[k] = NULL;
    const char *near = strlen(word) > 2 ? scn_nearest(word, names) : NULL;
    if (near != NULL)
        return usage_error("unknown option '%s' (did you mean '%s'?)", word, near);
    return usage_error("unknown option '%s'", word);
}

static int parse_number(const char *opt, const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    /* The comparisons also turn away NaN, which fails both. */
    if (errno != 0 || end == v || *end != '\0' || !(d >= 0 && d <= 1e9))
        return usage_error("%s: '%s' is not a non-negative number", opt, v);
    *out = d;
    return 0;
}

/* set_option stores one option value. Returns 0 or an exit status. */
static int set_option(options *o, const struct option_def *d, const char *shown, const char *v)
{
    double num = 0;
    switch (d->id) {
    case OPT_FILTER:
        o->filter = v;
        return 0;
    case OPT_JOBS:
        if (parse_number(shown, v, &num) != 0)
            return EXIT_USAGE;
        if (num != (double)(long)num || num > MAX_JOBS)
            return usage_error("%s: '%s' is not a whole number from 0 to %d", shown, v, MAX_JOBS);
        o->jobs = (long)num;
        return 0;
    case OPT_TAP:
        o->tap = 1;
        return 0;
    case OPT_JUNIT:
        o->junit = v;
        return 0;
    case OPT_JSON:
        o->json = v;
        return 0;
    case OPT_PKI:
        o->pki = v;
        return 0;
    case OPT_PCAP_DIR:
        o->pcap_dir = v;
        return 0;
    case OPT_TIMEOUT:
        return parse_number(shown, v, &o->timeout) != 0 ? EXIT_USAGE : 0;
    case OPT_RFC:
        o->rfc = 1;
        return 0;
    case OPT_OUTDIR:
        o->outdir = v;
        return 0;
    default:
        return usage_error("internal: option %s has no handler", shown);
    }
}

/* parse_args fills |o|. Options may come before or after the paths (as in
 * `record x.scn -o out/`); `--` ends them. Returns 0, or the exit status to leave with. */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    o->jobs = 1;
    o->timeout = DEFAULT_TIMEOUT;
    if (argc < 2) {
        usage();
        return EXIT_USAGE;
    }
    const char *c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        usage();
        return EXIT_USAGE;
    }
    for (size_t i = 0; command_names[i] != NULL; i++) {
        if (strcmp(c, command_names[i]) == 0) {
            o->cmd = (command)(1u << i);
            o->cmd_name = command_names[i];
        }
    }
    if (o->cmd == 0) {
        const char *near = c[0] != '-' ? scn_nearest(c, command_names) : NULL;
        if (c[0] == '-' && find_option(c, strcspn(c, "=")) == NULL)
            return unknown_option(c, strcspn(c, "="));
        if (c[0] == '-')
            fprintf(stderr, PROG ": a command comes first, before options such as '%s'\n", c);
        else if (near != NULL)
            fprintf(stderr, PROG ": unknown command '%s' (did you mean '%s'?)\n", c, near);
        else
            fprintf(stderr, PROG ": unknown command '%s'\n", c);
        usage();
        return EXIT_USAGE;
    }
    o->paths = xcalloc((size_t)argc, sizeof(*o->paths));
    int only_paths = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (only_paths || a[0] != '-' || a[1] == '\0') {
            o->paths[o->n_paths++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_paths = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return EXIT_USAGE;
        }
        /* --name=value, --name value, -kVALUE, -k VALUE */
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const char *value = eq != NULL ? eq + 1 : NULL;
        const struct option_def *d = find_option(a, nlen);
        if (d == NULL && a[1] != '-' && strlen(a) > 2) {
            d = find_option(a, 2);
            if (d != NULL && d->has_arg) {
                nlen = 2;
                value = a + 2;
            } else {
                d = NULL;
            }
        }
        if (d == NULL)
            return unknown_option(a, nlen);
        char shown[64];
        snprintf(shown, sizeof(shown), "%.*s", (int)(nlen < 63 ? nlen : 63), a);
        if ((d->commands & o->cmd) == 0)
            return usage_error("option '%s' does not apply to '%s'", shown, o->cmd_name);
        if (!d->has_arg) {
            if (value != NULL)
                return usage_error("option '%s' takes no value", shown);
        } else if (value == NULL) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", shown);
            value = argv[++i];
        }
        int rc = set_option(o, d, shown, value);
        if (rc != 0)
            return rc;
    }
    if (o->n_paths == 0) {
        const char *what = o->cmd == CMD_REPLAY   ? "transcript files"
                           : o->cmd == CMD_RECORD ? "scenario files"
                                                  : "scenario files or folders";
        fprintf(stderr, PROG " %s: no paths given: name the %s to use\n", o->cmd_name, what);
        return EXIT_USAGE;
    }
    if (o->cmd == CMD_RECORD && o->outdir == NULL)
        return usage_error("record needs -o OUTDIR: the folder to write transcripts to");
    if (o->jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        o->jobs = cpus > 0 ? (cpus < MAX_JOBS ? cpus : MAX_JOBS) : 1;
    }
    /* replay is the reference for the wire bytes: each transcript gets a process of its
     * own unless asked otherwise, so it does not depend on the batching it checks. */
    o->batch = o->cmd == CMD_REPLAY ? 1 : 0;
    const char *batch = getenv(BATCH_ENV);
    if (batch != NULL && batch[0] != '\0') {
        double num = 0;
        if (parse_number(BATCH_ENV, batch, &num) != 0)
            return EXIT_USAGE;
        if (num != (double)(long)num)
            return usage_error("%s: '%s' is not a whole number", BATCH_ENV, batch);
        o->batch = (long)num;
    }
    return 0;
}

/* ---- collecting files ---- */

/* collect_dir adds the files under |dir| whose names end in |ext|. Hidden entries are
 * skipped, and symbolic links to folders are not followed, so a link loop cannot recurse
 * forever. */
static void collect_dir(const char *dir, const char *ext, strvec *out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, PROG ": %s: cannot read folder: %s\n", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = xcalloc(n, 1);
        snprintf(path, n, "%s%s%s", dir, ends_with(dir, "/") ? "" : "/", e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                collect_dir(path, ext, out);
            else if (ends_with(e->d_name, ext) &&
                     (S_ISREG(st.st_mode) ||
                      (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISREG(st.st_mode))))
                sv_push(out, path);
        }
        free(path);
    }
    closedir(d);
}

/* collect_paths expands the command line: a file is taken as it is, a folder gives the
 * files under it ending in |ext|. The result is sorted and without repeats. Returns 0 or
 * an exit status. */
static int collect_paths(const options *o, const char *ext, strvec *out)
{
    for (size_t i = 0; i < o->n_paths; i++) {
        const char *p = o->paths[i];
        struct stat st;
        if (stat(p, &st) < 0)
            return usage_error("%s: %s", p, strerror(errno));
        if (S_ISDIR(st.st_mode)) {
            size_t before = out->n;
            collect_dir(p, ext, out);
            if (out->n == before)
                return usage_error("%s: no %s files in this folder", p, ext);
        } else {
            sv_push(out, p);
        }
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (k > 0 && strcmp(out->v[k - 1], out->v[i]) == 0) {
            free(out->v[i]);
            continue;
        }
        out->v[k++] = out->v[i];
    }
    out->n = k;
    return 0;
}

/* ---- jobs ---- */

/* What a worker sends back. Fixed size, so the parent knows where one message ends. */
typedef enum msg_kind {
    MSG_VERDICT = 'V', /* status: rig_status of the run */
    MSG_CAPTURE = 'C', /* status: 0 written, 1 written but the capture run differed, -1 not */
    MSG_DONE = 'D',    /* the scenario is over: the worker waits for the next one */
} msg_kind;

typedef struct wire_msg {
    int kind;
    int status;
    double seconds;
    char text[TEXT_MAX];
} wire_msg;

typedef struct job {
    const scn *s;      /* the variant; NULL for an input that did not parse */
    const char *label; /* what the result line names: the id, or the transcript */
    const char *file;
    const char *stem;
    const transcript *tr; /* replay: what was recorded */

    /* the outcome */
    int done;
    report_kind kind;
    int exit_code;
    char message[TEXT_MAX + PATH_TEXT + 64];
    char detail[TEXT_MAX];
    char pcap[PATH_TEXT];
    double seconds;

    /* while a worker runs it */
    double started;
    int have_verdict;
    wire_msg verdict;
    int have_capture;
    wire_msg capture;
} job;

typedef struct runner {
    command cmd;
    const char *pki;
    const char *pcap_dir;
    const char *outdir;
    double timeout;
    long jobs;
    long batch; /* scenarios one worker process runs before it is replaced; 0: no limit */
} runner;

/* A worker process: it runs the scenarios it is handed, one at a time. */
typedef struct worker {
    pid_t pid;    /* 0: no process in this slot */
    int fd;       /* the parent's end of the socket pair; -1 once the worker closed it */
    long cur;     /* the job it is running, -1 when idle */
    long ran;     /* jobs handed to it */
    double since; /* when it was handed |cur|, or when it closed its end while idle */
    wire_msg in;
    size_t got;
} worker;

/* The parent's side of the workers: their slots and what poll needs. */
typedef struct pool {
    worker *ws;
    size_t n_ws;
    struct pollfd *pfd;
    size_t *owner; /* the slot of each pfd entry */
} pool;

static void job_set(job *j, report_kind kind, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void job_set(job *j, report_kind kind, int exit_code, const char *fmt, ...)
{
    va_list ap;
    j->done = 1;
    j->kind = kind;
    j->exit_code = exit_code;
    va_start(ap, fmt);
    vsnprintf(j->message, sizeof(j->message), fmt, ap);
    va_end(ap);
}

/* malformed_job records input that was never run: it prints as ERROR and exits 2. */
static job *malformed_job(job *j, const char *label, const char *file, const char *stem,
                          const char *message)
{
    memset(j, 0, sizeof(*j));
    j->label = label;
    j->file = file;
    j->stem = stem;
    job_set(j, REPORT_ERROR, EXIT_USAGE, "%s", message);
    return j;
}

static int cmp_job(const void *a, const void *b)
{
    const job *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    return c != 0 ? c : strcmp(x->file, y->file);
}

static void child_send(int fd, msg_kind kind, int status, double seconds, const char *text)
{
    wire_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.status = status;
    m.seconds = seconds;
    snprintf(m.text, sizeof(m.text), "%s", text != NULL ? text : "");
    const char *p = (const char *)&m;
    size_t left = sizeof(m);
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(EXIT_INTERNAL);
        p += w;
        left -= (size_t)w;
    }
}

static rig_options run_options(const runner *r, int capture)
{
    rig_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.pki_dir = r->pki;
    opt.capture = capture;
    opt.wall_limit = r->timeout > 0 ? r->timeout * WALL_SHARE : 1e9;
    return opt;
}

/* child_capture runs a failed scenario again with capture on and writes the pcapng. The
 * run is deterministic, so it fails the same way; if it does not, the capture is still
 * kept, but the parent is told it shows a different run. */
static void child_capture(const runner *r, const job *j, const char *first_message, int fd)
{
    char path[PATH_TEXT], name[256], err[512];
    rig_options opt = run_options(r, 1);
    rig_result res;
    rig_status rs = rig_run(j->s, &opt, &res);
    int same = rs == RIG_FAIL && strcmp(res.message, first_message) == 0;
    int rc = -1;
    sanitize_id(j->s->id, name, sizeof(name));
    if (mkdir_p(r->pcap_dir, err, sizeof(err)) < 0)
        goto cleanup;
    if (snprintf(path, sizeof(path), "%s%s%s.pcapng", r->pcap_dir,
                 ends_with(r->pcap_dir, "/") ? "" : "/", name) >= (int)sizeof(path)) {
        snprintf(err, sizeof(err), "capture path too long");
        goto cleanup;
    }
    if (pcapng_write(path, res.chunks, res.n_chunks, res.keylog, res.keylog_len, err, sizeof(err)) <
        0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc < 0)
        child_send(fd, MSG_CAPTURE, -1, 0, err);
    else
        child_send(fd, MSG_CAPTURE, same ? 0 : 1, 0, path);
    rig_result_cleanup(&res);
}

/* record: the transcript, the pcapng and the key log of one passing run. */
static int record_files(const runner *r, const job *j, const rig_result *res, char *err,
                        size_t errlen)
{
    char name[256], path[PATH_MAX];
    char *source = NULL;
    size_t source_len = 0;
    int rc = -1;
    sanitize_id(j->s->id, name, sizeof(name));
    if (read_file(j->s->path, &source, &source_len) < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", j->s->path, strerror(errno));
        goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/%s.tls", r->outdir, name);
    if (transcript_write(path, j->s->id, j->s->seed, source, source_len, res->chunks, res->n_chunks,
                         err, errlen) < 0)
        goto cleanup;
    snprintf(path, sizeof(path), "%s/%s.pcapng", r->outdir, name);
    if (pcapng_write(path, res->chunks, res->n_chunks, res->keylog, res->keylog_len, err, errlen) <
        0)
        goto cleanup;
    snprintf(path, sizeof(path), "%s/%s.keylog", r->outdir, name);
    if (write_file(path, res->keylog != NULL ? res->keylog : "", res->keylog_len, err, errlen) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(source);
    return rc;
}

static void child_main(const runner *r, const job *j, int fd)
{
    rig_result res;
    double t0 = now();
    rig_options opt = run_options(r, r->cmd != CMD_RUN);
    rig_status rs = rig_run(j->s, &opt, &res);
    double secs = now() - t0;
    char msg[TEXT_MAX];
    snprintf(msg, sizeof(msg), "%s", res.message);
    switch (r->cmd) {
    case CMD_RUN:
        child_send(fd, MSG_VERDICT, rs, secs, msg);
        rig_result_cleanup(&res);
        if (rs == RIG_FAIL && j->s->xfail == NULL)
            child_capture(r, j, msg, fd);
        break;
    case CMD_RECORD:
        if (rs == RIG_PASS && record_files(r, j, &res, msg, sizeof(msg)) < 0)
            rs = RIG_ERROR;
        child_send(fd, MSG_VERDICT, rs, secs, msg);
        rig_result_cleanup(&res);
        break;
    case CMD_REPLAY:
        /* The bytes are the point of a replay: a difference is reported first, since a
         * failing expectation is usually its consequence. */
        if (rs == RIG_PASS || rs == RIG_FAIL) {
            char diff[1024];
            if (transcript_compare(j->tr, res.chunks, res.n_chunks, diff, sizeof(diff)) != 0) {
                rs = RIG_FAIL;
                snprintf(msg, sizeof(msg), "%s", diff);
            } else if (rs == RIG_FAIL) {
                char tmp[TEXT_MAX];
                truncate_into(tmp, sizeof(tmp), "same bytes, but the scenario fails: %s", msg);
                memcpy(msg, tmp, sizeof(msg));
            }
        }
        child_send(fd, MSG_VERDICT, rs, secs, msg);
        rig_result_cleanup(&res);
        break;
    default:
        child_send(fd, MSG_VERDICT, RIG_ERROR, secs, "internal: unknown command");
        rig_result_cleanup(&res);
        break;
    }
}

/* read_index reads the next job index the parent hands over. Returns 1, 0 at the end of
 * the stream (no more work), or -1. */
static int read_index(int fd, size_t *idx)
{
    char *p = (char *)idx;
    size_t got = 0;
    while (got < sizeof(*idx)) {
        ssize_t k = read(fd, p + got, sizeof(*idx) - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0 && got == 0)
            return 0;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 1;
}

/* worker_main runs the jobs the parent hands over |fd|, one at a time, until the parent
 * closes its end. A job is not affected by the ones run before it in the same process:
 * rig_run restarts the deterministic source and the virtual clock from the scenario's own
 * seed and frees every context it made. */
static void worker_main(const runner *r, const job *jobs, size_t n, int fd)
{
    size_t idx = 0;
    int rc;
    while ((rc = read_index(fd, &idx)) > 0) {
        if (idx >= n)
            _exit(EXIT_INTERNAL);
        child_main(r, &jobs[idx], fd);
        child_send(fd, MSG_DONE, 0, 0, NULL);
    }
    if (rc < 0)
        _exit(EXIT_INTERNAL);
#if TLSRIG_LSAN
    /* _exit skips the exit-time leak check, and the scenarios run here, not in the parent:
     * a leak that would grow over a batch must still fail a sanitized run. */
    if (__lsan_do_recoverable_leak_check() != 0)
        _exit(EXIT_INTERNAL);
#endif
    /* _exit: the parent's atexit handlers and stdio buffers are not the worker's. */
    _exit(0);
}

/* worker_start forks a worker into the empty slot |w| of |pl|. Returns 0, or -1 with a
 * message. */
static int worker_start(const runner *r, const job *jobs, size_t n, pool *pl, worker *w, char *err,
                        size_t errlen)
{
    int sv[2];
    /* A socket pair rather than pipes: the parent's sends to a worker that has died must
     * fail with EPIPE (MSG_NOSIGNAL), not raise SIGPIPE in the runner. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        truncate_into(err, errlen, "cannot create a socket pair: %s", strerror(errno));
        return -1;
    }
    /* Unwritten output would otherwise be copied into the worker and could appear twice. */
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        truncate_into(err, errlen, "cannot start a process: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        /* A copy of another worker's channel held here would keep that worker from seeing
         * the end of its work when the parent closes its end. The rest of the pool is the
         * parent's too: dropped, so the leak check at the end of the worker sees only what
         * the scenarios left. */
        for (size_t k = 0; k < pl->n_ws; k++) {
            if (pl->ws[k].pid > 0 && pl->ws[k].fd >= 0)
                close(pl->ws[k].fd);
        }
        free(pl->ws);
        free(pl->pfd);
        free(pl->owner);
        memset(pl, 0, sizeof(*pl));
        /* A runner killed from outside cannot kill its workers any more, and a hung worker
         * that never writes would never see the broken channel: tie it to the runner. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(EXIT_INTERNAL);
        worker_main(r, jobs, n, sv[1]);
    }
    close(sv[1]);
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    w->fd = sv[0];
    w->cur = -1;
    return 0;
}

/* worker_give hands job |idx| to the idle worker |w| and starts the job's clock. Returns 0,
 * or -1 with errno when the worker cannot be reached. */
static int worker_give(worker *w, job *jobs, size_t idx)
{
    ssize_t k;
    do {
        k = send(w->fd, &idx, sizeof(idx), MSG_NOSIGNAL);
    } while (k < 0 && errno == EINTR);
    if (k != (ssize_t)sizeof(idx)) {
        if (k >= 0)
            errno = EIO;
        return -1;
    }
    w->cur = (long)idx;
    w->ran++;
    w->since = now();
    jobs[idx].started = w->since;
    return 0;
}

/* worker_reap closes the parent's end of |w|'s channel and waits for the process, which
 * has been killed or is on its way out. Returns the wait status; the slot keeps |cur|. */
static int worker_reap(worker *w)
{
    int wstatus = 0;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    while (waitpid(w->pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    return wstatus;
}

/* verdict_outcome turns the worker's rig_status into the reported verdict. */
static void verdict_outcome(const runner *r, job *j)
{
    const char *xfail = r->cmd == CMD_REPLAY ? NULL : j->s->xfail;
    const char *text = j->verdict.text;
    j->seconds = j->verdict.seconds;
    switch ((rig_status)j->verdict.status) {
    case RIG_PASS:
        if (xfail != NULL)
            job_set(j, REPORT_XPASS, EXIT_FAILED, "passed, but is marked xfail: %s", xfail);
        else
            job_set(j, REPORT_PASS, EXIT_PASSED, "%s", "");
        break;
    case RIG_FAIL:
        if (xfail != NULL) {
            job_set(j, REPORT_XFAIL, EXIT_PASSED, "%s", xfail);
            snprintf(j->detail, sizeof(j->detail), "%s", text);
        } else {
            job_set(j, REPORT_FAIL, EXIT_FAILED, "%s", text);
        }
        break;
    case RIG_INVALID:
        job_set(j, REPORT_ERROR, EXIT_USAGE, "%s", text);
        break;
    case RIG_ERROR:
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "%s", text);
        break;
    default:
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "unknown status %d: %s", j->verdict.status, text);
        break;
    }
}

static void describe_death(int wstatus, char *buf, size_t len)
{
    if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        const char *name = strsignal(sig);
        snprintf(buf, len, "crashed: signal %d (%s)", sig, name != NULL ? name : "?");
    } else if (WIFEXITED(wstatus)) {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(wstatus));
    } else {
        snprintf(buf, len, "ended with wait status %d", wstatus);
    }
}

/* How a job's run came to an end. */
typedef enum job_end {
    END_DONE,      /* the worker said the scenario is over */
    END_DIED,      /* the worker ended while running it */
    END_TIMED_OUT, /* the worker was killed at the deadline */
} job_end;

static void describe_end(const runner *r, job_end how, int wstatus, char *buf, size_t len)
{
    switch (how) {
    case END_DONE:
        snprintf(buf, len, "the worker sent none");
        break;
    case END_TIMED_OUT:
        snprintf(buf, len, "timed out after %g s", r->timeout);
        break;
    case END_DIED:
    default:
        describe_death(wstatus, buf, len);
        break;
    }
}

/* job_finish decides the verdict of a job from what its worker sent and how it ended. */
static void job_finish(const runner *r, job *j, job_end how, int wstatus)
{
    char death[128];
    double elapsed = now() - j->started;
    describe_end(r, how, wstatus, death, sizeof(death));
    if (!j->have_verdict && how == END_DONE) {
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "the worker ended the scenario without a verdict");
        j->seconds = elapsed;
        return;
    }
    if (!j->have_verdict) {
        /* A worker that exits without a verdict died inside the scenario: sanitizers, for
         * one, report a crash and exit instead of dying by the signal. That is the
         * scenario's failure, not the runner's. */
        job_set(j, REPORT_ERROR, EXIT_FAILED, "%s%s", death,
                how == END_DIED && !WIFSIGNALED(wstatus) ? " without a verdict" : "");
        j->seconds = elapsed;
        return;
    }
    verdict_outcome(r, j);
    if (r->cmd != CMD_RUN || j->kind != REPORT_FAIL)
        return;
    size_t used = strlen(j->message);
    char *tail = j->message + used;
    size_t room = sizeof(j->message) - used;
    if (j->have_capture && j->capture.status >= 0) {
        truncate_into(j->pcap, sizeof(j->pcap), "%s", j->capture.text);
        snprintf(tail, room, " (capture: %s%s)", j->pcap,
                 j->capture.status == 1 ? "; the capture run went differently" : "");
    } else if (j->have_capture) {
        snprintf(tail, room, " (no capture: %s)", j->capture.text);
    } else {
        snprintf(tail, room, " (no capture: %s)", death);
    }
}

/* worker_read takes in what |w| has sent: the verdict and capture go to its job, and the
 * end of a scenario decides the job and leaves the worker idle. At the end of the stream
 * (the worker is exiting) the channel is closed and the process is left to be reaped. */
static void worker_read(const runner *r, worker *w, job *jobs)
{
    while (w->fd >= 0) {
        ssize_t k = recv(w->fd, (char *)&w->in + w->got, sizeof(w->in) - w->got, MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            close(w->fd);
            w->fd = -1;
            if (w->cur < 0)
                w->since = now(); /* the deadline for exiting */
            return;
        }
        w->got += (size_t)k;
        if (w->got < sizeof(w->in))
            continue;
        w->got = 0;
        w->in.text[sizeof(w->in.text) - 1] = '\0';
        if (w->cur < 0)
            continue; /* idle: nothing it sends can belong to a job */
        job *j = &jobs[w->cur];
        switch ((msg_kind)w->in.kind) {
        case MSG_VERDICT:
            if (!j->have_verdict) {
                j->verdict = w->in;
                j->have_verdict = 1;
            }
            break;
        case MSG_CAPTURE:
            if (!j->have_capture) {
                j->capture = w->in;
                j->have_capture = 1;
            }
            break;
        case MSG_DONE:
            job_finish(r, j, END_DONE, 0);
            w->cur = -1;
            break;
        default:
            break;
        }
    }
}

/* worker_ended settles a worker that has been reaped: the job it was running, if any,
 * gets |how| as its end, and the slot is emptied. A worker that ends badly outside any
 * job (a sanitizer's leak check, a kill from outside) sets |*trouble|: no scenario is to
 * blame, but the run cannot be called clean. */
static void worker_ended(const runner *r, worker *w, job *jobs, job_end how, int wstatus,
                         int *trouble)
{
    if (w->cur >= 0) {
        job_finish(r, &jobs[w->cur], how, wstatus);
    } else if (how != END_DIED || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        char death[128];
        describe_end(r, how, wstatus, death, sizeof(death));
        fprintf(stderr, PROG ": worker process %d %s outside any scenario\n", (int)w->pid, death);
        *trouble = 1;
    }
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->cur = -1;
}

/* ---- output ---- */

typedef struct printer {
    int tap;
    size_t next; /* jobs printed so far */
    report_counts counts;
} printer;

static report_item job_item(const job *j)
{
    report_item it;
    memset(&it, 0, sizeof(it));
    it.id = j->label;
    it.file = j->file;
    it.stem = j->stem;
    it.kind = j->kind;
    it.message = j->message;
    it.detail = j->kind == REPORT_XFAIL ? j->detail : NULL;
    if (j->s != NULL) {
        it.rfcs = j->s->rfcs;
        it.n_rfcs = j->s->n_rfcs;
    }
    it.seconds = j->seconds;
    it.pcap = j->pcap[0] != '\0' ? j->pcap : NULL;
    return it;
}

/* print_ready prints the finished jobs at the front of the sorted list, stopping at the
 * first one still running: lines come out in id order however the workers finish. */
static void print_ready(printer *pr, const job *jobs, size_t n)
{
    while (pr->next < n && jobs[pr->next].done) {
        report_item it = job_item(&jobs[pr->next]);
        report_count(&pr->counts, &it);
        pr->next++;
        if (pr->tap)
            report_tap_item(stdout, pr->next, &it);
        else
            report_line(stdout, &it);
    }
    fflush(stdout);
}

/* dispatch gives every idle worker the next job not yet handed out, starting workers in
 * empty slots, and ends the idle workers that have nothing left to do or have run their
 * share (r->batch). Jobs go out in id order, one at a time as workers free up, so -j N
 * stays balanced however long each job takes. */
static void dispatch(const runner *r, job *jobs, size_t n, size_t *next, pool *pl, int *trouble)
{
    for (size_t k = 0; k < pl->n_ws; k++) {
        worker *w = &pl->ws[k];
        /* Empty, or idle with its channel open: a worker that closed it is exiting. */
        while (w->cur < 0 && (w->pid == 0 || w->fd >= 0)) {
            char err[TEXT_MAX];
            while (*next < n && jobs[*next].done)
                (*next)++;
            if (w->pid > 0 && (*next == n || (r->batch > 0 && w->ran >= r->batch))) {
                /* Closing its end tells it to exit: it is idle, so it does so at once. */
                int wstatus = worker_reap(w);
                worker_ended(r, w, jobs, END_DIED, wstatus, trouble);
                continue;
            }
            if (*next == n)
                break;
            job *j = &jobs[(*next)++];
            if (w->pid == 0 && worker_start(r, jobs, n, pl, w, err, sizeof(err)) < 0) {
                job_set(j, REPORT_ERROR, EXIT_INTERNAL, "%s", err);
                continue;
            }
            if (worker_give(w, jobs, (size_t)(j - jobs)) < 0) {
                /* It died between jobs: that death is reported on its own, and the job
                 * cannot be said to have run. */
                truncate_into(err, sizeof(err), "cannot hand the scenario to a worker process: %s",
                              strerror(errno));
                kill(w->pid, SIGKILL);
                int wstatus = worker_reap(w);
                worker_ended(r, w, jobs, END_DIED, wstatus, trouble);
                job_set(j, REPORT_ERROR, EXIT_INTERNAL, "%s", err);
            }
        }
    }
}

/* run_jobs runs every job not already done on at most r->jobs worker processes, printing
 * verdicts as they become printable. Returns 0, or -1 when a worker ended badly outside any
 * job. */
static int run_jobs(const runner *r, job *jobs, size_t n, printer *pr)
{
    pool pl;
    size_t next = 0;
    int trouble = 0;

    pl.n_ws = (size_t)r->jobs < n ? (size_t)r->jobs : n;
    pl.ws = xcalloc(pl.n_ws, sizeof(*pl.ws));
    pl.pfd = xcalloc(pl.n_ws, sizeof(*pl.pfd));
    pl.owner = xcalloc(pl.n_ws, sizeof(*pl.owner));
    for (size_t k = 0; k < pl.n_ws; k++) {
        pl.ws[k].fd = -1;
        pl.ws[k].cur = -1;
    }
    /* Every worker is forked from here: warm the deterministic source once so each restarts
     * it instead of building its own (several milliseconds). A failure here is not fatal:
     * each worker then builds its own. */
    (void)rig_prepare();
    if (pr->tap)
        report_tap_plan(stdout, n);
    for (;;) {
        dispatch(r, jobs, n, &next, &pl, &trouble);
        print_ready(pr, jobs, n);

        /* Wait for output, for a worker that closed its channel to be reapable, or for the
         * nearest deadline. With every job handed out and done, no worker is left. */
        size_t np = 0, alive = 0;
        double wait = -1;
        for (size_t k = 0; k < pl.n_ws; k++) {
            worker *w = &pl.ws[k];
            if (w->pid <= 0)
                continue;
            alive++;
            if (w->fd >= 0) {
                pl.pfd[np].fd = w->fd;
                pl.pfd[np].events = POLLIN;
                pl.pfd[np].revents = 0;
                pl.owner[np++] = k;
            } else {
                wait = 0.0005; /* the channel closed: the worker is exiting, reap it soon */
            }
            if (r->timeout > 0 && (w->cur >= 0 || w->fd < 0)) {
                double left = w->since + r->timeout - now();
                if (left < 0)
                    left = 0;
                if (wait < 0 || left < wait)
                    wait = left;
            }
        }
        if (alive == 0)
            break;
        /* Rounded up: waking before the deadline would only spin. */
        int ms = wait < 0 ? -1 : (int)(wait * 1000) + 1;
        int pr_rc = poll(pl.pfd, np, ms);
        if (pr_rc < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            exit(EXIT_INTERNAL);
        }
        for (size_t k = 0; pr_rc > 0 && k < np; k++) {
            if (pl.pfd[k].revents != 0)
                worker_read(r, &pl.ws[pl.owner[k]], jobs);
        }

        for (size_t k = 0; k < pl.n_ws; k++) {
            worker *w = &pl.ws[k];
            int wstatus = 0;
            if (w->pid <= 0)
                continue;
            if (w->fd < 0 && waitpid(w->pid, &wstatus, WNOHANG) == w->pid) {
                worker_ended(r, w, jobs, END_DIED, wstatus, &trouble);
                continue;
            }
            /* Only the job's clock counts: an idle worker waiting for work has no deadline. */
            if (r->timeout > 0 && (w->cur >= 0 || w->fd < 0) && now() >= w->since + r->timeout) {
                kill(w->pid, SIGKILL);
                wstatus = worker_reap(w);
                worker_ended(r, w, jobs, END_TIMED_OUT, wstatus, &trouble);
            }
        }
    }
    free(pl.ws);
    free(pl.pfd);
    free(pl.owner);
    return trouble ? -1 : 0;
}

/* ---- loading scenarios ---- */

typedef struct loaded {
    scn_file *files;
    size_t n_files;
    job *jobs;
    size_t n_jobs;
    int malformed;
    strvec owned; /* strings the malformed jobs point at */
} loaded;

static void loaded_free(loaded *l)
{
    for (size_t i = 0; i < l->n_files; i++)
        scn_file_cleanup(&l->files[i]);
    free(l->files);
    free(l->jobs);
    sv_free(&l->owned);
    memset(l, 0, sizeof(*l));
}

static const char *own(loaded *l, const char *s)
{
    sv_push(&l->owned, s);
    return l->owned.v[l->owned.n - 1];
}

/* stem_of is the file name without folder and .scn, as the parser names scenarios. */
static const char *stem_of(loaded *l, const char *path)
{
    const char *slash = strrchr(path, '/');
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", slash != NULL ? slash + 1 : path);
    if (ends_with(buf, ".scn") && strlen(buf) > 4)
        buf[strlen(buf) - 4] = '\0';
    return own(l, buf);
}

/* load parses every file and checks every variant. Malformed input is reported on stderr
 * (file:line: message) and kept as an ERROR job; the variants whose id contains |filter|
 * become jobs, sorted by id. Two files giving the same id is malformed too: the id names
 * the test and its capture file. */
static void load(const strvec *paths, const char *filter, loaded *l)
{
    memset(l, 0, sizeof(*l));
    l->files = xcalloc(paths->n, sizeof(*l->files));
    size_t cap = 16;
    l->jobs = xcalloc(cap, sizeof(*l->jobs));
    for (size_t i = 0; i < paths->n; i++) {
        char err[TEXT_MAX];
        scn_file *f = &l->files[l->n_files];
        const char *path = paths->v[i];
        if (scn_parse_file(path, f, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            l->malformed++;
            if (l->n_jobs == cap) {
                cap *= 2;
                job *nj = realloc(l->jobs, cap * sizeof(*nj));
                if (nj == NULL)
                    die_oom();
                l->jobs = nj;
            }
            const char *stem = stem_of(l, path);
            malformed_job(&l->jobs[l->n_jobs++], stem, own(l, path), stem, err);
            continue;
        }
        l->n_files++;
        for (size_t v = 0; v < f->n_variants; v++) {
            const scn *s = &f->variants[v];
            rig_result res;
            rig_status rs = rig_check(s, &res);
            int bad = rs != RIG_PASS;
            if (bad) {
                fprintf(stderr, "%s\n", res.message);
                l->malformed++;
            }
            if (!bad && filter != NULL && strstr(s->id, filter) == NULL) {
                rig_result_cleanup(&res);
                continue;
            }
            if (l->n_jobs == cap) {
                cap *= 2;
                job *nj = realloc(l->jobs, cap * sizeof(*nj));
                if (nj == NULL)
                    die_oom();
                l->jobs = nj;
            }
            job *j = &l->jobs[l->n_jobs++];
            if (bad) {
                malformed_job(j, s->id, s->path, s->name, res.message);
                j->s = s;
            } else {
                memset(j, 0, sizeof(*j));
                j->s = s;
                j->label = s->id;
                j->file = s->path;
                j->stem = s->name;
            }
            rig_result_cleanup(&res);
        }
    }
    if (l->n_jobs > 1)
        qsort(l->jobs, l->n_jobs, sizeof(*l->jobs), cmp_job);
    for (size_t i = 1; i < l->n_jobs; i++) {
        job *a = &l->jobs[i - 1], *b = &l->jobs[i];
        if (strcmp(a->label, b->label) != 0 || b->done)
            continue;
        char msg[TEXT_MAX];
        snprintf(msg, sizeof(msg), "%s: scenario id '%s' is also the id of a scenario in %s",
                 b->file, b->label, a->file);
        fprintf(stderr, "%s\n", msg);
        l->malformed++;
        const scn *s = b->s;
        malformed_job(b, b->label, b->file, b->stem, msg);
        b->s = s;
    }
}

/* ---- commands ---- */

static int resolve_pki(const options *o, const char **out)
{
    const char *env = getenv("TLSRIG_PKI");
    const char *dir = o->pki != NULL ? o->pki : env != NULL && env[0] != '\0' ? env : DEFAULT_PKI;
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(
            stderr,
            PROG
            ": test PKI not found at %s (the committed pki/ folder; make pki-regen rebuilds it)\n",
            dir);
        return EXIT_INTERNAL;
    }
    *out = dir;
    return 0;
}

static int worst(const job *jobs, size_t n)
{
    int code = EXIT_PASSED;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].exit_code > code)
            code = jobs[i].exit_code;
    }
    return code;
}

static int write_reports(const options *o, const job *jobs, size_t n)
{
    int rc = 0;
    char err[512];
    report_item *items = xcalloc(n, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = job_item(&jobs[i]);
    if (o->junit != NULL && report_junit(o->junit, items, n, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        rc = -1;
    }
    if (o->json != NULL && report_json(o->json, items, n, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        rc = -1;
    }
    free(items);
    return rc;
}

static void runner_init(runner *r, const options *o, const char *pki)
{
    memset(r, 0, sizeof(*r));
    r->cmd = o->cmd;
    r->pki = pki;
    r->pcap_dir = o->pcap_dir != NULL ? o->pcap_dir : DEFAULT_PCAP_DIR;
    r->outdir = o->outdir;
    r->timeout = o->timeout;
    r->jobs = o->jobs > 0 ? o->jobs : 1;
    r->batch = o->batch;
}

/* cmd_run is run and record: they differ only in what the worker does with a run. */
static int cmd_run(const options *o)
{
    strvec paths = {0};
    loaded l = {0};
    runner r;
    printer pr;
    const char *pki = NULL;
    int rc = collect_paths(o, ".scn", &paths);
    if (rc != 0)
        goto cleanup;
    rc = resolve_pki(o, &pki);
    if (rc != 0)
        goto cleanup;
    if (o->cmd == CMD_RECORD) {
        char err[512];
        if (mkdir_p(o->outdir, err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            rc = EXIT_INTERNAL;
            goto cleanup;
        }
    }
    load(&paths, o->filter, &l);
    if (l.n_jobs == 0) {
        if (o->filter != NULL)
            fprintf(stderr, PROG ": no scenario id contains '%s'\n", o->filter);
        else
            fprintf(stderr, PROG ": no scenarios to run\n");
        rc = EXIT_USAGE;
        goto cleanup;
    }
    runner_init(&r, o, pki);
    memset(&pr, 0, sizeof(pr));
    pr.tap = o->tap;
    int trouble = run_jobs(&r, l.jobs, l.n_jobs, &pr);
    report_summary(stdout, o->tap ? "# " : "", &pr.counts);
    fflush(stdout);
    rc = worst(l.jobs, l.n_jobs);
    if (write_reports(o, l.jobs, l.n_jobs) < 0 || trouble < 0)
        rc = EXIT_INTERNAL;
cleanup:
    loaded_free(&l);
    sv_free(&paths);
    return rc;
}

typedef struct rfc_count {
    const char *rfc;
    size_t files;
    const char *last_file; /* to count each file once */
} rfc_count;

static int cmp_rfc(const void *a, const void *b)
{
    return natural_cmp(((const rfc_count *)a)->rfc, ((const rfc_count *)b)->rfc);
}

static int cmd_list(const options *o)
{
    strvec paths = {0};
    loaded l = {0};
    rfc_count *rc_list = NULL;
    int rc = collect_paths(o, ".scn", &paths);
    if (rc != 0)
        goto cleanup;
    load(&paths, o->filter, &l);
    if (!o->rfc) {
        size_t width = 0;
        for (size_t i = 0; i < l.n_jobs; i++) {
            size_t w = strlen(l.jobs[i].label);
            if (!l.jobs[i].done && w > width)
                width = w;
        }
        for (size_t i = 0; i < l.n_jobs; i++) {
            const job *j = &l.jobs[i];
            if (j->done)
                continue; /* malformed: already reported on stderr */
            if (j->s->n_rfcs == 0) {
                printf("%s\n", j->label);
                continue;
            }
            printf("%-*s ", (int)width, j->label);
            for (size_t k = 0; k < j->s->n_rfcs; k++)
                printf("%s%s", k == 0 ? " " : "; ", j->s->rfcs[k]);
            putchar('\n');
        }
    } else {
        size_t n = 0, cap = 16, width = 0;
        rc_list = xcalloc(cap, sizeof(*rc_list));
        for (size_t i = 0; i < l.n_jobs; i++) {
            const job *j = &l.jobs[i];
            if (j->done)
                continue;
            for (size_t k = 0; k < j->s->n_rfcs; k++) {
                const char *rfc = j->s->rfcs[k];
                size_t at = 0;
                while (at < n && strcmp(rc_list[at].rfc, rfc) != 0)
                    at++;
                if (at == n) {
                    if (n == cap) {
                        cap *= 2;
                        rfc_count *nl = realloc(rc_list, cap * sizeof(*nl));
                        if (nl == NULL)
                            die_oom();
                        rc_list = nl;
                    }
                    memset(&rc_list[n++], 0, sizeof(*rc_list));
                    rc_list[at].rfc = rfc;
                    if (strlen(rfc) > width)
                        width = strlen(rfc);
                }
                /* Variants of one file share its rfc lines: count the scenario once. */
                if (rc_list[at].last_file == NULL || strcmp(rc_list[at].last_file, j->file) != 0) {
                    rc_list[at].files++;
                    rc_list[at].last_file = j->file;
                }
            }
        }
        if (n > 1)
            qsort(rc_list, n, sizeof(*rc_list), cmp_rfc);
        for (size_t i = 0; i < n; i++)
            printf("%-*s  %zu\n", (int)width, rc_list[i].rfc, rc_list[i].files);
    }
    fflush(stdout);
    rc = l.malformed > 0 ? EXIT_USAGE : EXIT_PASSED;
cleanup:
    free(rc_list);
    loaded_free(&l);
    sv_free(&paths);
    return rc;
}

/* A transcript and the scenario parsed from its embedded source. */
typedef struct replay_input {
    transcript tr;
    scn_file f;
    char *source_path;
} replay_input;

/* replay_load reads one transcript and finds its variant. The source is parsed under the
 * name <stem>.scn so that the parser names the scenario as it was named when recorded (the
 * id starts with the stem). Returns 0, or -1 with a message. */
static int replay_load(const char *path, replay_input *in, const scn **out, char *err,
                       size_t errlen)
{
    char perr[TEXT_MAX];
    memset(in, 0, sizeof(*in));
    if (transcript_read(path, &in->tr, err, errlen) < 0)
        return -1;
    size_t stem_len = strcspn(in->tr.id, "[");
    size_t n = stem_len + 5;
    in->source_path = xcalloc(n, 1);
    snprintf(in->source_path, n, "%.*s.scn", (int)stem_len, in->tr.id);
    if (scn_parse_text(in->source_path, in->tr.source, in->tr.source_len, &in->f, perr,
                       sizeof(perr)) < 0) {
        snprintf(err, errlen, "%s: the recorded source does not parse: %s", path, perr);
        return -1;
    }
    for (size_t i = 0; i < in->f.n_variants; i++) {
        const scn *s = &in->f.variants[i];
        if (strcmp(s->id, in->tr.id) != 0)
            continue;
        if (s->seed != in->tr.seed) {
            snprintf(err, errlen, "%s: recorded with seed %llu but its source gives seed %llu",
                     path, (unsigned long long)in->tr.seed, (unsigned long long)s->seed);
            return -1;
        }
        *out = s;
        return 0;
    }
    snprintf(err, errlen, "%s: the recorded source has no scenario with id '%s'", path, in->tr.id);
    return -1;
}

static int cmd_replay(const options *o)
{
    strvec paths = {0};
    replay_input *in = NULL;
    job *jobs = NULL;
    size_t n = 0;
    runner r;
    printer pr;
    const char *pki = NULL;
    int rc = collect_paths(o, ".tls", &paths);
    if (rc != 0)
        goto cleanup;
    rc = resolve_pki(o, &pki);
    if (rc != 0)
        goto cleanup;
    in = xcalloc(paths.n, sizeof(*in));
    jobs = xcalloc(paths.n, sizeof(*jobs));
    for (n = 0; n < paths.n; n++) {
        char err[TEXT_MAX + 256];
        const scn *s = NULL;
        job *j = &jobs[n];
        const char *path = paths.v[n];
        if (replay_load(path, &in[n], &s, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            malformed_job(j, path, path, path, err);
            continue;
        }
        j->s = s;
        j->label = path;
        j->file = path;
        j->stem = s->name;
        j->tr = &in[n].tr;
    }
    runner_init(&r, o, pki);
    memset(&pr, 0, sizeof(pr));
    int trouble = run_jobs(&r, jobs, n, &pr);
    report_summary(stdout, "", &pr.counts);
    fflush(stdout);
    rc = worst(jobs, n);
    if (trouble < 0)
        rc = EXIT_INTERNAL;
cleanup:
    for (size_t i = 0; in != NULL && i < n; i++) {
        transcript_cleanup(&in[i].tr);
        scn_file_cleanup(&in[i].f);
        free(in[i].source_path);
    }
    free(in);
    free(jobs);
    sv_free(&paths);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        goto cleanup;
    switch (o.cmd) {
    case CMD_RUN:
    case CMD_RECORD:
        rc = cmd_run(&o);
        break;
    case CMD_LIST:
        rc = cmd_list(&o);
        break;
    case CMD_REPLAY:
        rc = cmd_replay(&o);
        break;
    default:
        rc = usage_error("internal: command not handled");
        break;
    }
cleanup:
    free(o.paths);
    return rc;
}
