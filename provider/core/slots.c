/* SPDX-License-Identifier: Apache-2.0 */
/*
 * slots.c - every slot of the started modules, with or without a token,
 * for `hsmkey tokens` (the token list of token.c keeps initialized tokens
 * only, since nothing but a listing cares about the others).
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/provision.h"

static int grow(struct hsmkey_slot **slots, size_t n)
{
    struct hsmkey_slot *grown = OPENSSL_realloc(*slots,
                                                (n + 1) * sizeof(*grown));

    if (grown == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    memset(&grown[n], 0, sizeof(grown[n]));
    *slots = grown;
    return 1;
}

static int list_module(CK_FUNCTION_LIST *fn, struct hsmkey_slot **slots,
                       size_t *count)
{
    CK_SLOT_ID *ids = NULL;
    CK_ULONG n = 0;
    CK_INFO minfo;
    CK_RV rv;
    int ok = 0;

    memset(&minfo, 0, sizeof(minfo));
    fn->C_GetInfo(&minfo);
    rv = fn->C_GetSlotList(CK_FALSE, NULL, &n);
    if (rv == CKR_OK && n > 0) {
        if ((ids = OPENSSL_malloc(n * sizeof(*ids))) == NULL) {
            hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
            return 0;
        }
        rv = fn->C_GetSlotList(CK_FALSE, ids, &n);
    }
    if (rv != CKR_OK) {
        hsmkey_raise(HSMKEY_R_MODULE, "C_GetSlotList: %s",
                     hsmkey_ckr_name(rv));
        goto done;
    }
    for (CK_ULONG i = 0; i < n; i++) {
        struct hsmkey_slot *s;

        if (!grow(slots, *count))
            goto done;
        s = &(*slots)[*count];
        s->id = ids[i];
        if (fn->C_GetSlotInfo(ids[i], &s->info) != CKR_OK)
            continue; /* gone between the two calls */
        s->has_token = (s->info.flags & CKF_TOKEN_PRESENT)
                       && fn->C_GetTokenInfo(ids[i], &s->token) == CKR_OK;
        s->initialized = s->has_token
                         && (s->token.flags & CKF_TOKEN_INITIALIZED);
        hsmkey_p11_string(s->module, sizeof(s->module),
                          minfo.libraryDescription,
                          sizeof(minfo.libraryDescription));
        (*count)++;
    }
    ok = 1;
done:
    OPENSSL_free(ids);
    return ok;
}

int hsmkey_core_slots(struct hsmkey_core *core, struct hsmkey_slot **slots,
                      size_t *count)
{
    int ok = 1;

    *slots = NULL;
    *count = 0;
    if (!hsmkey_core_ensure(core))
        return 0;
    pthread_mutex_lock(&core->lock);
    for (size_t i = 0; ok && core->modules[i] != NULL; i++)
        ok = list_module(core->modules[i], slots, count);
    pthread_mutex_unlock(&core->lock);
    if (!ok) {
        OPENSSL_free(*slots);
        *slots = NULL;
        *count = 0;
    }
    return ok;
}
