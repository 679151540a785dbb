/* cmd_keygen.c - placeholder, being written. */
#include "commands.h"

const char cmd_keygen_help[] = "usage: hsmkey keygen\n";

int cmd_keygen(struct tool_ctx *ctx, int argc, char **argv)
{
    if (!tool_opts_parse(ctx->cmd, argc, argv, (struct tool_opt[]){ { NULL } }))
        return TOOL_EXIT_RAISED;
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "keygen: not written yet");
    return TOOL_EXIT_RAISED;
}
