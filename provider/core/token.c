/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.c - one token: who it is, whether it is there, and its login.
 *
 * Identity (slot, token info) changes only while the core's gate is closed
 * (a scan), so code under the gate reads it without a lock.  The token's
 * generation is its pool's epoch (pool.c).  Health: a token that says it
 * went away, or answers CKR_DEVICE_ERROR twice in a row, is "lost" until a
 * rescan finds it again (core.c, operation.c).
 *
 * Login happens once per token and epoch, one C_Login at a time.  The PIN
 * is resolved before anything is held (a prompt may call into the
 * application), used for one C_Login and wiped.  Every PIN the token
 * refused with CKR_PIN_INCORRECT in this process is remembered only as an
 * HMAC under a key of this token's, and never sent again: real tokens lock
 * after a few wrong tries.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core.h"
#include "hsmkey/debug.h"

#define PIN_MAC_LEN 32

struct refused_pin {
    unsigned char mac[PIN_MAC_LEN];
};

struct hsmkey_token {
    struct hsmkey_core *core; /* its owner; for recovery by operation.c */
    const struct hsmkey_settings *set;
    struct hsmkey_gate *gate;
    CK_FUNCTION_LIST *fn;
    const char *module_name; /* p11-kit's name and file of the module */
    const char *module_path;

    /* Written with the gate closed. */
    CK_SLOT_ID slot;
    CK_TOKEN_INFO info;
    CK_SLOT_INFO slot_info;
    CK_INFO module_info;
    char label[33]; /* info.label without its blank padding */
    int present;    /* the scan's mark: 1 seen, 0 to be seen, -1 absent */
    atomic_int login_required; /* CKF_LOGIN_REQUIRED, read without the gate */

    atomic_int lost;          /* it said it went away: look again first */
    atomic_int device_errors; /* CKR_DEVICE_ERROR in a row */
    atomic_int recoveries;    /* since the last operation that worked */
    struct hsmkey_pool *pool;
    struct hsmkey_index *index; /* its objects by class, label and id */
    /* SoftHSM2's C_CopyObject makes the copy with every attribute of the
     * original, CKA_TOKEN true included, and applies ours afterwards: a
     * search meanwhile would see two token keys with one id.  Searches
     * hold this shared, a copy exclusive; both only under the gate. */
    pthread_rwlock_t objects;

    pthread_mutex_t lock;     /* login state, refused PINs, mechanisms */
    pthread_cond_t login_done;
    atomic_ulong login_epoch;  /* epoch of the login that worked; 0: none */
    int login_busy;            /* a C_Login is under way */
    char *login_source;        /* the pin source that worked, for re-login */
    struct refused_pin *refused;
    size_t nrefused;
    unsigned char pin_key[PIN_MAC_LEN];
    CK_MECHANISM_TYPE *mechs;  /* sorted; NULL: not read yet */
    CK_ULONG nmechs;
    int mechs_unknown;         /* the token could not list them */
};

void hsmkey_p11_string(char *dst, size_t dstlen, const CK_UTF8CHAR *src,
                       size_t srclen)
{
    size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;

    memcpy(dst, src, n);
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
        n--;
    dst[n] = '\0';
}

/*
 * PKCS#11 pads a token's strings with blanks; tpm2-pkcs11 pads its model
 * with NUL bytes.  Read as blanks, so URIs made from the info carry no %00
 * (which hsmkey refuses in URIs) and still match the token.
 */
static void blank_padded(CK_UTF8CHAR *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0')
            s[i] = ' ';
}

void hsmkey_token_info_normalize(CK_TOKEN_INFO *info)
{
    blank_padded(info->label, sizeof(info->label));
    blank_padded(info->manufacturerID, sizeof(info->manufacturerID));
    blank_padded(info->model, sizeof(info->model));
    blank_padded(info->serialNumber, sizeof(info->serialNumber));
}

struct hsmkey_token *hsmkey_token_new(struct hsmkey_core *core,
                                      const struct hsmkey_settings *set,
                                      struct hsmkey_gate *gate,
                                      CK_FUNCTION_LIST *fn,
                                      const char *module_name,
                                      const char *module_path)
{
    struct hsmkey_token *tok = OPENSSL_zalloc(sizeof(*tok));

    if (tok == NULL
        || (tok->pool = hsmkey_pool_new(fn, gate, tok->label)) == NULL
        || (tok->index = hsmkey_index_new(tok->label)) == NULL) {
        if (tok != NULL)
            hsmkey_pool_free(tok->pool);
        OPENSSL_free(tok);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    tok->core = core;
    tok->set = set;
    tok->gate = gate;
    tok->fn = fn;
    tok->module_name = module_name;
    tok->module_path = module_path;
    pthread_rwlock_init(&tok->objects, NULL);
    pthread_mutex_init(&tok->lock, NULL);
    pthread_cond_init(&tok->login_done, NULL);
    /* Without randomness the MACs are only unkeyed: still no PIN kept. */
    if (RAND_priv_bytes(tok->pin_key, sizeof(tok->pin_key)) != 1)
        memset(tok->pin_key, 0, sizeof(tok->pin_key));
    return tok;
}

void hsmkey_token_free(struct hsmkey_token *tok)
{
    if (tok == NULL)
        return;
    hsmkey_pool_free(tok->pool);
    hsmkey_index_free(tok->index);
    OPENSSL_free(tok->login_source);
    OPENSSL_clear_free(tok->refused, tok->nrefused * sizeof(*tok->refused));
    OPENSSL_cleanse(tok->pin_key, sizeof(tok->pin_key));
    OPENSSL_free(tok->mechs);
    pthread_rwlock_destroy(&tok->objects);
    pthread_cond_destroy(&tok->login_done);
    pthread_mutex_destroy(&tok->lock);
    OPENSSL_free(tok);
}

/* ---- identity and presence (written with the gate closed) ---- */

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

void hsmkey_token_update(struct hsmkey_token *tok, CK_SLOT_ID slot,
                         const CK_TOKEN_INFO *info,
                         const CK_SLOT_INFO *slot_info,
                         const CK_INFO *module_info)
{
    tok->slot = slot;
    tok->info = *info;
    tok->slot_info = *slot_info;
    tok->module_info = *module_info;
    atomic_store(&tok->login_required,
                 (info->flags & CKF_LOGIN_REQUIRED) != 0);
    /* The label is part of the identity (hsmkey_token_is): written once,
     * before anyone reads it outside the gate. */
    if (tok->label[0] == '\0')
        hsmkey_p11_string(tok->label, sizeof(tok->label), info->label,
                          sizeof(info->label));
    hsmkey_pool_configure(tok->pool, slot, info, tok->set->max_sessions,
                          tok->set->session_wait_ms);
    if (hsmkey_debug_enabled())
        trace_token(tok);
}

/* The same token as before a re-initialization: slot ids may change. */
int hsmkey_token_is(const struct hsmkey_token *tok, CK_FUNCTION_LIST *fn,
                    const CK_TOKEN_INFO *info)
{
    return tok->fn == fn
           && memcmp(tok->info.label, info->label, sizeof(info->label)) == 0
           && memcmp(tok->info.serialNumber, info->serialNumber,
                     sizeof(info->serialNumber)) == 0
           && memcmp(tok->info.manufacturerID, info->manufacturerID,
                     sizeof(info->manufacturerID)) == 0;
}

int hsmkey_token_present(const struct hsmkey_token *tok)
{
    return tok->present;
}

void hsmkey_token_set_present(struct hsmkey_token *tok, int present)
{
    tok->present = present;
}

CK_SLOT_ID hsmkey_token_slot_now(const struct hsmkey_token *tok)
{
    return tok->slot;
}

/*
 * Everything that belonged to the old generation goes: sessions (closed
 * when close_old and the module still holds them), login, health.  The
 * gate is closed.  forked: the sessions and a login under way were the
 * parent's.
 */
void hsmkey_token_reset(struct hsmkey_token *tok, int close_old, int forked)
{
    hsmkey_pool_reset(tok->pool, close_old, forked);
    hsmkey_index_drop(tok->index);
    atomic_store(&tok->login_epoch, 0);
    pthread_mutex_lock(&tok->lock);
    if (forked)
        tok->login_busy = 0;
    OPENSSL_free(tok->mechs);
    tok->mechs = NULL;
    tok->nmechs = 0;
    tok->mechs_unknown = 0;
    pthread_mutex_unlock(&tok->lock);
    atomic_store(&tok->lost, 0);
    atomic_store(&tok->device_errors, 0);
}

/* ---- what others use ---- */

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

CK_FUNCTION_LIST *hsmkey_token_fn(const struct hsmkey_token *tok)
{
    return tok->fn;
}

/* For tests that make objects with sessions of their own. */
CK_FUNCTION_LIST *hsmkey_token_functions(const struct hsmkey_token *tok)
{
    return tok->fn;
}

struct hsmkey_gate *hsmkey_token_gate(const struct hsmkey_token *tok)
{
    return tok->gate;
}

struct hsmkey_pool *hsmkey_token_pool(const struct hsmkey_token *tok)
{
    return tok->pool;
}

struct hsmkey_index *hsmkey_token_index(const struct hsmkey_token *tok)
{
    return tok->index;
}

struct hsmkey_core *hsmkey_token_core(const struct hsmkey_token *tok)
{
    return tok->core;
}

const struct hsmkey_settings *hsmkey_token_settings(
    const struct hsmkey_token *tok)
{
    return tok->set;
}

unsigned long hsmkey_token_epoch(const struct hsmkey_token *tok)
{
    return hsmkey_pool_epoch(tok->pool);
}

/* Only under the gate: searches shared, C_CopyObject exclusive. */
void hsmkey_token_objects_lock(struct hsmkey_token *tok, int exclusive)
{
    if (exclusive)
        pthread_rwlock_wrlock(&tok->objects);
    else
        pthread_rwlock_rdlock(&tok->objects);
}

void hsmkey_token_objects_unlock(struct hsmkey_token *tok)
{
    pthread_rwlock_unlock(&tok->objects);
}

/*
 * Session-object copies (pool.c, object.c): SoftHSM2 re-reads a token
 * object's file on every use and serializes signatures on one object, so
 * a copy per session signs at the token's full parallel speed.  A hardware
 * token keeps the key in the device either way; a copy there costs scarce
 * object memory and gains nothing, so "auto" copies on SoftHSM2 only.
 */
int hsmkey_token_copies_keys(const struct hsmkey_token *tok)
{
    switch (tok->set->session_copies) {
    case HSMKEY_COPIES_ON:
        return 1;
    case HSMKEY_COPIES_OFF:
        return 0;
    default:
        return memcmp(tok->info.model, "SoftHSM", 7) == 0;
    }
}

/* ---- health ---- */

/* One more recovery of the token; how many in a row, this one included. */
int hsmkey_token_count_recovery(struct hsmkey_token *tok)
{
    return atomic_fetch_add(&tok->recoveries, 1) + 1;
}

int hsmkey_token_lost(const struct hsmkey_token *tok)
{
    return atomic_load(&tok->lost);
}

void hsmkey_token_mark_lost(struct hsmkey_token *tok)
{
    atomic_store(&tok->lost, 1);
}

/* What the outcome of an operation tells about the token. */
void hsmkey_token_note(struct hsmkey_token *tok, CK_RV rv)
{
    if (rv == CKR_OK) {
        if (atomic_load(&tok->device_errors) != 0)
            atomic_store(&tok->device_errors, 0);
        if (atomic_load(&tok->recoveries) != 0)
            atomic_store(&tok->recoveries, 0);
    } else if (hsmkey_ckr_loss(rv) == HSMKEY_LOST_TOKEN) {
        atomic_store(&tok->lost, 1);
    } else if (rv == CKR_DEVICE_ERROR
               && atomic_fetch_add(&tok->device_errors, 1) > 0) {
        /* One device error fails one operation; a second in a row means
         * the device is gone (a remote module lost its server). */
        atomic_store(&tok->lost, 1);
    }
}

/* ---- matching a URI ---- */

static int module_matches(P11KitUri *uri, const struct hsmkey_token *tok)
{
    const char *want_name = p11_kit_uri_get_module_name(uri);
    const char *want_path = p11_kit_uri_get_module_path(uri);

    if (!p11_kit_uri_match_module_info(uri, &tok->module_info))
        return 0;
    if (want_name != NULL
        && (tok->module_name == NULL || strcmp(tok->module_name, want_name)))
        return 0;
    return want_path == NULL
           || (tok->module_path != NULL
               && strcmp(tok->module_path, want_path) == 0);
}

int hsmkey_token_matches(const struct hsmkey_token *tok, P11KitUri *uri)
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

/* ---- mechanisms: read once, for messages and key generation ---- */

static int mech_cmp(const void *a, const void *b)
{
    CK_MECHANISM_TYPE x = *(const CK_MECHANISM_TYPE *)a;
    CK_MECHANISM_TYPE y = *(const CK_MECHANISM_TYPE *)b;

    return x < y ? -1 : x > y;
}

static void load_mechanisms(struct hsmkey_token *tok)
{
    struct hsmkey_fence fence;
    CK_MECHANISM_TYPE *list = NULL;
    CK_ULONG n = 0;
    CK_RV rv;

    hsmkey_call_begin(tok->gate, &fence);
    rv = tok->fn->C_GetMechanismList(tok->slot, NULL, &n);
    if (rv == CKR_OK && (list = OPENSSL_malloc((n ? n : 1) * sizeof(*list)))
                            == NULL)
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = tok->fn->C_GetMechanismList(tok->slot, list, &n);
    hsmkey_call_end(tok->gate, &fence);
    if (rv == CKR_OK)
        qsort(list, n, sizeof(*list), mech_cmp);
    pthread_mutex_lock(&tok->lock);
    if (tok->mechs == NULL && !tok->mechs_unknown) {
        tok->mechs_unknown = rv != CKR_OK;
        tok->mechs = rv == CKR_OK ? list : NULL;
        tok->nmechs = rv == CKR_OK ? n : 0;
        list = rv == CKR_OK ? NULL : list;
    }
    pthread_mutex_unlock(&tok->lock);
    OPENSSL_free(list);
}

/* 1 offered, 0 not, -1 the token cannot say. */
int hsmkey_token_has_mechanism(struct hsmkey_token *tok,
                               CK_MECHANISM_TYPE mech)
{
    int known, found = 0;

    pthread_mutex_lock(&tok->lock);
    known = tok->mechs != NULL || tok->mechs_unknown;
    pthread_mutex_unlock(&tok->lock);
    if (!known)
        load_mechanisms(tok);
    pthread_mutex_lock(&tok->lock);
    if (tok->mechs_unknown)
        found = -1;
    else if (tok->mechs != NULL)
        found = bsearch(&mech, tok->mechs, tok->nmechs, sizeof(mech),
                        mech_cmp) != NULL;
    pthread_mutex_unlock(&tok->lock);
    return found;
}

CK_RV hsmkey_token_mechanism_info(struct hsmkey_token *tok,
                                  CK_MECHANISM_TYPE mech,
                                  CK_MECHANISM_INFO *info)
{
    struct hsmkey_fence fence;
    CK_RV rv;

    hsmkey_call_begin(tok->gate, &fence);
    rv = tok->fn->C_GetMechanismInfo(tok->slot, mech, info);
    hsmkey_call_end(tok->gate, &fence);
    return rv;
}

/* ---- login ---- */

int hsmkey_token_needs_login(const struct hsmkey_token *tok)
{
    return atomic_load(&tok->login_required);
}

/* Lock-free: every operation on a private key asks. */
int hsmkey_token_is_logged_in(struct hsmkey_token *tok)
{
    unsigned long epoch = atomic_load(&tok->login_epoch);

    return epoch != 0 && epoch == hsmkey_token_epoch(tok);
}

/* The token forgot our login (it said CKR_USER_NOT_LOGGED_IN). */
void hsmkey_token_forget_login(struct hsmkey_token *tok)
{
    atomic_store(&tok->login_epoch, 0);
}

/*
 * Where the PIN comes from, first found wins: the URI the application
 * gave (pin-value, pin-source), HSMKEY_PIN_SOURCE, the configuration's
 * pin-source, the source that worked before (re-login after the token
 * started over), the application's prompt.  The environment comes before
 * the configuration, as for the module: in containers and systemd units it
 * is the last word.  secure_getenv: a setuid program's caller does not get
 * to feed PINs to the token.
 */
/* The application's prompt for one login, else the core's. */
struct pin_prompt {
    hsmkey_pin_prompt_fn *fn;
    void *arg;
};

static struct hsmkey_pin *resolve_pin(struct hsmkey_token *tok,
                                      P11KitUri *uri,
                                      const struct pin_prompt *prompt,
                                      char **source)
{
    const char *value = uri != NULL ? p11_kit_uri_get_pin_value(uri) : NULL;
    const char *src = uri != NULL ? p11_kit_uri_get_pin_source(uri) : NULL;

    *source = NULL;
    if (value != NULL)
        return hsmkey_pin_from_bytes(value, strlen(value));
    if (src == NULL)
        src = secure_getenv("HSMKEY_PIN_SOURCE");
    if (src == NULL || *src == '\0')
        src = tok->set->pin_source;
    if (src != NULL && *src != '\0') {
        *source = OPENSSL_strdup(src);
    } else {
        pthread_mutex_lock(&tok->lock);
        if (tok->login_source != NULL)
            *source = OPENSSL_strdup(tok->login_source);
        pthread_mutex_unlock(&tok->lock);
    }
    if (*source != NULL)
        return hsmkey_pin_resolve(*source);
    if (prompt->fn != NULL)
        return prompt->fn(tok->label, prompt->arg);
    if (tok->set->prompt != NULL)
        return tok->set->prompt(tok->label, tok->set->prompt_arg);
    hsmkey_raise(HSMKEY_R_LOGIN, "token '%s' needs a PIN and none is "
                 "configured: set HSMKEY_PIN_SOURCE, pin-source in the "
                 "configuration, or pin-source in the URI", tok->label);
    return NULL;
}

static int pin_mac(const struct hsmkey_token *tok, const struct hsmkey_pin *pin,
                   unsigned char mac[PIN_MAC_LEN])
{
    unsigned int len = 0;

    if (HMAC(EVP_sha256(), tok->pin_key, sizeof(tok->pin_key),
             hsmkey_pin_data(pin), hsmkey_pin_len(pin), mac, &len) == NULL
        || len != PIN_MAC_LEN) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "HMAC-SHA256 unavailable");
        return 0;
    }
    return 1;
}

/* tok->lock held. */
static int refused_locked(const struct hsmkey_token *tok,
                          const unsigned char mac[PIN_MAC_LEN])
{
    int found = 0;

    for (size_t i = 0; i < tok->nrefused; i++)
        found |= CRYPTO_memcmp(tok->refused[i].mac, mac, PIN_MAC_LEN) == 0;
    return found;
}

/* tok->lock held; a PIN not remembered (no memory) is only tried again. */
static void remember_refused_locked(struct hsmkey_token *tok,
                                    const unsigned char mac[PIN_MAC_LEN])
{
    struct refused_pin *grown;

    if (refused_locked(tok, mac))
        return;
    grown = OPENSSL_realloc(tok->refused,
                            (tok->nrefused + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    memcpy(grown[tok->nrefused++].mac, mac, PIN_MAC_LEN);
    tok->refused = grown;
}

/* One C_Login on a session of this epoch; *epoch: the one it was made in. */
static CK_RV login_call(struct hsmkey_token *tok, CK_USER_TYPE user,
                        const struct hsmkey_pin *pin, unsigned long *epoch)
{
    struct hsmkey_session *s;
    struct hsmkey_fence fence;
    CK_RV rv = hsmkey_pool_lease(tok->pool, 0, &s);

    if (rv != CKR_OK) {
        /* Not the PIN's fault: said as it is, and a lost token is looked
         * for again by the runner like after any other call. */
        if (hsmkey_ckr_loss(rv) == HSMKEY_LOST_TOKEN)
            hsmkey_token_mark_lost(tok);
        if (rv != HSMKEY_CKR_RAISED)
            hsmkey_raise(hsmkey_ckr_loss(rv) == HSMKEY_LOST_TOKEN
                             ? HSMKEY_R_TOKEN_NOT_FOUND : HSMKEY_R_PKCS11,
                         "token '%s': C_OpenSession to log in: %s",
                         tok->label, hsmkey_ckr_name(rv));
        return HSMKEY_CKR_RAISED;
    }
    hsmkey_call_begin(tok->gate, &fence);
    *epoch = hsmkey_session_epoch(s);
    if (!hsmkey_session_current(tok->pool, s)) {
        rv = HSMKEY_CKR_STALE;
    } else {
        rv = tok->fn->C_Login(hsmkey_session_handle(s), user,
                              (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                              hsmkey_pin_len(pin));
        /* SoftHSM2 rewrites its token file at login: another process at
         * the same instant can fail one.  Never repeated on a PIN error. */
        if (rv == CKR_GENERAL_ERROR || rv == CKR_DEVICE_ERROR)
            rv = tok->fn->C_Login(hsmkey_session_handle(s), user,
                                  (CK_UTF8CHAR *)hsmkey_pin_data(pin),
                                  hsmkey_pin_len(pin));
    }
    hsmkey_call_end(tok->gate, &fence);
    hsmkey_debug("login", "token '%s': C_Login: %s", tok->label,
                 hsmkey_ckr_name(rv));
    if (hsmkey_ckr_loss(rv) == HSMKEY_LOST_TOKEN)
        hsmkey_token_mark_lost(tok); /* the runner looks for it again */
    hsmkey_pool_release(tok->pool, s,
                        hsmkey_ckr_loss(rv) == HSMKEY_LOST_SESSION
                                || hsmkey_ckr_loss(rv) == HSMKEY_LOST_TOKEN
                            ? HSMKEY_RELEASE_LOST : HSMKEY_RELEASE_KEEP);
    return rv;
}

/* A pooled session the token dropped says nothing about the PIN. */
static CK_RV login_user(struct hsmkey_token *tok, const struct hsmkey_pin *pin,
                        unsigned long *epoch)
{
    CK_RV rv = login_call(tok, CKU_USER, pin, epoch);

    if (hsmkey_ckr_loss(rv) == HSMKEY_LOST_SESSION)
        rv = login_call(tok, CKU_USER, pin, epoch);
    return rv;
}

/* The attempt's outcome, recorded and raised; tok->lock held. */
static int login_result_locked(struct hsmkey_token *tok, CK_RV rv,
                               unsigned long epoch, char **source,
                               const unsigned char mac[PIN_MAC_LEN])
{
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        atomic_store(&tok->login_epoch, epoch);
        if (*source != NULL) {
            OPENSSL_free(tok->login_source);
            tok->login_source = *source;
            *source = NULL;
        }
        return 1;
    }
    if (rv == CKR_PIN_INCORRECT)
        remember_refused_locked(tok, mac);
    if (rv != HSMKEY_CKR_RAISED)
        hsmkey_raise(HSMKEY_R_LOGIN, "token '%s': C_Login: %s (PIN from %s)",
                     tok->label, hsmkey_ckr_name(rv),
                     *source != NULL ? *source
                                     : "the URI's pin-value or a prompt");
    return 0;
}

static int login_with(struct hsmkey_token *tok, P11KitUri *uri,
                      const struct pin_prompt *prompt)
{
    unsigned char mac[PIN_MAC_LEN];
    struct hsmkey_pin *pin;
    char *source = NULL;
    unsigned long epoch = 0;
    CK_RV rv;
    int ok = 0;

    if (!hsmkey_token_needs_login(tok) || hsmkey_token_is_logged_in(tok))
        return 1;
    if ((pin = resolve_pin(tok, uri, prompt, &source)) == NULL)
        goto done;
    /* Where the PIN came from, never the PIN. */
    hsmkey_debug("login", "token '%s' needs a login: the user PIN from %s",
                 tok->label, source != NULL ? source
                 : uri != NULL && p11_kit_uri_get_pin_value(uri) != NULL
                     ? "the URI's pin-value" : "a prompt");
    if (!pin_mac(tok, pin, mac))
        goto done;
    pthread_mutex_lock(&tok->lock);
    while (tok->login_busy)
        pthread_cond_wait(&tok->login_done, &tok->lock);
    if (hsmkey_token_is_logged_in(tok)) {
        ok = 1;
    } else if (refused_locked(tok, mac)) {
        hsmkey_debug("login", "token '%s': not offering a PIN it refused "
                     "before", tok->label);
        hsmkey_raise(HSMKEY_R_LOGIN, "token '%s': this PIN was already "
                     "refused (CKR_PIN_INCORRECT); not trying it again, as "
                     "tokens lock after a few wrong PINs", tok->label);
    } else {
        tok->login_busy = 1;
        pthread_mutex_unlock(&tok->lock);
        rv = login_user(tok, pin, &epoch);
        pthread_mutex_lock(&tok->lock);
        tok->login_busy = 0;
        pthread_cond_broadcast(&tok->login_done);
        ok = login_result_locked(tok, rv, epoch, &source, mac);
    }
    pthread_mutex_unlock(&tok->lock);
done:
    OPENSSL_cleanse(mac, sizeof(mac));
    hsmkey_pin_free(pin);
    OPENSSL_free(source);
    return ok;
}

int hsmkey_token_login(struct hsmkey_token *tok, P11KitUri *uri)
{
    static const struct pin_prompt none = { NULL, NULL };

    return login_with(tok, uri, &none);
}

/*
 * With the application's prompt asked last (its passphrase callback).  The
 * prompt is not kept: a later login (after the token started over, or
 * CKA_ALWAYS_AUTHENTICATE's per-signature one) never repeats its answer.
 */
int hsmkey_token_login_prompt(struct hsmkey_token *tok, P11KitUri *uri,
                              hsmkey_pin_prompt_fn *fn, void *arg)
{
    struct pin_prompt prompt = { fn, arg };

    return login_with(tok, uri, &prompt);
}

/*
 * The PIN again, for a key that wants it after every C_SignInit
 * (CKA_ALWAYS_AUTHENTICATE: PIV, a YubiKey's signature slot): from the
 * source that logged in, else the prompt asks again.  NULL: none.
 */
struct hsmkey_pin *hsmkey_token_context_pin(struct hsmkey_token *tok)
{
    struct hsmkey_pin *pin = NULL;
    char *src = NULL;

    pthread_mutex_lock(&tok->lock);
    if (tok->login_source != NULL)
        src = OPENSSL_strdup(tok->login_source);
    pthread_mutex_unlock(&tok->lock);
    if (src != NULL)
        pin = hsmkey_pin_resolve(src);
    else if (tok->set->prompt != NULL)
        pin = tok->set->prompt(tok->label, tok->set->prompt_arg);
    OPENSSL_free(src);
    return pin;
}

/* ---- fork: the core's handlers hold these across fork() ---- */

void hsmkey_token_fork_prepare(struct hsmkey_token *tok)
{
    pthread_mutex_lock(&tok->lock);
    hsmkey_pool_fork_prepare(tok->pool);
    hsmkey_index_fork_prepare(tok->index);
}

void hsmkey_token_fork_parent(struct hsmkey_token *tok)
{
    hsmkey_index_fork_parent(tok->index);
    hsmkey_pool_fork_parent(tok->pool);
    pthread_mutex_unlock(&tok->lock);
}

/* A login another thread had under way in the parent never ends here. */
void hsmkey_token_fork_child(struct hsmkey_token *tok)
{
    hsmkey_index_fork_child(tok->index);
    hsmkey_pool_fork_child(tok->pool);
    pthread_cond_init(&tok->login_done, NULL);
    tok->login_busy = 0;
    atomic_store(&tok->login_epoch, 0);
    pthread_mutex_unlock(&tok->lock);
}
