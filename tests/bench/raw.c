/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw.c - the token's own signing rate: C_SignInit + C_Sign straight to the
 * module, one session per thread, the digest (or DigestInfo) prepared once.
 * This is the limit the provider is measured against.
 *
 * SoftHSM2 re-reads a token object on every use and serializes signatures
 * on one key object, so the token has several paths of different speed:
 * the token object, one session-object copy shared by every thread, and a
 * copy per thread (each thread's session makes its own, from a session
 * copy or from the token object).  Each is a mode; the best is the limit.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const char *const bench_raw_path_names[BENCH_RAW_NPATHS] = {
    "token object",
    "shared session copy",
    "copy per thread, of a session copy",
    "copy per thread, of the token object",
};

/* SHA-256 DigestInfo prefix (RFC 8017 9.2 note 1) and a fixed digest. */
static const unsigned char sha256_prefix[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

struct bench_raw {
    CK_FUNCTION_LIST *fn;
    int nthreads;
    enum bench_raw_path path;
    CK_SESSION_HANDLE sessions[BENCH_MAX_THREADS]; /* one per thread */
    CK_OBJECT_HANDLE keys[BENCH_MAX_THREADS]; /* the one each thread uses */
    CK_OBJECT_HANDLE shared;                  /* a copy made in session 0 */
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;
    unsigned char in[64];
    CK_ULONG inlen;
};

CK_FUNCTION_LIST *bench_module(const char *path)
{
    static CK_FUNCTION_LIST *fn;
    CK_C_GetFunctionList get;
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    void *h;
    CK_RV rv;

    if (fn != NULL)
        return fn;
    if ((h = dlopen(path, RTLD_NOW)) == NULL
        || (get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) == NULL
        || get(&fn) != CKR_OK) {
        fprintf(stderr, "bench: cannot load %s\n", path);
        exit(1);
    }
    rv = fn->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        fprintf(stderr, "bench: C_Initialize: 0x%lx\n", rv);
        exit(1);
    }
    return fn;
}

CK_SLOT_ID bench_slot(CK_FUNCTION_LIST *fn, const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_TOKEN_INFO info;

    if (fn->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK)
        for (CK_ULONG i = 0; i < n; i++)
            if (fn->C_GetTokenInfo(slots[i], &info) == CKR_OK
                && strncmp((char *)info.label, label, strlen(label)) == 0
                && (strlen(label) == 32 || info.label[strlen(label)] == ' '))
                return slots[i];
    fprintf(stderr, "bench: no token '%s'\n", label);
    exit(1);
}

static CK_OBJECT_HANDLE find_key(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                                 const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) },
                            { CKA_LABEL, (void *)label, strlen(label) } };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;

    fn->C_FindObjectsInit(s, tmpl, 2);
    fn->C_FindObjects(s, &h, 1, &n);
    fn->C_FindObjectsFinal(s);
    if (n != 1) {
        fprintf(stderr, "bench: no private key '%s'\n", label);
        exit(1);
    }
    return h;
}

static void set_input(struct bench_raw *ctx, const struct bench_alg *alg)
{
    memset(ctx->in, 0x5a, sizeof(ctx->in));
    if (alg->eddsa) {
        ctx->mech = (CK_MECHANISM){ CKM_EDDSA, NULL, 0 };
        ctx->inlen = 64;
    } else if (alg->pss) {
        ctx->pss = (CK_RSA_PKCS_PSS_PARAMS){ CKM_SHA256, CKG_MGF1_SHA256, 32 };
        ctx->mech = (CK_MECHANISM){ CKM_RSA_PKCS_PSS, &ctx->pss,
                                    sizeof(ctx->pss) };
        ctx->inlen = 32;
    } else if (strncmp(alg->name, "RSA", 3) == 0) {
        memcpy(ctx->in, sha256_prefix, sizeof(sha256_prefix));
        ctx->mech = (CK_MECHANISM){ CKM_RSA_PKCS, NULL, 0 };
        ctx->inlen = sizeof(sha256_prefix) + 32;
    } else {
        ctx->mech = (CK_MECHANISM){ CKM_ECDSA, NULL, 0 };
        ctx->inlen = 32;
    }
}

static int raw_sign(void *arg, int thread)
{
    struct bench_raw *ctx = arg;
    unsigned char sig[1024];
    CK_ULONG siglen = sizeof(sig);
    CK_SESSION_HANDLE s = ctx->sessions[thread];

    return ctx->fn->C_SignInit(s, &ctx->mech, ctx->keys[thread]) == CKR_OK
           && ctx->fn->C_Sign(s, ctx->in, ctx->inlen, sig, &siglen) == CKR_OK;
}

/* A session-object copy of key, made in session s. */
static CK_OBJECT_HANDLE copy_in(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                                CK_OBJECT_HANDLE key)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = { { CKA_TOKEN, &no, sizeof(no) } };
    CK_OBJECT_HANDLE copy;
    CK_RV rv = fn->C_CopyObject(s, key, tmpl, 1, &copy);

    if (rv != CKR_OK) {
        fprintf(stderr, "bench: C_CopyObject: 0x%lx\n", rv);
        exit(1);
    }
    return copy;
}

/* The handle each thread signs with, on ctx->path. */
static void choose_keys(struct bench_raw *ctx, CK_OBJECT_HANDLE token_key)
{
    if (ctx->path == BENCH_RAW_SHARED_COPY
        || ctx->path == BENCH_RAW_COPY_OF_COPY)
        ctx->shared = copy_in(ctx->fn, ctx->sessions[0], token_key);
    for (int i = 0; i < ctx->nthreads; i++) {
        switch (ctx->path) {
        case BENCH_RAW_TOKEN:
            ctx->keys[i] = token_key;
            break;
        case BENCH_RAW_SHARED_COPY:
            ctx->keys[i] = ctx->shared;
            break;
        case BENCH_RAW_COPY_OF_COPY:
            ctx->keys[i] = copy_in(ctx->fn, ctx->sessions[i], ctx->shared);
            break;
        default:
            ctx->keys[i] = copy_in(ctx->fn, ctx->sessions[i], token_key);
            break;
        }
    }
}

CK_SESSION_HANDLE bench_login(const struct bench_cfg *cfg, const char *token)
{
    CK_FUNCTION_LIST *fn = bench_module(cfg->module);
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (fn->C_OpenSession(bench_slot(fn, token), CKF_SERIAL_SESSION, NULL,
                          NULL, &s) != CKR_OK)
        exit(1);
    rv = fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)cfg->pin, strlen(cfg->pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        fprintf(stderr, "bench: C_Login: 0x%lx\n", rv);
        exit(1);
    }
    return s;
}

struct bench_raw *bench_raw_new(const struct bench_cfg *cfg,
                                const struct bench_alg *alg, int nthreads,
                                enum bench_raw_path path,
                                struct bench_mode *mode)
{
    struct bench_raw *ctx = calloc(1, sizeof(*ctx));
    CK_SLOT_ID slot;

    if (ctx == NULL || nthreads > BENCH_MAX_THREADS)
        exit(1);
    ctx->fn = bench_module(cfg->module);
    ctx->nthreads = nthreads;
    ctx->path = path;
    slot = bench_slot(ctx->fn, cfg->token);
    bench_login(cfg, cfg->token);
    for (int i = 0; i < nthreads; i++)
        if (ctx->fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
                                   &ctx->sessions[i]) != CKR_OK)
            exit(1);
    set_input(ctx, alg);
    choose_keys(ctx, find_key(ctx->fn, ctx->sessions[0], alg->label));
    *mode = (struct bench_mode){ raw_sign, ctx };
    return ctx;
}

/* The copies go with their sessions (bench_login's keeps the login). */
void bench_raw_free(struct bench_raw *ctx)
{
    for (int i = 0; i < ctx->nthreads; i++)
        ctx->fn->C_CloseSession(ctx->sessions[i]);
    free(ctx);
}

/* n more data objects on the token, so a key search has company. */
int bench_add_objects(const struct bench_cfg *cfg, int n)
{
    CK_FUNCTION_LIST *fn = bench_module(cfg->module);
    CK_SESSION_HANDLE s;
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    char label[32];
    unsigned char value[16] = { 0 };
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) },
                            { CKA_TOKEN, &yes, sizeof(yes) },
                            { CKA_LABEL, label, 0 },
                            { CKA_VALUE, value, sizeof(value) } };
    CK_OBJECT_HANDLE h;
    static int made;

    bench_login(cfg, cfg->token);
    if (fn->C_OpenSession(bench_slot(fn, cfg->token),
                          CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)
        != CKR_OK)
        return 0;
    for (int i = 0; i < n; i++) {
        tmpl[2].ulValueLen = snprintf(label, sizeof(label), "filler-%d",
                                      made++);
        if (fn->C_CreateObject(s, tmpl, 4, &h) != CKR_OK)
            return 0;
    }
    fn->C_CloseSession(s);
    return 1;
}

/* n P-256 key pairs labelled and identified "<prefix>-<i>" on token. */
int bench_add_keys(const struct bench_cfg *cfg, const char *token,
                   const char *prefix, int first, int n)
{
    static CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
                              0xce, 0x3d, 0x03, 0x01, 0x07 };
    CK_FUNCTION_LIST *fn = bench_module(cfg->module);
    CK_MECHANISM gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_BBOOL yes = CK_TRUE;
    char label[64];
    CK_ATTRIBUTE pub[] = { { CKA_EC_PARAMS, p256, sizeof(p256) },
                           { CKA_TOKEN, &yes, sizeof(yes) },
                           { CKA_VERIFY, &yes, sizeof(yes) },
                           { CKA_LABEL, label, 0 },
                           { CKA_ID, label, 0 } };
    CK_ATTRIBUTE priv[] = { { CKA_TOKEN, &yes, sizeof(yes) },
                            { CKA_PRIVATE, &yes, sizeof(yes) },
                            { CKA_SENSITIVE, &yes, sizeof(yes) },
                            { CKA_SIGN, &yes, sizeof(yes) },
                            { CKA_LABEL, label, 0 },
                            { CKA_ID, label, 0 } };
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_SESSION_HANDLE s;
    CK_RV rv;

    bench_login(cfg, token);
    if (fn->C_OpenSession(bench_slot(fn, token),
                          CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)
        != CKR_OK)
        return 0;
    for (int i = first; i < first + n; i++) {
        CK_ULONG len = snprintf(label, sizeof(label), "%s-%d", prefix, i);

        pub[3].ulValueLen = pub[4].ulValueLen = len;
        priv[4].ulValueLen = priv[5].ulValueLen = len;
        rv = fn->C_GenerateKeyPair(s, &gen, pub, 5, priv, 6, &hpub, &hpriv);
        if (rv != CKR_OK) {
            fprintf(stderr, "bench: C_GenerateKeyPair: 0x%lx\n", rv);
            return 0;
        }
    }
    fn->C_CloseSession(s);
    return 1;
}

/* The token's own search time for one private key by label (ms of CPU). */
double bench_raw_find_ms(const struct bench_cfg *cfg, const char *token,
                         const char *label, int reps)
{
    CK_FUNCTION_LIST *fn = bench_module(cfg->module);
    CK_SESSION_HANDLE s;
    double t[BENCH_MAX_ROUNDS], t0;

    if (reps > BENCH_MAX_ROUNDS)
        reps = BENCH_MAX_ROUNDS;
    if (fn->C_OpenSession(bench_slot(fn, token), CKF_SERIAL_SESSION, NULL,
                          NULL, &s) != CKR_OK)
        return -1;
    for (int i = 0; i < reps; i++) {
        t0 = bench_cpu_ms();
        find_key(fn, s, label);
        t[i] = bench_cpu_ms() - t0;
    }
    fn->C_CloseSession(s);
    return bench_median(t, reps);
}
