/* SPDX-License-Identifier: Apache-2.0 */
/*
 * object.c - a found token object and the attributes read once at find time.
 *
 * Everything the hot path and the public-key side need is read once
 * (attrs.c), so a signature costs no C_GetAttributeValue.  The handle is
 * refreshed (found again by class, key type, id and label) only when the
 * token started over (module re-initialized, token re-inserted), which a
 * cheap comparison of the token's generation detects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"

struct hsmkey_object {
    atomic_int refs;
    struct hsmkey_token *tok;
    pthread_mutex_t lock; /* handle refresh and the public key cache */
    CK_OBJECT_HANDLE handle;  /* the token object */
    unsigned long gen;        /* token generation handle belongs to */
    CK_OBJECT_HANDLE use;     /* what operations use: handle or a copy */
    unsigned long use_gen;    /* 0: not set up for this generation */
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE ktype;
    CK_ATTRIBUTE attrs[24];
    CK_ULONG nattrs;
    char desc[192];
    EVP_PKEY *pub;
    /* The public key or certificate with the same CKA_ID, when the search
     * that found this private key saw it too (see find.c). */
    struct hsmkey_object *partner;
};

/* Read once, at find time (attrs.c). */
static int read_attributes(struct hsmkey_object *obj, CK_SESSION_HANDLE s)
{
    return hsmkey_attrs_read(obj->tok, s, obj->handle, obj->attrs,
                             sizeof(obj->attrs) / sizeof(obj->attrs[0]),
                             &obj->nattrs);
}

static CK_ULONG attr_ulong(const struct hsmkey_object *obj,
                           CK_ATTRIBUTE_TYPE type, CK_ULONG dflt)
{
    size_t len;
    const void *v = hsmkey_object_attr(obj, type, &len);
    CK_ULONG out;

    if (v == NULL || len != sizeof(CK_ULONG))
        return dflt;
    memcpy(&out, v, sizeof(out));
    return out;
}

static void describe(struct hsmkey_object *obj)
{
    size_t idlen = 0, lablen = 0, n;
    const unsigned char *id = hsmkey_object_attr(obj, CKA_ID, &idlen);
    const char *label = hsmkey_object_attr(obj, CKA_LABEL, &lablen);
    char hex[41] = "";

    for (size_t i = 0; i < idlen && i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    n = snprintf(obj->desc, sizeof(obj->desc), "token '%s', object '%.*s'",
                 obj->tok->label, (int)(lablen > 64 ? 64 : lablen),
                 label ? label : "");
    if (idlen > 0 && n < sizeof(obj->desc))
        snprintf(obj->desc + n, sizeof(obj->desc) - n, " (id %s%s)", hex,
                 idlen > 20 ? "..." : "");
}

struct hsmkey_object *hsmkey_object_new(struct hsmkey_token *tok,
                                        CK_SESSION_HANDLE s,
                                        CK_OBJECT_HANDLE h)
{
    struct hsmkey_object *obj = OPENSSL_zalloc(sizeof(*obj));

    if (obj == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    atomic_init(&obj->refs, 1);
    obj->tok = tok;
    obj->handle = h;
    obj->gen = hsmkey_token_gen(tok);
    pthread_mutex_init(&obj->lock, NULL);
    hsmkey_err_set_mark(); /* the module's own library errors stay out */
    if (!read_attributes(obj, s)) {
        hsmkey_err_clear_last_mark();
        hsmkey_object_free(obj);
        return NULL;
    }
    hsmkey_err_pop_to_mark();
    obj->cls = attr_ulong(obj, CKA_CLASS, (CK_ULONG)-1);
    obj->ktype = attr_ulong(obj, CKA_KEY_TYPE, (CK_ULONG)-1);
    describe(obj);
    return obj;
}

struct hsmkey_object *hsmkey_object_ref(struct hsmkey_object *obj)
{
    if (obj != NULL)
        atomic_fetch_add(&obj->refs, 1);
    return obj;
}

void hsmkey_object_free(struct hsmkey_object *obj)
{
    if (obj == NULL || atomic_fetch_sub(&obj->refs, 1) > 1)
        return;
    for (CK_ULONG i = 0; i < obj->nattrs; i++)
        OPENSSL_free(obj->attrs[i].pValue);
    if (obj->use_gen != 0 && obj->use != obj->handle)
        hsmkey_token_drop_copy(obj->tok, obj->use, obj->use_gen);
    EVP_PKEY_free(obj->pub);
    hsmkey_object_free(obj->partner);
    pthread_mutex_destroy(&obj->lock);
    OPENSSL_free(obj);
}

void hsmkey_objects_free(struct hsmkey_object **objs, size_t count)
{
    if (objs == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        hsmkey_object_free(objs[i]);
    OPENSSL_free(objs);
}

CK_OBJECT_CLASS hsmkey_object_class(const struct hsmkey_object *obj)
{
    return obj->cls;
}

CK_KEY_TYPE hsmkey_object_key_type(const struct hsmkey_object *obj)
{
    return obj->ktype;
}

struct hsmkey_token *hsmkey_object_token(const struct hsmkey_object *obj)
{
    return obj->tok;
}

const void *hsmkey_object_attr(const struct hsmkey_object *obj,
                               CK_ATTRIBUTE_TYPE type, size_t *len)
{
    for (CK_ULONG i = 0; i < obj->nattrs; i++) {
        if (obj->attrs[i].type == type) {
            if (len != NULL)
                *len = obj->attrs[i].ulValueLen;
            return obj->attrs[i].pValue;
        }
    }
    if (len != NULL)
        *len = 0;
    return NULL;
}

int hsmkey_object_flag(const struct hsmkey_object *obj, CK_ATTRIBUTE_TYPE type,
                       int dflt)
{
    size_t len;
    const CK_BBOOL *v = hsmkey_object_attr(obj, type, &len);

    return v != NULL && len == sizeof(CK_BBOOL) ? *v == CK_TRUE : dflt;
}

const char *hsmkey_object_desc(const struct hsmkey_object *obj)
{
    return obj->desc;
}

/* Identify obj again after a re-initialization: its old handle is dead. */
/* The token object again, by class, key type, id and label. */
static CK_RV search_again(struct hsmkey_object *obj, CK_OBJECT_HANDLE *out)
{
    CK_BBOOL token_object = CK_TRUE; /* not our session copies (keycopy.c) */
    CK_ATTRIBUTE tmpl[5];
    CK_ULONG n = 0, count = 0;
    CK_OBJECT_HANDLE *found = NULL;
    CK_SESSION_HANDLE s;
    static const CK_ATTRIBUTE_TYPE keys[] = { CKA_CLASS, CKA_KEY_TYPE, CKA_ID,
                                              CKA_LABEL };
    CK_RV rv;

    for (size_t i = 0; i < 4; i++) {
        size_t len;
        const void *v = hsmkey_object_attr(obj, keys[i], &len);

        if (v != NULL)
            tmpl[n++] = (CK_ATTRIBUTE){ keys[i], (void *)v, len };
    }
    /* Last: the id and label turn most objects away first (find.c). */
    tmpl[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, &token_object, sizeof(CK_BBOOL) };
    if (!hsmkey_token_session_get(obj->tok, &s))
        return CKR_FUNCTION_FAILED;
    rv = hsmkey_token_find_handles(obj->tok, s, tmpl, n, &found, &count);
    if (rv == CKR_OK && count == 1) {
        *out = found[0];
    } else if (rv == CKR_OK) {
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "%s: %s after the token "
                     "was re-opened", obj->desc,
                     count ? "several objects match" : "no longer there");
        rv = CKR_FUNCTION_FAILED;
    }
    hsmkey_token_session_put(obj->tok, s, hsmkey_session_lost(rv));
    OPENSSL_free(found);
    return rv;
}

/* Identify obj again after the token started over: its old handle is dead.
 * A pooled session the token dropped meanwhile is no reason to give up. */
static int refind(struct hsmkey_object *obj, CK_OBJECT_HANDLE *out)
{
    CK_RV rv;

    if (obj->cls == CKO_PRIVATE_KEY && !hsmkey_token_login(obj->tok, NULL))
        return 0;
    hsmkey_err_set_mark();
    rv = search_again(obj, out);
    if (hsmkey_session_lost(rv)) {
        hsmkey_err_pop_to_mark();
        rv = search_again(obj, out);
    } else {
        hsmkey_err_clear_last_mark();
    }
    return rv == CKR_OK;
}

/* The token object's handle for generation gen, found again if older. */
static int token_handle(struct hsmkey_object *obj, unsigned long gen,
                        CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_HANDLE h;

    pthread_mutex_lock(&obj->lock);
    h = obj->handle;
    if (obj->gen == gen) {
        pthread_mutex_unlock(&obj->lock);
        *out = h;
        return 1;
    }
    pthread_mutex_unlock(&obj->lock);
    if (!refind(obj, &h))
        return 0;
    pthread_mutex_lock(&obj->lock);
    obj->handle = h;
    obj->gen = gen;
    pthread_mutex_unlock(&obj->lock);
    *out = h;
    return 1;
}

/* Hot path: one lock and a comparison; setup work once per generation. */
int hsmkey_object_handle(struct hsmkey_object *obj, CK_OBJECT_HANDLE *out)
{
    unsigned long gen = hsmkey_token_gen(obj->tok);
    CK_OBJECT_HANDLE h, copy;
    int copied = 0;

    pthread_mutex_lock(&obj->lock);
    if (obj->use_gen == gen) {
        *out = obj->use;
        pthread_mutex_unlock(&obj->lock);
        return 1;
    }
    pthread_mutex_unlock(&obj->lock);
    if (!token_handle(obj, gen, &h))
        return 0;
    if (obj->cls == CKO_PRIVATE_KEY)
        copied = hsmkey_token_copy_key(obj->tok, h, &copy);
    pthread_mutex_lock(&obj->lock);
    if (obj->use_gen != gen) {
        obj->use = copied ? copy : h;
        obj->use_gen = gen;
        copied = 0;
    }
    *out = obj->use;
    pthread_mutex_unlock(&obj->lock);
    if (copied) /* another thread set up its own copy first */
        hsmkey_token_drop_copy(obj->tok, copy, gen);
    return 1;
}

/* Serialized with the handle: the cache is filled once per object. */
EVP_PKEY *hsmkey_object_cached_pub(struct hsmkey_object *obj, EVP_PKEY *set)
{
    EVP_PKEY *out;

    pthread_mutex_lock(&obj->lock);
    if (obj->pub == NULL && set != NULL && EVP_PKEY_up_ref(set))
        obj->pub = set;
    out = obj->pub;
    if (out != NULL && !EVP_PKEY_up_ref(out))
        out = NULL;
    pthread_mutex_unlock(&obj->lock);
    return out;
}

char *hsmkey_object_uri(const struct hsmkey_object *obj)
{
    P11KitUri *uri = p11_kit_uri_new();
    static const CK_ATTRIBUTE_TYPE keys[] = { CKA_CLASS, CKA_ID, CKA_LABEL };
    char *text = NULL, *out = NULL;

    if (uri == NULL)
        goto done;
    *p11_kit_uri_get_token_info(uri) = obj->tok->info;
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        const void *v = hsmkey_object_attr(obj, keys[i], &len);
        CK_ATTRIBUTE a = { keys[i], (void *)v, len };

        if (v != NULL && p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
            goto done;
    }
    if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &text)
        == P11_KIT_URI_OK)
        out = OPENSSL_strdup(text);
done:
    free(text);
    p11_kit_uri_free(uri);
    if (out == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot format a URI for %s",
                     obj->desc);
    return out;
}

void hsmkey_object_set_partner(struct hsmkey_object *obj,
                               struct hsmkey_object *partner)
{
    pthread_mutex_lock(&obj->lock);
    if (obj->partner == NULL)
        obj->partner = hsmkey_object_ref(partner);
    pthread_mutex_unlock(&obj->lock);
}

struct hsmkey_object *hsmkey_object_get_partner(struct hsmkey_object *obj)
{
    struct hsmkey_object *p;

    pthread_mutex_lock(&obj->lock);
    p = hsmkey_object_ref(obj->partner);
    pthread_mutex_unlock(&obj->lock);
    return p;
}

void hsmkey_object_invalidate(struct hsmkey_object *obj)
{
    pthread_mutex_lock(&obj->lock);
    /* No token generation is 0: found (and copied) again on next use. */
    obj->gen = 0;
    obj->use_gen = 0;
    pthread_mutex_unlock(&obj->lock);
}
