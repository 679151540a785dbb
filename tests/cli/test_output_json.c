/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_output_json.c - the CLI's JSON writer and tables (tool/output.c,
 * tool/table.c): escaping, nesting, misuse, and the text/JSON forms of a
 * table.  Output goes to a temporary file and is compared byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>

#include "tool.h"

static FILE *out;
static char got[4096];

static int setup(void **state)
{
    (void)state;
    out = tmpfile();
    return out == NULL;
}

static int teardown(void **state)
{
    (void)state;
    fclose(out);
    ERR_clear_error();
    return 0;
}

/* Everything written to out so far. */
static const char *written(void)
{
    size_t n;

    fflush(out);
    rewind(out);
    n = fread(got, 1, sizeof(got) - 1, out);
    got[n] = '\0';
    return got;
}

static const char *escaped(const char *s)
{
    rewind(out);
    if (ftruncate(fileno(out), 0) != 0)
        fail_msg("ftruncate");
    tool_json_escape(out, s);
    return written();
}

static void test_output_json_escape_plain(void **state)
{
    (void)state;
    assert_string_equal(escaped(""), "\"\"");
    assert_string_equal(escaped("node-key 1"), "\"node-key 1\"");
    assert_string_equal(escaped("pkcs11:token=a;id=%01"),
                        "\"pkcs11:token=a;id=%01\"");
}

static void test_output_json_escape_specials(void **state)
{
    (void)state;
    assert_string_equal(escaped("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
    assert_string_equal(escaped("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
    assert_string_equal(escaped("\x01\x1f\x7f"),
                        "\"\\u0001\\u001f\\u007f\"");
}

static void test_output_json_escape_utf8(void **state)
{
    (void)state;
    /* é, €, U+1F511: kept as they are. */
    assert_string_equal(escaped("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"),
                        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91\"");
}

static void test_output_json_escape_invalid_utf8(void **state)
{
    (void)state;
    /* A lone continuation byte, a cut sequence, an overlong '/', a UTF-16
     * surrogate and a Latin-1 byte: each becomes U+FFFD. */
    assert_string_equal(escaped("a\x80z"), "\"a\\ufffdz\"");
    assert_string_equal(escaped("\xe2\x82"), "\"\\ufffd\\ufffd\"");
    assert_string_equal(escaped("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
    assert_string_equal(escaped("\xed\xa0\x80"),
                        "\"\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(escaped("caf\xe9"), "\"caf\\ufffd\"");
}

static void test_output_json_nesting(void **state)
{
    struct tool_json *j = tool_json_new(out);

    (void)state;
    tool_json_begin_object(j, NULL);
    tool_json_bool(j, "ok", 0);
    tool_json_begin_array(j, "items");
    tool_json_begin_object(j, NULL);
    tool_json_string(j, "item", "chain");
    tool_json_null(j, "detail");
    tool_json_end_object(j);
    tool_json_int(j, NULL, -42);
    tool_json_end_array(j);
    tool_json_begin_array(j, "empty");
    tool_json_end_array(j);
    tool_json_end_object(j);
    assert_int_equal(tool_json_finish(j), 1);
    assert_string_equal(written(),
                        "{\n"
                        "  \"ok\": false,\n"
                        "  \"items\": [\n"
                        "    {\n"
                        "      \"item\": \"chain\",\n"
                        "      \"detail\": null\n"
                        "    },\n"
                        "    -42\n"
                        "  ],\n"
                        "  \"empty\": []\n"
                        "}\n");
}

static void test_output_json_key_escaped(void **state)
{
    struct tool_json *j = tool_json_new(out);

    (void)state;
    tool_json_begin_object(j, NULL);
    tool_json_string(j, "a\"b", "x\ny");
    tool_json_end_object(j);
    assert_int_equal(tool_json_finish(j), 1);
    assert_string_equal(written(), "{\n  \"a\\\"b\": \"x\\ny\"\n}\n");
}

static void test_output_json_misuse(void **state)
{
    struct tool_json *j;

    (void)state;
    j = tool_json_new(out); /* unbalanced */
    tool_json_begin_object(j, NULL);
    assert_int_equal(tool_json_finish(j), 0);
    j = tool_json_new(out); /* member without a key in an object */
    tool_json_begin_object(j, NULL);
    tool_json_string(j, NULL, "x");
    tool_json_end_object(j);
    assert_int_equal(tool_json_finish(j), 0);
    j = tool_json_new(out); /* key inside an array */
    tool_json_begin_array(j, NULL);
    tool_json_string(j, "k", "x");
    tool_json_end_array(j);
    assert_int_equal(tool_json_finish(j), 0);
    j = tool_json_new(out); /* closing what is not open */
    tool_json_begin_array(j, NULL);
    tool_json_end_object(j);
    assert_int_equal(tool_json_finish(j), 0);
    j = tool_json_new(out); /* two top-level values */
    tool_json_int(j, NULL, 1);
    tool_json_int(j, NULL, 2);
    assert_int_equal(tool_json_finish(j), 0);
    j = tool_json_new(out); /* nothing */
    assert_int_equal(tool_json_finish(j), 0);
}

static const struct tool_column cols[] = {
    { "LABEL", TOOL_COL_STR },
    { "SENSITIVE", TOOL_COL_BOOL },
    { "SLOT", TOOL_COL_INT },
    { "FREE SLOTS", TOOL_COL_STR },
};

static struct tool_table *table2(void)
{
    const char *r1[] = { "rsa-key", "yes", "7", NULL };
    const char *r2[] = { "a \"quoted\" label", "no", "12345", "x" };
    struct tool_table *t = tool_table_new(cols, 4);

    assert_non_null(t);
    assert_int_equal(tool_table_add(t, r1), 1);
    assert_int_equal(tool_table_add(t, r2), 1);
    assert_int_equal(tool_table_rows(t), 2);
    return t;
}

static void test_output_json_table_text(void **state)
{
    struct tool_table *t = table2();

    (void)state;
    assert_int_equal(tool_table_print(t, out, 0), 1);
    assert_string_equal(written(),
        "LABEL             SENSITIVE  SLOT   FREE SLOTS\n"
        "rsa-key           yes        7      -\n"
        "a \"quoted\" label  no         12345  x\n");
    tool_table_free(t);
}

static void test_output_json_table_json(void **state)
{
    struct tool_table *t = table2();

    (void)state;
    assert_int_equal(tool_table_print(t, out, 1), 1);
    assert_string_equal(written(),
        "[\n"
        "  {\n"
        "    \"label\": \"rsa-key\",\n"
        "    \"sensitive\": true,\n"
        "    \"slot\": 7,\n"
        "    \"free_slots\": null\n"
        "  },\n"
        "  {\n"
        "    \"label\": \"a \\\"quoted\\\" label\",\n"
        "    \"sensitive\": false,\n"
        "    \"slot\": 12345,\n"
        "    \"free_slots\": \"x\"\n"
        "  }\n"
        "]\n");
    tool_table_free(t);
}

static void test_output_json_table_empty(void **state)
{
    struct tool_table *t = tool_table_new(cols, 4);

    (void)state;
    assert_int_equal(tool_table_print(t, out, 1), 1);
    assert_string_equal(written(), "[]\n");
    assert_int_equal(tool_table_print_record(t, out, 1), 0);
    tool_table_free(t);
}

static void test_output_json_record(void **state)
{
    struct tool_table *t = table2();

    (void)state;
    assert_int_equal(tool_table_print_record(t, out, 0), 1);
    assert_int_equal(tool_table_print_record(t, out, 1), 1);
    assert_string_equal(written(),
        "label: rsa-key\n"
        "sensitive: yes\n"
        "slot: 7\n"
        "free_slots: -\n"
        "{\n"
        "  \"label\": \"rsa-key\",\n"
        "  \"sensitive\": true,\n"
        "  \"slot\": 7,\n"
        "  \"free_slots\": null\n"
        "}\n");
    tool_table_free(t);
}

static void test_output_json_hex(void **state)
{
    static const unsigned char id[] = { 0x00, 0x0a, 0xff };
    char *hex;

    (void)state;
    hex = tool_hex(id, sizeof(id));
    assert_string_equal(hex, "000aff");
    OPENSSL_free(hex);
    hex = tool_hex(NULL, 0);
    assert_string_equal(hex, "");
    OPENSSL_free(hex);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_output_json_escape_plain),
        T(test_output_json_escape_specials),
        T(test_output_json_escape_utf8),
        T(test_output_json_escape_invalid_utf8),
        T(test_output_json_nesting),
        T(test_output_json_key_escaped),
        T(test_output_json_misuse),
        T(test_output_json_table_text),
        T(test_output_json_table_json),
        T(test_output_json_table_empty),
        T(test_output_json_record),
        T(test_output_json_hex),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
