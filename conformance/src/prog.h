/*
 * prog.h - a scenario variant compiled for the interpreter: every peer setting, step and
 * expectation as a typed struct whose values are already converted and range-checked, each
 * with the line it came from for messages.
 *
 * compile.c (steps and the program), compile_peer.c (peer settings) and compile_expect.c
 * (expectations) build it from a parsed scn; every malformed-scenario error is found there.
 * interp.c runs it: a switch on the step kind, no word of the scenario read again.
 */
#ifndef TLSRIG_PROG_H
#define TLSRIG_PROG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "rig.h"
#include "scn.h"
#include "tlsrig.h"

#define RIG_MAX_SESSIONS 16
#define RIG_MAX_PROTOS 16
#define RIG_NAME_MAX 256
#define RIG_SESSION_NAME_MAX 64
#define RIG_FILE_MAX 128

/* The two ends of a connection. */
enum { RIG_CLIENT = 0, RIG_SERVER = 1 };

/* A comma list of protocols (ALPN, NPN), split once: list[i].data points into storage, so a
 * rig_protos is filled in place and never moved. */
typedef struct rig_protos {
    tlsrig_bytes list[RIG_MAX_PROTOS];
    size_t n;
    char storage[512];
} rig_protos;

/* ---- peer settings ---- */

typedef enum rig_setting_kind {
    RIG_SET_MIN_VERSION,
    RIG_SET_MAX_VERSION,
    RIG_SET_CERT,
    RIG_SET_KEY,
    RIG_SET_VERIFY,
    RIG_SET_VERIFY_DEPTH,
    RIG_SET_VERIFY_CALLBACK,
    RIG_SET_CA,
    RIG_SET_CLIENT_CA,
    RIG_SET_HOSTNAME,
    RIG_SET_CIPHERS,
    RIG_SET_CIPHERSUITES,
    RIG_SET_GROUPS,
    RIG_SET_DH,
    RIG_SET_ALPN,
    RIG_SET_ALPN_SELECT,
    RIG_SET_NPN_ADVERTISE,
    RIG_SET_NPN_SELECT,
    RIG_SET_SNI_CALLBACK,
    RIG_SET_OCSP,
    RIG_SET_OCSP_STAPLE,
    RIG_SET_SESSION_CACHE,
    RIG_SET_SESSION_ID_CONTEXT,
    RIG_SET_TIMEOUT,
    RIG_SET_TICKETS,
    RIG_SET_EARLY_DATA,
    RIG_SET_OPTIONS,
    RIG_SET_MODE,
    RIG_SET_POST_HANDSHAKE_AUTH,
} rig_setting_kind;

/* Policies the callbacks follow, chosen by settings. */
typedef enum { RIG_ALPN_OFF, RIG_ALPN_FIRST_COMMON, RIG_ALPN_NONE, RIG_ALPN_FAIL } rig_alpn_policy;
typedef enum { RIG_NPN_OFF, RIG_NPN_FIRST_COMMON, RIG_NPN_FAIL } rig_npn_policy;
typedef enum { RIG_SNI_OFF, RIG_SNI_RECORD, RIG_SNI_SWITCH, RIG_SNI_FAIL } rig_sni_policy;
typedef enum { RIG_OCSP_NONE, RIG_OCSP_ACCEPT, RIG_OCSP_REJECT, RIG_OCSP_FAIL } rig_ocsp_check;
typedef enum { RIG_STAPLE_NONE, RIG_STAPLE_RESPONSE, RIG_STAPLE_FAIL } rig_ocsp_staple;
typedef enum {
    RIG_VERIFY_CB_OFF,
    RIG_VERIFY_CB_ACCEPT_ALL,
    RIG_VERIFY_CB_REJECT_ALL,
    RIG_VERIFY_CB_FAIL,
    RIG_VERIFY_CB_RECORD,
} rig_verify_policy;

/* One setting, ready to apply to a context. Which fields hold values depends on |kind|. */
typedef struct rig_setting {
    rig_setting_kind kind;
    int line;
    int fails;       /* `fails <class>`: the tlsrig_err the engine must refuse with, or 0 */
    long num;        /* version, verify mode, depth, timeout, tickets, early data, cache mode */
    uint64_t bits;   /* options, mode */
    const char *str; /* cipher/suite/group list, session id context; borrowed from the scn */
    size_t str_len;  /* session-id-context: its length (it may hold NUL bytes) */
    char file[RIG_FILE_MAX];  /* a PKI file: certificate chain, key, CA file, DH parameters */
    char file2[RIG_FILE_MAX]; /* cert: its key; sni-callback switch: the key of the cert */
    int flag;                 /* cert: also load file2; ca: a capath folder; ocsp: install check */
    rig_protos protos;        /* alpn: the client's offer */
} rig_setting;

/* A peer: how its context is made, its settings in the order they are applied, what each
 * connection made from it needs, and the policies its callbacks follow. */
typedef struct rig_peer_prog {
    const char *name; /* borrowed from the scn */
    int is_server;
    int line;
    int method;       /* TLSRIG_*_METHOD */
    int method_fails; /* `method ... fails <class>`: the expected tlsrig_err, or 0 */
    int method_line;  /* 0 when no method line was given */
    int share;        /* index of the earlier peer whose context this one uses, or -1 */
    int no_ctx;       /* the peer never has a context (its method, or the one it shares, fails) */
    rig_setting *settings; /* verify first, verify-callback and hostname last, see compile_peer.c */
    size_t n_settings;

    /* per connection (client) */
    char hostname[RIG_NAME_MAX]; /* checked name, also sent as SNI */
    char sni[RIG_NAME_MAX];      /* server name to send */
    int request_ocsp;
    /* callback policies */
    rig_ocsp_check ocsp_check;
    rig_ocsp_staple ocsp_staple;
    rig_alpn_policy alpn_policy;
    rig_protos alpn_pref;
    rig_protos npn_adv;
    rig_npn_policy npn_policy;
    rig_protos npn_pref;
    rig_sni_policy sni_policy;
    char alt_name[RIG_NAME_MAX]; /* sni-callback switch: the name that switches */
    rig_verify_policy verify_policy;
    uint32_t early_data; /* bytes of 0-RTT data allowed */
} rig_peer_prog;

/* ---- expectations ---- */

typedef enum rig_expect_kind {
    RIG_EXPECT_VERSION,
    RIG_EXPECT_CIPHER,
    RIG_EXPECT_ALPN,
    RIG_EXPECT_NPN,
    RIG_EXPECT_SERVERNAME,
    RIG_EXPECT_REUSED,
    RIG_EXPECT_SHUTDOWN,
    RIG_EXPECT_RENEGOTIATIONS,
    RIG_EXPECT_PEER_CERT,
    RIG_EXPECT_VERIFY_RESULT,
    RIG_EXPECT_ERROR,
    RIG_EXPECT_ALERT,
    RIG_EXPECT_NO_ALERT,
    RIG_EXPECT_EARLY_DATA,
    RIG_EXPECT_TICKETS,
    RIG_EXPECT_KEYUPDATES,
    RIG_EXPECT_CONTEXT_FAILED,
} rig_expect_kind;

typedef struct rig_expect {
    rig_expect_kind kind;
    const char *word;   /* the expected value as written (strings, messages); borrowed */
    long num;           /* count, verify result code, shutdown flags, reused (0/1), early status */
    int err;            /* error: the tlsrig_err class */
    const char *reason; /* error: substring to find, or NULL */
    int sent;           /* alert: 1 sent, 0 received */
    int level;          /* alert: 1 warning, 2 fatal, -1 either */
    int desc;           /* alert: the description code */
} rig_expect;

/* ---- steps ---- */

typedef enum rig_step_kind {
    RIG_STEP_CONNECT,
    RIG_STEP_HANDSHAKE,
    RIG_STEP_PUMP,
    RIG_STEP_SEND,
    RIG_STEP_RECV,
    RIG_STEP_RECV_ERROR,
    RIG_STEP_RENEGOTIATE,
    RIG_STEP_KEY_UPDATE,
    RIG_STEP_REQUEST_CLIENT_CERT,
    RIG_STEP_SHUTDOWN,
    RIG_STEP_SET_SHUTDOWN,
    RIG_STEP_QUIET_SHUTDOWN,
    RIG_STEP_CLOSE,
    RIG_STEP_SAVE_SESSION,
    RIG_STEP_RESUME,
    RIG_STEP_EARLY_SEND,
    RIG_STEP_EARLY_RECV,
    RIG_STEP_ADVANCE,
    RIG_STEP_EXPECT,
    RIG_STEP_TAMPER,
    RIG_STEP_INJECT,
    RIG_STEP_TAMPER_FIXUP,
} rig_step_kind;

/* What a `tamper` rule does to the handshake message it matches (compile_tamper.c). */
typedef enum rig_tamper_action {
    RIG_TAMPER_DROP,
    RIG_TAMPER_DUPLICATE,        /* a copy goes ahead of it */
    RIG_TAMPER_REPLACE,          /* the whole body: bytes */
    RIG_TAMPER_SET,              /* field := bytes (wire_hs_field_set1) */
    RIG_TAMPER_SET_INT,          /* integer field := num (wire_hs_field_set_int) */
    RIG_TAMPER_REMOVE,           /* field left out */
    RIG_TAMPER_ADD_EXTENSION,    /* ext with bytes, appended (even a duplicate) */
    RIG_TAMPER_REMOVE_EXTENSION, /* every ext of that type */
    RIG_TAMPER_SET_EXTENSION,    /* the first ext of that type := bytes, or appended */
    RIG_TAMPER_SET_LENGTH,       /* the header's length := num */
    RIG_TAMPER_SET_TYPE,         /* the header's type := type */
    RIG_TAMPER_INSERT_BEFORE,    /* a message (type, bytes) goes ahead of it */
} rig_tamper_action;

/* What an `inject` step puts on the wire. */
typedef enum rig_inject_kind {
    RIG_INJECT_ALERT,
    RIG_INJECT_DATA,
    RIG_INJECT_MESSAGE,
} rig_inject_kind;

/* Bytes decoded from a hex word, owned by the program (freed by rig_program_free). */
typedef struct rig_hex {
    uint8_t *bytes;
    size_t len;
} rig_hex;

/* Bytes a step sends or expects: quoted text (borrowed from the scn) or `<n> bytes` of the
 * deterministic pattern (a prefix of the program's one pattern buffer). */
typedef struct rig_data {
    const uint8_t *bytes;
    size_t len;
    int pattern; /* 1: `<n> bytes` */
} rig_data;

typedef struct rig_step {
    rig_step_kind kind;
    int line;
    int peer; /* the peer the step names (index into rig_program.peers), or -1 */
    int side; /* RIG_CLIENT or RIG_SERVER: that peer's end of the current connection */
    union {
        struct {
            int client, server; /* peer indices */
        } connect;
        struct {
            int fails; /* `handshake fails` */
        } handshake;
        struct {
            rig_data data;
            int fails; /* `fails <class>`: the tlsrig_err, or 0 */
        } send;
        struct {
            rig_data data;
            int peek;    /* read with MSG_PEEK */
            size_t into; /* read through recv_into with this nbytes limit, or 0 */
        } recv;
        struct {
            int err; /* the class the read must fail with */
        } recv_error;
        struct {
            int requested; /* key-update: ask the peer to update too */
            int returns;   /* `returns`: 1, 0 or a tlsrig_err */
        } call;            /* renegotiate, key-update, request-client-cert, shutdown */
        struct {
            int flags; /* TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN */
        } set_shutdown;
        struct {
            int slot;         /* index into rig_program.session_names, or -1: never saved */
            const char *name; /* borrowed */
            int returns;      /* resume: 0 or a tlsrig_err */
        } session;
        struct {
            rig_data data;
        } early;
        struct {
            int64_t seconds;
        } advance;
        rig_expect expect;
        struct {
            int msg;      /* the handshake type it matches (what the sender sent) */
            unsigned nth; /* fires on the nth such message from the sender after arming, 1.. */
            rig_tamper_action action;
            const char *field; /* set, remove: the field name; borrowed from the scn */
            int ext;           /* *-extension: the extension type */
            int type;          /* set-type, insert-before: a message type */
            uint64_t num;      /* set (integer field), set-length */
            rig_hex hex;       /* replace, set, *-extension, insert-before */
        } tamper;
        struct {
            rig_inject_kind what;
            int level, desc; /* alert */
            int type;        /* message: its handshake type */
            rig_data data;   /* data: text or pattern */
            rig_hex hex;     /* message: its body */
        } inject;
        struct {
            int on;
        } fixup;
    };
} rig_step;

/* A compiled scenario variant. It borrows strings from the scn it was compiled from: keep
 * that alive until rig_program_free. */
struct rig_program {
    const char *path; /* for messages */
    uint64_t seed;
    long budget;
    rig_peer_prog *peers;
    size_t n_peers;
    int first_client, first_server; /* connected before the first step */
    rig_step *steps;
    size_t n_steps;
    uint8_t *pattern; /* the `<n> bytes` pattern, as long as the longest use */
    size_t pattern_len;
    const char *session_names[RIG_MAX_SESSIONS]; /* save-session names, by slot */
    size_t n_sessions;
    int middle; /* a tamper, inject or tamper-fixup step: connections run through a wire_mitm */
};

/* ---- shared by the compiler's files ---- */

/* rig__report writes "path:line: message" (no prefix when |line| is 0) into |res| and sets
 * its status and fail_line. Returns |status|. */
rig_status rig__report(rig_result *res, rig_status status, const char *path, int line,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
rig_status rig__vreport(rig_result *res, rig_status status, const char *path, int line,
                        const char *fmt, va_list ap);

/* Error classes: the tlsrig_err for a class word, or 1 when the word names none; the word
 * for an error (for messages). */
int rig__err_class(const char *word);
const char *rig__err_word(int err);

/* The word of a step kind, for messages. */
const char *rig__step_word(rig_step_kind kind);

/* The compiler's view of one line while it is compiled. */
typedef struct rig_compiler {
    const scn *s;
    rig_program *prog;
    rig_result *res;
    int cur[2];    /* peers of the current connection, by end */
    int have_conn; /* both have contexts: the current connection exists */
} rig_compiler;

rig_status rig__invalid(rig_compiler *c, const scn_line *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* RIG_NEED refuses line |l| of compiler |c| as invalid, with the message, unless |cond|. */
#define RIG_NEED(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return rig__invalid(c, l, __VA_ARGS__);                                                \
    } while (0)

/* Index of the peer named |name|, or -1. */
int rig__peer_index(const rig_program *p, const char *name);

/* compile_peer.c: every peer of c->s into c->prog->peers (allocated by the caller). */
rig_status rig__compile_peers(rig_compiler *c);
void rig__peers_prog_free(rig_program *p);

/* compile_expect.c: `expect ...` into |st| (kind RIG_STEP_EXPECT; peer/side set). */
rig_status rig__compile_expect(rig_compiler *c, const scn_line *l, rig_step *st);

/* `tamper-fixup` values: off, Finished recomputed, and also CertificateVerify signed again. */
enum { RIG_FIXUP_OFF = 0, RIG_FIXUP_ON = 1, RIG_FIXUP_SIGN = 2 };

/* compile_tamper.c: `tamper`, `inject` and `tamper-fixup` into |st| (kind set). Decoded hex
 * is allocated into the step; rig__tamper_step_free releases it. */
rig_status rig__compile_tamper(rig_compiler *c, const scn_line *l, rig_step *st);
rig_status rig__compile_inject(rig_compiler *c, const scn_line *l, rig_step *st);
rig_status rig__compile_fixup(rig_compiler *c, const scn_line *l, rig_step *st);
void rig__tamper_step_free(rig_step *st);

/* The alert description named |word| ("decode_error"), or -1. */
int rig__alert_desc(const char *word);

/* compile.c: the end of the current connection that the peer named by word |i| of |l| is,
 * setting st->peer and st->side; reports the line as invalid when it names none. */
rig_status rig__compile_side(rig_compiler *c, const scn_line *l, int i, rig_step *st);

#endif
