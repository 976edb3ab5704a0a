/*
 * test_sock.c - connections on socket file descriptors (engine/src/sock.c and the socket path
 * of conn.c): a blocking handshake over a socketpair with the server in a thread, non-blocking
 * sockets driven by poll(), connect/connect_ex/accept over loopback TCP, sock_shutdown, and
 * the socket functions refused on memory-BIO connections. Every wait is bounded: blocking
 * sockets get SO_RCVTIMEO/SO_SNDTIMEO, poll() a timeout, loops a round limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "harness.h"

#define POLL_MS 5000 /* no step of a loopback exchange may take this long */
#define MAX_ROUNDS 1000

/* ---- helpers ---- */

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A blocking socket that gives up after POLL_MS instead of hanging the test. */
static void set_timeouts(int fd)
{
    struct timeval tv = {POLL_MS / 1000, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
}

static int is_want(int rc)
{
    return rc == TLSRIG_ERR_WANT_READ || rc == TLSRIG_ERR_WANT_WRITE;
}

/* Waits until |conn|'s socket is ready for what |want| asks; fails the test on timeout. */
static void wait_for(tlsrig_conn *conn, int want, const char *what)
{
    struct pollfd pfd = {tlsrig_conn_get_fd(conn), want == TLSRIG_ERR_WANT_WRITE ? POLLOUT : POLLIN,
                         0};
    int n = poll(&pfd, 1, POLL_MS);
    if (n < 0)
        fail_msg("%s: poll: %s", what, strerror(errno));
    if (n == 0)
        fail_msg("%s: nothing happened for %d ms while waiting for %s", what, POLL_MS,
                 tlsrig_err_name(want));
}

/* Drives two non-blocking connections through their handshakes in one thread: each side runs
 * until it wants I/O, then poll() waits for what the unfinished sides want. */
static void nb_handshake(tlsrig_conn *a, tlsrig_conn *b)
{
    tlsrig_conn *conns[2] = {a, b};
    int rc[2] = {TLSRIG_ERR_WANT_READ, TLSRIG_ERR_WANT_READ};
    for (int round = 0; round < MAX_ROUNDS; round++) {
        for (int i = 0; i < 2; i++) {
            if (rc[i] == 0)
                continue;
            rc[i] = tlsrig_conn_do_handshake(conns[i]);
            if (rc[i] != 0 && !is_want(rc[i]))
                fail_msg("%s handshake: %s: %s",
                         tlsrig_conn_is_server(conns[i]) ? "server" : "client",
                         tlsrig_err_name(rc[i]), tlsrig_conn_last_error(conns[i])->message);
        }
        if (rc[0] == 0 && rc[1] == 0)
            return;
        struct pollfd pfd[2];
        nfds_t n = 0;
        for (int i = 0; i < 2; i++)
            if (rc[i] != 0)
                pfd[n++] = (struct pollfd){tlsrig_conn_get_fd(conns[i]),
                                           rc[i] == TLSRIG_ERR_WANT_WRITE ? POLLOUT : POLLIN, 0};
        int ready = poll(pfd, n, POLL_MS);
        if (ready < 0)
            fail_msg("handshake: poll: %s", strerror(errno));
        if (ready == 0)
            fail_msg("handshake stalled for %d ms (client %s, server %s)", POLL_MS,
                     tlsrig_err_name(rc[0]), tlsrig_err_name(rc[1]));
    }
    fail_msg("handshake not complete after %d rounds", MAX_ROUNDS);
}

/* Reads exactly |len| bytes from a non-blocking connection, polling while it wants. */
static void nb_recv_all(tlsrig_conn *conn, uint8_t *buf, size_t len)
{
    size_t have = 0;
    for (int round = 0; have < len; round++) {
        if (round == MAX_ROUNDS)
            fail_msg("recv: %zu of %zu bytes after %d rounds", have, len, MAX_ROUNDS);
        int n = tlsrig_conn_recv(conn, buf + have, len - have, 0);
        if (is_want(n)) {
            wait_for(conn, n, "recv");
            continue;
        }
        if (n < 0)
            fail_msg("recv after %zu of %zu bytes: %s: %s", have, len, tlsrig_err_name(n),
                     tlsrig_conn_last_error(conn)->message);
        have += (size_t)n;
    }
}

/* Writes |len| bytes on a non-blocking connection. Contexts have MODE_ENABLE_PARTIAL_WRITE (as
 * in pyOpenSSL), so a write may take fewer bytes; one that wants is retried from the same
 * place, as OpenSSL requires. */
static void nb_send_all(tlsrig_conn *conn, const void *buf, size_t len)
{
    size_t sent = 0;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int n = tlsrig_conn_write(conn, (const uint8_t *)buf + sent, len - sent);
        if (n > 0) {
            sent += (size_t)n;
            if (sent == len)
                return;
            continue;
        }
        if (!is_want(n))
            fail_msg("write: %s: %s", tlsrig_err_name(n), tlsrig_conn_last_error(conn)->message);
        wait_for(conn, n, "write");
    }
    fail_msg("write: %zu of %zu bytes after %d rounds", sent, len, MAX_ROUNDS);
}

static void nb_exchange(tlsrig_conn *from, tlsrig_conn *to, const char *msg)
{
    uint8_t buf[64];
    size_t len = strlen(msg);
    assert_true(len <= sizeof(buf));
    nb_send_all(from, msg, len);
    nb_recv_all(to, buf, len);
    assert_memory_equal(buf, msg, len);
}

static void new_sock_conn(tlsrig_ctx *ctx, int fd, tlsrig_conn **out)
{
    h_ctx_ok(ctx, tlsrig_conn_new(ctx, fd, out));
    assert_int_equal(tlsrig_conn_get_fd(*out), fd);
}

/* A TCP listener on 127.0.0.1 with a kernel-chosen port, returned in |*addr|. */
static int tcp_listener(struct sockaddr_in *addr, int listen_too)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0;
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
    if (listen_too)
        assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof(*addr);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    assert_int_not_equal(addr->sin_port, 0);
    return fd;
}

/* ---- blocking socketpair, server in a thread ---- */

typedef struct server_job {
    tlsrig_ctx *ctx;
    int fd;
    /* results, checked by the main thread: cmocka's assertions must not run here */
    int handshake_rc;
    int recv_rc;
    char got[16];
    int send_rc;
    int eof_rc;
    int shutdown_rc;
    char error[300];
} server_job;

static void *server_thread(void *arg)
{
    server_job *job = arg;
    tlsrig_conn *conn = NULL;
    if (tlsrig_conn_new(job->ctx, job->fd, &conn) < 0) {
        snprintf(job->error, sizeof(job->error), "conn_new: %s",
                 tlsrig_ctx_last_error(job->ctx)->message);
        return NULL;
    }
    tlsrig_conn_set_accept_state(conn);
    job->handshake_rc = tlsrig_conn_do_handshake(conn);
    if (job->handshake_rc == 0) {
        job->recv_rc = tlsrig_conn_recv(conn, job->got, sizeof(job->got) - 1, 0);
        job->send_rc = tlsrig_conn_sendall(conn, "pong", 4, 0);
        /* The client closes: close_notify arrives, then we answer with ours. */
        job->eof_rc = tlsrig_conn_recv(conn, job->got + 8, 4, 0);
        job->shutdown_rc = tlsrig_conn_shutdown(conn);
    }
    snprintf(job->error, sizeof(job->error), "%s", tlsrig_conn_last_error(conn)->message);
    tlsrig_conn_free(conn);
    return NULL;
}

static void blocking_socketpair_thread(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_timeouts(sv[0]);
    set_timeouts(sv[1]);
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    server_job job = {.ctx = s, .fd = sv[1]};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server_thread, &job), 0);

    tlsrig_conn *conn = NULL;
    new_sock_conn(c, sv[0], &conn);
    tlsrig_conn_set_connect_state(conn);
    int rc = tlsrig_conn_do_handshake(conn);
    int hs_ok = rc == 0;
    char buf[16] = {0};
    int send_rc = -100, recv_rc = -100, sd1 = -100, sd2 = -100;
    if (hs_ok) {
        send_rc = tlsrig_conn_sendall(conn, "ping", 4, 0);
        recv_rc = tlsrig_conn_recv(conn, buf, sizeof(buf) - 1, 0);
        sd1 = tlsrig_conn_shutdown(conn);
        sd2 = tlsrig_conn_shutdown(conn); /* blocks until the server's close_notify */
    }
    char cerr[256];
    snprintf(cerr, sizeof(cerr), "%s", tlsrig_conn_last_error(conn)->message);
    if (!hs_ok)
        shutdown(sv[0], SHUT_RDWR); /* let a server still waiting see EOF at once */
    /* Join before any assertion can leave the test with the thread still running. */
    assert_int_equal(pthread_join(th, NULL), 0);
    tlsrig_conn_free(conn);
    close(sv[0]);
    close(sv[1]);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);

    if (!hs_ok || job.handshake_rc != 0)
        fail_msg("handshake: client %s (%s) / server %s (%s)", tlsrig_err_name(rc), cerr,
                 tlsrig_err_name(job.handshake_rc), job.error);
    assert_int_equal(send_rc, 4);
    assert_int_equal(job.recv_rc, 4);
    assert_string_equal(job.got, "ping");
    assert_int_equal(job.send_rc, 4);
    assert_int_equal(recv_rc, 4);
    assert_string_equal(buf, "pong");
    assert_int_equal(job.eof_rc, TLSRIG_ERR_ZERO_RETURN);
    assert_int_equal(job.shutdown_rc, 1);
    assert_int_equal(sd1, 0);
    assert_int_equal(sd2, 1);
}

/* ---- non-blocking sockets in one thread ---- */

typedef struct nb_pair {
    int fd[2];
    tlsrig_ctx *cctx, *sctx;
    tlsrig_conn *client, *server;
} nb_pair;

static void nb_pair_new(nb_pair *p, int version)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), 0);
    set_nonblocking(p->fd[0]);
    set_nonblocking(p->fd[1]);
    p->sctx = h_server_ctx("p256");
    p->cctx = h_client_ctx();
    if (version != 0)
        h_ctx_ok(p->cctx, tlsrig_ctx_set_max_proto_version(p->cctx, version));
    new_sock_conn(p->cctx, p->fd[0], &p->client);
    new_sock_conn(p->sctx, p->fd[1], &p->server);
    tlsrig_conn_set_connect_state(p->client);
    tlsrig_conn_set_accept_state(p->server);
}

static void nb_pair_free(nb_pair *p)
{
    tlsrig_conn_free(p->client);
    tlsrig_conn_free(p->server);
    tlsrig_ctx_free(p->cctx);
    tlsrig_ctx_free(p->sctx);
    close(p->fd[0]);
    close(p->fd[1]);
}

static void nonblocking_poll(void **state)
{
    (void)state;
    static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};
    for (size_t v = 0; v < 2; v++) {
        nb_pair p;
        nb_pair_new(&p, versions[v]);
        /* The client's first step writes its ClientHello and then has nothing to read. */
        assert_int_equal(tlsrig_conn_do_handshake(p.client), TLSRIG_ERR_WANT_READ);
        assert_int_equal(tlsrig_conn_want_read(p.client), 1);
        nb_handshake(p.client, p.server);
        assert_int_equal(tlsrig_conn_get_protocol_version(p.client), versions[v]);

        /* Nothing sent yet: a read wants more, exactly as on an empty memory BIO. */
        uint8_t buf[16];
        assert_int_equal(tlsrig_conn_recv(p.server, buf, sizeof(buf), 0), TLSRIG_ERR_WANT_READ);
        nb_exchange(p.client, p.server, "hello over a socket");
        nb_exchange(p.server, p.client, "and back");

        /* Close: our close_notify is written, the peer's not yet received. */
        assert_int_equal(tlsrig_conn_shutdown(p.client), 0);
        int rc = TLSRIG_ERR_WANT_READ;
        for (int round = 0; is_want(rc) && round < MAX_ROUNDS; round++) {
            rc = tlsrig_conn_recv(p.server, buf, sizeof(buf), 0);
            if (is_want(rc))
                wait_for(p.server, rc, "server waiting for close_notify");
        }
        assert_int_equal(rc, TLSRIG_ERR_ZERO_RETURN);
        assert_int_equal(tlsrig_conn_shutdown(p.server), 1);
        rc = TLSRIG_ERR_WANT_READ;
        for (int round = 0; is_want(rc) && round < MAX_ROUNDS; round++) {
            rc = tlsrig_conn_shutdown(p.client);
            if (is_want(rc))
                wait_for(p.client, rc, "client waiting for close_notify");
        }
        assert_int_equal(rc, 1);
        nb_pair_free(&p);
    }
}

static void nonblocking_want_write(void **state)
{
    (void)state;
    /* A write larger than the socket buffers is taken in part (MODE_ENABLE_PARTIAL_WRITE)
     * and then stops with WANT_WRITE until the peer reads; retried from where it stopped it
     * completes and every byte arrives intact. */
    enum { LEN = 1 << 20 };
    nb_pair p;
    nb_pair_new(&p, 0);
    int small = 16384;
    assert_int_equal(setsockopt(p.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    nb_handshake(p.client, p.server);
    uint8_t *out = malloc(LEN), *in = malloc(LEN);
    assert_non_null(out);
    assert_non_null(in);
    for (size_t i = 0; i < LEN; i++)
        out[i] = (uint8_t)(i * 31 + (i >> 9));

    int saw_want_write = 0, saw_partial = 0;
    size_t have = 0, sent = 0;
    /* Fill the socket without reading: the writes must hit WANT_WRITE before 1 MiB. */
    while (sent < LEN) {
        int n = tlsrig_conn_write(p.client, out + sent, LEN - sent);
        if (n == TLSRIG_ERR_WANT_WRITE) {
            saw_want_write = 1;
            break;
        }
        if (n <= 0)
            fail_msg("write: %s: %s", tlsrig_err_name(n),
                     tlsrig_conn_last_error(p.client)->message);
        saw_partial |= (size_t)n < LEN - sent;
        sent += (size_t)n;
    }
    if (sent == LEN)
        fail_msg("%d bytes went into the socket without WANT_WRITE", LEN);
    assert_int_equal(tlsrig_conn_want_write(p.client), 1);
    /* Now drain on the server while the client resumes from where it stopped. */
    for (int round = 0; round < 100000 && (sent < LEN || have < LEN); round++) {
        if (sent < LEN) {
            int n = tlsrig_conn_write(p.client, out + sent, LEN - sent);
            if (n == TLSRIG_ERR_WANT_WRITE) {
                saw_want_write = 1;
                assert_int_equal(tlsrig_conn_want_write(p.client), 1);
            } else if (n > 0) {
                saw_partial |= (size_t)n < LEN - sent;
                sent += (size_t)n;
            } else {
                fail_msg("write: %s: %s", tlsrig_err_name(n),
                         tlsrig_conn_last_error(p.client)->message);
            }
        }
        int r = tlsrig_conn_recv(p.server, in + have, LEN - have, 0);
        if (r > 0) {
            have += (size_t)r;
        } else if (r == TLSRIG_ERR_WANT_READ) {
            struct pollfd pfd[2] = {{p.fd[1], POLLIN, 0}, {p.fd[0], POLLOUT, 0}};
            if (poll(pfd, sent == LEN ? 1 : 2, POLL_MS) == 0)
                fail_msg("bulk transfer stalled at %zu of %d bytes", have, LEN);
        } else {
            fail_msg("recv: %s: %s", tlsrig_err_name(r), tlsrig_conn_last_error(p.server)->message);
        }
    }
    assert_int_equal(sent, LEN);
    assert_int_equal(have, LEN);
    assert_int_equal(saw_want_write, 1);
    assert_int_equal(saw_partial, 1);
    assert_memory_equal(in, out, LEN);
    free(in);
    free(out);
    nb_pair_free(&p);
}

/* ---- TCP loopback: connect, connect_ex, accept ---- */

static void tcp_connect_accept(void **state)
{
    (void)state;
    struct sockaddr_in addr;
    int lfd = tcp_listener(&addr, 1);
    tlsrig_ctx *s = h_server_ctx("p256"), *c = h_client_ctx();
    tlsrig_conn *listener = NULL;
    new_sock_conn(s, lfd, &listener);

    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(cfd >= 0);
    tlsrig_conn *client = NULL;
    new_sock_conn(c, cfd, &client);
    /* A fresh TLS_METHOD connection starts out as a server; connect makes it a client. */
    h_conn_ok(client, tlsrig_conn_connect(client, (struct sockaddr *)&addr, sizeof(addr)));
    assert_int_equal(tlsrig_conn_is_server(client), 0);

    tlsrig_conn *server = NULL;
    int sfd = -1;
    struct sockaddr_in peer;
    socklen_t plen = sizeof(peer);
    h_conn_ok(listener,
              tlsrig_conn_accept(listener, &server, &sfd, (struct sockaddr *)&peer, &plen));
    assert_non_null(server);
    assert_true(sfd >= 0);
    assert_int_not_equal(sfd, lfd);
    assert_int_equal(tlsrig_conn_get_fd(server), sfd);
    assert_int_equal(tlsrig_conn_is_server(server), 1);
    assert_ptr_equal(tlsrig_conn_get_context(server), s);
    /* The peer address is the client socket's own. */
    struct sockaddr_in local;
    socklen_t llen = sizeof(local);
    assert_int_equal(getsockname(cfd, (struct sockaddr *)&local, &llen), 0);
    assert_int_equal(plen, sizeof(peer));
    assert_int_equal(peer.sin_port, local.sin_port);
    assert_int_equal(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

    set_nonblocking(cfd);
    set_nonblocking(sfd);
    nb_handshake(client, server);
    nb_exchange(client, server, "over tcp");
    nb_exchange(server, client, "loopback");

    /* connect_ex on a second client: 0 on success, and it too sets connect state. */
    int cfd2 = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(cfd2 >= 0);
    tlsrig_conn *client2 = NULL;
    new_sock_conn(c, cfd2, &client2);
    assert_int_equal(tlsrig_conn_connect_ex(client2, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(tlsrig_conn_is_server(client2), 0);
    tlsrig_conn *server2 = NULL;
    int sfd2 = -1;
    /* addr/addrlen may be NULL, as for accept(2) */
    h_conn_ok(listener, tlsrig_conn_accept(listener, &server2, &sfd2, NULL, NULL));
    set_nonblocking(cfd2);
    set_nonblocking(sfd2);
    nb_handshake(client2, server2);
    nb_exchange(client2, server2, "second");

    tlsrig_conn_free(server2);
    close(sfd2);
    tlsrig_conn_free(client2);
    close(cfd2);
    tlsrig_conn_free(server);
    close(sfd);
    tlsrig_conn_free(client);
    close(cfd);
    tlsrig_conn_free(listener);
    close(lfd);
    tlsrig_ctx_free(c);
    tlsrig_ctx_free(s);
}

static void tcp_connect_refused(void **state)
{
    (void)state;
    /* A port bound but not listening: the kernel answers a SYN with RST. Keeping it bound
     * means no other process can take the port for the duration of the test. */
    struct sockaddr_in addr;
    int closed = tcp_listener(&addr, 0);
    tlsrig_ctx *c = h_client_ctx();

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    tlsrig_conn *conn = NULL;
    new_sock_conn(c, fd, &conn);
    /* connect_ex reports the errno instead of failing (Python's socket.connect_ex). */
    assert_int_equal(tlsrig_conn_connect_ex(conn, (struct sockaddr *)&addr, sizeof(addr)),
                     ECONNREFUSED);
    assert_int_equal(tlsrig_conn_last_error(conn)->sys_errno, ECONNREFUSED);
    assert_int_equal(tlsrig_conn_connect_ex(conn, NULL, sizeof(addr)), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_conn_free(conn);
    close(fd);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    new_sock_conn(c, fd, &conn);
    assert_int_equal(tlsrig_conn_connect(conn, (struct sockaddr *)&addr, sizeof(addr)),
                     TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_conn_last_error(conn)->sys_errno, ECONNREFUSED);
    assert_non_null(strstr(tlsrig_conn_last_error(conn)->message, strerror(ECONNREFUSED)));
    assert_int_equal(tlsrig_conn_connect(conn, NULL, 0), TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_conn_free(conn);
    close(fd);

    close(closed);
    tlsrig_ctx_free(c);
}

static void accept_errors(void **state)
{
    (void)state;
    struct sockaddr_in addr;
    int lfd = tcp_listener(&addr, 1);
    set_nonblocking(lfd);
    tlsrig_ctx *s = h_server_ctx("p256");
    tlsrig_conn *listener = NULL, *out = (tlsrig_conn *)&out;
    int cfd = 12345;
    new_sock_conn(s, lfd, &listener);
    /* Nothing waiting on a non-blocking listener: want read, outputs reset. */
    assert_int_equal(tlsrig_conn_accept(listener, &out, &cfd, NULL, NULL), TLSRIG_ERR_WANT_READ);
    assert_null(out);
    assert_int_equal(cfd, -1);
    assert_int_equal(tlsrig_conn_last_error(listener)->code, TLSRIG_ERR_WANT_READ);
    assert_int_equal(tlsrig_conn_accept(listener, NULL, &cfd, NULL, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_accept(listener, &out, NULL, NULL, NULL),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_conn_free(listener);
    close(lfd);

    /* accept(2) on a socket that is not listening fails with EINVAL. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    new_sock_conn(s, fd, &listener);
    assert_int_equal(tlsrig_conn_accept(listener, &out, &cfd, NULL, NULL), TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_conn_last_error(listener)->sys_errno, EINVAL);
    assert_null(out);
    tlsrig_conn_free(listener);
    close(fd);
    tlsrig_ctx_free(s);
}

/* ---- sock_shutdown ---- */

static void sock_shutdown_wr_gives_peer_eof(void **state)
{
    (void)state;
    nb_pair p;
    nb_pair_new(&p, 0);
    nb_handshake(p.client, p.server);
    nb_exchange(p.client, p.server, "before");
    /* Half-close the transport without close_notify: the server sees the stream end. */
    h_conn_ok(p.client, tlsrig_conn_sock_shutdown(p.client, SHUT_WR));
    /* Only the client's write side is closed: it still reads what the server sends. */
    nb_exchange(p.server, p.client, "after");
    uint8_t buf[16];
    int rc = TLSRIG_ERR_WANT_READ;
    for (int round = 0; rc == TLSRIG_ERR_WANT_READ && round < MAX_ROUNDS; round++) {
        rc = tlsrig_conn_recv(p.server, buf, sizeof(buf), 0);
        if (rc == TLSRIG_ERR_WANT_READ)
            wait_for(p.server, rc, "server waiting for EOF");
    }
    if (rc != TLSRIG_ERR_SYSCALL)
        fail_msg("recv after the peer's SHUT_WR: expected SYSCALL, got %s: %s", tlsrig_err_name(rc),
                 tlsrig_conn_last_error(p.server)->message);
    assert_int_equal(tlsrig_conn_last_error(p.server)->sys_errno, -1);
    assert_non_null(strstr(tlsrig_conn_last_error(p.server)->message, "unexpected EOF"));

    assert_int_equal(tlsrig_conn_sock_shutdown(p.client, 42), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_last_error(p.client)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_sock_shutdown(p.client, -1), TLSRIG_ERR_INVALID_ARGUMENT);
    h_conn_ok(p.client, tlsrig_conn_sock_shutdown(p.client, SHUT_RDWR));
    nb_pair_free(&p);

    /* shutdown(2) on a socket that was never connected fails with ENOTCONN. */
    tlsrig_ctx *c = h_client_ctx();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    tlsrig_conn *conn = NULL;
    new_sock_conn(c, fd, &conn);
    assert_int_equal(tlsrig_conn_sock_shutdown(conn, SHUT_RD), TLSRIG_ERR_SYSCALL);
    assert_int_equal(tlsrig_conn_last_error(conn)->sys_errno, ENOTCONN);
    tlsrig_conn_free(conn);
    close(fd);
    tlsrig_ctx_free(c);
}

/* ---- memory-BIO connections refuse the socket functions, and the reverse ---- */

static void socket_functions_on_memory_conn(void **state)
{
    (void)state;
    tlsrig_ctx *c = h_client_ctx();
    tlsrig_conn *conn = NULL, *out = NULL;
    h_ctx_ok(c, tlsrig_conn_new(c, -1, &conn));
    assert_int_equal(tlsrig_conn_get_fd(conn), -1);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = 0;
    assert_int_equal(tlsrig_conn_connect(conn, (struct sockaddr *)&addr, sizeof(addr)),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(tlsrig_conn_last_error(conn)->message, "no socket"));
    assert_int_equal(tlsrig_conn_connect_ex(conn, (struct sockaddr *)&addr, sizeof(addr)),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_accept(conn, &out, &fd, NULL, NULL), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_null(out);
    assert_int_equal(tlsrig_conn_sock_shutdown(conn, SHUT_RDWR), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_last_error(conn)->code, TLSRIG_ERR_INVALID_ARGUMENT);
    tlsrig_conn_free(conn);

    /* A socket connection has no memory BIOs. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    new_sock_conn(c, sv[0], &conn);
    uint8_t buf[4] = {0};
    assert_int_equal(tlsrig_conn_bio_write(conn, buf, sizeof(buf)), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_bio_read(conn, buf, sizeof(buf)), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_bio_shutdown(conn), TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(tlsrig_conn_bio_pending(conn), 0);
    tlsrig_conn_free(conn);
    /* The connection does not close its fd. */
    assert_true(fcntl(sv[0], F_GETFD) >= 0);
    close(sv[0]);
    close(sv[1]);
    tlsrig_ctx_free(c);
}

int main(void)
{
    /* A peer that vanished must surface as an error, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocking_socketpair_thread),
        cmocka_unit_test(nonblocking_poll),
        cmocka_unit_test(nonblocking_want_write),
        cmocka_unit_test(tcp_connect_accept),
        cmocka_unit_test(tcp_connect_refused),
        cmocka_unit_test(accept_errors),
        cmocka_unit_test(sock_shutdown_wr_gives_peer_eof),
        cmocka_unit_test(socket_functions_on_memory_conn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
