/*
 * outfile.c - output files written whole or not at all (see outfile.h).
 */
#include "outfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rig_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int rig_outfile_open(rig_outfile *o, const char *path, const char *what, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->path = path;
    size_t tlen = strlen(path) + sizeof(".XXXXXX");
    o->tmp = malloc(tlen);
    if (o->tmp == NULL) {
        rig_set_err(err, errlen, "%s: %s: out of memory", what, path);
        return -1;
    }
    snprintf(o->tmp, tlen, "%s.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        rig_set_err(err, errlen, "%s: cannot create %s: %s", what, path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    /* mkstemp makes the file private */
    (void)fchmod(fd, 0644);
    o->f = fdopen(fd, "wb");
    if (o->f == NULL) {
        rig_set_err(err, errlen, "%s: cannot write %s: %s", what, o->tmp, strerror(errno));
        close(fd);
        rig_outfile_discard(o);
        return -1;
    }
    return 0;
}

void rig_outfile_note(rig_outfile *o)
{
    if (o->io_errno == 0)
        o->io_errno = errno != 0 ? errno : EIO;
}

int rig_outfile_commit(rig_outfile *o, const char *what, char *err, size_t errlen)
{
    if (o->io_errno == 0 && fflush(o->f) != 0)
        rig_outfile_note(o);
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0)
        rig_outfile_note(o);
    if (o->io_errno != 0) {
        rig_set_err(err, errlen, "%s: cannot write %s: %s", what, o->tmp, strerror(o->io_errno));
        rig_outfile_discard(o);
        return -1;
    }
    if (rename(o->tmp, o->path) != 0) {
        rig_set_err(err, errlen, "%s: cannot rename %s to %s: %s", what, o->tmp, o->path,
                    strerror(errno));
        rig_outfile_discard(o);
        return -1;
    }
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

void rig_outfile_discard(rig_outfile *o)
{
    if (o->f != NULL) {
        fclose(o->f);
        o->f = NULL;
    }
    if (o->tmp != NULL) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}
