/*
 * test_err.c - error codes and error records: tlsrig_err_name / tlsrig_err_message for every
 * code of the TLSRIG_ERRORS list and for values outside it, and the rule that an object's
 * error record describes only its last failing call (cleared by the next call that can fail,
 * kept per object).
 */
#include <limits.h>
#include <string.h>

#include "harness.h"

/* The list, expanded here on its own: err.c's switch must agree with it entry by entry. */
typedef struct {
    const char *name;
    int value;
    const char *message;
} err_entry;

static const err_entry all_errors[] = {
#define ENTRY(name, value, msg) {#name, value, msg},
    TLSRIG_ERRORS(ENTRY)
#undef ENTRY
};
#define N_ERRORS (sizeof(all_errors) / sizeof(all_errors[0]))

static void err_name_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ERRORS; i++) {
        const char *got = tlsrig_err_name(all_errors[i].value);
        assert_non_null(got);
        assert_string_equal(got, all_errors[i].name);
    }
    /* The enum itself agrees with the list (the enumerators are generated from it). */
    assert_int_equal(TLSRIG_ERR_OK, 0);
    assert_string_equal(tlsrig_err_name(TLSRIG_ERR_WANT_READ), "WANT_READ");
    assert_string_equal(tlsrig_err_name(TLSRIG_ERR_NOT_AVAILABLE), "NOT_AVAILABLE");
}

static void err_message_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ERRORS; i++) {
        const char *got = tlsrig_err_message(all_errors[i].value);
        assert_non_null(got);
        assert_string_equal(got, all_errors[i].message);
        if (got[0] == '\0')
            fail_msg("%s: empty message", all_errors[i].name);
    }
}

static void err_codes_distinct_and_negative(void **state)
{
    (void)state;
    /* "A value is never both" a success and an error: OK is the only non-negative code, and
     * no two codes (or names, or messages) coincide. */
    for (size_t i = 0; i < N_ERRORS; i++) {
        if (strcmp(all_errors[i].name, "OK") == 0)
            assert_int_equal(all_errors[i].value, 0);
        else if (all_errors[i].value >= 0)
            fail_msg("%s has non-negative value %d", all_errors[i].name, all_errors[i].value);
        for (size_t j = i + 1; j < N_ERRORS; j++) {
            if (all_errors[i].value == all_errors[j].value)
                fail_msg("%s and %s share value %d", all_errors[i].name, all_errors[j].name,
                         all_errors[i].value);
            if (strcmp(all_errors[i].message, all_errors[j].message) == 0)
                fail_msg("%s and %s share message \"%s\"", all_errors[i].name, all_errors[j].name,
                         all_errors[i].message);
            if (strcmp(tlsrig_err_name(all_errors[i].value),
                       tlsrig_err_name(all_errors[j].value)) == 0)
                fail_msg("%s and %s share a name", all_errors[i].name, all_errors[j].name);
        }
    }
}

static void err_unknown_values(void **state)
{
    (void)state;
    /* Just past both ends of the list, and the extremes. */
    int lowest = 0, highest = 0;
    for (size_t i = 0; i < N_ERRORS; i++) {
        if (all_errors[i].value < lowest)
            lowest = all_errors[i].value;
        if (all_errors[i].value > highest)
            highest = all_errors[i].value;
    }
    const int unknown[] = {lowest - 1, highest + 1, 42, -1000, INT_MIN, INT_MAX};
    for (size_t k = 0; k < sizeof(unknown) / sizeof(unknown[0]); k++) {
        const char *name = tlsrig_err_name(unknown[k]);
        assert_non_null(name);
        assert_string_equal(name, "UNKNOWN");
        const char *msg = tlsrig_err_message(unknown[k]);
        assert_non_null(msg);
        if (msg[0] == '\0')
            fail_msg("value %d: empty message", unknown[k]);
        /* It must not pass for the description of a real code. */
        for (size_t i = 0; i < N_ERRORS; i++)
            if (strcmp(msg, all_errors[i].message) == 0)
                fail_msg("value %d described as %s: \"%s\"", unknown[k], all_errors[i].name, msg);
    }
}

/* ---- the error record's lifetime ---- */

static tlsrig_ctx *new_ctx(int method)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    int rc = tlsrig_ctx_new(method, &ctx, &err);
    if (rc < 0)
        fail_msg("tlsrig_ctx_new: %s: %s", tlsrig_err_name(rc), err.message);
    return ctx;
}

static void assert_record_clear(const tlsrig_error *e)
{
    if (e->code != TLSRIG_ERR_OK)
        fail_msg("record still holds %s: %s", tlsrig_err_name(e->code), e->message);
    assert_int_equal(e->sys_errno, 0);
    assert_string_equal(e->message, "");
    assert_int_equal(e->n_ssl, 0);
}

static void ctx_record_cleared_by_next_success(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_METHOD);
    assert_record_clear(tlsrig_ctx_last_error(ctx));

    /* A system failure: code, errno and message are all set ... */
    assert_int_equal(tlsrig_ctx_load_verify_locations(ctx, "/nonexistent/tlsrig/ca.pem", NULL),
                     TLSRIG_ERR_SYSCALL);
    const tlsrig_error *e = tlsrig_ctx_last_error(ctx);
    assert_int_equal(e->code, TLSRIG_ERR_SYSCALL);
    assert_int_not_equal(e->sys_errno, 0);
    assert_non_null(strstr(e->message, "/nonexistent/tlsrig/ca.pem"));
    /* ... and a later successful call that can fail wipes all of it. */
    h_ctx_ok(ctx, tlsrig_ctx_set_verify_depth(ctx, 3));
    assert_record_clear(tlsrig_ctx_last_error(ctx));

    /* A TLS library failure carries OpenSSL's queue; the next success drops it too. */
    assert_int_equal(tlsrig_ctx_set_cipher_list(ctx, "NO-SUCH-CIPHER"), TLSRIG_ERR_SSL);
    assert_true(tlsrig_ctx_last_error(ctx)->n_ssl > 0);
    h_ctx_ok(ctx, tlsrig_ctx_set_cipher_list(ctx, "HIGH"));
    assert_record_clear(tlsrig_ctx_last_error(ctx));

    /* A failure replaces the previous failure rather than adding to it. */
    assert_int_equal(tlsrig_ctx_set_cipher_list(ctx, "NO-SUCH-CIPHER"), TLSRIG_ERR_SSL);
    size_t n_first = tlsrig_ctx_last_error(ctx)->n_ssl;
    assert_int_equal(tlsrig_ctx_set_verify_depth(ctx, -1), TLSRIG_ERR_INVALID_ARGUMENT);
    e = tlsrig_ctx_last_error(ctx);
    assert_int_equal(e->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(e->n_ssl, 0);
    assert_true(n_first > 0);
    assert_null(strstr(e->message, "NO-SUCH-CIPHER"));
    tlsrig_ctx_free(ctx);
}

static void ctx_records_are_per_object(void **state)
{
    (void)state;
    tlsrig_ctx *a = new_ctx(TLSRIG_TLS_METHOD), *b = new_ctx(TLSRIG_TLS_METHOD);
    assert_int_equal(tlsrig_ctx_set_verify(a, TLSRIG_VERIFY_CLIENT_ONCE, NULL, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    /* b never failed; a success on b leaves a's record alone. */
    assert_record_clear(tlsrig_ctx_last_error(b));
    h_ctx_ok(b, tlsrig_ctx_set_verify_depth(b, 2));
    assert_int_equal(tlsrig_ctx_last_error(a)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    /* A failure on b does not touch a's record either. */
    assert_int_equal(tlsrig_ctx_set_cipher_list(b, "NO-SUCH-CIPHER"), TLSRIG_ERR_SSL);
    assert_int_equal(tlsrig_ctx_last_error(a)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_last_error(a)->n_ssl, 0);
    tlsrig_ctx_free(a);
    tlsrig_ctx_free(b);
}

static void conn_record_cleared_by_next_success(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = new_ctx(TLSRIG_TLS_CLIENT_METHOD);
    tlsrig_conn *conn = NULL;
    h_ctx_ok(ctx, tlsrig_conn_new(ctx, -1, &conn));
    tlsrig_conn_set_connect_state(conn);
    assert_record_clear(tlsrig_conn_last_error(conn));

    assert_int_equal(tlsrig_conn_set_tlsext_host_name(conn, ""), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_true(tlsrig_conn_last_error(conn)->message[0] != '\0');
    h_conn_ok(conn, tlsrig_conn_set_tlsext_host_name(conn, "server.tlsrig.test"));
    assert_record_clear(tlsrig_conn_last_error(conn));

    /* A "want" result is recorded like any other non-success ... */
    assert_int_equal(tlsrig_conn_do_handshake(conn), TLSRIG_ERR_WANT_READ);
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_WANT_READ);
    /* ... and cleared by the next call that succeeds. */
    const tlsrig_bytes proto = {(const uint8_t *)"h2", 2};
    h_conn_ok(conn, tlsrig_conn_set_alpn_protos(conn, &proto, 1));
    assert_record_clear(tlsrig_conn_last_error(conn));

    /* The connection's failures are not the context's. */
    assert_int_equal(tlsrig_conn_set_alpn_protos(conn, NULL, 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_record_clear(tlsrig_ctx_last_error(ctx));
    tlsrig_conn_free(conn);
    tlsrig_ctx_free(ctx);
}

static void conn_ssl_failure_then_success(void **state)
{
    (void)state;
    /* A server without a certificate cannot complete any handshake: its failure carries
     * OpenSSL's queue. The next successful call on it starts from a clean record. */
    tlsrig_ctx *sctx = new_ctx(TLSRIG_TLS_SERVER_METHOD), *cctx = new_ctx(TLSRIG_TLS_METHOD);
    h_pair p = {0};
    h_pair_new(&p, cctx, sctx);
    /* Driven by hand: the record is read right after the failing call (a later bio_read on
     * the same connection is itself a call and would replace it). */
    assert_int_equal(tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
    assert_true(h_move(&p, p.client, p.server) > 0);
    assert_int_equal(tlsrig_conn_do_handshake(p.server), TLSRIG_ERR_SSL);
    const tlsrig_error *e = tlsrig_conn_last_error(p.server);
    assert_int_equal(e->code, TLSRIG_ERR_SSL);
    assert_true(e->n_ssl > 0);
    assert_true(e->ssl[0].reason[0] != '\0');
    const tlsrig_bytes proto = {(const uint8_t *)"h2", 2};
    h_conn_ok(p.server, tlsrig_conn_set_alpn_protos(p.server, &proto, 1));
    assert_record_clear(tlsrig_conn_last_error(p.server));
    h_pair_free(&p);
    tlsrig_ctx_free(cctx);
    tlsrig_ctx_free(sctx);
}

static void ctx_new_err_struct_cleared_on_success(void **state)
{
    (void)state;
    tlsrig_error err;
    tlsrig_ctx *ctx = NULL;
    assert_int_equal(tlsrig_ctx_new(-3, &ctx, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "-3"));
    /* The same struct passed to a successful call comes back describing success. */
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err), 0);
    assert_record_clear(&err);
    tlsrig_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_name_every_code),
        cmocka_unit_test(err_message_every_code),
        cmocka_unit_test(err_codes_distinct_and_negative),
        cmocka_unit_test(err_unknown_values),
        cmocka_unit_test(ctx_record_cleared_by_next_success),
        cmocka_unit_test(ctx_records_are_per_object),
        cmocka_unit_test(conn_record_cleared_by_next_success),
        cmocka_unit_test(conn_ssl_failure_then_success),
        cmocka_unit_test(ctx_new_err_struct_cleared_on_success),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
