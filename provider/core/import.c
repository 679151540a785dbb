/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.c - a software private key created on the token (C_CreateObject)
 * as a sensitive, non-extractable private key object, with its public key
 * object beside it.  Key material lives in secure-heap buffers that are
 * wiped when the objects exist.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "provision_int.h"

#define MAT_MAX 12

/* The buffers behind one pair of templates; wiped and freed together. */
struct material {
    unsigned char *buf[MAT_MAX];
    size_t len[MAT_MAX];
    int n;
};

static unsigned char *mat_alloc(struct material *m, size_t len)
{
    if (m->n >= MAT_MAX
        || (m->buf[m->n] = OPENSSL_secure_zalloc(len ? len : 1)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    m->len[m->n] = len;
    return m->buf[m->n++];
}

static void mat_free(struct material *m)
{
    for (int i = 0; i < m->n; i++)
        OPENSSL_secure_clear_free(m->buf[i], m->len[i]);
    m->n = 0;
}

/* A BIGNUM parameter big-endian, padded to pad bytes (0: minimal), added
 * to t under type. */
static int add_bn(struct material *m, struct prov_tmpl *t,
                  CK_ATTRIBUTE_TYPE type, EVP_PKEY *key, const char *param,
                  size_t pad)
{
    BIGNUM *bn = NULL;
    size_t len;
    unsigned char *buf;
    int ok = 0;

    if (!EVP_PKEY_get_bn_param(key, param, &bn)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "the key has no %s (a private "
                     "key with all its parameters is needed)", param);
        return 0;
    }
    len = pad ? pad : (size_t)BN_num_bytes(bn);
    if ((buf = mat_alloc(m, len)) != NULL
        && BN_bn2binpad(bn, buf, (int)len) == (int)len) {
        prov_add(t, type, buf, len);
        ok = 1;
    }
    BN_clear_free(bn);
    return ok;
}

/* CKA_EC_POINT: the point (or Ed25519 key) in a DER OCTET STRING. */
static int add_point(struct material *m, struct prov_tmpl *t,
                     const unsigned char *pt, size_t len)
{
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    unsigned char *buf = NULL, *p;
    int n = 0;

    if (os != NULL && ASN1_OCTET_STRING_set(os, pt, (int)len))
        n = i2d_ASN1_OCTET_STRING(os, NULL);
    if (n > 0 && (buf = mat_alloc(m, (size_t)n)) != NULL) {
        p = buf;
        i2d_ASN1_OCTET_STRING(os, &p);
        prov_add(t, CKA_EC_POINT, buf, (size_t)n);
    }
    ASN1_OCTET_STRING_free(os);
    return buf != NULL;
}

/* CKA_EC_PARAMS: the named curve's OID. */
static int add_params(struct material *m, struct prov_tmpl *pub,
                      struct prov_tmpl *priv, int nid)
{
    ASN1_OBJECT *oid = nid != NID_undef ? OBJ_nid2obj(nid) : NULL;
    int n = oid ? i2d_ASN1_OBJECT(oid, NULL) : 0;
    unsigned char *buf = NULL, *p;

    if (n <= 0) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "the key's curve has no name "
                     "(explicit parameters are not imported)");
        return 0;
    }
    if ((buf = mat_alloc(m, (size_t)n)) == NULL)
        return 0;
    p = buf;
    i2d_ASN1_OBJECT(oid, &p);
    prov_add(pub, CKA_EC_PARAMS, buf, (size_t)n);
    prov_add(priv, CKA_EC_PARAMS, buf, (size_t)n);
    return 1;
}

static int rsa_material(struct material *m, EVP_PKEY *key,
                        struct prov_tmpl *pub, struct prov_tmpl *priv)
{
    return add_bn(m, pub, CKA_MODULUS, key, OSSL_PKEY_PARAM_RSA_N, 0)
           && add_bn(m, pub, CKA_PUBLIC_EXPONENT, key, OSSL_PKEY_PARAM_RSA_E, 0)
           && add_bn(m, priv, CKA_MODULUS, key, OSSL_PKEY_PARAM_RSA_N, 0)
           && add_bn(m, priv, CKA_PUBLIC_EXPONENT, key,
                     OSSL_PKEY_PARAM_RSA_E, 0)
           && add_bn(m, priv, CKA_PRIVATE_EXPONENT, key,
                     OSSL_PKEY_PARAM_RSA_D, 0)
           && add_bn(m, priv, CKA_PRIME_1, key, OSSL_PKEY_PARAM_RSA_FACTOR1, 0)
           && add_bn(m, priv, CKA_PRIME_2, key, OSSL_PKEY_PARAM_RSA_FACTOR2, 0)
           && add_bn(m, priv, CKA_EXPONENT_1, key,
                     OSSL_PKEY_PARAM_RSA_EXPONENT1, 0)
           && add_bn(m, priv, CKA_EXPONENT_2, key,
                     OSSL_PKEY_PARAM_RSA_EXPONENT2, 0)
           && add_bn(m, priv, CKA_COEFFICIENT, key,
                     OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0);
}

static int ec_material(struct material *m, EVP_PKEY *key,
                       struct prov_tmpl *pub, struct prov_tmpl *priv)
{
    char group[64];
    unsigned char pt[256];
    size_t ptlen = 0;

    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
                                        group, sizeof(group), NULL)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "the EC key has no named curve "
                     "(explicit parameters are not imported)");
        return 0;
    }
    /* Uncompressed, as PKCS#11 tokens expect CKA_EC_POINT. */
    if (!EVP_PKEY_set_utf8_string_param(key,
            OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed")
        || !EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                            sizeof(pt), &ptlen)) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "cannot read the EC public point");
        return 0;
    }
    return add_params(m, pub, priv, OBJ_sn2nid(group))
           && add_point(m, pub, pt, ptlen)
           && add_bn(m, priv, CKA_VALUE, key, OSSL_PKEY_PARAM_PRIV_KEY,
                     (size_t)(EVP_PKEY_get_bits(key) + 7) / 8);
}

/* Ed25519 (32-byte keys) and Ed448 (57 bytes), named by OID. */
static int ed_material(struct material *m, EVP_PKEY *key,
                       struct prov_tmpl *pub, struct prov_tmpl *priv)
{
    int ed448 = EVP_PKEY_is_a(key, "ED448");
    size_t size = ed448 ? 57 : 32, len = size;
    unsigned char raw[57], *buf;

    if (!EVP_PKEY_get_raw_public_key(key, raw, &len) || len != size
        || !add_params(m, pub, priv, ed448 ? NID_ED448 : NID_ED25519)
        || !add_point(m, pub, raw, size))
        return 0;
    if ((buf = mat_alloc(m, size)) == NULL)
        return 0;
    len = size;
    if (!EVP_PKEY_get_raw_private_key(key, buf, &len) || len != size) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "cannot read the %s key",
                     ed448 ? "Ed448" : "Ed25519");
        return 0;
    }
    prov_add(priv, CKA_VALUE, buf, size);
    return 1;
}

static const CK_OBJECT_CLASS cls_priv = CKO_PRIVATE_KEY,
                             cls_pub = CKO_PUBLIC_KEY;
static const CK_KEY_TYPE kt_rsa = CKK_RSA, kt_ec = CKK_EC,
                         kt_ed = CKK_EC_EDWARDS;

/* Common attributes, then the key type's material. */
static int templates(struct material *m, EVP_PKEY *key,
                     const struct hsmkey_newkey *nk, const unsigned char *id,
                     size_t idlen, struct prov_tmpl *pub,
                     struct prov_tmpl *priv)
{
    const CK_KEY_TYPE *kt = EVP_PKEY_is_a(key, "RSA") ? &kt_rsa
                            : EVP_PKEY_is_a(key, "EC") ? &kt_ec
                            : EVP_PKEY_is_a(key, "ED25519")
                                      || EVP_PKEY_is_a(key, "ED448") ? &kt_ed
                            : NULL;

    if (kt == NULL) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "cannot import a %s key: RSA, EC, "
                     "Ed25519 and Ed448 keys can be imported",
                     EVP_PKEY_get0_type_name(key));
        return 0;
    }
    prov_add_ulong(pub, CKA_CLASS, &cls_pub);
    prov_add_ulong(priv, CKA_CLASS, &cls_priv);
    for (int i = 0; i < 2; i++) {
        struct prov_tmpl *t = i ? priv : pub;

        prov_add_ulong(t, CKA_KEY_TYPE, kt);
        prov_add_bool(t, CKA_TOKEN, 1);
        prov_add_bool(t, CKA_PRIVATE, i);
        if (i == 0)
            prov_optional(t); /* a public key readable without a PIN */
        prov_add(t, CKA_LABEL, nk->label, strlen(nk->label));
        prov_add(t, CKA_ID, id, idlen);
    }
    prov_add_bool(priv, CKA_SENSITIVE, 1);
    prov_add_bool(priv, CKA_EXTRACTABLE, 0);
    prov_add_usage(pub, priv, *kt);
    if (kt == &kt_rsa)
        return rsa_material(m, key, pub, priv);
    return kt == &kt_ec ? ec_material(m, key, pub, priv)
                        : ed_material(m, key, pub, priv);
}

struct pair {
    CK_OBJECT_HANDLE hpub, hpriv;
};

static CK_RV create_pair(struct prov_job *job, CK_FUNCTION_LIST *fn,
                         struct prov_tmpl *pub, struct prov_tmpl *priv,
                         void *arg, const char **call)
{
    struct pair *p = arg;
    CK_RV rv;

    *call = "C_CreateObject(private key)";
    rv = fn->C_CreateObject(job->s, priv->a, priv->n, &p->hpriv);
    if (rv != CKR_OK)
        return rv;
    *call = "C_CreateObject(public key)";
    rv = fn->C_CreateObject(job->s, pub->a, pub->n, &p->hpub);
    if (rv != CKR_OK)
        fn->C_DestroyObject(job->s, p->hpriv);
    return rv;
}

static struct hsmkey_object *create(struct prov_job *job,
                                    struct prov_tmpl *pub,
                                    struct prov_tmpl *priv, size_t *replaced)
{
    struct pair p = { 0, 0 };

    if (!prov_create(job, create_pair, pub, priv, &p))
        return NULL;
    return prov_finish(job, p.hpriv, p.hpub, NULL, 0, replaced);
}

struct hsmkey_object *hsmkey_import(struct hsmkey_token *tok, EVP_PKEY *key,
                                    const struct hsmkey_newkey *nk,
                                    size_t *replaced)
{
    struct prov_tmpl pub = { 0 }, priv = { 0 };
    struct material m = { 0 };
    struct prov_job job = { 0 };
    struct hsmkey_object *obj = NULL;
    unsigned char derived[20];
    const unsigned char *id = nk->id;
    size_t idlen = nk->idlen;

    if (replaced != NULL)
        *replaced = 0;
    if (id == NULL) {
        if (!hsmkey_pubkey_id(key, derived))
            return NULL;
        id = derived;
        idlen = sizeof(derived);
    }
    if (templates(&m, key, nk, id, idlen, &pub, &priv)
        && prov_begin(&job, tok, nk, id, idlen))
        obj = create(&job, &pub, &priv, replaced);
    prov_end(&job);
    mat_free(&m);
    return obj;
}
