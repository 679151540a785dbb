/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_faults.c - token faults through the provider, in one process: a
 * server's key loaded by URI, EVP_DigestSign, and the fault-injecting shim
 * (tests/p11shim) between the provider and SoftHSM2.
 *
 *   prov_faults session URI   lost sessions: retried, the signature succeeds
 *   prov_faults login URI     logged out: one C_Login more, success
 *   prov_faults error URI     CKR_DEVICE_ERROR & co: that one signature
 *                             fails cleanly, the next succeeds
 *   prov_faults removed URI   token removed once (retried and survived), and
 *                             pulled for a while with the control file:
 *                             clean failures naming the token, success as
 *                             soon as it is back
 *   prov_faults flap URI      the token says "removed" for the next n C_Sign
 *                             while its slot still shows it: n / 3
 *                             signatures fail (three tries each), no more
 *   prov_faults late URI      the token is absent at first use: loads fail,
 *                             the first one after it appears succeeds
 *   prov_faults pin URI WRONG a refused PIN (real, from the file WRONG, then
 *                             injected) is never offered to the token again
 *   prov_faults pin-sign URI  the same for a loaded key whose token logged
 *                             out: N signatures, one C_Login
 *   prov_faults attrs[-fallback] URI  attributes read in a batch per object,
 *                             one at a time when the batch fails
 *
 * The threaded cases (stall, pull under load, soak) are in
 * prov_faults_mt.c.  Environment: HSMKEY_PKCS11_MODULE (the shim),
 * HSMKEY_TEST_SHIM (the same path), HSMKEY_SHIM_CONTROL, OPENSSL_CONF,
 * SOFTHSM2_CONF; HSMKEY_TEST_TOKEN is the token's label (messages must
 * name it).  Exit 0 when every outcome is the expected one; every figure is
 * printed.
 */
#include <string.h>
#include <openssl/err.h>

#include "prov_faults.h"

struct tf_fixture tf;

void tf_setup(const char *uri)
{
    tf.uri = uri;
    tf.label = getenv("HSMKEY_TEST_TOKEN");
    TC_CHECK(tf.label != NULL, "HSMKEY_TEST_TOKEN not set");
    tc_shim_open();
    tc_shim_control("");
    tf.key = tc_load_key(uri);
    if (tf.key == NULL)
        ERR_print_errors_fp(stderr);
    TC_CHECK(tf.key != NULL, "cannot load %s", uri);
    tf.pub = tc_public(tf.key);
    TC_CHECK(tf.pub != NULL, "no public key for %s", uri);
    /* Warm: logged in, a session in the pool, the handle known. */
    for (int i = 0; i < 3; i++)
        TC_CHECK(tc_sign(tf.key, tf.pub), "signing without faults fails");
    TC_CHECK(tc_sign_twice(tf.key, tf.pub), "one context does not sign two "
             "messages");
}

void tf_teardown(void)
{
    EVP_PKEY_free(tf.pub);
    EVP_PKEY_free(tf.key);
    tf.pub = tf.key = NULL;
}

/* One signature that must fail cleanly with an error naming the token and
 * the token's answer (want, or "not present" when NULL). */
static void expect_failure(const char *step, const char *want)
{
    char err[2048];

    TC_CHECK(!tc_sign(tf.key, tf.pub), "%s: the signature succeeded", step);
    tc_errors(err, sizeof(err));
    TC_CHECK(strstr(err, tf.label) != NULL,
             "%s: the error does not name token '%s': %s", step, tf.label,
             err);
    TC_CHECK(strstr(err, want) != NULL, "%s: the error lacks %s: %s", step,
             want, err);
    tf.failed++;
}

static void expect_success(const char *step, int n)
{
    char err[2048];

    for (int i = 0; i < n; i++) {
        TC_CHECK(tc_sign(tf.key, tf.pub), "%s: signature %d of %d fails: %s",
                 step, i + 1, n, tc_errors(err, sizeof(err)));
        tf.signed_ok++;
    }
}

static void print_diff(const char *step, const struct tc_counts *d)
{
    printf("  %-48s faults %lu, C_SignInit %lu, C_Sign %lu, C_Login %lu, "
           "C_OpenSession %lu, C_FindObjectsInit %lu\n",
           step, d->faults, d->sign_init, d->sign, d->login, d->open,
           d->find);
}

/* One rule, one signature that must survive it, then ten more. */
static struct tc_counts survive(const char *rule)
{
    struct tc_counts before, after, d;

    tc_shim_control(rule);
    tc_counts_take(&before);
    expect_success(rule, 1);
    tc_counts_take(&after);
    d = tc_counts_diff(&after, &before);
    print_diff(rule, &d);
    TC_CHECK(d.faults == 1, "%s: %lu faults injected, 1 expected", rule,
             d.faults);
    tf.injected += d.faults;
    tf.survived++;
    expect_success(rule, 10);
    tc_counts_take(&before);
    d = tc_counts_diff(&before, &after);
    TC_CHECK(d.faults == 0 && d.login == 0,
             "%s: after it: %lu faults, %lu logins", rule, d.faults, d.login);
    return tc_counts_diff(&after, &tf.zero);
}

static void test_faults_session(void)
{
    static const char *rules[] = {
        "C_Sign:CKR_SESSION_HANDLE_INVALID:count=1",
        "C_SignInit:CKR_SESSION_HANDLE_INVALID:count=1",
        "C_Sign:CKR_SESSION_CLOSED:count=1",
        "C_SignInit:CKR_SESSION_CLOSED:count=1",
    };

    for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
        struct tc_counts before, after, d;

        tc_counts_take(&before);
        after = survive(rules[i]);
        d = tc_counts_diff(&after, &before);
        /* The retry takes another session; when the dead one was the
         * last, closing it logged the token out: one re-login then. */
        TC_CHECK(d.login <= 1, "%s: %lu logins", rules[i], d.login);
    }
}

static void test_faults_login(void)
{
    static const char *rules[] = {
        "C_SignInit:CKR_USER_NOT_LOGGED_IN:count=1",
        "C_Sign:CKR_USER_NOT_LOGGED_IN:count=1",
    };

    for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
        struct tc_counts before, after, d;

        tc_counts_take(&before);
        after = survive(rules[i]);
        d = tc_counts_diff(&after, &before);
        TC_CHECK(d.login == 1, "%s: %lu C_Login calls, 1 expected", rules[i],
                 d.login);
    }
}

static void test_faults_error(void)
{
    static const char *fns[] = { "C_SignInit", "C_Sign" };
    static const char *ckrs[] = { "CKR_DEVICE_ERROR", "CKR_GENERAL_ERROR",
                                  "CKR_FUNCTION_FAILED", "CKR_DEVICE_MEMORY" };
    char rule[128];

    for (size_t f = 0; f < 2; f++) {
        for (size_t c = 0; c < sizeof(ckrs) / sizeof(*ckrs); c++) {
            struct tc_counts before, after, d;

            snprintf(rule, sizeof(rule), "%s:%s:count=1", fns[f], ckrs[c]);
            tc_shim_control(rule);
            tc_counts_take(&before);
            expect_failure(rule, ckrs[c]);
            expect_success(rule, 5);
            tc_counts_take(&after);
            d = tc_counts_diff(&after, &before);
            print_diff(rule, &d);
            /* Not retried: the token's answer stands for this one. */
            TC_CHECK(d.faults == 1 && d.login == 0,
                     "%s: %lu faults, %lu logins", rule, d.faults, d.login);
            tf.injected += d.faults;
        }
    }
}

/* Removed for a single call: found again, logged in again, retried. */
static void removed_once(void)
{
    static const char *rules[] = {
        "C_Sign:CKR_DEVICE_REMOVED:count=1",
        "C_SignInit:CKR_DEVICE_REMOVED:count=1",
        "C_Sign:CKR_TOKEN_NOT_PRESENT:count=1",
        "C_SignInit:CKR_TOKEN_NOT_PRESENT:count=1",
    };

    for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
        struct tc_counts before, after, d;

        tc_counts_take(&before);
        after = survive(rules[i]);
        d = tc_counts_diff(&after, &before);
        TC_CHECK(d.login == 1, "%s: %lu C_Login calls, 1 expected", rules[i],
                 d.login);
    }
}

/*
 * The next n C_Sign calls say the token is gone while it still shows in the
 * slot list (a flapping device): each signature looks again and retries at
 * most twice, so n / 3 signatures fail, then every one succeeds.
 */
static void removed_calls(int n)
{
    struct tc_counts before, after, d;
    char rule[96], err[2048];
    int fails = 0, oks = 0, i;

    snprintf(rule, sizeof(rule), "C_Sign:CKR_DEVICE_REMOVED:count=%d", n);
    tc_shim_control(rule);
    tc_counts_take(&before);
    for (i = 0; i < n + 10 && oks < 10; i++) {
        if (tc_sign(tf.key, tf.pub)) {
            oks++;
            continue;
        }
        tc_errors(err, sizeof(err));
        TC_CHECK(oks == 0, "%s: signature %d failed after a success: %s",
                 rule, i + 1, err);
        TC_CHECK(strstr(err, tf.label) && strstr(err, "CKR_DEVICE_REMOVED"),
                 "%s: the error should name the token and the CKR: %s", rule,
                 err);
        fails++;
    }
    tc_counts_take(&after);
    d = tc_counts_diff(&after, &before);
    print_diff(rule, &d);
    printf("  %s: %d signatures failed, then %d succeeded\n", rule, fails,
           oks);
    tf.injected += d.faults;
    tf.failed += fails;
    tf.signed_ok += oks;
    TC_CHECK(d.faults == (unsigned long)n, "%s: %lu faults", rule, d.faults);
    TC_CHECK(oks == 10, "%s: no success in %d signatures", rule, i);
    TC_CHECK(fails == n / 3, "%s: %d signatures failed, %d expected (three "
             "tries each)", rule, fails, n / 3);
}

/* Pulled with the control file: every call says so, the slot is empty. */
static void pulled(const char *ckr, int during, int after_back)
{
    struct tc_counts before, after, d;
    char rule[96];
    double t0, worst = 0;

    snprintf(rule, sizeof(rule), "*:%s", ckr);
    tc_shim_control(rule);
    tc_counts_take(&before);
    for (int i = 0; i < during; i++) {
        t0 = tc_now_ms();
        expect_failure(rule, "not present");
        if (tc_now_ms() - t0 > worst)
            worst = tc_now_ms() - t0;
    }
    tc_shim_control(""); /* re-inserted */
    expect_success("token back", after_back);
    tc_counts_take(&after);
    d = tc_counts_diff(&after, &before);
    print_diff(rule, &d);
    tf.injected += d.faults;
    TC_CHECK(worst < 1000, "a failure took %.0f ms while the token was out",
             worst);
    printf("  token pulled (%s): %d signatures failed (slowest %.1f ms), "
           "%lu faults injected; back: %d of %d succeeded, %lu logins\n",
           ckr, during, worst, d.faults, after_back, after_back, d.login);
}

static void test_faults_removed(void)
{
    removed_once();
    pulled("CKR_DEVICE_REMOVED", 20, 20);
    pulled("CKR_TOKEN_NOT_PRESENT", 20, 20);
}

static void test_faults_flap(void)
{
    removed_calls(2);
    removed_calls(3);
    removed_calls(5);
    removed_calls(9);
}

/*
 * The token is not there when the process first looks (inserted later, or
 * SoftHSM showing it half-written while another process logs in): loads
 * fail naming the URI, and the first load once it is there succeeds.
 */
static int test_faults_late(const char *uri)
{
    char err[2048];
    EVP_PKEY *key;
    int fails = 0;

    tf.label = getenv("HSMKEY_TEST_TOKEN");
    TC_CHECK(tf.label != NULL, "HSMKEY_TEST_TOKEN not set");
    tc_shim_open();
    tc_shim_control("*:CKR_TOKEN_NOT_PRESENT"); /* pulled from the start */
    for (; fails < 3; fails++) {
        TC_CHECK(tc_load_key(uri) == NULL, "loaded while absent");
        tc_errors(err, sizeof(err));
        TC_CHECK(strstr(err, tf.label) != NULL, "the error does not name "
                 "token '%s': %s", tf.label, err);
    }
    printf("  token absent at first use: %d loads failed: %s\n", fails, err);
    tc_shim_control(""); /* inserted */
    key = tc_load_key(uri);
    TC_CHECK(key != NULL, "the token is back but the load fails: %s",
             tc_errors(err, sizeof(err)));
    tf.key = key;
    tf.pub = tc_public(key);
    TC_CHECK(tf.pub != NULL && tc_sign(tf.key, tf.pub), "cannot sign");
    printf("late %s: %d loads failed while absent, then loaded and signed\n",
           uri, fails);
    tf_teardown();
    return 0;
}

static const struct {
    const char *name;
    void (*run)(void);
} tests[] = {
    { "session", test_faults_session },
    { "login", test_faults_login },
    { "error", test_faults_error },
    { "removed", test_faults_removed },
    { "flap", test_faults_flap },
};

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "pin") == 0)
        return tf_pin(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "pin-sign") == 0)
        return tf_pin_sign(argv[2]);
    if (argc >= 3 && strncmp(argv[1], "attrs", 5) == 0)
        return tf_attrs(argv[2], strcmp(argv[1], "attrs-fallback") == 0);
    if (argc >= 3 && strcmp(argv[1], "late") == 0)
        return test_faults_late(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "stall") == 0)
        return tf_stall(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "pull-threads") == 0)
        return tf_pull_threads(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "soak") == 0)
        return tf_soak(argv[2]);
    for (size_t i = 0; argc >= 3 && i < sizeof(tests) / sizeof(*tests); i++) {
        if (strcmp(argv[1], tests[i].name) != 0)
            continue;
        tf_setup(argv[2]);
        tests[i].run();
        tf_teardown();
        printf("%s %s: %lu faults injected, %d signatures survived a fault, "
               "%d failed cleanly, %d succeeded\n",
               argv[1], argv[2], tf.injected, tf.survived, tf.failed,
               tf.signed_ok);
        return 0;
    }
    fprintf(stderr, "usage: see the header of prov_faults.c\n");
    return 2;
}
