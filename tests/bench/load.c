/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load.c - the CPU time to load a key by URI (the loading thread's; the
 * module works in it), with 1, 100 and 1000 objects added to the token:
 * the token's own C_FindObjects for the key; the first load of a key in a
 * running process (the module already started); a repeated load (served
 * from the provider's search cache); and a load in a new process (this
 * program re-executed with --load-once: module start and login included).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

double bench_load_once(const char *uri)
{
    double t0 = bench_cpu_ms();
    EVP_PKEY *key = bench_load_key(uri);
    double ms = bench_cpu_ms() - t0;

    if (key == NULL) {
        fprintf(stderr, "bench: cannot load %s\n", uri);
        return -1;
    }
    EVP_PKEY_free(key);
    return ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_load_warm(const char *uri)
{
    double t[101];

    for (int i = 0; i < 101; i++)
        if ((t[i] = bench_load_once(uri)) < 0)
            return -1;
    qsort(t, 101, sizeof(t[0]), cmp);
    return t[50];
}

double bench_load_cold(const char *self, const char *uri)
{
    char cmd[4096];
    double t[5];
    FILE *p;

    for (int i = 0; i < 5; i++) {
        snprintf(cmd, sizeof(cmd), "'%s' --load-once '%s'", self, uri);
        if ((p = popen(cmd, "r")) == NULL || fscanf(p, "%lf", &t[i]) != 1) {
            if (p != NULL)
                pclose(p);
            return -1;
        }
        pclose(p);
    }
    qsort(t, 5, sizeof(t[0]), cmp);
    return t[2];
}

/* form picks one of three spellings, so each round misses the cache. */
double bench_load_first(const char *token, const char *const *labels, int n,
                        int form)
{
    static const char *const extra[] = { ";type=private", "",
                                         ";model=SoftHSM%20v2;type=private" };
    char uri[256];
    double t[16];

    for (int i = 0; i < n && i < 16; i++) {
        snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=%s%s", token,
                 labels[i], extra[form % 3]);
        if ((t[i] = bench_load_once(uri)) < 0)
            return -1;
    }
    qsort(t, n, sizeof(t[0]), cmp);
    return t[n / 2];
}

/*
 * Each round adds objects, then loads keys never loaded before in this
 * process (the search, module already up), the same key again (cached),
 * and the key in a new process (module start and login included).
 */
void bench_loads(const struct bench_cfg *cfg, const char *self)
{
    static const int totals[] = { 1, 100, 1000 };
    /* Keys no earlier part of the benchmark loaded. */
    static const char *const keys[3] = { "rsa-other", "ec384-key",
                                         "ec521-key" };
    char uri[256];
    int have = 0;

    bench_uri(cfg, "rsa-key", uri, sizeof(uri));
    printf("\n## Loading a key by URI (ms of CPU, median)\n\n| objects "
           "added to "
           "the token | token's own C_FindObjects | first load, module up | "
           "warm (cached) | cold (new process) |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < 3; i++) {
        bench_progress("loads, %d objects added\n", totals[i]);
        if (!bench_add_objects(cfg, totals[i] - have))
            exit(1);
        have = totals[i];
        printf("| %d | %.3f | %.3f | %.4f | %.3f |\n", have,
               bench_raw_find_ms(cfg, cfg->token, keys[0], 5),
               bench_load_first(cfg->token, keys, 3, (int)i),
               bench_load_warm(uri), bench_load_cold(self, uri));
        fflush(stdout);
    }
}
