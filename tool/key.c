/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key.c - the key a --key argument names (a pkcs11: URI or a key-reference
 * file), found through the core or loaded through the hsmkey provider.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/store.h>

#include "hsmkey/keyref.h"
#include "tool.h"

/* A URI from the command line or a file: well-formed and without a PIN. */
static int uri_check(const char *uri, const char *where)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    int ok = p != NULL;

    if (p != NULL && p11_kit_uri_get_pin_value(p) != NULL) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "%s: the URI carries a pin-value; a "
                     "PIN is never taken from the command line or a file "
                     "given there: use --pin-source", where);
        ok = 0;
    } else if (p == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "%s: not a usable pkcs11: URI", where);
    }
    p11_kit_uri_free(p);
    return ok;
}

char *tool_key_uri(const char *arg)
{
    BIO *in;
    char *uri;

    if (strncasecmp(arg, "pkcs11:", 7) == 0)
        return uri_check(arg, "--key") ? OPENSSL_strdup(arg) : NULL;
    if ((in = BIO_new_file(arg, "r")) == NULL) {
        hsmkey_raise(HSMKEY_R_FILE, "--key %s: %s (expected a pkcs11: URI "
                     "or a key-reference file)", arg, strerror(errno));
        return NULL;
    }
    uri = hsmkey_keyref_read_bio(in, arg);
    BIO_free(in);
    if (uri != NULL && !uri_check(uri, arg)) {
        OPENSSL_free(uri);
        uri = NULL;
    }
    return uri;
}

static const char *class_name(CK_OBJECT_CLASS cls)
{
    switch (cls) {
    case CKO_PRIVATE_KEY: return "private key";
    case CKO_PUBLIC_KEY: return "public key";
    case CKO_CERTIFICATE: return "certificate";
    default: return "object";
    }
}

struct hsmkey_object *tool_find_one(struct tool_ctx *ctx, const char *uri,
                                    CK_OBJECT_CLASS cls)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    struct hsmkey_object **objs = NULL, *one = NULL;
    size_t n = 0;

    if (p == NULL || !hsmkey_core_find(ctx->core, p, cls, &objs, &n))
        goto done;
    if (n == 1)
        one = hsmkey_object_ref(objs[0]);
    else if (n == 0)
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "no %s matches %s",
                     class_name(cls), uri);
    else
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "%zu %ss match %s (%s, %s%s): add "
                     "object= or id= to the URI", n, class_name(cls), uri,
                     hsmkey_object_desc(objs[0]), hsmkey_object_desc(objs[1]),
                     n > 2 ? ", ..." : "");
done:
    hsmkey_objects_free(objs, n);
    p11_kit_uri_free(p);
    return one;
}

/* Only a terminal and no pin source at all: the provider gets our PIN. */
static int needs_prompt(const struct tool_ctx *ctx, P11KitUri *p)
{
    const char *env = getenv("HSMKEY_PIN_SOURCE");

    return ctx->interactive && ctx->pin_source == NULL
           && (env == NULL || *env == '\0')
           && p11_kit_uri_get_pin_source(p) == NULL;
}

/* The URI with the PIN as pin-value, formatted by p11-kit (escaped). */
static char *with_pin(struct tool_ctx *ctx, P11KitUri *p)
{
    const CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(p);
    struct hsmkey_pin *pin;
    char label[33], *text = NULL, *out = NULL;
    size_t n = sizeof(ti->label);

    while (n > 0 && (ti->label[n - 1] == ' ' || ti->label[n - 1] == '\0'))
        n--;
    snprintf(label, sizeof(label), "%.*s", (int)n, (const char *)ti->label);
    if ((pin = tool_pin_prompt(n > 0 ? label : "(any)", ctx)) == NULL)
        return NULL;
    p11_kit_uri_set_pin_value(p, (const char *)hsmkey_pin_data(pin));
    if (p11_kit_uri_format(p, P11_KIT_URI_FOR_ANY, &text) == P11_KIT_URI_OK)
        out = OPENSSL_strdup(text);
    p11_kit_uri_set_pin_value(p, NULL);
    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    hsmkey_pin_free(pin);
    if (out == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot format the key URI");
    return out;
}

/*
 * The URI handed to OSSL_STORE: with the prompted PIN as pin-value when
 * nothing else would give the provider one.  *secret says to wipe it.
 */
static char *store_uri(struct tool_ctx *ctx, const char *uri, int *secret)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    char *out = NULL;

    *secret = 0;
    if (p == NULL)
        return NULL;
    if (needs_prompt(ctx, p)) {
        out = with_pin(ctx, p);
        *secret = 1;
    } else if ((out = OPENSSL_strdup(uri)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    }
    p11_kit_uri_free(p);
    return out;
}

static EVP_PKEY *store_load(OSSL_LIB_CTX *libctx, const char *uri,
                            const char *shown)
{
    OSSL_STORE_CTX *store;
    OSSL_STORE_INFO *info;
    EVP_PKEY *key = NULL;

    store = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL,
                               NULL);
    if (store == NULL) {
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "cannot open %s", shown);
        return NULL;
    }
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (key == NULL && !OSSL_STORE_eof(store)) {
        if ((info = OSSL_STORE_load(store)) == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    if (key == NULL)
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "no private key at %s", shown);
    return key;
}

EVP_PKEY *tool_load_key(struct tool_ctx *ctx, const char *arg)
{
    char *uri = tool_key_uri(arg), *full = NULL;
    EVP_PKEY *key = NULL;
    int secret = 0;

    if (uri == NULL)
        return NULL;
    if ((full = store_uri(ctx, uri, &secret)) != NULL)
        key = store_load(ctx->libctx, full, uri);
    if (full != NULL && secret)
        OPENSSL_cleanse(full, strlen(full));
    OPENSSL_free(full);
    OPENSSL_free(uri);
    return key;
}

int tool_write_keyref(const char *path, const char *uri)
{
    struct tool_out *out = tool_out_open(path, 0644);

    return out != NULL
           && tool_out_close(out, hsmkey_keyref_write_bio(tool_out_bio(out),
                                                          uri));
}
