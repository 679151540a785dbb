/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_index.c - many keys from one token: the token's index of objects
 * (provider/core/index.c) answers their searches, and answers them as the
 * token would.  Through the counting shim (tests/p11shim), on a token with
 * K more key pairs "many-<i>" (CKA_ID the label's bytes) made by another
 * process:
 *
 *   prov_index many URI DIR K      K keys by label, each signs: at most a
 *                                  few C_FindObjectsInit, not one per key;
 *                                  then id-only and label-only URIs answered
 *                                  from the index; a URI that names two keys
 *                                  is still ambiguous; a key another process
 *                                  makes (hsmkey keygen) is found, and one
 *                                  it replaces under the same label is the
 *                                  new one; a handle the token refuses drops
 *                                  the index
 *   prov_index fork URI DIR K      K keys loaded, then a forked child loads
 *                                  them by other URIs (the parent's index
 *                                  is of no use there) and signs
 *   prov_index login URI DIR K     public keys first, the token logged out
 *                                  (the index holds no private object),
 *                                  then every private key loads and signs
 *   prov_index threads URI DIR K T T threads load K keys between them at
 *                                  once, each signs (for TSan: tsan.sh)
 *   prov_index pubs OUTDIR URI...  (any token, no shim: the token matrix)
 *                                  each URI's key loaded in this one
 *                                  process, in order (type=public: a
 *                                  public key), its public half written to
 *                                  OUTDIR/<n>.pem, n from 1
 *   prov_index mkkeys DIR PREFIX FIRST N   (the other process) N P-256
 *                                  key pairs PREFIX-<i>, or N labelled
 *                                  PREFIX with ids PREFIX-<i> when FIRST
 *                                  is "same"
 *
 * URI is run.sh's (its key is not used).  Environment as for prov_faults:
 * HSMKEY_TEST_SHIM, HSMKEY_SHIM_CONTROL, HSMKEY_TEST_TOKEN, OPENSSL_CONF,
 * SOFTHSM2_CONF; HSMKEY_BUILD for the hsmkey CLI.  Exit 0 when every
 * outcome is the expected one; the figures are printed.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/store.h>
#include <p11-kit/pkcs11.h>

#include "prov_util.h"

#define MAX_KEYS 256
/* Searches allowed for K distinct keys: the first, the pass over the
 * token, and installments the timing of a busy or instrumented run may
 * spread the index over. */
#define MAX_FINDS 10

static const char *token_label;
static const char *dir;

/* ---- the other process: key pairs straight through SoftHSM2 ---- */

static CK_FUNCTION_LIST *softhsm(void)
{
    const char *path = getenv("HSMKEY_SHIM_MODULE");
    CK_C_GetFunctionList get;
    CK_FUNCTION_LIST *fn = NULL;
    void *so = dlopen(path != NULL ? path
                                   : "/usr/lib/softhsm/libsofthsm2.so",
                      RTLD_NOW);

    TC_CHECK(so != NULL, "cannot load SoftHSM2: %s", dlerror());
    get = (CK_C_GetFunctionList)dlsym(so, "C_GetFunctionList");
    TC_CHECK(get != NULL && get(&fn) == CKR_OK
             && fn->C_Initialize(NULL) == CKR_OK, "SoftHSM2 does not start");
    return fn;
}

static CK_SESSION_HANDLE open_logged_in(CK_FUNCTION_LIST *fn)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_SESSION_HANDLE s;
    char pin[128], path[4096];
    FILE *f;

    TC_CHECK(fn->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK, "slots");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        size_t len = strlen(token_label);

        if (fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK
            || memcmp(ti.label, token_label, len) != 0
            || (len < sizeof(ti.label) && ti.label[len] != ' '))
            continue;
        TC_CHECK(fn->C_OpenSession(slots[i], CKF_SERIAL_SESSION
                                       | CKF_RW_SESSION, NULL, NULL, &s)
                     == CKR_OK, "C_OpenSession");
        snprintf(path, sizeof(path), "%s/pin", dir);
        TC_CHECK((f = fopen(path, "r")) != NULL
                     && fgets(pin, sizeof(pin), f) != NULL,
                 "cannot read %s", path);
        fclose(f);
        pin[strcspn(pin, "\n")] = '\0';
        TC_CHECK(fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin))
                     == CKR_OK, "C_Login");
        return s;
    }
    TC_CHECK(0, "no token '%s'", token_label);
    return 0;
}

static int make_keys(const char *prefix, const char *first_arg, int n)
{
    static CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
                              0xce, 0x3d, 0x03, 0x01, 0x07 };
    CK_FUNCTION_LIST *fn = softhsm();
    CK_SESSION_HANDLE s = open_logged_in(fn);
    CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE;
    int same = strcmp(first_arg, "same") == 0;
    int first = same ? 0 : atoi(first_arg);
    char label[64], id[64];
    CK_ATTRIBUTE pub[] = { { CKA_EC_PARAMS, p256, sizeof(p256) },
                           { CKA_TOKEN, &yes, sizeof(yes) },
                           { CKA_VERIFY, &yes, sizeof(yes) },
                           { CKA_LABEL, label, 0 },
                           { CKA_ID, id, 0 } };
    CK_ATTRIBUTE priv[] = { { CKA_TOKEN, &yes, sizeof(yes) },
                            { CKA_PRIVATE, &yes, sizeof(yes) },
                            { CKA_SENSITIVE, &yes, sizeof(yes) },
                            { CKA_SIGN, &yes, sizeof(yes) },
                            { CKA_LABEL, label, 0 },
                            { CKA_ID, id, 0 } };
    CK_OBJECT_HANDLE hpub, hpriv;

    for (int i = first; i < first + n; i++) {
        CK_ULONG idlen = snprintf(id, sizeof(id), "%s-%d", prefix, i);
        CK_ULONG lablen = snprintf(label, sizeof(label), "%s", same ? prefix
                                                                    : id);

        pub[3].ulValueLen = priv[4].ulValueLen = lablen;
        pub[4].ulValueLen = priv[5].ulValueLen = idlen;
        TC_CHECK(fn->C_GenerateKeyPair(s, &gen, pub, 5, priv, 6, &hpub,
                                       &hpriv) == CKR_OK,
                 "C_GenerateKeyPair %s", id);
    }
    fn->C_CloseSession(s);
    fn->C_Finalize(NULL);
    return 0;
}

/* Run argv as another process, its output to stderr; 1 when it exits 0. */
static int run(char *const argv[])
{
    pid_t pid;
    int status;

    fflush(NULL);
    if ((pid = fork()) == 0) {
        dup2(2, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    TC_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void other_process_keys(const char *prefix, const char *first, int n)
{
    char count[16];
    char *argv[] = { "/proc/self/exe", "mkkeys", (char *)dir, (char *)prefix,
                     (char *)first, count, NULL };

    snprintf(count, sizeof(count), "%d", n);
    TC_CHECK(run(argv), "mkkeys %s %s %d failed", prefix, first, n);
}

/* hsmkey keygen in a process of its own, straight to SoftHSM2. */
static void other_process_keygen(const char *label, int force)
{
    char cli[4096], pin[4096];
    char *argv[] = { cli, "--module", "/usr/lib/softhsm/libsofthsm2.so",
                     "--pin-source", pin, "keygen", "--token",
                     (char *)token_label, "--label", (char *)label, "--type",
                     "ec:P-256", force ? "--force" : NULL, "--yes", NULL };

    snprintf(cli, sizeof(cli), "%s/tool/hsmkey", getenv("HSMKEY_BUILD"));
    snprintf(pin, sizeof(pin), "file:%s/pin", dir);
    TC_CHECK(run(argv), "hsmkey keygen --label %s failed", label);
}

/* ---- loads through the provider ---- */

static EVP_PKEY *load_expect(const char *uri, int expect)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, expect);
    while (pkey == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);

        if (info != NULL && OSSL_STORE_INFO_get_type(info) == expect)
            pkey = expect == OSSL_STORE_INFO_PKEY
                       ? OSSL_STORE_INFO_get1_PKEY(info)
                       : OSSL_STORE_INFO_get1_PUBKEY(info);
        OSSL_STORE_INFO_free(info);
        if (info == NULL && OSSL_STORE_error(st))
            break;
    }
    OSSL_STORE_close(st);
    return pkey;
}

static void uri_of(char *buf, size_t len, int i, const char *what)
{
    snprintf(buf, len, "pkcs11:token=%s;object=many-%d;type=%s", token_label,
             i, what);
}

/* The private key of uri, which must sign; its public half in *pub. */
static EVP_PKEY *load_signing(const char *uri, EVP_PKEY **pub)
{
    char err[2048];
    EVP_PKEY *key = tc_load_key(uri);

    TC_CHECK(key != NULL, "cannot load %s: %s", uri,
             tc_errors(err, sizeof(err)));
    *pub = tc_public(key);
    TC_CHECK(*pub != NULL && tc_sign(key, *pub), "%s: cannot sign", uri);
    return key;
}

static unsigned long finds(void)
{
    return tc_shim_count("C_FindObjectsInit");
}

struct fixture {
    int k;
    EVP_PKEY *key[MAX_KEYS], *pub[MAX_KEYS];
};

static void setup(struct fixture *fx, int argc, char **argv, int need)
{
    TC_CHECK(argc >= need, "usage: prov_index MODE URI DIR K ...");
    token_label = getenv("HSMKEY_TEST_TOKEN");
    dir = argv[3];
    fx->k = atoi(argv[4]);
    TC_CHECK(token_label != NULL && fx->k > 2 && fx->k <= MAX_KEYS,
             "HSMKEY_TEST_TOKEN, or K out of 3..%d", MAX_KEYS);
    other_process_keys("many", "0", fx->k);
    tc_shim_open();
    tc_shim_control("");
}

static void teardown(struct fixture *fx)
{
    for (int i = 0; i < fx->k; i++) {
        EVP_PKEY_free(fx->key[i]);
        EVP_PKEY_free(fx->pub[i]);
    }
}

/* K keys by label: searches bounded, not one per key. */
static void load_all(struct fixture *fx)
{
    char uri[256];
    unsigned long f0 = finds(), n;
    double t0 = tc_now_ms();

    for (int i = 0; i < fx->k; i++) {
        uri_of(uri, sizeof(uri), i, "private");
        fx->key[i] = load_signing(uri, &fx->pub[i]);
    }
    n = finds() - f0;
    printf("many: %d keys loaded and signing in %.0f ms with %lu "
           "C_FindObjectsInit\n", fx->k, tc_now_ms() - t0, n);
    TC_CHECK(n <= MAX_FINDS, "%lu searches for %d keys: the token's index "
             "does not answer them", n, fx->k);
}

/* pct-encoded bytes of s, for id= */
static void pct(char *out, size_t len, const char *s)
{
    size_t n = 0;

    for (; *s && n + 4 < len; s++)
        n += snprintf(out + n, len - n, "%%%02x", (unsigned char)*s);
}

/* Id-only and label-only URIs (no token=, no type=): the same keys, and
 * no search of the token. */
static void other_uris(struct fixture *fx)
{
    char uri[256], id[128], label[32];
    unsigned long f0 = finds();

    for (int i = 1; i < fx->k; i += fx->k / 3) {
        EVP_PKEY *pub, *key;

        snprintf(label, sizeof(label), "many-%d", i);
        pct(id, sizeof(id), label);
        snprintf(uri, sizeof(uri), "pkcs11:id=%s", id);
        key = load_signing(uri, &pub);
        TC_CHECK(EVP_PKEY_eq(pub, fx->pub[i]) == 1, "%s is not %s", uri,
                 label);
        EVP_PKEY_free(key);
        EVP_PKEY_free(pub);
        snprintf(uri, sizeof(uri), "pkcs11:object=%s", label);
        key = load_signing(uri, &pub);
        TC_CHECK(EVP_PKEY_eq(pub, fx->pub[i]) == 1, "%s is not %s", uri,
                 label);
        EVP_PKEY_free(key);
        EVP_PKEY_free(pub);
        snprintf(uri, sizeof(uri), "pkcs11:object=%s;type=public", label);
        pub = load_expect(uri, OSSL_STORE_INFO_PUBKEY);
        TC_CHECK(pub != NULL && EVP_PKEY_eq(pub, fx->pub[i]) == 1,
                 "%s is not %s's public key", uri, label);
        EVP_PKEY_free(pub);
    }
    printf("many: id-only, label-only and public key URIs: %lu "
           "C_FindObjectsInit\n", finds() - f0);
    TC_CHECK(finds() == f0, "the index did not answer id-only or label-only "
             "URIs");
}

/* Two keys with one label, made before the index was read. */
static void ambiguous(void)
{
    char uri[256], err[2048];
    EVP_PKEY *key;

    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=twin;type=private",
             token_label);
    key = tc_load_key(uri);
    TC_CHECK(key == NULL, "%s loaded one of two keys", uri);
    tc_errors(err, sizeof(err));
    TC_CHECK(strstr(err, "matches 2 private keys") != NULL,
             "%s: not reported as ambiguous: %s", uri, err);
    printf("many: %s: %s\n", uri, err);
}

/* Keys another process makes or replaces after the index was read. */
static void other_process(struct fixture *fx)
{
    char uri[256];
    unsigned long f0;
    EVP_PKEY *key, *pub;
    int i = fx->k / 2;

    other_process_keygen("late-key", 0);
    f0 = finds();
    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=late-key;type=private",
             token_label);
    key = load_signing(uri, &pub);
    TC_CHECK(finds() > f0, "%s: the token was not searched", uri);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    /* Added to the index: found again by another URI without a search. */
    f0 = finds();
    snprintf(uri, sizeof(uri), "pkcs11:object=late-key");
    key = load_signing(uri, &pub);
    TC_CHECK(finds() == f0, "%s: searched again", uri);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    printf("many: a key made by another process after the index: found\n");

    /* The index holds the old key's handle; a URI not searched before. */
    snprintf(uri, sizeof(uri), "many-%d", i);
    other_process_keygen(uri, 1);
    snprintf(uri, sizeof(uri), "pkcs11:object=many-%d;type=private", i);
    key = load_signing(uri, &pub);
    TC_CHECK(EVP_PKEY_eq(pub, fx->pub[i]) != 1, "%s: the key it replaced",
             uri);
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    printf("many: a key replaced by another process under the same label: "
           "the new one\n");
}

/* A handle the token refuses: the key finds itself again, and the index
 * goes (the next new URI searches the token). */
static void refused_handle(struct fixture *fx)
{
    char uri[256];
    unsigned long f0;
    EVP_PKEY *key, *pub;
    unsigned long faults = tc_shim_count("faults");

    /* CKR_OBJECT_HANDLE_INVALID */
    tc_shim_control("C_SignInit:0x82:count=1");
    TC_CHECK(tc_sign(fx->key[0], fx->pub[0]), "no recovery from a refused "
             "handle");
    tc_shim_control("");
    TC_CHECK(tc_shim_count("faults") == faults + 1, "the fault did not "
             "fire");
    f0 = finds();
    snprintf(uri, sizeof(uri), "pkcs11:id=%%6d%%61%%6e%%79%%2d%%30");
    key = load_signing(uri, &pub);
    TC_CHECK(EVP_PKEY_eq(pub, fx->pub[0]) == 1, "%s is not many-0", uri);
    TC_CHECK(finds() > f0, "the index answered after a refused handle");
    EVP_PKEY_free(key);
    EVP_PKEY_free(pub);
    printf("many: a refused handle drops the index\n");
}

/* A child of a process whose index is complete: its own, from nothing. */
static void forked(struct fixture *fx)
{
    pid_t pid;
    int status;

    fflush(NULL);
    if ((pid = fork()) == 0) {
        char uri[256];

        for (int i = 0; i < fx->k; i += 3) {
            EVP_PKEY *key, *pub;

            snprintf(uri, sizeof(uri), "pkcs11:object=many-%d;id=%%6d%%61"
                     "%%6e%%79%%2d%d", i, i);
            key = load_signing(uri, &pub);
            TC_CHECK(EVP_PKEY_eq(pub, fx->pub[i]) == 1, "%s in the child",
                     uri);
            EVP_PKEY_free(key);
            EVP_PKEY_free(pub);
        }
        fflush(NULL);
        _exit(0);
    }
    TC_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
                 && WEXITSTATUS(status) == 0, "the forked child failed");
    printf("many: a forked child loads its keys\n");
}

static int many(int argc, char **argv)
{
    struct fixture fx = { 0 };

    setup(&fx, argc, argv, 5);
    other_process_keys("twin", "same", 2);
    load_all(&fx);
    other_uris(&fx);
    ambiguous();
    other_process(&fx);
    refused_handle(&fx);
    teardown(&fx);
    return 0;
}

/* Not under TSan (tsan.sh): the shim's thread makes the child one of a
 * multi-threaded process, where TSan cannot follow new threads. */
static int fork_mode(int argc, char **argv)
{
    struct fixture fx = { 0 };

    setup(&fx, argc, argv, 5);
    load_all(&fx);
    forked(&fx);
    teardown(&fx);
    return 0;
}

/* Public keys first, logged out; then the private keys. */
static int login(int argc, char **argv)
{
    struct fixture fx = { 0 };
    char uri[256];
    unsigned long f0, n;

    setup(&fx, argc, argv, 5);
    f0 = finds();
    for (int i = 0; i < fx.k; i++) {
        uri_of(uri, sizeof(uri), i, "public");
        fx.pub[i] = load_expect(uri, OSSL_STORE_INFO_PUBKEY);
        TC_CHECK(fx.pub[i] != NULL, "no public key %s", uri);
    }
    n = finds() - f0;
    printf("login: %d public keys, logged out: %lu C_FindObjectsInit\n",
           fx.k, n);
    TC_CHECK(n <= MAX_FINDS, "the index did not answer public key searches");
    for (int i = 0; i < fx.k; i++) {
        EVP_PKEY *pub;

        uri_of(uri, sizeof(uri), i, "private");
        fx.key[i] = load_signing(uri, &pub);
        TC_CHECK(EVP_PKEY_eq(pub, fx.pub[i]) == 1, "%s: another key", uri);
        EVP_PKEY_free(pub);
    }
    n = finds() - f0 - n;
    printf("login: then %d private keys: %lu C_FindObjectsInit\n", fx.k, n);
    TC_CHECK(n <= MAX_FINDS, "%lu searches for the private keys", n);
    teardown(&fx);
    return 0;
}

struct share {
    struct fixture *fx;
    int t, nthreads;
};

static void *loader(void *arg)
{
    struct share *sh = arg;
    char uri[256];

    for (int i = sh->t; i < sh->fx->k; i += sh->nthreads) {
        uri_of(uri, sizeof(uri), i, "private");
        sh->fx->key[i] = load_signing(uri, &sh->fx->pub[i]);
    }
    return NULL;
}

static int threads(int argc, char **argv)
{
    struct fixture fx = { 0 };
    struct share sh[32];
    pthread_t th[32];
    int nthreads;
    unsigned long f0;

    setup(&fx, argc, argv, 6);
    nthreads = atoi(argv[5]);
    TC_CHECK(nthreads > 0 && nthreads <= 32, "T out of 1..32");
    f0 = finds();
    for (int t = 0; t < nthreads; t++) {
        sh[t] = (struct share){ &fx, t, nthreads };
        TC_CHECK(pthread_create(&th[t], NULL, loader, &sh[t]) == 0,
                 "pthread_create");
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    for (int i = 0; i < fx.k; i++)
        TC_CHECK(tc_sign(fx.key[i], fx.pub[i]), "key %d does not sign", i);
    printf("threads: %d threads loaded %d keys with %lu C_FindObjectsInit\n",
           nthreads, fx.k, finds() - f0);
    teardown(&fx);
    return 0;
}

static int pubs(int argc, char **argv)
{
    char path[4096], err[2048];

    for (int i = 3; i < argc; i++) {
        int pub = strstr(argv[i], "type=public") != NULL;
        EVP_PKEY *key = load_expect(argv[i], pub ? OSSL_STORE_INFO_PUBKEY
                                                 : OSSL_STORE_INFO_PKEY);
        FILE *f;

        TC_CHECK(key != NULL, "cannot load %s: %s", argv[i],
                 tc_errors(err, sizeof(err)));
        snprintf(path, sizeof(path), "%s/%d.pem", argv[2], i - 2);
        TC_CHECK((f = fopen(path, "w")) != NULL
                     && PEM_write_PUBKEY(f, key) == 1 && fclose(f) == 0,
                 "cannot write %s", path);
        EVP_PKEY_free(key);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "mkkeys") == 0) {
        token_label = getenv("HSMKEY_TEST_TOKEN");
        dir = argv[2];
        TC_CHECK(token_label != NULL, "HSMKEY_TEST_TOKEN not set");
        return make_keys(argv[3], argv[4], atoi(argv[5]));
    }
    if (argc >= 3 && strcmp(argv[1], "pubs") == 0)
        return pubs(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "many") == 0)
        return many(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "fork") == 0)
        return fork_mode(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "login") == 0)
        return login(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "threads") == 0)
        return threads(argc, argv);
    fprintf(stderr, "usage: prov_index many|fork|login|threads URI DIR K "
            "[T]\n       prov_index pubs OUTDIR URI...\n");
    return 2;
}
