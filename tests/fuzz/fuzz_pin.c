/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_pin.c - pin sources (include/hsmkey/pin.h) as openssl.cnf, the
 * environment, a URI's pin-source or --pin-source give them:
 * hsmkey_pin_source_check() and hsmkey_pin_resolve().
 *
 * A file: source only ever names a file in this target's own directory:
 * "file:REST" is resolved as "file:<tmpdir>/REST" with ".." taken out, and
 * that directory holds the PIN files below (so no system file is read).
 * "file:" alone stays as it is.  env: names any variable; the ones set here
 * hold PINs of every shape.
 *
 * Contracts checked on every input:
 *  - check() and resolve() agree on the form: check 0 => resolve NULL;
 *  - a refusal comes with a message;
 *  - a resolved PIN is exactly what the source holds (a file's first line
 *    without "\n" / "\r\n"; a variable's value), 1 to 256 bytes;
 *  - no message contains a PIN that a source holds (unless the source
 *    string itself spells it).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/err.h>

#include "hsmkey/pin.h"
#include "fuzz.h"

/* Every PIN below starts with this, so one forbidden string covers all. */
#define SECRET "fz-pin-"

static const struct {
    const char *name;
    const char *content;
} files[] = {
    { "pin", SECRET "0001\n" },
    { "crlf", SECRET "0002\r\n" },
    { "nonl", SECRET "0003" },
    { "two", SECRET "0004\nsecond line\n" },
    { "cr", SECRET "0005\r" },
    { "empty", "" },
    { "blank", "\n" },
    { "blankcrlf", "\r\n" },
    { "sub/pin", SECRET "0006\n" },
};

static void setup(void)
{
    static const char nul[] = SECRET "0\0007\n"; /* a NUL inside */
    char path[512], big[400];

    mkdir(fuzz_path("sub", path, sizeof(path)), 0700);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        fuzz_write(fuzz_path(files[i].name, path, sizeof(path)),
                   files[i].content, strlen(files[i].content));
    /* 256 bytes is the most a PIN may have; 257 is one too many. */
    memcpy(big, SECRET, 7);
    memset(big + 7, '8', sizeof(big) - 7);
    fuzz_write(fuzz_path("max", path, sizeof(path)), big, 256);
    fuzz_write(fuzz_path("over", path, sizeof(path)), big, 257);
    big[256] = '\n';
    fuzz_write(fuzz_path("maxnl", path, sizeof(path)), big, 257);
    fuzz_write(fuzz_path("huge", path, sizeof(path)), big, sizeof(big));
    fuzz_write(fuzz_path("nul", path, sizeof(path)), nul, sizeof(nul) - 1);
    FUZZ_ASSERT(symlink("pin", fuzz_path("link", path, sizeof(path))) == 0
                    && symlink("missing", fuzz_path("dangling", path,
                                                    sizeof(path))) == 0,
                "%s", "cannot make the symbolic links");
    setenv("HSMKEY_FUZZ_PIN", SECRET "0100", 1);
    setenv("HSMKEY_FUZZ_EMPTY", "", 1);
    big[256] = '\0';
    setenv("HSMKEY_FUZZ_MAX", big, 1);
    big[256] = '9';
    big[257] = '\0';
    setenv("HSMKEY_FUZZ_OVER", big, 1);
    unsetenv("HSMKEY_FUZZ_UNSET");
}

/* "file:REST" -> "file:<tmpdir>/REST" without "..": never leaves tmpdir. */
static char *confine(const char *source)
{
    const char *dir = fuzz_tmpdir();
    size_t n = strlen(source);
    char *out = malloc(n + strlen(dir) + 2), *o;

    FUZZ_ASSERT(out != NULL, "%s", "out of memory");
    if (strncmp(source, "file:", 5) != 0 || source[5] == '\0') {
        memcpy(out, source, n + 1);
        return out;
    }
    o = out + sprintf(out, "file:%s/", dir);
    for (const char *p = source + 5; *p != '\0'; p++) {
        if (p[0] == '.' && p[1] == '.') {
            *o++ = '_';
            p++;
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* What a source holds, as pin.h describes it; -1 when it gives no PIN. */
static long expected(const char *source, unsigned char *buf, size_t cap)
{
    const char *v, *nl;
    FILE *f;
    size_t n;
    struct stat st;

    if (strncmp(source, "env:", 4) == 0 && source[4] != '\0') {
        v = getenv(source + 4);
        n = v != NULL ? strlen(v) : 0;
        if (n == 0 || n > HSMKEY_PIN_MAX)
            return -1;
        memcpy(buf, v, n);
        return (long)n;
    }
    if (strncmp(source, "file:", 5) != 0 || source[5] == '\0'
        || stat(source + 5, &st) != 0 || !S_ISREG(st.st_mode)
        || (f = fopen(source + 5, "rb")) == NULL)
        return -1;
    n = fread(buf, 1, cap, f);
    fclose(f);
    nl = memchr(buf, '\n', n);
    if (nl != NULL) {
        n = (size_t)(nl - (const char *)buf);
        if (n > 0 && buf[n - 1] == '\r')
            n--;
    }
    return n == 0 || n > HSMKEY_PIN_MAX ? -1 : (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *text = fuzz_cstr(data, size), *source;
    unsigned char want[HSMKEY_PIN_MAX + 64];
    struct hsmkey_pin *pin;
    long n;
    int form_ok;

    if (!ready)
        setup();
    ready = 1;
    source = confine(text);
    fuzz_err_reset();
    if (strstr(source, SECRET) == NULL)
        fuzz_err_forbid(SECRET, strlen(SECRET));
    form_ok = hsmkey_pin_source_check(source);
    FUZZ_ASSERT(form_ok || fuzz_err_count() > 0, "'%s' refused silently",
                source);
    pin = hsmkey_pin_resolve(source);
    n = expected(source, want, sizeof(want));
    FUZZ_ASSERT(form_ok || pin == NULL, "'%s' fails the check but resolves",
                source);
    FUZZ_ASSERT(pin != NULL || fuzz_err_count() > 0,
                "'%s' gave no PIN, silently", source);
    FUZZ_ASSERT((pin != NULL) == (n >= 0),
                "'%s' %s a PIN but holds %s", source,
                pin != NULL ? "gave" : "did not give",
                n >= 0 ? "one" : "none");
    if (pin != NULL)
        FUZZ_ASSERT(hsmkey_pin_len(pin) == (size_t)n
                        && memcmp(hsmkey_pin_data(pin), want, (size_t)n) == 0
                        && hsmkey_pin_data(pin)[n] == '\0',
                    "'%s' gave a %zu-byte PIN that is not its first line",
                    source, hsmkey_pin_len(pin));
    hsmkey_pin_free(pin);
    fuzz_err_forbid(NULL, 0);
    ERR_clear_error();
    free(source);
    free(text);
    return 0;
}
