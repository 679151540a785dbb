/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_config.c - `hsmkey config`: a complete openssl.cnf that loads the
 * hsmkey.so belonging to this hsmkey, with the PKCS#11 module and PIN
 * source of the global options.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

const char cmd_config_help[] =
    "usage: hsmkey config [--module PATH] [--pin-source SRC] [--out FILE]\n"
    "\n"
    "Print a ready openssl.cnf that loads the default provider and hsmkey.\n"
    "Point OPENSSL_CONF at it (or include it) and every OpenSSL 3 program\n"
    "can use token keys by their pkcs11: URI or key-reference file.\n"
    "\n"
    "Options:\n"
    "  --out FILE   write the configuration to FILE instead of stdout\n"
    "\n"
    "Keys of the [hsmkey_sect] section:\n"
    "  module         absolute path of hsmkey.so; the one that belongs to\n"
    "                 this hsmkey (build tree or OpenSSL's modules dir).\n"
    "                 May be omitted once hsmkey.so is installed there.\n"
    "  pkcs11-module  the PKCS#11 module (from --module); omitted: every\n"
    "                 module registered with p11-kit (p11-kit-proxy).\n"
    "                 The environment variable HSMKEY_PKCS11_MODULE\n"
    "                 overrides it.\n"
    "  pin-source     file:PATH (the file's first line) or env:VAR (from\n"
    "                 --pin-source); used when HSMKEY_PIN_SOURCE is unset.\n"
    "                 A URI's own pin-source or pin-value wins.\n"
    "  session-copies yes (default) or no: sign with a session-object copy\n"
    "                 of each key, made inside the token, never extractable\n"
    "                 (full speed on tokens that re-read token objects).\n"
    "  debug          1 or 0 (default): trace the provider's decisions on\n"
    "                 stderr, one line each (configuration, module, tokens,\n"
    "                 searches, login, sessions, key copies, recovery; never\n"
    "                 a PIN).  The environment variable HSMKEY_DEBUG (1 or\n"
    "                 0) overrides it; the hsmkey CLI reads it too.\n"
    "  activate       1: load the provider when the configuration is read.\n"
    "Other sections: openssl_conf and nodejs_conf (Node.js) name the\n"
    "[openssl_init] section; [provider_sect] lists default and hsmkey.\n"
    "\n"
    "Examples:\n"
    "  hsmkey --module /usr/lib/softhsm/libsofthsm2.so \\\n"
    "         --pin-source file:/etc/hsmkey/node.pin config --out hsmkey.cnf\n"
    "  OPENSSL_CONF=hsmkey.cnf openssl pkey -in \\\n"
    "         'pkcs11:token=node1;object=node-key;type=private' -pubout\n"
    "\n" TOOL_GLOBAL_HELP;

/* A path in the file must not depend on the directory it is read from;
 * out has PATH_MAX bytes (realpath's contract). */
static void absolute(const char *path, char *out, size_t outlen)
{
    char *cwd;

    if (path[0] == '/' || realpath(path, out) == NULL) {
        /* "./" and the slashes after it: ".//lib" is "lib", not "/lib" */
        while (path[0] != '/' && path[0] == '.' && path[1] == '/') {
            path += 2;
            while (path[0] == '/')
                path++;
        }
        cwd = path[0] == '/' ? NULL : getcwd(NULL, 0);
        snprintf(out, outlen, "%s%s%s", cwd ? cwd : "", cwd ? "/" : "", path);
        free(cwd);
    }
}

static void pin_source_abs(const char *src, char *out, size_t outlen)
{
    char path[PATH_MAX];

    if (strncmp(src, "file:", 5) != 0) {
        snprintf(out, outlen, "%s", src);
        return;
    }
    absolute(src + 5, path, sizeof(path));
    snprintf(out, outlen, "file:%s", path);
}

/*
 * A value as OpenSSL's config parser must see it: '#' would start a
 * comment, '$' a variable, quotes and '\\' change the text, so each gets a
 * backslash.  A control character (a newline would end the value and start
 * a new key) or a space at either end (trimmed by the parser) cannot be
 * written faithfully: refused, naming the setting.
 */
static char *conf_value(const char *what, const char *v)
{
    size_t n = strlen(v);
    char *out, *o;

    if (n == 0 || v[0] == ' ' || v[n - 1] == ' ' || v[0] == '\t'
        || v[n - 1] == '\t') {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "config: the %s may not be empty "
                     "or start or end with a space", what);
        return NULL;
    }
    if ((out = o = malloc(2 * n + 1)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    for (; *v != '\0'; v++) {
        if ((unsigned char)*v < 0x20 || *v == 0x7f) {
            free(out);
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "config: the %s holds a "
                         "control character (newline, tab...): it cannot be "
                         "written to openssl.cnf", what);
            return NULL;
        }
        if (strchr("#$\\\"'`", *v) != NULL)
            *o++ = '\\';
        *o++ = *v;
    }
    *o = '\0';
    return out;
}

static void write_cnf(FILE *out, const char *so, const char *module,
                      const char *pin)
{
    fprintf(out,
            "# openssl.cnf for the hsmkey provider (hsmkey config)\n"
            "openssl_conf = openssl_init\n"
            "nodejs_conf  = openssl_init          # Node.js reads this "
            "section name\n\n"
            "[openssl_init]\nproviders = provider_sect\n\n"
            "[provider_sect]\ndefault = default_sect\n"
            "hsmkey  = hsmkey_sect\n\n"
            "[default_sect]\nactivate = 1\n\n"
            "[hsmkey_sect]\nmodule        = %s\n", so);
    if (module != NULL)
        fprintf(out, "pkcs11-module = %s\n", module);
    else
        fputs("# pkcs11-module: every module registered with p11-kit\n",
              out);
    if (pin != NULL)
        fprintf(out, "pin-source    = %s\n", pin);
    else
        fputs("# pin-source  = file:/etc/hsmkey/node.pin   (or env:VAR)\n",
              out);
    fputs("activate = 1\n", out);
}

static int print_json(const char *module, const char *pin, const char *path,
                      const char *text)
{
    static const struct tool_column cols[] = {
        { "MODULE", TOOL_COL_STR }, { "PKCS11-MODULE", TOOL_COL_STR },
        { "PIN-SOURCE", TOOL_COL_STR }, { "FILE", TOOL_COL_STR },
        { "CONFIG", TOOL_COL_STR },
    };
    const char *row[] = { tool_provider_path(), module, pin, path, text };
    struct tool_table *t = tool_table_new(cols, 5);
    int ok = t != NULL && tool_table_add(t, row)
             && tool_table_print_record(t, stdout, 1);

    tool_table_free(t);
    return ok;
}

/* The file's text, in memory: printed, written, or carried in JSON. */
static char *render(const char *so, const char *module, const char *pin)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    write_cnf(mem, so, module, pin);
    if (fclose(mem) != 0) {
        free(text);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    return text;
}

static int write_file(const char *path, const char *text)
{
    FILE *out = fopen(path, "w");

    if (out == NULL || fputs(text, out) < 0 || fclose(out) != 0) {
        hsmkey_raise(HSMKEY_R_FILE, "config: cannot write %s: %s", path,
                     strerror(errno));
        return 0;
    }
    return 1;
}

int cmd_config(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *outpath = NULL, *m = NULL, *p = NULL;
    const struct tool_opt opts[] = { { "out", &outpath, NULL }, { NULL } };
    char module[PATH_MAX], pin[PATH_MAX + 8], *text, *eso, *em, *ep;
    int ok;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts))
        return TOOL_EXIT_RAISED;
    if (ctx->module != NULL) {
        absolute(ctx->module, module, sizeof(module));
        m = module;
    }
    if (ctx->pin_source != NULL) {
        pin_source_abs(ctx->pin_source, pin, sizeof(pin));
        p = pin;
    }
    /* What goes into the file, escaped; JSON reports the plain values. */
    eso = conf_value("path of hsmkey.so", tool_provider_path());
    em = m ? conf_value("PKCS#11 module path", m) : NULL;
    ep = p ? conf_value("pin source", p) : NULL;
    text = eso && (!m || em) && (!p || ep) ? render(eso, em, ep) : NULL;
    free(eso);
    free(em);
    free(ep);
    if (text == NULL)
        return TOOL_EXIT_RAISED;
    ok = outpath == NULL || write_file(outpath, text);
    if (ok && ctx->json)
        ok = print_json(m, p, outpath, text);
    else if (ok && outpath == NULL)
        fputs(text, stdout);
    free(text);
    return ok ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
