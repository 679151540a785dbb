/* SPDX-License-Identifier: Apache-2.0 */
/* sessions.c -- the sessions hsmkey-p11shim.so has seen opened, the ones an
 * injected fault invalidated, and the slots whose token it made "go away".
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
 * One rwlock guards the tables; it is never held across a call to the real
 * module, and while no session is dead the hot path only reads an atomic.
 */
#include <pthread.h>
#include <stdlib.h>

#include "shim.h"

struct shim_sess {
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;
    int slot_known;
    int dead;
};

struct shim_slot {
    CK_SLOT_ID id;
    int need_logout;
};

#define MAX_SLOTS 64

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct shim_sess *sess;
static size_t nsess, capsess;
static struct shim_slot slots[MAX_SLOTS];
static size_t nslots;
static atomic_ulong ndead;

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

static void drop(struct shim_sess *s)
{
    if (s->dead)
        atomic_fetch_sub(&ndead, 1);
    *s = sess[--nsess];
}

static void kill_locked(struct shim_sess *s)
{
    if (s != NULL && !s->dead) {
        s->dead = 1;
        atomic_fetch_add(&ndead, 1);
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

void shim_sess_opened(CK_SLOT_ID slot, CK_SESSION_HANDLE h)
{
    struct shim_sess *s;

    pthread_rwlock_wrlock(&lock);
    s = find(h);
    if (s != NULL)
        drop(s); /* the module reused a handle we had seen die */
    s = add(h);
    if (s != NULL) {
        s->slot = slot;
        s->slot_known = 1;
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
    kill_locked(s != NULL ? s : add(h));
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
    for (size_t i = 0; i < nslots; i++)
        slots[i].need_logout = 0;
    pthread_rwlock_unlock(&lock);
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
 * anew, as unlocking a write lock from another tid is not defined. */
void shim_sess_atfork_child(void)
{
    static const pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;
    lock = fresh;
}
