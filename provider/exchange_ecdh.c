/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exchange_ecdh.c - static ECDH with a token EC key, for programs that use
 * it (TLS itself uses ephemeral keys in the default provider).  The peer's
 * key arrives as a public key of any provider; its encoded point goes to
 * the token.
 */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>

#include "prov.h"

static OSSL_FUNC_keyexch_newctx_fn ecdh_newctx;
static OSSL_FUNC_keyexch_freectx_fn ecdh_freectx;
static OSSL_FUNC_keyexch_dupctx_fn ecdh_dupctx;
static OSSL_FUNC_keyexch_init_fn ecdh_init;
static OSSL_FUNC_keyexch_set_peer_fn ecdh_set_peer;
static OSSL_FUNC_keyexch_derive_fn ecdh_derive;

struct ecdh_ctx {
    struct hkprov_ctx *prov;
    struct hkprov_key *key, *peer;
};

static void *ecdh_newctx(void *provctx)
{
    struct ecdh_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL)
        ctx->prov = provctx;
    return ctx;
}

static void ecdh_freectx(void *vctx)
{
    struct ecdh_ctx *ctx = vctx;

    if (ctx == NULL)
        return;
    hkprov_key_free(ctx->key);
    hkprov_key_free(ctx->peer);
    OPENSSL_free(ctx);
}

static void *ecdh_dupctx(void *vctx)
{
    struct ecdh_ctx *dst = OPENSSL_memdup(vctx, sizeof(struct ecdh_ctx));

    if (dst != NULL) {
        hkprov_key_ref(dst->key);
        hkprov_key_ref(dst->peer);
    }
    return dst;
}

static int ecdh_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    struct ecdh_ctx *ctx = vctx;
    struct hkprov_key *key = provkey;

    (void)params;
    if (key == NULL || key->obj == NULL || !EVP_PKEY_is_a(key->pub, "EC")) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "ECDH needs an EC key on the "
                     "token");
        return 0;
    }
    hkprov_key_free(ctx->key);
    ctx->key = hkprov_key_ref(key);
    return 1;
}

static int ecdh_set_peer(void *vctx, void *provkey)
{
    struct ecdh_ctx *ctx = vctx;
    struct hkprov_key *peer = provkey;

    if (peer == NULL || peer->pub == NULL
        || EVP_PKEY_parameters_eq(peer->pub, ctx->key->pub) != 1) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "ECDH peer key is not on the "
                     "token key's curve");
        return 0;
    }
    hkprov_key_free(ctx->peer);
    ctx->peer = hkprov_key_ref(peer);
    return 1;
}

/* The secret is x of the shared point; a shorter buffer gets its first
 * bytes, as OpenSSL's own ECDH gives them. */
static int ecdh_derive(void *vctx, unsigned char *secret, size_t *secretlen,
                       size_t outlen)
{
    struct ecdh_ctx *ctx = vctx;
    size_t field, pointlen = 0, len;
    unsigned char point[160], whole[66];
    int ok;

    if (ctx->key == NULL || ctx->peer == NULL)
        return 0;
    field = ((size_t)hkprov_key_bits(ctx->key) + 7) / 8;
    if (secret == NULL) {
        *secretlen = field;
        return 1;
    }
    if (field > sizeof(whole)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "ECDH on a %zu-byte field", field);
        return 0;
    }
    if (!EVP_PKEY_get_octet_string_param(ctx->peer->pub,
                                         OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                         point, sizeof(point), &pointlen))
        return 0;
    len = field;
    ok = hsmkey_object_derive(ctx->key->obj, point, pointlen, whole, &len);
    if (ok) {
        *secretlen = outlen < len ? outlen : len;
        memcpy(secret, whole, *secretlen);
    }
    OPENSSL_cleanse(whole, sizeof(whole));
    return ok;
}

const OSSL_DISPATCH hkprov_ecdh_keyexch_functions[] = {
    { OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))ecdh_newctx },
    { OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))ecdh_freectx },
    { OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))ecdh_dupctx },
    { OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))ecdh_init },
    { OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))ecdh_set_peer },
    { OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))ecdh_derive },
    { 0, NULL }
};
