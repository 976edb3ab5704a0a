/*
 * harness.h - shared helpers for the engine's cmocka tests: test PKI paths, ready-made
 * contexts, and a client/server pair wired back to back through memory BIOs. Bytes between
 * the two move through the wire (wire/include/wire.h), as in every other driver.
 */
#ifndef TLSRIG_TEST_HARNESS_H
#define TLSRIG_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tlsrig.h"
#include "wire.h"

/* h_pki returns the path of |file| in the test PKI ($TLSRIG_PKI, default pki). The
 * result lives in one of 8 rotating static buffers. */
const char *h_pki(const char *file);

/* h_server_ctx: a TLS_METHOD server context with the leaf of |kind| ("rsa", "p256", "p384",
 * "ed25519", "expired", "shortlived", "wronghost", "untrusted") and its chain; fails the test
 * on error. h_client_ctx: a TLS_METHOD client context trusting the test root, VERIFY_PEER. */
tlsrig_ctx *h_server_ctx(const char *kind);
tlsrig_ctx *h_client_ctx(void);

/* h_ctx_check fails the test with the context's error message when |rc| < 0. */
#define h_ctx_ok(ctx, call) h_check_ctx_rc((ctx), (call), #call, __FILE__, __LINE__)
void h_check_ctx_rc(tlsrig_ctx *ctx, int rc, const char *what, const char *file, int line);
#define h_conn_ok(conn, call) h_check_conn_rc((conn), (call), #call, __FILE__, __LINE__)
void h_check_conn_rc(tlsrig_conn *conn, int rc, const char *what, const char *file, int line);

/* A client/server pair over memory BIOs. Captured wire bytes are appended to |wire| when
 * |capture| is set (both directions, in order, each chunk prefixed by 'C' or 'S'). A test may
 * put its own connections in |client| / |server|: the wire follows them at the next move. */
typedef struct h_pair {
    tlsrig_conn *client;
    tlsrig_conn *server;
    int capture;
    uint8_t *wire;
    size_t wire_len;
    int client_rc; /* last do_handshake results */
    int server_rc;
    wire_buf last; /* the bytes the last h_move carried */
    /* the wire between them (the harness's own) */
    wire_engine ce, se;
    wire_pump pump;
} h_pair;

/* h_pair_new creates both connections (client in connect state, server in accept state). */
void h_pair_new(h_pair *p, tlsrig_ctx *client_ctx, tlsrig_ctx *server_ctx);
void h_pair_free(h_pair *p);

/* h_move moves every byte |from| has to send into |to| (the pair's two connections, either
 * way); returns the count, and keeps the bytes in p->last. */
size_t h_move(h_pair *p, tlsrig_conn *from, tlsrig_conn *to);

/* h_give delivers |len| recorded bytes to |to| through the wire, as a peer that sent them
 * would. h_take drains what |from| has to send (at most |cap| bytes, the test fails if there
 * are more) through the wire into |buf|; returns the count. */
void h_give(tlsrig_conn *to, const void *data, size_t len);
size_t h_take(tlsrig_conn *from, uint8_t *buf, size_t cap);

/* h_pump moves bytes both ways until neither side has anything to send; returns the count. */
size_t h_pump(h_pair *p);

/* h_handshake drives both sides until both report the handshake complete or no progress is
 * possible. Returns 0 when both completed, else the first non-want error (client's first),
 * with p->client_rc / p->server_rc holding each side's last result. */
int h_handshake(h_pair *p);

/* h_send_recv writes |len| bytes on |from|, pumps, reads them all on |to| and checks they
 * arrived intact. */
void h_send_recv(h_pair *p, tlsrig_conn *from, tlsrig_conn *to, const void *data, size_t len);

#endif
