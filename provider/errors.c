/* SPDX-License-Identifier: Apache-2.0 */
/*
 * errors.c - the provider's sink for err.h: errors go to the application's
 * error queue through the core's upcalls, so `openssl`, nginx, curl and
 * Python print them with hsmkey's reason strings.
 *
 * Each loaded instance of the provider (one per library context that loads
 * it) has its own sink: its core handle, which gives its errors their
 * library code, and its upcalls.  err.h's functions take no context, so the
 * sink is chosen per thread: every entry into an instance's work
 * (hkprov_errors_enter) makes it the thread's current one.  An error raised
 * where no instance was entered yet, or after the entered one was unloaded,
 * goes to the instance loaded last that is still there, never to a handle
 * whose instance is gone.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "prov.h"

/*
 * Sinks are never freed, only retired and reused by a later instance: a
 * thread still pointing at a retired one reads memory that is there and an
 * id that no longer matches.  No lock on the way to an upcall (every module
 * call sets and pops a mark) and none that a fork() could leave held.
 */
struct hkprov_errors {
    /* 0: retired; RESERVED: being filled in; else this instance's, never
     * reused.  Stored last (release) when the fields below are written. */
    atomic_ulong id;
    const OSSL_CORE_HANDLE *handle;
    OSSL_FUNC_core_new_error_fn *new_error;
    OSSL_FUNC_core_set_error_debug_fn *set_debug;
    OSSL_FUNC_core_vset_error_fn *vset_error;
    OSSL_FUNC_core_set_error_mark_fn *set_mark;
    OSSL_FUNC_core_pop_error_to_mark_fn *pop_mark;
    OSSL_FUNC_core_clear_last_error_mark_fn *clear_mark;
    struct hkprov_errors *next; /* set before it joins the list, then fixed */
};

#define RESERVED ULONG_MAX

static _Atomic(struct hkprov_errors *) sinks; /* loaded last first */
static atomic_ulong next_id = 1;

/* The thread's entered instance: its sink and the id it had then. */
static _Thread_local struct hkprov_errors *current;
static _Thread_local unsigned long current_id;

/* Built once from the core's table; the same for every instance. */
static OSSL_ITEM reasons[HSMKEY_R_MAX];
static pthread_once_t reasons_once = PTHREAD_ONCE_INIT;

static void reasons_build(void)
{
    for (int r = 1; r < HSMKEY_R_MAX; r++) {
        reasons[r - 1].id = r;
        reasons[r - 1].ptr = (void *)hsmkey_reason_string(r);
    }
}

/* A retired sink to fill in, else a new one on the list; NULL: no memory. */
static struct hkprov_errors *claim(void)
{
    struct hkprov_errors *e;

    for (e = atomic_load(&sinks); e != NULL; e = e->next) {
        unsigned long retired = 0;

        if (atomic_compare_exchange_strong(&e->id, &retired, RESERVED))
            return e;
    }
    if ((e = OPENSSL_zalloc(sizeof(*e))) == NULL)
        return NULL;
    atomic_init(&e->id, RESERVED);
    e->next = atomic_load(&sinks);
    while (!atomic_compare_exchange_weak(&sinks, &e->next, e))
        ;
    return e;
}

struct hkprov_errors *hkprov_errors_new(const OSSL_CORE_HANDLE *handle,
                                        const OSSL_DISPATCH *in)
{
    OSSL_FUNC_core_new_error_fn *new_error = NULL;
    OSSL_FUNC_core_set_error_debug_fn *set_debug = NULL;
    OSSL_FUNC_core_vset_error_fn *vset_error = NULL;
    OSSL_FUNC_core_set_error_mark_fn *set_mark = NULL;
    OSSL_FUNC_core_pop_error_to_mark_fn *pop_mark = NULL;
    OSSL_FUNC_core_clear_last_error_mark_fn *clear_mark = NULL;
    struct hkprov_errors *e;

    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            set_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_MARK:
            set_mark = OSSL_FUNC_core_set_error_mark(in);
            break;
        case OSSL_FUNC_CORE_CLEAR_LAST_ERROR_MARK:
            clear_mark = OSSL_FUNC_core_clear_last_error_mark(in);
            break;
        case OSSL_FUNC_CORE_POP_ERROR_TO_MARK:
            pop_mark = OSSL_FUNC_core_pop_error_to_mark(in);
            break;
        }
    }
    if (new_error == NULL || vset_error == NULL || (e = claim()) == NULL)
        return NULL;
    pthread_once(&reasons_once, reasons_build);
    e->handle = handle;
    e->new_error = new_error;
    e->set_debug = set_debug;
    e->vset_error = vset_error;
    e->set_mark = set_mark;
    e->pop_mark = pop_mark;
    e->clear_mark = clear_mark;
    atomic_store_explicit(&e->id, atomic_fetch_add(&next_id, 1),
                          memory_order_release);
    hkprov_errors_enter(e);
    return e;
}

/* The instance is being torn down: nothing of it is used again. */
void hkprov_errors_free(struct hkprov_errors *e)
{
    if (e == NULL)
        return;
    if (current == e)
        current = NULL;
    atomic_store_explicit(&e->id, 0, memory_order_release);
}

void hkprov_errors_enter(struct hkprov_errors *e)
{
    if (e == NULL)
        return;
    current = e;
    current_id = atomic_load_explicit(&e->id, memory_order_acquire);
}

static int live(const struct hkprov_errors *e, unsigned long *id)
{
    *id = atomic_load_explicit(&((struct hkprov_errors *)e)->id,
                               memory_order_acquire);
    return *id != 0 && *id != RESERVED;
}

/* The thread's entered instance while it is loaded, else the one loaded
 * last that still is; NULL: none. */
static const struct hkprov_errors *pick(void)
{
    unsigned long id;

    if (current != NULL && live(current, &id) && id == current_id)
        return current;
    for (const struct hkprov_errors *e = atomic_load(&sinks); e != NULL;
         e = e->next)
        if (live(e, &id))
            return e;
    return NULL;
}

void hsmkey_raise_at(const char *file, int line, const char *func, int reason,
                     const char *fmt, ...)
{
    const struct hkprov_errors *e = pick();
    va_list ap;

    if (e == NULL)
        return;
    e->new_error(e->handle);
    if (e->set_debug != NULL)
        e->set_debug(e->handle, file, line, func);
    va_start(ap, fmt);
    e->vset_error(e->handle, reason, fmt, ap);
    va_end(ap);
}

/* The marks are the thread's error queue's; the handle only names the
 * caller to libcrypto. */
void hsmkey_err_set_mark(void)
{
    const struct hkprov_errors *e = pick();

    if (e != NULL && e->set_mark != NULL)
        e->set_mark(e->handle);
}

void hsmkey_err_pop_to_mark(void)
{
    const struct hkprov_errors *e = pick();

    if (e != NULL && e->pop_mark != NULL)
        e->pop_mark(e->handle);
}

void hsmkey_err_clear_last_mark(void)
{
    const struct hkprov_errors *e = pick();

    if (e != NULL && e->clear_mark != NULL)
        e->clear_mark(e->handle);
}

const OSSL_ITEM *hkprov_reason_strings(void)
{
    pthread_once(&reasons_once, reasons_build);
    return reasons;
}

/*
 * hsmkey.so is being unloaded: nothing can point at a sink any more (the
 * threads' `current` goes with the library), so the retired ones are freed
 * here, the only moment that is safe.  If an instance is still loaded (a
 * process exiting without tearing its library contexts down) every sink
 * stays, reachable from the list, for threads that may still be running.
 */
__attribute__((destructor)) static void sinks_release(void)
{
    struct hkprov_errors *e;
    unsigned long id;

    for (e = atomic_load(&sinks); e != NULL; e = e->next)
        if (live(e, &id) || id == RESERVED)
            return;
    e = atomic_exchange(&sinks, NULL);
    while (e != NULL) {
        struct hkprov_errors *next = e->next;

        OPENSSL_free(e);
        e = next;
    }
}
