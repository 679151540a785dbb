/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.c - command-line options: the global ones (accepted before or after
 * the command name) and a small table-driven parser for each command's own.
 *
 * Only long options.  "--name VALUE" and "--name=VALUE" are the same; a
 * value is never taken from a following "--" terminator.  Errors name the
 * option and the command, and are usage errors (exit code 2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* "--name" or "--name=value" matches name; *value gets what follows '='. */
static int opt_match(const char *arg, const char *name, const char **value)
{
    size_t n = strlen(name);

    *value = NULL;
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
        return 0;
    if (arg[2 + n] == '=')
        *value = arg + 3 + n;
    return arg[2 + n] == '\0' || arg[2 + n] == '=';
}

/*
 * The value of the option at argv[*i]: inline, or the next argument.  cmd
 * prefixes messages ("keygen: --label ..."); NULL for a global option.
 */
static int opt_value(const char *cmd, int argc, char **argv, int *i,
                     const char *name, const char *inl, const char **out)
{
    const char *sep = cmd != NULL ? ": " : "";

    cmd = cmd != NULL ? cmd : "";
    if (inl == NULL) {
        if (*i + 1 >= argc) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s%s--%s needs a value",
                         cmd, sep, name);
            return 0;
        }
        inl = argv[++*i];
    }
    if (*out != NULL) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s%s--%s is given twice", cmd,
                     sep, name);
        return 0;
    }
    *out = inl;
    return 1;
}

static int opt_one(const char *cmd, int argc, char **argv, int *i,
                   const struct tool_opt *opts)
{
    const char *arg = argv[*i], *inl;

    for (const struct tool_opt *o = opts; o->name != NULL; o++) {
        if (!opt_match(arg, o->name, &inl))
            continue;
        if (o->value != NULL)
            return opt_value(cmd, argc, argv, i, o->name, inl, o->value);
        if (inl != NULL) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: --%s takes no value",
                         cmd, o->name);
            return 0;
        }
        *o->flag = 1;
        return 1;
    }
    if (arg[0] == '-')
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: unknown option %.64s (see "
                     "hsmkey %s --help)", cmd, arg, cmd);
    else
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: unexpected argument "
                     "'%.64s' (see hsmkey %s --help)", cmd, arg, cmd);
    return 0;
}

int tool_opts_parse(const char *cmd, int argc, char **argv,
                    const struct tool_opt *opts)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: unexpected argument "
                         "'%.64s'", cmd, argv[i + 1]);
            return 0;
        }
        if (strcmp(argv[i], "--") == 0)
            break;
        if (!opt_one(cmd, argc, argv, &i, opts))
            return 0;
    }
    return 1;
}

int tool_opt_required(const char *cmd, const char *name, const char *value)
{
    if (value != NULL && *value != '\0')
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: --%s is required%s", cmd, name,
                 value != NULL ? " (it is empty)" : "");
    return 0;
}

/* One global option at argv[*i]: 1 taken, 0 not global, -1 error. */
static int global_one(struct tool_ctx *ctx, int argc, char **argv, int *i,
                      int *help, int *version)
{
    const char *arg = argv[*i], *inl;

    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        *help = 1;
    } else if (strcmp(arg, "--version") == 0) {
        *version = 1;
    } else if (strcmp(arg, "--json") == 0) {
        ctx->json = 1;
    } else if (opt_match(arg, "module", &inl)) {
        return opt_value(NULL, argc, argv, i, "module", inl,
                         &ctx->module) ? 1 : -1;
    } else if (opt_match(arg, "module-init-args", &inl)) {
        return opt_value(NULL, argc, argv, i, "module-init-args", inl,
                         &ctx->init_args) ? 1 : -1;
    } else if (opt_match(arg, "pin-source", &inl)) {
        return opt_value(NULL, argc, argv, i, "pin-source", inl,
                         &ctx->pin_source) ? 1 : -1;
    } else {
        return 0;
    }
    return 1;
}

int tool_global_parse(struct tool_ctx *ctx, int *argc, char **argv,
                      int *help, int *version)
{
    int out = 1, i, rc;

    for (i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        rc = global_one(ctx, *argc, argv, &i, help, version);
        if (rc < 0)
            return 0;
        if (rc == 0)
            argv[out++] = argv[i];
    }
    while (i < *argc)
        argv[out++] = argv[i++];
    argv[out] = NULL;
    *argc = out;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tool_parse_hex(const char *cmd, const char *name, const char *hex,
                   unsigned char *out, size_t *len)
{
    size_t n = 0, cap = *len;
    int hi = -1, v;

    for (const char *p = hex; *p != '\0'; p++) {
        if (*p == ':' && hi < 0)
            continue;
        if ((v = hexval(*p)) < 0 || (hi >= 0 && n >= cap))
            goto bad;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0 || n == 0)
        goto bad;
    *len = n;
    return 1;
bad:
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: --%s '%.80s' is not 1 to %zu "
                 "bytes of hex (e.g. 01 or 0a1b2c)", cmd, name, hex, cap);
    return 0;
}

/*
 * The core takes PIN files by absolute path only (a server's working
 * directory is anyone's guess); on the command line, a relative one means
 * the user's working directory, so it is made absolute here.
 */
int tool_source_absolute(const char *src, char *out, size_t len)
{
    char *cwd;
    int n;

    if (strncmp(src, "file:", 5) != 0 || src[5] == '/' || src[5] == '\0') {
        n = snprintf(out, len, "%s", src);
    } else {
        if ((cwd = getcwd(NULL, 0)) == NULL) {
            hsmkey_raise(HSMKEY_R_FILE, "a relative file: source needs the "
                         "working directory: %s", strerror(errno));
            return 0;
        }
        n = snprintf(out, len, "file:%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd,
                     src + 5);
        free(cwd);
    }
    if (n < 0 || (size_t)n >= len) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "a file: source is too long");
        return 0;
    }
    return 1;
}
