/*
 * hsmsg_parse.c - reading handshake message bodies into views: one layout table per message
 * form (RFC 8446 §4, RFC 5246 §7.4, RFC 5077 §3.3), read by one loop that checks every length
 * and vector bound (RFC 8446 §3.4) and says decode_error for what does not parse (RFC 8446 §6).
 */
#include <string.h>

#include "hsmsg.h"

/* One field of a layout. For vectors and lists |min| and |max| bound the contents' length
 * and |step| divides it (1, or 2 for a list of 2-byte items); opaque bytes are |max| bytes when
 * max > 0, else the rest of the body. An |optional| field may be absent when the body ends
 * right before it (the extensions of a TLS 1.2 hello, RFC 5246 §7.4.1.2). */
typedef struct item {
    const char *name;
    wire_enc enc;
    uint32_t min, max;
    uint8_t step;
    uint8_t optional;
} item;

#define U24_MAX 0xffffffu
#define INT(name, enc)                                                                             \
    {                                                                                              \
        name, enc, 0, 0, 1, 0                                                                      \
    }
#define FIXED(name, size)                                                                          \
    {                                                                                              \
        name, WIRE_ENC_OPAQUE, size, size, 1, 0                                                    \
    }
#define REST(name)                                                                                 \
    {                                                                                              \
        name, WIRE_ENC_OPAQUE, 0, 0, 1, 0                                                          \
    }
#define VEC(name, enc, min, max)                                                                   \
    {                                                                                              \
        name, enc, min, max, 1, 0                                                                  \
    }
#define VEC_OF_2(name, enc, min, max)                                                              \
    {                                                                                              \
        name, enc, min, max, 2, 0                                                                  \
    }
#define OPTIONAL_LAST(name, enc, min, max)                                                         \
    {                                                                                              \
        name, enc, min, max, 1, 1                                                                  \
    }

static const item client_hello[] = {
    INT("legacy_version", WIRE_ENC_U16),
    FIXED("random", 32),
    VEC("legacy_session_id", WIRE_ENC_VEC8, 0, 32),
    VEC_OF_2("cipher_suites", WIRE_ENC_VEC16, 2, 0xfffe),
    VEC("legacy_compression_methods", WIRE_ENC_VEC8, 1, 0xff),
    OPTIONAL_LAST("extensions", WIRE_ENC_EXTENSIONS, 0, 0xffff),
};

static const item server_hello[] = {
    INT("legacy_version", WIRE_ENC_U16),
    FIXED("random", 32),
    VEC("legacy_session_id_echo", WIRE_ENC_VEC8, 0, 32),
    INT("cipher_suite", WIRE_ENC_U16),
    INT("legacy_compression_method", WIRE_ENC_U8),
    OPTIONAL_LAST("extensions", WIRE_ENC_EXTENSIONS, 0, 0xffff),
};

static const item encrypted_extensions[] = {
    VEC("extensions", WIRE_ENC_EXTENSIONS, 0, 0xffff),
};

static const item certificate13[] = {
    VEC("certificate_request_context", WIRE_ENC_VEC8, 0, 0xff),
    VEC("certificate_list", WIRE_ENC_CERT_ENTRIES, 0, U24_MAX),
};

static const item certificate12[] = {
    VEC("certificate_list", WIRE_ENC_CERT_LIST, 0, U24_MAX),
};

/* RFC 8446 §4.4.2 CertificateEntry; RFC 5246 §7.4.2 ASN.1Cert<1..2^24-1>. */
static const item entry13[] = {
    VEC("cert_data", WIRE_ENC_VEC24, 1, U24_MAX),
    VEC("extensions", WIRE_ENC_EXTENSIONS, 0, 0xffff),
};

static const item entry12[] = {
    VEC("cert_data", WIRE_ENC_VEC24, 1, U24_MAX),
};

static const item certificate_request13[] = {
    VEC("certificate_request_context", WIRE_ENC_VEC8, 0, 0xff),
    VEC("extensions", WIRE_ENC_EXTENSIONS, 2, 0xffff),
};

static const item certificate_request12[] = {
    VEC("certificate_types", WIRE_ENC_VEC8, 1, 0xff),
    VEC_OF_2("supported_signature_algorithms", WIRE_ENC_VEC16, 2, 0xfffe),
    VEC("certificate_authorities", WIRE_ENC_VEC16, 0, 0xffff),
};

static const item certificate_verify[] = {
    INT("algorithm", WIRE_ENC_U16),
    VEC("signature", WIRE_ENC_VEC16, 0, 0xffff),
};

static const item finished[] = {
    REST("verify_data"),
};

static const item new_session_ticket13[] = {
    INT("ticket_lifetime", WIRE_ENC_U32),
    INT("ticket_age_add", WIRE_ENC_U32),
    VEC("ticket_nonce", WIRE_ENC_VEC8, 0, 0xff),
    VEC("ticket", WIRE_ENC_VEC16, 1, 0xffff),
    VEC("extensions", WIRE_ENC_EXTENSIONS, 0, 0xfffe),
};

static const item new_session_ticket12[] = {
    INT("ticket_lifetime_hint", WIRE_ENC_U32),
    VEC("ticket", WIRE_ENC_VEC16, 0, 0xffff),
};

static const item key_update[] = {
    INT("request_update", WIRE_ENC_U8),
};

typedef struct layout {
    const item *items;
    size_t n;
    int raw; /* the type has no structured view */
} layout;

#define LAYOUT(a) ((layout){a, sizeof(a) / sizeof(a[0]), 0})

/* layout_of returns the layout of |type| in the form |tls13| names. HelloRequest is a layout
 * without fields (its body is empty, RFC 5246 §7.4.1.1). */
static layout layout_of(uint8_t type, int tls13)
{
    switch (type) {
    case WIRE_HS_HELLO_REQUEST:
        return (layout){NULL, 0, 0};
    case WIRE_HS_CLIENT_HELLO:
        return LAYOUT(client_hello);
    case WIRE_HS_SERVER_HELLO:
        return LAYOUT(server_hello);
    case WIRE_HS_ENCRYPTED_EXTENSIONS:
        return LAYOUT(encrypted_extensions);
    case WIRE_HS_CERTIFICATE:
        return tls13 ? LAYOUT(certificate13) : LAYOUT(certificate12);
    case WIRE_HS_CERTIFICATE_REQUEST:
        return tls13 ? LAYOUT(certificate_request13) : LAYOUT(certificate_request12);
    case WIRE_HS_CERTIFICATE_VERIFY:
        return LAYOUT(certificate_verify);
    case WIRE_HS_FINISHED:
        return LAYOUT(finished);
    case WIRE_HS_NEW_SESSION_TICKET:
        return tls13 ? LAYOUT(new_session_ticket13) : LAYOUT(new_session_ticket12);
    case WIRE_HS_KEY_UPDATE:
        return LAYOUT(key_update);
    default:
        return (layout){NULL, 0, 1};
    }
}

/* A read cursor over bytes; every take checks what is left. */
typedef struct cursor {
    const uint8_t *p;
    size_t len;
    size_t off;
} cursor;

static int take(cursor *c, size_t n, const uint8_t **out)
{
    if (n > c->len - c->off)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    *out = c->p + c->off;
    c->off += n;
    return 0;
}

static int take_uint(cursor *c, unsigned width, uint32_t *v)
{
    const uint8_t *p;
    if (take(c, width, &p) < 0)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    uint32_t x = 0;
    for (unsigned i = 0; i < width; i++)
        x = x << 8 | p[i];
    *v = x;
    return 0;
}

/* read_item reads one field of |it| from |c| into |out|. */
static int read_item(wire_hs_fields *out, const item *it, cursor *c)
{
    const uint8_t *p = NULL;
    uint32_t n = 0;
    unsigned width = wire__hs_prefix_width(it->enc);
    if (wire__hs_is_int(it->enc))
        n = (uint32_t)it->enc;
    else if (width == 0) /* opaque: fixed size, or the rest */
        n = it->max > 0 ? it->max : (uint32_t)(c->len - c->off);
    else if (take_uint(c, width, &n) < 0 || n < it->min || n > it->max ||
             (it->step > 1 && n % it->step != 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (take(c, n, &p) < 0)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    int list = wire__hs_is_list(it->enc);
    wire_hs_field *fd = wire__hs_add_field(out, it->name, it->enc, p, list ? 0 : n);
    if (fd == NULL)
        return TLSRIG_ERR_NOMEM;
    return list ? wire__hs_parse_list(fd, p, n) : 0;
}

/* read_items reads the fields of |lay| in order from |c|, leaving |c| after the last. */
static int read_items(wire_hs_fields *out, layout lay, cursor *c)
{
    for (size_t i = 0; i < lay.n; i++) {
        if (lay.items[i].optional && c->off == c->len)
            break;
        int rc = read_item(out, &lay.items[i], c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_exts(wire_hs_field *fd, cursor *c)
{
    while (c->off < c->len) {
        uint32_t type, len;
        const uint8_t *p;
        if (take_uint(c, 2, &type) < 0 || take_uint(c, 2, &len) < 0 || take(c, len, &p) < 0)
            return TLSRIG_ERR_INVALID_ARGUMENT;
        int rc = wire__hs_add_ext(fd, (uint16_t)type, p, len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* An empty body may come as NULL: the cursor points at a static empty string instead, so no
 * offset is ever added to a null pointer. */
static cursor cursor_over(const uint8_t *data, size_t len)
{
    return (cursor){data != NULL ? data : (const uint8_t *)"", len, 0};
}

int wire__hs_parse_list(wire_hs_field *fd, const uint8_t *data, size_t len)
{
    cursor c = cursor_over(data, len);
    if (fd->enc == WIRE_ENC_EXTENSIONS)
        return parse_exts(fd, &c);
    layout lay = fd->enc == WIRE_ENC_CERT_ENTRIES ? LAYOUT(entry13) : LAYOUT(entry12);
    while (c.off < c.len) {
        wire_hs_fields *e = wire__hs_add_entry(fd);
        if (e == NULL)
            return TLSRIG_ERR_NOMEM;
        int rc = read_items(e, lay, &c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int wire_hs_view_parse(wire_hs_view *v, uint8_t type, const uint8_t *body, size_t len, int tls13,
                       int *alert)
{
    if (v == NULL || (body == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    layout lay = layout_of(type, tls13);
    if (lay.raw)
        return wire_hs_view_parse_raw(v, type, body, len, tls13);
    wire_hs_view_cleanup(v);
    v->type = type;
    v->tls13 = tls13 != 0;
    cursor c = cursor_over(body, len);
    int rc = read_items(&v->msg, lay, &c);
    if (rc == 0 && c.off != c.len)
        rc = TLSRIG_ERR_INVALID_ARGUMENT; /* bytes after the last field */
    if (rc < 0) {
        if (rc == TLSRIG_ERR_INVALID_ARGUMENT)
            wire__set_alert(alert, WIRE_ALERT_DECODE_ERROR);
        wire_hs_view_cleanup(v);
        return rc;
    }
    /* RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
    const uint8_t *random = NULL;
    size_t rlen = 0;
    v->hrr = type == WIRE_HS_SERVER_HELLO &&
             wire_hs_field_get0(&v->msg, "random", &random, &rlen) == 0 &&
             rlen == sizeof(wire_hs_hrr_random) && memcmp(random, wire_hs_hrr_random, rlen) == 0;
    return 0;
}
