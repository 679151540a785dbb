/* SPDX-License-Identifier: Apache-2.0 */
/* shim_test.h -- helpers shared by the shim_counts test program. */
#ifndef HSMKEY_P11SHIM_SHIM_TEST_H
#define HSMKEY_P11SHIM_SHIM_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include <p11-kit/pkcs11.h>

#include "p11shim.h"

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __func__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
            exit(1);                                                           \
        }                                                                      \
    } while (0)
#define CHECK_RV(call, want)                                                   \
    do {                                                                       \
        CK_RV rv_ = (call);                                                    \
        CHECK(rv_ == (CK_RV)(want), "got 0x%lx, want 0x%lx", rv_,              \
              (CK_RV)(want));                                                  \
    } while (0)

extern CK_FUNCTION_LIST_PTR st_p11; /* the shim's function list */
extern hsmkey_shim_counts_fn *st_counts;
extern hsmkey_shim_reset_fn *st_reset;
extern CK_SLOT_ID st_slot;          /* the test token's slot */
extern CK_OBJECT_HANDLE st_rsa_key; /* rsa-key, id 01 */
extern char st_pin[256], st_control[4096], st_workdir[3800];

double st_now_ms(void);
/* "ok N NAME" on stdout; st_passed() is N. */
void st_pass(const char *name);
int st_passed(void);
/* A session on st_slot, logged in (or already). */
CK_SESSION_HANDLE st_open_session(void);
CK_RV st_sign_mech(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type);
CK_RV st_sign(CK_SESSION_HANDLE h); /* CKM_SHA256_RSA_PKCS */
/* Replace the control file and wait (5 s at most) until the shim read it. */
void st_set_control(const char *rules);
void st_find_key(CK_SESSION_HANDLE h);
void st_find_slot(const char *label);
/* The value of NAME in the counts file of process PID, or -1. */
long st_counts_file_value(long pid, const char *name);

/* A session on st_slot with FLAGS (besides CKF_SERIAL_SESSION); C_OpenSession
 * must return WANT. */
CK_SESSION_HANDLE st_open_flags(CK_FLAGS flags, CK_RV want);
void st_token_info(CK_TOKEN_INFO *ti);
/* The shim's gauges sessions_open and session_objects. */
unsigned long st_live_sessions(void);
unsigned long st_live_objects(void);
/* The private or public key LABEL, found in session H. */
CK_OBJECT_HANDLE st_find_private(CK_SESSION_HANDLE h, const char *label);
CK_OBJECT_HANDLE st_find_public(CK_SESSION_HANDLE h, const char *label);
/* A session-object copy of KEY (C_CopyObject's result). */
CK_RV st_copy_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                  CK_OBJECT_HANDLE *copy);
/* A data object; token: CKA_TOKEN true (else a session object). */
CK_OBJECT_HANDLE st_data_object(CK_SESSION_HANDLE h, CK_BBOOL token);

/* The profiles of shim_profiles, one per process (shim_profiles.c); LABEL
 * is the test token's. */
void prof_sessions(const char *label); /* profile_limits.c */
void prof_readonly(const char *label);
void prof_no_copy(const char *label);
void prof_accounting(const char *label); /* profile_accounting.c */
void prof_instant(const char *label);    /* profile_instant.c */

#endif
