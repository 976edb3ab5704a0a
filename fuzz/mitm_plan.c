/*
 * mitm_plan.c - the mitm targets' edit list: read from the input, applied by the middle to
 * each decrypted unit it carries (wire_mitm's edit function), and written back out as the
 * scenario language's tamper and inject steps. The layout is in harness.h.
 */
#include <string.h>

#include "harness.h"

/* The field names a `set` or `remove` rule picks from, per message type (the view's names,
 * wire.h; both the TLS 1.3 and the 1.2 form where they differ). A name the message does not
 * have makes the rule do nothing. */
static const char *const *field_names(uint8_t type, size_t *n)
{
    static const char *const ch[] = {"legacy_version",
                                     "random",
                                     "legacy_session_id",
                                     "cipher_suites",
                                     "legacy_compression_methods",
                                     "extensions"};
    static const char *const sh[] = {"legacy_version",
                                     "random",
                                     "legacy_session_id_echo",
                                     "cipher_suite",
                                     "legacy_compression_method",
                                     "extensions"};
    static const char *const nst[] = {"ticket_lifetime", "ticket_age_add", "ticket_nonce",
                                      "ticket",          "extensions",     "ticket_lifetime_hint"};
    static const char *const ee[] = {"extensions"};
    static const char *const cert[] = {"certificate_request_context", "certificate_list"};
    static const char *const cr[] = {"certificate_request_context", "extensions",
                                     "certificate_types", "supported_signature_algorithms",
                                     "certificate_authorities"};
    static const char *const cv[] = {"algorithm", "signature"};
    static const char *const fin[] = {"verify_data"};
    static const char *const ku[] = {"request_update"};
    static const char *const raw[] = {"body"};
#define FZ_NAMES(a) (*n = sizeof(a) / sizeof(a[0]), a)
    switch (type) {
    case WIRE_HS_CLIENT_HELLO:
        return FZ_NAMES(ch);
    case WIRE_HS_SERVER_HELLO:
        return FZ_NAMES(sh);
    case WIRE_HS_NEW_SESSION_TICKET:
        return FZ_NAMES(nst);
    case WIRE_HS_ENCRYPTED_EXTENSIONS:
        return FZ_NAMES(ee);
    case WIRE_HS_CERTIFICATE:
        return FZ_NAMES(cert);
    case WIRE_HS_CERTIFICATE_REQUEST:
        return FZ_NAMES(cr);
    case WIRE_HS_CERTIFICATE_VERIFY:
        return FZ_NAMES(cv);
    case WIRE_HS_FINISHED:
        return FZ_NAMES(fin);
    case WIRE_HS_KEY_UPDATE:
        return FZ_NAMES(ku);
    default:
        return FZ_NAMES(raw);
    }
#undef FZ_NAMES
}

static const char *field_name(const fz_mitm_edit *e)
{
    size_t n;
    const char *const *names = field_names(e->type, &n);
    return names[(e->arg >> 4) % n];
}

/* The first |n| bytes of the edit's data as a big-endian number (missing bytes are 0). */
static unsigned lead(const fz_mitm_edit *e, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | (i < e->len ? e->data[i] : 0);
    return v;
}

/* The bytes after the first |n|. */
static const uint8_t *rest(const fz_mitm_edit *e, size_t n, size_t *len)
{
    *len = e->len > n ? e->len - n : 0;
    return e->len > n ? e->data + n : NULL;
}

void fz_mitm_plan_parse(fz_mitm_plan *plan, const uint8_t *data, size_t len, int target_end)
{
    size_t pos = 0;
    memset(plan, 0, sizeof(*plan));
    plan->target_end = target_end;
    while (pos < len && plan->n < FZ_MITM_MAX_EDITS) {
        fz_mitm_edit *e = &plan->e[plan->n++];
        size_t left = len - pos, head = left < 5 ? left : 5;
        const uint8_t *p = data + pos;
        e->op = (uint8_t)((p[0] & 15) % FZ_MITM_N_OPS);
        e->from_target = (p[0] & FZ_MITM_OP_TARGET) != 0;
        e->content = (p[0] & FZ_MITM_OP_RECORD) != 0;
        e->msg = head > 1 ? p[1] : 0;
        e->arg = head > 2 ? p[2] : 0;
        e->type = e->content ? (uint8_t)(WIRE_CT_CHANGE_CIPHER_SPEC + (e->msg & 3)) : e->msg;
        e->nth = e->arg & 15;
        size_t n = head == 5 ? ((size_t)p[3] << 8) | p[4] : 0;
        if (n > left - head)
            n = left - head;
        e->data = p + head;
        e->len = n;
        pos += head + n;
    }
}

int fz_mitm_plan_is_step(const fz_mitm_edit *e)
{
    return e->op > FZ_MITM_INSERT_BEFORE;
}

/* ---- applying a rule ---- */

static int matches(const fz_mitm_edit *e, const wire_mitm_msg *msg)
{
    if (!e->content)
        return msg->type == WIRE_CT_HANDSHAKE && msg->data->len >= WIRE_HS_HEADER &&
               msg->data->data[0] == e->type;
    return msg->type == e->type;
}

/* Replace |d| with message |type| and |body|. */
static int set_message(wire_buf *d, uint8_t type, const uint8_t *body, size_t len)
{
    wire_buf out = {0};
    int rc = wire_hs_write(&out, type, body, len);
    if (rc == 0) {
        wire_buf_cleanup(d);
        *d = out;
    }
    return rc;
}

/* A rule that works on the message's view (fields and extensions). The view is written back
 * only when the change was made: a rule the message cannot take leaves it as it was. */
static int view_edit(const fz_mitm_edit *e, const wire_mitm_msg *msg)
{
    wire_buf *d = msg->data;
    wire_hs_view v;
    size_t n;
    const uint8_t *b = rest(e, 2, &n);
    uint16_t ext = (uint16_t)lead(e, 2);
    long rc;

    wire_hs_view_init(&v);
    rc = wire_hs_view_load(&v, d->data[0], d->data + WIRE_HS_HEADER, d->len - WIRE_HS_HEADER,
                           msg->version == 0x0304, NULL);
    if (rc < 0)
        goto cleanup;
    switch (e->op) {
    case FZ_MITM_SET_FIELD:
        rc = wire_hs_field_set1(&v.msg, field_name(e), e->data, e->len);
        break;
    case FZ_MITM_REMOVE_FIELD:
        rc = wire_hs_field_remove(&v.msg, field_name(e));
        break;
    case FZ_MITM_ADD_EXT:
        rc = wire_hs_ext_insert(&v.msg, -1, ext, b, n);
        break;
    case FZ_MITM_REMOVE_EXT:
        rc = wire_hs_ext_remove(&v.msg, ext);
        break;
    case FZ_MITM_SET_EXT:
        rc = wire_hs_ext_set1(&v.msg, ext, b, n);
        break;
    default:
        rc = TLSRIG_ERR_INVALID_ARGUMENT;
        break;
    }
    if (rc >= 0) {
        wire_buf out = {0};
        rc = wire_hs_view_write(&v, &out);
        if (rc == 0) {
            wire_buf_cleanup(d);
            *d = out;
        } else {
            wire_buf_cleanup(&out);
        }
    }
cleanup:
    wire_hs_view_cleanup(&v);
    return rc == TLSRIG_ERR_NOMEM ? (int)rc : 0;
}

/* One rule on the unit in |msg|: WIRE_MITM_FORWARD, WIRE_MITM_DROP, or a negative error. */
static int apply(const fz_mitm_edit *e, wire_mitm *m, wire_mitm_msg *msg)
{
    wire_buf *d = msg->data;
    int hs = msg->type == WIRE_CT_HANDSHAKE && d->len >= WIRE_HS_HEADER;
    size_t n;
    const uint8_t *b;

    switch (e->op) {
    case FZ_MITM_DROP:
        return WIRE_MITM_DROP;
    case FZ_MITM_DUPLICATE:
        /* no empty unit goes to wire_mitm_send: the middle's record writer steps a NULL
         * pointer for one (see "the mitm targets" in fuzz/README.md) */
        return d->len > 0 ? wire_mitm_send(m, msg->from, msg->type, d->data, d->len) : 0;
    case FZ_MITM_REPLACE:
        if (hs)
            return set_message(d, d->data[0], e->data, e->len);
        d->len = 0;
        return wire_buf_append(d, e->data, e->len);
    case FZ_MITM_INSERT_BEFORE: {
        wire_buf ins = {0};
        b = rest(e, 1, &n);
        int rc = wire_hs_write(&ins, (uint8_t)lead(e, 1), b, n);
        if (rc == 0)
            rc = wire_mitm_send(m, msg->from, WIRE_CT_HANDSHAKE, ins.data, ins.len);
        wire_buf_cleanup(&ins);
        return rc;
    }
    default:
        break;
    }
    if (!hs)
        return WIRE_MITM_FORWARD; /* the other rules work on handshake messages only */
    switch (e->op) {
    case FZ_MITM_SET_LENGTH: {
        /* the header claims what the rule says, the body stays (RFC 8446 §4: a receiver
         * reassembles by the header's length) */
        unsigned len = lead(e, 3);
        d->data[1] = (uint8_t)(len >> 16);
        d->data[2] = (uint8_t)(len >> 8);
        d->data[3] = (uint8_t)len;
        return WIRE_MITM_FORWARD;
    }
    case FZ_MITM_SET_TYPE:
        d->data[0] = (uint8_t)lead(e, 1);
        return WIRE_MITM_FORWARD;
    default:
        return view_edit(e, msg);
    }
}

int fz_mitm_plan_edit(void *arg, wire_mitm *m, wire_mitm_msg *msg)
{
    fz_mitm_plan *plan = arg;
    int from_target = msg->from == plan->target_end;
    for (size_t i = 0; i < plan->n; i++) {
        fz_mitm_edit *e = &plan->e[i];
        if (fz_mitm_plan_is_step(e) || e->from_target != from_target || !matches(e, msg) ||
            e->seen++ != e->nth)
            continue;
        int rc = apply(e, m, msg);
        /* An edit that cannot be made is no finding: only running out of memory stops. */
        if (rc == WIRE_MITM_DROP || rc == TLSRIG_ERR_NOMEM)
            return rc;
    }
    return WIRE_MITM_FORWARD;
}

int fz_mitm_plan_inject(const fz_mitm_edit *e, wire_mitm *m, int from)
{
    static uint8_t data[65536];
    uint8_t alert[2] = {e->msg, e->arg};
    wire_buf msg = {0};
    int rc;

    switch (e->op) {
    case FZ_MITM_INJECT_ALERT:
        return wire_mitm_send(m, from, WIRE_CT_ALERT, alert, sizeof(alert));
    case FZ_MITM_INJECT_DATA: {
        size_t n = ((size_t)e->msg << 8) | e->arg;
        if (n == 0)
            return 0; /* as for a duplicate: no empty unit */
        for (size_t i = 0; i < n; i++)
            data[i] = (uint8_t)('a' + i % 26);
        return wire_mitm_send(m, from, WIRE_CT_APPLICATION_DATA, data, n);
    }
    case FZ_MITM_INJECT_MESSAGE:
        rc = wire_hs_write(&msg, e->msg, e->data, e->len);
        if (rc == 0)
            rc = wire_mitm_send(m, from, WIRE_CT_HANDSHAKE, msg.data, msg.len);
        wire_buf_cleanup(&msg);
        return rc;
    default:
        return 0;
    }
}

/* ---- as scenario text ---- */

/* The fields the message views hold as fixed-size integers (RFC 8446 §4). */
static int integer_field(const char *name)
{
    static const char *const ints[] = {
        "legacy_version",  "cipher_suite",   "legacy_compression_method",
        "ticket_lifetime", "ticket_age_add", "ticket_lifetime_hint",
        "request_update",  "algorithm",      NULL};
    for (size_t i = 0; ints[i] != NULL; i++)
        if (strcmp(name, ints[i]) == 0)
            return 1;
    return 0;
}

static void print_hex(FILE *out, const uint8_t *d, size_t n)
{
    fputc(' ', out);
    if (n == 0)
        fputs("\"\"", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", d[i]);
}

static void print_msg_name(FILE *out, int type)
{
    const char *name = wire_hs_type_name(type);
    if (name != NULL)
        fprintf(out, " %s", name);
    else
        fprintf(out, " %d", type);
}

static void print_ext_name(FILE *out, int type)
{
    const char *name = wire_ext_type_name(type);
    if (name != NULL)
        fprintf(out, " %s", name);
    else
        fprintf(out, " %d", type);
}

static void print_alert(FILE *out, const fz_mitm_edit *e, const char *side)
{
    fprintf(out, "inject %s alert ", side);
    if (e->msg == 1 || e->msg == 2)
        fputs(e->msg == 1 ? "warning" : "fatal", out);
    else
        fprintf(out, "%u", e->msg);
    const char *desc = tlsrig_alert_desc_string(e->arg);
    if (strcmp(desc, "unknown_alert") != 0)
        fprintf(out, " %s\n", desc);
    else
        fprintf(out, " %u\n", e->arg);
}

void fz_mitm_print_edit(FILE *out, const fz_mitm_edit *e, const char *side)
{
    static const char *const content_names[4] = {"change_cipher_spec", "alert", "handshake",
                                                 "application_data"};
    size_t n;
    const uint8_t *b;

    switch (e->op) {
    case FZ_MITM_INJECT_ALERT:
        print_alert(out, e, side);
        return;
    case FZ_MITM_INJECT_DATA:
        if (e->msg != 0 || e->arg != 0) /* 0 bytes: nothing was injected */
            fprintf(out, "inject %s data %u bytes\n", side, ((unsigned)e->msg << 8) | e->arg);
        return;
    case FZ_MITM_INJECT_MESSAGE:
        fprintf(out, "inject %s message", side);
        print_msg_name(out, e->msg);
        print_hex(out, e->data, e->len);
        fputc('\n', out);
        return;
    case FZ_MITM_ACTION:
        return; /* the run writes these, with what they returned */
    default:
        break;
    }
    /* occurrences count from 1 in the scenario language: "#2" is the second */
    fprintf(out, "tamper %s", side);
    if (e->content)
        fprintf(out, " %s", content_names[e->type - WIRE_CT_CHANGE_CIPHER_SPEC]);
    else
        print_msg_name(out, e->type);
    if (e->nth > 0)
        fprintf(out, "#%u", e->nth + 1);
    switch (e->op) {
    case FZ_MITM_DROP:
        fputs(" drop", out);
        break;
    case FZ_MITM_DUPLICATE:
        fputs(" duplicate", out);
        break;
    case FZ_MITM_REPLACE:
        fputs(" replace", out);
        print_hex(out, e->data, e->len);
        break;
    case FZ_MITM_SET_FIELD:
        fprintf(out, " set %s", field_name(e));
        if (integer_field(field_name(e)) && e->len > 0) {
            fputs(" 0x", out); /* the language takes an integer field's value as a number */
            for (size_t i = 0; i < e->len; i++)
                fprintf(out, "%02x", e->data[i]);
        } else {
            print_hex(out, e->data, e->len);
        }
        break;
    case FZ_MITM_REMOVE_FIELD:
        fprintf(out, " remove %s", field_name(e));
        break;
    case FZ_MITM_ADD_EXT:
        fputs(" add-extension", out);
        print_ext_name(out, (int)lead(e, 2));
        b = rest(e, 2, &n);
        if (n > 0)
            print_hex(out, b, n);
        break;
    case FZ_MITM_REMOVE_EXT:
        fputs(" remove-extension", out);
        print_ext_name(out, (int)lead(e, 2));
        break;
    case FZ_MITM_SET_EXT:
        fputs(" set-extension", out);
        print_ext_name(out, (int)lead(e, 2));
        b = rest(e, 2, &n);
        print_hex(out, b, n);
        break;
    case FZ_MITM_SET_LENGTH:
        fprintf(out, " set-length %u", lead(e, 3));
        break;
    case FZ_MITM_SET_TYPE:
        fputs(" set-type", out);
        print_msg_name(out, (int)lead(e, 1));
        break;
    case FZ_MITM_INSERT_BEFORE:
        fputs(" insert-before", out);
        print_msg_name(out, (int)lead(e, 1));
        b = rest(e, 1, &n);
        print_hex(out, b, n);
        break;
    default:
        break;
    }
    fputc('\n', out);
}
