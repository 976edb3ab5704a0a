/*
 * interp.h - the interpreter's run-time pieces and who owns each.
 *
 * A run executes a compiled rig_program (prog.h, made by compile*.c). Calls go one way:
 *
 *   interp.c          the run loop: owns the run (the result's verdict and message, the
 *        |            saved sessions, whether a connection exists) and runs each step, a
 *        |            switch on its kind. The only file that knows about steps.
 *        +--> interp_peer.c    owns the peers' contexts (rig_peer): makes them from the
 *        |                     settings, applies those, makes each connection's engine
 *        |                     object, and holds the callbacks, which write what a side saw
 *        |                     (rig_obs) and hand the key log to the wire. Knows nothing of
 *        |                     steps or bytes.
 *        +--> interp_wire.c    owns the run's side of the wire (rig_wire): the two sides of
 *        |                     the current connection as engine endpoints, the pump between
 *        |                     them (wire.h, which moves every byte), capture as its
 *        |                     observer, the key log, rig_options.tamper as its record hook,
 *        |                     the man in the middle (wire_mitm) as its filter when the
 *        |                     program tampers, and how each side's last call ended (the
 *        |                     endpoint's last_err/last_want/last_msg).
 *        |     +--> interp_tamper.c  the armed `tamper` rules and the middle's edit function
 *        |                     that applies them; `inject` and `tamper-fixup`.
 *        +--> interp_expect.c  checks one expectation against a read-only rig_view of a
 *                              side; returns a verdict and a message, calls nothing back.
 *
 * All of them may use compile.c's vocabulary (error class words, rig__report).
 */
#ifndef TLSRIG_INTERP_H
#define TLSRIG_INTERP_H

#include <stddef.h>
#include <stdint.h>

#include "prog.h"
#include "rig.h"
#include "tlsrig.h"
#include "wire.h"

#define RIG_MAX_ALERTS 16

/* What one side saw on the wire: written only by interp_peer.c's observer callback (the
 * connection's app data points here), read by expectations. */
typedef struct rig_obs {
    struct {
        int sent, level, desc;
    } alerts[RIG_MAX_ALERTS];
    int n_alerts;
    int tickets;    /* NewSessionTicket messages received */
    int keyupdates; /* KeyUpdate messages received */
} rig_obs;

/* A peer at run time: interp_peer.c's. */
typedef struct rig_peer {
    const rig_peer_prog *prog;
    tlsrig_ctx *ctx;     /* NULL when creation failed as expected */
    int ctx_failed;      /* method ... fails <class> was met */
    tlsrig_ctx *alt_ctx; /* sni-callback switch target; NULL for a peer that shares */
} rig_peer;

/* One end of the current connection. When interp.c connects, rig__conn_new (interp_peer.c)
 * sets |peer| and makes |conn|; |obs| is the observer's; |ep|, the connection as an endpoint
 * of the wire, is interp_wire.c's: it holds how the side's last call ended (last_err,
 * last_want, last_msg: written through rig__note and the wire's drive), whether its
 * handshake is done, and the early data a server read. The wire frees the connection and
 * clears the side in rig__wire_reset. */
typedef struct rig_side {
    const rig_peer_prog *peer;
    tlsrig_conn *conn;
    rig_obs obs;
    wire_engine ep;
} rig_side;

/* A `tamper` step armed on the current connection: interp_tamper.c's. */
typedef struct rig_rule {
    const rig_step *st; /* the step (kind RIG_STEP_TAMPER), borrowed from the program */
    unsigned seen;      /* matching messages the sender sent since it was armed */
    int fired;
} rig_rule;

/* The wire between the two sides: interp_wire.c's. The pump moves the bytes (wire.h); this
 * adds what a run needs around it: capture into the result, the budget carried from one
 * connection to the next, chunk numbering by connection, and for a program that tampers a
 * man in the middle per connection with the rules armed on it. */
typedef struct rig_wire {
    const rig_options *opt; /* capture, tamper */
    rig_result *res;        /* chunks are appended here when capturing */
    const char *path;       /* the scenario, for messages */
    long budget;            /* pump rounds allowed over the run */
    long rounds;            /* rounds used by the connections before the current one */
    double deadline;        /* rig__now() past which the handshake loop gives up */
    int conn_no;            /* connections begun so far */
    rig_side client, server;
    wire_pump pump;  /* between client.ep and server.ep while a connection exists */
    int middle;      /* every connection runs through a wire_mitm (the program tampers) */
    int fixup;       /* tamper-fixup: the Finished fix-up for each middle */
    wire_mitm *mitm; /* the current connection's middle, or NULL */
    rig_rule *rules; /* armed on the current connection, in step order */
    size_t n_rules, cap_rules;
    char tamper_err[512]; /* a rule matched and could not be applied: why */
    int tamper_err_line;  /* its step's line */
    wire_buf keylog[2];   /* capturing with a middle: each side's lines */
} rig_wire;

/* A read-only view of what an expectation may look at. */
typedef struct rig_view {
    const char *name;       /* the side's (or peer's) name, for messages */
    tlsrig_conn *conn;      /* for the engine's getters; NULL for context-failed */
    const rig_obs *obs;     /* NULL for context-failed */
    const wire_engine *out; /* how the side's last call ended; NULL for context-failed */
    int ctx_failed;         /* context-failed: the peer's context failed as expected */
} rig_view;

static inline int rig__hard(int rc)
{
    return rc < 0 && rc != TLSRIG_ERR_WANT_READ && rc != TLSRIG_ERR_WANT_WRITE;
}

double rig__now(void);

/* ---- interp_peer.c ---- */

/* rig__peers_new makes every peer's context and applies its settings. A setting the engine
 * refuses unexpectedly fails the run (RIG_FAIL, reported in |res| at the setting's line).
 * *out (n_peers entries) is set even on failure; free it with rig__peers_free. When
 * opt->capture is set or the program tampers, each context's key log lines go to
 * rig__wire_keylog(|wire|, ...) (borrowed: it must outlive the peers' connections). */
rig_status rig__peers_new(const rig_program *p, const rig_options *opt, rig_result *res,
                          rig_wire *wire, rig_peer **out);
void rig__peers_free(rig_peer *peers, size_t n);

/* rig__conn_new makes |side|'s connection from |peer| (connect or accept state by role),
 * points its observer at side->obs and applies the per-connection settings. Returns 0, or
 * -1 with the reason in |why|. */
int rig__conn_new(rig_peer *peer, rig_side *side, char *why, size_t whylen);

/* ---- interp_expect.c ---- */

/* rig__expect_check checks |e| against |v|. Returns 0 when met, else -1 with "expected ...,
 * got ..." in |why|. */
int rig__expect_check(const rig_expect *e, const rig_view *v, char *why, size_t whylen);

/* ---- interp_wire.c ---- */

void rig__wire_init(rig_wire *w, const rig_options *opt, rig_result *res, long budget,
                    double deadline);
/* Ends the current connection: frees both sides' connections and buffers, its middle and the
 * rules armed on it, and moves the key log lines it kept into the result. */
void rig__wire_reset(rig_wire *w);
/* A new connection starts between the sides' (new) connections: chunks are numbered by it;
 * with w->middle set a new wire_mitm is its pump's filter. Returns 0 or TLSRIG_ERR_NOMEM. */
int rig__wire_begin(rig_wire *w);
/* One key log line that |conn|'s context logged: to the middle, as the side |conn| is, and
 * into the result when capturing (with a middle, both sides' lines, each receiver's after
 * each sender's: the bytes captured are protected under the receiver's secrets, which differ
 * from the sender's once an edit was fixed up, and a reader takes the last line for a
 * label). */
void rig__wire_keylog(rig_wire *w, tlsrig_conn *conn, const char *line);
rig_side *rig__wire_side(rig_wire *w, int end);

/* Records how a call on |side| ended (for `expect error`) and returns |rc|. */
int rig__note(rig_side *side, int rc);

/* Moves pending bytes both ways once. Returns bytes moved, or -1 when the wire failed
 * (tamper abort, out of memory). */
long rig__pump(rig_wire *w);
/* Drives both sides until both finished, one failed, or nothing moves. Returns 0 when both
 * completed, 1 when not; -1 the wire failed, -2 the budget ran out, -3 the deadline passed. */
int rig__handshake(rig_wire *w);
/* One move of one side: advance its handshake, or once done read (peek) so that it processes
 * what arrived. Returns the engine's result. */
int rig__drive(rig_wire *w, rig_side *side);
/* RFC 8446 §4.6.3: a scheduled post-handshake message (KeyUpdate, CertificateRequest) goes
 * out with the next handshake call: make it and move it. Returns the call's result (noted);
 * sets *wire_failed when the wire failed. */
int rig__flush_handshake(rig_wire *w, rig_side *side, int *wire_failed);
/* The next handshake step drives |side| again (a renegotiation was scheduled). */
void rig__rehandshake(rig_side *side);
/* Waits (pumping) for |len| bytes of early data at |side| and takes them when they equal
 * |want|. Returns 0, or -1 with *have the bytes buffered. */
int rig__recv_early(rig_wire *w, rig_side *side, const uint8_t *want, size_t len, size_t *have);
/* Delivers what was sent, then ends the transport from |side|: the other side reads EOF.
 * Returns 0, -1 the wire failed, -2 the transport cannot be ended. */
int rig__close_transport(rig_wire *w, rig_side *side);

/* ---- interp_tamper.c ---- */

/* rig__tamper_edit is the middle's edit function (wire_mitm_edit_fn; |arg| the rig_wire):
 * each handshake message is counted against the armed rules that match its sender and type,
 * and a rule whose count is reached fires once: its action is applied (a rule that cannot
 * be applied leaves the message as it is and sets w->tamper_err). */
int rig__tamper_edit(void *arg, wire_mitm *m, wire_mitm_msg *msg);
/* Arms a `tamper` step on the current connection: 0 or TLSRIG_ERR_NOMEM. */
int rig__tamper_arm(rig_wire *w, const rig_step *st);
/* The first armed rule that has not fired, or NULL. */
const rig_rule *rig__tamper_unfired(const rig_wire *w);
/* Puts an `inject` step's unit on the wire from its side (at that side's next move). Returns
 * 0 or a negative tlsrig_err (no middle, out of memory). */
int rig__inject(rig_wire *w, const rig_step *st);
/* `tamper-fixup on|sign|off` (RIG_FIXUP_*): for the current middle and the next ones. */
void rig__tamper_fixup(rig_wire *w, int on);
/* Applies the fix-up setting (and, for `sign`, each side's key) to the current middle. */
void rig__tamper_setup(rig_wire *w);

#endif
