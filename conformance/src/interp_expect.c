/*
 * interp_expect.c - `expect` steps: what a side observed, compared with what the scenario
 * says it must have observed. Every failure message says what was expected and what was
 * seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "interp.h"

static const char *const expect_names[] = {
    "version",  "cipher",         "alpn",      "npn",           "servername",     "reused",
    "shutdown", "renegotiations", "peer-cert", "verify-result", "error",          "alert",
    "no-alert", "early-data",     "tickets",   "keyupdates",    "context-failed", NULL};

static const struct {
    const char *name;
    long code;
} verify_names[] = {
    {"ok", X509_V_OK},
    {"CERT_HAS_EXPIRED", X509_V_ERR_CERT_HAS_EXPIRED},
    {"CERT_NOT_YET_VALID", X509_V_ERR_CERT_NOT_YET_VALID},
    {"UNABLE_TO_GET_ISSUER_CERT_LOCALLY", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
    {"UNABLE_TO_GET_ISSUER_CERT", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT},
    {"UNABLE_TO_VERIFY_LEAF_SIGNATURE", X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE},
    {"SELF_SIGNED_CERT_IN_CHAIN", X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN},
    {"DEPTH_ZERO_SELF_SIGNED_CERT", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
    {"CERT_CHAIN_TOO_LONG", X509_V_ERR_CERT_CHAIN_TOO_LONG},
    {"HOSTNAME_MISMATCH", X509_V_ERR_HOSTNAME_MISMATCH},
    {"APPLICATION_VERIFICATION", X509_V_ERR_APPLICATION_VERIFICATION},
    {"INVALID_PURPOSE", X509_V_ERR_INVALID_PURPOSE},
    {"CERT_UNTRUSTED", X509_V_ERR_CERT_UNTRUSTED},
    {"CERT_REJECTED", X509_V_ERR_CERT_REJECTED},
};

static int alert_desc(const char *w)
{
    for (int d = 0; d < 256; d++)
        if (strcmp(tlsrig_alert_desc_string(d), w) == 0)
            return d;
    return -1;
}

#define NEED(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return rig__invalid(st, l, __VA_ARGS__);                                               \
    } while (0)

static rig_status str_expect(rig_state *st, const char *what, rig_side *side, const char *want,
                             const char *got)
{
    if (got == NULL)
        got = "none";
    if (strcmp(want, got) != 0)
        return rig__fail(st, "expected %s %s to be %s, got %s", what, side->peer->decl->name, want,
                         got);
    return RIG_PASS;
}

static rig_status num_expect(rig_state *st, const char *what, rig_side *side, const char *want,
                             long got)
{
    char *end = NULL;
    long w = strtol(want, &end, 10);
    if (w != got)
        return rig__fail(st, "expected %s %s to be %ld, got %ld", what, side->peer->decl->name, w,
                         got);
    return RIG_PASS;
}

static int is_number(const char *w)
{
    char *end = NULL;
    strtol(w, &end, 10);
    return end != w && *end == '\0';
}

static rig_status expect_alert(rig_state *st, const scn_line *l, rig_side *side, int dry)
{
    /* expect alert <side> sent|received [fatal|warning] <description> */
    NEED(l->argc == 5 || l->argc == 6,
         "expect alert takes <side> sent|received [fatal|warning] <description>");
    int sent = strcmp(l->argv[3], "sent") == 0;
    NEED(sent || strcmp(l->argv[3], "received") == 0, "expect alert: sent or received");
    int level = -1;
    if (l->argc == 6) {
        NEED(strcmp(l->argv[4], "fatal") == 0 || strcmp(l->argv[4], "warning") == 0,
             "expect alert: level is fatal or warning");
        level = l->argv[4][0] == 'f' ? 2 : 1;
    }
    int desc = alert_desc(l->argv[l->argc - 1]);
    NEED(desc >= 0, "expect alert: unknown alert '%s'", l->argv[l->argc - 1]);
    if (dry)
        return RIG_PASS;
    for (int i = 0; i < side->n_alerts; i++)
        if (side->alerts[i].sent == sent && side->alerts[i].desc == desc &&
            (level < 0 || side->alerts[i].level == level))
            return RIG_PASS;
    char seen[512] = "";
    size_t off = 0;
    for (int i = 0; i < side->n_alerts && off < sizeof(seen) - 64; i++)
        off += (size_t)snprintf(seen + off, sizeof(seen) - off, "%s%s %s %s", i ? ", " : "",
                                side->alerts[i].sent ? "sent" : "received",
                                side->alerts[i].level == 2 ? "fatal" : "warning",
                                tlsrig_alert_desc_string(side->alerts[i].desc));
    return rig__fail(st, "expected %s to have %s a %s%s alert; alerts seen: %s",
                     side->peer->decl->name, sent ? "sent" : "received",
                     level == 2   ? "fatal "
                     : level == 1 ? "warning "
                                  : "",
                     l->argv[l->argc - 1], off ? seen : "none");
}

rig_status rig__expect(rig_state *st, const scn_line *l, int dry)
{
    NEED(l->argc >= 3, "expect takes <what> <side> ...");
    const char *what = l->argv[1];
    int known = 0;
    for (int i = 0; expect_names[i] != NULL; i++)
        if (strcmp(what, expect_names[i]) == 0)
            known = 1;
    if (!known) {
        const char *near = scn_nearest(what, expect_names);
        return rig__invalid(st, l, "unknown expectation '%s'%s%s%s", what,
                            near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    if (strcmp(what, "context-failed") == 0) {
        NEED(l->argc == 3, "expect context-failed takes <peer>");
        rig_peer *p = rig__peer(st, l->argv[2]);
        NEED(p != NULL, "no peer named '%s'", l->argv[2]);
        if (!dry && !p->ctx_failed)
            return rig__fail(st, "expected the context of %s to fail, but it was created",
                             l->argv[2]);
        return RIG_PASS;
    }
    rig_side *side = rig__side(st, l->argv[2]);
    NEED(side != NULL, "'%s' is not a peer of the current connection", l->argv[2]);
    if (strcmp(what, "alert") == 0)
        return expect_alert(st, l, side, dry);
    if (strcmp(what, "no-alert") == 0) {
        NEED(l->argc == 3, "expect no-alert takes <side>");
        if (dry)
            return RIG_PASS;
        for (int i = 0; i < side->n_alerts; i++)
            if (side->alerts[i].desc != 0)
                return rig__fail(st, "expected no alert at %s, saw %s %s", side->peer->decl->name,
                                 side->alerts[i].sent ? "sent" : "received",
                                 tlsrig_alert_desc_string(side->alerts[i].desc));
        return RIG_PASS;
    }
    if (strcmp(what, "error") == 0) {
        NEED(l->argc == 4 || (l->argc == 6 && strcmp(l->argv[4], "reason") == 0),
             "expect error takes <side> <class> [reason \"text\"]");
        int want = rig__err_class(l->argv[3]);
        NEED(want < 0, "unknown error class '%s'", l->argv[3]);
        if (dry)
            return RIG_PASS;
        if (want == TLSRIG_ERR_WANT_READ || want == TLSRIG_ERR_WANT_WRITE) {
            if (side->last_want != want)
                return rig__fail(st, "expected the last step on %s to stop with %s, got %s",
                                 side->peer->decl->name, l->argv[3],
                                 side->last_want ? rig__err_word(side->last_want) : "none");
            return RIG_PASS;
        }
        if (side->last_err != want)
            return rig__fail(st, "expected the last error of %s to be %s, got %s%s%s",
                             side->peer->decl->name, l->argv[3],
                             side->last_err ? rig__err_word(side->last_err) : "no error",
                             side->last_err ? ": " : "", side->last_msg);
        if (l->argc == 6 && strstr(side->last_msg, l->argv[5]) == NULL) {
            /* the reason may sit deeper in OpenSSL's queue than the message shows */
            const tlsrig_error *e = tlsrig_conn_last_error(side->conn);
            for (size_t i = 0; i < e->n_ssl; i++)
                if (strstr(e->ssl[i].reason, l->argv[5]) != NULL)
                    return RIG_PASS;
            return rig__fail(st, "expected the error of %s to mention \"%s\", got: %s",
                             side->peer->decl->name, l->argv[5], side->last_msg);
        }
        return RIG_PASS;
    }

    NEED(l->argc == 4, "expect %s takes <side> <value>", what);
    const char *want = l->argv[3];
    tlsrig_conn *c = side->conn;

    if (strcmp(what, "version") == 0) {
        NEED(strncmp(want, "TLSv1", 5) == 0 || strcmp(want, "none") == 0,
             "expect version takes TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3");
        /* the engine names no version yet "unknown"; scenarios say "none" */
        const char *ver = dry ? NULL : tlsrig_conn_get_protocol_version_name(c);
        if (ver != NULL && strcmp(ver, "unknown") == 0)
            ver = NULL;
        return dry ? RIG_PASS : str_expect(st, "the version of", side, want, ver);
    }
    if (strcmp(what, "cipher") == 0)
        return dry ? RIG_PASS
                   : str_expect(st, "the cipher of", side, want, tlsrig_conn_get_cipher_name(c));
    if (strcmp(what, "alpn") == 0 || strcmp(what, "npn") == 0) {
        if (dry)
            return RIG_PASS;
        const uint8_t *p = NULL;
        int n = what[0] == 'a' ? tlsrig_conn_get_alpn_proto_negotiated(c, &p)
                               : tlsrig_conn_get_next_proto_negotiated(c, &p);
        char got[256] = "none";
        if (n > 0)
            snprintf(got, sizeof(got), "%.*s", n, (const char *)p);
        return str_expect(st, what[0] == 'a' ? "the ALPN protocol of" : "the NPN protocol of", side,
                          want, got);
    }
    if (strcmp(what, "servername") == 0)
        return dry ? RIG_PASS
                   : str_expect(st, "the server name at", side, want,
                                tlsrig_conn_get_servername(c));
    if (strcmp(what, "reused") == 0) {
        NEED(strcmp(want, "yes") == 0 || strcmp(want, "no") == 0, "expect reused: yes or no");
        return dry ? RIG_PASS
                   : str_expect(st, "session reuse at", side, want,
                                tlsrig_conn_session_reused(c) ? "yes" : "no");
    }
    if (strcmp(what, "shutdown") == 0) {
        NEED(strcmp(want, "none") == 0 || strcmp(want, "sent") == 0 ||
                 strcmp(want, "received") == 0 || strcmp(want, "both") == 0,
             "expect shutdown: none, sent, received or both");
        if (dry)
            return RIG_PASS;
        int v = tlsrig_conn_get_shutdown(c);
        const char *got = v == 0                          ? "none"
                          : v == TLSRIG_SENT_SHUTDOWN     ? "sent"
                          : v == TLSRIG_RECEIVED_SHUTDOWN ? "received"
                                                          : "both";
        return str_expect(st, "the shutdown state of", side, want, got);
    }
    if (strcmp(what, "renegotiations") == 0 || strcmp(what, "tickets") == 0 ||
        strcmp(what, "keyupdates") == 0) {
        NEED(is_number(want), "expect %s takes a count", what);
        if (dry)
            return RIG_PASS;
        long got = what[0] == 'r'   ? tlsrig_conn_total_renegotiations(c)
                   : what[0] == 't' ? side->tickets
                                    : side->keyupdates;
        return num_expect(st, what, side, want, got);
    }
    if (strcmp(what, "peer-cert") == 0) {
        if (dry)
            return RIG_PASS;
        X509 *x = tlsrig_conn_get_peer_certificate(c);
        char cn[256] = "none";
        if (x != NULL) {
            if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof(cn)) < 0)
                snprintf(cn, sizeof(cn), "(no CN)");
            X509_free(x);
        }
        return str_expect(st, "the peer certificate CN at", side, want, cn);
    }
    if (strcmp(what, "verify-result") == 0) {
        long code = -1;
        for (size_t i = 0; i < sizeof(verify_names) / sizeof(verify_names[0]); i++)
            if (strcmp(want, verify_names[i].name) == 0)
                code = verify_names[i].code;
        NEED(code >= 0, "expect verify-result: unknown result '%s'", want);
        if (dry)
            return RIG_PASS;
        long got = tlsrig_conn_get_verify_result(c);
        if (got != code)
            return rig__fail(st, "expected the verify result of %s to be %s, got %ld (%s)",
                             side->peer->decl->name, want, got, X509_verify_cert_error_string(got));
        return RIG_PASS;
    }
    if (strcmp(what, "early-data") == 0) {
        NEED(strcmp(want, "accepted") == 0 || strcmp(want, "rejected") == 0 ||
                 strcmp(want, "not-sent") == 0,
             "expect early-data: accepted, rejected or not-sent");
        if (dry)
            return RIG_PASS;
        int s = tlsrig_conn_get_early_data_status(c);
        const char *got = s == SSL_EARLY_DATA_ACCEPTED   ? "accepted"
                          : s == SSL_EARLY_DATA_REJECTED ? "rejected"
                                                         : "not-sent";
        return str_expect(st, "the early data status of", side, want, got);
    }
    return rig__invalid(st, l, "unhandled expectation '%s'", what);
}
