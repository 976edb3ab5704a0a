/*
 * pool.c - the worker pool (see pool.h): forking workers, handing them jobs, reading what
 * they send, and settling the jobs of workers that die or run out of time.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pool.h"

/* Sanitized builds check the workers for leaks themselves (see worker_main). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define TLSRIG_LSAN 1
#endif
#endif
#if !defined(TLSRIG_LSAN) && defined(__SANITIZE_ADDRESS__)
#define TLSRIG_LSAN 1
#endif
#ifndef TLSRIG_LSAN
#define TLSRIG_LSAN 0
#endif
#if TLSRIG_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* A worker process: it runs the jobs it is handed, one at a time. */
typedef struct worker {
    pid_t pid;    /* 0: no process in this slot */
    int fd;       /* the parent's end of the socket pair; -1 once the worker closed it */
    long cur;     /* the job it is running, -1 when idle */
    long ran;     /* jobs handed to it */
    double since; /* when it was handed |cur|, or when it closed its end while idle */
    pool_msg in;
    size_t got;
} worker;

/* The parent's side of the workers: their slots, what poll needs, and the queue. */
typedef struct pool {
    const pool_config *cfg;
    size_t n_jobs;
    size_t next; /* the first job not yet handed out */
    int trouble; /* a worker ended badly outside any job */
    worker *ws;
    size_t n_ws;
    struct pollfd *pfd;
    size_t *owner; /* the slot of each pfd entry */
} pool;

double pool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pool_send(int fd, int kind, int status, double seconds, const char *text)
{
    pool_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.status = status;
    m.seconds = seconds;
    snprintf(m.text, sizeof(m.text), "%s", text != NULL ? text : "");
    const char *p = (const char *)&m;
    size_t left = sizeof(m);
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(EXIT_INTERNAL);
        p += w;
        left -= (size_t)w;
    }
}

/* read_index reads the next job index the parent hands over. Returns 1, 0 at the end of
 * the stream (no more work), or -1. */
static int read_index(int fd, size_t *idx)
{
    char *p = (char *)idx;
    size_t got = 0;
    while (got < sizeof(*idx)) {
        ssize_t k = read(fd, p + got, sizeof(*idx) - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0 && got == 0)
            return 0;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 1;
}

/* worker_main runs the jobs the parent hands over |fd|, one at a time, until the parent
 * closes its end. */
static void worker_main(const pool_config *cfg, size_t n_jobs, int fd)
{
    size_t idx = 0;
    int rc;
    while ((rc = read_index(fd, &idx)) > 0) {
        if (idx >= n_jobs)
            _exit(EXIT_INTERNAL);
        cfg->ops.run(cfg->arg, idx, fd);
        pool_send(fd, POOL_MSG_DONE, 0, 0, NULL);
    }
    if (rc < 0)
        _exit(EXIT_INTERNAL);
#if TLSRIG_LSAN
    /* _exit skips the exit-time leak check, and the jobs run here, not in the parent: a
     * leak that would grow over a batch must still fail a sanitized run. */
    if (__lsan_do_recoverable_leak_check() != 0)
        _exit(EXIT_INTERNAL);
#endif
    /* _exit: the parent's atexit handlers and stdio buffers are not the worker's. */
    _exit(0);
}

/* worker_start forks a worker into the empty slot |w|. Returns 0, or -1 with a message. */
static int worker_start(pool *pl, worker *w, char *err, size_t errlen)
{
    int sv[2];
    /* A socket pair rather than pipes: the parent's sends to a worker that has died must
     * fail with EPIPE (MSG_NOSIGNAL), not raise SIGPIPE in the runner. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        truncate_into(err, errlen, "cannot create a socket pair: %s", strerror(errno));
        return -1;
    }
    /* Unwritten output would otherwise be copied into the worker and could appear twice. */
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        truncate_into(err, errlen, "cannot start a process: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        const pool_config *cfg = pl->cfg;
        size_t n_jobs = pl->n_jobs;
        close(sv[0]);
        /* A copy of another worker's channel held here would keep that worker from seeing
         * the end of its work when the parent closes its end. The rest of the pool is the
         * parent's too: dropped, so the leak check at the end of the worker sees only what
         * the jobs left. */
        for (size_t k = 0; k < pl->n_ws; k++) {
            if (pl->ws[k].pid > 0 && pl->ws[k].fd >= 0)
                close(pl->ws[k].fd);
        }
        free(pl->ws);
        free(pl->pfd);
        free(pl->owner);
        memset(pl, 0, sizeof(*pl));
        /* A runner killed from outside cannot kill its workers any more, and a hung worker
         * that never writes would never see the broken channel: tie it to the runner. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(EXIT_INTERNAL);
        worker_main(cfg, n_jobs, sv[1]);
    }
    close(sv[1]);
    memset(w, 0, sizeof(*w));
    w->pid = pid;
    w->fd = sv[0];
    w->cur = -1;
    return 0;
}

/* worker_give hands job |idx| to the idle worker |w| and starts the job's clock. Returns 0,
 * or -1 with errno when the worker cannot be reached. */
static int worker_give(worker *w, size_t idx)
{
    ssize_t k;
    do {
        k = send(w->fd, &idx, sizeof(idx), MSG_NOSIGNAL);
    } while (k < 0 && errno == EINTR);
    if (k != (ssize_t)sizeof(idx)) {
        if (k >= 0)
            errno = EIO;
        return -1;
    }
    w->cur = (long)idx;
    w->ran++;
    w->since = pool_now();
    return 0;
}

/* worker_reap closes the parent's end of |w|'s channel and waits for the process, which
 * has been killed or is on its way out. Returns the wait status; the slot keeps |cur|. */
static int worker_reap(worker *w)
{
    int wstatus = 0;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    while (waitpid(w->pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    return wstatus;
}

static void describe_end(const pool *pl, pool_end *end)
{
    switch (end->how) {
    case POOL_END_DONE:
        snprintf(end->what, sizeof(end->what), "the worker sent none");
        break;
    case POOL_END_TIMED_OUT:
        snprintf(end->what, sizeof(end->what), "timed out after %g s", pl->cfg->timeout);
        break;
    case POOL_END_DIED:
    case POOL_END_NOT_RUN:
    default:
        if (WIFSIGNALED(end->wstatus)) {
            int sig = WTERMSIG(end->wstatus);
            const char *name = strsignal(sig);
            snprintf(end->what, sizeof(end->what), "crashed: signal %d (%s)", sig,
                     name != NULL ? name : "?");
        } else if (WIFEXITED(end->wstatus)) {
            snprintf(end->what, sizeof(end->what), "exited with status %d",
                     WEXITSTATUS(end->wstatus));
        } else {
            snprintf(end->what, sizeof(end->what), "ended with wait status %d", end->wstatus);
        }
        break;
    }
}

/* job_ended tells the caller that the job |w| is running ended |how|, and leaves |w| idle. */
static void job_ended(pool *pl, worker *w, pool_end_kind how, int wstatus)
{
    pool_end end;
    memset(&end, 0, sizeof(end));
    end.how = how;
    end.wstatus = wstatus;
    end.seconds = pool_now() - w->since;
    describe_end(pl, &end);
    size_t job = (size_t)w->cur;
    w->cur = -1;
    pl->cfg->ops.ended(pl->cfg->arg, job, &end);
}

static void job_not_run(pool *pl, size_t job, const char *why)
{
    pool_end end;
    memset(&end, 0, sizeof(end));
    end.how = POOL_END_NOT_RUN;
    truncate_into(end.what, sizeof(end.what), "%s", why);
    pl->cfg->ops.ended(pl->cfg->arg, job, &end);
}

/* worker_read takes in what |w| has sent: messages go to the caller, and the end of a job
 * leaves the worker idle. At the end of the stream (the worker is exiting) the channel is
 * closed and the process is left to be reaped. */
static void worker_read(pool *pl, worker *w)
{
    while (w->fd >= 0) {
        ssize_t k = recv(w->fd, (char *)&w->in + w->got, sizeof(w->in) - w->got, MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            close(w->fd);
            w->fd = -1;
            if (w->cur < 0)
                w->since = pool_now(); /* the deadline for exiting */
            return;
        }
        w->got += (size_t)k;
        if (w->got < sizeof(w->in))
            continue;
        w->got = 0;
        w->in.text[sizeof(w->in.text) - 1] = '\0';
        if (w->cur < 0)
            continue; /* idle: nothing it sends can belong to a job */
        if (w->in.kind == POOL_MSG_DONE)
            job_ended(pl, w, POOL_END_DONE, 0);
        else
            pl->cfg->ops.message(pl->cfg->arg, (size_t)w->cur, &w->in);
    }
}

/* worker_ended settles a worker that has been reaped: the job it was running, if any, gets
 * |how| as its end, and the slot is emptied. A worker that ends badly outside any job is
 * trouble (see pool_run). */
static void worker_ended(pool *pl, worker *w, pool_end_kind how, int wstatus)
{
    if (w->cur >= 0) {
        job_ended(pl, w, how, wstatus);
    } else if (how != POOL_END_DIED || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        pool_end end = {.how = how, .wstatus = wstatus};
        describe_end(pl, &end);
        fprintf(stderr, PROG ": worker process %d %s outside any scenario\n", (int)w->pid,
                end.what);
        pl->trouble = 1;
    }
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->cur = -1;
}

/* dispatch gives every idle worker the next job not yet handed out, starting workers in
 * empty slots, and ends the idle workers that have nothing left to do or have run their
 * share (cfg->batch). */
static void dispatch(pool *pl)
{
    for (size_t k = 0; k < pl->n_ws; k++) {
        worker *w = &pl->ws[k];
        /* Empty, or idle with its channel open: a worker that closed it is exiting. */
        while (w->cur < 0 && (w->pid == 0 || w->fd >= 0)) {
            char err[POOL_TEXT_MAX];
            int done = pl->next == pl->n_jobs;
            if (w->pid > 0 && (done || (pl->cfg->batch > 0 && w->ran >= pl->cfg->batch))) {
                /* Closing its end tells it to exit: it is idle, so it does so at once. */
                int wstatus = worker_reap(w);
                worker_ended(pl, w, POOL_END_DIED, wstatus);
                continue;
            }
            if (done)
                break;
            size_t job = pl->next++;
            if (w->pid == 0 && worker_start(pl, w, err, sizeof(err)) < 0) {
                job_not_run(pl, job, err);
                continue;
            }
            if (worker_give(w, job) < 0) {
                /* It died between jobs: that death is reported on its own, and the job
                 * cannot be said to have run. */
                truncate_into(err, sizeof(err), "cannot hand the scenario to a worker process: %s",
                              strerror(errno));
                kill(w->pid, SIGKILL);
                int wstatus = worker_reap(w);
                worker_ended(pl, w, POOL_END_DIED, wstatus);
                job_not_run(pl, job, err);
            }
        }
    }
}

/* wait_for_workers polls for output, for a worker that closed its channel to be reapable,
 * or for the nearest deadline. Returns the number of workers alive; with every job handed
 * out and ended, none is left. */
static size_t wait_for_workers(pool *pl)
{
    size_t np = 0, alive = 0;
    double wait = -1, timeout = pl->cfg->timeout;
    for (size_t k = 0; k < pl->n_ws; k++) {
        worker *w = &pl->ws[k];
        if (w->pid <= 0)
            continue;
        alive++;
        if (w->fd >= 0) {
            pl->pfd[np].fd = w->fd;
            pl->pfd[np].events = POLLIN;
            pl->pfd[np].revents = 0;
            pl->owner[np++] = k;
        } else {
            wait = 0.0005; /* the channel closed: the worker is exiting, reap it soon */
        }
        if (timeout > 0 && (w->cur >= 0 || w->fd < 0)) {
            double left = w->since + timeout - pool_now();
            if (left < 0)
                left = 0;
            if (wait < 0 || left < wait)
                wait = left;
        }
    }
    if (alive == 0)
        return 0;
    /* Rounded up: waking before the deadline would only spin. */
    int ms = wait < 0 ? -1 : (int)(wait * 1000) + 1;
    int rc = poll(pl->pfd, np, ms);
    if (rc < 0 && errno != EINTR) {
        fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
        exit(EXIT_INTERNAL);
    }
    for (size_t k = 0; rc > 0 && k < np; k++) {
        if (pl->pfd[k].revents != 0)
            worker_read(pl, &pl->ws[pl->owner[k]]);
    }
    return alive;
}

/* reap_or_kill reaps the workers that have exited and kills those past their deadline.
 * Only a job's clock counts: an idle worker waiting for work has no deadline. */
static void reap_or_kill(pool *pl)
{
    double timeout = pl->cfg->timeout;
    for (size_t k = 0; k < pl->n_ws; k++) {
        worker *w = &pl->ws[k];
        int wstatus = 0;
        if (w->pid <= 0)
            continue;
        if (w->fd < 0 && waitpid(w->pid, &wstatus, WNOHANG) == w->pid) {
            worker_ended(pl, w, POOL_END_DIED, wstatus);
            continue;
        }
        if (timeout > 0 && (w->cur >= 0 || w->fd < 0) && pool_now() >= w->since + timeout) {
            kill(w->pid, SIGKILL);
            wstatus = worker_reap(w);
            worker_ended(pl, w, POOL_END_TIMED_OUT, wstatus);
        }
    }
}

int pool_run(const pool_config *cfg, size_t n_jobs)
{
    pool pl;
    memset(&pl, 0, sizeof(pl));
    pl.cfg = cfg;
    pl.n_jobs = n_jobs;
    pl.n_ws = cfg->workers < n_jobs ? cfg->workers : n_jobs;
    if (pl.n_ws == 0 && n_jobs > 0)
        pl.n_ws = 1;
    pl.ws = xcalloc(pl.n_ws, sizeof(*pl.ws));
    pl.pfd = xcalloc(pl.n_ws, sizeof(*pl.pfd));
    pl.owner = xcalloc(pl.n_ws, sizeof(*pl.owner));
    for (size_t k = 0; k < pl.n_ws; k++) {
        pl.ws[k].fd = -1;
        pl.ws[k].cur = -1;
    }
    for (;;) {
        dispatch(&pl);
        if (cfg->ops.progress != NULL)
            cfg->ops.progress(cfg->arg);
        if (wait_for_workers(&pl) == 0)
            break;
        reap_or_kill(&pl);
    }
    free(pl.ws);
    free(pl.pfd);
    free(pl.owner);
    return pl.trouble ? -1 : 0;
}
