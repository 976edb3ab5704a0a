/*
 * parse.c - reads .scn text into scn variants.
 *
 * Two passes over the text. The first reads the `matrix` lines, because every other line may
 * use their variables. The second runs once per matrix combination: each line loses its
 * comment, has its ${var} references replaced, is cut into words and is filed as a header
 * fact, a peer, a peer setting or a step. Only the structure is checked here; compile.c
 * decides what the words mean.
 *
 * The input is untrusted (this code is fuzzed), so every size is bounded: 4 MiB of text,
 * 1024 variants, 8 MiB of text once the matrix is expanded, and caps on matrix variables
 * and peers that keep their linear look-ups cheap. Messages quote input only through show(),
 * which escapes and shortens it.
 *
 * Errors read "path:line: message". A problem with the file as a whole (no peer, no steps)
 * is reported at its last line, where the missing statements were expected: line 0 is not a
 * place an editor can jump to. Only failures before any line is read (cannot read, too large,
 * out of memory) are reported as "path: message".
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn.h"

#define MAX_TEXT ((size_t)4 << 20)
#define MAX_EXPANDED ((size_t)8 << 20)
#define MAX_VARIANTS 1024
/* More would not fit 1024 variants unless most had one value; the cap bounds the linear
 * variable look-up that every ${...} does. */
#define MAX_VARS 32
/* Scenarios use a handful of peers; the cap bounds the linear duplicate-name check. */
#define MAX_PEERS 256
#define DEFAULT_SEED 1
#define DEFAULT_BUDGET 10000
#define SHOW_MAX 48 /* input bytes quoted in one message */
#define NO_PEER SIZE_MAX

/* A growable byte buffer, always NUL-terminated once reserved. */
typedef struct bytes {
    char *data;
    size_t len;
    size_t cap;
} bytes;

/* The words of the current line, decoded back to back in |buf|, each followed by a NUL so it
 * can be copied out as a C string. */
typedef struct wordlist {
    bytes buf;
    size_t *off;
    size_t *len;
    size_t n;
    size_t cap;
} wordlist;

typedef struct mvar {
    char *name;
    char **values;
    size_t n_values;
    int lineno;
} mvar;

typedef struct parser {
    const char *path;
    const char *text;
    size_t text_len;
    int last_line;
    char *err;
    size_t errlen;
    char shown[2][SHOW_MAX * 4 + 8];
    mvar *vars;
    size_t n_vars;
    size_t n_variants;
    size_t *choice;         /* per variable: the index of its value in this variant */
    size_t expanded;        /* bytes of line text produced so far, over all variants */
    size_t variant;         /* the variant being read */
    const char *variant_id; /* its id, for messages; NULL before it is built */
    bytes sub;              /* the current line after substitution */
    bytes tmp;              /* scratch: joined words, lists for messages, ids */
    wordlist w;
} parser;

/* State while reading one variant. */
typedef struct reader {
    scn *s;
    size_t peer_at;     /* index of the peer whose settings may follow, or NO_PEER */
    size_t next_matrix; /* the next matrix declaration, to skip its line */
    int title_line, seed_line, xfail_line, budget_line; /* where each was given, or 0 */
} reader;

/* ---- errors ---- */

static int fail(parser *p, int lineno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *p, int lineno, const char *fmt, ...)
{
    if (p->err == NULL || p->errlen == 0)
        return -1;
    int n = lineno > 0 ? snprintf(p->err, p->errlen, "%s:%d: ", p->path, lineno)
                       : snprintf(p->err, p->errlen, "%s: ", p->path);
    if (n < 0 || (size_t)n >= p->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    /* Variant 0 fails first on anything that does not depend on the values, so a failure in a
     * later variant is one its values caused: say which. */
    size_t used = strlen(p->err);
    if (p->variant > 0 && p->variant_id != NULL && used < p->errlen)
        snprintf(p->err + used, p->errlen - used, " (variant %s)", p->variant_id);
    return -1;
}

static int oom(parser *p)
{
    return fail(p, 0, "out of memory");
}

static void clear_err(parser *p)
{
    if (p->err != NULL && p->errlen > 0)
        p->err[0] = '\0';
}

/* show renders input bytes for a message: printable ASCII as is, anything else as \xHH, cut
 * after SHOW_MAX bytes, so hostile input cannot garble a terminal or drown the message. Two
 * slots let one message quote two things. */
static const char *show(parser *p, int slot, const char *s, size_t n)
{
    char *o = p->shown[slot];
    size_t j = 0;
    for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            o[j++] = (char)c;
        } else {
            snprintf(o + j, 5, "\\x%02x", c);
            j += 4;
        }
    }
    if (n > SHOW_MAX) {
        memcpy(o + j, "...", 3);
        j += 3;
    }
    o[j] = '\0';
    return o;
}

/* ---- memory ---- */

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *dup_str(const char *s)
{
    return dup_n(s, strlen(s));
}

/* The arrays of an scn carry no capacity field, so capacity is implied by length: 8 slots,
 * then the next power of two. Growing happens only when the length sits on such a boundary.
 * Returns the (possibly moved) array with room for element |n|, or NULL when out of memory
 * (the old array is then untouched). */
static void *append_slot(void *arr, size_t n, size_t size)
{
    size_t cap;
    if (n == 0)
        cap = 8;
    else if (n >= 8 && (n & (n - 1)) == 0)
        cap = n * 2;
    else
        return arr;
    if (cap < n || cap > SIZE_MAX / size)
        return NULL;
    return realloc(arr, cap * size);
}

/* Room for |extra| more bytes plus a terminating NUL. */
static int bytes_reserve(bytes *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

static int bytes_append(bytes *b, const char *s, size_t n)
{
    if (bytes_reserve(b, n) < 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int bytes_putc(bytes *b, char c)
{
    return bytes_append(b, &c, 1);
}

static void line_free(scn_line *l)
{
    for (int i = 0; i < l->argc; i++)
        free(l->argv[i]);
    free(l->argv);
    free(l->argl);
    memset(l, 0, sizeof *l);
}

static void peer_free(scn_peer *pe)
{
    for (size_t i = 0; i < pe->n_settings; i++)
        line_free(&pe->settings[i]);
    free(pe->settings);
    free(pe->name);
}

static void scn_free(scn *s)
{
    free(s->path);
    free(s->name);
    free(s->id);
    free(s->title);
    for (size_t i = 0; i < s->n_rfcs; i++)
        free(s->rfcs[i]);
    free(s->rfcs);
    free(s->xfail);
    for (size_t i = 0; i < s->n_peers; i++)
        peer_free(&s->peers[i]);
    free(s->peers);
    for (size_t i = 0; i < s->n_steps; i++)
        line_free(&s->steps[i]);
    free(s->steps);
    memset(s, 0, sizeof *s);
}

void scn_file_cleanup(scn_file *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_variants; i++)
        scn_free(&f->variants[i]);
    free(f->variants);
    memset(f, 0, sizeof *f);
}

static void parser_free(parser *p)
{
    for (size_t i = 0; i < p->n_vars; i++) {
        for (size_t j = 0; j < p->vars[i].n_values; j++)
            free(p->vars[i].values[j]);
        free(p->vars[i].values);
        free(p->vars[i].name);
    }
    free(p->vars);
    free(p->choice);
    free(p->sub.data);
    free(p->tmp.data);
    free(p->w.buf.data);
    free(p->w.off);
    free(p->w.len);
}

/* ---- text and lines ---- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* next_line finds the line starting at *pos: sets *start and *len (without the newline, nor a
 * CR before it, so CRLF files read like LF ones) and moves *pos past it. Returns 0 at the
 * end of the text. */
static int next_line(const parser *p, size_t *pos, const char **start, size_t *len)
{
    if (*pos >= p->text_len)
        return 0;
    const char *s = p->text + *pos;
    size_t rest = p->text_len - *pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl != NULL ? (size_t)(nl - s) : rest;
    *pos += nl != NULL ? n + 1 : n;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    *start = s;
    *len = n;
    return 1;
}

static int count_newlines(const char *s, size_t n)
{
    int count = 0;
    for (const char *nl; n > 0 && (nl = memchr(s, '\n', n)) != NULL; count++) {
        n -= (size_t)(nl + 1 - s);
        s = nl + 1;
    }
    return count;
}

/* A raw NUL in a text file means binary input; it would also cut header text short. Words
 * that need one write \x00. */
static int check_no_nul(parser *p)
{
    const char *z = memchr(p->text, '\0', p->text_len);
    if (z == NULL)
        return 0;
    int lineno = 1 + count_newlines(p->text, (size_t)(z - p->text));
    return fail(p, lineno, "NUL byte in the text (a binary file?); in a quoted word write \\x00");
}

/* Whether the '#' at s[i] is part of a bare word: right after one of its characters and
 * followed by a digit, as in "Finished#2" (the second Finished). Any other '#' outside quotes
 * starts a comment. */
static int hash_in_word(const char *s, size_t n, size_t i)
{
    return i > 0 && !is_blank(s[i - 1]) && s[i - 1] != '"' && i + 1 < n && s[i + 1] >= '0' &&
           s[i + 1] <= '9';
}

/* Where the comment of a line starts (or |n|). Quotes are followed so a '#' inside one is
 * text; this runs before substitution so that comments may mention anything. */
static size_t comment_start(const char *s, size_t n)
{
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (quoted && s[i] == '\\')
            i++;
        else if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == '#' && !hash_in_word(s, n, i))
            return i;
    }
    return n;
}

/* ---- substitution ---- */

static int find_var(const parser *p, const char *name, size_t n, size_t *at)
{
    for (size_t i = 0; i < p->n_vars; i++) {
        if (strlen(p->vars[i].name) == n && memcmp(p->vars[i].name, name, n) == 0) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

static int unknown_var(parser *p, int lineno, const char *name, size_t n)
{
    if (p->n_vars == 0)
        return fail(p, lineno, "unknown matrix variable '%s': the file declares no matrix",
                    show(p, 0, name, n));
    p->tmp.len = 0;
    for (size_t i = 0; i < p->n_vars; i++) {
        const char *v = p->vars[i].name;
        if ((i > 0 && bytes_append(&p->tmp, ", ", 2) < 0) ||
            bytes_append(&p->tmp, v, strlen(v)) < 0)
            return oom(p);
    }
    return fail(p, lineno, "unknown matrix variable '%s' (known: %s)", show(p, 0, name, n),
                p->tmp.data);
}

/* Values can be long and used many times, so the text a matrix produces is bounded as it is
 * produced, over all variants together. */
static int sub_append(parser *p, const char *s, size_t n, int lineno)
{
    if (n > MAX_EXPANDED - p->expanded - p->sub.len)
        return fail(p, lineno, "the matrix expands the file to more than %zu MiB of text",
                    MAX_EXPANDED >> 20);
    return bytes_append(&p->sub, s, n) < 0 ? oom(p) : 0;
}

/* substitute copies line |s| into p->sub with every ${var} replaced by the variant's value.
 * Every "${" opens a reference; a literal one is written "\x24{" inside quotes. */
static int substitute(parser *p, const char *s, size_t n, int lineno)
{
    p->sub.len = 0;
    p->sub.data[0] = '\0';
    size_t i = 0;
    while (i < n) {
        const char *d = memchr(s + i, '$', n - i);
        size_t at = d != NULL ? (size_t)(d - s) : n;
        if (at + 1 >= n || s[at + 1] != '{') {
            size_t upto = at < n ? at + 1 : n;
            if (sub_append(p, s + i, upto - i, lineno) < 0)
                return -1;
            i = upto;
            continue;
        }
        if (sub_append(p, s + i, at - i, lineno) < 0)
            return -1;
        const char *name = s + at + 2;
        const char *close = memchr(name, '}', n - at - 2);
        if (close == NULL)
            return fail(p, lineno, "unterminated ${ (a literal ${ is written \"\\x24{\")");
        size_t k;
        if (!find_var(p, name, (size_t)(close - name), &k))
            return unknown_var(p, lineno, name, (size_t)(close - name));
        const char *val = p->vars[k].values[p->choice[k]];
        if (sub_append(p, val, strlen(val), lineno) < 0)
            return -1;
        i = (size_t)(close - s) + 1;
    }
    p->expanded += p->sub.len;
    return 0;
}

/* ---- words ---- */

/* The word arrays keep their capacity from line to line, so only the longest line grows
 * them. */
static int word_open(parser *p)
{
    wordlist *w = &p->w;
    if (w->n == w->cap) {
        size_t cap = w->cap > 0 ? w->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(size_t))
            return -1;
        size_t *off = realloc(w->off, cap * sizeof *off);
        if (off == NULL)
            return -1;
        w->off = off;
        size_t *len = realloc(w->len, cap * sizeof *len);
        if (len == NULL)
            return -1;
        w->len = len;
        w->cap = cap;
    }
    w->off[w->n] = w->buf.len;
    return 0;
}

static int word_close(parser *p)
{
    wordlist *w = &p->w;
    w->len[w->n] = w->buf.len - w->off[w->n];
    if (bytes_putc(&w->buf, '\0') < 0)
        return -1;
    w->n++;
    return 0;
}

static const char *word_at(const parser *p, size_t i)
{
    return p->w.buf.data + p->w.off[i];
}

static int word_is(const parser *p, size_t i, const char *kw)
{
    size_t n = strlen(kw);
    return p->w.len[i] == n && memcmp(word_at(p, i), kw, n) == 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* decode_escape reads the escape at s[*j] (a backslash), moves *j past it and returns the
 * byte it stands for, or -1 with the error set. */
static int decode_escape(parser *p, const char *s, size_t n, size_t *j, int lineno)
{
    size_t i = *j;
    if (i + 1 >= n)
        return fail(p, lineno, "unterminated quoted word (it ends in a backslash)");
    *j = i + 2;
    switch (s[i + 1]) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'x': {
        int hi = i + 2 < n ? hex_digit(s[i + 2]) : -1;
        int lo = i + 3 < n ? hex_digit(s[i + 3]) : -1;
        if (hi < 0 || lo < 0)
            return fail(p, lineno, "\\x needs two hex digits, e.g. \\x00");
        *j = i + 4;
        return hi * 16 + lo;
    }
    default:
        return fail(p, lineno,
                    "bad escape '\\%s' in a quoted word (valid: \\\" \\\\ \\n \\r \\t \\xHH)",
                    show(p, 0, s + i + 1, 1));
    }
}

static int lex_quoted(parser *p, const char *s, size_t n, size_t *i, int lineno)
{
    size_t j = *i + 1;
    for (;;) {
        if (j >= n)
            return fail(p, lineno, "unterminated quoted word (no closing \")");
        char c = s[j];
        if (c == '"')
            break;
        if (c == '\\') {
            int b = decode_escape(p, s, n, &j, lineno);
            if (b < 0)
                return -1;
            c = (char)(unsigned char)b;
        } else {
            j++;
        }
        if (bytes_putc(&p->w.buf, c) < 0)
            return oom(p);
    }
    j++;
    if (j < n && !is_blank(s[j]) && s[j] != '#')
        return fail(p, lineno, "text right after a closing quote: put a space between words");
    *i = j;
    return 0;
}

static int lex_bare(parser *p, const char *s, size_t n, size_t *i, int lineno)
{
    size_t start = *i;
    size_t j = start;
    for (; j < n && !is_blank(s[j]) && (s[j] != '#' || hash_in_word(s, n, j)); j++) {
        if (s[j] == '"')
            return fail(p, lineno, "a quote inside the word '%s': quote the whole word",
                        show(p, 0, s + start, j - start + 1));
    }
    *i = j;
    return bytes_append(&p->w.buf, s + start, j - start) < 0 ? oom(p) : 0;
}

/* lex_line cuts |s| into p->w. Only spaces and tabs separate words; a '#' outside quotes
 * ends the line unless it is part of a word (hash_in_word; a substituted value may bring one
 * in: substitution is textual). */
static int lex_line(parser *p, const char *s, size_t n, int lineno)
{
    p->w.n = 0;
    p->w.buf.len = 0;
    size_t i = 0;
    for (;;) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i >= n || s[i] == '#')
            return 0;
        if (word_open(p) < 0)
            return oom(p);
        int rc = s[i] == '"' ? lex_quoted(p, s, n, &i, lineno) : lex_bare(p, s, n, &i, lineno);
        if (rc < 0)
            return -1;
        if (word_close(p) < 0)
            return oom(p);
    }
}

/* join_words puts words |from|.. of the line into p->tmp, separated by single spaces. The
 * result feeds C strings, so a word holding a NUL (from \x00) is refused. */
static int join_words(parser *p, size_t from, int lineno, const char *what)
{
    p->tmp.len = 0;
    p->tmp.data[0] = '\0';
    for (size_t i = from; i < p->w.n; i++) {
        if (memchr(word_at(p, i), '\0', p->w.len[i]) != NULL)
            return fail(p, lineno, "%s: the text may not hold a NUL byte (\\x00)", what);
        if ((i > from && bytes_putc(&p->tmp, ' ') < 0) ||
            bytes_append(&p->tmp, word_at(p, i), p->w.len[i]) < 0)
            return oom(p);
    }
    return 0;
}

/* line_from_words copies the current line's words into |l|. */
static int line_from_words(parser *p, int lineno, scn_line *l)
{
    const wordlist *w = &p->w;
    memset(l, 0, sizeof *l);
    l->lineno = lineno;
    if (w->n > INT_MAX)
        return fail(p, lineno, "too many words on one line");
    l->argv = calloc(w->n, sizeof *l->argv);
    l->argl = calloc(w->n, sizeof *l->argl);
    if (l->argv == NULL || l->argl == NULL)
        goto cleanup;
    for (size_t i = 0; i < w->n; i++) {
        l->argv[i] = dup_n(word_at(p, i), w->len[i]);
        if (l->argv[i] == NULL)
            goto cleanup;
        l->argl[i] = w->len[i];
        l->argc = (int)i + 1;
    }
    return 0;
cleanup:
    line_free(l);
    return oom(p);
}

static int append_line(parser *p, scn_line **arr, size_t *n, int lineno)
{
    scn_line *a = append_slot(*arr, *n, sizeof *a);
    if (a == NULL)
        return oom(p);
    *arr = a;
    if (line_from_words(p, lineno, &a[*n]) < 0)
        return -1;
    (*n)++;
    return 0;
}

/* ---- the matrix ---- */

static size_t trim(const char **s, size_t n)
{
    while (n > 0 && is_blank(**s)) {
        (*s)++;
        n--;
    }
    while (n > 0 && is_blank((*s)[n - 1]))
        n--;
    return n;
}

static int is_var_name(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static size_t count_values(const char *s, size_t n)
{
    size_t count = 1;
    for (size_t i = 0; i < n; i++)
        count += s[i] == ',';
    return count;
}

/* add_values splits |s| at commas into the values of |v|. */
static int add_values(parser *p, mvar *v, const char *s, size_t n, int lineno)
{
    const char *end = s + n;
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma != NULL ? comma : end;
        const char *val = s;
        size_t len = trim(&val, (size_t)(stop - s));
        if (len == 0)
            return fail(p, lineno, "matrix %s: value %zu is empty", v->name, v->n_values + 1);
        for (size_t i = 0; i < v->n_values; i++) {
            if (strlen(v->values[i]) == len && memcmp(v->values[i], val, len) == 0)
                return fail(p, lineno, "matrix %s: value '%s' is given twice", v->name,
                            show(p, 0, val, len));
        }
        v->values[v->n_values] = dup_n(val, len);
        if (v->values[v->n_values] == NULL)
            return oom(p);
        v->n_values++;
        if (comma == NULL)
            return 0;
        s = comma + 1;
    }
}

/* new_var registers variable |name| with room for |count| values; the parser owns it from
 * here on, so a later failure frees it with the rest. */
static mvar *new_var(parser *p, const char *name, size_t n, size_t count, int lineno)
{
    mvar *vars = append_slot(p->vars, p->n_vars, sizeof *vars);
    if (vars == NULL)
        return NULL;
    p->vars = vars;
    mvar *v = &vars[p->n_vars];
    memset(v, 0, sizeof *v);
    v->lineno = lineno;
    p->n_vars++;
    v->name = dup_n(name, n);
    v->values = calloc(count, sizeof *v->values);
    return v->name != NULL && v->values != NULL ? v : NULL;
}

/* read_matrix reads `matrix <var> = v1, v2, ...` from the current line. */
static int read_matrix(parser *p, int lineno)
{
    if (join_words(p, 1, lineno, "matrix") < 0)
        return -1;
    const char *t = p->tmp.data;
    const char *eq = memchr(t, '=', p->tmp.len);
    if (eq == NULL)
        return fail(p, lineno, "matrix needs the form: matrix <var> = <v1>, <v2>, ...");
    const char *name = t;
    size_t name_len = trim(&name, (size_t)(eq - t));
    if (!is_var_name(name, name_len))
        return fail(p, lineno,
                    "matrix: '%s' is not a variable name (a letter or '_', then letters, digits, "
                    "'_' or '-')",
                    show(p, 0, name, name_len));
    size_t k;
    if (find_var(p, name, name_len, &k))
        return fail(p, lineno, "matrix %s is declared twice (first at line %d)", p->vars[k].name,
                    p->vars[k].lineno);
    if (p->n_vars >= MAX_VARS)
        return fail(p, lineno, "matrix: too many variables (the limit is %d)", MAX_VARS);
    const char *vals = eq + 1;
    size_t vals_len = p->tmp.len - (size_t)(vals - t);
    size_t count = count_values(vals, vals_len);
    if (count > MAX_VARIANTS / p->n_variants)
        return fail(p, lineno, "matrix %s: %zu values make more than %d variants",
                    show(p, 0, name, name_len), count, MAX_VARIANTS);
    mvar *v = new_var(p, name, name_len, count, lineno);
    if (v == NULL)
        return oom(p);
    if (add_values(p, v, vals, vals_len, lineno) < 0)
        return -1;
    p->n_variants *= v->n_values;
    return 0;
}

/* read_matrices is the first pass. Lines that do not lex are skipped here: the second pass
 * reports them, after substitution, like any other line. */
static int read_matrices(parser *p)
{
    size_t pos = 0;
    const char *s;
    size_t n;
    int lineno = 0;
    while (next_line(p, &pos, &s, &n)) {
        lineno++;
        if (n == 0 || is_blank(s[0]))
            continue;
        if (lex_line(p, s, comment_start(s, n), lineno) < 0) {
            clear_err(p);
            continue;
        }
        if (p->w.n > 0 && word_is(p, 0, "matrix") && read_matrix(p, lineno) < 0)
            return -1;
    }
    return 0;
}

/* ---- header statements and peers ---- */

static int once(parser *p, int lineno, int *seen, const char *what)
{
    if (*seen != 0)
        return fail(p, lineno, "%s is given twice (first at line %d)", what, *seen);
    *seen = lineno;
    return 0;
}

/* parse_u64 reads a decimal or 0x-hex number that fills the whole word. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    int hex = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    size_t i = hex ? 2 : 0;
    if (i >= n)
        return -1;
    for (; i < n; i++) {
        int d = hex ? hex_digit(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
        unsigned base = hex ? 16 : 10;
        if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / base)
            return -1;
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int st_seed(parser *p, reader *r, int lineno)
{
    if (once(p, lineno, &r->seed_line, "seed") < 0)
        return -1;
    if (p->w.n != 2)
        return fail(p, lineno, "seed takes one number: seed <n>");
    if (parse_u64(word_at(p, 1), p->w.len[1], &r->s->seed) < 0)
        return fail(p, lineno,
                    "seed: '%s' is not a number (decimal, or hex after 0x; at most 2^64-1)",
                    show(p, 0, word_at(p, 1), p->w.len[1]));
    return 0;
}

static int st_budget(parser *p, reader *r, int lineno)
{
    if (once(p, lineno, &r->budget_line, "budget") < 0)
        return -1;
    if (p->w.n != 2)
        return fail(p, lineno, "budget takes one number: budget <pump rounds>");
    uint64_t v;
    if (parse_u64(word_at(p, 1), p->w.len[1], &v) < 0 || v == 0 || v > LONG_MAX)
        return fail(p, lineno, "budget: '%s' is not a positive number of pump rounds",
                    show(p, 0, word_at(p, 1), p->w.len[1]));
    r->s->budget = (long)v;
    return 0;
}

/* st_text reads the one-off text statements, `title` and `xfail`. */
static int st_text(parser *p, int lineno, int *seen, char **dst, const char *what,
                   const char *usage)
{
    if (once(p, lineno, seen, what) < 0)
        return -1;
    if (p->w.n < 2)
        return fail(p, lineno, "%s", usage);
    if (join_words(p, 1, lineno, what) < 0)
        return -1;
    *dst = dup_str(p->tmp.data);
    return *dst == NULL ? oom(p) : 0;
}

static int st_rfc(parser *p, scn *s, int lineno)
{
    if (p->w.n < 2)
        return fail(p, lineno, "rfc needs the section it checks, e.g. rfc RFC 8446 §4.6.3");
    if (join_words(p, 1, lineno, "rfc") < 0)
        return -1;
    char **rfcs = append_slot(s->rfcs, s->n_rfcs, sizeof *rfcs);
    if (rfcs == NULL)
        return oom(p);
    s->rfcs = rfcs;
    rfcs[s->n_rfcs] = dup_str(p->tmp.data);
    if (rfcs[s->n_rfcs] == NULL)
        return oom(p);
    s->n_rfcs++;
    return 0;
}

static int check_peer_name(parser *p, const scn *s, int lineno)
{
    const char *name = word_at(p, 1);
    size_t n = p->w.len[1];
    if (n == 0)
        return fail(p, lineno, "peer: the name is empty");
    if (memchr(name, '\0', n) != NULL)
        return fail(p, lineno, "peer: the name may not hold a NUL byte (\\x00)");
    for (size_t i = 0; i < s->n_peers; i++) {
        if (strcmp(s->peers[i].name, name) == 0)
            return fail(p, lineno, "peer %s is declared twice (first at line %d)",
                        show(p, 0, name, n), s->peers[i].lineno);
    }
    if (s->n_peers >= MAX_PEERS)
        return fail(p, lineno, "too many peers (the limit is %d)", MAX_PEERS);
    return 0;
}

static int st_peer(parser *p, reader *r, int lineno)
{
    scn *s = r->s;
    if (p->w.n != 3)
        return fail(p, lineno, "peer needs a name and a role: peer <name> client|server");
    if (check_peer_name(p, s, lineno) < 0)
        return -1;
    int is_server = word_is(p, 2, "server");
    if (!is_server && !word_is(p, 2, "client"))
        return fail(p, lineno, "peer %s: unknown role '%s' (valid roles: client, server)",
                    show(p, 0, word_at(p, 1), p->w.len[1]), show(p, 1, word_at(p, 2), p->w.len[2]));
    scn_peer *peers = append_slot(s->peers, s->n_peers, sizeof *peers);
    if (peers == NULL)
        return oom(p);
    s->peers = peers;
    scn_peer *pe = &peers[s->n_peers];
    memset(pe, 0, sizeof *pe);
    pe->name = dup_str(word_at(p, 1));
    if (pe->name == NULL)
        return oom(p);
    pe->is_server = is_server;
    pe->lineno = lineno;
    r->peer_at = s->n_peers++;
    return 0;
}

/* statement files a non-indented line. */
static int statement(parser *p, reader *r, int lineno)
{
    scn *s = r->s;
    if (word_is(p, 0, "peer"))
        return st_peer(p, r, lineno);
    if (word_is(p, 0, "rfc"))
        return st_rfc(p, s, lineno);
    if (word_is(p, 0, "title"))
        return st_text(p, lineno, &r->title_line, &s->title, "title",
                       "title needs text: title <text...>");
    if (word_is(p, 0, "xfail"))
        return st_text(p, lineno, &r->xfail_line, &s->xfail, "xfail",
                       "xfail needs a reason: xfail <reason...>");
    if (word_is(p, 0, "seed"))
        return st_seed(p, r, lineno);
    if (word_is(p, 0, "budget"))
        return st_budget(p, r, lineno);
    /* Declarations were read in the first pass and their lines skipped; one seen here only
     * became a declaration through substitution, too late to count. */
    if (word_is(p, 0, "matrix"))
        return fail(p, lineno, "matrix: a declaration must read as one before ${...} is replaced");
    return append_line(p, &s->steps, &s->n_steps, lineno);
}

static int read_line(parser *p, reader *r, const char *line, size_t len, int lineno)
{
    if (r->next_matrix < p->n_vars && p->vars[r->next_matrix].lineno == lineno) {
        r->next_matrix++;
        r->peer_at = NO_PEER;
        return 0;
    }
    if (substitute(p, line, comment_start(line, len), lineno) < 0 ||
        lex_line(p, p->sub.data, p->sub.len, lineno) < 0)
        return -1;
    if (p->w.n == 0)
        return 0;
    if (is_blank(line[0])) {
        if (r->peer_at == NO_PEER)
            return fail(p, lineno,
                        "indented line outside a peer block (settings go right under "
                        "their peer line; steps are not indented)");
        scn_peer *pe = &r->s->peers[r->peer_at];
        return append_line(p, &pe->settings, &pe->n_settings, lineno);
    }
    r->peer_at = NO_PEER;
    return statement(p, r, lineno);
}

/* ---- variants ---- */

/* Variant |k| picks values with the first variable varying slowest, like nested loops in
 * declaration order. */
static void choose(parser *p, size_t k)
{
    for (size_t i = p->n_vars; i-- > 0;) {
        p->choice[i] = k % p->vars[i].n_values;
        k /= p->vars[i].n_values;
    }
}

static char *make_id(parser *p, const char *stem)
{
    p->tmp.len = 0;
    if (bytes_append(&p->tmp, stem, strlen(stem)) < 0)
        return NULL;
    for (size_t i = 0; i < p->n_vars; i++) {
        const char *name = p->vars[i].name;
        const char *val = p->vars[i].values[p->choice[i]];
        if (bytes_putc(&p->tmp, i == 0 ? '[' : ',') < 0 ||
            bytes_append(&p->tmp, name, strlen(name)) < 0 || bytes_putc(&p->tmp, '=') < 0 ||
            bytes_append(&p->tmp, val, strlen(val)) < 0)
            return NULL;
    }
    if (p->n_vars > 0 && bytes_putc(&p->tmp, ']') < 0)
        return NULL;
    return dup_str(p->tmp.data);
}

/* The stem is the file name without its folder and its .scn suffix. */
static char *make_stem(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".scn") == 0)
        n -= 4;
    return dup_n(base, n);
}

static int read_variant(parser *p, size_t k, const char *stem, scn *s)
{
    choose(p, k);
    p->variant = k;
    p->variant_id = NULL;
    s->seed = DEFAULT_SEED;
    s->budget = DEFAULT_BUDGET;
    s->path = dup_str(p->path);
    s->name = dup_str(stem);
    s->id = make_id(p, stem);
    if (s->path == NULL || s->name == NULL || s->id == NULL)
        return oom(p);
    p->variant_id = s->id;

    reader r = {.s = s, .peer_at = NO_PEER};
    size_t pos = 0;
    const char *line;
    size_t len;
    int lineno = 0;
    while (next_line(p, &pos, &line, &len)) {
        if (read_line(p, &r, line, len, ++lineno) < 0)
            return -1;
    }
    if (s->n_peers == 0)
        return fail(p, p->last_line,
                    "no peer declared: a scenario needs peer <name> client|server");
    if (s->n_steps == 0)
        return fail(p, p->last_line, "no steps: a scenario needs at least one step");
    return 0;
}

static void parser_init(parser *p, const char *path, const char *text, size_t len, char *err,
                        size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->path = path != NULL ? path : "(text)";
    p->text = text != NULL ? text : "";
    p->text_len = text != NULL ? len : 0;
    p->err = err;
    p->errlen = errlen;
    p->n_variants = 1;
}

/* parser_prepare runs once the size is known to be sane. */
static int parser_prepare(parser *p)
{
    size_t lines = (size_t)count_newlines(p->text, p->text_len);
    if (p->text_len > 0 && p->text[p->text_len - 1] != '\n')
        lines++;
    p->last_line = lines > 0 ? (int)lines : 1;
    /* Reserved up front so the buffers are never NULL: the string functions get valid
     * pointers even for empty lines. */
    if (bytes_reserve(&p->sub, 0) < 0 || bytes_reserve(&p->tmp, 0) < 0 ||
        bytes_reserve(&p->w.buf, 0) < 0)
        return oom(p);
    p->sub.data[0] = p->tmp.data[0] = p->w.buf.data[0] = '\0';
    return 0;
}

static int read_variants(parser *p, scn_file *f)
{
    char *stem = make_stem(p->path);
    p->choice = calloc(p->n_vars > 0 ? p->n_vars : 1, sizeof *p->choice);
    f->variants = calloc(p->n_variants, sizeof *f->variants);
    int rc = -1;
    if (stem == NULL || p->choice == NULL || f->variants == NULL) {
        oom(p);
        goto cleanup;
    }
    for (size_t k = 0; k < p->n_variants; k++) {
        f->n_variants = k + 1;
        if (read_variant(p, k, stem, &f->variants[k]) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(stem);
    return rc;
}

int scn_parse_text(const char *path, const char *text, size_t len, scn_file *out, char *err,
                   size_t errlen)
{
    parser p;
    scn_file f = {0};
    int rc = -1;
    parser_init(&p, path, text, len, err, errlen);
    clear_err(&p);
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (out == NULL) {
        fail(&p, 0, "nowhere to put the result");
        goto cleanup;
    }
    if (p.text_len > MAX_TEXT) {
        fail(&p, 0, "too large: more than 4 MiB");
        goto cleanup;
    }
    if (parser_prepare(&p) < 0 || check_no_nul(&p) < 0 || read_matrices(&p) < 0 ||
        read_variants(&p, &f) < 0)
        goto cleanup;
    *out = f;
    memset(&f, 0, sizeof f);
    clear_err(&p);
    rc = 0;
cleanup:
    scn_file_cleanup(&f);
    parser_free(&p);
    return rc;
}

/* ---- files ---- */

static int read_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int read_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* scn_read_file reads the whole file, but never more than one byte past MAX_TEXT: that byte
 * is enough to know the file is too large. */
int scn_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    size_t cap = 0;
    int rc = -1;
    if (f == NULL) {
        read_error(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    for (;;) {
        if (n == cap) {
            cap = cap == 0 ? 65536 : cap * 2 > MAX_TEXT + 1 ? MAX_TEXT + 1 : cap * 2;
            char *nb = realloc(buf, cap + 1); /* and a NUL after the text */
            if (nb == NULL) {
                read_error(err, errlen, "%s: cannot read: %s", path, strerror(ENOMEM));
                goto cleanup;
            }
            buf = nb;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > MAX_TEXT) {
            read_error(err, errlen, "%s: too large: more than 4 MiB", path);
            goto cleanup;
        }
        if (got > 0)
            continue;
        if (ferror(f)) {
            read_error(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
            goto cleanup;
        }
        break;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
    rc = 0;
cleanup:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

int scn_parse_file(const char *path, scn_file *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = -1;
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (path == NULL)
        return read_error(err, errlen, "(null): cannot read: no path given");
    if (scn_read_file(path, &text, &len, err, errlen) < 0)
        goto cleanup;
    rc = scn_parse_text(path, text, len, out, err, errlen);
cleanup:
    free(text);
    return rc;
}

/* ---- suggestions ---- */

static unsigned char lower(char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* edit_distance is the Levenshtein distance of |a| and |b| ignoring ASCII case, or SIZE_MAX
 * when the length gap alone exceeds |limit| (or memory runs out). The rows run over |b|, a
 * short known name, so a huge hostile |a| costs time but little memory. */
static size_t edit_distance(const char *a, size_t an, const char *b, size_t bn, size_t limit)
{
    size_t gap = an > bn ? an - bn : bn - an;
    if (gap > limit)
        return SIZE_MAX;
    size_t *prev = malloc((bn + 1) * sizeof *prev);
    size_t *cur = malloc((bn + 1) * sizeof *cur);
    size_t d = SIZE_MAX;
    if (prev == NULL || cur == NULL)
        goto cleanup;
    for (size_t j = 0; j <= bn; j++)
        prev[j] = j;
    for (size_t i = 1; i <= an; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t sub = prev[j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));
            size_t del = prev[j] + 1;
            size_t ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    d = prev[bn];
cleanup:
    free(prev);
    free(cur);
    return d;
}

const char *scn_nearest(const char *word, const char *const *names)
{
    if (word == NULL || names == NULL)
        return NULL;
    size_t wn = strlen(word);
    size_t limit = wn / 3 > 2 ? wn / 3 : 2;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t d = edit_distance(word, wn, names[i], strlen(names[i]), limit);
        if (d <= limit && d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}
