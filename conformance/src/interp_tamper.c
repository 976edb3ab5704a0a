/*
 * interp_tamper.c - `tamper` rules at run time: armed when their step runs, counted and fired
 * by the man in the middle's edit function (wire.h, wire_mitm) on the decrypted handshake
 * messages of the current connection, applied through the handshake message views
 * (wire_hs_view_*); `inject` units and the Finished fix-up switch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

int rig__tamper_arm(rig_wire *w, const rig_step *st)
{
    if (w->n_rules == w->cap_rules) {
        size_t cap = w->cap_rules > 0 ? w->cap_rules * 2 : 8;
        rig_rule *r = realloc(w->rules, cap * sizeof(*r));
        if (r == NULL)
            return TLSRIG_ERR_NOMEM;
        w->rules = r;
        w->cap_rules = cap;
    }
    w->rules[w->n_rules++] = (rig_rule){st, 0, 0};
    return 0;
}

const rig_rule *rig__tamper_unfired(const rig_wire *w)
{
    for (size_t i = 0; i < w->n_rules; i++)
        if (!w->rules[i].fired)
            return &w->rules[i];
    return NULL;
}

void rig__tamper_fixup(rig_wire *w, int on)
{
    w->fixup = on;
    if (w->mitm != NULL)
        rig__tamper_setup(w);
}

/* The middle's fix-up as the program asked: with `sign`, each side's private key (its
 * connection's) signs a TLS 1.3 CertificateVerify again over what its receiver saw. */
void rig__tamper_setup(rig_wire *w)
{
    wire_mitm_set_fixup(w->mitm, w->fixup != RIG_FIXUP_OFF);
    for (int side = 0; side < 2; side++) {
        tlsrig_conn *c = side == WIRE_SERVER ? w->server.conn : w->client.conn;
        EVP_PKEY *key = w->fixup == RIG_FIXUP_SIGN && c != NULL
                            ? SSL_get_privatekey(tlsrig_conn_get0_ssl(c))
                            : NULL;
        wire_mitm_set1_signer(w->mitm, side, key);
    }
}

static const char *msg_name(int type, char *buf, size_t len)
{
    const char *n = wire_hs_type_name(type);
    if (n != NULL)
        return n;
    snprintf(buf, len, "message type %d", type);
    return buf;
}

/* A new handshake message (|type|, |body|) from |from|, ahead of what is being edited. */
static int send_message(wire_mitm *m, int from, int type, const rig_hex *body)
{
    wire_buf b = {0};
    int rc = wire_hs_write(&b, (uint8_t)type, body->bytes, body->len);
    if (rc == 0)
        rc = wire_mitm_send(m, from, WIRE_CT_HANDSHAKE, b.data, b.len);
    wire_buf_cleanup(&b);
    return rc;
}

/* The field and extension actions, on the message's view, written back into |d|. Returns
 * WIRE_MITM_FORWARD, or -1 with the reason in |why|. */
static int edit_view(wire_mitm_msg *msg, const rig_step *st, char *why, size_t len)
{
    wire_buf *d = msg->data;
    wire_buf out = {0};
    wire_hs_view v;
    char nb[32];
    const char *name = msg_name(d->data[0], nb, sizeof(nb));
    const rig_hex *hex = &st->tamper.hex;
    const char *field = st->tamper.field;
    int ext = st->tamper.ext;
    long rc;

    wire_hs_view_init(&v);
    rc = wire_hs_view_load(&v, d->data[0], d->data + WIRE_HS_HEADER, d->len - WIRE_HS_HEADER,
                           msg->version == 0x0304, NULL);
    if (rc < 0) {
        snprintf(why, len, "out of memory");
        goto done;
    }
    /* RFC 8446 §4.4.2: a TLS 1.3 Certificate carries extensions per entry; an edit of
     * cert_data or of extensions reaches the first entry (the end-entity certificate). */
    wire_hs_fields *f = &v.msg, *entry = NULL;
    if (v.type == WIRE_HS_CERTIFICATE && !v.raw && wire_hs_view_entry_count(&v) > 0)
        entry = wire_hs_view_get0_entry(&v, 0);
    wire_hs_fields *exts = entry != NULL && v.tls13 ? entry : f;
    switch (st->tamper.action) {
    case RIG_TAMPER_SET:
        rc = wire_hs_field_set1(f, field, hex->bytes, hex->len);
        if (rc == TLSRIG_ERR_NOT_AVAILABLE && entry != NULL)
            rc = wire_hs_field_set1(entry, field, hex->bytes, hex->len);
        break;
    case RIG_TAMPER_SET_INT:
        rc = wire_hs_field_set_int(f, field, st->tamper.num);
        break;
    case RIG_TAMPER_REMOVE:
        rc = wire_hs_field_remove(f, field);
        if (rc == TLSRIG_ERR_NOT_AVAILABLE && entry != NULL)
            rc = wire_hs_field_remove(entry, field);
        break;
    case RIG_TAMPER_ADD_EXTENSION:
        rc = wire_hs_ext_insert(exts, -1, (uint16_t)ext, hex->bytes, hex->len);
        break;
    case RIG_TAMPER_REMOVE_EXTENSION:
        rc = wire_hs_ext_remove(exts, (uint16_t)ext);
        if (rc == 0) {
            snprintf(why, len, "the %s has no %s extension to remove", name,
                     wire_ext_type_name(ext) ? wire_ext_type_name(ext) : "such");
            rc = -1;
            goto done;
        }
        break;
    case RIG_TAMPER_SET_EXTENSION:
        rc = wire_hs_ext_set1(exts, (uint16_t)ext, hex->bytes, hex->len);
        break;
    default:
        snprintf(why, len, "internal error: action %d", (int)st->tamper.action);
        rc = -1;
        goto done;
    }
    if (rc == TLSRIG_ERR_NOT_AVAILABLE) {
        snprintf(why, len, "the %s has no field '%s'%s", name, field,
                 v.raw ? " (its body did not parse: it is held as 'body')" : "");
        goto done;
    }
    if (rc < 0) {
        snprintf(why, len, "the %s does not take that value (%s)", name, tlsrig_err_name((int)rc));
        goto done;
    }
    rc = wire_hs_view_write(&v, &out);
    if (rc < 0) {
        snprintf(why, len, "the edited %s cannot be written (%s)", name, tlsrig_err_name((int)rc));
        goto done;
    }
    d->len = 0;
    rc = wire_buf_append(d, out.data, out.len);
    if (rc < 0)
        snprintf(why, len, "out of memory");
done:
    wire_hs_view_cleanup(&v);
    wire_buf_cleanup(&out);
    return rc < 0 ? -1 : WIRE_MITM_FORWARD;
}

/* One rule's action on the message in flight: WIRE_MITM_FORWARD, WIRE_MITM_DROP, or -1 with
 * the reason in |why|. */
static int apply(wire_mitm *m, wire_mitm_msg *msg, const rig_step *st, char *why, size_t len)
{
    wire_buf *d = msg->data;
    int rc = 0;
    switch (st->tamper.action) {
    case RIG_TAMPER_DROP:
        return WIRE_MITM_DROP;
    case RIG_TAMPER_DUPLICATE: {
        wire_buf copy = {0};
        rc = wire_buf_append(&copy, d->data, d->len);
        if (rc == 0)
            rc = wire_mitm_send(m, msg->from, WIRE_CT_HANDSHAKE, copy.data, copy.len);
        wire_buf_cleanup(&copy);
        break;
    }
    case RIG_TAMPER_REPLACE: {
        uint8_t type = d->data[0];
        d->len = 0;
        rc = wire_hs_write(d, type, st->tamper.hex.bytes, st->tamper.hex.len);
        break;
    }
    case RIG_TAMPER_SET_LENGTH:
        d->data[1] = (uint8_t)(st->tamper.num >> 16);
        d->data[2] = (uint8_t)(st->tamper.num >> 8);
        d->data[3] = (uint8_t)st->tamper.num;
        break;
    case RIG_TAMPER_SET_TYPE:
        d->data[0] = (uint8_t)st->tamper.type;
        break;
    case RIG_TAMPER_INSERT_BEFORE:
        rc = send_message(m, msg->from, st->tamper.type, &st->tamper.hex);
        break;
    default:
        return edit_view(msg, st, why, len);
    }
    if (rc < 0) {
        snprintf(why, len, "%s", tlsrig_err_name(rc));
        return -1;
    }
    return WIRE_MITM_FORWARD;
}

int rig__tamper_edit(void *arg, wire_mitm *m, wire_mitm_msg *msg)
{
    rig_wire *w = arg;
    if (msg->type != WIRE_CT_HANDSHAKE || msg->data->len < WIRE_HS_HEADER)
        return WIRE_MITM_FORWARD;
    /* rules match what the sender sent, whatever an earlier rule made of it */
    int sent = msg->data->data[0];
    int verdict = WIRE_MITM_FORWARD;
    for (size_t i = 0; i < w->n_rules; i++) {
        rig_rule *r = &w->rules[i];
        const rig_step *st = r->st;
        if (r->fired || st->side != msg->from || st->tamper.msg != sent)
            continue;
        if (++r->seen < st->tamper.nth)
            continue;
        r->fired = 1;
        if (verdict == WIRE_MITM_DROP)
            continue; /* nothing left to edit */
        char why[256];
        int v = apply(m, msg, st, why, sizeof(why));
        if (v < 0) {
            if (w->tamper_err[0] == '\0') {
                snprintf(w->tamper_err, sizeof(w->tamper_err), "tamper: %s", why);
                w->tamper_err_line = st->line;
            }
            continue;
        }
        verdict = v;
    }
    return verdict;
}

int rig__inject(rig_wire *w, const rig_step *st)
{
    if (w->mitm == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    switch (st->inject.what) {
    case RIG_INJECT_ALERT: {
        /* RFC 8446 §6, RFC 5246 §7.2: level, then description */
        const uint8_t alert[2] = {(uint8_t)st->inject.level, (uint8_t)st->inject.desc};
        return wire_mitm_send(w->mitm, st->side, WIRE_CT_ALERT, alert, sizeof(alert));
    }
    case RIG_INJECT_DATA:
        return wire_mitm_send(w->mitm, st->side, WIRE_CT_APPLICATION_DATA, st->inject.data.bytes,
                              st->inject.data.len);
    case RIG_INJECT_MESSAGE:
        return send_message(w->mitm, st->side, st->inject.type, &st->inject.hex);
    default:
        return TLSRIG_ERR_INVALID_ARGUMENT;
    }
}
