/*
 * test_protect.c - record protection: keys, records and Finished against the RFC 8448 §3 trace
 * (wire/tests/vectors/rfc8448-1rtt.txt); every suite sealed and opened in every version it
 * runs under; and, for every suite, the records of an engine connection captured through the
 * pump and decrypted offline from the client's key log: handshake messages, Finished,
 * application data, KeyUpdate and close_notify, each record protected again to the same bytes
 * (AEAD) or to a record that opens to the same content (CBC), and broken records refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "wire.h"

/* A file of the source tree: the PKI ($TLSRIG_PKI, or pki/ under the working folder) or, beside
 * it, the test vectors. */
static const char *tree_file(int vectors, const char *file)
{
    static char bufs[4][512];
    static int next;
    const char *dir = getenv("TLSRIG_PKI");
    char *b = bufs[next++ % 4];
    if (dir == NULL || dir[0] == '\0')
        dir = "pki";
    if (vectors)
        snprintf(b, sizeof(bufs[0]), "%s/../wire/tests/vectors/%s", dir, file);
    else
        snprintf(b, sizeof(bufs[0]), "%s/%s", dir, file);
    return b;
}

#define pki(file) tree_file(0, file)
#define vector_file(file) tree_file(1, file)

/* Compare bytes, printing both sides in hex when they differ. */
static void check_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                        size_t want_len)
{
    if (got_len == want_len && memcmp(got, want, got_len) == 0)
        return;
    char *g = OPENSSL_buf2hexstr(got, (long)got_len), *w = OPENSSL_buf2hexstr(want, (long)want_len);
    print_error("%s: expected %zu bytes %.200s\n%*s got %zu bytes %.200s\n", what, want_len,
                w != NULL ? w : "", (int)strlen(what), "", got_len, g != NULL ? g : "");
    OPENSSL_free(g);
    OPENSSL_free(w);
    fail();
}

/* ---- the vectors file: "<name> <hex>" lines, '#' comments ---- */

typedef struct vec {
    char name[48];
    uint8_t *data;
    long len;
} vec;

typedef struct vecs {
    vec v[48];
    size_t n;
} vecs;

static void vecs_load(vecs *vs, const char *path)
{
    memset(vs, 0, sizeof(*vs));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (set TLSRIG_PKI to the source tree's pki/)", path);
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL) {
        char name[48], hex[sizeof(line)];
        if (line[0] == '#' || sscanf(line, "%47s %4095s", name, hex) != 2)
            continue;
        assert_true(vs->n < sizeof(vs->v) / sizeof(vs->v[0]));
        vec *v = &vs->v[vs->n++];
        snprintf(v->name, sizeof(v->name), "%s", name);
        v->data = OPENSSL_hexstr2buf(hex, &v->len);
        if (v->data == NULL)
            fail_msg("%s: %s is not hex", path, name);
    }
    fclose(f);
}

static const vec *vget(const vecs *vs, const char *name)
{
    for (size_t i = 0; i < vs->n; i++)
        if (strcmp(vs->v[i].name, name) == 0)
            return &vs->v[i];
    fail_msg("the vectors have no %s", name);
    return NULL;
}

static void vecs_free(vecs *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        OPENSSL_free(vs->v[i].data);
    memset(vs, 0, sizeof(*vs));
}

static int setup_rfc8448(void **state)
{
    vecs *vs = malloc(sizeof(*vs));
    assert_non_null(vs);
    vecs_load(vs, vector_file("rfc8448-1rtt.txt"));
    *state = vs;
    return 0;
}

static int teardown_rfc8448(void **state)
{
    vecs_free(*state);
    free(*state);
    return 0;
}

/* ---- breaking a record: every failure leaves the keys as they were ---- */

static void expect_refused(const char *what, const wire_keys *k, const uint8_t *rec, size_t len,
                           int want_alert)
{
    wire_keys copy = *k;
    wire_buf out = {0};
    uint8_t type = 0;
    int alert = -1;
    long n = wire_unprotect(&copy, rec, len, &out, &type, &alert);
    if (n != TLSRIG_ERR_SSL || alert != want_alert)
        fail_msg("%s: expected TLSRIG_ERR_SSL (%d) with alert %d, got %ld with alert %d", what,
                 TLSRIG_ERR_SSL, want_alert, n, alert);
    assert_int_equal(out.len, 0);
    assert_int_equal(copy.seq, k->seq);
    check_bytes(what, copy.iv, sizeof(copy.iv), k->iv, sizeof(k->iv));
    wire_buf_cleanup(&out);
    wire_keys_cleanup(&copy);
}

/* A flipped ciphertext bit, a flipped tag (or MAC) bit, a wrong sequence number and a truncated
 * record give bad_record_mac; a header whose length disagrees gives decode_error. */
static void expect_broken_records_refused(const wire_keys *k, const uint8_t *rec, size_t len)
{
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    size_t clen = len - WIRE_RECORD_HEADER;

    memcpy(bad, rec, len);
    bad[WIRE_RECORD_HEADER + clen / 2] ^= 0x10;
    expect_refused("flipped ciphertext bit", k, bad, len, WIRE_ALERT_BAD_RECORD_MAC);

    memcpy(bad, rec, len);
    bad[len - 1] ^= 0x01;
    expect_refused("flipped tag bit", k, bad, len, WIRE_ALERT_BAD_RECORD_MAC);

    wire_keys later = *k;
    later.seq++;
    expect_refused("wrong sequence number", &later, rec, len, WIRE_ALERT_BAD_RECORD_MAC);

    memcpy(bad, rec, len);
    bad[3] = (uint8_t)((clen - 1) >> 8);
    bad[4] = (uint8_t)(clen - 1);
    expect_refused("truncated record", k, bad, len - 1, WIRE_ALERT_BAD_RECORD_MAC);
    expect_refused("header longer than the record", k, rec, len - 1, WIRE_ALERT_DECODE_ERROR);
    free(bad);
}

/* ---- RFC 8448 §3 ---- */

static void rfc8448_traffic_keys(void **state)
{
    const vecs *vs = *state;
    const wire_suite *s = wire_suite_by_id(0x1301);
    assert_non_null(s);
    static const char *const secrets[] = {"server_hs", "client_hs", "client_ap", "server_ap"};
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s_secret", secrets[i]);
        const vec *secret = vget(vs, name);
        wire_keys k = {0};
        assert_int_equal(wire_keys_tls13(&k, s, secret->data, (size_t)secret->len), 0);
        snprintf(name, sizeof(name), "%s_key", secrets[i]);
        check_bytes(name, k.key, s->key_len, vget(vs, name)->data, (size_t)vget(vs, name)->len);
        snprintf(name, sizeof(name), "%s_iv", secrets[i]);
        check_bytes(name, k.iv, s->fixed_iv_len, vget(vs, name)->data, (size_t)vget(vs, name)->len);
        assert_int_equal(k.seq, 0);
        assert_int_equal(k.version, 0x0304);
        wire_keys_cleanup(&k);
    }
    /* wrong suite or length */
    wire_keys k = {0};
    const vec *secret = vget(vs, "server_hs_secret");
    assert_int_equal(wire_keys_tls13(&k, s, secret->data, 48), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_keys_tls13(&k, wire_suite_by_id(0xc02f), secret->data, 32),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(k.suite);
}

/* Open |record| (the |seq|th under |secret|) to |type| and |content|, then seal the content
 * with fresh keys from the same secret: the same bytes. */
static void expect_record(const vecs *vs, const char *secret, uint64_t seq, const char *record,
                          uint8_t want_type, const uint8_t *content, size_t content_len)
{
    const wire_suite *s = wire_suite_by_id(0x1301);
    const vec *sec = vget(vs, secret), *rec = vget(vs, record);
    wire_keys rd = {0}, wr = {0};
    assert_int_equal(wire_keys_tls13(&rd, s, sec->data, (size_t)sec->len), 0);
    assert_int_equal(wire_keys_tls13(&wr, s, sec->data, (size_t)sec->len), 0);
    rd.seq = wr.seq = seq;
    expect_broken_records_refused(&rd, rec->data, (size_t)rec->len);

    wire_buf out = {0};
    uint8_t type = 0;
    int alert = -1;
    assert_int_equal(wire_unprotect(&rd, rec->data, (size_t)rec->len, &out, &type, &alert),
                     (long)content_len);
    assert_int_equal(type, want_type);
    check_bytes(record, out.data, out.len, content, content_len);
    assert_int_equal(rd.seq, seq + 1);

    wire_buf again = {0};
    assert_int_equal(wire_protect(&wr, type, out.data, out.len, 0, &again), 0);
    check_bytes(record, again.data, again.len, rec->data, (size_t)rec->len);
    assert_int_equal(wr.seq, seq + 1);
    wire_buf_cleanup(&out);
    wire_buf_cleanup(&again);
}

static void rfc8448_records(void **state)
{
    const vecs *vs = *state;
    const vec *flight = vget(vs, "server_flight_plaintext"), *app = vget(vs, "app_data");
    const vec *verify = vget(vs, "client_finished_verify_data");
    static const uint8_t close_notify[] = {1, 0};
    uint8_t fin[4 + 32] = {20, 0, 0, 32};
    memcpy(fin + 4, verify->data, 32);

    expect_record(vs, "server_hs_secret", 0, "server_flight_record", WIRE_CT_HANDSHAKE,
                  flight->data, (size_t)flight->len);
    expect_record(vs, "client_hs_secret", 0, "client_finished_record", WIRE_CT_HANDSHAKE, fin,
                  sizeof(fin));
    expect_record(vs, "client_ap_secret", 0, "client_app_record", WIRE_CT_APPLICATION_DATA,
                  app->data, (size_t)app->len);
    expect_record(vs, "client_ap_secret", 1, "client_alert_record", WIRE_CT_ALERT, close_notify, 2);
    /* the server's first application record is its NewSessionTicket: these are the 2nd, 3rd */
    expect_record(vs, "server_ap_secret", 1, "server_app_record", WIRE_CT_APPLICATION_DATA,
                  app->data, (size_t)app->len);
    expect_record(vs, "server_ap_secret", 2, "server_alert_record", WIRE_CT_ALERT, close_notify, 2);
}

static void rfc8448_finished(void **state)
{
    const vecs *vs = *state;
    const wire_suite *s = wire_suite_by_id(0x1301);
    const vec *flight = vget(vs, "server_flight_plaintext");
    const vec *ch = vget(vs, "client_hello"), *sh = vget(vs, "server_hello");
    size_t before_fin = (size_t)flight->len - 36; /* the flight ends with the server Finished */
    uint8_t hash[64], verify[64];
    size_t hlen = 0;
    wire_transcript t = {0};
    assert_int_equal(wire_transcript_init(&t, "SHA256"), 0);
    assert_int_equal(wire_transcript_add(&t, ch->data, (size_t)ch->len), 0);
    assert_int_equal(wire_transcript_add(&t, sh->data, (size_t)sh->len), 0);
    assert_int_equal(wire_transcript_add(&t, flight->data, before_fin), 0);

    /* the server Finished, over ClientHello .. CertificateVerify */
    assert_int_equal(wire_transcript_hash(&t, hash, &hlen), 0);
    assert_int_equal(hlen, 32);
    const vec *shs = vget(vs, "server_hs_secret");
    assert_int_equal(wire_finished_tls13(s, shs->data, (size_t)shs->len, hash, verify), 0);
    check_bytes("server Finished", verify, 32, flight->data + before_fin + 4, 32);

    /* the client Finished, over ClientHello .. server Finished (the hash runs on) */
    assert_int_equal(wire_transcript_add(&t, flight->data + before_fin, 36), 0);
    assert_int_equal(wire_transcript_hash(&t, hash, &hlen), 0);
    const vec *want_hash = vget(vs, "client_finished_transcript_hash");
    check_bytes("transcript hash", hash, hlen, want_hash->data, (size_t)want_hash->len);
    const vec *chs = vget(vs, "client_hs_secret");
    assert_int_equal(wire_finished_tls13(s, chs->data, (size_t)chs->len, hash, verify), 0);
    const vec *want = vget(vs, "client_finished_verify_data");
    check_bytes("client Finished", verify, 32, want->data, (size_t)want->len);
    wire_transcript_cleanup(&t);
    wire_transcript_cleanup(&t); /* the zero value again */

    assert_int_equal(wire_transcript_init(&t, "NO-SUCH-HASH"), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_transcript_add(&t, "x", 1), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_finished_tls13(wire_suite_by_id(0xc02f), chs->data, 32, hash, verify),
                     TLSRIG_ERR_INVALID_ARGUMENT);
}

/* Lengths a receiver refuses before decrypting, and an inner plaintext of zeros only. */
static void rfc8448_bad_lengths(void **state)
{
    const vecs *vs = *state;
    const wire_suite *s = wire_suite_by_id(0x1301);
    const vec *sec = vget(vs, "client_ap_secret");
    wire_keys k = {0};
    assert_int_equal(wire_keys_tls13(&k, s, sec->data, (size_t)sec->len), 0);

    static uint8_t big[WIRE_RECORD_HEADER + WIRE_MAX_PLAINTEXT + 257];
    size_t clen = sizeof(big) - WIRE_RECORD_HEADER;
    big[0] = WIRE_CT_APPLICATION_DATA;
    big[1] = big[2] = 3;
    big[3] = (uint8_t)(clen >> 8);
    big[4] = (uint8_t)clen;
    expect_refused("2^14 + 257 bytes of ciphertext", &k, big, sizeof(big),
                   WIRE_ALERT_RECORD_OVERFLOW);
    uint8_t tiny[WIRE_RECORD_HEADER + 16] = {23, 3, 3, 0, 16};
    expect_refused("no room for the inner type", &k, tiny, sizeof(tiny), WIRE_ALERT_BAD_RECORD_MAC);
    expect_refused("no header", &k, tiny, 3, WIRE_ALERT_DECODE_ERROR);

    /* a plaintext past 2^14 + 1 bytes decrypts, but is refused */
    static uint8_t content[WIRE_MAX_PLAINTEXT + 1];
    wire_keys wr = k;
    wire_buf rec = {0};
    assert_int_equal(wire_protect(&wr, WIRE_CT_APPLICATION_DATA, content, sizeof(content), 0, &rec),
                     0);
    expect_refused("2^14 + 1 bytes of content", &k, rec.data, rec.len, WIRE_ALERT_RECORD_OVERFLOW);
    /* an inner plaintext of zeros only has no type (RFC 8446 §5.4) */
    rec.len = 0;
    wr = k;
    assert_int_equal(wire_protect(&wr, 0, NULL, 0, 10, &rec), 0);
    expect_refused("zeros only", &k, rec.data, rec.len, WIRE_ALERT_UNEXPECTED_MESSAGE);
    wire_buf_cleanup(&rec);

    /* nothing to protect with */
    wire_keys none = {0};
    wire_buf out = {0};
    uint8_t type;
    assert_int_equal(wire_protect(&none, 23, "x", 1, 0, &out), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(wire_unprotect(&none, tiny, sizeof(tiny), &out, &type, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    wire_keys_cleanup(&none);
    wire_keys_cleanup(&k);
}

/* ---- every suite of the table, sealed and opened in every version it runs under ---- */

/* One byte of content with two extra blocks of padding: the last two blocks are padding only,
 * so garbling them leaves the content and its MAC intact (MAC-then-encrypt) and only the
 * padding check can refuse the record (RFC 5246 §6.2.3.2); encrypt-then-MAC refuses it by its
 * MAC. */
static void expect_bad_padding_refused(wire_keys *wr, const wire_keys *rd)
{
    const wire_suite *s = wr->suite;
    size_t bs = s->block_len, riv = wr->version >= 0x0302 ? s->record_iv_len : 0;
    wire_buf rec = {0};
    assert_int_equal(wire_protect(wr, WIRE_CT_APPLICATION_DATA, "x", 1, 2 * bs, &rec), 0);
    size_t plen = rec.len - WIRE_RECORD_HEADER - riv - (wr->encrypt_then_mac ? s->mac_len : 0);
    assert_true(plen >= 1 + (wr->encrypt_then_mac ? 0 : s->mac_len) + 2 * bs);
    /* a bit of the second-to-last block: the last block's byte 5 flips, the one before garbles */
    rec.data[WIRE_RECORD_HEADER + riv + plen - 2 * bs + 5] ^= 0x01;
    expect_refused("bad CBC padding", rd, rec.data, rec.len, WIRE_ALERT_BAD_RECORD_MAC);
    wire_buf_cleanup(&rec);
}

static void roundtrip(const wire_suite *s, uint16_t version, int etm)
{
    static const uint8_t master[48] = {1, 2, 3}, cr[32] = {4}, sr[32] = {5};
    static const uint8_t secret[48] = {6, 7, 8};
    static uint8_t big[WIRE_MAX_PLAINTEXT];
    static const size_t lens[] = {0, 1, 15, 16, 17, 100, sizeof(big)};
    wire_keys wr = {0}, rd = {0}, other = {0};
    if (s->tls13) {
        assert_int_equal(wire_keys_tls13(&wr, s, secret, s->hash_len), 0);
        assert_int_equal(wire_keys_tls13(&rd, s, secret, s->hash_len), 0);
    } else {
        assert_int_equal(wire_keys_tls12(&wr, &other, s, version, etm, master, cr, sr), 0);
        assert_int_equal(wire_keys_tls12(&rd, NULL, s, version, etm, master, cr, sr), 0);
    }
    for (size_t round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            for (size_t j = 0; j < lens[i]; j++)
                big[j] = (uint8_t)(j * 7 + i);
            /* TLS 1.3 pads with zeros; CBC takes whole extra blocks */
            size_t padding = s->tls13 && lens[i] < sizeof(big)           ? i
                             : s->kind == WIRE_SUITE_CBC && lens[i] == 1 ? 32
                                                                         : 0;
            wire_buf rec = {0}, out = {0};
            uint8_t type = 0;
            assert_int_equal(
                wire_protect(&wr, WIRE_CT_APPLICATION_DATA, big, lens[i], padding, &rec), 0);
            wire_record r;
            assert_int_equal(wire_record_parse(rec.data, rec.len, 0, &r, NULL), (long)rec.len);
            assert_int_equal(r.version, s->tls13 ? 0x0303 : version);
            if (lens[i] == 100)
                expect_broken_records_refused(&rd, rec.data, rec.len);
            assert_int_equal(wire_unprotect(&rd, rec.data, rec.len, &out, &type, NULL),
                             (long)lens[i]);
            assert_int_equal(type, WIRE_CT_APPLICATION_DATA);
            check_bytes(s->name, out.data, out.len, big, lens[i]);
            /* the other direction's keys are not these */
            if (!s->tls13 && lens[i] == 100) {
                wire_keys copy = other;
                copy.seq = rd.seq - 1;
                expect_refused("the other direction's keys", &copy, rec.data, rec.len,
                               WIRE_ALERT_BAD_RECORD_MAC);
            }
            wire_buf_cleanup(&rec);
            wire_buf_cleanup(&out);
        }
        if (s->tls13) { /* both sides move on together */
            assert_int_equal(wire_keys_tls13_update(&wr), 0);
            assert_int_equal(wire_keys_tls13_update(&rd), 0);
            assert_int_equal(wr.seq, 0);
            assert_memory_not_equal(wr.secret, secret, s->hash_len);
        }
    }
    wire_buf rec = {0};
    if (s->kind == WIRE_SUITE_CBC)
        expect_bad_padding_refused(&wr, &rd);
    if (!s->tls13 && s->kind == WIRE_SUITE_AEAD)
        assert_int_equal(wire_protect(&wr, 23, "x", 1, 1, &rec), TLSRIG_ERR_INVALID_ARGUMENT);
    if (s->kind == WIRE_SUITE_CBC) {
        assert_int_equal(wire_protect(&wr, 23, "x", 1, 3, &rec), TLSRIG_ERR_INVALID_ARGUMENT);
        assert_int_equal(wire_protect(&wr, 23, "x", 1, 256, &rec), TLSRIG_ERR_INVALID_ARGUMENT);
    }
    assert_int_equal(rec.len, 0);
    wire_keys_cleanup(&wr);
    wire_keys_cleanup(&rd);
    wire_keys_cleanup(&other);
}

static void every_suite_roundtrips(void **state)
{
    size_t n = 0;
    for (size_t i = 0; wire_suite_at(i) != NULL; i++) {
        const wire_suite *s = wire_suite_by_id(wire_suite_at(i)->id);
        assert_non_null(s); /* OpenSSL 3.0 has every cipher of the table */
        assert_ptr_equal(wire_suite_by_name(s->name), s);
        if (s->tls13) {
            roundtrip(s, 0x0304, 0);
        } else if (s->kind == WIRE_SUITE_AEAD) {
            roundtrip(s, 0x0303, 0);
            assert_int_equal(wire_keys_tls12(NULL, NULL, s, 0x0302, 0, (uint8_t[48]){0},
                                             (uint8_t[32]){0}, (uint8_t[32]){0}),
                             TLSRIG_ERR_INVALID_ARGUMENT);
        } else {
            for (uint16_t v = 0x0301; v <= 0x0303; v++) {
                roundtrip(s, v, 0);
                roundtrip(s, v, 1);
            }
        }
        n++;
    }
    assert_true(n >= 30);
    assert_null(wire_suite_by_id(0x0000));
    assert_null(wire_suite_by_name("TLS_NULL_WITH_NULL_NULL"));
}

/* The same calls give the same bytes, explicit CBC IVs included. */
static void protection_is_deterministic(void **state)
{
    static const uint8_t master[48] = {9}, cr[32] = {1}, sr[32] = {2};
    const wire_suite *s = wire_suite_by_id(0xc013);
    wire_buf a = {0}, b = {0};
    for (int run = 0; run < 2; run++) {
        wire_keys k = {0};
        assert_int_equal(wire_keys_tls12(&k, NULL, s, 0x0303, 0, master, cr, sr), 0);
        for (int i = 0; i < 3; i++)
            assert_int_equal(wire_protect(&k, 23, "same", 4, 0, run == 0 ? &a : &b), 0);
        wire_keys_cleanup(&k);
    }
    check_bytes("the same records", b.data, b.len, a.data, a.len);
    /* and two records of the same content differ (their IVs do) */
    size_t one = a.len / 3;
    assert_memory_not_equal(a.data + WIRE_RECORD_HEADER, a.data + one + WIRE_RECORD_HEADER, 16);
    wire_buf_cleanup(&a);
    wire_buf_cleanup(&b);
}

/* ---- engine connections, captured and decrypted offline ---- */

/* A suite as the engine is told to use it. |cipher| is OpenSSL's name for a TLS <= 1.2 suite
 * (TLS 1.3 suites go by their IANA name); |cert| names the server's key in pki/. */
typedef struct suite_case {
    const char *name;
    int version;
    const char *cipher;
    const char *cert;
    int no_etm;
} suite_case;

#define V13 TLSRIG_VERSION_TLS1_3
#define V12 TLSRIG_VERSION_TLS1_2
#define V11 TLSRIG_VERSION_TLS1_1
#define V10 TLSRIG_VERSION_TLS1
#define EC "server-p256"
#define RSA "server-rsa"

static const suite_case cases[] = {
    {"TLS_AES_128_GCM_SHA256", V13, NULL, EC, 0},
    {"TLS_AES_256_GCM_SHA384", V13, NULL, EC, 0},
    {"TLS_CHACHA20_POLY1305_SHA256", V13, NULL, RSA, 0},
    {"TLS_AES_128_CCM_SHA256", V13, NULL, EC, 0},
    {"TLS_AES_128_CCM_8_SHA256", V13, NULL, EC, 0},

    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", V12, "ECDHE-ECDSA-AES128-GCM-SHA256", EC, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", V12, "ECDHE-ECDSA-AES256-GCM-SHA384", EC, 0},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", V12, "ECDHE-RSA-AES128-GCM-SHA256", RSA, 0},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", V12, "ECDHE-RSA-AES256-GCM-SHA384", RSA, 0},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", V12, "ECDHE-ECDSA-CHACHA20-POLY1305", EC, 0},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", V12, "ECDHE-RSA-CHACHA20-POLY1305", RSA, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CCM", V12, "ECDHE-ECDSA-AES128-CCM", EC, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", V12, "ECDHE-ECDSA-AES128-CCM8", EC, 0},
    {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", V12, "DHE-RSA-AES128-GCM-SHA256", RSA, 0},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", V12, "AES256-GCM-SHA384", RSA, 0},

    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", V12, "ECDHE-ECDSA-AES128-SHA", EC, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", V12, "ECDHE-ECDSA-AES256-SHA", EC, 1},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", V12, "ECDHE-RSA-AES128-SHA", RSA, 1},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", V12, "ECDHE-RSA-AES256-SHA", RSA, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", V12, "ECDHE-ECDSA-AES128-SHA256", EC, 0},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", V12, "ECDHE-RSA-AES128-SHA256", RSA, 1},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", V12, "ECDHE-ECDSA-AES256-SHA384", EC, 1},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", V12, "ECDHE-RSA-AES256-SHA384", RSA, 0},
    {"TLS_DHE_RSA_WITH_AES_128_CBC_SHA", V12, "DHE-RSA-AES128-SHA", RSA, 0},
    {"TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", V12, "DHE-RSA-AES256-SHA256", RSA, 1},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", V12, "AES128-SHA", RSA, 1},
    {"TLS_RSA_WITH_AES_256_CBC_SHA256", V12, "AES256-SHA256", RSA, 0},

    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", V11, "ECDHE-RSA-AES128-SHA", RSA, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", V11, "ECDHE-ECDSA-AES256-SHA", EC, 1},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", V10, "ECDHE-RSA-AES256-SHA", RSA, 0},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", V10, "ECDHE-ECDSA-AES128-SHA", EC, 1},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", V10, "AES128-SHA", RSA, 1},
};

/* What crossed, in order: each side's bytes, the chunks as the pump delivered them, the client's
 * key log, and what each side sent as application data. */
typedef struct chunk {
    int from;
    size_t off, len;
} chunk;

typedef struct capture {
    wire_buf stream[2];
    chunk *chunks;
    size_t nchunks, cap;
    wire_keylog keylog;
    int keylog_errors;
    wire_buf sent[2];
    uint8_t updated[2][64]; /* each side's traffic secret after its KeyUpdate, when logged */
    size_t updated_len[2];
} capture;

static int on_chunk(void *arg, int from, const uint8_t *data, size_t len)
{
    capture *c = arg;
    if (c->nchunks == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        chunk *more = realloc(c->chunks, cap * sizeof(*more));
        if (more == NULL)
            return TLSRIG_ERR_NOMEM;
        c->chunks = more;
        c->cap = cap;
    }
    c->chunks[c->nchunks++] = (chunk){from, c->stream[from].len, len};
    return wire_buf_append(&c->stream[from], data, len);
}

static void on_keylog(tlsrig_conn *conn, const char *line, void *arg)
{
    capture *c = arg;
    char why[128] = "";
    if (wire_keylog_add_text(&c->keylog, line, strlen(line), NULL, why, sizeof(why)) == 1)
        return;
    /* RSA key exchange: the pre-master secret by its encryption's first bytes (the
     * CLIENT_RANDOM line that follows is the one needed) */
    if (strncmp(line, "RSA ", 4) == 0)
        return;
    /* The linked OpenSSL also logs the secrets a KeyUpdate moves to, under labels the key log
     * parser does not take: keep them to check wire_keys_tls13_update against. */
    static const char *const updated[2] = {"CLIENT_TRAFFIC_SECRET_N ", "SERVER_TRAFFIC_SECRET_N "};
    for (int from = 0; from < 2; from++) {
        size_t n = strlen(updated[from]);
        const char *secret = strrchr(line, ' ');
        if (strncmp(line, updated[from], n) != 0 || secret == NULL)
            continue;
        long len = 0;
        uint8_t *b = OPENSSL_hexstr2buf(secret + 1, &len);
        if (b != NULL && len > 0 && (size_t)len <= sizeof(c->updated[from])) {
            memcpy(c->updated[from], b, (size_t)len);
            c->updated_len[from] = (size_t)len;
        }
        OPENSSL_free(b);
        if (c->updated_len[from] > 0)
            return;
    }
    print_error("key log line '%s': %s\n", line, why);
    c->keylog_errors++;
}

static void capture_cleanup(capture *c)
{
    for (int i = 0; i < 2; i++) {
        wire_buf_cleanup(&c->stream[i]);
        wire_buf_cleanup(&c->sent[i]);
    }
    free(c->chunks);
    wire_keylog_cleanup(&c->keylog);
    memset(c, 0, sizeof(*c));
}

/* Send |len| bytes of a pattern from |from|, move them, and read them all on the other side. */
static void send_across(wire_pump *pump, tlsrig_conn *conn[2], capture *c, int from, size_t len)
{
    uint8_t *data = malloc(len), buf[4096];
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 31 + (size_t)from + c->sent[from].len);
    assert_int_equal(tlsrig_conn_sendall(conn[from], data, len, 0), (int)len);
    assert_int_equal(wire_buf_append(&c->sent[from], data, len), 0);
    assert_true(wire_pump_flush(pump) > 0);
    for (size_t got = 0; got < len;) {
        int n = tlsrig_conn_recv(conn[!from], buf, sizeof(buf), 0);
        if (n <= 0)
            fail_msg("receiving %zu bytes: %s after %zu", len, tlsrig_err_name(n), got);
        assert_memory_equal(buf, data + got, (size_t)n);
        got += (size_t)n;
    }
    free(data);
}

static void setup_ctx(tlsrig_ctx *ctx, const suite_case *sc, capture *c)
{
    char list[128];
    assert_int_equal(tlsrig_ctx_set_min_proto_version(ctx, sc->version), 0);
    assert_int_equal(tlsrig_ctx_set_max_proto_version(ctx, sc->version), 0);
    if (sc->version == V13) {
        assert_int_equal(tlsrig_ctx_set_ciphersuites(ctx, sc->name), 0);
    } else {
        /* TLS 1.0 and 1.1 sign with SHA-1, which only security level 0 allows */
        snprintf(list, sizeof(list), "%s%s", sc->cipher, sc->version < V12 ? ":@SECLEVEL=0" : "");
        assert_int_equal(tlsrig_ctx_set_cipher_list(ctx, list), 0);
    }
    if (sc->no_etm)
        tlsrig_ctx_set_options(ctx, TLSRIG_OP_NO_ENCRYPT_THEN_MAC);
}

/* Run a connection with |sc|'s suite through a pump whose observer keeps every chunk: the
 * handshake, application data both ways, a KeyUpdate each way under TLS 1.3, close_notify
 * both ways. */
static void run_captured(const suite_case *sc, capture *c)
{
    tlsrig_ctx *sctx = NULL, *cctx = NULL;
    tlsrig_conn *conn[2] = {NULL, NULL};
    char chain[64], key[64];
    memset(c, 0, sizeof(*c));
    snprintf(chain, sizeof(chain), "%s.chain.pem", sc->cert);
    snprintf(key, sizeof(key), "%s.key", sc->cert);
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &sctx, NULL), 0);
    assert_int_equal(tlsrig_ctx_use_certificate_chain_file(sctx, pki(chain)), 0);
    assert_int_equal(tlsrig_ctx_use_privatekey_file(sctx, pki(key), TLSRIG_FILETYPE_PEM), 0);
    assert_int_equal(tlsrig_ctx_load_tmp_dh(sctx, pki("dh2048.pem")), 0);
    assert_int_equal(tlsrig_ctx_set_num_tickets(sctx, 1), 0);
    assert_int_equal(tlsrig_ctx_new(TLSRIG_TLS_METHOD, &cctx, NULL), 0);
    assert_int_equal(tlsrig_ctx_load_verify_locations(cctx, pki("root-ca.crt"), NULL), 0);
    assert_int_equal(tlsrig_ctx_set_verify(cctx, TLSRIG_VERIFY_PEER, NULL, NULL), 0);
    setup_ctx(sctx, sc, c);
    setup_ctx(cctx, sc, c);
    tlsrig_ctx_set_keylog_callback(cctx, on_keylog, c);
    assert_int_equal(tlsrig_conn_new(cctx, -1, &conn[WIRE_CLIENT]), 0);
    assert_int_equal(tlsrig_conn_new(sctx, -1, &conn[WIRE_SERVER]), 0);
    tlsrig_conn_set_connect_state(conn[WIRE_CLIENT]);
    tlsrig_conn_set_accept_state(conn[WIRE_SERVER]);
    wire_engine ce, se;
    wire_engine_init(&ce, conn[WIRE_CLIENT], "client");
    wire_engine_init(&se, conn[WIRE_SERVER], "server");
    wire_pump pump;
    wire_pump_opts opt = {.observe = on_chunk, .observe_arg = c};
    wire_pump_init(&pump, &ce.ep, &se.ep, &opt);

    if (wire_pump_handshake(&pump) != WIRE_DRIVE_DONE)
        fail_msg("%s: the handshake failed: %s / %s", sc->name, ce.last_msg, se.last_msg);
    assert_int_equal(tlsrig_conn_get_protocol_version(conn[WIRE_CLIENT]), sc->version);
    send_across(&pump, conn, c, WIRE_CLIENT, 300);
    send_across(&pump, conn, c, WIRE_CLIENT, 20000); /* several records */
    send_across(&pump, conn, c, WIRE_SERVER, 5000);
    if (sc->version == V13) {
        /* the client updates and asks the server to: the server answers with its own before
         * its next write (RFC 8446 §4.6.3) */
        assert_int_equal(tlsrig_conn_key_update(conn[WIRE_CLIENT], 1), 0);
        assert_int_equal(tlsrig_conn_do_handshake(conn[WIRE_CLIENT]), 0);
        assert_true(wire_pump_flush(&pump) > 0);
        wire_pump_drive(&pump, WIRE_SERVER);
        send_across(&pump, conn, c, WIRE_SERVER, 700);
        send_across(&pump, conn, c, WIRE_CLIENT, 900);
    }
    uint8_t none[1];
    assert_int_equal(tlsrig_conn_shutdown(conn[WIRE_CLIENT]), 0);
    assert_true(wire_pump_flush(&pump) > 0);
    assert_int_equal(tlsrig_conn_recv(conn[WIRE_SERVER], none, 1, 0), TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(tlsrig_conn_shutdown(conn[WIRE_SERVER]), 1);
    assert_true(wire_pump_flush(&pump) > 0);
    assert_int_equal(tlsrig_conn_recv(conn[WIRE_CLIENT], none, 1, 0), TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(c->keylog_errors, 0);
    assert_true(c->keylog.n > 0);

    wire_pump_cleanup(&pump);
    wire_endpoint_cleanup(&ce.ep);
    wire_endpoint_cleanup(&se.ep);
    tlsrig_conn_free(conn[WIRE_CLIENT]);
    tlsrig_conn_free(conn[WIRE_SERVER]);
    tlsrig_ctx_free(cctx);
    tlsrig_ctx_free(sctx);
}

/* One direction as read offline: its records, its handshake messages, and three protection
 * states kept in step: |rd| opens the captured records, |wr| protects their contents again,
 * |chk| opens what |wr| made (CBC, whose IVs differ). */
typedef struct side {
    wire_framer framer;
    wire_hs_reader hs;
    wire_keys rd, wr, chk;
    int keyed;   /* records are protected from here on */
    int pending; /* a key change after this record: 1 application keys, 2 KeyUpdate */
    int refused; /* broken records checked */
    wire_buf app;
    uint8_t last_alert[2];
    int alerts;
} side;

typedef struct decoder {
    const suite_case *sc;
    const capture *cap;
    side d[2];
    const wire_suite *suite;
    uint16_t version;
    int etm;
    uint8_t client_random[32], server_random[32];
    wire_buf client_hello;
    wire_transcript tr;
    int tr_closed; /* TLS 1.3: the handshake's transcript ended with the client Finished */
    uint8_t types[32];
    size_t ntypes;
    int finished_checked;
} decoder;

static const uint8_t *secret_of(const decoder *dc, wire_keylog_label label, size_t *len)
{
    const wire_keylog_entry *e = wire_keylog_find(&dc->cap->keylog, label, dc->client_random);
    if (e == NULL)
        fail_msg("%s: the key log has no %s line", dc->sc->name, wire_keylog_label_name(label));
    *len = e->secret_len;
    return e->secret;
}

/* Key |from|'s three states: TLS 1.3 from a traffic secret, TLS <= 1.2 from the key block. */
static void set_keys(decoder *dc, int from, wire_keylog_label label)
{
    side *sd = &dc->d[from];
    size_t len;
    const uint8_t *secret = secret_of(dc, label, &len);
    wire_keys *ks[3] = {&sd->rd, &sd->wr, &sd->chk};
    for (int i = 0; i < 3; i++) {
        if (dc->suite->tls13)
            assert_int_equal(wire_keys_tls13(ks[i], dc->suite, secret, len), 0);
        else
            assert_int_equal(wire_keys_tls12(from == WIRE_CLIENT ? ks[i] : NULL,
                                             from == WIRE_SERVER ? ks[i] : NULL, dc->suite,
                                             dc->version, dc->etm, secret, dc->client_random,
                                             dc->server_random),
                             0);
    }
    sd->keyed = 1;
}

/* The ServerHello: random, suite, version (RFC 8446 §4.2.1 supported_versions),
 * encrypt_then_mac (RFC 7366 §2). */
static void read_server_hello(decoder *dc, const wire_hs_msg *m)
{
    const uint8_t *b = m->body, *end = m->body + m->len;
    assert_true(m->len >= 38);
    dc->version = (uint16_t)(b[0] << 8 | b[1]);
    memcpy(dc->server_random, b + 2, 32);
    const uint8_t *p = b + 35 + b[34];
    uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
    p += 3;
    if (p + 2 <= end)
        p += 2; /* extensions length */
    while (p + 4 <= end) {
        uint16_t type = (uint16_t)(p[0] << 8 | p[1]), len = (uint16_t)(p[2] << 8 | p[3]);
        if (type == 0x002b && len == 2)
            dc->version = (uint16_t)(p[4] << 8 | p[5]);
        if (type == 0x0016)
            dc->etm = 1;
        p += 4 + len;
    }
    dc->suite = wire_suite_by_id(id);
    assert_non_null(dc->suite);
    if (strcmp(dc->suite->name, dc->sc->name) != 0)
        fail_msg("expected %s, the ServerHello chose %s", dc->sc->name, dc->suite->name);
    assert_int_equal(dc->version, dc->sc->version);
    assert_int_equal(dc->etm, dc->suite->kind == WIRE_SUITE_CBC && !dc->sc->no_etm);
    assert_int_equal(
        wire_transcript_init(&dc->tr, dc->version >= 0x0303 ? dc->suite->hash : "MD5-SHA1"), 0);
    assert_int_equal(wire_transcript_add(&dc->tr, dc->client_hello.data, dc->client_hello.len), 0);
    if (dc->suite->tls13) {
        set_keys(dc, WIRE_SERVER, WIRE_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET);
        set_keys(dc, WIRE_CLIENT, WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET);
    }
}

/* A Finished's verify_data, recomputed over our own transcript of the messages before it. */
static void check_finished(decoder *dc, int from, const wire_hs_msg *m)
{
    uint8_t hash[64], want[64];
    size_t hlen = 0;
    assert_int_equal(wire_transcript_hash(&dc->tr, hash, &hlen), 0);
    if (dc->suite->tls13) {
        size_t len;
        const uint8_t *base =
            secret_of(dc,
                      from == WIRE_SERVER ? WIRE_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET
                                          : WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET,
                      &len);
        assert_int_equal(wire_finished_tls13(dc->suite, base, len, hash, want), 0);
        check_bytes("TLS 1.3 Finished", m->body, m->len, want, dc->suite->hash_len);
        dc->d[from].pending = 1;
    } else {
        size_t len;
        const uint8_t *master = secret_of(dc, WIRE_KEYLOG_CLIENT_RANDOM, &len);
        assert_int_equal(wire_finished_tls12(dc->suite, dc->version, master, from == WIRE_SERVER,
                                             hash, hlen, want),
                         0);
        check_bytes("Finished", m->body, m->len, want, 12);
    }
    dc->finished_checked++;
}

static void on_message(decoder *dc, int from, const wire_hs_msg *m, const uint8_t *raw, size_t len)
{
    assert_true(dc->ntypes < sizeof(dc->types));
    dc->types[dc->ntypes++] = m->type;
    if (m->type == 1) {
        assert_true(m->len >= 34);
        memcpy(dc->client_random, m->body + 2, 32);
        assert_int_equal(wire_buf_append(&dc->client_hello, raw, len), 0);
        return;
    }
    if (m->type == 2)
        read_server_hello(dc, m);
    else if (m->type == 20)
        check_finished(dc, from, m);
    else if (m->type == 24) /* KeyUpdate (RFC 8446 §4.6.3): the sender's next record is new */
        dc->d[from].pending = 2;
    if (!dc->tr_closed && m->type != 24 && (m->type != 4 || !dc->suite->tls13))
        assert_int_equal(wire_transcript_add(&dc->tr, raw, len), 0);
    if (dc->suite->tls13 && m->type == 20 && from == WIRE_CLIENT)
        dc->tr_closed = 1; /* later messages are post-handshake */
}

static void on_content(decoder *dc, int from, uint8_t type, const uint8_t *p, size_t len)
{
    side *sd = &dc->d[from];
    switch (type) {
    case WIRE_CT_HANDSHAKE: {
        assert_int_equal(wire_hs_push(&sd->hs, p, len), 0);
        wire_hs_msg m;
        long n;
        while ((n = wire_hs_next(&sd->hs, &m, NULL)) > 0)
            on_message(dc, from, &m, m.body - WIRE_HS_HEADER, (size_t)n);
        assert_true(n == 0);
        break;
    }
    case WIRE_CT_APPLICATION_DATA:
        assert_int_equal(wire_buf_append(&sd->app, p, len), 0);
        break;
    case WIRE_CT_ALERT:
        assert_int_equal(len, 2);
        memcpy(sd->last_alert, p, 2);
        sd->alerts++;
        break;
    default:
        fail_msg("%s: a record of type %u", dc->sc->name, type);
    }
}

/* Open a protected record, protect its content again, and compare. */
static void open_record(decoder *dc, int from, const uint8_t *raw, size_t len)
{
    side *sd = &dc->d[from];
    const wire_suite *s = dc->suite;
    if (sd->refused++ == 0)
        expect_broken_records_refused(&sd->rd, raw, len);
    wire_buf content = {0}, again = {0}, back = {0};
    uint8_t type = 0, type2 = 0;
    int alert = -1;
    uint64_t seq = sd->rd.seq;
    long n = wire_unprotect(&sd->rd, raw, len, &content, &type, &alert);
    if (n < 0)
        fail_msg("%s: %s's record %llu of %zu bytes: %s, alert %d", dc->sc->name,
                 from == WIRE_CLIENT ? "client" : "server", (unsigned long long)seq, len,
                 tlsrig_err_name((int)n), alert);
    /* the sender's explicit nonces (TLS 1.2 AES-GCM/CCM) start where it chose, then count */
    if (sd->wr.seq == 0)
        sd->wr.explicit_base = sd->rd.explicit_base;
    /* TLS 1.3 records keep their padding (none, from OpenSSL) */
    size_t padding = s->tls13 ? len - WIRE_RECORD_HEADER - s->tag_len - (size_t)n - 1 : 0;
    assert_int_equal(wire_protect(&sd->wr, type, content.data, content.len, padding, &again), 0);
    if (s->tls13 || s->kind == WIRE_SUITE_AEAD) {
        check_bytes(s->name, again.data, again.len, raw, len);
    } else {
        assert_int_equal(wire_unprotect(&sd->chk, again.data, again.len, &back, &type2, NULL), n);
        assert_int_equal(type2, type);
        check_bytes(s->name, back.data, back.len, content.data, content.len);
    }
    on_content(dc, from, type, content.data, content.len);
    wire_buf_cleanup(&content);
    wire_buf_cleanup(&again);
    wire_buf_cleanup(&back);
}

/* What a record of |from| does to the keys after it. */
static void after_record(decoder *dc, int from)
{
    side *sd = &dc->d[from];
    if (sd->pending == 1)
        set_keys(dc, from,
                 from == WIRE_SERVER ? WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_0
                                     : WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_0);
    if (sd->pending == 2) {
        assert_int_equal(wire_keys_tls13_update(&sd->rd), 0);
        assert_int_equal(wire_keys_tls13_update(&sd->wr), 0);
        assert_int_equal(wire_keys_tls13_update(&sd->chk), 0);
        if (dc->cap->updated_len[from] > 0)
            check_bytes("the secret after a KeyUpdate", sd->rd.secret, sd->rd.secret_len,
                        dc->cap->updated[from], dc->cap->updated_len[from]);
    }
    sd->pending = 0;
}

static void on_record(decoder *dc, int from, const wire_record *r, const uint8_t *raw, size_t len)
{
    side *sd = &dc->d[from];
    if (r->type == WIRE_CT_CHANGE_CIPHER_SPEC) {
        /* TLS <= 1.2: the sender's next record is protected (RFC 5246 §7.1); TLS 1.3: a
         * middlebox-compatibility record, never protected (RFC 8446 §D.4) */
        if (!dc->suite->tls13)
            set_keys(dc, from, WIRE_KEYLOG_CLIENT_RANDOM);
        return;
    }
    if (sd->keyed && (!dc->suite->tls13 || r->type == WIRE_CT_APPLICATION_DATA))
        open_record(dc, from, raw, len);
    else
        on_content(dc, from, r->type, r->payload, r->len);
    after_record(dc, from);
}

/* Decrypt a capture: the chunks in the order they crossed, each side's records as they become
 * whole. */
static void decrypt_captured(const suite_case *sc, const capture *cap)
{
    decoder dc = {.sc = sc, .cap = cap};
    dc.d[WIRE_CLIENT].framer.allow_sslv2 = 1;
    for (size_t i = 0; i < cap->nchunks; i++) {
        const chunk *ch = &cap->chunks[i];
        side *sd = &dc.d[ch->from];
        assert_int_equal(
            wire_framer_push(&sd->framer, cap->stream[ch->from].data + ch->off, ch->len), 0);
        wire_record r;
        long n;
        while ((n = wire_framer_next(&sd->framer, &r)) > 0) {
            size_t len;
            const uint8_t *raw = wire_framer_raw(&sd->framer, &len);
            on_record(&dc, ch->from, &r, raw, len);
        }
        assert_true(n == 0);
    }

    /* the handshake messages, in the order they crossed */
    static const uint8_t tls13[] = {1, 2, 8, 11, 15, 20, 20, 4, 24, 24};
    static const uint8_t ecdhe[] = {1, 2, 11, 12, 14, 16, 20, 4, 20};
    static const uint8_t rsa[] = {1, 2, 11, 14, 16, 20, 4, 20};
    const uint8_t *want = tls13;
    size_t nwant = sizeof(tls13);
    if (!dc.suite->tls13) {
        int plain_rsa = strncmp(sc->name, "TLS_RSA_", 8) == 0;
        want = plain_rsa ? rsa : ecdhe;
        nwant = plain_rsa ? sizeof(rsa) : sizeof(ecdhe);
    }
    check_bytes("handshake message types", dc.types, dc.ntypes, want, nwant);
    assert_int_equal(dc.finished_checked, 2);
    for (int from = 0; from < 2; from++) {
        side *sd = &dc.d[from];
        check_bytes("application data", sd->app.data, sd->app.len, cap->sent[from].data,
                    cap->sent[from].len);
        /* close_notify, protected, last */
        assert_int_equal(sd->alerts, 1);
        assert_int_equal(sd->last_alert[0], 1);
        assert_int_equal(sd->last_alert[1], 0);
        assert_int_equal(wire_framer_pending(&sd->framer), 0);
        assert_int_equal(wire_hs_pending(&sd->hs), 0);
        assert_true(sd->refused > 0);
        wire_framer_cleanup(&sd->framer);
        wire_hs_reader_cleanup(&sd->hs);
        wire_keys_cleanup(&sd->rd);
        wire_keys_cleanup(&sd->wr);
        wire_keys_cleanup(&sd->chk);
        wire_buf_cleanup(&sd->app);
    }
    wire_buf_cleanup(&dc.client_hello);
    wire_transcript_cleanup(&dc.tr);
}

/* An empty record may come with no buffer at all (NULL, 0): every suite seals and opens it. */
static void empty_records_without_a_buffer(void **state)
{
    static const uint8_t master[48] = {1}, cr[32] = {2}, sr[32] = {3};
    for (size_t i = 0; wire_suite_at(i) != NULL; i++) {
        const wire_suite *s = wire_suite_at(i);
        wire_keys c = {0}, srv = {0}, opener = {0};
        int rc = s->tls13 ? wire_keys_tls13(&c, s, master, s->hash_len)
                          : wire_keys_tls12(&c, &srv, s, 0x0303, 0, master, cr, sr);
        assert_int_equal(rc, 0);
        opener = c;
        wire_buf rec = {0}, plain = {0};
        assert_int_equal(wire_protect(&c, WIRE_CT_APPLICATION_DATA, NULL, 0, 0, &rec), 0);
        uint8_t type = 0;
        assert_int_equal(wire_unprotect(&opener, rec.data, rec.len, &plain, &type, NULL), 0);
        assert_int_equal(type, WIRE_CT_APPLICATION_DATA);
        wire_buf_cleanup(&rec);
        wire_buf_cleanup(&plain);
        wire_keys_cleanup(&c);
        wire_keys_cleanup(&srv);
    }
}

static void engine_records_every_suite(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        capture cap;
        print_message("%s %s%s\n",
                      cases[i].version == V13   ? "TLSv1.3"
                      : cases[i].version == V12 ? "TLSv1.2"
                      : cases[i].version == V11 ? "TLSv1.1"
                                                : "TLSv1.0",
                      cases[i].name, cases[i].no_etm ? " (no encrypt-then-MAC)" : "");
        run_captured(&cases[i], &cap);
        decrypt_captured(&cases[i], &cap);
        capture_cleanup(&cap);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rfc8448_traffic_keys, setup_rfc8448, teardown_rfc8448),
        cmocka_unit_test_setup_teardown(rfc8448_records, setup_rfc8448, teardown_rfc8448),
        cmocka_unit_test_setup_teardown(rfc8448_finished, setup_rfc8448, teardown_rfc8448),
        cmocka_unit_test_setup_teardown(rfc8448_bad_lengths, setup_rfc8448, teardown_rfc8448),
        cmocka_unit_test(every_suite_roundtrips),
        cmocka_unit_test(protection_is_deterministic),
        cmocka_unit_test(empty_records_without_a_buffer),
        cmocka_unit_test(engine_records_every_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
