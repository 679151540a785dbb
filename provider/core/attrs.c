/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attrs.c - the attributes of a found object, read once: everything the hot
 * path and the public-key side need, so a signature costs no
 * C_GetAttributeValue.
 *
 * Nothing secret is asked for: CKA_VALUE is a certificate's DER but the
 * private scalar of an EC private key, or a secret key's bytes, which a
 * token that is not strict about CKA_SENSITIVE hands out.  It is read only
 * once the object is known to be a certificate.  Values are wiped when they
 * are dropped all the same.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"

/* Attributes worth caching; the token refuses the ones that do not apply.
 * Never CKA_VALUE here (see above). */
static const CK_ATTRIBUTE_TYPE cached_types[] = {
    CKA_CLASS, CKA_KEY_TYPE, CKA_ID, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE,
    CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
    CKA_ALWAYS_AUTHENTICATE, CKA_SIGN, CKA_DECRYPT, CKA_DERIVE, CKA_VERIFY,
    CKA_ENCRYPT, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT,
    CKA_CERTIFICATE_TYPE, CKA_TOKEN,
};

#define NCACHED (sizeof(cached_types) / sizeof(cached_types[0]))

/* Where the values go: the caller's array. */
struct attr_out {
    CK_ATTRIBUTE *attrs;
    size_t cap;
    CK_ULONG *n;
};

/* Keeps t (its value allocated) in out, or frees it. */
static int keep(struct attr_out *out, CK_ATTRIBUTE *t, CK_RV rv)
{
    if (rv != CKR_OK || *out->n >= out->cap) {
        OPENSSL_clear_free(t->pValue, t->ulValueLen);
        return 0;
    }
    out->attrs[(*out->n)++] = *t;
    return 1;
}

static void free_values(CK_ATTRIBUTE *t, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++)
        OPENSSL_clear_free(t[i].pValue, t[i].ulValueLen);
}

static void *alloc_value(CK_ULONG len)
{
    void *p = OPENSSL_malloc(len ? len : 1);

    if (p == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return p;
}

/* One attribute, two passes; 0 only when out of memory. */
static int read_one(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                    CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
                    struct attr_out *out)
{
    CK_ATTRIBUTE t = { type, NULL, 0 };

    if (fn->C_GetAttributeValue(s, h, &t, 1) != CKR_OK
        || t.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return 1;
    if ((t.pValue = alloc_value(t.ulValueLen)) == NULL)
        return 0;
    keep(out, &t, fn->C_GetAttributeValue(s, h, &t, 1));
    return 1;
}

/* One attribute at a time: for tokens that fail a whole batch on one type
 * they do not have. */
static int read_one_by_one(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                           CK_OBJECT_HANDLE h, struct attr_out *out)
{
    for (size_t i = 0; i < NCACHED; i++)
        if (!read_one(tok->fn, s, h, cached_types[i], out))
            return 0;
    return 1;
}

/* A certificate's DER, once CKA_CLASS said it is one. */
static int read_cert_value(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                           CK_OBJECT_HANDLE h, struct attr_out *out)
{
    CK_OBJECT_CLASS cls;

    for (CK_ULONG i = 0; i < *out->n; i++) {
        if (out->attrs[i].type != CKA_CLASS
            || out->attrs[i].ulValueLen != sizeof(cls))
            continue;
        memcpy(&cls, out->attrs[i].pValue, sizeof(cls));
        if (cls == CKO_CERTIFICATE)
            return read_one(tok->fn, s, h, CKA_VALUE, out);
    }
    return 1;
}

/*
 * All attributes in two calls (sizes, then values).  PKCS#11 has the token
 * go through the whole template and mark what does not apply with
 * CK_UNAVAILABLE_INFORMATION, returning CKR_ATTRIBUTE_TYPE_INVALID or
 * _SENSITIVE; SoftHSM2 re-reads the object's file on every call, so with
 * many objects this is most of a key load.  Anything else falls back.
 */
int hsmkey_attrs_read(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                      CK_OBJECT_HANDLE h, CK_ATTRIBUTE *attrs, size_t cap,
                      CK_ULONG *nattrs)
{
    CK_FUNCTION_LIST *fn = tok->fn;
    struct attr_out out = { attrs, cap, nattrs };
    CK_ATTRIBUTE t[NCACHED], want[NCACHED];
    CK_ULONG n = 0;
    CK_RV rv;

    for (size_t i = 0; i < NCACHED; i++)
        t[i] = (CK_ATTRIBUTE){ cached_types[i], NULL,
                               CK_UNAVAILABLE_INFORMATION };
    rv = fn->C_GetAttributeValue(s, h, t, NCACHED);
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID
        && rv != CKR_ATTRIBUTE_SENSITIVE)
        return read_one_by_one(tok, s, h, &out)
               && read_cert_value(tok, s, h, &out);
    for (size_t i = 0; i < NCACHED; i++) {
        if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
            continue;
        want[n] = t[i];
        if ((want[n].pValue = alloc_value(t[i].ulValueLen)) == NULL) {
            free_values(want, n);
            return 0;
        }
        n++;
    }
    rv = n > 0 ? fn->C_GetAttributeValue(s, h, want, n) : CKR_OK;
    if (rv != CKR_OK) {
        free_values(want, n);
        return read_one_by_one(tok, s, h, &out)
               && read_cert_value(tok, s, h, &out);
    }
    for (CK_ULONG i = 0; i < n; i++)
        keep(&out, &want[i], CKR_OK);
    return read_cert_value(tok, s, h, &out);
}
