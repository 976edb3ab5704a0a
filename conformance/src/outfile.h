/*
 * outfile.h - output files written whole or not at all, and the error-message helper the
 * writers share.
 *
 * A file is written to a temporary name beside its destination and renamed over it once
 * complete: a reader never sees half a capture or transcript, and a failed write never
 * clobbers an older file.
 */
#ifndef TLSRIG_OUTFILE_H
#define TLSRIG_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct rig_outfile {
    FILE *f;          /* write here between open and commit */
    char *tmp;        /* the temporary path */
    const char *path; /* the destination (borrowed) */
    int io_errno;     /* the first write error, 0 while all is well; writers set it */
} rig_outfile;

/* rig_set_err formats into |err| when the caller gave room for a message. */
void rig_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rig_outfile_open creates the temporary file beside |path| (mode 0644: captures and
 * transcripts are ordinary artefacts). Returns 0, or -1 with "<what>: cannot create ..." in
 * |err| and |o| left discarded. */
int rig_outfile_open(rig_outfile *o, const char *path, const char *what, char *err, size_t errlen);

/* rig_outfile_note records a failed write (errno, or EIO when errno is 0) unless one is
 * recorded already. */
void rig_outfile_note(rig_outfile *o);

/* rig_outfile_commit flushes and closes the file and, when no write failed, renames it over
 * the destination. Returns 0, or -1 with "<what>: cannot write|rename ..." in |err|; in both
 * cases |o| is finished (a failure removes the temporary file). */
int rig_outfile_commit(rig_outfile *o, const char *what, char *err, size_t errlen);

/* rig_outfile_discard drops an unfinished file. Safe on a zeroed or finished |o|. */
void rig_outfile_discard(rig_outfile *o);

#endif
