/*
 * wire.h - the wire between endpoints: the one place bytes move from one TLS endpoint to
 * another, and what reads those bytes as TLS.
 *
 *   endpoints   an interface (bytes in, bytes out, drive, end of stream, close, state) with
 *               two kinds here: an engine connection over memory BIOs (wire_engine) and a
 *               feed, whose output is given by a function and whose input goes to one
 *               (wire_feed: fuzz inputs, recorded flights). Other kinds (a vendor's TLS
 *               program over loopback) implement the same wire_endpoint_ops.
 *   the pump    moves bytes between two endpoints: chunk by chunk as each endpoint hands
 *               them out, or one whole record at a time when a record hook is set; an
 *               observer sees every chunk that crosses; a handshake driver runs both ends
 *               until they are done, one fails, or neither moves.
 *   framing     TLS records split out of a byte stream and written back (RFC 8446 §5.1,
 *               RFC 5246 §6.2), an SSLv2-compatible ClientHello tolerated as the first record
 *               (RFC 5246 Appendix E.2), records re-fragmented (split and coalesced),
 *               handshake messages reassembled across records and split back into records
 *               (RFC 8446 §4, §5.1), the TLS 1.3 inner plaintext's content type and padding
 *               (RFC 8446 §5.2).
 *   keylog      the NSS key log format: lines parsed into (label, client random, secret) and
 *               looked up; the pcapng writer checks what it embeds with it.
 *
 * The layer depends on the engine (tlsrig.h) and libcrypto only. Every function that can
 * fail returns a negative tlsrig_err (TLSRIG_ERR_NOMEM, TLSRIG_ERR_INVALID_ARGUMENT, ...);
 * a parser that meets malformed bytes also says, as data, which TLS alert a receiver would
 * send. Caller-owned structs have a zero state that is always safe to clean up; every
 * _cleanup accepts that state. Nothing here is thread-safe: one pump and its endpoints belong
 * to one thread at a time.
 */
#ifndef TLSRIG_WIRE_H
#define TLSRIG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "tlsrig.h"

/* ---- constants (RFC 8446 §5.1, §5.2; RFC 5246 §6.2) ---- */

enum {
    WIRE_CT_INVALID = 0,
    WIRE_CT_CHANGE_CIPHER_SPEC = 20,
    WIRE_CT_ALERT = 21,
    WIRE_CT_HANDSHAKE = 22,
    WIRE_CT_APPLICATION_DATA = 23,
    WIRE_CT_HEARTBEAT = 24,
};

#define WIRE_RECORD_HEADER 5
#define WIRE_MAX_PLAINTEXT 16384                        /* 2^14 */
#define WIRE_MAX_CIPHERTEXT (WIRE_MAX_PLAINTEXT + 2048) /* TLS 1.2 bound; 1.3's is 2^14 + 256 */
#define WIRE_HS_HEADER 4
/* The largest handshake message the reassembler holds (a certificate chain of several
 * kilobytes is common; OpenSSL's own limit for most messages is far lower). */
#define WIRE_MAX_HS_MESSAGE (1u << 20)

/* Alert descriptions a parser names when it meets malformed bytes (RFC 8446 §6). */
enum {
    WIRE_ALERT_NONE = -1,
    WIRE_ALERT_UNEXPECTED_MESSAGE = 10,
    WIRE_ALERT_RECORD_OVERFLOW = 22,
    WIRE_ALERT_HANDSHAKE_FAILURE = 40,
    WIRE_ALERT_ILLEGAL_PARAMETER = 47,
    WIRE_ALERT_DECODE_ERROR = 50,
    WIRE_ALERT_PROTOCOL_VERSION = 70,
};

/* ---- a growable byte buffer ---- */

/* wire_buf is caller-owned; the zero value is an empty buffer. wire_buf_append copies |len|
 * bytes to the end (0 or TLSRIG_ERR_NOMEM); wire_buf_reserve makes room for |need| bytes in
 * all without changing the contents (0 or TLSRIG_ERR_NOMEM); wire_buf_consume drops the first |n|
 * bytes (n <= len); wire_buf_cleanup frees the storage and leaves the zero value. */
typedef struct wire_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} wire_buf;

int wire_buf_append(wire_buf *b, const void *data, size_t len);
int wire_buf_reserve(wire_buf *b, size_t need);
void wire_buf_consume(wire_buf *b, size_t n);
void wire_buf_cleanup(wire_buf *b);

/* ---- records ---- */

/* One record as it stands in a buffer. |payload| points into that buffer (borrowed). For an
 * SSLv2-compatible ClientHello |sslv2| is 1, |type| is WIRE_CT_HANDSHAKE, |version| the
 * version the hello names, and |payload| the SSLv2 message after its 2-byte length. */
typedef struct wire_record {
    uint8_t type;
    uint16_t version;
    const uint8_t *payload;
    size_t len;
    int sslv2;
} wire_record;

/* wire_record_parse reads the record at the start of |buf| by its header alone (any content
 * type, any 16-bit length: a tool must frame what a broken or hostile peer sends, too).
 * Returns the bytes the whole record takes (header and payload), or 0 when |buf| holds only
 * part of one. With |allow_sslv2| set, a first byte with its high bit set is read as an
 * SSLv2-compatible ClientHello (RFC 5246 Appendix E.2); one that is not a CLIENT-HELLO or is
 * too short to hold its fixed fields is TLSRIG_ERR_INVALID_ARGUMENT (|*alert|, may be NULL,
 * names decode_error). */
long wire_record_parse(const uint8_t *buf, size_t len, int allow_sslv2, wire_record *out,
                       int *alert);

/* wire_record_check says whether a receiver would take |rec| as framed: returns
 * WIRE_ALERT_NONE, or the alert it would send: unexpected_message for an unknown content type
 * (RFC 8446 §5), record_overflow for a payload past WIRE_MAX_CIPHERTEXT when |protected| is
 * set or past WIRE_MAX_PLAINTEXT when not (RFC 8446 §5.1, §5.2; RFC 5246 §6.2.1), and
 * unexpected_message for an empty handshake or alert record (RFC 8446 §5.1). */
int wire_record_check(const wire_record *rec, int protected);

/* wire_record_write appends a record of |type| and |version| carrying |len| payload bytes to
 * |out| (len <= 0xffff; no other limit, so over-long records can be built on purpose).
 * Returns 0, TLSRIG_ERR_INVALID_ARGUMENT or TLSRIG_ERR_NOMEM. */
int wire_record_write(wire_buf *out, uint8_t type, uint16_t version, const void *payload,
                      size_t len);

/* A framer cuts a byte stream into whole records as bytes arrive in pieces of any size.
 * The zero value is ready; |allow_sslv2| may be set before the first push to tolerate an
 * SSLv2-compatible ClientHello as the stream's first record (a client's stream). */
typedef struct wire_framer {
    wire_buf in;
    size_t off;  /* start of the next record in |in| */
    size_t last; /* start of the record last returned */
    int allow_sslv2;
    int records;      /* records returned so far */
    int failed_alert; /* once failed: the alert a receiver would send */
    int failed;
} wire_framer;

/* wire_framer_push appends bytes (0 or TLSRIG_ERR_NOMEM). wire_framer_next sets |*rec| to the
 * next whole record and returns its size in bytes (> 0), 0 when no whole record is buffered,
 * or TLSRIG_ERR_INVALID_ARGUMENT once the stream cannot be framed (a malformed SSLv2 hello;
 * it stays failed, the alert in failed_alert). |rec| and the bytes wire_framer_raw gives stay valid
 * until the next push. wire_framer_raw returns the whole record last returned, header included (for
 * forwarding it unchanged). wire_framer_pending is the count of buffered bytes not yet returned. */
int wire_framer_push(wire_framer *f, const void *data, size_t len);
long wire_framer_next(wire_framer *f, wire_record *rec);
const uint8_t *wire_framer_raw(const wire_framer *f, size_t *len);
size_t wire_framer_pending(const wire_framer *f);
void wire_framer_cleanup(wire_framer *f);

/* wire_refragment re-cuts a stream of unprotected records (|in|, whole records only) into
 * records whose payloads are at most |max_fragment| bytes (1..65535), appending them to |out|.
 * With |coalesce| set, consecutive records of the same type and version are first joined (a
 * record boundary is kept where type or version changes). Protected (encrypted) records must
 * not be re-cut: their boundaries are part of what the receiver authenticates. Returns the
 * number of records written, TLSRIG_ERR_INVALID_ARGUMENT (|in| is not whole records, or an
 * SSLv2 hello is in it) or TLSRIG_ERR_NOMEM. */
long wire_refragment(const uint8_t *in, size_t len, size_t max_fragment, int coalesce,
                     wire_buf *out);

/* TLS 1.3 inner plaintext (RFC 8446 §5.2): content, then the real content type, then zero
 * padding. wire_inner_parse finds the type by skipping the padding from the end: returns the
 * content length and sets |*type|, or TLSRIG_ERR_INVALID_ARGUMENT when every byte is zero
 * (|*alert| = unexpected_message). wire_inner_write appends content, type and |padding| zero
 * bytes to |out| (0, TLSRIG_ERR_NOMEM). */
long wire_inner_parse(const uint8_t *plaintext, size_t len, uint8_t *type, int *alert);
int wire_inner_write(wire_buf *out, const void *content, size_t len, uint8_t type, size_t padding);

/* ---- handshake messages ---- */

/* One handshake message: type, body length, body (borrowed from the reader or buffer). */
typedef struct wire_hs_msg {
    uint8_t type;
    uint32_t len;
    const uint8_t *body;
} wire_hs_msg;

/* A reader reassembles handshake messages from the payloads of handshake records, which may
 * split a message anywhere or carry several (RFC 8446 §5.1). The zero value is ready. */
typedef struct wire_hs_reader {
    wire_buf in;
    size_t off;
    int failed;
} wire_hs_reader;

/* wire_hs_push appends a handshake record's payload (0 or TLSRIG_ERR_NOMEM). wire_hs_next
 * sets |*msg| to the next whole message and returns its size with header (> 0), 0 when none
 * is complete, or TLSRIG_ERR_INVALID_ARGUMENT for a message longer than WIRE_MAX_HS_MESSAGE
 * (|*alert| may be NULL; set to decode_error). |msg->body| stays valid until the next push.
 * wire_hs_pending counts buffered bytes not yet returned (a partial message). */
int wire_hs_push(wire_hs_reader *r, const void *fragment, size_t len);
long wire_hs_next(wire_hs_reader *r, wire_hs_msg *msg, int *alert);
size_t wire_hs_pending(const wire_hs_reader *r);
void wire_hs_reader_cleanup(wire_hs_reader *r);

/* wire_hs_write appends one message (type, 24-bit length, body) to |out|: 0,
 * TLSRIG_ERR_INVALID_ARGUMENT (len > 2^24 - 1) or TLSRIG_ERR_NOMEM. */
int wire_hs_write(wire_buf *out, uint8_t type, const void *body, size_t len);

/* wire_hs_to_records splits a run of handshake messages (|msgs|) back into handshake records
 * of at most |max_fragment| payload bytes with |version| in their headers, appended to |out|.
 * Returns the number of records, or as wire_record_write. */
long wire_hs_to_records(wire_buf *out, const uint8_t *msgs, size_t len, uint16_t version,
                        size_t max_fragment);

/* ---- key log (NSS key log format) ---- */

/* The labels OpenSSL writes through its keylog callback (SSL_CTX_set_keylog_callback). */
#define WIRE_KEYLOG_LABELS(X)                                                                      \
    X(CLIENT_RANDOM)                                                                               \
    X(CLIENT_EARLY_TRAFFIC_SECRET)                                                                 \
    X(CLIENT_HANDSHAKE_TRAFFIC_SECRET)                                                             \
    X(SERVER_HANDSHAKE_TRAFFIC_SECRET)                                                             \
    X(CLIENT_TRAFFIC_SECRET_0)                                                                     \
    X(SERVER_TRAFFIC_SECRET_0)                                                                     \
    X(EARLY_EXPORTER_SECRET)                                                                       \
    X(EXPORTER_SECRET)                                                                             \
    X(CLIENT_TRAFFIC_SECRET_N)                                                                     \
    X(SERVER_TRAFFIC_SECRET_N)

#define WIRE__KEYLOG_ENUM(name) WIRE_KEYLOG_##name,
typedef enum wire_keylog_label {
    WIRE_KEYLOG_LABELS(WIRE__KEYLOG_ENUM) WIRE_KEYLOG_N
} wire_keylog_label;
#undef WIRE__KEYLOG_ENUM

#define WIRE_KEYLOG_MAX_SECRET 64 /* SHA-384 is the longest hash TLS 1.3 uses: 48 */

/* One key log line: CLIENT_RANDOM carries the TLS 1.2 master secret (48 bytes); the others
 * TLS 1.3 secrets as long as the suite's hash. The _N labels stand for the lines written
 * after each KeyUpdate: CLIENT_TRAFFIC_SECRET_1, _2, ... (|generation| holds the number) or,
 * as OpenSSL 3.0 writes them, the letter N itself in KeyUpdate order (|generation| 0, as for
 * every other label). */
typedef struct wire_keylog_entry {
    wire_keylog_label label;
    unsigned generation;
    uint8_t client_random[32];
    uint8_t secret[WIRE_KEYLOG_MAX_SECRET];
    size_t secret_len;
} wire_keylog_entry;

/* wire_keylog_label_name returns the label's text ("CLIENT_RANDOM", ...; the _N labels as
 * "CLIENT_TRAFFIC_SECRET_N"), or NULL. */
const char *wire_keylog_label_name(wire_keylog_label label);

/* wire_keylog_parse_line parses one line (|len| bytes, no newline needed; a trailing '\r' or
 * '\n' is ignored). Returns 1 and fills |*out| for an entry, 0 for a blank or '#' comment
 * line or an RSA pre-master secret line (a kind this parser knows and has no use for: no
 * record keys come from it without the handshake), or TLSRIG_ERR_INVALID_ARGUMENT with the
 * reason in |why| (may be NULL) for anything
 * else: an unknown label, a client random that is not 64 hex digits, a secret that is not an
 * even number of hex digits or longer than WIRE_KEYLOG_MAX_SECRET bytes, extra words. */
int wire_keylog_parse_line(const char *line, size_t len, wire_keylog_entry *out, char *why,
                           size_t whylen);

/* wire_keylog_format writes |e| as one line without a newline into |out| (NUL-terminated).
 * Returns its length, or TLSRIG_ERR_INVALID_ARGUMENT when |cap| is too small. */
int wire_keylog_format(const wire_keylog_entry *e, char *out, size_t cap);

/* A key log: the entries of a text, in order. Caller-owned; the zero value is empty. */
typedef struct wire_keylog {
    wire_keylog_entry *entries;
    size_t n;
    size_t cap;
} wire_keylog;

/* wire_keylog_add_text parses every line of |text| and appends its entries. Returns the
 * number of entries added, TLSRIG_ERR_NOMEM, or TLSRIG_ERR_INVALID_ARGUMENT for the first
 * malformed line: |*bad_line| (may be NULL) is its number from 1 and |why| the reason; the
 * entries of the lines before it are kept. */
long wire_keylog_add_text(wire_keylog *kl, const char *text, size_t len, size_t *bad_line,
                          char *why, size_t whylen);

/* wire_keylog_find returns the last entry with |label| for |client_random| (a later line
 * overrides an earlier one), borrowed from |kl|, or NULL. */
const wire_keylog_entry *wire_keylog_find(const wire_keylog *kl, wire_keylog_label label,
                                          const uint8_t client_random[32]);

void wire_keylog_cleanup(wire_keylog *kl);

/* ---- endpoints ---- */

typedef struct wire_endpoint wire_endpoint;

/* What an endpoint's state() reports, as bits. */
enum {
    WIRE_ST_DONE = 1u << 0,   /* its handshake completed at least once */
    WIRE_ST_BUSY = 1u << 1,   /* a handshake (first, renegotiation, post-handshake) runs */
    WIRE_ST_FAILED = 1u << 2, /* a call failed hard (not want-read/write) */
    WIRE_ST_CLOSED = 1u << 3, /* it closed its transport: it sends nothing more */
};

/* What an endpoint kind can do beyond moving bytes, as bits in ops->caps. */
enum {
    WIRE_CAP_ENGINE = 1u << 0,  /* wire_engine_get0_conn gives its engine connection */
    WIRE_CAP_DRIVE = 1u << 1,   /* drive() makes protocol progress (a feed only moves bytes) */
    WIRE_CAP_SECRETS = 1u << 2, /* its keylog lines can be had (engine: the keylog callback) */
};

/* The interface every endpoint kind implements. Bytes cross only through read and write.
 *   read    up to |cap| bytes the endpoint has to send: the count (> 0), 0 when it has none
 *           now, or a negative tlsrig_err when its transport failed;
 *   write   bytes from the peer: the count taken (all of them), or a negative tlsrig_err;
 *   drive   let it make progress with what it was given (advance a handshake, process
 *           post-handshake messages): 0, TLSRIG_ERR_WANT_READ/WANT_WRITE, or a hard error;
 *   end     its incoming stream ended: after the bytes given, it reads end of file;
 *   state   WIRE_ST_* bits;
 *   error   the last hard error's code and message (message may be NULL), or 0;
 *   cleanup free what the endpoint owns (not what it borrows).
 * |kind| names the kind in messages ("engine", "feed", ...). */
typedef struct wire_endpoint_ops {
    const char *kind;
    unsigned caps;
    long (*read)(wire_endpoint *ep, uint8_t *buf, size_t cap);
    long (*write)(wire_endpoint *ep, const uint8_t *buf, size_t len);
    int (*drive)(wire_endpoint *ep);
    int (*end)(wire_endpoint *ep);
    unsigned (*state)(const wire_endpoint *ep);
    int (*error)(const wire_endpoint *ep, const char **message);
    void (*cleanup)(wire_endpoint *ep);
} wire_endpoint_ops;

/* The part every endpoint shares; a kind embeds it as its first member. |name| (borrowed,
 * may be NULL) names it in messages. */
struct wire_endpoint {
    const wire_endpoint_ops *ops;
    const char *name;
    int is_server;
};

/* Calls through the interface (NULL-safe where it makes sense: wire_endpoint_cleanup(NULL)
 * does nothing). */
long wire_endpoint_read(wire_endpoint *ep, uint8_t *buf, size_t cap);
long wire_endpoint_write(wire_endpoint *ep, const uint8_t *buf, size_t len);
int wire_endpoint_drive(wire_endpoint *ep);
int wire_endpoint_end(wire_endpoint *ep);
unsigned wire_endpoint_state(const wire_endpoint *ep);
int wire_endpoint_error(const wire_endpoint *ep, const char **message);
void wire_endpoint_cleanup(wire_endpoint *ep);

/* ---- the engine connection as an endpoint ---- */

/* An engine connection over memory BIOs. The connection is borrowed: it must outlive the
 * endpoint (the caller frees it after wire_engine_cleanup). drive() is one move of the
 * connection: it advances the handshake while one runs (do_handshake), and once done reads
 * with MSG_PEEK so that post-handshake messages (tickets, KeyUpdate, a HelloRequest, a
 * CertificateRequest) are processed without taking application data. A server with
 * |read_early| set first reads 0-RTT data (RFC 8446 §4.2.10) into the endpoint's early
 * buffer until the client's EndOfEarlyData, for wire_engine_take_early. */
typedef struct wire_engine {
    wire_endpoint ep; /* first: a wire_engine is a wire_endpoint */
    tlsrig_conn *conn;
    int read_early;
    int done;      /* the handshake completed at least once */
    int last_rc;   /* last result drive() returned */
    int last_want; /* last want-read/want-write noted, 0 if none */
    int last_err;  /* last hard error (not want-read/write), 0 if none */
    char last_msg[256];
    int early_done; /* server: the client's early data ended */
    wire_buf early; /* server: 0-RTT data read, not yet taken */
} wire_engine;

/* wire_engine_init makes |e| an endpoint over |conn| (memory BIOs), server or client as the
 * connection is set. wire_engine_cleanup frees the early buffer, not the connection. */
void wire_engine_init(wire_engine *e, tlsrig_conn *conn, const char *name);
void wire_engine_cleanup(wire_engine *e);

/* wire_engine_from returns |ep| as an engine endpoint, or NULL for another kind. */
wire_engine *wire_engine_from(wire_endpoint *ep);

/* wire_engine_get0_conn returns the borrowed connection. */
tlsrig_conn *wire_engine_get0_conn(const wire_engine *e);

/* wire_engine_note records the result of a call on the connection (drive's own, or one the
 * driver made itself: a write, a renegotiation request): a want-read/want-write goes to
 * last_want, a hard error to last_err with the connection's message in last_msg. Returns
 * |rc|. */
int wire_engine_note(wire_engine *e, int rc);

/* wire_engine_read_early reads what 0-RTT data is available into the early buffer. Returns 0
 * (wire_engine.early_done tells whether the client ended it), TLSRIG_ERR_WANT_READ, or an
 * error. */
int wire_engine_read_early(wire_engine *e);

/* ---- a feed: an endpoint whose bytes come from a function ---- */

/* next() gives the next piece the feed sends: returns 1 with |*data|/|*len| set (borrowed
 * until the next call; len may be 0), or 0 at the end. sink() receives what the peer sends
 * to the feed (may be NULL: discarded). The feed never fails, never drives, and is at end
 * once next() returned 0. */
typedef struct wire_feed {
    wire_endpoint ep; /* first */
    int (*next)(void *arg, const uint8_t **data, size_t *len);
    void (*sink)(void *arg, const uint8_t *data, size_t len);
    void *arg;
    const uint8_t *pending; /* part of the last piece not yet read */
    size_t pending_len;
    int ended;
} wire_feed;

void wire_feed_init(wire_feed *f, int (*next)(void *, const uint8_t **, size_t *),
                    void (*sink)(void *, const uint8_t *, size_t), void *arg, const char *name);

/* wire_feed_give makes |len| bytes (borrowed until they are read) the feed's next piece,
 * replacing what was left of the last one; a driver that decides between pieces (a fuzz
 * input with an op after each frame) gives each piece and moves it with wire_pump_move. A
 * feed made with next == NULL sends only what it is given and never ends. */
void wire_feed_give(wire_feed *f, const uint8_t *data, size_t len);

/* ---- the pump ---- */

enum { WIRE_CLIENT = 0, WIRE_SERVER = 1 };

/* An observer sees every chunk the pump delivers, in order, after any record hook: |from| is
 * WIRE_CLIENT or WIRE_SERVER. Return 0, or negative to stop the pump (the move fails with
 * that value). */
typedef int (*wire_observer_fn)(void *arg, int from, const uint8_t *data, size_t len);

/* A record hook sees each whole record one at a time before it is delivered (a record split
 * across reads waits for its end). It may change the bytes in place within |cap|, set *len
 * (0 drops the record), and return 0 to go on or negative to stop the pump. Bytes that are
 * not TLS records are passed through unframed. */
typedef int (*wire_record_fn)(void *arg, int from, uint8_t *rec, size_t *len, size_t cap);

/* A filter takes each whole record from |from| and appends to |out| the bytes to deliver in
 * its place: nothing, the record as it came, or any number of records (re-encrypted, split,
 * injected). At the start of every move from |from| it is also called with rec == NULL and
 * len 0, to deliver what it held back before (a record whose receiver's keys were not known
 * yet). Return 0, or negative to stop the pump. A filter replaces the record hook. */
typedef int (*wire_filter_fn)(void *arg, int from, const uint8_t *rec, size_t len, wire_buf *out);

typedef struct wire_pump_opts {
    wire_observer_fn observe;
    void *observe_arg;
    wire_record_fn record_hook;
    void *record_arg;
    wire_filter_fn filter;
    void *filter_arg;
    long budget;     /* drive rounds allowed over the pump's life; 0: unlimited */
    double deadline; /* CLOCK_MONOTONIC seconds after which handshakes stop; 0: none */
} wire_pump_opts;

/* Two endpoints (borrowed) and what moves between them. Caller-owned: wire_pump_init, then
 * wire_pump_cleanup (frees the framers' buffers, not the endpoints). */
typedef struct wire_pump {
    wire_endpoint *ep[2]; /* WIRE_CLIENT, WIRE_SERVER */
    wire_pump_opts opt;
    wire_framer framer[2];
    long rounds;       /* drive rounds so far (a caller may carry it to a next pump) */
    uint64_t moved[2]; /* bytes taken from each side */
    int closed[2];
    wire_buf scratch; /* the record a hook edits, or a filter's output */
} wire_pump;

void wire_pump_init(wire_pump *p, wire_endpoint *client, wire_endpoint *server,
                    const wire_pump_opts *opt);
void wire_pump_cleanup(wire_pump *p);

/* wire_pump_move delivers everything |from| has to send to the other endpoint (after what a
 * filter held back). Returns the bytes taken from |from| and released by its filter (>= 0; an
 * endpoint that closed its transport sends nothing: what it still writes is read and dropped), or a
 * negative value when a hook or observer stopped the pump or an endpoint's transport failed. */
long wire_pump_move(wire_pump *p, int from);

/* wire_pump_move_one delivers one piece (one read) from |from|: bytes moved, 0 when it had
 * none, or negative as wire_pump_move. For drivers that act between pieces (a fuzz input
 * whose ops run after each frame). */
long wire_pump_move_one(wire_pump *p, int from);

/* wire_pump_round moves once each way, client first: the total moved, or negative as
 * wire_pump_move. wire_pump_flush repeats rounds until one moves nothing. */
long wire_pump_round(wire_pump *p);
long wire_pump_flush(wire_pump *p);

/* wire_pump_drive drives |side|'s endpoint once (nothing for a closed side: returns 0). */
int wire_pump_drive(wire_pump *p, int side);

/* wire_pump_close ends |side|'s transport: what it already sent is delivered (one round),
 * then the other endpoint reads end of file, and |side| sends and drives nothing more.
 * Returns 0 or negative. wire_pump_closed tells whether |side| was closed. */
int wire_pump_close(wire_pump *p, int side);
int wire_pump_closed(const wire_pump *p, int side);

/* Outcomes of wire_pump_handshake. */
typedef enum wire_drive_result {
    WIRE_DRIVE_DONE = 0,    /* both endpoints finished and nothing is left to move */
    WIRE_DRIVE_FAILED = 1,  /* one failed hard (its alert was delivered), or each waits on the
                             * other with nothing moving */
    WIRE_DRIVE_BUDGET = 2,  /* opt.budget drive rounds used up */
    WIRE_DRIVE_TIMEOUT = 3, /* opt.deadline passed */
} wire_drive_result;

/* wire_pump_handshake drives both endpoints (client, then server, each followed by a move of
 * its bytes) until both are done with nothing in flight, one fails hard, or neither moves for
 * three rounds. After a hard failure it runs a few more rounds so the other side reads the
 * alert that reports it. Returns a wire_drive_result, or a negative value when the pump stopped
 * (as wire_pump_move). The order of calls is fixed, so a deterministic pair of engine
 * endpoints puts the same bytes on the wire every time. */
int wire_pump_handshake(wire_pump *p);

/* ---- record protection (RFC 8446 §5.2, §7; RFC 5246 §6.2.3, §6.3; RFC 7366) ---- */

/* Record keys come from the secrets an endpoint hands out through the keylog callback (TLS 1.3
 * traffic secrets; the TLS <= 1.2 master secret with the hello randoms), derived with OpenSSL's
 * KDFs (TLS13-KDF, TLS1-PRF) and used through EVP ciphers and HMAC: the rig can decrypt, edit
 * and re-encrypt any record between two endpoints and fix up the Finished messages an edit
 * invalidates. Nothing here draws random bytes: the same calls give the same bytes. */

enum { WIRE_ALERT_BAD_RECORD_MAC = 20 };

/* A cipher suite as the record layer needs it. The lengths are in bytes: |key_len| the cipher
 * key; |fixed_iv_len| the IV taken from the key schedule (TLS 1.3 and ChaCha20: 12, TLS 1.2
 * AES-GCM/CCM: 4, CBC: the block, used as the first IV by TLS 1.0 only); |record_iv_len| the
 * explicit IV each record carries (AES-GCM/CCM in TLS 1.2: 8, CBC from TLS 1.1 on: the block);
 * |mac_len| the CBC suites' HMAC output (0 for AEAD); |tag_len| the AEAD tag (0 for CBC);
 * |block_len| the CBC block (0 for AEAD); |hash_len| the PRF / HKDF hash's output. */
enum { WIRE_SUITE_AEAD = 1, WIRE_SUITE_CBC = 2 };
typedef struct wire_suite {
    uint16_t id;        /* IANA value, e.g. 0x1301 */
    const char *name;   /* IANA name, e.g. "TLS_AES_128_GCM_SHA256" */
    int tls13;          /* a TLS 1.3 suite */
    int kind;           /* WIRE_SUITE_AEAD or WIRE_SUITE_CBC */
    const char *cipher; /* EVP cipher name */
    const char *hash;   /* the PRF / HKDF hash ("SHA256", "SHA384"); TLS 1.0/1.1 use MD5-SHA1 */
    const char *mac; /* CBC suites: the HMAC digest ("SHA1", "SHA256", "SHA384"); NULL for AEAD */
    size_t key_len, fixed_iv_len, record_iv_len, mac_len, tag_len, block_len, hash_len;
} wire_suite;

/* wire_suite_by_id returns the suite (static, never freed) with IANA value |id|, or NULL when
 * it is unknown here or the linked OpenSSL lacks its cipher. wire_suite_by_name does the same
 * for an IANA name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"). wire_suite_at returns the |i|th
 * suite of the table (from 0, whether or not OpenSSL has its cipher), NULL past the end. */
const wire_suite *wire_suite_by_id(uint16_t id);
const wire_suite *wire_suite_by_name(const char *name);
const wire_suite *wire_suite_at(size_t i);

/* One direction's protection state. Caller-owned plain data: the zero value is safe to clean
 * up, and a copy (struct assignment) is an independent state that goes on from the same point
 * (the same keys, sequence number and CBC chaining). The fields after |explicit_base| belong to
 * this module. */
typedef struct wire_keys {
    const wire_suite *suite;
    uint16_t version;     /* 0x0301..0x0304: how records are protected */
    int encrypt_then_mac; /* RFC 7366 (CBC, TLS <= 1.2) */
    uint8_t secret[64];   /* TLS 1.3: the traffic secret these keys come from */
    size_t secret_len;
    uint64_t seq; /* next record's sequence number */
    /* TLS 1.2 AES-GCM/CCM: a record's explicit nonce is explicit_base + seq (mod 2^64). 0 sends
     * the sequence number; OpenSSL 3.0 (AES-GCM) starts from a random value and counts up with seq,
     * so wire_unprotect sets this from each record it opens: copied to the keys that protect the
     * same direction again, it reproduces the sender's nonces. */
    uint64_t explicit_base;
    uint8_t key[32];
    uint8_t iv[16];      /* AEAD: the fixed IV; CBC in TLS 1.0: the next record's IV */
    uint8_t mac_key[48]; /* CBC: the HMAC key (suite->mac_len bytes) */
} wire_keys;

/* wire_keys_tls13 sets |k| to protect TLS 1.3 records with |s| (a TLS 1.3 suite) under the
 * traffic secret |secret| (|len| == s->hash_len): key and IV by HKDF-Expand-Label (RFC 8446
 * §7.3), seq 0. wire_keys_tls13_update moves |k| to the next traffic secret (RFC 8446 §7.2,
 * after a KeyUpdate): new secret, key and IV, seq 0. Both return 0, TLSRIG_ERR_INVALID_ARGUMENT
 * (wrong suite or length; |k| is then cleaned) or TLSRIG_ERR_SSL (OpenSSL failed). */
int wire_keys_tls13(wire_keys *k, const wire_suite *s, const uint8_t *secret, size_t len);
int wire_keys_tls13_update(wire_keys *k);

/* wire_keys_tls12 sets both directions of a TLS 1.0 (0x0301) to 1.2 (0x0303) connection from
 * the key block (RFC 5246 §6.3; RFC 2246 §6.3): PRF(master, "key expansion", server_random +
 * client_random) cut into MAC keys, cipher keys and IVs, client's first; TLS 1.2 uses the
 * suite's PRF hash, TLS 1.0/1.1 the MD5/SHA-1 PRF. |encrypt_then_mac| applies to CBC suites
 * (RFC 7366; ignored for AEAD). Either output may be NULL. Returns 0,
 * TLSRIG_ERR_INVALID_ARGUMENT (a TLS 1.3 suite, a version out of range, an AEAD suite below
 * TLS 1.2) or TLSRIG_ERR_SSL. */
int wire_keys_tls12(wire_keys *client_write, wire_keys *server_write, const wire_suite *s,
                    uint16_t version, int encrypt_then_mac, const uint8_t master[48],
                    const uint8_t client_random[32], const uint8_t server_random[32]);

/* wire_keys_cleanup wipes the key material and leaves the zero value. */
void wire_keys_cleanup(wire_keys *k);

/* wire_unprotect decrypts one whole record (header included) with |k|: the content is appended
 * to |out| and its real type set in *type (TLS 1.3: the inner type, padding removed; TLS <= 1.2:
 * the header's type). Increments seq. Returns the content length (>= 0), or TLSRIG_ERR_SSL with
 * *alert (may be NULL) set to bad_record_mac for a failed tag, MAC or CBC padding and for a
 * ciphertext too short to hold them (RFC 8446 §5.2; RFC 5246 §6.2.3.2), decode_error when the
 * header's length is not |len| - 5, record_overflow for a ciphertext or plaintext past the
 * limit (RFC 8446 §5.2: 2^14 + 256 and 2^14; RFC 5246 §6.2.3: 2^14 + 2048 and 2^14), or
 * unexpected_message for a TLS 1.3 inner plaintext of zeros only (RFC 8446 §5.4); seq (and the
 * TLS 1.0 chaining IV) and |out| are then unchanged. TLSRIG_ERR_INVALID_ARGUMENT when |k| has
 * no keys, TLSRIG_ERR_NOMEM. */
long wire_unprotect(wire_keys *k, const uint8_t *rec, size_t len, wire_buf *out, uint8_t *type,
                    int *alert);

/* wire_protect appends one protected record carrying |len| bytes of |type| to |out|. TLS 1.3:
 * outer type application_data and legacy version 0x0303, inner |type| then |padding| zero bytes
 * (RFC 8446 §5.2). TLS 1.2 and below: the record version is k->version; AEAD records carry the
 * sequence number plus explicit_base as their explicit nonce and take no padding (|padding| must
 * be 0); CBC records are MAC-then-encrypt or encrypt-then-MAC, with the fewest padding bytes
 * plus |padding| more (a multiple of the block; at most 256 padding bytes in all, RFC 5246
 * §6.2.3.2). Explicit CBC IVs (TLS 1.1+) are the block cipher applied to the sequence number
 * under the record's key, not drawn at random, so the same calls give the same bytes; TLS 1.0
 * chains from the last ciphertext block. |len| may exceed 2^14 (for testing a peer's limit)
 * as long as the record fits 2^16 - 1. Increments seq. Returns 0, TLSRIG_ERR_INVALID_ARGUMENT
 * (no keys, a bad |padding|, a record too long), TLSRIG_ERR_NOMEM or TLSRIG_ERR_SSL. */
int wire_protect(wire_keys *k, uint8_t type, const void *content, size_t len, size_t padding,
                 wire_buf *out);

/* Finished (for recomputing it over a transcript an edit changed).
 * wire_finished_tls13: HMAC(HKDF-Expand-Label(base_secret, "finished", "", Hash.length),
 * transcript_hash) (RFC 8446 §4.4.4) with the suite's hash: |len| and the transcript hash are
 * s->hash_len bytes; |out| gets s->hash_len bytes.
 * wire_finished_tls12: PRF(master, "client finished" | "server finished", handshake_hash)[0..11]
 * (RFC 5246 §7.4.9): TLS 1.2 with the suite's hash, TLS 1.0/1.1 (version < 0x0303) the MD5/SHA-1
 * PRF over the 36-byte MD5 || SHA-1 of the messages (a "MD5-SHA1" transcript gives it).
 * Both return 0, TLSRIG_ERR_INVALID_ARGUMENT or TLSRIG_ERR_SSL. */
int wire_finished_tls13(const wire_suite *s, const uint8_t *base_secret, size_t len,
                        const uint8_t *transcript_hash, uint8_t *out);
int wire_finished_tls12(const wire_suite *s, uint16_t version, const uint8_t master[48],
                        int from_server, const uint8_t *handshake_hash, size_t hash_len,
                        uint8_t out[12]);

/* A running transcript hash of handshake messages (header included). Caller-owned; the zero
 * value is safe to clean up; not to be copied (it owns a digest context). */
typedef struct wire_transcript {
    EVP_MD_CTX *md;
} wire_transcript;

/* wire_transcript_init starts an empty transcript with |hash| ("SHA256", "SHA384", or
 * "MD5-SHA1" for TLS 1.0/1.1). wire_transcript_add hashes |len| more bytes.
 * wire_transcript_hash writes the hash of what was added so far to |out| (up to 64 bytes) and
 * its length to |*len|, and leaves the transcript running. Each returns 0,
 * TLSRIG_ERR_INVALID_ARGUMENT (unknown hash, not initialised) or TLSRIG_ERR_SSL/NOMEM.
 * wire_transcript_cleanup frees it and leaves the zero value. */
int wire_transcript_init(wire_transcript *t, const char *hash);
int wire_transcript_add(wire_transcript *t, const void *msg, size_t len);
int wire_transcript_hash(const wire_transcript *t, uint8_t *out, size_t *len);
void wire_transcript_cleanup(wire_transcript *t);

/* ---- handshake message views ---- */

/* A structured, editable view of one handshake message body (RFC 8446 §4, RFC 5246 §7.4):
 * an ordered list of named fields, each with its wire encoding, one of which may be an
 * extension list or a certificate list. A man in the middle parses a message, sets, removes
 * or adds fields and extensions, and writes it back; lengths are recomputed on write unless a
 * field's length was pinned on purpose, so well-formed and deliberately malformed messages
 * come from the same calls. */

/* Handshake message types (RFC 8446 §4, RFC 5246 §7.4, RFC 6066 §8 for certificate_status):
 * X(ENUM_NAME, value, "RFC name"). */
#define WIRE_HS_TYPES(X)                                                                           \
    X(HELLO_REQUEST, 0, "HelloRequest")                                                            \
    X(CLIENT_HELLO, 1, "ClientHello")                                                              \
    X(SERVER_HELLO, 2, "ServerHello")                                                              \
    X(HELLO_VERIFY_REQUEST, 3, "HelloVerifyRequest")                                               \
    X(NEW_SESSION_TICKET, 4, "NewSessionTicket")                                                   \
    X(END_OF_EARLY_DATA, 5, "EndOfEarlyData")                                                      \
    X(ENCRYPTED_EXTENSIONS, 8, "EncryptedExtensions")                                              \
    X(CERTIFICATE, 11, "Certificate")                                                              \
    X(SERVER_KEY_EXCHANGE, 12, "ServerKeyExchange")                                                \
    X(CERTIFICATE_REQUEST, 13, "CertificateRequest")                                               \
    X(SERVER_HELLO_DONE, 14, "ServerHelloDone")                                                    \
    X(CERTIFICATE_VERIFY, 15, "CertificateVerify")                                                 \
    X(CLIENT_KEY_EXCHANGE, 16, "ClientKeyExchange")                                                \
    X(FINISHED, 20, "Finished")                                                                    \
    X(CERTIFICATE_STATUS, 22, "CertificateStatus")                                                 \
    X(KEY_UPDATE, 24, "KeyUpdate")                                                                 \
    X(COMPRESSED_CERTIFICATE, 25, "CompressedCertificate")                                         \
    X(MESSAGE_HASH, 254, "message_hash")

#define WIRE__HS_TYPE_ENUM(name, value, text) WIRE_HS_##name = value,
enum { WIRE_HS_TYPES(WIRE__HS_TYPE_ENUM) };
#undef WIRE__HS_TYPE_ENUM

/* Extension types: those RFC 8446 §4.2 lists, and the TLS 1.2 ones a rig meets (RFC 5746,
 * RFC 7627, RFC 7366, RFC 5077, RFC 8449, RFC 6066, RFC 7301, RFC 7685, RFC 8422):
 * X(ENUM_NAME, value, "RFC name"). */
#define WIRE_EXT_TYPES(X)                                                                          \
    X(SERVER_NAME, 0, "server_name")                                                               \
    X(MAX_FRAGMENT_LENGTH, 1, "max_fragment_length")                                               \
    X(STATUS_REQUEST, 5, "status_request")                                                         \
    X(SUPPORTED_GROUPS, 10, "supported_groups")                                                    \
    X(EC_POINT_FORMATS, 11, "ec_point_formats")                                                    \
    X(SIGNATURE_ALGORITHMS, 13, "signature_algorithms")                                            \
    X(USE_SRTP, 14, "use_srtp")                                                                    \
    X(HEARTBEAT, 15, "heartbeat")                                                                  \
    X(ALPN, 16, "application_layer_protocol_negotiation")                                          \
    X(SIGNED_CERTIFICATE_TIMESTAMP, 18, "signed_certificate_timestamp")                            \
    X(CLIENT_CERTIFICATE_TYPE, 19, "client_certificate_type")                                      \
    X(SERVER_CERTIFICATE_TYPE, 20, "server_certificate_type")                                      \
    X(PADDING, 21, "padding")                                                                      \
    X(ENCRYPT_THEN_MAC, 22, "encrypt_then_mac")                                                    \
    X(EXTENDED_MASTER_SECRET, 23, "extended_master_secret")                                        \
    X(RECORD_SIZE_LIMIT, 28, "record_size_limit")                                                  \
    X(SESSION_TICKET, 35, "session_ticket")                                                        \
    X(PRE_SHARED_KEY, 41, "pre_shared_key")                                                        \
    X(EARLY_DATA, 42, "early_data")                                                                \
    X(SUPPORTED_VERSIONS, 43, "supported_versions")                                                \
    X(COOKIE, 44, "cookie")                                                                        \
    X(PSK_KEY_EXCHANGE_MODES, 45, "psk_key_exchange_modes")                                        \
    X(CERTIFICATE_AUTHORITIES, 47, "certificate_authorities")                                      \
    X(OID_FILTERS, 48, "oid_filters")                                                              \
    X(POST_HANDSHAKE_AUTH, 49, "post_handshake_auth")                                              \
    X(SIGNATURE_ALGORITHMS_CERT, 50, "signature_algorithms_cert")                                  \
    X(KEY_SHARE, 51, "key_share")                                                                  \
    X(RENEGOTIATION_INFO, 65281, "renegotiation_info")

#define WIRE__EXT_TYPE_ENUM(name, value, text) WIRE_EXT_##name = value,
enum { WIRE_EXT_TYPES(WIRE__EXT_TYPE_ENUM) };
#undef WIRE__EXT_TYPE_ENUM

/* wire_hs_type_name returns the RFC name of handshake message |type| ("ClientHello", ...),
 * static, or NULL for a type not in WIRE_HS_TYPES. */
const char *wire_hs_type_name(int type);

/* wire_hs_type_from_name returns the type named by |name| (0..255), or
 * TLSRIG_ERR_INVALID_ARGUMENT when nothing has that name. Case, '_', '-' and spaces are
 * ignored ("EncryptedExtensions", "encrypted_extensions", "encrypted-extensions" are one
 * name); a decimal or 0x-prefixed hexadecimal number below 256 names that type. */
int wire_hs_type_from_name(const char *name);

/* wire_ext_type_name returns the RFC name of extension |type| ("key_share", ...), static, or
 * NULL for a type not in WIRE_EXT_TYPES. */
const char *wire_ext_type_name(int type);

/* wire_ext_type_from_name returns the extension type named by |name| (0..65535), or
 * TLSRIG_ERR_INVALID_ARGUMENT. Matching is as for wire_hs_type_from_name; the short names
 * "alpn", "sni", "ems", "etm", "elliptic_curves" (supported_groups' RFC 4492 name) and
 * "sigalgs" are accepted too, and a number below 65536 names that type. */
int wire_ext_type_from_name(const char *name);

/* The random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
extern const uint8_t wire_hs_hrr_random[32];

/* How a field is written. Integers are fixed-size, big-endian; opaque bytes have no length
 * prefix (a fixed-size value such as a random, or the rest of a body); vectors have a length
 * prefix of 1, 2 or 3 bytes (RFC 8446 §3.4). The last three are vectors whose contents the
 * view holds as a list: extensions (2-byte length, each extension a 2-byte type and a
 * 2-byte-length body, RFC 8446 §4.2), TLS 1.2 certificates (3-byte length, each certificate
 * a 3-byte-length cert_data, RFC 5246 §7.4.2) and TLS 1.3 CertificateEntry items (3-byte
 * length, each entry cert_data and an extension list, RFC 8446 §4.4.2). */
typedef enum wire_enc {
    WIRE_ENC_U8 = 1,
    WIRE_ENC_U16 = 2,
    WIRE_ENC_U24 = 3,
    WIRE_ENC_U32 = 4,
    WIRE_ENC_OPAQUE,
    WIRE_ENC_VEC8,
    WIRE_ENC_VEC16,
    WIRE_ENC_VEC24,
    WIRE_ENC_EXTENSIONS,
    WIRE_ENC_CERT_LIST,
    WIRE_ENC_CERT_ENTRIES,
} wire_enc;

/* One extension: its type, its data (owned), and an optional pinned length written instead of
 * data.len. */
typedef struct wire_hs_ext {
    uint16_t type;
    wire_buf data;
    int has_length_override;
    uint32_t length_override;
} wire_hs_ext;

typedef struct wire_hs_field wire_hs_field;

/* An ordered list of fields: a message body, or one certificate entry of a Certificate
 * message. Caller-owned inside a wire_hs_view (entries are owned by their list); read and
 * change it only through the wire_hs_field_* and wire_hs_ext_* functions. */
typedef struct wire_hs_fields {
    wire_hs_field *v;
    size_t n;
    size_t cap;
} wire_hs_fields;

/* One field. |name| is owned. For integers and opaque bytes and vectors |value| holds the
 * bytes without any prefix (an integer as exactly its width in big-endian bytes). For the
 * list encodings the list is in |exts| or |entries| and |value| only caches their encoding
 * for wire_hs_field_get0. A pinned length (has_length_override) is written as the field's
 * length prefix whatever the contents are. */
struct wire_hs_field {
    char *name;
    wire_enc enc;
    wire_buf value;
    int has_length_override;
    uint32_t length_override;
    wire_hs_ext *exts; /* WIRE_ENC_EXTENSIONS */
    size_t n_exts;
    size_t cap_exts;
    wire_hs_fields *entries; /* WIRE_ENC_CERT_LIST, WIRE_ENC_CERT_ENTRIES */
    size_t n_entries;
    size_t cap_entries;
};

/* A parsed handshake message. Caller-owned; the zero value is an empty view, safe to clean
 * up. |type| is the message type written back (a caller may change it); |tls13| the form the
 * body was read in; |raw| is set when the body is held as one opaque field "body" (a type
 * without a structured view, a body that did not parse, or wire_hs_view_parse_raw); |hrr| is
 * set for a ServerHello whose random is wire_hs_hrr_random. |msg| holds the fields. A pinned
 * message length (has_length_override) goes into the 4-byte header wire_hs_view_write makes.
 *
 * The fields each type's view holds, in order (names as in RFC 8446 §4 and RFC 5246 §7.4;
 * "extensions" is WIRE_ENC_EXTENSIONS):
 *   ClientHello          legacy_version u16, random opaque[32], legacy_session_id vec8,
 *                        cipher_suites vec16, legacy_compression_methods vec8, extensions
 *                        (absent when a TLS 1.2 hello ends after the compression methods)
 *   ServerHello (and HelloRetryRequest)  legacy_version u16, random opaque[32],
 *                        legacy_session_id_echo vec8, cipher_suite u16,
 *                        legacy_compression_method u8, extensions (absent as above)
 *   EncryptedExtensions  extensions
 *   Certificate 1.3      certificate_request_context vec8, certificate_list (CERT_ENTRIES:
 *                        each entry cert_data vec24, extensions)
 *   Certificate 1.2      certificate_list (CERT_LIST: each entry cert_data vec24)
 *   CertificateRequest 1.3  certificate_request_context vec8, extensions
 *   CertificateRequest 1.2  certificate_types vec8, supported_signature_algorithms vec16,
 *                        certificate_authorities vec16
 *   CertificateVerify    algorithm u16, signature vec16
 *   Finished             verify_data opaque (the whole body)
 *   NewSessionTicket 1.3 ticket_lifetime u32, ticket_age_add u32, ticket_nonce vec8,
 *                        ticket vec16, extensions
 *   NewSessionTicket 1.2 ticket_lifetime_hint u32, ticket vec16 (RFC 5077 §3.3)
 *   KeyUpdate            request_update u8
 *   HelloRequest         no fields (the body is empty)
 *   any other type       body opaque (raw: ServerKeyExchange, ClientKeyExchange,
 *                        ServerHelloDone, EndOfEarlyData, ...) */
typedef struct wire_hs_view {
    uint8_t type;
    int tls13;
    int raw;
    int hrr;
    wire_hs_fields msg;
    int has_length_override;
    uint32_t length_override;
} wire_hs_view;

/* wire_hs_view_init sets the zero value. wire_hs_view_cleanup frees everything the view owns
 * and leaves the zero value (NULL and the zero value are safe). */
void wire_hs_view_init(wire_hs_view *v);
void wire_hs_view_cleanup(wire_hs_view *v);

/* wire_hs_view_parse reads |len| bytes of |body| (the message body, without its 4-byte
 * header, as wire_hs_next gives it) of message |type| into |v|, replacing what |v| held.
 * |tls13| chooses the TLS 1.3 or 1.2 form where they differ (Certificate, CertificateRequest,
 * NewSessionTicket). The parse checks syntax only (RFC 8446 §3, §4): every length inside the
 * body, the bounds of each vector (e.g. legacy_session_id<0..32>, cipher_suites<2..2^16-2> of
 * 2-byte items, cert_data<1..2^24-1>), fixed sizes, and that nothing follows the last field;
 * values (versions, duplicate extensions, request_update) are not judged. Returns 0;
 * TLSRIG_ERR_INVALID_ARGUMENT for malformed bytes, with |*alert| (may be NULL) set to
 * WIRE_ALERT_DECODE_ERROR (RFC 8446 §6: a message that cannot be parsed, or has a length out
 * of range or past its end) and |v| left empty; TLSRIG_ERR_NOMEM. |body| is copied. */
int wire_hs_view_parse(wire_hs_view *v, uint8_t type, const uint8_t *body, size_t len, int tls13,
                       int *alert);

/* wire_hs_view_parse_raw makes |v| a raw view of the body (one opaque field "body"), whatever
 * the type and bytes: 0 or TLSRIG_ERR_NOMEM. */
int wire_hs_view_parse_raw(wire_hs_view *v, uint8_t type, const uint8_t *body, size_t len,
                           int tls13);

/* wire_hs_view_load is wire_hs_view_parse with the raw fallback, so an edit always has a view:
 * returns 1 for a structured view, 0 for a raw one (the body did not parse; |*alert|, may be
 * NULL, says what a receiver would send), or TLSRIG_ERR_NOMEM. */
int wire_hs_view_load(wire_hs_view *v, uint8_t type, const uint8_t *body, size_t len, int tls13,
                      int *alert);

/* wire_hs_view_write_body appends the body the view describes to |out|: each field in order,
 * every length prefix computed from what follows it unless pinned. Returns 0;
 * TLSRIG_ERR_INVALID_ARGUMENT when a vector's unpinned contents are too long for its prefix;
 * TLSRIG_ERR_NOMEM. On failure |out| is left as it was.
 * wire_hs_view_write appends the whole message: type, 24-bit length (the body's, or the
 * pinned one) and body; same returns. */
int wire_hs_view_write_body(const wire_hs_view *v, wire_buf *out);
int wire_hs_view_write(const wire_hs_view *v, wire_buf *out);

/* wire_hs_view_set_length_override pins the length the message header carries to |len|
 * (< 2^24), or unpins it when |len| is negative. Returns 0 or TLSRIG_ERR_INVALID_ARGUMENT. */
int wire_hs_view_set_length_override(wire_hs_view *v, long len);

/* ---- fields ---- */

/* A field is found by its name: the first one with that name (wire_hs_field_insert may add a
 * second one on purpose). Every function taking a wire_hs_fields returns
 * TLSRIG_ERR_INVALID_ARGUMENT when it or |name| is NULL. */

/* wire_hs_field_count returns the number of fields (0 for NULL). wire_hs_field_index returns
 * the index of the field named |name|, or TLSRIG_ERR_NOT_AVAILABLE. wire_hs_field_get0_at
 * returns field |i|, borrowed until the list changes, or NULL when |i| is out of range. */
size_t wire_hs_field_count(const wire_hs_fields *f);
long wire_hs_field_index(const wire_hs_fields *f, const char *name);
const wire_hs_field *wire_hs_field_get0_at(const wire_hs_fields *f, size_t i);

/* wire_hs_field_get0 sets |*data| and |*len| to the value of the field |name| without its
 * length prefix (for a list field: the list's encoding, as it would be written), borrowed
 * until |f| changes. Returns 0, TLSRIG_ERR_NOT_AVAILABLE (no such field), TLSRIG_ERR_NOMEM or
 * TLSRIG_ERR_INVALID_ARGUMENT (a list that cannot be written). */
int wire_hs_field_get0(wire_hs_fields *f, const char *name, const uint8_t **data, size_t *len);

/* wire_hs_field_get_int sets |*value| from an integer field. Returns 0,
 * TLSRIG_ERR_NOT_AVAILABLE, or TLSRIG_ERR_INVALID_ARGUMENT for a field that is not an
 * integer. */
int wire_hs_field_get_int(const wire_hs_fields *f, const char *name, uint64_t *value);

/* wire_hs_field_set1 copies |len| bytes into the field |name|. An integer field takes exactly
 * its width in big-endian bytes; an extension or certificate list field takes the encoding of
 * a list (without the outer prefix) and is read into its list. A pinned length stays pinned.
 * Returns 0, TLSRIG_ERR_NOT_AVAILABLE, TLSRIG_ERR_INVALID_ARGUMENT (wrong width, a list that
 * does not parse), TLSRIG_ERR_NOMEM. */
int wire_hs_field_set1(wire_hs_fields *f, const char *name, const uint8_t *data, size_t len);

/* wire_hs_field_set_int sets an integer field to |value|. Returns 0, TLSRIG_ERR_NOT_AVAILABLE,
 * or TLSRIG_ERR_INVALID_ARGUMENT (not an integer field, or |value| wider than it). */
int wire_hs_field_set_int(wire_hs_fields *f, const char *name, uint64_t value);

/* wire_hs_field_remove drops the field |name| (its bytes are left out when written: a way to
 * make a malformed message). Returns 0 or TLSRIG_ERR_NOT_AVAILABLE. */
int wire_hs_field_remove(wire_hs_fields *f, const char *name);

/* wire_hs_field_insert adds a field |name| with encoding |enc| before index |index| (negative
 * or past the end: at the end), its value |len| bytes of |data| as wire_hs_field_set1 takes
 * them (a list encoding given no bytes is an empty list, an integer given no bytes is 0). Names
 * need not be unique.
 * Returns the new field's index, TLSRIG_ERR_INVALID_ARGUMENT (empty name, unknown |enc|, a
 * value as set1 refuses) or TLSRIG_ERR_NOMEM. */
long wire_hs_field_insert(wire_hs_fields *f, long index, const char *name, wire_enc enc,
                          const uint8_t *data, size_t len);

/* wire_hs_field_set_length_override pins the length prefix of the vector or list field |name|
 * to |len|, written whatever the contents are; a negative |len| unpins it. Returns 0,
 * TLSRIG_ERR_NOT_AVAILABLE, or TLSRIG_ERR_INVALID_ARGUMENT (a field without a length prefix,
 * or |len| too wide for the prefix). The extension block's length is the "extensions"
 * field's. */
int wire_hs_field_set_length_override(wire_hs_fields *f, const char *name, long len);

/* ---- extensions ---- */

/* These work on the first WIRE_ENC_EXTENSIONS field of |f| (the message's, or an entry's).
 * Indexes count from 0 in wire order. Duplicates are allowed (RFC 8446 §4.2 forbids them on
 * the wire; a rig must be able to send them). Functions return TLSRIG_ERR_INVALID_ARGUMENT
 * for a NULL list or an index out of range. */

/* wire_hs_ext_count returns the number of extensions (0 when there is no extension list). */
size_t wire_hs_ext_count(const wire_hs_fields *f);

/* wire_hs_ext_find returns the index of the first extension of |type| at or after |from|, or
 * TLSRIG_ERR_NOT_AVAILABLE. */
long wire_hs_ext_find(const wire_hs_fields *f, uint16_t type, size_t from);

/* wire_hs_ext_get0_at sets |*type| (may be NULL), |*data| and |*len| for extension |i|, data
 * borrowed until the list changes: 0 or TLSRIG_ERR_INVALID_ARGUMENT. wire_hs_ext_get0 does
 * the same for the first extension of |type|: 0 or TLSRIG_ERR_NOT_AVAILABLE. */
int wire_hs_ext_get0_at(const wire_hs_fields *f, size_t i, uint16_t *type, const uint8_t **data,
                        size_t *len);
int wire_hs_ext_get0(const wire_hs_fields *f, uint16_t type, const uint8_t **data, size_t *len);

/* wire_hs_ext_set1 copies |len| bytes of |data| into the first extension of |type|, or adds
 * one at the end when there is none (and an extension list at the end of |f| when it has
 * none). Returns the extension's index, TLSRIG_ERR_INVALID_ARGUMENT (|len| > 65535) or
 * TLSRIG_ERR_NOMEM. wire_hs_ext_set1_at replaces type and data of extension |i|: 0 or an
 * error. A pinned length stays pinned. */
long wire_hs_ext_set1(wire_hs_fields *f, uint16_t type, const uint8_t *data, size_t len);
int wire_hs_ext_set1_at(wire_hs_fields *f, size_t i, uint16_t type, const uint8_t *data,
                        size_t len);

/* wire_hs_ext_insert adds an extension (even a duplicate) before index |index| (negative or
 * past the end: at the end), making an extension list at the end of |f| when it has none.
 * Returns its index, TLSRIG_ERR_INVALID_ARGUMENT (|len| > 65535) or TLSRIG_ERR_NOMEM. */
long wire_hs_ext_insert(wire_hs_fields *f, long index, uint16_t type, const uint8_t *data,
                        size_t len);

/* wire_hs_ext_remove drops every extension of |type| and returns how many it dropped (0 when
 * none; negative only for TLSRIG_ERR_INVALID_ARGUMENT). wire_hs_ext_remove_at drops extension
 * |i|: 0 or an error. The extension list itself stays (empty: a 2-byte zero length); remove
 * the "extensions" field to leave the block out. */
long wire_hs_ext_remove(wire_hs_fields *f, uint16_t type);
int wire_hs_ext_remove_at(wire_hs_fields *f, size_t i);

/* wire_hs_ext_move moves extension |from| so that it ends at index |to| (both < count): 0 or
 * TLSRIG_ERR_INVALID_ARGUMENT. */
int wire_hs_ext_move(wire_hs_fields *f, size_t from, size_t to);

/* wire_hs_ext_set_length_override pins the 2-byte length written for extension |i| to |len|
 * (0..65535), or unpins it when |len| is negative: 0 or TLSRIG_ERR_INVALID_ARGUMENT. */
int wire_hs_ext_set_length_override(wire_hs_fields *f, size_t i, long len);

/* ---- certificate entries (Certificate, RFC 8446 §4.4.2, RFC 5246 §7.4.2) ---- */

/* Entries are the items of the view's first certificate list field ("certificate_list"):
 * each is a wire_hs_fields with "cert_data" (vec24) and, in the TLS 1.3 form, "extensions",
 * so the field and extension functions work on it. */

/* wire_hs_view_entry_count returns the number of entries (0 without a certificate list).
 * wire_hs_view_get0_entry returns entry |i|, borrowed until the entries change, or NULL. */
size_t wire_hs_view_entry_count(const wire_hs_view *v);
wire_hs_fields *wire_hs_view_get0_entry(wire_hs_view *v, size_t i);

/* wire_hs_view_insert_entry adds an entry before |index| (negative or past the end: at the
 * end) with a copy of |cert_data| and, when the list is the TLS 1.3 form, an empty extension
 * list. Returns its index, TLSRIG_ERR_INVALID_ARGUMENT (no certificate list in |v|) or
 * TLSRIG_ERR_NOMEM. wire_hs_view_set1_entry replaces entry |i|'s cert_data (its extensions
 * stay); wire_hs_view_remove_entry drops entry |i|. Both return 0 or an error. */
long wire_hs_view_insert_entry(wire_hs_view *v, long index, const uint8_t *cert_data, size_t len);
int wire_hs_view_set1_entry(wire_hs_view *v, size_t i, const uint8_t *cert_data, size_t len);
int wire_hs_view_remove_entry(wire_hs_view *v, size_t i);

/* ---- the man in the middle ---- */

/* A wire_mitm sits in a pump as its filter (opts.filter = wire_mitm_filter, opts.filter_arg =
 * the mitm). It frames each side's records, decrypts protected ones with keys derived from
 * the secrets that side logged (wire_mitm_keylog), reassembles handshake messages, hands
 * every message (or alert, application data, ChangeCipherSpec) to an edit function, and
 * re-protects what it forwards with the receiver's keys: the receiver's own secrets once it
 * has logged them, else the sender's while no edit has changed the handshake (both sides
 * then hold the same secrets), else the output waits until the receiver logs them. It
 * follows the key epochs from the messages themselves: TLS 1.3 early, handshake and
 * application keys and KeyUpdate (RFC 8446 §7.2, §7.3), TLS 1.2 and below ChangeCipherSpec,
 * including renegotiation. A record it cannot decrypt (no secret logged, a suite it does not
 * know) passes unchanged and is counted. It needs the record protection above. */
typedef struct wire_mitm wire_mitm;

/* What an edit function gets: one unit in flight. |data| holds a whole handshake message
 * (4-byte header included) or a record's content (alert, application data, CCS); the
 * function may change it in place. */
typedef struct wire_mitm_msg {
    int from;         /* WIRE_CLIENT or WIRE_SERVER: who sent it */
    uint8_t type;     /* content type (WIRE_CT_*) */
    int protected;    /* it arrived under record protection */
    int epoch;        /* the sender's key epoch: 0 in the clear, one more at each key change */
    uint16_t version; /* the negotiated version, 0 before the ServerHello */
    wire_buf *data;
    /* How the unit goes on, which the edit function may set (0: as it came / as usual). */
    uint8_t out_type;     /* the content type (TLS 1.3: the inner one) */
    uint16_t out_version; /* the record version: unprotected records, and TLS <= 1.2 */
    size_t out_fragment;  /* its records carry at most this many bytes each */
    size_t out_padding;   /* TLS 1.3 zero padding; CBC: more padding (whole blocks) */
} wire_mitm_msg;

/* Edit results. */
enum { WIRE_MITM_FORWARD = 0, WIRE_MITM_DROP = 1 };

/* An edit function returns WIRE_MITM_FORWARD (send msg->data as it now is), WIRE_MITM_DROP,
 * or a negative value to stop the pump. It may call wire_mitm_send to put more units on the
 * wire, in the same direction, ahead of this one. */
typedef int (*wire_mitm_edit_fn)(void *arg, wire_mitm *m, wire_mitm_msg *msg);

/* Counts per direction (index WIRE_CLIENT / WIRE_SERVER: records from that side). */
typedef struct wire_mitm_stats {
    uint64_t records[2];       /* records taken in */
    uint64_t decrypted[2];     /* protected records opened */
    uint64_t undecryptable[2]; /* protected records passed unchanged (no keys, or a bad tag) */
    uint64_t reprotected[2];   /* records written under protection */
    uint64_t edited[2];        /* units an edit function changed, dropped or added */
} wire_mitm_stats;

/* wire_mitm_new returns 0 and a middle in *out (free with wire_mitm_free, NULL-safe), or
 * TLSRIG_ERR_NOMEM. */
int wire_mitm_new(wire_mitm **out);
void wire_mitm_free(wire_mitm *m);

/* wire_mitm_set_edit sets the edit function (NULL: forward everything unchanged). */
void wire_mitm_set_edit(wire_mitm *m, wire_mitm_edit_fn fn, void *arg);

/* wire_mitm_set_fixup turns the Finished fix-up on or off (off by default). On, once an edit
 * changed the handshake, each Finished is recomputed on its way over what its receiver sent
 * and received, with the receiver's own secrets (RFC 8446 §4.4.4, RFC 5246 §7.4.9), so the
 * handshake completes with each side on its own key schedule and what follows it can be
 * exercised. A Finished waits until its receiver has logged the secret it needs. A
 * HelloRetryRequest's transcript (the first ClientHello as a synthetic message_hash, RFC
 * 8446 §4.4.1) is followed; post-handshake authentication's Finished is not recomputed. In a full
 * TLS 1.3 handshake the CertificateVerify signs the transcript too: give the middle the sender's
 * private key (wire_mitm_set1_signer) and it signs that again as well; without it an edit before
 * the CertificateVerify leaves it failing. */
void wire_mitm_set_fixup(wire_mitm *m, int on);

/* wire_mitm_set0_conn tells the middle |side|'s engine connection (borrowed: it must outlive
 * the middle's use, or be told again as NULL). In TLS <= 1.2 OpenSSL logs a master secret only
 * as it writes its own Finished, after it has read the peer's; when an edit keeps the middle
 * from using the sender's secret for the receiver, it reads the receiver's from its
 * connection instead of waiting for the log (which would wait for itself). */
void wire_mitm_set0_conn(wire_mitm *m, int side, tlsrig_conn *conn);

/* wire_mitm_set1_signer gives the middle |side|'s private key (a new reference; NULL removes
 * it), with which, under fix-up, it signs that side's TLS 1.3 CertificateVerify again over
 * what its receiver saw (RFC 8446 §4.4.3). ECDSA and RSA-PSS signatures draw randomness from
 * the default library context, so such a run is not byte-for-byte repeatable; Ed25519 is.
 * Returns 0 or TLSRIG_ERR_SSL. */
int wire_mitm_set1_signer(wire_mitm *m, int side, EVP_PKEY *key);

/* wire_mitm_keylog takes one key log line that |side|'s endpoint logged (an engine
 * context's keylog callback passes it on). Returns 0, or TLSRIG_ERR_INVALID_ARGUMENT for a
 * malformed line, TLSRIG_ERR_NOMEM. */
int wire_mitm_keylog(wire_mitm *m, int side, const char *line, size_t len);

/* wire_mitm_send puts one more unit (|type|, |len| bytes: a whole handshake message, an
 * alert, application data) on the wire from |from|, protected as the current epoch
 * requires. Called from an edit function it goes ahead of the unit being edited; called
 * between moves it goes out at the next move from |from|. Returns 0 or a negative
 * tlsrig_err. */
int wire_mitm_send(wire_mitm *m, int from, uint8_t type, const void *data, size_t len);

/* wire_mitm_filter is the pump filter (wire_filter_fn) that runs the middle: |arg| is the
 * wire_mitm. */
int wire_mitm_filter(void *arg, int from, const uint8_t *rec, size_t len, wire_buf *out);

/* wire_mitm_get0_stats returns the counts, borrowed. */
const wire_mitm_stats *wire_mitm_get0_stats(const wire_mitm *m);

#endif
