/*
 * peer_target.c - the server and client targets, over the harness and the driver: the
 * sessions a client target offers, made at start-up by real exchanges, and one input's run
 * with the input as the target's peer.
 */
#include <string.h>

#include <openssl/ssl.h>

#include "harness.h"

static struct {
    int ready;
    SSL_SESSION *sessions[FZ_N_PROFILES][FZ_N_SESSIONS];
} S;

/* ---- the sessions a client target offers ---- */

/* A whole handshake between two connections of this process, ending with both sides closing
 * cleanly: a server freed before that drops the session from its cache. The server's last
 * words (its close_notify) stay unread. */
static void pair_handshake(fz_conn *c, fz_conn *sv)
{
    fz_exchange x;
    fz_exchange_init(&x, c, &sv->ep.ep, NULL, NULL);
    for (int i = 0; i < 8; i++) {
        fz_step(c, FZ_OP_DRIVE);
        fz_move(&x, x.target_end);
        fz_step(sv, FZ_OP_DRIVE);
        fz_move(&x, x.peer_end);
    }
    fz_step(c, FZ_OP_SHUTDOWN);
    fz_move(&x, x.target_end);
    fz_step(sv, FZ_OP_SHUTDOWN);
    fz_exchange_cleanup(&x);
}

SSL_SESSION *fz_make_session(int client_side, int prof, int max_version, int no_ticket)
{
    fz_prefix cp, sp;
    fz_conn c, s;
    SSL_SESSION *out = NULL;
    memset(&cp, 0, sizeof(cp));
    fz_prefix_set(&cp, FZ_TAG_PROFILE, (uint8_t)prof);
    fz_prefix_set(&cp, FZ_TAG_VERSION, (uint8_t)(max_version << 4));
    sp = cp;
    /* The TLS 1.3 ticket allows 0-RTT data. Without NO_ANTI_REPLAY a server with 0-RTT on
     * issues stateful tickets (RFC 8446 §8.1), which only its own cache could resume. */
    fz_prefix_set(&sp, FZ_TAG_EARLY, 1);
    fz_prefix_set(&sp, FZ_TAG_OPTIONS, no_ticket ? 0x21 : 0x20);
    if (fz_conn_client(&c, client_side, &cp, NULL) < 0 || fz_conn_server(&s, !client_side, &sp) < 0)
        fz_fatal("cannot create the start-up connections");
    pair_handshake(&c, &s);
    if (!c.done || !s.done)
        fz_fatal("the start-up handshake (profile %d, max version %d) failed: %s", prof,
                 max_version, tlsrig_conn_last_error(c.conn)->message);
    SSL_SESSION *sess = SSL_get1_session(tlsrig_conn_get0_ssl(c.conn));
    if (sess != NULL)
        out = SSL_SESSION_dup(sess);
    SSL_SESSION_free(sess);
    if (out == NULL || !SSL_SESSION_is_resumable(out))
        fz_fatal("the start-up handshake left no resumable session");
    fz_conn_cleanup(&c);
    fz_conn_cleanup(&s);
    return out;
}

void fz_peer_target_init(void)
{
    if (S.ready)
        return;
    S.ready = 1;
    fz_init();
    for (int prof = 0; prof < FZ_N_PROFILES; prof++) {
        S.sessions[prof][FZ_SESSION_NONE] = NULL;
        S.sessions[prof][FZ_SESSION_TLS13] = fz_make_session(FZ_SIDE_TARGET, prof, 4, 0);
        S.sessions[prof][FZ_SESSION_TLS12_TICKET] = fz_make_session(FZ_SIDE_TARGET, prof, 3, 0);
        S.sessions[prof][FZ_SESSION_TLS12_ID] = fz_make_session(FZ_SIDE_TARGET, prof, 3, 1);
    }
}

SSL_SESSION *fz_saved_session(const fz_prefix *p)
{
    fz_peer_target_init();
    int which = fz_prefix_get(p, FZ_TAG_TICKETS, 0) & 3;
    return S.sessions[fz_prefix_get(p, FZ_TAG_PROFILE, 0) & 1][which];
}

/* ---- one input ---- */

void fz_run_input(int is_server, const uint8_t *data, size_t len)
{
    fz_prefix p;
    fz_conn fc;
    fz_input in;
    fz_exchange x;

    /* the sessions come first: they, then fz_reset's first ClientHello, draw from the peer
     * source in the order the recorded seeds were made in */
    fz_peer_target_init();
    fz_reset();
    size_t off = fz_prefix_parse(data, len, &p);
    int rc = is_server ? fz_conn_server(&fc, FZ_SIDE_TARGET, &p)
                       : fz_conn_client(&fc, FZ_SIDE_TARGET, &p, fz_saved_session(&p));
    if (rc < 0)
        fz_fatal("cannot create a connection");
    fz_input_init(&in, &p, data + off, len - off);
    fz_exchange_init(&x, &fc, &in.feed.ep, NULL, NULL);
    fz_run(&x, fz_input_next, &in);
    fz_exchange_cleanup(&x);
    fz_conn_cleanup(&fc);
    fz_settle();
}
