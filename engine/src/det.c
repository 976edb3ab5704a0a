/* det.c - a seeded in-process RAND provider and the deterministic OSSL_LIB_CTX built on it. */
#include "det.h"

#include <stdatomic.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#define DET_PROVIDER "tlsrig-rand"
#define DET_ALGORITHM "TLSRIG-DET"
#define DET_PROPQ "provider=" DET_PROVIDER
#define DET_STRENGTH 256
/* Same cap OpenSSL's own DRBGs advertise; EVP_RAND_generate() splits larger requests. */
#define DET_MAX_REQUEST ((size_t)1 << 16)

/* Provider context: one per activation, i.e. one per deterministic libctx. */
struct det_drbg_st;

typedef struct {
    uint64_t seed;                   /* set before the first draw; changed only by reseed */
    atomic_uint_fast64_t next_index; /* creation index of the next DRBG instance */
    CRYPTO_RWLOCK *lock;             /* guards |live| */
    struct det_drbg_st *live;        /* every instance, so a reseed can restart them all */
} det_prov;

/* One DRBG instance: a ChaCha20 keystream keyed by (seed, creation index, generation). */
typedef struct det_drbg_st {
    det_prov *prov;
    struct det_drbg_st *next_live;
    uint64_t index;
    uint32_t generation; /* bumped per instantiate so a re-instantiated DRBG never replays */
    uint32_t key[8];
    uint64_t counter;
    unsigned char block[64];
    size_t used; /* bytes of block already handed out; sizeof(block) means empty */
    int state;
    CRYPTO_RWLOCK *lock;
} det_drbg;

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QUARTER(a, b, c, d)                                                                        \
    do {                                                                                           \
        a += b, d ^= a, d = ROTL32(d, 16), c += d, b ^= c, b = ROTL32(b, 12);                      \
        a += b, d ^= a, d = ROTL32(d, 8), c += d, b ^= c, b = ROTL32(b, 7);                        \
    } while (0)

/* The RFC 8439 block function with a 64-bit block counter and an all-zero nonce: the key alone
 * names the stream. Self-contained on purpose: going through EVP here would fetch ciphers from
 * the very libctx whose DRBG is being served, and could recurse into it. */
static void det_chacha_block(const uint32_t key[8], uint64_t counter, unsigned char out[64])
{
    uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    uint32_t x[16];

    memcpy(in + 4, key, 8 * sizeof(uint32_t));
    in[12] = (uint32_t)counter;
    in[13] = (uint32_t)(counter >> 32);
    memcpy(x, in, sizeof(x));
    for (int round = 0; round < 10; round++) {
        QUARTER(x[0], x[4], x[8], x[12]);
        QUARTER(x[1], x[5], x[9], x[13]);
        QUARTER(x[2], x[6], x[10], x[14]);
        QUARTER(x[3], x[7], x[11], x[15]);
        QUARTER(x[0], x[5], x[10], x[15]);
        QUARTER(x[1], x[6], x[11], x[12]);
        QUARTER(x[2], x[7], x[8], x[13]);
        QUARTER(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++) {
        uint32_t v = x[i] + in[i];

        for (int j = 0; j < 4; j++) /* little-endian, independent of host byte order */
            out[4 * i + j] = (unsigned char)(v >> (8 * j));
    }
}

static void det_rekey(det_drbg *d)
{
    uint64_t seed = d->prov->seed;

    d->key[0] = (uint32_t)seed;
    d->key[1] = (uint32_t)(seed >> 32);
    d->key[2] = (uint32_t)d->index;
    d->key[3] = (uint32_t)(d->index >> 32);
    d->key[4] = d->generation++;
    /* "tlsrig-det-1" little-endian: a version tag, so a future change to this derivation can
     * bump it instead of silently reusing old streams under a new meaning. */
    d->key[5] = 0x72736c74;
    d->key[6] = 0x642d6769;
    d->key[7] = 0x312d7465;
    d->counter = 0;
    d->used = sizeof(d->block);
}

static void det_fill(det_drbg *d, unsigned char *out, size_t len)
{
    while (len > 0) {
        size_t n;

        if (d->used == sizeof(d->block)) {
            det_chacha_block(d->key, d->counter++, d->block);
            d->used = 0;
        }
        n = sizeof(d->block) - d->used;
        if (n > len)
            n = len;
        memcpy(out, d->block + d->used, n);
        d->used += n;
        out += n;
        len -= n;
    }
}

static const OSSL_PARAM *det_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM known[] = {
        OSSL_PARAM_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, NULL),
        OSSL_PARAM_time_t(OSSL_DRBG_PARAM_RESEED_TIME_INTERVAL, NULL),
        OSSL_PARAM_END,
    };

    (void)vctx, (void)provctx;
    return known;
}

static int det_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    /* rand_lib.c hands every DRBG type the union of all DRBG settings (cipher, digest, MAC,
     * reseed intervals) and relies on each implementation ignoring what it does not use. A
     * fixed stream has no reseed schedule, so the reseed settings are accepted and dropped. */
    (void)vctx, (void)params;
    return 1;
}

static void *det_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_calls)
{
    det_prov *prov = provctx;
    det_drbg *d;

    /* The parent (SEED-SRC for the primary, the primary for public/private) is ignored on
     * purpose: drawing seed material from it is exactly what would break reproducibility. */
    (void)parent, (void)parent_calls;
    if ((d = OPENSSL_zalloc(sizeof(*d))) == NULL)
        return NULL;
    d->prov = prov;
    d->index = atomic_fetch_add(&prov->next_index, 1);
    d->state = EVP_RAND_STATE_UNINITIALISED;
    if (CRYPTO_THREAD_write_lock(prov->lock)) {
        d->next_live = prov->live;
        prov->live = d;
        CRYPTO_THREAD_unlock(prov->lock);
    }
    return d;
}

static void det_freectx(void *vctx)
{
    det_drbg *d = vctx;

    if (d == NULL)
        return;
    if (CRYPTO_THREAD_write_lock(d->prov->lock)) {
        for (det_drbg **pp = &d->prov->live; *pp != NULL; pp = &(*pp)->next_live)
            if (*pp == d) {
                *pp = d->next_live;
                break;
            }
        CRYPTO_THREAD_unlock(d->prov->lock);
    }
    CRYPTO_THREAD_lock_free(d->lock);
    OPENSSL_clear_free(d, sizeof(*d));
}

static int det_instantiate(void *vctx, unsigned int strength, int prediction_resistance,
                           const unsigned char *pstr, size_t pstr_len, const OSSL_PARAM params[])
{
    det_drbg *d = vctx;

    /* No personalisation: the stream must depend on (seed, index) only. */
    (void)prediction_resistance, (void)pstr, (void)pstr_len;
    if (strength > DET_STRENGTH || !det_set_ctx_params(d, params)) {
        ERR_raise(ERR_LIB_RAND, RAND_R_INSUFFICIENT_DRBG_STRENGTH);
        return 0;
    }
    det_rekey(d);
    d->state = EVP_RAND_STATE_READY;
    return 1;
}

static int det_uninstantiate(void *vctx)
{
    det_drbg *d = vctx;

    OPENSSL_cleanse(d->key, sizeof(d->key));
    OPENSSL_cleanse(d->block, sizeof(d->block));
    d->state = EVP_RAND_STATE_UNINITIALISED;
    return 1;
}

static int det_generate(void *vctx, unsigned char *out, size_t outlen, unsigned int strength,
                        int prediction_resistance, const unsigned char *adin, size_t adin_len)
{
    det_drbg *d = vctx;

    /* Prediction resistance and additional input are accepted but ignored: honouring either
     * means mixing in fresh entropy or caller-specific bytes, and the rig wants replayable
     * output more than it wants those properties. */
    (void)prediction_resistance, (void)adin, (void)adin_len;
    if (d->state != EVP_RAND_STATE_READY || strength > DET_STRENGTH || outlen > DET_MAX_REQUEST) {
        ERR_raise(ERR_LIB_RAND, RAND_R_GENERATE_ERROR);
        return 0;
    }
    det_fill(d, out, outlen);
    return 1;
}

static int det_reseed(void *vctx, int prediction_resistance, const unsigned char *ent,
                      size_t ent_len, const unsigned char *adin, size_t adin_len)
{
    det_drbg *d = vctx;

    /* EVP_RAND_reseed()/RAND_add() input is dropped so the stream stays a function of the seed;
     * the call still succeeds because callers treat a failed reseed as a broken RNG. */
    (void)prediction_resistance, (void)ent, (void)ent_len, (void)adin, (void)adin_len;
    return d->state == EVP_RAND_STATE_READY;
}

static int det_enable_locking(void *vctx)
{
    det_drbg *d = vctx;

    /* RAND_get0_primary() insists on this because the primary is shared between threads. */
    if (d->lock == NULL && (d->lock = CRYPTO_THREAD_lock_new()) == NULL) {
        ERR_raise(ERR_LIB_RAND, RAND_R_FAILED_TO_CREATE_LOCK);
        return 0;
    }
    return 1;
}

static int det_lock(void *vctx)
{
    det_drbg *d = vctx;

    return d->lock == NULL || CRYPTO_THREAD_write_lock(d->lock);
}

static void det_unlock(void *vctx)
{
    det_drbg *d = vctx;

    if (d->lock != NULL)
        CRYPTO_THREAD_unlock(d->lock);
}

static const OSSL_PARAM *det_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM known[] = {
        OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
        OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
        OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
        OSSL_PARAM_END,
    };

    (void)vctx, (void)provctx;
    return known;
}

static int det_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    det_drbg *d = vctx;
    OSSL_PARAM *p;

    /* EVP_RAND_generate() refuses to run without MAX_REQUEST, RAND_status() reads STATE, and
     * RSA key generation checks STRENGTH of the private DRBG. */
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE);
    if (p != NULL && !OSSL_PARAM_set_int(p, d->state))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH);
    if (p != NULL && !OSSL_PARAM_set_uint(p, DET_STRENGTH))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST);
    if (p != NULL && !OSSL_PARAM_set_size_t(p, DET_MAX_REQUEST))
        return 0;
    return 1;
}

/* No get_seed/clear_seed/nonce: OpenSSL 3.0 only parents its public/private DRBGs on the
 * primary, and those are instances of this algorithm, which never call up. A stock DRBG that an
 * application parents on this primary fails to instantiate (parent cannot supply a seed)
 * instead of silently mixing in OS nonces. */
static const OSSL_DISPATCH det_rand_functions[] = {
    {OSSL_FUNC_RAND_NEWCTX, (void (*)(void))det_newctx},
    {OSSL_FUNC_RAND_FREECTX, (void (*)(void))det_freectx},
    {OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))det_instantiate},
    {OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))det_uninstantiate},
    {OSSL_FUNC_RAND_GENERATE, (void (*)(void))det_generate},
    {OSSL_FUNC_RAND_RESEED, (void (*)(void))det_reseed},
    {OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))det_enable_locking},
    {OSSL_FUNC_RAND_LOCK, (void (*)(void))det_lock},
    {OSSL_FUNC_RAND_UNLOCK, (void (*)(void))det_unlock},
    {OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))det_gettable_ctx_params},
    {OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))det_get_ctx_params},
    {OSSL_FUNC_RAND_SETTABLE_CTX_PARAMS, (void (*)(void))det_settable_ctx_params},
    {OSSL_FUNC_RAND_SET_CTX_PARAMS, (void (*)(void))det_set_ctx_params},
    {0, NULL},
};

static const OSSL_ALGORITHM det_rand_algorithms[] = {
    {DET_ALGORITHM, DET_PROPQ, det_rand_functions, "tlsrig seeded ChaCha20 stream"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *det_query_operation(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_RAND:
        return det_rand_algorithms;
    default:
        return NULL;
    }
}

static void det_teardown(void *provctx)
{
    det_prov *prov = provctx;

    CRYPTO_THREAD_lock_free(prov->lock);
    OPENSSL_clear_free(prov, sizeof(*prov));
}

static int det_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                             const OSSL_DISPATCH **out, void **provctx)
{
    static const OSSL_DISPATCH provider_functions[] = {
        {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))det_teardown},
        {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))det_query_operation},
        {0, NULL},
    };
    det_prov *prov;

    (void)handle, (void)in;
    /* The seed is not known here (activation is driven by config text); the caller writes it
     * into this context right after activation, before any DRBG instance exists. */
    if ((prov = OPENSSL_zalloc(sizeof(*prov))) == NULL)
        return 0;
    if ((prov->lock = CRYPTO_THREAD_lock_new()) == NULL) {
        OPENSSL_free(prov);
        return 0;
    }
    atomic_init(&prov->next_index, 0);
    *out = provider_functions;
    *provctx = prov;
    return 1;
}

/* Providers are activated through config text rather than OSSL_PROVIDER_load(): a handle from
 * OSSL_PROVIDER_load() holds a reference only OSSL_PROVIDER_unload() drops, so the provider and
 * its context would outlive OSSL_LIB_CTX_free() and LeakSanitizer reports them. Providers
 * activated by config are owned by the libctx and released with it, so callers can free the
 * result with plain OSSL_LIB_CTX_free(). */
static const char det_config[] = "openssl_conf = tlsrig_init\n"
                                 "[tlsrig_init]\n"
                                 "providers = tlsrig_providers\n"
                                 "[tlsrig_providers]\n"
                                 "default = tlsrig_default\n"
                                 "tlsrig_rand = tlsrig_rand\n"
                                 "[tlsrig_default]\n"
                                 "activate = 1\n"
                                 "[tlsrig_rand]\n"
                                 "identity = " DET_PROVIDER "\n"
                                 "activate = 1\n";

OSSL_LIB_CTX *tlsrig__det_libctx_new(uint64_t seed)
{
    OSSL_LIB_CTX *libctx = NULL, *result = NULL;
    BIO *bio = NULL;
    CONF *conf = NULL;
    EVP_RAND *rand = NULL;
    det_prov *prov;
    long bad_line = 0;

    if ((libctx = OSSL_LIB_CTX_new()) == NULL)
        goto cleanup;
    /* Before anything can create the primary DRBG: once it exists the type is locked in. */
    if (!RAND_set_DRBG_type(libctx, DET_ALGORITHM, DET_PROPQ, NULL, NULL) ||
        !OSSL_PROVIDER_add_builtin(libctx, DET_PROVIDER, det_provider_init))
        goto cleanup;
    if ((bio = BIO_new_mem_buf(det_config, -1)) == NULL ||
        (conf = NCONF_new_ex(libctx, NULL)) == NULL || NCONF_load_bio(conf, bio, &bad_line) <= 0 ||
        CONF_modules_load(conf, NULL, 0) <= 0)
        goto cleanup;
    /* Fetching is the public route to the provider context of this libctx's activation. */
    if ((rand = EVP_RAND_fetch(libctx, DET_ALGORITHM, DET_PROPQ)) == NULL)
        goto cleanup;
    if ((prov = OSSL_PROVIDER_get0_provider_ctx(EVP_RAND_get0_provider(rand))) == NULL) {
        ERR_raise(ERR_LIB_RAND, RAND_R_INTERNAL_ERROR);
        goto cleanup;
    }
    prov->seed = seed;
    /* Create this thread's three DRBGs now, in a fixed order, so each one's stream index does
     * not depend on which kind of random bytes the first caller happens to draw; that is what
     * lets tlsrig__det_libctx_reseed() make a used libctx behave exactly like a fresh one. */
    if (RAND_get0_primary(libctx) == NULL || RAND_get0_public(libctx) == NULL ||
        RAND_get0_private(libctx) == NULL)
        goto cleanup;
    result = libctx;
    libctx = NULL;

cleanup:
    EVP_RAND_free(rand);
    NCONF_free(conf);
    BIO_free(bio);
    OSSL_LIB_CTX_free(libctx);
    return result;
}

int tlsrig__det_libctx_reseed(OSSL_LIB_CTX *libctx, uint64_t seed)
{
    EVP_RAND *rand = EVP_RAND_fetch(libctx, DET_ALGORITHM, DET_PROPQ);
    det_prov *prov =
        rand != NULL ? OSSL_PROVIDER_get0_provider_ctx(EVP_RAND_get0_provider(rand)) : NULL;
    int ok = 0;

    if (prov == NULL || !CRYPTO_THREAD_write_lock(prov->lock))
        goto cleanup;
    prov->seed = seed;
    /* Each instance restarts as if just instantiated: generation 0 of (seed, index). */
    for (det_drbg *d = prov->live; d != NULL; d = d->next_live) {
        d->generation = 0;
        det_rekey(d);
    }
    CRYPTO_THREAD_unlock(prov->lock);
    ok = 1;
cleanup:
    EVP_RAND_free(rand);
    return ok;
}
