/*
 * test_handshake.c - handshake messages reassembled across records and split back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

/* Three messages: a small one, one larger than a record, an empty one. */
static void three_messages(wire_buf *msgs)
{
    static uint8_t body[40000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 13);
    assert_int_equal(wire_hs_write(msgs, 1, body, 200), 0);
    assert_int_equal(wire_hs_write(msgs, 11, body, sizeof(body)), 0);
    assert_int_equal(wire_hs_write(msgs, 14, NULL, 0), 0);
}

static void reassemble(const uint8_t *records, size_t len, int expect_msgs)
{
    wire_framer f = {0};
    wire_hs_reader r = {0};
    assert_int_equal(wire_framer_push(&f, records, len), 0);
    wire_record rec;
    int got = 0;
    static const uint8_t types[] = {1, 11, 14};
    static const uint32_t lens[] = {200, 40000, 0};
    while (wire_framer_next(&f, &rec) > 0) {
        assert_int_equal(rec.type, WIRE_CT_HANDSHAKE);
        assert_int_equal(wire_hs_push(&r, rec.payload, rec.len), 0);
        wire_hs_msg m;
        long n;
        while ((n = wire_hs_next(&r, &m, NULL)) > 0) {
            assert_true(got < expect_msgs);
            assert_int_equal(m.type, types[got]);
            assert_int_equal(m.len, lens[got]);
            assert_int_equal(n, 4 + lens[got]);
            if (m.len > 0)
                assert_int_equal(m.body[m.len - 1], (uint8_t)((m.len - 1) * 13));
            got++;
        }
        assert_int_equal(n, 0);
    }
    assert_int_equal(got, expect_msgs);
    assert_int_equal(wire_hs_pending(&r), 0);
    wire_hs_reader_cleanup(&r);
    wire_framer_cleanup(&f);
}

static void split_then_reassembled(void **state)
{
    static const size_t frags[] = {1, 3, 4, 5, 100, 16384};
    for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
        wire_buf msgs = {0}, recs = {0};
        three_messages(&msgs);
        long n = wire_hs_to_records(&recs, msgs.data, msgs.len, 0x0303, frags[i]);
        assert_int_equal(n, (long)((msgs.len + frags[i] - 1) / frags[i]));
        reassemble(recs.data, recs.len, 3);
        wire_buf_cleanup(&msgs);
        wire_buf_cleanup(&recs);
    }
}

/* Records re-cut by coalescing give the same messages. */
static void coalesced_records_same_messages(void **state)
{
    wire_buf msgs = {0}, recs = {0}, joined = {0};
    three_messages(&msgs);
    assert_true(wire_hs_to_records(&recs, msgs.data, msgs.len, 0x0303, 7) > 0);
    assert_true(wire_refragment(recs.data, recs.len, 16384, 1, &joined) > 0);
    reassemble(joined.data, joined.len, 3);
    wire_buf_cleanup(&msgs);
    wire_buf_cleanup(&recs);
    wire_buf_cleanup(&joined);
}

static void too_long_is_decode_error(void **state)
{
    wire_hs_reader r = {0};
    const uint8_t hdr[] = {11, 0xff, 0xff, 0xff};
    assert_int_equal(wire_hs_push(&r, hdr, sizeof(hdr)), 0);
    wire_hs_msg m;
    int alert = WIRE_ALERT_NONE;
    assert_int_equal(wire_hs_next(&r, &m, &alert), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(alert, WIRE_ALERT_DECODE_ERROR);
    wire_hs_reader_cleanup(&r);
    wire_buf b = {0};
    static uint8_t big[1];
    assert_int_equal(wire_hs_write(&b, 1, big, 0x1000000), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_hs_to_records(&b, big, 0, 0x0303, 100), TLSRIG_ERR_INVALID_ARGUMENT);
    wire_buf_cleanup(&b);
}

static void partial_header_waits(void **state)
{
    wire_hs_reader r = {0};
    const uint8_t part[] = {2, 0, 0};
    assert_int_equal(wire_hs_push(&r, part, sizeof(part)), 0);
    wire_hs_msg m;
    assert_int_equal(wire_hs_next(&r, &m, NULL), 0);
    const uint8_t rest[] = {2, 0xaa, 0xbb};
    assert_int_equal(wire_hs_push(&r, rest, sizeof(rest)), 0);
    assert_int_equal(wire_hs_next(&r, &m, NULL), 6);
    assert_int_equal(m.type, 2);
    assert_int_equal(m.len, 2);
    assert_int_equal(m.body[1], 0xbb);
    wire_hs_reader_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_then_reassembled),
        cmocka_unit_test(coalesced_records_same_messages),
        cmocka_unit_test(too_long_is_decode_error),
        cmocka_unit_test(partial_header_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
