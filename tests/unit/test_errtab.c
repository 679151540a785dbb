/* SPDX-License-Identifier: Apache-2.0 */
/* test_errtab.c - the reason table: strings, exit classes, bad values. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hsmkey/err.h"

static void test_errtab_classes(void **state)
{
    static const int input[] = {
        HSMKEY_R_BAD_ARGUMENT, HSMKEY_R_BAD_URI, HSMKEY_R_BAD_INPUT,
        HSMKEY_R_FILE, HSMKEY_R_PIN_SOURCE,
    };
    static const int token[] = {
        HSMKEY_R_MODULE, HSMKEY_R_TOKEN_NOT_FOUND, HSMKEY_R_KEY_NOT_FOUND,
        HSMKEY_R_AMBIGUOUS, HSMKEY_R_LOGIN, HSMKEY_R_PKCS11,
        HSMKEY_R_UNSUPPORTED, HSMKEY_R_INTERNAL,
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(input) / sizeof(input[0]); i++)
        assert_int_equal(hsmkey_reason_class(input[i]), HSMKEY_CLASS_INPUT);
    for (i = 0; i < sizeof(token) / sizeof(token[0]); i++)
        assert_int_equal(hsmkey_reason_class(token[i]), HSMKEY_CLASS_TOKEN);
    /* The CLI's exit codes (README) are the class values themselves. */
    assert_int_equal(HSMKEY_CLASS_INPUT, 2);
    assert_int_equal(HSMKEY_CLASS_TOKEN, 3);
}

/* Each reason has its own text: the provider serves them by number. */
static void test_errtab_strings_distinct(void **state)
{
    int i, j;

    (void)state;
    for (i = HSMKEY_R_NONE + 1; i < HSMKEY_R_MAX; i++) {
        const char *s = hsmkey_reason_string(i);

        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, hsmkey_reason_string(HSMKEY_R_MAX));
        for (j = HSMKEY_R_NONE + 1; j < i; j++)
            assert_string_not_equal(s, hsmkey_reason_string(j));
    }
    assert_string_equal(hsmkey_reason_string(HSMKEY_R_TOKEN_NOT_FOUND),
                        "token not found");
    assert_string_equal(hsmkey_reason_string(HSMKEY_R_LOGIN), "login failed");
}

static void test_errtab_out_of_range(void **state)
{
    static const int bad[] = { -1, HSMKEY_R_MAX, HSMKEY_R_MAX + 1, INT_MAX,
                               INT_MIN };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_string_equal(hsmkey_reason_string(bad[i]), "unknown reason");
        assert_int_equal(hsmkey_reason_class(bad[i]), HSMKEY_CLASS_TOKEN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errtab_classes),
        cmocka_unit_test(test_errtab_strings_distinct),
        cmocka_unit_test(test_errtab_out_of_range),
    };

    return cmocka_run_group_tests_name("errtab", tests, NULL, NULL);
}
