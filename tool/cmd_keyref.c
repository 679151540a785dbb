/* cmd_keyref.c - placeholder, being written. */
#include "commands.h"

const char cmd_keyref_help[] = "usage: hsmkey keyref\n";

int cmd_keyref(struct tool_ctx *ctx, int argc, char **argv)
{
    if (!tool_opts_parse(ctx->cmd, argc, argv, (struct tool_opt[]){ { NULL } }))
        return TOOL_EXIT_RAISED;
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "keyref: not written yet");
    return TOOL_EXIT_RAISED;
}
