/*
 * engine.c - an engine connection (memory BIOs) as an endpoint.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "internal.h"

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

static int is_hard(int rc)
{
    return rc < 0 && !is_want(rc);
}

int wire_engine_note(wire_engine *e, int rc)
{
    if (is_want(rc))
        e->last_want = rc;
    if (is_hard(rc)) {
        e->last_err = rc;
        snprintf(e->last_msg, sizeof(e->last_msg), "%s", tlsrig_conn_last_error(e->conn)->message);
    }
    return rc;
}

int wire_engine_read_early(wire_engine *e)
{
    uint8_t buf[4096];
    for (;;) {
        int n = tlsrig_conn_read_early_data(e->conn, buf, sizeof(buf));
        if (n > 0) {
            if (wire_buf_append(&e->early, buf, (size_t)n) < 0)
                return TLSRIG_ERR_NOMEM;
            continue;
        }
        if (n == TLSRIG_ERR_ZERO_RETURN) {
            e->early_done = 1;
            return 0;
        }
        return n;
    }
}

static long engine_read(wire_endpoint *ep, uint8_t *buf, size_t cap)
{
    wire_engine *e = (wire_engine *)ep;
    /* Asking first spares an empty read its error record (the common case: the last read of
     * every move). */
    if (tlsrig_conn_bio_pending(e->conn) == 0)
        return 0;
    int n = tlsrig_conn_bio_read(e->conn, buf, cap);
    if (n == TLSRIG_ERR_WANT_READ)
        return 0;
    return n;
}

static long engine_write(wire_endpoint *ep, const uint8_t *buf, size_t len)
{
    wire_engine *e = (wire_engine *)ep;
    int n = tlsrig_conn_bio_write(e->conn, buf, len);
    return n == (int)len ? n : (n < 0 ? n : TLSRIG_ERR_SYSCALL);
}

/* One move: 0-RTT data first on a server that reads it, the handshake while one runs, else a
 * peek that makes OpenSSL process post-handshake messages without taking application data. */
static int engine_drive_once(wire_engine *e)
{
    int rc;
    if (e->read_early && e->ep.is_server && !e->early_done && !e->done) {
        rc = wire_engine_read_early(e);
        if (rc < 0)
            return wire_engine_note(e, rc);
    }
    if (!e->done || SSL_in_init(tlsrig_conn_get0_ssl(e->conn))) {
        rc = tlsrig_conn_do_handshake(e->conn);
        if (rc == 0)
            e->done = 1;
        return is_hard(rc) ? wire_engine_note(e, rc) : rc;
    }
    uint8_t b;
    rc = tlsrig_conn_recv(e->conn, &b, 1, TLSRIG_MSG_PEEK);
    return is_hard(rc) ? wire_engine_note(e, rc) : 0;
}

static int engine_drive(wire_endpoint *ep)
{
    wire_engine *e = (wire_engine *)ep;
    return e->last_rc = engine_drive_once(e);
}

static int engine_end(wire_endpoint *ep)
{
    return tlsrig_conn_bio_shutdown(((wire_engine *)ep)->conn);
}

static unsigned engine_state(const wire_endpoint *ep)
{
    const wire_engine *e = (const wire_engine *)ep;
    unsigned st = e->done ? WIRE_ST_DONE : 0;
    if (!e->done || SSL_in_init(tlsrig_conn_get0_ssl(e->conn)) ||
        tlsrig_conn_renegotiate_pending(e->conn))
        st |= WIRE_ST_BUSY;
    if (e->last_err != 0)
        st |= WIRE_ST_FAILED;
    return st;
}

static int engine_error(const wire_endpoint *ep, const char **message)
{
    const wire_engine *e = (const wire_engine *)ep;
    if (message != NULL)
        *message = e->last_err != 0 ? e->last_msg : NULL;
    return e->last_err;
}

static void engine_cleanup(wire_endpoint *ep)
{
    wire_engine_cleanup((wire_engine *)ep);
}

static const wire_endpoint_ops engine_ops = {
    .kind = "engine",
    .caps = WIRE_CAP_ENGINE | WIRE_CAP_DRIVE | WIRE_CAP_SECRETS,
    .read = engine_read,
    .write = engine_write,
    .drive = engine_drive,
    .end = engine_end,
    .state = engine_state,
    .error = engine_error,
    .cleanup = engine_cleanup,
};

void wire_engine_init(wire_engine *e, tlsrig_conn *conn, const char *name)
{
    memset(e, 0, sizeof(*e));
    e->ep.ops = &engine_ops;
    e->ep.name = name;
    e->ep.is_server = SSL_is_server(tlsrig_conn_get0_ssl(conn));
    e->conn = conn;
}

void wire_engine_cleanup(wire_engine *e)
{
    wire_buf_cleanup(&e->early);
}

wire_engine *wire_engine_from(wire_endpoint *ep)
{
    return ep != NULL && ep->ops == &engine_ops ? (wire_engine *)ep : NULL;
}

tlsrig_conn *wire_engine_get0_conn(const wire_engine *e)
{
    return e->conn;
}
