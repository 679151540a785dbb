/* SPDX-License-Identifier: Apache-2.0 */
/* shim_counts.c -- drives hsmkey-p11shim.so directly through dlopen and its
 * function list, and checks its counters, fault rules and effects.
 *
 * usage: shim_counts SHIM.so TOKEN-LABEL PIN-FILE WORKDIR
 * SOFTHSM2_CONF must name a token made by softhsm-conf/mktoken.sh (rsa-key,
 * id 01). Sets HSMKEY_SHIM_FAULTS, HSMKEY_SHIM_CONTROL=WORKDIR/control and
 * HSMKEY_SHIM_COUNTS=WORKDIR/counts.%p itself. Prints "ok N name" per test;
 * the first failed check prints "FAIL ..." and exits 1.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim_test.h"

/* HSMKEY_SHIM_FAULTS C_Sign:CKR_SESSION_HANDLE_INVALID:after=3:count=1 */
static void test_shim_session_invalid(void)
{
    CK_SESSION_HANDLE h = st_open_session(), h2;

    for (int i = 0; i < 3; i++)
        CHECK_RV(st_sign(h), CKR_OK);
    CHECK_RV(st_sign(h), CKR_SESSION_HANDLE_INVALID);
    CHECK(st_counts("faults") == 1, "faults %lu", st_counts("faults"));
    /* The session stays dead; the next one works (the rule is spent). */
    CHECK_RV(st_sign(h), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(st_p11->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
    CHECK(st_counts("stale") == 2, "stale %lu", st_counts("stale"));
    h2 = st_open_session();
    CHECK_RV(st_sign(h2), CKR_OK);
    CHECK_RV(st_sign(h2), CKR_OK);
    CHECK(st_counts("C_Sign") == 6 && st_counts("C_SignInit") == 7,
          "C_Sign %lu C_SignInit %lu", st_counts("C_Sign"),
          st_counts("C_SignInit"));
    CHECK_RV(st_p11->C_CloseSession(h2), CKR_OK);
    st_pass("session-invalid: 4th C_Sign fails, session stays dead");
}

/* Token calls per signature: exactly C_SignInit + C_Sign. */
static void test_shim_counts_per_signature(void)
{
    CK_SESSION_HANDLE h = st_open_session();

    st_reset();
    CHECK(st_counts("total") == 0 && st_counts("C_Sign") == 0, "reset");
    for (int i = 0; i < 10; i++)
        CHECK_RV(st_sign(h), CKR_OK);
    CHECK(st_counts("C_SignInit") == 10 && st_counts("C_Sign") == 10 &&
              st_counts("total") == 20,
          "SignInit %lu Sign %lu total %lu", st_counts("C_SignInit"),
          st_counts("C_Sign"), st_counts("total"));
    CHECK(st_counts("C_Nonexistent") == 0 && st_counts(NULL) == 0,
          "unknown name");
    /* The poller rewrites the counts file of the live process. */
    for (int i = 0; i < 200 && st_counts_file_value(getpid(), "C_Sign") != 10;
         i++)
        usleep(10000);
    CHECK(st_counts_file_value(getpid(), "C_Sign") == 10,
          "counts file not updated in 2 s");
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("counts: 2 token calls per signature, counts file live");
}

/* A failed C_Sign ends the operation on the real session too. */
static void test_shim_operation_ended(void)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_MECHANISM_TYPE mechs[] = {CKM_SHA256_RSA_PKCS, CKM_RSA_PKCS};

    /* Each failure is followed by a C_SignInit that must not see
     * CKR_OPERATION_ACTIVE: a multi-part and a single-part mechanism. */
    st_set_control("C_Sign:CKR_DEVICE_ERROR:every=2");
    for (int i = 0; i < 2; i++) {
        CHECK_RV(st_sign_mech(h, mechs[i]), CKR_OK);
        CHECK_RV(st_sign_mech(h, mechs[i]), CKR_DEVICE_ERROR);
    }
    CHECK_RV(st_sign_mech(h, CKM_RSA_PKCS), CKR_OK);
    st_set_control(
        "C_GenerateRandom:CKR_GENERAL_ERROR:after=1:every=3:count=2");
    for (int i = 1; i <= 10; i++) {
        CK_BYTE r[8];
        CHECK_RV(st_p11->C_GenerateRandom(h, r, sizeof(r)),
                 (i == 4 || i == 7) ? CKR_GENERAL_ERROR : CKR_OK);
    }
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("control file: DEVICE_ERROR on C_Sign, after/every/count");
}

/* The token goes away and comes back. */
static void test_shim_removal(void)
{
    CK_SESSION_HANDLE h = st_open_session(), h2;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_INFO info;

    CHECK_RV(st_sign(h), CKR_OK);
    st_set_control("*:CKR_DEVICE_REMOVED");
    CHECK_RV(st_sign(h), CKR_DEVICE_REMOVED);
    CHECK_RV(st_p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    CHECK(n == 0, "%lu slots with a token", n);
    n = 16;
    CHECK_RV(st_p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    CHECK(n > 0, "no slot at all");
    CHECK_RV(st_p11->C_GetSlotInfo(st_slot, &si), CKR_OK);
    CHECK(!(si.flags & CKF_TOKEN_PRESENT), "token still present");
    CHECK_RV(st_p11->C_GetTokenInfo(st_slot, &ti), CKR_TOKEN_NOT_PRESENT);
    CHECK_RV(
        st_p11->C_OpenSession(st_slot, CKF_SERIAL_SESSION, NULL, NULL, &h2),
        CKR_TOKEN_NOT_PRESENT);
    st_set_control("");
    CHECK_RV(st_sign(h), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(
        st_p11->C_OpenSession(st_slot, CKF_SERIAL_SESSION, NULL, NULL, &h2),
        CKR_OK);
    CHECK_RV(st_p11->C_GetSessionInfo(h2, &info), CKR_OK);
    CHECK(info.state == CKS_RO_PUBLIC_SESSION, "state %lu: still logged in",
          info.state);
    CHECK_RV(
        st_p11->C_Login(h2, CKU_USER, (CK_UTF8CHAR_PTR)st_pin, strlen(st_pin)),
        CKR_OK);
    st_find_key(h2);
    CHECK_RV(st_sign(h2), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
    st_pass("removal: token absent, sessions dead, back logged out");
}

static void *stalled_signer(void *arg)
{
    CK_SESSION_HANDLE h = *(CK_SESSION_HANDLE *)arg;
    double t0 = st_now_ms();

    CHECK_RV(st_sign(h), CKR_OK);
    *(double *)arg = st_now_ms() - t0;
    return NULL;
}

/* A stall holds up only the calling thread. */
static void test_shim_stall(void)
{
    CK_SESSION_HANDLE h = st_open_session(), h2 = st_open_session();
    union {
        CK_SESSION_HANDLE h;
        double ms;
    } arg = {.h = h};
    pthread_t t;
    CK_BYTE r[8];
    double t0;

    st_set_control("C_SignInit:stall=800");
    CHECK(pthread_create(&t, NULL, stalled_signer, &arg) == 0, "thread");
    usleep(100000);
    t0 = st_now_ms();
    CHECK_RV(st_p11->C_GenerateRandom(h2, r, sizeof(r)), CKR_OK);
    CHECK(st_now_ms() - t0 < 400, "other thread waited %.0f ms",
          st_now_ms() - t0);
    pthread_join(t, NULL);
    CHECK(arg.ms >= 790, "stalled call took only %.0f ms", arg.ms);
    CHECK(st_counts("stalls") >= 1, "stalls %lu", st_counts("stalls"));
    st_set_control("");
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h2), CKR_OK);
    st_pass("stall: 800 ms in one thread, the others go on");
}

#define NTHREADS 8
#define NSIGS 25

static void *signer(void *arg)
{
    CK_SESSION_HANDLE h = st_open_session();

    (void)arg;
    for (int i = 0; i < NSIGS; i++)
        CHECK_RV(st_sign(h), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    return NULL;
}

static void test_shim_threads(void)
{
    pthread_t t[NTHREADS];

    st_reset();
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, signer, NULL) == 0, "thread");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(st_counts("C_Sign") == NTHREADS * NSIGS &&
              st_counts("C_SignInit") == NTHREADS * NSIGS,
          "C_Sign %lu C_SignInit %lu", st_counts("C_Sign"),
          st_counts("C_SignInit"));
    st_pass("threads: 8 x 25 signatures counted exactly");
}

static void test_shim_fork(void)
{
    unsigned long before = st_counts("C_Sign");
    pid_t pid = fork();
    int status;

    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        CK_RV rv;
        CHECK(st_counts("total") == 0, "child starts at %lu",
              st_counts("total"));
        rv = st_p11->C_Initialize(NULL);
        CHECK(rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED,
              "child C_Initialize 0x%lx", rv);
        CHECK_RV(st_sign(st_open_session()), CKR_OK);
        CHECK(st_counts("C_Sign") == 1, "child C_Sign %lu",
              st_counts("C_Sign"));
        exit(0); /* the destructor writes counts.<pid> */
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "child failed (status 0x%x)", status);
    CHECK(st_counts_file_value(pid, "C_Sign") == 1, "child counts file");
    CHECK(st_counts("C_Sign") == before, "parent counts moved");
    CHECK_RV(st_sign(st_open_session()), CKR_OK);
    st_pass("fork: child initializes, signs, counts from zero");
}

static void test_shim_finalize_reinit(const char *label)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};

    CHECK_RV(st_p11->C_Finalize(NULL), CKR_OK);
    CHECK(st_counts_file_value(getpid(), "C_Finalize") == 1, "counts file");
    CHECK(st_counts_file_value(getpid(), "C_Sign") == (long)st_counts("C_Sign"),
          "counts file C_Sign");
    CHECK_RV(st_p11->C_Initialize(&args), CKR_OK);
    st_find_slot(label);
    CHECK_RV(st_sign(st_open_session()), CKR_OK);
    CHECK_RV(st_p11->C_Finalize(NULL), CKR_OK);
    st_pass("C_Finalize writes the counts file; C_Initialize again works");
}

int main(int argc, char **argv)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_C_GetFunctionList get_list;
    char path[4096];
    void *so;
    FILE *f;

    CHECK(argc == 5, "usage: shim_counts SHIM.so LABEL PIN-FILE WORKDIR");
    f = fopen(argv[3], "r");
    CHECK(f != NULL && fgets(st_pin, sizeof(st_pin), f) != NULL, "pin file");
    fclose(f);
    st_pin[strcspn(st_pin, "\r\n")] = '\0';
    snprintf(st_workdir, sizeof(st_workdir), "%s", argv[4]);
    snprintf(st_control, sizeof(st_control), "%s/control", st_workdir);
    snprintf(path, sizeof(path), "%s/counts.%%p", st_workdir);
    setenv("HSMKEY_SHIM_CONTROL", st_control, 1);
    setenv("HSMKEY_SHIM_COUNTS", path, 1);
    setenv("HSMKEY_SHIM_FAULTS",
           "C_Sign:CKR_SESSION_HANDLE_INVALID:after=3:count=1", 1);

    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(so != NULL, "%s", dlerror());
    *(void **)&get_list = dlsym(so, "C_GetFunctionList");
    *(void **)&st_counts = dlsym(so, HSMKEY_SHIM_COUNTS_SYM);
    *(void **)&st_reset = dlsym(so, HSMKEY_SHIM_RESET_SYM);
    CHECK(get_list != NULL && st_counts != NULL && st_reset != NULL, "symbols");
    CHECK_RV(get_list(&st_p11), CKR_OK);
    CHECK(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == so, "same copy");
    CHECK_RV(st_p11->C_Initialize(&args), CKR_OK);
    CHECK(st_counts("C_Initialize") == 1 && st_counts("C_GetFunctionList") == 1,
          "init counts");
    st_find_slot(argv[2]);

    test_shim_session_invalid();
    test_shim_counts_per_signature();
    test_shim_operation_ended();
    test_shim_removal();
    test_shim_stall();
    test_shim_threads();
    test_shim_fork();
    test_shim_finalize_reinit(argv[2]);
    printf("%d passed, 0 failed\n", st_passed());
    return 0;
}
