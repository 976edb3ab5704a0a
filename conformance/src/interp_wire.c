/*
 * interp_wire.c - the wire between the two sides of the current connection: the only place
 * bytes cross from one side to the other, so capture (for transcripts and pcapng) and
 * tampering (rig_options.tamper) both sit here, with the pump, the per-side drive and the
 * handshake loop. A side could equally be a socket to another vendor's process: only this
 * file would change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interp.h"

double rig__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rig__wire_init(rig_wire *w, const rig_options *opt, rig_result *res, long budget,
                    double deadline)
{
    memset(w, 0, sizeof(*w));
    w->opt = opt;
    w->res = res;
    w->budget = budget;
    w->deadline = deadline;
}

static void side_reset(rig_side *side)
{
    tlsrig_conn_free(side->conn);
    free(side->early);
    free(side->wbuf);
    memset(side, 0, sizeof(*side));
}

void rig__wire_reset(rig_wire *w)
{
    side_reset(&w->client);
    side_reset(&w->server);
}

void rig__wire_begin(rig_wire *w)
{
    w->conn_no++;
}

rig_side *rig__wire_side(rig_wire *w, int end)
{
    return end == RIG_SERVER ? &w->server : &w->client;
}

static rig_side *other(rig_wire *w, rig_side *side)
{
    return side == &w->client ? &w->server : &w->client;
}

/* want-read/write are not failures, but an explicit step that ended in one can be checked
 * with `expect error <side> want-read`. */
int rig__note(rig_side *side, int rc)
{
    if (rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE)
        side->out.last_want = rc;
    if (rig__hard(rc)) {
        side->out.last_err = rc;
        snprintf(side->out.last_msg, sizeof(side->out.last_msg), "%s",
                 tlsrig_conn_last_error(side->conn)->message);
    }
    return rc;
}

/* ---- moving bytes ---- */

static int capture(rig_wire *w, int from_server, const uint8_t *buf, size_t len)
{
    rig_result *res = w->res;
    rig_chunk *c = realloc(res->chunks, (res->n_chunks + 1) * sizeof(*c));
    if (c == NULL)
        return -1;
    res->chunks = c;
    c = &res->chunks[res->n_chunks];
    c->data = malloc(len);
    if (c->data == NULL)
        return -1;
    memcpy(c->data, buf, len);
    c->len = len;
    c->from_server = from_server;
    c->conn = w->conn_no - 1;
    res->n_chunks++;
    return 0;
}

/* Deliver |len| bytes from |from| to the other side, recording them when capturing. */
static int deliver(rig_wire *w, rig_side *from, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (w->opt->capture && capture(w, from == &w->server, buf, len) < 0)
        return -1;
    return tlsrig_conn_bio_write(other(w, from)->conn, buf, len) == (int)len ? 0 : -1;
}

/* With a tamper hook, bytes are cut into whole TLS records (RFC 8446 §5.1: 5-byte header,
 * 16-bit length) so the hook sees one record at a time; a record split across reads waits in
 * the side's buffer for its end. The hook may grow a record up to the TLS maximum. */
static int tamper_move(rig_wire *w, rig_side *from, const uint8_t *buf, size_t len)
{
    enum { MAX_RECORD = 5 + 16384 + 2048 };
    uint8_t *nb = realloc(from->wbuf, from->wlen + len);
    if (nb == NULL)
        return -1;
    from->wbuf = nb;
    memcpy(from->wbuf + from->wlen, buf, len);
    from->wlen += len;

    size_t off = 0;
    while (from->wlen - off >= 5) {
        size_t rlen = 5 + ((size_t)from->wbuf[off + 3] << 8 | from->wbuf[off + 4]);
        if (from->wlen - off < rlen)
            break;
        uint8_t rec[MAX_RECORD];
        size_t cur = rlen < sizeof(rec) ? rlen : sizeof(rec);
        memcpy(rec, from->wbuf + off, cur);
        off += rlen;
        if (w->opt->tamper(w->opt->tamper_arg, from == &w->server, rec, &cur, sizeof(rec)) < 0)
            return -1;
        if (cur > sizeof(rec) || deliver(w, from, rec, cur) < 0)
            return -1;
    }
    memmove(from->wbuf, from->wbuf + off, from->wlen - off);
    from->wlen -= off;
    return 0;
}

/* Move everything |from| has to send to the other side. Returns bytes moved, or -1 when the
 * scenario must stop (tamper abort, out of memory). */
static long wire_move(rig_wire *w, rig_side *from)
{
    uint8_t buf[16384 + 2048];
    long total = 0;
    int n;
    while ((n = tlsrig_conn_bio_read(from->conn, buf, sizeof(buf))) > 0) {
        if (from->closed)
            continue; /* a closed transport carries nothing */
        int rc = w->opt->tamper != NULL ? tamper_move(w, from, buf, (size_t)n)
                                        : deliver(w, from, buf, (size_t)n);
        if (rc < 0)
            return -1;
        total += n;
    }
    return total;
}

long rig__pump(rig_wire *w)
{
    long a = wire_move(w, &w->client);
    if (a < 0)
        return -1;
    long b = wire_move(w, &w->server);
    if (b < 0)
        return -1;
    return a + b;
}

int rig__close_transport(rig_wire *w, rig_side *side)
{
    if (rig__pump(w) < 0)
        return -1;
    side->closed = 1;
    return tlsrig_conn_bio_shutdown(other(w, side)->conn) < 0 ? -2 : 0;
}

/* ---- driving the sides ---- */

static int in_progress(rig_side *side)
{
    SSL *ssl = tlsrig_conn_get0_ssl(side->conn);
    return !side->done || SSL_in_init(ssl) || tlsrig_conn_renegotiate_pending(side->conn);
}

int rig__drain_early(rig_side *side)
{
    uint8_t buf[4096];
    for (;;) {
        int n = tlsrig_conn_read_early_data(side->conn, buf, sizeof(buf));
        if (n > 0) {
            uint8_t *e = realloc(side->early, side->early_len + (size_t)n);
            if (e == NULL)
                return TLSRIG_ERR_NOMEM;
            memcpy(e + side->early_len, buf, (size_t)n);
            side->early = e;
            side->early_len += (size_t)n;
            continue;
        }
        if (n == TLSRIG_ERR_ZERO_RETURN)
            side->early_done = 1;
        return n == TLSRIG_ERR_ZERO_RETURN ? 0 : n;
    }
}

int rig__recv_early(rig_wire *w, rig_side *side, const uint8_t *want, size_t len, size_t *have)
{
    for (int i = 0; i < 8 && side->early_len < len && !side->early_done; i++) {
        int rc = rig__drain_early(side);
        if (rig__hard(rc)) {
            rig__note(side, rc);
            break;
        }
        if (rig__pump(w) < 0)
            break;
    }
    *have = side->early_len;
    if (side->early_len < len || memcmp(side->early, want, len) != 0)
        return -1;
    memmove(side->early, side->early + len, side->early_len - len);
    side->early_len -= len;
    return 0;
}

int rig__drive(rig_side *side)
{
    int rc;
    if (side->closed)
        return 0;
    if (side->peer->is_server && side->peer->early_data > 0 && !side->early_done && !side->done) {
        rc = rig__drain_early(side);
        if (rc < 0)
            return rig__note(side, rc);
    }
    if (!side->done || SSL_in_init(tlsrig_conn_get0_ssl(side->conn))) {
        rc = tlsrig_conn_do_handshake(side->conn);
        if (rc == 0)
            side->done = 1;
        return rig__hard(rc) ? rig__note(side, rc) : rc;
    }
    uint8_t b;
    rc = tlsrig_conn_recv(side->conn, &b, 1, TLSRIG_MSG_PEEK);
    return rig__hard(rc) ? rig__note(side, rc) : 0;
}

int rig__flush_handshake(rig_wire *w, rig_side *side, int *wire_failed)
{
    int rc = rig__note(side, tlsrig_conn_do_handshake(side->conn));
    *wire_failed = rig__pump(w) < 0;
    return rc;
}

void rig__rehandshake(rig_side *side)
{
    side->done = 0;
}

int rig__handshake(rig_wire *w)
{
    int idle = 0;
    for (;;) {
        if (++w->rounds > w->budget)
            return -2;
        if (rig__now() > w->deadline)
            return -3;
        int rc_c = rig__drive(&w->client);
        long m1 = wire_move(w, &w->client);
        int rc_s = rig__drive(&w->server);
        long m2 = wire_move(w, &w->server);
        if (m1 < 0 || m2 < 0)
            return -1;
        if (rig__hard(rc_c) || rig__hard(rc_s)) {
            /* let the other side read the alert that reports the failure */
            for (int i = 0; i < 4; i++) {
                if (!rig__hard(rc_c))
                    rc_c = rig__drive(&w->client);
                if (!rig__hard(rc_s))
                    rc_s = rig__drive(&w->server);
                if (rig__pump(w) <= 0)
                    break;
            }
            return 1;
        }
        int busy = in_progress(&w->client) || in_progress(&w->server);
        if (m1 + m2 == 0) {
            if (!busy)
                return 0;
            if (++idle >= 3)
                return 1; /* stuck: each waits for the other */
        } else {
            idle = 0;
        }
    }
}
