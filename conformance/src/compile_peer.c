/*
 * compile_peer.c - peer declarations into rig_peer_prog: the method, each setting converted
 * (versions, file names in the test PKI, option and mode bits, protocol lists, callback
 * policies, `fails <class>`), in the order interp_peer.c applies them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

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

/* ---- words ---- */

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
static int cert_files(const char *kind, char *crt, char *key)
{
    static const char *const chained[] = {"rsa",     "p256",       "p384",      "ed25519",
                                          "expired", "shortlived", "wronghost", NULL};
    static const char *const client_chained[] = {"client-rsa", "client-p256", NULL};
    for (size_t i = 0; chained[i] != NULL; i++)
        if (strcmp(kind, chained[i]) == 0) {
            snprintf(crt, RIG_FILE_MAX, "server-%s.chain.pem", kind);
            snprintf(key, RIG_FILE_MAX, "server-%s.key", kind);
            return 0;
        }
    for (size_t i = 0; client_chained[i] != NULL; i++)
        if (strcmp(kind, client_chained[i]) == 0) {
            snprintf(crt, RIG_FILE_MAX, "%s.chain.pem", kind);
            snprintf(key, RIG_FILE_MAX, "%s.key", kind);
            return 0;
        }
    if (strcmp(kind, "untrusted") == 0 || strcmp(kind, "client-untrusted") == 0) {
        snprintf(crt, RIG_FILE_MAX, "%s%s.crt", kind[0] == 'u' ? "server-" : "", kind);
        snprintf(key, RIG_FILE_MAX, "%s%s.key", kind[0] == 'u' ? "server-" : "", kind);
        return 0;
    }
    return -1;
}

static const scn_line *find_setting(const scn_peer *d, const char *key)
{
    for (size_t i = 0; i < d->n_settings; i++)
        if (d->settings[i].argc > 0 && strcmp(d->settings[i].argv[0], key) == 0)
            return &d->settings[i];
    return NULL;
}

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

/* ---- settings ---- */

/* Settings that only choose a policy, or none at all, still become a setting when applying
 * them installs a callback; `cert none`, `ca none` and `sni` change no context and become
 * nothing (*emit = 0). */
static rig_status c_setting(rig_compiler *c, rig_peer_prog *p, const scn_line *l, rig_setting *set,
                            int *emit)
{
    const char *k = l->argv[0];
    int nargs, want;

    *emit = 1;
    memset(set, 0, sizeof(*set));
    set->line = l->lineno;
    RIG_NEED(trailing_fails(l, &nargs, &want) == 0, "unknown error class '%s' (one of %s...)",
             l->argv[l->argc - 1], "ssl, syscall, invalid-argument, unsupported");
    set->fails = want;
    const char *v = nargs >= 2 ? l->argv[1] : NULL;
    RIG_NEED(nargs >= 2, "setting '%s' needs a value", k);
    set->str = v;

    if (strcmp(k, "method") == 0) {
        RIG_NEED(nargs == 2 && parse_method(v) > 0, "unknown method '%s'", v);
        *emit = 0; /* applied at creation */
    } else if (strcmp(k, "min-version") == 0 || strcmp(k, "max-version") == 0) {
        set->kind = k[1] == 'i' ? RIG_SET_MIN_VERSION : RIG_SET_MAX_VERSION;
        set->num = parse_version(v);
        RIG_NEED(nargs == 2 && set->num >= 0, "version must be 1.0, 1.1, 1.2, 1.3 or any, not '%s'",
                 v);
    } else if (strcmp(k, "cert") == 0) {
        set->kind = RIG_SET_CERT;
        RIG_NEED(nargs == 2 &&
                     (strcmp(v, "none") == 0 || cert_files(v, set->file, set->file2) == 0),
                 "unknown certificate '%s'", v);
        *emit = strcmp(v, "none") != 0;
        set->flag = find_setting(&c->s->peers[p - c->prog->peers], "key") == NULL;
    } else if (strcmp(k, "key") == 0) {
        set->kind = RIG_SET_KEY;
        RIG_NEED(nargs == 2 && strchr(v, '/') == NULL && strlen(v) < RIG_FILE_MAX,
                 "key takes a PKI file name, not '%s'", v);
        snprintf(set->file, sizeof(set->file), "%s", v);
    } else if (strcmp(k, "verify") == 0) {
        set->kind = RIG_SET_VERIFY;
        RIG_NEED(strcmp(v, "none") == 0 || strcmp(v, "peer") == 0 || strcmp(v, "require") == 0,
                 "verify takes none, peer or require, not '%s'", v);
        if (strcmp(v, "peer") == 0)
            set->num = TLSRIG_VERIFY_PEER;
        else if (strcmp(v, "require") == 0)
            set->num = TLSRIG_VERIFY_PEER | TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT;
        for (int i = 2; i < nargs; i++) {
            RIG_NEED(strcmp(l->argv[i], "once") == 0 || strcmp(l->argv[i], "post-handshake") == 0,
                     "verify flag must be once or post-handshake, not '%s'", l->argv[i]);
            set->num |=
                l->argv[i][0] == 'o' ? TLSRIG_VERIFY_CLIENT_ONCE : TLSRIG_VERIFY_POST_HANDSHAKE;
        }
    } else if (strcmp(k, "verify-depth") == 0) {
        set->kind = RIG_SET_VERIFY_DEPTH;
        char *end = NULL;
        set->num = strtol(v, &end, 10);
        RIG_NEED(nargs == 2 && *end == '\0' && end != v, "verify-depth takes a number");
    } else if (strcmp(k, "verify-callback") == 0) {
        static const char *const pol[] = {"accept-all", "reject-all", "fail", "record", NULL};
        int found = 0;
        for (int i = 0; pol[i] != NULL; i++)
            if (strcmp(v, pol[i]) == 0)
                found = i + 1;
        RIG_NEED(nargs == 2 && found,
                 "verify-callback takes accept-all, reject-all, fail or record");
        set->kind = RIG_SET_VERIFY_CALLBACK;
        p->verify_policy = (rig_verify_policy)found;
    } else if (strcmp(k, "ca") == 0) {
        static const char *const files[][2] = {
            {"root", "root-ca.crt"},     {"untrusted", "untrusted-ca.crt"},
            {"bundle", "ca-bundle.pem"}, {"inter", "inter-ca.crt"},
            {"capath", "capath"},        {"none", NULL}};
        int idx = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(v, files[i][0]) == 0)
                idx = i;
        RIG_NEED(nargs == 2 && idx >= 0, "ca takes root, untrusted, bundle, inter, capath or none");
        set->kind = RIG_SET_CA;
        *emit = idx != 5;
        set->flag = idx == 4; /* a folder */
        if (files[idx][1] != NULL)
            snprintf(set->file, sizeof(set->file), "%s", files[idx][1]);
    } else if (strcmp(k, "client-ca") == 0) {
        const char *f = strcmp(v, "root") == 0        ? "root-ca.crt"
                        : strcmp(v, "inter") == 0     ? "inter-ca.crt"
                        : strcmp(v, "untrusted") == 0 ? "untrusted-ca.crt"
                                                      : NULL;
        RIG_NEED(nargs == 2 && f != NULL, "client-ca takes root, inter or untrusted");
        set->kind = RIG_SET_CLIENT_CA;
        snprintf(set->file, sizeof(set->file), "%s", f);
    } else if (strcmp(k, "hostname") == 0 || strcmp(k, "sni") == 0) {
        RIG_NEED(nargs == 2 && strlen(v) < sizeof(p->sni), "%s takes one name", k);
        RIG_NEED(!p->is_server, "%s is a client setting", k);
        snprintf(k[0] == 'h' ? p->hostname : p->sni, sizeof(p->sni), "%s", v);
        set->kind = RIG_SET_HOSTNAME;
        *emit = k[0] == 'h'; /* the checked name turns on checking; SNI is per connection */
    } else if (strcmp(k, "ciphers") == 0) {
        RIG_NEED(nargs == 2, "ciphers takes one OpenSSL cipher string");
        set->kind = RIG_SET_CIPHERS;
    } else if (strcmp(k, "ciphersuites") == 0) {
        RIG_NEED(nargs == 2, "ciphersuites takes one list");
        set->kind = RIG_SET_CIPHERSUITES;
    } else if (strcmp(k, "groups") == 0) {
        RIG_NEED(nargs == 2, "groups takes one list");
        set->kind = RIG_SET_GROUPS;
    } else if (strcmp(k, "dh") == 0) {
        RIG_NEED(nargs == 2 && strcmp(v, "ffdhe2048") == 0, "dh takes ffdhe2048");
        set->kind = RIG_SET_DH;
        snprintf(set->file, sizeof(set->file), "dh2048.pem");
    } else if (strcmp(k, "alpn") == 0) {
        RIG_NEED(nargs == 2 && parse_protos(v, &set->protos) == 0,
                 "alpn takes a comma list of protocols");
        set->kind = RIG_SET_ALPN;
    } else if (strcmp(k, "alpn-select") == 0) {
        if (strcmp(v, "first-common") == 0) {
            RIG_NEED(nargs == 3 && parse_protos(l->argv[2], &p->alpn_pref) == 0,
                     "alpn-select first-common takes the server's comma list");
            p->alpn_policy = RIG_ALPN_FIRST_COMMON;
        } else {
            RIG_NEED(nargs == 2 && (strcmp(v, "none") == 0 || strcmp(v, "fail") == 0),
                     "alpn-select takes first-common <list>, none or fail");
            p->alpn_policy = v[0] == 'n' ? RIG_ALPN_NONE : RIG_ALPN_FAIL;
        }
        set->kind = RIG_SET_ALPN_SELECT;
    } else if (strcmp(k, "npn-advertise") == 0) {
        RIG_NEED(nargs == 2 && parse_protos(v, &p->npn_adv) == 0,
                 "npn-advertise takes a comma list");
        set->kind = RIG_SET_NPN_ADVERTISE;
    } else if (strcmp(k, "npn-select") == 0) {
        if (strcmp(v, "first-common") == 0) {
            RIG_NEED(nargs == 3 && parse_protos(l->argv[2], &p->npn_pref) == 0,
                     "npn-select first-common takes the client's comma list");
            p->npn_policy = RIG_NPN_FIRST_COMMON;
        } else {
            RIG_NEED(nargs == 2 && strcmp(v, "fail") == 0, "npn-select takes first-common or fail");
            p->npn_policy = RIG_NPN_FAIL;
        }
        set->kind = RIG_SET_NPN_SELECT;
    } else if (strcmp(k, "sni-callback") == 0) {
        if (strcmp(v, "switch") == 0) {
            RIG_NEED(nargs == 4 && cert_files(l->argv[3], set->file, set->file2) == 0,
                     "sni-callback switch takes <name> <cert>");
            snprintf(p->alt_name, sizeof(p->alt_name), "%s", l->argv[2]);
            p->sni_policy = RIG_SNI_SWITCH;
            set->flag = 1; /* make the context to switch to */
        } else {
            RIG_NEED(nargs == 2 && (strcmp(v, "record") == 0 || strcmp(v, "fail") == 0),
                     "sni-callback takes record, fail or switch <name> <cert>");
            p->sni_policy = v[0] == 'r' ? RIG_SNI_RECORD : RIG_SNI_FAIL;
        }
        set->kind = RIG_SET_SNI_CALLBACK;
    } else if (strcmp(k, "ocsp") == 0) {
        RIG_NEED(!p->is_server, "ocsp is a client setting (servers use ocsp-staple)");
        RIG_NEED(strcmp(v, "request") == 0 || strcmp(v, "accept") == 0 ||
                     strcmp(v, "reject") == 0 || strcmp(v, "fail") == 0,
                 "ocsp takes request, accept, reject or fail");
        for (int i = 1; i < nargs; i++) {
            const char *w = l->argv[i];
            if (strcmp(w, "request") == 0)
                p->request_ocsp = 1;
            else if (strcmp(w, "accept") == 0)
                p->ocsp_check = RIG_OCSP_ACCEPT;
            else if (strcmp(w, "reject") == 0)
                p->ocsp_check = RIG_OCSP_REJECT;
            else if (strcmp(w, "fail") == 0)
                p->ocsp_check = RIG_OCSP_FAIL;
            else
                RIG_NEED(0, "ocsp takes request, accept, reject or fail, not '%s'", w);
        }
        set->kind = RIG_SET_OCSP;
        set->flag = p->ocsp_check != RIG_OCSP_NONE; /* install the check */
    } else if (strcmp(k, "ocsp-staple") == 0) {
        RIG_NEED(nargs == 2 && (strcmp(v, "response") == 0 || strcmp(v, "none") == 0 ||
                                strcmp(v, "fail") == 0),
                 "ocsp-staple takes response, none or fail");
        p->ocsp_staple = v[0] == 'r'   ? RIG_STAPLE_RESPONSE
                         : v[0] == 'f' ? RIG_STAPLE_FAIL
                                       : RIG_STAPLE_NONE;
        set->kind = RIG_SET_OCSP_STAPLE;
        set->flag = p->ocsp_staple == RIG_STAPLE_RESPONSE; /* read the response */
        snprintf(set->file, sizeof(set->file), "ocsp-response.der");
    } else if (strcmp(k, "session-cache") == 0) {
        for (int i = 1; i < nargs; i++) {
            int found = 0;
            for (size_t j = 0; j < sizeof(cache_names) / sizeof(cache_names[0]); j++)
                if (strcmp(l->argv[i], cache_names[j].name) == 0) {
                    set->num |= cache_names[j].bit;
                    found = 1;
                }
            RIG_NEED(found, "unknown session-cache mode '%s'", l->argv[i]);
        }
        set->kind = RIG_SET_SESSION_CACHE;
    } else if (strcmp(k, "session-id-context") == 0) {
        RIG_NEED(nargs == 2, "session-id-context takes one string");
        set->kind = RIG_SET_SESSION_ID_CONTEXT;
        set->str_len = l->argl[1];
    } else if (strcmp(k, "timeout") == 0 || strcmp(k, "tickets") == 0 ||
               strcmp(k, "early-data") == 0) {
        char *end = NULL;
        set->num = strtol(v, &end, 10);
        RIG_NEED(nargs == 2 && end != v && *end == '\0' && set->num >= 0, "%s takes a number", k);
        set->kind = strcmp(k, "early-data") == 0 ? RIG_SET_EARLY_DATA
                    : strcmp(k, "timeout") == 0  ? RIG_SET_TIMEOUT
                                                 : RIG_SET_TICKETS;
        if (set->kind == RIG_SET_EARLY_DATA)
            p->early_data = (uint32_t)set->num;
    } else if (strcmp(k, "options") == 0 || strcmp(k, "mode") == 0) {
        RIG_NEED(nargs == 2, "%s takes one comma list", k);
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", v);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            int found = 0;
            if (k[0] == 'o') {
                for (size_t j = 0; j < sizeof(option_names) / sizeof(option_names[0]); j++)
                    if (strcmp(tok, option_names[j].name) == 0) {
                        set->bits |= option_names[j].bit;
                        found = 1;
                    }
            } else {
                for (size_t j = 0; j < sizeof(mode_names) / sizeof(mode_names[0]); j++)
                    if (strcmp(tok, mode_names[j].name) == 0) {
                        set->bits |= (uint64_t)mode_names[j].bit;
                        found = 1;
                    }
            }
            RIG_NEED(found, "unknown %s '%s'", k[0] == 'o' ? "option" : "mode", tok);
        }
        set->kind = k[0] == 'o' ? RIG_SET_OPTIONS : RIG_SET_MODE;
    } else if (strcmp(k, "post-handshake-auth") == 0) {
        RIG_NEED(nargs == 2 && strcmp(v, "on") == 0, "post-handshake-auth takes on");
        set->kind = RIG_SET_POST_HANDSHAKE_AUTH;
    } else {
        const char *near = scn_nearest(k, rig_setting_names);
        return rig__invalid(c, l, "unknown setting '%s'%s%s%s", k, near ? " (did you mean '" : "",
                            near ? near : "", near ? "'?)" : "");
    }
    return RIG_PASS;
}

/* ---- peers ---- */

/* A peer that shares an earlier one's context takes its policies and may differ only in what
 * is per connection: the server name a client sends (RFC 6066 §3 resumption with another name
 * needs it). */
static rig_status c_share(rig_compiler *c, rig_peer_prog *p, const scn_peer *d,
                          const scn_line *share)
{
    const scn_line *l = share;
    RIG_NEED(share->argc == 2, "share takes the name of an earlier peer");
    int o = rig__peer_index(c->prog, share->argv[1]);
    RIG_NEED(o >= 0 && &c->prog->peers[o] < p, "share: no earlier peer named '%s'", share->argv[1]);
    const rig_peer_prog *other = &c->prog->peers[o];
    RIG_NEED(other->is_server == p->is_server, "share: '%s' has the other role", share->argv[1]);
    const char *name = p->name;
    int line = p->line;
    *p = *other;
    p->name = name;
    p->line = line;
    p->share = o;
    p->settings = NULL;
    p->n_settings = 0;
    p->sni[0] = '\0';
    for (size_t i = 0; i < d->n_settings; i++) {
        const scn_line *sl = &d->settings[i];
        if (sl == share)
            continue;
        l = sl;
        RIG_NEED(strcmp(sl->argv[0], "sni") == 0 && sl->argc == 2 && !p->is_server &&
                     strlen(sl->argv[1]) < sizeof(p->sni),
                 "a peer that shares a context takes only 'sni <name>' (client) besides 'share'");
        snprintf(p->sni, sizeof(p->sni), "%s", sl->argv[1]);
    }
    return RIG_PASS;
}

/* The method, then the settings in three passes: `verify` first and `verify-callback` and
 * `hostname` last, whatever their order, since each depends on the one before. */
static rig_status c_peer(rig_compiler *c, rig_peer_prog *p, const scn_peer *d)
{
    rig_status rs;
    const scn_line *share = find_setting(d, "share");
    const scn_line *method = find_setting(d, "method");

    p->name = d->name;
    p->is_server = d->is_server;
    p->line = d->lineno;
    p->share = -1;
    if (share != NULL)
        return c_share(c, p, d, share);

    p->method = TLSRIG_TLS_METHOD;
    if (method != NULL) {
        const scn_line *l = method;
        int nargs;
        RIG_NEED(trailing_fails(method, &nargs, &p->method_fails) == 0 && nargs == 2 &&
                     parse_method(method->argv[1]) > 0,
                 "method takes one of TLS, SSLv23, TLSv1, TLSv1_1, TLSv1_2, SSLv2, SSLv3, "
                 "TLS_CLIENT, TLS_SERVER [fails <class>]");
        p->method = parse_method(method->argv[1]);
        p->method_line = method->lineno;
        p->no_ctx = p->method_fails != 0;
    }

    p->settings = calloc(d->n_settings > 0 ? d->n_settings : 1, sizeof(*p->settings));
    if (p->settings == NULL) {
        snprintf(c->res->message, sizeof(c->res->message), "out of memory");
        return c->res->status = RIG_ERROR;
    }
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < d->n_settings; i++) {
            const scn_line *l = &d->settings[i];
            const char *k = l->argv[0];
            int is_verify = strcmp(k, "verify") == 0;
            int is_late = strcmp(k, "verify-callback") == 0 || strcmp(k, "hostname") == 0;
            if ((pass == 0) != is_verify || (pass == 2) != is_late)
                continue;
            if (strcmp(k, "method") == 0 || strcmp(k, "share") == 0)
                continue;
            int emit = 0;
            /* in place: a setting's protocol list points into itself */
            if ((rs = c_setting(c, p, l, &p->settings[p->n_settings], &emit)) != RIG_PASS)
                return rs;
            if (emit)
                p->n_settings++;
        }
    }
    return RIG_PASS;
}

rig_status rig__compile_peers(rig_compiler *c)
{
    rig_status rs;
    for (size_t i = 0; i < c->s->n_peers; i++)
        if ((rs = c_peer(c, &c->prog->peers[i], &c->s->peers[i])) != RIG_PASS)
            return rs;
    return RIG_PASS;
}

void rig__peers_prog_free(rig_program *p)
{
    for (size_t i = 0; i < p->n_peers; i++)
        free(p->peers[i].settings);
    free(p->peers);
    p->peers = NULL;
    p->n_peers = 0;
}
