/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_delete.c - `hsmkey delete --key URI|REF.pem [--yes]`: a key pair and
 * the certificates with its id, off the token, after showing them and
 * asking.  The URI must name exactly one private key: one that matches
 * several is refused, never a guess.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "hsmkey/provision.h"
#include "commands.h"

const char cmd_delete_help[] =
    "usage: hsmkey delete --key URI|REF.pem [--yes]\n"
    "\n"
    "Delete a key pair from its token: the private key the URI names, the\n"
    "public key and every certificate object with the same CKA_ID (the same\n"
    "label when the key has no id).  What will be deleted is shown on\n"
    "stderr first, and asked about on a terminal; without a terminal\n"
    "nothing is deleted unless --yes is given.  The URI must name an object\n"
    "(object= or id=) and match exactly one private key; a URI that\n"
    "matches several is refused.  Needs the token's PIN.\n"
    "\n"
    "A deleted key is gone: every server whose key-reference file or\n"
    "configuration names it fails at its next start.  Delete the old key of\n"
    "a rotation only after the servers run with the new one (see\n"
    "docs/ROTATION.md).\n"
    "\n"
    "Options:\n"
    "  --key URI|FILE  the private key: a pkcs11: URI or a key-reference file\n"
    "  --yes           do not ask (scripts)\n"
    "\n"
    "Output (--json: an array of objects, the same names in lower case):\n"
    "  LABEL, CLASS (private, public, cert), ID (hex) of each object deleted\n"
    "\n"
    "Examples:\n"
    "  hsmkey delete --key 'pkcs11:token=node1;object=node-key-2024;"
    "type=private'\n"
    "  hsmkey delete --key old-key.pem --yes --pin-source "
    "file:/etc/hsmkey/node.pin\n"
    "\n" TOOL_GLOBAL_HELP;

static const struct tool_column columns[] = {
    { "LABEL", TOOL_COL_STR }, { "CLASS", TOOL_COL_STR },
    { "ID", TOOL_COL_STR },
};

static const char *class_short(CK_OBJECT_CLASS cls)
{
    return cls == CKO_PRIVATE_KEY ? "private"
           : cls == CKO_PUBLIC_KEY ? "public" : "cert";
}

/* The URI names an object: `pkcs11:token=x` alone would take the only
 * private key there is, which is no way to choose what to delete. */
static int names_object(const char *uri)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    int ok = p != NULL && hsmkey_uri_names_object(p);

    if (p != NULL && !ok)
        hsmkey_raise(HSMKEY_R_BAD_URI, "delete: %s names no object: add "
                     "object=LABEL or id=%%XX (see hsmkey keys)", uri);
    p11_kit_uri_free(p);
    return ok;
}

/* The private key, then its public key and certificates by id (or, with
 * no id, by label) on the same token. */
static int family(struct tool_ctx *ctx, struct hsmkey_object *priv,
                  struct tool_objects *set)
{
    static const CK_OBJECT_CLASS others[] = { CKO_PUBLIC_KEY,
                                              CKO_CERTIFICATE };
    struct hsmkey_token *tok = hsmkey_object_token(priv);
    size_t len = 0;
    const void *id = hsmkey_object_attr(priv, CKA_ID, &len);
    CK_ATTRIBUTE_TYPE by = CKA_ID;

    if (id == NULL || len == 0) {
        by = CKA_LABEL;
        id = hsmkey_object_attr(priv, CKA_LABEL, &len);
    }
    if (!tool_objects_add(set, priv))
        return 0;
    for (size_t i = 0; id != NULL && i < 2; i++)
        if (!tool_objects_find(ctx, tok, others[i], by, id, len, set))
            return 0;
    return 1;
}

static int print(const struct tool_ctx *ctx, const struct tool_objects *set,
                 size_t done)
{
    struct tool_table *t = tool_table_new(columns, 3);
    int ok = t != NULL;

    for (size_t i = 0; ok && i < done; i++) {
        size_t ll = 0, il = 0;
        const char *lab = hsmkey_object_attr(set->v[i], CKA_LABEL, &ll);
        const unsigned char *id = hsmkey_object_attr(set->v[i], CKA_ID, &il);
        char *label = OPENSSL_strndup(lab ? lab : "", lab ? ll : 0);
        char *hex = tool_hex(id, id ? il : 0);
        const char *row[] = { label, class_short(
                                  hsmkey_object_class(set->v[i])), hex };

        ok = label != NULL && hex != NULL && tool_table_add(t, row);
        OPENSSL_free(label);
        OPENSSL_free(hex);
    }
    ok = ok && tool_table_print(t, stdout, ctx->json);
    tool_table_free(t);
    return ok;
}

/* Private key first: if anything fails, the rest of the pair is still
 * there to see what happened; the count of objects gone is reported. */
static int destroy_all(const struct tool_ctx *ctx,
                       const struct tool_objects *set)
{
    size_t done = 0;

    while (done < set->n && hsmkey_object_destroy(set->v[done]))
        done++;
    if (done > 0)
        fprintf(stderr, "deleted %zu of %zu objects from token '%s'\n", done,
                set->n, hsmkey_token_label(hsmkey_object_token(set->v[0])));
    /* A partial deletion is an error (raised): its account is the line
     * above and the error, not a listing that looks complete. */
    return done == set->n && print(ctx, set, done);
}

int cmd_delete(struct tool_ctx *ctx, int argc, char **argv)
{
    const char *key = NULL;
    int yes = 0, ok = 0;
    const struct tool_opt opts[] = {
        { "key", &key, NULL }, { "yes", NULL, &yes }, { NULL },
    };
    struct tool_objects set = { NULL, 0 };
    struct hsmkey_object *priv = NULL;
    char question[160], *uri = NULL;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "key", key)
        || (uri = tool_key_uri(key)) == NULL || !names_object(uri)
        || (priv = tool_find_one(ctx, uri, CKO_PRIVATE_KEY)) == NULL
        || !family(ctx, priv, &set))
        goto done;
    fprintf(stderr, "to be deleted from token '%s':\n",
            hsmkey_token_label(hsmkey_object_token(priv)));
    tool_objects_describe(stderr, &set);
    snprintf(question, sizeof(question), "Delete these %zu object%s? They "
             "cannot be recovered.", set.n, set.n == 1 ? "" : "s");
    ok = tool_confirm(ctx, yes, question) && destroy_all(ctx, &set);
done:
    tool_objects_free(&set);
    hsmkey_object_free(priv);
    OPENSSL_free(uri);
    return ok ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}
