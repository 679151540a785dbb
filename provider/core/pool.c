/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.c - a token's sessions: a bounded pool, and the object handles each
 * session holds.
 *
 * At most the token's ulMaxSessionCount sessions (ulMaxRwSessionCount
 * read/write ones), or the configured max-sessions when smaller, or the
 * number open when the token answered CKR_SESSION_COUNT.  Sessions are
 * read-only unless a caller needs read/write (provisioning): a signature,
 * a search, a session-object copy of a key and C_Login all work in a
 * read-only session.  A caller that finds every session busy waits for one
 * (session-wait), it does not fail.
 *
 * The pool's epoch is the token's generation: it changes when the
 * token's sessions, handles and login became invalid (module started
 * over, token removed or re-inserted, a fork).  Every session carries the
 * epoch it was opened in, and a module call checks it under the gate
 * (operation.c), so a session or handle from an older epoch is never used
 * with a module that has since reused its number.
 *
 * Objects get a small index here (a "slot") with a serial: each session
 * keeps, per slot, the handle it uses for that object (the token object,
 * or a session-object copy made in this session) and the serial it was made
 * for.  A session leased is its lessee's alone, so the hot path reads its
 * table without a lock.  When an object goes away its slot's serial
 * changes and "dead" moves; a session destroys its stale copies the next
 * time it is leased.
 *
 * The pool's mutex is never held across a module call; see docs/DESIGN.md
 * for its place in the lock order.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

struct handle_entry {
    unsigned long serial; /* 0: empty */
    CK_OBJECT_HANDLE h;
    int copy;             /* a session object made by this session */
};

struct hsmkey_session {
    CK_SESSION_HANDLE h;
    unsigned long epoch;
    int rw;
    int leased;
    struct handle_entry *tab; /* by object slot; owned by the lessee */
    size_t ntab;
    unsigned long swept;      /* pool->dead when the table was last swept */
    struct hsmkey_session *next_idle;
};

struct slot_state {
    unsigned long serial;         /* 0: free */
    CK_OBJECT_HANDLE token_handle; /* the token object, in handle_epoch */
    unsigned long handle_epoch;   /* 0: to be found again */
    int no_copies;                /* the token refused to copy it */
};

struct hsmkey_pool {
    pthread_mutex_t lock;   /* everything below but epoch and slot */
    pthread_cond_t freed;   /* a session came back, or room opened */
    CK_FUNCTION_LIST *fn;
    struct hsmkey_gate *gate;
    const char *label;      /* the token's, for messages */
    CK_SLOT_ID slot;        /* written with the gate closed */
    atomic_ulong epoch;

    struct hsmkey_session *idle;  /* most recently used first */
    struct hsmkey_session **all;  /* every session of this epoch */
    size_t nall, capall;
    size_t opening;               /* C_OpenSession calls under way */
    unsigned long nrw;
    unsigned long max, max_rw;    /* 0: no limit */
    long wait_ms;
    unsigned long waiting;
    int copies_off;               /* the token refuses C_CopyObject */

    struct slot_state *slots;
    size_t nslots;
    unsigned long next_serial;
    unsigned long dead;           /* moves when a slot's serial changes */
    unsigned long copies;         /* copies alive in this epoch */
};

struct hsmkey_pool *hsmkey_pool_new(CK_FUNCTION_LIST *fn,
                                    struct hsmkey_gate *gate,
                                    const char *label)
{
    struct hsmkey_pool *p = OPENSSL_zalloc(sizeof(*p));
    pthread_condattr_t attr;

    if (p == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    p->fn = fn;
    p->gate = gate;
    p->label = label;
    atomic_init(&p->epoch, 1);
    p->next_serial = 1;
    p->wait_ms = HSMKEY_SESSION_WAIT_MS;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &attr);
    pthread_condattr_destroy(&attr);
    return p;
}

static void session_free(struct hsmkey_session *s)
{
    if (s == NULL)
        return;
    OPENSSL_free(s->tab);
    OPENSSL_free(s);
}

void hsmkey_pool_free(struct hsmkey_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nall; i++)
        session_free(p->all[i]);
    OPENSSL_free(p->all);
    OPENSSL_free(p->slots);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    OPENSSL_free(p);
}

unsigned long hsmkey_pool_epoch(const struct hsmkey_pool *p)
{
    return atomic_load(&p->epoch);
}

/* A limit from the token: 0 (CK_EFFECTIVELY_INFINITE) and
 * CK_UNAVAILABLE_INFORMATION mean none; cap (0: none) lowers it. */
static unsigned long limit(CK_ULONG token, unsigned long cap)
{
    unsigned long l = token == CK_UNAVAILABLE_INFORMATION ? 0 : token;

    if (cap != 0 && (l == 0 || cap < l))
        l = cap;
    return l;
}

void hsmkey_pool_configure(struct hsmkey_pool *p, CK_SLOT_ID slot,
                           const CK_TOKEN_INFO *info, unsigned long cap,
                           long wait_ms)
{
    pthread_mutex_lock(&p->lock);
    p->slot = slot;
    p->max = limit(info->ulMaxSessionCount, cap);
    p->max_rw = limit(info->ulMaxRwSessionCount, cap);
    p->wait_ms = wait_ms;
    pthread_mutex_unlock(&p->lock);
}

/* ---- the sessions of an epoch ---- */

static int remember_locked(struct hsmkey_pool *p, struct hsmkey_session *s)
{
    if (p->nall == p->capall) {
        size_t cap = p->capall ? p->capall * 2 : 8;
        struct hsmkey_session **grown;

        grown = OPENSSL_realloc(p->all, cap * sizeof(*grown));
        if (grown == NULL)
            return 0;
        p->all = grown;
        p->capall = cap;
    }
    p->all[p->nall++] = s;
    p->nrw += s->rw != 0;
    return 1;
}

static void forget_locked(struct hsmkey_pool *p, struct hsmkey_session *s)
{
    for (size_t i = 0; i < p->nall; i++) {
        if (p->all[i] == s) {
            p->all[i] = p->all[--p->nall];
            p->nrw -= s->rw != 0;
            return;
        }
    }
}

/* Room for one more session of this kind, counting those being opened. */
static int room_locked(const struct hsmkey_pool *p, int rw)
{
    size_t open = p->nall + p->opening;

    if (p->max != 0 && open >= p->max)
        return 0;
    return !rw || p->max_rw == 0 || p->nrw + p->opening < p->max_rw;
}

static struct hsmkey_session *take_idle_locked(struct hsmkey_pool *p, int rw)
{
    struct hsmkey_session **link = &p->idle, *s;

    for (; (s = *link) != NULL; link = &s->next_idle) {
        if (!rw || s->rw) {
            *link = s->next_idle;
            s->next_idle = NULL;
            s->leased = 1;
            return s;
        }
    }
    return NULL;
}

/*
 * Open a session in the epoch the gate holds still; it joins the epoch's
 * list before the gate opens, so a reset that follows closes it too.
 */
static CK_RV open_session(struct hsmkey_pool *p, int rw,
                          struct hsmkey_session **out)
{
    struct hsmkey_session *s = OPENSSL_zalloc(sizeof(*s));
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    struct hsmkey_fence fence;
    CK_RV rv;
    int kept = 0;

    if (s == NULL)
        return CKR_HOST_MEMORY;
    hsmkey_call_begin(p->gate, &fence);
    rv = p->fn->C_OpenSession(p->slot, flags, NULL, NULL, &s->h);
    if (rv == CKR_OK) {
        s->epoch = atomic_load(&p->epoch);
        s->rw = rw;
        s->leased = 1;
        pthread_mutex_lock(&p->lock);
        s->swept = p->dead;
        kept = remember_locked(p, s);
        pthread_mutex_unlock(&p->lock);
        if (!kept) {
            p->fn->C_CloseSession(s->h);
            rv = CKR_HOST_MEMORY;
        }
    }
    hsmkey_call_end(p->gate, &fence);
    if (!kept) {
        OPENSSL_free(s);
        return rv;
    }
    if (hsmkey_debug_enabled()) {
        unsigned long open, idle, copies, max;

        hsmkey_pool_stats(p, &open, &idle, &copies, &max);
        hsmkey_debug_print("session", "token '%s': opened session %lu%s; the "
                           "pool now holds %lu idle and %lu lent out",
                           p->label, (unsigned long)s->h,
                           rw ? " (read/write)" : "", idle, open - idle);
    }
    *out = s;
    return CKR_OK;
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait for a session to come back; 0 when the deadline passed. */
static int wait_locked(struct hsmkey_pool *p, const struct timespec *until)
{
    int rc;

    p->waiting++;
    rc = pthread_cond_timedwait(&p->freed, &p->lock, until);
    p->waiting--;
    return rc != ETIMEDOUT;
}

static void raise_busy(const struct hsmkey_pool *p, unsigned long open,
                       long wait_ms)
{
    hsmkey_raise(HSMKEY_R_PKCS11, "token '%s': all %lu sessions stayed busy "
                 "for %ld ms (the token's limit, or max-sessions); raise "
                 "session-wait or lower the number of threads", p->label,
                 open, wait_ms);
}

static CK_RV sweep(struct hsmkey_pool *p, struct hsmkey_session *s);

/*
 * A session of the current epoch: an idle one, a new one while there is
 * room, else the next one given back.  CKR_OK, the failing C_OpenSession's
 * value (not raised: the caller knows what it was for), or
 * HSMKEY_CKR_RAISED after a timeout.
 */
CK_RV hsmkey_pool_lease(struct hsmkey_pool *p, int rw,
                        struct hsmkey_session **out)
{
    struct timespec until;
    int waited = 0;
    CK_RV rv;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        if ((*out = take_idle_locked(p, rw)) != NULL) {
            int dirty = (*out)->swept != p->dead;

            pthread_mutex_unlock(&p->lock);
            return dirty ? sweep(p, *out) : CKR_OK;
        }
        if (room_locked(p, rw)) {
            p->opening++;
            pthread_mutex_unlock(&p->lock);
            rv = open_session(p, rw, out);
            pthread_mutex_lock(&p->lock);
            p->opening--;
            if (rv == CKR_OK || rv != CKR_SESSION_COUNT || p->nall == 0) {
                pthread_mutex_unlock(&p->lock);
                return rv;
            }
            /* The token's real limit (other applications count too). */
            p->max = p->nall;
        }
        if (p->wait_ms <= 0) {
            raise_busy(p, p->nall, 0);
            pthread_mutex_unlock(&p->lock);
            return HSMKEY_CKR_RAISED;
        }
        if (!waited++)
            deadline_in(&until, p->wait_ms);
        if (!wait_locked(p, &until)) {
            raise_busy(p, p->nall, p->wait_ms);
            pthread_mutex_unlock(&p->lock);
            return HSMKEY_CKR_RAISED;
        }
    }
}

/* The copies a session made for objects that are gone (all of them when
 * slots is NULL), destroyed while the session lives; how many. */
static unsigned long destroy_copies(CK_FUNCTION_LIST *fn,
                                    struct hsmkey_session *s,
                                    const struct slot_state *slots,
                                    size_t nslots)
{
    unsigned long n = 0;

    for (size_t i = 0; i < s->ntab; i++) {
        struct handle_entry *e = &s->tab[i];
        int stale = slots == NULL || i >= nslots
                    || slots[i].serial != e->serial;

        if (e->serial == 0 || !stale)
            continue;
        if (e->copy) {
            fn->C_DestroyObject(s->h, e->h);
            n++;
        }
        memset(e, 0, sizeof(*e));
    }
    return n;
}

/* Objects went away since the session was last leased: drop its stale
 * entries, destroying the copies among them.  The slot table is read under
 * the lock into a copy, so the module is called without it. */
static CK_RV sweep(struct hsmkey_pool *p, struct hsmkey_session *s)
{
    struct slot_state *snap = NULL;
    size_t n;
    unsigned long mark, destroyed = 0;
    struct hsmkey_fence fence;

    pthread_mutex_lock(&p->lock);
    mark = p->dead;
    n = p->nslots < s->ntab ? p->nslots : s->ntab;
    if (n > 0 && (snap = OPENSSL_memdup(p->slots, n * sizeof(*snap))) == NULL) {
        pthread_mutex_unlock(&p->lock);
        return CKR_OK; /* no memory: swept next time */
    }
    pthread_mutex_unlock(&p->lock);
    hsmkey_call_begin(p->gate, &fence);
    if (s->epoch == atomic_load(&p->epoch))
        destroyed = destroy_copies(p->fn, s, snap, n);
    hsmkey_call_end(p->gate, &fence);
    OPENSSL_free(snap);
    pthread_mutex_lock(&p->lock);
    if (s->epoch == atomic_load(&p->epoch))
        p->copies -= destroyed;
    s->swept = mark;
    pthread_mutex_unlock(&p->lock);
    return CKR_OK;
}

static unsigned long copies_in(const struct hsmkey_session *s)
{
    unsigned long n = 0;

    for (size_t i = 0; i < s->ntab; i++)
        n += s->tab[i].serial != 0 && s->tab[i].copy;
    return n;
}

/*
 * Give a session back.  how: KEEP pools it; CLOSE closes it (a call went
 * wrong in a way that may leave an operation active); LOST forgets it (the
 * token said it is gone: closing a number the module may have reused could
 * close another thread's session).  A session of an older epoch is
 * forgotten whatever how says: the reset closed it.
 */
void hsmkey_pool_release(struct hsmkey_pool *p, struct hsmkey_session *s,
                         enum hsmkey_release how)
{
    struct hsmkey_fence fence;
    unsigned long destroyed = 0;

    if (s == NULL)
        return;
    if (how == HSMKEY_RELEASE_CLOSE && !hsmkey_process_exiting()) {
        hsmkey_call_begin(p->gate, &fence);
        if (s->epoch == atomic_load(&p->epoch)) {
            destroyed = destroy_copies(p->fn, s, NULL, 0);
            p->fn->C_CloseSession(s->h);
        }
        hsmkey_call_end(p->gate, &fence);
    }
    pthread_mutex_lock(&p->lock);
    if (s->epoch != atomic_load(&p->epoch)) {
        session_free(s); /* its epoch's list is gone with the reset */
    } else if (how != HSMKEY_RELEASE_KEEP) {
        /* Closed: destroyed above; lost: gone with the session. */
        p->copies -= how == HSMKEY_RELEASE_LOST ? copies_in(s) : destroyed;
        forget_locked(p, s);
        session_free(s);
        if (p->waiting)
            pthread_cond_signal(&p->freed); /* room for a new one */
    } else {
        s->leased = 0;
        s->next_idle = p->idle;
        p->idle = s;
        if (p->waiting)
            pthread_cond_signal(&p->freed);
    }
    pthread_mutex_unlock(&p->lock);
}

CK_SESSION_HANDLE hsmkey_session_handle(const struct hsmkey_session *s)
{
    return s->h;
}

/* Valid only under the gate: a reset needs it closed. */
int hsmkey_session_current(const struct hsmkey_pool *p,
                           const struct hsmkey_session *s)
{
    return s->epoch == atomic_load(&p->epoch);
}

unsigned long hsmkey_session_epoch(const struct hsmkey_session *s)
{
    return s->epoch;
}

int hsmkey_session_rw(const struct hsmkey_session *s)
{
    return s->rw;
}

/* What a reset closes: handles copied out under the lock, since a lessee
 * frees its own session struct once it sees the epoch has ended. */
struct closing {
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE *copies;
    size_t ncopies;
};

static void closing_take(struct closing *c, const struct hsmkey_session *s)
{
    c->h = s->h;
    c->ncopies = 0;
    c->copies = OPENSSL_malloc((s->ntab ? s->ntab : 1) * sizeof(*c->copies));
    for (size_t i = 0; c->copies != NULL && i < s->ntab; i++)
        if (s->tab[i].serial != 0 && s->tab[i].copy)
            c->copies[c->ncopies++] = s->tab[i].h;
}

static void close_all(CK_FUNCTION_LIST *fn, struct closing *c, size_t n)
{
    struct hsmkey_fence fence;

    hsmkey_fence_begin(&fence);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < c[i].ncopies; j++)
            fn->C_DestroyObject(c[i].h, c[i].copies[j]);
        fn->C_CloseSession(c[i].h);
    }
    hsmkey_fence_end(&fence);
}

/*
 * Start a new epoch; the gate is closed.  close_old: destroy the copies
 * and close every session of the old epoch (C_Finalize would close them
 * too, but a token reset without one would leave them open).  In a forked
 * child (forked != 0) the sessions are the parent's: nothing is called,
 * and the sessions other threads held in the parent are freed too, as
 * those threads do not exist here.  A session leased now is its lessee's
 * to free when it comes back.
 */
void hsmkey_pool_reset(struct hsmkey_pool *p, int close_old, int forked)
{
    struct closing *closing = NULL;
    size_t nclosing = 0;

    close_old = close_old && !forked && !hsmkey_process_exiting();
    pthread_mutex_lock(&p->lock);
    if (close_old && p->nall > 0)
        closing = OPENSSL_malloc(p->nall * sizeof(*closing));
    for (size_t i = 0; i < p->nall; i++) {
        struct hsmkey_session *s = p->all[i];

        if (closing != NULL)
            closing_take(&closing[nclosing++], s);
        if (!s->leased || forked)
            session_free(s);
    }
    OPENSSL_free(p->all);
    p->all = NULL;
    p->nall = p->capall = 0;
    p->nrw = 0;
    p->idle = NULL;
    p->copies = 0;
    if (forked)
        p->opening = p->waiting = 0;
    atomic_fetch_add(&p->epoch, 1);
    pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->lock);
    if (nclosing > 0)
        close_all(p->fn, closing, nclosing);
    for (size_t i = 0; i < nclosing; i++)
        OPENSSL_free(closing[i].copies);
    OPENSSL_free(closing);
}

/* Sessions open in this epoch and how many of them are idle. */
void hsmkey_pool_stats(struct hsmkey_pool *p, unsigned long *open,
                       unsigned long *idle, unsigned long *copies,
                       unsigned long *max)
{
    unsigned long n = 0;

    pthread_mutex_lock(&p->lock);
    for (struct hsmkey_session *s = p->idle; s != NULL; s = s->next_idle)
        n++;
    *open = p->nall;
    *idle = n;
    *copies = p->copies;
    *max = p->max;
    pthread_mutex_unlock(&p->lock);
}

/* ---- fork: the core's handlers hold every pool lock across fork() ---- */

void hsmkey_pool_fork_prepare(struct hsmkey_pool *p)
{
    pthread_mutex_lock(&p->lock);
}

void hsmkey_pool_fork_parent(struct hsmkey_pool *p)
{
    pthread_mutex_unlock(&p->lock);
}

/* The parent's waiters do not exist here: the condition starts afresh. */
void hsmkey_pool_fork_child(struct hsmkey_pool *p)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &attr);
    pthread_condattr_destroy(&attr);
    p->waiting = 0;
    pthread_mutex_unlock(&p->lock);
}

/* ---- object slots and the handles sessions hold for them ---- */

int hsmkey_pool_slot_new(struct hsmkey_pool *p, CK_OBJECT_HANDLE h,
                         unsigned long epoch, size_t *slot,
                         unsigned long *serial)
{
    size_t i;
    int ok = 1;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->nslots && p->slots[i].serial != 0; i++)
        continue;
    if (i == p->nslots) {
        struct slot_state *grown;
        size_t cap = p->nslots ? p->nslots * 2 : 16;

        grown = OPENSSL_realloc(p->slots, cap * sizeof(*grown));
        if (grown == NULL) {
            ok = 0;
        } else {
            memset(grown + p->nslots, 0,
                   (cap - p->nslots) * sizeof(*grown));
            p->slots = grown;
            p->nslots = cap;
        }
    }
    if (ok) {
        p->slots[i] = (struct slot_state){ p->next_serial++, h, epoch, 0 };
        *slot = i;
        *serial = p->slots[i].serial;
    }
    pthread_mutex_unlock(&p->lock);
    if (!ok)
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return ok;
}

/* The object is gone: sessions destroy their copies of it when swept. */
void hsmkey_pool_slot_free(struct hsmkey_pool *p, size_t slot)
{
    pthread_mutex_lock(&p->lock);
    if (slot < p->nslots) {
        memset(&p->slots[slot], 0, sizeof(p->slots[slot]));
        p->dead++;
    }
    pthread_mutex_unlock(&p->lock);
}

/* The token refused the object's handle: every session's entry for it and
 * its token handle are stale; the new serial is returned. */
unsigned long hsmkey_pool_slot_renew(struct hsmkey_pool *p, size_t slot)
{
    unsigned long serial = 0;

    pthread_mutex_lock(&p->lock);
    if (slot < p->nslots) {
        p->slots[slot].serial = serial = p->next_serial++;
        p->slots[slot].handle_epoch = 0;
        p->dead++;
    }
    pthread_mutex_unlock(&p->lock);
    return serial;
}

/* The token object's handle for slot in epoch; 0 when it must be found. */
int hsmkey_pool_slot_handle(struct hsmkey_pool *p, size_t slot,
                            unsigned long serial, unsigned long epoch,
                            CK_OBJECT_HANDLE *h, int *copies)
{
    int found = 0;

    pthread_mutex_lock(&p->lock);
    if (slot < p->nslots && p->slots[slot].serial == serial) {
        found = p->slots[slot].handle_epoch == epoch;
        *h = p->slots[slot].token_handle;
        *copies = !p->slots[slot].no_copies && !p->copies_off;
    }
    pthread_mutex_unlock(&p->lock);
    return found;
}

void hsmkey_pool_slot_set_handle(struct hsmkey_pool *p, size_t slot,
                                 unsigned long serial, unsigned long epoch,
                                 CK_OBJECT_HANDLE h)
{
    pthread_mutex_lock(&p->lock);
    if (slot < p->nslots && p->slots[slot].serial == serial) {
        p->slots[slot].token_handle = h;
        p->slots[slot].handle_epoch = epoch;
    }
    pthread_mutex_unlock(&p->lock);
}

/* No more copies of this object (refused: rv names why), or of any object
 * of this token when the module does not copy at all. */
void hsmkey_pool_slot_no_copies(struct hsmkey_pool *p, size_t slot, CK_RV rv)
{
    pthread_mutex_lock(&p->lock);
    if (rv == CKR_FUNCTION_NOT_SUPPORTED)
        p->copies_off = 1;
    else if (slot < p->nslots)
        p->slots[slot].no_copies = 1;
    pthread_mutex_unlock(&p->lock);
}

/* delta copies made (or destroyed, negative) by a lessee of a session of
 * epoch; a session of an older epoch took its copies with it. */
void hsmkey_pool_count_copies(struct hsmkey_pool *p, unsigned long epoch,
                              long delta)
{
    pthread_mutex_lock(&p->lock);
    if (epoch == atomic_load(&p->epoch))
        p->copies += (unsigned long)delta;
    pthread_mutex_unlock(&p->lock);
}

/* The handle s holds for (slot, serial); 0 when it has none. */
int hsmkey_session_get_handle(const struct hsmkey_session *s, size_t slot,
                              unsigned long serial, CK_OBJECT_HANDLE *h)
{
    if (slot >= s->ntab || s->tab[slot].serial != serial)
        return 0;
    *h = s->tab[slot].h;
    return 1;
}

/*
 * Record the handle s uses for (slot, serial).  The entry it replaces may
 * hold a copy of an object that has gone: *old_copy (0: none) is for the
 * caller to destroy while it still holds the gate.  0: out of memory.
 */
int hsmkey_session_set_handle(struct hsmkey_session *s, size_t slot,
                              unsigned long serial, CK_OBJECT_HANDLE h,
                              int copy, CK_OBJECT_HANDLE *old_copy)
{
    *old_copy = 0;
    if (slot >= s->ntab) {
        size_t cap = slot + 8;
        struct handle_entry *grown = OPENSSL_realloc(s->tab,
                                                     cap * sizeof(*grown));

        if (grown == NULL)
            return 0;
        memset(grown + s->ntab, 0, (cap - s->ntab) * sizeof(*grown));
        s->tab = grown;
        s->ntab = cap;
    }
    if (s->tab[slot].serial != 0 && s->tab[slot].copy)
        *old_copy = s->tab[slot].h;
    s->tab[slot] = (struct handle_entry){ serial, h, copy };
    return 1;
}
