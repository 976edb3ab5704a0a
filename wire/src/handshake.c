/*
 * handshake.c - handshake messages: reassembly from record payloads, writing, and splitting
 * back into records (RFC 8446 §4 and §5.1: a message may span records and a record may hold
 * several messages).
 */
#include <string.h>

#include "internal.h"

int wire_hs_push(wire_hs_reader *r, const void *fragment, size_t len)
{
    if (r->off > 0) {
        wire_buf_consume(&r->in, r->off);
        r->off = 0;
    }
    return wire_buf_append(&r->in, fragment, len);
}

long wire_hs_next(wire_hs_reader *r, wire_hs_msg *msg, int *alert)
{
    if (r->failed) {
        wire__set_alert(alert, WIRE_ALERT_DECODE_ERROR);
        return TLSRIG_ERR_INVALID_ARGUMENT;
    }
    size_t have = r->in.len - r->off;
    if (have < WIRE_HS_HEADER)
        return 0;
    const uint8_t *p = r->in.data + r->off;
    uint32_t body = wire__u24(p + 1);
    if (body > WIRE_MAX_HS_MESSAGE) {
        r->failed = 1;
        wire__set_alert(alert, WIRE_ALERT_DECODE_ERROR);
        return TLSRIG_ERR_INVALID_ARGUMENT;
    }
    if (have < WIRE_HS_HEADER + (size_t)body)
        return 0;
    msg->type = p[0];
    msg->len = body;
    msg->body = p + WIRE_HS_HEADER;
    r->off += WIRE_HS_HEADER + (size_t)body;
    return (long)(WIRE_HS_HEADER + body);
}

size_t wire_hs_pending(const wire_hs_reader *r)
{
    return r->in.len - r->off;
}

void wire_hs_reader_cleanup(wire_hs_reader *r)
{
    wire_buf_cleanup(&r->in);
    memset(r, 0, sizeof(*r));
}

int wire_hs_write(wire_buf *out, uint8_t type, const void *body, size_t len)
{
    if (len > 0xffffff)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    uint8_t h[WIRE_HS_HEADER] = {type, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    int rc = wire_buf_append(out, h, sizeof(h));
    if (rc == 0)
        rc = wire_buf_append(out, body, len);
    return rc;
}

long wire_hs_to_records(wire_buf *out, const uint8_t *msgs, size_t len, uint16_t version,
                        size_t max_fragment)
{
    if (max_fragment == 0 || max_fragment > 0xffff || len == 0)
        return TLSRIG_ERR_INVALID_ARGUMENT; /* RFC 8446 §5.1: no empty handshake records */
    long count = 0;
    while (len > 0) {
        size_t n = len < max_fragment ? len : max_fragment;
        int rc = wire_record_write(out, WIRE_CT_HANDSHAKE, version, msgs, n);
        if (rc < 0)
            return rc;
        count++;
        msgs += n;
        len -= n;
    }
    return count;
}
