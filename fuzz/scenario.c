/*
 * scenario.c - fuzz target: sequences of engine operations on two in-process peers, through
 * the conformance interpreter.
 *
 * Targets: the interpreter (rig_compile: compile*.c; rig_run_program: interp.c, interp_peer.c,
 * interp_expect.c, interp_wire.c) and, under it,
 * the engine's connection and context code on both sides at once: handshakes under varied
 * peer settings, data of varying sizes each way, peeks and recv_into, renegotiation from
 * either side, KeyUpdate, post-handshake client authentication, shutdown from either side,
 * quiet shutdown and set_shutdown, truncation (close), session saving and resumption across
 * connections, 0-RTT data, the virtual clock moving between steps (session and ticket
 * expiry), and the expectations' getters.
 *
 * Input: three header bytes choosing the two peers' settings, then one step per byte; see
 * scenario_gen.h. The generated text always parses and compiles to a program: one the
 * compiler refuses is a bug of the generator and aborts. A step that fails ends the scenario, which
 * is not a finding; crashes, sanitizer reports and hangs are. `scenario --print-scn FILE` prints
 * the scenario an input makes (fuzz/scenario_to_scn wraps it), to turn a finding into a .scn file.
 *
 * max_len: 128 (three header bytes and up to 120 steps).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rig.h"
#include "scenario_gen.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (rig_prepare() < 0)
        fz_fatal("cannot enter deterministic mode");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scn_file f;
    char err[1024];
    size_t len = 0;
    char *text = sg_generate(data, size, &len);

    int slow = 0;

    fz_digest = 0;
    if (text == NULL)
        return 0; /* out of memory: nothing was run */
    if (scn_parse_text("fuzz.scn", text, len, &f, err, sizeof(err)) != 0)
        fz_fatal("the generated scenario does not parse: %s\n%s", err, text);
    for (size_t i = 0; i < f.n_variants; i++) {
        rig_options opt;
        rig_result res;
        rig_program *prog = NULL;
        memset(&opt, 0, sizeof(opt));
        opt.pki_dir = fz_pki_dir();
        /* A scenario that runs this long is slow, not hung: stop it and move on. */
        opt.wall_limit = 5.0;
        rig_status st = rig_compile(&f.variants[i], &prog, &res);
        if (st != RIG_PASS)
            fz_fatal("the generated scenario does not compile: %s\n%s", res.message, text);
        st = rig_run_program(prog, &opt, &res);
        rig_program_free(prog);
        if (st == RIG_INVALID || st == RIG_ERROR)
            fz_fatal("the generated scenario was refused: %s\n%s", res.message, text);
        long verdict[3] = {(long)st, res.steps_run, res.fail_line};
        fz_digest_add(verdict, sizeof(verdict));
        if (strstr(res.message, "wall-clock limit exceeded") != NULL)
            slow = 1;
        rig_result_cleanup(&res);
    }
    if (slow)
        fz_digest = FZ_DIGEST_UNSTABLE; /* where it stopped depended on the machine's speed */
    scn_file_cleanup(&f);
    free(text);
    return 0;
}

int fz_tool_main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--print-scn") != 0)
        return -1;
    FILE *in = fopen(argv[2], "rb");
    if (in == NULL) {
        perror(argv[2]);
        return 1;
    }
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    size_t len = 0;
    char *text = sg_generate(buf, n, &len);
    if (text == NULL)
        return 1;
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}
