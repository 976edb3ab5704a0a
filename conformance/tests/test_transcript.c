/*
 * test_transcript.c - transcripts: the exact text written, round trips through a file,
 * transcript_compare's verdicts and messages, the reader's answer to every kind of
 * malformed input (with its line number), every truncation of a valid file, and a
 * fixed-seed random mutation loop that must never crash (run it under ASan/UBSan: inputs
 * are passed in buffers of their exact size, so any read past the end is caught).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transcript.h"

/* ---- fixtures ---- */

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tlsrig-transcript-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/run.tls", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    DIR *d = opendir(fx->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char p[512];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", fx->dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A small run: two connections, an empty chunk, every byte value. */
static uint8_t all_bytes[256];

static size_t sample_chunks(rig_chunk *ch)
{
    for (int i = 0; i < 256; i++)
        all_bytes[i] = (uint8_t)i;
    ch[0] = (rig_chunk){.from_server = 0, .conn = 0, .data = (uint8_t *)"\x16\x03\x01", .len = 3};
    ch[1] = (rig_chunk){
        .from_server = 1, .conn = 0, .data = (uint8_t *)"\x16\x03\x03\x00\x7a", .len = 5};
    ch[2] = (rig_chunk){.from_server = 0, .conn = 0, .data = NULL, .len = 0};
    ch[3] = (rig_chunk){.from_server = 1, .conn = 1, .data = all_bytes, .len = 256};
    ch[4] = (rig_chunk){.from_server = 7, .conn = 65535, .data = all_bytes + 255, .len = 1};
    return 5;
}

static const char sample_source[] = "# a scenario\npeer client client\n\ttext \"x\"\nhandshake\n";

/* ---- writing and reading back ---- */

static void exact_text(void **state)
{
    fixture *fx = *state;
    char err[256];
    rig_chunk ch[2] = {
        {.from_server = 0, .conn = 0, .data = (uint8_t *)"\x01\xab", .len = 2},
        {.from_server = 1, .conn = 3, .data = NULL, .len = 0},
    };
    size_t len;
    char *text;

    assert_int_equal(
        transcript_write(fx->path, "tls12[v=a b]", 42, "hello\n", 6, ch, 2, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    text = slurp(fx->path, &len);
    assert_string_equal(text, "tlsrig-transcript 1\n"
                              "id tls12[v=a b]\n"
                              "seed 42\n"
                              "source 6\n"
                              "hello\n"
                              "\n"
                              "C 0 01ab\n"
                              "S 3\n"
                              "end\n");
    free(text);
    /* The temporary file was renamed, not left beside it; the mode is not mkstemp's 0600. */
    assert_int_equal(count_entries(fx->dir), 1);
    {
        struct stat st;
        assert_int_equal(stat(fx->path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
    }
}

static void round_trip(void **state)
{
    fixture *fx = *state;
    char err[256], msg[512];
    rig_chunk ch[8];
    size_t n = sample_chunks(ch);
    transcript t;

    assert_int_equal(transcript_write(fx->path, "name[a=1,b=x y]", UINT64_MAX, sample_source,
                                      strlen(sample_source), ch, n, err, sizeof(err)),
                     0);
    assert_int_equal(transcript_read(fx->path, &t, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(t.id, "name[a=1,b=x y]");
    assert_true(t.seed == UINT64_MAX);
    assert_int_equal(t.source_len, strlen(sample_source));
    assert_memory_equal(t.source, sample_source, t.source_len);
    assert_int_equal(t.source[t.source_len], '\0');
    assert_int_equal(t.n_chunks, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t.chunks[i].from_server, ch[i].from_server != 0);
        assert_int_equal(t.chunks[i].conn, ch[i].conn);
        assert_int_equal(t.chunks[i].len, ch[i].len);
        if (ch[i].len > 0)
            assert_memory_equal(t.chunks[i].data, ch[i].data, ch[i].len);
        else
            assert_null(t.chunks[i].data);
    }
    assert_int_equal(transcript_compare(&t, ch, n, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "");
    transcript_cleanup(&t);
    assert_null(t.id);
    assert_int_equal(t.n_chunks, 0);
    transcript_cleanup(&t); /* twice is harmless */
}

/* Sources the line counting must not be confused by: none, no final newline, NUL bytes,
 * carriage returns, text that looks like transcript lines. */
static void round_trip_odd_sources(void **state)
{
    fixture *fx = *state;
    static const struct {
        const char *text;
        size_t len;
    } sources[] = {
        {"", 0},
        {"no newline at the end", 21},
        {"nul\0byte\n", 9},
        {"crlf\r\nlines\r\n", 13},
        {"end\nC 0 00\nS 1 zz\n", 18},
        {"\n\n\n", 3},
    };
    rig_chunk ch = {.from_server = 1, .conn = 2, .data = (uint8_t *)"\xff", .len = 1};

    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        char err[256];
        transcript t;
        assert_int_equal(transcript_write(fx->path, "odd", 0, sources[i].text, sources[i].len, &ch,
                                          1, err, sizeof(err)),
                         0);
        if (transcript_read(fx->path, &t, err, sizeof(err)) != 0)
            fail_msg("source %zu: %s", i, err);
        assert_int_equal(t.source_len, sources[i].len);
        assert_memory_equal(t.source, sources[i].text, sources[i].len);
        assert_int_equal(t.seed, 0);
        assert_int_equal(t.n_chunks, 1);
        assert_int_equal(t.chunks[0].data[0], 0xff);
        transcript_cleanup(&t);
    }
}

/* ---- compare ---- */

static void compare_messages(void **state)
{
    char msg[512];
    rig_chunk ch[8], run[8];
    size_t n = sample_chunks(ch);
    uint8_t changed[256];
    transcript t;

    (void)state;
    memset(&t, 0, sizeof(t));
    t.chunks = ch;
    t.n_chunks = n;
    memcpy(run, ch, sizeof(ch));

    /* Identical; the direction compares as a truth value. */
    run[4].from_server = 1;
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 0);

    /* A byte differs. */
    memcpy(changed, all_bytes, sizeof(changed));
    changed[200] ^= 0x01;
    run[3].data = changed;
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "chunk 3 (S (server->client), conn 1): first difference at byte "
                             "offset 200 (transcript 0xc8, run 0xc9); lengths: transcript "
                             "256, run 256");
    run[3].data = all_bytes;

    /* The run's chunk is shorter / longer. */
    run[1].len = 4;
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "chunk 1 (S (server->client), conn 0): first difference at byte "
                             "offset 4 (run ends there); lengths: transcript 5, run 4");
    run[1] = ch[1];
    run[2] = (rig_chunk){.from_server = 0, .conn = 0, .data = (uint8_t *)"x", .len = 1};
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "chunk 2 (C (client->server), conn 0): first difference at byte "
                             "offset 0 (transcript ends there); lengths: transcript 0, run 1");
    run[2] = ch[2];

    /* Direction and connection. */
    run[0].from_server = 1;
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "chunk 0: transcript has C (client->server) conn 0 (3 bytes), run "
                             "has S (server->client) conn 0 (3 bytes)");
    run[0] = ch[0];
    run[3].conn = 2;
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 1);
    assert_non_null(strstr(msg, "chunk 3: transcript has S (server->client) conn 1"));
    assert_non_null(strstr(msg, "run has S (server->client) conn 2"));
    run[3] = ch[3];

    /* Counts. */
    assert_int_equal(transcript_compare(&t, run, n - 1, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "chunk 4: transcript has 5 chunks, run has 4; the first extra "
                             "one (in the transcript) is S (server->client) conn 65535, 1 bytes");
    t.n_chunks = 2;
    assert_int_equal(transcript_compare(&t, run, n, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "chunk 2: transcript has 2 chunks, run has 5; the first extra "
                             "one (in the run) is C (client->server) conn 0, 0 bytes");
    t.n_chunks = 0;
    assert_int_equal(transcript_compare(&t, NULL, 0, msg, sizeof(msg)), 0);
    t.n_chunks = n;

    /* A tiny or absent message buffer still gives the verdict. */
    assert_int_equal(transcript_compare(&t, run, 1, msg, 8), 1);
    assert_int_equal(strlen(msg), 7);
    assert_int_equal(transcript_compare(&t, run, 1, NULL, 0), 1);
}

/* ---- malformed input ---- */

#define HDR "tlsrig-transcript 1\nid x\nseed 1\nsource 4\nabc\n\n"

static const struct bad_case {
    const char *what;
    const char *text;
    size_t len;         /* 0: strlen(text) */
    const char *expect; /* after "t.tls:" */
} bad_cases[] = {
    {"empty file", "", 0, "1: empty file, expected 'tlsrig-transcript 1'"},
    {"bad magic", "tlsrig-transcrip 1\n", 0, "1: not a tlsrig transcript"},
    {"magic without version", "tlsrig-transcript\n", 0, "1: not a tlsrig transcript"},
    {"other format", "\x89PNG\r\n\x1a\n", 0, "1: carriage return"},
    {"version 2", "tlsrig-transcript 2\n", 0, "1: unsupported transcript version 2"},
    {"version 01", "tlsrig-transcript 01\n", 0, "1: bad transcript version '01'"},
    {"version huge", "tlsrig-transcript 99999999999999999999999\n", 0, "1: bad transcript version"},
    {"magic only", "tlsrig-transcript 1", 0, "1: unexpected end of file in the middle"},
    {"no id", "tlsrig-transcript 1\n", 0, "2: unexpected end of file, expected 'id"},
    {"seed for id", "tlsrig-transcript 1\nseed 1\n", 0, "2: expected 'id <scenario id>'"},
    {"empty id", "tlsrig-transcript 1\nid \n", 0, "2: the id is empty"},
    {"id no space", "tlsrig-transcript 1\nidx\n", 0, "2: expected 'id <scenario id>', got 'idx'"},
    {"negative seed", "tlsrig-transcript 1\nid x\nseed -1\n", 0, "3: bad seed '-1'"},
    {"seed overflow", "tlsrig-transcript 1\nid x\nseed 18446744073709551616\n", 0,
     "3: bad seed '18446744073709551616'"},
    {"seed leading zero", "tlsrig-transcript 1\nid x\nseed 01\n", 0, "3: bad seed '01'"},
    {"seed junk", "tlsrig-transcript 1\nid x\nseed 1x\n", 0, "3: bad seed '1x'"},
    {"seed empty", "tlsrig-transcript 1\nid x\nseed \n", 0, "3: bad seed ''"},
    {"no source", "tlsrig-transcript 1\nid x\nseed 1\nC 0 00\n", 0,
     "4: expected 'source <length>', got 'C 0 00'"},
    {"source not a number", "tlsrig-transcript 1\nid x\nseed 1\nsource abc\n", 0,
     "4: bad source length 'abc'"},
    {"source length overflow", "tlsrig-transcript 1\nid x\nseed 1\nsource 99999999999999999999\n",
     0, "4: bad source length '99999999999999999999'"},
    {"source length huge", "tlsrig-transcript 1\nid x\nseed 1\nsource 4294967296000\n", 0,
     "4: source length 4294967296000 exceeds the limit of 16777216 bytes"},
    {"truncated source", "tlsrig-transcript 1\nid x\nseed 1\nsource 100\nabc\n", 0,
     "5: the source is truncated: 100 bytes announced, 4 left"},
    {"source too short", "tlsrig-transcript 1\nid x\nseed 1\nsource 2\nabc\n\nend\n", 0,
     "5: expected a newline right after the 2 bytes of source"},
    {"no newline after source", "tlsrig-transcript 1\nid x\nseed 1\nsource 4\nabc\n", 0,
     "6: expected a newline right after the 4 bytes of source"},
    {"missing end", HDR, 0, "7: missing 'end' (truncated transcript?)"},
    {"missing end after chunk", HDR "C 0 00\n", 0, "8: missing 'end'"},
    {"bad hex", HDR "C 0 0g\n", 0, "7: bad hex digit 'g' at column 6"},
    {"bad hex later", HDR "S 12 00112233zz\n", 0, "7: bad hex digit 'z' at column 14"},
    {"odd hex length", HDR "C 0 abc\n", 0, "7: odd number of hex digits (3)"},
    {"trailing space", HDR "C 0 \nend\n", 0, "7: trailing space after the connection number"},
    {"two spaces", HDR "C  0 00\nend\n", 0, "7: bad connection number ''"},
    {"conn range", HDR "C 65536 00\nend\n", 0, "7: bad connection number '65536' (0..65535)"},
    {"conn negative", HDR "S -1 00\nend\n", 0, "7: bad connection number '-1'"},
    {"conn leading zero", HDR "S 01 00\nend\n", 0, "7: bad connection number '01'"},
    {"hex spaces", HDR "S 1 00 111\nend\n", 0, "7: bad hex digit ' ' at column 7"},
    {"bare C", HDR "C\nend\n", 0, "7: bad chunk line 'C'"},
    {"C no space", HDR "C0 00\nend\n", 0, "7: bad chunk line 'C0 00'"},
    {"unknown line", HDR "X 0 00\nend\n", 0,
     "7: unknown line 'X 0 00', expected 'C', 'S' or 'end'"},
    {"lower-case direction", HDR "c 0 00\nend\n", 0, "7: unknown line 'c 0 00'"},
    {"end with space", HDR "end \n", 0, "7: unknown line 'end '"},
    {"empty line", HDR "C 0 00\n\nend\n", 0, "8: empty line, expected a chunk or 'end'"},
    {"data after end", HDR "end\nC 0 00\n", 0, "8: data after 'end'"},
    {"blank after end", HDR "end\n\n", 0, "8: data after 'end'"},
    {"crlf", "tlsrig-transcript 1\r\n", 0, "1: carriage return at end of line"},
    {"crlf in body", HDR "C 0 00\r\nend\n", 0, "7: carriage return at end of line"},
    {"nul in line", HDR "C 0 00\0\nend\n", sizeof(HDR "C 0 00\0\nend\n") - 1,
     "7: NUL byte in line"},
    {"cr in id", "tlsrig-transcript 1\nid a\rb\n", 0, "2: carriage return in the id"},
    {"nul in id", "tlsrig-transcript 1\nid a\0b\n", sizeof("tlsrig-transcript 1\nid a\0b\n") - 1,
     "2: NUL byte in line"},
    {"truncated chunk line", HDR "C 0 0011", 0, "7: unexpected end of file in the middle"},
    {"binary junk quoted", HDR "\x01\xff\x7f'\\\nend\n", 0,
     "7: unknown line '\\x01\\xff\\x7f\\x27\\x5c'"},
    {"long line cut", HDR "Q123456789012345678901234567890123456789012345678901234567890\n", 0,
     "7: unknown line 'Q123456789012345678901234567890123456789...'"},
};

static void check_bad(const struct bad_case *c, const char *text, size_t len)
{
    char err[512], want[512];
    transcript t;
    /* An exact-size heap copy: a read past the end is an ASan report, not luck. */
    char *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    memset(&t, 0xA5, sizeof(t)); /* garbage in: the reader must not trust it */
    if (transcript_parse("t.tls", copy, len, &t, err, sizeof(err)) != -1)
        fail_msg("%s: accepted", c->what);
    snprintf(want, sizeof(want), "t.tls:%s", c->expect);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("%s:\n  got  %s\n  want %s...", c->what, err, want);
    /* Left empty on failure. */
    assert_null(t.id);
    assert_null(t.source);
    assert_null(t.chunks);
    assert_int_equal(t.n_chunks, 0);
    transcript_cleanup(&t);
    free(copy);
}

static void malformed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        check_bad(c, c->text, c->len > 0 ? c->len : strlen(c->text));
    }
}

/* The same through transcript_read: the message names the file. */
static void malformed_file(void **state)
{
    fixture *fx = *state;
    char err[512], want[256];
    transcript t;

    spit(fx->path, HDR "C 0 abc\nend\n", strlen(HDR "C 0 abc\nend\n"));
    assert_int_equal(transcript_read(fx->path, &t, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:7: odd number of hex digits (3)", fx->path);
    assert_string_equal(err, want);
    transcript_cleanup(&t);

    /* Line numbers after a multi-line source count the source's lines. */
    {
        const char *text = "tlsrig-transcript 1\nid x\nseed 1\nsource 6\na\nb\nc\n\n"
                           "C 0 00\nS 0 zz\nend\n";
        spit(fx->path, text, strlen(text));
        assert_int_equal(transcript_read(fx->path, &t, err, sizeof(err)), -1);
        snprintf(want, sizeof(want), "%s:10: bad hex digit 'z' at column 5", fx->path);
        assert_string_equal(err, want);
    }

    /* A missing file. */
    snprintf(want, sizeof(want), "%s/none.tls", fx->dir);
    assert_int_equal(transcript_read(want, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open: No such file or directory"));
    /* A directory. */
    assert_int_equal(transcript_read(fx->dir, &t, err, sizeof(err)), -1);
    assert_non_null(strstr(err, fx->dir));
    assert_int_equal(transcript_read(NULL, &t, err, sizeof(err)), -1);
    assert_int_equal(transcript_read(fx->path, NULL, err, sizeof(err)), -1);
    /* No room for a message is fine. */
    assert_int_equal(transcript_read(fx->path, &t, NULL, 0), -1);
}

/* Every proper prefix of a valid transcript is refused, except the one that only lacks the
 * final newline after `end`. */
static void every_truncation(void **state)
{
    fixture *fx = *state;
    char err[512];
    rig_chunk ch[8];
    size_t n = sample_chunks(ch), len;
    char *text;

    assert_int_equal(transcript_write(fx->path, "trunc", 7, sample_source, strlen(sample_source),
                                      ch, n, err, sizeof(err)),
                     0);
    text = slurp(fx->path, &len);
    for (size_t cut = 0; cut < len; cut++) {
        transcript t;
        char *copy = malloc(cut > 0 ? cut : 1);
        int rc;
        assert_non_null(copy);
        memcpy(copy, text, cut);
        rc = transcript_parse("t.tls", copy, cut, &t, err, sizeof(err));
        if (cut == len - 1) {
            if (rc != 0)
                fail_msg("without the final newline: %s", err);
            assert_int_equal(transcript_compare(&t, ch, n, err, sizeof(err)), 0);
        } else {
            if (rc != -1)
                fail_msg("prefix of %zu/%zu bytes accepted", cut, len);
            if (strncmp(err, "t.tls:", 6) != 0 || strchr(err + 6, ':') == NULL)
                fail_msg("prefix %zu: message without a line number: %s", cut, err);
        }
        transcript_cleanup(&t);
        free(copy);
    }
    free(text);
}

/* ---- random mutation ---- */

static uint64_t rng_state;

/* xorshift64*: tiny, and the same sequence on every platform. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t rng_below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rng() % n);
}

/* Bytes the mutator likes to insert: the format's own punctuation and digits. */
static const char interesting[] = "\n \r\0CSe0123456789abcdefABCDEFxg-end";

static size_t mutate(char *buf, size_t len, size_t cap)
{
    switch (rng_below(8)) {
    case 0: /* flip bits of a byte */
        if (len > 0)
            buf[rng_below(len)] ^= (char)(1u << rng_below(8));
        break;
    case 1: /* overwrite a byte */
        if (len > 0)
            buf[rng_below(len)] = interesting[rng_below(sizeof(interesting) - 1)];
        break;
    case 2: /* insert a byte */
        if (len < cap) {
            size_t at = rng_below(len + 1);
            memmove(buf + at + 1, buf + at, len - at);
            buf[at] = interesting[rng_below(sizeof(interesting) - 1)];
            len++;
        }
        break;
    case 3: /* delete a run */
        if (len > 0) {
            size_t at = rng_below(len), n = 1 + rng_below(len - at < 8 ? len - at : 8);
            memmove(buf + at, buf + at + n, len - at - n);
            len -= n;
        }
        break;
    case 4: /* truncate */
        len = rng_below(len + 1);
        break;
    case 5: /* duplicate a run elsewhere */
        if (len > 0) {
            size_t from = rng_below(len), n = 1 + rng_below(len - from < 32 ? len - from : 32);
            size_t at = rng_below(len + 1);
            if (len + n <= cap) {
                char tmp[32];
                memcpy(tmp, buf + from, n);
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, tmp, n);
                len += n;
            }
        }
        break;
    case 6: /* a digit becomes a huge number */
        if (len > 0) {
            static const char big[] = "99999999999999999999";
            size_t at = rng_below(len), n = 1 + rng_below(sizeof(big) - 1);
            if (len + n <= cap) {
                memmove(buf + at + n, buf + at, len - at);
                memcpy(buf + at, big, n);
                len += n;
            }
        }
        break;
    default: /* a line break somewhere */
        if (len > 0)
            buf[rng_below(len)] = '\n';
        break;
    }
    return len;
}

static void random_mutations(void **state)
{
    fixture *fx = *state;
    char err[512];
    rig_chunk ch[8];
    size_t n = sample_chunks(ch), base_len;
    char *base;
    const char *env = getenv("TLSRIG_MUTATIONS");
    long iterations = env != NULL ? strtol(env, NULL, 10) : 20000;
    long accepted = 0;

    /* A small base so that mutations often hit the structure, not only hex. */
    ch[3].len = 16;
    assert_int_equal(transcript_write(fx->path, "mut[x=1]", 12345, sample_source,
                                      strlen(sample_source), ch, n, err, sizeof(err)),
                     0);
    base = slurp(fx->path, &base_len);
    rng_state = 0x7415C0DEULL;

    for (long it = 0; it < iterations; it++) {
        size_t cap = base_len + 256, len = base_len;
        char *work = malloc(cap);
        char *exact;
        transcript t;
        int rc, rounds = 1 + (int)rng_below(4);

        assert_non_null(work);
        memcpy(work, base, base_len);
        for (int r = 0; r < rounds; r++)
            len = mutate(work, len, cap);
        exact = malloc(len > 0 ? len : 1);
        assert_non_null(exact);
        memcpy(exact, work, len);
        rc = transcript_parse("m.tls", exact, len, &t, err, sizeof(err));
        if (rc == 0) {
            /* Whatever was accepted is self-consistent and survives a round trip. */
            accepted++;
            assert_non_null(t.id);
            assert_non_null(t.source);
            assert_int_equal(transcript_compare(&t, t.chunks, t.n_chunks, err, sizeof(err)), 0);
            if (accepted % 64 == 1) {
                transcript back;
                if (transcript_write(fx->path, t.id, t.seed, t.source, t.source_len, t.chunks,
                                     t.n_chunks, err, sizeof(err)) != 0)
                    fail_msg("iteration %ld: accepted but not writable: %s", it, err);
                if (transcript_read(fx->path, &back, err, sizeof(err)) != 0)
                    fail_msg("iteration %ld: written but not readable: %s", it, err);
                assert_int_equal(transcript_compare(&back, t.chunks, t.n_chunks, err, sizeof(err)),
                                 0);
                assert_string_equal(back.id, t.id);
                assert_true(back.seed == t.seed);
                transcript_cleanup(&back);
            }
        } else {
            assert_int_equal(rc, -1);
            if (strncmp(err, "m.tls:", 6) != 0 || err[6] < '1' || err[6] > '9')
                fail_msg("iteration %ld: message without a line number: %s", it, err);
            assert_null(t.chunks);
        }
        transcript_cleanup(&t);
        free(exact);
        free(work);
    }
    /* Some mutations (a changed hex digit, seed or id) stay valid; the loop must see both
     * outcomes to have tested anything. */
    assert_true(accepted > 0);
    assert_true(accepted < iterations);
    free(base);
}

/* ---- write errors ---- */

static void write_errors(void **state)
{
    fixture *fx = *state;
    char err[512], path[256], longid[TRANSCRIPT_MAX_ID + 2];
    rig_chunk ch = {.from_server = 0, .conn = 0, .data = (uint8_t *)"ab", .len = 2};

    snprintf(path, sizeof(path), "%s/missing/run.tls", fx->dir);
    assert_int_equal(transcript_write(path, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));

    /* A directory in the way: the rename fails and the temporary file goes. */
    snprintf(path, sizeof(path), "%s/adir", fx->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(transcript_write(path, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rename"));
    assert_int_equal(count_entries(fx->dir), 1);
    assert_int_equal(rmdir(path), 0);

    assert_int_equal(transcript_write(fx->path, "a\nb", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line break"));
    assert_int_equal(transcript_write(fx->path, "a\rb", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_int_equal(transcript_write(fx->path, "", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "id is empty"));
    assert_int_equal(transcript_write(fx->path, NULL, 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    memset(longid, 'i', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(transcript_write(fx->path, longid, 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_int_equal(transcript_write(fx->path, "x", 1, NULL, 3, &ch, 1, err, sizeof(err)), -1);
    assert_int_equal(transcript_write(NULL, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_int_equal(transcript_write(fx->path, "x", 1, "", 0, NULL, 1, err, sizeof(err)), -1);
    ch.conn = TRANSCRIPT_MAX_CONN + 1;
    assert_int_equal(transcript_write(fx->path, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chunk 0: connection 65536 is outside 0..65535"));
    ch.conn = -3;
    assert_int_equal(transcript_write(fx->path, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    ch.conn = 0;
    ch.data = NULL;
    assert_int_equal(transcript_write(fx->path, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chunk 0: 2 bytes but no data"));
    /* A chunk too big for the reader's file limit is refused before anything is written. */
    ch.data = (uint8_t *)"ab";
    ch.len = TRANSCRIPT_MAX_FILE / 2 + 1;
    assert_int_equal(transcript_write(fx->path, "x", 1, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "would exceed"));
    assert_int_equal(transcript_write(fx->path, "x", 1, "", 0, &ch, 1, NULL, 0), -1);
    /* None of the failures left a file. */
    assert_int_equal(count_entries(fx->dir), 0);

    /* The longest id allowed is written and read back. */
    longid[TRANSCRIPT_MAX_ID] = '\0';
    ch.len = 2;
    assert_int_equal(transcript_write(fx->path, longid, 1, "", 0, &ch, 1, err, sizeof(err)), 0);
    {
        transcript t;
        assert_int_equal(transcript_read(fx->path, &t, err, sizeof(err)), 0);
        assert_int_equal(strlen(t.id), TRANSCRIPT_MAX_ID);
        transcript_cleanup(&t);
    }
}

/* An existing transcript survives a failed write to the same path. */
static void failed_write_keeps_old(void **state)
{
    fixture *fx = *state;
    char err[256];
    rig_chunk ch = {.from_server = 0, .conn = 0, .data = (uint8_t *)"ab", .len = 2};
    transcript t;

    assert_int_equal(transcript_write(fx->path, "old", 1, "", 0, &ch, 1, err, sizeof(err)), 0);
    ch.conn = -1;
    assert_int_equal(transcript_write(fx->path, "new", 2, "", 0, &ch, 1, err, sizeof(err)), -1);
    assert_int_equal(transcript_read(fx->path, &t, err, sizeof(err)), 0);
    assert_string_equal(t.id, "old");
    transcript_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exact_text, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trip_odd_sources, setup, teardown),
        cmocka_unit_test(compare_messages),
        cmocka_unit_test(malformed_table),
        cmocka_unit_test_setup_teardown(malformed_file, setup, teardown),
        cmocka_unit_test_setup_teardown(every_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(random_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(write_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_write_keeps_old, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
