/*
 * compile.c - a parsed scenario variant into a rig_program: the steps, the program as a
 * whole, and the vocabulary the compiler's files share (error classes, messages).
 *
 * Every check of what the words mean happens here, once, before anything runs; the messages
 * are file:line and name the nearest known word for a typo. The compiler follows the current
 * connection through the `connect` steps, so a step naming a peer that is not an end of it is
 * refused here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

const char *const rig_step_names[] = {"connect",
                                      "handshake",
                                      "pump",
                                      "send",
                                      "recv",
                                      "renegotiate",
                                      "key-update",
                                      "request-client-cert",
                                      "shutdown",
                                      "set-shutdown",
                                      "quiet-shutdown",
                                      "close",
                                      "save-session",
                                      "resume",
                                      "early-data",
                                      "advance",
                                      "expect",
                                      "tamper",
                                      "inject",
                                      "tamper-fixup",
                                      NULL};

/* ---- messages ---- */

rig_status rig__vreport(rig_result *res, rig_status status, const char *path, int line,
                        const char *fmt, va_list ap)
{
    int n = 0;
    if (line > 0)
        n = snprintf(res->message, sizeof(res->message), "%s:%d: ", path, line);
    if (n < 0 || (size_t)n >= sizeof(res->message))
        n = 0;
    vsnprintf(res->message + n, sizeof(res->message) - (size_t)n, fmt, ap);
    res->fail_line = line;
    res->status = status;
    return status;
}

rig_status rig__report(rig_result *res, rig_status status, const char *path, int line,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rig__vreport(res, status, path, line, fmt, ap);
    va_end(ap);
    return status;
}

rig_status rig__invalid(rig_compiler *c, const scn_line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rig__vreport(c->res, RIG_INVALID, c->s->path, l->lineno, fmt, ap);
    va_end(ap);
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

const char *rig__step_word(rig_step_kind kind)
{
    switch (kind) {
    case RIG_STEP_CONNECT:
        return "connect";
    case RIG_STEP_HANDSHAKE:
        return "handshake";
    case RIG_STEP_PUMP:
        return "pump";
    case RIG_STEP_SEND:
        return "send";
    case RIG_STEP_RECV:
    case RIG_STEP_RECV_ERROR:
        return "recv";
    case RIG_STEP_RENEGOTIATE:
        return "renegotiate";
    case RIG_STEP_KEY_UPDATE:
        return "key-update";
    case RIG_STEP_REQUEST_CLIENT_CERT:
        return "request-client-cert";
    case RIG_STEP_SHUTDOWN:
        return "shutdown";
    case RIG_STEP_SET_SHUTDOWN:
        return "set-shutdown";
    case RIG_STEP_QUIET_SHUTDOWN:
        return "quiet-shutdown";
    case RIG_STEP_CLOSE:
        return "close";
    case RIG_STEP_SAVE_SESSION:
        return "save-session";
    case RIG_STEP_RESUME:
        return "resume";
    case RIG_STEP_EARLY_SEND:
    case RIG_STEP_EARLY_RECV:
        return "early-data";
    case RIG_STEP_ADVANCE:
        return "advance";
    case RIG_STEP_EXPECT:
        return "expect";
    case RIG_STEP_TAMPER:
        return "tamper";
    case RIG_STEP_INJECT:
        return "inject";
    case RIG_STEP_TAMPER_FIXUP:
        return "tamper-fixup";
    default:
        return "step";
    }
}

/* ---- peers and sides ---- */

/* Peers not compiled yet have no name and are not found. */
int rig__peer_index(const rig_program *p, const char *name)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i].name != NULL && strcmp(p->peers[i].name, name) == 0)
            return (int)i;
    return -1;
}

rig_status rig__compile_side(rig_compiler *c, const scn_line *l, int i, rig_step *st)
{
    int peer = i < l->argc ? rig__peer_index(c->prog, l->argv[i]) : -1;
    st->peer = peer;
    if (peer >= 0 && peer == c->cur[RIG_CLIENT])
        st->side = RIG_CLIENT;
    else if (peer >= 0 && peer == c->cur[RIG_SERVER])
        st->side = RIG_SERVER;
    else
        return rig__invalid(c, l, "'%s' is not a peer of the current connection",
                            i < l->argc ? l->argv[i] : "(missing)");
    return RIG_PASS;
}

#define SIDE(i)                                                                                    \
    do {                                                                                           \
        rig_status side_rs_ = rig__compile_side(c, l, (i), st);                                    \
        if (side_rs_ != RIG_PASS)                                                                  \
            return side_rs_;                                                                       \
    } while (0)

/* ---- step values ---- */

/* The largest `<n> bytes`: the pattern is built once, this long. */
#define MAX_PATTERN ((size_t)64 << 20)

/* The data a send/recv step names at word |i|: "text" or <n> bytes (the pattern, attached
 * once the whole program is compiled). Sets *next to the word after it. */
static int step_data(const scn_line *l, int i, rig_data *d, int *next)
{
    memset(d, 0, sizeof(*d));
    if (i >= l->argc)
        return -1;
    if (i + 1 < l->argc && strcmp(l->argv[i + 1], "bytes") == 0) {
        char *end = NULL;
        unsigned long n = strtoul(l->argv[i], &end, 10);
        if (end == l->argv[i] || *end != '\0' || n == 0 || n > MAX_PATTERN)
            return -1;
        d->len = n;
        d->pattern = 1;
        *next = i + 2;
        return 0;
    }
    d->bytes = (const uint8_t *)l->argv[i];
    d->len = l->argl[i];
    *next = i + 1;
    return d->len > 0 ? 0 : -1;
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

/* ---- steps ---- */

static rig_status c_connect(rig_compiler *c, const scn_line *l, rig_step *st)
{
    rig_program *p = c->prog;
    RIG_NEED(l->argc == 3, "connect takes <client> <server>");
    int ci = rig__peer_index(p, l->argv[1]), si = rig__peer_index(p, l->argv[2]);
    RIG_NEED(ci >= 0 && !p->peers[ci].is_server, "connect: '%s' is not a client peer", l->argv[1]);
    RIG_NEED(si >= 0 && p->peers[si].is_server, "connect: '%s' is not a server peer", l->argv[2]);
    RIG_NEED(!p->peers[ci].no_ctx && !p->peers[si].no_ctx, "cannot connect: peer %s has no context",
             p->peers[ci].no_ctx ? l->argv[1] : l->argv[2]);
    st->connect.client = ci;
    st->connect.server = si;
    c->cur[RIG_CLIENT] = ci;
    c->cur[RIG_SERVER] = si;
    c->have_conn = 1;
    return RIG_PASS;
}

static rig_status c_send(rig_compiler *c, const scn_line *l, rig_step *st)
{
    int next = 0;
    SIDE(1);
    RIG_NEED(step_data(l, 2, &st->send.data, &next) == 0,
             "send takes <side> \"text\" or <side> <n> bytes");
    if (next < l->argc)
        RIG_NEED(strcmp(l->argv[next], "fails") == 0 && next + 2 == l->argc &&
                     (st->send.fails = rig__err_class(l->argv[next + 1])) < 0,
                 "after the data, send takes only fails <class>");
    return RIG_PASS;
}

static rig_status c_recv(rig_compiler *c, const scn_line *l, rig_step *st)
{
    int next = 0;
    SIDE(1);
    RIG_NEED(l->argc >= 3, "recv takes <side> \"text\", <side> <n> bytes or <side> error <class>");
    if (strcmp(l->argv[2], "error") == 0) {
        int want = l->argc == 4 ? rig__err_class(l->argv[3]) : 1;
        RIG_NEED(want < 0, "recv <side> error takes one error class");
        st->kind = RIG_STEP_RECV_ERROR;
        st->recv_error.err = want;
        return RIG_PASS;
    }
    RIG_NEED(step_data(l, 2, &st->recv.data, &next) == 0, "recv: bad data");
    for (int i = next; i < l->argc; i++) {
        if (strcmp(l->argv[i], "peek") == 0) {
            st->recv.peek = 1;
        } else if (strcmp(l->argv[i], "into") == 0 && i + 1 < l->argc) {
            st->recv.into = strtoul(l->argv[++i], NULL, 10);
            RIG_NEED(st->recv.into > 0, "recv ... into takes a positive byte count");
        } else {
            RIG_NEED(0, "recv: unexpected word '%s' (peek or into <n>)", l->argv[i]);
        }
    }
    return RIG_PASS;
}

static rig_status c_handshake(rig_compiler *c, const scn_line *l, rig_step *st)
{
    if (l->argc == 2) {
        RIG_NEED(strcmp(l->argv[1], "fails") == 0, "handshake takes nothing or 'fails'");
        st->handshake.fails = 1;
    }
    RIG_NEED(l->argc <= 2, "handshake takes nothing or 'fails'");
    return RIG_PASS;
}

static rig_status c_call(rig_compiler *c, const scn_line *l, rig_step *st)
{
    SIDE(1);
    switch (st->kind) {
    case RIG_STEP_RENEGOTIATE:
        RIG_NEED(parse_returns(l, 2, 1, &st->call.returns) == 0,
                 "renegotiate takes <side> [returns 0|1|error <class>]");
        break;
    case RIG_STEP_KEY_UPDATE:
        RIG_NEED(l->argc >= 3 && (strcmp(l->argv[2], "requested") == 0 ||
                                  strcmp(l->argv[2], "not-requested") == 0),
                 "key-update takes <side> requested|not-requested");
        st->call.requested = l->argv[2][0] == 'r';
        RIG_NEED(parse_returns(l, 3, 0, &st->call.returns) == 0, "key-update: bad 'returns'");
        break;
    case RIG_STEP_REQUEST_CLIENT_CERT:
        RIG_NEED(parse_returns(l, 2, 0, &st->call.returns) == 0,
                 "request-client-cert takes <side> [returns ...]");
        break;
    case RIG_STEP_SHUTDOWN:
    default:
        RIG_NEED(l->argc >= 4 && parse_returns(l, 2, 0, &st->call.returns) == 0,
                 "shutdown takes <side> returns 0|1|error <class>");
        break;
    }
    return RIG_PASS;
}

static rig_status c_set_shutdown(rig_compiler *c, const scn_line *l, rig_step *st)
{
    SIDE(1);
    int v = -1;
    if (l->argc == 3) {
        const char *w = l->argv[2];
        v = strcmp(w, "none") == 0       ? 0
            : strcmp(w, "sent") == 0     ? TLSRIG_SENT_SHUTDOWN
            : strcmp(w, "received") == 0 ? TLSRIG_RECEIVED_SHUTDOWN
            : strcmp(w, "both") == 0     ? TLSRIG_SENT_SHUTDOWN | TLSRIG_RECEIVED_SHUTDOWN
                                         : -1;
    }
    RIG_NEED(v >= 0, "set-shutdown takes <side> none|sent|received|both");
    st->set_shutdown.flags = v;
    return RIG_PASS;
}

static rig_status c_side_only(rig_compiler *c, const scn_line *l, rig_step *st)
{
    SIDE(1);
    RIG_NEED(l->argc == 2, "%s takes <side>", l->argv[0]);
    return RIG_PASS;
}

/* Session names become slots: a save takes the slot of its name (a new one the first time);
 * a resume names the slot an earlier save fills, or -1 when none does (the run says so). */
static rig_status c_session(rig_compiler *c, const scn_line *l, rig_step *st)
{
    rig_program *p = c->prog;
    int save = st->kind == RIG_STEP_SAVE_SESSION;
    SIDE(1);
    RIG_NEED(l->argc >= 3 && strlen(l->argv[2]) < RIG_SESSION_NAME_MAX, "%s takes <side> <name>",
             l->argv[0]);
    RIG_NEED(parse_returns(l, 3, 0, &st->session.returns) == 0 && (save ? l->argc == 3 : 1),
             "%s: bad 'returns'", l->argv[0]);
    size_t i;
    for (i = 0; i < p->n_sessions; i++)
        if (strcmp(p->session_names[i], l->argv[2]) == 0)
            break;
    st->session.name = l->argv[2];
    st->session.slot = i < p->n_sessions ? (int)i : -1;
    if (save && i == p->n_sessions) {
        RIG_NEED(i < RIG_MAX_SESSIONS, "too many saved sessions");
        p->session_names[p->n_sessions++] = l->argv[2];
        st->session.slot = (int)i;
    }
    return RIG_PASS;
}

static rig_status c_early(rig_compiler *c, const scn_line *l, rig_step *st)
{
    int next = 0;
    RIG_NEED(l->argc >= 4 && (strcmp(l->argv[1], "send") == 0 || strcmp(l->argv[1], "recv") == 0),
             "early-data takes send|recv <side> \"text\"");
    st->kind = l->argv[1][0] == 's' ? RIG_STEP_EARLY_SEND : RIG_STEP_EARLY_RECV;
    SIDE(2);
    RIG_NEED(step_data(l, 3, &st->early.data, &next) == 0 && next == l->argc,
             "early-data %s <side> takes the data", l->argv[1]);
    return RIG_PASS;
}

static rig_status c_advance(rig_compiler *c, const scn_line *l, rig_step *st)
{
    RIG_NEED(l->argc == 2, "advance takes <n>[s|m|h|d]");
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
    RIG_NEED(end != l->argv[1] && *end == '\0' && n <= INT64_MAX / mul && n >= INT64_MIN / mul,
             "advance takes <n>[s|m|h|d], not '%s'", l->argv[1]);
    st->advance.seconds = (int64_t)(n * mul);
    return RIG_PASS;
}

static const struct {
    const char *word;
    rig_step_kind kind;
    rig_status (*compile)(rig_compiler *c, const scn_line *l, rig_step *st);
    int needs_conn;
} step_table[] = {
    {"connect", RIG_STEP_CONNECT, c_connect, 0},
    {"expect", RIG_STEP_EXPECT, rig__compile_expect, 0}, /* checks for itself */
    {"advance", RIG_STEP_ADVANCE, c_advance, 0},
    {"handshake", RIG_STEP_HANDSHAKE, c_handshake, 1},
    {"pump", RIG_STEP_PUMP, NULL, 1},
    {"send", RIG_STEP_SEND, c_send, 1},
    {"recv", RIG_STEP_RECV, c_recv, 1},
    {"renegotiate", RIG_STEP_RENEGOTIATE, c_call, 1},
    {"key-update", RIG_STEP_KEY_UPDATE, c_call, 1},
    {"request-client-cert", RIG_STEP_REQUEST_CLIENT_CERT, c_call, 1},
    {"shutdown", RIG_STEP_SHUTDOWN, c_call, 1},
    {"set-shutdown", RIG_STEP_SET_SHUTDOWN, c_set_shutdown, 1},
    {"quiet-shutdown", RIG_STEP_QUIET_SHUTDOWN, c_side_only, 1},
    {"close", RIG_STEP_CLOSE, c_side_only, 1},
    {"save-session", RIG_STEP_SAVE_SESSION, c_session, 1},
    {"resume", RIG_STEP_RESUME, c_session, 1},
    {"early-data", RIG_STEP_EARLY_SEND, c_early, 1},
    {"tamper", RIG_STEP_TAMPER, rig__compile_tamper, 1},
    {"inject", RIG_STEP_INJECT, rig__compile_inject, 1},
    {"tamper-fixup", RIG_STEP_TAMPER_FIXUP, rig__compile_fixup, 1},
};

static rig_status compile_step(rig_compiler *c, const scn_line *l, rig_step *st)
{
    const char *v = l->argv[0];
    memset(st, 0, sizeof(*st));
    st->line = l->lineno;
    st->peer = -1;
    for (size_t i = 0; i < sizeof(step_table) / sizeof(step_table[0]); i++) {
        if (strcmp(v, step_table[i].word) != 0)
            continue;
        st->kind = step_table[i].kind;
        /* Only `expect context-failed` and `advance` can follow a context that failed to be
         * created as expected: there is no connection. */
        RIG_NEED(!step_table[i].needs_conn || c->have_conn,
                 "%s: there is no connection (a context failed to be created?)", v);
        if (step_table[i].compile == NULL) {
            RIG_NEED(l->argc == 1, "%s takes nothing", v);
            return RIG_PASS;
        }
        return step_table[i].compile(c, l, st);
    }
    const char *near = scn_nearest(v, rig_step_names);
    return rig__invalid(c, l, "unknown step '%s'%s%s%s", v, near ? " (did you mean '" : "",
                        near ? near : "", near ? "'?)" : "");
}

/* ---- the program ---- */

static uint8_t pattern_byte(size_t k)
{
    return (uint8_t)('a' + (k * 7 + k / 251) % 26);
}

static rig_data *step_payload(rig_step *st)
{
    switch (st->kind) {
    case RIG_STEP_SEND:
        return &st->send.data;
    case RIG_STEP_RECV:
        return &st->recv.data;
    case RIG_STEP_EARLY_SEND:
    case RIG_STEP_EARLY_RECV:
        return &st->early.data;
    case RIG_STEP_INJECT:
        return st->inject.what == RIG_INJECT_DATA ? &st->inject.data : NULL;
    default:
        return NULL;
    }
}

/* Every `<n> bytes` is a prefix of one pattern buffer, built once. */
static int attach_pattern(rig_program *p)
{
    size_t max = 0;
    for (size_t i = 0; i < p->n_steps; i++) {
        rig_data *d = step_payload(&p->steps[i]);
        if (d != NULL && d->pattern && d->len > max)
            max = d->len;
    }
    if (max == 0)
        return 0;
    p->pattern = malloc(max);
    if (p->pattern == NULL)
        return -1;
    for (size_t k = 0; k < max; k++)
        p->pattern[k] = pattern_byte(k);
    p->pattern_len = max;
    for (size_t i = 0; i < p->n_steps; i++) {
        rig_data *d = step_payload(&p->steps[i]);
        if (d != NULL && d->pattern)
            d->bytes = p->pattern;
    }
    return 0;
}

void rig_program_free(rig_program *p)
{
    if (p == NULL)
        return;
    rig__peers_prog_free(p);
    for (size_t i = 0; p->steps != NULL && i < p->n_steps; i++)
        rig__tamper_step_free(&p->steps[i]);
    free(p->steps);
    free(p->pattern);
    free(p);
}

static rig_status oom(rig_result *res)
{
    snprintf(res->message, sizeof(res->message), "out of memory");
    return res->status = RIG_ERROR;
}

/* With |payloads| unset (checking only) the `<n> bytes` pattern is not built: it can be
 * 64 MiB, and nothing will read it. */
static rig_status compile(const scn *s, rig_program **out, rig_result *res, int payloads)
{
    rig_status rs = RIG_PASS;
    rig_compiler c;
    rig_program *p = calloc(1, sizeof(*p));
    memset(res, 0, sizeof(*res));
    *out = NULL;
    if (p == NULL)
        return oom(res);
    p->path = s->path;
    p->seed = s->seed;
    p->budget = s->budget;
    p->first_client = p->first_server = -1;
    memset(&c, 0, sizeof(c));
    c.s = s;
    c.prog = p;
    c.res = res;

    for (size_t i = 0; i < s->n_peers; i++) {
        int *first = s->peers[i].is_server ? &p->first_server : &p->first_client;
        if (*first < 0)
            *first = (int)i;
    }
    if (p->first_client < 0 || p->first_server < 0) {
        rs = rig__report(res, RIG_INVALID, s->path, s->n_steps > 0 ? s->steps[0].lineno : 0,
                         "a scenario needs a client peer and a server peer");
        goto done;
    }
    p->peers = calloc(s->n_peers, sizeof(*p->peers));
    p->steps = calloc(s->n_steps > 0 ? s->n_steps : 1, sizeof(*p->steps));
    if (p->peers == NULL || p->steps == NULL) {
        rs = oom(res);
        goto done;
    }
    p->n_peers = s->n_peers;
    if ((rs = rig__compile_peers(&c)) != RIG_PASS)
        goto done;

    c.cur[RIG_CLIENT] = p->first_client;
    c.cur[RIG_SERVER] = p->first_server;
    c.have_conn = !p->peers[p->first_client].no_ctx && !p->peers[p->first_server].no_ctx;
    for (size_t i = 0; i < s->n_steps; i++) {
        p->n_steps = i + 1; /* counted first: a step that fails frees what it holds with it */
        if ((rs = compile_step(&c, &s->steps[i], &p->steps[i])) != RIG_PASS)
            goto done;
    }
    if (payloads && attach_pattern(p) < 0)
        rs = oom(res);
done:
    if (rs != RIG_PASS) {
        rig_program_free(p);
        return rs;
    }
    *out = p;
    return RIG_PASS;
}

rig_status rig_compile(const scn *s, rig_program **out, rig_result *res)
{
    return compile(s, out, res, 1);
}

rig_status rig_check(const scn *s, rig_result *res)
{
    rig_program *p = NULL;
    rig_status rs = compile(s, &p, res, 0);
    rig_program_free(p);
    return rs;
}
