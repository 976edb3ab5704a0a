/*
 * testlib.c - see testlib.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "testlib.h"

const char *wt_pki(const char *file)
{
    static char bufs[4][512];
    static int next;
    const char *dir = getenv("TLSRIG_PKI");
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir != NULL && dir[0] != '\0' ? dir : "pki", file);
    return b;
}

static void ok(tlsrig_ctx *ctx, int rc, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s", what, tlsrig_ctx_last_error(ctx)->message);
}

tlsrig_ctx *wt_server_ctx(void)
{
    tlsrig_ctx *ctx = NULL;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, NULL), 0);
    ok(ctx, tlsrig_ctx_use_certificate_chain_file(ctx, wt_pki("server-p256.chain.pem")),
       "server chain");
    ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, wt_pki("server-p256.key"), TLSRIG_FILETYPE_PEM),
       "server key");
    return ctx;
}

tlsrig_ctx *wt_client_ctx(int trust, int max_version, const char *cipher_list)
{
    tlsrig_ctx *ctx = NULL;
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, NULL), 0);
    if (trust)
        ok(ctx, tlsrig_ctx_load_verify_locations(ctx, wt_pki("root-ca.crt"), NULL), "trust");
    ok(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL), "verify");
    if (max_version != 0)
        ok(ctx, tlsrig_ctx_set_max_proto_version(ctx, max_version), "max version");
    if (cipher_list != NULL)
        ok(ctx, tlsrig_ctx_set_cipher_list(ctx, cipher_list), "cipher list");
    return ctx;
}
