/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_keys.c - `hsmkey keys --token LABEL`: the keys and certificates on a
 * token.  Public keys and certificates are listed without a PIN; private
 * keys need a login, and without a way to get a PIN they are left out
 * with a note rather than failing the whole listing.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_keys_help[] =
    "usage: hsmkey keys --token LABEL [--json]\n"
    "\n"
    "List the private keys, public keys and certificates on a token.\n"
    "Private keys are listed after logging in (PIN from --pin-source,\n"
    "HSMKEY_PIN_SOURCE or a prompt on a terminal); without a PIN, what is\n"
    "visible is listed and a note on stderr says private keys need one;\n"
    "--json then ends with a row {\"class\": \"private\", \"hidden\": true,\n"
    "\"note\": \"...\"} (its other keys null) saying so.\n"
    "\n"
    "Options:\n"
    "  --token LABEL   the token (see hsmkey tokens)\n"
    "\n"
    "Columns (--json: the same names in lower case, one object per row):\n"
    "  LABEL        CKA_LABEL\n"
    "  CLASS        private, public or cert\n"
    "  ID           CKA_ID in hex (keygen derives it from the public key,\n"
    "               like a certificate's Subject Key Identifier)\n"
    "  TYPE         rsa, ec, ed25519\n"
    "  SIZE         RSA modulus bits, or the curve (P-256, Ed25519 ...)\n"
    "  SENSITIVE    private keys: yes when the token never reveals it\n"
    "  EXTRACTABLE  private keys: yes when it may leave the token wrapped\n"
    "  URI          the pkcs11: URI of the object (use it as --key); it\n"
    "               names the token by label, manufacturer, model and\n"
    "               serial: a key-reference file made from it follows the\n"
    "               label only (see hsmkey keyref --help)\n"
    "  (--json only) hidden: false, note: null; true and a note on the row\n"
    "               that stands for private keys not listed without a PIN\n"
    "\n"
    "Examples:\n"
    "  hsmkey keys --token node1 --pin-source file:/etc/hsmkey/node.pin\n"
    "  hsmkey keys --token node1 --json | jq -r '.[] | select(.class == "
    "\"private\") | .uri'\n"
    "\n" TOOL_GLOBAL_HELP;

/*
 * HIDDEN and NOTE are JSON-only: a script reads there that a class of
 * objects could not be listed (the text says it on stderr).
 */
static const struct tool_column columns[] = {
    { "LABEL", TOOL_COL_STR, 0 },      { "CLASS", TOOL_COL_STR, 0 },
    { "ID", TOOL_COL_STR, 0 },         { "TYPE", TOOL_COL_STR, 0 },
    { "SIZE", TOOL_COL_STR, 0 },       { "SENSITIVE", TOOL_COL_BOOL, 0 },
    { "EXTRACTABLE", TOOL_COL_BOOL, 0 }, { "URI", TOOL_COL_STR, 0 },
    { "HIDDEN", TOOL_COL_BOOL, 1 },    { "NOTE", TOOL_COL_STR, 1 },
};

#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
                                           CKO_CERTIFICATE };
static const char *const class_names[] = { "private", "public", "cert" };

static int class_rank(const struct hsmkey_object *obj)
{
    for (int i = 0; i < 3; i++)
        if (hsmkey_object_class(obj) == classes[i])
            return i;
    return 3;
}

/* Pairs together: by label, then private, public, cert. */
static int by_label(const void *a, const void *b)
{
    const struct hsmkey_object *x = *(struct hsmkey_object *const *)a;
    const struct hsmkey_object *y = *(struct hsmkey_object *const *)b;
    size_t xl, yl;
    const char *xs = hsmkey_object_attr(x, CKA_LABEL, &xl);
    const char *ys = hsmkey_object_attr(y, CKA_LABEL, &yl);
    int c = memcmp(xs ? xs : "", ys ? ys : "", xl < yl ? xl : yl);

    if (c == 0 && xl != yl)
        c = xl < yl ? -1 : 1;
    return c != 0 ? c : class_rank(x) - class_rank(y);
}

static int add_object(struct tool_table *t, struct hsmkey_object *obj)
{
    size_t lablen, idlen;
    const char *lab = hsmkey_object_attr(obj, CKA_LABEL, &lablen);
    const unsigned char *id = hsmkey_object_attr(obj, CKA_ID, &idlen);
    char type[16], size[32], *label, *hex = tool_hex(id, id ? idlen : 0);
    char *uri = hsmkey_object_uri(obj);
    int priv = hsmkey_object_class(obj) == CKO_PRIVATE_KEY, ok = 0;
    const char *row[NCOLUMNS] = { NULL };

    label = OPENSSL_strndup(lab ? lab : "", lab ? lablen : 0);
    hsmkey_object_keyinfo(obj, type, sizeof(type), size, sizeof(size));
    row[0] = label;
    row[1] = class_names[class_rank(obj) < 3 ? class_rank(obj) : 0];
    row[2] = hex;
    row[3] = type;
    row[4] = size[0] ? size : NULL;
    row[5] = priv ? (hsmkey_object_flag(obj, CKA_SENSITIVE, 0) ? "yes" : "no")
                  : NULL;
    row[6] = priv ? (hsmkey_object_flag(obj, CKA_EXTRACTABLE, 1) ? "yes"
                                                                  : "no")
                  : NULL;
    row[7] = uri;
    row[8] = "no";
    if (label != NULL && hex != NULL && uri != NULL)
        ok = tool_table_add(t, row);
    OPENSSL_free(label);
    OPENSSL_free(hex);
    OPENSSL_free(uri);
    return ok;
}

/* Objects of one class on tok, appended to *all. */
static int find_class(struct tool_ctx *ctx, P11KitUri *uri,
                      CK_OBJECT_CLASS cls, struct hsmkey_object ***all,
                      size_t *n)
{
    struct hsmkey_object **objs = NULL, **grown;
    size_t k = 0;

    if (!hsmkey_core_find(ctx->core, uri, cls, &objs, &k))
        return 0;
    grown = OPENSSL_realloc(*all, (*n + k + 1) * sizeof(*grown));
    if (grown == NULL) {
        hsmkey_objects_free(objs, k);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    if (k > 0) /* objs is NULL when nothing matched */
        memcpy(grown + *n, objs, k * sizeof(*objs));
    *all = grown;
    *n += k;
    OPENSSL_free(objs); /* the references moved into *all */
    return 1;
}

/* The note (stderr) and, for JSON, the row that says the token's private
 * keys could not be listed without a PIN. */
static int note_hidden(struct tool_ctx *ctx, struct hsmkey_token *tok,
                       struct tool_table *t)
{
    char note[160];
    const char *row[NCOLUMNS] = { NULL, "private", NULL, NULL, NULL, NULL,
                                  NULL, NULL, "yes", note };

    snprintf(note, sizeof(note), "private keys are not listed: token '%s' "
             "needs a PIN (--pin-source or HSMKEY_PIN_SOURCE)",
             hsmkey_token_label(tok));
    fprintf(stderr, "hsmkey: note: %s\n", note);
    return !ctx->json || tool_table_add(t, row);
}

static int list(struct tool_ctx *ctx, struct hsmkey_token *tok,
                struct hsmkey_object ***all, size_t *n, int *skip_private)
{
    P11KitUri *uri = p11_kit_uri_new();
    int ok = 0;

    if (uri == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    *p11_kit_uri_get_token_info(uri) = *hsmkey_token_info(tok);
    *skip_private = (hsmkey_token_info(tok)->flags & CKF_LOGIN_REQUIRED)
                    && !tool_pin_available(ctx);
    ok = (*skip_private || find_class(ctx, uri, CKO_PRIVATE_KEY, all, n))
         && find_class(ctx, uri, CKO_PUBLIC_KEY, all, n)
         && find_class(ctx, uri, CKO_CERTIFICATE, all, n);
    p11_kit_uri_free(uri);
    return ok;
}

int cmd_keys(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *label = NULL;
    const struct tool_opt opts[] = { { "token", &label, NULL }, { NULL } };
    struct hsmkey_object **all = NULL;
    struct hsmkey_token *tok;
    struct tool_table *t = NULL;
    size_t n = 0;
    int rc = TOOL_EXIT_RAISED, hidden = 0;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "token", label)
        || (tok = tool_token(ctx, label)) == NULL
        || !list(ctx, tok, &all, &n, &hidden)
        || (t = tool_table_new(columns, NCOLUMNS)) == NULL)
        goto done;
    if (n > 1)
        qsort(all, n, sizeof(*all), by_label);
    for (size_t i = 0; i < n; i++)
        if (!add_object(t, all[i]))
            goto done;
    if (hidden && !note_hidden(ctx, tok, t))
        goto done;
    if (tool_table_print(t, stdout, ctx->json))
        rc = TOOL_EXIT_OK;
done:
    tool_table_free(t);
    hsmkey_objects_free(all, n);
    return rc;
}
