/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tokenpub.c - the public half of a token key as the token shows it to
 * anyone, without a PIN: its public key object, else its certificate
 * object.  What a monitoring check compares a certificate with, so that
 * the agent never holds the PIN nor spends the token's retry counter.
 */
#include <string.h>
#include <openssl/x509.h>

#include "tool.h"

/* The one object of class cls matching p; NULL with *n == 0 when none. */
static struct hsmkey_object *find_one(struct tool_ctx *ctx, P11KitUri *p,
                                      CK_OBJECT_CLASS cls, size_t *n)
{
    struct hsmkey_object **objs = NULL, *one = NULL;

    *n = 0;
    if (!hsmkey_core_find(ctx->core, p, cls, &objs, n))
        return NULL;
    if (*n == 1)
        one = hsmkey_object_ref(objs[0]);
    else if (*n > 1)
        hsmkey_raise_not_unique(p, cls, objs, *n);
    hsmkey_objects_free(objs, *n);
    return one;
}

static EVP_PKEY *cert_key(struct hsmkey_object *cert)
{
    size_t len;
    const unsigned char *v = hsmkey_object_attr(cert, CKA_VALUE, &len);
    X509 *x = v != NULL ? d2i_X509(NULL, &v, (long)len) : NULL;
    EVP_PKEY *pub = x != NULL ? X509_get_pubkey(x) : NULL;

    if (pub == NULL)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: not a readable X.509 "
                     "certificate", hsmkey_object_desc(cert));
    X509_free(x);
    return pub;
}

/* The key's URI with its class left open: type=private names the key,
 * but its public half lives in objects of other classes. */
static P11KitUri *any_class(const char *uri)
{
    P11KitUri *p = hsmkey_uri_parse(uri);

    if (p != NULL)
        p11_kit_uri_clear_attribute(p, CKA_CLASS);
    return p;
}

int tool_token_public(struct tool_ctx *ctx, const char *uri, EVP_PKEY **pub,
                      char *what, size_t len)
{
    P11KitUri *p = any_class(uri);
    struct hsmkey_object *obj = NULL;
    size_t n = 0;
    int ok = 0;

    *pub = NULL;
    if (p == NULL)
        return 0;
    if ((obj = find_one(ctx, p, CKO_PUBLIC_KEY, &n)) != NULL) {
        snprintf(what, len, "public key object, %s", hsmkey_object_desc(obj));
        ok = (*pub = hsmkey_object_public_key(obj, NULL, NULL)) != NULL;
    } else if (n == 0
               && (obj = find_one(ctx, p, CKO_CERTIFICATE, &n)) != NULL) {
        snprintf(what, len, "certificate object, %s",
                 hsmkey_object_desc(obj));
        ok = (*pub = cert_key(obj)) != NULL;
    } else {
        /* Several (raised), or neither class (a NULL key, not an error). */
        ok = n == 0 && !tool_errors_ours_queued();
    }
    hsmkey_object_free(obj);
    p11_kit_uri_free(p);
    return ok;
}
