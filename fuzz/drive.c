/*
 * drive.c - the driver: one connection and its peer on the two ends of a wire pump; the
 * connection is given its peer's bytes piece by piece, runs an op after each piece, and what
 * it writes crosses to the peer. Every loop is bounded, by the input or by a constant where
 * OpenSSL could otherwise keep answering. The peer is a fuzz input (a feed, here) or a live
 * connection (peer_target.c, seeds.c).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness.h"

#define FZ_MAX_READS 64      /* reads per drive; each one consumes input or stops the loop */
#define FZ_MAX_PIECES 100000 /* pieces per exchange; an input of max_len has fewer */
#define FZ_PAYLOAD 65536
#define FZ_AFTER_FAILURE 2 /* pieces still run once the connection has failed */

/* Sizes for FZ_OP_SEND (and FZ_OP_EARLY) by argument: around the record limits of RFC 8446
 * §5.1 (2^14 bytes of plaintext) and OpenSSL's buffer sizes. */
static const size_t fz_send_sizes[16] = {16,    1,     2,     100,   255,   256,   1000,  4096,
                                         16383, 16384, 16385, 20000, 32768, 40000, 65536, 3};

/* The ops an ACTIONS bit runs once a raw payload is used up, in bit order. */
static const uint8_t fz_action_ops[8] = {FZ_OP(FZ_OP_SEND, 0),        FZ_OP(FZ_OP_KEY_UPDATE, 1),
                                         FZ_OP(FZ_OP_RENEGOTIATE, 0), FZ_OP(FZ_OP_PHA, 0),
                                         FZ_OP(FZ_OP_INFO, 0),        FZ_OP(FZ_OP_SESSION, 0),
                                         FZ_OP(FZ_OP_SHUTDOWN, 0),    FZ_OP(FZ_OP_EOF, 0)};

static uint8_t *payload(void)
{
    static uint8_t buf[FZ_PAYLOAD];
    static int ready;
    if (!ready) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)('a' + i % 26);
        ready = 1;
    }
    return buf;
}

/* Only the target's doings count towards fz_digest: a live peer's are not part of a replay. */
static void digest(const fz_conn *fc, const void *data, size_t len)
{
    if (fc->side == FZ_SIDE_TARGET)
        fz_digest_add(data, len);
}

static void digest_int(const fz_conn *fc, long v)
{
    digest(fc, &v, sizeof(v));
}

static int note(fz_conn *fc, int rc)
{
    /* After these OpenSSL refuses every call; a close_notify (ZERO_RETURN) still lets the
     * connection write and shut down. */
    if (rc == TLSRIG_ERR_SSL || rc == TLSRIG_ERR_SYSCALL || rc == TLSRIG_ERR_CALLBACK)
        fc->failed = 1;
    return rc;
}

/* Server: take the client's 0-RTT data before the handshake goes on (RFC 8446 §4.2.10); a
 * handshake call first would make OpenSSL skip it. */
static void read_early(fz_conn *fc)
{
    uint8_t buf[4096];
    for (int i = 0; i < FZ_MAX_READS; i++) {
        int rc = tlsrig_conn_read_early_data(fc->conn, buf, sizeof(buf));
        if (rc > 0) {
            digest(fc, buf, (size_t)rc);
            continue;
        }
        if (rc != TLSRIG_ERR_WANT_READ)
            fc->early_done = 1;
        note(fc, rc);
        return;
    }
}

/* Advance the handshake; once it is complete, read what arrived, which also runs the
 * post-handshake messages (tickets, KeyUpdate, CertificateRequest, HelloRequest). */
static void drive(fz_conn *fc)
{
    uint8_t buf[4096];
    SSL *ssl = tlsrig_conn_get0_ssl(fc->conn);

    if (fc->is_server && !fc->early_done && !fc->done && SSL_get_max_early_data(ssl) > 0)
        read_early(fc);
    if (!fc->done || SSL_in_init(ssl)) {
        int rc = note(fc, tlsrig_conn_do_handshake(fc->conn));
        digest_int(fc, rc);
        if (rc < 0)
            return;
        fc->done = 1;
    }
    for (int i = 0; i < FZ_MAX_READS; i++) {
        int rc = note(fc, tlsrig_conn_recv(fc->conn, buf, sizeof(buf), 0));
        digest_int(fc, rc);
        if (rc <= 0)
            return;
        digest(fc, buf, (size_t)rc);
    }
}

/* Every getter of the connection, on whatever state it is in: the engine must answer each
 * one safely before, during and after a handshake, and after a failure. */
static void info(fz_conn *fc)
{
    tlsrig_conn *c = fc->conn;
    uint8_t buf[512];
    const char *names[8];
    const uint8_t *proto = NULL;
    char line[256];

    (void)tlsrig_conn_get_cipher_name(c);
    (void)tlsrig_conn_get_cipher_bits(c);
    (void)tlsrig_conn_get_cipher_version(c);
    digest_int(fc, tlsrig_conn_get_cipher_list(c, names, 8));
    digest_int(fc, tlsrig_conn_get_protocol_version(c));
    (void)tlsrig_conn_get_protocol_version_name(c);
    digest_int(fc, tlsrig_conn_get_alpn_proto_negotiated(c, &proto));
    (void)tlsrig_conn_get_next_proto_negotiated(c, &proto);
    digest_int(fc, tlsrig_conn_client_random(c, buf, sizeof(buf)));
    (void)tlsrig_conn_server_random(c, buf, sizeof(buf));
    (void)tlsrig_conn_master_key(c, buf, sizeof(buf));
    (void)tlsrig_conn_master_key(c, buf, 1); /* too small: the needed size is reported */
    (void)tlsrig_conn_get_finished(c, buf, sizeof(buf));
    (void)tlsrig_conn_get_peer_finished(c, buf, sizeof(buf));
    digest_int(fc, tlsrig_conn_export_keying_material(c, buf, 32, "EXPORTER-tlsrig-fuzz", NULL, 0));
    digest_int(fc, tlsrig_conn_export_keying_material(c, buf, 48, "EXPORTER-tlsrig-fuzz",
                                                      (const uint8_t *)"ctx", 3));
    (void)tlsrig_conn_get_state_string(c);
    (void)tlsrig_conn_want_read(c);
    (void)tlsrig_conn_want_write(c);
    digest_int(fc, tlsrig_conn_pending(c));
    digest_int(fc, tlsrig_conn_get_shutdown(c));
    (void)tlsrig_conn_get_servername(c);
    (void)tlsrig_conn_is_server(c);
    (void)tlsrig_conn_get_context(c);
    digest_int(fc, tlsrig_conn_get_verify_result(c));
    digest_int(fc, tlsrig_conn_session_reused(c));
    (void)tlsrig_conn_renegotiate_pending(c);
    (void)tlsrig_conn_total_renegotiations(c);
    digest_int(fc, tlsrig_conn_get_early_data_status(c));
    (void)tlsrig_conn_bio_pending(c);

    X509 *peer = tlsrig_conn_get_peer_certificate(c);
    if (peer != NULL) {
        X509_NAME_oneline(X509_get_subject_name(peer), line, sizeof(line));
        X509_free(peer);
    }
    STACK_OF(X509) *chain = tlsrig_conn_get_peer_cert_chain(c);
    if (chain != NULL)
        sk_X509_pop_free(chain, X509_free);
    chain = tlsrig_conn_get_verified_chain(c);
    if (chain != NULL)
        sk_X509_pop_free(chain, X509_free);
    STACK_OF(X509_NAME) *cas = tlsrig_conn_get_client_ca_list(c);
    for (int i = 0; cas != NULL && i < sk_X509_NAME_num(cas) && i < 16; i++)
        X509_NAME_oneline(sk_X509_NAME_value(cas, i), line, sizeof(line));
}

/* The session as a caller would keep it: its fields, and a DER round trip (what a client
 * that stores sessions does with one made from a hostile peer's messages). */
static void session(fz_conn *fc)
{
    tlsrig_session *s = NULL;
    uint8_t id[32];
    if (tlsrig_conn_get_session(fc->conn, &s) < 0)
        return;
    digest_int(fc, tlsrig_session_get_id(s, id, sizeof(id)));
    digest_int(fc, tlsrig_session_is_resumable(s));
    digest_int(fc, (long)tlsrig_session_get_time(s));
    digest_int(fc, tlsrig_session_get_timeout(s));
    SSL_SESSION *ss = tlsrig_session_get0_ssl_session(s);
    int n = i2d_SSL_SESSION(ss, NULL);
    if (n > 0 && n < (1 << 20)) {
        uint8_t *der = malloc((size_t)n);
        uint8_t *w = der;
        if (der != NULL && i2d_SSL_SESSION(ss, &w) == n) {
            const uint8_t *r = der;
            SSL_SESSION *back = d2i_SSL_SESSION(NULL, &r, n);
            digest_int(fc, back != NULL);
            SSL_SESSION_free(back);
        }
        free(der);
    }
    tlsrig_session_free(s);
}

size_t fz_send_size(unsigned arg)
{
    return fz_send_sizes[arg & 15];
}

int fz_step(fz_conn *fc, uint8_t op)
{
    tlsrig_conn *c = fc->conn;
    SSL *ssl = tlsrig_conn_get0_ssl(c);
    unsigned a = op >> 4;
    uint8_t buf[64];
    int rc = 0;

    switch (op & 15) {
    case FZ_OP_SEND:
        rc = note(fc, tlsrig_conn_sendall(c, payload(), fz_send_sizes[a], 0));
        digest_int(fc, rc);
        break;
    case FZ_OP_KEY_UPDATE:
        /* RFC 8446 §4.6.3: it goes out with the next write or handshake call */
        if ((rc = tlsrig_conn_key_update(c, a & 1)) == 0)
            digest_int(fc, note(fc, tlsrig_conn_do_handshake(c)));
        break;
    case FZ_OP_RENEGOTIATE:
        if (fz_prefix_get(&fc->prefix, FZ_TAG_MISC, 0) & 0x20) {
            /* offer the current session again (a resumption inside the renegotiation) */
            if ((rc = SSL_renegotiate_abbreviated(ssl)) == 1)
                digest_int(fc, note(fc, tlsrig_conn_do_handshake(c)));
        } else if ((rc = tlsrig_conn_renegotiate(c)) == 1) {
            digest_int(fc, note(fc, tlsrig_conn_do_handshake(c)));
        }
        break;
    case FZ_OP_PHA:
        if ((rc = tlsrig_conn_verify_client_post_handshake(c)) == 0)
            digest_int(fc, note(fc, tlsrig_conn_do_handshake(c)));
        break;
    case FZ_OP_SHUTDOWN:
        rc = note(fc, tlsrig_conn_shutdown(c));
        digest_int(fc, rc);
        break;
    case FZ_OP_PEEK:
        digest_int(fc, note(fc, tlsrig_conn_recv(c, buf, a + 1, TLSRIG_MSG_PEEK)));
        break;
    case FZ_OP_EOF:
        digest_int(fc, wire_endpoint_end(&fc->ep.ep));
        break;
    case FZ_OP_EARLY:
        if (fc->is_server)
            read_early(fc);
        else
            digest_int(fc, note(fc, tlsrig_conn_write_early_data(c, payload(), fz_send_sizes[a])));
        break;
    case FZ_OP_QUIET:
        tlsrig_conn_set_quiet_shutdown(c, 1);
        rc = note(fc, tlsrig_conn_shutdown(c));
        digest_int(fc, rc);
        break;
    case FZ_OP_SET_SHUTDOWN:
        tlsrig_conn_set_shutdown(c, (int)(a & 3));
        break;
    case FZ_OP_INFO:
        info(fc);
        break;
    case FZ_OP_SESSION:
        session(fc);
        break;
    case FZ_OP_READ_SMALL:
        for (int i = 0; i < FZ_MAX_READS * 4; i++) {
            int n = note(fc, tlsrig_conn_recv_into(c, buf, sizeof(buf), a + 1, 0));
            digest_int(fc, n);
            if (n <= 0)
                break;
        }
        break;
    default:
        break;
    }
    drive(fc);
    return rc;
}

/* ---- an exchange ---- */

/* Only the target's doings count towards fz_digest: a live peer's are not part of a replay. */
static int observe(void *arg, int from, const uint8_t *data, size_t len)
{
    fz_exchange *x = arg;
    if (from == x->target_end)
        digest(x->target, data, len);
    return x->observe != NULL ? x->observe(x->observe_arg, from, data, len) : 0;
}

void fz_exchange_init(fz_exchange *x, fz_conn *target, wire_endpoint *peer,
                      wire_observer_fn observe_fn, void *observe_arg)
{
    wire_pump_opts opt = {.observe = observe, .observe_arg = x};
    x->target = target;
    x->peer = peer;
    x->target_end = target->is_server ? WIRE_SERVER : WIRE_CLIENT;
    x->peer_end = !x->target_end;
    x->observe = observe_fn;
    x->observe_arg = observe_arg;
    if (target->is_server)
        wire_pump_init(&x->pump, peer, &target->ep.ep, &opt);
    else
        wire_pump_init(&x->pump, &target->ep.ep, peer, &opt);
}

void fz_exchange_cleanup(fz_exchange *x)
{
    wire_pump_cleanup(&x->pump);
}

void fz_exchange_set_filter(fz_exchange *x, wire_filter_fn filter, void *arg)
{
    x->pump.opt.filter = filter;
    x->pump.opt.filter_arg = arg;
}

static long checked(long moved)
{
    if (moved < 0)
        fz_fatal("the pump failed: %s", tlsrig_err_message((int)moved));
    return moved;
}

long fz_move(fz_exchange *x, int from)
{
    return checked(wire_pump_move(&x->pump, from));
}

long fz_move_one(fz_exchange *x, int from)
{
    return checked(wire_pump_move_one(&x->pump, from));
}

void fz_run(fz_exchange *x, fz_next_fn next, void *arg)
{
    fz_conn *fc = x->target;
    uint8_t op = FZ_OP_DRIVE;
    /* EARLY 1, 2, 3: 16, 1, 1000 bytes of 0-RTT data (fz_send_sizes[0], [1], [6]) */
    static const uint8_t early_arg[4] = {0, 0, 1, 6};
    uint8_t early = fz_prefix_get(&fc->prefix, FZ_TAG_EARLY, 0) & 3;

    /* The first move: a client speaks first, after its 0-RTT data when it has some. */
    fz_step(fc, !fc->is_server && early != 0 ? FZ_OP(FZ_OP_EARLY, early_arg[early]) : FZ_OP_DRIVE);
    fz_move(x, x->target_end);
    int after_failure = 0;
    for (size_t i = 0; i < FZ_MAX_PIECES && next(x, arg, &op); i++) {
        fz_step(fc, op);
        fz_move(x, x->target_end);
        /* A failed connection answers every call with the same error: a couple of calls
         * exercise that path, the rest of a long input would only cost time. */
        if (fc->failed && ++after_failure > FZ_AFTER_FAILURE)
            break;
    }
}

/* ---- a fuzz input as the peer ---- */

/* The next piece of the payload and the op after it; 0 at the end. */
static int input_piece(fz_input *in, uint8_t *op, const uint8_t **data, size_t *len)
{
    size_t left = in->len - in->pos;
    const uint8_t *p = in->data + in->pos;

    *data = NULL;
    *len = 0;
    if (in->framed && left > 0) {
        size_t n = 0;
        *op = p[0];
        if (left >= 3)
            n = ((size_t)p[1] << 8) | p[2];
        size_t head = left >= 3 ? 3 : left;
        if (n > left - head)
            n = left - head;
        *data = p + head;
        *len = n;
        in->pos += head + n;
        return 1;
    }
    if (!in->framed && left > 0) {
        size_t n = in->chunk;
        if (n == 0) /* one record: its 5-byte header says how long (RFC 8446 §5.1) */
            n = left >= 5 ? 5 + (((size_t)p[3] << 8) | p[4]) : left;
        if (n > left)
            n = left;
        *op = FZ_OP_DRIVE;
        *data = p;
        *len = n;
        in->pos += n;
        return 1;
    }
    while (in->action_bit < 8) {
        int b = in->action_bit++;
        if (in->actions & (1u << b)) {
            *op = fz_action_ops[b];
            return 1;
        }
    }
    return 0;
}

int fz_input_next(fz_exchange *x, void *arg, uint8_t *op)
{
    fz_input *in = arg;
    const uint8_t *data;
    size_t len;
    if (!input_piece(in, op, &data, &len))
        return 0;
    /* A piece longer than one pump read crosses in several writes; the connection's memory
     * BIO joins them. */
    wire_feed_give(&in->feed, data, len);
    fz_move(x, x->peer_end);
    return 1;
}

void fz_input_init(fz_input *in, const fz_prefix *p, const uint8_t *payload, size_t len)
{
    static const size_t chunks[8] = {0, SIZE_MAX, 1, 2, 7, 64, 512, 4096};
    uint8_t feed = fz_prefix_get(p, FZ_TAG_FEED, 0);
    memset(in, 0, sizeof(*in));
    /* It sends only what it is given; what the target sends it is only digested. */
    wire_feed_init(&in->feed, NULL, NULL, NULL, "fuzz input");
    in->data = payload;
    in->len = len;
    in->framed = (feed & FZ_FEED_FRAMED) != 0;
    in->chunk = chunks[feed & 7];
    in->actions = fz_prefix_get(p, FZ_TAG_ACTIONS, in->framed ? 0 : FZ_ACTIONS_DEFAULT);
}
