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

    if (grown == NULL)
        return 0;
    memset(&grown[n], 0, sizeof(grown[n]));
    *slots = grown;
    return 1;
}

/* Under the gate: CK_RV, nothing raised. */
static CK_RV list_module(CK_FUNCTION_LIST *fn, struct hsmkey_slot **slots,
                         size_t *count)
{
    CK_SLOT_ID *ids = NULL;
    CK_ULONG n = 0;
    CK_INFO minfo;
    CK_RV rv;

    memset(&minfo, 0, sizeof(minfo));
    fn->C_GetInfo(&minfo);
    rv = fn->C_GetSlotList(CK_FALSE, NULL, &n);
    if (rv == CKR_OK && n > 0) {
        if ((ids = OPENSSL_malloc(n * sizeof(*ids))) == NULL)
            return CKR_HOST_MEMORY;
        rv = fn->C_GetSlotList(CK_FALSE, ids, &n);
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        struct hsmkey_slot *s;

        if (!grow(slots, *count)) {
            rv = CKR_HOST_MEMORY;
            break;
        }
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
    OPENSSL_free(ids);
    return rv;
}

int hsmkey_core_slots(struct hsmkey_core *core, struct hsmkey_slot **slots,
                      size_t *count)
{
    const struct hsmkey_modules *mods;
    struct hsmkey_fence fence;
    CK_RV rv = CKR_OK;

    *slots = NULL;
    *count = 0;
    if (!hsmkey_core_ensure(core))
        return 0;
    hsmkey_call_begin(hsmkey_core_gate(core), &fence);
    mods = hsmkey_core_modules(core);
    for (size_t i = 0; rv == CKR_OK && i < hsmkey_modules_count(mods); i++)
        rv = list_module(hsmkey_modules_get(mods, i), slots, count);
    hsmkey_call_end(hsmkey_core_gate(core), &fence);
    if (rv == CKR_OK)
        return 1;
    hsmkey_raise(rv == CKR_HOST_MEMORY ? HSMKEY_R_INTERNAL : HSMKEY_R_MODULE,
                 "PKCS#11 module %s: C_GetSlotList: %s",
                 hsmkey_core_module_name(core), hsmkey_ckr_name(rv));
    OPENSSL_free(*slots);
    *slots = NULL;
    *count = 0;
    return 0;
}
