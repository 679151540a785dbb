/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature.h - the signature context shared by the RSA and ECDSA families.
 *
 * signature.c owns the context, digests (always computed in software),
 * parameters and verification (in software, on the public half); a family
 * file supplies only how a digest becomes a token mechanism and back.
 */
#ifndef HKPROV_SIGNATURE_H
#define HKPROV_SIGNATURE_H

#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "prov.h"

struct hkprov_sig_ctx;

struct hkprov_sig_family {
    const char *name; /* for messages */
    int rsa;          /* accepts padding / PSS parameters */
    /* Sign a finished digest (or raw input when no digest is set). */
    int (*sign)(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                size_t *siglen, size_t sigsize, const unsigned char *tbs,
                size_t tbslen);
    /*
     * The token mechanisms for the context's settings: *raw signs a digest
     * made in software (what sign does); *hashed (0: none) takes the whole
     * message and hashes it on the token.  NULL: the family has only one
     * way (EdDSA).
     */
    void (*mechanisms)(const struct hkprov_sig_ctx *ctx,
                       CK_MECHANISM_TYPE *raw, CK_MECHANISM_TYPE *hashed);
    /* The parameters of the hash-and-sign mechanism ctx->hashed, in *pss
     * when it has some (RSA-PSS); NULL: it has none. */
    int (*hashed_params)(const struct hkprov_sig_ctx *ctx, CK_MECHANISM *mech,
                         CK_RSA_PKCS_PSS_PARAMS *pss);
    /* The token's signature as OpenSSL writes it (ECDSA: r||s to DER);
     * NULL: as the token gives it. */
    int (*encode)(const unsigned char *raw, size_t rawlen, unsigned char *sig,
                  size_t *siglen);
};

/* The largest token signature a family re-encodes (ECDSA P-521: r||s). */
#define HKPROV_SIG_ENCODED_MAX (2 * 66)

struct hkprov_sig_ctx {
    struct hkprov_ctx *prov;
    const struct hkprov_sig_family *family;
    struct hkprov_key *key;
    int signing;          /* 1: sign on the token; 0: verify in software */
    EVP_MD *md;           /* NULL: none set */
    EVP_MD_CTX *mdctx;    /* digest-sign: the running hash */
    int md_spent;         /* mdctx was finalized by a one-shot signature */
    int pad;              /* RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING, ... */
    int saltlen;          /* RSA_PSS_SALTLEN_* or a length */
    EVP_MD *mgf1;         /* NULL: same as md */
    EVP_PKEY_CTX *vctx;   /* verification: owned unless vmd is set */
    EVP_MD_CTX *vmd;      /* digest-verify: owns vctx */

    /* How the token signs, chosen once per key, digest and padding
     * (signature_hashed.c): the raw mechanism over a software digest while
     * the key allows it, else the hash-and-sign one. */
    int digest_sign;      /* initialized for whole messages (digest-sign) */
    CK_MECHANISM_TYPE raw;    /* the raw mechanism of these settings */
    CK_MECHANISM_TYPE hashed; /* 0: raw; else the hash-and-sign mechanism */
    int refused;          /* the key allows neither: say so when signing */
    struct hsmkey_sign_stream *stream; /* hashed digest-sign in flight */
    int stream_moved;     /* a copy of this context took the stream */
};

void *hkprov_sig_newctx(void *provctx, const struct hkprov_sig_family *fam);
size_t hkprov_sig_md_size(const struct hkprov_sig_ctx *ctx);
/* Take (or, for NULL, keep) the key; signing needs its token half. */
int hkprov_sig_set_key(struct hkprov_sig_ctx *ctx, void *provkey, int signing);
/* Fetch the digest (NULL or "": the key's default) for signing. */
int hkprov_sig_set_md(struct hkprov_sig_ctx *ctx, const char *mdname);
/* signature_rsa.c: the PSS salt length signing will really use. */
int hkprov_rsa_pss_salt(const struct hkprov_sig_ctx *ctx);

/* signature_hashed.c: raw or hash-and-sign, for the current settings. */
void hkprov_sig_plan(struct hkprov_sig_ctx *ctx);
/* 0 (raised) when the key allows no mechanism for these settings. */
int hkprov_sig_allowed(const struct hkprov_sig_ctx *ctx);
/* Hash-and-sign: the message as it comes, its end, or all of it at once. */
int hkprov_sig_hashed_update(struct hkprov_sig_ctx *ctx,
                             const unsigned char *data, size_t datalen);
int hkprov_sig_hashed_final(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                            size_t *siglen, size_t sigsize);
int hkprov_sig_hashed_oneshot(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                              size_t *siglen, size_t sigsize,
                              const unsigned char *tbs, size_t tbslen);
/* End a stream in flight without a signature (context reset or freed). */
void hkprov_sig_hashed_drop(struct hkprov_sig_ctx *ctx);

OSSL_FUNC_signature_freectx_fn hkprov_sig_freectx;
OSSL_FUNC_signature_dupctx_fn hkprov_sig_dupctx;
OSSL_FUNC_signature_sign_init_fn hkprov_sig_sign_init;
OSSL_FUNC_signature_sign_fn hkprov_sig_sign;
OSSL_FUNC_signature_verify_init_fn hkprov_sig_verify_init;
OSSL_FUNC_signature_verify_fn hkprov_sig_verify;
OSSL_FUNC_signature_digest_sign_init_fn hkprov_sig_digest_sign_init;
OSSL_FUNC_signature_digest_sign_update_fn hkprov_sig_digest_sign_update;
OSSL_FUNC_signature_digest_sign_final_fn hkprov_sig_digest_sign_final;
OSSL_FUNC_signature_digest_sign_fn hkprov_sig_digest_sign;
OSSL_FUNC_signature_digest_verify_init_fn hkprov_sig_digest_verify_init;
OSSL_FUNC_signature_digest_verify_update_fn hkprov_sig_digest_verify_update;
OSSL_FUNC_signature_digest_verify_final_fn hkprov_sig_digest_verify_final;
OSSL_FUNC_signature_get_ctx_params_fn hkprov_sig_get_ctx_params;
OSSL_FUNC_signature_gettable_ctx_params_fn hkprov_sig_gettable_ctx_params;
OSSL_FUNC_signature_set_ctx_params_fn hkprov_sig_set_ctx_params;
OSSL_FUNC_signature_settable_ctx_params_fn hkprov_sig_settable_ctx_params;

/* The dispatch rows every family shares (its own newctx comes first). */
#define HKPROV_SIG_COMMON_FUNCTIONS                                           \
    { OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))hkprov_sig_freectx },      \
    { OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))hkprov_sig_dupctx },        \
    { OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))hkprov_sig_sign_init },  \
    { OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))hkprov_sig_sign },            \
    { OSSL_FUNC_SIGNATURE_VERIFY_INIT,                                        \
      (void (*)(void))hkprov_sig_verify_init },                               \
    { OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))hkprov_sig_verify },        \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,                                   \
      (void (*)(void))hkprov_sig_digest_sign_init },                          \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,                                 \
      (void (*)(void))hkprov_sig_digest_sign_update },                        \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL,                                  \
      (void (*)(void))hkprov_sig_digest_sign_final },                         \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN,                                        \
      (void (*)(void))hkprov_sig_digest_sign },                               \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT,                                 \
      (void (*)(void))hkprov_sig_digest_verify_init },                        \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE,                               \
      (void (*)(void))hkprov_sig_digest_verify_update },                      \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL,                                \
      (void (*)(void))hkprov_sig_digest_verify_final },                       \
    { OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS,                                     \
      (void (*)(void))hkprov_sig_get_ctx_params },                            \
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS,                                \
      (void (*)(void))hkprov_sig_gettable_ctx_params },                       \
    { OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS,                                     \
      (void (*)(void))hkprov_sig_set_ctx_params },                            \
    { OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,                                \
      (void (*)(void))hkprov_sig_settable_ctx_params }

#endif
