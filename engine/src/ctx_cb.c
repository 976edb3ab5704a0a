/*
 * ctx_cb.c - user callbacks: the trampolines OpenSSL calls and the setters that install them.
 *
 * OpenSSL hands callbacks an SSL*; the trampolines find the tlsrig_conn in the SSL's ex_data
 * and the tlsrig_ctx in the SSL_CTX's, then call the user's function. A user callback that
 * "raises" (returns negative) is remembered in conn->cb_failed so the public call that ran it
 * reports TLSRIG_ERR_CALLBACK.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "internal.h"

static int conn_index = -1;
static int ctx_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void make_indices(void)
{
    conn_index = SSL_get_ex_new_index(0, "tlsrig_conn", NULL, NULL, NULL);
    ctx_index = SSL_CTX_get_ex_new_index(0, "tlsrig_ctx", NULL, NULL, NULL);
}

int tlsrig__conn_index(void)
{
    pthread_once(&index_once, make_indices);
    return conn_index;
}

int tlsrig__ctx_index(void)
{
    pthread_once(&index_once, make_indices);
    return ctx_index;
}

tlsrig_conn *tlsrig__conn_from_ssl(const SSL *ssl)
{
    return SSL_get_ex_data(ssl, tlsrig__conn_index());
}

/* The context whose callbacks OpenSSL would use now (it follows SSL_set_SSL_CTX). */
static tlsrig_ctx *ctx_of(const SSL *ssl)
{
    return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tlsrig__ctx_index());
}

static void raise_cb(tlsrig_conn *conn, const char *name)
{
    if (conn != NULL && conn->cb_failed == NULL)
        conn->cb_failed = name;
}

/* ---- protocol lists (RFC 7301 §3.1 wire format: 1-byte length, bytes) ---- */

int tlsrig__protos_encode(const tlsrig_bytes *protos, size_t n, uint8_t **out, size_t *outlen)
{
    size_t total = 0;
    *out = NULL;
    *outlen = 0;
    if (protos == NULL && n > 0)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        if (protos[i].len == 0 || protos[i].len > 255 || protos[i].data == NULL)
            return TLSRIG_ERR_INVALID_ARGUMENT;
        total += 1 + protos[i].len;
    }
    if (total > 65535)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    uint8_t *buf = malloc(total > 0 ? total : 1);
    if (buf == NULL)
        return TLSRIG_ERR_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        buf[off++] = (uint8_t)protos[i].len;
        memcpy(buf + off, protos[i].data, protos[i].len);
        off += protos[i].len;
    }
    *out = buf;
    *outlen = total;
    return 0;
}

int tlsrig__set_alpn_protos(tlsrig_error *err, SSL_CTX *ssl_ctx, SSL *ssl,
                            const tlsrig_bytes *protos, size_t n)
{
    uint8_t *wire = NULL;
    size_t len = 0;
    int rc = tlsrig__protos_encode(protos, n, &wire, &len);
    if (rc < 0)
        return tlsrig__err_set(err, rc, "set_alpn_protos: %s",
                               rc == TLSRIG_ERR_NOMEM ? "out of memory"
                                                      : "each protocol must be 1..255 bytes");
    /* Both setters return 0 on success. */
    rc = ssl_ctx != NULL ? SSL_CTX_set_alpn_protos(ssl_ctx, wire, (unsigned int)len)
                         : SSL_set_alpn_protos(ssl, wire, (unsigned int)len);
    free(wire);
    if (rc != 0)
        return tlsrig__err_set(err, TLSRIG_ERR_SSL, "set_alpn_protos");
    return 0;
}

int tlsrig__protos_decode(const uint8_t *wire, size_t len, tlsrig_bytes **out, size_t *n)
{
    size_t count = 0;
    *out = NULL;
    *n = 0;
    for (size_t off = 0; off < len; off += 1 + wire[off]) {
        if (wire[off] == 0 || off + 1 + wire[off] > len)
            return TLSRIG_ERR_INVALID_ARGUMENT;
        count++;
    }
    tlsrig_bytes *list = calloc(count > 0 ? count : 1, sizeof(*list));
    if (list == NULL)
        return TLSRIG_ERR_NOMEM;
    size_t i = 0;
    for (size_t off = 0; off < len; off += 1 + wire[off]) {
        list[i].data = wire + off + 1;
        list[i].len = wire[off];
        i++;
    }
    *out = list;
    *n = count;
    return 0;
}

/* ---- trampolines ---- */

int tlsrig__ctx_passwd_trampoline(char *buf, int size, int rwflag, void *u)
{
    tlsrig_ctx *ctx = u;
    if (ctx == NULL || ctx->passwd_cb == NULL)
        return 0; /* no callback: OpenSSL treats an empty password as a failure to decrypt */
    int n = ctx->passwd_cb(buf, size, rwflag, ctx->passwd_arg);
    if (n < 0 || n > size) {
        ctx->passwd_failed = 1;
        return -1;
    }
    return n;
}

int tlsrig__verify_trampoline(int preverify_ok, X509_STORE_CTX *xctx);
int tlsrig__verify_trampoline(int preverify_ok, X509_STORE_CTX *xctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    tlsrig_conn *conn = ssl != NULL ? tlsrig__conn_from_ssl(ssl) : NULL;
    /* The SSL copied the verify callback from the context it was created on. */
    tlsrig_ctx *ctx = conn != NULL ? conn->ctx : NULL;
    if (ctx == NULL || ctx->verify_cb == NULL)
        return preverify_ok;
    int rc =
        ctx->verify_cb(conn, X509_STORE_CTX_get_current_cert(xctx), X509_STORE_CTX_get_error(xctx),
                       X509_STORE_CTX_get_error_depth(xctx), preverify_ok, ctx->verify_arg);
    if (rc < 0) {
        raise_cb(conn, "verify");
        X509_STORE_CTX_set_error(xctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    if (rc == 0) {
        if (X509_STORE_CTX_get_error(xctx) == X509_V_OK)
            X509_STORE_CTX_set_error(xctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    /* Accepted: clear OpenSSL's verdict so the result reads as OK, as pyOpenSSL does. */
    X509_STORE_CTX_set_error(xctx, X509_V_OK);
    return 1;
}

static void info_trampoline(const SSL *ssl, int where, int ret)
{
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    tlsrig_ctx *ctx = ctx_of(ssl);
    if (conn != NULL && ctx != NULL && ctx->info_cb != NULL)
        ctx->info_cb(conn, where, ret, ctx->info_arg);
}

static int servername_trampoline(SSL *ssl, int *al, void *arg)
{
    TLSRIG__UNUSED(arg);
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    /* OpenSSL calls the servername callback of the initial context (session_ctx). */
    tlsrig_ctx *ctx = conn != NULL ? conn->ctx : NULL;
    if (ctx == NULL || ctx->servername_cb == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (ctx->servername_cb(conn, ctx->servername_arg) < 0) {
        raise_cb(conn, "servername");
        *al = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* select_proto runs a protocol selection callback (ALPN or NPN, same signature) on the
 * peer's wire-format list |in| and returns OpenSSL's SSL_TLSEXT_ERR_* answer. What the
 * callback's TLSRIG_NO_OVERLAPPING_PROTOCOLS means differs: ALPN declines the extension,
 * NPN (which must pick something) takes the peer's first protocol, as OpenSSL does. */
static int select_proto(SSL *ssl, tlsrig_alpn_select_cb cb, void *arg, int npn,
                        const unsigned char *in, unsigned int inlen, const unsigned char **out,
                        unsigned char *outlen)
{
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    tlsrig_bytes *list = NULL;
    size_t n = 0, chosen = 0;
    int ret = SSL_TLSEXT_ERR_ALERT_FATAL;

    if (cb == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (tlsrig__protos_decode(in, inlen, &list, &n) < 0)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* RFC 7301 §3.1: malformed list */
    int rc = cb(conn, list, n, &chosen, arg);
    if (rc == TLSRIG_NO_OVERLAPPING_PROTOCOLS && !npn) {
        ret = SSL_TLSEXT_ERR_NOACK;
    } else if (rc == TLSRIG_NO_OVERLAPPING_PROTOCOLS && n > 0) {
        *out = list[0].data;
        *outlen = (unsigned char)list[0].len;
        ret = SSL_TLSEXT_ERR_OK;
    } else if (rc != 0 || chosen >= n) {
        raise_cb(conn, npn ? "npn_select" : "alpn_select");
    } else {
        /* |out| points into |in|; OpenSSL copies the selection before |in| goes away. */
        *out = list[chosen].data;
        *outlen = (unsigned char)list[chosen].len;
        ret = SSL_TLSEXT_ERR_OK;
    }
    free(list);
    return ret;
}

static int alpn_trampoline(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg)
{
    TLSRIG__UNUSED(arg);
    tlsrig_ctx *ctx = ctx_of(ssl);
    if (ctx == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    return select_proto(ssl, ctx->alpn_cb, ctx->alpn_arg, 0, in, inlen, out, outlen);
}

static int npn_advertise_trampoline(SSL *ssl, const unsigned char **out, unsigned int *outlen,
                                    void *arg)
{
    TLSRIG__UNUSED(arg);
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    tlsrig_ctx *ctx = ctx_of(ssl);
    const tlsrig_bytes *protos = NULL;
    size_t n = 0;

    if (conn == NULL || ctx == NULL || ctx->npn_adv_cb == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (ctx->npn_adv_cb(conn, &protos, &n, ctx->npn_adv_arg) < 0) {
        raise_cb(conn, "npn_advertise");
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    free(conn->npn_wire);
    conn->npn_wire = NULL;
    if (tlsrig__protos_encode(protos, n, &conn->npn_wire, &conn->npn_wire_len) < 0) {
        raise_cb(conn, "npn_advertise");
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = conn->npn_wire;
    *outlen = (unsigned int)conn->npn_wire_len;
    return SSL_TLSEXT_ERR_OK;
}

static int npn_select_trampoline(SSL *ssl, unsigned char **out, unsigned char *outlen,
                                 const unsigned char *in, unsigned int inlen, void *arg)
{
    TLSRIG__UNUSED(arg);
    tlsrig_ctx *ctx = ctx_of(ssl);
    const unsigned char *chosen = NULL;
    if (ctx == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    int ret = select_proto(ssl, ctx->npn_sel_cb, ctx->npn_sel_arg, 1, in, inlen, &chosen, outlen);
    *out = (unsigned char *)chosen; /* OpenSSL's prototype is not const; it only reads */
    return ret;
}

/* One OpenSSL slot serves both OCSP roles (RFC 6066 §8): the server staples, the client
 * checks what was stapled. */
static int ocsp_trampoline(SSL *ssl, void *arg)
{
    TLSRIG__UNUSED(arg);
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    tlsrig_ctx *ctx = ctx_of(ssl);
    if (conn == NULL || ctx == NULL)
        return SSL_is_server(ssl) ? SSL_TLSEXT_ERR_NOACK : 1;

    if (SSL_is_server(ssl)) {
        const uint8_t *resp = NULL;
        size_t len = 0;
        if (ctx->ocsp_server_cb == NULL)
            return SSL_TLSEXT_ERR_NOACK;
        if (ctx->ocsp_server_cb(conn, &resp, &len, ctx->ocsp_server_arg) < 0 ||
            (len > 0 && resp == NULL)) {
            raise_cb(conn, "ocsp_server");
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        if (len == 0)
            return SSL_TLSEXT_ERR_NOACK;
        unsigned char *copy = OPENSSL_memdup(resp, len);
        if (copy == NULL || !SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len)) {
            OPENSSL_free(copy);
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        return SSL_TLSEXT_ERR_OK;
    }

    if (ctx->ocsp_client_cb == NULL)
        return 1;
    const unsigned char *resp = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &resp);
    int rc = ctx->ocsp_client_cb(conn, resp, len > 0 && resp != NULL ? (size_t)len : 0,
                                 ctx->ocsp_client_arg);
    if (rc < 0) {
        raise_cb(conn, "ocsp_client");
        return -1;
    }
    return rc > 0 ? 1 : 0;
}

static void keylog_trampoline(const SSL *ssl, const char *line)
{
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    tlsrig_ctx *ctx = ctx_of(ssl);
    if (conn != NULL && ctx != NULL && ctx->keylog_cb != NULL)
        ctx->keylog_cb(conn, line, ctx->keylog_arg);
}

static void msg_trampoline(int write_p, int version, int content_type, const void *buf, size_t len,
                           SSL *ssl, void *arg)
{
    TLSRIG__UNUSED(arg);
    tlsrig_conn *conn = tlsrig__conn_from_ssl(ssl);
    tlsrig_ctx *ctx = conn != NULL ? conn->ctx : NULL;
    const uint8_t *p = buf;
    tlsrig_observe_event ev;

    if (ctx == NULL || ctx->observe_cb == NULL)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.sent = write_p != 0;
    ev.is_server = SSL_is_server(ssl);
    ev.version = version;
    ev.content_type = content_type;
    ev.handshake_type = -1;
    ev.alert_level = -1;
    ev.alert_desc = -1;
    ev.data = p;
    ev.len = len;
    switch (content_type) {
    case SSL3_RT_HEADER:
        ev.kind = TLSRIG_OBSERVE_RECORD;
        ev.content_type = len > 0 ? p[0] : -1;
        break;
    case SSL3_RT_INNER_CONTENT_TYPE:
        ev.kind = TLSRIG_OBSERVE_INNER_TYPE;
        ev.content_type = len > 0 ? p[0] : -1;
        break;
    case SSL3_RT_HANDSHAKE:
        ev.kind = TLSRIG_OBSERVE_HANDSHAKE;
        ev.handshake_type = len > 0 ? p[0] : -1;
        break;
    case SSL3_RT_ALERT:
        ev.kind = TLSRIG_OBSERVE_ALERT;
        if (len >= 2) {
            ev.alert_level = p[0];
            ev.alert_desc = p[1];
        }
        break;
    case SSL3_RT_CHANGE_CIPHER_SPEC:
        ev.kind = TLSRIG_OBSERVE_CCS;
        break;
    default:
        return; /* not a TLS record event (e.g. DTLS) */
    }
    ctx->observe_cb(conn, &ev, ctx->observe_arg);
}

void tlsrig__ctx_install_callbacks(tlsrig_ctx *ctx)
{
    /* The cheap, always-harmless trampolines go in once; they do nothing until a user
     * callback is set. The message callback is installed only with an observer since
     * OpenSSL calls it for every record; the keylog one only with a keylog callback, since
     * with any callback set OpenSSL hex-formats every secret (sprintf per byte, about a
     * tenth of a resumed handshake's cost). */
    SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, servername_trampoline);
}

/* ---- setters ---- */

void tlsrig_ctx_set_info_callback(tlsrig_ctx *ctx, tlsrig_info_cb cb, void *arg)
{
    ctx->info_cb = cb;
    ctx->info_arg = arg;
    SSL_CTX_set_info_callback(ctx->ssl_ctx, cb != NULL ? info_trampoline : NULL);
}

void tlsrig_ctx_set_tlsext_servername_callback(tlsrig_ctx *ctx, tlsrig_servername_cb cb, void *arg)
{
    ctx->servername_cb = cb;
    ctx->servername_arg = arg;
}

void tlsrig_ctx_set_alpn_select_callback(tlsrig_ctx *ctx, tlsrig_alpn_select_cb cb, void *arg)
{
    ctx->alpn_cb = cb;
    ctx->alpn_arg = arg;
    SSL_CTX_set_alpn_select_cb(ctx->ssl_ctx, cb != NULL ? alpn_trampoline : NULL, NULL);
}

void tlsrig_ctx_set_npn_advertise_callback(tlsrig_ctx *ctx, tlsrig_npn_advertise_cb cb, void *arg)
{
    ctx->npn_adv_cb = cb;
    ctx->npn_adv_arg = arg;
    SSL_CTX_set_next_protos_advertised_cb(ctx->ssl_ctx,
                                          cb != NULL ? npn_advertise_trampoline : NULL, NULL);
}

void tlsrig_ctx_set_npn_select_callback(tlsrig_ctx *ctx, tlsrig_npn_select_cb cb, void *arg)
{
    ctx->npn_sel_cb = cb;
    ctx->npn_sel_arg = arg;
    SSL_CTX_set_next_proto_select_cb(ctx->ssl_ctx, cb != NULL ? npn_select_trampoline : NULL, NULL);
}

static void update_ocsp(tlsrig_ctx *ctx)
{
    int any = ctx->ocsp_server_cb != NULL || ctx->ocsp_client_cb != NULL;
    if (any)
        SSL_CTX_set_tlsext_status_cb(ctx->ssl_ctx, ocsp_trampoline);
    else
        SSL_CTX_callback_ctrl(ctx->ssl_ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB, NULL);
}

void tlsrig_ctx_set_ocsp_server_callback(tlsrig_ctx *ctx, tlsrig_ocsp_server_cb cb, void *arg)
{
    ctx->ocsp_server_cb = cb;
    ctx->ocsp_server_arg = arg;
    update_ocsp(ctx);
}

void tlsrig_ctx_set_ocsp_client_callback(tlsrig_ctx *ctx, tlsrig_ocsp_client_cb cb, void *arg)
{
    ctx->ocsp_client_cb = cb;
    ctx->ocsp_client_arg = arg;
    update_ocsp(ctx);
}

void tlsrig_ctx_set_keylog_callback(tlsrig_ctx *ctx, tlsrig_keylog_cb cb, void *arg)
{
    ctx->keylog_cb = cb;
    ctx->keylog_arg = arg;
    /* OpenSSL reads the callback of the context in force (SSL_set_SSL_CTX), as we do. */
    SSL_CTX_set_keylog_callback(ctx->ssl_ctx, cb != NULL ? keylog_trampoline : NULL);
}

void tlsrig_ctx_set_observer(tlsrig_ctx *ctx, tlsrig_observe_cb cb, void *arg)
{
    ctx->observe_cb = cb;
    ctx->observe_arg = arg;
    SSL_CTX_set_msg_callback(ctx->ssl_ctx, cb != NULL ? msg_trampoline : NULL);
}

const char *tlsrig_alert_desc_string(int desc)
{
    switch (desc) {
    case 0:
        return "close_notify";
    case 10:
        return "unexpected_message";
    case 20:
        return "bad_record_mac";
    case 21:
        return "decryption_failed";
    case 22:
        return "record_overflow";
    case 30:
        return "decompression_failure";
    case 40:
        return "handshake_failure";
    case 41:
        return "no_certificate";
    case 42:
        return "bad_certificate";
    case 43:
        return "unsupported_certificate";
    case 44:
        return "certificate_revoked";
    case 45:
        return "certificate_expired";
    case 46:
        return "certificate_unknown";
    case 47:
        return "illegal_parameter";
    case 48:
        return "unknown_ca";
    case 49:
        return "access_denied";
    case 50:
        return "decode_error";
    case 51:
        return "decrypt_error";
    case 60:
        return "export_restriction";
    case 70:
        return "protocol_version";
    case 71:
        return "insufficient_security";
    case 80:
        return "internal_error";
    case 86:
        return "inappropriate_fallback";
    case 90:
        return "user_canceled";
    case 100:
        return "no_renegotiation";
    case 109:
        return "missing_extension";
    case 110:
        return "unsupported_extension";
    case 111:
        return "certificate_unobtainable";
    case 112:
        return "unrecognized_name";
    case 113:
        return "bad_certificate_status_response";
    case 114:
        return "bad_certificate_hash_value";
    case 115:
        return "unknown_psk_identity";
    case 116:
        return "certificate_required";
    case 120:
        return "no_application_protocol";
    default:
        return "unknown_alert";
    }
}
