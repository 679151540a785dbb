/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_keyref.c - `hsmkey keyref --key URI --out REF.pem`: a key-reference
 * file (a PEM file holding only the URI) that programs load as if it were
 * the private key; `hsmkey keyref --show REF.pem`: the URI one holds.  The
 * URI is checked for form, never for a PIN inside; the token is not asked.
 */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "hsmkey/keyref.h"
#include "commands.h"

const char cmd_keyref_help[] =
    "usage: hsmkey keyref --key URI|REF.pem --out REF.pem [--exact]\n"
    "       hsmkey keyref --show REF.pem\n"
    "\n"
    "Write a key-reference file for a pkcs11: URI: a PEM file\n"
    "(-----BEGIN PKCS#11 PROVIDER URI-----) that holds only the URI, in the\n"
    "format latchset/pkcs11-provider also reads. A program that loads a\n"
    "private key from a PEM path (nginx ssl_certificate_key, curl --key,\n"
    "openssl -key) gets the token key through the hsmkey provider.\n"
    "The URI must name an object (object= or id=) and must not carry a\n"
    "pin-value; the token is not contacted.  The file is written beside\n"
    "--out and renamed over it: a server restarting meanwhile reads the\n"
    "old reference or the new one, never half a file.\n"
    "\n"
    "The file names the token by its label only: the token's serial\n"
    "number, model and manufacturer (and slot and library attributes) of\n"
    "the URI are left out, and said so on stderr.  It then still names the\n"
    "key on a replacement token restored from backup, or on an HA partner\n"
    "presenting the same label.  Two tokens with that label and a key of\n"
    "that label or id, both present, make the key ambiguous: it is then\n"
    "refused, never guessed.  --exact keeps the URI as given, tying the\n"
    "file to that one token.  A URI without token= is always kept as given.\n"
    "\n"
    "Options:\n"
    "  --key URI      the private key's pkcs11: URI (see hsmkey keys), or an\n"
    "                 existing key-reference file to copy\n"
    "  --out REF.pem  the file to write (replaced whole if it exists, keeping\n"
    "                 its owner; mode 0640, group and others never write)\n"
    "  --exact        keep serial, model, manufacturer, slot and library\n"
    "                 attributes of the URI\n"
    "  --show REF.pem print the URI the file holds (--json: uri, keyref,\n"
    "                 token, object, id, type and portable: whether it\n"
    "                 names the token by label alone); writes nothing\n"
    "\n"
    "Examples:\n"
    "  hsmkey keyref --key 'pkcs11:token=node1;object=node-key;type=private'"
    " \\\n"
    "         --out /etc/nginx/node-key.pem\n"
    "  hsmkey keyref --json --key \"$(hsmkey keygen --token node1 "
    "--label k --type ec:P-256)\" --out k.pem\n"
    "  hsmkey keyref --show /etc/nginx/node-key.pem\n"
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
                  const char *out, const char *dropped)
{
    static const struct tool_column cols[] = {
        { "URI", TOOL_COL_STR }, { "KEYREF", TOOL_COL_STR },
    };
    const char *row[] = { uri, out };
    struct tool_table *t;
    int ok;

    if (*dropped != '\0')
        fprintf(stderr, "the key reference names the token by its label "
                "alone (%s left out, so it survives a token replacement; "
                "--exact keeps them)\n", dropped);
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

static int write_ref(struct tool_ctx *ctx, const char *key, const char *out,
                     int exact)
{
    char *uri = tool_key_uri(key), *kept = NULL, dropped[128] = "";
    int ok = 0;

    if (uri == NULL || !names_object(uri))
        goto done;
    kept = exact ? OPENSSL_strdup(uri)
                 : tool_portable_uri(uri, dropped, sizeof(dropped));
    ok = kept != NULL && tool_write_keyref(out, kept)
         && report(ctx, kept, out, dropped);
done:
    OPENSSL_free(kept);
    OPENSSL_free(uri);
    return ok;
}

/* The URI's parts a person looks for, decoded. */
struct uri_parts {
    char token[33], object[256], type[16];
    char *id; /* hex; OPENSSL_free */
    int portable;
};

static const char *class_name(CK_OBJECT_CLASS cls)
{
    switch (cls) {
    case CKO_PRIVATE_KEY: return "private";
    case CKO_PUBLIC_KEY: return "public";
    case CKO_CERTIFICATE: return "cert";
    case CKO_SECRET_KEY: return "secret-key";
    default: return "data";
    }
}

static void text_attr(P11KitUri *p, CK_ATTRIBUTE_TYPE type, char *out,
                      size_t len)
{
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(p, type);

    if (a != NULL && a->pValue != NULL)
        snprintf(out, len, "%.*s", (int)a->ulValueLen,
                 (const char *)a->pValue);
}

static void uri_parts(const char *uri, struct uri_parts *u)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    CK_ATTRIBUTE *a;
    char dropped[128] = "", *again;
    size_t n;

    memset(u, 0, sizeof(*u));
    if (p == NULL)
        return;
    n = sizeof(p11_kit_uri_get_token_info(p)->label);
    memcpy(u->token, p11_kit_uri_get_token_info(p)->label, n);
    while (n > 0 && (u->token[n - 1] == ' ' || u->token[n - 1] == '\0'))
        u->token[--n] = '\0';
    text_attr(p, CKA_LABEL, u->object, sizeof(u->object));
    if ((a = p11_kit_uri_get_attribute(p, CKA_ID)) != NULL)
        u->id = tool_hex(a->pValue, a->ulValueLen);
    if ((a = p11_kit_uri_get_attribute(p, CKA_CLASS)) != NULL
        && a->ulValueLen == sizeof(CK_OBJECT_CLASS))
        snprintf(u->type, sizeof(u->type), "%s",
                 class_name(*(CK_OBJECT_CLASS *)a->pValue));
    /* Portable: it names a token label and nothing the portable form
     * would leave out. */
    again = tool_portable_uri(uri, dropped, sizeof(dropped));
    u->portable = u->token[0] != '\0' && again != NULL && dropped[0] == '\0';
    OPENSSL_free(again);
    p11_kit_uri_free(p);
}

static int show(struct tool_ctx *ctx, const char *path)
{
    static const struct tool_column cols[] = {
        { "URI", TOOL_COL_STR, 0 },     { "KEYREF", TOOL_COL_STR, 1 },
        { "TOKEN", TOOL_COL_STR, 1 },   { "OBJECT", TOOL_COL_STR, 1 },
        { "ID", TOOL_COL_STR, 1 },      { "TYPE", TOOL_COL_STR, 1 },
        { "PORTABLE", TOOL_COL_BOOL, 1 },
    };
    char *uri = tool_key_uri(path);
    struct tool_table *t = NULL;
    struct uri_parts u;
    int ok;

    if (uri == NULL)
        return 0;
    if (!ctx->json) {
        ok = printf("%s\n", uri) > 0;
        OPENSSL_free(uri);
        return ok;
    }
    uri_parts(uri, &u);
    {
        const char *row[] = { uri, path, *u.token ? u.token : NULL,
                              *u.object ? u.object : NULL, u.id,
                              *u.type ? u.type : NULL,
                              u.portable ? "yes" : "no" };

        ok = (t = tool_table_new(cols, 7)) != NULL && tool_table_add(t, row)
             && tool_table_print_record(t, stdout, 1);
    }
    tool_table_free(t);
    OPENSSL_free(u.id);
    OPENSSL_free(uri);
    return ok;
}

int cmd_keyref(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *key = NULL, *out = NULL, *shown = NULL;
    int exact = 0;
    const struct tool_opt opts[] = {
        { "key", &key, NULL },     { "out", &out, NULL },
        { "show", &shown, NULL },  { "exact", NULL, &exact },
        { NULL },
    };

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts))
        return TOOL_EXIT_RAISED;
    if (shown != NULL) {
        if (key != NULL || out != NULL || exact) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "keyref: --show reads a "
                         "file and writes nothing: it takes no --key, --out "
                         "or --exact");
            return TOOL_EXIT_RAISED;
        }
        return tool_opt_required(ctx->cmd, "show", shown) && show(ctx, shown)
                   ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
    }
    if (!tool_opt_required(ctx->cmd, "key", key)
        || !tool_opt_required(ctx->cmd, "out", out))
        return TOOL_EXIT_RAISED;
    return write_ref(ctx, key, out, exact) ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
