/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_search.c - the criteria of an OSSL_STORE search on a pkcs11: URI
 * (OSSL_STORE_find: subject name, issuer and serial number, fingerprint,
 * alias), and whether a found object meets them.
 *
 * The URI narrows what is looked for on the token; these criteria filter
 * what it found, in software and on the certificate itself (CKA_VALUE): a
 * token's CKA_SUBJECT may be encoded otherwise than the certificate's name
 * (PrintableString or UTF8String), or be missing, and names are compared
 * as X.509 names are (X509_NAME_cmp), not byte for byte.
 *  - subject, issuer and serial: certificates only (keys have no names);
 *  - fingerprint: a certificate's digest (`openssl x509 -fingerprint`), a
 *    key's digest of its SubjectPublicKeyInfo;
 *  - alias: the object's label (CKA_LABEL), whatever its class.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "prov.h"

struct hkprov_store_search {
    X509_NAME *subject, *issuer;
    BIGNUM *serial;
    char *digest;
    unsigned char *fingerprint;
    size_t fplen;
    char *alias;
};

struct hkprov_store_search *hkprov_store_search_new(void)
{
    struct hkprov_store_search *s = OPENSSL_zalloc(sizeof(*s));

    if (s == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return s;
}

void hkprov_store_search_free(struct hkprov_store_search *s)
{
    if (s == NULL)
        return;
    X509_NAME_free(s->subject);
    X509_NAME_free(s->issuer);
    BN_free(s->serial);
    OPENSSL_free(s->digest);
    OPENSSL_free(s->fingerprint);
    OPENSSL_free(s->alias);
    OPENSSL_free(s);
}

static int set_name(X509_NAME **dst, const OSSL_PARAM *p, const char *what)
{
    const void *der = NULL;
    const unsigned char *in;
    size_t len = 0;
    X509_NAME *name;

    if (!OSSL_PARAM_get_octet_string_ptr(p, &der, &len))
        return 0;
    in = der;
    if ((name = d2i_X509_NAME(NULL, &in, (long)len)) == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "store search: the %s is not a "
                     "DER name", what);
        return 0;
    }
    X509_NAME_free(*dst);
    *dst = name;
    return 1;
}

static int set_string(char **dst, const OSSL_PARAM *p)
{
    char *v = NULL;

    if (!OSSL_PARAM_get_utf8_string(p, &v, 0))
        return 0;
    OPENSSL_free(*dst);
    *dst = v;
    return 1;
}

static int set_fingerprint(struct hkprov_store_search *s, const OSSL_PARAM *p)
{
    void *v = NULL;
    size_t len = 0;

    if (!OSSL_PARAM_get_octet_string(p, &v, 0, &len))
        return 0;
    OPENSSL_free(s->fingerprint);
    s->fingerprint = v;
    s->fplen = len;
    return 1;
}

int hkprov_store_search_set(struct hkprov_store_search *s,
                            const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SUBJECT))
            != NULL
        && !set_name(&s->subject, p, "subject"))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ISSUER)) != NULL
        && !set_name(&s->issuer, p, "issuer"))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_SERIAL)) != NULL
        && !OSSL_PARAM_get_BN(p, &s->serial))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_DIGEST)) != NULL
        && !set_string(&s->digest, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_FINGERPRINT))
            != NULL
        && !set_fingerprint(s, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ALIAS)) != NULL
        && !set_string(&s->alias, p))
        return 0;
    return 1;
}

int hkprov_store_search_active(const struct hkprov_store_search *s)
{
    return s->subject != NULL || s->issuer != NULL || s->serial != NULL
           || s->fingerprint != NULL || s->alias != NULL;
}

int hkprov_store_search_certs_only(const struct hkprov_store_search *s)
{
    return s->subject != NULL || s->issuer != NULL || s->serial != NULL;
}

static int label_is(const struct hsmkey_object *obj, const char *alias)
{
    size_t len;
    const void *label = hsmkey_object_attr(obj, CKA_LABEL, &len);

    return label != NULL && len == strlen(alias)
           && memcmp(label, alias, len) == 0;
}

/* The fingerprint criterion against the digest of der. */
static int digest_is(struct hkprov_ctx *prov,
                     const struct hkprov_store_search *s,
                     const unsigned char *der, size_t len)
{
    EVP_MD *md = EVP_MD_fetch(prov->libctx,
                              s->digest != NULL ? s->digest : "SHA1",
                              HKPROV_SOFTWARE_PROPQ);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;
    int ok = md != NULL && EVP_Digest(der, len, out, &outlen, md, NULL)
             && outlen == s->fplen && memcmp(out, s->fingerprint, outlen) == 0;

    EVP_MD_free(md);
    return ok;
}

static int cert_matches(struct hkprov_ctx *prov,
                        const struct hkprov_store_search *s,
                        const struct hsmkey_object *obj)
{
    size_t len;
    const unsigned char *der = hsmkey_object_attr(obj, CKA_VALUE, &len);
    const unsigned char *in = der;
    X509 *x = der != NULL ? d2i_X509(NULL, &in, (long)len) : NULL;
    BIGNUM *serial = NULL;
    int ok = x != NULL;

    if (ok && s->subject != NULL)
        ok = X509_NAME_cmp(X509_get_subject_name(x), s->subject) == 0;
    if (ok && s->issuer != NULL)
        ok = X509_NAME_cmp(X509_get_issuer_name(x), s->issuer) == 0;
    if (ok && s->serial != NULL)
        ok = (serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL))
                 != NULL
             && BN_cmp(serial, s->serial) == 0;
    if (ok && s->fingerprint != NULL)
        ok = digest_is(prov, s, der, len);
    BN_free(serial);
    X509_free(x);
    return ok;
}

static int key_matches(struct hkprov_ctx *prov,
                       const struct hkprov_store_search *s,
                       struct hsmkey_object *obj)
{
    EVP_PKEY *pub;
    unsigned char *der = NULL;
    int len, ok;

    if (hkprov_store_search_certs_only(s))
        return 0;
    if (s->fingerprint == NULL)
        return 1;
    hsmkey_err_set_mark(); /* a key without a usable public half: no match */
    pub = hsmkey_object_public_key(obj, prov->libctx, HKPROV_SOFTWARE_PROPQ);
    hsmkey_err_pop_to_mark();
    len = pub != NULL ? i2d_PUBKEY(pub, &der) : -1;
    ok = len > 0 && digest_is(prov, s, der, (size_t)len);
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    return ok;
}

int hkprov_store_search_matches(struct hkprov_ctx *prov,
                                const struct hkprov_store_search *s,
                                struct hsmkey_object *obj)
{
    if (s->alias != NULL && !label_is(obj, s->alias))
        return 0;
    if (hsmkey_object_class(obj) == CKO_CERTIFICATE)
        return cert_matches(prov, s, obj);
    return key_matches(prov, s, obj);
}
