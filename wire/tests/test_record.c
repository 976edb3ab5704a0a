/*
 * test_record.c - records: parsing, the framer, SSLv2-compatible hellos, re-fragmentation,
 * the TLS 1.3 inner plaintext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

static void build(wire_buf *b, uint8_t type, size_t len, uint8_t fill)
{
    uint8_t payload[20000];
    memset(payload, fill, len);
    assert_int_equal(wire_record_write(b, type, 0x0303, payload, len), 0);
}

static void parse_whole_and_partial(void **state)
{
    wire_buf b = {0};
    build(&b, WIRE_CT_HANDSHAKE, 300, 0xab);
    wire_record rec;
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_equal(wire_record_parse(b.data, cut, 0, &rec, NULL), 0);
    assert_int_equal(wire_record_parse(b.data, b.len, 0, &rec, NULL), 305);
    assert_int_equal(rec.type, WIRE_CT_HANDSHAKE);
    assert_int_equal(rec.version, 0x0303);
    assert_int_equal(rec.len, 300);
    assert_ptr_equal(rec.payload, b.data + 5);
    assert_int_equal(rec.sslv2, 0);
    wire_buf_cleanup(&b);
}

static void write_refuses_oversize(void **state)
{
    wire_buf b = {0};
    static uint8_t big[0x10000];
    assert_int_equal(wire_record_write(&b, 23, 0x0303, big, sizeof(big)),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(b.len, 0);
    /* over-long for TLS, but writable on purpose */
    assert_int_equal(wire_record_write(&b, 23, 0x0303, big, 0xffff), 0);
    assert_int_equal(b.len, 5 + 0xffff);
    wire_buf_cleanup(&b);
}

static void check_names_alerts(void **state)
{
    wire_record rec = {.type = WIRE_CT_APPLICATION_DATA, .len = 16384};
    assert_int_equal(wire_record_check(&rec, 0), WIRE_ALERT_NONE);
    rec.len = 16385;
    assert_int_equal(wire_record_check(&rec, 0), WIRE_ALERT_RECORD_OVERFLOW);
    assert_int_equal(wire_record_check(&rec, 1), WIRE_ALERT_NONE);
    rec.len = 16384 + 2049;
    assert_int_equal(wire_record_check(&rec, 1), WIRE_ALERT_RECORD_OVERFLOW);
    rec.type = 99;
    rec.len = 10;
    assert_int_equal(wire_record_check(&rec, 0), WIRE_ALERT_UNEXPECTED_MESSAGE);
    rec.type = WIRE_CT_HANDSHAKE;
    rec.len = 0;
    assert_int_equal(wire_record_check(&rec, 0), WIRE_ALERT_UNEXPECTED_MESSAGE);
    rec.type = WIRE_CT_ALERT;
    assert_int_equal(wire_record_check(&rec, 0), WIRE_ALERT_UNEXPECTED_MESSAGE);
}

/* The framer returns the same records whatever size the pieces come in. */
static void framer_any_piece_size(void **state)
{
    wire_buf stream = {0};
    build(&stream, WIRE_CT_HANDSHAKE, 100, 1);
    build(&stream, WIRE_CT_CHANGE_CIPHER_SPEC, 1, 2);
    build(&stream, WIRE_CT_APPLICATION_DATA, 17000, 3);
    build(&stream, WIRE_CT_ALERT, 2, 4);
    static const size_t sizes[] = {1, 2, 3, 5, 7, 64, 4096, 100000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        wire_framer f = {0};
        size_t want_len[] = {100, 1, 17000, 2}, got = 0, off = 0;
        uint8_t want_type[] = {22, 20, 23, 21};
        while (off < stream.len) {
            size_t n = stream.len - off < sizes[s] ? stream.len - off : sizes[s];
            assert_int_equal(wire_framer_push(&f, stream.data + off, n), 0);
            off += n;
            wire_record rec;
            long r;
            while ((r = wire_framer_next(&f, &rec)) > 0) {
                assert_true(got < 4);
                assert_int_equal(rec.type, want_type[got]);
                assert_int_equal(rec.len, want_len[got]);
                assert_int_equal(rec.payload[rec.len - 1], got + 1);
                size_t raw_len;
                const uint8_t *raw = wire_framer_raw(&f, &raw_len);
                assert_int_equal(raw_len, (size_t)r);
                assert_int_equal(raw[0], want_type[got]);
                got++;
            }
            assert_int_equal(r, 0);
        }
        assert_int_equal(got, 4);
        assert_int_equal(wire_framer_pending(&f), 0);
        wire_framer_cleanup(&f);
    }
    wire_buf_cleanup(&stream);
}

/* RFC 5246 Appendix E.2: msg_length with the high bit, CLIENT-HELLO, version 3.1. */
static const uint8_t sslv2_hello[] = {
    0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x35, 0x00, 0x00,
    0x2f, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x05, 0x00, 0x00, 0x04, 0x00, 0x00, 0xff, 0x11, 0x22, 0x33,
    0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01, 0x02, 0x03};

static void sslv2_hello_tolerated_first(void **state)
{
    wire_framer f = {.allow_sslv2 = 1};
    wire_buf tail = {0};
    build(&tail, WIRE_CT_HANDSHAKE, 10, 9);
    assert_int_equal(wire_framer_push(&f, sslv2_hello, 10), 0);
    wire_record rec;
    assert_int_equal(wire_framer_next(&f, &rec), 0); /* partial */
    assert_int_equal(wire_framer_push(&f, sslv2_hello + 10, sizeof(sslv2_hello) - 10), 0);
    assert_int_equal(wire_framer_push(&f, tail.data, tail.len), 0);
    assert_int_equal(wire_framer_next(&f, &rec), (long)sizeof(sslv2_hello));
    assert_int_equal(rec.sslv2, 1);
    assert_int_equal(rec.type, WIRE_CT_HANDSHAKE);
    assert_int_equal(rec.version, 0x0301);
    assert_int_equal(rec.len, sizeof(sslv2_hello) - 2);
    size_t raw_len;
    assert_ptr_equal(wire_framer_raw(&f, &raw_len)[0], 0x80);
    assert_int_equal(raw_len, sizeof(sslv2_hello));
    /* only the first record may be SSLv2: the next is a normal record */
    assert_int_equal(wire_framer_next(&f, &rec), 15);
    assert_int_equal(rec.sslv2, 0);
    wire_framer_cleanup(&f);
    wire_buf_cleanup(&tail);
}

static void sslv2_not_a_client_hello(void **state)
{
    uint8_t bad[sizeof(sslv2_hello)];
    memcpy(bad, sslv2_hello, sizeof(bad));
    bad[2] = 0x04; /* SERVER-HELLO */
    wire_framer f = {.allow_sslv2 = 1};
    assert_int_equal(wire_framer_push(&f, bad, sizeof(bad)), 0);
    wire_record rec;
    assert_int_equal(wire_framer_next(&f, &rec), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(f.failed_alert, WIRE_ALERT_DECODE_ERROR);
    assert_int_equal(wire_framer_next(&f, &rec), TLSRIG_ERR_INVALID_ARGUMENT); /* stays */
    wire_framer_cleanup(&f);
    /* without allow_sslv2 the same bytes frame by the TLS header: type 0x80 and a length of
     * 0x0301 from bytes 3-4, so the 48 bytes are a partial record; a longer buffer completes it */
    wire_record r2;
    assert_int_equal(wire_record_parse(sslv2_hello, sizeof(sslv2_hello), 0, &r2, NULL), 0);
    static uint8_t whole[5 + 0x301];
    memcpy(whole, sslv2_hello, sizeof(sslv2_hello));
    assert_int_equal(wire_record_parse(whole, sizeof(whole), 0, &r2, NULL), (long)sizeof(whole));
    assert_int_equal(r2.type, 0x80);
    assert_int_equal(r2.len, 0x301);
}

static void refragment_split_and_coalesce(void **state)
{
    wire_buf in = {0}, out = {0};
    build(&in, WIRE_CT_HANDSHAKE, 100, 1);
    build(&in, WIRE_CT_HANDSHAKE, 50, 1);
    build(&in, WIRE_CT_CHANGE_CIPHER_SPEC, 1, 2);
    /* split only: 100 -> 40+40+20, 50 -> 40+10, CCS stays */
    assert_int_equal(wire_refragment(in.data, in.len, 40, 0, &out), 6);
    assert_int_equal(out.len, in.len + 3 * 5);
    /* coalesce: 150 bytes of handshake in one record, then the CCS */
    out.len = 0;
    assert_int_equal(wire_refragment(in.data, in.len, 16384, 1, &out), 2);
    wire_record rec;
    assert_int_equal(wire_record_parse(out.data, out.len, 0, &rec, NULL), 155);
    assert_int_equal(rec.len, 150);
    /* coalesce and split: 150 -> 64+64+22, CCS */
    out.len = 0;
    assert_int_equal(wire_refragment(in.data, in.len, 64, 1, &out), 4);
    /* the payload bytes are unchanged in order */
    wire_framer f = {0};
    assert_int_equal(wire_framer_push(&f, out.data, out.len), 0);
    size_t hs = 0;
    while (wire_framer_next(&f, &rec) > 0)
        if (rec.type == WIRE_CT_HANDSHAKE)
            hs += rec.len;
    assert_int_equal(hs, 150);
    wire_framer_cleanup(&f);
    /* a partial record is refused; a bad size too */
    out.len = 0;
    assert_int_equal(wire_refragment(in.data, in.len - 1, 64, 1, &out),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_refragment(in.data, in.len, 0, 1, &out), TLSRIG_ERR_INVALID_ARGUMENT);
    wire_buf_cleanup(&in);
    wire_buf_cleanup(&out);
}

static void inner_plaintext(void **state)
{
    wire_buf b = {0};
    assert_int_equal(wire_inner_write(&b, "hello", 5, WIRE_CT_APPLICATION_DATA, 300), 0);
    assert_int_equal(b.len, 5 + 1 + 300);
    uint8_t type = 0;
    assert_int_equal(wire_inner_parse(b.data, b.len, &type, NULL), 5);
    assert_int_equal(type, WIRE_CT_APPLICATION_DATA);
    /* an empty content is legal for application data */
    b.len = 0;
    assert_int_equal(wire_inner_write(&b, NULL, 0, WIRE_CT_APPLICATION_DATA, 0), 0);
    assert_int_equal(wire_inner_parse(b.data, b.len, &type, NULL), 0);
    /* all zeros: no type (RFC 8446 §5.4) */
    uint8_t zeros[32] = {0};
    int alert = WIRE_ALERT_NONE;
    assert_int_equal(wire_inner_parse(zeros, sizeof(zeros), &type, &alert),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(alert, WIRE_ALERT_UNEXPECTED_MESSAGE);
    assert_int_equal(wire_inner_parse(zeros, 0, &type, &alert), TLSRIG_ERR_INVALID_ARGUMENT);
    wire_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_whole_and_partial),
        cmocka_unit_test(write_refuses_oversize),
        cmocka_unit_test(check_names_alerts),
        cmocka_unit_test(framer_any_piece_size),
        cmocka_unit_test(sslv2_hello_tolerated_first),
        cmocka_unit_test(sslv2_not_a_client_hello),
        cmocka_unit_test(refragment_split_and_coalesce),
        cmocka_unit_test(inner_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
