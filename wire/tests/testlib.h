/*
 * testlib.h - what the wire's tests share: the test PKI and ready-made engine contexts.
 */
#ifndef TLSRIG_WIRE_TESTLIB_H
#define TLSRIG_WIRE_TESTLIB_H

#include "tlsrig.h"
#include "wire.h"

/* wt_pki returns the path of |file| in the test PKI ($TLSRIG_PKI, default pki), in one of 4
 * rotating static buffers. */
const char *wt_pki(const char *file);

/* wt_server_ctx: a TLS_METHOD server context with the P-256 leaf and its chain.
 * wt_client_ctx: a TLS_METHOD client context with VERIFY_PEER, trusting the test root when
 * |trust| is set, its version capped at |max_version| (0: no cap) and its TLS <= 1.2 cipher
 * list set to |cipher_list| (NULL: the default). Both fail the test on error. */
tlsrig_ctx *wt_server_ctx(void);
tlsrig_ctx *wt_client_ctx(int trust, int max_version, const char *cipher_list);

#endif
