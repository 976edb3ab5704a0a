/*
 * conn.c - tlsrig_conn: pyOpenSSL's Connection on an SSL, over memory BIOs or a socket:
 * creation, handshake, application data, shutdown, renegotiation and TLS 1.3 extras.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "internal.h"

int tlsrig_conn_new(tlsrig_ctx *ctx, int fd, tlsrig_conn **out)
{
    tlsrig_conn *conn = NULL;

    if (ctx == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    tlsrig__begin(&ctx->err);
    if (out == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT, "conn_new: out is NULL");
    *out = NULL;
    conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_NOMEM, "conn_new: out of memory");
    conn->fd = fd;
    conn->ssl = SSL_new(ctx->ssl_ctx);
    if (conn->ssl == NULL)
        goto ssl_fail;
    tlsrig_ctx_up_ref(ctx);
    conn->ctx = ctx;
    tlsrig_ctx_up_ref(ctx);
    conn->cur = ctx;
    if (!SSL_set_ex_data(conn->ssl, tlsrig__conn_index(), conn))
        goto ssl_fail;
    /* As pyOpenSSL: retry internally after non-application records instead of surfacing a
     * spurious want-read while bytes are still buffered. */
    SSL_set_mode(conn->ssl, SSL_MODE_AUTO_RETRY);

    if (fd >= 0) {
        if (!SSL_set_fd(conn->ssl, fd))
            goto ssl_fail;
    } else {
        conn->into_ssl = BIO_new(BIO_s_mem());
        conn->from_ssl = BIO_new(BIO_s_mem());
        if (conn->into_ssl == NULL || conn->from_ssl == NULL) {
            BIO_free(conn->into_ssl);
            BIO_free(conn->from_ssl);
            conn->into_ssl = conn->from_ssl = NULL;
            goto ssl_fail;
        }
        /* An empty memory BIO reads as "retry" (want read), not EOF, until bio_shutdown. */
        BIO_set_mem_eof_return(conn->into_ssl, -1);
        BIO_set_mem_eof_return(conn->from_ssl, -1);
        SSL_set_bio(conn->ssl, conn->into_ssl, conn->from_ssl);
    }
    *out = conn;
    return 0;

ssl_fail : {
    int rc = tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "conn_new: cannot create connection");
    tlsrig_conn_free(conn);
    return rc;
}
}

void tlsrig_conn_free(tlsrig_conn *conn)
{
    if (conn == NULL)
        return;
    SSL_free(conn->ssl);
    tlsrig_ctx_free(conn->cur);
    tlsrig_ctx_free(conn->ctx);
    free(conn->npn_wire);
    free(conn);
}

const tlsrig_error *tlsrig_conn_last_error(const tlsrig_conn *conn)
{
    return &conn->err;
}

SSL *tlsrig_conn_get0_ssl(const tlsrig_conn *conn)
{
    return conn->ssl;
}

int tlsrig_conn_get_fd(const tlsrig_conn *conn)
{
    return conn->fd;
}

tlsrig_ctx *tlsrig_conn_get_context(const tlsrig_conn *conn)
{
    return conn->cur;
}

int tlsrig_conn_set_context(tlsrig_conn *conn, tlsrig_ctx *ctx)
{
    tlsrig__begin(&conn->err);
    if (ctx == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_context: context is NULL");
    if (SSL_set_SSL_CTX(conn->ssl, ctx->ssl_ctx) == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "set_context");
    tlsrig_ctx_up_ref(ctx);
    tlsrig_ctx_free(conn->cur);
    conn->cur = ctx;
    return 0;
}

void tlsrig_conn_set_app_data(tlsrig_conn *conn, void *data)
{
    conn->app_data = data;
}

void *tlsrig_conn_get_app_data(const tlsrig_conn *conn)
{
    return conn->app_data;
}

int tlsrig_conn_is_server(const tlsrig_conn *conn)
{
    return SSL_is_server(conn->ssl);
}

/* ---- handshake ---- */

void tlsrig_conn_set_connect_state(tlsrig_conn *conn)
{
    SSL_set_connect_state(conn->ssl);
}

void tlsrig_conn_set_accept_state(tlsrig_conn *conn)
{
    SSL_set_accept_state(conn->ssl);
}

/* Python ssl refuses to start a hostname-checked client handshake without a name. */
static int hostname_ready(tlsrig_conn *conn, const char *what)
{
    if (conn->ctx->check_hostname && !SSL_is_server(conn->ssl) && !conn->hostname_set)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: check_hostname is on but no hostname was set", what);
    return 0;
}

int tlsrig_conn_do_handshake(tlsrig_conn *conn)
{
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = hostname_ready(conn, "do_handshake")) < 0)
        return rc;
    conn->cb_failed = NULL;
    int ret = SSL_do_handshake(conn->ssl);
    if (ret <= 0)
        return tlsrig__err_ssl(conn, ret, "do_handshake");
    if (conn->cb_failed != NULL)
        return tlsrig__err_ssl(conn, ret, "do_handshake");
    return 0;
}

/* ---- application data ---- */

static int check_len(tlsrig_conn *conn, size_t len, const char *what)
{
    if (len > INT_MAX)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: %zu bytes is more than one call can move", what, len);
    return 0;
}

int tlsrig_conn_write(tlsrig_conn *conn, const void *buf, size_t len)
{
    size_t written = 0;
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = check_len(conn, len, "write")) < 0 || (rc = hostname_ready(conn, "write")) < 0)
        return rc;
    if (buf == NULL && len > 0)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT, "write: buf is NULL");
    conn->cb_failed = NULL;
    int ret = SSL_write_ex(conn->ssl, buf, len, &written);
    if (ret <= 0)
        return tlsrig__err_ssl(conn, ret, "write");
    return (int)written;
}

int tlsrig_conn_send(tlsrig_conn *conn, const void *buf, size_t len, int flags)
{
    TLSRIG__UNUSED(flags);
    return tlsrig_conn_write(conn, buf, len);
}

int tlsrig_conn_sendall(tlsrig_conn *conn, const void *buf, size_t len, int flags)
{
    TLSRIG__UNUSED(flags);
    const uint8_t *p = buf;
    size_t left = len;
    int rc;
    if ((rc = check_len(conn, len, "sendall")) < 0)
        return rc;
    while (left > 0) {
        rc = tlsrig_conn_write(conn, p, left);
        if (rc < 0)
            return rc;
        p += rc;
        left -= (size_t)rc;
    }
    return (int)len;
}

int tlsrig_conn_recv(tlsrig_conn *conn, void *buf, size_t cap, int flags)
{
    size_t got = 0;
    int rc;
    tlsrig__begin(&conn->err);
    if (buf == NULL || cap == 0)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "recv: need a buffer of at least one byte");
    if ((rc = hostname_ready(conn, "recv")) < 0)
        return rc;
    if (cap > INT_MAX)
        cap = INT_MAX;
    conn->cb_failed = NULL;
    int ret = (flags & TLSRIG_MSG_PEEK) ? SSL_peek_ex(conn->ssl, buf, cap, &got)
                                        : SSL_read_ex(conn->ssl, buf, cap, &got);
    if (ret <= 0)
        return tlsrig__err_ssl(conn, ret, (flags & TLSRIG_MSG_PEEK) ? "recv(MSG_PEEK)" : "recv");
    return (int)got;
}

int tlsrig_conn_read(tlsrig_conn *conn, void *buf, size_t cap)
{
    return tlsrig_conn_recv(conn, buf, cap, 0);
}

int tlsrig_conn_recv_into(tlsrig_conn *conn, void *buf, size_t cap, size_t nbytes, int flags)
{
    if (nbytes == 0 || nbytes > cap)
        nbytes = cap;
    return tlsrig_conn_recv(conn, buf, nbytes, flags);
}

int tlsrig_conn_pending(const tlsrig_conn *conn)
{
    return SSL_pending(conn->ssl);
}

/* ---- memory BIO side ---- */

static int need_memory(tlsrig_conn *conn, const char *what)
{
    if (conn->into_ssl == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: the connection uses a socket, not memory BIOs", what);
    return 0;
}

int tlsrig_conn_bio_write(tlsrig_conn *conn, const void *buf, size_t len)
{
    size_t written = 0;
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = need_memory(conn, "bio_write")) < 0 || (rc = check_len(conn, len, "bio_write")) < 0)
        return rc;
    if (len == 0)
        return 0;
    if (buf == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT, "bio_write: buf is NULL");
    if (!BIO_write_ex(conn->into_ssl, buf, len, &written))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "bio_write");
    return (int)written;
}

int tlsrig_conn_bio_read(tlsrig_conn *conn, void *buf, size_t cap)
{
    size_t got = 0;
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = need_memory(conn, "bio_read")) < 0)
        return rc;
    if (buf == NULL || cap == 0)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "bio_read: need a buffer of at least one byte");
    if (BIO_read_ex(conn->from_ssl, buf, cap > INT_MAX ? INT_MAX : cap, &got) && got > 0)
        return (int)got;
    if (BIO_should_retry(conn->from_ssl))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_WANT_READ, "bio_read: no bytes to send yet");
    return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "bio_read");
}

int tlsrig_conn_bio_shutdown(tlsrig_conn *conn)
{
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = need_memory(conn, "bio_shutdown")) < 0)
        return rc;
    /* Reads past the buffered bytes now see EOF (0) rather than "retry". */
    BIO_set_mem_eof_return(conn->into_ssl, 0);
    conn->bio_eof = 1;
    return 0;
}

size_t tlsrig_conn_bio_pending(const tlsrig_conn *conn)
{
    return conn->from_ssl != NULL ? BIO_ctrl_pending(conn->from_ssl) : 0;
}

int tlsrig_conn_makefile(tlsrig_conn *conn)
{
    tlsrig__begin(&conn->err);
    return tlsrig__err_set(&conn->err, TLSRIG_ERR_UNSUPPORTED,
                           "makefile: a TLS connection cannot be used as a file (as in "
                           "pyOpenSSL)");
}

/* ---- shutdown ---- */

int tlsrig_conn_shutdown(tlsrig_conn *conn)
{
    tlsrig__begin(&conn->err);
    conn->cb_failed = NULL;
    int ret = SSL_shutdown(conn->ssl);
    if (ret < 0)
        return tlsrig__err_ssl(conn, ret, "shutdown");
    return ret > 0 ? 1 : 0;
}

int tlsrig_conn_get_shutdown(const tlsrig_conn *conn)
{
    return SSL_get_shutdown(conn->ssl);
}

void tlsrig_conn_set_shutdown(tlsrig_conn *conn, int state)
{
    SSL_set_shutdown(conn->ssl, state);
}

void tlsrig_conn_set_quiet_shutdown(tlsrig_conn *conn, int on)
{
    SSL_set_quiet_shutdown(conn->ssl, on != 0);
}

/* ---- renegotiation and TLS 1.3 post-handshake messages ---- */

int tlsrig_conn_renegotiate(tlsrig_conn *conn)
{
    tlsrig__begin(&conn->err);
    if (SSL_renegotiate_pending(conn->ssl))
        return 0;
    /* RFC 8446 §4.1: TLS 1.3 has no renegotiation; OpenSSL refuses it, as it does when
     * OP_NO_RENEGOTIATION is set. */
    if (!SSL_renegotiate(conn->ssl))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "renegotiate");
    return 1;
}

int tlsrig_conn_renegotiate_pending(const tlsrig_conn *conn)
{
    return SSL_renegotiate_pending(conn->ssl) ? 1 : 0;
}

long tlsrig_conn_total_renegotiations(const tlsrig_conn *conn)
{
    return SSL_total_renegotiations(conn->ssl);
}

int tlsrig_conn_key_update(tlsrig_conn *conn, int request_peer)
{
    tlsrig__begin(&conn->err);
    if (!SSL_key_update(conn->ssl,
                        request_peer ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "key_update");
    return 0;
}

int tlsrig_conn_verify_client_post_handshake(tlsrig_conn *conn)
{
    tlsrig__begin(&conn->err);
    if (!SSL_verify_client_post_handshake(conn->ssl))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "verify_client_post_handshake");
    return 0;
}

/* ---- early data (RFC 8446 §4.2.10) ---- */

/* early_data_usable refuses, before the first write_early_data, a session the ClientHello
 * could not offer: one of another version than TLS 1.3, one that cannot be resumed, or any
 * session when the connection's highest version is below TLS 1.3. OpenSSL would replace such
 * a session with a fresh one while its early-data state machine carries on, and fail the
 * next write with an internal error (an assertion in builds without NDEBUG). A missing
 * session or one without early data is left to OpenSSL, which refuses it cleanly. */
static int early_data_usable(tlsrig_conn *conn)
{
    SSL_SESSION *sess = SSL_get0_session(conn->ssl);
    if (!SSL_in_before(conn->ssl) || sess == NULL || SSL_SESSION_get_max_early_data(sess) == 0)
        return 0;
    int max = (int)SSL_get_max_proto_version(conn->ssl);
    if (max != 0 && max < TLS1_3_VERSION)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "write_early_data: early data needs TLS 1.3 and the connection's "
                               "highest version is 0x%04x",
                               (unsigned)max);
    if (SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION || !SSL_SESSION_is_resumable(sess))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "write_early_data: the session set is not a resumable TLS 1.3 "
                               "session");
    return 0;
}

int tlsrig_conn_write_early_data(tlsrig_conn *conn, const void *buf, size_t len)
{
    size_t written = 0;
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = check_len(conn, len, "write_early_data")) < 0)
        return rc;
    if ((rc = early_data_usable(conn)) < 0)
        return rc;
    conn->cb_failed = NULL;
    int ret = SSL_write_early_data(conn->ssl, buf, len, &written);
    if (ret <= 0)
        return tlsrig__err_ssl(conn, ret, "write_early_data");
    return (int)written;
}

int tlsrig_conn_read_early_data(tlsrig_conn *conn, void *buf, size_t cap)
{
    size_t got = 0;
    tlsrig__begin(&conn->err);
    if (buf == NULL || cap == 0)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "read_early_data: need a buffer of at least one byte");
    conn->cb_failed = NULL;
    switch (SSL_read_early_data(conn->ssl, buf, cap, &got)) {
    case SSL_READ_EARLY_DATA_SUCCESS:
        return (int)got;
    case SSL_READ_EARLY_DATA_FINISH:
        if (got > 0)
            return (int)got;
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_ZERO_RETURN,
                               "read_early_data: no more early data");
    case SSL_READ_EARLY_DATA_ERROR:
    default:
        return tlsrig__err_ssl(conn, -1, "read_early_data");
    }
}

int tlsrig_conn_get_early_data_status(const tlsrig_conn *conn)
{
    return SSL_get_early_data_status(conn->ssl);
}

/* ---- per-connection settings ---- */

int tlsrig_conn_set_tlsext_host_name(tlsrig_conn *conn, const char *name)
{
    tlsrig__begin(&conn->err);
    if (name == NULL || name[0] == '\0' || strlen(name) > TLSEXT_MAXLEN_host_name)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_tlsext_host_name: name must be 1..255 bytes");
    if (SSL_is_server(conn->ssl))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_tlsext_host_name: only a client sends a server name");
    if (!SSL_set_tlsext_host_name(conn->ssl, name))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "set_tlsext_host_name");
    return 0;
}

const char *tlsrig_conn_get_servername(const tlsrig_conn *conn)
{
    return SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name);
}

int tlsrig_conn_set_hostname(tlsrig_conn *conn, const char *name)
{
    int rc = tlsrig_conn_set_tlsext_host_name(conn, name);
    if (rc < 0)
        return rc;
    /* The name is checked against the certificate (RFC 6125) only with check_hostname. */
    if (conn->ctx->check_hostname) {
        SSL_set_hostflags(conn->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (!SSL_set1_host(conn->ssl, name))
            return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "set_hostname");
    }
    conn->hostname_set = 1;
    return 0;
}

int tlsrig_conn_set_alpn_protos(tlsrig_conn *conn, const tlsrig_bytes *protos, size_t n)
{
    tlsrig__begin(&conn->err);
    return tlsrig__set_alpn_protos(&conn->err, NULL, conn->ssl, protos, n);
}

int tlsrig_conn_request_ocsp(tlsrig_conn *conn)
{
    tlsrig__begin(&conn->err);
    if (!SSL_set_tlsext_status_type(conn->ssl, TLSEXT_STATUSTYPE_ocsp))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "request_ocsp");
    return 0;
}
