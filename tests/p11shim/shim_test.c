/* SPDX-License-Identifier: Apache-2.0 */
/* shim_test.c -- helpers of shim_counts and shim_profiles: the shim loaded
 * by dlopen, sessions on the test token, signing with rsa-key, the control
 * file, keys and objects, the shim's gauges.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim_test.h"

CK_FUNCTION_LIST_PTR st_p11;
hsmkey_shim_counts_fn *st_counts;
hsmkey_shim_reset_fn *st_reset;
CK_SLOT_ID st_slot;
CK_OBJECT_HANDLE st_rsa_key;
char st_pin[256], st_control[4096], st_workdir[3800];
static int ntests;

double st_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void st_pass(const char *name)
{
    printf("ok %d %s\n", ++ntests, name);
    fflush(stdout);
}

int st_passed(void)
{
    return ntests;
}

CK_SESSION_HANDLE st_open_session(void)
{
    CK_SESSION_HANDLE h;
    CK_RV rv;

    CHECK_RV(st_p11->C_OpenSession(st_slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
             CKR_OK);
    rv = st_p11->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)st_pin, strlen(st_pin));
    CHECK(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN, "C_Login 0x%lx",
          rv);
    return h;
}

CK_RV st_sign_mech(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type)
{
    CK_MECHANISM mech = {type, NULL, 0};
    CK_BYTE data[32] = "hsmkey-p11shim test data", sig[512];
    CK_ULONG len = sizeof(sig);
    CK_RV rv = st_p11->C_SignInit(h, &mech, st_rsa_key);

    return rv != CKR_OK ? rv : st_p11->C_Sign(h, data, sizeof(data), sig, &len);
}

CK_RV st_sign(CK_SESSION_HANDLE h)
{
    return st_sign_mech(h, CKM_SHA256_RSA_PKCS);
}

/* Replace the control file (atomically) and wait until the shim has read
 * it: each version carries a canary rule on C_GetInfo. */
void st_set_control(const char *rules)
{
    static int version;
    char tmp[4200];
    CK_INFO info;
    FILE *f;
    CK_RV want = ++version % 2 ? CKR_DEVICE_MEMORY : CKR_FUNCTION_FAILED;

    snprintf(tmp, sizeof(tmp), "%s.tmp", st_control);
    f = fopen(tmp, "w");
    CHECK(f != NULL, "cannot write %s", tmp);
    fprintf(f, "# test control file\n%s\nC_GetInfo:%s\n", rules,
            want == CKR_DEVICE_MEMORY ? "CKR_DEVICE_MEMORY"
                                      : "CKR_FUNCTION_FAILED");
    CHECK(fclose(f) == 0 && rename(tmp, st_control) == 0, "rename");
    for (int i = 0; i < 500 && st_p11->C_GetInfo(&info) != want; i++)
        usleep(10000);
    CHECK(st_p11->C_GetInfo(&info) == want, "control file not read in 5 s");
}

/* The private key rsa-key (id 01), found again after every login: a token
 * that lost its login may not keep the handles of private objects. */
void st_find_key(CK_SESSION_HANDLE h)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BYTE id = 1;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, &id, 1}};
    CK_ULONG n = 0;

    CHECK_RV(st_p11->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
    CHECK_RV(st_p11->C_FindObjects(h, &st_rsa_key, 1, &n), CKR_OK);
    CHECK(n == 1, "rsa-key (id 01) not found");
    CHECK_RV(st_p11->C_FindObjectsFinal(h), CKR_OK);
}

/* The slot of the token LABEL; a session on it stays open (keeping the
 * login) until the token is "removed". */
void st_find_slot(const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_TOKEN_INFO ti;
    size_t len = strlen(label);
    int found = 0;

    CHECK_RV(st_p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n && !found; i++) {
        CHECK_RV(st_p11->C_GetTokenInfo(slots[i], &ti), CKR_OK);
        found = len <= 32 && memcmp(ti.label, label, len) == 0 &&
                (len == 32 || ti.label[len] == ' ');
        st_slot = slots[i];
    }
    CHECK(found, "no token labelled %s", label);
    st_find_key(st_open_session());
}

/* The value of NAME in the counts file of process PID, or -1. */
long st_counts_file_value(long pid, const char *name)
{
    char path[4096], line[256], key[64];
    unsigned long v;
    long found = -1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/counts.%ld", st_workdir, pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "%63s %lu", key, &v) == 2 && strcmp(key, name) == 0)
            found = (long)v;
    fclose(f);
    return found;
}

CK_SESSION_HANDLE st_open_flags(CK_FLAGS flags, CK_RV want)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;

    CHECK_RV(st_p11->C_OpenSession(st_slot, CKF_SERIAL_SESSION | flags, NULL,
                                   NULL, &h),
             want);
    return h;
}

void st_token_info(CK_TOKEN_INFO *ti)
{
    CHECK_RV(st_p11->C_GetTokenInfo(st_slot, ti), CKR_OK);
}

unsigned long st_live_sessions(void)
{
    return st_counts("sessions_open");
}

unsigned long st_live_objects(void)
{
    return st_counts("session_objects");
}

/* A private key by label, in session h. */
CK_OBJECT_HANDLE st_find_private(CK_SESSION_HANDLE h, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;

    CHECK_RV(st_p11->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
    CHECK_RV(st_p11->C_FindObjects(h, &key, 1, &n), CKR_OK);
    CHECK_RV(st_p11->C_FindObjectsFinal(h), CKR_OK);
    CHECK(n == 1, "no private key %s", label);
    return key;
}

CK_RV st_copy_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                      CK_OBJECT_HANDLE *copy)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_TOKEN, &no, sizeof(no)}};

    return st_p11->C_CopyObject(h, key, tmpl, 1, copy);
}

/* A data object; token: CKA_TOKEN true (else a session object). */
CK_OBJECT_HANDLE st_data_object(CK_SESSION_HANDLE h, CK_BBOOL token)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BYTE value[8] = "shimdata";
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_TOKEN, &token, sizeof(token)},
                           {CKA_VALUE, value, sizeof(value)}};
    CK_OBJECT_HANDLE obj;

    CHECK_RV(st_p11->C_CreateObject(h, tmpl, 3, &obj), CKR_OK);
    return obj;
}

CK_OBJECT_HANDLE st_find_public(CK_SESSION_HANDLE h, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;

    CHECK_RV(st_p11->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
    CHECK_RV(st_p11->C_FindObjects(h, &key, 1, &n), CKR_OK);
    CHECK_RV(st_p11->C_FindObjectsFinal(h), CKR_OK);
    CHECK(n == 1, "no public key %s", label);
    return key;
}
