/*
 * pump.c - the one place bytes move between two endpoints: chunk by chunk, or record by
 * record through a hook; the handshake driver.
 */
#include <string.h>

#include "internal.h"

/* A read takes at most one TLS 1.2 ciphertext record's worth (what a memory BIO hands out in
 * one go for most flights); recorded chunk boundaries depend on it, so it stays fixed. */
enum { CHUNK = WIRE_MAX_CIPHERTEXT };

void wire_pump_init(wire_pump *p, wire_endpoint *client, wire_endpoint *server,
                    const wire_pump_opts *opt)
{
    memset(p, 0, sizeof(*p));
    p->ep[WIRE_CLIENT] = client;
    p->ep[WIRE_SERVER] = server;
    if (opt != NULL)
        p->opt = *opt;
    /* Only a client's stream may open with an SSLv2-compatible hello. */
    p->framer[WIRE_CLIENT].allow_sslv2 = 1;
}

void wire_pump_cleanup(wire_pump *p)
{
    wire_framer_cleanup(&p->framer[0]);
    wire_framer_cleanup(&p->framer[1]);
    wire_buf_cleanup(&p->scratch);
}

static long deliver(wire_pump *p, int from, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (p->opt.observe != NULL) {
        int rc = p->opt.observe(p->opt.observe_arg, from, buf, len);
        if (rc < 0)
            return rc;
    }
    long w = wire_endpoint_write(p->ep[!from], buf, len);
    return w < 0 ? w : 0;
}

/* With a record hook, the stream is cut into whole records (RFC 8446 §5.1: a 5-byte header
 * and a 16-bit length) so the hook sees one at a time; a record split across reads waits for
 * its end. A stream that cannot be framed passes through as it comes. */
/* One framed record through the filter or the hook; 0 or negative. */
static long one_record(wire_pump *p, int from, const uint8_t *raw, size_t rlen)
{
    if (p->opt.filter != NULL) {
        p->scratch.len = 0;
        int rc = p->opt.filter(p->opt.filter_arg, from, raw, rlen, &p->scratch);
        if (rc < 0)
            return rc;
        return deliver(p, from, p->scratch.data, p->scratch.len);
    }
    size_t cap = WIRE_RECORD_HEADER + WIRE_MAX_CIPHERTEXT;
    if (cap < rlen)
        cap = rlen;
    if (wire_buf_reserve(&p->scratch, cap) < 0)
        return TLSRIG_ERR_NOMEM;
    memcpy(p->scratch.data, raw, rlen);
    size_t cur = rlen;
    int hr = p->opt.record_hook(p->opt.record_arg, from, p->scratch.data, &cur, cap);
    if (hr < 0)
        return hr;
    if (cur > cap)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    return deliver(p, from, p->scratch.data, cur);
}

static long deliver_records(wire_pump *p, int from, const uint8_t *buf, size_t len)
{
    wire_framer *f = &p->framer[from];
    if (f->failed)
        return deliver(p, from, buf, len);
    int rc = wire_framer_push(f, buf, len);
    if (rc < 0)
        return rc;
    for (;;) {
        wire_record rec;
        long n = wire_framer_next(f, &rec);
        if (n == 0)
            return 0;
        if (n < 0) {
            /* Hand over the unframeable rest unchanged; later bytes follow it raw. */
            long d = deliver(p, from, f->in.data + f->off, f->in.len - f->off);
            f->off = f->in.len;
            return d;
        }
        size_t rlen = (size_t)n;
        const uint8_t *raw = wire_framer_raw(f, &rlen);
        long d = one_record(p, from, raw, rlen);
        if (d < 0)
            return d;
    }
}

static long move(wire_pump *p, int from, int once)
{
    uint8_t buf[CHUNK];
    long total = 0, n;
    if (p->opt.filter != NULL && !p->closed[from]) {
        /* what the filter held back, now perhaps deliverable */
        p->scratch.len = 0;
        int rc = p->opt.filter(p->opt.filter_arg, from, NULL, 0, &p->scratch);
        if (rc < 0)
            return rc;
        long d = deliver(p, from, p->scratch.data, p->scratch.len);
        if (d < 0)
            return d;
        total += (long)p->scratch.len;
    }
    while ((n = wire_endpoint_read(p->ep[from], buf, sizeof(buf))) > 0) {
        if (!p->closed[from]) { /* a closed transport carries nothing */
            p->moved[from] += (uint64_t)n;
            total += n;
            int framed = p->opt.record_hook != NULL || p->opt.filter != NULL;
            long rc = framed ? deliver_records(p, from, buf, (size_t)n)
                             : deliver(p, from, buf, (size_t)n);
            if (rc < 0)
                return rc;
        }
        if (once)
            break;
    }
    return n < 0 ? n : total;
}

long wire_pump_move(wire_pump *p, int from)
{
    return move(p, from, 0);
}

long wire_pump_move_one(wire_pump *p, int from)
{
    return move(p, from, 1);
}

long wire_pump_round(wire_pump *p)
{
    long a = move(p, WIRE_CLIENT, 0);
    if (a < 0)
        return a;
    long b = move(p, WIRE_SERVER, 0);
    if (b < 0)
        return b;
    return a + b;
}

long wire_pump_flush(wire_pump *p)
{
    long total = 0, moved;
    do {
        moved = wire_pump_round(p);
        if (moved < 0)
            return moved;
        total += moved;
    } while (moved > 0);
    return total;
}

int wire_pump_drive(wire_pump *p, int side)
{
    return p->closed[side] ? 0 : wire_endpoint_drive(p->ep[side]);
}

int wire_pump_close(wire_pump *p, int side)
{
    long rc = wire_pump_round(p);
    if (rc < 0)
        return (int)rc;
    p->closed[side] = 1;
    return wire_endpoint_end(p->ep[!side]);
}

int wire_pump_closed(const wire_pump *p, int side)
{
    return p->closed[side];
}

static int hard(int rc)
{
    return rc < 0 && rc != TLSRIG_ERR_WANT_READ && rc != TLSRIG_ERR_WANT_WRITE;
}

int wire_pump_handshake(wire_pump *p)
{
    int idle = 0;
    for (;;) {
        if (p->opt.budget > 0 && ++p->rounds > p->opt.budget)
            return WIRE_DRIVE_BUDGET;
        if (p->opt.deadline > 0 && wire__now() > p->opt.deadline)
            return WIRE_DRIVE_TIMEOUT;
        int rc_c = wire_pump_drive(p, WIRE_CLIENT);
        long m1 = move(p, WIRE_CLIENT, 0);
        int rc_s = wire_pump_drive(p, WIRE_SERVER);
        long m2 = move(p, WIRE_SERVER, 0);
        if (m1 < 0)
            return (int)m1;
        if (m2 < 0)
            return (int)m2;
        if (hard(rc_c) || hard(rc_s)) {
            /* Let the other side read the alert that reports the failure. */
            for (int i = 0; i < 4; i++) {
                if (!hard(rc_c))
                    rc_c = wire_pump_drive(p, WIRE_CLIENT);
                if (!hard(rc_s))
                    rc_s = wire_pump_drive(p, WIRE_SERVER);
                if (wire_pump_round(p) <= 0)
                    break;
            }
            return WIRE_DRIVE_FAILED;
        }
        int busy = (wire_endpoint_state(p->ep[WIRE_CLIENT]) & WIRE_ST_BUSY) ||
                   (wire_endpoint_state(p->ep[WIRE_SERVER]) & WIRE_ST_BUSY);
        if (m1 + m2 == 0) {
            if (!busy)
                return WIRE_DRIVE_DONE;
            if (++idle >= 3)
                return WIRE_DRIVE_FAILED; /* stuck: each waits for the other */
        } else {
            idle = 0;
        }
    }
}
