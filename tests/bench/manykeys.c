/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manykeys.c - loading many distinct keys from a token that holds many
 * objects, as a server with a key per virtual host or tenant starts: K keys,
 * each by its own URI through OSSL_STORE, from a token of N objects (N/2
 * ECDSA P-256 key pairs "key-<i>", nothing else), next to the token's own
 * C_FindObjects for one key in the same run.
 *
 * Each (N, K) runs in a new process (this program again, --load-keys), so
 * nothing the provider learnt about the token in an earlier measurement
 * helps: there, the module is started and the token logged in first (the
 * raw side, as a running server is), the provider is started by loading a
 * key of the other token, then the K loads are timed one by one.  Keys are
 * spread over the token.  Each (N, K) is run three times; medians.
 *
 * The searches the K loads cost are counted apart (bench_count_finds), with
 * the provider on the counting shim, so that the shim's own cost is in no
 * timing.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define REPS 3

typedef unsigned long count_fn(const char *name);

/* The counting shim's C_FindObjectsInit counter, when the provider is on
 * it (HSMKEY_BENCH_SHIM, loaded by then); else NULL. */
static count_fn *shim_counter(void)
{
    const char *shim = getenv("HSMKEY_BENCH_SHIM");
    void *h = shim != NULL ? dlopen(shim, RTLD_NOW | RTLD_NOLOAD) : NULL;

    return h != NULL ? (count_fn *)dlsym(h, "hsmkey_shim_counts") : NULL;
}

/* The child: print "FIRST TOTAL WALL" (ms; the first two of CPU), then,
 * on the counting shim, the C_FindObjectsInit calls of the K loads. */
int bench_load_keys(const struct bench_cfg *cfg, const char *token, int k,
                    int nkeys)
{
    char uri[256];
    EVP_PKEY *key;
    double first = 0, t0, t1 = 0, start, wall;
    count_fn *count;
    unsigned long finds = 0;

    bench_login(cfg, token);
    bench_uri(cfg, "rsa-key", uri, sizeof(uri));
    if ((key = bench_load_key(uri)) == NULL) {
        fprintf(stderr, "bench: cannot load %s\n", uri);
        return 0;
    }
    EVP_PKEY_free(key);
    if ((count = shim_counter()) != NULL)
        finds = count("C_FindObjectsInit");
    start = bench_cpu_ms();
    wall = bench_wall_ms();
    for (int i = 0; i < k; i++) {
        snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=key-%d;"
                 "type=private", token, (int)((long)i * nkeys / k));
        t0 = bench_cpu_ms();
        key = bench_load_key(uri);
        t1 = bench_cpu_ms();
        if (key == NULL) {
            fprintf(stderr, "bench: cannot load %s\n", uri);
            return 0;
        }
        EVP_PKEY_free(key);
        if (i == 0)
            first = t1 - t0;
    }
    printf("%f %f %f", first, t1 - start, bench_wall_ms() - wall);
    if (count != NULL)
        printf(" %lu", count("C_FindObjectsInit") - finds);
    printf("\n");
    return 1;
}

/* Medians of REPS children loading k of nkeys keys. */
static int run_children(const char *self, const char *token, int k,
                        int nkeys, double *first, double *total,
                        double *wall)
{
    double f[REPS], t[REPS], w[REPS];
    char cmd[4096];

    for (int r = 0; r < REPS; r++) {
        FILE *p;
        int got;

        snprintf(cmd, sizeof(cmd), "'%s' --load-keys '%s' %d %d", self,
                 token, k, nkeys);
        if ((p = popen(cmd, "r")) == NULL)
            return 0;
        got = fscanf(p, "%lf %lf %lf", &f[r], &t[r], &w[r]);
        if (pclose(p) != 0 || got != 3)
            return 0;
    }
    *first = bench_median(f, REPS);
    *total = bench_median(t, REPS);
    *wall = bench_median(w, REPS);
    return 1;
}

int bench_many_keys(const struct bench_cfg *cfg, const char *self,
                    const char *token)
{
    static const struct {
        int objects;
        int k[3];
    } sizes[] = { { 100, { 1, 10, 50 } }, { 1000, { 1, 10, 100 } } };
    int have = 0;

    printf("\n## Loading many keys (ms of CPU)\n\n"
           "K distinct keys, each by its own URI through OSSL_STORE, from a "
           "token of N objects (N/2 key pairs), in a new process with the "
           "module up and the token logged in; medians of %d runs.  A "
           "token of 100 objects holds 50 keys.  The loading thread's CPU "
           "time (SoftHSM2 searches in it); the last column is the wall "
           "time of all K.\n\n"
           "| objects on the token (N) | keys loaded (K) | the token's own "
           "C_FindObjects, one key | first load | total | total / first "
           "load | per key after the first | total, wall clock |\n"
           "|---|---|---|---|---|---|---|---|\n", REPS);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        int nkeys = sizes[s].objects / 2;
        char mid[32];
        double find;

        bench_progress("many keys, %d objects\n", sizes[s].objects);
        if (!bench_add_keys(cfg, token, "key", have, nkeys - have))
            return 0;
        have = nkeys;
        snprintf(mid, sizeof(mid), "key-%d", nkeys / 2);
        find = bench_raw_find_ms(cfg, token, mid, 11);
        for (int i = 0; i < 3; i++) {
            int k = sizes[s].k[i];
            double first, total, wall;

            bench_progress("many keys, %d objects, %d keys\n",
                           sizes[s].objects, k);
            if (!run_children(self, token, k, nkeys, &first, &total,
                              &wall)) {
                fprintf(stderr, "bench: loading %d keys failed\n", k);
                return 0;
            }
            printf("| %d | %d | %.3f | %.3f | %.3f | %.2f |", sizes[s].objects,
                   k, find, first, total, total / first);
            if (k > 1)
                printf(" %.3f |", (total - first) / (k - 1));
            else
                printf(" - |");
            printf(" %.1f |\n", wall);
            fflush(stdout);
        }
    }
    return 1;
}

/* With the provider on the counting shim (bench.sh's last run), on the
 * token bench_many_keys filled: the searches K loads cost. */
int bench_count_finds(const char *self, const char *token)
{
    static const int ks[] = { 1, 10, 100 };
    const int nkeys = 500;

    printf("\n## Searches for many keys (C_FindObjectsInit)\n\n"
           "The K loads of the many-keys table's last rows, in a new process "
           "each, with the provider on the counting shim.\n\n"
           "| objects on the token (N) | keys loaded (K) | C_FindObjectsInit |"
           "\n|---|---|---|\n");
    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        char cmd[4096];
        double f, t, w;
        unsigned long finds;
        FILE *p;
        int got;

        snprintf(cmd, sizeof(cmd), "'%s' --load-keys '%s' %d %d", self,
                 token, ks[i], nkeys);
        if ((p = popen(cmd, "r")) == NULL)
            return 0;
        got = fscanf(p, "%lf %lf %lf %lu", &f, &t, &w, &finds);
        if (pclose(p) != 0 || got != 4) {
            fprintf(stderr, "bench: counting the searches of %d keys "
                    "failed\n", ks[i]);
            return 0;
        }
        printf("| %d | %d | %lu |\n", 2 * nkeys, ks[i], finds);
    }
    return 1;
}
