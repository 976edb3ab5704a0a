/*
 * seeds.c - recording seeds, and the server and client targets' tools: a target connection
 * exchanges with a live peer (a connection on the peer source) on the two ends of a pump, and
 * what the peer sent, cut where it sent it (the pump's observer keeps it), becomes a framed
 * input.
 * Since the target draws the same randoms in the recording as in any later run of that input,
 * the peer's Finished, application data and post-handshake messages stay valid on replay, and
 * a seed reaches as deep into the exchange as the recorded conversation went. Each seed is
 * replayed once after recording and must make the target do exactly what it did live.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ssl.h>

#include "harness.h"

typedef struct turn {
    uint8_t peer_op, target_op;
} turn;

typedef struct tv {
    uint8_t tag, value;
} tv;

typedef struct seed_cfg {
    const char *name;
    tv target[8]; /* the target's prefix; FEED is added */
    tv peer[8];   /* the live peer's, read with the other role's meanings */
    const turn *script;
    int resume; /* server target: the peer first makes a session with the target, offers it */
} seed_cfg;

#define D FZ_OP_DRIVE
#define SEND(i) FZ_OP(FZ_OP_SEND, i)
#define KU FZ_OP(FZ_OP_KEY_UPDATE, 1)
#define RENEG FZ_OP_RENEGOTIATE
#define PHA FZ_OP_PHA
#define SHUT FZ_OP_SHUTDOWN
#define INFO FZ_OP_INFO
#define SESS FZ_OP_SESSION
#define EARLY FZ_OP(FZ_OP_EARLY, 0)
/* clang-format off */
#define END {0xff, 0xff}
#define HS {D, D}, {D, D}, {D, D}, {D, D} /* enough turns for any handshake flight */
/* clang-format on */

static const turn script_basic[] = {HS,        {SEND(0), D}, {D, SEND(3)}, {D, INFO}, {D, SESS},
                                    {SHUT, D}, {D, SHUT},    {D, D},       END};
static const turn script_keyupdate[] = {HS,        {KU, D},      {D, D},       {D, KU},
                                        {D, D},    {SEND(0), D}, {D, SEND(0)}, {D, D},
                                        {SHUT, D}, {D, SHUT},    END};
static const turn script_reneg_peer[] = {HS,           {SEND(0), D}, {RENEG, D},   {D, D},
                                         {D, D},       {D, D},       {D, D},       {SEND(3), D},
                                         {D, SEND(3)}, {D, INFO},    {SHUT, SHUT}, END};
static const turn script_reneg_target[] = {HS,           {D, RENEG},   {D, D},    {D, D}, {D, D},
                                           {SEND(0), D}, {D, SEND(0)}, {D, INFO}, END};
static const turn script_pha_target[] = {HS,     {D, PHA},        {D, D}, {D, D},
                                         {D, D}, {SEND(0), INFO}, {D, D}, END};
static const turn script_pha_peer[] = {HS, {PHA, D}, {D, D}, {D, D}, {D, SEND(0)}, {D, INFO}, END};
static const turn script_early_peer[] = {{EARLY, D}, HS,     {SEND(0), SEND(0)},
                                         {D, INFO},  {D, D}, END};
static const turn script_big[] = {HS,
                                  {SEND(10), D},
                                  {SEND(7), FZ_OP(FZ_OP_READ_SMALL, 3)},
                                  {D, FZ_OP(FZ_OP_PEEK, 4)},
                                  {D, SEND(9)},
                                  {D, D},
                                  {SHUT, D},
                                  {D, SHUT},
                                  END};
static const turn script_close[] = {HS,        {SEND(0), D}, {FZ_OP_QUIET, D}, {D, FZ_OP_EOF},
                                    {D, INFO}, END};
static const turn script_handshake[] = {HS, {D, D}, {D, D}, END};

/* clang-format off */
#define V(lo, hi) {FZ_TAG_VERSION, (uint8_t)((lo) | (hi) << 4)}
#define T(tag, v) {FZ_TAG_##tag, v}
/* clang-format on */

/* Server target: the target is a server, the live peer a client. */
static const seed_cfg server_seeds[] = {
    {"tls13-p256", {{0}}, {{0}}, script_basic, 0},
    {"tls13-rsa", {T(KEY, 1)}, {{0}}, script_basic, 0},
    {"tls13-p384", {T(KEY, 2)}, {{0}}, script_basic, 0},
    {"tls13-ed25519", {T(KEY, 3)}, {{0}}, script_basic, 0},
    {"tls12-p256", {V(3, 3)}, {{0}}, script_basic, 0},
    {"tls12-rsa", {V(3, 3), T(KEY, 1)}, {{0}}, script_basic, 0},
    {"tls12-ed25519", {V(3, 3), T(KEY, 3)}, {{0}}, script_basic, 0},
    {"tls11-rsa", {V(2, 2), T(PROFILE, 1), T(KEY, 1)}, {T(PROFILE, 1)}, script_basic, 0},
    {"tls10-p256", {V(1, 1), T(PROFILE, 1)}, {T(PROFILE, 1)}, script_basic, 0},
    {"clientauth-tls13", {T(VERIFY, 2)}, {{0}}, script_basic, 0},
    {"clientauth-tls12", {V(3, 3), T(VERIFY, 2)}, {T(KEY, 2)}, script_basic, 0},
    {"clientauth-missing", {T(VERIFY, 2)}, {T(KEY, 1)}, script_basic, 0},
    {"pha", {T(VERIFY, 3)}, {{0}}, script_pha_target, 0},
    {"alpn-sni-ocsp-tls13",
     {T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     {T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     script_basic,
     0},
    {"alpn-sni-ocsp-tls12",
     {V(3, 3), T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     {T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     script_basic,
     0},
    {"sni-switch", {T(SNI, 2), T(ALPN, 2)}, {T(SNI, 1), T(ALPN, 3)}, script_basic, 0},
    {"dhe-tls12", {V(3, 3), T(KEY, 1), T(KEX, 1)}, {T(KEX, 1)}, script_basic, 0},
    {"ffdhe-tls13", {T(KEX, 1)}, {T(KEX, 1)}, script_basic, 0},
    {"hello-retry", {T(KEX, 2)}, {{0}}, script_basic, 0},
    {"chacha-ccm", {T(KEX, 3), T(OPTIONS, 0x18)}, {T(KEX, 3)}, script_basic, 0},
    {"cbc-etm-tls12", {V(3, 3), T(KEX, 4)}, {T(KEX, 4)}, script_basic, 0},
    {"cbc-mte-tls12", {V(3, 3), T(KEX, 4), T(OPTIONS, 0xc0)}, {T(KEX, 4)}, script_basic, 0},
    {"rsa-kex-tls12", {V(3, 3), T(KEY, 1), T(KEX, 5)}, {T(KEX, 5)}, script_basic, 0},
    {"null-legacy",
     {V(3, 3), T(PROFILE, 1), T(KEX, 7)},
     {T(PROFILE, 1), T(KEX, 7)},
     script_basic,
     0},
    {"renegotiate-by-client", {V(3, 3), T(OPTIONS, 0x02)}, {{0}}, script_reneg_peer, 0},
    {"renegotiate-by-server", {V(3, 3), T(KEY, 1)}, {{0}}, script_reneg_target, 0},
    /* a full second handshake: a new key exchange and signature inside the first */
    {"renegotiate-full",
     {V(3, 3), T(KEY, 1), T(MISC, 0x10)},
     {T(MISC, 0x10)},
     script_reneg_target,
     0},
    {"keyupdate", {{0}}, {{0}}, script_keyupdate, 0},
    {"resume-tls13", {{0}}, {{0}}, script_basic, 1},
    {"resume-tls12", {V(3, 3)}, {{0}}, script_basic, 1},
    {"early-data", {T(EARLY, 1), T(OPTIONS, 0x20)}, {T(EARLY, 1)}, script_early_peer, 1},
    {"tickets-4", {T(TICKETS, 3)}, {{0}}, script_basic, 0},
    {"big-records", {T(RECORD, 0x0f)}, {T(RECORD, 0x24)}, script_big, 0},
    {"big-records-tls12", {V(3, 3), T(RECORD, 0x06)}, {T(RECORD, 0x20)}, script_big, 0},
    {"quiet-eof", {T(RECORD, 0x10)}, {{0}}, script_close, 0},
};

/* Client target: the target is a client, the live peer a server (p256, the key of the server
 * that issued the sessions the client target offers). */
static const seed_cfg client_seeds[] = {
    {"tls13-p256", {{0}}, {{0}}, script_basic, 0},
    {"tls13-rsa", {{0}}, {T(KEY, 1)}, script_basic, 0},
    {"tls13-p384", {{0}}, {T(KEY, 2)}, script_basic, 0},
    {"tls13-ed25519", {{0}}, {T(KEY, 3)}, script_basic, 0},
    {"tls12-p256", {V(3, 3)}, {{0}}, script_basic, 0},
    {"tls12-rsa", {V(3, 3)}, {T(KEY, 1)}, script_basic, 0},
    {"tls11-rsa", {V(2, 2), T(PROFILE, 1)}, {T(PROFILE, 1), T(KEY, 1)}, script_basic, 0},
    {"tls10-p256", {V(1, 1), T(PROFILE, 1)}, {T(PROFILE, 1)}, script_basic, 0},
    {"clientauth-tls13", {{0}}, {T(VERIFY, 2)}, script_basic, 0},
    {"clientauth-tls12-rsa", {V(3, 3), T(KEY, 2)}, {T(VERIFY, 2)}, script_basic, 0},
    {"clientauth-none", {T(KEY, 1)}, {T(VERIFY, 1)}, script_basic, 0},
    {"pha", {{0}}, {T(VERIFY, 3)}, script_pha_peer, 0},
    {"alpn-sni-ocsp-tls13",
     {T(ALPN, 1), T(SNI, 3), T(OCSP, 1)},
     {T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     script_basic,
     0},
    {"alpn-sni-ocsp-tls12",
     {V(3, 3), T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     {T(ALPN, 1), T(SNI, 1), T(OCSP, 1)},
     script_basic,
     0},
    {"dhe-tls12", {V(3, 3), T(KEX, 1)}, {T(KEY, 1), T(KEX, 1)}, script_basic, 0},
    {"ffdhe-tls13", {T(KEX, 1)}, {T(KEX, 1)}, script_basic, 0},
    {"hello-retry", {{0}}, {T(KEX, 2)}, script_basic, 0},
    {"chacha-ccm", {T(KEX, 3)}, {T(KEX, 3), T(OPTIONS, 0x18)}, script_basic, 0},
    {"cbc-etm-tls12", {V(3, 3), T(KEX, 4)}, {T(KEX, 4)}, script_basic, 0},
    {"cbc-mte-tls12", {V(3, 3), T(KEX, 4), T(OPTIONS, 0xc0)}, {T(KEX, 4)}, script_basic, 0},
    {"rsa-kex-tls12", {V(3, 3), T(KEX, 5)}, {T(KEY, 1), T(KEX, 5)}, script_basic, 0},
    {"null-legacy",
     {V(3, 3), T(PROFILE, 1), T(KEX, 7)},
     {T(PROFILE, 1), T(KEX, 7)},
     script_basic,
     0},
    {"renegotiate-by-client", {V(3, 3)}, {T(OPTIONS, 0x02)}, script_reneg_target, 0},
    {"renegotiate-by-server", {V(3, 3)}, {{0}}, script_reneg_peer, 0},
    {"keyupdate", {{0}}, {{0}}, script_keyupdate, 0},
    {"resume-tls13", {T(TICKETS, 1)}, {{0}}, script_basic, 0},
    {"resume-tls12-ticket", {V(3, 3), T(TICKETS, 2)}, {{0}}, script_basic, 0},
    {"resume-tls12-id", {V(3, 3), T(TICKETS, 3)}, {T(OPTIONS, 0x01)}, script_basic, 0},
    {"early-data",
     {T(TICKETS, 1), T(EARLY, 1)},
     {T(EARLY, 1), T(OPTIONS, 0x20)},
     script_handshake,
     0},
    {"tickets-4", {{0}}, {T(TICKETS, 3)}, script_basic, 0},
    {"big-records", {T(RECORD, 0x2f)}, {T(RECORD, 0x04)}, script_big, 0},
    {"quiet-eof", {T(RECORD, 0x10)}, {{0}}, script_close, 0},
};

/* ---- a live exchange ---- */

typedef struct live {
    fz_conn *peer;
    const turn *script;
    size_t k;
    wire_buf frame; /* what the peer sent in the piece being delivered */
    uint8_t pending_op;
    int have_pending;
    int recording;
    wire_buf rec; /* the prefix, then the recorded frames */
} live;

static void append(wire_buf *b, const void *d, size_t n)
{
    if (wire_buf_append(b, d, n) < 0)
        fz_fatal("out of memory");
}

/* The exchange's observer: what the peer sends, as it crosses to the target. */
static int keep_frame(void *arg, int from, const uint8_t *d, size_t n)
{
    live *L = arg;
    if (from == (L->peer->is_server ? WIRE_SERVER : WIRE_CLIENT))
        append(&L->frame, d, n);
    return 0;
}

static void record(live *L, uint8_t op, const uint8_t *d, size_t n)
{
    uint8_t head[3] = {op, (uint8_t)(n >> 8), (uint8_t)n};
    if (!L->recording)
        return;
    append(&L->rec, head, sizeof(head));
    append(&L->rec, d, n);
}

/* One piece per call: the peer's next turn crosses to the target, or, for a turn longer than
 * a frame holds (a frame's length has 16 bits), one pump read of it at a time, each followed
 * by a drive. Each piece is recorded as it was delivered, so replay agrees. */
static int live_next(fz_exchange *x, void *arg, uint8_t *op)
{
    live *L = arg;
    if (!L->have_pending) {
        if (L->script[L->k].peer_op == 0xff)
            return 0;
        fz_step(L->peer, L->script[L->k].peer_op);
        L->pending_op = L->script[L->k].target_op;
        L->have_pending = 1;
        L->k++;
    }
    L->frame.len = 0;
    if (tlsrig_conn_bio_pending(L->peer->conn) > 0xffff) {
        fz_move_one(x, x->peer_end);
        *op = FZ_OP_DRIVE;
    } else {
        fz_move(x, x->peer_end);
        *op = L->pending_op;
        L->have_pending = 0;
    }
    record(L, *op, L->frame.data, L->frame.len);
    return 1;
}

static void live_cleanup(live *L)
{
    wire_buf_cleanup(&L->frame);
    wire_buf_cleanup(&L->rec);
}

static void prefix_of(const tv *list, fz_prefix *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < 8 && list[i].tag != 0; i++)
        fz_prefix_set(p, list[i].tag, list[i].value);
}

/* Server target, resume: a first, unrecorded handshake gives the peer a session the target
 * server issued (its ticket keys are fixed for the life of the process). */
static SSL_SESSION *first_session(const fz_prefix *tp, const fz_prefix *pp)
{
    fz_conn target, peer;
    live L;
    fz_exchange x;
    SSL_SESSION *out = NULL;

    fz_reset();
    if (fz_conn_server(&target, FZ_SIDE_TARGET, tp) < 0 ||
        fz_conn_client(&peer, FZ_SIDE_PEER, pp, NULL) < 0)
        fz_fatal("cannot create connections");
    memset(&L, 0, sizeof(L));
    L.peer = &peer;
    L.script = script_handshake;
    fz_exchange_init(&x, &target, &peer.ep.ep, keep_frame, &L);
    fz_run(&x, live_next, &L);
    fz_exchange_cleanup(&x);
    SSL_SESSION *s = SSL_get1_session(tlsrig_conn_get0_ssl(peer.conn));
    if (s != NULL && SSL_SESSION_is_resumable(s))
        out = SSL_SESSION_dup(s);
    SSL_SESSION_free(s);
    live_cleanup(&L);
    fz_conn_cleanup(&target);
    fz_conn_cleanup(&peer);
    return out;
}

int fz_write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(d, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int record_one(int target_is_server, const seed_cfg *cfg, const char *dir)
{
    fz_prefix tp, pp;
    fz_conn target, peer;
    live L;
    fz_exchange x;
    uint8_t head[2 * FZ_TAG_COUNT + 1];
    SSL_SESSION *offer = NULL;
    int rc = -1;

    prefix_of(cfg->target, &tp);
    prefix_of(cfg->peer, &pp);
    fz_prefix_set(&tp, FZ_TAG_FEED, FZ_FEED_FRAMED);
    if (cfg->resume && target_is_server && (offer = first_session(&tp, &pp)) == NULL) {
        fprintf(stderr, "seed %s: the first handshake left no session\n", cfg->name);
        return -1;
    }

    fz_reset();
    int ok = target_is_server
                 ? fz_conn_server(&target, FZ_SIDE_TARGET, &tp) == 0 &&
                       fz_conn_client(&peer, FZ_SIDE_PEER, &pp, offer) == 0
                 : fz_conn_client(&target, FZ_SIDE_TARGET, &tp, fz_saved_session(&tp)) == 0 &&
                       fz_conn_server(&peer, FZ_SIDE_PEER, &pp) == 0;
    SSL_SESSION_free(offer);
    if (!ok)
        fz_fatal("cannot create connections");
    memset(&L, 0, sizeof(L));
    L.peer = &peer;
    L.script = cfg->script;
    L.recording = 1;
    append(&L.rec, head, fz_prefix_write(&tp, head, sizeof(head)));
    fz_exchange_init(&x, &target, &peer.ep.ep, keep_frame, &L);
    fz_run(&x, live_next, &L);
    fz_exchange_cleanup(&x);
    uint64_t live_digest = fz_digest;
    char what[128];
    snprintf(what, sizeof(what), "%s%s%s%s", tlsrig_conn_get_protocol_version_name(target.conn),
             target.done && peer.done ? "" : ", incomplete",
             tlsrig_conn_session_reused(target.conn) ? ", resumed" : "",
             tlsrig_conn_get_early_data_status(target.conn) == SSL_EARLY_DATA_ACCEPTED
                 ? ", 0-RTT accepted"
                 : "");
    fz_conn_cleanup(&target);
    fz_conn_cleanup(&peer);

    /* The seed must make the target do on its own what it did live. */
    fz_run_input(target_is_server, L.rec.data, L.rec.len);
    if (fz_digest != live_digest) {
        fprintf(stderr, "seed %s: the replay differs from the live exchange\n", cfg->name);
    } else {
        char path[4096];
        snprintf(path, sizeof(path), "%s/live-%s", dir, cfg->name);
        if (fz_write_file(path, L.rec.data, L.rec.len) == 0) {
            printf("%-24s %6zu bytes  %s\n", cfg->name, L.rec.len, what);
            rc = 0;
        } else {
            fprintf(stderr, "seed %s: cannot write %s: %s\n", cfg->name, path, strerror(errno));
        }
    }
    live_cleanup(&L);
    return rc;
}

int fz_gen_seeds(int target_is_server, const char *dir)
{
    const seed_cfg *cfgs = target_is_server ? server_seeds : client_seeds;
    size_t n = target_is_server ? sizeof(server_seeds) / sizeof(server_seeds[0])
                                : sizeof(client_seeds) / sizeof(client_seeds[0]);
    int written = 0, failed = 0;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    fz_peer_target_init();
    for (size_t i = 0; i < n; i++) {
        if (record_one(target_is_server, &cfgs[i], dir) == 0)
            written++;
        else
            failed++;
    }
    return failed > 0 ? -1 : written;
}

int fz_tool_seeds(int target_is_server, int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--gen-seeds") != 0)
        return -1;
    int n = fz_gen_seeds(target_is_server, argv[2]);
    if (n < 0)
        return 1;
    printf("%d seeds in %s\n", n, argv[2]);
    return 0;
}

void fz_peer_target_initialize(int target_is_server, int argc, char **argv)
{
    int rc = fz_tool_seeds(target_is_server, argc, argv);
    if (rc >= 0)
        exit(rc);
    fz_peer_target_init();
}
