/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evp.c - signing as applications do: EVP_DigestSign with SHA-256 (none for
 * EdDSA) on a key loaded by URI through the provider, or on a software key;
 * and verifying in software.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "bench.h"

void bench_uri(const struct bench_cfg *cfg, const char *label, char *buf,
               size_t len)
{
    snprintf(buf, len, "pkcs11:token=%s;object=%s;type=private", cfg->token,
             label);
}

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
    if (strncmp(alg->name, "RSA", 3) == 0)
        return EVP_PKEY_Q_keygen(NULL, "provider=default", "RSA", (size_t)2048);
    if (!alg->eddsa)
        return EVP_PKEY_Q_keygen(NULL, "provider=default", "EC", "P-256");
    return EVP_PKEY_Q_keygen(NULL, "provider=default", "ED25519");
}

/* PSS with a digest-long salt, as TLS 1.3 signs. */
static int set_padding(EVP_PKEY_CTX *pctx, const struct bench_alg *alg)
{
    return !alg->pss
           || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0
               && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                                   RSA_PSS_SALTLEN_DIGEST)
                      > 0);
}

int bench_evp_sign_msg(EVP_PKEY *key, const struct bench_alg *alg,
                       const unsigned char *msg, size_t msglen,
                       unsigned char *sig, size_t *siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    ok = md != NULL
         && EVP_DigestSignInit(md, &pctx, alg->eddsa ? NULL : EVP_sha256(),
                               NULL, key) == 1
         && set_padding(pctx, alg)
         && EVP_DigestSign(md, sig, siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

int bench_evp_sign(EVP_PKEY *key, const struct bench_alg *alg)
{
    unsigned char msg[64], sig[1024];
    size_t siglen = sizeof(sig);

    memset(msg, 0x5a, sizeof(msg));
    return bench_evp_sign_msg(key, alg, msg, sizeof(msg), sig, &siglen);
}

EVP_PKEY *bench_public(EVP_PKEY *key)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(key, &der);
    EVP_PKEY *pub;

    if (len <= 0)
        return NULL;
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider=default");
    OPENSSL_free(der);
    return pub;
}

int bench_verify(EVP_PKEY *pub, const struct bench_alg *alg,
                 const unsigned char *msg, size_t msglen,
                 const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = md != NULL
             && EVP_DigestVerifyInit_ex(md, &pctx,
                                        alg->eddsa ? NULL : "SHA256", NULL,
                                        "provider=default", pub, NULL) == 1
             && set_padding(pctx, alg)
             && EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

static int evp_sign(void *arg, int thread)
{
    struct bench_evp *ctx = arg;

    (void)thread;
    return bench_evp_sign(ctx->key, ctx->alg);
}

struct bench_mode bench_evp_mode(struct bench_evp *ctx)
{
    return (struct bench_mode){ evp_sign, ctx };
}

/* EVP_DigestSign's work around the signature: fetch, make the contexts,
 * hash (EdDSA hashes inside its signature), free. */
static int evp_no_sign(void *arg, int thread)
{
    struct bench_evp *ctx = arg;
    unsigned char msg[64];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    (void)thread;
    memset(msg, 0x5a, sizeof(msg));
    ok = md != NULL
         && EVP_DigestSignInit(md, &pctx,
                               ctx->alg->eddsa ? NULL : EVP_sha256(), NULL,
                               ctx->key) == 1
         && set_padding(pctx, ctx->alg)
         && (ctx->alg->eddsa
             || EVP_DigestSignUpdate(md, msg, sizeof(msg)) == 1);
    EVP_MD_CTX_free(md);
    return ok;
}

struct bench_mode bench_evp_no_sign_mode(struct bench_evp *ctx)
{
    return (struct bench_mode){ evp_no_sign, ctx };
}
