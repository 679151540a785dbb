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

/* What the fake openssl.cnf section holds; NULL: the key is absent. */
static const char *cnf_module, *cnf_pin, *cnf_copies;
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

static int setup(void **state)
{
    (void)state;
    cnf_module = cnf_pin = cnf_copies = NULL;
    cnf_fails = 0;
    unsetenv("HSMKEY_PKCS11_MODULE");
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

/* HSMKEY_PIN_SOURCE comes after the configuration (the core asks it last):
 * the section's value is kept as is. */
static void test_config_env_pin_does_not_override(void **state)
{
    struct hkprov_ctx ctx;

    (void)state;
    cnf_pin = "env:CNF_PIN";
    setenv("HSMKEY_PIN_SOURCE", "env:OTHER", 1);
    load(&ctx);
    assert_string_equal(ctx.pin_source, "env:CNF_PIN");
    hkprov_config_free(&ctx);
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
    assert_int_equal(ctx.session_copies, 1); /* on unless refused */
    hkprov_config_free(&ctx);
    cnf_copies = "no";
    load(&ctx);
    assert_int_equal(ctx.session_copies, 0);
    hkprov_config_free(&ctx);
    cnf_copies = "yes";
    load(&ctx);
    assert_int_equal(ctx.session_copies, 1);
    hkprov_config_free(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_reads_section, setup),
        cmocka_unit_test_setup(test_config_absent_means_defaults, setup),
        cmocka_unit_test_setup(test_config_empty_values_are_absent, setup),
        cmocka_unit_test_setup(test_config_env_module_overrides, setup),
        cmocka_unit_test_setup(test_config_env_pin_does_not_override, setup),
        cmocka_unit_test_setup(test_config_failed_upcall_means_defaults,
                               setup),
        cmocka_unit_test_setup(test_config_session_copies, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
