/*
 * test_pcapng.c - pcapng_write on the traffic of real TLS 1.3 connections (engine
 * connections, through the wire, as the interpreter records them).
 *
 * Two connections between engine peers, moved by the wire, give the chunks and the key
 * log. The capture is then checked twice over: by a small reader here (block framing and
 * padding, the key log in the DSB ahead of the packets, IPv4 and TCP checksums, sequence and
 * acknowledgement numbers, the byte streams reassembled back into the chunks), and, when
 * tshark is installed, by tshark itself: it must decrypt the Finished messages and the
 * application data with nothing but the embedded secrets, and report no bad checksum, no
 * malformed packet and no TCP analysis problem. Without tshark those tests are skipped.
 *
 * The test PKI comes from scripts/gen-pki.sh ($TLSRIG_PKI, default pki). Set
 * TLSRIG_KEEP_PCAPNG to a path to keep a copy of the capture for a look in Wireshark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pcapng.h"
#include "tlsrig.h"
#include "wire.h"

#define HELLO "hello tlsrig"
#define REPLY "hello client"
#define BULK_LEN 40000 /* several segments and more than one delayed ACK */
/* A well-formed key log line (the secrets match no traffic). */
#define KEYLOG_LINE                                                                                \
    "CLIENT_TRAFFIC_SECRET_0 "                                                                     \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "                            \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* ---- traffic from real TLS connections ---- */

typedef struct traffic {
    rig_chunk *chunks;
    size_t n;
    char *keylog;
    size_t keylog_len;
} traffic;

static void traffic_free(traffic *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->chunks[i].data);
    free(t->chunks);
    free(t->keylog);
    memset(t, 0, sizeof(*t));
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL)
        fail_msg("out of memory");
    return q;
}

static void keylog_cb(tlsrig_conn *conn, const char *line, void *arg)
{
    traffic *t = arg;
    size_t len = strlen(line);
    (void)conn;
    t->keylog = xrealloc(t->keylog, t->keylog_len + len + 2);
    memcpy(t->keylog + t->keylog_len, line, len);
    t->keylog_len += len;
    t->keylog[t->keylog_len++] = '\n';
    t->keylog[t->keylog_len] = '\0';
}

/* The pump's observer: every chunk that crosses the wire, as the interpreter records it. */
typedef struct recorder {
    traffic *t;
    int conn;
} recorder;

static int record_chunk(void *arg, int from, const uint8_t *data, size_t len)
{
    recorder *r = arg;
    traffic *t = r->t;
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    t->chunks = xrealloc(t->chunks, (t->n + 1) * sizeof(*t->chunks));
    t->chunks[t->n].from_server = from == WIRE_SERVER;
    t->chunks[t->n].conn = r->conn;
    t->chunks[t->n].data = copy;
    t->chunks[t->n].len = len;
    t->n++;
    return 0;
}

static const char *pki(const char *file)
{
    static char bufs[4][512];
    static int next;
    const char *dir = getenv("TLSRIG_PKI");
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir != NULL && dir[0] != '\0' ? dir : "pki", file);
    return b;
}

static void ok(tlsrig_ctx *ctx, int rc, const char *what)
{
    if (rc < 0)
        fail_msg("%s failed: %s (the committed test PKI is pki/; or set TLSRIG_PKI)", what,
                 tlsrig_ctx_last_error(ctx)->message);
}

/* read_exact reads |len| bytes from |conn|; they must already have crossed the wire. */
static void read_exact(tlsrig_conn *conn, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        int r = tlsrig_conn_recv(conn, buf + got, len - got, 0);
        if (r <= 0)
            fail_msg("recv: %s: %s", tlsrig_err_name(r), tlsrig_conn_last_error(conn)->message);
        got += (size_t)r;
    }
}

/* session runs one TLS 1.3 connection numbered |conn| through the wire: handshake, the
 * client's HELLO, the server's REPLY and |bulk| bytes from the server, then close_notify both
 * ways. */
static void session(traffic *t, tlsrig_ctx *cctx, tlsrig_ctx *sctx, int conn, size_t bulk)
{
    tlsrig_conn *c = NULL, *s = NULL;
    uint8_t buf[64];
    uint8_t *big;

    assert_int_equal(tlsrig_conn_new(cctx, -1, &c), 0);
    assert_int_equal(tlsrig_conn_new(sctx, -1, &s), 0);
    tlsrig_conn_set_connect_state(c);
    tlsrig_conn_set_accept_state(s);
    wire_engine ce, se;
    wire_engine_init(&ce, c, "client");
    wire_engine_init(&se, s, "server");
    recorder rec = {t, conn};
    wire_pump_opts opt = {.observe = record_chunk, .observe_arg = &rec};
    wire_pump pump;
    wire_pump_init(&pump, &ce.ep, &se.ep, &opt);

    if (wire_pump_handshake(&pump) != WIRE_DRIVE_DONE)
        fail_msg("handshake did not complete: %s / %s", ce.last_msg, se.last_msg);
    assert_int_equal(tlsrig_conn_get_protocol_version(c), TLS1_3_VERSION);

    assert_int_equal(tlsrig_conn_sendall(c, HELLO, strlen(HELLO), 0), (int)strlen(HELLO));
    assert_true(wire_pump_flush(&pump) > 0);
    read_exact(s, buf, strlen(HELLO));
    assert_memory_equal(buf, HELLO, strlen(HELLO));

    assert_int_equal(tlsrig_conn_sendall(s, REPLY, strlen(REPLY), 0), (int)strlen(REPLY));
    big = malloc(bulk + 1);
    assert_non_null(big);
    for (size_t i = 0; i < bulk; i++)
        big[i] = (uint8_t)('a' + i % 26);
    if (bulk > 0)
        assert_int_equal(tlsrig_conn_sendall(s, big, bulk, 0), (int)bulk);
    assert_true(wire_pump_flush(&pump) > 0);
    read_exact(c, buf, strlen(REPLY));
    assert_memory_equal(buf, REPLY, strlen(REPLY));
    if (bulk > 0) {
        uint8_t *got = malloc(bulk);
        assert_non_null(got);
        read_exact(c, got, bulk);
        assert_memory_equal(got, big, bulk);
        free(got);
    }
    free(big);

    /* close_notify both ways: the server reads the client's before answering it. */
    assert_int_equal(tlsrig_conn_shutdown(c), 0);
    assert_true(wire_pump_flush(&pump) > 0);
    assert_int_equal(tlsrig_conn_recv(s, buf, 1, 0), TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(tlsrig_conn_shutdown(s), 1);
    assert_true(wire_pump_flush(&pump) > 0);
    assert_int_equal(tlsrig_conn_shutdown(c), 1);

    wire_pump_cleanup(&pump);
    wire_engine_cleanup(&ce);
    wire_engine_cleanup(&se);
    tlsrig_conn_free(c);
    tlsrig_conn_free(s);
}

/* make_traffic: connection 0 carries HELLO/REPLY, connection 1 the same plus BULK_LEN bytes
 * from the server. */
static void make_traffic(traffic *t)
{
    tlsrig_ctx *cctx = NULL, *sctx = NULL;
    memset(t, 0, sizeof(*t));
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_CLIENT_METHOD, &cctx, NULL), 0);
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_SERVER_METHOD, &sctx, NULL), 0);
    ok(sctx, tlsrig_ctx_use_certificate_chain_file(sctx, pki("server-p256.chain.pem")),
       "loading server-p256.chain.pem");
    ok(sctx, tlsrig_ctx_use_privatekey_file(sctx, pki("server-p256.key"), TLSRIG_FILETYPE_PEM),
       "loading server-p256.key");
    ok(cctx, tlsrig_ctx_load_verify_locations(cctx, pki("root-ca.crt"), NULL),
       "loading root-ca.crt");
    ok(cctx, tlsrig_ctx_set_verify(cctx, TLSRIG_VERIFY_PEER, NULL, NULL), "set_verify");
    ok(cctx, tlsrig_ctx_set_min_proto_version(cctx, TLSRIG_VERSION_TLS1_3), "min version");
    ok(sctx, tlsrig_ctx_set_min_proto_version(sctx, TLSRIG_VERSION_TLS1_3), "min version");
    /* Only the client logs: its lines name every secret of the connection. */
    tlsrig_ctx_set_keylog_callback(cctx, keylog_cb, t);

    session(t, cctx, sctx, 0, 0);
    session(t, cctx, sctx, 1, BULK_LEN);

    tlsrig_ctx_free(cctx);
    tlsrig_ctx_free(sctx);
    assert_true(t->keylog_len > 0);
}

/* ---- a scratch directory per test ---- */

typedef struct fixture {
    char dir[64];
    char path[128];
    traffic t;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tlsrig-pcapng-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/run.pcapng", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    DIR *d = opendir(fx->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char p[512];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", fx->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    traffic_free(&fx->t);
    free(fx);
    return 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        fail_msg("cannot open %s", path);
    for (;;) {
        size_t r;
        if (n == cap) {
            cap = cap == 0 ? 65536 : cap * 2;
            buf = xrealloc(buf, cap);
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void write_capture(fixture *fx)
{
    char err[512] = "";
    const char *keep = getenv("TLSRIG_KEEP_PCAPNG");
    make_traffic(&fx->t);
    if (pcapng_write(fx->path, fx->t.chunks, fx->t.n, fx->t.keylog, fx->t.keylog_len, err,
                     sizeof(err)) != 0)
        fail_msg("pcapng_write: %s", err);
    assert_string_equal(err, "");
    if (keep != NULL && keep[0] != '\0') {
        char err2[512];
        if (pcapng_write(keep, fx->t.chunks, fx->t.n, fx->t.keylog, fx->t.keylog_len, err2,
                         sizeof(err2)) != 0)
            fail_msg("pcapng_write %s: %s", keep, err2);
    }
}

/* ---- an independent reader for the capture ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Ones' complement sum; a header with a correct checksum sums to 0xFFFF. */
static uint32_t csum(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 2)
        acc += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return acc;
}

/* One direction of one connection as the reader rebuilds it. */
typedef struct flow {
    int seen_syn, seen_fin;
    uint32_t next_seq; /* next sequence number expected from this side */
    uint8_t *data;
    size_t len;
} flow;

#define MAX_TEST_CONNS 4

typedef struct parsed {
    size_t packets;
    int dsb_seen;
    flow flows[MAX_TEST_CONNS][2];
} parsed;

static void parsed_free(parsed *p)
{
    for (int c = 0; c < MAX_TEST_CONNS; c++)
        for (int d = 0; d < 2; d++)
            free(p->flows[c][d].data);
}

static void check_packet(parsed *ps, const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + 14, *tcp;
    size_t ip_len, thl, plen;
    uint8_t pseudo[12];
    int dir, conn;
    uint16_t sport, dport;
    unsigned flags;
    uint32_t seq, ack;
    flow *fl, *peer;

    assert_true(len >= 14 + 20 + 20);
    assert_int_equal(be16(f + 12), 0x0800);
    assert_int_equal(ip[0], 0x45);
    ip_len = be16(ip + 2);
    assert_int_equal(ip_len, len - 14);
    assert_int_equal(ip[9], 6);
    assert_int_equal(csum(0, ip, 20), 0xFFFF);
    tcp = ip + 20;
    thl = (size_t)(tcp[12] >> 4) * 4;
    assert_true(thl >= 20 && 20 + thl <= ip_len);
    plen = ip_len - 20 - thl;
    assert_true(plen <= PCAPNG_MSS);
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    pseudo[10] = (uint8_t)((thl + plen) >> 8);
    pseudo[11] = (uint8_t)(thl + plen);
    assert_int_equal(csum(csum(0, pseudo, 12), tcp, thl + plen), 0xFFFF);

    sport = be16(tcp);
    dport = be16(tcp + 2);
    dir = sport == 443;
    conn = (dir ? dport : sport) - 49152;
    assert_int_equal(dir ? sport : dport, 443);
    assert_true(conn >= 0 && conn < MAX_TEST_CONNS);
    assert_int_equal(ip[15], dir ? 2 : 1); /* 127.0.0.2 is the server */
    assert_int_equal(ip[19], dir ? 1 : 2);
    flags = tcp[13];
    seq = be32(tcp + 4);
    ack = be32(tcp + 8);
    fl = &ps->flows[conn][dir];
    peer = &ps->flows[conn][!dir];

    if (flags & 0x02) { /* SYN */
        assert_false(fl->seen_syn);
        /* The client's SYN opens the connection; the server's answers it. */
        if (dir == 0)
            assert_int_equal(flags, 0x02);
        else
            assert_int_equal(flags, 0x12);
        assert_int_equal(plen, 0);
        fl->seen_syn = 1;
        fl->next_seq = seq + 1;
        if (dir == 1)
            assert_int_equal(ack, peer->next_seq);
        return;
    }
    assert_true(fl->seen_syn && peer->seen_syn);
    /* After its FIN a side only acknowledges (the client's last ACK). */
    if (fl->seen_fin)
        assert_true(plen == 0 && flags == 0x10);
    assert_true(flags & 0x10); /* ACK on everything after the first SYN */
    assert_int_equal(seq, fl->next_seq);
    assert_int_equal(ack, peer->next_seq);
    if (plen > 0) {
        assert_int_equal(flags, 0x18); /* ACK|PSH */
        fl->data = xrealloc(fl->data, fl->len + plen);
        memcpy(fl->data + fl->len, tcp + thl, plen);
        fl->len += plen;
        fl->next_seq += (uint32_t)plen;
    }
    if (flags & 0x01) { /* FIN */
        fl->seen_fin = 1;
        fl->next_seq++;
    }
}

/* parse_capture walks the file block by block (the pcapng "General Block Structure") and returns
 * what the packets carry. */
static void parse_capture(const uint8_t *b, size_t len, const traffic *t, parsed *ps)
{
    size_t off = 0;
    int saw_idb = 0;
    uint64_t last_ts = 0;

    memset(ps, 0, sizeof(*ps));
    while (off < len) {
        uint32_t type, blen;
        assert_true(len - off >= 12);
        type = le32(b + off);
        blen = le32(b + off + 4);
        assert_true(blen >= 12 && blen % 4 == 0 && blen <= len - off);
        assert_int_equal(le32(b + off + blen - 4), blen);
        if (off == 0) {
            assert_int_equal(type, 0x0A0D0D0A);
            assert_int_equal(le32(b + 8), 0x1A2B3C4D);
            assert_int_equal(le16(b + 12), 1);
            assert_int_equal(le16(b + 14), 0);
        } else if (type == 1) {
            assert_false(saw_idb);
            assert_int_equal(le16(b + off + 8), 1); /* LINKTYPE_ETHERNET */
            saw_idb = 1;
        } else if (type == 0x0A) {
            uint32_t slen = le32(b + off + 12);
            assert_int_equal(ps->packets, 0); /* secrets precede every packet */
            assert_int_equal(le32(b + off + 8), 0x544C534B);
            assert_int_equal(slen, t->keylog_len);
            assert_int_equal(blen, 20 + ((slen + 3) & ~3u));
            assert_memory_equal(b + off + 16, t->keylog, slen);
            for (uint32_t i = slen; i % 4 != 0; i++)
                assert_int_equal(b[off + 16 + i], 0);
            ps->dsb_seen = 1;
        } else if (type == 6) {
            uint32_t cap = le32(b + off + 20);
            uint64_t ts = (uint64_t)le32(b + off + 12) << 32 | le32(b + off + 16);
            assert_true(saw_idb);
            assert_int_equal(le32(b + off + 8), 0);
            assert_int_equal(cap, le32(b + off + 24));
            assert_int_equal(blen, 32 + ((cap + 3) & ~3u));
            if (ps->packets == 0)
                assert_true(ts == (uint64_t)PCAPNG_EPOCH_SEC * 1000000u);
            else
                assert_true(ts == last_ts + 1000);
            last_ts = ts;
            check_packet(ps, b + off + 28, cap);
            ps->packets++;
        } else {
            fail_msg("unexpected block type 0x%x at offset %zu", (unsigned)type, off);
        }
        off += blen;
    }
    assert_int_equal(off, len);
}

static void check_streams(const parsed *ps, const traffic *t)
{
    for (int c = 0; c < 2; c++) {
        for (int d = 0; d < 2; d++) {
            const flow *fl = &ps->flows[c][d];
            size_t want_len = 0, at = 0;
            for (size_t i = 0; i < t->n; i++)
                if (t->chunks[i].conn == c && t->chunks[i].from_server == d)
                    want_len += t->chunks[i].len;
            assert_true(fl->seen_syn);
            assert_true(fl->seen_fin);
            assert_int_equal(fl->len, want_len);
            for (size_t i = 0; i < t->n; i++) {
                if (t->chunks[i].conn != c || t->chunks[i].from_server != d ||
                    t->chunks[i].len == 0)
                    continue;
                assert_memory_equal(fl->data + at, t->chunks[i].data, t->chunks[i].len);
                at += t->chunks[i].len;
            }
        }
    }
}

/* ---- tests: structure ---- */

static void capture_structure(void **state)
{
    fixture *fx = *state;
    uint8_t *b;
    size_t len;
    parsed ps;

    write_capture(fx);
    b = slurp(fx->path, &len);
    parse_capture(b, len, &fx->t, &ps);
    assert_true(ps.dsb_seen);
    check_streams(&ps, &fx->t);
    parsed_free(&ps);
    free(b);
    /* Only the capture: the temporary file was renamed, not left beside it. */
    assert_int_equal(count_entries(fx->dir), 1);
}

static void capture_deterministic(void **state)
{
    fixture *fx = *state;
    char second[160], err[256];
    uint8_t *a, *b;
    size_t alen, blen;

    write_capture(fx);
    snprintf(second, sizeof(second), "%s/again.pcapng", fx->dir);
    assert_int_equal(pcapng_write(second, fx->t.chunks, fx->t.n, fx->t.keylog, fx->t.keylog_len,
                                  err, sizeof(err)),
                     0);
    a = slurp(fx->path, &alen);
    b = slurp(second, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    free(a);
    free(b);
}

static void capture_without_keylog(void **state)
{
    fixture *fx = *state;
    char err[256];
    uint8_t *b;
    size_t len;
    parsed ps;
    traffic nokeys;

    make_traffic(&fx->t);
    assert_int_equal(pcapng_write(fx->path, fx->t.chunks, fx->t.n, NULL, 0, err, sizeof(err)), 0);
    b = slurp(fx->path, &len);
    nokeys = fx->t;
    nokeys.keylog = NULL;
    nokeys.keylog_len = 0;
    parse_capture(b, len, &nokeys, &ps);
    assert_false(ps.dsb_seen);
    check_streams(&ps, &fx->t);
    parsed_free(&ps);
    free(b);
}

static void segments_and_edges(void **state)
{
    fixture *fx = *state;
    char err[256];
    uint8_t *big = malloc(3 * PCAPNG_MSS + 1);
    rig_chunk ch[4];
    traffic t;
    uint8_t *b;
    size_t len;
    parsed ps;

    assert_non_null(big);
    for (size_t i = 0; i < 3 * PCAPNG_MSS + 1; i++)
        big[i] = (uint8_t)(i * 7);
    /* A chunk one byte over three full segments, an empty chunk that still opens its
     * connection, and connections whose chunks interleave. */
    ch[0] = (rig_chunk){.from_server = 0, .conn = 0, .data = big, .len = 3 * PCAPNG_MSS + 1};
    ch[1] = (rig_chunk){.from_server = 0, .conn = 1, .data = NULL, .len = 0};
    ch[2] = (rig_chunk){.from_server = 1, .conn = 1, .data = big, .len = 5};
    ch[3] = (rig_chunk){.from_server = 0, .conn = 0, .data = big + 5, .len = 1};
    assert_int_equal(
        pcapng_write(fx->path, ch, 4, KEYLOG_LINE, strlen(KEYLOG_LINE), err, sizeof(err)), 0);
    b = slurp(fx->path, &len);
    memset(&t, 0, sizeof(t));
    t.chunks = ch;
    t.n = 4;
    t.keylog = (char *)KEYLOG_LINE;
    t.keylog_len = strlen(KEYLOG_LINE);
    parse_capture(b, len, &t, &ps);
    check_streams(&ps, &t);
    /* conn 0 opens (3) and sends 4 segments + 1 ACK; the empty chunk opens conn 1 (3); the
     * server's 5 bytes + ACK, then conn 1 closes (3); conn 0's last byte + ACK, and it
     * closes (3). */
    assert_int_equal(ps.packets, 3 + 5 + 2 + 3 + 3 + 2 + 3);
    parsed_free(&ps);
    free(b);
    free(big);
}

static void capture_empty(void **state)
{
    fixture *fx = *state;
    char err[256];
    uint8_t *b;
    size_t len;
    parsed ps;
    traffic t;

    memset(&t, 0, sizeof(t));
    assert_int_equal(pcapng_write(fx->path, NULL, 0, NULL, 0, err, sizeof(err)), 0);
    b = slurp(fx->path, &len);
    parse_capture(b, len, &t, &ps);
    assert_int_equal(ps.packets, 0);
    assert_int_equal(len, 44 + 20); /* SHB with shb_userappl, IDB */
    parsed_free(&ps);
    free(b);
}

/* ---- tests: errors ---- */

static void error_unwritable(void **state)
{
    fixture *fx = *state;
    char err[512], path[200];
    rig_chunk ch = {0, 0, (uint8_t *)"abc", 3};

    /* A missing directory. */
    snprintf(path, sizeof(path), "%s/missing/run.pcapng", fx->dir);
    assert_int_equal(pcapng_write(path, &ch, 1, NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));

    /* A directory in the way: the temporary file is written, the rename fails, and the
     * temporary file is removed. */
    snprintf(path, sizeof(path), "%s/adir", fx->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(pcapng_write(path, &ch, 1, NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "rename"));
    assert_int_equal(count_entries(fx->dir), 1);
    rmdir(path);

    /* A read-only directory (root ignores the mode, so only when it is enforced). */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/ro", fx->dir);
        assert_int_equal(mkdir(path, 0555), 0);
        snprintf(path, sizeof(path), "%s/ro/run.pcapng", fx->dir);
        assert_int_equal(pcapng_write(path, &ch, 1, NULL, 0, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "Permission denied"));
        snprintf(path, sizeof(path), "%s/ro", fx->dir);
        rmdir(path);
    }

    /* Nothing was left behind by the failures. */
    assert_int_equal(count_entries(fx->dir), 0);
}

static void error_arguments(void **state)
{
    fixture *fx = *state;
    char err[512];
    rig_chunk ch = {0, 0, (uint8_t *)"abc", 3};

    assert_int_equal(pcapng_write(NULL, &ch, 1, NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no output path"));
    assert_int_equal(pcapng_write("", &ch, 1, NULL, 0, err, sizeof(err)), -1);

    ch.conn = PCAPNG_MAX_CONN + 1;
    assert_int_equal(pcapng_write(fx->path, &ch, 1, NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chunk 0: connection 16384 is outside 0..16383"));
    ch.conn = -1;
    assert_int_equal(pcapng_write(fx->path, &ch, 1, NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "connection -1"));
    ch.conn = PCAPNG_MAX_CONN; /* the last port, 65535, is fine */
    assert_int_equal(pcapng_write(fx->path, &ch, 1, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(unlink(fx->path), 0);

    ch.conn = 0;
    ch.data = NULL;
    assert_int_equal(pcapng_write(fx->path, &ch, 1, NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "chunk 0: 3 bytes but no data"));
    assert_int_equal(pcapng_write(fx->path, NULL, 2, NULL, 0, err, sizeof(err)), -1);
    assert_int_equal(pcapng_write(fx->path, NULL, 0, NULL, 5, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no key log"));
    /* A key log a reader could not parse is refused, naming the line and why. */
    ch.data = (uint8_t *)"abc";
    static const char badlog[] = "# keys\n" KEYLOG_LINE "\nCLIENT_RANDOM 0011 22\n";
    assert_int_equal(pcapng_write(fx->path, &ch, 1, badlog, strlen(badlog), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key log line 3: CLIENT_RANDOM: the client random is not 64 hex"));
    /* No room for a message is not an error of its own. */
    assert_int_equal(pcapng_write(fx->path, NULL, 2, NULL, 0, NULL, 0), -1);
    /* Nothing was created by the failed calls. */
    assert_int_equal(count_entries(fx->dir), 0);
}

/* ---- tests: tshark ---- */

static int have_tshark(void)
{
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* run captures the standard output of the shell command |cmd|; returns its exit status. */
static int run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int st;
    assert_non_null(p);
    for (;;) {
        size_t r;
        if (cap - n < 4096) {
            cap = cap == 0 ? 65536 : cap * 2;
            buf = xrealloc(buf, cap);
        }
        r = fread(buf + n, 1, cap - n - 1, p);
        n += r;
        if (r == 0)
            break;
    }
    buf[n] = '\0';
    st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* tshark runs tshark on |path| with the extra arguments |args| and returns its output; a
 * non-zero exit fails the test. */
static char *tshark(const char *path, const char *args)
{
    char cmd[1024];
    char *out;
    int st;
    snprintf(cmd, sizeof(cmd), "tshark -n -r '%s' %s 2>/dev/null", path, args);
    st = run(cmd, &out);
    if (st != 0)
        fail_msg("`%s` exited with %d:\n%s", cmd, st, out);
    return out;
}

static void tshark_decrypts(void **state)
{
    fixture *fx = *state;
    char *out;

    if (!have_tshark()) {
        skip();
        return;
    }
    write_capture(fx);

    /* TLS 1.3 encrypts Finished: seeing it proves the DSB secrets were applied. One from
     * each side on each of the two connections. */
    out = tshark(fx->path, "-Y 'tls.handshake.type == 20' -T fields -e tcp.stream");
    if (count_lines(out) != 4)
        fail_msg("expected 4 Finished messages, tshark shows:\n%s", out);
    assert_string_equal(out, "0\n0\n1\n1\n");
    free(out);

    /* The decrypted application data, shown as a data source of its own. */
    out = tshark(fx->path, "-Y 'tls.app_data' -x");
    if (strstr(out, "Decrypted TLS") == NULL || strstr(out, HELLO) == NULL ||
        strstr(out, REPLY) == NULL)
        fail_msg("decrypted application data not found in:\n%.4000s", out);
    free(out);

    /* The same as fields, exactly, per connection. HTTP (tshark's guess for port 443) is
     * turned off so the plaintext goes to the plain data dissector. The bulk transfer spans
     * many segments: all 40000 bytes must come out, so reassembly worked too. */
    out = tshark(fx->path, "--disable-protocol http -Y data -T fields -e tcp.stream -e "
                           "data.data");
    {
        static const char hello_hex[] = "68656c6c6f20746c73726967";
        static const char reply_hex[] = "68656c6c6f20636c69656e74";
        char want[128];
        size_t bulk_hex = 0;
        for (int conn = 0; conn < 2; conn++) {
            snprintf(want, sizeof(want), "%d\t%s\n%d\t%s\n", conn, hello_hex, conn, reply_hex);
            if (strstr(out, want) == NULL)
                fail_msg("expected\n%s\nin:\n%.4000s", want, out);
        }
        for (char *save = NULL, *line = strtok_r(out, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
            if (strncmp(line, "1\t", 2) != 0)
                continue;
            if (strcmp(line + 2, hello_hex) != 0 && strcmp(line + 2, reply_hex) != 0)
                bulk_hex += strlen(line + 2);
        }
        assert_int_equal(bulk_hex, 2 * BULK_LEN);
    }
    free(out);

    /* Handshake messages decoded from the plaintext: EncryptedExtensions (8) and
     * Certificate (11) on both connections. */
    out = tshark(fx->path, "-Y 'tls.handshake.type == 8 || tls.handshake.type == 11' -T "
                           "fields -e tls.handshake.type");
    if (strstr(out, "8") == NULL || strstr(out, "11") == NULL)
        fail_msg("EncryptedExtensions/Certificate not decoded:\n%s", out);
    free(out);

    /* One TCP conversation per connection number, on the ports pcapng.h promises. */
    out = tshark(fx->path, "-q -z conv,tcp");
    if (strstr(out, "127.0.0.1:49152") == NULL || strstr(out, "127.0.0.1:49153") == NULL)
        fail_msg("expected two TCP conversations:\n%s", out);
    free(out);
}

static void tshark_no_errors(void **state)
{
    fixture *fx = *state;
    char *out;

    if (!have_tshark()) {
        skip();
        return;
    }
    write_capture(fx);

    /* Checksum validation is off by default in Wireshark; turn it on. Any bad checksum,
     * malformed packet, expert warning or error, or TCP analysis flag (retransmission,
     * lost segment, window full, ...) must be absent. */
    out =
        tshark(fx->path, "-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "
                         "-Y 'ip.checksum.status != 1 || tcp.checksum.status != 1 || _ws.malformed "
                         "|| _ws.expert.severity >= warning || tcp.analysis.flags' "
                         "-T fields -e frame.number -e _ws.expert.message");
    if (out[0] != '\0')
        fail_msg("tshark reports problems:\n%.4000s", out);
    free(out);

    /* The same through the expert summary. */
    out = tshark(fx->path, "-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -q "
                           "-z expert,warn");
    if (strstr(out, "Errors") != NULL || strstr(out, "Warns") != NULL ||
        strstr(out, "Malformed") != NULL || strstr(out, "checksum") != NULL)
        fail_msg("tshark expert info:\n%.4000s", out);
    free(out);

    /* Every packet really was checked (status 1: good), not merely unverified. */
    out = tshark(fx->path, "-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "
                           "-Y 'ip.checksum.status == 1 && tcp.checksum.status == 1' -T fields "
                           "-e frame.number");
    {
        char *all = tshark(fx->path, "-T fields -e frame.number");
        assert_int_equal(count_lines(out), count_lines(all));
        assert_true(count_lines(all) > 20);
        free(all);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(capture_structure, setup, teardown),
        cmocka_unit_test_setup_teardown(capture_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(capture_without_keylog, setup, teardown),
        cmocka_unit_test_setup_teardown(segments_and_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(capture_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(error_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(error_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(tshark_decrypts, setup, teardown),
        cmocka_unit_test_setup_teardown(tshark_no_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
