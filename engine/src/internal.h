/*
 * internal.h - structures and helpers shared by the engine's source files.
 */
#ifndef TLSRIG_INTERNAL_H
#define TLSRIG_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>

#include "tlsrig.h"

/* Reference counts (contexts, sessions, deterministic sources) are atomic because tlsrig.h
 * lets threads share these objects: a connection on any thread holds a reference to its
 * context. Taking a reference needs no ordering, since the caller already holds one and so
 * the object cannot go away meanwhile. Dropping one is acquire-release: every thread's writes
 * made while it held its reference happen before the free done by whichever thread drops the
 * last one. */
static inline void tlsrig__ref_up(atomic_int *refs)
{
    atomic_fetch_add_explicit(refs, 1, memory_order_relaxed);
}

/* tlsrig__ref_down drops a reference and returns 1 when it was the last one. */
static inline int tlsrig__ref_down(atomic_int *refs)
{
    return atomic_fetch_sub_explicit(refs, 1, memory_order_acq_rel) == 1;
}

/* A deterministic source: a library context whose DRBGs are seeded (det.c). */
struct tlsrig_det {
    atomic_int refs;
    uint64_t seed;
    OSSL_LIB_CTX *libctx;
};

void tlsrig__det_up_ref(tlsrig_det *det);
tlsrig_det *tlsrig__det_default(void);

struct tlsrig_ctx {
    atomic_int refs;
    SSL_CTX *ssl_ctx;
    tlsrig_det *det; /* NULL: system RNG */
    uint64_t id;     /* unique per process; sessions remember the context they came from */
    void *app_data;
    tlsrig_error err;
    int check_hostname;

    tlsrig_passwd_cb passwd_cb;
    void *passwd_arg;
    tlsrig_verify_cb verify_cb;
    void *verify_arg;
    tlsrig_info_cb info_cb;
    void *info_arg;
    tlsrig_servername_cb servername_cb;
    void *servername_arg;
    tlsrig_alpn_select_cb alpn_cb;
    void *alpn_arg;
    tlsrig_npn_advertise_cb npn_adv_cb;
    void *npn_adv_arg;
    tlsrig_npn_select_cb npn_sel_cb;
    void *npn_sel_arg;
    tlsrig_ocsp_server_cb ocsp_server_cb;
    void *ocsp_server_arg;
    tlsrig_ocsp_client_cb ocsp_client_cb;
    void *ocsp_client_arg;
    tlsrig_keylog_cb keylog_cb;
    void *keylog_arg;
    tlsrig_observe_cb observe_cb;
    void *observe_arg;

    /* set while a _file call runs, so the password callback can report a raise */
    int passwd_failed;
};

struct tlsrig_session {
    atomic_int refs;
    SSL_SESSION *sess;
    uint64_t ctx_id; /* the context of the connection it came from */
};

struct tlsrig_conn {
    SSL *ssl;
    tlsrig_ctx *ctx; /* the context the connection was created on (owns a reference) */
    tlsrig_ctx *cur; /* the context in force (after set_context), owns a reference */
    int fd;          /* -1 for memory BIOs */
    BIO *into_ssl;   /* memory BIO: bytes from the peer (borrowed; owned by ssl) */
    BIO *from_ssl;   /* memory BIO: bytes to the peer (borrowed; owned by ssl) */
    void *app_data;
    tlsrig_error err;

    /* the first callback that raised during the current call, reported by it */
    const char *cb_failed;

    int hostname_set; /* set_hostname was called (check_hostname needs it) */
    int failed;       /* a call failed fatally (SSL/SYSCALL): later "clean closes" are not */
    int bio_eof;      /* bio_shutdown was called: the incoming memory BIO is at EOF */

    /* NPN advertisement in wire format, kept alive for OpenSSL */
    uint8_t *npn_wire;
    size_t npn_wire_len;
};

/* SSL ex_data index holding the tlsrig_conn; SSL_CTX index holding the tlsrig_ctx. */
int tlsrig__conn_index(void);
int tlsrig__ctx_index(void);
tlsrig_conn *tlsrig__conn_from_ssl(const SSL *ssl);

/* Errors (err.c). */
void tlsrig__err_clear(tlsrig_error *err);
/* tlsrig__err_set records |code| with a printf-style message and drains OpenSSL's error queue
 * into |err|. Returns |code| so callers can `return tlsrig__err_set(...)`. */
int tlsrig__err_set(tlsrig_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* tlsrig__err_ssl maps SSL_get_error for a failed SSL_* call on |conn| to a tlsrig_err,
 * records it and returns it. |what| names the operation. */
int tlsrig__err_ssl(tlsrig_conn *conn, int ret, const char *what);

/* Callbacks installed on every SSL_CTX (ctx_cb.c). */
void tlsrig__ctx_install_callbacks(tlsrig_ctx *ctx);
int tlsrig__ctx_passwd_trampoline(char *buf, int size, int rwflag, void *u);

/* Protocol lists: encode |n| protocols in ALPN/NPN wire format into a new buffer. */
int tlsrig__protos_encode(const tlsrig_bytes *protos, size_t n, uint8_t **out, size_t *outlen);
/* Decode wire format into a new array of |*n| borrowed slices; 0 or an error. */
int tlsrig__protos_decode(const uint8_t *wire, size_t len, tlsrig_bytes **out, size_t *n);

/* tlsrig__set_alpn_protos encodes |protos| and offers them on |ssl_ctx| or, when that is
 * NULL, on |ssl| (Context and Connection set_alpn_protos). Errors are set in |err|. */
int tlsrig__set_alpn_protos(tlsrig_error *err, SSL_CTX *ssl_ctx, SSL *ssl,
                            const tlsrig_bytes *protos, size_t n);

#define TLSRIG__UNUSED(x) ((void)(x))

/* tlsrig__begin starts a public call that can fail: OpenSSL's queue and the object's error
 * record are cleared so that what is reported afterwards belongs to this call alone. */
#include <openssl/err.h>
static inline void tlsrig__begin(tlsrig_error *err)
{
    /* ERR_clear_error resets all 16 slots of the queue (two frees each) even when it is
     * empty, as it nearly always is here; on the data path that was a measurable share of
     * each call. Peeking first is equivalent: an empty peek means an empty queue. */
    if (ERR_peek_error() != 0)
        ERR_clear_error();
    tlsrig__err_clear(err);
}

/* tlsrig__check_readable returns 0 when |path| can be opened for reading, else records a
 * TLSRIG_ERR_SYSCALL naming |what| and the path, and returns it. */
int tlsrig__check_readable(tlsrig_error *err, const char *path, const char *what);

#endif /* TLSRIG_INTERNAL_H */
