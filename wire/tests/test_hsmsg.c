/*
 * test_hsmsg.c - handshake message views: real messages from engine handshakes (TLS 1.3 with a
 * HelloRetryRequest, TLS 1.2 with ECDHE and client authentication, TLS 1.2 with RSA key
 * transport) and hand-made TLS 1.3 messages parse and write back to the same bytes; edits
 * land with every length recomputed or pinned as asked; malformed bodies fail with
 * decode_error and still load raw; names map both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "wire.h"

/* ---- fixtures ---- */

/* unhex decodes hex digits (spaces ignored) into |out|. */
static void unhex(wire_buf *out, const char *hex)
{
    int hi = -1;
    for (; *hex != '\0'; hex++) {
        if (*hex == ' ')
            continue;
        int d = *hex <= '9' ? *hex - '0' : (*hex | 0x20) - 'a' + 10;
        if (hi < 0) {
            hi = d;
            continue;
        }
        uint8_t b = (uint8_t)(hi << 4 | d);
        assert_int_equal(wire_buf_append(out, &b, 1), 0);
        hi = -1;
    }
    assert_int_equal(hi, -1);
}

static void read_file(wire_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(wire_buf_append(out, chunk, n), 0);
    fclose(f);
}

/* A handshake message as captured or made: type, body, and the form to read it in. */
typedef struct msg {
    uint8_t type;
    int tls13;
    int from;
    wire_buf body;
} msg;

typedef struct msgs {
    msg m[40];
    size_t n;
} msgs;

static msg *msgs_add(msgs *ms, uint8_t type, int tls13, int from, const uint8_t *body, size_t len)
{
    assert_true(ms->n < sizeof(ms->m) / sizeof(ms->m[0]));
    msg *m = &ms->m[ms->n++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->tls13 = tls13;
    m->from = from;
    assert_int_equal(wire_buf_append(&m->body, body, len), 0);
    return m;
}

static void msgs_cleanup(msgs *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        wire_buf_cleanup(&ms->m[i].body);
    ms->n = 0;
}

static int capture(void *arg, int from, const uint8_t *data, size_t len)
{
    wire_buf *streams = arg;
    return wire_buf_append(&streams[from], data, len);
}

/* extract reads the plaintext handshake messages of one direction's byte stream: records
 * framed, handshake payloads reassembled. In TLS 1.2 the records after a ChangeCipherSpec are
 * encrypted; in TLS 1.3 encrypted records carry the application_data type, and the
 * ChangeCipherSpec is only for middleboxes (RFC 8446 Appendix D.4). */
static void extract(const wire_buf *stream, int from, int tls13, msgs *out)
{
    wire_framer fr = {0};
    wire_hs_reader rd = {0};
    wire_record rec;
    assert_int_equal(wire_framer_push(&fr, stream->data, stream->len), 0);
    while (wire_framer_next(&fr, &rec) > 0) {
        if (rec.type == WIRE_CT_CHANGE_CIPHER_SPEC && !tls13)
            break;
        if (rec.type != WIRE_CT_HANDSHAKE)
            continue;
        assert_int_equal(wire_hs_push(&rd, rec.payload, rec.len), 0);
        wire_hs_msg hm;
        while (wire_hs_next(&rd, &hm, NULL) > 0)
            msgs_add(out, hm.type, tls13, from, hm.body, hm.len);
    }
    wire_hs_reader_cleanup(&rd);
    wire_framer_cleanup(&fr);
}

typedef struct config {
    int tls13;
    const char *server_key;  /* server-<key>.chain.pem and .key */
    const char *cipher_list; /* TLS 1.2 suites, or NULL */
    const char *client_groups, *server_groups;
    int client_auth;
} config;

/* handshake runs an engine client and server through the pump and collects the plaintext
 * handshake messages both sent, in the order each sent them (client's, then server's). */
static void handshake(const config *cfg, msgs *out)
{
    tlsrig_ctx *cctx = NULL, *sctx = NULL;
    tlsrig_conn *c = NULL, *s = NULL;
    char chain[64], key[64];
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", cfg->server_key);
    snprintf(key, sizeof(key), "server-%s.key", cfg->server_key);
    int version = cfg->tls13 ? TLSRIG_VERSION_TLS1_3 : TLSRIG_VERSION_TLS1_2;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &sctx, NULL), 0);
    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(sctx, chain), 0);
    assert_int_equal(tlsrig_ctx_use_privatekey_file(sctx, key, TLSRIG_FILETYPE_PEM), 0);
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &cctx, NULL), 0);
    assert_int_equal(tlsrig_ctx_load_verify_locations(cctx, "root-ca.crt", NULL), 0);
    assert_int_equal(tlsrig_ctx_set_verify(cctx, TLSRIG_VERIFY_PEER, NULL, NULL), 0);
    assert_int_equal(tlsrig_ctx_set_max_proto_version(cctx, version), 0);
    if (cfg->cipher_list != NULL)
        assert_int_equal(tlsrig_ctx_set_cipher_list(cctx, cfg->cipher_list), 0);
    if (cfg->client_groups != NULL)
        assert_int_equal(tlsrig_ctx_set_groups(cctx, cfg->client_groups), 0);
    if (cfg->server_groups != NULL)
        assert_int_equal(tlsrig_ctx_set_groups(sctx, cfg->server_groups), 0);
    if (cfg->client_auth) {
        assert_int_equal(tlsrig_ctx_load_verify_locations(sctx, "root-ca.crt", NULL), 0);
        assert_int_equal(tlsrig_ctx_set_verify(sctx, TLSRIG_VERIFY_PEER, NULL, NULL), 0);
        assert_int_equal(tlsrig_ctx_use_certificate_chain_file(cctx, "client-p256.chain.pem"), 0);
        assert_int_equal(
            tlsrig_ctx_use_privatekey_file(cctx, "client-p256.key", TLSRIG_FILETYPE_PEM), 0);
    }
    assert_int_equal(tlsrig_conn_new(cctx, -1, &c), 0);
    assert_int_equal(tlsrig_conn_new(sctx, -1, &s), 0);
    tlsrig_conn_set_connect_state(c);
    tlsrig_conn_set_accept_state(s);
    wire_engine ce, se;
    wire_engine_init(&ce, c, "client");
    wire_engine_init(&se, s, "server");
    wire_buf streams[2] = {{0}, {0}};
    wire_pump_opts opt = {.observe = capture, .observe_arg = streams};
    wire_pump pump;
    wire_pump_init(&pump, &ce.ep, &se.ep, &opt);
    assert_int_equal(wire_pump_handshake(&pump), WIRE_DRIVE_DONE);
    assert_int_equal(tlsrig_conn_get_protocol_version(c), version);
    extract(&streams[WIRE_CLIENT], WIRE_CLIENT, cfg->tls13, out);
    extract(&streams[WIRE_SERVER], WIRE_SERVER, cfg->tls13, out);
    wire_pump_cleanup(&pump);
    wire_endpoint_cleanup(&ce.ep);
    wire_endpoint_cleanup(&se.ep);
    wire_buf_cleanup(&streams[0]);
    wire_buf_cleanup(&streams[1]);
    tlsrig_conn_free(c);
    tlsrig_conn_free(s);
    tlsrig_ctx_free(cctx);
    tlsrig_ctx_free(sctx);
}

static const config tls13_hrr = {
    .tls13 = 1, .server_key = "p256", .client_groups = "X25519:P-256", .server_groups = "P-256"};
static const config tls12_ecdhe_auth = {
    .server_key = "p256", .cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256", .client_auth = 1};
static const config tls12_rsa = {.server_key = "rsa", .cipher_list = "AES128-GCM-SHA256"};

/* add_hex adds a message whose body is given in hex. */
static void add_hex(msgs *out, uint8_t type, int tls13, int from, const char *hex)
{
    wire_buf b = {0};
    unhex(&b, hex);
    msgs_add(out, type, tls13, from, b.data, b.len);
    wire_buf_cleanup(&b);
}

/* hand_made adds TLS 1.3 messages that travel encrypted, and a TLS 1.2 ticket, as bytes. */
static void hand_made(msgs *out)
{
    /* EncryptedExtensions: ALPN "h2", an empty server_name */
    add_hex(out, WIRE_HS_ENCRYPTED_EXTENSIONS, 1, WIRE_SERVER,
            "000d 0010 0005 0003 02 6832 0000 0000");
    /* Certificate 1.3: empty context; the real certificate with a status_request extension,
     * then a 3-byte one without extensions */
    wire_buf b = {0}, der = {0};
    read_file(&der, "server-rsa.crt.der");
    size_t entries = 3 + der.len + 2 + 4 + 4 + 3 + 3 + 2;
    const uint8_t h[7] = {0,
                          (uint8_t)(entries >> 16),
                          (uint8_t)(entries >> 8),
                          (uint8_t)entries,
                          (uint8_t)(der.len >> 16),
                          (uint8_t)(der.len >> 8),
                          (uint8_t)der.len};
    assert_int_equal(wire_buf_append(&b, h, sizeof(h)), 0);
    assert_int_equal(wire_buf_append(&b, der.data, der.len), 0);
    unhex(&b, "0008 0005 0004 01 aabbcc   000003 010203 0000");
    msgs_add(out, WIRE_HS_CERTIFICATE, 1, WIRE_SERVER, b.data, b.len);
    wire_buf_cleanup(&b);
    wire_buf_cleanup(&der);
    /* CertificateRequest 1.3: empty context, signature_algorithms */
    add_hex(out, WIRE_HS_CERTIFICATE_REQUEST, 1, WIRE_SERVER, "00 000a 000d 0006 0004 0403 0804");
    add_hex(out, WIRE_HS_CERTIFICATE_VERIFY, 1, WIRE_SERVER, "0804 0004 deadbeef");
    add_hex(out, WIRE_HS_FINISHED, 1, WIRE_SERVER,
            "1111111111111111111111111111111111111111111111111111111111111111");
    /* NewSessionTicket 1.3: 2 hours, age_add, 1-byte nonce, 4-byte ticket, early_data */
    add_hex(out, WIRE_HS_NEW_SESSION_TICKET, 1, WIRE_SERVER,
            "00001c20 01020304 01 00 0004 aabbccdd 0008 002a 0004 00004000");
    add_hex(out, WIRE_HS_NEW_SESSION_TICKET, 0, WIRE_SERVER, "00001c20 0003 aabbcc");
    add_hex(out, WIRE_HS_KEY_UPDATE, 1, WIRE_CLIENT, "01");
    add_hex(out, WIRE_HS_HELLO_REQUEST, 0, WIRE_SERVER, "");
    add_hex(out, WIRE_HS_END_OF_EARLY_DATA, 1, WIRE_CLIENT, "");
}

/* every_message: all three handshakes and the hand-made messages. */
static void every_message(msgs *out)
{
    handshake(&tls13_hrr, out);
    handshake(&tls12_ecdhe_auth, out);
    handshake(&tls12_rsa, out);
    hand_made(out);
}

static int is_structured(uint8_t type)
{
    switch (type) {
    case WIRE_HS_SERVER_KEY_EXCHANGE:
    case WIRE_HS_CLIENT_KEY_EXCHANGE:
    case WIRE_HS_SERVER_HELLO_DONE:
    case WIRE_HS_END_OF_EARLY_DATA:
        return 0;
    default:
        return 1;
    }
}

/* expect_round_trip parses |body| and checks that the view writes back the same body, and the
 * same message with its header. */
static void expect_round_trip(uint8_t type, const uint8_t *body, size_t len, int tls13)
{
    wire_hs_view v;
    wire_hs_view_init(&v);
    int alert = WIRE_ALERT_NONE;
    int rc = wire_hs_view_parse(&v, type, body, len, tls13, &alert);
    if (rc != 0)
        fail_msg("%s (tls13 %d, %zu bytes): parse returned %d, alert %d", wire_hs_type_name(type),
                 tls13, len, rc, alert);
    assert_int_equal(v.raw, !is_structured(type));
    wire_buf out = {0}, want = {0};
    assert_int_equal(wire_hs_view_write_body(&v, &out), 0);
    assert_int_equal(out.len, len);
    if (len > 0)
        assert_memory_equal(out.data, body, len);
    out.len = 0;
    assert_int_equal(wire_hs_view_write(&v, &out), 0);
    assert_int_equal(wire_hs_write(&want, type, body, len), 0);
    assert_int_equal(out.len, want.len);
    assert_memory_equal(out.data, want.data, want.len);
    wire_buf_cleanup(&out);
    wire_buf_cleanup(&want);
    wire_hs_view_cleanup(&v);
}

static size_t count_type(const msgs *ms, uint8_t type, int from)
{
    size_t n = 0;
    for (size_t i = 0; i < ms->n; i++)
        n += ms->m[i].type == type && ms->m[i].from == from;
    return n;
}

/* ---- round trips ---- */

static void tls13_hello_retry_round_trip(void **state)
{
    msgs ms = {0};
    handshake(&tls13_hrr, &ms);
    /* ClientHello, HelloRetryRequest, ClientHello again, ServerHello: all in clear */
    assert_int_equal(count_type(&ms, WIRE_HS_CLIENT_HELLO, WIRE_CLIENT), 2);
    assert_int_equal(count_type(&ms, WIRE_HS_SERVER_HELLO, WIRE_SERVER), 2);
    int hrrs = 0;
    for (size_t i = 0; i < ms.n; i++) {
        expect_round_trip(ms.m[i].type, ms.m[i].body.data, ms.m[i].body.len, 1);
        wire_hs_view v = {0};
        assert_int_equal(
            wire_hs_view_parse(&v, ms.m[i].type, ms.m[i].body.data, ms.m[i].body.len, 1, NULL), 0);
        hrrs += v.hrr;
        if (ms.m[i].type == WIRE_HS_SERVER_HELLO) {
            /* RFC 8446 §4.1.3: the HRR, like the ServerHello, names TLS 1.3 in
             * supported_versions and legacy_version 0x0303 */
            const uint8_t *sv;
            size_t n;
            uint64_t legacy = 0;
            assert_int_equal(wire_hs_ext_get0(&v.msg, WIRE_EXT_SUPPORTED_VERSIONS, &sv, &n), 0);
            assert_int_equal(n, 2);
            assert_int_equal(sv[0] << 8 | sv[1], 0x0304);
            assert_int_equal(wire_hs_field_get_int(&v.msg, "legacy_version", &legacy), 0);
            assert_int_equal(legacy, 0x0303);
        }
        wire_hs_view_cleanup(&v);
    }
    assert_int_equal(hrrs, 1);
    msgs_cleanup(&ms);
}

static void tls12_round_trip(void **state)
{
    msgs ms = {0};
    handshake(&tls12_ecdhe_auth, &ms);
    static const uint8_t server_flight[] = {
        WIRE_HS_SERVER_HELLO,        WIRE_HS_CERTIFICATE,       WIRE_HS_SERVER_KEY_EXCHANGE,
        WIRE_HS_CERTIFICATE_REQUEST, WIRE_HS_SERVER_HELLO_DONE, WIRE_HS_NEW_SESSION_TICKET};
    static const uint8_t client_flight[] = {WIRE_HS_CLIENT_HELLO, WIRE_HS_CERTIFICATE,
                                            WIRE_HS_CLIENT_KEY_EXCHANGE,
                                            WIRE_HS_CERTIFICATE_VERIFY};
    for (size_t i = 0; i < sizeof(server_flight); i++)
        assert_int_equal(count_type(&ms, server_flight[i], WIRE_SERVER), 1);
    for (size_t i = 0; i < sizeof(client_flight); i++)
        assert_int_equal(count_type(&ms, client_flight[i], WIRE_CLIENT), 1);
    handshake(&tls12_rsa, &ms);
    assert_int_equal(count_type(&ms, WIRE_HS_SERVER_KEY_EXCHANGE, WIRE_SERVER), 1);
    assert_int_equal(count_type(&ms, WIRE_HS_SERVER_HELLO_DONE, WIRE_SERVER), 2);
    for (size_t i = 0; i < ms.n; i++) {
        expect_round_trip(ms.m[i].type, ms.m[i].body.data, ms.m[i].body.len, 0);
        if (ms.m[i].type != WIRE_HS_CERTIFICATE)
            continue;
        /* the chain files hold the leaf and the intermediate */
        wire_hs_view v = {0};
        assert_int_equal(wire_hs_view_parse(&v, WIRE_HS_CERTIFICATE, ms.m[i].body.data,
                                            ms.m[i].body.len, 0, NULL),
                         0);
        assert_int_equal(wire_hs_view_entry_count(&v), 2);
        const uint8_t *der;
        size_t n;
        assert_int_equal(wire_hs_field_get0(wire_hs_view_get0_entry(&v, 0), "cert_data", &der, &n),
                         0);
        assert_int_equal(der[0], 0x30); /* a DER SEQUENCE */
        assert_int_equal(wire_hs_ext_count(wire_hs_view_get0_entry(&v, 0)), 0);
        wire_hs_view_cleanup(&v);
    }
    msgs_cleanup(&ms);
}

static void hand_made_round_trip(void **state)
{
    msgs ms = {0};
    hand_made(&ms);
    for (size_t i = 0; i < ms.n; i++)
        expect_round_trip(ms.m[i].type, ms.m[i].body.data, ms.m[i].body.len, ms.m[i].tls13);
    /* what each view holds */
    wire_hs_view v = {0};
    uint64_t x = 0;
    const uint8_t *p;
    size_t n;
    assert_int_equal(
        wire_hs_view_parse(&v, ms.m[1].type, ms.m[1].body.data, ms.m[1].body.len, 1, NULL), 0);
    assert_int_equal(wire_hs_view_entry_count(&v), 2);
    assert_int_equal(wire_hs_ext_count(wire_hs_view_get0_entry(&v, 0)), 1);
    assert_int_equal(
        wire_hs_ext_get0(wire_hs_view_get0_entry(&v, 0), WIRE_EXT_STATUS_REQUEST, &p, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(wire_hs_ext_count(wire_hs_view_get0_entry(&v, 1)), 0);
    assert_null(wire_hs_view_get0_entry(&v, 2));
    assert_int_equal(
        wire_hs_view_parse(&v, ms.m[5].type, ms.m[5].body.data, ms.m[5].body.len, 1, NULL), 0);
    assert_int_equal(wire_hs_field_get_int(&v.msg, "ticket_lifetime", &x), 0);
    assert_int_equal(x, 7200);
    assert_int_equal(wire_hs_field_get_int(&v.msg, "ticket_age_add", &x), 0);
    assert_int_equal(x, 0x01020304);
    assert_int_equal(wire_hs_field_get0(&v.msg, "ticket", &p, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(wire_hs_ext_find(&v.msg, WIRE_EXT_EARLY_DATA, 0), 0);
    /* the same bytes in TLS 1.2 form do not parse: the layouts differ */
    int alert = WIRE_ALERT_NONE;
    assert_int_equal(
        wire_hs_view_parse(&v, ms.m[5].type, ms.m[5].body.data, ms.m[5].body.len, 0, &alert),
        TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(alert, WIRE_ALERT_DECODE_ERROR);
    assert_int_equal(
        wire_hs_view_parse(&v, ms.m[6].type, ms.m[6].body.data, ms.m[6].body.len, 0, NULL), 0);
    assert_int_equal(wire_hs_field_get_int(&v.msg, "ticket_lifetime_hint", &x), 0);
    assert_int_equal(x, 7200);
    assert_int_equal(wire_hs_field_count(&v.msg), 2);
    assert_int_equal(
        wire_hs_view_parse(&v, ms.m[7].type, ms.m[7].body.data, ms.m[7].body.len, 1, NULL), 0);
    assert_int_equal(wire_hs_field_get_int(&v.msg, "request_update", &x), 0);
    assert_int_equal(x, 1);
    assert_int_equal(wire_hs_view_parse(&v, WIRE_HS_HELLO_REQUEST, NULL, 0, 0, NULL), 0);
    assert_int_equal(wire_hs_field_count(&v.msg), 0);
    assert_false(v.raw);
    wire_hs_view_cleanup(&v);
    msgs_cleanup(&ms);
}

/* ---- edits ---- */

/* rewrite writes |v| and parses the result into |out| again (which must succeed). */
static void rewrite(const wire_hs_view *v, wire_hs_view *out, wire_buf *body)
{
    body->len = 0;
    assert_int_equal(wire_hs_view_write_body(v, body), 0);
    int alert = WIRE_ALERT_NONE;
    int rc = wire_hs_view_parse(out, v->type, body->data, body->len, v->tls13, &alert);
    if (rc != 0)
        fail_msg("the edited %s does not parse: %d, alert %d", wire_hs_type_name(v->type), rc,
                 alert);
}

static void first_client_hello(const msgs *ms, wire_hs_view *v)
{
    for (size_t i = 0; i < ms->n; i++)
        if (ms->m[i].type == WIRE_HS_CLIENT_HELLO) {
            assert_int_equal(wire_hs_view_parse(v, WIRE_HS_CLIENT_HELLO, ms->m[i].body.data,
                                                ms->m[i].body.len, 1, NULL),
                             0);
            return;
        }
    fail_msg("no ClientHello captured");
}

static void edits_recompute_lengths(void **state)
{
    msgs ms = {0};
    handshake(&tls13_hrr, &ms);
    wire_hs_view v = {0}, w = {0};
    wire_buf body = {0};
    first_client_hello(&ms, &v);
    const uint8_t *p;
    size_t n;
    uint64_t x;

    /* cipher_suites: one suite */
    const uint8_t one_suite[] = {0x13, 0x01};
    assert_int_equal(wire_hs_field_set1(&v.msg, "cipher_suites", one_suite, 2), 0);
    /* an integer field, by value and by bytes of its width */
    assert_int_equal(wire_hs_field_set_int(&v.msg, "legacy_version", 0x0302), 0);
    assert_int_equal(wire_hs_field_set_int(&v.msg, "legacy_version", 0x10000),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_set1(&v.msg, "legacy_version", one_suite, 1),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    /* remove an extension, duplicate another, change a third's data */
    size_t exts = wire_hs_ext_count(&v.msg);
    assert_int_equal(wire_hs_ext_remove(&v.msg, WIRE_EXT_SUPPORTED_VERSIONS), 1);
    assert_int_equal(wire_hs_ext_remove(&v.msg, WIRE_EXT_SUPPORTED_VERSIONS), 0);
    assert_int_equal(wire_hs_ext_get0(&v.msg, WIRE_EXT_KEY_SHARE, &p, &n), 0);
    wire_buf share = {0};
    assert_int_equal(wire_buf_append(&share, p, n), 0);
    assert_int_equal(wire_hs_ext_insert(&v.msg, -1, WIRE_EXT_KEY_SHARE, share.data, share.len),
                     (long)exts - 1);
    const uint8_t groups[] = {0x00, 0x02, 0x00, 0x17};
    assert_true(wire_hs_ext_set1(&v.msg, WIRE_EXT_SUPPORTED_GROUPS, groups, sizeof(groups)) >= 0);
    /* a new extension at the front */
    const uint8_t alpn[] = {0x00, 0x03, 0x02, 'h', '2'};
    assert_int_equal(wire_hs_ext_insert(&v.msg, 0, WIRE_EXT_ALPN, alpn, sizeof(alpn)), 0);

    rewrite(&v, &w, &body);
    assert_int_equal(wire_hs_field_get0(&w.msg, "cipher_suites", &p, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(p, one_suite, 2);
    assert_int_equal(wire_hs_field_get_int(&w.msg, "legacy_version", &x), 0);
    assert_int_equal(x, 0x0302);
    assert_int_equal(wire_hs_ext_count(&w.msg), exts + 1);
    assert_int_equal(wire_hs_ext_find(&w.msg, WIRE_EXT_SUPPORTED_VERSIONS, 0),
                     TLSRIG_ERR_NOT_AVAILABLE);
    long first = wire_hs_ext_find(&w.msg, WIRE_EXT_KEY_SHARE, 0);
    assert_true(first > 0);
    assert_int_equal(wire_hs_ext_find(&w.msg, WIRE_EXT_KEY_SHARE, (size_t)first + 1), (long)exts);
    assert_int_equal(wire_hs_ext_get0(&w.msg, WIRE_EXT_SUPPORTED_GROUPS, &p, &n), 0);
    assert_int_equal(n, sizeof(groups));
    assert_memory_equal(p, groups, sizeof(groups));
    uint16_t type = 0;
    assert_int_equal(wire_hs_ext_get0_at(&w.msg, 0, &type, &p, &n), 0);
    assert_int_equal(type, WIRE_EXT_ALPN);
    /* the extension block's own length is what follows it */
    assert_int_equal(wire_hs_field_get0(&w.msg, "extensions", &p, &n), 0);
    assert_int_equal((body.data[body.len - n - 2] << 8) | body.data[body.len - n - 1], n);

    /* move: the ALPN extension to the end and back */
    size_t last = wire_hs_ext_count(&w.msg) - 1;
    assert_int_equal(wire_hs_ext_move(&w.msg, 0, last), 0);
    assert_int_equal(wire_hs_ext_find(&w.msg, WIRE_EXT_ALPN, 0), (long)last);
    assert_int_equal(wire_hs_ext_move(&w.msg, last, 0), 0);
    assert_int_equal(wire_hs_ext_find(&w.msg, WIRE_EXT_ALPN, 0), 0);
    assert_int_equal(wire_hs_ext_move(&w.msg, 0, last + 1), TLSRIG_ERR_INVALID_ARGUMENT);

    /* without its extensions field the hello is a TLS 1.2 hello without extensions */
    assert_int_equal(wire_hs_field_remove(&w.msg, "extensions"), 0);
    assert_int_equal(wire_hs_ext_count(&w.msg), 0);
    rewrite(&w, &v, &body);
    assert_int_equal(wire_hs_field_index(&v.msg, "extensions"), TLSRIG_ERR_NOT_AVAILABLE);
    /* adding an extension brings a list back, at the end */
    assert_int_equal(wire_hs_ext_set1(&v.msg, WIRE_EXT_ALPN, alpn, sizeof(alpn)), 0);
    assert_int_equal(wire_hs_field_index(&v.msg, "extensions"), 5);
    rewrite(&v, &w, &body);
    assert_int_equal(wire_hs_ext_count(&w.msg), 1);

    wire_buf_cleanup(&share);
    wire_buf_cleanup(&body);
    wire_hs_view_cleanup(&v);
    wire_hs_view_cleanup(&w);
    msgs_cleanup(&ms);
}

static void length_overrides_write_what_was_asked(void **state)
{
    msgs ms = {0};
    handshake(&tls13_hrr, &ms);
    wire_hs_view v = {0};
    wire_buf body = {0}, whole = {0};
    first_client_hello(&ms, &v);
    const uint8_t *sid;
    size_t sid_len;
    assert_int_equal(wire_hs_field_get0(&v.msg, "legacy_session_id", &sid, &sid_len), 0);
    /* legacy_session_id's 1-byte length sits after the version and the random */
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "legacy_session_id", 33), 0);
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "legacy_session_id", 256),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "random", 1),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "extensions", 0x1234), 0);
    assert_int_equal(wire_hs_ext_set_length_override(&v.msg, 0, 0xfffe), 0);
    assert_int_equal(wire_hs_view_set_length_override(&v, 7), 0);
    assert_int_equal(wire_hs_view_write_body(&v, &body), 0);
    assert_int_equal(body.data[34], 33);
    assert_int_equal(wire_hs_ext_count(&v.msg) > 0, 1);
    const uint8_t *exts;
    size_t exts_len;
    assert_int_equal(wire_hs_field_get0(&v.msg, "extensions", &exts, &exts_len), 0);
    size_t at = body.len - exts_len - 2;
    assert_int_equal(body.data[at], 0x12);
    assert_int_equal(body.data[at + 1], 0x34);
    assert_int_equal(body.data[at + 4], 0xff); /* the first extension's length */
    assert_int_equal(body.data[at + 5], 0xfe);
    assert_int_equal(wire_hs_view_write(&v, &whole), 0);
    assert_int_equal(whole.len, body.len + 4);
    assert_int_equal(whole.data[0], WIRE_HS_CLIENT_HELLO);
    assert_int_equal(whole.data[1] << 16 | whole.data[2] << 8 | whole.data[3], 7);
    /* what was pinned does not parse */
    wire_hs_view w = {0};
    int alert = WIRE_ALERT_NONE;
    assert_int_equal(wire_hs_view_parse(&w, WIRE_HS_CLIENT_HELLO, body.data, body.len, 1, &alert),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(alert, WIRE_ALERT_DECODE_ERROR);
    /* unpinned, every length is right again */
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "legacy_session_id", -1), 0);
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "extensions", -1), 0);
    assert_int_equal(wire_hs_ext_set_length_override(&v.msg, 0, -1), 0);
    assert_int_equal(wire_hs_view_set_length_override(&v, -1), 0);
    body.len = 0;
    assert_int_equal(wire_hs_view_write_body(&v, &body), 0);
    assert_int_equal(body.len, ms.m[0].body.len);
    assert_memory_equal(body.data, ms.m[0].body.data, body.len);

    /* removing a field drops exactly its bytes: here the random, bytes 2..33 */
    assert_int_equal(wire_hs_field_remove(&v.msg, "random"), 0);
    assert_int_equal(wire_hs_field_remove(&v.msg, "random"), TLSRIG_ERR_NOT_AVAILABLE);
    body.len = 0;
    assert_int_equal(wire_hs_view_write_body(&v, &body), 0);
    assert_int_equal(body.len, ms.m[0].body.len - 32);
    assert_memory_equal(body.data, ms.m[0].body.data, 2);
    assert_memory_equal(body.data + 2, ms.m[0].body.data + 34, body.len - 2);
    /* an inserted field lands where asked, with its encoding */
    const uint8_t rnd[32] = {1, 2, 3};
    assert_int_equal(wire_hs_field_insert(&v.msg, 1, "random", WIRE_ENC_OPAQUE, rnd, 32), 1);
    assert_int_equal(wire_hs_field_insert(&v.msg, 2, "extra", WIRE_ENC_VEC16, rnd, 3), 2);
    assert_int_equal(wire_hs_field_insert(&v.msg, -1, "tail", WIRE_ENC_U24, NULL, 0), 7);
    assert_int_equal(wire_hs_field_set_int(&v.msg, "tail", 0xabcdef), 0);
    body.len = 0;
    assert_int_equal(wire_hs_view_write_body(&v, &body), 0);
    assert_int_equal(body.len, ms.m[0].body.len + 2 + 3 + 3);
    assert_memory_equal(body.data + 2, rnd, 32);
    assert_int_equal(body.data[34], 0);
    assert_int_equal(body.data[35], 3);
    assert_int_equal(body.data[body.len - 1], 0xef);
    const wire_hs_field *fd = wire_hs_field_get0_at(&v.msg, 2);
    assert_string_equal(fd->name, "extra");
    assert_int_equal(fd->enc, WIRE_ENC_VEC16);

    /* a vector too long for its prefix cannot be written unless its length is pinned */
    static uint8_t big[300];
    assert_int_equal(wire_hs_field_set1(&v.msg, "legacy_session_id", big, sizeof(big)), 0);
    size_t before = body.len;
    assert_int_equal(wire_hs_view_write_body(&v, &body), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(body.len, before);
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "legacy_session_id", 32), 0);
    assert_int_equal(wire_hs_view_write_body(&v, &body), 0);

    wire_buf_cleanup(&body);
    wire_buf_cleanup(&whole);
    wire_hs_view_cleanup(&v);
    wire_hs_view_cleanup(&w);
    msgs_cleanup(&ms);
}

static void certificate_entries(void **state)
{
    msgs ms = {0};
    hand_made(&ms);
    wire_hs_view v = {0}, w = {0};
    wire_buf body = {0};
    assert_int_equal(ms.m[1].type, WIRE_HS_CERTIFICATE);
    assert_int_equal(
        wire_hs_view_parse(&v, WIRE_HS_CERTIFICATE, ms.m[1].body.data, ms.m[1].body.len, 1, NULL),
        0);
    const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    /* set, remove and add entries; extension operations on an entry */
    assert_int_equal(wire_hs_view_set1_entry(&v, 1, cert, sizeof(cert)), 0);
    assert_int_equal(wire_hs_view_insert_entry(&v, 0, cert, 3), 0);
    assert_int_equal(wire_hs_view_entry_count(&v), 3);
    wire_hs_fields *e = wire_hs_view_get0_entry(&v, 0);
    const uint8_t sct[] = {0xee};
    assert_int_equal(wire_hs_ext_insert(e, -1, WIRE_EXT_SIGNED_CERTIFICATE_TIMESTAMP, sct, 1), 0);
    assert_int_equal(wire_hs_ext_insert(e, -1, WIRE_EXT_SIGNED_CERTIFICATE_TIMESTAMP, sct, 1), 1);
    assert_int_equal(wire_hs_ext_remove(wire_hs_view_get0_entry(&v, 1), WIRE_EXT_STATUS_REQUEST),
                     1);
    assert_int_equal(wire_hs_view_remove_entry(&v, 2), 0);
    assert_int_equal(wire_hs_view_remove_entry(&v, 2), TLSRIG_ERR_INVALID_ARGUMENT);
    const uint8_t ctx[] = {9, 9};
    assert_int_equal(wire_hs_field_set1(&v.msg, "certificate_request_context", ctx, 2), 0);
    rewrite(&v, &w, &body);
    assert_int_equal(wire_hs_view_entry_count(&w), 2);
    const uint8_t *p;
    size_t n;
    assert_int_equal(wire_hs_field_get0(wire_hs_view_get0_entry(&w, 0), "cert_data", &p, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(wire_hs_ext_count(wire_hs_view_get0_entry(&w, 0)), 2);
    assert_int_equal(wire_hs_ext_count(wire_hs_view_get0_entry(&w, 1)), 0);
    assert_int_equal(wire_hs_field_get0(wire_hs_view_get0_entry(&w, 1), "cert_data", &p, &n), 0);
    assert_int_equal(n, ms.m[1].body.len - 1 - 3 - 3 - 2 - 8 - 3 - 3 - 2);
    /* the list as bytes, and set back as bytes */
    assert_int_equal(wire_hs_field_get0(&w.msg, "certificate_list", &p, &n), 0);
    wire_buf list = {0};
    assert_int_equal(wire_buf_append(&list, p, n), 0);
    assert_int_equal(wire_hs_field_set1(&v.msg, "certificate_list", list.data, list.len), 0);
    assert_int_equal(wire_hs_field_set1(&v.msg, "certificate_list", list.data, list.len - 1),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_view_entry_count(&v), 2); /* unchanged by the failed set */
    /* a TLS 1.2 list: entries have no extensions */
    wire_hs_view t = {0};
    assert_int_equal(wire_hs_view_parse(&t, WIRE_HS_CERTIFICATE, NULL, 0, 0, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    const uint8_t empty12[] = {0, 0, 0};
    assert_int_equal(wire_hs_view_parse(&t, WIRE_HS_CERTIFICATE, empty12, 3, 0, NULL), 0);
    assert_int_equal(wire_hs_view_insert_entry(&t, -1, cert, sizeof(cert)), 0);
    assert_int_equal(wire_hs_field_count(wire_hs_view_get0_entry(&t, 0)), 1);
    rewrite(&t, &w, &body);
    assert_int_equal(body.len, 3 + 3 + sizeof(cert));
    assert_int_equal(body.data[2], 3 + sizeof(cert));
    /* entries only where there is a certificate list */
    wire_hs_view_cleanup(&t);
    assert_int_equal(wire_hs_view_parse(&t, WIRE_HS_KEY_UPDATE, cert + 4, 1, 1, NULL), 0);
    assert_int_equal(wire_hs_view_insert_entry(&t, -1, cert, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_view_entry_count(&t), 0);
    assert_null(wire_hs_view_get0_entry(&t, 0));
    wire_hs_view_cleanup(&t);
    wire_buf_cleanup(&list);
    wire_buf_cleanup(&body);
    wire_hs_view_cleanup(&v);
    wire_hs_view_cleanup(&w);
    msgs_cleanup(&ms);
}

/* ---- malformed bodies ---- */

/* expect_parse_or_decode_error parses |len| bytes: either the view writes back the very bytes,
 * or the parse fails with decode_error and a raw load still writes them back. Returns 1 when
 * the parse succeeded. */
static int expect_parse_or_decode_error(uint8_t type, const uint8_t *body, size_t len, int tls13)
{
    wire_hs_view v = {0};
    wire_buf out = {0};
    int alert = WIRE_ALERT_NONE;
    int rc = wire_hs_view_parse(&v, type, body, len, tls13, &alert);
    if (rc != 0) {
        assert_int_equal(rc, TLSRIG_ERR_INVALID_ARGUMENT);
        assert_int_equal(alert, WIRE_ALERT_DECODE_ERROR);
        assert_int_equal(wire_hs_field_count(&v.msg), 0);
        alert = WIRE_ALERT_NONE;
        assert_int_equal(wire_hs_view_load(&v, type, body, len, tls13, &alert), 0);
        assert_int_equal(alert, WIRE_ALERT_DECODE_ERROR);
        assert_true(v.raw);
    }
    assert_int_equal(wire_hs_view_write_body(&v, &out), 0);
    assert_int_equal(out.len, len);
    if (len > 0)
        assert_memory_equal(out.data, body, len);
    wire_buf_cleanup(&out);
    wire_hs_view_cleanup(&v);
    return rc == 0;
}

static void truncated_and_trailing(void **state)
{
    msgs ms = {0};
    every_message(&ms);
    for (size_t i = 0; i < ms.n; i++) {
        const msg *m = &ms.m[i];
        if (!is_structured(m->type) || m->type == WIRE_HS_FINISHED)
            continue; /* a raw body or a Finished takes any bytes */
        /* A hello without extensions is a TLS 1.2 hello: one cut point parses. */
        int hello = m->type == WIRE_HS_CLIENT_HELLO || m->type == WIRE_HS_SERVER_HELLO;
        int parsed = 0;
        for (size_t len = 0; len < m->body.len; len++) {
            /* a copy of exactly |len| bytes, so ASan sees any read past the end */
            uint8_t *cut = malloc(len > 0 ? len : 1);
            assert_non_null(cut);
            memcpy(cut, m->body.data, len);
            parsed += expect_parse_or_decode_error(m->type, cut, len, m->tls13);
            free(cut);
        }
        if (parsed > hello)
            fail_msg("%s (%zu bytes): %d truncations parsed", wire_hs_type_name(m->type),
                     m->body.len, parsed);
        wire_buf extra = {0};
        assert_int_equal(wire_buf_append(&extra, m->body.data, m->body.len), 0);
        assert_int_equal(wire_buf_append(&extra, "\0", 1), 0);
        assert_int_equal(expect_parse_or_decode_error(m->type, extra.data, extra.len, m->tls13), 0);
        wire_buf_cleanup(&extra);
    }
    msgs_cleanup(&ms);
}

static void bad_extension_lengths(void **state)
{
    wire_buf b = {0};
    /* EncryptedExtensions whose block length runs one past the end, one short, and whose
     * extension's length runs past the block */
    static const char *bad[] = {
        "000e 0010 0005 0003 02 6832 0000 0000",
        "000c 0010 0005 0003 02 6832 0000 0000",
        "000d 0010 0006 0003 02 6832 0000 0000",
        "000d 0010 0005 0003 02 6832 0000 0001",
        "0003 000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b.len = 0;
        unhex(&b, bad[i]);
        assert_int_equal(
            expect_parse_or_decode_error(WIRE_HS_ENCRYPTED_EXTENSIONS, b.data, b.len, 1), 0);
    }
    /* vector bounds: a 33-byte session id, an odd cipher_suites length, no compression */
    static const char *hellos[] = {
        "0303 0000000000000000000000000000000000000000000000000000000000000000 21 "
        "000000000000000000000000000000000000000000000000000000000000000000 0002 1301 0100",
        "0303 0000000000000000000000000000000000000000000000000000000000000000 00 0003 130113 "
        "0100",
        "0303 0000000000000000000000000000000000000000000000000000000000000000 00 0002 1301 00",
    };
    for (size_t i = 0; i < sizeof(hellos) / sizeof(hellos[0]); i++) {
        b.len = 0;
        unhex(&b, hellos[i]);
        assert_int_equal(expect_parse_or_decode_error(WIRE_HS_CLIENT_HELLO, b.data, b.len, 1), 0);
    }
    /* an empty HelloRequest only */
    assert_int_equal(expect_parse_or_decode_error(WIRE_HS_HELLO_REQUEST, b.data, 1, 0), 0);
    wire_buf_cleanup(&b);
}

/* Bytes changed at random (a fixed sequence): a parse either fails with decode_error or gives
 * a view that writes back the same bytes. */
static void mutated_bodies(void **state)
{
    msgs ms = {0};
    every_message(&ms);
    uint32_t seed = 12345;
    for (size_t i = 0; i < ms.n; i++) {
        const msg *m = &ms.m[i];
        if (m->body.len == 0)
            continue;
        uint8_t *copy = malloc(m->body.len);
        assert_non_null(copy);
        for (int round = 0; round < 300; round++) {
            memcpy(copy, m->body.data, m->body.len);
            for (int k = 0; k < 1 + round % 3; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % m->body.len;
                /* lengths sit early in most bodies: aim half of the changes there */
                if (round % 2 == 0 && m->body.len > 48)
                    at %= 48;
                copy[at] = (uint8_t)(seed >> 24);
            }
            expect_parse_or_decode_error(m->type, copy, m->body.len, m->tls13);
        }
        free(copy);
    }
    msgs_cleanup(&ms);
}

/* ---- names ---- */

static void names_both_ways(void **state)
{
    assert_string_equal(wire_hs_type_name(WIRE_HS_CLIENT_HELLO), "ClientHello");
    assert_string_equal(wire_hs_type_name(8), "EncryptedExtensions");
    assert_string_equal(wire_hs_type_name(24), "KeyUpdate");
    assert_null(wire_hs_type_name(99));
    assert_null(wire_hs_type_name(-1));
    assert_int_equal(wire_hs_type_from_name("EncryptedExtensions"), 8);
    assert_int_equal(wire_hs_type_from_name("encrypted_extensions"), 8);
    assert_int_equal(wire_hs_type_from_name("encrypted-extensions"), 8);
    assert_int_equal(wire_hs_type_from_name("CLIENTHELLO"), 1);
    assert_int_equal(wire_hs_type_from_name("0x18"), 24);
    assert_int_equal(wire_hs_type_from_name("2"), 2);
    assert_int_equal(wire_hs_type_from_name("256"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_type_from_name("ClientHell"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_type_from_name("2x"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_type_from_name(""), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_type_from_name(NULL), TLSRIG_ERR_INVALID_ARGUMENT);

    assert_string_equal(wire_ext_type_name(16), "application_layer_protocol_negotiation");
    assert_string_equal(wire_ext_type_name(WIRE_EXT_RENEGOTIATION_INFO), "renegotiation_info");
    assert_null(wire_ext_type_name(0xfafa));
    assert_int_equal(wire_ext_type_from_name("alpn"), WIRE_EXT_ALPN);
    assert_int_equal(wire_ext_type_from_name("ALPN"), WIRE_EXT_ALPN);
    assert_int_equal(wire_ext_type_from_name("sni"), WIRE_EXT_SERVER_NAME);
    assert_int_equal(wire_ext_type_from_name("key-share"), WIRE_EXT_KEY_SHARE);
    assert_int_equal(wire_ext_type_from_name("extended_master_secret"), 23);
    assert_int_equal(wire_ext_type_from_name("65281"), 65281);
    assert_int_equal(wire_ext_type_from_name("0xfafa"), 0xfafa);
    assert_int_equal(wire_ext_type_from_name("65536"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_ext_type_from_name("no_such"), TLSRIG_ERR_INVALID_ARGUMENT);
    /* every name reads back as its value */
    int hs = 0, ext = 0;
    for (int t = 0; t < 65536; t++) {
        const char *name = wire_ext_type_name(t);
        if (name != NULL) {
            assert_int_equal(wire_ext_type_from_name(name), t);
            ext++;
        }
        name = t < 256 ? wire_hs_type_name(t) : NULL;
        if (name != NULL) {
            assert_int_equal(wire_hs_type_from_name(name), t);
            hs++;
        }
    }
    assert_int_equal(hs, 18);
    assert_int_equal(ext, 28);
}

/* What an edit step does with a message in flight: "tamper server EncryptedExtensions
 * remove-extension alpn", from the message with its header to the message with its header. */
static void names_drive_an_edit(void **state)
{
    msgs ms = {0};
    hand_made(&ms);
    wire_buf in = {0}, out = {0};
    assert_int_equal(ms.m[0].type, WIRE_HS_ENCRYPTED_EXTENSIONS);
    assert_int_equal(wire_hs_write(&in, ms.m[0].type, ms.m[0].body.data, ms.m[0].body.len), 0);
    wire_hs_reader rd = {0};
    wire_hs_msg hm;
    assert_int_equal(wire_hs_push(&rd, in.data, in.len), 0);
    assert_int_equal(wire_hs_next(&rd, &hm, NULL), (long)in.len);
    int type = wire_hs_type_from_name("EncryptedExtensions");
    int ext = wire_ext_type_from_name("alpn");
    assert_int_equal(hm.type, type);
    wire_hs_view v = {0};
    assert_int_equal(wire_hs_view_load(&v, hm.type, hm.body, hm.len, 1, NULL), 1);
    assert_int_equal(wire_hs_ext_remove(&v.msg, (uint16_t)ext), 1);
    assert_int_equal(wire_hs_view_write(&v, &out), 0);
    /* the message and its block are 9 bytes shorter: the extension's 4-byte header and data */
    assert_int_equal(out.len, in.len - 9);
    assert_int_equal(wire_hs_push(&rd, out.data, out.len), 0);
    assert_int_equal(wire_hs_next(&rd, &hm, NULL), (long)out.len);
    assert_int_equal(hm.len, 6);
    assert_memory_equal(hm.body, "\x00\x04\x00\x00\x00\x00", 6);
    wire_hs_reader_cleanup(&rd);
    wire_hs_view_cleanup(&v);
    wire_buf_cleanup(&in);
    wire_buf_cleanup(&out);
    msgs_cleanup(&ms);
}

/* ---- misuse ---- */

static void misuse_is_reported(void **state)
{
    wire_hs_view v;
    wire_hs_view_init(&v);
    wire_hs_view_cleanup(&v);
    wire_hs_view_cleanup(&v);
    wire_hs_view_cleanup(NULL);
    const uint8_t *p;
    size_t n;
    uint64_t x;
    wire_buf out = {0};
    assert_int_equal(wire_hs_view_parse(NULL, 1, NULL, 0, 0, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_view_parse(&v, 1, NULL, 5, 0, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_view_write_body(NULL, &out), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_view_write(NULL, &out), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_view_set_length_override(&v, 0x1000000), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_count(NULL), 0);
    assert_int_equal(wire_hs_field_index(NULL, "x"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_get0(&v.msg, NULL, &p, &n), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_get0(&v.msg, "random", &p, &n), TLSRIG_ERR_NOT_AVAILABLE);
    assert_null(wire_hs_field_get0_at(&v.msg, 0));
    assert_int_equal(wire_hs_field_insert(&v.msg, 0, "", WIRE_ENC_U8, NULL, 0),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_insert(&v.msg, 0, "x", (wire_enc)99, NULL, 0),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_insert(&v.msg, 0, "x", WIRE_ENC_U16, (const uint8_t *)"a", 1),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_count(&v.msg), 0);
    /* a raw view: one opaque field, no extensions */
    const uint8_t bytes[] = {1, 2, 3};
    assert_int_equal(wire_hs_view_parse_raw(&v, WIRE_HS_CLIENT_HELLO, bytes, 3, 1), 0);
    assert_true(v.raw);
    assert_int_equal(wire_hs_field_get0(&v.msg, "body", &p, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(wire_hs_field_get_int(&v.msg, "body", &x), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_set_int(&v.msg, "body", 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_set_length_override(&v.msg, "body", 1),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_count(&v.msg), 0);
    assert_int_equal(wire_hs_ext_find(&v.msg, 0, 0), TLSRIG_ERR_NOT_AVAILABLE);
    assert_int_equal(wire_hs_ext_find(NULL, 0, 0), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_get0(&v.msg, 0, &p, &n), TLSRIG_ERR_NOT_AVAILABLE);
    assert_int_equal(wire_hs_ext_get0_at(&v.msg, 0, NULL, &p, &n), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_set1_at(&v.msg, 0, 0, bytes, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_remove_at(&v.msg, 0), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_remove(NULL, 0), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_move(&v.msg, 0, 0), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_set_length_override(&v.msg, 0, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_insert(&v.msg, -1, 0, NULL, 0x10000), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_ext_count(&v.msg), 0);
    /* raw then written: the bytes and the type */
    v.type = WIRE_HS_SERVER_HELLO_DONE;
    assert_int_equal(wire_hs_view_write(&v, &out), 0);
    assert_int_equal(out.len, 7);
    assert_int_equal(out.data[0], WIRE_HS_SERVER_HELLO_DONE);
    /* a failed parse leaves the view empty */
    assert_int_equal(wire_hs_view_parse(&v, WIRE_HS_KEY_UPDATE, bytes, 3, 1, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_field_count(&v.msg), 0);
    assert_int_equal(wire_hs_view_load(&v, WIRE_HS_KEY_UPDATE, bytes, 1, 1, NULL), 1);
    assert_false(v.raw);
    wire_buf_cleanup(&out);
    wire_hs_view_cleanup(&v);
}

int main(void)
{
    /* The certificates and keys are named relative to the PKI folder. */
    const char *pki = getenv("TLSRIG_PKI");
    if (chdir(pki != NULL && pki[0] != '\0' ? pki : "pki") != 0) {
        perror("TLSRIG_PKI");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tls13_hello_retry_round_trip),
        cmocka_unit_test(tls12_round_trip),
        cmocka_unit_test(hand_made_round_trip),
        cmocka_unit_test(edits_recompute_lengths),
        cmocka_unit_test(length_overrides_write_what_was_asked),
        cmocka_unit_test(certificate_entries),
        cmocka_unit_test(truncated_and_trailing),
        cmocka_unit_test(bad_extension_lengths),
        cmocka_unit_test(mutated_bodies),
        cmocka_unit_test(names_both_ways),
        cmocka_unit_test(names_drive_an_edit),
        cmocka_unit_test(misuse_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
