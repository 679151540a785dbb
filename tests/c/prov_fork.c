/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_fork.c - a token key used across fork(), through the provider
 * loaded by OPENSSL_CONF (as nginx, Python and other pre-forking servers
 * do).
 *
 *   prov_fork fork-first URI [N]     the provider is configured but no
 *                                    token touched; N children (default 1)
 *                                    load the key (one at a time, see
 *                                    first_use) and sign (in parallel);
 *                                    then the parent
 *   prov_fork fork-after URI N       parent loads and signs, forks N
 *                                    children at once that sign with the
 *                                    inherited key, then signs again
 *   prov_fork fork-many URI N B      the same with N children in batches of
 *                                    B; each child signs with the inherited
 *                                    key and with a fresh load; the parent
 *                                    signs between batches
 *   prov_fork fork-nested URI D      a chain of D generations: each signs,
 *                                    forks the next, waits, signs again
 *   prov_fork fork-threads URI N T   T threads sign in a loop while the
 *                                    main thread forks N children (at most
 *                                    8 alive at once); each child signs
 *                                    with the inherited key and must exit
 *                                    within CHILD_DEADLINE seconds, the
 *                                    threads must never fail
 *
 * Every signature is verified in software with the key's public half
 * exported to the default provider.  Exit 0 only when all verify; the
 * figures are printed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "prov_util.h"

#define CHILD_SIGNATURES 3
/* A child that has not exited by then is hung (a lock inherited from a
 * thread the child does not have). */
#define CHILD_DEADLINE 30
#define CHILDREN_ALIVE 8

static int sign_n(EVP_PKEY *key, EVP_PKEY *pub, int n)
{
    char err[1024];

    for (int i = 0; i < n; i++) {
        if (!tc_sign(key, pub)) {
            fprintf(stderr, "pid %d: signature %d: %s\n", (int)getpid(),
                    i + 1, tc_errors(err, sizeof(err)));
            return 0;
        }
    }
    return 1;
}

/* Load, sign n times, free. */
static int use_fresh(const char *uri, int n)
{
    EVP_PKEY *key = tc_load_key(uri), *pub = key ? tc_public(key) : NULL;
    int ok = pub != NULL && sign_n(key, pub, n);
    char err[1024];

    if (pub == NULL)
        fprintf(stderr, "pid %d: cannot load %s: %s\n", (int)getpid(), uri,
                tc_errors(err, sizeof(err)));
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok;
}

/* Wait for n children; the number that failed (or died). */
static int wait_children(int n)
{
    int failed = 0, status;

    for (int i = 0; i < n; i++) {
        if (wait(&status) < 0 || !WIFEXITED(status)
            || WEXITSTATUS(status) != 0)
            failed++;
    }
    if (failed)
        fprintf(stderr, "%d of %d children failed\n", failed, n);
    return failed;
}

/*
 * A child's first contact with the token (module start, login): one child
 * at a time.  SoftHSM2 rewrites its token file on login, and a process that
 * starts SoftHSM while another rewrites it sees no token, or a token that
 * refuses logins, for as long as it runs (CONTRIBUTING.md, "Known traps");
 * that is not what this test measures.  The signatures after it run in
 * parallel.
 */
static int first_use(const char *uri, int lock_fd)
{
    EVP_PKEY *key, *pub;
    int ok;

    TC_CHECK(lockf(lock_fd, F_LOCK, 0) == 0, "lockf");
    key = tc_load_key(uri);
    pub = key != NULL ? tc_public(key) : NULL;
    ok = pub != NULL && sign_n(key, pub, 1);
    TC_CHECK(lockf(lock_fd, F_ULOCK, 0) == 0, "lockf");
    if (pub == NULL)
        fprintf(stderr, "pid %d: cannot load %s\n", (int)getpid(), uri);
    ok = ok && sign_n(key, pub, CHILD_SIGNATURES);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok;
}

static int fork_first(const char *uri, int n)
{
    FILE *lock = tmpfile();
    int started = 0, failed;

    TC_CHECK(lock != NULL, "tmpfile");
    /* The provider is loaded and activated; no token call yet. */
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();

        if (pid == 0)
            exit(first_use(uri, fileno(lock)) ? 0 : 1);
        started += pid > 0;
    }
    failed = wait_children(started) + (n - started);
    fclose(lock);
    printf("fork-first %s: %d children forked before first use, %d "
           "failed, %d signatures in the children\n", uri, n, failed,
           (n - failed) * (CHILD_SIGNATURES + 1));
    return failed == 0 && use_fresh(uri, 2);
}

static int fork_after(const char *uri, int n)
{
    EVP_PKEY *key = tc_load_key(uri), *pub = key ? tc_public(key) : NULL;
    int ok = pub != NULL && sign_n(key, pub, 1), started = 0, failed;

    for (int i = 0; ok && i < n; i++) {
        pid_t pid = fork();

        if (pid == 0) /* the inherited key object, not a fresh load */
            exit(sign_n(key, pub, 2) ? 0 : 1);
        ok = pid > 0;
        started += ok;
    }
    failed = wait_children(started);
    ok = ok && failed == 0 && sign_n(key, pub, 1);
    printf("fork-after %s: %d children, %d failed\n", uri, started, failed);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok;
}

static int fork_many(const char *uri, int n, int batch)
{
    EVP_PKEY *key = tc_load_key(uri), *pub = key ? tc_public(key) : NULL;
    int ok = pub != NULL && sign_n(key, pub, 2), forked = 0, failed = 0;
    int parent_sigs = 2, batches = 0;

    while (ok && forked < n) {
        int started = 0;

        for (int i = 0; i < batch && forked < n; i++, forked++) {
            pid_t pid = fork();

            if (pid == 0)
                exit(sign_n(key, pub, CHILD_SIGNATURES) && use_fresh(uri, 1)
                         ? 0 : 1);
            if (pid < 0)
                failed++;
            started += pid > 0;
        }
        failed += wait_children(started);
        batches++;
        ok = sign_n(key, pub, 1); /* the parent, between batches */
        parent_sigs++;
    }
    printf("fork-many %s: %d children in %d batches of %d, %d failed, "
           "%d signatures in the children, %d in the parent\n",
           uri, forked, batches, batch, failed,
           (forked - failed) * (CHILD_SIGNATURES + 1), parent_sigs);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok && failed == 0 && forked == n;
}

/* Generation `depth` signs, forks the next one, waits for it, signs. */
static int nested(EVP_PKEY *key, EVP_PKEY *pub, int depth)
{
    pid_t pid;

    if (!sign_n(key, pub, 1))
        return 0;
    if (depth <= 1)
        return 1;
    pid = fork();
    if (pid == 0)
        exit(nested(key, pub, depth - 1) ? 0 : 1);
    return pid > 0 && wait_children(1) == 0 && sign_n(key, pub, 1);
}

static int fork_nested(const char *uri, int depth)
{
    EVP_PKEY *key = tc_load_key(uri), *pub = key ? tc_public(key) : NULL;
    int ok = pub != NULL && nested(key, pub, depth);

    printf("fork-nested %s: %d generations: %s\n", uri, depth,
           ok ? "all signed" : "FAILED");
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok;
}

/* ---- fork while threads sign ---- */

/*
 * A parent thread signs with a context prepared before the forks begin,
 * the same message every time: the loop takes no lock of OpenSSL's own
 * (no fetch, no DRBG), so a child never inherits one of those.  OpenSSL
 * 3.0 does not make its own locks safe across fork; what this test judges
 * is that hsmkey's are.  The last signature is verified after the join.
 */
struct signer {
    pthread_t tid;
    EVP_MD_CTX *ctx;
    atomic_int *stop;
    unsigned char sig[1024];
    size_t siglen;
    long signatures, failures;
};

static const unsigned char signed_msg[] = "signed while the parent forks";

static void *signer_loop(void *arg)
{
    struct signer *sg = arg;
    char err[1024];

    while (!atomic_load(sg->stop)) {
        sg->siglen = sizeof(sg->sig);
        if (EVP_DigestSign(sg->ctx, sg->sig, &sg->siglen, signed_msg,
                           sizeof(signed_msg)) == 1) {
            sg->signatures++;
        } else if (sg->failures++ == 0) {
            fprintf(stderr, "parent thread: %s\n", tc_errors(err, sizeof(err)));
        }
    }
    return NULL;
}

static int signer_verified(const struct signer *sg, EVP_PKEY *pub)
{
    EVP_MD_CTX *v = EVP_MD_CTX_new();
    int ok = v != NULL
             && EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, pub) == 1
             && EVP_DigestVerify(v, sg->sig, sg->siglen, signed_msg,
                                 sizeof(signed_msg)) == 1;

    EVP_MD_CTX_free(v);
    return ok;
}

/* The child: one signature with the inherited key, its first contact with
 * the token serialized with the other children's (see first_use). */
static void child_signs(EVP_PKEY *key, EVP_PKEY *pub, int lock_fd)
{
    int ok;

    alarm(2 * CHILD_DEADLINE); /* in case the parent is gone too */
    TC_CHECK(lockf(lock_fd, F_LOCK, 0) == 0, "lockf");
    ok = sign_n(key, pub, 1);
    TC_CHECK(lockf(lock_fd, F_ULOCK, 0) == 0, "lockf");
    /* Not exit(): a leak checker's exit handler would report what only the
     * parent's threads (which the child does not have) still point to. */
    fflush(NULL);
    _exit(ok ? 0 : 1);
}

struct brood {
    pid_t pid[CHILDREN_ALIVE];
    time_t born[CHILDREN_ALIVE];
    int alive, ok, failed, hung;
};

static void bury(struct brood *b, int i, int status, int killed)
{
    if (killed || (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM))
        b->hung++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        b->ok++;
    else
        b->failed++;
    b->pid[i] = b->pid[--b->alive];
    b->born[i] = b->born[b->alive];
}

/* Where a hung child is stuck, when gdb is at hand: the report that makes
 * a hang fixable.  Bounded: gdb waits forever on a child that became a
 * zombie meanwhile. */
static void show_stacks(pid_t pid)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "command -v gdb >/dev/null && timeout 30 gdb -p %d "
             "-batch -ex 'thread apply all bt' 2>/dev/null </dev/null | "
             "grep '^#' >&2",
             (int)pid);
    if (system(cmd) != 0)
        fprintf(stderr, "(no stack: gdb missing or failed)\n");
}

/*
 * Wait until fewer than max children are alive.  SIGCHLD is blocked in
 * every thread, so sigtimedwait wakes exactly when a child ends; a child
 * past its deadline is killed and counted as hung.
 */
static void reap(struct brood *b, int max)
{
    sigset_t chld;
    struct timespec wait = { 1, 0 };

    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    while (b->alive >= max) {
        int status;

        if (sigtimedwait(&chld, NULL, &wait) < 0 && errno != EAGAIN)
            TC_CHECK(errno == EINTR, "sigtimedwait");
        for (int i = b->alive; i-- > 0;) {
            if (waitpid(b->pid[i], &status, WNOHANG) == b->pid[i]) {
                bury(b, i, status, 0);
            } else if (time(NULL) - b->born[i] > CHILD_DEADLINE) {
                fprintf(stderr, "child %d hung\n", (int)b->pid[i]);
                show_stacks(b->pid[i]);
                kill(b->pid[i], SIGKILL);
                waitpid(b->pid[i], &status, 0);
                bury(b, i, status, 1);
            }
        }
    }
}

static int fork_threads(const char *uri, int n, int nthreads)
{
    EVP_PKEY *key = tc_load_key(uri), *pub = key ? tc_public(key) : NULL;
    struct signer sg[16];
    struct brood b = { .alive = 0 };
    atomic_int stop = 0;
    FILE *lock = tmpfile();
    long sigs = 0, fails = 0;
    sigset_t chld;

    TC_CHECK(pub != NULL && sign_n(key, pub, 1), "cannot load %s", uri);
    TC_CHECK(lock != NULL && nthreads > 0 && nthreads <= 16, "setup");
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    TC_CHECK(pthread_sigmask(SIG_BLOCK, &chld, NULL) == 0, "sigmask");
    for (int i = 0; i < nthreads; i++) {
        sg[i] = (struct signer){ .ctx = EVP_MD_CTX_new(), .stop = &stop };
        TC_CHECK(sg[i].ctx != NULL
                     && EVP_DigestSignInit(sg[i].ctx, NULL, EVP_sha256(),
                                           NULL, key) == 1,
                 "EVP_DigestSignInit");
    }
    for (int i = 0; i < nthreads; i++)
        TC_CHECK(pthread_create(&sg[i].tid, NULL, signer_loop, &sg[i]) == 0,
                 "pthread_create");
    for (int i = 0; i < n; i++) {
        pid_t pid;

        reap(&b, CHILDREN_ALIVE);
        if ((pid = fork()) == 0)
            child_signs(key, pub, fileno(lock));
        TC_CHECK(pid > 0, "fork");
        b.pid[b.alive] = pid;
        b.born[b.alive++] = time(NULL);
    }
    reap(&b, 1);
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++) {
        pthread_join(sg[i].tid, NULL);
        sigs += sg[i].signatures;
        fails += sg[i].failures;
        if (sg[i].signatures > 0 && !signer_verified(&sg[i], pub)) {
            fprintf(stderr, "thread %d: its last signature does not verify\n",
                    i);
            fails++;
        }
        EVP_MD_CTX_free(sg[i].ctx);
    }
    printf("fork-threads %s: %d children forked while %d threads signed: "
           "%d signed and exited, %d failed, %d hung; the threads made %ld "
           "signatures, %ld failed\n", uri, n, nthreads, b.ok, b.failed,
           b.hung, sigs, fails);
    fclose(lock);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return b.ok == n && fails == 0 && sigs > 0;
}

int main(int argc, char **argv)
{
    int ok = 0;

    setvbuf(stdout, NULL, _IOLBF, 0); /* no buffered line copied by fork */
    if (argc >= 3 && strcmp(argv[1], "fork-first") == 0)
        ok = fork_first(argv[2], argc >= 4 ? atoi(argv[3]) : 1);
    else if (argc >= 4 && strcmp(argv[1], "fork-after") == 0)
        ok = fork_after(argv[2], atoi(argv[3]));
    else if (argc >= 5 && strcmp(argv[1], "fork-many") == 0)
        ok = fork_many(argv[2], atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 4 && strcmp(argv[1], "fork-nested") == 0)
        ok = fork_nested(argv[2], atoi(argv[3]));
    else if (argc >= 5 && strcmp(argv[1], "fork-threads") == 0)
        ok = fork_threads(argv[2], atoi(argv[3]), atoi(argv[4]));
    else
        fprintf(stderr, "usage: see the header of prov_fork.c\n");
    return ok ? 0 : 1;
}
