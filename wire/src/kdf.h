/*
 * kdf.h - the key derivations record protection shares (kdf.c): HKDF-Expand-Label and the TLS
 * PRF, both through OpenSSL's EVP_KDF. Nothing outside the wire sees them.
 */
#ifndef TLSRIG_WIRE_KDF_H
#define TLSRIG_WIRE_KDF_H

#include "internal.h"

/* wire__hkdf_expand_label writes HKDF-Expand-Label(secret, label, context, out_len) (RFC 8446
 * §7.1; |label| without the "tls13 " prefix) with |hash| to |out|. Returns 0 or
 * TLSRIG_ERR_SSL. */
int wire__hkdf_expand_label(const char *hash, const uint8_t *secret, size_t secret_len,
                            const char *label, const uint8_t *context, size_t context_len,
                            uint8_t *out, size_t out_len);

/* wire__tls_prf writes PRF(secret, label, seed1 + seed2) (RFC 5246 §5; with |hash| "MD5-SHA1"
 * the TLS 1.0/1.1 PRF of RFC 2246 §5) to |out|. |seed2| may be NULL. Returns 0 or
 * TLSRIG_ERR_SSL. */
int wire__tls_prf(const char *hash, const uint8_t *secret, size_t secret_len, const char *label,
                  const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
                  uint8_t *out, size_t out_len);

/* wire__prf_hash names the PRF hash |version| uses with suite |s|: the suite's for TLS 1.2 and
 * 1.3, "MD5-SHA1" below. */
const char *wire__prf_hash(const wire_suite *s, uint16_t version);

#endif
