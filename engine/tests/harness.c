/*
 * harness.c - see harness.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

const char *h_pki(const char *file)
{
    static char bufs[8][512];
    static int next;
    const char *dir = getenv("TLSRIG_PKI");
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir != NULL && dir[0] != '\0' ? dir : "pki", file);
    return b;
}

void h_check_ctx_rc(tlsrig_ctx *ctx, int rc, const char *what, const char *file, int line)
{
    if (rc < 0)
        fail_msg("%s:%d: %s returned %s: %s", file, line, what, tlsrig_err_name(rc),
                 ctx != NULL ? tlsrig_ctx_last_error(ctx)->message : "");
}

void h_check_conn_rc(tlsrig_conn *conn, int rc, const char *what, const char *file, int line)
{
    if (rc < 0)
        fail_msg("%s:%d: %s returned %s: %s", file, line, what, tlsrig_err_name(rc),
                 conn != NULL ? tlsrig_conn_last_error(conn)->message : "");
}

tlsrig_ctx *h_server_ctx(const char *kind)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    char chain[64], key[64];
    int rc = tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err);
    if (rc < 0)
        fail_msg("tlsrig_ctx_new: %s", err.message);
    snprintf(chain, sizeof(chain), "server-%s.chain.pem", kind);
    snprintf(key, sizeof(key), "server-%s.key", kind);
    /* The untrusted leaf comes from its own one-level CA and has no chain file. */
    if (strcmp(kind, "untrusted") == 0)
        snprintf(chain, sizeof(chain), "server-%s.crt", kind);
    h_ctx_ok(ctx, tlsrig_ctx_use_certificate_chain_file(ctx, h_pki(chain)));
    h_ctx_ok(ctx, tlsrig_ctx_use_privatekey_file(ctx, h_pki(key), TLSRIG_FILETYPE_PEM));
    return ctx;
}

tlsrig_ctx *h_client_ctx(void)
{
    tlsrig_ctx *ctx = NULL;
    tlsrig_error err;
    int rc = tlsrig_ctx_new(TLSRIG_TLS_METHOD, &ctx, &err);
    if (rc < 0)
        fail_msg("tlsrig_ctx_new: %s", err.message);
    h_ctx_ok(ctx, tlsrig_ctx_load_verify_locations(ctx, h_pki("root-ca.crt"), NULL));
    h_ctx_ok(ctx, tlsrig_ctx_set_verify(ctx, TLSRIG_VERIFY_PEER, NULL, NULL));
    return ctx;
}

void h_pair_new(h_pair *p, tlsrig_ctx *client_ctx, tlsrig_ctx *server_ctx)
{
    int capture = p->capture;
    memset(p, 0, sizeof(*p));
    p->capture = capture;
    h_ctx_ok(client_ctx, tlsrig_conn_new(client_ctx, -1, &p->client));
    h_ctx_ok(server_ctx, tlsrig_conn_new(server_ctx, -1, &p->server));
    tlsrig_conn_set_connect_state(p->client);
    tlsrig_conn_set_accept_state(p->server);
    p->client_rc = p->server_rc = TLSRIG_ERR_WANT_READ;
}

void h_pair_free(h_pair *p)
{
    tlsrig_conn_free(p->client);
    tlsrig_conn_free(p->server);
    free(p->wire);
    memset(p, 0, sizeof(*p));
}

size_t h_move(h_pair *p, tlsrig_conn *from, tlsrig_conn *to)
{
    uint8_t buf[16384 + 512];
    size_t total = 0;
    int n;
    while ((n = tlsrig_conn_bio_read(from, buf, sizeof(buf))) > 0) {
        if (p->capture) {
            p->wire = realloc(p->wire, p->wire_len + (size_t)n + 1);
            assert_non_null(p->wire);
            p->wire[p->wire_len++] = from == p->client ? 'C' : 'S';
            memcpy(p->wire + p->wire_len, buf, (size_t)n);
            p->wire_len += (size_t)n;
        }
        int w = tlsrig_conn_bio_write(to, buf, (size_t)n);
        assert_int_equal(w, n);
        total += (size_t)n;
    }
    return total;
}

size_t h_pump(h_pair *p)
{
    size_t total = 0, moved;
    do {
        moved = h_move(p, p->client, p->server) + h_move(p, p->server, p->client);
        total += moved;
    } while (moved > 0);
    return total;
}

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

int h_handshake(h_pair *p)
{
    for (int round = 0; round < 64; round++) {
        if (p->client_rc != 0)
            p->client_rc = tlsrig_conn_do_handshake(p->client);
        size_t moved = h_move(p, p->client, p->server);
        if (p->server_rc != 0)
            p->server_rc = tlsrig_conn_do_handshake(p->server);
        moved += h_move(p, p->server, p->client);
        if (p->client_rc == 0 && p->server_rc == 0 && moved == 0)
            return 0;
        if (p->client_rc < 0 && !is_want(p->client_rc)) {
            h_move(p, p->client, p->server); /* deliver the alert */
            if (p->server_rc != 0)
                p->server_rc = tlsrig_conn_do_handshake(p->server);
            return p->client_rc;
        }
        if (p->server_rc < 0 && !is_want(p->server_rc)) {
            h_move(p, p->server, p->client);
            if (p->client_rc != 0)
                p->client_rc = tlsrig_conn_do_handshake(p->client);
            return p->server_rc;
        }
        if (moved == 0 && (p->client_rc != 0 || p->server_rc != 0))
            return p->client_rc != 0 ? p->client_rc : p->server_rc; /* stuck */
    }
    return TLSRIG_ERR_WANT_READ;
}

void h_send_recv(h_pair *p, tlsrig_conn *from, tlsrig_conn *to, const void *data, size_t len)
{
    h_conn_ok(from, tlsrig_conn_sendall(from, data, len, 0));
    h_pump(p);
    uint8_t *got = malloc(len > 0 ? len : 1);
    assert_non_null(got);
    size_t have = 0;
    while (have < len) {
        int n = tlsrig_conn_recv(to, got + have, len - have, 0);
        if (n < 0) {
            free(got);
            fail_msg("recv after %zu of %zu bytes: %s: %s", have, len, tlsrig_err_name(n),
                     tlsrig_conn_last_error(to)->message);
        }
        have += (size_t)n;
    }
    assert_memory_equal(got, data, len);
    free(got);
}
