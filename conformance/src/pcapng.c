/*
 * pcapng.c - the wire chunks of a run as a pcapng capture of TCP/IPv4 over Ethernet.
 *
 * File layout (the pcapng specification, draft-ietf-opsawg-pcapng; sections are cited by
 * name because their numbers move between drafts): a Section Header Block, one Interface
 * Description Block for an Ethernet link, a Decryption Secrets Block holding the TLS key
 * log when there is one, then one Enhanced Packet Block per packet. The spec says DSBs
 * "SHOULD be written before packet blocks that require those secrets", and Wireshark reads
 * the file in one pass, so the DSB goes ahead of every packet. Every multi-byte pcapng field
 * is written little-endian on every host (the SHB's byte-order magic tells readers which
 * order the section uses), so the output does not depend on the machine that wrote it.
 *
 * Ethernet rather than LINKTYPE_RAW: every Wireshark version dissects Ethernet frames, and a
 * frame that looks like an ordinary capture avoids any doubt about raw-IP link types.
 */
#include "pcapng.h"

#include "outfile.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- pcapng constants (block definitions and the IANA considerations of the spec) ---- */

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define SECRETS_TLS_KEYLOG 0x544C534Bu /* "TLSK": NSS key log text */
#define LINKTYPE_ETHERNET 1u
#define OPT_ENDOFOPT 0u
#define OPT_SHB_USERAPPL 4u
#define SNAPLEN 65535u

/* ---- the invented network ---- */

#define ETH_HLEN 14
#define IP_HLEN 20
#define TCP_HLEN 20
#define TCP_HLEN_MSS 24 /* SYN segments carry the MSS option (RFC 793 §3.1, kind 2) */
#define FRAME_MAX (ETH_HLEN + IP_HLEN + TCP_HLEN_MSS + PCAPNG_MSS)

#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u

#define SERVER_PORT 443u        /* tshark's default TLS port: no "decode as" needed */
#define CLIENT_PORT_BASE 49152u /* start of the dynamic port range (RFC 6335 §6) */
#define WINDOW 65535u

/* The receiver acknowledges at least this often within a long chunk, so the bytes in
 * flight never reach the advertised window and the analyser sees no "window full". */
#define ACK_EVERY (16u * PCAPNG_MSS)

/* Loopback addresses (RFC 1122 §3.2.1.3: all of 127/8 is loopback). */
static const uint8_t ip_client[4] = {127, 0, 0, 1};
static const uint8_t ip_server[4] = {127, 0, 0, 2};
/* Locally administered unicast MACs (IEEE 802: the U/L bit set, I/G clear). */
static const uint8_t mac_client[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t mac_server[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

/* Direction index: 0 the client sends, 1 the server sends. */
enum { DIR_CLIENT = 0, DIR_SERVER = 1 };

typedef struct tcp_conn {
    int conn;
    size_t first, last;  /* indexes of the connection's first and last chunk */
    uint32_t snd_nxt[2]; /* next sequence number each side sends (RFC 793 §3.2 SND.NXT) */
    size_t unacked[2];   /* payload bytes sent by each side and not yet acknowledged */
} tcp_conn;

typedef struct writer {
    FILE *f;
    int io_errno;     /* first write error, 0 while all is well */
    uint64_t packets; /* packets written: the clock and the IPv4 identification */
} writer;

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Network byte order for the packet headers (RFC 791 Appendix B, RFC 793 §3.1). */
static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* pcapng pads every variable-length field to 32 bits ("General Block Structure"). */
static size_t pad4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

static void emit(writer *w, const void *p, size_t n)
{
    if (w->io_errno != 0 || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->io_errno = errno != 0 ? errno : EIO;
}

static void emit_padding(writer *w, size_t n)
{
    static const uint8_t zeros[4] = {0, 0, 0, 0};
    emit(w, zeros, pad4(n) - n);
}

/* ---- checksums ---- */

/* The 16-bit ones' complement sum of RFC 1071, over big-endian words, carried in 32 bits.
 * An odd final byte is padded with zero (RFC 793 §3.1). A frame is at most FRAME_MAX bytes,
 * so the 32-bit accumulator cannot overflow before the carries are folded back in. */
static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        acc += (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xFFFFu) + (acc >> 16);
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xFFFFu) + (acc >> 16);
    return (uint16_t)~acc;
}

/* ---- blocks ---- */

static void write_shb(writer *w)
{
    static const char appl[] = "tlsrig";
    const size_t appl_len = sizeof(appl) - 1;
    /* type, length, magic, versions, section length, option header + value, end of
     * options, trailing length */
    const size_t total = 4 + 4 + 4 + 4 + 8 + 4 + pad4(appl_len) + 4 + 4;
    uint8_t b[28];

    put_le32(b, BT_SHB);
    put_le32(b + 4, (uint32_t)total);
    put_le32(b + 8, BYTE_ORDER_MAGIC);
    put_le16(b + 12, 1); /* major version */
    put_le16(b + 14, 0); /* minor version */
    /* Section length -1: not given, readers walk the blocks ("Section Header Block"). */
    put_le32(b + 16, 0xFFFFFFFFu);
    put_le32(b + 20, 0xFFFFFFFFu);
    put_le16(b + 24, OPT_SHB_USERAPPL);
    put_le16(b + 26, (uint16_t)appl_len);
    emit(w, b, 28);
    emit(w, appl, appl_len);
    emit_padding(w, appl_len);
    put_le16(b, OPT_ENDOFOPT);
    put_le16(b + 2, 0);
    put_le32(b + 4, (uint32_t)total);
    emit(w, b, 8);
}

static void write_idb(writer *w)
{
    uint8_t b[20];
    put_le32(b, BT_IDB);
    put_le32(b + 4, sizeof(b));
    put_le16(b + 8, LINKTYPE_ETHERNET);
    put_le16(b + 10, 0); /* reserved */
    put_le32(b + 12, SNAPLEN);
    /* No options: the default if_tsresol is microseconds ("Interface Description Block"),
     * which the EPB timestamps use. */
    put_le32(b + 16, sizeof(b));
    emit(w, b, sizeof(b));
}

static void write_dsb(writer *w, const char *keylog, size_t len)
{
    const size_t total = 4 + 4 + 4 + 4 + pad4(len) + 4;
    uint8_t b[16];
    put_le32(b, BT_DSB);
    put_le32(b + 4, (uint32_t)total);
    put_le32(b + 8, SECRETS_TLS_KEYLOG);
    put_le32(b + 12, (uint32_t)len);
    emit(w, b, sizeof(b));
    emit(w, keylog, len);
    emit_padding(w, len);
    put_le32(b, (uint32_t)total);
    emit(w, b, 4);
}

static void write_epb(writer *w, const uint8_t *frame, size_t len)
{
    const size_t total = 4 + 4 + 4 + 4 + 4 + 4 + 4 + pad4(len) + 4;
    /* One millisecond per packet from PCAPNG_EPOCH_SEC, in the default microsecond
     * resolution, split into the high and low 32 bits ("Enhanced Packet Block"). */
    const uint64_t ts = (uint64_t)PCAPNG_EPOCH_SEC * 1000000u + w->packets * 1000u;
    uint8_t b[28];

    put_le32(b, BT_EPB);
    put_le32(b + 4, (uint32_t)total);
    put_le32(b + 8, 0); /* interface ID: the only IDB */
    put_le32(b + 12, (uint32_t)(ts >> 32));
    put_le32(b + 16, (uint32_t)ts);
    put_le32(b + 20, (uint32_t)len); /* captured length */
    put_le32(b + 24, (uint32_t)len); /* original length: nothing is truncated */
    emit(w, b, sizeof(b));
    emit(w, frame, len);
    emit_padding(w, len);
    put_le32(b, (uint32_t)total);
    emit(w, b, 4);
    w->packets++;
}

/* ---- packets ---- */

/* send_segment writes one TCP segment from side |dir| of |c| carrying |flags| and |len|
 * bytes of |payload|, and advances that side's sequence number by what the segment
 * occupies in sequence space: its payload, plus one for SYN and for FIN (RFC 793 §3.3). */
static void send_segment(writer *w, tcp_conn *c, int dir, unsigned flags, const uint8_t *payload,
                         size_t len)
{
    uint8_t frame[FRAME_MAX];
    const int syn = (flags & TCP_SYN) != 0;
    const size_t tcp_hlen = syn ? TCP_HLEN_MSS : TCP_HLEN;
    const size_t ip_len = IP_HLEN + tcp_hlen + len;
    uint8_t *ip = frame + ETH_HLEN;
    uint8_t *tcp = ip + IP_HLEN;
    const uint8_t *src = dir == DIR_CLIENT ? ip_client : ip_server;
    const uint8_t *dst = dir == DIR_CLIENT ? ip_server : ip_client;
    const uint16_t client_port = (uint16_t)(CLIENT_PORT_BASE + (unsigned)c->conn);
    uint8_t pseudo[12];
    uint32_t acc;

    /* Ethernet II: destination, source, EtherType IPv4. */
    memcpy(frame, dir == DIR_CLIENT ? mac_server : mac_client, 6);
    memcpy(frame + 6, dir == DIR_CLIENT ? mac_client : mac_server, 6);
    put_be16(frame + 12, 0x0800);

    /* IPv4 (RFC 791 §3.1): version 4, IHL 5 words, no options; Don't Fragment, as a TCP
     * stack doing path MTU discovery sets it; TTL 64; protocol 6 (TCP). */
    ip[0] = 0x45;
    ip[1] = 0;
    put_be16(ip + 2, (uint16_t)ip_len);
    put_be16(ip + 4, (uint16_t)(w->packets + 1u));
    put_be16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    put_be16(ip + 10, 0);
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    /* The header checksum covers the header only, computed with the field zero. */
    put_be16(ip + 10, fold(sum16(0, ip, IP_HLEN)));

    /* TCP (RFC 793 §3.1). ACK is set on every segment but the first SYN; its number is the
     * next byte expected from the peer (RCV.NXT, which is the peer's SND.NXT here since
     * nothing is ever lost). */
    put_be16(tcp, dir == DIR_CLIENT ? client_port : (uint16_t)SERVER_PORT);
    put_be16(tcp + 2, dir == DIR_CLIENT ? (uint16_t)SERVER_PORT : client_port);
    put_be32(tcp + 4, c->snd_nxt[dir]);
    put_be32(tcp + 8, (flags & TCP_ACK) ? c->snd_nxt[!dir] : 0);
    tcp[12] = (uint8_t)((tcp_hlen / 4u) << 4); /* data offset in 32-bit words */
    tcp[13] = (uint8_t)flags;
    put_be16(tcp + 14, WINDOW);
    put_be16(tcp + 16, 0); /* checksum, filled below */
    put_be16(tcp + 18, 0); /* urgent pointer */
    if (syn) {
        /* Maximum Segment Size option (RFC 793 §3.1): kind 2, length 4. */
        tcp[20] = 2;
        tcp[21] = 4;
        put_be16(tcp + 22, PCAPNG_MSS);
    }
    if (len > 0)
        memcpy(tcp + tcp_hlen, payload, len);

    /* The checksum covers a pseudo header (source, destination, zero, protocol, TCP
     * length), the TCP header and the payload (RFC 793 §3.1). */
    memcpy(pseudo, src, 4);
    memcpy(pseudo + 4, dst, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put_be16(pseudo + 10, (uint16_t)(tcp_hlen + len));
    acc = sum16(0, pseudo, sizeof(pseudo));
    acc = sum16(acc, tcp, tcp_hlen + len);
    put_be16(tcp + 16, fold(acc));

    write_epb(w, frame, ETH_HLEN + ip_len);

    c->snd_nxt[dir] += (uint32_t)len + (syn ? 1u : 0u) + ((flags & TCP_FIN) ? 1u : 0u);
}

/* Initial sequence numbers: RFC 793 §3.3 wants them unpredictable, a capture wants them
 * reproducible; a fixed function of the connection number gives distinct, stable values. */
static void open_conn(writer *w, tcp_conn *c)
{
    const uint32_t k = (uint32_t)c->conn + 1u;
    c->snd_nxt[DIR_CLIENT] = k * 0x9E3779B1u;
    c->snd_nxt[DIR_SERVER] = k * 0x85EBCA77u + 0x10000u;
    c->unacked[DIR_CLIENT] = 0;
    c->unacked[DIR_SERVER] = 0;
    /* The three-way handshake (RFC 793 §3.4, figure 7). */
    send_segment(w, c, DIR_CLIENT, TCP_SYN, NULL, 0);
    send_segment(w, c, DIR_SERVER, TCP_SYN | TCP_ACK, NULL, 0);
    send_segment(w, c, DIR_CLIENT, TCP_ACK, NULL, 0);
}

static void send_ack(writer *w, tcp_conn *c, int dir)
{
    send_segment(w, c, dir, TCP_ACK, NULL, 0);
    c->unacked[!dir] = 0;
}

/* send_data cuts |len| bytes into segments of at most PCAPNG_MSS bytes; the receiver
 * acknowledges after the last one and every ACK_EVERY bytes before it. */
static void send_data(writer *w, tcp_conn *c, int dir, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t seg = len - off < PCAPNG_MSS ? len - off : PCAPNG_MSS;
        send_segment(w, c, dir, TCP_ACK | TCP_PSH, data + off, seg);
        off += seg;
        c->unacked[dir] += seg;
        if (off == len || c->unacked[dir] >= ACK_EVERY)
            send_ack(w, c, !dir);
    }
}

/* The client closes first: FIN from the client, FIN from the server acknowledging it, and
 * the client's final ACK (RFC 793 §3.5, figure 13, with the server's ACK and FIN in one
 * segment). */
static void close_conn(writer *w, tcp_conn *c)
{
    send_segment(w, c, DIR_CLIENT, TCP_FIN | TCP_ACK, NULL, 0);
    send_segment(w, c, DIR_SERVER, TCP_FIN | TCP_ACK, NULL, 0);
    send_segment(w, c, DIR_CLIENT, TCP_ACK, NULL, 0);
}

/* ---- entry point ---- */

int pcapng_write(const char *path, const rig_chunk *chunks, size_t n, const char *keylog,
                 size_t keylog_len, char *err, size_t errlen)
{
    int rc = -1;
    rig_outfile out = {0};
    writer w = {NULL, 0, 0};
    uint32_t *slot = NULL; /* conn -> 1 + index into conns; 0 when not seen */
    tcp_conn *conns = NULL;
    size_t n_conns = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        rig_set_err(err, errlen, "pcapng: no output path given");
        goto cleanup;
    }
    if (n > 0 && chunks == NULL) {
        rig_set_err(err, errlen, "pcapng: %s: %zu chunks but no chunk array", path, n);
        goto cleanup;
    }
    if (keylog_len > 0 && keylog == NULL) {
        rig_set_err(err, errlen, "pcapng: %s: key log length %zu but no key log", path, keylog_len);
        goto cleanup;
    }
    /* Block lengths are 32-bit ("General Block Structure"): the DSB must fit with its
     * header and padding. */
    if (keylog_len > UINT32_MAX - 64u) {
        rig_set_err(err, errlen, "pcapng: %s: key log of %zu bytes is too large for one block",
                    path, keylog_len);
        goto cleanup;
    }

    /* Only a well-formed NSS key log is embedded: a capture whose secrets a reader cannot
     * parse decrypts nothing, and that is better said now than found in Wireshark. */
    if (keylog_len > 0) {
        wire_keylog kl = {0};
        size_t bad = 0;
        char why[160];
        long parsed = wire_keylog_add_text(&kl, keylog, keylog_len, &bad, why, sizeof(why));
        wire_keylog_cleanup(&kl);
        if (parsed == TLSRIG_ERR_INVALID_ARGUMENT) {
            rig_set_err(err, errlen, "pcapng: %s: key log line %zu: %s", path, bad, why);
            goto cleanup;
        }
        if (parsed < 0) {
            rig_set_err(err, errlen, "pcapng: %s: out of memory", path);
            goto cleanup;
        }
    }

    /* Validate every chunk and find each connection's first and last chunk before
     * creating anything, so a bad argument leaves no file behind. */
    slot = calloc(PCAPNG_MAX_CONN + 1u, sizeof(*slot));
    if (slot == NULL) {
        rig_set_err(err, errlen, "pcapng: %s: out of memory", path);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const rig_chunk *ch = &chunks[i];
        if (ch->conn < 0 || ch->conn > PCAPNG_MAX_CONN) {
            rig_set_err(err, errlen,
                        "pcapng: %s: chunk %zu: connection %d is outside 0..%d (client ports "
                        "start at %u)",
                        path, i, ch->conn, PCAPNG_MAX_CONN, CLIENT_PORT_BASE);
            goto cleanup;
        }
        if (ch->len > 0 && ch->data == NULL) {
            rig_set_err(err, errlen, "pcapng: %s: chunk %zu: %zu bytes but no data", path, i,
                        ch->len);
            goto cleanup;
        }
        if (slot[ch->conn] == 0) {
            tcp_conn *grown = realloc(conns, (n_conns + 1) * sizeof(*conns));
            if (grown == NULL) {
                rig_set_err(err, errlen, "pcapng: %s: out of memory", path);
                goto cleanup;
            }
            conns = grown;
            memset(&conns[n_conns], 0, sizeof(conns[n_conns]));
            conns[n_conns].conn = ch->conn;
            conns[n_conns].first = i;
            n_conns++;
            slot[ch->conn] = (uint32_t)n_conns;
        }
        conns[slot[ch->conn] - 1].last = i;
    }

    if (rig_outfile_open(&out, path, "pcapng", err, errlen) != 0)
        goto cleanup;
    w.f = out.f;

    write_shb(&w);
    write_idb(&w);
    if (keylog_len > 0)
        write_dsb(&w, keylog, keylog_len);
    for (size_t i = 0; i < n; i++) {
        const rig_chunk *ch = &chunks[i];
        tcp_conn *c = &conns[slot[ch->conn] - 1];
        if (i == c->first)
            open_conn(&w, c);
        send_data(&w, c, ch->from_server ? DIR_SERVER : DIR_CLIENT, ch->data, ch->len);
        if (i == c->last)
            close_conn(&w, c);
    }

    out.io_errno = w.io_errno;
    if (rig_outfile_commit(&out, "pcapng", err, errlen) != 0)
        goto cleanup;
    rc = 0;

cleanup:
    rig_outfile_discard(&out);
    free(conns);
    free(slot);
    return rc;
}
