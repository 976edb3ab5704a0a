/*
 * test_mitm.c - the man in the middle between two engine connections: pass-through that
 * changes no byte, edits the victim refuses, the Finished fix-up, injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

/* A pair with the middle between them (or not), each side's key log fed to it. */
typedef struct mpair {
    tlsrig_ctx *cctx, *sctx;
    tlsrig_conn *c, *s;
    wire_engine ce, se;
    wire_pump pump;
    wire_mitm *m;
    wire_buf wire[2]; /* what each side received, in order */
} mpair;

static void keylog_client(tlsrig_conn *conn, const char *line, void *arg)
{
    mpair *p = arg;
    if (p->m != NULL && wire_mitm_keylog(p->m, WIRE_CLIENT, line, strlen(line)) != 0)
        fail_msg("the middle refused the client's key log line \"%s\"", line);
}

static void keylog_server(tlsrig_conn *conn, const char *line, void *arg)
{
    mpair *p = arg;
    if (p->m != NULL && wire_mitm_keylog(p->m, WIRE_SERVER, line, strlen(line)) != 0)
        fail_msg("the middle refused the server's key log line \"%s\"", line);
}

static int keep(void *arg, int from, const uint8_t *data, size_t len)
{
    mpair *p = arg;
    return wire_buf_append(&p->wire[from], data, len);
}

/* |max| caps the version (0: none); |suites| sets the TLS <= 1.2 cipher list (or NULL). */
static void mpair_open(mpair *p, int with_mitm, int max, const char *suites)
{
    memset(p, 0, sizeof(*p));
    p->sctx = wt_server_ctx();
    p->cctx = wt_client_ctx(1, max, suites);
    tlsrig_ctx_set_keylog_callback(p->cctx, keylog_client, p);
    tlsrig_ctx_set_keylog_callback(p->sctx, keylog_server, p);
    if (with_mitm)
        assert_int_equal(wire_mitm_new(&p->m), 0);
    assert_int_equal(tlsrig_conn_new(p->cctx, -1, &p->c), 0);
    assert_int_equal(tlsrig_conn_new(p->sctx, -1, &p->s), 0);
    tlsrig_conn_set_connect_state(p->c);
    tlsrig_conn_set_accept_state(p->s);
    wire_engine_init(&p->ce, p->c, "client");
    wire_engine_init(&p->se, p->s, "server");
    wire_pump_opts opt = {.observe = keep, .observe_arg = p};
    if (with_mitm) {
        opt.filter = wire_mitm_filter;
        opt.filter_arg = p->m;
    }
    wire_pump_init(&p->pump, &p->ce.ep, &p->se.ep, &opt);
}

/* New connections on the same contexts (and a new middle) offering |sess| (NULL: none). */
static void mpair_reconnect(mpair *p, tlsrig_session *sess)
{
    wire_pump_cleanup(&p->pump);
    wire_engine_cleanup(&p->ce);
    wire_engine_cleanup(&p->se);
    tlsrig_conn_free(p->c);
    tlsrig_conn_free(p->s);
    wire_mitm_free(p->m);
    p->m = NULL;
    assert_int_equal(wire_mitm_new(&p->m), 0);
    assert_int_equal(tlsrig_conn_new(p->cctx, -1, &p->c), 0);
    assert_int_equal(tlsrig_conn_new(p->sctx, -1, &p->s), 0);
    tlsrig_conn_set_connect_state(p->c);
    tlsrig_conn_set_accept_state(p->s);
    if (sess != NULL)
        assert_int_equal(tlsrig_conn_set_session(p->c, sess), 0);
    wire_engine_init(&p->ce, p->c, "client");
    wire_engine_init(&p->se, p->s, "server");
    wire_pump_opts opt = {
        .observe = keep, .observe_arg = p, .filter = wire_mitm_filter, .filter_arg = p->m};
    wire_pump_init(&p->pump, &p->ce.ep, &p->se.ep, &opt);
}

/* A first, untouched handshake through the middle gives a TLS 1.3 ticket; then new
 * connections (and a new middle) offer it. */
static void resume_through_a_new_middle(mpair *p)
{
    int r = wire_pump_handshake(&p->pump);
    if (r != WIRE_DRIVE_DONE)
        fail_msg("first handshake: %d: %s / %s", r, p->ce.last_msg, p->se.last_msg);
    char b;
    assert_int_equal(tlsrig_conn_recv(p->c, &b, 1, 0), TLSRIG_ERR_WANT_READ);
    tlsrig_session *sess = NULL;
    assert_int_equal(tlsrig_conn_get_session(p->c, &sess), 0);
    assert_int_equal(tlsrig_conn_shutdown(p->c), 0);
    tlsrig_conn_set_shutdown(p->s, TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    mpair_reconnect(p, sess);
    tlsrig_session_free(sess);
}

static void mpair_close(mpair *p)
{
    wire_pump_cleanup(&p->pump);
    wire_engine_cleanup(&p->ce);
    wire_engine_cleanup(&p->se);
    tlsrig_conn_free(p->c);
    tlsrig_conn_free(p->s);
    tlsrig_ctx_free(p->cctx);
    tlsrig_ctx_free(p->sctx);
    wire_mitm_free(p->m);
    wire_buf_cleanup(&p->wire[0]);
    wire_buf_cleanup(&p->wire[1]);
}

static void handshake_ok(mpair *p)
{
    int r = wire_pump_handshake(&p->pump);
    if (r != WIRE_DRIVE_DONE)
        fail_msg("handshake: %d: client: %s / server: %s", r, p->ce.last_msg, p->se.last_msg);
}

/* |from| sends |msg|, the other side reads it back. */
static void exchange(mpair *p, tlsrig_conn *from, tlsrig_conn *to, const char *msg)
{
    char buf[256];
    size_t len = strlen(msg);
    assert_int_equal(tlsrig_conn_sendall(from, msg, len, 0), (int)len);
    assert_true(wire_pump_flush(&p->pump) >= 0);
    int n = tlsrig_conn_recv(to, buf, sizeof(buf), 0);
    if (n != (int)len || memcmp(buf, msg, len) != 0)
        fail_msg("expected \"%s\", got %d: %s", msg, n,
                 n < 0 ? tlsrig_conn_last_error(to)->message : "other bytes");
}

/* A whole connection: handshake, data both ways, a KeyUpdate (TLS 1.3), data, close. */
static void a_conversation(mpair *p)
{
    handshake_ok(p);
    exchange(p, p->c, p->s, "hello server");
    exchange(p, p->s, p->c, "hello client");
    if (tlsrig_conn_get_protocol_version(p->c) == TLSRIG_VERSION_TLS1_3) {
        assert_int_equal(tlsrig_conn_key_update(p->c, 1), 0);
        assert_int_equal(tlsrig_conn_do_handshake(p->c), 0);
        assert_true(wire_pump_flush(&p->pump) > 0);
        exchange(p, p->s, p->c, "after the update");
        exchange(p, p->c, p->s, "both updated");
    }
    assert_int_equal(tlsrig_conn_shutdown(p->c), 0);
    assert_true(wire_pump_flush(&p->pump) > 0);
    char b;
    assert_int_equal(tlsrig_conn_recv(p->s, &b, 1, 0), TLSRIG_ERR_ZERO_RETURN);
}

/* Through a middle that edits nothing, a deterministic conversation puts the very same bytes
 * on the wire as without it: every record was opened and re-protected under the same keys. */
static void pass_through_changes_no_byte(void **state)
{
    static const struct {
        int max;
        const char *suites;
    } cases[] = {
        {0, NULL},
        {TLSRIG_VERSION_TLS1_2, "ECDHE-ECDSA-AES128-GCM-SHA256"},
        {TLSRIG_VERSION_TLS1_2, "ECDHE-ECDSA-CHACHA20-POLY1305"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mpair direct, middle;
        assert_int_equal(tlsrig_deterministic(11), 0);
        mpair_open(&direct, 0, cases[i].max, cases[i].suites);
        a_conversation(&direct);
        assert_int_equal(tlsrig_deterministic(11), 0);
        mpair_open(&middle, 1, cases[i].max, cases[i].suites);
        a_conversation(&middle);
        for (int side = 0; side < 2; side++) {
            assert_int_equal(middle.wire[side].len, direct.wire[side].len);
            assert_memory_equal(middle.wire[side].data, direct.wire[side].data,
                                direct.wire[side].len);
        }
        const wire_mitm_stats *st = wire_mitm_get0_stats(middle.m);
        for (int side = 0; side < 2; side++) {
            assert_true(st->decrypted[side] >= 2);
            assert_int_equal(st->undecryptable[side], 0);
            assert_int_equal(st->reprotected[side], st->decrypted[side]);
            assert_int_equal(st->edited[side], 0);
        }
        mpair_close(&direct);
        mpair_close(&middle);
    }
    tlsrig_deterministic_off();
}

/* CBC suites: explicit IVs differ from OpenSSL's random ones, but the receiver takes every
 * re-protected record (MAC-then-encrypt and encrypt-then-MAC). */
static void pass_through_cbc(void **state)
{
    static const char *suites[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"};
    for (size_t i = 0; i < 2; i++) {
        for (int etm = 0; etm < 2; etm++) {
            mpair p;
            mpair_open(&p, 1, TLSRIG_VERSION_TLS1_2, suites[i]);
            if (!etm)
                tlsrig_ctx_set_options(p.cctx, TLSRIG_OP_NO_ENCRYPT_THEN_MAC);
            a_conversation(&p);
            const wire_mitm_stats *st = wire_mitm_get0_stats(p.m);
            assert_int_equal(st->undecryptable[0] + st->undecryptable[1], 0);
            assert_true(st->reprotected[0] >= 2 && st->reprotected[1] >= 2);
            mpair_close(&p);
        }
    }
}

/* ---- edits ---- */

typedef struct editor {
    int from;
    uint8_t hs_type; /* the handshake message to edit */
    int action;      /* what to do with it */
    int done;
    int server_hellos; /* ServerHello messages seen (two after a HelloRetryRequest) */
} editor;

enum {
    DROP_IT,
    FLIP_LAST_BYTE,
    ADD_UNKNOWN_EXTENSION,
    INJECT_DATA,
    SMALL_PADDED_RECORDS,
    AS_APPLICATION_DATA,
    RECORD_VERSION_1_0,
    GIVE_SESSION_ID
};

static int edit(void *arg, wire_mitm *m, wire_mitm_msg *msg)
{
    editor *e = arg;
    if (msg->type == WIRE_CT_HANDSHAKE && msg->data->data[0] == 2)
        e->server_hellos++;
    if (msg->from != e->from || e->done)
        return WIRE_MITM_FORWARD;
    if (e->action == INJECT_DATA) {
        if (msg->type != WIRE_CT_APPLICATION_DATA)
            return WIRE_MITM_FORWARD;
        e->done = 1;
        return wire_mitm_send(m, msg->from, WIRE_CT_APPLICATION_DATA, "injected ", 9) < 0
                   ? -1
                   : WIRE_MITM_FORWARD;
    }
    if (msg->type != WIRE_CT_HANDSHAKE || msg->data->data[0] != e->hs_type)
        return WIRE_MITM_FORWARD;
    e->done = 1;
    wire_buf *d = msg->data;
    switch (e->action) {
    case DROP_IT:
        return WIRE_MITM_DROP;
    case GIVE_SESSION_ID: {
        /* ServerHello: version(2) random(32) session_id<0..32>: an empty one becomes 32 bytes
         * (the client only learns an id it may offer later) */
        assert_true(d->len > 4 + 34 && d->data[4 + 34] == 0);
        wire_buf b = {0};
        static const uint8_t id[33] = {32, 1, 2, 3};
        assert_int_equal(wire_buf_append(&b, d->data, 4 + 34), 0);
        assert_int_equal(wire_buf_append(&b, id, sizeof(id)), 0);
        assert_int_equal(wire_buf_append(&b, d->data + 4 + 35, d->len - 4 - 35), 0);
        size_t body = b.len - 4;
        b.data[1] = (uint8_t)(body >> 16), b.data[2] = (uint8_t)(body >> 8),
        b.data[3] = (uint8_t)body;
        d->len = 0;
        assert_int_equal(wire_buf_append(d, b.data, b.len), 0);
        wire_buf_cleanup(&b);
        return WIRE_MITM_FORWARD;
    }
    case SMALL_PADDED_RECORDS: /* RFC 8446 §5.1, §5.4: fragments and padding are allowed */
        msg->out_fragment = 100;
        msg->out_padding = 50;
        return WIRE_MITM_FORWARD;
    case AS_APPLICATION_DATA:
        msg->out_type = WIRE_CT_APPLICATION_DATA;
        return WIRE_MITM_FORWARD;
    case RECORD_VERSION_1_0:
        msg->out_version = 0x0301;
        return WIRE_MITM_FORWARD;
    case FLIP_LAST_BYTE:
        d->data[d->len - 1] ^= 0x01;
        return WIRE_MITM_FORWARD;
    case ADD_UNKNOWN_EXTENSION: {
        /* EncryptedExtensions: extensions<2>; one more, type 0xfafa, empty (RFC 8446 §4.2:
         * a client ignores extensions it does not know) */
        static const uint8_t ext[4] = {0xfa, 0xfa, 0x00, 0x00};
        assert_int_equal(wire_buf_append(d, ext, sizeof(ext)), 0);
        size_t body = d->len - 4, exts = body - 2;
        d->data[1] = (uint8_t)(body >> 16), d->data[2] = (uint8_t)(body >> 8),
        d->data[3] = (uint8_t)body;
        d->data[4] = (uint8_t)(exts >> 8), d->data[5] = (uint8_t)exts;
        return WIRE_MITM_FORWARD;
    }
    default:
        return WIRE_MITM_FORWARD;
    }
}

/* RFC 8446 §4.3.1: the client needs EncryptedExtensions before the Certificate. */
static void dropped_encrypted_extensions_refused(void **state)
{
    mpair p;
    mpair_open(&p, 1, 0, NULL);
    editor e = {.from = WIRE_SERVER, .hs_type = 8, .action = DROP_IT};
    wire_mitm_set_edit(p.m, edit, &e);
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
    assert_true(e.done);
    assert_non_null(strstr(p.ce.last_msg, "unexpected message"));
    mpair_close(&p);
}

/* RFC 8446 §4.4.4 / RFC 5246 §7.4.9: a wrong verify_data is refused (decrypt_error). */
static void wrong_finished_refused(void **state)
{
    static const int versions[] = {0, TLSRIG_VERSION_TLS1_2};
    for (size_t i = 0; i < 2; i++) {
        mpair p;
        mpair_open(&p, 1, versions[i], NULL);
        editor e = {.from = WIRE_SERVER, .hs_type = 20, .action = FLIP_LAST_BYTE};
        wire_mitm_set_edit(p.m, edit, &e);
        assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
        assert_true(e.done);
        if (strstr(p.ce.last_msg, "digest check failed") == NULL)
            fail_msg("expected the client to refuse the Finished, got \"%s\"", p.ce.last_msg);
        mpair_close(&p);
    }
}

/* An edit that the protocol allows still changes the transcript: without the fix-up the
 * Finished no longer matches; with it the handshake completes, each side on its own key
 * schedule, and the conversation goes on (data, KeyUpdate, close). In TLS 1.3 the edit is in a
 * resumed handshake: a full one's CertificateVerify signs the transcript too, which the middle
 * cannot sign again. */
static void fixup_completes_an_edited_handshake(void **state)
{
    static const struct {
        int max;
        int action;
        uint8_t hs_type;
    } cases[] = {
        {0, ADD_UNKNOWN_EXTENSION, 8},              /* TLS 1.3 EncryptedExtensions */
        {TLSRIG_VERSION_TLS1_2, FLIP_LAST_BYTE, 4}, /* TLS 1.2 NewSessionTicket's ticket */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int fix = 0; fix < 2; fix++) {
            mpair p;
            mpair_open(&p, 1, cases[i].max, NULL);
            if (cases[i].max == 0)
                resume_through_a_new_middle(&p);
            editor e = {
                .from = WIRE_SERVER, .hs_type = cases[i].hs_type, .action = cases[i].action};
            wire_mitm_set_edit(p.m, edit, &e);
            wire_mitm_set_fixup(p.m, fix);
            if (!fix) {
                assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
                if (strstr(p.ce.last_msg, "digest check failed") == NULL &&
                    strstr(p.se.last_msg, "digest check failed") == NULL)
                    fail_msg("case %zu: expected a Finished mismatch, got \"%s\" / \"%s\"", i,
                             p.ce.last_msg, p.se.last_msg);
            } else {
                a_conversation(&p);
                if (cases[i].max == 0)
                    assert_int_equal(tlsrig_conn_session_reused(p.c), 1);
                const wire_mitm_stats *st = wire_mitm_get0_stats(p.m);
                assert_int_equal(st->undecryptable[0] + st->undecryptable[1], 0);
            }
            assert_true(e.done);
            mpair_close(&p);
        }
    }
}

/* TLS 1.2 renegotiation (a server's HelloRequest, a whole new handshake under the old keys,
 * new keys at each ChangeCipherSpec), both sides through the middle. */
static void renegotiation_followed(void **state)
{
    mpair p;
    mpair_open(&p, 1, TLSRIG_VERSION_TLS1_2, "ECDHE-ECDSA-AES128-GCM-SHA256");
    handshake_ok(&p);
    exchange(&p, p.c, p.s, "before");
    assert_int_equal(tlsrig_conn_renegotiate(p.s), 1);
    assert_true(tlsrig_conn_do_handshake(p.s) <= 0);
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_total_renegotiations(p.s), 1);
    exchange(&p, p.c, p.s, "after");
    exchange(&p, p.s, p.c, "and back");
    const wire_mitm_stats *st = wire_mitm_get0_stats(p.m);
    assert_int_equal(st->undecryptable[0] + st->undecryptable[1], 0);
    assert_true(st->decrypted[0] >= 4 && st->decrypted[1] >= 4);
    mpair_close(&p);
}

/* 0-RTT: a resumed TLS 1.3 connection whose client sends early data; the middle finds the
 * early keys' suite, follows EndOfEarlyData, and the server reads the data. */
static void early_data_followed(void **state)
{
    mpair p;
    mpair_open(&p, 1, 0, NULL);
    assert_int_equal(tlsrig_ctx_set_max_early_data(p.sctx, 1024), 0);
    tlsrig_conn_free(p.s);
    assert_int_equal(tlsrig_conn_new(p.sctx, -1, &p.s), 0);
    tlsrig_conn_set_accept_state(p.s);
    wire_engine_init(&p.se, p.s, "server");
    resume_through_a_new_middle(&p);
    p.se.read_early = 1;
    assert_int_equal(tlsrig_conn_write_early_data(p.c, "early bird", 10), 10);
    handshake_ok(&p);
    assert_int_equal(p.se.early.len, 10);
    assert_memory_equal(p.se.early.data, "early bird", 10);
    exchange(&p, p.c, p.s, "after the handshake");
    const wire_mitm_stats *st = wire_mitm_get0_stats(p.m);
    assert_int_equal(st->undecryptable[0] + st->undecryptable[1], 0);
    mpair_close(&p);
}

/* A full TLS 1.3 handshake: the CertificateVerify signs the transcript too, so an edited
 * EncryptedExtensions fails it, unless the middle holds the server's key and signs again. */
static void fixup_signs_certificate_verify_again(void **state)
{
    for (int with_key = 0; with_key < 2; with_key++) {
        mpair p;
        mpair_open(&p, 1, 0, NULL);
        editor e = {.from = WIRE_SERVER, .hs_type = 8, .action = ADD_UNKNOWN_EXTENSION};
        wire_mitm_set_edit(p.m, edit, &e);
        wire_mitm_set_fixup(p.m, 1);
        if (with_key) {
            EVP_PKEY *key = NULL;
            assert_int_equal(tlsrig_pkey_load_file(wt_pki("server-p256.key"), TLSRIG_FILETYPE_PEM,
                                                   NULL, &key, NULL),
                             0);
            assert_int_equal(wire_mitm_set1_signer(p.m, WIRE_SERVER, key), 0);
            EVP_PKEY_free(key);
            a_conversation(&p);
        } else {
            assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
            assert_non_null(strstr(p.ce.last_msg, "bad signature"));
        }
        assert_true(e.done);
        mpair_close(&p);
    }
}

/* A HelloRetryRequest (the client's key share is for a group the server does not take): the
 * transcript starts with the first ClientHello's hash, which the fix-up follows. */
static void fixup_after_hello_retry(void **state)
{
    mpair p;
    mpair_open(&p, 1, 0, NULL);
    assert_int_equal(tlsrig_ctx_set_groups(p.cctx, "X25519:P-256"), 0);
    assert_int_equal(tlsrig_ctx_set_groups(p.sctx, "P-256"), 0);
    mpair_reconnect(&p, NULL); /* connections take the groups when they are made */
    editor e = {.from = WIRE_SERVER, .hs_type = 8, .action = ADD_UNKNOWN_EXTENSION};
    wire_mitm_set_edit(p.m, edit, &e);
    wire_mitm_set_fixup(p.m, 1);
    EVP_PKEY *key = NULL;
    assert_int_equal(
        tlsrig_pkey_load_file(wt_pki("server-p256.key"), TLSRIG_FILETYPE_PEM, NULL, &key, NULL), 0);
    assert_int_equal(wire_mitm_set1_signer(p.m, WIRE_SERVER, key), 0);
    EVP_PKEY_free(key);
    a_conversation(&p);
    assert_true(e.done);
    assert_int_equal(e.server_hellos, 2);
    mpair_close(&p);
}

/* How a unit goes out: small padded records (accepted), another content type (refused),
 * another record version (refused). */
static void record_shape_edits(void **state)
{
    static const struct {
        int max, action;
        uint8_t hs_type;
        const char *refusal; /* NULL: the handshake completes */
    } cases[] = {
        {0, SMALL_PADDED_RECORDS, 11, NULL},
        {0, AS_APPLICATION_DATA, 8, "unexpected record"},
        {TLSRIG_VERSION_TLS1_2, RECORD_VERSION_1_0, 20, "wrong version number"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mpair p;
        mpair_open(&p, 1, cases[i].max, NULL);
        editor e = {.from = WIRE_SERVER, .hs_type = cases[i].hs_type, .action = cases[i].action};
        wire_mitm_set_edit(p.m, edit, &e);
        if (cases[i].refusal == NULL) {
            a_conversation(&p);
            assert_true(wire_mitm_get0_stats(p.m)->reprotected[WIRE_SERVER] >= 10);
        } else {
            assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
            if (strstr(p.ce.last_msg, cases[i].refusal) == NULL)
                fail_msg("case %zu: expected \"%s\", got \"%s\"", i, cases[i].refusal,
                         p.ce.last_msg);
        }
        assert_true(e.done);
        mpair_close(&p);
    }
}

/* TLS 1.2 with extended master secret: an edit before the ClientKeyExchange gives each side
 * its own master secret, and OpenSSL logs it only as it writes its own Finished, after reading
 * the peer's. Told of the connections, the middle reads the receiver's from it; not told, the
 * client's Finished waits for the server's secret, which the server logs only after it. */
static void tls12_master_from_the_connection(void **state)
{
    for (int told = 0; told < 2; told++) {
        mpair p;
        mpair_open(&p, 1, TLSRIG_VERSION_TLS1_2, NULL);
        editor e = {.from = WIRE_SERVER, .hs_type = 2, .action = GIVE_SESSION_ID};
        wire_mitm_set_edit(p.m, edit, &e);
        wire_mitm_set_fixup(p.m, 1);
        if (told) {
            wire_mitm_set0_conn(p.m, WIRE_CLIENT, p.c);
            wire_mitm_set0_conn(p.m, WIRE_SERVER, p.s);
            a_conversation(&p);
        } else {
            assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED); /* stuck */
            assert_int_equal(p.se.last_err, 0);
        }
        assert_true(e.done);
        mpair_close(&p);
    }
}

/* A KeyUpdate the middle drops, and one it makes up: the receiver's keys follow what it got,
 * the sender's what it sent, and data still flows both ways. */
static void key_updates_dropped_and_invented(void **state)
{
    mpair p;
    mpair_open(&p, 1, 0, NULL);
    editor e = {.from = WIRE_CLIENT, .hs_type = 24, .action = DROP_IT};
    wire_mitm_set_edit(p.m, edit, &e);
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_key_update(p.c, 0), 0); /* not requested: no answer */
    assert_int_equal(tlsrig_conn_do_handshake(p.c), 0);
    assert_true(wire_pump_flush(&p.pump) >= 0);
    assert_true(e.done);
    exchange(&p, p.c, p.s, "the server never saw the update");
    exchange(&p, p.s, p.c, "and answers");
    /* update_not_requested (RFC 8446 §4.6.3), made up by the middle, to the server */
    static const uint8_t ku[5] = {24, 0, 0, 1, 0};
    assert_int_equal(wire_mitm_send(p.m, WIRE_CLIENT, WIRE_CT_HANDSHAKE, ku, sizeof(ku)), 0);
    exchange(&p, p.c, p.s, "the client never sent it");
    exchange(&p, p.s, p.c, "still fine");
    const wire_mitm_stats *st = wire_mitm_get0_stats(p.m);
    assert_int_equal(st->undecryptable[0] + st->undecryptable[1], 0);
    mpair_close(&p);
}

static void injected_data_arrives(void **state)
{
    mpair p;
    mpair_open(&p, 1, 0, NULL);
    editor e = {.from = WIRE_SERVER, .hs_type = 0, .action = INJECT_DATA};
    wire_mitm_set_edit(p.m, edit, &e);
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_sendall(p.s, "real", 4, 0), 4);
    assert_true(wire_pump_flush(&p.pump) > 0);
    char buf[64];
    size_t have = 0;
    while (have < 13) { /* one record at a time: the injected one, then the real one */
        int n = tlsrig_conn_recv(p.c, buf + have, sizeof(buf) - have, 0);
        if (n <= 0)
            fail_msg("recv after %zu bytes: %s", have, tlsrig_err_name(n));
        have += (size_t)n;
    }
    assert_memory_equal(buf, "injected real", 13);
    /* empty units (an empty record of data, an empty handshake message) go out too */
    assert_int_equal(wire_mitm_send(p.m, WIRE_SERVER, WIRE_CT_APPLICATION_DATA, NULL, 0), 0);
    assert_int_equal(wire_mitm_send(p.m, WIRE_CLIENT, WIRE_CT_HANDSHAKE, NULL, 0), 0);
    assert_true(wire_pump_flush(&p.pump) > 0);
    mpair_close(&p);
}

/* Secrets nobody logged: the records go on unopened, and the conversation still works. */
static void without_secrets_records_pass(void **state)
{
    mpair p;
    mpair_open(&p, 1, 0, NULL);
    tlsrig_ctx_set_keylog_callback(p.cctx, NULL, NULL);
    tlsrig_ctx_set_keylog_callback(p.sctx, NULL, NULL);
    a_conversation(&p);
    const wire_mitm_stats *st = wire_mitm_get0_stats(p.m);
    assert_int_equal(st->decrypted[0] + st->decrypted[1], 0);
    assert_true(st->undecryptable[0] > 0 && st->undecryptable[1] > 0);
    mpair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pass_through_changes_no_byte),
        cmocka_unit_test(pass_through_cbc),
        cmocka_unit_test(dropped_encrypted_extensions_refused),
        cmocka_unit_test(wrong_finished_refused),
        cmocka_unit_test(fixup_completes_an_edited_handshake),
        cmocka_unit_test(fixup_signs_certificate_verify_again),
        cmocka_unit_test(fixup_after_hello_retry),
        cmocka_unit_test(renegotiation_followed),
        cmocka_unit_test(early_data_followed),
        cmocka_unit_test(record_shape_edits),
        cmocka_unit_test(tls12_master_from_the_connection),
        cmocka_unit_test(key_updates_dropped_and_invented),
        cmocka_unit_test(injected_data_arrives),
        cmocka_unit_test(without_secrets_records_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
