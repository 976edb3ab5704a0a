/*
 * load.c - scenario files into jobs: parsed, every variant checked, filtered, sorted.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_loaded_cleanup(cli_loaded *l)
{
    for (size_t i = 0; i < l->n_files; i++)
        scn_file_cleanup(&l->files[i]);
    free(l->files);
    free(l->jobs);
    strvec_cleanup(&l->owned);
    memset(l, 0, sizeof(*l));
}

/* stem_of is the file name without folder and .scn, as the parser names scenarios. */
static const char *stem_of(cli_loaded *l, const char *path)
{
    const char *slash = strrchr(path, '/');
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", slash != NULL ? slash + 1 : path);
    if (ends_with(buf, ".scn") && strlen(buf) > 4)
        buf[strlen(buf) - 4] = '\0';
    return sv_push(&l->owned, buf);
}

/* new_job appends a zeroed job. */
static cli_job *new_job(cli_loaded *l, size_t *cap)
{
    if (l->n_jobs == *cap) {
        *cap *= 2;
        cli_job *nj = realloc(l->jobs, *cap * sizeof(*nj));
        if (nj == NULL)
            die_oom();
        l->jobs = nj;
    }
    cli_job *j = &l->jobs[l->n_jobs++];
    memset(j, 0, sizeof(*j));
    return j;
}

/* load_variants checks every variant of |f| and makes jobs of those |filter| selects. */
static void load_variants(cli_loaded *l, const scn_file *f, const char *filter, size_t *cap)
{
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
        cli_job *j = new_job(l, cap);
        j->s = s;
        j->label = s->id;
        j->file = s->path;
        j->stem = s->name;
        if (bad)
            job_set(j, REPORT_ERROR, EXIT_USAGE, "%s", res.message);
        rig_result_cleanup(&res);
    }
}

/* mark_repeated_ids makes the second of two jobs with the same id malformed; |l|'s jobs are
 * sorted, so they are neighbours. */
static void mark_repeated_ids(cli_loaded *l)
{
    for (size_t i = 1; i < l->n_jobs; i++) {
        cli_job *a = &l->jobs[i - 1], *b = &l->jobs[i];
        if (strcmp(a->label, b->label) != 0 || b->done)
            continue;
        char msg[TEXT_MAX];
        snprintf(msg, sizeof(msg), "%s: scenario id '%s' is also the id of a scenario in %s",
                 b->file, b->label, a->file);
        fprintf(stderr, "%s\n", msg);
        l->malformed++;
        job_set(b, REPORT_ERROR, EXIT_USAGE, "%s", msg);
    }
}

void cli_load(const strvec *paths, const char *filter, cli_loaded *l)
{
    size_t cap = 16;
    memset(l, 0, sizeof(*l));
    l->files = xcalloc(paths->n, sizeof(*l->files));
    l->jobs = xcalloc(cap, sizeof(*l->jobs));
    for (size_t i = 0; i < paths->n; i++) {
        char err[TEXT_MAX];
        scn_file *f = &l->files[l->n_files];
        const char *path = paths->v[i];
        if (scn_parse_file(path, f, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            l->malformed++;
            const char *stem = stem_of(l, path);
            malformed_job(new_job(l, &cap), stem, sv_push(&l->owned, path), stem, err);
            continue;
        }
        l->n_files++;
        load_variants(l, f, filter, &cap);
    }
    if (l->n_jobs > 1)
        qsort(l->jobs, l->n_jobs, sizeof(*l->jobs), cmp_job);
    mark_repeated_ids(l);
}
