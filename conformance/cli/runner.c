/*
 * runner.c - running jobs on the worker pool and printing their verdicts: result lines in
 * job order whatever order the workers finish in, so -j N prints exactly what -j 1 prints;
 * TAP; the summary; the JUnit and JSON reports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

void cli_runner_init(cli_runner *r, const cli_options *o, const char *pki)
{
    r->pki = pki;
    r->pcap_dir = o->pcap_dir != NULL ? o->pcap_dir : DEFAULT_PCAP_DIR;
    r->outdir = o->outdir;
    r->timeout = o->timeout;
    r->jobs = o->jobs > 0 ? o->jobs : 1;
    r->batch = o->batch;
}

rig_status cli_rig_run(const cli_runner *r, const cli_job *j, int capture, rig_result *res,
                       double *seconds)
{
    rig_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.pki_dir = r->pki;
    opt.capture = capture;
    opt.wall_limit = r->timeout > 0 ? r->timeout * WALL_SHARE : 1e9;
    double t0 = pool_now();
    rig_status rs = rig_run(j->s, &opt, res);
    *seconds = pool_now() - t0;
    return rs;
}

/* The jobs on the pool, and the printer of their verdicts. */
typedef struct batch {
    const cli_runner *r;
    cli_job *jobs;
    size_t n;
    size_t *todo; /* pool job k is jobs[todo[k]]: the jobs not already decided */
    int tap;
    size_t printed; /* jobs printed so far */
    report_counts *counts;
} batch;

static void batch_run(void *arg, size_t k, int fd)
{
    batch *b = arg;
    b->r->work(b->r, &b->jobs[b->todo[k]], fd);
}

static void batch_message(void *arg, size_t k, const pool_msg *m)
{
    batch *b = arg;
    job_take_message(&b->jobs[b->todo[k]], m);
}

static void batch_ended(void *arg, size_t k, const pool_end *end)
{
    batch *b = arg;
    job_finish(b->r, &b->jobs[b->todo[k]], end);
}

/* batch_print prints the finished jobs at the front of the list, stopping at the first one
 * still running: lines come out in job order however the workers finish. */
static void batch_print(void *arg)
{
    batch *b = arg;
    while (b->printed < b->n && b->jobs[b->printed].done) {
        report_item it = job_item(&b->jobs[b->printed]);
        report_count(b->counts, &it);
        b->printed++;
        if (b->tap)
            report_tap_item(stdout, b->printed, &it);
        else
            report_line(stdout, &it);
    }
    fflush(stdout);
}

int cli_run_jobs(const cli_runner *r, cli_job *jobs, size_t n, int tap, report_counts *counts)
{
    batch b = {.r = r, .jobs = jobs, .n = n, .tap = tap, .counts = counts};
    size_t n_todo = 0;
    b.todo = xcalloc(n, sizeof(*b.todo));
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i].done)
            b.todo[n_todo++] = i;
    }
    pool_config cfg = {
        .workers = (size_t)r->jobs,
        .batch = r->batch,
        .timeout = r->timeout,
        .ops = {.run = batch_run,
                .message = batch_message,
                .ended = batch_ended,
                .progress = batch_print},
        .arg = &b,
    };
    /* Every worker is forked from here: warm the deterministic source once so each restarts
     * it instead of building its own (several milliseconds). A failure here is not fatal:
     * each worker then builds its own. */
    (void)rig_prepare();
    if (tap)
        report_tap_plan(stdout, n);
    int rc = pool_run(&cfg, n_todo);
    free(b.todo);
    return rc;
}

int cli_worst(const cli_job *jobs, size_t n)
{
    int code = EXIT_PASSED;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].exit_code > code)
            code = jobs[i].exit_code;
    }
    return code;
}

static int write_reports(const cli_options *o, const cli_job *jobs, size_t n)
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

int cli_run_scenarios(const cli_options *o, const cli_runner *how,
                      int (*prepare)(const cli_options *o))
{
    cli_loaded l = {0};
    strvec paths = {0};
    report_counts counts = {0};
    cli_runner r = *how;
    const char *pki = NULL;
    int rc = cli_collect(o, ".scn", &paths);
    if (rc != 0)
        goto cleanup;
    rc = cli_resolve_pki(o, &pki);
    if (rc != 0)
        goto cleanup;
    if (prepare != NULL && (rc = prepare(o)) != 0)
        goto cleanup;
    cli_runner_init(&r, o, pki);
    cli_load(&paths, o->filter, &l);
    if (l.n_jobs == 0) {
        if (o->filter != NULL)
            fprintf(stderr, PROG ": no scenario id contains '%s'\n", o->filter);
        else
            fprintf(stderr, PROG ": no scenarios to run\n");
        rc = EXIT_USAGE;
        goto cleanup;
    }
    int trouble = cli_run_jobs(&r, l.jobs, l.n_jobs, o->tap, &counts);
    report_summary(stdout, o->tap ? "# " : "", &counts);
    fflush(stdout);
    rc = cli_worst(l.jobs, l.n_jobs);
    if (write_reports(o, l.jobs, l.n_jobs) < 0 || trouble < 0)
        rc = EXIT_INTERNAL;
cleanup:
    cli_loaded_cleanup(&l);
    strvec_cleanup(&paths);
    return rc;
}

int cli_resolve_pki(const cli_options *o, const char **out)
{
    const char *env = getenv("TLSRIG_PKI");
    const char *dir = o->pki != NULL ? o->pki : env != NULL && env[0] != '\0' ? env : DEFAULT_PKI;
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                PROG ": test PKI not found at %s (the committed pki/ folder; make pki-regen "
                     "rebuilds it)\n",
                dir);
        return EXIT_INTERNAL;
    }
    *out = dir;
    return 0;
}

int cli_collect(const cli_options *o, const char *ext, strvec *out)
{
    char err[PATH_TEXT + 128];
    switch (walk_collect(o->paths, o->n_paths, ext, out, err, sizeof(err))) {
    case 0:
        return 0;
    case WALK_NOMEM:
        die_oom();
    case WALK_BAD_PATH:
    default:
        return usage_error("%s", err);
    }
}
