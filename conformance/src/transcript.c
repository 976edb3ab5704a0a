/*
 * transcript.c - writing, reading and comparing transcripts (the format is in
 * transcript.h).
 *
 * The reader is fed files that may be truncated, edited by hand or produced by a fuzzer, so
 * it never trusts a length it has not checked against the bytes actually present, caps
 * every allocation (TRANSCRIPT_MAX_*), and reports the first problem with its line number.
 */
#include "transcript.h"

#include "outfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char hexdigits[] = "0123456789abcdef";

/* ---- writing ---- */

/* Bytes of hex text written per fwrite: bounded so a large chunk needs no large buffer. */
#define HEX_BLOCK 4096

static int write_hex(FILE *f, const uint8_t *p, size_t n)
{
    char buf[2 * HEX_BLOCK];
    while (n > 0) {
        size_t take = n < HEX_BLOCK ? n : HEX_BLOCK;
        for (size_t i = 0; i < take; i++) {
            buf[2 * i] = hexdigits[p[i] >> 4];
            buf[2 * i + 1] = hexdigits[p[i] & 0x0F];
        }
        if (fwrite(buf, 1, 2 * take, f) != 2 * take)
            return -1;
        p += take;
        n -= take;
    }
    return 0;
}

/* check_write_args refuses what the reader would refuse, so a written transcript always
 * reads back. */
static int check_write_args(const char *path, const char *id, const char *source, size_t source_len,
                            const rig_chunk *chunks, size_t n, char *err, size_t errlen)
{
    size_t id_len, size;

    if (path == NULL || path[0] == '\0') {
        rig_set_err(err, errlen, "transcript: no output path given");
        return -1;
    }
    if (id == NULL || id[0] == '\0') {
        rig_set_err(err, errlen, "transcript: %s: the scenario id is empty", path);
        return -1;
    }
    id_len = strlen(id);
    if (id_len > TRANSCRIPT_MAX_ID) {
        rig_set_err(err, errlen, "transcript: %s: the scenario id is %zu bytes (limit %d)", path,
                    id_len, TRANSCRIPT_MAX_ID);
        return -1;
    }
    if (strpbrk(id, "\r\n") != NULL) {
        rig_set_err(err, errlen, "transcript: %s: the scenario id holds a line break", path);
        return -1;
    }
    if (source_len > 0 && source == NULL) {
        rig_set_err(err, errlen, "transcript: %s: source length %zu but no source", path,
                    source_len);
        return -1;
    }
    if (source_len > TRANSCRIPT_MAX_SOURCE) {
        rig_set_err(err, errlen, "transcript: %s: the source is %zu bytes (limit %zu)", path,
                    source_len, TRANSCRIPT_MAX_SOURCE);
        return -1;
    }
    if (n > TRANSCRIPT_MAX_CHUNKS) {
        rig_set_err(err, errlen, "transcript: %s: %zu chunks (limit %d)", path, n,
                    TRANSCRIPT_MAX_CHUNKS);
        return -1;
    }
    if (n > 0 && chunks == NULL) {
        rig_set_err(err, errlen, "transcript: %s: %zu chunks but no chunk array", path, n);
        return -1;
    }
    /* Header lines: generous fixed allowance plus the id and the source. */
    size = 128 + id_len + source_len;
    for (size_t i = 0; i < n; i++) {
        if (chunks[i].conn < 0 || chunks[i].conn > TRANSCRIPT_MAX_CONN) {
            rig_set_err(err, errlen, "transcript: %s: chunk %zu: connection %d is outside 0..%d",
                        path, i, chunks[i].conn, TRANSCRIPT_MAX_CONN);
            return -1;
        }
        if (chunks[i].len > 0 && chunks[i].data == NULL) {
            rig_set_err(err, errlen, "transcript: %s: chunk %zu: %zu bytes but no data", path, i,
                        chunks[i].len);
            return -1;
        }
        if (chunks[i].len > TRANSCRIPT_MAX_FILE / 2) {
            size = TRANSCRIPT_MAX_FILE + 1;
            break;
        }
        size += 10 + 2 * chunks[i].len; /* "C 65535 " + hex + "\n" */
        if (size > TRANSCRIPT_MAX_FILE)
            break;
    }
    if (size > TRANSCRIPT_MAX_FILE) {
        rig_set_err(err, errlen, "transcript: %s: the transcript would exceed %zu bytes", path,
                    TRANSCRIPT_MAX_FILE);
        return -1;
    }
    return 0;
}

int transcript_write(const char *path, const char *id, uint64_t seed, const char *source,
                     size_t source_len, const rig_chunk *chunks, size_t n, char *err, size_t errlen)
{
    int rc = -1;
    rig_outfile out = {0};
    FILE *f = NULL;
    int io_errno = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (check_write_args(path, id, source, source_len, chunks, n, err, errlen) != 0)
        goto cleanup;

    if (rig_outfile_open(&out, path, "transcript", err, errlen) != 0)
        goto cleanup;
    f = out.f;

    if (fprintf(f, "%s %d\nid %s\nseed %llu\nsource %zu\n", TRANSCRIPT_MAGIC, TRANSCRIPT_VERSION,
                id, (unsigned long long)seed, source_len) < 0 ||
        (source_len > 0 && fwrite(source, 1, source_len, f) != source_len) ||
        fputc('\n', f) == EOF) {
        io_errno = errno != 0 ? errno : EIO;
    }
    for (size_t i = 0; i < n && io_errno == 0; i++) {
        const rig_chunk *ch = &chunks[i];
        if (fprintf(f, "%c %d", ch->from_server ? 'S' : 'C', ch->conn) < 0 ||
            (ch->len > 0 && (fputc(' ', f) == EOF || write_hex(f, ch->data, ch->len) != 0)) ||
            fputc('\n', f) == EOF)
            io_errno = errno != 0 ? errno : EIO;
    }
    if (io_errno == 0 && fputs("end\n", f) == EOF)
        io_errno = errno != 0 ? errno : EIO;
    out.io_errno = io_errno;
    if (rig_outfile_commit(&out, "transcript", err, errlen) != 0)
        goto cleanup;
    rc = 0;

cleanup:
    rig_outfile_discard(&out);
    return rc;
}

/* ---- reading ---- */

typedef struct parser {
    const char *name;
    const char *p, *end; /* unread input */
    long line;           /* number of the line that starts at p */
    char *err;
    size_t errlen;
    transcript *t;
    size_t cap_chunks;
} parser;

/* One line of input, without its newline. */
typedef struct line {
    const char *s;
    size_t len;
    long no;
    int has_newline;
} line;

/* fail reports "name:line: message" and returns -1, for `return fail(...)`. */
static int fail(parser *ps, long lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parser *ps, long lineno, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rig_set_err(ps->err, ps->errlen, "%s:%ld: %s", ps->name, lineno, msg);
    return -1;
}

/* quote renders at most 40 bytes of |s| for a message, escaping anything unprintable, so a
 * binary or enormous line cannot garble or flood the output. */
static const char *quote(char *buf, size_t buflen, const char *s, size_t len)
{
    size_t o = 0;
    const size_t shown = len < 40 ? len : 40;
    for (size_t i = 0; i < shown && o + 5 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '\'') {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hexdigits[c >> 4];
            buf[o++] = hexdigits[c & 0x0F];
        }
    }
    if (shown < len && o + 4 < buflen) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* next_line takes the next line. Returns 1, or 0 at the end of the input. A line must not
 * hold a NUL byte or end in a carriage return; those are errors (-1). */
static int next_line(parser *ps, line *out)
{
    const char *nl;
    if (ps->p >= ps->end)
        return 0;
    nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
    out->s = ps->p;
    out->no = ps->line;
    out->has_newline = nl != NULL;
    out->len = nl != NULL ? (size_t)(nl - ps->p) : (size_t)(ps->end - ps->p);
    ps->p = nl != NULL ? nl + 1 : ps->end;
    ps->line++;
    if (memchr(out->s, '\0', out->len) != NULL)
        return fail(ps, out->no, "NUL byte in line");
    if (out->len > 0 && out->s[out->len - 1] == '\r')
        return fail(ps, out->no, "carriage return at end of line (CRLF line endings?)");
    return 1;
}

/* A line that must be followed by more is cut short when it has no newline. */
static int need_line(parser *ps, line *l, const char *what)
{
    int r = next_line(ps, l);
    if (r < 0)
        return -1;
    if (r == 0)
        return fail(ps, ps->line, "unexpected end of file, expected %s", what);
    if (!l->has_newline)
        return fail(ps, l->no, "unexpected end of file in the middle of a line, expected %s", what);
    return 0;
}

/* starts_with: |l| begins with the word |w| followed by one space. */
static int starts_with(const line *l, const char *w)
{
    size_t n = strlen(w);
    return l->len > n && memcmp(l->s, w, n) == 0 && l->s[n] == ' ';
}

/* parse_dec reads the canonical decimal in |s|/|n|: digits only, no sign, no leading zero,
 * at most |max|. Returns 0, or -1 when it is not such a number. */
static int parse_dec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_header(parser *ps)
{
    transcript *t = ps->t;
    char q[200];
    line l;
    uint64_t v;
    int r;

    /* Line 1: the magic and the version. */
    r = next_line(ps, &l);
    if (r < 0)
        return -1;
    if (r == 0)
        return fail(ps, 1, "empty file, expected '%s %d'", TRANSCRIPT_MAGIC, TRANSCRIPT_VERSION);
    if (!starts_with(&l, TRANSCRIPT_MAGIC))
        return fail(ps, l.no, "not a tlsrig transcript: expected '%s %d', got '%s'",
                    TRANSCRIPT_MAGIC, TRANSCRIPT_VERSION, quote(q, sizeof(q), l.s, l.len));
    {
        const size_t skip = strlen(TRANSCRIPT_MAGIC) + 1;
        if (parse_dec(l.s + skip, l.len - skip, UINT64_MAX, &v) != 0)
            return fail(ps, l.no, "bad transcript version '%s'",
                        quote(q, sizeof(q), l.s + skip, l.len - skip));
        if (v != TRANSCRIPT_VERSION)
            return fail(ps, l.no, "unsupported transcript version %llu (this reader knows %d)",
                        (unsigned long long)v, TRANSCRIPT_VERSION);
    }
    if (!l.has_newline)
        return fail(ps, l.no, "unexpected end of file in the middle of a line, expected 'id'");

    /* Line 2: the id, the rest of the line. */
    if (need_line(ps, &l, "'id <scenario id>'") != 0)
        return -1;
    if (!starts_with(&l, "id"))
        return fail(ps, l.no, "expected 'id <scenario id>', got '%s'",
                    quote(q, sizeof(q), l.s, l.len));
    if (l.len == 3)
        return fail(ps, l.no, "the id is empty");
    if (l.len - 3 > TRANSCRIPT_MAX_ID)
        return fail(ps, l.no, "the id is %zu bytes (limit %d)", l.len - 3, TRANSCRIPT_MAX_ID);
    /* The writer refuses any line break in an id; so does the reader, or a transcript it
     * accepted could not be written back. */
    if (memchr(l.s + 3, '\r', l.len - 3) != NULL)
        return fail(ps, l.no, "carriage return in the id");
    t->id = malloc(l.len - 3 + 1);
    if (t->id == NULL)
        return fail(ps, l.no, "out of memory");
    memcpy(t->id, l.s + 3, l.len - 3);
    t->id[l.len - 3] = '\0';

    /* Line 3: the seed. */
    if (need_line(ps, &l, "'seed <n>'") != 0)
        return -1;
    if (!starts_with(&l, "seed"))
        return fail(ps, l.no, "expected 'seed <n>', got '%s'", quote(q, sizeof(q), l.s, l.len));
    if (parse_dec(l.s + 5, l.len - 5, UINT64_MAX, &t->seed) != 0)
        return fail(ps, l.no, "bad seed '%s' (a decimal number below 2^64)",
                    quote(q, sizeof(q), l.s + 5, l.len - 5));

    /* Line 4: the source length, then the source bytes themselves. */
    if (need_line(ps, &l, "'source <length>'") != 0)
        return -1;
    if (!starts_with(&l, "source"))
        return fail(ps, l.no, "expected 'source <length>', got '%s'",
                    quote(q, sizeof(q), l.s, l.len));
    if (parse_dec(l.s + 7, l.len - 7, UINT64_MAX, &v) != 0)
        return fail(ps, l.no, "bad source length '%s'", quote(q, sizeof(q), l.s + 7, l.len - 7));
    if (v > TRANSCRIPT_MAX_SOURCE)
        return fail(ps, l.no, "source length %llu exceeds the limit of %zu bytes",
                    (unsigned long long)v, TRANSCRIPT_MAX_SOURCE);
    {
        const size_t avail = (size_t)(ps->end - ps->p);
        const size_t n = (size_t)v;
        const char *s = ps->p;
        long newlines = 0;
        if (n > avail)
            return fail(ps, ps->line, "the source is truncated: %zu bytes announced, %zu left", n,
                        avail);
        t->source = malloc(n + 1);
        if (t->source == NULL)
            return fail(ps, ps->line, "out of memory");
        if (n > 0)
            memcpy(t->source, s, n);
        t->source[n] = '\0';
        t->source_len = n;
        for (const char *c = s; (c = memchr(c, '\n', (size_t)(s + n - c))) != NULL; c++)
            newlines++;
        /* The source's own lines count towards the line numbers that follow it. */
        ps->line += newlines;
        ps->p += n;
        if (ps->p >= ps->end || *ps->p != '\n')
            return fail(ps, ps->line, "expected a newline right after the %zu bytes of source", n);
        ps->p++;
        ps->line++;
    }
    return 0;
}

static int add_chunk(parser *ps, const line *l)
{
    transcript *t = ps->t;
    char q[200];
    const char *s = l->s, *e = l->s + l->len, *num, *sp;
    uint64_t conn;
    rig_chunk *ch;
    size_t hexlen;

    if (t->n_chunks >= TRANSCRIPT_MAX_CHUNKS)
        return fail(ps, l->no, "more than %d chunks", TRANSCRIPT_MAX_CHUNKS);
    if (l->len < 3 || s[1] != ' ')
        return fail(ps, l->no, "bad chunk line '%s', expected '%c <conn> <hex>'",
                    quote(q, sizeof(q), s, l->len), s[0]);
    num = s + 2;
    sp = memchr(num, ' ', (size_t)(e - num));
    if (parse_dec(num, (size_t)((sp != NULL ? sp : e) - num), TRANSCRIPT_MAX_CONN, &conn) != 0)
        return fail(ps, l->no, "bad connection number '%s' (0..%d)",
                    quote(q, sizeof(q), num, (size_t)((sp != NULL ? sp : e) - num)),
                    TRANSCRIPT_MAX_CONN);
    hexlen = sp != NULL ? (size_t)(e - sp - 1) : 0;
    if (sp != NULL && hexlen == 0)
        return fail(ps, l->no,
                    "trailing space after the connection number (an empty chunk "
                    "is written without one)");
    if (hexlen % 2 != 0)
        return fail(ps, l->no, "odd number of hex digits (%zu)", hexlen);

    if (t->n_chunks == ps->cap_chunks) {
        size_t cap = ps->cap_chunks == 0 ? 64 : ps->cap_chunks * 2;
        rig_chunk *grown = realloc(t->chunks, cap * sizeof(*grown));
        if (grown == NULL)
            return fail(ps, l->no, "out of memory");
        t->chunks = grown;
        ps->cap_chunks = cap;
    }
    ch = &t->chunks[t->n_chunks];
    ch->from_server = s[0] == 'S';
    ch->conn = (int)conn;
    ch->len = hexlen / 2;
    ch->data = NULL;
    if (ch->len > 0) {
        const char *h = sp + 1;
        ch->data = malloc(ch->len);
        if (ch->data == NULL)
            return fail(ps, l->no, "out of memory");
        for (size_t i = 0; i < ch->len; i++) {
            int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                size_t col = (size_t)(h - s) + 2 * i + (hi < 0 ? 0 : 1);
                free(ch->data);
                ch->data = NULL;
                return fail(ps, l->no, "bad hex digit '%s' at column %zu",
                            quote(q, sizeof(q), s + col, 1), col + 1);
            }
            ch->data[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    t->n_chunks++;
    return 0;
}

static int parse_body(parser *ps)
{
    char q[200];
    line l;
    for (;;) {
        int r = next_line(ps, &l);
        if (r < 0)
            return -1;
        if (r == 0)
            return fail(ps, ps->line, "missing 'end' (truncated transcript?)");
        if (l.len == 3 && memcmp(l.s, "end", 3) == 0) {
            if (ps->p < ps->end)
                return fail(ps, ps->line, "data after 'end'");
            return 0;
        }
        if (!l.has_newline)
            return fail(ps, l.no,
                        "unexpected end of file in the middle of a line (truncated "
                        "transcript?)");
        switch (l.len > 0 ? l.s[0] : '\0') {
        case 'C':
        case 'S':
            if (add_chunk(ps, &l) != 0)
                return -1;
            break;
        case '\0':
            return fail(ps, l.no, "empty line, expected a chunk or 'end'");
        default:
            return fail(ps, l.no, "unknown line '%s', expected 'C', 'S' or 'end'",
                        quote(q, sizeof(q), l.s, l.len));
        }
    }
}

int transcript_parse(const char *name, const char *text, size_t len, transcript *out, char *err,
                     size_t errlen)
{
    parser ps;
    int rc = -1;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL) {
        rig_set_err(err, errlen, "%s: no transcript to fill", name != NULL ? name : "transcript");
        return -1;
    }
    memset(out, 0, sizeof(*out));
    memset(&ps, 0, sizeof(ps));
    ps.name = name != NULL ? name : "transcript";
    ps.p = text;
    ps.end = text != NULL ? text + len : text;
    ps.line = 1;
    ps.err = err;
    ps.errlen = errlen;
    ps.t = out;
    if (text == NULL && len > 0) {
        rig_set_err(err, errlen, "%s: no text", ps.name);
        goto cleanup;
    }
    if (len > TRANSCRIPT_MAX_FILE) {
        rig_set_err(err, errlen, "%s: %zu bytes exceeds the limit of %zu", ps.name, len,
                    TRANSCRIPT_MAX_FILE);
        goto cleanup;
    }
    if (parse_header(&ps) != 0 || parse_body(&ps) != 0)
        goto cleanup;
    rc = 0;

cleanup:
    if (rc != 0)
        transcript_cleanup(out);
    return rc;
}

int transcript_read(const char *path, transcript *out, char *err, size_t errlen)
{
    int rc = -1;
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (path == NULL) {
        rig_set_err(err, errlen, "transcript: no path given");
        goto cleanup;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        rig_set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    /* Read in growing steps rather than trusting a size from stat: the file may be a pipe
     * or change under us. One byte past the limit is enough to know it is too big. */
    for (;;) {
        size_t got;
        if (len == cap) {
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            char *grown;
            if (ncap > TRANSCRIPT_MAX_FILE + 1)
                ncap = TRANSCRIPT_MAX_FILE + 1;
            if (ncap == cap) {
                rig_set_err(err, errlen, "%s: the file exceeds the limit of %zu bytes", path,
                            TRANSCRIPT_MAX_FILE);
                goto cleanup;
            }
            grown = realloc(buf, ncap);
            if (grown == NULL) {
                rig_set_err(err, errlen, "%s: out of memory", path);
                goto cleanup;
            }
            buf = grown;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                rig_set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
                goto cleanup;
            }
            break;
        }
    }
    if (len > TRANSCRIPT_MAX_FILE) {
        rig_set_err(err, errlen, "%s: the file exceeds the limit of %zu bytes", path,
                    TRANSCRIPT_MAX_FILE);
        goto cleanup;
    }
    rc = transcript_parse(path, buf, len, out, err, errlen);

cleanup:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

void transcript_cleanup(transcript *t)
{
    if (t == NULL)
        return;
    free(t->id);
    free(t->source);
    for (size_t i = 0; i < t->n_chunks; i++)
        free(t->chunks[i].data);
    free(t->chunks);
    memset(t, 0, sizeof(*t));
}

/* ---- comparing ---- */

static const char *dir_name(int from_server)
{
    return from_server ? "S (server->client)" : "C (client->server)";
}

int transcript_compare(const transcript *t, const rig_chunk *chunks, size_t n, char *msg,
                       size_t msglen)
{
    const size_t tn = t != NULL ? t->n_chunks : 0;
    const size_t common = tn < n ? tn : n;

    if (msg != NULL && msglen > 0)
        msg[0] = '\0';
    if (n > 0 && chunks == NULL) {
        rig_set_err(msg, msglen, "the run has %zu chunks but no chunk array", n);
        return 1;
    }
    for (size_t i = 0; i < common; i++) {
        const rig_chunk *a = &t->chunks[i], *b = &chunks[i];
        const int da = a->from_server != 0, db = b->from_server != 0;
        const size_t shortest = a->len < b->len ? a->len : b->len;
        size_t off = 0;

        if (da != db || a->conn != b->conn) {
            rig_set_err(msg, msglen,
                        "chunk %zu: transcript has %s conn %d (%zu bytes), run has %s conn %d "
                        "(%zu bytes)",
                        i, dir_name(da), a->conn, a->len, dir_name(db), b->conn, b->len);
            return 1;
        }
        if (shortest > 0 && (a->data == NULL || b->data == NULL)) {
            rig_set_err(msg, msglen, "chunk %zu (%s, conn %d): no data", i, dir_name(da), a->conn);
            return 1;
        }
        while (off < shortest && a->data[off] == b->data[off])
            off++;
        if (off < shortest) {
            rig_set_err(msg, msglen,
                        "chunk %zu (%s, conn %d): first difference at byte offset %zu (transcript "
                        "0x%02x, run 0x%02x); lengths: transcript %zu, run %zu",
                        i, dir_name(da), a->conn, off, a->data[off], b->data[off], a->len, b->len);
            return 1;
        }
        if (a->len != b->len) {
            rig_set_err(msg, msglen,
                        "chunk %zu (%s, conn %d): first difference at byte offset %zu (%s ends "
                        "there); lengths: transcript %zu, run %zu",
                        i, dir_name(da), a->conn, off, a->len < b->len ? "transcript" : "run",
                        a->len, b->len);
            return 1;
        }
    }
    if (tn != n) {
        const rig_chunk *x = tn > n ? &t->chunks[common] : &chunks[common];
        rig_set_err(msg, msglen,
                    "chunk %zu: transcript has %zu chunks, run has %zu; the first extra one (in "
                    "the %s) is %s conn %d, %zu bytes",
                    common, tn, n, tn > n ? "transcript" : "run", dir_name(x->from_server != 0),
                    x->conn, x->len);
        return 1;
    }
    return 0;
}
