/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core.h - what the files of the PKCS#11 core offer each other (not a
 * public header: the core's promises are in include/hsmkey/p11.h).
 *
 * Each file owns its struct; the others use its functions.  The files, in
 * the order they depend on each other (each uses only those above it):
 *
 *   call.c       the gate and the fence around every module call, and what
 *                a CK_RV says was lost
 *   module.c     the PKCS#11 modules of a core (p11-kit)
 *   pool.c       a token's bounded session pool; the object handles each
 *                session holds
 *   index.c      a token's objects by class, label and id, built in
 *                installments that the searches it saves pay for
 *   token.c      a token: identity, presence, health, login
 *   attrs.c      reading an object's attributes
 *   object.c     a found object; its handle in a session (token object or
 *                session-object copy)
 *   core.c       configuration, start, fork, restart, rescan, token list
 *   operation.c  running work on a token with recovery; sign, decrypt,
 *                derive; a session held across steps
 *   cache.c, find.c   objects by URI
 *   pubkey.c, slots.c, provision.c, keygen.c, import.c   built on those
 *
 * docs/DESIGN.md gives the model: the states of module, token, session and
 * handle, what fork, removal, session loss, logout and restart do to each,
 * and every lock with what it guards and the order they are taken in.
 */
#ifndef HSMKEY_CORE_INTERNAL_H
#define HSMKEY_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "hsmkey/p11.h"
#include "hsmkey/err.h"
#include "hsmkey/ckr.h"

#define HSMKEY_SESSION_WAIT_MS HSMKEY_DEFAULT_SESSION_WAIT_MS

/* Not a token answer: the failure was raised before the token was asked. */
#define HSMKEY_CKR_RAISED (CKR_VENDOR_DEFINED | 0x48534bUL)
/* A session of an epoch that has ended: as good as a lost session. */
#define HSMKEY_CKR_STALE (CKR_VENDOR_DEFINED | 0x48534cUL)
/* An object searched again is gone, or has twins. */
#define HSMKEY_CKR_NOT_UNIQUE (CKR_VENDOR_DEFINED | 0x48534dUL)

/* The configuration of a core: set before its first use, then read-only. */
struct hsmkey_settings {
    char *module_path; /* NULL: every module registered with p11-kit */
    char *init_args;   /* C_Initialize pReserved of module_path's module */
    hsmkey_notice_fn *notice; /* told when a registered module is skipped */
    void *notice_arg;
    hsmkey_enter_fn *enter;   /* at every entry into token work */
    void *enter_arg;
    char *pin_source;  /* the configuration's pin-source, may be NULL */
    hsmkey_pin_prompt_fn *prompt;
    void *prompt_arg;
    enum hsmkey_copies session_copies;
    unsigned long max_sessions; /* 0: the token's own limit */
    long session_wait_ms;
};

/* ---- call.c ---- */

struct hsmkey_gate {
    pthread_rwlock_t lock;
};

struct hsmkey_fence {
    int saved_errno;
};

void hsmkey_gate_init(struct hsmkey_gate *g);
void hsmkey_gate_destroy(struct hsmkey_gate *g);
/* Lifecycle work: wait until no module call is under way, keep new ones
 * out until reopened. */
void hsmkey_gate_close(struct hsmkey_gate *g);
void hsmkey_gate_reopen(struct hsmkey_gate *g);
void hsmkey_gate_close_for_fork(struct hsmkey_gate *g);
void hsmkey_gate_reopen_after_fork(struct hsmkey_gate *g);
void hsmkey_gate_reopen_in_child(struct hsmkey_gate *g);
/* Reading what lifecycle work writes, calling no module: shared. */
void hsmkey_gate_share(struct hsmkey_gate *g);
void hsmkey_gate_unshare(struct hsmkey_gate *g);
/* A sequence of module calls: the gate shared, the fence up. */
void hsmkey_call_begin(struct hsmkey_gate *g, struct hsmkey_fence *f);
void hsmkey_call_end(struct hsmkey_gate *g, struct hsmkey_fence *f);
/* The fence alone, for lifecycle work that holds the gate closed. */
void hsmkey_fence_begin(struct hsmkey_fence *f);
void hsmkey_fence_end(struct hsmkey_fence *f);
/* > 0 while this thread is inside a module call or lifecycle work. */
int hsmkey_call_depth(void);

enum hsmkey_loss {
    HSMKEY_LOST_NOTHING,
    HSMKEY_LOST_SESSION, /* that session is dead */
    HSMKEY_LOST_LOGIN,   /* logged out, or private handles dropped */
    HSMKEY_LOST_TOKEN,   /* removed, or its device unreachable */
};
enum hsmkey_loss hsmkey_ckr_loss(CK_RV rv);

/* ---- module.c (callers hold the gate closed) ---- */

struct hsmkey_modules;
struct hsmkey_modules *hsmkey_modules_load(const struct hsmkey_settings *set);
int hsmkey_modules_initialize(struct hsmkey_modules *m);
void hsmkey_modules_finalize(struct hsmkey_modules *m);
void hsmkey_modules_release(struct hsmkey_modules *m);
void hsmkey_modules_raise_skipped(const struct hsmkey_modules *m);
/* At exit, or in a child of the process that started them. */
void hsmkey_modules_forget(struct hsmkey_modules *m);
size_t hsmkey_modules_count(const struct hsmkey_modules *m);
CK_FUNCTION_LIST *hsmkey_modules_get(const struct hsmkey_modules *m,
                                     size_t i);
const char *hsmkey_modules_name(const struct hsmkey_modules *m,
                                CK_FUNCTION_LIST *fn);
const char *hsmkey_modules_path(const struct hsmkey_modules *m,
                                CK_FUNCTION_LIST *fn);

/* ---- pool.c ---- */

struct hsmkey_pool;
struct hsmkey_session;

enum hsmkey_release {
    HSMKEY_RELEASE_KEEP,  /* back into the pool */
    HSMKEY_RELEASE_CLOSE, /* alive but unusable (an operation left active) */
    HSMKEY_RELEASE_LOST,  /* the token said it is gone: forget it */
};

struct hsmkey_pool *hsmkey_pool_new(CK_FUNCTION_LIST *fn,
                                    struct hsmkey_gate *gate,
                                    const char *label);
void hsmkey_pool_free(struct hsmkey_pool *p);
void hsmkey_pool_configure(struct hsmkey_pool *p, CK_SLOT_ID slot,
                           const CK_TOKEN_INFO *info, unsigned long cap,
                           long wait_ms);
unsigned long hsmkey_pool_epoch(const struct hsmkey_pool *p);
CK_RV hsmkey_pool_lease(struct hsmkey_pool *p, int rw,
                        struct hsmkey_session **out);
void hsmkey_pool_release(struct hsmkey_pool *p, struct hsmkey_session *s,
                         enum hsmkey_release how);
/* The gate is closed. */
void hsmkey_pool_reset(struct hsmkey_pool *p, int close_old, int forked);
void hsmkey_pool_stats(struct hsmkey_pool *p, unsigned long *open,
                       unsigned long *idle, unsigned long *copies,
                       unsigned long *max);
void hsmkey_pool_fork_prepare(struct hsmkey_pool *p);
void hsmkey_pool_fork_parent(struct hsmkey_pool *p);
void hsmkey_pool_fork_child(struct hsmkey_pool *p);

CK_SESSION_HANDLE hsmkey_session_handle(const struct hsmkey_session *s);
unsigned long hsmkey_session_epoch(const struct hsmkey_session *s);
int hsmkey_session_rw(const struct hsmkey_session *s);
/* Under the gate: s belongs to the pool's current epoch. */
int hsmkey_session_current(const struct hsmkey_pool *p,
                           const struct hsmkey_session *s);

int hsmkey_pool_slot_new(struct hsmkey_pool *p, CK_OBJECT_HANDLE h,
                         unsigned long epoch, size_t *slot,
                         unsigned long *serial);
void hsmkey_pool_slot_free(struct hsmkey_pool *p, size_t slot);
unsigned long hsmkey_pool_slot_renew(struct hsmkey_pool *p, size_t slot);
int hsmkey_pool_slot_handle(struct hsmkey_pool *p, size_t slot,
                            unsigned long serial, unsigned long epoch,
                            CK_OBJECT_HANDLE *h, int *copies);
void hsmkey_pool_slot_set_handle(struct hsmkey_pool *p, size_t slot,
                                 unsigned long serial, unsigned long epoch,
                                 CK_OBJECT_HANDLE h);
void hsmkey_pool_slot_no_copies(struct hsmkey_pool *p, size_t slot,
                                CK_RV rv);
void hsmkey_pool_count_copies(struct hsmkey_pool *p, unsigned long epoch,
                              long delta);
int hsmkey_session_get_handle(const struct hsmkey_session *s, size_t slot,
                              unsigned long serial, CK_OBJECT_HANDLE *h);
int hsmkey_session_set_handle(struct hsmkey_session *s, size_t slot,
                              unsigned long serial, CK_OBJECT_HANDLE h,
                              int copy, CK_OBJECT_HANDLE *old_copy);

/* ---- index.c: a token's objects by class, label and id ---- */

struct hsmkey_index;
/* The caller's record of an installment (index.c's fields). */
struct hsmkey_index_job {
    unsigned long gen;
    unsigned long long start, deadline; /* hsmkey_index_clock() */
};

struct hsmkey_index *hsmkey_index_new(const char *label);
void hsmkey_index_free(struct hsmkey_index *ix);
/* Forget everything: objects were made or destroyed here, a handle it gave
 * turned out stale, the token started over. */
void hsmkey_index_drop(struct hsmkey_index *ix);
/* Monotonic nanoseconds, what installments are measured in. */
unsigned long long hsmkey_index_clock(void);
/* tmpl holds only CKA_CLASS, CKA_LABEL, CKA_ID and CKA_TOKEN true. */
int hsmkey_index_covers(const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/*
 * The handles of the token objects matching tmpl, when the index is
 * complete for epoch and login state, knows enough to tell, and at least
 * one object matches need (tmpl or a narrower template): 1 with *handles
 * (the caller's).  0: search the token; then *gen, when not 0, is the
 * index's generation, to add what the search finds (hsmkey_index_extend).
 */
int hsmkey_index_lookup(struct hsmkey_index *ix, unsigned long epoch,
                        int logged_in, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG ntmpl, const CK_ATTRIBUTE *need,
                        CK_ULONG nneed, CK_OBJECT_HANDLE **handles,
                        CK_ULONG *count, unsigned long *gen);
/* A search the index would have answered took ns: what it may spend. */
void hsmkey_index_rent(struct hsmkey_index *ix, unsigned long epoch,
                       int logged_in, unsigned long long ns);
/*
 * An installment, in a body under the gate: claim returns 0 (nothing to
 * pay now), 1 (pay) or 2 (scan the token for its token objects first and
 * hand the handles over with hsmkey_index_scanned); pay reads objects
 * until the job's deadline; release ends the installment, whatever pay
 * returned (a loss, for the runner to repair).
 */
int hsmkey_index_claim(struct hsmkey_index *ix, unsigned long epoch,
                       int logged_in, struct hsmkey_index_job *job);
void hsmkey_index_scanned(struct hsmkey_index *ix,
                          struct hsmkey_index_job *job,
                          CK_OBJECT_HANDLE *handles, CK_ULONG n);
CK_RV hsmkey_index_pay(struct hsmkey_index *ix, struct hsmkey_index_job *job,
                       CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s);
void hsmkey_index_release(struct hsmkey_index *ix,
                          struct hsmkey_index_job *job);
/* Under the gate: the objects handles[n] a search found, read and added
 * when the index is still of generation gen. */
CK_RV hsmkey_index_extend(struct hsmkey_index *ix, unsigned long gen,
                          CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                          const CK_OBJECT_HANDLE *handles, CK_ULONG n);
void hsmkey_index_fork_prepare(struct hsmkey_index *ix);
void hsmkey_index_fork_parent(struct hsmkey_index *ix);
void hsmkey_index_fork_child(struct hsmkey_index *ix);

/* ---- token.c ---- */

struct hsmkey_token *hsmkey_token_new(struct hsmkey_core *core,
                                      const struct hsmkey_settings *set,
                                      struct hsmkey_gate *gate,
                                      CK_FUNCTION_LIST *fn,
                                      const char *module_name,
                                      const char *module_path);
void hsmkey_token_free(struct hsmkey_token *tok);
/* Identity and presence: written with the gate closed (core.c's scan). */
void hsmkey_token_update(struct hsmkey_token *tok, CK_SLOT_ID slot,
                         const CK_TOKEN_INFO *info,
                         const CK_SLOT_INFO *slot_info,
                         const CK_INFO *module_info);
int hsmkey_token_is(const struct hsmkey_token *tok, CK_FUNCTION_LIST *fn,
                    const CK_TOKEN_INFO *info);
int hsmkey_token_present(const struct hsmkey_token *tok);
void hsmkey_token_set_present(struct hsmkey_token *tok, int present);
CK_SLOT_ID hsmkey_token_slot_now(const struct hsmkey_token *tok);
void hsmkey_token_reset(struct hsmkey_token *tok, int close_old, int forked);
int hsmkey_token_matches(const struct hsmkey_token *tok, P11KitUri *uri);

struct hsmkey_core *hsmkey_token_core(const struct hsmkey_token *tok);
const struct hsmkey_settings *hsmkey_token_settings(
    const struct hsmkey_token *tok);
CK_FUNCTION_LIST *hsmkey_token_fn(const struct hsmkey_token *tok);
struct hsmkey_gate *hsmkey_token_gate(const struct hsmkey_token *tok);
struct hsmkey_pool *hsmkey_token_pool(const struct hsmkey_token *tok);
struct hsmkey_index *hsmkey_token_index(const struct hsmkey_token *tok);
unsigned long hsmkey_token_epoch(const struct hsmkey_token *tok);
void hsmkey_token_objects_lock(struct hsmkey_token *tok, int exclusive);
void hsmkey_token_objects_unlock(struct hsmkey_token *tok);
int hsmkey_token_copies_keys(const struct hsmkey_token *tok);

int hsmkey_token_lost(const struct hsmkey_token *tok);
void hsmkey_token_mark_lost(struct hsmkey_token *tok);
void hsmkey_token_note(struct hsmkey_token *tok, CK_RV rv);
int hsmkey_token_count_recovery(struct hsmkey_token *tok);

int hsmkey_token_has_mechanism(struct hsmkey_token *tok,
                               CK_MECHANISM_TYPE mech);
CK_RV hsmkey_token_mechanism_info(struct hsmkey_token *tok,
                                  CK_MECHANISM_TYPE mech,
                                  CK_MECHANISM_INFO *info);

int hsmkey_token_needs_login(const struct hsmkey_token *tok);
int hsmkey_token_is_logged_in(struct hsmkey_token *tok);
void hsmkey_token_forget_login(struct hsmkey_token *tok);
struct hsmkey_pin *hsmkey_token_context_pin(struct hsmkey_token *tok);
int hsmkey_token_login_prompt(struct hsmkey_token *tok, P11KitUri *uri,
                              hsmkey_pin_prompt_fn *fn, void *arg);

void hsmkey_token_fork_prepare(struct hsmkey_token *tok);
void hsmkey_token_fork_parent(struct hsmkey_token *tok);
void hsmkey_token_fork_child(struct hsmkey_token *tok);

/* ---- attrs.c (under the gate) ---- */

CK_RV hsmkey_attrs_read(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                        CK_OBJECT_HANDLE h, CK_ATTRIBUTE *attrs, size_t cap,
                        CK_ULONG *nattrs);

/* ---- object.c ---- */

/* Under the gate, in session s of epoch: NULL with *rv when it failed. */
struct hsmkey_object *hsmkey_object_new(struct hsmkey_token *tok,
                                        CK_FUNCTION_LIST *fn,
                                        CK_SESSION_HANDLE s,
                                        CK_OBJECT_HANDLE h,
                                        unsigned long epoch, CK_RV *rv);
CK_RV hsmkey_object_handle_in(struct hsmkey_object *obj, CK_FUNCTION_LIST *fn,
                              struct hsmkey_session *sess,
                              CK_OBJECT_HANDLE *out);
void hsmkey_object_invalidate(struct hsmkey_object *obj);
int hsmkey_object_always_authenticate(const struct hsmkey_object *obj);
void hsmkey_object_set_partner(struct hsmkey_object *obj,
                               struct hsmkey_object *partner);
struct hsmkey_object *hsmkey_object_get_partner(struct hsmkey_object *obj);
EVP_PKEY *hsmkey_object_cached_pub(struct hsmkey_object *obj, EVP_PKEY *set);

/* ---- core.c ---- */

unsigned long hsmkey_fork_generation(void);
int hsmkey_process_exiting(void);
/* Start the modules (or start over in a forked child); entry points. */
int hsmkey_core_ensure(struct hsmkey_core *core);
int hsmkey_core_recover(struct hsmkey_core *core, struct hsmkey_token *tok,
                        unsigned long epoch);
int hsmkey_core_rescan(struct hsmkey_core *core);
int hsmkey_core_slot_work(struct hsmkey_core *core, CK_SLOT_ID slot,
                          int (*work)(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                                      void *arg),
                          void *arg);
void hsmkey_core_forget_searches(struct hsmkey_core *core);
/* Name the modules that were skipped at start (an error each). */
void hsmkey_core_raise_skipped(struct hsmkey_core *core);
struct hsmkey_gate *hsmkey_core_gate(struct hsmkey_core *core);
const struct hsmkey_modules *hsmkey_core_modules(
    const struct hsmkey_core *core);
struct hsmkey_cache *hsmkey_core_cache(const struct hsmkey_core *core);
unsigned long hsmkey_core_changes(const struct hsmkey_core *core);

/* ---- operation.c ---- */

/* Work on a token: body runs on one leased session under the gate, the
 * key's handle in that session resolved first. */
struct hsmkey_work {
    struct hsmkey_token *tok;
    struct hsmkey_object *key; /* NULL: none */
    CK_MECHANISM *mech;        /* named in messages; may be NULL */
    int rw;                    /* needs a read/write session */
    int login;                 /* log in first */
    CK_RV (*body)(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                  CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key);
    void *arg;
    /* Not NULL: on success the session is not given back but handed over
     * here, its operation still active (a multi-part signature). */
    struct hsmkey_session **keep;
    /* Set by the runner and the body. */
    const char *failed;  /* the call that failed, for the message */
    int active;          /* the body left an operation active */
    unsigned long epoch; /* the session's */
};
/* 1, or 0 with the failure raised. */
int hsmkey_work_run(struct hsmkey_work *w);

/* A read/write session held across steps, each step under the gate. */
struct hsmkey_lease {
    struct hsmkey_token *tok;
    struct hsmkey_session *s;
    struct hsmkey_fence fence;
};
int hsmkey_lease_begin(struct hsmkey_lease *l, struct hsmkey_token *tok,
                       int rw);
CK_FUNCTION_LIST *hsmkey_lease_enter(struct hsmkey_lease *l,
                                     CK_SESSION_HANDLE *s);
void hsmkey_lease_leave(struct hsmkey_lease *l);
unsigned long hsmkey_lease_epoch(const struct hsmkey_lease *l);
void hsmkey_lease_end(struct hsmkey_lease *l, CK_RV last);

/* ---- cache.c: URI search results, valid while core changes stand ---- */

struct hsmkey_cache;
struct hsmkey_cache *hsmkey_cache_new(void);
void hsmkey_cache_free(struct hsmkey_cache *c);
int hsmkey_cache_get(struct hsmkey_cache *c, const char *uri,
                     CK_OBJECT_CLASS cls, unsigned long stamp,
                     struct hsmkey_object ***objs, size_t *n);
void hsmkey_cache_put(struct hsmkey_cache *c, const char *uri,
                      CK_OBJECT_CLASS cls, unsigned long stamp,
                      struct hsmkey_object **objs, size_t n);
void hsmkey_cache_fork_prepare(struct hsmkey_cache *c);
void hsmkey_cache_fork_parent(struct hsmkey_cache *c);
void hsmkey_cache_fork_child(struct hsmkey_cache *c);

/* ---- find.c ---- */

/*
 * The C_FindObjects template for a URI: CKA_CLASS *cls first (it must
 * outlive the template), then the URI's object attributes (label, id),
 * CKA_TOKEN true last; at most 8 entries.  0 when the URI's type= names
 * another class.
 */
int hsmkey_uri_template(P11KitUri *uri, CK_OBJECT_CLASS *cls,
                        CK_ATTRIBUTE *tmpl, CK_ULONG *ntmpl);
/* Under the gate, in session s: handles matching a template. */
CK_RV hsmkey_find_handles(struct hsmkey_token *tok, CK_FUNCTION_LIST *fn,
                          CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                          CK_ULONG ntmpl, CK_OBJECT_HANDLE **handles,
                          CK_ULONG *count);
/* Objects matching a template on one token (hsmkey_objects_free). */
int hsmkey_token_find(struct hsmkey_token *tok, CK_ATTRIBUTE *tmpl,
                      CK_ULONG ntmpl, struct hsmkey_object ***objs,
                      size_t *count);

/* ---- ecrecover.c ---- */

/* The uncompressed public point of an EC private key (curve: OpenSSL's
 * short name) from two ECDSA signatures it makes; *outlen is the buffer
 * size on entry. */
int hsmkey_ec_recover_point(struct hsmkey_object *key, const char *curve,
                            unsigned char *out, size_t *outlen);

/* NUL bytes in a token's padded strings read as blanks (tpm2-pkcs11). */
void hsmkey_token_info_normalize(CK_TOKEN_INFO *info);

/* Copy a blank-padded PKCS#11 string into a NUL-terminated one. */
void hsmkey_p11_string(char *dst, size_t dstlen, const CK_UTF8CHAR *src,
                       size_t srclen);

#endif
