/*
 * protect.c - record protection: keys from the key log's secrets (RFC 8446 §7.3, RFC 5246 §6.3),
 * and records sealed and opened with them: TLS 1.3 AEAD (RFC 8446 §5.2, §5.3), TLS 1.2 AEAD
 * (RFC 5246 §6.2.3.3, RFC 5288 §3, RFC 7905 §2), CBC with HMAC, MAC-then-encrypt (RFC 5246
 * §6.2.3.2, RFC 4346, RFC 2246) or encrypt-then-MAC (RFC 7366). The ciphers and HMAC are
 * OpenSSL's (EVP); this file only lays out nonces, additional data, MACs and padding.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "kdf.h"

#define TLS13_MAX_CIPHERTEXT (WIRE_MAX_PLAINTEXT + 256) /* RFC 8446 §5.2 */
#define MAX_RECORD 0xffff

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_header(uint8_t *h, uint8_t type, uint16_t version, size_t len)
{
    h[0] = type;
    h[1] = (uint8_t)(version >> 8);
    h[2] = (uint8_t)version;
    h[3] = (uint8_t)(len >> 8);
    h[4] = (uint8_t)len;
}

/* ---- keys ---- */

void wire_keys_cleanup(wire_keys *k)
{
    if (k != NULL)
        OPENSSL_cleanse(k, sizeof(*k));
}

int wire_keys_tls13(wire_keys *k, const wire_suite *s, const uint8_t *secret, size_t len)
{
    uint8_t copy[sizeof(k->secret)];
    if (s == NULL || !s->tls13 || secret == NULL || len != s->hash_len || len > sizeof(copy)) {
        wire_keys_cleanup(k);
        return TLSRIG_ERR_INVALID_ARGUMENT;
    }
    memcpy(copy, secret, len); /* |secret| may be k->secret itself */
    wire_keys_cleanup(k);
    k->suite = s;
    k->version = 0x0304;
    memcpy(k->secret, copy, len);
    k->secret_len = len;
    OPENSSL_cleanse(copy, sizeof(copy));
    /* RFC 8446 §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
     * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length). */
    if (wire__hkdf_expand_label(s->hash, k->secret, len, "key", NULL, 0, k->key, s->key_len) < 0 ||
        wire__hkdf_expand_label(s->hash, k->secret, len, "iv", NULL, 0, k->iv, s->fixed_iv_len) <
            0) {
        wire_keys_cleanup(k);
        return TLSRIG_ERR_SSL;
    }
    return 0;
}

int wire_keys_tls13_update(wire_keys *k)
{
    if (k == NULL || k->suite == NULL || !k->suite->tls13)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    /* RFC 8446 §7.2: application_traffic_secret_N+1 =
     *   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length) */
    uint8_t next[sizeof(k->secret)];
    const wire_suite *s = k->suite;
    if (wire__hkdf_expand_label(s->hash, k->secret, k->secret_len, "traffic upd", NULL, 0, next,
                                k->secret_len) < 0)
        return TLSRIG_ERR_SSL;
    int rc = wire_keys_tls13(k, s, next, k->secret_len);
    OPENSSL_cleanse(next, sizeof(next));
    return rc;
}

int wire_keys_tls12(wire_keys *client_write, wire_keys *server_write, const wire_suite *s,
                    uint16_t version, int encrypt_then_mac, const uint8_t master[48],
                    const uint8_t client_random[32], const uint8_t server_random[32])
{
    if (s == NULL || s->tls13 || version < 0x0301 || version > 0x0303 ||
        (s->kind == WIRE_SUITE_AEAD && version < 0x0303) || master == NULL ||
        client_random == NULL || server_random == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    /* RFC 5246 §6.3: key_block = PRF(master, "key expansion", server_random + client_random),
     * cut into client MAC key, server MAC key, client key, server key, client IV, server IV.
     * From TLS 1.1 on CBC records carry their IV, and the IVs at the end go unused. */
    uint8_t block[2 * (48 + 32 + 16)];
    size_t need = 2 * (s->mac_len + s->key_len + s->fixed_iv_len);
    if (wire__tls_prf(wire__prf_hash(s, version), master, 48, "key expansion", server_random, 32,
                      client_random, 32, block, need) < 0)
        return TLSRIG_ERR_SSL;
    wire_keys *dir[2] = {client_write, server_write};
    for (int i = 0; i < 2; i++) {
        if (dir[i] == NULL)
            continue;
        wire_keys *k = dir[i];
        wire_keys_cleanup(k);
        k->suite = s;
        k->version = version;
        k->encrypt_then_mac = s->kind == WIRE_SUITE_CBC && encrypt_then_mac;
        memcpy(k->mac_key, block + i * s->mac_len, s->mac_len);
        memcpy(k->key, block + 2 * s->mac_len + i * s->key_len, s->key_len);
        memcpy(k->iv, block + 2 * (s->mac_len + s->key_len) + i * s->fixed_iv_len, s->fixed_iv_len);
    }
    OPENSSL_cleanse(block, sizeof(block));
    return 0;
}

/* ---- the primitives, through EVP ---- */

/* AEAD-seal (|enc|) or open |in| into |out| (|len| bytes each) with |nonce| and |aad|; the tag
 * is written to, or checked against, |tag|. Returns 0, or -1 (a failed tag, or OpenSSL
 * failed). CCM must know its tag and nonce lengths before the key, and the message length
 * before the additional data (EVP_CIPHER's CCM rules). */
static int aead(const wire_keys *k, int enc, const uint8_t *nonce, const uint8_t *aad,
                size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    static const uint8_t none[1];
    const wire_suite *s = k->suite;
    if (in == NULL) /* an empty message: a NULL input would mean "finish" to some modes */
        in = none;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, s->cipher, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ccm = c != NULL && EVP_CIPHER_get_mode(c) == EVP_CIPH_CCM_MODE;
    int n, ok = c != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, c, NULL, NULL, enc, NULL) &&
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) > 0;
    if (ok && ccm)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, enc ? NULL : tag) > 0;
    ok = ok && EVP_CipherInit_ex2(ctx, NULL, k->key, nonce, enc, NULL);
    if (ok && ccm)
        ok = EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)len);
    ok = ok && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len);
    /* an empty message still runs through Update, so that CCM checks its tag */
    ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)len);
    if (ok && !enc && !ccm)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)s->tag_len, tag) > 0;
    if (ok && !ccm)
        ok = EVP_CipherFinal_ex(ctx, out + n, &n);
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)s->tag_len, tag) > 0;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

/* CBC-encrypt (|enc|) or decrypt |len| bytes (whole blocks) from |in| to |out| with |iv|, no
 * padding of OpenSSL's own. Returns 0 or -1. */
static int cbc(const wire_keys *k, int enc, const uint8_t *iv, const uint8_t *in, size_t len,
               uint8_t *out)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, k->suite->cipher, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, m,
        ok = c != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, c, k->key, iv, enc, NULL) &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_CipherUpdate(ctx, out, &n, in, (int)len) &&
             EVP_CipherFinal_ex(ctx, out + n, &m) && (size_t)(n + m) == len;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

/* The record MAC (RFC 5246 §6.2.3.1): HMAC(mac_key, seq_num + type + version + length +
 * data), where |data| is the content (MAC-then-encrypt) or the IV and ciphertext
 * (encrypt-then-MAC, RFC 7366 §3). Writes suite->mac_len bytes. Returns 0 or -1. */
static int record_mac(const wire_keys *k, uint8_t type, const uint8_t *data, size_t len,
                      uint8_t *out)
{
    uint8_t head[13];
    put_u64(head, k->seq);
    put_header(head + 8, type, k->version, len);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k->suite->mac, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    size_t n = 0;
    int ok = ctx != NULL && EVP_MAC_init(ctx, k->mac_key, k->suite->mac_len, params) &&
             EVP_MAC_update(ctx, head, sizeof(head)) && EVP_MAC_update(ctx, data, len) &&
             EVP_MAC_final(ctx, out, &n, k->suite->mac_len) && n == k->suite->mac_len;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

/* The AEAD nonce (RFC 8446 §5.3, RFC 7905 §2: the IV XOR the padded sequence number; RFC 5288
 * §3: the 4-byte salt then the 8-byte explicit part). */
static void aead_nonce(const wire_keys *k, const uint8_t *explicit_part, uint8_t nonce[12])
{
    if (k->suite->record_iv_len > 0) {
        memcpy(nonce, k->iv, 4);
        memcpy(nonce + 4, explicit_part, 8);
        return;
    }
    uint8_t seq[8];
    put_u64(seq, k->seq);
    memcpy(nonce, k->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= seq[i];
}

/* A CBC record's explicit IV (TLS 1.1+): the block cipher applied to the sequence number, so
 * that the same calls give the same bytes while each record's IV stays unpredictable to anyone
 * without the key (RFC 4346 §6.2.3.2 asks only that it be unpredictable). */
static int explicit_iv(const wire_keys *k, uint8_t iv[16])
{
    static const uint8_t zero[16];
    uint8_t block[16] = {0};
    put_u64(block, k->seq);
    return cbc(k, 1, zero, block, sizeof(block), iv);
}

static int has_keys(const wire_keys *k)
{
    return k != NULL && k->suite != NULL && k->version >= 0x0301 && k->version <= 0x0304 &&
           (k->suite->tls13 == (k->version == 0x0304));
}

/* ---- protect ---- */

static int protect_tls13(wire_keys *k, uint8_t type, const void *content, size_t len,
                         size_t padding, wire_buf *out)
{
    const wire_suite *s = k->suite;
    if (len > MAX_RECORD || padding > MAX_RECORD || len + 1 + padding + s->tag_len > MAX_RECORD)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_buf inner = {0};
    int rc = wire_inner_write(&inner, content, len, type, padding);
    size_t clen = inner.len + s->tag_len, at = out->len;
    if (rc == 0)
        rc = wire_buf_reserve(out, at + WIRE_RECORD_HEADER + clen);
    if (rc == 0) {
        uint8_t *h = out->data + at, nonce[12];
        /* RFC 8446 §5.2: outer type application_data, legacy_record_version 0x0303; the header
         * is the additional data. */
        put_header(h, WIRE_CT_APPLICATION_DATA, 0x0303, clen);
        aead_nonce(k, NULL, nonce);
        if (aead(k, 1, nonce, h, WIRE_RECORD_HEADER, inner.data, inner.len, h + WIRE_RECORD_HEADER,
                 h + WIRE_RECORD_HEADER + inner.len) < 0)
            rc = TLSRIG_ERR_SSL;
    }
    if (rc == 0)
        out->len = at + WIRE_RECORD_HEADER + clen;
    OPENSSL_cleanse(inner.data, inner.len);
    wire_buf_cleanup(&inner);
    return rc;
}

static int protect_aead12(wire_keys *k, uint8_t type, const void *content, size_t len,
                          wire_buf *out)
{
    const wire_suite *s = k->suite;
    size_t clen = s->record_iv_len + len + s->tag_len, at = out->len;
    if (len > MAX_RECORD || clen > MAX_RECORD)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    int rc = wire_buf_reserve(out, at + WIRE_RECORD_HEADER + clen);
    if (rc < 0)
        return rc;
    uint8_t *h = out->data + at, *p = h + WIRE_RECORD_HEADER, aad[13], nonce[12];
    put_header(h, type, k->version, clen);
    /* RFC 5246 §6.2.3.3: additional_data = seq_num + type + version + length (of the
     * plaintext); RFC 5288 §3: the explicit nonce must not repeat under one key, which a
     * counter moving with seq ensures. */
    put_u64(aad, k->seq);
    put_header(aad + 8, type, k->version, len);
    if (s->record_iv_len > 0)
        put_u64(p, k->explicit_base + k->seq);
    aead_nonce(k, p, nonce);
    if (aead(k, 1, nonce, aad, sizeof(aad), content, len, p + s->record_iv_len,
             p + s->record_iv_len + len) < 0)
        return TLSRIG_ERR_SSL;
    out->len = at + WIRE_RECORD_HEADER + clen;
    return 0;
}

static int protect_cbc(wire_keys *k, uint8_t type, const void *content, size_t len, size_t padding,
                       wire_buf *out)
{
    const wire_suite *s = k->suite;
    size_t bs = s->block_len, riv = k->version >= 0x0302 ? s->record_iv_len : 0;
    size_t macced = k->encrypt_then_mac ? len : len + s->mac_len;
    size_t pad = bs - macced % bs + padding; /* padding bytes, the length byte included */
    if (len > MAX_RECORD || padding % bs != 0 || pad > 256)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    size_t plen = macced + pad, clen = riv + plen + (k->encrypt_then_mac ? s->mac_len : 0);
    if (clen > MAX_RECORD)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    size_t at = out->len;
    wire_buf plain = {0};
    int rc = wire_buf_reserve(&plain, plen);
    if (rc == 0)
        rc = wire_buf_reserve(out, at + WIRE_RECORD_HEADER + clen);
    if (rc < 0)
        goto cleanup;
    uint8_t *h = out->data + at, *p = h + WIRE_RECORD_HEADER, iv[16];
    put_header(h, type, k->version, clen);
    if (len > 0) /* an empty record's |content| may be NULL */
        memcpy(plain.data, content, len);
    rc = TLSRIG_ERR_SSL;
    /* RFC 5246 §6.2.3.2: content, MAC, then padding_length + 1 bytes of value padding_length */
    if (!k->encrypt_then_mac && record_mac(k, type, content, len, plain.data + len) < 0)
        goto cleanup;
    memset(plain.data + macced, (int)(pad - 1), pad);
    if (riv > 0) {
        if (explicit_iv(k, iv) < 0)
            goto cleanup;
        memcpy(p, iv, riv);
    } else {
        memcpy(iv, k->iv, bs); /* RFC 2246 §6.2.3.2: TLS 1.0 chains from the last block */
    }
    if (cbc(k, 1, iv, plain.data, plen, p + riv) < 0)
        goto cleanup;
    /* RFC 7366 §3: the MAC covers the IV and the ciphertext, with their length in the header */
    if (k->encrypt_then_mac && record_mac(k, type, p, riv + plen, p + riv + plen) < 0)
        goto cleanup;
    if (riv == 0)
        memcpy(k->iv, p + plen - bs, bs);
    out->len = at + WIRE_RECORD_HEADER + clen;
    rc = 0;
cleanup:
    OPENSSL_cleanse(plain.data, plain.cap);
    wire_buf_cleanup(&plain);
    return rc;
}

int wire_protect(wire_keys *k, uint8_t type, const void *content, size_t len, size_t padding,
                 wire_buf *out)
{
    if (!has_keys(k) || out == NULL || (content == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    int rc;
    if (k->suite->tls13)
        rc = protect_tls13(k, type, content, len, padding, out);
    else if (k->suite->kind == WIRE_SUITE_AEAD)
        rc =
            padding != 0 ? TLSRIG_ERR_INVALID_ARGUMENT : protect_aead12(k, type, content, len, out);
    else
        rc = protect_cbc(k, type, content, len, padding, out);
    if (rc == 0)
        k->seq++;
    return rc;
}

/* ---- unprotect ---- */

static long fail(int *alert, int value)
{
    wire__set_alert(alert, value);
    return TLSRIG_ERR_SSL;
}

/* Each opener decrypts the payload |c| (|clen| bytes) of a record of |htype| into |p| (room for
 * |clen| bytes) and returns the content length, or a negative value with the alert set. */

static long open_tls13(wire_keys *k, const uint8_t *rec, size_t clen, uint8_t *p, uint8_t *type,
                       int *alert)
{
    const wire_suite *s = k->suite;
    if (clen > TLS13_MAX_CIPHERTEXT)
        return fail(alert, WIRE_ALERT_RECORD_OVERFLOW);
    if (clen < s->tag_len + 1)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    size_t ilen = clen - s->tag_len;
    uint8_t nonce[12], tag[16];
    aead_nonce(k, NULL, nonce);
    memcpy(tag, rec + WIRE_RECORD_HEADER + ilen, s->tag_len);
    if (aead(k, 0, nonce, rec, WIRE_RECORD_HEADER, rec + WIRE_RECORD_HEADER, ilen, p, tag) < 0)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    /* RFC 8446 §5.2: the inner plaintext must not exceed 2^14 + 1 bytes */
    if (ilen > WIRE_MAX_PLAINTEXT + 1)
        return fail(alert, WIRE_ALERT_RECORD_OVERFLOW);
    long n = wire_inner_parse(p, ilen, type, alert);
    return n < 0 ? TLSRIG_ERR_SSL : n;
}

static long open_aead12(wire_keys *k, const uint8_t *rec, size_t clen, uint8_t *p, int *alert)
{
    const wire_suite *s = k->suite;
    if (clen > WIRE_MAX_CIPHERTEXT)
        return fail(alert, WIRE_ALERT_RECORD_OVERFLOW);
    if (clen < s->record_iv_len + s->tag_len)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    const uint8_t *c = rec + WIRE_RECORD_HEADER;
    size_t len = clen - s->record_iv_len - s->tag_len;
    uint8_t aad[13], nonce[12], tag[16];
    put_u64(aad, k->seq);
    put_header(aad + 8, rec[0], k->version, len);
    aead_nonce(k, c, nonce);
    memcpy(tag, c + s->record_iv_len + len, s->tag_len);
    if (aead(k, 0, nonce, aad, sizeof(aad), c + s->record_iv_len, len, p, tag) < 0)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    if (len > WIRE_MAX_PLAINTEXT)
        return fail(alert, WIRE_ALERT_RECORD_OVERFLOW);
    if (s->record_iv_len > 0)
        k->explicit_base = get_u64(c) - k->seq;
    return (long)len;
}

/* Check CBC padding at the end of |p| (|len| bytes, |mac_len| of MAC before the padding when
 * MAC-then-encrypt): returns the bytes before the MAC, or -1. */
static long cbc_unpad(const uint8_t *p, size_t len, size_t mac_len)
{
    if (len == 0)
        return -1;
    size_t pad = (size_t)p[len - 1] + 1;
    if (pad + mac_len > len)
        return -1;
    for (size_t i = len - pad; i < len; i++)
        if (p[i] != pad - 1)
            return -1;
    return (long)(len - pad - mac_len);
}

static long open_cbc(wire_keys *k, const uint8_t *rec, size_t clen, uint8_t *p, uint8_t *next_iv,
                     int *alert)
{
    const wire_suite *s = k->suite;
    size_t bs = s->block_len, riv = k->version >= 0x0302 ? s->record_iv_len : 0;
    size_t tail = k->encrypt_then_mac ? s->mac_len : 0;
    const uint8_t *c = rec + WIRE_RECORD_HEADER;
    uint8_t mac[48], iv[16];
    if (clen > WIRE_MAX_CIPHERTEXT)
        return fail(alert, WIRE_ALERT_RECORD_OVERFLOW);
    /* RFC 5246 §6.2.3.2 / RFC 7366 §3: a ciphertext that cannot hold a whole number of blocks,
     * a MAC and padding is a decryption failure: bad_record_mac. */
    if (clen < riv + tail + bs || (clen - riv - tail) % bs != 0)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    size_t plen = clen - riv - tail;
    if (k->encrypt_then_mac) {
        if (record_mac(k, rec[0], c, riv + plen, mac) < 0 ||
            CRYPTO_memcmp(mac, c + riv + plen, s->mac_len) != 0)
            return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    }
    memcpy(iv, riv > 0 ? c : k->iv, bs);
    if (cbc(k, 0, iv, c + riv, plen, p) < 0)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    long n = cbc_unpad(p, plen, k->encrypt_then_mac ? 0 : s->mac_len);
    if (n < 0)
        return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    if (!k->encrypt_then_mac) {
        if (record_mac(k, rec[0], p, (size_t)n, mac) < 0 ||
            CRYPTO_memcmp(mac, p + n, s->mac_len) != 0)
            return fail(alert, WIRE_ALERT_BAD_RECORD_MAC);
    }
    if ((size_t)n > WIRE_MAX_PLAINTEXT)
        return fail(alert, WIRE_ALERT_RECORD_OVERFLOW);
    memcpy(next_iv, c + riv + plen - bs, bs);
    return n;
}

long wire_unprotect(wire_keys *k, const uint8_t *rec, size_t len, wire_buf *out, uint8_t *type,
                    int *alert)
{
    if (!has_keys(k) || rec == NULL || out == NULL || type == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (len < WIRE_RECORD_HEADER || wire__u16(rec + 3) != len - WIRE_RECORD_HEADER)
        return fail(alert, WIRE_ALERT_DECODE_ERROR);
    size_t clen = len - WIRE_RECORD_HEADER, at = out->len;
    int rc = wire_buf_reserve(out, at + clen);
    if (rc < 0)
        return rc;
    uint8_t *p = out->data + at, next_iv[16];
    long n;
    if (k->suite->tls13) {
        n = open_tls13(k, rec, clen, p, type, alert);
    } else if (k->suite->kind == WIRE_SUITE_AEAD) {
        n = open_aead12(k, rec, clen, p, alert);
        *type = rec[0];
    } else {
        n = open_cbc(k, rec, clen, p, next_iv, alert);
        *type = rec[0];
        if (n >= 0 && k->version < 0x0302)
            memcpy(k->iv, next_iv, k->suite->block_len);
    }
    if (n < 0) {
        OPENSSL_cleanse(p, clen);
        return n;
    }
    OPENSSL_cleanse(p + n, clen - (size_t)n); /* MAC, padding, the inner type */
    out->len = at + (size_t)n;
    k->seq++;
    return n;
}
