/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_keygen.c - `hsmkey keygen`: a key pair generated on the token, the
 * private key sensitive and never extractable; prints its URI and, with
 * --out, writes a key-reference file for it.
 */
#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_keygen_help[] =
    "usage: hsmkey keygen --token LABEL --label NAME --type TYPE [--id HEX]\n"
    "                     [--out REF.pem] [--force [--yes]]\n"
    "\n"
    "Generate a key pair on the token. The private key is created with\n"
    "CKA_TOKEN, CKA_PRIVATE and CKA_SENSITIVE true and CKA_EXTRACTABLE false:\n"
    "it never leaves the token. A public key object with the same label and\n"
    "id is created beside it. Prints the private key's pkcs11: URI.\n"
    "\n"
    "Options:\n"
    "  --token LABEL  the token (see hsmkey tokens)\n"
    "  --label NAME   CKA_LABEL of the new keys\n"
    "  --type TYPE    rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384,\n"
    "                 ec:P-521 or ed25519 (if the token offers\n"
    "                 CKM_EC_EDWARDS_KEY_PAIR_GEN)\n"
    "  --id HEX       CKA_ID; default: the SHA-1 of the public key, as in a\n"
    "                 certificate's Subject Key Identifier\n"
    "  --out REF.pem  also write a key-reference file for the new key (it\n"
    "                 names the token by label, see hsmkey keyref --help)\n"
    "  --force        replace keys that have the same label or id: they are\n"
    "                 shown and, once confirmed, destroyed when the new pair\n"
    "                 exists; the servers using them stop working.  Without\n"
    "                 it an existing label or id is refused: to rotate a\n"
    "                 key, generate the new one under a new label\n"
    "                 (docs/ROTATION.md)\n"
    "  --yes          with --force: do not ask (scripts); without a terminal\n"
    "                 --force does nothing unless --yes is given\n"
    "\n"
    "Usage flags: sign; RSA keys also decrypt and EC keys derive (ECDH)\n"
    "where the token allows it (the account on stderr says when it did\n"
    "not). Nothing else is stated: the token sets the rest. A template the\n"
    "token refuses is reported with the attributes tried.\n"
    "\n"
    "Examples:\n"
    "  hsmkey keygen --token node1 --label node-key --type ec:P-256 \\\n"
    "         --pin-source file:/etc/hsmkey/node.pin --out node-key.pem\n"
    "  KEY=$(hsmkey keygen --token node1 --label tls --type rsa:3072)\n"
    "\n" TOOL_GLOBAL_HELP;

static int generate(struct tool_ctx *ctx, const char *token,
                    const struct hsmkey_keyspec *spec,
                    const struct hsmkey_newkey *nk, const char *out, int yes)
{
    struct hsmkey_token *tok = tool_token(ctx, token);
    struct hsmkey_object *obj = NULL;
    size_t replaced = 0;
    int ok;

    if (tok == NULL || !tool_login(ctx, tok)
        || (nk->force && !tool_confirm_replace(ctx, tok, nk, yes))
        || (obj = hsmkey_keygen(tok, spec, nk, &replaced)) == NULL)
        return 0;
    ok = tool_newkey_report(ctx, obj, "generated", out, replaced);
    hsmkey_object_free(obj);
    return ok;
}

int cmd_keygen(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *token = NULL, *label = NULL, *type = NULL, *id = NULL,
               *out = NULL;
    int force = 0, yes = 0;
    const struct tool_opt opts[] = {
        { "token", &token, NULL }, { "label", &label, NULL },
        { "type", &type, NULL },   { "id", &id, NULL },
        { "out", &out, NULL },     { "force", NULL, &force },
        { "yes", NULL, &yes },     { NULL },
    };
    struct hsmkey_keyspec spec;
    struct hsmkey_newkey nk = { 0 };
    unsigned char idbuf[64];
    size_t idlen = sizeof(idbuf);

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "token", token)
        || !tool_opt_required(ctx->cmd, "label", label)
        || !tool_opt_required(ctx->cmd, "type", type)
        || !hsmkey_keyspec_parse(type, &spec)
        || (id != NULL
            && !tool_parse_hex(ctx->cmd, "id", id, idbuf, &idlen)))
        return TOOL_EXIT_RAISED;
    nk.label = label;
    nk.id = id != NULL ? idbuf : NULL;
    nk.idlen = id != NULL ? idlen : 0;
    nk.force = force;
    return generate(ctx, token, &spec, &nk, out, yes) ? TOOL_EXIT_OK
                                                      : TOOL_EXIT_RAISED;
}
