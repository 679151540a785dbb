/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.c - slots and tokens: discovery at module start, matching a URI
 * against token, slot and module attributes.
 */
#include <stdlib.h>
#include <string.h>
#include <p11-kit/p11-kit.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core.h"
#include "hsmkey/debug.h"

void hsmkey_p11_string(char *dst, size_t dstlen, const CK_UTF8CHAR *src,
                       size_t srclen)
{
    size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;

    memcpy(dst, src, n);
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
        n--;
    dst[n] = '\0';
}

struct hsmkey_token *hsmkey_token_new(struct hsmkey_core *core,
                                      CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                                      const CK_TOKEN_INFO *info)
{
    struct hsmkey_token *tok = OPENSSL_zalloc(sizeof(*tok));

    if (tok == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    tok->core = core;
    atomic_init(&tok->gen, 1);
    tok->fn = fn;
    tok->slot = slot;
    tok->info = *info;
    hsmkey_p11_string(tok->label, sizeof(tok->label), info->label,
                      sizeof(info->label));
    pthread_mutex_init(&tok->lock, NULL);
    pthread_mutex_init(&tok->login_lock, NULL);
    pthread_mutex_init(&tok->recover_lock, NULL);
    pthread_rwlock_init(&tok->copy_lock, NULL);
    if (RAND_bytes(tok->pin_salt, sizeof(tok->pin_salt)) != 1)
        memset(tok->pin_salt, 0x5a, sizeof(tok->pin_salt));
    return tok;
}

void hsmkey_token_free(struct hsmkey_token *tok)
{
    if (tok == NULL)
        return;
    /* Sessions end with C_Finalize (or with the process at exit). */
    OPENSSL_free(tok->pool);
    OPENSSL_free(tok->lent);
    OPENSSL_free(tok->mechs);
    OPENSSL_free(tok->login_source);
    OPENSSL_cleanse(tok->bad_pin, sizeof(tok->bad_pin));
    pthread_mutex_destroy(&tok->lock);
    pthread_mutex_destroy(&tok->login_lock);
    pthread_mutex_destroy(&tok->recover_lock);
    pthread_rwlock_destroy(&tok->copy_lock);
    OPENSSL_free(tok);
}

/* The same token as before a re-initialization: slot ids may change. */
static int same_token(const struct hsmkey_token *tok, CK_FUNCTION_LIST *fn,
                      const CK_TOKEN_INFO *info)
{
    return tok->fn == fn
           && memcmp(tok->info.label, info->label, sizeof(info->label)) == 0
           && memcmp(tok->info.serialNumber, info->serialNumber,
                     sizeof(info->serialNumber)) == 0
           && memcmp(tok->info.manufacturerID, info->manufacturerID,
                     sizeof(info->manufacturerID)) == 0;
}

void hsmkey_token_reset(struct hsmkey_token *tok, int close_sessions)
{
    /* The keeper is left, not closed: another thread may be signing with
     * a copy it holds, and a module may free the key under that C_Sign. */
    pthread_mutex_lock(&tok->lock);
    tok->keeper_gen = 0;
    pthread_mutex_unlock(&tok->lock);
    atomic_fetch_add(&tok->gen, 1);
    atomic_fetch_add(&tok->core->changes, 1);

    hsmkey_token_forget_login(tok);
    hsmkey_token_pool_reset(tok, close_sessions);
}

static void trace_token(const struct hsmkey_token *tok)
{
    char model[17], maker[33], serial[17];
    CK_FLAGS f = tok->info.flags;

    hsmkey_p11_string(model, sizeof(model), tok->info.model,
                      sizeof(tok->info.model));
    hsmkey_p11_string(maker, sizeof(maker), tok->info.manufacturerID,
                      sizeof(tok->info.manufacturerID));
    hsmkey_p11_string(serial, sizeof(serial), tok->info.serialNumber,
                      sizeof(tok->info.serialNumber));
    hsmkey_debug_print("token", "slot %lu: token '%s' (model '%s', '%s', "
                       "serial %s)%s%s%s%s", (unsigned long)tok->slot,
                       tok->label, model, maker, serial,
                       f & CKF_TOKEN_INITIALIZED ? "" : " not initialized",
                       f & CKF_LOGIN_REQUIRED ? " login-required" : "",
                       f & CKF_PROTECTED_AUTHENTICATION_PATH
                           ? " protected-authentication-path" : "",
                       f & CKF_USER_PIN_LOCKED ? " user-PIN-locked" : "");
}

static int add_token(struct hsmkey_core *core, CK_FUNCTION_LIST *fn,
                     CK_SLOT_ID slot, const CK_TOKEN_INFO *info,
                     const CK_INFO *minfo, int reset_all)
{
    struct hsmkey_token *tok = NULL;
    struct hsmkey_token **grown;

    for (size_t i = 0; i < core->ntokens && tok == NULL; i++)
        if (core->tokens[i]->present <= 0
            && same_token(core->tokens[i], fn, info))
            tok = core->tokens[i];
    if (tok == NULL) {
        grown = OPENSSL_realloc(core->tokens,
                                (core->ntokens + 1) * sizeof(*grown));
        if (grown == NULL) {
            hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
            return 0;
        }
        core->tokens = grown;
        if ((tok = hsmkey_token_new(core, fn, slot, info)) == NULL)
            return 0;
        core->tokens[core->ntokens++] = tok;
    }
    /* present: 1 seen now; 0 was there before this scan; -1 was absent */
    if (reset_all || tok->present < 0 || tok->slot != slot)
        hsmkey_token_reset(tok, 0);
    /* Other threads read slot and info under tok->lock (session.c). */
    pthread_mutex_lock(&tok->lock);
    tok->slot = slot;
    tok->info = *info;
    pthread_mutex_unlock(&tok->lock);
    tok->module_info = *minfo; /* these two: read under core->lock only */
    tok->present = 1;
    if (fn->C_GetSlotInfo(slot, &tok->slot_info) != CKR_OK)
        memset(&tok->slot_info, 0, sizeof(tok->slot_info));
    if (hsmkey_debug_enabled())
        trace_token(tok);
    return 1;
}

/* CKR_OK, or the CK_RV of the failing call (CKR_HOST_MEMORY: raised). */
static CK_RV scan_module(struct hsmkey_core *core, CK_FUNCTION_LIST *fn,
                         int reset_all)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    CK_TOKEN_INFO info;
    CK_INFO minfo;
    CK_RV rv;

    if (fn->C_GetInfo(&minfo) != CKR_OK)
        memset(&minfo, 0, sizeof(minfo));
    rv = fn->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv == CKR_OK && n > 0) {
        if ((slots = OPENSSL_malloc(n * sizeof(*slots))) == NULL)
            return CKR_HOST_MEMORY;
        rv = fn->C_GetSlotList(CK_TRUE, slots, &n);
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        /* A token pulled between the two calls is simply not there. */
        if (fn->C_GetTokenInfo(slots[i], &info) != CKR_OK)
            continue;
        if (!add_token(core, fn, slots[i], &info, &minfo, reset_all))
            rv = CKR_HOST_MEMORY;
    }
    OPENSSL_free(slots);
    return rv;
}

/*
 * Modules built on OpenSSL (SoftHSM2 probes engines when it starts) leave
 * their own errors in the queue: kept out, only ours are raised.
 */
int hsmkey_token_scan(struct hsmkey_core *core, int reset_all)
{
    CK_RV rv = CKR_OK;

    for (size_t i = 0; i < core->ntokens; i++)
        core->tokens[i]->present = core->tokens[i]->present > 0 ? 0 : -1;
    hsmkey_err_set_mark();
    for (size_t i = 0; rv == CKR_OK && core->modules[i] != NULL; i++)
        rv = scan_module(core, core->modules[i], reset_all);
    hsmkey_err_pop_to_mark();
    for (size_t i = 0; i < core->ntokens; i++) {
        if (core->tokens[i]->present == 0) { /* gone since the last scan */
            hsmkey_debug("token", "'%s' is gone", core->tokens[i]->label);
            hsmkey_token_reset(core->tokens[i], 0);
            core->tokens[i]->present = -1;
        }
    }
    if (rv != CKR_OK)
        hsmkey_raise(rv == CKR_HOST_MEMORY ? HSMKEY_R_INTERNAL
                                           : HSMKEY_R_MODULE,
                     "PKCS#11 module %s: listing slots and tokens: %s",
                     hsmkey_core_module_name(core), hsmkey_ckr_name(rv));
    return rv == CKR_OK;
}

static int rescan_finds(struct hsmkey_token *tok)
{
    struct hsmkey_core *core = tok->core;
    int present;

    pthread_mutex_lock(&core->lock);
    tok->present = -1;
    hsmkey_token_scan(core, 0);
    present = tok->present > 0;
    pthread_mutex_unlock(&core->lock);
    return present;
}

/*
 * A rescan finds a re-inserted token.  A module that cannot see its device
 * at all (a remote module whose server restarted) lists nothing or keeps
 * failing: then the module itself starts over.
 */
int hsmkey_token_recover(struct hsmkey_token *tok, unsigned long gen)
{
    int present, tries;

    pthread_mutex_lock(&tok->recover_lock);
    if (hsmkey_token_gen(tok) != gen && !atomic_load(&tok->lost)) {
        pthread_mutex_unlock(&tok->recover_lock); /* another thread did it */
        return 1;
    }
    tries = atomic_fetch_add(&tok->recoveries, 1);
    hsmkey_debug("recover", "token '%s': looking for it again (recovery %d "
                 "since the last operation that worked)", tok->label,
                 tries + 1);
    /* Its sessions died with it: close what is left, log in again later. */
    atomic_store(&tok->lost, 0);
    hsmkey_token_reset(tok, 1);
    present = rescan_finds(tok);
    if ((!present || tries > 0) && hsmkey_core_restart(tok->core))
        present = tok->present > 0;
    pthread_mutex_unlock(&tok->recover_lock);
    hsmkey_debug("recover", "token '%s': %s", tok->label,
                 present ? "present again" : "not present");
    if (!present) {
        atomic_store(&tok->lost, 1);
        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "token '%s' is not present "
                     "(removed, or its device is unreachable)", tok->label);
    }
    return present;
}

static int module_matches(P11KitUri *uri, const struct hsmkey_token *tok)
{
    const char *want_name = p11_kit_uri_get_module_name(uri);
    const char *want_path = p11_kit_uri_get_module_path(uri);
    char *have;
    int ok = 1;

    if (!p11_kit_uri_match_module_info(uri, &tok->module_info))
        return 0;
    if (want_name != NULL) {
        have = p11_kit_module_get_name(tok->fn);
        ok = have != NULL && strcmp(have, want_name) == 0;
        free(have);
    }
    if (ok && want_path != NULL) {
        have = p11_kit_module_get_filename(tok->fn);
        ok = have != NULL && strcmp(have, want_path) == 0;
        free(have);
    }
    return ok;
}

static int token_matches(P11KitUri *uri, struct hsmkey_token *tok)
{
    CK_SLOT_ID want_slot;

    if (tok->present <= 0 || !(tok->info.flags & CKF_TOKEN_INITIALIZED))
        return 0;
    if (uri == NULL)
        return 1;
    want_slot = p11_kit_uri_get_slot_id(uri);
    if (want_slot != (CK_SLOT_ID)-1 && want_slot != tok->slot)
        return 0;
    return p11_kit_uri_match_token_info(uri, &tok->info)
           && p11_kit_uri_match_slot_info(uri, &tok->slot_info)
           && module_matches(uri, tok);
}

int hsmkey_core_tokens(struct hsmkey_core *core, P11KitUri *uri,
                       struct hsmkey_token ***tokens, size_t *count)
{
    struct hsmkey_token **out;
    size_t n = 0;

    *tokens = NULL;
    *count = 0;
    if (!hsmkey_core_ensure(core))
        return 0;
    pthread_mutex_lock(&core->lock);
    out = OPENSSL_zalloc((core->ntokens + 1) * sizeof(*out));
    if (out != NULL)
        for (size_t i = 0; i < core->ntokens; i++)
            if (token_matches(uri, core->tokens[i]))
                out[n++] = core->tokens[i];
    pthread_mutex_unlock(&core->lock);
    if (out == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    *tokens = out;
    *count = n;
    return 1;
}

const CK_TOKEN_INFO *hsmkey_token_info(const struct hsmkey_token *tok)
{
    return &tok->info;
}

CK_SLOT_ID hsmkey_token_slot(const struct hsmkey_token *tok)
{
    return tok->slot;
}

const char *hsmkey_token_label(const struct hsmkey_token *tok)
{
    return tok->label;
}

CK_FUNCTION_LIST *hsmkey_token_functions(const struct hsmkey_token *tok)
{
    return tok->fn;
}
