/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c - the per-token session pool.
 *
 * The pool lock guards only the arrays; sessions are opened, used and
 * closed outside it, so a slow token call never blocks another thread's
 * get/put.  Each session handed out is remembered with the token
 * generation it belongs to: one from before the token started over
 * (module re-initialized, token removed) is forgotten when it comes back,
 * never pooled and never closed - after a re-initialization its handle
 * number may already belong to a new session.
 */
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

void hsmkey_token_pool_reset(struct hsmkey_token *tok, int close_sessions)
{
    CK_SESSION_HANDLE *old = NULL;
    size_t n = 0;

    pthread_mutex_lock(&tok->lock);
    if (close_sessions && tok->npool > 0
        && (old = OPENSSL_memdup(tok->pool, tok->npool * sizeof(*old)))
               != NULL)
        n = tok->npool;
    tok->npool = 0;
    tok->pool_gen = hsmkey_token_gen(tok);
    pthread_mutex_unlock(&tok->lock);
    for (size_t i = 0; i < n; i++)
        tok->fn->C_CloseSession(old[i]);
    OPENSSL_free(old);
}

/* tok->lock held.  0 only when out of memory. */
static int lend_locked(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                       unsigned long gen)
{
    struct hsmkey_lent *grown;

    if (tok->nlent == tok->caplent) {
        size_t cap = tok->caplent ? tok->caplent * 2 : 8;

        if ((grown = OPENSSL_realloc(tok->lent, cap * sizeof(*grown))) == NULL)
            return 0;
        tok->lent = grown;
        tok->caplent = cap;
    }
    tok->lent[tok->nlent++] = (struct hsmkey_lent){ s, gen };
    return 1;
}

/* tok->lock held: the generation s was lent in (0: unknown), forgotten. */
static unsigned long unlend_locked(struct hsmkey_token *tok,
                                   CK_SESSION_HANDLE s)
{
    for (size_t i = tok->nlent; i-- > 0;) {
        if (tok->lent[i].s == s) {
            unsigned long gen = tok->lent[i].gen;

            tok->lent[i] = tok->lent[--tok->nlent];
            return gen;
        }
    }
    return 0;
}

static int pool_pop(struct hsmkey_token *tok, CK_SESSION_HANDLE *out)
{
    unsigned long gen = hsmkey_token_gen(tok);
    int found = 0;

    pthread_mutex_lock(&tok->lock);
    if (tok->pool_gen != gen) {
        tok->npool = 0;
        tok->pool_gen = gen;
    }
    if (tok->npool > 0 && lend_locked(tok, tok->pool[tok->npool - 1], gen)) {
        *out = tok->pool[--tok->npool];
        found = 1;
    }
    pthread_mutex_unlock(&tok->lock);
    return found;
}

static CK_RV open_session(struct hsmkey_token *tok, CK_SESSION_HANDLE *out)
{
    unsigned long gen = hsmkey_token_gen(tok);
    CK_SLOT_ID slot;
    CK_RV rv;
    int lent;
    size_t idle, out_now;

    pthread_mutex_lock(&tok->lock); /* a rescan may move the token */
    slot = tok->slot;
    pthread_mutex_unlock(&tok->lock);
    rv = tok->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                NULL, NULL, out);
    if (rv == CKR_TOKEN_WRITE_PROTECTED)
        rv = tok->fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
                                    out);
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&tok->lock);
    lent = lend_locked(tok, *out, gen);
    idle = tok->npool;
    out_now = tok->nlent;
    pthread_mutex_unlock(&tok->lock);
    if (!lent) {
        tok->fn->C_CloseSession(*out);
        return CKR_HOST_MEMORY;
    }
    hsmkey_debug("session", "token '%s': opened session %lu; the pool now "
                 "holds %zu idle and %zu lent out", tok->label,
                 (unsigned long)*out, idle, out_now);
    return CKR_OK;
}

int hsmkey_token_session_get(struct hsmkey_token *tok, CK_SESSION_HANDLE *out)
{
    CK_RV rv;

    if (!hsmkey_core_ensure(tok->core))
        return 0;
    /* Until the session is given back (see core.h, ops_lock). */
    pthread_rwlock_rdlock(&tok->core->ops_lock);
    if (pool_pop(tok, out))
        return 1;
    rv = open_session(tok, out);
    if (rv == CKR_OK)
        return 1;
    pthread_rwlock_unlock(&tok->core->ops_lock);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED
        || rv == CKR_SLOT_ID_INVALID)
        atomic_store(&tok->lost, 1);
    hsmkey_raise(atomic_load(&tok->lost) ? HSMKEY_R_TOKEN_NOT_FOUND
                                         : HSMKEY_R_PKCS11,
                 "token '%s': C_OpenSession: %s", tok->label,
                 hsmkey_ckr_name(rv));
    return 0;
}

/* 1: pooled; 0: the caller closes it; -1: forget it (older generation). */
static int pool_push(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                     int broken)
{
    unsigned long gen = hsmkey_token_gen(tok);
    CK_SESSION_HANDLE *grown;
    int kept = 0;

    pthread_mutex_lock(&tok->lock);
    if (unlend_locked(tok, s) != gen || tok->pool_gen != gen) {
        kept = -1;
    } else if (!broken) {
        if (tok->npool == tok->cappool) {
            size_t cap = tok->cappool ? tok->cappool * 2 : 8;

            grown = OPENSSL_realloc(tok->pool, cap * sizeof(*grown));
            if (grown != NULL) {
                tok->pool = grown;
                tok->cappool = cap;
            }
        }
        if (tok->npool < tok->cappool) {
            tok->pool[tok->npool++] = s;
            kept = 1;
        }
    }
    pthread_mutex_unlock(&tok->lock);
    return kept;
}

void hsmkey_token_session_put(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                              int broken)
{
    if (pool_push(tok, s, broken) == 0 && !hsmkey_process_exiting())
        tok->fn->C_CloseSession(s);
    pthread_rwlock_unlock(&tok->core->ops_lock);
}
