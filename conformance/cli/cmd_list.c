/*
 * cmd_list.c - tlsrig list: the scenario variants with their RFC sections, or (--rfc) the
 * RFC sections the scenarios cover, each with the number of scenarios checking it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct option list_options[] = {
    {"rfc", no_argument, NULL, OPT_RFC},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char list_help[] = "  -k SUBSTR        only variants whose id contains SUBSTR\n"
                                "  --rfc            the RFC sections covered, with the number of\n"
                                "                   scenarios checking each\n"
                                "  -h, --help       this text\n";

/* list_variants prints one line per variant: its id, then its RFC sections. */
static void list_variants(const cli_loaded *l)
{
    size_t width = 0;
    for (size_t i = 0; i < l->n_jobs; i++) {
        size_t w = strlen(l->jobs[i].label);
        if (!l->jobs[i].done && w > width)
            width = w;
    }
    for (size_t i = 0; i < l->n_jobs; i++) {
        const cli_job *j = &l->jobs[i];
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
}

typedef struct rfc_count {
    const char *rfc;
    size_t files;
    const char *last_file; /* to count each file once */
} rfc_count;

/* Natural order: "RFC 5246" before "RFC 8446", "§4.2" before "§4.10". */
static int cmp_rfc(const void *a, const void *b)
{
    return strverscmp(((const rfc_count *)a)->rfc, ((const rfc_count *)b)->rfc);
}

/* list_rfcs prints each RFC section once, with the number of scenario files citing it. */
static void list_rfcs(const cli_loaded *l)
{
    size_t n = 0, cap = 16, width = 0;
    rfc_count *counts = xcalloc(cap, sizeof(*counts));
    for (size_t i = 0; i < l->n_jobs; i++) {
        const cli_job *j = &l->jobs[i];
        if (j->done)
            continue;
        for (size_t k = 0; k < j->s->n_rfcs; k++) {
            const char *rfc = j->s->rfcs[k];
            size_t at = 0;
            while (at < n && strcmp(counts[at].rfc, rfc) != 0)
                at++;
            if (at == n) {
                if (n == cap) {
                    cap *= 2;
                    rfc_count *more = realloc(counts, cap * sizeof(*more));
                    if (more == NULL)
                        die_oom();
                    counts = more;
                }
                memset(&counts[n++], 0, sizeof(*counts));
                counts[at].rfc = rfc;
                if (strlen(rfc) > width)
                    width = strlen(rfc);
            }
            /* Variants of one file share its rfc lines: count the scenario once. */
            if (counts[at].last_file == NULL || strcmp(counts[at].last_file, j->file) != 0) {
                counts[at].files++;
                counts[at].last_file = j->file;
            }
        }
    }
    if (n > 1)
        qsort(counts, n, sizeof(*counts), cmp_rfc);
    for (size_t i = 0; i < n; i++)
        printf("%-*s  %zu\n", (int)width, counts[i].rfc, counts[i].files);
    free(counts);
}

static int list_main(int argc, char **argv)
{
    cli_options o;
    cli_loaded l = {0};
    strvec paths = {0};
    int rc = cli_parse_options(&cli_cmd_list, argc, argv, &o);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = cli_collect(&o, ".scn", &paths);
    if (rc != 0)
        goto cleanup;
    cli_load(&paths, o.filter, &l);
    if (o.rfc)
        list_rfcs(&l);
    else
        list_variants(&l);
    fflush(stdout);
    rc = l.malformed > 0 ? EXIT_USAGE : EXIT_PASSED;
cleanup:
    cli_loaded_cleanup(&l);
    strvec_cleanup(&paths);
    return rc;
}

const cli_command cli_cmd_list = {
    .name = "list",
    .summary = "one line per variant with its RFC sections; --rfc: the sections covered",
    .synopsis = "[options] PATH...",
    .options = list_help,
    .operands = "scenario files or folders",
    .short_opts = "k:h",
    .long_opts = list_options,
    .main = list_main,
};
