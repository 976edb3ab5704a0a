/*
 * walk.h - the files a command line names: a file as it is, a folder as every file below it
 * with the right extension, in natural order.
 */
#ifndef TLSRIG_CLI_WALK_H
#define TLSRIG_CLI_WALK_H

#include <stddef.h>

/* A growable list of strings the list owns. The zero value is an empty list. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

/* How walk_collect fails. */
typedef enum walk_error {
    WALK_BAD_PATH = -1, /* a path does not exist, or a folder holds no matching file */
    WALK_NOMEM = -2,
} walk_error;

/* walk_collect appends to |out| the |n| paths of |paths| expanded: a path that is not a
 * folder is taken as it is; a folder gives the files below it, at any depth, whose names end
 * in |ext| (nftw(3)). Entries whose names start with a dot are skipped, and symbolic links to
 * folders are not followed, so a link loop cannot recurse forever; a link to a file counts as
 * the file. A subfolder that cannot be read is reported on stderr and skipped. |out| ends up
 * sorted by strverscmp(3) (a-2.scn before a-10.scn) without repeats.
 *
 * Returns 0, or a walk_error with a message in |err| ("PATH: reason"); |out| then holds
 * what was collected so far and is still the caller's to clean up. */
int walk_collect(const char *const *paths, size_t n, const char *ext, strvec *out, char *err,
                 size_t errlen);

/* strvec_push appends a copy of |s|. Returns 0, or -1 when out of memory. */
int strvec_push(strvec *sv, const char *s);

/* strvec_cleanup frees every string and the list, leaving it empty. Safe on a zero list. */
void strvec_cleanup(strvec *sv);

#endif
