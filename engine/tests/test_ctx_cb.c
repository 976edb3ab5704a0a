/*
 * test_ctx_cb.c - the user callbacks of ctx_cb.c, each driven end to end over memory BIOs:
 * ALPN and NPN selection, SNI (with a context switch), OCSP stapling, certificate
 * verification (callback, depth, hostname, client authentication and the client CA list),
 * the info, keylog and observer callbacks, and tlsrig_alert_desc_string.
 *
 * A callback "raising" (returning a negative value) must make the call that ran it return
 * TLSRIG_ERR_CALLBACK naming the callback, and the peer must see the handshake fail; each
 * callback is checked both ways. The password callback is covered by test_ctx.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "harness.h"

#define HOST "server.tlsrig.test"

/* ---- helpers ---- */

/* Each side's error as its failing do_handshake left it. Later calls on the connection
 * (bio_read included) replace the connection's error record, so drive() keeps a copy. */
typedef struct hs_failure {
    tlsrig_conn *conn;
    int rc;
    char msg[256];
} hs_failure;
static hs_failure g_fail[2];

static int reset_failures(void **state)
{
    (void)state;
    memset(g_fail, 0, sizeof(g_fail));
    return 0;
}

static const char *msg_of(const tlsrig_conn *conn)
{
    for (int i = 0; i < 2; i++)
        if (conn != NULL && g_fail[i].conn == conn && g_fail[i].msg[0] != '\0')
            return g_fail[i].msg;
    return conn != NULL ? tlsrig_conn_last_error(conn)->message : "";
}

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

static void step(tlsrig_conn *conn, int *rc, hs_failure *f)
{
    if (!is_want(*rc))
        return; /* completed or failed: never called again */
    *rc = tlsrig_conn_do_handshake(conn);
    if (*rc != 0 && !is_want(*rc)) {
        f->conn = conn;
        f->rc = *rc;
        snprintf(f->msg, sizeof(f->msg), "%s", tlsrig_conn_last_error(conn)->message);
    }
}

/* Drives both sides until each has completed or failed, or no bytes move. Returns 0 when
 * both completed, else the client's failure, else the server's, else a want code. */
static int drive(h_pair *p)
{
    reset_failures(NULL);
    p->client_rc = p->server_rc = TLSRIG_ERR_WANT_READ;
    for (int round = 0; round < 64; round++) {
        step(p->client, &p->client_rc, &g_fail[0]);
        size_t moved = h_move(p, p->client, p->server);
        step(p->server, &p->server_rc, &g_fail[1]);
        moved += h_move(p, p->server, p->client);
        if (moved == 0)
            break;
    }
    if (p->client_rc == 0 && p->server_rc == 0)
        return 0;
    if (p->client_rc != 0 && !is_want(p->client_rc))
        return p->client_rc;
    if (p->server_rc != 0 && !is_want(p->server_rc))
        return p->server_rc;
    return p->client_rc != 0 ? p->client_rc : p->server_rc;
}

#define hs_ok(p) hs_ok_at((p), __LINE__)
static void hs_ok_at(h_pair *p, int line)
{
    int rc = drive(p);
    if (rc != 0)
        fail_msg("line %d: handshake failed with %s; client %s: \"%s\"; server %s: \"%s\"", line,
                 tlsrig_err_name(rc), tlsrig_err_name(p->client_rc), msg_of(p->client),
                 tlsrig_err_name(p->server_rc), msg_of(p->server));
}

/* A handshake that must fail: returns drive's result, which must not be 0. */
#define hs_fail(p) hs_fail_at((p), __LINE__)
static int hs_fail_at(h_pair *p, int line)
{
    int rc = drive(p);
    if (rc == 0)
        fail_msg("line %d: handshake succeeded but was expected to fail", line);
    return rc;
}

#define expect_rc(conn, got, want) expect_rc_at((conn), (got), (want), #got, __LINE__)
static void expect_rc_at(tlsrig_conn *conn, int got, int want, const char *what, int line)
{
    if (got != want)
        fail_msg("line %d: %s: expected %s, got %s (\"%s\")", line, what, tlsrig_err_name(want),
                 tlsrig_err_name(got), msg_of(conn));
}

#define expect_ctx_rc(ctx, got, want) expect_ctx_rc_at((ctx), (got), (want), #got, __LINE__)
static void expect_ctx_rc_at(tlsrig_ctx *ctx, int got, int want, const char *what, int line)
{
    if (got != want)
        fail_msg("line %d: %s: expected %s, got %s (\"%s\")", line, what, tlsrig_err_name(want),
                 tlsrig_err_name(got), tlsrig_ctx_last_error(ctx)->message);
}

#define expect_msg_has(conn, needle) expect_msg_has_at((conn), (needle), __LINE__)
static void expect_msg_has_at(tlsrig_conn *conn, const char *needle, int line)
{
    const char *msg = msg_of(conn);
    if (strstr(msg, needle) == NULL)
        fail_msg("line %d: error message \"%s\" does not mention \"%s\"", line, msg, needle);
}

static void pin_version(tlsrig_ctx *ctx, int version)
{
    h_ctx_ok(ctx, tlsrig_ctx_set_min_proto_version(ctx, version));
    h_ctx_ok(ctx, tlsrig_ctx_set_max_proto_version(ctx, version));
}

/* A server context presenting |kind|'s leaf with its intermediate. h_server_ctx loads only
 * the leaf for "wronghost", which would fail on the missing issuer before the name check. */
static tlsrig_ctx *server_ctx_chain(const char *kind)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    char chain[64], key[64];
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err) < 0)
        fail_msg("tlsrig_ctx_new: %s", err.message);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    h_ctx_ok(ctx, tlsrig_ctx_use_certificate_chain_file(ctx, h_pki(chain)));
    h_ctx_ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, h_pki(key), TLSRIG_FILETYPE_PEM));
    return ctx;
}

static X509 *load_cert(const char *file)
{
    X509 *x = NULL;
    tlsrig_error err;
    if (tlsrig_x509_load_file(h_pki(file), TLSRIG_FILETYPE_PEM, &x, &err) < 0)
        fail_msg("load %s: %s", file, err.message);
    return x;
}

/* Fails unless |got| is the same certificate as the PEM file |file|. */
#define expect_cert(got, file) expect_cert_at((got), (file), __LINE__)
static void expect_cert_at(X509 *got, const char *file, int line)
{
    if (got == NULL)
        fail_msg("line %d: expected the certificate of %s, got none", line, file);
    X509 *want = load_cert(file);
    int diff = X509_cmp(got, want);
    if (diff != 0) {
        char gs[256], ws[256];
        X509_NAME_oneline(X509_get_subject_name(got), gs, sizeof(gs));
        X509_NAME_oneline(X509_get_subject_name(want), ws, sizeof(ws));
        X509_free(want);
        fail_msg("line %d: expected %s (%s), got %s", line, file, ws, gs);
    }
    X509_free(want);
}

static void cert_cn(X509 *x, char *buf, int cap)
{
    buf[0] = '\0';
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, cap) < 0)
        buf[0] = '\0';
}

static int bytes_is(const tlsrig_bytes *b, const char *s)
{
    return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

#define expect_alpn(conn, want) expect_proto_at((conn), (want), 1, __LINE__)
#define expect_npn(conn, want) expect_proto_at((conn), (want), 0, __LINE__)
static void expect_proto_at(tlsrig_conn *conn, const char *want, int alpn, int line)
{
    const uint8_t *got = (const uint8_t *)"stale";
    int n = alpn ? tlsrig_conn_get_alpn_proto_negotiated(conn, &got)
                 : tlsrig_conn_get_next_proto_negotiated(conn, &got);
    const char *which = alpn ? "ALPN" : "NPN";
    if (want == NULL) {
        if (n != 0)
            fail_msg("line %d: %s on the %s: expected none, got \"%.*s\"", line, which,
                     tlsrig_conn_is_server(conn) ? "server" : "client", n, (const char *)got);
        return;
    }
    if (n != (int)strlen(want) || got == NULL || memcmp(got, want, (size_t)n) != 0)
        fail_msg("line %d: %s on the %s: expected \"%s\", got %d bytes \"%.*s\"", line, which,
                 tlsrig_conn_is_server(conn) ? "server" : "client", want, n, n > 0 ? n : 0,
                 n > 0 && got != NULL ? (const char *)got : "");
}

static const tlsrig_bytes H2_HTTP11[] = {
    {(const uint8_t *)"h2", 2},
    {(const uint8_t *)"http/1.1", 8},
};

/* ---- observer: records every event one context's connections report ---- */

#define OBS_MAX 512

typedef struct obs_ev {
    tlsrig_observe_kind kind;
    int sent, is_server, content_type, handshake_type, alert_level, alert_desc;
    size_t len;
    uint8_t b0;
    uint32_t hs_body_len; /* handshake messages: the 24-bit length field */
} obs_ev;

typedef struct obs_log {
    int n;
    int overflow;
    int bad_data; /* an event whose bytes disagree with its decoded fields */
    tlsrig_conn *conn;
    obs_ev ev[OBS_MAX];
} obs_log;

static void observe(tlsrig_conn *conn, const tlsrig_observe_event *e, void *arg)
{
    obs_log *l = arg;
    if (l->n >= OBS_MAX) {
        l->overflow = 1;
        return;
    }
    obs_ev *o = &l->ev[l->n++];
    l->conn = conn;
    o->kind = e->kind;
    o->sent = e->sent;
    o->is_server = e->is_server;
    o->content_type = e->content_type;
    o->handshake_type = e->handshake_type;
    o->alert_level = e->alert_level;
    o->alert_desc = e->alert_desc;
    o->len = e->len;
    o->b0 = e->len > 0 && e->data != NULL ? e->data[0] : 0;
    if (e->kind == TLSRIG_OBSERVE_HANDSHAKE && e->len >= 4)
        o->hs_body_len = (uint32_t)e->data[1] << 16 | (uint32_t)e->data[2] << 8 | e->data[3];
    if (e->kind == TLSRIG_OBSERVE_ALERT && e->len == 2 &&
        (e->data[0] != e->alert_level || e->data[1] != e->alert_desc))
        l->bad_data = 1;
    if (e->kind == TLSRIG_OBSERVE_RECORD && (e->len != 5 || e->data[0] != e->content_type))
        l->bad_data = 1;
}

/* First alert event with the given direction, or NULL. */
static const obs_ev *obs_alert(const obs_log *l, int sent)
{
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].kind == TLSRIG_OBSERVE_ALERT && l->ev[i].sent == sent)
            return &l->ev[i];
    return NULL;
}

static int obs_count(const obs_log *l, tlsrig_observe_kind kind, int sent)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].kind == kind && l->ev[i].sent == sent)
            n++;
    return n;
}

/* ==========================================================================================
 * ALPN (RFC 7301)
 * ========================================================================================== */

typedef struct alpn_state {
    int calls;
    tlsrig_conn *conn;
    size_t n;
    char offered[4][32];
    const char *prefer; /* chosen when offered; else TLSRIG_NO_OVERLAPPING_PROTOCOLS */
    int result;         /* returned instead when non-zero */
    int force_index;    /* >= 0: store this index in *chosen whatever was offered */
} alpn_state;

static int alpn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                       void *arg)
{
    alpn_state *st = arg;
    st->calls++;
    st->conn = conn;
    st->n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        snprintf(st->offered[i], sizeof(st->offered[i]), "%.*s", (int)offered[i].len,
                 (const char *)offered[i].data);
    if (st->result != 0)
        return st->result;
    if (st->force_index >= 0) {
        *chosen = (size_t)st->force_index;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (st->prefer != NULL && bytes_is(&offered[i], st->prefer)) {
            *chosen = i;
            return 0;
        }
    return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
}

static void alpn_setup(tlsrig_ctx **c, tlsrig_ctx **s, alpn_state *st, int version)
{
    *s = h_server_ctx("p256");
    *c = h_client_ctx();
    pin_version(*c, version);
    h_ctx_ok(*c, tlsrig_ctx_set_alpn_protos(*c, H2_HTTP11, 2));
    st->force_index = -1;
    tlsrig_ctx_set_alpn_select_callback(*s, alpn_select, st);
}

/* The server picks the second offer, so an index mix-up cannot pass. */
static void alpn_select_picks_offered_protocol(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *c, *s;
        alpn_state st = {0};
        alpn_setup(&c, &s, &st, versions[v]);
        st.prefer = "http/1.1";
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_ok(&p);
        assert_int_equal(st.calls, 1);
        assert_ptr_equal(st.conn, p.server);
        /* The callback saw exactly what the client offered, in order. */
        assert_int_equal(st.n, 2);
        assert_string_equal(st.offered[0], "h2");
        assert_string_equal(st.offered[1], "http/1.1");
        expect_alpn(p.server, "http/1.1");
        expect_alpn(p.client, "http/1.1");
        h_pair_free(&p);

        /* Preferring the first offer gives that one on both sides. */
        st.calls = 0;
        st.prefer = "h2";
        h_pair_new(&p, c, s);
        hs_ok(&p);
        assert_int_equal(st.calls, 1);
        expect_alpn(p.server, "h2");
        expect_alpn(p.client, "h2");
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* RFC 7301 §3.2 lets a server without a common protocol ignore the extension; pyOpenSSL's
 * NO_OVERLAPPING_PROTOCOLS does that, so the handshake completes with no ALPN. */
static void alpn_no_overlap_completes_without_alpn(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    alpn_state st = {0};
    alpn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_3);
    st.prefer = "spdy/3";
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st.calls, 1);
    expect_alpn(p.server, NULL);
    expect_alpn(p.client, NULL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void alpn_raise_fails_both_sides(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    alpn_state st = {0};
    alpn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_3);
    obs_log *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    tlsrig_ctx_set_observer(c, observe, cl);
    st.result = -1;
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_fail(&p);
    assert_int_equal(st.calls, 1);
    expect_rc(p.server, p.server_rc, TLSRIG_ERR_CALLBACK);
    expect_msg_has(p.server, "alpn_select");
    /* The client is told with a fatal no_application_protocol alert (RFC 7301 §3.2). */
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
    const obs_ev *a = obs_alert(cl, 0);
    assert_non_null(a);
    assert_int_equal(a->alert_level, 2);
    assert_int_equal(a->alert_desc, 120);
    h_pair_free(&p);
    free(cl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* A callback that returns 0 with an index outside the offered list, or a positive value
 * other than NO_OVERLAPPING_PROTOCOLS, broke its contract: that is a raise too. */
static void alpn_bad_choice_is_a_raise(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        tlsrig_ctx *c, *s;
        alpn_state st = {0};
        alpn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_2);
        if (variant == 0)
            st.force_index = 2; /* two protocols were offered: 0 and 1 are valid */
        else
            st.result = 2;
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_fail(&p);
        expect_rc(p.server, p.server_rc, TLSRIG_ERR_CALLBACK);
        expect_msg_has(p.server, "alpn_select");
        if (p.client_rc == 0 || p.client_rc == TLSRIG_ERR_WANT_READ)
            fail_msg("variant %d: client handshake did not fail: %s", variant,
                     tlsrig_err_name(p.client_rc));
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* The connection's list replaces the context's: the server sees only the connection's. */
static void alpn_conn_protos_override_ctx(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    alpn_state st = {0};
    alpn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_3);
    st.prefer = "h2";
    h_pair p = {0};
    h_pair_new(&p, c, s);
    static const tlsrig_bytes only[] = {{(const uint8_t *)"spdy/3.1", 8}};
    h_conn_ok(p.client, tlsrig_conn_set_alpn_protos(p.client, only, 1));
    hs_ok(&p);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.offered[0], "spdy/3.1");
    expect_alpn(p.client, NULL); /* "h2" was not offered on this connection */
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void alpn_set_protos_rejects_bad_names(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx(), *s = h_server_ctx("p256");
    h_pair p = {0};
    h_pair_new(&p, c, s);
    uint8_t long_name[256];
    memset(long_name, 'a', sizeof(long_name));
    const tlsrig_bytes empty[] = {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"", 0}};
    const tlsrig_bytes too_long[] = {{long_name, 256}};
    const tlsrig_bytes max_len[] = {{long_name, 255}};
    expect_rc(p.client, tlsrig_conn_set_alpn_protos(p.client, empty, 2),
              TLSRIG_ERR_INVALID_ARGUMENT);
    expect_rc(p.client, tlsrig_conn_set_alpn_protos(p.client, too_long, 1),
              TLSRIG_ERR_INVALID_ARGUMENT);
    expect_rc(p.client, tlsrig_conn_set_alpn_protos(p.client, NULL, 1),
              TLSRIG_ERR_INVALID_ARGUMENT);
    /* 255 bytes is the longest name the 1-byte length prefix allows (RFC 7301 §3.1). */
    h_conn_ok(p.client, tlsrig_conn_set_alpn_protos(p.client, max_len, 1));
    expect_ctx_rc(c, tlsrig_ctx_set_alpn_protos(c, too_long, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* No ALPN offered: the select callback is not called, and nothing is negotiated. */
static void alpn_callback_not_called_without_offer(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    alpn_state st = {.force_index = -1, .prefer = "h2"};
    tlsrig_ctx_set_alpn_select_callback(s, alpn_select, &st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st.calls, 0);
    expect_alpn(p.server, NULL);
    expect_alpn(p.client, NULL);
    h_pair_free(&p);

    /* Removing the callback: an offer is then ignored by the server. */
    h_ctx_ok(c, tlsrig_ctx_set_alpn_protos(c, H2_HTTP11, 2));
    tlsrig_ctx_set_alpn_select_callback(s, NULL, NULL);
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st.calls, 0);
    expect_alpn(p.client, NULL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * NPN (TLS <= 1.2 only: TLS 1.3 has no NextProtocolNegotiation)
 * ========================================================================================== */

typedef struct npn_state {
    int adv_calls, sel_calls;
    const tlsrig_bytes *adv;
    size_t adv_n;
    int adv_result;
    tlsrig_conn *adv_conn, *sel_conn;
    size_t n;
    char offered[4][32];
    const char *prefer;
    int sel_result;
} npn_state;

static int npn_advertise(tlsrig_conn *conn, const tlsrig_bytes **protos, size_t *n, void *arg)
{
    npn_state *st = arg;
    st->adv_calls++;
    st->adv_conn = conn;
    if (st->adv_result != 0)
        return st->adv_result;
    *protos = st->adv;
    *n = st->adv_n;
    return 0;
}

static int npn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                      void *arg)
{
    npn_state *st = arg;
    st->sel_calls++;
    st->sel_conn = conn;
    st->n = n;
    for (size_t i = 0; i < n && i < 4; i++)
        snprintf(st->offered[i], sizeof(st->offered[i]), "%.*s", (int)offered[i].len,
                 (const char *)offered[i].data);
    if (st->sel_result != 0)
        return st->sel_result;
    for (size_t i = 0; i < n; i++)
        if (st->prefer != NULL && bytes_is(&offered[i], st->prefer)) {
            *chosen = i;
            return 0;
        }
    return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
}

static const tlsrig_bytes NPN_ADV[] = {
    {(const uint8_t *)"spdy/2", 6},
    {(const uint8_t *)"http/1.1", 8},
};

static void npn_setup(tlsrig_ctx **c, tlsrig_ctx **s, npn_state *st, int version)
{
    *s = h_server_ctx("p256");
    *c = h_client_ctx();
    pin_version(*c, version);
    st->adv = NPN_ADV;
    st->adv_n = 2;
    tlsrig_ctx_set_npn_advertise_callback(*s, npn_advertise, st);
    tlsrig_ctx_set_npn_select_callback(*c, npn_select, st);
}

static void npn_select_and_advertise(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    npn_state st = {0};
    npn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_2);
    st.prefer = "http/1.1";
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st.adv_calls, 1);
    assert_int_equal(st.sel_calls, 1);
    assert_ptr_equal(st.adv_conn, p.server);
    assert_ptr_equal(st.sel_conn, p.client);
    /* The client's callback saw exactly what the server advertised. */
    assert_int_equal(st.n, 2);
    assert_string_equal(st.offered[0], "spdy/2");
    assert_string_equal(st.offered[1], "http/1.1");
    expect_npn(p.client, "http/1.1");
    expect_npn(p.server, "http/1.1");
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* NO_OVERLAPPING_PROTOCOLS on the client falls back to the server's first protocol. */
static void npn_no_overlap_takes_first(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    npn_state st = {0};
    npn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_2);
    st.prefer = "h2";
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st.sel_calls, 1);
    expect_npn(p.client, "spdy/2");
    expect_npn(p.server, "spdy/2");
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void npn_not_negotiated_in_tls13(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    npn_state st = {0};
    npn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_3);
    st.prefer = "http/1.1";
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLSRIG_VERSION_TLS1_3);
    assert_int_equal(st.adv_calls, 0);
    assert_int_equal(st.sel_calls, 0);
    expect_npn(p.client, NULL);
    expect_npn(p.server, NULL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void npn_select_raise_fails_client(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    npn_state st = {0};
    npn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_2);
    st.sel_result = -1;
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_fail(&p);
    assert_int_equal(st.sel_calls, 1);
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_CALLBACK);
    expect_msg_has(p.client, "npn_select");
    /* The server gets the client's fatal alert. */
    expect_rc(p.server, p.server_rc, TLSRIG_ERR_SSL);
    expect_npn(p.client, NULL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* OpenSSL 3.0 offers no way to abort from the advertise callback (a non-OK return only
 * leaves the extension out of the ServerHello), so the raise is reported by the
 * do_handshake that ran it while the ServerHello goes out without NPN. */
static void npn_advertise_raise_reported_on_server(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    npn_state st = {0};
    npn_setup(&c, &s, &st, TLSRIG_VERSION_TLS1_2);
    st.adv_result = -1;
    st.prefer = "http/1.1";
    h_pair p = {0};
    h_pair_new(&p, c, s);
    expect_rc(p.client, tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
    h_move(&p, p.client, p.server);
    expect_rc(p.server, tlsrig_conn_do_handshake(p.server), TLSRIG_ERR_CALLBACK);
    expect_msg_has(p.server, "npn_advertise");
    assert_int_equal(st.adv_calls, 1);
    /* Nothing was advertised, so the client never had to choose. */
    h_move(&p, p.server, p.client);
    int crc = tlsrig_conn_do_handshake(p.client);
    if (crc == TLSRIG_ERR_CALLBACK)
        fail_msg("client reported a callback failure: %s",
                 tlsrig_conn_last_error(p.client)->message);
    assert_int_equal(st.sel_calls, 0);
    expect_npn(p.client, NULL);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * SNI (RFC 6066 §3)
 * ========================================================================================== */

typedef struct sni_state {
    int calls;
    int saw_null;
    char name[300];
    tlsrig_conn *conn;
    tlsrig_ctx *switch_to;
    int switch_rc;
    int result;
} sni_state;

static int servername(tlsrig_conn *conn, void *arg)
{
    sni_state *st = arg;
    st->calls++;
    st->conn = conn;
    const char *name = tlsrig_conn_get_servername(conn);
    st->saw_null = name == NULL;
    snprintf(st->name, sizeof(st->name), "%s", name != NULL ? name : "");
    if (st->switch_to != NULL)
        st->switch_rc = tlsrig_conn_set_context(conn, st->switch_to);
    return st->result;
}

static void sni_switches_context(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *s = h_server_ctx("p256"), *s2 = h_server_ctx("rsa"), *c = h_client_ctx();
        pin_version(c, versions[v]);
        sni_state st = {.switch_to = s2, .switch_rc = 1};
        tlsrig_ctx_set_tlsext_servername_callback(s, servername, &st);
        h_pair p = {0};
        h_pair_new(&p, c, s);
        h_conn_ok(p.client, tlsrig_conn_set_tlsext_host_name(p.client, HOST));
        assert_string_equal(tlsrig_conn_get_servername(p.client), HOST);
        hs_ok(&p);
        assert_int_equal(st.calls, 1);
        assert_ptr_equal(st.conn, p.server);
        assert_int_equal(st.saw_null, 0);
        assert_string_equal(st.name, HOST);
        assert_int_equal(st.switch_rc, 0);
        assert_ptr_equal(tlsrig_conn_get_context(p.server), s2);
        assert_string_equal(tlsrig_conn_get_servername(p.server), HOST);
        /* The certificate the client got is the second context's. */
        X509 *peer = tlsrig_conn_get_peer_certificate(p.client);
        expect_cert(peer, "server-rsa.crt");
        X509_free(peer);
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s2);
        tlsrig_ctx_free(s);
    }
}

/* After the switch the new context's ALPN callback is the one in force. */
static void sni_switch_uses_new_context_callbacks(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *s2 = h_server_ctx("rsa"), *c = h_client_ctx();
    alpn_state a1 = {.force_index = -1, .prefer = "h2"};
    alpn_state a2 = {.force_index = -1, .prefer = "http/1.1"};
    tlsrig_ctx_set_alpn_select_callback(s, alpn_select, &a1);
    tlsrig_ctx_set_alpn_select_callback(s2, alpn_select, &a2);
    h_ctx_ok(c, tlsrig_ctx_set_alpn_protos(c, H2_HTTP11, 2));
    sni_state st = {.switch_to = s2};
    tlsrig_ctx_set_tlsext_servername_callback(s, servername, &st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_tlsext_host_name(p.client, HOST));
    hs_ok(&p);
    assert_int_equal(a1.calls, 0);
    assert_int_equal(a2.calls, 1);
    expect_alpn(p.client, "http/1.1");
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s2);
    tlsrig_ctx_free(s);
}

static void sni_no_name_callback_sees_null(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    sni_state st = {0};
    tlsrig_ctx_set_tlsext_servername_callback(s, servername, &st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    assert_null(tlsrig_conn_get_servername(p.client));
    hs_ok(&p);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.saw_null, 1);
    assert_null(tlsrig_conn_get_servername(p.server));
    /* No switch: the server still runs on (and presented the certificate of) its context. */
    assert_ptr_equal(tlsrig_conn_get_context(p.server), s);
    X509 *peer = tlsrig_conn_get_peer_certificate(p.client);
    expect_cert(peer, "server-p256.crt");
    X509_free(peer);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void sni_raise_sends_unrecognized_name(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    obs_log *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    tlsrig_ctx_set_observer(c, observe, cl);
    sni_state st = {.result = -1};
    tlsrig_ctx_set_tlsext_servername_callback(s, servername, &st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_tlsext_host_name(p.client, HOST));
    hs_fail(&p);
    assert_int_equal(st.calls, 1);
    expect_rc(p.server, p.server_rc, TLSRIG_ERR_CALLBACK);
    expect_msg_has(p.server, "servername");
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
    expect_msg_has(p.client, "unrecognized name");
    /* RFC 6066 §3: the fatal alert is unrecognized_name (112). */
    const obs_ev *a = obs_alert(cl, 0);
    assert_non_null(a);
    assert_int_equal(a->alert_level, 2);
    assert_int_equal(a->alert_desc, 112);
    h_pair_free(&p);
    free(cl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void sni_host_name_invalid_arguments(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    h_pair p = {0};
    h_pair_new(&p, c, s);
    /* Only a client sends a server name. */
    expect_rc(p.server, tlsrig_conn_set_tlsext_host_name(p.server, HOST),
              TLSRIG_ERR_INVALID_ARGUMENT);
    expect_rc(p.client, tlsrig_conn_set_tlsext_host_name(p.client, ""),
              TLSRIG_ERR_INVALID_ARGUMENT);
    expect_rc(p.client, tlsrig_conn_set_tlsext_host_name(p.client, NULL),
              TLSRIG_ERR_INVALID_ARGUMENT);
    /* RFC 6066 §3: HostName is at most 2^8-1 bytes as OpenSSL sizes it. */
    char name[257];
    memset(name, 'a', 256);
    name[256] = '\0';
    expect_rc(p.client, tlsrig_conn_set_tlsext_host_name(p.client, name),
              TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(tlsrig_conn_get_servername(p.client));
    name[255] = '\0';
    h_conn_ok(p.client, tlsrig_conn_set_tlsext_host_name(p.client, name));
    assert_string_equal(tlsrig_conn_get_servername(p.client), name);
    expect_rc(p.server, tlsrig_conn_set_context(p.server, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * OCSP stapling (RFC 6066 §8)
 * ========================================================================================== */

typedef struct ocsp_state {
    int server_calls, client_calls;
    tlsrig_conn *server_conn, *client_conn;
    uint8_t *staple;
    size_t staple_len;
    int server_result;
    uint8_t got[16384];
    size_t got_len;
    int got_null;
    int client_result;
} ocsp_state;

static int ocsp_server(tlsrig_conn *conn, const uint8_t **resp, size_t *len, void *arg)
{
    ocsp_state *st = arg;
    st->server_calls++;
    st->server_conn = conn;
    if (st->server_result < 0)
        return st->server_result;
    *resp = st->staple;
    *len = st->staple_len;
    return 0;
}

static int ocsp_client(tlsrig_conn *conn, const uint8_t *resp, size_t len, void *arg)
{
    ocsp_state *st = arg;
    st->client_calls++;
    st->client_conn = conn;
    st->got_null = resp == NULL;
    st->got_len = len;
    if (len > 0 && resp != NULL && len <= sizeof(st->got))
        memcpy(st->got, resp, len);
    return st->client_result;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    uint8_t *buf = malloc(65536);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    if (*len == 0)
        fail_msg("%s is empty", path);
    return buf;
}

static void ocsp_setup(tlsrig_ctx **c, tlsrig_ctx **s, ocsp_state *st)
{
    *s = h_server_ctx("p256");
    *c = h_client_ctx();
    st->staple = read_file(h_pki("ocsp-response.der"), &st->staple_len);
    st->client_result = 1;
    tlsrig_ctx_set_ocsp_server_callback(*s, ocsp_server, st);
    tlsrig_ctx_set_ocsp_client_callback(*c, ocsp_client, st);
}

static void ocsp_staple_delivered_intact(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *c, *s;
        ocsp_state *st = calloc(1, sizeof(*st));
        assert_non_null(st);
        ocsp_setup(&c, &s, st);
        pin_version(c, versions[v]);
        h_pair p = {0};
        h_pair_new(&p, c, s);
        h_conn_ok(p.client, tlsrig_conn_request_ocsp(p.client));
        hs_ok(&p);
        assert_int_equal(st->server_calls, 1);
        assert_int_equal(st->client_calls, 1);
        assert_ptr_equal(st->server_conn, p.server);
        assert_ptr_equal(st->client_conn, p.client);
        assert_int_equal(st->got_len, st->staple_len);
        assert_memory_equal(st->got, st->staple, st->staple_len);
        h_pair_free(&p);
        free(st->staple);
        free(st);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* Without request_ocsp no status_request is sent: neither callback runs (as pyOpenSSL). */
static void ocsp_not_requested_no_callbacks(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    ocsp_state *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    ocsp_setup(&c, &s, st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st->server_calls, 0);
    assert_int_equal(st->client_calls, 0);
    h_pair_free(&p);
    free(st->staple);
    free(st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* Requested but the server staples nothing (len 0): the client callback sees len 0. */
static void ocsp_nothing_stapled_client_sees_len0(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    ocsp_state *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    ocsp_setup(&c, &s, st);
    st->staple_len = 0;
    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_request_ocsp(p.client));
    hs_ok(&p);
    assert_int_equal(st->server_calls, 1);
    assert_int_equal(st->client_calls, 1);
    assert_int_equal(st->got_len, 0);
    h_pair_free(&p);
    free(st->staple);
    free(st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void ocsp_server_raise(void **state)
{
    (void)state;
    tlsrig_ctx *c, *s;
    ocsp_state *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    ocsp_setup(&c, &s, st);
    st->server_result = -1;
    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_request_ocsp(p.client));
    hs_fail(&p);
    assert_int_equal(st->server_calls, 1);
    expect_rc(p.server, p.server_rc, TLSRIG_ERR_CALLBACK);
    expect_msg_has(p.server, "ocsp_server");
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
    assert_int_equal(st->client_calls, 0);
    h_pair_free(&p);
    free(st->staple);
    free(st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void ocsp_client_reject_and_raise(void **state)
{
    (void)state;
    for (int raise = 0; raise < 2; raise++) {
        tlsrig_ctx *c, *s;
        ocsp_state *st = calloc(1, sizeof(*st));
        assert_non_null(st);
        ocsp_setup(&c, &s, st);
        obs_log *cl = calloc(1, sizeof(*cl));
        assert_non_null(cl);
        tlsrig_ctx_set_observer(c, observe, cl);
        st->client_result = raise ? -1 : 0;
        h_pair p = {0};
        h_pair_new(&p, c, s);
        h_conn_ok(p.client, tlsrig_conn_request_ocsp(p.client));
        hs_fail(&p);
        assert_int_equal(st->client_calls, 1);
        assert_int_equal(st->got_len, st->staple_len);
        if (raise) {
            expect_rc(p.client, p.client_rc, TLSRIG_ERR_CALLBACK);
            expect_msg_has(p.client, "ocsp_client");
        } else {
            /* A rejection is OpenSSL's verdict, not a callback failure. */
            expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
            /* RFC 6066 §8: bad_certificate_status_response (113). */
            const obs_ev *a = obs_alert(cl, 1);
            assert_non_null(a);
            assert_int_equal(a->alert_level, 2);
            assert_int_equal(a->alert_desc, 113);
        }
        expect_rc(p.server, p.server_rc, TLSRIG_ERR_SSL);
        h_pair_free(&p);
        free(cl);
        free(st->staple);
        free(st);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* ==========================================================================================
 * Verification: the verify callback, depth, hostname checking
 * ========================================================================================== */

#define VMAX 16

typedef struct verify_state {
    int calls;
    int depth[VMAX], preverify[VMAX], errnum[VMAX];
    X509 *cert[VMAX];
    tlsrig_conn *conn;
    int accept_all;   /* return 1 always */
    int reject_depth; /* return 0 at this depth (-1: never) */
    int raise_depth;  /* return -1 at this depth (-1: never) */
} verify_state;

static int verify_cb(tlsrig_conn *conn, X509 *cert, int errnum, int depth, int preverify_ok,
                     void *arg)
{
    verify_state *st = arg;
    st->conn = conn;
    if (st->calls < VMAX) {
        st->depth[st->calls] = depth;
        st->preverify[st->calls] = preverify_ok;
        st->errnum[st->calls] = errnum;
        if (cert != NULL && X509_up_ref(cert))
            st->cert[st->calls] = cert;
    }
    st->calls++;
    if (depth == st->raise_depth)
        return -1;
    if (depth == st->reject_depth)
        return 0;
    return st->accept_all ? 1 : preverify_ok;
}

static void verify_state_init(verify_state *st)
{
    memset(st, 0, sizeof(*st));
    st->reject_depth = -1;
    st->raise_depth = -1;
}

static void verify_state_free(verify_state *st)
{
    for (int i = 0; i < VMAX; i++)
        X509_free(st->cert[i]);
}

static tlsrig_ctx *verify_client(verify_state *st)
{
    tlsrig_ctx *c = h_client_ctx();
    h_ctx_ok(c, tlsrig_ctx_set_verify(c, TLSRIG_VERIFY_PEER, verify_cb, st));
    return c;
}

/* RFC 5280 §6.1: the chain is checked from the trust anchor down, one call per depth. */
static void verify_cb_called_per_depth(void **state)
{
    (void)state;
    verify_state st;
    verify_state_init(&st);
    tlsrig_ctx *s = h_server_ctx("p256"), *c = verify_client(&st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(st.calls, 3);
    assert_ptr_equal(st.conn, p.client);
    static const char *const files[] = {"root-ca.crt", "inter-ca.crt", "server-p256.crt"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st.depth[i], 2 - i);
        assert_int_equal(st.preverify[i], 1);
        assert_int_equal(st.errnum[i], X509_V_OK);
        expect_cert(st.cert[i], files[i]);
    }
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    h_pair_free(&p);
    verify_state_free(&st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void verify_cb_accepts_untrusted(void **state)
{
    (void)state;
    /* Without a callback the untrusted certificate fails: the control case. */
    tlsrig_ctx *s = h_server_ctx("untrusted"), *c0 = h_client_ctx();
    h_pair p = {0};
    h_pair_new(&p, c0, s);
    hs_fail(&p);
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
    if (tlsrig_conn_get_verify_result(p.client) == X509_V_OK)
        fail_msg("untrusted certificate verified without a callback");
    h_pair_free(&p);
    tlsrig_ctx_free(c0);

    verify_state st;
    verify_state_init(&st);
    st.accept_all = 1;
    tlsrig_ctx *c = verify_client(&st);
    h_pair_new(&p, c, s);
    hs_ok(&p);
    /* OpenSSL reported the problem, the callback overrode it, and the result reads OK. */
    int saw_failure = 0;
    for (int i = 0; i < st.calls && i < VMAX; i++)
        if (st.preverify[i] == 0 && st.errnum[i] != X509_V_OK)
            saw_failure = 1;
    assert_true(saw_failure);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_OK);
    X509 *peer = tlsrig_conn_get_peer_certificate(p.client);
    expect_cert(peer, "server-untrusted.crt");
    X509_free(peer);
    h_pair_free(&p);
    verify_state_free(&st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void verify_cb_rejects_good_cert(void **state)
{
    (void)state;
    verify_state st;
    verify_state_init(&st);
    st.reject_depth = 0;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = verify_client(&st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_fail(&p);
    /* A rejection is a verification failure, not a callback failure. */
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_conn_get_verify_result(p.client), X509_V_ERR_APPLICATION_VERIFICATION);
    expect_rc(p.server, p.server_rc, TLSRIG_ERR_SSL);
    h_pair_free(&p);
    verify_state_free(&st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void verify_cb_raise(void **state)
{
    (void)state;
    verify_state st;
    verify_state_init(&st);
    st.raise_depth = 1;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = verify_client(&st);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_fail(&p);
    expect_rc(p.client, p.client_rc, TLSRIG_ERR_CALLBACK);
    expect_msg_has(p.client, "verify");
    expect_rc(p.server, p.server_rc, TLSRIG_ERR_SSL);
    /* Verification stopped at the raise: the leaf (depth 0) was never offered. */
    for (int i = 0; i < st.calls && i < VMAX; i++)
        if (st.depth[i] == 0)
            fail_msg("callback called at depth 0 after raising at depth 1");
    h_pair_free(&p);
    verify_state_free(&st);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* server-p256's chain is leaf (0), intermediate (1), root (2). A depth limit of N allows N
 * intermediates between the leaf and the trust anchor. */
static void verify_depth_limits_chain(void **state)
{
    (void)state;
    static const struct {
        int depth;
        int ok;
    } cases[] = {{0, 0}, {1, 1}, {2, 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
        h_ctx_ok(c, tlsrig_ctx_set_verify_depth(c, cases[i].depth));
        h_pair p = {0};
        h_pair_new(&p, c, s);
        int rc = drive(&p);
        long vr = tlsrig_conn_get_verify_result(p.client);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("depth %d: handshake failed: %s", cases[i].depth,
                         tlsrig_conn_last_error(p.client)->message);
            assert_int_equal(vr, X509_V_OK);
        } else {
            if (rc == 0)
                fail_msg("depth %d: handshake succeeded", cases[i].depth);
            expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
            if (vr != X509_V_ERR_CERT_CHAIN_TOO_LONG)
                fail_msg("depth %d: expected X509_V_ERR_CERT_CHAIN_TOO_LONG, got %ld (%s)",
                         cases[i].depth, vr, X509_verify_cert_error_string(vr));
        }
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* The Python ssl create_default_context() style client, trusting the test root. */
static tlsrig_ctx *default_client(void)
{
    tlsrig_ctx *c = NULL;
    tlsrig_error err;
    if (tlsrig_ctx_new_default_client(&c, &err) < 0)
        fail_msg("new_default_client: %s", err.message);
    assert_int_equal(tlsrig_ctx_get_check_hostname(c), 1);
    h_ctx_ok(c, tlsrig_ctx_load_verify_locations(c, h_pki("root-ca.crt"), NULL));
    return c;
}

static void hostname_check(void **state)
{
    (void)state;
    static const struct {
        const char *server;
        const char *name;
        long want; /* X509_V_OK: the handshake succeeds */
    } cases[] = {
        {"p256", HOST, X509_V_OK},
        {"p256", "localhost", X509_V_OK},
        {"p256", "other.tlsrig.test", X509_V_ERR_HOSTNAME_MISMATCH},
        {"wronghost", HOST, X509_V_ERR_HOSTNAME_MISMATCH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tlsrig_ctx *s = server_ctx_chain(cases[i].server), *c = default_client();
        h_pair p = {0};
        h_pair_new(&p, c, s);
        h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, cases[i].name));
        int rc = drive(&p);
        long vr = tlsrig_conn_get_verify_result(p.client);
        if (cases[i].want == X509_V_OK && rc != 0)
            fail_msg("%s as %s: handshake failed: %s", cases[i].server, cases[i].name,
                     tlsrig_conn_last_error(p.client)->message);
        if (cases[i].want != X509_V_OK) {
            if (rc == 0)
                fail_msg("%s as %s: handshake succeeded", cases[i].server, cases[i].name);
            expect_rc(p.client, p.client_rc, TLSRIG_ERR_SSL);
        }
        if (vr != cases[i].want)
            fail_msg("%s as %s: expected verify result %ld, got %ld (%s)", cases[i].server,
                     cases[i].name, cases[i].want, vr, X509_verify_cert_error_string(vr));
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* Python ssl refuses a hostname-checked handshake with no name rather than skip the check. */
static void hostname_required_when_checking(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = default_client();
    h_pair p = {0};
    h_pair_new(&p, c, s);
    expect_rc(p.client, tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_INVALID_ARGUMENT);
    expect_msg_has(p.client, "hostname");
    /* Nothing went on the wire. */
    assert_int_equal(tlsrig_conn_bio_pending(p.client), 0);
    /* A server connection cannot name the host it is. */
    expect_rc(p.server, tlsrig_conn_set_hostname(p.server, HOST), TLSRIG_ERR_INVALID_ARGUMENT);
    /* Once the name is set the same connection proceeds. */
    h_conn_ok(p.client, tlsrig_conn_set_hostname(p.client, HOST));
    hs_ok(&p);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * Client authentication and the client CA list
 * ========================================================================================== */

static tlsrig_ctx *auth_server(int mode)
{
    tlsrig_ctx *s = h_server_ctx("p256");
    h_ctx_ok(s, tlsrig_ctx_load_verify_locations(s, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(s, tlsrig_ctx_set_verify(s, mode, NULL, NULL));
    return s;
}

static tlsrig_ctx *auth_client(const char *chain, const char *key)
{
    tlsrig_ctx *c = h_client_ctx();
    if (chain != NULL) {
        h_ctx_ok(c, tlsrig_ctx_use_certificate_chain_file(c, h_pki(chain)));
        h_ctx_ok(c, tlsrig_ctx_use_privatekey_file(c, h_pki(key), TLSRIG_FILETYPE_PEM));
    }
    return c;
}

/* In TLS 1.3 the client finishes before the server has checked its certificate, so a
 * rejection reaches the client on its next read (RFC 8446 §4.4.2.4). */
static void expect_client_sees_failure(h_pair *p)
{
    if (p->client_rc == 0) {
        char buf[16];
        h_pump(p);
        int rc = tlsrig_conn_recv(p->client, buf, sizeof(buf), 0);
        expect_rc(p->client, rc, TLSRIG_ERR_SSL);
    } else {
        expect_rc(p->client, p->client_rc, TLSRIG_ERR_SSL);
    }
}

static void client_auth_required(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *s = auth_server(TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT);
        tlsrig_ctx *c = auth_client("client-p256.chain.pem", "client-p256.key");
        pin_version(c, versions[v]);
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_ok(&p);
        X509 *peer = tlsrig_conn_get_peer_certificate(p.server);
        assert_non_null(peer);
        char cn[128];
        cert_cn(peer, cn, sizeof(cn));
        assert_string_equal(cn, "client.tlsrig.test");
        expect_cert(peer, "client-p256.crt");
        X509_free(peer);
        assert_int_equal(tlsrig_conn_get_verify_result(p.server), X509_V_OK);
        h_pair_free(&p);

        /* The same server without a client certificate: the handshake fails. */
        tlsrig_ctx *c2 = auth_client(NULL, NULL);
        pin_version(c2, versions[v]);
        h_pair_new(&p, c2, s);
        hs_fail(&p);
        expect_rc(p.server, p.server_rc, TLSRIG_ERR_SSL);
        expect_client_sees_failure(&p);
        h_pair_free(&p);
        tlsrig_ctx_free(c2);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

static void client_auth_optional(void **state)
{
    (void)state;
    tlsrig_ctx *s = auth_server(TLSRIG_VERIFY_PEER), *c = auth_client(NULL, NULL);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_null(tlsrig_conn_get_peer_certificate(p.server));
    h_pair_free(&p);

    /* Optional still verifies a certificate that is sent. */
    tlsrig_ctx *c2 = auth_client("client-p256.chain.pem", "client-p256.key");
    h_pair_new(&p, c2, s);
    hs_ok(&p);
    X509 *peer = tlsrig_conn_get_peer_certificate(p.server);
    expect_cert(peer, "client-p256.crt");
    X509_free(peer);
    h_pair_free(&p);
    tlsrig_ctx_free(c2);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void client_auth_untrusted_fails(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *s = auth_server(TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT);
        tlsrig_ctx *c = auth_client("client-untrusted.crt", "client-untrusted.key");
        pin_version(c, versions[v]);
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_fail(&p);
        expect_rc(p.server, p.server_rc, TLSRIG_ERR_SSL);
        long vr = tlsrig_conn_get_verify_result(p.server);
        if (vr == X509_V_OK)
            fail_msg("server verify result is X509_V_OK for an untrusted client certificate");
        expect_client_sees_failure(&p);
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

static void expect_names(STACK_OF(X509_NAME) * got, X509 *const *want, int n)
{
    if (got == NULL)
        fail_msg("expected %d CA names, got none", n);
    assert_int_equal(sk_X509_NAME_num(got), n);
    for (int i = 0; i < n; i++)
        if (X509_NAME_cmp(sk_X509_NAME_value(got, i), X509_get_subject_name(want[i])) != 0) {
            char g[256], w[256];
            X509_NAME_oneline(sk_X509_NAME_value(got, i), g, sizeof(g));
            X509_NAME_oneline(X509_get_subject_name(want[i]), w, sizeof(w));
            fail_msg("CA name %d: expected %s, got %s", i, w, g);
        }
}

static void client_ca_list_reaches_client(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    X509 *root = load_cert("root-ca.crt"), *inter = load_cert("inter-ca.crt");
    X509 *other = load_cert("untrusted-ca.crt");
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *s = auth_server(TLSRIG_VERIFY_PEER);
        /* set_client_ca_list replaces, add_client_ca appends. */
        X509_NAME *first[] = {X509_get_subject_name(other)};
        h_ctx_ok(s, tlsrig_ctx_set_client_ca_list(s, first, 1));
        X509_NAME *names[] = {X509_get_subject_name(root)};
        h_ctx_ok(s, tlsrig_ctx_set_client_ca_list(s, names, 1));
        h_ctx_ok(s, tlsrig_ctx_add_client_ca(s, inter));
        tlsrig_ctx *c = auth_client("client-p256.chain.pem", "client-p256.key");
        pin_version(c, versions[v]);
        h_pair p = {0};
        h_pair_new(&p, c, s);
        assert_null(tlsrig_conn_get_client_ca_list(p.client));
        X509 *want[] = {root, inter};
        expect_names(tlsrig_conn_get_client_ca_list(p.server), want, 2);
        hs_ok(&p);
        expect_names(tlsrig_conn_get_client_ca_list(p.client), want, 2);
        h_pair_free(&p);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
    /* No CertificateRequest (server does not verify): the client has no list. */
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    X509_NAME *names[] = {X509_get_subject_name(root)};
    h_ctx_ok(s, tlsrig_ctx_set_client_ca_list(s, names, 1));
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_null(tlsrig_conn_get_client_ca_list(p.client));
    h_pair_free(&p);
    /* Invalid arguments. */
    expect_ctx_rc(s, tlsrig_ctx_set_client_ca_list(s, NULL, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    X509_NAME *with_null[] = {X509_get_subject_name(root), NULL};
    expect_ctx_rc(s, tlsrig_ctx_set_client_ca_list(s, with_null, 2), TLSRIG_ERR_INVALID_ARGUMENT);
    expect_ctx_rc(s, tlsrig_ctx_add_client_ca(s, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
    X509_free(root);
    X509_free(inter);
    X509_free(other);
}

/* ==========================================================================================
 * Info callback
 * ========================================================================================== */

#define INFO_MAX 256

typedef struct info_log {
    int n;
    int where[INFO_MAX], ret[INFO_MAX];
    tlsrig_conn *conn;
    int other_conn; /* called with a connection other than the first one seen */
} info_log;

static void info_cb(tlsrig_conn *conn, int where, int ret, void *arg)
{
    info_log *l = arg;
    if (l->conn == NULL)
        l->conn = conn;
    else if (l->conn != conn)
        l->other_conn = 1;
    if (l->n < INFO_MAX) {
        l->where[l->n] = where;
        l->ret[l->n] = ret;
        l->n++;
    }
}

static int info_find(const info_log *l, int bits)
{
    for (int i = 0; i < l->n; i++)
        if ((l->where[i] & bits) == bits)
            return i;
    return -1;
}

static void info_callback_sees_handshake(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    info_log *cl = calloc(1, sizeof(*cl)), *sl = calloc(1, sizeof(*sl));
    assert_non_null(cl);
    assert_non_null(sl);
    tlsrig_ctx_set_info_callback(c, info_cb, cl);
    tlsrig_ctx_set_info_callback(s, info_cb, sl);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    info_log *logs[] = {cl, sl};
    for (int i = 0; i < 2; i++) {
        int start = info_find(logs[i], TLSRIG_CB_HANDSHAKE_START);
        int done = info_find(logs[i], TLSRIG_CB_HANDSHAKE_DONE);
        if (start < 0 || done < 0 || done < start)
            fail_msg("%s: HANDSHAKE_START at %d, HANDSHAKE_DONE at %d of %d calls",
                     i == 0 ? "client" : "server", start, done, logs[i]->n);
        assert_int_equal(logs[i]->other_conn, 0);
    }
    assert_ptr_equal(cl->conn, p.client);
    assert_ptr_equal(sl->conn, p.server);
    /* Each side reports its own kind of state loop. */
    assert_true(info_find(cl, TLSRIG_CB_CONNECT_LOOP) >= 0);
    assert_true(info_find(sl, TLSRIG_CB_ACCEPT_LOOP) >= 0);
    assert_int_equal(info_find(cl, TLSRIG_CB_ACCEPT_LOOP), -1);

    /* close_notify: a warning-level (1) alert with description 0, in ret as level<<8|desc. */
    int before = cl->n;
    assert_int_equal(tlsrig_conn_shutdown(p.client), 0);
    int alert = -1;
    for (int i = before; i < cl->n; i++)
        if ((cl->where[i] & (TLSRIG_CB_ALERT | TLSRIG_CB_WRITE)) ==
            (TLSRIG_CB_ALERT | TLSRIG_CB_WRITE))
            alert = i;
    if (alert < 0)
        fail_msg("no CB_ALERT|CB_WRITE call after shutdown");
    assert_int_equal(cl->ret[alert], 1 << 8 | 0);
    h_pair_free(&p);

    /* Removed: the next connection reports nothing. */
    tlsrig_ctx_set_info_callback(c, NULL, NULL);
    before = cl->n;
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(cl->n, before);
    h_pair_free(&p);
    free(cl);
    free(sl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * Keylog callback (SSLKEYLOGFILE format)
 * ========================================================================================== */

#define KEYLOG_MAX 16

typedef struct keylog_log {
    int n;
    char line[KEYLOG_MAX][400];
    tlsrig_conn *conn;
} keylog_log;

static void keylog_cb(tlsrig_conn *conn, const char *line, void *arg)
{
    keylog_log *l = arg;
    l->conn = conn;
    if (l->n < KEYLOG_MAX)
        snprintf(l->line[l->n], sizeof(l->line[0]), "%s", line);
    l->n++;
}

static void hexify(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Finds the line for |label| and checks its client random; returns the secret's hex. */
static const char *keylog_secret(const keylog_log *l, const char *label, const char *cr_hex)
{
    size_t ll = strlen(label);
    for (int i = 0; i < l->n && i < KEYLOG_MAX; i++) {
        const char *line = l->line[i];
        if (strncmp(line, label, ll) != 0 || line[ll] != ' ')
            continue;
        const char *cr = line + ll + 1;
        if (strlen(cr) < 66 || cr[64] != ' ' || !is_lower_hex(cr, 64))
            fail_msg("%s line malformed: \"%s\"", label, line);
        if (strncmp(cr, cr_hex, 64) != 0)
            fail_msg("%s: client random %.64s, expected %s", label, cr, cr_hex);
        const char *secret = cr + 65;
        if (strlen(secret) % 2 != 0 || !is_lower_hex(secret, strlen(secret)))
            fail_msg("%s: secret is not hex: \"%s\"", label, secret);
        return secret;
    }
    fail_msg("no %s line among %d keylog lines", label, l->n);
    return NULL;
}

static void keylog_tls13_lines(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    h_ctx_ok(c, tlsrig_ctx_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256"));
    keylog_log *cl = calloc(1, sizeof(*cl)), *sl = calloc(1, sizeof(*sl));
    assert_non_null(cl);
    assert_non_null(sl);
    tlsrig_ctx_set_keylog_callback(c, keylog_cb, cl);
    tlsrig_ctx_set_keylog_callback(s, keylog_cb, sl);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLSRIG_VERSION_TLS1_3);
    assert_ptr_equal(cl->conn, p.client);
    assert_ptr_equal(sl->conn, p.server);
    uint8_t cr[32];
    char cr_hex[65];
    assert_int_equal(tlsrig_conn_client_random(p.client, cr, sizeof(cr)), 32);
    hexify(cr, sizeof(cr), cr_hex);
    static const char *const labels[] = {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    };
    assert_int_equal(cl->n, 5);
    assert_int_equal(sl->n, 5);
    for (size_t i = 0; i < 5; i++) {
        const char *cs = keylog_secret(cl, labels[i], cr_hex);
        const char *ss = keylog_secret(sl, labels[i], cr_hex);
        /* SHA-256 suite: every secret is 32 bytes, and both sides derived the same. */
        assert_int_equal(strlen(cs), 64);
        assert_string_equal(cs, ss);
    }
    h_pair_free(&p);

    /* Removed: nothing more is logged. */
    tlsrig_ctx_set_keylog_callback(c, NULL, NULL);
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(cl->n, 5);
    assert_int_equal(sl->n, 10);
    h_pair_free(&p);
    free(cl);
    free(sl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void keylog_tls12_client_random_line(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    pin_version(c, TLSRIG_VERSION_TLS1_2);
    keylog_log *cl = calloc(1, sizeof(*cl)), *sl = calloc(1, sizeof(*sl));
    assert_non_null(cl);
    assert_non_null(sl);
    tlsrig_ctx_set_keylog_callback(c, keylog_cb, cl);
    tlsrig_ctx_set_keylog_callback(s, keylog_cb, sl);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    uint8_t cr[32], mk[64];
    char cr_hex[65], mk_hex[129];
    assert_int_equal(tlsrig_conn_client_random(p.client, cr, sizeof(cr)), 32);
    hexify(cr, sizeof(cr), cr_hex);
    int mk_len = tlsrig_conn_master_key(p.client, mk, sizeof(mk));
    assert_int_equal(mk_len, 48);
    hexify(mk, (size_t)mk_len, mk_hex);
    assert_int_equal(cl->n, 1);
    assert_int_equal(sl->n, 1);
    /* "CLIENT_RANDOM <client random> <master secret>", the same on both sides. */
    assert_string_equal(keylog_secret(cl, "CLIENT_RANDOM", cr_hex), mk_hex);
    assert_string_equal(keylog_secret(sl, "CLIENT_RANDOM", cr_hex), mk_hex);
    h_pair_free(&p);
    free(cl);
    free(sl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ==========================================================================================
 * Observer
 * ========================================================================================== */

static void observer_sees_handshake_and_close(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    /* TLS 1.2 so ChangeCipherSpec is a real protocol message in both directions. */
    pin_version(c, TLSRIG_VERSION_TLS1_2);
    obs_log *cl = calloc(1, sizeof(*cl)), *sl = calloc(1, sizeof(*sl));
    assert_non_null(cl);
    assert_non_null(sl);
    tlsrig_ctx_set_observer(c, observe, cl);
    tlsrig_ctx_set_observer(s, observe, sl);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_ptr_equal(cl->conn, p.client);
    assert_ptr_equal(sl->conn, p.server);
    obs_log *logs[] = {cl, sl};
    for (int side = 0; side < 2; side++) {
        const obs_log *l = logs[side];
        assert_int_equal(l->overflow, 0);
        assert_int_equal(l->bad_data, 0);
        for (int i = 0; i < l->n; i++)
            assert_int_equal(l->ev[i].is_server, side);
        assert_true(obs_count(l, TLSRIG_OBSERVE_RECORD, 1) > 0);
        assert_true(obs_count(l, TLSRIG_OBSERVE_RECORD, 0) > 0);
        /* Each side sends one ChangeCipherSpec, and the peer receives it in a record of
         * type 20. (OpenSSL 3.0 reports a received CCS only as its record header.) */
        assert_int_equal(obs_count(l, TLSRIG_OBSERVE_CCS, 1), 1);
        int ccs_records = 0;
        for (int i = 0; i < l->n; i++)
            ccs_records += l->ev[i].kind == TLSRIG_OBSERVE_RECORD && !l->ev[i].sent &&
                           l->ev[i].content_type == 20;
        assert_int_equal(ccs_records, 1);
        assert_int_equal(obs_count(l, TLSRIG_OBSERVE_ALERT, 1), 0);
        assert_int_equal(obs_count(l, TLSRIG_OBSERVE_ALERT, 0), 0);
    }
    /* The first handshake message each side handles is the ClientHello (type 1): sent by
     * the client, received by the server, whole (4-byte header + body). */
    const obs_ev *first[2] = {NULL, NULL};
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < logs[side]->n && first[side] == NULL; i++)
            if (logs[side]->ev[i].kind == TLSRIG_OBSERVE_HANDSHAKE)
                first[side] = &logs[side]->ev[i];
    assert_non_null(first[0]);
    assert_non_null(first[1]);
    assert_int_equal(first[0]->handshake_type, 1);
    assert_int_equal(first[0]->sent, 1);
    assert_int_equal(first[1]->handshake_type, 1);
    assert_int_equal(first[1]->sent, 0);
    assert_int_equal(first[0]->len, first[0]->hs_body_len + 4);
    assert_int_equal(first[1]->len, first[0]->len);
    assert_int_equal(first[0]->content_type, 22);

    /* close_notify: warning (1), description 0; sent by the closer, received by the peer. */
    assert_int_equal(tlsrig_conn_shutdown(p.client), 0);
    h_pump(&p);
    char buf[8];
    expect_rc(p.server, tlsrig_conn_recv(p.server, buf, sizeof(buf), 0), TLSRIG_ERR_ZERO_RETURN);
    const obs_ev *sent = obs_alert(cl, 1), *recv = obs_alert(sl, 0);
    assert_non_null(sent);
    assert_non_null(recv);
    assert_int_equal(sent->alert_level, 1);
    assert_int_equal(sent->alert_desc, 0);
    assert_int_equal(recv->alert_level, 1);
    assert_int_equal(recv->alert_desc, 0);
    assert_null(obs_alert(cl, 0));
    assert_null(obs_alert(sl, 1));
    h_pair_free(&p);
    free(cl);
    free(sl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void observer_tls13_inner_types(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    obs_log *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    tlsrig_ctx_set_observer(c, observe, cl);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    hs_ok(&p);
    /* Protected TLS 1.3 records carry their real type inside (RFC 8446 §5.2). */
    assert_true(obs_count(cl, TLSRIG_OBSERVE_INNER_TYPE, 1) > 0);
    assert_true(obs_count(cl, TLSRIG_OBSERVE_INNER_TYPE, 0) > 0);
    /* ServerHello (2) received, Finished (20) both sent and received. */
    int sh = 0, fin_sent = 0, fin_recv = 0;
    for (int i = 0; i < cl->n; i++) {
        const obs_ev *e = &cl->ev[i];
        if (e->kind != TLSRIG_OBSERVE_HANDSHAKE)
            continue;
        sh += e->handshake_type == 2 && !e->sent;
        fin_sent += e->handshake_type == 20 && e->sent;
        fin_recv += e->handshake_type == 20 && !e->sent;
    }
    assert_int_equal(sh, 1);
    assert_int_equal(fin_sent, 1);
    assert_int_equal(fin_recv, 1);
    h_pair_free(&p);
    free(cl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void observer_sees_fatal_alert(void **state)
{
    (void)state;
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t v = 0; v < 2; v++) {
        tlsrig_ctx *s = h_server_ctx("untrusted"), *c = h_client_ctx();
        pin_version(c, versions[v]);
        obs_log *cl = calloc(1, sizeof(*cl)), *sl = calloc(1, sizeof(*sl));
        assert_non_null(cl);
        assert_non_null(sl);
        tlsrig_ctx_set_observer(c, observe, cl);
        tlsrig_ctx_set_observer(s, observe, sl);
        h_pair p = {0};
        h_pair_new(&p, c, s);
        hs_fail(&p);
        const obs_ev *sent = obs_alert(cl, 1), *recv = obs_alert(sl, 0);
        assert_non_null(sent);
        assert_non_null(recv);
        /* An untrusted issuer is unknown_ca (48), fatal (RFC 8446 §6.2). */
        assert_int_equal(sent->alert_level, 2);
        assert_int_equal(sent->alert_desc, 48);
        assert_int_equal(recv->alert_level, 2);
        assert_int_equal(recv->alert_desc, 48);
        assert_string_equal(tlsrig_alert_desc_string(recv->alert_desc), "unknown_ca");
        h_pair_free(&p);
        free(cl);
        free(sl);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* OpenSSL copies the message callback into each new SSL: an observer set later is not seen
 * by connections that already exist (the header documents this). */
static void observer_set_after_conn_not_called(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    obs_log *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    h_pair p = {0};
    h_pair_new(&p, c, s);
    tlsrig_ctx_set_observer(c, observe, cl);
    hs_ok(&p);
    assert_int_equal(cl->n, 0);
    h_pair_free(&p);
    /* ... while a connection created afterwards is observed. */
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_true(cl->n > 0);
    h_pair_free(&p);
    /* Removed again: nothing more. */
    tlsrig_ctx_set_observer(c, NULL, NULL);
    int before = cl->n;
    h_pair_new(&p, c, s);
    hs_ok(&p);
    assert_int_equal(cl->n, before);
    h_pair_free(&p);
    free(cl);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- tlsrig_alert_desc_string ---- */

static void alert_desc_strings(void **state)
{
    (void)state;
    /* Names from the RFC 8446 §6 / RFC 5246 §7.2 AlertDescription enum. */
    static const struct {
        int desc;
        const char *name;
    } known[] = {
        {0, "close_notify"},           {10, "unexpected_message"},
        {20, "bad_record_mac"},        {40, "handshake_failure"},
        {42, "bad_certificate"},       {48, "unknown_ca"},
        {70, "protocol_version"},      {80, "internal_error"},
        {90, "user_canceled"},         {109, "missing_extension"},
        {112, "unrecognized_name"},    {113, "bad_certificate_status_response"},
        {116, "certificate_required"}, {120, "no_application_protocol"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        assert_string_equal(tlsrig_alert_desc_string(known[i].desc), known[i].name);
    static const int unknown[] = {-1, 1, 39, 121, 255, 256, 1000};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_string_equal(tlsrig_alert_desc_string(unknown[i]), "unknown_alert");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(alpn_select_picks_offered_protocol, reset_failures),
        cmocka_unit_test_setup(alpn_no_overlap_completes_without_alpn, reset_failures),
        cmocka_unit_test_setup(alpn_raise_fails_both_sides, reset_failures),
        cmocka_unit_test_setup(alpn_bad_choice_is_a_raise, reset_failures),
        cmocka_unit_test_setup(alpn_conn_protos_override_ctx, reset_failures),
        cmocka_unit_test_setup(alpn_set_protos_rejects_bad_names, reset_failures),
        cmocka_unit_test_setup(alpn_callback_not_called_without_offer, reset_failures),
        cmocka_unit_test_setup(npn_select_and_advertise, reset_failures),
        cmocka_unit_test_setup(npn_no_overlap_takes_first, reset_failures),
        cmocka_unit_test_setup(npn_not_negotiated_in_tls13, reset_failures),
        cmocka_unit_test_setup(npn_select_raise_fails_client, reset_failures),
        cmocka_unit_test_setup(npn_advertise_raise_reported_on_server, reset_failures),
        cmocka_unit_test_setup(sni_switches_context, reset_failures),
        cmocka_unit_test_setup(sni_switch_uses_new_context_callbacks, reset_failures),
        cmocka_unit_test_setup(sni_no_name_callback_sees_null, reset_failures),
        cmocka_unit_test_setup(sni_raise_sends_unrecognized_name, reset_failures),
        cmocka_unit_test_setup(sni_host_name_invalid_arguments, reset_failures),
        cmocka_unit_test_setup(ocsp_staple_delivered_intact, reset_failures),
        cmocka_unit_test_setup(ocsp_not_requested_no_callbacks, reset_failures),
        cmocka_unit_test_setup(ocsp_nothing_stapled_client_sees_len0, reset_failures),
        cmocka_unit_test_setup(ocsp_server_raise, reset_failures),
        cmocka_unit_test_setup(ocsp_client_reject_and_raise, reset_failures),
        cmocka_unit_test_setup(verify_cb_called_per_depth, reset_failures),
        cmocka_unit_test_setup(verify_cb_accepts_untrusted, reset_failures),
        cmocka_unit_test_setup(verify_cb_rejects_good_cert, reset_failures),
        cmocka_unit_test_setup(verify_cb_raise, reset_failures),
        cmocka_unit_test_setup(verify_depth_limits_chain, reset_failures),
        cmocka_unit_test_setup(hostname_check, reset_failures),
        cmocka_unit_test_setup(hostname_required_when_checking, reset_failures),
        cmocka_unit_test_setup(client_auth_required, reset_failures),
        cmocka_unit_test_setup(client_auth_optional, reset_failures),
        cmocka_unit_test_setup(client_auth_untrusted_fails, reset_failures),
        cmocka_unit_test_setup(client_ca_list_reaches_client, reset_failures),
        cmocka_unit_test_setup(info_callback_sees_handshake, reset_failures),
        cmocka_unit_test_setup(keylog_tls13_lines, reset_failures),
        cmocka_unit_test_setup(keylog_tls12_client_random_line, reset_failures),
        cmocka_unit_test_setup(observer_sees_handshake_and_close, reset_failures),
        cmocka_unit_test_setup(observer_tls13_inner_types, reset_failures),
        cmocka_unit_test_setup(observer_sees_fatal_alert, reset_failures),
        cmocka_unit_test_setup(observer_set_after_conn_not_called, reset_failures),
        cmocka_unit_test_setup(alert_desc_strings, reset_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
