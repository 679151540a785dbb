/* SPDX-License-Identifier: Apache-2.0 */
/* test_ckr.c - CKR_* and CKM_* names. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "hsmkey/ckr.h"

struct named {
    unsigned long value;
    const char *name;
};

#define NAMED(x) { x, #x }

/* First, last and neighbours of gaps in the numbering, plus the ones users
 * meet most. */
static const struct named ckr_samples[] = {
    NAMED(CKR_OK),
    NAMED(CKR_CANCEL),
    NAMED(CKR_SLOT_ID_INVALID),
    NAMED(CKR_GENERAL_ERROR),
    NAMED(CKR_CANT_LOCK),
    NAMED(CKR_ATTRIBUTE_READ_ONLY),
    NAMED(CKR_ACTION_PROHIBITED),
    NAMED(CKR_DEVICE_ERROR),
    NAMED(CKR_KEY_HANDLE_INVALID),
    NAMED(CKR_KEY_FUNCTION_NOT_PERMITTED),
    NAMED(CKR_MECHANISM_INVALID),
    NAMED(CKR_OBJECT_HANDLE_INVALID),
    NAMED(CKR_PIN_INCORRECT),
    NAMED(CKR_PIN_LOCKED),
    NAMED(CKR_SESSION_HANDLE_INVALID),
    NAMED(CKR_SESSION_READ_WRITE_SO_EXISTS),
    NAMED(CKR_SIGNATURE_LEN_RANGE),
    NAMED(CKR_TOKEN_NOT_PRESENT),
    NAMED(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    NAMED(CKR_USER_NOT_LOGGED_IN),
    NAMED(CKR_USER_TOO_MANY_TYPES),
    NAMED(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
    NAMED(CKR_CURVE_NOT_SUPPORTED),
    NAMED(CKR_BUFFER_TOO_SMALL),
    NAMED(CKR_CRYPTOKI_NOT_INITIALIZED),
    NAMED(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    NAMED(CKR_MUTEX_NOT_LOCKED),
    NAMED(CKR_NEXT_OTP),
    NAMED(CKR_PUBLIC_KEY_INVALID),
    NAMED(CKR_FUNCTION_REJECTED),
};

static void test_ckr_known_names(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ckr_samples) / sizeof(ckr_samples[0]); i++)
        assert_string_equal(hsmkey_ckr_name(ckr_samples[i].value),
                            ckr_samples[i].name);
}

static void test_ckr_vendor(void **state)
{
    (void)state;
    assert_string_equal(hsmkey_ckr_name(CKR_VENDOR_DEFINED),
                        "CKR_VENDOR_DEFINED");
    assert_string_equal(hsmkey_ckr_name(CKR_VENDOR_DEFINED + 0x1234),
                        "CKR_VENDOR_DEFINED");
    assert_string_equal(hsmkey_ckr_name(ULONG_MAX), "CKR_VENDOR_DEFINED");
}

/* Holes in the standard numbering must not borrow a neighbour's name. */
static void test_ckr_unknown(void **state)
{
    static const CK_RV holes[] = { 0x4, 0xb, 0x14, 0x61, 0x80, 0xb2, 0x111,
                                   0x1ff, 0x7fffffffUL };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
        assert_string_equal(hsmkey_ckr_name(holes[i]), "CKR_UNKNOWN");
}

static void test_ckm_names(void **state)
{
    (void)state;
    assert_string_equal(hsmkey_ckm_name(CKM_RSA_PKCS), "CKM_RSA_PKCS");
    assert_string_equal(hsmkey_ckm_name(CKM_RSA_PKCS_PSS), "CKM_RSA_PKCS_PSS");
    assert_string_equal(hsmkey_ckm_name(CKM_RSA_PKCS_OAEP),
                        "CKM_RSA_PKCS_OAEP");
    assert_string_equal(hsmkey_ckm_name(CKM_SHA384_RSA_PKCS_PSS),
                        "CKM_SHA384_RSA_PKCS_PSS");
    assert_string_equal(hsmkey_ckm_name(CKM_ECDSA_SHA256), "CKM_ECDSA_SHA256");
    assert_string_equal(hsmkey_ckm_name(CKM_EDDSA), "CKM_EDDSA");
    assert_string_equal(hsmkey_ckm_name(CKM_EC_EDWARDS_KEY_PAIR_GEN),
                        "CKM_EC_EDWARDS_KEY_PAIR_GEN");
    /* The alias CKM_ECDSA_KEY_PAIR_GEN has the current name. */
    assert_string_equal(hsmkey_ckm_name(CKM_ECDSA_KEY_PAIR_GEN),
                        "CKM_EC_KEY_PAIR_GEN");
    assert_string_equal(hsmkey_ckm_name(CKM_RSA_PKCS_KEY_PAIR_GEN),
                        "CKM_RSA_PKCS_KEY_PAIR_GEN");
    assert_null(hsmkey_ckm_name(CKM_DES_ECB));
    assert_null(hsmkey_ckm_name(CKM_VENDOR_DEFINED + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ckr_known_names),
        cmocka_unit_test(test_ckr_vendor),
        cmocka_unit_test(test_ckr_unknown),
        cmocka_unit_test(test_ckm_names),
    };

    return cmocka_run_group_tests_name("ckr", tests, NULL, NULL);
}
