/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_util.c - helpers of the tests/c programs (prov_util.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "prov_util.h"
#include "p11shim.h"

EVP_PKEY *tc_load_key(const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (pkey == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);

        if (info != NULL
            && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (info == NULL && OSSL_STORE_error(st))
            break;
    }
    OSSL_STORE_close(st);
    return pkey;
}

EVP_PKEY *tc_public(EVP_PKEY *key)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(key, &der);
    EVP_PKEY *pub;

    if (len <= 0)
        return NULL;
    p = der;
    pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider=default");
    OPENSSL_free(der);
    return pub;
}

static int verify(EVP_PKEY *pub, const unsigned char *sig, size_t siglen,
                  const unsigned char *msg, size_t msglen)
{
    EVP_MD_CTX *v = EVP_MD_CTX_new();
    int ok = v != NULL
             && EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL,
                                        "provider=default", pub, NULL) == 1
             && EVP_DigestVerify(v, sig, siglen, msg, msglen) == 1;

    EVP_MD_CTX_free(v);
    return ok;
}

int tc_sign(EVP_PKEY *key, EVP_PKEY *pub)
{
    unsigned char msg[64], sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *s = EVP_MD_CTX_new();
    int ok;

    TC_CHECK(s != NULL && RAND_bytes(msg, sizeof(msg)) == 1, "no memory");
    ok = EVP_DigestSignInit(s, NULL, EVP_sha256(), NULL, key) == 1
         && EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(s);
    if (ok && !verify(pub, sig, siglen, msg, sizeof(msg))) {
        ERR_print_errors_fp(stderr);
        TC_CHECK(0, "a signature the provider returned does not verify");
    }
    return ok;
}

/* EVP_DigestSign twice on one context, two messages: the provider's
 * one-shot must start its hash over after each. */
int tc_sign_twice(EVP_PKEY *key, EVP_PKEY *pub)
{
    unsigned char msg[2][32], sig[2][1024];
    size_t siglen[2] = { sizeof(sig[0]), sizeof(sig[1]) };
    EVP_MD_CTX *s = EVP_MD_CTX_new();
    int ok;

    TC_CHECK(s != NULL && RAND_bytes(msg[0], sizeof(msg)) == 1, "no memory");
    ok = EVP_DigestSignInit(s, NULL, EVP_sha256(), NULL, key) == 1
         && EVP_DigestSign(s, sig[0], &siglen[0], msg[0], 32) == 1
         && EVP_DigestSign(s, sig[1], &siglen[1], msg[1], 32) == 1;
    EVP_MD_CTX_free(s);
    return ok && verify(pub, sig[0], siglen[0], msg[0], 32)
           && verify(pub, sig[1], siglen[1], msg[1], 32);
}

char *tc_errors(char *buf, size_t len)
{
    const char *data;
    unsigned long e;
    int flags;
    size_t n = 0;

    buf[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char one[256];

        /* SoftHSM2 probes the rdrand engine at start and leaves its
         * failure in the queue: not ours, and not the answer. */
        if (ERR_GET_LIB(e) == ERR_LIB_DSO || ERR_GET_LIB(e) == ERR_LIB_ENGINE)
            continue;

        ERR_error_string_n(e, one, sizeof(one));
        if (n + 2 < len)
            n += snprintf(buf + n, len - n, "%s%s%s%s", n ? "; " : "", one,
                          (flags & ERR_TXT_STRING) && data ? ": " : "",
                          (flags & ERR_TXT_STRING) && data ? data : "");
        if (n >= len)
            n = len - 1;
    }
    return buf;
}

double tc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void tc_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the shim ---- */

static hsmkey_shim_counts_fn *shim_counts;
static CK_FUNCTION_LIST *shim_fl;
static const char *shim_ctl;
static unsigned long canary_faults; /* our own C_GetFunctionStatus faults */

/* The canary call: counted apart so "faults" means the rules' faults. */
static CK_RV canary(void)
{
    CK_RV rv = shim_fl->C_GetFunctionStatus(0);

    if (rv == CKR_DEVICE_MEMORY || rv == CKR_FUNCTION_FAILED)
        canary_faults++;
    return rv;
}

void tc_shim_open(void)
{
    const char *path = getenv("HSMKEY_TEST_SHIM");
    CK_C_GetFunctionList get;
    void *so;

    shim_ctl = getenv("HSMKEY_SHIM_CONTROL");
    TC_CHECK(path != NULL && shim_ctl != NULL,
             "HSMKEY_TEST_SHIM and HSMKEY_SHIM_CONTROL must be set");
    so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    TC_CHECK(so != NULL, "cannot load the shim %s: %s", path, dlerror());
    shim_counts = (hsmkey_shim_counts_fn *)dlsym(so, HSMKEY_SHIM_COUNTS_SYM);
    get = (CK_C_GetFunctionList)dlsym(so, "C_GetFunctionList");
    TC_CHECK(shim_counts != NULL && get != NULL && get(&shim_fl) == CKR_OK,
             "%s is not the hsmkey shim", path);
}

unsigned long tc_shim_count(const char *fn)
{
    if (strcmp(fn, "faults") == 0)
        return shim_counts(fn) - canary_faults;
    return shim_counts(fn);
}

void tc_shim_control(const char *rules)
{
    static int version;
    CK_RV want = ++version % 2 ? CKR_DEVICE_MEMORY : CKR_FUNCTION_FAILED;
    char tmp[4096];
    FILE *f;
    int i;

    snprintf(tmp, sizeof(tmp), "%s.tmp", shim_ctl);
    f = fopen(tmp, "w");
    TC_CHECK(f != NULL, "cannot write %s", tmp);
    /* The canary first: a "*" rule below must not answer for it. */
    fprintf(f, "C_GetFunctionStatus:%s\n%s\n",
            want == CKR_DEVICE_MEMORY ? "CKR_DEVICE_MEMORY"
                                      : "CKR_FUNCTION_FAILED",
            rules);
    TC_CHECK(fclose(f) == 0 && rename(tmp, shim_ctl) == 0, "rename %s", tmp);
    /* Not started yet: the shim reads the file at C_Initialize. */
    if (canary() == CKR_CRYPTOKI_NOT_INITIALIZED)
        return;
    for (i = 0; i < 500 && canary() != want; i++)
        tc_sleep_ms(10);
    TC_CHECK(i < 500, "the shim did not read %s within 5 s", shim_ctl);
}

void tc_counts_take(struct tc_counts *c)
{
    c->sign_init = tc_shim_count("C_SignInit");
    c->sign = tc_shim_count("C_Sign");
    c->login = tc_shim_count("C_Login");
    c->open = tc_shim_count("C_OpenSession");
    c->find = tc_shim_count("C_FindObjectsInit");
    c->faults = tc_shim_count("faults");
    c->slots = tc_shim_count("C_GetSlotList");
}

struct tc_counts tc_counts_diff(const struct tc_counts *a,
                                const struct tc_counts *b)
{
    return (struct tc_counts){ a->sign_init - b->sign_init, a->sign - b->sign,
                               a->login - b->login, a->open - b->open,
                               a->find - b->find, a->faults - b->faults,
                               a->slots - b->slots };
}

void tc_provider_stats(struct tc_stats *st)
{
    OSSL_PROVIDER *prov = OSSL_PROVIDER_load(NULL, "hsmkey");
    OSSL_PARAM params[] = {
        OSSL_PARAM_ulong("hsmkey-sessions", &st->sessions),
        OSSL_PARAM_ulong("hsmkey-sessions-idle", &st->idle),
        OSSL_PARAM_ulong("hsmkey-session-copies", &st->copies),
        OSSL_PARAM_END
    };

    memset(st, 0, sizeof(*st));
    TC_CHECK(prov != NULL && OSSL_PROVIDER_get_params(prov, params) == 1,
             "the provider's parameters cannot be read");
    OSSL_PROVIDER_unload(prov);
}

long tc_token_session_objects(void)
{
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8, found = 0, got;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h[64];
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = { { CKA_TOKEN, &no, sizeof(no) } };

    CK_RV rv;

    TC_CHECK(shim_fl->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK && n > 0,
             "no slot");
    rv = shim_fl->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv == CKR_SESSION_COUNT)
        return -1; /* the token's every session is the provider's */
    TC_CHECK(rv == CKR_OK, "C_OpenSession");
    TC_CHECK(shim_fl->C_FindObjectsInit(s, tmpl, 1) == CKR_OK, "find");
    while (shim_fl->C_FindObjects(s, h, 64, &got) == CKR_OK && got > 0)
        found += got;
    shim_fl->C_FindObjectsFinal(s);
    shim_fl->C_CloseSession(s);
    return (long)found;
}
