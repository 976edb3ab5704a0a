/*
 * pool.h - the worker pool: jobs run in forked worker processes, so a job that crashes or
 * hangs costs only itself.
 *
 * The engine under test may crash or spin, and one job doing so must still leave a verdict
 * for every other one: the parent hands a worker one job at a time (its index) over a socket
 * pair, the worker sends back messages about it and then a "done", and the parent turns a
 * worker's death into the end of the job it was running and kills a worker whose job
 * outlives the timeout. A fresh worker then takes the rest. A worker runs many jobs because
 * a process per job costs more than most jobs do (fork, copy-on-write faults, exit); a job
 * must therefore not depend on the ones run before it in the same process.
 *
 * Jobs are handed out in index order, one at a time as workers free up, so N workers stay
 * balanced however long each job takes.
 */
#ifndef TLSRIG_CLI_POOL_H
#define TLSRIG_CLI_POOL_H

#include <stddef.h>

#define POOL_TEXT_MAX 2048

/* What a worker sends about its job. Fixed size, so the parent knows where one ends. The
 * kind is the caller's, except POOL_MSG_DONE, which the pool sends itself. */
typedef struct pool_msg {
    int kind;
    int status;
    double seconds;
    char text[POOL_TEXT_MAX];
} pool_msg;

#define POOL_MSG_DONE 'D'

/* How a job's run came to an end. */
typedef enum pool_end_kind {
    POOL_END_DONE,      /* the worker said the job is over */
    POOL_END_DIED,      /* the worker ended while running it */
    POOL_END_TIMED_OUT, /* the worker was killed at the deadline */
    POOL_END_NOT_RUN,   /* no worker could be started or reached: the job never ran */
} pool_end_kind;

typedef struct pool_end {
    pool_end_kind how;
    int wstatus;     /* DIED, TIMED_OUT: the worker's wait status */
    double seconds;  /* from handing the job out to its end */
    char what[1024]; /* in words: "crashed: signal 11 (Segmentation fault)", "timed out after
                        20 s", "exited with status 1", "the worker sent none" (DONE), or why
                        the job did not run (NOT_RUN) */
} pool_end;

/* What the pool calls. |arg| is pool_config.arg; |job| is an index below n_jobs. */
typedef struct pool_ops {
    /* In a worker: run |job|, telling the parent about it with pool_send(|fd|, ...). */
    void (*run)(void *arg, size_t job, int fd);
    /* In the parent: |m| arrived about |job|, in the order the worker sent it. */
    void (*message)(void *arg, size_t job, const pool_msg *m);
    /* In the parent: |job| is over; called once for every job. */
    void (*ended)(void *arg, size_t job, const pool_end *end);
    /* In the parent, after each round of handing out and reading: a chance to print what is
     * finished. Called once more after the last job ended. May be NULL. */
    void (*progress)(void *arg);
} pool_ops;

typedef struct pool_config {
    size_t workers; /* at most this many worker processes at once (at least 1) */
    long batch;     /* jobs one worker runs before a fresh one takes over; 0: no limit */
    double timeout; /* seconds a job may take before its worker is killed; 0: never */
    pool_ops ops;
    void *arg;
} pool_config;

/* pool_run runs jobs 0 .. |n_jobs|-1 on worker processes forked from the caller and returns
 * when every job has ended and every worker is gone. The workers inherit the caller's
 * memory as it was at the fork: what ops.run reads must be set up before the call.
 *
 * Returns 0, or -1 when a worker ended badly outside any job (a sanitizer's leak check when
 * it exits, a kill from outside): no job is to blame, but the run cannot be called clean; a
 * line on stderr says which. Exits with status 3 when it cannot wait for the workers. */
int pool_run(const pool_config *cfg, size_t n_jobs);

/* pool_send writes one message to the parent, from a worker. The text is cut to fit. A
 * worker that cannot reach its parent has no one to work for: it exits with status 3. */
void pool_send(int fd, int kind, int status, double seconds, const char *text);

/* pool_now is a monotonic clock in seconds. */
double pool_now(void);

#endif
