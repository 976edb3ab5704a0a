/*
 * buf.c - the growable byte buffer the framers and writers share.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int wire_buf_reserve(wire_buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap > 0 ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (d == NULL)
        return TLSRIG_ERR_NOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int wire_buf_append(wire_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - b->len || wire_buf_reserve(b, b->len + len) < 0)
        return TLSRIG_ERR_NOMEM;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void wire_buf_consume(wire_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void wire_buf_cleanup(wire_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
