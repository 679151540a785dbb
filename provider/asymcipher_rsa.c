/* SPDX-License-Identifier: Apache-2.0 */
/*
 * asymcipher_rsa.c - RSA decryption with the token key: PKCS#1 v1.5
 * (CKM_RSA_PKCS), OAEP (CKM_RSA_PKCS_OAEP) and raw (CKM_RSA_X_509).
 * Encryption uses only the public half and runs in software.
 *
 * TLS 1.2's RSA key exchange (RSA_PKCS1_WITH_TLS_PADDING) never asks the
 * token to check a padding: a token answers a bad one with an error code
 * and its own timing, a Bleichenbacher oracle.  It decrypts raw and
 * rsa_tls_padding.c checks in constant time.
 *
 * Some tokens (SoftHSM2 2.6) do OAEP with SHA-1 only.  When the token
 * refuses the OAEP parameters, the block is decrypted raw (CKM_RSA_X_509)
 * and unpadded by OpenSSL's constant-time OAEP check.
 */
/* RSA_padding_check_PKCS1_OAEP_mgf1 has no EVP replacement in 3.0. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "prov.h"

static OSSL_FUNC_asym_cipher_newctx_fn rsa_cipher_newctx;
static OSSL_FUNC_asym_cipher_freectx_fn rsa_cipher_freectx;
static OSSL_FUNC_asym_cipher_dupctx_fn rsa_cipher_dupctx;
static OSSL_FUNC_asym_cipher_encrypt_init_fn rsa_cipher_encrypt_init;
static OSSL_FUNC_asym_cipher_encrypt_fn rsa_cipher_encrypt;
static OSSL_FUNC_asym_cipher_decrypt_init_fn rsa_cipher_decrypt_init;
static OSSL_FUNC_asym_cipher_decrypt_fn rsa_cipher_decrypt;
static OSSL_FUNC_asym_cipher_set_ctx_params_fn rsa_cipher_set_ctx_params;
static OSSL_FUNC_asym_cipher_settable_ctx_params_fn
    rsa_cipher_settable_ctx_params;

struct rsa_cipher_ctx {
    struct hkprov_ctx *prov;
    struct hkprov_key *key;
    EVP_PKEY_CTX *enc; /* encryption: software context on the public half */
    int pad;
    EVP_MD *oaep_md, *mgf1_md;
    unsigned char *label;
    size_t labellen;
    unsigned int tls_client_version, tls_alt_version;
};

static void *rsa_cipher_newctx(void *provctx)
{
    struct rsa_cipher_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL) {
        ctx->prov = provctx;
        ctx->pad = RSA_PKCS1_PADDING;
    }
    return ctx;
}

static void rsa_cipher_freectx(void *vctx)
{
    struct rsa_cipher_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    hkprov_key_free(ctx->key);
    EVP_PKEY_CTX_free(ctx->enc);
    EVP_MD_free(ctx->oaep_md);
    EVP_MD_free(ctx->mgf1_md);
    OPENSSL_free(ctx->label);
    OPENSSL_free(ctx);
}

static void *rsa_cipher_dupctx(void *vctx)
{
    struct rsa_cipher_ctx *src = vctx, *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL)
        return NULL;
    hkprov_key_ref(dst->key);
    if (dst->oaep_md != NULL)
        EVP_MD_up_ref(dst->oaep_md);
    if (dst->mgf1_md != NULL)
        EVP_MD_up_ref(dst->mgf1_md);
    dst->enc = src->enc != NULL ? EVP_PKEY_CTX_dup(src->enc) : NULL;
    dst->label = src->label ? OPENSSL_memdup(src->label, src->labellen) : NULL;
    if ((src->enc != NULL && dst->enc == NULL)
        || (src->label != NULL && dst->label == NULL)) {
        rsa_cipher_freectx(dst);
        return NULL;
    }
    return dst;
}

/* A NULL key re-initializes the context with the key it already has. */
static int set_key(struct rsa_cipher_ctx *ctx, struct hkprov_key *key)
{
    if (key == NULL)
        key = ctx->key;
    if (key == NULL || key->pub == NULL)
        return 0;
    if (key != ctx->key) {
        hkprov_key_free(ctx->key);
        ctx->key = hkprov_key_ref(key);
    }
    EVP_PKEY_CTX_free(ctx->enc);
    ctx->enc = NULL;
    return 1;
}

static int rsa_cipher_encrypt_init(void *vctx, void *provkey,
                                   const OSSL_PARAM params[])
{
    struct rsa_cipher_ctx *ctx = vctx;

    if (!set_key(ctx, provkey))
        return 0;
    ctx->enc = EVP_PKEY_CTX_new_from_pkey(ctx->prov->libctx, ctx->key->pub,
                                          HKPROV_SOFTWARE_PROPQ);
    return ctx->enc != NULL && EVP_PKEY_encrypt_init(ctx->enc) > 0
           && rsa_cipher_set_ctx_params(ctx, params);
}

static int rsa_cipher_encrypt(void *vctx, unsigned char *out, size_t *outlen,
                              size_t outsize, const unsigned char *in,
                              size_t inlen)
{
    struct rsa_cipher_ctx *ctx = vctx;

    *outlen = outsize;
    return ctx->enc != NULL
           && EVP_PKEY_encrypt(ctx->enc, out, outlen, in, inlen) > 0;
}

static int rsa_cipher_decrypt_init(void *vctx, void *provkey,
                                   const OSSL_PARAM params[])
{
    struct rsa_cipher_ctx *ctx = vctx;

    if (!set_key(ctx, provkey) || ctx->key->obj == NULL)
        return 0;
    return rsa_cipher_set_ctx_params(ctx, params);
}

static int mechanism(struct rsa_cipher_ctx *ctx, CK_MECHANISM *mech,
                     CK_RSA_PKCS_OAEP_PARAMS *oaep)
{
    const EVP_MD *md;

    switch (ctx->pad) {
    case RSA_PKCS1_PADDING:
        *mech = (CK_MECHANISM){ CKM_RSA_PKCS, NULL, 0 };
        return 1;
    case RSA_NO_PADDING:
    case RSA_PKCS1_WITH_TLS_PADDING: /* raw, checked here: see the header */
        *mech = (CK_MECHANISM){ CKM_RSA_X_509, NULL, 0 };
        return 1;
    case RSA_PKCS1_OAEP_PADDING:
        if (ctx->oaep_md == NULL
            && (ctx->oaep_md = hkprov_digest_fetch(ctx->prov, "SHA1"))
                   == NULL)
            return 0;
        md = ctx->mgf1_md != NULL ? ctx->mgf1_md : ctx->oaep_md;
        if (!hkprov_rsa_hash_ids(ctx->oaep_md, &oaep->hashAlg, NULL)
            || !hkprov_rsa_hash_ids(md, NULL, &oaep->mgf))
            return 0;
        oaep->source = CKZ_DATA_SPECIFIED;
        oaep->pSourceData = ctx->label;
        oaep->ulSourceDataLen = ctx->labellen;
        *mech = (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, oaep, sizeof(*oaep) };
        return 1;
    }
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "RSA decryption with padding mode %d "
                 "is not offered by hsmkey", ctx->pad);
    return 0;
}

static int oaep_in_software(struct rsa_cipher_ctx *ctx, const unsigned char *in,
                            size_t inlen, unsigned char *buf, size_t *len)
{
    CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };
    size_t k = *len;
    unsigned char *em = OPENSSL_zalloc(k);
    int n = -1;

    if (em == NULL)
        return 0;
    if (hsmkey_object_decrypt(ctx->key->obj, &raw, in, inlen, em, len)
        && *len == k)
        n = RSA_padding_check_PKCS1_OAEP_mgf1(
            buf, (int)k, em + 1, (int)k - 1, (int)k, ctx->label,
            (int)ctx->labellen, ctx->oaep_md,
            ctx->mgf1_md ? ctx->mgf1_md : ctx->oaep_md);
    OPENSSL_clear_free(em, k);
    if (n < 0) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "RSA-OAEP decryption failed");
        return 0;
    }
    *len = (size_t)n;
    return 1;
}

/* Raw decryption, then the constant-time TLS check; 48 bytes whatever. */
static int tls_decrypt(struct rsa_cipher_ctx *ctx, CK_MECHANISM *raw,
                       const unsigned char *in, size_t inlen,
                       unsigned char *buf, size_t *len)
{
    size_t k = *len;
    unsigned char *em = OPENSSL_zalloc(k);
    int ok = 0;

    if (em == NULL || ctx->tls_client_version == 0)
        goto done;
    /* A token error on a well-formed length is not about the padding. */
    if (hsmkey_object_decrypt(ctx->key->obj, raw, in, inlen, em, len)
        && *len == k
        && hkprov_rsa_tls_unpad(em, k, ctx->tls_client_version,
                                ctx->tls_alt_version, buf)) {
        *len = 48;
        ok = 1;
    }
done:
    OPENSSL_clear_free(em, k);
    return ok;
}

/* The token's own OAEP first; its refusal of the parameters is not final. */
static int token_decrypt(struct rsa_cipher_ctx *ctx, const unsigned char *in,
                         size_t inlen, unsigned char *buf, size_t *len)
{
    CK_RSA_PKCS_OAEP_PARAMS oaep;
    CK_MECHANISM mech;
    size_t k = *len;
    int ok;

    if (!mechanism(ctx, &mech, &oaep))
        return 0;
    if (ctx->pad == RSA_PKCS1_WITH_TLS_PADDING)
        return tls_decrypt(ctx, &mech, in, inlen, buf, len);
    if (ctx->pad != RSA_PKCS1_OAEP_PADDING)
        return hsmkey_object_decrypt(ctx->key->obj, &mech, in, inlen, buf, len);
    hsmkey_err_set_mark();
    ok = hsmkey_object_decrypt(ctx->key->obj, &mech, in, inlen, buf, len);
    if (ok || oaep.hashAlg == CKM_SHA_1) {
        hsmkey_err_clear_last_mark();
        return ok;
    }
    hsmkey_err_pop_to_mark();
    *len = k;
    return oaep_in_software(ctx, in, inlen, buf, len);
}

static int rsa_cipher_decrypt(void *vctx, unsigned char *out, size_t *outlen,
                              size_t outsize, const unsigned char *in,
                              size_t inlen)
{
    struct rsa_cipher_ctx *ctx = vctx;
    size_t k = hkprov_key_max_sig(ctx->key), len = k;
    unsigned char *buf;
    int ok = 0;

    if (out == NULL) {
        *outlen = k;
        return 1;
    }
    /* Into a full-size buffer: tokens refuse a short one even when the
     * plaintext would fit. */
    if ((buf = OPENSSL_zalloc(k)) == NULL)
        return 0;
    if (token_decrypt(ctx, in, inlen, buf, &len)) {
        if (len > outsize) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "output buffer of %zu "
                         "bytes, %zu needed", outsize, len);
        } else {
            memcpy(out, buf, len);
            *outlen = len;
            ok = 1;
        }
    }
    OPENSSL_clear_free(buf, k);
    return ok;
}

static int fetch_md(struct rsa_cipher_ctx *ctx, const OSSL_PARAM *p,
                    EVP_MD **dst)
{
    const char *name = NULL;
    EVP_MD *md;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name))
        return 0;
    md = hkprov_digest_fetch(ctx->prov, name);
    if (md == NULL)
        return 0;
    EVP_MD_free(*dst);
    *dst = md;
    return 1;
}

static int get_pad(const OSSL_PARAM *p, int *pad)
{
    static const struct { const char *name; int value; } modes[] = {
        { OSSL_PKEY_RSA_PAD_MODE_PKCSV15, RSA_PKCS1_PADDING },
        { OSSL_PKEY_RSA_PAD_MODE_OAEP, RSA_PKCS1_OAEP_PADDING },
        { OSSL_PKEY_RSA_PAD_MODE_NONE, RSA_NO_PADDING },
    };

    if (p->data_type == OSSL_PARAM_INTEGER)
        return OSSL_PARAM_get_int(p, pad);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING
            && strcmp(p->data, modes[i].name) == 0) {
            *pad = modes[i].value;
            return 1;
        }
    }
    return 0;
}

static int rsa_cipher_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    struct rsa_cipher_ctx *ctx = vctx;
    const OSSL_PARAM *p;
    void *label = NULL;

    if (params == NULL)
        return 1;
    if (ctx->enc != NULL) /* encrypting: the software context decides */
        return EVP_PKEY_CTX_set_params(ctx->enc, params);
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    if (p != NULL && !get_pad(p, &ctx->pad))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
    if (p != NULL && !fetch_md(ctx, p, &ctx->oaep_md))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
    if (p != NULL && !fetch_md(ctx, p, &ctx->mgf1_md))
        return 0;
    p = OSSL_PARAM_locate_const(params,
                                OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &ctx->tls_client_version))
        return 0;
    p = OSSL_PARAM_locate_const(params,
                                OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &ctx->tls_alt_version))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
    if (p != NULL) {
        if (!OSSL_PARAM_get_octet_string(p, &label, 0, &ctx->labellen))
            return 0;
        OPENSSL_free(ctx->label);
        ctx->label = label;
    }
    return 1;
}

static const OSSL_PARAM *rsa_cipher_settable_ctx_params(void *vctx,
                                                        void *provctx)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
        OSSL_PARAM_END
    };

    (void)vctx;
    (void)provctx;
    return table;
}

const OSSL_DISPATCH hkprov_rsa_asym_cipher_functions[] = {
    { OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))rsa_cipher_newctx },
    { OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))rsa_cipher_freectx },
    { OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))rsa_cipher_dupctx },
    { OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT,
      (void (*)(void))rsa_cipher_encrypt_init },
    { OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))rsa_cipher_encrypt },
    { OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT,
      (void (*)(void))rsa_cipher_decrypt_init },
    { OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))rsa_cipher_decrypt },
    { OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS,
      (void (*)(void))rsa_cipher_set_ctx_params },
    { OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS,
      (void (*)(void))rsa_cipher_settable_ctx_params },
    { 0, NULL }
};
