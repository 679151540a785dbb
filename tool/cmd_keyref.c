/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_keyref.c - `hsmkey keyref --key URI --out REF.pem`: a key-reference
 * file (a PEM file holding only the URI) that programs load as if it were
 * the private key.  The URI is checked for form, never for a PIN inside.
 */
#include <openssl/crypto.h>

#include "commands.h"

const char cmd_keyref_help[] =
    "usage: hsmkey keyref --key URI --out REF.pem\n"
    "\n"
    "Write a key-reference file for a pkcs11: URI: a PEM file\n"
    "(-----BEGIN PKCS#11 PROVIDER URI-----) that holds only the URI, in the\n"
    "format latchset/pkcs11-provider also reads. A program that loads a\n"
    "private key from a PEM path (nginx ssl_certificate_key, curl --key,\n"
    "openssl -key) gets the token key through the hsmkey provider.\n"
    "The URI must name an object (object= or id=) and must not carry a\n"
    "pin-value; the token is not contacted.\n"
    "\n"
    "Options:\n"
    "  --key URI      the private key's pkcs11: URI (see hsmkey keys), or an\n"
    "                 existing key-reference file to copy\n"
    "  --out REF.pem  the file to write (replaced if it exists); mode 0640,\n"
    "                 and a replaced file loses group/other write bits\n"
    "\n"
    "Examples:\n"
    "  hsmkey keyref --key 'pkcs11:token=node1;object=node-key;type=private'"
    " \\\n"
    "         --out /etc/nginx/node-key.pem\n"
    "  hsmkey keyref --json --key \"$(hsmkey keygen --token node1 "
    "--label k --type ec:P-256)\" --out k.pem\n"
    "\n" TOOL_GLOBAL_HELP;

static int names_object(const char *uri)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    int ok = p != NULL && hsmkey_uri_names_object(p);

    if (p != NULL && !ok)
        hsmkey_raise(HSMKEY_R_BAD_URI, "keyref: %s names no object: add "
                     "object=LABEL or id=%%XX (see hsmkey keys)", uri);
    p11_kit_uri_free(p);
    return ok;
}

static int report(const struct tool_ctx *ctx, const char *uri,
                  const char *out)
{
    static const struct tool_column cols[] = {
        { "URI", TOOL_COL_STR }, { "KEYREF", TOOL_COL_STR },
    };
    const char *row[] = { uri, out };
    struct tool_table *t;
    int ok;

    if (!ctx->json) {
        fprintf(stderr, "key reference for %s written to %s\n", uri, out);
        return 1;
    }
    t = tool_table_new(cols, 2);
    ok = t != NULL && tool_table_add(t, row)
         && tool_table_print_record(t, stdout, 1);
    tool_table_free(t);
    return ok;
}

int cmd_keyref(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *key = NULL, *out = NULL;
    const struct tool_opt opts[] = {
        { "key", &key, NULL }, { "out", &out, NULL }, { NULL },
    };
    char *uri = NULL;
    int ok;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "key", key)
        || !tool_opt_required(ctx->cmd, "out", out)
        || (uri = tool_key_uri(key)) == NULL)
        return TOOL_EXIT_RAISED;
    ok = names_object(uri) && tool_write_keyref(out, uri)
         && report(ctx, uri, out);
    OPENSSL_free(uri);
    return ok ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
