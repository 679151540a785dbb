/* SPDX-License-Identifier: Apache-2.0 */
/* sessions.c -- the sessions hsmkey-p11shim.so has seen opened, the session
 * objects made in them, the ones an injected fault invalidated, and the
 * slots whose token it made "go away".
 *
 * An injected CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED kills that one
 * session; an injected CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT kills every
 * session of the slot and marks the slot logged out. The real sessions stay
 * open underneath (closing them under other threads could crash the real
 * module); the shim answers any later call on a dead handle with
 * CKR_SESSION_HANDLE_INVALID, and forwards C_CloseSession so the real one is
 * freed. The next session opened on a marked slot is logged out on the real
 * token, so a C_Login is needed again, as after a real removal.
 *
 * The live accounting (p11shim.h): sessions open and not closed, not counting
 * dead ones (a real token has closed them), and the session objects made in
 * them (objects.c), which go with their session's close or death as on a
 * real token. The session limits of HSMKEY_SHIM_LIMITS are counted here too:
 * a C_OpenSession reserves its place before it is forwarded, so two threads
 * cannot both take the last one.
 *
 * One rwlock guards the tables; it is never held across a call to the real
 * module (only instant.c's leaf lock is taken under it), and while no
 * session is dead the hot path only reads an atomic.
 */
#include <pthread.h>
#include <stdlib.h>

#include "shim.h"

struct shim_sess {
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;
    int slot_known;
    int rw;
    int dead;
};

struct shim_slot {
    CK_SLOT_ID id;
    int need_logout;
};

/* A session object and the session that made it. */
struct shim_obj {
    CK_OBJECT_HANDLE obj;
    CK_SESSION_HANDLE sess;
};

#define MAX_SLOTS 64

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct shim_sess *sess;
static size_t nsess, capsess;
static struct shim_slot slots[MAX_SLOTS];
static size_t nslots;
static struct shim_obj *objs;
static size_t nobjs, capobjs;
static unsigned long reserved, reserved_rw; /* C_OpenSession under way */
static atomic_ulong ndead;
/* The gauges: written under the lock, read without it. */
static atomic_ulong nlive, nlive_rw;
static atomic_ulong nlive_objs;

static struct shim_sess *find(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < nsess; i++)
        if (sess[i].h == h)
            return &sess[i];
    return NULL;
}

static struct shim_sess *add(CK_SESSION_HANDLE h)
{
    if (nsess == capsess) {
        size_t cap = capsess ? capsess * 2 : 64;
        struct shim_sess *grown = realloc(sess, cap * sizeof(*sess));
        if (grown == NULL)
            return NULL; /* untracked: never refused */
        sess = grown;
        capsess = cap;
    }
    sess[nsess] = (struct shim_sess){.h = h};
    return &sess[nsess++];
}

/* The session objects of H went with it. */
static void drop_objects_locked(CK_SESSION_HANDLE h)
{
    for (size_t i = nobjs; i-- > 0;) {
        if (objs[i].sess != h)
            continue;
        shim_instant_forget_key(objs[i].obj);
        objs[i] = objs[--nobjs];
    }
    atomic_store(&nlive_objs, nobjs);
}

static void uncount_live(struct shim_sess *s)
{
    atomic_fetch_sub(&nlive, 1);
    if (s->rw)
        atomic_fetch_sub(&nlive_rw, 1);
}

static void drop(struct shim_sess *s)
{
    if (s->dead)
        atomic_fetch_sub(&ndead, 1);
    else
        uncount_live(s);
    drop_objects_locked(s->h);
    *s = sess[--nsess];
}

static void kill_locked(struct shim_sess *s)
{
    if (s != NULL && !s->dead) {
        s->dead = 1;
        atomic_fetch_add(&ndead, 1);
        uncount_live(s);
        drop_objects_locked(s->h);
    }
}

static struct shim_slot *slot_entry(CK_SLOT_ID id)
{
    for (size_t i = 0; i < nslots; i++)
        if (slots[i].id == id)
            return &slots[i];
    if (nslots == MAX_SLOTS)
        return NULL;
    slots[nslots] = (struct shim_slot){.id = id};
    return &slots[nslots++];
}

CK_RV shim_sess_reserve(int rw)
{
    const struct shim_limits *lim = shim_limits();
    CK_RV rv = CKR_OK;

    pthread_rwlock_wrlock(&lock);
    if (lim->sessions != 0 && atomic_load(&nlive) + reserved >= lim->sessions)
        rv = CKR_SESSION_COUNT;
    else if (rw && lim->rw_sessions != 0 &&
             atomic_load(&nlive_rw) + reserved_rw >= lim->rw_sessions)
        rv = CKR_SESSION_COUNT;
    if (rv == CKR_OK) {
        reserved++;
        reserved_rw += rw != 0;
    }
    pthread_rwlock_unlock(&lock);
    return rv;
}

static void unreserve_locked(int rw)
{
    reserved--;
    reserved_rw -= rw != 0;
}

void shim_sess_unreserve(int rw)
{
    pthread_rwlock_wrlock(&lock);
    unreserve_locked(rw);
    pthread_rwlock_unlock(&lock);
}

void shim_sess_opened(CK_SLOT_ID slot, CK_SESSION_HANDLE h, int rw)
{
    struct shim_sess *s;

    pthread_rwlock_wrlock(&lock);
    unreserve_locked(rw);
    s = find(h);
    if (s != NULL)
        drop(s); /* the module reused a handle we had seen die */
    s = add(h);
    if (s != NULL) {
        s->slot = slot;
        s->slot_known = 1;
        s->rw = rw != 0;
        atomic_fetch_add(&nlive, 1);
        if (rw)
            atomic_fetch_add(&nlive_rw, 1);
    }
    (void)slot_entry(slot);
    pthread_rwlock_unlock(&lock);
}

void shim_sess_closed(CK_SESSION_HANDLE h)
{
    struct shim_sess *s;

    pthread_rwlock_wrlock(&lock);
    s = find(h);
    if (s != NULL)
        drop(s);
    else
        drop_objects_locked(h);
    pthread_rwlock_unlock(&lock);
}

void shim_sess_closed_slot(CK_SLOT_ID slot)
{
    pthread_rwlock_wrlock(&lock);
    for (size_t i = nsess; i-- > 0;)
        if (sess[i].slot_known && sess[i].slot == slot)
            drop(&sess[i]);
    pthread_rwlock_unlock(&lock);
}

int shim_sess_is_dead(CK_SESSION_HANDLE h)
{
    struct shim_sess *s;
    int dead;

    if (atomic_load_explicit(&ndead, memory_order_acquire) == 0)
        return 0;
    pthread_rwlock_rdlock(&lock);
    s = find(h);
    dead = s != NULL && s->dead;
    pthread_rwlock_unlock(&lock);
    return dead;
}

void shim_sess_kill(CK_SESSION_HANDLE h)
{
    struct shim_sess *s;

    pthread_rwlock_wrlock(&lock);
    s = find(h);
    if (s == NULL && (s = add(h)) != NULL) {
        /* Not seen opened: counted live for a moment, so that killing it
         * leaves the gauges as they were. */
        atomic_fetch_add(&nlive, 1);
    }
    kill_locked(s);
    pthread_rwlock_unlock(&lock);
}

void shim_slot_removed(int slot_known, CK_SLOT_ID slot)
{
    pthread_rwlock_wrlock(&lock);
    for (size_t i = 0; i < nsess; i++)
        if (!slot_known || (sess[i].slot_known && sess[i].slot == slot))
            kill_locked(&sess[i]);
    for (size_t i = 0; i < nslots; i++)
        if (!slot_known || slots[i].id == slot)
            slots[i].need_logout = 1;
    pthread_rwlock_unlock(&lock);
}

int shim_slot_take_logout(CK_SLOT_ID slot)
{
    struct shim_slot *e;
    int take = 0;

    pthread_rwlock_wrlock(&lock);
    e = slot_entry(slot);
    if (e != NULL && e->need_logout) {
        e->need_logout = 0;
        take = 1;
    }
    pthread_rwlock_unlock(&lock);
    return take;
}

int shim_sess_slot(CK_SESSION_HANDLE h, CK_SLOT_ID *slot)
{
    struct shim_sess *s;
    int known;

    pthread_rwlock_rdlock(&lock);
    s = find(h);
    known = s != NULL && s->slot_known;
    if (known)
        *slot = s->slot;
    pthread_rwlock_unlock(&lock);
    return known;
}

void shim_sess_forget_all(void)
{
    pthread_rwlock_wrlock(&lock);
    while (nsess > 0)
        drop(&sess[nsess - 1]);
    while (nobjs > 0)
        drop_objects_locked(objs[nobjs - 1].sess);
    for (size_t i = 0; i < nslots; i++)
        slots[i].need_logout = 0;
    pthread_rwlock_unlock(&lock);
}

void shim_obj_created(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
    pthread_rwlock_wrlock(&lock);
    if (nobjs == capobjs) {
        size_t cap = capobjs ? capobjs * 2 : 64;
        struct shim_obj *grown = realloc(objs, cap * sizeof(*objs));
        if (grown == NULL) {
            pthread_rwlock_unlock(&lock);
            shim_log("out of memory: session object %lu not counted", obj);
            return;
        }
        objs = grown;
        capobjs = cap;
    }
    objs[nobjs++] = (struct shim_obj){obj, h};
    atomic_store(&nlive_objs, nobjs);
    pthread_rwlock_unlock(&lock);
}

void shim_obj_destroyed(CK_OBJECT_HANDLE obj)
{
    pthread_rwlock_wrlock(&lock);
    for (size_t i = 0; i < nobjs; i++) {
        if (objs[i].obj == obj) {
            objs[i] = objs[--nobjs];
            break;
        }
    }
    atomic_store(&nlive_objs, nobjs);
    pthread_rwlock_unlock(&lock);
}

void shim_sess_live(unsigned long *sessions, unsigned long *rw)
{
    *sessions = atomic_load(&nlive);
    if (rw != NULL)
        *rw = atomic_load(&nlive_rw);
}

unsigned long shim_obj_live(void)
{
    return atomic_load(&nlive_objs);
}

void shim_sess_atfork_prepare(void)
{
    pthread_rwlock_wrlock(&lock);
}

void shim_sess_atfork_parent(void)
{
    pthread_rwlock_unlock(&lock);
}

/* The forking thread held the lock; in the child (one thread) it starts
 * anew, as unlocking a write lock from another tid is not defined. The
 * parent's sessions and objects are not the child's: its accounting starts
 * empty, like its counters. */
void shim_sess_atfork_child(void)
{
    static const pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;
    lock = fresh;
    nsess = 0;
    nobjs = 0;
    reserved = reserved_rw = 0;
    atomic_store(&ndead, 0);
    atomic_store(&nlive, 0);
    atomic_store(&nlive_rw, 0);
    atomic_store(&nlive_objs, 0);
}
