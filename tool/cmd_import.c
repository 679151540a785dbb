/* cmd_import.c - placeholder, being written. */
#include "commands.h"

const char cmd_import_help[] = "usage: hsmkey import\n";

int cmd_import(struct tool_ctx *ctx, int argc, char **argv)
{
    if (!tool_opts_parse(ctx->cmd, argc, argv, (struct tool_opt[]){ { NULL } }))
        return TOOL_EXIT_RAISED;
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "import: not written yet");
    return TOOL_EXIT_RAISED;
}
