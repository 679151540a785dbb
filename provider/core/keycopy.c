/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keycopy.c - session-object copies of private keys.
 *
 * Tokens with a file store (SoftHSM2) re-read a token object on every use;
 * a session-object copy of the key (C_CopyObject with CKA_TOKEN false) is
 * signed with at the token's full speed.  The copy stays inside the token,
 * as sensitive and non-extractable as the original.  Copies live in one
 * "keeper" session per token that never goes back to the pool, since
 * closing the session that made a session object destroys it.  When the
 * token refuses to copy (CKA_COPYABLE false, no room), the token object is
 * used as it is.
 */
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

/* The token's keeper session for this generation; tok->lock held. */
static int keeper_locked(struct hsmkey_token *tok, CK_SESSION_HANDLE *out)
{
    unsigned long gen = hsmkey_token_gen(tok);

    if (tok->keeper_gen != gen) {
        if (tok->fn->C_OpenSession(tok->slot,
                                   CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                   NULL, &tok->keeper) != CKR_OK)
            return 0;
        tok->keeper_gen = gen;
    }
    *out = tok->keeper;
    return 1;
}

int hsmkey_token_copy_key(struct hsmkey_token *tok, CK_OBJECT_HANDLE key,
                          CK_OBJECT_HANDLE *copy)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = { { CKA_TOKEN, &no, sizeof(no) } };
    CK_SESSION_HANDLE s;
    CK_RV rv = CKR_SESSION_HANDLE_INVALID;

    if (!tok->core->session_copies)
        return 0;
    hsmkey_err_set_mark();
    pthread_rwlock_rdlock(&tok->core->ops_lock);
    pthread_mutex_lock(&tok->lock);
    if (keeper_locked(tok, &s)) {
        pthread_rwlock_wrlock(&tok->copy_lock);
        rv = tok->fn->C_CopyObject(s, key, tmpl, 1, copy);
        pthread_rwlock_unlock(&tok->copy_lock);
    }
    pthread_mutex_unlock(&tok->lock);
    pthread_rwlock_unlock(&tok->core->ops_lock);
    hsmkey_err_pop_to_mark();
    if (rv == CKR_OK)
        hsmkey_debug("copy", "token '%s': session-object copy of key %lu "
                     "made: %lu signs from now on", tok->label,
                     (unsigned long)key, (unsigned long)*copy);
    else
        hsmkey_debug("copy", "token '%s': C_CopyObject of key %lu: %s: the "
                     "token object signs", tok->label, (unsigned long)key,
                     hsmkey_ckr_name(rv));
    return rv == CKR_OK;
}

void hsmkey_token_drop_copy(struct hsmkey_token *tok, CK_OBJECT_HANDLE copy,
                            unsigned long gen)
{
    pthread_rwlock_rdlock(&tok->core->ops_lock);
    pthread_mutex_lock(&tok->lock);
    if (tok->keeper_gen == gen && gen == hsmkey_token_gen(tok)
        && !hsmkey_process_exiting())
        tok->fn->C_DestroyObject(tok->keeper, copy);
    pthread_mutex_unlock(&tok->lock);
    pthread_rwlock_unlock(&tok->core->ops_lock);
}

void hsmkey_core_set_session_copies(struct hsmkey_core *core, int on)
{
    core->session_copies = on != 0;
}
