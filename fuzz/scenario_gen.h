/*
 * scenario_gen.h - byte code to scenario text, for the scenario fuzz target.
 *
 * Input layout:
 *
 *   byte 0   client peer: bits 0-1 versions (any, max 1.2, min 1.3, legacy 1.0-1.1 at
 *            @SECLEVEL=0), 2 verify peer against the root, 3 certificate client-p256, 4 ALPN
 *            h2,http/1.1, 5 SNI (as the checked hostname when bit 2 is set), 6 OCSP request,
 *            7 post-handshake auth and 0-RTT allowed
 *   byte 1   server peer: bits 0-1 certificate rsa/p256/p384/ed25519, 2-3 client verification
 *            none/peer/require/post-handshake, 4 ALPN first-common, 5 OCSP staple, 6 0-RTT
 *            allowed, 7 ALLOW_CLIENT_RENEGOTIATION
 *   byte 2   extras: bits 0-1 tickets (default, 0, 1, 4), 2 server max 1.2, 3 FFDHE and a
 *            group the client sends no share for, 4 SNI callback switching to p384, 5 both
 *            session caches with a 60 s timeout, 6 server NO_TICKET, 7 RELEASE_BUFFERS and
 *            IGNORE_UNEXPECTED_EOF
 *   then     one step per byte: high nibble the step, low nibble its argument (SG_* below).
 *
 * A failing step ends a scenario, so the generator keeps a small model of the connection (has
 * the handshake completed, what data is in flight each way, who closed) and writes each step
 * with the outcome the model expects: `recv` names exactly the bytes in flight, `shutdown`
 * the value it should return, a renegotiation under TLS 1.3 `returns error ssl`. Bit 3 of
 * most arguments flips that prediction to the other outcome, for when the model is wrong;
 * the fuzzer finds which. The model only has to be right often: a wrong guess just ends the
 * run early, never makes the text invalid.
 */
#ifndef TLSRIG_FUZZ_SCENARIO_GEN_H
#define TLSRIG_FUZZ_SCENARIO_GEN_H

#include <stddef.h>
#include <stdint.h>

#define SG_HEADER 3
#define SG_MAX_STEPS 120

/* Steps: the high nibble of a step byte. */
enum {
    SG_PUMP = 0x0,        /* pump */
    SG_HANDSHAKE = 0x1,   /* handshake / handshake fails */
    SG_SEND = 0x2,        /* bit 0 side, bits 1-2 size (5, 100, 5000, 20000) */
    SG_RECV = 0x3,        /* bit 0 side, bits 1-2 amount (all, 1, half, 7); error when none */
    SG_RENEGOTIATE = 0x4, /* bit 0 side */
    SG_KEY_UPDATE = 0x5,  /* bit 0 side, bit 1 requested */
    SG_CLIENT_CERT = 0x6, /* request-client-cert server */
    SG_SHUTDOWN = 0x7,    /* bit 0 side */
    SG_CLOSE = 0x8,   /* bit 0 side; bits 1-2: close, quiet-shutdown, set-shutdown sent/received */
    SG_SAVE = 0x9,    /* save-session client s<bits 0-1> */
    SG_RESUME = 0xa,  /* resume client s<bits 0-1> (a saved one) */
    SG_CONNECT = 0xb, /* connect client server */
    SG_EARLY = 0xc,   /* bit 0: early-data recv server, else early-data send client */
    SG_ADVANCE = 0xd, /* advance by a duration from a table of 16 */
    SG_EXPECT = 0xe,  /* bits 0-2 what (version, reused, shutdown, early-data, alpn,
                         renegotiations, peer-cert, servername) */
    SG_RECV_PEEK = 0xf, /* bit 0 side, bit 1: peek, else into 3 */
};

/* sg_generate returns the scenario text for |data| (malloc'd, NUL-terminated, its length in
 * |*len|), or NULL when out of memory. Any input gives a scenario that parses and checks. */
char *sg_generate(const uint8_t *data, size_t size, size_t *len);

#endif
