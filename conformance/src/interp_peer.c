/*
 * interp_peer.c - turning a scenario's peer declarations into engine contexts, and the
 * callbacks whose policies the settings choose (ALPN/NPN selection, SNI, OCSP, verify).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

const char *const rig_setting_names[] = {"method",
                                         "min-version",
                                         "max-version",
                                         "cert",
                                         "key",
                                         "verify",
                                         "verify-depth",
                                         "verify-callback",
                                         "ca",
                                         "client-ca",
                                         "hostname",
                                         "ciphers",
                                         "ciphersuites",
                                         "groups",
                                         "dh",
                                         "alpn",
                                         "alpn-select",
                                         "npn-advertise",
                                         "npn-select",
                                         "sni",
                                         "sni-callback",
                                         "ocsp",
                                         "ocsp-staple",
                                         "session-cache",
                                         "session-id-context",
                                         "timeout",
                                         "tickets",
                                         "options",
                                         "mode",
                                         "post-handshake-auth",
                                         "early-data",
                                         "share",
                                         NULL};

int scn_has_setting(const scn_peer *d, const char *key);

/* ---- small parsers ---- */

static int parse_version(const char *w)
{
    if (strcmp(w, "1.0") == 0)
        return TLSRIG_VERSION_TLS1;
    if (strcmp(w, "1.1") == 0)
        return TLSRIG_VERSION_TLS1_1;
    if (strcmp(w, "1.2") == 0)
        return TLSRIG_VERSION_TLS1_2;
    if (strcmp(w, "1.3") == 0)
        return TLSRIG_VERSION_TLS1_3;
    if (strcmp(w, "any") == 0)
        return 0;
    return -1;
}

static int parse_method(const char *w)
{
    static const struct {
        const char *name;
        int method;
    } m[] = {
        {"TLS", TLSRIG_TLS_METHOD},
        {"SSLv23", TLSRIG_SSLV23_METHOD},
        {"TLSv1", TLSRIG_TLSV1_METHOD},
        {"TLSv1_1", TLSRIG_TLSV1_1_METHOD},
        {"TLSv1_2", TLSRIG_TLSV1_2_METHOD},
        {"SSLv2", TLSRIG_SSLV2_METHOD},
        {"SSLv3", TLSRIG_SSLV3_METHOD},
        {"TLS_CLIENT", TLSRIG_TLS_CLIENT_METHOD},
        {"TLS_SERVER", TLSRIG_TLS_SERVER_METHOD},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (strcmp(w, m[i].name) == 0)
            return m[i].method;
    return -1;
}

static const struct {
    const char *name;
    uint64_t bit;
} option_names[] = {
    {"NO_TICKET", TLSRIG_OP_NO_TICKET},
    {"NO_RENEGOTIATION", TLSRIG_OP_NO_RENEGOTIATION},
    {"IGNORE_UNEXPECTED_EOF", TLSRIG_OP_IGNORE_UNEXPECTED_EOF},
    {"ALLOW_UNSAFE_LEGACY_RENEGOTIATION", TLSRIG_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION},
    /* OpenSSL 3.0 servers refuse client-initiated renegotiation unless this is set. */
    {"ALLOW_CLIENT_RENEGOTIATION", TLSRIG_OP_ALLOW_CLIENT_RENEGOTIATION},
    {"LEGACY_SERVER_CONNECT", TLSRIG_OP_LEGACY_SERVER_CONNECT},
    {"NO_COMPRESSION", TLSRIG_OP_NO_COMPRESSION},
    {"CIPHER_SERVER_PREFERENCE", TLSRIG_OP_CIPHER_SERVER_PREFERENCE},
    {"ENABLE_MIDDLEBOX_COMPAT", TLSRIG_OP_ENABLE_MIDDLEBOX_COMPAT},
    {"NO_EXTENDED_MASTER_SECRET", TLSRIG_OP_NO_EXTENDED_MASTER_SECRET},
    {"NO_ENCRYPT_THEN_MAC", TLSRIG_OP_NO_ENCRYPT_THEN_MAC},
    {"NO_ANTI_REPLAY", TLSRIG_OP_NO_ANTI_REPLAY},
    {"NO_SESSION_RESUMPTION_ON_RENEGOTIATION", TLSRIG_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION},
    {"PRIORITIZE_CHACHA", TLSRIG_OP_PRIORITIZE_CHACHA},
    {"NO_TLSv1", TLSRIG_OP_NO_TLSv1},
    {"NO_TLSv1_1", TLSRIG_OP_NO_TLSv1_1},
    {"NO_TLSv1_2", TLSRIG_OP_NO_TLSv1_2},
    {"NO_TLSv1_3", TLSRIG_OP_NO_TLSv1_3},
    {"ALL", TLSRIG_OP_ALL},
};

static const struct {
    const char *name;
    long bit;
} mode_names[] = {
    {"ENABLE_PARTIAL_WRITE", TLSRIG_MODE_ENABLE_PARTIAL_WRITE},
    {"ACCEPT_MOVING_WRITE_BUFFER", TLSRIG_MODE_ACCEPT_MOVING_WRITE_BUFFER},
    {"AUTO_RETRY", TLSRIG_MODE_AUTO_RETRY},
    {"RELEASE_BUFFERS", TLSRIG_MODE_RELEASE_BUFFERS},
    {"SEND_FALLBACK_SCSV", TLSRIG_MODE_SEND_FALLBACK_SCSV},
};

static const struct {
    const char *name;
    long bit;
} cache_names[] = {
    {"off", TLSRIG_SESS_CACHE_OFF},
    {"client", TLSRIG_SESS_CACHE_CLIENT},
    {"server", TLSRIG_SESS_CACHE_SERVER},
    {"both", TLSRIG_SESS_CACHE_BOTH},
    {"no-internal-lookup", TLSRIG_SESS_CACHE_NO_INTERNAL_LOOKUP},
    {"no-internal-store", TLSRIG_SESS_CACHE_NO_INTERNAL_STORE},
    {"no-internal", TLSRIG_SESS_CACHE_NO_INTERNAL},
    {"no-auto-clear", TLSRIG_SESS_CACHE_NO_AUTO_CLEAR},
};

/* Split a comma list into |out| (words copied into out->storage). */
static int parse_protos(const char *w, rig_protos *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(w);
    if (len == 0 || len >= sizeof(out->storage))
        return -1;
    memcpy(out->storage, w, len + 1);
    char *save = NULL;
    for (char *tok = strtok_r(out->storage, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        size_t tl = strlen(tok);
        if (tl == 0 || tl > 255 || out->n >= RIG_MAX_PROTOS)
            return -1;
        out->list[out->n].data = (const uint8_t *)tok;
        out->list[out->n].len = tl;
        out->n++;
    }
    return out->n > 0 ? 0 : -1;
}

/* Certificate kinds the test PKI provides: the certificate file to load (leaf plus chain
 * where there is one) and its key. */
static int cert_files(const char *kind, char *crt, size_t crtlen, char *key, size_t keylen)
{
    static const char *const chained[] = {"rsa",     "p256",       "p384",      "ed25519",
                                          "expired", "shortlived", "wronghost", NULL};
    static const char *const client_chained[] = {"client-rsa", "client-p256", NULL};
    for (size_t i = 0; chained[i] != NULL; i++)
        if (strcmp(kind, chained[i]) == 0) {
            snprintf(crt, crtlen, "server-%s.chain.pem", kind);
            snprintf(key, keylen, "server-%s.key", kind);
            return 0;
        }
    for (size_t i = 0; client_chained[i] != NULL; i++)
        if (strcmp(kind, client_chained[i]) == 0) {
            snprintf(crt, crtlen, "%s.chain.pem", kind);
            snprintf(key, keylen, "%s.key", kind);
            return 0;
        }
    if (strcmp(kind, "untrusted") == 0) {
        snprintf(crt, crtlen, "server-untrusted.crt");
        snprintf(key, keylen, "server-untrusted.key");
        return 0;
    }
    if (strcmp(kind, "client-untrusted") == 0) {
        snprintf(crt, crtlen, "client-untrusted.crt");
        snprintf(key, keylen, "client-untrusted.key");
        return 0;
    }
    return -1;
}

static const char *pki(rig_state *st, const char *file, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s",
             st->opt != NULL && st->opt->pki_dir != NULL ? st->opt->pki_dir : "pki", file);
    return buf;
}

/* ---- callbacks ---- */

static rig_peer *peer_of(tlsrig_conn *conn)
{
    rig_side *side = tlsrig_conn_get_app_data(conn);
    return side != NULL ? side->peer : NULL;
}

static int alpn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                       void *arg)
{
    rig_peer *p = arg;
    (void)conn;
    if (p->alpn_policy == 3)
        return -1;
    if (p->alpn_policy == 2)
        return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
    /* RFC 7301 §3.2: the server picks by its own preference among the client's offers. */
    for (size_t i = 0; i < p->alpn_pref.n; i++)
        for (size_t j = 0; j < n; j++)
            if (offered[j].len == p->alpn_pref.list[i].len &&
                memcmp(offered[j].data, p->alpn_pref.list[i].data, offered[j].len) == 0) {
                *chosen = j;
                return 0;
            }
    return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
}

static int npn_advertise(tlsrig_conn *conn, const tlsrig_bytes **protos, size_t *n, void *arg)
{
    rig_peer *p = arg;
    (void)conn;
    *protos = p->npn_adv.list;
    *n = p->npn_adv.n;
    return 0;
}

static int npn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                      void *arg)
{
    rig_peer *p = arg;
    (void)conn;
    if (p->npn_policy == 2)
        return -1;
    for (size_t i = 0; i < p->npn_pref.n; i++)
        for (size_t j = 0; j < n; j++)
            if (offered[j].len == p->npn_pref.list[i].len &&
                memcmp(offered[j].data, p->npn_pref.list[i].data, offered[j].len) == 0) {
                *chosen = j;
                return 0;
            }
    return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
}

static int servername(tlsrig_conn *conn, void *arg)
{
    rig_peer *p = arg;
    if (p->sni_policy == 3)
        return -1;
    const char *name = tlsrig_conn_get_servername(conn);
    if (p->sni_policy == 2 && name != NULL && strcmp(name, p->alt_name) == 0 && p->alt_ctx != NULL)
        return tlsrig_conn_set_context(conn, p->alt_ctx) < 0 ? -1 : 0;
    return 0;
}

static uint8_t ocsp_der[8192];
static size_t ocsp_der_len;

static int ocsp_staple(tlsrig_conn *conn, const uint8_t **resp, size_t *len, void *arg)
{
    rig_peer *p = arg;
    (void)conn;
    if (p->ocsp_staple == 2)
        return -1;
    if (p->ocsp_staple == 1) {
        *resp = ocsp_der;
        *len = ocsp_der_len;
    }
    return 0;
}

static int ocsp_client(tlsrig_conn *conn, const uint8_t *resp, size_t len, void *arg)
{
    rig_peer *p = arg;
    (void)conn;
    switch (p->ocsp_check) {
    case 2:
        return 0;
    case 3:
        return -1;
    case 1:
    default:
        /* accept: a staple, if any, must be the response the test server sends */
        return len == 0 || (len == ocsp_der_len && memcmp(resp, ocsp_der, len) == 0);
    }
}

static int verify_cb(tlsrig_conn *conn, X509 *cert, int errnum, int depth, int preverify_ok,
                     void *arg)
{
    rig_peer *p = arg;
    (void)conn, (void)cert, (void)errnum, (void)depth;
    switch (p->verify_policy) {
    case 1:
        return 1;
    case 2:
        return 0;
    case 3:
        return -1;
    default:
        return preverify_ok;
    }
}

static void observe(tlsrig_conn *conn, const tlsrig_observe_event *ev, void *arg)
{
    (void)arg;
    rig_side *side = tlsrig_conn_get_app_data(conn);
    if (side == NULL)
        return;
    if (ev->kind == TLSRIG_OBSERVE_ALERT && side->n_alerts < RIG_MAX_ALERTS) {
        side->alerts[side->n_alerts].sent = ev->sent;
        side->alerts[side->n_alerts].level = ev->alert_level;
        side->alerts[side->n_alerts].desc = ev->alert_desc;
        side->n_alerts++;
    } else if (ev->kind == TLSRIG_OBSERVE_HANDSHAKE && !ev->sent) {
        if (ev->handshake_type == 4) /* NewSessionTicket */
            side->tickets++;
        else if (ev->handshake_type == 24) /* KeyUpdate */
            side->keyupdates++;
    }
}

static void keylog(tlsrig_conn *conn, const char *line, void *arg)
{
    rig_result *res = arg;
    (void)conn;
    size_t add = strlen(line) + 1;
    char *k = realloc(res->keylog, res->keylog_len + add + 1);
    if (k == NULL)
        return;
    memcpy(k + res->keylog_len, line, add - 1);
    k[res->keylog_len + add - 1] = '\n';
    k[res->keylog_len + add] = '\0';
    res->keylog = k;
    res->keylog_len += add;
}

/* ---- settings ---- */

/* A setting may end with `fails <class>`: the engine call must fail that way. */
static int trailing_fails(const scn_line *l, int *nargs, int *want)
{
    *nargs = l->argc;
    *want = 0;
    if (l->argc >= 3 && strcmp(l->argv[l->argc - 2], "fails") == 0) {
        *want = rig__err_class(l->argv[l->argc - 1]);
        if (*want > 0)
            return -1;
        *nargs = l->argc - 2;
    }
    return 0;
}

/* Check an engine call's result against the expectation of `fails <class>`. */
static rig_status outcome(rig_state *st, rig_peer *p, int rc, int want, const char *what)
{
    if (want == 0 && rc < 0)
        return rig__fail(st, "peer %s: %s failed: %s: %s", p->decl->name, what, rig__err_word(rc),
                         tlsrig_ctx_last_error(p->ctx)->message);
    if (want != 0 && rc != want)
        return rig__fail(st, "peer %s: %s: expected error %s, got %s", p->decl->name, what,
                         rig__err_word(want), rc < 0 ? rig__err_word(rc) : "success");
    return RIG_PASS;
}

#define NEED(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return rig__invalid(st, l, __VA_ARGS__);                                               \
    } while (0)

static rig_status apply(rig_state *st, rig_peer *p, const scn_line *l, int dry)
{
    const char *k = l->argv[0];
    int nargs, want, rc = 0;
    char path[1024], path2[1024];
    tlsrig_ctx *ctx = p->ctx;

    NEED(trailing_fails(l, &nargs, &want) == 0, "unknown error class '%s' (one of %s...)",
         l->argv[l->argc - 1], "ssl, syscall, invalid-argument, unsupported");
    const char *v = nargs >= 2 ? l->argv[1] : NULL;
    NEED(nargs >= 2 || strcmp(k, "share") == 0, "setting '%s' needs a value", k);

    if (strcmp(k, "method") == 0) {
        NEED(nargs == 2 && parse_method(v) > 0, "unknown method '%s'", v);
        return RIG_PASS; /* applied at creation */
    } else if (strcmp(k, "min-version") == 0 || strcmp(k, "max-version") == 0) {
        int ver = parse_version(v);
        NEED(nargs == 2 && ver >= 0, "version must be 1.0, 1.1, 1.2, 1.3 or any, not '%s'", v);
        if (dry)
            return RIG_PASS;
        rc = k[1] == 'i' ? tlsrig_ctx_set_min_proto_version(ctx, ver)
                         : tlsrig_ctx_set_max_proto_version(ctx, ver);
    } else if (strcmp(k, "cert") == 0) {
        char crt[128], key[128];
        NEED(nargs == 2 &&
                 (strcmp(v, "none") == 0 || cert_files(v, crt, sizeof(crt), key, sizeof(key)) == 0),
             "unknown certificate '%s'", v);
        if (dry || strcmp(v, "none") == 0)
            return RIG_PASS;
        rc = tlsrig_ctx_use_certificate_chain_file(ctx, pki(st, crt, path, sizeof(path)));
        if (rc >= 0 && !scn_has_setting(p->decl, "key"))
            rc = tlsrig_ctx_use_privatekey_file(ctx, pki(st, key, path2, sizeof(path2)),
                                                TLSRIG_FILETYPE_PEM);
    } else if (strcmp(k, "key") == 0) {
        NEED(nargs == 2 && strchr(v, '/') == NULL, "key takes a PKI file name, not '%s'", v);
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_use_privatekey_file(ctx, pki(st, v, path, sizeof(path)),
                                            TLSRIG_FILETYPE_PEM);
    } else if (strcmp(k, "verify") == 0) {
        int mode = 0;
        NEED(strcmp(v, "none") == 0 || strcmp(v, "peer") == 0 || strcmp(v, "require") == 0,
             "verify takes none, peer or require, not '%s'", v);
        if (strcmp(v, "peer") == 0)
            mode = TLSRIG_VERIFY_PEER;
        else if (strcmp(v, "require") == 0)
            mode = TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT;
        for (int i = 2; i < nargs; i++) {
            NEED(strcmp(l->argv[i], "once") == 0 || strcmp(l->argv[i], "post-handshake") == 0,
                 "verify flag must be once or post-handshake, not '%s'", l->argv[i]);
            mode |= l->argv[i][0] == 'o' ? TLSRIG_VERIFY_CLIENT_ONCE : TLSRIG_VERIFY_POST_HANDSHAKE;
        }
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_verify(ctx, mode, p->verify_policy ? verify_cb : NULL, p);
    } else if (strcmp(k, "verify-depth") == 0) {
        char *end = NULL;
        long d = strtol(v, &end, 10);
        NEED(nargs == 2 && *end == '\0' && end != v, "verify-depth takes a number");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_verify_depth(ctx, (int)d);
    } else if (strcmp(k, "verify-callback") == 0) {
        static const char *const pol[] = {"accept-all", "reject-all", "fail", "record", NULL};
        int found = 0;
        for (int i = 0; pol[i] != NULL; i++)
            if (strcmp(v, pol[i]) == 0)
                found = i + 1;
        NEED(nargs == 2 && found, "verify-callback takes accept-all, reject-all, fail or record");
        p->verify_policy = found;
        if (dry)
            return RIG_PASS;
        /* installed with the mode by `verify`; set it now in case verify came first */
        rc = tlsrig_ctx_set_verify(ctx, tlsrig_ctx_get_verify_mode(ctx), verify_cb, p);
    } else if (strcmp(k, "ca") == 0) {
        static const char *const files[][2] = {{"root", "root-ca.crt"},
                                               {"untrusted", "untrusted-ca.crt"},
                                               {"bundle", "ca-bundle.pem"},
                                               {"inter", "inter-ca.crt"},
                                               {"capath", NULL},
                                               {"none", NULL}};
        int idx = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(v, files[i][0]) == 0)
                idx = i;
        NEED(nargs == 2 && idx >= 0, "ca takes root, untrusted, bundle, inter, capath or none");
        if (dry || strcmp(v, "none") == 0)
            return RIG_PASS;
        rc =
            idx == 4
                ? tlsrig_ctx_load_verify_locations(ctx, NULL, pki(st, "capath", path, sizeof(path)))
                : tlsrig_ctx_load_verify_locations(ctx, pki(st, files[idx][1], path, sizeof(path)),
                                                   NULL);
    } else if (strcmp(k, "client-ca") == 0) {
        const char *f = strcmp(v, "root") == 0        ? "root-ca.crt"
                        : strcmp(v, "inter") == 0     ? "inter-ca.crt"
                        : strcmp(v, "untrusted") == 0 ? "untrusted-ca.crt"
                                                      : NULL;
        NEED(nargs == 2 && f != NULL, "client-ca takes root, inter or untrusted");
        if (dry)
            return RIG_PASS;
        X509 *x = NULL;
        tlsrig_error e;
        rc = tlsrig_x509_load_file(pki(st, f, path, sizeof(path)), TLSRIG_FILETYPE_PEM, &x, &e);
        if (rc < 0)
            return rig__fail(st, "client-ca: %s", e.message);
        rc = tlsrig_ctx_add_client_ca(ctx, x);
        X509_free(x);
    } else if (strcmp(k, "hostname") == 0 || strcmp(k, "sni") == 0) {
        NEED(nargs == 2 && strlen(v) < sizeof(p->sni), "%s takes one name", k);
        NEED(!p->is_server, "%s is a client setting", k);
        snprintf(k[0] == 'h' ? p->hostname : p->sni, sizeof(p->sni), "%s", v);
        if (dry || k[0] == 's')
            return RIG_PASS;
        rc = tlsrig_ctx_set_check_hostname(ctx, 1);
    } else if (strcmp(k, "ciphers") == 0) {
        NEED(nargs == 2, "ciphers takes one OpenSSL cipher string");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_cipher_list(ctx, v);
    } else if (strcmp(k, "ciphersuites") == 0) {
        NEED(nargs == 2, "ciphersuites takes one list");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_ciphersuites(ctx, v);
    } else if (strcmp(k, "groups") == 0) {
        NEED(nargs == 2, "groups takes one list");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_groups(ctx, v);
    } else if (strcmp(k, "dh") == 0) {
        NEED(nargs == 2 && strcmp(v, "ffdhe2048") == 0, "dh takes ffdhe2048");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_load_tmp_dh(ctx, pki(st, "dh2048.pem", path, sizeof(path)));
    } else if (strcmp(k, "alpn") == 0) {
        rig_protos pr;
        NEED(nargs == 2 && parse_protos(v, &pr) == 0, "alpn takes a comma list of protocols");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_alpn_protos(ctx, pr.list, pr.n);
    } else if (strcmp(k, "alpn-select") == 0) {
        if (strcmp(v, "first-common") == 0) {
            NEED(nargs == 3 && parse_protos(l->argv[2], &p->alpn_pref) == 0,
                 "alpn-select first-common takes the server's comma list");
            p->alpn_policy = 1;
        } else {
            NEED(nargs == 2 && (strcmp(v, "none") == 0 || strcmp(v, "fail") == 0),
                 "alpn-select takes first-common <list>, none or fail");
            p->alpn_policy = v[0] == 'n' ? 2 : 3;
        }
        if (!dry)
            tlsrig_ctx_set_alpn_select_callback(ctx, alpn_select, p);
        return RIG_PASS;
    } else if (strcmp(k, "npn-advertise") == 0) {
        NEED(nargs == 2 && parse_protos(v, &p->npn_adv) == 0, "npn-advertise takes a comma list");
        if (!dry)
            tlsrig_ctx_set_npn_advertise_callback(ctx, npn_advertise, p);
        return RIG_PASS;
    } else if (strcmp(k, "npn-select") == 0) {
        if (strcmp(v, "first-common") == 0) {
            NEED(nargs == 3 && parse_protos(l->argv[2], &p->npn_pref) == 0,
                 "npn-select first-common takes the client's comma list");
            p->npn_policy = 1;
        } else {
            NEED(nargs == 2 && strcmp(v, "fail") == 0, "npn-select takes first-common or fail");
            p->npn_policy = 2;
        }
        if (!dry)
            tlsrig_ctx_set_npn_select_callback(ctx, npn_select, p);
        return RIG_PASS;
    } else if (strcmp(k, "sni-callback") == 0) {
        char crt[128], key[128];
        if (strcmp(v, "switch") == 0) {
            NEED(nargs == 4 && cert_files(l->argv[3], crt, sizeof(crt), key, sizeof(key)) == 0,
                 "sni-callback switch takes <name> <cert>");
            snprintf(p->alt_name, sizeof(p->alt_name), "%s", l->argv[2]);
            p->sni_policy = 2;
            if (!dry) {
                tlsrig_error e;
                if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &p->alt_ctx, &e) < 0)
                    return rig__fail(st, "sni-callback: %s", e.message);
                if (tlsrig_ctx_use_certificate_chain_file(p->alt_ctx,
                                                          pki(st, crt, path, sizeof(path))) < 0 ||
                    tlsrig_ctx_use_privatekey_file(p->alt_ctx, pki(st, key, path2, sizeof(path2)),
                                                   TLSRIG_FILETYPE_PEM) < 0)
                    return rig__fail(st, "sni-callback: %s",
                                     tlsrig_ctx_last_error(p->alt_ctx)->message);
            }
        } else {
            NEED(nargs == 2 && (strcmp(v, "record") == 0 || strcmp(v, "fail") == 0),
                 "sni-callback takes record, fail or switch <name> <cert>");
            p->sni_policy = v[0] == 'r' ? 1 : 3;
        }
        if (!dry)
            tlsrig_ctx_set_tlsext_servername_callback(ctx, servername, p);
        return RIG_PASS;
    } else if (strcmp(k, "ocsp") == 0) {
        NEED(!p->is_server, "ocsp is a client setting (servers use ocsp-staple)");
        NEED(strcmp(v, "request") == 0 || strcmp(v, "accept") == 0 || strcmp(v, "reject") == 0 ||
                 strcmp(v, "fail") == 0,
             "ocsp takes request, accept, reject or fail");
        for (int i = 1; i < nargs; i++) {
            const char *w = l->argv[i];
            if (strcmp(w, "request") == 0)
                p->request_ocsp = 1;
            else if (strcmp(w, "accept") == 0)
                p->ocsp_check = 1;
            else if (strcmp(w, "reject") == 0)
                p->ocsp_check = 2;
            else if (strcmp(w, "fail") == 0)
                p->ocsp_check = 3;
            else
                NEED(0, "ocsp takes request, accept, reject or fail, not '%s'", w);
        }
        if (!dry && p->ocsp_check)
            tlsrig_ctx_set_ocsp_client_callback(ctx, ocsp_client, p);
        return RIG_PASS;
    } else if (strcmp(k, "ocsp-staple") == 0) {
        NEED(nargs == 2 &&
                 (strcmp(v, "response") == 0 || strcmp(v, "none") == 0 || strcmp(v, "fail") == 0),
             "ocsp-staple takes response, none or fail");
        p->ocsp_staple = v[0] == 'r' ? 1 : v[0] == 'f' ? 2 : 0;
        if (dry)
            return RIG_PASS;
        if (p->ocsp_staple == 1 && ocsp_der_len == 0) {
            FILE *f = fopen(pki(st, "ocsp-response.der", path, sizeof(path)), "rb");
            if (f == NULL)
                return rig__fail(st, "ocsp-staple: cannot read %s", path);
            ocsp_der_len = fread(ocsp_der, 1, sizeof(ocsp_der), f);
            fclose(f);
        }
        tlsrig_ctx_set_ocsp_server_callback(ctx, ocsp_staple, p);
        return RIG_PASS;
    } else if (strcmp(k, "session-cache") == 0) {
        long mode = 0;
        for (int i = 1; i < nargs; i++) {
            int found = 0;
            for (size_t j = 0; j < sizeof(cache_names) / sizeof(cache_names[0]); j++)
                if (strcmp(l->argv[i], cache_names[j].name) == 0) {
                    mode |= cache_names[j].bit;
                    found = 1;
                }
            NEED(found, "unknown session-cache mode '%s'", l->argv[i]);
        }
        if (!dry)
            tlsrig_ctx_set_session_cache_mode(ctx, mode);
        return RIG_PASS;
    } else if (strcmp(k, "session-id-context") == 0) {
        NEED(nargs == 2, "session-id-context takes one string");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_session_id(ctx, (const uint8_t *)v, l->argl[1]);
    } else if (strcmp(k, "timeout") == 0 || strcmp(k, "tickets") == 0 ||
               strcmp(k, "early-data") == 0) {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        NEED(nargs == 2 && end != v && *end == '\0' && n >= 0, "%s takes a number", k);
        if (k[0] == 'e')
            p->early_data = (uint32_t)n;
        if (dry)
            return RIG_PASS;
        if (k[0] == 't' && k[1] == 'i' && k[2] == 'm')
            tlsrig_ctx_set_timeout(ctx, n);
        else if (k[0] == 't')
            rc = tlsrig_ctx_set_num_tickets(ctx, (size_t)n);
        else
            rc = tlsrig_ctx_set_max_early_data(ctx, (uint32_t)n);
    } else if (strcmp(k, "options") == 0 || strcmp(k, "mode") == 0) {
        uint64_t bits = 0;
        NEED(nargs == 2, "%s takes one comma list", k);
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", v);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            int found = 0;
            if (k[0] == 'o') {
                for (size_t j = 0; j < sizeof(option_names) / sizeof(option_names[0]); j++)
                    if (strcmp(tok, option_names[j].name) == 0) {
                        bits |= option_names[j].bit;
                        found = 1;
                    }
            } else {
                for (size_t j = 0; j < sizeof(mode_names) / sizeof(mode_names[0]); j++)
                    if (strcmp(tok, mode_names[j].name) == 0) {
                        bits |= (uint64_t)mode_names[j].bit;
                        found = 1;
                    }
            }
            NEED(found, "unknown %s '%s'", k[0] == 'o' ? "option" : "mode", tok);
        }
        if (dry)
            return RIG_PASS;
        if (k[0] == 'o')
            tlsrig_ctx_set_options(ctx, bits);
        else
            tlsrig_ctx_set_mode(ctx, (long)bits);
        return RIG_PASS;
    } else if (strcmp(k, "post-handshake-auth") == 0) {
        NEED(nargs == 2 && strcmp(v, "on") == 0, "post-handshake-auth takes on");
        if (dry)
            return RIG_PASS;
        rc = tlsrig_ctx_set_post_handshake_auth(ctx, 1);
    } else if (strcmp(k, "share") == 0) {
        return RIG_PASS; /* handled at creation */
    } else {
        const char *near = scn_nearest(k, rig_setting_names);
        return rig__invalid(st, l, "unknown setting '%s'%s%s%s", k, near ? " (did you mean '" : "",
                            near ? near : "", near ? "'?)" : "");
    }
    return outcome(st, p, rc, want, k);
}

rig_peer *rig__peer(rig_state *st, const char *name)
{
    for (size_t i = 0; i < st->n_peers; i++)
        if (strcmp(st->peers[i].decl->name, name) == 0)
            return &st->peers[i];
    return NULL;
}

static const scn_line *find_setting(const scn_peer *d, const char *key)
{
    for (size_t i = 0; i < d->n_settings; i++)
        if (d->settings[i].argc > 0 && strcmp(d->settings[i].argv[0], key) == 0)
            return &d->settings[i];
    return NULL;
}

int scn_has_setting(const scn_peer *d, const char *key)
{
    return find_setting(d, key) != NULL;
}

/* Create one peer's context (or share another's) and apply its settings in order; `verify`
 * is applied before `verify-callback` and `hostname` last, whatever their order, since
 * each depends on the one before. */
static rig_status setup_peer(rig_state *st, rig_peer *p, int dry)
{
    const scn_peer *d = p->decl;
    const scn_line *share = find_setting(d, "share");
    const scn_line *method = find_setting(d, "method");
    rig_status rs;

    if (share != NULL) {
        const scn_line *l = share;
        NEED(share->argc == 2, "share takes the name of an earlier peer");
        rig_peer *other = rig__peer(st, share->argv[1]);
        NEED(other != NULL && other < p, "share: no earlier peer named '%s'", share->argv[1]);
        NEED(other->is_server == p->is_server, "share: '%s' has the other role", share->argv[1]);
        *p = *other;
        p->decl = d;
        if (!dry && p->ctx != NULL)
            tlsrig_ctx_up_ref(p->ctx);
        p->alt_ctx = NULL; /* owned by the other peer */
        /* Only per-connection settings can differ from the shared context: the server name a
         * client sends (RFC 6066 §3 resumption with another name needs it). */
        p->sni[0] = '\0';
        for (size_t i = 0; i < d->n_settings; i++) {
            const scn_line *sl = &d->settings[i];
            if (sl == share)
                continue;
            l = sl;
            NEED(strcmp(sl->argv[0], "sni") == 0 && sl->argc == 2 && !p->is_server &&
                     strlen(sl->argv[1]) < sizeof(p->sni),
                 "a peer that shares a context takes only 'sni <name>' (client) besides 'share'");
            snprintf(p->sni, sizeof(p->sni), "%s", sl->argv[1]);
        }
        return RIG_PASS;
    }

    int m = TLSRIG_TLS_METHOD, want = 0, nargs;
    if (method != NULL) {
        const scn_line *l = method;
        NEED(trailing_fails(method, &nargs, &want) == 0 && nargs == 2 &&
                 parse_method(method->argv[1]) > 0,
             "method takes one of TLS, SSLv23, TLSv1, TLSv1_1, TLSv1_2, SSLv2, SSLv3, "
             "TLS_CLIENT, TLS_SERVER [fails <class>]");
        m = parse_method(method->argv[1]);
    }
    if (!dry) {
        tlsrig_error e;
        int rc = tlsrig_ctx_new(m, &p->ctx, &e);
        st->line = method;
        if (want != 0) {
            if (rc != want)
                return rig__fail(st, "peer %s: method: expected error %s, got %s", d->name,
                                 rig__err_word(want), rc < 0 ? rig__err_word(rc) : "success");
            p->ctx_failed = 1;
            return RIG_PASS;
        }
        if (rc < 0)
            return rig__fail(st, "peer %s: context: %s", d->name, e.message);
        tlsrig_ctx_set_observer(p->ctx, observe, NULL);
        /* OpenSSL formats every secret as hex once a keylog callback exists: only pay for
         * it when the keys are wanted. */
        if (st->opt->capture)
            tlsrig_ctx_set_keylog_callback(p->ctx, keylog, st->res);
    }

    static const char *const order[] = {"verify", NULL};
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < d->n_settings; i++) {
            const scn_line *l = &d->settings[i];
            const char *k = l->argv[0];
            int is_verify = strcmp(k, order[0]) == 0;
            int is_late = strcmp(k, "verify-callback") == 0 || strcmp(k, "hostname") == 0;
            if ((pass == 0) != is_verify || (pass == 2) != is_late)
                continue;
            if (strcmp(k, "method") == 0 || strcmp(k, "share") == 0)
                continue;
            st->line = l;
            if ((rs = apply(st, p, l, dry)) != RIG_PASS)
                return rs;
        }
    }
    return RIG_PASS;
}

rig_status rig__peers_setup(rig_state *st, int dry)
{
    const scn *s = st->s;
    rig_status rs;
    st->peers = calloc(s->n_peers > 0 ? s->n_peers : 1, sizeof(*st->peers));
    if (st->peers == NULL)
        return RIG_ERROR;
    st->n_peers = s->n_peers;
    for (size_t i = 0; i < s->n_peers; i++) {
        st->peers[i].decl = &s->peers[i];
        st->peers[i].is_server = s->peers[i].is_server;
    }
    for (size_t i = 0; i < s->n_peers; i++)
        if ((rs = setup_peer(st, &st->peers[i], dry)) != RIG_PASS)
            return rs;
    return RIG_PASS;
}

void rig__peers_cleanup(rig_state *st)
{
    for (size_t i = 0; i < st->n_peers; i++) {
        tlsrig_ctx_free(st->peers[i].ctx);
        tlsrig_ctx_free(st->peers[i].alt_ctx);
    }
    free(st->peers);
    st->peers = NULL;
    st->n_peers = 0;
}

/* Per-connection settings: SNI, checked hostname, OCSP request. */
rig_status rig__conn_setup(rig_state *st, rig_side *side)
{
    rig_peer *p = side->peer;
    tlsrig_conn *c = side->conn;
    tlsrig_conn_set_app_data(c, side);
    if (p->is_server)
        return RIG_PASS;
    if (p->hostname[0] != '\0' && tlsrig_conn_set_hostname(c, p->hostname) < 0)
        return rig__fail(st, "hostname: %s", tlsrig_conn_last_error(c)->message);
    if (p->sni[0] != '\0' && tlsrig_conn_set_tlsext_host_name(c, p->sni) < 0)
        return rig__fail(st, "sni: %s", tlsrig_conn_last_error(c)->message);
    if (p->request_ocsp && tlsrig_conn_request_ocsp(c) < 0)
        return rig__fail(st, "ocsp: %s", tlsrig_conn_last_error(c)->message);
    (void)peer_of;
    return RIG_PASS;
}
