/* SPDX-License-Identifier: Apache-2.0 */
/*
 * debug.h - a trace of the decisions hsmkey makes, one line each on stderr,
 * so "why does nginx not load my key" can be answered in the field without
 * a PKCS#11 spy: configuration read, module loaded, tokens seen, search
 * templates and results, login, sessions opened, key copies, recovery.
 *
 * Off by default.  HSMKEY_DEBUG=1 in the environment (read with
 * secure_getenv, so a setuid or setgid program ignores it) or `debug = 1` in
 * the provider's openssl.cnf section turns it on; the environment wins, so
 * HSMKEY_DEBUG=0 silences a configuration that asks for it.  Each binary
 * (hsmkey.so, the hsmkey CLI) has its own switch.
 *
 * When off, a trace point costs one relaxed load and one predictable branch;
 * its arguments are not evaluated.  Lines read
 *     hsmkey[PID]: AREA: what was decided
 * (PID/TID from a thread other than the main one), are written with one
 * write(2) each so threads do not interleave, and never span two lines:
 * control characters in what they show become '?'.
 *
 * A trace point never formats a PIN nor anything computed from one: it names
 * where a PIN came from (file:PATH, env:NAME, the URI, a prompt).
 */
#ifndef HSMKEY_DEBUG_H
#define HSMKEY_DEBUG_H

#include <stdatomic.h>
#include <p11-kit/pkcs11.h>

#include "hsmkey/err.h"

extern atomic_int hsmkey_debug_flag;

#define hsmkey_debug_enabled()                                                \
    __builtin_expect(atomic_load_explicit(&hsmkey_debug_flag,                 \
                                          memory_order_relaxed), 0)

/* hsmkey_debug("login", "token '%s': ...", label): one line, when on. */
#define hsmkey_debug(area, ...)                                               \
    do {                                                                      \
        if (hsmkey_debug_enabled())                                           \
            hsmkey_debug_print((area), __VA_ARGS__);                          \
    } while (0)

/* A search template on a token, attribute by attribute:
 * "token 'T': template CKA_LABEL="x" CKA_ID=01 CKA_TOKEN=true". */
#define hsmkey_debug_template(area, token, tmpl, n)                           \
    do {                                                                      \
        if (hsmkey_debug_enabled())                                           \
            hsmkey_debug_print_template((area), (token), (tmpl), (n));        \
    } while (0)

void hsmkey_debug_print(const char *area, const char *fmt, ...)
    HSMKEY_PRINTF(2, 3);
void hsmkey_debug_print_template(const char *area, const char *token,
                                 const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* Turn the trace on (1) or off (0) for this binary. */
void hsmkey_debug_set(int on);

/*
 * An on/off setting: "0", "no", "false", "off" (any case) are off, anything
 * else is on (a typo shows the trace rather than hiding it).  NULL or ""
 * gives -1: not set.
 */
int hsmkey_debug_parse(const char *value);

/* HSMKEY_DEBUG as hsmkey_debug_parse reads it (-1: unset or empty). */
int hsmkey_debug_from_env(void);

#endif
