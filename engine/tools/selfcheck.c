/*
 * selfcheck.c - tlsrig-selfcheck: an in-memory handshake matrix through the engine, in
 * deterministic mode, until the conformance runner exists.
 *
 *   tlsrig-selfcheck PKI_DIR
 *
 * Every case starts from tlsrig_deterministic(SEED) (seeded randomness, virtual clock at
 * TLSRIG_CLOCK_EPOCH), so each one is reproducible on its own, byte for byte. Cases:
 *
 *  - the matrix: client maximum TLS 1.2 / 1.3 x server key RSA / P-256 / P-384 / Ed25519;
 *    TLS 1.0 and 1.1 against RSA with @SECLEVEL=0 on both sides (and the refusal of TLS 1.0
 *    when the server keeps its default security level);
 *  - expected refusals: version mismatch both ways, untrusted issuer, expired certificate,
 *    wrong hostname under check_hostname, a certificate that expires when the virtual clock
 *    moves past its notAfter;
 *  - resumption: TLS 1.2 ticket, TLS 1.3 ticket, and a TLS 1.3 ticket past its lifetime;
 *  - determinism: the same seed gives byte-identical wire bytes, another seed does not.
 *
 * A successful case checks the negotiated version on both sides, the cipher family, the
 * server key type the client saw, the client's verify result, and an application-data round
 * trip. A refusal checks which side refused, the alert it sent (seen by the observer), the
 * alert the peer reported, the tlsrig error code and, for certificate failures, the X509_V_*
 * verify result. One line per case, then "selfcheck: N passed, M failed". Exit 0 when all
 * pass, 1 when any fails, 2 on bad usage or missing PKI files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "tlsrig.h"
#include "wire.h"

#define SEED UINT64_C(0x746c737269670001)
#define HOSTNAME "server.tlsrig.test"

static const char *pki_dir;

static const char *pki(const char *file)
{
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", pki_dir, file);
    return b;
}

/* ---- one case's verdict ---- */

typedef struct tcase {
    const char *name;
    int failed;
    char why[768]; /* the first failed expectation, or what was seen */
} tcase;

static void failf(tcase *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(tcase *t, const char *fmt, ...)
{
    if (t->failed++)
        return; /* keep the first failure: later ones are usually its consequences */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof(t->why), fmt, ap);
    va_end(ap);
}

static void seen(tcase *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seen(tcase *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof(t->why), fmt, ap);
    va_end(ap);
}

static int n_passed, n_failed;

static void report(const tcase *t)
{
    if (t->failed)
        n_failed++;
    else
        n_passed++;
    printf("%-4s %-34s %s\n", t->failed ? "FAIL" : "ok", t->name, t->why);
    fflush(stdout);
}

/* ---- observer: the alerts and handshake messages each side sent and received ---- */

typedef struct obs_log {
    int alert_sent, alert_recv; /* last alert description, -1: none */
    int certs_recv;             /* Certificate messages (type 11) received */
} obs_log;

static void obs_reset(obs_log *l)
{
    l->alert_sent = l->alert_recv = -1;
    l->certs_recv = 0;
}

static void observe(tlsrig_conn *conn, const tlsrig_observe_event *ev, void *arg)
{
    obs_log *l = arg;
    (void)conn;
    if (ev->kind == TLSRIG_OBSERVE_ALERT && ev->alert_desc >= 0) {
        if (ev->sent)
            l->alert_sent = ev->alert_desc;
        else
            l->alert_recv = ev->alert_desc;
    } else if (ev->kind == TLSRIG_OBSERVE_HANDSHAKE && !ev->sent && ev->handshake_type == 11) {
        l->certs_recv++;
    }
}

/* ---- contexts ---- */

typedef struct side_cfg {
    int min_version, max_version; /* 0: no bound */
    const char *cipher_list;      /* NULL: default */
} side_cfg;

static int ctx_fail(tcase *t, tlsrig_ctx *ctx, const char *what)
{
    failf(t, "setup: %s: %s", what, tlsrig_ctx_last_error(ctx)->message);
    return -1;
}

static int apply_cfg(tcase *t, tlsrig_ctx *ctx, const side_cfg *cfg)
{
    if (cfg == NULL)
        return 0;
    if (cfg->min_version && tlsrig_ctx_set_min_proto_version(ctx, cfg->min_version) < 0)
        return ctx_fail(t, ctx, "set_min_proto_version");
    if (cfg->max_version && tlsrig_ctx_set_max_proto_version(ctx, cfg->max_version) < 0)
        return ctx_fail(t, ctx, "set_max_proto_version");
    if (cfg->cipher_list && tlsrig_ctx_set_cipher_list(ctx, cfg->cipher_list) < 0)
        return ctx_fail(t, ctx, "set_cipher_list");
    return 0;
}

/* A server on the leaf |kind| with its chain when the PKI has one (the untrusted leaf has
 * none: its issuer is the point). */
static tlsrig_ctx *server_ctx(tcase *t, const char *kind, const side_cfg *cfg, obs_log *log)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    char chain[96], key[96];
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err) < 0) {
        failf(t, "setup: ctx_new: %s", err.message);
        return NULL;
    }
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    if (access(pki(chain), R_OK) != 0)
        snprintf(chain, sizeof(chain), "server-%s.crt", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    if (tlsrig_ctx_use_certificate_chain_file(ctx, pki(chain)) < 0 ||
        tlsrig_ctx_use_privatekey_file(ctx, pki(key), TLSRIG_FILETYPE_PEM) < 0 ||
        apply_cfg(t, ctx, cfg) < 0) {
        if (!t->failed)
            ctx_fail(t, ctx, "server certificate");
        tlsrig_ctx_free(ctx);
        return NULL;
    }
    if (log != NULL)
        tlsrig_ctx_set_observer(ctx, observe, log);
    return ctx;
}

/* A client trusting the test root with VERIFY_PEER, and check_hostname when |check_host|. */
static tlsrig_ctx *client_ctx(tcase *t, const side_cfg *cfg, int check_host, obs_log *log)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err) < 0) {
        failf(t, "setup: ctx_new: %s", err.message);
        return NULL;
    }
    if (tlsrig_ctx_load_verify_locations(ctx, pki("root-ca.crt"), NULL) < 0 ||
        tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL) < 0 ||
        (check_host && tlsrig_ctx_set_check_hostname(ctx, 1) < 0) || apply_cfg(t, ctx, cfg) < 0) {
        if (!t->failed)
            ctx_fail(t, ctx, "client trust");
        tlsrig_ctx_free(ctx);
        return NULL;
    }
    if (log != NULL)
        tlsrig_ctx_set_observer(ctx, observe, log);
    return ctx;
}

/* ---- a connected pair over memory BIOs ---- */

typedef struct pair {
    tlsrig_conn *c, *s;
    int crc, src;            /* each side's last do_handshake result */
    tlsrig_error cerr, serr; /* ... and its error record, saved before later calls clear it */
    int capture;             /* append every moved byte to |wire| */
    uint8_t *wire;
    size_t wire_len;
    wire_engine ce, se; /* the wire between them */
    wire_pump pump;
} pair;

/* The pump's observer: keeps every moved chunk, prefixed 'C' or 'S', when capturing. */
static int keep(void *arg, int from, const uint8_t *data, size_t len)
{
    pair *p = arg;
    if (!p->capture)
        return 0;
    uint8_t *w = realloc(p->wire, p->wire_len + len + 1);
    if (w == NULL)
        return TLSRIG_ERR_NOMEM;
    p->wire = w;
    p->wire[p->wire_len++] = from == WIRE_CLIENT ? 'C' : 'S';
    memcpy(p->wire + p->wire_len, data, len);
    p->wire_len += len;
    return 0;
}

static int pair_new(tcase *t, pair *p, tlsrig_ctx *cc, tlsrig_ctx *sc)
{
    int capture = p->capture;
    memset(p, 0, sizeof(*p));
    p->capture = capture;
    if (tlsrig_conn_new(cc, -1, &p->c) < 0 || tlsrig_conn_new(sc, -1, &p->s) < 0) {
        failf(t, "setup: conn_new failed");
        return -1;
    }
    tlsrig_conn_set_connect_state(p->c);
    tlsrig_conn_set_accept_state(p->s);
    p->crc = p->src = TLSRIG_ERR_WANT_READ;
    wire_engine_init(&p->ce, p->c, "client");
    wire_engine_init(&p->se, p->s, "server");
    wire_pump_opts opt = {.observe = keep, .observe_arg = p};
    wire_pump_init(&p->pump, &p->ce.ep, &p->se.ep, &opt);
    return 0;
}

static void pair_free(pair *p)
{
    wire_pump_cleanup(&p->pump);
    wire_engine_cleanup(&p->ce);
    wire_engine_cleanup(&p->se);
    tlsrig_conn_free(p->c);
    tlsrig_conn_free(p->s);
    free(p->wire);
    memset(p, 0, sizeof(*p));
}

/* Move what |from| has for its peer into |to| through the wire; returns the byte count, -1
 * on error. */
static long move(pair *p, tlsrig_conn *from, tlsrig_conn *to)
{
    (void)to;
    long n = wire_pump_move(&p->pump, from == p->c ? WIRE_CLIENT : WIRE_SERVER);
    return n < 0 ? -1 : n;
}

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

/* Drive both sides until both finished or one failed; a failing side's alert is delivered
 * and the peer run once more so that it reports it. Returns 0 when both completed, else the
 * first non-want error. */
/* One do_handshake on a side still in progress (a side that completed or failed is left
 * alone: calling it again would only report that it failed earlier). */
static void step(tlsrig_conn *conn, int *rc, tlsrig_error *err)
{
    if (!is_want(*rc))
        return;
    *rc = tlsrig_conn_do_handshake(conn);
    *err = *tlsrig_conn_last_error(conn);
}

static int handshake(pair *p)
{
    for (int round = 0; round < 32; round++) {
        step(p->c, &p->crc, &p->cerr);
        long moved = move(p, p->c, p->s);
        step(p->s, &p->src, &p->serr);
        long back = move(p, p->s, p->c);
        if (moved < 0 || back < 0)
            return TLSRIG_ERR_SYSCALL;
        if (p->crc < 0 && !is_want(p->crc)) {
            step(p->s, &p->src, &p->serr); /* the client's alert is in the server's BIO */
            return p->crc;
        }
        if (p->src < 0 && !is_want(p->src)) {
            step(p->c, &p->crc, &p->cerr);
            return p->src;
        }
        if (p->crc == 0 && p->src == 0)
            return 0;
        if (moved + back == 0)
            return TLSRIG_ERR_WANT_READ; /* stuck */
    }
    return TLSRIG_ERR_WANT_READ;
}

/* Application data one way: |from| writes |msg|, |to| must read it back intact. */
static int round_trip(tcase *t, pair *p, tlsrig_conn *from, tlsrig_conn *to, const char *msg)
{
    char got[64];
    size_t len = strlen(msg);
    if (tlsrig_conn_sendall(from, msg, len, 0) != (int)len) {
        failf(t, "sendall: %s", tlsrig_conn_last_error(from)->message);
        return -1;
    }
    if (move(p, from, to) < 0) {
        failf(t, "moving application data failed");
        return -1;
    }
    int n = tlsrig_conn_recv(to, got, sizeof(got), 0);
    if (n != (int)len || memcmp(got, msg, len) != 0) {
        failf(t, "application data: expected \"%s\", got %d bytes (%s)", msg, n,
              n < 0 ? tlsrig_conn_last_error(to)->message : "wrong bytes");
        return -1;
    }
    return 0;
}

/* RFC 8446 §6.1 / RFC 5246 §7.2.1: close_notify both ways. A clean close also keeps the
 * session resumable: OpenSSL drops the session of a connection freed without one. */
static int close_both(tcase *t, pair *p)
{
    char b[8];
    int rc = tlsrig_conn_shutdown(p->c);
    if (rc != 0) {
        failf(t, "client shutdown: expected 0 (close_notify sent), got %d", rc);
        return -1;
    }
    if (move(p, p->c, p->s) < 0)
        return -1;
    rc = tlsrig_conn_recv(p->s, b, sizeof(b), 0);
    if (rc != TLSRIG_ERR_ZERO_RETURN) {
        failf(t, "server recv after close_notify: expected ZERO_RETURN, got %s",
              tlsrig_err_name(rc));
        return -1;
    }
    rc = tlsrig_conn_shutdown(p->s);
    if (rc != 1) {
        failf(t, "server shutdown: expected 1 (both close_notify seen), got %d", rc);
        return -1;
    }
    if (move(p, p->s, p->c) < 0)
        return -1;
    rc = tlsrig_conn_shutdown(p->c);
    if (rc != 1) {
        failf(t, "client second shutdown: expected 1, got %d", rc);
        return -1;
    }
    return 0;
}

/* ---- success expectations ---- */

typedef enum { KEY_RSA, KEY_P256, KEY_P384, KEY_ED25519 } key_kind;

static const char *key_name(key_kind k)
{
    switch (k) {
    case KEY_RSA:
        return "rsa";
    case KEY_P256:
        return "p256";
    case KEY_P384:
        return "p384";
    case KEY_ED25519:
        return "ed25519";
    }
    return "?";
}

static const char *version_name(int v)
{
    switch (v) {
    case TLS1_VERSION:
        return "TLSv1";
    case TLS1_1_VERSION:
        return "TLSv1.1";
    case TLS1_2_VERSION:
        return "TLSv1.2";
    case TLS1_3_VERSION:
        return "TLSv1.3";
    default:
        return "?";
    }
}

/* The server key the client saw must be the one configured. */
static int check_peer_key(tcase *t, tlsrig_conn *c, key_kind want)
{
    X509 *cert = tlsrig_conn_get_peer_certificate(c);
    if (cert == NULL) {
        failf(t, "client has no peer certificate");
        return -1;
    }
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    int ok = 0;
    char group[64] = "";
    size_t glen = 0;
    switch (want) {
    case KEY_RSA:
        ok = EVP_PKEY_is_a(pk, "RSA");
        break;
    case KEY_P256:
    case KEY_P384:
        ok = EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) &&
             strcmp(group, want == KEY_P256 ? "prime256v1" : "secp384r1") == 0;
        break;
    case KEY_ED25519:
        ok = EVP_PKEY_is_a(pk, "ED25519");
        break;
    }
    if (!ok)
        failf(t, "server key: expected %s, got %s %s", key_name(want), EVP_PKEY_get0_type_name(pk),
              group);
    X509_free(cert);
    return ok ? 0 : -1;
}

/* Both sides agree on |version|, the cipher is of the family the key and version call for
 * (RFC 8446 §B.4 suites for TLS 1.3; ECDHE with the key's signature type before), the chain
 * verified, and data flows both ways. */
static void expect_success(tcase *t, pair *p, int rc, int version, key_kind key)
{
    if (rc != 0) {
        failf(t, "expected a %s handshake, got %s: client: %s / server: %s", version_name(version),
              tlsrig_err_name(rc), p->cerr.message, p->serr.message);
        return;
    }
    int cv = tlsrig_conn_get_protocol_version(p->c), sv = tlsrig_conn_get_protocol_version(p->s);
    if (cv != version || sv != version) {
        failf(t, "version: expected %s, got client %s server %s", version_name(version),
              version_name(cv), version_name(sv));
        return;
    }
    const char *cc = tlsrig_conn_get_cipher_name(p->c), *scn = tlsrig_conn_get_cipher_name(p->s);
    if (cc == NULL || scn == NULL || strcmp(cc, scn) != 0) {
        failf(t, "cipher: client %s, server %s", cc ? cc : "(none)", scn ? scn : "(none)");
        return;
    }
    const char *family = version == TLS1_3_VERSION ? "TLS_"
                         : key == KEY_RSA          ? "ECDHE-RSA-"
                                                   : "ECDHE-ECDSA-";
    if (strncmp(cc, family, strlen(family)) != 0) {
        failf(t, "cipher: expected a %s* suite, got %s", family, cc);
        return;
    }
    long vr = tlsrig_conn_get_verify_result(p->c);
    if (vr != X509_V_OK) {
        failf(t, "verify result: expected 0 (ok), got %ld (%s)", vr,
              X509_verify_cert_error_string(vr));
        return;
    }
    if (check_peer_key(t, p->c, key) < 0)
        return;
    if (round_trip(t, p, p->c, p->s, "ping") < 0 || round_trip(t, p, p->s, p->c, "pong") < 0)
        return;
    seen(t, "%s %s, server key %s, verify ok, data both ways", version_name(cv), cc, key_name(key));
}

/* ---- refusal expectations ---- */

typedef struct refusal {
    int by_client; /* 1: the client refuses, 0: the server */
    int reason;    /* SSL_R_* the refusing side reports (0: not checked) */
    int alert;     /* alert description it sends; the peer must report it */
    long verify;   /* the client's X509_V_* result (-1: not checked) */
} refusal;

static int has_reason(const tlsrig_error *e, int reason)
{
    for (size_t i = 0; i < e->n_ssl; i++)
        if (ERR_GET_REASON(e->ssl[i].code) == reason)
            return 1;
    return 0;
}

static void expect_refusal(tcase *t, pair *p, int rc, const obs_log *clog, const obs_log *slog,
                           const refusal *want)
{
    const obs_log *rlog = want->by_client ? clog : slog, *plog = want->by_client ? slog : clog;
    const char *who = want->by_client ? "client" : "server";
    const char *other = want->by_client ? "server" : "client";
    int rrc = want->by_client ? p->crc : p->src, prc = want->by_client ? p->src : p->crc;
    const tlsrig_error *rerr = want->by_client ? &p->cerr : &p->serr;
    const tlsrig_error *perr = want->by_client ? &p->serr : &p->cerr;

    if (rc == 0) {
        failf(t, "expected the %s to refuse, but the handshake completed (%s %s)", who,
              tlsrig_conn_get_protocol_version_name(p->c), tlsrig_conn_get_cipher_name(p->c));
        return;
    }
    if (rrc != TLSRIG_ERR_SSL) {
        failf(t, "%s: expected SSL error, got %s (%s); %s got %s (%s)", who, tlsrig_err_name(rrc),
              rerr->message, other, tlsrig_err_name(prc), perr->message);
        return;
    }
    if (want->reason != 0 && !has_reason(rerr, want->reason)) {
        failf(t, "%s: expected reason \"%s\", got \"%s\"", who,
              ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, want->reason)), rerr->message);
        return;
    }
    if (want->verify >= 0) {
        long vr = tlsrig_conn_get_verify_result(p->c);
        if (vr != want->verify) {
            failf(t, "verify result: expected %ld (%s), got %ld (%s)", want->verify,
                  X509_verify_cert_error_string(want->verify), vr,
                  X509_verify_cert_error_string(vr));
            return;
        }
    }
    if (rlog->alert_sent != want->alert) {
        failf(t, "%s sent alert %s, expected %s", who, tlsrig_alert_desc_string(rlog->alert_sent),
              tlsrig_alert_desc_string(want->alert));
        return;
    }
    /* The peer must have received that alert and report it as its own error. */
    if (plog->alert_recv != want->alert || prc != TLSRIG_ERR_SSL ||
        !has_reason(perr, SSL_AD_REASON_OFFSET + want->alert)) {
        failf(t, "%s: expected to fail on a received %s alert, got %s (%s), alert seen %s", other,
              tlsrig_alert_desc_string(want->alert), tlsrig_err_name(prc), perr->message,
              tlsrig_alert_desc_string(plog->alert_recv));
        return;
    }
    char vbuf[96] = "";
    if (want->verify >= 0)
        snprintf(vbuf, sizeof(vbuf), ", verify %ld (%s)", want->verify,
                 X509_verify_cert_error_string(want->verify));
    seen(t, "refused by %s as expected: \"%s\"%s, alert %s reached the %s", who, rerr->message,
         vbuf, tlsrig_alert_desc_string(want->alert), other);
}

/* ---- the cases ---- */

static int begin(tcase *t, const char *name)
{
    memset(t, 0, sizeof(*t));
    t->name = name;
    ERR_clear_error();
    int rc = tlsrig_deterministic(SEED);
    if (rc < 0) {
        failf(t, "tlsrig_deterministic: %s", tlsrig_err_name(rc));
        return -1;
    }
    return 0;
}

/* One handshake between a client and a server configured as given. |hostname|: set it on
 * the client (and turn check_hostname on); |advance|: seconds the virtual clock moves before
 * the handshake. Exactly one of |ok_version| (success) and |refuse| (refusal) is used. */
typedef struct hs_case {
    const char *name;
    const char *server_kind;
    key_kind key;
    side_cfg client, server;
    const char *hostname;
    int64_t advance;
    int ok_version;
    refusal refuse;
} hs_case;

static void run_hs_case(const hs_case *hc)
{
    tcase t;
    obs_log clog, slog;
    pair p = {0};
    tlsrig_ctx *cc = NULL, *sc = NULL;
    obs_reset(&clog);
    obs_reset(&slog);
    if (begin(&t, hc->name) < 0)
        goto out;
    if ((sc = server_ctx(&t, hc->server_kind, &hc->server, &slog)) == NULL ||
        (cc = client_ctx(&t, &hc->client, hc->hostname != NULL, &clog)) == NULL ||
        pair_new(&t, &p, cc, sc) < 0)
        goto out;
    if (hc->hostname != NULL && tlsrig_conn_set_hostname(p.c, hc->hostname) < 0) {
        failf(&t, "set_hostname: %s", tlsrig_conn_last_error(p.c)->message);
        goto out;
    }
    if (hc->advance != 0 && tlsrig_clock_advance(hc->advance) < 0) {
        failf(&t, "clock_advance: the virtual clock is off");
        goto out;
    }
    int rc = handshake(&p);
    if (hc->ok_version != 0)
        expect_success(&t, &p, rc, hc->ok_version, hc->key);
    else
        expect_refusal(&t, &p, rc, &clog, &slog, &hc->refuse);
out:
    pair_free(&p);
    tlsrig_ctx_free(cc);
    tlsrig_ctx_free(sc);
    report(&t);
}

#define LEGACY "DEFAULT:@SECLEVEL=0"

/* One case per entry reads better than clang-format's one field per line. */
/* clang-format off */
static const hs_case hs_cases[] = {
    /* The matrix: the client caps the version, the server offers everything it has. */
    {"tls12-rsa", "rsa", KEY_RSA, {0, TLS1_2_VERSION, NULL}, {0}, NULL, 0, TLS1_2_VERSION, {0}},
    {"tls12-p256", "p256", KEY_P256, {0, TLS1_2_VERSION, NULL}, {0}, NULL, 0, TLS1_2_VERSION, {0}},
    {"tls12-p384", "p384", KEY_P384, {0, TLS1_2_VERSION, NULL}, {0}, NULL, 0, TLS1_2_VERSION, {0}},
    {"tls12-ed25519", "ed25519", KEY_ED25519, {0, TLS1_2_VERSION, NULL}, {0}, NULL, 0,
     TLS1_2_VERSION, {0}},
    {"tls13-rsa", "rsa", KEY_RSA, {0, TLS1_3_VERSION, NULL}, {0}, NULL, 0, TLS1_3_VERSION, {0}},
    {"tls13-p256", "p256", KEY_P256, {0, TLS1_3_VERSION, NULL}, {0}, NULL, 0, TLS1_3_VERSION, {0}},
    {"tls13-p384", "p384", KEY_P384, {0, TLS1_3_VERSION, NULL}, {0}, NULL, 0, TLS1_3_VERSION, {0}},
    {"tls13-ed25519", "ed25519", KEY_ED25519, {0, TLS1_3_VERSION, NULL}, {0}, NULL, 0,
     TLS1_3_VERSION, {0}},
    /* TLS 1.0/1.1 need SHA-1/MD5 signatures, allowed only at security level 0 on both sides
     * (and the minimum version lowered, whatever the system configuration says). */
    {"tls10-rsa-seclevel0", "rsa", KEY_RSA, {TLS1_VERSION, TLS1_VERSION, LEGACY},
     {TLS1_VERSION, 0, LEGACY}, NULL, 0, TLS1_VERSION, {0}},
    {"tls11-rsa-seclevel0", "rsa", KEY_RSA, {TLS1_VERSION, TLS1_1_VERSION, LEGACY},
     {TLS1_VERSION, 0, LEGACY}, NULL, 0, TLS1_1_VERSION, {0}},
    /* Same TLS 1.0 client, server at its default security level (TLS 1.0 still allowed by
     * its version bounds): OpenSSL 3.0 picks TLS 1.0, then finds the MD5+SHA-1 signature it
     * needs for ServerKeyExchange forbidden, and aborts with internal_error. */
    {"refuse-tls10-server-seclevel", "rsa", KEY_RSA, {TLS1_VERSION, TLS1_VERSION, LEGACY},
     {TLS1_VERSION, 0, NULL}, NULL, 0, 0,
     {0, SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM, SSL_AD_INTERNAL_ERROR, -1}},
    /* RFC 8446 §4.2.1 / §D.2: no acceptable version -> protocol_version alert. */
    {"refuse-version-c12-s13", "p256", KEY_P256, {0, TLS1_2_VERSION, NULL},
     {TLS1_3_VERSION, 0, NULL}, NULL, 0, 0,
     {0, SSL_R_UNSUPPORTED_PROTOCOL, SSL_AD_PROTOCOL_VERSION, -1}},
    {"refuse-version-c13-s12", "p256", KEY_P256, {TLS1_3_VERSION, 0, NULL},
     {0, TLS1_2_VERSION, NULL}, NULL, 0, 0,
     {0, SSL_R_UNSUPPORTED_PROTOCOL, SSL_AD_PROTOCOL_VERSION, -1}},
    /* Certificate failures: the client refuses with the alert RFC 8446 §6.2 names. */
    {"refuse-untrusted-issuer", "untrusted", KEY_P256, {0}, {0}, NULL, 0, 0,
     {1, SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_AD_UNKNOWN_CA,
      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}},
    {"refuse-expired", "expired", KEY_P256, {0}, {0}, NULL, 0, 0,
     {1, SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_AD_CERTIFICATE_EXPIRED,
      X509_V_ERR_CERT_HAS_EXPIRED}},
    {"hostname-match", "rsa", KEY_RSA, {0}, {0}, HOSTNAME, 0, TLS1_3_VERSION, {0}},
    /* OpenSSL maps X509_V_ERR_HOSTNAME_MISMATCH to bad_certificate. */
    {"refuse-wrong-hostname", "wronghost", KEY_P256, {0}, {0}, HOSTNAME, 0, 0,
     {1, SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_AD_BAD_CERTIFICATE, X509_V_ERR_HOSTNAME_MISMATCH}},
    /* Valid 2025-12-01..2026-02-01: fine at the virtual epoch (2026-01-01), expired once the
     * clock has moved 45 days on. */
    {"shortlived-at-epoch", "shortlived", KEY_P256, {0}, {0}, NULL, 0, TLS1_3_VERSION, {0}},
    {"refuse-shortlived-after-45-days", "shortlived", KEY_P256, {0}, {0}, NULL, 45 * 86400, 0,
     {1, SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_AD_CERTIFICATE_EXPIRED,
      X509_V_ERR_CERT_HAS_EXPIRED}},
};
/* clang-format on */

/* Resumption: a full handshake, a clean close, then a second connection offering the
 * session. |advance| moves the virtual clock between the two; |expect_reuse| says whether
 * the second must resume. */
static void run_resume_case(const char *name, int version, int64_t advance, int expect_reuse)
{
    tcase t;
    obs_log clog, slog;
    pair p = {0};
    tlsrig_ctx *cc = NULL, *sc = NULL;
    tlsrig_session *sess = NULL;
    side_cfg ccfg = {0, version, NULL};
    obs_reset(&clog);
    obs_reset(&slog);
    if (begin(&t, name) < 0)
        goto out;
    if ((sc = server_ctx(&t, "p256", NULL, &slog)) == NULL ||
        (cc = client_ctx(&t, &ccfg, 0, &clog)) == NULL)
        goto out;
    /* No server-side session cache: only the ticket (RFC 5077, RFC 8446 §4.6.1) can resume. */
    tlsrig_ctx_set_session_cache_mode(sc, TLSRIG_SESS_CACHE_OFF);
    if (pair_new(&t, &p, cc, sc) < 0)
        goto out;
    int rc = handshake(&p);
    if (rc != 0) {
        failf(&t, "first handshake: %s: %s / %s", tlsrig_err_name(rc), p.cerr.message,
              p.serr.message);
        goto out;
    }
    if (tlsrig_conn_session_reused(p.c) != 0 || clog.certs_recv != 1) {
        failf(&t,
              "first handshake: expected a full handshake (1 Certificate), got reused=%d, "
              "%d Certificate messages",
              tlsrig_conn_session_reused(p.c), clog.certs_recv);
        goto out;
    }
    /* RFC 8446 §4.6.1: TLS 1.3 tickets come after the handshake; the round trip reads them. */
    if (round_trip(&t, &p, p.s, p.c, "ticket") < 0 || close_both(&t, &p) < 0)
        goto out;
    if (tlsrig_conn_get_session(p.c, &sess) < 0) {
        failf(&t, "get_session: %s", tlsrig_conn_last_error(p.c)->message);
        goto out;
    }
    if (!tlsrig_session_is_resumable(sess) ||
        !SSL_SESSION_has_ticket(tlsrig_session_get0_ssl_session(sess))) {
        failf(&t, "the session is not resumable or carries no ticket");
        goto out;
    }
    pair_free(&p);
    if (advance != 0 && tlsrig_clock_advance(advance) < 0) {
        failf(&t, "clock_advance: the virtual clock is off");
        goto out;
    }

    obs_reset(&clog);
    if (pair_new(&t, &p, cc, sc) < 0)
        goto out;
    if (tlsrig_conn_set_session(p.c, sess) < 0) {
        failf(&t, "set_session: %s", tlsrig_conn_last_error(p.c)->message);
        goto out;
    }
    rc = handshake(&p);
    if (rc != 0) {
        failf(&t, "second handshake: %s: %s / %s", tlsrig_err_name(rc), p.cerr.message,
              p.serr.message);
        goto out;
    }
    int cr = tlsrig_conn_session_reused(p.c), sr = tlsrig_conn_session_reused(p.s);
    int cv = tlsrig_conn_get_protocol_version(p.c);
    if (cv != version) {
        failf(&t, "second handshake: expected %s, got %s", version_name(version), version_name(cv));
        goto out;
    }
    if (cr != expect_reuse || sr != expect_reuse) {
        failf(&t, "session_reused: expected %d on both sides, got client %d server %d",
              expect_reuse, cr, sr);
        goto out;
    }
    /* A resumed handshake authenticates with the ticket's secret: no Certificate is sent
     * (RFC 8446 §2.2, RFC 5077 §3.1); a full one sends it again. */
    if (clog.certs_recv != (expect_reuse ? 0 : 1)) {
        failf(&t, "second handshake: expected %d Certificate messages, got %d",
              expect_reuse ? 0 : 1, clog.certs_recv);
        goto out;
    }
    if (round_trip(&t, &p, p.c, p.s, "again") < 0)
        goto out;
    if (expect_reuse)
        seen(&t, "%s resumed on both sides (no Certificate), data flows", version_name(cv));
    else
        seen(&t, "%s ticket %lld s old not resumed: full handshake as expected", version_name(cv),
             (long long)advance);
out:
    tlsrig_session_free(sess);
    pair_free(&p);
    tlsrig_ctx_free(cc);
    tlsrig_ctx_free(sc);
    report(&t);
}

/* One deterministic TLS 1.3 handshake plus a round trip; the wire bytes go to |*wire|. */
static int det_run(tcase *t, uint64_t seed, uint8_t **wire, size_t *len)
{
    pair p = {.capture = 1};
    tlsrig_ctx *cc = NULL, *sc = NULL;
    int ok = -1;
    *wire = NULL;
    *len = 0;
    if (tlsrig_deterministic(seed) < 0) {
        failf(t, "tlsrig_deterministic failed");
        return -1;
    }
    if ((sc = server_ctx(t, "p256", NULL, NULL)) == NULL ||
        (cc = client_ctx(t, NULL, 0, NULL)) == NULL || pair_new(t, &p, cc, sc) < 0)
        goto out;
    int rc = handshake(&p);
    if (rc != 0) {
        failf(t, "handshake: %s: %s / %s", tlsrig_err_name(rc), p.cerr.message, p.serr.message);
        goto out;
    }
    if (round_trip(t, &p, p.c, p.s, "det") < 0)
        goto out;
    *wire = p.wire;
    *len = p.wire_len;
    p.wire = NULL;
    ok = 0;
out:
    pair_free(&p);
    tlsrig_ctx_free(cc);
    tlsrig_ctx_free(sc);
    return ok;
}

/* Same seed, same calls: byte-identical wire, ECDSA signature and ticket included. A
 * different seed must change it (else the seed is not what drives the randomness). */
static void run_det_case(void)
{
    tcase t;
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    size_t la = 0, lb = 0, lc = 0;
    memset(&t, 0, sizeof(t));
    t.name = "deterministic-replay";
    ERR_clear_error();
    if (det_run(&t, SEED, &a, &la) < 0 || det_run(&t, SEED, &b, &lb) < 0 ||
        det_run(&t, SEED + 1, &c, &lc) < 0)
        goto out;
    if (la == 0 || la != lb || memcmp(a, b, la) != 0) {
        size_t i = 0;
        while (i < la && i < lb && a[i] == b[i])
            i++;
        failf(&t, "same seed: wire of %zu and %zu bytes, first difference at byte %zu", la, lb, i);
        goto out;
    }
    if (la == lc && memcmp(a, c, la) == 0) {
        failf(&t, "seed %#llx and %#llx produced the same %zu wire bytes", (unsigned long long)SEED,
              (unsigned long long)(SEED + 1), la);
        goto out;
    }
    seen(&t, "same seed: %zu identical wire bytes; next seed: different bytes", la);
out:
    free(a);
    free(b);
    free(c);
    report(&t);
}

static void usage(void)
{
    fprintf(stderr, "usage: tlsrig-selfcheck PKI_DIR\n"
                    "  PKI_DIR  the test PKI (the committed pki/ folder)\n");
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        usage();
        return 2;
    }
    pki_dir = argv[1];
    static const char *const needed[] = {
        "root-ca.crt",           "server-rsa.chain.pem",
        "server-rsa.key",        "server-p256.chain.pem",
        "server-p256.key",       "server-p384.chain.pem",
        "server-p384.key",       "server-ed25519.chain.pem",
        "server-ed25519.key",    "server-untrusted.crt",
        "server-untrusted.key",  "server-expired.chain.pem",
        "server-expired.key",    "server-wronghost.chain.pem",
        "server-wronghost.key",  "server-shortlived.chain.pem",
        "server-shortlived.key",
    };
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (access(pki(needed[i]), R_OK) != 0) {
            fprintf(stderr,
                    "tlsrig-selfcheck: cannot read %s: %s (generate the PKI with "
                    "scripts/gen-pki.sh %s)\n",
                    pki(needed[i]), strerror(errno), pki_dir);
            return 2;
        }
    }

    printf("tlsrig-selfcheck: %s, deterministic seed %#llx, virtual clock from %lld\n",
           OpenSSL_version(OPENSSL_VERSION), (unsigned long long)SEED,
           (long long)TLSRIG_CLOCK_EPOCH);
    for (size_t i = 0; i < sizeof(hs_cases) / sizeof(hs_cases[0]); i++)
        run_hs_case(&hs_cases[i]);
    run_resume_case("resume-tls12-ticket", TLS1_2_VERSION, 0, 1);
    run_resume_case("resume-tls13-ticket", TLS1_3_VERSION, 0, 1);
    /* RFC 8446 §4.2.11.1: a client MUST NOT use a ticket older than its lifetime (7200 s
     * here, OpenSSL's default session timeout). */
    run_resume_case("no-resume-tls13-ticket-expired", TLS1_3_VERSION, 7201, 0);
    run_det_case();

    tlsrig_deterministic_off();
    printf("selfcheck: %d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
