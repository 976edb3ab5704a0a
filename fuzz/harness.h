/*
 * harness.h - what the fuzz targets share: the test PKI, the tagged input prefix, the engine
 * contexts built once per process, the per-input reset that makes every run of an input take
 * the same path, and the driver that feeds one connection the bytes of its peer.
 *
 * Determinism. Every context the targets fuzz lives on one tlsrig_det (the "target" source),
 * made once. Before each input fz_reset() restarts that source from a fixed seed, puts the
 * virtual clock back at TLSRIG_CLOCK_EPOCH and empties the target contexts' session caches,
 * so an input draws the same randoms and takes the same path however many inputs ran before
 * it. A second source (the "peer" source) serves the live peers that record seeds and the
 * handshakes made at start-up; nothing drawn from it during a run can change the target's
 * bytes, which is what lets a recorded peer flight replay byte for byte against the target.
 *
 * Input prefix (BoringSSL style). An input starts with settings, each a tag byte and a value
 * byte; the tag 0x00 ends them (and is consumed), and so does any byte that is not a known
 * tag (not consumed): a raw TLS record starts with 0x14..0x17, so a bare capture is a valid
 * input with every setting at its default. A later tag overrides an earlier one. What follows
 * is the payload: the peer's bytes, cut as FZ_TAG_FEED says.
 *
 *   tag  name      server target                           client target
 *   0x01 VERSION   low nibble min, high nibble max: 0 any, 1 TLS 1.0, 2 1.1, 3 1.2, 4 1.3
 *   0x02 PROFILE   bit 0: legacy context (@SECLEVEL=0, every cipher, so TLS 1.0/1.1 work)
 *   0x03 KEY       0 p256, 1 rsa, 2 p384, 3 ed25519          0 client-p256, 1 none, 2 rsa
 *   0x04 VERIFY    bits 0-1: 0 none, 1 peer, 2 require,      bits 0-1: 0/2/3 peer, 1 none
 *                  3 post-handshake; bit 2: once             bit 2: no post-handshake auth
 *                  bit 3 (both): strict (keep OpenSSL's verdict; default accepts any chain,
 *                  so a mutated certificate still reaches the key exchange)
 *   0x05 ALPN      0 no choice, 1 first common, 2 decline,   0 none, 1 h2,http/1.1,
 *                  3 callback raises                         2 http/1.1, 3 long name,h2
 *   0x06 SNI       0 no callback, 1 record, 2 switch to the  0 none, 1 server name,
 *                  next key's context, 3 callback raises     2 other name, 3 name + host check
 *   0x07 OCSP      0 none, 1 staple the response, 2 staple   0 none, request and then
 *                  nothing, 3 callback raises                1 accept, 2 reject, 3 raise
 *   0x08 TICKETS   tickets sent: 2, 0, 1, 4                  session offered: 0 none,
 *                                                            1 TLS 1.3 ticket (0-RTT allowed),
 *                                                            2 TLS 1.2 ticket, 3 TLS 1.2 id
 *   0x09 EARLY     max_early_data: 0, 16384, 16, 1024        0-RTT bytes written: 0, 16, 1, 1000
 *   0x0a KEX       bits 0-2: cipher/group set (fz_kex_sets in harness.c)
 *   0x0b OPTIONS   bit 0 NO_TICKET, 1 ALLOW_CLIENT_RENEGOTIATION and LEGACY_SERVER_CONNECT,
 *                  2 NO_RENEGOTIATION, 3 CIPHER_SERVER_PREFERENCE, 4 PRIORITIZE_CHACHA,
 *                  5 NO_ANTI_REPLAY, 6 NO_EXTENDED_MASTER_SECRET, 7 NO_ENCRYPT_THEN_MAC
 *   0x0c FEED      bit 7: framed payload (below); else bits 0-2 choose the chunk size of a raw
 *                  payload: 0 one TLS record at a time, 1 all at once, 2 1 byte, 3 2, 4 7,
 *                  5 64, 6 512, 7 4096 bytes
 *   0x0d ACTIONS   raw payload: ops run once it is used up, one per bit, in bit order:
 *                  send, key update, renegotiate, post-handshake auth, info, session,
 *                  shutdown, end of transport (default 0x51: send, info, shutdown)
 *   0x0e RECORD    bit 0 RELEASE_BUFFERS, 1 read-ahead, 2 max_send_fragment 512, 3 TLS 1.3
 *                  padding to 256, 4 IGNORE_UNEXPECTED_EOF, 5 client max_fragment_length 512,
 *                  6 no AUTO_RETRY, 7 no middlebox compatibility mode
 *   0x0f MISC      bit 0 ALLOW_UNSAFE_LEGACY_RENEGOTIATION, 1 client SEND_FALLBACK_SCSV,
 *                  2 client TLSEXT_PADDING, 3 verify depth 0, 4 NO_SESSION_RESUMPTION_ON_
 *                  RENEGOTIATION, 5 renegotiate abbreviated (offer the session), 6 server
 *                  SAFARI_ECDHE_ECDSA_BUG, 7 server session id context differs from the
 *                  context's (a resumption attempt meets a foreign session)
 *
 * Framed payload: frames of [op][length, 2 bytes big-endian][that many bytes]; a length past
 * the end takes what is left. Each frame's bytes are given to the connection, then the op
 * runs (FZ_OP_*: low nibble the op, high nibble its argument). The seed recorder writes
 * this form, since it keeps every byte at the point of the exchange where the peer sent it.
 */
#ifndef TLSRIG_FUZZ_HARNESS_H
#define TLSRIG_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "tlsrig.h"

/* ---- driver hooks: libFuzzer's entry points, defined by each target ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: the AFL++ and replay drivers call it when the target defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* Optional: a target's command-line tools (seed recording, --print-scn). The replay driver
 * calls it first; it returns -1 when |argv| asks for none of them, else an exit status. */
int fz_tool_main(int argc, char **argv) __attribute__((weak));

/* ---- the test PKI and failures of the harness itself ---- */

/* fz_pki_dir returns $TLSRIG_PKI, else the folder the build compiled in (TLSRIG_PKI_DIR),
 * else "pki". fz_pki_path returns dir/file in one of 8 rotating static buffers. */
const char *fz_pki_dir(void);
const char *fz_pki_path(const char *file);

/* fz_fatal reports a broken harness (a missing PKI, a context that cannot be built) and
 * aborts: a fuzzer must not run on without its contexts. */
void fz_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* fz_digest is a running hash of what the current input made the target do (its wire bytes,
 * or for the scenario target its verdict). The replay driver runs each input twice and
 * compares it: the same input must take the same path. fz_reset() clears it. */
extern uint64_t fz_digest;
void fz_digest_add(const void *data, size_t len);
/* A target sets fz_digest to this when the run depended on the wall clock (a scenario that
 * hit its time limit): such a run is not compared. */
#define FZ_DIGEST_UNSTABLE UINT64_MAX

/* ---- the tagged prefix ---- */

enum {
    FZ_TAG_END = 0x00,
    FZ_TAG_VERSION = 0x01,
    FZ_TAG_PROFILE = 0x02,
    FZ_TAG_KEY = 0x03,
    FZ_TAG_VERIFY = 0x04,
    FZ_TAG_ALPN = 0x05,
    FZ_TAG_SNI = 0x06,
    FZ_TAG_OCSP = 0x07,
    FZ_TAG_TICKETS = 0x08,
    FZ_TAG_EARLY = 0x09,
    FZ_TAG_KEX = 0x0a,
    FZ_TAG_OPTIONS = 0x0b,
    FZ_TAG_FEED = 0x0c,
    FZ_TAG_ACTIONS = 0x0d,
    FZ_TAG_RECORD = 0x0e,
    FZ_TAG_MISC = 0x0f,
    FZ_TAG_COUNT
};

#define FZ_FEED_FRAMED 0x80
#define FZ_ACTIONS_DEFAULT 0x51

typedef struct fz_prefix {
    uint8_t value[FZ_TAG_COUNT];
    uint32_t present; /* bit t set when tag t was given */
} fz_prefix;

/* fz_prefix_parse reads the settings at the start of |data| into |out| and returns how many
 * bytes they took; the payload starts there. */
size_t fz_prefix_parse(const uint8_t *data, size_t len, fz_prefix *out);

/* fz_prefix_set sets one tag; fz_prefix_get returns its value or |dflt| when absent. */
void fz_prefix_set(fz_prefix *p, int tag, uint8_t value);
uint8_t fz_prefix_get(const fz_prefix *p, int tag, uint8_t dflt);

/* fz_prefix_write writes the given tags and the end tag into |out| (at most 2 * FZ_TAG_COUNT
 * + 1 bytes) and returns the length. */
size_t fz_prefix_write(const fz_prefix *p, uint8_t *out, size_t cap);

/* ---- contexts and connections ---- */

enum { FZ_SIDE_TARGET = 0, FZ_SIDE_PEER = 1 };
enum { FZ_KEY_P256, FZ_KEY_RSA, FZ_KEY_P384, FZ_KEY_ED25519, FZ_N_KEYS };
enum {
    FZ_SESSION_NONE,
    FZ_SESSION_TLS13,
    FZ_SESSION_TLS12_TICKET,
    FZ_SESSION_TLS12_ID,
    FZ_N_SESSIONS
};

/* fz_init builds every context once: server contexts for each key type and profile, client
 * contexts for each profile, on the target source and again on the peer source, then makes
 * the sessions a client target offers (real handshakes with a peer server). Idempotent;
 * aborts through fz_fatal when the PKI is missing. The order never varies, so the ticket keys
 * and sessions it makes are the same in every process. */
void fz_init(void);

/* fz_reset prepares one input: target source reseeded, clock at TLSRIG_CLOCK_EPOCH, target
 * session caches flushed, OpenSSL's error queue empty, fz_digest zero. */
void fz_reset(void);

/* fz_settle frees what an input left behind in the target's contexts (cached sessions, the
 * error queue), as fz_reset does too. Called when an input ends, it keeps an input's
 * allocations and frees balanced: libFuzzer re-runs, under a leak check, every input that
 * frees less than it allocates. */
void fz_settle(void);

/* One connection under the driver: the engine connection, its settings and the state the
 * driver keeps about it. Its callbacks find it through the connection's app data. */
typedef struct fz_conn {
    tlsrig_conn *conn;
    fz_prefix prefix;
    int is_server;
    int side;            /* FZ_SIDE_* */
    int done;            /* the handshake completed at least once */
    int early_done;      /* server: the client's early data has ended */
    int failed;          /* a call failed fatally (a few more pieces run: error paths) */
    int handshakes;      /* target server: handshakes started (each may use the private key) */
    int rsa;             /* target server: on, or may switch to, an RSA key's context */
    tlsrig_ctx *alt_ctx; /* server: where the SNI callback switches to (borrowed) */
} fz_conn;

/* fz_conn_server / fz_conn_client make a connection on |side|'s contexts, configured by |p|.
 * |offer| (client, may be NULL) is a session to offer; the connection offers its own copy,
 * so the caller's session is never marked unresumable by a failed run. Return 0 or -1. */
int fz_conn_server(fz_conn *fc, int side, const fz_prefix *p);
int fz_conn_client(fz_conn *fc, int side, const fz_prefix *p, SSL_SESSION *offer);
void fz_conn_cleanup(fz_conn *fc);

/* fz_saved_session returns the session the client target offers for a TICKETS value under
 * |p|'s profile (borrowed), or NULL for none. */
SSL_SESSION *fz_saved_session(const fz_prefix *p);

/* ---- the driver ---- */

/* Ops: the low nibble says what the connection does, the high nibble is an argument.
 * Every op except FZ_OP_DRIVE is followed by a drive. */
enum {
    FZ_OP_DRIVE = 0,         /* advance the handshake, then read what arrived */
    FZ_OP_SEND = 1,          /* write application data; arg picks the size (fz_send_sizes) */
    FZ_OP_KEY_UPDATE = 2,    /* TLS 1.3 KeyUpdate; arg bit 0: update requested */
    FZ_OP_RENEGOTIATE = 3,   /* TLS <= 1.2 renegotiation (HelloRequest from a server) */
    FZ_OP_PHA = 4,           /* server: TLS 1.3 post-handshake CertificateRequest */
    FZ_OP_SHUTDOWN = 5,      /* close_notify (SSL_shutdown) */
    FZ_OP_PEEK = 6,          /* read with MSG_PEEK */
    FZ_OP_EOF = 7,           /* the transport ends: reads see EOF past the buffered bytes */
    FZ_OP_EARLY = 8,         /* client: write 0-RTT data; server: read it */
    FZ_OP_QUIET = 9,         /* quiet shutdown: closed without close_notify */
    FZ_OP_SET_SHUTDOWN = 10, /* set the shutdown flags to arg & 3 */
    FZ_OP_INFO = 11,         /* every getter: cipher, version, certificates, secrets, ... */
    FZ_OP_SESSION = 12,      /* get the session, its fields, and a DER round trip */
    FZ_OP_READ_SMALL = 13,   /* read 1..16 bytes at a time (arg + 1) */
    FZ_OP_COUNT
};
#define FZ_OP(op, arg) ((uint8_t)(((arg) << 4) | (op)))

/* Where the driver gets the peer's bytes and puts the connection's own. next() returns 0 at
 * the end, else sets the bytes (may be empty) and the op to run after them. */
typedef struct fz_io {
    int (*next)(void *arg, uint8_t *op, const uint8_t **data, size_t *len);
    void (*out)(void *arg, const uint8_t *data, size_t len);
    void *arg;
} fz_io;

/* fz_run runs one exchange: a first move (0-RTT data, then the handshake, for a client that
 * asks for it), then for each piece from io->next its bytes and its op, draining what the
 * connection writes into io->out (and fz_digest) after each. Bounded by the input; it stops
 * a couple of pieces after the connection failed fatally. */
void fz_run(fz_conn *fc, const fz_io *io);

/* fz_step runs one op (and the drive after it) and drains the output into |out|. */
void fz_step(fz_conn *fc, uint8_t op, void (*out)(void *arg, const uint8_t *d, size_t n),
             void *arg);

/* An fz_io over a fuzz input's payload, cut as the prefix's FEED and ACTIONS say. */
typedef struct fz_input {
    const uint8_t *data;
    size_t len, pos;
    int framed;
    size_t chunk; /* 0: one TLS record at a time; SIZE_MAX: all at once */
    uint8_t actions;
    int action_bit; /* next ACTIONS bit to run once the payload is used up */
} fz_input;
void fz_input_io(fz_input *in, const fz_prefix *p, const uint8_t *payload, size_t len, fz_io *io);

/* fz_run_input is the whole of a server or client target: reset, parse the prefix, make the
 * connection, run the exchange over the payload, free it. */
void fz_run_input(int is_server, const uint8_t *data, size_t len);

/* ---- seeds ---- */

/* fz_gen_seeds records real exchanges between a target connection and a live peer as framed
 * inputs in |dir| (one file per configuration), checks that each replays to the same target
 * bytes, and returns the number written, or -1. */
int fz_gen_seeds(int target_is_server, const char *dir);

/* fz_tool_seeds is the fz_tool_main of the server and client targets: --gen-seeds DIR. */
int fz_tool_seeds(int target_is_server, int argc, char **argv);

/* fz_peer_target_initialize is LLVMFuzzerInitialize of the server and client targets: it
 * runs --gen-seeds (exiting with its status) when asked, under every driver, so seeds are
 * recorded with the very OpenSSL the fuzzer links (a seed is only as deep as its randoms
 * match), and otherwise builds every context (fz_init). */
void fz_peer_target_initialize(int target_is_server, int argc, char **argv);

#endif
