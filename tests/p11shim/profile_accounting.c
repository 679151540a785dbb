/* SPDX-License-Identifier: Apache-2.0 */
/* profile_accounting.c -- shim_profiles: the live accounting of sessions
 * and session objects (the gauges sessions_open and session_objects).
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_test.h"

/* A session AES key, and one derived from it. */
static void make_secret_keys(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *aes,
                             CK_OBJECT_HANDLE *derived)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 16;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_TOKEN, &no, sizeof(no)},
                           {CKA_DERIVE, &yes, sizeof(yes)}};
    CK_BYTE data[16] = "derivation data";
    CK_KEY_DERIVATION_STRING_DATA param = {data, sizeof(data)};
    CK_MECHANISM derive = {CKM_AES_ECB_ENCRYPT_DATA, &param, sizeof(param)};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE dtmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_KEY_TYPE, &kt, sizeof(kt)},
                            {CKA_VALUE_LEN, &len, sizeof(len)}};

    CHECK_RV(st_p11->C_GenerateKey(h, &gen, tmpl, 3, aes), CKR_OK);
    CHECK_RV(st_p11->C_DeriveKey(h, &derive, *aes, dtmpl, 3, derived), CKR_OK);
}

/* A session EC key pair: two session objects. */
static void make_key_pair(CK_SESSION_HANDLE h)
{
    static CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                             0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, p256, sizeof(p256)},
                          {CKA_TOKEN, &no, sizeof(no)}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &no, sizeof(no)}};
    CK_OBJECT_HANDLE hpub, hpriv;

    CHECK_RV(st_p11->C_GenerateKeyPair(h, &gen, pub, 2, priv, 1, &hpub,
                                       &hpriv),
             CKR_OK);
}

static void test_accounting_objects(void)
{
    CK_SESSION_HANDLE a = st_open_session(), b = st_open_session(), rw;
    CK_OBJECT_HANDLE copy, data, token_obj, aes, derived;
    unsigned long c_sign;

    CHECK(st_live_sessions() == 3, "sessions_open %lu", st_live_sessions());
    CHECK_RV(st_copy_key(a, st_rsa_key, &copy), CKR_OK);
    data = st_data_object(a, CK_FALSE);
    CHECK(st_live_objects() == 2, "session_objects %lu", st_live_objects());
    rw = st_open_flags(CKF_RW_SESSION, CKR_OK);
    token_obj = st_data_object(rw, CK_TRUE);
    CHECK(st_live_objects() == 2, "a token object counted: %lu",
          st_live_objects());
    CHECK_RV(st_p11->C_DestroyObject(rw, token_obj), CKR_OK);
    CHECK(st_live_objects() == 2, "session_objects %lu", st_live_objects());
    make_secret_keys(b, &aes, &derived);
    make_key_pair(b);
    CHECK(st_live_objects() == 6, "session_objects %lu", st_live_objects());
    /* Destroyed from another session than its own. */
    CHECK_RV(st_p11->C_DestroyObject(b, data), CKR_OK);
    CHECK(st_live_objects() == 5, "session_objects %lu", st_live_objects());
    /* A failed destroy destroys nothing. */
    CHECK(st_p11->C_DestroyObject(b, data) != CKR_OK, "destroyed twice");
    CHECK(st_live_objects() == 5, "session_objects %lu", st_live_objects());
    /* Closing b takes its four objects with it. */
    CHECK_RV(st_p11->C_CloseSession(b), CKR_OK);
    CHECK(st_live_objects() == 1, "session_objects %lu", st_live_objects());
    CHECK(st_live_sessions() == 3, "sessions_open %lu", st_live_sessions());
    /* reset zeroes counters, not what the token holds. */
    c_sign = st_counts("C_Sign");
    st_reset();
    CHECK(st_live_objects() == 1 && st_live_sessions() == 3 &&
              st_counts("C_Sign") == 0,
          "reset: objects %lu sessions %lu (C_Sign was %lu)", st_live_objects(),
          st_live_sessions(), c_sign);
    CHECK_RV(st_p11->C_CloseSession(rw), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(a), CKR_OK);
    CHECK(st_live_objects() == 0 && st_live_sessions() == 1,
          "objects %lu sessions %lu", st_live_objects(), st_live_sessions());
    (void)copy;
    (void)aes;
    (void)derived;
    st_pass("accounting: copy, create, generate, derive, destroy, close");
}

/* A session the shim declares dead takes its objects with it; a removed
 * token takes every session and object. */
static void test_accounting_faults(void)
{
    CK_SESSION_HANDLE a = st_open_session(), b = st_open_session(), c;
    CK_OBJECT_HANDLE copy;
    CK_SESSION_INFO info;

    CHECK_RV(st_copy_key(a, st_rsa_key, &copy), CKR_OK);
    CHECK_RV(st_copy_key(b, st_rsa_key, &copy), CKR_OK);
    (void)st_data_object(b, CK_FALSE);
    CHECK(st_live_objects() == 3 && st_live_sessions() == 3,
          "objects %lu sessions %lu", st_live_objects(), st_live_sessions());
    st_set_control("C_GetSessionInfo:CKR_SESSION_CLOSED:count=1");
    CHECK_RV(st_p11->C_GetSessionInfo(b, &info), CKR_SESSION_CLOSED);
    st_set_control("");
    CHECK(st_live_objects() == 1 && st_live_sessions() == 2,
          "after a dead session: objects %lu sessions %lu", st_live_objects(),
          st_live_sessions());
    CHECK_RV(st_p11->C_CloseSession(b), CKR_SESSION_HANDLE_INVALID);
    CHECK(st_live_objects() == 1 && st_live_sessions() == 2,
          "closing the dead one: objects %lu sessions %lu", st_live_objects(),
          st_live_sessions());
    st_set_control("C_Sign:CKR_DEVICE_REMOVED:count=1");
    CHECK_RV(st_sign(a), CKR_DEVICE_REMOVED);
    st_set_control("");
    CHECK(st_live_objects() == 0 && st_live_sessions() == 0,
          "after removal: objects %lu sessions %lu", st_live_objects(),
          st_live_sessions());
    c = st_open_session();
    st_find_key(c);
    CHECK_RV(st_copy_key(c, st_rsa_key, &copy), CKR_OK);
    CHECK(st_live_objects() == 1 && st_live_sessions() == 1,
          "objects %lu sessions %lu", st_live_objects(), st_live_sessions());
    CHECK_RV(st_p11->C_CloseAllSessions(st_slot), CKR_OK);
    CHECK(st_live_objects() == 0 && st_live_sessions() == 0,
          "after C_CloseAllSessions: objects %lu sessions %lu",
          st_live_objects(), st_live_sessions());
    st_pass("accounting: dead sessions, removal, C_CloseAllSessions");
}

/* The counts file has the gauges; a forked child starts at zero; after
 * C_Finalize nothing is open. */
static void test_accounting_file(const char *label)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE copy;
    pid_t pid;
    int status;

    st_find_slot(label);
    h = st_open_session();
    CHECK_RV(st_copy_key(h, st_rsa_key, &copy), CKR_OK);
    for (int i = 0; i < 200 &&
                    st_counts_file_value(getpid(), "session_objects") != 1;
         i++)
        usleep(10000);
    CHECK(st_counts_file_value(getpid(), "session_objects") == 1 &&
              st_counts_file_value(getpid(), "sessions_open") == 2,
          "counts file: session_objects %ld sessions_open %ld",
          st_counts_file_value(getpid(), "session_objects"),
          st_counts_file_value(getpid(), "sessions_open"));
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        CHECK(st_live_sessions() == 0 && st_live_objects() == 0,
              "child starts with sessions %lu objects %lu", st_live_sessions(),
              st_live_objects());
        exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "child failed (status 0x%x)", status);
    CHECK(st_live_sessions() == 2 && st_live_objects() == 1, "parent moved");
    CHECK_RV(st_p11->C_Finalize(NULL), CKR_OK);
    CHECK(st_counts_file_value(getpid(), "sessions_open") == 0 &&
              st_counts_file_value(getpid(), "session_objects") == 0,
          "after C_Finalize: sessions_open %ld session_objects %ld",
          st_counts_file_value(getpid(), "sessions_open"),
          st_counts_file_value(getpid(), "session_objects"));
    st_pass("accounting: counts file, fork, C_Finalize");
}

void prof_accounting(const char *label)
{
    test_accounting_objects();
    test_accounting_faults();
    test_accounting_file(label);
}
