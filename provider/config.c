/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the provider's settings: the keys of its openssl.cnf section,
 * with environment overrides for tests and containers.
 *
 *   pkcs11-module  PKCS#11 module path; HSMKEY_PKCS11_MODULE overrides it;
 *                  neither: every module registered with p11-kit.
 *   pin-source     file:PATH or env:NAME; a URI's own pin-value/pin-source
 *                  wins, HSMKEY_PIN_SOURCE is used when neither is set.
 *   session-copies yes (default) or no: sign with a session-object copy of
 *                  each key, made inside the token (see core/keycopy.c).
 *   debug          1 or 0 (default): the trace of include/hsmkey/debug.h on
 *                  stderr; HSMKEY_DEBUG overrides it.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov.h"
#include "hsmkey/debug.h"

static int dup_setting(char **dst, const char *value)
{
    if (value == NULL || *value == '\0')
        return 1;
    *dst = OPENSSL_strdup(value);
    return *dst != NULL;
}

int hkprov_config_load(struct hkprov_ctx *ctx, const OSSL_CORE_HANDLE *handle,
                       const OSSL_DISPATCH *in)
{
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    const char *module = NULL, *pin = NULL, *copies = NULL, *debug = NULL;
    OSSL_PARAM params[5];
    const char *env, *module_from = "openssl.cnf";
    const char *env_debug = secure_getenv("HSMKEY_DEBUG");
    int trace;

    for (; in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            get_params = OSSL_FUNC_core_get_params(in);
    params[0] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_PKCS11_MODULE,
                                              (char **)&module, 0);
    params[1] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_PIN_SOURCE,
                                              (char **)&pin, 0);
    params[2] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_SESSION_COPIES,
                                              (char **)&copies, 0);
    params[3] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_DEBUG,
                                              (char **)&debug, 0);
    params[4] = OSSL_PARAM_construct_end();
    if (get_params != NULL && !get_params(handle, params))
        module = pin = copies = debug = NULL;
    /* First, so that the settings below are traced; unset leaves the trace
     * as another instance of the provider in this process set it. */
    if ((trace = hsmkey_debug_parse(env_debug)) < 0)
        trace = hsmkey_debug_parse(debug);
    if (trace >= 0)
        hsmkey_debug_set(trace);
    hsmkey_debug("config", "debug on (openssl.cnf: %s; HSMKEY_DEBUG, which "
                 "wins: %s)", debug ? debug : "unset",
                 env_debug && *env_debug ? env_debug : "unset");
    ctx->session_copies = copies == NULL || !(strcmp(copies, "no") == 0
                                              || strcmp(copies, "0") == 0
                                              || strcmp(copies, "false") == 0);
    if ((env = getenv("HSMKEY_PKCS11_MODULE")) != NULL && *env != '\0') {
        module = env;
        module_from = "HSMKEY_PKCS11_MODULE";
    }
    hsmkey_debug("config", "pkcs11-module = %s (from %s)",
                 module ? module : "(unset: every module registered with "
                                   "p11-kit)", module ? module_from : "-");
    hsmkey_debug("config", "pin-source = %s (from openssl.cnf)",
                 pin ? pin : "(unset)");
    hsmkey_debug("config", "session-copies = %s",
                 ctx->session_copies ? "yes" : "no");
    return dup_setting(&ctx->module_path, module)
           && dup_setting(&ctx->pin_source, pin);
}

void hkprov_config_free(struct hkprov_ctx *ctx)
{
    OPENSSL_free(ctx->module_path);
    OPENSSL_free(ctx->pin_source);
}
