/*
 * scenario_parser.c - fuzz target: the scenario language's parser and checker, and the
 * transcript reader, on arbitrary text. The rig reads these files from disk and from other
 * tools; it must not crash on its own input formats, however broken.
 *
 * Targets: scn_parse_text (lexing, quoting and escapes, peer blocks, ${var} substitution,
 * matrix expansion and its limits, file:line messages, nearest-word suggestions), rig_check
 * on every variant (each setting's and step's argument checks, without running anything),
 * transcript_parse (the .tls format's strict reader), and the scenario embedded in a
 * transcript that parses, as `tlsrig replay` would read it.
 *
 * Input: the text itself, no prefix. Seeds: the suite's .scn files and recorded transcripts.
 *
 * max_len: 8192 (any suite scenario fits; longer only slows the fuzzer down).
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "rig.h"
#include "transcript.h"

static void check_text(const char *name, const char *text, size_t len)
{
    scn_file f;
    char err[1024];
    if (scn_parse_text(name, text, len, &f, err, sizeof(err)) != 0) {
        fz_digest_add(err, strlen(err));
        return;
    }
    for (size_t i = 0; i < f.n_variants; i++) {
        rig_result res;
        rig_status st = rig_check(&f.variants[i], &res);
        fz_digest_add(&st, sizeof(st));
        fz_digest_add(res.message, strlen(res.message));
        rig_result_cleanup(&res);
    }
    scn_file_cleanup(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    transcript t;
    char err[1024];

    fz_digest = 0;
    check_text("fuzz.scn", (const char *)data, size);
    memset(&t, 0, sizeof(t));
    if (transcript_parse("fuzz.tls", (const char *)data, size, &t, err, sizeof(err)) == 0) {
        fz_digest_add(&t.n_chunks, sizeof(t.n_chunks));
        check_text(t.id, t.source, t.source_len);
    } else {
        fz_digest_add(err, strlen(err));
    }
    transcript_cleanup(&t);
    return 0;
}
