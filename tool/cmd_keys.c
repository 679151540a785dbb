/* cmd_keys.c - placeholder, being written. */
#include "commands.h"

const char cmd_keys_help[] = "usage: hsmkey keys\n";

int cmd_keys(struct tool_ctx *ctx, int argc, char **argv)
{
    if (!tool_opts_parse(ctx->cmd, argc, argv, (struct tool_opt[]){ { NULL } }))
        return TOOL_EXIT_RAISED;
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "keys: not written yet");
    return TOOL_EXIT_RAISED;
}
