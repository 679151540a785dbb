/* SPDX-License-Identifier: Apache-2.0 */
/*
 * login.c - log in to a token once, with the PIN meant for it.
 *
 * The PIN is resolved before any lock is taken (a prompt may call into the
 * application), used for one C_Login and wiped.  A PIN the token refused
 * with CKR_PIN_INCORRECT is remembered only as a salted hash, so the same
 * PIN is never offered again: real tokens lock after a few wrong tries.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core.h"
#include "hsmkey/debug.h"

int hsmkey_token_needs_login(struct hsmkey_token *tok)
{
    CK_FLAGS flags;

    pthread_mutex_lock(&tok->lock); /* a rescan rewrites info */
    flags = tok->info.flags;
    pthread_mutex_unlock(&tok->lock);
    return (flags & CKF_LOGIN_REQUIRED) != 0;
}

int hsmkey_token_is_logged_in(struct hsmkey_token *tok)
{
    unsigned long gen;

    pthread_mutex_lock(&tok->lock);
    gen = tok->login_gen;
    pthread_mutex_unlock(&tok->lock);
    return gen != 0 && gen == hsmkey_token_gen(tok);
}

void hsmkey_token_forget_login(struct hsmkey_token *tok)
{
    pthread_mutex_lock(&tok->lock);
    tok->login_gen = 0;
    pthread_mutex_unlock(&tok->lock);
}

/* Where the PIN comes from, in the order the configuration promises. */
static const char *pin_source_for(struct hsmkey_token *tok, P11KitUri *uri)
{
    const char *src = uri != NULL ? p11_kit_uri_get_pin_source(uri) : NULL;

    if (src == NULL)
        src = tok->core->pin_source;
    if (src == NULL)
        src = getenv("HSMKEY_PIN_SOURCE");
    if (src == NULL || *src == '\0')
        src = tok->login_source; /* the one that worked before a re-init */
    return src;
}

static struct hsmkey_pin *resolve_pin(struct hsmkey_token *tok, P11KitUri *uri,
                                      const char **source)
{
    const char *value = uri != NULL ? p11_kit_uri_get_pin_value(uri) : NULL;

    *source = NULL;
    if (value != NULL)
        return hsmkey_pin_from_bytes(value, strlen(value));
    *source = pin_source_for(tok, uri);
    if (*source != NULL)
        return hsmkey_pin_resolve(*source);
    if (tok->core->prompt != NULL)
        return tok->core->prompt(tok->label, tok->core->prompt_arg);
    hsmkey_raise(HSMKEY_R_LOGIN, "token '%s' needs a PIN and none is "
                 "configured: set pin-source (openssl.cnf or the URI) or "
                 "HSMKEY_PIN_SOURCE", tok->label);
    return NULL;
}

static int pin_hash(const struct hsmkey_token *tok, const struct hsmkey_pin *pin,
                    unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL)
             && EVP_DigestUpdate(md, tok->pin_salt, sizeof(tok->pin_salt))
             && EVP_DigestUpdate(md, hsmkey_pin_data(pin), hsmkey_pin_len(pin))
             && EVP_DigestFinal_ex(md, out, &len) && len == 32;

    EVP_MD_CTX_free(md);
    if (!ok)
        hsmkey_raise(HSMKEY_R_INTERNAL, "SHA-256 unavailable");
    return ok;
}

static CK_RV login_once(struct hsmkey_token *tok, const struct hsmkey_pin *pin)
{
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (!hsmkey_token_session_get(tok, &s))
        return CKR_FUNCTION_FAILED; /* raised by the pool */
    hsmkey_err_set_mark();
    rv = tok->fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                          hsmkey_pin_len(pin));
    /* SoftHSM rewrites its token file on login: a concurrent process can
     * make one attempt fail spuriously.  Never retried on a PIN error. */
    if (rv == CKR_GENERAL_ERROR || rv == CKR_DEVICE_ERROR)
        rv = tok->fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                              hsmkey_pin_len(pin));
    hsmkey_err_pop_to_mark();
    hsmkey_token_session_put(tok, s, hsmkey_session_lost(rv));
    return rv;
}

/* A pooled session the token has dropped meanwhile says nothing about the
 * PIN: another session is tried once. */
static CK_RV login_call(struct hsmkey_token *tok, const struct hsmkey_pin *pin)
{
    CK_RV rv = login_once(tok, pin);

    return hsmkey_session_lost(rv) ? login_once(tok, pin) : rv;
}

static int login_locked(struct hsmkey_token *tok, const struct hsmkey_pin *pin,
                        const unsigned char hash[32], const char *source)
{
    unsigned long gen = hsmkey_token_gen(tok);
    CK_RV rv = login_call(tok, pin);

    if (rv == CKR_FUNCTION_FAILED)
        return 0;
    hsmkey_debug("login", "token '%s': C_Login: %s", tok->label,
                 hsmkey_ckr_name(rv));
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        pthread_mutex_lock(&tok->lock);
        tok->login_gen = gen;
        if (source != NULL && tok->login_source != source) {
            OPENSSL_free(tok->login_source);
            tok->login_source = OPENSSL_strdup(source);
        }
        pthread_mutex_unlock(&tok->lock);
        return 1;
    }
    if (rv == CKR_PIN_INCORRECT) {
        memcpy(tok->bad_pin, hash, sizeof(tok->bad_pin));
        tok->has_bad_pin = 1;
    }
    hsmkey_raise(HSMKEY_R_LOGIN, "token '%s': C_Login: %s (PIN from %s)",
                 tok->label, hsmkey_ckr_name(rv),
                 source != NULL ? source : "the URI's pin-value or a prompt");
    return 0;
}

int hsmkey_token_login(struct hsmkey_token *tok, P11KitUri *uri)
{
    struct hsmkey_pin *pin;
    const char *source;
    unsigned char hash[32];
    int ok = 0;

    if (!hsmkey_token_needs_login(tok) || hsmkey_token_is_logged_in(tok))
        return 1;
    if ((pin = resolve_pin(tok, uri, &source)) == NULL)
        return 0;
    /* Where the PIN came from, never the PIN. */
    hsmkey_debug("login", "token '%s' needs a login: the user PIN from %s",
                 tok->label, source != NULL ? source
                 : uri != NULL && p11_kit_uri_get_pin_value(uri) != NULL
                     ? "the URI's pin-value" : "the application's prompt");
    if (!pin_hash(tok, pin, hash))
        goto done;
    pthread_mutex_lock(&tok->login_lock);
    if (hsmkey_token_is_logged_in(tok)) {
        ok = 1;
    } else if (tok->has_bad_pin
               && CRYPTO_memcmp(hash, tok->bad_pin, sizeof(hash)) == 0) {
        hsmkey_debug("login", "token '%s': not offering a PIN it refused "
                     "before", tok->label);
        hsmkey_raise(HSMKEY_R_LOGIN, "token '%s': this PIN was already "
                     "refused (CKR_PIN_INCORRECT); not trying it again, as "
                     "tokens lock after a few wrong PINs", tok->label);
    } else {
        ok = login_locked(tok, pin, hash, source);
    }
    pthread_mutex_unlock(&tok->login_lock);
done:
    OPENSSL_cleanse(hash, sizeof(hash));
    hsmkey_pin_free(pin);
    return ok;
}
