/*
 * job.c - a job's verdict: what its worker sent and how its run ended make the result line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"

void job_set(cli_job *j, report_kind kind, int exit_code, const char *fmt, ...)
{
    va_list ap;
    j->done = 1;
    j->kind = kind;
    j->exit_code = exit_code;
    va_start(ap, fmt);
    vsnprintf(j->message, sizeof(j->message), fmt, ap);
    va_end(ap);
}

cli_job *malformed_job(cli_job *j, const char *label, const char *file, const char *stem,
                       const char *message)
{
    memset(j, 0, sizeof(*j));
    j->label = label;
    j->file = file;
    j->stem = stem;
    job_set(j, REPORT_ERROR, EXIT_USAGE, "%s", message);
    return j;
}

int cmp_job(const void *a, const void *b)
{
    const cli_job *x = a, *y = b;
    int c = strverscmp(x->label, y->label);
    return c != 0 ? c : strverscmp(x->file, y->file);
}

report_item job_item(const cli_job *j)
{
    report_item it;
    memset(&it, 0, sizeof(it));
    it.id = j->label;
    it.file = j->file;
    it.stem = j->stem;
    it.kind = j->kind;
    it.message = j->message;
    it.detail = j->kind == REPORT_XFAIL ? j->detail : NULL;
    if (j->s != NULL) {
        it.rfcs = j->s->rfcs;
        it.n_rfcs = j->s->n_rfcs;
    }
    it.seconds = j->seconds;
    it.pcap = j->pcap[0] != '\0' ? j->pcap : NULL;
    return it;
}

void job_take_message(cli_job *j, const pool_msg *m)
{
    switch ((cli_msg_kind)m->kind) {
    case MSG_VERDICT:
        if (!j->have_verdict) {
            j->verdict = *m;
            j->have_verdict = 1;
        }
        break;
    case MSG_CAPTURE:
        if (!j->have_capture) {
            j->capture = *m;
            j->have_capture = 1;
        }
        break;
    default:
        break;
    }
}

/* verdict_outcome turns the worker's rig_status into the reported verdict. */
static void verdict_outcome(const cli_runner *r, cli_job *j)
{
    const char *xfail = r->ignore_xfail ? NULL : j->s->xfail;
    const char *text = j->verdict.text;
    j->seconds = j->verdict.seconds;
    switch ((rig_status)j->verdict.status) {
    case RIG_PASS:
        if (xfail != NULL)
            job_set(j, REPORT_XPASS, EXIT_FAILED, "passed, but is marked xfail: %s", xfail);
        else
            job_set(j, REPORT_PASS, EXIT_PASSED, "%s", "");
        break;
    case RIG_FAIL:
        if (xfail != NULL) {
            job_set(j, REPORT_XFAIL, EXIT_PASSED, "%s", xfail);
            snprintf(j->detail, sizeof(j->detail), "%s", text);
        } else {
            job_set(j, REPORT_FAIL, EXIT_FAILED, "%s", text);
        }
        break;
    case RIG_INVALID:
        job_set(j, REPORT_ERROR, EXIT_USAGE, "%s", text);
        break;
    case RIG_ERROR:
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "%s", text);
        break;
    default:
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "unknown status %d: %s", j->verdict.status, text);
        break;
    }
}

/* note_capture appends to a FAIL line where the capture of the failing run is. */
static void note_capture(cli_job *j, const pool_end *end)
{
    size_t used = strlen(j->message);
    char *tail = j->message + used;
    size_t room = sizeof(j->message) - used;
    if (j->have_capture && j->capture.status >= 0) {
        truncate_into(j->pcap, sizeof(j->pcap), "%s", j->capture.text);
        snprintf(tail, room, " (capture: %s%s)", j->pcap,
                 j->capture.status == 1 ? "; the capture run went differently" : "");
    } else if (j->have_capture) {
        snprintf(tail, room, " (no capture: %s)", j->capture.text);
    } else {
        snprintf(tail, room, " (no capture: %s)", end->what);
    }
}

void job_finish(const cli_runner *r, cli_job *j, const pool_end *end)
{
    if (end->how == POOL_END_NOT_RUN) {
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "%s", end->what);
        return;
    }
    if (!j->have_verdict && end->how == POOL_END_DONE) {
        job_set(j, REPORT_ERROR, EXIT_INTERNAL, "the worker ended the scenario without a verdict");
        j->seconds = end->seconds;
        return;
    }
    if (!j->have_verdict) {
        /* A worker that exits without a verdict died inside the scenario: sanitizers, for
         * one, report a crash and exit instead of dying by the signal. That is the
         * scenario's failure, not the runner's. */
        job_set(j, REPORT_ERROR, EXIT_FAILED, "%s%s", end->what,
                end->how == POOL_END_DIED && !WIFSIGNALED(end->wstatus) ? " without a verdict"
                                                                        : "");
        j->seconds = end->seconds;
        return;
    }
    verdict_outcome(r, j);
    if (r->note_capture && j->kind == REPORT_FAIL)
        note_capture(j, end);
}
