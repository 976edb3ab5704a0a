/*
 * ctx.c - tlsrig_ctx: pyOpenSSL's Context on an SSL_CTX.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"

static atomic_uint_fast64_t next_ctx_id = 1;

int tlsrig__check_readable(tlsrig_error *err, const char *path, const char *what)
{
    if (path == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT, "%s: no file given", what);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        int code = tlsrig__err_set(err, TLSRIG_ERR_SYSCALL, "%s: cannot open %s: %s", what, path,
                                   strerror(e));
        if (err != NULL)
            err->sys_errno = e;
        return code;
    }
    fclose(f);
    return 0;
}

/* Resolve a TLSRIG_*_METHOD to an OpenSSL method and the version it pins (0: none). */
static int resolve_method(int method, const SSL_METHOD **out, int *pin, tlsrig_error *err)
{
    *pin = 0;
    switch (method) {
    case TLSRIG_SSLV2_METHOD:
        return tlsrig__err_set(err, TLSRIG_ERR_UNSUPPORTED,
                               "SSLv2_METHOD: SSLv2 is not available in OpenSSL %s",
                               OpenSSL_version(OPENSSL_VERSION_STRING));
    case TLSRIG_SSLV3_METHOD:
#ifdef OPENSSL_NO_SSL3_METHOD
        return tlsrig__err_set(err, TLSRIG_ERR_UNSUPPORTED,
                               "SSLv3_METHOD: the linked OpenSSL was built without SSLv3");
#else
        *out = TLS_method();
        *pin = SSL3_VERSION;
        return 0;
#endif
    case TLSRIG_SSLV23_METHOD:
    case TLSRIG_TLS_METHOD:
        *out = TLS_method();
        return 0;
    case TLSRIG_TLSV1_METHOD:
        *out = TLS_method();
        *pin = TLS1_VERSION;
        return 0;
    case TLSRIG_TLSV1_1_METHOD:
        *out = TLS_method();
        *pin = TLS1_1_VERSION;
        return 0;
    case TLSRIG_TLSV1_2_METHOD:
        *out = TLS_method();
        *pin = TLS1_2_VERSION;
        return 0;
    case TLSRIG_TLS_SERVER_METHOD:
        *out = TLS_server_method();
        return 0;
    case TLSRIG_TLS_CLIENT_METHOD:
        *out = TLS_client_method();
        return 0;
    default:
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT, "unknown method %d", method);
    }
}

int tlsrig_ctx_new_ex(int method, tlsrig_det *det, tlsrig_ctx **out, tlsrig_error *err)
{
    const SSL_METHOD *m = NULL;
    int pin = 0, rc;
    tlsrig_ctx *ctx = NULL;

    ERR_clear_error();
    tlsrig__err_clear(err);
    if (out == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT, "ctx_new: out is NULL");
    *out = NULL;
    if ((rc = resolve_method(method, &m, &pin, err)) < 0)
        return rc;

    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return tlsrig__err_set(err, TLSRIG_ERR_NOMEM, "ctx_new: out of memory");
    atomic_init(&ctx->refs, 1);
    ctx->id = atomic_fetch_add(&next_ctx_id, 1);
    ctx->ssl_ctx = SSL_CTX_new_ex(det != NULL ? det->libctx : NULL, NULL, m);
    if (ctx->ssl_ctx == NULL) {
        rc = tlsrig__err_set(err, TLSRIG_ERR_SSL, "ctx_new: SSL_CTX_new failed");
        goto fail;
    }
    if (!SSL_CTX_set_ex_data(ctx->ssl_ctx, tlsrig__ctx_index(), ctx)) {
        rc = tlsrig__err_set(err, TLSRIG_ERR_NOMEM, "ctx_new: SSL_CTX_set_ex_data failed");
        goto fail;
    }
    if (det != NULL) {
        tlsrig__det_up_ref(det);
        ctx->det = det;
    }
    /* pyOpenSSL turns partial writes on for every context; sendall loops over them. */
    SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
    if (pin != 0 && (!SSL_CTX_set_min_proto_version(ctx->ssl_ctx, pin) ||
                     !SSL_CTX_set_max_proto_version(ctx->ssl_ctx, pin))) {
        rc = tlsrig__err_set(err, TLSRIG_ERR_UNSUPPORTED,
                             "ctx_new: method %d: version 0x%04x not available", method, pin);
        goto fail;
    }
    SSL_CTX_set_default_passwd_cb(ctx->ssl_ctx, tlsrig__ctx_passwd_trampoline);
    SSL_CTX_set_default_passwd_cb_userdata(ctx->ssl_ctx, ctx);
    tlsrig__ctx_install_callbacks(ctx);
    *out = ctx;
    return 0;

fail:
    tlsrig_ctx_free(ctx);
    return rc;
}

int tlsrig_ctx_new(int method, tlsrig_ctx **out, tlsrig_error *err)
{
    return tlsrig_ctx_new_ex(method, tlsrig__det_default(), out, err);
}

static int new_default(int method, int client, tlsrig_ctx **out, tlsrig_error *err)
{
    tlsrig_ctx *ctx = NULL;
    if (out == NULL) {
        tlsrig__begin(err);
        return tlsrig__err_set(err, TLSRIG_ERR_INVALID_ARGUMENT, "ctx_new_default: out is NULL");
    }
    *out = NULL;
    int rc = tlsrig_ctx_new(method, &ctx, err);
    if (rc < 0)
        return rc;
    if ((rc = tlsrig_ctx_set_min_proto_version(ctx, TLS1_2_VERSION)) < 0 ||
        (rc = tlsrig_ctx_set_default_verify_paths(ctx)) < 0)
        goto fail;
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_COMPRESSION);
    if (client) {
        if ((rc = tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL)) < 0 ||
            (rc = tlsrig_ctx_set_check_hostname(ctx, 1)) < 0)
            goto fail;
    }
    *out = ctx;
    return 0;
fail:
    if (err != NULL)
        *err = ctx->err;
    tlsrig_ctx_free(ctx);
    return rc;
}

int tlsrig_ctx_new_default_client(tlsrig_ctx **out, tlsrig_error *err)
{
    return new_default(TLSRIG_TLS_CLIENT_METHOD, 1, out, err);
}

int tlsrig_ctx_new_default_server(tlsrig_ctx **out, tlsrig_error *err)
{
    return new_default(TLSRIG_TLS_SERVER_METHOD, 0, out, err);
}

void tlsrig_ctx_up_ref(tlsrig_ctx *ctx)
{
    if (ctx != NULL)
        tlsrig__ref_up(&ctx->refs);
}

void tlsrig_ctx_free(tlsrig_ctx *ctx)
{
    if (ctx == NULL || !tlsrig__ref_down(&ctx->refs))
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    tlsrig_det_free(ctx->det);
    free(ctx);
}

const tlsrig_error *tlsrig_ctx_last_error(const tlsrig_ctx *ctx)
{
    return &ctx->err;
}

SSL_CTX *tlsrig_ctx_get0_ssl_ctx(const tlsrig_ctx *ctx)
{
    return ctx->ssl_ctx;
}

/* ---- certificates and keys ---- */

static int filetype_ok(tlsrig_ctx *ctx, int filetype, const char *what)
{
    if (filetype != SSL_FILETYPE_PEM && filetype != SSL_FILETYPE_ASN1)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: filetype must be FILETYPE_PEM or FILETYPE_ASN1, not %d", what,
                               filetype);
    return 0;
}

int tlsrig_ctx_use_certificate(tlsrig_ctx *ctx, X509 *cert)
{
    tlsrig__begin(&ctx->err);
    if (cert == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "use_certificate: certificate is NULL");
    if (!SSL_CTX_use_certificate(ctx->ssl_ctx, cert))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "use_certificate");
    return 0;
}

int tlsrig_ctx_use_certificate_file(tlsrig_ctx *ctx, const char *path, int filetype)
{
    int rc;
    tlsrig__begin(&ctx->err);
    if ((rc = filetype_ok(ctx, filetype, "use_certificate_file")) < 0 ||
        (rc = tlsrig__check_readable(&ctx->err, path, "use_certificate_file")) < 0)
        return rc;
    if (!SSL_CTX_use_certificate_file(ctx->ssl_ctx, path, filetype))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "use_certificate_file: %s", path);
    return 0;
}

int tlsrig_ctx_use_certificate_chain_file(tlsrig_ctx *ctx, const char *path)
{
    int rc;
    tlsrig__begin(&ctx->err);
    if ((rc = tlsrig__check_readable(&ctx->err, path, "use_certificate_chain_file")) < 0)
        return rc;
    if (!SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, path))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "use_certificate_chain_file: %s", path);
    return 0;
}

int tlsrig_ctx_add_extra_chain_cert(tlsrig_ctx *ctx, X509 *cert)
{
    tlsrig__begin(&ctx->err);
    if (cert == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "add_extra_chain_cert: certificate is NULL");
    /* SSL_CTX_add_extra_chain_cert takes ownership on success only. */
    X509_up_ref(cert);
    if (!SSL_CTX_add_extra_chain_cert(ctx->ssl_ctx, cert)) {
        X509_free(cert);
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "add_extra_chain_cert");
    }
    return 0;
}

int tlsrig_ctx_use_privatekey(tlsrig_ctx *ctx, EVP_PKEY *pkey)
{
    tlsrig__begin(&ctx->err);
    if (pkey == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "use_privatekey: key is NULL");
    if (!SSL_CTX_use_PrivateKey(ctx->ssl_ctx, pkey))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "use_privatekey");
    return 0;
}

int tlsrig_ctx_use_privatekey_file(tlsrig_ctx *ctx, const char *path, int filetype)
{
    int rc;
    tlsrig__begin(&ctx->err);
    if ((rc = filetype_ok(ctx, filetype, "use_privatekey_file")) < 0 ||
        (rc = tlsrig__check_readable(&ctx->err, path, "use_privatekey_file")) < 0)
        return rc;
    ctx->passwd_failed = 0;
    int ok = SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, path, filetype);
    if (ctx->passwd_failed) {
        ctx->passwd_failed = 0;
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_CALLBACK,
                               "use_privatekey_file: %s: the password callback failed", path);
    }
    if (!ok)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "use_privatekey_file: %s", path);
    return 0;
}

int tlsrig_ctx_check_privatekey(tlsrig_ctx *ctx)
{
    tlsrig__begin(&ctx->err);
    if (!SSL_CTX_check_private_key(ctx->ssl_ctx))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "check_privatekey");
    return 0;
}

void tlsrig_ctx_set_passwd_cb(tlsrig_ctx *ctx, tlsrig_passwd_cb cb, void *arg)
{
    ctx->passwd_cb = cb;
    ctx->passwd_arg = arg;
}

/* ---- trust and verification ---- */

int tlsrig_ctx_load_verify_locations(tlsrig_ctx *ctx, const char *cafile, const char *capath)
{
    int rc;
    tlsrig__begin(&ctx->err);
    if (cafile == NULL && capath == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "load_verify_locations: neither cafile nor capath given");
    if (cafile != NULL &&
        (rc = tlsrig__check_readable(&ctx->err, cafile, "load_verify_locations")) < 0)
        return rc;
    if (!SSL_CTX_load_verify_locations(ctx->ssl_ctx, cafile, capath))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "load_verify_locations: %s%s%s",
                               cafile ? cafile : "", cafile && capath ? ", " : "",
                               capath ? capath : "");
    return 0;
}

int tlsrig_ctx_set_default_verify_paths(tlsrig_ctx *ctx)
{
    tlsrig__begin(&ctx->err);
    if (!SSL_CTX_set_default_verify_paths(ctx->ssl_ctx))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "set_default_verify_paths");
    return 0;
}

X509_STORE *tlsrig_ctx_get_cert_store(tlsrig_ctx *ctx)
{
    return SSL_CTX_get_cert_store(ctx->ssl_ctx);
}

int tlsrig__verify_trampoline(int preverify_ok, X509_STORE_CTX *xctx);

int tlsrig_ctx_set_verify(tlsrig_ctx *ctx, int mode, tlsrig_verify_cb cb, void *arg)
{
    tlsrig__begin(&ctx->err);
    const int known = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE |
                      SSL_VERIFY_POST_HANDSHAKE;
    if (mode & ~known)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_verify: unknown mode bits 0x%x", mode & ~known);
    if ((mode &
         (SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE | SSL_VERIFY_POST_HANDSHAKE)) &&
        !(mode & SSL_VERIFY_PEER))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_verify: VERIFY_FAIL_IF_NO_PEER_CERT, VERIFY_CLIENT_ONCE and "
                               "VERIFY_POST_HANDSHAKE require VERIFY_PEER");
    if (ctx->check_hostname && !(mode & SSL_VERIFY_PEER))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_verify: check_hostname is on and needs VERIFY_PEER");
    ctx->verify_cb = cb;
    ctx->verify_arg = arg;
    SSL_CTX_set_verify(ctx->ssl_ctx, mode, cb != NULL ? tlsrig__verify_trampoline : NULL);
    return 0;
}

int tlsrig_ctx_get_verify_mode(const tlsrig_ctx *ctx)
{
    return SSL_CTX_get_verify_mode(ctx->ssl_ctx);
}

int tlsrig_ctx_set_verify_depth(tlsrig_ctx *ctx, int depth)
{
    tlsrig__begin(&ctx->err);
    if (depth < 0)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_verify_depth: depth %d is negative", depth);
    SSL_CTX_set_verify_depth(ctx->ssl_ctx, depth);
    return 0;
}

int tlsrig_ctx_get_verify_depth(const tlsrig_ctx *ctx)
{
    /* OpenSSL reports -1 until a depth is set, which would read as TLSRIG_ERR_WANT_READ;
     * report the limit actually in force then (OpenSSL's default of 100). */
    int depth = SSL_CTX_get_verify_depth(ctx->ssl_ctx);
    return depth < 0 ? 100 : depth;
}

int tlsrig_ctx_set_check_hostname(tlsrig_ctx *ctx, int on)
{
    tlsrig__begin(&ctx->err);
    if (on && !(SSL_CTX_get_verify_mode(ctx->ssl_ctx) & SSL_VERIFY_PEER))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_check_hostname: needs VERIFY_PEER first");
    ctx->check_hostname = on != 0;
    return 0;
}

int tlsrig_ctx_get_check_hostname(const tlsrig_ctx *ctx)
{
    return ctx->check_hostname;
}

/* ---- client CA list ---- */

int tlsrig_ctx_set_client_ca_list(tlsrig_ctx *ctx, X509_NAME *const *names, size_t n)
{
    tlsrig__begin(&ctx->err);
    if (names == NULL && n > 0)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_client_ca_list: names is NULL");
    STACK_OF(X509_NAME) *sk = sk_X509_NAME_new_null();
    if (sk == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_NOMEM, "set_client_ca_list");
    for (size_t i = 0; i < n; i++) {
        X509_NAME *dup = names[i] != NULL ? X509_NAME_dup(names[i]) : NULL;
        if (dup == NULL || !sk_X509_NAME_push(sk, dup)) {
            X509_NAME_free(dup);
            sk_X509_NAME_pop_free(sk, X509_NAME_free);
            return tlsrig__err_set(
                &ctx->err, names[i] == NULL ? TLSRIG_ERR_INVALID_ARGUMENT : TLSRIG_ERR_NOMEM,
                "set_client_ca_list: name %zu", i);
        }
    }
    SSL_CTX_set_client_CA_list(ctx->ssl_ctx, sk);
    return 0;
}

int tlsrig_ctx_add_client_ca(tlsrig_ctx *ctx, X509 *cacert)
{
    tlsrig__begin(&ctx->err);
    if (cacert == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "add_client_ca: certificate is NULL");
    if (!SSL_CTX_add_client_CA(ctx->ssl_ctx, cacert))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "add_client_ca");
    return 0;
}

int tlsrig_ctx_load_client_ca(tlsrig_ctx *ctx, const char *cafile)
{
    int rc;
    tlsrig__begin(&ctx->err);
    if ((rc = tlsrig__check_readable(&ctx->err, cafile, "load_client_ca")) < 0)
        return rc;
    STACK_OF(X509_NAME) *sk =
        SSL_load_client_CA_file_ex(cafile, ctx->det != NULL ? ctx->det->libctx : NULL, NULL);
    if (sk == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "load_client_ca: %s holds no certificate",
                               cafile);
    SSL_CTX_set_client_CA_list(ctx->ssl_ctx, sk);
    return 0;
}

/* ---- key exchange and ciphers ---- */

int tlsrig_ctx_load_tmp_dh(tlsrig_ctx *ctx, const char *dhfile)
{
    int rc;
    tlsrig__begin(&ctx->err);
    if ((rc = tlsrig__check_readable(&ctx->err, dhfile, "load_tmp_dh")) < 0)
        return rc;
    BIO *bio = BIO_new_file(dhfile, "r");
    if (bio == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SYSCALL, "load_tmp_dh: %s", dhfile);
    EVP_PKEY *dh =
        PEM_read_bio_Parameters_ex(bio, NULL, ctx->det != NULL ? ctx->det->libctx : NULL, NULL);
    BIO_free(bio);
    if (dh == NULL || EVP_PKEY_get_base_id(dh) != EVP_PKEY_DH) {
        EVP_PKEY_free(dh);
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "load_tmp_dh: %s holds no DH parameters",
                               dhfile);
    }
    if (!SSL_CTX_set0_tmp_dh_pkey(ctx->ssl_ctx, dh)) {
        EVP_PKEY_free(dh);
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "load_tmp_dh: %s", dhfile);
    }
    return 0;
}

int tlsrig_ctx_set_tmp_ecdh(tlsrig_ctx *ctx, const char *curve)
{
    tlsrig__begin(&ctx->err);
    if (curve == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT, "set_tmp_ecdh: no curve");
    int nid = EC_curve_nist2nid(curve);
    if (nid == NID_undef)
        nid = OBJ_sn2nid(curve);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(curve);
    ERR_clear_error();
    if (nid == NID_undef || !SSL_CTX_set1_groups(ctx->ssl_ctx, &nid, 1))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_tmp_ecdh: unknown or unusable curve '%s'", curve);
    return 0;
}

int tlsrig_ctx_set_groups(tlsrig_ctx *ctx, const char *groups)
{
    tlsrig__begin(&ctx->err);
    if (groups == NULL || !SSL_CTX_set1_groups_list(ctx->ssl_ctx, groups))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_groups: invalid group list '%s'", groups ? groups : "(null)");
    return 0;
}

int tlsrig_ctx_set_cipher_list(tlsrig_ctx *ctx, const char *list)
{
    tlsrig__begin(&ctx->err);
    if (list == NULL)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_cipher_list: list is NULL");
    if (!SSL_CTX_set_cipher_list(ctx->ssl_ctx, list))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "set_cipher_list: '%s' selects no cipher",
                               list);
    return 0;
}

int tlsrig_ctx_set_ciphersuites(tlsrig_ctx *ctx, const char *suites)
{
    tlsrig__begin(&ctx->err);
    if (suites == NULL || !SSL_CTX_set_ciphersuites(ctx->ssl_ctx, suites))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL,
                               "set_ciphersuites: invalid TLS 1.3 ciphersuites '%s'",
                               suites ? suites : "(null)");
    return 0;
}

/* ---- options, modes, versions ---- */

uint64_t tlsrig_ctx_set_options(tlsrig_ctx *ctx, uint64_t op)
{
    return SSL_CTX_set_options(ctx->ssl_ctx, op);
}

uint64_t tlsrig_ctx_clear_options(tlsrig_ctx *ctx, uint64_t op)
{
    return SSL_CTX_clear_options(ctx->ssl_ctx, op);
}

long tlsrig_ctx_set_mode(tlsrig_ctx *ctx, long mode)
{
    return SSL_CTX_set_mode(ctx->ssl_ctx, mode);
}

static int version_known(int v)
{
    switch (v) {
    case 0:
    case SSL3_VERSION:
    case TLS1_VERSION:
    case TLS1_1_VERSION:
    case TLS1_2_VERSION:
    case TLS1_3_VERSION:
        return 1;
    default:
        return 0;
    }
}

int tlsrig_ctx_set_min_proto_version(tlsrig_ctx *ctx, int version)
{
    tlsrig__begin(&ctx->err);
    if (!version_known(version) || !SSL_CTX_set_min_proto_version(ctx->ssl_ctx, version))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_min_proto_version: version 0x%04x not available", version);
    return 0;
}

int tlsrig_ctx_set_max_proto_version(tlsrig_ctx *ctx, int version)
{
    tlsrig__begin(&ctx->err);
    if (!version_known(version) || !SSL_CTX_set_max_proto_version(ctx->ssl_ctx, version))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_max_proto_version: version 0x%04x not available", version);
    return 0;
}

int tlsrig_ctx_get_min_proto_version(const tlsrig_ctx *ctx)
{
    return (int)SSL_CTX_get_min_proto_version(ctx->ssl_ctx);
}

int tlsrig_ctx_get_max_proto_version(const tlsrig_ctx *ctx)
{
    return (int)SSL_CTX_get_max_proto_version(ctx->ssl_ctx);
}

/* ---- sessions ---- */

int tlsrig_ctx_set_session_id(tlsrig_ctx *ctx, const uint8_t *id, size_t len)
{
    tlsrig__begin(&ctx->err);
    if ((id == NULL && len > 0) || len > SSL_MAX_SID_CTX_LENGTH)
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "set_session_id: session id context of %zu bytes (at most %d)", len,
                               SSL_MAX_SID_CTX_LENGTH);
    if (!SSL_CTX_set_session_id_context(ctx->ssl_ctx, id, (unsigned int)len))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "set_session_id");
    return 0;
}

long tlsrig_ctx_set_session_cache_mode(tlsrig_ctx *ctx, long mode)
{
    return SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, mode);
}

long tlsrig_ctx_get_session_cache_mode(const tlsrig_ctx *ctx)
{
    return SSL_CTX_get_session_cache_mode(ctx->ssl_ctx);
}

long tlsrig_ctx_set_timeout(tlsrig_ctx *ctx, long seconds)
{
    return SSL_CTX_set_timeout(ctx->ssl_ctx, seconds);
}

long tlsrig_ctx_get_timeout(const tlsrig_ctx *ctx)
{
    return SSL_CTX_get_timeout(ctx->ssl_ctx);
}

int tlsrig_ctx_set_num_tickets(tlsrig_ctx *ctx, size_t n)
{
    tlsrig__begin(&ctx->err);
    if (!SSL_CTX_set_num_tickets(ctx->ssl_ctx, n))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "set_num_tickets");
    return 0;
}

size_t tlsrig_ctx_get_num_tickets(const tlsrig_ctx *ctx)
{
    return SSL_CTX_get_num_tickets(ctx->ssl_ctx);
}

/* ---- app data ---- */

void tlsrig_ctx_set_app_data(tlsrig_ctx *ctx, void *data)
{
    ctx->app_data = data;
}

void *tlsrig_ctx_get_app_data(const tlsrig_ctx *ctx)
{
    return ctx->app_data;
}

/* ---- ALPN, TLS 1.3 extras ---- */

int tlsrig_ctx_set_alpn_protos(tlsrig_ctx *ctx, const tlsrig_bytes *protos, size_t n)
{
    tlsrig__begin(&ctx->err);
    return tlsrig__set_alpn_protos(&ctx->err, ctx->ssl_ctx, NULL, protos, n);
}

int tlsrig_ctx_set_post_handshake_auth(tlsrig_ctx *ctx, int on)
{
    tlsrig__begin(&ctx->err);
    SSL_CTX_set_post_handshake_auth(ctx->ssl_ctx, on != 0);
    return 0;
}

int tlsrig_ctx_set_max_early_data(tlsrig_ctx *ctx, uint32_t bytes)
{
    tlsrig__begin(&ctx->err);
    if (!SSL_CTX_set_max_early_data(ctx->ssl_ctx, bytes))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "set_max_early_data");
    /* A server only reads what it announced it can receive. With 0 it accepts nothing, but
     * it must still skip the early data of a client holding an older 0-RTT ticket (RFC 8446
     * §4.2.10); OpenSSL's skip budget is this same limit, so keep its default there. */
    if (!SSL_CTX_set_recv_max_early_data(ctx->ssl_ctx,
                                         bytes > 0 ? bytes : SSL3_RT_MAX_PLAIN_LENGTH))
        return tlsrig__err_set(&ctx->err, TLSRIG_ERR_SSL, "set_max_early_data");
    return 0;
}
