/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signstream.c - a multi-part signature: C_SignInit, C_SignUpdate...,
 * C_SignFinal on one session that stays bound to the stream between calls.
 *
 * A key allowed only hash-and-sign mechanisms cannot sign a digest made in
 * software: the message itself goes to the token, piece by piece as the
 * application hands it over.  The session is lent from the pool for the
 * whole stream, but the module lock (core.h, ops_lock) is held only around
 * each token call: a stream left open must not keep the module from being
 * started over, nor keep its thread from taking other sessions.  The
 * token's generation tells whether the session survived in between.
 */
#include <openssl/crypto.h>

#include "core.h"

struct hsmkey_sign_stream {
    struct hsmkey_object *key;
    struct hsmkey_token *tok;
    CK_SESSION_HANDLE s;
    unsigned long gen;      /* token generation the session belongs to */
    CK_MECHANISM_TYPE mech; /* for messages */
    int active;             /* an operation is running on the session */
    int broken;             /* the session must be closed, not pooled */
};

/* Not a token answer: the failure was raised before the token was asked. */
#define STREAM_CKR_RAISED (CKR_VENDOR_DEFINED | 0x48534cUL)

static int token_lost(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT
           || rv == CKR_SLOT_ID_INVALID;
}

/* The token logged us out or forgot the key's handle: find it again. */
static int handle_lost(CK_RV rv)
{
    return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID
           || rv == CKR_USER_NOT_LOGGED_IN;
}

static void raise_call(const struct hsmkey_sign_stream *st, const char *call,
                       CK_RV rv)
{
    const char *m = hsmkey_ckm_name(st->mech);

    if (token_lost(rv))
        atomic_store(&st->tok->lost, 1); /* the next operation looks again */
    hsmkey_raise(rv == CKR_MECHANISM_INVALID ? HSMKEY_R_UNSUPPORTED
                                             : HSMKEY_R_PKCS11,
                 "%s: %s(%s): %s", hsmkey_object_desc(st->key), call,
                 m ? m : "mechanism", hsmkey_ckr_name(rv));
}

/* Note what the answer says about the session. */
static void note(struct hsmkey_sign_stream *st, CK_RV rv)
{
    if (hsmkey_session_lost(rv) || token_lost(rv))
        st->broken = 1;
}

/* One try at C_SignInit on a session taken from the pool. */
static CK_RV start(struct hsmkey_sign_stream *st, const CK_MECHANISM *mech,
                   const char **failed)
{
    CK_OBJECT_HANDLE h;
    CK_RV rv;

    *failed = "C_SignInit";
    if (!hsmkey_object_handle(st->key, &h)
        || !hsmkey_token_session_get(st->tok, &st->s))
        return STREAM_CKR_RAISED;
    /* The session was lent in this generation: the module lock is held
     * from the pool's get on, so the token cannot start over meanwhile. */
    st->gen = hsmkey_token_gen(st->tok);
    st->broken = 0;
    hsmkey_err_set_mark();
    rv = st->tok->fn->C_SignInit(st->s, (CK_MECHANISM *)mech, h);
    st->active = rv == CKR_OK;
    if (rv == CKR_OK) {
        rv = hsmkey_object_context_login(st->key, st->s);
        if (rv != CKR_OK)
            *failed = "C_Login(CKU_CONTEXT_SPECIFIC)";
    }
    hsmkey_err_pop_to_mark();
    note(st, rv);
    if (rv == CKR_OK) {
        pthread_rwlock_unlock(&st->tok->core->ops_lock); /* see the top */
        return CKR_OK;
    }
    /* An operation left running makes the session unfit for the pool. */
    hsmkey_token_session_put(st->tok, st->s, st->broken || st->active);
    st->active = 0;
    return rv;
}

static void stream_free(struct hsmkey_sign_stream *st)
{
    hsmkey_object_free(st->key);
    OPENSSL_free(st);
}

struct hsmkey_sign_stream *hsmkey_sign_begin(struct hsmkey_object *key,
                                             const CK_MECHANISM *mech)
{
    struct hsmkey_sign_stream *st;
    const char *failed;
    CK_RV rv;

    hsmkey_return_val_if_fail(key != NULL && mech != NULL, NULL);
    if ((st = OPENSSL_zalloc(sizeof(*st))) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    st->key = hsmkey_object_ref(key);
    st->tok = hsmkey_object_token(key);
    st->mech = mech->mechanism;
    if (!hsmkey_object_has_mechanism(key, mech->mechanism)) {
        const char *m = hsmkey_ckm_name(mech->mechanism);

        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: the token does not offer %s",
                     hsmkey_object_desc(key), m ? m : "this mechanism");
        goto err;
    }
    rv = start(st, mech, &failed);
    if (hsmkey_session_lost(rv) || handle_lost(rv)) {
        if (handle_lost(rv)) {
            hsmkey_token_forget_login(st->tok);
            hsmkey_object_invalidate(key);
            if (!hsmkey_token_login(st->tok, NULL))
                goto err;
        }
        rv = start(st, mech, &failed);
    }
    if (rv == CKR_OK)
        return st;
    if (rv != STREAM_CKR_RAISED)
        raise_call(st, failed, rv);
err:
    stream_free(st);
    return NULL;
}

/* The module lock for one token call, if the session is still there. */
static int enter(struct hsmkey_sign_stream *st)
{
    pthread_rwlock_rdlock(&st->tok->core->ops_lock);
    if (hsmkey_token_gen(st->tok) == st->gen)
        return 1;
    pthread_rwlock_unlock(&st->tok->core->ops_lock);
    st->active = 0;
    hsmkey_raise(HSMKEY_R_PKCS11, "%s: the token was started over during a "
                 "multi-part signature", hsmkey_object_desc(st->key));
    return 0;
}

static int usable(struct hsmkey_sign_stream *st)
{
    if (st->active)
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: the multi-part signature "
                 "already failed", hsmkey_object_desc(st->key));
    return 0;
}

int hsmkey_sign_update(struct hsmkey_sign_stream *st, const unsigned char *in,
                       size_t inlen)
{
    CK_RV rv;

    hsmkey_return_val_if_fail(st != NULL && (in != NULL || inlen == 0), 0);
    if (!usable(st) || !enter(st))
        return 0;
    hsmkey_err_set_mark();
    rv = st->tok->fn->C_SignUpdate(st->s, (CK_BYTE *)in, inlen);
    hsmkey_err_pop_to_mark();
    pthread_rwlock_unlock(&st->tok->core->ops_lock);
    note(st, rv);
    if (rv == CKR_OK)
        return 1;
    st->active = 0; /* a failed C_SignUpdate ends the operation */
    raise_call(st, "C_SignUpdate", rv);
    return 0;
}

/* Give the session back (module lock held: the pool's put releases it). */
static void end_locked(struct hsmkey_sign_stream *st)
{
    hsmkey_token_session_put(st->tok, st->s, st->broken || st->active);
    stream_free(st);
}

int hsmkey_sign_final(struct hsmkey_sign_stream *st, unsigned char *out,
                      size_t *outlen)
{
    CK_ULONG len;
    CK_RV rv;
    int ok = 0;

    hsmkey_return_val_if_fail(st != NULL && out != NULL && outlen != NULL, 0);
    if (!usable(st) || !enter(st)) {
        pthread_rwlock_rdlock(&st->tok->core->ops_lock);
        end_locked(st);
        return 0;
    }
    len = *outlen;
    hsmkey_err_set_mark();
    rv = st->tok->fn->C_SignFinal(st->s, out, &len);
    hsmkey_err_pop_to_mark();
    /* Only a size answer leaves the operation running. */
    st->active = rv == CKR_BUFFER_TOO_SMALL;
    note(st, rv);
    if (rv == CKR_OK) {
        *outlen = len;
        ok = 1;
    } else {
        raise_call(st, "C_SignFinal", rv);
    }
    end_locked(st);
    return ok;
}

void hsmkey_sign_abort(struct hsmkey_sign_stream *st)
{
    if (st == NULL)
        return;
    pthread_rwlock_rdlock(&st->tok->core->ops_lock);
    end_locked(st);
}
