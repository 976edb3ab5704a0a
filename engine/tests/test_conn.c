/*
 * test_conn.c - the connection I/O functions of conn.c: creation and accessors, the handshake
 * in every protocol version and key type, pyOpenSSL's memory-BIO and socket I/O semantics,
 * every shutdown state, TLS 1.2 renegotiation, TLS 1.3 key update, post-handshake client
 * authentication and early data.
 *
 * Each test gets a zeroed fixture (setup/teardown) that owns everything it creates, so a
 * failing assertion still frees it all and restores the real clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "harness.h"

/* Handshake message types (RFC 8446 §4, RFC 5246 §7.4) and alert descriptions used below. */
enum {
    HT_HELLO_REQUEST = 0,
    HT_CLIENT_HELLO = 1,
    HT_CERTIFICATE = 11,
    HT_CERTIFICATE_REQUEST = 13,
    HT_KEY_UPDATE = 24,
    AD_CLOSE_NOTIFY = 0,
    AD_HANDSHAKE_FAILURE = 40,
    AD_PROTOCOL_VERSION = 70,
    AD_NO_RENEGOTIATION = 100,
    AD_CERTIFICATE_REQUIRED = 116,
    LEVEL_WARNING = 1,
    LEVEL_FATAL = 2,
};

#define MAX_RECORD 16384 /* TLS plaintext record limit, RFC 8446 §5.1 */
#define BIG (100 * 1024)

/* ---- observer: counts of what each side sent and received ---- */

typedef struct obs {
    int hs[2][2][256];       /* [is_server][sent][handshake type] */
    int ku[2][2][2];         /* KeyUpdate: [is_server][sent][request_update] */
    int alert[2][2][3][256]; /* [is_server][sent][level][description] */
} obs;

static void observe(tlsrig_conn *conn, const tlsrig_observe_event *ev, void *arg)
{
    (void)conn;
    obs *o = arg;
    int s = ev->is_server ? 1 : 0, d = ev->sent ? 1 : 0;
    if (ev->kind == TLSRIG_OBSERVE_HANDSHAKE && ev->handshake_type >= 0 &&
        ev->handshake_type < 256) {
        o->hs[s][d][ev->handshake_type]++;
        /* KeyUpdate body: one byte, request_update (RFC 8446 §4.6.3). */
        if (ev->handshake_type == HT_KEY_UPDATE && ev->len == 5 && ev->data[4] <= 1)
            o->ku[s][d][ev->data[4]]++;
    } else if (ev->kind == TLSRIG_OBSERVE_ALERT && ev->alert_level >= 1 && ev->alert_level <= 2 &&
               ev->alert_desc >= 0 && ev->alert_desc < 256) {
        o->alert[s][d][ev->alert_level][ev->alert_desc]++;
    }
}

/* ---- fixture ---- */

typedef struct fx {
    tlsrig_ctx *c, *s, *c2, *s2;
    h_pair p, p2;
    tlsrig_conn *sc, *ss; /* connections over a socketpair */
    int fd[2];
    tlsrig_session *sess;
    X509 *x509;
    uint8_t *big, *got;
    uint8_t *flight; /* a client's first flight, kept by ed_attempt */
    size_t flight_len;
    obs o;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->fd[0] = f->fd[1] = -1;
    *state = f;
    return 0;
}

static void free_pairs(fx *f)
{
    h_pair_free(&f->p);
    h_pair_free(&f->p2);
}

static void free_ctxs(fx *f)
{
    tlsrig_ctx_free(f->c);
    tlsrig_ctx_free(f->s);
    tlsrig_ctx_free(f->c2);
    tlsrig_ctx_free(f->s2);
    f->c = f->s = f->c2 = f->s2 = NULL;
}

static int teardown(void **state)
{
    fx *f = *state;
    free_pairs(f);
    tlsrig_conn_free(f->sc);
    tlsrig_conn_free(f->ss);
    for (int i = 0; i < 2; i++)
        if (f->fd[i] >= 0)
            close(f->fd[i]);
    tlsrig_session_free(f->sess);
    X509_free(f->x509);
    free_ctxs(f);
    free(f->big);
    free(f->got);
    free(f->flight);
    free(f);
    tlsrig_clock_real();
    return 0;
}

/* ---- helpers ---- */

static int err_mentions(const tlsrig_error *e, const char *needle)
{
    if (strstr(e->message, needle) != NULL)
        return 1;
    for (size_t i = 0; i < e->n_ssl; i++)
        if (strstr(e->ssl[i].reason, needle) != NULL)
            return 1;
    return 0;
}

/* expect_err checks that |rc| is the tlsrig_err |code|, that the connection's last error
 * records the same code and, when |needle| is not NULL, that its message or OpenSSL's queue
 * mentions |needle|. expect_saved does the same on a copy of an error record. */
#define expect_err(conn, rc, code, needle)                                                         \
    check_err(tlsrig_conn_last_error(conn), (rc), (code), (needle), #rc, __FILE__, __LINE__)
#define expect_saved(err, rc, code, needle)                                                        \
    check_err((err), (rc), (code), (needle), #rc, __FILE__, __LINE__)
static void check_err(const tlsrig_error *e, int rc, int code, const char *needle, const char *what,
                      const char *file, int line)
{
    if (rc != code)
        fail_msg("%s:%d: %s: expected %s, got %s (%d): \"%s\"", file, line, what,
                 tlsrig_err_name(code), tlsrig_err_name(rc), rc, e->message);
    if (e->code != code)
        fail_msg("%s:%d: %s: last_error code expected %s, got %s (\"%s\")", file, line, what,
                 tlsrig_err_name(code), tlsrig_err_name(e->code), e->message);
    if (needle != NULL && !err_mentions(e, needle))
        fail_msg("%s:%d: %s: expected the error to mention \"%s\", got \"%s\"", file, line, what,
                 needle, e->message);
}

static tlsrig_ctx *new_ctx(int method)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    int rc = tlsrig_ctx_new(method, &ctx, &err);
    if (rc < 0)
        fail_msg("tlsrig_ctx_new(%d): %s: %s", method, tlsrig_err_name(rc), err.message);
    return ctx;
}

/* A server context on |method| with the leaf of |kind| and its chain. */
static tlsrig_ctx *server_ctx(int method, const char *kind)
{
    char chain[64], key[64];
    tlsrig_ctx *ctx = new_ctx(method);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    h_ctx_ok(ctx, tlsrig_ctx_use_certificate_chain_file(ctx, h_pki(chain)));
    h_ctx_ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, h_pki(key), TLSRIG_FILETYPE_PEM));
    return ctx;
}

/* A client context on |method| that verifies the server against the test root. */
static tlsrig_ctx *client_ctx(int method)
{
    tlsrig_ctx *ctx = new_ctx(method);
    h_ctx_ok(ctx, tlsrig_ctx_load_verify_locations(ctx, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL));
    return ctx;
}

/* OpenSSL 3 forbids the SHA-1 signatures TLS 1.0/1.1 need from security level 1 up. */
static void legacy_ciphers(tlsrig_ctx *ctx)
{
    h_ctx_ok(ctx, tlsrig_ctx_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"));
}

/* pin bounds |ctx| to exactly |version|, with the cipher list an old version needs. */
static void pin(tlsrig_ctx *ctx, int version)
{
    h_ctx_ok(ctx, tlsrig_ctx_set_min_proto_version(ctx, version));
    h_ctx_ok(ctx, tlsrig_ctx_set_max_proto_version(ctx, version));
    if (version < TLS1_2_VERSION)
        legacy_ciphers(ctx);
}

static void handshake_ok(h_pair *p)
{
    int rc = h_handshake(p);
    if (rc != 0)
        fail_msg("handshake: %s / client: \"%s\" / server: \"%s\"", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->client)->message,
                 tlsrig_conn_last_error(p->server)->message);
}

/* failed_handshake drives |p| like h_handshake but keeps a copy of each side's error record
 * from the moment its do_handshake failed (moving bytes afterwards runs bio_read, which starts
 * a new record). Returns 1 when both sides failed, 0 when the handshake completed. */
static int failed_handshake(h_pair *p, tlsrig_error saved[2])
{
    tlsrig_conn *side[2] = {p->client, p->server};
    int rc[2] = {TLSRIG_ERR_WANT_READ, TLSRIG_ERR_WANT_READ};
    memset(saved, 0, 2 * sizeof(saved[0]));
    for (int round = 0; round < 16; round++) {
        size_t moved = 0;
        for (int i = 0; i < 2; i++) {
            if (rc[i] == TLSRIG_ERR_WANT_READ) {
                rc[i] = tlsrig_conn_do_handshake(side[i]);
                saved[i] = *tlsrig_conn_last_error(side[i]);
            }
            moved += h_move(p, side[i], side[!i]);
        }
        if (moved == 0)
            break;
    }
    p->client_rc = rc[0];
    p->server_rc = rc[1];
    if (rc[0] == 0 && rc[1] == 0)
        return 0;
    if (rc[0] >= 0 || rc[1] >= 0 || rc[0] == TLSRIG_ERR_WANT_READ || rc[1] == TLSRIG_ERR_WANT_READ)
        fail_msg("expected both sides to fail: client %s (\"%s\"), server %s (\"%s\")",
                 tlsrig_err_name(rc[0]), saved[0].message, tlsrig_err_name(rc[1]),
                 saved[1].message);
    return 1;
}

/* connected builds f->p on fresh f->c / f->s (server key "p256") bounded to |version| (0: no
 * bound), observed into f->o, and completes the handshake. */
static void connected(fx *f, int version)
{
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    if (version != 0) {
        pin(f->c, version);
        pin(f->s, version);
    }
    tlsrig_ctx_set_observer(f->c, observe, &f->o);
    tlsrig_ctx_set_observer(f->s, observe, &f->o);
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    if (version != 0)
        assert_int_equal(tlsrig_conn_get_protocol_version(f->p.client), version);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31u + seed + (i >> 8));
}

/* expect_no_data: |conn| has nothing to read (a recv is WANT_READ). */
static void expect_no_data(tlsrig_conn *conn)
{
    uint8_t buf[64];
    expect_err(conn, tlsrig_conn_recv(conn, buf, sizeof(buf), 0), TLSRIG_ERR_WANT_READ, NULL);
}

static X509 *load_cert(const char *file)
{
    X509 *x = NULL;
    tlsrig_error err;
    int rc = tlsrig_x509_load_file(h_pki(file), TLSRIG_FILETYPE_PEM, &x, &err);
    if (rc < 0)
        fail_msg("load %s: %s", file, err.message);
    return x;
}

static void make_socketpair(fx *f)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, f->fd) != 0)
        fail_msg("socketpair: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(f->fd[i], F_GETFL);
        if (fl < 0 || fcntl(f->fd[i], F_SETFL, fl | O_NONBLOCK) != 0)
            fail_msg("fcntl: %s", strerror(errno));
    }
}

/* socket_connected: f->sc (client) and f->ss (server) over a non-blocking socketpair,
 * handshake done. */
static void socket_connected(fx *f)
{
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    make_socketpair(f);
    h_ctx_ok(f->c, tlsrig_conn_new(f->c, f->fd[0], &f->sc));
    h_ctx_ok(f->s, tlsrig_conn_new(f->s, f->fd[1], &f->ss));
    tlsrig_conn_set_connect_state(f->sc);
    tlsrig_conn_set_accept_state(f->ss);
    int rc_c = TLSRIG_ERR_WANT_READ, rc_s = TLSRIG_ERR_WANT_READ;
    for (int i = 0; i < 32 && (rc_c != 0 || rc_s != 0); i++) {
        if (rc_c != 0)
            rc_c = tlsrig_conn_do_handshake(f->sc);
        if (rc_s != 0)
            rc_s = tlsrig_conn_do_handshake(f->ss);
        if (rc_c != 0 && rc_c != TLSRIG_ERR_WANT_READ)
            fail_msg("client handshake: %s", tlsrig_conn_last_error(f->sc)->message);
        if (rc_s != 0 && rc_s != TLSRIG_ERR_WANT_READ)
            fail_msg("server handshake: %s", tlsrig_conn_last_error(f->ss)->message);
    }
    assert_int_equal(rc_c, 0);
    assert_int_equal(rc_s, 0);
}

/* ======================================================================================
 * Handshake: versions, methods, key types, mismatches
 * ====================================================================================== */

static const struct {
    int version;
    const char *name;
} versions[] = {
    {TLS1_VERSION, "TLSv1"},
    {TLS1_1_VERSION, "TLSv1.1"},
    {TLS1_2_VERSION, "TLSv1.2"},
    {TLS1_3_VERSION, "TLSv1.3"},
};

/* expect_version: both sides agree on |version| and application data flows both ways. */
static void expect_version(h_pair *p, int version, const char *name)
{
    assert_int_equal(tlsrig_conn_get_protocol_version(p->client), version);
    assert_int_equal(tlsrig_conn_get_protocol_version(p->server), version);
    assert_string_equal(tlsrig_conn_get_protocol_version_name(p->client), name);
    assert_string_equal(tlsrig_conn_get_protocol_version_name(p->server), name);
    h_send_recv(p, p->client, p->server, "client says hi", 14);
    h_send_recv(p, p->server, p->client, "server says hi", 14);
}

static void hs_each_version_tls_method_bounds(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        f->c = client_ctx(TLSRIG_TLS_METHOD);
        f->s = server_ctx(TLSRIG_TLS_METHOD, "rsa");
        pin(f->c, versions[i].version);
        pin(f->s, versions[i].version);
        h_pair_new(&f->p, f->c, f->s);
        handshake_ok(&f->p);
        expect_version(&f->p, versions[i].version, versions[i].name);
        free_pairs(f);
        free_ctxs(f);
    }
}

static const struct {
    int method;
    int version;
    const char *name;
} pinned[] = {
    {TLSRIG_TLSV1_METHOD, TLS1_VERSION, "TLSv1"},
    {TLSRIG_TLSV1_1_METHOD, TLS1_1_VERSION, "TLSv1.1"},
    {TLSRIG_TLSV1_2_METHOD, TLS1_2_VERSION, "TLSv1.2"},
};

static void hs_each_version_pinned_methods(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
        f->c = client_ctx(pinned[i].method);
        f->s = server_ctx(pinned[i].method, "rsa");
        if (pinned[i].version < TLS1_2_VERSION) {
            legacy_ciphers(f->c);
            legacy_ciphers(f->s);
        }
        h_pair_new(&f->p, f->c, f->s);
        handshake_ok(&f->p);
        expect_version(&f->p, pinned[i].version, pinned[i].name);
        free_pairs(f);
        free_ctxs(f);
    }
}

/* A pinned side against a flexible TLS_METHOD side negotiates the pinned version, whichever
 * side is pinned. */
static void hs_pinned_against_flexible(void **state)
{
    fx *f = *state;
    for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
        for (int pinned_client = 0; pinned_client <= 1; pinned_client++) {
            f->c = client_ctx(pinned_client ? pinned[i].method : TLSRIG_TLS_METHOD);
            f->s = server_ctx(pinned_client ? TLSRIG_TLS_METHOD : pinned[i].method, "p256");
            legacy_ciphers(f->c);
            legacy_ciphers(f->s);
            h_pair_new(&f->p, f->c, f->s);
            handshake_ok(&f->p);
            expect_version(&f->p, pinned[i].version, pinned[i].name);
            free_pairs(f);
            free_ctxs(f);
        }
    }
}

static void hs_flexible_negotiates_tls13(void **state)
{
    fx *f = *state;
    connected(f, 0);
    expect_version(&f->p, TLS1_3_VERSION, "TLSv1.3");
}

/* mismatch runs a handshake that must fail on both sides, with the server sending a fatal
 * protocol_version alert (RFC 8446 §4.2.1, RFC 5246 §E.1). */
static void mismatch(fx *f, const char *server_reason)
{
    tlsrig_ctx_set_observer(f->s, observe, &f->o);
    tlsrig_error saved[2];
    h_pair_new(&f->p, f->c, f->s);
    if (!failed_handshake(&f->p, saved))
        fail_msg("the handshake succeeded with %s",
                 tlsrig_conn_get_protocol_version_name(f->p.client));
    expect_saved(&saved[1], f->p.server_rc, TLSRIG_ERR_SSL, server_reason);
    /* The client names the alert it received. */
    expect_saved(&saved[0], f->p.client_rc, TLSRIG_ERR_SSL, "alert protocol version");
    assert_int_equal(f->o.alert[1][1][LEVEL_FATAL][AD_PROTOCOL_VERSION], 1);
}

static void hs_mismatch_tls12_method_vs_tls13_only(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLSV1_2_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_ctx_ok(f->s, tlsrig_ctx_set_min_proto_version(f->s, TLS1_3_VERSION));
    mismatch(f, "unsupported protocol");
}

static void hs_mismatch_tls13_only_vs_tls12_method(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(f->c, tlsrig_ctx_set_min_proto_version(f->c, TLS1_3_VERSION));
    f->s = server_ctx(TLSRIG_TLSV1_2_METHOD, "p256");
    mismatch(f, "unsupported protocol");
}

static void hs_mismatch_tls10_vs_tls12(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLSV1_METHOD);
    legacy_ciphers(f->c);
    f->s = server_ctx(TLSRIG_TLSV1_2_METHOD, "p256");
    legacy_ciphers(f->s);
    mismatch(f, "unsupported protocol");
}

static const struct {
    const char *kind;
    int pkey_id;
    const char *group; /* EC curve, else NULL */
} key_kinds[] = {
    {"rsa", EVP_PKEY_RSA, NULL},
    {"p256", EVP_PKEY_EC, "prime256v1"},
    {"p384", EVP_PKEY_EC, "secp384r1"},
    {"ed25519", EVP_PKEY_ED25519, NULL},
};

/* Each key type under TLS 1.2 and 1.3: the client receives exactly that leaf, verifies it,
 * and the server's signature was made with that key type. */
static void hs_each_key_type(void **state)
{
    fx *f = *state;
    static const int vs[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (size_t k = 0; k < sizeof(key_kinds) / sizeof(key_kinds[0]); k++) {
        char crt[64];
        snprintf(crt, sizeof(crt), "server-%s.crt", key_kinds[k].kind);
        f->x509 = load_cert(crt);
        for (size_t v = 0; v < 2; v++) {
            f->c = client_ctx(TLSRIG_TLS_METHOD);
            f->s = server_ctx(TLSRIG_TLS_METHOD, key_kinds[k].kind);
            pin(f->c, vs[v]);
            h_pair_new(&f->p, f->c, f->s);
            handshake_ok(&f->p);
            assert_int_equal(tlsrig_conn_get_protocol_version(f->p.client), vs[v]);
            assert_int_equal(tlsrig_conn_get_verify_result(f->p.client), X509_V_OK);
            X509 *peer = tlsrig_conn_get_peer_certificate(f->p.client);
            assert_non_null(peer);
            int same = X509_cmp(peer, f->x509) == 0;
            EVP_PKEY *pk = X509_get0_pubkey(peer);
            int id = pk != NULL ? EVP_PKEY_get_base_id(pk) : -1;
            char group[64] = "";
            size_t glen = 0;
            if (pk != NULL && id == EVP_PKEY_EC)
                EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen);
            X509_free(peer);
            if (!same)
                fail_msg("%s: the client got another certificate than %s", key_kinds[k].kind, crt);
            assert_int_equal(id, key_kinds[k].pkey_id);
            if (key_kinds[k].group != NULL)
                assert_string_equal(group, key_kinds[k].group);
            int sig = 0;
            assert_int_equal(
                SSL_get_peer_signature_type_nid(tlsrig_conn_get0_ssl(f->p.client), &sig), 1);
            /* OpenSSL signs with RSA-PSS whenever the peer allows it (always in 1.3). */
            int want_sig =
                key_kinds[k].pkey_id == EVP_PKEY_RSA ? EVP_PKEY_RSA_PSS : key_kinds[k].pkey_id;
            assert_int_equal(sig, want_sig);
            h_send_recv(&f->p, f->p.client, f->p.server, "key type", 8);
            free_pairs(f);
            free_ctxs(f);
        }
        X509_free(f->x509);
        f->x509 = NULL;
    }
}

/* Ed25519 signatures exist only from TLS 1.2 on (RFC 8422 §5.1.3): a TLS 1.1 server whose
 * only key is Ed25519 has no usable cipher suite. */
static void hs_ed25519_below_tls12_fails(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "ed25519");
    pin(f->c, TLS1_1_VERSION);
    pin(f->s, TLS1_1_VERSION);
    tlsrig_ctx_set_observer(f->s, observe, &f->o);
    tlsrig_error saved[2];
    h_pair_new(&f->p, f->c, f->s);
    assert_int_equal(failed_handshake(&f->p, saved), 1);
    expect_saved(&saved[1], f->p.server_rc, TLSRIG_ERR_SSL, "no shared cipher");
    expect_saved(&saved[0], f->p.client_rc, TLSRIG_ERR_SSL, "alert handshake failure");
    assert_int_equal(f->o.alert[1][1][LEVEL_FATAL][AD_HANDSHAKE_FAILURE], 1);
}

/* ======================================================================================
 * Creation and accessors
 * ====================================================================================== */

static void conn_new_memory(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(f->c, tlsrig_conn_new(f->c, -1, &f->p.client));
    assert_non_null(f->p.client);
    assert_non_null(tlsrig_conn_get0_ssl(f->p.client));
    assert_int_equal(tlsrig_conn_get_fd(f->p.client), -1);
    assert_ptr_equal(tlsrig_conn_get_context(f->p.client), f->c);
    assert_null(tlsrig_conn_get_app_data(f->p.client));
    assert_int_equal(tlsrig_conn_last_error(f->p.client)->code, TLSRIG_ERR_OK);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.client), 0);
    assert_int_equal(tlsrig_conn_pending(f->p.client), 0);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    assert_int_equal(tlsrig_conn_renegotiate_pending(f->p.client), 0);
    assert_int_equal(tlsrig_conn_total_renegotiations(f->p.client), 0);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p.client), SSL_EARLY_DATA_NOT_SENT);
    /* The connection holds its own reference: the context outlives the caller's. */
    tlsrig_ctx_free(f->c);
    f->c = NULL;
    tlsrig_conn_set_connect_state(f->p.client);
    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_WANT_READ, NULL);
    assert_true(tlsrig_conn_bio_pending(f->p.client) > 0);
}

static void conn_new_invalid(void **state)
{
    fx *f = *state;
    tlsrig_conn *conn = NULL;
    assert_int_equal(tlsrig_conn_new(NULL, -1, &conn), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(conn);
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_conn_new(f->c, -1, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    /* The failure is described on the context, as for every failing call. */
    assert_int_equal(tlsrig_ctx_last_error(f->c)->code, TLSRIG_ERR_INVALID_ARGUMENT);
}

static void conn_free_null(void **state)
{
    (void)state;
    tlsrig_conn_free(NULL); /* must be a no-op, like every _free */
}

/* OpenSSL drops the session of a connection freed after its handshake without a close_notify
 * sent (an unclean close may be a truncation attack); a connection that called shutdown
 * first leaves it resumable. */
static void conn_free_without_shutdown_invalidates_session(void **state)
{
    fx *f = *state;
    tlsrig_session *kept = NULL;
    connected(f, TLS1_3_VERSION);
    expect_no_data(f->p.client); /* reads the NewSessionTicket */
    h_conn_ok(f->p.client, tlsrig_conn_get_session(f->p.client, &f->sess));
    assert_int_equal(tlsrig_session_is_resumable(f->sess), 1);
    free_pairs(f);
    assert_int_equal(tlsrig_session_is_resumable(f->sess), 0);

    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    expect_no_data(f->p.client);
    h_conn_ok(f->p.client, tlsrig_conn_get_session(f->p.client, &kept));
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    free_pairs(f);
    int resumable = tlsrig_session_is_resumable(kept);
    tlsrig_session_free(kept);
    assert_int_equal(resumable, 1);
}

static void conn_socket_fd_and_bio_ops(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    make_socketpair(f);
    h_ctx_ok(f->c, tlsrig_conn_new(f->c, f->fd[0], &f->sc));
    assert_int_equal(tlsrig_conn_get_fd(f->sc), f->fd[0]);
    uint8_t buf[16] = {0};
    expect_err(f->sc, tlsrig_conn_bio_write(f->sc, buf, sizeof(buf)), TLSRIG_ERR_INVALID_ARGUMENT,
               "socket");
    expect_err(f->sc, tlsrig_conn_bio_read(f->sc, buf, sizeof(buf)), TLSRIG_ERR_INVALID_ARGUMENT,
               "socket");
    expect_err(f->sc, tlsrig_conn_bio_shutdown(f->sc), TLSRIG_ERR_INVALID_ARGUMENT, "socket");
    assert_int_equal(tlsrig_conn_bio_pending(f->sc), 0);
    /* The socket still works for TLS: the ClientHello goes onto it, not into a BIO. */
    tlsrig_conn_set_connect_state(f->sc);
    expect_err(f->sc, tlsrig_conn_do_handshake(f->sc), TLSRIG_ERR_WANT_READ, NULL);
    assert_int_equal(tlsrig_conn_bio_pending(f->sc), 0);
    ssize_t n = recv(f->fd[1], buf, 5, 0);
    assert_int_equal(n, 5);
    assert_int_equal(buf[0], 22); /* a handshake record */
    /* Freeing the connection leaves the caller's descriptor open. */
    tlsrig_conn_free(f->sc);
    f->sc = NULL;
    assert_int_not_equal(fcntl(f->fd[0], F_GETFD), -1);
}

static void conn_context_get_set(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "rsa");
    f->s2 = server_ctx(TLSRIG_TLS_METHOD, "ed25519");
    h_pair_new(&f->p, f->c, f->s);
    assert_ptr_equal(tlsrig_conn_get_context(f->p.server), f->s);

    expect_err(f->p.server, tlsrig_conn_set_context(f->p.server, NULL), TLSRIG_ERR_INVALID_ARGUMENT,
               "NULL");
    assert_ptr_equal(tlsrig_conn_get_context(f->p.server), f->s);

    h_conn_ok(f->p.server, tlsrig_conn_set_context(f->p.server, f->s2));
    assert_ptr_equal(tlsrig_conn_get_context(f->p.server), f->s2);
    assert_int_equal(tlsrig_conn_last_error(f->p.server)->code, TLSRIG_ERR_OK);
    /* The connection keeps the new context alive and serves its certificate. */
    tlsrig_ctx_free(f->s2);
    f->s2 = NULL;
    handshake_ok(&f->p);
    X509 *peer = tlsrig_conn_get_peer_certificate(f->p.client);
    assert_non_null(peer);
    int id = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
    X509_free(peer);
    assert_int_equal(id, EVP_PKEY_ED25519);
}

static void conn_app_data(void **state)
{
    fx *f = *state;
    int a = 1, b = 2;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    h_pair_new(&f->p, f->c, f->c);
    assert_null(tlsrig_conn_get_app_data(f->p.client));
    tlsrig_conn_set_app_data(f->p.client, &a);
    assert_ptr_equal(tlsrig_conn_get_app_data(f->p.client), &a);
    /* Per connection, not per context. */
    assert_null(tlsrig_conn_get_app_data(f->p.server));
    assert_null(tlsrig_ctx_get_app_data(f->c));
    tlsrig_conn_set_app_data(f->p.client, &b);
    assert_ptr_equal(tlsrig_conn_get_app_data(f->p.client), &b);
    tlsrig_conn_set_app_data(f->p.client, NULL);
    assert_null(tlsrig_conn_get_app_data(f->p.client));
}

static void conn_roles(void **state)
{
    fx *f = *state;
    tlsrig_conn *conn = NULL;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(f->c, tlsrig_conn_new(f->c, -1, &f->p.client));
    conn = f->p.client;
    tlsrig_conn_set_accept_state(conn);
    assert_int_equal(tlsrig_conn_is_server(conn), 1);
    tlsrig_conn_set_connect_state(conn);
    assert_int_equal(tlsrig_conn_is_server(conn), 0);
    tlsrig_conn_set_accept_state(conn);
    assert_int_equal(tlsrig_conn_is_server(conn), 1);

    /* Role-specific methods start in their role. */
    f->c2 = new_ctx(TLSRIG_TLS_CLIENT_METHOD);
    f->s2 = new_ctx(TLSRIG_TLS_SERVER_METHOD);
    h_ctx_ok(f->c2, tlsrig_conn_new(f->c2, -1, &f->p2.client));
    h_ctx_ok(f->s2, tlsrig_conn_new(f->s2, -1, &f->p2.server));
    assert_int_equal(tlsrig_conn_is_server(f->p2.client), 0);
    assert_int_equal(tlsrig_conn_is_server(f->p2.server), 1);
}

/* With neither role set there is no handshake to run. */
static void conn_handshake_without_role(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(f->c, tlsrig_conn_new(f->c, -1, &f->p.client));
    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_SSL,
               "connection type not set");
}

/* A client writes its ClientHello then waits; a server with nothing to read waits at once. */
static void conn_handshake_want_read_on_empty_bio(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_pair_new(&f->p, f->c, f->s);

    expect_err(f->p.server, tlsrig_conn_do_handshake(f->p.server), TLSRIG_ERR_WANT_READ,
               "want read");
    assert_int_equal(tlsrig_conn_want_read(f->p.server), 1);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.server), 0);

    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_WANT_READ,
               "want read");
    assert_int_equal(tlsrig_conn_want_read(f->p.client), 1);
    size_t hello = tlsrig_conn_bio_pending(f->p.client);
    assert_true(hello > 5);
    /* Asking again without new input neither fails nor resends the ClientHello. */
    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_WANT_READ, NULL);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), hello);
    /* ... and the bytes are a real handshake that completes. */
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_do_handshake(f->p.client), 0);
}

/* ======================================================================================
 * pyOpenSSL I/O semantics
 * ====================================================================================== */

/* pyOpenSSL raises WantReadError on an empty memory BIO; 0 would mean EOF. */
static void io_recv_empty_bio_is_want_read(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    connected(f, 0);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_WANT_READ, "want read");
    assert_int_equal(tlsrig_conn_last_error(f->p.server)->sys_errno, 0);
    expect_err(f->p.server, tlsrig_conn_read(f->p.server, buf, sizeof(buf)), TLSRIG_ERR_WANT_READ,
               NULL);
    expect_err(f->p.server, tlsrig_conn_recv_into(f->p.server, buf, sizeof(buf), 0, 0),
               TLSRIG_ERR_WANT_READ, NULL);
    /* ... and data that arrives afterwards is read normally. */
    h_send_recv(&f->p, f->p.client, f->p.server, "late", 4);
    /* recv on a client before its handshake runs the handshake: first step is want-read. */
    f->c2 = client_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(f->c2, tlsrig_conn_new(f->c2, -1, &f->p2.client));
    tlsrig_conn_set_connect_state(f->p2.client);
    expect_err(f->p2.client, tlsrig_conn_recv(f->p2.client, buf, sizeof(buf), 0),
               TLSRIG_ERR_WANT_READ, NULL);
    assert_true(tlsrig_conn_bio_pending(f->p2.client) > 0);
}

static void io_bio_read_nothing_is_want_read(void **state)
{
    fx *f = *state;
    uint8_t buf[64];
    connected(f, 0);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    expect_err(f->p.client, tlsrig_conn_bio_read(f->p.client, buf, sizeof(buf)),
               TLSRIG_ERR_WANT_READ, "no bytes");
    /* After a write there are bytes, and bio_read hands them out up to |cap|. */
    h_conn_ok(f->p.client, tlsrig_conn_write(f->p.client, "x", 1));
    size_t pend = tlsrig_conn_bio_pending(f->p.client);
    assert_true(pend > 1);
    int n = tlsrig_conn_bio_read(f->p.client, buf, 3);
    assert_int_equal(n, 3);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), pend - 3);
    assert_int_equal(buf[0], 23); /* application_data record (TLS 1.3 outer type) */
    expect_err(f->p.client, tlsrig_conn_bio_read(f->p.client, buf, 0), TLSRIG_ERR_INVALID_ARGUMENT,
               NULL);
    expect_err(f->p.client, tlsrig_conn_bio_read(f->p.client, NULL, 8), TLSRIG_ERR_INVALID_ARGUMENT,
               NULL);
}

static void io_bio_write_arguments(void **state)
{
    fx *f = *state;
    connected(f, 0);
    assert_int_equal(tlsrig_conn_bio_write(f->p.server, "", 0), 0);
    expect_err(f->p.server, tlsrig_conn_bio_write(f->p.server, NULL, 4),
               TLSRIG_ERR_INVALID_ARGUMENT, NULL);
    /* Garbage fed in is taken by the BIO and rejected by TLS when read. */
    assert_int_equal(tlsrig_conn_bio_write(f->p.server, "\x17\x03\x03\x00\x05hello", 10), 10);
    uint8_t buf[16];
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), TLSRIG_ERR_SSL,
               NULL);
}

/* The transport ending without close_notify is a truncation (RFC 8446 §6.1): pyOpenSSL's
 * SysCallError(-1, "Unexpected EOF"). */
static void io_bio_shutdown_is_unexpected_eof(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    connected(f, 0);
    h_conn_ok(f->p.server, tlsrig_conn_bio_shutdown(f->p.server));
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), TLSRIG_ERR_SYSCALL,
               "unexpected EOF");
    assert_int_equal(tlsrig_conn_last_error(f->p.server)->sys_errno, -1);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.server) & TLSRIG_RECEIVED_SHUTDOWN, 0);
}

static void io_bio_shutdown_ignore_unexpected_eof(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    tlsrig_ctx_set_options(f->s, TLSRIG_OP_IGNORE_UNEXPECTED_EOF);
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    h_conn_ok(f->p.server, tlsrig_conn_bio_shutdown(f->p.server));
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    /* OpenSSL then treats the EOF as the peer's close. */
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.server) & TLSRIG_RECEIVED_SHUTDOWN,
                     TLSRIG_RECEIVED_SHUTDOWN);
}

/* Bytes already fed are still read before the EOF shows. */
static void io_bio_shutdown_after_buffered_data(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    connected(f, 0);
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "buffered", 8, 0));
    h_pump(&f->p);
    h_conn_ok(f->p.server, tlsrig_conn_bio_shutdown(f->p.server));
    assert_int_equal(tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), 8);
    assert_memory_equal(buf, "buffered", 8);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), TLSRIG_ERR_SYSCALL,
               "unexpected EOF");
}

/* An EOF in the middle of the handshake is a truncation too. */
static void io_bio_shutdown_during_handshake(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_pair_new(&f->p, f->c, f->s);
    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_WANT_READ, NULL);
    h_conn_ok(f->p.client, tlsrig_conn_bio_shutdown(f->p.client));
    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_SYSCALL,
               "unexpected EOF");
    assert_int_equal(tlsrig_conn_last_error(f->p.client)->sys_errno, -1);
}

static void io_recv_peek(void **state)
{
    fx *f = *state;
    uint8_t a[32] = {0}, b[32] = {0};
    connected(f, 0);
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "hello world", 11, 0));
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_recv(f->p.server, a, 4, TLSRIG_MSG_PEEK), 4);
    assert_memory_equal(a, "hell", 4);
    /* Peeking consumed nothing: all 11 bytes are still pending, twice over. */
    assert_int_equal(tlsrig_conn_pending(f->p.server), 11);
    assert_int_equal(tlsrig_conn_recv(f->p.server, a, sizeof(a), TLSRIG_MSG_PEEK), 11);
    assert_int_equal(tlsrig_conn_recv(f->p.server, b, sizeof(b), 0), 11);
    assert_memory_equal(a, b, 11);
    assert_memory_equal(b, "hello world", 11);
    assert_int_equal(tlsrig_conn_pending(f->p.server), 0);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, a, sizeof(a), TLSRIG_MSG_PEEK),
               TLSRIG_ERR_WANT_READ, "MSG_PEEK");
    /* recv_into honours MSG_PEEK too. */
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "again", 5, 0));
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_recv_into(f->p.server, a, sizeof(a), 2, TLSRIG_MSG_PEEK), 2);
    assert_int_equal(tlsrig_conn_recv(f->p.server, b, sizeof(b), 0), 5);
    assert_memory_equal(b, "again", 5);
}

static void io_recv_into_nbytes(void **state)
{
    fx *f = *state;
    connected(f, 0);
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "0123456789abcdef", 16, 0));
    h_pump(&f->p);
    uint8_t buf[8];
    memset(buf, '#', sizeof(buf));
    /* nbytes limits the read below the buffer's capacity. */
    assert_int_equal(tlsrig_conn_recv_into(f->p.server, buf, sizeof(buf), 3, 0), 3);
    assert_memory_equal(buf, "012#####", 8);
    /* nbytes 0 means the whole buffer. */
    assert_int_equal(tlsrig_conn_recv_into(f->p.server, buf, sizeof(buf), 0, 0), 8);
    assert_memory_equal(buf, "3456789a", 8);
    /* nbytes above the capacity is cut to it (ASan would catch an overrun). */
    uint8_t *heap = malloc(4);
    assert_non_null(heap);
    int n = tlsrig_conn_recv_into(f->p.server, heap, 4, 1000, 0);
    int ok = n == 4 && memcmp(heap, "bcde", 4) == 0;
    free(heap);
    assert_true(ok);
    assert_int_equal(tlsrig_conn_recv_into(f->p.server, buf, sizeof(buf), 0, 0), 1);
    assert_int_equal(buf[0], 'f');
    expect_err(f->p.server, tlsrig_conn_recv_into(f->p.server, buf, 0, 0, 0),
               TLSRIG_ERR_INVALID_ARGUMENT, NULL);
}

static void io_recv_invalid_arguments(void **state)
{
    fx *f = *state;
    uint8_t buf[4];
    connected(f, 0);
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "data", 4, 0));
    h_pump(&f->p);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, 0, 0), TLSRIG_ERR_INVALID_ARGUMENT,
               "at least one byte");
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, NULL, 4, 0), TLSRIG_ERR_INVALID_ARGUMENT,
               NULL);
    expect_err(f->p.server, tlsrig_conn_read(f->p.server, buf, 0), TLSRIG_ERR_INVALID_ARGUMENT,
               NULL);
    /* Nothing was consumed by the refused calls. */
    assert_int_equal(tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "data", 4);
    /* A successful call clears the previous error record. */
    assert_int_equal(tlsrig_conn_last_error(f->p.server)->code, TLSRIG_ERR_OK);
}

static void io_write_invalid_arguments(void **state)
{
    fx *f = *state;
    connected(f, 0);
    expect_err(f->p.client, tlsrig_conn_write(f->p.client, NULL, 5), TLSRIG_ERR_INVALID_ARGUMENT,
               "NULL");
    expect_err(f->p.client, tlsrig_conn_send(f->p.client, NULL, 5, 0), TLSRIG_ERR_INVALID_ARGUMENT,
               NULL);
    expect_err(f->p.client, tlsrig_conn_sendall(f->p.client, NULL, 5, 0),
               TLSRIG_ERR_INVALID_ARGUMENT, NULL);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
}

/* big_transfer sends BIG bytes with |how| (0 send, 1 write, 2 sendall) and reads them. With
 * pyOpenSSL's MODE_ENABLE_PARTIAL_WRITE, send/write return after one record. */
static void big_transfer(fx *f, int how)
{
    connected(f, 0);
    f->big = malloc(BIG);
    f->got = malloc(BIG);
    assert_non_null(f->big);
    assert_non_null(f->got);
    fill(f->big, BIG, (unsigned)how + 1);
    size_t off = 0;
    int calls = 0;
    while (off < BIG) {
        int n = how == 0   ? tlsrig_conn_send(f->p.client, f->big + off, BIG - off, 0)
                : how == 1 ? tlsrig_conn_write(f->p.client, f->big + off, BIG - off)
                           : tlsrig_conn_sendall(f->p.client, f->big + off, BIG - off, 0);
        if (n <= 0)
            fail_msg("write at %zu: %s: %s", off, tlsrig_err_name(n),
                     tlsrig_conn_last_error(f->p.client)->message);
        if (how == 2)
            assert_int_equal(n, BIG);
        else
            assert_int_equal(n, BIG - off < MAX_RECORD ? BIG - off : MAX_RECORD);
        off += (size_t)n;
        calls++;
    }
    assert_int_equal(calls, how == 2 ? 1 : (BIG + MAX_RECORD - 1) / MAX_RECORD);
    /* More than one record went out. */
    assert_true(tlsrig_conn_bio_pending(f->p.client) > BIG + 6 * 22);
    h_pump(&f->p);
    size_t have = 0;
    int reads = 0;
    while (have < BIG) {
        int n = tlsrig_conn_recv(f->p.server, f->got + have, BIG - have, 0);
        if (n <= 0)
            fail_msg("recv at %zu: %s: %s", have, tlsrig_err_name(n),
                     tlsrig_conn_last_error(f->p.server)->message);
        assert_true(n <= MAX_RECORD);
        have += (size_t)n;
        reads++;
    }
    assert_true(reads >= BIG / MAX_RECORD);
    assert_memory_equal(f->got, f->big, BIG);
    expect_no_data(f->p.server);
}

static void io_send_100k(void **state)
{
    big_transfer(*state, 0);
}

static void io_write_100k(void **state)
{
    big_transfer(*state, 1);
}

static void io_sendall_100k(void **state)
{
    big_transfer(*state, 2);
}

static void io_pending_after_partial_read(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    connected(f, 0);
    assert_int_equal(tlsrig_conn_pending(f->p.server), 0);
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "0123456789", 10, 0));
    h_pump(&f->p);
    /* Nothing is decrypted until a read runs. */
    assert_int_equal(tlsrig_conn_pending(f->p.server), 0);
    assert_int_equal(tlsrig_conn_recv(f->p.server, buf, 4, 0), 4);
    assert_int_equal(tlsrig_conn_pending(f->p.server), 6);
    assert_int_equal(tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), 6);
    assert_memory_equal(buf, "456789", 6);
    assert_int_equal(tlsrig_conn_pending(f->p.server), 0);
}

static void io_makefile_unsupported(void **state)
{
    fx *f = *state;
    connected(f, 0);
    expect_err(f->p.client, tlsrig_conn_makefile(f->p.client), TLSRIG_ERR_UNSUPPORTED, "makefile");
    /* The connection is untouched. */
    h_send_recv(&f->p, f->p.client, f->p.server, "still fine", 10);
}

static void io_want_read_want_write(void **state)
{
    fx *f = *state;
    uint8_t buf[8];
    connected(f, 0);
    assert_int_equal(tlsrig_conn_want_read(f->p.server), 0);
    expect_no_data(f->p.server);
    assert_int_equal(tlsrig_conn_want_read(f->p.server), 1);
    assert_int_equal(tlsrig_conn_want_write(f->p.server), 0);
    /* A call that succeeds resets it. */
    h_conn_ok(f->p.client, tlsrig_conn_sendall(f->p.client, "abc", 3, 0));
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), 3);
    assert_int_equal(tlsrig_conn_want_read(f->p.server), 0);
    assert_int_equal(tlsrig_conn_want_write(f->p.server), 0);
}

static void io_bio_pending(void **state)
{
    fx *f = *state;
    uint8_t buf[256];
    connected(f, TLS1_3_VERSION);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    h_conn_ok(f->p.client, tlsrig_conn_write(f->p.client, "abcd", 4));
    /* TLS 1.3 record: 5-byte header + 4 bytes + 1 inner type + 16-byte AEAD tag (the test
     * server's default suite is an AES-GCM one). */
    size_t pend = tlsrig_conn_bio_pending(f->p.client);
    assert_int_equal(pend, 5 + 4 + 1 + 16);
    h_conn_ok(f->p.client, tlsrig_conn_write(f->p.client, "efgh", 4));
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 2 * pend);
    assert_int_equal(tlsrig_conn_bio_read(f->p.client, buf, sizeof(buf)), (int)(2 * pend));
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
}

/* The same semantics on a non-blocking socket: an empty socket is want-read, the peer
 * closing the socket without close_notify is an unexpected EOF. */
static void io_socket_roundtrip_and_eof(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    socket_connected(f);
    assert_int_equal(tlsrig_conn_get_protocol_version(f->sc), TLS1_3_VERSION);
    expect_err(f->ss, tlsrig_conn_recv(f->ss, buf, sizeof(buf), 0), TLSRIG_ERR_WANT_READ, NULL);
    assert_int_equal(tlsrig_conn_sendall(f->sc, "over a socket", 13, 0), 13);
    assert_int_equal(tlsrig_conn_recv(f->ss, buf, sizeof(buf), 0), 13);
    assert_memory_equal(buf, "over a socket", 13);
    assert_int_equal(tlsrig_conn_sendall(f->ss, "reply", 5, 0), 5);
    assert_int_equal(tlsrig_conn_recv(f->sc, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "reply", 5);
    tlsrig_conn_free(f->sc);
    f->sc = NULL;
    close(f->fd[0]);
    f->fd[0] = -1;
    expect_err(f->ss, tlsrig_conn_recv(f->ss, buf, sizeof(buf), 0), TLSRIG_ERR_SYSCALL,
               "unexpected EOF");
    assert_int_equal(tlsrig_conn_last_error(f->ss)->sys_errno, -1);
}

/* A full socket send buffer makes write want-write; once the peer drains it, the same call
 * resumes and every byte arrives in order. */
static void io_socket_want_write_backpressure(void **state)
{
    fx *f = *state;
    enum { TOTAL = 1024 * 1024 };
    socket_connected(f);
    int small = 4096;
    assert_int_equal(setsockopt(f->fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(f->fd[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    f->big = malloc(TOTAL);
    f->got = malloc(TOTAL);
    assert_non_null(f->big);
    assert_non_null(f->got);
    fill(f->big, TOTAL, 9);
    size_t off = 0, have = 0;
    int want_writes = 0;
    for (int guard = 0; off < TOTAL && guard < 100000; guard++) {
        int n = tlsrig_conn_write(f->sc, f->big + off, TOTAL - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        expect_err(f->sc, n, TLSRIG_ERR_WANT_WRITE, "want write");
        assert_int_equal(tlsrig_conn_want_write(f->sc), 1);
        assert_int_equal(tlsrig_conn_want_read(f->sc), 0);
        want_writes++;
        int r;
        while ((r = tlsrig_conn_recv(f->ss, f->got + have, TOTAL - have, 0)) > 0)
            have += (size_t)r;
        expect_err(f->ss, r, TLSRIG_ERR_WANT_READ, NULL);
    }
    assert_int_equal(off, TOTAL);
    assert_true(want_writes > 0);
    while (have < TOTAL) {
        int r = tlsrig_conn_recv(f->ss, f->got + have, TOTAL - have, 0);
        if (r <= 0)
            fail_msg("recv at %zu: %s", have, tlsrig_conn_last_error(f->ss)->message);
        have += (size_t)r;
    }
    assert_memory_equal(f->got, f->big, TOTAL);
}

/* ======================================================================================
 * Shutdown
 * ====================================================================================== */

/* One side closes: its shutdown returns 0 (only our close_notify is out), the peer's recv
 * sees a clean close. */
static void sd_unidirectional(void **state)
{
    fx *f = *state;
    uint8_t buf[8];
    connected(f, 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.client), TLSRIG_SENT_SHUTDOWN);
    assert_true(tlsrig_conn_bio_pending(f->p.client) > 0);
    assert_int_equal(f->o.alert[0][1][LEVEL_WARNING][AD_CLOSE_NOTIFY], 1);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.server), 0);
    h_pump(&f->p);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, "close_notify");
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.server), TLSRIG_RECEIVED_SHUTDOWN);
    assert_int_equal(f->o.alert[1][0][LEVEL_WARNING][AD_CLOSE_NOTIFY], 1);
    /* The server has not answered. */
    assert_int_equal(f->o.alert[1][1][LEVEL_WARNING][AD_CLOSE_NOTIFY], 0);
    /* Reading again still reports the close. */
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.client), TLSRIG_SENT_SHUTDOWN);
}

static void bidirectional(fx *f, int version)
{
    uint8_t buf[8];
    connected(f, version);
    tlsrig_conn *c = f->p.client, *s = f->p.server;
    assert_int_equal(tlsrig_conn_shutdown(c), 0);
    h_pump(&f->p);
    expect_err(s, tlsrig_conn_recv(s, buf, sizeof(buf), 0), TLSRIG_ERR_ZERO_RETURN, NULL);
    /* The server has read the client's close_notify: its reply completes its side. */
    assert_int_equal(tlsrig_conn_shutdown(s), 1);
    assert_int_equal(tlsrig_conn_get_shutdown(s), TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    assert_true(tlsrig_conn_bio_pending(s) > 0);
    h_pump(&f->p);
    /* The client's second call reads the server's close_notify. */
    assert_int_equal(tlsrig_conn_shutdown(c), 1);
    assert_int_equal(tlsrig_conn_get_shutdown(c), TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    /* Once complete, shutdown keeps returning 1 and sends nothing more. */
    assert_int_equal(tlsrig_conn_shutdown(c), 1);
    assert_int_equal(tlsrig_conn_shutdown(s), 1);
    assert_int_equal(tlsrig_conn_bio_pending(c), 0);
    assert_int_equal(tlsrig_conn_bio_pending(s), 0);
    expect_err(c, tlsrig_conn_recv(c, buf, sizeof(buf), 0), TLSRIG_ERR_ZERO_RETURN, NULL);
}

static void sd_bidirectional_tls13(void **state)
{
    bidirectional(*state, TLS1_3_VERSION);
}

static void sd_bidirectional_tls12(void **state)
{
    bidirectional(*state, TLS1_2_VERSION);
}

/* Both sides close at once, or the server closes before reading the client's close_notify:
 * each first shutdown returns 0 (only its own alert is out), the second one reads the peer's
 * and returns 1. */
static void sd_simultaneous(void **state)
{
    fx *f = *state;
    connected(f, 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.server), 0);
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 1);
    assert_int_equal(tlsrig_conn_shutdown(f->p.server), 1);
}

/* The second call before the peer's close_notify arrives has to wait for it. */
static void sd_second_call_waits_for_peer(void **state)
{
    fx *f = *state;
    connected(f, 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    expect_err(f->p.client, tlsrig_conn_shutdown(f->p.client), TLSRIG_ERR_WANT_READ, NULL);
    assert_int_equal(tlsrig_conn_want_read(f->p.client), 1);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.client), TLSRIG_SENT_SHUTDOWN);
    h_pump(&f->p);
    uint8_t buf[8];
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    assert_int_equal(tlsrig_conn_shutdown(f->p.server), 1);
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 1);
}

/* After close_notify this side may not write: OpenSSL refuses with its "protocol is shutdown"
 * error (TLSRIG_ERR_SSL), and nothing goes on the wire. */
static void sd_write_after_shutdown_fails(void **state)
{
    fx *f = *state;
    connected(f, 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    size_t pend = tlsrig_conn_bio_pending(f->p.client);
    expect_err(f->p.client, tlsrig_conn_write(f->p.client, "late", 4), TLSRIG_ERR_SSL,
               "protocol is shutdown");
    expect_err(f->p.client, tlsrig_conn_sendall(f->p.client, "late", 4, 0), TLSRIG_ERR_SSL,
               "protocol is shutdown");
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), pend);
}

/* RFC 8446 §6.1: "Any data received after a closure alert has been received MUST be
 * ignored." The client's SENT bit is cleared by hand so OpenSSL lets it write after its
 * close_notify; the server must not deliver those bytes. */
static void sd_data_after_close_notify_ignored(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    connected(f, 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    tlsrig_conn_set_shutdown(f->p.client, 0);
    assert_int_equal(tlsrig_conn_write(f->p.client, "after close", 11), 11);
    h_pump(&f->p);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    assert_int_equal(tlsrig_conn_pending(f->p.server), 0);
}

/* TLS 1.3 half-close (RFC 8446 §6.1): the side that received close_notify may still send, and
 * the closing side still reads it. */
static void sd_half_close(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    connected(f, TLS1_3_VERSION);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    h_pump(&f->p);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    assert_int_equal(tlsrig_conn_sendall(f->p.server, "last words", 10, 0), 10);
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_recv(f->p.client, buf, sizeof(buf), 0), 10);
    assert_memory_equal(buf, "last words", 10);
    assert_int_equal(tlsrig_conn_shutdown(f->p.server), 1);
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 1);
}

static void sd_set_get_roundtrip(void **state)
{
    fx *f = *state;
    connected(f, 0);
    static const int states[] = {TLSRIG_SENT_SHUTDOWN, TLSRIG_RECEIVED_SHUTDOWN,
                                 TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN, 0};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        tlsrig_conn_set_shutdown(f->p.client, states[i]);
        assert_int_equal(tlsrig_conn_get_shutdown(f->p.client), states[i]);
    }
    /* Back at 0 the connection works as before. */
    h_send_recv(&f->p, f->p.client, f->p.server, "open", 4);
}

/* Marking both directions closed makes shutdown succeed without a close_notify. */
static void sd_set_both_then_shutdown_is_silent(void **state)
{
    fx *f = *state;
    connected(f, 0);
    tlsrig_conn_set_shutdown(f->p.client, TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 1);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
}

static void sd_quiet_shutdown(void **state)
{
    fx *f = *state;
    connected(f, 0);
    tlsrig_conn_set_quiet_shutdown(f->p.client, 1);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 1);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.client),
                     TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    assert_int_equal(f->o.alert[0][1][LEVEL_WARNING][AD_CLOSE_NOTIFY], 0);
    /* The peer saw nothing: no close_notify, so no clean close. */
    expect_no_data(f->p.server);
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.server), 0);

    /* Turned off again, shutdown sends close_notify as usual. */
    tlsrig_conn_set_quiet_shutdown(f->p.server, 1);
    tlsrig_conn_set_quiet_shutdown(f->p.server, 0);
    assert_int_equal(tlsrig_conn_shutdown(f->p.server), 0);
    assert_true(tlsrig_conn_bio_pending(f->p.server) > 0);
}

/* OpenSSL refuses to close a connection whose handshake is still running. */
static void sd_mid_handshake(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_pair_new(&f->p, f->c, f->s);
    expect_err(f->p.client, tlsrig_conn_do_handshake(f->p.client), TLSRIG_ERR_WANT_READ, NULL);
    h_move(&f->p, f->p.client, f->p.server);
    expect_err(f->p.server, tlsrig_conn_do_handshake(f->p.server), TLSRIG_ERR_WANT_READ, NULL);
    expect_err(f->p.client, tlsrig_conn_shutdown(f->p.client), TLSRIG_ERR_SSL,
               "shutdown while in init");
    expect_err(f->p.server, tlsrig_conn_shutdown(f->p.server), TLSRIG_ERR_SSL,
               "shutdown while in init");
    assert_int_equal(tlsrig_conn_get_shutdown(f->p.client), 0);
    /* The handshake can still finish, and then shutdown works. */
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
}

/* A connection with no role has nothing to shut down. */
static void sd_without_role(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    h_ctx_ok(f->c, tlsrig_conn_new(f->c, -1, &f->p.client));
    expect_err(f->p.client, tlsrig_conn_shutdown(f->p.client), TLSRIG_ERR_SSL, "uninitialized");
}

/* ======================================================================================
 * Renegotiation (TLS 1.2)
 * ====================================================================================== */

/* reneg_pair: a TLS 1.2 pair with observers on both contexts; the server also allows
 * client-initiated renegotiation, which OpenSSL 3 refuses by default. */
static void reneg_pair(fx *f, uint64_t client_ops, uint64_t server_ops, int allow_client)
{
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    pin(f->c, TLS1_2_VERSION);
    if (client_ops != 0)
        tlsrig_ctx_set_options(f->c, client_ops);
    if (server_ops != 0)
        tlsrig_ctx_set_options(f->s, server_ops);
    if (allow_client)
        tlsrig_ctx_set_options(f->s, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
    tlsrig_ctx_set_observer(f->c, observe, &f->o);
    tlsrig_ctx_set_observer(f->s, observe, &f->o);
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_get_protocol_version(f->p.client), TLS1_2_VERSION);
}

/* drive_renegotiation runs the renegotiation |init| scheduled until neither side has it
 * pending. Each round |init| steps with do_handshake and both sides read: neither sends
 * application data meanwhile, so each recv runs the handshake records it finds and ends in
 * want-read. The initiator must read too: after a server's HelloRequest OpenSSL considers the
 * server's handshake done until a read picks up the client's ClientHello. Returns the number
 * of rounds. */
static int drive_renegotiation(h_pair *p, tlsrig_conn *init, tlsrig_conn *peer)
{
    uint8_t buf[32];
    int round;
    for (round = 1; round <= 8; round++) {
        int rc = tlsrig_conn_do_handshake(init);
        if (rc != 0 && rc != TLSRIG_ERR_WANT_READ)
            fail_msg("initiator do_handshake: %s", tlsrig_conn_last_error(init)->message);
        h_pump(p);
        tlsrig_conn *readers[2] = {peer, init};
        for (int i = 0; i < 2; i++) {
            rc = tlsrig_conn_recv(readers[i], buf, sizeof(buf), 0);
            if (rc != TLSRIG_ERR_WANT_READ)
                fail_msg("%s recv: expected WANT_READ, got %s: %s", i ? "initiator" : "peer",
                         tlsrig_err_name(rc), tlsrig_conn_last_error(readers[i])->message);
            h_pump(p);
        }
        if (!tlsrig_conn_renegotiate_pending(init) && !tlsrig_conn_renegotiate_pending(peer))
            break;
    }
    return round;
}

static void renegotiate(fx *f, int from_server)
{
    reneg_pair(f, 0, 0, 1);
    tlsrig_conn *init = from_server ? f->p.server : f->p.client;
    tlsrig_conn *peer = from_server ? f->p.client : f->p.server;
    h_send_recv(&f->p, f->p.client, f->p.server, "before", 6);
    h_send_recv(&f->p, f->p.server, f->p.client, "before", 6);
    assert_int_equal(f->o.hs[0][1][HT_CLIENT_HELLO], 1);

    assert_int_equal(tlsrig_conn_renegotiate_pending(init), 0);
    assert_int_equal(tlsrig_conn_renegotiate(init), 1);
    assert_int_equal(tlsrig_conn_renegotiate_pending(init), 1);
    /* A second request while one is pending is not scheduled again. */
    assert_int_equal(tlsrig_conn_renegotiate(init), 0);
    assert_int_equal(tlsrig_conn_renegotiate_pending(init), 1);

    int rounds = drive_renegotiation(&f->p, init, peer);
    if (tlsrig_conn_renegotiate_pending(init))
        fail_msg("renegotiation still pending after %d rounds", rounds);
    assert_int_equal(tlsrig_conn_do_handshake(init), 0);
    assert_int_equal(tlsrig_conn_total_renegotiations(init), 1);
    /* A second full handshake happened on the wire: a second ClientHello, and for a server
     * start, the HelloRequest that asked for it (RFC 5246 §7.4.1.1). */
    assert_int_equal(f->o.hs[0][1][HT_CLIENT_HELLO], 2);
    assert_int_equal(f->o.hs[1][0][HT_CLIENT_HELLO], 2);
    assert_int_equal(f->o.hs[1][1][HT_HELLO_REQUEST], from_server ? 1 : 0);
    assert_int_equal(f->o.hs[0][0][HT_HELLO_REQUEST], from_server ? 1 : 0);

    h_send_recv(&f->p, f->p.client, f->p.server, "after", 5);
    h_send_recv(&f->p, f->p.server, f->p.client, "after", 5);
    assert_int_equal(tlsrig_conn_renegotiate_pending(init), 0);
    assert_int_equal(tlsrig_conn_total_renegotiations(init), 1);

    /* And a second one works the same way. */
    assert_int_equal(tlsrig_conn_renegotiate(init), 1);
    drive_renegotiation(&f->p, init, peer);
    assert_int_equal(tlsrig_conn_renegotiate_pending(init), 0);
    assert_int_equal(tlsrig_conn_total_renegotiations(init), 2);
    assert_int_equal(f->o.hs[0][1][HT_CLIENT_HELLO], 3);
    h_send_recv(&f->p, f->p.client, f->p.server, "again", 5);
}

static void reneg_client_initiated(void **state)
{
    renegotiate(*state, 0);
}

static void reneg_server_initiated(void **state)
{
    renegotiate(*state, 1);
}

/* reneg_refused: the peer refuses the renegotiation |init| asks for with a no_renegotiation
 * warning alert (RFC 5246 §7.2.2, §7.4.1.1) and carries on; the initiator, which wanted the
 * renegotiation, gives up with a fatal handshake_failure (OpenSSL's choice). */
static void reneg_refused(fx *f, tlsrig_conn *init, tlsrig_conn *peer, int init_is_server)
{
    uint8_t buf[16];
    assert_int_equal(tlsrig_conn_renegotiate(init), 1);
    int rc = tlsrig_conn_do_handshake(init);
    if (rc != 0 && rc != TLSRIG_ERR_WANT_READ)
        fail_msg("initiator do_handshake: %s", tlsrig_conn_last_error(init)->message);
    h_pump(&f->p);
    /* The peer refuses politely and carries on. */
    expect_err(peer, tlsrig_conn_recv(peer, buf, sizeof(buf), 0), TLSRIG_ERR_WANT_READ, NULL);
    h_pump(&f->p);
    int ps = init_is_server ? 0 : 1; /* index of the refusing peer */
    assert_int_equal(f->o.alert[ps][1][LEVEL_WARNING][AD_NO_RENEGOTIATION], 1);
    /* The initiator treats the refusal as fatal. */
    rc = init_is_server ? tlsrig_conn_recv(init, buf, sizeof(buf), 0)
                        : tlsrig_conn_do_handshake(init);
    expect_err(init, rc, TLSRIG_ERR_SSL, "no renegotiation");
    assert_int_equal(f->o.alert[!ps][0][LEVEL_WARNING][AD_NO_RENEGOTIATION], 1);
    assert_int_equal(f->o.alert[!ps][1][LEVEL_FATAL][AD_HANDSHAKE_FAILURE], 1);
    h_pump(&f->p);
    expect_err(peer, tlsrig_conn_recv(peer, buf, sizeof(buf), 0), TLSRIG_ERR_SSL,
               "alert handshake failure");
}

/* OpenSSL 3 servers refuse client-initiated renegotiation unless
 * SSL_OP_ALLOW_CLIENT_RENEGOTIATION is set. */
static void reneg_client_initiated_refused_by_default(void **state)
{
    fx *f = *state;
    reneg_pair(f, 0, 0, 0);
    reneg_refused(f, f->p.client, f->p.server, 0);
}

static void reneg_refused_server_no_renegotiation(void **state)
{
    fx *f = *state;
    /* NO_RENEGOTIATION wins over ALLOW_CLIENT_RENEGOTIATION. */
    reneg_pair(f, 0, TLSRIG_OP_NO_RENEGOTIATION, 1);
    reneg_refused(f, f->p.client, f->p.server, 0);
}

static void reneg_refused_client_no_renegotiation(void **state)
{
    fx *f = *state;
    reneg_pair(f, TLSRIG_OP_NO_RENEGOTIATION, 0, 1);
    reneg_refused(f, f->p.server, f->p.client, 1);
}

/* A side with NO_RENEGOTIATION cannot start one either. */
static void reneg_local_no_renegotiation(void **state)
{
    fx *f = *state;
    reneg_pair(f, TLSRIG_OP_NO_RENEGOTIATION, 0, 1);
    expect_err(f->p.client, tlsrig_conn_renegotiate(f->p.client), TLSRIG_ERR_SSL,
               "no renegotiation");
    assert_int_equal(tlsrig_conn_renegotiate_pending(f->p.client), 0);
    assert_int_equal(tlsrig_conn_total_renegotiations(f->p.client), 0);
    h_send_recv(&f->p, f->p.client, f->p.server, "still open", 10);
}

/* RFC 8446 §4.1: TLS 1.3 has no renegotiation. */
static void reneg_tls13_refused(void **state)
{
    fx *f = *state;
    connected(f, TLS1_3_VERSION);
    expect_err(f->p.client, tlsrig_conn_renegotiate(f->p.client), TLSRIG_ERR_SSL,
               "wrong ssl version");
    expect_err(f->p.server, tlsrig_conn_renegotiate(f->p.server), TLSRIG_ERR_SSL,
               "wrong ssl version");
    assert_int_equal(tlsrig_conn_renegotiate_pending(f->p.client), 0);
    assert_int_equal(tlsrig_conn_total_renegotiations(f->p.client), 0);
    h_send_recv(&f->p, f->p.client, f->p.server, "fine", 4);
}

/* ======================================================================================
 * TLS 1.3 key update (RFC 8446 §4.6.3)
 * ====================================================================================== */

static void key_update_pair(fx *f)
{
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    tlsrig_ctx_set_observer(f->c, observe, &f->o);
    tlsrig_ctx_set_observer(f->s, observe, &f->o);
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_get_protocol_version(f->p.client), TLS1_3_VERSION);
    /* The observer saw no KeyUpdate during the handshake. */
    assert_int_equal(f->o.hs[0][1][HT_KEY_UPDATE] + f->o.hs[1][1][HT_KEY_UPDATE], 0);
}

/* From each side, requested and not, three rounds, with data flowing both ways between. A
 * requested update must be answered with the peer's own update_not_requested one; a
 * not-requested one must not be answered. */
static void ku_both_sides_repeated(void **state)
{
    fx *f = *state;
    key_update_pair(f);
    int exp[2][2][2]; /* expected o.ku */
    memset(exp, 0, sizeof(exp));
    for (int rep = 0; rep < 3; rep++) {
        for (int from_server = 0; from_server <= 1; from_server++) {
            for (int req = 1; req >= 0; req--) {
                tlsrig_conn *a = from_server ? f->p.server : f->p.client;
                tlsrig_conn *b = from_server ? f->p.client : f->p.server;
                char msg[32];
                h_conn_ok(a, tlsrig_conn_key_update(a, req));
                snprintf(msg, sizeof(msg), "ku %d %d %d", rep, from_server, req);
                /* a's write carries the KeyUpdate ahead of the data, under the old keys. */
                h_send_recv(&f->p, a, b, msg, strlen(msg));
                exp[from_server][1][req]++;
                exp[!from_server][0][req]++;
                /* b's next write carries its answer to a request. */
                h_send_recv(&f->p, b, a, msg, strlen(msg));
                if (req) {
                    exp[!from_server][1][0]++;
                    exp[from_server][0][0]++;
                }
                for (int s = 0; s < 2; s++)
                    for (int d = 0; d < 2; d++)
                        for (int r = 0; r < 2; r++)
                            if (f->o.ku[s][d][r] != exp[s][d][r])
                                fail_msg("rep %d from %s req %d: %s %s KeyUpdate(%s): expected "
                                         "%d, got %d",
                                         rep, from_server ? "server" : "client", req,
                                         s ? "server" : "client", d ? "sent" : "received",
                                         r ? "requested" : "not requested", exp[s][d][r],
                                         f->o.ku[s][d][r]);
            }
        }
    }
    assert_int_equal(f->o.hs[0][1][HT_KEY_UPDATE], 9);
    assert_int_equal(f->o.hs[1][1][HT_KEY_UPDATE], 9);
}

/* do_handshake also sends a scheduled update, without any application data. The peer's
 * answer to a request goes out before its next application data (RFC 8446 §4.6.3): OpenSSL
 * sends it with the next write, not from recv or do_handshake. */
static void ku_sent_by_do_handshake(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    key_update_pair(f);
    h_conn_ok(f->p.client, tlsrig_conn_key_update(f->p.client, 1));
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    assert_int_equal(tlsrig_conn_do_handshake(f->p.client), 0);
    assert_true(tlsrig_conn_bio_pending(f->p.client) > 0);
    assert_int_equal(f->o.ku[0][1][1], 1);
    h_pump(&f->p);
    expect_no_data(f->p.server);
    assert_int_equal(f->o.ku[1][0][1], 1);
    assert_int_equal(tlsrig_conn_do_handshake(f->p.server), 0);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.server), 0);
    assert_int_equal(f->o.ku[1][1][0], 0);
    h_conn_ok(f->p.server, tlsrig_conn_write(f->p.server, "answer", 6));
    assert_int_equal(f->o.ku[1][1][0], 1);
    h_pump(&f->p);
    assert_int_equal(tlsrig_conn_recv(f->p.client, buf, sizeof(buf), 0), 6);
    assert_memory_equal(buf, "answer", 6);
    assert_int_equal(f->o.ku[0][0][0], 1);
    h_send_recv(&f->p, f->p.client, f->p.server, "new keys", 8);
    /* Nothing more was exchanged: one update each way. */
    assert_int_equal(f->o.hs[0][1][HT_KEY_UPDATE], 1);
    assert_int_equal(f->o.hs[1][1][HT_KEY_UPDATE], 1);
}

/* Only one update can be scheduled at a time. */
static void ku_twice_before_sent(void **state)
{
    fx *f = *state;
    key_update_pair(f);
    h_conn_ok(f->p.client, tlsrig_conn_key_update(f->p.client, 0));
    expect_err(f->p.client, tlsrig_conn_key_update(f->p.client, 0), TLSRIG_ERR_SSL,
               "still in init");
    h_send_recv(&f->p, f->p.client, f->p.server, "one", 3);
    assert_int_equal(f->o.ku[0][1][0], 1);
    /* Once sent, the next one is accepted. */
    h_conn_ok(f->p.client, tlsrig_conn_key_update(f->p.client, 0));
    h_send_recv(&f->p, f->p.client, f->p.server, "two", 3);
    assert_int_equal(f->o.ku[0][1][0], 2);
}

static void ku_refused_before_handshake_and_tls12(void **state)
{
    fx *f = *state;
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_pair_new(&f->p2, f->c, f->s);
    expect_err(f->p2.client, tlsrig_conn_key_update(f->p2.client, 1), TLSRIG_ERR_SSL, NULL);
    assert_true(tlsrig_conn_last_error(f->p2.client)->n_ssl > 0);
    expect_err(f->p2.server, tlsrig_conn_key_update(f->p2.server, 0), TLSRIG_ERR_SSL, NULL);
    assert_int_equal(tlsrig_conn_bio_pending(f->p2.client), 0);
    free_ctxs(f);

    connected(f, TLS1_2_VERSION);
    expect_err(f->p.client, tlsrig_conn_key_update(f->p.client, 1), TLSRIG_ERR_SSL,
               "wrong ssl version");
    expect_err(f->p.server, tlsrig_conn_key_update(f->p.server, 0), TLSRIG_ERR_SSL,
               "wrong ssl version");
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    h_send_recv(&f->p, f->p.client, f->p.server, "tls12", 5);
}

/* ======================================================================================
 * TLS 1.3 post-handshake client authentication (RFC 8446 §4.6.2)
 * ====================================================================================== */

static void pha_contexts(fx *f, int client_pha, int client_cert, int server_mode)
{
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    if (client_pha)
        h_ctx_ok(f->c, tlsrig_ctx_set_post_handshake_auth(f->c, 1));
    if (client_cert) {
        h_ctx_ok(f->c, tlsrig_ctx_use_certificate_chain_file(f->c, h_pki("client-p256.chain.pem")));
        h_ctx_ok(f->c, tlsrig_ctx_use_privatekey_file(f->c, h_pki("client-p256.key"),
                                                      TLSRIG_FILETYPE_PEM));
    }
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_ctx_ok(f->s, tlsrig_ctx_load_verify_locations(f->s, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(f->s, tlsrig_ctx_set_verify(f->s, server_mode, NULL, NULL));
    tlsrig_ctx_set_observer(f->s, observe, &f->o);
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_get_protocol_version(f->p.client), TLS1_3_VERSION);
}

static void pha_ok(void **state)
{
    fx *f = *state;
    uint8_t buf[32];
    pha_contexts(f, 1, 1, TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_POST_HANDSHAKE);
    /* With VERIFY_POST_HANDSHAKE the server asks nothing during the handshake. */
    assert_null(tlsrig_conn_get_peer_certificate(f->p.server));
    assert_int_equal(f->o.hs[1][1][HT_CERTIFICATE_REQUEST], 0);

    h_conn_ok(f->p.server, tlsrig_conn_verify_client_post_handshake(f->p.server));
    h_conn_ok(f->p.server, tlsrig_conn_sendall(f->p.server, "who are you?", 12, 0));
    assert_int_equal(f->o.hs[1][1][HT_CERTIFICATE_REQUEST], 1);
    h_pump(&f->p);
    /* The client answers the request while reading the data behind it. */
    assert_int_equal(tlsrig_conn_recv(f->p.client, buf, sizeof(buf), 0), 12);
    assert_memory_equal(buf, "who are you?", 12);
    h_pump(&f->p);
    expect_no_data(f->p.server);
    assert_int_equal(f->o.hs[1][0][HT_CERTIFICATE], 1);

    f->x509 = load_cert("client-p256.crt");
    X509 *peer = tlsrig_conn_get_peer_certificate(f->p.server);
    assert_non_null(peer);
    int same = X509_cmp(peer, f->x509) == 0;
    X509_free(peer);
    assert_true(same);
    assert_int_equal(tlsrig_conn_get_verify_result(f->p.server), X509_V_OK);
    h_send_recv(&f->p, f->p.client, f->p.server, "authenticated", 13);
}

static void pha_client_did_not_offer(void **state)
{
    fx *f = *state;
    pha_contexts(f, 0, 1, TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_POST_HANDSHAKE);
    expect_err(f->p.server, tlsrig_conn_verify_client_post_handshake(f->p.server), TLSRIG_ERR_SSL,
               "extension not received");
    assert_int_equal(tlsrig_conn_bio_pending(f->p.server), 0);
    h_send_recv(&f->p, f->p.server, f->p.client, "no request", 10);
    assert_int_equal(f->o.hs[1][1][HT_CERTIFICATE_REQUEST], 0);
}

/* Only a TLS 1.3 server, after its handshake, can ask. */
static void pha_wrong_side_or_version(void **state)
{
    fx *f = *state;
    pha_contexts(f, 1, 1, TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_POST_HANDSHAKE);
    expect_err(f->p.client, tlsrig_conn_verify_client_post_handshake(f->p.client), TLSRIG_ERR_SSL,
               "not server");
    h_pair_new(&f->p2, f->c, f->s);
    expect_err(f->p2.server, tlsrig_conn_verify_client_post_handshake(f->p2.server), TLSRIG_ERR_SSL,
               NULL);
    free_pairs(f);
    pin(f->s, TLS1_2_VERSION);
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    expect_err(f->p.server, tlsrig_conn_verify_client_post_handshake(f->p.server), TLSRIG_ERR_SSL,
               "wrong ssl version");
}

/* A client with post-handshake auth but no certificate answers with an empty Certificate; a
 * server that requires one aborts with certificate_required (RFC 8446 §4.4.2.4). */
static void pha_no_certificate_required(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    pha_contexts(f, 1, 0,
                 TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT |
                     TLSRIG_VERIFY_POST_HANDSHAKE);
    h_conn_ok(f->p.server, tlsrig_conn_verify_client_post_handshake(f->p.server));
    h_conn_ok(f->p.server, tlsrig_conn_do_handshake(f->p.server));
    h_pump(&f->p);
    expect_no_data(f->p.client);
    h_pump(&f->p);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0), TLSRIG_ERR_SSL,
               "peer did not return a certificate");
    assert_int_equal(f->o.alert[1][1][LEVEL_FATAL][AD_CERTIFICATE_REQUIRED], 1);
    assert_null(tlsrig_conn_get_peer_certificate(f->p.server));
}

/* ======================================================================================
 * Early data (RFC 8446 §4.2.10)
 * ====================================================================================== */

#define EARLY "early bytes"
#define EARLY_LEN 11

/* ed_ticket: a first full handshake on f->c / f->s; the client reads the NewSessionTicket
 * and keeps the session in f->sess. The clock is frozen so the ticket age is exact. */
static void ed_ticket(fx *f)
{
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_ctx_ok(f->s, tlsrig_ctx_set_max_early_data(f->s, 16384));
    h_ctx_ok(f->s, tlsrig_ctx_set_num_tickets(f->s, 1));
    h_pair_new(&f->p, f->c, f->s);
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p.client), SSL_EARLY_DATA_NOT_SENT);
    expect_no_data(f->p.client); /* processes the ticket */
    h_conn_ok(f->p.client, tlsrig_conn_get_session(f->p.client, &f->sess));
    assert_int_equal(SSL_SESSION_get_max_early_data(tlsrig_session_get0_ssl_session(f->sess)),
                     16384);
    /* Close properly on both sides: OpenSSL invalidates the session of a connection freed
     * without sending close_notify (see conn_free_without_shutdown_invalidates_session), on
     * the server too, where that removes it from the cache 0-RTT anti-replay relies on. */
    uint8_t buf[8];
    assert_int_equal(tlsrig_conn_shutdown(f->p.client), 0);
    h_pump(&f->p);
    expect_err(f->p.server, tlsrig_conn_recv(f->p.server, buf, sizeof(buf), 0),
               TLSRIG_ERR_ZERO_RETURN, NULL);
    assert_int_equal(tlsrig_conn_shutdown(f->p.server), 1);
    free_pairs(f);
    assert_int_equal(tlsrig_session_is_resumable(f->sess), 1);
    assert_int_equal(tlsrig_clock_advance(1), 0);
}

/* ed_attempt: a second connection (f->p2) to |server| that offers f->sess with early data,
 * driven to the end of the handshake. Returns the bytes the server read as early data. The
 * client's first flight (ClientHello and early data) is kept in f->flight. */
static int ed_attempt(fx *f, tlsrig_ctx *server, uint8_t *got, size_t cap)
{
    h_pair_new(&f->p2, f->c, server);
    tlsrig_conn *c = f->p2.client, *s = f->p2.server;
    h_conn_ok(c, tlsrig_conn_set_session(c, f->sess));
    int w = tlsrig_conn_write_early_data(c, EARLY, EARLY_LEN);
    if (w != EARLY_LEN)
        fail_msg("write_early_data: %s: %s", tlsrig_err_name(w),
                 tlsrig_conn_last_error(c)->message);
    free(f->flight);
    f->flight_len = tlsrig_conn_bio_pending(c);
    assert_int_equal(h_move(&f->p2, c, s), f->flight_len);
    f->flight = malloc(f->flight_len);
    assert_non_null(f->flight);
    memcpy(f->flight, f->p2.last.data, f->flight_len);
    int have = 0, rc;
    while ((rc = tlsrig_conn_read_early_data(s, got + have, cap - (size_t)have)) > 0)
        have += rc;
    if (rc == TLSRIG_ERR_WANT_READ) {
        /* Accepted: the server waits for EndOfEarlyData from the client's next flight. */
        h_move(&f->p2, s, c);
        h_conn_ok(c, tlsrig_conn_do_handshake(c));
        h_move(&f->p2, c, s);
        while ((rc = tlsrig_conn_read_early_data(s, got + have, cap - (size_t)have)) > 0)
            have += rc;
    }
    expect_err(s, rc, TLSRIG_ERR_ZERO_RETURN, "no more early data");
    f->p2.client_rc = tlsrig_conn_do_handshake(c);
    f->p2.server_rc = tlsrig_conn_do_handshake(s);
    handshake_ok(&f->p2);
    return have;
}

static void ed_accepted(void **state)
{
    fx *f = *state;
    uint8_t got[64];
    ed_ticket(f);
    assert_int_equal(ed_attempt(f, f->s, got, sizeof(got)), EARLY_LEN);
    assert_memory_equal(got, EARLY, EARLY_LEN);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.client), SSL_EARLY_DATA_ACCEPTED);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.server), SSL_EARLY_DATA_ACCEPTED);
    assert_int_equal(tlsrig_conn_session_reused(f->p2.client), 1);
    assert_int_equal(tlsrig_conn_session_reused(f->p2.server), 1);
    /* The early bytes were not also delivered as ordinary data. */
    expect_no_data(f->p2.server);
    h_send_recv(&f->p2, f->p2.client, f->p2.server, "1-RTT", 5);
    h_send_recv(&f->p2, f->p2.server, f->p2.client, "1-RTT", 5);
}

/* Another server context cannot open the ticket: full handshake, early data skipped. */
static void ed_rejected_by_other_server(void **state)
{
    fx *f = *state;
    uint8_t got[64];
    ed_ticket(f);
    f->s2 = server_ctx(TLSRIG_TLS_METHOD, "p256");
    assert_int_equal(ed_attempt(f, f->s2, got, sizeof(got)), 0);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.client), SSL_EARLY_DATA_REJECTED);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.server), SSL_EARLY_DATA_REJECTED);
    assert_int_equal(tlsrig_conn_session_reused(f->p2.client), 0);
    expect_no_data(f->p2.server);
    h_send_recv(&f->p2, f->p2.client, f->p2.server, EARLY, EARLY_LEN);
}

/* A server that turned early data off (max_early_data 0) after issuing 0-RTT tickets must
 * skip a client's early data and complete a 1-RTT handshake (RFC 8446 §4.2.10), not abort
 * with "too much early data". Its tickets were single-use cache entries (OpenSSL issues those
 * while 0-RTT is on); with 0-RTT off it reads them as stateless tickets it cannot open, so the
 * handshake is a full one. */
static void ed_rejected_max_early_data_zero(void **state)
{
    fx *f = *state;
    uint8_t got[64];
    ed_ticket(f);
    h_ctx_ok(f->s, tlsrig_ctx_set_max_early_data(f->s, 0));
    assert_int_equal(ed_attempt(f, f->s, got, sizeof(got)), 0);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.client), SSL_EARLY_DATA_REJECTED);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.server), SSL_EARLY_DATA_REJECTED);
    assert_int_equal(tlsrig_conn_session_reused(f->p2.server), 0);
    expect_no_data(f->p2.server);
    h_send_recv(&f->p2, f->p2.client, f->p2.server, EARLY, EARLY_LEN);
}

/* RFC 8446 §8: replayed 0-RTT must not be accepted twice. An attacker resends the client's
 * recorded first flight to the same server: OpenSSL's single-use tickets make it fall back to
 * a full handshake and skip the early data. */
static void ed_replay_rejected(void **state)
{
    fx *f = *state;
    uint8_t got[64];
    ed_ticket(f);
    assert_int_equal(ed_attempt(f, f->s, got, sizeof(got)), EARLY_LEN);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p2.server), SSL_EARLY_DATA_ACCEPTED);

    h_pair_new(&f->p, f->c, f->s);
    tlsrig_conn *replay = f->p.server;
    h_give(replay, f->flight, f->flight_len);
    expect_err(replay, tlsrig_conn_read_early_data(replay, got, sizeof(got)),
               TLSRIG_ERR_ZERO_RETURN, "no more early data");
    assert_int_equal(tlsrig_conn_get_early_data_status(replay), SSL_EARLY_DATA_REJECTED);
    assert_int_equal(tlsrig_conn_session_reused(replay), 0);
    /* The server answered with a full handshake's flight (it cannot finish without the
     * real client) and delivered nothing. */
    assert_true(tlsrig_conn_bio_pending(replay) > 0);
    expect_no_data(replay);
}

/* A client whose highest version is below TLS 1.3 cannot offer a TLS 1.3 session, so it
 * has nothing to send early data under: a clear refusal before any byte is written, where
 * OpenSSL would swap the session and then fail the write with an internal error (an abort in
 * builds with assertions; found by the client fuzz target). The connection stays usable. */
static void ed_refused_when_tls13_is_off(void **state)
{
    fx *f = *state;
    ed_ticket(f);
    h_pair_new(&f->p2, f->c, f->s);
    tlsrig_conn *c = f->p2.client;
    h_conn_ok(c, tlsrig_conn_set_session(c, f->sess));
    assert_int_equal(SSL_set_max_proto_version(tlsrig_conn_get0_ssl(c), TLS1_2_VERSION), 1);
    expect_err(c, tlsrig_conn_write_early_data(c, EARLY, EARLY_LEN), TLSRIG_ERR_INVALID_ARGUMENT,
               "early data needs TLS 1.3");
    expect_err(c, tlsrig_conn_write_early_data(c, EARLY, EARLY_LEN), TLSRIG_ERR_INVALID_ARGUMENT,
               "early data needs TLS 1.3");
    assert_int_equal(tlsrig_conn_bio_pending(c), 0);
    handshake_ok(&f->p2);
    assert_string_equal(tlsrig_conn_get_protocol_version_name(c), "TLSv1.2");
    assert_int_equal(tlsrig_conn_session_reused(c), 0);
    assert_int_equal(tlsrig_conn_get_early_data_status(c), SSL_EARLY_DATA_NOT_SENT);
}

static void ed_refused_calls(void **state)
{
    fx *f = *state;
    uint8_t buf[16];
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    f->c = client_ctx(TLSRIG_TLS_METHOD);
    f->s = server_ctx(TLSRIG_TLS_METHOD, "p256");
    h_ctx_ok(f->s, tlsrig_ctx_set_max_early_data(f->s, 16384));
    h_pair_new(&f->p, f->c, f->s);
    /* No session that allows early data: nothing to send it under. */
    expect_err(f->p.client, tlsrig_conn_write_early_data(f->p.client, EARLY, EARLY_LEN),
               TLSRIG_ERR_SSL, NULL);
    assert_int_equal(tlsrig_conn_bio_pending(f->p.client), 0);
    /* A client does not read early data; a server does not write it. */
    expect_err(f->p.client, tlsrig_conn_read_early_data(f->p.client, buf, sizeof(buf)),
               TLSRIG_ERR_SSL, NULL);
    expect_err(f->p.server, tlsrig_conn_write_early_data(f->p.server, EARLY, EARLY_LEN),
               TLSRIG_ERR_SSL, NULL);
    expect_err(f->p.server, tlsrig_conn_read_early_data(f->p.server, buf, 0),
               TLSRIG_ERR_INVALID_ARGUMENT, NULL);
    /* A plain handshake after all that: no early data either way. */
    handshake_ok(&f->p);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p.client), SSL_EARLY_DATA_NOT_SENT);
    assert_int_equal(tlsrig_conn_get_early_data_status(f->p.server), SSL_EARLY_DATA_NOT_SENT);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    /* As under Python (pyOpenSSL's home), a write to a socket whose peer has gone must fail
     * with EPIPE rather than kill the process: OpenSSL writes an alert when it meets the
     * unexpected EOF in io_socket_roundtrip_and_eof. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        T(hs_each_version_tls_method_bounds),
        T(hs_each_version_pinned_methods),
        T(hs_pinned_against_flexible),
        T(hs_flexible_negotiates_tls13),
        T(hs_mismatch_tls12_method_vs_tls13_only),
        T(hs_mismatch_tls13_only_vs_tls12_method),
        T(hs_mismatch_tls10_vs_tls12),
        T(hs_each_key_type),
        T(hs_ed25519_below_tls12_fails),

        T(conn_new_memory),
        T(conn_new_invalid),
        T(conn_free_null),
        T(conn_free_without_shutdown_invalidates_session),
        T(conn_socket_fd_and_bio_ops),
        T(conn_context_get_set),
        T(conn_app_data),
        T(conn_roles),
        T(conn_handshake_without_role),
        T(conn_handshake_want_read_on_empty_bio),

        T(io_recv_empty_bio_is_want_read),
        T(io_bio_read_nothing_is_want_read),
        T(io_bio_write_arguments),
        T(io_bio_shutdown_is_unexpected_eof),
        T(io_bio_shutdown_ignore_unexpected_eof),
        T(io_bio_shutdown_after_buffered_data),
        T(io_bio_shutdown_during_handshake),
        T(io_recv_peek),
        T(io_recv_into_nbytes),
        T(io_recv_invalid_arguments),
        T(io_write_invalid_arguments),
        T(io_send_100k),
        T(io_write_100k),
        T(io_sendall_100k),
        T(io_pending_after_partial_read),
        T(io_makefile_unsupported),
        T(io_want_read_want_write),
        T(io_bio_pending),
        T(io_socket_roundtrip_and_eof),
        T(io_socket_want_write_backpressure),

        T(sd_unidirectional),
        T(sd_bidirectional_tls13),
        T(sd_bidirectional_tls12),
        T(sd_simultaneous),
        T(sd_second_call_waits_for_peer),
        T(sd_write_after_shutdown_fails),
        T(sd_data_after_close_notify_ignored),
        T(sd_half_close),
        T(sd_set_get_roundtrip),
        T(sd_set_both_then_shutdown_is_silent),
        T(sd_quiet_shutdown),
        T(sd_mid_handshake),
        T(sd_without_role),

        T(reneg_client_initiated),
        T(reneg_server_initiated),
        T(reneg_client_initiated_refused_by_default),
        T(reneg_refused_server_no_renegotiation),
        T(reneg_refused_client_no_renegotiation),
        T(reneg_local_no_renegotiation),
        T(reneg_tls13_refused),

        T(ku_both_sides_repeated),
        T(ku_sent_by_do_handshake),
        T(ku_twice_before_sent),
        T(ku_refused_before_handshake_and_tls12),

        T(pha_ok),
        T(pha_client_did_not_offer),
        T(pha_wrong_side_or_version),
        T(pha_no_certificate_required),

        T(ed_accepted),
        T(ed_rejected_by_other_server),
        T(ed_rejected_max_early_data_zero),
        T(ed_replay_rejected),
        T(ed_refused_calls),
        T(ed_refused_when_tls13_is_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
