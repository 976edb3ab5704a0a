/*
 * err.c - the error enum's names and messages, and capture of OpenSSL's error queue.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "internal.h"

const char *tlsrig_err_name(int err)
{
    switch (err) {
#define TLSRIG__ERR_NAME(name, value, msg)                                                         \
    case value:                                                                                    \
        return #name;
        TLSRIG_ERRORS(TLSRIG__ERR_NAME)
#undef TLSRIG__ERR_NAME
    default:
        return "UNKNOWN";
    }
}

const char *tlsrig_err_message(int err)
{
    switch (err) {
#define TLSRIG__ERR_MSG(name, value, msg)                                                          \
    case value:                                                                                    \
        return msg;
        TLSRIG_ERRORS(TLSRIG__ERR_MSG)
#undef TLSRIG__ERR_MSG
    default:
        return "unknown error code";
    }
}

void tlsrig__err_clear(tlsrig_error *err)
{
    if (err == NULL)
        return;
    err->code = TLSRIG_ERR_OK;
    err->sys_errno = 0;
    err->message[0] = '\0';
    err->n_ssl = 0;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL)
        src = "";
    snprintf(dst, cap, "%s", src);
}

/* Drain OpenSSL's thread-local queue into |err| (oldest first), keeping the first 16. The
 * queue is always emptied so the next call starts clean. */
static void drain_queue(tlsrig_error *err)
{
    const char *func = NULL, *data = NULL;
    int flags = 0;
    unsigned long code;

    while ((code = ERR_get_error_all(NULL, NULL, &func, &data, &flags)) != 0) {
        if (err == NULL || err->n_ssl >= TLSRIG_MAX_SSL_ERRORS)
            continue;
        tlsrig_ssl_error *e = &err->ssl[err->n_ssl++];
        e->code = code;
        copy_str(e->lib, sizeof(e->lib), ERR_lib_error_string(code));
        copy_str(e->func, sizeof(e->func), func);
        const char *reason = ERR_reason_error_string(code);
        if (reason == NULL) {
            snprintf(e->reason, sizeof(e->reason), "reason(%d)", ERR_GET_REASON(code));
        } else if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0') {
            snprintf(e->reason, sizeof(e->reason), "%s (%s)", reason, data);
        } else {
            copy_str(e->reason, sizeof(e->reason), reason);
        }
    }
}

int tlsrig__err_set(tlsrig_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        tlsrig__err_clear(err);
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    drain_queue(err);
    /* Append the first OpenSSL reason to the message: it is what a user needs to read. */
    if (err != NULL && err->n_ssl > 0) {
        size_t used = strlen(err->message);
        if (used < sizeof(err->message) - 4)
            snprintf(err->message + used, sizeof(err->message) - used, ": %s",
                     err->ssl[err->n_ssl - 1].reason);
    }
    return code;
}

static int queue_has_reason(const tlsrig_error *err, int reason)
{
    for (size_t i = 0; i < err->n_ssl; i++)
        if (ERR_GET_REASON(err->ssl[i].code) == reason)
            return 1;
    return 0;
}

int tlsrig__err_ssl(tlsrig_conn *conn, int ret, const char *what)
{
    int saved_errno = errno;
    int code;
    int sslerr = SSL_get_error(conn->ssl, ret);
    tlsrig_error *err = &conn->err;

    if (conn->cb_failed != NULL) {
        const char *name = conn->cb_failed;
        conn->cb_failed = NULL;
        return tlsrig__err_set(err, TLSRIG_ERR_CALLBACK, "%s: the %s callback failed", what, name);
    }

    switch (sslerr) {
    case SSL_ERROR_WANT_READ:
        code = tlsrig__err_set(err, TLSRIG_ERR_WANT_READ, "%s: want read", what);
        break;
    case SSL_ERROR_WANT_WRITE:
        code = tlsrig__err_set(err, TLSRIG_ERR_WANT_WRITE, "%s: want write", what);
        break;
    case SSL_ERROR_WANT_X509_LOOKUP:
        code = tlsrig__err_set(err, TLSRIG_ERR_WANT_X509_LOOKUP, "%s: want X509 lookup", what);
        break;
    case SSL_ERROR_ZERO_RETURN:
        /* After a fatal alert OpenSSL marks the connection as shut down, so a later call reads
         * as a clean close; it is not one. */
        if (conn->failed) {
            code = tlsrig__err_set(err, TLSRIG_ERR_SSL,
                                   "%s: the connection failed earlier and cannot be used", what);
            break;
        }
        code = tlsrig__err_set(err, TLSRIG_ERR_ZERO_RETURN, "%s: the peer sent close_notify", what);
        break;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && ret < 0 && saved_errno != 0) {
            code = tlsrig__err_set(err, TLSRIG_ERR_SYSCALL, "%s: %s", what, strerror(saved_errno));
            err->sys_errno = saved_errno;
        } else if (conn->into_ssl != NULL && !conn->bio_eof) {
            /* A memory BIO cannot hit EOF before bio_shutdown: OpenSSL refused the call
             * without queueing a reason (e.g. early data with a non-resumable session). */
            code = tlsrig__err_set(err, TLSRIG_ERR_SYSCALL,
                                   "%s: OpenSSL failed without giving a reason", what);
            err->sys_errno = -1;
        } else {
            code = tlsrig__err_set(err, TLSRIG_ERR_SYSCALL, "%s: unexpected EOF", what);
            err->sys_errno = -1;
        }
        break;
    case SSL_ERROR_SSL:
        code = tlsrig__err_set(err, TLSRIG_ERR_SSL, "%s", what);
        /* OpenSSL 3 reports a transport that ended without close_notify as a protocol error;
         * pyOpenSSL's users know it as SysCallError(-1, "Unexpected EOF"). The queue keeps
         * OpenSSL's own entry. */
        if (queue_has_reason(err, SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
            err->code = code = TLSRIG_ERR_SYSCALL;
            err->sys_errno = -1;
            snprintf(err->message, sizeof(err->message), "%s: unexpected EOF", what);
        }
        break;
    default:
        code = tlsrig__err_set(err, TLSRIG_ERR_SSL, "%s: SSL_get_error %d", what, sslerr);
        break;
    }
    if (code == TLSRIG_ERR_SSL || code == TLSRIG_ERR_SYSCALL)
        conn->failed = 1;
    return code;
}
