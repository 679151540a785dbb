/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_limits.c - signing through a token with a real HSM's limits, and
 * nothing left behind on the token by recoveries.  The token is SoftHSM2
 * behind the fault-injecting shim (tests/p11shim), which plays the limits
 * (HSMKEY_SHIM_LIMITS, HSMKEY_SHIM_FAULTS, set by run.sh --limits/--faults)
 * and keeps the oracle: what the token holds for this process.
 *
 *   prov_limits sign URI T N MAX_OPENS MAX_COPIES REFUSED
 *        T threads x N signatures, each verified in software.  Exit 0 only
 *        when none failed, the shim refused exactly REFUSED calls for a
 *        limit (0: hsmkey asked no more than the token allows; a token
 *        without C_CopyObject refuses the one copy asked before hsmkey
 *        knows), C_OpenSession and C_CopyObject were called at most
 *        MAX_OPENS and MAX_COPIES times (-1: any), and what the token holds
 *        equals what the provider says it holds.
 *
 *   prov_limits leaks URI ROUNDS
 *        ROUNDS faults, one at a time, of every kind the core recovers from
 *        (lost session, logged out, handle refused, device errors, token
 *        removed) while 4 threads sign; after each, every thread signs
 *        again.  Then the sessions open and the session objects on the token
 *        must be exactly the provider's pooled sessions and key copies.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <openssl/err.h>

#include "prov_util.h"

#define MAX_THREADS 64

struct signer {
    pthread_t tid;
    EVP_PKEY *key, *pub;
    int count;           /* 0: until told to stop */
    atomic_int *stop;
    atomic_long oks;
    long failures;
};

static void *sign_loop(void *arg)
{
    struct signer *sg = arg;
    char err[1024];

    for (int i = 0; sg->count == 0 ? !atomic_load(sg->stop) : i < sg->count;
         i++) {
        if (tc_sign(sg->key, sg->pub))
            atomic_fetch_add(&sg->oks, 1);
        else if (sg->failures++ == 0)
            fprintf(stderr, "signature failed: %s\n",
                    tc_errors(err, sizeof(err)));
    }
    ERR_clear_error();
    return NULL;
}

static void start(struct signer *sg, int t, EVP_PKEY *key, EVP_PKEY *pub,
                  int count, atomic_int *stop)
{
    for (int i = 0; i < t; i++) {
        sg[i] = (struct signer){ .key = key, .pub = pub, .count = count,
                                 .stop = stop };
        TC_CHECK(pthread_create(&sg[i].tid, NULL, sign_loop, &sg[i]) == 0,
                 "pthread_create");
    }
}

static long join(struct signer *sg, int t, long *oks)
{
    long failures = 0;

    *oks = 0;
    for (int i = 0; i < t; i++) {
        pthread_join(sg[i].tid, NULL);
        failures += sg[i].failures;
        *oks += atomic_load(&sg[i].oks);
    }
    return failures;
}

/*
 * What the token holds is what the provider holds: the sessions open (the
 * shim's gauge) and the session objects (a search of the token's own: the
 * shim cannot see SoftHSM2 drop private session objects at a logout it
 * simulated after a removal).
 */
static int balanced(void)
{
    struct tc_stats st;
    unsigned long open = tc_shim_count("sessions_open");
    long objects = tc_token_session_objects();

    if (objects < 0) /* every session taken: the shim's count, then */
        objects = (long)tc_shim_count("session_objects");

    tc_provider_stats(&st);
    printf("  on the token: %lu sessions open, %ld session objects; the "
           "provider holds %lu sessions (%lu idle), %lu key copies\n", open,
           objects, st.sessions, st.idle, st.copies);
    printf("  calls: C_OpenSession %lu, C_CloseSession %lu, C_CopyObject "
           "%lu, C_DestroyObject %lu, C_Login %lu\n",
           tc_shim_count("C_OpenSession"), tc_shim_count("C_CloseSession"),
           tc_shim_count("C_CopyObject"), tc_shim_count("C_DestroyObject"),
           tc_shim_count("C_Login"));
    return open == st.sessions && objects == (long)st.copies
           && st.idle == st.sessions;
}

static void load(const char *uri, EVP_PKEY **key, EVP_PKEY **pub)
{
    tc_shim_open();
    tc_shim_control("");
    *key = tc_load_key(uri);
    if (*key == NULL)
        ERR_print_errors_fp(stderr);
    TC_CHECK(*key != NULL && (*pub = tc_public(*key)) != NULL,
             "cannot load %s", uri);
}

static int sign_under_limits(const char *uri, int t, int n, long max_opens,
                             long max_copies, unsigned long refused)
{
    struct signer sg[MAX_THREADS];
    EVP_PKEY *key, *pub;
    atomic_int stop = 0;
    long failures, oks;
    unsigned long opens, copies, limited;
    int ok;

    TC_CHECK(t > 0 && t <= MAX_THREADS && n > 0, "bad arguments");
    load(uri, &key, &pub);
    start(sg, t, key, pub, n, &stop);
    failures = join(sg, t, &oks);
    opens = tc_shim_count("C_OpenSession"); /* before balanced() opens one */
    copies = tc_shim_count("C_CopyObject");
    limited = tc_shim_count("limited");
    printf("limits %s: %d threads x %d signatures: %ld made, %ld failed; "
           "%lu calls refused for a limit\n", uri, t, n, oks, failures,
           limited);
    ok = balanced();
    TC_CHECK(ok, "the token holds other than the provider says");
    TC_CHECK(failures == 0, "signatures failed");
    TC_CHECK(limited == refused,
             "the token refused %lu calls for a limit, %lu expected", limited,
             refused);
    TC_CHECK(max_opens < 0 || opens <= (unsigned long)max_opens,
             "%lu sessions opened, at most %ld allowed", opens, max_opens);
    TC_CHECK(max_copies < 0 || copies <= (unsigned long)max_copies,
             "C_CopyObject called %lu times, at most %ld expected", copies,
             max_copies);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return 1;
}

/* Every kind of loss the core recovers from, one at a time. */
static const char *const leak_rules[] = {
    "C_Sign:CKR_SESSION_HANDLE_INVALID:count=1",
    "C_SignInit:CKR_SESSION_CLOSED:count=1",
    "C_SignInit:CKR_USER_NOT_LOGGED_IN:count=1",
    "C_SignInit:0x60:count=1", /* CKR_KEY_HANDLE_INVALID */
    "C_Sign:CKR_DEVICE_ERROR:count=2",
    "C_Sign:CKR_DEVICE_REMOVED:count=1",
    "C_SignInit:CKR_TOKEN_NOT_PRESENT:count=1",
};
#define NRULES (sizeof(leak_rules) / sizeof(leak_rules[0]))

/* The rule fired, and every thread signed twice since. */
static void round_over(struct signer *sg, int t, unsigned long faults_before,
                       int round)
{
    long seen[MAX_THREADS];
    double t0 = tc_now_ms();
    int done = 0;

    while (tc_shim_count("faults") == faults_before
           && tc_now_ms() - t0 < 10000)
        tc_sleep_ms(1);
    TC_CHECK(tc_shim_count("faults") > faults_before,
             "round %d: the fault never fired", round);
    for (int i = 0; i < t; i++)
        seen[i] = atomic_load(&sg[i].oks);
    while (!done && tc_now_ms() - t0 < 30000) {
        done = 1;
        for (int i = 0; i < t; i++)
            done &= atomic_load(&sg[i].oks) >= seen[i] + 2;
        if (!done)
            tc_sleep_ms(1);
    }
    TC_CHECK(done, "round %d: a thread did not sign again", round);
}

static int leaks(const char *uri, int rounds)
{
    struct signer sg[4];
    EVP_PKEY *key, *pub;
    atomic_int stop = 0;
    long failures, oks;
    int ok;

    load(uri, &key, &pub);
    start(sg, 4, key, pub, 0, &stop);
    for (int i = 0; i < rounds; i++) {
        unsigned long f = tc_shim_count("faults");

        tc_shim_control(leak_rules[i % NRULES]);
        round_over(sg, 4, f, i);
    }
    tc_shim_control("");
    atomic_store(&stop, 1);
    failures = join(sg, 4, &oks);
    printf("leaks %s: %d recoveries (%zu kinds) while 4 threads signed: "
           "%ld signatures made, %ld failed\n", uri, rounds, NRULES, oks,
           failures);
    ok = balanced();
    TC_CHECK(ok, "the token holds sessions or objects the provider forgot");
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return 1;
}

int main(int argc, char **argv)
{
    int ok = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 8 && strcmp(argv[1], "sign") == 0)
        ok = sign_under_limits(argv[2], atoi(argv[3]), atoi(argv[4]),
                               atol(argv[5]), atol(argv[6]),
                               strtoul(argv[7], NULL, 10));
    else if (argc == 4 && strcmp(argv[1], "leaks") == 0)
        ok = leaks(argv[2], atoi(argv[3]));
    else
        fprintf(stderr, "usage: see the header of prov_limits.c\n");
    return ok ? 0 : 1;
}
