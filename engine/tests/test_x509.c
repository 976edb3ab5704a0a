/*
 * test_x509.c - tlsrig_x509_load_file and tlsrig_pkey_load_file: PEM and DER, unreadable
 * files, files holding something else, encrypted keys, invalid arguments, and what the
 * tlsrig_error receives in each case.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "harness.h"

#define MISSING "/nonexistent/tlsrig/no-such-file.pem"

/* The encrypted key's password, as the PKI script wrote it (trailing newline dropped). */
static const char *enc_password(void)
{
    static char pw[128];
    FILE *f = fopen(h_pki("server-rsa-enc.password"), "r");
    if (f == NULL)
        fail_msg("cannot open %s", h_pki("server-rsa-enc.password"));
    if (fgets(pw, sizeof(pw), f) == NULL)
        pw[0] = '\0';
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    assert_true(pw[0] != '\0');
    return pw;
}

static X509 *load_cert_ok(const char *file, int filetype)
{
    X509 *x = NULL;
    tlsrig_error err;
    int rc = tlsrig_x509_load_file(h_pki(file), filetype, &x, &err);
    if (rc != 0)
        fail_msg("x509_load_file(%s): %s: %s", file, tlsrig_err_name(rc), err.message);
    assert_non_null(x);
    assert_int_equal(err.code, TLSRIG_ERR_OK);
    return x;
}

static EVP_PKEY *load_key_ok(const char *file, int filetype, const char *password)
{
    EVP_PKEY *k = NULL;
    tlsrig_error err;
    int rc = tlsrig_pkey_load_file(h_pki(file), filetype, password, &k, &err);
    if (rc != 0)
        fail_msg("pkey_load_file(%s): %s: %s", file, tlsrig_err_name(rc), err.message);
    assert_non_null(k);
    assert_int_equal(err.code, TLSRIG_ERR_OK);
    return k;
}

/* ---- certificates ---- */

static void x509_pem_and_der_are_the_same_cert(void **state)
{
    (void)state;
    X509 *pem = load_cert_ok("server-rsa.crt", TLSRIG_FILETYPE_PEM);
    X509 *der = load_cert_ok("server-rsa.crt.der", TLSRIG_FILETYPE_ASN1);
    assert_int_equal(X509_cmp(pem, der), 0);
    /* It is the leaf the PKI describes: SAN server.tlsrig.test, not a CA. */
    assert_int_equal(X509_check_host(pem, "server.tlsrig.test", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ca(pem), 0);
    /* A different file gives a different certificate (the loader does not cache). */
    X509 *root = load_cert_ok("root-ca.crt", TLSRIG_FILETYPE_PEM);
    assert_int_not_equal(X509_cmp(pem, root), 0);
    assert_int_not_equal(X509_check_ca(root), 0);
    X509_free(pem);
    X509_free(der);
    X509_free(root);
}

static void x509_missing_file(void **state)
{
    (void)state;
    X509 *x = (X509 *)1; /* must be reset to NULL on failure */
    tlsrig_error err;
    assert_int_equal(tlsrig_x509_load_file(MISSING, TLSRIG_FILETYPE_PEM, &x, &err),
                     TLSRIG_ERR_SYSCALL);
    assert_null(x);
    assert_int_equal(err.code, TLSRIG_ERR_SYSCALL);
    assert_int_equal(err.sys_errno, ENOENT);
    if (strstr(err.message, MISSING) == NULL)
        fail_msg("message does not name the file: \"%s\"", err.message);
    /* |err| may be NULL: the code alone comes back. */
    assert_int_equal(tlsrig_x509_load_file(MISSING, TLSRIG_FILETYPE_ASN1, &x, NULL),
                     TLSRIG_ERR_SYSCALL);
    assert_null(x);
}

static void x509_not_a_certificate(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int filetype;
    } cases[] = {
        {"server-rsa.key", TLSRIG_FILETYPE_PEM},     /* a key, not a certificate */
        {"dh2048.pem", TLSRIG_FILETYPE_PEM},         /* DH parameters */
        {"server-rsa.crt", TLSRIG_FILETYPE_ASN1},    /* PEM read as DER */
        {"server-rsa.crt.der", TLSRIG_FILETYPE_PEM}, /* DER read as PEM */
        {"server-rsa.key.der", TLSRIG_FILETYPE_ASN1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        X509 *x = NULL;
        tlsrig_error err;
        int rc = tlsrig_x509_load_file(h_pki(cases[i].file), cases[i].filetype, &x, &err);
        if (rc != TLSRIG_ERR_SSL)
            fail_msg("%s (filetype %d): expected SSL, got %s: %s", cases[i].file, cases[i].filetype,
                     tlsrig_err_name(rc), err.message);
        assert_null(x);
        assert_int_equal(err.code, TLSRIG_ERR_SSL);
        assert_int_equal(err.sys_errno, 0);
        assert_non_null(strstr(err.message, cases[i].file));
        /* OpenSSL said why, and the queue is not left for the next caller. */
        assert_true(err.n_ssl > 0);
        assert_true(err.ssl[0].reason[0] != '\0');
        assert_int_equal(ERR_peek_error(), 0);
    }
}

static void x509_bad_arguments(void **state)
{
    (void)state;
    X509 *x = NULL;
    tlsrig_error err;
    const int bad_types[] = {0, 3, -1};
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        assert_int_equal(tlsrig_x509_load_file(h_pki("server-rsa.crt"), bad_types[i], &x, &err),
                         TLSRIG_ERR_INVALID_ARGUMENT);
        assert_null(x);
        assert_int_equal(err.code, TLSRIG_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(err.message, "filetype"));
    }
    assert_int_equal(
        tlsrig_x509_load_file(h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM, NULL, &err),
        TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_x509_load_file(NULL, TLSRIG_FILETYPE_PEM, &x, &err),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(x);
}

static void x509_error_has_no_stale_queue(void **state)
{
    (void)state;
    /* An OpenSSL error left over from unrelated code must not be reported as the cause of
     * a failure that never reached OpenSSL. */
    tlsrig_error err;
    ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
    assert_int_equal(
        tlsrig_x509_load_file(h_pki("server-rsa.crt"), TLSRIG_FILETYPE_PEM, NULL, &err),
        TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.n_ssl, 0);
    ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
    EVP_PKEY *k = NULL;
    assert_int_equal(tlsrig_pkey_load_file(MISSING, TLSRIG_FILETYPE_PEM, NULL, &k, &err),
                     TLSRIG_ERR_SYSCALL);
    assert_int_equal(err.n_ssl, 0);
    ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
    assert_int_equal(
        tlsrig_pkey_load_file(h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM, NULL, NULL, &err),
        TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.n_ssl, 0);
    ERR_clear_error();
}

/* ---- private keys ---- */

static void pkey_pem_and_der(void **state)
{
    (void)state;
    X509 *cert = load_cert_ok("server-rsa.crt", TLSRIG_FILETYPE_PEM);
    EVP_PKEY *pem = load_key_ok("server-rsa.key", TLSRIG_FILETYPE_PEM, NULL);
    EVP_PKEY *der = load_key_ok("server-rsa.key.der", TLSRIG_FILETYPE_ASN1, NULL);
    assert_int_equal(EVP_PKEY_get_base_id(pem), EVP_PKEY_RSA);
    assert_int_equal(EVP_PKEY_eq(pem, der), 1);
    assert_int_equal(X509_check_private_key(cert, pem), 1);
    /* A key of another type loads as that type and does not match the RSA leaf. */
    EVP_PKEY *ec = load_key_ok("server-p256.key", TLSRIG_FILETYPE_PEM, NULL);
    assert_int_equal(EVP_PKEY_get_base_id(ec), EVP_PKEY_EC);
    assert_int_equal(X509_check_private_key(cert, ec), 0);
    ERR_clear_error();
    /* A password given for an unencrypted key is simply not needed. */
    EVP_PKEY *again = load_key_ok("server-rsa.key", TLSRIG_FILETYPE_PEM, "unused");
    assert_int_equal(EVP_PKEY_eq(pem, again), 1);
    EVP_PKEY_free(again);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(pem);
    EVP_PKEY_free(der);
    X509_free(cert);
}

static void pkey_encrypted_right_password(void **state)
{
    (void)state;
    EVP_PKEY *k = load_key_ok("server-rsa-enc.key", TLSRIG_FILETYPE_PEM, enc_password());
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
    /* It is a usable private key: it signs, and the signature verifies. */
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(k, NULL);
    assert_non_null(pctx);
    assert_int_equal(EVP_PKEY_sign_init(pctx), 1);
    unsigned char md[32] = {1, 2, 3}, sig[1024];
    size_t siglen = sizeof(sig);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_sign(pctx, sig, &siglen, md, sizeof(md)), 1);
    assert_int_equal(EVP_PKEY_verify_init(pctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_verify(pctx, sig, siglen, md, sizeof(md)), 1);
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_free(k);
}

static void pkey_encrypted_wrong_or_no_password(void **state)
{
    (void)state;
    const char *passwords[] = {"not-the-password", NULL, ""};
    for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
        EVP_PKEY *k = NULL;
        tlsrig_error err;
        /* NULL must mean "no password", never an interactive prompt. */
        int rc = tlsrig_pkey_load_file(h_pki("server-rsa-enc.key"), TLSRIG_FILETYPE_PEM,
                                       passwords[i], &k, &err);
        if (rc != TLSRIG_ERR_SSL)
            fail_msg("password %s: expected SSL, got %s: %s", passwords[i] ? passwords[i] : "NULL",
                     tlsrig_err_name(rc), err.message);
        assert_null(k);
        assert_int_equal(err.code, TLSRIG_ERR_SSL);
        assert_non_null(strstr(err.message, "server-rsa-enc.key"));
        assert_int_equal(ERR_peek_error(), 0);
    }
}

static void pkey_missing_and_not_a_key(void **state)
{
    (void)state;
    EVP_PKEY *k = (EVP_PKEY *)1;
    tlsrig_error err;
    assert_int_equal(tlsrig_pkey_load_file(MISSING, TLSRIG_FILETYPE_PEM, NULL, &k, &err),
                     TLSRIG_ERR_SYSCALL);
    assert_null(k);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_non_null(strstr(err.message, MISSING));

    static const struct {
        const char *file;
        int filetype;
    } cases[] = {
        {"server-rsa.crt", TLSRIG_FILETYPE_PEM},     /* a certificate */
        {"dh2048.pem", TLSRIG_FILETYPE_PEM},         /* parameters, no key */
        {"server-rsa.key.der", TLSRIG_FILETYPE_PEM}, /* DER read as PEM */
        {"server-rsa.key", TLSRIG_FILETYPE_ASN1},    /* PEM read as DER */
        {"server-rsa.crt.der", TLSRIG_FILETYPE_ASN1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        k = NULL;
        int rc = tlsrig_pkey_load_file(h_pki(cases[i].file), cases[i].filetype, NULL, &k, &err);
        if (rc != TLSRIG_ERR_SSL)
            fail_msg("%s (filetype %d): expected SSL, got %s: %s", cases[i].file, cases[i].filetype,
                     tlsrig_err_name(rc), err.message);
        assert_null(k);
        assert_int_equal(err.sys_errno, 0);
        assert_non_null(strstr(err.message, cases[i].file));
    }
}

static void pkey_bad_arguments(void **state)
{
    (void)state;
    EVP_PKEY *k = NULL;
    tlsrig_error err;
    assert_int_equal(tlsrig_pkey_load_file(h_pki("server-rsa.key"), 0, NULL, &k, &err),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(k);
    assert_non_null(strstr(err.message, "filetype"));
    assert_int_equal(tlsrig_pkey_load_file(h_pki("server-rsa.key"), 7, NULL, &k, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(k);
    assert_int_equal(
        tlsrig_pkey_load_file(h_pki("server-rsa.key"), TLSRIG_FILETYPE_PEM, NULL, NULL, &err),
        TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(err.code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_pkey_load_file(NULL, TLSRIG_FILETYPE_PEM, NULL, &k, &err),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x509_pem_and_der_are_the_same_cert),
        cmocka_unit_test(x509_missing_file),
        cmocka_unit_test(x509_not_a_certificate),
        cmocka_unit_test(x509_bad_arguments),
        cmocka_unit_test(x509_error_has_no_stale_queue),
        cmocka_unit_test(pkey_pem_and_der),
        cmocka_unit_test(pkey_encrypted_right_password),
        cmocka_unit_test(pkey_encrypted_wrong_or_no_password),
        cmocka_unit_test(pkey_missing_and_not_a_key),
        cmocka_unit_test(pkey_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
