/*
 * transcript.h - a recorded scenario run, kept as text so that a replay can check that the
 * same scenario still puts the same bytes on the wire.
 *
 * Format (version 1), every line ending in '\n':
 *
 *     tlsrig-transcript 1
 *     id <scenario id>
 *     seed <n>
 *     source <byte length>
 *     <exactly that many bytes of scenario text>
 *     C <conn> <hex>
 *     S <conn> <hex>
 *     ...
 *     end
 *
 * The id is the rest of its line (it may hold spaces, never a line break). The seed and the
 * numbers are plain decimal without sign or leading zeros. The scenario text follows the
 * `source` line and is itself followed by one '\n' (so a text that ends in a newline leaves
 * an empty line before the chunks). Then one line per chunk in wire order: `C` for client
 * to server, `S` for server to client, the connection number, and the bytes in hex (lower
 * case when written, either case read); an empty chunk is just `C <conn>`. `end` closes the
 * file; nothing may follow it.
 *
 * The reader is strict: anything else is an error reported as "path:line: message".
 */
#ifndef TLSRIG_TRANSCRIPT_H
#define TLSRIG_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "rig.h"

#define TRANSCRIPT_MAGIC "tlsrig-transcript"
#define TRANSCRIPT_VERSION 1

/* Limits that keep a hostile or corrupt file from asking for absurd allocations. */
#define TRANSCRIPT_MAX_FILE ((size_t)256 << 20)  /* whole file, bytes */
#define TRANSCRIPT_MAX_ID 4096                   /* id, bytes */
#define TRANSCRIPT_MAX_SOURCE ((size_t)16 << 20) /* scenario text, bytes */
#define TRANSCRIPT_MAX_CHUNKS 1000000            /* chunk lines */
#define TRANSCRIPT_MAX_CONN 65535                /* connection numbers 0..this */

/* A transcript read back. Everything is owned by the struct (transcript_cleanup). |id| and
 * |source| are NUL-terminated as well as counted (the source may contain NUL bytes, so use
 * |source_len|). Chunk directions are 0 or 1. */
typedef struct transcript {
    char *id;
    uint64_t seed;
    char *source;
    size_t source_len;
    rig_chunk *chunks;
    size_t n_chunks;
} transcript;

/* transcript_write writes a transcript to |path| through a temporary file in the same
 * directory, renamed into place when complete. Returns 0, or -1 with a message in |err| (an
 * id that is empty, too long or holds a line break; a connection number outside
 * 0..TRANSCRIPT_MAX_CONN; too many chunks; an I/O failure). */
int transcript_write(const char *path, const char *id, uint64_t seed, const char *source,
                     size_t source_len, const rig_chunk *chunks, size_t n, char *err,
                     size_t errlen);

/* transcript_read reads and checks |path| into |out|. Returns 0, or -1 with "path:line:
 * message" in |err| and |out| left empty (cleanup is still safe). */
int transcript_read(const char *path, transcript *out, char *err, size_t errlen);

/* transcript_parse is transcript_read on |len| bytes already in memory; |name| stands for
 * the path in messages. For fuzzing and for callers that hold the text already. */
int transcript_parse(const char *name, const char *text, size_t len, transcript *out, char *err,
                     size_t errlen);

/* transcript_cleanup frees what |t| owns and empties it. */
void transcript_cleanup(transcript *t);

/* transcript_compare checks a run's chunks against the recorded ones. Returns 0 when they
 * are identical (same count, and per chunk the same direction, connection and bytes), else
 * 1 with a message naming the first difference: the chunk index, its direction, the byte
 * offset and both lengths, or which side has chunks the other lacks. */
int transcript_compare(const transcript *t, const rig_chunk *chunks, size_t n, char *msg,
                       size_t msglen);

#endif
