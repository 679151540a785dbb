/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool.c - the setup every command shares: the PKCS#11 core for token
 * management, and an OpenSSL library context with the hsmkey provider for
 * key operations, so the CLI signs through the same path as a TLS server.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/provider.h>

#include "hsmkey-config.h"
#include "tool.h"
#include "hsmkey/debug.h"

/*
 * The hsmkey.so that belongs to this binary: in a build tree it sits at
 * ../provider/hsmkey.so next to tool/hsmkey; installed, in the modules dir.
 */
const char *tool_provider_path(void)
{
    static char path[PATH_MAX];
    char exe[PATH_MAX], *slash;
    ssize_t n;

    if (path[0] != '\0')
        return path;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL)
            *slash = '\0';
        if (strlen(exe) + sizeof("/../provider/hsmkey.so") <= sizeof(exe)) {
            strcat(exe, "/../provider/hsmkey.so");
            if (access(exe, R_OK) == 0 && realpath(exe, path) != NULL)
                return path;
        }
    }
    snprintf(path, sizeof(path), "%s/hsmkey.so", HSMKEY_MODULESDIR);
    return path;
}

/* A registered module left out: said once, the command goes on. */
static void tool_notice(const char *msg, void *arg)
{
    (void)arg;
    fprintf(stderr, "hsmkey: warning: %s\n", msg);
}

/* The provider reads its module from here on init (provider/config.c). */
static int export_module(const struct tool_ctx *ctx)
{
    if ((ctx->module == NULL
         || setenv("HSMKEY_PKCS11_MODULE", ctx->module, 1) == 0)
        && (ctx->init_args == NULL
            || setenv("HSMKEY_PKCS11_MODULE_INIT_ARGS", ctx->init_args, 1)
                   == 0))
        return 1;
    hsmkey_raise(HSMKEY_R_INTERNAL, "cannot set the provider's environment");
    return 0;
}

/*
 * The core (ours and the provider's) reads HSMKEY_PIN_SOURCE before any
 * configured source: --pin-source must be what it finds there.  A relative
 * file: path is the user's working directory's.
 */
static int export_pin_source(struct tool_ctx *ctx)
{
    if (ctx->pin_source == NULL)
        return 1;
    if (ctx->pin_source != ctx->pin_abs
        && !tool_source_absolute(ctx->pin_source, ctx->pin_abs,
                                 sizeof(ctx->pin_abs)))
        return 0;
    ctx->pin_source = ctx->pin_abs;
    if (!hsmkey_pin_source_check(ctx->pin_source))
        return 0;
    if (setenv("HSMKEY_PIN_SOURCE", ctx->pin_source, 1) == 0)
        return 1;
    hsmkey_raise(HSMKEY_R_INTERNAL, "cannot set the provider's environment");
    return 0;
}

/* default + hsmkey (by the directory of our hsmkey.so, so its name stays
 * "hsmkey" and "provider=hsmkey" queries work). */
static OSSL_LIB_CTX *libctx_new(const struct tool_ctx *ctx)
{
    const char *so = tool_provider_path();
    char dir[PATH_MAX];
    OSSL_LIB_CTX *libctx;

    snprintf(dir, sizeof(dir), "%s", so);
    *strrchr(dir, '/') = '\0';
    if (access(so, R_OK) != 0) {
        hsmkey_raise(HSMKEY_R_MODULE, "the hsmkey provider %s is missing "
                     "(meson compile / meson install)", so);
        return NULL;
    }
    if (!export_module(ctx) || (libctx = OSSL_LIB_CTX_new()) == NULL)
        return NULL;
    /* HSMKEY_DEBUG reaches the provider too: its trace follows ours. */
    hsmkey_debug("tool", "key operations through the provider %s", so);
    if (!OSSL_PROVIDER_set_default_search_path(libctx, dir)
        || OSSL_PROVIDER_load(libctx, "default") == NULL
        || OSSL_PROVIDER_load(libctx, "hsmkey") == NULL) {
        hsmkey_raise(HSMKEY_R_MODULE, "cannot load the hsmkey provider %s",
                     so);
        OSSL_LIB_CTX_free(libctx);
        return NULL;
    }
    return libctx;
}

int tool_setup(struct tool_ctx *ctx, int needs)
{
    if (!export_pin_source(ctx))
        return 0;
    if (needs & TOOL_NEEDS_CORE) {
        ctx->core = hsmkey_core_new(ctx->module, ctx->pin_source);
        if (ctx->core == NULL
            || !hsmkey_core_set_init_args(ctx->core, ctx->init_args))
            return 0;
        hsmkey_core_set_notice(ctx->core, tool_notice, NULL);
        if (ctx->interactive)
            hsmkey_core_set_pin_prompt(ctx->core, tool_pin_prompt, ctx);
    }
    if ((needs & TOOL_NEEDS_PROVIDER)
        && (ctx->libctx = libctx_new(ctx)) == NULL)
        return 0;
    return 1;
}

void tool_teardown(struct tool_ctx *ctx)
{
    /* The provider (and its core) first: both may share one module. */
    OSSL_LIB_CTX_free(ctx->libctx);
    ctx->libctx = NULL;
    hsmkey_core_free(ctx->core);
    ctx->core = NULL;
    hsmkey_pin_free(ctx->pin);
    ctx->pin = NULL;
}
