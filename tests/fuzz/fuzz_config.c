/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c - the provider's two settings, pkcs11-module and
 * pin-source (the input split at its first NUL), on the way they travel:
 *  1. `hsmkey --module M --pin-source P config --out FILE`, as main() runs
 *     it (tool_setup, then cmd_config in tool/cmd_config.c);
 *  2. FILE read back with OpenSSL's own config parser, as every OpenSSL
 *     program that is pointed at it reads it;
 *  3. the [hsmkey_sect] values handed to the provider's config reader
 *     (provider/config.c, through a stand-in for the core's get_params),
 *     and from there to the PKCS#11 core (hsmkey_core_new).
 *
 * Contracts checked on every input:
 *  - a refusal comes with a message; plain values (letters, digits and
 *    "/._-", pin sources file:/env: of those) are never refused;
 *  - a file written loads, with exactly the sections and keys hsmkey
 *    writes, and OpenSSL reads back the module and pin source hsmkey meant:
 *    the value given, a relative path made absolute;
 *  - the provider and its core keep exactly the strings the config gave.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/conf.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "../../provider/prov.h"
#include "commands.h"
#include "fuzz.h"

static const char *cfg_module, *cfg_pin; /* what get_params hands out */

static int fake_get_params(const OSSL_CORE_HANDLE *handle, OSSL_PARAM *params)
{
    (void)handle;
    for (OSSL_PARAM *p = params; p->key != NULL; p++) {
        if (strcmp(p->key, HKPROV_CFG_PKCS11_MODULE) == 0 && cfg_module)
            OSSL_PARAM_set_utf8_ptr(p, cfg_module);
        if (strcmp(p->key, HKPROV_CFG_PIN_SOURCE) == 0 && cfg_pin)
            OSSL_PARAM_set_utf8_ptr(p, cfg_pin);
    }
    return 1;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL)
           || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* 3: the provider keeps what the config says; so does its core. */
static void provider_reads(const char *module, const char *pin)
{
    static const OSSL_DISPATCH in[] = {
        { OSSL_FUNC_CORE_GET_PARAMS, (void (*)(void))fake_get_params },
        { 0, NULL }
    };
    struct hkprov_ctx ctx = { 0 };
    struct hsmkey_core *core;

    cfg_module = module;
    cfg_pin = pin;
    FUZZ_ASSERT(hkprov_config_load(&ctx, NULL, in), "%s",
                "config load failed");
    FUZZ_ASSERT(same(ctx.module_path, module && *module ? module : NULL)
                    && same(ctx.pin_source, pin && *pin ? pin : NULL),
                "provider kept module '%s' pin-source '%s'", ctx.module_path,
                ctx.pin_source);
    if (ctx.pin_source != NULL)
        hsmkey_pin_source_check(ctx.pin_source);
    core = hsmkey_core_new(ctx.module_path, ctx.pin_source);
    FUZZ_ASSERT(core != NULL, "%s", "core refused its settings");
    FUZZ_ASSERT(ctx.module_path == NULL
                    || strcmp(hsmkey_core_module_name(core), ctx.module_path)
                           == 0,
                "core uses module '%s'", hsmkey_core_module_name(core));
    hsmkey_core_free(core);
    hkprov_config_free(&ctx);
}

/* "a//b/./c/" -> "a/b/c": the same path, spelled one way (a directory,
 * which realpath spells without the trailing slash). */
static void normalize(char *p)
{
    char *o = p, *start = strchr(p, '/');

    for (char *i = p; *i != '\0';) {
        if (i[0] == '/' && (i[1] == '/' || (i[1] == '.' && (i[2] == '/'
                                                            || !i[2])))) {
            i += i[1] == '/' ? 1 : 2;
            continue;
        }
        *o++ = *i++;
    }
    if (start != NULL && o > start + 1 && o[-1] == '/')
        o--;
    *o = '\0';
}

/* The absolute path hsmkey should write for path, or 0 when too long. */
static int absolute(const char *path, char *out)
{
    char cwd[PATH_MAX];

    if (path[0] == '/') {
        snprintf(out, PATH_MAX, "%s", path);
    } else if (realpath(path, out) == NULL) {
        FUZZ_ASSERT(getcwd(cwd, sizeof(cwd)) != NULL, "%s", "getcwd failed");
        if ((size_t)snprintf(out, PATH_MAX, "%s/%s", cwd, path) >= PATH_MAX)
            return 0;
        normalize(out);
    }
    return strlen(path) + 16 < PATH_MAX;
}

/* What pkcs11-module / pin-source should read back as; 0: not judged. */
static int expected(const char *module, const char *pin, char *m, char *p)
{
    char path[PATH_MAX];
    int ok = 1;

    if (module != NULL)
        ok &= absolute(module, m);
    if (pin != NULL && strncmp(pin, "file:", 5) == 0) {
        ok &= absolute(pin + 5, path);
        snprintf(p, PATH_MAX + 8, "file:%s", path);
    } else if (pin != NULL) {
        ok &= strlen(pin) + 16 < PATH_MAX;
        snprintf(p, PATH_MAX + 8, "%s", pin);
    }
    return ok;
}

/* [hsmkey_sect] holds what hsmkey writes there, each key once. */
static void assert_section(CONF *conf, const char *module, const char *pin)
{
    STACK_OF(CONF_VALUE) *sect = NCONF_get_section(conf, "hsmkey_sect");
    const char *want[] = { "module", "activate", "pkcs11-module",
                           "pin-source" };
    size_t nwant = module != NULL ? (pin != NULL ? 4 : 3) : 2;
    const char *act = NCONF_get_string(conf, "hsmkey_sect", "activate");

    if (module == NULL && pin != NULL)
        want[2] = "pin-source", nwant = 3;
    FUZZ_ASSERT(sect != NULL && sk_CONF_VALUE_num(sect) == (int)nwant,
                "[hsmkey_sect] has %d keys, not %zu",
                sect ? sk_CONF_VALUE_num(sect) : -1, nwant);
    for (size_t i = 0; i < nwant; i++)
        FUZZ_ASSERT(NCONF_get_string(conf, "hsmkey_sect", want[i]) != NULL,
                    "[hsmkey_sect] lacks %s", want[i]);
    FUZZ_ASSERT(act != NULL && strcmp(act, "1") == 0, "activate is '%s'",
                act ? act : "(none)");
    FUZZ_ASSERT(strcmp(NCONF_get_string(conf, "hsmkey_sect", "module"),
                       tool_provider_path()) == 0,
                "%s", "module is not this hsmkey.so");
}

/* "/x//y/" and "/x/y" name the same file; so do "/x/y/.." and "/x" when
 * they exist (hsmkey keeps a path's ".." as written, realpath() does
 * not). */
static int same_path(const char *got, const char *want)
{
    char a[PATH_MAX + 16], b[PATH_MAX + 16];
    const char *fa = got, *fb = want;
    struct stat sa, sb;

    if (strncmp(fa, "file:", 5) == 0 && strncmp(fb, "file:", 5) == 0)
        fa += 5, fb += 5;
    if (stat(fa, &sa) == 0 && stat(fb, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    snprintf(a, sizeof(a), "%s", got);
    snprintf(b, sizeof(b), "%s", want);
    normalize(a);
    normalize(b);
    return strcmp(a, b) == 0;
}

/* config-escaping (tests/fuzz/README.md): characters openssl.cnf treats specially
 * are written as they are, and leading or trailing blanks are lost. */
static int needs_escaping(const char *v)
{
    size_t n = v != NULL ? strlen(v) : 0;

    return n > 0 && (strpbrk(v, "#'\"`\\$\r\n") != NULL
                     || strchr(" \t", v[0]) != NULL
                     || strchr(" \t", v[n - 1]) != NULL);
}

/* config-dot-slash (tests/fuzz/README.md): "./" taken off a relative path leaves
 * "/..." when more slashes follow, and that is written as absolute. */
static int dot_slash_root(const char *v)
{
    if (v != NULL && strncmp(v, "file:", 5) == 0)
        v += 5;
    if (v == NULL || v[0] != '.')
        return 0;
    while (v[0] == '.' && v[1] == '/')
        v += 2;
    return v[0] == '/';
}

/* 2: OpenSSL reads from the file what hsmkey meant to write. */
static void read_back(const char *path, const char *module, const char *pin)
{
    static char m[PATH_MAX], p[PATH_MAX + 8];
    CONF *conf = NCONF_new(NULL);
    const char *got_m, *got_p;
    long line = 0;

    if (fuzz_known("config-escaping")
        && (needs_escaping(module) || needs_escaping(pin))) {
        NCONF_free(conf);
        return;
    }
    FUZZ_ASSERT(conf != NULL && NCONF_load(conf, path, &line) == 1,
                "hsmkey config wrote a file OpenSSL cannot load (line %ld) "
                "for module '%s' pin-source '%s'", line, module ? module : "",
                pin ? pin : "");
    assert_section(conf, module, pin);
    got_m = NCONF_get_string(conf, "hsmkey_sect", "pkcs11-module");
    got_p = NCONF_get_string(conf, "hsmkey_sect", "pin-source");
    ERR_clear_error();
    if (fuzz_known("config-dot-slash")
        && (dot_slash_root(module) || dot_slash_root(pin))) {
        provider_reads(got_m, got_p);
        NCONF_free(conf);
        return;
    }
    if (expected(module, pin, m, p)) {
        FUZZ_ASSERT(module == NULL || (got_m && same_path(got_m, m)),
                    "--module '%s' reads back as '%s'", module,
                    got_m ? got_m : "(none)");
        FUZZ_ASSERT(pin == NULL || (got_p && same_path(got_p, p)),
                    "--pin-source '%s' reads back as '%s'", pin,
                    got_p ? got_p : "(none)");
    }
    provider_reads(got_m, got_p);
    NCONF_free(conf);
}

static int plain(const char *v, int is_pin)
{
    if (v == NULL)
        return 1;
    if (is_pin && strncmp(v, "file:", 5) != 0 && strncmp(v, "env:", 4) != 0)
        return 0;
    v += is_pin ? (v[0] == 'f' ? 5 : 4) : 0;
    if (*v == '\0')
        return 0;
    for (; *v != '\0'; v++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789/._-", *v))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[512];
    char *buf, *parts[2], *argv[] = { "config", "--out", out, NULL };
    size_t n = fuzz_split(data, size, &buf, parts, 2);
    const char *module = parts[0][0] != '\0' ? parts[0] : NULL;
    const char *pin = n > 1 ? parts[1] : NULL;
    struct tool_ctx ctx = { 0 };
    int ok;

    if (out[0] == '\0') {
        unsetenv("HSMKEY_PKCS11_MODULE");
        unsetenv("HSMKEY_PIN_SOURCE");
        fuzz_path("hsmkey.cnf", out, sizeof(out));
    }
    ctx.cmd = "config";
    ctx.module = module;
    ctx.pin_source = pin;
    fuzz_err_reset();
    remove(out);
    ok = tool_setup(&ctx, 0) && cmd_config(&ctx, 3, argv) == TOOL_EXIT_OK;
    tool_teardown(&ctx);
    if (ok) {
        read_back(out, module, pin);
    } else {
        FUZZ_ASSERT(fuzz_err_count() > 0, "%s", "config refused silently");
        FUZZ_ASSERT(!plain(module, 0) || !plain(pin, 1),
                    "config refused plain values: %s", fuzz_err_last());
        provider_reads(module, pin); /* as from a hand-written file */
    }
    ERR_clear_error();
    free(buf);
    return 0;
}
