/* SPDX-License-Identifier: Apache-2.0 */
/*
 * count.c - token calls per signature on the hot path, counted by the test
 * shim module (tests/p11shim) that the provider is configured to load in
 * this mode.  The goal is C_SignInit + C_Sign and nothing else.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const functions[] = {
    "C_Initialize", "C_Finalize", "C_GetInfo", "C_GetSlotList",
    "C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList",
    "C_GetMechanismInfo", "C_OpenSession", "C_CloseSession",
    "C_CloseAllSessions", "C_GetSessionInfo", "C_Login", "C_Logout",
    "C_CreateObject", "C_CopyObject", "C_DestroyObject", "C_GetObjectSize",
    "C_GetAttributeValue", "C_SetAttributeValue", "C_FindObjectsInit",
    "C_FindObjects", "C_FindObjectsFinal", "C_DigestInit", "C_Digest",
    "C_SignInit", "C_Sign", "C_SignUpdate", "C_SignFinal", "C_DecryptInit",
    "C_Decrypt", "C_DeriveKey", "C_GenerateRandom", "C_WaitForSlotEvent",
};

typedef unsigned long count_fn(const char *name);
typedef void reset_fn(void);

int bench_count_calls(const struct bench_cfg *cfg, int n)
{
    const char *shim = getenv("HSMKEY_BENCH_SHIM");
    void *h = shim ? dlopen(shim, RTLD_NOW | RTLD_NOLOAD) : NULL;
    char uri[256];
    EVP_PKEY *key;
    count_fn *count;
    reset_fn *reset;
    static const struct bench_alg rsa = { "RSA", "rsa-key", 0, 0 };

    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=rsa-key;type=private",
             cfg->token);
    /* Loading the key starts the module, and with it the shim. */
    if ((key = bench_load_key(uri)) == NULL
        || (h = shim ? dlopen(shim, RTLD_NOW | RTLD_NOLOAD) : h) == NULL
        || (count = (count_fn *)dlsym(h, "hsmkey_shim_counts")) == NULL
        || (reset = (reset_fn *)dlsym(h, "hsmkey_shim_reset")) == NULL) {
        fprintf(stderr, "bench: the provider is not on the counting shim "
                "(HSMKEY_BENCH_SHIM, pkcs11-module)\n");
        return 0;
    }
    /* Warm up (first signature may log in or fill caches), then count. */
    if (!bench_evp_sign(key, &rsa))
        return 0;
    reset();
    for (int i = 0; i < n; i++)
        if (!bench_evp_sign(key, &rsa))
            return 0;
    printf("\n## Token calls per signature (provider, %d signatures after "
           "warm-up)\n\n| PKCS#11 function | calls per signature |\n"
           "|---|---|\n", n);
    for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
        unsigned long c = count(functions[i]);

        if (c > 0)
            printf("| %s | %.2f |\n", functions[i], (double)c / n);
    }
    EVP_PKEY_free(key);
    return 1;
}
