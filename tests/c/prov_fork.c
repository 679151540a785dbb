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
 *
 * Every signature is verified in software with the key's public half
 * exported to the default provider.  Exit 0 only when all verify; the
 * figures are printed.
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "prov_util.h"

#define CHILD_SIGNATURES 3

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
    else
        fprintf(stderr, "usage: see the header of prov_fork.c\n");
    return ok ? 0 : 1;
}
