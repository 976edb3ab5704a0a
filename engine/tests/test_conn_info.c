/*
 * test_conn_info.c - what a connection reports about its handshake (conn_info.c): randoms,
 * Finished messages, master key, exported keying material, cipher and version, the cipher
 * list, peer certificates and chains, the state string and want_read/want_write.
 *
 * Values that both ends derive (randoms, Finished, secrets, exported keys) are compared
 * across the two ends of one handshake, so a getter returning the wrong side's value, a
 * truncated value or stale bytes fails. Each getter is also checked before the handshake,
 * where it must report NOT_AVAILABLE (or NULL) rather than zeros.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "harness.h"

static const int VERSIONS[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
#define N_VERSIONS 2

static const char *vname(int version)
{
    return version == TLSRIG_VERSION_TLS1_3 ? "TLS 1.3" : "TLS 1.2";
}

#define hs_ok(p) hs_ok_at((p), __LINE__)
static void hs_ok_at(h_pair *p, int line)
{
    int rc = h_handshake(p);
    if (rc != 0)
        fail_msg("line %d: handshake failed with %s; client %s: \"%s\"; server %s: \"%s\"", line,
                 tlsrig_err_name(rc), tlsrig_err_name(p->client_rc),
                 tlsrig_conn_last_error(p->client)->message, tlsrig_err_name(p->server_rc),
                 tlsrig_conn_last_error(p->server)->message);
}

#define expect_rc(conn, got, want) expect_rc_at((conn), (got), (want), #got, __LINE__)
static void expect_rc_at(const tlsrig_conn *conn, int got, int want, const char *what, int line)
{
    if (got != want)
        fail_msg("line %d: %s: expected %s (%d), got %s (%d): \"%s\"", line, what,
                 tlsrig_err_name(want), want, tlsrig_err_name(got), got,
                 tlsrig_conn_last_error(conn)->message);
}

#define expect_msg_has(conn, needle) expect_msg_has_at((conn), (needle), __LINE__)
static void expect_msg_has_at(const tlsrig_conn *conn, const char *needle, int line)
{
    const char *msg = tlsrig_conn_last_error(conn)->message;
    if (strstr(msg, needle) == NULL)
        fail_msg("line %d: error message \"%s\" does not mention \"%s\"", line, msg, needle);
}

static void pin_version(tlsrig_ctx *ctx, int version)
{
    h_ctx_ok(ctx, tlsrig_ctx_set_min_proto_version(ctx, version));
    h_ctx_ok(ctx, tlsrig_ctx_set_max_proto_version(ctx, version));
}

/* A server context and a client context pinned to |version|. */
static void ctxs_new(tlsrig_ctx **c, tlsrig_ctx **s, int version)
{
    *s = h_server_ctx("p256");
    *c = h_client_ctx();
    pin_version(*c, version);
}

/* A pair pinned to |version|, not yet handshaken. */
static void pair_new(h_pair *p, tlsrig_ctx **c, tlsrig_ctx **s, int version)
{
    ctxs_new(c, s, version);
    memset(p, 0, sizeof(*p));
    h_pair_new(p, *c, *s);
}

static void pair_free(h_pair *p, tlsrig_ctx *c, tlsrig_ctx *s)
{
    h_pair_free(p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

typedef int (*value_fn)(const tlsrig_conn *conn, uint8_t *buf, size_t cap);

/* Reads a value that must be there, failing with the connection's message otherwise. */
#define get_value(fn, conn, buf) get_value_at((fn), #fn, (conn), (buf), sizeof(buf), __LINE__)
static int get_value_at(value_fn fn, const char *name, const tlsrig_conn *conn, uint8_t *buf,
                        size_t cap, int line)
{
    memset(buf, 0xA5, cap);
    int n = fn(conn, buf, cap);
    if (n <= 0)
        fail_msg("line %d: %s on the %s: %s: \"%s\"", line, name,
                 tlsrig_conn_is_server(conn) ? "server" : "client", tlsrig_err_name(n),
                 tlsrig_conn_last_error(conn)->message);
    return n;
}

#define expect_not_available(fn, conn) expect_na_at((fn), #fn, (conn), __LINE__)
static void expect_na_at(value_fn fn, const char *name, const tlsrig_conn *conn, int line)
{
    uint8_t buf[128];
    int n = fn(conn, buf, sizeof(buf));
    if (n != TLSRIG_ERR_NOT_AVAILABLE)
        fail_msg("line %d: %s on the %s: expected NOT_AVAILABLE, got %s (%d)", line, name,
                 tlsrig_conn_is_server(conn) ? "server" : "client", tlsrig_err_name(n), n);
    expect_rc_at(conn, tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_NOT_AVAILABLE,
                 "last_error code", line);
}

/* ==========================================================================================
 * client_random / server_random
 * ========================================================================================== */

static void randoms_match_across_ends(void **state)
{
    (void)state;
    for (int v = 0; v < N_VERSIONS; v++) {
        tlsrig_ctx *c, *s;
        h_pair p;
        pair_new(&p, &c, &s, VERSIONS[v]);
        tlsrig_conn *ends[] = {p.client, p.server};
        for (int i = 0; i < 2; i++) {
            expect_not_available(tlsrig_conn_client_random, ends[i]);
            expect_not_available(tlsrig_conn_server_random, ends[i]);
        }
        /* Once the ClientHello is written the client knows its random, not the server's. */
        expect_rc(p.client, tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
        uint8_t early[32];
        assert_int_equal(get_value(tlsrig_conn_client_random, p.client, early), 32);
        expect_not_available(tlsrig_conn_server_random, p.client);

        hs_ok(&p);
        uint8_t ccr[32], scr[32], csr[32], ssr[32];
        assert_int_equal(get_value(tlsrig_conn_client_random, p.client, ccr), 32);
        assert_int_equal(get_value(tlsrig_conn_client_random, p.server, scr), 32);
        assert_int_equal(get_value(tlsrig_conn_server_random, p.client, csr), 32);
        assert_int_equal(get_value(tlsrig_conn_server_random, p.server, ssr), 32);
        assert_memory_equal(ccr, scr, 32);
        assert_memory_equal(csr, ssr, 32);
        assert_memory_equal(ccr, early, 32);
        /* RFC 8446 §4.1.2 / §4.1.3: two independent 32-byte randoms. */
        assert_memory_not_equal(ccr, csr, 32);
        pair_free(&p, c, s);
    }
}

static void randoms_buffer_checks(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    h_pair p;
    pair_new(&p, &c, &s, TLSRIG_VERSION_TLS1_3);
    hs_ok(&p);
    uint8_t buf[64];
    memset(buf, 0x5A, sizeof(buf));
    expect_rc(p.client, tlsrig_conn_client_random(p.client, buf, 31), TLSRIG_ERR_INVALID_ARGUMENT);
    expect_msg_has(p.client, "32");
    /* Nothing was written into the too-small buffer. */
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5A);
    expect_rc(p.server, tlsrig_conn_server_random(p.server, buf, 0), TLSRIG_ERR_INVALID_ARGUMENT);
    expect_rc(p.server, tlsrig_conn_server_random(p.server, NULL, 32), TLSRIG_ERR_INVALID_ARGUMENT);
    /* A larger buffer gets exactly 32 bytes; the rest is untouched. */
    assert_int_equal(tlsrig_conn_server_random(p.server, buf, sizeof(buf)), 32);
    for (size_t i = 32; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5A);
    /* A success clears the previous error record. */
    assert_int_equal(tlsrig_conn_last_error(p.server)->code, TLSRIG_ERR_OK);
    pair_free(&p, c, s);
}

/* ==========================================================================================
 * Finished (RFC 5246 §7.4.9, RFC 8446 §4.4.4)
 * ========================================================================================== */

static void finished_cross_match(void **state)
{
    (void)state;
    static const struct {
        int version;
        const char *suite; /* TLS 1.3 suite, fixing the hash length */
        int len;
    } cases[] = {
        {TLSRIG_VERSION_TLS1_2, NULL, 12}, /* verify_data_length is 12 for all TLS 1.2 suites */
        {TLSRIG_VERSION_TLS1_3, "TLS_AES_128_GCM_SHA256", 32},
        {TLSRIG_VERSION_TLS1_3, "TLS_AES_256_GCM_SHA384", 48},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tlsrig_ctx *c, *s;
        ctxs_new(&c, &s, cases[i].version);
        if (cases[i].suite != NULL)
            h_ctx_ok(c, tlsrig_ctx_set_ciphersuites(c, cases[i].suite));
        h_pair p = {0};
        h_pair_new(&p, c, s);
        tlsrig_conn *ends[] = {p.client, p.server};
        for (int e = 0; e < 2; e++) {
            expect_not_available(tlsrig_conn_get_finished, ends[e]);
            expect_not_available(tlsrig_conn_get_peer_finished, ends[e]);
        }
        hs_ok(&p);
        uint8_t cf[64], cpf[64], sf[64], spf[64];
        int n_cf = get_value(tlsrig_conn_get_finished, p.client, cf);
        int n_cpf = get_value(tlsrig_conn_get_peer_finished, p.client, cpf);
        int n_sf = get_value(tlsrig_conn_get_finished, p.server, sf);
        int n_spf = get_value(tlsrig_conn_get_peer_finished, p.server, spf);
        if (n_cf != cases[i].len || n_cpf != cases[i].len || n_sf != cases[i].len ||
            n_spf != cases[i].len)
            fail_msg("%s %s: Finished lengths %d/%d/%d/%d, expected %d", vname(cases[i].version),
                     cases[i].suite ? cases[i].suite : "", n_cf, n_cpf, n_sf, n_spf, cases[i].len);
        /* What one end sent is what the other received, in both directions. */
        assert_memory_equal(cf, spf, (size_t)n_cf);
        assert_memory_equal(sf, cpf, (size_t)n_sf);
        /* The two Finished differ (different labels / transcripts). */
        assert_memory_not_equal(cf, sf, (size_t)n_cf);
        /* One byte short is refused. */
        expect_rc(p.client, tlsrig_conn_get_finished(p.client, cf, (size_t)cases[i].len - 1),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        expect_rc(p.server, tlsrig_conn_get_peer_finished(p.server, spf, (size_t)cases[i].len - 1),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        pair_free(&p, c, s);
    }
}

/* ==========================================================================================
 * master_key
 * ========================================================================================== */

static void master_key_matches(void **state)
{
    (void)state;
    for (int v = 0; v < N_VERSIONS; v++) {
        tlsrig_ctx *c, *s;
        h_pair p;
        pair_new(&p, &c, &s, VERSIONS[v]);
        expect_not_available(tlsrig_conn_master_key, p.client);
        expect_not_available(tlsrig_conn_master_key, p.server);
        hs_ok(&p);
        if (VERSIONS[v] == TLSRIG_VERSION_TLS1_3) {
            /* TLS 1.3 sessions carry the PSK a NewSessionTicket defines (RFC 8446 §4.6.1),
             * and the tickets arrive after the handshake: until the client reads them its
             * session has no secret yet. */
            expect_not_available(tlsrig_conn_master_key, p.client);
            h_send_recv(&p, p.server, p.client, "x", 1);
        }
        uint8_t cm[64], sm[64];
        int n_c = get_value(tlsrig_conn_master_key, p.client, cm);
        int n_s = get_value(tlsrig_conn_master_key, p.server, sm);
        assert_int_equal(n_c, n_s);
        if (VERSIONS[v] == TLSRIG_VERSION_TLS1_2)
            assert_int_equal(n_c, 48); /* RFC 5246 §8.1 */
        assert_memory_equal(cm, sm, (size_t)n_c);
        expect_rc(p.client, tlsrig_conn_master_key(p.client, cm, (size_t)n_c - 1),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        pair_free(&p, c, s);
    }
}

/* ==========================================================================================
 * export_keying_material (RFC 5705, RFC 8446 §7.5)
 * ========================================================================================== */

static void ekm(tlsrig_conn *conn, uint8_t out[32], const char *label, const uint8_t *context,
                size_t context_len)
{
    memset(out, 0, 32);
    int rc = tlsrig_conn_export_keying_material(conn, out, 32, label, context, context_len);
    if (rc != 0)
        fail_msg("export_keying_material(%s) on the %s: %s: \"%s\"", label,
                 tlsrig_conn_is_server(conn) ? "server" : "client", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(conn)->message);
}

static void export_keying_material_matches(void **state)
{
    (void)state;
    static const uint8_t ctxbytes[] = "context";
    static const uint8_t empty[1] = {0};
    for (int v = 0; v < N_VERSIONS; v++) {
        tlsrig_ctx *c, *s;
        h_pair p;
        pair_new(&p, &c, &s, VERSIONS[v]);
        uint8_t a[32], b[32];
        expect_rc(p.client,
                  tlsrig_conn_export_keying_material(p.client, a, 32, "EXPORTER-test", NULL, 0),
                  TLSRIG_ERR_SSL);
        expect_rc(p.server,
                  tlsrig_conn_export_keying_material(p.server, a, 32, "EXPORTER-test", NULL, 0),
                  TLSRIG_ERR_SSL);
        hs_ok(&p);

        uint8_t c_none[32], s_none[32], c_ctx[32], s_ctx[32], c_empty[32], s_empty[32];
        ekm(p.client, c_none, "EXPORTER-test", NULL, 0);
        ekm(p.server, s_none, "EXPORTER-test", NULL, 0);
        ekm(p.client, c_ctx, "EXPORTER-test", ctxbytes, sizeof(ctxbytes) - 1);
        ekm(p.server, s_ctx, "EXPORTER-test", ctxbytes, sizeof(ctxbytes) - 1);
        ekm(p.client, c_empty, "EXPORTER-test", empty, 0);
        ekm(p.server, s_empty, "EXPORTER-test", empty, 0);
        assert_memory_equal(c_none, s_none, 32);
        assert_memory_equal(c_ctx, s_ctx, 32);
        assert_memory_equal(c_empty, s_empty, 32);
        assert_memory_not_equal(c_none, c_ctx, 32);
        if (VERSIONS[v] == TLSRIG_VERSION_TLS1_2) {
            /* RFC 5705 §4: "no context" and a zero-length context are different inputs. */
            assert_memory_not_equal(c_none, c_empty, 32);
        } else {
            /* RFC 8446 §7.5: no context is defined as the zero-length context. */
            assert_memory_equal(c_none, c_empty, 32);
        }
        /* Another label, another key. */
        ekm(p.client, a, "EXPORTER-other", NULL, 0);
        assert_memory_not_equal(a, c_none, 32);
        /* Same inputs, same output (no hidden state). */
        ekm(p.client, b, "EXPORTER-test", ctxbytes, sizeof(ctxbytes) - 1);
        assert_memory_equal(b, c_ctx, 32);

        /* Invalid arguments. */
        expect_rc(p.client, tlsrig_conn_export_keying_material(p.client, NULL, 32, "L", NULL, 0),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        expect_rc(p.client, tlsrig_conn_export_keying_material(p.client, a, 0, "L", NULL, 0),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        expect_rc(p.client, tlsrig_conn_export_keying_material(p.client, a, 32, NULL, NULL, 0),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        expect_rc(p.client, tlsrig_conn_export_keying_material(p.client, a, 32, "L", NULL, 4),
                  TLSRIG_ERR_INVALID_ARGUMENT);
        pair_free(&p, c, s);
    }
}

/* ==========================================================================================
 * Cipher, version, cipher list
 * ========================================================================================== */

static void cipher_before_handshake(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    h_pair p;
    pair_new(&p, &c, &s, TLSRIG_VERSION_TLS1_3);
    tlsrig_conn *ends[] = {p.client, p.server};
    for (int e = 0; e < 2; e++) {
        assert_null(tlsrig_conn_get_cipher_name(ends[e]));
        assert_null(tlsrig_conn_get_cipher_version(ends[e]));
        assert_int_equal(tlsrig_conn_get_cipher_bits(ends[e]), TLSRIG_ERR_NOT_AVAILABLE);
        assert_string_equal(tlsrig_conn_get_protocol_version_name(ends[e]), "unknown");
        const uint8_t *proto = (const uint8_t *)"stale";
        assert_int_equal(tlsrig_conn_get_alpn_proto_negotiated(ends[e], &proto), 0);
        assert_int_equal(tlsrig_conn_get_next_proto_negotiated(ends[e], &proto), 0);
    }
    /* Mid-handshake (ClientHello sent, nothing back) there is still no cipher. */
    expect_rc(p.client, tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
    assert_null(tlsrig_conn_get_cipher_name(p.client));
    assert_int_equal(tlsrig_conn_get_cipher_bits(p.client), TLSRIG_ERR_NOT_AVAILABLE);
    pair_free(&p, c, s);
}

static void cipher_after_handshake(void **state)
{
    (void)state;
    static const struct {
        int version;
        const char *suites; /* TLS 1.3 */
        const char *list;   /* TLS 1.2 */
        const char *name;
        int bits;
        const char *cipher_version;
    } cases[] = {
        {TLSRIG_VERSION_TLS1_3, "TLS_AES_128_GCM_SHA256", NULL, "TLS_AES_128_GCM_SHA256", 128,
         "TLSv1.3"},
        {TLSRIG_VERSION_TLS1_3, "TLS_CHACHA20_POLY1305_SHA256", NULL,
         "TLS_CHACHA20_POLY1305_SHA256", 256, "TLSv1.3"},
        {TLSRIG_VERSION_TLS1_2, NULL, "ECDHE-ECDSA-AES256-GCM-SHA384",
         "ECDHE-ECDSA-AES256-GCM-SHA384", 256, "TLSv1.2"},
        {TLSRIG_VERSION_TLS1_2, NULL, "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA", 128,
         "TLSv1.0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tlsrig_ctx *c, *s;
        ctxs_new(&c, &s, cases[i].version);
        if (cases[i].suites != NULL)
            h_ctx_ok(c, tlsrig_ctx_set_ciphersuites(c, cases[i].suites));
        if (cases[i].list != NULL)
            h_ctx_ok(c, tlsrig_ctx_set_cipher_list(c, cases[i].list));
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_ok(&p);
        tlsrig_conn *ends[] = {p.client, p.server};
        for (int e = 0; e < 2; e++) {
            const char *name = tlsrig_conn_get_cipher_name(ends[e]);
            const char *cv = tlsrig_conn_get_cipher_version(ends[e]);
            assert_non_null(name);
            assert_non_null(cv);
            assert_string_equal(name, cases[i].name);
            assert_int_equal(tlsrig_conn_get_cipher_bits(ends[e]), cases[i].bits);
            /* The version the cipher was defined in, not the one negotiated. */
            assert_string_equal(cv, cases[i].cipher_version);
        }
        pair_free(&p, c, s);
    }
}

static void protocol_version_after_handshake(void **state)
{
    (void)state;
    static const char *const names[] = {"TLSv1.2", "TLSv1.3"};
    static const int wire[] = {0x0303, 0x0304};
    for (int v = 0; v < N_VERSIONS; v++) {
        tlsrig_ctx *c, *s;
        h_pair p;
        pair_new(&p, &c, &s, VERSIONS[v]);
        hs_ok(&p);
        tlsrig_conn *ends[] = {p.client, p.server};
        for (int e = 0; e < 2; e++) {
            assert_int_equal(tlsrig_conn_get_protocol_version(ends[e]), wire[v]);
            assert_string_equal(tlsrig_conn_get_protocol_version_name(ends[e]), names[v]);
        }
        pair_free(&p, c, s);
    }
}

static void cipher_list_respects_cap(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    /* A list we know: one TLS 1.3 suite first, then the TLS 1.2 ciphers in order. */
    h_ctx_ok(c, tlsrig_ctx_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256"));
    h_ctx_ok(c, tlsrig_ctx_set_cipher_list(
                    c, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"));
    h_pair p = {0};
    h_pair_new(&p, c, s);
    static const char *const want[] = {"TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
                                       "ECDHE-ECDSA-AES256-GCM-SHA384"};
    /* Counting only. */
    assert_int_equal(tlsrig_conn_get_cipher_list(p.client, NULL, 0), 3);
    const char *names[5];
    for (int i = 0; i < 5; i++)
        names[i] = "sentinel";
    assert_int_equal(tlsrig_conn_get_cipher_list(p.client, names, 5), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(names[i], want[i]);
    assert_string_equal(names[3], "sentinel");
    /* A smaller cap: the total is still reported, only |cap| names are written. */
    for (int i = 0; i < 5; i++)
        names[i] = "sentinel";
    assert_int_equal(tlsrig_conn_get_cipher_list(p.client, names, 1), 3);
    assert_string_equal(names[0], want[0]);
    assert_string_equal(names[1], "sentinel");
    assert_string_equal(names[2], "sentinel");
    hs_ok(&p);
    assert_string_equal(tlsrig_conn_get_cipher_name(p.client), "TLS_AES_128_GCM_SHA256");
    pair_free(&p, c, s);

    /* The default list of a fresh connection is not empty and every name is set. */
    tlsrig_ctx *d = h_client_ctx();
    tlsrig_conn *conn = NULL;
    h_ctx_ok(d, tlsrig_conn_new(d, -1, &conn));
    int total = tlsrig_conn_get_cipher_list(conn, NULL, 0);
    if (total < 4)
        fail_msg("default cipher list has %d entries", total);
    const char **all = calloc((size_t)total, sizeof(*all));
    assert_non_null(all);
    assert_int_equal(tlsrig_conn_get_cipher_list(conn, all, (size_t)total), total);
    for (int i = 0; i < total; i++)
        if (all[i] == NULL || all[i][0] == '\0')
            fail_msg("default cipher list entry %d is empty", i);
    free(all);
    tlsrig_conn_free(conn);
    tlsrig_ctx_free(d);
}

/* ==========================================================================================
 * Peer certificates and chains
 * ========================================================================================== */

static X509 *load_cert(const char *file)
{
    X509 *x = NULL;
    tlsrig_error err;
    if (tlsrig_x509_load_file(h_pki(file), TLSRIG_FILETYPE_PEM, &x, &err) < 0)
        fail_msg("load %s: %s", file, err.message);
    return x;
}

static void expect_cert(X509 *got, const char *file, const char *what)
{
    if (got == NULL)
        fail_msg("%s: expected %s, got no certificate", what, file);
    X509 *want = load_cert(file);
    int diff = X509_cmp(got, want);
    if (diff != 0) {
        char g[256], w[256];
        X509_NAME_oneline(X509_get_subject_name(got), g, sizeof(g));
        X509_NAME_oneline(X509_get_subject_name(want), w, sizeof(w));
        X509_free(want);
        fail_msg("%s: expected %s (%s), got %s", what, file, w, g);
    }
    X509_free(want);
}

static void expect_chain(STACK_OF(X509) * chain, const char *const *files, int n, const char *what)
{
    if (chain == NULL)
        fail_msg("%s: expected %d certificates, got none", what, n);
    if (sk_X509_num(chain) != n) {
        int got = sk_X509_num(chain);
        sk_X509_pop_free(chain, X509_free);
        fail_msg("%s: expected %d certificates, got %d", what, n, got);
    }
    for (int i = 0; i < n; i++)
        expect_cert(sk_X509_value(chain, i), files[i], what);
    sk_X509_pop_free(chain, X509_free);
}

static void peer_certificates_client_side(void **state)
{
    (void)state;
    for (int v = 0; v < N_VERSIONS; v++) {
        tlsrig_ctx *c, *s;
        h_pair p;
        pair_new(&p, &c, &s, VERSIONS[v]);
        assert_null(tlsrig_conn_get_peer_certificate(p.client));
        assert_null(tlsrig_conn_get_peer_cert_chain(p.client));
        assert_null(tlsrig_conn_get_verified_chain(p.client));
        hs_ok(&p);
        X509 *peer = tlsrig_conn_get_peer_certificate(p.client);
        expect_cert(peer, "server-p256.crt", "client peer certificate");
        /* A new reference each time: two calls, two frees. */
        X509 *again = tlsrig_conn_get_peer_certificate(p.client);
        assert_ptr_equal(again, peer);
        X509_free(again);
        X509_free(peer);
        static const char *const sent[] = {"server-p256.crt", "inter-ca.crt"};
        expect_chain(tlsrig_conn_get_peer_cert_chain(p.client), sent, 2, "client peer chain");
        static const char *const verified[] = {"server-p256.crt", "inter-ca.crt", "root-ca.crt"};
        expect_chain(tlsrig_conn_get_verified_chain(p.client), verified, 3,
                     "client verified chain");
        assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
        /* The server asked for no certificate and got none. */
        assert_null(tlsrig_conn_get_peer_certificate(p.server));
        assert_null(tlsrig_conn_get_peer_cert_chain(p.server));
        assert_null(tlsrig_conn_get_verified_chain(p.server));
        pair_free(&p, c, s);
    }
}

static void peer_certificates_server_side(void **state)
{
    (void)state;
    for (int v = 0; v < N_VERSIONS; v++) {
        /* Configured before the connections exist: an SSL copies its context's settings. */
        tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
        pin_version(c, VERSIONS[v]);
        h_ctx_ok(s, tlsrig_ctx_load_verify_locations(s, h_pki("root-ca.crt"), NULL));
        h_ctx_ok(s, tlsrig_ctx_set_verify(s, TLSRIG_VERIFY_PEER, NULL, NULL));
        h_ctx_ok(c, tlsrig_ctx_use_certificate_chain_file(c, h_pki("client-p256.chain.pem")));
        h_ctx_ok(c,
                 tlsrig_ctx_use_privatekey_file(c, h_pki("client-p256.key"), TLSRIG_FILETYPE_PEM));
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_ok(&p);
        X509 *peer = tlsrig_conn_get_peer_certificate(p.server);
        expect_cert(peer, "client-p256.crt", "server peer certificate");
        X509_free(peer);
        /* On a server OpenSSL (and so pyOpenSSL) leaves the peer's own certificate out of
         * get_peer_cert_chain: only the intermediate the client sent is there. */
        static const char *const sent[] = {"inter-ca.crt"};
        expect_chain(tlsrig_conn_get_peer_cert_chain(p.server), sent, 1, "server peer chain");
        static const char *const verified[] = {"client-p256.crt", "inter-ca.crt", "root-ca.crt"};
        expect_chain(tlsrig_conn_get_verified_chain(p.server), verified, 3,
                     "server verified chain");
        pair_free(&p, c, s);
    }
}

/* A client that does not verify still gets the chain as sent. OpenSSL runs verification
 * anyway and records its verdict; with no trust anchor the chain it built stops short of a
 * root (pyOpenSSL: "may be incomplete"), and the result is not X509_V_OK. */
static void peer_chain_without_verification(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = NULL;
    tlsrig_error err;
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &c, &err) < 0)
        fail_msg("ctx_new: %s", err.message);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    static const char *const sent[] = {"server-p256.crt", "inter-ca.crt"};
    expect_chain(tlsrig_conn_get_peer_cert_chain(p.client), sent, 2, "unverified peer chain");
    STACK_OF(X509) *built = tlsrig_conn_get_verified_chain(p.client);
    if (built != NULL) {
        X509 *root = load_cert("root-ca.crt");
        for (int i = 0; i < sk_X509_num(built); i++)
            if (X509_cmp(sk_X509_value(built, i), root) == 0) {
                X509_free(root);
                sk_X509_pop_free(built, X509_free);
                fail_msg("the chain built without a trust store reached the root CA");
            }
        X509_free(root);
        expect_cert(sk_X509_value(built, 0), "server-p256.crt", "built chain leaf");
        sk_X509_pop_free(built, X509_free);
    }
    assert_int_not_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * State string, want_read / want_write
 * ========================================================================================== */

static void state_string_tracks_handshake(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    h_pair p;
    pair_new(&p, &c, &s, TLSRIG_VERSION_TLS1_3);
    const char *before = tlsrig_conn_get_state_string(p.client);
    assert_non_null(before);
    assert_string_equal(before, "before SSL initialization");
    expect_rc(p.client, tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
    const char *mid = tlsrig_conn_get_state_string(p.client);
    assert_non_null(mid);
    assert_string_not_equal(mid, before);
    hs_ok(&p);
    assert_string_equal(tlsrig_conn_get_state_string(p.client),
                        "SSL negotiation finished successfully");
    assert_string_equal(tlsrig_conn_get_state_string(p.server),
                        "SSL negotiation finished successfully");
    assert_string_not_equal(mid, tlsrig_conn_get_state_string(p.client));
    pair_free(&p, c, s);
}

static void want_read_on_memory_bios(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    h_pair p;
    pair_new(&p, &c, &s, TLSRIG_VERSION_TLS1_3);
    assert_int_equal(tlsrig_conn_want_read(p.client), 0);
    assert_int_equal(tlsrig_conn_want_write(p.client), 0);
    /* The client sent its ClientHello and now waits for the server. */
    expect_rc(p.client, tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
    assert_int_equal(tlsrig_conn_want_read(p.client), 1);
    assert_int_equal(tlsrig_conn_want_write(p.client), 0);
    hs_ok(&p);
    assert_int_equal(tlsrig_conn_want_read(p.client), 0);
    /* Reading with nothing buffered stops for want of bytes; data clears it again. */
    char buf[8];
    expect_rc(p.server, tlsrig_conn_recv(p.server, buf, sizeof(buf), 0), TLSRIG_ERR_WANT_READ);
    assert_int_equal(tlsrig_conn_want_read(p.server), 1);
    assert_int_equal(tlsrig_conn_want_write(p.server), 0);
    h_send_recv(&p, p.client, p.server, "hi", 2);
    assert_int_equal(tlsrig_conn_want_read(p.server), 0);
    pair_free(&p, c, s);
}

static void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

/* Memory BIOs never refuse bytes, so want_write needs a real transport that fills up: a
 * non-blocking socket pair whose reader never reads. */
static void want_write_on_full_socket(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_nonblocking(sv[0]);
    set_nonblocking(sv[1]);
    int small = 4096;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    (void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    tlsrig_conn *client = NULL, *server = NULL;
    h_ctx_ok(c, tlsrig_conn_new(c, sv[0], &client));
    h_ctx_ok(s, tlsrig_conn_new(s, sv[1], &server));
    tlsrig_conn_set_connect_state(client);
    tlsrig_conn_set_accept_state(server);
    int crc = TLSRIG_ERR_WANT_READ, src = TLSRIG_ERR_WANT_READ;
    for (int i = 0; i < 100 && (crc != 0 || src != 0); i++) {
        if (crc != 0)
            crc = tlsrig_conn_do_handshake(client);
        if (src != 0)
            src = tlsrig_conn_do_handshake(server);
        if ((crc < 0 && crc != TLSRIG_ERR_WANT_READ && crc != TLSRIG_ERR_WANT_WRITE) ||
            (src < 0 && src != TLSRIG_ERR_WANT_READ && src != TLSRIG_ERR_WANT_WRITE))
            fail_msg("socket handshake: client %s \"%s\", server %s \"%s\"", tlsrig_err_name(crc),
                     tlsrig_conn_last_error(client)->message, tlsrig_err_name(src),
                     tlsrig_conn_last_error(server)->message);
    }
    assert_int_equal(crc, 0);
    assert_int_equal(src, 0);
    assert_int_equal(tlsrig_conn_want_write(client), 0);

    static uint8_t chunk[16384];
    memset(chunk, 'w', sizeof(chunk));
    int rc = 0;
    for (int i = 0; i < 4096; i++) {
        rc = tlsrig_conn_write(client, chunk, sizeof(chunk));
        if (rc < 0)
            break;
    }
    expect_rc(client, rc, TLSRIG_ERR_WANT_WRITE);
    assert_int_equal(tlsrig_conn_want_write(client), 1);
    assert_int_equal(tlsrig_conn_want_read(client), 0);
    tlsrig_conn_free(client);
    tlsrig_conn_free(server);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(randoms_match_across_ends),
        cmocka_unit_test(randoms_buffer_checks),
        cmocka_unit_test(finished_cross_match),
        cmocka_unit_test(master_key_matches),
        cmocka_unit_test(export_keying_material_matches),
        cmocka_unit_test(cipher_before_handshake),
        cmocka_unit_test(cipher_after_handshake),
        cmocka_unit_test(protocol_version_after_handshake),
        cmocka_unit_test(cipher_list_respects_cap),
        cmocka_unit_test(peer_certificates_client_side),
        cmocka_unit_test(peer_certificates_server_side),
        cmocka_unit_test(peer_chain_without_verification),
        cmocka_unit_test(state_string_tracks_handshake),
        cmocka_unit_test(want_read_on_memory_bios),
        cmocka_unit_test(want_write_on_full_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
