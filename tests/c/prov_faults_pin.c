/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_faults_pin.c - a PIN the token refused is never offered again
 * (real tokens lock after a few wrong PINs), whether the refusal is
 * injected by the shim or SoftHSM's own answer to a wrong PIN.
 *
 *   prov_faults pin URI WRONG-PIN-FILE
 *
 * One process, in order:
 *  1. C_Login:CKR_PIN_INCORRECT from the start: loading the key with the
 *     configured (right) PIN fails N times with one C_Login in all; once the
 *     token would accept it again, that PIN is still not offered.
 *  2. the URI with pin-source=file:WRONG (a wrong PIN, a real refusal from
 *     SoftHSM): N loads, one C_Login more.
 *
 *   prov_faults pin-sign URI
 *
 * A server signing with a loaded key is logged out (every C_SignInit says
 * CKR_USER_NOT_LOGGED_IN) and its PIN is now refused: N signatures fail
 * with one C_Login in all.
 */
#include <string.h>
#include <openssl/err.h>

#include "prov_faults.h"

#define TF_PIN_TRIES 6

/* Load must fail naming the token and, at least, want. */
static void load_refused(const char *uri, const char *want, int i)
{
    char err[2048];
    EVP_PKEY *key = tc_load_key(uri);

    TC_CHECK(key == NULL, "try %d: the key loaded", i);
    tc_errors(err, sizeof(err));
    TC_CHECK(strstr(err, tf.label) != NULL && strstr(err, want) != NULL,
             "try %d: the error should name token '%s' and %s: %s", i,
             tf.label, want, err);
    if (i == 1 || i == TF_PIN_TRIES)
        printf("  try %d: %s\n", i, err);
}

static unsigned long tries(const char *uri, const char *first)
{
    unsigned long before = tc_shim_count("C_Login");

    for (int i = 1; i <= TF_PIN_TRIES; i++)
        load_refused(uri, i == 1 ? first : "already refused", i);
    return tc_shim_count("C_Login") - before;
}

int tf_pin(const char *uri, const char *wrong_pin_file)
{
    char wrong_uri[2048];
    unsigned long logins;

    tf.label = getenv("HSMKEY_TEST_TOKEN");
    TC_CHECK(tf.label != NULL, "HSMKEY_TEST_TOKEN not set");
    tc_shim_open();
    tc_shim_control("C_Login:CKR_PIN_INCORRECT");

    logins = tries(uri, "CKR_PIN_INCORRECT");
    printf("injected CKR_PIN_INCORRECT: %d loads refused, %lu C_Login\n",
           TF_PIN_TRIES, logins);
    TC_CHECK(logins == 1, "C_Login called %lu times, once expected", logins);

    tc_shim_control(""); /* the token would take it now: still not tried */
    load_refused(uri, "already refused", 1);
    TC_CHECK(tc_shim_count("C_Login") == 1,
             "a refused PIN was offered again (%lu C_Login in all)",
             tc_shim_count("C_Login"));
    printf("fault cleared: the refused PIN still not offered (1 C_Login in "
           "all)\n");

    snprintf(wrong_uri, sizeof(wrong_uri), "%s%cpin-source=file:%s", uri,
             strchr(uri, '?') ? '&' : '?', wrong_pin_file);
    logins = tries(wrong_uri, "CKR_PIN_INCORRECT");
    printf("wrong PIN (SoftHSM's refusal): %d loads refused, %lu C_Login\n",
           TF_PIN_TRIES, logins);
    TC_CHECK(logins == 1, "C_Login called %lu times, once expected", logins);
    printf("pin %s: %d loads refused, %lu C_Login in all\n", uri,
           2 * TF_PIN_TRIES + 1, tc_shim_count("C_Login"));
    return 0;
}

int tf_pin_sign(const char *uri)
{
    unsigned long before;
    char err[2048];

    tf_setup(uri);
    tc_shim_control("C_SignInit:CKR_USER_NOT_LOGGED_IN\n"
                    "C_Login:CKR_PIN_INCORRECT");
    before = tc_shim_count("C_Login");
    for (int i = 1; i <= TF_PIN_TRIES; i++) {
        TC_CHECK(!tc_sign(tf.key, tf.pub), "signature %d succeeded", i);
        tc_errors(err, sizeof(err));
        TC_CHECK(strstr(err, tf.label) != NULL
                     && strstr(err, "CKR_PIN_INCORRECT") != NULL,
                 "signature %d: the error should name token '%s' and "
                 "CKR_PIN_INCORRECT: %s", i, tf.label, err);
        if (i == 1 || i == TF_PIN_TRIES)
            printf("  signature %d: %s\n", i, err);
    }
    printf("pin-sign %s: logged out, PIN refused: %d signatures failed, "
           "%lu C_Login\n", uri, TF_PIN_TRIES,
           tc_shim_count("C_Login") - before);
    TC_CHECK(tc_shim_count("C_Login") - before == 1,
             "C_Login called %lu times, once expected",
             tc_shim_count("C_Login") - before);
    tf_teardown();
    return 0;
}
