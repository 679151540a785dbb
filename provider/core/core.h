/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core.h - internals shared by the files of the PKCS#11 core (not a public
 * header: the core's promises are in include/hsmkey/p11.h).
 */
#ifndef HSMKEY_CORE_INTERNAL_H
#define HSMKEY_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "hsmkey/p11.h"
#include "hsmkey/err.h"
#include "hsmkey/ckr.h"

struct hsmkey_core {
    char *module_path; /* NULL: every module registered with p11-kit */
    char *pin_source;  /* configuration's pin-source, may be NULL */
    char *init_args;   /* C_Initialize pReserved of a module by path */
    hsmkey_notice_fn *notice; /* told when a registered module is skipped */
    void *notice_arg;
    hsmkey_pin_prompt_fn *prompt;
    void *prompt_arg;

    pthread_mutex_t lock; /* init state, module list, token list */
    /*
     * Held for reading while a thread uses the module (from taking a
     * session to giving it back), for writing to C_Finalize it: a module
     * must never be finalized under another thread's C_Sign.
     */
    pthread_rwlock_t ops_lock;
    CK_FUNCTION_LIST **modules; /* NULL-terminated; NULL until first use */
    /* Registered modules that failed to start (modstart.c): loaded, not
     * in modules, released with the core. */
    struct hsmkey_skipped *skipped;
    size_t nskipped;
    /* Fork generation the modules were initialized in (0: never). */
    atomic_ulong ready_gen;

    struct hsmkey_token **tokens;
    size_t ntokens;

    /* Bumped whenever any token starts over: invalidates cached searches. */
    atomic_ulong changes;
    struct hsmkey_cache *cache;
    int session_copies; /* sign with session-object copies (keycopy.c) */
    long last_restart;  /* ms, CLOCK_MONOTONIC (module.c) */
};

struct hsmkey_token {
    struct hsmkey_core *core;
    CK_FUNCTION_LIST *fn;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
    CK_SLOT_INFO slot_info;
    CK_INFO module_info;
    char label[33]; /* info.label without its blank padding */
    int present;

    /* Bumped whenever the token's sessions, handles and login became
     * invalid: module re-initialized (fork), token removed or re-inserted. */
    atomic_ulong gen;
    atomic_int lost; /* the token said it is gone: look again before use */
    atomic_int recoveries; /* since the last operation that worked */
    atomic_int device_errors; /* CKR_DEVICE_ERROR in a row */
    pthread_mutex_t recover_lock; /* one recovery at a time */

    pthread_mutex_t lock;   /* pool, login state, mechanism cache */
    CK_SESSION_HANDLE *pool;
    size_t npool, cappool;
    unsigned long pool_gen;
    /* Sessions handed out, with the generation each belongs to, so one
     * from before the token started over never comes back into the pool. */
    struct hsmkey_lent *lent;
    size_t nlent, caplent;

    pthread_mutex_t login_lock; /* one C_Login at a time; no prompt inside */
    unsigned long login_gen;    /* gen of the successful login, 0: none */
    char *login_source;         /* pin source that worked, for re-login */
    unsigned char bad_pin[32];  /* salted SHA-256 of a refused PIN */
    unsigned char pin_salt[16];
    int has_bad_pin;

    CK_MECHANISM_TYPE *mechs;
    CK_ULONG nmechs;
    int mechs_loaded;

    /* keycopy.c: the session that holds session-object copies of keys */
    CK_SESSION_HANDLE keeper;
    unsigned long keeper_gen;
    /* SoftHSM2's C_CopyObject makes the copy with all of the original's
     * attributes, CKA_TOKEN true included, and only then applies ours: a
     * search running meanwhile sees two token keys with one id.  Searches
     * hold this shared, a copy holds it alone. */
    pthread_rwlock_t copy_lock;
};

/* module.c */
unsigned long hsmkey_fork_generation(void);
int hsmkey_process_exiting(void);
/* Initialize (or re-initialize after fork) the modules and scan tokens. */
int hsmkey_core_ensure(struct hsmkey_core *core);
/* C_Finalize + C_Initialize now (rate-limited): 1 when it worked. */
int hsmkey_core_restart(struct hsmkey_core *core);
static inline unsigned long hsmkey_token_gen(struct hsmkey_token *tok)
{
    return atomic_load(&tok->gen);
}

/* modstart.c */
/* C_Initialize of one module; init_args (may be NULL) as pReserved. */
CK_RV hsmkey_module_initialize(CK_FUNCTION_LIST *mod, const char *init_args);
/* p11-kit's configuration of the module says "critical: yes". */
int hsmkey_module_is_critical(CK_FUNCTION_LIST *mod);
/*
 * C_Initialize every module of core->modules (core->lock held), with
 * core->init_args for a module named by path.  A registered module that
 * fails and is not critical is moved out of core->modules into
 * core->skipped (core->notice is told); any other failure is raised and
 * the modules already started are finalized again.
 */
int hsmkey_modules_start(struct hsmkey_core *core);
/* Forget the skipped modules; release: p11_kit_module_release each. */
void hsmkey_modules_release_skipped(struct hsmkey_core *core, int release);

/* token.c */
/* NUL bytes in the token's padded strings read as blanks (tpm2-pkcs11). */
void hsmkey_token_info_normalize(CK_TOKEN_INFO *info);
/*
 * (Re)discover the tokens of the started modules; core->lock held.
 * reset_all: every token starts over (after a module re-initialization);
 * else only tokens that appeared, moved or vanished do.
 */
int hsmkey_token_scan(struct hsmkey_core *core, int reset_all);
/* Forget sessions (closing them if close_sessions), handles and login. */
void hsmkey_token_reset(struct hsmkey_token *tok, int close_sessions);
/* After the token said it was removed: start it over and look again;
 * 1 when it is present again.  gen: the generation the failure was seen
 * in; when the token has started over since, that already happened. */
int hsmkey_token_recover(struct hsmkey_token *tok, unsigned long gen);
struct hsmkey_token *hsmkey_token_new(struct hsmkey_core *core,
                                      CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                                      const CK_TOKEN_INFO *info);
void hsmkey_token_free(struct hsmkey_token *tok);
int hsmkey_token_needs_login(struct hsmkey_token *tok);
int hsmkey_token_is_logged_in(struct hsmkey_token *tok);
void hsmkey_token_forget_login(struct hsmkey_token *tok);

/* keycopy.c: a session-object copy of a private key (0: use the original);
 * dropping it is a no-op once the token started over. */
int hsmkey_token_copy_key(struct hsmkey_token *tok, CK_OBJECT_HANDLE key,
                          CK_OBJECT_HANDLE *copy);
void hsmkey_token_drop_copy(struct hsmkey_token *tok, CK_OBJECT_HANDLE copy,
                            unsigned long gen);

struct hsmkey_lent {
    CK_SESSION_HANDLE s;
    unsigned long gen;
};

/* session.c: empty the pool; close_sessions: C_CloseSession each first. */
void hsmkey_token_pool_reset(struct hsmkey_token *tok, int close_sessions);

/* attrs.c: the attributes worth caching of object h, their values
 * allocated, appended to attrs (at most cap); 0 only when out of memory. */
int hsmkey_attrs_read(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                      CK_OBJECT_HANDLE h, CK_ATTRIBUTE *attrs, size_t cap,
                      CK_ULONG *nattrs);

/* object.c */
struct hsmkey_object *hsmkey_object_new(struct hsmkey_token *tok,
                                        CK_SESSION_HANDLE s,
                                        CK_OBJECT_HANDLE h);
/* Forget obj's handle: the token refused it. */
void hsmkey_object_invalidate(struct hsmkey_object *obj);
/* A current handle for obj: re-found by class/type/id/label after re-init. */
int hsmkey_object_handle(struct hsmkey_object *obj, CK_OBJECT_HANDLE *out);

/* The public key or certificate seen beside a private key (a reference). */
void hsmkey_object_set_partner(struct hsmkey_object *obj,
                               struct hsmkey_object *partner);
struct hsmkey_object *hsmkey_object_get_partner(struct hsmkey_object *obj);

/* The object's public key cache: set (if not yet set) and get a reference. */
EVP_PKEY *hsmkey_object_cached_pub(struct hsmkey_object *obj, EVP_PKEY *set);

/* ecrecover.c: the uncompressed public point of an EC private key (curve:
 * OpenSSL's short name) from two ECDSA signatures it makes; *outlen is the
 * buffer size on entry. */
int hsmkey_ec_recover_point(struct hsmkey_object *key, const char *curve,
                            unsigned char *out, size_t *outlen);

/* cache.c: URI search results, valid while core->changes is unchanged. */
struct hsmkey_cache;
struct hsmkey_cache *hsmkey_cache_new(void);
void hsmkey_cache_free(struct hsmkey_cache *c);
int hsmkey_cache_get(struct hsmkey_cache *c, const char *uri,
                     CK_OBJECT_CLASS cls, unsigned long stamp,
                     struct hsmkey_object ***objs, size_t *n);
void hsmkey_cache_put(struct hsmkey_cache *c, const char *uri,
                      CK_OBJECT_CLASS cls, unsigned long stamp,
                      struct hsmkey_object **objs, size_t n);

/*
 * find.c: the C_FindObjects template for a URI: CKA_CLASS *cls first (it
 * must outlive the template), CKA_TOKEN true, then the URI's object
 * attributes (label, id); at most 8 entries.  0 when the URI's type= names
 * another class.
 */
int hsmkey_uri_template(P11KitUri *uri, CK_OBJECT_CLASS *cls,
                        CK_ATTRIBUTE *tmpl, CK_ULONG *ntmpl);

/* find.c: handles of objects matching a template on one token; CKR_OK,
 * or the failing call's CK_RV after raising. */
CK_RV hsmkey_token_find_handles(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                                CK_ATTRIBUTE *tmpl, CK_ULONG ntmpl,
                                CK_OBJECT_HANDLE **handles, CK_ULONG *count);

/* The session is dead (the token said so): it must not go back to the pool */
static inline int hsmkey_session_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED;
}


/* Copy a blank-padded PKCS#11 string into a NUL-terminated one. */
void hsmkey_p11_string(char *dst, size_t dstlen, const CK_UTF8CHAR *src,
                       size_t srclen);

#endif
