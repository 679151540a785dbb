/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_faults_mt.c - token faults while several threads sign with one key
 * (prov_faults.c has the one-thread cases and the environment).
 *
 *   prov_faults stall URI         one C_Sign stalls 2 s: only its thread
 *                                 waits, the others keep signing
 *   prov_faults pull-threads URI  the token is pulled and re-inserted under
 *                                 load: clean failures while it is out,
 *                                 every signature succeeds once it is back
 *   prov_faults soak URI          one fault at a time (lost session, logged
 *                                 out, removed once, device error) while the
 *                                 threads sign: only the device errors fail
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <openssl/err.h>

#include "prov_faults.h"

#define TF_THREADS 4
#define TF_RECS 400000

struct tf_rec {
    double start, end;
    int ok;
};

struct tf_worker {
    pthread_t tid;
    struct tf_rec *recs;
    int n;
    atomic_int oks;  /* signatures that worked, read while it runs */
    atomic_int bads; /* and those that failed */
    char first_error[1024];
};

static struct tf_worker workers[TF_THREADS];
static atomic_int stop;
static atomic_int failures;

/* The distinct errors seen (the file and line parts of each are the same
 * for every thread), with how often. */
#define TF_KINDS 12
static struct {
    char text[512];
    int n;
} kinds[TF_KINDS];
static int nkinds;
static pthread_mutex_t kinds_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_error(const char *err)
{
    int i;

    pthread_mutex_lock(&kinds_lock);
    for (i = 0; i < nkinds && strncmp(kinds[i].text, err,
                                      sizeof(kinds[i].text) - 1); i++)
        ;
    if (i == nkinds && nkinds < TF_KINDS)
        snprintf(kinds[nkinds++].text, sizeof(kinds[0].text), "%s", err);
    if (i < nkinds)
        kinds[i].n++;
    pthread_mutex_unlock(&kinds_lock);
}

static void print_errors(void)
{
    for (int i = 0; i < nkinds; i++)
        printf("  %6d x %s\n", kinds[i].n, kinds[i].text);
}

static void *work(void *arg)
{
    struct tf_worker *w = arg;
    char err[1024];

    while (!atomic_load(&stop) && w->n < TF_RECS) {
        struct tf_rec *r = &w->recs[w->n];

        r->start = tc_now_ms();
        r->ok = tc_sign(tf.key, tf.pub);
        r->end = tc_now_ms();
        if (!r->ok) {
            atomic_fetch_add(&failures, 1);
            note_error(tc_errors(err, sizeof(err)));
            if (w->first_error[0] == '\0')
                snprintf(w->first_error, sizeof(w->first_error), "%s", err);
            atomic_fetch_add(&w->bads, 1);
        } else {
            atomic_fetch_add(&w->oks, 1);
        }
        w->n++;
    }
    ERR_clear_error();
    return NULL;
}

static void start_workers(void)
{
    atomic_store(&stop, 0);
    atomic_store(&failures, 0);
    for (int i = 0; i < TF_THREADS; i++) {
        workers[i].n = 0;
        atomic_store(&workers[i].oks, 0);
        atomic_store(&workers[i].bads, 0);
        workers[i].first_error[0] = '\0';
        workers[i].recs = calloc(TF_RECS, sizeof(struct tf_rec));
        TC_CHECK(workers[i].recs != NULL, "no memory");
        TC_CHECK(pthread_create(&workers[i].tid, NULL, work, &workers[i])
                     == 0,
                 "pthread_create");
    }
}

static void stop_workers(void)
{
    atomic_store(&stop, 1);
    for (int i = 0; i < TF_THREADS; i++)
        pthread_join(workers[i].tid, NULL);
}

static void free_workers(void)
{
    for (int i = 0; i < TF_THREADS; i++)
        free(workers[i].recs);
}

/*
 * Until every thread has counted `more` more signatures that worked (ok) or
 * failed (!ok) than it had on entry, at most 20 s.  The tests wait for what
 * they look at rather than sleep for it: under a loaded machine or a
 * sanitizer, a fixed time can pass with no signature made at all.
 */
static void wait_each(int ok, int more, const char *what)
{
    int seen[TF_THREADS], done = 0;
    double t0 = tc_now_ms();

    for (int i = 0; i < TF_THREADS; i++)
        seen[i] = atomic_load(ok ? &workers[i].oks : &workers[i].bads);
    while (!done && tc_now_ms() - t0 < 20000) {
        done = 1;
        for (int i = 0; i < TF_THREADS; i++)
            done &= atomic_load(ok ? &workers[i].oks : &workers[i].bads)
                    >= seen[i] + more;
        if (!done)
            tc_sleep_ms(1);
    }
    TC_CHECK(done, "%s: a thread did not get there within 20 s", what);
}

/* Signatures of thread i with start >= from and end <= to that worked. */
static int tally_thread(int i, double from, double to)
{
    int ok = 0;

    for (int j = 0; j < workers[i].n; j++) {
        const struct tf_rec *r = &workers[i].recs[j];

        ok += r->ok && r->start >= from && r->end <= to;
    }
    return ok;
}

/* Signatures of all threads with start >= from and end <= to. */
static void tally(double from, double to, int *ok, int *bad)
{
    *ok = *bad = 0;
    for (int i = 0; i < TF_THREADS; i++) {
        for (int j = 0; j < workers[i].n; j++) {
            const struct tf_rec *r = &workers[i].recs[j];

            if (r->start >= from && r->end <= to)
                *(r->ok ? ok : bad) += 1;
        }
    }
}

int tf_stall(const char *uri)
{
    const struct tf_rec *stalled = NULL;
    int during, bad, nstalled = 0, total = 0, owner = -1;
    double t0;

    tf_setup(uri);
    tc_shim_control("C_Sign:stall=2000:count=1");
    t0 = tc_now_ms();
    start_workers();
    while (tc_shim_count("stalls") == 0 && tc_now_ms() - t0 < 5000)
        tc_sleep_ms(10);
    tc_sleep_ms(2300);
    stop_workers();
    for (int i = 0; i < TF_THREADS; i++) {
        total += workers[i].n;
        for (int j = 0; j < workers[i].n; j++) {
            if (workers[i].recs[j].end - workers[i].recs[j].start >= 1900) {
                stalled = &workers[i].recs[j];
                owner = i;
                nstalled++;
            }
        }
    }
    TC_CHECK(nstalled == 1 && tc_shim_count("stalls") == 1,
             "%d signatures took 2 s, %lu stalls injected: one of each "
             "expected", nstalled, tc_shim_count("stalls"));
    TC_CHECK(stalled->ok, "the stalled signature failed");
    tally(stalled->start, stalled->end, &during, &bad);
    printf("stall %s: one C_Sign stalled %.0f ms; meanwhile the other %d "
           "threads made %d signatures (%d failed); %d signatures in all, "
           "%d failures\n",
           uri, stalled->end - stalled->start, TF_THREADS - 1, during, bad,
           total, atomic_load(&failures));
    TC_CHECK(atomic_load(&failures) == 0, "%d signatures failed",
             atomic_load(&failures));
    /* Held up behind the stalled C_Sign, a thread would sign nothing
     * while it lasts; how many it signs depends on the machine. */
    for (int i = 0; i < TF_THREADS; i++)
        TC_CHECK(i == owner || tally_thread(i, stalled->start, stalled->end)
                                   >= 2,
                 "the stall held up thread %d: %d signatures during it", i,
                 tally_thread(i, stalled->start, stalled->end));
    free_workers();
    tf_teardown();
    return 0;
}

int tf_pull_threads(const char *uri)
{
    double t_pull0, t_pull, t_back0, t_back;
    int ok_before, bad_before, ok_out, bad_out, ok_mid, bad_mid;
    int ok_after, bad_after;
    unsigned long faults;

    tf_setup(uri);
    start_workers();
    wait_each(1, 2, "before the pull");
    faults = tc_shim_count("faults");
    t_pull0 = tc_now_ms();
    tc_shim_control("*:CKR_DEVICE_REMOVED");
    t_pull = tc_now_ms();
    tc_sleep_ms(700); /* the token stays out at least this long */
    wait_each(0, 2, "while the token is out");
    t_back0 = tc_now_ms();
    tc_shim_control("");
    t_back = tc_now_ms();
    tc_sleep_ms(300);
    wait_each(1, 3, "after the re-insert");
    stop_workers();
    faults = tc_shim_count("faults") - faults;

    tally(0, t_pull0, &ok_before, &bad_before);
    tally(t_pull, t_back0, &ok_out, &bad_out);
    tally(t_back0, t_back + 100, &ok_mid, &bad_mid);
    tally(t_back + 100, 1e300, &ok_after, &bad_after);
    printf("pull-threads %s, %d threads: before %d ok/%d failed; token out "
           "%.0f ms: %d ok/%d failed; re-insert: %d ok/%d failed; after "
           "(from 100 ms): %d ok/%d failed; ~%lu faults injected\n",
           uri, TF_THREADS, ok_before, bad_before, t_back0 - t_pull, ok_out,
           bad_out, ok_mid, bad_mid, ok_after, bad_after, faults);
    for (int i = 0; i < TF_THREADS; i++) {
        TC_CHECK(workers[i].first_error[0] == '\0'
                     || strstr(workers[i].first_error, tf.label) != NULL,
                 "thread %d: the error does not name token '%s': %s", i,
                 tf.label, workers[i].first_error);
    }
    print_errors();
    TC_CHECK(bad_before == 0 && ok_before > 0, "before the pull");
    TC_CHECK(ok_out == 0 && bad_out > 0, "while out: %d signatures "
             "succeeded", ok_out);
    TC_CHECK(bad_after == 0 && ok_after > 0, "after the re-insert: %d "
             "signatures failed", bad_after);
    free_workers();
    tf_teardown();
    return 0;
}

/*
 * Soak rounds: the rule; how many signatures it must fail (the one it hits);
 * and how many more may fail.  A removal kills every session of the token,
 * so the operations other threads have in flight inside the token at that
 * instant may fail with it, as they would on a real token (SoftHSM answers
 * them oddly when the shim logs the token out under them): at most one per
 * other thread.  Everything else is exact.
 */
static const struct {
    const char *rule;
    int fails, extra;
} soak_rules[] = {
    { "C_Sign:CKR_SESSION_HANDLE_INVALID:count=1", 0, 0 },
    { "C_SignInit:CKR_SESSION_CLOSED:count=1", 0, 0 },
    { "C_SignInit:CKR_USER_NOT_LOGGED_IN:count=1", 0, 0 },
    { "C_Sign:CKR_DEVICE_ERROR:count=1", 1, 0 },
    { "C_Sign:CKR_DEVICE_REMOVED:count=1", 0, TF_THREADS - 1 },
    { "C_SignInit:CKR_TOKEN_NOT_PRESENT:count=1", 0, TF_THREADS - 1 },
};
#define TF_SOAK_RULES (sizeof(soak_rules) / sizeof(*soak_rules))
#define TF_SOAK_ROUNDS (10 * (int)TF_SOAK_RULES)

/* Every thread has signed successfully twice since now: the recovery is
 * over.  Waited for, not assumed after a fixed time, so a slow build
 * (ASan, valgrind) never starts the next fault while one is in progress. */
static void wait_recovered(int round)
{
    int seen[TF_THREADS], done = 0;
    double t0 = tc_now_ms();

    for (int i = 0; i < TF_THREADS; i++)
        seen[i] = atomic_load(&workers[i].oks);
    while (!done && tc_now_ms() - t0 < 20000) {
        done = 1;
        for (int i = 0; i < TF_THREADS; i++)
            done &= atomic_load(&workers[i].oks) >= seen[i] + 2;
        if (!done)
            tc_sleep_ms(1);
    }
    TC_CHECK(done, "round %d: a thread did not sign again within 20 s",
             round);
}

/* One round: the rule fires once, then every thread signs again.
 * Returns the signatures that failed meanwhile. */
static int soak_round(int i)
{
    int before = atomic_load(&failures), r = i % (int)TF_SOAK_RULES;
    unsigned long f = tc_shim_count("faults");
    double t0;

    tc_shim_control(soak_rules[r].rule);
    t0 = tc_now_ms();
    while (tc_shim_count("faults") == f && tc_now_ms() - t0 < 5000)
        tc_sleep_ms(1);
    TC_CHECK(tc_shim_count("faults") == f + 1, "round %d (%s): %lu faults "
             "fired", i, soak_rules[r].rule, tc_shim_count("faults") - f);
    wait_recovered(i);
    return atomic_load(&failures) - before;
}

int tf_soak(const char *uri)
{
    int total = 0, failed[TF_SOAK_RULES] = { 0 }, worst[TF_SOAK_RULES] = { 0 };
    int ok = 1;

    tf_setup(uri);
    start_workers();
    for (int i = 0; i < TF_SOAK_ROUNDS; i++) {
        int r = i % (int)TF_SOAK_RULES, n = soak_round(i);

        failed[r] += n;
        if (n > worst[r])
            worst[r] = n;
        if (n < soak_rules[r].fails || n > soak_rules[r].fails
                                               + soak_rules[r].extra) {
            fprintf(stderr, "round %d (%s): %d signatures failed, %d..%d "
                    "expected\n", i, soak_rules[r].rule, n,
                    soak_rules[r].fails,
                    soak_rules[r].fails + soak_rules[r].extra);
            ok = 0;
        }
    }
    tc_shim_control("");
    stop_workers();
    for (int i = 0; i < TF_THREADS; i++)
        total += workers[i].n;
    printf("soak %s: %d threads, %d signatures, %d faults injected one at a "
           "time, %d signatures failed\n", uri, TF_THREADS, total,
           TF_SOAK_ROUNDS, atomic_load(&failures));
    for (size_t r = 0; r < TF_SOAK_RULES; r++)
        printf("  %-44s x%d: %d failed (at most %d in a round; allowed "
               "%d..%d)\n", soak_rules[r].rule, TF_SOAK_ROUNDS
               / (int)TF_SOAK_RULES, failed[r], worst[r], soak_rules[r].fails,
               soak_rules[r].fails + soak_rules[r].extra);
    print_errors();
    TC_CHECK(ok, "signatures failed beyond the faults (above)");
    free_workers();
    tf_teardown();
    return 0;
}
