/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rate.c - timing: nthreads threads run one operation in a loop for a
 * fixed time; the round's rate is all their operations over the wall time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

struct worker {
    int (*fn)(void *arg, int thread);
    void *arg;
    int thread;
    double seconds;
    long ops, failures;
    pthread_barrier_t *start;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *work(void *p)
{
    struct worker *w = p;
    double end;

    pthread_barrier_wait(w->start);
    end = now() + w->seconds;
    do {
        if (w->fn(w->arg, w->thread))
            w->ops++;
        else
            w->failures++;
    } while (now() < end);
    return NULL;
}

static double one_round(const struct bench_cfg *cfg, int nthreads,
                        int (*fn)(void *, int), void *arg)
{
    struct worker w[64];
    pthread_t tid[64];
    pthread_barrier_t start;
    long ops = 0, failures = 0;
    double t0;

    pthread_barrier_init(&start, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct worker){ fn, arg, i, cfg->seconds, 0, 0, &start };
        pthread_create(&tid[i], NULL, work, &w[i]);
    }
    pthread_barrier_wait(&start);
    t0 = now();
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        ops += w[i].ops;
        failures += w[i].failures;
    }
    pthread_barrier_destroy(&start);
    if (failures > 0) {
        fprintf(stderr, "bench: %ld operations failed\n", failures);
        exit(1);
    }
    return ops / (now() - t0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_rate(const struct bench_cfg *cfg, int nthreads,
                  int (*fn)(void *arg, int thread), void *arg)
{
    struct bench_mode mode = { fn, arg };
    double rate;

    bench_rates(cfg, nthreads, &mode, 1, &rate);
    return rate;
}

/*
 * Rounds of the modes take turns (A B C A B C ...), so a machine that slows
 * down for a while (a virtual CPU losing its host core, a busy neighbour)
 * slows every mode alike instead of spoiling one mode's figure.
 */
void bench_rates(const struct bench_cfg *cfg, int nthreads,
                 const struct bench_mode *modes, int nmodes, double *out)
{
    double r[BENCH_MAX_MODES][BENCH_MAX_ROUNDS];
    int n = cfg->rounds < BENCH_MAX_ROUNDS ? cfg->rounds : BENCH_MAX_ROUNDS;

    for (int i = 0; i < n; i++)
        for (int m = 0; m < nmodes && m < BENCH_MAX_MODES; m++)
            r[m][i] = one_round(cfg, nthreads, modes[m].fn, modes[m].arg);
    for (int m = 0; m < nmodes && m < BENCH_MAX_MODES; m++) {
        qsort(r[m], n, sizeof(r[m][0]), cmp);
        out[m] = r[m][n / 2];
    }
}
