/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_pin_file.c - what a pin source holds: the input is written to a
 * file of this target's own directory and resolved as file:PATH, set as an
 * environment variable and resolved as env:NAME, and copied with
 * hsmkey_pin_from_bytes() (a URI's pin-value, a typed PIN).
 *
 * Contracts checked on every input (include/hsmkey/pin.h):
 *  - file: gives exactly the first line without "\n" or "\r\n", when it has
 *    1 to 256 bytes; otherwise it refuses with a message that does not show
 *    the line;
 *  - env: gives exactly the value (up to its first NUL) when it has 1 to
 *    256 bytes, else refuses;
 *  - from_bytes keeps every byte (NULs too) up to 256, refuses beyond.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "hsmkey/pin.h"
#include "fuzz.h"

#define VAR "HSMKEY_FUZZ_PIN_VALUE"

static void assert_pin(struct hsmkey_pin *pin, const void *want, long n,
                       const char *how)
{
    if (n < 0) {
        FUZZ_ASSERT(pin == NULL, "%s gave a %zu-byte PIN; none expected",
                    how, hsmkey_pin_len(pin));
        FUZZ_ASSERT(fuzz_err_count() > 0, "%s refused silently", how);
        return;
    }
    FUZZ_ASSERT(pin != NULL, "%s gave no PIN for %ld bytes: %s", how, n,
                fuzz_err_last());
    FUZZ_ASSERT(hsmkey_pin_len(pin) == (size_t)n
                    && memcmp(hsmkey_pin_data(pin), want, (size_t)n) == 0
                    && hsmkey_pin_data(pin)[n] == '\0',
                "%s gave %zu bytes, not the %ld expected", how,
                hsmkey_pin_len(pin), n);
}

/* The first line of a file as pin.h defines it; -1: no PIN in it. */
static long first_line(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl != NULL ? (size_t)(nl - data) : size;

    if (nl != NULL && n > 0 && data[n - 1] == '\r')
        n--;
    return n == 0 || n > HSMKEY_PIN_MAX ? -1 : (long)n;
}

static void via_file(const uint8_t *data, size_t size)
{
    static char source[512];
    struct hsmkey_pin *pin;
    long n = first_line(data, size);

    if (source[0] == '\0') {
        memcpy(source, "file:", 5);
        fuzz_path("pin", source + 5, sizeof(source) - 5);
    }
    fuzz_write(source + 5, data, size);
    fuzz_err_reset();
    /* A refused line must not show up in the message; short ones may
     * match the message's own words, so only lines of 12+ bytes. */
    if (n < 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl != NULL ? (size_t)(nl - data) : size;

        if (len >= 12)
            fuzz_err_forbid(data, len > 64 ? 64 : len);
    }
    pin = hsmkey_pin_resolve(source);
    assert_pin(pin, data, n, "file:");
    hsmkey_pin_free(pin);
}

static void via_env(const uint8_t *data, size_t size)
{
    char *value = fuzz_cstr(data, size);
    size_t len = strlen(value);
    struct hsmkey_pin *pin;

    fuzz_err_reset();
    FUZZ_ASSERT(setenv(VAR, value, 1) == 0, "%s", "setenv failed");
    if (len >= 12)
        fuzz_err_forbid(value, len > 64 ? 64 : len);
    pin = hsmkey_pin_resolve("env:" VAR);
    assert_pin(pin, value, len == 0 || len > HSMKEY_PIN_MAX ? -1 : (long)len,
               "env:");
    hsmkey_pin_free(pin);
    unsetenv(VAR);
    free(value);
}

static void via_bytes(const uint8_t *data, size_t size)
{
    struct hsmkey_pin *pin;

    fuzz_err_reset();
    pin = hsmkey_pin_from_bytes(data, size);
    assert_pin(pin, data, size > HSMKEY_PIN_MAX ? -1 : (long)size,
               "from_bytes");
    hsmkey_pin_free(pin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    via_file(data, size);
    via_env(data, size);
    via_bytes(data, size);
    fuzz_err_reset();
    ERR_clear_error();
    return 0;
}
