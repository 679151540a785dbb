/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signstream.c - a multi-part signature: C_SignInit, C_SignUpdate...,
 * C_SignFinal on one session that stays bound to the stream between calls.
 *
 * A key allowed only hash-and-sign mechanisms cannot sign a digest made in
 * software: the message itself goes to the token, piece by piece as the
 * application hands it over.  The session is leased from the pool for the
 * whole stream, but the gate is held only around each token call (a
 * stream left open must not keep the modules from starting over, nor a
 * fork from going ahead); the session's epoch tells whether it survived in
 * between.  Only C_SignInit is repeated after a recovery (the runner,
 * operation.c): once data went to the token, a lost session fails the
 * stream.
 */
#include <openssl/crypto.h>

#include "core.h"

struct hsmkey_sign_stream {
    struct hsmkey_object *key;
    struct hsmkey_token *tok;
    struct hsmkey_session *s; /* leased from begin to final or abort */
    CK_MECHANISM_TYPE mech;   /* for messages */
    struct hsmkey_pin *context_pin;
    int active;               /* an operation runs on the session */
    int lost;                 /* the token said the session is gone */
};

static CK_RV begin_body(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                        CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    struct hsmkey_sign_stream *st = w->arg;
    CK_RV rv;

    w->failed = "C_SignInit";
    if ((rv = fn->C_SignInit(s, w->mech, h)) != CKR_OK)
        return rv;
    if (st->context_pin != NULL) {
        w->failed = "C_Login(CKU_CONTEXT_SPECIFIC)";
        rv = fn->C_Login(s, CKU_CONTEXT_SPECIFIC,
                         (CK_UTF8CHAR *)hsmkey_pin_data(st->context_pin),
                         hsmkey_pin_len(st->context_pin));
        w->active = rv != CKR_OK;
    }
    return rv;
}

static void stream_free(struct hsmkey_sign_stream *st)
{
    hsmkey_pin_free(st->context_pin);
    hsmkey_object_free(st->key);
    OPENSSL_free(st);
}

struct hsmkey_sign_stream *hsmkey_sign_begin(struct hsmkey_object *key,
                                             const CK_MECHANISM *mech)
{
    struct hsmkey_sign_stream *st;
    struct hsmkey_work w = { 0 };

    hsmkey_return_val_if_fail(key != NULL && mech != NULL, NULL);
    if ((st = OPENSSL_zalloc(sizeof(*st))) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    st->key = hsmkey_object_ref(key);
    st->tok = hsmkey_object_token(key);
    st->mech = mech->mechanism;
    if (hsmkey_object_always_authenticate(key)
        && (st->context_pin = hsmkey_token_context_pin(st->tok)) == NULL) {
        hsmkey_raise(HSMKEY_R_LOGIN, "%s needs the PIN for every "
                     "signature (CKA_ALWAYS_AUTHENTICATE) and no PIN source "
                     "gives it", hsmkey_object_desc(key));
        goto err;
    }
    w.tok = st->tok;
    w.key = key;
    w.mech = (CK_MECHANISM *)mech;
    w.body = begin_body;
    w.arg = st;
    w.keep = &st->s;
    if (!hsmkey_work_run(&w))
        goto err;
    st->active = 1;
    return st;
err:
    stream_free(st);
    return NULL;
}

static void raise_call(const struct hsmkey_sign_stream *st, const char *call,
                       CK_RV rv)
{
    const char *m = hsmkey_ckm_name(st->mech);

    hsmkey_raise(rv == CKR_MECHANISM_INVALID ? HSMKEY_R_UNSUPPORTED
                                             : HSMKEY_R_PKCS11,
                 "%s: %s(%s): %s", hsmkey_object_desc(st->key), call,
                 m ? m : "mechanism",
                 rv == HSMKEY_CKR_STALE ? "the token started over meanwhile"
                                        : hsmkey_ckr_name(rv));
}

static int usable(const struct hsmkey_sign_stream *st)
{
    if (st->active)
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: the multi-part signature "
                 "already failed", hsmkey_object_desc(st->key));
    return 0;
}

/* What a call's answer means for the stream and the token. */
static void note(struct hsmkey_sign_stream *st, CK_RV rv, int still_active)
{
    enum hsmkey_loss loss = hsmkey_ckr_loss(rv);

    st->active = still_active;
    st->lost |= loss == HSMKEY_LOST_SESSION || loss == HSMKEY_LOST_TOKEN;
    if (rv != HSMKEY_CKR_STALE)
        hsmkey_token_note(st->tok, rv);
}

int hsmkey_sign_update(struct hsmkey_sign_stream *st, const unsigned char *in,
                       size_t inlen)
{
    struct hsmkey_pool *pool;
    struct hsmkey_fence fence;
    CK_RV rv;

    hsmkey_return_val_if_fail(st != NULL && (in != NULL || inlen == 0), 0);
    if (!usable(st))
        return 0;
    pool = hsmkey_token_pool(st->tok);
    hsmkey_call_begin(hsmkey_token_gate(st->tok), &fence);
    rv = !hsmkey_session_current(pool, st->s)
             ? HSMKEY_CKR_STALE
             : hsmkey_token_fn(st->tok)->C_SignUpdate(
                   hsmkey_session_handle(st->s), (CK_BYTE *)in, inlen);
    hsmkey_call_end(hsmkey_token_gate(st->tok), &fence);
    /* A failed C_SignUpdate ends the operation (PKCS#11 5.12). */
    note(st, rv, rv == CKR_OK);
    if (rv != CKR_OK)
        raise_call(st, "C_SignUpdate", rv);
    return rv == CKR_OK;
}

/* Give the session back: kept when nothing runs on it, closed when an
 * operation is left active, forgotten when the token dropped it. */
static void stream_end(struct hsmkey_sign_stream *st)
{
    hsmkey_pool_release(hsmkey_token_pool(st->tok), st->s,
                        st->lost ? HSMKEY_RELEASE_LOST
                        : st->active ? HSMKEY_RELEASE_CLOSE
                                     : HSMKEY_RELEASE_KEEP);
    stream_free(st);
}

int hsmkey_sign_final(struct hsmkey_sign_stream *st, unsigned char *out,
                      size_t *outlen)
{
    struct hsmkey_pool *pool;
    struct hsmkey_fence fence;
    CK_ULONG len;
    CK_RV rv;

    hsmkey_return_val_if_fail(st != NULL && out != NULL && outlen != NULL, 0);
    if (!usable(st)) {
        stream_end(st);
        return 0;
    }
    pool = hsmkey_token_pool(st->tok);
    len = *outlen;
    hsmkey_call_begin(hsmkey_token_gate(st->tok), &fence);
    rv = !hsmkey_session_current(pool, st->s)
             ? HSMKEY_CKR_STALE
             : hsmkey_token_fn(st->tok)->C_SignFinal(
                   hsmkey_session_handle(st->s), out, &len);
    hsmkey_call_end(hsmkey_token_gate(st->tok), &fence);
    /* Only a size answer leaves the operation running. */
    note(st, rv, rv == CKR_BUFFER_TOO_SMALL);
    if (rv == CKR_OK)
        *outlen = len;
    else
        raise_call(st, "C_SignFinal", rv);
    stream_end(st);
    return rv == CKR_OK;
}

/* PKCS#11 2.40 cannot cancel a multi-part operation: a session with one
 * running is closed. */
void hsmkey_sign_abort(struct hsmkey_sign_stream *st)
{
    if (st != NULL)
        stream_end(st);
}
