/*
 * prov_fork.c - a token key used across fork() and from many threads,
 * through the provider loaded by OPENSSL_CONF (as nginx and Python do).
 *
 *   prov_fork fork-first URI     fork before any use; the child signs
 *   prov_fork fork-after URI N   parent signs, forks N children that sign,
 *                                then signs again
 *   prov_fork threads URI T S    T threads x S signatures on one key
 *
 * Every signature is verified in software with the key's public half
 * exported to the default provider.  Exit 0 only when all verify.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/x509.h>

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (pkey == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);

        if (info != NULL && OSSL_STORE_INFO_get_type(info)
                                == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return pkey;
}

/* The public half as a plain default-provider key. */
static EVP_PKEY *software_public(EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(pkey, &der);
    EVP_PKEY *pub;

    if (len <= 0)
        return NULL;
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider=default");
    OPENSSL_free(der);
    return pub;
}

static int sign_and_verify(EVP_PKEY *key, EVP_PKEY *pub)
{
    unsigned char msg[64], sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
    int ok = s != NULL && v != NULL && RAND_bytes(msg, sizeof(msg)) == 1
             && EVP_DigestSignInit(s, NULL, EVP_sha256(), NULL, key) == 1
             && EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) == 1
             && EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL,
                                        "provider=default", pub, NULL) == 1
             && EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) == 1;

    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(v);
    if (!ok)
        ERR_print_errors_fp(stderr);
    return ok;
}

static int use_once(const char *uri)
{
    EVP_PKEY *key = load_key(uri), *pub = key ? software_public(key) : NULL;
    int ok = pub != NULL && sign_and_verify(key, pub);

    if (key == NULL)
        ERR_print_errors_fp(stderr);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok;
}

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
    return failed == 0;
}

static int fork_first(const char *uri)
{
    pid_t pid = fork();

    if (pid == 0)
        exit(use_once(uri) ? 0 : 1);
    return pid > 0 && wait_children(1) && use_once(uri);
}

static int fork_after(const char *uri, int n)
{
    EVP_PKEY *key = load_key(uri), *pub = key ? software_public(key) : NULL;
    int ok = pub != NULL && sign_and_verify(key, pub), started = 0;

    for (int i = 0; ok && i < n; i++) {
        pid_t pid = fork();

        if (pid == 0) /* the inherited key object, not a fresh load */
            exit(sign_and_verify(key, pub) && sign_and_verify(key, pub)
                     ? 0 : 1);
        ok = pid > 0;
        started += ok;
    }
    ok = wait_children(started) && ok && sign_and_verify(key, pub);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ok;
}

struct job {
    EVP_PKEY *key, *pub;
    int count, failures;
};

static void *worker(void *arg)
{
    struct job *job = arg;

    for (int i = 0; i < job->count; i++)
        job->failures += !sign_and_verify(job->key, job->pub);
    return NULL;
}

static int threads(const char *uri, int nthreads, int count)
{
    EVP_PKEY *key = load_key(uri), *pub = key ? software_public(key) : NULL;
    struct job jobs[64];
    pthread_t tid[64];
    int failures = 0;

    if (pub == NULL || nthreads < 1 || nthreads > 64)
        return 0;
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){ key, pub, count, 0 };
        pthread_create(&tid[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        failures += jobs[i].failures;
    }
    printf("%d threads x %d signatures: %d failures\n", nthreads, count,
           failures);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return failures == 0;
}

int main(int argc, char **argv)
{
    int ok = 0;

    if (argc >= 3 && strcmp(argv[1], "fork-first") == 0)
        ok = fork_first(argv[2]);
    else if (argc >= 4 && strcmp(argv[1], "fork-after") == 0)
        ok = fork_after(argv[2], atoi(argv[3]));
    else if (argc >= 5 && strcmp(argv[1], "threads") == 0)
        ok = threads(argv[2], atoi(argv[3]), atoi(argv[4]));
    else
        fprintf(stderr, "usage: see the header of prov_fork.c\n");
    return ok ? 0 : 1;
}
