/*
 * sock.c - socket operations of a connection made with a file descriptor: connect,
 * connect_ex, accept, sock_shutdown. TLS I/O on the socket goes through the same
 * SSL_read/SSL_write paths as memory BIOs, so blocking and non-blocking sockets report the
 * same tlsrig_err values (a non-blocking socket with nothing to read is WANT_READ).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static int need_socket(tlsrig_conn *conn, const char *what)
{
    if (conn->fd < 0)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "%s: the connection has no socket (it uses memory BIOs)", what);
    return 0;
}

static int sys_fail(tlsrig_conn *conn, int e, const char *what)
{
    int rc = tlsrig__err_set(&conn->err, TLSRIG_ERR_SYSCALL, "%s: %s", what, strerror(e));
    conn->err.sys_errno = e;
    return rc;
}

int tlsrig_conn_connect_ex(tlsrig_conn *conn, const struct sockaddr *addr, socklen_t addrlen)
{
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = need_socket(conn, "connect_ex")) < 0)
        return rc;
    if (addr == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "connect_ex: address is NULL");
    SSL_set_connect_state(conn->ssl);
    while (connect(conn->fd, addr, addrlen) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        sys_fail(conn, e, "connect_ex");
        return e;
    }
    return 0;
}

int tlsrig_conn_connect(tlsrig_conn *conn, const struct sockaddr *addr, socklen_t addrlen)
{
    int e = tlsrig_conn_connect_ex(conn, addr, addrlen);
    if (e < 0)
        return e; /* argument errors are already negative */
    if (e > 0)
        return TLSRIG_ERR_SYSCALL;
    return 0;
}

int tlsrig_conn_accept(tlsrig_conn *conn, tlsrig_conn **out, int *client_fd, struct sockaddr *addr,
                       socklen_t *addrlen)
{
    int rc, fd;
    tlsrig__begin(&conn->err);
    if ((rc = need_socket(conn, "accept")) < 0)
        return rc;
    if (out == NULL || client_fd == NULL)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "accept: out and client_fd are required");
    *out = NULL;
    *client_fd = -1;
    while ((fd = accept(conn->fd, addr, addrlen)) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return tlsrig__err_set(&conn->err, TLSRIG_ERR_WANT_READ,
                                   "accept: no connection waiting");
        return sys_fail(conn, errno, "accept");
    }
    tlsrig_conn *child = NULL;
    rc = tlsrig_conn_new(conn->cur, fd, &child);
    if (rc < 0) {
        close(fd);
        conn->err = conn->cur->err;
        return rc;
    }
    SSL_set_accept_state(child->ssl);
    *out = child;
    *client_fd = fd;
    return 0;
}

int tlsrig_conn_sock_shutdown(tlsrig_conn *conn, int how)
{
    int rc;
    tlsrig__begin(&conn->err);
    if ((rc = need_socket(conn, "sock_shutdown")) < 0)
        return rc;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return tlsrig__err_set(&conn->err, TLSRIG_ERR_INVALID_ARGUMENT,
                               "sock_shutdown: how must be SHUT_RD, SHUT_WR or SHUT_RDWR");
    if (shutdown(conn->fd, how) < 0)
        return sys_fail(conn, errno, "sock_shutdown");
    return 0;
}
