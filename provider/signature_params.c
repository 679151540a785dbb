/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature_params.c - the parameters of a signature context.
 *
 * While verifying, every parameter goes straight to the software context.
 * While signing they are kept here, and the AlgorithmIdentifier that
 * certificate and CSR signing ask for is produced by a software context
 * set up the same way, so no DER is written by hand.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "signature.h"

static const struct {
    const char *name;
    int value;
} pad_modes[] = {
    { OSSL_PKEY_RSA_PAD_MODE_PKCSV15, RSA_PKCS1_PADDING },
    { OSSL_PKEY_RSA_PAD_MODE_PSS, RSA_PKCS1_PSS_PADDING },
    { OSSL_PKEY_RSA_PAD_MODE_NONE, RSA_NO_PADDING },
};

static const struct {
    const char *name;
    int value;
} salt_words[] = {
    { OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST, RSA_PSS_SALTLEN_DIGEST },
    { OSSL_PKEY_RSA_PSS_SALT_LEN_MAX, RSA_PSS_SALTLEN_MAX },
    { OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO, RSA_PSS_SALTLEN_AUTO },
};

static int get_pad(const OSSL_PARAM *p, int *out)
{
    if (p->data_type == OSSL_PARAM_INTEGER)
        return OSSL_PARAM_get_int(p, out);
    for (size_t i = 0; i < sizeof(pad_modes) / sizeof(pad_modes[0]); i++) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING
            && strcmp(p->data, pad_modes[i].name) == 0) {
            *out = pad_modes[i].value;
            return 1;
        }
    }
    return 0;
}

static int get_salt(const OSSL_PARAM *p, int *out)
{
    if (p->data_type == OSSL_PARAM_INTEGER)
        return OSSL_PARAM_get_int(p, out);
    if (p->data_type != OSSL_PARAM_UTF8_STRING)
        return 0;
    for (size_t i = 0; i < sizeof(salt_words) / sizeof(salt_words[0]); i++) {
        if (strcmp(p->data, salt_words[i].name) == 0) {
            *out = salt_words[i].value;
            return 1;
        }
    }
    *out = atoi(p->data);
    return *out >= 0 && strspn(p->data, "0123456789") == strlen(p->data);
}

static int set_mgf1(struct hkprov_sig_ctx *ctx, const OSSL_PARAM *p)
{
    const char *name = NULL;
    EVP_MD *md;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name))
        return 0;
    md = hkprov_digest_fetch(ctx->prov, name);
    if (md == NULL) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "MGF1 digest %s is not available",
                     name);
        return 0;
    }
    EVP_MD_free(ctx->mgf1);
    ctx->mgf1 = md;
    return 1;
}

static int set_signing_params(struct hkprov_sig_ctx *ctx,
                              const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;
    const char *name = NULL;
    int pad = 0;

    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL) {
        if (ctx->mdctx != NULL || !OSSL_PARAM_get_utf8_string_ptr(p, &name)
            || !hkprov_sig_set_md(ctx, name))
            return 0;
    }
    if (!ctx->family->rsa)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && !get_pad(p, &pad)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "RSA padding mode not supported");
        return 0;
    }
    if (p != NULL && pad != RSA_PKCS1_PSS_PADDING
        && ctx->key->rsa_pss) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: an RSA-PSS key signs with "
                     "PSS padding only", hsmkey_object_desc(ctx->key->obj));
        return 0;
    }
    if (p != NULL)
        ctx->pad = pad;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && !get_salt(p, &ctx->saltlen)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "bad PSS salt length");
        return 0;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    return p == NULL || set_mgf1(ctx, p);
}

int hkprov_sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (params == NULL || params[0].key == NULL)
        return 1;
    if (!ctx->signing)
        return ctx->vctx != NULL && EVP_PKEY_CTX_set_params(ctx->vctx, params);
    if (!set_signing_params(ctx, params))
        return 0;
    hkprov_sig_plan(ctx); /* a new digest or padding may change the way */
    return 1;
}

/* A software digest-verify context configured like ours answers
 * algorithm-id (RSA, RSA-PSS, ECDSA, EdDSA alike). */
static int algorithm_id(struct hkprov_sig_ctx *ctx, OSSL_PARAM *p)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    OSSL_PARAM set[4], *s = set, get[2];
    int salt = 0, ok = 0;

    if (mctx == NULL || ctx->key == NULL)
        goto done;
    if (ctx->family->rsa) {
        *s++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE,
                                        &ctx->pad);
        if (ctx->pad == RSA_PKCS1_PSS_PADDING) {
            salt = hkprov_rsa_pss_salt(ctx);
            *s++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN,
                                            &salt);
            if (ctx->mgf1 != NULL)
                *s++ = OSSL_PARAM_construct_utf8_string(
                    OSSL_SIGNATURE_PARAM_MGF1_DIGEST,
                    (char *)EVP_MD_get0_name(ctx->mgf1), 0);
        }
    }
    *s = OSSL_PARAM_construct_end();
    get[0] = *p;
    get[1] = OSSL_PARAM_construct_end();
    if (salt >= 0
        && EVP_DigestVerifyInit_ex(mctx, &pc,
                                   ctx->md ? EVP_MD_get0_name(ctx->md) : NULL,
                                   ctx->prov->libctx, HKPROV_SOFTWARE_PROPQ,
                                   ctx->key->pub, set) > 0
        && EVP_PKEY_CTX_get_params(pc, get)) {
        p->return_size = get[0].return_size;
        ok = 1;
    }
done:
    EVP_MD_CTX_free(mctx);
    return ok;
}

static int get_signing_params(struct hkprov_sig_ctx *ctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL && !algorithm_id(ctx, p))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && ctx->md != NULL
        && !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(ctx->md)))
        return 0;
    if (!ctx->family->rsa)
        return 1;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL && p->data_type == OSSL_PARAM_INTEGER
        && !OSSL_PARAM_set_int(p, ctx->pad))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL && p->data_type == OSSL_PARAM_INTEGER
        && !OSSL_PARAM_set_int(p, ctx->saltlen))
        return 0;
    return 1;
}

int hkprov_sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    struct hkprov_sig_ctx *ctx = vctx;

    if (!ctx->signing)
        return ctx->vctx != NULL && EVP_PKEY_CTX_get_params(ctx->vctx, params);
    return get_signing_params(ctx, params);
}

const OSSL_PARAM *hkprov_sig_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL),
        OSSL_PARAM_END
    };

    (void)vctx;
    (void)provctx;
    return table;
}

const OSSL_PARAM *hkprov_sig_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_END
    };

    (void)vctx;
    (void)provctx;
    return table;
}
