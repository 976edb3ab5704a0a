/*
 * report.c - the runner's result formats (see report.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* How a byte string is made safe for one format. */
typedef enum esc_fmt {
    ESC_TEXT, /* one terminal line: control characters become \n, \t, \xHH */
    ESC_JSON, /* inside a JSON string */
    ESC_XML,  /* XML attribute value or character data */
} esc_fmt;

/* utf8_len is the length of the well-formed UTF-8 sequence at |p| (|left| bytes
 * available), or 0 when it is not one (overlong forms, surrogates and values past U+10FFFF
 * included), so that such bytes are shown as \xHH rather than passed on to a parser that
 * rejects the whole report. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    uint32_t cp;
    size_t n;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    /* XML 1.0 does not allow these two even as character references. */
    if (cp == 0xfffe || cp == 0xffff)
        return 0;
    return n;
}

static void put_hex_byte(FILE *f, esc_fmt fmt, unsigned char c)
{
    /* JSON needs the backslash itself escaped to keep "\x" as visible text. */
    fprintf(f, fmt == ESC_JSON ? "\\\\x%02x" : "\\x%02x", c);
}

static void put_escaped(FILE *f, const char *str, esc_fmt fmt)
{
    const unsigned char *p = (const unsigned char *)(str != NULL ? str : "");
    size_t left = strlen((const char *)p);
    while (left > 0) {
        size_t n = utf8_len(p, left);
        if (n == 0) {
            put_hex_byte(f, fmt, *p);
            p++;
            left--;
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, n, f);
            p += n;
            left -= n;
            continue;
        }
        unsigned char c = *p++;
        left--;
        switch (fmt) {
        case ESC_TEXT:
            if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c == '\r')
                fputs("\\r", f);
            else if (c < 0x20 || c == 0x7f)
                put_hex_byte(f, fmt, c);
            else
                fputc(c, f);
            break;
        case ESC_JSON:
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c == '\r')
                fputs("\\r", f);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
            break;
        case ESC_XML:
            if (c == '&')
                fputs("&amp;", f);
            else if (c == '<')
                fputs("&lt;", f);
            else if (c == '>')
                fputs("&gt;", f);
            else if (c == '"')
                fputs("&quot;", f);
            else if (c == '\'')
                fputs("&apos;", f);
            else if (c == '\n' || c == '\t' || c == '\r')
                /* As references they survive attribute-value normalization. */
                fprintf(f, "&#%d;", c);
            else if (c < 0x20)
                put_hex_byte(f, fmt, c); /* not allowed in XML 1.0 at all */
            else
                fputc(c, f);
            break;
        default:
            fputc('?', f);
            break;
        }
    }
}

const char *report_kind_name(report_kind k)
{
    switch (k) {
    case REPORT_PASS:
        return "PASS";
    case REPORT_FAIL:
        return "FAIL";
    case REPORT_XFAIL:
        return "XFAIL";
    case REPORT_XPASS:
        return "XPASS";
    case REPORT_ERROR:
        return "ERROR";
    default:
        return "ERROR";
    }
}

void report_count(report_counts *c, const report_item *it)
{
    switch (it->kind) {
    case REPORT_PASS:
        c->passed++;
        break;
    case REPORT_FAIL:
    case REPORT_XPASS:
        c->failed++;
        break;
    case REPORT_XFAIL:
        c->xfailed++;
        break;
    case REPORT_ERROR:
        c->errors++;
        break;
    default:
        c->errors++;
        break;
    }
}

void report_line(FILE *out, const report_item *it)
{
    fprintf(out, "%s ", report_kind_name(it->kind));
    put_escaped(out, it->id, ESC_TEXT);
    if (it->kind != REPORT_PASS && it->message != NULL && it->message[0] != '\0') {
        fputs(": ", out);
        put_escaped(out, it->message, ESC_TEXT);
    }
    fputc('\n', out);
}

void report_summary(FILE *out, const char *prefix, const report_counts *c)
{
    fprintf(out, "%s%zu passed, %zu failed", prefix != NULL ? prefix : "", c->passed, c->failed);
    if (c->xfailed > 0)
        fprintf(out, ", %zu xfailed", c->xfailed);
    if (c->errors > 0)
        fprintf(out, ", %zu errors", c->errors);
    fputc('\n', out);
}

/* ---- TAP ---- */

void report_tap_plan(FILE *out, size_t n)
{
    fprintf(out, "TAP version 13\n1..%zu\n", n);
}

/* A YAML double-quoted scalar takes the JSON escapes, so the JSON escaper serves. */
static void tap_yaml(FILE *out, const char *key, const char *value)
{
    fprintf(out, "  %s: \"", key);
    put_escaped(out, value, ESC_JSON);
    fputs("\"\n", out);
}

void report_tap_item(FILE *out, size_t number, const report_item *it)
{
    /* An expected failure is a TODO test: harnesses do not count it as a failure. An
     * unexpected pass is reported as not ok, because the runner counts it as one (a TODO
     * that passes would be ignored). */
    int ok = it->kind == REPORT_PASS;
    fprintf(out, "%s %zu - ", ok ? "ok" : "not ok", number);
    put_escaped(out, it->id, ESC_TEXT);
    if (it->kind == REPORT_XFAIL) {
        fputs(" # TODO ", out);
        put_escaped(out, it->message, ESC_TEXT);
    }
    fputc('\n', out);
    if (it->kind == REPORT_PASS)
        return;
    fputs("  ---\n", out);
    tap_yaml(out, "status", report_kind_name(it->kind));
    tap_yaml(out, "file", it->file);
    if (it->message != NULL && it->message[0] != '\0')
        tap_yaml(out, "message", it->message);
    if (it->detail != NULL)
        tap_yaml(out, "detail", it->detail);
    if (it->pcap != NULL)
        tap_yaml(out, "pcap", it->pcap);
    fputs("  ...\n", out);
}

/* ---- files ---- */

/* finish closes |f| and reports a write error that fclose or an earlier fprintf hit. */
static int finish(FILE *f, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);
    int e = errno;
    if (fclose(f) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e != 0 ? e : EIO));
        return -1;
    }
    return 0;
}

static FILE *open_out(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

/* The first line of a message, for the JUnit message attribute; the whole text goes in
 * the element body. */
static void put_first_line(FILE *f, const char *s)
{
    char buf[1024];
    size_t n = strcspn(s != NULL ? s : "", "\n");
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, s != NULL ? s : "", n);
    buf[n] = '\0';
    put_escaped(f, buf, ESC_XML);
}

static void junit_element(FILE *f, const char *tag, const char *type, const char *message,
                          const char *body)
{
    fprintf(f, "      <%s type=\"%s\" message=\"", tag, type);
    put_first_line(f, message);
    fputs("\">", f);
    put_escaped(f, body, ESC_XML);
    fprintf(f, "</%s>\n", tag);
}

int report_junit(const char *path, const report_item *items, size_t n, char *err, size_t errlen)
{
    report_counts c = {0};
    double total = 0;
    size_t skipped = 0;
    FILE *f = open_out(path, err, errlen);
    if (f == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        report_count(&c, &items[i]);
        total += items[i].seconds;
        if (items[i].kind == REPORT_XFAIL)
            skipped++;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"tlsrig\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\" time=\"%.3f\">\n",
            n, c.failed, c.errors, skipped, total);
    fprintf(f,
            "  <testsuite name=\"tlsrig\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "skipped=\"%zu\" time=\"%.3f\">\n",
            n, c.failed, c.errors, skipped, total);
    for (size_t i = 0; i < n; i++) {
        const report_item *it = &items[i];
        fputs("    <testcase classname=\"", f);
        put_escaped(f, it->stem, ESC_XML);
        fputs("\" name=\"", f);
        put_escaped(f, it->id, ESC_XML);
        fputs("\" file=\"", f);
        put_escaped(f, it->file, ESC_XML);
        fprintf(f, "\" time=\"%.3f\"", it->seconds);
        switch (it->kind) {
        case REPORT_PASS:
            fputs("/>\n", f);
            continue;
        case REPORT_FAIL:
            fputs(">\n", f);
            junit_element(f, "failure", "FAIL", it->message, it->message);
            break;
        case REPORT_XPASS:
            fputs(">\n", f);
            junit_element(f, "failure", "XPASS", it->message, it->message);
            break;
        case REPORT_XFAIL:
            fputs(">\n      <skipped type=\"xfail\" message=\"", f);
            put_first_line(f, it->message);
            fputs("\">", f);
            put_escaped(f, it->detail, ESC_XML);
            fputs("</skipped>\n", f);
            break;
        case REPORT_ERROR:
            fputs(">\n", f);
            junit_element(f, "error", "ERROR", it->message, it->message);
            break;
        default:
            fputs(">\n", f);
            junit_element(f, "error", "ERROR", "unknown verdict", it->message);
            break;
        }
        fputs("    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    return finish(f, path, err, errlen);
}

static void json_string(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    put_escaped(f, s, ESC_JSON);
    fputc('"', f);
}

int report_json(const char *path, const report_item *items, size_t n, char *err, size_t errlen)
{
    FILE *f = open_out(path, err, errlen);
    if (f == NULL)
        return -1;
    fputs("[", f);
    for (size_t i = 0; i < n; i++) {
        const report_item *it = &items[i];
        fputs(i == 0 ? "\n  {\"id\": " : ",\n  {\"id\": ", f);
        json_string(f, it->id);
        fputs(", \"file\": ", f);
        json_string(f, it->file);
        fputs(", \"status\": ", f);
        json_string(f, report_kind_name(it->kind));
        fputs(", \"message\": ", f);
        json_string(f, it->message != NULL ? it->message : "");
        fputs(", \"rfc\": [", f);
        for (size_t r = 0; r < it->n_rfcs; r++) {
            if (r > 0)
                fputs(", ", f);
            json_string(f, it->rfcs[r]);
        }
        fprintf(f, "], \"seconds\": %.6f, \"detail\": ", it->seconds);
        json_string(f, it->detail);
        fputs(", \"pcap\": ", f);
        json_string(f, it->pcap);
        fputs("}", f);
    }
    fputs(n > 0 ? "\n]\n" : "]\n", f);
    return finish(f, path, err, errlen);
}
