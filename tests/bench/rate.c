/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rate.c - timing: nthreads threads run one operation in a loop for a
 * fixed time; the round's rate is all their operations over the wall time.
 * Each thread's CPU time is taken too: the CPU time per operation does not
 * count the time a thread waited for a core, which on a busy shared
 * machine is most of the noise (a PKCS#11 module in the process, as
 * SoftHSM2 is, does its work in the calling thread).  And the time a
 * thread neither ran nor waited for a core (Linux schedstat) is the time
 * it slept on a lock: a token that serializes threads shows there, however
 * busy the machine.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

struct worker {
    int (*fn)(void *arg, int thread);
    void *arg;
    int thread;
    double seconds;
    long ops, failures;
    double cpu;   /* this thread's CPU seconds in the loop */
    double wall;  /* its wall seconds */
    double queue; /* its seconds waiting for a core (-1: unknown) */
    pthread_barrier_t *start;
};

static double clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* Seconds this thread has waited on a run queue (Linux schedstat), or
 * -1. */
static double queued(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    unsigned long long run, wait;
    int n;

    if (f == NULL)
        return -1;
    n = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    return n == 2 ? wait / 1e9 : -1;
}

static void *work(void *p)
{
    struct worker *w = p;
    double end, cpu0, q0, t0;

    pthread_barrier_wait(w->start);
    q0 = queued();
    cpu0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    t0 = now();
    end = t0 + w->seconds;
    do {
        if (w->fn(w->arg, w->thread))
            w->ops++;
        else
            w->failures++;
    } while (now() < end);
    w->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    w->wall = now() - t0;
    w->queue = q0 < 0 ? -1 : queued() - q0;
    return NULL;
}

/* One round: the rate of successful operations; *ops and *failures add,
 * *cpu is the threads' CPU time per operation, *blocked the share of their
 * time they neither ran nor waited for a core (-1: unknown). */
static double one_round(const struct bench_cfg *cfg, int nthreads,
                        const struct bench_mode *mode, long *ops,
                        long *failures, double *cpu, double *blocked)
{
    struct worker w[BENCH_MAX_THREADS];
    pthread_t tid[BENCH_MAX_THREADS];
    pthread_barrier_t start;
    long n = 0;
    double t0, busy = 0, wall = 0, idle = 0;
    int known = 1;

    if (nthreads > BENCH_MAX_THREADS) {
        fprintf(stderr, "bench: at most %d threads\n", BENCH_MAX_THREADS);
        exit(1);
    }
    pthread_barrier_init(&start, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct worker){ mode->fn, mode->arg, i, cfg->seconds, 0, 0,
                                0, 0, 0, &start };
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
            fprintf(stderr, "bench: cannot start thread %d\n", i);
            exit(1);
        }
    }
    pthread_barrier_wait(&start);
    t0 = now();
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        n += w[i].ops;
        *failures += w[i].failures;
        busy += w[i].cpu;
        wall += w[i].wall;
        idle += w[i].wall - w[i].cpu - w[i].queue;
        known = known && w[i].queue >= 0;
    }
    pthread_barrier_destroy(&start);
    *ops += n;
    *cpu = n > 0 ? busy / n : 0;
    *blocked = known && wall > 0 ? (idle > 0 ? idle / wall : 0) : -1;
    return n / (now() - t0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, n, sizeof(v[0]), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Rounds of the modes take turns (A B C A B C ...), so a machine that slows
 * down for a while (a virtual CPU losing its host core, a busy neighbour)
 * slows every mode alike instead of spoiling one mode's figure.
 */
void bench_run(const struct bench_cfg *cfg, int nthreads,
               const struct bench_mode *modes, int nmodes,
               struct bench_result *res)
{
    memset(res, 0, sizeof(*res));
    res->nmodes = nmodes < BENCH_MAX_MODES ? nmodes : BENCH_MAX_MODES;
    res->rounds = cfg->rounds < 1 ? 1
                  : cfg->rounds < BENCH_MAX_ROUNDS ? cfg->rounds
                                                   : BENCH_MAX_ROUNDS;
    for (int i = 0; i < res->rounds; i++)
        for (int m = 0; m < res->nmodes; m++)
            res->rate[m][i] = one_round(cfg, nthreads, &modes[m],
                                        &res->ops[m], &res->failures[m],
                                        &res->cpu[m][i],
                                        &res->blocked[m][i]);
}

double bench_result_rate(const struct bench_result *res, int m)
{
    double v[BENCH_MAX_ROUNDS];

    memcpy(v, res->rate[m], sizeof(v));
    return bench_median(v, res->rounds);
}

double bench_result_blocked(const struct bench_result *res, int m)
{
    double v[BENCH_MAX_ROUNDS];

    memcpy(v, res->blocked[m], sizeof(v));
    return bench_median(v, res->rounds);
}

double bench_result_cpu(const struct bench_result *res, int m)
{
    double v[BENCH_MAX_ROUNDS];

    memcpy(v, res->cpu[m], sizeof(v));
    return bench_median(v, res->rounds);
}

void bench_require_no_failures(const struct bench_result *res,
                               const char *what)
{
    for (int m = 0; m < res->nmodes; m++) {
        if (res->failures[m] > 0) {
            fprintf(stderr, "bench: %s: %ld operations failed (mode %d)\n",
                    what, res->failures[m], m);
            exit(1);
        }
    }
}

void bench_progress(const char *fmt, ...)
{
    static double t0;
    va_list ap;

    if (t0 == 0)
        t0 = now();
    fprintf(stderr, "bench: [%6.1f s] ", now() - t0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

double bench_cpu_ms(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID) * 1e3;
}

double bench_wall_ms(void)
{
    return now() * 1e3;
}
