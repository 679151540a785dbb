/* SPDX-License-Identifier: Apache-2.0 */
/*
 * operation.c - work on a token, and what happens when the token says
 * something was lost.
 *
 * Every operation - a signature, a decryption, a derivation, a search -
 * is a body of module calls run by hsmkey_work_run on one leased session,
 * under the gate, inside the fence (call.c).  The hot path is the body's
 * own calls and nothing else: C_SignInit + C_Sign.  When the token's
 * answer says something was lost, the runner repairs it and tries again,
 * at most twice (a dead session can hide a lost login behind it):
 *
 *   session lost  another session (the dead one is forgotten)
 *   login lost    log in again; the key's handles are found again
 *   token lost    rescan, and if that does not bring it back, start the
 *                 modules over (core.c)
 *
 * A signature or decryption is safe to repeat; a wrong PIN is never
 * retried (token.c).
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

#define WORK_TRIES 3

/* One attempt: lease, the key's handle in that session, the body. */
static CK_RV attempt(struct hsmkey_work *w)
{
    struct hsmkey_token *tok = w->tok;
    struct hsmkey_pool *pool = hsmkey_token_pool(tok);
    CK_FUNCTION_LIST *fn = hsmkey_token_fn(tok);
    struct hsmkey_session *s;
    struct hsmkey_fence fence;
    CK_OBJECT_HANDLE h = 0;
    enum hsmkey_loss loss;
    CK_RV rv;

    w->active = 0;
    w->epoch = hsmkey_token_epoch(tok);
    w->failed = "C_OpenSession";
    rv = hsmkey_pool_lease(pool, w->rw, &s);
    if (rv != CKR_OK)
        return rv;
    w->epoch = hsmkey_session_epoch(s);
    hsmkey_call_begin(hsmkey_token_gate(tok), &fence);
    if (!hsmkey_session_current(pool, s)) {
        rv = HSMKEY_CKR_STALE; /* the token started over since the lease */
    } else {
        w->failed = "finding the key in the session";
        rv = w->key != NULL ? hsmkey_object_handle_in(w->key, fn, s, &h)
                            : CKR_OK;
        if (rv == CKR_OK)
            rv = w->body(w, fn, hsmkey_session_handle(s), h);
    }
    hsmkey_call_end(hsmkey_token_gate(tok), &fence);
    if (rv == CKR_OK && w->keep != NULL) {
        *w->keep = s;
        return rv;
    }
    loss = hsmkey_ckr_loss(rv);
    hsmkey_pool_release(pool, s,
                        loss == HSMKEY_LOST_SESSION || loss == HSMKEY_LOST_TOKEN
                            ? HSMKEY_RELEASE_LOST
                        : w->active ? HSMKEY_RELEASE_CLOSE
                                    : HSMKEY_RELEASE_KEEP);
    return rv;
}

static enum hsmkey_loss loss_of(const struct hsmkey_work *w, CK_RV rv)
{
    if (rv == HSMKEY_CKR_RAISED)
        return hsmkey_token_lost(w->tok) ? HSMKEY_LOST_TOKEN
                                         : HSMKEY_LOST_NOTHING;
    return hsmkey_ckr_loss(rv);
}

/* Repair what was lost; 0 when that failed (raised). */
static int recover(struct hsmkey_work *w, enum hsmkey_loss loss)
{
    switch (loss) {
    case HSMKEY_LOST_TOKEN:
        return hsmkey_core_recover(hsmkey_token_core(w->tok), w->tok,
                                   w->epoch);
    case HSMKEY_LOST_LOGIN:
        hsmkey_token_forget_login(w->tok);
        if (w->key != NULL)
            hsmkey_object_invalidate(w->key);
        return hsmkey_token_login(w->tok, NULL);
    default:
        return 1; /* a lost session: the next attempt leases another */
    }
}

/* "token 'x'" or the key, for messages. */
static void subject(const struct hsmkey_work *w, char *buf, size_t len)
{
    if (w->key != NULL)
        snprintf(buf, len, "%s", hsmkey_object_desc(w->key));
    else
        snprintf(buf, len, "token '%s'", hsmkey_token_label(w->tok));
}

static void raise_failure(const struct hsmkey_work *w, CK_RV rv)
{
    const char *m = w->mech != NULL ? hsmkey_ckm_name(w->mech->mechanism)
                                    : NULL;
    char who[256];

    subject(w, who, sizeof(who));
    if (rv == HSMKEY_CKR_NOT_UNIQUE) {
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "%s: no longer there, or "
                     "several objects match it, after the token started "
                     "over", who);
    } else if (rv == CKR_MECHANISM_INVALID && w->mech != NULL
               && hsmkey_token_has_mechanism(w->tok, w->mech->mechanism)
                      == 0) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: the token does not offer %s",
                     who, m != NULL ? m : "this mechanism");
    } else {
        int unsupported = rv == CKR_MECHANISM_INVALID
                          || rv == CKR_MECHANISM_PARAM_INVALID
                          || rv == CKR_KEY_FUNCTION_NOT_PERMITTED
                          || rv == CKR_KEY_TYPE_INCONSISTENT;

        hsmkey_raise(unsupported ? HSMKEY_R_UNSUPPORTED
                     : loss_of(w, rv) == HSMKEY_LOST_TOKEN
                         ? HSMKEY_R_TOKEN_NOT_FOUND : HSMKEY_R_PKCS11,
                     "%s: %s%s%s%s: %s", who, w->failed, m ? "(" : "",
                     m ? m : "", m ? ")" : "", hsmkey_ckr_name(rv));
    }
}

static const char *outcome(CK_RV rv)
{
    return rv == HSMKEY_CKR_RAISED ? "failed before the token was asked"
                                   : hsmkey_ckr_name(rv);
}

static void trace_retry(const struct hsmkey_work *w, CK_RV rv, int tries)
{
    char who[256];

    subject(w, who, sizeof(who));
    hsmkey_debug_print("recover", "%s: %s: %s; repairing and trying again "
                       "(%d of %d)", who, w->failed, outcome(rv), tries,
                       WORK_TRIES - 1);
}

/* A key operation's last word. */
static void trace_done(const struct hsmkey_work *w, CK_RV rv)
{
    const char *m = hsmkey_ckm_name(w->mech->mechanism);
    char who[256];

    subject(w, who, sizeof(who));
    hsmkey_debug_print("operation", "%s: %s(%s): %s", who, w->failed,
                       m != NULL ? m : "mechanism", outcome(rv));
}

static int needs_login(const struct hsmkey_work *w)
{
    return w->login
           || (w->key != NULL
               && hsmkey_object_class(w->key) == CKO_PRIVATE_KEY);
}

int hsmkey_work_run(struct hsmkey_work *w)
{
    struct hsmkey_core *core = hsmkey_token_core(w->tok);
    enum hsmkey_loss loss;
    int marked = 0;
    CK_RV rv;

    if (!hsmkey_core_ensure(core))
        return 0;
    /* Gone at the last try: look again first (fails fast while absent). */
    if (hsmkey_token_lost(w->tok)
        && !hsmkey_core_recover(core, w->tok, hsmkey_token_epoch(w->tok)))
        return 0;
    for (int tries = 1;; tries++) {
        /* A private key after the token started over (a fork, a restart,
         * a recovery just now): log in again first. */
        w->failed = "C_Login";
        if (needs_login(w) && !hsmkey_token_login(w->tok, NULL)) {
            rv = HSMKEY_CKR_RAISED; /* recovered from when the token is lost */
        } else {
            rv = attempt(w);
            hsmkey_token_note(w->tok, rv);
        }
        if (rv == CKR_OK)
            break;
        loss = loss_of(w, rv);
        if (tries == WORK_TRIES || loss == HSMKEY_LOST_NOTHING)
            break;
        if (hsmkey_debug_enabled())
            trace_retry(w, rv, tries);
        if (!marked++)
            hsmkey_err_set_mark(); /* dropped if a later attempt works */
        if (!recover(w, loss)) {
            rv = HSMKEY_CKR_RAISED;
            break;
        }
    }
    if (w->mech != NULL && hsmkey_debug_enabled())
        trace_done(w, rv);
    if (rv == CKR_OK) {
        if (marked)
            hsmkey_err_pop_to_mark();
        return 1;
    }
    if (marked)
        hsmkey_err_clear_last_mark();
    if (rv != HSMKEY_CKR_RAISED)
        raise_failure(w, rv);
    return 0;
}

/* ---- a session held across steps (provisioning) ---- */

int hsmkey_lease_begin(struct hsmkey_lease *l, struct hsmkey_token *tok,
                       int rw)
{
    CK_RV rv;

    memset(l, 0, sizeof(*l));
    l->tok = tok;
    if (!hsmkey_core_ensure(hsmkey_token_core(tok)))
        return 0;
    rv = hsmkey_pool_lease(hsmkey_token_pool(tok), rw, &l->s);
    if (rv == CKR_OK)
        return 1;
    if (rv != HSMKEY_CKR_RAISED)
        hsmkey_raise(hsmkey_ckr_loss(rv) == HSMKEY_LOST_TOKEN
                         ? HSMKEY_R_TOKEN_NOT_FOUND : HSMKEY_R_PKCS11,
                     "token '%s': C_OpenSession%s: %s",
                     hsmkey_token_label(tok), rw ? " (read/write)" : "",
                     hsmkey_ckr_name(rv));
    l->s = NULL;
    return 0;
}

/* Under the gate until hsmkey_lease_leave; NULL when the session is from
 * an epoch that has ended (the token started over). */
CK_FUNCTION_LIST *hsmkey_lease_enter(struct hsmkey_lease *l,
                                     CK_SESSION_HANDLE *s)
{
    hsmkey_call_begin(hsmkey_token_gate(l->tok), &l->fence);
    if (!hsmkey_session_current(hsmkey_token_pool(l->tok), l->s)) {
        hsmkey_call_end(hsmkey_token_gate(l->tok), &l->fence);
        hsmkey_raise(HSMKEY_R_PKCS11, "token '%s' started over during the "
                     "operation; try again", hsmkey_token_label(l->tok));
        return NULL;
    }
    *s = hsmkey_session_handle(l->s);
    return hsmkey_token_fn(l->tok);
}

void hsmkey_lease_leave(struct hsmkey_lease *l)
{
    hsmkey_call_end(hsmkey_token_gate(l->tok), &l->fence);
}

unsigned long hsmkey_lease_epoch(const struct hsmkey_lease *l)
{
    return hsmkey_session_epoch(l->s);
}

void hsmkey_lease_end(struct hsmkey_lease *l, CK_RV last)
{
    if (l->s == NULL)
        return;
    hsmkey_pool_release(hsmkey_token_pool(l->tok), l->s,
                        hsmkey_ckr_loss(last) == HSMKEY_LOST_SESSION
                            ? HSMKEY_RELEASE_LOST : HSMKEY_RELEASE_KEEP);
    l->s = NULL;
}

/* ---- private-key operations ---- */

struct crypt_args {
    int decrypt;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    CK_ULONG len; /* in: the buffer's size; out: the result's */
    struct hsmkey_pin *context_pin;
};

static CK_RV crypt_body(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                        CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    struct crypt_args *a = w->arg;
    CK_ULONG size = a->len;
    CK_RV rv;

    w->failed = a->decrypt ? "C_DecryptInit" : "C_SignInit";
    rv = a->decrypt ? fn->C_DecryptInit(s, w->mech, h)
                    : fn->C_SignInit(s, w->mech, h);
    if (rv != CKR_OK)
        return rv;
    if (a->context_pin != NULL) {
        w->failed = "C_Login(CKU_CONTEXT_SPECIFIC)";
        rv = fn->C_Login(s, CKU_CONTEXT_SPECIFIC,
                         (CK_UTF8CHAR *)hsmkey_pin_data(a->context_pin),
                         hsmkey_pin_len(a->context_pin));
        if (rv != CKR_OK) {
            w->active = 1; /* the signature was begun, never ended */
            return rv;
        }
    }
    w->failed = a->decrypt ? "C_Decrypt" : "C_Sign";
    rv = a->decrypt ? fn->C_Decrypt(s, (CK_BYTE *)a->in, a->inlen, a->out,
                                    &size)
                    : fn->C_Sign(s, (CK_BYTE *)a->in, a->inlen, a->out,
                                 &size);
    /* Too small a buffer leaves the operation active (PKCS#11 5.2). */
    w->active = rv == CKR_BUFFER_TOO_SMALL;
    a->len = size;
    return rv;
}

static int key_op(struct hsmkey_object *key, int decrypt, CK_MECHANISM *mech,
                 const unsigned char *in, size_t inlen, unsigned char *out,
                 size_t *outlen)
{
    struct crypt_args a = { decrypt, in, inlen, out, *outlen, NULL };
    struct hsmkey_work w = { 0 };
    int ok;

    w.tok = hsmkey_object_token(key);
    w.key = key;
    w.mech = mech;
    w.body = crypt_body;
    w.arg = &a;
    /* Resolved before the gate: a prompt may call into the application. */
    if (!decrypt && hsmkey_object_always_authenticate(key)
        && (a.context_pin = hsmkey_token_context_pin(w.tok)) == NULL) {
        hsmkey_raise(HSMKEY_R_LOGIN, "%s needs the PIN for every "
                     "signature (CKA_ALWAYS_AUTHENTICATE) and no PIN source "
                     "gives it", hsmkey_object_desc(key));
        return 0;
    }
    ok = hsmkey_work_run(&w);
    hsmkey_pin_free(a.context_pin);
    if (ok)
        *outlen = a.len;
    return ok;
}

int hsmkey_object_sign(struct hsmkey_object *key, CK_MECHANISM *mech,
                       const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen)
{
    return key_op(key, 0, mech, in, inlen, out, outlen);
}

int hsmkey_object_decrypt(struct hsmkey_object *key, CK_MECHANISM *mech,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    return key_op(key, 1, mech, in, inlen, out, outlen);
}

/*
 * ECDH (CKM_ECDH1_DERIVE): the secret is derived into a short-lived
 * session object, read once and destroyed, as the application asked for
 * the secret itself.
 */
struct derive_args {
    const unsigned char *peer;
    size_t peerlen;
    unsigned char *out;
    CK_ULONG len;
};

static CK_RV derive_body(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                         CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    struct derive_args *a = w->arg;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ULONG len = a->len;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_KEY_TYPE, &type, sizeof(type) },
        { CKA_VALUE_LEN, &len, sizeof(len) },
        { CKA_TOKEN, &no, sizeof(no) },
        { CKA_SENSITIVE, &no, sizeof(no) },
        { CKA_EXTRACTABLE, &yes, sizeof(yes) },
    };
    CK_ATTRIBUTE value = { CKA_VALUE, a->out, a->len };
    CK_OBJECT_HANDLE secret;
    CK_RV rv;

    w->failed = "C_DeriveKey";
    rv = fn->C_DeriveKey(s, w->mech, h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
                         &secret);
    if (rv != CKR_OK)
        return rv;
    w->failed = "C_GetAttributeValue(CKA_VALUE)";
    rv = fn->C_GetAttributeValue(s, secret, &value, 1);
    fn->C_DestroyObject(s, secret);
    if (rv == CKR_OK)
        a->len = value.ulValueLen;
    return rv;
}

int hsmkey_object_derive(struct hsmkey_object *key,
                         const unsigned char *peer, size_t peerlen,
                         unsigned char *out, size_t *outlen)
{
    CK_ECDH1_DERIVE_PARAMS params = { CKD_NULL, 0, NULL, peerlen,
                                      (CK_BYTE *)peer };
    CK_MECHANISM mech = { CKM_ECDH1_DERIVE, &params, sizeof(params) };
    struct derive_args a = { peer, peerlen, out, *outlen };
    struct hsmkey_work w = { 0 };

    w.tok = hsmkey_object_token(key);
    w.key = key;
    w.mech = &mech;
    w.body = derive_body;
    w.arg = &a;
    if (!hsmkey_work_run(&w))
        return 0;
    *outlen = a.len;
    return 1;
}

/* Mechanisms the object's token offers (read once per token); a token
 * that cannot list them is asked by trying. */
int hsmkey_object_has_mechanism(struct hsmkey_object *obj,
                                CK_MECHANISM_TYPE mech)
{
    return hsmkey_token_has_mechanism(hsmkey_object_token(obj), mech) != 0;
}
