/*
 * test_det.c - deterministic mode and the virtual clock (engine/src/det_api.c, det.c,
 * clock.c): byte-identical handshakes for one seed, different bytes for another, per-context
 * deterministic sources, the return to the system RNG, the clock functions, and certificate
 * validity checked against the virtual clock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509_vfy.h>

#include "harness.h"

/* ---- helpers ---- */

static int teardown_det(void **state)
{
    (void)state;
    /* also when a test failed half-way: later tests must start random and on real time */
    tlsrig_deterministic_off();
    tlsrig_clock_real();
    return 0;
}

static void handshake_ok(h_pair *p)
{
    int rc = h_handshake(p);
    if (rc != 0)
        fail_msg("handshake: %s / client: %s / server: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->client)->message,
                 tlsrig_conn_last_error(p->server)->message);
}

/* How the contexts of a run are made: tlsrig_ctx_new (the process default, deterministic or
 * not), or tlsrig_ctx_new_ex with an explicit source (NULL: the system RNG). */
typedef struct source {
    int explicit_det;
    tlsrig_det *client;
    tlsrig_det *server;
} source;

static tlsrig_ctx *new_ctx(int explicit_det, tlsrig_det *det)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    int rc = explicit_det ? tlsrig_ctx_new_ex(TLSRIG_TLS_METHOD, det, &ctx, &err)
                          : tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err);
    if (rc < 0)
        fail_msg("ctx_new: %s: %s", tlsrig_err_name(rc), err.message);
    return ctx;
}

static tlsrig_ctx *server_ctx(const source *src, const char *kind)
{
    char chain[64], key[64];
    tlsrig_ctx *s = new_ctx(src->explicit_det, src->server);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    h_ctx_ok(s, tlsrig_ctx_use_certificate_chain_file(s, h_pki(chain)));
    h_ctx_ok(s, tlsrig_ctx_use_privatekey_file(s, h_pki(key), TLSRIG_FILETYPE_PEM));
    return s;
}

static tlsrig_ctx *client_ctx(const source *src)
{
    tlsrig_ctx *c = new_ctx(src->explicit_det, src->client);
    h_ctx_ok(c, tlsrig_ctx_load_verify_locations(c, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(c, tlsrig_ctx_set_verify(c, TLSRIG_VERIFY_PEER, NULL, NULL));
    return c;
}

enum scenario { TLS13_P256, TLS12_ECDHE_RSA, TLS13_RESUMPTION };

/* What a run produced: every wire byte in both directions, in order, and the first client
 * random. */
typedef struct capture {
    uint8_t *wire;
    size_t len;
    uint8_t client_random[32];
} capture;

static void capture_free(capture *cap)
{
    free(cap->wire);
    memset(cap, 0, sizeof(*cap));
}

static void append(capture *cap, const h_pair *p)
{
    cap->wire = realloc(cap->wire, cap->len + p->wire_len);
    assert_non_null(cap->wire);
    memcpy(cap->wire + cap->len, p->wire, p->wire_len);
    cap->len += p->wire_len;
}

/* One connection: handshake, a message each way (the client reads any TLS 1.3 tickets with
 * it), a bidirectional close_notify exchange. */
static void one_connection(tlsrig_ctx *c, tlsrig_ctx *s, tlsrig_session *offer, capture *cap,
                           tlsrig_session **out)
{
    h_pair p = {0};
    p.capture = 1;
    h_pair_new(&p, c, s);
    if (offer != NULL)
        h_conn_ok(p.client, tlsrig_conn_set_session(p.client, offer));
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_session_reused(p.client), offer != NULL);
    if (cap->len == 0)
        assert_int_equal(tlsrig_conn_client_random(p.client, cap->client_random, 32), 32);
    h_send_recv(&p, p.client, p.server, "request", 7);
    h_send_recv(&p, p.server, p.client, "response", 8);
    if (out != NULL)
        h_conn_ok(p.client, tlsrig_conn_get_session(p.client, out));
    assert_int_equal(tlsrig_conn_shutdown(p.client), 0);
    h_pump(&p);
    uint8_t buf[8];
    assert_int_equal(tlsrig_conn_recv(p.server, buf, sizeof(buf), 0), TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(tlsrig_conn_shutdown(p.server), 1);
    h_pump(&p);
    assert_int_equal(tlsrig_conn_shutdown(p.client), 1);
    append(cap, &p);
    h_pair_free(&p);
}

/* Runs |sc| with contexts made as |src| says and returns its capture. */
static void run(enum scenario sc, const source *src, capture *cap)
{
    memset(cap, 0, sizeof(*cap));
    tlsrig_ctx *s = server_ctx(src, sc == TLS12_ECDHE_RSA ? "rsa" : "p256");
    tlsrig_ctx *c = client_ctx(src);
    if (sc == TLS12_ECDHE_RSA) {
        h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
        h_ctx_ok(c, tlsrig_ctx_set_cipher_list(c, "ECDHE-RSA-AES128-GCM-SHA256"));
    }
    tlsrig_session *sess = NULL;
    one_connection(c, s, NULL, cap, sc == TLS13_RESUMPTION ? &sess : NULL);
    if (sc == TLS13_RESUMPTION) {
        one_connection(c, s, sess, cap, NULL);
        tlsrig_session_free(sess);
    }
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* A run under tlsrig_deterministic(seed). */
static void run_seeded(enum scenario sc, uint64_t seed, capture *cap)
{
    static const source deflt = {0, NULL, NULL};
    int rc = tlsrig_deterministic(seed);
    if (rc != 0)
        fail_msg("tlsrig_deterministic(%llu): %s", (unsigned long long)seed, tlsrig_err_name(rc));
    run(sc, &deflt, cap);
}

static void expect_same(const capture *a, const capture *b, const char *what)
{
    if (a->len == 0)
        fail_msg("%s: nothing was captured", what);
    if (a->len != b->len)
        fail_msg("%s: %zu wire bytes vs %zu", what, a->len, b->len);
    for (size_t i = 0; i < a->len; i++)
        if (a->wire[i] != b->wire[i])
            fail_msg("%s: wire bytes differ first at offset %zu of %zu (0x%02x vs 0x%02x)", what, i,
                     a->len, a->wire[i], b->wire[i]);
    assert_memory_equal(a->client_random, b->client_random, 32);
}

static void expect_different(const capture *a, const capture *b, const char *what)
{
    if (a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0)
        fail_msg("%s: %zu identical wire bytes", what, a->len);
    assert_memory_not_equal(a->client_random, b->client_random, 32);
}

/* Same seed twice: identical; another seed: different. */
static void same_seed_same_bytes(enum scenario sc)
{
    capture a, b, other;
    run_seeded(sc, 42, &a);
    run_seeded(sc, 42, &b);
    run_seeded(sc, 43, &other);
    tlsrig_deterministic_off();
    expect_same(&a, &b, "seed 42 twice");
    expect_different(&a, &other, "seed 42 vs 43");
    capture_free(&other);
    capture_free(&b);
    capture_free(&a);
}

/* ---- tlsrig_deterministic ---- */

static void det_tls13_p256(void **state)
{
    (void)state;
    same_seed_same_bytes(TLS13_P256);
}

static void det_tls12_ecdhe_rsa(void **state)
{
    (void)state;
    /* The negotiated suite is the one the scenario means to pin. */
    assert_int_equal(tlsrig_deterministic(1), 0);
    static const source deflt = {0, NULL, NULL};
    tlsrig_ctx *s = server_ctx(&deflt, "rsa"), *c = client_ctx(&deflt);
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, TLS1_2_VERSION));
    h_ctx_ok(c, tlsrig_ctx_set_cipher_list(c, "ECDHE-RSA-AES128-GCM-SHA256"));
    h_pair p = {0};
    h_pair_new(&p, c, s);
    handshake_ok(&p);
    assert_string_equal(tlsrig_conn_get_cipher_name(p.client), "ECDHE-RSA-AES128-GCM-SHA256");
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_2_VERSION);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);

    same_seed_same_bytes(TLS12_ECDHE_RSA);
}

static void det_tls13_resumption(void **state)
{
    (void)state;
    same_seed_same_bytes(TLS13_RESUMPTION);
}

static void det_off_is_random(void **state)
{
    (void)state;
    static const source deflt = {0, NULL, NULL};
    capture a, b;
    assert_int_equal(tlsrig_deterministic(7), 0);
    assert_int_equal(tlsrig_clock_is_virtual(), 1);
    tlsrig_deterministic_off();
    assert_int_equal(tlsrig_clock_is_virtual(), 0);
    run(TLS13_P256, &deflt, &a);
    run(TLS13_P256, &deflt, &b);
    expect_different(&a, &b, "two runs after deterministic_off");
    capture_free(&b);
    capture_free(&a);
    tlsrig_deterministic_off(); /* a second call is harmless */
    assert_int_equal(tlsrig_clock_is_virtual(), 0);
}

static void det_existing_contexts_keep_source(void **state)
{
    (void)state;
    /* Contexts made in deterministic mode stay deterministic after deterministic_off: a run
     * on them matches one where the mode stayed on (the clock is held at the epoch in both,
     * since TLS 1.3 tickets carry the time). */
    static const source deflt = {0, NULL, NULL};
    capture a = {0}, b = {0};
    for (int off = 0; off < 2; off++) {
        capture *cap = off ? &b : &a;
        assert_int_equal(tlsrig_deterministic(99), 0);
        tlsrig_ctx *s = server_ctx(&deflt, "p256"), *c = client_ctx(&deflt);
        if (off) {
            tlsrig_deterministic_off();
            tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
        }
        one_connection(c, s, NULL, cap, NULL);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
    expect_same(&a, &b, "mode kept on vs switched off after the contexts were made");
    capture_free(&b);
    capture_free(&a);
    tlsrig_deterministic_off();
    tlsrig_clock_real();
}

static void det_restart(void **state)
{
    (void)state;
    /* Calling tlsrig_deterministic again with the same seed restarts the clock too. */
    assert_int_equal(tlsrig_deterministic(5), 0);
    assert_int_equal(tlsrig_clock_now(), TLSRIG_CLOCK_EPOCH);
    assert_int_equal(tlsrig_clock_advance(1000), 0);
    assert_int_equal(tlsrig_clock_now(), TLSRIG_CLOCK_EPOCH + 1000);
    assert_int_equal(tlsrig_deterministic(5), 0);
    assert_int_equal(tlsrig_clock_now(), TLSRIG_CLOCK_EPOCH);
    tlsrig_deterministic_off();
}

/* ---- tlsrig_det_new / tlsrig_ctx_new_ex ---- */

static void run_with_dets(uint64_t cseed, uint64_t sseed, capture *cap)
{
    source src = {1, NULL, NULL};
    memset(cap, 0, sizeof(*cap));
    assert_int_equal(tlsrig_det_new(cseed, &src.client), 0);
    assert_int_equal(tlsrig_det_new(sseed, &src.server), 0);
    assert_non_null(src.client);
    /* The contexts take their own references: free the dets before the contexts are used. */
    tlsrig_ctx *s = server_ctx(&src, "p256"), *c = client_ctx(&src);
    tlsrig_det_free(src.client);
    tlsrig_det_free(src.server);
    one_connection(c, s, NULL, cap, NULL);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void det_per_context(void **state)
{
    (void)state;
    /* No process-wide mode: each context has its own source; the clock is held by hand. */
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    capture a, b, swapped;
    run_with_dets(1, 2, &a);
    run_with_dets(1, 2, &b);
    run_with_dets(2, 1, &swapped);
    expect_same(&a, &b, "dets 1/2 twice");
    expect_different(&a, &swapped, "dets 1/2 vs 2/1");
    capture_free(&swapped);
    capture_free(&b);
    capture_free(&a);
    tlsrig_clock_real();
}

static void det_shared_source_matches_mode(void **state)
{
    (void)state;
    /* tlsrig_deterministic(seed) amounts to one tlsrig_det_new(seed) shared by every context,
     * plus the clock at the epoch. */
    capture a, b;
    run_seeded(TLS13_P256, 11, &a);
    tlsrig_deterministic_off();

    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    source src = {1, NULL, NULL};
    assert_int_equal(tlsrig_det_new(11, &src.client), 0);
    src.server = src.client;
    run(TLS13_P256, &src, &b);
    tlsrig_det_free(src.client);
    expect_same(&a, &b, "deterministic(11) vs a shared det_new(11)");
    capture_free(&b);
    capture_free(&a);
    tlsrig_clock_real();
}

static void det_reseed_matches_fresh(void **state)
{
    (void)state;
    /* A det restarted with tlsrig_det_reseed must draw what a new det with that seed draws,
     * even after it has been used under another seed. */
    capture fresh, reseeded, other;
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    source src = {1, NULL, NULL};
    assert_int_equal(tlsrig_det_new(21, &src.client), 0);
    src.server = src.client;
    run(TLS13_P256, &src, &fresh);
    tlsrig_det_free(src.client);

    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    assert_int_equal(tlsrig_det_new(99, &src.client), 0);
    src.server = src.client;
    run(TLS13_P256, &src, &other);
    assert_int_equal(tlsrig_det_reseed(src.client, 21), 0);
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    run(TLS13_P256, &src, &reseeded);
    tlsrig_det_free(src.client);

    expect_same(&fresh, &reseeded, "det_new(21) vs det_new(99) used then reseeded to 21");
    expect_different(&fresh, &other, "seed 21 vs seed 99");
    assert_int_equal(tlsrig_det_reseed(NULL, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(tlsrig_det_default());
    assert_int_equal(tlsrig_deterministic(5), 0);
    assert_non_null(tlsrig_det_default());
    capture_free(&other);
    capture_free(&reseeded);
    capture_free(&fresh);
    tlsrig_clock_real();
}

static void det_new_ex_null_is_random(void **state)
{
    (void)state;
    /* ctx_new_ex with a NULL source uses the system RNG even in deterministic mode. */
    static const source sys = {1, NULL, NULL};
    capture a, b;
    assert_int_equal(tlsrig_deterministic(3), 0);
    run(TLS13_P256, &sys, &a);
    assert_int_equal(tlsrig_deterministic(3), 0);
    run(TLS13_P256, &sys, &b);
    tlsrig_deterministic_off();
    expect_different(&a, &b, "ctx_new_ex(NULL) twice under the same seed");
    capture_free(&b);
    capture_free(&a);
}

static void det_new_arguments(void **state)
{
    (void)state;
    assert_int_equal(tlsrig_det_new(1, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_det *det = NULL;
    assert_int_equal(tlsrig_det_new(0, &det), 0); /* seed 0 is a seed like any other */
    assert_non_null(det);
    tlsrig_det_free(det);
    tlsrig_det_free(NULL); /* allowed */
}

/* ---- the virtual clock ---- */

static int64_t real_now(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return (int64_t)ts.tv_sec;
}

static void clock_functions(void **state)
{
    (void)state;
    tlsrig_clock_real();
    assert_int_equal(tlsrig_clock_is_virtual(), 0);
    /* The real clock is the system's. */
    int64_t before = real_now(), now = tlsrig_clock_now(), after = real_now();
    assert_in_range(now, before, after);
    assert_int_equal(tlsrig_clock_advance(10), TLSRIG_ERR_UNSUPPORTED);
    assert_int_equal(tlsrig_clock_is_virtual(), 0);

    tlsrig_clock_set(1000);
    assert_int_equal(tlsrig_clock_is_virtual(), 1);
    assert_int_equal(tlsrig_clock_now(), 1000);
    assert_int_equal(tlsrig_clock_advance(5), 0);
    assert_int_equal(tlsrig_clock_now(), 1005);
    assert_int_equal(tlsrig_clock_advance(-10), 0);
    assert_int_equal(tlsrig_clock_now(), 995);
    /* time() is what OpenSSL reads; it follows the virtual clock. */
    time_t t = 0;
    assert_int_equal(time(&t), 995);
    assert_int_equal(t, 995);
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    assert_int_equal(tlsrig_clock_now(), TLSRIG_CLOCK_EPOCH);
    assert_int_equal(time(NULL), TLSRIG_CLOCK_EPOCH);

    tlsrig_clock_real();
    assert_int_equal(tlsrig_clock_is_virtual(), 0);
    before = real_now();
    now = (int64_t)time(NULL);
    after = real_now();
    assert_in_range(now, before, after);
    assert_int_equal(tlsrig_clock_advance(1), TLSRIG_ERR_UNSUPPORTED);
}

/* ---- certificate validity against the virtual clock ---- */

#define DAY ((int64_t)86400)

/* A server with the leaf |kind| and its chain. The expired and shortlived leaves are issued
 * by the intermediate CA, so the client, trusting only the root, needs the intermediate from
 * server-<kind>.chain.pem; h_server_ctx loads server-<kind>.crt (the leaf alone) for these
 * kinds, which fails path building before the validity period is even looked at. */
static tlsrig_ctx *leaf_server(const char *kind)
{
    tlsrig_ctx *s = NULL;
    tlsrig_error err;
    char chain[64], key[64];
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &s, &err) < 0)
        fail_msg("ctx_new: %s", err.message);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    h_ctx_ok(s, tlsrig_ctx_use_certificate_chain_file(s, h_pki(chain)));
    h_ctx_ok(s, tlsrig_ctx_use_privatekey_file(s, h_pki(key), TLSRIG_FILETYPE_PEM));
    return s;
}

/* Handshake against |s| with a client trusting the root; returns the client's verify result
 * and checks the handshake succeeded exactly when the result is X509_V_OK. */
static long verify_at(tlsrig_ctx *s, int64_t t)
{
    tlsrig_clock_set(t);
    tlsrig_ctx *c = h_client_ctx();
    h_pair p = {0};
    h_pair_new(&p, c, s);
    int rc = h_handshake(&p);
    long result = tlsrig_conn_get_verify_result(p.client);
    if (result == X509_V_OK && rc != 0)
        fail_msg("verify OK but handshake failed: %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p.client)->message);
    if (result != X509_V_OK && rc != TLSRIG_ERR_SSL)
        fail_msg("verify result %ld (%s) but handshake returned %s", result,
                 X509_verify_cert_error_string(result), tlsrig_err_name(rc));
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    return result;
}

static void expect_verify(long got, long want, const char *what)
{
    if (got != want)
        fail_msg("%s: verify result %ld (%s), expected %ld (%s)", what, got,
                 X509_verify_cert_error_string(got), want, X509_verify_cert_error_string(want));
}

static int64_t asn1_time_to_epoch(const ASN1_TIME *t)
{
    struct tm tm;
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return (int64_t)timegm(&tm);
}

static void cert_shortlived_expires(void **state)
{
    (void)state;
    /* server-shortlived is valid 2025-12-01 .. 2026-02-01; the epoch (2026-01-01) is inside. */
    tlsrig_ctx *s = leaf_server("shortlived");
    expect_verify(verify_at(s, TLSRIG_CLOCK_EPOCH), X509_V_OK, "at the epoch");
    expect_verify(verify_at(s, TLSRIG_CLOCK_EPOCH + 40 * DAY), X509_V_ERR_CERT_HAS_EXPIRED,
                  "40 days after the epoch");
    expect_verify(verify_at(s, TLSRIG_CLOCK_EPOCH - 40 * DAY), X509_V_ERR_CERT_NOT_YET_VALID,
                  "40 days before the epoch");
    /* The same by advancing the clock rather than setting it. */
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    assert_int_equal(tlsrig_clock_advance(40 * DAY), 0);
    expect_verify(verify_at(s, tlsrig_clock_now()), X509_V_ERR_CERT_HAS_EXPIRED, "advanced");
    tlsrig_ctx_free(s);
    tlsrig_clock_real();
}

static void cert_expired_at_epoch(void **state)
{
    (void)state;
    tlsrig_ctx *s = leaf_server("expired");
    expect_verify(verify_at(s, TLSRIG_CLOCK_EPOCH), X509_V_ERR_CERT_HAS_EXPIRED, "at the epoch");

    /* Control: inside its own validity window the same certificate verifies, so the failure
     * above is the clock's doing. */
    X509 *cert = NULL;
    tlsrig_error err;
    if (tlsrig_x509_load_file(h_pki("server-expired.crt"), TLSRIG_FILETYPE_PEM, &cert, &err) < 0)
        fail_msg("server-expired.crt: %s", err.message);
    int64_t nb = asn1_time_to_epoch(X509_get0_notBefore(cert));
    int64_t na = asn1_time_to_epoch(X509_get0_notAfter(cert));
    X509_free(cert);
    assert_true(na < TLSRIG_CLOCK_EPOCH);
    expect_verify(verify_at(s, nb + (na - nb) / 2), X509_V_OK, "inside its validity");
    tlsrig_ctx_free(s);
    tlsrig_clock_real();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(det_tls13_p256, teardown_det),
        cmocka_unit_test_teardown(det_tls12_ecdhe_rsa, teardown_det),
        cmocka_unit_test_teardown(det_tls13_resumption, teardown_det),
        cmocka_unit_test_teardown(det_off_is_random, teardown_det),
        cmocka_unit_test_teardown(det_existing_contexts_keep_source, teardown_det),
        cmocka_unit_test_teardown(det_restart, teardown_det),
        cmocka_unit_test_teardown(det_per_context, teardown_det),
        cmocka_unit_test_teardown(det_reseed_matches_fresh, teardown_det),
        cmocka_unit_test_teardown(det_shared_source_matches_mode, teardown_det),
        cmocka_unit_test_teardown(det_new_ex_null_is_random, teardown_det),
        cmocka_unit_test_teardown(det_new_arguments, teardown_det),
        cmocka_unit_test_teardown(clock_functions, teardown_det),
        cmocka_unit_test_teardown(cert_shortlived_expires, teardown_det),
        cmocka_unit_test_teardown(cert_expired_at_epoch, teardown_det),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
