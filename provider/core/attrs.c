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
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"

/*
 * Attributes worth caching; the token refuses the ones that do not apply.
 * room: the buffer a value gets in the first read.  A CK_ULONG or CK_BBOOL
 * gets its exact size (NSS refuses a CK_ULONG any other buffer) and is
 * told from an untouched buffer by UNTOUCHED, which no class, type or flag
 * is; a variable-length value gets one more byte than most objects'
 * values need, so that one the token left untouched (its length still the
 * room) is told from one that fits.  where: the objects PKCS#11 defines a
 * variable-length attribute for (below).
 */
enum { W_FIXED, W_ANY, W_KEY_OR_CERT, W_KEY, W_RSA, W_EC, W_EC_PUBLIC };

#define FLAG_ROOM sizeof(CK_BBOOL)
#define ULONG_ROOM sizeof(CK_ULONG)
#define UNTOUCHED 0xa5

static const struct cached {
    CK_ATTRIBUTE_TYPE type;
    CK_ULONG room;
    int where;
} cached[] = {
    { CKA_CLASS, ULONG_ROOM, W_FIXED },
    { CKA_KEY_TYPE, ULONG_ROOM, W_FIXED },
    { CKA_ID, 129, W_KEY_OR_CERT },
    { CKA_LABEL, 257, W_ANY },
    { CKA_PRIVATE, FLAG_ROOM, W_FIXED },
    { CKA_SENSITIVE, FLAG_ROOM, W_FIXED },
    { CKA_EXTRACTABLE, FLAG_ROOM, W_FIXED },
    { CKA_NEVER_EXTRACTABLE, FLAG_ROOM, W_FIXED },
    { CKA_ALWAYS_SENSITIVE, FLAG_ROOM, W_FIXED },
    { CKA_ALWAYS_AUTHENTICATE, FLAG_ROOM, W_FIXED },
    { CKA_SIGN, FLAG_ROOM, W_FIXED },
    { CKA_DECRYPT, FLAG_ROOM, W_FIXED },
    { CKA_DERIVE, FLAG_ROOM, W_FIXED },
    { CKA_VERIFY, FLAG_ROOM, W_FIXED },
    { CKA_ENCRYPT, FLAG_ROOM, W_FIXED },
    { CKA_MODULUS, 1025, W_RSA },   /* RSA-8192 */
    { CKA_PUBLIC_EXPONENT, 17, W_RSA },
    { CKA_EC_PARAMS, 257, W_EC },
    { CKA_EC_POINT, 257, W_EC_PUBLIC },
    { CKA_CERTIFICATE_TYPE, ULONG_ROOM, W_FIXED },
    { CKA_TOKEN, FLAG_ROOM, W_FIXED },
    /* which signature mechanisms a restricted key takes (signature.c) */
    { CKA_ALLOWED_MECHANISMS, 64 * sizeof(CK_MECHANISM_TYPE) + 1, W_KEY },
};

#define NCACHED (sizeof(cached) / sizeof(cached[0]))
#define ROOM_TOTAL 3072 /* at least the sum of the rooms */

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
 * _SENSITIVE.  Anything else falls back.
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

/* The token wrote the value of t[i] (first read), whole. */
static int answered(const CK_ATTRIBUTE *t, size_t i)
{
    const unsigned char *v = t[i].pValue;

    if (t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return 0;
    if (cached[i].where != W_FIXED)
        return t[i].ulValueLen < cached[i].room;
    if (t[i].ulValueLen != cached[i].room)
        return 0;
    for (CK_ULONG k = 0; k < cached[i].room; k++)
        if (v[k] != UNTOUCHED)
            return 1;
    return 0;
}

/* The CK_ULONG value of type the token gave in t, or (CK_ULONG)-1. */
static CK_ULONG answered_ulong(const CK_ATTRIBUTE *t, CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG v = (CK_ULONG)-1;

    for (size_t i = 0; i < NCACHED; i++)
        if (t[i].type == type && cached[i].room == sizeof(CK_ULONG)
            && answered(t, i))
            memcpy(&v, t[i].pValue, sizeof(v));
    return v;
}

/* PKCS#11 defines the attribute for an object of class cls and key type
 * kt (each (CK_ULONG)-1 when the token did not say): when it is missing,
 * its value may only not have fitted. */
static int defined_for(int where, CK_ULONG cls, CK_ULONG kt)
{
    int key = cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY;
    int ec = kt == CKK_EC || kt == CKK_EC_EDWARDS;

    /* Not known well enough to tell: whatever is missing is asked again. */
    if (cls == (CK_ULONG)-1 || (key && kt != CKK_RSA && !ec))
        return 1;
    switch (where) {
    case W_ANY:
        return 1;
    case W_KEY_OR_CERT:
        return key || cls == CKO_CERTIFICATE;
    case W_KEY:
        return key;
    case W_RSA:
        return key && kt == CKK_RSA;
    case W_EC:
        return key && ec;
    case W_EC_PUBLIC:
        return cls == CKO_PUBLIC_KEY && ec;
    default:
        return 0;
    }
}

/*
 * Every type in one call, into rooms most values fit (SoftHSM2 re-reads the
 * object's file on every call, and decrypts a private object's label and
 * id: a second call costs about as much as the first).  PKCS#11 has the
 * token go through the whole template, marking a value it refuses or that
 * does not fit with CK_UNAVAILABLE_INFORMATION.  A value the token gave is
 * kept; one it refused is missing, unless it may only not have fitted (a
 * variable-length attribute PKCS#11 defines for this kind of object, or
 * any when the token said a buffer was too small) or the token left it
 * untouched: those are read again in two calls (read_batch).
 */
static CK_RV read_guessed(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                          CK_OBJECT_HANDLE h, struct attr_out *out)
{
    unsigned char buf[ROOM_TOTAL];
    CK_ATTRIBUTE t[NCACHED];
    CK_ATTRIBUTE_TYPE all[NCACHED], again[NCACHED];
    size_t used = 0, nagain = 0;
    CK_ULONG cls, kt;
    CK_RV rv;

    for (size_t i = 0; i < NCACHED; i++) {
        all[i] = cached[i].type;
        t[i] = (CK_ATTRIBUTE){ cached[i].type, buf + used, cached[i].room };
        used += cached[i].room;
    }
    if (used > sizeof(buf)) /* the table outgrew ROOM_TOTAL */
        return read_batch(fn, s, h, all, NCACHED, out);
    memset(buf, UNTOUCHED, used);
    rv = fn->C_GetAttributeValue(s, h, t, NCACHED);
    if (hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING)
        goto done;
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID
        && rv != CKR_ATTRIBUTE_SENSITIVE && rv != CKR_BUFFER_TOO_SMALL) {
        rv = read_one_by_one(fn, s, h, all, NCACHED, out);
        goto done;
    }
    cls = answered_ulong(t, CKA_CLASS);
    kt = answered_ulong(t, CKA_KEY_TYPE);
    for (size_t i = 0; i < NCACHED; i++) {
        CK_ULONG len = t[i].ulValueLen;
        CK_ATTRIBUTE v = { t[i].type, NULL, len };

        if (len == CK_UNAVAILABLE_INFORMATION && rv != CKR_OK
            && (cached[i].where == W_FIXED
                || (rv != CKR_BUFFER_TOO_SMALL
                    && !defined_for(cached[i].where, cls, kt))))
            continue; /* refused: not this object's */
        if (!answered(t, i)) {
            again[nagain++] = t[i].type;
            continue;
        }
        if ((v.pValue = OPENSSL_malloc(len ? len : 1)) == NULL) {
            rv = CKR_HOST_MEMORY;
            goto done;
        }
        memcpy(v.pValue, t[i].pValue, len);
        keep(out, &v);
    }
    rv = nagain > 0 ? read_batch(fn, s, h, again, nagain, out) : CKR_OK;
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    return rv;
}

CK_RV hsmkey_attrs_read(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE h, CK_ATTRIBUTE *attrs, size_t cap,
                        CK_ULONG *nattrs)
{
    static const CK_ATTRIBUTE_TYPE value[] = { CKA_VALUE };
    struct attr_out out = { attrs, cap, nattrs };
    CK_RV rv = read_guessed(fn, s, h, &out);

    if (rv == CKR_OK && is_certificate(attrs, *nattrs))
        rv = read_batch(fn, s, h, value, 1, &out);
    return rv;
}
