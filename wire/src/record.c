/*
 * record.c - TLS records: parsing and writing headers, a framer for byte streams,
 * re-fragmentation, and the TLS 1.3 inner plaintext.
 */
#include <string.h>

#include "internal.h"

/* RFC 5246 Appendix E.2: an SSLv2-compatible CLIENT-HELLO has a 2-byte header whose high bit
 * is set (the rest is the length), then msg_type 1, version, and three 2-byte lengths. */
enum { SSLV2_HEADER = 2, SSLV2_FIXED = 9, SSLV2_CLIENT_HELLO = 1 };

long wire_record_parse(const uint8_t *buf, size_t len, int allow_sslv2, wire_record *out,
                       int *alert)
{
    if (len >= 1 && allow_sslv2 && (buf[0] & 0x80)) {
        if (len < SSLV2_HEADER)
            return 0;
        size_t body = (size_t)(buf[0] & 0x7f) << 8 | buf[1];
        if (body < SSLV2_FIXED || (len > SSLV2_HEADER && buf[2] != SSLV2_CLIENT_HELLO)) {
            wire__set_alert(alert, WIRE_ALERT_DECODE_ERROR);
            return TLSRIG_ERR_INVALID_ARGUMENT;
        }
        if (len < SSLV2_HEADER + body)
            return 0;
        out->type = WIRE_CT_HANDSHAKE;
        out->version = wire__u16(buf + 3);
        out->payload = buf + SSLV2_HEADER;
        out->len = body;
        out->sslv2 = 1;
        return (long)(SSLV2_HEADER + body);
    }
    if (len < WIRE_RECORD_HEADER)
        return 0;
    size_t plen = wire__u16(buf + 3);
    if (len < WIRE_RECORD_HEADER + plen)
        return 0;
    out->type = buf[0];
    out->version = wire__u16(buf + 1);
    out->payload = buf + WIRE_RECORD_HEADER;
    out->len = plen;
    out->sslv2 = 0;
    return (long)(WIRE_RECORD_HEADER + plen);
}

int wire_record_check(const wire_record *rec, int protected)
{
    switch (rec->type) {
    case WIRE_CT_CHANGE_CIPHER_SPEC:
    case WIRE_CT_APPLICATION_DATA:
    case WIRE_CT_HEARTBEAT:
        break;
    case WIRE_CT_ALERT:
    case WIRE_CT_HANDSHAKE:
        /* RFC 8446 §5.1: handshake and alert records MUST NOT be empty (before protection;
         * a protected record always carries at least the inner type and a tag). */
        if (rec->len == 0)
            return WIRE_ALERT_UNEXPECTED_MESSAGE;
        break;
    default:
        return WIRE_ALERT_UNEXPECTED_MESSAGE;
    }
    if (rec->len > (protected ? WIRE_MAX_CIPHERTEXT : WIRE_MAX_PLAINTEXT))
        return WIRE_ALERT_RECORD_OVERFLOW;
    return WIRE_ALERT_NONE;
}

int wire_record_write(wire_buf *out, uint8_t type, uint16_t version, const void *payload,
                      size_t len)
{
    if (len > 0xffff)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    uint8_t h[WIRE_RECORD_HEADER] = {type, (uint8_t)(version >> 8), (uint8_t)version,
                                     (uint8_t)(len >> 8), (uint8_t)len};
    int rc = wire_buf_append(out, h, sizeof(h));
    if (rc == 0)
        rc = wire_buf_append(out, payload, len);
    return rc;
}

/* ---- the framer ---- */

int wire_framer_push(wire_framer *f, const void *data, size_t len)
{
    /* Drop what was returned before growing: the buffer holds one partial record at most
     * beyond the caller's current one. */
    if (f->off > 0) {
        wire_buf_consume(&f->in, f->off);
        f->off = f->last = 0;
    }
    return wire_buf_append(&f->in, data, len);
}

long wire_framer_next(wire_framer *f, wire_record *rec)
{
    if (f->failed)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    int alert = WIRE_ALERT_NONE;
    long n = wire_record_parse(f->in.data + f->off, f->in.len - f->off,
                               f->allow_sslv2 && f->records == 0, rec, &alert);
    if (n < 0) {
        f->failed = 1;
        f->failed_alert = alert;
        return n;
    }
    if (n == 0)
        return 0;
    f->last = f->off;
    f->off += (size_t)n;
    f->records++;
    return n;
}

const uint8_t *wire_framer_raw(const wire_framer *f, size_t *len)
{
    *len = f->records > 0 ? f->off - f->last : 0;
    return *len > 0 ? f->in.data + f->last : NULL;
}

size_t wire_framer_pending(const wire_framer *f)
{
    return f->in.len - f->off;
}

void wire_framer_cleanup(wire_framer *f)
{
    wire_buf_cleanup(&f->in);
    memset(f, 0, sizeof(*f));
}

/* ---- re-fragmentation ---- */

static int write_fragments(wire_buf *out, uint8_t type, uint16_t version, const uint8_t *p,
                           size_t len, size_t max_fragment, long *count)
{
    /* An empty record stays one empty record. */
    do {
        size_t n = len < max_fragment ? len : max_fragment;
        int rc = wire_record_write(out, type, version, p, n);
        if (rc < 0)
            return rc;
        (*count)++;
        p += n;
        len -= n;
    } while (len > 0);
    return 0;
}

long wire_refragment(const uint8_t *in, size_t len, size_t max_fragment, int coalesce,
                     wire_buf *out)
{
    if (max_fragment == 0 || max_fragment > 0xffff)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_buf run = {0};
    uint8_t run_type = 0;
    uint16_t run_version = 0;
    int have_run = 0, rc = 0;
    long count = 0;
    size_t off = 0;
    while (off < len) {
        wire_record rec;
        long n = wire_record_parse(in + off, len - off, 0, &rec, NULL);
        if (n <= 0) {
            rc = TLSRIG_ERR_INVALID_ARGUMENT; /* a partial record at the end */
            goto cleanup;
        }
        off += (size_t)n;
        if (have_run && (!coalesce || rec.type != run_type || rec.version != run_version)) {
            if ((rc = write_fragments(out, run_type, run_version, run.data, run.len, max_fragment,
                                      &count)) < 0)
                goto cleanup;
            run.len = 0;
        }
        run_type = rec.type;
        run_version = rec.version;
        have_run = 1;
        if ((rc = wire_buf_append(&run, rec.payload, rec.len)) < 0)
            goto cleanup;
    }
    if (have_run)
        rc = write_fragments(out, run_type, run_version, run.data, run.len, max_fragment, &count);
cleanup:
    wire_buf_cleanup(&run);
    return rc < 0 ? rc : count;
}

/* ---- TLS 1.3 inner plaintext ---- */

long wire_inner_parse(const uint8_t *plaintext, size_t len, uint8_t *type, int *alert)
{
    /* RFC 8446 §5.4: the type is the last non-zero byte; all zeros is unexpected_message. */
    size_t i = len;
    while (i > 0 && plaintext[i - 1] == 0)
        i--;
    if (i == 0) {
        wire__set_alert(alert, WIRE_ALERT_UNEXPECTED_MESSAGE);
        return TLSRIG_ERR_INVALID_ARGUMENT;
    }
    *type = plaintext[i - 1];
    return (long)(i - 1);
}

int wire_inner_write(wire_buf *out, const void *content, size_t len, uint8_t type, size_t padding)
{
    static const uint8_t zeros[256];
    int rc = wire_buf_append(out, content, len);
    if (rc == 0)
        rc = wire_buf_append(out, &type, 1);
    while (rc == 0 && padding > 0) {
        size_t n = padding < sizeof(zeros) ? padding : sizeof(zeros);
        rc = wire_buf_append(out, zeros, n);
        padding -= n;
    }
    return rc;
}
