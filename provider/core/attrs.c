/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attrs.c - the attributes of a found object, read once: everything the hot
 * path and the public-key side need, so a signature costs no
 * C_GetAttributeValue.  Called under the gate (a body of a module call):
 * returns CK_RV, raises nothing.
 *
 * No secret is ever asked for: CKA_VALUE is read for certificates only (a
 * private or secret key's value is its secret, even where a careless token
 * would give it), and none of the private components is in the list.
 * Values are wiped when they are dropped all the same.
 */
#include <openssl/crypto.h>

#include "core.h"

/* Attributes worth caching; the token refuses the ones that do not apply. */
static const CK_ATTRIBUTE_TYPE cached_types[] = {
    CKA_CLASS, CKA_KEY_TYPE, CKA_ID, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE,
    CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
    CKA_ALWAYS_AUTHENTICATE, CKA_SIGN, CKA_DECRYPT, CKA_DERIVE, CKA_VERIFY,
    CKA_ENCRYPT, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT,
    CKA_CERTIFICATE_TYPE, CKA_TOKEN,
    /* which signature mechanisms a restricted key takes (signature.c) */
    CKA_ALLOWED_MECHANISMS,
};

#define NCACHED (sizeof(cached_types) / sizeof(cached_types[0]))

/* Where the values go: the caller's array. */
struct attr_out {
    CK_ATTRIBUTE *attrs;
    size_t cap;
    CK_ULONG *n;
};

static void keep(struct attr_out *out, CK_ATTRIBUTE *t)
{
    if (*out->n >= out->cap) {
        OPENSSL_clear_free(t->pValue, t->ulValueLen);
        return;
    }
    out->attrs[(*out->n)++] = *t;
}

static void free_values(CK_ATTRIBUTE *t, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++)
        OPENSSL_clear_free(t[i].pValue, t[i].ulValueLen);
}

/* One attribute at a time, two calls each: for tokens that fail a whole
 * batch on one type they do not have. */
static CK_RV read_one_by_one(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                             CK_OBJECT_HANDLE h, const CK_ATTRIBUTE_TYPE *types,
                             size_t ntypes, struct attr_out *out)
{
    for (size_t i = 0; i < ntypes; i++) {
        CK_ATTRIBUTE t = { types[i], NULL, 0 };
        CK_RV rv = fn->C_GetAttributeValue(s, h, &t, 1);

        if (hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING)
            return rv;
        if (rv != CKR_OK || t.ulValueLen == CK_UNAVAILABLE_INFORMATION)
            continue;
        if ((t.pValue = OPENSSL_malloc(t.ulValueLen ? t.ulValueLen : 1))
            == NULL)
            return CKR_HOST_MEMORY;
        if (fn->C_GetAttributeValue(s, h, &t, 1) == CKR_OK)
            keep(out, &t);
        else
            OPENSSL_clear_free(t.pValue, t.ulValueLen);
    }
    return CKR_OK;
}

/*
 * The types in two calls (sizes, then values).  PKCS#11 has the token go
 * through the whole template and mark what does not apply with
 * CK_UNAVAILABLE_INFORMATION, returning CKR_ATTRIBUTE_TYPE_INVALID or
 * _SENSITIVE; SoftHSM2 re-reads the object's file on every call, so with
 * many objects this is most of a key load.  Anything else falls back.
 */
static CK_RV read_batch(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE h, const CK_ATTRIBUTE_TYPE *types,
                        size_t ntypes, struct attr_out *out)
{
    CK_ATTRIBUTE t[NCACHED], want[NCACHED];
    CK_ULONG n = 0;
    CK_RV rv;

    for (size_t i = 0; i < ntypes; i++)
        t[i] = (CK_ATTRIBUTE){ types[i], NULL, CK_UNAVAILABLE_INFORMATION };
    rv = fn->C_GetAttributeValue(s, h, t, ntypes);
    if (hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING)
        return rv;
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID
        && rv != CKR_ATTRIBUTE_SENSITIVE)
        return read_one_by_one(fn, s, h, types, ntypes, out);
    for (size_t i = 0; i < ntypes; i++) {
        if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
            continue;
        want[n] = t[i];
        want[n].pValue = OPENSSL_malloc(t[i].ulValueLen ? t[i].ulValueLen
                                                        : 1);
        if (want[n].pValue == NULL) {
            free_values(want, n);
            return CKR_HOST_MEMORY;
        }
        n++;
    }
    rv = n > 0 ? fn->C_GetAttributeValue(s, h, want, n) : CKR_OK;
    if (rv != CKR_OK) {
        free_values(want, n);
        if (hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING)
            return rv;
        return read_one_by_one(fn, s, h, types, ntypes, out);
    }
    for (CK_ULONG i = 0; i < n; i++)
        keep(out, &want[i]);
    return CKR_OK;
}

static int is_certificate(const CK_ATTRIBUTE *attrs, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (attrs[i].type == CKA_CLASS
            && attrs[i].ulValueLen == sizeof(CK_OBJECT_CLASS))
            return *(CK_OBJECT_CLASS *)attrs[i].pValue == CKO_CERTIFICATE;
    return 0;
}

CK_RV hsmkey_attrs_read(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE h, CK_ATTRIBUTE *attrs, size_t cap,
                        CK_ULONG *nattrs)
{
    static const CK_ATTRIBUTE_TYPE value[] = { CKA_VALUE };
    struct attr_out out = { attrs, cap, nattrs };
    CK_RV rv = read_batch(fn, s, h, cached_types, NCACHED, &out);

    if (rv == CKR_OK && is_certificate(attrs, *nattrs))
        rv = read_batch(fn, s, h, value, 1, &out);
    return rv;
}
