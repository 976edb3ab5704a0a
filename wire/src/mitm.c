/*
 * mitm.c - the man in the middle: decrypt each side's records with its own secrets, hand
 * every message to an edit function, re-protect what goes on with the receiver's keys.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "internal.h"

enum {
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_END_OF_EARLY_DATA = 5,
    HS_ENCRYPTED_EXTENSIONS = 8,
    HS_HELLO_REQUEST = 0,
    HS_NEW_SESSION_TICKET = 4,
    HS_CERTIFICATE_VERIFY = 15,
    HS_CLIENT_KEY_EXCHANGE = 16,
    HS_MESSAGE_HASH = 254,
    HS_FINISHED = 20,
    HS_KEY_UPDATE = 24,
    EXT_ENCRYPT_THEN_MAC = 22,
    EXT_EARLY_DATA = 42,
    EXT_SUPPORTED_VERSIONS = 43,
    MAX_EPOCHS = 64,
    TLS13 = 0x0304,
};

/* RFC 8446 §4.1.3: the ServerHello random that makes it a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* Where one key epoch's keys come from. */
typedef struct epoch {
    int tls13;
    wire_keylog_label label; /* TLS 1.3: the secret */
    int updates;             /* TLS 1.3: KeyUpdates on top of it */
    uint8_t cr[32], sr[32];  /* TLS <= 1.2: the hello randoms of its handshake */
    const wire_suite *suite;
    uint16_t version;
    int etm;
    int basis_edited; /* an edit touched what its secret is derived from: the sides' differ */
} epoch;

/* How a unit goes out: its content type, the record version (unprotected records, TLS <=
 * 1.2), the largest record, extra padding (0: as usual). */
typedef struct shape {
    uint8_t type;
    uint16_t version;
    size_t fragment;
    size_t padding;
} shape;

/* A unit of output waiting for the receiver's keys. */
typedef struct held_unit {
    shape sh;
    int epoch;
    wire_buf data;
} held_unit;

/* One direction: records from one side. */
typedef struct direction {
    epoch epochs[MAX_EPOCHS];
    int cur;                /* the sender's current epoch; 0 is the clear */
    wire_keys rd, wr;       /* decrypt (sender's secrets), protect (receiver's) */
    int rd_epoch, wr_epoch; /* the epoch each holds keys for; -1 none */
    /* TLS 1.3: the receiver's key updates follow the KeyUpdates delivered to it, which an
     * edit may drop or add, not those the sender sent (RFC 8446 §4.6.3) */
    wire_keylog_label wr_label; /* the secret the delivered KeyUpdates count under */
    int wr_updates;             /* KeyUpdates delivered under it */
    int wr_loaded_updates;      /* ... that |wr| holds keys for */
    int label_known;            /* TLS 1.3: cur's label is a handshake one (for Finished) */
    wire_hs_reader hs;          /* handshake messages, reassembled */
    wire_buf pend;              /* handshake bytes for the current output record */
    int pend_epoch;
    uint16_t pend_version;
    held_unit *held; /* output waiting, in order */
    size_t n_held, cap_held;
} direction;

struct wire_mitm {
    direction d[2];
    wire_keylog kl[2];
    uint8_t cr[32], sr[32];
    const wire_suite *suite;
    uint16_t version; /* negotiated; 0 before the ServerHello */
    int etm;
    int early_offered, early_accepted;
    int diverged; /* an edit changed a handshake message: the transcripts differ */
    int hs_edits; /* handshake messages edited in the current handshake */
    int sh_edits, sfin_edits, cke_edits; /* ... up to its ServerHello, server Finished, CKE */
    int cke_seen;           /* TLS <= 1.2: the current handshake's ClientKeyExchange passed */
    int fixup;              /* recompute each Finished over what its receiver saw */
    wire_buf transcript[2]; /* the handshake messages each side sent and received */
    EVP_PKEY *signer[2];    /* each side's private key, for CertificateVerify under fix-up */
    tlsrig_conn *conn[2];   /* each side's engine connection, when the driver told (borrowed) */
    int after_hrr[2];       /* the last message in a side's transcript was a HelloRetryRequest */
    wire_mitm_edit_fn edit;
    void *edit_arg;
    int in_edit; /* an edit function runs for a unit from |edit_from| */
    int edit_from;
    wire_buf *edit_out; /* where units sent from inside an edit go */
    wire_mitm_stats stats;
};

int wire_mitm_new(wire_mitm **out)
{
    wire_mitm *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return TLSRIG_ERR_NOMEM;
    for (int i = 0; i < 2; i++)
        m->d[i].rd_epoch = m->d[i].wr_epoch = -1;
    *out = m;
    return 0;
}

void wire_mitm_free(wire_mitm *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        direction *d = &m->d[i];
        wire_keys_cleanup(&d->rd);
        wire_keys_cleanup(&d->wr);
        wire_hs_reader_cleanup(&d->hs);
        wire_buf_cleanup(&d->pend);
        for (size_t k = 0; k < d->n_held; k++)
            wire_buf_cleanup(&d->held[k].data);
        free(d->held);
        wire_keylog_cleanup(&m->kl[i]);
        wire_buf_cleanup(&m->transcript[i]);
        EVP_PKEY_free(m->signer[i]);
    }
    free(m);
}

void wire_mitm_set_edit(wire_mitm *m, wire_mitm_edit_fn fn, void *arg)
{
    m->edit = fn;
    m->edit_arg = arg;
}

void wire_mitm_set_fixup(wire_mitm *m, int on)
{
    m->fixup = on;
}

void wire_mitm_set0_conn(wire_mitm *m, int side, tlsrig_conn *conn)
{
    m->conn[side != 0] = conn;
}

int wire_mitm_set1_signer(wire_mitm *m, int side, EVP_PKEY *key)
{
    side = side != 0;
    if (key != NULL && !EVP_PKEY_up_ref(key))
        return TLSRIG_ERR_SSL;
    EVP_PKEY_free(m->signer[side]);
    m->signer[side] = key;
    return 0;
}

int wire_mitm_keylog(wire_mitm *m, int side, const char *line, size_t len)
{
    long n = wire_keylog_add_text(&m->kl[side != 0], line, len, NULL, NULL, 0);
    return n < 0 ? (int)n : 0;
}

const wire_mitm_stats *wire_mitm_get0_stats(const wire_mitm *m)
{
    return &m->stats;
}

/* ---- keys ---- */

/* TLS <= 1.2: OpenSSL logs a master secret only as it writes its own Finished, after it has
 * read the peer's; a connection the middle was told of gives it as soon as it has one. Adds
 * it to |side|'s key log; 0, or -1 when there is none yet. */
static int master_from_conn(wire_mitm *m, int side, const uint8_t cr[32])
{
    tlsrig_conn *conn = m->conn[side];
    if (conn == NULL)
        return -1;
    SSL *ssl = tlsrig_conn_get0_ssl(conn);
    wire_keylog_entry e = {.label = WIRE_KEYLOG_CLIENT_RANDOM, .secret_len = 48};
    SSL_SESSION *sess = SSL_get_session(ssl);
    if (SSL_get_client_random(ssl, e.client_random, 32) != 32 ||
        memcmp(e.client_random, cr, 32) != 0 || sess == NULL ||
        SSL_SESSION_get_master_key(sess, e.secret, 48) != 48)
        return -1;
    char line[256];
    int n = wire_keylog_format(&e, line, sizeof(line));
    return n > 0 && wire_keylog_add_text(&m->kl[side], line, (size_t)n, NULL, NULL, 0) == 1 ? 0
                                                                                            : -1;
}

/* Keys for |e| from the secrets |side| logged: 0, or -1 when the secret is not (yet) known. */
static int keys_from(wire_mitm *m, wire_keys *k, const epoch *e, int side, int from)
{
    const wire_keylog *kl = &m->kl[side];
    const uint8_t *cr = m->cr;
    if (e->suite == NULL)
        return -1;
    if (e->tls13) {
        const wire_keylog_entry *s = wire_keylog_find(kl, e->label, cr);
        if (s == NULL || wire_keys_tls13(k, e->suite, s->secret, s->secret_len) < 0)
            return -1;
        for (int i = 0; i < e->updates; i++)
            if (wire_keys_tls13_update(k) < 0)
                return -1;
        return 0;
    }
    const wire_keylog_entry *ms = wire_keylog_find(kl, WIRE_KEYLOG_CLIENT_RANDOM, e->cr);
    if (ms == NULL && master_from_conn(m, side, e->cr) == 0)
        ms = wire_keylog_find(kl, WIRE_KEYLOG_CLIENT_RANDOM, e->cr);
    if (ms == NULL || ms->secret_len != 48)
        return -1;
    wire_keys both[2] = {{0}, {0}};
    int rc = wire_keys_tls12(&both[WIRE_CLIENT], &both[WIRE_SERVER], e->suite, e->version, e->etm,
                             ms->secret, e->cr, e->sr);
    if (rc == 0) {
        *k = both[from];
        memset(&both[from], 0, sizeof(both[from]));
    }
    wire_keys_cleanup(&both[0]);
    wire_keys_cleanup(&both[1]);
    return rc < 0 ? -1 : 0;
}

/* The sender's keys for its epoch |e|, loaded on first use. */
static int rd_keys(wire_mitm *m, int from, int e)
{
    direction *d = &m->d[from];
    if (d->rd_epoch == e)
        return 0;
    wire_keys_cleanup(&d->rd);
    d->rd_epoch = -1;
    if (keys_from(m, &d->rd, &d->epochs[e], from, from) < 0)
        return -1;
    d->rd_epoch = e;
    return 0;
}

/* The receiver's keys for the sender's epoch |e|: from the receiver's own secrets, or the
 * sender's while no edit touched what the secret is derived from (RFC 8446 §7.1: the
 * transcript up to the ServerHello for handshake secrets, up to the server Finished for
 * application ones; RFC 5246 §8.1, RFC 7627 §4: up to the ClientKeyExchange): both sides then
 * derived the same. (OpenSSL logs a TLS 1.2 master secret only as it writes its own Finished,
 * after it read the peer's, so waiting for it would stall.) */
static int wr_keys(wire_mitm *m, int from, int e)
{
    direction *d = &m->d[from];
    epoch spec = d->epochs[e];
    if (spec.tls13) {
        if (spec.label != d->wr_label) {
            d->wr_label = spec.label;
            d->wr_updates = 0;
        }
        spec.updates = d->wr_updates;
    }
    if (d->wr_epoch != -1 && (spec.tls13 ? d->epochs[d->wr_epoch].label == spec.label &&
                                               d->wr_loaded_updates == spec.updates
                                         : d->wr_epoch == e))
        return 0;
    wire_keys_cleanup(&d->wr);
    d->wr_epoch = -1;
    if (keys_from(m, &d->wr, &spec, !from, from) < 0 &&
        (spec.basis_edited || keys_from(m, &d->wr, &spec, from, from) < 0))
        return -1;
    d->wr_epoch = e;
    d->wr_loaded_updates = spec.updates;
    return 0;
}

/* KeyUpdate messages in |data| (whole handshake messages). */
static int key_updates(const uint8_t *data, size_t len)
{
    int n = 0;
    for (size_t off = 0; len - off >= WIRE_HS_HEADER;) {
        size_t m = WIRE_HS_HEADER + wire__u24(data + off + 1);
        if (m > len - off)
            break;
        n += data[off] == HS_KEY_UPDATE;
        off += m;
    }
    return n;
}

/* 0-RTT records are protected under the resumed session's suite, which nothing in the clear
 * names (the ServerHello comes later): of the TLS 1.3 suites whose hash fits the logged early
 * secret, take the one that opens the first early record. */
static void early_suite(wire_mitm *m, int from, int e, const uint8_t *rec, size_t len)
{
    static const uint16_t ids[] = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305};
    epoch *ep = &m->d[from].epochs[e];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const wire_suite *s = wire_suite_by_id(ids[i]);
        if (s == NULL)
            continue;
        wire_keys k = {0};
        wire_buf plain = {0};
        uint8_t type;
        ep->suite = s;
        int ok = keys_from(m, &k, ep, from, from) == 0 &&
                 wire_unprotect(&k, rec, len, &plain, &type, NULL) >= 0;
        wire_keys_cleanup(&k);
        wire_buf_cleanup(&plain);
        if (ok)
            return;
    }
    ep->suite = NULL;
}

/* ---- output ---- */

static int protected_type(const epoch *e, int e_index, uint8_t type)
{
    /* TLS 1.3 never protects ChangeCipherSpec (RFC 8446 §5). */
    return e_index > 0 && !(e->tls13 && type == WIRE_CT_CHANGE_CIPHER_SPEC);
}

/* Messages that count in the transcript of the handshake (RFC 8446 §4.4.1; RFC 5246 §7.4.9):
 * not HelloRequest, and not TLS 1.3's post-handshake NewSessionTicket and KeyUpdate (TLS
 * 1.2's NewSessionTicket is part of the handshake, RFC 5077 §3.3). */
static int in_transcript(const wire_mitm *m, uint8_t hs_type)
{
    if (hs_type == HS_HELLO_REQUEST)
        return 0;
    return m->version != TLS13 || (hs_type != HS_NEW_SESSION_TICKET && hs_type != HS_KEY_UPDATE);
}

/* RFC 8446 §4.4.1: after a HelloRetryRequest the first ClientHello counts as a synthetic
 * message_hash message carrying its hash (in the hash of the HelloRetryRequest's suite). */
static int hrr_rewrite(wire_buf *t, const uint8_t *hrr, size_t len)
{
    /* legacy_version(2) random(32) legacy_session_id_echo<1> cipher_suite(2) */
    const uint8_t *b = hrr + WIRE_HS_HEADER;
    if (len < WIRE_HS_HEADER + 35 || len < WIRE_HS_HEADER + 35 + (size_t)b[34] + 2)
        return 0;
    const wire_suite *s = wire_suite_by_id(wire__u16(b + 35 + b[34]));
    uint8_t msg[WIRE_HS_HEADER + EVP_MAX_MD_SIZE];
    size_t hlen = 0;
    if (s == NULL || !EVP_Q_digest(NULL, s->hash, NULL, t->data != NULL ? t->data : msg, t->len,
                                   msg + WIRE_HS_HEADER, &hlen))
        return 0; /* a suite it does not know: the Finished will not match, as it would not */
    msg[0] = HS_MESSAGE_HASH, msg[1] = 0, msg[2] = 0, msg[3] = (uint8_t)hlen;
    t->len = 0;
    return wire_buf_append(t, msg, WIRE_HS_HEADER + hlen);
}

static int add_transcript(wire_mitm *m, int side, const uint8_t *msg, size_t len)
{
    wire_buf *t = &m->transcript[side];
    int hrr = msg[0] == HS_SERVER_HELLO && len >= WIRE_HS_HEADER + 34 &&
              memcmp(msg + WIRE_HS_HEADER + 2, hrr_random, 32) == 0;
    if (msg[0] == HS_CLIENT_HELLO && !m->after_hrr[side])
        t->len = 0; /* a new handshake (a renegotiation) starts over */
    m->after_hrr[side] = hrr;
    if (!in_transcript(m, msg[0]))
        return 0;
    if (hrr) {
        int rc = hrr_rewrite(t, msg, len);
        if (rc < 0)
            return rc;
    }
    return wire_buf_append(t, msg, len);
}

/* The Finished |fin| (header included) that |from| sent, recomputed for its receiver over the
 * receiver's transcript and with the receiver's secrets (RFC 8446 §4.4.4, RFC 5246 §7.4.9).
 * Returns 0, 1 when the receiver has not logged the secret yet, or negative. */
static int fix_finished(wire_mitm *m, int from, uint8_t *fin, size_t len)
{
    int to = !from;
    const wire_suite *s = m->suite;
    const wire_buf *t = &m->transcript[to];
    uint8_t hash[EVP_MAX_MD_SIZE];
    size_t hlen = 0;
    if (s == NULL || m->version == 0)
        return 0;
    const char *md = m->version >= 0x0303 ? s->hash : "MD5-SHA1";
    if (!EVP_Q_digest(NULL, md, NULL, t->data != NULL ? t->data : (const uint8_t *)"", t->len, hash,
                      &hlen))
        return TLSRIG_ERR_SSL;
    if (m->version == TLS13) {
        wire_keylog_label l = from == WIRE_SERVER ? WIRE_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET
                                                  : WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET;
        const wire_keylog_entry *e = wire_keylog_find(&m->kl[to], l, m->cr);
        if (e == NULL)
            return 1;
        if (len != WIRE_HS_HEADER + s->hash_len)
            return 0; /* an edited length: leave it as the edit made it */
        return wire_finished_tls13(s, e->secret, e->secret_len, hash, fin + WIRE_HS_HEADER);
    }
    const wire_keylog_entry *e = wire_keylog_find(&m->kl[to], WIRE_KEYLOG_CLIENT_RANDOM, m->cr);
    if (e == NULL)
        return 1;
    if (len != WIRE_HS_HEADER + 12)
        return 0;
    return wire_finished_tls12(s, m->version, e->secret, from == WIRE_SERVER, hash, hlen,
                               fin + WIRE_HS_HEADER);
}

/* RFC 8446 §4.4.3: the signature schemes a CertificateVerify names, as EVP sees them. */
static int scheme_md(uint16_t scheme, const char **md, int *pss)
{
    *pss = 0;
    switch (scheme) {
    case 0x0403: /* ecdsa_secp256r1_sha256 */
    case 0x0401: /* rsa_pkcs1_sha256 */
        *md = "SHA256";
        return 0;
    case 0x0503:
    case 0x0501:
        *md = "SHA384";
        return 0;
    case 0x0603:
    case 0x0601:
        *md = "SHA512";
        return 0;
    case 0x0804: /* rsa_pss_rsae_sha256 */
    case 0x0809: /* rsa_pss_pss_sha256 */
        *md = "SHA256", *pss = 1;
        return 0;
    case 0x0805:
    case 0x080a:
        *md = "SHA384", *pss = 1;
        return 0;
    case 0x0806:
    case 0x080b:
        *md = "SHA512", *pss = 1;
        return 0;
    case 0x0807: /* ed25519 */
    case 0x0808: /* ed448 */
        *md = NULL;
        return 0;
    default:
        return -1;
    }
}

/* A TLS 1.3 CertificateVerify that |from| sent, signed again with its key over the receiver's
 * transcript (RFC 8446 §4.4.3), appended to |out|. Returns 0, 1 when no key is known for
 * |from| or the scheme is not one EVP signs (the message then goes as it is), or negative. */
static int resign(wire_mitm *m, int from, const uint8_t *cv, size_t len, wire_buf *out)
{
    static const char *const context[2] = {"TLS 1.3, client CertificateVerify",
                                           "TLS 1.3, server CertificateVerify"};
    EVP_PKEY *key = m->signer[from];
    const char *md;
    int pss, rc = 1;
    if (key == NULL || len < WIRE_HS_HEADER + 2 ||
        scheme_md(wire__u16(cv + WIRE_HS_HEADER), &md, &pss) < 0)
        return 1;
    uint8_t content[64 + 34 + 1 + EVP_MAX_MD_SIZE], hash[EVP_MAX_MD_SIZE], *sig = NULL;
    size_t hlen = 0, siglen = 0;
    const wire_buf *t = &m->transcript[!from];
    if (!EVP_Q_digest(NULL, m->suite->hash, NULL, t->data != NULL ? t->data : (const uint8_t *)"",
                      t->len, hash, &hlen))
        return TLSRIG_ERR_SSL;
    memset(content, 0x20, 64);
    size_t clen = strlen(context[from]);
    memcpy(content + 64, context[from], clen + 1); /* with its zero byte */
    memcpy(content + 64 + clen + 1, hash, hlen);
    clen = 64 + clen + 1 + hlen;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (ctx == NULL || EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, key, NULL) != 1 ||
        (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
        EVP_DigestSign(ctx, NULL, &siglen, content, clen) != 1 || (sig = malloc(siglen)) == NULL ||
        EVP_DigestSign(ctx, sig, &siglen, content, clen) != 1) {
        rc = TLSRIG_ERR_SSL;
        goto cleanup;
    }
    uint8_t head[4] = {cv[WIRE_HS_HEADER], cv[WIRE_HS_HEADER + 1], (uint8_t)(siglen >> 8),
                       (uint8_t)siglen};
    wire_buf body = {0};
    rc = wire_buf_append(&body, head, sizeof(head));
    if (rc == 0)
        rc = wire_buf_append(&body, sig, siglen);
    if (rc == 0)
        rc = wire_hs_write(out, cv[0], body.data, body.len);
    wire_buf_cleanup(&body);
cleanup:
    free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Handshake messages on their way to the receiver, one after the other into |fixed|: with
 * fix-up on and the handshake edited, a TLS 1.3 CertificateVerify is signed again when the
 * sender's key is known and each Finished is recomputed for the receiver; each message joins
 * the receiver's transcript as it goes (a later one's signature or Finished covers the earlier
 * ones). Returns 0, 1 (wait for the receiver's secrets; the transcript is as it was), or
 * negative. */
static int deliver_handshake(wire_mitm *m, int from, const uint8_t *data, size_t len,
                             wire_buf *fixed)
{
    wire_buf *t = &m->transcript[!from];
    size_t t_before = t->len, off = 0;
    int rc = 0;
    while (rc == 0 && off < len) {
        size_t n = len - off >= WIRE_HS_HEADER ? WIRE_HS_HEADER + wire__u24(data + off + 1) : 0;
        if (n == 0 || n > len - off)
            n = len - off; /* not a whole message: as it is */
        size_t at = fixed->len;
        int fix = m->fixup && m->diverged && n > WIRE_HS_HEADER;
        if (fix && m->version == TLS13 && data[off] == HS_CERTIFICATE_VERIFY) {
            rc = resign(m, from, data + off, n, fixed);
            if (rc == 1)
                rc = wire_buf_append(fixed, data + off, n);
        } else {
            rc = wire_buf_append(fixed, data + off, n);
            if (rc == 0 && fix && data[off] == HS_FINISHED)
                rc = fix_finished(m, from, fixed->data + at, n);
        }
        if (rc == 0 && fixed->len - at >= WIRE_HS_HEADER)
            rc = add_transcript(m, !from, fixed->data + at, fixed->len - at);
        off += n;
    }
    if (rc != 0)
        t->len = t_before < t->len ? t_before : t->len;
    return rc;
}

/* Write |len| bytes as records of |sh|'s type (at most 2^14 bytes each, or sh->fragment):
 * protected for epoch |e| when it needs it. Returns 0, 1 when the receiver's keys are not
 * known yet, or negative. */
static int write_records(wire_mitm *m, int from, const shape *sh, int e, const uint8_t *data,
                         size_t len, wire_buf *out)
{
    direction *d = &m->d[from];
    int prot = protected_type(&d->epochs[e], e, sh->type);
    if (prot && wr_keys(m, from, e) < 0)
        return 1;
    wire_buf fixed = {0};
    if (sh->type == WIRE_CT_HANDSHAKE) {
        int rc = deliver_handshake(m, from, data, len, &fixed);
        if (rc != 0) {
            wire_buf_cleanup(&fixed);
            return rc;
        }
        data = fixed.data;
        len = fixed.len;
    }
    /* TLS 1.2 AES-GCM/CCM: the sender's explicit nonces, as the last record opened showed
     * them, so that an unchanged record is re-protected to the same bytes */
    if (prot && d->rd_epoch == e)
        d->wr.explicit_base = d->rd.explicit_base;
    /* a version the edit asked for, in the header and (TLS <= 1.2) the MAC's data */
    uint16_t keys_version = d->wr.version;
    if (prot && sh->version != 0 && !d->epochs[e].tls13)
        d->wr.version = sh->version;
    size_t frag = sh->fragment > 0 ? sh->fragment : WIRE_MAX_PLAINTEXT;
    int rc = 0;
    do {
        size_t n = len < frag ? len : frag;
        rc = prot ? wire_protect(&d->wr, sh->type, data, n, sh->padding, out)
                  : wire_record_write(out, sh->type, sh->version, data, n);
        if (rc < 0)
            break;
        if (prot)
            m->stats.reprotected[from]++;
        if (n == 0)
            break; /* an empty unit is one empty record (and |data| may be NULL) */
        data += n;
        len -= n;
    } while (len > 0);
    d->wr.version = keys_version;
    /* the receiver takes new keys after each KeyUpdate it gets (RFC 8446 §4.6.3) */
    if (rc == 0 && prot && d->epochs[e].tls13 && sh->type == WIRE_CT_HANDSHAKE)
        d->wr_updates += key_updates(fixed.data, fixed.len);
    wire_buf_cleanup(&fixed);
    return rc;
}

static int hold(direction *d, const shape *sh, int e, const uint8_t *data, size_t len)
{
    if (d->n_held == d->cap_held) {
        size_t cap = d->cap_held > 0 ? d->cap_held * 2 : 8;
        held_unit *h = realloc(d->held, cap * sizeof(*h));
        if (h == NULL)
            return TLSRIG_ERR_NOMEM;
        d->held = h;
        d->cap_held = cap;
    }
    held_unit *u = &d->held[d->n_held];
    memset(u, 0, sizeof(*u));
    u->sh = *sh;
    u->epoch = e;
    if (wire_buf_append(&u->data, data, len) < 0)
        return TLSRIG_ERR_NOMEM;
    d->n_held++;
    return 0;
}

/* Out goes a unit, or into the held queue when anything waits already (order is kept) or
 * its keys are not known yet. */
static int put(wire_mitm *m, int from, const shape *sh, int e, const uint8_t *data, size_t len,
               wire_buf *out)
{
    direction *d = &m->d[from];
    if (d->n_held == 0) {
        int rc = write_records(m, from, sh, e, data, len, out);
        if (rc <= 0)
            return rc;
    }
    return hold(d, sh, e, data, len);
}

/* Release what waited, in order, as far as keys allow. */
static int release(wire_mitm *m, int from, wire_buf *out)
{
    direction *d = &m->d[from];
    size_t i = 0;
    int rc = 0;
    if (d->n_held == 0)
        return 0;
    for (; i < d->n_held; i++) {
        held_unit *u = &d->held[i];
        rc = write_records(m, from, &u->sh, u->epoch, u->data.data, u->data.len, out);
        if (rc != 0)
            break;
        wire_buf_cleanup(&u->data);
    }
    memmove(d->held, d->held + i, (d->n_held - i) * sizeof(*d->held));
    d->n_held -= i;
    return rc < 0 ? rc : 0;
}

static int flush_pend(wire_mitm *m, int from, wire_buf *out)
{
    direction *d = &m->d[from];
    if (d->pend.len == 0)
        return 0;
    shape sh = {WIRE_CT_HANDSHAKE, d->pend_version, 0, 0};
    int rc = put(m, from, &sh, d->pend_epoch, d->pend.data, d->pend.len, out);
    d->pend.len = 0;
    return rc;
}

/* One unit out: handshake messages of one epoch share a record, as they came, unless an edit
 * shaped the unit's records itself. */
static int emit(wire_mitm *m, int from, const shape *sh, const uint8_t *data, size_t len,
                wire_buf *out)
{
    direction *d = &m->d[from];
    if (sh->type == WIRE_CT_HANDSHAKE && sh->fragment == 0 && sh->padding == 0) {
        if (d->pend.len > 0 && (d->pend_epoch != d->cur || d->pend_version != sh->version)) {
            int rc = flush_pend(m, from, out);
            if (rc < 0)
                return rc;
        }
        d->pend_epoch = d->cur;
        d->pend_version = sh->version;
        /* Messages share a record as they came: a KeyUpdate an edit adds to a record keeps
         * company there, which a receiver must refuse (RFC 8446 §5.1), as a test may want. */
        return wire_buf_append(&d->pend, data, len);
    }
    int rc = flush_pend(m, from, out);
    if (rc < 0)
        return rc;
    return put(m, from, sh, d->cur, data, len, out);
}

/* ---- following the handshake ---- */

/* The extensions block of a hello-like body, after |fixed| bytes: 0 and its bounds, or -1. */
static int find_ext(const uint8_t *p, size_t len, uint16_t want, const uint8_t **val, size_t *vlen)
{
    if (len < 2)
        return -1;
    size_t total = wire__u16(p);
    p += 2;
    len -= 2;
    if (total < len)
        len = total;
    while (len >= 4) {
        uint16_t type = wire__u16(p);
        size_t n = wire__u16(p + 2);
        if (n > len - 4)
            return -1;
        if (type == want) {
            *val = p + 4;
            *vlen = n;
            return 0;
        }
        p += 4 + n;
        len -= 4 + n;
    }
    return -1;
}

/* Skips a vector with an |lb|-byte length at *p; -1 when it does not fit. */
static int skip_vec(const uint8_t **p, size_t *len, int lb)
{
    if (*len < (size_t)lb)
        return -1;
    size_t n = lb == 1 ? (*p)[0] : wire__u16(*p);
    if (*len - (size_t)lb < n)
        return -1;
    *p += (size_t)lb + n;
    *len -= (size_t)lb + n;
    return 0;
}

static void new_epoch(wire_mitm *m, int side, wire_keylog_label label, int tls13, int edits)
{
    direction *d = &m->d[side];
    if (d->cur + 1 >= MAX_EPOCHS)
        return; /* past this many key changes the middle stops following (records pass) */
    epoch *e = &d->epochs[d->cur + 1];
    memset(e, 0, sizeof(*e));
    e->tls13 = tls13;
    e->label = label;
    e->suite = m->suite;
    e->version = m->version;
    e->etm = m->etm;
    memcpy(e->cr, m->cr, 32);
    memcpy(e->sr, m->sr, 32);
    e->basis_edited = edits > 0;
    d->cur++;
    d->label_known = tls13 && (label == WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET ||
                               label == WIRE_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET);
}

static void client_hello(wire_mitm *m, const uint8_t *b, size_t len)
{
    if (len < 34)
        return;
    memcpy(m->cr, b + 2, 32);
    const uint8_t *p = b + 34, *v;
    size_t n = len - 34, vl;
    if (skip_vec(&p, &n, 1) < 0 || skip_vec(&p, &n, 2) < 0 || skip_vec(&p, &n, 1) < 0)
        return;
    if (m->version == 0 && find_ext(p, n, EXT_EARLY_DATA, &v, &vl) == 0) {
        /* RFC 8446 §4.2.10: 0-RTT records follow the hello under the early secret, in the
         * resumed session's suite (early_suite finds it). */
        m->early_offered = 1;
        new_epoch(m, WIRE_CLIENT, WIRE_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET, 1, m->hs_edits);
    }
}

static void server_hello(wire_mitm *m, const uint8_t *b, size_t len)
{
    if (len < 38)
        return;
    if (memcmp(b + 2, hrr_random, 32) == 0)
        return; /* a HelloRetryRequest changes no keys */
    memcpy(m->sr, b + 2, 32);
    uint16_t version = wire__u16(b);
    const uint8_t *p = b + 34, *v;
    size_t n = len - 34, vl;
    if (skip_vec(&p, &n, 1) < 0 || n < 3)
        return;
    const wire_suite *suite = wire_suite_by_id(wire__u16(p));
    p += 3;
    n -= 3;
    if (find_ext(p, n, EXT_SUPPORTED_VERSIONS, &v, &vl) == 0 && vl == 2)
        version = wire__u16(v);
    int etm = find_ext(p, n, EXT_ENCRYPT_THEN_MAC, &v, &vl) == 0;
    m->version = version;
    m->suite = suite;
    m->etm = etm && suite != NULL && suite->kind == WIRE_SUITE_CBC;
    if (version != TLS13)
        return; /* TLS <= 1.2: keys change at each side's ChangeCipherSpec */
    m->sh_edits = m->hs_edits;
    new_epoch(m, WIRE_SERVER, WIRE_KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET, 1, m->sh_edits);
    if (!m->early_offered)
        new_epoch(m, WIRE_CLIENT, WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, 1, m->sh_edits);
}

/* What a message someone sent means for the keys (RFC 8446 §7.3 and §4.6.3; RFC 5246 §7.1).
 * Called once the message is on its way, so it went out under the old keys. */
static void follow(wire_mitm *m, int from, uint8_t type, const uint8_t *msg, size_t len)
{
    direction *d = &m->d[from];
    if (type == WIRE_CT_CHANGE_CIPHER_SPEC) {
        if (m->version != 0 && m->version != TLS13)
            new_epoch(m, from, WIRE_KEYLOG_CLIENT_RANDOM, 0,
                      m->cke_seen ? m->cke_edits : m->hs_edits);
        return;
    }
    if (type != WIRE_CT_HANDSHAKE || len < WIRE_HS_HEADER)
        return;
    const uint8_t *b = msg + WIRE_HS_HEADER;
    size_t blen = len - WIRE_HS_HEADER;
    switch (msg[0]) {
    case HS_CLIENT_HELLO:
        if (from == WIRE_CLIENT)
            client_hello(m, b, blen);
        break;
    case HS_SERVER_HELLO:
        if (from == WIRE_SERVER)
            server_hello(m, b, blen);
        break;
    case HS_ENCRYPTED_EXTENSIONS: {
        const uint8_t *v;
        size_t vl;
        if (from != WIRE_SERVER || m->version != TLS13 || !m->early_offered)
            break;
        m->early_accepted = find_ext(b, blen, EXT_EARLY_DATA, &v, &vl) == 0;
        if (!m->early_accepted)
            new_epoch(m, WIRE_CLIENT, WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, 1, m->sh_edits);
        break;
    }
    case HS_END_OF_EARLY_DATA:
        if (from == WIRE_CLIENT && m->version == TLS13)
            new_epoch(m, WIRE_CLIENT, WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, 1, m->sh_edits);
        break;
    case HS_FINISHED:
        if (m->version == TLS13 && d->label_known) {
            if (from == WIRE_SERVER)
                m->sfin_edits = m->hs_edits;
            new_epoch(m, from,
                      from == WIRE_SERVER ? WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_0
                                          : WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_0,
                      1, m->sfin_edits);
        }
        break;
    case HS_CLIENT_KEY_EXCHANGE:
        if (from == WIRE_CLIENT && !m->cke_seen) {
            m->cke_seen = 1;
            m->cke_edits = m->hs_edits;
        }
        break;
    case HS_KEY_UPDATE:
        if (m->version == TLS13 && d->cur > 0 && d->cur + 1 < MAX_EPOCHS) {
            d->epochs[d->cur + 1] = d->epochs[d->cur];
            d->epochs[d->cur + 1].updates++;
            d->cur++;
        }
        break;
    default:
        break;
    }
}

/* ---- units ---- */

static int unit(wire_mitm *m, int from, uint8_t type, uint16_t version, int prot, int e,
                const uint8_t *data, size_t len, wire_buf *out)
{
    if (type == WIRE_CT_HANDSHAKE && from == WIRE_CLIENT && len > 0 && data[0] == HS_CLIENT_HELLO &&
        !m->after_hrr[WIRE_CLIENT]) {
        m->hs_edits = m->sh_edits = m->sfin_edits = m->cke_edits = 0; /* a new handshake */
        m->cke_seen = 0;
    }
    /* Without an edit function the unit goes on as it came, uncopied. */
    wire_buf buf = {0};
    int rc = 0, verdict = WIRE_MITM_FORWARD;
    wire_mitm_msg msg = {from, type, prot, e, m->version, &buf, 0, 0, 0, 0};
    const uint8_t *send = data;
    size_t send_len = len;
    if (m->edit != NULL && (rc = wire_buf_append(&buf, data, len)) == 0) {
        m->in_edit = 1;
        m->edit_from = from;
        m->edit_out = out;
        verdict = m->edit(m->edit_arg, m, &msg);
        m->in_edit = 0;
        if (verdict < 0)
            rc = verdict;
        else if (verdict == WIRE_MITM_DROP || buf.len != len ||
                 (len > 0 && memcmp(buf.data, data, len) != 0) || msg.out_type != 0 ||
                 msg.out_version != 0 || msg.out_fragment != 0 || msg.out_padding != 0) {
            m->stats.edited[from]++;
            if (type == WIRE_CT_HANDSHAKE && (len == 0 || in_transcript(m, data[0]) ||
                                              (buf.len > 0 && in_transcript(m, buf.data[0])))) {
                m->diverged = 1;
                m->hs_edits++;
            }
        }
        send = buf.data;
        send_len = buf.len;
    }
    if (rc == 0 && verdict == WIRE_MITM_FORWARD) {
        shape sh = {msg.out_type != 0 ? msg.out_type : type,
                    msg.out_version != 0 ? msg.out_version : version, msg.out_fragment,
                    msg.out_padding};
        rc = emit(m, from, &sh, send, send_len, out);
    }
    /* The sender's keys follow what it sent, whatever was delivered. */
    if (rc == 0) {
        int before = m->d[from].cur;
        if (type == WIRE_CT_HANDSHAKE && len >= WIRE_HS_HEADER)
            rc = add_transcript(m, from, data, len); /* what the sender sent, as it sent it */
        follow(m, from, type, data, len);
        if (rc == 0 && m->d[from].cur != before)
            rc = flush_pend(m, from, out); /* key changes fall on record boundaries */
    }
    wire_buf_cleanup(&buf);
    return rc;
}

int wire_mitm_send(wire_mitm *m, int from, uint8_t type, const void *data, size_t len)
{
    from = from != 0;
    uint16_t version = m->version == 0 || m->version == TLS13 ? 0x0303 : m->version;
    m->stats.edited[from]++;
    if (type == WIRE_CT_HANDSHAKE && (len == 0 || in_transcript(m, ((const uint8_t *)data)[0]))) {
        m->diverged = 1;
        m->hs_edits++;
    }
    shape sh = {type, version, 0, 0};
    if (!(m->in_edit && m->edit_from == from))
        return hold(&m->d[from], &sh, m->d[from].cur, data, len);
    return emit(m, from, &sh, data, len, m->edit_out);
}

/* ---- the filter ---- */

int wire_mitm_filter(void *arg, int from, const uint8_t *rec, size_t len, wire_buf *out)
{
    wire_mitm *m = arg;
    direction *d = &m->d[from];
    if (rec == NULL)
        return release(m, from, out);
    int rc = release(m, from, out);
    if (rc < 0)
        return rc;
    m->stats.records[from]++;
    wire_record r;
    if (wire_record_parse(rec, len, from == WIRE_CLIENT, &r, NULL) != (long)len || r.sslv2)
        return wire_buf_append(out, rec, len); /* an SSLv2 hello: nothing to follow */

    int e = d->cur;
    const epoch *ep = &d->epochs[e];
    int prot = e > 0 && (ep->tls13 ? r.type == WIRE_CT_APPLICATION_DATA : 1);
    wire_buf plain = {0};
    uint8_t type = r.type;
    const uint8_t *content = r.payload;
    size_t clen = r.len;
    if (prot && ep->tls13 && ep->label == WIRE_KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET &&
        d->rd_epoch != e)
        early_suite(m, from, e, rec, len);
    if (prot) {
        if (rd_keys(m, from, e) < 0 || wire_unprotect(&d->rd, rec, len, &plain, &type, NULL) < 0) {
            /* no secret for it, or not ours to open: it goes on as it came */
            m->stats.undecryptable[from]++;
            wire_buf_cleanup(&plain);
            rc = flush_pend(m, from, out);
            return rc < 0 ? rc : wire_buf_append(out, rec, len);
        }
        m->stats.decrypted[from]++;
        content = plain.data;
        clen = plain.len;
    }
    if (type == WIRE_CT_HANDSHAKE) {
        rc = wire_hs_push(&d->hs, content, clen);
        wire_hs_msg msg;
        long n;
        while (rc == 0 && (n = wire_hs_next(&d->hs, &msg, NULL)) > 0)
            rc = unit(m, from, type, r.version, prot, e, msg.body - WIRE_HS_HEADER, (size_t)n, out);
    } else {
        rc = unit(m, from, type, r.version, prot, e, content, clen, out);
    }
    if (rc == 0)
        rc = flush_pend(m, from, out);
    wire_buf_cleanup(&plain);
    return rc;
}
