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

/* The module that has slot (core->lock held); NULL + raise. */
static CK_FUNCTION_LIST *module_of(struct hsmkey_core *core, CK_SLOT_ID slot)
{
    CK_FUNCTION_LIST *found = NULL;
    size_t matches = 0;
    CK_SLOT_INFO si;

    for (size_t i = 0; core->modules[i] != NULL; i++)
        if (core->modules[i]->C_GetSlotInfo(slot, &si) == CKR_OK) {
            found = core->modules[i];
            matches++;
        }
    if (matches == 0)
        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "no slot %lu (module: %s; "
                     "see hsmkey tokens)", (unsigned long)slot,
                     hsmkey_core_module_name(core));
    else if (matches > 1)
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "slot %lu exists in %zu modules: "
                     "name one with --module", (unsigned long)slot, matches);
    return matches == 1 ? found : NULL;
}

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

/* As SO on a fresh token: the user PIN is set. */
static int init_user_pin(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                         const char *label, const struct hsmkey_pin *so_pin,
                         const struct hsmkey_pin *user_pin)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;
    int ok = 0;

    rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                           NULL, &s);
    if (rv != CKR_OK) {
        raise_call(label, "C_OpenSession", rv);
        return 0;
    }
    rv = fn->C_Login(s, CKU_SO, (CK_UTF8CHAR *)hsmkey_pin_data(so_pin),
                     hsmkey_pin_len(so_pin));
    if (rv != CKR_OK) {
        raise_call(label, "C_Login as SO", rv);
        goto done;
    }
    rv = fn->C_InitPIN(s, (CK_UTF8CHAR *)hsmkey_pin_data(user_pin),
                       hsmkey_pin_len(user_pin));
    if (rv != CKR_OK)
        raise_call(label, "C_InitPIN", rv);
    ok = rv == CKR_OK;
    fn->C_Logout(s);
done:
    fn->C_CloseSession(s);
    return ok;
}

static int init_on(struct hsmkey_core *core, CK_SLOT_ID slot,
                   const char *label, const struct hsmkey_pin *so_pin,
                   const struct hsmkey_pin *user_pin)
{
    CK_FUNCTION_LIST *fn = module_of(core, slot);
    CK_UTF8CHAR padded[32];
    CK_TOKEN_INFO ti;
    CK_RV rv;

    if (fn == NULL || !pad_label(label, padded))
        return 0;
    rv = fn->C_GetTokenInfo(slot, &ti);
    if (rv != CKR_OK) {
        raise_call(label, "C_GetTokenInfo", rv);
        return 0;
    }
    if (!pin_fits(label, &ti, so_pin, "SO PIN")
        || !pin_fits(label, &ti, user_pin, "user PIN"))
        return 0;
    rv = fn->C_InitToken(slot, (CK_UTF8CHAR *)hsmkey_pin_data(so_pin),
                         hsmkey_pin_len(so_pin), padded);
    if (rv != CKR_OK) {
        raise_call(label, "C_InitToken", rv);
        return 0;
    }
    return init_user_pin(fn, slot, label, so_pin, user_pin);
}

int hsmkey_token_init(struct hsmkey_core *core, CK_SLOT_ID slot,
                      const char *label, const struct hsmkey_pin *so_pin,
                      const struct hsmkey_pin *user_pin)
{
    int ok;

    if (!hsmkey_core_ensure(core))
        return 0;
    /* No session of the pool may be open on the slot meanwhile
     * (C_InitToken refuses with CKR_SESSION_EXISTS): the core lock keeps
     * the token list still, and the CLI has opened none. */
    pthread_rwlock_rdlock(&core->ops_lock); /* the module stays up */
    pthread_mutex_lock(&core->lock);
    ok = init_on(core, slot, label, so_pin, user_pin);
    /* A token that was initialized may have moved to another slot id
     * (SoftHSM2 does): the token list is looked at again. */
    hsmkey_token_scan(core, 0);
    pthread_mutex_unlock(&core->lock);
    pthread_rwlock_unlock(&core->ops_lock);
    atomic_fetch_add(&core->changes, 1);
    return ok;
}

/* ---- the user PIN ---- */

/*
 * A R/W session of its own on tok; 0 + raise.  Until own_session_close,
 * the module is held up (ops_lock for reading, as a pooled session is).
 */
static int own_session(struct hsmkey_token *tok, CK_SESSION_HANDLE *s)
{
    CK_RV rv;

    if (!hsmkey_core_ensure(tok->core))
        return 0;
    pthread_rwlock_rdlock(&tok->core->ops_lock);
    rv = tok->fn->C_OpenSession(hsmkey_token_slot(tok),
                                CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                                NULL, s);
    if (rv != CKR_OK) {
        pthread_rwlock_unlock(&tok->core->ops_lock);
        raise_call(tok->label, "C_OpenSession", rv);
    }
    return rv == CKR_OK;
}

static void own_session_close(struct hsmkey_token *tok, CK_SESSION_HANDLE s)
{
    tok->fn->C_CloseSession(s);
    pthread_rwlock_unlock(&tok->core->ops_lock);
}

int hsmkey_token_set_pin(struct hsmkey_token *tok,
                         const struct hsmkey_pin *old_pin,
                         const struct hsmkey_pin *new_pin)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (!pin_fits(tok->label, hsmkey_token_info(tok), new_pin, "new PIN")
        || !own_session(tok, &s))
        return 0;
    /* Not logged in: C_SetPIN in a R/W public session is the user's. */
    rv = tok->fn->C_SetPIN(s, (CK_UTF8CHAR *)hsmkey_pin_data(old_pin),
                           hsmkey_pin_len(old_pin),
                           (CK_UTF8CHAR *)hsmkey_pin_data(new_pin),
                           hsmkey_pin_len(new_pin));
    own_session_close(tok, s);
    if (rv != CKR_OK) {
        raise_call(tok->label, "C_SetPIN", rv);
        return 0;
    }
    hsmkey_token_forget_login(tok); /* a login with the old PIN is gone */
    return 1;
}

int hsmkey_token_reset_pin(struct hsmkey_token *tok,
                           const struct hsmkey_pin *so_pin,
                           const struct hsmkey_pin *new_pin)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (!pin_fits(tok->label, hsmkey_token_info(tok), new_pin, "new PIN")
        || !own_session(tok, &s))
        return 0;
    rv = tok->fn->C_Login(s, CKU_SO, (CK_UTF8CHAR *)hsmkey_pin_data(so_pin),
                          hsmkey_pin_len(so_pin));
    if (rv != CKR_OK) {
        raise_call(tok->label, "C_Login as SO", rv);
    } else {
        rv = tok->fn->C_InitPIN(s, (CK_UTF8CHAR *)hsmkey_pin_data(new_pin),
                                hsmkey_pin_len(new_pin));
        if (rv != CKR_OK)
            raise_call(tok->label, "C_InitPIN", rv);
        tok->fn->C_Logout(s);
    }
    own_session_close(tok, s);
    if (rv == CKR_OK)
        hsmkey_token_forget_login(tok);
    return rv == CKR_OK;
}
