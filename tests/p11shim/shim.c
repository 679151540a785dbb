/* SPDX-License-Identifier: Apache-2.0 */
/* shim.c -- hsmkey-p11shim.so: a PKCS#11 module for the hsmkey tests that
 * forwards every call to a real module, counts the calls and injects the
 * faults it is told to (tests/p11shim/README).
 *
 * This file: loading the real module, the common entry of every call, the
 * generated forwarders (one per row of fns.h), C_Initialize, C_Finalize,
 * C_GetFunctionList and fork handling. No lock is held while the real module
 * runs; the load lock serialises only the load itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim.h"

#define DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

const struct shim_fn_info shim_fns[SHIM_NFNS] = {
#define SHIM_FN(name, kind, op, params, args)                                  \
    {#name, SHIM_KIND_##kind, SHIM_OP_##op},
#define SHIM_OWN(name, kind, op) {#name, SHIM_KIND_##kind, SHIM_OP_##op},
#include "fns.h"
#undef SHIM_FN
#undef SHIM_OWN
};

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static CK_FUNCTION_LIST_PTR _Atomic real_fl;

CK_FUNCTION_LIST_PTR shim_real(void)
{
    return atomic_load_explicit(&real_fl, memory_order_acquire);
}

/* dlopen the real module once per process (kept across C_Finalize and fork:
 * never closed). Under load_lock. */
static CK_RV load_real(void)
{
    const char *path = getenv("HSMKEY_SHIM_MODULE");
    CK_C_GetFunctionList get_list;
    CK_FUNCTION_LIST_PTR list = NULL;
    void *so;
    CK_RV rv;

    if (shim_real() != NULL)
        return CKR_OK;
    if (path == NULL || *path == '\0')
        path = DEFAULT_MODULE;
    so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (so == NULL) {
        shim_log("cannot load the real module: %s", dlerror());
        return CKR_GENERAL_ERROR;
    }
    *(void **)&get_list = dlsym(so, "C_GetFunctionList");
    if (get_list == NULL) {
        shim_log("%s has no C_GetFunctionList", path);
        return CKR_GENERAL_ERROR;
    }
    rv = get_list(&list);
    if (rv != CKR_OK || list == NULL) {
        shim_log("%s: C_GetFunctionList failed (0x%lx)", path, rv);
        return rv != CKR_OK ? rv : CKR_GENERAL_ERROR;
    }
    atomic_store_explicit(&real_fl, list, memory_order_release);
    return CKR_OK;
}

void shim_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One write per line, so lines of several threads do not interleave. */
    fprintf(stderr, "hsmkey-p11shim: %s\n", line);
}

static void sleep_ms(unsigned long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Apply the rules to a call of FN on HANDLE: stall, then fail. */
static CK_RV judge(CK_FUNCTION_LIST_PTR real, enum shim_fn_index fn,
                   CK_ULONG handle)
{
    struct shim_verdict v = {CKR_OK, 0};

    shim_control_eval(fn, &v);
    if (v.stall_ms > 0) {
        shim_count_stall();
        sleep_ms(v.stall_ms);
    }
    if (v.rv != CKR_OK) {
        shim_count_fault();
        shim_effects_apply(real, fn, handle, v.rv);
    }
    return v.rv;
}

CK_FUNCTION_LIST_PTR shim_enter(enum shim_fn_index fn, CK_ULONG handle,
                                CK_RV *rv)
{
    CK_FUNCTION_LIST_PTR real = shim_real();

    shim_count(fn);
    if (real == NULL) {
        *rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        return NULL;
    }
    if (shim_fns[fn].kind == SHIM_KIND_SESS && shim_sess_is_dead(handle)) {
        shim_count_stale();
        *rv = CKR_SESSION_HANDLE_INVALID;
        return real;
    }
    *rv = judge(real, fn, handle);
    return real;
}

/* The generic forwarders: count, judge, forward. */
#define SHIM_HANDLE_SESS h
#define SHIM_HANDLE_SLOT slot
#define SHIM_HANDLE_NONE 0
#define SHIM_FN(name, kind, op, params, args)                                  \
    static CK_RV shim_##name params                                            \
    {                                                                          \
        CK_RV rv;                                                              \
        CK_FUNCTION_LIST_PTR real =                                            \
            shim_enter(SHIM_##name, SHIM_HANDLE_##kind, &rv);                  \
        if (real == NULL || rv != CKR_OK)                                      \
            return rv;                                                         \
        return real->name args;                                                \
    }
#define SHIM_OWN(name, kind, op)
#include "fns.h"
#undef SHIM_FN
#undef SHIM_OWN

static int strict_mode(void)
{
    const char *s = getenv("HSMKEY_SHIM_STRICT");
    return s != NULL && strcmp(s, "1") == 0;
}

static CK_RV shim_C_Initialize(CK_VOID_PTR init_args)
{
    CK_FUNCTION_LIST_PTR real;
    CK_RV rv;

    shim_count(SHIM_C_Initialize);
    pthread_mutex_lock(&load_lock);
    rv = load_real();
    if (rv == CKR_OK) {
        int bad;

        shim_counts_init();
        shim_control_init();
        shim_limits_init();
        shim_instant_init();
        bad = shim_control_bad() + shim_limits_bad();
        if (bad > 0 && strict_mode()) {
            shim_log("HSMKEY_SHIM_STRICT=1 and %d bad rule(s): C_Initialize "
                     "fails with CKR_ARGUMENTS_BAD",
                     bad);
            rv = CKR_ARGUMENTS_BAD;
        }
    }
    pthread_mutex_unlock(&load_lock);
    if (rv != CKR_OK)
        return rv;
    real = shim_real();
    rv = judge(real, SHIM_C_Initialize, 0);
    return rv != CKR_OK ? rv : real->C_Initialize(init_args);
}

static CK_RV shim_C_Finalize(CK_VOID_PTR reserved)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_Finalize, 0, &rv);

    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_Finalize(reserved);
    if (rv == CKR_OK) {
        shim_sess_forget_all();
        shim_instant_forget_all();
    }
    (void)shim_counts_flush(0);
    return rv;
}

static CK_FUNCTION_LIST shim_function_list;

static CK_RV shim_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    shim_count(SHIM_C_GetFunctionList);
    if (list == NULL)
        return CKR_ARGUMENTS_BAD;
    *list = &shim_function_list;
    return CKR_OK;
}

SHIM_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    return shim_C_GetFunctionList(list);
}

static CK_FUNCTION_LIST shim_function_list = {
    .version = {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
#define SHIM_FN(name, kind, op, params, args) .name = shim_##name,
#define SHIM_OWN(name, kind, op) .name = shim_##name,
#include "fns.h"
#undef SHIM_FN
#undef SHIM_OWN
};

/* fork(): no lock of ours may be held by a thread that does not exist in
 * the child; the child counts its own calls from zero. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&load_lock);
    shim_control_atfork_prepare();
    shim_sess_atfork_prepare();
}

static void atfork_parent(void)
{
    shim_sess_atfork_parent();
    shim_control_atfork_parent();
    pthread_mutex_unlock(&load_lock);
}

static void atfork_child(void)
{
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

    shim_sess_atfork_child();
    shim_control_atfork_child();
    load_lock = fresh;
    shim_counts_zero();
}

__attribute__((constructor)) static void shim_loaded(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
