/* SPDX-License-Identifier: Apache-2.0 */
/*
 * modstart.c - starting the loaded modules (C_Initialize): the module's
 * initialization arguments, and p11-kit's rule for registered modules that
 * fail to start.
 *
 * Init args: a module named by path gets the configured string as
 * CK_C_INITIALIZE_ARGS.pReserved (NSS softoken needs configdir=...).
 * p11-kit applies its own "x-init-reserved" only to registered modules, and
 * p11_kit_module_initialize() takes no arguments, so such a module is
 * started through its (p11-kit managed) C_Initialize with our arguments:
 * p11-kit's managed wrapper passes them to the module and still tracks the
 * initialization per process, so fork handling and several initializers in
 * one process stay p11-kit's.
 *
 * Skipping: of p11-kit's registered modules, one that fails C_Initialize
 * is left out, as p11-kit does, unless its configuration says
 * "critical: yes".  A module named by path must start.
 */
#include <stdlib.h>
#include <string.h>
#include <p11-kit/p11-kit.h>
#include <openssl/crypto.h>

#include "core.h"

/* A registered module that did not start, kept loaded until the core goes
 * (tokens found before a failed restart still point at it). */
struct hsmkey_skipped {
    CK_FUNCTION_LIST *fn;
    char *name;
    CK_RV rv;
};

int hsmkey_core_set_init_args(struct hsmkey_core *core, const char *args)
{
    OPENSSL_free(core->init_args);
    core->init_args = NULL;
    if (args == NULL || *args == '\0')
        return 1;
    if ((core->init_args = OPENSSL_strdup(args)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    return 1;
}

void hsmkey_core_set_notice(struct hsmkey_core *core, hsmkey_notice_fn *fn,
                            void *arg)
{
    core->notice = fn;
    core->notice_arg = arg;
}

CK_RV hsmkey_module_initialize(CK_FUNCTION_LIST *mod, const char *init_args)
{
    CK_C_INITIALIZE_ARGS args;

    if (init_args == NULL)
        return p11_kit_module_initialize(mod);
    /* OS locking and no mutex callbacks: what p11-kit itself asks for. */
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = (void *)init_args;
    return mod->C_Initialize(&args);
}

int hsmkey_module_is_critical(CK_FUNCTION_LIST *mod)
{
    return (p11_kit_module_get_flags(mod) & P11_KIT_MODULE_CRITICAL) != 0;
}

/* "tpm2_pkcs11" (registered name), else the file; free() it. */
static char *module_label(CK_FUNCTION_LIST *mod)
{
    char *name = p11_kit_module_get_name(mod);

    return name != NULL ? name : p11_kit_module_get_filename(mod);
}

/* Moves modules[i] out of the list into the skipped ones. */
static int skip_module(struct hsmkey_core *core, size_t i, CK_RV rv)
{
    struct hsmkey_skipped *grown;
    CK_FUNCTION_LIST *mod = core->modules[i];
    char *name = module_label(mod);
    char line[320];

    grown = OPENSSL_realloc(core->skipped,
                            (core->nskipped + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(name);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    core->skipped = grown;
    grown[core->nskipped].fn = mod;
    grown[core->nskipped].name = name;
    grown[core->nskipped].rv = rv;
    core->nskipped++;
    /* p11-kit's array, NULL-terminated: close the gap in place. */
    for (size_t j = i; core->modules[j] != NULL; j++)
        core->modules[j] = core->modules[j + 1];
    if (core->notice != NULL) {
        snprintf(line, sizeof(line), "PKCS#11 module %s skipped: "
                 "C_Initialize: %s (not marked critical in p11-kit's "
                 "configuration)", name ? name : "(unnamed)",
                 hsmkey_ckr_name(rv));
        core->notice(line, core->notice_arg);
    }
    return 1;
}

static void raise_start_failure(struct hsmkey_core *core,
                                CK_FUNCTION_LIST *mod, CK_RV rv)
{
    char *name = module_label(mod);
    const char *why = "";

    if (core->module_path == NULL)
        why = " (marked critical in p11-kit's configuration)";
    else if (core->init_args != NULL && rv == CKR_ARGUMENTS_BAD)
        why = " (it refused pkcs11-module-init-args)";
    else if (rv == CKR_ARGUMENTS_BAD)
        why = " (does it need pkcs11-module-init-args, as NSS softoken "
              "does?)";
    hsmkey_raise(HSMKEY_R_MODULE, "PKCS#11 module %s: C_Initialize: %s%s",
                 name ? name : hsmkey_core_module_name(core),
                 hsmkey_ckr_name(rv), why);
    free(name);
}

int hsmkey_modules_start(struct hsmkey_core *core)
{
    int registered = core->module_path == NULL;
    size_t i = 0;
    CK_RV rv;

    if (registered && core->init_args != NULL) {
        hsmkey_raise(HSMKEY_R_MODULE, "pkcs11-module-init-args is set but "
                     "pkcs11-module is not: p11-kit's registered modules "
                     "take theirs from x-init-reserved in their p11-kit "
                     "configuration");
        return 0;
    }
    while (core->modules[i] != NULL) {
        hsmkey_err_set_mark(); /* SoftHSM2 probes engines when it starts */
        rv = hsmkey_module_initialize(core->modules[i], core->init_args);
        hsmkey_err_pop_to_mark();
        if (rv == CKR_OK) {
            i++;
            continue;
        }
        if (registered && !hsmkey_module_is_critical(core->modules[i])) {
            if (!skip_module(core, i, rv))
                break;
            continue;
        }
        raise_start_failure(core, core->modules[i], rv);
        break;
    }
    if (core->modules[i] == NULL)
        return 1;
    /* Finalize the ones already started so a retry starts clean. */
    while (i-- > 0)
        p11_kit_module_finalize(core->modules[i]);
    return 0;
}

void hsmkey_core_raise_skipped(struct hsmkey_core *core)
{
    pthread_mutex_lock(&core->lock);
    for (size_t i = 0; i < core->nskipped; i++)
        hsmkey_raise(HSMKEY_R_MODULE, "PKCS#11 module %s was skipped: "
                     "C_Initialize: %s", core->skipped[i].name
                     ? core->skipped[i].name : "(unnamed)",
                     hsmkey_ckr_name(core->skipped[i].rv));
    pthread_mutex_unlock(&core->lock);
}

void hsmkey_modules_release_skipped(struct hsmkey_core *core, int release)
{
    for (size_t i = 0; i < core->nskipped; i++) {
        if (release)
            p11_kit_module_release(core->skipped[i].fn);
        free(core->skipped[i].name);
    }
    OPENSSL_free(core->skipped);
    core->skipped = NULL;
    core->nskipped = 0;
}
