/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evp.c - signing as applications do: EVP_DigestSign with SHA-256 (none for
 * EdDSA) on a key loaded by URI through the provider, or on a software key.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#include "bench.h"

int bench_evp_sign(EVP_PKEY *key, const struct bench_alg *alg);

EVP_PKEY *bench_load_key(const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    OSSL_STORE_INFO *info;
    EVP_PKEY *pkey = NULL;

    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (pkey == NULL && (info = OSSL_STORE_load(st)) != NULL) {
        pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return pkey;
}

EVP_PKEY *bench_software_key(const struct bench_alg *alg)
{
    const char *type = strncmp(alg->name, "RSA", 3) == 0 ? "RSA"
                       : alg->eddsa ? "ED25519" : "EC";

    if (strcmp(type, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, "provider=default", "RSA", (size_t)2048);
    if (strcmp(type, "EC") == 0)
        return EVP_PKEY_Q_keygen(NULL, "provider=default", "EC", "P-256");
    return EVP_PKEY_Q_keygen(NULL, "provider=default", "ED25519");
}

static int evp_sign(void *arg, int thread)
{
    struct bench_evp *ctx = arg;

    (void)thread;
    return bench_evp_sign(ctx->key, ctx->alg);
}

int bench_evp_sign(EVP_PKEY *key, const struct bench_alg *alg)
{
    unsigned char msg[64], sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    memset(msg, 0x5a, sizeof(msg));
    ok = md != NULL
         && EVP_DigestSignInit(md, &pctx, alg->eddsa ? NULL : EVP_sha256(),
                               NULL, key) == 1
         && (!alg->pss
             || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
                 && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                                     RSA_PSS_SALTLEN_DIGEST)
                        > 0))
         && EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

struct bench_mode bench_evp_mode(struct bench_evp *ctx)
{
    return (struct bench_mode){ evp_sign, ctx };
}
