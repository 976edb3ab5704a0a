/*
 * conn_info.c - what a connection negotiated: cipher, version, protocols, certificates,
 * randoms, secrets, Finished messages, exported keying material.
 */
#include <string.h>

#include "internal.h"

/* Copy |len| bytes of a value into |buf| or report why not. */
static int copy_out(tlsrig_conn *conn, const char *what, const uint8_t *val, size_t len,
                    uint8_t *buf, size_t cap)
{
    if (len == 0)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_NOT_AVAILABLE, "%s: not available yet", what);
    if (buf == NULL || cap < len)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: buffer of %zu bytes, %zu needed", what, cap, len);
    memcpy(buf, val, len);
    return (int)len;
}

/* The getters below take a const connection but record errors in it, like every failing
 * call; the error record is the one mutable part of a connection a reader may touch. */
static tlsrig_conn *unconst(const tlsrig_conn *conn)
{
    return (tlsrig_conn *)conn;
}

int tlsrig_conn_client_random(const tlsrig_conn *conn, uint8_t *buf, size_t cap)
{
    uint8_t tmp[SSL3_RANDOM_SIZE];
    tlsrig__begin(&unconst(conn)->err);
    size_t len = SSL_get_client_random(conn->ssl, tmp, sizeof(tmp));
    /* Before a ClientHello exists OpenSSL returns zeros: that is "not available". */
    static const uint8_t zero[SSL3_RANDOM_SIZE];
    if (len == sizeof(tmp) && memcmp(tmp, zero, sizeof(tmp)) == 0)
        len = 0;
    return copy_out(unconst(conn), "client_random", tmp, len, buf, cap);
}

int tlsrig_conn_server_random(const tlsrig_conn *conn, uint8_t *buf, size_t cap)
{
    uint8_t tmp[SSL3_RANDOM_SIZE];
    tlsrig__begin(&unconst(conn)->err);
    size_t len = SSL_get_server_random(conn->ssl, tmp, sizeof(tmp));
    static const uint8_t zero[SSL3_RANDOM_SIZE];
    if (len == sizeof(tmp) && memcmp(tmp, zero, sizeof(tmp)) == 0)
        len = 0;
    return copy_out(unconst(conn), "server_random", tmp, len, buf, cap);
}

int tlsrig_conn_master_key(const tlsrig_conn *conn, uint8_t *buf, size_t cap)
{
    uint8_t tmp[EVP_MAX_MD_SIZE > SSL_MAX_MASTER_KEY_LENGTH ? EVP_MAX_MD_SIZE
                                                            : SSL_MAX_MASTER_KEY_LENGTH];
    tlsrig__begin(&unconst(conn)->err);
    SSL_SESSION *sess = SSL_get_session(conn->ssl);
    size_t len = sess != NULL ? SSL_SESSION_get_master_key(sess, tmp, sizeof(tmp)) : 0;
    return copy_out(unconst(conn), "master_key", tmp, len, buf, cap);
}

int tlsrig_conn_get_finished(const tlsrig_conn *conn, uint8_t *buf, size_t cap)
{
    uint8_t tmp[EVP_MAX_MD_SIZE];
    tlsrig__begin(&unconst(conn)->err);
    size_t len = SSL_get_finished(conn->ssl, tmp, sizeof(tmp));
    return copy_out(unconst(conn), "get_finished", tmp, len, buf, cap);
}

int tlsrig_conn_get_peer_finished(const tlsrig_conn *conn, uint8_t *buf, size_t cap)
{
    uint8_t tmp[EVP_MAX_MD_SIZE];
    tlsrig__begin(&unconst(conn)->err);
    size_t len = SSL_get_peer_finished(conn->ssl, tmp, sizeof(tmp));
    return copy_out(unconst(conn), "get_peer_finished", tmp, len, buf, cap);
}

int tlsrig_conn_export_keying_material(tlsrig_conn *conn, uint8_t *out, size_t olen,
                                       const char *label, const uint8_t *context,
                                       size_t context_len)
{
    tlsrig__begin(&conn->err);
    if (out == NULL || olen == 0 || label == NULL || (context == NULL && context_len > 0))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "export_keying_material: need an output buffer and a label");
    if (!SSL_is_init_finished(conn->ssl))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL,
                               "export_keying_material: the handshake has not completed");
    if (!SSL_export_keying_material(conn->ssl, out, olen, label, strlen(label), context,
                                    context_len, context != NULL))
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_SSL, "export_keying_material");
    return 0;
}

/* ---- cipher and version ---- */

const char *tlsrig_conn_get_cipher_name(const tlsrig_conn *conn)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(conn->ssl);
    return c != NULL ? SSL_CIPHER_get_name(c) : NULL;
}

int tlsrig_conn_get_cipher_bits(const tlsrig_conn *conn)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(conn->ssl);
    if (c == NULL)
        return TLSRIG_ERR_NOT_AVAILABLE;
    return SSL_CIPHER_get_bits(c, NULL);
}

const char *tlsrig_conn_get_cipher_version(const tlsrig_conn *conn)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(conn->ssl);
    return c != NULL ? SSL_CIPHER_get_version(c) : NULL;
}

int tlsrig_conn_get_cipher_list(const tlsrig_conn *conn, const char **names, size_t cap)
{
    int total = 0;
    const char *name;
    while ((name = SSL_get_cipher_list(conn->ssl, total)) != NULL) {
        if (names != NULL && (size_t)total < cap)
            names[total] = name;
        total++;
    }
    return total;
}

int tlsrig_conn_get_protocol_version(const tlsrig_conn *conn)
{
    return SSL_version(conn->ssl);
}

const char *tlsrig_conn_get_protocol_version_name(const tlsrig_conn *conn)
{
    /* OpenSSL 3.0 names the method's highest version ("TLSv1.3") before any handshake. */
    if (SSL_in_before(conn->ssl))
        return "unknown";
    return SSL_get_version(conn->ssl);
}

int tlsrig_conn_get_alpn_proto_negotiated(const tlsrig_conn *conn, const uint8_t **out)
{
    const unsigned char *p = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(conn->ssl, &p, &len);
    if (out != NULL)
        *out = p;
    return (int)len;
}

int tlsrig_conn_get_next_proto_negotiated(const tlsrig_conn *conn, const uint8_t **out)
{
    const unsigned char *p = NULL;
    unsigned int len = 0;
    SSL_get0_next_proto_negotiated(conn->ssl, &p, &len);
    if (out != NULL)
        *out = p;
    return (int)len;
}

/* ---- certificates ---- */

X509 *tlsrig_conn_get_peer_certificate(const tlsrig_conn *conn)
{
    return SSL_get1_peer_certificate(conn->ssl);
}

static STACK_OF(X509) * dup_chain(STACK_OF(X509) * sk)
{
    if (sk == NULL || sk_X509_num(sk) == 0)
        return NULL;
    STACK_OF(X509) *copy = sk_X509_new_null();
    if (copy == NULL)
        return NULL;
    for (int i = 0; i < sk_X509_num(sk); i++) {
        X509 *c = sk_X509_value(sk, i);
        if (!X509_up_ref(c) || !sk_X509_push(copy, c)) {
            X509_free(c);
            sk_X509_pop_free(copy, X509_free);
            return NULL;
        }
    }
    return copy;
}

STACK_OF(X509) * tlsrig_conn_get_peer_cert_chain(const tlsrig_conn *conn)
{
    return dup_chain(SSL_get_peer_cert_chain(conn->ssl));
}

STACK_OF(X509) * tlsrig_conn_get_verified_chain(const tlsrig_conn *conn)
{
    return dup_chain(SSL_get0_verified_chain(conn->ssl));
}

long tlsrig_conn_get_verify_result(const tlsrig_conn *conn)
{
    return SSL_get_verify_result(conn->ssl);
}

STACK_OF(X509_NAME) * tlsrig_conn_get_client_ca_list(const tlsrig_conn *conn)
{
    STACK_OF(X509_NAME) *sk = SSL_get_client_CA_list(conn->ssl);
    return sk != NULL && sk_X509_NAME_num(sk) > 0 ? sk : NULL;
}

/* ---- state ---- */

const char *tlsrig_conn_get_state_string(const tlsrig_conn *conn)
{
    return SSL_state_string_long(conn->ssl);
}

int tlsrig_conn_want_read(const tlsrig_conn *conn)
{
    return SSL_want_read(conn->ssl) ? 1 : 0;
}

int tlsrig_conn_want_write(const tlsrig_conn *conn)
{
    return SSL_want_write(conn->ssl) ? 1 : 0;
}
