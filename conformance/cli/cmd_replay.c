/*
 * cmd_replay.c - tlsrig replay: run recorded transcripts' scenarios again, in deterministic
 * mode, and fail unless every byte on the wire is the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "transcript.h"

static const struct option replay_options[] = {
    {"pki", required_argument, NULL, OPT_PKI},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char replay_help[] =
    "  --pki DIR        test PKI (default $TLSRIG_PKI, else " DEFAULT_PKI ")\n"
    "  --timeout SECS   kill a scenario after SECS seconds (default 20; 0: never)\n"
    "  -h, --help       this text\n";

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

/* The bytes are the point of a replay: a difference is reported first, since a failing
 * expectation is usually its consequence. */
static void replay_work(const cli_runner *r, const cli_job *j, int fd)
{
    rig_result res;
    double seconds;
    char msg[TEXT_MAX];
    rig_status rs = cli_rig_run(r, j, 1, &res, &seconds);
    snprintf(msg, sizeof(msg), "%s", res.message);
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
    pool_send(fd, MSG_VERDICT, rs, seconds, msg);
    rig_result_cleanup(&res);
}

static int replay_main(int argc, char **argv)
{
    cli_options o;
    cli_runner r = {.ignore_xfail = 1, .work = replay_work};
    report_counts counts = {0};
    strvec paths = {0};
    replay_input *in = NULL;
    cli_job *jobs = NULL;
    size_t n = 0;
    const char *pki = NULL;
    int rc = cli_parse_options(&cli_cmd_replay, argc, argv, &o);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = cli_collect(&o, ".tls", &paths);
    if (rc != 0)
        goto cleanup;
    rc = cli_resolve_pki(&o, &pki);
    if (rc != 0)
        goto cleanup;
    in = xcalloc(paths.n, sizeof(*in));
    jobs = xcalloc(paths.n, sizeof(*jobs));
    for (n = 0; n < paths.n; n++) {
        char err[TEXT_MAX + 256];
        const scn *s = NULL;
        cli_job *j = &jobs[n];
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
    cli_runner_init(&r, &o, pki);
    int trouble = cli_run_jobs(&r, jobs, n, 0, &counts);
    report_summary(stdout, "", &counts);
    fflush(stdout);
    rc = cli_worst(jobs, n);
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
    strvec_cleanup(&paths);
    return rc;
}

const cli_command cli_cmd_replay = {
    .name = "replay",
    .summary = "run recorded transcripts again and compare the wire bytes",
    .synopsis = "[options] TRANSCRIPT...",
    .options = replay_help,
    .operands = "transcript files",
    .short_opts = "h",
    .long_opts = replay_options,
    /* replay is the reference for the wire bytes: each transcript gets a process of its own
     * unless asked otherwise, so it does not depend on the batching it checks. */
    .batch = 1,
    .main = replay_main,
};
