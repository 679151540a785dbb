/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_init_token.c - `hsmkey init-token --label NAME [--slot ID]`: a token
 * set up for keys: initialized with a label and the security officer's
 * PIN, then the user PIN set.  Both PINs come from pin sources or are asked
 * twice without echo; never from the command line.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_init_token_help[] =
    "usage: hsmkey init-token --label NAME [--slot ID]\n"
    "                         [--so-pin-source SRC] [--yes]\n"
    "\n"
    "Initialize a token: C_InitToken with the label and the security\n"
    "officer (SO) PIN, then the user PIN (C_InitPIN as SO).  Without --slot\n"
    "the first free slot is used (a slot whose token is not initialized;\n"
    "see the FREE column of hsmkey tokens).  With --slot ID a token that is\n"
    "already initialized there is initialized again, which destroys every\n"
    "key and certificate on it: it is shown and asked about first (--yes\n"
    "for scripts).  A label another token already has is refused: URIs and\n"
    "key-reference files name tokens by label.\n"
    "\n"
    "The SO PIN comes from --so-pin-source, the user PIN from the global\n"
    "--pin-source (else HSMKEY_PIN_SOURCE); either one not given is asked\n"
    "twice on the terminal without echo.  Keep the SO PIN apart from the\n"
    "user PIN: it resets the user PIN (hsmkey set-pin --so-pin-source)\n"
    "when that is lost or locked.\n"
    "\n"
    "Options:\n"
    "  --label NAME          the token label, 1 to 32 bytes\n"
    "  --slot ID             the slot (see hsmkey tokens); default: the first\n"
    "                        free one\n"
    "  --so-pin-source SRC   file:PATH or env:VAR with the new SO PIN\n"
    "  --yes                 re-initialize without asking (scripts)\n"
    "\n"
    "Output (--json: one object, the same names in lower case):\n"
    "  LABEL, SERIAL, MANUFACTURER, MODEL of the new token\n"
    "\n"
    "Examples:\n"
    "  hsmkey --module /usr/lib/softhsm/libsofthsm2.so init-token "
    "--label node1\n"
    "  hsmkey init-token --label node1 --so-pin-source file:/root/so.pin \\\n"
    "         --pin-source file:/etc/hsmkey/node.pin\n"
    "\n" TOOL_GLOBAL_HELP;

/* No slot id: tokens may change slot once initialized (SoftHSM2 does). */
static const struct tool_column columns[] = {
    { "LABEL", TOOL_COL_STR }, { "SERIAL", TOOL_COL_STR },
    { "MANUFACTURER", TOOL_COL_STR }, { "MODEL", TOOL_COL_STR },
};

struct init_args {
    const char *label, *slot, *so_source;
    int yes;
};

static void pstr(char *dst, size_t len, const CK_UTF8CHAR *src, size_t n)
{
    while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    snprintf(dst, len, "%.*s", (int)n, (const char *)src);
}

static int parse_slot(const char *text, CK_SLOT_ID *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);

    if (*text == '\0' || *text == '-' || *end != '\0'
        || v > (CK_SLOT_ID)-1) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "init-token: --slot '%.40s' is "
                     "not a slot id (a number, see hsmkey tokens)", text);
        return 0;
    }
    *out = (CK_SLOT_ID)v;
    return 1;
}

/* The slot to use: --slot, else the first with an uninitialized token. */
static const struct hsmkey_slot *pick(const struct init_args *a,
                                      const struct hsmkey_slot *slots,
                                      size_t n)
{
    CK_SLOT_ID want;

    if (a->slot == NULL) {
        for (size_t i = 0; i < n; i++)
            if (slots[i].has_token && !slots[i].initialized)
                return &slots[i];
        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "init-token: no free slot: "
                     "every token is initialized; give --slot ID to "
                     "initialize one again, which destroys its keys (see "
                     "hsmkey tokens)");
        return NULL;
    }
    if (!parse_slot(a->slot, &want))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (slots[i].id == want) {
            if (slots[i].has_token)
                return &slots[i];
            hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "init-token: slot %lu "
                         "holds no token", (unsigned long)want);
            return NULL;
        }
    hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "init-token: no slot %lu (see "
                 "hsmkey tokens)", (unsigned long)want);
    return NULL;
}

/* Another initialized token with the label would make URIs ambiguous. */
static int label_free(const char *label, const struct hsmkey_slot *chosen,
                      const struct hsmkey_slot *slots, size_t n)
{
    char have[33];

    for (size_t i = 0; i < n; i++) {
        if (&slots[i] == chosen || !slots[i].initialized)
            continue;
        pstr(have, sizeof(have), slots[i].token.label,
             sizeof(slots[i].token.label));
        if (strcmp(have, label) == 0) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "init-token: the token in "
                         "slot %lu is labelled '%s' already: choose another "
                         "label (URIs name tokens by label)",
                         (unsigned long)slots[i].id, label);
            return 0;
        }
    }
    return 1;
}

/* Initializing a token again destroys what it holds: say so, ask. */
static int confirm_reinit(struct tool_ctx *ctx, const struct init_args *a,
                          const struct hsmkey_slot *s)
{
    char label[33], serial[17];

    if (!s->initialized)
        return 1;
    pstr(label, sizeof(label), s->token.label, sizeof(s->token.label));
    pstr(serial, sizeof(serial), s->token.serialNumber, 16);
    fprintf(stderr, "slot %lu holds the initialized token '%s' (serial %s): "
            "initializing it again destroys every key and certificate on "
            "it, and the servers that use them stop working\n",
            (unsigned long)s->id, label, serial);
    return tool_confirm(ctx, a->yes, "Initialize it again?");
}

static int report(struct tool_ctx *ctx, const char *label)
{
    struct hsmkey_token *tok = tool_token(ctx, label);
    char serial[17], manuf[33], model[17];
    const char *row[] = { label, serial, manuf, model };
    struct tool_table *t;
    int ok;

    if (tok == NULL)
        return 0;
    pstr(serial, sizeof(serial), hsmkey_token_info(tok)->serialNumber, 16);
    pstr(manuf, sizeof(manuf), hsmkey_token_info(tok)->manufacturerID, 32);
    pstr(model, sizeof(model), hsmkey_token_info(tok)->model, 16);
    fprintf(stderr, "token '%s' initialized (serial %s), its user PIN set\n",
            label, serial);
    ok = (t = tool_table_new(columns, 4)) != NULL && tool_table_add(t, row)
         && tool_table_print_record(t, stdout, ctx->json);
    tool_table_free(t);
    return ok;
}

static int init(struct tool_ctx *ctx, const struct init_args *a)
{
    struct hsmkey_slot *slots = NULL;
    const struct hsmkey_slot *s;
    struct hsmkey_pin *so = NULL, *user = NULL;
    size_t n = 0;
    int ok = 0;

    if (!hsmkey_core_slots(ctx->core, &slots, &n)
        || (s = pick(a, slots, n)) == NULL
        || !label_free(a->label, s, slots, n) || !confirm_reinit(ctx, a, s))
        goto done;
    if ((so = tool_pin_get(ctx, a->so_source, "so-pin-source", "SO PIN",
                           a->label, 1)) == NULL
        || (user = tool_pin_get(ctx, ctx->pin_source, "pin-source",
                                "user PIN", a->label, 1)) == NULL)
        goto done;
    ok = hsmkey_token_init(ctx->core, s->id, a->label, so, user)
         && report(ctx, a->label);
done:
    hsmkey_pin_free(so);
    hsmkey_pin_free(user);
    OPENSSL_free(slots);
    return ok;
}

int cmd_init_token(struct tool_ctx *ctx, int argc, char **argv)
{
    struct init_args a = { 0 };
    const struct tool_opt opts[] = {
        { "label", &a.label, NULL },
        { "slot", &a.slot, NULL },
        { "so-pin-source", &a.so_source, NULL },
        { "yes", NULL, &a.yes },
        { NULL },
    };

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "label", a.label)
        || (a.so_source != NULL && !hsmkey_pin_source_check(a.so_source)))
        return TOOL_EXIT_RAISED;
    if (strlen(a.label) > 32) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "init-token: --label '%.40s...' "
                     "is longer than the 32 bytes of a token label", a.label);
        return TOOL_EXIT_RAISED;
    }
    return init(ctx, &a) ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
