/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the hsmkey command table and the one path from argv to an exit
 * code: global options, the command's setup, its handler, and the errors
 * it queued printed as "hsmkey: <message>".
 */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "hsmkey-config.h"
#include "hsmkey/debug.h"
#include "commands.h"
#include "tool.h"

static const struct tool_cmd commands[] = {
    { "tokens", cmd_tokens, TOOL_NEEDS_CORE,
      "list slots and tokens", cmd_tokens_help },
    { "init-token", cmd_init_token, TOOL_NEEDS_CORE,
      "initialize a token: label, SO PIN and user PIN", cmd_init_token_help },
    { "set-pin", cmd_set_pin, TOOL_NEEDS_CORE,
      "change the user PIN, or reset it as the security officer",
      cmd_set_pin_help },
    { "keys", cmd_keys, TOOL_NEEDS_CORE,
      "list the keys on a token", cmd_keys_help },
    { "keygen", cmd_keygen, TOOL_NEEDS_CORE,
      "generate a never-extractable key pair on a token", cmd_keygen_help },
    { "import", cmd_import, TOOL_NEEDS_CORE,
      "move an on-disk private key into a token", cmd_import_help },
    { "csr", cmd_csr, TOOL_NEEDS_PROVIDER,
      "make a PKCS#10 request signed by a token key", cmd_csr_help },
    { "delete", cmd_delete, TOOL_NEEDS_CORE,
      "delete a key pair and its certificates from a token",
      cmd_delete_help },
    { "keyref", cmd_keyref, 0,
      "write (or --show) a key-reference file for a pkcs11: URI",
      cmd_keyref_help },
    { "check", cmd_check, TOOL_NEEDS_CORE | TOOL_NEEDS_PROVIDER,
      "check that certificate, CA chain and token key belong together",
      cmd_check_help },
    { "devcert", cmd_devcert, TOOL_NEEDS_PROVIDER,
      "issue a development certificate for a token key", cmd_devcert_help },
    { "config", cmd_config, 0,
      "print an openssl.cnf that loads the hsmkey provider", cmd_config_help },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fputs("usage: hsmkey [--module PATH] [--module-init-args ARGS]\n"
          "              [--pin-source file:PATH|env:VAR] [--json] COMMAND "
          "[OPTIONS]\n\ncommands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\n" TOOL_GLOBAL_HELP "\n"
          "Run 'hsmkey COMMAND --help' for a command's options and "
          "examples.\n", out);
}

static const struct tool_cmd *lookup(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The environment fills in what no option gave (secure_getenv, as the
 * provider reads it). */
static void from_env(struct tool_ctx *ctx)
{
    const char *v;

    if (ctx->module == NULL
        && (v = secure_getenv("HSMKEY_PKCS11_MODULE")) != NULL && *v != '\0')
        ctx->module = v;
    if (ctx->init_args == NULL
        && (v = secure_getenv("HSMKEY_PKCS11_MODULE_INIT_ARGS")) != NULL
        && *v != '\0')
        ctx->init_args = v;
    if (ctx->pin_source == NULL
        && (v = secure_getenv("HSMKEY_PIN_SOURCE")) != NULL && *v != '\0')
        ctx->pin_source = v;
    ctx->interactive = isatty(STDIN_FILENO);
}

static int run(struct tool_ctx *ctx, const struct tool_cmd *cmd, int argc,
               char **argv)
{
    int rc;

    ctx->cmd = cmd->name;
    /* The sources' names only: a PIN is never an argument. */
    hsmkey_debug("tool", "hsmkey %s %s: module %s, pin-source %s, %s output",
                 HSMKEY_VERSION, cmd->name,
                 ctx->module ? ctx->module : "(p11-kit registered modules)",
                 ctx->pin_source ? ctx->pin_source
                 : ctx->interactive ? "(a prompt)" : "(none)",
                 ctx->json ? "JSON" : "text");
    if (!tool_setup(ctx, cmd->needs))
        return TOOL_EXIT_RAISED;
    rc = cmd->handler(ctx, argc, argv);
    fflush(stdout);
    return rc;
}

static int dispatch(struct tool_ctx *ctx, int argc, char **argv)
{
    const struct tool_cmd *cmd;
    int help = 0, version = 0;

    if (!tool_global_parse(ctx, &argc, argv, &help, &version))
        return TOOL_EXIT_RAISED;
    from_env(ctx);
    if (version) {
        printf("hsmkey %s\n", HSMKEY_VERSION);
        return TOOL_EXIT_OK;
    }
    if (argc < 2) {
        usage(help ? stdout : stderr);
        return help ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
    }
    if ((cmd = lookup(argv[1])) == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "unknown %s '%.64s' (see hsmkey "
                     "--help)", argv[1][0] == '-' ? "option" : "command",
                     argv[1]);
        return TOOL_EXIT_RAISED;
    }
    if (help) {
        fputs(cmd->help, stdout);
        return TOOL_EXIT_OK;
    }
    return run(ctx, cmd, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    struct tool_ctx ctx = { 0 };
    int rc;

    /*
     * Before anything is read: a PIN (typed, or from its source) and, for
     * import, a private key pass through this process.  Not dumpable, no
     * core file holds them and other processes of the same user cannot
     * ptrace it or read its memory.  Kept until exit: freed memory is not
     * known to be clean.
     */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fputs("hsmkey: cannot make the process non-dumpable\n", stderr);
        return TOOL_EXIT_USAGE;
    }
    /* The CLI's own settings only: never a system openssl.cnf that might
     * load another hsmkey.so or module into the default context. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    hsmkey_debug_set(hsmkey_debug_from_env() == 1);
    rc = dispatch(&ctx, argc, argv);
    if (rc == TOOL_EXIT_RAISED)
        rc = ctx.json ? tool_errors_report_json(stderr, stdout)
                      : tool_errors_report(stderr);
    hsmkey_debug("tool", "exit status %d", rc);
    tool_teardown(&ctx);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("hsmkey: cannot write the output\n", stderr);
        rc = rc == 0 ? TOOL_EXIT_USAGE : rc;
    }
    return rc;
}
