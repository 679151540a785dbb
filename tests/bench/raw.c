/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw.c - the token's own signing rate: C_SignInit + C_Sign straight to the
 * module, one session per thread, the digest (or DigestInfo) prepared once.
 * This is the limit the provider is measured against.
 *
 * SoftHSM2 signs faster with a session-object copy of a key than with the
 * token object (its file store re-reads token objects), so both are
 * measured and the better one is the limit.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* SHA-256 DigestInfo prefix (RFC 8017 9.2 note 1) and a fixed digest. */
static const unsigned char sha256_prefix[] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

struct bench_raw {
    CK_FUNCTION_LIST *fn;
    int nthreads, copy;
    CK_SESSION_HANDLE sessions[64];
    CK_OBJECT_HANDLE key;
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;
    unsigned char in[64];
    CK_ULONG inlen;
};

static CK_FUNCTION_LIST *module(const char *path)
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

static CK_SLOT_ID slot_of(CK_FUNCTION_LIST *fn, const char *label)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_TOKEN_INFO info;

    if (fn->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK)
        for (CK_ULONG i = 0; i < n; i++)
            if (fn->C_GetTokenInfo(slots[i], &info) == CKR_OK
                && strncmp((char *)info.label, label, strlen(label)) == 0
                && (info.label[strlen(label)] == ' '
                    || strlen(label) == 32))
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

    return ctx->fn->C_SignInit(s, &ctx->mech, ctx->key) == CKR_OK
           && ctx->fn->C_Sign(s, ctx->in, ctx->inlen, sig, &siglen) == CKR_OK;
}

static CK_OBJECT_HANDLE session_copy(struct bench_raw *ctx, CK_SESSION_HANDLE s)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = { { CKA_TOKEN, &no, sizeof(no) } };
    CK_OBJECT_HANDLE copy;

    if (ctx->fn->C_CopyObject(s, ctx->key, tmpl, 1, &copy) != CKR_OK) {
        fprintf(stderr, "bench: C_CopyObject refused\n");
        return CK_INVALID_HANDLE;
    }
    return copy;
}

struct bench_raw *bench_raw_new(const struct bench_cfg *cfg,
                                const struct bench_alg *alg, int nthreads,
                                int copy, struct bench_mode *mode)
{
    struct bench_raw *ctx = calloc(1, sizeof(*ctx));
    CK_SLOT_ID slot;
    CK_RV rv;

    if (ctx == NULL || nthreads > 64)
        exit(1);
    ctx->fn = module(cfg->module);
    ctx->nthreads = nthreads;
    ctx->copy = copy;
    slot = slot_of(ctx->fn, cfg->token);
    for (int i = 0; i < nthreads; i++)
        if (ctx->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                   NULL, NULL, &ctx->sessions[i]) != CKR_OK)
            exit(1);
    rv = ctx->fn->C_Login(ctx->sessions[0], CKU_USER, (CK_UTF8CHAR *)cfg->pin,
                          strlen(cfg->pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        exit(1);
    ctx->key = find_key(ctx->fn, ctx->sessions[0], alg->label);
    set_input(ctx, alg);
    if (copy)
        ctx->key = session_copy(ctx, ctx->sessions[0]);
    if (ctx->key == CK_INVALID_HANDLE)
        exit(1);
    *mode = (struct bench_mode){ raw_sign, ctx };
    return ctx;
}

void bench_raw_free(struct bench_raw *ctx)
{
    if (ctx->copy)
        ctx->fn->C_DestroyObject(ctx->sessions[0], ctx->key);
    /* Not the last session: closing it would log the token out. */
    for (int i = 1; i < ctx->nthreads; i++)
        ctx->fn->C_CloseSession(ctx->sessions[i]);
    free(ctx);
}

/* n more data objects on the token, so a key search has company. */
int bench_add_objects(const struct bench_cfg *cfg, int n)
{
    CK_FUNCTION_LIST *fn = module(cfg->module);
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

    if (fn->C_OpenSession(slot_of(fn, cfg->token),
                          CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)
        != CKR_OK)
        return 0;
    for (int i = 0; i < n; i++) {
        tmpl[2].ulValueLen = snprintf(label, sizeof(label), "filler-%d",
                                      made++);
        if (fn->C_CreateObject(s, tmpl, 4, &h) != CKR_OK)
            return 0;
    }
    /* Kept open: the first session of this process keeps its login. */
    return 1;
}

/* The token's own search time for one private key by label (ms). */
double bench_raw_find_ms(const struct bench_cfg *cfg, const char *label)
{
    CK_FUNCTION_LIST *fn = module(cfg->module);
    CK_SESSION_HANDLE s;
    struct timespec t0, t1;

    if (fn->C_OpenSession(slot_of(fn, cfg->token), CKF_SERIAL_SESSION, NULL,
                          NULL, &s) != CKR_OK)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    find_key(fn, s, label);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fn->C_CloseSession(s);
    return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}
