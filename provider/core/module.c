/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module.c - the PKCS#11 modules of one core, loaded through p11-kit.
 *
 * p11-kit's "managed" mode gives each core its own initialization of a
 * module, so the CLI's core and the provider's core in one process do not
 * finalize each other's sessions.  With no module path the core uses every
 * module registered with p11-kit.  Callers hold the core's gate closed
 * (call.c): loading, C_Initialize and C_Finalize never race a module call.
 */
#include <stdlib.h>
#include <string.h>
#include <p11-kit/p11-kit.h>
#include <openssl/crypto.h>

#include "core.h"

struct hsmkey_module_entry {
    CK_FUNCTION_LIST *fn;
    /* Read once at load: p11-kit takes its library lock to answer, which a
     * URI match on the hot side must not. */
    char *name;
    char *path;
    int started;
};

struct hsmkey_modules {
    const char *module_path; /* NULL: p11-kit's registered modules */
    CK_FUNCTION_LIST **loaded;
    struct hsmkey_module_entry *mods;
    size_t n;
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

struct hsmkey_modules *hsmkey_modules_load(const char *module_path)
{
    struct hsmkey_modules *m = OPENSSL_zalloc(sizeof(*m));
    size_t n = 0;

    if (m == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    m->module_path = module_path;
    if ((m->loaded = load_list(module_path)) == NULL) {
        OPENSSL_free(m);
        return NULL;
    }
    while (m->loaded[n] != NULL)
        n++;
    if ((m->mods = OPENSSL_zalloc((n ? n : 1) * sizeof(*m->mods))) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        hsmkey_modules_release(m);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct hsmkey_module_entry *e = &m->mods[i];

        e->fn = m->loaded[i];
        e->name = dup_free(p11_kit_module_get_name(e->fn));
        e->path = dup_free(p11_kit_module_get_filename(e->fn));
    }
    m->n = n;
    return m;
}

/* Never called at exit: p11-kit's list is p11-kit's to release, which
 * would call modules that have already cleaned up (SoftHSM2). */
void hsmkey_modules_release(struct hsmkey_modules *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        OPENSSL_free(m->mods[i].name);
        OPENSSL_free(m->mods[i].path);
    }
    OPENSSL_free(m->mods);
    release_list(m->module_path, m->loaded);
    OPENSSL_free(m);
}

/* At exit: only our own memory, nothing of p11-kit's or the modules'. */
void hsmkey_modules_forget(struct hsmkey_modules *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        OPENSSL_free(m->mods[i].name);
        OPENSSL_free(m->mods[i].path);
    }
    OPENSSL_free(m->mods);
    if (m->module_path != NULL)
        OPENSSL_free(m->loaded);
    OPENSSL_free(m);
}

int hsmkey_modules_initialize(struct hsmkey_modules *m)
{
    struct hsmkey_fence fence;
    CK_RV rv = CKR_OK;
    size_t i;

    for (i = 0; i < m->n && rv == CKR_OK; i++) {
        hsmkey_fence_begin(&fence); /* SoftHSM2 probes engines at start */
        rv = p11_kit_module_initialize(m->mods[i].fn);
        hsmkey_fence_end(&fence);
        m->mods[i].started = rv == CKR_OK;
    }
    if (rv == CKR_OK)
        return 1;
    i--;
    hsmkey_raise(HSMKEY_R_MODULE, "PKCS#11 module %s: C_Initialize: %s",
                 m->mods[i].name ? m->mods[i].name
                 : m->module_path ? m->module_path : "(registered)",
                 hsmkey_ckr_name(rv));
    /* The ones already started are finalized, so a retry starts clean. */
    hsmkey_modules_finalize(m);
    return 0;
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
    hsmkey_fence_end(&fence);
}

size_t hsmkey_modules_count(const struct hsmkey_modules *m)
{
    return m->n;
}

CK_FUNCTION_LIST *hsmkey_modules_get(const struct hsmkey_modules *m,
                                     size_t i)
{
    return m->mods[i].fn;
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
