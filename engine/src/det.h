/* det.h - determinism hooks for the rig: seeded randomness and a virtual clock (internal). */
#ifndef TLSRIG_DET_H
#define TLSRIG_DET_H

#include <stdint.h>
#include <time.h>
#include <openssl/types.h>

/* A deterministic library context: OpenSSL's default provider plus a seeded RAND provider
 * set as the DRBG type, so every random byte drawn through this libctx (client/server random,
 * key shares, signatures nonces, session ids, ticket keys, padding) is a pure function of the seed
 * and the order of draws. Returns NULL on failure (OpenSSL error queue has the reason). */
OSSL_LIB_CTX *tlsrig__det_libctx_new(uint64_t seed);

/* Restart every DRBG of a libctx made by tlsrig__det_libctx_new from |seed|, so that what it
 * draws from now on is what a fresh libctx with that seed would draw (on the thread that
 * created it). Much cheaper than a new libctx, whose algorithm caches start cold. Returns 1
 * or 0 on failure. */
int tlsrig__det_libctx_reseed(OSSL_LIB_CTX *libctx, uint64_t seed);

/* Virtual clock. */
int tlsrig__clock_is_virtual(void);
/* on=1: virtual clock at `start` seconds since epoch; on=0 back to real time */
void tlsrig__clock_set_virtual(int on, int64_t start);
/* virtual time when on, else real CLOCK_REALTIME seconds */
int64_t tlsrig__clock_now(void);
/* only meaningful when virtual; may be negative */
void tlsrig__clock_advance(int64_t seconds);

#endif /* TLSRIG_DET_H */
