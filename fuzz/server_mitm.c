/*
 * server_mitm.c - fuzz target: a TLS server and a live client, with a man in the middle that
 * edits what the client sends, decrypted, and re-protects it under the live keys.
 *
 * Targets: what a server parses under encryption, which a fed-bytes target cannot reach past
 * the first Finished: TLS 1.3 client Certificate, CertificateVerify and Finished
 * (tls_process_client_certificate, tls_process_cert_verify, tls_process_finished), KeyUpdate
 * (tls_process_key_update), post-handshake Certificate answers, EndOfEarlyData, unexpected
 * messages and alerts after the handshake; TLS 1.2 Finished, renegotiation started by either
 * side (the client's second ClientHello under the first keys, tls_parse_ctos_renegotiate)
 * and data after it; the record layer taking re-protected records (tls13_enc, tls1_enc,
 * ssl3_get_record); and the engine around them.
 *
 * Input: the tagged prefix of harness.h for the server (FEED bit 0: the middle's Finished
 * fix-up; ACTIONS: the server's closing ops), a second tagged prefix for the live client
 * (client meanings; TICKETS 1/2 offers a TLS 1.3 / 1.2 ticket this server issued at
 * start-up), then the edit list (harness.h, "the edit list"). `server_mitm --print-scn FILE`
 * prints the input as a scenario; `--gen-seeds DIR` writes the seeds.
 *
 * max_len: 4096 (two prefixes and up to 64 edits with their bytes; a replaced Certificate
 * fits).
 */
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_mitm_initialize(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_mitm_run_input(1, data, size, NULL);
    return 0;
}

int fz_tool_main(int argc, char **argv)
{
    return fz_mitm_tool_main(1, argc, argv);
}
