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

#include <p11-kit/pkcs11.h>

#include "p11shim.h"

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __func__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, "\n");                                       \
            exit(1);                                                     \
        }                                                                \
    } while (0)
#define CHECK_RV(call, want)                                             \
    do {                                                                 \
        CK_RV rv_ = (call);                                              \
        CHECK(rv_ == (CK_RV)(want), "got 0x%lx, want 0x%lx", rv_,        \
              (CK_RV)(want));                                            \
    } while (0)

static CK_FUNCTION_LIST_PTR p11;
static hsmkey_shim_counts_fn *counts;
static hsmkey_shim_reset_fn *reset;
static CK_SLOT_ID slot;
static CK_OBJECT_HANDLE rsa_key;
static char pin[256], control[4096], workdir[3800];
static int ntests;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void pass(const char *name)
{
    printf("ok %d %s\n", ++ntests, name);
    fflush(stdout);
}

static CK_SESSION_HANDLE open_session(void)
{
    CK_SESSION_HANDLE h;
    CK_RV rv;

    CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
             CKR_OK);
    rv = p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    CHECK(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN, "C_Login 0x%lx", rv);
    return h;
}

static CK_RV sign_mech(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type)
{
    CK_MECHANISM mech = {type, NULL, 0};
    CK_BYTE data[32] = "hsmkey-p11shim test data", sig[512];
    CK_ULONG len = sizeof(sig);
    CK_RV rv = p11->C_SignInit(h, &mech, rsa_key);

    return rv != CKR_OK ? rv : p11->C_Sign(h, data, sizeof(data), sig, &len);
}

static CK_RV sign(CK_SESSION_HANDLE h)
{
    return sign_mech(h, CKM_SHA256_RSA_PKCS);
}

/* Replace the control file (atomically) and wait until the shim has read
 * it: each version carries a canary rule on C_GetInfo. */
static void set_control(const char *rules)
{
    static int version;
    char tmp[4200];
    CK_INFO info;
    FILE *f;
    CK_RV want = ++version % 2 ? CKR_DEVICE_MEMORY : CKR_FUNCTION_FAILED;

    snprintf(tmp, sizeof(tmp), "%s.tmp", control);
    f = fopen(tmp, "w");
    CHECK(f != NULL, "cannot write %s", tmp);
    fprintf(f, "# test control file\n%s\nC_GetInfo:%s\n", rules,
            want == CKR_DEVICE_MEMORY ? "CKR_DEVICE_MEMORY"
                                      : "CKR_FUNCTION_FAILED");
    CHECK(fclose(f) == 0 && rename(tmp, control) == 0, "rename");
    for (int i = 0; i < 500 && p11->C_GetInfo(&info) != want; i++)
        usleep(10000);
    CHECK(p11->C_GetInfo(&info) == want, "control file not read in 5 s");
}

/* The private key rsa-key (id 01), found again after every login: a token
 * that lost its login may not keep the handles of private objects. */
static void find_key(CK_SESSION_HANDLE h)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BYTE id = 1;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_ID, &id, 1}};
    CK_ULONG n = 0;

    CHECK_RV(p11->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
    CHECK_RV(p11->C_FindObjects(h, &rsa_key, 1, &n), CKR_OK);
    CHECK(n == 1, "rsa-key (id 01) not found");
    CHECK_RV(p11->C_FindObjectsFinal(h), CKR_OK);
}

/* The slot of the token LABEL; a session on it stays open (keeping the
 * login) until the token is "removed". */
static void find_slot(const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_TOKEN_INFO ti;
    size_t len = strlen(label);
    int found = 0;

    CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n && !found; i++) {
        CHECK_RV(p11->C_GetTokenInfo(slots[i], &ti), CKR_OK);
        found = len <= 32 && memcmp(ti.label, label, len) == 0 &&
                (len == 32 || ti.label[len] == ' ');
        slot = slots[i];
    }
    CHECK(found, "no token labelled %s", label);
    find_key(open_session());
}

/* HSMKEY_SHIM_FAULTS C_Sign:CKR_SESSION_HANDLE_INVALID:after=3:count=1 */
static void test_shim_session_invalid(void)
{
    CK_SESSION_HANDLE h = open_session(), h2;

    for (int i = 0; i < 3; i++)
        CHECK_RV(sign(h), CKR_OK);
    CHECK_RV(sign(h), CKR_SESSION_HANDLE_INVALID);
    CHECK(counts("faults") == 1, "faults %lu", counts("faults"));
    /* The session stays dead; the next one works (the rule is spent). */
    CHECK_RV(sign(h), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(p11->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
    CHECK(counts("stale") == 2, "stale %lu", counts("stale"));
    h2 = open_session();
    CHECK_RV(sign(h2), CKR_OK);
    CHECK_RV(sign(h2), CKR_OK);
    CHECK(counts("C_Sign") == 6 && counts("C_SignInit") == 7,
          "C_Sign %lu C_SignInit %lu", counts("C_Sign"), counts("C_SignInit"));
    CHECK_RV(p11->C_CloseSession(h2), CKR_OK);
    pass("session-invalid: 4th C_Sign fails, session stays dead");
}

/* Token calls per signature: exactly C_SignInit + C_Sign. */
static void test_shim_counts_per_signature(void)
{
    CK_SESSION_HANDLE h = open_session();

    reset();
    CHECK(counts("total") == 0 && counts("C_Sign") == 0, "reset");
    for (int i = 0; i < 10; i++)
        CHECK_RV(sign(h), CKR_OK);
    CHECK(counts("C_SignInit") == 10 && counts("C_Sign") == 10 &&
              counts("total") == 20,
          "SignInit %lu Sign %lu total %lu", counts("C_SignInit"),
          counts("C_Sign"), counts("total"));
    CHECK(counts("C_Nonexistent") == 0 && counts(NULL) == 0, "unknown name");
    CHECK_RV(p11->C_CloseSession(h), CKR_OK);
    pass("counts: 2 token calls per signature");
}

/* A failed C_Sign ends the operation on the real session too. */
static void test_shim_operation_ended(void)
{
    CK_SESSION_HANDLE h = open_session();
    CK_MECHANISM_TYPE mechs[] = {CKM_SHA256_RSA_PKCS, CKM_RSA_PKCS};

    /* Each failure is followed by a C_SignInit that must not see
     * CKR_OPERATION_ACTIVE: a multi-part and a single-part mechanism. */
    set_control("C_Sign:CKR_DEVICE_ERROR:every=2");
    for (int i = 0; i < 2; i++) {
        CHECK_RV(sign_mech(h, mechs[i]), CKR_OK);
        CHECK_RV(sign_mech(h, mechs[i]), CKR_DEVICE_ERROR);
    }
    CHECK_RV(sign_mech(h, CKM_RSA_PKCS), CKR_OK);
    set_control("C_GenerateRandom:CKR_GENERAL_ERROR:after=1:every=3:count=2");
    for (int i = 1; i <= 10; i++) {
        CK_BYTE r[8];
        CHECK_RV(p11->C_GenerateRandom(h, r, sizeof(r)),
                 (i == 4 || i == 7) ? CKR_GENERAL_ERROR : CKR_OK);
    }
    CHECK_RV(p11->C_CloseSession(h), CKR_OK);
    pass("control file: DEVICE_ERROR on C_Sign, after/every/count");
}

/* The token goes away and comes back. */
static void test_shim_removal(void)
{
    CK_SESSION_HANDLE h = open_session(), h2;
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_SESSION_INFO info;

    CHECK_RV(sign(h), CKR_OK);
    set_control("*:CKR_DEVICE_REMOVED");
    CHECK_RV(sign(h), CKR_DEVICE_REMOVED);
    CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    CHECK(n == 0, "%lu slots with a token", n);
    n = 16;
    CHECK_RV(p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    CHECK(n > 0, "no slot at all");
    CHECK_RV(p11->C_GetSlotInfo(slot, &si), CKR_OK);
    CHECK(!(si.flags & CKF_TOKEN_PRESENT), "token still present");
    CHECK_RV(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);
    CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h2),
             CKR_TOKEN_NOT_PRESENT);
    set_control("");
    CHECK_RV(sign(h), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h2),
             CKR_OK);
    CHECK_RV(p11->C_GetSessionInfo(h2, &info), CKR_OK);
    CHECK(info.state == CKS_RO_PUBLIC_SESSION, "state %lu: still logged in",
          info.state);
    CHECK_RV(p11->C_Login(h2, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)),
             CKR_OK);
    find_key(h2);
    CHECK_RV(sign(h2), CKR_OK);
    CHECK_RV(p11->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
    pass("removal: token absent, sessions dead, back logged out");
}

static void *stalled_signer(void *arg)
{
    CK_SESSION_HANDLE h = *(CK_SESSION_HANDLE *)arg;
    double t0 = now_ms();

    CHECK_RV(sign(h), CKR_OK);
    *(double *)arg = now_ms() - t0;
    return NULL;
}

/* A stall holds up only the calling thread. */
static void test_shim_stall(void)
{
    CK_SESSION_HANDLE h = open_session(), h2 = open_session();
    union { CK_SESSION_HANDLE h; double ms; } arg = {.h = h};
    pthread_t t;
    CK_BYTE r[8];
    double t0;

    set_control("C_SignInit:stall=800");
    CHECK(pthread_create(&t, NULL, stalled_signer, &arg) == 0, "thread");
    usleep(100000);
    t0 = now_ms();
    CHECK_RV(p11->C_GenerateRandom(h2, r, sizeof(r)), CKR_OK);
    CHECK(now_ms() - t0 < 400, "other thread waited %.0f ms", now_ms() - t0);
    pthread_join(t, NULL);
    CHECK(arg.ms >= 790, "stalled call took only %.0f ms", arg.ms);
    CHECK(counts("stalls") >= 1, "stalls %lu", counts("stalls"));
    set_control("");
    CHECK_RV(p11->C_CloseSession(h), CKR_OK);
    CHECK_RV(p11->C_CloseSession(h2), CKR_OK);
    pass("stall: 800 ms in one thread, the others go on");
}

#define NTHREADS 8
#define NSIGS 25

static void *signer(void *arg)
{
    CK_SESSION_HANDLE h = open_session();

    (void)arg;
    for (int i = 0; i < NSIGS; i++)
        CHECK_RV(sign(h), CKR_OK);
    CHECK_RV(p11->C_CloseSession(h), CKR_OK);
    return NULL;
}

static void test_shim_threads(void)
{
    pthread_t t[NTHREADS];

    reset();
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, signer, NULL) == 0, "thread");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(counts("C_Sign") == NTHREADS * NSIGS &&
              counts("C_SignInit") == NTHREADS * NSIGS,
          "C_Sign %lu C_SignInit %lu", counts("C_Sign"), counts("C_SignInit"));
    pass("threads: 8 x 25 signatures counted exactly");
}

/* The value of NAME in the counts file of process PID, or -1. */
static long counts_file_value(long pid, const char *name)
{
    char path[4096], line[256], key[64];
    unsigned long v;
    long found = -1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/counts.%ld", workdir, pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%63s %lu", key, &v) == 2 && strcmp(key, name) == 0)
            found = (long)v;
    fclose(f);
    return found;
}

static void test_shim_fork(void)
{
    unsigned long before = counts("C_Sign");
    pid_t pid = fork();
    int status;

    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        CK_RV rv;
        CHECK(counts("total") == 0, "child starts at %lu", counts("total"));
        rv = p11->C_Initialize(NULL);
        CHECK(rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED,
              "child C_Initialize 0x%lx", rv);
        CHECK_RV(sign(open_session()), CKR_OK);
        CHECK(counts("C_Sign") == 1, "child C_Sign %lu", counts("C_Sign"));
        exit(0);   /* the destructor writes counts.<pid> */
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0, "child failed (status 0x%x)", status);
    CHECK(counts_file_value(pid, "C_Sign") == 1, "child counts file");
    CHECK(counts("C_Sign") == before, "parent counts moved");
    CHECK_RV(sign(open_session()), CKR_OK);
    pass("fork: child initializes, signs, counts from zero");
}

static void test_shim_finalize_reinit(const char *label)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};

    CHECK_RV(p11->C_Finalize(NULL), CKR_OK);
    CHECK(counts_file_value(getpid(), "C_Finalize") == 1, "counts file");
    CHECK(counts_file_value(getpid(), "C_Sign") == (long)counts("C_Sign"),
          "counts file C_Sign");
    CHECK_RV(p11->C_Initialize(&args), CKR_OK);
    find_slot(label);
    CHECK_RV(sign(open_session()), CKR_OK);
    CHECK_RV(p11->C_Finalize(NULL), CKR_OK);
    pass("C_Finalize writes the counts file; C_Initialize again works");
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
    CHECK(f != NULL && fgets(pin, sizeof(pin), f) != NULL, "pin file");
    fclose(f);
    pin[strcspn(pin, "\r\n")] = '\0';
    snprintf(workdir, sizeof(workdir), "%s", argv[4]);
    snprintf(control, sizeof(control), "%s/control", workdir);
    snprintf(path, sizeof(path), "%s/counts.%%p", workdir);
    setenv("HSMKEY_SHIM_CONTROL", control, 1);
    setenv("HSMKEY_SHIM_COUNTS", path, 1);
    setenv("HSMKEY_SHIM_FAULTS",
           "C_Sign:CKR_SESSION_HANDLE_INVALID:after=3:count=1", 1);

    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(so != NULL, "%s", dlerror());
    *(void **)&get_list = dlsym(so, "C_GetFunctionList");
    *(void **)&counts = dlsym(so, HSMKEY_SHIM_COUNTS_SYM);
    *(void **)&reset = dlsym(so, HSMKEY_SHIM_RESET_SYM);
    CHECK(get_list != NULL && counts != NULL && reset != NULL, "symbols");
    CHECK_RV(get_list(&p11), CKR_OK);
    CHECK(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == so, "same copy");
    CHECK_RV(p11->C_Initialize(&args), CKR_OK);
    CHECK(counts("C_Initialize") == 1 && counts("C_GetFunctionList") == 1,
          "init counts");
    find_slot(argv[2]);

    test_shim_session_invalid();
    test_shim_counts_per_signature();
    test_shim_operation_ended();
    test_shim_removal();
    test_shim_stall();
    test_shim_threads();
    test_shim_fork();
    test_shim_finalize_reinit(argv[2]);
    printf("%d passed, 0 failed\n", ntests);
    return 0;
}
