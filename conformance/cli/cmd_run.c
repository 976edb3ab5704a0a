/*
 * cmd_run.c - tlsrig run: run scenarios and print a verdict for each; a failing scenario is
 * run again with the wire captured and leaves a pcapng.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pcapng.h"

static const struct option run_options[] = {
    {"jobs", required_argument, NULL, 'j'},
    {"tap", no_argument, NULL, OPT_TAP},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"json", required_argument, NULL, OPT_JSON},
    {"pki", required_argument, NULL, OPT_PKI},
    {"pcap-dir", required_argument, NULL, OPT_PCAP_DIR},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char run_help[] =
    "  -k SUBSTR        only variants whose id contains SUBSTR\n"
    "  -j, --jobs N     run N scenarios at once (0: one per CPU; default 1)\n"
    "  --tap            TAP version 13 instead of result lines\n"
    "  --junit FILE     also write JUnit XML\n"
    "  --json FILE      also write JSON\n"
    "  --pki DIR        test PKI (default $TLSRIG_PKI, else " DEFAULT_PKI ")\n"
    "  --pcap-dir DIR   captures of failing scenarios (default " DEFAULT_PCAP_DIR "/)\n"
    "  --timeout SECS   kill a scenario after SECS seconds (default 20; 0: never)\n"
    "  -h, --help       this text\n";

/* run_capture runs a failed scenario again with capture on and writes the pcapng. The run
 * is deterministic, so it fails the same way; if it does not, the capture is still kept,
 * but the parent is told it shows a different run. */
static void run_capture(const cli_runner *r, const cli_job *j, const char *first_message, int fd)
{
    char path[PATH_TEXT], name[256], err[512];
    rig_result res;
    double seconds;
    rig_status rs = cli_rig_run(r, j, 1, &res, &seconds);
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
        pool_send(fd, MSG_CAPTURE, -1, 0, err);
    else
        pool_send(fd, MSG_CAPTURE, same ? 0 : 1, 0, path);
    rig_result_cleanup(&res);
}

static void run_work(const cli_runner *r, const cli_job *j, int fd)
{
    rig_result res;
    double seconds;
    char msg[TEXT_MAX];
    rig_status rs = cli_rig_run(r, j, 0, &res, &seconds);
    snprintf(msg, sizeof(msg), "%s", res.message);
    pool_send(fd, MSG_VERDICT, rs, seconds, msg);
    rig_result_cleanup(&res);
    if (rs == RIG_FAIL && j->s->xfail == NULL)
        run_capture(r, j, msg, fd);
}

static int run_main(int argc, char **argv)
{
    cli_options o;
    const cli_runner how = {.note_capture = 1, .work = run_work};
    int rc = cli_parse_options(&cli_cmd_run, argc, argv, &o);
    if (rc != CLI_CONTINUE)
        return rc;
    return cli_run_scenarios(&o, &how, NULL);
}

const cli_command cli_cmd_run = {
    .name = "run",
    .summary = "run scenarios: .scn files, or folders searched for them recursively",
    .synopsis = "[options] PATH...",
    .options = run_help,
    .operands = "scenario files or folders",
    .short_opts = "k:j:h",
    .long_opts = run_options,
    .main = run_main,
};
