/*
 * rig.h - the scenario interpreter: compiles a parsed scenario into a program (typed steps
 * and settings) and runs it against the engine over an in-memory transport, in deterministic
 * mode. A library: the runner, the fuzz
 * targets and the corpus generator link it.
 */
#ifndef TLSRIG_RIG_H
#define TLSRIG_RIG_H

#include <stddef.h>
#include <stdint.h>

#include "scn.h"

/* Outcome of one scenario. */
typedef enum rig_status {
    RIG_PASS = 0,
    RIG_FAIL = 1,    /* an expectation was not met */
    RIG_INVALID = 2, /* the scenario is malformed (message is file:line: ...) */
    RIG_ERROR = 3,   /* the rig itself failed (out of memory, missing PKI) */
} rig_status;

/* One chunk of bytes that crossed the wire, in order. */
typedef struct rig_chunk {
    int from_server; /* 0: client -> server */
    int conn;        /* connection number within the scenario, from 0 */
    uint8_t *data;
    size_t len;
} rig_chunk;

/* What a run produced besides its verdict. */
typedef struct rig_result {
    rig_status status;
    char message[1024]; /* why it failed: "file:line: expected ..., got ..." */
    int fail_line;
    long steps_run;
    /* Filled when rig_options.capture is set. */
    rig_chunk *chunks;
    size_t n_chunks;
    char *keylog; /* NSS key log lines, '\n'-separated, NUL-terminated */
    size_t keylog_len;
} rig_result;

/* Called for every TLS record that crosses the wire (whole, header included), before it is
 * delivered. It may change the bytes in place (within |cap|) and set *len (0 drops it).
 * Return 0 to go on, negative to abort the scenario (the step then fails). This is where
 * in-flight tampering plugs in. */
typedef int (*rig_tamper_fn)(void *arg, int from_server, uint8_t *rec, size_t *len, size_t cap);

typedef struct rig_options {
    const char *pki_dir; /* test PKI folder (scripts/gen-pki.sh output) */
    int capture;         /* record wire chunks and the keylog into the result */
    double wall_limit;   /* seconds; 0 = default 10 s */
    rig_tamper_fn tamper;
    void *tamper_arg;
} rig_options;

/* rig_check validates every setting and step of |s| without running it: it compiles |s| and
 * throws the program away. Returns RIG_PASS, RIG_INVALID with the message in |res|, or
 * RIG_ERROR when out of memory. */
rig_status rig_check(const scn *s, rig_result *res);

/* rig_run compiles and then runs |s|. The result's chunks/keylog are freed by
 * rig_result_cleanup. An xfail scenario is run like any other; the caller interprets it. */
rig_status rig_run(const scn *s, const rig_options *opt, rig_result *res);

/* A compiled scenario variant (prog.h): every setting, step and expectation converted and
 * checked once, ready to run any number of times. */
typedef struct rig_program rig_program;

/* rig_compile compiles |s| into *out. Returns RIG_PASS with a new program in *out (free it
 * with rig_program_free), RIG_INVALID with "file:line: message" in |res|, or RIG_ERROR (out
 * of memory); *out is NULL on failure. The program borrows strings from |s|: |s| must
 * outlive it. */
rig_status rig_compile(const scn *s, rig_program **out, rig_result *res);

/* rig_run_program runs a compiled program, as rig_run does after compiling. |res| is reset
 * first; free its chunks/keylog with rig_result_cleanup. */
rig_status rig_run_program(const rig_program *p, const rig_options *opt, rig_result *res);

/* rig_program_free frees a program; NULL is ignored. */
void rig_program_free(rig_program *p);

void rig_result_cleanup(rig_result *res);

/* rig_prepare enters deterministic mode and warms OpenSSL's algorithm caches once, so that
 * scenarios run afterwards (in this process or in processes forked from it) start from a
 * warm deterministic source instead of building a new one each. rig_run leaves the process
 * in deterministic mode; tlsrig_deterministic_off() leaves it. Returns 0 or -1. */
int rig_prepare(void);

/* rig_step_names / rig_setting_names: NULL-terminated lists of the known words, for
 * suggestions and documentation. */
extern const char *const rig_step_names[];
extern const char *const rig_setting_names[];

#endif
