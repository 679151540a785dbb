/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the provider's settings: the keys of its openssl.cnf section,
 * with environment overrides for tests and containers (read with
 * secure_getenv, so a setuid or setgid program ignores them).
 *
 *   pkcs11-module  PKCS#11 module path; HSMKEY_PKCS11_MODULE overrides it;
 *                  neither: every module registered with p11-kit.
 *   pkcs11-module-init-args
 *                  C_Initialize's pReserved for that module (NSS softoken:
 *                  configdir='sql:DIR'); HSMKEY_PKCS11_MODULE_INIT_ARGS
 *                  overrides it.
 *   pin-source     file:PATH or env:NAME; a URI's own pin-value/pin-source
 *                  wins, HSMKEY_PIN_SOURCE is used when neither is set (the
 *                  core asks it at login, core/login.c).
 *   session-copies yes (default) or no: sign with a session-object copy of
 *                  each key, made inside the token (see core/keycopy.c).
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov.h"

enum { CFG_MODULE, CFG_INIT_ARGS, CFG_PIN, CFG_COPIES, CFG_N };

/* The one table of configuration keys and the variables overriding them. */
static const struct {
    const char *key;
    const char *env; /* NULL: no override here */
} settings[CFG_N] = {
    [CFG_MODULE] = { HKPROV_CFG_PKCS11_MODULE, "HSMKEY_PKCS11_MODULE" },
    [CFG_INIT_ARGS] = { HKPROV_CFG_PKCS11_MODULE_INIT_ARGS,
                        "HSMKEY_PKCS11_MODULE_INIT_ARGS" },
    [CFG_PIN] = { HKPROV_CFG_PIN_SOURCE, NULL },
    [CFG_COPIES] = { HKPROV_CFG_SESSION_COPIES, NULL },
};

static int dup_setting(char **dst, const char *value)
{
    if (value == NULL || *value == '\0')
        return 1;
    *dst = OPENSSL_strdup(value);
    return *dst != NULL;
}

/* The section's values (NULL when absent); then the environment's. */
static void read_settings(const OSSL_CORE_HANDLE *handle,
                          const OSSL_DISPATCH *in, const char *val[CFG_N])
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    OSSL_PARAM params[CFG_N + 1];
    const char *env;

    for (; in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            get_params = OSSL_FUNC_core_get_params(in);
    for (int i = 0; i < CFG_N; i++) {
        val[i] = NULL;
        params[i] = OSSL_PARAM_construct_utf8_ptr(settings[i].key,
                                                  (char **)&val[i], 0);
    }
    params[CFG_N] = OSSL_PARAM_construct_end();
    if (get_params == NULL || !get_params(handle, params))
        for (int i = 0; i < CFG_N; i++)
            val[i] = NULL;
    for (int i = 0; i < CFG_N; i++)
        if (settings[i].env != NULL
            && (env = secure_getenv(settings[i].env)) != NULL
            && *env != '\0')
            val[i] = env;
}

int hkprov_config_load(struct hkprov_ctx *ctx, const OSSL_CORE_HANDLE *handle,
                       const OSSL_DISPATCH *in)
{
    const char *val[CFG_N], *copies;

    read_settings(handle, in, val);
    copies = val[CFG_COPIES];
    ctx->session_copies = copies == NULL || !(strcmp(copies, "no") == 0
                                              || strcmp(copies, "0") == 0
                                              || strcmp(copies, "false") == 0);
    return dup_setting(&ctx->module_path, val[CFG_MODULE])
           && dup_setting(&ctx->init_args, val[CFG_INIT_ARGS])
           && dup_setting(&ctx->pin_source, val[CFG_PIN]);
}

void hkprov_config_free(struct hkprov_ctx *ctx)
{
    OPENSSL_free(ctx->module_path);
    OPENSSL_free(ctx->init_args);
    OPENSSL_free(ctx->pin_source);
}
