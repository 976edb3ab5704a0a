/*
 * test_version.c - module-level facts: tlsrig_ssleay_version, tlsrig_openssl_version_number,
 * and the numeric values of the module constants (methods, VERIFY_*, OP_*, MODE_*,
 * SESS_CACHE_*, shutdown bits, filetypes, versions).
 *
 * Code written against pyOpenSSL passes these numbers around (and stores them), so each
 * constant is checked against both the linked OpenSSL's macro and the literal value OpenSSL
 * 3.x / pyOpenSSL document: a header edit that maps a name to the wrong macro or a wrong
 * number fails here.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "harness.h"

/* ---- tlsrig_ssleay_version ---- */

static void ssleay_version_each_type(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int type;
    } types[] = {
        {"SSLEAY_VERSION", TLSRIG_SSLEAY_VERSION},   {"SSLEAY_CFLAGS", TLSRIG_SSLEAY_CFLAGS},
        {"SSLEAY_BUILT_ON", TLSRIG_SSLEAY_BUILT_ON}, {"SSLEAY_PLATFORM", TLSRIG_SSLEAY_PLATFORM},
        {"SSLEAY_DIR", TLSRIG_SSLEAY_DIR},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *s = tlsrig_ssleay_version(types[i].type);
        if (s == NULL || s[0] == '\0')
            fail_msg("%s: empty description", types[i].name);
        /* Each type must give OpenSSL's own string for that type, not some other one. */
        if (strcmp(s, OpenSSL_version(types[i].type)) != 0)
            fail_msg("%s: expected \"%s\", got \"%s\"", types[i].name,
                     OpenSSL_version(types[i].type), s);
        if (strcmp(s, "not available") == 0)
            fail_msg("%s: reported as not available", types[i].name);
    }
    /* The five descriptions are distinct strings (a mapping bug would repeat one). */
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        for (size_t j = i + 1; j < sizeof(types) / sizeof(types[0]); j++)
            if (strcmp(tlsrig_ssleay_version(types[i].type),
                       tlsrig_ssleay_version(types[j].type)) == 0)
                fail_msg("%s and %s give the same string \"%s\"", types[i].name, types[j].name,
                         tlsrig_ssleay_version(types[i].type));
}

static void ssleay_version_names_openssl(void **state)
{
    (void)state;
    const char *v = tlsrig_ssleay_version(TLSRIG_SSLEAY_VERSION);
    assert_non_null(v);
    if (strstr(v, "OpenSSL") == NULL)
        fail_msg("SSLEAY_VERSION \"%s\" does not contain \"OpenSSL\"", v);
    /* ... and the version it names is the one the library reports at run time. */
    const char *num = OpenSSL_version(OPENSSL_VERSION_STRING);
    if (strstr(v, num) == NULL)
        fail_msg("SSLEAY_VERSION \"%s\" does not contain the version \"%s\"", v, num);
}

static void ssleay_version_invalid_type(void **state)
{
    (void)state;
    /* OPENSSL_ENGINES_DIR and OPENSSL_VERSION_STRING are real OpenSSL types but not
     * SSLeay_version types: the contract is "not available" for anything outside the five. */
    const int bad[] = {-1, 1000, OPENSSL_ENGINES_DIR, OPENSSL_VERSION_STRING, -2147483647 - 1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *s = tlsrig_ssleay_version(bad[i]);
        assert_non_null(s);
        assert_string_equal(s, "not available");
    }
}

/* ---- tlsrig_openssl_version_number ---- */

static void version_number_matches_header_major(void **state)
{
    (void)state;
    unsigned long n = tlsrig_openssl_version_number();
    /* 0xMNN00PP0L: the top nibble is the major version. Built against 3.x, linked to 3.x. */
    assert_int_equal(n >> 28, (unsigned long)OPENSSL_VERSION_NUMBER >> 28);
    assert_int_equal(n >> 28, (unsigned long)OPENSSL_VERSION_MAJOR);
    assert_int_equal((n >> 20) & 0xff, OPENSSL_version_minor());
    assert_int_equal(n, OpenSSL_version_num());
    /* Sanity: the linked library is OpenSSL 3 (the engine uses 3.0 APIs throughout). */
    if (n < 0x30000000UL)
        fail_msg("version number 0x%lx is older than 3.0.0", n);
}

/* ---- constants ---- */

typedef struct {
    const char *name;
    uint64_t tlsrig;
    uint64_t openssl;
    uint64_t literal;
} constant;

/* clang-format off */
#define C(name, ossl, lit) {#name, (uint64_t)(TLSRIG_##name), (uint64_t)(ossl), (uint64_t)(lit)}
/* clang-format on */

static void check_table(const constant *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].tlsrig != t[i].openssl)
            fail_msg("TLSRIG_%s: expected OpenSSL's 0x%llx, got 0x%llx", t[i].name,
                     (unsigned long long)t[i].openssl, (unsigned long long)t[i].tlsrig);
        if (t[i].tlsrig != t[i].literal)
            fail_msg("TLSRIG_%s: expected documented value 0x%llx, got 0x%llx", t[i].name,
                     (unsigned long long)t[i].literal, (unsigned long long)t[i].tlsrig);
    }
}

static void method_constants_are_pyopenssl_values(void **state)
{
    (void)state;
    /* pyOpenSSL's OpenSSL.SSL: SSLv2_METHOD = 1 ... TLS_CLIENT_METHOD = 9. */
    assert_int_equal(TLSRIG_SSLV2_METHOD, 1);
    assert_int_equal(TLSRIG_SSLV3_METHOD, 2);
    assert_int_equal(TLSRIG_SSLV23_METHOD, 3);
    assert_int_equal(TLSRIG_TLSV1_METHOD, 4);
    assert_int_equal(TLSRIG_TLSV1_1_METHOD, 5);
    assert_int_equal(TLSRIG_TLSV1_2_METHOD, 6);
    assert_int_equal(TLSRIG_TLS_METHOD, 7);
    assert_int_equal(TLSRIG_TLS_SERVER_METHOD, 8);
    assert_int_equal(TLSRIG_TLS_CLIENT_METHOD, 9);
    /* Just outside the range is not a method. */
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    assert_int_equal(tlsrig_ctx_new(0, &ctx, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_int_equal(tlsrig_ctx_new(10, &ctx, &err), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(ctx);
}

static void verify_constants(void **state)
{
    (void)state;
    const constant t[] = {
        C(VERIFY_NONE, SSL_VERIFY_NONE, 0x00),
        C(VERIFY_PEER, SSL_VERIFY_PEER, 0x01),
        C(VERIFY_FAIL_IF_NO_PEER_CERT, SSL_VERIFY_FAIL_IF_NO_PEER_CERT, 0x02),
        C(VERIFY_CLIENT_ONCE, SSL_VERIFY_CLIENT_ONCE, 0x04),
        C(VERIFY_POST_HANDSHAKE, SSL_VERIFY_POST_HANDSHAKE, 0x08),
        C(FILETYPE_PEM, SSL_FILETYPE_PEM, 1),
        C(FILETYPE_ASN1, SSL_FILETYPE_ASN1, 2),
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}

static void op_constants(void **state)
{
    (void)state;
    /* OpenSSL 3.x bit positions (ssl.h SSL_OP_BIT(n)); the options OpenSSL retired are 0. */
    const constant t[] = {
        C(OP_NO_EXTENDED_MASTER_SECRET, SSL_OP_NO_EXTENDED_MASTER_SECRET, 1ULL << 0),
        C(OP_LEGACY_SERVER_CONNECT, SSL_OP_LEGACY_SERVER_CONNECT, 1ULL << 2),
        C(OP_ENABLE_KTLS, SSL_OP_ENABLE_KTLS, 1ULL << 3),
        C(OP_IGNORE_UNEXPECTED_EOF, SSL_OP_IGNORE_UNEXPECTED_EOF, 1ULL << 7),
        C(OP_DONT_INSERT_EMPTY_FRAGMENTS, SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS, 1ULL << 11),
        C(OP_NO_QUERY_MTU, SSL_OP_NO_QUERY_MTU, 1ULL << 12),
        C(OP_COOKIE_EXCHANGE, SSL_OP_COOKIE_EXCHANGE, 1ULL << 13),
        C(OP_NO_TICKET, SSL_OP_NO_TICKET, 1ULL << 14),
        C(OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION, SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION,
          1ULL << 16),
        C(OP_NO_COMPRESSION, SSL_OP_NO_COMPRESSION, 1ULL << 17),
        C(OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION, SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION,
          1ULL << 18),
        C(OP_NO_ENCRYPT_THEN_MAC, SSL_OP_NO_ENCRYPT_THEN_MAC, 1ULL << 19),
        C(OP_ENABLE_MIDDLEBOX_COMPAT, SSL_OP_ENABLE_MIDDLEBOX_COMPAT, 1ULL << 20),
        C(OP_PRIORITIZE_CHACHA, SSL_OP_PRIORITIZE_CHACHA, 1ULL << 21),
        C(OP_CIPHER_SERVER_PREFERENCE, SSL_OP_CIPHER_SERVER_PREFERENCE, 1ULL << 22),
        C(OP_TLS_ROLLBACK_BUG, SSL_OP_TLS_ROLLBACK_BUG, 1ULL << 23),
        C(OP_NO_ANTI_REPLAY, SSL_OP_NO_ANTI_REPLAY, 1ULL << 24),
        C(OP_NO_SSLv3, SSL_OP_NO_SSLv3, 1ULL << 25),
        C(OP_NO_TLSv1, SSL_OP_NO_TLSv1, 1ULL << 26),
        C(OP_NO_TLSv1_2, SSL_OP_NO_TLSv1_2, 1ULL << 27),
        C(OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_1, 1ULL << 28),
        C(OP_NO_TLSv1_3, SSL_OP_NO_TLSv1_3, 1ULL << 29),
        C(OP_NO_RENEGOTIATION, SSL_OP_NO_RENEGOTIATION, 1ULL << 30),
        C(OP_NO_SSLv2, SSL_OP_NO_SSLv2, 0),
        C(OP_SINGLE_DH_USE, SSL_OP_SINGLE_DH_USE, 0),
        C(OP_SINGLE_ECDH_USE, SSL_OP_SINGLE_ECDH_USE, 0),
        C(OP_EPHEMERAL_RSA, SSL_OP_EPHEMERAL_RSA, 0),
        /* OpenSSL 3.x: CRYPTOPRO_TLSEXT_BUG | DONT_INSERT_EMPTY_FRAGMENTS | TLSEXT_PADDING |
         * SAFARI_ECDHE_ECDSA_BUG. */
        C(OP_ALL, SSL_OP_ALL, (1ULL << 31) | (1ULL << 11) | (1ULL << 4) | (1ULL << 6)),
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
    /* OP_ALL is the bug-workaround bundle: never a protocol-disabling bit. */
    assert_int_equal(TLSRIG_OP_ALL & (TLSRIG_OP_NO_TLSv1 | TLSRIG_OP_NO_TLSv1_1 |
                                      TLSRIG_OP_NO_TLSv1_2 | TLSRIG_OP_NO_TLSv1_3),
                     0);
}

static void mode_constants(void **state)
{
    (void)state;
    const constant t[] = {
        C(MODE_ENABLE_PARTIAL_WRITE, SSL_MODE_ENABLE_PARTIAL_WRITE, 0x01),
        C(MODE_ACCEPT_MOVING_WRITE_BUFFER, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, 0x02),
        C(MODE_AUTO_RETRY, SSL_MODE_AUTO_RETRY, 0x04),
        C(MODE_NO_AUTO_CHAIN, SSL_MODE_NO_AUTO_CHAIN, 0x08),
        C(MODE_RELEASE_BUFFERS, SSL_MODE_RELEASE_BUFFERS, 0x10),
        C(MODE_SEND_FALLBACK_SCSV, SSL_MODE_SEND_FALLBACK_SCSV, 0x80),
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}

static void sess_cache_and_shutdown_constants(void **state)
{
    (void)state;
    const constant t[] = {
        C(SESS_CACHE_OFF, SSL_SESS_CACHE_OFF, 0x0000),
        C(SESS_CACHE_CLIENT, SSL_SESS_CACHE_CLIENT, 0x0001),
        C(SESS_CACHE_SERVER, SSL_SESS_CACHE_SERVER, 0x0002),
        C(SESS_CACHE_BOTH, SSL_SESS_CACHE_BOTH, 0x0003),
        C(SESS_CACHE_NO_AUTO_CLEAR, SSL_SESS_CACHE_NO_AUTO_CLEAR, 0x0080),
        C(SESS_CACHE_NO_INTERNAL_LOOKUP, SSL_SESS_CACHE_NO_INTERNAL_LOOKUP, 0x0100),
        C(SESS_CACHE_NO_INTERNAL_STORE, SSL_SESS_CACHE_NO_INTERNAL_STORE, 0x0200),
        C(SESS_CACHE_NO_INTERNAL, SSL_SESS_CACHE_NO_INTERNAL, 0x0300),
        C(SENT_SHUTDOWN, SSL_SENT_SHUTDOWN, 1),
        C(RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN, 2),
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}

static void version_and_misc_constants(void **state)
{
    (void)state;
    const constant t[] = {
        /* Wire version numbers (RFC 8446 §4.2.1: TLS 1.3 is 0x0304). */
        C(VERSION_SSL3, SSL3_VERSION, 0x0300),
        C(VERSION_TLS1, TLS1_VERSION, 0x0301),
        C(VERSION_TLS1_1, TLS1_1_VERSION, 0x0302),
        C(VERSION_TLS1_2, TLS1_2_VERSION, 0x0303),
        C(VERSION_TLS1_3, TLS1_3_VERSION, 0x0304),
        C(SSLEAY_VERSION, OPENSSL_VERSION, 0),
        C(SSLEAY_CFLAGS, OPENSSL_CFLAGS, 1),
        C(SSLEAY_BUILT_ON, OPENSSL_BUILT_ON, 2),
        C(SSLEAY_PLATFORM, OPENSSL_PLATFORM, 3),
        C(SSLEAY_DIR, OPENSSL_DIR, 4),
        C(CB_LOOP, SSL_CB_LOOP, 0x01),
        C(CB_EXIT, SSL_CB_EXIT, 0x02),
        C(CB_READ, SSL_CB_READ, 0x04),
        C(CB_WRITE, SSL_CB_WRITE, 0x08),
        C(CB_ALERT, SSL_CB_ALERT, 0x4000),
        C(CB_HANDSHAKE_START, SSL_CB_HANDSHAKE_START, 0x10),
        C(CB_HANDSHAKE_DONE, SSL_CB_HANDSHAKE_DONE, 0x20),
        C(CB_CONNECT_LOOP, SSL_CB_CONNECT_LOOP, 0x1001),
        C(CB_ACCEPT_LOOP, SSL_CB_ACCEPT_LOOP, 0x2001),
        /* Python's socket.MSG_PEEK on Linux. */
        C(MSG_PEEK, MSG_PEEK, 0x2),
    };
    check_table(t, sizeof(t) / sizeof(t[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ssleay_version_each_type),
        cmocka_unit_test(ssleay_version_names_openssl),
        cmocka_unit_test(ssleay_version_invalid_type),
        cmocka_unit_test(version_number_matches_header_major),
        cmocka_unit_test(method_constants_are_pyopenssl_values),
        cmocka_unit_test(verify_constants),
        cmocka_unit_test(op_constants),
        cmocka_unit_test(mode_constants),
        cmocka_unit_test(sess_cache_and_shutdown_constants),
        cmocka_unit_test(version_and_misc_constants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
