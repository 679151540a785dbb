/* SPDX-License-Identifier: Apache-2.0 */
/*
 * debug.c - the trace of include/hsmkey/debug.h: one line per decision on
 * stderr, written whole with one write(2).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hsmkey/debug.h"

atomic_int hsmkey_debug_flag;

/* Longer lines are cut (and end in "..."): a trace line is for reading. */
#define DEBUG_LINE_MAX 1024

void hsmkey_debug_set(int on)
{
    atomic_store(&hsmkey_debug_flag, on != 0);
}

int hsmkey_debug_parse(const char *value)
{
    static const char *const off[] = { "0", "no", "false", "off" };

    if (value == NULL || *value == '\0')
        return -1;
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        if (strcasecmp(value, off[i]) == 0)
            return 0;
    return 1;
}

int hsmkey_debug_from_env(void)
{
    return hsmkey_debug_parse(secure_getenv("HSMKEY_DEBUG"));
}

/* "hsmkey[PID]: AREA: " or, off the main thread, "hsmkey[PID/TID]: ". */
static int prefix(char *buf, size_t len, const char *area)
{
    pid_t pid = getpid(), tid = gettid();

    if (tid == pid)
        return snprintf(buf, len, "hsmkey[%ld]: %s: ", (long)pid, area);
    return snprintf(buf, len, "hsmkey[%ld/%ld]: %s: ", (long)pid, (long)tid,
                    area);
}

/* Control characters (a label with a newline) would forge a line. */
static void one_line(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = '?';
}

/* Writes buf[0..len) plus a newline; a trace never changes errno. */
static void emit(char *buf, size_t len)
{
    int saved = errno;
    ssize_t n;
    size_t done = 0;

    buf[len++] = '\n';
    while (done < len) {
        n = write(STDERR_FILENO, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    errno = saved;
}

/* Appends to buf (DEBUG_LINE_MAX bytes, one kept for the newline). */
static size_t vappend(char *buf, size_t used, const char *fmt, va_list ap)
{
    size_t room = DEBUG_LINE_MAX - 1;
    int n;

    if (used >= room)
        return used;
    n = vsnprintf(buf + used, room - used, fmt, ap);
    if (n < 0)
        return used;
    if ((size_t)n >= room - used) { /* cut: say so */
        memcpy(buf + room - 4, "...", 3);
        return room - 1;
    }
    return used + (size_t)n;
}

static size_t append(char *buf, size_t used, const char *fmt, ...)
    HSMKEY_PRINTF(3, 4);

static size_t append(char *buf, size_t used, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    used = vappend(buf, used, fmt, ap);
    va_end(ap);
    return used;
}

void hsmkey_debug_print(const char *area, const char *fmt, ...)
{
    char buf[DEBUG_LINE_MAX];
    size_t start, used;
    va_list ap;
    int n = prefix(buf, sizeof(buf) - 1, area);

    start = used = n > 0 && (size_t)n < sizeof(buf) - 1 ? (size_t)n : 0;
    va_start(ap, fmt);
    used = vappend(buf, used, fmt, ap);
    va_end(ap);
    one_line(buf + start, used - start);
    emit(buf, used);
}

/* ---- search templates ---- */

struct debug_name {
    unsigned long value;
    const char *name;
};

#define DEBUG_NAME(x) { x, #x }

/* The attributes a search template holds (a URI's and our own). */
static const struct debug_name attr_names[] = {
    DEBUG_NAME(CKA_CLASS),     DEBUG_NAME(CKA_TOKEN),
    DEBUG_NAME(CKA_PRIVATE),   DEBUG_NAME(CKA_LABEL),
    DEBUG_NAME(CKA_ID),        DEBUG_NAME(CKA_KEY_TYPE),
    DEBUG_NAME(CKA_SIGN),      DEBUG_NAME(CKA_DECRYPT),
    DEBUG_NAME(CKA_DERIVE),    DEBUG_NAME(CKA_CERTIFICATE_TYPE),
    DEBUG_NAME(CKA_MODULUS),   DEBUG_NAME(CKA_EC_POINT),
    DEBUG_NAME(CKA_EC_PARAMS), DEBUG_NAME(CKA_VALUE),
};

static const struct debug_name class_names[] = {
    DEBUG_NAME(CKO_DATA),        DEBUG_NAME(CKO_CERTIFICATE),
    DEBUG_NAME(CKO_PUBLIC_KEY),  DEBUG_NAME(CKO_PRIVATE_KEY),
    DEBUG_NAME(CKO_SECRET_KEY),
};

static const char *lookup(const struct debug_name *t, size_t n,
                          unsigned long value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return NULL;
}

#define LOOKUP(t, v) lookup((t), sizeof(t) / sizeof((t)[0]), (v))

static int is_bool(CK_ATTRIBUTE_TYPE t)
{
    return t == CKA_TOKEN || t == CKA_PRIVATE || t == CKA_SIGN
           || t == CKA_DECRYPT || t == CKA_DERIVE;
}

/* One attribute as NAME=value: text quoted, bytes in hex (at most 32). */
static size_t append_attr(char *buf, size_t used, const CK_ATTRIBUTE *a)
{
    const char *name = LOOKUP(attr_names, a->type);
    const unsigned char *v = a->pValue;
    const char *cls;

    used = name ? append(buf, used, " %s=", name)
                : append(buf, used, " CKA_0x%lx=", (unsigned long)a->type);
    if (v == NULL || a->ulValueLen == (CK_ULONG)-1)
        return append(buf, used, "(none)");
    if (a->type == CKA_CLASS && a->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
        CK_OBJECT_CLASS c;

        memcpy(&c, v, sizeof(c));
        cls = LOOKUP(class_names, c);
        return cls ? append(buf, used, "%s", cls)
                   : append(buf, used, "0x%lx", (unsigned long)c);
    }
    if (is_bool(a->type) && a->ulValueLen == 1)
        return append(buf, used, "%s", v[0] ? "true" : "false");
    if (a->type == CKA_LABEL)
        return append(buf, used, "\"%.*s\"", (int)(a->ulValueLen < 64
                                                       ? a->ulValueLen : 64),
                      (const char *)v);
    for (CK_ULONG i = 0; i < a->ulValueLen && i < 32; i++)
        used = append(buf, used, "%02x", v[i]);
    if (a->ulValueLen > 32)
        used = append(buf, used, "...(%lu bytes)",
                      (unsigned long)a->ulValueLen);
    return used;
}

void hsmkey_debug_print_template(const char *area, const char *token,
                                 const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    char buf[DEBUG_LINE_MAX];
    size_t start, used;
    int len = prefix(buf, sizeof(buf) - 1, area);

    start = used = len > 0 && (size_t)len < sizeof(buf) - 1 ? (size_t)len : 0;
    used = append(buf, used, "token '%s': template", token);
    for (CK_ULONG i = 0; i < n; i++)
        used = append_attr(buf, used, &tmpl[i]);
    if (n == 0)
        used = append(buf, used, " (empty: every object)");
    one_line(buf + start, used - start);
    emit(buf, used);
}
