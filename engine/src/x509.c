/*
 * x509.c - loading certificates and keys from files.
 */
#include <stdio.h>

#include <openssl/pem.h>

#include "internal.h"

static int open_file(const char *path, int filetype, BIO **out, tlsrig_error *err, const char *what)
{
    int rc;
    tlsrig__begin(err);
    if (filetype != SSL_FILETYPE_PEM && filetype != SSL_FILETYPE_ASN1)
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: filetype must be FILETYPE_PEM or FILETYPE_ASN1", what);
    if ((rc = tlsrig__check_readable(err, path, what)) < 0)
        return rc;
    *out = BIO_new_file(path, "rb");
    if (*out == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_SYSCALL, "%s: cannot open %s", what, path);
    return 0;
}

int tlsrig_x509_load_file(const char *path, int filetype, X509 **out, tlsrig_error *err)
{
    BIO *bio = NULL;
    tlsrig__begin(err); /* a stale OpenSSL error must not be reported as this call's */
    if (out == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT, "x509_load_file: out is NULL");
    *out = NULL;
    int rc = open_file(path, filetype, &bio, err, "x509_load_file");
    if (rc < 0)
        return rc;
    X509 *x = filetype == SSL_FILETYPE_PEM ? PEM_read_bio_X509(bio, NULL, NULL, NULL)
                                           : d2i_X509_bio(bio, NULL);
    BIO_free(bio);
    if (x == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_SSL, "x509_load_file: %s holds no certificate",
                               path);
    *out = x;
    return 0;
}

int tlsrig_pkey_load_file(const char *path, int filetype, const char *password, EVP_PKEY **out,
                          tlsrig_error *err)
{
    BIO *bio = NULL;
    tlsrig__begin(err); /* a stale OpenSSL error must not be reported as this call's */
    if (out == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT, "pkey_load_file: out is NULL");
    *out = NULL;
    int rc = open_file(path, filetype, &bio, err, "pkey_load_file");
    if (rc < 0)
        return rc;
    /* An empty password, never a prompt on the terminal, when none was given. */
    EVP_PKEY *k =
        filetype == SSL_FILETYPE_PEM
            ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)(password != NULL ? password : ""))
            : d2i_PrivateKey_bio(bio, NULL);
    BIO_free(bio);
    if (k == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_SSL,
                               "pkey_load_file: %s: not a private key or wrong password", path);
    *out = k;
    return 0;
}
