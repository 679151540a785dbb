/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prepared.c - a software key signing with everything prepared once per
 * thread (the context, the padding, the digest): the signature alone.
 * Against EVP_DigestSign on the same key it gives what OpenSSL's own
 * per-signature setup costs, which the provider mode pays and raw PKCS#11
 * does not.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/rsa.h>

#include "bench.h"

struct bench_prepared {
    const struct bench_alg *alg;
    int nthreads;
    EVP_PKEY_CTX *pctx[64]; /* RSA, ECDSA: EVP_PKEY_sign over a digest */
    EVP_MD_CTX *mctx[64];   /* EdDSA: one-shot, no digest */
    unsigned char in[32];
};

static int prepare(struct bench_prepared *p, EVP_PKEY *key, int i)
{
    if (p->alg->eddsa) {
        p->mctx[i] = EVP_MD_CTX_new();
        return p->mctx[i] != NULL
               && EVP_DigestSignInit(p->mctx[i], NULL, NULL, NULL, key) == 1;
    }
    p->pctx[i] = EVP_PKEY_CTX_new(key, NULL);
    if (p->pctx[i] == NULL || EVP_PKEY_sign_init(p->pctx[i]) <= 0
        || (strncmp(p->alg->name, "RSA", 3) == 0
            && EVP_PKEY_CTX_set_signature_md(p->pctx[i], EVP_sha256()) <= 0))
        return 0;
    return !p->alg->pss
           || (EVP_PKEY_CTX_set_rsa_padding(p->pctx[i], RSA_PKCS1_PSS_PADDING)
                   > 0
               && EVP_PKEY_CTX_set_rsa_pss_saltlen(p->pctx[i],
                                                   RSA_PSS_SALTLEN_DIGEST)
                      > 0);
}

static int prepared_sign(void *arg, int thread)
{
    struct bench_prepared *p = arg;
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);

    if (p->alg->eddsa)
        return EVP_DigestSign(p->mctx[thread], sig, &siglen, p->in,
                              sizeof(p->in)) == 1;
    return EVP_PKEY_sign(p->pctx[thread], sig, &siglen, p->in,
                         sizeof(p->in)) == 1;
}

struct bench_prepared *bench_prepared_new(EVP_PKEY *key,
                                          const struct bench_alg *alg,
                                          int nthreads, struct bench_mode *mode)
{
    struct bench_prepared *p = calloc(1, sizeof(*p));

    if (p == NULL || nthreads > 64)
        exit(1);
    p->alg = alg;
    p->nthreads = nthreads;
    memset(p->in, 0x5a, sizeof(p->in));
    for (int i = 0; i < nthreads; i++)
        if (!prepare(p, key, i))
            exit(1);
    *mode = (struct bench_mode){ prepared_sign, p };
    return p;
}

void bench_prepared_free(struct bench_prepared *p)
{
    for (int i = 0; i < p->nthreads; i++) {
        EVP_PKEY_CTX_free(p->pctx[i]);
        EVP_MD_CTX_free(p->mctx[i]);
    }
    free(p);
}
