/*
 * walk.c - expanding the paths of a command line into files (see walk.h).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "walk.h"

/* Folders a walk may hold open at once; deeper trees still work, only slower. */
#define WALK_OPEN_FDS 32

/* nftw passes its callback no argument of ours: the walk in progress lives here. Walks
 * are not nested and the runner has one thread. */
static struct walk_state {
    const char *ext;
    strvec *out;
    int nomem;
} walk_now;

static int visit(const char *path, const struct stat *st, int type, struct FTW *at)
{
    const char *name = path + at->base;
    struct stat target;
    int is_file = type == FTW_F && S_ISREG(st->st_mode);
    if (at->level > 0 && name[0] == '.')
        return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
    switch (type) {
    case FTW_DNR:
        fprintf(stderr, PROG ": %s: cannot read folder: %s\n", path, strerror(errno));
        return FTW_CONTINUE;
    case FTW_SL:
        is_file = stat(path, &target) == 0 && S_ISREG(target.st_mode);
        break;
    default:
        break;
    }
    if (!is_file || !ends_with(name, walk_now.ext))
        return FTW_CONTINUE;
    if (strvec_push(walk_now.out, path) < 0) {
        walk_now.nomem = 1;
        return FTW_STOP;
    }
    return FTW_CONTINUE;
}

static int cmp_natural(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

int walk_collect(const char *const *paths, size_t n, const char *ext, strvec *out, char *err,
                 size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        struct stat st;
        if (stat(p, &st) < 0) {
            snprintf(err, errlen, "%s: %s", p, strerror(errno));
            return WALK_BAD_PATH;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (strvec_push(out, p) < 0)
                return WALK_NOMEM;
            continue;
        }
        size_t before = out->n;
        walk_now = (struct walk_state){.ext = ext, .out = out};
        int rc = nftw(p, visit, WALK_OPEN_FDS, FTW_PHYS | FTW_ACTIONRETVAL);
        if (walk_now.nomem)
            return WALK_NOMEM;
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot read folder: %s", p, strerror(errno));
            return WALK_BAD_PATH;
        }
        if (out->n == before) {
            snprintf(err, errlen, "%s: no %s files in this folder", p, ext);
            return WALK_BAD_PATH;
        }
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_natural);
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

int strvec_push(strvec *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap == 0 ? 16 : sv->cap * 2;
        char **v = realloc(sv->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL)
        return -1;
    sv->v[sv->n++] = copy;
    return 0;
}

void strvec_cleanup(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}
