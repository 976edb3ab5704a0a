/*
 * mitm_target.c - the server_mitm and client_mitm targets: the target connection and a live
 * engine peer of the other role talk through a wire pump whose filter is a wire_mitm, fed
 * both sides' key logs; the input's edit list (mitm_plan.c) says what the middle changes in
 * the decrypted units it carries, and what the two ends do once the handshake settled.
 * Also the targets' tools: the stats line, --print-scn and --gen-seeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ssl.h>

#include "harness.h"

#define FZ_MITM_ROUNDS 32 /* pump rounds to settle after a step; a handshake needs < 10 */

/* FEED in the target's prefix: the middle's settings. */
#define FZ_MITM_FIXUP 0x01

static struct {
    int ready;
    int target_is_server;
    /* server_mitm: sessions the target server issued, for the peer client to offer */
    SSL_SESSION *offers[FZ_N_PROFILES][FZ_N_SESSIONS];
    wire_mitm *cur; /* the middle of the input running, for the keylog callback */
    /* over the process: records re-protected towards each end, refused by its record layer */
    uint64_t inputs, reprotected[2], refused[2];
} M;

enum { END_TARGET, END_PEER };

/* ---- set-up ---- */

static void keylog(tlsrig_conn *conn, const char *line, void *arg)
{
    (void)arg;
    fz_conn *fc = tlsrig_conn_get_app_data(conn);
    if (M.cur != NULL && fc != NULL)
        (void)wire_mitm_keylog(M.cur, fc->is_server ? WIRE_SERVER : WIRE_CLIENT, line,
                               strlen(line));
}

static void print_stats(void)
{
    uint64_t sent = M.reprotected[END_TARGET] + M.reprotected[END_PEER];
    uint64_t refused = M.refused[END_TARGET] + M.refused[END_PEER];
    fprintf(stderr,
            "mitm stats: %llu inputs, %llu records re-protected (%llu to the target, %llu to "
            "the peer), %llu refused as bad_record_mac (target %llu, peer %llu): %.3f%% "
            "accepted\n",
            (unsigned long long)M.inputs, (unsigned long long)sent,
            (unsigned long long)M.reprotected[END_TARGET],
            (unsigned long long)M.reprotected[END_PEER], (unsigned long long)refused,
            (unsigned long long)M.refused[END_TARGET], (unsigned long long)M.refused[END_PEER],
            sent > 0 ? 100.0 * (double)(sent - refused) / (double)sent : 100.0);
}

void fz_mitm_initialize(int target_is_server)
{
    if (M.ready)
        return;
    M.ready = 1;
    M.target_is_server = target_is_server;
    if (target_is_server) {
        fz_init();
        for (int prof = 0; prof < FZ_N_PROFILES; prof++) {
            M.offers[prof][FZ_SESSION_TLS13] = fz_make_session(FZ_SIDE_PEER, prof, 4, 0);
            M.offers[prof][FZ_SESSION_TLS12_TICKET] = fz_make_session(FZ_SIDE_PEER, prof, 3, 0);
            /* a session id would need the target server's cache, which each input empties */
        }
    } else {
        fz_peer_target_init();
    }
    /* Only these targets pay for OpenSSL formatting key log lines. */
    fz_set_keylog_callback(keylog, NULL);
    if (getenv("TLSRIG_MITM_STATS") != NULL)
        atexit(print_stats);
}

/* ---- one run ---- */

typedef struct mitm_run {
    int target_is_server;
    fz_prefix tp, pp;
    fz_conn conn[2];     /* END_TARGET, END_PEER */
    int wire_end[2];     /* each one's end of the pump */
    const char *name[2]; /* "client" / "server", as the scenario names them */
    fz_exchange x;
    wire_mitm *m;
    fz_mitm_plan plan;
    FILE *scn;
    int checked[2], refused[2];
    char why[2][512]; /* each end's first failure, with OpenSSL's first reason */
} mitm_run;

/* OpenSSL's reason: "decryption failed or bad record mac" (SSL_R_DECRYPTION_FAILED_OR_BAD_
 * RECORD_MAC), also in the engine's message. */
static int bad_record_mac(const tlsrig_error *e)
{
    if (strstr(e->message, "bad record mac") != NULL)
        return 1;
    for (size_t i = 0; i < e->n_ssl; i++)
        if (strstr(e->ssl[i].reason, "bad record mac") != NULL)
            return 1;
    return 0;
}

/* Run |op| on one end; the first failure of each end is classified while its error is the
 * connection's last one. */
static int step(mitm_run *r, int who, uint8_t op)
{
    fz_conn *fc = &r->conn[who];
    int rc = fz_step(fc, op);
    if (fc->failed && !r->checked[who]) {
        const tlsrig_error *e = tlsrig_conn_last_error(fc->conn);
        r->checked[who] = 1;
        r->refused[who] = bad_record_mac(e);
        snprintf(r->why[who], sizeof(r->why[who]), "%s%s%s", e->message, e->n_ssl > 0 ? ": " : "",
                 e->n_ssl > 0 ? e->ssl[0].reason : "");
    }
    return rc;
}

/* Drive both ends, client first, each followed by a move of what it wrote, until two rounds
 * in a row move nothing. */
static void settle(mitm_run *r)
{
    int idle = 0;
    int client = r->wire_end[END_TARGET] == WIRE_CLIENT ? END_TARGET : END_PEER;
    for (int i = 0; i < FZ_MITM_ROUNDS && idle < 2; i++) {
        long moved = 0;
        step(r, client, FZ_OP_DRIVE);
        moved += fz_move(&r->x, WIRE_CLIENT);
        step(r, !client, FZ_OP_DRIVE);
        moved += fz_move(&r->x, WIRE_SERVER);
        idle = moved > 0 ? 0 : idle + 1;
    }
}

static void print_settled(mitm_run *r)
{
    if (r->scn != NULL)
        fprintf(r->scn, "%s\n",
                r->conn[END_TARGET].failed || r->conn[END_PEER].failed ? "handshake fails"
                                                                       : "handshake");
}

/* What an op does, run by |who|, then the pump until it settles. */
static void act(mitm_run *r, int who, uint8_t op)
{
    int rc = step(r, who, op);
    if (r->scn != NULL)
        fz_mitm_print_op(r->scn, r->name[who], r->name[!who], op, rc);
    settle(r);
    print_settled(r);
}

static int open_run(mitm_run *r, int target_is_server, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->target_is_server = target_is_server;
    fz_mitm_initialize(target_is_server);
    fz_reset();
    size_t off = fz_prefix_parse(data, len, &r->tp);
    off += fz_prefix_parse(data + off, len - off, &r->pp);
    r->wire_end[END_TARGET] = target_is_server ? WIRE_SERVER : WIRE_CLIENT;
    r->wire_end[END_PEER] = !r->wire_end[END_TARGET];
    r->name[END_TARGET] = target_is_server ? "server" : "client";
    r->name[END_PEER] = target_is_server ? "client" : "server";
    fz_mitm_plan_parse(&r->plan, data + off, len - off, r->wire_end[END_TARGET]);
    fz_reset_peer(&r->pp, !target_is_server);
    int rc;
    if (target_is_server) {
        int prof = fz_prefix_get(&r->pp, FZ_TAG_PROFILE, 0) & 1;
        SSL_SESSION *offer = M.offers[prof][fz_prefix_get(&r->pp, FZ_TAG_TICKETS, 0) & 3];
        rc = fz_conn_server(&r->conn[END_TARGET], FZ_SIDE_TARGET, &r->tp) == 0 &&
                     fz_conn_client(&r->conn[END_PEER], FZ_SIDE_PEER, &r->pp, offer) == 0
                 ? 0
                 : -1;
    } else {
        rc = fz_conn_client(&r->conn[END_TARGET], FZ_SIDE_TARGET, &r->tp,
                            fz_saved_session(&r->tp)) == 0 &&
                     fz_conn_server(&r->conn[END_PEER], FZ_SIDE_PEER, &r->pp) == 0
                 ? 0
                 : -1;
    }
    if (rc < 0 || wire_mitm_new(&r->m) < 0)
        fz_fatal("cannot create the connections");
    wire_mitm_set_edit(r->m, fz_mitm_plan_edit, &r->plan);
    wire_mitm_set_fixup(r->m, fz_prefix_get(&r->tp, FZ_TAG_FEED, 0) & FZ_MITM_FIXUP);
    /* TLS <= 1.2 master secrets straight from the connections when the key log is late */
    for (int who = 0; who < 2; who++)
        wire_mitm_set0_conn(r->m, r->wire_end[who], r->conn[who].conn);
    M.cur = r->m;
    fz_exchange_init(&r->x, &r->conn[END_TARGET], &r->conn[END_PEER].ep.ep, NULL, NULL);
    fz_exchange_set_filter(&r->x, wire_mitm_filter, r->m);
    return 0;
}

static void close_run(mitm_run *r)
{
    const wire_mitm_stats *st = wire_mitm_get0_stats(r->m);
    uint64_t counts[4] = {st->reprotected[r->wire_end[END_PEER]],
                          st->reprotected[r->wire_end[END_TARGET]], st->edited[0], st->edited[1]};
    fz_digest_add(counts, sizeof(counts));
    M.inputs++;
    for (int who = 0; who < 2; who++) {
        M.reprotected[who] += counts[who];
        M.refused[who] += (uint64_t)r->refused[who];
    }
    M.cur = NULL;
    fz_exchange_cleanup(&r->x);
    wire_mitm_free(r->m);
    fz_conn_cleanup(&r->conn[END_TARGET]);
    fz_conn_cleanup(&r->conn[END_PEER]);
    fz_settle();
}

static void run(mitm_run *r)
{
    /* EARLY 1, 2, 3 for a client: 16, 1, 1000 bytes of 0-RTT data (fz_send_size 0, 1, 6) */
    static const uint8_t early_arg[4] = {0, 0, 1, 6};
    int client = r->target_is_server ? END_PEER : END_TARGET;
    uint8_t early = fz_prefix_get(&r->conn[client].prefix, FZ_TAG_EARLY, 0) & 3;
    FILE *scn = r->scn;

    if (scn != NULL) {
        fz_mitm_print_peers(scn, r->target_is_server, &r->tp, &r->pp,
                            fz_prefix_get(&r->tp, FZ_TAG_FEED, 0) & FZ_MITM_FIXUP);
        for (size_t i = 0; i < r->plan.n; i++)
            if (!fz_mitm_plan_is_step(&r->plan.e[i]))
                fz_mitm_print_edit(scn, &r->plan.e[i], r->name[!r->plan.e[i].from_target]);
        fputc('\n', scn);
    }
    if (early != 0) {
        size_t n = fz_send_size(early_arg[early]);
        step(r, client, FZ_OP(FZ_OP_EARLY, early_arg[early]));
        if (scn != NULL) {
            fputs("early-data send client \"", scn);
            for (size_t i = 0; i < n; i++)
                fputc('a' + (int)(i % 26), scn);
            fputs("\"\n", scn);
        }
    }
    settle(r);
    print_settled(r);

    for (size_t i = 0; i < r->plan.n && !r->conn[END_TARGET].failed; i++) {
        const fz_mitm_edit *e = &r->plan.e[i];
        int who = e->from_target ? END_TARGET : END_PEER;
        if (!fz_mitm_plan_is_step(e))
            continue;
        if (e->op == FZ_MITM_ACTION) {
            act(r, who, e->msg);
            continue;
        }
        if (fz_mitm_plan_inject(e, r->m, r->wire_end[who]) == TLSRIG_ERR_NOMEM)
            fz_fatal("out of memory");
        if (scn != NULL)
            fz_mitm_print_edit(scn, e, r->name[who]);
        settle(r);
        print_settled(r);
    }

    /* Then data from the peer, the target's closing ops (ACTIONS, as for a raw payload), and
     * the peer's close_notify. */
    if (r->conn[END_TARGET].failed)
        return;
    act(r, END_PEER, FZ_OP(FZ_OP_SEND, 3));
    uint8_t actions = fz_prefix_get(&r->tp, FZ_TAG_ACTIONS, FZ_ACTIONS_DEFAULT);
    static const uint8_t action_ops[8] = {FZ_OP(FZ_OP_SEND, 0),        FZ_OP(FZ_OP_KEY_UPDATE, 1),
                                          FZ_OP(FZ_OP_RENEGOTIATE, 0), FZ_OP(FZ_OP_PHA, 0),
                                          FZ_OP(FZ_OP_INFO, 0),        FZ_OP(FZ_OP_SESSION, 0),
                                          FZ_OP(FZ_OP_SHUTDOWN, 0),    FZ_OP(FZ_OP_EOF, 0)};
    for (int b = 0; b < 8; b++)
        if (actions & (1u << b))
            act(r, END_TARGET, action_ops[b]);
    act(r, END_PEER, FZ_OP(FZ_OP_SHUTDOWN, 0));
}

void fz_mitm_run_input(int target_is_server, const uint8_t *data, size_t len, FILE *scn)
{
    mitm_run r;
    open_run(&r, target_is_server, data, len);
    r.scn = scn;
    run(&r);
    close_run(&r);
}

/* ---- seeds ---- */

typedef struct tv {
    uint8_t tag, value;
} tv;

/* A seed: the target's and the peer's settings, and the edit list in hex (spaces ignored). */
typedef struct mitm_seed {
    const char *name;
    tv target[6];
    tv peer[6];
    const char *edits;
} mitm_seed;

/* clang-format off */
#define V(lo, hi) {FZ_TAG_VERSION, (uint8_t)((lo) | (hi) << 4)}
#define T(tag, v) {FZ_TAG_##tag, v}
#define FIXUP T(FEED, FZ_MITM_FIXUP)
/* clang-format on */

/* Edits are [op][msg][arg][len16][bytes]: op 0 drop, 1 duplicate, 2 replace, 3 set field,
 * 4 remove field, 5/6/7 add/remove/set extension, 8 set-length, 9 set-type, a insert-before,
 * b inject alert, c inject data, d inject message, e action; +80 the target's units. */
static const mitm_seed server_seeds[] = {
    {"tls13", {{0}}, {{0}}, ""},
    {"tls12", {V(3, 3)}, {{0}}, ""},
    {"tls13-finished-set",
     {{0}},
     {{0}},
     "03 14 00 0030 00000000000000000000000000000000"
     "00000000000000000000000000000000 00000000000000000000000000000000"},
    {"tls12-finished-set", {V(3, 3)}, {{0}}, "03 14 00 000c 000000000000000000000000"},
    {"tls13-certificate-context", {T(VERIFY, 2)}, {{0}}, "03 0b 00 0001 00"},
    {"tls13-certificate-drop", {T(VERIFY, 2)}, {{0}}, "00 0b 00 0000"},
    {"tls13-certverify-algorithm", {T(VERIFY, 2)}, {{0}}, "03 0f 00 0002 0804"},
    {"tls13-keyupdate", {{0}}, {{0}}, "03 18 00 0001 05  0e 12 00 0000  0e 01 00 0000"},
    {"tls13-pha-certificate", {T(VERIFY, 3)}, {{0}}, "05 0b 00 0004 fafa0000  8e 04 00 0000"},
    {"tls13-resumed-finished-fixup", {FIXUP}, {T(TICKETS, 1)}, "01 14 00 0000"},
    {"tls12-renegotiate-by-client",
     {V(3, 3), T(OPTIONS, 0x02), FIXUP},
     {{0}},
     "05 01 11 0004 fafa0000  0e 03 00 0000  0e 01 00 0000"},
    {"tls12-renegotiate-by-server", {V(3, 3)}, {{0}}, "03 01 31 0002 0300  8e 03 00 0000"},
    {"tls13-inject-alert", {{0}}, {{0}}, "0b 01 64 0000"},
    {"tls13-inject-data", {{0}}, {{0}}, "0c 01 00 0000"},
    {"tls13-inject-message", {{0}}, {{0}}, "0d 04 00 0002 0000"},
    {"tls13-set-length", {{0}}, {{0}}, "08 14 00 0003 000021"},
    {"tls13-early-data", {T(EARLY, 1), T(OPTIONS, 0x20)}, {T(TICKETS, 1), T(EARLY, 3)}, ""},
    {"tls13-early-eoed-drop",
     {T(EARLY, 1), T(OPTIONS, 0x20)},
     {T(TICKETS, 1), T(EARLY, 3)},
     "00 05 00 0000"},
};

static const mitm_seed client_seeds[] = {
    {"tls13", {{0}}, {{0}}, ""},
    {"tls12", {V(3, 3)}, {{0}}, ""},
    {"tls13-ee-add-extension", {{0}}, {{0}}, "05 08 00 0004 fafa0000"},
    {"tls13-ee-resumed-fixup", {T(TICKETS, 1), FIXUP}, {{0}}, "05 08 00 0004 fafa0000"},
    {"tls13-ee-unsolicited-alpn", {T(TICKETS, 1), FIXUP}, {{0}}, "05 08 00 0006 00100002 0000"},
    {"tls13-ee-remove", {{0}}, {{0}}, "04 08 00 0000"},
    {"tls13-certificate-context", {{0}}, {{0}}, "03 0b 00 0001 00"},
    {"tls13-certificate-replace", {{0}}, {{0}}, "02 0b 00 0007 00 000003 000000"},
    {"tls13-certrequest-sigalgs", {{0}}, {T(VERIFY, 2)}, "06 0d 00 0002 000d"},
    {"tls13-certverify-signature", {{0}}, {{0}}, "03 0f 10 0004 00020000"},
    {"tls13-finished-set",
     {{0}},
     {{0}},
     "03 14 00 0030 00000000000000000000000000000000"
     "00000000000000000000000000000000 00000000000000000000000000000000"},
    {"tls13-ticket-lifetime", {{0}}, {{0}}, "03 04 00 0004 ffffffff"},
    {"tls13-ticket-early-data", {{0}}, {{0}}, "05 04 01 0006 002a0004 ffff"},
    {"tls13-keyupdate", {{0}}, {{0}}, "03 18 00 0001 07  0e 12 00 0000  0e 01 00 0000"},
    {"tls13-pha", {{0}}, {T(VERIFY, 3)}, "05 0d 00 0004 fafa0000  0e 04 00 0000"},
    {"tls12-finished-set", {V(3, 3)}, {{0}}, "03 14 00 000c 000000000000000000000000"},
    {"tls12-hellorequest", {V(3, 3)}, {{0}}, "01 00 00 0000  0e 03 00 0000  0e 01 00 0000"},
    {"tls12-renegotiated-finished",
     {V(3, 3)},
     {{0}},
     "03 14 01 000c 000000000000000000000000  0e 03 00 0000  0e 01 00 0000"},
    {"tls12-renegotiate-by-client",
     {V(3, 3), FIXUP},
     {T(OPTIONS, 0x02)},
     "05 02 01 0004 fafa0000  8e 03 00 0000  0e 01 00 0000"},
    {"tls13-inject-alert", {{0}}, {{0}}, "0b 02 28 0000"},
    {"tls13-inject-keyupdate", {{0}}, {{0}}, "0d 18 00 0001 01"},
    {"tls13-early-data-ee",
     {T(TICKETS, 1), T(EARLY, 3)},
     {T(EARLY, 1), T(OPTIONS, 0x20)},
     "04 08 00 0000"},
};

static void append(wire_buf *b, const void *d, size_t n)
{
    if (wire_buf_append(b, d, n) < 0)
        fz_fatal("out of memory");
}

static void seed_bytes(const mitm_seed *s, wire_buf *out)
{
    uint8_t head[2 * FZ_TAG_COUNT + 1];
    for (int k = 0; k < 2; k++) {
        const tv *list = k == 0 ? s->target : s->peer;
        fz_prefix p;
        memset(&p, 0, sizeof(p));
        for (size_t i = 0; i < 6 && list[i].tag != 0; i++)
            fz_prefix_set(&p, list[i].tag, list[i].value);
        append(out, head, fz_prefix_write(&p, head, sizeof(head)));
    }
    for (const char *h = s->edits; h[0] != '\0';) {
        if (h[0] == ' ') {
            h++;
            continue;
        }
        unsigned v;
        if (h[1] == '\0' || sscanf(h, "%2x", &v) != 1)
            fz_fatal("seed %s: bad hex", s->name);
        uint8_t b = (uint8_t)v;
        append(out, &b, 1);
        h += 2;
    }
}

/* Writes each seed to |dir| and says how its run ended, so that a seed whose edits no longer
 * reach their message shows. */
static int gen_seeds(int target_is_server, const char *dir)
{
    const mitm_seed *seeds = target_is_server ? server_seeds : client_seeds;
    size_t n = target_is_server ? sizeof(server_seeds) / sizeof(server_seeds[0])
                                : sizeof(client_seeds) / sizeof(client_seeds[0]);
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        wire_buf b = {0};
        char path[4096];
        mitm_run r;
        seed_bytes(&seeds[i], &b);
        snprintf(path, sizeof(path), "%s/mitm-%s", dir, seeds[i].name);
        if (fz_write_file(path, b.data, b.len) < 0) {
            fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
            wire_buf_cleanup(&b);
            return -1;
        }
        open_run(&r, target_is_server, b.data, b.len);
        run(&r);
        const wire_mitm_stats *st = wire_mitm_get0_stats(r.m);
        printf("%-32s %4zu bytes  edited %llu  target %s%s%s\n", seeds[i].name, b.len,
               (unsigned long long)(st->edited[0] + st->edited[1]),
               tlsrig_conn_get_protocol_version_name(r.conn[END_TARGET].conn),
               r.conn[END_TARGET].failed ? ", failed: " : ", ok", r.why[END_TARGET]);
        close_run(&r);
        wire_buf_cleanup(&b);
    }
    return (int)n;
}

int fz_mitm_tool_main(int target_is_server, int argc, char **argv)
{
    if (argc != 3)
        return -1;
    if (strcmp(argv[1], "--gen-seeds") == 0) {
        fz_mitm_initialize(target_is_server);
        int n = gen_seeds(target_is_server, argv[2]);
        if (n >= 0)
            printf("%d seeds in %s\n", n, argv[2]);
        return n < 0 ? 1 : 0;
    }
    if (strcmp(argv[1], "--print-scn") != 0)
        return -1;
    FILE *in = fopen(argv[2], "rb");
    if (in == NULL) {
        perror(argv[2]);
        return 1;
    }
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    fz_mitm_initialize(target_is_server);
    fz_mitm_run_input(target_is_server, buf, n, stdout);
    return 0;
}
