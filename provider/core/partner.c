/* SPDX-License-Identifier: Apache-2.0 */
/*
 * partner.c - the public half of a private key object that does not carry
 * it: EC and EdDSA private key objects have no CKA_EC_POINT, so the point
 * comes from the public key object (or else a certificate) beside it.
 *
 * Anyone who can open a read/write session writes and deletes public
 * objects, without a PIN.  An object beside the private key is therefore
 * only a claim: it must agree with the private key on CKA_ID, key type and
 * curve (a public key object also on its label), be the only such claim,
 * and pass one signature by the private key verified in software with it,
 * before a CSR, a certificate or a TLS handshake relies on it.  The proof
 * costs one signature per key object, at its first load.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core.h"
#include "partner.h"
#include "hsmkey/provision.h"

#define CHALLENGE_LEN 32
#define SIG_MAX 512    /* raw r||s or EdDSA: P-521 needs 132, Ed448 114 */
#define SECRET_MAX 128 /* ECDH x coordinate: P-521 needs 66 */

/* Both carry the attribute with the same bytes, or neither carries it. */
static int same_attr(const struct hsmkey_object *a,
                     const struct hsmkey_object *b, CK_ATTRIBUTE_TYPE type)
{
    size_t la, lb;
    const void *va = hsmkey_object_attr(a, type, &la);
    const void *vb = hsmkey_object_attr(b, type, &lb);

    if (va == NULL || vb == NULL)
        return va == vb;
    return la == lb && memcmp(va, vb, la) == 0;
}

static int has_id(const struct hsmkey_object *obj)
{
    size_t len;

    return hsmkey_object_attr(obj, CKA_ID, &len) != NULL && len > 0;
}

/* A certificate object's public key (the default library context). */
static EVP_PKEY *cert_key(const struct hsmkey_object *cert)
{
    size_t len;
    const unsigned char *v = hsmkey_object_attr(cert, CKA_VALUE, &len);
    X509 *x;
    EVP_PKEY *pkey;

    hsmkey_err_set_mark();
    x = v != NULL ? d2i_X509(NULL, &v, (long)len) : NULL;
    pkey = x != NULL ? X509_get_pubkey(x) : NULL;
    hsmkey_err_pop_to_mark();
    X509_free(x);
    return pkey;
}

/* The NID of a software key's curve (EC, Ed25519, Ed448). */
static int key_curve_nid(const EVP_PKEY *pkey)
{
    char name[64];
    int nid;

    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return NID_ED25519;
    if (EVP_PKEY_is_a(pkey, "ED448"))
        return NID_ED448;
    if (!EVP_PKEY_is_a(pkey, "EC")
        || !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                           name, sizeof(name), NULL))
        return NID_undef;
    nid = EC_curve_nist2nid(name);
    return nid != NID_undef ? nid : OBJ_txt2nid(name);
}

static int cert_matches(const struct hsmkey_object *priv,
                        const struct hsmkey_object *cert)
{
    EVP_PKEY *pkey = cert_key(cert);
    int nid = hsmkey_object_curve_nid(priv), ok = 0;

    if (pkey == NULL)
        return 0;
    switch (hsmkey_object_key_type(priv)) {
    case CKK_RSA:
        ok = EVP_PKEY_is_a(pkey, "RSA");
        break;
    case CKK_EC:
        ok = EVP_PKEY_is_a(pkey, "EC") && nid != NID_undef
             && key_curve_nid(pkey) == nid;
        break;
    case CKK_EC_EDWARDS:
        ok = nid != NID_undef && key_curve_nid(pkey) == nid;
        break;
    }
    EVP_PKEY_free(pkey);
    return ok;
}

int hsmkey_partner_matches(const struct hsmkey_object *priv,
                           const struct hsmkey_object *other)
{
    CK_KEY_TYPE type = hsmkey_object_key_type(priv);
    int nid;

    if (!has_id(priv) || !same_attr(priv, other, CKA_ID))
        return 0;
    if (hsmkey_object_class(other) == CKO_CERTIFICATE)
        return cert_matches(priv, other);
    if (hsmkey_object_class(other) != CKO_PUBLIC_KEY
        || hsmkey_object_key_type(other) != type
        || !same_attr(priv, other, CKA_LABEL))
        return 0;
    if (type != CKK_EC && type != CKK_EC_EDWARDS)
        return 1;
    nid = hsmkey_object_curve_nid(priv);
    return nid != NID_undef && hsmkey_object_curve_nid(other) == nid;
}

struct hsmkey_object *hsmkey_partner_pick(const struct hsmkey_object *priv,
                                          struct hsmkey_object *const *objs,
                                          size_t n)
{
    struct hsmkey_object *one = NULL;

    for (size_t i = 0; i < n; i++) {
        if (objs[i] == priv || hsmkey_object_class(objs[i]) != CKO_PUBLIC_KEY
            || !hsmkey_partner_matches(priv, objs[i]))
            continue;
        if (one != NULL)
            return NULL; /* several: hsmkey_partner_find says so */
        one = objs[i];
    }
    return one;
}

/* Two claims that give the same public key are one claim. */
static int same_public(const struct hsmkey_object *a,
                       const struct hsmkey_object *b)
{
    EVP_PKEY *ka, *kb;
    int same;

    if (hsmkey_object_class(a) == CKO_PUBLIC_KEY)
        return same_attr(a, b, CKA_EC_POINT) && same_attr(a, b, CKA_MODULUS)
               && same_attr(a, b, CKA_PUBLIC_EXPONENT);
    ka = cert_key(a);
    kb = cert_key(b);
    same = ka != NULL && kb != NULL && EVP_PKEY_eq(ka, kb) == 1;
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    return same;
}

static void raise_ambiguous(const struct hsmkey_object *priv,
                            const struct hsmkey_object *a,
                            const struct hsmkey_object *b)
{
    hsmkey_raise(HSMKEY_R_AMBIGUOUS, "%s: several %ss claim to be its public "
                 "half (%s; %s) and give different keys: refusing to choose "
                 "one (remove the one that does not belong)",
                 hsmkey_object_desc(priv),
                 hsmkey_object_class(a) == CKO_CERTIFICATE ? "certificate"
                                                           : "public key",
                 hsmkey_object_desc(a), hsmkey_object_desc(b));
}

/* The one object of class cls on priv's token that matches it (*out NULL
 * when none); 0 + raised when the search failed or several disagree. */
static int find_matching(struct hsmkey_object *priv, CK_OBJECT_CLASS cls,
                         struct hsmkey_object **out)
{
    size_t idlen;
    const void *id = hsmkey_object_attr(priv, CKA_ID, &idlen);
    CK_BBOOL token_object = CK_TRUE;
    CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof(cls) },
                             { CKA_ID, (void *)id, idlen },
                             { CKA_TOKEN, &token_object, sizeof(CK_BBOOL) } };
    struct hsmkey_object **objs = NULL, *one = NULL;
    size_t n = 0;
    int ok = 1;

    *out = NULL;
    if (!hsmkey_token_find(hsmkey_object_token(priv), tmpl, 3, &objs, &n))
        return 0;
    for (size_t i = 0; ok && i < n; i++) {
        if (!hsmkey_partner_matches(priv, objs[i])
            || (one != NULL && same_public(one, objs[i])))
            continue;
        if (one != NULL) {
            raise_ambiguous(priv, one, objs[i]);
            ok = 0;
        }
        one = objs[i];
    }
    if (ok)
        *out = hsmkey_object_ref(one);
    hsmkey_objects_free(objs, n);
    return ok;
}

int hsmkey_partner_find(struct hsmkey_object *priv, struct hsmkey_object **out)
{
    *out = NULL;
    if (!has_id(priv))
        return 1; /* nothing can be tied to it: none */
    if (!find_matching(priv, CKO_PUBLIC_KEY, out))
        return 0;
    return *out != NULL || find_matching(priv, CKO_CERTIFICATE, out);
}

/* ---- the proof ---- */

static int verify_ecdsa(EVP_PKEY *pub, const unsigned char *raw,
                        size_t rawlen, const unsigned char *msg,
                        OSSL_LIB_CTX *libctx, const char *propq)
{
    unsigned char der[SIG_MAX + 16];
    size_t derlen = sizeof(der);
    EVP_PKEY_CTX *ctx;
    int ok;

    if (!hsmkey_ecdsa_raw_to_der(raw, rawlen, der, &derlen))
        return 0;
    ctx = EVP_PKEY_CTX_new_from_pkey(libctx, pub, propq);
    ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1
         && EVP_PKEY_verify(ctx, der, derlen, msg, CHALLENGE_LEN) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static int verify_eddsa(EVP_PKEY *pub, const unsigned char *sig,
                        size_t siglen, const unsigned char *msg,
                        OSSL_LIB_CTX *libctx, const char *propq)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL
             && EVP_DigestVerifyInit_ex(md, NULL, NULL, libctx, propq, pub,
                                        NULL) == 1
             && EVP_DigestVerify(md, sig, siglen, msg, CHALLENGE_LEN) == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

/* An ECDSA hash-and-sign mechanism and its digest, for a key whose
 * CKA_ALLOWED_MECHANISMS leaves out raw CKM_ECDSA. */
static const struct {
    CK_MECHANISM_TYPE mech;
    const char *digest;
} hashed_ecdsa[] = {
    { CKM_ECDSA_SHA256, "SHA256" }, { CKM_ECDSA_SHA384, "SHA384" },
    { CKM_ECDSA_SHA512, "SHA512" }, { CKM_ECDSA_SHA224, "SHA224" },
    { CKM_ECDSA_SHA1, "SHA1" },
};

/* ECDSA over the digest md names (the token hashed the message itself). */
static int verify_hashed(EVP_PKEY *pub, const char *md,
                         const unsigned char *raw, size_t rawlen,
                         const unsigned char *msg, OSSL_LIB_CTX *libctx,
                         const char *propq)
{
    unsigned char der[SIG_MAX + 16];
    size_t derlen = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && hsmkey_ecdsa_raw_to_der(raw, rawlen, der, &derlen)
             && EVP_DigestVerifyInit_ex(ctx, NULL, md, libctx, propq, pub,
                                        NULL) == 1
             && EVP_DigestVerify(ctx, der, derlen, msg, CHALLENGE_LEN) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

/* The mechanism the proof signs with: one the key allows (digest NULL:
 * the raw one).  0 when it allows none of them. */
static int proof_mechanism(const struct hsmkey_object *priv,
                           CK_MECHANISM_TYPE *mech, const char **digest)
{
    int edwards = hsmkey_object_key_type(priv) == CKK_EC_EDWARDS;

    *digest = NULL;
    *mech = edwards ? CKM_EDDSA : CKM_ECDSA;
    if (hsmkey_object_allows(priv, *mech))
        return 1;
    for (size_t i = 0; !edwards && i < sizeof(hashed_ecdsa)
                                           / sizeof(hashed_ecdsa[0]); i++) {
        if (hsmkey_object_allows(priv, hashed_ecdsa[i].mech)) {
            *mech = hashed_ecdsa[i].mech;
            *digest = hashed_ecdsa[i].digest;
            return 1;
        }
    }
    return 0;
}

/* 1 when the token signed; *verified says whether pub verifies it. */
static int by_signature(struct hsmkey_object *priv, EVP_PKEY *pub,
                        OSSL_LIB_CTX *libctx, const char *propq,
                        int *verified)
{
    int edwards = hsmkey_object_key_type(priv) == CKK_EC_EDWARDS;
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    unsigned char msg[CHALLENGE_LEN], sig[SIG_MAX];
    size_t siglen = sizeof(sig);
    const char *digest;

    if (!proof_mechanism(priv, &mech.mechanism, &digest)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: its CKA_ALLOWED_MECHANISMS "
                     "has no signature mechanism to prove its public key "
                     "with", hsmkey_object_desc(priv));
        return 0;
    }
    if (RAND_bytes(msg, sizeof(msg)) != 1) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "no random challenge");
        return 0;
    }
    if (!hsmkey_object_sign(priv, &mech, msg, sizeof(msg), sig, &siglen))
        return 0;
    hsmkey_err_set_mark();
    *verified = digest != NULL
                    ? verify_hashed(pub, digest, sig, siglen, msg, libctx,
                                    propq)
                : edwards ? verify_eddsa(pub, sig, siglen, msg, libctx, propq)
                          : verify_ecdsa(pub, sig, siglen, msg, libctx, propq);
    hsmkey_err_pop_to_mark();
    return 1;
}


/* The secret of an ephemeral key with pub, in software. */
static int sw_derive(EVP_PKEY *eph, EVP_PKEY *pub, OSSL_LIB_CTX *libctx,
                     const char *propq, unsigned char *out, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, eph, propq);
    int ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1
             && EVP_PKEY_derive_set_peer(ctx, pub) == 1
             && EVP_PKEY_derive(ctx, out, outlen) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* For a key that may derive but not sign: the token's ECDH secret with an
 * ephemeral key equals the one software computes with pub. */
static int by_ecdh(struct hsmkey_object *priv, EVP_PKEY *pub,
                   OSSL_LIB_CTX *libctx, const char *propq, int *verified)
{
    unsigned char point[SIG_MAX], tok_secret[SECRET_MAX], sw_secret[SECRET_MAX];
    size_t plen = 0, tlen = (size_t)(EVP_PKEY_get_bits(pub) + 7) / 8;
    size_t slen = sizeof(sw_secret);
    char group[64];
    EVP_PKEY *eph = NULL;
    int ok = 0;

    hsmkey_err_set_mark();
    if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), NULL))
        eph = EVP_PKEY_Q_keygen(libctx, propq, "EC", group);
    if (eph == NULL || tlen > sizeof(tok_secret)
        || !EVP_PKEY_get_octet_string_param(eph,
                                            OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                            point, sizeof(point), &plen)) {
        hsmkey_err_pop_to_mark();
        hsmkey_raise(HSMKEY_R_INTERNAL, "%s: no ephemeral EC key to prove "
                     "the public key with", hsmkey_object_desc(priv));
        goto done;
    }
    hsmkey_err_pop_to_mark();
    if (!hsmkey_object_derive(priv, point, plen, tok_secret, &tlen))
        goto done;
    hsmkey_err_set_mark();
    *verified = sw_derive(eph, pub, libctx, propq, sw_secret, &slen)
                && slen == tlen && CRYPTO_memcmp(sw_secret, tok_secret,
                                                 tlen) == 0;
    hsmkey_err_pop_to_mark();
    ok = 1;
done:
    OPENSSL_cleanse(tok_secret, sizeof(tok_secret));
    OPENSSL_cleanse(sw_secret, sizeof(sw_secret));
    EVP_PKEY_free(eph);
    return ok;
}

int hsmkey_partner_prove(struct hsmkey_object *priv, EVP_PKEY *pub,
                         const struct hsmkey_object *from,
                         OSSL_LIB_CTX *libctx, const char *propq)
{
    int verified = 0, ran, signs = hsmkey_object_flag(priv, CKA_SIGN, 0);

    if (signs) {
        ran = by_signature(priv, pub, libctx, propq, &verified);
    } else if (hsmkey_object_key_type(priv) == CKK_EC
               && hsmkey_object_flag(priv, CKA_DERIVE, 0)) {
        ran = by_ecdh(priv, pub, libctx, propq, &verified);
    } else {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s can neither sign nor derive, "
                     "so the %s beside it cannot be proven to hold its public "
                     "key", hsmkey_object_desc(priv),
                     hsmkey_object_class(from) == CKO_CERTIFICATE
                         ? "certificate" : "public key object");
        return 0;
    }
    if (!ran)
        return 0; /* the token failed: raised */
    if (!verified)
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "%s: the %s beside it does not "
                     "hold its public key (%s): replaced or foreign, refused",
                     hsmkey_object_desc(priv),
                     hsmkey_object_class(from) == CKO_CERTIFICATE
                         ? "certificate" : "public key object",
                     signs ? "the private key's signature does not verify "
                             "with it"
                           : "the private key's ECDH secret with it differs");
    return verified;
}
