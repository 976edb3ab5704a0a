/*
 * client_mitm.c - fuzz target: a TLS client and a live server, with a man in the middle that
 * edits what the server sends, decrypted, and re-protects it under the live keys.
 *
 * Targets: what a client parses under encryption, which a fed-bytes target cannot reach
 * since it cannot encrypt: TLS 1.3 EncryptedExtensions (tls_process_encrypted_extensions,
 * tls_parse_stoc_*), Certificate, CertificateRequest in the handshake and after it
 * (tls_process_certificate_request), CertificateVerify, Finished, NewSessionTicket
 * (tls_process_new_session_ticket), KeyUpdate; TLS 1.2 Finished, NewSessionTicket, a
 * server's HelloRequest (tls_process_hello_req) and the renegotiation after it, a
 * renegotiation the client starts, and data after them; the record layer taking
 * re-protected records; and the engine's getters, verify and OCSP callbacks.
 *
 * Input: the tagged prefix of harness.h for the client (FEED bit 0: the middle's Finished
 * fix-up; ACTIONS: the client's closing ops; TICKETS: the session offered, as for the client
 * target), a second tagged prefix for the live server (server meanings), then the edit list
 * (harness.h, "the edit list"). `client_mitm --print-scn FILE` prints the input as a
 * scenario; `--gen-seeds DIR` writes the seeds.
 *
 * max_len: 4096 (two prefixes and up to 64 edits with their bytes; a replaced Certificate
 * fits).
 */
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_mitm_initialize(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_mitm_run_input(0, data, size, NULL);
    return 0;
}

int fz_tool_main(int argc, char **argv)
{
    return fz_mitm_tool_main(0, argc, argv);
}
