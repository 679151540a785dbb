/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.c - signatures per second on the real token: the token's raw paths,
 * the provider, and a software key (EVP_DigestSign, and with a prepared
 * context), all in the same interleaved rounds, at 1, 2 and 4 threads.
 *
 * The raw limit of a row is its best raw path (by median).  Ratios are
 * medians of per-round ratios, so a slow stretch of the machine that hits
 * one round hits both sides of that round's ratio; the CPU-time ratio also
 * leaves out the time the threads waited for a core.  OpenSSL's own cost
 * per EVP_DigestSign (fetching, making and freeing contexts, hashing) is
 * measured twice: as the software key's EVP_DigestSign CPU time minus its
 * prepared-context CPU time, and directly, as EVP_DigestSign's work on the
 * software key without the signature (no 250 us RSA signature in it to
 * blur a difference).  The provider pays it and raw PKCS#11 does not, so
 * the judged column (1 thread, in CPU time) charges the direct one to the
 * raw limit: what is left is the provider's own cost.  A last mode does
 * both in one loop (a raw signature on the best path, then OpenSSL's work
 * without a signature), so that what each does to the other's caches is
 * in the comparison too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum {
    M_PROV = BENCH_RAW_NPATHS,
    M_SW,
    M_SWP,
    M_NOSIGN,
    M_BOTH, /* the best raw path and OpenSSL's own work, one after the other */
    NMODES
};

static const int threads[] = { 1, 2, 4 };
#define NTHREADS (sizeof(threads) / sizeof(threads[0]))

struct row {
    double rate[NMODES];  /* medians */
    double blocked[NMODES], cpu[NMODES];
    int best;             /* the best raw path */
    double prov_raw, prov_raw_cpu, evp_us, nosign_us;
    double judged, both;  /* 1 thread only; else negative */
    double raw_cpu, sw_cpu; /* CPU seconds per signature, medians */
};

/* Two modes, one after the other, as one operation. */
struct pair {
    struct bench_mode a, b;
};

static int both(void *arg, int thread)
{
    struct pair *p = arg;

    return p->a.fn(p->a.arg, thread) && p->b.fn(p->b.arg, thread);
}

/*
 * The rounds of every mode.  The combined mode needs the best raw path,
 * known only after the rounds: it uses the path best in a first, short
 * round of the raw paths alone.
 */
static void measure(const struct bench_cfg *cfg, const struct bench_alg *alg,
                    int nthreads, EVP_PKEY *key, EVP_PKEY *sw,
                    struct bench_result *res)
{
    struct bench_evp prov_ctx = { key, alg }, sw_ctx = { sw, alg };
    struct bench_cfg probe = *cfg;
    struct bench_mode modes[NMODES];
    struct bench_raw *raw[BENCH_RAW_NPATHS];
    struct bench_prepared *swp;
    struct pair pair;
    int best = 0;

    for (int p = 0; p < BENCH_RAW_NPATHS; p++)
        raw[p] = bench_raw_new(cfg, alg, nthreads, (enum bench_raw_path)p,
                               &modes[p]);
    probe.rounds = 1;
    probe.seconds = cfg->seconds / 2;
    bench_run(&probe, nthreads, modes, BENCH_RAW_NPATHS, res);
    for (int p = 1; p < BENCH_RAW_NPATHS; p++)
        if (res->rate[p][0] > res->rate[best][0])
            best = p;
    swp = bench_prepared_new(sw, alg, nthreads, &modes[M_SWP]);
    modes[M_PROV] = bench_evp_mode(&prov_ctx);
    modes[M_SW] = bench_evp_mode(&sw_ctx);
    modes[M_NOSIGN] = bench_evp_no_sign_mode(&sw_ctx);
    pair = (struct pair){ modes[best], modes[M_NOSIGN] };
    modes[M_BOTH] = (struct bench_mode){ both, &pair };
    bench_run(cfg, nthreads, modes, NMODES, res);
    bench_require_no_failures(res, alg->name);
    for (int p = 0; p < BENCH_RAW_NPATHS; p++)
        bench_raw_free(raw[p]);
    bench_prepared_free(swp);
}

static void summarize(const struct bench_result *res, int nthreads,
                      struct row *r)
{
    double ratio[BENCH_MAX_ROUNDS], cpu[BENCH_MAX_ROUNDS],
        evp[BENCH_MAX_ROUNDS], judged[BENCH_MAX_ROUNDS],
        together[BENCH_MAX_ROUNDS], raw_cpu[BENCH_MAX_ROUNDS],
        sw_cpu[BENCH_MAX_ROUNDS];

    r->best = 0;
    for (int m = 0; m < NMODES; m++) {
        r->rate[m] = bench_result_rate(res, m);
        r->blocked[m] = bench_result_blocked(res, m);
        r->cpu[m] = bench_result_cpu(res, m);
        if (m < BENCH_RAW_NPATHS && r->rate[m] > r->rate[r->best])
            r->best = m;
    }
    for (int i = 0; i < res->rounds; i++) {
        double raw = res->cpu[r->best][i], prov = res->cpu[M_PROV][i];

        ratio[i] = res->rate[M_PROV][i] / res->rate[r->best][i];
        cpu[i] = raw / prov;
        evp[i] = res->cpu[M_SW][i] - res->cpu[M_SWP][i];
        judged[i] = (raw + res->cpu[M_NOSIGN][i]) / prov;
        together[i] = res->cpu[M_BOTH][i] / prov;
        raw_cpu[i] = raw;
        sw_cpu[i] = res->cpu[M_SW][i];
    }
    r->prov_raw = bench_median(ratio, res->rounds);
    r->prov_raw_cpu = bench_median(cpu, res->rounds);
    r->evp_us = bench_median(evp, res->rounds) * 1e6;
    r->nosign_us = bench_result_cpu(res, M_NOSIGN) * 1e6;
    r->judged = nthreads == 1 ? bench_median(judged, res->rounds) : -1;
    r->both = nthreads == 1 ? bench_median(together, res->rounds) : -1;
    r->raw_cpu = bench_median(raw_cpu, res->rounds);
    r->sw_cpu = bench_median(sw_cpu, res->rounds);
}

static void print_raw(const struct row rows[][NTHREADS], const int *done)
{
    printf("## Raw PKCS#11 paths (signatures per second)\n\n"
           "C_SignInit + C_Sign, a session per thread.  The best path of "
           "each row (bold) is the raw limit below.  In brackets: CPU "
           "microseconds per signature, and the share of the threads' time "
           "asleep (neither running nor waiting for a core: waiting on a "
           "lock of the token).\n\n"
           "| algorithm | threads |");
    for (int p = 0; p < BENCH_RAW_NPATHS; p++)
        printf(" %s |", bench_raw_path_names[p]);
    printf(" best path |\n|---|---|");
    for (int p = 0; p <= BENCH_RAW_NPATHS; p++)
        printf("---|");
    printf("\n");
    for (size_t a = 0; a < bench_nalgs; a++) {
        for (size_t t = 0; done[a] && t < NTHREADS; t++) {
            const struct row *r = &rows[a][t];

            printf("| %s | %d |", bench_algs[a].name, threads[t]);
            for (int p = 0; p < BENCH_RAW_NPATHS; p++) {
                printf(p == r->best ? " **%.0f**" : " %.0f", r->rate[p]);
                printf(" (%.0f us", r->cpu[p] * 1e6);
                if (r->blocked[p] >= 0)
                    printf(", %.0f %%", r->blocked[p] * 100);
                printf(") |");
            }
            printf(" %s |\n", bench_raw_path_names[r->best]);
        }
    }
}

static void print_provider(const struct row rows[][NTHREADS],
                           const int *done)
{
    printf("\n## The provider against the best raw path (signatures per "
           "second)\n\n"
           "Ratios are medians of per-round ratios; \"CPU\" ones compare "
           "the CPU time per signature of the same rounds.  The figure to "
           "judge is provider / (raw + OpenSSL's own) at 1 thread (bold); "
           "the last column times the raw signature and OpenSSL's work in "
           "one loop.\n\n"
           "| algorithm | threads | best raw | provider | software | "
           "software, prepared context | provider / raw | provider / raw, "
           "CPU | OpenSSL's own per EVP_DigestSign: software minus "
           "prepared (us CPU) | OpenSSL's own: without the signature (us "
           "CPU) | provider / (raw + OpenSSL's own), CPU | provider / (raw "
           "and OpenSSL's own in one loop), CPU |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t a = 0; a < bench_nalgs; a++) {
        for (size_t t = 0; done[a] && t < NTHREADS; t++) {
            const struct row *r = &rows[a][t];

            printf("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.3f | %.3f | "
                   "%.2f | %.2f |", bench_algs[a].name, threads[t],
                   r->rate[r->best], r->rate[M_PROV], r->rate[M_SW],
                   r->rate[M_SWP], r->prov_raw, r->prov_raw_cpu, r->evp_us,
                   r->nosign_us);
            if (r->judged >= 0)
                printf(" **%.3f** | %.3f |\n", r->judged, r->both);
            else
                printf(" - | - |\n");
        }
    }
    fflush(stdout);
}

/* limit[] and soft[]: the CPU seconds per signature at 1 thread of the
 * raw limit and of the software key, per algorithm, for the TLS table. */
void bench_signing(const struct bench_cfg *cfg, const char *only,
                   double limit[], double soft[])
{
    static struct row rows[16][NTHREADS];
    int done[16] = { 0 };
    char uri[256];

    for (size_t a = 0; a < bench_nalgs && a < 16; a++) {
        EVP_PKEY *key, *sw;

        if (only != NULL && strstr(bench_algs[a].name, only) == NULL)
            continue;
        sw = bench_software_key(&bench_algs[a]);
        bench_uri(cfg, bench_algs[a].label, uri, sizeof(uri));
        if ((key = bench_load_key(uri)) == NULL || sw == NULL) {
            fprintf(stderr, "bench: cannot load %s\n", uri);
            exit(1);
        }
        for (size_t t = 0; t < NTHREADS; t++) {
            struct bench_result res;

            bench_progress("signing, %s, %d thread(s)\n",
                    bench_algs[a].name, threads[t]);
            measure(cfg, &bench_algs[a], threads[t], key, sw, &res);
            summarize(&res, threads[t], &rows[a][t]);
        }
        limit[a] = rows[a][0].raw_cpu;
        soft[a] = rows[a][0].sw_cpu;
        done[a] = 1;
        EVP_PKEY_free(key);
        EVP_PKEY_free(sw);
    }
    print_raw(rows, done);
    print_provider(rows, done);
}
