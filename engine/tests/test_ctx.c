/*
 * test_ctx.c - tlsrig_ctx, everything but the callback setters: creation for every method,
 * deterministic sources, default contexts, reference counting, the error record,
 * certificates and keys, passwords, trust, verification settings, client CA lists, key
 * exchange parameters, ciphers, options and modes, version bounds, session settings, ALPN,
 * the TLS 1.3 extras and hostname checking.
 *
 * Settings are checked twice where possible: through the getter (or the SSL_CTX underneath)
 * and through their effect on a handshake over memory BIOs, since a value that is stored but
 * never reaches OpenSSL is the bug that matters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "harness.h"

#define MISSING "/nonexistent/tlsrig/no-such-file.pem"

/* ---- helpers ---- */

static tlsrig_ctx *new_ctx(int method)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    int rc = tlsrig_ctx_new(method, &ctx, &err);
    if (rc != 0)
        fail_msg("tlsrig_ctx_new(%d): %s: %s", method, tlsrig_err_name(rc), err.message);
    assert_non_null(ctx);
    return ctx;
}

static X509 *load_cert(const char *file)
{
    X509 *x = NULL;
    tlsrig_error err;
    int rc = tlsrig_x509_load_file(h_pki(file), TLSRIG_FILETYPE_PEM, &x, &err);
    if (rc != 0)
        fail_msg("load %s: %s", file, err.message);
    return x;
}

static EVP_PKEY *load_key(const char *file)
{
    EVP_PKEY *k = NULL;
    tlsrig_error err;
    int rc = tlsrig_pkey_load_file(h_pki(file), TLSRIG_FILETYPE_PEM, NULL, &k, &err);
    if (rc != 0)
        fail_msg("load %s: %s", file, err.message);
    return k;
}

/* A server context with only the leaf (no intermediate) of server-rsa. */
static tlsrig_ctx *server_leaf_only(void)
{
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(ctx,
             tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM));
    h_ctx_ok(ctx,
             tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    return ctx;
}

/* A client context that verifies (VERIFY_PEER) but trusts nothing yet. */
static tlsrig_ctx *verifying_client(void)
{
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL));
    return ctx;
}

/* Runs a handshake between fresh connections on |c| and |s|; returns h_handshake's result. */
static int run_handshake(h_pair *p, tlsrig_ctx *c, tlsrig_ctx *s)
{
    memset(p, 0, sizeof(*p));
    h_pair_new(p, c, s);
    return h_handshake(p);
}

static void expect_handshake_ok(h_pair *p, tlsrig_ctx *c, tlsrig_ctx *s)
{
    int rc = run_handshake(p, c, s);
    if (rc != 0)
        fail_msg("handshake: %s (client %s, server %s, client verify result %ld)",
                 tlsrig_err_name(rc), tlsrig_err_name(p->client_rc), tlsrig_err_name(p->server_rc),
                 tlsrig_conn_get_verify_result(p->client));
}

/* Handshake that must fail; returns the client's verify result. */
static long expect_handshake_fails(h_pair *p, tlsrig_ctx *c, tlsrig_ctx *s)
{
    int rc = run_handshake(p, c, s);
    if (rc == 0)
        fail_msg("handshake succeeded, expected a failure");
    return tlsrig_conn_get_verify_result(p->client);
}

static const char *enc_password(void)
{
    static char pw[128];
    FILE *f = fopen(h_pki("server-rsa-enc.password"), "r");
    if (f == NULL)
        fail_msg("cannot open %s", h_pki("server-rsa-enc.password"));
    if (fgets(pw, sizeof(pw), f) == NULL)
        pw[0] = '\0';
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    assert_true(pw[0] != '\0');
    return pw;
}

/* The client's first flight, for looking at what the ClientHello carries. */
static size_t client_hello(tlsrig_ctx *ctx, uint8_t *buf, size_t cap)
{
    tlsrig_conn *conn = NULL;
    h_ctx_ok(ctx, tlsrig_conn_new(ctx, -1, &conn));
    tlsrig_conn_set_connect_state(conn);
    assert_int_equal(tlsrig_conn_do_handshake(conn), TLSRIG_ERR_WANT_READ);
    size_t n = h_take(conn, buf, cap);
    if (n == 0)
        fail_msg("no ClientHello");
    tlsrig_conn_free(conn);
    return n;
}

static void client_random(tlsrig_ctx *ctx, uint8_t out[32])
{
    tlsrig_conn *conn = NULL;
    h_ctx_ok(ctx, tlsrig_conn_new(ctx, -1, &conn));
    tlsrig_conn_set_connect_state(conn);
    assert_int_equal(tlsrig_conn_do_handshake(conn), TLSRIG_ERR_WANT_READ);
    assert_int_equal(tlsrig_conn_client_random(conn, out, 32), 32);
    tlsrig_conn_free(conn);
}

/* After a TLS 1.3 handshake the tickets are in the client's incoming BIO; a read processes
 * them. Returns the client's session or NULL when there is none. */
static tlsrig_session *client_session_after_tickets(h_pair *p)
{
    uint8_t b[16];
    assert_int_equal(tlsrig_conn_recv(p->client, b, sizeof(b), 0), TLSRIG_ERR_WANT_READ);
    tlsrig_session *sess = NULL;
    int rc = tlsrig_conn_get_session(p->client, &sess);
    if (rc == TLSRIG_ERR_NOT_AVAILABLE)
        return NULL;
    h_conn_ok(p->client, rc);
    return sess;
}

static int count_pem_certs(const char *file)
{
    FILE *f = fopen(h_pki(file), "r");
    if (f == NULL)
        fail_msg("cannot open %s", h_pki(file));
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0)
            n++;
    fclose(f);
    return n;
}

/* ---- creation ---- */

static void ctx_new_every_method(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int method;
        int pin; /* expected min = max, 0 for none */
        int server_only, client_only;
    } methods[] = {
        {"SSLv23_METHOD", TLSRIG_SSLV23_METHOD, 0, 0, 0},
        {"TLSv1_METHOD", TLSRIG_TLSV1_METHOD, TLS1_VERSION, 0, 0},
        {"TLSv1_1_METHOD", TLSRIG_TLSV1_1_METHOD, TLS1_1_VERSION, 0, 0},
        {"TLSv1_2_METHOD", TLSRIG_TLSV1_2_METHOD, TLS1_2_VERSION, 0, 0},
        {"TLS_METHOD", TLSRIG_TLS_METHOD, 0, 0, 0},
        {"TLS_SERVER_METHOD", TLSRIG_TLS_SERVER_METHOD, 0, 1, 0},
        {"TLS_CLIENT_METHOD", TLSRIG_TLS_CLIENT_METHOD, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        tlsrig_ctx *ctx = NULL;
        tlsrig_error err;
        int rc = tlsrig_ctx_new(methods[i].method, &ctx, &err);
        if (rc != 0)
            fail_msg("%s: %s: %s", methods[i].name, tlsrig_err_name(rc), err.message);
        assert_non_null(ctx);
        assert_int_equal(err.code, TLSRIG_ERR_OK);
        assert_int_equal(tlsrig_ctx_get_min_proto_version(ctx), methods[i].pin);
        assert_int_equal(tlsrig_ctx_get_max_proto_version(ctx), methods[i].pin);
        const SSL_METHOD *m = SSL_CTX_get_ssl_method(tlsrig_ctx_get0_ssl_ctx(ctx));
        const SSL_METHOD *want = methods[i].server_only   ? TLS_server_method()
                                 : methods[i].client_only ? TLS_client_method()
                                                          : TLS_method();
        if (m != want)
            fail_msg("%s: wrong OpenSSL method", methods[i].name);
        tlsrig_ctx_free(ctx);
    }
}

static void ctx_new_tlsv1_2_method_negotiates_only_tls12(void **state)
{
    (void)state;
    /* The pin reaches the handshake: a TLS 1.3-capable server ends up at TLS 1.2. */
    tlsrig_ctx *c = new_ctx(TLSRIG_TLSV1_2_METHOD), *s = h_server_ctx("rsa");
    h_pair p;
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_2_VERSION);
    assert_string_equal(tlsrig_conn_get_protocol_version_name(p.server), "TLSv1.2");
    h_pair_free(&p);
    tlsrig_ctx_free(s);
    /* ... and a server pinned to TLS 1.2 refuses a client that only speaks TLS 1.3. */
    s = new_ctx(TLSRIG_TLSV1_2_METHOD);
    h_ctx_ok(s, tlsrig_ctx_use_certificate_chain_file(s, h_pki("server-rsa.chain.pem")));
    h_ctx_ok(s, tlsrig_ctx_use_privatekey_file(s, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    tlsrig_ctx *c13 = new_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(c13, tlsrig_ctx_set_min_proto_version(c13, TLS1_3_VERSION));
    expect_handshake_fails(&p, c13, s);
    assert_int_equal(p.server_rc, TLSRIG_ERR_SSL);
    h_pair_free(&p);
    tlsrig_ctx_free(c13);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void ctx_new_sslv2_sslv3_unsupported(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = (tlsrig_ctx *)1;
    tlsrig_error err;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_SSLV2_METHOD, &ctx, &err), TLSRIG_ERR_UNSUPPORTED);
    assert_null(ctx);
    assert_int_equal(err.code, TLSRIG_ERR_UNSUPPORTED);
    if (strstr(err.message, "SSLv2") == NULL)
        fail_msg("message does not name the method: \"%s\"", err.message);

    ctx = NULL;
    int rc = tlsrig_ctx_new(TLSRIG_SSLV3_METHOD, &ctx, &err);
#ifdef OPENSSL_NO_SSL3_METHOD
    assert_int_equal(rc, TLSRIG_ERR_UNSUPPORTED);
    assert_null(ctx);
    if (strstr(err.message, "SSLv3") == NULL)
        fail_msg("message does not name the method: \"%s\"", err.message);
#else
    assert_int_equal(rc, 0);
    assert_int_equal(tlsrig_ctx_get_min_proto_version(ctx), SSL3_VERSION);
    assert_int_equal(tlsrig_ctx_get_max_proto_version(ctx), SSL3_VERSION);
    tlsrig_ctx_free(ctx);
#endif
    /* err may be NULL: only the code comes back. */
    assert_int_equal(tlsrig_ctx_new(TLSRIG_SSLV2_METHOD, &ctx, NULL), TLSRIG_ERR_UNSUPPORTED);
}

static void ctx_new_unknown_method(void **state)
{
    (void)state;
    const int bad[] = {0, 10, -1, 100};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tlsrig_ctx *ctx = (tlsrig_ctx *)1;
        tlsrig_error err;
        assert_int_equal(tlsrig_ctx_new(bad[i], &ctx, &err), TLSRIG_ERR_INVALID_ARGUMENT);
        assert_null(ctx);
        assert_int_equal(err.code, TLSRIG_ERR_INVALID_ARGUMENT);
        char num[16];
        snprintf(num, sizeof(num), "%d", bad[i]);
        if (strstr(err.message, num) == NULL)
            fail_msg("message does not name method %d: \"%s\"", bad[i], err.message);
    }
    tlsrig_error err;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, NULL, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.code, TLSRIG_ERR_INVALID_ARGUMENT);
}

static void ctx_new_ex_with_det(void **state)
{
    (void)state;
    tlsrig_det *d1 = NULL, *d2 = NULL, *d3 = NULL;
    assert_int_equal(tlsrig_det_new(1234, &d1), 0);
    assert_int_equal(tlsrig_det_new(1234, &d2), 0);
    assert_int_equal(tlsrig_det_new(1235, &d3), 0);
    tlsrig_ctx *a = NULL, *b = NULL, *c = NULL, *sys1 = NULL, *sys2 = NULL;
    tlsrig_error err;
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, d1, &a, &err));
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, d2, &b, &err));
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, d3, &c, &err));
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, NULL, &sys1, &err));
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, NULL, &sys2, &err));
    /* Contexts hold their own reference: the dets can go first. */
    tlsrig_det_free(d1);
    tlsrig_det_free(d2);
    tlsrig_det_free(d3);

    uint8_t ra[32], rb[32], rc[32], rs1[32], rs2[32];
    client_random(a, ra);
    client_random(b, rb);
    client_random(c, rc);
    client_random(sys1, rs1);
    client_random(sys2, rs2);
    /* Same seed, same calls: the same ClientHello random. Another seed or the system RNG:
     * a different one. */
    assert_memory_equal(ra, rb, 32);
    assert_memory_not_equal(ra, rc, 32);
    assert_memory_not_equal(rs1, rs2, 32);
    assert_memory_not_equal(ra, rs1, 32);

    /* A deterministic context does real TLS. */
    tlsrig_det *ds = NULL;
    assert_int_equal(tlsrig_det_new(99, &ds), 0);
    tlsrig_ctx *s = NULL;
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_SERVER_METHOD, ds, &s, &err));
    tlsrig_det_free(ds);
    h_ctx_ok(s, tlsrig_ctx_use_certificate_chain_file(s, h_pki("server-rsa.chain.pem")));
    h_ctx_ok(s, tlsrig_ctx_use_privatekey_file(s, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    h_pair p;
    expect_handshake_ok(&p, a, s);
    h_send_recv(&p, p.client, p.server, "det", 3);
    h_pair_free(&p);

    tlsrig_ctx_free(a);
    tlsrig_ctx_free(b);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(sys1);
    tlsrig_ctx_free(sys2);
    tlsrig_ctx_free(s);
}

static void ctx_new_ex_bad_arguments(void **state)
{
    (void)state;
    tlsrig_det *d = NULL;
    assert_int_equal(tlsrig_det_new(5, &d), 0);
    tlsrig_ctx *ctx = (tlsrig_ctx *)1;
    tlsrig_error err;
    assert_int_equal(tlsrig_ctx_new_ex(42, d, &ctx, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_int_equal(tlsrig_ctx_new_ex(TLSRIG_SSLV2_METHOD, d, &ctx, &err), TLSRIG_ERR_UNSUPPORTED);
    assert_null(ctx);
    assert_int_equal(tlsrig_ctx_new_ex(TLSRIG_TLS_METHOD, d, NULL, &err),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    /* The failed calls took no reference: one free releases the det (LeakSanitizer checks). */
    tlsrig_det_free(d);
}

static int det_teardown(void **state)
{
    (void)state;
    tlsrig_deterministic_off();
    return 0;
}

static void ctx_new_ex_null_det_ignores_deterministic_mode(void **state)
{
    (void)state;
    uint8_t r1[32], r2[32], n1[32], n2[32];
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;

    /* tlsrig_ctx_new follows deterministic mode: restarting it replays the same bytes ... */
    assert_int_equal(tlsrig_deterministic(77), 0);
    ctx = new_ctx(TLSRIG_TLS_CLIENT_METHOD);
    client_random(ctx, r1);
    tlsrig_ctx_free(ctx);
    assert_int_equal(tlsrig_deterministic(77), 0);
    ctx = new_ctx(TLSRIG_TLS_CLIENT_METHOD);
    client_random(ctx, r2);
    tlsrig_ctx_free(ctx);
    assert_memory_equal(r1, r2, 32);

    /* ... while new_ex with a NULL det uses the system RNG even then. */
    assert_int_equal(tlsrig_deterministic(77), 0);
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, NULL, &ctx, &err));
    client_random(ctx, n1);
    tlsrig_ctx_free(ctx);
    assert_int_equal(tlsrig_deterministic(77), 0);
    h_ctx_ok(NULL, tlsrig_ctx_new_ex(TLSRIG_TLS_CLIENT_METHOD, NULL, &ctx, &err));
    client_random(ctx, n2);
    tlsrig_ctx_free(ctx);
    assert_memory_not_equal(n1, n2, 32);
    assert_memory_not_equal(n1, r1, 32);
    tlsrig_deterministic_off();
}

/* ---- default contexts ---- */

static void default_client(void **state)
{
    (void)state;
    tlsrig_ctx *c = NULL;
    tlsrig_error err;
    /* The system trust store is what the default client loads; point it at the test root
     * for the duration (OpenSSL reads SSL_CERT_FILE when the paths are set). */
    assert_int_equal(setenv("SSL_CERT_FILE", h_pki("root-ca.crt"), 1), 0);
    int rc = tlsrig_ctx_new_default_client(&c, &err);
    unsetenv("SSL_CERT_FILE");
    if (rc != 0)
        fail_msg("new_default_client: %s: %s", tlsrig_err_name(rc), err.message);
    assert_int_equal(err.code, TLSRIG_ERR_OK);
    assert_int_equal(tlsrig_ctx_get_verify_mode(c), TLSRIG_VERIFY_PEER);
    assert_int_equal(tlsrig_ctx_get_check_hostname(c), 1);
    assert_int_equal(tlsrig_ctx_get_min_proto_version(c), TLS1_2_VERSION);
    assert_ptr_equal(SSL_CTX_get_ssl_method(tlsrig_ctx_get0_ssl_ctx(c)), TLS_client_method());

    tlsrig_ctx *s = h_server_ctx("rsa");
    h_pair p;
    /* With the right name: verified. */
    memset(&p, 0, sizeof(p));
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, "server.tlsrig.test"));
    if ((rc = h_handshake(&p)) != 0)
        fail_msg("handshake: %s, verify result %ld", tlsrig_err_name(rc),
                 tlsrig_conn_get_verify_result(p.client));
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    h_pair_free(&p);
    /* With a name the certificate does not carry: refused (RFC 6125 §6.4). */
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, "other.tlsrig.test"));
    assert_int_not_equal(h_handshake(&p), 0);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_ERR_HOSTNAME_MISMATCH);
    h_pair_free(&p);
    /* With no name at all: the handshake does not start. */
    h_pair_new(&p, c, s);
    assert_int_equal(tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_INVALID_ARGUMENT);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void default_client_does_not_trust_test_root(void **state)
{
    (void)state;
    /* Without the test root in the system store, verification fails: the default client
     * verifies rather than accepting anything. */
    tlsrig_ctx *c = NULL;
    tlsrig_error err;
    unsetenv("SSL_CERT_FILE");
    h_ctx_ok(NULL, tlsrig_ctx_new_default_client(&c, &err));
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, "server.tlsrig.test"));
    assert_int_not_equal(h_handshake(&p), 0);
    assert_int_equal(p.client_rc, TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void default_server(void **state)
{
    (void)state;
    tlsrig_ctx *s = NULL;
    tlsrig_error err;
    h_ctx_ok(NULL, tlsrig_ctx_new_default_server(&s, &err));
    assert_int_equal(tlsrig_ctx_get_verify_mode(s), TLSRIG_VERIFY_NONE);
    assert_int_equal(tlsrig_ctx_get_check_hostname(s), 0);
    assert_int_equal(tlsrig_ctx_get_min_proto_version(s), TLS1_2_VERSION);
    assert_ptr_equal(SSL_CTX_get_ssl_method(tlsrig_ctx_get0_ssl_ctx(s)), TLS_server_method());
    h_ctx_ok(s, tlsrig_ctx_use_certificate_chain_file(s, h_pki("server-rsa.chain.pem")));
    h_ctx_ok(s, tlsrig_ctx_use_privatekey_file(s, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    tlsrig_ctx *c = h_client_ctx();
    h_pair p;
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_is_server(p.server), 1);
    h_pair_free(&p);
    /* NULL out is refused for both. */
    assert_int_equal(tlsrig_ctx_new_default_server(NULL, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_new_default_client(NULL, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- references ---- */

static void up_ref_and_free(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    tlsrig_ctx_up_ref(ctx);
    tlsrig_ctx_free(ctx);
    /* Still alive after dropping one of two references. */
    h_ctx_ok(ctx, tlsrig_ctx_set_verify_depth(ctx, 7));
    assert_int_equal(tlsrig_ctx_get_verify_depth(ctx), 7);
    /* A connection keeps its context alive after the caller's last reference is gone. */
    tlsrig_conn *conn = NULL;
    h_ctx_ok(ctx, tlsrig_conn_new(ctx, -1, &conn));
    tlsrig_ctx_free(ctx);
    assert_ptr_equal(tlsrig_conn_get_context(conn), ctx);
    assert_int_equal(tlsrig_ctx_get_verify_depth(tlsrig_conn_get_context(conn)), 7);
    assert_ptr_equal(SSL_get_SSL_CTX(tlsrig_conn_get0_ssl(conn)),
                     tlsrig_ctx_get0_ssl_ctx(tlsrig_conn_get_context(conn)));
    tlsrig_conn_free(conn); /* releases the context; LeakSanitizer checks nothing is left */
    tlsrig_ctx_free(NULL);
}

/* ---- the error record ---- */

static void last_error_after_failures(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    const tlsrig_error *e = tlsrig_ctx_last_error(ctx);
    assert_int_equal(e->code, TLSRIG_ERR_OK);

    /* A file that does not exist: SYSCALL with errno, no OpenSSL queue. */
    assert_int_equal(tlsrig_ctx_use_certificate_file(ctx, MISSING, TLSRIG_FILETYPE_PEM),
                     TLSRIG_ERR_SYSCALL);
    assert_int_equal(e->code, TLSRIG_ERR_SYSCALL);
    assert_int_equal(e->sys_errno, ENOENT);
    assert_int_equal(e->n_ssl, 0);
    if (strstr(e->message, MISSING) == NULL)
        fail_msg("message does not name the file: \"%s\"", e->message);

    /* A file OpenSSL cannot use: SSL with OpenSSL's queue captured as strings. */
    const char *key = h_pki("server-rsa.key");
    assert_int_equal(tlsrig_ctx_use_certificate_file(ctx, key, TLSRIG_FILETYPE_PEM),
                     TLSRIG_ERR_SSL);
    assert_int_equal(e->code, TLSRIG_ERR_SSL);
    assert_int_equal(e->sys_errno, 0);
    if (strstr(e->message, key) == NULL)
        fail_msg("message does not name the file: \"%s\"", e->message);
    assert_true(e->n_ssl > 0 && e->n_ssl <= TLSRIG_MAX_SSL_ERRORS);
    for (size_t i = 0; i < e->n_ssl; i++) {
        assert_int_not_equal(e->ssl[i].code, 0);
        if (e->ssl[i].lib[0] == '\0' || e->ssl[i].reason[0] == '\0')
            fail_msg("entry %zu: lib \"%s\" reason \"%s\"", i, e->ssl[i].lib, e->ssl[i].reason);
        /* The strings are OpenSSL's for that code. */
        assert_string_equal(e->ssl[i].lib, ERR_lib_error_string(e->ssl[i].code));
    }
    /* The queue was moved into the record, not left behind. */
    assert_int_equal(ERR_peek_error(), 0);
    tlsrig_ctx_free(ctx);
}

/* ---- certificates and keys ---- */

static void use_certificate_object(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    X509 *cert = load_cert("server-rsa.crt");
    h_ctx_ok(ctx, tlsrig_ctx_use_certificate(ctx, cert));
    X509 *installed = SSL_CTX_get0_certificate(tlsrig_ctx_get0_ssl_ctx(ctx));
    assert_non_null(installed);
    assert_int_equal(X509_cmp(installed, cert), 0);
    X509_free(cert); /* the context keeps its own reference */
    assert_non_null(X509_get_subject_name(SSL_CTX_get0_certificate(tlsrig_ctx_get0_ssl_ctx(ctx))));

    assert_int_equal(tlsrig_ctx_use_certificate(ctx, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_last_error(ctx)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(ctx);
}

static void use_certificate_file_pem_and_asn1(void **state)
{
    (void)state;
    X509 *want = load_cert("server-rsa.crt");
    const struct {
        const char *file;
        int type;
    } ok[] = {{"server-rsa.crt", TLSRIG_FILETYPE_PEM},
              {"server-rsa.crt.der", TLSRIG_FILETYPE_ASN1}};
    for (size_t i = 0; i < 2; i++) {
        tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
        h_ctx_ok(ctx, tlsrig_ctx_use_certificate_file(ctx, h_pki(ok[i].file), ok[i].type));
        X509 *got = SSL_CTX_get0_certificate(tlsrig_ctx_get0_ssl_ctx(ctx));
        assert_non_null(got);
        assert_int_equal(X509_cmp(got, want), 0);
        tlsrig_ctx_free(ctx);
    }
    X509_free(want);

    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_use_certificate_file(ctx, MISSING, TLSRIG_FILETYPE_ASN1),
                     TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_ctx_last_error(ctx)->sys_errno, ENOENT);
    /* PEM read as DER and DER read as PEM. */
    assert_int_equal(
        tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"), TLSRIG_FILETYPE_ASN1),
        TLSRIG_ERR_SSL);
    assert_int_equal(
        tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt.der"), TLSRIG_FILETYPE_PEM),
        TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"), 0),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(tlsrig_ctx_last_error(ctx)->message, "filetype"));
    assert_int_equal(tlsrig_ctx_use_certificate_file(ctx, NULL, TLSRIG_FILETYPE_PEM),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    /* None of the failures installed anything. */
    assert_null(SSL_CTX_get0_certificate(tlsrig_ctx_get0_ssl_ctx(ctx)));
    tlsrig_ctx_free(ctx);
}

static void use_certificate_chain_file(void **state)
{
    (void)state;
    tlsrig_ctx *s = new_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(s, tlsrig_ctx_use_certificate_chain_file(s, h_pki("server-rsa.chain.pem")));
    h_ctx_ok(s, tlsrig_ctx_use_privatekey_file(s, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    SSL_CTX *sc = tlsrig_ctx_get0_ssl_ctx(s);
    X509 *leaf = load_cert("server-rsa.crt"), *inter = load_cert("inter-ca.crt");
    assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(sc), leaf), 0);
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(SSL_CTX_get0_chain_certs(sc, &chain), 1);
    assert_non_null(chain);
    assert_true(sk_X509_num(chain) >= 1);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), inter), 0);

    /* The intermediate goes on the wire: a client trusting only the root verifies. */
    tlsrig_ctx *c = h_client_ctx();
    h_pair p;
    expect_handshake_ok(&p, c, s);
    STACK_OF(X509) *sent = tlsrig_conn_get_peer_cert_chain(p.client);
    assert_non_null(sent);
    assert_true(sk_X509_num(sent) >= 2);
    sk_X509_pop_free(sent, X509_free);
    h_pair_free(&p);

    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(s, MISSING), TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_ctx_last_error(s)->sys_errno, ENOENT);
    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(s, h_pki("dh2048.pem")), TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(s, h_pki("server-rsa.key")),
                     TLSRIG_ERR_SSL);
    assert_true(tlsrig_ctx_last_error(s)->n_ssl > 0);
    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    X509_free(leaf);
    X509_free(inter);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void add_extra_chain_cert(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx();
    h_pair p;
    /* Leaf alone: the client cannot build a path to the root. */
    tlsrig_ctx *bare = server_leaf_only();
    assert_int_equal(expect_handshake_fails(&p, c, bare),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    h_pair_free(&p);

    /* Leaf plus the intermediate as an extra chain certificate: verified. */
    tlsrig_ctx *s = server_leaf_only();
    X509 *inter = load_cert("inter-ca.crt");
    h_ctx_ok(s, tlsrig_ctx_add_extra_chain_cert(s, inter));
    X509_free(inter); /* the context took its own reference */
    STACK_OF(X509) *extra = NULL;
    SSL_CTX_get_extra_chain_certs_only(tlsrig_ctx_get0_ssl_ctx(s), &extra);
    assert_non_null(extra);
    assert_int_equal(sk_X509_num(extra), 1);
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    h_pair_free(&p);

    assert_int_equal(tlsrig_ctx_add_extra_chain_cert(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    SSL_CTX_get_extra_chain_certs_only(tlsrig_ctx_get0_ssl_ctx(s), &extra);
    assert_int_equal(sk_X509_num(extra), 1);
    tlsrig_ctx_free(bare);
    tlsrig_ctx_free(s);
    tlsrig_ctx_free(c);
}

static void use_privatekey_object(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(ctx,
             tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM));
    EVP_PKEY *k = load_key("server-rsa.key");
    h_ctx_ok(ctx, tlsrig_ctx_use_privatekey(ctx, k));
    EVP_PKEY_free(k); /* the context keeps its own reference */
    h_ctx_ok(ctx, tlsrig_ctx_check_privatekey(ctx));
    assert_non_null(SSL_CTX_get0_privatekey(tlsrig_ctx_get0_ssl_ctx(ctx)));

    assert_int_equal(tlsrig_ctx_use_privatekey(ctx, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    /* Another RSA key than the certificate's is refused by OpenSSL. */
    EVP_PKEY *other = load_key("client-rsa.key");
    assert_int_equal(tlsrig_ctx_use_privatekey(ctx, other), TLSRIG_ERR_SSL);
    assert_true(tlsrig_ctx_last_error(ctx)->n_ssl > 0);
    EVP_PKEY_free(other);
    /* The matching key is still in place. */
    h_ctx_ok(ctx, tlsrig_ctx_check_privatekey(ctx));
    tlsrig_ctx_free(ctx);
}

static void use_privatekey_file(void **state)
{
    (void)state;
    const struct {
        const char *file;
        int type;
    } ok[] = {{"server-rsa.key", TLSRIG_FILETYPE_PEM},
              {"server-rsa.key.der", TLSRIG_FILETYPE_ASN1}};
    for (size_t i = 0; i < 2; i++) {
        tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
        h_ctx_ok(ctx, tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"),
                                                      TLSRIG_FILETYPE_PEM));
        h_ctx_ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, h_pki(ok[i].file), ok[i].type));
        h_ctx_ok(ctx, tlsrig_ctx_check_privatekey(ctx));
        tlsrig_ctx_free(ctx);
    }
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_use_privatekey_file(ctx, MISSING, TLSRIG_FILETYPE_PEM),
                     TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_ctx_last_error(ctx)->sys_errno, ENOENT);
    assert_non_null(strstr(tlsrig_ctx_last_error(ctx)->message, MISSING));
    assert_int_equal(
        tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM),
        TLSRIG_ERR_SSL);
    assert_int_equal(
        tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.key"), TLSRIG_FILETYPE_ASN1),
        TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.key"), 9),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_use_privatekey_file(ctx, NULL, TLSRIG_FILETYPE_PEM),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    /* Encrypted and no password callback: a decryption failure, never a terminal prompt. */
    assert_int_equal(
        tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa-enc.key"), TLSRIG_FILETYPE_PEM),
        TLSRIG_ERR_SSL);
    assert_null(SSL_CTX_get0_privatekey(tlsrig_ctx_get0_ssl_ctx(ctx)));
    tlsrig_ctx_free(ctx);
}

static void check_privatekey(void **state)
{
    (void)state;
    /* Nothing loaded. */
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_check_privatekey(ctx), TLSRIG_ERR_SSL);
    assert_true(tlsrig_ctx_last_error(ctx)->n_ssl > 0);
    /* Certificate but no key. */
    h_ctx_ok(ctx,
             tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM));
    assert_int_equal(tlsrig_ctx_check_privatekey(ctx), TLSRIG_ERR_SSL);
    /* Matching pair. */
    h_ctx_ok(ctx,
             tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    h_ctx_ok(ctx, tlsrig_ctx_check_privatekey(ctx));
    assert_int_equal(tlsrig_ctx_last_error(ctx)->code, TLSRIG_ERR_OK);
    tlsrig_ctx_free(ctx);

    /* Mismatched: key first, then another leaf's certificate (OpenSSL drops the key that no
     * longer matches, so the check must fail). */
    ctx = new_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(ctx,
             tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    h_ctx_ok(ctx,
             tlsrig_ctx_use_certificate_file(ctx, h_pki("client-rsa.crt"), TLSRIG_FILETYPE_PEM));
    assert_int_equal(tlsrig_ctx_check_privatekey(ctx), TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_last_error(ctx)->code, TLSRIG_ERR_SSL);
    tlsrig_ctx_free(ctx);
}

/* ---- password callback ---- */

typedef struct {
    const char *password;
    int calls;
    int last_size;
    int last_rwflag;
    int ret_override; /* 0: return the length; else return this */
} pw_state;

static int pw_cb(char *buf, int size, int rwflag, void *arg)
{
    pw_state *st = arg;
    st->calls++;
    st->last_size = size;
    st->last_rwflag = rwflag;
    if (st->ret_override != 0)
        return st->ret_override == -9999 ? size + 1 : st->ret_override;
    int n = (int)strlen(st->password);
    if (n > size)
        n = size;
    memcpy(buf, st->password, (size_t)n);
    return n;
}

static void passwd_cb_right_password(void **state)
{
    (void)state;
    pw_state st = {enc_password(), 0, 0, -1, 0};
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    tlsrig_ctx_set_passwd_cb(ctx, pw_cb, &st);
    h_ctx_ok(ctx,
             tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa-enc.key"), TLSRIG_FILETYPE_PEM));
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.last_rwflag, 0); /* reading, not encrypting */
    assert_true(st.last_size > 0);
    /* The decrypted key is server-rsa's key. */
    h_ctx_ok(ctx,
             tlsrig_ctx_use_certificate_file(ctx, h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM));
    h_ctx_ok(ctx, tlsrig_ctx_check_privatekey(ctx));
    /* An unencrypted key never asks. */
    st.calls = 0;
    h_ctx_ok(ctx,
             tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM));
    assert_int_equal(st.calls, 0);
    tlsrig_ctx_free(ctx);
}

static void passwd_cb_wrong_password(void **state)
{
    (void)state;
    pw_state st = {"definitely-wrong", 0, 0, -1, 0};
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    tlsrig_ctx_set_passwd_cb(ctx, pw_cb, &st);
    assert_int_equal(
        tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa-enc.key"), TLSRIG_FILETYPE_PEM),
        TLSRIG_ERR_SSL);
    assert_true(st.calls >= 1);
    assert_true(tlsrig_ctx_last_error(ctx)->n_ssl > 0);
    assert_null(SSL_CTX_get0_privatekey(tlsrig_ctx_get0_ssl_ctx(ctx)));
    /* Removing the callback: no password at all, still a plain decryption failure. */
    tlsrig_ctx_set_passwd_cb(ctx, NULL, NULL);
    st.calls = 0;
    assert_int_equal(
        tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa-enc.key"), TLSRIG_FILETYPE_PEM),
        TLSRIG_ERR_SSL);
    assert_int_equal(st.calls, 0);
    tlsrig_ctx_free(ctx);
}

static void passwd_cb_raises(void **state)
{
    (void)state;
    /* A negative return and a length beyond the buffer are both the callback failing. */
    const int overrides[] = {-1, -42, -9999};
    for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
        pw_state st = {"unused", 0, 0, -1, overrides[i]};
        tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
        tlsrig_ctx_set_passwd_cb(ctx, pw_cb, &st);
        int rc =
            tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa-enc.key"), TLSRIG_FILETYPE_PEM);
        if (rc != TLSRIG_ERR_CALLBACK)
            fail_msg("override %d: expected CALLBACK, got %s: %s", overrides[i],
                     tlsrig_err_name(rc), tlsrig_ctx_last_error(ctx)->message);
        /* OpenSSL 3's decoders may ask more than once after a failure; at least once. */
        if (st.calls < 1)
            fail_msg("override %d: the callback was not called", overrides[i]);
        assert_non_null(strstr(tlsrig_ctx_last_error(ctx)->message, "password"));
        /* The failure is not sticky: the next load with a good callback works. */
        st.ret_override = 0;
        st.password = enc_password();
        h_ctx_ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, h_pki("server-rsa-enc.key"),
                                                     TLSRIG_FILETYPE_PEM));
        tlsrig_ctx_free(ctx);
    }
}

/* ---- trust ---- */

static void load_verify_locations(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_pair p;

    /* CA file. */
    tlsrig_ctx *c = verifying_client();
    assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(tlsrig_ctx_get_cert_store(c))), 0);
    h_ctx_ok(c, tlsrig_ctx_load_verify_locations(c, h_pki("root-ca.crt"), NULL));
    assert_int_equal(sk_X509_OBJECT_num(X509_STORE_get0_objects(tlsrig_ctx_get_cert_store(c))), 1);
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    h_pair_free(&p);
    tlsrig_ctx_free(c);

    /* Hashed directory. */
    c = verifying_client();
    h_ctx_ok(c, tlsrig_ctx_load_verify_locations(c, NULL, h_pki("capath")));
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    h_pair_free(&p);
    tlsrig_ctx_free(c);

    /* The wrong CA: loads, but does not verify this server. */
    c = verifying_client();
    h_ctx_ok(c, tlsrig_ctx_load_verify_locations(c, h_pki("untrusted-ca.crt"), NULL));
    assert_int_equal(expect_handshake_fails(&p, c, s),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    h_pair_free(&p);

    assert_int_equal(tlsrig_ctx_load_verify_locations(c, NULL, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_load_verify_locations(c, MISSING, NULL), TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_ctx_last_error(c)->sys_errno, ENOENT);
    assert_non_null(strstr(tlsrig_ctx_last_error(c)->message, MISSING));
    /* A readable file with no certificate in it. */
    assert_int_equal(tlsrig_ctx_load_verify_locations(c, h_pki("server-rsa.key"), NULL),
                     TLSRIG_ERR_SSL);
    assert_true(tlsrig_ctx_last_error(c)->n_ssl > 0);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void set_default_verify_paths(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_pair p;
    /* OpenSSL's default file is taken from SSL_CERT_FILE when set: point it at the test root
     * to see the default paths actually loaded into this context's store. */
    tlsrig_ctx *c = verifying_client();
    assert_int_equal(setenv("SSL_CERT_FILE", h_pki("root-ca.crt"), 1), 0);
    int rc = tlsrig_ctx_set_default_verify_paths(c);
    unsetenv("SSL_CERT_FILE");
    h_ctx_ok(c, rc);
    expect_handshake_ok(&p, c, s);
    h_pair_free(&p);
    tlsrig_ctx_free(c);

    /* The plain system store does not hold the test root. */
    c = verifying_client();
    h_ctx_ok(c, tlsrig_ctx_set_default_verify_paths(c));
    assert_int_equal(expect_handshake_fails(&p, c, s),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void get_cert_store(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa");
    tlsrig_ctx *c = verifying_client();
    X509_STORE *store = tlsrig_ctx_get_cert_store(c);
    assert_non_null(store);
    assert_ptr_equal(store, SSL_CTX_get_cert_store(tlsrig_ctx_get0_ssl_ctx(c)));
    /* Each context has its own store. */
    tlsrig_ctx *other = new_ctx(TLSRIG_TLS_METHOD);
    assert_ptr_not_equal(store, tlsrig_ctx_get_cert_store(other));
    tlsrig_ctx_free(other);

    h_pair p;
    assert_int_equal(expect_handshake_fails(&p, c, s),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    h_pair_free(&p);
    /* It is the live store: adding the root to it directly makes verification pass. */
    X509 *root = load_cert("root-ca.crt");
    assert_int_equal(X509_STORE_add_cert(store, root), 1);
    X509_free(root);
    expect_handshake_ok(&p, c, s);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- verification settings ---- */

static void set_verify_modes(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_get_verify_mode(ctx), TLSRIG_VERIFY_NONE);
    const int valid[] = {
        TLSRIG_VERIFY_PEER,
        TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT,
        TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_CLIENT_ONCE,
        TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_POST_HANDSHAKE,
        TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT | TLSRIG_VERIFY_CLIENT_ONCE,
        TLSRIG_VERIFY_NONE,
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        h_ctx_ok(ctx, tlsrig_ctx_set_verify(ctx, valid[i], NULL, NULL));
        assert_int_equal(tlsrig_ctx_get_verify_mode(ctx), valid[i]);
    }
    /* Modifier bits without VERIFY_PEER, and bits that are not verify flags, as pyOpenSSL. */
    h_ctx_ok(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL));
    const int invalid[] = {
        TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT,
        TLSRIG_VERIFY_CLIENT_ONCE,
        TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT | TLSRIG_VERIFY_CLIENT_ONCE,
        TLSRIG_VERIFY_POST_HANDSHAKE,
        TLSRIG_VERIFY_PEER | 0x100,
        -1,
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        int rc = tlsrig_ctx_set_verify(ctx, invalid[i], NULL, NULL);
        if (rc != TLSRIG_ERR_INVALID_ARGUMENT)
            fail_msg("mode 0x%x: expected INVALID_ARGUMENT, got %s", invalid[i],
                     tlsrig_err_name(rc));
        /* A refused mode leaves the previous one in force. */
        assert_int_equal(tlsrig_ctx_get_verify_mode(ctx), TLSRIG_VERIFY_PEER);
    }
    tlsrig_ctx_free(ctx);
}

static void set_verify_on_server(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx();
    h_pair p;

    /* VERIFY_PEER alone: a client without a certificate is let through. */
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_ctx_ok(s, tlsrig_ctx_load_verify_locations(s, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(s, tlsrig_ctx_set_verify(s, TLSRIG_VERIFY_PEER, NULL, NULL));
    expect_handshake_ok(&p, c, s);
    X509 *peer = tlsrig_conn_get_peer_certificate(p.server);
    assert_null(peer);
    h_pair_free(&p);

    /* FAIL_IF_NO_PEER_CERT: the same client is refused (RFC 8446 §4.4.2.4: the server may
     * abort with certificate_required). */
    h_ctx_ok(s, tlsrig_ctx_set_verify(s, TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT,
                                      NULL, NULL));
    expect_handshake_fails(&p, c, s);
    assert_int_equal(p.server_rc, TLSRIG_ERR_SSL);
    h_pair_free(&p);

    /* ... and a client with a certificate from the trusted root is accepted. */
    h_ctx_ok(c, tlsrig_ctx_use_certificate_chain_file(c, h_pki("client-rsa.chain.pem")));
    h_ctx_ok(c, tlsrig_ctx_use_privatekey_file(c, h_pki("client-rsa.key"), TLSRIG_FILETYPE_PEM));
    expect_handshake_ok(&p, c, s);
    peer = tlsrig_conn_get_peer_certificate(p.server);
    assert_non_null(peer);
    X509 *want = load_cert("client-rsa.crt");
    assert_int_equal(X509_cmp(peer, want), 0);
    assert_int_equal(tlsrig_conn_get_verify_result(p.server), X509_V_OK);
    X509_free(want);
    X509_free(peer);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void verify_depth(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx();
    /* Unset, the limit in force is OpenSSL's default; never a negative (error-looking)
     * value. */
    assert_int_equal(tlsrig_ctx_get_verify_depth(c), 100);
    h_ctx_ok(c, tlsrig_ctx_set_verify_depth(c, 5));
    assert_int_equal(tlsrig_ctx_get_verify_depth(c), 5);
    assert_int_equal(tlsrig_ctx_set_verify_depth(c, -1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_get_verify_depth(c), 5);

    /* The depth reaches verification: leaf <- intermediate <- root needs more than 0. */
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_pair p;
    expect_handshake_ok(&p, c, s);
    h_pair_free(&p);
    h_ctx_ok(c, tlsrig_ctx_set_verify_depth(c, 0));
    assert_int_equal(tlsrig_ctx_get_verify_depth(c), 0);
    assert_int_equal(expect_handshake_fails(&p, c, s), X509_V_ERR_CERT_CHAIN_TOO_LONG);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- client CA list ---- */

static int names_equal(STACK_OF(X509_NAME) * sk, X509_NAME *const *want, int n)
{
    if (sk == NULL)
        return n == 0;
    if (sk_X509_NAME_num(sk) != n)
        return 0;
    for (int i = 0; i < n; i++)
        if (X509_NAME_cmp(sk_X509_NAME_value(sk, i), want[i]) != 0)
            return 0;
    return 1;
}

static STACK_OF(X509_NAME) * server_conn_ca_list(tlsrig_ctx *s, tlsrig_conn **conn)
{
    h_ctx_ok(s, tlsrig_conn_new(s, -1, conn));
    tlsrig_conn_set_accept_state(*conn);
    return tlsrig_conn_get_client_ca_list(*conn);
}

static void client_ca_list(void **state)
{
    (void)state;
    X509 *root = load_cert("root-ca.crt"), *inter = load_cert("inter-ca.crt"),
         *untrusted = load_cert("untrusted-ca.crt");
    X509_NAME *names[3] = {X509_get_subject_name(root), X509_get_subject_name(inter),
                           X509_get_subject_name(untrusted)};
    tlsrig_ctx *s = h_server_ctx("rsa");
    tlsrig_conn *conn = NULL;

    /* Nothing set: the server sends no names. */
    assert_null(server_conn_ca_list(s, &conn));
    tlsrig_conn_free(conn);

    /* set_client_ca_list copies the names, in order. */
    h_ctx_ok(s, tlsrig_ctx_set_client_ca_list(s, names, 2));
    if (!names_equal(server_conn_ca_list(s, &conn), names, 2))
        fail_msg("server connection does not carry [root, inter]");
    tlsrig_conn_free(conn);

    /* add_client_ca appends. */
    h_ctx_ok(s, tlsrig_ctx_add_client_ca(s, untrusted));
    if (!names_equal(server_conn_ca_list(s, &conn), names, 3))
        fail_msg("server connection does not carry [root, inter, untrusted]");
    tlsrig_conn_free(conn);

    /* Invalid input is refused and leaves the list alone. */
    X509_NAME *with_null[2] = {names[0], NULL};
    assert_int_equal(tlsrig_ctx_set_client_ca_list(s, with_null, 2), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_set_client_ca_list(s, NULL, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_add_client_ca(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    if (!names_equal(server_conn_ca_list(s, &conn), names, 3))
        fail_msg("a refused call changed the list");
    tlsrig_conn_free(conn);

    /* The names reach the client in the CertificateRequest (RFC 8446 §4.2.4). */
    h_ctx_ok(s, tlsrig_ctx_load_verify_locations(s, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(s, tlsrig_ctx_set_verify(s, TLSRIG_VERIFY_PEER, NULL, NULL));
    tlsrig_ctx *c = h_client_ctx();
    h_pair p;
    expect_handshake_ok(&p, c, s);
    if (!names_equal(tlsrig_conn_get_client_ca_list(p.client), names, 3))
        fail_msg("the client did not receive [root, inter, untrusted]");
    h_pair_free(&p);

    /* load_client_ca replaces the list with the file's subjects. */
    h_ctx_ok(s, tlsrig_ctx_load_client_ca(s, h_pki("ca-bundle.pem")));
    STACK_OF(X509_NAME) *loaded = server_conn_ca_list(s, &conn);
    assert_non_null(loaded);
    assert_int_equal(sk_X509_NAME_num(loaded), count_pem_certs("ca-bundle.pem"));
    assert_int_equal(X509_NAME_cmp(sk_X509_NAME_value(loaded, 0), names[0]), 0);
    for (int i = 0; i < sk_X509_NAME_num(loaded); i++)
        assert_int_not_equal(X509_NAME_cmp(sk_X509_NAME_value(loaded, i), names[2]), 0);
    tlsrig_conn_free(conn);

    assert_int_equal(tlsrig_ctx_load_client_ca(s, MISSING), TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_ctx_last_error(s)->sys_errno, ENOENT);
    assert_int_equal(tlsrig_ctx_load_client_ca(s, h_pki("dh2048.pem")), TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_load_client_ca(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);

    /* An empty list clears it. */
    h_ctx_ok(s, tlsrig_ctx_set_client_ca_list(s, NULL, 0));
    assert_null(server_conn_ca_list(s, &conn));
    tlsrig_conn_free(conn);

    X509_free(root);
    X509_free(inter);
    X509_free(untrusted);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- key exchange ---- */

static void load_tmp_dh_and_dhe_handshake(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx();
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
    h_pair p;

    /* A DHE-only server without parameters has no cipher it can use (OpenSSL does not pick
     * DH parameters on its own unless told to). */
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_ctx_ok(s, tlsrig_ctx_set_cipher_list(s, "DHE-RSA-AES128-GCM-SHA256"));
    expect_handshake_fails(&p, c, s);
    assert_int_equal(p.server_rc, TLSRIG_ERR_SSL);
    h_pair_free(&p);

    h_ctx_ok(s, tlsrig_ctx_load_tmp_dh(s, h_pki("dh2048.pem")));
    expect_handshake_ok(&p, c, s);
    assert_string_equal(tlsrig_conn_get_cipher_name(p.client), "DHE-RSA-AES128-GCM-SHA256");
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_2_VERSION);
    /* The group on the wire is the file's 2048-bit one. */
    EVP_PKEY *peer_tmp = NULL;
    assert_int_equal(SSL_get_peer_tmp_key(tlsrig_conn_get0_ssl(p.client), &peer_tmp), 1);
    assert_int_equal(EVP_PKEY_get_base_id(peer_tmp), EVP_PKEY_DH);
    assert_int_equal(EVP_PKEY_get_bits(peer_tmp), 2048);
    EVP_PKEY_free(peer_tmp);
    h_send_recv(&p, p.client, p.server, "dhe", 3);
    h_pair_free(&p);

    assert_int_equal(tlsrig_ctx_load_tmp_dh(s, MISSING), TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_ctx_last_error(s)->sys_errno, ENOENT);
    assert_int_equal(tlsrig_ctx_load_tmp_dh(s, h_pki("root-ca.crt")), TLSRIG_ERR_SSL);
    assert_non_null(strstr(tlsrig_ctx_last_error(s)->message, "root-ca.crt"));
    assert_int_equal(tlsrig_ctx_load_tmp_dh(s, h_pki("server-p256.key")), TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_load_tmp_dh(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static int negotiated_group(h_pair *p)
{
    return SSL_get_negotiated_group(tlsrig_conn_get0_ssl(p->client));
}

static void set_tmp_ecdh(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int nid;
    } curves[] = {
        {"prime256v1", NID_X9_62_prime256v1},
        {"P-384", NID_secp384r1},
        {"secp384r1", NID_secp384r1},
        {"P-256", NID_X9_62_prime256v1},
    };
    tlsrig_ctx *c = h_client_ctx();
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        tlsrig_ctx *s = h_server_ctx("rsa");
        h_ctx_ok(s, tlsrig_ctx_set_tmp_ecdh(s, curves[i].name));
        for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
            h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, v));
            h_pair p;
            expect_handshake_ok(&p, c, s);
            if (negotiated_group(&p) != curves[i].nid)
                fail_msg("%s at 0x%x: negotiated %s", curves[i].name, v,
                         OBJ_nid2sn(negotiated_group(&p)));
            h_pair_free(&p);
        }
        tlsrig_ctx_free(s);
    }
    tlsrig_ctx *s = new_ctx(TLSRIG_TLS_METHOD);
    const char *bad[] = {"bogus-curve", "RSA", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tlsrig_ctx_set_tmp_ecdh(s, bad[i]), TLSRIG_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(tlsrig_ctx_last_error(s)->message, bad[i]));
    }
    assert_int_equal(tlsrig_ctx_set_tmp_ecdh(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(s);
    tlsrig_ctx_free(c);
}

static void set_groups(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx(), *s = h_server_ctx("rsa");
    h_pair p;
    h_ctx_ok(c, tlsrig_ctx_set_groups(c, "P-384"));
    expect_handshake_ok(&p, c, s);
    assert_int_equal(negotiated_group(&p), NID_secp384r1);
    h_pair_free(&p);

    h_ctx_ok(c, tlsrig_ctx_set_groups(c, "X25519:P-256"));
    expect_handshake_ok(&p, c, s);
    assert_int_equal(negotiated_group(&p), NID_X25519);
    h_pair_free(&p);

    /* No group in common: no key exchange possible. */
    h_ctx_ok(s, tlsrig_ctx_set_groups(s, "P-384"));
    h_ctx_ok(c, tlsrig_ctx_set_groups(c, "X25519"));
    expect_handshake_fails(&p, c, s);
    assert_int_equal(p.server_rc, TLSRIG_ERR_SSL);
    h_pair_free(&p);

    assert_int_equal(tlsrig_ctx_set_groups(c, "bogus"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(tlsrig_ctx_last_error(c)->message, "bogus"));
    assert_int_equal(tlsrig_ctx_set_groups(c, "X25519:nope"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_set_groups(c, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- ciphers ---- */

static void set_cipher_list(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx(), *s = h_server_ctx("rsa");
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
    h_pair p;
    const char *choices[] = {"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"};
    for (size_t i = 0; i < 2; i++) {
        h_ctx_ok(c, tlsrig_ctx_set_cipher_list(c, choices[i]));
        expect_handshake_ok(&p, c, s);
        assert_string_equal(tlsrig_conn_get_cipher_name(p.server), choices[i]);
        h_pair_free(&p);
    }
    tlsrig_ctx *x = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_set_cipher_list(x, "NOT-A-CIPHER"), TLSRIG_ERR_SSL);
    const tlsrig_error *e = tlsrig_ctx_last_error(x);
    assert_true(e->n_ssl > 0);
    assert_non_null(strstr(e->message, "NOT-A-CIPHER"));
    assert_int_equal(tlsrig_ctx_set_cipher_list(x, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(x);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void set_ciphersuites(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx(), *s = h_server_ctx("rsa");
    h_pair p;
    const char *choices[] = {"TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384"};
    for (size_t i = 0; i < 2; i++) {
        h_ctx_ok(c, tlsrig_ctx_set_ciphersuites(c, choices[i]));
        expect_handshake_ok(&p, c, s);
        assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_3_VERSION);
        assert_string_equal(tlsrig_conn_get_cipher_name(p.client), choices[i]);
        h_pair_free(&p);
    }
    assert_int_equal(tlsrig_ctx_set_ciphersuites(c, "TLS_NOT_A_SUITE"), TLSRIG_ERR_SSL);
    assert_non_null(strstr(tlsrig_ctx_last_error(c)->message, "TLS_NOT_A_SUITE"));
    assert_true(tlsrig_ctx_last_error(c)->n_ssl > 0);
    assert_true(tlsrig_ctx_set_ciphersuites(c, NULL) < 0);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- options and modes ---- */

static void options_set_and_clear(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx(), *s = h_server_ctx("rsa");
    SSL_CTX *sc = tlsrig_ctx_get0_ssl_ctx(c);
    uint64_t before = SSL_CTX_get_options(sc);
    assert_int_equal(before & TLSRIG_OP_NO_TLSv1_3, 0);
    /* set_options ORs in and returns the new bits. */
    uint64_t now = tlsrig_ctx_set_options(c, TLSRIG_OP_NO_TLSv1_3 | TLSRIG_OP_NO_TICKET);
    assert_int_equal(now, before | TLSRIG_OP_NO_TLSv1_3 | TLSRIG_OP_NO_TICKET);
    assert_int_equal(SSL_CTX_get_options(sc), now);
    assert_int_equal(tlsrig_ctx_set_options(c, 0), now);
    h_pair p;
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_2_VERSION);
    h_pair_free(&p);
    /* clear_options removes only the bits named. */
    now = tlsrig_ctx_clear_options(c, TLSRIG_OP_NO_TLSv1_3);
    assert_int_equal(now, before | TLSRIG_OP_NO_TICKET);
    assert_int_equal(SSL_CTX_get_options(sc), now);
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_3_VERSION);
    h_pair_free(&p);
    assert_int_equal(tlsrig_ctx_clear_options(c, TLSRIG_OP_NO_TICKET), before);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void set_mode(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    /* pyOpenSSL turns on partial writes for every context. */
    long initial = tlsrig_ctx_set_mode(ctx, 0);
    assert_int_equal(initial & TLSRIG_MODE_ENABLE_PARTIAL_WRITE, TLSRIG_MODE_ENABLE_PARTIAL_WRITE);
    assert_int_equal(initial & TLSRIG_MODE_RELEASE_BUFFERS, 0);
    long now = tlsrig_ctx_set_mode(ctx, TLSRIG_MODE_RELEASE_BUFFERS);
    assert_int_equal(now, initial | TLSRIG_MODE_RELEASE_BUFFERS);
    assert_int_equal((long)SSL_CTX_get_mode(tlsrig_ctx_get0_ssl_ctx(ctx)), now);
    /* Setting again is idempotent; 0 changes nothing. */
    assert_int_equal(tlsrig_ctx_set_mode(ctx, TLSRIG_MODE_RELEASE_BUFFERS), now);
    assert_int_equal(tlsrig_ctx_set_mode(ctx, 0), now);
    tlsrig_ctx_free(ctx);
}

/* ---- version bounds ---- */

static void proto_version_bounds(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_get_min_proto_version(ctx), 0);
    assert_int_equal(tlsrig_ctx_get_max_proto_version(ctx), 0);
    h_ctx_ok(ctx, tlsrig_ctx_set_min_proto_version(ctx, TLSRIG_VERSION_TLS1_2));
    h_ctx_ok(ctx, tlsrig_ctx_set_max_proto_version(ctx, TLSRIG_VERSION_TLS1_3));
    assert_int_equal(tlsrig_ctx_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(tlsrig_ctx_get_max_proto_version(ctx), TLS1_3_VERSION);
    const int bogus[] = {0x1234, -1, 0x0305, 0x0200, DTLS1_VERSION, DTLS1_2_VERSION};
    for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
        assert_int_equal(tlsrig_ctx_set_min_proto_version(ctx, bogus[i]),
                         TLSRIG_ERR_INVALID_ARGUMENT);
        assert_int_equal(tlsrig_ctx_set_max_proto_version(ctx, bogus[i]),
                         TLSRIG_ERR_INVALID_ARGUMENT);
        /* Unchanged by the refusal. */
        assert_int_equal(tlsrig_ctx_get_min_proto_version(ctx), TLS1_2_VERSION);
        assert_int_equal(tlsrig_ctx_get_max_proto_version(ctx), TLS1_3_VERSION);
    }
    /* 0 removes the bound. */
    h_ctx_ok(ctx, tlsrig_ctx_set_min_proto_version(ctx, 0));
    h_ctx_ok(ctx, tlsrig_ctx_set_max_proto_version(ctx, 0));
    assert_int_equal(tlsrig_ctx_get_min_proto_version(ctx), 0);
    assert_int_equal(tlsrig_ctx_get_max_proto_version(ctx), 0);
    tlsrig_ctx_free(ctx);
}

static void proto_version_mismatch_fails(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx(), *s = h_server_ctx("rsa");
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
    h_pair p;
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.server), TLS1_2_VERSION);
    h_pair_free(&p);
    /* Client at most TLS 1.2, server at least TLS 1.3: no common version; the server
     * answers with a protocol_version alert (RFC 8446 §4.2.1). */
    h_ctx_ok(s, tlsrig_ctx_set_min_proto_version(s, TLS1_3_VERSION));
    expect_handshake_fails(&p, c, s);
    assert_int_equal(p.server_rc, TLSRIG_ERR_SSL);
    assert_int_equal(p.client_rc, TLSRIG_ERR_SSL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- session settings ---- */

static void set_session_id(void **state)
{
    (void)state;
    uint8_t id[33];
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)(0xA0 + i);
    tlsrig_ctx *s = h_server_ctx("rsa");
    assert_int_equal(tlsrig_ctx_set_session_id(s, id, 33), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(tlsrig_ctx_last_error(s)->message, "33"));
    assert_int_equal(tlsrig_ctx_set_session_id(s, NULL, 4), TLSRIG_ERR_INVALID_ARGUMENT);
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, id, 32));

    /* The id context is stamped on the sessions the server makes. */
    tlsrig_ctx *c = h_client_ctx();
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
    h_pair p;
    expect_handshake_ok(&p, c, s);
    SSL_SESSION *sess = SSL_get_session(tlsrig_conn_get0_ssl(p.server));
    assert_non_null(sess);
    unsigned int len = 0;
    const unsigned char *got = SSL_SESSION_get0_id_context(sess, &len);
    assert_int_equal(len, 32);
    assert_memory_equal(got, id, 32);
    h_pair_free(&p);

    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, id + 1, 5));
    expect_handshake_ok(&p, c, s);
    got = SSL_SESSION_get0_id_context(SSL_get_session(tlsrig_conn_get0_ssl(p.server)), &len);
    assert_int_equal(len, 5);
    assert_memory_equal(got, id + 1, 5);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void session_cache_mode_and_timeout(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa");
    long mode0 = tlsrig_ctx_get_session_cache_mode(s);
    assert_int_equal(mode0, TLSRIG_SESS_CACHE_SERVER); /* OpenSSL's default */
    assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_BOTH), mode0);
    assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_OFF),
                     TLSRIG_SESS_CACHE_BOTH);
    assert_int_equal(tlsrig_ctx_get_session_cache_mode(s), TLSRIG_SESS_CACHE_OFF);
    assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_SERVER |
                                                              TLSRIG_SESS_CACHE_NO_AUTO_CLEAR),
                     TLSRIG_SESS_CACHE_OFF);
    assert_int_equal(tlsrig_ctx_get_session_cache_mode(s),
                     TLSRIG_SESS_CACHE_SERVER | TLSRIG_SESS_CACHE_NO_AUTO_CLEAR);

    long t0 = tlsrig_ctx_get_timeout(s);
    assert_true(t0 > 0);
    assert_int_equal(tlsrig_ctx_set_timeout(s, 60), t0);
    assert_int_equal(tlsrig_ctx_set_timeout(s, 120), 60);
    assert_int_equal(tlsrig_ctx_get_timeout(s), 120);
    /* New sessions get the context's timeout. */
    tlsrig_ctx *c = h_client_ctx();
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
    h_pair p;
    expect_handshake_ok(&p, c, s);
    assert_int_equal(SSL_SESSION_get_timeout(SSL_get_session(tlsrig_conn_get0_ssl(p.server))), 120);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void num_tickets(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa"), *c = h_client_ctx();
    assert_int_equal(tlsrig_ctx_get_num_tickets(s), 2); /* OpenSSL's default */
    h_ctx_ok(s, tlsrig_ctx_set_num_tickets(s, 3));
    assert_int_equal(tlsrig_ctx_get_num_tickets(s), 3);
    h_pair p;
    expect_handshake_ok(&p, c, s);
    tlsrig_session *sess = client_session_after_tickets(&p);
    assert_non_null(sess);
    assert_int_equal(tlsrig_session_is_resumable(sess), 1);
    tlsrig_session_free(sess);
    h_pair_free(&p);

    /* No tickets: the TLS 1.3 client has nothing to resume with (RFC 8446 §4.6.1). */
    h_ctx_ok(s, tlsrig_ctx_set_num_tickets(s, 0));
    assert_int_equal(tlsrig_ctx_get_num_tickets(s), 0);
    expect_handshake_ok(&p, c, s);
    sess = client_session_after_tickets(&p);
    if (sess != NULL) {
        assert_int_equal(tlsrig_session_is_resumable(sess), 0);
        tlsrig_session_free(sess);
    }
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void app_data(void **state)
{
    (void)state;
    tlsrig_ctx *a = new_ctx(TLSRIG_TLS_METHOD), *b = new_ctx(TLSRIG_TLS_METHOD);
    int x = 1, y = 2;
    assert_null(tlsrig_ctx_get_app_data(a));
    tlsrig_ctx_set_app_data(a, &x);
    tlsrig_ctx_set_app_data(b, &y);
    assert_ptr_equal(tlsrig_ctx_get_app_data(a), &x);
    assert_ptr_equal(tlsrig_ctx_get_app_data(b), &y);
    /* A connection's app data is its own. */
    tlsrig_conn *conn = NULL;
    h_ctx_ok(a, tlsrig_conn_new(a, -1, &conn));
    assert_null(tlsrig_conn_get_app_data(conn));
    assert_ptr_equal(tlsrig_ctx_get_app_data(tlsrig_conn_get_context(conn)), &x);
    tlsrig_conn_free(conn);
    tlsrig_ctx_set_app_data(a, NULL);
    assert_null(tlsrig_ctx_get_app_data(a));
    assert_ptr_equal(tlsrig_ctx_get_app_data(b), &y);
    tlsrig_ctx_free(a);
    tlsrig_ctx_free(b);
}

/* ---- ALPN ---- */

static void set_alpn_protos(void **state)
{
    (void)state;
    uint8_t hello[4096];
    tlsrig_ctx *c = new_ctx(TLSRIG_TLS_CLIENT_METHOD);
    /* The ALPN extension (RFC 7301 §3.1): type 16, then the length-prefixed list. */
    static const uint8_t ext[] = {0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h', '2',
                                  0x08, 'h',  't',  't',  'p',  '/',  '1',  '.', '1'};
    size_t n = client_hello(c, hello, sizeof(hello));
    assert_null(memmem(hello, n, ext, 2 + 2)); /* no ALPN offered by default */

    const tlsrig_bytes protos[] = {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"http/1.1", 8}};
    h_ctx_ok(c, tlsrig_ctx_set_alpn_protos(c, protos, 2));
    n = client_hello(c, hello, sizeof(hello));
    if (memmem(hello, n, ext, sizeof(ext)) == NULL)
        fail_msg("ClientHello does not carry the ALPN list h2, http/1.1");

    /* n == 0 offers none again. */
    h_ctx_ok(c, tlsrig_ctx_set_alpn_protos(c, NULL, 0));
    n = client_hello(c, hello, sizeof(hello));
    assert_null(memmem(hello, n, ext + 6, sizeof(ext) - 6));

    /* Each protocol is 1..255 bytes (RFC 7301 §3.1: empty strings MUST NOT be included). */
    uint8_t big[256];
    memset(big, 'a', sizeof(big));
    const tlsrig_bytes empty[] = {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"", 0}};
    const tlsrig_bytes too_long[] = {{big, 256}};
    const tlsrig_bytes longest[] = {{big, 255}};
    assert_int_equal(tlsrig_ctx_set_alpn_protos(c, empty, 2), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_last_error(c)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_set_alpn_protos(c, too_long, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_set_alpn_protos(c, NULL, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    h_ctx_ok(c, tlsrig_ctx_set_alpn_protos(c, longest, 1));
    n = client_hello(c, hello, sizeof(hello));
    const uint8_t entry[] = {0xff, 'a', 'a', 'a', 'a'};
    assert_non_null(memmem(hello, n, entry, sizeof(entry)));
    tlsrig_ctx_free(c);
}

/* ---- TLS 1.3 extras ---- */

static void post_handshake_auth(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_ctx_ok(s, tlsrig_ctx_load_verify_locations(s, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(
        s, tlsrig_ctx_set_verify(s, TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_POST_HANDSHAKE, NULL, NULL));
    h_pair p;

    /* Without the client's post_handshake_auth extension the server cannot ask later
     * (RFC 8446 §4.6.2). */
    tlsrig_ctx *c = h_client_ctx();
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_verify_client_post_handshake(p.server), TLSRIG_ERR_SSL);
    h_pair_free(&p);

    h_ctx_ok(c, tlsrig_ctx_set_post_handshake_auth(c, 1));
    expect_handshake_ok(&p, c, s);
    h_conn_ok(p.server, tlsrig_conn_verify_client_post_handshake(p.server));
    h_pair_free(&p);

    /* Turning it off again removes the extension. */
    h_ctx_ok(c, tlsrig_ctx_set_post_handshake_auth(c, 0));
    expect_handshake_ok(&p, c, s);
    assert_int_equal(tlsrig_conn_verify_client_post_handshake(p.server), TLSRIG_ERR_SSL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void max_early_data(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("rsa"), *c = h_client_ctx();
    SSL_CTX *ss = tlsrig_ctx_get0_ssl_ctx(s);
    h_ctx_ok(s, tlsrig_ctx_set_max_early_data(s, 1024));
    assert_int_equal(SSL_CTX_get_max_early_data(ss), 1024);
    assert_int_equal(SSL_CTX_get_recv_max_early_data(ss), 1024);
    /* The limit is announced in the tickets (RFC 8446 §4.6.1 early_data extension). */
    h_pair p;
    expect_handshake_ok(&p, c, s);
    tlsrig_session *sess = client_session_after_tickets(&p);
    assert_non_null(sess);
    assert_int_equal(SSL_SESSION_get_max_early_data(tlsrig_session_get0_ssl_session(sess)), 1024);
    tlsrig_session_free(sess);
    h_pair_free(&p);

    /* 0 disables early data: the tickets allow none. */
    h_ctx_ok(s, tlsrig_ctx_set_max_early_data(s, 0));
    assert_int_equal(SSL_CTX_get_max_early_data(ss), 0);
    expect_handshake_ok(&p, c, s);
    sess = client_session_after_tickets(&p);
    assert_non_null(sess);
    assert_int_equal(SSL_SESSION_get_max_early_data(tlsrig_session_get0_ssl_session(sess)), 0);
    tlsrig_session_free(sess);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- hostname checking ---- */

static void check_hostname(void **state)
{
    (void)state;
    tlsrig_ctx *c = new_ctx(TLSRIG_TLS_CLIENT_METHOD);
    assert_int_equal(tlsrig_ctx_get_check_hostname(c), 0);
    /* It needs VERIFY_PEER first, as in Python's ssl. */
    assert_int_equal(tlsrig_ctx_set_check_hostname(c, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_get_check_hostname(c), 0);
    h_ctx_ok(c, tlsrig_ctx_load_verify_locations(c, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(c, tlsrig_ctx_set_verify(c, TLSRIG_VERIFY_PEER, NULL, NULL));
    h_ctx_ok(c, tlsrig_ctx_set_check_hostname(c, 1));
    assert_int_equal(tlsrig_ctx_get_check_hostname(c), 1);
    /* While it is on, verification cannot be switched off. */
    assert_int_equal(tlsrig_ctx_set_verify(c, TLSRIG_VERIFY_NONE, NULL, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_get_verify_mode(c), TLSRIG_VERIFY_PEER);

    /* On: a name mismatch fails; off: the same connection setup succeeds. */
    tlsrig_ctx *s = h_server_ctx("rsa");
    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, "wrong.example"));
    assert_int_not_equal(h_handshake(&p), 0);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_ERR_HOSTNAME_MISMATCH);
    h_pair_free(&p);

    h_ctx_ok(c, tlsrig_ctx_set_check_hostname(c, 0));
    assert_int_equal(tlsrig_ctx_get_check_hostname(c), 0);
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, "wrong.example"));
    int rc = h_handshake(&p);
    if (rc != 0)
        fail_msg("handshake with check_hostname off: %s", tlsrig_err_name(rc));
    h_pair_free(&p);
    h_ctx_ok(c, tlsrig_ctx_set_verify(c, TLSRIG_VERIFY_NONE, NULL, NULL));
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- the underlying SSL_CTX ---- */

static void get0_ssl_ctx(void **state)
{
    (void)state;
    tlsrig_ctx *a = new_ctx(TLSRIG_TLS_METHOD), *b = new_ctx(TLSRIG_TLS_METHOD);
    SSL_CTX *sa = tlsrig_ctx_get0_ssl_ctx(a);
    assert_non_null(sa);
    assert_ptr_not_equal(sa, tlsrig_ctx_get0_ssl_ctx(b));
    /* It is the live object: a change made on it is what the wrapper reports, and its
     * connections run on it. */
    SSL_CTX_set_options(sa, SSL_OP_NO_RENEGOTIATION);
    assert_int_equal(tlsrig_ctx_set_options(a, 0) & TLSRIG_OP_NO_RENEGOTIATION,
                     TLSRIG_OP_NO_RENEGOTIATION);
    assert_int_equal(tlsrig_ctx_set_options(b, 0) & TLSRIG_OP_NO_RENEGOTIATION, 0);
    tlsrig_conn *conn = NULL;
    h_ctx_ok(a, tlsrig_conn_new(a, -1, &conn));
    assert_ptr_equal(SSL_get_SSL_CTX(tlsrig_conn_get0_ssl(conn)), sa);
    tlsrig_conn_free(conn);
    tlsrig_ctx_free(a);
    tlsrig_ctx_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctx_new_every_method),
        cmocka_unit_test(ctx_new_tlsv1_2_method_negotiates_only_tls12),
        cmocka_unit_test(ctx_new_sslv2_sslv3_unsupported),
        cmocka_unit_test(ctx_new_unknown_method),
        cmocka_unit_test(ctx_new_ex_with_det),
        cmocka_unit_test(ctx_new_ex_bad_arguments),
        cmocka_unit_test_teardown(ctx_new_ex_null_det_ignores_deterministic_mode, det_teardown),
        cmocka_unit_test(default_client),
        cmocka_unit_test(default_client_does_not_trust_test_root),
        cmocka_unit_test(default_server),
        cmocka_unit_test(up_ref_and_free),
        cmocka_unit_test(last_error_after_failures),
        cmocka_unit_test(use_certificate_object),
        cmocka_unit_test(use_certificate_file_pem_and_asn1),
        cmocka_unit_test(use_certificate_chain_file),
        cmocka_unit_test(add_extra_chain_cert),
        cmocka_unit_test(use_privatekey_object),
        cmocka_unit_test(use_privatekey_file),
        cmocka_unit_test(check_privatekey),
        cmocka_unit_test(passwd_cb_right_password),
        cmocka_unit_test(passwd_cb_wrong_password),
        cmocka_unit_test(passwd_cb_raises),
        cmocka_unit_test(load_verify_locations),
        cmocka_unit_test(set_default_verify_paths),
        cmocka_unit_test(get_cert_store),
        cmocka_unit_test(set_verify_modes),
        cmocka_unit_test(set_verify_on_server),
        cmocka_unit_test(verify_depth),
        cmocka_unit_test(client_ca_list),
        cmocka_unit_test(load_tmp_dh_and_dhe_handshake),
        cmocka_unit_test(set_tmp_ecdh),
        cmocka_unit_test(set_groups),
        cmocka_unit_test(set_cipher_list),
        cmocka_unit_test(set_ciphersuites),
        cmocka_unit_test(options_set_and_clear),
        cmocka_unit_test(set_mode),
        cmocka_unit_test(proto_version_bounds),
        cmocka_unit_test(proto_version_mismatch_fails),
        cmocka_unit_test(set_session_id),
        cmocka_unit_test(session_cache_mode_and_timeout),
        cmocka_unit_test(num_tickets),
        cmocka_unit_test(app_data),
        cmocka_unit_test(set_alpn_protos),
        cmocka_unit_test(post_handshake_auth),
        cmocka_unit_test(max_early_data),
        cmocka_unit_test(check_hostname),
        cmocka_unit_test(get0_ssl_ctx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
