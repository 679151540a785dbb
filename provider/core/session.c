/*
 * session.c - the per-token session pool.
 *
 * The pool lock guards only the array; sessions are opened, used and closed
 * outside it, so a slow token call never blocks another thread's get/put.
 * Sessions of an older token generation are forgotten: after a module
 * re-initialization their handles belong to a finalized module instance
 * (and may be reused by new sessions), so they are never closed then.
 */
#include <openssl/crypto.h>

#include "core.h"

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

static int pool_pop(struct hsmkey_token *tok, CK_SESSION_HANDLE *out)
{
    unsigned long gen = hsmkey_token_gen(tok);
    int found = 0;

    pthread_mutex_lock(&tok->lock);
    if (tok->pool_gen != gen) {
        tok->npool = 0;
        tok->pool_gen = gen;
    }
    if (tok->npool > 0) {
        *out = tok->pool[--tok->npool];
        found = 1;
    }
    pthread_mutex_unlock(&tok->lock);
    return found;
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
    rv = tok->fn->C_OpenSession(tok->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                NULL, NULL, out);
    if (rv == CKR_TOKEN_WRITE_PROTECTED)
        rv = tok->fn->C_OpenSession(tok->slot, CKF_SERIAL_SESSION, NULL, NULL,
                                    out);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED
        || rv == CKR_SLOT_ID_INVALID)
        atomic_store(&tok->lost, 1);
    if (rv != CKR_OK) {
        pthread_rwlock_unlock(&tok->core->ops_lock);
        hsmkey_raise(atomic_load(&tok->lost) ? HSMKEY_R_TOKEN_NOT_FOUND
                                             : HSMKEY_R_PKCS11,
                     "token '%s': C_OpenSession: %s", tok->label,
                     hsmkey_ckr_name(rv));
        return 0;
    }
    return 1;
}

static int pool_push(struct hsmkey_token *tok, CK_SESSION_HANDLE s)
{
    CK_SESSION_HANDLE *grown;
    int kept = 0;

    pthread_mutex_lock(&tok->lock);
    if (tok->pool_gen == hsmkey_token_gen(tok)) {
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
    } else {
        kept = 1; /* stale: forget it (see the header) */
    }
    pthread_mutex_unlock(&tok->lock);
    return kept;
}

void hsmkey_token_session_put(struct hsmkey_token *tok, CK_SESSION_HANDLE s,
                              int broken)
{
    if (!hsmkey_process_exiting() && (broken || !pool_push(tok, s)))
        tok->fn->C_CloseSession(s);
    pthread_rwlock_unlock(&tok->core->ops_lock);
}
