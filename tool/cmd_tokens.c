/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_tokens.c - `hsmkey tokens`: every slot of the module(s), with its
 * token's label, serial, manufacturer, model and flags; slots without an
 * initialized token are marked free.  Needs no PIN.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_tokens_help[] =
    "usage: hsmkey tokens [--module PATH] [--json]\n"
    "\n"
    "List the slots of the PKCS#11 module(s) and their tokens. Needs no PIN.\n"
    "\n"
    "Columns (--json: the same names in lower case, one object per slot):\n"
    "  SLOT          the slot id\n"
    "  LABEL         the token label (--token LABEL of other commands)\n"
    "  SERIAL, MANUFACTURER, MODEL   from the token\n"
    "  FLAGS         initialized or uninitialized, login-required,\n"
    "                user-pin-initialized, pin-count-low, pin-final-try,\n"
    "                pin-locked, write-protected, removable, hardware\n"
    "  FREE          yes when the slot has no initialized token: a free\n"
    "                slot to initialize a new token in\n"
    "  MODULE        the PKCS#11 library's description\n"
    "\n"
    "Examples:\n"
    "  hsmkey tokens\n"
    "  hsmkey --module /usr/lib/softhsm/libsofthsm2.so tokens --json\n"
    "\n" TOOL_GLOBAL_HELP;

static const struct tool_column columns[] = {
    { "SLOT", TOOL_COL_INT },     { "LABEL", TOOL_COL_STR },
    { "SERIAL", TOOL_COL_STR },   { "MANUFACTURER", TOOL_COL_STR },
    { "MODEL", TOOL_COL_STR },    { "FLAGS", TOOL_COL_STR },
    { "FREE", TOOL_COL_BOOL },    { "MODULE", TOOL_COL_STR },
};

static const struct {
    CK_FLAGS flag;
    const char *name;
} token_flags[] = {
    { CKF_LOGIN_REQUIRED, "login-required" },
    { CKF_USER_PIN_INITIALIZED, "user-pin-initialized" },
    { CKF_USER_PIN_COUNT_LOW, "pin-count-low" },
    { CKF_USER_PIN_FINAL_TRY, "pin-final-try" },
    { CKF_USER_PIN_LOCKED, "pin-locked" },
    { CKF_WRITE_PROTECTED, "write-protected" },
};

static void flags_text(const struct hsmkey_slot *s, char *out, size_t len)
{
    size_t n;

    snprintf(out, len, "%s", !s->has_token ? "no-token"
                             : s->initialized ? "initialized"
                                              : "uninitialized");
    for (size_t i = 0; i < sizeof(token_flags) / sizeof(token_flags[0]);
         i++) {
        n = strlen(out);
        if (s->has_token && (s->token.flags & token_flags[i].flag))
            snprintf(out + n, len - n, ",%s", token_flags[i].name);
    }
    n = strlen(out);
    if (s->info.flags & CKF_REMOVABLE_DEVICE)
        snprintf(out + n, len - n, ",removable");
    n = strlen(out);
    if (s->info.flags & CKF_HW_SLOT)
        snprintf(out + n, len - n, ",hardware");
}

static void pstr(char *dst, size_t len, const CK_UTF8CHAR *src, size_t n)
{
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    snprintf(dst, len, "%.*s", (int)n, (const char *)src);
}

static int add_slot(struct tool_table *t, const struct hsmkey_slot *s)
{
    char slot[24], label[33], serial[17], manuf[33], model[17], flags[256];
    const char *row[8] = { slot, NULL, NULL, NULL, NULL, flags, NULL,
                           s->module };

    snprintf(slot, sizeof(slot), "%lu", (unsigned long)s->id);
    flags_text(s, flags, sizeof(flags));
    row[6] = s->initialized ? "no" : "yes";
    if (s->has_token) {
        pstr(label, sizeof(label), s->token.label, sizeof(s->token.label));
        pstr(serial, sizeof(serial), s->token.serialNumber, 16);
        pstr(manuf, sizeof(manuf), s->token.manufacturerID, 32);
        pstr(model, sizeof(model), s->token.model, 16);
        row[1] = s->initialized ? label : NULL;
        row[2] = serial;
        row[3] = manuf;
        row[4] = model;
    }
    return tool_table_add(t, row);
}

int cmd_tokens(struct tool_ctx *ctx, int argc, char **argv)
{
    const struct tool_opt opts[] = { { NULL } };
    struct hsmkey_slot *slots = NULL;
    struct tool_table *t = NULL;
    size_t n = 0;
    int rc = TOOL_EXIT_RAISED;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !hsmkey_core_slots(ctx->core, &slots, &n))
        goto done;
    if ((t = tool_table_new(columns, 8)) == NULL)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (!add_slot(t, &slots[i]))
            goto done;
    if (tool_table_print(t, stdout, ctx->json))
        rc = TOOL_EXIT_OK;
done:
    tool_table_free(t);
    OPENSSL_free(slots);
    return rc;
}
