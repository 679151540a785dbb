/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature_rsa.c - RSA signatures on the token: PKCS#1 v1.5 over a
 * DigestInfo built in software (CKM_RSA_PKCS), PSS over a software digest
 * (CKM_RSA_PKCS_PSS), and raw RSA (CKM_RSA_X_509) for "none" padding.
 */
#include <string.h>
#include <openssl/rsa.h>

#include "signature.h"

static OSSL_FUNC_signature_newctx_fn rsa_sig_newctx;

/* digest <-> PKCS#11 hash and MGF1 identifiers (PSS and OAEP) and the
 * hash-and-sign mechanisms of each padding: one table */
static const struct rsa_digest {
    int nid;
    CK_MECHANISM_TYPE hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
    CK_MECHANISM_TYPE pkcs1, pss; /* hash-and-sign */
} rsa_digests[] = {
    { NID_sha1, CKM_SHA_1, CKG_MGF1_SHA1, CKM_SHA1_RSA_PKCS,
      CKM_SHA1_RSA_PKCS_PSS },
    { NID_sha224, CKM_SHA224, CKG_MGF1_SHA224, CKM_SHA224_RSA_PKCS,
      CKM_SHA224_RSA_PKCS_PSS },
    { NID_sha256, CKM_SHA256, CKG_MGF1_SHA256, CKM_SHA256_RSA_PKCS,
      CKM_SHA256_RSA_PKCS_PSS },
    { NID_sha384, CKM_SHA384, CKG_MGF1_SHA384, CKM_SHA384_RSA_PKCS,
      CKM_SHA384_RSA_PKCS_PSS },
    { NID_sha512, CKM_SHA512, CKG_MGF1_SHA512, CKM_SHA512_RSA_PKCS,
      CKM_SHA512_RSA_PKCS_PSS },
};

static const struct rsa_digest *digest_row(const EVP_MD *md)
{
    int nid = md != NULL ? EVP_MD_get_type(md) : NID_undef;

    for (size_t i = 0; i < sizeof(rsa_digests) / sizeof(rsa_digests[0]); i++)
        if (rsa_digests[i].nid == nid)
            return &rsa_digests[i];
    return NULL;
}

int hkprov_rsa_hash_ids(const EVP_MD *md, CK_MECHANISM_TYPE *hash,
                   CK_RSA_PKCS_MGF_TYPE *mgf)
{
    const struct rsa_digest *d = digest_row(md);

    if (d != NULL) {
        if (hash != NULL)
            *hash = d->hash;
        if (mgf != NULL)
            *mgf = d->mgf;
        return 1;
    }
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "RSA-PSS/OAEP with digest %s is not "
                 "supported", md != NULL ? EVP_MD_get0_name(md) : "(none)");
    return 0;
}

/* OpenSSL's "auto" and "max" both mean the longest salt when signing. */
int hkprov_rsa_pss_salt(const struct hkprov_sig_ctx *ctx)
{
    int emlen = (hkprov_key_bits(ctx->key) - 1 + 7) / 8;
    int hlen = (int)hkprov_sig_md_size(ctx);

    switch (ctx->saltlen) {
    case RSA_PSS_SALTLEN_DIGEST:
        return hlen;
    case RSA_PSS_SALTLEN_MAX:
    case RSA_PSS_SALTLEN_AUTO:
        return emlen - hlen - 2;
    default:
        return ctx->saltlen;
    }
}

static int sign_pkcs1(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                      size_t *siglen, const unsigned char *tbs, size_t tbslen)
{
    CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
    unsigned char der[HKPROV_DIGEST_INFO_MAX];
    size_t derlen = sizeof(der);

    if (ctx->md == NULL) /* the caller made the DigestInfo (or wants raw) */
        return hsmkey_object_sign(ctx->key->obj, &mech, tbs, tbslen, sig,
                                  siglen);
    if (!hkprov_rsa_digest_info(EVP_MD_get_type(ctx->md), tbs, tbslen, der,
                                &derlen)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "a %zu-byte value is not a %s "
                     "digest", tbslen, EVP_MD_get0_name(ctx->md));
        return 0;
    }
    return hsmkey_object_sign(ctx->key->obj, &mech, der, derlen, sig, siglen);
}

/* CK_RSA_PKCS_PSS_PARAMS of the context, raw and hash-and-sign alike. */
static int pss_params(const struct hkprov_sig_ctx *ctx,
                      CK_RSA_PKCS_PSS_PARAMS *pss)
{
    int salt;

    if (!hkprov_rsa_hash_ids(ctx->md, &pss->hashAlg, NULL)
        || !hkprov_rsa_hash_ids(ctx->mgf1 ? ctx->mgf1 : ctx->md, NULL,
                                &pss->mgf))
        return 0;
    salt = hkprov_rsa_pss_salt(ctx);
    if (salt < 0) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "RSA-PSS salt too long for a "
                     "%d-bit key", hkprov_key_bits(ctx->key));
        return 0;
    }
    pss->sLen = (CK_ULONG)salt;
    return 1;
}

static int sign_pss(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                    size_t *siglen, const unsigned char *tbs, size_t tbslen)
{
    CK_RSA_PKCS_PSS_PARAMS pss;
    CK_MECHANISM mech = { CKM_RSA_PKCS_PSS, &pss, sizeof(pss) };

    if (ctx->md == NULL && !hkprov_sig_set_md(ctx, NULL))
        return 0;
    if (!pss_params(ctx, &pss))
        return 0;
    return hsmkey_object_sign(ctx->key->obj, &mech, tbs, tbslen, sig, siglen);
}

/* Raw RSA signs exactly a modulus-sized block, as OpenSSL's own does:
 * a token would pad a shorter one with zeros on the left. */
static int sign_raw(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                    size_t *siglen, const unsigned char *tbs, size_t tbslen)
{
    CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };
    size_t k = hkprov_key_max_sig(ctx->key);

    if (tbslen != k) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "raw RSA input of %zu bytes: "
                     "data too %s for key size (%zu bytes)", tbslen,
                     tbslen < k ? "small" : "large", k);
        return 0;
    }
    return hsmkey_object_sign(ctx->key->obj, &raw, tbs, tbslen, sig, siglen);
}

static int rsa_sign(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                    size_t *siglen, size_t sigsize, const unsigned char *tbs,
                    size_t tbslen)
{
    size_t k = hkprov_key_max_sig(ctx->key);

    if (sig == NULL) {
        *siglen = k;
        return 1;
    }
    if (sigsize < k) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "signature buffer of %zu bytes, "
                     "%zu needed", sigsize, k);
        return 0;
    }
    if (ctx->md != NULL && tbslen != hkprov_sig_md_size(ctx)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "input of %zu bytes is not a %s "
                     "digest", tbslen, EVP_MD_get0_name(ctx->md));
        return 0;
    }
    *siglen = sigsize;
    switch (ctx->pad) {
    case RSA_PKCS1_PADDING:
        return sign_pkcs1(ctx, sig, siglen, tbs, tbslen);
    case RSA_PKCS1_PSS_PADDING:
        return sign_pss(ctx, sig, siglen, tbs, tbslen);
    case RSA_NO_PADDING:
        return sign_raw(ctx, sig, siglen, tbs, tbslen);
    }
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "RSA padding mode %d", ctx->pad);
    return 0;
}

static void rsa_mechanisms(const struct hkprov_sig_ctx *ctx,
                           CK_MECHANISM_TYPE *raw, CK_MECHANISM_TYPE *hashed)
{
    const struct rsa_digest *d = digest_row(ctx->md);

    switch (ctx->pad) {
    case RSA_PKCS1_PADDING:
        *raw = CKM_RSA_PKCS;
        *hashed = d != NULL ? d->pkcs1 : 0;
        break;
    case RSA_PKCS1_PSS_PADDING:
        *raw = CKM_RSA_PKCS_PSS;
        *hashed = d != NULL ? d->pss : 0;
        break;
    case RSA_NO_PADDING:
        *raw = CKM_RSA_X_509;
        break;
    }
}

static int rsa_hashed_params(const struct hkprov_sig_ctx *ctx,
                             CK_MECHANISM *mech, CK_RSA_PKCS_PSS_PARAMS *pss)
{
    if (ctx->pad != RSA_PKCS1_PSS_PADDING)
        return 1;
    mech->pParameter = pss;
    mech->ulParameterLen = sizeof(*pss);
    return pss_params(ctx, pss);
}

static const struct hkprov_sig_family rsa_family = {
    "RSA", 1, rsa_sign, rsa_mechanisms, rsa_hashed_params, NULL
};

static void *rsa_sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return hkprov_sig_newctx(provctx, &rsa_family);
}

const OSSL_DISPATCH hkprov_rsa_signature_functions[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))rsa_sig_newctx },
    HKPROV_SIG_COMMON_FUNCTIONS,
    { 0, NULL }
};
