/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature_eddsa.c - Ed25519 and Ed448 on the token (CKM_EDDSA).  EdDSA
 * hashes inside the algorithm, so only the one-shot digest-sign calls exist
 * and the whole message goes to the token.
 */
#include <string.h>

#include "signature.h"

static OSSL_FUNC_signature_newctx_fn ed25519_sig_newctx;
static OSSL_FUNC_signature_newctx_fn ed448_sig_newctx;
static OSSL_FUNC_signature_digest_sign_init_fn eddsa_digest_sign_init;
static OSSL_FUNC_signature_digest_sign_fn eddsa_digest_sign;
static OSSL_FUNC_signature_digest_verify_init_fn eddsa_digest_verify_init;
static OSSL_FUNC_signature_digest_verify_fn eddsa_digest_verify;

/* CK_EDDSA_PARAMS of PKCS#11 3.0, which p11-kit's header lacks. */
struct eddsa_params {
    CK_BBOOL phFlag;
    CK_ULONG ulContextDataLen;
    CK_BYTE *pContextData;
};

static const struct hkprov_sig_family ed448_family;

/*
 * PKCS#11 3.0: CKM_EDDSA without a parameter is Ed25519; Ed448 always
 * takes CK_EDDSA_PARAMS (pure Ed448: no prehash, empty context).
 */
static int eddsa_sign(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                      size_t *siglen, size_t sigsize, const unsigned char *tbs,
                      size_t tbslen)
{
    struct eddsa_params pure = { CK_FALSE, 0, NULL };
    CK_MECHANISM mech = { CKM_EDDSA, NULL, 0 };
    size_t need = hkprov_key_max_sig(ctx->key);

    if (ctx->family == &ed448_family) {
        mech.pParameter = &pure;
        mech.ulParameterLen = sizeof(pure);
    }

    if (sig == NULL) {
        *siglen = need;
        return 1;
    }
    if (sigsize < need) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "signature buffer of %zu bytes, "
                     "%zu needed", sigsize, need);
        return 0;
    }
    *siglen = sigsize;
    return hsmkey_object_sign(ctx->key->obj, &mech, tbs, tbslen, sig, siglen);
}

static const struct hkprov_sig_family ed25519_family = {
    "Ed25519", 0, eddsa_sign, NULL, NULL, NULL
};
static const struct hkprov_sig_family ed448_family = {
    "Ed448", 0, eddsa_sign, NULL, NULL, NULL
};

static void *ed25519_sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return hkprov_sig_newctx(provctx, &ed25519_family);
}

static void *ed448_sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return hkprov_sig_newctx(provctx, &ed448_family);
}

static int no_digest(struct hkprov_sig_ctx *ctx, const char *mdname)
{
    if (mdname == NULL || *mdname == '\0')
        return 1;
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s hashes the message itself: no "
                 "digest (%s) may be set", ctx->family->name, mdname);
    return 0;
}

static int eddsa_digest_sign_init(void *vctx, const char *mdname,
                                  void *provkey, const OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    (void)params;
    return no_digest(ctx, mdname) && hkprov_sig_set_key(ctx, provkey, 1);
}

static int eddsa_digest_sign(void *vctx, unsigned char *sig, size_t *siglen,
                             size_t sigsize, const unsigned char *tbs,
                             size_t tbslen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    return ctx->family->sign(ctx, sig, siglen, sigsize, tbs, tbslen);
}

static int eddsa_digest_verify_init(void *vctx, const char *mdname,
                                    void *provkey, const OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    (void)params;
    if (!no_digest(ctx, mdname) || !hkprov_sig_set_key(ctx, provkey, 0)
        || (ctx->vmd = EVP_MD_CTX_new()) == NULL)
        return 0;
    return EVP_DigestVerifyInit_ex(ctx->vmd, &ctx->vctx, NULL,
                                   ctx->prov->libctx, HKPROV_SOFTWARE_PROPQ,
                                   ctx->key->pub, NULL) > 0;
}

static int eddsa_digest_verify(void *vctx, const unsigned char *sig,
                               size_t siglen, const unsigned char *tbs,
                               size_t tbslen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    return ctx->vmd != NULL
           && EVP_DigestVerify(ctx->vmd, sig, siglen, tbs, tbslen) > 0;
}

#define EDDSA_FUNCTIONS(alg)                                                  \
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))alg##_sig_newctx },         \
    { OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))hkprov_sig_freectx },      \
    { OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))hkprov_sig_dupctx },        \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,                                   \
      (void (*)(void))eddsa_digest_sign_init },                               \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))eddsa_digest_sign },   \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT,                                 \
      (void (*)(void))eddsa_digest_verify_init },                             \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY,                                      \
      (void (*)(void))eddsa_digest_verify },                                  \
    { OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS,                                     \
      (void (*)(void))hkprov_sig_get_ctx_params },                            \
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS,                                \
      (void (*)(void))hkprov_sig_gettable_ctx_params },                       \
    { 0, NULL }

const OSSL_DISPATCH hkprov_ed25519_signature_functions[] = {
    EDDSA_FUNCTIONS(ed25519)
};

const OSSL_DISPATCH hkprov_ed448_signature_functions[] = {
    EDDSA_FUNCTIONS(ed448)
};
