/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - hsmkey-bench: signing rates (raw PKCS#11, provider, software) at
 * 1, 2 and 4 threads, TLS 1.3 handshakes, key load times and token calls
 * per signature, printed as Markdown tables.  Run by bench.sh, which makes
 * the token and the configuration; see BENCHMARKS.md.
 *
 *   hsmkey-bench [--seconds S] [--rounds N] [--no-load]
 *   hsmkey-bench --only TEXT ...   (signing rows of the algorithms whose
 *                                   name contains TEXT: for profiling)
 *   hsmkey-bench --count-calls N   (provider on the counting shim)
 *   hsmkey-bench --load-once URI   (internal: one cold load, prints ms)
 *
 * Environment: OPENSSL_CONF (loads default + hsmkey), HSMKEY_BENCH_MODULE,
 * HSMKEY_BENCH_TOKEN, HSMKEY_BENCH_PIN, HSMKEY_BENCH_SHIM (count mode).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const struct bench_alg algs[] = {
    { "RSA-2048 PKCS#1 v1.5", "rsa-key", 0, 0 },
    { "RSA-2048 PSS", "rsa-key", 1, 0 },
    { "ECDSA P-256", "ec-key", 0, 0 },
    { "Ed25519", "ed-key", 0, 1 },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : dflt;
}

static void uri_for(const struct bench_cfg *cfg, const char *label,
                    char *buf, size_t len)
{
    snprintf(buf, len, "pkcs11:token=%s;object=%s;type=private", cfg->token,
             label);
}

static double max2(double a, double b)
{
    return a > b ? a : b;
}

/* The modes of one row, their rounds taking turns. */
enum { M_TOK, M_SES, M_PROV, M_SW, M_SWP, NMODES };

static void row(const struct bench_cfg *cfg, const struct bench_alg *alg,
                int nthreads, EVP_PKEY *key, EVP_PKEY *sw, double r[NMODES])
{
    struct bench_evp prov_ctx = { key, alg }, sw_ctx = { sw, alg };
    struct bench_mode modes[NMODES];
    struct bench_raw *tok = bench_raw_new(cfg, alg, nthreads, 0,
                                          &modes[M_TOK]);
    struct bench_raw *ses = bench_raw_new(cfg, alg, nthreads, 1,
                                          &modes[M_SES]);
    struct bench_prepared *swp = bench_prepared_new(sw, alg, nthreads,
                                                    &modes[M_SWP]);

    modes[M_PROV] = bench_evp_mode(&prov_ctx);
    modes[M_SW] = bench_evp_mode(&sw_ctx);
    bench_rates(cfg, nthreads, modes, NMODES, r);
    bench_raw_free(tok);
    bench_raw_free(ses);
    bench_prepared_free(swp);
}

/*
 * One row per algorithm and thread count; returns raw 1-thread limits.
 * OpenSSL's own cost per EVP_DigestSign (context setup, hashing) is the
 * software key's EVP_DigestSign time minus its prepared-context time; the
 * last column charges the raw limit with it, leaving the provider's own.
 */
static void signing(const struct bench_cfg *cfg, const char *only,
                    double limit[NALGS], double soft[NALGS])
{
    static const int threads[] = { 1, 2, 4 };
    char uri[256];

    printf("## Signatures per second\n\n| algorithm | threads | raw token "
           "object | raw session copy | provider | software | software, "
           "prepared context | provider / raw | EVP's own cost (us) | "
           "provider / (raw + EVP's own cost) |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t a = 0; a < NALGS; a++) {
        EVP_PKEY *key, *sw;

        if (only != NULL && strstr(algs[a].name, only) == NULL)
            continue;
        sw = bench_software_key(&algs[a]);
        uri_for(cfg, algs[a].label, uri, sizeof(uri));
        if ((key = bench_load_key(uri)) == NULL || sw == NULL) {
            fprintf(stderr, "bench: cannot load %s\n", uri);
            exit(1);
        }
        for (size_t t = 0; t < 3; t++) {
            double r[NMODES], lim, evp;

            row(cfg, &algs[a], threads[t], key, sw, r);
            lim = max2(r[M_TOK], r[M_SES]);
            evp = 1.0 / r[M_SW] - 1.0 / r[M_SWP];
            if (t == 0) {
                limit[a] = lim;
                soft[a] = r[M_SW];
            }
            printf("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.3f | "
                   "%.2f | %.3f |\n", algs[a].name, threads[t], r[M_TOK],
                   r[M_SES], r[M_PROV], r[M_SW], r[M_SWP], r[M_PROV] / lim,
                   evp * 1e6, r[M_PROV] * (1.0 / lim + evp));
            fflush(stdout);
        }
        EVP_PKEY_free(key);
        EVP_PKEY_free(sw);
    }
}

/* A handshake with a token key costs one disk-key handshake, minus one
 * software signature, plus one token signature. */
static void handshakes(const struct bench_cfg *cfg, const double limit[],
                       const double soft[])
{
    static const struct { size_t alg; const char *label; } rows[] = {
        { 1, "RSA-2048 (RSA-PSS)" }, { 2, "ECDSA P-256" } };
    char uri[256];

    printf("\n## TLS 1.3 full handshakes per second (1 thread)\n\n| server "
           "key | on disk | on token | expected from the token's rate | "
           "token / expected |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < 2; i++) {
        const struct bench_alg *alg = &algs[rows[i].alg];
        EVP_PKEY *key, *sw = bench_software_key(alg);
        double disk, tok, expect;

        uri_for(cfg, alg->label, uri, sizeof(uri));
        if ((key = bench_load_key(uri)) == NULL || sw == NULL)
            exit(1);
        disk = bench_tls(cfg, sw);
        tok = bench_tls(cfg, key);
        expect = 1.0 / (1.0 / disk - 1.0 / soft[rows[i].alg]
                        + 1.0 / limit[rows[i].alg]);
        printf("| %s | %.0f | %.0f | %.0f | %.3f |\n", rows[i].label, disk,
               tok, expect, tok / expect);
        EVP_PKEY_free(key);
        EVP_PKEY_free(sw);
    }
}

/*
 * Each round adds objects, then loads keys never loaded before in this
 * process (the search, module already up), the same key again (cached),
 * and the key in a new process (module start and login included).
 */
static void loads(const struct bench_cfg *cfg, const char *self)
{
    static const int totals[] = { 1, 100, 1000 };
    /* Keys no earlier part of the benchmark loaded. */
    static const char *const keys[3] = { "rsa-other", "ec384-key",
                                         "ec521-key" };
    char uri[256];
    int have = 0;

    uri_for(cfg, "rsa-key", uri, sizeof(uri));
    printf("\n## Loading a key by URI (ms, median)\n\n| objects added to "
           "the token | token's own C_FindObjects | first load, module up | "
           "warm (cached) | cold (new process) |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < 3; i++) {
        if (!bench_add_objects(cfg, totals[i] - have))
            exit(1);
        have = totals[i];
        printf("| %d | %.3f | %.3f | %.4f | %.3f |\n", have,
               bench_raw_find_ms(cfg, keys[0]),
               bench_load_first(cfg->token, keys, 3, (int)i),
               bench_load_warm(uri), bench_load_cold(self, uri));
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    struct bench_cfg cfg = {
        env_or("HSMKEY_BENCH_MODULE", "/usr/lib/softhsm/libsofthsm2.so"),
        env_or("HSMKEY_BENCH_TOKEN", "bench"),
        env_or("HSMKEY_BENCH_PIN", ""), 1.0, 3 };
    double limit[NALGS], soft[NALGS];
    const char *only = NULL;
    int load = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--load-once") == 0 && i + 1 < argc) {
            printf("%f\n", bench_load_once(argv[i + 1]));
            return 0;
        } else if (strcmp(argv[i], "--count-calls") == 0 && i + 1 < argc) {
            return bench_count_calls(&cfg, atoi(argv[i + 1])) ? 0 : 1;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            cfg.seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            cfg.rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--no-load") == 0) {
            load = 0;
        } else {
            fprintf(stderr, "usage: see the header of tests/bench/main.c\n");
            return 2;
        }
    }
    signing(&cfg, only, limit, soft);
    if (only != NULL)
        return 0;
    handshakes(&cfg, limit, soft);
    if (load)
        loads(&cfg, argv[0]);
    return 0;
}
