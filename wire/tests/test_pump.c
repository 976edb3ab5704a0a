/*
 * test_pump.c - endpoints and the pump: engine connections handshaking through it, the
 * observer and the record hook, closing, feeds, budgets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

/* Two contexts and a connected pair of engine endpoints. */
typedef struct pair {
    tlsrig_ctx *cctx, *sctx;
    tlsrig_conn *c, *s;
    wire_engine ce, se;
    wire_pump pump;
} pair;

static void pair_open_trust(pair *p, int max_version, const wire_pump_opts *opt, int trust)
{
    memset(p, 0, sizeof(*p));
    p->sctx = wt_server_ctx();
    p->cctx = wt_client_ctx(trust, max_version, NULL);
    assert_int_equal(tlsrig_conn_new(p->cctx, -1, &p->c), 0);
    assert_int_equal(tlsrig_conn_new(p->sctx, -1, &p->s), 0);
    tlsrig_conn_set_connect_state(p->c);
    tlsrig_conn_set_accept_state(p->s);
    wire_engine_init(&p->ce, p->c, "client");
    wire_engine_init(&p->se, p->s, "server");
    wire_pump_init(&p->pump, &p->ce.ep, &p->se.ep, opt);
}

static void pair_open(pair *p, int max_version, const wire_pump_opts *opt)
{
    pair_open_trust(p, max_version, opt, 1);
}

static void pair_close(pair *p)
{
    wire_pump_cleanup(&p->pump);
    wire_endpoint_cleanup(&p->ce.ep);
    wire_endpoint_cleanup(&p->se.ep);
    tlsrig_conn_free(p->c);
    tlsrig_conn_free(p->s);
    tlsrig_ctx_free(p->cctx);
    tlsrig_ctx_free(p->sctx);
}

typedef struct seen {
    uint64_t bytes[2];
    int records[2];
    int bad_framing;
    int drop_from; /* drop this side's records (-1 none) */
    int abort_after;
    wire_buf wire[2];
} seen;

static int observe(void *arg, int from, const uint8_t *data, size_t len)
{
    seen *s = arg;
    s->bytes[from] += len;
    return wire_buf_append(&s->wire[from], data, len);
}

static int hook(void *arg, int from, uint8_t *rec, size_t *len, size_t cap)
{
    seen *s = arg;
    wire_record r;
    if (wire_record_parse(rec, *len, from == WIRE_CLIENT, &r, NULL) != (long)*len)
        s->bad_framing++;
    s->records[from]++;
    if (s->abort_after > 0 && s->records[0] + s->records[1] >= s->abort_after)
        return -1;
    if (from == s->drop_from)
        *len = 0;
    return 0;
}

static void handshake_both_versions(void **state)
{
    static const int versions[] = {TLSRIG_VERSION_TLS1_2, TLSRIG_VERSION_TLS1_3};
    for (size_t i = 0; i < 2; i++) {
        seen s = {.drop_from = -1};
        wire_pump_opts opt = {.observe = observe, .observe_arg = &s};
        pair p;
        pair_open(&p, versions[i], &opt);
        assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_DONE);
        assert_true(wire_endpoint_state(&p.ce.ep) & WIRE_ST_DONE);
        assert_true(wire_endpoint_state(&p.se.ep) & WIRE_ST_DONE);
        assert_false(wire_endpoint_state(&p.ce.ep) & (WIRE_ST_BUSY | WIRE_ST_FAILED));
        assert_int_equal(tlsrig_conn_get_protocol_version(p.c), versions[i]);
        /* the observer saw every byte the pump moved */
        assert_true(s.bytes[0] > 0 && s.bytes[1] > 0);
        assert_int_equal(s.bytes[0], p.pump.moved[0]);
        assert_int_equal(s.bytes[1], p.pump.moved[1]);
        /* application data both ways */
        assert_int_equal(tlsrig_conn_sendall(p.c, "ping", 4, 0), 4);
        assert_true(wire_pump_flush(&p.pump) > 0);
        char buf[8] = "";
        assert_int_equal(tlsrig_conn_recv(p.s, buf, sizeof(buf), 0), 4);
        assert_memory_equal(buf, "ping", 4);
        assert_ptr_equal(wire_engine_from(&p.ce.ep), &p.ce);
        assert_ptr_equal(wire_engine_get0_conn(&p.se), p.s);
        assert_int_equal(wire_endpoint_error(&p.se.ep, NULL), 0);
        wire_buf_cleanup(&s.wire[0]);
        wire_buf_cleanup(&s.wire[1]);
        pair_close(&p);
    }
}

static void hook_sees_whole_records(void **state)
{
    seen s = {.drop_from = -1};
    wire_pump_opts opt = {
        .record_hook = hook, .record_arg = &s, .observe = observe, .observe_arg = &s};
    pair p;
    pair_open(&p, 0, &opt);
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_DONE);
    assert_int_equal(s.bad_framing, 0);
    assert_true(s.records[0] >= 2 && s.records[1] >= 2);
    /* unchanged records: what was delivered is what was read */
    assert_int_equal(s.bytes[0], p.pump.moved[0]);
    assert_int_equal(s.bytes[1], p.pump.moved[1]);
    /* a large write crosses as several records, each seen whole */
    static uint8_t big[50000];
    int before = s.records[0];
    assert_int_equal(tlsrig_conn_sendall(p.c, big, sizeof(big), 0), (int)sizeof(big));
    assert_true(wire_pump_flush(&p.pump) > 0);
    assert_true(s.records[0] - before >= 4);
    assert_int_equal(s.bad_framing, 0);
    wire_buf_cleanup(&s.wire[0]);
    wire_buf_cleanup(&s.wire[1]);
    pair_close(&p);
}

static void dropped_records_fail_the_handshake(void **state)
{
    seen s = {.drop_from = WIRE_SERVER};
    wire_pump_opts opt = {.record_hook = hook, .record_arg = &s};
    pair p;
    pair_open(&p, 0, &opt);
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
    assert_false(wire_endpoint_state(&p.ce.ep) & WIRE_ST_DONE);
    pair_close(&p);
}

static void hook_abort_stops_the_pump(void **state)
{
    seen s = {.drop_from = -1, .abort_after = 2};
    wire_pump_opts opt = {.record_hook = hook, .record_arg = &s};
    pair p;
    pair_open(&p, 0, &opt);
    assert_true(wire_pump_handshake(&p.pump) < 0);
    pair_close(&p);
}

/* A filter that splits the client's first record (the ClientHello, in the clear) in two and
 * holds each of the server's records back until the next move asks for held output. */
typedef struct splitter {
    int split, held_back;
    wire_buf held;
} splitter;

static int split_filter(void *arg, int from, const uint8_t *rec, size_t len, wire_buf *out)
{
    splitter *sp = arg;
    if (rec == NULL) { /* release what was held back from this side */
        if (from != WIRE_SERVER)
            return 0;
        int rc = wire_buf_append(out, sp->held.data, sp->held.len);
        sp->held.len = 0;
        return rc;
    }
    wire_record r;
    assert_int_equal(wire_record_parse(rec, len, 1, &r, NULL), (long)len);
    if (from == WIRE_SERVER) {
        sp->held_back++;
        return wire_buf_append(&sp->held, rec, len);
    }
    if (sp->split == 0 && r.type == WIRE_CT_HANDSHAKE && r.len >= 2) {
        sp->split++;
        long n = wire_refragment(rec, len, (r.len + 1) / 2, 0, out);
        return n == 2 ? 0 : -1;
    }
    return wire_buf_append(out, rec, len);
}

static void filter_rewrites_and_holds_back(void **state)
{
    splitter sp = {0};
    wire_pump_opts opt = {.filter = split_filter, .filter_arg = &sp};
    pair p;
    pair_open(&p, TLSRIG_VERSION_TLS1_2, &opt);
    int r = wire_pump_handshake(&p.pump);
    if (r != WIRE_DRIVE_DONE)
        fail_msg("handshake: %d: client %s / server %s", r, p.ce.last_msg, p.se.last_msg);
    assert_int_equal(sp.split, 1);
    assert_true(sp.held_back >= 2); /* every server record waited one move */
    assert_int_equal(sp.held.len, 0);
    wire_buf_cleanup(&sp.held);
    pair_close(&p);
}

static void close_ends_the_stream(void **state)
{
    pair p;
    pair_open(&p, 0, NULL);
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_DONE);
    assert_int_equal(wire_pump_close(&p.pump, WIRE_CLIENT), 0);
    assert_true(wire_pump_closed(&p.pump, WIRE_CLIENT));
    /* what the closed side writes now goes nowhere */
    assert_int_equal(tlsrig_conn_sendall(p.c, "late", 4, 0), 4);
    assert_int_equal(wire_pump_flush(&p.pump), 0);
    char buf[8];
    int rc = tlsrig_conn_recv(p.s, buf, sizeof(buf), 0);
    assert_int_equal(rc, TLSRIG_ERR_SYSCALL); /* EOF without close_notify */
    assert_int_equal(wire_pump_drive(&p.pump, WIRE_CLIENT), 0);
    pair_close(&p);
}

static void a_failed_side_reports_its_error(void **state)
{
    pair p;
    pair_open_trust(&p, 0, NULL, 0); /* the client trusts nothing: verification fails */
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_FAILED);
    const char *msg = NULL;
    assert_true(wire_endpoint_error(&p.ce.ep, &msg) < 0);
    assert_non_null(msg);
    assert_true(wire_endpoint_state(&p.ce.ep) & WIRE_ST_FAILED);
    /* the server read the client's alert */
    assert_true(p.se.last_err < 0);
    pair_close(&p);
}

static void budget_and_deadline(void **state)
{
    wire_pump_opts opt = {.budget = 1};
    pair p;
    pair_open(&p, 0, &opt);
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_BUDGET);
    pair_close(&p);
    wire_pump_opts late = {.deadline = 1.0}; /* long past on CLOCK_MONOTONIC */
    pair_open(&p, 0, &late);
    assert_int_equal(wire_pump_handshake(&p.pump), WIRE_DRIVE_TIMEOUT);
    pair_close(&p);
}

/* A feed replays a recorded client flight into a fresh deterministic server, which answers
 * with the very bytes it sent the live client. */
typedef struct flight {
    const uint8_t *data;
    size_t len;
    int given;
    wire_buf out;
} flight;

static int flight_next(void *arg, const uint8_t **data, size_t *len)
{
    flight *f = arg;
    if (f->given)
        return 0;
    f->given = 1;
    *data = f->data;
    *len = f->len;
    return 1;
}

static void flight_sink(void *arg, const uint8_t *data, size_t len)
{
    flight *f = arg;
    assert_int_equal(wire_buf_append(&f->out, data, len), 0);
}

static void feed_replays_a_flight(void **state)
{
    seen s = {.drop_from = -1};
    wire_pump_opts opt = {.observe = observe, .observe_arg = &s};
    pair p;
    assert_int_equal(tlsrig_deterministic(7), 0);
    pair_open(&p, 0, &opt);
    /* one client flight, one server flight */
    assert_int_equal(wire_pump_drive(&p.pump, WIRE_CLIENT), TLSRIG_ERR_WANT_READ);
    assert_true(wire_pump_move(&p.pump, WIRE_CLIENT) > 0);
    assert_int_equal(wire_pump_drive(&p.pump, WIRE_SERVER), TLSRIG_ERR_WANT_READ);
    assert_true(wire_pump_move(&p.pump, WIRE_SERVER) > 0);
    pair_close(&p);

    assert_int_equal(tlsrig_deterministic(7), 0);
    tlsrig_ctx *sctx = NULL;
    tlsrig_conn *sconn = NULL;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &sctx, NULL), 0);
    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(sctx, wt_pki("server-p256.chain.pem")),
                     0);
    assert_int_equal(
        tlsrig_ctx_use_privatekey_file(sctx, wt_pki("server-p256.key"), TLSRIG_FILETYPE_PEM), 0);
    /* The server's randoms follow the client's in the one deterministic source: run the
     * client's first move again (into a feed that keeps what it sends, which must be the
     * recorded flight), then give the server the recorded flight through another feed. */
    tlsrig_ctx *cctx = NULL;
    tlsrig_conn *cconn = NULL;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &cctx, NULL), 0);
    assert_int_equal(tlsrig_conn_new(cctx, -1, &cconn), 0);
    assert_int_equal(tlsrig_conn_new(sctx, -1, &sconn), 0);
    tlsrig_conn_set_connect_state(cconn);
    tlsrig_conn_set_accept_state(sconn);
    flight again = {.given = 1};
    wire_engine ce;
    wire_feed keep;
    wire_engine_init(&ce, cconn, "client");
    wire_feed_init(&keep, flight_next, flight_sink, &again, "keeper");
    wire_pump cpump;
    wire_pump_init(&cpump, &ce.ep, &keep.ep, NULL);
    assert_int_equal(wire_pump_drive(&cpump, WIRE_CLIENT), TLSRIG_ERR_WANT_READ);
    assert_true(wire_pump_move(&cpump, WIRE_CLIENT) > 0);
    assert_int_equal(again.out.len, s.wire[0].len);
    assert_memory_equal(again.out.data, s.wire[0].data, again.out.len);

    flight f = {.data = s.wire[0].data, .len = s.wire[0].len};
    wire_feed feed;
    wire_engine se;
    wire_feed_init(&feed, flight_next, flight_sink, &f, "recorded client");
    wire_engine_init(&se, sconn, "server");
    wire_pump pump;
    wire_pump_init(&pump, &feed.ep, &se.ep, NULL);
    assert_int_equal(wire_pump_move_one(&pump, WIRE_CLIENT), (long)f.len);
    assert_int_equal(wire_pump_move_one(&pump, WIRE_CLIENT), 0); /* the feed has ended */
    assert_true(wire_endpoint_state(&feed.ep) & WIRE_ST_CLOSED);
    wire_pump_drive(&pump, WIRE_SERVER);
    assert_true(wire_pump_move(&pump, WIRE_SERVER) > 0);
    assert_int_equal(f.out.len, s.wire[1].len);
    assert_memory_equal(f.out.data, s.wire[1].data, f.out.len);
    /* a feed without next() sends what it is given, piece by piece, and never ends */
    wire_feed given;
    flight none = {.given = 1};
    wire_feed_init(&given, NULL, flight_sink, &none, "given");
    wire_pump gp;
    wire_pump_init(&gp, &given.ep, &keep.ep, NULL);
    assert_int_equal(wire_pump_move(&gp, WIRE_CLIENT), 0);
    static uint8_t piece[40000];
    wire_feed_give(&given, piece, sizeof(piece));
    assert_int_equal(wire_pump_move(&gp, WIRE_CLIENT), (long)sizeof(piece));
    assert_int_equal(again.out.len, s.wire[0].len + sizeof(piece));
    assert_false(wire_endpoint_state(&given.ep) & WIRE_ST_CLOSED);
    wire_pump_cleanup(&gp);
    wire_pump_cleanup(&pump);
    wire_pump_cleanup(&cpump);
    wire_endpoint_cleanup(&ce.ep);
    wire_endpoint_cleanup(&keep.ep);
    tlsrig_conn_free(cconn);
    wire_buf_cleanup(&again.out);
    wire_endpoint_cleanup(&se.ep);
    wire_endpoint_cleanup(&feed.ep);
    wire_endpoint_cleanup(NULL);
    tlsrig_conn_free(sconn);
    tlsrig_ctx_free(sctx);
    tlsrig_ctx_free(cctx);
    wire_buf_cleanup(&f.out);
    wire_buf_cleanup(&s.wire[0]);
    wire_buf_cleanup(&s.wire[1]);
    tlsrig_deterministic_off();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_both_versions),
        cmocka_unit_test(hook_sees_whole_records),
        cmocka_unit_test(dropped_records_fail_the_handshake),
        cmocka_unit_test(hook_abort_stops_the_pump),
        cmocka_unit_test(filter_rewrites_and_holds_back),
        cmocka_unit_test(close_ends_the_stream),
        cmocka_unit_test(a_failed_side_reports_its_error),
        cmocka_unit_test(budget_and_deadline),
        cmocka_unit_test(feed_replays_a_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
