/*
 * cli.h - what the tlsrig commands share: the command table, options, the jobs a command
 * runs, loading scenarios into jobs, running jobs on the worker pool, and output.
 *
 * main.c finds the command; cmd_<name>.c holds each command with its options and help.
 *
 * Exit status: 0 all passed (expected failures included), 1 a scenario failed, passed
 * unexpectedly, timed out or crashed, 2 malformed input or bad usage, 3 internal error.
 * When several apply the highest wins: an internal error means the verdicts cannot be
 * trusted, and malformed input means some scenarios were never judged.
 */
#ifndef TLSRIG_CLI_H
#define TLSRIG_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "pool.h"
#include "report.h"
#include "rig.h"
#include "transcript.h"
#include "walk.h"

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

/* Not in the help text: the most scenarios one worker process runs before a fresh one
 * takes over (0: no limit, the default; replay defaults to 1). 1 gives every scenario a
 * process of its own, which is how to check that batching changes no verdict or byte. */
#define BATCH_ENV "TLSRIG_BATCH"

/* The interpreter's own wall-clock limit is set below the kill deadline, so a scenario that
 * is merely slow fails with the line it was on rather than a bare "timed out". */
#define WALL_SHARE 0.75

#define TEXT_MAX POOL_TEXT_MAX /* one message */
#define PATH_TEXT 1024         /* a capture path */

#define EXIT_STATUS_HELP                                                                           \
    "exit status: 0 all passed, 1 a scenario failed, 2 malformed input or bad usage,\n"            \
    "3 internal error\n"

/* ---- commands ---- */

/* A command: cmd_<name>.c defines one, main.c lists them. */
typedef struct cli_command {
    const char *name;
    const char *summary;            /* one line for `tlsrig --help` */
    const char *synopsis;           /* what follows "usage: tlsrig <name> " */
    const char *options;            /* the help text of the options, one a line */
    const char *operands;           /* what the paths are, for "no paths given: name the ..." */
    const char *short_opts;         /* getopt_long's optstring, without the leading ':' */
    const struct option *long_opts; /* ends with a zero entry */
    long batch; /* jobs a worker process runs before a fresh one (0: no limit), unless
                   $TLSRIG_BATCH says otherwise */
    /* The command's main: argv[0] is the command name. Returns the exit status. */
    int (*main)(int argc, char **argv);
} cli_command;

extern const cli_command cli_cmd_run, cli_cmd_list, cli_cmd_record, cli_cmd_replay;

/* Every command, NULL-terminated (main.c). */
extern const cli_command *const cli_commands[];

/* ---- options ---- */

/* getopt_long values of the options without a one-letter form; the others use the letter. */
enum {
    OPT_TAP = 256,
    OPT_JUNIT,
    OPT_JSON,
    OPT_PKI,
    OPT_PCAP_DIR,
    OPT_TIMEOUT,
    OPT_RFC,
};

/* The options of every command; a command fills the ones it takes. */
typedef struct cli_options {
    const char *filter; /* -k */
    long jobs;          /* -j, default 1 */
    int tap;
    int rfc;
    const char *junit;
    const char *json;
    const char *pki;
    const char *pcap_dir;
    const char *outdir; /* -o */
    double timeout;     /* default DEFAULT_TIMEOUT */
    long batch;         /* see BATCH_ENV */
    const char *const *paths;
    size_t n_paths;
} cli_options;

/* cli_parse_options returns this when the command is to go on. */
#define CLI_CONTINUE (-1)

/* cli_parse_options reads |cmd|'s options from argv (argv[0] is the command name) with
 * getopt_long into |o|: options may come before or after the paths (`record x.scn -o out/`),
 * `--opt value` and `--opt=value` alike, and `--` ends them. Errors are reported on stderr
 * naming the option (with the nearest known one where there is one). |o|'s paths point into
 * argv; o->batch comes from $TLSRIG_BATCH or cmd->batch. Returns CLI_CONTINUE, or the exit
 * status to leave with: 0 after --help, 2 for bad usage (an option error, no paths, a bad
 * $TLSRIG_BATCH). */
int cli_parse_options(const cli_command *cmd, int argc, char **argv, cli_options *o);

/* cli_is_option: whether |word| is an option of some command ("--name", "--name=value",
 * "-c"). */
int cli_is_option(const char *word);

/* cli_unknown_option reports the unknown option |word|, suggesting the nearest long option
 * of |cmd| (of any command when NULL). Returns EXIT_USAGE. */
int cli_unknown_option(const cli_command *cmd, const char *word);

/* cli_print_help prints |cmd|'s usage, summary and options to |out|. */
void cli_print_help(const cli_command *cmd, FILE *out);

/* usage_error prints "tlsrig: <message>" on stderr and returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- small helpers (util.c) ---- */

/* truncate_into is snprintf for messages: cutting a long one short is intended, and a
 * separate name keeps that visible (and out of the truncation warning, which is for writes
 * that must not be cut). */
void truncate_into(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* die_oom reports running out of memory and exits with status 3. */
void die_oom(void) __attribute__((noreturn));

/* xcalloc is calloc that never returns NULL (0 items still get a block). */
void *xcalloc(size_t n, size_t size);

/* sv_push is strvec_push that never fails; returns the copy, owned by |sv|. */
const char *sv_push(strvec *sv, const char *s);

int ends_with(const char *s, const char *suffix);

/* sanitize_id makes a variant id a file name: "x[version=1.2]" -> "x_version=1.2_". */
void sanitize_id(const char *id, char *out, size_t outlen);

/* mkdir_p creates |dir| and its parents; an existing folder is fine. Returns 0, or -1 with
 * a message. */
int mkdir_p(const char *dir, char *err, size_t errlen);

/* ---- jobs (job.c) ---- */

/* One thing to run and, once done, its verdict. */
typedef struct cli_job {
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

    /* what its worker sent */
    int have_verdict;
    pool_msg verdict;
    int have_capture;
    pool_msg capture;
} cli_job;

/* What a worker sends about a job (pool_msg.kind). */
typedef enum cli_msg_kind {
    MSG_VERDICT = 'V', /* status: rig_status of the run */
    MSG_CAPTURE = 'C', /* status: 0 written, 1 written but the capture run differed, -1 not */
} cli_msg_kind;

/* job_set decides |j|: its verdict, exit status and message. */
void job_set(cli_job *j, report_kind kind, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* malformed_job makes |j| an input that was never run: it prints as ERROR and exits 2. The
 * strings are borrowed. */
cli_job *malformed_job(cli_job *j, const char *label, const char *file, const char *stem,
                       const char *message);

/* cmp_job orders jobs by label in natural order (strverscmp), then by file. */
int cmp_job(const void *a, const void *b);

/* job_item is |j| as the report formats see it; it borrows from |j|. */
report_item job_item(const cli_job *j);

typedef struct cli_runner cli_runner;

/* job_take_message keeps what a worker sent about |j|: the first verdict and the first
 * capture note count. */
void job_take_message(cli_job *j, const pool_msg *m);

/* job_finish decides the verdict of |j| from what its worker sent and how its run ended
 * (and, for run, where the capture of a failure went). */
void job_finish(const cli_runner *r, cli_job *j, const pool_end *end);

/* ---- running jobs (runner.c) ---- */

/* In a worker: run |j| and send its MSG_VERDICT (and MSG_CAPTURE) to the parent over |fd|. */
typedef void (*cli_work_fn)(const cli_runner *r, const cli_job *j, int fd);

struct cli_runner {
    const char *pki;
    const char *pcap_dir; /* run: where failing scenarios' captures go */
    const char *outdir;   /* record: where the files go */
    double timeout;
    long jobs;
    long batch;
    int ignore_xfail; /* replay: an xfail scenario is judged on its bytes */
    int note_capture; /* run: a FAIL line names its capture */
    cli_work_fn work;
};

/* cli_runner_init fills |r|'s settings from |o| and |pki|, leaving |work| and the flags as
 * the caller set them. */
void cli_runner_init(cli_runner *r, const cli_options *o, const char *pki);

/* cli_rig_run runs |j|'s scenario in a worker with |r|'s PKI and time limit, capturing the
 * wire when |capture| is set. |*seconds| gets the time it took; |res| is the caller's to
 * clean up. */
rig_status cli_rig_run(const cli_runner *r, const cli_job *j, int capture, rig_result *res,
                       double *seconds);

/* cli_run_jobs runs every job not already done on at most r->jobs worker processes and
 * prints the verdicts in job order as they become printable (TAP when |tap|), counting them
 * into |counts|. Returns 0, or -1 when a worker ended badly outside any job. */
int cli_run_jobs(const cli_runner *r, cli_job *jobs, size_t n, int tap, report_counts *counts);

/* cli_run_scenarios runs the scenarios o->paths name (run and record) with |how|'s work and
 * flags: it collects the files, finds the PKI, calls |prepare| (when not NULL; it returns 0
 * or an exit status, reported), loads the files and runs them, printing the result lines and
 * the summary and writing the --junit / --json reports. Returns the exit status. */
int cli_run_scenarios(const cli_options *o, const cli_runner *how,
                      int (*prepare)(const cli_options *o));

/* cli_worst is the highest exit status of the jobs. */
int cli_worst(const cli_job *jobs, size_t n);

/* cli_resolve_pki finds the test PKI: --pki, else $TLSRIG_PKI, else pki. Returns 0, or 3
 * (reported) when it is not a folder. */
int cli_resolve_pki(const cli_options *o, const char **out);

/* cli_collect expands o->paths into files (walk_collect). Returns 0, or the exit status
 * (reported). */
int cli_collect(const cli_options *o, const char *ext, strvec *out);

/* ---- loading scenarios (load.c) ---- */

typedef struct cli_loaded {
    scn_file *files;
    size_t n_files;
    cli_job *jobs;
    size_t n_jobs;
    size_t malformed;
    strvec owned; /* strings the malformed jobs point at */
} cli_loaded;

/* cli_load parses every file of |paths| and checks every variant. Malformed input is
 * reported on stderr (file:line: message) and kept as an ERROR job; the variants whose id
 * contains |filter| (any, when NULL) become jobs, sorted by cmp_job. Two files giving the
 * same id is malformed too: the id names the test and its capture file. */
void cli_load(const strvec *paths, const char *filter, cli_loaded *l);

/* cli_loaded_cleanup frees what |l| holds. Safe on a zeroed |l|. */
void cli_loaded_cleanup(cli_loaded *l);

#endif
