/*
 * cmd_record.c - tlsrig record: run scenarios and keep, for each passing variant, its
 * transcript (to replay), a pcapng capture and the NSS key log.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pcapng.h"
#include "transcript.h"

static const struct option record_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"pki", required_argument, NULL, OPT_PKI},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char record_help[] =
    "  -o, --output OUTDIR  the folder to write transcripts to (required)\n"
    "  --pki DIR            test PKI (default $TLSRIG_PKI, else " DEFAULT_PKI ")\n"
    "  --timeout SECS       kill a scenario after SECS seconds (default 20; 0: never)\n"
    "  -h, --help           this text\n";

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

/* record_files writes the transcript, the pcapng and the key log of one passing run. */
static int record_files(const cli_runner *r, const cli_job *j, const rig_result *res, char *err,
                        size_t errlen)
{
    char name[256], path[PATH_MAX];
    char *source = NULL;
    size_t source_len = 0;
    int rc = -1;
    sanitize_id(j->s->id, name, sizeof(name));
    if (scn_read_file(j->s->path, &source, &source_len, err, errlen) < 0)
        goto cleanup;
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

static void record_work(const cli_runner *r, const cli_job *j, int fd)
{
    rig_result res;
    double seconds;
    char msg[TEXT_MAX];
    rig_status rs = cli_rig_run(r, j, 1, &res, &seconds);
    snprintf(msg, sizeof(msg), "%s", res.message);
    if (rs == RIG_PASS && record_files(r, j, &res, msg, sizeof(msg)) < 0)
        rs = RIG_ERROR;
    pool_send(fd, MSG_VERDICT, rs, seconds, msg);
    rig_result_cleanup(&res);
}

/* make_outdir creates the output folder once the inputs are known to be there. */
static int make_outdir(const cli_options *o)
{
    char err[512];
    if (mkdir_p(o->outdir, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_INTERNAL;
    }
    return 0;
}

static int record_main(int argc, char **argv)
{
    cli_options o;
    const cli_runner how = {.work = record_work};
    int rc = cli_parse_options(&cli_cmd_record, argc, argv, &o);
    if (rc != CLI_CONTINUE)
        return rc;
    if (o.outdir == NULL)
        return usage_error("record needs -o OUTDIR: the folder to write transcripts to");
    return cli_run_scenarios(&o, &how, make_outdir);
}

const cli_command cli_cmd_record = {
    .name = "record",
    .summary = "run scenarios and write OUTDIR/<id>.tls, <id>.pcapng and <id>.keylog",
    .synopsis = "[options] -o OUTDIR FILE...",
    .options = record_help,
    .operands = "scenario files",
    .short_opts = "o:h",
    .long_opts = record_options,
    .main = record_main,
};
