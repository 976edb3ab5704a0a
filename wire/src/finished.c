/*
 * finished.c - Finished verify_data (RFC 8446 §4.4.4, RFC 5246 §7.4.9) and the running
 * transcript hash it is computed over, for recomputing a Finished after an edit changed the
 * handshake messages before it.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "kdf.h"

int wire_finished_tls13(const wire_suite *s, const uint8_t *base_secret, size_t len,
                        const uint8_t *transcript_hash, uint8_t *out)
{
    if (s == NULL || !s->tls13 || base_secret == NULL || len != s->hash_len ||
        transcript_hash == NULL || out == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    /* RFC 8446 §4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length);
     * verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*,
     * CertificateVerify*)) */
    uint8_t key[64];
    size_t n = 0;
    int rc = wire__hkdf_expand_label(s->hash, base_secret, len, "finished", NULL, 0, key, len);
    if (rc == 0 && (EVP_Q_mac(NULL, "HMAC", NULL, s->hash, NULL, key, len, transcript_hash, len,
                              out, s->hash_len, &n) == NULL ||
                    n != s->hash_len))
        rc = TLSRIG_ERR_SSL;
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int wire_finished_tls12(const wire_suite *s, uint16_t version, const uint8_t master[48],
                        int from_server, const uint8_t *handshake_hash, size_t hash_len,
                        uint8_t out[12])
{
    if (s == NULL || s->tls13 || version < 0x0301 || version > 0x0303 || master == NULL ||
        handshake_hash == NULL || hash_len == 0 || out == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    /* RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label,
     * Hash(handshake_messages))[0..verify_data_length-1], 12 bytes for every suite here */
    return wire__tls_prf(wire__prf_hash(s, version), master, 48,
                         from_server ? "server finished" : "client finished", handshake_hash,
                         hash_len, NULL, 0, out, 12);
}

/* ---- the transcript ---- */

int wire_transcript_init(wire_transcript *t, const char *hash)
{
    if (t == NULL || hash == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_transcript_cleanup(t);
    EVP_MD *md = EVP_MD_fetch(NULL, hash, NULL);
    if (md == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    int rc = 0;
    if ((t->md = EVP_MD_CTX_new()) == NULL)
        rc = TLSRIG_ERR_NOMEM;
    else if (!EVP_DigestInit_ex2(t->md, md, NULL))
        rc = TLSRIG_ERR_SSL;
    EVP_MD_free(md);
    if (rc < 0)
        wire_transcript_cleanup(t);
    return rc;
}

int wire_transcript_add(wire_transcript *t, const void *msg, size_t len)
{
    if (t == NULL || t->md == NULL || (msg == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    return EVP_DigestUpdate(t->md, msg, len) ? 0 : TLSRIG_ERR_SSL;
}

int wire_transcript_hash(const wire_transcript *t, uint8_t *out, size_t *len)
{
    if (t == NULL || t->md == NULL || out == NULL || len == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    /* finish a copy, so that the transcript runs on */
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    unsigned int n = 0;
    int rc = copy == NULL ? TLSRIG_ERR_NOMEM : 0;
    if (rc == 0 && (!EVP_MD_CTX_copy_ex(copy, t->md) || !EVP_DigestFinal_ex(copy, out, &n)))
        rc = TLSRIG_ERR_SSL;
    EVP_MD_CTX_free(copy);
    if (rc == 0)
        *len = n;
    return rc;
}

void wire_transcript_cleanup(wire_transcript *t)
{
    if (t == NULL)
        return;
    EVP_MD_CTX_free(t->md);
    t->md = NULL;
}
