/*
 * endpoint.c - calls through the endpoint interface, and the feed endpoint.
 */
#include <string.h>
#include <time.h>

#include "internal.h"

double wire__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long wire_endpoint_read(wire_endpoint *ep, uint8_t *buf, size_t cap)
{
    return ep->ops->read(ep, buf, cap);
}

long wire_endpoint_write(wire_endpoint *ep, const uint8_t *buf, size_t len)
{
    return ep->ops->write(ep, buf, len);
}

int wire_endpoint_drive(wire_endpoint *ep)
{
    return ep->ops->drive != NULL ? ep->ops->drive(ep) : 0;
}

int wire_endpoint_end(wire_endpoint *ep)
{
    return ep->ops->end != NULL ? ep->ops->end(ep) : 0;
}

unsigned wire_endpoint_state(const wire_endpoint *ep)
{
    return ep->ops->state != NULL ? ep->ops->state(ep) : 0;
}

int wire_endpoint_error(const wire_endpoint *ep, const char **message)
{
    if (message != NULL)
        *message = NULL;
    return ep->ops->error != NULL ? ep->ops->error(ep, message) : 0;
}

void wire_endpoint_cleanup(wire_endpoint *ep)
{
    if (ep != NULL && ep->ops != NULL && ep->ops->cleanup != NULL)
        ep->ops->cleanup(ep);
}

/* ---- the feed ---- */

static long feed_read(wire_endpoint *ep, uint8_t *buf, size_t cap)
{
    wire_feed *f = (wire_feed *)ep;
    while (f->pending_len == 0) {
        if (f->next == NULL)
            return 0; /* sends only what it is given */
        if (f->ended || f->next(f->arg, &f->pending, &f->pending_len) == 0) {
            f->ended = 1;
            f->pending_len = 0;
            return 0;
        }
        if (f->pending_len == 0)
            return 0; /* an empty piece: nothing to send this time */
    }
    size_t n = f->pending_len < cap ? f->pending_len : cap;
    memcpy(buf, f->pending, n);
    f->pending += n;
    f->pending_len -= n;
    return (long)n;
}

void wire_feed_give(wire_feed *f, const uint8_t *data, size_t len)
{
    f->pending = data;
    f->pending_len = len;
}

static long feed_write(wire_endpoint *ep, const uint8_t *buf, size_t len)
{
    wire_feed *f = (wire_feed *)ep;
    if (f->sink != NULL)
        f->sink(f->arg, buf, len);
    return (long)len;
}

static unsigned feed_state(const wire_endpoint *ep)
{
    const wire_feed *f = (const wire_feed *)ep;
    return WIRE_ST_DONE | (f->ended ? WIRE_ST_CLOSED : 0);
}

static const wire_endpoint_ops feed_ops = {
    .kind = "feed",
    .caps = 0,
    .read = feed_read,
    .write = feed_write,
    .state = feed_state,
};

void wire_feed_init(wire_feed *f, int (*next)(void *, const uint8_t **, size_t *),
                    void (*sink)(void *, const uint8_t *, size_t), void *arg, const char *name)
{
    memset(f, 0, sizeof(*f));
    f->ep.ops = &feed_ops;
    f->ep.name = name;
    f->next = next;
    f->sink = sink;
    f->arg = arg;
}
