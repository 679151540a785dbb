/* SPDX-License-Identifier: Apache-2.0 */
/*
 * index.c - a token's objects by class, label and id, so that a server
 * loading many keys from a token of many objects does not search the whole
 * token once per key.
 *
 * A URI names objects by class, label and id, and the token answers each
 * C_FindObjects with one pass over every object it holds (SoftHSM2: ~15 ms
 * with 1000 objects).  The index holds, for every token object one pass
 * found (C_FindObjects with CKA_TOKEN true), its handle and its CKA_CLASS,
 * CKA_LABEL and CKA_ID, each present, known absent, or unknown (the token
 * would not say); a template of those attributes and CKA_TOKEN true is
 * then answered from memory, unless an object whose value is unknown could
 * match it.
 *
 * What it costs: one pass, then one C_GetAttributeValue per object (more
 * when a value is longer than the buffers, or an attribute is missing).
 * On SoftHSM2 that is four to eight searches with 1000 objects (a read
 * re-checks the object's file, as the search does, and decrypts a private
 * object's label and id);
 * on a network HSM a read is a round trip where a search is one for all
 * objects.  So the index is paid for in installments by the searches it
 * would save (ski rental): the first search on a token pays nothing, and
 * each later one that the index cannot answer yet first reads objects for
 * at most INSTALLMENT_FACTOR times as long as the searches since the last
 * installment took (wall time: a remote token's round trips count).  So
 * until the index is complete, loading keys costs at most about that
 * factor plus one times what it cost without it (an installment reads at
 * least one object, the first one also scans), and SoftHSM2's is usually
 * complete at the second distinct search.
 *
 * When it is valid: in one epoch of the token (handles), and in one login
 * state (private objects are seen only logged in): a search in another
 * starts it over.  It is dropped when this process creates or destroys
 * objects, or a handle it gave turns out stale; objects another process
 * adds are found by the real search that follows an answer with nothing of
 * the class asked for, and added.  Until the next drop, an object another
 * process adds beside one the index holds (the same label) is not seen,
 * as for a search the cache (cache.c) answers.  What it answers is only a
 * list of candidates: find.c reads each one from the token and keeps the
 * answer only when every one still matches the whole template.
 *
 * Threads: one mutex, a leaf (docs/DESIGN.md), never held across a module
 * call.  One thread at a time pays an installment ("building"); the scan's
 * handles and the entries read so far are its own until it gives them
 * back (hsmkey_index_release).  A drop meanwhile moves the generation, and
 * the builder discards what it read.  Lookups copy handles out.
 */
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

#define INSTALLMENT_FACTOR 4
/* Labels and ids longer than these are read in two steps. */
#define LABEL_BUF 128
#define ID_BUF 64

enum { IX_CLASS, IX_LABEL, IX_ID, IX_NATTRS };

static const CK_ATTRIBUTE_TYPE ix_types[IX_NATTRS] = { CKA_CLASS, CKA_LABEL,
                                                       CKA_ID };

enum ix_state { IX_UNKNOWN, IX_ABSENT, IX_PRESENT };

struct ix_entry {
    CK_OBJECT_HANDLE h;
    unsigned char state[IX_NATTRS];
    CK_ULONG len[IX_NATTRS];
    unsigned char *v[IX_NATTRS]; /* into mem */
    unsigned char *mem;
};

struct ix_list {
    struct ix_entry *e;
    size_t n, cap;
};

struct hsmkey_index {
    const char *label; /* the token's, for traces */
    pthread_mutex_t lock; /* everything below */
    unsigned long epoch;  /* of the handles held */
    int logged_in;        /* the login state they were seen in */
    unsigned long gen;    /* moves at every drop */
    int complete;         /* ents answers searches */
    struct ix_list ents;
    unsigned long long rent_ns; /* real searches since the last installment */
    /* The build: the builder's alone while building is set. */
    int building;
    int scanned;
    CK_OBJECT_HANDLE *unread; /* the scan's handles; next: the first not read */
    CK_ULONG nunread, next;
    unsigned installments;
    unsigned long long spent_ns;
};

unsigned long long hsmkey_index_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ULL
           + (unsigned long long)ts.tv_nsec;
}

static void list_clear(struct ix_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        OPENSSL_free(l->e[i].mem);
    OPENSSL_free(l->e);
    memset(l, 0, sizeof(*l));
}

/* Appends e (its memory moves into the list); 0: out of memory. */
static int list_add(struct ix_list *l, struct ix_entry *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct ix_entry *grown = OPENSSL_realloc(l->e, cap * sizeof(*grown));

        if (grown == NULL)
            return 0;
        l->e = grown;
        l->cap = cap;
    }
    l->e[l->n++] = *e;
    return 1;
}

struct hsmkey_index *hsmkey_index_new(const char *label)
{
    struct hsmkey_index *ix = OPENSSL_zalloc(sizeof(*ix));

    if (ix == NULL)
        return NULL;
    ix->label = label;
    pthread_mutex_init(&ix->lock, NULL);
    return ix;
}

static void build_clear(struct hsmkey_index *ix)
{
    list_clear(&ix->ents);
    OPENSSL_free(ix->unread);
    ix->unread = NULL;
    ix->nunread = ix->next = 0;
    ix->scanned = 0;
    ix->installments = 0;
    ix->spent_ns = 0;
}

void hsmkey_index_free(struct hsmkey_index *ix)
{
    if (ix == NULL)
        return;
    build_clear(ix);
    pthread_mutex_destroy(&ix->lock);
    OPENSSL_free(ix);
}

/* ix->lock held.  A builder at work discards its part when it is done. */
static void forget_locked(struct hsmkey_index *ix)
{
    ix->gen++;
    ix->complete = 0;
    ix->rent_ns = 0;
    if (!ix->building)
        build_clear(ix);
}

void hsmkey_index_drop(struct hsmkey_index *ix)
{
    pthread_mutex_lock(&ix->lock);
    forget_locked(ix);
    pthread_mutex_unlock(&ix->lock);
}

/* ix->lock held: what the index holds belongs to epoch and login state. */
static void sync_locked(struct hsmkey_index *ix, unsigned long epoch,
                        int logged_in)
{
    if (ix->epoch == epoch && ix->logged_in == logged_in)
        return;
    forget_locked(ix);
    ix->epoch = epoch;
    ix->logged_in = logged_in;
}

/* ---- which templates it answers ---- */

static int slot_of(CK_ATTRIBUTE_TYPE type)
{
    for (int i = 0; i < IX_NATTRS; i++)
        if (ix_types[i] == type)
            return i;
    return -1;
}

int hsmkey_index_covers(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    int token = 0;

    for (CK_ULONG i = 0; i < n; i++) {
        if (tmpl[i].type == CKA_TOKEN) {
            /* Session objects are never indexed. */
            if (tmpl[i].ulValueLen != sizeof(CK_BBOOL)
                || *(const CK_BBOOL *)tmpl[i].pValue != CK_TRUE)
                return 0;
            token = 1;
        } else if (slot_of(tmpl[i].type) < 0
                   || (tmpl[i].type == CKA_CLASS
                       && tmpl[i].ulValueLen != sizeof(CK_OBJECT_CLASS))) {
            return 0;
        }
    }
    return token;
}

/* 1 when e matches, 0 when not, -1 when a value it does not know decides. */
static int entry_matches(const struct ix_entry *e, const CK_ATTRIBUTE *t,
                         CK_ULONG n)
{
    int unknown = 0;

    for (CK_ULONG i = 0; i < n; i++) {
        int k = slot_of(t[i].type);

        if (k < 0) /* CKA_TOKEN: every entry is a token object */
            continue;
        if (e->state[k] == IX_UNKNOWN)
            unknown = 1;
        else if (e->state[k] == IX_ABSENT || e->len[k] != t[i].ulValueLen
                 || (t[i].ulValueLen > 0
                     && memcmp(e->v[k], t[i].pValue, t[i].ulValueLen) != 0))
            return 0;
    }
    return unknown ? -1 : 1;
}

int hsmkey_index_lookup(struct hsmkey_index *ix, unsigned long epoch,
                        int logged_in, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG ntmpl, const CK_ATTRIBUTE *need,
                        CK_ULONG nneed, CK_OBJECT_HANDLE **handles,
                        CK_ULONG *count, unsigned long *gen)
{
    CK_OBJECT_HANDLE *out = NULL;
    size_t hits = 0, needed = 0;
    int answer = 1;

    *handles = NULL;
    *count = 0;
    *gen = 0;
    pthread_mutex_lock(&ix->lock);
    sync_locked(ix, epoch, logged_in);
    if (!ix->complete) {
        pthread_mutex_unlock(&ix->lock);
        return 0;
    }
    /* One pass over the entries, into room for all of them (8 bytes an
     * entry): every key a server loads walks the whole index. */
    if (ix->ents.n > 0
        && (out = OPENSSL_malloc(ix->ents.n * sizeof(*out))) == NULL)
        answer = 0;
    for (size_t i = 0; answer && i < ix->ents.n; i++) {
        int m = entry_matches(&ix->ents.e[i], tmpl, ntmpl);
        int w = entry_matches(&ix->ents.e[i], need, nneed);

        answer = m >= 0 && w >= 0;
        if (m > 0)
            out[hits++] = ix->ents.e[i].h;
        needed += w > 0;
    }
    if (answer)
        *gen = ix->gen; /* the real search may add to it */
    answer = answer && needed > 0;
    pthread_mutex_unlock(&ix->lock);
    if (!answer) {
        OPENSSL_free(out);
        return 0;
    }
    *handles = out;
    *count = hits;
    *gen = 0;
    hsmkey_debug("index", "token '%s': %lu object(s) match, from the "
                 "index", ix->label, (unsigned long)hits);
    return 1;
}

void hsmkey_index_rent(struct hsmkey_index *ix, unsigned long epoch,
                       int logged_in, unsigned long long ns)
{
    pthread_mutex_lock(&ix->lock);
    sync_locked(ix, epoch, logged_in);
    if (!ix->complete)
        ix->rent_ns += ns ? ns : 1;
    pthread_mutex_unlock(&ix->lock);
}

/* ---- reading an object's three attributes (under the gate) ---- */

/* The value of attribute k, copied into e's memory at *used. */
static void keep(struct ix_entry *e, int k, const void *v, size_t *used)
{
    memcpy(e->mem + *used, v, e->len[k]);
    e->v[k] = e->mem + *used;
    *used += e->len[k];
}

/* One attribute on its own: absent, unknown, or its value (two calls). */
static CK_RV read_one(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                      CK_OBJECT_HANDLE h, int k, unsigned char **val,
                      CK_ULONG *len, unsigned char *state)
{
    CK_ATTRIBUTE a = { ix_types[k], NULL, 0 };
    CK_RV rv = fn->C_GetAttributeValue(s, h, &a, 1);

    *state = IX_UNKNOWN;
    *val = NULL;
    if (rv == CKR_OBJECT_HANDLE_INVALID
        || hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING)
        return rv;
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID) {
        *state = IX_ABSENT;
        return CKR_OK;
    }
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_OK;
    if ((a.pValue = OPENSSL_malloc(a.ulValueLen ? a.ulValueLen : 1)) == NULL)
        return CKR_HOST_MEMORY;
    rv = fn->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK) {
        OPENSSL_free(a.pValue);
        return rv == CKR_OBJECT_HANDLE_INVALID
                       || hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING
                   ? rv : CKR_OK;
    }
    *state = IX_PRESENT;
    *val = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

/*
 * The entry of object h: one C_GetAttributeValue with buffers big enough
 * for most, each attribute it could not give asked again on its own.
 * CKR_OBJECT_HANDLE_INVALID: gone.
 */
static CK_RV read_entry(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE h, struct ix_entry *e)
{
    CK_OBJECT_CLASS cls;
    unsigned char label[LABEL_BUF], id[ID_BUF];
    CK_ATTRIBUTE t[IX_NATTRS] = { { CKA_CLASS, &cls, sizeof(cls) },
                                  { CKA_LABEL, label, sizeof(label) },
                                  { CKA_ID, id, sizeof(id) } };
    const CK_ULONG cap[IX_NATTRS] = { sizeof(cls), sizeof(label),
                                      sizeof(id) };
    unsigned char *extra[IX_NATTRS] = { NULL, NULL, NULL };
    size_t total = 0, used = 0;
    int batch;
    CK_RV rv = fn->C_GetAttributeValue(s, h, t, IX_NATTRS);

    memset(e, 0, sizeof(*e));
    e->h = h;
    if (rv == CKR_OBJECT_HANDLE_INVALID
        || hsmkey_ckr_loss(rv) != HSMKEY_LOST_NOTHING)
        return rv;
    /* Only CKR_OK vouches for every value: a module that answers an
     * attribute it cannot give with an error may stop there, leaving the
     * others as they were (our buffers, unread), so then each is asked
     * again on its own. */
    batch = rv == CKR_OK;
    for (int k = 0; k < IX_NATTRS; k++) {
        if (batch && t[k].ulValueLen != CK_UNAVAILABLE_INFORMATION
            && t[k].ulValueLen <= cap[k]) {
            e->state[k] = IX_PRESENT;
            e->len[k] = t[k].ulValueLen;
        } else {
            rv = read_one(fn, s, h, k, &extra[k], &e->len[k], &e->state[k]);
            if (rv != CKR_OK)
                goto done;
            t[k].pValue = extra[k];
        }
        /* A class of another size cannot be compared with ours. */
        if (k == IX_CLASS && e->state[k] == IX_PRESENT
            && e->len[k] != sizeof(CK_OBJECT_CLASS))
            e->state[k] = IX_UNKNOWN;
        if (e->state[k] == IX_PRESENT)
            total += e->len[k];
    }
    rv = CKR_HOST_MEMORY;
    if ((e->mem = OPENSSL_malloc(total ? total : 1)) == NULL)
        goto done;
    for (int k = 0; k < IX_NATTRS; k++)
        if (e->state[k] == IX_PRESENT)
            keep(e, k, t[k].pValue, &used);
    rv = CKR_OK;
done:
    for (int k = 0; k < IX_NATTRS; k++)
        OPENSSL_free(extra[k]);
    if (rv != CKR_OK) {
        OPENSSL_free(e->mem);
        e->mem = NULL;
    }
    return rv;
}

/* ---- building it, in installments ---- */

int hsmkey_index_claim(struct hsmkey_index *ix, unsigned long epoch,
                       int logged_in, struct hsmkey_index_job *job)
{
    int claim = 0;

    pthread_mutex_lock(&ix->lock);
    sync_locked(ix, epoch, logged_in);
    if (!ix->complete && !ix->building && ix->rent_ns > 0) {
        ix->building = 1;
        job->gen = ix->gen;
        job->start = hsmkey_index_clock();
        job->deadline = job->start + INSTALLMENT_FACTOR * ix->rent_ns;
        ix->rent_ns = 0;
        claim = ix->scanned ? 1 : 2;
    }
    pthread_mutex_unlock(&ix->lock);
    return claim;
}

void hsmkey_index_scanned(struct hsmkey_index *ix,
                          struct hsmkey_index_job *job,
                          CK_OBJECT_HANDLE *handles, CK_ULONG n)
{
    (void)job;
    OPENSSL_free(ix->unread);
    ix->unread = handles;
    ix->nunread = n;
    ix->next = 0;
    ix->scanned = 1;
}

CK_RV hsmkey_index_pay(struct hsmkey_index *ix, struct hsmkey_index_job *job,
                       CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s)
{
    CK_RV rv = CKR_OK;

    /* At least one object each time: every installment gets somewhere. */
    do {
        struct ix_entry e;

        if (ix->next == ix->nunread)
            break;
        rv = read_entry(fn, s, ix->unread[ix->next], &e);
        if (rv == CKR_OBJECT_HANDLE_INVALID) {
            rv = CKR_OK; /* destroyed since the scan */
        } else if (rv != CKR_OK) {
            break;
        } else if (!list_add(&ix->ents, &e)) {
            OPENSSL_free(e.mem);
            rv = CKR_HOST_MEMORY;
            break;
        }
        ix->next++;
    } while (hsmkey_index_clock() < job->deadline);
    return rv;
}

void hsmkey_index_release(struct hsmkey_index *ix,
                          struct hsmkey_index_job *job)
{
    unsigned long long took = hsmkey_index_clock() - job->start;
    unsigned long long spent = 0;
    unsigned installments = 0;
    size_t n = 0;
    int done = 0;

    pthread_mutex_lock(&ix->lock);
    ix->building = 0;
    if (job->gen != ix->gen) {
        build_clear(ix); /* dropped meanwhile: what was read is stale */
    } else {
        ix->installments++;
        ix->spent_ns += took;
        if (ix->scanned && ix->next == ix->nunread) {
            OPENSSL_free(ix->unread);
            ix->unread = NULL;
            ix->nunread = ix->next = 0;
            ix->complete = done = 1;
            n = ix->ents.n;
            installments = ix->installments;
            spent = ix->spent_ns;
        }
    }
    pthread_mutex_unlock(&ix->lock);
    if (done)
        hsmkey_debug("index", "token '%s': index of %zu object(s) complete "
                     "(%u installment(s), %.1f ms)", ix->label, n,
                     installments, spent / 1e6);
}

/* ---- objects a real search found that the index did not answer ---- */

/* ix->lock held; e's memory moves into the index (or is freed).  0: out
 * of memory, the index dropped. */
static int merge_locked(struct hsmkey_index *ix, struct ix_entry *e)
{
    for (size_t i = 0; i < ix->ents.n; i++) {
        if (ix->ents.e[i].h == e->h) {
            OPENSSL_free(ix->ents.e[i].mem);
            ix->ents.e[i] = *e;
            return 1;
        }
    }
    if (!list_add(&ix->ents, e)) {
        OPENSSL_free(e->mem);
        forget_locked(ix); /* incomplete now: it must not answer */
        return 0;
    }
    return 1;
}

CK_RV hsmkey_index_extend(struct hsmkey_index *ix, unsigned long gen,
                          CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                          const CK_OBJECT_HANDLE *handles, CK_ULONG n)
{
    struct ix_list add = { NULL, 0, 0 };
    CK_RV rv = CKR_OK;

    for (CK_ULONG i = 0; i < n; i++) {
        struct ix_entry e;

        rv = read_entry(fn, s, handles[i], &e);
        if (rv == CKR_OBJECT_HANDLE_INVALID) {
            rv = CKR_OK;
            continue;
        }
        if (rv == CKR_OK && !list_add(&add, &e)) {
            OPENSSL_free(e.mem);
            rv = CKR_HOST_MEMORY;
        }
        if (rv != CKR_OK)
            break;
    }
    pthread_mutex_lock(&ix->lock);
    if (rv != CKR_OK) {
        forget_locked(ix); /* an object it should hold is not read */
    } else if (ix->complete && !ix->building && ix->gen == gen) {
        size_t i = 0;

        while (i < add.n && merge_locked(ix, &add.e[i++]))
            ;
        /* Up to i merged (or freed); the rest are freed below. */
        if (i < add.n)
            memmove(add.e, add.e + i, (add.n - i) * sizeof(*add.e));
        add.n -= i;
    }
    pthread_mutex_unlock(&ix->lock);
    list_clear(&add);
    if (rv == CKR_OK && n > 0)
        hsmkey_debug("index", "token '%s': %lu object(s) found by searching "
                     "the token added to the index", ix->label,
                     (unsigned long)n);
    return rv;
}

/* ---- fork: the core's handlers hold the lock across fork() ---- */

void hsmkey_index_fork_prepare(struct hsmkey_index *ix)
{
    pthread_mutex_lock(&ix->lock);
}

void hsmkey_index_fork_parent(struct hsmkey_index *ix)
{
    pthread_mutex_unlock(&ix->lock);
}

/* The parent's handles go.  No installment was under way (they run under
 * the gate, closed at a fork), and none could go on here anyway: the
 * thread that would have ended it does not exist in the child. */
void hsmkey_index_fork_child(struct hsmkey_index *ix)
{
    ix->building = 0;
    forget_locked(ix);
    pthread_mutex_unlock(&ix->lock);
}
