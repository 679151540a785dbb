/* SPDX-License-Identifier: Apache-2.0 */
/* counts.c -- per-function call counters of hsmkey-p11shim.so and the counts
 * file.
 *
 * Besides the counters, two gauges of what the token holds now (sessions.c):
 * sessions_open and session_objects. hsmkey_shim_reset() zeroes counters,
 * not gauges.
 *
 * The counts file ($HSMKEY_SHIM_COUNTS, "%p" in it becomes the pid) is plain
 * text, one "NAME VALUE" per line after a "#" header line: every PKCS#11
 * function of fns.h in table order (zeros included, so a missing line is a
 * bug, not a zero), then "total", "faults", "stalls", "stale", "limited",
 * "instant", "sessions_open" and "session_objects" (see p11shim.h). It is
 * replaced atomically (write to a temp file, rename), so a
 * reader never sees half a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11shim.h"
#include "shim.h"

enum {
    EXTRA_TOTAL,
    EXTRA_FAULTS,
    EXTRA_STALLS,
    EXTRA_STALE,
    EXTRA_LIMITED,
    EXTRA_INSTANT,
    EXTRA_SESSIONS_OPEN, /* gauges from here on */
    EXTRA_SESSION_OBJECTS,
    EXTRA_N
};
static const char *const extra_names[EXTRA_N] = {
    "total",   "faults",  "stalls",        "stale",
    "limited", "instant", "sessions_open", "session_objects",
};

static atomic_ulong calls[SHIM_NFNS];
static atomic_ulong extra[EXTRA_N];
static atomic_ulong written_seen = ~0UL;
static char *counts_path; /* $HSMKEY_SHIM_COUNTS at the first init */
static atomic_ulong tmp_seq;

/* The hot path: one relaxed atomic add ("total" is summed when read). */
void shim_count(enum shim_fn_index fn)
{
    atomic_fetch_add_explicit(&calls[fn], 1, memory_order_relaxed);
}

static unsigned long total_calls(void)
{
    unsigned long sum = 0;
    for (size_t i = 0; i < SHIM_NFNS; i++)
        sum += atomic_load_explicit(&calls[i], memory_order_relaxed);
    return sum;
}

static unsigned long extra_value(size_t i)
{
    unsigned long open;

    switch (i) {
    case EXTRA_TOTAL:
        return total_calls();
    case EXTRA_SESSIONS_OPEN:
        shim_sess_live(&open, NULL);
        return open;
    case EXTRA_SESSION_OBJECTS:
        return shim_obj_live();
    default:
        return atomic_load_explicit(&extra[i], memory_order_relaxed);
    }
}

void shim_count_fault(void)
{
    atomic_fetch_add_explicit(&extra[EXTRA_FAULTS], 1, memory_order_relaxed);
}

void shim_count_stall(void)
{
    atomic_fetch_add_explicit(&extra[EXTRA_STALLS], 1, memory_order_relaxed);
}

void shim_count_stale(void)
{
    atomic_fetch_add_explicit(&extra[EXTRA_STALE], 1, memory_order_relaxed);
}

void shim_count_limited(void)
{
    atomic_fetch_add_explicit(&extra[EXTRA_LIMITED], 1, memory_order_relaxed);
}

void shim_count_instant(void)
{
    atomic_fetch_add_explicit(&extra[EXTRA_INSTANT], 1, memory_order_relaxed);
}

void shim_counts_zero(void)
{
    for (size_t i = 0; i < SHIM_NFNS; i++)
        atomic_store_explicit(&calls[i], 0, memory_order_relaxed);
    for (size_t i = 0; i < EXTRA_N; i++)
        atomic_store_explicit(&extra[i], 0, memory_order_relaxed);
}

SHIM_EXPORT unsigned long hsmkey_shim_counts(const char *fn)
{
    if (fn == NULL)
        return 0;
    for (size_t i = 0; i < SHIM_NFNS; i++)
        if (strcmp(fn, shim_fns[i].name) == 0)
            return atomic_load_explicit(&calls[i], memory_order_relaxed);
    for (size_t i = 0; i < EXTRA_N; i++)
        if (strcmp(fn, extra_names[i]) == 0)
            return extra_value(i);
    return 0;
}

SHIM_EXPORT void hsmkey_shim_reset(void)
{
    shim_counts_zero();
}

/* PATH with "%p" replaced by the pid and "%%" by "%"; 0 if it fits. */
static int expand_path(const char *path, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = path; *p != '\0'; p++) {
        int w;
        if (p[0] == '%' && p[1] == 'p') {
            w = snprintf(out + n, size - n, "%ld", (long)getpid());
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            w = snprintf(out + n, size - n, "%%");
            p++;
        } else {
            w = snprintf(out + n, size - n, "%c", *p);
        }
        if (w < 0 || (size_t)w >= size - n)
            return -1;
        n += (size_t)w;
    }
    return 0;
}

static int write_lines(FILE *f)
{
    fprintf(f, "# hsmkey-p11shim counts pid=%ld\n", (long)getpid());
    for (size_t i = 0; i < SHIM_NFNS; i++)
        fprintf(f, "%s %lu\n", shim_fns[i].name,
                atomic_load_explicit(&calls[i], memory_order_relaxed));
    for (size_t i = 0; i < EXTRA_N; i++)
        fprintf(f, "%s %lu\n", extra_names[i], extra_value(i));
    return ferror(f) ? -1 : 0;
}

SHIM_EXPORT int hsmkey_shim_counts_write(const char *path)
{
    char final[4096], tmp[4200];
    FILE *f;
    int ret;

    if (path == NULL)
        path = counts_path != NULL ? counts_path : getenv("HSMKEY_SHIM_COUNTS");
    if (path == NULL || *path == '\0' ||
        expand_path(path, final, sizeof(final)) != 0) {
        errno = EINVAL;
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%lu", final, (long)getpid(),
             atomic_fetch_add(&tmp_seq, 1));
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    ret = write_lines(f);
    if (fclose(f) != 0)
        ret = -1;
    if (ret == 0)
        ret = rename(tmp, final);
    if (ret != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    return ret;
}

void shim_counts_init(void)
{
    const char *path = getenv("HSMKEY_SHIM_COUNTS");
    if (counts_path == NULL && path != NULL && *path != '\0')
        counts_path = strdup(path);
}

int shim_counts_flush(int changed_only)
{
    const char *path = counts_path;
    unsigned long seen = 0;

    if (path == NULL)
        return 0;
    /* A process that made no call (a forked child that only exits) writes
     * nothing, so it cannot clobber its parent's file. */
    if (total_calls() == 0)
        return 0;
    /* A mix of every value, not a sum: a gauge going down as a counter goes
     * up is a change too. */
    for (size_t i = 0; i < EXTRA_N; i++)
        seen = (seen ^ extra_value(i)) * 0x100000001b3UL;
    if (changed_only && atomic_load(&written_seen) == seen)
        return 0;
    atomic_store(&written_seen, seen);
    if (hsmkey_shim_counts_write(path) != 0) {
        static atomic_int warned;
        if (atomic_exchange(&warned, 1) == 0) /* the poller retries */
            shim_log("cannot write counts file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

__attribute__((destructor)) static void counts_at_exit(void)
{
    (void)shim_counts_flush(0);
}
