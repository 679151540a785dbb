/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h - the one way hsmkey reports an error.
 *
 * Code in the shared core and in both binaries raises an error once, where it
 * is detected, naming the culprit (file, URI attribute, PKCS#11 function and
 * CKR_* name).  Callers only propagate failure (0 / NULL).
 *
 * Each binary links exactly one sink that implements hsmkey_raise_at() and
 * the mark functions: provider/errors.c (OpenSSL core upcalls, so servers
 * print the message) and tool/errors.c (OpenSSL's error queue of the CLI,
 * printed on stderr).  The core library never prints.
 *
 * A message must never contain a PIN.
 */
#ifndef HSMKEY_ERR_H
#define HSMKEY_ERR_H

/* Reasons; their strings and exit classes live in core/errtab.c. */
enum hsmkey_reason {
    HSMKEY_R_NONE = 0,
    HSMKEY_R_BAD_ARGUMENT,     /* a parameter or option value is wrong */
    HSMKEY_R_BAD_URI,          /* malformed pkcs11: URI or unknown attribute */
    HSMKEY_R_BAD_INPUT,        /* malformed PEM / DER / certificate */
    HSMKEY_R_FILE,             /* file missing or unreadable */
    HSMKEY_R_PIN_SOURCE,       /* pin-source malformed or unreadable */
    HSMKEY_R_MODULE,           /* PKCS#11 module cannot be loaded / started */
    HSMKEY_R_TOKEN_NOT_FOUND,  /* no token matches */
    HSMKEY_R_KEY_NOT_FOUND,    /* no object matches */
    HSMKEY_R_AMBIGUOUS,        /* a URI names several keys or tokens */
    HSMKEY_R_LOGIN,            /* no PIN, wrong PIN, locked PIN */
    HSMKEY_R_PKCS11,           /* any other failing PKCS#11 call */
    HSMKEY_R_UNSUPPORTED,      /* key type, mechanism or parameter not offered */
    HSMKEY_R_INTERNAL,         /* out of memory, broken invariant */
    HSMKEY_R_MAX
};

/* What kind of failure a reason is; the CLI maps a class to its exit code. */
enum hsmkey_errclass {
    HSMKEY_CLASS_INPUT = 2, /* usage error or bad input (CLI exit code 2) */
    HSMKEY_CLASS_TOKEN = 3, /* module, token, key or login (exit code 3) */
};

const char *hsmkey_reason_string(int reason);
enum hsmkey_errclass hsmkey_reason_class(int reason);

#if defined(__GNUC__)
#define HSMKEY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HSMKEY_PRINTF(f, a)
#endif

/* Implemented by the sink of each binary. */
void hsmkey_raise_at(const char *file, int line, const char *func, int reason,
                     const char *fmt, ...) HSMKEY_PRINTF(5, 6);
/* Speculative work (try as file, then as URI) is fenced by a mark. */
void hsmkey_err_set_mark(void);
void hsmkey_err_pop_to_mark(void);
void hsmkey_err_clear_last_mark(void);

#define hsmkey_raise(reason, ...)                                             \
    hsmkey_raise_at(__FILE__, __LINE__, __func__, (reason), __VA_ARGS__)

/* Precondition check for programming errors: never aborts a server. */
#define hsmkey_return_val_if_fail(expr, val)                                  \
    do {                                                                      \
        if (!(expr)) {                                                        \
            hsmkey_raise(HSMKEY_R_INTERNAL, "precondition failed: %s",        \
                         #expr);                                              \
            return (val);                                                     \
        }                                                                     \
    } while (0)

#endif
