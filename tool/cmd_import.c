/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_import.c - `hsmkey import`: an on-disk private key (PEM or DER,
 * PKCS#8 or traditional, encrypted or not) created on the token as a
 * sensitive, non-extractable key with its public key beside it.  The file
 * itself is left alone, and the command says so.
 */
#include <errno.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/decoder.h>

#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_import_help[] =
    "usage: hsmkey import --token LABEL --label NAME --key KEY.pem\n"
    "                     [--passin file:PATH|env:VAR] [--id HEX]\n"
    "                     [--out REF.pem] [--force [--yes]]\n"
    "\n"
    "Move an existing private key into the token. It is created with\n"
    "CKA_SENSITIVE true and CKA_EXTRACTABLE false, so it cannot be read\n"
    "back; a public key object with the same label and id is created\n"
    "beside it. Prints the private key's pkcs11: URI. The key file is left\n"
    "as it is: delete it yourself once the token key is in use.\n"
    "\n"
    "Options:\n"
    "  --token LABEL  the token (see hsmkey tokens)\n"
    "  --label NAME   CKA_LABEL of the new key objects\n"
    "  --key FILE     RSA, EC (named curve), Ed25519 or Ed448 private key: PEM or\n"
    "                 DER, PKCS#8 or traditional, encrypted or not\n"
    "  --passin SRC   passphrase of an encrypted key: file:PATH (first line)\n"
    "                 or env:VAR; else asked without echo on a terminal\n"
    "  --id HEX       CKA_ID; default: the SHA-1 of the public key\n"
    "  --out REF.pem  also write a key-reference file for the new key\n"
    "  --force        replace keys that have the same label or id: they are\n"
    "                 shown and, once confirmed, destroyed\n"
    "  --yes          with --force: do not ask (scripts)\n"
    "\n"
    "Examples:\n"
    "  hsmkey import --token node1 --label node-key --key node.key \\\n"
    "         --pin-source file:/etc/hsmkey/node.pin --out node-key.pem\n"
    "  hsmkey import --token node1 --label old --key old.p8 "
    "--passin env:KEYPASS\n"
    "\n" TOOL_GLOBAL_HELP;

struct pass_ctx {
    const char *passin; /* --passin, or NULL */
    const char *path;
    int interactive;
    int asked;          /* the key turned out to be encrypted */
};

static int pass_cb(char *pass, size_t size, size_t *len,
                   const OSSL_PARAM params[], void *arg)
{
    struct pass_ctx *pc = arg;
    struct hsmkey_pin *secret = NULL;
    char prompt[160];

    (void)params;
    pc->asked = 1;
    if (pc->passin != NULL) {
        secret = hsmkey_pin_resolve(pc->passin);
    } else if (pc->interactive) {
        snprintf(prompt, sizeof(prompt), "Passphrase for %.100s: ", pc->path);
        secret = tool_ask_secret(prompt);
    }
    if (secret == NULL || hsmkey_pin_len(secret) > size) {
        hsmkey_pin_free(secret);
        return 0;
    }
    memcpy(pass, hsmkey_pin_data(secret), hsmkey_pin_len(secret));
    *len = hsmkey_pin_len(secret);
    hsmkey_pin_free(secret);
    return 1;
}

static EVP_PKEY *decode(BIO *in, struct pass_ctx *pc)
{
    EVP_PKEY *key = NULL;
    OSSL_DECODER_CTX *dctx;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&key, NULL, NULL, NULL,
                                         EVP_PKEY_KEYPAIR, NULL, NULL);
    if (dctx == NULL
        || !OSSL_DECODER_CTX_set_passphrase_cb(dctx, pass_cb, pc)
        || !OSSL_DECODER_from_bio(dctx, in)) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return key;
}

/* A private key from the file; errors say what the file was not. */
static EVP_PKEY *read_key(const char *path, const char *passin,
                          int interactive)
{
    struct pass_ctx pc = { passin, path, interactive, 0 };
    BIO *in = BIO_new_file(path, "rb");
    EVP_PKEY *key = NULL;

    if (in == NULL) {
        hsmkey_raise(HSMKEY_R_FILE, "import: cannot read --key %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    key = decode(in, &pc);
    BIO_free(in);
    if (key != NULL)
        return key;
    if (pc.asked && passin == NULL && !interactive)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "import: %s is encrypted: give its "
                     "passphrase with --passin file:PATH or env:VAR", path);
    else if (pc.asked)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "import: cannot decrypt %s: wrong "
                     "passphrase?", path);
    else
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "import: %s holds no private key "
                     "(expected PEM or DER, PKCS#8 or traditional)", path);
    return NULL;
}

static int passin_check(const char *passin)
{
    if (strncmp(passin, "file:", 5) == 0 || strncmp(passin, "env:", 4) == 0)
        return hsmkey_pin_source_check(passin);
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "import: --passin takes file:PATH or "
                 "env:VAR (a passphrase is never taken from the command "
                 "line)");
    return 0;
}

/* --force: what the import replaces, by label and by the id it will
 * have (given, or the SHA-1 of the public key), shown and confirmed. */
static int confirm(struct tool_ctx *ctx, struct hsmkey_token *tok,
                   EVP_PKEY *key, const struct hsmkey_newkey *nk, int yes)
{
    struct hsmkey_newkey with_id = *nk;
    unsigned char sha1[20];

    if (!nk->force)
        return 1;
    if (with_id.id == NULL) {
        if (!hsmkey_pubkey_id(key, sha1))
            return 0;
        with_id.id = sha1;
        with_id.idlen = sizeof(sha1);
    }
    return tool_confirm_replace(ctx, tok, &with_id, yes);
}

static int import(struct tool_ctx *ctx, const char *token, EVP_PKEY *key,
                  const struct hsmkey_newkey *nk, const char *out,
                  const char *path, int yes)
{
    struct hsmkey_token *tok = tool_token(ctx, token);
    struct hsmkey_object *obj = NULL;
    size_t replaced = 0;
    int ok;

    if (tok == NULL || !tool_login(ctx, tok)
        || !confirm(ctx, tok, key, nk, yes)
        || (obj = hsmkey_import(tok, key, nk, &replaced)) == NULL)
        return 0;
    ok = tool_newkey_report(ctx, obj, "imported", out, replaced);
    if (ok)
        fprintf(stderr, "%s is left as it is: delete it once the token key "
                "is in use\n", path);
    hsmkey_object_free(obj);
    return ok;
}

int cmd_import(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *token = NULL, *label = NULL, *path = NULL, *passin = NULL,
               *id = NULL, *out = NULL;
    int force = 0, yes = 0, ok;
    const struct tool_opt opts[] = {
        { "token", &token, NULL }, { "label", &label, NULL },
        { "key", &path, NULL },    { "passin", &passin, NULL },
        { "id", &id, NULL },       { "out", &out, NULL },
        { "force", NULL, &force }, { "yes", NULL, &yes },
        { NULL },
    };
    struct hsmkey_newkey nk = { 0 };
    unsigned char idbuf[64];
    size_t idlen = sizeof(idbuf);
    char passabs[PATH_MAX + 8];
    EVP_PKEY *key;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "token", token)
        || !tool_opt_required(ctx->cmd, "label", label)
        || !tool_opt_required(ctx->cmd, "key", path)
        || (passin != NULL
            && (!tool_source_absolute(passin, passabs, sizeof(passabs))
                || !passin_check(passin = passabs)))
        || (id != NULL && !tool_parse_hex(ctx->cmd, "id", id, idbuf, &idlen))
        || (key = read_key(path, passin, ctx->interactive)) == NULL)
        return TOOL_EXIT_RAISED;
    nk.label = label;
    nk.id = id != NULL ? idbuf : NULL;
    nk.idlen = id != NULL ? idlen : 0;
    nk.force = force;
    ok = import(ctx, token, key, &nk, out, path, yes);
    EVP_PKEY_free(key);
    return ok ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
