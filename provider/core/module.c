/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module.c - the core object: configuration, lazy module start, fork and
 * exit handling.
 *
 * Modules are loaded through p11-kit in "managed" mode, so the CLI's core and
 * the provider's core in the same process each get their own initialization
 * of one module.  Nothing is loaded until a token is needed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <p11-kit/p11-kit.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"
#include "hsmkey-config.h"

static atomic_ulong fork_gen = 1;
static atomic_int exiting;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/*
 * Only a counter: the child re-initializes on its first use, outside the
 * atfork handler, where taking locks or calling the module is not safe.
 */
static void on_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

/*
 * SoftHSM2 (and other C++ modules) destroy their state in exit-time
 * destructors.  This handler is registered after the first module start, so
 * it runs before those destructors; from then on nothing calls the module.
 */
static void mark_exiting(void)
{
    atomic_store(&exiting, 1);
}

static void install_fork_handler(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static void install_exit_handler(void)
{
    atexit(mark_exiting);
}

unsigned long hsmkey_fork_generation(void)
{
    return atomic_load(&fork_gen);
}

int hsmkey_process_exiting(void)
{
    return atomic_load(&exiting);
}

/* Writers first: a waiting C_Finalize is not starved by a busy server.
 * (No thread takes it twice for reading, see session.c.) */
static void init_ops_lock(pthread_rwlock_t *lock)
{
    pthread_rwlockattr_t attr;

    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

struct hsmkey_core *hsmkey_core_new(const char *module_path,
                                    const char *pin_source)
{
    struct hsmkey_core *core = OPENSSL_zalloc(sizeof(*core));

    if (core == NULL)
        goto err;
    if (module_path != NULL && *module_path != '\0'
        && (core->module_path = OPENSSL_strdup(module_path)) == NULL)
        goto err;
    if (pin_source != NULL && *pin_source != '\0'
        && (core->pin_source = OPENSSL_strdup(pin_source)) == NULL)
        goto err;
    pthread_mutex_init(&core->lock, NULL);
    init_ops_lock(&core->ops_lock);
    atomic_init(&core->ready_gen, 0);
    atomic_init(&core->changes, 0);
    core->cache = hsmkey_cache_new(); /* none: every search asks the token */
    core->session_copies = 1;
    return core;
err:
    if (core != NULL) {
        OPENSSL_free(core->module_path);
        OPENSSL_free(core);
    }
    hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return NULL;
}

void hsmkey_core_set_pin_prompt(struct hsmkey_core *core,
                                hsmkey_pin_prompt_fn *fn, void *arg)
{
    core->prompt = fn;
    core->prompt_arg = arg;
}

const char *hsmkey_core_module_name(const struct hsmkey_core *core)
{
    return core->module_path != NULL ? core->module_path
                                     : "p11-kit registered modules";
}

static CK_FUNCTION_LIST **load_modules(struct hsmkey_core *core)
{
    CK_FUNCTION_LIST **mods;
    CK_FUNCTION_LIST *one;

    if (core->module_path == NULL) {
        hsmkey_err_set_mark(); /* what the modules' libraries leave behind */
        mods = p11_kit_modules_load(NULL, 0);
        hsmkey_err_pop_to_mark();
        if (mods == NULL)
            hsmkey_raise(HSMKEY_R_MODULE, "p11-kit: cannot load the "
                         "registered PKCS#11 modules: %s",
                         p11_kit_message() ? p11_kit_message() : "unknown");
        else
            hsmkey_debug("module", "loaded the modules registered with "
                         "p11-kit");
        return mods;
    }
    hsmkey_err_set_mark();
    one = p11_kit_module_load(core->module_path, 0);
    hsmkey_err_pop_to_mark();
    if (one == NULL) {
        hsmkey_raise(HSMKEY_R_MODULE, "cannot load PKCS#11 module %s: %s",
                     core->module_path,
                     p11_kit_message() ? p11_kit_message() : "unknown");
        return NULL;
    }
    mods = OPENSSL_zalloc(2 * sizeof(*mods));
    if (mods == NULL) {
        p11_kit_module_release(one);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    mods[0] = one;
    hsmkey_debug("module", "loaded %s", core->module_path);
    return mods;
}

static void release_modules(struct hsmkey_core *core)
{
    if (core->modules == NULL)
        return;
    if (core->module_path == NULL) {
        p11_kit_modules_release(core->modules);
    } else {
        p11_kit_module_release(core->modules[0]);
        OPENSSL_free(core->modules);
    }
    core->modules = NULL;
}

static void trace_module(struct hsmkey_core *core, CK_FUNCTION_LIST *fn)
{
    char *name = p11_kit_module_get_name(fn), desc[33], maker[33];
    CK_INFO info;

    if (fn->C_GetInfo(&info) != CKR_OK)
        memset(&info, 0, sizeof(info));
    hsmkey_p11_string(desc, sizeof(desc), info.libraryDescription,
                      sizeof(info.libraryDescription));
    hsmkey_p11_string(maker, sizeof(maker), info.manufacturerID,
                      sizeof(info.manufacturerID));
    hsmkey_debug_print("module", "C_Initialize: CKR_OK: %s ('%s' by '%s', "
                       "library %u.%u, PKCS#11 %u.%u)", name ? name : hsmkey_core_module_name(core),
                       desc, maker, info.libraryVersion.major,
                       info.libraryVersion.minor,
                       info.cryptokiVersion.major, info.cryptokiVersion.minor);
    free(name);
}

static int initialize_modules(struct hsmkey_core *core)
{
    CK_RV rv;

    for (size_t i = 0; core->modules[i] != NULL; i++) {
        hsmkey_err_set_mark(); /* SoftHSM2 probes engines when it starts */
        rv = p11_kit_module_initialize(core->modules[i]);
        hsmkey_err_pop_to_mark();
        if (rv != CKR_OK) {
            char *name = p11_kit_module_get_name(core->modules[i]);

            hsmkey_raise(HSMKEY_R_MODULE, "PKCS#11 module %s: C_Initialize: "
                         "%s", name ? name : hsmkey_core_module_name(core),
                         hsmkey_ckr_name(rv));
            free(name);
            /* Finalize the ones already started so a retry starts clean. */
            while (i-- > 0)
                p11_kit_module_finalize(core->modules[i]);
            return 0;
        }
        if (hsmkey_debug_enabled())
            trace_module(core, core->modules[i]);
    }
    return 1;
}

static void finalize_modules(struct hsmkey_core *core)
{
    hsmkey_err_set_mark();
    for (size_t i = 0; core->modules[i] != NULL; i++)
        p11_kit_module_finalize(core->modules[i]);
    hsmkey_err_pop_to_mark();
}

/* Called with core->lock held. */
static int start_locked(struct hsmkey_core *core, unsigned long gen)
{
    int restarting = core->modules != NULL;

    if (restarting) {
        /* A forked child: the parent's sessions and login are not ours. */
        hsmkey_debug("module", "first use in a forked child (generation "
                     "%lu): the modules start over", gen);
        finalize_modules(core);
    } else if ((core->modules = load_modules(core)) == NULL) {
        return 0;
    }
    if (!initialize_modules(core))
        return 0;
    pthread_once(&exit_once, install_exit_handler);
    if (!hsmkey_token_scan(core, 1))
        return 0;
    atomic_store(&core->ready_gen, gen);
    return 1;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Start the modules over (C_Finalize + C_Initialize), as after a fork: a
 * remote module (p11-kit-client.so) whose server went away reconnects only
 * so.  At most every 250 ms, so an outage costs each operation a quick
 * failure, not a reconnect.  Sessions, handles and logins of every token
 * start over; objects find themselves again by id.
 */
int hsmkey_core_restart(struct hsmkey_core *core)
{
    long now = now_ms();
    int ok = 0;

    pthread_rwlock_wrlock(&core->ops_lock);
    pthread_mutex_lock(&core->lock);
    if (core->modules != NULL && now - core->last_restart >= 250) {
        core->last_restart = now;
        hsmkey_debug("recover", "modules restart (C_Finalize, "
                     "C_Initialize): a token stays unreachable");
        finalize_modules(core);
        ok = initialize_modules(core) && hsmkey_token_scan(core, 1);
        hsmkey_debug("recover", "modules restart: %s", ok ? "done" : "failed");
    }
    pthread_mutex_unlock(&core->lock);
    pthread_rwlock_unlock(&core->ops_lock);
    return ok;
}

int hsmkey_core_ensure(struct hsmkey_core *core)
{
    unsigned long gen;
    int ok;

    hsmkey_return_val_if_fail(core != NULL, 0);
    pthread_once(&fork_once, install_fork_handler);
    gen = hsmkey_fork_generation();
    if (atomic_load(&core->ready_gen) == gen)
        return 1;
    pthread_mutex_lock(&core->lock);
    ok = atomic_load(&core->ready_gen) == gen || start_locked(core, gen);
    pthread_mutex_unlock(&core->lock);
    return ok;
}

void hsmkey_core_free(struct hsmkey_core *core)
{
    if (core == NULL)
        return;
    hsmkey_cache_free(core->cache);
    for (size_t i = 0; i < core->ntokens; i++)
        hsmkey_token_free(core->tokens[i]);
    OPENSSL_free(core->tokens);
    /* At exit the module may already be gone: nothing calls it, and only
     * our own memory is freed (p11-kit's list of registered modules is
     * p11-kit's to release, which would call the modules). */
    if (core->modules != NULL && !hsmkey_process_exiting()) {
        if (atomic_load(&core->ready_gen) == hsmkey_fork_generation())
            finalize_modules(core);
        release_modules(core);
    } else if (core->modules != NULL && core->module_path != NULL) {
        OPENSSL_free(core->modules);
    }
    pthread_mutex_destroy(&core->lock);
    pthread_rwlock_destroy(&core->ops_lock);
    OPENSSL_free(core->module_path);
    OPENSSL_free(core->pin_source);
    OPENSSL_free(core);
}
