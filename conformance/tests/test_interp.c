/*
 * test_interp.c - the interpreter as a library: verdicts, invalid scenarios, capture and
 * determinism, and the tamper hook that sits between the peers; and the compiled form of a
 * scenario (prog.h): each step's, setting's and expectation's typed values, the range and
 * meaning errors the compiler catches with their file:line, the current connection followed
 * through `connect`, session slots, and that checking compiles without running while a
 * program compiled once runs many times alike; the tamper, inject and tamper-fixup steps: their
 * compiled values and errors, rules that must match, and the key logs a tampered capture holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "prog.h"
#include "rig.h"
#include "scn.h"
#include "tlsrig.h"
#include "wire.h"

static const char *pki_dir(void)
{
    const char *d = getenv("TLSRIG_PKI");
    return d != NULL && d[0] != '\0' ? d : "pki";
}

/* Lines 1-5. */
#define PEERS                                                                                      \
    "peer client client\n"                                                                         \
    "    verify peer\n"                                                                            \
    "    ca root\n"                                                                                \
    "peer server server\n"                                                                         \
    "    cert p256\n"

/* Parse |text| (one variant) and run it; returns the status and fills |res|. */
static rig_status run_text(const char *text, const rig_options *opt, rig_result *res)
{
    scn_file f;
    char err[512];
    memset(&f, 0, sizeof(f));
    if (scn_parse_text("t.scn", text, strlen(text), &f, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    assert_int_equal(f.n_variants, 1);
    rig_status rs = rig_run(&f.variants[0], opt, res);
    scn_file_cleanup(&f);
    return rs;
}

static void passing_and_failing(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;

    assert_int_equal(run_text(PEERS "handshake\nexpect version client TLSv1.3\n"
                                    "send client \"ping\"\nrecv server \"ping\"\n",
                              &opt, &res),
                     RIG_PASS);
    rig_result_cleanup(&res);

    /* A wrong expectation fails at its line, saying what was expected and what was seen. */
    assert_int_equal(run_text(PEERS "handshake\nexpect version client TLSv1.2\n", &opt, &res),
                     RIG_FAIL);
    assert_int_equal(res.fail_line, 7);
    assert_non_null(strstr(res.message, "t.scn:7:"));
    assert_non_null(strstr(res.message, "TLSv1.2"));
    assert_non_null(strstr(res.message, "TLSv1.3"));
    rig_result_cleanup(&res);
}

static void invalid_steps(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;

    assert_int_equal(run_text(PEERS "handshak\n", &opt, &res), RIG_INVALID);
    assert_non_null(strstr(res.message, "t.scn:6: unknown step 'handshak'"));
    assert_non_null(strstr(res.message, "did you mean 'handshake'"));
    rig_result_cleanup(&res);

    assert_int_equal(run_text(PEERS "send nobody \"x\"\n", &opt, &res), RIG_INVALID);
    assert_non_null(strstr(res.message, "'nobody' is not a peer"));
    rig_result_cleanup(&res);

    assert_int_equal(run_text("peer client client\n    cerr p256\npeer server server\n"
                              "handshake\n",
                              &opt, &res),
                     RIG_INVALID);
    assert_non_null(strstr(res.message, "t.scn:2: unknown setting 'cerr'"));
    rig_result_cleanup(&res);

    /* Checking alone runs nothing. */
    scn_file f;
    char err[256];
    const char *text = PEERS "advance 1x\n";
    assert_int_equal(scn_parse_text("t.scn", text, strlen(text), &f, err, sizeof(err)), 0);
    assert_int_equal(rig_check(&f.variants[0], &res), RIG_INVALID);
    assert_non_null(strstr(res.message, "advance takes"));
    rig_result_cleanup(&res);
    scn_file_cleanup(&f);
}

static void capture_is_deterministic(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir(), .capture = 1};
    rig_result a, b;
    const char *text = PEERS "handshake\nsend server \"hi\"\nrecv client \"hi\"\n";

    assert_int_equal(run_text(text, &opt, &a), RIG_PASS);
    assert_int_equal(run_text(text, &opt, &b), RIG_PASS);
    assert_true(a.n_chunks >= 3);
    assert_int_equal(a.n_chunks, b.n_chunks);
    for (size_t i = 0; i < a.n_chunks; i++) {
        assert_int_equal(a.chunks[i].len, b.chunks[i].len);
        assert_memory_equal(a.chunks[i].data, b.chunks[i].data, a.chunks[i].len);
    }
    assert_int_equal(a.chunks[0].from_server, 0); /* the ClientHello comes first */
    assert_non_null(a.keylog);
    assert_non_null(strstr(a.keylog, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"));
    assert_string_equal(a.keylog, b.keylog);
    rig_result_cleanup(&a);
    rig_result_cleanup(&b);
}

typedef struct tamper_state {
    int records[2];  /* records seen, per direction */
    int flip_server; /* flip a byte of the first encrypted server record */
    int abort;
} tamper_state;

static int tamper(void *arg, int from_server, uint8_t *rec, size_t *len, size_t cap)
{
    tamper_state *t = arg;
    (void)cap;
    /* Every call is one whole record: header plus the length it announces. */
    assert_true(*len >= 5);
    assert_int_equal(*len, 5 + ((size_t)rec[3] << 8 | rec[4]));
    t->records[from_server]++;
    if (t->abort)
        return -1;
    if (t->flip_server && from_server && rec[0] == 23) {
        rec[*len - 1] ^= 0x01; /* corrupt the AEAD tag */
        t->flip_server = 0;
    }
    return 0;
}

static void tamper_sees_records_and_can_corrupt(void **state)
{
    (void)state;
    tamper_state t = {{0, 0}, 0, 0};
    rig_options opt = {.pki_dir = pki_dir(), .tamper = tamper, .tamper_arg = &t};
    rig_result res;

    assert_int_equal(run_text(PEERS "handshake\n", &opt, &res), RIG_PASS);
    assert_true(t.records[0] >= 2); /* ClientHello, then CCS and Finished */
    assert_true(t.records[1] >= 2);
    rig_result_cleanup(&res);

    /* RFC 8446 §5.2: a record that fails to decrypt ends the connection with bad_record_mac. */
    memset(&t, 0, sizeof(t));
    t.flip_server = 1;
    assert_int_equal(run_text(PEERS "handshake fails\n"
                                    "expect alert client sent fatal bad_record_mac\n"
                                    "expect error client ssl\n",
                              &opt, &res),
                     RIG_PASS);
    rig_result_cleanup(&res);

    /* A hook that aborts stops the scenario as a failure. */
    memset(&t, 0, sizeof(t));
    t.abort = 1;
    assert_int_equal(run_text(PEERS "handshake\n", &opt, &res), RIG_FAIL);
    assert_non_null(strstr(res.message, "wire"));
    rig_result_cleanup(&res);
}

static void budget_bounds_a_scenario(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;
    /* Two pump rounds cannot finish a handshake. */
    assert_int_equal(run_text("budget 2\n" PEERS "handshake\n", &opt, &res), RIG_FAIL);
    assert_non_null(strstr(res.message, "budget"));
    rig_result_cleanup(&res);
}

/* A parsed scenario and its program. */
typedef struct compiled {
    scn_file f;
    rig_program *p;
    rig_result res;
    rig_status rs;
} compiled;

static void compile_text(compiled *c, const char *text)
{
    char err[512];
    memset(c, 0, sizeof(*c));
    if (scn_parse_text("t.scn", text, strlen(text), &c->f, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    assert_int_equal(c->f.n_variants, 1);
    c->rs = rig_compile(&c->f.variants[0], &c->p, &c->res);
}

static const rig_program *compile_ok(compiled *c, const char *text)
{
    compile_text(c, text);
    if (c->rs != RIG_PASS)
        fail_msg("expected it to compile, got %d: %s", (int)c->rs, c->res.message);
    assert_non_null(c->p);
    return c->p;
}

static void done(compiled *c)
{
    rig_program_free(c->p);
    rig_result_cleanup(&c->res);
    scn_file_cleanup(&c->f);
}

/* The compile fails as invalid, the message starts with |prefix| and holds |needle|. */
static void expect_invalid(const char *text, const char *prefix, const char *needle)
{
    compiled c;
    compile_text(&c, text);
    if (c.rs != RIG_INVALID)
        fail_msg("expected invalid (\"%s\"), got %d: %s\n%s", prefix, (int)c.rs, c.res.message,
                 text);
    assert_null(c.p);
    if (strncmp(c.res.message, prefix, strlen(prefix)) != 0)
        fail_msg("got \"%s\", expected it to start with \"%s\"", c.res.message, prefix);
    if (needle != NULL && strstr(c.res.message, needle) == NULL)
        fail_msg("got \"%s\", expected it to mention \"%s\"", c.res.message, needle);
    done(&c);
}

static void steps_are_typed(void **state)
{
    (void)state;
    compiled c;
    const rig_program *p = compile_ok(&c, PEERS "send client 100 bytes\n"
                                                "recv server 100 bytes peek\n"
                                                "send server \"hi\\x00\" fails ssl\n"
                                                "recv client \"hi\" into 3\n"
                                                "recv client error zero-return\n"
                                                "renegotiate client\n"
                                                "shutdown server returns error syscall\n"
                                                "key-update server requested returns 0\n"
                                                "set-shutdown client both\n"
                                                "advance 2h\n"
                                                "handshake fails\n");
    assert_int_equal(p->n_steps, 11);
    assert_int_equal(p->n_peers, 2);
    assert_int_equal(p->first_client, 0);
    assert_int_equal(p->first_server, 1);

    const rig_step *st = &p->steps[0];
    assert_int_equal(st->kind, RIG_STEP_SEND);
    assert_int_equal(st->line, 6);
    assert_int_equal(st->peer, 0);
    assert_int_equal(st->side, RIG_CLIENT);
    assert_int_equal(st->send.data.len, 100);
    assert_true(st->send.data.pattern);
    assert_int_equal(st->send.fails, 0);
    /* the pattern is built once: every `<n> bytes` is a prefix of the same buffer */
    assert_ptr_equal(st->send.data.bytes, p->pattern);
    assert_int_equal(p->pattern_len, 100);
    assert_int_equal(st->send.data.bytes[0], 'a');
    assert_int_equal(st->send.data.bytes[1], 'h');

    st = &p->steps[1];
    assert_int_equal(st->kind, RIG_STEP_RECV);
    assert_int_equal(st->side, RIG_SERVER);
    assert_int_equal(st->peer, 1);
    assert_true(st->recv.peek);
    assert_ptr_equal(st->recv.data.bytes, p->pattern);

    st = &p->steps[2];
    assert_int_equal(st->kind, RIG_STEP_SEND);
    assert_int_equal(st->send.fails, TLSRIG_ERR_SSL);
    assert_int_equal(st->send.data.len, 3); /* the NUL byte counts */
    assert_false(st->send.data.pattern);
    assert_memory_equal(st->send.data.bytes, "hi\0", 3);

    st = &p->steps[3];
    assert_int_equal(st->recv.into, 3);
    assert_false(st->recv.peek);

    assert_int_equal(p->steps[4].kind, RIG_STEP_RECV_ERROR);
    assert_int_equal(p->steps[4].recv_error.err, TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(p->steps[5].kind, RIG_STEP_RENEGOTIATE);
    assert_int_equal(p->steps[5].call.returns, 1); /* the default */
    assert_int_equal(p->steps[6].kind, RIG_STEP_SHUTDOWN);
    assert_int_equal(p->steps[6].call.returns, TLSRIG_ERR_SYSCALL);
    assert_int_equal(p->steps[7].kind, RIG_STEP_KEY_UPDATE);
    assert_true(p->steps[7].call.requested);
    assert_int_equal(p->steps[7].call.returns, 0);
    assert_int_equal(p->steps[8].set_shutdown.flags,
                     TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    assert_int_equal(p->steps[9].kind, RIG_STEP_ADVANCE);
    assert_int_equal(p->steps[9].advance.seconds, 7200);
    assert_int_equal(p->steps[10].kind, RIG_STEP_HANDSHAKE);
    assert_true(p->steps[10].handshake.fails);
    done(&c);
}

static void expectations_are_typed(void **state)
{
    (void)state;
    compiled c;
    const rig_program *p =
        compile_ok(&c, PEERS "expect alert client received fatal handshake_failure\n"
                             "expect alert server sent decode_error\n"
                             "expect error client ssl reason \"wrong version\"\n"
                             "expect verify-result client CERT_HAS_EXPIRED\n"
                             "expect shutdown server received\n"
                             "expect tickets client 2\n"
                             "expect early-data server rejected\n"
                             "expect version client TLSv1.3\n"
                             "expect context-failed server\n");
    const rig_expect *e = &p->steps[0].expect;
    assert_int_equal(p->steps[0].kind, RIG_STEP_EXPECT);
    assert_int_equal(e->kind, RIG_EXPECT_ALERT);
    assert_int_equal(e->sent, 0);
    assert_int_equal(e->level, 2);
    assert_int_equal(e->desc, 40); /* RFC 8446 §6: handshake_failure(40) */
    e = &p->steps[1].expect;
    assert_int_equal(e->sent, 1);
    assert_int_equal(e->level, -1);
    assert_int_equal(e->desc, 50);
    assert_int_equal(p->steps[1].side, RIG_SERVER);
    e = &p->steps[2].expect;
    assert_int_equal(e->kind, RIG_EXPECT_ERROR);
    assert_int_equal(e->err, TLSRIG_ERR_SSL);
    assert_string_equal(e->reason, "wrong version");
    assert_int_equal(p->steps[3].expect.num, X509_V_ERR_CERT_HAS_EXPIRED);
    assert_int_equal(p->steps[4].expect.num, TLSRIG_RECEIVED_SHUTDOWN);
    assert_int_equal(p->steps[5].expect.kind, RIG_EXPECT_TICKETS);
    assert_int_equal(p->steps[5].expect.num, 2);
    assert_int_equal(p->steps[6].expect.num, SSL_EARLY_DATA_REJECTED);
    assert_string_equal(p->steps[7].expect.word, "TLSv1.3");
    assert_int_equal(p->steps[8].expect.kind, RIG_EXPECT_CONTEXT_FAILED);
    assert_int_equal(p->steps[8].peer, 1);
    done(&c);
}

static const rig_setting *find_set(const rig_peer_prog *pp, rig_setting_kind kind)
{
    for (size_t i = 0; i < pp->n_settings; i++)
        if (pp->settings[i].kind == kind)
            return &pp->settings[i];
    return NULL;
}

static void settings_are_typed(void **state)
{
    (void)state;
    compiled c;
    const rig_program *p = compile_ok(&c, "peer c client\n"
                                          "    hostname server.tlsrig.test\n"
                                          "    max-version 1.2\n"
                                          "    alpn h2,http/1.1\n"
                                          "    options NO_TICKET,NO_RENEGOTIATION\n"
                                          "    verify peer once\n"
                                          "    ciphers NO-SUCH-CIPHER fails ssl\n"
                                          "    ocsp request accept\n"
                                          "peer s server\n"
                                          "    method TLS_SERVER\n"
                                          "    cert rsa\n"
                                          "    alpn-select first-common http/1.1,h2\n"
                                          "    session-cache server no-internal-store\n"
                                          "    early-data 16384\n"
                                          "peer c2 client\n"
                                          "    share c\n"
                                          "    sni other.tlsrig.test\n"
                                          "handshake\n");
    const rig_peer_prog *cp = &p->peers[0], *sp = &p->peers[1], *c2 = &p->peers[2];

    /* verify first, hostname last, the rest in order; method and sni are not applied */
    assert_int_equal(cp->n_settings, 7);
    assert_int_equal(cp->settings[0].kind, RIG_SET_VERIFY);
    assert_int_equal(cp->settings[0].num, TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_CLIENT_ONCE);
    assert_int_equal(cp->settings[0].line, 6);
    assert_int_equal(cp->settings[1].kind, RIG_SET_MAX_VERSION);
    assert_int_equal(cp->settings[1].num, TLSRIG_VERSION_TLS1_2);
    assert_int_equal(cp->settings[6].kind, RIG_SET_HOSTNAME);
    assert_int_equal(cp->settings[6].line, 2);
    assert_string_equal(cp->hostname, "server.tlsrig.test");

    const rig_setting *s = find_set(cp, RIG_SET_ALPN);
    assert_non_null(s);
    assert_int_equal(s->protos.n, 2);
    assert_memory_equal(s->protos.list[1].data, "http/1.1", 8);
    s = find_set(cp, RIG_SET_OPTIONS);
    assert_int_equal(s->bits, TLSRIG_OP_NO_TICKET | TLSRIG_OP_NO_RENEGOTIATION);
    s = find_set(cp, RIG_SET_CIPHERS);
    assert_int_equal(s->fails, TLSRIG_ERR_SSL);
    assert_string_equal(s->str, "NO-SUCH-CIPHER");
    assert_true(cp->request_ocsp);
    assert_int_equal(cp->ocsp_check, RIG_OCSP_ACCEPT);
    assert_int_equal(cp->share, -1);

    assert_int_equal(sp->method, TLSRIG_TLS_SERVER_METHOD);
    assert_int_equal(sp->method_line, 10);
    s = find_set(sp, RIG_SET_CERT);
    assert_string_equal(s->file, "server-rsa.chain.pem");
    assert_string_equal(s->file2, "server-rsa.key");
    assert_true(s->flag); /* no `key` setting: the cert's own key is loaded */
    assert_int_equal(sp->alpn_policy, RIG_ALPN_FIRST_COMMON);
    assert_int_equal(sp->alpn_pref.n, 2);
    s = find_set(sp, RIG_SET_SESSION_CACHE);
    assert_int_equal(s->num, TLSRIG_SESS_CACHE_SERVER | TLSRIG_SESS_CACHE_NO_INTERNAL_STORE);
    assert_int_equal(sp->early_data, 16384);

    /* a peer that shares a context has the other's policies and its own SNI */
    assert_int_equal(c2->share, 0);
    assert_int_equal(c2->n_settings, 0);
    assert_string_equal(c2->hostname, "server.tlsrig.test");
    assert_string_equal(c2->sni, "other.tlsrig.test");
    assert_string_equal(c2->name, "c2");
    done(&c);
}

static void range_errors_at_compile_time(void **state)
{
    (void)state;
    expect_invalid(PEERS "send client 0 bytes\n", "t.scn:6: send takes <side>", NULL);
    expect_invalid(PEERS "send client 67108865 bytes\n", "t.scn:6: send takes", NULL);
    expect_invalid(PEERS "send client \"\"\n", "t.scn:6: send takes", NULL);
    expect_invalid(PEERS "recv server 5 bytes into 0\n",
                   "t.scn:6: recv ... into takes a positive byte count", NULL);
    expect_invalid(PEERS "pump\nexpect error client nosuch\n",
                   "t.scn:7: unknown error class 'nosuch'", NULL);
    expect_invalid(PEERS "send client \"x\" fails bogus\n",
                   "t.scn:6: after the data, send takes only fails <class>", NULL);
    expect_invalid(PEERS "shutdown client returns junk\n",
                   "t.scn:6: shutdown takes <side> returns 0|1|error <class>", NULL);
    expect_invalid(PEERS "shutdown client returns 1 extra\n", "t.scn:6: shutdown takes", NULL);
    expect_invalid(PEERS "renegotiate client returns error nosuch\n",
                   "t.scn:6: renegotiate takes <side> [returns", NULL);
    expect_invalid(PEERS "key-update client requested returns 2\n",
                   "t.scn:6: key-update: bad 'returns'", NULL);
    expect_invalid(PEERS "advance 10x\n", "t.scn:6: advance takes <n>[s|m|h|d], not '10x'", NULL);
    expect_invalid(PEERS "advance 9223372036854775807d\n", "t.scn:6: advance takes", NULL);
    expect_invalid(PEERS "expect tickets client many\n", "t.scn:6: expect tickets takes a count",
                   NULL);
    expect_invalid(PEERS "expect alert client sent fatal no_such_alert\n",
                   "t.scn:6: expect alert: unknown alert 'no_such_alert'", NULL);
    expect_invalid(PEERS "expect verify-resutl client ok\n",
                   "t.scn:6: unknown expectation 'verify-resutl'", "did you mean 'verify-result'");
    expect_invalid(PEERS "hanshake\n", "t.scn:6: unknown step 'hanshake'",
                   "did you mean 'handshake'");
    expect_invalid("peer c client\n    max-versoin 1.2\npeer s server\nhandshake\n",
                   "t.scn:2: unknown setting 'max-versoin'", "did you mean 'max-version'");
    expect_invalid("peer c client\n    max-version 1.4\npeer s server\nhandshake\n",
                   "t.scn:2: version must be 1.0, 1.1, 1.2, 1.3 or any, not '1.4'", NULL);
    expect_invalid("peer c client\n    ciphers X fails nosuch\npeer s server\nhandshake\n",
                   "t.scn:2: unknown error class 'nosuch'", NULL);
    expect_invalid("peer c client\n    cert nosuch\npeer s server\nhandshake\n",
                   "t.scn:2: unknown certificate 'nosuch'", NULL);
    expect_invalid("peer c client\n    options NO_TICKET,NOPE\npeer s server\nhandshake\n",
                   "t.scn:2: unknown option 'NOPE'", NULL);
    expect_invalid("peer c client\n    tickets -1\npeer s server\nhandshake\n",
                   "t.scn:2: tickets takes a number", NULL);
    expect_invalid("peer c client\npeer s server\n    ocsp request\nhandshake\n",
                   "t.scn:3: ocsp is a client setting", NULL);
    expect_invalid("peer c client\npeer c2 client\n    share s\npeer s server\nhandshake\n",
                   "t.scn:3: share: no earlier peer named 's'", NULL);
    expect_invalid("peer c client\npump\n", "t.scn:2: a scenario needs", NULL);
}

static void the_current_connection_is_followed(void **state)
{
    (void)state;
    compiled c;
    const char *three = PEERS "peer other client\n";
    char text[1024];

    /* `other` is a peer but not an end of the first connection... */
    snprintf(text, sizeof(text), "%ssend other \"x\"\n", three);
    expect_invalid(text, "t.scn:7: 'other' is not a peer of the current connection", NULL);
    /* ...until a connect makes it one, when `client` stops being one */
    snprintf(text, sizeof(text), "%sconnect other server\nsend other \"x\"\nsend client \"x\"\n",
             three);
    expect_invalid(text, "t.scn:9: 'client' is not a peer of the current connection", NULL);
    snprintf(text, sizeof(text), "%sconnect other server\nsend other \"x\"\n", three);
    const rig_program *p = compile_ok(&c, text);
    assert_int_equal(p->steps[0].kind, RIG_STEP_CONNECT);
    assert_int_equal(p->steps[0].connect.client, 2);
    assert_int_equal(p->steps[0].connect.server, 1);
    assert_int_equal(p->steps[1].peer, 2);
    assert_int_equal(p->steps[1].side, RIG_CLIENT);
    done(&c);

    expect_invalid(PEERS "connect server client\n", "t.scn:6: connect: 'server' is not a client",
                   NULL);
    /* A context that fails as expected leaves no connection: only expect context-failed and
     * advance can follow. */
    const char *failed = "peer c client\n    method SSLv2 fails unsupported\npeer s server\n";
    snprintf(text, sizeof(text), "%sexpect context-failed c\nadvance 1s\n", failed);
    p = compile_ok(&c, text);
    assert_true(p->peers[0].no_ctx);
    assert_int_equal(p->peers[0].method_fails, TLSRIG_ERR_UNSUPPORTED);
    done(&c);
    snprintf(text, sizeof(text), "%shandshake\n", failed);
    expect_invalid(text, "t.scn:4: handshake: there is no connection", NULL);
    snprintf(text, sizeof(text), "%sexpect version c none\n", failed);
    expect_invalid(text, "t.scn:4: expect: there is no connection", NULL);
}

static void sessions_get_slots(void **state)
{
    (void)state;
    compiled c;
    const rig_program *p = compile_ok(&c, PEERS "save-session client a\n"
                                                "save-session client b\n"
                                                "save-session client a\n"
                                                "resume client b returns error ssl\n"
                                                "resume client never\n");
    assert_int_equal(p->n_sessions, 2);
    assert_int_equal(p->steps[0].session.slot, 0);
    assert_int_equal(p->steps[1].session.slot, 1);
    assert_int_equal(p->steps[2].session.slot, 0);
    assert_int_equal(p->steps[3].kind, RIG_STEP_RESUME);
    assert_int_equal(p->steps[3].session.slot, 1);
    assert_int_equal(p->steps[3].session.returns, TLSRIG_ERR_SSL);
    /* a name never saved is known only when it runs: the run says so */
    assert_int_equal(p->steps[4].session.slot, -1);
    done(&c);

    char text[2048];
    size_t n = (size_t)snprintf(text, sizeof(text), "%s", PEERS);
    for (int i = 0; i <= RIG_MAX_SESSIONS; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "save-session client s%d\n", i);
    expect_invalid(text, "t.scn:22: too many saved sessions", NULL);
}

/* rig_check compiles only: a scenario whose run would fail, or could not even start (no PKI
 * is given), checks fine and runs no step. */
static void check_runs_nothing(void **state)
{
    (void)state;
    scn_file f;
    rig_result res;
    char err[256];
    const char *text = PEERS "handshake\nexpect version client TLSv1.1\nresume client nope\n";
    assert_int_equal(scn_parse_text("t.scn", text, strlen(text), &f, err, sizeof(err)), 0);
    assert_int_equal(rig_check(&f.variants[0], &res), RIG_PASS);
    assert_int_equal(res.steps_run, 0);
    assert_int_equal(res.n_chunks, 0);
    rig_result_cleanup(&res);

    rig_options opt = {.pki_dir = pki_dir()};
    assert_int_equal(rig_run(&f.variants[0], &opt, &res), RIG_FAIL);
    assert_int_equal(res.fail_line, 7);
    rig_result_cleanup(&res);
    scn_file_cleanup(&f);
}

/* A program compiled once runs any number of times, the same bytes each time; a resume of a
 * name never saved fails when it runs. */
static void compile_once_run_twice(void **state)
{
    (void)state;
    compiled c;
    rig_options opt = {.pki_dir = pki_dir(), .capture = 1};
    rig_result a, b;
    const rig_program *p = compile_ok(&c, PEERS "handshake\nsend client 20000 bytes\n"
                                                "recv server 20000 bytes\nresume client gone\n");
    assert_int_equal(rig_run_program(p, &opt, &a), RIG_FAIL);
    assert_int_equal(rig_run_program(p, &opt, &b), RIG_FAIL);
    assert_string_equal(a.message, "t.scn:9: resume: no session saved as 'gone'");
    assert_int_equal(a.steps_run, 4);
    assert_true(a.n_chunks >= 4);
    assert_int_equal(a.n_chunks, b.n_chunks);
    for (size_t i = 0; i < a.n_chunks; i++) {
        assert_int_equal(a.chunks[i].len, b.chunks[i].len);
        assert_memory_equal(a.chunks[i].data, b.chunks[i].data, a.chunks[i].len);
    }
    rig_result_cleanup(&a);
    rig_result_cleanup(&b);
    done(&c);
    rig_program_free(NULL); /* NULL is ignored */
}

/* ---- tamper, inject, tamper-fixup ---- */

static void tamper_steps_are_typed(void **state)
{
    (void)state;
    compiled c;
    const rig_program *p =
        compile_ok(&c, PEERS "tamper server EncryptedExtensions drop\n"
                             "tamper client finished#3 duplicate\n"
                             "tamper server Certificate replace 0A0b\n"
                             "tamper server CertificateVerify set signature \"\"\n"
                             "tamper server KeyUpdate set request_update 2\n"
                             "tamper server NewSessionTicket set ticket_lifetime 0xffffffff\n"
                             "tamper server CertificateRequest remove certificate_request_context\n"
                             "tamper server EncryptedExtensions add-extension alpn 0003026832\n"
                             "tamper server EncryptedExtensions add-extension 0xfafa\n"
                             "tamper server Certificate remove-extension status_request\n"
                             "tamper server EncryptedExtensions set-extension sni \"\"\n"
                             "tamper server Finished set-length 70000\n"
                             "tamper server EncryptedExtensions set-type 99\n"
                             "tamper client Finished insert-before KeyUpdate 01\n"
                             "inject server alert warning user_canceled\n"
                             "inject client data \"text\"\n"
                             "inject client data 20 bytes\n"
                             "inject server message HelloRequest \"\"\n"
                             "tamper-fixup on\n"
                             "tamper-fixup off\n"
                             "tamper-fixup sign\n");
    assert_int_equal(p->n_steps, 21);
    assert_true(p->middle);
    const rig_step *st = &p->steps[0];
    assert_int_equal(st->kind, RIG_STEP_TAMPER);
    assert_int_equal(st->line, 6);
    assert_int_equal(st->side, RIG_SERVER);
    assert_int_equal(st->tamper.msg, 8);
    assert_int_equal(st->tamper.nth, 1);
    assert_int_equal(st->tamper.action, RIG_TAMPER_DROP);
    st = &p->steps[1];
    assert_int_equal(st->side, RIG_CLIENT);
    assert_int_equal(st->tamper.msg, 20);
    assert_int_equal(st->tamper.nth, 3);
    assert_int_equal(st->tamper.action, RIG_TAMPER_DUPLICATE);
    st = &p->steps[2];
    assert_int_equal(st->tamper.action, RIG_TAMPER_REPLACE);
    assert_int_equal(st->tamper.hex.len, 2);
    assert_memory_equal(st->tamper.hex.bytes, "\x0a\x0b", 2);
    st = &p->steps[3];
    assert_int_equal(st->tamper.action, RIG_TAMPER_SET); /* a vector: bytes */
    assert_string_equal(st->tamper.field, "signature");
    assert_int_equal(st->tamper.hex.len, 0);
    st = &p->steps[4];
    assert_int_equal(st->tamper.action, RIG_TAMPER_SET_INT); /* an integer field: a number */
    assert_int_equal(st->tamper.num, 2);
    assert_int_equal(p->steps[5].tamper.action, RIG_TAMPER_SET_INT);
    assert_int_equal(p->steps[5].tamper.num, 0xffffffffu);
    assert_int_equal(p->steps[6].tamper.action, RIG_TAMPER_REMOVE);
    assert_string_equal(p->steps[6].tamper.field, "certificate_request_context");
    st = &p->steps[7];
    assert_int_equal(st->tamper.action, RIG_TAMPER_ADD_EXTENSION);
    assert_int_equal(st->tamper.ext, 16);
    assert_int_equal(st->tamper.hex.len, 5);
    st = &p->steps[8];
    assert_int_equal(st->tamper.ext, 0xfafa);
    assert_int_equal(st->tamper.hex.len, 0); /* no data given: an empty extension */
    assert_int_equal(p->steps[9].tamper.action, RIG_TAMPER_REMOVE_EXTENSION);
    assert_int_equal(p->steps[9].tamper.ext, 5);
    assert_int_equal(p->steps[10].tamper.action, RIG_TAMPER_SET_EXTENSION);
    assert_int_equal(p->steps[10].tamper.ext, 0);
    assert_int_equal(p->steps[11].tamper.action, RIG_TAMPER_SET_LENGTH);
    assert_int_equal(p->steps[11].tamper.num, 70000);
    assert_int_equal(p->steps[12].tamper.action, RIG_TAMPER_SET_TYPE);
    assert_int_equal(p->steps[12].tamper.type, 99);
    st = &p->steps[13];
    assert_int_equal(st->tamper.action, RIG_TAMPER_INSERT_BEFORE);
    assert_int_equal(st->tamper.type, 24);
    assert_int_equal(st->tamper.hex.len, 1);
    assert_int_equal(st->tamper.hex.bytes[0], 1);
    st = &p->steps[14];
    assert_int_equal(st->kind, RIG_STEP_INJECT);
    assert_int_equal(st->side, RIG_SERVER);
    assert_int_equal(st->inject.what, RIG_INJECT_ALERT);
    assert_int_equal(st->inject.level, 1);
    assert_int_equal(st->inject.desc, 90);
    st = &p->steps[15];
    assert_int_equal(st->inject.what, RIG_INJECT_DATA);
    assert_int_equal(st->inject.data.len, 4);
    assert_memory_equal(st->inject.data.bytes, "text", 4);
    st = &p->steps[16];
    assert_true(st->inject.data.pattern);
    assert_int_equal(st->inject.data.len, 20);
    assert_ptr_equal(st->inject.data.bytes, p->pattern);
    st = &p->steps[17];
    assert_int_equal(st->inject.what, RIG_INJECT_MESSAGE);
    assert_int_equal(st->inject.type, 0);
    assert_int_equal(st->inject.hex.len, 0);
    assert_int_equal(p->steps[18].kind, RIG_STEP_TAMPER_FIXUP);
    assert_int_equal(p->steps[18].fixup.on, RIG_FIXUP_ON);
    assert_int_equal(p->steps[19].fixup.on, RIG_FIXUP_OFF);
    assert_int_equal(p->steps[20].fixup.on, RIG_FIXUP_SIGN);
    done(&c);

    /* a program without such steps runs without a middle */
    p = compile_ok(&c, PEERS "handshake\n");
    assert_false(p->middle);
    done(&c);
}

static void tamper_errors_at_compile_time(void **state)
{
    (void)state;
    expect_invalid(PEERS "tamper server Finshed drop\n",
                   "t.scn:6: unknown handshake message 'Finshed'", "did you mean 'Finished'");
    expect_invalid(PEERS "tamper server Finished#0 drop\n", "t.scn:6: tamper: 'Finished#0'",
                   "from 1");
    expect_invalid(PEERS "tamper server Finished#1x drop\n", "t.scn:6: tamper: 'Finished#1x'",
                   NULL);
    expect_invalid(PEERS "tamper server Finished\n", "t.scn:6: tamper takes <side> <msg>", NULL);
    expect_invalid(PEERS "tamper nobody Finished drop\n",
                   "t.scn:6: 'nobody' is not a peer of the current connection", NULL);
    expect_invalid(PEERS "tamper server Finished dorp\n", "t.scn:6: unknown tamper action 'dorp'",
                   "did you mean 'drop'");
    expect_invalid(PEERS "tamper server Finished drop now\n", "t.scn:6: tamper ... drop takes",
                   NULL);
    expect_invalid(PEERS "tamper server Finished replace 0g\n",
                   "t.scn:6: tamper: '0g' is not hex bytes", NULL);
    expect_invalid(PEERS "tamper server Finished replace abc\n",
                   "t.scn:6: tamper: 'abc' is not hex bytes", NULL);
    expect_invalid(PEERS "tamper server Finished replace\n",
                   "t.scn:6: tamper ... replace takes the body as hex", NULL);
    expect_invalid(PEERS "tamper server Finished set verify_dat 00\n",
                   "t.scn:6: tamper: Finished has no field 'verify_dat'",
                   "did you mean 'verify_data'");
    expect_invalid(PEERS "tamper server KeyUpdate set request_update 256\n",
                   "t.scn:6: tamper: request_update is a 1-byte integer", "0 to 255");
    expect_invalid(PEERS "tamper server KeyUpdate set request_update\n",
                   "t.scn:6: tamper ... set takes <field>", NULL);
    expect_invalid(PEERS "tamper server HelloRequest set body 00\n",
                   "t.scn:6: tamper: HelloRequest has no fields", NULL);
    expect_invalid(PEERS "tamper server KeyUpdate remove request_updat\n",
                   "t.scn:6: tamper: KeyUpdate has no field", "did you mean 'request_update'");
    expect_invalid(PEERS "tamper server EncryptedExtensions add-extension key_shar\n",
                   "t.scn:6: unknown extension 'key_shar'", "did you mean 'key_share'");
    expect_invalid(PEERS "tamper server EncryptedExtensions set-extension alpn\n",
                   "t.scn:6: tamper ... set-extension takes <ext> <hex>", NULL);
    expect_invalid(PEERS "tamper server Finished set-length 16777216\n",
                   "t.scn:6: tamper ... set-length takes a length", NULL);
    expect_invalid(PEERS "tamper server Finished set-type Finishd\n",
                   "t.scn:6: unknown handshake message 'Finishd'", "did you mean 'Finished'");
    expect_invalid(PEERS "tamper server Finished insert-before KeyUpdate\n",
                   "t.scn:6: tamper ... insert-before takes <msg> <hex>", NULL);
    expect_invalid(PEERS "inject server alert fatal decode_eror\n",
                   "t.scn:6: inject ... alert: unknown alert 'decode_eror'",
                   "did you mean 'decode_error'");
    expect_invalid(PEERS "inject server alert severe decode_error\n",
                   "t.scn:6: inject ... alert: the level is warning or fatal", NULL);
    expect_invalid(PEERS "inject server data\n", "t.scn:6: inject ... data takes", NULL);
    expect_invalid(PEERS "inject server data 0 bytes\n", "t.scn:6: inject ... data: <n> bytes",
                   NULL);
    expect_invalid(PEERS "inject server message KeyUpdate 0\n",
                   "t.scn:6: inject: '0' is not hex bytes", NULL);
    expect_invalid(PEERS "inject server mesage KeyUpdate 00\n", "t.scn:6: inject: unknown unit",
                   "did you mean 'message'");
    expect_invalid(PEERS "tamper-fixup yes\n", "t.scn:6: tamper-fixup takes on, sign or off", NULL);
    expect_invalid(PEERS "tamper-fixpu on\n", "t.scn:6: unknown step 'tamper-fixpu'",
                   "did you mean 'tamper-fixup'");
}

/* A rule that never meets its message fails the scenario, at the end or when `connect` ends
 * the connection it was armed on; one that meets it and cannot be applied says why. */
static void tamper_rules_must_match(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;

    assert_int_equal(run_text(PEERS "tamper server Finished#2 drop\nhandshake\n", &opt, &res),
                     RIG_FAIL);
    assert_int_equal(res.fail_line, 6);
    if (strstr(res.message, "tamper at t.scn:6 never matched") == NULL ||
        strstr(res.message, "server sent 1 Finished message") == NULL)
        fail_msg("got \"%s\"", res.message);
    rig_result_cleanup(&res);

    assert_int_equal(run_text(PEERS
                              "tamper client KeyUpdate drop\nhandshake\nconnect client server\n"
                              "handshake\n",
                              &opt, &res),
                     RIG_FAIL);
    assert_int_equal(res.fail_line, 6);
    assert_non_null(strstr(res.message, "tamper at t.scn:6 never matched"));
    assert_int_equal(res.steps_run, 3); /* the connect step */
    rig_result_cleanup(&res);

    assert_int_equal(run_text(PEERS "tamper server EncryptedExtensions remove-extension alpn\n"
                                    "handshake fails\n",
                              &opt, &res),
                     RIG_FAIL);
    assert_int_equal(res.fail_line, 6);
    if (strstr(res.message, "t.scn:6: tamper: the EncryptedExtensions has no "
                            "application_layer_protocol_negotiation extension") == NULL)
        fail_msg("got \"%s\"", res.message);
    rig_result_cleanup(&res);

    /* matched and applied: the client refuses the message, as the scenario expects */
    assert_int_equal(run_text(PEERS "tamper server EncryptedExtensions add-extension key_share\n"
                                    "handshake fails\n"
                                    "expect alert client sent fatal illegal_parameter\n",
                              &opt, &res),
                     RIG_PASS);
    rig_result_cleanup(&res);
}

/* The capture of a tampered run holds both sides' key log lines: after a fixed-up edit their
 * secrets differ, and each receiver's, which the captured bytes are protected with, comes
 * last. rig_options.tamper still sees every record the middle delivers. */
static void tampered_capture_holds_both_key_logs(void **state)
{
    (void)state;
    tamper_state t = {{0, 0}, 0, 0};
    rig_options opt = {.pki_dir = pki_dir(), .capture = 1, .tamper = tamper, .tamper_arg = &t};
    rig_result res;
    const char *text = PEERS "handshake\nsave-session client s\nshutdown client returns 0\n"
                             "recv server error zero-return\nshutdown server returns 1\n"
                             "connect client server\nresume client s\ntamper-fixup on\n"
                             "tamper server EncryptedExtensions add-extension supported_groups "
                             "0002001d\n"
                             "handshake\nexpect reused client yes\n"
                             "send client \"ok\"\nrecv server \"ok\"\n";
    assert_int_equal(run_text(text, &opt, &res), RIG_PASS);
    assert_true(t.records[0] >= 4 && t.records[1] >= 4);
    assert_non_null(res.keylog);
    wire_keylog kl = {0};
    assert_true(wire_keylog_add_text(&kl, res.keylog, res.keylog_len, NULL, NULL, 0) > 0);
    /* the resumed connection's client random: the last line's */
    const wire_keylog_entry *last = &kl.entries[kl.n - 1];
    int labels[] = {WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_0, WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_0};
    for (size_t k = 0; k < 2; k++) {
        const wire_keylog_entry *first = NULL, *other = NULL;
        size_t n = 0;
        for (size_t i = 0; i < kl.n; i++) {
            const wire_keylog_entry *e = &kl.entries[i];
            if ((int)e->label != labels[k] || memcmp(e->client_random, last->client_random, 32))
                continue;
            n++;
            if (first == NULL)
                first = e;
            else
                other = e;
        }
        if (n != 2 || other == NULL || memcmp(first->secret, other->secret, first->secret_len) == 0)
            fail_msg("%s: expected the two sides' different secrets, got %zu lines",
                     wire_keylog_label_name(labels[k]), n);
    }
    wire_keylog_cleanup(&kl);
    rig_result_cleanup(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passing_and_failing),
        cmocka_unit_test(invalid_steps),
        cmocka_unit_test(capture_is_deterministic),
        cmocka_unit_test(tamper_sees_records_and_can_corrupt),
        cmocka_unit_test(budget_bounds_a_scenario),
        cmocka_unit_test(steps_are_typed),
        cmocka_unit_test(expectations_are_typed),
        cmocka_unit_test(settings_are_typed),
        cmocka_unit_test(range_errors_at_compile_time),
        cmocka_unit_test(the_current_connection_is_followed),
        cmocka_unit_test(sessions_get_slots),
        cmocka_unit_test(check_runs_nothing),
        cmocka_unit_test(compile_once_run_twice),
        cmocka_unit_test(tamper_steps_are_typed),
        cmocka_unit_test(tamper_errors_at_compile_time),
        cmocka_unit_test(tamper_rules_must_match),
        cmocka_unit_test(tampered_capture_holds_both_key_logs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tlsrig_deterministic_off();
    return rc;
}
