/*
 * harness.c - see harness.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

const char *h_pki(const char *file)
{
    static char bufs[8][512];
    static int next;
    const char *dir = getenv("TLSRIG_PKI");
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir != NULL && dir[0] != '\0' ? dir : "pki", file);
    return b;
}

void h_check_ctx_rc(tlsrig_ctx *ctx, int rc, const char *what, const char *file, int line)
{
    if (rc < 0)
        fail_msg("%s:%d: %s returned %s: %s", file, line, what, tlsrig_err_name(rc),
                 ctx != NULL ? tlsrig_ctx_last_error(ctx)->message : "");
}

void h_check_conn_rc(tlsrig_conn *conn, int rc, const char *what, const char *file, int line)
{
    if (rc < 0)
        fail_msg("%s:%d: %s returned %s: %s", file, line, what, tlsrig_err_name(rc),
                 conn != NULL ? tlsrig_conn_last_error(conn)->message : "");
}

tlsrig_ctx *h_server_ctx(const char *kind)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    char chain[64], key[64];
    int rc = tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err);
    if (rc < 0)
        fail_msg("tlsrig_ctx_new: %s", err.message);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    /* The untrusted leaf comes from its own one-level CA and has no chain file. */
    if (strcmp(kind, "untrusted") == 0)
        snprintf(chain, sizeof(chain), "server-%s.crt", kind);
    h_ctx_ok(ctx, tlsrig_ctx_use_certificate_chain_file(ctx, h_pki(chain)));
    h_ctx_ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, h_pki(key), TLSRIG_FILETYPE_PEM));
    return ctx;
}

tlsrig_ctx *h_client_ctx(void)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    int rc = tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err);
    if (rc < 0)
        fail_msg("tlsrig_ctx_new: %s", err.message);
    h_ctx_ok(ctx, tlsrig_ctx_load_verify_locations(ctx, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL));
    return ctx;
}

void h_pair_new(h_pair *p, tlsrig_ctx *client_ctx, tlsrig_ctx *server_ctx)
{
    int capture = p->capture;
    memset(p, 0, sizeof(*p));
    p->capture = capture;
    h_ctx_ok(client_ctx, tlsrig_conn_new(client_ctx, -1, &p->client));
    h_ctx_ok(server_ctx, tlsrig_conn_new(server_ctx, -1, &p->server));
    tlsrig_conn_set_connect_state(p->client);
    tlsrig_conn_set_accept_state(p->server);
    p->client_rc = p->server_rc = TLSRIG_ERR_WANT_READ;
}

static void wire_down(h_pair *p)
{
    wire_pump_cleanup(&p->pump);
    wire_engine_cleanup(&p->ce);
    wire_engine_cleanup(&p->se);
    memset(&p->pump, 0, sizeof(p->pump));
    memset(&p->ce, 0, sizeof(p->ce));
    memset(&p->se, 0, sizeof(p->se));
}

void h_pair_free(h_pair *p)
{
    wire_down(p);
    tlsrig_conn_free(p->client);
    tlsrig_conn_free(p->server);
    free(p->wire);
    wire_buf_cleanup(&p->last);
    memset(p, 0, sizeof(*p));
}

static int capture(void *arg, int from, const uint8_t *data, size_t len)
{
    h_pair *p = arg;
    if (wire_buf_append(&p->last, data, len) < 0)
        return TLSRIG_ERR_NOMEM;
    if (!p->capture)
        return 0;
    p->wire = realloc(p->wire, p->wire_len + len + 1);
    assert_non_null(p->wire);
    p->wire[p->wire_len++] = from == WIRE_CLIENT ? 'C' : 'S';
    memcpy(p->wire + p->wire_len, data, len);
    p->wire_len += len;
    return 0;
}

/* The pair's wire, made (again) for the connections the pair holds now. */
static wire_pump *pair_wire(h_pair *p)
{
    if (p->ce.conn != p->client || p->se.conn != p->server || p->pump.ep[0] == NULL) {
        wire_down(p);
        wire_engine_init(&p->ce, p->client, "client");
        wire_engine_init(&p->se, p->server, "server");
        wire_pump_opts opt = {.observe = capture, .observe_arg = p};
        wire_pump_init(&p->pump, &p->ce.ep, &p->se.ep, &opt);
    }
    return &p->pump;
}

size_t h_move(h_pair *p, tlsrig_conn *from, tlsrig_conn *to)
{
    assert_true((from == p->client && to == p->server) || (from == p->server && to == p->client));
    wire_pump *pump = pair_wire(p);
    p->last.len = 0;
    long n = wire_pump_move(pump, from == p->client ? WIRE_CLIENT : WIRE_SERVER);
    if (n < 0)
        fail_msg("the wire failed: %s", tlsrig_err_name((int)n));
    return (size_t)n;
}

size_t h_pump(h_pair *p)
{
    size_t total = 0, moved;
    do {
        moved = h_move(p, p->client, p->server) + h_move(p, p->server, p->client);
        total += moved;
    } while (moved > 0);
    return total;
}

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

/* One do_handshake per side and round, as OpenSSL's own tests drive a pair; the bytes move
 * through the wire after each. */
int h_handshake(h_pair *p)
{
    for (int round = 0; round < 64; round++) {
        if (p->client_rc != 0)
            p->client_rc = tlsrig_conn_do_handshake(p->client);
        size_t moved = h_move(p, p->client, p->server);
        if (p->server_rc != 0)
            p->server_rc = tlsrig_conn_do_handshake(p->server);
        moved += h_move(p, p->server, p->client);
        if (p->client_rc == 0 && p->server_rc == 0 && moved == 0)
            return 0;
        if (p->client_rc < 0 && !is_want(p->client_rc)) {
            h_move(p, p->client, p->server); /* deliver the alert */
            if (p->server_rc != 0)
                p->server_rc = tlsrig_conn_do_handshake(p->server);
            return p->client_rc;
        }
        if (p->server_rc < 0 && !is_want(p->server_rc)) {
            h_move(p, p->server, p->client);
            if (p->client_rc != 0)
                p->client_rc = tlsrig_conn_do_handshake(p->client);
            return p->server_rc;
        }
        if (moved == 0 && (p->client_rc != 0 || p->server_rc != 0))
            return p->client_rc != 0 ? p->client_rc : p->server_rc; /* stuck */
    }
    return TLSRIG_ERR_WANT_READ;
}

/* A feed for h_give / h_take: one recorded piece out, what arrives kept. */
typedef struct h_feed {
    const uint8_t *data;
    size_t len;
    int given;
    uint8_t *out;
    size_t out_len, out_cap;
} h_feed;

static int feed_next(void *arg, const uint8_t **data, size_t *len)
{
    h_feed *f = arg;
    if (f->given)
        return 0;
    f->given = 1;
    *data = f->data;
    *len = f->len;
    return 1;
}

static void feed_sink(void *arg, const uint8_t *data, size_t len)
{
    h_feed *f = arg;
    if (len > f->out_cap - f->out_len)
        fail_msg("h_take: more than %zu bytes to take", f->out_cap);
    memcpy(f->out + f->out_len, data, len);
    f->out_len += len;
}

/* Moves |f|'s piece into |conn| (|to_conn|) or |conn|'s bytes into |f|. */
static void feed_move(tlsrig_conn *conn, h_feed *f, int to_conn)
{
    wire_engine e;
    wire_feed feed;
    wire_pump pump;
    wire_engine_init(&e, conn, "connection");
    wire_feed_init(&feed, feed_next, feed_sink, f, "recorded peer");
    /* the feed plays the peer: the client when the connection is a server */
    if (e.ep.is_server)
        wire_pump_init(&pump, &feed.ep, &e.ep, NULL);
    else
        wire_pump_init(&pump, &e.ep, &feed.ep, NULL);
    int side = e.ep.is_server == to_conn ? WIRE_CLIENT : WIRE_SERVER;
    long n = wire_pump_move(&pump, side);
    if (n < 0)
        fail_msg("the wire failed: %s", tlsrig_err_name((int)n));
    wire_pump_cleanup(&pump);
    wire_engine_cleanup(&e);
}

void h_give(tlsrig_conn *to, const void *data, size_t len)
{
    h_feed f = {.data = data, .len = len};
    feed_move(to, &f, 1);
}

size_t h_take(tlsrig_conn *from, uint8_t *buf, size_t cap)
{
    h_feed f = {.given = 1, .out = buf, .out_cap = cap};
    feed_move(from, &f, 0);
    return f.out_len;
}

void h_send_recv(h_pair *p, tlsrig_conn *from, tlsrig_conn *to, const void *data, size_t len)
{
    h_conn_ok(from, tlsrig_conn_sendall(from, data, len, 0));
    h_pump(p);
    uint8_t *got = malloc(len > 0 ? len : 1);
    assert_non_null(got);
    size_t have = 0;
    while (have < len) {
        int n = tlsrig_conn_recv(to, got + have, len - have, 0);
        if (n < 0) {
            free(got);
            fail_msg("recv after %zu of %zu bytes: %s: %s", have, len, tlsrig_err_name(n),
                     tlsrig_conn_last_error(to)->message);
        }
        have += (size_t)n;
    }
    assert_memory_equal(got, data, len);
    free(got);
}
