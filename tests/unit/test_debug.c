/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_debug.c - the trace of include/hsmkey/debug.h: silent and free when
 * off, one whole line per trace point when on, control characters kept out,
 * long lines cut, search templates spelled out, on/off settings parsed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hsmkey/debug.h"

static char captured[8192];

/* Runs fn with stderr going to a temp file; its text in captured[]. */
static void capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    size_t n;

    assert_non_null(tmp);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
}

static int evaluated;

static const char *counted(const char *s)
{
    evaluated++;
    return s;
}

static void trace_hello(void)
{
    hsmkey_debug("area", "hello %s", counted("world"));
}

static void test_debug_off_is_silent_and_skips_arguments(void **state)
{
    (void)state;
    hsmkey_debug_set(0);
    evaluated = 0;
    capture(trace_hello);
    assert_string_equal(captured, "");
    assert_int_equal(evaluated, 0);
}

static void test_debug_on_writes_one_line(void **state)
{
    char want[64];

    (void)state;
    hsmkey_debug_set(1);
    evaluated = 0;
    capture(trace_hello);
    hsmkey_debug_set(0);
    snprintf(want, sizeof(want), "hsmkey[%ld]: area: hello world\n",
             (long)getpid());
    assert_string_equal(captured, want);
    assert_int_equal(evaluated, 1);
}

static void trace_newlines(void)
{
    hsmkey_debug("token", "label '%s'", "a\nhsmkey[1]: forged\r\x1b[2J");
}

static void test_debug_control_characters_never_make_lines(void **state)
{
    char want[96];

    (void)state;
    hsmkey_debug_set(1);
    capture(trace_newlines);
    hsmkey_debug_set(0);
    snprintf(want, sizeof(want),
             "hsmkey[%ld]: token: label 'a?hsmkey[1]: forged??[2J'\n",
             (long)getpid());
    assert_string_equal(captured, want);
}

static void trace_long(void)
{
    char big[3000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hsmkey_debug("find", "%s", big);
}

static void test_debug_long_lines_are_cut(void **state)
{
    size_t n;

    (void)state;
    hsmkey_debug_set(1);
    capture(trace_long);
    hsmkey_debug_set(0);
    n = strlen(captured);
    assert_true(n <= 1024);
    assert_int_equal(strchr(captured, '\n') - captured, (long)n - 1);
    assert_memory_equal(captured + n - 4, "...\n", 4);
}

static void trace_template(void)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BBOOL yes = CK_TRUE;
    unsigned char id[] = { 0x01, 0xab };
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_LABEL, "node-key", 8 },
        { CKA_ID, id, sizeof(id) },
        { CKA_TOKEN, &yes, sizeof(yes) },
        { 0x80001234UL, id, sizeof(id) },
    };

    hsmkey_debug_template("find", "node1", tmpl, 5);
    hsmkey_debug_template("find", "node1", tmpl, 0);
}

static void test_debug_template_names_each_attribute(void **state)
{
    char want[400];
    long pid = (long)getpid();

    (void)state;
    hsmkey_debug_set(1);
    capture(trace_template);
    hsmkey_debug_set(0);
    snprintf(want, sizeof(want),
             "hsmkey[%ld]: find: token 'node1': template "
             "CKA_CLASS=CKO_PRIVATE_KEY CKA_LABEL=\"node-key\" CKA_ID=01ab "
             "CKA_TOKEN=true CKA_0x80001234=01ab\n"
             "hsmkey[%ld]: find: token 'node1': template (empty: every "
             "object)\n", pid, pid);
    assert_string_equal(captured, want);
}

static void *thread_trace(void *arg)
{
    (void)arg;
    hsmkey_debug("session", "from a thread");
    return NULL;
}

static void trace_from_thread(void)
{
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, thread_trace, NULL), 0);
    pthread_join(t, NULL);
}

static void test_debug_threads_are_told_apart(void **state)
{
    char want[64];

    (void)state;
    hsmkey_debug_set(1);
    capture(trace_from_thread);
    hsmkey_debug_set(0);
    snprintf(want, sizeof(want), "hsmkey[%ld/", (long)getpid());
    assert_memory_equal(captured, want, strlen(want));
    assert_non_null(strstr(captured, "]: session: from a thread\n"));
}

static void test_debug_parse(void **state)
{
    static const char *const on[] = { "1", "yes", "true", "on", "YES", "2",
                                      "verbose" };
    static const char *const off[] = { "0", "no", "false", "off", "No",
                                       "FALSE" };

    (void)state;
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
        assert_int_equal(hsmkey_debug_parse(on[i]), 1);
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        assert_int_equal(hsmkey_debug_parse(off[i]), 0);
    assert_int_equal(hsmkey_debug_parse(NULL), -1);
    assert_int_equal(hsmkey_debug_parse(""), -1);
}

static void test_debug_from_env(void **state)
{
    (void)state;
    unsetenv("HSMKEY_DEBUG");
    assert_int_equal(hsmkey_debug_from_env(), -1);
    setenv("HSMKEY_DEBUG", "1", 1);
    assert_int_equal(hsmkey_debug_from_env(), 1);
    setenv("HSMKEY_DEBUG", "0", 1);
    assert_int_equal(hsmkey_debug_from_env(), 0);
    setenv("HSMKEY_DEBUG", "", 1);
    assert_int_equal(hsmkey_debug_from_env(), -1);
    unsetenv("HSMKEY_DEBUG");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_off_is_silent_and_skips_arguments),
        cmocka_unit_test(test_debug_on_writes_one_line),
        cmocka_unit_test(test_debug_control_characters_never_make_lines),
        cmocka_unit_test(test_debug_long_lines_are_cut),
        cmocka_unit_test(test_debug_template_names_each_attribute),
        cmocka_unit_test(test_debug_threads_are_told_apart),
        cmocka_unit_test(test_debug_parse),
        cmocka_unit_test(test_debug_from_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
