/*
 * kdf.c - HKDF-Expand-Label (RFC 8446 §7.1) and the TLS PRF (RFC 5246 §5, RFC 2246 §5) through
 * OpenSSL's TLS13-KDF and TLS1-PRF: the wire derives keys, never hashes by hand.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "kdf.h"

/* Derive |out_len| bytes with the KDF |name| and |params|. */
static int derive(const char *name, const OSSL_PARAM *params, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    int rc = ctx != NULL && EVP_KDF_derive(ctx, out, out_len, params) > 0 ? 0 : TLSRIG_ERR_SSL;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int wire__hkdf_expand_label(const char *hash, const uint8_t *secret, size_t secret_len,
                            const char *label, const uint8_t *context, size_t context_len,
                            uint8_t *out, size_t out_len)
{
    static const char prefix[] = "tls13 ";
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)hash, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, (void *)prefix,
                                          sizeof(prefix) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, (void *)label, strlen(label)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA, (void *)context, context_len),
        OSSL_PARAM_construct_end(),
    };
    if (context == NULL)
        params[5] = OSSL_PARAM_construct_end(); /* an empty context */
    return derive(OSSL_KDF_NAME_TLS1_3_KDF, params, out, out_len);
}

int wire__tls_prf(const char *hash, const uint8_t *secret, size_t secret_len, const char *label,
                  const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
                  uint8_t *out, size_t out_len)
{
    /* TLS1-PRF concatenates its seed parameters in order: label, then the seeds. */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)hash, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, strlen(label)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed1, seed1_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed2, seed2_len),
        OSSL_PARAM_construct_end(),
    };
    if (seed2 == NULL)
        params[4] = OSSL_PARAM_construct_end();
    return derive(OSSL_KDF_NAME_TLS1_PRF, params, out, out_len);
}

const char *wire__prf_hash(const wire_suite *s, uint16_t version)
{
    return version >= 0x0303 ? s->hash : "MD5-SHA1";
}
