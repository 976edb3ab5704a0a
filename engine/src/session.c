/*
 * session.c - tlsrig_session: an SSL_SESSION that remembers which context made it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void tlsrig_session_up_ref(tlsrig_session *sess)
{
    if (sess != NULL)
        tlsrig__ref_up(&sess->refs);
}

void tlsrig_session_free(tlsrig_session *sess)
{
    if (sess == NULL || !tlsrig__ref_down(&sess->refs))
        return;
    SSL_SESSION_free(sess->sess);
    free(sess);
}

SSL_SESSION *tlsrig_session_get0_ssl_session(const tlsrig_session *sess)
{
    return sess->sess;
}

int tlsrig_session_get_id(const tlsrig_session *sess, uint8_t *buf, size_t cap)
{
    unsigned int len = 0;
    const unsigned char *id = SSL_SESSION_get_id(sess->sess, &len);
    if (buf == NULL || cap < len)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    memcpy(buf, id, len);
    return (int)len;
}

int tlsrig_session_is_resumable(const tlsrig_session *sess)
{
    return SSL_SESSION_is_resumable(sess->sess);
}

int64_t tlsrig_session_get_time(const tlsrig_session *sess)
{
    return (int64_t)SSL_SESSION_get_time(sess->sess);
}

long tlsrig_session_get_timeout(const tlsrig_session *sess)
{
    return SSL_SESSION_get_timeout(sess->sess);
}

int tlsrig_conn_get_session(const tlsrig_conn *conn, tlsrig_session **out)
{
    tlsrig_conn *c = (tlsrig_conn *)conn; /* only the error record changes */
    tlsrig__begin(&c->err);
    if (out == NULL)
        return tlsrig__err_set(&c->err, TLSRIG_ERR_INVALID_ARGUMENT, "get_session: out is NULL");
    *out = NULL;
    SSL_SESSION *s = SSL_get1_session(conn->ssl);
    if (s == NULL)
        return tlsrig__err_set(&c->err, TLSRIG_ERR_NOT_AVAILABLE, "get_session: no session yet");
    tlsrig_session *sess = calloc(1, sizeof(*sess));
    if (sess == NULL) {
        SSL_SESSION_free(s);
        return tlsrig__err_set(&c->err, TLSRIG_ERR_NOMEM, "get_session: out of memory");
    }
    atomic_init(&sess->refs, 1);
    sess->sess = s;
    sess->ctx_id = conn->ctx->id;
    *out = sess;
    return 0;
}

int tlsrig_conn_set_session(tlsrig_conn *conn, tlsrig_session *sess)
{
    tlsrig__begin(&conn->err);
    if (sess == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_session: session is NULL");
    /* A session carries secrets and settings of the context it was negotiated under;
     * offering it through another context is a caller mistake (pyOpenSSL raises too). */
    if (sess->ctx_id != conn->ctx->id)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_session: the session belongs to another context");
    if (!SSL_set_session(conn->ssl, sess->sess))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "set_session");
    return 0;
}

int tlsrig_conn_session_reused(const tlsrig_conn *conn)
{
    return SSL_session_reused(conn->ssl) ? 1 : 0;
}
