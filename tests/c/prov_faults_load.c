/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_faults_load.c - how a first key load reads the key's attributes.
 *
 *   prov_faults attrs URI            all of them in one C_GetAttributeValue
 *                                    call per object (into buffers most
 *                                    values fit)
 *   prov_faults attrs-fallback URI   the token fails that batch call once:
 *                                    the load reads them one at a time
 *                                    instead, and the key signs
 *
 * Each in a fresh process, so the load really searches (no cached URI).
 */
#include <string.h>
#include <openssl/err.h>

#include "prov_faults.h"

/* The private key and its public partner, one call each. */
#define TF_BATCH_CALLS 2

int tf_attrs(const char *uri, int fallback)
{
    unsigned long calls0, calls, faults0;
    char err[2048];

    tf.label = getenv("HSMKEY_TEST_TOKEN");
    TC_CHECK(tf.label != NULL, "HSMKEY_TEST_TOKEN not set");
    tc_shim_open();
    tc_shim_control(fallback ? "C_GetAttributeValue:CKR_GENERAL_ERROR:count=1"
                             : "");
    calls0 = tc_shim_count("C_GetAttributeValue");
    faults0 = tc_shim_count("faults");
    tf.key = tc_load_key(uri);
    TC_CHECK(tf.key != NULL, "cannot load %s: %s", uri,
             tc_errors(err, sizeof(err)));
    calls = tc_shim_count("C_GetAttributeValue") - calls0;
    tc_shim_control("");
    tf.pub = tc_public(tf.key);
    TC_CHECK(tf.pub != NULL && tc_sign(tf.key, tf.pub), "%s: cannot sign",
             uri);
    printf("attrs%s %s: %lu C_GetAttributeValue calls for the first load, "
           "%lu faults injected\n", fallback ? "-fallback" : "", uri, calls,
           tc_shim_count("faults") - faults0);
    if (fallback) {
        TC_CHECK(tc_shim_count("faults") - faults0 == 1, "the fault did not "
                 "fire");
        TC_CHECK(calls > 2 * TF_BATCH_CALLS, "%lu calls: no one-by-one "
                 "fallback after the failed batch", calls);
    } else {
        TC_CHECK(calls <= TF_BATCH_CALLS, "%lu calls: attributes are not "
                 "read in one batch per object", calls);
    }
    tf_teardown();
    return 0;
}
