/*
 * compile_expect.c - `expect <what> <side> <value>` into a rig_expect: the kind, and the
 * value converted (error classes, alert codes, verify results, shutdown flags, counts).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "prog.h"

static const char *const expect_names[] = {
    "version",  "cipher",         "alpn",      "npn",           "servername",     "reused",
    "shutdown", "renegotiations", "peer-cert", "verify-result", "error",          "alert",
    "no-alert", "early-data",     "tickets",   "keyupdates",    "context-failed", NULL};

/* The same order as expect_names. */
static const rig_expect_kind expect_kinds[] = {
    RIG_EXPECT_VERSION,       RIG_EXPECT_CIPHER,         RIG_EXPECT_ALPN,
    RIG_EXPECT_NPN,           RIG_EXPECT_SERVERNAME,     RIG_EXPECT_REUSED,
    RIG_EXPECT_SHUTDOWN,      RIG_EXPECT_RENEGOTIATIONS, RIG_EXPECT_PEER_CERT,
    RIG_EXPECT_VERIFY_RESULT, RIG_EXPECT_ERROR,          RIG_EXPECT_ALERT,
    RIG_EXPECT_NO_ALERT,      RIG_EXPECT_EARLY_DATA,     RIG_EXPECT_TICKETS,
    RIG_EXPECT_KEYUPDATES,    RIG_EXPECT_CONTEXT_FAILED,
};

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

int rig__alert_desc(const char *w)
{
    for (int d = 0; d < 256; d++)
        if (strcmp(tlsrig_alert_desc_string(d), w) == 0)
            return d;
    return -1;
}

static int is_number(const char *w)
{
    char *end = NULL;
    strtol(w, &end, 10);
    return end != w && *end == '\0';
}

/* expect alert <side> sent|received [fatal|warning] <description> */
static rig_status c_alert(rig_compiler *c, const scn_line *l, rig_expect *e)
{
    RIG_NEED(l->argc == 5 || l->argc == 6,
             "expect alert takes <side> sent|received [fatal|warning] <description>");
    e->sent = strcmp(l->argv[3], "sent") == 0;
    RIG_NEED(e->sent || strcmp(l->argv[3], "received") == 0, "expect alert: sent or received");
    e->level = -1;
    if (l->argc == 6) {
        RIG_NEED(strcmp(l->argv[4], "fatal") == 0 || strcmp(l->argv[4], "warning") == 0,
                 "expect alert: level is fatal or warning");
        e->level = l->argv[4][0] == 'f' ? 2 : 1;
    }
    e->word = l->argv[l->argc - 1];
    e->desc = rig__alert_desc(e->word);
    RIG_NEED(e->desc >= 0, "expect alert: unknown alert '%s'", e->word);
    return RIG_PASS;
}

/* expect error <side> <class> [reason "text"] */
static rig_status c_error(rig_compiler *c, const scn_line *l, rig_expect *e)
{
    RIG_NEED(l->argc == 4 || (l->argc == 6 && strcmp(l->argv[4], "reason") == 0),
             "expect error takes <side> <class> [reason \"text\"]");
    e->word = l->argv[3];
    e->err = rig__err_class(e->word);
    RIG_NEED(e->err < 0, "unknown error class '%s'", e->word);
    e->reason = l->argc == 6 ? l->argv[5] : NULL;
    return RIG_PASS;
}

/* expect <what> <side> <value>, for the kinds that take one word */
static rig_status c_value(rig_compiler *c, const scn_line *l, rig_expect *e)
{
    const char *what = l->argv[1];
    RIG_NEED(l->argc == 4, "expect %s takes <side> <value>", what);
    const char *want = e->word = l->argv[3];
    switch (e->kind) {
    case RIG_EXPECT_VERSION:
        RIG_NEED(strncmp(want, "TLSv1", 5) == 0 || strcmp(want, "none") == 0,
                 "expect version takes TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3");
        break;
    case RIG_EXPECT_REUSED:
        RIG_NEED(strcmp(want, "yes") == 0 || strcmp(want, "no") == 0, "expect reused: yes or no");
        e->num = want[0] == 'y';
        break;
    case RIG_EXPECT_SHUTDOWN:
        e->num = strcmp(want, "none") == 0       ? 0
                 : strcmp(want, "sent") == 0     ? TLSRIG_SENT_SHUTDOWN
                 : strcmp(want, "received") == 0 ? TLSRIG_RECEIVED_SHUTDOWN
                 : strcmp(want, "both") == 0     ? TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN
                                                 : -1;
        RIG_NEED(e->num >= 0, "expect shutdown: none, sent, received or both");
        break;
    case RIG_EXPECT_RENEGOTIATIONS:
    case RIG_EXPECT_TICKETS:
    case RIG_EXPECT_KEYUPDATES:
        RIG_NEED(is_number(want), "expect %s takes a count", what);
        e->num = strtol(want, NULL, 10);
        break;
    case RIG_EXPECT_VERIFY_RESULT:
        e->num = -1;
        for (size_t i = 0; i < sizeof(verify_names) / sizeof(verify_names[0]); i++)
            if (strcmp(want, verify_names[i].name) == 0)
                e->num = verify_names[i].code;
        RIG_NEED(e->num >= 0, "expect verify-result: unknown result '%s'", want);
        break;
    case RIG_EXPECT_EARLY_DATA:
        e->num = strcmp(want, "accepted") == 0   ? SSL_EARLY_DATA_ACCEPTED
                 : strcmp(want, "rejected") == 0 ? SSL_EARLY_DATA_REJECTED
                 : strcmp(want, "not-sent") == 0 ? SSL_EARLY_DATA_NOT_SENT
                                                 : -1;
        RIG_NEED(e->num >= 0, "expect early-data: accepted, rejected or not-sent");
        break;
    default: /* cipher, alpn, npn, servername, peer-cert: any text */
        break;
    }
    return RIG_PASS;
}

rig_status rig__compile_expect(rig_compiler *c, const scn_line *l, rig_step *st)
{
    rig_expect *e = &st->expect;
    RIG_NEED(l->argc >= 3, "expect takes <what> <side> ...");
    const char *what = l->argv[1];
    int known = -1;
    for (int i = 0; expect_names[i] != NULL; i++)
        if (strcmp(what, expect_names[i]) == 0)
            known = i;
    if (known < 0) {
        const char *near = scn_nearest(what, expect_names);
        return rig__invalid(c, l, "unknown expectation '%s'%s%s%s", what,
                            near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    e->kind = expect_kinds[known];
    if (e->kind == RIG_EXPECT_CONTEXT_FAILED) {
        RIG_NEED(l->argc == 3, "expect context-failed takes <peer>");
        st->peer = rig__peer_index(c->prog, l->argv[2]);
        RIG_NEED(st->peer >= 0, "no peer named '%s'", l->argv[2]);
        return RIG_PASS;
    }
    RIG_NEED(c->have_conn, "expect: there is no connection (a context failed to be created?)");
    rig_status rs = rig__compile_side(c, l, 2, st);
    if (rs != RIG_PASS)
        return rs;
    switch (e->kind) {
    case RIG_EXPECT_ALERT:
        return c_alert(c, l, e);
    case RIG_EXPECT_NO_ALERT:
        RIG_NEED(l->argc == 3, "expect no-alert takes <side>");
        return RIG_PASS;
    case RIG_EXPECT_ERROR:
        return c_error(c, l, e);
    default:
        return c_value(c, l, e);
    }
}
