/* SPDX-License-Identifier: Apache-2.0 */
/* objects.c -- the calls of hsmkey-p11shim.so that make and destroy objects,
 * written by hand for the live accounting of session objects (sessions.c)
 * and the no-copy limit (limits.c).
 *
 * A new object counts when it is a session object (CKA_TOKEN false), which
 * the shim asks the real module (C_GetAttributeValue, not counted as a call
 * of the application); should that fail, the template decides (CKA_TOKEN
 * absent: a session object, the default of every call but C_CopyObject).
 * It stops counting when C_DestroyObject destroys it, or with its session
 * (closed, or declared dead by the shim).
 */
#include "shim.h"

static int template_says_token(CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; tmpl != NULL && i < n; i++)
        if (tmpl[i].type == CKA_TOKEN && tmpl[i].pValue != NULL &&
            tmpl[i].ulValueLen == sizeof(CK_BBOOL))
            return *(CK_BBOOL *)tmpl[i].pValue == CK_TRUE;
    return 0;
}

/* OBJ was just made in session H with template TMPL: count it if it is a
 * session object. */
static void made(CK_FUNCTION_LIST_PTR real, CK_SESSION_HANDLE h,
                 CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    CK_BBOOL token = CK_FALSE;
    CK_ATTRIBUTE a = {CKA_TOKEN, &token, sizeof(token)};
    int is_token;

    if (real->C_GetAttributeValue(h, obj, &a, 1) == CKR_OK &&
        a.ulValueLen == sizeof(token))
        is_token = token == CK_TRUE;
    else
        is_token = template_says_token(tmpl, n);
    if (!is_token)
        shim_obj_created(h, obj);
}

CK_RV shim_C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                          CK_ULONG n, CK_OBJECT_HANDLE_PTR obj)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_CreateObject, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_CreateObject(h, tmpl, n, obj);
    if (rv == CKR_OK)
        made(real, h, *obj, tmpl, n);
    return rv;
}

CK_RV shim_C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                        CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE_PTR copy)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_CopyObject, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    if (shim_limits()->no_copy) {
        shim_count_limited();
        return CKR_FUNCTION_NOT_SUPPORTED;
    }
    rv = real->C_CopyObject(h, obj, tmpl, n, copy);
    if (rv == CKR_OK)
        made(real, h, *copy, tmpl, n);
    return rv;
}

CK_RV shim_C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_DestroyObject, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_DestroyObject(h, obj);
    if (rv == CKR_OK) {
        shim_obj_destroyed(obj);
        shim_instant_forget_key(obj);
    }
    return rv;
}

CK_RV shim_C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                         CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR key)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_GenerateKey, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_GenerateKey(h, mech, tmpl, n, key);
    if (rv == CKR_OK)
        made(real, h, *key, tmpl, n);
    return rv;
}

CK_RV shim_C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                             CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG pub_n,
                             CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG priv_n,
                             CK_OBJECT_HANDLE_PTR pub,
                             CK_OBJECT_HANDLE_PTR priv)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_GenerateKeyPair, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_GenerateKeyPair(h, mech, pub_tmpl, pub_n, priv_tmpl, priv_n,
                                 pub, priv);
    if (rv == CKR_OK) {
        made(real, h, *pub, pub_tmpl, pub_n);
        made(real, h, *priv, priv_tmpl, priv_n);
    }
    return rv;
}

CK_RV shim_C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                       CK_OBJECT_HANDLE unwrap_key, CK_BYTE_PTR in,
                       CK_ULONG in_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE_PTR key)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_UnwrapKey, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_UnwrapKey(h, mech, unwrap_key, in, in_len, tmpl, n, key);
    if (rv == CKR_OK)
        made(real, h, *key, tmpl, n);
    return rv;
}

CK_RV shim_C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                       CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl,
                       CK_ULONG n, CK_OBJECT_HANDLE_PTR key)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_DeriveKey, h, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_DeriveKey(h, mech, base, tmpl, n, key);
    /* Some mechanisms (SSL3 key derivation) return no handle in key. */
    if (rv == CKR_OK && key != NULL)
        made(real, h, *key, tmpl, n);
    return rv;
}
