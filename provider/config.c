/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the provider's settings: the keys of its openssl.cnf section
 * (one table), with environment overrides for tests and containers.  The
 * environment is the last word, as in containers and systemd units; it is
 * read with secure_getenv, so a setuid program ignores its caller's.
 *
 *   pkcs11-module   PKCS#11 module path (HSMKEY_PKCS11_MODULE); neither:
 *                   every module registered with p11-kit.
 *   pkcs11-module-init-args
 *                   C_Initialize's pReserved for that module (NSS softoken:
 *                   configdir='sql:DIR'; HSMKEY_PKCS11_MODULE_INIT_ARGS).
 *   pin-source      file:PATH or env:NAME; HSMKEY_PIN_SOURCE comes first,
 *                   and a URI's own pin-value/pin-source before both (the
 *                   core resolves the order at login).
 *   keyref-pin      ignore (default) or allow: whether a pin-value or
 *                   pin-source inside a key-reference file is used (the
 *                   file is data, not instructions).
 *   session-copies  auto (default), yes or no: sign with a session-object
 *                   copy of each key per session (core/object.c).
 *   max-sessions    at most this many sessions per token (default: the
 *                   token's own limit).
 *   session-wait    seconds a signer waits for a session when all are busy
 *                   (default 10).
 *   debug           1 or 0 (default): the trace of include/hsmkey/debug.h on
 *                   stderr (HSMKEY_DEBUG).
 *
 * A value that makes no sense must not pass for a choice, but failing the
 * provider's init would hide why: OpenSSL drops the errors of a
 * configuration it loads implicitly, and the application then only says
 * "unregistered scheme".  So the provider loads, keeps the first such
 * problem, and every key load fails naming it (hkprov_config_check) until
 * the configuration is fixed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov.h"
#include "hsmkey/debug.h"

/* The first value that makes no sense, kept for every key load to name
 * (the default stays in force meanwhile); 1: the load goes on. */
static int bad_value(struct hkprov_ctx *ctx, const char *key,
                     const char *value, const char *expected)
{
    if (ctx->config_error[0] == '\0')
        snprintf(ctx->config_error, sizeof(ctx->config_error),
                 "the hsmkey provider's configuration: %s = %.32s: expected "
                 "%s; no key is loaded until it is fixed", key, value,
                 expected);
    return 1;
}

int hkprov_config_check(const struct hkprov_ctx *ctx)
{
    if (ctx->config_error[0] == '\0')
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s", ctx->config_error);
    return 0;
}

static int set_string(struct hkprov_ctx *ctx, char **dst, const char *key,
                      const char *value)
{
    (void)ctx;
    (void)key;
    OPENSSL_free(*dst);
    *dst = NULL;
    if (value == NULL || *value == '\0')
        return 1;
    *dst = OPENSSL_strdup(value);
    if (*dst == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return *dst != NULL;
}

static int set_module(struct hkprov_ctx *ctx, const char *key,
                      const char *value)
{
    return set_string(ctx, &ctx->module_path, key, value);
}

static int set_init_args(struct hkprov_ctx *ctx, const char *key,
                         const char *value)
{
    return set_string(ctx, &ctx->init_args, key, value);
}

static int set_pin_source(struct hkprov_ctx *ctx, const char *key,
                          const char *value)
{
    return set_string(ctx, &ctx->pin_source, key, value);
}

static int set_copies(struct hkprov_ctx *ctx, const char *key,
                      const char *value)
{
    static const struct {
        const char *word;
        enum hsmkey_copies mode;
    } words[] = {
        { "auto", HSMKEY_COPIES_AUTO }, { "yes", HSMKEY_COPIES_ON },
        { "1", HSMKEY_COPIES_ON },      { "true", HSMKEY_COPIES_ON },
        { "no", HSMKEY_COPIES_OFF },    { "0", HSMKEY_COPIES_OFF },
        { "false", HSMKEY_COPIES_OFF },
    };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(value, words[i].word) == 0) {
            ctx->session_copies = words[i].mode;
            return 1;
        }
    }
    return bad_value(ctx, key, value, "auto, yes or no");
}

static int set_keyref_pin(struct hkprov_ctx *ctx, const char *key,
                          const char *value)
{
    if (strcmp(value, "allow") == 0 || strcmp(value, "ignore") == 0) {
        ctx->keyref_pin_allow = value[0] == 'a';
        return 1;
    }
    return bad_value(ctx, key, value, "ignore or allow");
}

static int parse_count(struct hkprov_ctx *ctx, const char *key,
                       const char *value, unsigned long max,
                       unsigned long *out)
{
    char *end, what[48];
    unsigned long n;

    errno = 0;
    n = strtoul(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || value[0] == '-'
        || n > max) {
        snprintf(what, sizeof(what), "a whole number from 0 to %lu", max);
        return bad_value(ctx, key, value, what);
    }
    *out = n;
    return 1;
}

static int set_max_sessions(struct hkprov_ctx *ctx, const char *key,
                            const char *value)
{
    return parse_count(ctx, key, value, 100000, &ctx->max_sessions);
}

static int set_session_wait(struct hkprov_ctx *ctx, const char *key,
                            const char *value)
{
    unsigned long s = ULONG_MAX; /* kept when the value is refused */

    if (parse_count(ctx, key, value, 3600, &s) && s != ULONG_MAX)
        ctx->session_wait_ms = (long)s * 1000;
    return 1;
}

/* The one table of configuration keys. */
static const struct config_key {
    const char *key;
    const char *env; /* overrides the file when set and not empty */
    int (*set)(struct hkprov_ctx *ctx, const char *key, const char *value);
} config_keys[] = {
    { HKPROV_CFG_PKCS11_MODULE, "HSMKEY_PKCS11_MODULE", set_module },
    { HKPROV_CFG_PKCS11_MODULE_INIT_ARGS, "HSMKEY_PKCS11_MODULE_INIT_ARGS",
      set_init_args },
    /* HSMKEY_PIN_SOURCE is the core's to weigh against a URI's source. */
    { HKPROV_CFG_PIN_SOURCE, NULL, set_pin_source },
    { HKPROV_CFG_KEYREF_PIN, NULL, set_keyref_pin },
    { HKPROV_CFG_SESSION_COPIES, NULL, set_copies },
    { HKPROV_CFG_MAX_SESSIONS, NULL, set_max_sessions },
    { HKPROV_CFG_SESSION_WAIT, NULL, set_session_wait },
};

#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* First, so that the settings after it are traced.  Unset leaves the trace
 * as another instance of the provider in this process set it. */
static void config_debug(const char *value)
{
    const char *env = secure_getenv("HSMKEY_DEBUG");
    int on = hsmkey_debug_parse(env);

    if (on < 0)
        on = hsmkey_debug_parse(value);
    if (on >= 0)
        hsmkey_debug_set(on);
    hsmkey_debug("config", "debug on (openssl.cnf: %s; HSMKEY_DEBUG, which "
                 "wins: %s)", value != NULL ? value : "unset",
                 env != NULL && *env != '\0' ? env : "unset");
}

/* A pin-source that is not one (a PIN written there by mistake) is not
 * shown. */
static void trace_key(const char *key, const char *value, const char *from)
{
    if (!hsmkey_debug_enabled())
        return;
    if (value == NULL)
        hsmkey_debug_print("config", "%s: not set (the default)", key);
    else if (strcmp(key, HKPROV_CFG_PIN_SOURCE) == 0
             && strncmp(value, "file:", 5) != 0
             && strncmp(value, "env:", 4) != 0)
        hsmkey_debug_print("config", "%s = (neither file: nor env:; not "
                           "shown) (from %s)", key, from);
    else
        hsmkey_debug_print("config", "%s = %s (from %s)", key, value, from);
}

int hkprov_config_load(struct hkprov_ctx *ctx, const OSSL_CORE_HANDLE *handle,
                       const OSSL_DISPATCH *in)
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    const char *values[NKEYS + 1] = { NULL };
    OSSL_PARAM params[NKEYS + 2];

    ctx->session_copies = HSMKEY_COPIES_AUTO;
    ctx->session_wait_ms = -1; /* the core's default */
    for (; in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            get_params = OSSL_FUNC_core_get_params(in);
    for (size_t i = 0; i < NKEYS; i++)
        params[i] = OSSL_PARAM_construct_utf8_ptr(config_keys[i].key,
                                                  (char **)&values[i], 0);
    params[NKEYS] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_DEBUG,
                                                  (char **)&values[NKEYS], 0);
    params[NKEYS + 1] = OSSL_PARAM_construct_end();
    if (get_params != NULL && !get_params(handle, params))
        memset(values, 0, sizeof(values));
    config_debug(values[NKEYS]);
    for (size_t i = 0; i < NKEYS; i++) {
        const char *env = config_keys[i].env != NULL
                              ? secure_getenv(config_keys[i].env) : NULL;
        int from_env = env != NULL && *env != '\0';
        const char *value = from_env ? env : values[i];
        const char *key = from_env ? config_keys[i].env : config_keys[i].key;

        trace_key(config_keys[i].key, value, from_env ? key : "openssl.cnf");
        if (value != NULL && !config_keys[i].set(ctx, key, value))
            return 0;
    }
    return 1;
}

void hkprov_config_free(struct hkprov_ctx *ctx)
{
    OPENSSL_free(ctx->module_path);
    OPENSSL_free(ctx->init_args);
    OPENSSL_free(ctx->pin_source);
}
