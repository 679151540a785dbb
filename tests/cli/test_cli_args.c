/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli_args.c - the CLI's option parsing (tool/args.c) and the one
 * mapping from queued errors to exit codes (tool/errors.c).  Errors land
 * in OpenSSL's queue through the CLI's own err.h sink, as in the binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tool.h"

/* The first queued error's reason and text; the queue is emptied. */
static int first_error(char *text, size_t len)
{
    const char *data;
    int flags, reason = 0;
    unsigned long e;

    text[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (reason == 0) {
            reason = ERR_GET_REASON(e);
            snprintf(text, len, "%s", (flags & ERR_TXT_STRING) ? data : "");
        }
    }
    return reason;
}

static void expect_error(int reason, const char *needle)
{
    char text[512];

    assert_int_equal(first_error(text, sizeof(text)), reason);
    if (strstr(text, needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, text);
}

/* A writable argv from a string list (parsers move entries around). */
#define ARGV(...) char *argv[] = { "hsmkey", __VA_ARGS__, NULL };           \
    int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1

struct opts3 {
    const char *token, *label;
    int force;
};

static int parse3(struct opts3 *o, int argc, char **argv)
{
    const struct tool_opt opts[] = {
        { "token", &o->token, NULL },
        { "label", &o->label, NULL },
        { "force", NULL, &o->force },
        { NULL },
    };

    memset(o, 0, sizeof(*o));
    return tool_opts_parse("keygen", argc, argv, opts);
}

static void test_cli_args_values_and_flags(void **state)
{
    struct opts3 o;
    ARGV("--token", "node1", "--label=k 1", "--force");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 1);
    assert_string_equal(o.token, "node1");
    assert_string_equal(o.label, "k 1");
    assert_int_equal(o.force, 1);
}

static void test_cli_args_empty_value_allowed(void **state)
{
    struct opts3 o;
    ARGV("--label=");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 1);
    assert_string_equal(o.label, "");
    assert_int_equal(tool_opt_required("keygen", "label", o.label), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--label is required (it is empty)");
}

static void test_cli_args_unknown_option(void **state)
{
    struct opts3 o;
    ARGV("--token", "t", "--frobnicate");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "keygen: unknown option --frobnicate");
}

static void test_cli_args_prefix_is_not_a_match(void **state)
{
    struct opts3 o;
    ARGV("--tok", "t");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "unknown option --tok");
}

static void test_cli_args_missing_value(void **state)
{
    struct opts3 o;
    ARGV("--label");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "keygen: --label needs a value");
}

static void test_cli_args_twice(void **state)
{
    struct opts3 o;
    ARGV("--token", "a", "--token=b");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--token is given twice");
}

static void test_cli_args_flag_with_value(void **state)
{
    struct opts3 o;
    ARGV("--force=yes");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--force takes no value");
}

static void test_cli_args_stray_argument(void **state)
{
    struct opts3 o;
    ARGV("--token", "t", "extra");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "unexpected argument 'extra'");
}

static void test_cli_args_double_dash_last(void **state)
{
    struct opts3 o;
    ARGV("--token", "t", "--");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 1);
    assert_string_equal(o.token, "t");
}

static void test_cli_args_double_dash_then_argument(void **state)
{
    struct opts3 o;
    ARGV("--", "x");

    (void)state;
    assert_int_equal(parse3(&o, argc, argv), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "unexpected argument 'x'");
}

static void test_cli_args_global_anywhere(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("--json", "keys", "--token", "t", "--module=/m.so", "--pin-source",
         "env:P");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     1);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[1], "keys");
    assert_string_equal(argv[2], "--token");
    assert_string_equal(argv[3], "t");
    assert_null(argv[4]);
    assert_int_equal(ctx.json, 1);
    assert_string_equal(ctx.module, "/m.so");
    assert_string_equal(ctx.pin_source, "env:P");
    assert_int_equal(help, 0);
}

static void test_cli_args_global_init_args(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("tokens", "--module-init-args", "configdir='sql:/db' flags=",
         "--module", "/m.so");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     1);
    assert_int_equal(argc, 2);
    assert_string_equal(ctx.init_args, "configdir='sql:/db' flags=");
    assert_string_equal(ctx.module, "/m.so");
}

static void test_cli_args_global_init_args_inline(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("--module-init-args=a=b c", "tokens");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     1);
    assert_string_equal(ctx.init_args, "a=b c");
    assert_null(ctx.module); /* --module is not its prefix */
}

static void test_cli_args_global_help_version(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("keygen", "-h", "--version");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     1);
    assert_int_equal(argc, 2);
    assert_int_equal(help, 1);
    assert_int_equal(version, 1);
}

static void test_cli_args_global_after_double_dash(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("keyref", "--", "--json");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     1);
    assert_int_equal(argc, 4);
    assert_int_equal(ctx.json, 0);
}

static void test_cli_args_global_missing_value(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("tokens", "--module");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--module needs a value");
}

static void test_cli_args_global_twice(void **state)
{
    struct tool_ctx ctx = { 0 };
    int help = 0, version = 0;
    ARGV("--pin-source", "env:A", "tokens", "--pin-source=env:B");

    (void)state;
    assert_int_equal(tool_global_parse(&ctx, &argc, argv, &help, &version),
                     0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--pin-source is given twice");
}

static void test_cli_args_hex(void **state)
{
    unsigned char buf[4];
    size_t len = sizeof(buf);

    (void)state;
    assert_int_equal(tool_parse_hex("keygen", "id", "0a:FF", buf, &len), 1);
    assert_int_equal(len, 2);
    assert_int_equal(buf[0], 0x0a);
    assert_int_equal(buf[1], 0xff);
    len = sizeof(buf);
    assert_int_equal(tool_parse_hex("keygen", "id", "abc", buf, &len), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--id 'abc' is not 1 to 4 bytes");
    len = sizeof(buf);
    assert_int_equal(tool_parse_hex("keygen", "id", "0102030405", buf, &len),
                     0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "not 1 to 4 bytes");
    len = sizeof(buf);
    assert_int_equal(tool_parse_hex("keygen", "id", "", buf, &len), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--id");
    len = sizeof(buf);
    assert_int_equal(tool_parse_hex("keygen", "id", "0x01", buf, &len), 0);
    expect_error(HSMKEY_R_BAD_ARGUMENT, "--id '0x01'");
}

static void test_cli_args_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_BAD_ARGUMENT), 2);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_BAD_URI), 2);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_BAD_INPUT), 2);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_FILE), 2);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_PIN_SOURCE), 2);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_MODULE), 3);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_TOKEN_NOT_FOUND), 3);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_KEY_NOT_FOUND), 3);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_LOGIN), 3);
    assert_int_equal(tool_exit_for_reason(HSMKEY_R_PKCS11), 3);
    assert_int_equal(tool_exit_for_reason(9999), 3);
}

/* What tool_errors_report prints, and the code it returns. */
static int report(char *out, size_t len)
{
    FILE *f = tmpfile();
    size_t n;
    int rc;

    assert_non_null(f);
    rc = tool_errors_report(f);
    rewind(f);
    n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
    return rc;
}

static void test_cli_args_report_first_class_wins(void **state)
{
    char out[1024];

    (void)state;
    hsmkey_raise(HSMKEY_R_FILE, "pin file /x: No such file");
    hsmkey_raise(HSMKEY_R_LOGIN, "token 't': no PIN");
    hsmkey_raise(HSMKEY_R_LOGIN, "token 't': no PIN");
    assert_int_equal(report(out, sizeof(out)), 2);
    assert_string_equal(out, "hsmkey: pin file /x: No such file\n"
                             "hsmkey: token 't': no PIN\n");
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_cli_args_report_hides_foreign_noise(void **state)
{
    char out[1024];

    (void)state;
    ERR_raise_data(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE,
                   "engine probing");
    hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "no token labelled 'x'");
    assert_int_equal(report(out, sizeof(out)), 3);
    assert_string_equal(out, "hsmkey: no token labelled 'x'\n");
}

static void test_cli_args_report_foreign_only(void **state)
{
    char out[1024];

    (void)state;
    ERR_raise_data(ERR_LIB_PEM, PEM_R_NO_START_LINE, "file=%s", "a.pem");
    assert_int_equal(report(out, sizeof(out)), 2);
    assert_non_null(strstr(out, "hsmkey: PEM routines: no start line: "
                                "file=a.pem"));
    assert_int_equal(report(out, sizeof(out)), 3); /* nothing queued */
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_args_values_and_flags),
        cmocka_unit_test(test_cli_args_empty_value_allowed),
        cmocka_unit_test(test_cli_args_unknown_option),
        cmocka_unit_test(test_cli_args_prefix_is_not_a_match),
        cmocka_unit_test(test_cli_args_missing_value),
        cmocka_unit_test(test_cli_args_twice),
        cmocka_unit_test(test_cli_args_flag_with_value),
        cmocka_unit_test(test_cli_args_stray_argument),
        cmocka_unit_test(test_cli_args_double_dash_last),
        cmocka_unit_test(test_cli_args_double_dash_then_argument),
        cmocka_unit_test(test_cli_args_global_anywhere),
        cmocka_unit_test(test_cli_args_global_init_args),
        cmocka_unit_test(test_cli_args_global_init_args_inline),
        cmocka_unit_test(test_cli_args_global_help_version),
        cmocka_unit_test(test_cli_args_global_after_double_dash),
        cmocka_unit_test(test_cli_args_global_missing_value),
        cmocka_unit_test(test_cli_args_global_twice),
        cmocka_unit_test(test_cli_args_hex),
        cmocka_unit_test(test_cli_args_exit_codes),
        cmocka_unit_test(test_cli_args_report_first_class_wins),
        cmocka_unit_test(test_cli_args_report_hides_foreign_noise),
        cmocka_unit_test(test_cli_args_report_foreign_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
