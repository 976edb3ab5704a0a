/*
 * scn.h - a parsed scenario: header facts, peers with their settings, and steps, each kept
 * as the words of its line with the line number, so every later check can say file:line.
 *
 * parse.c reads a .scn file and expands its matrix into variants; compile.c gives the words
 * their meaning (a rig_program, prog.h) and interp.c runs that.
 */
#ifndef TLSRIG_SCN_H
#define TLSRIG_SCN_H

#include <stddef.h>
#include <stdint.h>

/* One statement: its words (quotes removed, escapes decoded; a word may hold NUL bytes, so
 * lengths are kept) and where it came from. */
typedef struct scn_line {
    int lineno;
    int argc;
    char **argv;
    size_t *argl; /* byte length of each word */
} scn_line;

typedef struct scn_peer {
    char *name;
    int is_server;
    int lineno;
    scn_line *settings;
    size_t n_settings;
} scn_peer;

/* One runnable scenario (a matrix variant, or the scenario itself when it has no matrix). */
typedef struct scn {
    char *path;  /* the file it came from */
    char *name;  /* file stem */
    char *id;    /* name, or name[var=value,...] for a variant */
    char *title; /* from `title`, or NULL */
    char **rfcs; /* from `rfc` lines */
    size_t n_rfcs;
    char *xfail; /* reason, or NULL */
    uint64_t seed;
    long budget; /* pump rounds allowed; default 10000 */
    scn_peer *peers;
    size_t n_peers;
    scn_line *steps;
    size_t n_steps;
} scn;

/* All variants of one file. */
typedef struct scn_file {
    scn *variants;
    size_t n_variants;
} scn_file;

/* scn_parse_file reads |path| and expands its matrix. Returns 0, or -1 with "file:line:
 * message" in |err| (a malformed scenario). The result is freed with scn_file_cleanup. */
int scn_parse_file(const char *path, scn_file *out, char *err, size_t errlen);

/* scn_read_file reads a whole scenario file (at most 4 MiB) into |*text| (NUL-terminated,
 * |*len| bytes before the NUL; free() it). Returns 0, or -1 with "path: why" in |err|. */
int scn_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* scn_parse_text is scn_parse_file on text already in memory (|path| names it in errors). */
int scn_parse_text(const char *path, const char *text, size_t len, scn_file *out, char *err,
                   size_t errlen);

void scn_file_cleanup(scn_file *f);

/* scn_nearest returns the entry of |names| (NULL-terminated) closest to |word| by edit
 * distance, or NULL when nothing is reasonably close. */
const char *scn_nearest(const char *word, const char *const *names);

#endif
