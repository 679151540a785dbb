/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature_ec.c - ECDSA on the token (CKM_ECDSA over a software digest);
 * the token's r||s becomes the DER ECDSA-Sig-Value OpenSSL and TLS expect.
 */
#include <string.h>

#include "signature.h"

static OSSL_FUNC_signature_newctx_fn ecdsa_sig_newctx;

static int ecdsa_sign(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                      size_t *siglen, size_t sigsize, const unsigned char *tbs,
                      size_t tbslen)
{
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    size_t order = ((size_t)hkprov_key_bits(ctx->key) + 7) / 8;
    unsigned char raw[2 * 66];
    size_t rawlen = sizeof(raw);
    int ok;

    if (sig == NULL) {
        *siglen = hkprov_key_max_sig(ctx->key);
        return 1;
    }
    if (order == 0 || 2 * order > sizeof(raw)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "ECDSA key of %d bits",
                     hkprov_key_bits(ctx->key));
        return 0;
    }
    /* ECDSA uses the leftmost bits of a digest longer than the order; for
     * the NIST curves up to P-384 that is a whole number of bytes, and
     * P-521's order is longer than any digest. */
    if (tbslen > order)
        tbslen = order;
    if (!hsmkey_object_sign(ctx->key->obj, &mech, tbs, tbslen, raw, &rawlen))
        return 0;
    *siglen = sigsize;
    ok = hsmkey_ecdsa_raw_to_der(raw, rawlen, sig, siglen);
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok;
}

/* digest -> hash-and-sign mechanism (CKM_ECDSA_SHA*) */
static const struct {
    int nid;
    CK_MECHANISM_TYPE mech;
} ecdsa_digests[] = {
    { NID_sha1, CKM_ECDSA_SHA1 },     { NID_sha224, CKM_ECDSA_SHA224 },
    { NID_sha256, CKM_ECDSA_SHA256 }, { NID_sha384, CKM_ECDSA_SHA384 },
    { NID_sha512, CKM_ECDSA_SHA512 },
};

static void ecdsa_mechanisms(const struct hkprov_sig_ctx *ctx,
                             CK_MECHANISM_TYPE *raw, CK_MECHANISM_TYPE *hashed)
{
    int nid = ctx->md != NULL ? EVP_MD_get_type(ctx->md) : NID_undef;

    *raw = CKM_ECDSA;
    for (size_t i = 0; i < sizeof(ecdsa_digests) / sizeof(ecdsa_digests[0]);
         i++)
        if (ecdsa_digests[i].nid == nid)
            *hashed = ecdsa_digests[i].mech;
}

static const struct hkprov_sig_family ecdsa_family = {
    "ECDSA", 0, ecdsa_sign, ecdsa_mechanisms, NULL, hsmkey_ecdsa_raw_to_der
};

static void *ecdsa_sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    return hkprov_sig_newctx(provctx, &ecdsa_family);
}

const OSSL_DISPATCH hkprov_ecdsa_signature_functions[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))ecdsa_sig_newctx },
    HKPROV_SIG_COMMON_FUNCTIONS,
    { 0, NULL }
};
