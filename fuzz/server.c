/*
 * server.c - fuzz target: a TLS server fed a client's bytes.
 *
 * Targets: OpenSSL's server state machine as the engine drives it (tlsrig_conn_do_handshake,
 * _recv, _sendall, _key_update, _renegotiate, _verify_client_post_handshake, _shutdown,
 * _read_early_data): ClientHello and extension parsing (tls_process_client_hello,
 * tls_parse_ctos_*), version and cipher selection, key exchange (ECDHE, FFDHE, DHE, static
 * RSA), client Certificate and CertificateVerify, ticket and PSK resumption, 0-RTT data,
 * renegotiation, KeyUpdate and post-handshake authentication, the record layer (ssl3_read_bytes,
 * tls1_enc, tls13_enc, CBC padding checks), and the engine around them: its ALPN, SNI, OCSP
 * and verify callbacks, context switching, error capture and every connection getter.
 *
 * Input: the tagged prefix of harness.h (server meanings: key type, version bounds, client
 * authentication, ALPN/SNI/OCSP policies, tickets, 0-RTT limit, cipher set, options, feed),
 * then what the client sends: raw records, or frames of [op][len16][bytes] that interleave
 * the server's own actions. `server --gen-seeds DIR` records framed seeds from live clients.
 *
 * max_len: 32768 (a whole handshake with a client certificate, renegotiation, and data
 * past the 16384-byte record limit).
 */
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_peer_target_initialize(1, *argc, *argv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run_input(1, data, size);
    return 0;
}

int fz_tool_main(int argc, char **argv)
{
    return fz_tool_seeds(1, argc, argv);
}
