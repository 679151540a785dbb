/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature.c - the signature context: lifecycle, digests, and software
 * verification.  Parameters are in signature_params.c; the token
 * mechanisms in signature_rsa.c and signature_ec.c.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "signature.h"

void *hkprov_sig_newctx(void *provctx, const struct hkprov_sig_family *fam)
{
    struct hkprov_sig_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->prov = provctx;
    ctx->family = fam;
    ctx->pad = RSA_PKCS1_PADDING;
    ctx->saltlen = RSA_PSS_SALTLEN_AUTO;
    return ctx;
}

static void reset(struct hkprov_sig_ctx *ctx)
{
    hkprov_sig_hashed_drop(ctx);
    ctx->digest_sign = 0;
    EVP_MD_CTX_free(ctx->mdctx);
    if (ctx->vmd != NULL)
        EVP_MD_CTX_free(ctx->vmd); /* owns vctx */
    else
        EVP_PKEY_CTX_free(ctx->vctx);
    ctx->mdctx = NULL;
    ctx->md_spent = 0;
    ctx->vmd = NULL;
    ctx->vctx = NULL;
}

void hkprov_sig_freectx(void *vctx)
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    reset(ctx);
    EVP_MD_free(ctx->md);
    EVP_MD_free(ctx->mgf1);
    hkprov_key_free(ctx->key);
    OPENSSL_free(ctx);
}

/* EVP_DigestSignFinal signs on a copy so the caller may go on hashing. */
void *hkprov_sig_dupctx(void *vctx)
{
    struct hkprov_sig_ctx *src = vctx, *dst;

    if ((dst = OPENSSL_memdup(src, sizeof(*src))) == NULL)
        return NULL;
    dst->mdctx = NULL;
    dst->vmd = NULL;
    dst->vctx = NULL;
    /* A token operation in flight cannot be copied: it goes with the copy,
     * the one EVP_DigestSignFinal signs with (signature_hashed.c). */
    if (src->stream != NULL) {
        src->stream = NULL;
        src->stream_moved = 1;
    }
    hkprov_key_ref(dst->key);
    if (dst->md != NULL)
        EVP_MD_up_ref(dst->md);
    if (dst->mgf1 != NULL)
        EVP_MD_up_ref(dst->mgf1);
    if (src->mdctx != NULL
        && ((dst->mdctx = EVP_MD_CTX_new()) == NULL
            || !EVP_MD_CTX_copy_ex(dst->mdctx, src->mdctx)))
        goto err;
    if (src->vmd != NULL) {
        if ((dst->vmd = EVP_MD_CTX_new()) == NULL
            || !EVP_MD_CTX_copy_ex(dst->vmd, src->vmd))
            goto err;
        dst->vctx = EVP_MD_CTX_get_pkey_ctx(dst->vmd);
    } else if (src->vctx != NULL
               && (dst->vctx = EVP_PKEY_CTX_dup(src->vctx)) == NULL) {
        goto err;
    }
    return dst;
err:
    hkprov_sig_freectx(dst);
    return NULL;
}

size_t hkprov_sig_md_size(const struct hkprov_sig_ctx *ctx)
{
    return ctx->md != NULL ? (size_t)EVP_MD_get_size(ctx->md) : 0;
}

/* A NULL key re-initializes the context with the key it already has. */
int hkprov_sig_set_key(struct hkprov_sig_ctx *ctx, void *provkey, int signing)
{
    struct hkprov_key *key = provkey != NULL ? provkey : ctx->key;

    if (key == NULL || key->pub == NULL || (signing && key->obj == NULL)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: no usable key",
                     ctx->family->name);
        return 0;
    }
    reset(ctx);
    if (key != ctx->key) {
        hkprov_key_free(ctx->key);
        ctx->key = hkprov_key_ref(key);
    }
    ctx->signing = signing;
    /* As OpenSSL's own RSA-PSS keys: PSS unless told otherwise. */
    if (ctx->family->rsa && key->rsa_pss)
        ctx->pad = RSA_PKCS1_PSS_PADDING;
    return 1;
}

int hkprov_sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    if (!hkprov_sig_set_key(vctx, provkey, 1)
        || !hkprov_sig_set_ctx_params(vctx, params))
        return 0;
    hkprov_sig_plan(vctx);
    return 1;
}

int hkprov_sig_sign(void *vctx, unsigned char *sig, size_t *siglen,
                    size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (sig != NULL && !hkprov_sig_allowed(ctx))
        return 0;
    return ctx->family->sign(ctx, sig, siglen, sigsize, tbs, tbslen);
}

int hkprov_sig_set_md(struct hkprov_sig_ctx *ctx, const char *mdname)
{
    char dflt[64];
    EVP_MD *md;

    if (mdname == NULL || *mdname == '\0') {
        if (EVP_PKEY_get_default_digest_name(ctx->key->pub, dflt,
                                             sizeof(dflt)) <= 0)
            return 0;
        mdname = dflt;
    }
    md = hkprov_digest_fetch(ctx->prov, mdname);
    if (md == NULL) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "digest %s is not available",
                     mdname);
        return 0;
    }
    EVP_MD_free(ctx->md);
    ctx->md = md;
    return 1;
}

int hkprov_sig_digest_sign_init(void *vctx, const char *mdname,
                                void *provkey, const OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (!hkprov_sig_set_key(ctx, provkey, 1))
        return 0;
    ctx->digest_sign = 1;
    if (!hkprov_sig_set_md(ctx, mdname)
        || !hkprov_sig_set_ctx_params(ctx, params))
        return 0;
    hkprov_sig_plan(ctx);
    /* Made even for a hash-and-sign key: a parameter set later (padding)
     * may bring the raw mechanism back. */
    ctx->mdctx = EVP_MD_CTX_new();
    return ctx->mdctx != NULL && EVP_DigestInit_ex2(ctx->mdctx, ctx->md, NULL);
}

/* The hash, started over if a one-shot signature finalized it: only a
 * context that signs again pays for that, not every signature. */
static int hash_ready(struct hkprov_sig_ctx *ctx)
{
    if (ctx->mdctx == NULL)
        return 0;
    if (ctx->md_spent && !EVP_DigestInit_ex2(ctx->mdctx, NULL, NULL))
        return 0;
    ctx->md_spent = 0;
    return 1;
}

int hkprov_sig_digest_sign_update(void *vctx, const unsigned char *data,
                                  size_t datalen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (ctx->hashed != 0)
        return hkprov_sig_hashed_update(ctx, data, datalen);
    return hash_ready(ctx) && EVP_DigestUpdate(ctx->mdctx, data, datalen);
}

int hkprov_sig_digest_sign_final(void *vctx, unsigned char *sig,
                                 size_t *siglen, size_t sigsize)
{
    struct hkprov_sig_ctx *ctx = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int ok;

    if (ctx->mdctx == NULL)
        return 0;
    if (sig == NULL) /* size query: the hash must stay open */
        return ctx->family->sign(ctx, NULL, siglen, 0, NULL, 0);
    if (ctx->hashed != 0)
        return hkprov_sig_hashed_final(ctx, sig, siglen, sigsize);
    if (!hkprov_sig_allowed(ctx) || !hash_ready(ctx))
        return 0;
    if (!EVP_DigestFinal_ex(ctx->mdctx, dgst, &dlen))
        return 0;
    ok = ctx->family->sign(ctx, sig, siglen, sigsize, dgst, dlen);
    OPENSSL_cleanse(dgst, sizeof(dgst));
    return ok;
}

/*
 * EVP_DigestSign prefers a provider's one-shot and otherwise signs through
 * EVP_DigestSignFinal, which in OpenSSL 3.0 first duplicates the whole
 * context (our dupctx, a hash copy and a PKEY_CTX) on every signature: TLS
 * and most applications sign this way.  The context can sign again, as it
 * could before: hash_ready() starts the spent hash over when it does.
 */
int hkprov_sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen,
                           size_t sigsize, const unsigned char *tbs,
                           size_t tbslen)
{
    struct hkprov_sig_ctx *ctx = vctx;
    int ok;

    if (ctx->mdctx == NULL)
        return 0;
    if (sig == NULL)
        return hkprov_sig_digest_sign_final(ctx, NULL, siglen, 0);
    if (ctx->hashed != 0) /* the message whole: C_Sign, no stream */
        return hkprov_sig_hashed_oneshot(ctx, sig, siglen, sigsize, tbs,
                                         tbslen);
    ok = hkprov_sig_digest_sign_update(ctx, tbs, tbslen)
         && hkprov_sig_digest_sign_final(ctx, sig, siglen, sigsize);
    ctx->md_spent = 1;
    return ok;
}

/* Verification never touches the token: it runs on the public half. */
int hkprov_sig_verify_init(void *vctx, void *provkey,
                           const OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (!hkprov_sig_set_key(ctx, provkey, 0))
        return 0;
    ctx->vctx = EVP_PKEY_CTX_new_from_pkey(ctx->prov->libctx, ctx->key->pub,
                                           HKPROV_SOFTWARE_PROPQ);
    return ctx->vctx != NULL && EVP_PKEY_verify_init(ctx->vctx) > 0
           && hkprov_sig_set_ctx_params(ctx, params);
}

int hkprov_sig_verify(void *vctx, const unsigned char *sig, size_t siglen,
                      const unsigned char *tbs, size_t tbslen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    return ctx->vctx != NULL
           && EVP_PKEY_verify(ctx->vctx, sig, siglen, tbs, tbslen) > 0;
}

int hkprov_sig_digest_verify_init(void *vctx, const char *mdname,
                                  void *provkey, const OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (!hkprov_sig_set_key(ctx, provkey, 0) || (ctx->vmd = EVP_MD_CTX_new()) == NULL)
        return 0;
    if (EVP_DigestVerifyInit_ex(ctx->vmd, &ctx->vctx, mdname,
                                ctx->prov->libctx, HKPROV_SOFTWARE_PROPQ,
                                ctx->key->pub, NULL) <= 0)
        return 0;
    return hkprov_sig_set_ctx_params(ctx, params);
}

int hkprov_sig_digest_verify_update(void *vctx, const unsigned char *data,
                                    size_t datalen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    return ctx->vmd != NULL && EVP_DigestVerifyUpdate(ctx->vmd, data, datalen);
}

int hkprov_sig_digest_verify_final(void *vctx, const unsigned char *sig,
                                   size_t siglen)
{
    struct hkprov_sig_ctx *ctx = vctx;

    return ctx->vmd != NULL
           && EVP_DigestVerifyFinal(ctx->vmd, sig, siglen) > 0;
}
