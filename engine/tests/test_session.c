/*
 * test_session.c - session resumption over memory BIOs (engine/src/session.c and the context's
 * session settings): TLS 1.2 session ids and tickets, TLS 1.3 tickets, num_tickets, every
 * session cache mode, the session id context, expiry by the virtual clock, set_session across
 * contexts, and the tlsrig_session getters.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- helpers ---- */

static const uint8_t SID_A[] = "tlsrig-session-A";
static const uint8_t SID_B[] = "tlsrig-session-B";

static void handshake_ok(h_pair *p)
{
    int rc = h_handshake(p);
    if (rc != 0)
        fail_msg("handshake: %s / client: %s / server: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->client)->message,
                 tlsrig_conn_last_error(p->server)->message);
}

/* After the handshake the server's TLS 1.3 NewSessionTickets sit unread in the client's
 * incoming BIO (RFC 8446 §4.6.1: they are post-handshake messages); only a read processes
 * them. With no application data pending the read must come back WANT_READ. */
static void client_read_tickets(h_pair *p)
{
    uint8_t buf[16];
    int rc = tlsrig_conn_recv(p->client, buf, sizeof(buf), 0);
    if (rc != TLSRIG_ERR_WANT_READ)
        fail_msg("client recv after handshake: expected WANT_READ, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->client)->message);
}

/* A bidirectional close_notify exchange (RFC 8446 §6.1). It matters for resumption: OpenSSL
 * removes the session of a connection freed without having sent close_notify from the cache
 * and marks it not resumable (see unclean_close_invalidates_session). */
static void close_both(h_pair *p)
{
    int rc = tlsrig_conn_shutdown(p->client);
    if (rc != 0)
        fail_msg("client shutdown: expected 0, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->client)->message);
    h_pump(p);
    uint8_t buf[16];
    rc = tlsrig_conn_recv(p->server, buf, sizeof(buf), 0);
    if (rc != TLSRIG_ERR_ZERO_RETURN)
        fail_msg("server recv: expected ZERO_RETURN, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->server)->message);
    rc = tlsrig_conn_shutdown(p->server);
    if (rc != 1)
        fail_msg("server shutdown: expected 1, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->server)->message);
    h_pump(p);
    rc = tlsrig_conn_shutdown(p->client);
    if (rc != 1)
        fail_msg("client shutdown: expected 1, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p->client)->message);
}

/* A server context on P-256 pinned to |version| (0: no pin). */
static tlsrig_ctx *server_ctx(int version)
{
    tlsrig_ctx *s = h_server_ctx("p256");
    if (version != 0) {
        h_ctx_ok(s, tlsrig_ctx_set_min_proto_version(s, version));
        h_ctx_ok(s, tlsrig_ctx_set_max_proto_version(s, version));
    }
    return s;
}

/* The TLS 1.2 session-id setup: no tickets, the server's internal cache, a session id
 * context. */
static tlsrig_ctx *server_ctx_tls12_ids(void)
{
    tlsrig_ctx *s = server_ctx(TLS1_2_VERSION);
    tlsrig_ctx_set_options(s, TLSRIG_OP_NO_TICKET);
    tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_SERVER);
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, SID_A, sizeof(SID_A) - 1));
    return s;
}

typedef struct outcome {
    int client_reused;
    int server_reused;
} outcome;

/* One complete connection from |c| to |s|, offering |offer| when not NULL. The client's
 * session (after any tickets were read) is returned in |*out| when |out| is not NULL. */
static outcome connect_once(tlsrig_ctx *c, tlsrig_ctx *s, tlsrig_session *offer,
                            tlsrig_session **out)
{
    h_pair p = {0};
    h_pair_new(&p, c, s);
    if (offer != NULL)
        h_conn_ok(p.client, tlsrig_conn_set_session(p.client, offer));
    handshake_ok(&p);
    client_read_tickets(&p);
    outcome o = {tlsrig_conn_session_reused(p.client), tlsrig_conn_session_reused(p.server)};
    if (out != NULL)
        h_conn_ok(p.client, tlsrig_conn_get_session(p.client, out));
    close_both(&p);
    h_pair_free(&p);
    return o;
}

static void expect_outcome(outcome o, int reused, const char *what)
{
    if (o.client_reused != reused || o.server_reused != reused)
        fail_msg("%s: expected session_reused %d on both sides, got client %d / server %d", what,
                 reused, o.client_reused, o.server_reused);
}

/* Full handshake, then a second connection offering the first one's session. */
static outcome resume(tlsrig_ctx *c, tlsrig_ctx *s)
{
    tlsrig_session *sess = NULL;
    outcome first = connect_once(c, s, NULL, &sess);
    expect_outcome(first, 0, "first connection");
    outcome second = connect_once(c, s, sess, NULL);
    tlsrig_session_free(sess);
    return second;
}

static int teardown_clock(void **state)
{
    (void)state;
    tlsrig_clock_real(); /* also when a test failed half-way */
    return 0;
}

/* ---- TLS 1.2 ---- */

static void tls12_session_id_resumption(void **state)
{
    (void)state;
    tlsrig_ctx *s = server_ctx_tls12_ids(), *c = h_client_ctx();
    tlsrig_session *sess = NULL;
    uint8_t id1[32], id2[32];

    outcome first = connect_once(c, s, NULL, &sess);
    expect_outcome(first, 0, "full handshake");
    assert_int_equal(tlsrig_session_is_resumable(sess), 1);
    /* Without tickets the session is named by the id in ServerHello (RFC 5246 §7.4.1.3);
     * OpenSSL's are 32 bytes. */
    assert_int_equal(tlsrig_session_get_id(sess, id1, sizeof(id1)), 32);

    h_pair p = {0};
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_session(p.client, sess));
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_session_reused(p.client), 1);
    assert_int_equal(tlsrig_conn_session_reused(p.server), 1);
    /* The server echoes the id it is resuming. */
    tlsrig_session *again = NULL, *srv = NULL;
    h_conn_ok(p.client, tlsrig_conn_get_session(p.client, &again));
    h_conn_ok(p.server, tlsrig_conn_get_session(p.server, &srv));
    assert_int_equal(tlsrig_session_get_id(again, id2, sizeof(id2)), 32);
    assert_memory_equal(id1, id2, 32);
    assert_int_equal(tlsrig_session_get_id(srv, id2, sizeof(id2)), 32);
    assert_memory_equal(id1, id2, 32);
    h_send_recv(&p, p.client, p.server, "resumed", 7);
    close_both(&p);
    h_pair_free(&p);

    /* A connection offering nothing makes a new session. */
    tlsrig_session *other = NULL;
    expect_outcome(connect_once(c, s, NULL, &other), 0, "no session offered");
    assert_int_equal(tlsrig_session_get_id(other, id2, sizeof(id2)), 32);
    assert_memory_not_equal(id1, id2, 32);

    tlsrig_session_free(other);
    tlsrig_session_free(srv);
    tlsrig_session_free(again);
    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void tls12_ticket_resumption(void **state)
{
    (void)state;
    /* The server keeps no cache at all: only the ticket (RFC 5077) can carry the session. */
    tlsrig_ctx *s = server_ctx(TLS1_2_VERSION), *c = h_client_ctx();
    tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_OFF);
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, SID_A, sizeof(SID_A) - 1));
    expect_outcome(resume(c, s), 1, "TLS 1.2 ticket resumption");

    /* Control: the same server without tickets has nothing left to resume from. */
    tlsrig_ctx_set_options(s, TLSRIG_OP_NO_TICKET);
    expect_outcome(resume(c, s), 0, "TLS 1.2, no ticket, cache off");
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void tls12_no_ticket_cache_off_not_resumable(void **state)
{
    (void)state;
    tlsrig_ctx *s = server_ctx(TLS1_2_VERSION), *c = h_client_ctx();
    tlsrig_ctx_set_options(s, TLSRIG_OP_NO_TICKET);
    assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_OFF),
                     TLSRIG_SESS_CACHE_SERVER);
    tlsrig_session *sess = NULL;
    expect_outcome(connect_once(c, s, NULL, &sess), 0, "full handshake");
    /* A server that will not cache sends an empty session id (RFC 5246 §7.4.1.3), so the
     * client's session has no id and no ticket: nothing to offer. */
    uint8_t id[32];
    assert_int_equal(tlsrig_session_get_id(sess, id, sizeof(id)), 0);
    assert_int_equal(tlsrig_session_is_resumable(sess), 0);
    expect_outcome(connect_once(c, s, sess, NULL), 0, "offering the unresumable session");
    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- TLS 1.3 ---- */

static void tls13_ticket_resumption(void **state)
{
    (void)state;
    tlsrig_ctx *s = server_ctx(TLS1_3_VERSION), *c = h_client_ctx();
    tlsrig_session *before = NULL, *sess = NULL;

    h_pair p = {0};
    h_pair_new(&p, c, s);
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_get_protocol_version(p.client), TLS1_3_VERSION);
    /* Before the NewSessionTicket is read the client's session has no ticket to offer. */
    h_conn_ok(p.client, tlsrig_conn_get_session(p.client, &before));
    assert_int_equal(tlsrig_session_is_resumable(before), 0);
    client_read_tickets(&p);
    h_conn_ok(p.client, tlsrig_conn_get_session(p.client, &sess));
    assert_int_equal(tlsrig_session_is_resumable(sess), 1);
    close_both(&p);
    h_pair_free(&p);

    /* The session outlives its connection and resumes on a new one (RFC 8446 §2.2). */
    h_pair_new(&p, c, s);
    h_conn_ok(p.client, tlsrig_conn_set_session(p.client, sess));
    handshake_ok(&p);
    assert_int_equal(tlsrig_conn_session_reused(p.client), 1);
    assert_int_equal(tlsrig_conn_session_reused(p.server), 1);
    h_send_recv(&p, p.server, p.client, "resumed", 7);
    close_both(&p);
    h_pair_free(&p);

    /* Offering the ticket-less session made before the read: a full handshake. */
    expect_outcome(connect_once(c, s, before, NULL), 0, "session without a ticket");

    tlsrig_session_free(before);
    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void count_tickets(tlsrig_conn *conn, const tlsrig_observe_event *ev, void *arg)
{
    (void)conn;
    if (ev->kind == TLSRIG_OBSERVE_HANDSHAKE && !ev->sent &&
        ev->handshake_type == 4 /* new_session_ticket */)
        (*(int *)arg)++;
}

static void tls13_num_tickets(void **state)
{
    (void)state;
    /* OpenSSL sends two tickets by default; set_num_tickets changes that, 0 turns them off. */
    static const size_t counts[] = {2, 0, 1, 3};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        tlsrig_ctx *s = server_ctx(TLS1_3_VERSION), *c = h_client_ctx();
        int seen = 0;
        assert_int_equal(tlsrig_ctx_get_num_tickets(s), 2);
        h_ctx_ok(s, tlsrig_ctx_set_num_tickets(s, counts[i]));
        assert_int_equal(tlsrig_ctx_get_num_tickets(s), counts[i]);
        tlsrig_ctx_set_observer(c, count_tickets, &seen);

        tlsrig_session *sess = NULL;
        expect_outcome(connect_once(c, s, NULL, &sess), 0, "full handshake");
        if ((size_t)seen != counts[i])
            fail_msg("num_tickets %zu: client received %d NewSessionTicket", counts[i], seen);
        assert_int_equal(tlsrig_session_is_resumable(sess), counts[i] > 0);
        outcome o = connect_once(c, s, sess, NULL);
        if (counts[i] == 0)
            expect_outcome(o, 0, "num_tickets 0");
        else
            expect_outcome(o, 1, "num_tickets > 0");
        tlsrig_session_free(sess);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

static void unclean_close_invalidates_session(void **state)
{
    (void)state;
    /* Observed OpenSSL behaviour: SSL_free of a connection that never sent close_notify
     * removes its session from the cache and marks it not resumable, so the session a caller
     * still holds can no longer be offered. */
    static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (size_t i = 0; i < 2; i++) {
        tlsrig_ctx *s =
            versions[i] == TLS1_2_VERSION ? server_ctx_tls12_ids() : server_ctx(versions[i]);
        tlsrig_ctx *c = h_client_ctx();
        tlsrig_session *sess = NULL;
        h_pair p = {0};
        h_pair_new(&p, c, s);
        handshake_ok(&p);
        client_read_tickets(&p);
        h_conn_ok(p.client, tlsrig_conn_get_session(p.client, &sess));
        assert_int_equal(tlsrig_session_is_resumable(sess), 1);
        h_pair_free(&p); /* no shutdown */
        assert_int_equal(tlsrig_session_is_resumable(sess), 0);
        expect_outcome(connect_once(c, s, sess, NULL), 0, "session of an unclean close");
        tlsrig_session_free(sess);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

/* ---- cache modes ---- */

static void cache_modes_tls12_ids(void **state)
{
    (void)state;
    /* Applied to the server of a TLS 1.2, ticket-less exchange: only a server that stores the
     * session in its internal cache and looks it up there resumes by id. A server that does not
     * cache at all sends an empty id, so the client cannot even offer the session. */
    static const struct {
        long mode;
        const char *name;
        int client_resumable; /* the server sent a session id */
        int reused;
    } rows[] = {
        {TLSRIG_SESS_CACHE_OFF, "OFF", 0, 0},
        {TLSRIG_SESS_CACHE_CLIENT, "CLIENT", 0, 0},
        {TLSRIG_SESS_CACHE_SERVER, "SERVER", 1, 1},
        {TLSRIG_SESS_CACHE_BOTH, "BOTH", 1, 1},
        {TLSRIG_SESS_CACHE_NO_INTERNAL_LOOKUP, "NO_INTERNAL_LOOKUP", 0, 0},
        {TLSRIG_SESS_CACHE_SERVER | TLSRIG_SESS_CACHE_NO_INTERNAL_LOOKUP,
         "SERVER|NO_INTERNAL_LOOKUP", 1, 0},
        {TLSRIG_SESS_CACHE_SERVER | TLSRIG_SESS_CACHE_NO_INTERNAL_STORE, "SERVER|NO_INTERNAL_STORE",
         1, 0},
        {TLSRIG_SESS_CACHE_SERVER | TLSRIG_SESS_CACHE_NO_AUTO_CLEAR, "SERVER|NO_AUTO_CLEAR", 1, 1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tlsrig_ctx *s = server_ctx_tls12_ids(), *c = h_client_ctx();
        assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, rows[i].mode),
                         TLSRIG_SESS_CACHE_SERVER);
        assert_int_equal(tlsrig_ctx_get_session_cache_mode(s), rows[i].mode);

        tlsrig_session *sess = NULL;
        expect_outcome(connect_once(c, s, NULL, &sess), 0, rows[i].name);
        if (tlsrig_session_is_resumable(sess) != rows[i].client_resumable)
            fail_msg("cache mode %s: client session resumable %d, expected %d", rows[i].name,
                     tlsrig_session_is_resumable(sess), rows[i].client_resumable);
        outcome o = connect_once(c, s, sess, NULL);
        if (o.client_reused != rows[i].reused || o.server_reused != rows[i].reused)
            fail_msg("cache mode %s: reused client %d / server %d, expected %d", rows[i].name,
                     o.client_reused, o.server_reused, rows[i].reused);
        tlsrig_session_free(sess);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(s);
    }
}

static void client_cache_does_not_resume_by_itself(void **state)
{
    (void)state;
    /* CLIENT caching stores the client's sessions, but OpenSSL never picks one for a new
     * connection: only set_session offers a session. */
    tlsrig_ctx *s = server_ctx_tls12_ids(), *c = h_client_ctx();
    assert_int_equal(tlsrig_ctx_get_session_cache_mode(c), TLSRIG_SESS_CACHE_SERVER);
    tlsrig_ctx_set_session_cache_mode(c, TLSRIG_SESS_CACHE_BOTH);
    expect_outcome(connect_once(c, s, NULL, NULL), 0, "first");
    assert_int_equal(SSL_CTX_sess_number(tlsrig_ctx_get0_ssl_ctx(c)), 1);
    expect_outcome(connect_once(c, s, NULL, NULL), 0, "second, nothing offered");
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* ---- session id context ---- */

static void sid_ctx_mismatch_same_context(void **state)
{
    (void)state;
    tlsrig_ctx *s = server_ctx_tls12_ids(), *c = h_client_ctx();
    tlsrig_session *sess = NULL;
    expect_outcome(connect_once(c, s, NULL, &sess), 0, "full handshake");
    /* The cache still holds the session, but it was made under context "A". */
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, SID_B, sizeof(SID_B) - 1));
    expect_outcome(connect_once(c, s, sess, NULL), 0, "sid ctx B");
    /* Back to "A": the cached session matches again. */
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, SID_A, sizeof(SID_A) - 1));
    expect_outcome(connect_once(c, s, sess, NULL), 1, "sid ctx A again");
    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

/* Server contexts A and B share their ticket keys, so a ticket A issued decrypts on B and
 * only the session id context stored in it can stop the resumption. */
static outcome resume_on_other_server(int version, const uint8_t *sid_b, size_t sid_b_len)
{
    tlsrig_ctx *a = server_ctx(version), *b = server_ctx(version), *c = h_client_ctx();
    unsigned char keys[80]; /* name, HMAC key, AES key: OpenSSL's ticket key block */
    for (size_t i = 0; i < sizeof(keys); i++)
        keys[i] = (unsigned char)(i * 7 + 1);
    assert_int_equal(SSL_CTX_set_tlsext_ticket_keys(tlsrig_ctx_get0_ssl_ctx(a), keys, 80), 1);
    assert_int_equal(SSL_CTX_set_tlsext_ticket_keys(tlsrig_ctx_get0_ssl_ctx(b), keys, 80), 1);
    h_ctx_ok(a, tlsrig_ctx_set_session_id(a, SID_A, sizeof(SID_A) - 1));
    h_ctx_ok(b, tlsrig_ctx_set_session_id(b, sid_b, sid_b_len));

    tlsrig_session *sess = NULL;
    expect_outcome(connect_once(c, a, NULL, &sess), 0, "full handshake on A");
    outcome o = connect_once(c, b, sess, NULL);
    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(b);
    tlsrig_ctx_free(a);
    return o;
}

static void sid_ctx_mismatch_other_server(void **state)
{
    (void)state;
    static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (size_t i = 0; i < 2; i++) {
        /* Control: B with A's session id context resumes A's ticket. */
        expect_outcome(resume_on_other_server(versions[i], SID_A, sizeof(SID_A) - 1), 1,
                       "B with sid ctx A");
        expect_outcome(resume_on_other_server(versions[i], SID_B, sizeof(SID_B) - 1), 0,
                       "B with sid ctx B");
    }
}

static int switch_to(tlsrig_conn *conn, void *arg)
{
    return tlsrig_conn_set_context(conn, arg);
}

/* Observed OpenSSL 3.0 behaviour: a server that switches to context B in the servername
 * callback has already matched the offered session against the initial context's session id
 * context, so B's own (different) session id context does not prevent the resumption. */
static void sid_ctx_of_switched_context_not_consulted(void **state)
{
    (void)state;
    static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};
    for (size_t i = 0; i < 2; i++) {
        tlsrig_ctx *a = server_ctx(versions[i]), *b = server_ctx(versions[i]);
        tlsrig_ctx *c = h_client_ctx();
        h_ctx_ok(a, tlsrig_ctx_set_session_id(a, SID_A, sizeof(SID_A) - 1));
        h_ctx_ok(b, tlsrig_ctx_set_session_id(b, SID_B, sizeof(SID_B) - 1));

        /* The session is made under A alone; only then does A start switching to B. */
        tlsrig_session *sess = NULL;
        expect_outcome(connect_once(c, a, NULL, &sess), 0, "full handshake on A");
        tlsrig_ctx_set_tlsext_servername_callback(a, switch_to, b);

        h_pair p = {0};
        h_pair_new(&p, c, a);
        h_conn_ok(p.client, tlsrig_conn_set_tlsext_host_name(p.client, "server.tlsrig.test"));
        h_conn_ok(p.client, tlsrig_conn_set_session(p.client, sess));
        handshake_ok(&p);
        assert_ptr_equal(tlsrig_conn_get_context(p.server), b);
        assert_int_equal(tlsrig_conn_session_reused(p.client), 1);
        assert_int_equal(tlsrig_conn_session_reused(p.server), 1);
        close_both(&p);
        h_pair_free(&p);
        tlsrig_session_free(sess);
        tlsrig_ctx_free(c);
        tlsrig_ctx_free(b);
        tlsrig_ctx_free(a);
    }
}

/* ---- expiry by the virtual clock ---- */

static void expiry(int version)
{
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    tlsrig_ctx *s = version == TLS1_2_VERSION ? server_ctx_tls12_ids() : server_ctx(version);
    tlsrig_ctx *c = h_client_ctx();
    assert_int_equal(tlsrig_ctx_set_timeout(s, 100), 7200); /* OpenSSL's TLS default */
    assert_int_equal(tlsrig_ctx_get_timeout(s), 100);

    tlsrig_session *sess = NULL;
    expect_outcome(connect_once(c, s, NULL, &sess), 0, "full handshake");
    assert_int_equal(tlsrig_session_get_time(sess), TLSRIG_CLOCK_EPOCH);

    assert_int_equal(tlsrig_clock_advance(50), 0);
    expect_outcome(connect_once(c, s, sess, NULL), 1, "50 s old");
    /* 101 s after creation: past the 100 s lifetime. TLS 1.2: the server's cache entry has
     * timed out. TLS 1.3: the ticket is older than its ticket_lifetime, which a client
     * SHOULD NOT offer (RFC 8446 §4.2.11) and the server refuses anyway. */
    assert_int_equal(tlsrig_clock_advance(51), 0);
    expect_outcome(connect_once(c, s, sess, NULL), 0, "101 s old");

    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
    tlsrig_clock_real();
}

static void expiry_tls12(void **state)
{
    (void)state;
    expiry(TLS1_2_VERSION);
}

static void expiry_tls13(void **state)
{
    (void)state;
    expiry(TLS1_3_VERSION);
}

/* ---- set_session / get_session errors ---- */

static void set_session_from_other_context(void **state)
{
    (void)state;
    tlsrig_ctx *s = server_ctx(TLS1_3_VERSION), *c1 = h_client_ctx(), *c2 = h_client_ctx();
    tlsrig_session *sess = NULL;
    expect_outcome(connect_once(c1, s, NULL, &sess), 0, "full handshake");

    tlsrig_conn *conn = NULL;
    h_ctx_ok(c2, tlsrig_conn_new(c2, -1, &conn));
    assert_int_equal(tlsrig_conn_set_session(conn, sess), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(tlsrig_conn_last_error(conn)->message, "another context"));
    assert_int_equal(tlsrig_conn_set_session(conn, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_conn_free(conn);

    /* On its own context the same session is accepted. */
    h_ctx_ok(c1, tlsrig_conn_new(c1, -1, &conn));
    h_conn_ok(conn, tlsrig_conn_set_session(conn, sess));
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_OK);
    tlsrig_conn_free(conn);

    tlsrig_session_free(sess);
    tlsrig_ctx_free(c2);
    tlsrig_ctx_free(c1);
    tlsrig_ctx_free(s);
}

static void get_session_before_handshake(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx();
    tlsrig_conn *conn = NULL;
    tlsrig_session *sess = (tlsrig_session *)&sess; /* must be reset to NULL */
    h_ctx_ok(c, tlsrig_conn_new(c, -1, &conn));
    tlsrig_conn_set_connect_state(conn);
    assert_int_equal(tlsrig_conn_get_session(conn, &sess), TLSRIG_ERR_NOT_AVAILABLE);
    assert_null(sess);
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_NOT_AVAILABLE);
    assert_int_equal(tlsrig_conn_get_session(conn, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_session_reused(conn), 0);
    /* Once the ClientHello is out there is a session. */
    assert_int_equal(tlsrig_conn_do_handshake(conn), TLSRIG_ERR_WANT_READ);
    h_conn_ok(conn, tlsrig_conn_get_session(conn, &sess));
    assert_non_null(sess);
    tlsrig_session_free(sess);
    tlsrig_conn_free(conn);
    tlsrig_ctx_free(c);
}

/* ---- getters ---- */

static void session_getters(void **state)
{
    (void)state;
    const int64_t t0 = TLSRIG_CLOCK_EPOCH + 12345;
    tlsrig_clock_set(t0);
    tlsrig_ctx *s = server_ctx_tls12_ids(), *c = h_client_ctx();
    assert_int_equal(tlsrig_ctx_set_timeout(s, 600), 7200);
    assert_int_equal(tlsrig_ctx_set_timeout(c, 900), 7200);

    h_pair p = {0};
    h_pair_new(&p, c, s);
    handshake_ok(&p);
    tlsrig_session *cs = NULL, *ss = NULL;
    h_conn_ok(p.client, tlsrig_conn_get_session(p.client, &cs));
    h_conn_ok(p.server, tlsrig_conn_get_session(p.server, &ss));

    /* get0 borrows the connection's own SSL_SESSION. */
    assert_ptr_equal(tlsrig_session_get0_ssl_session(cs),
                     SSL_get_session(tlsrig_conn_get0_ssl(p.client)));
    assert_ptr_equal(tlsrig_session_get0_ssl_session(ss),
                     SSL_get_session(tlsrig_conn_get0_ssl(p.server)));
    assert_ptr_not_equal(tlsrig_session_get0_ssl_session(cs), tlsrig_session_get0_ssl_session(ss));

    uint8_t cid[32], sid[32], small[31];
    assert_int_equal(tlsrig_session_get_id(cs, cid, sizeof(cid)), 32);
    assert_int_equal(tlsrig_session_get_id(ss, sid, sizeof(sid)), 32);
    assert_memory_equal(cid, sid, 32);
    assert_int_equal(tlsrig_session_get_id(cs, small, sizeof(small)), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_session_get_id(cs, NULL, 32), TLSRIG_ERR_INVALID_ARGUMENT);

    assert_int_equal(tlsrig_session_is_resumable(cs), 1);
    assert_int_equal(tlsrig_session_is_resumable(ss), 1);
    /* The creation time is the virtual clock's, on both sides. */
    assert_int_equal(tlsrig_session_get_time(cs), t0);
    assert_int_equal(tlsrig_session_get_time(ss), t0);
    /* Each side's lifetime is its own context's timeout. */
    assert_int_equal(tlsrig_session_get_timeout(ss), 600);
    assert_int_equal(tlsrig_session_get_timeout(cs), 900);
    close_both(&p);
    h_pair_free(&p);

    /* A session made later carries the later time. */
    assert_int_equal(tlsrig_clock_advance(77), 0);
    tlsrig_session *later = NULL;
    expect_outcome(connect_once(c, s, NULL, &later), 0, "later");
    assert_int_equal(tlsrig_session_get_time(later), t0 + 77);

    tlsrig_session_free(NULL); /* allowed */
    tlsrig_session_free(later);
    tlsrig_session_free(ss);
    tlsrig_session_free(cs);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
    tlsrig_clock_real();
}

static void tls13_session_lifetime_from_ticket(void **state)
{
    (void)state;
    /* The server announces its context's timeout as the ticket_lifetime (RFC 8446 §4.6.1); the
     * client keeps that hint in the session, while the session's own timeout (what
     * get_timeout reports) stays the client context's. */
    tlsrig_clock_set(TLSRIG_CLOCK_EPOCH);
    tlsrig_ctx *s = server_ctx(TLS1_3_VERSION), *c = h_client_ctx();
    tlsrig_ctx_set_timeout(s, 1234);
    tlsrig_ctx_set_timeout(c, 4321);
    tlsrig_session *sess = NULL;
    expect_outcome(connect_once(c, s, NULL, &sess), 0, "full handshake");
    assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(tlsrig_session_get0_ssl_session(sess)),
                     1234);
    assert_int_equal(tlsrig_session_get_timeout(sess), 4321);
    assert_int_equal(tlsrig_session_get_time(sess), TLSRIG_CLOCK_EPOCH);
    tlsrig_session_free(sess);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
    tlsrig_clock_real();
}

/* ---- context settings ---- */

static void ctx_session_settings(void **state)
{
    (void)state;
    tlsrig_ctx *s = h_server_ctx("p256");
    uint8_t big[SSL_MAX_SID_CTX_LENGTH + 1];
    memset(big, 'x', sizeof(big));
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, big, SSL_MAX_SID_CTX_LENGTH));
    assert_int_equal(tlsrig_ctx_set_session_id(s, big, sizeof(big)), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_last_error(s)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_ctx_set_session_id(s, NULL, 4), TLSRIG_ERR_INVALID_ARGUMENT);
    h_ctx_ok(s, tlsrig_ctx_set_session_id(s, NULL, 0));

    assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_BOTH),
                     TLSRIG_SESS_CACHE_SERVER);
    assert_int_equal(tlsrig_ctx_set_session_cache_mode(s, TLSRIG_SESS_CACHE_OFF),
                     TLSRIG_SESS_CACHE_BOTH);
    assert_int_equal(tlsrig_ctx_get_session_cache_mode(s), TLSRIG_SESS_CACHE_OFF);

    assert_int_equal(tlsrig_ctx_get_timeout(s), 7200);
    assert_int_equal(tlsrig_ctx_set_timeout(s, 30), 7200);
    assert_int_equal(tlsrig_ctx_set_timeout(s, 60), 30);
    assert_int_equal(tlsrig_ctx_get_timeout(s), 60);

    h_ctx_ok(s, tlsrig_ctx_set_num_tickets(s, 5));
    assert_int_equal(tlsrig_ctx_get_num_tickets(s), 5);
    tlsrig_ctx_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tls12_session_id_resumption),
        cmocka_unit_test(tls12_ticket_resumption),
        cmocka_unit_test(tls12_no_ticket_cache_off_not_resumable),
        cmocka_unit_test(tls13_ticket_resumption),
        cmocka_unit_test(tls13_num_tickets),
        cmocka_unit_test(unclean_close_invalidates_session),
        cmocka_unit_test(cache_modes_tls12_ids),
        cmocka_unit_test(client_cache_does_not_resume_by_itself),
        cmocka_unit_test(sid_ctx_mismatch_same_context),
        cmocka_unit_test(sid_ctx_mismatch_other_server),
        cmocka_unit_test(sid_ctx_of_switched_context_not_consulted),
        cmocka_unit_test_teardown(expiry_tls12, teardown_clock),
        cmocka_unit_test_teardown(expiry_tls13, teardown_clock),
        cmocka_unit_test(set_session_from_other_context),
        cmocka_unit_test(get_session_before_handshake),
        cmocka_unit_test_teardown(session_getters, teardown_clock),
        cmocka_unit_test_teardown(tls13_session_lifetime_from_ticket, teardown_clock),
        cmocka_unit_test(ctx_session_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
