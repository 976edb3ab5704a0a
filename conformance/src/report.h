/*
 * report.h - the runner's result formats: the one-line-per-scenario text, TAP version 13,
 * JUnit XML and JSON.
 *
 * Messages come from scenario files and from the wire, so they may hold any byte. Every
 * writer turns what its format cannot carry (control characters, invalid UTF-8) into a
 * visible \xHH, so a report always parses and nothing is silently lost.
 */
#ifndef TLSRIG_REPORT_H
#define TLSRIG_REPORT_H

#include <stddef.h>
#include <stdio.h>

/* The verdict of one scenario variant as the runner reports it. */
typedef enum report_kind {
    REPORT_PASS,
    REPORT_FAIL,  /* an expectation was not met */
    REPORT_XFAIL, /* an xfail scenario failed, as expected */
    REPORT_XPASS, /* an xfail scenario passed: counts as a failure */
    REPORT_ERROR, /* it could not be judged: malformed, timed out, crashed, rig failure */
} report_kind;

typedef struct report_item {
    const char *id;   /* variant id, e.g. "x[version=1.2]" */
    const char *file; /* the scenario file */
    const char *stem; /* file stem: the JUnit classname */
    report_kind kind;
    const char *message; /* FAIL/ERROR: why; XFAIL: the xfail reason; XPASS: a note */
    const char *detail;  /* XFAIL: the failure that was expected, else NULL */
    char *const *rfcs;
    size_t n_rfcs;
    double seconds;
    const char *pcap; /* capture of a failing run, or NULL */
} report_item;

typedef struct report_counts {
    size_t passed, failed, xfailed, errors;
} report_counts;

/* report_kind_name is the word the text format and JSON use: "PASS", "FAIL", ... */
const char *report_kind_name(report_kind k);

/* report_count adds |it| to |c|; an XPASS counts as failed. */
void report_count(report_counts *c, const report_item *it);

/* report_line prints "PASS id", "FAIL id: message", ... with the message made printable. */
void report_line(FILE *out, const report_item *it);

/* report_summary prints "N passed, M failed" plus ", K xfailed" and ", E errors" when
 * nonzero, then a newline. |prefix| goes first (TAP puts the line in a comment). */
void report_summary(FILE *out, const char *prefix, const report_counts *c);

/* TAP version 13: report_tap_plan once with the number of items, then report_tap_item for
 * each in order, numbered from 1. */
void report_tap_plan(FILE *out, size_t n);
void report_tap_item(FILE *out, size_t number, const report_item *it);

/* report_junit / report_json write all |n| items to |path|, replacing it. Return 0, or -1
 * with a message in |err|. */
int report_junit(const char *path, const report_item *items, size_t n, char *err, size_t errlen);
int report_json(const char *path, const report_item *items, size_t n, char *err, size_t errlen);

#endif
