/*
 * interp_peer.c - the peers at run time: engine contexts made from compiled settings, the
 * connections made from them, and the callbacks whose policies the settings chose (ALPN/NPN
 * selection, SNI, OCSP, verify) or that record what a side saw (alerts, handshake messages,
 * the key log).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

static const char *pki(const rig_options *opt, const char *file, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", opt->pki_dir != NULL ? opt->pki_dir : "pki", file);
    return buf;
}

/* ---- callbacks ---- */

/* RFC 7301 §3.2 (and NPN alike): the chooser picks by its own preference among the offers. */
static int first_common(const rig_protos *pref, const tlsrig_bytes *offered, size_t n,
                        size_t *chosen)
{
    for (size_t i = 0; i < pref->n; i++)
        for (size_t j = 0; j < n; j++)
            if (offered[j].len == pref->list[i].len &&
                memcmp(offered[j].data, pref->list[i].data, offered[j].len) == 0) {
                *chosen = j;
                return 0;
            }
    return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
}

static int alpn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                       void *arg)
{
    const rig_peer_prog *p = ((rig_peer *)arg)->prog;
    (void)conn;
    if (p->alpn_policy == RIG_ALPN_FAIL)
        return -1;
    if (p->alpn_policy == RIG_ALPN_NONE)
        return TLSRIG_NO_OVERLAPPING_PROTOCOLS;
    return first_common(&p->alpn_pref, offered, n, chosen);
}

static int npn_advertise(tlsrig_conn *conn, const tlsrig_bytes **protos, size_t *n, void *arg)
{
    const rig_peer_prog *p = ((rig_peer *)arg)->prog;
    (void)conn;
    *protos = p->npn_adv.list;
    *n = p->npn_adv.n;
    return 0;
}

static int npn_select(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n, size_t *chosen,
                      void *arg)
{
    const rig_peer_prog *p = ((rig_peer *)arg)->prog;
    (void)conn;
    if (p->npn_policy == RIG_NPN_FAIL)
        return -1;
    return first_common(&p->npn_pref, offered, n, chosen);
}

static int servername(tlsrig_conn *conn, void *arg)
{
    rig_peer *peer = arg;
    const rig_peer_prog *p = peer->prog;
    if (p->sni_policy == RIG_SNI_FAIL)
        return -1;
    const char *name = tlsrig_conn_get_servername(conn);
    if (p->sni_policy == RIG_SNI_SWITCH && name != NULL && strcmp(name, p->alt_name) == 0 &&
        peer->alt_ctx != NULL)
        return tlsrig_conn_set_context(conn, peer->alt_ctx) < 0 ? -1 : 0;
    return 0;
}

static uint8_t ocsp_der[8192];
static size_t ocsp_der_len;

static int ocsp_staple(tlsrig_conn *conn, const uint8_t **resp, size_t *len, void *arg)
{
    const rig_peer_prog *p = ((rig_peer *)arg)->prog;
    (void)conn;
    if (p->ocsp_staple == RIG_STAPLE_FAIL)
        return -1;
    if (p->ocsp_staple == RIG_STAPLE_RESPONSE) {
        *resp = ocsp_der;
        *len = ocsp_der_len;
    }
    return 0;
}

static int ocsp_client(tlsrig_conn *conn, const uint8_t *resp, size_t len, void *arg)
{
    const rig_peer_prog *p = ((rig_peer *)arg)->prog;
    (void)conn;
    switch (p->ocsp_check) {
    case RIG_OCSP_REJECT:
        return 0;
    case RIG_OCSP_FAIL:
        return -1;
    case RIG_OCSP_ACCEPT:
    default:
        /* accept: a staple, if any, must be the response the test server sends */
        return len == 0 || (len == ocsp_der_len && memcmp(resp, ocsp_der, len) == 0);
    }
}

static int verify_cb(tlsrig_conn *conn, X509 *cert, int errnum, int depth, int preverify_ok,
                     void *arg)
{
    const rig_peer_prog *p = ((rig_peer *)arg)->prog;
    (void)conn, (void)cert, (void)errnum, (void)depth;
    switch (p->verify_policy) {
    case RIG_VERIFY_CB_ACCEPT_ALL:
        return 1;
    case RIG_VERIFY_CB_REJECT_ALL:
        return 0;
    case RIG_VERIFY_CB_FAIL:
        return -1;
    default:
        return preverify_ok;
    }
}

static void observe(tlsrig_conn *conn, const tlsrig_observe_event *ev, void *arg)
{
    (void)arg;
    rig_obs *obs = tlsrig_conn_get_app_data(conn);
    if (obs == NULL)
        return;
    if (ev->kind == TLSRIG_OBSERVE_ALERT && obs->n_alerts < RIG_MAX_ALERTS) {
        obs->alerts[obs->n_alerts].sent = ev->sent;
        obs->alerts[obs->n_alerts].level = ev->alert_level;
        obs->alerts[obs->n_alerts].desc = ev->alert_desc;
        obs->n_alerts++;
    } else if (ev->kind == TLSRIG_OBSERVE_HANDSHAKE && !ev->sent) {
        if (ev->handshake_type == 4) /* NewSessionTicket */
            obs->tickets++;
        else if (ev->handshake_type == 24) /* KeyUpdate */
            obs->keyupdates++;
    }
}

/* Each side's secrets go to the wire: into the capture, and to the man in the middle. */
static void keylog(tlsrig_conn *conn, const char *line, void *arg)
{
    rig__wire_keylog(arg, conn, line);
}

/* ---- settings ---- */

typedef struct applier {
    const rig_program *prog;
    const rig_options *opt;
    rig_result *res;
    rig_wire *wire; /* where the key log goes */
} applier;

static rig_status fail_at(applier *a, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rig_status fail_at(applier *a, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rig__vreport(a->res, RIG_FAIL, a->prog->path, line, fmt, ap);
    va_end(ap);
    return RIG_FAIL;
}

static const char *setting_word(rig_setting_kind kind)
{
    switch (kind) {
    case RIG_SET_MIN_VERSION:
        return "min-version";
    case RIG_SET_MAX_VERSION:
        return "max-version";
    case RIG_SET_CERT:
        return "cert";
    case RIG_SET_KEY:
        return "key";
    case RIG_SET_VERIFY:
        return "verify";
    case RIG_SET_VERIFY_DEPTH:
        return "verify-depth";
    case RIG_SET_VERIFY_CALLBACK:
        return "verify-callback";
    case RIG_SET_CA:
        return "ca";
    case RIG_SET_CLIENT_CA:
        return "client-ca";
    case RIG_SET_HOSTNAME:
        return "hostname";
    case RIG_SET_CIPHERS:
        return "ciphers";
    case RIG_SET_CIPHERSUITES:
        return "ciphersuites";
    case RIG_SET_GROUPS:
        return "groups";
    case RIG_SET_DH:
        return "dh";
    case RIG_SET_ALPN:
        return "alpn";
    case RIG_SET_SESSION_ID_CONTEXT:
        return "session-id-context";
    case RIG_SET_TIMEOUT:
        return "timeout";
    case RIG_SET_TICKETS:
        return "tickets";
    case RIG_SET_EARLY_DATA:
        return "early-data";
    case RIG_SET_POST_HANDSHAKE_AUTH:
        return "post-handshake-auth";
    default:
        return "setting";
    }
}

/* An engine call's result against the expectation of `fails <class>`. */
static rig_status outcome(applier *a, rig_peer *p, const rig_setting *set, int rc)
{
    const char *what = setting_word(set->kind);
    if (set->fails == 0 && rc < 0)
        return fail_at(a, set->line, "peer %s: %s failed: %s: %s", p->prog->name, what,
                       rig__err_word(rc), tlsrig_ctx_last_error(p->ctx)->message);
    if (set->fails != 0 && rc != set->fails)
        return fail_at(a, set->line, "peer %s: %s: expected error %s, got %s", p->prog->name, what,
                       rig__err_word(set->fails), rc < 0 ? rig__err_word(rc) : "success");
    return RIG_PASS;
}

static rig_status make_alt_ctx(applier *a, rig_peer *p, const rig_setting *set)
{
    char path[1024], path2[1024];
    tlsrig_error e;
    tlsrig_ctx_free(p->alt_ctx);
    p->alt_ctx = NULL;
    if (tlsrig_ctx_new(TLSRIG_TLS_METHOD, &p->alt_ctx, &e) < 0)
        return fail_at(a, set->line, "sni-callback: %s", e.message);
    if (tlsrig_ctx_use_certificate_chain_file(p->alt_ctx,
                                              pki(a->opt, set->file, path, sizeof(path))) < 0 ||
        tlsrig_ctx_use_privatekey_file(p->alt_ctx, pki(a->opt, set->file2, path2, sizeof(path2)),
                                       TLSRIG_FILETYPE_PEM) < 0)
        return fail_at(a, set->line, "sni-callback: %s",
                       tlsrig_ctx_last_error(p->alt_ctx)->message);
    /* a connection switched to it logs its secrets through it */
    if (a->prog->middle)
        tlsrig_ctx_set_keylog_callback(p->alt_ctx, keylog, a->wire);
    return RIG_PASS;
}

static rig_status apply(applier *a, rig_peer *p, const rig_setting *set)
{
    char path[1024], path2[1024];
    tlsrig_ctx *ctx = p->ctx;
    int rc = 0;

    switch (set->kind) {
    case RIG_SET_MIN_VERSION:
        rc = tlsrig_ctx_set_min_proto_version(ctx, (int)set->num);
        break;
    case RIG_SET_MAX_VERSION:
        rc = tlsrig_ctx_set_max_proto_version(ctx, (int)set->num);
        break;
    case RIG_SET_CERT:
        rc = tlsrig_ctx_use_certificate_chain_file(ctx, pki(a->opt, set->file, path, sizeof(path)));
        if (rc >= 0 && set->flag)
            rc = tlsrig_ctx_use_privatekey_file(ctx, pki(a->opt, set->file2, path2, sizeof(path2)),
                                                TLSRIG_FILETYPE_PEM);
        break;
    case RIG_SET_KEY:
        rc = tlsrig_ctx_use_privatekey_file(ctx, pki(a->opt, set->file, path, sizeof(path)),
                                            TLSRIG_FILETYPE_PEM);
        break;
    case RIG_SET_VERIFY:
        /* the callback comes with verify-callback, applied after this */
        rc = tlsrig_ctx_set_verify(ctx, (int)set->num, NULL, p);
        break;
    case RIG_SET_VERIFY_DEPTH:
        rc = tlsrig_ctx_set_verify_depth(ctx, (int)set->num);
        break;
    case RIG_SET_VERIFY_CALLBACK:
        rc = tlsrig_ctx_set_verify(ctx, tlsrig_ctx_get_verify_mode(ctx), verify_cb, p);
        break;
    case RIG_SET_CA:
        pki(a->opt, set->file, path, sizeof(path));
        rc = set->flag ? tlsrig_ctx_load_verify_locations(ctx, NULL, path)
                       : tlsrig_ctx_load_verify_locations(ctx, path, NULL);
        break;
    case RIG_SET_CLIENT_CA: {
        X509 *x = NULL;
        tlsrig_error e;
        rc = tlsrig_x509_load_file(pki(a->opt, set->file, path, sizeof(path)), TLSRIG_FILETYPE_PEM,
                                   &x, &e);
        if (rc < 0)
            return fail_at(a, set->line, "client-ca: %s", e.message);
        rc = tlsrig_ctx_add_client_ca(ctx, x);
        X509_free(x);
        break;
    }
    case RIG_SET_HOSTNAME:
        rc = tlsrig_ctx_set_check_hostname(ctx, 1);
        break;
    case RIG_SET_CIPHERS:
        rc = tlsrig_ctx_set_cipher_list(ctx, set->str);
        break;
    case RIG_SET_CIPHERSUITES:
        rc = tlsrig_ctx_set_ciphersuites(ctx, set->str);
        break;
    case RIG_SET_GROUPS:
        rc = tlsrig_ctx_set_groups(ctx, set->str);
        break;
    case RIG_SET_DH:
        rc = tlsrig_ctx_load_tmp_dh(ctx, pki(a->opt, set->file, path, sizeof(path)));
        break;
    case RIG_SET_ALPN:
        rc = tlsrig_ctx_set_alpn_protos(ctx, set->protos.list, set->protos.n);
        break;
    case RIG_SET_ALPN_SELECT:
        tlsrig_ctx_set_alpn_select_callback(ctx, alpn_select, p);
        return RIG_PASS;
    case RIG_SET_NPN_ADVERTISE:
        tlsrig_ctx_set_npn_advertise_callback(ctx, npn_advertise, p);
        return RIG_PASS;
    case RIG_SET_NPN_SELECT:
        tlsrig_ctx_set_npn_select_callback(ctx, npn_select, p);
        return RIG_PASS;
    case RIG_SET_SNI_CALLBACK:
        if (set->flag) {
            rig_status rs = make_alt_ctx(a, p, set);
            if (rs != RIG_PASS)
                return rs;
        }
        tlsrig_ctx_set_tlsext_servername_callback(ctx, servername, p);
        return RIG_PASS;
    case RIG_SET_OCSP:
        if (set->flag)
            tlsrig_ctx_set_ocsp_client_callback(ctx, ocsp_client, p);
        return RIG_PASS;
    case RIG_SET_OCSP_STAPLE:
        if (set->flag && ocsp_der_len == 0) {
            FILE *f = fopen(pki(a->opt, set->file, path, sizeof(path)), "rb");
            if (f == NULL)
                return fail_at(a, set->line, "ocsp-staple: cannot read %s", path);
            ocsp_der_len = fread(ocsp_der, 1, sizeof(ocsp_der), f);
            fclose(f);
        }
        tlsrig_ctx_set_ocsp_server_callback(ctx, ocsp_staple, p);
        return RIG_PASS;
    case RIG_SET_SESSION_CACHE:
        tlsrig_ctx_set_session_cache_mode(ctx, set->num);
        return RIG_PASS;
    case RIG_SET_SESSION_ID_CONTEXT:
        rc = tlsrig_ctx_set_session_id(ctx, (const uint8_t *)set->str, set->str_len);
        break;
    case RIG_SET_TIMEOUT:
        tlsrig_ctx_set_timeout(ctx, set->num);
        break;
    case RIG_SET_TICKETS:
        rc = tlsrig_ctx_set_num_tickets(ctx, (size_t)set->num);
        break;
    case RIG_SET_EARLY_DATA:
        rc = tlsrig_ctx_set_max_early_data(ctx, (uint32_t)set->num);
        break;
    case RIG_SET_OPTIONS:
        tlsrig_ctx_set_options(ctx, set->bits);
        return RIG_PASS;
    case RIG_SET_MODE:
        tlsrig_ctx_set_mode(ctx, (long)set->bits);
        return RIG_PASS;
    case RIG_SET_POST_HANDSHAKE_AUTH:
        rc = tlsrig_ctx_set_post_handshake_auth(ctx, 1);
        break;
    default:
        return fail_at(a, set->line, "internal error: setting kind %d", (int)set->kind);
    }
    return outcome(a, p, set, rc);
}

/* ---- peers ---- */

/* Create one peer's context (or share an earlier one's) and apply its settings in order. */
static rig_status setup_peer(applier *a, rig_peer *peers, rig_peer *p)
{
    const rig_peer_prog *d = p->prog;
    rig_status rs;

    if (d->share >= 0) {
        const rig_peer *o = &peers[d->share];
        p->ctx = o->ctx;
        p->ctx_failed = o->ctx_failed;
        if (p->ctx != NULL)
            tlsrig_ctx_up_ref(p->ctx);
        return RIG_PASS;
    }

    tlsrig_error e;
    int rc = tlsrig_ctx_new(d->method, &p->ctx, &e);
    if (d->method_fails != 0) {
        if (rc != d->method_fails)
            return fail_at(a, d->method_line, "peer %s: method: expected error %s, got %s", d->name,
                           rig__err_word(d->method_fails), rc < 0 ? rig__err_word(rc) : "success");
        p->ctx_failed = 1;
        return RIG_PASS;
    }
    if (rc < 0)
        return fail_at(a, d->method_line, "peer %s: context: %s", d->name, e.message);
    tlsrig_ctx_set_observer(p->ctx, observe, NULL);
    /* OpenSSL formats every secret as hex once a keylog callback exists: only pay for it
     * when the keys are wanted (a capture, or a man in the middle). */
    if (a->opt->capture || a->prog->middle)
        tlsrig_ctx_set_keylog_callback(p->ctx, keylog, a->wire);
    for (size_t i = 0; i < d->n_settings; i++)
        if ((rs = apply(a, p, &d->settings[i])) != RIG_PASS)
            return rs;
    return RIG_PASS;
}

rig_status rig__peers_new(const rig_program *prog, const rig_options *opt, rig_result *res,
                          rig_wire *wire, rig_peer **out)
{
    applier a = {prog, opt, res, wire};
    rig_status rs;
    rig_peer *peers = calloc(prog->n_peers > 0 ? prog->n_peers : 1, sizeof(*peers));
    *out = peers;
    if (peers == NULL) {
        snprintf(res->message, sizeof(res->message), "out of memory");
        return res->status = RIG_ERROR;
    }
    for (size_t i = 0; i < prog->n_peers; i++)
        peers[i].prog = &prog->peers[i];
    for (size_t i = 0; i < prog->n_peers; i++)
        if ((rs = setup_peer(&a, peers, &peers[i])) != RIG_PASS)
            return rs;
    return RIG_PASS;
}

void rig__peers_free(rig_peer *peers, size_t n)
{
    if (peers == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        tlsrig_ctx_free(peers[i].ctx);
        tlsrig_ctx_free(peers[i].alt_ctx);
    }
    free(peers);
}

/* ---- connections ---- */

int rig__conn_new(rig_peer *peer, rig_side *side, char *why, size_t whylen)
{
    const rig_peer_prog *p = peer->prog;
    tlsrig_conn *c = NULL;
    if (tlsrig_conn_new(peer->ctx, -1, &side->conn) < 0) {
        snprintf(why, whylen, "cannot create a connection");
        return -1;
    }
    c = side->conn;
    side->peer = p;
    tlsrig_conn_set_app_data(c, &side->obs);
    if (p->is_server) {
        tlsrig_conn_set_accept_state(c);
        return 0;
    }
    tlsrig_conn_set_connect_state(c);
    /* Per-connection settings: SNI, checked hostname, OCSP request. */
    if (p->hostname[0] != '\0' && tlsrig_conn_set_hostname(c, p->hostname) < 0) {
        snprintf(why, whylen, "hostname: %s", tlsrig_conn_last_error(c)->message);
        return -1;
    }
    if (p->sni[0] != '\0' && tlsrig_conn_set_tlsext_host_name(c, p->sni) < 0) {
        snprintf(why, whylen, "sni: %s", tlsrig_conn_last_error(c)->message);
        return -1;
    }
    if (p->request_ocsp && tlsrig_conn_request_ocsp(c) < 0) {
        snprintf(why, whylen, "ocsp: %s", tlsrig_conn_last_error(c)->message);
        return -1;
    }
    return 0;
}
