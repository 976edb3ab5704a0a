/*
 * hsmsg_edit.c - the handshake message view's storage: fields, extensions and certificate
 * entries, the operations that change them, and writing a view back to bytes with every
 * length recomputed unless pinned.
 */
#include <stdlib.h>
#include <string.h>

#include "hsmsg.h"

/* ---- storage ---- */

/* grow makes room for one more item in an array of |size|-byte items. */
static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap > 0 ? *cap * 2 : 4;
    void *p = realloc(*items, ncap * size);
    if (p == NULL)
        return TLSRIG_ERR_NOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

/* open_slot moves items [index, n) one up to free |index|; |*n| counts the new item. */
static void open_slot(void *items, size_t *n, size_t index, size_t size)
{
    uint8_t *p = items;
    memmove(p + (index + 1) * size, p + index * size, (*n - index) * size);
    (*n)++;
}

static void close_slot(void *items, size_t *n, size_t index, size_t size)
{
    uint8_t *p = items;
    memmove(p + index * size, p + (index + 1) * size, (*n - index - 1) * size);
    (*n)--;
}

/* slot_index turns a caller's index (negative or past the end: the end) into a position. */
static size_t slot_index(long index, size_t n)
{
    return index < 0 || (size_t)index > n ? n : (size_t)index;
}

static void clear_lists(wire_hs_field *fd)
{
    for (size_t i = 0; i < fd->n_exts; i++)
        wire_buf_cleanup(&fd->exts[i].data);
    free(fd->exts);
    fd->exts = NULL;
    fd->n_exts = fd->cap_exts = 0;
    for (size_t i = 0; i < fd->n_entries; i++)
        wire__hs_fields_cleanup(&fd->entries[i]);
    free(fd->entries);
    fd->entries = NULL;
    fd->n_entries = fd->cap_entries = 0;
}

void wire__hs_field_cleanup(wire_hs_field *fd)
{
    clear_lists(fd);
    free(fd->name);
    wire_buf_cleanup(&fd->value);
    memset(fd, 0, sizeof(*fd));
}

void wire__hs_fields_cleanup(wire_hs_fields *f)
{
    for (size_t i = 0; i < f->n; i++)
        wire__hs_field_cleanup(&f->v[i]);
    free(f->v);
    memset(f, 0, sizeof(*f));
}

/* insert_field puts an empty field |name| of |enc| at |index| (as slot_index); NULL when out
 * of memory. */
static wire_hs_field *insert_field(wire_hs_fields *f, long index, const char *name, wire_enc enc)
{
    char *copy = strdup(name);
    if (copy == NULL || grow((void **)&f->v, &f->cap, f->n, sizeof(*f->v)) < 0) {
        free(copy);
        return NULL;
    }
    size_t at = slot_index(index, f->n);
    open_slot(f->v, &f->n, at, sizeof(*f->v));
    wire_hs_field *fd = &f->v[at];
    memset(fd, 0, sizeof(*fd));
    fd->name = copy;
    fd->enc = enc;
    return fd;
}

wire_hs_field *wire__hs_add_field(wire_hs_fields *f, const char *name, wire_enc enc,
                                  const uint8_t *data, size_t len)
{
    wire_hs_field *fd = insert_field(f, -1, name, enc);
    if (fd != NULL && wire_buf_append(&fd->value, data, len) < 0) {
        wire__hs_field_cleanup(fd);
        f->n--;
        return NULL;
    }
    return fd;
}

static int insert_ext(wire_hs_field *fd, long index, uint16_t type, const uint8_t *data, size_t len,
                      size_t *at_out)
{
    wire_buf copy = {0};
    if (wire_buf_append(&copy, data, len) < 0 ||
        grow((void **)&fd->exts, &fd->cap_exts, fd->n_exts, sizeof(*fd->exts)) < 0) {
        wire_buf_cleanup(&copy);
        return TLSRIG_ERR_NOMEM;
    }
    size_t at = slot_index(index, fd->n_exts);
    open_slot(fd->exts, &fd->n_exts, at, sizeof(*fd->exts));
    fd->exts[at] = (wire_hs_ext){.type = type, .data = copy};
    if (at_out != NULL)
        *at_out = at;
    return 0;
}

int wire__hs_add_ext(wire_hs_field *fd, uint16_t type, const uint8_t *data, size_t len)
{
    return insert_ext(fd, -1, type, data, len, NULL);
}

static wire_hs_fields *insert_entry(wire_hs_field *fd, long index)
{
    if (grow((void **)&fd->entries, &fd->cap_entries, fd->n_entries, sizeof(*fd->entries)) < 0)
        return NULL;
    size_t at = slot_index(index, fd->n_entries);
    open_slot(fd->entries, &fd->n_entries, at, sizeof(*fd->entries));
    memset(&fd->entries[at], 0, sizeof(fd->entries[at]));
    return &fd->entries[at];
}

wire_hs_fields *wire__hs_add_entry(wire_hs_field *fd)
{
    return insert_entry(fd, -1);
}

/* ---- writing ---- */

static int write_fields(const wire_hs_fields *f, wire_buf *out);

static int write_exts(const wire_hs_field *fd, wire_buf *out)
{
    for (size_t i = 0; i < fd->n_exts; i++) {
        const wire_hs_ext *e = &fd->exts[i];
        size_t len = e->has_length_override ? e->length_override : e->data.len;
        if (len > 0xffff)
            return TLSRIG_ERR_INVALID_ARGUMENT;
        uint8_t h[4] = {(uint8_t)(e->type >> 8), (uint8_t)e->type, (uint8_t)(len >> 8),
                        (uint8_t)len};
        int rc = wire_buf_append(out, h, sizeof(h));
        if (rc == 0)
            rc = wire_buf_append(out, e->data.data, e->data.len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int wire__hs_write_list(const wire_hs_field *fd, wire_buf *out)
{
    if (fd->enc == WIRE_ENC_EXTENSIONS)
        return write_exts(fd, out);
    for (size_t i = 0; i < fd->n_entries; i++) {
        int rc = write_fields(&fd->entries[i], out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* write_field appends one field: integers and opaque bytes as they are; vectors and lists
 * behind a length prefix patched in once the contents are written (or the pinned length). */
static int write_field(const wire_hs_field *fd, wire_buf *out)
{
    unsigned width = wire__hs_prefix_width(fd->enc);
    if (width == 0)
        return wire_buf_append(out, fd->value.data, fd->value.len);
    static const uint8_t zeros[3];
    size_t mark = out->len;
    int rc = wire_buf_append(out, zeros, width);
    if (rc == 0)
        rc = wire__hs_is_list(fd->enc) ? wire__hs_write_list(fd, out)
                                       : wire_buf_append(out, fd->value.data, fd->value.len);
    if (rc < 0)
        return rc;
    uint64_t len = fd->has_length_override ? fd->length_override : out->len - mark - width;
    if (len >> (8 * width) != 0)
        return TLSRIG_ERR_INVALID_ARGUMENT; /* too long for its prefix and not pinned */
    for (unsigned i = 0; i < width; i++)
        out->data[mark + i] = (uint8_t)(len >> (8 * (width - 1 - i)));
    return 0;
}

static int write_fields(const wire_hs_fields *f, wire_buf *out)
{
    for (size_t i = 0; i < f->n; i++) {
        int rc = write_field(&f->v[i], out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int wire_hs_view_write_body(const wire_hs_view *v, wire_buf *out)
{
    if (v == NULL || out == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    size_t old = out->len;
    int rc = write_fields(&v->msg, out);
    if (rc < 0)
        out->len = old;
    return rc;
}

int wire_hs_view_write(const wire_hs_view *v, wire_buf *out)
{
    wire_buf body = {0};
    int rc = wire_hs_view_write_body(v, &body);
    if (rc < 0)
        goto cleanup;
    if (!v->has_length_override) {
        rc = wire_hs_write(out, v->type, body.data, body.len);
        goto cleanup;
    }
    uint32_t len = v->length_override;
    uint8_t h[WIRE_HS_HEADER] = {v->type, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    rc = wire_buf_append(out, h, sizeof(h));
    if (rc == 0)
        rc = wire_buf_append(out, body.data, body.len);
cleanup:
    wire_buf_cleanup(&body);
    return rc;
}

int wire_hs_view_set_length_override(wire_hs_view *v, long len)
{
    if (v == NULL || len > 0xffffff)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    v->has_length_override = len >= 0;
    v->length_override = len >= 0 ? (uint32_t)len : 0;
    return 0;
}

/* ---- the view ---- */

void wire_hs_view_init(wire_hs_view *v)
{
    memset(v, 0, sizeof(*v));
}

void wire_hs_view_cleanup(wire_hs_view *v)
{
    if (v == NULL)
        return;
    wire__hs_fields_cleanup(&v->msg);
    memset(v, 0, sizeof(*v));
}

int wire_hs_view_parse_raw(wire_hs_view *v, uint8_t type, const uint8_t *body, size_t len,
                           int tls13)
{
    if (v == NULL || (body == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_hs_view_cleanup(v);
    v->type = type;
    v->tls13 = tls13 != 0;
    v->raw = 1;
    if (wire__hs_add_field(&v->msg, "body", WIRE_ENC_OPAQUE, body, len) == NULL) {
        wire_hs_view_cleanup(v);
        return TLSRIG_ERR_NOMEM;
    }
    return 0;
}

int wire_hs_view_load(wire_hs_view *v, uint8_t type, const uint8_t *body, size_t len, int tls13,
                      int *alert)
{
    int rc = wire_hs_view_parse(v, type, body, len, tls13, alert);
    if (rc == 0)
        return 1;
    if (rc != TLSRIG_ERR_INVALID_ARGUMENT || v == NULL)
        return rc;
    rc = wire_hs_view_parse_raw(v, type, body, len, tls13);
    return rc < 0 ? rc : 0;
}

/* ---- fields ---- */

size_t wire_hs_field_count(const wire_hs_fields *f)
{
    return f == NULL ? 0 : f->n;
}

long wire_hs_field_index(const wire_hs_fields *f, const char *name)
{
    if (f == NULL || name == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, name) == 0)
            return (long)i;
    return TLSRIG_ERR_NOT_AVAILABLE;
}

const wire_hs_field *wire_hs_field_get0_at(const wire_hs_fields *f, size_t i)
{
    return f == NULL || i >= f->n ? NULL : &f->v[i];
}

int wire_hs_field_get0(wire_hs_fields *f, const char *name, const uint8_t **data, size_t *len)
{
    long i = wire_hs_field_index(f, name);
    if (i < 0)
        return (int)i;
    wire_hs_field *fd = &f->v[i];
    if (wire__hs_is_list(fd->enc)) {
        /* The list's encoding is cached in |value| until the next change. */
        fd->value.len = 0;
        int rc = wire__hs_write_list(fd, &fd->value);
        if (rc < 0)
            return rc;
    }
    *data = fd->value.data;
    *len = fd->value.len;
    return 0;
}

int wire_hs_field_get_int(const wire_hs_fields *f, const char *name, uint64_t *value)
{
    long i = wire_hs_field_index(f, name);
    if (i < 0)
        return (int)i;
    const wire_hs_field *fd = &f->v[i];
    if (!wire__hs_is_int(fd->enc) || fd->value.len != (size_t)fd->enc)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    uint64_t x = 0;
    for (size_t k = 0; k < fd->value.len; k++)
        x = x << 8 | fd->value.data[k];
    *value = x;
    return 0;
}

/* set_value replaces the value of |fd| as wire_hs_field_set1 describes. */
static int set_value(wire_hs_field *fd, const uint8_t *data, size_t len)
{
    if (data == NULL && len > 0)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (wire__hs_is_int(fd->enc) && len != (size_t)fd->enc)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (wire__hs_is_list(fd->enc)) {
        /* Read into a scratch field first so a list that does not parse changes nothing. */
        wire_hs_field tmp = {.enc = fd->enc};
        int rc = wire__hs_parse_list(&tmp, data, len);
        if (rc < 0) {
            clear_lists(&tmp);
            return rc;
        }
        clear_lists(fd);
        fd->exts = tmp.exts;
        fd->n_exts = tmp.n_exts;
        fd->cap_exts = tmp.cap_exts;
        fd->entries = tmp.entries;
        fd->n_entries = tmp.n_entries;
        fd->cap_entries = tmp.cap_entries;
        return 0;
    }
    wire_buf copy = {0};
    if (wire_buf_append(&copy, data, len) < 0)
        return TLSRIG_ERR_NOMEM;
    wire_buf_cleanup(&fd->value);
    fd->value = copy;
    return 0;
}

int wire_hs_field_set1(wire_hs_fields *f, const char *name, const uint8_t *data, size_t len)
{
    long i = wire_hs_field_index(f, name);
    return i < 0 ? (int)i : set_value(&f->v[i], data, len);
}

int wire_hs_field_set_int(wire_hs_fields *f, const char *name, uint64_t value)
{
    long i = wire_hs_field_index(f, name);
    if (i < 0)
        return (int)i;
    wire_hs_field *fd = &f->v[i];
    if (!wire__hs_is_int(fd->enc))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    unsigned width = (unsigned)fd->enc;
    if (width < 8 && value >> (8 * width) != 0)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    uint8_t b[4];
    for (unsigned k = 0; k < width; k++)
        b[k] = (uint8_t)(value >> (8 * (width - 1 - k)));
    return set_value(fd, b, width);
}

int wire_hs_field_remove(wire_hs_fields *f, const char *name)
{
    long i = wire_hs_field_index(f, name);
    if (i < 0)
        return (int)i;
    wire__hs_field_cleanup(&f->v[i]);
    close_slot(f->v, &f->n, (size_t)i, sizeof(*f->v));
    return 0;
}

long wire_hs_field_insert(wire_hs_fields *f, long index, const char *name, wire_enc enc,
                          const uint8_t *data, size_t len)
{
    if (f == NULL || name == NULL || name[0] == '\0' || enc < WIRE_ENC_U8 ||
        enc > WIRE_ENC_CERT_ENTRIES || (data == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    /* An integer given no bytes is zero: so that a caller may add one, then set_int it. */
    static const uint8_t zero[4];
    if (wire__hs_is_int(enc) && len == 0)
        data = zero, len = (size_t)enc;
    size_t at = slot_index(index, f->n);
    wire_hs_field *fd = insert_field(f, (long)at, name, enc);
    if (fd == NULL)
        return TLSRIG_ERR_NOMEM;
    int rc = set_value(fd, data, len);
    if (rc < 0) {
        wire__hs_field_cleanup(fd);
        close_slot(f->v, &f->n, at, sizeof(*f->v));
        return rc;
    }
    return (long)at;
}

int wire_hs_field_set_length_override(wire_hs_fields *f, const char *name, long len)
{
    long i = wire_hs_field_index(f, name);
    if (i < 0)
        return (int)i;
    wire_hs_field *fd = &f->v[i];
    unsigned width = wire__hs_prefix_width(fd->enc);
    if (width == 0 || (len >= 0 && (uint64_t)len >> (8 * width) != 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    fd->has_length_override = len >= 0;
    fd->length_override = len >= 0 ? (uint32_t)len : 0;
    return 0;
}

/* ---- extensions ---- */

static wire_hs_field *ext_field(const wire_hs_fields *f)
{
    for (size_t i = 0; f != NULL && i < f->n; i++)
        if (f->v[i].enc == WIRE_ENC_EXTENSIONS)
            return &f->v[i];
    return NULL;
}

/* ext_field_make finds the extension list, adding an empty one at the end of |f| if none. */
static wire_hs_field *ext_field_make(wire_hs_fields *f)
{
    wire_hs_field *fd = ext_field(f);
    return fd != NULL ? fd : insert_field(f, -1, "extensions", WIRE_ENC_EXTENSIONS);
}

/* ext_at returns extension |i|, or NULL when there is none. */
static wire_hs_ext *ext_at(const wire_hs_fields *f, size_t i)
{
    wire_hs_field *fd = ext_field(f);
    return fd == NULL || i >= fd->n_exts ? NULL : &fd->exts[i];
}

size_t wire_hs_ext_count(const wire_hs_fields *f)
{
    wire_hs_field *fd = ext_field(f);
    return fd == NULL ? 0 : fd->n_exts;
}

long wire_hs_ext_find(const wire_hs_fields *f, uint16_t type, size_t from)
{
    if (f == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_hs_field *fd = ext_field(f);
    for (size_t i = from; fd != NULL && i < fd->n_exts; i++)
        if (fd->exts[i].type == type)
            return (long)i;
    return TLSRIG_ERR_NOT_AVAILABLE;
}

int wire_hs_ext_get0_at(const wire_hs_fields *f, size_t i, uint16_t *type, const uint8_t **data,
                        size_t *len)
{
    const wire_hs_ext *e = ext_at(f, i);
    if (e == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    if (type != NULL)
        *type = e->type;
    *data = e->data.data;
    *len = e->data.len;
    return 0;
}

int wire_hs_ext_get0(const wire_hs_fields *f, uint16_t type, const uint8_t **data, size_t *len)
{
    long i = wire_hs_ext_find(f, type, 0);
    return i < 0 ? (int)i : wire_hs_ext_get0_at(f, (size_t)i, NULL, data, len);
}

int wire_hs_ext_set1_at(wire_hs_fields *f, size_t i, uint16_t type, const uint8_t *data, size_t len)
{
    wire_hs_ext *e = ext_at(f, i);
    if (e == NULL || len > 0xffff || (data == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_buf copy = {0};
    if (wire_buf_append(&copy, data, len) < 0)
        return TLSRIG_ERR_NOMEM;
    wire_buf_cleanup(&e->data);
    e->data = copy;
    e->type = type;
    return 0;
}

long wire_hs_ext_insert(wire_hs_fields *f, long index, uint16_t type, const uint8_t *data,
                        size_t len)
{
    if (f == NULL || len > 0xffff || (data == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_hs_field *fd = ext_field_make(f);
    if (fd == NULL)
        return TLSRIG_ERR_NOMEM;
    size_t at = 0;
    int rc = insert_ext(fd, index, type, data, len, &at);
    return rc < 0 ? rc : (long)at;
}

long wire_hs_ext_set1(wire_hs_fields *f, uint16_t type, const uint8_t *data, size_t len)
{
    long i = wire_hs_ext_find(f, type, 0);
    if (i == TLSRIG_ERR_NOT_AVAILABLE)
        return wire_hs_ext_insert(f, -1, type, data, len);
    if (i < 0)
        return i;
    int rc = wire_hs_ext_set1_at(f, (size_t)i, type, data, len);
    return rc < 0 ? rc : i;
}

int wire_hs_ext_remove_at(wire_hs_fields *f, size_t i)
{
    wire_hs_ext *e = ext_at(f, i);
    if (e == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_hs_field *fd = ext_field(f);
    wire_buf_cleanup(&e->data);
    close_slot(fd->exts, &fd->n_exts, i, sizeof(*fd->exts));
    return 0;
}

long wire_hs_ext_remove(wire_hs_fields *f, uint16_t type)
{
    if (f == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    long removed = 0, i;
    while ((i = wire_hs_ext_find(f, type, 0)) >= 0) {
        wire_hs_ext_remove_at(f, (size_t)i);
        removed++;
    }
    return removed;
}

int wire_hs_ext_move(wire_hs_fields *f, size_t from, size_t to)
{
    wire_hs_field *fd = ext_field(f);
    if (fd == NULL || from >= fd->n_exts || to >= fd->n_exts)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire_hs_ext e = fd->exts[from];
    close_slot(fd->exts, &fd->n_exts, from, sizeof(e));
    open_slot(fd->exts, &fd->n_exts, to, sizeof(e));
    fd->exts[to] = e;
    return 0;
}

int wire_hs_ext_set_length_override(wire_hs_fields *f, size_t i, long len)
{
    wire_hs_ext *e = ext_at(f, i);
    if (e == NULL || len > 0xffff)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    e->has_length_override = len >= 0;
    e->length_override = len >= 0 ? (uint32_t)len : 0;
    return 0;
}

/* ---- certificate entries ---- */

static wire_hs_field *cert_field(const wire_hs_view *v)
{
    for (size_t i = 0; v != NULL && i < v->msg.n; i++)
        if (v->msg.v[i].enc == WIRE_ENC_CERT_LIST || v->msg.v[i].enc == WIRE_ENC_CERT_ENTRIES)
            return &v->msg.v[i];
    return NULL;
}

size_t wire_hs_view_entry_count(const wire_hs_view *v)
{
    wire_hs_field *fd = cert_field(v);
    return fd == NULL ? 0 : fd->n_entries;
}

wire_hs_fields *wire_hs_view_get0_entry(wire_hs_view *v, size_t i)
{
    wire_hs_field *fd = cert_field(v);
    return fd == NULL || i >= fd->n_entries ? NULL : &fd->entries[i];
}

long wire_hs_view_insert_entry(wire_hs_view *v, long index, const uint8_t *cert_data, size_t len)
{
    wire_hs_field *fd = cert_field(v);
    if (fd == NULL || (cert_data == NULL && len > 0))
        return TLSRIG_ERR_INVALID_ARGUMENT;
    size_t at = slot_index(index, fd->n_entries);
    wire_hs_fields *e = insert_entry(fd, (long)at);
    if (e == NULL)
        return TLSRIG_ERR_NOMEM;
    if (wire__hs_add_field(e, "cert_data", WIRE_ENC_VEC24, cert_data, len) == NULL ||
        (fd->enc == WIRE_ENC_CERT_ENTRIES &&
         wire__hs_add_field(e, "extensions", WIRE_ENC_EXTENSIONS, NULL, 0) == NULL)) {
        wire__hs_fields_cleanup(e);
        close_slot(fd->entries, &fd->n_entries, at, sizeof(*fd->entries));
        return TLSRIG_ERR_NOMEM;
    }
    return (long)at;
}

int wire_hs_view_set1_entry(wire_hs_view *v, size_t i, const uint8_t *cert_data, size_t len)
{
    wire_hs_fields *e = wire_hs_view_get0_entry(v, i);
    if (e == NULL)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    int rc = wire_hs_field_set1(e, "cert_data", cert_data, len);
    if (rc != TLSRIG_ERR_NOT_AVAILABLE)
        return rc;
    /* The caller removed it: put it back first. */
    long at = wire_hs_field_insert(e, 0, "cert_data", WIRE_ENC_VEC24, cert_data, len);
    return at < 0 ? (int)at : 0;
}

int wire_hs_view_remove_entry(wire_hs_view *v, size_t i)
{
    wire_hs_field *fd = cert_field(v);
    if (fd == NULL || i >= fd->n_entries)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    wire__hs_fields_cleanup(&fd->entries[i]);
    close_slot(fd->entries, &fd->n_entries, i, sizeof(*fd->entries));
    return 0;
}
