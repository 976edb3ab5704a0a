/*
 * compile_tamper.c - the steps that reach behind encryption through the wire's man in the
 * middle: `tamper <side> <msg>[#n] <action> ...` (a rule that edits one handshake message in
 * flight), `inject <side> alert|data|message ...` (a unit put on the wire) and `tamper-fixup
 * on|off` (Finished recomputed after an edit). Names become type numbers (wire_hs_type_from_name,
 * wire_ext_type_from_name), hex becomes bytes and integers are range-checked here, once; a
 * misspelt message, extension, field or action names the nearest known one.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"
#include "wire.h"

#define NEAR(word, names)                                                                          \
    scn_nearest((word), (names)) ? " (did you mean '" : "",                                        \
        scn_nearest((word), (names)) ? scn_nearest((word), (names)) : "",                          \
        scn_nearest((word), (names)) ? "'?)" : ""

/* ---- names ---- */

#define NAME_TEXT(name, value, text) text,
static const char *const msg_names[] = {WIRE_HS_TYPES(NAME_TEXT) NULL};
static const char *const ext_names[] = {
    WIRE_EXT_TYPES(NAME_TEXT) "alpn", "sni", "ems", "etm", "sigalgs", NULL};
#undef NAME_TEXT

static const char *const action_names[] = {
    "drop",       "duplicate",     "replace",          "set",
    "remove",     "add-extension", "remove-extension", "set-extension",
    "set-length", "set-type",      "insert-before",    NULL};

static const rig_tamper_action action_kinds[] = {
    RIG_TAMPER_DROP,
    RIG_TAMPER_DUPLICATE,
    RIG_TAMPER_REPLACE,
    RIG_TAMPER_SET,
    RIG_TAMPER_REMOVE,
    RIG_TAMPER_ADD_EXTENSION,
    RIG_TAMPER_REMOVE_EXTENSION,
    RIG_TAMPER_SET_EXTENSION,
    RIG_TAMPER_SET_LENGTH,
    RIG_TAMPER_SET_TYPE,
    RIG_TAMPER_INSERT_BEFORE,
};

/* The fields of each structured view (wire.h, "The fields each type's view holds"), both the
 * TLS 1.3 and the TLS 1.2 form; |width| is an integer field's size in bytes, 0 for bytes.
 * Certificate's cert_data is the first entry's (the end-entity certificate). */
static const struct {
    int type;
    const char *name;
    int width;
} fields[] = {
    {WIRE_HS_CLIENT_HELLO, "legacy_version", 2},
    {WIRE_HS_CLIENT_HELLO, "random", 0},
    {WIRE_HS_CLIENT_HELLO, "legacy_session_id", 0},
    {WIRE_HS_CLIENT_HELLO, "cipher_suites", 0},
    {WIRE_HS_CLIENT_HELLO, "legacy_compression_methods", 0},
    {WIRE_HS_CLIENT_HELLO, "extensions", 0},
    {WIRE_HS_SERVER_HELLO, "legacy_version", 2},
    {WIRE_HS_SERVER_HELLO, "random", 0},
    {WIRE_HS_SERVER_HELLO, "legacy_session_id_echo", 0},
    {WIRE_HS_SERVER_HELLO, "cipher_suite", 2},
    {WIRE_HS_SERVER_HELLO, "legacy_compression_method", 1},
    {WIRE_HS_SERVER_HELLO, "extensions", 0},
    {WIRE_HS_ENCRYPTED_EXTENSIONS, "extensions", 0},
    {WIRE_HS_CERTIFICATE, "certificate_request_context", 0},
    {WIRE_HS_CERTIFICATE, "certificate_list", 0},
    {WIRE_HS_CERTIFICATE, "cert_data", 0},
    {WIRE_HS_CERTIFICATE_REQUEST, "certificate_request_context", 0},
    {WIRE_HS_CERTIFICATE_REQUEST, "extensions", 0},
    {WIRE_HS_CERTIFICATE_REQUEST, "certificate_types", 0},
    {WIRE_HS_CERTIFICATE_REQUEST, "supported_signature_algorithms", 0},
    {WIRE_HS_CERTIFICATE_REQUEST, "certificate_authorities", 0},
    {WIRE_HS_CERTIFICATE_VERIFY, "algorithm", 2},
    {WIRE_HS_CERTIFICATE_VERIFY, "signature", 0},
    {WIRE_HS_FINISHED, "verify_data", 0},
    {WIRE_HS_NEW_SESSION_TICKET, "ticket_lifetime", 4},
    {WIRE_HS_NEW_SESSION_TICKET, "ticket_age_add", 4},
    {WIRE_HS_NEW_SESSION_TICKET, "ticket_nonce", 0},
    {WIRE_HS_NEW_SESSION_TICKET, "ticket", 0},
    {WIRE_HS_NEW_SESSION_TICKET, "extensions", 0},
    {WIRE_HS_NEW_SESSION_TICKET, "ticket_lifetime_hint", 4},
    {WIRE_HS_KEY_UPDATE, "request_update", 1},
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* The field names a message of |type| has (NULL-terminated into |out|, at most |cap| - 1):
 * its view's, or "body" for a type held raw. HelloRequest has none. */
static void field_names(int type, const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < N_FIELDS && n + 1 < cap; i++)
        if (fields[i].type == type)
            out[n++] = fields[i].name;
    if (n == 0 && type != WIRE_HS_HELLO_REQUEST)
        out[n++] = "body";
    out[n] = NULL;
}

/* An integer field's width, 0 for a bytes field, -1 for a name |type| does not have. */
static int field_width(int type, const char *name)
{
    const char *names[16];
    field_names(type, names, 16);
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], name) != 0)
            continue;
        for (size_t k = 0; k < N_FIELDS; k++)
            if (fields[k].type == type && strcmp(fields[k].name, name) == 0)
                return fields[k].width;
        return 0; /* "body" */
    }
    return -1;
}

/* ---- values ---- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Word |i| of |l| as hex bytes (an even number of hex digits; "" for none) into |h|
 * (allocated). Returns 0, -1 malformed, -2 out of memory. */
static int hex_word(const scn_line *l, int i, rig_hex *h)
{
    const char *w = l->argv[i];
    size_t n = l->argl[i];
    if (n % 2 != 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (hexval(w[k]) < 0)
            return -1;
    h->bytes = malloc(n / 2 + 1);
    if (h->bytes == NULL)
        return -2;
    for (size_t k = 0; k < n / 2; k++)
        h->bytes[k] = (uint8_t)(hexval(w[2 * k]) << 4 | hexval(w[2 * k + 1]));
    h->len = n / 2;
    return 0;
}

/* A decimal or 0x-prefixed hexadecimal integer no larger than |max|: 0, or -1. */
static int integer_word(const char *w, uint64_t max, uint64_t *out)
{
    int base = strncmp(w, "0x", 2) == 0 || strncmp(w, "0X", 2) == 0 ? 16 : 10;
    const char *digits = base == 16 ? w + 2 : w;
    char *end = NULL;
    if (*digits == '\0' || *digits == '-' || *digits == '+' || isspace((unsigned char)*digits))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, base);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

#define NEED_HEX(i, what)                                                                          \
    do {                                                                                           \
        RIG_NEED((i) < l->argc, "%s needs %s as hex", l->argv[0], what);                           \
        int hex_rc_ = hex_word(l, (i), hex);                                                       \
        RIG_NEED(hex_rc_ != -2, "out of memory");                                                  \
        RIG_NEED(hex_rc_ == 0,                                                                     \
                 "%s: '%s' is not hex bytes (an even number of hex digits, \"\" for none)",        \
                 l->argv[0], l->argv[i]);                                                          \
    } while (0)

/* A message name at word |i|: its type, or the line refused. */
static rig_status msg_type(rig_compiler *c, const scn_line *l, int i, const char *word, int *type)
{
    int t = wire_hs_type_from_name(word);
    if (t < 0)
        return rig__invalid(c, l, "unknown handshake message '%s'%s%s%s", word,
                            NEAR(word, msg_names));
    (void)i;
    *type = t;
    return RIG_PASS;
}

static rig_status ext_type(rig_compiler *c, const scn_line *l, const char *word, int *type)
{
    int t = wire_ext_type_from_name(word);
    if (t < 0)
        return rig__invalid(c, l, "unknown extension '%s'%s%s%s", word, NEAR(word, ext_names));
    *type = t;
    return RIG_PASS;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        rig_status chk_rs_ = (expr);                                                               \
        if (chk_rs_ != RIG_PASS)                                                                   \
            return chk_rs_;                                                                        \
    } while (0)

/* ---- tamper ---- */

/* <msg>[#n] at word 2 */
static rig_status c_match(rig_compiler *c, const scn_line *l, rig_step *st)
{
    char name[64];
    const char *w = l->argv[2];
    const char *hash = strchr(w, '#');
    size_t n = hash != NULL ? (size_t)(hash - w) : strlen(w);
    RIG_NEED(n > 0 && n < sizeof(name), "tamper: '%s' is not a message name", w);
    memcpy(name, w, n);
    name[n] = '\0';
    CHECK(msg_type(c, l, 2, name, &st->tamper.msg));
    st->tamper.nth = 1;
    if (hash != NULL) {
        uint64_t nth = 0;
        RIG_NEED(integer_word(hash + 1, 1000000, &nth) == 0 && hash[1] != '0' && nth >= 1,
                 "tamper: '%s': #<n> counts the sender's messages from 1", w);
        st->tamper.nth = (unsigned)nth;
    }
    return RIG_PASS;
}

static rig_status c_set(rig_compiler *c, const scn_line *l, rig_step *st, rig_hex *hex)
{
    const char *names[16];
    RIG_NEED(l->argc == 6, "tamper ... set takes <field> <hex>|<integer>");
    const char *f = l->argv[4];
    int width = field_width(st->tamper.msg, f);
    if (width < 0) {
        field_names(st->tamper.msg, names, 16);
        if (names[0] == NULL)
            return rig__invalid(c, l, "tamper: %s has no fields", l->argv[2]);
        return rig__invalid(c, l, "tamper: %s has no field '%s'%s%s%s",
                            wire_hs_type_name(st->tamper.msg) ? wire_hs_type_name(st->tamper.msg)
                                                              : l->argv[2],
                            f, NEAR(f, names));
    }
    st->tamper.field = f;
    if (width > 0) {
        uint64_t max = width == 8 ? UINT64_MAX : (((uint64_t)1 << (8 * width)) - 1);
        RIG_NEED(integer_word(l->argv[5], max, &st->tamper.num) == 0,
                 "tamper: %s is a %d-byte integer: '%s' is not a number from 0 to %llu", f, width,
                 l->argv[5], (unsigned long long)max);
        st->tamper.action = RIG_TAMPER_SET_INT;
        return RIG_PASS;
    }
    NEED_HEX(5, "the value");
    return RIG_PASS;
}

rig_status rig__compile_tamper(rig_compiler *c, const scn_line *l, rig_step *st)
{
    rig_status rs = rig__compile_side(c, l, 1, st);
    if (rs != RIG_PASS)
        return rs;
    RIG_NEED(l->argc >= 4, "tamper takes <side> <msg>[#n] <action> ...");
    CHECK(c_match(c, l, st));
    c->prog->middle = 1;
    const char *a = l->argv[3];
    int known = -1;
    for (int i = 0; action_names[i] != NULL; i++)
        if (strcmp(a, action_names[i]) == 0)
            known = i;
    if (known < 0)
        return rig__invalid(c, l, "unknown tamper action '%s'%s%s%s", a, NEAR(a, action_names));
    st->tamper.action = action_kinds[known];
    rig_hex *hex = &st->tamper.hex;
    switch (st->tamper.action) {
    case RIG_TAMPER_DROP:
    case RIG_TAMPER_DUPLICATE:
        RIG_NEED(l->argc == 4, "tamper ... %s takes nothing more", a);
        break;
    case RIG_TAMPER_REPLACE:
        RIG_NEED(l->argc == 5, "tamper ... replace takes the body as hex");
        NEED_HEX(4, "the body");
        break;
    case RIG_TAMPER_SET:
        return c_set(c, l, st, hex);
    case RIG_TAMPER_REMOVE: {
        RIG_NEED(l->argc == 5, "tamper ... remove takes <field>");
        const char *names[16];
        st->tamper.field = l->argv[4];
        if (field_width(st->tamper.msg, l->argv[4]) < 0) {
            field_names(st->tamper.msg, names, 16);
            return rig__invalid(c, l, "tamper: %s has no field '%s'%s%s%s", l->argv[2], l->argv[4],
                                NEAR(l->argv[4], names));
        }
        break;
    }
    case RIG_TAMPER_ADD_EXTENSION:
        RIG_NEED(l->argc == 5 || l->argc == 6, "tamper ... add-extension takes <ext> [<hex>]");
        CHECK(ext_type(c, l, l->argv[4], &st->tamper.ext));
        if (l->argc == 6)
            NEED_HEX(5, "the extension's data");
        break;
    case RIG_TAMPER_REMOVE_EXTENSION:
        RIG_NEED(l->argc == 5, "tamper ... remove-extension takes <ext>");
        CHECK(ext_type(c, l, l->argv[4], &st->tamper.ext));
        break;
    case RIG_TAMPER_SET_EXTENSION:
        RIG_NEED(l->argc == 6, "tamper ... set-extension takes <ext> <hex>");
        CHECK(ext_type(c, l, l->argv[4], &st->tamper.ext));
        NEED_HEX(5, "the extension's data");
        break;
    case RIG_TAMPER_SET_LENGTH:
        RIG_NEED(l->argc == 5 && integer_word(l->argv[4], 0xffffff, &st->tamper.num) == 0,
                 "tamper ... set-length takes a length from 0 to 16777215");
        break;
    case RIG_TAMPER_SET_TYPE:
        RIG_NEED(l->argc == 5, "tamper ... set-type takes <msg>");
        CHECK(msg_type(c, l, 4, l->argv[4], &st->tamper.type));
        break;
    case RIG_TAMPER_INSERT_BEFORE:
        RIG_NEED(l->argc == 6, "tamper ... insert-before takes <msg> <hex>");
        CHECK(msg_type(c, l, 4, l->argv[4], &st->tamper.type));
        NEED_HEX(5, "the new message's body");
        break;
    default:
        return rig__invalid(c, l, "internal error: tamper action %d", (int)st->tamper.action);
    }
    RIG_NEED(hex->len < (1u << 24), "tamper: the bytes are longer than a handshake message");
    return RIG_PASS;
}

/* ---- inject ---- */

/* The alert descriptions the engine names, for suggestions (built once). */
static const char *const *alert_names(void)
{
    static const char *names[257];
    if (names[0] == NULL) {
        size_t n = 0;
        const char *unknown = tlsrig_alert_desc_string(255);
        for (int d = 0; d < 256; d++) {
            const char *s = tlsrig_alert_desc_string(d);
            if (s != NULL && (d == 255 || strcmp(s, unknown) != 0))
                names[n++] = s;
        }
        names[n] = NULL;
    }
    return names;
}

rig_status rig__compile_inject(rig_compiler *c, const scn_line *l, rig_step *st)
{
    rig_status rs = rig__compile_side(c, l, 1, st);
    if (rs != RIG_PASS)
        return rs;
    c->prog->middle = 1;
    RIG_NEED(l->argc >= 3, "inject takes <side> alert|data|message ...");
    const char *what = l->argv[2];
    if (strcmp(what, "alert") == 0) {
        st->inject.what = RIG_INJECT_ALERT;
        RIG_NEED(l->argc == 5, "inject ... alert takes <level> <description>");
        const char *lv = l->argv[3];
        RIG_NEED(strcmp(lv, "warning") == 0 || strcmp(lv, "fatal") == 0,
                 "inject ... alert: the level is warning or fatal, not '%s'", lv);
        st->inject.level = lv[0] == 'f' ? 2 : 1;
        uint64_t code = 0;
        st->inject.desc = rig__alert_desc(l->argv[4]);
        if (st->inject.desc < 0 && integer_word(l->argv[4], 255, &code) == 0)
            st->inject.desc = (int)code;
        RIG_NEED(st->inject.desc >= 0, "inject ... alert: unknown alert '%s'%s%s%s", l->argv[4],
                 NEAR(l->argv[4], alert_names()));
        return RIG_PASS;
    }
    if (strcmp(what, "data") == 0) {
        st->inject.what = RIG_INJECT_DATA;
        rig_data *d = &st->inject.data;
        if (l->argc == 5 && strcmp(l->argv[4], "bytes") == 0) {
            uint64_t n = 0;
            RIG_NEED(integer_word(l->argv[3], (uint64_t)1 << 20, &n) == 0 && n > 0,
                     "inject ... data: <n> bytes takes a count from 1 to 1048576");
            d->len = (size_t)n;
            d->pattern = 1;
            return RIG_PASS;
        }
        RIG_NEED(l->argc == 4, "inject ... data takes \"text\" or <n> bytes");
        d->bytes = (const uint8_t *)l->argv[3];
        d->len = l->argl[3];
        return RIG_PASS;
    }
    if (strcmp(what, "message") == 0) {
        st->inject.what = RIG_INJECT_MESSAGE;
        RIG_NEED(l->argc == 5, "inject ... message takes <msg> <hex>");
        CHECK(msg_type(c, l, 3, l->argv[3], &st->inject.type));
        rig_hex *hex = &st->inject.hex;
        NEED_HEX(4, "the message's body");
        RIG_NEED(hex->len < (1u << 24), "inject: the body is longer than a handshake message");
        return RIG_PASS;
    }
    static const char *const kinds[] = {"alert", "data", "message", NULL};
    return rig__invalid(c, l, "inject: unknown unit '%s'%s%s%s (alert, data or message)", what,
                        NEAR(what, kinds));
}

/* ---- tamper-fixup ---- */

rig_status rig__compile_fixup(rig_compiler *c, const scn_line *l, rig_step *st)
{
    static const char *const words[] = {"off", "on", "sign", NULL};
    int on = -1;
    for (int i = 0; l->argc == 2 && words[i] != NULL; i++)
        if (strcmp(l->argv[1], words[i]) == 0)
            on = i;
    RIG_NEED(on >= 0, "tamper-fixup takes on, sign or off");
    st->fixup.on = on; /* RIG_FIXUP_OFF, _ON, _SIGN */
    c->prog->middle = 1;
    return RIG_PASS;
}

void rig__tamper_step_free(rig_step *st)
{
    if (st->kind == RIG_STEP_TAMPER) {
        free(st->tamper.hex.bytes);
        st->tamper.hex.bytes = NULL;
    } else if (st->kind == RIG_STEP_INJECT && st->inject.what == RIG_INJECT_MESSAGE) {
        free(st->inject.hex.bytes);
        st->inject.hex.bytes = NULL;
    }
}
