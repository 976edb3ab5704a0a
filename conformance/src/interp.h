/*
 * interp.h - the interpreter's run-time state, shared by its source files:
 * interp.c (the run loop, wire and steps), interp_peer.c (peer contexts and their
 * callbacks), interp_expect.c (expectations).
 */
#ifndef TLSRIG_INTERP_H
#define TLSRIG_INTERP_H

#include <stdarg.h>

#include "rig.h"
#include "tlsrig.h"

#define RIG_MAX_ALERTS 16
#define RIG_MAX_SESSIONS 16
#define RIG_MAX_PROTOS 16

typedef struct rig_protos {
    tlsrig_bytes list[RIG_MAX_PROTOS];
    size_t n;
    char storage[512];
} rig_protos;

/* A peer: a context made from the scenario's settings, plus the policies its callbacks
 * follow. */
typedef struct rig_peer {
    const scn_peer *decl;
    int is_server;
    tlsrig_ctx *ctx;     /* NULL when creation failed as expected */
    int ctx_failed;      /* method ... fails <class> was met */
    tlsrig_ctx *alt_ctx; /* sni-callback switch target */
    char alt_name[256];

    char hostname[256]; /* client: checked name (and SNI) */
    char sni[256];      /* client: SNI to send */
    int request_ocsp;
    int ocsp_check;  /* client: 0 none, 1 accept, 2 reject, 3 fail */
    int ocsp_staple; /* server: 0 none, 1 response, 2 fail */
    int alpn_policy; /* server: 0 off, 1 first-common, 2 none, 3 fail */
    rig_protos alpn_pref;
    rig_protos npn_adv;
    int npn_policy; /* client: 0 off, 1 first-common, 2 fail */
    rig_protos npn_pref;
    int sni_policy;    /* server: 0 off, 1 record, 2 switch, 3 fail */
    int verify_policy; /* 0 off, 1 accept-all, 2 reject-all, 3 fail, 4 record */
    uint32_t early_data;
} rig_peer;

/* One end of the current connection. */
typedef struct rig_side {
    rig_peer *peer;
    tlsrig_conn *conn;
    int done;      /* this side finished its handshake (drive() switches to reading) */
    int closed;    /* this side closed its transport (close step) */
    int last_err;  /* last hard error (not want-read/write), 0 if none */
    int last_want; /* last want-read/want-write of an explicit step, 0 if none */
    char last_msg[256];
    struct {
        int sent, level, desc;
    } alerts[RIG_MAX_ALERTS];
    int n_alerts;
    int tickets;    /* NewSessionTicket messages received */
    int keyupdates; /* KeyUpdate messages received */
    uint8_t *early; /* early data read by a server, not yet consumed by a step */
    size_t early_len;
    int early_done;
    uint8_t *wbuf; /* bytes sent by this side waiting to form a whole record (tamper) */
    size_t wlen;
} rig_side;

typedef struct rig_state {
    const scn *s;
    const rig_options *opt;
    rig_result *res;
    rig_peer *peers;
    size_t n_peers;
    rig_side client, server;
    int conn_no;
    int have_conn;
    struct {
        char name[64];
        tlsrig_session *sess;
    } sessions[RIG_MAX_SESSIONS];
    size_t n_sessions;
    long rounds;
    double deadline;
    const scn_line *line; /* the step or setting being run, for messages */
    int dry;
} rig_state;

/* Record a failure at the current line; returns RIG_FAIL (or |status|). */
rig_status rig__fail(rig_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
rig_status rig__invalid(rig_state *st, const scn_line *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Peers (interp_peer.c). With |dry| set only the words are checked (rig_check); nothing
 * is created. */
rig_status rig__peers_setup(rig_state *st, int dry);
void rig__peers_cleanup(rig_state *st);
rig_peer *rig__peer(rig_state *st, const char *name);
rig_status rig__conn_setup(rig_state *st, rig_side *side);

/* Expectations (interp_expect.c), same |dry| convention. */
rig_status rig__expect(rig_state *st, const scn_line *l, int dry);

/* Helpers shared across files. */
rig_side *rig__side(rig_state *st, const char *name);
int rig__err_class(const char *word); /* tlsrig_err for a class word, or 1 if unknown */
const char *rig__err_word(int err);
const char *const *rig__err_words(void);
int rig__word_eq(const scn_line *l, int i, const char *w);
double rig__now(void);

#endif
