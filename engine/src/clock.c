/* clock.c - process-wide virtual clock, and the time() interposer that makes OpenSSL obey it. */
#include "det.h"

#include <stdatomic.h>

/*
 * Any thread may read the clock (every time() call in the process lands here, from OpenSSL on
 * whichever thread runs a handshake, and from anything else the program does) while another
 * thread sets, advances or stops it. The state is two atomics rather than a struct behind a
 * lock, so time() stays two plain loads on the hot path and never blocks:
 *
 *  - clock_virtual_now is one lock-free 64-bit atomic, so no reader sees half of an update
 *    (a torn value) even where a 64-bit store is two instructions;
 *  - set_virtual stores the start value before it flips the flag with release ordering, and
 *    readers load the flag with acquire ordering: a reader that sees the clock on also sees a
 *    value at least as new as the one that turned it on, never a stale one from before.
 *
 * Advances are atomic additions, so concurrent advances from several threads all count.
 */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && sizeof(long long) == sizeof(int64_t),
               "the virtual clock needs lock-free 64-bit atomics: time() must never block");
static atomic_int clock_virtual_on;
static atomic_llong clock_virtual_now;

static int64_t clock_real_now(void)
{
    struct timespec ts;

    /* Never libc's time(): ours below shadows it, and calling it would recurse. */
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec;
}

int tlsrig__clock_is_virtual(void)
{
    return atomic_load_explicit(&clock_virtual_on, memory_order_acquire);
}

void tlsrig__clock_set_virtual(int on, int64_t start)
{
    if (on)
        atomic_store_explicit(&clock_virtual_now, start, memory_order_relaxed);
    atomic_store_explicit(&clock_virtual_on, on ? 1 : 0, memory_order_release);
}

int64_t tlsrig__clock_now(void)
{
    if (atomic_load_explicit(&clock_virtual_on, memory_order_acquire))
        return atomic_load_explicit(&clock_virtual_now, memory_order_relaxed);
    return clock_real_now();
}

void tlsrig__clock_advance(int64_t seconds)
{
    /* Advancing while real time is in force is harmless: the value is only read once the
     * clock is virtual again, and set_virtual overwrites it anyway. */
    atomic_fetch_add_explicit(&clock_virtual_now, seconds, memory_order_relaxed);
}

/*
 * Interposition of libc's time().
 *
 * OpenSSL 3.0 takes every wall-clock reading that matters to TLS from time(NULL): session
 * creation times (SSL_SESSION_get_time), session and ticket expiry, the TLS 1.3
 * obfuscated_ticket_age, and X509_cmp_current_time() when a certificate chain is verified.
 * libssl.so and libcrypto.so call time() through their PLT/GOT, i.e. the dynamic linker
 * resolves the symbol at run time by searching the global scope in load order: the executable
 * first, then its DT_NEEDED libraries breadth-first, libc last. A default-visibility `time`
 * defined here is therefore found before glibc's whenever this object is linked into the
 * executable (the linker exports it to .dynsym because libcrypto.so references it) or into a
 * shared library that is loaded ahead of libc, and OpenSSL follows the virtual clock without
 * being patched. The visibility attribute keeps that true under -fvisibility=hidden.
 *
 * Limits: it does not catch gettimeofday()/clock_gettime() (OpenSSL 3.0 uses those only for
 * DTLS timers; 3.2+ moved libssl's session clock to them), nor calls made inside glibc itself.
 */
__attribute__((visibility("default"))) time_t time(time_t *tloc)
{
    time_t now = (time_t)tlsrig__clock_now();

    if (tloc != NULL)
        *tloc = now;
    return now;
}
