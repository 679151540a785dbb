/* SPDX-License-Identifier: Apache-2.0 */
/* profile_limits.c -- shim_profiles: the real-HSM limits of
 * HSMKEY_SHIM_LIMITS (sessions=4,rw-sessions=2; readonly; no-copy).
 */
#include <pthread.h>
#include <string.h>

#include "shim_test.h"

struct opener {
    int opened;
    CK_SESSION_HANDLE h;
    pthread_barrier_t *go;
};

static void *open_racer(void *arg)
{
    struct opener *o = arg;
    CK_RV rv;

    pthread_barrier_wait(o->go);
    rv = st_p11->C_OpenSession(st_slot, CKF_SERIAL_SESSION, NULL, NULL, &o->h);
    CHECK(rv == CKR_OK || rv == CKR_SESSION_COUNT, "C_OpenSession 0x%lx", rv);
    o->opened = rv == CKR_OK;
    return NULL;
}

/* One round: 16 threads open at once with room for 3, exactly 3 get one. */
static void sessions_race_round(void)
{
    struct opener o[16];
    pthread_t t[16];
    pthread_barrier_t go;
    int opened = 0;

    pthread_barrier_init(&go, NULL, 16);
    for (int i = 0; i < 16; i++) {
        o[i] = (struct opener){0, CK_INVALID_HANDLE, &go};
        CHECK(pthread_create(&t[i], NULL, open_racer, &o[i]) == 0, "thread");
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        opened += o[i].opened;
    }
    pthread_barrier_destroy(&go);
    CHECK(opened == 3, "%d of 16 racing threads got a session", opened);
    CHECK(st_live_sessions() == 4, "sessions_open %lu", st_live_sessions());
    for (int i = 0; i < 16; i++)
        if (o[i].opened)
            CHECK_RV(st_p11->C_CloseSession(o[i].h), CKR_OK);
}

/* The window a race needs is one real C_OpenSession: many rounds. */
static void test_sessions_race(void)
{
    CHECK(st_live_sessions() == 1, "sessions_open %lu", st_live_sessions());
    for (int i = 0; i < 200; i++)
        sessions_race_round();
    CHECK(st_live_sessions() == 1, "sessions_open %lu", st_live_sessions());
    st_pass("sessions=4: 200 x 16 threads racing for 3 places, 3 open");
}

static void test_sessions_limit(void)
{
    CK_SESSION_HANDLE h[4], rw[2];
    CK_TOKEN_INFO ti;
    unsigned long limited = st_counts("limited");

    st_token_info(&ti);
    CHECK(ti.ulMaxSessionCount == 4 && ti.ulMaxRwSessionCount == 2,
          "max %lu rw %lu", ti.ulMaxSessionCount, ti.ulMaxRwSessionCount);
    /* st_find_slot keeps one read-only session open. */
    for (int i = 0; i < 3; i++)
        h[i] = st_open_flags(0, CKR_OK);
    st_token_info(&ti);
    CHECK(ti.ulSessionCount == 4 && ti.ulRwSessionCount == 0,
          "session count %lu rw %lu", ti.ulSessionCount, ti.ulRwSessionCount);
    st_open_flags(0, CKR_SESSION_COUNT);
    st_open_flags(CKF_RW_SESSION, CKR_SESSION_COUNT);
    CHECK(st_counts("limited") == limited + 2, "limited %lu",
          st_counts("limited"));
    CHECK_RV(st_sign(h[0]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h[2]), CKR_OK);
    h[3] = st_open_flags(0, CKR_OK);
    CHECK(st_live_sessions() == 4, "sessions_open %lu", st_live_sessions());
    CHECK_RV(st_p11->C_CloseSession(h[3]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h[1]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h[0]), CKR_OK);
    /* Two read/write sessions, then the rw limit bites before the total. */
    for (int i = 0; i < 2; i++)
        rw[i] = st_open_flags(CKF_RW_SESSION, CKR_OK);
    st_token_info(&ti);
    CHECK(ti.ulRwSessionCount == 2 && ti.ulSessionCount == 3,
          "rw count %lu count %lu", ti.ulRwSessionCount, ti.ulSessionCount);
    st_open_flags(CKF_RW_SESSION, CKR_SESSION_COUNT);
    h[0] = st_open_flags(0, CKR_OK);
    CHECK(st_live_sessions() == 4, "sessions_open %lu", st_live_sessions());
    CHECK_RV(st_p11->C_CloseSession(rw[1]), CKR_OK);
    rw[1] = st_open_flags(CKF_RW_SESSION, CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(rw[0]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(rw[1]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h[0]), CKR_OK);
    CHECK(st_live_sessions() == 1, "sessions_open %lu", st_live_sessions());
    st_pass("sessions=4,rw-sessions=2: token info, CKR_SESSION_COUNT, rw");
}

/* A session the shim declared dead no longer takes a place. */
static void test_sessions_dead(void)
{
    CK_SESSION_HANDLE h[3], more;
    CK_SESSION_INFO info;

    for (int i = 0; i < 3; i++)
        h[i] = st_open_flags(0, CKR_OK);
    st_open_flags(0, CKR_SESSION_COUNT);
    st_set_control("C_GetSessionInfo:CKR_SESSION_HANDLE_INVALID:count=1");
    CHECK_RV(st_p11->C_GetSessionInfo(h[0], &info),
             CKR_SESSION_HANDLE_INVALID);
    st_set_control("");
    CHECK(st_live_sessions() == 3, "sessions_open %lu", st_live_sessions());
    more = st_open_flags(0, CKR_OK);
    /* Closing the dead one frees nothing more. */
    CHECK_RV(st_p11->C_CloseSession(h[0]), CKR_SESSION_HANDLE_INVALID);
    CHECK(st_live_sessions() == 4, "sessions_open %lu", st_live_sessions());
    CHECK_RV(st_p11->C_CloseSession(h[1]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h[2]), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(more), CKR_OK);
    CHECK(st_live_sessions() == 1, "sessions_open %lu", st_live_sessions());
    st_pass("sessions=4: a dead session frees its place");
}

static void test_readonly(void)
{
    CK_TOKEN_INFO ti;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE copy;

    st_token_info(&ti);
    CHECK(ti.flags & CKF_WRITE_PROTECTED, "flags 0x%lx", ti.flags);
    st_open_flags(CKF_RW_SESSION, CKR_TOKEN_WRITE_PROTECTED);
    CHECK(st_counts("limited") == 1, "limited %lu", st_counts("limited"));
    h = st_open_session();
    CHECK_RV(st_sign(h), CKR_OK);
    /* Session objects are allowed in a read-only session. */
    CHECK_RV(st_copy_key(h, st_rsa_key, &copy), CKR_OK);
    CHECK(st_live_objects() == 1, "session_objects %lu", st_live_objects());
    CHECK_RV(st_p11->C_DestroyObject(h, copy), CKR_OK);
    CHECK(st_live_objects() == 0, "session_objects %lu", st_live_objects());
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("readonly: CKF_WRITE_PROTECTED, no read/write session, signs");
}

static void test_no_copy(void)
{
    CK_SESSION_HANDLE h = st_open_session();
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE, obj;

    CHECK_RV(st_copy_key(h, st_rsa_key, &copy), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(copy == CK_INVALID_HANDLE, "a handle came back");
    CHECK(st_counts("C_CopyObject") == 1 && st_counts("limited") == 1,
          "C_CopyObject %lu limited %lu", st_counts("C_CopyObject"),
          st_counts("limited"));
    CHECK(st_live_objects() == 0, "session_objects %lu", st_live_objects());
    obj = st_data_object(h, CK_FALSE);
    CHECK(st_live_objects() == 1, "session_objects %lu", st_live_objects());
    CHECK_RV(st_p11->C_DestroyObject(h, obj), CKR_OK);
    CHECK_RV(st_sign(h), CKR_OK);
    CHECK_RV(st_p11->C_CloseSession(h), CKR_OK);
    st_pass("no-copy: C_CopyObject is CKR_FUNCTION_NOT_SUPPORTED");
}

void prof_sessions(const char *label)
{
    (void)label;
    test_sessions_limit();
    test_sessions_dead();
    test_sessions_race();
}

void prof_readonly(const char *label)
{
    (void)label;
    test_readonly();
}

void prof_no_copy(const char *label)
{
    (void)label;
    test_no_copy();
}
