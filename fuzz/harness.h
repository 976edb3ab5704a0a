/*
 * harness.h - what the fuzz targets share. One header over the fuzz code's files, each of
 * which uses only the ones listed before it:
 *
 *   harness.c      the test PKI, the digest, the tagged input prefix, the engine contexts
 *                  built once per process, the connections made on them (each a wire
 *                  endpoint), and the per-input reset that makes every run of an input take
 *                  the same path
 *   drive.c        the driver: the ops a connection runs, an exchange (a target connection
 *                  and its peer on the two ends of a wire pump), and the fuzz input as that
 *                  peer (a wire feed)
 *   peer_target.c  the server and client targets: the sessions a client target offers (made
 *                  at start-up by real exchanges through the driver) and one input's run
 *   seeds.c        recording seeds from exchanges with a live peer; the targets' tools
 *   mitm_plan.c    the mitm targets' edit list: read, applied by a wire_mitm, printed
 *   mitm_scn.c     the mitm targets' inputs as scenario text
 *   mitm_target.c  the server_mitm and client_mitm targets: the target connection and a live
 *                  peer through a wire_mitm; their seeds, stats and tools
 *
 * Bytes move between a connection and its peer only through the wire (wire.h): the fuzz code
 * says what a connection does, the pump carries what it writes.
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
 * The mitm targets read FEED as the middle's settings (bit 0: the Finished fix-up) and ACTIONS
 * as the target's closing ops; a second prefix follows for their live peer, then the edit
 * list (see "the mitm targets" below).
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
#include <stdio.h>

#include "tlsrig.h"
#include "wire.h"

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

/* fz_kex_set gives the cipher list (TLS <= 1.2), TLS 1.3 suites and groups of FZ_TAG_KEX set
 * |i| (0..7), static; NULL where the set keeps the context's. */
void fz_kex_set(unsigned i, const char **ciphers, const char **suites, const char **groups);

/* ---- contexts and connections (harness.c) ---- */

enum { FZ_SIDE_TARGET = 0, FZ_SIDE_PEER = 1 };
enum { FZ_KEY_P256, FZ_KEY_RSA, FZ_KEY_P384, FZ_KEY_ED25519, FZ_N_KEYS };
enum { FZ_PROFILE_DEFAULT, FZ_PROFILE_LEGACY, FZ_N_PROFILES };

/* fz_init builds every context once: server contexts for each key type and profile, client
 * contexts for each profile, on the target source and again on the peer source. Idempotent;
 * aborts through fz_fatal when the PKI is missing. The order never varies, so the ticket keys
 * it makes are the same in every process. */
void fz_init(void);

/* fz_reset prepares one input: target source reseeded, clock at TLSRIG_CLOCK_EPOCH, target
 * session caches flushed, OpenSSL's error queue empty, fz_digest zero. Every few inputs that
 * may have used an RSA key it first renews the key (see refresh_rsa() in harness.c) with a
 * ClientHello made at its first call from the peer source: what a process makes at start-up
 * from that source (the client target's sessions) must come before the first fz_reset, so
 * that the peer source stands where recorded seeds expect it. */
void fz_reset(void);

/* fz_reset_peer prepares the live peer of one input, for the targets whose peer is a live
 * connection rather than the input (the mitm targets): peer source reseeded, the peer
 * servers' session caches flushed, and, when a peer server configured by |p| (|is_server|)
 * may sign with the RSA key, a fresh copy of that key in its context, so every run draws the
 * same peer randoms. Call it after fz_reset, before the peer's connection is made. */
void fz_reset_peer(const fz_prefix *p, int is_server);

/* fz_set_keylog_callback sets the keylog callback of every context (target and peer sides);
 * NULL turns it off. OpenSSL formats key log lines only for a context that has one, so only
 * the targets that read the secrets set it. */
void fz_set_keylog_callback(tlsrig_keylog_cb cb, void *arg);

/* fz_settle frees what an input left behind in the target's contexts (cached sessions, the
 * error queue), as fz_reset does too. Called when an input ends, it keeps an input's
 * allocations and frees balanced: libFuzzer re-runs, under a leak check, every input that
 * frees less than it allocates. */
void fz_settle(void);

/* One connection: the engine connection, the same as a wire endpoint (|ep|, for a pump), its
 * settings, and the state the driver (drive.c) keeps about it. The harness's callbacks find it
 * through the connection's app data, so it must not move while the connection lives. */
typedef struct fz_conn {
    tlsrig_conn *conn;
    wire_engine ep;
    fz_prefix prefix;
    int is_server;
    int side;            /* FZ_SIDE_* */
    int done;            /* driver: the handshake completed at least once */
    int early_done;      /* driver, server: the client's early data has ended */
    int failed;          /* driver: a call failed fatally (a few more pieces run: error paths) */
    int handshakes;      /* target server: handshakes started (each may use the private key) */
    int rsa;             /* target server: on, or may switch to, an RSA key's context */
    tlsrig_ctx *alt_ctx; /* server: where the SNI callback switches to (borrowed) */
} fz_conn;

/* fz_conn_server / fz_conn_client make a connection on |side|'s contexts, configured by |p|.
 * |offer| (client, may be NULL) is a session to offer; the connection offers its own copy,
 * so the caller's session is never marked unresumable by a failed run. Return 0 or -1.
 * fz_conn_cleanup frees the connection and its endpoint. */
int fz_conn_server(fz_conn *fc, int side, const fz_prefix *p);
int fz_conn_client(fz_conn *fc, int side, const fz_prefix *p, SSL_SESSION *offer);
void fz_conn_cleanup(fz_conn *fc);

/* ---- the driver (drive.c) ---- */

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

/* fz_step runs one op on |fc| and the drive after it. It moves no bytes: what the connection
 * writes waits in its endpoint until a pump moves it (fz_move). What a connection on the
 * target side does is added to fz_digest. Returns what the op's own call returned (sendall,
 * key_update, renegotiate, verify_client_post_handshake, shutdown), else 0.
 * fz_send_size is the byte count FZ_OP_SEND writes for an argument (0..15). */
int fz_step(fz_conn *fc, uint8_t op);
size_t fz_send_size(unsigned arg);

/* An exchange: a connection (|target|) and its peer (a feed, or another connection's
 * endpoint) on the two ends of one pump. The pump's observer adds what a target-side
 * connection sends to fz_digest, then passes every chunk to |observe| when it is set (a seed
 * recorder keeps what the peer sends). Caller-owned; it must not move once initialised. */
typedef struct fz_exchange {
    fz_conn *target;     /* borrowed */
    wire_endpoint *peer; /* borrowed */
    wire_pump pump;
    int target_end; /* WIRE_CLIENT or WIRE_SERVER: the target's end of the pump */
    int peer_end;   /* the other one */
    wire_observer_fn observe;
    void *observe_arg;
} fz_exchange;

/* fz_exchange_init puts |target| and |peer| on the ends of a pump (the target's end as its
 * role says); |observe| may be NULL. fz_exchange_cleanup frees the pump, not the ends. */
void fz_exchange_init(fz_exchange *x, fz_conn *target, wire_endpoint *peer,
                      wire_observer_fn observe, void *observe_arg);
void fz_exchange_cleanup(fz_exchange *x);

/* fz_exchange_set_filter puts |filter| (wire_pump_opts.filter, e.g. wire_mitm_filter) on the
 * exchange's pump; before the first move. */
void fz_exchange_set_filter(fz_exchange *x, wire_filter_fn filter, void *arg);

/* fz_move delivers what the end |from| (WIRE_CLIENT or WIRE_SERVER) has to send to the other
 * end and returns the bytes moved; fz_move_one delivers one pump read of it (at most
 * WIRE_MAX_CIPHERTEXT bytes). A pump that fails (the endpoints here fail only when memory
 * runs out) is a broken harness: fz_fatal. */
long fz_move(fz_exchange *x, int from);
long fz_move_one(fz_exchange *x, int from);

/* A source of the target's peer bytes: next() delivers the next piece to the target through
 * the exchange's pump and sets the op the target runs after it; it returns 0 at the end. */
typedef int (*fz_next_fn)(fz_exchange *x, void *arg, uint8_t *op);

/* fz_run runs one exchange: a first move of the target (0-RTT data, then the handshake, for a
 * client that asks for it), then for each piece from |next| that piece and its op; after each
 * step what the target wrote crosses to the peer. Bounded by the input; it stops a couple of
 * pieces after the connection failed fatally. */
void fz_run(fz_exchange *x, fz_next_fn next, void *arg);

/* A fuzz input's payload as the target's peer: a feed (the exchange's peer endpoint) given the
 * payload piece by piece as the prefix's FEED and ACTIONS say. fz_input_init prepares it over
 * |payload| (borrowed); fz_input_next is its fz_next_fn (|arg| the fz_input). */
typedef struct fz_input {
    wire_feed feed;
    const uint8_t *data;
    size_t len, pos;
    int framed;
    size_t chunk; /* 0: one TLS record at a time; SIZE_MAX: all at once */
    uint8_t actions;
    int action_bit; /* next ACTIONS bit to run once the payload is used up */
} fz_input;
void fz_input_init(fz_input *in, const fz_prefix *p, const uint8_t *payload, size_t len);
int fz_input_next(fz_exchange *x, void *arg, uint8_t *op);

/* ---- the server and client targets (peer_target.c) ---- */

enum {
    FZ_SESSION_NONE,
    FZ_SESSION_TLS13,
    FZ_SESSION_TLS12_TICKET,
    FZ_SESSION_TLS12_ID,
    FZ_N_SESSIONS
};

/* fz_make_session makes a real handshake (p256 server key; TLS 1.3 tickets allow 0-RTT)
 * between a client on |client_side| and a server on the other side, under profile |prof|, the
 * version at most |max_version| (FZ_TAG_VERSION's numbering), with tickets unless |no_ticket|,
 * and returns the client's session (the caller frees it). Aborts when it fails. */
SSL_SESSION *fz_make_session(int client_side, int prof, int max_version, int no_ticket);

/* fz_peer_target_init builds every context (fz_init), then makes the sessions a client target
 * offers: real handshakes of a target client with a peer server, the same in every process.
 * Idempotent. */
void fz_peer_target_init(void);

/* fz_saved_session returns the session the client target offers for a TICKETS value under
 * |p|'s profile (borrowed), or NULL for none. */
SSL_SESSION *fz_saved_session(const fz_prefix *p);

/* fz_run_input is the whole of a server or client target: reset, parse the prefix, make the
 * connection, run the exchange with the payload as its peer, free it. */
void fz_run_input(int is_server, const uint8_t *data, size_t len);

/* ---- seeds and tools (seeds.c) ---- */

/* fz_gen_seeds records real exchanges between a target connection and a live peer as framed
 * inputs in |dir| (one file per configuration), checks that each replays to the same target
 * bytes, and returns the number written, or -1. */
int fz_gen_seeds(int target_is_server, const char *dir);

/* fz_write_file writes |n| bytes to |path|: 0, or -1 with errno set. */
int fz_write_file(const char *path, const uint8_t *d, size_t n);

/* fz_tool_seeds is the fz_tool_main of the server and client targets: --gen-seeds DIR. */
int fz_tool_seeds(int target_is_server, int argc, char **argv);

/* fz_peer_target_initialize is LLVMFuzzerInitialize of the server and client targets: it
 * runs --gen-seeds (exiting with its status) when asked, under every driver, so seeds are
 * recorded with the very OpenSSL the fuzzer links (a seed is only as deep as its randoms
 * match), and otherwise builds every context and session (fz_peer_target_init). */
void fz_peer_target_initialize(int target_is_server, int argc, char **argv);

/* ---- the mitm targets: the edit list (mitm_plan.c) ---- */

/* After the two prefixes, a mitm target's input is a list of edits, each
 *   [op][msg][arg][length, 2 bytes big-endian][that many bytes]
 * (a length past the end takes what is left; at most FZ_MITM_MAX_EDITS are read).
 *   op    bits 0-3 the operation below (values past the last wrap around); bit 6: |msg|
 *         selects a content type (20 + (msg & 3): change_cipher_spec, alert, any handshake
 *         message, application_data) rather than a handshake message type; bit 7: the unit
 *         is one the target sends (else one the live peer sends)
 *   msg   the handshake message type a rule applies to
 *   arg   low nibble: which occurrence (0: the first) of that sender's matching units;
 *         high nibble: the field, an index into the message type's field names
 * Rules (ops up to FZ_MITM_INSERT_BEFORE) change the matching unit, decrypted, as it crosses
 * the middle; the bytes: the new body (replace), the field's value (set), a 2-byte extension
 * type then its body (extension ops), a 3-byte length (set-length), a type (set-type), a type
 * then a body (insert-before). Steps (the other ops) run in order once the handshake settled:
 * an alert (level |msg|, description |arg|), application data (msg << 8 | arg bytes) or a
 * handshake message (type |msg|, the bytes its body) injected into the sender's stream, or an
 * FZ_OP_* (|msg|) the sender's connection runs. */
enum {
    FZ_MITM_DROP,
    FZ_MITM_DUPLICATE,
    FZ_MITM_REPLACE,
    FZ_MITM_SET_FIELD,
    FZ_MITM_REMOVE_FIELD,
    FZ_MITM_ADD_EXT,
    FZ_MITM_REMOVE_EXT,
    FZ_MITM_SET_EXT,
    FZ_MITM_SET_LENGTH,
    FZ_MITM_SET_TYPE,
    FZ_MITM_INSERT_BEFORE,
    FZ_MITM_INJECT_ALERT,
    FZ_MITM_INJECT_DATA,
    FZ_MITM_INJECT_MESSAGE,
    FZ_MITM_ACTION,
    FZ_MITM_N_OPS
};
#define FZ_MITM_OP_RECORD 0x40
#define FZ_MITM_OP_TARGET 0x80
#define FZ_MITM_MAX_EDITS 64

typedef struct fz_mitm_edit {
    uint8_t op; /* FZ_MITM_* */
    int from_target;
    int content; /* |type| is a content type */
    uint8_t type;
    uint8_t msg, arg; /* as in the input */
    unsigned nth;
    const uint8_t *data; /* borrowed from the input */
    size_t len;
    unsigned seen; /* matching units so far in this run */
} fz_mitm_edit;

/* The edits of one input, and what the edit function needs to know about the run. */
typedef struct fz_mitm_plan {
    fz_mitm_edit e[FZ_MITM_MAX_EDITS];
    size_t n;
    int target_end; /* WIRE_CLIENT or WIRE_SERVER */
} fz_mitm_plan;

/* fz_mitm_plan_parse reads the edit list of |data| (borrowed: it must outlive the plan). */
void fz_mitm_plan_parse(fz_mitm_plan *plan, const uint8_t *data, size_t len, int target_end);

/* fz_mitm_plan_is_step says whether edit |e| is a step rather than a rule. */
int fz_mitm_plan_is_step(const fz_mitm_edit *e);

/* fz_mitm_plan_edit is the wire_mitm edit function (|arg| the plan): it applies every rule
 * whose occurrence this unit is, in input order. */
int fz_mitm_plan_edit(void *arg, wire_mitm *m, wire_mitm_msg *msg);

/* fz_mitm_plan_inject puts step |e| (an inject op) on the wire from |from| (WIRE_CLIENT or
 * WIRE_SERVER): 0 or a negative tlsrig_err. */
int fz_mitm_plan_inject(const fz_mitm_edit *e, wire_mitm *m, int from);

/* fz_mitm_print_edit writes edit |e| (rule or inject step) as a scenario line, the sender
 * named |side|: `tamper <side> <msg>[#<n>] ...` or `inject <side> ...`. */
void fz_mitm_print_edit(FILE *out, const fz_mitm_edit *e, const char *side);

/* ---- the mitm targets as scenario text (mitm_scn.c) ---- */

/* fz_mitm_print_peers writes a scenario's header: a comment, the client and server peers with
 * the settings their prefixes give (as far as the language has them; the rest as comments),
 * and the fix-up setting. */
void fz_mitm_print_peers(FILE *out, int target_is_server, const fz_prefix *target,
                         const fz_prefix *peer, int fixup);

/* fz_mitm_print_op writes the step that FZ_OP_* |op| run by |side| (its peer |other|) is in
 * the scenario language, with |rc| (what fz_step returned) as its expected result. */
void fz_mitm_print_op(FILE *out, const char *side, const char *other, uint8_t op, int rc);

/* ---- the mitm targets (mitm_target.c) ---- */

/* fz_mitm_run_input is the whole of a mitm target: reset (the peer's source too), parse the
 * two prefixes and the edit list, make the target connection and its live peer, run them
 * through a wire_mitm that applies the edits, free it. With |scn| set, the run is also
 * written there as a scenario (--print-scn). */
void fz_mitm_run_input(int target_is_server, const uint8_t *data, size_t len, FILE *scn);

/* fz_mitm_initialize is LLVMFuzzerInitialize of the mitm targets (contexts, the sessions
 * offered, the keylog callbacks; the stats line at exit under TLSRIG_MITM_STATS), and
 * fz_mitm_tool_main their fz_tool_main: --print-scn FILE, --gen-seeds DIR. */
void fz_mitm_initialize(int target_is_server);
int fz_mitm_tool_main(int target_is_server, int argc, char **argv);

#endif
