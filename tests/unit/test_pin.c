/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pin.c - pin sources and the PIN buffer's contents (its memory:
 * test_pin_memory.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "hsmkey/err.h"
#include "hsmkey/pin.h"
#include "err_capture.h"

/* ---- temporary files ---- */

static char tmpdir[] = "/tmp/hsmkey-test-pin-XXXXXX";
static char created[32][256];
static int ncreated;

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path;
    int fd;

    assert_true(ncreated < 32);
    path = created[ncreated++];
    snprintf(path, sizeof(created[0]), "%s/%s", tmpdir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static char *file_source(const char *name, const char *content)
{
    static char source[300];

    snprintf(source, sizeof(source), "file:%s",
             write_file(name, content, strlen(content)));
    return source;
}

static void assert_pin(struct hsmkey_pin *pin, const char *want)
{
    assert_non_null(pin);
    assert_int_equal(hsmkey_pin_len(pin), strlen(want));
    assert_memory_equal(hsmkey_pin_data(pin), want, strlen(want));
    /* NUL-terminated for callers that want a C string. */
    assert_int_equal(hsmkey_pin_data(pin)[strlen(want)], '\0');
    hsmkey_pin_free(pin);
}

/* ---- file: ---- */

static void test_pin_file_newline_forms(void **state)
{
    (void)state;
    assert_pin(hsmkey_pin_resolve(file_source("lf", "1234\n")), "1234");
    assert_pin(hsmkey_pin_resolve(file_source("crlf", "1234\r\n")), "1234");
    assert_pin(hsmkey_pin_resolve(file_source("bare", "1234")), "1234");
    assert_pin(hsmkey_pin_resolve(file_source("two", "1234\nextra\n")),
               "1234");
    /* Only one "\r" belongs to the line end; spaces are PIN characters. */
    assert_pin(hsmkey_pin_resolve(file_source("crcr", " ab\r\r\n")), " ab\r");
    assert_int_equal(err_capture_count(), 0);
}

static void test_pin_file_empty(void **state)
{
    char *source = file_source("empty", "");

    (void)state;
    assert_null(hsmkey_pin_resolve(source));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains("pin file "));
    assert_true(err_capture_contains(source + 5));
    assert_true(err_capture_contains(" is empty"));
    err_capture_reset();
    assert_null(hsmkey_pin_resolve(file_source("crlf-only", "\r\nsecret\n")));
    assert_true(err_capture_contains(" is empty"));
    assert_false(err_capture_contains("secret"));
}

static void test_pin_file_length_limit(void **state)
{
    char line[HSMKEY_PIN_MAX + 8];
    struct hsmkey_pin *pin;

    (void)state;
    memset(line, 'k', HSMKEY_PIN_MAX);
    memcpy(line + HSMKEY_PIN_MAX, "\r\n", 3);
    pin = hsmkey_pin_resolve(file_source("max", line));
    assert_non_null(pin);
    assert_int_equal(hsmkey_pin_len(pin), HSMKEY_PIN_MAX);
    hsmkey_pin_free(pin);
    line[HSMKEY_PIN_MAX] = '\0';
    pin = hsmkey_pin_resolve(file_source("max-bare", line));
    assert_non_null(pin);
    assert_int_equal(hsmkey_pin_len(pin), HSMKEY_PIN_MAX);
    hsmkey_pin_free(pin);
    assert_int_equal(err_capture_count(), 0);

    memcpy(line + HSMKEY_PIN_MAX, "k\n", 3);
    assert_null(hsmkey_pin_resolve(file_source("long", line)));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains("longer than 256 bytes"));
    assert_false(err_capture_contains("kkkk"));
    line[HSMKEY_PIN_MAX + 1] = '\0';
    assert_null(hsmkey_pin_resolve(file_source("long-bare", line)));
    assert_true(err_capture_contains("long-bare: first line is longer"));
    assert_int_equal(err_capture_count(), 2);
}

static void test_pin_file_unreadable(void **state)
{
    char source[300];

    (void)state;
    snprintf(source, sizeof(source), "file:%s/no-such-file", tmpdir);
    assert_null(hsmkey_pin_resolve(source));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains(source + 5));
    assert_true(err_capture_contains(strerror(ENOENT)));
    /* A directory opens but cannot be read. */
    snprintf(source, sizeof(source), "file:%s", tmpdir);
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains(tmpdir));
    assert_true(err_capture_contains(strerror(EISDIR)));
}

/* Mode bits of others refuse the file before it is read; group bits do not. */
static void test_pin_file_permissions(void **state)
{
    char *source;

    (void)state;
    source = file_source("shared", "s3cr3t-perm\n");
    assert_int_equal(chmod(source + 5, 0640), 0);
    assert_pin(hsmkey_pin_resolve(source), "s3cr3t-perm");
    assert_int_equal(err_capture_count(), 0);

    assert_int_equal(chmod(source + 5, 0644), 0);
    assert_null(hsmkey_pin_resolve(source));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains(source + 5));
    assert_true(err_capture_contains("can be read by any user (mode 0644)"));
    assert_true(err_capture_contains("chmod o-rwx"));
    assert_false(err_capture_contains("s3cr3t"));

    err_capture_reset();
    assert_int_equal(chmod(source + 5, 0602), 0);
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains("can be changed by any user (mode 0602)"));

    /* A pipe holds no PIN at rest: its mode is not judged. */
    {
        int fds[2];
        char pipe_source[64];

        assert_int_equal(pipe(fds), 0);
        assert_int_equal(fchmod(fds[0], 0666), 0);
        assert_int_equal(write(fds[1], "piped\n", 6), 6);
        close(fds[1]);
        snprintf(pipe_source, sizeof(pipe_source), "file:/dev/fd/%d", fds[0]);
        assert_pin(hsmkey_pin_resolve(pipe_source), "piped");
        close(fds[0]);
    }
}

/* ---- env: ---- */

static void test_pin_env(void **state)
{
    (void)state;
    assert_int_equal(setenv("HSMKEY_TEST_PIN", "s3cr3t-env", 1), 0);
    assert_pin(hsmkey_pin_resolve("env:HSMKEY_TEST_PIN"), "s3cr3t-env");
    assert_int_equal(err_capture_count(), 0);

    assert_int_equal(unsetenv("HSMKEY_TEST_PIN"), 0);
    assert_null(hsmkey_pin_resolve("env:HSMKEY_TEST_PIN"));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains("HSMKEY_TEST_PIN"));
    assert_true(err_capture_contains("not set"));

    assert_int_equal(setenv("HSMKEY_TEST_PIN", "", 1), 0);
    assert_null(hsmkey_pin_resolve("env:HSMKEY_TEST_PIN"));
    assert_true(err_capture_contains("HSMKEY_TEST_PIN"));
    assert_true(err_capture_contains("empty"));
    unsetenv("HSMKEY_TEST_PIN");
}

static void test_pin_env_too_long(void **state)
{
    char value[HSMKEY_PIN_MAX + 2];

    (void)state;
    memset(value, 'q', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    assert_int_equal(setenv("HSMKEY_TEST_PIN", value, 1), 0);
    assert_null(hsmkey_pin_resolve("env:HSMKEY_TEST_PIN"));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains("longer than 256"));
    assert_false(err_capture_contains("qqqq"));
    unsetenv("HSMKEY_TEST_PIN");
}

/* ---- other forms ---- */

static void test_pin_unknown_scheme(void **state)
{
    (void)state;
    assert_null(hsmkey_pin_resolve("foo:bar"));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_string_equal(err_capture_message(),
                        "pin-source scheme \"foo:\" is unknown; "
                        "use file:PATH or env:NAME");
    /* Scheme matching is exact: "file:" and "env:", in lower case. */
    assert_null(hsmkey_pin_resolve("FILE:/etc/hostname"));
    assert_true(err_capture_contains("\"FILE:\""));
}

/* A PIN typed where a source belongs must not be echoed back. */
static void test_pin_unknown_form_hides_pin(void **state)
{
    static const char *const pins[] = { "123456", "pa ss:word", "12:34",
                                        "verylongschemeperhaps-a-pin:x" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        err_capture_reset();
        assert_null(hsmkey_pin_resolve(pins[i]));
        assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
        assert_true(err_capture_contains("use file:PATH or env:NAME"));
        assert_false(err_capture_contains(pins[i]));
    }
    assert_false(err_capture_contains("verylong"));
    err_capture_reset();
    assert_null(hsmkey_pin_resolve("12:34"));
    assert_false(err_capture_contains("12"));
}

static void test_pin_empty_argument(void **state)
{
    (void)state;
    assert_null(hsmkey_pin_resolve("file:"));
    assert_true(err_capture_contains("names no file"));
    assert_null(hsmkey_pin_resolve("env:"));
    assert_true(err_capture_contains("names no variable"));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
}

static void test_pin_source_check(void **state)
{
    (void)state;
    /* Checking does not read: a missing file is still a valid form. */
    assert_int_equal(hsmkey_pin_source_check("file:/nonexistent/pin"), 1);
    assert_int_equal(hsmkey_pin_source_check("env:UNSET_VARIABLE_X"), 1);
    assert_int_equal(err_capture_count(), 0);
    assert_int_equal(hsmkey_pin_source_check("file:"), 0);
    assert_int_equal(hsmkey_pin_source_check("env:"), 0);
    assert_int_equal(hsmkey_pin_source_check("pass:1234"), 0);
    assert_int_equal(hsmkey_pin_source_check(""), 0);
    assert_int_equal(err_capture_count(), 4);
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
}

static void test_pin_from_bytes(void **state)
{
    static const unsigned char nul[] = { '1', 0, '2' };
    unsigned char big[HSMKEY_PIN_MAX + 1];
    struct hsmkey_pin *pin;

    (void)state;
    pin = hsmkey_pin_from_bytes(nul, sizeof(nul));
    assert_non_null(pin);
    assert_int_equal(hsmkey_pin_len(pin), 3);
    assert_memory_equal(hsmkey_pin_data(pin), nul, 3);
    hsmkey_pin_free(pin);
    pin = hsmkey_pin_from_bytes(NULL, 0);
    assert_non_null(pin);
    assert_int_equal(hsmkey_pin_len(pin), 0);
    assert_int_equal(hsmkey_pin_data(pin)[0], '\0');
    hsmkey_pin_free(pin);
    hsmkey_pin_free(NULL);
    assert_int_equal(err_capture_count(), 0);
    memset(big, 'z', sizeof(big));
    assert_null(hsmkey_pin_from_bytes(big, sizeof(big)));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
}

static int remove_tmpdir(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < ncreated; i++)
        unlink(created[i]);
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pin_file_newline_forms,
                               err_capture_setup),
        cmocka_unit_test_setup(test_pin_file_empty, err_capture_setup),
        cmocka_unit_test_setup(test_pin_file_length_limit, err_capture_setup),
        cmocka_unit_test_setup(test_pin_file_unreadable, err_capture_setup),
        cmocka_unit_test_setup(test_pin_file_permissions, err_capture_setup),
        cmocka_unit_test_setup(test_pin_env, err_capture_setup),
        cmocka_unit_test_setup(test_pin_env_too_long, err_capture_setup),
        cmocka_unit_test_setup(test_pin_unknown_scheme, err_capture_setup),
        cmocka_unit_test_setup(test_pin_unknown_form_hides_pin,
                               err_capture_setup),
        cmocka_unit_test_setup(test_pin_empty_argument, err_capture_setup),
        cmocka_unit_test_setup(test_pin_source_check, err_capture_setup),
        cmocka_unit_test_setup(test_pin_from_bytes, err_capture_setup),
    };

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    return cmocka_run_group_tests_name("pin", tests, NULL, remove_tmpdir);
}
