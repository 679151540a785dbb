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

static int destroy_on(struct hsmkey_object *obj, struct hsmkey_token *tok,
                      CK_SESSION_HANDLE s)
{
    CK_ATTRIBUTE tmpl[5];
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    CK_BBOOL on_token;
    CK_OBJECT_HANDLE *h = NULL;
    CK_ULONG n = 0, ntmpl = identity(obj, tmpl, &cls, &kt, &on_token);
    CK_RV rv = hsmkey_token_find_handles(tok, s, tmpl, ntmpl, &h, &n);
    int ok = 0;

    if (rv != CKR_OK)
        goto done; /* raised by the search */
    if (n != 1) {
        hsmkey_raise(n == 0 ? HSMKEY_R_KEY_NOT_FOUND : HSMKEY_R_AMBIGUOUS,
                     "%s: %lu token objects have its class, id and label: "
                     "nothing deleted", hsmkey_object_desc(obj),
                     (unsigned long)n);
        goto done;
    }
    rv = tok->fn->C_DestroyObject(s, h[0]);
    if (rv != CKR_OK) {
        hsmkey_raise(rv == CKR_ACTION_PROHIBITED || rv == CKR_TOKEN_WRITE_PROTECTED
                         ? HSMKEY_R_UNSUPPORTED : HSMKEY_R_PKCS11,
                     "%s: C_DestroyObject: %s", hsmkey_object_desc(obj),
                     hsmkey_ckr_name(rv));
        goto done;
    }
    ok = 1;
done:
    OPENSSL_free(h);
    return ok;
}

int hsmkey_object_destroy(struct hsmkey_object *obj)
{
    struct hsmkey_token *tok = hsmkey_object_token(obj);
    CK_SESSION_HANDLE s;
    int ok;

    if (!hsmkey_token_session_get(tok, &s))
        return 0;
    ok = destroy_on(obj, tok, s);
    hsmkey_token_session_put(tok, s, 0);
    /* Searches cached before this one may still list the object. */
    atomic_fetch_add(&tok->core->changes, 1);
    return ok;
}
