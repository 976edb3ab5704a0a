/*
 * interp_expect.c - checking an expectation: what a side observed, compared with what the
 * compiled `expect` step says it must have observed. It reads the side through a rig_view
 * and the engine's getters only; every failure message says what was expected and what was
 * seen.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "interp.h"

static int say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int say(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int str_expect(const char *what, const rig_view *v, const char *want, const char *got,
                      char *why, size_t len)
{
    if (got == NULL)
        got = "none";
    if (strcmp(want, got) != 0)
        return say(why, len, "expected %s %s to be %s, got %s", what, v->name, want, got);
    return 0;
}

static int check_alert(const rig_expect *e, const rig_view *v, char *why, size_t len)
{
    const rig_obs *o = v->obs;
    for (int i = 0; i < o->n_alerts; i++)
        if (o->alerts[i].sent == e->sent && o->alerts[i].desc == e->desc &&
            (e->level < 0 || o->alerts[i].level == e->level))
            return 0;
    char seen[512] = "";
    size_t off = 0;
    for (int i = 0; i < o->n_alerts && off < sizeof(seen) - 64; i++)
        off += (size_t)snprintf(seen + off, sizeof(seen) - off, "%s%s %s %s", i ? ", " : "",
                                o->alerts[i].sent ? "sent" : "received",
                                o->alerts[i].level == 2 ? "fatal" : "warning",
                                tlsrig_alert_desc_string(o->alerts[i].desc));
    return say(why, len, "expected %s to have %s a %s%s alert; alerts seen: %s", v->name,
               e->sent ? "sent" : "received",
               e->level == 2   ? "fatal "
               : e->level == 1 ? "warning "
                               : "",
               e->word, off ? seen : "none");
}

static int check_error(const rig_expect *e, const rig_view *v, char *why, size_t len)
{
    const wire_engine *out = v->out;
    if (e->err == TLSRIG_ERR_WANT_READ || e->err == TLSRIG_ERR_WANT_WRITE) {
        if (out->last_want != e->err)
            return say(why, len, "expected the last step on %s to stop with %s, got %s", v->name,
                       e->word, out->last_want ? rig__err_word(out->last_want) : "none");
        return 0;
    }
    if (out->last_err != e->err)
        return say(why, len, "expected the last error of %s to be %s, got %s%s%s", v->name, e->word,
                   out->last_err ? rig__err_word(out->last_err) : "no error",
                   out->last_err ? ": " : "", out->last_msg);
    if (e->reason != NULL && strstr(out->last_msg, e->reason) == NULL) {
        /* the reason may sit deeper in OpenSSL's queue than the message shows */
        const tlsrig_error *err = tlsrig_conn_last_error(v->conn);
        for (size_t i = 0; i < err->n_ssl; i++)
            if (strstr(err->ssl[i].reason, e->reason) != NULL)
                return 0;
        return say(why, len, "expected the error of %s to mention \"%s\", got: %s", v->name,
                   e->reason, out->last_msg);
    }
    return 0;
}

int rig__expect_check(const rig_expect *e, const rig_view *v, char *why, size_t len)
{
    tlsrig_conn *c = v->conn;
    switch (e->kind) {
    case RIG_EXPECT_CONTEXT_FAILED:
        if (!v->ctx_failed)
            return say(why, len, "expected the context of %s to fail, but it was created", v->name);
        return 0;
    case RIG_EXPECT_ALERT:
        return check_alert(e, v, why, len);
    case RIG_EXPECT_NO_ALERT:
        for (int i = 0; i < v->obs->n_alerts; i++)
            if (v->obs->alerts[i].desc != 0)
                return say(why, len, "expected no alert at %s, saw %s %s", v->name,
                           v->obs->alerts[i].sent ? "sent" : "received",
                           tlsrig_alert_desc_string(v->obs->alerts[i].desc));
        return 0;
    case RIG_EXPECT_ERROR:
        return check_error(e, v, why, len);
    case RIG_EXPECT_VERSION: {
        /* the engine names no version yet "unknown"; scenarios say "none" */
        const char *ver = tlsrig_conn_get_protocol_version_name(c);
        if (ver != NULL && strcmp(ver, "unknown") == 0)
            ver = NULL;
        return str_expect("the version of", v, e->word, ver, why, len);
    }
    case RIG_EXPECT_CIPHER:
        return str_expect("the cipher of", v, e->word, tlsrig_conn_get_cipher_name(c), why, len);
    case RIG_EXPECT_ALPN:
    case RIG_EXPECT_NPN: {
        const uint8_t *p = NULL;
        int n = e->kind == RIG_EXPECT_ALPN ? tlsrig_conn_get_alpn_proto_negotiated(c, &p)
                                           : tlsrig_conn_get_next_proto_negotiated(c, &p);
        char got[256] = "none";
        if (n > 0)
            snprintf(got, sizeof(got), "%.*s", n, (const char *)p);
        return str_expect(e->kind == RIG_EXPECT_ALPN ? "the ALPN protocol of"
                                                     : "the NPN protocol of",
                          v, e->word, got, why, len);
    }
    case RIG_EXPECT_SERVERNAME:
        return str_expect("the server name at", v, e->word, tlsrig_conn_get_servername(c), why,
                          len);
    case RIG_EXPECT_REUSED:
        return str_expect("session reuse at", v, e->word,
                          tlsrig_conn_session_reused(c) ? "yes" : "no", why, len);
    case RIG_EXPECT_SHUTDOWN: {
        int s = tlsrig_conn_get_shutdown(c);
        const char *got = s == 0                          ? "none"
                          : s == TLSRIG_SENT_SHUTDOWN     ? "sent"
                          : s == TLSRIG_RECEIVED_SHUTDOWN ? "received"
                                                          : "both";
        return str_expect("the shutdown state of", v, e->word, got, why, len);
    }
    case RIG_EXPECT_RENEGOTIATIONS:
    case RIG_EXPECT_TICKETS:
    case RIG_EXPECT_KEYUPDATES: {
        long got = e->kind == RIG_EXPECT_RENEGOTIATIONS ? tlsrig_conn_total_renegotiations(c)
                   : e->kind == RIG_EXPECT_TICKETS      ? v->obs->tickets
                                                        : v->obs->keyupdates;
        const char *what = e->kind == RIG_EXPECT_RENEGOTIATIONS ? "renegotiations"
                           : e->kind == RIG_EXPECT_TICKETS      ? "tickets"
                                                                : "keyupdates";
        if (e->num != got)
            return say(why, len, "expected %s %s to be %ld, got %ld", what, v->name, e->num, got);
        return 0;
    }
    case RIG_EXPECT_PEER_CERT: {
        X509 *x = tlsrig_conn_get_peer_certificate(c);
        char cn[256] = "none";
        if (x != NULL) {
            if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof(cn)) < 0)
                snprintf(cn, sizeof(cn), "(no CN)");
            X509_free(x);
        }
        return str_expect("the peer certificate CN at", v, e->word, cn, why, len);
    }
    case RIG_EXPECT_VERIFY_RESULT: {
        long got = tlsrig_conn_get_verify_result(c);
        if (got != e->num)
            return say(why, len, "expected the verify result of %s to be %s, got %ld (%s)", v->name,
                       e->word, got, X509_verify_cert_error_string(got));
        return 0;
    }
    case RIG_EXPECT_EARLY_DATA: {
        int s = tlsrig_conn_get_early_data_status(c);
        const char *got = s == SSL_EARLY_DATA_ACCEPTED   ? "accepted"
                          : s == SSL_EARLY_DATA_REJECTED ? "rejected"
                                                         : "not-sent";
        return str_expect("the early data status of", v, e->word, got, why, len);
    }
    default:
        return say(why, len, "unhandled expectation kind %d", (int)e->kind);
    }
}
