/*
 * client.c - fuzz target: a TLS client fed a server's bytes.
 *
 * Targets: OpenSSL's client state machine as the engine drives it (tlsrig_conn_do_handshake,
 * _recv, _sendall, _write_early_data, _key_update, _renegotiate, _shutdown): ServerHello and
 * HelloRetryRequest processing (tls_process_server_hello, tls_parse_stoc_*), server
 * Certificate, chain verification and hostname checks, CertificateStatus (OCSP),
 * ServerKeyExchange and CertificateVerify signatures, CertificateRequest, PSK and ticket
 * resumption with the sessions offered (TLS 1.3 ticket with 0-RTT, TLS 1.2 ticket, TLS 1.2
 * session id), NewSessionTicket, HelloRequest, KeyUpdate and post-handshake
 * CertificateRequest, the record layer, and the engine's OCSP/verify callbacks and getters.
 *
 * Input: the tagged prefix of harness.h (client meanings: version bounds, client certificate,
 * ALPN offer, SNI and hostname check, OCSP request, session offered, 0-RTT bytes, cipher
 * set, options, feed), then what the server sends: raw records, or frames of [op][len16]
 * [bytes]. The sessions are made at start-up by real handshakes, the same in every process,
 * so the ClientHello is too. `client --gen-seeds DIR` records framed seeds from live servers.
 *
 * max_len: 32768 (a server flight with a certificate chain, tickets, and data past the
 * 16384-byte record limit).
 */
#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_peer_target_initialize(0, *argc, *argv);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run_input(0, data, size);
    return 0;
}

int fz_tool_main(int argc, char **argv)
{
    return fz_tool_seeds(0, argc, argv);
}
