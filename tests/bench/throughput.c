/* SPDX-License-Identifier: Apache-2.0 */
/*
 * throughput.c - many threads signing through the provider at once, as a
 * busy threaded TLS server does: signatures per second and failures (which
 * must be 0).  Every 64th signature of each thread is verified in software
 * (verifying all would time the verification).  Three loads: one ECDSA
 * P-256 key, one RSA-2048 key, and five keys (thread i's signature j uses
 * key (i + j) % 5).  The one-key rows also time the two raw paths with a
 * copy per thread, in the same interleaved rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_KEYS 5
#define VERIFY_EVERY 64

struct load {
    const char *name;
    const char *labels[MAX_KEYS];
    int nkeys;
};

static const struct load loads[] = {
    { "ECDSA P-256", { "ec-key" }, 1 },
    { "RSA-2048 PKCS#1 v1.5", { "rsa-key" }, 1 },
    { "five keys (2 RSA-2048, ECDSA P-256/384/521)",
      { "rsa-key", "ec-key", "ec384-key", "ec521-key", "rsa-other" }, 5 },
};

struct signer {
    EVP_PKEY *keys[MAX_KEYS], *pubs[MAX_KEYS];
    struct bench_alg algs[MAX_KEYS];
    int nkeys;
    long done[BENCH_MAX_THREADS];      /* signatures per thread */
    long verified[BENCH_MAX_THREADS];
};

static int sign_one(void *arg, int thread)
{
    struct signer *s = arg;
    long j = s->done[thread]++;
    int k = (int)((thread + j) % s->nkeys);
    unsigned char msg[64], sig[1024];
    size_t siglen = sizeof(sig);

    memset(msg, (int)(j & 0xff), sizeof(msg));
    if (!bench_evp_sign_msg(s->keys[k], &s->algs[k], msg, sizeof(msg), sig,
                            &siglen))
        return 0;
    if (j % VERIFY_EVERY != 0)
        return 1;
    s->verified[thread]++;
    return bench_verify(s->pubs[k], &s->algs[k], msg, sizeof(msg), sig,
                        siglen);
}

/* The bench_alg for a key of the token (SHA-256 for every one). */
static struct bench_alg alg_for(const char *label)
{
    struct bench_alg alg = { "ECDSA", label, 0, 0 };

    if (strncmp(label, "rsa", 3) == 0)
        alg.name = "RSA";
    return alg;
}

static int setup(const struct bench_cfg *cfg, const struct load *l,
                 struct signer *s)
{
    char uri[256];

    memset(s, 0, sizeof(*s));
    s->nkeys = l->nkeys;
    for (int k = 0; k < l->nkeys; k++) {
        bench_uri(cfg, l->labels[k], uri, sizeof(uri));
        s->algs[k] = alg_for(l->labels[k]);
        if ((s->keys[k] = bench_load_key(uri)) == NULL
            || (s->pubs[k] = bench_public(s->keys[k])) == NULL) {
            fprintf(stderr, "bench: cannot load %s\n", uri);
            return 0;
        }
    }
    return 1;
}

static void teardown(struct signer *s)
{
    for (int k = 0; k < s->nkeys; k++) {
        EVP_PKEY_free(s->keys[k]);
        EVP_PKEY_free(s->pubs[k]);
    }
}

static long total(const long *v)
{
    long n = 0;

    for (int i = 0; i < BENCH_MAX_THREADS; i++)
        n += v[i];
    return n;
}

/* One row; 0 when a signature failed. */
static int row(const struct bench_cfg *cfg, const struct load *l,
               int nthreads)
{
    static const enum bench_raw_path paths[] = { BENCH_RAW_COPY_OF_COPY,
                                                 BENCH_RAW_COPY_OF_TOKEN };
    static struct signer s;
    struct bench_mode modes[3];
    struct bench_raw *raw[2] = { NULL, NULL };
    struct bench_result res;
    int nmodes = 1, best = 0, ok;
    double ratio[BENCH_MAX_ROUNDS], cpu[BENCH_MAX_ROUNDS];

    if (!setup(cfg, l, &s))
        return 0;
    modes[0] = (struct bench_mode){ sign_one, &s };
    if (l->nkeys == 1) {
        struct bench_alg alg = s.algs[0];

        for (int p = 0; p < 2; p++)
            raw[p] = bench_raw_new(cfg, &alg, nthreads, paths[p],
                                   &modes[nmodes++]);
    }
    bench_run(cfg, nthreads, modes, nmodes, &res);
    for (int m = 1; m < nmodes; m++)
        if (best == 0 || bench_result_rate(&res, m)
                             > bench_result_rate(&res, best))
            best = m;
    for (int i = 0; best > 0 && i < res.rounds; i++) {
        ratio[i] = res.rate[0][i] / res.rate[best][i];
        cpu[i] = res.cpu[best][i] / res.cpu[0][i];
    }
    printf("| %s | %d | %.0f (%.0f us, %.0f %%) | %ld | %ld of %ld |",
           l->name, nthreads, bench_result_rate(&res, 0),
           bench_result_cpu(&res, 0) * 1e6,
           bench_result_blocked(&res, 0) * 100, res.failures[0],
           total(s.verified), res.ops[0] + res.failures[0]);
    if (best > 0)
        printf(" %.0f (%s; %.0f us, %.0f %%) | %.3f | %.3f |\n",
               bench_result_rate(&res, best),
               bench_raw_path_names[paths[best - 1]],
               bench_result_cpu(&res, best) * 1e6,
               bench_result_blocked(&res, best) * 100,
               bench_median(ratio, res.rounds),
               bench_median(cpu, res.rounds));
    else
        printf(" - | - | - |\n");
    fflush(stdout);
    ok = res.failures[0] == 0;
    for (int m = 1; m < nmodes; m++)
        ok = ok && res.failures[m] == 0;
    for (int p = 0; p < 2; p++)
        if (raw[p] != NULL)
            bench_raw_free(raw[p]);
    teardown(&s);
    return ok;
}

int bench_throughput(const struct bench_cfg *cfg, int nthreads)
{
    int ok = 1;

    printf("\n## Throughput: %d threads signing through the provider\n\n"
           "EVP_DigestSign, a new context per signature; every %dth "
           "signature of a thread verified in software.  Failures must be "
           "0.  In brackets: CPU microseconds per signature and the share of "
           "the threads' time asleep (on a lock, or waiting for a pooled "
           "session).\n\n| keys | threads | provider signatures/s | "
           "failures | "
           "verified | best raw copy-per-thread path | provider / raw | "
           "provider / raw, CPU |\n"
           "|---|---|---|---|---|---|---|---|\n", nthreads, VERIFY_EVERY);
    for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
        bench_progress("throughput, %s, %d threads\n", loads[i].name,
                nthreads);
        if (!row(cfg, &loads[i], nthreads)) {
            fprintf(stderr, "bench: throughput, %s: failed signatures\n",
                    loads[i].name);
            ok = 0;
        }
    }
    return ok;
}
