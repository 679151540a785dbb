/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.c - the objects around a key, found on one token and described
 * for the operator before anything is destroyed (delete, keygen --force,
 * import --force): what they are, their label and id, for a certificate
 * its subject and end date.
 */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "hsmkey/ckr.h"
#include "hsmkey/provision.h"
#include "tool.h"
#include "x509util.h"

static int same_attr(const struct hsmkey_object *a,
                     const struct hsmkey_object *b, CK_ATTRIBUTE_TYPE type)
{
    size_t la = 0, lb = 0;
    const void *va = hsmkey_object_attr(a, type, &la);
    const void *vb = hsmkey_object_attr(b, type, &lb);

    return (va == NULL) == (vb == NULL) && la == lb
           && (va == NULL || memcmp(va, vb, la) == 0);
}

/* The same token object found twice (by label and by id, say). */
static int known(const struct tool_objects *set, struct hsmkey_object *obj)
{
    for (size_t i = 0; i < set->n; i++)
        if (hsmkey_object_class(set->v[i]) == hsmkey_object_class(obj)
            && same_attr(set->v[i], obj, CKA_ID)
            && same_attr(set->v[i], obj, CKA_LABEL))
            return 1;
    return 0;
}

static int add(struct tool_objects *set, struct hsmkey_object *obj)
{
    struct hsmkey_object **grown;

    if (known(set, obj))
        return 1;
    grown = OPENSSL_realloc(set->v, (set->n + 1) * sizeof(*grown));
    if (grown == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    set->v = grown;
    set->v[set->n++] = hsmkey_object_ref(obj);
    return 1;
}

int tool_objects_find(struct tool_ctx *ctx, struct hsmkey_token *tok,
                      CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE type,
                      const void *value, size_t len,
                      struct tool_objects *set)
{
    P11KitUri *uri = p11_kit_uri_new();
    CK_ATTRIBUTE a = { type, (void *)value, len };
    struct hsmkey_object **objs = NULL;
    size_t n = 0;
    int ok = 0;

    if (uri == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    /* This token only: its label, serial, model and manufacturer. */
    *p11_kit_uri_get_token_info(uri) = *hsmkey_token_info(tok);
    if (p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot build a search");
        goto done;
    }
    if (!hsmkey_core_find(ctx->core, uri, cls, &objs, &n))
        goto done;
    ok = 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = add(set, objs[i]);
done:
    hsmkey_objects_free(objs, n);
    p11_kit_uri_free(uri);
    return ok;
}

int tool_objects_add(struct tool_objects *set, struct hsmkey_object *obj)
{
    return add(set, obj);
}

void tool_objects_free(struct tool_objects *set)
{
    hsmkey_objects_free(set->v, set->n);
    set->v = NULL;
    set->n = 0;
}

/* ", CN=node1, valid until 2027-01-01" for a certificate object. */
static void cert_text(const struct hsmkey_object *obj, char *buf, size_t len)
{
    size_t vlen;
    const unsigned char *v = hsmkey_object_attr(obj, CKA_VALUE, &vlen);
    X509 *x = v != NULL ? d2i_X509(NULL, &v, (long)vlen) : NULL;
    char *subject = x != NULL ? tool_x509_name_text(X509_get_subject_name(x)) : NULL;
    struct tm tm;
    char until[16] = "?";

    buf[0] = '\0';
    if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
        strftime(until, sizeof(until), "%Y-%m-%d", &tm);
    if (subject != NULL)
        snprintf(buf, len, ", subject '%s', valid until %s", subject, until);
    OPENSSL_free(subject);
    X509_free(x);
}

void tool_objects_describe(FILE *out, const struct tool_objects *set)
{
    char type[16], size[32], extra[320];

    for (size_t i = 0; i < set->n; i++) {
        const struct hsmkey_object *o = set->v[i];

        hsmkey_object_keyinfo(o, type, sizeof(type), size, sizeof(size));
        extra[0] = '\0';
        if (hsmkey_object_class(o) == CKO_CERTIFICATE)
            cert_text(o, extra, sizeof(extra));
        fprintf(out, "  %s: %s, %s%s%s%s\n",
                hsmkey_class_word(hsmkey_object_class(o)), hsmkey_object_desc(o),
                type, *size ? " " : "", size, extra);
    }
}

int tool_confirm_replace(struct tool_ctx *ctx, struct hsmkey_token *tok,
                         const struct hsmkey_newkey *nk, int yes)
{
    static const CK_OBJECT_CLASS keys[] = { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
    struct tool_objects set = { NULL, 0 };
    int ok = 1;

    for (size_t i = 0; ok && i < 2; i++) {
        ok = tool_objects_find(ctx, tok, keys[i], CKA_LABEL, nk->label,
                               strlen(nk->label), &set);
        if (ok && nk->id != NULL)
            ok = tool_objects_find(ctx, tok, keys[i], CKA_ID, nk->id,
                                   nk->idlen, &set);
    }
    if (ok && set.n > 0) {
        fprintf(stderr, "--force destroys these keys of token '%s' once the "
                "new pair exists; servers that use them stop working at "
                "their next start (a new label is the way to rotate, see "
                "docs/ROTATION.md):\n", hsmkey_token_label(tok));
        tool_objects_describe(stderr, &set);
        ok = tool_confirm(ctx, yes, "Destroy them?");
    }
    tool_objects_free(&set);
    return ok;
}
