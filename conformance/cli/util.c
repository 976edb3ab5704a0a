/*
 * util.c - the small helpers the commands share: messages, memory, file names and folders.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli.h"

void truncate_into(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

void die_oom(void)
{
    fprintf(stderr, PROG ": out of memory\n");
    exit(EXIT_INTERNAL);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n > 0 ? n : 1, size);
    if (p == NULL)
        die_oom();
    return p;
}

const char *sv_push(strvec *sv, const char *s)
{
    if (strvec_push(sv, s) < 0)
        die_oom();
    return sv->v[sv->n - 1];
}

int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Only a conservative set of characters survives, so the name needs no quoting in a shell
 * and can never climb out of its folder. */
void sanitize_id(const char *id, char *out, size_t outlen)
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

/* Workers racing to create the capture folder all succeed: EEXIST is fine. */
int mkdir_p(const char *dir, char *err, size_t errlen)
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
