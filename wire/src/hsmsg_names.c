/*
 * hsmsg_names.c - names of handshake message types and extension types, both ways, for
 * messages, logs and scenario text ("tamper server EncryptedExtensions remove-extension alpn").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "hsmsg.h"

/* RFC 8446 §4.1.3: the random a ServerHello carries when it is a HelloRetryRequest. */
const uint8_t wire_hs_hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

typedef struct name_entry {
    int value;
    const char *name;
} name_entry;

#define NAME_ENTRY(name, value, text) {value, text},
static const name_entry hs_names[] = {WIRE_HS_TYPES(NAME_ENTRY)};
static const name_entry ext_names[] = {
    WIRE_EXT_TYPES(NAME_ENTRY){WIRE_EXT_ALPN, "alpn"}, {WIRE_EXT_SERVER_NAME, "sni"},
    {WIRE_EXT_EXTENDED_MASTER_SECRET, "ems"},          {WIRE_EXT_ENCRYPT_THEN_MAC, "etm"},
    {WIRE_EXT_SUPPORTED_GROUPS, "elliptic_curves"},    {WIRE_EXT_SIGNATURE_ALGORITHMS, "sigalgs"},
};
#undef NAME_ENTRY

/* The RFC names come first in each table, so the first match by value is the RFC name. */
static const char *name_of(const name_entry *t, size_t n, int value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return NULL;
}

/* Names compare without case, '_', '-' or spaces. */
static int skip(char c)
{
    return c == '_' || c == '-' || c == ' ';
}

static int same_name(const char *a, const char *b)
{
    for (;;) {
        while (skip(*a))
            a++;
        while (skip(*b))
            b++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
}

static int value_of(const name_entry *t, size_t n, const char *name, unsigned long limit)
{
    if (name == NULL || *name == '\0')
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (isdigit((unsigned char)name[0])) {
        char *end = NULL;
        unsigned long v = strtoul(name, &end, 0);
        if (*end != '\0' || v > limit)
            return TLSRIG_ERR_INVALID_ARGUMENT;
        return (int)v;
    }
    for (size_t i = 0; i < n; i++)
        if (same_name(t[i].name, name))
            return t[i].value;
    return TLSRIG_ERR_INVALID_ARGUMENT;
}

const char *wire_hs_type_name(int type)
{
    return name_of(hs_names, sizeof(hs_names) / sizeof(hs_names[0]), type);
}

int wire_hs_type_from_name(const char *name)
{
    return value_of(hs_names, sizeof(hs_names) / sizeof(hs_names[0]), name, 0xff);
}

const char *wire_ext_type_name(int type)
{
    return name_of(ext_names, sizeof(ext_names) / sizeof(ext_names[0]), type);
}

int wire_ext_type_from_name(const char *name)
{
    return value_of(ext_names, sizeof(ext_names) / sizeof(ext_names[0]), name, 0xffff);
}
