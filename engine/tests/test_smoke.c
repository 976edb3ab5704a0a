/*
 * test_smoke.c - the shortest end-to-end path: a TLS 1.3 and a TLS 1.2 handshake over memory
 * BIOs, one message each way, a bidirectional shutdown.
 */
#include "harness.h"

static void run(int version)
{
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    h_ctx_ok(c, tlsrig_ctx_set_max_proto_version(c, version));
    h_pair p = {0};
    h_pair_new(&p, c, s);
    int rc = h_handshake(&p);
    if (rc != 0)
        fail_msg("handshake: %s / client: %s / server: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p.client)->message,
                 tlsrig_conn_last_error(p.server)->message);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), version);
    h_send_recv(&p, p.client, p.server, "ping", 4);
    h_send_recv(&p, p.server, p.client, "pong", 4);
    assert_int_equal(tlsrig_conn_shutdown(p.client), 0);
    h_pump(&p);
    char buf[8];
    assert_int_equal(tlsrig_conn_recv(p.server, buf, sizeof(buf), 0), TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(tlsrig_conn_shutdown(p.server), 1);
    h_pump(&p);
    assert_int_equal(tlsrig_conn_shutdown(p.client), 1);
    h_pair_free(&p);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void smoke_tls13(void **state)
{
    (void)state;
    run(TLS1_3_VERSION);
}

static void smoke_tls12(void **state)
{
    (void)state;
    run(TLS1_2_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smoke_tls13),
        cmocka_unit_test(smoke_tls12),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
