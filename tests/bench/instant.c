/* SPDX-License-Identifier: Apache-2.0 */
/*
 * instant.c - the provider's own cost per signature, on a token that signs
 * instantly: the test shim with HSMKEY_SHIM_INSTANT=1 (tests/p11shim), which
 * answers every signature after the first of a key from what it recorded.
 * What is left of EVP_DigestSign through the provider is OpenSSL's work,
 * hsmkey's work and the shim's answer; the raw mode (C_SignInit + C_Sign to
 * the same shim) measures the last, the software key's modes the first (as
 * in sign.c, and directly: EVP_DigestSign's work without the signature,
 * which has no 250 us RSA signature in it to blur the difference), all in
 * the same interleaved rounds, at 1 and 2 threads.  The
 * costs are CPU time per signature (the waits for a core on a busy machine
 * left out); the scaling is the provider's wall-clock rate at 2 threads
 * over 1 (2.0 on two idle cores), and the CPU time per signature at 2
 * threads over 1 shows what the threads cost each other.
 *
 * The signatures are not valid for their input in this mode: nothing is
 * verified.  bench.sh runs this in its own process, with the provider and
 * the raw mode on the shim (HSMKEY_BENCH_MODULE, pkcs11-module).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "p11shim.h"

enum { M_PROV, M_RAW, M_SW, M_SWP, M_NOSIGN, NMODES };

struct cost {
    double prov_us, raw_us, evp_us, nosign_us, own_us, prov_rate;
};

static void measure(const struct bench_cfg *cfg, const struct bench_alg *alg,
                    int nthreads, EVP_PKEY *key, EVP_PKEY *sw, struct cost *c)
{
    struct bench_evp prov_ctx = { key, alg }, sw_ctx = { sw, alg };
    struct bench_mode modes[NMODES];
    struct bench_raw *raw;
    struct bench_prepared *swp;
    struct bench_result res;
    double v[5][BENCH_MAX_ROUNDS];

    raw = bench_raw_new(cfg, alg, nthreads, BENCH_RAW_COPY_OF_TOKEN,
                        &modes[M_RAW]);
    swp = bench_prepared_new(sw, alg, nthreads, &modes[M_SWP]);
    modes[M_PROV] = bench_evp_mode(&prov_ctx);
    modes[M_SW] = bench_evp_mode(&sw_ctx);
    modes[M_NOSIGN] = bench_evp_no_sign_mode(&sw_ctx);
    bench_run(cfg, nthreads, modes, NMODES, &res);
    bench_require_no_failures(&res, alg->name);
    bench_raw_free(raw);
    bench_prepared_free(swp);
    for (int i = 0; i < res.rounds; i++) {
        v[0][i] = res.cpu[M_PROV][i] * 1e6;
        v[1][i] = res.cpu[M_RAW][i] * 1e6;
        v[2][i] = (res.cpu[M_SW][i] - res.cpu[M_SWP][i]) * 1e6;
        v[3][i] = res.cpu[M_NOSIGN][i] * 1e6;
        v[4][i] = v[0][i] - v[1][i] - v[3][i];
    }
    c->prov_us = bench_median(v[0], res.rounds);
    c->raw_us = bench_median(v[1], res.rounds);
    c->evp_us = bench_median(v[2], res.rounds);
    c->nosign_us = bench_median(v[3], res.rounds);
    c->own_us = bench_median(v[4], res.rounds);
    c->prov_rate = bench_result_rate(&res, M_PROV);
}

/* The shim answered: this run was on the instant token. */
static unsigned long answered(void)
{
    const char *path = getenv("HSMKEY_BENCH_SHIM");
    void *so = path != NULL ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    hsmkey_shim_counts_fn *counts;

    if (so == NULL)
        return 0;
    *(void **)&counts = dlsym(so, HSMKEY_SHIM_COUNTS_SYM);
    return counts != NULL ? counts("instant") : 0;
}

int bench_instant(const struct bench_cfg *cfg, const char *only)
{
    static const int threads[] = { 1, 2 };
    char uri[256];

    printf("\n## The provider's own cost: a token that signs instantly\n\n"
           "CPU microseconds per signature, medians of per-round values. "
           "Scaling: the provider's signatures/s at 2 threads over 1 "
           "(wall clock), and its CPU time per signature at 2 threads over "
           "1.\n\n"
           "OpenSSL's own per EVP_DigestSign is measured twice: as the "
           "software key's EVP_DigestSign minus its prepared context, and "
           "directly (EVP_DigestSign's work without the signature: fetch, "
           "contexts, hashing, free).  hsmkey's own is the provider minus "
           "the instant token minus the direct one.\n\n"
           "| algorithm | threads | provider (us) | the instant token "
           "alone, raw (us) | OpenSSL's own: software minus prepared (us) "
           "| OpenSSL's own: without the signature (us) | hsmkey's own "
           "(us) | provider signatures/s | scaling, rate | CPU per "
           "signature vs 1 thread |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t a = 0; a < bench_nalgs; a++) {
        const struct bench_alg *alg = &bench_algs[a];
        EVP_PKEY *key, *sw = bench_software_key(alg);
        double one = 0, one_us = 0;

        if (only != NULL && strstr(alg->name, only) == NULL) {
            EVP_PKEY_free(sw);
            continue;
        }
        bench_uri(cfg, alg->label, uri, sizeof(uri));
        if ((key = bench_load_key(uri)) == NULL || sw == NULL) {
            fprintf(stderr, "bench: cannot load %s\n", uri);
            return 0;
        }
        for (size_t t = 0; t < 2; t++) {
            struct cost c;

            bench_progress("instant token, %s, %d thread(s)\n",
                    alg->name, threads[t]);
            measure(cfg, alg, threads[t], key, sw, &c);
            if (t == 0) {
                one = c.prov_rate;
                one_us = c.prov_us;
            }
            printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | "
                   "%.2f | %.2f |\n", alg->name, threads[t], c.prov_us,
                   c.raw_us, c.evp_us, c.nosign_us, c.own_us, c.prov_rate,
                   c.prov_rate / one, c.prov_us / one_us);
            fflush(stdout);
        }
        EVP_PKEY_free(key);
        EVP_PKEY_free(sw);
    }
    if (answered() == 0) {
        fprintf(stderr, "bench: the shim answered no signature: not on the "
                "instant token (HSMKEY_SHIM_INSTANT=1, HSMKEY_BENCH_SHIM)\n");
        return 0;
    }
    return 1;
}
