/* SPDX-License-Identifier: Apache-2.0 */
/* instant.c -- the signature calls of hsmkey-p11shim.so, and with
 * HSMKEY_SHIM_INSTANT=1 a token that signs instantly, so that a benchmark
 * sees its caller's own cost per signature.
 *
 * The first C_SignInit + C_Sign of a (key handle, mechanism) is forwarded
 * and its signature recorded; later ones are answered here: C_SignInit
 * checks nothing and arms the session, C_Sign returns the recorded bytes with
 * PKCS#11's length rules (a NULL buffer gets the length and keeps the
 * operation; a short one gets CKR_BUFFER_TOO_SMALL and keeps it; otherwise
 * the bytes, and the operation ends). The signature is not valid for the new
 * input. A multi-part C_SignUpdate / C_SignFinal on an armed session starts
 * the real operation first (with the mechanism as C_SignInit gave it, its
 * parameter bytes copied; pointers inside them must stay valid) and is never
 * answered from a recording. A recording is dropped when its key is
 * destroyed or goes with its session, so a reused handle number is never
 * answered with another key's signature.
 *
 * Per-session state lives in a lock-free table keyed by the session handle:
 * only the thread using a session touches its state (PKCS#11 calls on one
 * session do not overlap), and C_OpenSession resets the state of a handle
 * number the module hands out again. Recordings are published under
 * rec_lock (a leaf lock, taken under sessions.c's), found through a
 * session's cache without a lock, and never freed while the process runs
 * (a dropped one is marked dead), so a cached pointer stays valid.
 */
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "shim.h"

#define SESS_SLOTS 4096 /* sessions the instant mode can follow at once */
#define PARAM_MAX 256   /* mechanism parameter bytes kept for a lazy init */

struct rec {
    CK_OBJECT_HANDLE key;
    CK_MECHANISM_TYPE mech;
    atomic_int dead;
    struct rec *next; /* every recording, under rec_lock */
    CK_ULONG len;
    CK_BYTE sig[];
};

enum inst_state { IDLE, ARMED, RECORDING };

struct inst_sess {
    _Atomic CK_SESSION_HANDLE h; /* 0: free; once set, kept */
    enum inst_state state;
    struct rec *rec;   /* ARMED: the answer */
    struct rec *cache; /* the last recording used in this session */
    CK_OBJECT_HANDLE key;
    CK_MECHANISM mech; /* pParameter points into param */
    CK_BYTE param[PARAM_MAX];
};

/* Set at the first C_Initialize (under the load lock), before any session
 * exists; read without a lock afterwards. */
static int instant_on;
static atomic_int instant_parsed;
static struct inst_sess table[SESS_SLOTS];
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec *recs;
static atomic_int table_full_logged;

void shim_instant_init(void)
{
    const char *v = getenv("HSMKEY_SHIM_INSTANT");

    if (atomic_exchange(&instant_parsed, 1) == 0)
        instant_on = v != NULL && strcmp(v, "1") == 0;
}

static size_t hash(CK_SESSION_HANDLE h)
{
    unsigned long x = h * 0x9e3779b97f4a7c15UL;
    return (size_t)(x >> 20) & (SESS_SLOTS - 1);
}

/* The state of session H; with create, a fresh one if it has none (NULL
 * when the table is full: the session is then simply forwarded). */
static struct inst_sess *sess_state(CK_SESSION_HANDLE h, int create)
{
    size_t i = hash(h);

    for (size_t n = 0; n < SESS_SLOTS; n++, i = (i + 1) & (SESS_SLOTS - 1)) {
        CK_SESSION_HANDLE cur = atomic_load(&table[i].h);
        if (cur == h)
            return &table[i];
        if (cur == CK_INVALID_HANDLE) {
            CK_SESSION_HANDLE none = CK_INVALID_HANDLE;
            if (!create)
                return NULL;
            if (atomic_compare_exchange_strong(&table[i].h, &none, h))
                return &table[i];
            if (none == h)
                return &table[i];
        }
    }
    if (create && atomic_exchange(&table_full_logged, 1) == 0)
        shim_log("HSMKEY_SHIM_INSTANT: more than %d sessions: the others "
                 "sign on the real token",
                 SESS_SLOTS);
    return NULL;
}

void shim_instant_session_opened(CK_SESSION_HANDLE h)
{
    struct inst_sess *s;

    if (!instant_on || (s = sess_state(h, 0)) == NULL)
        return;
    s->state = IDLE;
    s->rec = NULL;
}

static struct rec *rec_find(CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mech)
{
    struct rec *r;

    pthread_mutex_lock(&rec_lock);
    for (r = recs; r != NULL; r = r->next)
        if (r->key == key && r->mech == mech && !atomic_load(&r->dead))
            break;
    pthread_mutex_unlock(&rec_lock);
    return r;
}

static struct rec *rec_add(CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mech,
                           const CK_BYTE *sig, CK_ULONG len)
{
    struct rec *r = malloc(sizeof(*r) + len), *old;

    if (r == NULL)
        return NULL;
    r->key = key;
    r->mech = mech;
    atomic_init(&r->dead, 0);
    r->len = len;
    memcpy(r->sig, sig, len);
    pthread_mutex_lock(&rec_lock);
    for (old = recs; old != NULL; old = old->next)
        if (old->key == key && old->mech == mech && !atomic_load(&old->dead))
            break;
    if (old == NULL) {
        r->next = recs;
        recs = r;
    }
    pthread_mutex_unlock(&rec_lock);
    if (old != NULL) { /* another session recorded it first */
        free(r);
        return old;
    }
    return r;
}

void shim_instant_forget_key(CK_OBJECT_HANDLE key)
{
    if (!instant_on)
        return;
    pthread_mutex_lock(&rec_lock);
    for (struct rec *r = recs; r != NULL; r = r->next)
        if (r->key == key)
            atomic_store(&r->dead, 1);
    pthread_mutex_unlock(&rec_lock);
}

void shim_instant_forget_all(void)
{
    if (!instant_on)
        return;
    pthread_mutex_lock(&rec_lock);
    for (struct rec *r = recs; r != NULL; r = r->next)
        atomic_store(&r->dead, 1);
    pthread_mutex_unlock(&rec_lock);
}

/* Keep what a lazy real C_SignInit needs; 0 if the parameter is too big. */
static int keep_mech(struct inst_sess *s, CK_MECHANISM_PTR mech,
                     CK_OBJECT_HANDLE key)
{
    if (mech->ulParameterLen > PARAM_MAX ||
        (mech->ulParameterLen > 0 && mech->pParameter == NULL))
        return 0;
    s->key = key;
    s->mech.mechanism = mech->mechanism;
    s->mech.ulParameterLen = mech->ulParameterLen;
    s->mech.pParameter = mech->ulParameterLen > 0 ? s->param : NULL;
    if (mech->ulParameterLen > 0)
        memcpy(s->param, mech->pParameter, mech->ulParameterLen);
    return 1;
}

static struct rec *recording_for(struct inst_sess *s, CK_OBJECT_HANDLE key,
                                 CK_MECHANISM_TYPE mech)
{
    struct rec *r = s->cache;

    if (r != NULL && r->key == key && r->mech == mech && !atomic_load(&r->dead))
        return r;
    r = rec_find(key, mech);
    if (r != NULL)
        s->cache = r;
    return r;
}

CK_RV shim_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                      CK_OBJECT_HANDLE key)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_SignInit, h, &rv);
    struct inst_sess *s;
    struct rec *r;
    int kept;

    if (real == NULL || rv != CKR_OK)
        return rv;
    if (!instant_on || mech == NULL || (s = sess_state(h, 1)) == NULL)
        return real->C_SignInit(h, mech, key);
    if (s->state != IDLE)
        return CKR_OPERATION_ACTIVE;
    kept = keep_mech(s, mech, key);
    r = kept ? recording_for(s, key, mech->mechanism) : NULL;
    if (r != NULL) {
        s->state = ARMED;
        s->rec = r;
        return CKR_OK;
    }
    rv = real->C_SignInit(h, mech, key);
    if (rv == CKR_OK && kept)
        s->state = RECORDING;
    return rv;
}

/* C_Sign answered from the recording of an armed session. */
static CK_RV answer(struct inst_sess *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    const struct rec *r = s->rec;

    if (out_len == NULL) {
        s->state = IDLE;
        return CKR_ARGUMENTS_BAD;
    }
    if (out == NULL) {
        *out_len = r->len;
        return CKR_OK;
    }
    if (*out_len < r->len) {
        *out_len = r->len;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(out, r->sig, r->len);
    *out_len = r->len;
    s->state = IDLE;
    shim_count_instant();
    return CKR_OK;
}

CK_RV shim_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                  CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_Sign, h, &rv);
    struct inst_sess *s = NULL;

    if (instant_on && real != NULL)
        s = sess_state(h, 0);
    if (real == NULL || rv != CKR_OK) {
        if (s != NULL) /* an injected failure ended the operation */
            s->state = IDLE;
        return rv;
    }
    if (s == NULL || s->state == IDLE)
        return real->C_Sign(h, in, in_len, out, out_len);
    if (s->state == ARMED)
        return answer(s, out, out_len);
    rv = real->C_Sign(h, in, in_len, out, out_len);
    if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && out == NULL))
        return rv; /* the operation goes on */
    if (rv == CKR_OK)
        s->cache = rec_add(s->key, s->mech.mechanism, out, *out_len);
    s->state = IDLE;
    return rv;
}

/* A multi-part call on session H: an armed session starts the real
 * operation it stood in for; a recording one stops recording. */
static CK_RV go_real(CK_FUNCTION_LIST_PTR real, CK_SESSION_HANDLE h, CK_RV rv)
{
    struct inst_sess *s;
    enum inst_state was;

    if (!instant_on || real == NULL || (s = sess_state(h, 0)) == NULL)
        return rv;
    was = s->state;
    s->state = IDLE;
    if (rv != CKR_OK || was != ARMED)
        return rv;
    return real->C_SignInit(h, &s->mech, s->key);
}

CK_RV shim_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_SignUpdate, h, &rv);

    rv = go_real(real, h, rv);
    if (real == NULL || rv != CKR_OK)
        return rv;
    return real->C_SignUpdate(h, in, in_len);
}

CK_RV shim_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out,
                       CK_ULONG_PTR out_len)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_SignFinal, h, &rv);

    rv = go_real(real, h, rv);
    if (real == NULL || rv != CKR_OK)
        return rv;
    return real->C_SignFinal(h, out, out_len);
}
