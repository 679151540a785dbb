/* SPDX-License-Identifier: Apache-2.0 */
/*
 * setuid_probe.c - a stand-in for a setuid program that loads the hsmkey
 * provider (prov_setuid.sh makes a setuid copy of it and runs that as an
 * unprivileged user).
 *
 *     setuid_probe CONF URI
 *
 * Prints whether the process runs in secure mode (AT_SECURE), loads the
 * configuration CONF (OPENSSL_CONF is ignored in secure mode) into a
 * library context of its own, loads URI's private key through the hsmkey
 * store and prints "loaded" or "not loaded" and the error queue.  Exit 0
 * when the key loaded, 1 when not, 2 when the setup failed.
 */
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/store.h>

/*
 * In an ASan build: a setuid process cannot read its own
 * /proc/self/environ, where the sanitizer runtime looks for ASAN_OPTIONS,
 * and LeakSanitizer cannot stop the threads of a non-dumpable process.
 * The runtime asks this function instead (other builds never call it).
 */
__attribute__((visibility("default"))) const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

static EVP_PKEY *load(OSSL_LIB_CTX *libctx, const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open_ex(uri, libctx, "provider=hsmkey",
                                               NULL, NULL, NULL, NULL, NULL);
    OSSL_STORE_INFO *info;
    EVP_PKEY *key = NULL;

    if (store == NULL)
        return NULL;
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (key == NULL && !OSSL_STORE_eof(store)
           && (info = OSSL_STORE_load(store)) != NULL) {
        key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return key;
}

int main(int argc, char **argv)
{
    OSSL_LIB_CTX *libctx;
    EVP_PKEY *key;

    if (argc != 3) {
        fprintf(stderr, "usage: setuid_probe CONF URI\n");
        return 2;
    }
    printf("ruid=%u euid=%u secure=%lu\n", (unsigned int)getuid(),
           (unsigned int)geteuid(), getauxval(AT_SECURE));
    fflush(stdout);
    if ((libctx = OSSL_LIB_CTX_new()) == NULL
        || !OSSL_LIB_CTX_load_config(libctx, argv[1])) {
        ERR_print_errors_fp(stderr);
        OSSL_LIB_CTX_free(libctx);
        return 2;
    }
    key = load(libctx, argv[2]);
    printf("%s\n", key != NULL ? "loaded" : "not loaded");
    fflush(stdout);
    ERR_print_errors_fp(stderr);
    EVP_PKEY_free(key);
    OSSL_LIB_CTX_free(libctx);
    return key != NULL ? 0 : 1;
}
