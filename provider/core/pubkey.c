/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pubkey.c - the software public key of a token key.
 *
 * Verification, key matching and export run on this key in another
 * provider, never on the token.  RSA private key objects carry their public
 * half; an EC or EdDSA private key mostly does not, so its CKA_EC_POINT
 * comes from the key itself where the token shows it there (NSS softoken),
 * else from the public key object (or else the certificate) beside it,
 * trusted once the private key proved it holds its private half
 * (partner.c), else it is recovered from two ECDSA signatures
 * (ecrecover.c) when the token holds nothing beside the key.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "core.h"
#include "partner.h"

static EVP_PKEY *from_params(const char *alg, OSSL_PARAM_BLD *bld,
                             OSSL_LIB_CTX *libctx, const char *propq,
                             const char *desc)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, alg, propq);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: the token's public key "
                     "attributes do not make a valid %s key", desc, alg);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_public(struct hsmkey_object *obj, OSSL_LIB_CTX *libctx,
                            const char *propq)
{
    size_t nlen, elen;
    const unsigned char *n = hsmkey_object_attr(obj, CKA_MODULUS, &nlen);
    const unsigned char *e = hsmkey_object_attr(obj, CKA_PUBLIC_EXPONENT,
                                                &elen);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = NULL, *be = NULL;
    EVP_PKEY *pkey = NULL;

    if (n == NULL || e == NULL) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: the token does not show the "
                     "key's modulus and public exponent", hsmkey_object_desc(obj));
        goto done;
    }
    bn = BN_bin2bn(n, nlen, NULL);
    be = BN_bin2bn(e, elen, NULL);
    if (bld == NULL || bn == NULL || be == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        goto done;
    }
    /* A key allowed only PSS is an RSA-PSS key, so that its certificates
     * (rsassaPss) match it and its CSRs say what it can do. */
    pkey = from_params(hsmkey_object_is_rsa_pss(obj) ? "RSA-PSS" : "RSA", bld,
                       libctx, propq, hsmkey_object_desc(obj));
done:
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/*
 * CKA_EC_PARAMS as a name OpenSSL knows: "prime256v1"..., or "ED25519" /
 * "ED448" for Edwards keys (an OID, or the printable "edwards25519" that
 * SoftHSM2 writes).  Explicit parameters are refused: they would leak into
 * CSRs and certificates that TLS peers refuse.
 */
static int curve_name(struct hsmkey_object *obj, char *name, size_t len)
{
    size_t plen;
    const unsigned char *v = hsmkey_object_attr(obj, CKA_EC_PARAMS, &plen);
    const unsigned char *p = v;
    ASN1_OBJECT *oid = v ? d2i_ASN1_OBJECT(NULL, &p, plen) : NULL;
    ASN1_PRINTABLESTRING *str = NULL;
    int nid = oid ? OBJ_obj2nid(oid) : NID_undef;
    const char *found = NULL;

    if (nid == NID_ED25519 || nid == NID_ED448)
        found = nid == NID_ED25519 ? "ED25519" : "ED448";
    else if (nid != NID_undef)
        found = OBJ_nid2sn(nid);
    else if (v != NULL && (p = v, str = d2i_ASN1_PRINTABLESTRING(NULL, &p,
                                                                 plen)))
        found = ASN1_STRING_length(str) == 12
                        && memcmp(ASN1_STRING_get0_data(str), "edwards25519",
                                  12) == 0 ? "ED25519"
                : ASN1_STRING_length(str) == 10
                        && memcmp(ASN1_STRING_get0_data(str), "edwards448",
                                  10) == 0 ? "ED448" : NULL;
    ASN1_OBJECT_free(oid);
    ASN1_STRING_free(str);
    if (found == NULL) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: CKA_EC_PARAMS is not a "
                     "named curve OpenSSL knows", hsmkey_object_desc(obj));
        return 0;
    }
    strncpy(name, found, len - 1);
    name[len - 1] = '\0';
    return 1;
}

static int is_edwards(const char *curve)
{
    return strcmp(curve, "ED25519") == 0 || strcmp(curve, "ED448") == 0;
}

/* CKA_EC_POINT is a DER OCTET STRING; some tokens give the raw point. */
static ASN1_OCTET_STRING *ec_point(const unsigned char *v, size_t len)
{
    const unsigned char *p = v;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, len);

    if (os != NULL && p == v + len)
        return os;
    ASN1_OCTET_STRING_free(os);
    os = ASN1_OCTET_STRING_new();
    if (os != NULL && !ASN1_OCTET_STRING_set(os, v, len)) {
        ASN1_OCTET_STRING_free(os);
        os = NULL;
    }
    return os;
}

static EVP_PKEY *ec_public(struct hsmkey_object *pubobj, const char *group,
                           OSSL_LIB_CTX *libctx, const char *propq)
{
    size_t len;
    const unsigned char *v = hsmkey_object_attr(pubobj, CKA_EC_POINT, &len);
    ASN1_OCTET_STRING *pt = v ? ec_point(v, len) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;

    if (pt == NULL || bld == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: unusable CKA_EC_POINT",
                     hsmkey_object_desc(pubobj));
    } else if (is_edwards(group)) {
        pkey = EVP_PKEY_new_raw_public_key_ex(libctx, group, propq, pt->data,
                                              pt->length);
        if (pkey == NULL)
            hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: CKA_EC_POINT is not an "
                         "%s public key", hsmkey_object_desc(pubobj), group);
    } else if (OSSL_PARAM_BLD_push_utf8_string(bld,
                                               OSSL_PKEY_PARAM_GROUP_NAME,
                                               group, 0)
               && OSSL_PARAM_BLD_push_octet_string(bld,
                                                   OSSL_PKEY_PARAM_PUB_KEY,
                                                   pt->data, pt->length)) {
        pkey = from_params("EC", bld, libctx, propq,
                           hsmkey_object_desc(pubobj));
    }
    ASN1_OCTET_STRING_free(pt);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* A certificate object's public key, in libctx. */
static EVP_PKEY *cert_public(struct hsmkey_object *cert, OSSL_LIB_CTX *libctx,
                             const char *propq)
{
    size_t len;
    const unsigned char *v = hsmkey_object_attr(cert, CKA_VALUE, &len), *p;
    X509 *x = v ? d2i_X509(NULL, &v, len) : NULL;
    unsigned char *der = NULL;
    int derlen = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
    EVP_PKEY *pkey = NULL;

    p = der;
    if (derlen > 0)
        pkey = d2i_PUBKEY_ex(NULL, &p, derlen, libctx, propq);
    if (pkey == NULL)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: no usable public key in the "
                     "certificate", hsmkey_object_desc(cert));
    OPENSSL_free(der);
    X509_free(x);
    return pkey;
}

/* An EC (not Edwards) key alone on the token: its point from signatures. */
static EVP_PKEY *ec_recovered(struct hsmkey_object *obj, const char *group,
                              OSSL_LIB_CTX *libctx, const char *propq)
{
    unsigned char pt[1 + 2 * 66];
    size_t len = sizeof(pt);
    OSSL_PARAM_BLD *bld;
    EVP_PKEY *pkey = NULL;

    if (is_edwards(group)) {
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "%s: no public key or "
                     "certificate with the same CKA_ID on the token, so its "
                     "public key is unknown", hsmkey_object_desc(obj));
        return NULL;
    }
    if (!hsmkey_ec_recover_point(obj, group, pt, &len))
        return NULL;
    if ((bld = OSSL_PARAM_BLD_new()) != NULL
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           group, 0)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                            len))
        pkey = from_params("EC", bld, libctx, propq, hsmkey_object_desc(obj));
    else
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/*
 * An EC or EdDSA private key's public half: its own CKA_EC_POINT when the
 * token puts one on it; else the partner object's, trusted only once the
 * private key has proven it (partner.c); else, with nothing beside it on
 * the token, recovered from signatures.
 */
static EVP_PKEY *ec_of_private(struct hsmkey_object *obj, const char *group,
                               OSSL_LIB_CTX *libctx, const char *propq)
{
    struct hsmkey_object *other = hsmkey_object_get_partner(obj);
    EVP_PKEY *pkey;

    if (hsmkey_object_attr(obj, CKA_EC_POINT, NULL) != NULL) {
        hsmkey_object_free(other);
        return ec_public(obj, group, libctx, propq);
    }
    if (other != NULL && !hsmkey_partner_matches(obj, other)) {
        hsmkey_object_free(other);
        other = NULL;
    }
    if (other == NULL && !hsmkey_partner_find(obj, &other))
        return NULL;
    if (other == NULL)
        return ec_recovered(obj, group, libctx, propq);
    pkey = hsmkey_object_class(other) == CKO_PUBLIC_KEY
               ? ec_public(other, group, libctx, propq)
               : cert_public(other, libctx, propq);
    if (pkey != NULL && !hsmkey_partner_prove(obj, pkey, other, libctx,
                                              propq)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    hsmkey_object_free(other);
    return pkey;
}

static EVP_PKEY *build(struct hsmkey_object *obj, OSSL_LIB_CTX *libctx,
                       const char *propq)
{
    char group[64];

    switch (hsmkey_object_key_type(obj)) {
    case CKK_RSA:
        return rsa_public(obj, libctx, propq);
    case CKK_EC:
    case CKK_EC_EDWARDS:
        if (!curve_name(obj, group, sizeof(group)))
            return NULL;
        if (hsmkey_object_class(obj) == CKO_PUBLIC_KEY)
            return ec_public(obj, group, libctx, propq);
        return ec_of_private(obj, group, libctx, propq);
    default:
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: key type 0x%lx is not "
                     "supported", hsmkey_object_desc(obj),
                     (unsigned long)hsmkey_object_key_type(obj));
        return NULL;
    }
}

EVP_PKEY *hsmkey_object_public_key(struct hsmkey_object *obj,
                                   OSSL_LIB_CTX *libctx, const char *propq)
{
    EVP_PKEY *pkey = hsmkey_object_cached_pub(obj, NULL), *built;

    if (pkey != NULL)
        return pkey;
    if ((built = build(obj, libctx, propq)) == NULL)
        return NULL;
    pkey = hsmkey_object_cached_pub(obj, built);
    EVP_PKEY_free(built);
    return pkey;
}
