/*
 * test_interp.c - the interpreter as a library: verdicts, invalid scenarios, capture and
 * determinism, and the tamper hook that sits between the peers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rig.h"
#include "tlsrig.h"
#include "scn.h"

static const char *pki_dir(void)
{
    const char *d = getenv("TLSRIG_PKI");
    return d != NULL && d[0] != '\0' ? d : "pki";
}

#define PEERS                                                                                      \
    "peer client client\n"                                                                         \
    "    verify peer\n"                                                                            \
    "    ca root\n"                                                                                \
    "peer server server\n"                                                                         \
    "    cert p256\n"

/* Parse |text| (one variant) and run it; returns the status and fills |res|. */
static rig_status run_text(const char *text, const rig_options *opt, rig_result *res)
{
    scn_file f;
    char err[512];
    memset(&f, 0, sizeof(f));
    if (scn_parse_text("t.scn", text, strlen(text), &f, err, sizeof(err)) != 0)
        fail_msg("parse: %s", err);
    assert_int_equal(f.n_variants, 1);
    rig_status rs = rig_run(&f.variants[0], opt, res);
    scn_file_cleanup(&f);
    return rs;
}

static void passing_and_failing(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;

    assert_int_equal(run_text(PEERS "handshake\nexpect version client TLSv1.3\n"
                                    "send client \"ping\"\nrecv server \"ping\"\n",
                              &opt, &res),
                     RIG_PASS);
    rig_result_cleanup(&res);

    /* A wrong expectation fails at its line, saying what was expected and what was seen. */
    assert_int_equal(run_text(PEERS "handshake\nexpect version client TLSv1.2\n", &opt, &res),
                     RIG_FAIL);
    assert_int_equal(res.fail_line, 7);
    assert_non_null(strstr(res.message, "t.scn:7:"));
    assert_non_null(strstr(res.message, "TLSv1.2"));
    assert_non_null(strstr(res.message, "TLSv1.3"));
    rig_result_cleanup(&res);
}

static void invalid_steps(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;

    assert_int_equal(run_text(PEERS "handshak\n", &opt, &res), RIG_INVALID);
    assert_non_null(strstr(res.message, "t.scn:6: unknown step 'handshak'"));
    assert_non_null(strstr(res.message, "did you mean 'handshake'"));
    rig_result_cleanup(&res);

    assert_int_equal(run_text(PEERS "send nobody \"x\"\n", &opt, &res), RIG_INVALID);
    assert_non_null(strstr(res.message, "'nobody' is not a peer"));
    rig_result_cleanup(&res);

    assert_int_equal(run_text("peer client client\n    cerr p256\npeer server server\n"
                              "handshake\n",
                              &opt, &res),
                     RIG_INVALID);
    assert_non_null(strstr(res.message, "t.scn:2: unknown setting 'cerr'"));
    rig_result_cleanup(&res);

    /* Checking alone runs nothing. */
    scn_file f;
    char err[256];
    const char *text = PEERS "advance 1x\n";
    assert_int_equal(scn_parse_text("t.scn", text, strlen(text), &f, err, sizeof(err)), 0);
    assert_int_equal(rig_check(&f.variants[0], &res), RIG_INVALID);
    assert_non_null(strstr(res.message, "advance takes"));
    rig_result_cleanup(&res);
    scn_file_cleanup(&f);
}

static void capture_is_deterministic(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir(), .capture = 1};
    rig_result a, b;
    const char *text = PEERS "handshake\nsend server \"hi\"\nrecv client \"hi\"\n";

    assert_int_equal(run_text(text, &opt, &a), RIG_PASS);
    assert_int_equal(run_text(text, &opt, &b), RIG_PASS);
    assert_true(a.n_chunks >= 3);
    assert_int_equal(a.n_chunks, b.n_chunks);
    for (size_t i = 0; i < a.n_chunks; i++) {
        assert_int_equal(a.chunks[i].len, b.chunks[i].len);
        assert_memory_equal(a.chunks[i].data, b.chunks[i].data, a.chunks[i].len);
    }
    assert_int_equal(a.chunks[0].from_server, 0); /* the ClientHello comes first */
    assert_non_null(a.keylog);
    assert_non_null(strstr(a.keylog, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"));
    assert_string_equal(a.keylog, b.keylog);
    rig_result_cleanup(&a);
    rig_result_cleanup(&b);
}

typedef struct tamper_state {
    int records[2];  /* records seen, per direction */
    int flip_server; /* flip a byte of the first encrypted server record */
    int abort;
} tamper_state;

static int tamper(void *arg, int from_server, uint8_t *rec, size_t *len, size_t cap)
{
    tamper_state *t = arg;
    (void)cap;
    /* Every call is one whole record: header plus the length it announces. */
    assert_true(*len >= 5);
    assert_int_equal(*len, 5 + ((size_t)rec[3] << 8 | rec[4]));
    t->records[from_server]++;
    if (t->abort)
        return -1;
    if (t->flip_server && from_server && rec[0] == 23) {
        rec[*len - 1] ^= 0x01; /* corrupt the AEAD tag */
        t->flip_server = 0;
    }
    return 0;
}

static void tamper_sees_records_and_can_corrupt(void **state)
{
    (void)state;
    tamper_state t = {{0, 0}, 0, 0};
    rig_options opt = {.pki_dir = pki_dir(), .tamper = tamper, .tamper_arg = &t};
    rig_result res;

    assert_int_equal(run_text(PEERS "handshake\n", &opt, &res), RIG_PASS);
    assert_true(t.records[0] >= 2); /* ClientHello, then CCS and Finished */
    assert_true(t.records[1] >= 2);
    rig_result_cleanup(&res);

    /* RFC 8446 §5.2: a record that fails to decrypt ends the connection with bad_record_mac. */
    memset(&t, 0, sizeof(t));
    t.flip_server = 1;
    assert_int_equal(run_text(PEERS "handshake fails\n"
                                    "expect alert client sent fatal bad_record_mac\n"
                                    "expect error client ssl\n",
                              &opt, &res),
                     RIG_PASS);
    rig_result_cleanup(&res);

    /* A hook that aborts stops the scenario as a failure. */
    memset(&t, 0, sizeof(t));
    t.abort = 1;
    assert_int_equal(run_text(PEERS "handshake\n", &opt, &res), RIG_FAIL);
    assert_non_null(strstr(res.message, "wire"));
    rig_result_cleanup(&res);
}

static void budget_bounds_a_scenario(void **state)
{
    (void)state;
    rig_options opt = {.pki_dir = pki_dir()};
    rig_result res;
    /* Two pump rounds cannot finish a handshake. */
    assert_int_equal(run_text("budget 2\n" PEERS "handshake\n", &opt, &res), RIG_FAIL);
    assert_non_null(strstr(res.message, "budget"));
    rig_result_cleanup(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passing_and_failing),
        cmocka_unit_test(invalid_steps),
        cmocka_unit_test(capture_is_deterministic),
        cmocka_unit_test(tamper_sees_records_and_can_corrupt),
        cmocka_unit_test(budget_bounds_a_scenario),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tlsrig_deterministic_off();
    return rc;
}
