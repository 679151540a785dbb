/* SPDX-License-Identifier: Apache-2.0 */
/*
 * newkey.c - what keygen and import print once a key is on the token: its
 * URI on stdout (or a JSON object), a one-line account on stderr, and the
 * key-reference file --out asked for.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "hsmkey/provision.h"
#include "tool.h"

static const struct tool_column columns[] = {
    { "LABEL", TOOL_COL_STR },  { "ID", TOOL_COL_STR },
    { "TYPE", TOOL_COL_STR },   { "URI", TOOL_COL_STR },
    { "KEYREF", TOOL_COL_STR }, { "REPLACED", TOOL_COL_INT },
};

/* "rsa:2048", "ec:P-256", "ed25519": the --type spelling. */
static void type_name(const struct hsmkey_object *obj, char *out, size_t len)
{
    char type[16], size[32];

    hsmkey_object_keyinfo(obj, type, sizeof(type), size, sizeof(size));
    if (strcmp(type, "rsa") == 0 || strcmp(type, "ec") == 0)
        snprintf(out, len, "%s:%s", type, size);
    else
        snprintf(out, len, "%s", type);
}

/*
 * What the key may do, as the token set it: a token may refuse the
 * optional extras (decrypt for RSA, derive for EC) of the template.
 */
static const char *usage_note(const struct hsmkey_object *obj)
{
    CK_KEY_TYPE kt = hsmkey_object_key_type(obj);

    if (!hsmkey_object_flag(obj, CKA_SIGN, 1))
        return "; the token did not allow it to sign (CKA_SIGN false)";
    if (kt == CKK_RSA && !hsmkey_object_flag(obj, CKA_DECRYPT, 1))
        return "; it signs, but the token did not allow decryption "
               "(CKA_DECRYPT false: no TLS 1.2 RSA key exchange)";
    if (kt == CKK_EC && !hsmkey_object_flag(obj, CKA_DERIVE, 1))
        return "; it signs, but the token did not allow derivation "
               "(CKA_DERIVE false: no ECDH with it)";
    return "";
}

static int print(struct tool_ctx *ctx, const struct hsmkey_object *obj,
                 const char *const *row, const char *verb, size_t replaced)
{
    struct tool_table *t;
    int ok;

    /* The account goes to stderr in both forms: stdout is for scripts. */
    fprintf(stderr, "%s %s key pair '%s' (id %s) on token '%s'; the private "
            "key is sensitive and not extractable%s%s\n", verb, row[2],
            row[0], row[1], hsmkey_token_label(hsmkey_object_token(obj)),
            usage_note(obj),
            replaced ? "; the keys it replaces are destroyed" : "");
    if (row[4] != NULL)
        fprintf(stderr, "key reference written to %s (by the token's "
                "label, see hsmkey keyref --help)\n", row[4]);
    if (!ctx->json)
        return printf("%s\n", row[3]) > 0;
    t = tool_table_new(columns, 6);
    ok = t != NULL && tool_table_add(t, row)
         && tool_table_print_record(t, stdout, 1);
    tool_table_free(t);
    return ok;
}

/* The key-reference file names the token by label (portable.c). */
static int write_ref(const char *out, const char *uri)
{
    char dropped[128], *kept = tool_portable_uri(uri, dropped,
                                                 sizeof(dropped));
    int ok = kept != NULL && tool_write_keyref(out, kept);

    OPENSSL_free(kept);
    return ok;
}

int tool_newkey_report(struct tool_ctx *ctx, const struct hsmkey_object *obj,
                       const char *verb, const char *out, size_t replaced)
{
    size_t idlen, lablen;
    const unsigned char *id = hsmkey_object_attr(obj, CKA_ID, &idlen);
    const char *lab = hsmkey_object_attr(obj, CKA_LABEL, &lablen);
    char *hex = tool_hex(id, id ? idlen : 0), *uri = hsmkey_object_uri(obj);
    char *label = OPENSSL_strndup(lab ? lab : "", lab ? lablen : 0);
    char type[48], nrep[24];
    const char *row[6] = { label, hex, type, uri, out, nrep };
    int ok = 0;

    type_name(obj, type, sizeof(type));
    snprintf(nrep, sizeof(nrep), "%zu", replaced);
    if (hex != NULL && uri != NULL && label != NULL
        && (out == NULL || write_ref(out, uri)))
        ok = print(ctx, obj, row, verb, replaced);
    OPENSSL_free(hex);
    OPENSSL_free(uri);
    OPENSSL_free(label);
    return ok;
}
