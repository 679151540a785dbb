/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confirm.c - the question before anything that destroys keys or a token:
 * asked on a terminal, answered by --yes in scripts, and never assumed.
 */
#include <string.h>
#include <strings.h>

#include "tool.h"

int tool_confirm(const struct tool_ctx *ctx, int yes, const char *question)
{
    char answer[16];
    size_t n;

    if (yes)
        return 1;
    if (!ctx->interactive) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: nothing done: confirm on a "
                     "terminal, or add --yes", ctx->cmd);
        return 0;
    }
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        answer[0] = '\0';
    n = strcspn(answer, "\r\n");
    answer[n] = '\0';
    if (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0)
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: not confirmed: nothing done",
                 ctx->cmd);
    return 0;
}
