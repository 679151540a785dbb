/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the OSSL_STORE loader for pkcs11: URIs.
 *
 * open() parses and classifies; the token is searched on the first load(),
 * once the application has said what it expects; each load() hands over
 * one object.  Private keys go out by reference (keymgmt load takes its own
 * reference), public keys as SubjectPublicKeyInfo DER and certificates as
 * DER, so those two become ordinary software objects.
 *
 * OSSL_STORE_find criteria (subject, issuer and serial, fingerprint, alias:
 * store_search.c) filter what the URI found.  A URI that names no class
 * (pkcs11:token=X) with no expectation gives everything it can: the
 * private keys when a PIN is at hand, and always the public keys and
 * certificates, which need no login.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "prov.h"
#include "hsmkey/ckr.h"
#include "hsmkey/debug.h"

static OSSL_FUNC_store_open_fn store_open;
static OSSL_FUNC_store_settable_ctx_params_fn store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn store_set_ctx_params;
static OSSL_FUNC_store_load_fn store_load;
static OSSL_FUNC_store_eof_fn store_eof;
static OSSL_FUNC_store_close_fn store_close;

struct store_ctx {
    struct hkprov_ctx *prov;
    P11KitUri *uri;
    int expect;     /* OSSL_STORE_INFO_* or 0 for anything */
    struct hkprov_store_search *criteria;
    int searched;   /* 1: objs is final */
    int failed;
    struct hsmkey_object **objs;
    size_t nobjs, next;
};

static void *store_open(void *provctx, const char *uri)
{
    struct store_ctx *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->prov = provctx;
    hkprov_errors_enter(ctx->prov->errors);
    if (!hkprov_config_check(ctx->prov)
        || (ctx->uri = hsmkey_uri_parse(uri)) == NULL
        || (ctx->criteria = hkprov_store_search_new()) == NULL) {
        store_close(ctx);
        return NULL;
    }
    return ctx;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        HKPROV_STORE_SEARCH_SETTABLE,
        OSSL_PARAM_END
    };

    (void)provctx;
    return table;
}

static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    struct store_ctx *ctx = loaderctx;
    const OSSL_PARAM *p;

    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL && !OSSL_PARAM_get_int(p, &ctx->expect))
        return 0;
    return hkprov_store_search_set(ctx->criteria, params);
}

/* Classes to search: the URI's type= wins, then the expected type. */
static size_t wanted_classes(const struct store_ctx *ctx,
                             CK_OBJECT_CLASS out[3])
{
    CK_ATTRIBUTE *type = p11_kit_uri_get_attribute(ctx->uri, CKA_CLASS);

    if (type != NULL && type->ulValueLen == sizeof(out[0])) {
        memcpy(&out[0], type->pValue, sizeof(out[0]));
        return 1;
    }
    /* A name or serial number only a certificate has: no key, no login. */
    if (hkprov_store_search_certs_only(ctx->criteria)) {
        out[0] = CKO_CERTIFICATE;
        return ctx->expect == 0 || ctx->expect == OSSL_STORE_INFO_CERT;
    }
    switch (ctx->expect) {
    case OSSL_STORE_INFO_PKEY:
        out[0] = CKO_PRIVATE_KEY;
        return 1;
    case OSSL_STORE_INFO_PUBKEY:
        out[0] = CKO_PUBLIC_KEY;
        return 1;
    case OSSL_STORE_INFO_CERT:
        out[0] = CKO_CERTIFICATE;
        return 1;
    case 0:
        out[0] = CKO_PRIVATE_KEY;
        out[1] = CKO_PUBLIC_KEY;
        out[2] = CKO_CERTIFICATE;
        return 3;
    }
    return 0; /* CRLs, parameters: a token has none for us */
}

/* Several keys for one URI would make the choice arbitrary: refuse. */
static int check_unique(struct store_ctx *ctx, CK_OBJECT_CLASS cls,
                        struct hsmkey_object **objs, size_t n)
{
    if (n < 2 || cls == CKO_CERTIFICATE)
        return 1;
    hsmkey_raise_not_unique(ctx->uri, cls, objs, n);
    return 0;
}

static int append_all(struct store_ctx *ctx, struct hsmkey_object **objs,
                      size_t n)
{
    struct hsmkey_object **grown;

    grown = OPENSSL_realloc(ctx->objs, (ctx->nobjs + n) * sizeof(*grown));
    if (grown == NULL) {
        hsmkey_objects_free(objs, n);
        return 0;
    }
    memcpy(grown + ctx->nobjs, objs, n * sizeof(*objs));
    ctx->objs = grown;
    ctx->nobjs += n;
    OPENSSL_free(objs);
    return 1;
}

/* Drop the objects the search criteria turn away; n is updated. */
static void keep_matching(struct store_ctx *ctx, struct hsmkey_object **objs,
                          size_t *n)
{
    size_t kept = 0;

    for (size_t i = 0; i < *n; i++) {
        if (hkprov_store_search_matches(ctx->prov, ctx->criteria, objs[i]))
            objs[kept++] = objs[i];
        else
            hsmkey_object_free(objs[i]);
    }
    *n = kept;
}

/*
 * Whether a PIN could be had for a login: the URI's, the environment's,
 * the configuration's (core/token.c takes them in that order), or the
 * application's prompt.
 */
static int pin_at_hand(const struct store_ctx *ctx,
                       const struct hkprov_prompt *prompt)
{
    const char *env = secure_getenv("HSMKEY_PIN_SOURCE");

    return p11_kit_uri_get_pin_value(ctx->uri) != NULL
           || p11_kit_uri_get_pin_source(ctx->uri) != NULL
           || ctx->prov->pin_source != NULL || (env != NULL && *env != '\0')
           || (prompt != NULL && (prompt->cli != NULL || prompt->pw_cb != NULL));
}

/*
 * The objects of one class.  Private keys nobody asked for by name (the
 * URI and the application named no class) are left out, quietly, when the
 * token wants a PIN and none is configured (the application is not asked
 * for one just to list); a PIN that is there but wrong is still an error.
 */
static int find_class(struct store_ctx *ctx, CK_OBJECT_CLASS cls,
                      int implied, const struct hkprov_prompt *prompt,
                      struct hsmkey_object ***objs, size_t *n)
{
    int optional = implied && cls == CKO_PRIVATE_KEY, ok;

    if (optional)
        hsmkey_err_set_mark();
    /* Nobody asked for private keys by name: no prompt for them. */
    if (optional)
        prompt = NULL;
    ok = (cls != CKO_PRIVATE_KEY || hkprov_login(ctx->prov, ctx->uri, prompt))
         && hsmkey_core_find(ctx->prov->core, ctx->uri, cls, objs, n);
    if (optional && !ok && !pin_at_hand(ctx, prompt)) {
        hsmkey_err_pop_to_mark();
        *objs = NULL;
        *n = 0;
        return 1;
    }
    if (optional)
        hsmkey_err_clear_last_mark();
    return ok;
}

static void trace_search(struct store_ctx *ctx, const CK_OBJECT_CLASS *classes,
                         size_t n)
{
    char *shown = hsmkey_uri_display(ctx->uri);

    hsmkey_debug_print("store", "%s: the application expects %s; looking "
                       "for %s%s%s%s%s", shown ? shown : "(URI)",
                       ctx->expect == 0 ? "anything" : "one kind of object",
                       n > 0 ? hsmkey_class_word(classes[0])
                             : "nothing (a token holds no such object)",
                       n > 1 ? ", " : "",
                       n > 1 ? hsmkey_class_word(classes[1]) : "",
                       n > 2 ? ", " : "",
                       n > 2 ? hsmkey_class_word(classes[2]) : "");
    OPENSSL_free(shown);
}

/*
 * A URI the application passed in is its own: its pin-value or pin-source
 * comes first.  Else the configured sources, and the application's
 * passphrase callback (the openssl CLI's prompt) last.
 */
static int search(struct store_ctx *ctx, const struct hkprov_prompt *prompt)
{
    CK_OBJECT_CLASS classes[3];
    size_t nclasses = wanted_classes(ctx, classes);
    int filtered = hkprov_store_search_active(ctx->criteria);
    struct hsmkey_object **objs;
    size_t n;

    if (hsmkey_debug_enabled())
        trace_search(ctx, classes, nclasses);
    for (size_t i = 0; i < nclasses; i++) {
        if (!find_class(ctx, classes[i], nclasses > 1, prompt, &objs, &n))
            return 0;
        if (filtered)
            keep_matching(ctx, objs, &n);
        if (!check_unique(ctx, classes[i], objs, n)) {
            hsmkey_objects_free(objs, n);
            return 0;
        }
        if (n > 0 && !append_all(ctx, objs, n))
            return 0;
        OPENSSL_free(n == 0 ? objs : NULL);
    }
    /* A search that finds nothing is an answer, as in a directory. */
    if (ctx->nobjs > 0 || filtered)
        return 1;
    hsmkey_raise_not_unique(ctx->uri, nclasses == 1 ? classes[0] : 0, NULL,
                            0);
    return 0;
}

static int hand_private(struct store_ctx *ctx, struct hsmkey_object *obj,
                        OSSL_CALLBACK *cb, void *cbarg)
{
    struct hkprov_key *key = hkprov_key_new(ctx->prov, obj);
    const char *type;
    int objtype = OSSL_OBJECT_PKEY, ok;
    OSSL_PARAM params[4];

    if (key == NULL)
        return 0;
    type = EVP_PKEY_get0_type_name(key->pub);
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)type, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE,
                                                  &key, sizeof(key));
    params[3] = OSSL_PARAM_construct_end();
    ok = cb(params, cbarg);
    hkprov_key_free(key);
    return ok;
}

static int hand_der(int objtype, const char *type, const char *structure,
                    unsigned char *der, int derlen, OSSL_CALLBACK *cb,
                    void *cbarg)
{
    OSSL_PARAM params[5], *p = params;

    *p++ = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    if (type != NULL)
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                (char *)type, 0);
    *p++ = OSSL_PARAM_construct_utf8_string(
        OSSL_OBJECT_PARAM_DATA_STRUCTURE, (char *)structure, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der,
                                             derlen);
    *p = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

static int hand_public(struct store_ctx *ctx, struct hsmkey_object *obj,
                       OSSL_CALLBACK *cb, void *cbarg)
{
    EVP_PKEY *pub = hsmkey_object_public_key(obj, ctx->prov->libctx,
                                             HKPROV_SOFTWARE_PROPQ);
    unsigned char *der = NULL;
    int len = pub ? i2d_PUBKEY(pub, &der) : -1, ok = 0;

    if (len > 0)
        ok = hand_der(OSSL_OBJECT_PKEY, EVP_PKEY_get0_type_name(pub),
                      "SubjectPublicKeyInfo", der, len, cb, cbarg);
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    return ok;
}

static int hand_cert(struct hsmkey_object *obj, OSSL_CALLBACK *cb, void *cbarg)
{
    size_t len;
    const void *der = hsmkey_object_attr(obj, CKA_VALUE, &len);

    if (der == NULL || len == 0 || len > 0x7fffffff) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: certificate without a value",
                     hsmkey_object_desc(obj));
        return 0;
    }
    return hand_der(OSSL_OBJECT_CERT, NULL, "Certificate", (void *)der,
                    (int)len, cb, cbarg);
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb,
                      void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
                      void *pw_cbarg)
{
    struct store_ctx *ctx = loaderctx;
    struct hkprov_prompt prompt = { pw_cb, pw_cbarg, NULL };
    struct hsmkey_object *obj;

    if (!ctx->searched) {
        int saved = errno; /* see decoder.c: modules leave stray values */

        ctx->searched = 1;
        ctx->failed = !search(ctx, &prompt);
        errno = saved;
    }
    if (ctx->failed || ctx->next >= ctx->nobjs)
        return 0;
    obj = ctx->objs[ctx->next++];
    hsmkey_debug("store", "handing over %s", hsmkey_object_desc(obj));
    switch (hsmkey_object_class(obj)) {
    case CKO_PRIVATE_KEY:
        return hand_private(ctx, obj, object_cb, object_cbarg);
    case CKO_PUBLIC_KEY:
        return hand_public(ctx, obj, object_cb, object_cbarg);
    default:
        return hand_cert(obj, object_cb, object_cbarg);
    }
}

static int store_eof(void *loaderctx)
{
    struct store_ctx *ctx = loaderctx;

    return ctx->searched && (ctx->failed || ctx->next >= ctx->nobjs);
}

static int store_close(void *loaderctx)
{
    struct store_ctx *ctx = loaderctx;

    if (ctx == NULL)
        return 1;
    hsmkey_objects_free(ctx->objs, ctx->nobjs);
    hkprov_store_search_free(ctx->criteria);
    p11_kit_uri_free(ctx->uri);
    OPENSSL_free(ctx);
    return 1;
}

const OSSL_DISPATCH hkprov_store_functions[] = {
    { OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open },
    { OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS,
      (void (*)(void))store_settable_ctx_params },
    { OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params },
    { OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load },
    { OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof },
    { OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close },
    { 0, NULL }
};
