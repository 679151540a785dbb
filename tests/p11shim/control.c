/* SPDX-License-Identifier: Apache-2.0 */
/* control.c -- where the fault rules of hsmkey-p11shim.so come from, and the
 * poller thread.
 *
 * Two rule sets are in force at once: the one from $HSMKEY_SHIM_FAULTS, parsed
 * once per process at the first C_Initialize, and the one in the control file
 * $HSMKEY_SHIM_CONTROL, re-read whenever the file changes (inode, size or
 * mtime; a missing or empty file means no rules). A re-read set starts with
 * fresh hit counters.
 *
 * When HSMKEY_SHIM_CONTROL or HSMKEY_SHIM_COUNTS is set, a detached thread
 * wakes every 50 ms: it checks the control file and rewrites the counts file
 * if a counter moved, so a test can read the counts of a running server and
 * change its rules without touching the call path. After fork() the thread
 * is started again in the child by its next call.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define POLL_MS 50
#define CONTROL_MAX (64 * 1024)

static struct shim_rules *_Atomic env_rules;
static struct shim_rules *_Atomic ctl_rules;
static int env_bad, ctl_bad_at_init; /* under the load lock (shim.c) */
static char *ctl_path;               /* set once, at the first init */
static atomic_int env_parsed, poller_wanted, poller_started;

/* The control file as last read; under ctl_lock. */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} ctl_seen;

static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;

    if (f == NULL)
        return NULL;
    buf = malloc(CONTROL_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, CONTROL_MAX, f);
    buf[n] = '\0';
    if (!feof(f))
        shim_log("HSMKEY_SHIM_CONTROL: %s: only the first %d bytes are read",
                 path, CONTROL_MAX);
    fclose(f);
    return buf;
}

/* Re-read the control file if it changed; returns the number of bad rules
 * in what was read. */
static int control_poll(void)
{
    const char *path = ctl_path;
    struct stat st;
    struct shim_rules *fresh = NULL;
    char *text = NULL;
    int exists, bad = 0;

    if (path == NULL)
        return 0;
    pthread_mutex_lock(&ctl_lock);
    exists = stat(path, &st) == 0;
    if (exists == ctl_seen.exists &&
        (!exists || (st.st_dev == ctl_seen.dev && st.st_ino == ctl_seen.ino &&
                     st.st_size == ctl_seen.size &&
                     st.st_mtim.tv_sec == ctl_seen.mtime.tv_sec &&
                     st.st_mtim.tv_nsec == ctl_seen.mtime.tv_nsec)))
        goto done;
    ctl_seen.exists = exists;
    if (exists) {
        ctl_seen.dev = st.st_dev;
        ctl_seen.ino = st.st_ino;
        ctl_seen.size = st.st_size;
        ctl_seen.mtime = st.st_mtim;
        text = read_small_file(path);
    }
    fresh = shim_rules_parse(text, "HSMKEY_SHIM_CONTROL", &bad);
    shim_rules_retire(atomic_exchange(&ctl_rules, fresh));
    free(text);
done:
    pthread_mutex_unlock(&ctl_lock);
    return bad;
}

static void *poller(void *arg)
{
    const struct timespec tick = {0, POLL_MS * 1000000L};
    (void)arg;
    for (;;) {
        (void)control_poll();
        (void)shim_counts_flush(1);
        nanosleep(&tick, NULL);
    }
    return NULL;
}

/* Start the poller once per process, with every signal blocked in it so the
 * host program's signals go to its own threads. */
static void poller_start(void)
{
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    int expected = 0, err;

    if (!atomic_compare_exchange_strong(&poller_started, &expected, 1))
        return;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&tid, &attr, poller, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        shim_log("cannot start the poller thread: %s (control file and "
                 "counts file not updated while running)",
                 strerror(err));
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : NULL;
}

void shim_control_init(void)
{
    if (!atomic_load(&env_parsed)) {
        const char *ctl = env_nonempty("HSMKEY_SHIM_CONTROL");
        ctl_path = ctl != NULL ? strdup(ctl) : NULL;
        atomic_store(&env_rules,
                     shim_rules_parse(getenv("HSMKEY_SHIM_FAULTS"),
                                      "HSMKEY_SHIM_FAULTS", &env_bad));
        ctl_bad_at_init = control_poll();
        atomic_store(&poller_wanted,
                     ctl_path != NULL || env_nonempty("HSMKEY_SHIM_COUNTS"));
        atomic_store(&env_parsed, 1);
    }
    if (atomic_load(&poller_wanted))
        poller_start();
}

int shim_control_bad(void)
{
    return env_bad + ctl_bad_at_init;
}

void shim_control_eval(enum shim_fn_index fn, struct shim_verdict *v)
{
    if (atomic_load_explicit(&poller_wanted, memory_order_relaxed) &&
        !atomic_load_explicit(&poller_started, memory_order_relaxed))
        poller_start();
    shim_rules_eval(atomic_load(&env_rules), fn, v);
    shim_rules_eval(atomic_load(&ctl_rules), fn, v);
}

void shim_control_atfork_prepare(void)
{
    pthread_mutex_lock(&ctl_lock);
}

void shim_control_atfork_parent(void)
{
    pthread_mutex_unlock(&ctl_lock);
}

/* The child has no poller and counts its own calls from zero, so its rules
 * count its own calls too. */
void shim_control_atfork_child(void)
{
    static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    ctl_lock = fresh;
    atomic_store(&poller_started, 0);
    shim_rules_reset_hits(atomic_load(&env_rules));
    shim_rules_reset_hits(atomic_load(&ctl_rules));
}
