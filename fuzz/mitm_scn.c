/*
 * mitm_scn.c - the mitm targets' inputs as scenario text (--print-scn): the two peers'
 * settings from their prefixes, and each step the run made. The tamper and inject lines
 * come from mitm_plan.c.
 */
#include <ctype.h>
#include <string.h>

#include "harness.h"

static const char *const versions[5] = {"any", "1.0", "1.1", "1.2", "1.3"};
static const char *const server_certs[FZ_N_KEYS] = {"p256", "rsa", "p384", "ed25519"};

static void print_versions(FILE *out, const fz_prefix *p)
{
    uint8_t v = fz_prefix_get(p, FZ_TAG_VERSION, 0);
    if ((v & 15) != 0 && (v & 15) < 5)
        fprintf(out, "    min-version %s\n", versions[v & 15]);
    if ((v >> 4) != 0 && (v >> 4) < 5)
        fprintf(out, "    max-version %s\n", versions[v >> 4]);
}

static void print_kex(FILE *out, const fz_prefix *p)
{
    const char *ciphers, *suites, *groups;
    int legacy = fz_prefix_get(p, FZ_TAG_PROFILE, 0) & 1;
    fz_kex_set(fz_prefix_get(p, FZ_TAG_KEX, 0) & 7, &ciphers, &suites, &groups);
    if (ciphers != NULL)
        fprintf(out, "    ciphers %s%s\n", ciphers, legacy ? ":@SECLEVEL=0" : "");
    else
        fprintf(out, "    ciphers %s\n",
                legacy ? "ALL:COMPLEMENTOFALL:@SECLEVEL=0" : "DEFAULT:@SECLEVEL=1");
    if (suites != NULL)
        fprintf(out, "    ciphersuites %s\n", suites);
    if (groups != NULL)
        fprintf(out, "    groups %s\n", groups);
}

static void print_options(FILE *out, const fz_prefix *p)
{
    static const char *const opt_names[8] = {"NO_TICKET",
                                             "ALLOW_CLIENT_RENEGOTIATION,LEGACY_SERVER_CONNECT",
                                             "NO_RENEGOTIATION",
                                             "CIPHER_SERVER_PREFERENCE",
                                             "PRIORITIZE_CHACHA",
                                             "NO_ANTI_REPLAY",
                                             "NO_EXTENDED_MASTER_SECRET",
                                             "NO_ENCRYPT_THEN_MAC"};
    uint8_t opt = fz_prefix_get(p, FZ_TAG_OPTIONS, 0);
    uint8_t rec = fz_prefix_get(p, FZ_TAG_RECORD, 0);
    uint8_t misc = fz_prefix_get(p, FZ_TAG_MISC, 0);
    const char *sep = "    options ";
    for (int b = 0; b < 8; b++)
        if (opt & (1u << b)) {
            fprintf(out, "%s%s", sep, opt_names[b]);
            sep = ",";
        }
    if (rec & 0x10) {
        fprintf(out, "%sIGNORE_UNEXPECTED_EOF", sep);
        sep = ",";
    }
    if (misc & 0x01) {
        fprintf(out, "%sALLOW_UNSAFE_LEGACY_RENEGOTIATION", sep);
        sep = ",";
    }
    if (misc & 0x10) {
        fprintf(out, "%sNO_SESSION_RESUMPTION_ON_RENEGOTIATION", sep);
        sep = ",";
    }
    if (sep[0] == ',')
        fputc('\n', out);
    if (rec & 0x01)
        fprintf(out, "    mode RELEASE_BUFFERS\n");
    if (rec & ~0x11)
        fprintf(out, "    # record settings 0x%02x (fuzz/harness.h) have no scenario setting\n",
                rec & ~0x11);
    if (misc & ~0x11)
        fprintf(out, "    # settings 0x%02x of MISC (fuzz/harness.h) have no scenario setting\n",
                misc & ~0x11);
}

static void print_server(FILE *out, const fz_prefix *p)
{
    static const char *const verify[4] = {"none", "peer", "require", "peer post-handshake"};
    static const char *const alpn[4] = {NULL, "first-common h2,http/1.1", "none", "fail"};
    static const int tickets[4] = {2, 0, 1, 4};
    static const int early[4] = {0, 16384, 16, 1024};
    int key = fz_prefix_get(p, FZ_TAG_KEY, 0) & 3;
    uint8_t ver = fz_prefix_get(p, FZ_TAG_VERIFY, 0);
    uint8_t sni = fz_prefix_get(p, FZ_TAG_SNI, 0) & 3;
    uint8_t ocsp = fz_prefix_get(p, FZ_TAG_OCSP, 0) & 3;

    fprintf(out, "peer server server\n    cert %s\n", server_certs[key]);
    print_versions(out, p);
    print_kex(out, p);
    fprintf(out, "    dh ffdhe2048\n    client-ca root\n    ca root\n");
    fprintf(out, "    verify %s%s\n", verify[ver & 3], (ver & 4) && (ver & 3) ? " once" : "");
    fprintf(out, "    verify-callback %s\n", (ver & 8) ? "record" : "accept-all");
    fprintf(out, "    session-id-context tlsrig-fuzz\n");
    if (alpn[fz_prefix_get(p, FZ_TAG_ALPN, 0) & 3] != NULL)
        fprintf(out, "    alpn-select %s\n", alpn[fz_prefix_get(p, FZ_TAG_ALPN, 0) & 3]);
    if (sni == 1)
        fprintf(out, "    sni-callback record\n");
    else if (sni == 2)
        fprintf(out, "    sni-callback switch server.tlsrig.test %s\n",
                server_certs[(key + 1) % FZ_N_KEYS]);
    else if (sni == 3)
        fprintf(out, "    sni-callback fail\n");
    if (ocsp != 0)
        fprintf(out, "    ocsp-staple %s\n", ocsp == 1 ? "response" : ocsp == 2 ? "none" : "fail");
    fprintf(out, "    tickets %d\n", tickets[fz_prefix_get(p, FZ_TAG_TICKETS, 0) & 3]);
    if (early[fz_prefix_get(p, FZ_TAG_EARLY, 0) & 3] != 0)
        fprintf(out, "    early-data %d\n", early[fz_prefix_get(p, FZ_TAG_EARLY, 0) & 3]);
    print_options(out, p);
}

static void print_client(FILE *out, const fz_prefix *p)
{
    static const char *const certs[3] = {"client-p256", NULL, "client-rsa"};
    static const char *const alpn[4] = {NULL, "h2,http/1.1", "http/1.1", NULL};
    static const char *const sni[4] = {NULL, "sni server.tlsrig.test", "sni other.example",
                                       "hostname server.tlsrig.test"};
    static const int early[4] = {0, 16, 1, 1000};
    char long_name[256];
    memset(long_name, 'x', 255);
    long_name[255] = '\0';
    uint8_t ver = fz_prefix_get(p, FZ_TAG_VERIFY, 0);
    uint8_t ocsp = fz_prefix_get(p, FZ_TAG_OCSP, 0) & 3;
    uint8_t a = fz_prefix_get(p, FZ_TAG_ALPN, 0) & 3;
    const char *cert = certs[fz_prefix_get(p, FZ_TAG_KEY, 0) % 3];

    fprintf(out, "peer client client\n");
    if (cert != NULL)
        fprintf(out, "    cert %s\n", cert);
    print_versions(out, p);
    print_kex(out, p);
    fprintf(out, "    ca root\n    verify %s\n", (ver & 3) == 1 ? "none" : "peer");
    fprintf(out, "    verify-callback %s\n", (ver & 8) ? "record" : "accept-all");
    if (!(ver & 4))
        fprintf(out, "    post-handshake-auth on\n");
    if (alpn[a] != NULL)
        fprintf(out, "    alpn %s\n", alpn[a]);
    else if (a == 3)
        fprintf(out, "    alpn %s,h2\n", long_name);
    if (sni[fz_prefix_get(p, FZ_TAG_SNI, 0) & 3] != NULL)
        fprintf(out, "    %s\n", sni[fz_prefix_get(p, FZ_TAG_SNI, 0) & 3]);
    if (ocsp != 0)
        fprintf(out, "    ocsp request %s\n", ocsp == 1 ? "accept" : ocsp == 2 ? "reject" : "fail");
    if (early[fz_prefix_get(p, FZ_TAG_EARLY, 0) & 3] != 0)
        fprintf(out, "    early-data %d\n", early[fz_prefix_get(p, FZ_TAG_EARLY, 0) & 3]);
    if (fz_prefix_get(p, FZ_TAG_RECORD, 0) & 0x20)
        fprintf(out, "    # max_fragment_length 512 has no scenario setting\n");
    if (fz_prefix_get(p, FZ_TAG_MISC, 0) & 0x02)
        fprintf(out, "    mode SEND_FALLBACK_SCSV\n");
    print_options(out, p);
}

void fz_mitm_print_peers(FILE *out, int target_is_server, const fz_prefix *target,
                         const fz_prefix *peer, int fixup)
{
    const fz_prefix *server = target_is_server ? target : peer;
    const fz_prefix *client = target_is_server ? peer : target;
    fprintf(out,
            "# found by the %s fuzz target: the %s is the target, the %s its live peer;\n"
            "# the tamper and inject steps act on what crosses between them, decrypted\n",
            target_is_server ? "server_mitm" : "client_mitm",
            target_is_server ? "server" : "client", target_is_server ? "client" : "server");
    fprintf(out, "title %s input as a scenario\n\n",
            target_is_server ? "server_mitm" : "client_mitm");
    print_client(out, client);
    print_server(out, server);
    if (fz_prefix_get(client, FZ_TAG_TICKETS, 0) & 3)
        fprintf(out,
                "# the client offers a session saved at start-up (TICKETS %u): "
                "add save-session/resume steps to reproduce it\n",
                fz_prefix_get(client, FZ_TAG_TICKETS, 0) & 3);
    fprintf(out, "\ntamper-fixup %s\n", fixup ? "on" : "off");
}

/* An error class as the scenario language names it ("zero-return"). */
static void print_error_class(FILE *out, int rc)
{
    for (const char *s = tlsrig_err_name(rc); *s != '\0'; s++)
        fputc(*s == '_' ? '-' : tolower((unsigned char)*s), out);
}

static void print_returns(FILE *out, int rc, int expected)
{
    if (rc == expected)
        return;
    if (rc >= 0) {
        fprintf(out, " returns %d", rc);
    } else {
        fputs(" returns error ", out);
        print_error_class(out, rc);
    }
}

void fz_mitm_print_op(FILE *out, const char *side, const char *other, uint8_t op, int rc)
{
    static const char *const shut[4] = {"none", "sent", "received", "both"};
    unsigned a = op >> 4;
    switch (op & 15) {
    case FZ_OP_SEND:
        fprintf(out, "send %s %zu bytes", side, fz_send_size(a));
        if (rc < 0) {
            fputs(" fails ", out);
            print_error_class(out, rc);
        }
        break;
    case FZ_OP_KEY_UPDATE:
        fprintf(out, "key-update %s %s", side, (a & 1) ? "requested" : "not-requested");
        print_returns(out, rc, 0);
        break;
    case FZ_OP_RENEGOTIATE:
        fprintf(out, "renegotiate %s", side);
        print_returns(out, rc, 1);
        break;
    case FZ_OP_PHA:
        fprintf(out, "request-client-cert %s", side);
        print_returns(out, rc, 0);
        break;
    case FZ_OP_QUIET:
        fprintf(out, "quiet-shutdown %s\n", side);
        /* fall through */
    case FZ_OP_SHUTDOWN:
        fprintf(out, "shutdown %s", side);
        print_returns(out, rc, INT32_MIN);
        break;
    case FZ_OP_EOF:
        fprintf(out, "close %s", other);
        break;
    case FZ_OP_SET_SHUTDOWN:
        fprintf(out, "set-shutdown %s %s", side, shut[a & 3]);
        break;
    default:
        fprintf(out, "# %s: fuzz op 0x%02x (no scenario step; the pump runs)\npump", side, op);
        break;
    }
    fputc('\n', out);
}
