/*
 * pcapng.h - write a run's wire chunks as a pcapng capture that Wireshark/tshark opens and
 * decrypts on its own.
 *
 * The chunks never crossed a real network, so the writer invents one: every distinct
 * connection number becomes a TCP connection over IPv4 loopback, client 127.0.0.1 port
 * 49152 + conn, server 127.0.0.2 port 443 (the port tshark dissects as TLS by default). Each
 * connection gets a three-way handshake before its first chunk and a FIN exchange after its
 * last; chunks are cut into segments of at most PCAPNG_MSS bytes. Headers and checksums are
 * valid, and timestamps are synthetic (PCAPNG_EPOCH_SEC, one millisecond per packet), so
 * the same chunks always give the same file byte for byte.
 *
 * When a key log is given it is embedded in a Decryption Secrets Block ahead of the packets,
 * so no separate key log file is needed to see the plaintext.
 */
#ifndef TLSRIG_PCAPNG_H
#define TLSRIG_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#include "rig.h"

/* Largest TCP payload per segment: the Ethernet MTU (1500) less 20-byte IPv4 and TCP
 * headers. */
#define PCAPNG_MSS 1460

/* Connection numbers map to client ports 49152 + conn, which must stay below 65536. */
#define PCAPNG_MAX_CONN 16383

/* Timestamp of the first packet: 2026-01-01T00:00:00Z in seconds since the Unix epoch. */
#define PCAPNG_EPOCH_SEC 1767225600u

/* pcapng_write writes |n| chunks and the NSS key log text |keylog| (|keylog_len| bytes; none
 * when 0) to |path|. The file is written under a temporary name in the same directory and
 * renamed into place, so |path| is either the complete old file or the complete new one.
 * Returns 0, or -1 with a message in |err| (a bad argument, a connection number outside
 * 0..PCAPNG_MAX_CONN, an I/O failure). */
int pcapng_write(const char *path, const rig_chunk *chunks, size_t n, const char *keylog,
                 size_t keylog_len, char *err, size_t errlen);

#endif
