/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the provider's settings: the keys of its openssl.cnf section,
 * with environment overrides for tests and containers.
 *
 *   pkcs11-module  PKCS#11 module path; HSMKEY_PKCS11_MODULE overrides it;
 *                  neither: every module registered with p11-kit.
 *   pin-source     file:/PATH or env:NAME; HSMKEY_PIN_SOURCE overrides it
 *                  (the core reads it at login), a URI's own pin-value or
 *                  pin-source wins over both.
 *   keyref-pin     ignore (default; so is any other value) or allow:
 *                  whether a pin-value or pin-source inside a key-reference
 *                  file is used.
 *   session-copies yes (default) or no: sign with a session-object copy of
 *                  each key, made inside the token (see core/keycopy.c).
 *
 * The environment is read with secure_getenv: a setuid or setgid program
 * that loads the provider must not load a module its caller names.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov.h"

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
    const char *module = NULL, *pin = NULL, *copies = NULL, *keyref = NULL;
    OSSL_PARAM params[5];
    const char *env;

    for (; in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
            get_params = OSSL_FUNC_core_get_params(in);
    params[0] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_PKCS11_MODULE,
                                              (char **)&module, 0);
    params[1] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_PIN_SOURCE,
                                              (char **)&pin, 0);
    params[2] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_SESSION_COPIES,
                                              (char **)&copies, 0);
    params[3] = OSSL_PARAM_construct_utf8_ptr(HKPROV_CFG_KEYREF_PIN,
                                              (char **)&keyref, 0);
    params[4] = OSSL_PARAM_construct_end();
    if (get_params != NULL && !get_params(handle, params))
        module = pin = copies = keyref = NULL;
    /* Only the exact word opens the door: anything else (a typo too) is
     * the safe default, which the decoder's message names when it
     * matters.  A failed provider init would only hide why. */
    ctx->keyref_pin_allow = keyref != NULL && strcmp(keyref, "allow") == 0;
    ctx->session_copies = copies == NULL || !(strcmp(copies, "no") == 0
                                              || strcmp(copies, "0") == 0
                                              || strcmp(copies, "false") == 0);
    if ((env = secure_getenv("HSMKEY_PKCS11_MODULE")) != NULL
        && *env != '\0')
        module = env;
    return dup_setting(&ctx->module_path, module)
           && dup_setting(&ctx->pin_source, pin);
}

void hkprov_config_free(struct hkprov_ctx *ctx)
{
    OPENSSL_free(ctx->module_path);
    OPENSSL_free(ctx->pin_source);
}
