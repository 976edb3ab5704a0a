/*
 * harness.c - the shared part of the fuzz targets: PKI lookup, the tagged prefix, the
 * contexts built once per process, connections with their settings (each a wire endpoint),
 * and the per-input reset. It drives no exchange itself: that is drive.c, above it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "harness.h"

#ifndef TLSRIG_PKI_DIR
#define TLSRIG_PKI_DIR "pki"
#endif

/* One fixed seed per source. Any values do; they must only never change, or every recorded
 * seed stops matching the randoms its target draws. */
#define FZ_SEED_TARGET UINT64_C(0x7a7a2d7461726774)
#define FZ_SEED_PEER UINT64_C(0x7a7a2d7065657221)

#define FZ_SESSION_ID_CONTEXT "tlsrig-fuzz"

/* ---- PKI, failures, digest ---- */

const char *fz_pki_dir(void)
{
    const char *env = getenv("TLSRIG_PKI");
    return env != NULL && env[0] != '\0' ? env : TLSRIG_PKI_DIR;
}

const char *fz_pki_path(const char *file)
{
    static char bufs[8][1024];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", fz_pki_dir(), file);
    return b;
}

void fz_fatal(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz harness: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    ERR_print_errors_fp(stderr);
    abort();
}

uint64_t fz_digest;

void fz_digest_add(const void *data, size_t len)
{
    /* FNV-1a: the digest only has to notice a difference between two runs. */
    const uint8_t *p = data;
    uint64_t h = fz_digest != 0 ? fz_digest : UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    fz_digest = h;
}

/* ---- the tagged prefix ---- */

size_t fz_prefix_parse(const uint8_t *data, size_t len, fz_prefix *out)
{
    size_t pos = 0;
    memset(out, 0, sizeof(*out));
    while (pos < len) {
        uint8_t tag = data[pos];
        if (tag == FZ_TAG_END)
            return pos + 1;
        if (tag >= FZ_TAG_COUNT || pos + 1 >= len)
            break; /* not a setting: the payload starts here */
        fz_prefix_set(out, tag, data[pos + 1]);
        pos += 2;
    }
    return pos;
}

void fz_prefix_set(fz_prefix *p, int tag, uint8_t value)
{
    if (tag <= FZ_TAG_END || tag >= FZ_TAG_COUNT)
        return;
    p->value[tag] = value;
    p->present |= UINT32_C(1) << tag;
}

uint8_t fz_prefix_get(const fz_prefix *p, int tag, uint8_t dflt)
{
    if (tag <= FZ_TAG_END || tag >= FZ_TAG_COUNT || !(p->present & (UINT32_C(1) << tag)))
        return dflt;
    return p->value[tag];
}

size_t fz_prefix_write(const fz_prefix *p, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (int t = FZ_TAG_END + 1; t < FZ_TAG_COUNT; t++) {
        if (!(p->present & (UINT32_C(1) << t)) || n + 2 > cap)
            continue;
        out[n++] = (uint8_t)t;
        out[n++] = p->value[t];
    }
    if (n < cap)
        out[n++] = FZ_TAG_END;
    return n;
}

/* ---- the world: every context, made once ---- */

static const char *const key_names[FZ_N_KEYS] = {"p256", "rsa", "p384", "ed25519"};

static struct {
    int ready;
    tlsrig_det *det[2];
    tlsrig_ctx *server[2][FZ_N_PROFILES][FZ_N_KEYS]; /* [side][profile][key] */
    tlsrig_ctx *client[2][FZ_N_PROFILES];            /* [side][profile] */
    /* client certificates (p256, rsa), set per connection when asked for */
    X509 *client_cert[2];
    EVP_PKEY *client_key[2];
    STACK_OF(X509) * client_chain[2];
    /* what the target server's RSA contexts are reset to, and how many private-key
     * operations they may have made since (see refresh_rsa()) */
    EVP_PKEY *rsa_key;
    int rsa_ops;
    wire_buf rsa_hello; /* a ClientHello that makes a server sign at once */
    uint8_t ocsp[8192];
    size_t ocsp_len;
} W;

/* The cipher/group sets FZ_TAG_KEX picks from: {TLS <= 1.2 ciphers, TLS 1.3 suites, groups},
 * NULL keeping the context's. The legacy profile appends @SECLEVEL=0 to the cipher list. */
static const struct {
    const char *ciphers, *suites, *groups;
} fz_kex_sets[8] = {
    {NULL, NULL, NULL},
    /* finite-field DHE, in TLS 1.2 and as TLS 1.3 groups (RFC 7919) */
    {"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES256-SHA256:"
     "DHE-RSA-AES128-SHA",
     NULL, "ffdhe2048:ffdhe3072"},
    /* groups a default client sends no share for: HelloRetryRequest */
    {NULL, NULL, "P-384:P-521"},
    {"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-CCM",
     "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256", "X448:X25519"},
    /* CBC suites: encrypt-then-MAC and the MAC-then-encrypt padding checks */
    {"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384:AES128-SHA256",
     "TLS_AES_256_GCM_SHA384", "P-256"},
    /* static RSA key exchange (with its Bleichenbacher countermeasures) */
    {"AES128-GCM-SHA256:AES256-SHA:AES128-SHA:CAMELLIA128-SHA", NULL, NULL},
    {"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_256_GCM_SHA384",
     "P-256:X25519:ffdhe2048"},
    /* anonymous and null ciphers: only the legacy profile's security level allows them */
    {"aNULL:eNULL:ECDHE-ECDSA-NULL-SHA", "TLS_AES_128_GCM_SHA256", "X25519:P-384"},
};

void fz_kex_set(unsigned i, const char **ciphers, const char **suites, const char **groups)
{
    *ciphers = fz_kex_sets[i & 7].ciphers;
    *suites = fz_kex_sets[i & 7].suites;
    *groups = fz_kex_sets[i & 7].groups;
}

static void check_ctx(tlsrig_ctx *ctx, int rc, const char *what)
{
    if (rc < 0)
        fz_fatal("%s: %s (is the PKI at %s?)", what, tlsrig_ctx_last_error(ctx)->message,
                 fz_pki_dir());
}

static fz_conn *fz_of(tlsrig_conn *conn)
{
    return tlsrig_conn_get_app_data(conn);
}

/* ---- callbacks: each reads its policy from the connection's prefix ---- */

static void count_handshakes(tlsrig_conn *conn, int where, int ret, void *arg)
{
    (void)ret, (void)arg;
    fz_conn *fc = fz_of(conn);
    if (fc != NULL && (where & TLSRIG_CB_HANDSHAKE_START))
        fc->handshakes++;
}

static int verify_cb(tlsrig_conn *conn, X509 *cert, int errnum, int depth, int preverify_ok,
                     void *arg)
{
    (void)cert, (void)errnum, (void)depth, (void)arg;
    fz_conn *fc = fz_of(conn);
    if (fc != NULL && (fz_prefix_get(&fc->prefix, FZ_TAG_VERIFY, 0) & 8))
        return preverify_ok;
    return 1;
}

static int alpn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                       void *arg)
{
    static const char *const pref[] = {"h2", "http/1.1"};
    (void)arg;
    fz_conn *fc = fz_of(conn);
    switch (fc != NULL ? fz_prefix_get(&fc->prefix, FZ_TAG_ALPN, 0) & 3 : 0) {
    case 1:
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < n; j++)
                if (offered[j].len == strlen(pref[i]) &&
                    memcmp(offered[j].data, pref[i], offered[j].len) == 0) {
                    *chosen = j;
                    return 0;
                }
        return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
    case 3:
        return -1;
    default:
        return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
    }
}

static int servername(tlsrig_conn *conn, void *arg)
{
    (void)arg;
    fz_conn *fc = fz_of(conn);
    switch (fc != NULL ? fz_prefix_get(&fc->prefix, FZ_TAG_SNI, 0) & 3 : 0) {
    case 2:
        if (tlsrig_conn_get_servername(conn) != NULL && fc->alt_ctx != NULL)
            return tlsrig_conn_set_context(conn, fc->alt_ctx) < 0 ? -1 : 0;
        return 0;
    case 3:
        return -1;
    default:
        return 0;
    }
}

static int ocsp_staple(tlsrig_conn *conn, const uint8_t **resp, size_t *len, void *arg)
{
    (void)arg;
    fz_conn *fc = fz_of(conn);
    switch (fc != NULL ? fz_prefix_get(&fc->prefix, FZ_TAG_OCSP, 0) & 3 : 0) {
    case 1:
        *resp = W.ocsp;
        *len = W.ocsp_len;
        return 0;
    case 3:
        return -1;
    default:
        *len = 0;
        return 0;
    }
}

static int ocsp_check(tlsrig_conn *conn, const uint8_t *resp, size_t len, void *arg)
{
    (void)resp, (void)len, (void)arg;
    fz_conn *fc = fz_of(conn);
    switch (fc != NULL ? fz_prefix_get(&fc->prefix, FZ_TAG_OCSP, 0) & 3 : 0) {
    case 2:
        return 0;
    case 3:
        return -1;
    default:
        return 1;
    }
}

/* ---- contexts ---- */

static void profile_apply(tlsrig_ctx *ctx, int profile)
{
    /* Explicit, so that the system OpenSSL (whose configuration may raise the defaults) and
     * an instrumented build without one agree, and recorded seeds replay on both. */
    check_ctx(ctx, tlsrig_ctx_set_min_proto_version(ctx, 0), "min version");
    check_ctx(ctx, tlsrig_ctx_set_max_proto_version(ctx, 0), "max version");
    check_ctx(ctx,
              tlsrig_ctx_set_cipher_list(ctx, profile == FZ_PROFILE_LEGACY
                                                  ? "ALL:COMPLEMENTOFALL:@SECLEVEL=0"
                                                  : "DEFAULT:@SECLEVEL=1"),
              "cipher list");
}

static tlsrig_ctx *new_ctx(int side)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error e;
    if (tlsrig_ctx_new_ex(TLSRIG_TLS_METHOD, W.det[side], &ctx, &e) < 0)
        fz_fatal("context: %s", e.message);
    return ctx;
}

static tlsrig_ctx *server_ctx(int side, int profile, int key)
{
    char crt[64], keyf[64];
    tlsrig_ctx *ctx = new_ctx(side);
    X509 *root = NULL;
    tlsrig_error e;

    snprintf(crt, sizeof(crt), "server-%s.chain.pem", key_names[key]);
    snprintf(keyf, sizeof(keyf), "server-%s.key", key_names[key]);
    check_ctx(ctx, tlsrig_ctx_use_certificate_chain_file(ctx, fz_pki_path(crt)), crt);
    check_ctx(ctx, tlsrig_ctx_use_privatekey_file(ctx, fz_pki_path(keyf), TLSRIG_FILETYPE_PEM),
              keyf);
    check_ctx(ctx, tlsrig_ctx_load_verify_locations(ctx, fz_pki_path("root-ca.crt"), NULL),
              "root-ca.crt");
    if (tlsrig_x509_load_file(fz_pki_path("root-ca.crt"), TLSRIG_FILETYPE_PEM, &root, &e) < 0)
        fz_fatal("root-ca.crt: %s", e.message);
    check_ctx(ctx, tlsrig_ctx_add_client_ca(ctx, root), "client CA");
    X509_free(root);
    check_ctx(ctx, tlsrig_ctx_load_tmp_dh(ctx, fz_pki_path("dh2048.pem")), "dh2048.pem");
    /* Client authentication and resumption together need a session id context. */
    check_ctx(ctx,
              tlsrig_ctx_set_session_id(ctx, (const uint8_t *)FZ_SESSION_ID_CONTEXT,
                                        strlen(FZ_SESSION_ID_CONTEXT)),
              "session id context");
    check_ctx(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_NONE, verify_cb, NULL), "verify");
    tlsrig_ctx_set_alpn_select_callback(ctx, alpn_select, NULL);
    tlsrig_ctx_set_tlsext_servername_callback(ctx, servername, NULL);
    tlsrig_ctx_set_ocsp_server_callback(ctx, ocsp_staple, NULL);
    /* each handshake a target server starts may sign once: refresh_rsa() counts them */
    if (side == FZ_SIDE_TARGET)
        tlsrig_ctx_set_info_callback(ctx, count_handshakes, NULL);
    profile_apply(ctx, profile);
    return ctx;
}

static tlsrig_ctx *client_ctx(int side, int profile)
{
    tlsrig_ctx *ctx = new_ctx(side);
    check_ctx(ctx, tlsrig_ctx_load_verify_locations(ctx, fz_pki_path("root-ca.crt"), NULL),
              "root-ca.crt");
    check_ctx(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, verify_cb, NULL), "verify");
    check_ctx(ctx, tlsrig_ctx_set_post_handshake_auth(ctx, 1), "post-handshake auth");
    tlsrig_ctx_set_ocsp_client_callback(ctx, ocsp_check, NULL);
    profile_apply(ctx, profile);
    return ctx;
}

static void load_client_cert(int i, const char *name)
{
    char path[64];
    tlsrig_error e;
    snprintf(path, sizeof(path), "client-%s.crt", name);
    if (tlsrig_x509_load_file(fz_pki_path(path), TLSRIG_FILETYPE_PEM, &W.client_cert[i], &e) < 0)
        fz_fatal("%s: %s", path, e.message);
    snprintf(path, sizeof(path), "client-%s.key", name);
    if (tlsrig_pkey_load_file(fz_pki_path(path), TLSRIG_FILETYPE_PEM, NULL, &W.client_key[i], &e) <
        0)
        fz_fatal("%s: %s", path, e.message);
    /* the chain file holds the leaf, then the intermediate */
    snprintf(path, sizeof(path), "client-%s.chain.pem", name);
    W.client_chain[i] = sk_X509_new_null();
    FILE *f = fopen(fz_pki_path(path), "r");
    if (f == NULL || W.client_chain[i] == NULL)
        fz_fatal("%s: cannot read", path);
    X509 *x;
    int n = 0;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (n++ == 0 || !sk_X509_push(W.client_chain[i], x))
            X509_free(x);
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    fclose(f);
}

static void load_ocsp(void)
{
    FILE *f = fopen(fz_pki_path("ocsp-response.der"), "rb");
    if (f == NULL)
        fz_fatal("cannot read %s", fz_pki_path("ocsp-response.der"));
    W.ocsp_len = fread(W.ocsp, 1, sizeof(W.ocsp), f);
    fclose(f);
}

/* RSA private keys keep blinding values, drawn from the key's library context (the target
 * source) at the first private-key operation and drawn again every 32nd (BN_BLINDING_COUNTER).
 * Left alone, the draw would fall inside whichever input made that operation and shift every
 * later draw of that input (the key share of a renegotiation, say), so an input would not
 * replay the same way later. So the key is renewed while no input runs: a fresh copy, whose
 * blinding a throwaway signature makes at once, before fz_reset reseeds the source. An input
 * then meets a draw only past RSA_FRESH_OPS handshakes of its own. A copy serves inputs until
 * they may have made that many private-key operations (each handshake started on an RSA
 * context counts as one), since renewing costs a server flight and a modular inverse. */
#define RSA_FRESH_OPS 16

void fz_init(void)
{
    if (W.ready)
        return;
    W.ready = 1;
    /* Every time() OpenSSL reads is the virtual clock from here on. */
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    if (tlsrig_det_new(FZ_SEED_TARGET, &W.det[FZ_SIDE_TARGET]) < 0 ||
        tlsrig_det_new(FZ_SEED_PEER, &W.det[FZ_SIDE_PEER]) < 0)
        fz_fatal("cannot create the deterministic sources");
    load_ocsp();
    load_client_cert(0, "p256");
    load_client_cert(1, "rsa");
    for (int side = 0; side < 2; side++)
        for (int prof = 0; prof < FZ_N_PROFILES; prof++) {
            for (int k = 0; k < FZ_N_KEYS; k++)
                W.server[side][prof][k] = server_ctx(side, prof, k);
            W.client[side][prof] = client_ctx(side, prof);
        }
    {
        tlsrig_error e;
        if (tlsrig_pkey_load_file(fz_pki_path("server-rsa.key"), TLSRIG_FILETYPE_PEM, NULL,
                                  &W.rsa_key, &e) < 0)
            fz_fatal("server-rsa.key: %s", e.message);
    }
    /* so that the first input meets a key whose blinding is made already */
    W.rsa_ops = RSA_FRESH_OPS;
}

static void keep_hello(void *arg, const uint8_t *data, size_t len)
{
    (void)arg;
    if (wire_buf_append(&W.rsa_hello, data, len) < 0)
        fz_fatal("out of memory");
}

/* The ClientHello refresh_rsa() answers: a peer client's first flight, made once, at the
 * first renewal (see fz_reset in harness.h for why not before). */
static void make_rsa_hello(void)
{
    fz_prefix p;
    fz_conn c;
    wire_feed keep;
    wire_pump pump;
    memset(&p, 0, sizeof(p));
    if (fz_conn_client(&c, FZ_SIDE_PEER, &p, NULL) < 0)
        fz_fatal("cannot create a connection");
    wire_feed_init(&keep, NULL, keep_hello, NULL, "ClientHello keeper");
    wire_pump_init(&pump, &c.ep.ep, &keep.ep, NULL);
    if (tlsrig_conn_do_handshake(c.conn) != TLSRIG_ERR_WANT_READ ||
        wire_pump_move(&pump, WIRE_CLIENT) <= 0)
        fz_fatal("the client wrote no ClientHello");
    wire_pump_cleanup(&pump);
    fz_conn_cleanup(&c);
}

static void refresh_rsa(void)
{
    fz_prefix p;
    fz_conn sv;
    wire_feed hello;
    wire_pump pump;
    if (W.rsa_ops < RSA_FRESH_OPS)
        return;
    if (W.rsa_hello.len == 0)
        make_rsa_hello();
    EVP_PKEY *k = EVP_PKEY_dup(W.rsa_key);
    if (k == NULL)
        fz_fatal("cannot copy the RSA key");
    for (int prof = 0; prof < FZ_N_PROFILES; prof++) {
        SSL_CTX *sctx = tlsrig_ctx_get0_ssl_ctx(W.server[FZ_SIDE_TARGET][prof][FZ_KEY_RSA]);
        if (!SSL_CTX_use_PrivateKey(sctx, k))
            fz_fatal("cannot refresh the RSA key");
    }
    EVP_PKEY_free(k);
    /* The engine has no call that signs, and the key must be used in the target source's
     * library context: a server answering a TLS 1.3 ClientHello signs its first flight. */
    memset(&p, 0, sizeof(p));
    fz_prefix_set(&p, FZ_TAG_KEY, FZ_KEY_RSA);
    if (fz_conn_server(&sv, FZ_SIDE_TARGET, &p) < 0)
        fz_fatal("cannot renew the RSA key");
    wire_feed_init(&hello, NULL, NULL, NULL, "recorded ClientHello");
    wire_pump_init(&pump, &hello.ep, &sv.ep.ep, NULL);
    wire_feed_give(&hello, W.rsa_hello.data, W.rsa_hello.len);
    if (wire_pump_move(&pump, WIRE_CLIENT) != (long)W.rsa_hello.len)
        fz_fatal("cannot renew the RSA key");
    int rc = tlsrig_conn_do_handshake(sv.conn);
    if (rc != TLSRIG_ERR_WANT_READ || tlsrig_conn_bio_pending(sv.conn) == 0)
        fz_fatal("the server that renews the RSA key did not answer: %s",
                 tlsrig_conn_last_error(sv.conn)->message);
    wire_pump_cleanup(&pump);
    fz_conn_cleanup(&sv);
    W.rsa_ops = 0;
}

void fz_reset(void)
{
    fz_init();
    refresh_rsa();
    if (tlsrig_det_reseed(W.det[FZ_SIDE_TARGET], FZ_SEED_TARGET) < 0)
        fz_fatal("cannot reseed");
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    fz_settle();
    fz_digest = 0;
}

void fz_reset_peer(const fz_prefix *p, int is_server)
{
    fz_init();
    if (tlsrig_det_reseed(W.det[FZ_SIDE_PEER], FZ_SEED_PEER) < 0)
        fz_fatal("cannot reseed");
    /* A session id the peer server drew in an earlier run would be in its cache on the next
     * one, and OpenSSL draws again when a new id collides with a cached one. */
    for (int prof = 0; prof < FZ_N_PROFILES; prof++)
        for (int k = 0; k < FZ_N_KEYS; k++)
            SSL_CTX_flush_sessions(tlsrig_ctx_get0_ssl_ctx(W.server[FZ_SIDE_PEER][prof][k]), 0);
    int key = fz_prefix_get(p, FZ_TAG_KEY, 0) & 3;
    int sni_switch = (fz_prefix_get(p, FZ_TAG_SNI, 0) & 3) == 2;
    if (!is_server || !(key == FZ_KEY_RSA || ((key + 1) % FZ_N_KEYS == FZ_KEY_RSA && sni_switch)))
        return;
    /* A fresh RSA key draws its blinding inside this run, from the reseeded source (see
     * refresh_rsa() for why a key that signed before would not). */
    EVP_PKEY *k = EVP_PKEY_dup(W.rsa_key);
    int prof = fz_prefix_get(p, FZ_TAG_PROFILE, 0) & 1;
    SSL_CTX *sctx = tlsrig_ctx_get0_ssl_ctx(W.server[FZ_SIDE_PEER][prof][FZ_KEY_RSA]);
    if (k == NULL || !SSL_CTX_use_PrivateKey(sctx, k))
        fz_fatal("cannot renew the peer's RSA key");
    EVP_PKEY_free(k);
}

void fz_set_keylog_callback(tlsrig_keylog_cb cb, void *arg)
{
    fz_init();
    for (int side = 0; side < 2; side++)
        for (int prof = 0; prof < FZ_N_PROFILES; prof++) {
            for (int k = 0; k < FZ_N_KEYS; k++)
                tlsrig_ctx_set_keylog_callback(W.server[side][prof][k], cb, arg);
            tlsrig_ctx_set_keylog_callback(W.client[side][prof], cb, arg);
        }
}

void fz_settle(void)
{
    if (!W.ready)
        return;
    ERR_clear_error();
    /* 0 flushes every session whatever its age: a server must not resume what an earlier
     * input left in its cache. The peer's caches stay: the seed recorder resumes from them. */
    for (int prof = 0; prof < FZ_N_PROFILES; prof++) {
        for (int k = 0; k < FZ_N_KEYS; k++)
            SSL_CTX_flush_sessions(tlsrig_ctx_get0_ssl_ctx(W.server[FZ_SIDE_TARGET][prof][k]), 0);
        SSL_CTX_flush_sessions(tlsrig_ctx_get0_ssl_ctx(W.client[FZ_SIDE_TARGET][prof]), 0);
    }
}

/* ---- connections ---- */

static const int version_codes[16] = {0, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION,
                                      TLS1_3_VERSION};

static void apply_common(fz_conn *fc, SSL *ssl, int legacy)
{
    const fz_prefix *p = &fc->prefix;
    uint8_t v = fz_prefix_get(p, FZ_TAG_VERSION, 0);
    uint8_t kex = fz_prefix_get(p, FZ_TAG_KEX, 0) & 7;
    uint8_t opt = fz_prefix_get(p, FZ_TAG_OPTIONS, 0);
    uint8_t rec = fz_prefix_get(p, FZ_TAG_RECORD, 0);
    uint8_t misc = fz_prefix_get(p, FZ_TAG_MISC, 0);
    uint64_t ops = 0;

    /* Settings the engine has only per context are made on the SSL here, so a handful of
     * contexts serve every combination. A setting OpenSSL refuses is simply not applied. */
    SSL_set_min_proto_version(ssl, version_codes[v & 15]);
    SSL_set_max_proto_version(ssl, version_codes[v >> 4]);
    if (fz_kex_sets[kex].ciphers != NULL) {
        char list[512];
        snprintf(list, sizeof(list), "%s%s", fz_kex_sets[kex].ciphers,
                 legacy ? ":@SECLEVEL=0" : "");
        SSL_set_cipher_list(ssl, list);
    }
    if (fz_kex_sets[kex].suites != NULL)
        SSL_set_ciphersuites(ssl, fz_kex_sets[kex].suites);
    if (fz_kex_sets[kex].groups != NULL)
        SSL_set1_groups_list(ssl, fz_kex_sets[kex].groups);

    if (opt & 0x01)
        ops |= SSL_OP_NO_TICKET;
    if (opt & 0x02)
        ops |= SSL_OP_ALLOW_CLIENT_RENEGOTIATION | SSL_OP_LEGACY_SERVER_CONNECT;
    if (opt & 0x04)
        ops |= SSL_OP_NO_RENEGOTIATION;
    if (opt & 0x08)
        ops |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (opt & 0x10)
        ops |= SSL_OP_PRIORITIZE_CHACHA;
    if (opt & 0x20)
        ops |= SSL_OP_NO_ANTI_REPLAY;
    if (opt & 0x40)
        ops |= SSL_OP_NO_EXTENDED_MASTER_SECRET;
    if (opt & 0x80)
        ops |= SSL_OP_NO_ENCRYPT_THEN_MAC;
    if (rec & 0x10)
        ops |= SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (misc & 0x01)
        ops |= SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION;
    if (misc & 0x10)
        ops |= SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION;
    SSL_set_options(ssl, ops);
    if (rec & 0x80)
        SSL_clear_options(ssl, SSL_OP_ENABLE_MIDDLEBOX_COMPAT);

    if (rec & 0x01)
        SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    if (rec & 0x02)
        SSL_set_read_ahead(ssl, 1);
    if (rec & 0x04)
        SSL_set_max_send_fragment(ssl, 512);
    if (rec & 0x08)
        SSL_set_block_padding(ssl, 256);
    if (rec & 0x40)
        SSL_clear_mode(ssl, SSL_MODE_AUTO_RETRY);
    if (misc & 0x08)
        SSL_set_verify_depth(ssl, 0);
}

static int conn_new(fz_conn *fc, tlsrig_ctx *ctx, int side, int is_server, const fz_prefix *p)
{
    memset(fc, 0, sizeof(*fc));
    fc->prefix = *p;
    fc->side = side;
    fc->is_server = is_server;
    if (tlsrig_conn_new(ctx, -1, &fc->conn) < 0)
        return -1;
    tlsrig_conn_set_app_data(fc->conn, fc);
    if (is_server)
        tlsrig_conn_set_accept_state(fc->conn);
    else
        tlsrig_conn_set_connect_state(fc->conn);
    wire_engine_init(&fc->ep, fc->conn, is_server ? "server" : "client");
    return 0;
}

int fz_conn_server(fz_conn *fc, int side, const fz_prefix *p)
{
    static const int verify_modes[4] = {SSL_VERIFY_NONE, SSL_VERIFY_PEER,
                                        SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                                        SSL_VERIFY_PEER | SSL_VERIFY_POST_HANDSHAKE};
    static const size_t tickets[4] = {2, 0, 1, 4};
    static const uint32_t early[4] = {0, 16384, 16, 1024};
    fz_init();
    int prof = fz_prefix_get(p, FZ_TAG_PROFILE, 0) & 1;
    int key = fz_prefix_get(p, FZ_TAG_KEY, 0) & 3;
    if (conn_new(fc, W.server[side][prof][key], side, 1, p) < 0)
        return -1;
    int alt = (key + 1) % FZ_N_KEYS;
    fc->alt_ctx = W.server[side][prof][alt];
    fc->rsa =
        key == FZ_KEY_RSA || (alt == FZ_KEY_RSA && (fz_prefix_get(p, FZ_TAG_SNI, 0) & 3) == 2);

    SSL *ssl = tlsrig_conn_get0_ssl(fc->conn);
    apply_common(fc, ssl, prof == FZ_PROFILE_LEGACY);
    uint8_t ver = fz_prefix_get(p, FZ_TAG_VERIFY, 0);
    int mode = verify_modes[ver & 3];
    if ((ver & 4) && mode != SSL_VERIFY_NONE)
        mode |= SSL_VERIFY_CLIENT_ONCE;
    /* NULL keeps the engine's verify trampoline that SSL_new copied from the context */
    SSL_set_verify(ssl, mode, NULL);
    SSL_set_num_tickets(ssl, tickets[fz_prefix_get(p, FZ_TAG_TICKETS, 0) & 3]);
    uint32_t ed = early[fz_prefix_get(p, FZ_TAG_EARLY, 0) & 3];
    SSL_set_max_early_data(ssl, ed);
    /* as tlsrig_ctx_set_max_early_data: a server skips unwanted 0-RTT data within this */
    SSL_set_recv_max_early_data(ssl, ed > 0 ? ed : SSL3_RT_MAX_PLAIN_LENGTH);
    uint8_t misc = fz_prefix_get(p, FZ_TAG_MISC, 0);
    if (misc & 0x40)
        SSL_set_options(ssl, SSL_OP_SAFARI_ECDHE_ECDSA_BUG);
    if (misc & 0x80)
        SSL_set_session_id_context(ssl, (const unsigned char *)"other", 5);
    return 0;
}

int fz_conn_client(fz_conn *fc, int side, const fz_prefix *p, SSL_SESSION *offer)
{
    static const tlsrig_bytes alpn_sets[3][2] = {
        {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"http/1.1", 8}},
        {{(const uint8_t *)"http/1.1", 8}, {NULL, 0}},
        {{NULL, 255}, {(const uint8_t *)"h2", 2}},
    };
    static uint8_t long_name[255];
    fz_init();
    int prof = fz_prefix_get(p, FZ_TAG_PROFILE, 0) & 1;
    if (conn_new(fc, W.client[side][prof], side, 0, p) < 0)
        return -1;
    SSL *ssl = tlsrig_conn_get0_ssl(fc->conn);
    apply_common(fc, ssl, prof == FZ_PROFILE_LEGACY);

    uint8_t ver = fz_prefix_get(p, FZ_TAG_VERIFY, 0);
    SSL_set_verify(ssl, (ver & 3) == 1 ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (ver & 4)
        SSL_set_post_handshake_auth(ssl, 0);

    int cert = fz_prefix_get(p, FZ_TAG_KEY, 0) % 3;
    if (cert != 1) {
        int i = cert == 0 ? 0 : 1;
        /* A copy of an RSA key each time, for the reason refresh_rsa() gives. */
        EVP_PKEY *k = i == 1 ? EVP_PKEY_dup(W.client_key[i]) : W.client_key[i];
        if (k == NULL || !SSL_use_cert_and_key(ssl, W.client_cert[i], k, W.client_chain[i], 1))
            fz_fatal("cannot set the client certificate");
        if (i == 1)
            EVP_PKEY_free(k);
    }

    uint8_t alpn = fz_prefix_get(p, FZ_TAG_ALPN, 0) & 3;
    if (alpn != 0) {
        tlsrig_bytes set[2];
        memcpy(set, alpn_sets[alpn - 1], sizeof(set));
        if (set[0].data == NULL) {
            memset(long_name, 'x', sizeof(long_name));
            set[0].data = long_name;
        }
        if (tlsrig_conn_set_alpn_protos(fc->conn, set, set[1].data != NULL ? 2 : 1) < 0)
            fz_fatal("set_alpn_protos: %s", tlsrig_conn_last_error(fc->conn)->message);
    }
    uint8_t sni = fz_prefix_get(p, FZ_TAG_SNI, 0) & 3;
    if (sni != 0 && tlsrig_conn_set_tlsext_host_name(fc->conn, sni == 2 ? "other.example"
                                                                        : "server.tlsrig.test") < 0)
        fz_fatal("set_tlsext_host_name: %s", tlsrig_conn_last_error(fc->conn)->message);
    /* the engine checks names only on check_hostname contexts: ask OpenSSL directly */
    if (sni == 3)
        SSL_set1_host(ssl, "server.tlsrig.test");
    if ((fz_prefix_get(p, FZ_TAG_OCSP, 0) & 3) && tlsrig_conn_request_ocsp(fc->conn) < 0)
        fz_fatal("request_ocsp: %s", tlsrig_conn_last_error(fc->conn)->message);
    if (fz_prefix_get(p, FZ_TAG_RECORD, 0) & 0x20)
        SSL_set_tlsext_max_fragment_length(ssl, TLSEXT_max_fragment_length_512);
    uint8_t misc = fz_prefix_get(p, FZ_TAG_MISC, 0);
    if (misc & 0x02)
        SSL_set_mode(ssl, SSL_MODE_SEND_FALLBACK_SCSV);
    if (misc & 0x04)
        SSL_set_options(ssl, SSL_OP_TLSEXT_PADDING);

    if (offer != NULL) {
        /* A copy: OpenSSL marks the offered session unresumable when a run fails, and the
         * next input must offer it unchanged. */
        SSL_SESSION *copy = SSL_SESSION_dup(offer);
        if (copy == NULL)
            fz_fatal("cannot copy a session");
        SSL_set_session(ssl, copy);
        SSL_SESSION_free(copy);
    }
    return 0;
}

void fz_conn_cleanup(fz_conn *fc)
{
    if (fc->side == FZ_SIDE_TARGET && fc->rsa)
        W.rsa_ops += fc->handshakes;
    wire_engine_cleanup(&fc->ep);
    tlsrig_conn_free(fc->conn);
    memset(fc, 0, sizeof(*fc));
}
