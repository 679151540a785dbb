/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_instances.c - two library contexts, each loading the provider from
 * OPENSSL_CONF, as a program with a context per tenant or a library with
 * its own context next to the application's does:
 *
 *   prov_instances URI
 *
 * URI names an RSA key.  Each instance reports its errors under its own
 * library code (OpenSSL gives each loaded provider one), also with threads
 * of both at once; both sign.  Then one context is freed while this thread
 * last worked in it, and an error the other raises on this thread goes to
 * the one still loaded, not to the freed one's handle (under ASan, a use
 * after free otherwise).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "prov_util.h"

#define THREADS 4
#define ROUNDS 50

static char missing[256];

static OSSL_LIB_CTX *context(const char *conf)
{
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

    TC_CHECK(ctx != NULL, "OSSL_LIB_CTX_new");
    TC_CHECK(OSSL_LIB_CTX_load_config(ctx, conf) == 1,
             "loading %s into a new library context", conf);
    TC_CHECK(OSSL_PROVIDER_available(ctx, "hsmkey"),
             "hsmkey not loaded by %s", conf);
    return ctx;
}

/* The library code of the first error on this thread whose data holds
 * needle (the others are OpenSSL's own); the queue is emptied.  0: none. */
static int lib_of_error(const char *needle)
{
    const char *data;
    unsigned long e;
    int flags, lib = 0;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (lib != 0 || !(flags & ERR_TXT_STRING) || data == NULL
            || strstr(data, needle) == NULL)
            continue;
        lib = ERR_GET_LIB(e);
        TC_CHECK(ERR_reason_error_string(e) != NULL,
                 "no reason string for library %d, reason %d", lib,
                 ERR_GET_REASON(e));
    }
    return lib;
}

/* A key that is not on the token, looked for through ctx's instance: the
 * library code its error carries. */
static int miss(OSSL_LIB_CTX *ctx)
{
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(missing, ctx, NULL, NULL, NULL,
                                           NULL, NULL, NULL);
    OSSL_STORE_INFO *info;
    int lib;

    while (s != NULL && !OSSL_STORE_eof(s)) {
        info = OSSL_STORE_load(s);
        TC_CHECK(info == NULL, "%s: an object was found", missing);
        if (OSSL_STORE_error(s))
            break;
    }
    OSSL_STORE_close(s);
    lib = lib_of_error("no-such-key");
    TC_CHECK(lib != 0, "%s: no error names the key", missing);
    return lib;
}

static EVP_PKEY *load(OSSL_LIB_CTX *ctx, const char *uri)
{
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(uri, ctx, NULL, NULL, NULL, NULL,
                                           NULL, NULL);
    EVP_PKEY *key = NULL;
    OSSL_STORE_INFO *info;
    char err[1024];

    while (key == NULL && s != NULL && !OSSL_STORE_eof(s)) {
        if ((info = OSSL_STORE_load(s)) == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(s);
    TC_CHECK(key != NULL, "%s: %s", uri, tc_errors(err, sizeof(err)));
    return key;
}

/* A signature through the key's instance, verified by the default
 * provider on its public half. */
static void sign_verify(OSSL_LIB_CTX *ctx, EVP_PKEY *key)
{
    static const unsigned char msg[] = "two instances, one token";
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY *pub = tc_public(key);
    char err[1024];
    int ok;

    TC_CHECK(pub != NULL, "the key's public half");
    ok = EVP_DigestSignInit_ex(md, NULL, "SHA256", ctx, NULL, key, NULL)
         && EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg));
    TC_CHECK(ok, "signing: %s", tc_errors(err, sizeof(err)));
    EVP_MD_CTX_free(md);
    md = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL)
         && EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) == 1;
    TC_CHECK(ok, "the signature does not verify");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pub);
}

/* A provider-side error that no token call comes before: a signature
 * buffer that is too small.  Its library code. */
static int short_buffer(EVP_PKEY *key)
{
    static const unsigned char digest[32] = { 1 };
    EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    unsigned char sig[8];
    size_t siglen = sizeof(sig);
    int lib;

    TC_CHECK(p != NULL && EVP_PKEY_sign_init(p) == 1
                 && EVP_PKEY_CTX_set_signature_md(p, EVP_sha256()) == 1,
             "EVP_PKEY_sign_init");
    TC_CHECK(EVP_PKEY_sign(p, sig, &siglen, digest, sizeof(digest)) <= 0,
             "an 8-byte buffer took an RSA signature");
    EVP_PKEY_CTX_free(p);
    lib = lib_of_error("signature buffer of 8 bytes");
    TC_CHECK(lib != 0, "no error names the short buffer");
    return lib;
}

/*
 * hsmkey.so stays mapped until exit, as in a program whose default context
 * holds it.  Freeing the last context unloads it otherwise, and
 * ThreadSanitizer's atexit interception (unlike glibc's, which drops a
 * library's handlers when it is unloaded) would call the core's exit
 * handler in the unmapped library.
 */
static void keep_mapped(void)
{
    char path[1024];
    const char *build = getenv("HSMKEY_BUILD");

    TC_CHECK(build != NULL, "HSMKEY_BUILD is not set");
    snprintf(path, sizeof(path), "%s/provider/hsmkey.so", build);
    TC_CHECK(dlopen(path, RTLD_NOW | RTLD_NODELETE) != NULL, "dlopen %s: %s",
             path, dlerror());
}

struct worker {
    pthread_t t;
    OSSL_LIB_CTX *ctx;
    int expect;
    int wrong;
};

static void *work(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < ROUNDS; i++)
        w->wrong += miss(w->ctx) != w->expect;
    OPENSSL_thread_stop();
    return NULL;
}

int main(int argc, char **argv)
{
    const char *conf = getenv("OPENSSL_CONF");
    const char *token = getenv("HSMKEY_TEST_TOKEN");
    struct worker w[THREADS];
    OSSL_LIB_CTX *a, *b;
    EVP_PKEY *ka, *kb;
    int lib_a, lib_b, wrong = 0;

    TC_CHECK(argc == 3 && strcmp(argv[1], "run") == 0 && conf != NULL
                 && token != NULL,
             "usage: prov_instances run URI (OPENSSL_CONF and "
             "HSMKEY_TEST_TOKEN set)");
    /* The default context stays without the provider: only A and B. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    keep_mapped();
    snprintf(missing, sizeof(missing),
             "pkcs11:token=%s;object=no-such-key;type=private", token);
    a = context(conf);
    b = context(conf);

    lib_a = miss(a);
    lib_b = miss(b);
    printf("library codes: %d and %d\n", lib_a, lib_b);
    TC_CHECK(lib_a != lib_b, "both instances report under library %d",
             lib_a);
    TC_CHECK(miss(a) == lib_a, "instance A's second error changed library");

    ka = load(a, argv[2]);
    kb = load(b, argv[2]);
    sign_verify(a, ka);
    sign_verify(b, kb);

    for (int i = 0; i < THREADS; i++) {
        w[i].ctx = i % 2 ? b : a;
        w[i].expect = i % 2 ? lib_b : lib_a;
        w[i].wrong = 0;
        TC_CHECK(pthread_create(&w[i].t, NULL, work, &w[i]) == 0,
                 "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].t, NULL);
        wrong += w[i].wrong;
    }
    printf("%d threads, %d errors each: %d under the other instance\n",
           THREADS, ROUNDS, wrong);
    TC_CHECK(wrong == 0, "%d errors went to the other instance", wrong);

    /* This thread worked in B last; B goes away. */
    EVP_PKEY_free(kb);
    TC_CHECK(miss(b) == lib_b, "instance B's error changed library");
    OSSL_LIB_CTX_free(b);
    TC_CHECK(short_buffer(ka) == lib_a,
             "an error after B was freed went elsewhere than A");
    TC_CHECK(miss(a) == lib_a, "instance A's error changed library");
    sign_verify(a, ka);
    printf("after B was freed: A's errors under library %d\n", lib_a);

    EVP_PKEY_free(ka);
    OSSL_LIB_CTX_free(a);
    printf("ok\n");
    return 0;
}
