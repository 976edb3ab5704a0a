/*
 * tlsrig.h - the tlsrig engine: pyOpenSSL's OpenSSL.SSL Context/Connection API in C.
 *
 * Conventions (apply to every declaration below unless its comment says otherwise):
 *
 *  - Every function that can fail returns an int: a value >= 0 on success (0, a count or a
 *    boolean 0/1 as the comment says) or a negative tlsrig_err code. A value is never both.
 *  - After a failing call on a context or a connection, tlsrig_ctx_last_error() /
 *    tlsrig_conn_last_error() describe it (code, errno, message, OpenSSL's error queue as
 *    (lib, func, reason) strings). The record is cleared at the start of the next call on
 *    the same object that can fail.
 *  - Ownership is in the name, as in BoringSSL: get0 borrows (valid while the owner lives and
 *    is not changed), get1 returns a new reference the caller frees, set0 takes ownership,
 *    set1 copies or takes its own reference. Every _free accepts NULL.
 *  - X509, EVP_PKEY, X509_NAME and X509_STORE are OpenSSL's own types, used directly.
 *  - Functions whose names end in a pyOpenSSL method name have that method's semantics; the
 *    comments only note where C forces a difference.
 *  - Threads: see the section below. In short, a connection belongs to one thread at a time,
 *    a configured context may serve connections on many, reference counts are atomic, and
 *    deterministic mode and the virtual clock are process-wide.
 *
 * Threads
 *
 * The engine takes no locks of its own; on top of OpenSSL's rules (an SSL_CTX may serve SSL
 * objects on several threads, an SSL object is used by one thread at a time) these hold:
 *
 *  - A connection is used by one thread at a time: a call on it (getters included, and the
 *    callbacks OpenSSL runs inside that call) must return before another thread calls into
 *    it. It may move to another thread, handed over with the caller's own synchronisation
 *    (a mutex, a queue, a thread join).
 *  - A context may serve connections that run on several threads at once, once it is
 *    configured. Every call that changes it (tlsrig_ctx_set_*, _use_*, _load_*, _add_*, the
 *    callback setters, options, modes, versions, set_app_data) must not overlap with any use of
 *    the context or of its connections on another thread: configure it first, then share it.
 *    Callbacks set on a shared context run on whichever thread drives the connection, possibly
 *    on several threads at once, so they and what their |arg| points to must be thread-safe.
 *    The session cache and ticket keys live in the SSL_CTX, which OpenSSL locks.
 *  - tlsrig_conn_new and tlsrig_conn_accept (which calls it) record failures in their
 *    context's error record, so calls that create connections on one context must not overlap:
 *    create them on one thread, or under a lock, and hand each one to the thread that drives
 *    it. tlsrig_ctx_last_error reads that record and has the same rule.
 *  - Reference counts are atomic: tlsrig_ctx_up_ref / tlsrig_ctx_free,
 *    tlsrig_session_up_ref / tlsrig_session_free, tlsrig_det_free, and the references that
 *    connections take and drop on their contexts, may run on any threads at once, each
 *    thread dropping only references it holds. Whichever thread drops the last one frees the
 *    object. The engine does not change a session once made, so connections on several
 *    threads may offer the same one (tlsrig_conn_set_session), each thread holding a reference
 *    or all of them under one that outlives them. OpenSSL does change it in one case: a
 *    connection freed before its shutdown completed marks its session not resumable
 *    (tlsrig_conn_free), for every thread; close cleanly to keep a shared session usable.
 *  - The virtual clock is process-wide, and may be set, advanced, stopped and read from any
 *    thread at any time. The engine provides time() for the whole process, so while the clock
 *    is on every time() call on every thread reads it: OpenSSL on all threads, and whatever
 *    else the program does with time() (log stamps, timeouts). A reader never sees a torn
 *    value: it gets the clock as it was before or after a concurrent set or advance, and once
 *    it has seen the clock on, never a value older than the one it was set to. A connection on
 *    another thread sees a change at its next time() read, which may fall in the middle of a
 *    handshake. gettimeofday() and clock_gettime() keep real time.
 *  - tlsrig_deterministic, tlsrig_deterministic_off and tlsrig_det_default swap or read the
 *    process-wide default source without a lock: call them while no other thread creates a
 *    context with tlsrig_ctx_new or tlsrig_ctx_new_default_* (usually from the thread that
 *    sets up a run). tlsrig_det_reseed must not run while a context on that source is in use
 *    on another thread.
 *  - Same seed, same bytes holds per thread: a deterministic source numbers the generators of
 *    each thread in the order threads first draw from it, so contexts driven from several
 *    threads draw bytes that depend on scheduling. For reproducible bytes, run all the
 *    contexts and connections of one deterministic source on one thread.
 */
#ifndef TLSRIG_H
#define TLSRIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TLSRIG_MUST_CHECK __attribute__((warn_unused_result))
#else
#define TLSRIG_MUST_CHECK
#endif

/* ------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------ */

/* TLSRIG_ERRORS is the one list of error codes: X(NAME, value, message). */
#define TLSRIG_ERRORS(X)                                                                           \
    X(OK, 0, "success")                                                                            \
    X(WANT_READ, -1, "the operation needs more bytes from the peer (want read)")                   \
    X(WANT_WRITE, -2, "the operation needs the outgoing buffer drained (want write)")              \
    X(WANT_X509_LOOKUP, -3, "the operation waits for a client certificate callback")               \
    X(ZERO_RETURN, -4, "the peer closed the TLS connection cleanly (close_notify received)")       \
    X(SYSCALL, -5, "the transport failed or ended without close_notify (see errno/message)")       \
    X(SSL, -6, "the TLS library reported a protocol or configuration error (see its queue)")       \
    X(INVALID_ARGUMENT, -7, "invalid argument")                                                    \
    X(UNSUPPORTED, -8, "not supported by tlsrig or by the linked OpenSSL")                         \
    X(NOMEM, -9, "out of memory")                                                                  \
    X(CALLBACK, -10, "a user callback failed")                                                     \
    X(NOT_AVAILABLE, -11, "the value is not available in the connection's current state")

typedef enum tlsrig_err {
#define TLSRIG__ERR_ENUM(name, value, msg) TLSRIG_ERR_##name = value,
    TLSRIG_ERRORS(TLSRIG__ERR_ENUM)
#undef TLSRIG__ERR_ENUM
} tlsrig_err;

/* tlsrig_err_name returns the constant's name without prefix ("WANT_READ") for |err|, or
 * "UNKNOWN" for a value that is not a tlsrig_err. The string is static. */
const char *tlsrig_err_name(int err);

/* tlsrig_err_message returns a static one-line description of |err|. */
const char *tlsrig_err_message(int err);

/* One entry of OpenSSL's error queue as captured at a failing call. The strings are copies
 * owned by the tlsrig_error that holds them; |func| may be empty when OpenSSL has none. */
typedef struct tlsrig_ssl_error {
    unsigned long code;
    char lib[48];
    char func[64];
    char reason[128];
} tlsrig_ssl_error;

#define TLSRIG_MAX_SSL_ERRORS 16

/* The description of the last failing call on a context or a connection. */
typedef struct tlsrig_error {
    int code;          /* a tlsrig_err, TLSRIG_ERR_OK when the last call succeeded */
    int sys_errno;     /* errno for TLSRIG_ERR_SYSCALL, -1 for an unexpected EOF, else 0 */
    char message[256]; /* what failed and why, e.g. "bio_read: unexpected EOF" */
    size_t n_ssl;      /* number of valid entries in |ssl| (the queue is cut at 16) */
    tlsrig_ssl_error ssl[TLSRIG_MAX_SSL_ERRORS];
} tlsrig_error;

/* ------------------------------------------------------------------------------------------
 * Module-level constants (pyOpenSSL's OpenSSL.SSL module attributes)
 * ------------------------------------------------------------------------------------------ */

/* Method constants, with pyOpenSSL's numeric values. The version-specific ones create a
 * flexible TLS method pinned to that single version, as pyOpenSSL does. A method the linked
 * OpenSSL lacks (SSLv2 always; SSLv3 when built without it) makes tlsrig_ctx_new fail with
 * TLSRIG_ERR_UNSUPPORTED and a message naming the method. */
enum {
    TLSRIG_SSLV2_METHOD = 1,
    TLSRIG_SSLV3_METHOD = 2,
    TLSRIG_SSLV23_METHOD = 3,
    TLSRIG_TLSV1_METHOD = 4,
    TLSRIG_TLSV1_1_METHOD = 5,
    TLSRIG_TLSV1_2_METHOD = 6,
    TLSRIG_TLS_METHOD = 7,
    TLSRIG_TLS_SERVER_METHOD = 8,
    TLSRIG_TLS_CLIENT_METHOD = 9,
};

/* Protocol versions for the version bounds (Python ssl's TLSVersion). 0 means "no bound". */
#define TLSRIG_VERSION_SSL3 SSL3_VERSION
#define TLSRIG_VERSION_TLS1 TLS1_VERSION
#define TLSRIG_VERSION_TLS1_1 TLS1_1_VERSION
#define TLSRIG_VERSION_TLS1_2 TLS1_2_VERSION
#define TLSRIG_VERSION_TLS1_3 TLS1_3_VERSION

#define TLSRIG_VERIFY_NONE SSL_VERIFY_NONE
#define TLSRIG_VERIFY_PEER SSL_VERIFY_PEER
#define TLSRIG_VERIFY_FAIL_IF_NO_PEER_CERT SSL_VERIFY_FAIL_IF_NO_PEER_CERT
#define TLSRIG_VERIFY_CLIENT_ONCE SSL_VERIFY_CLIENT_ONCE
#define TLSRIG_VERIFY_POST_HANDSHAKE SSL_VERIFY_POST_HANDSHAKE

#define TLSRIG_FILETYPE_PEM SSL_FILETYPE_PEM
#define TLSRIG_FILETYPE_ASN1 SSL_FILETYPE_ASN1

#define TLSRIG_OP_ALL SSL_OP_ALL
#define TLSRIG_OP_NO_SSLv2 SSL_OP_NO_SSLv2
#define TLSRIG_OP_NO_SSLv3 SSL_OP_NO_SSLv3
#define TLSRIG_OP_NO_TLSv1 SSL_OP_NO_TLSv1
#define TLSRIG_OP_NO_TLSv1_1 SSL_OP_NO_TLSv1_1
#define TLSRIG_OP_NO_TLSv1_2 SSL_OP_NO_TLSv1_2
#define TLSRIG_OP_NO_TLSv1_3 SSL_OP_NO_TLSv1_3
#define TLSRIG_OP_NO_COMPRESSION SSL_OP_NO_COMPRESSION
#define TLSRIG_OP_NO_TICKET SSL_OP_NO_TICKET
#define TLSRIG_OP_NO_RENEGOTIATION SSL_OP_NO_RENEGOTIATION
/* OpenSSL 3 servers refuse client-initiated renegotiation unless this is set. */
#define TLSRIG_OP_ALLOW_CLIENT_RENEGOTIATION SSL_OP_ALLOW_CLIENT_RENEGOTIATION
#define TLSRIG_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION
#define TLSRIG_OP_LEGACY_SERVER_CONNECT SSL_OP_LEGACY_SERVER_CONNECT
#define TLSRIG_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION                                           \
    SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION
#define TLSRIG_OP_CIPHER_SERVER_PREFERENCE SSL_OP_CIPHER_SERVER_PREFERENCE
#define TLSRIG_OP_SINGLE_DH_USE SSL_OP_SINGLE_DH_USE
#define TLSRIG_OP_SINGLE_ECDH_USE SSL_OP_SINGLE_ECDH_USE
#define TLSRIG_OP_EPHEMERAL_RSA 0 /* gone from OpenSSL; kept as 0 like pyOpenSSL */
#define TLSRIG_OP_TLS_ROLLBACK_BUG SSL_OP_TLS_ROLLBACK_BUG
#define TLSRIG_OP_DONT_INSERT_EMPTY_FRAGMENTS SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS
#define TLSRIG_OP_NO_QUERY_MTU SSL_OP_NO_QUERY_MTU
#define TLSRIG_OP_COOKIE_EXCHANGE SSL_OP_COOKIE_EXCHANGE
#define TLSRIG_OP_ENABLE_MIDDLEBOX_COMPAT SSL_OP_ENABLE_MIDDLEBOX_COMPAT
#define TLSRIG_OP_PRIORITIZE_CHACHA SSL_OP_PRIORITIZE_CHACHA
#define TLSRIG_OP_IGNORE_UNEXPECTED_EOF SSL_OP_IGNORE_UNEXPECTED_EOF
#define TLSRIG_OP_NO_ANTI_REPLAY SSL_OP_NO_ANTI_REPLAY
#define TLSRIG_OP_NO_ENCRYPT_THEN_MAC SSL_OP_NO_ENCRYPT_THEN_MAC
#define TLSRIG_OP_NO_EXTENDED_MASTER_SECRET SSL_OP_NO_EXTENDED_MASTER_SECRET
#define TLSRIG_OP_ENABLE_KTLS SSL_OP_ENABLE_KTLS

#define TLSRIG_MODE_ENABLE_PARTIAL_WRITE SSL_MODE_ENABLE_PARTIAL_WRITE
#define TLSRIG_MODE_ACCEPT_MOVING_WRITE_BUFFER SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
#define TLSRIG_MODE_AUTO_RETRY SSL_MODE_AUTO_RETRY
#define TLSRIG_MODE_RELEASE_BUFFERS SSL_MODE_RELEASE_BUFFERS
#define TLSRIG_MODE_NO_AUTO_CHAIN SSL_MODE_NO_AUTO_CHAIN
#define TLSRIG_MODE_SEND_FALLBACK_SCSV SSL_MODE_SEND_FALLBACK_SCSV

#define TLSRIG_SESS_CACHE_OFF SSL_SESS_CACHE_OFF
#define TLSRIG_SESS_CACHE_CLIENT SSL_SESS_CACHE_CLIENT
#define TLSRIG_SESS_CACHE_SERVER SSL_SESS_CACHE_SERVER
#define TLSRIG_SESS_CACHE_BOTH SSL_SESS_CACHE_BOTH
#define TLSRIG_SESS_CACHE_NO_AUTO_CLEAR SSL_SESS_CACHE_NO_AUTO_CLEAR
#define TLSRIG_SESS_CACHE_NO_INTERNAL_LOOKUP SSL_SESS_CACHE_NO_INTERNAL_LOOKUP
#define TLSRIG_SESS_CACHE_NO_INTERNAL_STORE SSL_SESS_CACHE_NO_INTERNAL_STORE
#define TLSRIG_SESS_CACHE_NO_INTERNAL SSL_SESS_CACHE_NO_INTERNAL

#define TLSRIG_SENT_SHUTDOWN SSL_SENT_SHUTDOWN
#define TLSRIG_RECEIVED_SHUTDOWN SSL_RECEIVED_SHUTDOWN

/* Info-callback |where| bits (SSL_CB_*). */
#define TLSRIG_CB_LOOP SSL_CB_LOOP
#define TLSRIG_CB_EXIT SSL_CB_EXIT
#define TLSRIG_CB_READ SSL_CB_READ
#define TLSRIG_CB_WRITE SSL_CB_WRITE
#define TLSRIG_CB_ALERT SSL_CB_ALERT
#define TLSRIG_CB_HANDSHAKE_START SSL_CB_HANDSHAKE_START
#define TLSRIG_CB_HANDSHAKE_DONE SSL_CB_HANDSHAKE_DONE
#define TLSRIG_CB_CONNECT_LOOP SSL_CB_CONNECT_LOOP
#define TLSRIG_CB_ACCEPT_LOOP SSL_CB_ACCEPT_LOOP

/* recv/read flags: only MSG_PEEK has a meaning, as in pyOpenSSL. */
#define TLSRIG_MSG_PEEK 0x2

/* SSLeay_version types, for tlsrig_ssleay_version(). */
#define TLSRIG_SSLEAY_VERSION OPENSSL_VERSION
#define TLSRIG_SSLEAY_CFLAGS OPENSSL_CFLAGS
#define TLSRIG_SSLEAY_BUILT_ON OPENSSL_BUILT_ON
#define TLSRIG_SSLEAY_PLATFORM OPENSSL_PLATFORM
#define TLSRIG_SSLEAY_DIR OPENSSL_DIR

/* tlsrig_ssleay_version returns OpenSSL's static description string for |type| (one of
 * TLSRIG_SSLEAY_*), or "not available" for any other value. */
const char *tlsrig_ssleay_version(int type);

/* tlsrig_openssl_version_number returns the linked OpenSSL's OPENSSL_VERSION_NUMBER. */
unsigned long tlsrig_openssl_version_number(void);

/* ------------------------------------------------------------------------------------------
 * Small value types
 * ------------------------------------------------------------------------------------------ */

/* A borrowed byte string (a protocol name for ALPN/NPN, a label, ...). */
typedef struct tlsrig_bytes {
    const uint8_t *data;
    size_t len;
} tlsrig_bytes;

typedef struct tlsrig_ctx tlsrig_ctx;
typedef struct tlsrig_conn tlsrig_conn;
typedef struct tlsrig_session tlsrig_session;
typedef struct tlsrig_det tlsrig_det;

/* ------------------------------------------------------------------------------------------
 * Deterministic mode and the virtual clock
 * ------------------------------------------------------------------------------------------ */

/* The virtual clock starts here (2026-01-01T00:00:00Z) when deterministic mode is switched on. */
#define TLSRIG_CLOCK_EPOCH ((int64_t)1767225600)

/* tlsrig_det_new creates a deterministic source: its own OpenSSL library context whose DRBGs
 * are a seeded generator, so contexts created on it with tlsrig_ctx_new_ex draw every random
 * byte (randoms, key shares, signature nonces, session ids, ticket keys) from |seed| in call
 * order. Returns 0 and sets |*out| (free with tlsrig_det_free), or TLSRIG_ERR_SSL/NOMEM.
 * Contexts keep their own reference, so the det may be freed before them. */
TLSRIG_MUST_CHECK int tlsrig_det_new(uint64_t seed, tlsrig_det **out);

/* tlsrig_det_free drops the caller's reference. NULL is allowed. */
void tlsrig_det_free(tlsrig_det *det);

/* tlsrig_det_reseed restarts |det|'s generator from |seed| in place: what contexts on it draw
 * from now on is what they would draw from a new det with that seed (on the thread that
 * created it). It costs microseconds where tlsrig_det_new costs milliseconds, so a fuzz
 * target can restart per input while keeping its contexts. Returns 0 or TLSRIG_ERR_SSL.
 * State that OpenSSL keeps outside the generator is not restarted: an RSA key's blinding
 * factor is drawn on first use and redrawn every 32 private-key operations, so a key that
 * signed before the reseed draws differently after it. For byte-identical RSA signatures
 * across reseeds, load the key into a fresh context (or use ECDSA/EdDSA keys). */
TLSRIG_MUST_CHECK int tlsrig_det_reseed(tlsrig_det *det, uint64_t seed);

/* tlsrig_det_default returns the source installed by tlsrig_deterministic (borrowed), or
 * NULL when deterministic mode is off. */
tlsrig_det *tlsrig_det_default(void);

/* tlsrig_deterministic switches the process into deterministic mode: it installs a fresh
 * tlsrig_det seeded with |seed| as the default for every later tlsrig_ctx_new, and starts the
 * virtual clock at TLSRIG_CLOCK_EPOCH. Calling it again with the same seed restarts both, so
 * the same sequence of calls produces byte-identical wire bytes. Returns 0 or a tlsrig_err. */
TLSRIG_MUST_CHECK int tlsrig_deterministic(uint64_t seed);

/* tlsrig_deterministic_off returns to the system RNG for new contexts and the real clock.
 * Contexts already created keep their deterministic source. */
void tlsrig_deterministic_off(void);

/* The virtual clock. While it is on, every time() OpenSSL reads (session timestamps and
 * timeouts, TLS 1.3 ticket ages, certificate validity checks) returns it, so a test can expire
 * sessions and certificates without sleeping. It is process-wide. tlsrig_clock_set(t) turns
 * it on at |t| seconds since the epoch; tlsrig_clock_advance adds |seconds| (may be negative;
 * TLSRIG_ERR_UNSUPPORTED when the clock is real); tlsrig_clock_real turns it off;
 * tlsrig_clock_now reads whichever clock is in force; tlsrig_clock_is_virtual says which. */
void tlsrig_clock_set(int64_t t);
TLSRIG_MUST_CHECK int tlsrig_clock_advance(int64_t seconds);
void tlsrig_clock_real(void);
int64_t tlsrig_clock_now(void);
int tlsrig_clock_is_virtual(void);

/* ------------------------------------------------------------------------------------------
 * Certificates and keys (helpers; pyOpenSSL has these in OpenSSL.crypto)
 * ------------------------------------------------------------------------------------------ */

/* tlsrig_x509_load_file reads one certificate from |path| (FILETYPE_PEM or FILETYPE_ASN1).
 * Returns 0 and a new reference in |*out| (X509_free it), or TLSRIG_ERR_SYSCALL (file cannot
 * be opened), TLSRIG_ERR_SSL (not a certificate), TLSRIG_ERR_INVALID_ARGUMENT. |err|, when not
 * NULL, receives the description. */
TLSRIG_MUST_CHECK int tlsrig_x509_load_file(const char *path, int filetype, X509 **out,
                                            tlsrig_error *err);

/* tlsrig_pkey_load_file reads a private key from |path|; |password| (may be NULL) decrypts an
 * encrypted PEM key. Returns as tlsrig_x509_load_file; a wrong password is TLSRIG_ERR_SSL. */
TLSRIG_MUST_CHECK int tlsrig_pkey_load_file(const char *path, int filetype, const char *password,
                                            EVP_PKEY **out, tlsrig_error *err);

/* ------------------------------------------------------------------------------------------
 * Callbacks
 *
 * A callback returning a negative value "raises": the handshake is aborted the way OpenSSL
 * allows at that point (usually a fatal alert), and the call that ran the callback
 * (do_handshake, read, write, ...) returns TLSRIG_ERR_CALLBACK with a message naming the
 * callback, even when OpenSSL itself reported something else.
 * ------------------------------------------------------------------------------------------ */

/* Password callback (set_passwd_cb): write at most |size| bytes of password into |buf| and
 * return its length; |rwflag| is 1 when the password is for writing (encrypting). Return a
 * negative value to fail; a password longer than |size| is a failure. */
typedef int (*tlsrig_passwd_cb)(char *buf, int size, int rwflag, void *arg);

/* Verify callback (set_verify): called for each certificate of the peer's chain with the
 * result OpenSSL reached (|preverify_ok| 1/0, |errnum| an X509_V_ERR_*). Return 1 to accept,
 * 0 to reject (the handshake fails with a certificate alert), negative to raise. |cert| is
 * borrowed for the duration of the call. */
typedef int (*tlsrig_verify_cb)(tlsrig_conn *conn, X509 *cert, int errnum, int depth,
                                int preverify_ok, void *arg);

/* Info callback (set_info_callback): state changes and alerts, SSL_CB_* bits in |where|. */
typedef void (*tlsrig_info_cb)(tlsrig_conn *conn, int where, int ret, void *arg);

/* ALPN select callback (server): choose one of the |n| protocols the client offered by storing
 * its index in |*chosen| and returning 0; return TLSRIG_NO_OVERLAPPING_PROTOCOLS to decline
 * (no ALPN extension is sent), or negative to raise (fatal no_application_protocol alert). */
typedef int (*tlsrig_alpn_select_cb)(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n,
                                     size_t *chosen, void *arg);
#define TLSRIG_NO_OVERLAPPING_PROTOCOLS 1

/* NPN advertise callback (server): point |*protos| at an array of |*n| protocols to advertise,
 * owned by the callback's owner and valid until the handshake ends. Return 0, or negative to
 * raise. */
typedef int (*tlsrig_npn_advertise_cb)(tlsrig_conn *conn, const tlsrig_bytes **protos, size_t *n,
                                       void *arg);

/* NPN select callback (client): choose from the server's |n| protocols as for ALPN, or return
 * TLSRIG_NO_OVERLAPPING_PROTOCOLS to fall back to the first one, or negative to raise. */
typedef int (*tlsrig_npn_select_cb)(tlsrig_conn *conn, const tlsrig_bytes *offered, size_t n,
                                    size_t *chosen, void *arg);

/* OCSP server callback: set |*resp|/|*len| to a DER OCSP response to staple (copied by tlsrig
 * before the callback returns control to OpenSSL; len 0 staples nothing) and return 0, or
 * return negative to raise (fatal internal_error alert). Only called when the client asked
 * for a status (tlsrig_conn_request_ocsp). */
typedef int (*tlsrig_ocsp_server_cb)(tlsrig_conn *conn, const uint8_t **resp, size_t *len,
                                     void *arg);

/* OCSP client callback: called with the stapled response (len 0 when none). Return 1 to
 * accept, 0 to reject (the handshake fails), negative to raise. */
typedef int (*tlsrig_ocsp_client_cb)(tlsrig_conn *conn, const uint8_t *resp, size_t len, void *arg);

/* Servername callback (server): called when the ClientHello has been read; the callback may
 * read tlsrig_conn_get_servername and switch contexts with tlsrig_conn_set_context. Return 0,
 * or negative to raise (fatal unrecognized_name alert). */
typedef int (*tlsrig_servername_cb)(tlsrig_conn *conn, void *arg);

/* Keylog callback: one line in SSLKEYLOGFILE format (no trailing newline), borrowed. */
typedef void (*tlsrig_keylog_cb)(tlsrig_conn *conn, const char *line, void *arg);

/* What the observer sees. */
typedef enum tlsrig_observe_kind {
    TLSRIG_OBSERVE_RECORD = 1,    /* a record header (5 bytes) as on the wire */
    TLSRIG_OBSERVE_HANDSHAKE = 2, /* one whole handshake message, header included */
    TLSRIG_OBSERVE_ALERT = 3,     /* a 2-byte alert; |alert_level|/|alert_desc| are set */
    TLSRIG_OBSERVE_CCS = 4,       /* a ChangeCipherSpec message */
    TLSRIG_OBSERVE_INNER_TYPE = 5 /* TLS 1.3 inner content type byte of a protected record */
} tlsrig_observe_kind;

typedef struct tlsrig_observe_event {
    tlsrig_observe_kind kind;
    int sent;            /* 1: this side wrote it; 0: this side received it */
    int is_server;       /* 1 when the observing connection is the server */
    int version;         /* protocol version the message was processed under */
    int content_type;    /* record content type (20 CCS, 21 alert, 22 handshake, 23 data) */
    int handshake_type;  /* first byte of a handshake message, else -1 */
    int alert_level;     /* 1 warning, 2 fatal, else -1 */
    int alert_desc;      /* alert description, else -1 */
    const uint8_t *data; /* the bytes, borrowed for the duration of the call */
    size_t len;
} tlsrig_observe_event;

/* Observer callback: every record header and handshake message in both directions, and every
 * alert sent or received. It must not call back into the connection. */
typedef void (*tlsrig_observe_cb)(tlsrig_conn *conn, const tlsrig_observe_event *ev, void *arg);

/* tlsrig_alert_desc_string returns the alert description's RFC name ("handshake_failure"). */
const char *tlsrig_alert_desc_string(int desc);

/* ------------------------------------------------------------------------------------------
 * Context (pyOpenSSL Context)
 * ------------------------------------------------------------------------------------------ */

/* tlsrig_ctx_new creates a context for |method| (a TLSRIG_*_METHOD). When
 * tlsrig_deterministic is in force the context uses its deterministic source. Returns 0 and
 * sets |*out| (free with tlsrig_ctx_free), TLSRIG_ERR_UNSUPPORTED for a method the linked
 * OpenSSL lacks, TLSRIG_ERR_INVALID_ARGUMENT for an unknown method. |err| (may be NULL)
 * receives the description of a failure, since there is no context to read it from. */
TLSRIG_MUST_CHECK int tlsrig_ctx_new(int method, tlsrig_ctx **out, tlsrig_error *err);

/* tlsrig_ctx_new_ex is tlsrig_ctx_new with an explicit deterministic source (NULL: the system
 * RNG, even when tlsrig_deterministic is in force). The context takes its own reference. */
TLSRIG_MUST_CHECK int tlsrig_ctx_new_ex(int method, tlsrig_det *det, tlsrig_ctx **out,
                                        tlsrig_error *err);

/* tlsrig_ctx_new_default_client / _server build Python ssl's create_default_context():
 * TLS 1.2 minimum, system CA paths loaded, and for the client VERIFY_PEER with hostname
 * checking (set the name with tlsrig_conn_set_hostname). */
TLSRIG_MUST_CHECK int tlsrig_ctx_new_default_client(tlsrig_ctx **out, tlsrig_error *err);
TLSRIG_MUST_CHECK int tlsrig_ctx_new_default_server(tlsrig_ctx **out, tlsrig_error *err);

/* tlsrig_ctx_up_ref adds a reference; tlsrig_ctx_free drops one (NULL allowed). Connections
 * hold a reference to their context. */
void tlsrig_ctx_up_ref(tlsrig_ctx *ctx);
void tlsrig_ctx_free(tlsrig_ctx *ctx);

/* tlsrig_ctx_last_error describes the last failing call on |ctx| (borrowed). */
const tlsrig_error *tlsrig_ctx_last_error(const tlsrig_ctx *ctx);

/* tlsrig_ctx_get0_ssl_ctx returns the underlying SSL_CTX, borrowed, for what this API lacks. */
SSL_CTX *tlsrig_ctx_get0_ssl_ctx(const tlsrig_ctx *ctx);

/* Certificates and keys. use_certificate/use_privatekey/add_extra_chain_cert/add_client_ca
 * take their own reference to the object passed. File variants take FILETYPE_PEM or _ASN1;
 * a file that cannot be read is TLSRIG_ERR_SYSCALL, a bad or encrypted key with a wrong
 * password is TLSRIG_ERR_SSL, a callback that raised is TLSRIG_ERR_CALLBACK. */
TLSRIG_MUST_CHECK int tlsrig_ctx_use_certificate(tlsrig_ctx *ctx, X509 *cert);
TLSRIG_MUST_CHECK int tlsrig_ctx_use_certificate_file(tlsrig_ctx *ctx, const char *path,
                                                      int filetype);
TLSRIG_MUST_CHECK int tlsrig_ctx_use_certificate_chain_file(tlsrig_ctx *ctx, const char *path);
TLSRIG_MUST_CHECK int tlsrig_ctx_add_extra_chain_cert(tlsrig_ctx *ctx, X509 *cert);
TLSRIG_MUST_CHECK int tlsrig_ctx_use_privatekey(tlsrig_ctx *ctx, EVP_PKEY *pkey);
TLSRIG_MUST_CHECK int tlsrig_ctx_use_privatekey_file(tlsrig_ctx *ctx, const char *path,
                                                     int filetype);
/* tlsrig_ctx_check_privatekey returns 0 when the key matches the certificate, TLSRIG_ERR_SSL
 * when it does not or one of them is missing. */
TLSRIG_MUST_CHECK int tlsrig_ctx_check_privatekey(tlsrig_ctx *ctx);

/* tlsrig_ctx_set_passwd_cb installs the password callback used by the _file functions for
 * encrypted keys (NULL removes it). */
void tlsrig_ctx_set_passwd_cb(tlsrig_ctx *ctx, tlsrig_passwd_cb cb, void *arg);

/* Trust. load_verify_locations takes a CA file and/or a hashed CA directory (either may be
 * NULL, not both). get_cert_store returns the context's X509_STORE, borrowed. */
TLSRIG_MUST_CHECK int tlsrig_ctx_load_verify_locations(tlsrig_ctx *ctx, const char *cafile,
                                                       const char *capath);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_default_verify_paths(tlsrig_ctx *ctx);
X509_STORE *tlsrig_ctx_get_cert_store(tlsrig_ctx *ctx);

/* Verification. set_verify sets the mode (VERIFY_* bits) and an optional callback (NULL keeps
 * OpenSSL's verdict); VERIFY_FAIL_IF_NO_PEER_CERT or VERIFY_CLIENT_ONCE without VERIFY_PEER is
 * TLSRIG_ERR_INVALID_ARGUMENT, as in pyOpenSSL. get_verify_mode/get_verify_depth return the
 * value (never negative; the depth is OpenSSL's default limit, 100, until one is set, where
 * pyOpenSSL shows -1). set_verify_depth with a negative depth is invalid. */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_verify(tlsrig_ctx *ctx, int mode, tlsrig_verify_cb cb,
                                            void *arg);
int tlsrig_ctx_get_verify_mode(const tlsrig_ctx *ctx);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_verify_depth(tlsrig_ctx *ctx, int depth);
int tlsrig_ctx_get_verify_depth(const tlsrig_ctx *ctx);

/* Client CAs (the certificate_authorities a server sends in CertificateRequest).
 * set_client_ca_list copies the |n| names; add_client_ca appends the subject of |cacert|;
 * load_client_ca replaces the list with the subjects of the PEM file |cafile| (as pyOpenSSL
 * does; TLSRIG_ERR_SYSCALL when unreadable, TLSRIG_ERR_SSL when it holds no certificate). */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_client_ca_list(tlsrig_ctx *ctx, X509_NAME *const *names,
                                                    size_t n);
TLSRIG_MUST_CHECK int tlsrig_ctx_add_client_ca(tlsrig_ctx *ctx, X509 *cacert);
TLSRIG_MUST_CHECK int tlsrig_ctx_load_client_ca(tlsrig_ctx *ctx, const char *cafile);

/* Key exchange. load_tmp_dh reads PEM DH parameters (TLSRIG_ERR_SYSCALL if unreadable,
 * TLSRIG_ERR_SSL if not DH parameters); set_tmp_ecdh restricts ECDHE to the named curve
 * (OpenSSL short name or NIST name, e.g. "prime256v1", "P-384"); set_groups sets the TLS 1.3 /
 * 1.2 supported groups list ("X25519:P-256"). */
TLSRIG_MUST_CHECK int tlsrig_ctx_load_tmp_dh(tlsrig_ctx *ctx, const char *dhfile);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_tmp_ecdh(tlsrig_ctx *ctx, const char *curve);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_groups(tlsrig_ctx *ctx, const char *groups);

/* Ciphers: set_cipher_list is TLS <= 1.2 (OpenSSL cipher string; a string that selects no
 * cipher is TLSRIG_ERR_SSL); set_ciphersuites is TLS 1.3 ("TLS_AES_128_GCM_SHA256:..."). */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_cipher_list(tlsrig_ctx *ctx, const char *list);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_ciphersuites(tlsrig_ctx *ctx, const char *suites);

/* Options and modes: set_options ORs |op| in and returns the new option bits (like
 * pyOpenSSL, never an error); clear_options removes bits; set_mode ORs in and returns the new
 * mode bits. */
uint64_t tlsrig_ctx_set_options(tlsrig_ctx *ctx, uint64_t op);
uint64_t tlsrig_ctx_clear_options(tlsrig_ctx *ctx, uint64_t op);
long tlsrig_ctx_set_mode(tlsrig_ctx *ctx, long mode);

/* Version bounds (Python ssl minimum_version / maximum_version). 0 = no bound. A version the
 * linked OpenSSL does not know is TLSRIG_ERR_INVALID_ARGUMENT. */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_min_proto_version(tlsrig_ctx *ctx, int version);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_max_proto_version(tlsrig_ctx *ctx, int version);
int tlsrig_ctx_get_min_proto_version(const tlsrig_ctx *ctx);
int tlsrig_ctx_get_max_proto_version(const tlsrig_ctx *ctx);

/* Sessions. set_session_id sets the session id context (at most 32 bytes, else
 * TLSRIG_ERR_INVALID_ARGUMENT); set_session_cache_mode returns the previous mode;
 * set_timeout returns the previous timeout in seconds; set_num_tickets sets how many TLS 1.3
 * tickets a server sends after a handshake. */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_session_id(tlsrig_ctx *ctx, const uint8_t *id, size_t len);
long tlsrig_ctx_set_session_cache_mode(tlsrig_ctx *ctx, long mode);
long tlsrig_ctx_get_session_cache_mode(const tlsrig_ctx *ctx);
long tlsrig_ctx_set_timeout(tlsrig_ctx *ctx, long seconds);
long tlsrig_ctx_get_timeout(const tlsrig_ctx *ctx);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_num_tickets(tlsrig_ctx *ctx, size_t n);
size_t tlsrig_ctx_get_num_tickets(const tlsrig_ctx *ctx);

/* Application data: an untyped pointer tlsrig never touches. */
void tlsrig_ctx_set_app_data(tlsrig_ctx *ctx, void *data);
void *tlsrig_ctx_get_app_data(const tlsrig_ctx *ctx);

/* Callbacks. Passing NULL removes the callback. |arg| is handed back unchanged. The callbacks
 * in force are those of the context a connection currently uses (after set_context, the new
 * one), as in OpenSSL, except the servername, verify and observer callbacks, which stay those
 * of the context the connection was created on. The observer must be set before the
 * connection is created (OpenSSL copies the message callback into each new SSL). */
void tlsrig_ctx_set_info_callback(tlsrig_ctx *ctx, tlsrig_info_cb cb, void *arg);
void tlsrig_ctx_set_tlsext_servername_callback(tlsrig_ctx *ctx, tlsrig_servername_cb cb, void *arg);
void tlsrig_ctx_set_alpn_select_callback(tlsrig_ctx *ctx, tlsrig_alpn_select_cb cb, void *arg);
void tlsrig_ctx_set_npn_advertise_callback(tlsrig_ctx *ctx, tlsrig_npn_advertise_cb cb, void *arg);
void tlsrig_ctx_set_npn_select_callback(tlsrig_ctx *ctx, tlsrig_npn_select_cb cb, void *arg);
void tlsrig_ctx_set_ocsp_server_callback(tlsrig_ctx *ctx, tlsrig_ocsp_server_cb cb, void *arg);
void tlsrig_ctx_set_ocsp_client_callback(tlsrig_ctx *ctx, tlsrig_ocsp_client_cb cb, void *arg);
void tlsrig_ctx_set_keylog_callback(tlsrig_ctx *ctx, tlsrig_keylog_cb cb, void *arg);
void tlsrig_ctx_set_observer(tlsrig_ctx *ctx, tlsrig_observe_cb cb, void *arg);

/* tlsrig_ctx_set_alpn_protos sets the protocols a client offers (each 1..255 bytes, else
 * TLSRIG_ERR_INVALID_ARGUMENT; n == 0 offers none). */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_alpn_protos(tlsrig_ctx *ctx, const tlsrig_bytes *protos,
                                                 size_t n);

/* TLS 1.3 extras from Python ssl: post_handshake_auth lets a client answer a server's
 * post-handshake CertificateRequest; max_early_data sets how many 0-RTT bytes a server accepts
 * (0 disables early data) or a client may send. */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_post_handshake_auth(tlsrig_ctx *ctx, int on);
TLSRIG_MUST_CHECK int tlsrig_ctx_set_max_early_data(tlsrig_ctx *ctx, uint32_t bytes);

/* Hostname checking for clients (Python ssl check_hostname): when on, connections check the
 * peer certificate against the name given with tlsrig_conn_set_hostname. Turning it on also
 * requires VERIFY_PEER (as Python does); returns TLSRIG_ERR_INVALID_ARGUMENT otherwise. */
TLSRIG_MUST_CHECK int tlsrig_ctx_set_check_hostname(tlsrig_ctx *ctx, int on);
int tlsrig_ctx_get_check_hostname(const tlsrig_ctx *ctx);

/* ------------------------------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------------------------------ */

/* tlsrig_session_up_ref adds a reference (NULL allowed), for a holder that outlives the
 * caller's own, such as another thread; tlsrig_session_free drops one (NULL allowed) and frees
 * the session with the last. */
void tlsrig_session_up_ref(tlsrig_session *sess);
void tlsrig_session_free(tlsrig_session *sess);

/* tlsrig_session_get0_ssl_session returns the underlying SSL_SESSION, borrowed. */
SSL_SESSION *tlsrig_session_get0_ssl_session(const tlsrig_session *sess);

/* tlsrig_session_get_id copies the session id (at most 32 bytes) into |buf| and returns its
 * length, or TLSRIG_ERR_INVALID_ARGUMENT when |cap| is too small. */
TLSRIG_MUST_CHECK int tlsrig_session_get_id(const tlsrig_session *sess, uint8_t *buf, size_t cap);

/* tlsrig_session_is_resumable returns 1 when the session can be offered for resumption. */
int tlsrig_session_is_resumable(const tlsrig_session *sess);

/* tlsrig_session_get_time / _get_timeout return the creation time (by the clock in force when
 * it was made) and the lifetime in seconds. */
int64_t tlsrig_session_get_time(const tlsrig_session *sess);
long tlsrig_session_get_timeout(const tlsrig_session *sess);

/* ------------------------------------------------------------------------------------------
 * Connection (pyOpenSSL Connection)
 * ------------------------------------------------------------------------------------------ */

/* tlsrig_conn_new creates a connection on |ctx| (it takes a reference). With |fd| < 0 the
 * connection runs over a pair of memory BIOs fed with bio_write and drained with bio_read;
 * with a socket |fd| it does its I/O on the socket, blocking or not as the socket is (the
 * connection does not close the fd). Returns 0 and |*out| (free with tlsrig_conn_free).
 * A write to a socket whose peer has gone raises SIGPIPE, as any write(2) does: programs
 * that use sockets should ignore SIGPIPE (Python does), and then get TLSRIG_ERR_SYSCALL with
 * EPIPE. */
TLSRIG_MUST_CHECK int tlsrig_conn_new(tlsrig_ctx *ctx, int fd, tlsrig_conn **out);

/* tlsrig_conn_free frees the connection (NULL allowed). As in OpenSSL, a connection freed
 * before its shutdown completed (no close_notify sent, or SENT_SHUTDOWN not set with
 * set_shutdown) marks its session not resumable: close cleanly to keep the session. */
void tlsrig_conn_free(tlsrig_conn *conn);

/* tlsrig_conn_last_error describes the last failing call on |conn| (borrowed). */
const tlsrig_error *tlsrig_conn_last_error(const tlsrig_conn *conn);

/* tlsrig_conn_get0_ssl returns the underlying SSL, borrowed. */
SSL *tlsrig_conn_get0_ssl(const tlsrig_conn *conn);

/* tlsrig_conn_get_fd returns the socket, or -1 for a memory-BIO connection. */
int tlsrig_conn_get_fd(const tlsrig_conn *conn);

/* Context: get_context borrows; set_context switches (typically in the servername callback)
 * and takes a reference to the new one. */
tlsrig_ctx *tlsrig_conn_get_context(const tlsrig_conn *conn);
TLSRIG_MUST_CHECK int tlsrig_conn_set_context(tlsrig_conn *conn, tlsrig_ctx *ctx);

void tlsrig_conn_set_app_data(tlsrig_conn *conn, void *data);
void *tlsrig_conn_get_app_data(const tlsrig_conn *conn);

/* Roles and handshake. do_handshake returns 0 when the handshake is complete, or
 * TLSRIG_ERR_WANT_READ / WANT_WRITE when it needs I/O, or another error. */
void tlsrig_conn_set_connect_state(tlsrig_conn *conn);
void tlsrig_conn_set_accept_state(tlsrig_conn *conn);
TLSRIG_MUST_CHECK int tlsrig_conn_do_handshake(tlsrig_conn *conn);

/* Socket operations (the connection must have been made with a socket, else
 * TLSRIG_ERR_INVALID_ARGUMENT). connect connects the socket to |addr| and sets connect state;
 * connect_ex does the same but returns the errno value (0 on success, a positive errno such
 * as EINPROGRESS for a non-blocking socket or ECONNREFUSED) instead of failing, as Python's
 * socket.connect_ex, and a negative tlsrig_err only for an invalid argument; accept accepts a
 * connection on the listening socket and returns a new connection in accept state on the same
 * context (caller closes its fd, returned in |*client_fd|, after freeing it);
 * sock_shutdown(how) is shutdown(2) on the socket (SHUT_RD, SHUT_WR, SHUT_RDWR). */
TLSRIG_MUST_CHECK int tlsrig_conn_connect(tlsrig_conn *conn, const struct sockaddr *addr,
                                          socklen_t addrlen);
int tlsrig_conn_connect_ex(tlsrig_conn *conn, const struct sockaddr *addr, socklen_t addrlen);
TLSRIG_MUST_CHECK int tlsrig_conn_accept(tlsrig_conn *conn, tlsrig_conn **out, int *client_fd,
                                         struct sockaddr *addr, socklen_t *addrlen);
TLSRIG_MUST_CHECK int tlsrig_conn_sock_shutdown(tlsrig_conn *conn, int how);

/* Application data. send/write write up to |len| bytes and return how many were written
 * (all of them unless MODE_ENABLE_PARTIAL_WRITE); sendall writes everything, looping over
 * partial writes, and returns |len| (on a memory BIO it fails with WANT_WRITE only if the
 * outgoing BIO refuses bytes, which memory BIOs never do). |flags| is accepted and ignored as
 * in pyOpenSSL. recv/read return the number of bytes read (> 0), TLSRIG_ERR_WANT_READ when
 * nothing is available yet (including an empty memory BIO), TLSRIG_ERR_ZERO_RETURN after the
 * peer's close_notify, TLSRIG_ERR_SYSCALL (sys_errno -1, "unexpected EOF") when the transport
 * ended without close_notify. TLSRIG_MSG_PEEK in |flags| leaves the bytes in place.
 * recv_into reads into |buf| up to |nbytes| (0 means |cap|). */
int tlsrig_conn_send(tlsrig_conn *conn, const void *buf, size_t len, int flags);
int tlsrig_conn_write(tlsrig_conn *conn, const void *buf, size_t len);
int tlsrig_conn_sendall(tlsrig_conn *conn, const void *buf, size_t len, int flags);
int tlsrig_conn_recv(tlsrig_conn *conn, void *buf, size_t cap, int flags);
int tlsrig_conn_read(tlsrig_conn *conn, void *buf, size_t cap);
int tlsrig_conn_recv_into(tlsrig_conn *conn, void *buf, size_t cap, size_t nbytes, int flags);

/* tlsrig_conn_pending returns the number of decrypted bytes ready to read now. */
int tlsrig_conn_pending(const tlsrig_conn *conn);

/* Memory BIO side (memory-BIO connections only; else TLSRIG_ERR_INVALID_ARGUMENT).
 * bio_write feeds bytes received from the peer and returns the count taken; bio_read drains
 * bytes to send to the peer and returns the count (> 0) or TLSRIG_ERR_WANT_READ when there are
 * none; bio_shutdown marks the incoming side at EOF, so reads past the buffered bytes see the
 * transport closed. tlsrig_conn_bio_pending returns the number of bytes bio_read would give. */
int tlsrig_conn_bio_write(tlsrig_conn *conn, const void *buf, size_t len);
int tlsrig_conn_bio_read(tlsrig_conn *conn, void *buf, size_t cap);
TLSRIG_MUST_CHECK int tlsrig_conn_bio_shutdown(tlsrig_conn *conn);
size_t tlsrig_conn_bio_pending(const tlsrig_conn *conn);

/* tlsrig_conn_makefile is unsupported, as in pyOpenSSL (a Connection has no file object
 * semantics): it always returns TLSRIG_ERR_UNSUPPORTED. */
int tlsrig_conn_makefile(tlsrig_conn *conn);

/* Shutdown. shutdown sends close_notify if not yet sent and returns 1 when both close_notify
 * alerts have been seen, 0 when only ours has (call again after the peer's arrives), or an
 * error. get_shutdown returns the SENT_SHUTDOWN/RECEIVED_SHUTDOWN bits; set_shutdown sets
 * them (e.g. for a quiet close). */
int tlsrig_conn_shutdown(tlsrig_conn *conn);
int tlsrig_conn_get_shutdown(const tlsrig_conn *conn);
void tlsrig_conn_set_shutdown(tlsrig_conn *conn, int state);

/* tlsrig_conn_set_quiet_shutdown makes shutdown mark the connection closed without sending
 * close_notify (SSL_set_quiet_shutdown). */
void tlsrig_conn_set_quiet_shutdown(tlsrig_conn *conn, int on);

/* Renegotiation (TLS <= 1.2). renegotiate returns 1 when a renegotiation was scheduled, 0
 * when one is already pending, TLSRIG_ERR_SSL when the protocol forbids it (TLS 1.3, or
 * OP_NO_RENEGOTIATION); the handshake then runs inside do_handshake/read/write.
 * renegotiate_pending returns 1 while one is in progress; total_renegotiations counts the
 * renegotiations started on this connection. */
int tlsrig_conn_renegotiate(tlsrig_conn *conn);
int tlsrig_conn_renegotiate_pending(const tlsrig_conn *conn);
long tlsrig_conn_total_renegotiations(const tlsrig_conn *conn);

/* TLS 1.3 key update (RFC 8446 §4.6.3): schedules a KeyUpdate, asking the peer to update too
 * when |request_peer| is set; it is sent with the next write or do_handshake. TLSRIG_ERR_SSL
 * before the handshake or under TLS <= 1.2. */
TLSRIG_MUST_CHECK int tlsrig_conn_key_update(tlsrig_conn *conn, int request_peer);

/* TLS 1.3 post-handshake client authentication (server): schedules a CertificateRequest,
 * sent on the next do_handshake/write. TLSRIG_ERR_SSL when the client did not offer
 * post_handshake_auth or the version is not TLS 1.3. */
TLSRIG_MUST_CHECK int tlsrig_conn_verify_client_post_handshake(tlsrig_conn *conn);

/* Early data (0-RTT, RFC 8446 §4.2.10). Client: write_early_data sends application data
 * before the handshake completes (the session set must allow early data) and returns the
 * count written or an error: TLSRIG_ERR_SSL when the session allows no early data, and
 * TLSRIG_ERR_INVALID_ARGUMENT, before anything is sent, when the ClientHello could not offer
 * the session (the connection's highest version is below TLS 1.3, or the session is not a
 * resumable TLS 1.3 one). Server: read_early_data returns the count read (> 0),
 * TLSRIG_ERR_WANT_READ while more may come, TLSRIG_ERR_ZERO_RETURN when the early data has
 * ended (or there was none), after which do_handshake finishes the handshake.
 * get_early_data_status returns SSL_EARLY_DATA_NOT_SENT / _REJECTED / _ACCEPTED. */
int tlsrig_conn_write_early_data(tlsrig_conn *conn, const void *buf, size_t len);
int tlsrig_conn_read_early_data(tlsrig_conn *conn, void *buf, size_t cap);
int tlsrig_conn_get_early_data_status(const tlsrig_conn *conn);

/* Servername. set_tlsext_host_name sets the SNI a client sends (client only, before the
 * handshake); get_servername returns the name received or sent (borrowed) or NULL.
 * set_hostname sets SNI and the name checked against the certificate when the context has
 * check_hostname on (Python ssl server_hostname). */
TLSRIG_MUST_CHECK int tlsrig_conn_set_tlsext_host_name(tlsrig_conn *conn, const char *name);
const char *tlsrig_conn_get_servername(const tlsrig_conn *conn);
TLSRIG_MUST_CHECK int tlsrig_conn_set_hostname(tlsrig_conn *conn, const char *name);

/* ALPN on one connection (client); same rules as tlsrig_ctx_set_alpn_protos. */
TLSRIG_MUST_CHECK int tlsrig_conn_set_alpn_protos(tlsrig_conn *conn, const tlsrig_bytes *protos,
                                                  size_t n);

/* tlsrig_conn_request_ocsp asks the server for a stapled OCSP response (client, before the
 * handshake). */
TLSRIG_MUST_CHECK int tlsrig_conn_request_ocsp(tlsrig_conn *conn);

/* Sessions. get_session returns 0 and a new reference in |*out| (tlsrig_session_free) or
 * TLSRIG_ERR_NOT_AVAILABLE when there is none yet. set_session offers |sess| for resumption;
 * a session that came from a connection on another context is TLSRIG_ERR_INVALID_ARGUMENT.
 * session_reused returns 1 when the handshake resumed a session. */
TLSRIG_MUST_CHECK int tlsrig_conn_get_session(const tlsrig_conn *conn, tlsrig_session **out);
TLSRIG_MUST_CHECK int tlsrig_conn_set_session(tlsrig_conn *conn, tlsrig_session *sess);
int tlsrig_conn_session_reused(const tlsrig_conn *conn);

/* Peer certificates. get_peer_certificate returns a new reference or NULL when there is
 * none; get_peer_cert_chain returns a new STACK_OF(X509) (free with
 * sk_X509_pop_free(chain, X509_free)) as sent by the peer, or NULL (on a server the
 * client's own certificate is left out, as OpenSSL and pyOpenSSL do); get_verified_chain
 * returns a new STACK_OF(X509) holding the chain as built by verification (Python ssl; free
 * it the same way), or NULL. get_verify_result is
 * the X509_V_* result of verification. */
X509 *tlsrig_conn_get_peer_certificate(const tlsrig_conn *conn);
STACK_OF(X509) * tlsrig_conn_get_peer_cert_chain(const tlsrig_conn *conn);
STACK_OF(X509) * tlsrig_conn_get_verified_chain(const tlsrig_conn *conn);
long tlsrig_conn_get_verify_result(const tlsrig_conn *conn);

/* tlsrig_conn_get_client_ca_list returns the CA names: on a server those it sends, on a
 * client those the server sent. Borrowed; NULL when none. */
STACK_OF(X509_NAME) * tlsrig_conn_get_client_ca_list(const tlsrig_conn *conn);

/* Negotiated parameters. The cipher getters return NULL / TLSRIG_ERR_NOT_AVAILABLE before a
 * cipher is agreed. get_cipher_list writes up to |cap| borrowed names of the ciphers this
 * connection would offer/accept and returns the total count (which may exceed |cap|).
 * get_protocol_version returns the wire version number (0x0304 for TLS 1.3);
 * get_protocol_version_name returns "TLSv1.3" etc. ("unknown" before the handshake). */
const char *tlsrig_conn_get_cipher_name(const tlsrig_conn *conn);
int tlsrig_conn_get_cipher_bits(const tlsrig_conn *conn);
const char *tlsrig_conn_get_cipher_version(const tlsrig_conn *conn);
int tlsrig_conn_get_cipher_list(const tlsrig_conn *conn, const char **names, size_t cap);
int tlsrig_conn_get_protocol_version(const tlsrig_conn *conn);
const char *tlsrig_conn_get_protocol_version_name(const tlsrig_conn *conn);

/* get_alpn_proto_negotiated / get_next_proto_negotiated set |*out| to the protocol (borrowed,
 * valid while the connection lives) and return its length; 0 when none was agreed. */
int tlsrig_conn_get_alpn_proto_negotiated(const tlsrig_conn *conn, const uint8_t **out);
int tlsrig_conn_get_next_proto_negotiated(const tlsrig_conn *conn, const uint8_t **out);

/* Secrets and transcript values. Each copies into |buf| and returns the length, or
 * TLSRIG_ERR_NOT_AVAILABLE when the value does not exist yet (no handshake started / no
 * Finished sent), or TLSRIG_ERR_INVALID_ARGUMENT when |cap| is too small (the needed size is
 * then in the error message). client_random/server_random are 32 bytes; master_key is the
 * session's master secret (TLS 1.3: the resumption master secret); get_finished is the
 * Finished verify_data this side sent, get_peer_finished the one it received. */
int tlsrig_conn_client_random(const tlsrig_conn *conn, uint8_t *buf, size_t cap);
int tlsrig_conn_server_random(const tlsrig_conn *conn, uint8_t *buf, size_t cap);
int tlsrig_conn_master_key(const tlsrig_conn *conn, uint8_t *buf, size_t cap);
int tlsrig_conn_get_finished(const tlsrig_conn *conn, uint8_t *buf, size_t cap);
int tlsrig_conn_get_peer_finished(const tlsrig_conn *conn, uint8_t *buf, size_t cap);

/* tlsrig_conn_export_keying_material (RFC 5705 / RFC 8446 §7.5) writes |olen| bytes into
 * |out|; |context| may be NULL (no context) — distinct from an empty context. Returns 0 or
 * TLSRIG_ERR_SSL (e.g. before the handshake). */
TLSRIG_MUST_CHECK int tlsrig_conn_export_keying_material(tlsrig_conn *conn, uint8_t *out,
                                                         size_t olen, const char *label,
                                                         const uint8_t *context,
                                                         size_t context_len);

/* tlsrig_conn_get_state_string returns OpenSSL's long state string (static). */
const char *tlsrig_conn_get_state_string(const tlsrig_conn *conn);

/* want_read / want_write: 1 when the last operation stopped for want of reading / writing. */
int tlsrig_conn_want_read(const tlsrig_conn *conn);
int tlsrig_conn_want_write(const tlsrig_conn *conn);

/* tlsrig_conn_is_server returns 1 for a server (accept state), 0 for a client. */
int tlsrig_conn_is_server(const tlsrig_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* TLSRIG_H */
