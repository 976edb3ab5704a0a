/*
 * test_parse.c - the scenario parser: a full scenario read into its parts, matrix expansion,
 * the lexical rules (quotes, escapes, comments, CRLF), every malformed-input error with its
 * exact "file:line:" prefix, file reading, size limits, scn_nearest, and a robustness loop
 * over random and mutated input that must only ever parse or fail cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scn.h"

static char err[1024];

static int parse_as(const char *path, const char *text, size_t len, scn_file *f)
{
    /* Junk first: the parser must zero the result itself, also when it fails. */
    memset(f, 0xa5, sizeof *f);
    return scn_parse_text(path, text, len, f, err, sizeof err);
}

static int parse(const char *text, scn_file *f)
{
    return parse_as("dir/t.scn", text, strlen(text), f);
}

/* parse_ok parses |text| and fails the test with the parser's message when it is refused. */
static scn_file parse_ok(const char *text)
{
    scn_file f;
    if (parse(text, &f) != 0)
        fail_msg("unexpected parse error: %s", err);
    return f;
}

static void assert_word(const scn_line *l, int i, const char *want)
{
    assert_true(i < l->argc);
    assert_string_equal(l->argv[i], want);
    assert_int_equal(l->argl[i], strlen(want));
}

/* expect_error: the parse fails, the message starts with |prefix| and holds |needle|, and the
 * result is left zeroed. */
static void expect_error_len(const char *text, size_t len, const char *prefix, const char *needle)
{
    scn_file f;
    int rc = parse_as("dir/t.scn", text, len, &f);
    if (rc != -1)
        fail_msg("accepted, expected \"%s...%s\" for:\n%s", prefix, needle, text);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("got \"%s\", expected prefix \"%s\"", err, prefix);
    if (needle != NULL && strstr(err, needle) == NULL)
        fail_msg("got \"%s\", expected it to mention \"%s\"", err, needle);
    assert_null(f.variants);
    assert_int_equal(f.n_variants, 0);
}

static void expect_error(const char *text, const char *prefix, const char *needle)
{
    expect_error_len(text, strlen(text), prefix, needle);
}

#define PEERS "peer c client\npeer s server\n"

/* value_list writes "0,1,...,n-1" into |out|. */
static void value_list(char *out, size_t cap, int n)
{
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), i == 0 ? "%d" : ",%d", i);
}

/* ---- valid input ---- */

static void full_scenario(void **state)
{
    (void)state;
    static const char text[] = "# TLS 1.2 secure renegotiation started by the client.\n"
                               "rfc RFC 5746 §3.5\n"
                               "rfc   RFC 5246   \"§7.4.1.2\"  # trailing comment\n"
                               "title Client-initiated renegotiation\n"
                               "seed 0x2a\n"
                               "xfail engine does not renegotiate yet\n"
                               "budget 500\n"
                               "\n"
                               "peer client client\n"
                               "    max-version 1.2\n"
                               "\tverify peer\n"
                               "    ca root   # the test root\n"
                               "\n"
                               "    # a comment inside the block does not end it\n"
                               "    hostname \"www example\"\n"
                               "peer server server\n"
                               "    cert rsa\n"
                               "handshake\n"
                               "send client \"before renegotiation\"\n"
                               "expect version client TLSv1.2\n";
    scn_file f = parse_ok(text);
    assert_int_equal(f.n_variants, 1);
    const scn *s = &f.variants[0];
    assert_string_equal(s->path, "dir/t.scn");
    assert_string_equal(s->name, "t");
    assert_string_equal(s->id, "t");
    assert_string_equal(s->title, "Client-initiated renegotiation");
    assert_int_equal(s->n_rfcs, 2);
    assert_string_equal(s->rfcs[0], "RFC 5746 §3.5");
    assert_string_equal(s->rfcs[1], "RFC 5246 §7.4.1.2");
    assert_string_equal(s->xfail, "engine does not renegotiate yet");
    assert_true(s->seed == 42);
    assert_int_equal(s->budget, 500);

    assert_int_equal(s->n_peers, 2);
    const scn_peer *c = &s->peers[0];
    assert_string_equal(c->name, "client");
    assert_int_equal(c->is_server, 0);
    assert_int_equal(c->lineno, 9);
    assert_int_equal(c->n_settings, 4);
    assert_int_equal(c->settings[0].lineno, 10);
    assert_int_equal(c->settings[0].argc, 2);
    assert_word(&c->settings[0], 0, "max-version");
    assert_word(&c->settings[0], 1, "1.2");
    assert_word(&c->settings[1], 0, "verify");
    assert_int_equal(c->settings[2].argc, 2);
    assert_word(&c->settings[2], 1, "root");
    assert_int_equal(c->settings[3].lineno, 15);
    assert_word(&c->settings[3], 1, "www example");
    const scn_peer *sv = &s->peers[1];
    assert_string_equal(sv->name, "server");
    assert_int_equal(sv->is_server, 1);
    assert_int_equal(sv->n_settings, 1);
    assert_word(&sv->settings[0], 1, "rsa");

    assert_int_equal(s->n_steps, 3);
    assert_int_equal(s->steps[0].lineno, 18);
    assert_int_equal(s->steps[0].argc, 1);
    assert_word(&s->steps[0], 0, "handshake");
    assert_int_equal(s->steps[1].argc, 3);
    assert_word(&s->steps[1], 2, "before renegotiation");
    assert_int_equal(s->steps[2].lineno, 20);
    assert_int_equal(s->steps[2].argc, 4);
    assert_word(&s->steps[2], 3, "TLSv1.2");
    assert_string_equal(err, "");
    scn_file_cleanup(&f);
    assert_null(f.variants);
    scn_file_cleanup(&f); /* twice is harmless */
}

static void defaults(void **state)
{
    (void)state;
    scn_file f;
    assert_int_equal(parse_as("a/b.c/renego.scn", PEERS "pump\n", strlen(PEERS "pump\n"), &f), 0);
    const scn *s = &f.variants[0];
    assert_true(s->seed == 1);
    assert_int_equal(s->budget, 10000);
    assert_null(s->title);
    assert_null(s->xfail);
    assert_int_equal(s->n_rfcs, 0);
    assert_null(s->rfcs);
    assert_string_equal(s->name, "renego");
    assert_string_equal(s->id, "renego");
    assert_string_equal(s->path, "a/b.c/renego.scn");
    assert_int_equal(s->peers[0].n_settings, 0);
    scn_file_cleanup(&f);

    /* Only a trailing .scn is dropped from the stem. */
    assert_int_equal(parse_as("x.txt", PEERS "pump\n", strlen(PEERS "pump\n"), &f), 0);
    assert_string_equal(f.variants[0].name, "x.txt");
    scn_file_cleanup(&f);
}

static void seed_and_budget_limits(void **state)
{
    (void)state;
    scn_file f = parse_ok("seed 18446744073709551615\nbudget 9223372036854775807\n" PEERS "pump\n");
    assert_true(f.variants[0].seed == UINT64_MAX);
    assert_true(f.variants[0].budget == LONG_MAX);
    scn_file_cleanup(&f);
    f = parse_ok("seed 0XFFFFFFFFFFFFFFFF\nbudget 1\n" PEERS "pump\n");
    assert_true(f.variants[0].seed == UINT64_MAX);
    assert_int_equal(f.variants[0].budget, 1);
    scn_file_cleanup(&f);
    f = parse_ok("seed 0\n" PEERS "pump\n");
    assert_true(f.variants[0].seed == 0);
    scn_file_cleanup(&f);
}

static void matrix_2x3(void **state)
{
    (void)state;
    static const char text[] = "matrix ver = 1.2, 1.3\n"
                               "title v${ver} with ${cert}\n"
                               "matrix cert = rsa ,p256,   ed25519   # three leaves\n"
                               "peer c client\n"
                               "    max-version ${ver}\n"
                               "peer s server\n"
                               "    cert \"${cert} leaf\"\n"
                               "handshake # ${not_a_reference_in_a_comment}\n"
                               "expect version c TLSv${ver}\n";
    static const char *const ids[] = {
        "t[ver=1.2,cert=rsa]", "t[ver=1.2,cert=p256]", "t[ver=1.2,cert=ed25519]",
        "t[ver=1.3,cert=rsa]", "t[ver=1.3,cert=p256]", "t[ver=1.3,cert=ed25519]",
    };
    static const char *const vers[] = {"1.2", "1.3"};
    static const char *const certs[] = {"rsa", "p256", "ed25519"};
    scn_file f = parse_ok(text);
    assert_int_equal(f.n_variants, 6);
    for (size_t k = 0; k < 6; k++) {
        const scn *s = &f.variants[k];
        const char *ver = vers[k / 3], *cert = certs[k % 3];
        char want[64];
        assert_string_equal(s->id, ids[k]);
        assert_string_equal(s->name, "t");
        snprintf(want, sizeof want, "v%s with %s", ver, cert);
        assert_string_equal(s->title, want);
        assert_word(&s->peers[0].settings[0], 1, ver);
        snprintf(want, sizeof want, "%s leaf", cert);
        assert_word(&s->peers[1].settings[0], 1, want);
        /* The matrix lines are not steps, and the peer block ended at the title line. */
        assert_int_equal(s->n_steps, 2);
        assert_int_equal(s->steps[0].lineno, 8);
        snprintf(want, sizeof want, "TLSv%s", ver);
        assert_word(&s->steps[1], 3, want);
    }
    scn_file_cleanup(&f);
}

static void matrix_lines_anywhere(void **state)
{
    (void)state;
    /* A matrix declared after its first use still applies: matrix lines are read first. A
     * matrix line also ends the peer block above it. */
    scn_file f = parse_ok(PEERS "send c \"${x}\"\nmatrix x=a,b\npump\n");
    assert_int_equal(f.n_variants, 2);
    assert_string_equal(f.variants[0].id, "t[x=a]");
    assert_word(&f.variants[1].steps[0], 2, "b");
    assert_int_equal(f.variants[1].n_steps, 2);
    scn_file_cleanup(&f);

    /* One variable with one value: still a variant id. */
    f = parse_ok("matrix only = one\n" PEERS "pump\n");
    assert_int_equal(f.n_variants, 1);
    assert_string_equal(f.variants[0].id, "t[only=one]");
    scn_file_cleanup(&f);

    /* 32 x 32 is exactly the cap. */
    char list[256], text[1024];
    value_list(list, sizeof list, 32);
    snprintf(text, sizeof text, "matrix a = %s\nmatrix b = %s\n" PEERS "pump\n", list, list);
    f = parse_ok(text);
    assert_int_equal(f.n_variants, 1024);
    assert_string_equal(f.variants[1023].id, "t[a=31,b=31]");
    scn_file_cleanup(&f);
}

static void escapes(void **state)
{
    (void)state;
    scn_file f = parse_ok(PEERS "send c \"q\\\"b\\\\s\\n\\r\\t\\x41\\x00\\xfFz\" \"\" \\n\n");
    const scn_line *l = &f.variants[0].steps[0];
    static const char want[] = "q\"b\\s\n\r\tA\0\xffz";
    assert_int_equal(l->argc, 5);
    assert_int_equal(l->argl[2], sizeof want - 1);
    assert_memory_equal(l->argv[2], want, sizeof want); /* with the terminating NUL */
    assert_word(l, 3, "");
    assert_word(l, 4, "\\n"); /* outside quotes a backslash is just a character */
    scn_file_cleanup(&f);
}

static void comments_and_quotes(void **state)
{
    (void)state;
    scn_file f = parse_ok(PEERS "send c \"x # y\" # a comment \"with quotes\"\n"
                                "send c \"a\\\"#b\"#right after the quote\n"
                                "send\tc#no space needed\n"
                                "tamper c Finished#2 drop #3 a comment, #x too\n"
                                "send c#2#\n");
    const scn *s = &f.variants[0];
    assert_int_equal(s->steps[0].argc, 3);
    assert_word(&s->steps[0], 2, "x # y");
    assert_int_equal(s->steps[1].argc, 3);
    assert_word(&s->steps[1], 2, "a\"#b");
    assert_int_equal(s->steps[2].argc, 2);
    assert_word(&s->steps[2], 1, "c");
    /* a '#' followed by a digit inside a word is text (a message's count); anywhere else, and
     * at the start of a word, it starts a comment */
    assert_int_equal(s->steps[3].argc, 4);
    assert_word(&s->steps[3], 2, "Finished#2");
    assert_word(&s->steps[3], 3, "drop");
    assert_int_equal(s->steps[4].argc, 2);
    assert_word(&s->steps[4], 1, "c#2");
    scn_file_cleanup(&f);
}

static void crlf(void **state)
{
    (void)state;
    scn_file f = parse_ok("title over CRLF\r\n"
                          "peer c client\r\n"
                          "    verify peer\r\n"
                          "\r\n"
                          "peer s server\r\n"
                          "send c \"x\"\r\n"
                          "pump");
    const scn *s = &f.variants[0];
    assert_string_equal(s->title, "over CRLF");
    assert_word(&s->peers[0].settings[0], 1, "peer");
    assert_int_equal(s->n_steps, 2);
    assert_int_equal(s->steps[0].lineno, 6);
    assert_word(&s->steps[0], 2, "x");
    assert_int_equal(s->steps[1].lineno, 7);
    assert_word(&s->steps[1], 0, "pump");
    scn_file_cleanup(&f);

    /* Errors count CRLF lines the same way. */
    expect_error("peer c client\r\n\r\n  \r\nx \"open\r\n", "dir/t.scn:4: ", "unterminated");
}

/* ---- errors ---- */

typedef struct bad {
    const char *text;
    const char *prefix;
    const char *needle;
} bad;

static const bad bad_lexing[] = {
    {PEERS "send c \"a\\qb\"\n", "dir/t.scn:3: ", "bad escape '\\q'"},
    {PEERS "send c \"a\\x4\"\n", "dir/t.scn:3: ", "\\x needs two hex digits"},
    {PEERS "send c \"a\\xg0\"\n", "dir/t.scn:3: ", "\\x needs two hex digits"},
    {PEERS "send c \"a\\x", "dir/t.scn:3: ", "\\x needs two hex digits"},
    {PEERS "pump\nsend c \"abc\n", "dir/t.scn:4: ", "unterminated quoted word"},
    {PEERS "send c \"abc\\", "dir/t.scn:3: ", "ends in a backslash"},
    {PEERS "send c ab\"c d\"\n", "dir/t.scn:3: ", "a quote inside the word 'ab\"'"},
    {PEERS "send c \"ab\"cd\n", "dir/t.scn:3: ", "text right after a closing quote"},
    {PEERS "pump\nsend c \"x\0y\"\n", "dir/t.scn:4: ", "NUL byte"},
    {"peer c client\n  x\n\n\x01\x02\xff\0", "dir/t.scn:4: ", "NUL byte"},
};

static const bad bad_structure[] = {
    {"  verify peer\n" PEERS "pump\n", "dir/t.scn:1: ", "indented line outside a peer block"},
    {PEERS "pump\n    verify peer\n", "dir/t.scn:4: ", "indented line outside a peer block"},
    {"peer c client\ntitle x\n    verify peer\npeer s server\npump\n",
     "dir/t.scn:3: ", "indented line outside a peer block"},
    {PEERS "peer c server\npump\n", "dir/t.scn:3: ", "peer c is declared twice (first at line 1)"},
    {"peer c\npeer s server\npump\n", "dir/t.scn:1: ", "client|server"},
    {"peer\npeer s server\npump\n", "dir/t.scn:1: ", "client|server"},
    {"peer c client extra\npeer s server\npump\n", "dir/t.scn:1: ", "client|server"},
    {"peer c Client\npeer s server\npump\n",
     "dir/t.scn:1: ", "unknown role 'Client' (valid roles: client, server)"},
    {"peer \"\" client\npump\n", "dir/t.scn:1: ", "name is empty"},
    {"peer \"a\\x00b\" client\npump\n", "dir/t.scn:1: ", "NUL"},
    {"pump\nhandshake\n", "dir/t.scn:2: ", "no peer declared"},
    {"", "dir/t.scn:1: ", "no peer declared"},
    {"\n\n# nothing\n", "dir/t.scn:3: ", "no peer declared"},
    {PEERS "\n# the end", "dir/t.scn:4: ", "no steps"},
    {PEERS "   # indented comment only\n", "dir/t.scn:3: ", "no steps"},
};

static const bad bad_header[] = {
    {"rfc\n" PEERS "pump\n", "dir/t.scn:1: ", "rfc needs the section"},
    {"rfc # only a comment\n" PEERS "pump\n", "dir/t.scn:1: ", "rfc needs the section"},
    {PEERS "title\npump\n", "dir/t.scn:3: ", "title needs text"},
    {"title a\ntitle b\n" PEERS "pump\n",
     "dir/t.scn:2: ", "title is given twice (first at line 1)"},
    {"title \"a\\x00\"\n" PEERS "pump\n", "dir/t.scn:1: ", "NUL"},
    {"xfail\n" PEERS "pump\n", "dir/t.scn:1: ", "xfail needs a reason"},
    {"seed\n" PEERS "pump\n", "dir/t.scn:1: ", "seed takes one number"},
    {"seed 1 2\n" PEERS "pump\n", "dir/t.scn:1: ", "seed takes one number"},
    {"seed 12x\n" PEERS "pump\n", "dir/t.scn:1: ", "'12x' is not a number"},
    {"seed -1\n" PEERS "pump\n", "dir/t.scn:1: ", "is not a number"},
    {"seed +1\n" PEERS "pump\n", "dir/t.scn:1: ", "is not a number"},
    {"seed 0x\n" PEERS "pump\n", "dir/t.scn:1: ", "is not a number"},
    {"seed \"\"\n" PEERS "pump\n", "dir/t.scn:1: ", "is not a number"},
    {"seed 18446744073709551616\n" PEERS "pump\n", "dir/t.scn:1: ", "is not a number"},
    {"seed 0x10000000000000000\n" PEERS "pump\n", "dir/t.scn:1: ", "is not a number"},
    {"seed 1\nseed 2\n" PEERS "pump\n", "dir/t.scn:2: ", "seed is given twice"},
    {"budget 0\n" PEERS "pump\n", "dir/t.scn:1: ", "not a positive number"},
    {"budget -5\n" PEERS "pump\n", "dir/t.scn:1: ", "not a positive number"},
    {"budget 9223372036854775808\n" PEERS "pump\n", "dir/t.scn:1: ", "not a positive number"},
    {"budget lots\n" PEERS "pump\n", "dir/t.scn:1: ", "'lots' is not a positive number"},
    {"budget\n" PEERS "pump\n", "dir/t.scn:1: ", "budget takes one number"},
};

static const bad bad_matrix[] = {
    {"matrix v a, b\n" PEERS "pump\n", "dir/t.scn:1: ", "matrix <var> = <v1>, <v2>, ..."},
    {"matrix\n" PEERS "pump\n", "dir/t.scn:1: ", "matrix <var> = <v1>"},
    {"matrix 1v = a\n" PEERS "pump\n", "dir/t.scn:1: ", "'1v' is not a variable name"},
    {"matrix = a\n" PEERS "pump\n", "dir/t.scn:1: ", "'' is not a variable name"},
    {"matrix a.b = a\n" PEERS "pump\n", "dir/t.scn:1: ", "not a variable name"},
    {"matrix v = a,,b\n" PEERS "pump\n", "dir/t.scn:1: ", "matrix v: value 2 is empty"},
    {"matrix v =\n" PEERS "pump\n", "dir/t.scn:1: ", "value 1 is empty"},
    {"matrix v = a, b,\n" PEERS "pump\n", "dir/t.scn:1: ", "value 3 is empty"},
    {"matrix v = a, b , a\n" PEERS "pump\n", "dir/t.scn:1: ", "value 'a' is given twice"},
    {"matrix v = a\n" PEERS "matrix v = b\npump\n",
     "dir/t.scn:4: ", "matrix v is declared twice (first at line 1)"},
    {"matrix v = \"a\\x00\"\n" PEERS "pump\n", "dir/t.scn:1: ", "NUL"},
    {"matrix ver = 1, 2\nmatrix k = x\n" PEERS "send c ${cert}\n",
     "dir/t.scn:5: ", "unknown matrix variable 'cert' (known: ver, k)"},
    {PEERS "send c \"${x}\"\n", "dir/t.scn:3: ", "unknown matrix variable 'x'"},
    {"matrix v = a\n" PEERS "send c ${v\n", "dir/t.scn:4: ", "unterminated ${"},
    {"matrix v = a\n" PEERS "send c ${}\n", "dir/t.scn:4: ", "unknown matrix variable ''"},
    /* Substitution may not produce a declaration... */
    {"matrix v = matrix\n" PEERS "${v} w = a\npump\n", "dir/t.scn:4: ", "before ${...}"},
    /* ...and a value can break a line in one variant only: the message names it. */
    {"matrix q = ok, \"\\\"\"\n" PEERS "send c ${q}\n",
     "dir/t.scn:4: ", "unterminated quoted word (no closing \") (variant t[q=\"])"},
};

static void run_bad(const bad *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect_error(cases[i].text, cases[i].prefix, cases[i].needle);
}

static void errors_lexing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_lexing / sizeof bad_lexing[0]; i++) {
        const bad *b = &bad_lexing[i];
        /* Some cases hold a NUL byte: their length is that of the literal. */
        size_t len = strlen(b->text);
        if (strstr(b->needle, "NUL") != NULL)
            len += 1 + strlen(b->text + len + 1);
        expect_error_len(b->text, len, b->prefix, b->needle);
    }
}

static void errors_structure(void **state)
{
    (void)state;
    run_bad(bad_structure, sizeof bad_structure / sizeof bad_structure[0]);
}

static void errors_header(void **state)
{
    (void)state;
    run_bad(bad_header, sizeof bad_header / sizeof bad_header[0]);
}

static void errors_matrix(void **state)
{
    (void)state;
    run_bad(bad_matrix, sizeof bad_matrix / sizeof bad_matrix[0]);
    expect_error(PEERS "send c ${x}\n",
                 "dir/t.scn:3: ", "unknown matrix variable 'x': the file declares no matrix");
}

static void error_message_exact(void **state)
{
    (void)state;
    scn_file f;
    assert_int_equal(parse("peer c client\n    verify peer\npump\n  x\n", &f), -1);
    assert_string_equal(err, "dir/t.scn:4: indented line outside a peer block (settings go right "
                             "under their peer line; steps are not indented)");
    assert_int_equal(parse("peer c sever\n", &f), -1);
    assert_string_equal(err, "dir/t.scn:1: peer c: unknown role 'sever' (valid roles: client, "
                             "server)");
    assert_int_equal(parse(PEERS "send c \"\\z\"\n", &f), -1);
    assert_string_equal(err, "dir/t.scn:3: bad escape '\\z' in a quoted word (valid: \\\" \\\\ "
                             "\\n \\r \\t \\xHH)");
    /* Input bytes are shown escaped and cut short. */
    assert_int_equal(parse("peer c \"\\x01\\xff\"\n", &f), -1);
    assert_string_equal(err, "dir/t.scn:1: peer c: unknown role '\\x01\\xff' (valid roles: "
                             "client, server)");
    char text[256] = "budget ", want[64] = "'";
    memset(text + 7, '9', 100);
    memset(want + 1, '9', 48);
    strcpy(want + 49, "...'");
    assert_int_equal(parse(text, &f), -1);
    if (strstr(err, want) == NULL)
        fail_msg("got \"%s\", expected it to quote %s", err, want);
}

static void variant_cap(void **state)
{
    (void)state;
    char list[256], text[2048];
    value_list(list, sizeof list, 32);
    snprintf(text, sizeof text, "matrix a = %s\nmatrix b = %s,32\n" PEERS "pump\n", list, list);
    expect_error(text, "dir/t.scn:2: ", "33 values make more than 1024 variants");

    /* Many one-value variables never multiply past the cap; their count is capped instead. */
    text[0] = '\0';
    for (int i = 0; i < 33; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "matrix v%d = x\n", i);
    strcat(text, PEERS "pump\n");
    expect_error(text, "dir/t.scn:33: ", "too many variables (the limit is 32)");
}

static void expansion_cap(void **state)
{
    (void)state;
    /* A 64 KiB value used 300 times per variant: 19 MiB, over the 8 MiB limit. */
    size_t vlen = 64 * 1024;
    size_t cap = vlen + 8192;
    char *text = malloc(cap);
    assert_non_null(text);
    strcpy(text, "matrix v = ");
    memset(text + 11, 'a', vlen);
    strcpy(text + 11 + vlen, "\n" PEERS);
    for (int i = 0; i < 300; i++)
        strcat(text + 11 + vlen, "${v}");
    strcat(text + 11 + vlen, "\n");
    expect_error(text, "dir/t.scn:4: ", "more than 8 MiB");
    free(text);
}

static void error_buffer_edges(void **state)
{
    (void)state;
    scn_file f;
    char small[12];
    memset(small, 'Z', sizeof small);
    assert_int_equal(scn_parse_text("dir/t.scn", "peer x y\n", 9, &f, small, sizeof small), -1);
    assert_string_equal(small, "dir/t.scn:1"); /* cut short, still terminated */
    assert_int_equal(scn_parse_text("dir/t.scn", "peer x y\n", 9, &f, NULL, 0), -1);
    assert_int_equal(scn_parse_text("dir/t.scn", "x", 1, &f, small, 0), -1);
    assert_int_equal(scn_parse_text(NULL, "pump\n", 5, &f, err, sizeof err), -1);
    assert_string_equal(err, "(text):1: no peer declared: a scenario needs peer <name> "
                             "client|server");
    assert_int_equal(scn_parse_text("p", NULL, 0, &f, err, sizeof err), -1);
    assert_string_equal(err, "p:1: no peer declared: a scenario needs peer <name> client|server");
    assert_int_equal(scn_parse_text("p", "pump\n", 5, NULL, err, sizeof err), -1);
    assert_null(scn_nearest(NULL, NULL));
    scn_file_cleanup(NULL);
}

/* ---- files and sizes ---- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_parse.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char path[128];
    static const char *const files[] = {"reneg.scn", "big.scn"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void files(void **state)
{
    (void)state;
    char path[128], want[256];
    scn_file f;
    snprintf(path, sizeof path, "%s/reneg.scn", tmpdir);
    write_file(path, PEERS "handshake\n", strlen(PEERS "handshake\n"));
    assert_int_equal(scn_parse_file(path, &f, err, sizeof err), 0);
    assert_string_equal(f.variants[0].path, path);
    assert_string_equal(f.variants[0].name, "reneg");
    assert_string_equal(f.variants[0].id, "reneg");
    scn_file_cleanup(&f);

    write_file(path, "peer c client\nhandshake\n  oops\n", 31);
    assert_int_equal(scn_parse_file(path, &f, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: indented line outside a peer block", path);
    assert_memory_equal(err, want, strlen(want));

    snprintf(path, sizeof path, "%s/missing.scn", tmpdir);
    memset(&f, 0xa5, sizeof f);
    assert_int_equal(scn_parse_file(path, &f, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory", path);
    assert_string_equal(err, want);
    assert_null(f.variants);

    assert_int_equal(scn_parse_file(tmpdir, &f, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", tmpdir);
    assert_string_equal(err, want);

    assert_int_equal(scn_parse_file(NULL, &f, err, sizeof err), -1);
    assert_string_equal(err, "(null): cannot read: no path given");
}

static void size_limits(void **state)
{
    (void)state;
    size_t limit = (size_t)4 << 20;
    char *big = malloc(limit + 1);
    assert_non_null(big);
    /* Exactly 4 MiB is accepted: one long comment after the scenario. */
    size_t head = strlen(PEERS "pump\n#");
    memcpy(big, PEERS "pump\n#", head);
    memset(big + head, 'c', limit - head);
    scn_file f;
    assert_int_equal(parse_as("dir/t.scn", big, limit, &f), 0);
    scn_file_cleanup(&f);
    big[limit] = '\n';
    expect_error_len(big, limit + 1, "dir/t.scn: too large: more than 4 MiB", NULL);

    char path[128], want[256];
    snprintf(path, sizeof path, "%s/big.scn", tmpdir);
    write_file(path, big, limit + 1);
    assert_int_equal(scn_parse_file(path, &f, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: too large: more than 4 MiB", path);
    assert_string_equal(err, want);
    write_file(path, big, limit);
    assert_int_equal(scn_parse_file(path, &f, err, sizeof err), 0);
    scn_file_cleanup(&f);
    free(big);
}

static void many_lines_and_long_lines(void **state)
{
    (void)state;
    /* 10^5 steps. */
    size_t n = 100000;
    char *text = malloc(n * 8 + 64);
    assert_non_null(text);
    strcpy(text, PEERS);
    char *w = text + strlen(text);
    for (size_t i = 0; i < n; i++) {
        memcpy(w, "pump 1\n", 7);
        w += 7;
    }
    scn_file f;
    assert_int_equal(parse_as("dir/t.scn", text, (size_t)(w - text), &f), 0);
    assert_int_equal(f.variants[0].n_steps, n);
    assert_int_equal(f.variants[0].steps[n - 1].lineno, (int)n + 2);
    scn_file_cleanup(&f);
    free(text);

    /* One 1 MiB quoted word, and a line of 100000 words. */
    size_t big = (size_t)1 << 20;
    text = malloc(big + 64);
    assert_non_null(text);
    strcpy(text, PEERS "send c \"");
    size_t at = strlen(text);
    memset(text + at, 'x', big);
    strcpy(text + at + big, "\"\n");
    assert_int_equal(parse_as("dir/t.scn", text, strlen(text), &f), 0);
    assert_int_equal(f.variants[0].steps[0].argl[2], big);
    scn_file_cleanup(&f);
    strcpy(text, PEERS "many");
    at = strlen(text);
    for (size_t i = 0; i < n; i++) {
        text[at++] = ' ';
        text[at++] = 'w';
    }
    text[at++] = '\n';
    assert_int_equal(parse_as("dir/t.scn", text, at, &f), 0);
    assert_int_equal(f.variants[0].steps[0].argc, (int)n + 1);
    scn_file_cleanup(&f);
    free(text);
}

/* ---- scn_nearest ---- */

static void nearest(void **state)
{
    (void)state;
    static const char *const steps[] = {"handshake",  "send",     "recv", "renegotiate",
                                        "key-update", "shutdown", "pump", NULL};
    assert_string_equal(scn_nearest("handshak", steps), "handshake");
    assert_string_equal(scn_nearest("HandShake", steps), "handshake");
    assert_string_equal(scn_nearest("handshake", steps), "handshake");
    assert_string_equal(scn_nearest("renegotiat", steps), "renegotiate");
    assert_string_equal(scn_nearest("key_update", steps), "key-update");
    assert_string_equal(scn_nearest("rcv", steps), "recv");
    assert_string_equal(scn_nearest("sned", steps), "send"); /* a swap is two edits */
    assert_null(scn_nearest("zzzz", steps));
    assert_null(scn_nearest("handshaking-everything", steps));
    assert_null(scn_nearest("pump", (const char *const[]){NULL}));
    /* Ties go to the earlier name. */
    assert_string_equal(scn_nearest("sexd", (const char *const[]){"send", "sexy", NULL}), "send");
    /* A long word against short names stays cheap and finds nothing. */
    char *longw = malloc(100001);
    assert_non_null(longw);
    memset(longw, 'a', 100000);
    longw[100000] = '\0';
    assert_null(scn_nearest(longw, steps));
    free(longw);
}

/* ---- robustness ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: fixed seed, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static void check_line(const scn_line *l)
{
    assert_true(l->argc >= 1 && l->lineno >= 1);
    for (int j = 0; j < l->argc; j++)
        assert_int_equal(l->argv[j][l->argl[j]], '\0');
}

/* Every successful parse must honour the structure's promises. */
static void check_result(const scn_file *f)
{
    assert_true(f->n_variants >= 1 && f->n_variants <= 1024);
    for (size_t k = 0; k < f->n_variants; k++) {
        const scn *s = &f->variants[k];
        assert_true(s->n_peers >= 1 && s->n_steps >= 1);
        assert_non_null(s->id);
        for (size_t i = 0; i < s->n_steps; i++)
            check_line(&s->steps[i]);
        for (size_t p = 0; p < s->n_peers; p++) {
            assert_true(s->peers[p].name[0] != '\0');
            for (size_t i = 0; i < s->peers[p].n_settings; i++)
                check_line(&s->peers[p].settings[i]);
        }
    }
}

static void fuzz_one(const char *buf, size_t len)
{
    scn_file f;
    int rc = parse_as("fz.scn", buf, len, &f);
    if (rc == 0) {
        check_result(&f);
        scn_file_cleanup(&f);
        return;
    }
    assert_int_equal(rc, -1);
    assert_null(f.variants);
    assert_memory_equal(err, "fz.scn:", 7);
}

static const char seed_scenario[] = "# seed\nrfc RFC 8446 §4.6.3\ntitle t ${v}\nseed 0x10\n"
                                    "budget 100\nxfail x\nmatrix v = a, b\nmatrix w=1,2,3\n"
                                    "peer c client\n    alpn \"h2,http/1.1\"\n"
                                    "peer s server\n\tcert rsa # c\n"
                                    "send c \"x\\x00\\\"y\\n\" ${w}\nrecv s 10 bytes\n";

static void mutate(char *buf, size_t *len, size_t cap)
{
    static const char special[] = "\"\\$#{}=, \t\r\nx0\0\xff";
    int ops = 1 + (int)(rng() % 8);
    for (int i = 0; i < ops; i++) {
        size_t at = *len > 0 ? (size_t)(rng() % *len) : 0;
        char c = special[rng() % (sizeof special - 1)];
        switch (rng() % 4) {
        case 0:
            if (*len > 0)
                buf[at] = c;
            break;
        case 1:
            if (*len < cap) {
                memmove(buf + at + 1, buf + at, *len - at);
                buf[at] = c;
                (*len)++;
            }
            break;
        case 2:
            if (*len > 0) {
                memmove(buf + at, buf + at + 1, *len - at - 1);
                (*len)--;
            }
            break;
        default:
            *len = at;
            break;
        }
    }
}

static void robustness(void **state)
{
    (void)state;
    char buf[1024];
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)(rng() % sizeof buf);
        for (size_t j = 0; j < len; j++) {
            buf[j] = (char)rng();
            /* Half the strings hold no NUL, which the parser would refuse up front. */
            if (i % 2 == 1 && buf[j] == '\0')
                buf[j] = ' ';
        }
        fuzz_one(buf, len);
    }
    int parsed = 0;
    for (int i = 0; i < 2000; i++) {
        size_t len = sizeof seed_scenario - 1;
        memcpy(buf, seed_scenario, len);
        mutate(buf, &len, sizeof buf);
        scn_file f;
        if (parse_as("fz.scn", buf, len, &f) == 0) {
            parsed++;
            scn_file_cleanup(&f);
        }
        fuzz_one(buf, len);
    }
    /* The mutations must leave a fair share valid, or the loop tests only the error paths. */
    assert_true(parsed > 100);
    fuzz_one(seed_scenario, sizeof seed_scenario - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_scenario),
        cmocka_unit_test(defaults),
        cmocka_unit_test(seed_and_budget_limits),
        cmocka_unit_test(matrix_2x3),
        cmocka_unit_test(matrix_lines_anywhere),
        cmocka_unit_test(escapes),
        cmocka_unit_test(comments_and_quotes),
        cmocka_unit_test(crlf),
        cmocka_unit_test(errors_lexing),
        cmocka_unit_test(errors_structure),
        cmocka_unit_test(errors_header),
        cmocka_unit_test(errors_matrix),
        cmocka_unit_test(error_message_exact),
        cmocka_unit_test(variant_cap),
        cmocka_unit_test(expansion_cap),
        cmocka_unit_test(error_buffer_edges),
        cmocka_unit_test(files),
        cmocka_unit_test(size_limits),
        cmocka_unit_test(many_lines_and_long_lines),
        cmocka_unit_test(nearest),
        cmocka_unit_test(robustness),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
