/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module.c - the PKCS#11 modules of one core, loaded through p11-kit, and
 * how they start.
 *
 * p11-kit's "managed" mode gives each core its own initialization of a
 * module, so the CLI's core and the provider's core in one process do not
 * finalize each other's sessions.  With no module path the core uses every
 * module registered with p11-kit.  Callers hold the core's gate closed
 * (call.c): loading, C_Initialize and C_Finalize never race a module call.
 *
 * Init args: a module named by path gets the configured string as
 * CK_C_INITIALIZE_ARGS.pReserved (NSS softoken needs configdir=...).
 * p11-kit applies its own "x-init-reserved" only to registered modules,
 * and p11_kit_module_initialize() takes no arguments, so such a module is
 * started through its p11-kit managed C_Initialize with our arguments:
 * the managed wrapper passes them on and still tracks the initialization
 * per process, so fork handling stays p11-kit's.
 *
 * Skipping: of p11-kit's registered modules, one that fails C_Initialize
 * is left out, as p11-kit itself does, unless its configuration says
 * "critical: yes" (a TPM module installed on a host without a TPM must not
 * stop every other token).  A module named by path must start.
 */
#include <stdlib.h>
#include <string.h>
#include <p11-kit/p11-kit.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

struct hsmkey_module_entry {
    CK_FUNCTION_LIST *fn;
    /* Read once at load: p11-kit takes its library lock to answer, which a
     * URI match on the hot side must not. */
    char *name;
    char *path;
    int critical; /* p11-kit's configuration says "critical: yes" */
    int started;
    CK_RV skipped; /* CKR_OK, or why it did not start (and was left out) */
};

struct hsmkey_modules {
    const struct hsmkey_settings *set;
    CK_FUNCTION_LIST **loaded;
    struct hsmkey_module_entry *mods;
    size_t n;
    /* The started ones, in order: what scans and listings walk. */
    struct hsmkey_module_entry **active;
    size_t nactive;
};

static char *dup_free(char *s)
{
    char *out = s != NULL ? OPENSSL_strdup(s) : NULL;

    free(s);
    return out;
}

static CK_FUNCTION_LIST **load_list(const char *module_path)
{
    CK_FUNCTION_LIST **mods;
    CK_FUNCTION_LIST *one;

    hsmkey_err_set_mark(); /* what the modules' libraries leave behind */
    if (module_path == NULL) {
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
    one = p11_kit_module_load(module_path, 0);
    hsmkey_err_pop_to_mark();
    if (one == NULL) {
        hsmkey_raise(HSMKEY_R_MODULE, "cannot load PKCS#11 module %s: %s",
                     module_path,
                     p11_kit_message() ? p11_kit_message() : "unknown");
        return NULL;
    }
    if ((mods = OPENSSL_zalloc(2 * sizeof(*mods))) == NULL) {
        p11_kit_module_release(one);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    mods[0] = one;
    hsmkey_debug("module", "loaded %s", module_path);
    return mods;
}

static void release_list(const char *module_path, CK_FUNCTION_LIST **list)
{
    if (list == NULL)
        return;
    if (module_path == NULL) {
        p11_kit_modules_release(list);
    } else {
        p11_kit_module_release(list[0]);
        OPENSSL_free(list);
    }
}

struct hsmkey_modules *hsmkey_modules_load(const struct hsmkey_settings *set)
{
    struct hsmkey_modules *m = OPENSSL_zalloc(sizeof(*m));
    size_t n = 0;

    if (m == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    m->set = set;
    if (set->module_path == NULL && set->init_args != NULL) {
        hsmkey_raise(HSMKEY_R_MODULE, "pkcs11-module-init-args is set but "
                     "pkcs11-module is not: p11-kit's registered modules "
                     "take theirs from x-init-reserved in their p11-kit "
                     "configuration");
        OPENSSL_free(m);
        return NULL;
    }
    if ((m->loaded = load_list(set->module_path)) == NULL) {
        OPENSSL_free(m);
        return NULL;
    }
    while (m->loaded[n] != NULL)
        n++;
    m->mods = OPENSSL_zalloc((n ? n : 1) * sizeof(*m->mods));
    m->active = OPENSSL_zalloc((n ? n : 1) * sizeof(*m->active));
    if (m->mods == NULL || m->active == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        hsmkey_modules_release(m);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct hsmkey_module_entry *e = &m->mods[i];

        e->fn = m->loaded[i];
        e->name = dup_free(p11_kit_module_get_name(e->fn));
        e->path = dup_free(p11_kit_module_get_filename(e->fn));
        e->critical = (p11_kit_module_get_flags(e->fn)
                       & P11_KIT_MODULE_CRITICAL) != 0;
    }
    m->n = n;
    return m;
}

/* What the set holds of its own, whoever releases the modules. */
static void free_own(struct hsmkey_modules *m)
{
    for (size_t i = 0; i < m->n; i++) {
        OPENSSL_free(m->mods[i].name);
        OPENSSL_free(m->mods[i].path);
    }
    OPENSSL_free(m->mods);
    OPENSSL_free(m->active);
}

/* Never called at exit: p11-kit's list is p11-kit's to release, which
 * would call modules that have already cleaned up (SoftHSM2). */
void hsmkey_modules_release(struct hsmkey_modules *m)
{
    if (m == NULL)
        return;
    free_own(m);
    release_list(m->set->module_path, m->loaded);
    OPENSSL_free(m);
}

/* At exit: only our own memory, nothing of p11-kit's or the modules'. */
void hsmkey_modules_forget(struct hsmkey_modules *m)
{
    if (m == NULL)
        return;
    free_own(m);
    if (m->set->module_path != NULL)
        OPENSSL_free(m->loaded);
    OPENSSL_free(m);
}

/* Which library answered: the first question when a token misbehaves. */
static void trace_started(const char *name, CK_FUNCTION_LIST *fn)
{
    char desc[33], maker[33];
    CK_INFO info;

    if (fn->C_GetInfo(&info) != CKR_OK)
        memset(&info, 0, sizeof(info));
    hsmkey_p11_string(desc, sizeof(desc), info.libraryDescription,
                      sizeof(info.libraryDescription));
    hsmkey_p11_string(maker, sizeof(maker), info.manufacturerID,
                      sizeof(info.manufacturerID));
    hsmkey_debug_print("module", "C_Initialize: CKR_OK: %s ('%s' by '%s', "
                       "library %u.%u, PKCS#11 %u.%u)", name, desc, maker,
                       info.libraryVersion.major, info.libraryVersion.minor,
                       info.cryptokiVersion.major,
                       info.cryptokiVersion.minor);
}

/* C_Initialize of one module, with the init args as pReserved. */
static CK_RV initialize(CK_FUNCTION_LIST *fn, const char *init_args)
{
    CK_C_INITIALIZE_ARGS args;
    struct hsmkey_fence fence;
    CK_RV rv;

    hsmkey_fence_begin(&fence); /* SoftHSM2 probes engines at start */
    if (init_args == NULL) {
        rv = p11_kit_module_initialize(fn);
    } else {
        /* OS locking and no mutex callbacks, as p11-kit asks for itself. */
        memset(&args, 0, sizeof(args));
        args.flags = CKF_OS_LOCKING_OK;
        args.pReserved = (void *)init_args;
        rv = fn->C_Initialize(&args);
    }
    hsmkey_fence_end(&fence);
    return rv;
}

static const char *entry_name(const struct hsmkey_modules *m,
                              const struct hsmkey_module_entry *e)
{
    return e->name != NULL ? e->name
           : e->path != NULL ? e->path
           : m->set->module_path != NULL ? m->set->module_path : "(unnamed)";
}

static void raise_start_failure(const struct hsmkey_modules *m,
                                const struct hsmkey_module_entry *e, CK_RV rv)
{
    const char *why = "";

    if (m->set->module_path == NULL)
        why = " (marked critical in p11-kit's configuration)";
    else if (m->set->init_args != NULL && rv == CKR_ARGUMENTS_BAD)
        why = " (it refused pkcs11-module-init-args)";
    else if (rv == CKR_ARGUMENTS_BAD)
        why = " (does it need pkcs11-module-init-args, as NSS softoken "
              "does?)";
    hsmkey_raise(HSMKEY_R_MODULE, "PKCS#11 module %s: C_Initialize: %s%s",
                 entry_name(m, e), hsmkey_ckr_name(rv), why);
}

/* A registered module that is not critical did not start: left out, and
 * said once (the CLI prints it; the provider names it if no token is
 * found at all). */
static void skip(struct hsmkey_modules *m, struct hsmkey_module_entry *e,
                 CK_RV rv)
{
    char line[320];

    if (e->skipped == CKR_OK && m->set->notice != NULL) {
        snprintf(line, sizeof(line), "PKCS#11 module %s skipped: "
                 "C_Initialize: %s (not marked critical in p11-kit's "
                 "configuration)", entry_name(m, e), hsmkey_ckr_name(rv));
        m->set->notice(line, m->set->notice_arg);
    }
    e->skipped = rv;
}

int hsmkey_modules_initialize(struct hsmkey_modules *m)
{
    int registered = m->set->module_path == NULL;

    m->nactive = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct hsmkey_module_entry *e = &m->mods[i];
        CK_RV rv = initialize(e->fn, registered ? NULL : m->set->init_args);

        e->started = rv == CKR_OK;
        if (rv == CKR_OK) {
            e->skipped = CKR_OK;
            m->active[m->nactive++] = e;
            if (hsmkey_debug_enabled())
                trace_started(entry_name(m, e), e->fn);
        } else if (registered && !e->critical) {
            skip(m, e, rv);
        } else {
            raise_start_failure(m, e, rv);
            /* The ones already started are finalized: a retry starts
             * clean. */
            hsmkey_modules_finalize(m);
            return 0;
        }
    }
    return 1;
}

/* Why the registered modules that did not start were left out (after
 * "no token matches": the token may be behind one of them). */
void hsmkey_modules_raise_skipped(const struct hsmkey_modules *m)
{
    for (size_t i = 0; m != NULL && i < m->n; i++)
        if (m->mods[i].skipped != CKR_OK)
            hsmkey_raise(HSMKEY_R_MODULE, "PKCS#11 module %s was skipped: "
                         "C_Initialize: %s", entry_name(m, &m->mods[i]),
                         hsmkey_ckr_name(m->mods[i].skipped));
}

void hsmkey_modules_finalize(struct hsmkey_modules *m)
{
    struct hsmkey_fence fence;

    hsmkey_fence_begin(&fence);
    for (size_t i = 0; i < m->n; i++) {
        if (m->mods[i].started)
            p11_kit_module_finalize(m->mods[i].fn);
        m->mods[i].started = 0;
    }
    m->nactive = 0;
    hsmkey_fence_end(&fence);
}

/* The started modules (skipped ones left out). */
size_t hsmkey_modules_count(const struct hsmkey_modules *m)
{
    return m->nactive;
}

CK_FUNCTION_LIST *hsmkey_modules_get(const struct hsmkey_modules *m,
                                     size_t i)
{
    return m->active[i]->fn;
}

const char *hsmkey_modules_name(const struct hsmkey_modules *m,
                                CK_FUNCTION_LIST *fn)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->mods[i].fn == fn)
            return m->mods[i].name;
    return NULL;
}

const char *hsmkey_modules_path(const struct hsmkey_modules *m,
                                CK_FUNCTION_LIST *fn)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->mods[i].fn == fn)
            return m->mods[i].path;
    return NULL;
}
