/* cmd_tokens.c - placeholder, being written. */
#include "commands.h"

const char cmd_tokens_help[] = "usage: hsmkey tokens\n";

int cmd_tokens(struct tool_ctx *ctx, int argc, char **argv)
{
    if (!tool_opts_parse(ctx->cmd, argc, argv, (struct tool_opt[]){ { NULL } }))
        return TOOL_EXIT_RAISED;
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "tokens: not written yet");
    return TOOL_EXIT_RAISED;
}
