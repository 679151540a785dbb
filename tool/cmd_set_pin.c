/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_set_pin.c - `hsmkey set-pin --token LABEL`: the user PIN changed
 * with the current one, or set again by the security officer (a lost or
 * locked user PIN).  Every PIN comes from a pin source or a no-echo
 * prompt, never from the command line.
 */
#include <openssl/crypto.h>

#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_set_pin_help[] =
    "usage: hsmkey set-pin --token LABEL [--new-pin-source SRC]\n"
    "                      [--so-pin-source SRC]\n"
    "\n"
    "Change the user PIN of a token.  Without --so-pin-source the current\n"
    "user PIN is needed (global --pin-source, else HSMKEY_PIN_SOURCE, else\n"
    "asked on the terminal) and the token checks it (C_SetPIN).  With\n"
    "--so-pin-source the security officer sets a new user PIN (C_InitPIN):\n"
    "the way back when the user PIN is lost, or locked after too many wrong\n"
    "tries.  The new PIN comes from --new-pin-source, else it is asked twice\n"
    "on the terminal without echo.\n"
    "\n"
    "Servers keep working until they log in again; then they need the new\n"
    "PIN: write it to their pin-source file (file:PATH, mode 0600 or 0640\n"
    "for a service's group) before the next restart.\n"
    "\n"
    "Options:\n"
    "  --token LABEL          the token (see hsmkey tokens)\n"
    "  --new-pin-source SRC   file:PATH or env:VAR with the new user PIN\n"
    "  --so-pin-source SRC    file:PATH or env:VAR with the SO PIN: reset the\n"
    "                         user PIN as the security officer\n"
    "\n"
    "Output (--json: one object, the same names in lower case):\n"
    "  TOKEN, BY (user: changed with the current PIN; so: set by the\n"
    "  security officer)\n"
    "\n"
    "Examples:\n"
    "  hsmkey set-pin --token node1 --pin-source file:/etc/hsmkey/node.pin \\\n"
    "         --new-pin-source file:/root/new.pin\n"
    "  hsmkey set-pin --token node1 --so-pin-source file:/root/so.pin\n"
    "\n" TOOL_GLOBAL_HELP;

static const struct tool_column columns[] = {
    { "TOKEN", TOOL_COL_STR }, { "BY", TOOL_COL_STR },
};

struct set_pin_args {
    const char *token, *new_source, *so_source;
};

static int report(const struct tool_ctx *ctx, const char *label, int by_so)
{
    const char *row[] = { label, by_so ? "so" : "user" };
    struct tool_table *t = tool_table_new(columns, 2);
    int ok;

    fprintf(stderr, "user PIN of token '%s' %s; update the pin-source files "
            "of the servers that use it before they restart\n", label,
            by_so ? "set by the security officer" : "changed");
    ok = t != NULL && tool_table_add(t, row)
         && tool_table_print_record(t, stdout, ctx->json);
    tool_table_free(t);
    return ok;
}

static int change(struct tool_ctx *ctx, const struct set_pin_args *a)
{
    struct hsmkey_token *tok = tool_token(ctx, a->token);
    struct hsmkey_pin *auth = NULL, *fresh = NULL;
    int so = a->so_source != NULL, ok = 0;

    if (tok == NULL)
        return 0;
    /* The PIN that authorizes the change is read (or asked) first, the new
     * one after: the prompts come in the order a person expects. */
    auth = so ? hsmkey_pin_resolve(a->so_source)
              : tool_pin_get(ctx, ctx->pin_source, "pin-source",
                             "current user PIN", a->token, 0);
    if (auth == NULL
        || (fresh = tool_pin_get(ctx, a->new_source, "new-pin-source",
                                 "user PIN", a->token, 1)) == NULL)
        goto done;
    ok = (so ? hsmkey_token_reset_pin(tok, auth, fresh)
             : hsmkey_token_set_pin(tok, auth, fresh))
         && report(ctx, a->token, so);
done:
    hsmkey_pin_free(auth);
    hsmkey_pin_free(fresh);
    return ok;
}

int cmd_set_pin(struct tool_ctx *ctx, int argc, char **argv)
{
    struct set_pin_args a = { 0 };
    const struct tool_opt opts[] = {
        { "token", &a.token, NULL },
        { "new-pin-source", &a.new_source, NULL },
        { "so-pin-source", &a.so_source, NULL },
        { NULL },
    };

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "token", a.token)
        || (a.new_source != NULL && !hsmkey_pin_source_check(a.new_source))
        || (a.so_source != NULL && !hsmkey_pin_source_check(a.so_source)))
        return TOOL_EXIT_RAISED;
    return change(ctx, &a) ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
