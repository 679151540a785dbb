/* SPDX-License-Identifier: Apache-2.0 */
/* profile_instant.c -- shim_profiles: the instant token
 * (HSMKEY_SHIM_INSTANT=1).
 */
#include <pthread.h>
#include <string.h>

#include "shim_test.h"

static CK_RV ecdsa(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, CK_BYTE *sig,
                   CK_ULONG *len)
{
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_BYTE digest[32] = "a digest of thirty-two bytes...";
    CK_RV rv = st_p11->C_SignInit(h, &mech, key);

    return rv != CKR_OK ? rv : st_p11->C_Sign(h, digest, 32, sig, len);
}

static CK_RV verify(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type,
                    CK_OBJECT_HANDLE pub, CK_BYTE *data, CK_ULONG dlen,
                    CK_BYTE *sig, CK_ULONG slen)
{
    CK_MECHANISM mech = {type, NULL, 0};
    CK_RV rv = st_p11->C_VerifyInit(h, &mech, pub);

    return rv != CKR_OK ? rv : st_p11->C_Verify(h, data, dlen, sig, slen);
}

static void test_instant_replay(void)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_OBJECT_HANDLE key = st_find_private(h, "ec-key");
    CK_OBJECT_HANDLE pub = st_find_public(h, "ec-key");
    CK_BYTE first[128], again[128];
    CK_BYTE digest[32] = "a digest of thirty-two bytes...";
    CK_ULONG flen = sizeof(first), alen = sizeof(again);

    CHECK_RV(ecdsa(h, key, first, &flen), CKR_OK);
    CHECK(flen == 64 && st_counts("instant") == 0, "len %lu instant %lu", flen,
          st_counts("instant"));
    /* The recorded signature is a real one. */
    CHECK_RV(verify(h, CKM_ECDSA, pub, digest, 32, first, flen), CKR_OK);
    for (int i = 0; i < 10; i++) {
        alen = sizeof(again);
        CHECK_RV(ecdsa(h, key, again, &alen), CKR_OK);
    }
    /* ECDSA is randomized: the same bytes are the recording's. */
    CHECK(alen == flen && memcmp(first, again, flen) == 0, "not replayed");
    CHECK(st_counts("instant") == 10 && st_counts("C_Sign") == 11 &&
              st_counts("C_SignInit") == 11,
          "instant %lu C_Sign %lu C_SignInit %lu", st_counts("instant"),
          st_counts("C_Sign"), st_counts("C_SignInit"));
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("instant: first signature real and recorded, then replayed");
}

/* PKCS#11's length rules on an answered C_Sign. */
static void test_instant_lengths(void)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_OBJECT_HANDLE key = st_find_private(h, "ec-key");
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_BYTE in[32] = {1}, sig[128];
    CK_ULONG len = sizeof(sig);

    CHECK_RV(ecdsa(h, key, sig, &len), CKR_OK); /* recorded already or now */
    CHECK_RV(st_p11->C_SignInit(h, &mech, key), CKR_OK);
    CHECK_RV(st_p11->C_SignInit(h, &mech, key), CKR_OPERATION_ACTIVE);
    len = 0;
    CHECK_RV(st_p11->C_Sign(h, in, 32, NULL, &len), CKR_OK);
    CHECK(len == 64, "size query gave %lu", len);
    len = 10;
    CHECK_RV(st_p11->C_Sign(h, in, 32, sig, &len), CKR_BUFFER_TOO_SMALL);
    CHECK(len == 64, "CKR_BUFFER_TOO_SMALL gave %lu", len);
    CHECK_RV(st_p11->C_Sign(h, in, 32, sig, NULL), CKR_ARGUMENTS_BAD);
    /* CKR_ARGUMENTS_BAD ended it, as the real token would. */
    len = sizeof(sig);
    CHECK_RV(st_p11->C_Sign(h, in, 32, sig, &len),
             CKR_OPERATION_NOT_INITIALIZED);
    CHECK_RV(st_p11->C_SignInit(h, &mech, key), CKR_OK);
    len = sizeof(sig);
    CHECK_RV(st_p11->C_Sign(h, in, 32, sig, &len), CKR_OK);
    CHECK(len == 64, "len %lu", len);
    len = sizeof(sig);
    CHECK_RV(st_p11->C_Sign(h, in, 32, sig, &len),
             CKR_OPERATION_NOT_INITIALIZED);
    /* An injected failure ends the answered operation too. */
    st_set_control("C_Sign:CKR_DEVICE_ERROR:count=1");
    CHECK_RV(st_p11->C_SignInit(h, &mech, key), CKR_OK);
    CHECK_RV(st_p11->C_Sign(h, in, 32, sig, &len), CKR_DEVICE_ERROR);
    st_set_control("");
    len = sizeof(sig);
    CHECK_RV(ecdsa(h, key, sig, &len), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("instant: size query, CKR_BUFFER_TOO_SMALL, operation state");
}

/* Per mechanism; multi-part signatures go to the token. */
static void test_instant_multipart(void)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_OBJECT_HANDLE pub = st_find_public(h, "rsa-key");
    CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE data[40] = "data signed in two parts, then verified", sig[512];
    CK_ULONG len;
    unsigned long instant;

    st_find_key(h);
    CHECK_RV(st_sign(h), CKR_OK);
    instant = st_counts("instant");
    CHECK_RV(st_sign(h), CKR_OK);
    CHECK(st_counts("instant") == instant + 1, "RSA not answered");
    CHECK_RV(st_p11->C_SignInit(h, &mech, st_rsa_key), CKR_OK);
    CHECK_RV(st_p11->C_SignUpdate(h, data, 20), CKR_OK);
    CHECK_RV(st_p11->C_SignUpdate(h, data + 20, sizeof(data) - 20), CKR_OK);
    len = 0;
    CHECK_RV(st_p11->C_SignFinal(h, NULL, &len), CKR_OK);
    CHECK(len == 256, "len %lu", len);
    CHECK_RV(st_p11->C_SignFinal(h, sig, &len), CKR_OK);
    CHECK_RV(verify(h, CKM_SHA256_RSA_PKCS, pub, data, sizeof(data), sig, len),
             CKR_OK);
    CHECK(st_counts("instant") == instant + 1, "multi-part answered");
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("instant: per mechanism; C_SignUpdate/C_SignFinal are real");
}

/* A key that is gone is never answered for. */
static void test_instant_forget(void)
{
    CK_SESSION_HANDLE a = st_open_session(), b = st_open_session();
    CK_OBJECT_HANDLE key = st_find_private(a, "ec-key"), copy;
    CK_BYTE sig[128];
    CK_ULONG len = sizeof(sig);
    unsigned long instant;

    CHECK_RV(st_copy_key(a, key, &copy), CKR_OK);
    CHECK_RV(ecdsa(a, copy, sig, &len), CKR_OK);
    instant = st_counts("instant");
    CHECK_RV(ecdsa(a, copy, sig, &len), CKR_OK);
    CHECK(st_counts("instant") == instant + 1, "copy not answered");
    CHECK_RV(st_p11->C_DestroyObject(a, copy), CKR_OK);
    CHECK(ecdsa(a, copy, sig, &len) != CKR_OK, "a destroyed key signed");
    /* A copy that goes with its session. */
    CHECK_RV(st_copy_key(b, key, &copy), CKR_OK);
    len = sizeof(sig);
    CHECK_RV(ecdsa(b, copy, sig, &len), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(b), CKR_OK);
    CHECK(ecdsa(a, copy, sig, &len) != CKR_OK,
          "a key gone with its session signed");
    CHECK_RV(st_p11->C_CloseSession(a), CKR_OK);
    st_pass("instant: destroyed keys and closed sessions are forgotten");
}

#define NTHREADS 4
#define NSIGS 500

static void *instant_signer(void *arg)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_OBJECT_HANDLE key = *(CK_OBJECT_HANDLE *)arg;
    CK_BYTE sig[128];

    for (int i = 0; i < NSIGS; i++) {
        CK_ULONG len = sizeof(sig);
        CHECK_RV(ecdsa(h, key, sig, &len), CKR_OK);
        CHECK(len == 64, "len %lu", len);
    }
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    return NULL;
}

static void test_instant_threads(void)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_OBJECT_HANDLE key = st_find_private(h, "ec-key");
    pthread_t t[NTHREADS];
    double t0 = st_now_ms();

    st_reset();
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, instant_signer, &key) == 0,
              "thread");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(st_counts("instant") == NTHREADS * NSIGS, "instant %lu of %d",
          st_counts("instant"), NTHREADS * NSIGS);
    printf("# %d instant signatures in %.1f ms\n", NTHREADS * NSIGS,
           st_now_ms() - t0);
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("instant: 4 threads x 500 signatures, all answered");
}

void prof_instant(const char *label)
{
    (void)label;
    test_instant_replay();
    test_instant_lengths();
    test_instant_multipart();
    test_instant_forget();
    test_instant_threads();
}
