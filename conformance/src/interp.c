/*
 * interp.c - running a scenario: the wire between the two sides of the current connection,
 * the handshake driver, and the steps.
 *
 * The wire is the only place bytes cross from one side to the other, so capture (for
 * transcripts and pcapng) and tampering (rig_options.tamper) both sit in wire_move(). A
 * side could equally be a socket to another vendor's process: only wire_move() and the
 * engine calls on the side's connection would change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "interp.h"

const char *const rig_step_names[] = {"connect",        "handshake",
                                      "pump",           "send",
                                      "recv",           "renegotiate",
                                      "key-update",     "request-client-cert",
                                      "shutdown",       "set-shutdown",
                                      "quiet-shutdown", "close",
                                      "save-session",   "resume",
                                      "early-data",     "advance",
                                      "expect",         NULL};

double rig__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

rig_status rig__fail(rig_state *st, const char *fmt, ...)
{
    rig_result *res = st->res;
    int n = 0;
    if (st->line != NULL)
        n = snprintf(res->message, sizeof(res->message), "%s:%d: ", st->s->path, st->line->lineno);
    if (n < 0 || (size_t)n >= sizeof(res->message))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message + n, sizeof(res->message) - (size_t)n, fmt, ap);
    va_end(ap);
    res->fail_line = st->line != NULL ? st->line->lineno : 0;
    res->status = RIG_FAIL;
    return RIG_FAIL;
}

rig_status rig__invalid(rig_state *st, const scn_line *l, const char *fmt, ...)
{
    rig_result *res = st->res;
    int n = snprintf(res->message, sizeof(res->message), "%s:%d: ", st->s->path,
                     l != NULL ? l->lineno : 0);
    if (n < 0 || (size_t)n >= sizeof(res->message))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message + n, sizeof(res->message) - (size_t)n, fmt, ap);
    va_end(ap);
    res->fail_line = l != NULL ? l->lineno : 0;
    res->status = RIG_INVALID;
    return RIG_INVALID;
}

/* ---- error classes ---- */

static const struct {
    const char *word;
    int err;
} err_words[] = {
    {"want-read", TLSRIG_ERR_WANT_READ},
    {"want-write", TLSRIG_ERR_WANT_WRITE},
    {"want-x509-lookup", TLSRIG_ERR_WANT_X509_LOOKUP},
    {"zero-return", TLSRIG_ERR_ZERO_RETURN},
    {"syscall", TLSRIG_ERR_SYSCALL},
    {"ssl", TLSRIG_ERR_SSL},
    {"invalid-argument", TLSRIG_ERR_INVALID_ARGUMENT},
    {"unsupported", TLSRIG_ERR_UNSUPPORTED},
    {"nomem", TLSRIG_ERR_NOMEM},
    {"callback", TLSRIG_ERR_CALLBACK},
    {"not-available", TLSRIG_ERR_NOT_AVAILABLE},
};

int rig__err_class(const char *word)
{
    for (size_t i = 0; i < sizeof(err_words) / sizeof(err_words[0]); i++)
        if (strcmp(word, err_words[i].word) == 0)
            return err_words[i].err;
    return 1;
}

const char *rig__err_word(int err)
{
    if (err >= 0)
        return "success";
    for (size_t i = 0; i < sizeof(err_words) / sizeof(err_words[0]); i++)
        if (err == err_words[i].err)
            return err_words[i].word;
    return "unknown";
}

const char *const *rig__err_words(void)
{
    static const char *words[sizeof(err_words) / sizeof(err_words[0]) + 1];
    for (size_t i = 0; i < sizeof(err_words) / sizeof(err_words[0]); i++)
        words[i] = err_words[i].word;
    return words;
}

int rig__word_eq(const scn_line *l, int i, const char *w)
{
    return i < l->argc && strcmp(l->argv[i], w) == 0;
}

/* ---- sides ---- */

rig_side *rig__side(rig_state *st, const char *name)
{
    rig_peer *p = rig__peer(st, name);
    if (p == NULL)
        return NULL;
    if (st->dry)
        return p->is_server ? &st->server : &st->client;
    if (st->client.peer == p)
        return &st->client;
    if (st->server.peer == p)
        return &st->server;
    return NULL;
}

static rig_side *other(rig_state *st, rig_side *side)
{
    return side == &st->client ? &st->server : &st->client;
}

/* Remember a side's failure for `expect error`; want-read/write are not failures, but an
 * explicit step that ended in one can be checked with `expect error <side> want-read`. */
static int note(rig_side *side, int rc)
{
    if (rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE)
        side->last_want = rc;
    if (rc < 0 && rc != TLSRIG_ERR_WANT_READ && rc != TLSRIG_ERR_WANT_WRITE) {
        side->last_err = rc;
        snprintf(side->last_msg, sizeof(side->last_msg), "%s",
                 tlsrig_conn_last_error(side->conn)->message);
    }
    return rc;
}

static void side_reset(rig_side *side)
{
    tlsrig_conn_free(side->conn);
    free(side->early);
    free(side->wbuf);
    rig_peer *p = side->peer;
    memset(side, 0, sizeof(*side));
    side->peer = p;
}

static void conn_close(rig_state *st)
{
    side_reset(&st->client);
    side_reset(&st->server);
    st->have_conn = 0;
}

static rig_status conn_open(rig_state *st, rig_peer *c, rig_peer *s)
{
    rig_status rs;
    conn_close(st);
    st->client.peer = c;
    st->server.peer = s;
    if (c->ctx == NULL || s->ctx == NULL)
        return rig__fail(st, "cannot connect: peer %s has no context",
                         c->ctx == NULL ? c->decl->name : s->decl->name);
    if (tlsrig_conn_new(c->ctx, -1, &st->client.conn) < 0 ||
        tlsrig_conn_new(s->ctx, -1, &st->server.conn) < 0)
        return rig__fail(st, "cannot create a connection");
    tlsrig_conn_set_connect_state(st->client.conn);
    tlsrig_conn_set_accept_state(st->server.conn);
    if ((rs = rig__conn_setup(st, &st->client)) != RIG_PASS ||
        (rs = rig__conn_setup(st, &st->server)) != RIG_PASS)
        return rs;
    st->have_conn = 1;
    st->conn_no++;
    return RIG_PASS;
}

/* ---- the wire ---- */

static int capture(rig_state *st, int from_server, const uint8_t *buf, size_t len)
{
    rig_result *res = st->res;
    rig_chunk *c = realloc(res->chunks, (res->n_chunks + 1) * sizeof(*c));
    if (c == NULL)
        return -1;
    res->chunks = c;
    c = &res->chunks[res->n_chunks];
    c->data = malloc(len);
    if (c->data == NULL)
        return -1;
    memcpy(c->data, buf, len);
    c->len = len;
    c->from_server = from_server;
    c->conn = st->conn_no - 1;
    res->n_chunks++;
    return 0;
}

/* Move everything |from| has to send to the other side. Returns bytes moved, or -1 when the
 * scenario must stop (tamper abort, out of memory). */
/* Deliver |len| bytes from |from| to the other side, recording them when capturing. */
static int deliver(rig_state *st, rig_side *from, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (st->opt->capture && capture(st, from == &st->server, buf, len) < 0)
        return -1;
    return tlsrig_conn_bio_write(other(st, from)->conn, buf, len) == (int)len ? 0 : -1;
}

/* With a tamper hook, bytes are cut into whole TLS records (RFC 8446 §5.1: 5-byte header,
 * 16-bit length) so the hook sees one record at a time; a record split across reads waits in
 * the side's buffer for its end. The hook may grow a record up to the TLS maximum. */
static int tamper_move(rig_state *st, rig_side *from, const uint8_t *buf, size_t len)
{
    enum { MAX_RECORD = 5 + 16384 + 2048 };
    uint8_t *nb = realloc(from->wbuf, from->wlen + len);
    if (nb == NULL)
        return -1;
    from->wbuf = nb;
    memcpy(from->wbuf + from->wlen, buf, len);
    from->wlen += len;

    size_t off = 0;
    while (from->wlen - off >= 5) {
        size_t rlen = 5 + ((size_t)from->wbuf[off + 3] << 8 | from->wbuf[off + 4]);
        if (from->wlen - off < rlen)
            break;
        uint8_t rec[MAX_RECORD];
        size_t cur = rlen < sizeof(rec) ? rlen : sizeof(rec);
        memcpy(rec, from->wbuf + off, cur);
        off += rlen;
        if (st->opt->tamper(st->opt->tamper_arg, from == &st->server, rec, &cur, sizeof(rec)) < 0)
            return -1;
        if (cur > sizeof(rec) || deliver(st, from, rec, cur) < 0)
            return -1;
    }
    memmove(from->wbuf, from->wbuf + off, from->wlen - off);
    from->wlen -= off;
    return 0;
}

/* Move everything |from| has to send to the other side. Returns bytes moved, or -1 when the
 * scenario must stop (tamper abort, out of memory). */
static long wire_move(rig_state *st, rig_side *from)
{
    uint8_t buf[16384 + 2048];
    long total = 0;
    int n;
    while ((n = tlsrig_conn_bio_read(from->conn, buf, sizeof(buf))) > 0) {
        if (from->closed)
            continue; /* a closed transport carries nothing */
        int rc = st->opt->tamper != NULL ? tamper_move(st, from, buf, (size_t)n)
                                         : deliver(st, from, buf, (size_t)n);
        if (rc < 0)
            return -1;
        total += n;
    }
    return total;
}

static long pump(rig_state *st)
{
    long a = wire_move(st, &st->client);
    if (a < 0)
        return -1;
    long b = wire_move(st, &st->server);
    if (b < 0)
        return -1;
    return a + b;
}

/* ---- the handshake driver ---- */

static int hard(int rc)
{
    return rc < 0 && rc != TLSRIG_ERR_WANT_READ && rc != TLSRIG_ERR_WANT_WRITE;
}

static int in_progress(rig_side *side)
{
    SSL *ssl = tlsrig_conn_get0_ssl(side->conn);
    return !side->done || SSL_in_init(ssl) || tlsrig_conn_renegotiate_pending(side->conn);
}

/* Read early data on a server until the client says it is done (RFC 8446 §4.2.10), keeping
 * it for `early-data recv`. */
static int drain_early(rig_side *side)
{
    uint8_t buf[4096];
    for (;;) {
        int n = tlsrig_conn_read_early_data(side->conn, buf, sizeof(buf));
        if (n > 0) {
            uint8_t *e = realloc(side->early, side->early_len + (size_t)n);
            if (e == NULL)
                return TLSRIG_ERR_NOMEM;
            memcpy(e + side->early_len, buf, (size_t)n);
            side->early = e;
            side->early_len += (size_t)n;
            continue;
        }
        if (n == TLSRIG_ERR_ZERO_RETURN)
            side->early_done = 1;
        return n == TLSRIG_ERR_ZERO_RETURN ? 0 : n;
    }
}

/* One move of one side: advance its handshake, or, once it is done, read (peek) so that it
 * processes what arrived (post-handshake messages, a renegotiation request). */
static int drive(rig_side *side)
{
    int rc;
    if (side->closed)
        return 0;
    if (side->peer->is_server && side->peer->early_data > 0 && !side->early_done && !side->done) {
        rc = drain_early(side);
        if (rc < 0)
            return note(side, rc);
    }
    if (!side->done || SSL_in_init(tlsrig_conn_get0_ssl(side->conn))) {
        rc = tlsrig_conn_do_handshake(side->conn);
        if (rc == 0)
            side->done = 1;
        return hard(rc) ? note(side, rc) : rc;
    }
    uint8_t b;
    rc = tlsrig_conn_recv(side->conn, &b, 1, TLSRIG_MSG_PEEK);
    return hard(rc) ? note(side, rc) : 0;
}

/* Drive both sides until both finished, one failed, or nothing moves. Returns 0 when both
 * completed, else 1; -1 when the scenario must stop. */
static int handshake(rig_state *st)
{
    int idle = 0;
    for (;;) {
        if (++st->rounds > st->s->budget)
            return -2;
        if (rig__now() > st->deadline)
            return -3;
        int rc_c = drive(&st->client);
        long m1 = wire_move(st, &st->client);
        int rc_s = drive(&st->server);
        long m2 = wire_move(st, &st->server);
        if (m1 < 0 || m2 < 0)
            return -1;
        if (hard(rc_c) || hard(rc_s)) {
            /* let the other side read the alert that reports the failure */
            for (int i = 0; i < 4; i++) {
                if (!hard(rc_c))
                    rc_c = drive(&st->client);
                if (!hard(rc_s))
                    rc_s = drive(&st->server);
                if (pump(st) <= 0)
                    break;
            }
            return 1;
        }
        int busy = in_progress(&st->client) || in_progress(&st->server);
        if (m1 + m2 == 0) {
            if (!busy)
                return 0;
            if (++idle >= 3)
                return 1; /* stuck: each waits for the other */
        } else {
            idle = 0;
        }
    }
}

/* ---- steps ---- */

#define NEED(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return rig__invalid(st, l, __VA_ARGS__);                                               \
    } while (0)

static rig_side *need_side(rig_state *st, const scn_line *l, int i)
{
    if (i >= l->argc)
        return NULL;
    return rig__side(st, l->argv[i]);
}

/* Words naming a side must name a peer of the current connection. */
#define SIDE(var, i)                                                                               \
    rig_side *var = need_side(st, l, (i));                                                         \
    NEED(var != NULL, "'%s' is not a peer of the current connection",                              \
         (i) < l->argc ? l->argv[(i)] : "(missing)")

/* Passed as |out| to step_data when only checking: no payload is built. */
static uint8_t *step_data_dry;

/* The data a send/recv step names: "text" or <n> bytes (a fixed pattern). */
static int step_data(const scn_line *l, int i, uint8_t **out, size_t *len, int *next)
{
    *out = NULL;
    *len = 0;
    if (i >= l->argc)
        return -1;
    if (i + 1 < l->argc && strcmp(l->argv[i + 1], "bytes") == 0) {
        char *end = NULL;
        unsigned long n = strtoul(l->argv[i], &end, 10);
        if (end == l->argv[i] || *end != '\0' || n == 0 || n > (64ul << 20))
            return -1;
        if (out == &step_data_dry) {
            /* checking only: the size is valid, the payload is not needed */
            *len = n;
            *next = i + 2;
            return 0;
        }
        *out = malloc(n);
        if (*out == NULL)
            return -1;
        for (unsigned long k = 0; k < n; k++)
            (*out)[k] = (uint8_t)('a' + (k * 7 + k / 251) % 26);
        *len = n;
        *next = i + 2;
        return 0;
    }
    *len = l->argl[i];
    *next = i + 1;
    if (out == &step_data_dry)
        return *len > 0 ? 0 : -1;
    *out = malloc(l->argl[i] > 0 ? l->argl[i] : 1);
    if (*out == NULL)
        return -1;
    memcpy(*out, l->argv[i], l->argl[i]);
    return *len > 0 ? 0 : -1;
}

static rig_status expect_rc(rig_state *st, rig_side *side, const char *what, int rc, int want)
{
    if (rc == want || (want == 1 && rc >= 0 && rc != 0))
        return RIG_PASS;
    if (rc < 0)
        return rig__fail(st, "%s %s: expected %s, got error %s: %s", what, side->peer->decl->name,
                         want < 0 ? rig__err_word(want) : "success", rig__err_word(rc),
                         tlsrig_conn_last_error(side->conn)->message);
    return rig__fail(st, "%s %s: expected %s, got %d", what, side->peer->decl->name,
                     want < 0    ? rig__err_word(want)
                     : want == 0 ? "0"
                                 : "1",
                     rc);
}

/* `returns 0|1|error <class>` at word |i|; sets |*want| (default |dflt|). */
static int parse_returns(const scn_line *l, int i, int dflt, int *want)
{
    *want = dflt;
    if (i >= l->argc)
        return 0;
    if (strcmp(l->argv[i], "returns") != 0 || i + 1 >= l->argc)
        return -1;
    const char *v = l->argv[i + 1];
    if (strcmp(v, "0") == 0 && i + 2 == l->argc)
        *want = 0;
    else if (strcmp(v, "1") == 0 && i + 2 == l->argc)
        *want = 1;
    else if (strcmp(v, "error") == 0 && i + 3 == l->argc && rig__err_class(l->argv[i + 2]) < 0)
        *want = rig__err_class(l->argv[i + 2]);
    else
        return -1;
    return 0;
}

static rig_status step_send(rig_state *st, const scn_line *l)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int next = 0, want = 0;
    SIDE(side, 1);
    NEED(step_data(l, 2, st->dry ? &step_data_dry : &data, &len, &next) == 0,
         "send takes <side> \"text\" or <side> <n> bytes");
    if (next < l->argc) {
        if (!(strcmp(l->argv[next], "fails") == 0 && next + 2 == l->argc &&
              (want = rig__err_class(l->argv[next + 1])) < 0)) {
            free(data);
            return rig__invalid(st, l, "after the data, send takes only fails <class>");
        }
    }
    if (st->dry) {
        free(data);
        return RIG_PASS;
    }
    int rc = note(side, tlsrig_conn_sendall(side->conn, data, len, 0));
    free(data);
    if (want != 0)
        return expect_rc(st, side, "send", rc, want);
    if (rc < 0)
        return expect_rc(st, side, "send", rc, (int)len);
    return pump(st) < 0 ? rig__fail(st, "the wire failed") : RIG_PASS;
}

static rig_status step_recv(rig_state *st, const scn_line *l)
{
    SIDE(side, 1);
    NEED(l->argc >= 3, "recv takes <side> \"text\", <side> <n> bytes or <side> error <class>");
    if (strcmp(l->argv[2], "error") == 0) {
        int want = l->argc == 4 ? rig__err_class(l->argv[3]) : 1;
        NEED(want < 0, "recv <side> error takes one error class");
        if (st->dry)
            return RIG_PASS;
        if (pump(st) < 0)
            return rig__fail(st, "the wire failed");
        uint8_t buf[256];
        int rc = note(side, tlsrig_conn_recv(side->conn, buf, sizeof(buf), 0));
        return expect_rc(st, side, "recv", rc, want);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int next = 0, flags = 0;
    size_t into = 0;
    NEED(step_data(l, 2, st->dry ? &step_data_dry : &data, &len, &next) == 0, "recv: bad data");
    for (int i = next; i < l->argc; i++) {
        if (strcmp(l->argv[i], "peek") == 0) {
            flags |= TLSRIG_MSG_PEEK;
        } else if (strcmp(l->argv[i], "into") == 0 && i + 1 < l->argc) {
            into = strtoul(l->argv[++i], NULL, 10);
            if (into == 0) {
                free(data);
                return rig__invalid(st, l, "recv ... into takes a positive byte count");
            }
        } else {
            free(data);
            return rig__invalid(st, l, "recv: unexpected word '%s' (peek or into <n>)", l->argv[i]);
        }
    }
    if (st->dry) {
        free(data);
        return RIG_PASS;
    }
    uint8_t *got = malloc(len);
    size_t have = 0;
    int rc = 0, stalls = 0;
    while (got != NULL && have < len) {
        if (pump(st) < 0)
            break;
        size_t want = len - have;
        if (flags & TLSRIG_MSG_PEEK)
            rc = tlsrig_conn_recv(side->conn, got, len, flags); /* peek sees from the start */
        else if (into > 0)
            rc = tlsrig_conn_recv_into(side->conn, got + have, want, into, flags);
        else
            rc = tlsrig_conn_recv(side->conn, got + have, want, flags);
        note(side, rc);
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
    if (got == NULL)
        rs = rig__fail(st, "out of memory");
    else if (rc < 0)
        rs = rig__fail(st, "recv %s: got %zu of %zu bytes, then error %s: %s",
                       side->peer->decl->name, have, len, rig__err_word(rc),
                       tlsrig_conn_last_error(side->conn)->message);
    else if (have != len && !(flags & TLSRIG_MSG_PEEK))
        rs = rig__fail(st, "recv %s: expected %zu bytes, got %zu", side->peer->decl->name, len,
                       have);
    else if (memcmp(got, data, have < len ? have : len) != 0 ||
             ((flags & TLSRIG_MSG_PEEK) && have < len))
        rs = rig__fail(st, "recv %s: the bytes differ from what was expected (%zu bytes)",
                       side->peer->decl->name, len);
    free(got);
    free(data);
    return rs;
}

static rig_status step_handshake(rig_state *st, const scn_line *l)
{
    int fails = 0;
    if (l->argc == 2) {
        NEED(strcmp(l->argv[1], "fails") == 0, "handshake takes nothing or 'fails'");
        fails = 1;
    }
    NEED(l->argc <= 2, "handshake takes nothing or 'fails'");
    if (st->dry)
        return RIG_PASS;
    int r = handshake(st);
    if (r == -2)
        return rig__fail(st, "step budget of %ld pump rounds exhausted", st->s->budget);
    if (r == -3)
        return rig__fail(st, "wall-clock limit exceeded");
    if (r < 0)
        return rig__fail(st, "the wire failed");
    if (fails && r == 0)
        return rig__fail(st, "handshake: expected it to fail, but it completed (%s, %s)",
                         tlsrig_conn_get_protocol_version_name(st->client.conn),
                         tlsrig_conn_get_cipher_name(st->client.conn)
                             ? tlsrig_conn_get_cipher_name(st->client.conn)
                             : "no cipher");
    if (!fails && r != 0)
        return rig__fail(st, "handshake did not complete: client: %s%s; server: %s%s",
                         st->client.last_err ? rig__err_word(st->client.last_err) : "waiting",
                         st->client.last_err ? st->client.last_msg : "",
                         st->server.last_err ? rig__err_word(st->server.last_err) : "waiting",
                         st->server.last_err ? st->server.last_msg : "");
    return RIG_PASS;
}

static rig_status step_renegotiate(rig_state *st, const scn_line *l)
{
    int want;
    SIDE(side, 1);
    NEED(parse_returns(l, 2, 1, &want) == 0,
         "renegotiate takes <side> [returns 0|1|error <class>]");
    if (st->dry)
        return RIG_PASS;
    int rc = note(side, tlsrig_conn_renegotiate(side->conn));
    if (rc == 1)
        side->done = 0; /* the next handshake step drives it */
    return expect_rc(st, side, "renegotiate", rc, want);
}

static rig_status step_key_update(rig_state *st, const scn_line *l)
{
    int want;
    SIDE(side, 1);
    NEED(l->argc >= 3 &&
             (strcmp(l->argv[2], "requested") == 0 || strcmp(l->argv[2], "not-requested") == 0),
         "key-update takes <side> requested|not-requested");
    NEED(parse_returns(l, 3, 0, &want) == 0, "key-update: bad 'returns'");
    if (st->dry)
        return RIG_PASS;
    int rc = note(side, tlsrig_conn_key_update(side->conn, l->argv[2][0] == 'r'));
    if (rc == 0) {
        /* RFC 8446 §4.6.3: the KeyUpdate goes out with the next write or handshake call. */
        rc = note(side, tlsrig_conn_do_handshake(side->conn));
        if (pump(st) < 0)
            return rig__fail(st, "the wire failed");
    }
    return expect_rc(st, side, "key-update", rc, want);
}

static rig_status step_client_cert(rig_state *st, const scn_line *l)
{
    int want;
    SIDE(side, 1);
    NEED(parse_returns(l, 2, 0, &want) == 0, "request-client-cert takes <side> [returns ...]");
    if (st->dry)
        return RIG_PASS;
    int rc = note(side, tlsrig_conn_verify_client_post_handshake(side->conn));
    if (rc == 0) {
        rc = note(side, tlsrig_conn_do_handshake(side->conn));
        if (pump(st) < 0)
            return rig__fail(st, "the wire failed");
    }
    return expect_rc(st, side, "request-client-cert", rc, want);
}

static rig_status step_shutdown(rig_state *st, const scn_line *l)
{
    int want;
    SIDE(side, 1);
    NEED(l->argc >= 4 && parse_returns(l, 2, 0, &want) == 0,
         "shutdown takes <side> returns 0|1|error <class>");
    if (st->dry)
        return RIG_PASS;
    int rc = note(side, tlsrig_conn_shutdown(side->conn));
    if (pump(st) < 0)
        return rig__fail(st, "the wire failed");
    return expect_rc(st, side, "shutdown", rc, want);
}

static rig_status step_set_shutdown(rig_state *st, const scn_line *l)
{
    SIDE(side, 1);
    int v = -1;
    if (l->argc == 3) {
        const char *w = l->argv[2];
        v = strcmp(w, "none") == 0       ? 0
            : strcmp(w, "sent") == 0     ? TLSRIG_SENT_SHUTDOWN
            : strcmp(w, "received") == 0 ? TLSRIG_RECEIVED_SHUTDOWN
            : strcmp(w, "both") == 0     ? TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN
                                         : -1;
    }
    NEED(v >= 0, "set-shutdown takes <side> none|sent|received|both");
    if (!st->dry)
        tlsrig_conn_set_shutdown(side->conn, v);
    return RIG_PASS;
}

static rig_status step_session(rig_state *st, const scn_line *l, int save)
{
    int want;
    SIDE(side, 1);
    NEED(l->argc >= 3 && strlen(l->argv[2]) < sizeof(st->sessions[0].name),
         "%s takes <side> <name>", l->argv[0]);
    NEED(parse_returns(l, 3, 0, &want) == 0 && (save ? l->argc == 3 : 1), "%s: bad 'returns'",
         l->argv[0]);
    if (st->dry)
        return RIG_PASS;
    size_t i;
    for (i = 0; i < st->n_sessions; i++)
        if (strcmp(st->sessions[i].name, l->argv[2]) == 0)
            break;
    if (save) {
        NEED(i < RIG_MAX_SESSIONS, "too many saved sessions");
        /* A TLS 1.3 ticket arrives after the handshake: let the client read it first. */
        drive(side);
        tlsrig_session *sess = NULL;
        int rc = tlsrig_conn_get_session(side->conn, &sess);
        if (rc < 0)
            return expect_rc(st, side, "save-session", rc, 0);
        if (i == st->n_sessions) {
            snprintf(st->sessions[i].name, sizeof(st->sessions[i].name), "%s", l->argv[2]);
            st->n_sessions++;
        }
        tlsrig_session_free(st->sessions[i].sess);
        st->sessions[i].sess = sess;
        return RIG_PASS;
    }
    if (i == st->n_sessions)
        return rig__fail(st, "resume: no session saved as '%s'", l->argv[2]);
    int rc = note(side, tlsrig_conn_set_session(side->conn, st->sessions[i].sess));
    return expect_rc(st, side, "resume", rc, want);
}

static rig_status step_early(rig_state *st, const scn_line *l)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int next = 0;
    NEED(l->argc >= 4 && (strcmp(l->argv[1], "send") == 0 || strcmp(l->argv[1], "recv") == 0),
         "early-data takes send|recv <side> \"text\"");
    SIDE(side, 2);
    NEED(step_data(l, 3, st->dry ? &step_data_dry : &data, &len, &next) == 0 && next == l->argc,
         "early-data %s <side> takes the data", l->argv[1]);
    if (st->dry) {
        free(data);
        return RIG_PASS;
    }
    rig_status rs = RIG_PASS;
    if (l->argv[1][0] == 's') {
        int rc = note(side, tlsrig_conn_write_early_data(side->conn, data, len));
        if (rc != (int)len)
            rs = expect_rc(st, side, "early-data send", rc, (int)len);
        else if (pump(st) < 0)
            rs = rig__fail(st, "the wire failed");
    } else {
        for (int i = 0; i < 8 && side->early_len < len && !side->early_done; i++) {
            int rc = drain_early(side);
            if (hard(rc)) {
                note(side, rc);
                break;
            }
            if (pump(st) < 0)
                break;
        }
        if (side->early_len < len || memcmp(side->early, data, len) != 0)
            rs = rig__fail(st, "early-data recv %s: expected %zu bytes, got %zu%s",
                           side->peer->decl->name, len, side->early_len,
                           side->early_len >= len ? " that differ" : "");
        else {
            memmove(side->early, side->early + len, side->early_len - len);
            side->early_len -= len;
        }
    }
    free(data);
    return rs;
}

static rig_status step_advance(rig_state *st, const scn_line *l)
{
    NEED(l->argc == 2, "advance takes <n>[s|m|h|d]");
    char *end = NULL;
    long long n = strtoll(l->argv[1], &end, 10);
    long long mul = 1;
    if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    else if (*end == 's')
        end++;
    NEED(end != l->argv[1] && *end == '\0', "advance takes <n>[s|m|h|d], not '%s'", l->argv[1]);
    if (!st->dry && tlsrig_clock_advance((int64_t)(n * mul)) < 0)
        return rig__fail(st, "the virtual clock is not on");
    return RIG_PASS;
}

static rig_status run_step(rig_state *st, const scn_line *l)
{
    const char *v = l->argv[0];
    st->line = l;
    if (strcmp(v, "connect") == 0) {
        NEED(l->argc == 3, "connect takes <client> <server>");
        rig_peer *c = rig__peer(st, l->argv[1]), *s = rig__peer(st, l->argv[2]);
        NEED(c != NULL && !c->is_server, "connect: '%s' is not a client peer", l->argv[1]);
        NEED(s != NULL && s->is_server, "connect: '%s' is not a server peer", l->argv[2]);
        return st->dry ? RIG_PASS : conn_open(st, c, s);
    }
    if (strcmp(v, "expect") == 0)
        return rig__expect(st, l, st->dry);
    if (strcmp(v, "advance") == 0)
        return step_advance(st, l);
    if (!st->dry && !st->have_conn)
        return rig__fail(st, "%s: there is no connection (a context failed to be created?)", v);
    if (strcmp(v, "handshake") == 0)
        return step_handshake(st, l);
    if (strcmp(v, "pump") == 0) {
        NEED(l->argc == 1, "pump takes nothing");
        return st->dry || pump(st) >= 0 ? RIG_PASS : rig__fail(st, "the wire failed");
    }
    if (strcmp(v, "send") == 0)
        return step_send(st, l);
    if (strcmp(v, "recv") == 0)
        return step_recv(st, l);
    if (strcmp(v, "renegotiate") == 0)
        return step_renegotiate(st, l);
    if (strcmp(v, "key-update") == 0)
        return step_key_update(st, l);
    if (strcmp(v, "request-client-cert") == 0)
        return step_client_cert(st, l);
    if (strcmp(v, "shutdown") == 0)
        return step_shutdown(st, l);
    if (strcmp(v, "set-shutdown") == 0)
        return step_set_shutdown(st, l);
    if (strcmp(v, "quiet-shutdown") == 0) {
        SIDE(side, 1);
        NEED(l->argc == 2, "quiet-shutdown takes <side>");
        if (!st->dry)
            tlsrig_conn_set_quiet_shutdown(side->conn, 1);
        return RIG_PASS;
    }
    if (strcmp(v, "close") == 0) {
        SIDE(side, 1);
        NEED(l->argc == 2, "close takes <side>");
        if (st->dry)
            return RIG_PASS;
        /* Deliver what was already sent, then end the transport: the peer reads EOF. */
        if (pump(st) < 0)
            return rig__fail(st, "the wire failed");
        side->closed = 1;
        if (tlsrig_conn_bio_shutdown(other(st, side)->conn) < 0)
            return rig__fail(st, "close: cannot end the transport");
        return RIG_PASS;
    }
    if (strcmp(v, "save-session") == 0)
        return step_session(st, l, 1);
    if (strcmp(v, "resume") == 0)
        return step_session(st, l, 0);
    if (strcmp(v, "early-data") == 0)
        return step_early(st, l);
    const char *near = scn_nearest(v, rig_step_names);
    return rig__invalid(st, l, "unknown step '%s'%s%s%s", v, near ? " (did you mean '" : "",
                        near ? near : "", near ? "'?)" : "");
}

/* ---- entry points ---- */

static rig_status run(const scn *s, const rig_options *opt, rig_result *res, int dry)
{
    static const rig_options defaults = {0};
    rig_state st;
    rig_status rs;

    memset(&st, 0, sizeof(st));
    st.s = s;
    st.opt = opt != NULL ? opt : &defaults;
    st.res = res;
    st.dry = dry;
    st.deadline = rig__now() + (st.opt->wall_limit > 0 ? st.opt->wall_limit : 10.0);

    int have_client = 0, have_server = 0;
    for (size_t i = 0; i < s->n_peers; i++) {
        if (s->peers[i].is_server)
            have_server = 1;
        else
            have_client = 1;
    }
    if (!have_client || !have_server) {
        const scn_line *where = s->n_steps > 0 ? &s->steps[0] : NULL;
        return rig__invalid(&st, where, "a scenario needs a client peer and a server peer");
    }
    if (!dry && tlsrig_deterministic(s->seed) < 0) {
        snprintf(res->message, sizeof(res->message), "cannot enter deterministic mode");
        return res->status = RIG_ERROR;
    }
    rs = rig__peers_setup(&st, dry);
    if (rs == RIG_PASS && !dry) {
        rig_peer *c = NULL, *sv = NULL;
        for (size_t i = 0; i < st.n_peers; i++) {
            if (c == NULL && !st.peers[i].is_server)
                c = &st.peers[i];
            if (sv == NULL && st.peers[i].is_server)
                sv = &st.peers[i];
        }
        st.line = NULL;
        if (c->ctx != NULL && sv->ctx != NULL)
            rs = conn_open(&st, c, sv);
    }
    if (dry) {
        /* Dry runs resolve sides by role: both ends exist. */
        for (size_t i = 0; i < st.n_peers; i++) {
            if (st.client.peer == NULL && !st.peers[i].is_server)
                st.client.peer = &st.peers[i];
            if (st.server.peer == NULL && st.peers[i].is_server)
                st.server.peer = &st.peers[i];
        }
    }
    for (size_t i = 0; rs == RIG_PASS && i < s->n_steps; i++) {
        if (!dry && rig__now() > st.deadline) {
            st.line = &s->steps[i];
            rs = rig__fail(&st, "wall-clock limit exceeded");
            break;
        }
        rs = run_step(&st, &s->steps[i]);
        res->steps_run = (long)i + 1;
    }

    conn_close(&st);
    for (size_t i = 0; i < st.n_sessions; i++)
        tlsrig_session_free(st.sessions[i].sess);
    rig__peers_cleanup(&st);
    /* Deterministic mode stays on: the next rig_run restarts the same source in place, which
     * is far cheaper than building a new one (see rig.h). */
    res->status = rs;
    return rs;
}

rig_status rig_check(const scn *s, rig_result *res)
{
    memset(res, 0, sizeof(*res));
    return run(s, NULL, res, 1);
}

rig_status rig_run(const scn *s, const rig_options *opt, rig_result *res)
{
    memset(res, 0, sizeof(*res));
    rig_status rs = run(s, NULL, res, 1);
    if (rs != RIG_PASS)
        return rs;
    rig_result_cleanup(res);
    memset(res, 0, sizeof(*res));
    return run(s, opt, res, 0);
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
