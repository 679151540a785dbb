/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyinfo.c - a key or certificate object's type and size/curve, from the
 * attributes read at find time (listings need no extra token call).
 */
#include <stdio.h>
#include <string.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "core.h"
#include "hsmkey/provision.h"

static void set(char *dst, size_t len, const char *v)
{
    snprintf(dst, len, "%s", v);
}

/* "P-256" for NIST curves, else OpenSSL's short name. */
static const char *curve_name(int nid)
{
    const char *nist = EC_curve_nid2nist(nid);

    if (nist != NULL)
        return nist;
    if (nid == NID_ED25519)
        return "Ed25519";
    if (nid == NID_ED448)
        return "Ed448";
    return OBJ_nid2sn(nid);
}

/* CKA_EC_PARAMS: a DER OID, or (EdDSA, PKCS#11 3.0) a PrintableString. */
static int params_nid(const struct hsmkey_object *obj)
{
    size_t len;
    const unsigned char *v = hsmkey_object_attr(obj, CKA_EC_PARAMS, &len);
    const unsigned char *p = v;
    ASN1_OBJECT *oid;
    ASN1_PRINTABLESTRING *str;
    int nid = NID_undef;

    if (v == NULL)
        return NID_undef;
    if ((oid = d2i_ASN1_OBJECT(NULL, &p, len)) != NULL) {
        nid = OBJ_obj2nid(oid);
        ASN1_OBJECT_free(oid);
    } else if ((str = d2i_ASN1_PRINTABLESTRING(NULL, &p, len)) != NULL) {
        if (str->length == 12 && memcmp(str->data, "edwards25519", 12) == 0)
            nid = NID_ED25519;
        else if (str->length == 10 && memcmp(str->data, "edwards448", 10) == 0)
            nid = NID_ED448;
        ASN1_STRING_free(str);
    }
    return nid;
}

static void rsa_size(const struct hsmkey_object *obj, char *size,
                     size_t sizelen)
{
    size_t len;
    const unsigned char *n = hsmkey_object_attr(obj, CKA_MODULUS, &len);
    size_t bits;

    if (n == NULL || len == 0)
        return;
    while (len > 0 && *n == 0) {
        n++;
        len--;
    }
    bits = len * 8;
    for (unsigned char top = len ? n[0] : 0x80; top < 0x80; top <<= 1)
        bits--;
    snprintf(size, sizelen, "%zu", bits);
}

static void cert_info(const struct hsmkey_object *obj, char *type,
                      size_t typelen, char *size, size_t sizelen)
{
    size_t len;
    const unsigned char *der = hsmkey_object_attr(obj, CKA_VALUE, &len);
    X509 *x = der ? d2i_X509(NULL, &der, len) : NULL;
    EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
    char group[64];

    if (k == NULL) {
        X509_free(x);
        return;
    }
    if (EVP_PKEY_is_a(k, "RSA")) {
        set(type, typelen, "rsa");
        snprintf(size, sizelen, "%d", EVP_PKEY_get_bits(k));
    } else if (EVP_PKEY_is_a(k, "EC")) {
        set(type, typelen, "ec");
        if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group),
                                           NULL))
            set(size, sizelen, curve_name(OBJ_sn2nid(group)) != NULL
                                   ? curve_name(OBJ_sn2nid(group)) : group);
    } else if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448")) {
        set(type, typelen, EVP_PKEY_is_a(k, "ED448") ? "ed448" : "ed25519");
        set(size, sizelen, EVP_PKEY_is_a(k, "ED448") ? "Ed448" : "Ed25519");
    }
    X509_free(x);
}

int hsmkey_object_curve_nid(const struct hsmkey_object *obj)
{
    return params_nid(obj);
}

void hsmkey_object_keyinfo(const struct hsmkey_object *obj, char *type,
                           size_t typelen, char *size, size_t sizelen)
{
    int nid;

    set(type, typelen, "unknown");
    set(size, sizelen, "");
    if (hsmkey_object_class(obj) == CKO_CERTIFICATE) {
        cert_info(obj, type, typelen, size, sizelen);
        return;
    }
    switch (hsmkey_object_key_type(obj)) {
    case CKK_RSA:
        set(type, typelen, "rsa");
        rsa_size(obj, size, sizelen);
        break;
    case CKK_EC:
        set(type, typelen, "ec");
        if ((nid = params_nid(obj)) != NID_undef && curve_name(nid))
            set(size, sizelen, curve_name(nid));
        break;
    case CKK_EC_EDWARDS:
        nid = params_nid(obj);
        set(type, typelen, nid == NID_ED448 ? "ed448" : "ed25519");
        set(size, sizelen, nid == NID_ED448 ? "Ed448" : "Ed25519");
        break;
    }
}

/*
 * CKA_ALLOWED_MECHANISMS: an array of CK_MECHANISM_TYPE.  Absent, or empty
 * (which would forbid every use of the key: a token that shows an empty
 * list does not enforce it), the key is not restricted.
 */
static const CK_MECHANISM_TYPE *allowed_list(const struct hsmkey_object *obj,
                                             size_t *n)
{
    size_t len;
    const CK_MECHANISM_TYPE *v = hsmkey_object_attr(obj,
                                                    CKA_ALLOWED_MECHANISMS,
                                                    &len);

    *n = v != NULL ? len / sizeof(*v) : 0;
    return *n > 0 ? v : NULL;
}

int hsmkey_object_allows(const struct hsmkey_object *obj,
                         CK_MECHANISM_TYPE mech)
{
    size_t n;
    const CK_MECHANISM_TYPE *list = allowed_list(obj, &n);

    for (size_t i = 0; list != NULL && i < n; i++)
        if (list[i] == mech)
            return 1;
    return list == NULL;
}

/* The PSS signature mechanisms: a key allowed only these is an RSA-PSS key */
static const CK_MECHANISM_TYPE pss_mechs[] = {
    CKM_RSA_PKCS_PSS,        CKM_SHA1_RSA_PKCS_PSS,   CKM_SHA224_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
};

static int is_pss_mech(CK_MECHANISM_TYPE m)
{
    for (size_t i = 0; i < sizeof(pss_mechs) / sizeof(pss_mechs[0]); i++)
        if (pss_mechs[i] == m)
            return 1;
    return 0;
}

int hsmkey_object_is_rsa_pss(const struct hsmkey_object *obj)
{
    size_t n;
    const CK_MECHANISM_TYPE *list = allowed_list(obj, &n);

    if (hsmkey_object_key_type(obj) != CKK_RSA || list == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_pss_mech(list[i]))
            return 0;
    return 1;
}
