/*
 * interp.c - running a compiled scenario: the run loop and the steps, a switch on the step
 * kind. Every value was converted and checked by the compiler; what can still go wrong here
 * is what the engine does, which is what the scenario tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

/* One run of a program: the run loop's own state. */
typedef struct run {
    const rig_program *prog;
    rig_result *res;
    rig_peer *peers;
    rig_wire wire;
    int have_conn;
    tlsrig_session *sessions[RIG_MAX_SESSIONS]; /* by the compiler's session slot */
    int line;                                   /* the step being run, for messages */
} run;

static rig_status fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static rig_status fail(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rig__vreport(r->res, RIG_FAIL, r->prog->path, r->line, fmt, ap);
    va_end(ap);
    return RIG_FAIL;
}

static rig_side *side_of(run *r, const rig_step *st)
{
    return rig__wire_side(&r->wire, st->side);
}

static void conn_close(run *r)
{
    rig__wire_reset(&r->wire);
    r->have_conn = 0;
}

/* Rules end with their connection: one that never fired fails the run. */
static rig_status rules_done(run *r)
{
    const rig_rule *u = rig__tamper_unfired(&r->wire);
    if (u == NULL)
        return RIG_PASS;
    const rig_step *st = u->st;
    const char *name = wire_hs_type_name(st->tamper.msg);
    char num[16] = "";
    if (st->tamper.nth > 1)
        snprintf(num, sizeof(num), " #%u", st->tamper.nth);
    rig__report(r->res, RIG_FAIL, r->prog->path, 0,
                "tamper at %s:%d never matched: %s sent %u %s message%s after it was armed, "
                "not%s",
                r->prog->path, st->line, r->prog->peers[st->peer].name, u->seen,
                name != NULL ? name : "such", u->seen == 1 ? "" : "s", num[0] ? num : " one");
    r->res->fail_line = st->line;
    return RIG_FAIL;
}

static rig_status conn_open(run *r, int client, int server)
{
    char why[512];
    if (r->have_conn && rules_done(r) != RIG_PASS)
        return RIG_FAIL;
    conn_close(r);
    if (rig__conn_new(&r->peers[client], &r->wire.client, why, sizeof(why)) < 0 ||
        rig__conn_new(&r->peers[server], &r->wire.server, why, sizeof(why)) < 0)
        return fail(r, "%s", why);
    r->have_conn = 1;
    if (rig__wire_begin(&r->wire) < 0)
        return fail(r, "out of memory");
    return RIG_PASS;
}

static rig_status expect_rc(run *r, rig_side *side, const char *what, int rc, int want)
{
    if (rc == want || (want == 1 && rc >= 0 && rc != 0))
        return RIG_PASS;
    if (rc < 0)
        return fail(r, "%s %s: expected %s, got error %s: %s", what, side->peer->name,
                    want < 0 ? rig__err_word(want) : "success", rig__err_word(rc),
                    tlsrig_conn_last_error(side->conn)->message);
    return fail(r, "%s %s: expected %s, got %d", what, side->peer->name,
                want < 0    ? rig__err_word(want)
                : want == 0 ? "0"
                            : "1",
                rc);
}

static rig_status wire_failed(run *r)
{
    return fail(r, "the wire failed");
}

/* ---- steps ---- */

static rig_status step_handshake(run *r, const rig_step *st)
{
    rig_side *c = &r->wire.client, *s = &r->wire.server;
    int h = rig__handshake(&r->wire);
    if (h == -2)
        return fail(r, "step budget of %ld pump rounds exhausted", r->prog->budget);
    if (h == -3)
        return fail(r, "wall-clock limit exceeded");
    if (h < 0)
        return wire_failed(r);
    if (st->handshake.fails && h == 0)
        return fail(r, "handshake: expected it to fail, but it completed (%s, %s)",
                    tlsrig_conn_get_protocol_version_name(c->conn),
                    tlsrig_conn_get_cipher_name(c->conn) ? tlsrig_conn_get_cipher_name(c->conn)
                                                         : "no cipher");
    if (!st->handshake.fails && h != 0)
        return fail(r, "handshake did not complete: client: %s%s; server: %s%s",
                    c->ep.last_err ? rig__err_word(c->ep.last_err) : "waiting",
                    c->ep.last_err ? c->ep.last_msg : "",
                    s->ep.last_err ? rig__err_word(s->ep.last_err) : "waiting",
                    s->ep.last_err ? s->ep.last_msg : "");
    return RIG_PASS;
}

static rig_status step_send(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    const rig_data *d = &st->send.data;
    int rc = rig__note(side, tlsrig_conn_sendall(side->conn, d->bytes, d->len, 0));
    if (st->send.fails != 0)
        return expect_rc(r, side, "send", rc, st->send.fails);
    if (rc < 0)
        return expect_rc(r, side, "send", rc, (int)d->len);
    return rig__pump(&r->wire) < 0 ? wire_failed(r) : RIG_PASS;
}

static rig_status step_recv_error(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    if (rig__pump(&r->wire) < 0)
        return wire_failed(r);
    uint8_t buf[256];
    int rc = rig__note(side, tlsrig_conn_recv(side->conn, buf, sizeof(buf), 0));
    return expect_rc(r, side, "recv", rc, st->recv_error.err);
}

static rig_status step_recv(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    const uint8_t *data = st->recv.data.bytes;
    size_t len = st->recv.data.len, into = st->recv.into;
    int flags = st->recv.peek ? TLSRIG_MSG_PEEK : 0;
    uint8_t *got = malloc(len);
    size_t have = 0;
    int rc = 0, stalls = 0;
    while (got != NULL && have < len) {
        if (rig__pump(&r->wire) < 0)
            break;
        size_t want = len - have;
        if (flags & TLSRIG_MSG_PEEK)
            rc = tlsrig_conn_recv(side->conn, got, len, flags); /* peek sees from the start */
        else if (into > 0)
            rc = tlsrig_conn_recv_into(side->conn, got + have, want, into, flags);
        else
            rc = tlsrig_conn_recv(side->conn, got + have, want, flags);
        rig__note(side, rc);
        if (rc == TLSRIG_ERR_WANT_READ && ++stalls < 4)
            continue;
        if (rc <= 0)
            break;
        stalls = 0;
        have = (flags & TLSRIG_MSG_PEEK) ? (size_t)rc : have + (size_t)rc;
        if (flags & TLSRIG_MSG_PEEK)
            break;
    }
    rig_status rs = RIG_PASS;
    const char *name = side->peer->name;
    if (got == NULL)
        rs = fail(r, "out of memory");
    else if (rc < 0)
        rs = fail(r, "recv %s: got %zu of %zu bytes, then error %s: %s", name, have, len,
                  rig__err_word(rc), tlsrig_conn_last_error(side->conn)->message);
    else if (have != len && !(flags & TLSRIG_MSG_PEEK))
        rs = fail(r, "recv %s: expected %zu bytes, got %zu", name, len, have);
    else if (memcmp(got, data, have < len ? have : len) != 0 ||
             ((flags & TLSRIG_MSG_PEEK) && have < len))
        rs = fail(r, "recv %s: the bytes differ from what was expected (%zu bytes)", name, len);
    free(got);
    return rs;
}

static rig_status step_renegotiate(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    int rc = rig__note(side, tlsrig_conn_renegotiate(side->conn));
    if (rc == 1)
        rig__rehandshake(side); /* the next handshake step drives it */
    return expect_rc(r, side, "renegotiate", rc, st->call.returns);
}

/* key-update and request-client-cert: schedule a post-handshake message, then send it. */
static rig_status step_post_handshake(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    int key_update = st->kind == RIG_STEP_KEY_UPDATE;
    int rc = rig__note(side, key_update ? tlsrig_conn_key_update(side->conn, st->call.requested)
                                        : tlsrig_conn_verify_client_post_handshake(side->conn));
    if (rc == 0) {
        int broken = 0;
        rc = rig__flush_handshake(&r->wire, side, &broken);
        if (broken)
            return wire_failed(r);
    }
    return expect_rc(r, side, key_update ? "key-update" : "request-client-cert", rc,
                     st->call.returns);
}

static rig_status step_shutdown(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    int rc = rig__note(side, tlsrig_conn_shutdown(side->conn));
    if (rig__pump(&r->wire) < 0)
        return wire_failed(r);
    return expect_rc(r, side, "shutdown", rc, st->call.returns);
}

static rig_status step_save_session(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    /* A TLS 1.3 ticket arrives after the handshake: let the client read it first. */
    rig__drive(&r->wire, side);
    tlsrig_session *sess = NULL;
    int rc = tlsrig_conn_get_session(side->conn, &sess);
    if (rc < 0)
        return expect_rc(r, side, "save-session", rc, 0);
    tlsrig_session_free(r->sessions[st->session.slot]);
    r->sessions[st->session.slot] = sess;
    return RIG_PASS;
}

static rig_status step_resume(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    int slot = st->session.slot;
    if (slot < 0 || r->sessions[slot] == NULL)
        return fail(r, "resume: no session saved as '%s'", st->session.name);
    int rc = rig__note(side, tlsrig_conn_set_session(side->conn, r->sessions[slot]));
    return expect_rc(r, side, "resume", rc, st->session.returns);
}

static rig_status step_early_send(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    const rig_data *d = &st->early.data;
    int rc = rig__note(side, tlsrig_conn_write_early_data(side->conn, d->bytes, d->len));
    if (rc != (int)d->len)
        return expect_rc(r, side, "early-data send", rc, (int)d->len);
    return rig__pump(&r->wire) < 0 ? wire_failed(r) : RIG_PASS;
}

static rig_status step_early_recv(run *r, const rig_step *st)
{
    rig_side *side = side_of(r, st);
    const rig_data *d = &st->early.data;
    size_t have = 0;
    if (rig__recv_early(&r->wire, side, d->bytes, d->len, &have) < 0)
        return fail(r, "early-data recv %s: expected %zu bytes, got %zu%s", side->peer->name,
                    d->len, have, have >= d->len ? " that differ" : "");
    return RIG_PASS;
}

static rig_status step_expect(run *r, const rig_step *st)
{
    char why[sizeof(r->res->message)];
    rig_view v;
    memset(&v, 0, sizeof(v));
    if (st->expect.kind == RIG_EXPECT_CONTEXT_FAILED) {
        v.name = r->prog->peers[st->peer].name;
        v.ctx_failed = r->peers[st->peer].ctx_failed;
    } else {
        rig_side *side = side_of(r, st);
        v.name = side->peer->name;
        v.conn = side->conn;
        v.obs = &side->obs;
        v.out = &side->ep;
    }
    if (rig__expect_check(&st->expect, &v, why, sizeof(why)) < 0)
        return fail(r, "%s", why);
    return RIG_PASS;
}

static rig_status run_step(run *r, const rig_step *st)
{
    r->line = st->line;
    switch (st->kind) {
    case RIG_STEP_CONNECT:
        return conn_open(r, st->connect.client, st->connect.server);
    case RIG_STEP_ADVANCE:
        return tlsrig_clock_advance(st->advance.seconds) < 0
                   ? fail(r, "the virtual clock is not on")
                   : RIG_PASS;
    case RIG_STEP_EXPECT:
        if (st->expect.kind == RIG_EXPECT_CONTEXT_FAILED)
            return step_expect(r, st);
        break;
    default:
        break;
    }
    /* The compiler refuses these steps where no connection can exist; a connection that
     * could not be made has already failed the run. */
    if (!r->have_conn)
        return fail(r, "%s: there is no connection (a context failed to be created?)",
                    rig__step_word(st->kind));
    switch (st->kind) {
    case RIG_STEP_HANDSHAKE:
        return step_handshake(r, st);
    case RIG_STEP_PUMP:
        return rig__pump(&r->wire) >= 0 ? RIG_PASS : wire_failed(r);
    case RIG_STEP_SEND:
        return step_send(r, st);
    case RIG_STEP_RECV:
        return step_recv(r, st);
    case RIG_STEP_RECV_ERROR:
        return step_recv_error(r, st);
    case RIG_STEP_RENEGOTIATE:
        return step_renegotiate(r, st);
    case RIG_STEP_KEY_UPDATE:
    case RIG_STEP_REQUEST_CLIENT_CERT:
        return step_post_handshake(r, st);
    case RIG_STEP_SHUTDOWN:
        return step_shutdown(r, st);
    case RIG_STEP_SET_SHUTDOWN:
        tlsrig_conn_set_shutdown(side_of(r, st)->conn, st->set_shutdown.flags);
        return RIG_PASS;
    case RIG_STEP_QUIET_SHUTDOWN:
        tlsrig_conn_set_quiet_shutdown(side_of(r, st)->conn, 1);
        return RIG_PASS;
    case RIG_STEP_CLOSE:
        switch (rig__close_transport(&r->wire, side_of(r, st))) {
        case 0:
            return RIG_PASS;
        case -2:
            return fail(r, "close: cannot end the transport");
        default:
            return wire_failed(r);
        }
    case RIG_STEP_SAVE_SESSION:
        return step_save_session(r, st);
    case RIG_STEP_RESUME:
        return step_resume(r, st);
    case RIG_STEP_EARLY_SEND:
        return step_early_send(r, st);
    case RIG_STEP_EARLY_RECV:
        return step_early_recv(r, st);
    case RIG_STEP_EXPECT:
        return step_expect(r, st);
    case RIG_STEP_TAMPER:
        return rig__tamper_arm(&r->wire, st) < 0 ? fail(r, "out of memory") : RIG_PASS;
    case RIG_STEP_INJECT: {
        int rc = rig__inject(&r->wire, st);
        return rc < 0 ? fail(r, "inject: %s", tlsrig_err_name(rc)) : RIG_PASS;
    }
    case RIG_STEP_TAMPER_FIXUP:
        rig__tamper_fixup(&r->wire, st->fixup.on);
        return RIG_PASS;
    default:
        return fail(r, "internal error: step kind %d", (int)st->kind);
    }
}

/* ---- entry points ---- */

rig_status rig_run_program(const rig_program *p, const rig_options *opt, rig_result *res)
{
    static const rig_options defaults = {0};
    run r;
    rig_status rs;

    memset(res, 0, sizeof(*res));
    memset(&r, 0, sizeof(r));
    opt = opt != NULL ? opt : &defaults;
    r.prog = p;
    r.res = res;
    double deadline = rig__now() + (opt->wall_limit > 0 ? opt->wall_limit : 10.0);
    rig__wire_init(&r.wire, opt, res, p->budget, deadline);
    r.wire.path = p->path;
    r.wire.middle = p->middle;

    if (tlsrig_deterministic(p->seed) < 0) {
        snprintf(res->message, sizeof(res->message), "cannot enter deterministic mode");
        return res->status = RIG_ERROR;
    }
    rs = rig__peers_new(p, opt, res, &r.wire, &r.peers);
    if (rs == RIG_PASS && r.peers[p->first_client].ctx != NULL &&
        r.peers[p->first_server].ctx != NULL)
        rs = conn_open(&r, p->first_client, p->first_server);
    for (size_t i = 0; rs == RIG_PASS && i < p->n_steps; i++) {
        if (rig__now() > deadline) {
            r.line = p->steps[i].line;
            rs = fail(&r, "wall-clock limit exceeded");
            break;
        }
        rs = run_step(&r, &p->steps[i]);
        res->steps_run = (long)i + 1;
        /* a rule that matched and could not be applied says why, whatever the step saw */
        if (r.wire.tamper_err[0] != '\0') {
            rs = rig__report(res, RIG_FAIL, p->path, r.wire.tamper_err_line, "%s",
                             r.wire.tamper_err);
            break;
        }
    }
    if (rs == RIG_PASS && r.have_conn)
        rs = rules_done(&r);

    conn_close(&r);
    for (size_t i = 0; i < RIG_MAX_SESSIONS; i++)
        tlsrig_session_free(r.sessions[i]);
    rig__peers_free(r.peers, p->n_peers);
    /* Deterministic mode stays on: the next run restarts the same source in place, which is
     * far cheaper than building a new one (see rig.h). */
    res->status = rs;
    return rs;
}

rig_status rig_run(const scn *s, const rig_options *opt, rig_result *res)
{
    rig_program *p = NULL;
    rig_status rs = rig_compile(s, &p, res);
    if (rs == RIG_PASS)
        rs = rig_run_program(p, opt, res);
    rig_program_free(p);
    return rs;
}

void rig_result_cleanup(rig_result *res)
{
    for (size_t i = 0; i < res->n_chunks; i++)
        free(res->chunks[i].data);
    free(res->chunks);
    free(res->keylog);
    res->chunks = NULL;
    res->n_chunks = 0;
    res->keylog = NULL;
    res->keylog_len = 0;
}

int rig_prepare(void)
{
    tlsrig_ctx *ctx = NULL;
    if (tlsrig_deterministic(0) < 0 || tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, NULL) < 0)
        return -1;
    tlsrig_ctx_free(ctx);
    return 0;
}
