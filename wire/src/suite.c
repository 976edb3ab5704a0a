/*
 * suite.c - the cipher suites the record layer protects, as IANA names them (RFC 8446 §B.4,
 * RFC 5246 §A.5, RFC 5288, RFC 5289, RFC 6655, RFC 7251, RFC 7905).
 */
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

/* AEAD suites: TLS 1.3 (12-byte IV from the key schedule, no explicit part), TLS 1.2 AES-GCM and
 * AES-CCM (4-byte implicit salt, 8-byte explicit nonce; RFC 5288 §3, RFC 6655 §3) and TLS 1.2
 * ChaCha20-Poly1305 (12-byte IV, RFC 7905 §2). */
#define TLS13(id, name, cipher, hash, key, tag, hlen)                                              \
    {                                                                                              \
        id, name, 1, WIRE_SUITE_AEAD, cipher, hash, NULL, key, 12, 0, 0, tag, 0, hlen              \
    }
#define GCM12(id, name, cipher, hash, key, tag, hlen)                                              \
    {                                                                                              \
        id, name, 0, WIRE_SUITE_AEAD, cipher, hash, NULL, key, 4, 8, 0, tag, 0, hlen               \
    }
#define CHACHA12(id, name)                                                                         \
    {                                                                                              \
        id, name, 0, WIRE_SUITE_AEAD, "ChaCha20-Poly1305", "SHA256", NULL, 32, 12, 0, 0, 16, 0, 32 \
    }
/* CBC suites: HMAC-then-encrypt (or encrypt-then-MAC, RFC 7366), the block as the IV. */
#define CBC(id, name, cipher, key, mac, mac_len, hash, hlen)                                       \
    {                                                                                              \
        id, name, 0, WIRE_SUITE_CBC, cipher, hash, mac, key, 16, 16, mac_len, 0, 16, hlen          \
    }

static const wire_suite suites[] = {
    TLS13(0x1301, "TLS_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 16, 32),
    TLS13(0x1302, "TLS_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 16, 48),
    TLS13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", "ChaCha20-Poly1305", "SHA256", 32, 16, 32),
    TLS13(0x1304, "TLS_AES_128_CCM_SHA256", "AES-128-CCM", "SHA256", 16, 16, 32),
    TLS13(0x1305, "TLS_AES_128_CCM_8_SHA256", "AES-128-CCM", "SHA256", 16, 8, 32),

    GCM12(0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 16, 32),
    GCM12(0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 16, 48),
    GCM12(0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 16, 32),
    GCM12(0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 16, 48),
    GCM12(0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 16, 32),
    GCM12(0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 16, 48),
    GCM12(0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 16, 32),
    GCM12(0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 16, 48),
    GCM12(0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "AES-128-CCM", "SHA256", 16, 16, 32),
    GCM12(0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "AES-256-CCM", "SHA256", 32, 16, 32),
    GCM12(0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "AES-128-CCM", "SHA256", 16, 8, 32),
    CHACHA12(0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHACHA12(0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    CHACHA12(0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),

    CBC(0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, "SHA1", 20, "SHA256", 32),
    CBC(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, "SHA1", 20, "SHA256", 32),
    CBC(0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, "SHA256", 32, "SHA256", 32),
    CBC(0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES-256-CBC", 32, "SHA256", 32, "SHA256", 32),
    CBC(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, "SHA1", 20, "SHA256", 32),
    CBC(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, "SHA1", 20, "SHA256", 32),
    CBC(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, "SHA256", 32, "SHA256",
        32),
    CBC(0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "AES-256-CBC", 32, "SHA256", 32, "SHA256",
        32),
    CBC(0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, "SHA1", 20, "SHA256",
        32),
    CBC(0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, "SHA1", 20, "SHA256",
        32),
    CBC(0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", 16, "SHA1", 20, "SHA256", 32),
    CBC(0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", 32, "SHA1", 20, "SHA256", 32),
    CBC(0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, "SHA256", 32,
        "SHA256", 32),
    CBC(0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", 32, "SHA384", 48,
        "SHA384", 48),
    CBC(0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", 16, "SHA256", 32, "SHA256",
        32),
    CBC(0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", 32, "SHA384", 48, "SHA384",
        48),
};

#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* The suite, when the linked OpenSSL has its cipher and hashes. */
static const wire_suite *available(const wire_suite *s)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, s->cipher, NULL);
    EVP_MD *h = EVP_MD_fetch(NULL, s->hash, NULL);
    int ok = c != NULL && h != NULL;
    EVP_CIPHER_free(c);
    EVP_MD_free(h);
    return ok ? s : NULL;
}

const wire_suite *wire_suite_by_id(uint16_t id)
{
    for (size_t i = 0; i < N_SUITES; i++)
        if (suites[i].id == id)
            return available(&suites[i]);
    return NULL;
}

const wire_suite *wire_suite_by_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < N_SUITES; i++)
        if (strcmp(suites[i].name, name) == 0)
            return available(&suites[i]);
    return NULL;
}

const wire_suite *wire_suite_at(size_t i)
{
    return i < N_SUITES ? &suites[i] : NULL;
}
