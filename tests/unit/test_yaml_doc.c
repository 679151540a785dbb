/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_yaml_doc.c - the YAML reader of `hsmkey check --harperdb`
 * (tool/yaml_doc.c) on the shapes harperdb-config.yaml takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hsmkey/err.h"
#include "err_capture.h"
#include "yaml_doc.h"

static struct tool_yaml *load(const char *text)
{
    return tool_yaml_load_buffer((const unsigned char *)text, strlen(text),
                                 "test.yaml");
}

static const char *text_at(struct tool_yaml *y, const char *key)
{
    return tool_yaml_text(tool_yaml_get(y, tool_yaml_root(y), key));
}

static void test_yaml_mapping_dotted(void **state)
{
    struct tool_yaml *y = load(
        "# HarperDB configuration file\n---\n"
        "operationsApi:\n  network:\n    securePort: 9925\n"
        "  tls:\n    privateKey: /etc/hsmkey/k.pem\n"
        "tls:\n  certificate: \"/etc/hsmkey/c.pem\"\n  privateKey: null\n"
        "  certificateAuthority: ~\n  ciphers:\n");

    (void)state;
    assert_non_null(y);
    assert_string_equal(text_at(y, "operationsApi.tls.privateKey"),
                        "/etc/hsmkey/k.pem");
    assert_string_equal(text_at(y, "operationsApi.network.securePort"),
                        "9925");
    assert_string_equal(text_at(y, "tls.certificate"), "/etc/hsmkey/c.pem");
    /* YAML's null in its three plain spellings is "absent" */
    assert_null(text_at(y, "tls.privateKey"));
    assert_null(text_at(y, "tls.certificateAuthority"));
    assert_null(text_at(y, "tls.ciphers"));
    assert_null(text_at(y, "tls.nosuch"));
    assert_null(text_at(y, "nosuch.tls"));
    /* a mapping is not a scalar, a prefix of a key is not the key */
    assert_null(text_at(y, "tls"));
    assert_null(text_at(y, "tls.certificat"));
    tool_yaml_free(y);
}

static void test_yaml_sequence(void **state)
{
    struct tool_yaml *y = load("tls:\n  - certificate: a.pem\n"
                               "  - {certificate: b.pem, privateKey: k}\n");
    yaml_node_t *tls;

    (void)state;
    assert_non_null(y);
    tls = tool_yaml_get(y, tool_yaml_root(y), "tls");
    assert_int_equal(tool_yaml_count(y, tls), 2);
    assert_string_equal(tool_yaml_text(tool_yaml_get(
                            y, tool_yaml_item(y, tls, 0), "certificate")),
                        "a.pem");
    assert_string_equal(tool_yaml_text(tool_yaml_get(
                            y, tool_yaml_item(y, tls, 1), "privateKey")),
                        "k");
    assert_null(tool_yaml_item(y, tls, 2));
    /* a mapping has no items; a sequence has no keys */
    assert_int_equal(tool_yaml_count(y, tool_yaml_root(y)), 0);
    assert_null(tool_yaml_get(y, tls, "certificate"));
    tool_yaml_free(y);
}

static void test_yaml_bool(void **state)
{
    struct tool_yaml *y = load("a: true\nb: False\nc: 'true'\nd: yes\ne: 1\n");

    (void)state;
    assert_non_null(y);
    assert_int_equal(tool_yaml_bool(tool_yaml_get(y, tool_yaml_root(y), "a")), 1);
    assert_int_equal(tool_yaml_bool(tool_yaml_get(y, tool_yaml_root(y), "b")), 0);
    /* quoted, YAML 1.1 words and numbers are not booleans */
    assert_int_equal(tool_yaml_bool(tool_yaml_get(y, tool_yaml_root(y), "c")), -1);
    assert_int_equal(tool_yaml_bool(tool_yaml_get(y, tool_yaml_root(y), "d")), -1);
    assert_int_equal(tool_yaml_bool(tool_yaml_get(y, tool_yaml_root(y), "e")), -1);
    assert_int_equal(tool_yaml_bool(tool_yaml_get(y, tool_yaml_root(y), "f")), -1);
    tool_yaml_free(y);
}

static void test_yaml_alias(void **state)
{
    struct tool_yaml *y = load("base: &t {privateKey: k.pem}\n"
                               "operationsApi: {tls: *t}\n");

    (void)state;
    assert_non_null(y);
    assert_string_equal(text_at(y, "operationsApi.tls.privateKey"), "k.pem");
    tool_yaml_free(y);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    err_capture_reset();
    assert_null(load("tls:\n  certificate: [unclosed\n"));
    assert_true(err_capture_contains("test.yaml: line "));
    err_capture_reset();
    assert_null(load(""));
    assert_true(err_capture_contains("test.yaml: no YAML document"));
    err_capture_reset();
    assert_null(tool_yaml_load_file("/nonexistent/harperdb-config.yaml"));
    assert_true(err_capture_contains("cannot read /nonexistent/"));
    /* NULL everywhere is absent, never a crash */
    assert_null(tool_yaml_root(NULL));
    assert_null(tool_yaml_text(NULL));
    assert_int_equal(tool_yaml_bool(NULL), -1);
    tool_yaml_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_mapping_dotted),
        cmocka_unit_test(test_yaml_sequence),
        cmocka_unit_test(test_yaml_bool),
        cmocka_unit_test(test_yaml_alias),
        cmocka_unit_test(test_yaml_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
