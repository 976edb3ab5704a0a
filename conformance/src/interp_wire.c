/*
 * interp_wire.c - the run's side of the wire (wire/include/wire.h): the two sides of the
 * current connection as engine endpoints, the pump between them with capture (for
 * transcripts and pcapng) as its observer and tampering (rig_options.tamper) as its record
 * hook, and what the steps ask of it. No byte crosses here but through the pump; a side could
 * equally be another kind of endpoint (a vendor's program over loopback).
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

void rig__wire_reset(rig_wire *w)
{
    if (w->pump.ep[0] != NULL) {
        w->rounds = w->pump.rounds;
        wire_pump_cleanup(&w->pump);
        memset(&w->pump, 0, sizeof(w->pump));
    }
    side_reset(&w->client);
    side_reset(&w->server);
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

void rig__wire_begin(rig_wire *w)
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
    wire_pump_init(&w->pump, &w->client.ep.ep, &w->server.ep.ep, &o);
    w->pump.rounds = w->rounds;
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
