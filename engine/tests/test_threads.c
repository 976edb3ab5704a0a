/*
 * test_threads.c - the thread rules of tlsrig.h ("Threads"): reference counts of contexts,
 * sessions and deterministic sources taken and dropped from several threads at once, one
 * configured context serving handshakes on several threads with a shared session, and time()
 * read on several threads while the virtual clock is set and advanced.
 *
 * With non-atomic reference counts the hammer tests lose updates within a fraction of a
 * second on two cores: the count at the end is wrong, or it reaches zero early and the
 * object is freed under the other threads (a use-after-free under ASan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "internal.h"

#define N_THREADS 4
#define HAMMER_ROUNDS 400000
#define BURST 8 /* references taken in a row, then dropped in a row: a wide swing */

/* ---- reference count hammer ---- */

typedef enum { OBJ_CTX, OBJ_SESSION, OBJ_DET } obj_kind;

typedef struct hammer {
    obj_kind kind;
    void *obj;
    atomic_int *refs;
    atomic_int go; /* the threads start together, for the most overlap */
} hammer;

/* ref_change takes or drops a reference to the hammered object, whichever kind it is. */
enum { DROP, TAKE };
static void ref_change(const hammer *h, int take)
{
    switch (h->kind) {
    case OBJ_CTX:
        take ? tlsrig_ctx_up_ref(h->obj) : tlsrig_ctx_free(h->obj);
        break;
    case OBJ_SESSION:
        take ? tlsrig_session_up_ref(h->obj) : tlsrig_session_free(h->obj);
        break;
    case OBJ_DET:
        take ? tlsrig__det_up_ref(h->obj) : tlsrig_det_free(h->obj);
        break;
    default:
        abort();
    }
}

static void *hammer_thread(void *arg)
{
    hammer *h = arg;

    while (!atomic_load(&h->go))
        ;
    for (int round = 0; round < HAMMER_ROUNDS; round++) {
        for (int i = 0; i < BURST; i++)
            ref_change(h, TAKE);
        for (int i = 0; i < BURST; i++)
            ref_change(h, DROP);
    }
    /* the reference the main thread took for this thread */
    ref_change(h, DROP);
    return NULL;
}

/* run_hammer: N_THREADS threads each take and drop HAMMER_ROUNDS x BURST references to an
 * object the caller holds one reference to; afterwards exactly that one must be left. */
static void run_hammer(hammer *h, const char *what)
{
    pthread_t tids[N_THREADS];

    atomic_init(&h->go, 0);
    for (int i = 0; i < N_THREADS; i++) {
        ref_change(h, TAKE); /* each thread's own, dropped by the thread as it ends */
        if (pthread_create(&tids[i], NULL, hammer_thread, h) != 0)
            fail_msg("%s: pthread_create failed", what);
    }
    atomic_store(&h->go, 1);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(tids[i], NULL);
    int left = atomic_load(h->refs);
    if (left != 1)
        fail_msg("%s: %d threads took and dropped %d references each: expected 1 reference "
                 "left (the test's own), got %d",
                 what, N_THREADS, HAMMER_ROUNDS * BURST + 1, left);
}

static void ctx_refs_across_threads(void **state)
{
    (void)state;
    tlsrig_ctx *ctx = h_client_ctx();
    hammer h = {.kind = OBJ_CTX, .obj = ctx, .refs = &ctx->refs};

    run_hammer(&h, "tlsrig_ctx_up_ref/free");
    tlsrig_ctx_free(ctx);
}

static void det_refs_across_threads(void **state)
{
    (void)state;
    tlsrig_det *det = NULL;
    assert_int_equal(tlsrig_det_new(7, &det), 0);
    hammer h = {.kind = OBJ_DET, .obj = det, .refs = &det->refs};

    run_hammer(&h, "deterministic source references");
    tlsrig_det_free(det);
}

/* ---- a session made by one handshake on the main thread ---- */

/* first_session: a full handshake on |cctx|/|sctx|, the client's TLS 1.3 tickets read, a clean
 * close; returns the client's session (caller frees). */
static tlsrig_session *first_session(tlsrig_ctx *cctx, tlsrig_ctx *sctx)
{
    h_pair p;
    uint8_t buf[16];
    tlsrig_session *sess = NULL;

    h_pair_new(&p, cctx, sctx);
    int rc = h_handshake(&p);
    if (rc != 0)
        fail_msg("first handshake: expected 0, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p.client)->message);
    /* RFC 8446 §4.6.1: the tickets are post-handshake messages, processed by a read */
    assert_int_equal(tlsrig_conn_recv(p.client, buf, sizeof(buf), 0), TLSRIG_ERR_WANT_READ);
    /* a connection freed before sending close_notify marks its session not resumable */
    assert_int_equal(tlsrig_conn_shutdown(p.client), 0);
    h_pump(&p);
    assert_int_equal(tlsrig_conn_recv(p.server, buf, sizeof(buf), 0), TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(tlsrig_conn_shutdown(p.server), 1);
    h_pump(&p);
    h_conn_ok(p.client, tlsrig_conn_get_session(p.client, &sess));
    h_pair_free(&p);
    return sess;
}

static void session_refs_across_threads(void **state)
{
    (void)state;
    tlsrig_ctx *sctx = h_server_ctx("p256"), *cctx = h_client_ctx();
    tlsrig_session *sess = first_session(cctx, sctx);
    hammer h = {.kind = OBJ_SESSION, .obj = sess, .refs = &sess->refs};

    run_hammer(&h, "tlsrig_session_up_ref/free");
    tlsrig_session_free(sess);
    tlsrig_ctx_free(cctx);
    tlsrig_ctx_free(sctx);
}

static void session_up_ref_null(void **state)
{
    (void)state;
    tlsrig_session_up_ref(NULL);
    tlsrig_session_free(NULL);
}

/* ---- one configured context pair serving handshakes on several threads ---- */

#define SHARED_HANDSHAKES 15

typedef struct shared {
    tlsrig_ctx *cctx, *sctx;
    tlsrig_session *sess;
    pthread_mutex_t create; /* tlsrig.h: connections on one context are created one at a time */
} shared;

typedef struct worker {
    shared *sh;
    int done, reused;
    char failure[1024]; /* cmocka cannot fail a test from another thread; the main thread does */
} worker;

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

/* move: every byte one side has to send to the other, through the wire (one pump per
 * thread: a pump belongs to one thread); returns the count or -1. */
static long move(wire_pump *pump, int from)
{
    long n = wire_pump_move(pump, from);
    return n < 0 ? -1 : n;
}

/* one_handshake: a resumption of the shared session on fresh connections; 0 or -1 with
 * |w->failure| set. */
static int one_handshake(worker *w)
{
    shared *sh = w->sh;
    tlsrig_conn *c = NULL, *s = NULL;
    int rc = -1, crc = TLSRIG_ERR_WANT_READ, src = TLSRIG_ERR_WANT_READ;
    wire_engine ce = {0}, se = {0};
    wire_pump pump = {0};

    pthread_mutex_lock(&sh->create);
    int made = tlsrig_conn_new(sh->cctx, -1, &c) == 0 && tlsrig_conn_new(sh->sctx, -1, &s) == 0;
    pthread_mutex_unlock(&sh->create);
    if (!made) {
        snprintf(w->failure, sizeof(w->failure), "conn_new failed");
        goto cleanup;
    }
    tlsrig_conn_set_connect_state(c);
    tlsrig_conn_set_accept_state(s);
    wire_engine_init(&ce, c, "client");
    wire_engine_init(&se, s, "server");
    wire_pump_init(&pump, &ce.ep, &se.ep, NULL);
    if (tlsrig_conn_set_session(c, sh->sess) < 0) {
        snprintf(w->failure, sizeof(w->failure), "set_session: %.300s",
                 tlsrig_conn_last_error(c)->message);
        goto cleanup;
    }
    for (int step = 0; step < 32 && (crc != 0 || src != 0); step++) {
        if (crc != 0)
            crc = tlsrig_conn_do_handshake(c);
        if (src != 0)
            src = tlsrig_conn_do_handshake(s);
        if ((crc != 0 && !is_want(crc)) || (src != 0 && !is_want(src)) ||
            move(&pump, WIRE_CLIENT) < 0 || move(&pump, WIRE_SERVER) < 0)
            break;
    }
    if (crc != 0 || src != 0) {
        snprintf(w->failure, sizeof(w->failure), "handshake: client %s: %.300s / server %s: %.300s",
                 tlsrig_err_name(crc), tlsrig_conn_last_error(c)->message, tlsrig_err_name(src),
                 tlsrig_conn_last_error(s)->message);
        goto cleanup;
    }
    w->reused += tlsrig_conn_session_reused(c);
    /* close_notify both ways before the free, which would otherwise mark the shared session
     * not resumable (tlsrig_conn_free) */
    if (tlsrig_conn_shutdown(c) < 0 || move(&pump, WIRE_CLIENT) < 0 ||
        tlsrig_conn_shutdown(s) < 0) {
        snprintf(w->failure, sizeof(w->failure), "shutdown failed");
        goto cleanup;
    }
    rc = 0;
cleanup:
    wire_pump_cleanup(&pump);
    wire_engine_cleanup(&ce);
    wire_engine_cleanup(&se);
    tlsrig_conn_free(c);
    tlsrig_conn_free(s);
    return rc;
}

static void *worker_thread(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < SHARED_HANDSHAKES && one_handshake(w) == 0; i++)
        w->done++;
    return NULL;
}

static void shared_context_handshakes(void **state)
{
    (void)state;
    shared sh = {.sctx = h_server_ctx("p256"), .cctx = h_client_ctx()};
    worker w[N_THREADS];
    pthread_t tids[N_THREADS];

    pthread_mutex_init(&sh.create, NULL);
    sh.sess = first_session(sh.cctx, sh.sctx);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < N_THREADS; i++) {
        w[i].sh = &sh;
        if (pthread_create(&tids[i], NULL, worker_thread, &w[i]) != 0)
            fail_msg("pthread_create failed");
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(tids[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        if (w[i].done != SHARED_HANDSHAKES)
            fail_msg("thread %d: expected %d handshakes, got %d: %s", i, SHARED_HANDSHAKES,
                     w[i].done, w[i].failure);
        if (w[i].reused != SHARED_HANDSHAKES)
            fail_msg("thread %d: expected %d resumptions of the shared session, got %d", i,
                     SHARED_HANDSHAKES, w[i].reused);
    }
    /* every connection dropped its two references to its context */
    assert_int_equal(atomic_load(&sh.cctx->refs), 1);
    assert_int_equal(atomic_load(&sh.sctx->refs), 1);
    assert_int_equal(atomic_load(&sh.sess->refs), 1);
    tlsrig_session_free(sh.sess);
    tlsrig_ctx_free(sh.cctx);
    tlsrig_ctx_free(sh.sctx);
    pthread_mutex_destroy(&sh.create);
}

/* ---- time() on several threads while the virtual clock moves ---- */

/* Just below 2^32 seconds, so the advances carry into the high 32 bits: a torn read would
 * mix the words of two values and land far outside the range. */
#define CLOCK_BASE (((int64_t)1 << 32) - 1000)
#define CLOCK_ADVANCES 2000

typedef struct clock_reader {
    atomic_int *started, *stop;
    long reads;
    int bad;                     /* a reading was out of range or went back: */
    int64_t first_bad, bad_prev; /* that reading, and the one before it */
} clock_reader;

static void *clock_thread(void *arg)
{
    clock_reader *r = arg;
    int64_t prev = CLOCK_BASE;

    atomic_fetch_add(r->started, 1);
    while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
        int64_t t = (int64_t)time(NULL);
        r->reads++;
        /* the main thread only moves the clock forward, and never past the last advance */
        if (t < prev || t > CLOCK_BASE + 2 * CLOCK_ADVANCES) {
            r->bad = 1;
            r->first_bad = t;
            r->bad_prev = prev;
            break;
        }
        prev = t;
    }
    return NULL;
}

static void clock_read_while_advancing(void **state)
{
    (void)state;
    atomic_int started, stop;
    clock_reader r[N_THREADS];
    pthread_t tids[N_THREADS];

    atomic_init(&started, 0);
    atomic_init(&stop, 0);
    tlsrig_clock_set(CLOCK_BASE);
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N_THREADS; i++) {
        r[i].started = &started;
        r[i].stop = &stop;
        if (pthread_create(&tids[i], NULL, clock_thread, &r[i]) != 0)
            fail_msg("pthread_create failed");
    }
    while (atomic_load(&started) < N_THREADS)
        ;
    for (int i = 1; i <= CLOCK_ADVANCES; i++) {
        /* both ways of moving it: advance, and set to a later time */
        if (i % 2)
            assert_int_equal(tlsrig_clock_advance(1), 0);
        else
            tlsrig_clock_set(CLOCK_BASE + 2 * i);
        for (volatile int spin = 0; spin < 2000; spin++)
            ;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(tids[i], NULL);
    tlsrig_clock_real();

    for (int i = 0; i < N_THREADS; i++) {
        if (r[i].bad)
            fail_msg("thread %d: time() after %ld reads: expected a value from %lld to %lld, not "
                     "below the previous %lld; got %lld",
                     i, r[i].reads, (long long)CLOCK_BASE,
                     (long long)(CLOCK_BASE + 2 * CLOCK_ADVANCES), (long long)r[i].bad_prev,
                     (long long)r[i].first_bad);
        if (r[i].reads == 0)
            fail_msg("thread %d: expected time() readings, got none", i);
    }
}

static int teardown_clock(void **state)
{
    (void)state;
    tlsrig_clock_real();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctx_refs_across_threads),
        cmocka_unit_test(det_refs_across_threads),
        cmocka_unit_test(session_refs_across_threads),
        cmocka_unit_test(session_up_ref_null),
        cmocka_unit_test(shared_context_handshakes),
        cmocka_unit_test_teardown(clock_read_while_advancing, teardown_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
