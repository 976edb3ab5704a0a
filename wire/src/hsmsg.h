/*
 * hsmsg.h - what the handshake message view's source files share (hsmsg_*.c) and nothing
 * else sees.
 */
#ifndef TLSRIG_WIRE_HSMSG_H
#define TLSRIG_WIRE_HSMSG_H

#include "internal.h"

/* wire__hs_prefix_width is the length prefix |enc| has in bytes (0 for integers and opaque
 * bytes); wire__hs_is_int says whether |enc| is an integer (its width is its value). */
static inline unsigned wire__hs_prefix_width(wire_enc enc)
{
    switch (enc) {
    case WIRE_ENC_VEC8:
        return 1;
    case WIRE_ENC_VEC16:
    case WIRE_ENC_EXTENSIONS:
        return 2;
    case WIRE_ENC_VEC24:
    case WIRE_ENC_CERT_LIST:
    case WIRE_ENC_CERT_ENTRIES:
        return 3;
    default:
        return 0;
    }
}

static inline int wire__hs_is_int(wire_enc enc)
{
    return enc >= WIRE_ENC_U8 && enc <= WIRE_ENC_U32;
}

static inline int wire__hs_is_list(wire_enc enc)
{
    return enc == WIRE_ENC_EXTENSIONS || enc == WIRE_ENC_CERT_LIST || enc == WIRE_ENC_CERT_ENTRIES;
}

/* wire__hs_field_cleanup frees what a field owns (its name, value, lists) and zeroes it;
 * wire__hs_fields_cleanup does so for every field and the array. */
void wire__hs_field_cleanup(wire_hs_field *fd);
void wire__hs_fields_cleanup(wire_hs_fields *f);

/* wire__hs_add_field appends a field |name| of |enc| holding a copy of |len| bytes as its
 * value (no list parsing). Returns the new field, or NULL when out of memory. */
wire_hs_field *wire__hs_add_field(wire_hs_fields *f, const char *name, wire_enc enc,
                                  const uint8_t *data, size_t len);

/* wire__hs_add_ext appends an extension to the list of |fd|: 0 or TLSRIG_ERR_NOMEM. */
int wire__hs_add_ext(wire_hs_field *fd, uint16_t type, const uint8_t *data, size_t len);

/* wire__hs_add_entry appends an empty entry to the certificate list of |fd|: the entry, or
 * NULL when out of memory. */
wire_hs_fields *wire__hs_add_entry(wire_hs_field *fd);

/* wire__hs_parse_list reads |len| bytes as the contents of the list field |fd| (of its enc),
 * appending to its list. Returns 0, TLSRIG_ERR_INVALID_ARGUMENT (malformed: a receiver sends
 * decode_error) or TLSRIG_ERR_NOMEM; on error the list may hold part of what was read. */
int wire__hs_parse_list(wire_hs_field *fd, const uint8_t *data, size_t len);

/* wire__hs_write_list appends the contents of the list field |fd| (without its prefix):
 * 0, TLSRIG_ERR_INVALID_ARGUMENT or TLSRIG_ERR_NOMEM. */
int wire__hs_write_list(const wire_hs_field *fd, wire_buf *out);

#endif
