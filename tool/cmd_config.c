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
    "usage: hsmkey config [--module PATH] [--module-init-args ARGS]\n"
    "                     [--pin-source SRC] [--out FILE]\n"
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
    "  pkcs11-module-init-args\n"
    "                 the string that module gets as C_Initialize's\n"
    "                 pReserved (from --module-init-args); only for a\n"
    "                 module that needs one, such as NSS softoken.\n"
    "                 HSMKEY_PKCS11_MODULE_INIT_ARGS overrides it.\n"
    "                 Registered p11-kit modules take theirs from\n"
    "                 x-init-reserved in their p11-kit module file.\n"
    "  pin-source     file:/PATH (the file's first line; an absolute path,\n"
    "                 the file owned by the program's user or root, not\n"
    "                 writable by group or others, not readable by others)\n"
    "                 or env:VAR (from --pin-source, a relative path made\n"
    "                 absolute).  HSMKEY_PIN_SOURCE overrides it; a URI's\n"
    "                 own pin-source or pin-value comes before both.\n"
    "  keyref-pin     ignore (default) or allow: whether a pin-value or\n"
    "                 pin-source inside a key-reference file is used.  A\n"
    "                 key-reference file is data: whoever wrote it must not\n"
    "                 choose which file the program opens or which PIN it\n"
    "                 sends.\n"
    "  session-copies auto (default), yes or no: sign with a session-object\n"
    "                 copy of each key per session, made inside the token,\n"
    "                 never extractable (auto: on SoftHSM2 only).\n"
    "  max-sessions   at most this many sessions per token (default: the\n"
    "                 token's own limit).\n"
    "  session-wait   seconds a signer waits for a session when all are\n"
    "                 busy (default 10).\n"
    "  debug          1 or 0 (default): trace the provider's decisions on\n"
    "                 stderr, one line each (configuration, module, tokens,\n"
    "                 searches, login, sessions, key copies, recovery; never\n"
    "                 a PIN).  The environment variable HSMKEY_DEBUG (1 or\n"
    "                 0) overrides it; the hsmkey CLI reads it too.\n"
    "  activate       1: load the provider when the configuration is read.\n"
    "Other sections: openssl_conf and nodejs_conf (Node.js) name the\n"
    "[openssl_init] section; [provider_sect] lists default and hsmkey.\n"
    "\n"
    "The PIN, first found wins: the pin-value or pin-source of a URI the\n"
    "program was given directly; HSMKEY_PIN_SOURCE; pin-source above; the\n"
    "program's own passphrase prompt (the openssl CLI asks on the terminal).\n"
    "The environment overrides this file for every key alike; both\n"
    "HSMKEY_PKCS11_MODULE and HSMKEY_PIN_SOURCE are read with secure_getenv,\n"
    "so a setuid or setgid program ignores them.  Prefer pin-source to\n"
    "pin-value: the openssl CLI prints the URIs it is given in its messages.\n"
    "\n"
    "Examples:\n"
    "  hsmkey --module /usr/lib/softhsm/libsofthsm2.so \\\n"
    "         --pin-source file:/etc/hsmkey/node.pin config --out hsmkey.cnf\n"
    "  OPENSSL_CONF=hsmkey.cnf openssl pkey -in \\\n"
    "         'pkcs11:token=node1;object=node-key;type=private' -pubout\n"
    "  NSS softoken (a database made with certutil -N -d sql:/etc/nssdb):\n"
    "  hsmkey --module /usr/lib/x86_64-linux-gnu/libsoftokn3.so \\\n"
    "         --module-init-args \"configdir='sql:/etc/nssdb' certPrefix=''\n"
    "         keyPrefix='' secmod='secmod.db' flags=\" config\n"
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

/* What goes into the [hsmkey_sect] section, escaped for the file. */
struct cnf_values {
    const char *so, *module, *init_args, *pin;
};

static void write_cnf(FILE *out, const struct cnf_values *v)
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
            "[hsmkey_sect]\nmodule        = %s\n", v->so);
    if (v->module != NULL)
        fprintf(out, "pkcs11-module = %s\n", v->module);
    else
        fputs("# pkcs11-module: every module registered with p11-kit\n",
              out);
    if (v->init_args != NULL)
        fprintf(out, "pkcs11-module-init-args = %s\n", v->init_args);
    if (v->pin != NULL)
        fprintf(out, "pin-source    = %s\n", v->pin);
    else
        fputs("# pin-source  = file:/etc/hsmkey/node.pin   (or env:VAR)\n",
              out);
    fputs("activate = 1\n", out);
}

static int print_json(const struct cnf_values *plain, const char *path,
                      const char *text)
{
    static const struct tool_column cols[] = {
        { "MODULE", TOOL_COL_STR }, { "PKCS11-MODULE", TOOL_COL_STR },
        { "PKCS11-MODULE-INIT-ARGS", TOOL_COL_STR },
        { "PIN-SOURCE", TOOL_COL_STR }, { "FILE", TOOL_COL_STR },
        { "CONFIG", TOOL_COL_STR },
    };
    const char *row[] = { plain->so, plain->module, plain->init_args,
                          plain->pin, path, text };
    struct tool_table *t = tool_table_new(cols, 6);
    int ok = t != NULL && tool_table_add(t, row)
             && tool_table_print_record(t, stdout, 1);

    tool_table_free(t);
    return ok;
}

/* The file's text, in memory: printed, written, or carried in JSON. */
static char *render(const struct cnf_values *v)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);

    if (mem == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    write_cnf(mem, v);
    if (fclose(mem) != 0) {
        free(text);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    return text;
}

/* The values escaped for openssl.cnf, rendered; NULL after raising. */
static char *render_escaped(const struct cnf_values *plain)
{
    static const char *const what[4] = { "path of hsmkey.so",
                                         "PKCS#11 module path",
                                         "module init args", "pin source" };
    const char *in[4] = { plain->so, plain->module, plain->init_args,
                          plain->pin };
    char *out[4] = { NULL, NULL, NULL, NULL }, *text = NULL;
    int ok = 1;

    for (int i = 0; i < 4 && ok; i++)
        ok = in[i] == NULL || (out[i] = conf_value(what[i], in[i])) != NULL;
    if (ok) {
        struct cnf_values esc = { out[0], out[1], out[2], out[3] };

        text = render(&esc);
    }
    for (int i = 0; i < 4; i++)
        free(out[i]);
    return text;
}

static int write_file(const char *path, const char *text)
{
    struct tool_out *out = tool_out_open(path, 0644);
    int len = (int)strlen(text);

    return out != NULL
           && tool_out_close(out, BIO_write(tool_out_bio(out), text, len)
                                      == len);
}

int cmd_config(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *outpath = NULL;
    const struct tool_opt opts[] = { { "out", &outpath, NULL }, { NULL } };
    char module[PATH_MAX], pin[PATH_MAX + 8], *text;
    struct cnf_values plain = { tool_provider_path(), NULL, ctx->init_args,
                                NULL };
    int ok;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts))
        return TOOL_EXIT_RAISED;
    if (ctx->module != NULL) {
        absolute(ctx->module, module, sizeof(module));
        plain.module = module;
    }
    if (ctx->pin_source != NULL) {
        pin_source_abs(ctx->pin_source, pin, sizeof(pin));
        plain.pin = pin;
    }
    /* The file gets the values escaped; JSON reports them plain. */
    if ((text = render_escaped(&plain)) == NULL)
        return TOOL_EXIT_RAISED;
    ok = outpath == NULL || write_file(outpath, text);
    if (ok && ctx->json)
        ok = print_json(&plain, outpath, text);
    else if (ok && outpath == NULL)
        fputs(text, stdout);
    free(text);
    return ok ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
