/* SPDX-License-Identifier: Apache-2.0 */
/*
 * operation.c - the hot path: one private-key operation on the token.
 *
 * Exactly C_xxxInit + C_xxx on a pooled session: no object search, no
 * attribute read, no login check per call.  Recovery work happens only
 * after the token said something went wrong, and is retried once.
 */
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

struct op_calls {
    const char *init_name, *run_name;
    CK_RV (*init)(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_MECHANISM *m,
                  CK_OBJECT_HANDLE h);
    CK_RV (*run)(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                 const unsigned char *in, CK_ULONG inlen, unsigned char *out,
                 CK_ULONG *outlen);
};

static CK_RV sign_init(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                       CK_MECHANISM *m, CK_OBJECT_HANDLE h)
{
    return fn->C_SignInit(s, m, h);
}

static CK_RV sign_run(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                      const unsigned char *in, CK_ULONG inlen,
                      unsigned char *out, CK_ULONG *outlen)
{
    return fn->C_Sign(s, (CK_BYTE *)in, inlen, out, outlen);
}

static CK_RV decrypt_init(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                          CK_MECHANISM *m, CK_OBJECT_HANDLE h)
{
    return fn->C_DecryptInit(s, m, h);
}

static CK_RV decrypt_run(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s,
                         const unsigned char *in, CK_ULONG inlen,
                         unsigned char *out, CK_ULONG *outlen)
{
    return fn->C_Decrypt(s, (CK_BYTE *)in, inlen, out, outlen);
}

static const struct op_calls sign_calls = { "C_SignInit", "C_Sign", sign_init,
                                            sign_run };
static const struct op_calls decrypt_calls = { "C_DecryptInit", "C_Decrypt",
                                               decrypt_init, decrypt_run };

/* Not a token answer: the failure was raised before the token was asked. */
#define HSMKEY_CKR_RAISED (CKR_VENDOR_DEFINED | 0x48534bUL)

/* The token went away (pulled, HSM restarted): look for it again. */
static int token_lost(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT
           || rv == CKR_SLOT_ID_INVALID;
}

/*
 * A key marked CKA_ALWAYS_AUTHENTICATE (PIV, YubiKey signature slot) wants
 * the PIN again after every C_SignInit.
 */
static CK_RV context_login(struct hsmkey_object *key, CK_SESSION_HANDLE s)
{
    struct hsmkey_token *tok = hsmkey_object_token(key);
    struct hsmkey_pin *pin = NULL;
    char *src;
    CK_RV rv;

    if (!hsmkey_object_flag(key, CKA_ALWAYS_AUTHENTICATE, 0))
        return CKR_OK;
    pthread_mutex_lock(&tok->lock); /* a re-login may replace the string */
    src = tok->login_source ? OPENSSL_strdup(tok->login_source) : NULL;
    pthread_mutex_unlock(&tok->lock);
    if (src != NULL)
        pin = hsmkey_pin_resolve(src);
    OPENSSL_free(src);
    if (pin == NULL)
        return CKR_PIN_INCORRECT; /* no PIN source to repeat the PIN from */
    rv = tok->fn->C_Login(s, CKU_CONTEXT_SPECIFIC,
                          (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                          hsmkey_pin_len(pin));
    hsmkey_pin_free(pin);
    return rv;
}

/* One operation and what its attempts learnt. */
struct op {
    struct hsmkey_object *key;
    const struct op_calls *calls;
    CK_MECHANISM *mech;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    CK_ULONG size, len;
    const char *failed;   /* the call that failed, for the message */
    unsigned long gen;    /* token generation the last attempt began in */
};

static CK_RV attempt(struct op *op)
{
    struct hsmkey_token *tok = hsmkey_object_token(op->key);
    CK_OBJECT_HANDLE h;
    CK_SESSION_HANDLE s;
    CK_RV rv;
    int active;

    op->gen = hsmkey_token_gen(tok);
    op->len = op->size;
    op->failed = op->calls->init_name;
    if (!hsmkey_object_handle(op->key, &h)
        || !hsmkey_token_session_get(tok, &s))
        return HSMKEY_CKR_RAISED;
    hsmkey_err_set_mark();
    rv = op->calls->init(tok->fn, s, op->mech, h);
    active = rv == CKR_OK;
    if (active && op->calls == &sign_calls)
        rv = context_login(op->key, s);
    if (rv != CKR_OK && active)
        op->failed = "C_Login(CKU_CONTEXT_SPECIFIC)";
    if (rv == CKR_OK) {
        op->failed = op->calls->run_name;
        rv = op->calls->run(tok->fn, s, op->in, op->inlen, op->out, &op->len);
        active = 0; /* C_Sign / C_Decrypt end the operation either way */
    }
    hsmkey_err_pop_to_mark();
    /* A dead session, one on a token that went away, or one with an
     * operation left active, is not reused. */
    hsmkey_token_session_put(tok, s, hsmkey_session_lost(rv) || token_lost(rv)
                                         || active);
    return rv;
}

/*
 * The key's handle is refused: the token logged us out (its last session
 * closed) or forgot the handle.  Log in again and find the key again.
 */
static int handle_lost(CK_RV rv)
{
    return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID
           || rv == CKR_USER_NOT_LOGGED_IN;
}

/* The token started over since the attempt began (another thread's
 * recovery): its failure may be that, whatever it says. */
static int overtaken(const struct op *op)
{
    return hsmkey_token_gen(hsmkey_object_token(op->key)) != op->gen;
}

static int recoverable(const struct op *op, CK_RV rv)
{
    struct hsmkey_token *tok = hsmkey_object_token(op->key);

    return hsmkey_session_lost(rv) || token_lost(rv) || handle_lost(rv)
           || (rv == HSMKEY_CKR_RAISED && atomic_load(&tok->lost))
           || (rv != CKR_OK && rv != HSMKEY_CKR_RAISED && overtaken(op));
}

/* Repair what the token's answer says was lost; 0 when that failed. */
static int recover(const struct op *op, CK_RV rv)
{
    struct hsmkey_token *tok = hsmkey_object_token(op->key);

    if (overtaken(op))
        return 1; /* already repaired: just try again */
    if (token_lost(rv) || (rv == HSMKEY_CKR_RAISED && atomic_load(&tok->lost)))
        return hsmkey_token_recover(tok, op->gen);
    if (handle_lost(rv)) {
        hsmkey_token_forget_login(tok);
        hsmkey_object_invalidate(op->key);
        return hsmkey_token_login(tok, NULL);
    }
    return 1; /* a lost session: the next attempt takes another one */
}

/*
 * After a failed attempt: recover and try again, at most twice (a dead
 * session can hide a lost login behind it).  A signature or decryption is
 * safe to repeat; a wrong PIN is never retried (login.c).
 */
static CK_RV retry(struct op *op, CK_RV rv)
{
    for (int i = 0; i < 2 && recoverable(op, rv); i++) {
        hsmkey_debug("recover", "%s: %s: %s; repairing and trying again "
                     "(%d of 2)", hsmkey_object_desc(op->key), op->failed,
                     rv == HSMKEY_CKR_RAISED ? "failed before the token "
                     "was asked" : hsmkey_ckr_name(rv), i + 1);
        if (!recover(op, rv))
            return HSMKEY_CKR_RAISED;
        rv = attempt(op);
    }
    return rv;
}

/* What the outcome tells about the token's health, for the next operation */
static void note_health(struct hsmkey_token *tok, CK_RV rv)
{
    if (rv == CKR_OK) {
        if (atomic_load(&tok->recoveries) != 0)
            atomic_store(&tok->recoveries, 0);
        if (atomic_load(&tok->device_errors) != 0)
            atomic_store(&tok->device_errors, 0);
    } else if (token_lost(rv)) {
        atomic_store(&tok->lost, 1);
    } else if (rv == CKR_DEVICE_ERROR
               && atomic_fetch_add(&tok->device_errors, 1) > 0) {
        /* One device error fails one operation; a second in a row means
         * the device is gone (a remote module lost its server). */
        atomic_store(&tok->lost, 1);
    }
}

static int run(struct op *op)
{
    struct hsmkey_token *tok = hsmkey_object_token(op->key);
    const char *m = hsmkey_ckm_name(op->mech->mechanism);
    CK_RV rv;

    /* The token's own list (read once per token), not a guess. */
    if (!hsmkey_object_has_mechanism(op->key, op->mech->mechanism)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: the token does not offer "
                     "%s", hsmkey_object_desc(op->key),
                     m ? m : "this mechanism");
        return 0;
    }
    /* Gone at the last try: look again first (fails fast while absent). */
    if (atomic_load(&tok->lost)
        && !hsmkey_token_recover(tok, hsmkey_token_gen(tok)))
        return 0;
    rv = attempt(op);
    if (rv != CKR_OK)
        rv = retry(op, rv);
    note_health(tok, rv);
    hsmkey_debug("operation", "%s: %s(%s): %s", hsmkey_object_desc(op->key),
                 op->failed, m ? m : "mechanism",
                 rv == HSMKEY_CKR_RAISED ? "failed before the token was asked"
                                         : hsmkey_ckr_name(rv));
    if (rv == HSMKEY_CKR_RAISED)
        return 0;
    if (rv != CKR_OK) {
        hsmkey_raise(rv == CKR_MECHANISM_INVALID ? HSMKEY_R_UNSUPPORTED
                                                 : HSMKEY_R_PKCS11,
                     "%s: %s(%s): %s", hsmkey_object_desc(op->key),
                     op->failed, m ? m : "mechanism", hsmkey_ckr_name(rv));
        return 0;
    }
    return 1;
}

static int run_op(struct hsmkey_object *key, const struct op_calls *calls,
                  CK_MECHANISM *mech, const unsigned char *in, size_t inlen,
                  unsigned char *out, size_t *outlen)
{
    struct op op = { key, calls, mech, in, inlen, out, *outlen, 0, NULL, 0 };

    if (!run(&op))
        return 0;
    *outlen = op.len;
    return 1;
}

int hsmkey_object_sign(struct hsmkey_object *key, CK_MECHANISM *mech,
                       const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen)
{
    return run_op(key, &sign_calls, mech, in, inlen, out, outlen);
}

int hsmkey_object_decrypt(struct hsmkey_object *key, CK_MECHANISM *mech,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    return run_op(key, &decrypt_calls, mech, in, inlen, out, outlen);
}

int hsmkey_object_has_mechanism(struct hsmkey_object *obj,
                                CK_MECHANISM_TYPE mech)
{
    struct hsmkey_token *tok = hsmkey_object_token(obj);
    CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG n = 0;
    int found = 0;

    pthread_rwlock_rdlock(&tok->core->ops_lock);
    pthread_mutex_lock(&tok->lock);
    if (!tok->mechs_loaded
        && tok->fn->C_GetMechanismList(tok->slot, NULL, &n) == CKR_OK
        && (list = OPENSSL_malloc((n ? n : 1) * sizeof(*list))) != NULL
        && tok->fn->C_GetMechanismList(tok->slot, list, &n) == CKR_OK) {
        tok->mechs = list;
        tok->nmechs = n;
        tok->mechs_loaded = 1;
        list = NULL;
    }
    OPENSSL_free(list);
    for (CK_ULONG i = 0; i < tok->nmechs && !found; i++)
        found = tok->mechs[i] == mech;
    /* A token that cannot list its mechanisms is asked by trying. */
    if (!tok->mechs_loaded)
        found = 1;
    pthread_mutex_unlock(&tok->lock);
    pthread_rwlock_unlock(&tok->core->ops_lock);
    return found;
}
