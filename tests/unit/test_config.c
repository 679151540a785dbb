/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c - the provider's settings from its openssl.cnf section
 * (through the core's get_params upcall, faked here) and the environment
 * overrides (README, "Using the provider").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_dispatch.h>
#include <openssl/params.h>

#include "provider/prov.h"
#include "err_capture.h"

/* What the fake openssl.cnf section holds; NULL: the key is absent. */
static const char *cnf_module, *cnf_pin, *cnf_copies, *cnf_max, *cnf_wait,
    *cnf_init, *cnf_keyref;
static int cnf_fails;

static int fake_get_params(const OSSL_CORE_HANDLE *h, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    (void)h;
    if (cnf_fails)
        return 0;
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_PKCS11_MODULE)) && cnf_module)
        OSSL_PARAM_set_utf8_ptr(p, cnf_module);
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_PIN_SOURCE)) && cnf_pin)
        OSSL_PARAM_set_utf8_ptr(p, cnf_pin);
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_SESSION_COPIES))
        && cnf_copies)
        OSSL_PARAM_set_utf8_ptr(p, cnf_copies);
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_MAX_SESSIONS)) && cnf_max)
        OSSL_PARAM_set_utf8_ptr(p, cnf_max);
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_SESSION_WAIT)) && cnf_wait)
        OSSL_PARAM_set_utf8_ptr(p, cnf_wait);
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_PKCS11_MODULE_INIT_ARGS))
        && cnf_init)
        OSSL_PARAM_set_utf8_ptr(p, cnf_init);
    if ((p = OSSL_PARAM_locate(params, HKPROV_CFG_KEYREF_PIN)) && cnf_keyref)
        OSSL_PARAM_set_utf8_ptr(p, cnf_keyref);
    return 1;
}

static const OSSL_DISPATCH core_in[] = {
    { OSSL_FUNC_CORE_GET_PARAMS, (void (*)(void))fake_get_params },
    { 0, NULL }
};

static void load(struct hkprov_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    assert_int_equal(hkprov_config_load(ctx, NULL, core_in), 1);
}

/* A value that makes no sense: the provider loads, and every key load
 * fails naming the key (OpenSSL would drop an init failure's errors). */
static void refused(const char *key)
{
    struct hkprov_ctx ctx;

    memset(&ctx, 0, sizeof(ctx));
    err_capture_reset();
    assert_int_equal(hkprov_config_load(&ctx, NULL, core_in), 1);
    assert_int_equal(err_capture_count(), 0);
    assert_int_equal(hkprov_config_check(&ctx), 0);
    assert_true(err_capture_contains(key));
    assert_true(err_capture_contains("no key is loaded until it is fixed"));
    hkprov_config_free(&ctx);
}

static int setup(void **state)
{
    (void)state;
    cnf_module = cnf_pin = cnf_copies = cnf_max = cnf_wait = cnf_init =
        cnf_keyref = NULL;
    cnf_fails = 0;
    unsetenv("HSMKEY_PKCS11_MODULE");
    unsetenv("HSMKEY_PKCS11_MODULE_INIT_ARGS");
    unsetenv("HSMKEY_PIN_SOURCE");
    return 0;
}

static void test_config_reads_section(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_module = "/usr/lib/softhsm/libsofthsm2.so";
    cnf_pin = "file:/etc/hsmkey/node.pin";
    load(&ctx);
    assert_string_equal(ctx.module_path, cnf_module);
    assert_string_equal(ctx.pin_source, cnf_pin);
    hkprov_config_free(&ctx);
}

static void test_config_absent_means_defaults(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    load(&ctx);
    assert_null(ctx.module_path); /* every module registered with p11-kit */
    assert_null(ctx.pin_source);
    hkprov_config_free(&ctx);
}

static void test_config_empty_values_are_absent(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_module = "";
    cnf_pin = "";
    load(&ctx);
    assert_null(ctx.module_path);
    assert_null(ctx.pin_source);
    hkprov_config_free(&ctx);
}

static void test_config_env_module_overrides(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_module = "/from/openssl.cnf.so";
    setenv("HSMKEY_PKCS11_MODULE", "/from/env.so", 1);
    load(&ctx);
    assert_string_equal(ctx.module_path, "/from/env.so");
    hkprov_config_free(&ctx);
}

/* HSMKEY_PIN_SOURCE is read by the core at each login, where it wins over
 * this value (core/login.c): the section's value is kept as is here. */
static void test_config_env_pin_kept_for_the_core(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_pin = "env:CNF_PIN";
    setenv("HSMKEY_PIN_SOURCE", "env:OTHER", 1);
    load(&ctx);
    assert_string_equal(ctx.pin_source, "env:CNF_PIN");
    hkprov_config_free(&ctx);
}

/* A key-reference file's PIN attributes are data unless allowed by the
 * exact word: a typo means the safe default. */
static void test_config_keyref_pin(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    load(&ctx);
    assert_int_equal(ctx.keyref_pin_allow, 0);
    hkprov_config_free(&ctx);
    cnf_keyref = "allow";
    load(&ctx);
    assert_int_equal(ctx.keyref_pin_allow, 1);
    hkprov_config_free(&ctx);
    cnf_keyref = "ignore";
    load(&ctx);
    assert_int_equal(ctx.keyref_pin_allow, 0);
    hkprov_config_free(&ctx);
    /* Anything else is refused, naming the key: a typo must not pass
     * for a choice. */
    cnf_keyref = "yes";
    refused("keyref-pin");
    cnf_keyref = "Allow ";
    refused("keyref-pin");
}

static void test_config_failed_upcall_means_defaults(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_module = "/x.so";
    cnf_fails = 1;
    load(&ctx);
    assert_null(ctx.module_path);
    hkprov_config_free(&ctx);
}

static void test_config_session_copies(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    load(&ctx);
    assert_int_equal(ctx.session_copies, HSMKEY_COPIES_AUTO);
    hkprov_config_free(&ctx);
    cnf_copies = "no";
    load(&ctx);
    assert_int_equal(ctx.session_copies, HSMKEY_COPIES_OFF);
    hkprov_config_free(&ctx);
    cnf_copies = "yes";
    load(&ctx);
    assert_int_equal(ctx.session_copies, HSMKEY_COPIES_ON);
    hkprov_config_free(&ctx);
    cnf_copies = "auto";
    load(&ctx);
    assert_int_equal(ctx.session_copies, HSMKEY_COPIES_AUTO);
    hkprov_config_free(&ctx);
    cnf_copies = "sometimes";
    refused("session-copies");
}

static void test_config_sessions(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    load(&ctx);
    assert_int_equal(ctx.max_sessions, 0); /* the token's own limit */
    assert_true(ctx.session_wait_ms < 0);  /* the core's default */
    hkprov_config_free(&ctx);
    cnf_max = "4";
    cnf_wait = "30";
    load(&ctx);
    assert_int_equal(ctx.max_sessions, 4);
    assert_int_equal(ctx.session_wait_ms, 30000);
    hkprov_config_free(&ctx);
    cnf_max = "-1";
    refused("max-sessions");
    cnf_max = "4 sessions";
    refused("max-sessions");
    cnf_max = NULL;
    cnf_wait = "99999";
    refused("session-wait");
}

/* NSS softoken's database, as C_Initialize's pReserved: kept verbatim. */
static void test_config_init_args(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    load(&ctx);
    assert_null(ctx.init_args);
    hkprov_config_free(&ctx);
    cnf_init = "configdir='sql:/etc/nssdb' certPrefix='' flags=";
    load(&ctx);
    assert_string_equal(ctx.init_args, cnf_init);
    hkprov_config_free(&ctx);
    cnf_init = "";
    load(&ctx);
    assert_null(ctx.init_args);
    hkprov_config_free(&ctx);
}

static void test_config_env_init_args_overrides(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_init = "configdir='sql:/from/cnf'";
    setenv("HSMKEY_PKCS11_MODULE_INIT_ARGS", "configdir='sql:/from/env'", 1);
    load(&ctx);
    assert_string_equal(ctx.init_args, "configdir='sql:/from/env'");
    hkprov_config_free(&ctx);
    setenv("HSMKEY_PKCS11_MODULE_INIT_ARGS", "", 1); /* empty: not set */
    load(&ctx);
    assert_string_equal(ctx.init_args, "configdir='sql:/from/cnf'");
    hkprov_config_free(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_reads_section, setup),
        cmocka_unit_test_setup(test_config_absent_means_defaults, setup),
        cmocka_unit_test_setup(test_config_empty_values_are_absent, setup),
        cmocka_unit_test_setup(test_config_env_module_overrides, setup),
        cmocka_unit_test_setup(test_config_env_pin_kept_for_the_core, setup),
        cmocka_unit_test_setup(test_config_keyref_pin, setup),
        cmocka_unit_test_setup(test_config_failed_upcall_means_defaults,
                               setup),
        cmocka_unit_test_setup(test_config_session_copies, setup),
        cmocka_unit_test_setup(test_config_sessions, setup),
        cmocka_unit_test_setup(test_config_init_args, setup),
        cmocka_unit_test_setup(test_config_env_init_args_overrides, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
