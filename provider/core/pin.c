/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pin.c - pin sources ("file:PATH", "env:NAME") and the buffer a PIN lives
 * in.  The PIN is copied exactly once, into a struct hsmkey_pin in pages of
 * its own (secmem.c: not in core dumps, not in a forked child); every other
 * copy is wiped before it goes out of scope.  Messages name the source,
 * never its content.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsmkey/err.h"
#include "hsmkey/pin.h"
#include "secmem.h"

struct hsmkey_pin {
    size_t size; /* bytes mapped, for hsmkey_secmem_free */
    size_t len;
    unsigned char data[]; /* len bytes + NUL */
};

/* Room for a maximal PIN and its "\r\n", so "too long" is detectable. */
#define PIN_READ_MAX (HSMKEY_PIN_MAX + 2)

/* Longest scheme echoed in a message; longer ones are likely not schemes. */
#define SCHEME_ECHO_MAX 16

enum pin_form { PIN_FORM_UNKNOWN, PIN_FORM_FILE, PIN_FORM_ENV };

static size_t pin_alloc_size(size_t len)
{
    return sizeof(struct hsmkey_pin) + len + 1;
}

/* A zeroed PIN buffer with room for cap bytes and a NUL. */
static struct hsmkey_pin *pin_alloc(size_t cap)
{
    struct hsmkey_pin *pin = hsmkey_secmem_alloc(pin_alloc_size(cap));

    if (pin != NULL)
        pin->size = pin_alloc_size(cap);
    return pin;
}

struct hsmkey_pin *hsmkey_pin_from_bytes(const void *data, size_t len)
{
    struct hsmkey_pin *pin;

    hsmkey_return_val_if_fail(data != NULL || len == 0, NULL);
    if (len > HSMKEY_PIN_MAX) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "PIN is longer than %d bytes",
                     HSMKEY_PIN_MAX);
        return NULL;
    }
    if ((pin = pin_alloc(len)) == NULL)
        return NULL;
    if (len > 0)
        memcpy(pin->data, data, len);
    pin->len = len;
    return pin;
}

struct hsmkey_pin *hsmkey_pin_from_fill(hsmkey_pin_fill_fn *fill, void *arg)
{
    struct hsmkey_pin *pin;
    size_t len = 0;

    hsmkey_return_val_if_fail(fill != NULL, NULL);
    if ((pin = pin_alloc(HSMKEY_PIN_MAX)) == NULL)
        return NULL;
    if (!fill(pin->data, HSMKEY_PIN_MAX, &len, arg)) {
        hsmkey_pin_free(pin);
        return NULL;
    }
    if (len == 0 || len > HSMKEY_PIN_MAX) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, len == 0 ? "the PIN entered is "
                     "empty" : "the PIN entered is longer than %d bytes",
                     HSMKEY_PIN_MAX);
        hsmkey_pin_free(pin);
        return NULL;
    }
    pin->len = len;
    pin->data[len] = '\0';
    return pin;
}

const unsigned char *hsmkey_pin_data(const struct hsmkey_pin *pin)
{
    hsmkey_return_val_if_fail(pin != NULL, NULL);
    return pin->data;
}

size_t hsmkey_pin_len(const struct hsmkey_pin *pin)
{
    hsmkey_return_val_if_fail(pin != NULL, 0);
    return pin->len;
}

void hsmkey_pin_free(struct hsmkey_pin *pin)
{
    if (pin == NULL)
        return;
    hsmkey_secmem_free(pin, pin->size);
}

/*
 * Only a short RFC 3986 scheme is echoed: anything else may be a PIN typed
 * where a pin source was expected.
 */
static int scheme_is_printable(const char *source, size_t len)
{
    size_t i;

    if (len == 0 || len > SCHEME_ECHO_MAX)
        return 0;
    if (!((source[0] >= 'a' && source[0] <= 'z')
          || (source[0] >= 'A' && source[0] <= 'Z')))
        return 0;
    for (i = 1; i < len; i++) {
        char c = source[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '+' || c == '-'
              || c == '.'))
            return 0;
    }
    return 1;
}

static void raise_unknown_form(const char *source)
{
    const char *colon = strchr(source, ':');
    size_t len = colon != NULL ? (size_t)(colon - source) : 0;

    if (colon != NULL && scheme_is_printable(source, len))
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin-source scheme \"%.*s:\" is unknown; "
                     "use file:PATH or env:NAME", (int)len, source);
    else
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin-source has an unknown form (not shown, it may be "
                     "a PIN); use file:PATH or env:NAME");
}

/* Splits source into its form and argument; raises for an unusable one. */
static enum pin_form pin_source_parse(const char *source, const char **arg)
{
    enum pin_form form = PIN_FORM_UNKNOWN;

    if (strncmp(source, "file:", 5) == 0) {
        form = PIN_FORM_FILE;
        *arg = source + 5;
    } else if (strncmp(source, "env:", 4) == 0) {
        form = PIN_FORM_ENV;
        *arg = source + 4;
    } else {
        raise_unknown_form(source);
        return PIN_FORM_UNKNOWN;
    }
    if (**arg == '\0') {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "pin-source \"%s\" names no %s",
                     source, form == PIN_FORM_FILE ? "file" : "variable");
        return PIN_FORM_UNKNOWN;
    }
    /* A relative path would name another file in every directory a
     * server happens to start in.  Not echoed: it may be a PIN typed
     * after "file:". */
    if (form == PIN_FORM_FILE && **arg != '/') {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "pin-source file:...: the path is "
                     "not absolute (not shown: it may be a PIN); name the "
                     "PIN file by its absolute path");
        return PIN_FORM_UNKNOWN;
    }
    return form;
}

int hsmkey_pin_source_check(const char *source)
{
    const char *arg;

    hsmkey_return_val_if_fail(source != NULL, 0);
    return pin_source_parse(source, &arg) != PIN_FORM_UNKNOWN;
}

/* Fills buf up to cap bytes or end of file; -1 with errno on failure. */
static ssize_t read_up_to(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Length of the first line of buf[0..n), or -1 when it is too long. */
static ssize_t first_line_len(const unsigned char *buf, size_t n)
{
    const unsigned char *nl = memchr(buf, '\n', n);
    size_t len;

    if (nl == NULL) {
        /* No newline: the whole content, unless we stopped reading early. */
        return n > HSMKEY_PIN_MAX ? -1 : (ssize_t)n;
    }
    len = (size_t)(nl - buf);
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    return len > HSMKEY_PIN_MAX ? -1 : (ssize_t)len;
}

static struct hsmkey_pin *pin_from_buffer(const char *path,
                                          const unsigned char *buf, size_t n)
{
    ssize_t len = first_line_len(buf, n);

    if (len < 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin file %s: first line is longer than %d bytes", path,
                     HSMKEY_PIN_MAX);
        return NULL;
    }
    if (len == 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "pin file %s is empty", path);
        return NULL;
    }
    return hsmkey_pin_from_bytes(buf, (size_t)len);
}

/*
 * A PIN kept in a file that every local user can read is no secret, and one
 * another user can write, or own, lets that user feed the token wrong PINs
 * until it locks (or hand us the PIN of their choosing).  Such a file is
 * refused rather than warned about: a warning goes to a log nobody reads
 * while the PIN leaks.  Group read is allowed because services commonly
 * share a PIN through a group (root:nginx 0640); group write is not.  The
 * same holds for FIFOs and devices: whoever owns or may write one decides
 * what we read from it.  The check is on the open descriptor, so a rename
 * cannot slip past it.
 */
static int pin_file_private(int fd, const char *path)
{
    struct stat st;
    unsigned int mode;

    if (fstat(fd, &st) != 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "pin file %s: %s", path,
                     strerror(errno));
        return 0;
    }
    mode = (unsigned int)(st.st_mode & 07777);
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin file %s is owned by uid %u, neither this user (uid "
                     "%u) nor root: refused", path, (unsigned int)st.st_uid,
                     (unsigned int)geteuid());
        return 0;
    }
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin file %s can be %s by any user (mode %04o): refused; "
                     "remove the access of others (chmod o-rwx %s)", path,
                     (st.st_mode & S_IROTH) != 0 ? "read" : "changed", mode,
                     path);
        return 0;
    }
    if ((st.st_mode & S_IWGRP) != 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin file %s can be changed by its group (mode %04o): "
                     "refused (chmod g-w %s)", path, mode, path);
        return 0;
    }
    return 1;
}

/* open()/read() rather than stdio, whose buffers would keep a PIN copy. */
static struct hsmkey_pin *pin_from_file(const char *path)
{
    unsigned char buf[PIN_READ_MAX];
    struct hsmkey_pin *pin = NULL;
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "pin file %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    if (!pin_file_private(fd, path)) {
        close(fd);
        return NULL;
    }
    n = read_up_to(fd, buf, sizeof(buf));
    if (n < 0)
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "pin file %s: %s", path,
                     strerror(errno));
    else
        pin = pin_from_buffer(path, buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return pin;
}

/*
 * secure_getenv: in a setuid/setgid program the environment belongs to the
 * caller, who must not get to feed PINs to the token (and lock it).
 */
static struct hsmkey_pin *pin_from_env(const char *name)
{
    const char *value = secure_getenv(name);
    size_t len;

    if (value == NULL || value[0] == '\0') {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin-source env:%s: variable is %s", name,
                     value == NULL ? "not set" : "empty");
        return NULL;
    }
    len = strlen(value);
    if (len > HSMKEY_PIN_MAX) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE,
                     "pin-source env:%s: value is longer than %d bytes",
                     name, HSMKEY_PIN_MAX);
        return NULL;
    }
    return hsmkey_pin_from_bytes(value, len);
}

struct hsmkey_pin *hsmkey_pin_resolve(const char *source)
{
    const char *arg = NULL;

    hsmkey_return_val_if_fail(source != NULL, NULL);
    switch (pin_source_parse(source, &arg)) {
    case PIN_FORM_FILE:
        return pin_from_file(arg);
    case PIN_FORM_ENV:
        return pin_from_env(arg);
    default:
        return NULL;
    }
}
