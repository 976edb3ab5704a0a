/*
 * bench.c - tlsrig-bench: the engine against a plain OpenSSL memory-BIO loop, same process,
 * same certificates, same protocol settings.
 *
 *   tlsrig-bench PKI_DIR [--quick] [--verbose] [--scenario NAME] [--only engine|raw]
 *
 * Scenarios: full handshakes per second (TLS 1.3 ECDSA P-256, TLS 1.3 RSA 2048, TLS 1.2
 * ECDHE-RSA-AES128-GCM-SHA256), TLS 1.3 ticket resumptions per second, and bulk MB/s
 * (TLS 1.3 AES-128-GCM, 16 KiB writes client to server).
 *
 * Both variants do the same work per unit: contexts are made once per scenario outside the
 * timed loop; a handshake unit creates both connections, runs the handshake to completion on
 * both sides (moving bytes between memory BIOs through a user buffer, as an application
 * does), checks the outcome and frees both connections; a bulk unit writes 16 KiB on the
 * client, moves the record to the server and reads it there. The client verifies the server
 * (VERIFY_PEER against root-ca.crt) in both variants. Both run in this one process, linked with
 * libtlsrig, so the raw side's time() calls also go through the engine's clock interposer
 * (on the real clock here): the same cost on both sides.
 *
 * Method: an untimed warm-up sizes a batch of units to about 10 ms. A sample of each side is
 * ~0.3 s of that side's batches, and the two sides' batches alternate (engine, raw, raw,
 * engine, ...: ABBA, so a linear drift cancels) within the sample, because on a shared host
 * the machine's speed swings by tens of percent within a second and coarser alternation
 * leaves that in the ratio. The median of each side's 11 samples is reported; the ratio held
 * against the target is the median of the 11 per-sample ratios (each sample's two sides ran
 * interleaved, so their ratio is free of the swings between samples that the ratio of the two
 * medians keeps). The ratio of medians and the ratio by thread CPU time (blind to time spent
 * descheduled) are printed as cross-checks. --only runs one side, for a profiler.
 * Exit 0 whatever the ratios (this is a measurement), 1 if a handshake or a transfer goes
 * wrong, 2 on bad usage or missing PKI files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlsrig.h"
#include "wire.h"

#define HANDSHAKE_TARGET 0.97
#define BULK_TARGET 0.95
#define MITM_TARGET 0.5
#define CHUNK 16384             /* application write size */
#define MOVE_CAP (CHUNK + 1024) /* one full record and its overhead fits in one move */
#define MAX_SAMPLES 15
#define MIN_BULK_BYTES (64u << 20) /* at least 64 MiB per bulk sample */
#define SLICE_S 0.01               /* one side's turn within a sample, seconds */

static const char *pki_dir;
static uint8_t move_buf[MOVE_CAP];
static uint8_t chunk_out[CHUNK];
static uint8_t chunk_in[CHUNK];

static const char *pki(const char *file)
{
    static char bufs[4][1024];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", pki_dir, file);
    return b;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlsrig-bench: FAILED: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* The timed units stay out of line so a profiler can attribute cost to them
 * (valgrind --tool=callgrind --toggle-collect=eng_bulk_unit ...). */
#define UNIT_FN static __attribute__((noinline))

/* ---- scenarios ---- */

typedef enum { KIND_HANDSHAKE, KIND_RESUME, KIND_BULK } unit_kind;

typedef struct scenario {
    const char *name;
    unit_kind kind;
    const char *leaf;         /* server-<leaf>.chain.pem / .key */
    int max_version;          /* client maximum, 0: none */
    const char *cipher_list;  /* TLS <= 1.2 cipher string on both sides, NULL: default */
    const char *ciphersuites; /* TLS 1.3 suites on both sides, NULL: default */
    int expect_version;       /* checked once per variant before timing */
    const char *expect_cipher;
    int mitm; /* the engine side's handshakes go through the wire's man in the middle, which
               * opens and re-protects every record (target: MITM_TARGET of raw) */
} scenario;

static const scenario scenarios[] = {
    {"tls13-p256-handshake", KIND_HANDSHAKE, "p256", 0, NULL, NULL, TLS1_3_VERSION, NULL, 0},
    {"tls13-rsa2048-handshake", KIND_HANDSHAKE, "rsa", 0, NULL, NULL, TLS1_3_VERSION, NULL, 0},
    {"tls12-ecdhe-rsa-handshake", KIND_HANDSHAKE, "rsa", TLS1_2_VERSION,
     "ECDHE-RSA-AES128-GCM-SHA256", NULL, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", 0},
    {"tls13-resumption", KIND_RESUME, "p256", 0, NULL, NULL, TLS1_3_VERSION, NULL, 0},
    {"tls13-aes128gcm-bulk", KIND_BULK, "p256", 0, NULL, "TLS_AES_128_GCM_SHA256", TLS1_3_VERSION,
     "TLS_AES_128_GCM_SHA256", 0},
    {"tls13-p256-handshake-mitm", KIND_HANDSHAKE, "p256", 0, NULL, NULL, TLS1_3_VERSION, NULL, 1},
    {"tls12-ecdhe-rsa-hs-mitm", KIND_HANDSHAKE, "rsa", TLS1_2_VERSION,
     "ECDHE-RSA-AES128-GCM-SHA256", NULL, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", 1},
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* ---- the engine variant ---- */

/* A client/server pair and the wire between them (with a man in the middle, or not). */
typedef struct eng_pair {
    tlsrig_conn *c, *s;
    wire_engine ce, se;
    wire_pump pump;
    wire_mitm *m;
} eng_pair;

typedef struct eng {
    tlsrig_ctx *cctx, *sctx;
    tlsrig_session *sess; /* resumption: the ticket from a prior full handshake */
    eng_pair bulk;        /* bulk: the connection pair of the current sample */
    int mitm;             /* pairs get a man in the middle */
    eng_pair *cur;        /* the pair whose middle the key log lines go to */
} eng;

static void eng_ctx_die(tlsrig_ctx *ctx, const char *what)
{
    die("engine: %s: %s", what, tlsrig_ctx_last_error(ctx)->message);
}

/* The key log lines of each side, for the current pair's middle. */
static void eng_keylog(eng *e, int side, const char *line)
{
    if (e->cur != NULL && e->cur->m != NULL &&
        wire_mitm_keylog(e->cur->m, side, line, strlen(line)) < 0)
        die("engine: the middle refused the key log line \"%s\"", line);
}

static void eng_keylog_client(tlsrig_conn *conn, const char *line, void *arg)
{
    eng_keylog(arg, WIRE_CLIENT, line);
}

static void eng_keylog_server(tlsrig_conn *conn, const char *line, void *arg)
{
    eng_keylog(arg, WIRE_SERVER, line);
}

static void eng_setup(eng *e, const scenario *sc)
{
    tlsrig_error err;
    char chain[64], key[64];
    memset(e, 0, sizeof(*e));
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &e->sctx, &err) < 0 ||
        tlsrig_ctx_new(TLSRIG_TLS_METHOD, &e->cctx, &err) < 0)
        die("engine: ctx_new: %s", err.message);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", sc->leaf);
    snprintf(key, sizeof(key), "server-%s.key", sc->leaf);
    if (tlsrig_ctx_use_certificate_chain_file(e->sctx, pki(chain)) < 0 ||
        tlsrig_ctx_use_privatekey_file(e->sctx, pki(key), TLSRIG_FILETYPE_PEM) < 0)
        eng_ctx_die(e->sctx, "server certificate");
    if (tlsrig_ctx_load_verify_locations(e->cctx, pki("root-ca.crt"), NULL) < 0 ||
        tlsrig_ctx_set_verify(e->cctx, TLSRIG_VERIFY_PEER, NULL, NULL) < 0)
        eng_ctx_die(e->cctx, "client trust");
    if (sc->max_version != 0 && tlsrig_ctx_set_max_proto_version(e->cctx, sc->max_version) < 0)
        eng_ctx_die(e->cctx, "max version");
    if (sc->cipher_list != NULL && (tlsrig_ctx_set_cipher_list(e->cctx, sc->cipher_list) < 0 ||
                                    tlsrig_ctx_set_cipher_list(e->sctx, sc->cipher_list) < 0))
        die("engine: set_cipher_list %s", sc->cipher_list);
    if (sc->ciphersuites != NULL && (tlsrig_ctx_set_ciphersuites(e->cctx, sc->ciphersuites) < 0 ||
                                     tlsrig_ctx_set_ciphersuites(e->sctx, sc->ciphersuites) < 0))
        die("engine: set_ciphersuites %s", sc->ciphersuites);
    e->mitm = sc->mitm;
    if (sc->mitm) {
        tlsrig_ctx_set_keylog_callback(e->cctx, eng_keylog_client, e);
        tlsrig_ctx_set_keylog_callback(e->sctx, eng_keylog_server, e);
    }
}

static void eng_conn_die(tlsrig_conn *conn, const char *what)
{
    die("engine: %s: %s", what, tlsrig_conn_last_error(conn)->message);
}

/* Move every byte one side has for its peer to the other, through the wire. */
static void eng_move(eng_pair *p, int from)
{
    if (wire_pump_move(&p->pump, from) < 0)
        eng_conn_die(from == WIRE_CLIENT ? p->c : p->s, "the wire");
}

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

static void eng_new_pair(eng *e, eng_pair *p)
{
    if (tlsrig_conn_new(e->cctx, -1, &p->c) < 0)
        eng_ctx_die(e->cctx, "conn_new");
    if (tlsrig_conn_new(e->sctx, -1, &p->s) < 0)
        eng_ctx_die(e->sctx, "conn_new");
    tlsrig_conn_set_connect_state(p->c);
    tlsrig_conn_set_accept_state(p->s);
    wire_engine_init(&p->ce, p->c, "client");
    wire_engine_init(&p->se, p->s, "server");
    wire_pump_opts opt = {0};
    p->m = NULL;
    if (e->mitm) {
        if (wire_mitm_new(&p->m) < 0)
            die("engine: out of memory");
        opt.filter = wire_mitm_filter;
        opt.filter_arg = p->m;
    }
    e->cur = p;
    wire_pump_init(&p->pump, &p->ce.ep, &p->se.ep, &opt);
}

/* Free a pair as after a completed close_notify exchange. OpenSSL marks the session of a
 * connection freed without a recorded shutdown as not resumable (ssl_clear_bad_session), which
 * would end resumption after the first unit; both variants mark the close the same way. */
static void eng_free_pair(eng_pair *p)
{
    wire_pump_cleanup(&p->pump);
    wire_engine_cleanup(&p->ce);
    wire_engine_cleanup(&p->se);
    wire_mitm_free(p->m);
    p->m = NULL;
    tlsrig_conn_set_shutdown(p->c, TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    tlsrig_conn_set_shutdown(p->s, TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN);
    tlsrig_conn_free(p->c);
    tlsrig_conn_free(p->s);
    p->c = p->s = NULL;
}

/* The same loop as the raw variant's: one do_handshake a side and round, the bytes moved
 * after each (here through the wire). */
static void eng_handshake(eng_pair *p)
{
    tlsrig_conn *c = p->c, *s = p->s;
    int cdone = 0, sdone = 0;
    for (int round = 0; round < 16 && !(cdone && sdone); round++) {
        if (!cdone) {
            int rc = tlsrig_conn_do_handshake(c);
            if (rc == 0)
                cdone = 1;
            else if (!is_want(rc))
                eng_conn_die(c, "client handshake");
        }
        eng_move(p, WIRE_CLIENT);
        if (!sdone) {
            int rc = tlsrig_conn_do_handshake(s);
            if (rc == 0)
                sdone = 1;
            else if (!is_want(rc))
                eng_conn_die(s, "server handshake");
        }
        eng_move(p, WIRE_SERVER);
    }
    if (!(cdone && sdone))
        die("engine: handshake made no progress");
    if (tlsrig_conn_get_verify_result(c) != X509_V_OK)
        die("engine: server certificate not verified (%ld)", tlsrig_conn_get_verify_result(c));
}

/* One timed unit of a handshake scenario. */
UNIT_FN void eng_handshake_unit(eng *e, int resume)
{
    eng_pair p;
    eng_new_pair(e, &p);
    if (resume && tlsrig_conn_set_session(p.c, e->sess) < 0)
        eng_conn_die(p.c, "set_session");
    eng_handshake(&p);
    if (resume && (tlsrig_conn_session_reused(p.c) != 1 || tlsrig_conn_session_reused(p.s) != 1))
        die("engine: resumption did not resume (client %d, server %d)",
            tlsrig_conn_session_reused(p.c), tlsrig_conn_session_reused(p.s));
    eng_free_pair(&p);
}

/* Untimed: one full handshake, checked against the scenario, keeping the ticket when the
 * scenario resumes. */
static void eng_check(eng *e, const scenario *sc)
{
    eng_pair p;
    eng_new_pair(e, &p);
    eng_handshake(&p);
    tlsrig_conn *c = p.c;
    if (tlsrig_conn_get_protocol_version(c) != sc->expect_version)
        die("engine: %s negotiated %s", sc->name, tlsrig_conn_get_protocol_version_name(c));
    if (sc->expect_cipher != NULL && strcmp(tlsrig_conn_get_cipher_name(c), sc->expect_cipher))
        die("engine: %s negotiated %s", sc->name, tlsrig_conn_get_cipher_name(c));
    if (sc->kind == KIND_RESUME) {
        /* TLS 1.3 tickets arrive after the handshake (RFC 8446 §4.6.1): read to take them. */
        uint8_t b[1];
        int rc = tlsrig_conn_recv(c, b, sizeof(b), 0);
        if (rc != TLSRIG_ERR_WANT_READ)
            eng_conn_die(c, "reading the session tickets");
        if (tlsrig_conn_get_session(c, &e->sess) < 0)
            eng_conn_die(c, "get_session");
        if (!SSL_SESSION_has_ticket(tlsrig_session_get0_ssl_session(e->sess)))
            die("engine: no ticket received");
    }
    eng_free_pair(&p);
}

static void eng_bulk_begin(eng *e)
{
    eng_new_pair(e, &e->bulk);
    eng_handshake(&e->bulk);
}

UNIT_FN void eng_bulk_unit(eng *e)
{
    int n = tlsrig_conn_write(e->bulk.c, chunk_out, CHUNK);
    if (n != CHUNK)
        eng_conn_die(e->bulk.c, "write");
    eng_move(&e->bulk, WIRE_CLIENT);
    size_t got = 0;
    while (got < CHUNK) {
        n = tlsrig_conn_recv(e->bulk.s, chunk_in + got, CHUNK - got, 0);
        if (n <= 0)
            eng_conn_die(e->bulk.s, "recv");
        got += (size_t)n;
    }
}

static void eng_bulk_end(eng *e)
{
    if (e->bulk.c != NULL)
        eng_free_pair(&e->bulk);
}

static void eng_teardown(eng *e)
{
    eng_bulk_end(e);
    tlsrig_session_free(e->sess);
    tlsrig_ctx_free(e->cctx);
    tlsrig_ctx_free(e->sctx);
    memset(e, 0, sizeof(*e));
}

/* ---- the raw OpenSSL variant ---- */

typedef struct raw_conn {
    SSL *ssl;
    BIO *in;  /* bytes from the peer */
    BIO *out; /* bytes to the peer */
} raw_conn;

typedef struct raw {
    SSL_CTX *cctx, *sctx;
    SSL_SESSION *sess;
    raw_conn c, s; /* bulk */
} raw;

static void raw_setup(raw *r, const scenario *sc)
{
    char chain[64], key[64];
    memset(r, 0, sizeof(*r));
    r->sctx = SSL_CTX_new(TLS_method());
    r->cctx = SSL_CTX_new(TLS_method());
    if (r->sctx == NULL || r->cctx == NULL)
        die("raw: SSL_CTX_new");
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", sc->leaf);
    snprintf(key, sizeof(key), "server-%s.key", sc->leaf);
    if (!SSL_CTX_use_certificate_chain_file(r->sctx, pki(chain)) ||
        !SSL_CTX_use_PrivateKey_file(r->sctx, pki(key), SSL_FILETYPE_PEM))
        die("raw: server certificate");
    if (!SSL_CTX_load_verify_locations(r->cctx, pki("root-ca.crt"), NULL))
        die("raw: client trust");
    SSL_CTX_set_verify(r->cctx, SSL_VERIFY_PEER, NULL);
    if (sc->max_version != 0 && !SSL_CTX_set_max_proto_version(r->cctx, sc->max_version))
        die("raw: max version");
    if (sc->cipher_list != NULL && (!SSL_CTX_set_cipher_list(r->cctx, sc->cipher_list) ||
                                    !SSL_CTX_set_cipher_list(r->sctx, sc->cipher_list)))
        die("raw: cipher list");
    if (sc->ciphersuites != NULL && (!SSL_CTX_set_ciphersuites(r->cctx, sc->ciphersuites) ||
                                     !SSL_CTX_set_ciphersuites(r->sctx, sc->ciphersuites)))
        die("raw: ciphersuites");
}

static void raw_conn_new(raw_conn *rc, SSL_CTX *ctx, int server)
{
    rc->ssl = SSL_new(ctx);
    rc->in = BIO_new(BIO_s_mem());
    rc->out = BIO_new(BIO_s_mem());
    if (rc->ssl == NULL || rc->in == NULL || rc->out == NULL)
        die("raw: SSL_new/BIO_new");
    /* An empty memory BIO reads as "retry", i.e. want read. */
    BIO_set_mem_eof_return(rc->in, -1);
    BIO_set_mem_eof_return(rc->out, -1);
    SSL_set_bio(rc->ssl, rc->in, rc->out);
    if (server)
        SSL_set_accept_state(rc->ssl);
    else
        SSL_set_connect_state(rc->ssl);
}

static void raw_conn_free(raw_conn *rc)
{
    /* As eng_free_pair: record a clean close so the session stays resumable. */
    SSL_set_shutdown(rc->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(rc->ssl); /* frees both BIOs */
    memset(rc, 0, sizeof(*rc));
}

static void raw_move(raw_conn *from, raw_conn *to)
{
    while (BIO_ctrl_pending(from->out) > 0) {
        int n = BIO_read(from->out, move_buf, (int)sizeof(move_buf));
        if (n <= 0)
            die("raw: BIO_read");
        if (BIO_write(to->in, move_buf, n) != n)
            die("raw: BIO_write");
    }
}

static int raw_step(SSL *ssl)
{
    int ret = SSL_do_handshake(ssl);
    if (ret == 1)
        return 1;
    int e = SSL_get_error(ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    die("raw: %s handshake: SSL_get_error %d", SSL_is_server(ssl) ? "server" : "client", e);
}

static void raw_handshake(raw_conn *c, raw_conn *s)
{
    int cdone = 0, sdone = 0;
    for (int round = 0; round < 16 && !(cdone && sdone); round++) {
        if (!cdone)
            cdone = raw_step(c->ssl);
        raw_move(c, s);
        if (!sdone)
            sdone = raw_step(s->ssl);
        raw_move(s, c);
    }
    if (!(cdone && sdone))
        die("raw: handshake made no progress");
    if (SSL_get_verify_result(c->ssl) != X509_V_OK)
        die("raw: server certificate not verified (%ld)", SSL_get_verify_result(c->ssl));
}

UNIT_FN void raw_handshake_unit(raw *r, int resume)
{
    raw_conn c, s;
    raw_conn_new(&c, r->cctx, 0);
    raw_conn_new(&s, r->sctx, 1);
    if (resume && !SSL_set_session(c.ssl, r->sess))
        die("raw: SSL_set_session");
    raw_handshake(&c, &s);
    if (resume && (!SSL_session_reused(c.ssl) || !SSL_session_reused(s.ssl)))
        die("raw: resumption did not resume (client %d, server %d)", SSL_session_reused(c.ssl),
            SSL_session_reused(s.ssl));
    raw_conn_free(&c);
    raw_conn_free(&s);
}

static void raw_check(raw *r, const scenario *sc)
{
    raw_conn c, s;
    raw_conn_new(&c, r->cctx, 0);
    raw_conn_new(&s, r->sctx, 1);
    raw_handshake(&c, &s);
    if (SSL_version(c.ssl) != sc->expect_version)
        die("raw: %s negotiated %s", sc->name, SSL_get_version(c.ssl));
    if (sc->expect_cipher != NULL && strcmp(SSL_get_cipher_name(c.ssl), sc->expect_cipher))
        die("raw: %s negotiated %s", sc->name, SSL_get_cipher_name(c.ssl));
    if (sc->kind == KIND_RESUME) {
        uint8_t b[1];
        size_t got = 0;
        if (SSL_read_ex(c.ssl, b, sizeof(b), &got) ||
            SSL_get_error(c.ssl, 0) != SSL_ERROR_WANT_READ)
            die("raw: reading the session tickets");
        r->sess = SSL_get1_session(c.ssl);
        if (r->sess == NULL || !SSL_SESSION_has_ticket(r->sess))
            die("raw: no ticket received");
    }
    raw_conn_free(&c);
    raw_conn_free(&s);
}

static void raw_bulk_begin(raw *r)
{
    raw_conn_new(&r->c, r->cctx, 0);
    raw_conn_new(&r->s, r->sctx, 1);
    raw_handshake(&r->c, &r->s);
}

UNIT_FN void raw_bulk_unit(raw *r)
{
    size_t n = 0;
    if (!SSL_write_ex(r->c.ssl, chunk_out, CHUNK, &n) || n != CHUNK)
        die("raw: SSL_write_ex");
    raw_move(&r->c, &r->s);
    size_t got = 0;
    while (got < CHUNK) {
        if (!SSL_read_ex(r->s.ssl, chunk_in + got, CHUNK - got, &n))
            die("raw: SSL_read_ex: SSL_get_error %d", SSL_get_error(r->s.ssl, 0));
        got += n;
    }
}

static void raw_bulk_end(raw *r)
{
    if (r->c.ssl != NULL)
        raw_conn_free(&r->c);
    if (r->s.ssl != NULL)
        raw_conn_free(&r->s);
}

static void raw_teardown(raw *r)
{
    raw_bulk_end(r);
    SSL_SESSION_free(r->sess);
    SSL_CTX_free(r->cctx);
    SSL_CTX_free(r->sctx);
    memset(r, 0, sizeof(*r));
}

/* ---- sampling ---- */

typedef struct bench_state {
    const scenario *sc;
    eng e;
    raw r;
} bench_state;

/* What one sample measured: the rate by the monotonic clock (the reported figure) and by
 * the thread's CPU time (a cross-check that is blind to time spent descheduled, so a busy
 * machine shows as a gap between the two). */
typedef struct rate {
    double wall, cpu;
} rate;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run |units| timed units on one side (bulk: on the side's open connection pair). */
static void run_units(bench_state *b, int engine, long units)
{
    switch (b->sc->kind) {
    case KIND_BULK:
        if (engine)
            for (long i = 0; i < units; i++)
                eng_bulk_unit(&b->e);
        else
            for (long i = 0; i < units; i++)
                raw_bulk_unit(&b->r);
        break;
    case KIND_HANDSHAKE:
    case KIND_RESUME:
        if (engine)
            for (long i = 0; i < units; i++)
                eng_handshake_unit(&b->e, b->sc->kind == KIND_RESUME);
        else
            for (long i = 0; i < units; i++)
                raw_handshake_unit(&b->r, b->sc->kind == KIND_RESUME);
        break;
    }
}

/* One sample of each side: |slices| slices of |batch| units per side, the sides alternating
 * slice by slice (ABBA...) so that both see the same machine even when its speed swings
 * within a fraction of a second, as it does on a shared host. Returns each side's rate
 * (units per second, MB/s for bulk) over its own accumulated time. Bulk connection set-up
 * and handshakes are outside the timing. */
static void sample(bench_state *b, int do_eng, int do_raw, long batch, int slices, rate *re,
                   rate *rr)
{
    const scenario *sc = b->sc;
    double wall[2] = {0, 0}, cpu[2] = {0, 0};
    double scale = sc->kind == KIND_BULK ? CHUNK / 1e6 : 1;

    if (sc->kind == KIND_BULK) {
        if (do_eng)
            eng_bulk_begin(&b->e);
        if (do_raw)
            raw_bulk_begin(&b->r);
    }
    for (int j = 0; j < slices; j++) {
        for (int k = 0; k < 2; k++) {
            int engine = (j % 2 == 0) == (k == 0);
            if (engine ? !do_eng : !do_raw)
                continue;
            double t0 = now_s(), c0 = cpu_s();
            run_units(b, engine, batch);
            double c1 = cpu_s(), t1 = now_s();
            wall[engine] += t1 - t0;
            cpu[engine] += c1 - c0;
            if (sc->kind == KIND_BULK) {
                /* The last chunk must be the one sent: proof the pipe carried real data. */
                if (memcmp(chunk_in, chunk_out, CHUNK) != 0)
                    die("%s: bulk data corrupted", engine ? "engine" : "raw");
                memset(chunk_in, 0, sizeof(chunk_in));
            }
        }
    }
    if (sc->kind == KIND_BULK) {
        eng_bulk_end(&b->e);
        raw_bulk_end(&b->r);
    }
    double units = (double)batch * slices * scale;
    if (do_eng) {
        re->wall = units / wall[1];
        re->cpu = units / cpu[1];
    }
    if (do_raw) {
        rr->wall = units / wall[0];
        rr->cpu = units / cpu[0];
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double tmp[MAX_SAMPLES];
    memcpy(tmp, v, (size_t)n * sizeof(double));
    qsort(tmp, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* (max - min) / median, in percent: how noisy the samples were. */
static double spread(const double *v, int n)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    return (hi - lo) / median(v, n) * 100.0;
}

typedef struct result {
    const char *name;
    const char *unit;
    double engine, raw, ratio, of_medians, cpu_ratio, target;
    double engine_spread, raw_spread;
} result;

enum { BOTH = 0, ENGINE_ONLY = 1, RAW_ONLY = 2 };

static int verbose;

static result run_scenario(const scenario *sc, int n_samples, double target_s, int only)
{
    bench_state b = {.sc = sc};
    double ev[MAX_SAMPLES], rv[MAX_SAMPLES], ec[MAX_SAMPLES], rc[MAX_SAMPLES], pr[MAX_SAMPLES];
    result res = {.name = sc->name};
    int do_eng = only != RAW_ONLY, do_raw = only != ENGINE_ONLY;

    eng_setup(&b.e, sc);
    raw_setup(&b.r, sc);
    eng_check(&b.e, sc);
    raw_check(&b.r, sc);

    /* Warm-up and sizing: grow a probe batch until it takes about one slice. */
    long batch = 1;
    for (;;) {
        rate pe, pr1;
        double t0 = now_s();
        sample(&b, do_eng, do_raw, batch, 2, &pe, &pr1);
        double dt = (now_s() - t0) / (2 * (do_eng + do_raw));
        if (dt >= SLICE_S || batch > (1L << 24)) {
            batch = (long)((double)batch * SLICE_S / dt + 0.5);
            break;
        }
        batch *= 2;
    }
    if (batch < 1)
        batch = 1;
    int slices = (int)(target_s / SLICE_S + 0.5);
    if (sc->kind == KIND_BULK && batch * slices < (long)(MIN_BULK_BYTES / CHUNK))
        slices = (int)((MIN_BULK_BYTES / CHUNK + batch - 1) / batch);

    for (int i = 0; i < n_samples; i++) {
        rate re = {0, 0}, rr = {0, 0};
        sample(&b, do_eng, do_raw, batch, slices, &re, &rr);
        ev[i] = re.wall;
        ec[i] = re.cpu;
        rv[i] = rr.wall;
        rc[i] = rr.cpu;
        pr[i] = do_eng && do_raw ? re.wall / rr.wall : 0;
        if (verbose)
            printf("  %s sample %2d: engine %9.1f raw %9.1f ratio %.3f (cpu time: engine %9.1f "
                   "raw %9.1f)\n",
                   sc->name, i + 1, re.wall, rr.wall, pr[i], re.cpu, rr.cpu);
    }
    eng_teardown(&b.e);
    raw_teardown(&b.r);

    res.unit = sc->kind == KIND_BULK ? "MB/s" : "/s";
    res.target = sc->mitm ? MITM_TARGET : sc->kind == KIND_BULK ? BULK_TARGET : HANDSHAKE_TARGET;
    const char *what = sc->kind == KIND_BULK ? "16 KiB writes" : "handshakes";
    long units = batch * slices;
    if (only != BOTH) {
        const double *v = only == ENGINE_ONLY ? ev : rv;
        printf("%-26s %s %9.1f%-4s (spread %.1f%%; %d x %ld %s)\n", sc->name,
               only == ENGINE_ONLY ? "engine" : "raw", median(v, n_samples), res.unit,
               spread(v, n_samples), n_samples, units, what);
        fflush(stdout);
        return res;
    }
    res.engine = median(ev, n_samples);
    res.raw = median(rv, n_samples);
    res.of_medians = res.engine / res.raw;
    res.cpu_ratio = median(ec, n_samples) / median(rc, n_samples);
    res.ratio = median(pr, n_samples);
    res.engine_spread = spread(ev, n_samples);
    res.raw_spread = spread(rv, n_samples);
    printf("%-26s engine %9.1f%-4s raw %9.1f%-4s ratio %.3f  (of medians %.3f, cpu-time %.3f; %d "
           "samples x %d slices x %ld %s)\n",
           sc->name, res.engine, res.unit, res.raw, res.unit, res.ratio, res.of_medians,
           res.cpu_ratio, n_samples, slices, batch, what);
    fflush(stdout);
    return res;
}

static void usage(void)
{
    fprintf(stderr, "usage: tlsrig-bench PKI_DIR [--quick] [--verbose] [--scenario NAME] "
                    "[--only engine|raw]\n"
                    "  PKI_DIR          the test PKI (the committed pki/ folder)\n"
                    "  --quick          few short samples: a smoke run, not a measurement\n"
                    "  --verbose        print every sample\n"
                    "  --scenario NAME  run one scenario only\n"
                    "  --only SIDE      run one side only, no ratio (for a profiler)\n"
                    "scenarios:");
    for (size_t i = 0; i < N_SCENARIOS; i++)
        fprintf(stderr, " %s", scenarios[i].name);
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    int quick = 0, only = BOTH;
    const char *pick = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc) {
            pick = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "engine") == 0)
                only = ENGINE_ONLY;
            else if (strcmp(argv[i], "raw") == 0)
                only = RAW_ONLY;
            else {
                usage();
                return 2;
            }
        } else if (argv[i][0] != '-' && pki_dir == NULL) {
            pki_dir = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (pki_dir == NULL) {
        usage();
        return 2;
    }
    int found = pick == NULL;
    for (size_t i = 0; i < N_SCENARIOS && !found; i++)
        found = strcmp(scenarios[i].name, pick) == 0;
    if (!found) {
        fprintf(stderr, "tlsrig-bench: unknown scenario '%s'\n", pick);
        usage();
        return 2;
    }

    static const char *const needed[] = {"root-ca.crt", "server-p256.chain.pem", "server-p256.key",
                                         "server-rsa.chain.pem", "server-rsa.key"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (access(pki(needed[i]), R_OK) != 0) {
            fprintf(stderr,
                    "tlsrig-bench: cannot read %s: %s (generate the PKI with "
                    "scripts/gen-pki.sh %s)\n",
                    pki(needed[i]), strerror(errno), pki_dir);
            return 2;
        }
    }
    for (size_t i = 0; i < CHUNK; i++)
        chunk_out[i] = (uint8_t)(i * 131 + 7);

    int n_samples = quick ? 3 : 11;
    double target_s = quick ? 0.1 : 0.3;
    printf("tlsrig-bench: engine vs plain libssl, %s; %d samples per side of ~%.1f s, "
           "interleaved in 10 ms slices; medians\n",
           OpenSSL_version(OPENSSL_VERSION), n_samples, target_s);
    result res[N_SCENARIOS];
    size_t n_res = 0;
    for (size_t i = 0; i < N_SCENARIOS; i++)
        if (pick == NULL || strcmp(scenarios[i].name, pick) == 0)
            res[n_res++] = run_scenario(&scenarios[i], n_samples, target_s, only);
    if (only != BOTH)
        return 0;

    printf("\n%-26s %12s %12s %6s %6s %4s %7s %7s %14s\n", "scenario", "engine", "raw", "ratio",
           "target", "met", "medians", "cputime", "spread eng/raw");
    int all_met = 1;
    for (size_t i = 0; i < n_res; i++) {
        int met = res[i].ratio >= res[i].target;
        all_met &= met;
        printf("%-26s %8.1f%-4s %8.1f%-4s %6.3f %6.2f %4s %7.3f %7.3f %6.1f%%/%.1f%%\n",
               res[i].name, res[i].engine, res[i].unit, res[i].raw, res[i].unit, res[i].ratio,
               res[i].target, met ? "yes" : "NO", res[i].of_medians, res[i].cpu_ratio,
               res[i].engine_spread, res[i].raw_spread);
    }
    printf("targets: handshake ratio >= %.2f, bulk ratio >= %.2f, handshakes through the middle "
           ">= %.2f: %s%s\n",
           HANDSHAKE_TARGET, BULK_TARGET, MITM_TARGET, all_met ? "all met" : "NOT all met",
           quick ? " (--quick: too few samples to judge)" : "");
    return 0;
}
