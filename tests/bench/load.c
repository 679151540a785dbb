/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load.c - time to load a key by URI.  Cold runs in a fresh process (this
 * program re-executed with --load-once), warm repeats the load here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double bench_load_once(const char *uri)
{
    double t0 = now_ms();
    EVP_PKEY *key = bench_load_key(uri);
    double ms = now_ms() - t0;

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
