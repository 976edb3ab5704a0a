/*
 * interp_wire.c - the run's side of the wire (wire/include/wire.h): the two sides of the
 * current connection as engine endpoints, the pump between them with capture (for
 * transcripts and pcapng) as its observer and tampering (rig_options.tamper) as its record
 * hook; for a program with tamper steps a man in the middle (wire_mitm) as its filter, fed
 * each side's key log; and what the steps ask of it. No byte crosses here but through the
 * pump; a side could equally be another kind of endpoint (a vendor's program over loopback).
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
    wire_engine_cleanup(&side->ep);
    tlsrig_conn_free(side->conn);
    memset(side, 0, sizeof(*side));
}

/* ---- the key log ---- */

static void keylog_append(rig_result *res, const char *line, size_t len)
{
    char *k = realloc(res->keylog, res->keylog_len + len + 2);
    if (k == NULL)
        return;
    memcpy(k + res->keylog_len, line, len);
    k[res->keylog_len + len] = '\n';
    k[res->keylog_len + len + 1] = '\0';
    res->keylog = k;
    res->keylog_len += len + 1;
}

/* Whether a line |side| logged holds the secret of the other side's sending direction (the
 * one the bytes on the wire towards |side| are protected with, by the middle). */
static int receiver_line(const char *line, size_t len, int side)
{
    int dir = -1;
    if (len > 7 && strncmp(line, "CLIENT_", 7) == 0 && strncmp(line, "CLIENT_RANDOM", 13) != 0)
        dir = WIRE_CLIENT;
    else if (len > 7 && strncmp(line, "SERVER_", 7) == 0)
        dir = WIRE_SERVER;
    return dir >= 0 && dir != side;
}

/* The current connection's lines into the result: senders' first, receivers' last. */
static void keylog_flush(rig_wire *w)
{
    for (int pass = 0; pass < 2; pass++)
        for (int side = 0; side < 2; side++) {
            const char *p = (const char *)w->keylog[side].data;
            size_t left = w->keylog[side].len;
            while (left > 0) {
                const char *nl = memchr(p, '\n', left);
                size_t n = nl != NULL ? (size_t)(nl - p) : left;
                if (receiver_line(p, n, side) == pass)
                    keylog_append(w->res, p, n);
                n += nl != NULL;
                p += n;
                left -= n;
            }
        }
    wire_buf_cleanup(&w->keylog[0]);
    wire_buf_cleanup(&w->keylog[1]);
}

void rig__wire_keylog(rig_wire *w, tlsrig_conn *conn, const char *line)
{
    int side = conn == w->client.conn ? WIRE_CLIENT : conn == w->server.conn ? WIRE_SERVER : -1;
    size_t len = strlen(line);
    if (w->mitm != NULL && side >= 0)
        wire_mitm_keylog(w->mitm, side, line, len);
    if (!w->opt->capture)
        return;
    if (w->middle && side >= 0) {
        wire_buf *k = &w->keylog[side];
        if (wire_buf_append(k, line, len) == 0)
            wire_buf_append(k, "\n", 1);
        return;
    }
    keylog_append(w->res, line, len);
}

void rig__wire_reset(rig_wire *w)
{
    if (w->pump.ep[0] != NULL) {
        w->rounds = w->pump.rounds;
        wire_pump_cleanup(&w->pump);
        memset(&w->pump, 0, sizeof(w->pump));
    }
    side_reset(&w->client);
    side_reset(&w->server);
    wire_mitm_free(w->mitm);
    w->mitm = NULL;
    free(w->rules);
    w->rules = NULL;
    w->n_rules = w->cap_rules = 0;
    keylog_flush(w);
}

/* The observer: every chunk that crosses, numbered by connection, into the result. */
static int capture(void *arg, int from, const uint8_t *buf, size_t len)
{
    rig_wire *w = arg;
    rig_result *res = w->res;
    rig_chunk *c = realloc(res->chunks, (res->n_chunks + 1) * sizeof(*c));
    if (c == NULL)
        return TLSRIG_ERR_NOMEM;
    res->chunks = c;
    c = &res->chunks[res->n_chunks];
    c->data = malloc(len);
    if (c->data == NULL)
        return TLSRIG_ERR_NOMEM;
    memcpy(c->data, buf, len);
    c->len = len;
    c->from_server = from == WIRE_SERVER;
    c->conn = w->conn_no - 1;
    res->n_chunks++;
    return 0;
}

static void side_begin(rig_side *side, const char *name)
{
    wire_engine_init(&side->ep, side->conn, name);
    /* RFC 8446 §4.2.10: a server that accepts 0-RTT reads it before the handshake goes on. */
    side->ep.read_early = side->peer->is_server && side->peer->early_data > 0;
}

/* The pump's filter when the program tampers: the middle, then rig_options.tamper (when set)
 * on each record the middle delivers, so the hook still sees every record that crosses. */
static int middle_filter(void *arg, int from, const uint8_t *rec, size_t len, wire_buf *out)
{
    rig_wire *w = arg;
    size_t start = out->len;
    int rc = wire_mitm_filter(w->mitm, from, rec, len, out);
    if (rc < 0 || w->opt->tamper == NULL || out->len == start)
        return rc;
    wire_buf in = {0}, one = {0};
    size_t off = 0;
    rc = wire_buf_append(&in, out->data + start, out->len - start);
    out->len = start;
    while (rc == 0 && off < in.len) {
        wire_record r;
        long n = wire_record_parse(in.data + off, in.len - off, 0, &r, NULL);
        if (n <= 0) { /* not whole records: on as they are */
            rc = wire_buf_append(out, in.data + off, in.len - off);
            break;
        }
        size_t cap = WIRE_RECORD_HEADER + WIRE_MAX_CIPHERTEXT, cur = (size_t)n;
        if (cap < cur)
            cap = cur;
        one.len = 0;
        rc = wire_buf_reserve(&one, cap);
        if (rc < 0)
            break;
        memcpy(one.data, in.data + off, cur);
        rc = w->opt->tamper(w->opt->tamper_arg, from == WIRE_SERVER, one.data, &cur, cap);
        if (rc == 0 && cur > cap)
            rc = TLSRIG_ERR_INVALID_ARGUMENT;
        if (rc == 0)
            rc = wire_buf_append(out, one.data, cur);
        off += (size_t)n;
    }
    wire_buf_cleanup(&in);
    wire_buf_cleanup(&one);
    return rc;
}

int rig__wire_begin(rig_wire *w)
{
    w->conn_no++;
    side_begin(&w->client, "client");
    side_begin(&w->server, "server");
    wire_pump_opts o = {
        .observe = w->opt->capture ? capture : NULL,
        .observe_arg = w,
        .record_hook = w->opt->tamper,
        .record_arg = w->opt->tamper_arg,
        /* pump rounds count over the whole run, across connections */
        .budget = w->budget,
        .deadline = w->deadline,
    };
    if (w->middle) {
        if (wire_mitm_new(&w->mitm) < 0)
            return TLSRIG_ERR_NOMEM;
        wire_mitm_set_edit(w->mitm, rig__tamper_edit, w);
        /* TLS 1.2 master secrets straight from the connections when the key log is late */
        wire_mitm_set0_conn(w->mitm, WIRE_CLIENT, w->client.conn);
        wire_mitm_set0_conn(w->mitm, WIRE_SERVER, w->server.conn);
        rig__tamper_setup(w);
        o.filter = middle_filter;
        o.filter_arg = w;
    }
    wire_pump_init(&w->pump, &w->client.ep.ep, &w->server.ep.ep, &o);
    w->pump.rounds = w->rounds;
    return 0;
}

rig_side *rig__wire_side(rig_wire *w, int end)
{
    return end == RIG_SERVER ? &w->server : &w->client;
}

static int end_of(rig_wire *w, rig_side *side)
{
    return side == &w->server ? WIRE_SERVER : WIRE_CLIENT;
}

int rig__note(rig_side *side, int rc)
{
    return wire_engine_note(&side->ep, rc);
}

long rig__pump(rig_wire *w)
{
    long n = wire_pump_round(&w->pump);
    return n < 0 ? -1 : n;
}

int rig__close_transport(rig_wire *w, rig_side *side)
{
    if (rig__pump(w) < 0)
        return -1;
    return wire_pump_close(&w->pump, end_of(w, side)) < 0 ? -2 : 0;
}

int rig__recv_early(rig_wire *w, rig_side *side, const uint8_t *want, size_t len, size_t *have)
{
    wire_engine *e = &side->ep;
    for (int i = 0; i < 8 && e->early.len < len && !e->early_done; i++) {
        int rc = wire_engine_read_early(e);
        if (rig__hard(rc)) {
            rig__note(side, rc);
            break;
        }
        if (rig__pump(w) < 0)
            break;
    }
    *have = e->early.len;
    if (e->early.len < len || memcmp(e->early.data, want, len) != 0)
        return -1;
    wire_buf_consume(&e->early, len);
    return 0;
}

int rig__drive(rig_wire *w, rig_side *side)
{
    return wire_pump_drive(&w->pump, end_of(w, side));
}

int rig__flush_handshake(rig_wire *w, rig_side *side, int *wire_failed)
{
    int rc = rig__note(side, tlsrig_conn_do_handshake(side->conn));
    *wire_failed = rig__pump(w) < 0;
    return rc;
}

void rig__rehandshake(rig_side *side)
{
    side->ep.done = 0;
}

int rig__handshake(rig_wire *w)
{
    int rc = wire_pump_handshake(&w->pump);
    switch (rc) {
    case WIRE_DRIVE_DONE:
        return 0;
    case WIRE_DRIVE_FAILED:
        return 1;
    case WIRE_DRIVE_BUDGET:
        return -2;
    case WIRE_DRIVE_TIMEOUT:
        return -3;
    default:
        return -1;
    }
}
