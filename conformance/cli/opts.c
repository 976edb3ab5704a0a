/*
 * opts.c - command-line options: getopt_long over each command's option table, with the
 * runner's own error messages (getopt's are off), and the help text of a command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "scn.h"

/* Suggestions are drawn from at most this many option names. */
#define MAX_NAMES 64

int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: " PROG " %s %s\n%s\n\noptions:\n%s\n" EXIT_STATUS_HELP, cmd->name,
            cmd->synopsis, cmd->summary, cmd->options);
}

/* has_long_option: whether |cmd| has the long option |name| (no leading dashes, |len|
 * bytes). */
static int has_long_option(const cli_command *cmd, const char *name, size_t len)
{
    for (const struct option *lo = cmd->long_opts; lo->name != NULL; lo++) {
        if (strlen(lo->name) == len && strncmp(lo->name, name, len) == 0)
            return 1;
    }
    return 0;
}

/* has_value: whether getopt_long can return |v| for one of |cmd|'s options. */
static int has_value(const cli_command *cmd, int v)
{
    for (const struct option *lo = cmd->long_opts; lo->name != NULL; lo++) {
        if (lo->val == v)
            return 1;
    }
    return v > 0 && v < 256 && v != ':' && strchr(cmd->short_opts, v) != NULL;
}

/* owner_of finds a command other than |cmd| that takes the option |word| ("--name", maybe
 * followed by "=value", or "-c"), or returns NULL. */
static const cli_command *owner_of(const cli_command *cmd, const char *word)
{
    for (size_t i = 0; cli_commands[i] != NULL; i++) {
        const cli_command *other = cli_commands[i];
        if (other == cmd)
            continue;
        if (word[1] == '-' ? has_long_option(other, word + 2, strcspn(word + 2, "="))
                           : strlen(word) == 2 && has_value(other, word[1]))
            return other;
    }
    return NULL;
}

int cli_is_option(const char *word)
{
    return word[0] == '-' && owner_of(NULL, word) != NULL;
}

int cli_unknown_option(const cli_command *cmd, const char *word)
{
    char names[MAX_NAMES][32];
    const char *list[MAX_NAMES + 1];
    size_t k = 0;
    for (size_t i = 0; cli_commands[i] != NULL; i++) {
        if (cmd != NULL && cli_commands[i] != cmd)
            continue;
        /* Long names only: one-letter options would match almost anything. */
        for (const struct option *lo = cli_commands[i]->long_opts;
             lo->name != NULL && k < MAX_NAMES; lo++) {
            snprintf(names[k], sizeof(names[k]), "--%s", lo->name);
            list[k] = names[k];
            k++;
        }
    }
    list[k] = NULL;
    const char *near = strlen(word) > 2 ? scn_nearest(word, list) : NULL;
    if (near != NULL)
        return usage_error("unknown option '%s' (did you mean '%s'?)", word, near);
    return usage_error("unknown option '%s'", word);
}

/* long_word copies the "--name" part of a long option argument (before any '='). */
static void long_word(const char *arg, char *buf, size_t len)
{
    size_t n = strcspn(arg, "=");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), arg);
}

/* ambiguous reports a long option abbreviation that several of |cmd|'s options start with
 * (getopt_long takes an abbreviation only when it is unique). Returns 1 when it did. */
static int ambiguous(const cli_command *cmd, const char *word)
{
    char which[256] = "";
    size_t n = 0, len = strlen(word + 2), used = 0;
    for (const struct option *lo = cmd->long_opts; lo->name != NULL; lo++) {
        if (strncmp(lo->name, word + 2, len) != 0 || used + 1 >= sizeof(which))
            continue;
        n++;
        used += (size_t)snprintf(which + used, sizeof(which) - used, "%s--%s", used > 0 ? ", " : "",
                                 lo->name);
    }
    if (n < 2)
        return 0;
    usage_error("option '%s' is ambiguous: %s", word, which);
    return 1;
}

/* unknown_word is the option getopt_long did not know, as written. It leaves a long one at
 * argv[optind - 1]; a letter is at argv[optind] while letters follow it in the same
 * argument ("-tap"). */
static void unknown_word(int argc, char **argv, char *buf, size_t len)
{
    const char *at = optind < argc ? argv[optind] : "";
    if (optopt == 0)
        long_word(argv[optind - 1], buf, len);
    else if (at[0] == '-' && at[1] == optopt && at[2] != '\0')
        snprintf(buf, len, "%s", at);
    else
        snprintf(buf, len, "-%c", optopt);
}

/* option_error reports what getopt_long turned away: |c| is ':' (a value is missing) or '?'
 * (an unknown option, or a value given to an option that takes none). */
static int option_error(const cli_command *cmd, int c, int argc, char **argv)
{
    char word[64];
    if (optopt != 0 && has_value(cmd, optopt)) {
        /* One of ours: getopt_long left its argument at argv[optind - 1]. */
        const char *arg = argv[optind - 1];
        if (strncmp(arg, "--", 2) == 0)
            long_word(arg, word, sizeof(word));
        else
            snprintf(word, sizeof(word), "-%c", optopt);
        if (c == ':')
            return usage_error("option '%s' needs a value", word);
        return usage_error("option '%s' takes no value", word);
    }
    unknown_word(argc, argv, word, sizeof(word));
    char letter[3] = {'-', word[1], '\0'};
    const char *name = word[1] == '-' ? word : letter;
    if (owner_of(cmd, name) != NULL)
        return usage_error("option '%s' does not apply to '%s'", name, cmd->name);
    if (word[1] == '-' && ambiguous(cmd, word))
        return EXIT_USAGE;
    return cli_unknown_option(cmd, word);
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

/* set_option stores one option value; |shown| is the option as written. Returns 0 or an
 * exit status. */
static int set_option(cli_options *o, int c, const char *shown, const char *v)
{
    double num = 0;
    switch (c) {
    case 'k':
        o->filter = v;
        return 0;
    case 'j':
        if (parse_number(shown, v, &num) != 0)
            return EXIT_USAGE;
        if (num != (double)(long)num || num > MAX_JOBS)
            return usage_error("%s: '%s' is not a whole number from 0 to %d", shown, v, MAX_JOBS);
        o->jobs = (long)num;
        return 0;
    case 'o':
        o->outdir = v;
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
    default:
        return usage_error("internal: option %s has no handler", shown);
    }
}

/* batch_from_env sets o->batch from $TLSRIG_BATCH, or to |dflt| when it is unset or empty.
 * Returns 0 or an exit status. */
static int batch_from_env(cli_options *o, long dflt)
{
    const char *batch = getenv(BATCH_ENV);
    o->batch = dflt;
    if (batch == NULL || batch[0] == '\0')
        return 0;
    double num = 0;
    if (parse_number(BATCH_ENV, batch, &num) != 0)
        return EXIT_USAGE;
    if (num != (double)(long)num)
        return usage_error("%s: '%s' is not a whole number", BATCH_ENV, batch);
    o->batch = (long)num;
    return 0;
}

int cli_parse_options(const cli_command *cmd, int argc, char **argv, cli_options *o)
{
    char optstring[64];
    memset(o, 0, sizeof(*o));
    o->jobs = 1;
    o->timeout = DEFAULT_TIMEOUT;
    /* The leading ':' makes a missing value ':' rather than '?'; messages are ours. */
    snprintf(optstring, sizeof(optstring), ":%s", cmd->short_opts);
    opterr = 0;
    optind = 1;
    for (;;) {
        int at = -1;
        int c = getopt_long(argc, argv, optstring, cmd->long_opts, &at);
        if (c == -1)
            break;
        if (c == 'h') {
            cli_print_help(cmd, stdout);
            return EXIT_PASSED;
        }
        if (c == '?' || c == ':')
            return option_error(cmd, c, argc, argv);
        char shown[64];
        if (at >= 0)
            snprintf(shown, sizeof(shown), "--%s", cmd->long_opts[at].name);
        else
            snprintf(shown, sizeof(shown), "-%c", c);
        int rc = set_option(o, c, shown, optarg);
        if (rc != 0)
            return rc;
    }
    o->paths = (const char *const *)(argv + optind);
    o->n_paths = (size_t)(argc - optind);
    if (o->n_paths == 0) {
        fprintf(stderr, PROG " %s: no paths given: name the %s to use\n", cmd->name, cmd->operands);
        return EXIT_USAGE;
    }
    if (o->jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        o->jobs = cpus > 0 ? (cpus < MAX_JOBS ? cpus : MAX_JOBS) : 1;
    }
    if (batch_from_env(o, cmd->batch) != 0)
        return EXIT_USAGE;
    return CLI_CONTINUE;
}
