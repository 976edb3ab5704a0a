/*
 * keylog.c - the NSS key log format: "<LABEL> <client random hex> <secret hex>" per line,
 * '#' comments and blank lines allowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

#define WIRE__KEYLOG_NAME(name) #name,
static const char *const label_names[] = {WIRE_KEYLOG_LABELS(WIRE__KEYLOG_NAME)};
#undef WIRE__KEYLOG_NAME

const char *wire_keylog_label_name(wire_keylog_label label)
{
    return (unsigned)label < WIRE_KEYLOG_N ? label_names[label] : NULL;
}

/* Decode |n| hex digits into n/2 bytes; -1 on a non-hex digit. */
static int unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i += 2) {
        int hi = OPENSSL_hexchar2int((unsigned char)s[i]);
        int lo = OPENSSL_hexchar2int((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int bad(char *why, size_t whylen, const char *fmt, const char *arg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, fmt, arg);
    return TLSRIG_ERR_INVALID_ARGUMENT;
}

/* Split off the next space-separated word of line[*pos..len). */
static size_t next_word(const char *line, size_t len, size_t *pos, const char **word)
{
    while (*pos < len && (line[*pos] == ' ' || line[*pos] == '\t'))
        (*pos)++;
    *word = line + *pos;
    size_t start = *pos;
    while (*pos < len && line[*pos] != ' ' && line[*pos] != '\t')
        (*pos)++;
    return *pos - start;
}

/* CLIENT_TRAFFIC_SECRET_<n> / SERVER_TRAFFIC_SECRET_<n> with n >= 1 (the _0 lines have
 * labels of their own), or with the letter N itself: 0 and the label and number (0 for the
 * letter) in |out|, or -1. */
static int generation_label(const char *label, wire_keylog_entry *out)
{
    static const char *const prefix[2] = {"CLIENT_TRAFFIC_SECRET_", "SERVER_TRAFFIC_SECRET_"};
    for (int i = 0; i < 2; i++) {
        size_t pl = strlen(prefix[i]);
        const char *digits = label + pl;
        if (strncmp(label, prefix[i], pl) == 0 && strcmp(digits, "N") == 0) {
            /* OpenSSL 3.0 writes the letter itself: the lines come in KeyUpdate order */
            out->label =
                i == 0 ? WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_N : WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_N;
            out->generation = 0;
            return 0;
        }
        if (strncmp(label, prefix[i], pl) != 0 || digits[0] < '1' || digits[0] > '9' ||
            strlen(digits) > 9 || strspn(digits, "0123456789") != strlen(digits))
            continue;
        out->label =
            i == 0 ? WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_N : WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_N;
        out->generation = (unsigned)strtoul(digits, NULL, 10);
        return 0;
    }
    return -1;
}

int wire_keylog_parse_line(const char *line, size_t len, wire_keylog_entry *out, char *why,
                           size_t whylen)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    size_t pos = 0;
    const char *w;
    size_t wl = next_word(line, len, &pos, &w);
    if (wl == 0 || w[0] == '#')
        return 0;
    char label[48];
    snprintf(label, sizeof(label), "%.*s", (int)(wl < sizeof(label) - 1 ? wl : sizeof(label) - 1),
             w);
    if (strcmp(label, "RSA") == 0)
        return 0; /* an RSA pre-master secret: no use here */
    out->label = WIRE_KEYLOG_N;
    out->generation = 0;
    for (int i = 0; i < WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_N; i++)
        if (strlen(label_names[i]) == wl && memcmp(label_names[i], w, wl) == 0)
            out->label = (wire_keylog_label)i;
    if (out->label == WIRE_KEYLOG_N && generation_label(label, out) < 0)
        return bad(why, whylen, "unknown label '%s'", label);

    wl = next_word(line, len, &pos, &w);
    if (wl != 64 || unhex(w, wl, out->client_random) < 0)
        return bad(why, whylen, "%s: the client random is not 64 hex digits", label);

    wl = next_word(line, len, &pos, &w);
    if (wl == 0 || wl % 2 != 0 || wl / 2 > WIRE_KEYLOG_MAX_SECRET || unhex(w, wl, out->secret) < 0)
        return bad(why, whylen, "%s: the secret is not an even number of hex digits (at most 128)",
                   label);
    out->secret_len = wl / 2;
    if (out->label == WIRE_KEYLOG_CLIENT_RANDOM && out->secret_len != 48)
        return bad(why, whylen, "%s: a TLS 1.2 master secret is 48 bytes", label);

    wl = next_word(line, len, &pos, &w);
    if (wl != 0)
        return bad(why, whylen, "%s: unexpected words after the secret", label);
    return 1;
}

int wire_keylog_format(const wire_keylog_entry *e, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const char *name = wire_keylog_label_name(e->label);
    char numbered[48];
    if (e->label == WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_N ||
        e->label == WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_N) {
        if (e->generation > 0) {
            snprintf(numbered, sizeof(numbered), "%.22s%u", name, e->generation);
            name = numbered;
        }
    }
    if (name == NULL || e->secret_len > WIRE_KEYLOG_MAX_SECRET)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    size_t need = strlen(name) + 1 + 64 + 1 + 2 * e->secret_len + 1;
    if (cap < need)
        return TLSRIG_ERR_INVALID_ARGUMENT;
    size_t n = strlen(name);
    memcpy(out, name, n);
    out[n++] = ' ';
    for (size_t i = 0; i < 32; i++) {
        out[n++] = hex[e->client_random[i] >> 4];
        out[n++] = hex[e->client_random[i] & 15];
    }
    out[n++] = ' ';
    for (size_t i = 0; i < e->secret_len; i++) {
        out[n++] = hex[e->secret[i] >> 4];
        out[n++] = hex[e->secret[i] & 15];
    }
    out[n] = '\0';
    return (int)n;
}

long wire_keylog_add_text(wire_keylog *kl, const char *text, size_t len, size_t *bad_line,
                          char *why, size_t whylen)
{
    long added = 0;
    size_t lineno = 0, pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        lineno++;
        wire_keylog_entry e;
        int rc = wire_keylog_parse_line(text + pos, end - pos, &e, why, whylen);
        if (rc < 0) {
            if (bad_line != NULL)
                *bad_line = lineno;
            return rc;
        }
        if (rc == 1) {
            if (kl->n == kl->cap) {
                size_t cap = kl->cap > 0 ? kl->cap * 2 : 16;
                wire_keylog_entry *ne = realloc(kl->entries, cap * sizeof(*ne));
                if (ne == NULL)
                    return TLSRIG_ERR_NOMEM;
                kl->entries = ne;
                kl->cap = cap;
            }
            kl->entries[kl->n++] = e;
            added++;
        }
        pos = end + 1;
    }
    return added;
}

const wire_keylog_entry *wire_keylog_find(const wire_keylog *kl, wire_keylog_label label,
                                          const uint8_t client_random[32])
{
    for (size_t i = kl->n; i > 0; i--) {
        const wire_keylog_entry *e = &kl->entries[i - 1];
        if (e->label == label && memcmp(e->client_random, client_random, 32) == 0)
            return e;
    }
    return NULL;
}

void wire_keylog_cleanup(wire_keylog *kl)
{
    free(kl->entries);
    memset(kl, 0, sizeof(*kl));
}
