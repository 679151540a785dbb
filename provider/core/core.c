/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core.c - the core object: its configuration, and the lifecycle of its
 * modules and tokens.
 *
 * Nothing is loaded until an entry point needs a token (hsmkey_core_ensure:
 * a search, a token listing, an operation on a key found before a fork), so
 * a program may load the provider and fork before it uses a key.  Every
 * lifecycle change - start, restart, rescan, fork - happens with the core's
 * gate closed (call.c): no module call is under way meanwhile, and the
 * token list and each token's identity, which only those changes write, are
 * read under the gate.
 *
 * Fork: the atfork handlers close the gate of every core (waiting for the
 * calls under way to end) and hold every lock of the core across fork(), so
 * the child inherits no lock held by a thread it does not have; the child
 * marks every core to start over on its first use.  docs/DESIGN.md gives
 * the order in which those locks are taken.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

struct hsmkey_core {
    struct hsmkey_settings set;
    struct hsmkey_gate gate;
    struct hsmkey_modules *mods; /* NULL until the first start */
    atomic_ulong ready_gen;      /* fork generation it started in; 0: not */
    struct hsmkey_token **tokens; /* never shrinks: tokens are kept */
    size_t ntokens;
    atomic_ulong changes; /* moves when a token starts over (cache.c) */
    struct hsmkey_cache *cache;
    long last_restart;    /* ms, CLOCK_MONOTONIC; with the gate closed */
    struct hsmkey_core *next_core; /* the registry, for the fork handlers */
};

/* ---- process state: fork generation, exit, the registry of cores ---- */

static atomic_ulong fork_gen = 1;
static atomic_int exiting;
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsmkey_core *registry; /* guarded by registry_lock */
/* The forking thread was inside a module call (a module forking a helper
 * of its own): the handlers stand aside, the child will exec. */
static _Thread_local int fork_bypassed;

unsigned long hsmkey_fork_generation(void)
{
    return atomic_load(&fork_gen);
}

int hsmkey_process_exiting(void)
{
    return atomic_load(&exiting);
}

static void fork_prepare(void)
{
    fork_bypassed = hsmkey_call_depth() > 0;
    if (fork_bypassed)
        return;
    pthread_mutex_lock(&registry_lock);
    /* Every gate first, then the rest (docs/DESIGN.md, lock order). */
    for (struct hsmkey_core *c = registry; c != NULL; c = c->next_core)
        hsmkey_gate_close_for_fork(&c->gate);
    for (struct hsmkey_core *c = registry; c != NULL; c = c->next_core) {
        hsmkey_cache_fork_prepare(c->cache);
        for (size_t i = 0; i < c->ntokens; i++)
            hsmkey_token_fork_prepare(c->tokens[i]);
    }
}

static void fork_parent(void)
{
    if (fork_bypassed)
        return;
    for (struct hsmkey_core *c = registry; c != NULL; c = c->next_core) {
        for (size_t i = c->ntokens; i-- > 0;)
            hsmkey_token_fork_parent(c->tokens[i]);
        hsmkey_cache_fork_parent(c->cache);
        hsmkey_gate_reopen_after_fork(&c->gate);
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Only bookkeeping here, no module call: the child starts over at its
 * first entry point (hsmkey_core_ensure). */
static void fork_child(void)
{
    if (fork_bypassed)
        return;
    atomic_fetch_add(&fork_gen, 1);
    for (struct hsmkey_core *c = registry; c != NULL; c = c->next_core) {
        for (size_t i = c->ntokens; i-- > 0;)
            hsmkey_token_fork_child(c->tokens[i]);
        hsmkey_cache_fork_child(c->cache);
        hsmkey_gate_reopen_in_child(&c->gate);
    }
    pthread_mutex_unlock(&registry_lock);
}

static void install_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/*
 * SoftHSM2 (and other C++ modules) destroy their state in exit-time
 * destructors.  This handler is registered after the first module start,
 * so it runs before those; from then on nothing calls a module.
 */
static void mark_exiting(void)
{
    atomic_store(&exiting, 1);
}

static void install_exit_handler(void)
{
    atexit(mark_exiting);
}

/* ---- configuration ---- */

struct hsmkey_core *hsmkey_core_new(const char *module_path,
                                    const char *pin_source)
{
    struct hsmkey_core *core = OPENSSL_zalloc(sizeof(*core));

    if (core == NULL)
        goto err;
    if (module_path != NULL && *module_path != '\0'
        && (core->set.module_path = OPENSSL_strdup(module_path)) == NULL)
        goto err;
    if (pin_source != NULL && *pin_source != '\0'
        && (core->set.pin_source = OPENSSL_strdup(pin_source)) == NULL)
        goto err;
    if ((core->cache = hsmkey_cache_new()) == NULL)
        goto err;
    core->set.session_copies = HSMKEY_COPIES_AUTO;
    core->set.session_wait_ms = HSMKEY_SESSION_WAIT_MS;
    hsmkey_gate_init(&core->gate);
    atomic_init(&core->ready_gen, 0);
    atomic_init(&core->changes, 0);
    pthread_once(&handlers_once, install_fork_handlers);
    pthread_mutex_lock(&registry_lock);
    core->next_core = registry;
    registry = core;
    pthread_mutex_unlock(&registry_lock);
    return core;
err:
    if (core != NULL) {
        OPENSSL_free(core->set.module_path);
        OPENSSL_free(core->set.pin_source);
        OPENSSL_free(core);
    }
    hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return NULL;
}

int hsmkey_core_set_init_args(struct hsmkey_core *core, const char *args)
{
    OPENSSL_free(core->set.init_args);
    core->set.init_args = NULL;
    if (args == NULL || *args == '\0')
        return 1;
    if ((core->set.init_args = OPENSSL_strdup(args)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    return 1;
}

void hsmkey_core_set_notice(struct hsmkey_core *core, hsmkey_notice_fn *fn,
                            void *arg)
{
    core->set.notice = fn;
    core->set.notice_arg = arg;
}

void hsmkey_core_set_enter(struct hsmkey_core *core, hsmkey_enter_fn *fn,
                           void *arg)
{
    core->set.enter = fn;
    core->set.enter_arg = arg;
}

void hsmkey_core_set_pin_prompt(struct hsmkey_core *core,
                                hsmkey_pin_prompt_fn *fn, void *arg)
{
    core->set.prompt = fn;
    core->set.prompt_arg = arg;
}

void hsmkey_core_set_session_copies(struct hsmkey_core *core,
                                    enum hsmkey_copies mode)
{
    core->set.session_copies = mode;
}

void hsmkey_core_set_sessions(struct hsmkey_core *core,
                              unsigned long max_sessions, long wait_ms)
{
    core->set.max_sessions = max_sessions;
    core->set.session_wait_ms = wait_ms;
}

const char *hsmkey_core_module_name(const struct hsmkey_core *core)
{
    return core->set.module_path != NULL ? core->set.module_path
                                         : "p11-kit registered modules";
}

/* ---- tokens, as a scan finds them (gate closed) ---- */

static struct hsmkey_token *token_for(struct hsmkey_core *core,
                                      CK_FUNCTION_LIST *fn,
                                      const CK_TOKEN_INFO *info)
{
    struct hsmkey_token **grown, *tok;

    for (size_t i = 0; i < core->ntokens; i++)
        if (hsmkey_token_present(core->tokens[i]) <= 0
            && hsmkey_token_is(core->tokens[i], fn, info))
            return core->tokens[i];
    grown = OPENSSL_realloc(core->tokens, (core->ntokens + 1) * sizeof(*grown));
    if (grown == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    core->tokens = grown;
    tok = hsmkey_token_new(core, &core->set, &core->gate, fn,
                           hsmkey_modules_name(core->mods, fn),
                           hsmkey_modules_path(core->mods, fn));
    if (tok != NULL)
        core->tokens[core->ntokens++] = tok;
    return tok;
}

/* A token seen in this scan: present from now; reset when it was absent
 * or moved to another slot (its sessions and handles are gone). */
static int seen(struct hsmkey_core *core, CK_FUNCTION_LIST *fn,
                CK_SLOT_ID slot, const CK_TOKEN_INFO *info,
                const CK_INFO *minfo)
{
    struct hsmkey_token *tok = token_for(core, fn, info);
    CK_SLOT_INFO slot_info;
    int was;

    if (tok == NULL)
        return 0;
    was = hsmkey_token_present(tok);
    if (fn->C_GetSlotInfo(slot, &slot_info) != CKR_OK)
        memset(&slot_info, 0, sizeof(slot_info));
    if (was < 0 || (was == 0 && hsmkey_token_slot_now(tok) != slot)) {
        hsmkey_token_reset(tok, 1, 0);
        atomic_fetch_add(&core->changes, 1);
    }
    hsmkey_token_update(tok, slot, info, &slot_info, minfo);
    hsmkey_token_set_present(tok, 1);
    return 1;
}

/* CKR_OK, or the CK_RV of the failing call (CKR_HOST_MEMORY: raised). */
static CK_RV scan_module(struct hsmkey_core *core, CK_FUNCTION_LIST *fn)
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
        hsmkey_token_info_normalize(&info);
        if (!seen(core, fn, slots[i], &info, &minfo))
            rv = CKR_HOST_MEMORY;
    }
    OPENSSL_free(slots);
    return rv;
}

/* Look at every slot again; the gate is closed. */
static int scan(struct hsmkey_core *core)
{
    struct hsmkey_fence fence;
    CK_RV rv = CKR_OK;

    for (size_t i = 0; i < core->ntokens; i++)
        hsmkey_token_set_present(core->tokens[i],
                                 hsmkey_token_present(core->tokens[i]) > 0
                                     ? 0 : -1);
    hsmkey_fence_begin(&fence);
    for (size_t i = 0; rv == CKR_OK && i < hsmkey_modules_count(core->mods);
         i++)
        rv = scan_module(core, hsmkey_modules_get(core->mods, i));
    hsmkey_fence_end(&fence);
    for (size_t i = 0; i < core->ntokens; i++) {
        struct hsmkey_token *tok = core->tokens[i];

        if (hsmkey_token_present(tok) == 0) { /* gone since the last scan */
            hsmkey_debug("token", "'%s' is gone", hsmkey_token_label(tok));
            hsmkey_token_reset(tok, 1, 0);
            hsmkey_token_set_present(tok, -1);
            atomic_fetch_add(&core->changes, 1);
        }
    }
    if (rv != CKR_OK)
        hsmkey_raise(rv == CKR_HOST_MEMORY ? HSMKEY_R_INTERNAL
                                           : HSMKEY_R_MODULE,
                     "PKCS#11 module %s: listing slots and tokens: %s",
                     hsmkey_core_module_name(core), hsmkey_ckr_name(rv));
    return rv == CKR_OK;
}

/* Every token starts over; forked: what they held was the parent's. */
static void reset_all(struct hsmkey_core *core, int forked)
{
    for (size_t i = 0; i < core->ntokens; i++)
        hsmkey_token_reset(core->tokens[i], !forked, forked);
    atomic_fetch_add(&core->changes, 1);
}

/* ---- start, restart ---- */

/* The gate is closed.  In a forked child the modules were started by the
 * parent: their sessions and login are not ours, so they start over. */
static int start(struct hsmkey_core *core, unsigned long gen)
{
    int forked = atomic_load(&core->ready_gen) != 0;

    if (core->mods == NULL) {
        if ((core->mods = hsmkey_modules_load(&core->set)) == NULL)
            return 0;
    } else {
        /* After a fork, or a start that failed half way. */
        if (forked)
            hsmkey_debug("module", "first use in a forked child (generation "
                         "%lu): the modules start over", gen);
        reset_all(core, forked);
        hsmkey_modules_finalize(core->mods);
    }
    if (!hsmkey_modules_initialize(core->mods))
        return 0;
    pthread_once(&exit_once, install_exit_handler);
    if (!scan(core))
        return 0;
    atomic_store(&core->ready_gen, gen);
    return 1;
}

int hsmkey_core_ensure(struct hsmkey_core *core)
{
    unsigned long gen = hsmkey_fork_generation();
    int ok;

    hsmkey_return_val_if_fail(core != NULL, 0);
    if (core->set.enter != NULL)
        core->set.enter(core->set.enter_arg);
    if (atomic_load(&core->ready_gen) == gen)
        return 1;
    hsmkey_gate_close(&core->gate);
    ok = atomic_load(&core->ready_gen) == gen || start(core, gen);
    hsmkey_gate_reopen(&core->gate);
    return ok;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * C_Finalize + C_Initialize, as after a fork: a remote module
 * (p11-kit-client.so) whose server went away reconnects only so.  Every
 * token's sessions are closed first.  At most every 250 ms, so an outage
 * costs each operation a quick failure, not a reconnect.  Gate closed.
 */
static int restart(struct hsmkey_core *core)
{
    long now = now_ms();
    int ok;

    if (core->mods == NULL || now - core->last_restart < 250)
        return 0;
    core->last_restart = now;
    hsmkey_debug("recover", "modules restart (C_Finalize, C_Initialize): a "
                 "token stays unreachable");
    reset_all(core, 0);
    hsmkey_modules_finalize(core->mods);
    ok = hsmkey_modules_initialize(core->mods) && scan(core);
    hsmkey_debug("recover", "modules restart: %s", ok ? "done" : "failed");
    return ok;
}

/*
 * The token said it went away, in epoch (or failed twice in a row).  A
 * rescan finds a re-inserted token; a module that cannot see its device at
 * all (a remote module whose server restarted) lists nothing or keeps
 * failing: then, and at a second recovery in a row, the modules start
 * over.  1 when the token is there again.
 * Another thread's recovery since epoch counts as done.
 */
int hsmkey_core_recover(struct hsmkey_core *core, struct hsmkey_token *tok,
                        unsigned long epoch)
{
    int present;

    hsmkey_gate_close(&core->gate);
    if (hsmkey_token_epoch(tok) != epoch && !hsmkey_token_lost(tok)) {
        present = hsmkey_token_present(tok) > 0;
    } else {
        /* Found again but failing again: the module itself starts over
         * (a module confused after a fork, a remote one that reconnects). */
        int tries = hsmkey_token_count_recovery(tok), again = tries > 1;

        hsmkey_debug("recover", "token '%s': looking for it again (recovery "
                     "%d since the last operation that worked)",
                     hsmkey_token_label(tok), tries);
        hsmkey_token_reset(tok, 1, 0);
        atomic_fetch_add(&core->changes, 1);
        hsmkey_token_set_present(tok, -1);
        present = scan(core) && hsmkey_token_present(tok) > 0;
        if ((!present || again) && restart(core))
            present = hsmkey_token_present(tok) > 0;
        if (!present)
            hsmkey_token_mark_lost(tok);
        hsmkey_debug("recover", "token '%s': %s", hsmkey_token_label(tok),
                     present ? "present again" : "not present");
    }
    hsmkey_gate_reopen(&core->gate);
    if (!present)
        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "token '%s' is not present "
                     "(removed, or its device is unreachable)",
                     hsmkey_token_label(tok));
    return present;
}

void hsmkey_core_raise_skipped(struct hsmkey_core *core)
{
    hsmkey_gate_share(&core->gate);
    hsmkey_modules_raise_skipped(core->mods);
    hsmkey_gate_unshare(&core->gate);
}

/* A module's answer for slot, under the gate closed; 0 + raise. */
static CK_FUNCTION_LIST *module_of(struct hsmkey_core *core, CK_SLOT_ID slot)
{
    CK_FUNCTION_LIST *found = NULL;
    struct hsmkey_fence fence;
    size_t matches = 0;
    CK_SLOT_INFO si;

    hsmkey_fence_begin(&fence);
    for (size_t i = 0; i < hsmkey_modules_count(core->mods); i++) {
        CK_FUNCTION_LIST *fn = hsmkey_modules_get(core->mods, i);

        if (fn->C_GetSlotInfo(slot, &si) == CKR_OK) {
            found = fn;
            matches++;
        }
    }
    hsmkey_fence_end(&fence);
    if (matches == 0)
        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "no slot %lu (module: %s; "
                     "see hsmkey tokens)", (unsigned long)slot,
                     hsmkey_core_module_name(core));
    else if (matches > 1)
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "slot %lu exists in %zu modules: "
                     "name one with --module", (unsigned long)slot, matches);
    return matches == 1 ? found : NULL;
}

/*
 * Work that changes what the token in slot is (C_InitToken): as lifecycle
 * work, with the gate closed; the sessions of a token known there are
 * closed first (the module refuses with one open), and the slots are
 * scanned again after (an initialized token may change slot id).
 */
int hsmkey_core_slot_work(struct hsmkey_core *core, CK_SLOT_ID slot,
                          int (*work)(CK_FUNCTION_LIST *fn, CK_SLOT_ID slot,
                                      void *arg),
                          void *arg)
{
    CK_FUNCTION_LIST *fn;
    int ok = 0;

    if (!hsmkey_core_ensure(core))
        return 0;
    hsmkey_gate_close(&core->gate);
    if ((fn = module_of(core, slot)) != NULL) {
        for (size_t i = 0; i < core->ntokens; i++)
            if (hsmkey_token_present(core->tokens[i]) > 0
                && hsmkey_token_fn(core->tokens[i]) == fn
                && hsmkey_token_slot_now(core->tokens[i]) == slot)
                hsmkey_token_reset(core->tokens[i], 1, 0);
        ok = work(fn, slot, arg);
        atomic_fetch_add(&core->changes, 1);
        ok = scan(core) && ok;
    }
    hsmkey_gate_reopen(&core->gate);
    return ok;
}

/* Objects were created or destroyed by hand: cached searches go. */
void hsmkey_core_forget_searches(struct hsmkey_core *core)
{
    atomic_fetch_add(&core->changes, 1);
}

/* Tokens inserted since the last look. */
int hsmkey_core_rescan(struct hsmkey_core *core)
{
    int ok;

    if (!hsmkey_core_ensure(core))
        return 0;
    hsmkey_gate_close(&core->gate);
    ok = scan(core);
    hsmkey_gate_reopen(&core->gate);
    return ok;
}

/* ---- what entry points use ---- */

int hsmkey_core_tokens(struct hsmkey_core *core, P11KitUri *uri,
                       struct hsmkey_token ***tokens, size_t *count)
{
    struct hsmkey_token **out;
    size_t n = 0;

    *tokens = NULL;
    *count = 0;
    if (!hsmkey_core_ensure(core))
        return 0;
    hsmkey_gate_share(&core->gate);
    out = OPENSSL_zalloc((core->ntokens + 1) * sizeof(*out));
    for (size_t i = 0; out != NULL && i < core->ntokens; i++)
        if (hsmkey_token_matches(core->tokens[i], uri))
            out[n++] = core->tokens[i];
    hsmkey_gate_unshare(&core->gate);
    if (out == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    *tokens = out;
    *count = n;
    return 1;
}

void hsmkey_core_stats(struct hsmkey_core *core, struct hsmkey_core_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (atomic_load(&core->ready_gen) != hsmkey_fork_generation())
        return; /* not started here: nothing held */
    hsmkey_gate_share(&core->gate);
    for (size_t i = 0; i < core->ntokens; i++) {
        unsigned long open, idle, copies, max;

        hsmkey_pool_stats(hsmkey_token_pool(core->tokens[i]), &open, &idle,
                          &copies, &max);
        st->sessions += open;
        st->idle += idle;
        st->copies += copies;
    }
    hsmkey_gate_unshare(&core->gate);
}

/* Log in to the one token uri names that needs a login, the application's
 * prompt asked last; none or several: nothing to do here (a search refuses
 * to send one PIN to two tokens). */
int hsmkey_core_login_prompt(struct hsmkey_core *core, P11KitUri *uri,
                             hsmkey_pin_prompt_fn *fn, void *arg)
{
    struct hsmkey_token **toks = NULL, *target = NULL;
    size_t n = 0, needing = 0;
    int ok;

    if (!hsmkey_core_tokens(core, uri, &toks, &n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (hsmkey_token_needs_login(toks[i])) {
            target = toks[i];
            needing++;
        }
    }
    ok = needing != 1 || hsmkey_token_login_prompt(target, uri, fn, arg);
    OPENSSL_free(toks);
    return ok;
}

struct hsmkey_gate *hsmkey_core_gate(struct hsmkey_core *core)
{
    return &core->gate;
}

/* Under the gate: the modules of a started core. */
const struct hsmkey_modules *hsmkey_core_modules(
    const struct hsmkey_core *core)
{
    return core->mods;
}

struct hsmkey_cache *hsmkey_core_cache(const struct hsmkey_core *core)
{
    return core->cache;
}

unsigned long hsmkey_core_changes(const struct hsmkey_core *core)
{
    return atomic_load(&core->changes);
}

/* ---- the end ---- */

static void unregister(struct hsmkey_core *core)
{
    pthread_mutex_lock(&registry_lock);
    for (struct hsmkey_core **link = &registry; *link != NULL;
         link = &(*link)->next_core) {
        if (*link == core) {
            *link = core->next_core;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

/*
 * Sessions are closed and modules finalized unless the process is exiting
 * (the modules may be gone: only our own memory is freed) or the core was
 * started in a parent process (its modules hold the parent's state).
 */
void hsmkey_core_free(struct hsmkey_core *core)
{
    int mine;

    if (core == NULL)
        return;
    unregister(core);
    hsmkey_cache_free(core->cache); /* its objects give their slots back */
    mine = core->mods != NULL && !hsmkey_process_exiting()
           && (atomic_load(&core->ready_gen) == hsmkey_fork_generation()
               || atomic_load(&core->ready_gen) == 0);
    if (mine) {
        hsmkey_gate_close(&core->gate);
        reset_all(core, 0);
        hsmkey_modules_finalize(core->mods);
        hsmkey_gate_reopen(&core->gate);
        hsmkey_modules_release(core->mods);
    } else {
        hsmkey_modules_forget(core->mods);
    }
    for (size_t i = 0; i < core->ntokens; i++)
        hsmkey_token_free(core->tokens[i]);
    OPENSSL_free(core->tokens);
    hsmkey_gate_destroy(&core->gate);
    OPENSSL_free(core->set.module_path);
    OPENSSL_free(core->set.init_args);
    OPENSSL_free(core->set.pin_source);
    OPENSSL_free(core);
}
