/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token_admin.c - setting a token up and looking after its PINs:
 * C_InitToken + C_InitPIN (`hsmkey init-token`), C_SetPIN and the SO's
 * C_InitPIN (`hsmkey set-pin`).
 *
 * Each runs in a session of its own, opened and closed here, never one of
 * the pool: an SO login must not leak into sessions that sign, and a PIN
 * change must not be taken for a user login.  PINs go to the token from
 * their struct hsmkey_pin and nowhere else; messages name the token and
 * the CKR_*, never a PIN.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/provision.h"

/* What to do about the return values people meet here. */
static const char *advice(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
        return " (the PIN given is wrong; each try counts against the "
               "token's retry limit)";
    case CKR_PIN_LOCKED:
        return " (the user PIN is locked: reset it as the security officer "
               "with hsmkey set-pin --so-pin-source)";
    case CKR_PIN_INVALID:
        return " (the token refuses characters of the new PIN)";
    case CKR_PIN_LEN_RANGE:
        return " (the new PIN is too short or too long for this token)";
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
    case CKR_SESSION_EXISTS:
        return " (another session of this process holds the token)";
    case CKR_TOKEN_WRITE_PROTECTED:
        return " (the token is write-protected)";
    default:
        return "";
    }
}

static void raise_call(const char *label, const char *call, CK_RV rv)
{
    int reason = rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED
                         || rv == CKR_PIN_EXPIRED
                     ? HSMKEY_R_LOGIN
                 : rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE
                     ? HSMKEY_R_BAD_ARGUMENT
                     : HSMKEY_R_PKCS11;

    hsmkey_raise(reason, "token '%s': %s: %s%s", label, call,
                 hsmkey_ckr_name(rv), advice(rv));
}

/* A limit the token states: not 0 and not CK_UNAVAILABLE_INFORMATION. */
static int stated(CK_ULONG v)
{
    return v != 0 && v != CK_UNAVAILABLE_INFORMATION;
}

/* A PIN the token will take, by the lengths it announces. */
static int pin_fits(const char *label, const CK_TOKEN_INFO *ti,
                    const struct hsmkey_pin *pin, const char *what)
{
    size_t len = hsmkey_pin_len(pin);

    if ((stated(ti->ulMinPinLen) && len < ti->ulMinPinLen)
        || (stated(ti->ulMaxPinLen) && len > ti->ulMaxPinLen)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "token '%s': the %s is %zu "
                     "characters; the token takes %lu to %lu", label, what,
                     len, (unsigned long)ti->ulMinPinLen,
                     (unsigned long)ti->ulMaxPinLen);
        return 0;
    }
    return 1;
}

/* ---- a new token ---- */

/* The label blank-padded to the 32 bytes of CK_TOKEN_INFO. */
static int pad_label(const char *label, CK_UTF8CHAR out[32])
{
    size_t len = strlen(label);

    if (len == 0 || len > 32) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "token label '%.40s' must be 1 "
                     "to 32 bytes", label);
        return 0;
    }
    memset(out, ' ', 32);
    memcpy(out, label, len);
    return 1;
}

struct init_job {
    const char *label;
    CK_UTF8CHAR padded[32];
    const struct hsmkey_pin *so_pin, *user_pin;
    const char *failed;
};

/* As SO on the fresh token: the user PIN is set (fenced: CK_RV). */
static CK_RV init_user_pin(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                           struct init_job *j)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;

    j->failed = "C_OpenSession";
    rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                           NULL, &s);
    if (rv != CKR_OK)
        return rv;
    j->failed = "C_Login as SO";
    rv = fn->C_Login(s, CKU_SO, (CK_UTF8CHAR *)hsmkey_pin_data(j->so_pin),
                     hsmkey_pin_len(j->so_pin));
    if (rv == CKR_OK) {
        j->failed = "C_InitPIN";
        rv = fn->C_InitPIN(s, (CK_UTF8CHAR *)hsmkey_pin_data(j->user_pin),
                           hsmkey_pin_len(j->user_pin));
        fn->C_Logout(s);
    }
    fn->C_CloseSession(s);
    return rv;
}

/* The core's slot work (gate closed, the slot's sessions closed): raises
 * after the fence, as the module's own errors are dropped inside it. */
static int init_on(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot, void *arg)
{
    struct init_job *j = arg;
    struct hsmkey_fence fence;
    CK_TOKEN_INFO ti;
    CK_RV rv;

    hsmkey_fence_begin(&fence);
    j->failed = "C_GetTokenInfo";
    rv = fn->C_GetTokenInfo(slot, &ti);
    hsmkey_fence_end(&fence);
    if (rv != CKR_OK) {
        raise_call(j->label, j->failed, rv);
        return 0;
    }
    if (!pin_fits(j->label, &ti, j->so_pin, "SO PIN")
        || !pin_fits(j->label, &ti, j->user_pin, "user PIN"))
        return 0;
    hsmkey_fence_begin(&fence);
    j->failed = "C_InitToken";
    rv = fn->C_InitToken(slot, (CK_UTF8CHAR *)hsmkey_pin_data(j->so_pin),
                         hsmkey_pin_len(j->so_pin), j->padded);
    if (rv == CKR_OK)
        rv = init_user_pin(fn, slot, j);
    hsmkey_fence_end(&fence);
    if (rv != CKR_OK)
        raise_call(j->label, j->failed, rv);
    return rv == CKR_OK;
}

int hsmkey_token_init(struct hsmkey_core *core, CK_SLOT_ID slot,
                      const char *label, const struct hsmkey_pin *so_pin,
                      const struct hsmkey_pin *user_pin)
{
    struct init_job j = { label, { 0 }, so_pin, user_pin, NULL };

    if (!pad_label(label, j.padded))
        return 0;
    /* C_InitToken refuses while a session is open on the slot, and a
     * token, once initialized, may move to another slot id (SoftHSM2):
     * the core runs it as lifecycle work. */
    return hsmkey_core_slot_work(core, slot, init_on, &j);
}

/* ---- the user PIN ---- */

/*
 * A read/write session of its own, not the pool's, for a PIN change: the
 * CLI holds no other, and an SO login must not find read-only sessions
 * (CKR_SESSION_READ_ONLY_EXISTS).  Fenced; CK_RV, *failed names the call.
 */
static CK_RV pin_work(struct hsmkey_token *tok, int so,
                      const struct hsmkey_pin *pin,
                      const struct hsmkey_pin *new_pin, const char **failed)
{
    CK_FUNCTION_LIST *fn = hsmkey_token_fn(tok);
    struct hsmkey_fence fence;
    CK_SESSION_HANDLE s;
    CK_RV rv;

    hsmkey_call_begin(hsmkey_token_gate(tok), &fence);
    *failed = "C_OpenSession";
    rv = fn->C_OpenSession(hsmkey_token_slot_now(tok),
                           CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                           &s);
    if (rv == CKR_OK && !so) {
        /* Not logged in: C_SetPIN in a public session is the user's. */
        *failed = "C_SetPIN";
        rv = fn->C_SetPIN(s, (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                          hsmkey_pin_len(pin),
                          (CK_UTF8CHAR *)hsmkey_pin_data(new_pin),
                          hsmkey_pin_len(new_pin));
    } else if (rv == CKR_OK) {
        *failed = "C_Login as SO";
        rv = fn->C_Login(s, CKU_SO, (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                         hsmkey_pin_len(pin));
        if (rv == CKR_OK) {
            *failed = "C_InitPIN";
            rv = fn->C_InitPIN(s, (CK_UTF8CHAR *)hsmkey_pin_data(new_pin),
                               hsmkey_pin_len(new_pin));
            fn->C_Logout(s);
        }
    }
    if (strcmp(*failed, "C_OpenSession") != 0 || rv == CKR_OK)
        fn->C_CloseSession(s);
    hsmkey_call_end(hsmkey_token_gate(tok), &fence);
    return rv;
}

static int change_pin(struct hsmkey_token *tok, int so,
                      const struct hsmkey_pin *pin,
                      const struct hsmkey_pin *new_pin)
{
    const char *failed = NULL;
    CK_RV rv;

    if (!pin_fits(hsmkey_token_label(tok), hsmkey_token_info(tok), new_pin,
                  "new PIN")
        || !hsmkey_core_ensure(hsmkey_token_core(tok)))
        return 0;
    rv = pin_work(tok, so, pin, new_pin, &failed);
    if (rv != CKR_OK) {
        raise_call(hsmkey_token_label(tok), failed, rv);
        return 0;
    }
    hsmkey_token_forget_login(tok); /* a login with the old PIN is gone */
    return 1;
}

int hsmkey_token_set_pin(struct hsmkey_token *tok,
                         const struct hsmkey_pin *old_pin,
                         const struct hsmkey_pin *new_pin)
{
    return change_pin(tok, 0, old_pin, new_pin);
}

int hsmkey_token_reset_pin(struct hsmkey_token *tok,
                           const struct hsmkey_pin *so_pin,
                           const struct hsmkey_pin *new_pin)
{
    return change_pin(tok, 1, so_pin, new_pin);
}
