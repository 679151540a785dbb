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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

    /* Group write: anyone in the group could feed the token wrong PINs. */
    err_capture_reset();
    assert_int_equal(chmod(source + 5, 0620), 0);
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains("can be changed by its group (mode "
                                     "0620)"));
    assert_false(err_capture_contains("s3cr3t"));
}

/* A pipe's read end with line in it and no writer left. */
static int piped(const char *line, int mode)
{
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fchmod(fds[0], (mode_t)mode), 0);
    assert_int_equal(write(fds[1], line, strlen(line)), (ssize_t)strlen(line));
    close(fds[1]);
    return fds[0];
}

/* A child that writes line into the FIFO at path once a reader opens it
 * (nobody may read: then it is killed). */
static pid_t fifo_writer(const char *path, const char *line)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY);

        _exit(fd >= 0 && write(fd, line, strlen(line)) > 0 ? 0 : 1);
    }
    return pid;
}

static void fifo_done(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Pipes and FIFOs follow the same rules: whoever may write one decides
 * what is read from it. */
static void test_pin_pipe_and_fifo_permissions(void **state)
{
    char source[300];
    int fd;
    pid_t writer;

    (void)state;
    fd = piped("piped\n", 0600);
    snprintf(source, sizeof(source), "file:/dev/fd/%d", fd);
    assert_pin(hsmkey_pin_resolve(source), "piped");
    close(fd);
    fd = piped("piped\n", 0666);
    snprintf(source, sizeof(source), "file:/dev/fd/%d", fd);
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains("can be read by any user (mode 0666)"));
    close(fd);

    err_capture_reset();
    snprintf(source, sizeof(source), "file:%s/fifo", tmpdir);
    assert_int_equal(mkfifo(source + 5, 0600), 0);
    assert_int_equal(chmod(source + 5, 0620), 0);
    writer = fifo_writer(source + 5, "fifo\n");
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains("can be changed by its group"));
    fifo_done(writer);
    assert_int_equal(chmod(source + 5, 0600), 0);
    writer = fifo_writer(source + 5, "fifo\n");
    assert_pin(hsmkey_pin_resolve(source), "fifo");
    fifo_done(writer);
    unlink(source + 5);
}

/* A file (or FIFO) of another user: they choose the PIN we send. */
static void test_pin_file_owner(void **state)
{
    char *source;
    pid_t writer;

    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away; CI runs as root */
    source = file_source("given-away", "s3cr3t-owner\n");
    assert_int_equal(chown(source + 5, 65534, 65534), 0);
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains("is owned by uid 65534, neither this "
                                     "user (uid 0) nor root: refused"));
    assert_false(err_capture_contains("s3cr3t"));

    err_capture_reset();
    source = file_source("fifo-given-away", "");
    unlink(source + 5);
    assert_int_equal(mkfifo(source + 5, 0600), 0);
    assert_int_equal(chown(source + 5, 65534, 65534), 0);
    writer = fifo_writer(source + 5, "s3cr3t-fifo\n");
    assert_null(hsmkey_pin_resolve(source));
    assert_true(err_capture_contains("owned by uid 65534"));
    fifo_done(writer);
}

/* A relative path names another file in every directory a server starts
 * in; it is not echoed, as it may be a PIN typed after "file:". */
static void test_pin_file_relative(void **state)
{
    (void)state;
    assert_null(hsmkey_pin_resolve("file:node.pin"));
    assert_int_equal(err_capture_reason(), HSMKEY_R_PIN_SOURCE);
    assert_true(err_capture_contains("not absolute"));
    assert_false(err_capture_contains("node.pin"));
    assert_int_equal(hsmkey_pin_source_check("file:./1234"), 0);
    assert_false(err_capture_contains("1234"));
}

/* What a prompt writes straight into the protected buffer. */
struct fill_arg {
    const char *answer;
    int give;
};

static int fill(unsigned char *buf, size_t cap, size_t *len, void *arg)
{
    const struct fill_arg *a = arg;

    assert_int_equal(cap, HSMKEY_PIN_MAX);
    *len = strlen(a->answer);
    memcpy(buf, a->answer, *len < cap ? *len : cap);
    return a->give;
}

static void test_pin_from_fill(void **state)
{
    struct fill_arg typed = { "2468", 1 }, none = { "", 0 },
                    empty = { "", 1 };
    char big[HSMKEY_PIN_MAX + 2];
    struct fill_arg too_long = { big, 1 };

    (void)state;
    assert_pin(hsmkey_pin_from_fill(fill, &typed), "2468");
    assert_int_equal(err_capture_count(), 0);
    assert_null(hsmkey_pin_from_fill(fill, &none));
    assert_int_equal(err_capture_count(), 0); /* the caller says why */
    assert_null(hsmkey_pin_from_fill(fill, &empty));
    assert_true(err_capture_contains("empty"));
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(hsmkey_pin_from_fill(fill, &too_long));
    assert_true(err_capture_contains("longer than 256 bytes"));
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
        cmocka_unit_test_setup(test_pin_pipe_and_fifo_permissions,
                               err_capture_setup),
        cmocka_unit_test_setup(test_pin_file_owner, err_capture_setup),
        cmocka_unit_test_setup(test_pin_file_relative, err_capture_setup),
        cmocka_unit_test_setup(test_pin_from_fill, err_capture_setup),
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
