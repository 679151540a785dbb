/* SPDX-License-Identifier: Apache-2.0 */
/*
 * destroy.c - removing an object from its token (`hsmkey delete`).
 *
 * The object is found again on the token by what identifies it (class, key
 * type, CKA_ID, CKA_LABEL, CKA_TOKEN), never through the handle operations
 * use: for a private key that may be a session-object copy, and destroying
 * the copy would leave the key on the token.  Exactly one token object must
 * match, or nothing is destroyed.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/provision.h"

/* The template that names obj: its class and identifying attributes. */
static CK_ULONG identity(const struct hsmkey_object *obj, CK_ATTRIBUTE *t,
                         CK_OBJECT_CLASS *cls, CK_KEY_TYPE *kt,
                         CK_BBOOL *on_token)
{
    static const CK_ATTRIBUTE_TYPE ids[] = { CKA_ID, CKA_LABEL };
    CK_ULONG n = 0;

    *cls = hsmkey_object_class(obj);
    *kt = hsmkey_object_key_type(obj);
    *on_token = CK_TRUE;
    t[n++] = (CK_ATTRIBUTE){ CKA_CLASS, cls, sizeof(*cls) };
    if (*cls == CKO_PRIVATE_KEY || *cls == CKO_PUBLIC_KEY)
        t[n++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, kt, sizeof(*kt) };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        size_t len = 0;
        const void *v = hsmkey_object_attr(obj, ids[i], &len);

        if (v != NULL)
            t[n++] = (CK_ATTRIBUTE){ ids[i], (void *)v, len };
    }
    t[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, on_token, sizeof(*on_token) };
    return n;
}

/* Under the gate: the one token object matching tmpl, destroyed. */
static CK_RV destroy_on(struct hsmkey_token *tok, CK_FUNCTION_LIST *fn,
                        CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                        CK_ULONG ntmpl, CK_ULONG *matches,
                        const char **failed)
{
    CK_OBJECT_HANDLE *h = NULL;
    CK_RV rv;

    *failed = "C_FindObjects";
    rv = hsmkey_find_handles(tok, fn, s, tmpl, ntmpl, &h, matches);
    if (rv == CKR_OK && *matches == 1) {
        *failed = "C_DestroyObject";
        rv = fn->C_DestroyObject(s, h[0]);
    }
    OPENSSL_free(h);
    return rv;
}

int hsmkey_object_destroy(struct hsmkey_object *obj)
{
    struct hsmkey_token *tok = hsmkey_object_token(obj);
    struct hsmkey_lease lease;
    CK_FUNCTION_LIST *fn;
    CK_SESSION_HANDLE s;
    CK_ATTRIBUTE tmpl[5];
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    CK_BBOOL on_token;
    CK_ULONG matches = 0, ntmpl = identity(obj, tmpl, &cls, &kt, &on_token);
    const char *failed = NULL;
    CK_RV rv = CKR_OK;

    if (!hsmkey_lease_begin(&lease, tok, 1))
        return 0;
    if ((fn = hsmkey_lease_enter(&lease, &s)) != NULL) {
        rv = destroy_on(tok, fn, s, tmpl, ntmpl, &matches, &failed);
        hsmkey_lease_leave(&lease);
    }
    hsmkey_lease_end(&lease, rv);
    /* Searches cached before this one, and the token's index, may still
     * list the object. */
    hsmkey_core_forget_searches(hsmkey_token_core(tok));
    hsmkey_index_drop(hsmkey_token_index(tok));
    if (fn == NULL)
        return 0; /* raised: the token started over */
    if (rv != CKR_OK) {
        hsmkey_raise(rv == CKR_ACTION_PROHIBITED
                             || rv == CKR_TOKEN_WRITE_PROTECTED
                         ? HSMKEY_R_UNSUPPORTED : HSMKEY_R_PKCS11,
                     "%s: %s: %s", hsmkey_object_desc(obj), failed,
                     hsmkey_ckr_name(rv));
        return 0;
    }
    if (matches != 1) {
        hsmkey_raise(matches == 0 ? HSMKEY_R_KEY_NOT_FOUND
                                  : HSMKEY_R_AMBIGUOUS,
                     "%s: %lu token objects have its class, id and label: "
                     "nothing deleted", hsmkey_object_desc(obj),
                     (unsigned long)matches);
        return 0;
    }
    return 1;
}
