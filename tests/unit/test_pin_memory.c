/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pin_memory.c - where a PIN lives: wiped before its memory is given
 * back, left out of core dumps, zeroed in a forked child.
 *
 * Wiping is checked with mem_watch.c, which hooks libcrypto's allocator and
 * munmap and looks inside the memory that held the PIN just before it is
 * released; controls release unwiped memory to show the hooks would notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "hsmkey/pin.h"
#include "err_capture.h"
#include "mem_watch.h"

static char pin_file[] = "/tmp/hsmkey-test-pin-memory-XXXXXX";

/* "file:PATH" of a private file holding content. */
static const char *pin_file_source(const char *content)
{
    static char source[64];
    int fd = mkstemp(pin_file);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    close(fd);
    snprintf(source, sizeof(source), "file:%s", pin_file);
    return source;
}

/* ---- wiping ---- */

/* The watched memory was released, still holding the secret or not. */
static void assert_released(int dirty)
{
    assert_true(mem_watch_freed());
    assert_int_equal(mem_watch_dirty(), dirty);
    mem_watch(NULL, NULL);
}

static void check_wiped(struct hsmkey_pin *pin, const char *secret)
{
    assert_non_null(pin);
    assert_memory_equal(hsmkey_pin_data(pin), secret, strlen(secret));
    mem_watch(hsmkey_pin_data(pin), secret);
    hsmkey_pin_free(pin);
    assert_released(0);
}

static void test_pin_free_wipes(void **state)
{
    const char *secret = "Wipe-Me-7f3a9c";

    (void)state;
    check_wiped(hsmkey_pin_from_bytes(secret, strlen(secret)), secret);
    assert_int_equal(setenv("HSMKEY_TEST_PIN", secret, 1), 0);
    check_wiped(hsmkey_pin_resolve("env:HSMKEY_TEST_PIN"), secret);
    unsetenv("HSMKEY_TEST_PIN");
    check_wiped(hsmkey_pin_resolve(pin_file_source("Wipe-Me-7f3a9c\n")),
                secret);
}

/* A page's VmFlags in /proc/self/smaps: "dd" not dumped, "wf" wiped on
 * fork, "lo" locked. */
static int page_has_flag(const void *addr, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0, found = 0;
    unsigned long lo, hi, a = (unsigned long)addr;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-')
            < strchr(line, ' '))
            in = a >= lo && a < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0)
            found = strstr(line + 8, flag) != NULL;
    }
    fclose(f);
    return found;
}

/* A PIN is left out of core dumps and is zeroed in a forked child. */
static void test_pin_pages(void **state)
{
    struct hsmkey_pin *pin = hsmkey_pin_from_bytes("Dump-Me-Not", 11);
    pid_t child;
    int status;

    (void)state;
    assert_non_null(pin);
    assert_true(page_has_flag(hsmkey_pin_data(pin), " dd"));
    assert_true(page_has_flag(hsmkey_pin_data(pin), " wf"));
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(memcmp(hsmkey_pin_data(pin), "Dump-Me-Not", 11) == 0 ? 1 : 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0); /* the child saw zeros */
    assert_memory_equal(hsmkey_pin_data(pin), "Dump-Me-Not", 11);
    hsmkey_pin_free(pin);
}

/* The controls: the hooks do see a PIN left in a freed block or page. */
static void test_pin_hook_detects_unwiped(void **state)
{
    const char *secret = "Wipe-Me-7f3a9c";
    char *copy = OPENSSL_strdup(secret);

    (void)state;
    assert_non_null(copy);
    mem_watch(copy, secret);
    OPENSSL_free(copy);
    assert_released(1);
}

static void test_pin_hook_detects_unwiped_page(void **state)
{
    const char *secret = "Wipe-Me-7f3a9c";
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    (void)state;
    assert_true(page != MAP_FAILED);
    memcpy(page + 100, secret, strlen(secret));
    mem_watch(page + 100, secret);
    assert_int_equal(munmap(page, 4096), 0);
    assert_released(1);
}

static int remove_pin_file(void **state)
{
    (void)state;
    unlink(pin_file);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pin_free_wipes, err_capture_setup),
        cmocka_unit_test_setup(test_pin_hook_detects_unwiped,
                               err_capture_setup),
        cmocka_unit_test_setup(test_pin_hook_detects_unwiped_page,
                               err_capture_setup),
        cmocka_unit_test_setup(test_pin_pages, err_capture_setup),
    };

    /* Must precede any libcrypto allocation, or the hooks are refused. */
    if (!mem_watch_install()) {
        fprintf(stderr, "cannot install allocator hooks\n");
        return 1;
    }
    return cmocka_run_group_tests_name("pin_memory", tests, NULL,
                                       remove_pin_file);
}
