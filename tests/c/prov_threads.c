/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_threads.c - many threads signing through the provider at once, as a
 * threaded TLS server does, each signature verified in software.
 *
 *   prov_threads sign T S URI...   T threads x S signatures; with several
 *                                  URIs each thread turns through every key
 *                                  (thread i, signature j: key (i + j) % n)
 *   prov_threads load T S URI...   T threads x S rounds of load, sign, free
 *                                  (store, keymgmt and key cache under
 *                                  contention, not only the sign path)
 *
 * The keys are loaded once by the main thread for `sign`.  Exit 0 only when
 * every signature verifies; the figures are printed.  Built as is for the
 * ThreadSanitizer run too (tests/c/tsan.sh).
 */
#include <pthread.h>
#include <string.h>
#include <openssl/err.h>

#include "prov_util.h"

#define TT_MAX_THREADS 128
#define TT_MAX_KEYS 8

struct tt_job {
    int id, count, failures;
    int load; /* load the key each round */
};

static EVP_PKEY *keys[TT_MAX_KEYS], *pubs[TT_MAX_KEYS];
static char **uris;
static int nkeys;

static int sign_loaded(struct tt_job *job, int j)
{
    int k = (job->id + j) % nkeys;

    return tc_sign(keys[k], pubs[k]);
}

static int load_and_sign(struct tt_job *job, int j)
{
    int k = (job->id + j) % nkeys;
    EVP_PKEY *key = tc_load_key(uris[k]);
    int ok = key != NULL && tc_sign(key, pubs[k]);

    EVP_PKEY_free(key);
    return ok;
}

static void *worker(void *arg)
{
    struct tt_job *job = arg;
    char err[1024];

    for (int j = 0; j < job->count; j++) {
        if (job->load ? load_and_sign(job, j) : sign_loaded(job, j))
            continue;
        if (job->failures++ == 0)
            fprintf(stderr, "thread %d, signature %d: %s\n", job->id, j,
                    tc_errors(err, sizeof(err)));
    }
    ERR_clear_error();
    return NULL;
}

static int run(int nthreads, int count, int load)
{
    static struct tt_job jobs[TT_MAX_THREADS];
    pthread_t tid[TT_MAX_THREADS];
    int failures = 0;
    double t0 = tc_now_ms(), ms;

    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (struct tt_job){ i, count, 0, load };
        TC_CHECK(pthread_create(&tid[i], NULL, worker, &jobs[i]) == 0,
                 "pthread_create");
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        failures += jobs[i].failures;
    }
    ms = tc_now_ms() - t0;
    printf("%s: %d threads x %d signatures on %d key(s): %d failures, "
           "%.1f s, %.0f signatures/s\n",
           load ? "load+sign" : "sign", nthreads, count, nkeys, failures,
           ms / 1e3, nthreads * (double)count * 1e3 / ms);
    return failures == 0;
}

int main(int argc, char **argv)
{
    int nthreads, count, load, ok;
    char err[1024];

    if (argc < 5 || (strcmp(argv[1], "sign") && strcmp(argv[1], "load"))) {
        fprintf(stderr, "usage: see the header of prov_threads.c\n");
        return 2;
    }
    load = strcmp(argv[1], "load") == 0;
    nthreads = atoi(argv[2]);
    count = atoi(argv[3]);
    uris = argv + 4;
    nkeys = argc - 4;
    TC_CHECK(nthreads >= 1 && nthreads <= TT_MAX_THREADS && count >= 1
                 && nkeys <= TT_MAX_KEYS,
             "1..%d threads, 1..%d keys", TT_MAX_THREADS, TT_MAX_KEYS);
    for (int k = 0; k < nkeys; k++) {
        keys[k] = tc_load_key(uris[k]);
        pubs[k] = keys[k] != NULL ? tc_public(keys[k]) : NULL;
        TC_CHECK(pubs[k] != NULL, "cannot load %s: %s", uris[k],
                 tc_errors(err, sizeof(err)));
    }
    ok = run(nthreads, count, load);
    for (int k = 0; k < nkeys; k++) {
        EVP_PKEY_free(pubs[k]);
        EVP_PKEY_free(keys[k]);
    }
    return ok ? 0 : 1;
}
