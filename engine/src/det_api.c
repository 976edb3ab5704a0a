/*
 * det_api.c - the public side of deterministic mode: tlsrig_det objects, the process-wide
 * default installed by tlsrig_deterministic(), and the virtual clock's public functions.
 */
#include <stdlib.h>

#include <openssl/err.h>

#include "det.h"
#include "internal.h"

static tlsrig_det *default_det;

int tlsrig_det_new(uint64_t seed, tlsrig_det **out)
{
    if (out == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    tlsrig_det *det = calloc(1, sizeof(*det));
    if (det == NULL)
        return TLSRIG_ERR_NOMEM;
    atomic_init(&det->refs, 1);
    det->seed = seed;
    det->libctx = tlsrig__det_libctx_new(seed);
    if (det->libctx == NULL) {
        free(det);
        return TLSRIG_ERR_SSL;
    }
    *out = det;
    return 0;
}

void tlsrig__det_up_ref(tlsrig_det *det)
{
    tlsrig__ref_up(&det->refs);
}

void tlsrig_det_free(tlsrig_det *det)
{
    if (det == NULL || !tlsrig__ref_down(&det->refs))
        return;
    OSSL_LIB_CTX_free(det->libctx);
    free(det);
}

tlsrig_det *tlsrig__det_default(void)
{
    return default_det;
}

tlsrig_det *tlsrig_det_default(void)
{
    return default_det;
}

int tlsrig_det_reseed(tlsrig_det *det, uint64_t seed)
{
    if (det == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (!tlsrig__det_libctx_reseed(det->libctx, seed))
        return TLSRIG_ERR_SSL;
    det->seed = seed;
    return 0;
}

int tlsrig_deterministic(uint64_t seed)
{
    /* When no context still uses the current default source, restart it in place: a fresh
     * library context costs milliseconds of cold algorithm fetches per scenario. */
    if (default_det != NULL && atomic_load(&default_det->refs) == 1 &&
        tlsrig__det_libctx_reseed(default_det->libctx, seed)) {
        default_det->seed = seed;
    } else {
        tlsrig_det *det = NULL;
        int rc = tlsrig_det_new(seed, &det);
        if (rc < 0)
            return rc;
        tlsrig_det_free(default_det);
        default_det = det;
    }
    tlsrig__clock_set_virtual(1, TLSRIG_CLOCK_EPOCH);
    return 0;
}

void tlsrig_deterministic_off(void)
{
    tlsrig_det_free(default_det);
    default_det = NULL;
    tlsrig__clock_set_virtual(0, 0);
}

void tlsrig_clock_set(int64_t t)
{
    tlsrig__clock_set_virtual(1, t);
}

int tlsrig_clock_advance(int64_t seconds)
{
    if (!tlsrig__clock_is_virtual())
        return TLSRIG_ERR_UNSUPPORTED;
    tlsrig__clock_advance(seconds);
    return 0;
}

void tlsrig_clock_real(void)
{
    tlsrig__clock_set_virtual(0, 0);
}

int64_t tlsrig_clock_now(void)
{
    return tlsrig__clock_now();
}

int tlsrig_clock_is_virtual(void)
{
    return tlsrig__clock_is_virtual();
}
