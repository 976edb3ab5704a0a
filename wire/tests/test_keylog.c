/*
 * test_keylog.c - the NSS key log parser and writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

#define CR "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define S32 "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define S48 S32 "2122232425262728292a2b2c2d2e2f30"

static void parses_every_label(void **state)
{
    for (int i = 0; i < WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_N; i++) {
        char line[256];
        const char *name = wire_keylog_label_name((wire_keylog_label)i);
        assert_non_null(name);
        snprintf(line, sizeof(line), "%s %s %s\n", name, CR,
                 i == WIRE_KEYLOG_CLIENT_RANDOM ? S48 : S32);
        wire_keylog_entry e;
        char why[128] = "";
        assert_int_equal(wire_keylog_parse_line(line, strlen(line), &e, why, sizeof(why)), 1);
        assert_int_equal(e.label, i);
        assert_int_equal(e.client_random[0], 0x00);
        assert_int_equal(e.client_random[31], 0xff);
        assert_int_equal(e.secret_len, i == WIRE_KEYLOG_CLIENT_RANDOM ? 48 : 32);
        assert_int_equal(e.secret[0], 0x01);
        /* format gives the line back (without its newline) */
        char out[256];
        int n = wire_keylog_format(&e, out, sizeof(out));
        assert_int_equal(n, (int)strlen(line) - 1);
        assert_memory_equal(out, line, (size_t)n);
    }
    assert_null(wire_keylog_label_name(WIRE_KEYLOG_N));
}

/* The lines written after KeyUpdates carry their number; RSA pre-master lines are skipped. */
static void numbered_and_skipped_lines(void **state)
{
    const char *line = "SERVER_TRAFFIC_SECRET_12 " CR " " S32;
    wire_keylog_entry e;
    assert_int_equal(wire_keylog_parse_line(line, strlen(line), &e, NULL, 0), 1);
    assert_int_equal(e.label, WIRE_KEYLOG_SERVER_TRAFFIC_SECRET_N);
    assert_int_equal(e.generation, 12);
    char out[256];
    assert_int_equal(wire_keylog_format(&e, out, sizeof(out)), (int)strlen(line));
    assert_string_equal(out, line);
    line = "CLIENT_TRAFFIC_SECRET_0 " CR " " S32;
    assert_int_equal(wire_keylog_parse_line(line, strlen(line), &e, NULL, 0), 1);
    assert_int_equal(e.label, WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_0);
    assert_int_equal(e.generation, 0);
    static const char *const bad[] = {"CLIENT_TRAFFIC_SECRET_01 " CR " " S32,
                                      "CLIENT_TRAFFIC_SECRET_x " CR " " S32,
                                      "CLIENT_TRAFFIC_SECRET_ " CR " " S32};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(wire_keylog_parse_line(bad[i], strlen(bad[i]), &e, NULL, 0),
                         TLSRIG_ERR_INVALID_ARGUMENT);
    line = "CLIENT_TRAFFIC_SECRET_N " CR " " S32; /* as OpenSSL 3.0 writes it */
    assert_int_equal(wire_keylog_parse_line(line, strlen(line), &e, NULL, 0), 1);
    assert_int_equal(e.label, WIRE_KEYLOG_CLIENT_TRAFFIC_SECRET_N);
    assert_int_equal(e.generation, 0);
    assert_int_equal(wire_keylog_format(&e, out, sizeof(out)), (int)strlen(line));
    assert_string_equal(out, line);
    line = "RSA 0011223344556677 " S48;
    assert_int_equal(wire_keylog_parse_line(line, strlen(line), &e, NULL, 0), 0);
}

static void rejects_with_reason(void **state)
{
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"SERVER_RANDOM " CR " " S32, "unknown label 'SERVER_RANDOM'"},
        {"CLIENT_TRAFFIC_SECRET_0 0011 " S32, "the client random is not 64 hex digits"},
        {"CLIENT_TRAFFIC_SECRET_0 " CR " 0g", "not an even number of hex digits"},
        {"CLIENT_TRAFFIC_SECRET_0 " CR " 012", "not an even number of hex digits"},
        {"CLIENT_TRAFFIC_SECRET_0 " CR, "not an even number of hex digits"},
        {"CLIENT_TRAFFIC_SECRET_0 " CR " " S32 S32 "00", "at most 128"},
        {"CLIENT_RANDOM " CR " " S32, "master secret is 48 bytes"},
        {"CLIENT_TRAFFIC_SECRET_0 " CR " " S32 " extra", "unexpected words"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wire_keylog_entry e;
        char why[128] = "";
        assert_int_equal(
            wire_keylog_parse_line(bad[i].line, strlen(bad[i].line), &e, why, sizeof(why)),
            TLSRIG_ERR_INVALID_ARGUMENT);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("line %zu: expected a reason with '%s', got '%s'", i, bad[i].why, why);
    }
}

static void text_with_comments_and_overrides(void **state)
{
    const char text[] = "# a comment\n"
                        "\n"
                        "CLIENT_HANDSHAKE_TRAFFIC_SECRET " CR " " S32 "\r\n"
                        "SERVER_HANDSHAKE_TRAFFIC_SECRET " CR " " S48 "\n"
                        "CLIENT_HANDSHAKE_TRAFFIC_SECRET " CR " " S48 "\n";
    wire_keylog kl = {0};
    assert_int_equal(wire_keylog_add_text(&kl, text, strlen(text), NULL, NULL, 0), 3);
    uint8_t cr[32];
    for (int i = 0; i < 32; i++)
        cr[i] = (uint8_t)(i % 16 * 0x11);
    const wire_keylog_entry *e =
        wire_keylog_find(&kl, WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, cr);
    assert_non_null(e);
    assert_int_equal(e->secret_len, 48); /* the later line wins */
    assert_null(wire_keylog_find(&kl, WIRE_KEYLOG_EXPORTER_SECRET, cr));
    cr[0] = 1;
    assert_null(wire_keylog_find(&kl, WIRE_KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, cr));
    wire_keylog_cleanup(&kl);
}

static void bad_line_number(void **state)
{
    const char text[] = "CLIENT_TRAFFIC_SECRET_0 " CR " " S32 "\n"
                        "# fine\n"
                        "CLIENT_TRAFFIC_SECRET_0 nothex " S32 "\n";
    wire_keylog kl = {0};
    size_t bad = 0;
    char why[128] = "";
    assert_int_equal(wire_keylog_add_text(&kl, text, strlen(text), &bad, why, sizeof(why)),
                     TLSRIG_ERR_INVALID_ARGUMENT);
    assert_int_equal(bad, 3);
    assert_non_null(strstr(why, "client random"));
    assert_int_equal(kl.n, 1); /* the good line before it is kept */
    wire_keylog_cleanup(&kl);
    wire_keylog_cleanup(&kl); /* cleanup twice is safe */
}

static void format_small_buffer(void **state)
{
    wire_keylog_entry e = {.label = WIRE_KEYLOG_EXPORTER_SECRET, .secret_len = 32};
    char out[64];
    assert_int_equal(wire_keylog_format(&e, out, sizeof(out)), TLSRIG_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_label),  cmocka_unit_test(numbered_and_skipped_lines),
        cmocka_unit_test(rejects_with_reason), cmocka_unit_test(text_with_comments_and_overrides),
        cmocka_unit_test(bad_line_number),     cmocka_unit_test(format_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
