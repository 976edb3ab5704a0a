/*
 * scenario_gen.c - byte code to scenario text; see scenario_gen.h for the layout and why the
 * generator predicts outcomes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_gen.h"

#define FLIP 0x8
#define QUEUE_MAX 65536
#define N_SESSIONS 4
#define MAX_SEGS 512
#define RECORD_MAX 16384 /* RFC 8446 §5.1: plaintext per record */

enum { C = 0, S = 1 };
static const char *const side_name[2] = {"client", "server"};

typedef struct text {
    char *s;
    size_t len, cap;
    int oom;
} text;

/* What the generator believes about the current connection. */
typedef struct model {
    /* settings */
    int tls13;  /* both peers allow TLS 1.3 (and the client does not forbid it) */
    int legacy; /* the client is held to TLS 1.0/1.1 */
    int hs_ok;  /* a handshake under these settings should complete */
    int client_cert, client_pha, client_early, client_alpn, client_sni;
    int server_verify; /* 0 none, 1 peer, 2 require, 3 post-handshake */
    int server_alpn, server_early, server_reneg;
    /* the connection */
    int hs; /* 0 not started, 1 complete, 2 failed */
    int reneg_pending[2];
    int sent_close[2]; /* close_notify sent by this side */
    int got_close[2];  /* ... and the peer's read by this side */
    int quiet[2];      /* this side shuts down without close_notify */
    int closed[2];     /* this side closed its transport */
    int resumed;       /* a session was offered on this connection */
    int resumed_early; /* ... one that allows 0-RTT data */
    int early_sent;
    uint8_t *q[2]; /* application data in flight from this side */
    size_t qlen[2];
    size_t seg[2][MAX_SEGS]; /* ... as records: a peek sees one record at most */
    size_t nseg[2];
    size_t early_len;
    int renegotiations[2];
    int saved[N_SESSIONS];
    int saved_early[N_SESSIONS];
    int saved_ok[N_SESSIONS]; /* saved after a completed handshake */
    long long saved_at[N_SESSIONS];
    long long clock;   /* seconds the virtual clock moved */
    long long timeout; /* the server's session lifetime */
} model;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = vsnprintf(t->s != NULL ? t->s + t->len : NULL, t->s != NULL ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if (t->s != NULL && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (s == NULL) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* The interpreter's `<n> bytes` pattern (conformance/src/compile.c pattern_byte). */
static uint8_t pattern(size_t k)
{
    return (uint8_t)('a' + (k * 7 + k / 251) % 26);
}

/* Data is written as `<n> bytes`; what is received is written out exactly, either the same
 * way when it is that pattern from its start, or as quoted text (the pattern is letters only,
 * so it needs no escapes). */
static void put_data(text *t, const uint8_t *d, size_t n)
{
    size_t k = 0;
    while (k < n && d[k] == pattern(k))
        k++;
    if (k == n) {
        put(t, "%zu bytes", n);
        return;
    }
    put(t, "\"%.*s\"", (int)n, (const char *)d);
}

static int queue_add(model *m, int side, size_t n)
{
    size_t recs = (n + RECORD_MAX - 1) / RECORD_MAX;
    if (m->qlen[side] + n > QUEUE_MAX || m->nseg[side] + recs > MAX_SEGS)
        return -1;
    for (size_t k = 0; k < n; k++)
        m->q[side][m->qlen[side] + k] = pattern(k);
    m->qlen[side] += n;
    for (size_t left = n; left > 0;) {
        size_t r = left < RECORD_MAX ? left : RECORD_MAX;
        m->seg[side][m->nseg[side]++] = r;
        left -= r;
    }
    return 0;
}

static void queue_take(model *m, int side, size_t n)
{
    memmove(m->q[side], m->q[side] + n, m->qlen[side] - n);
    m->qlen[side] -= n;
    while (n > 0 && m->nseg[side] > 0) {
        size_t r = n < m->seg[side][0] ? n : m->seg[side][0];
        m->seg[side][0] -= r;
        n -= r;
        if (m->seg[side][0] == 0) {
            memmove(m->seg[side], m->seg[side] + 1, (m->nseg[side] - 1) * sizeof(size_t));
            m->nseg[side]--;
        }
    }
}

static void conn_reset(model *m)
{
    m->hs = 0;
    memset(m->reneg_pending, 0, sizeof(m->reneg_pending));
    memset(m->sent_close, 0, sizeof(m->sent_close));
    memset(m->got_close, 0, sizeof(m->got_close));
    memset(m->quiet, 0, sizeof(m->quiet));
    memset(m->closed, 0, sizeof(m->closed));
    memset(m->renegotiations, 0, sizeof(m->renegotiations));
    m->resumed = m->resumed_early = m->early_sent = 0;
    m->qlen[0] = m->qlen[1] = 0;
    m->nseg[0] = m->nseg[1] = 0;
    m->early_len = 0;
}

static void header(text *t, model *m, const uint8_t *h, size_t n)
{
    uint8_t c = n > 0 ? h[0] : 0, s = n > 1 ? h[1] : 0, x = n > 2 ? h[2] : 0;
    static const char *const certs[4] = {"rsa", "p256", "p384", "ed25519"};
    static const char *const verify[4] = {"none", "peer", "require", "peer post-handshake"};
    static const char *const tickets[4] = {NULL, "0", "1", "4"};

    put(t, "# generated by the scenario fuzz target\n");
    put(t, "seed 1\nbudget 400\n\npeer client client\n");
    int cv = c & 3;
    if (cv == 1)
        put(t, "    max-version 1.2\n");
    else if (cv == 2)
        put(t, "    min-version 1.3\n");
    else if (cv == 3)
        put(t, "    min-version 1.0\n    max-version 1.1\n    ciphers DEFAULT:@SECLEVEL=0\n");
    if (c & 0x04)
        put(t, "    verify peer\n    ca root\n");
    if (c & 0x08)
        put(t, "    cert client-p256\n");
    if (c & 0x10)
        put(t, "    alpn h2,http/1.1\n");
    if (c & 0x20)
        put(t, "    %s server.tlsrig.test\n", (c & 0x04) ? "hostname" : "sni");
    if (c & 0x40)
        put(t, "    ocsp request accept\n");
    if (c & 0x80)
        put(t, "    post-handshake-auth on\n    early-data 16384\n");
    if (x & 0x20)
        put(t, "    session-cache client\n");

    put(t, "peer server server\n    cert %s\n", certs[s & 3]);
    int sv = (s >> 2) & 3;
    if (sv != 0)
        put(t, "    verify %s\n    ca root\n    client-ca root\n", verify[sv]);
    if (s & 0x10)
        put(t, "    alpn-select first-common h2,http/1.1\n");
    if (s & 0x20)
        put(t, "    ocsp-staple response\n");
    if (s & 0x40)
        put(t, "    early-data 16384\n");
    if (cv == 3)
        put(t, "    ciphers DEFAULT:@SECLEVEL=0\n");
    if (x & 0x04)
        put(t, "    max-version 1.2\n");
    if (x & 0x08)
        put(t, "    dh ffdhe2048\n    groups P-384:ffdhe2048\n");
    if (x & 0x10)
        put(t, "    sni-callback switch server.tlsrig.test p384\n");
    if (x & 0x20)
        put(t, "    session-cache both\n    timeout 60\n");
    if (tickets[x & 3] != NULL)
        put(t, "    tickets %s\n", tickets[x & 3]);
    char opts[128] = "";
    if (s & 0x80)
        strcat(opts, ",ALLOW_CLIENT_RENEGOTIATION");
    if (x & 0x40)
        strcat(opts, ",NO_TICKET");
    if (x & 0x80) {
        strcat(opts, ",IGNORE_UNEXPECTED_EOF");
        put(t, "    mode RELEASE_BUFFERS\n");
    }
    if (opts[0] != '\0')
        put(t, "    options %s\n", opts + 1);
    put(t, "\n");

    m->timeout = (x & 0x20) ? 60 : 7200; /* OpenSSL's default: two hours */
    m->legacy = cv == 3;
    m->tls13 = cv != 1 && cv != 3 && !(x & 0x04);
    m->client_cert = (c & 0x08) != 0;
    m->client_pha = (c & 0x80) != 0;
    m->client_early = (c & 0x80) != 0;
    m->client_alpn = (c & 0x10) != 0;
    m->client_sni = (c & 0x20) != 0;
    m->server_verify = sv;
    m->server_alpn = (s & 0x10) != 0;
    m->server_early = (s & 0x40) != 0;
    m->server_reneg = (s & 0x80) != 0;
    /* the obvious ways a handshake cannot complete */
    m->hs_ok =
        !(cv == 2 && (x & 0x04)) && !(sv == 2 && !m->client_cert) && !(m->legacy && (s & 3) == 3);
}

static int pick(int predicted, uint8_t arg)
{
    return (arg & FLIP) ? !predicted : predicted;
}

/* Would a `handshake` step complete now? */
static int handshake_completes(const model *m)
{
    if (m->hs == 2 || (m->hs == 0 && !m->hs_ok))
        return 0;
    /* a finished side reads (peeks) during the step and sees the close */
    if (m->sent_close[C] || m->sent_close[S] || m->closed[C] || m->closed[S])
        return 0;
    /* client-initiated renegotiation without the server's consent stalls */
    if (m->reneg_pending[C] && !m->server_reneg)
        return 0;
    return 1;
}

static void step_handshake(text *t, model *m, uint8_t arg)
{
    int ok = pick(handshake_completes(m), arg);
    put(t, ok ? "handshake\n" : "handshake fails\n");
    if (ok) {
        /* both ends count a renegotiation, whichever started it */
        if ((m->reneg_pending[C] || m->reneg_pending[S]) && m->hs == 1) {
            m->renegotiations[C]++;
            m->renegotiations[S]++;
        }
        m->hs = 1;
        m->reneg_pending[C] = m->reneg_pending[S] = 0;
    } else {
        m->hs = 2;
    }
}

static void step_send(text *t, model *m, uint8_t arg)
{
    static const size_t sizes[4] = {5, 100, 5000, 20000};
    int sd = arg & 1;
    size_t n = sizes[(arg >> 1) & 3];
    const char *fails = NULL;
    if (m->hs == 0)
        fails = "want-read"; /* the write starts the handshake and waits for the peer */
    else if (m->hs == 2 || m->sent_close[sd])
        fails = "ssl";
    if (arg & FLIP)
        fails = fails != NULL ? NULL : "ssl";
    /* the model cannot follow more data than it holds: send less instead */
    if (fails == NULL && !m->closed[sd] && queue_add(m, sd, n) < 0)
        n = 0;
    if (n == 0)
        return;
    put(t, "send %s %zu bytes", side_name[sd], n);
    if (fails != NULL)
        put(t, " fails %s\n", fails);
    else
        put(t, "\n");
}

/* The error a read meets on |sd| when nothing is in flight towards it. */
static const char *read_error(const model *m, int sd)
{
    int peer = !sd;
    if (m->hs == 2)
        return "ssl";
    if (m->sent_close[peer] && !m->quiet[peer])
        return "zero-return";
    if (m->closed[peer])
        return "syscall";
    return "want-read";
}

static void step_recv(text *t, model *m, uint8_t arg, int peek_variant)
{
    static const char *const others[4] = {"zero-return", "syscall", "ssl", "want-read"};
    int sd = arg & 1, from = !sd;
    size_t have = m->qlen[from];
    if (have == 0 || m->hs == 2 || (arg & FLIP)) {
        const char *e = have == 0 ? read_error(m, sd) : "want-read";
        if (arg & FLIP) /* another class, chosen by the amount bits */
            e = others[(arg >> 1) & 3];
        put(t, "recv %s error %s\n", side_name[sd], e);
        if (strcmp(e, "zero-return") == 0)
            m->got_close[sd] = 1;
        return;
    }
    size_t n = have;
    if (peek_variant) {
        size_t rec = m->nseg[from] > 0 ? m->seg[from][0] : have;
        n = rec < 64 ? rec : 64;
    } else {
        switch ((arg >> 1) & 3) {
        case 1:
            n = 1;
            break;
        case 2:
            n = have > 1 ? have / 2 : 1;
            break;
        case 3:
            n = have < 7 ? have : 7;
            break;
        default:
            break;
        }
    }
    put(t, "recv %s ", side_name[sd]);
    put_data(t, m->q[from], n);
    if (peek_variant && (arg & 2)) {
        put(t, " peek\n"); /* the bytes stay where they are */
        return;
    }
    put(t, peek_variant ? " into 3\n" : "\n");
    queue_take(m, from, n);
}

static void step_renegotiate(text *t, model *m, uint8_t arg)
{
    int sd = arg & 1;
    int refused = m->tls13 && m->hs == 1;
    int ret = refused ? -1 : m->reneg_pending[sd] ? 0 : 1;
    if (arg & FLIP)
        ret = ret == 1 ? -1 : 1;
    put(t, "renegotiate %s", side_name[sd]);
    if (ret < 0) {
        put(t, " returns error ssl\n");
    } else if (ret == 0) {
        put(t, " returns 0\n");
    } else {
        put(t, "\n");
        m->reneg_pending[sd] = 1;
    }
}

static void step_key_update(text *t, model *m, uint8_t arg)
{
    int sd = arg & 1;
    int ok = pick(m->tls13 && m->hs == 1 && !m->sent_close[sd], arg);
    put(t, "key-update %s %s%s\n", side_name[sd], (arg & 2) ? "requested" : "not-requested",
        ok ? "" : " returns error ssl");
}

static void step_client_cert(text *t, model *m, uint8_t arg)
{
    int ok = pick(m->tls13 && m->hs == 1 && m->client_pha && m->server_verify != 0, arg);
    put(t, "request-client-cert server%s\n", ok ? "" : " returns error ssl");
}

static void step_shutdown(text *t, model *m, uint8_t arg)
{
    int sd = arg & 1, peer = !sd;
    const char *ret;
    if (m->hs != 1)
        ret = "error ssl"; /* OpenSSL refuses to shut down during a handshake */
    else if (m->quiet[sd])
        ret = "1"; /* marked closed both ways at once, nothing sent */
    else if (!m->sent_close[sd])
        ret = m->got_close[sd] ? "1" : "0"; /* the first call sends and does not read */
    else if (m->sent_close[peer] && !m->quiet[peer])
        ret = "1"; /* a second call reads the peer's close_notify */
    else
        ret = "error want-read";
    if (strcmp(ret, "1") == 0)
        m->got_close[sd] = 1;
    if (arg & FLIP)
        ret = strcmp(ret, "0") == 0 ? "1" : "0";
    put(t, "shutdown %s returns %s\n", side_name[sd], ret);
    if (m->hs == 1)
        m->sent_close[sd] = 1;
}

static void step_close(text *t, model *m, uint8_t arg)
{
    int sd = arg & 1;
    switch ((arg >> 1) & 3) {
    case 0:
        put(t, "close %s\n", side_name[sd]);
        m->closed[sd] = 1;
        break;
    case 1:
        put(t, "quiet-shutdown %s\n", side_name[sd]);
        m->quiet[sd] = 1;
        break;
    case 2:
        put(t, "set-shutdown %s sent\n", side_name[sd]);
        break;
    default:
        put(t, "set-shutdown %s received\n", side_name[sd]);
        break;
    }
}

static void step_session(text *t, model *m, uint8_t arg, int save)
{
    int i = arg & 3;
    if (save || !m->saved[i]) {
        put(t, "save-session client s%d\n", i);
        m->saved[i] = 1;
        m->saved_ok[i] = m->hs == 1;
        m->saved_early[i] = m->hs == 1 && m->tls13 && m->client_early && m->server_early;
        m->saved_at[i] = m->clock;
        return;
    }
    put(t, "resume client s%d\n", i);
    /* an expired session is offered all the same and the server declines it */
    int fresh = m->clock - m->saved_at[i] <= m->timeout;
    m->resumed = m->saved_ok[i] && fresh;
    m->resumed_early = m->resumed && m->saved_early[i];
}

static void step_early(text *t, model *m, uint8_t arg)
{
    if (arg & 1) {
        if (m->early_len == 0)
            return;
        put(t, "early-data recv server %zu bytes\n", m->early_len);
        m->early_len = 0;
        return;
    }
    int ok = m->hs == 0 && m->resumed_early && !m->early_sent && m->client_early;
    if (!pick(ok, arg))
        return; /* no step: a write the model expects to fail has no `fails` form */
    size_t n = (arg & 6) == 0 ? 11 : (size_t)(arg & 6) * 100;
    put(t, "early-data send client %zu bytes\n", n);
    m->early_sent = 1;
    m->early_len = n;
}

static void step_advance(text *t, model *m, uint8_t arg)
{
    static const char *const d[16] = {"1s", "30s", "5m",   "59s", "1h",  "2h",  "1d",    "7d",
                                      "8d", "30d", "400d", "-1h", "61s", "12h", "3650d", "0s"};
    static const long long secs[16] = {1,     30,     300,       59,      3600,     7200,
                                       86400, 604800, 691200,    2592000, 34560000, -3600,
                                       61,    43200,  315360000, 0};
    put(t, "advance %s\n", d[arg & 15]);
    m->clock += secs[arg & 15];
}

static void step_expect(text *t, model *m, uint8_t arg)
{
    int sd = (arg >> 3) & 1; /* the flip bit doubles as the side: expectations have two */
    int done = m->hs == 1;
    switch (arg & 7) {
    case 0:
        if (done)
            put(t, "expect version %s %s\n", side_name[sd],
                m->legacy  ? "TLSv1.1"
                : m->tls13 ? "TLSv1.3"
                           : "TLSv1.2");
        break;
    case 1:
        if (done)
            put(t, "expect reused %s %s\n", side_name[sd], m->resumed ? "yes" : "no");
        break;
    case 2: {
        int sent = m->sent_close[sd] && !m->quiet[sd];
        put(t, "expect shutdown %s %s\n", side_name[sd], sent ? "sent" : "none");
        break;
    }
    case 3:
        put(t, "expect early-data %s %s\n", side_name[sd], m->early_sent ? "accepted" : "not-sent");
        break;
    case 4:
        if (done)
            put(t, "expect alpn %s %s\n", side_name[sd],
                m->client_alpn && m->server_alpn ? "h2" : "none");
        break;
    case 5:
        put(t, "expect renegotiations %s %d\n", side_name[sd], m->renegotiations[sd]);
        break;
    case 6:
        if (done)
            put(t, "expect peer-cert client server.tlsrig.test\n");
        break;
    default:
        if (done)
            put(t, "expect servername server %s\n", m->client_sni ? "server.tlsrig.test" : "none");
        break;
    }
}

char *sg_generate(const uint8_t *data, size_t size, size_t *len)
{
    text t = {NULL, 0, 0, 0};
    model m;
    memset(&m, 0, sizeof(m));
    m.q[0] = malloc(QUEUE_MAX);
    m.q[1] = malloc(QUEUE_MAX);
    if (m.q[0] == NULL || m.q[1] == NULL)
        t.oom = 1;

    header(&t, &m, data, size < SG_HEADER ? size : SG_HEADER);
    size_t no_steps = t.len;
    for (size_t i = SG_HEADER; !t.oom && i < size && i < SG_HEADER + SG_MAX_STEPS; i++) {
        uint8_t op = data[i] >> 4, arg = data[i] & 15;
        switch (op) {
        case SG_PUMP:
            put(&t, "pump\n");
            break;
        case SG_HANDSHAKE:
            step_handshake(&t, &m, arg);
            break;
        case SG_SEND:
            step_send(&t, &m, arg);
            break;
        case SG_RECV:
            step_recv(&t, &m, arg, 0);
            break;
        case SG_RENEGOTIATE:
            step_renegotiate(&t, &m, arg);
            break;
        case SG_KEY_UPDATE:
            step_key_update(&t, &m, arg);
            break;
        case SG_CLIENT_CERT:
            step_client_cert(&t, &m, arg);
            break;
        case SG_SHUTDOWN:
            step_shutdown(&t, &m, arg);
            break;
        case SG_CLOSE:
            step_close(&t, &m, arg);
            break;
        case SG_SAVE:
            step_session(&t, &m, arg, 1);
            break;
        case SG_RESUME:
            step_session(&t, &m, arg, 0);
            break;
        case SG_CONNECT:
            put(&t, "connect client server\n");
            conn_reset(&m);
            break;
        case SG_EARLY:
            step_early(&t, &m, arg);
            break;
        case SG_ADVANCE:
            step_advance(&t, &m, arg);
            break;
        case SG_EXPECT:
            step_expect(&t, &m, arg);
            break;
        default:
            step_recv(&t, &m, arg, 1);
            break;
        }
    }
    if (t.len == no_steps)
        put(&t, "pump\n"); /* a scenario needs a step */
    free(m.q[0]);
    free(m.q[1]);
    if (t.oom || t.s == NULL) {
        free(t.s);
        return NULL;
    }
    *len = t.len;
    return t.s;
}
