/* SPDX-License-Identifier: Apache-2.0 */
/*
 * object.c - a found token object: the attributes read once at find time,
 * and the handle a session uses for it.
 *
 * Everything the hot path and the public-key side need is read once
 * (attrs.c), so a signature costs no C_GetAttributeValue.  Handles live in
 * the token's pool (pool.c): the token object's handle per epoch, and per
 * session the handle that session uses - the token object, or a
 * session-object copy of a private key made in that session
 * (session-copies).  After the token started over the object finds itself
 * again by class, key type, id and label.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"

#define OBJECT_MAX_ATTRS 24

struct hsmkey_object {
    atomic_int refs;
    struct hsmkey_token *tok;
    size_t slot;                /* in the token's pool */
    atomic_ulong serial;        /* the slot's; renewed when handles die */
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE ktype;
    int always_auth;            /* CKA_ALWAYS_AUTHENTICATE */
    CK_ATTRIBUTE attrs[OBJECT_MAX_ATTRS];
    CK_ULONG nattrs;
    char desc[192];
    /* Set once, then read without a lock. */
    _Atomic(EVP_PKEY *) pub;
    _Atomic(struct hsmkey_object *) partner;
};

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
                 hsmkey_token_label(obj->tok),
                 (int)(lablen > 64 ? 64 : lablen), label ? label : "");
    if (idlen > 0 && n < sizeof(obj->desc))
        snprintf(obj->desc + n, sizeof(obj->desc) - n, " (id %s%s)", hex,
                 idlen > 20 ? "..." : "");
}

static void object_release(struct hsmkey_object *obj)
{
    for (CK_ULONG i = 0; i < obj->nattrs; i++)
        OPENSSL_free(obj->attrs[i].pValue);
    OPENSSL_free(obj);
}

/*
 * Called under the gate, in session s of epoch (a search's body): reads the
 * attributes and gives the object its slot.  NULL with *rv set when the
 * token failed or memory ran out; nothing raised (the fence drops it).
 */
struct hsmkey_object *hsmkey_object_new(struct hsmkey_token *tok,
                                        CK_FUNCTION_LIST *fn,
                                        CK_SESSION_HANDLE s,
                                        CK_OBJECT_HANDLE h,
                                        unsigned long epoch, CK_RV *rv)
{
    struct hsmkey_object *obj = OPENSSL_zalloc(sizeof(*obj));
    unsigned long serial;

    *rv = CKR_HOST_MEMORY;
    if (obj == NULL)
        return NULL;
    atomic_init(&obj->refs, 1);
    obj->tok = tok;
    *rv = hsmkey_attrs_read(fn, s, h, obj->attrs, OBJECT_MAX_ATTRS,
                            &obj->nattrs);
    if (*rv != CKR_OK) {
        object_release(obj);
        return NULL;
    }
    if (!hsmkey_pool_slot_new(hsmkey_token_pool(tok), h, epoch, &obj->slot,
                              &serial)) {
        *rv = CKR_HOST_MEMORY;
        object_release(obj);
        return NULL;
    }
    atomic_init(&obj->serial, serial);
    obj->cls = attr_ulong(obj, CKA_CLASS, (CK_ULONG)-1);
    obj->ktype = attr_ulong(obj, CKA_KEY_TYPE, (CK_ULONG)-1);
    obj->always_auth = hsmkey_object_flag(obj, CKA_ALWAYS_AUTHENTICATE, 0);
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
    /* Its copies go when their sessions are next swept (pool.c). */
    hsmkey_pool_slot_free(hsmkey_token_pool(obj->tok), obj->slot);
    EVP_PKEY_free(atomic_load(&obj->pub));
    hsmkey_object_free(atomic_load(&obj->partner));
    object_release(obj);
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

int hsmkey_object_always_authenticate(const struct hsmkey_object *obj)
{
    return obj->always_auth;
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

/* ---- the handle a session uses ---- */

/*
 * The token object again, by class, key type, id and label, in session s
 * (under the gate).  HSMKEY_CKR_NOT_UNIQUE when it is gone or has twins.
 */
static CK_RV search_again(struct hsmkey_object *obj, CK_FUNCTION_LIST *fn,
                          CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *out)
{
    static const CK_ATTRIBUTE_TYPE keys[] = { CKA_CLASS, CKA_KEY_TYPE, CKA_ID,
                                              CKA_LABEL };
    CK_BBOOL token_object = CK_TRUE; /* not a session copy */
    CK_ATTRIBUTE tmpl[5];
    CK_OBJECT_HANDLE *found = NULL;
    CK_ULONG n = 0, count = 0;
    CK_RV rv;

    for (size_t i = 0; i < 4; i++) {
        size_t len;
        const void *v = hsmkey_object_attr(obj, keys[i], &len);

        if (v != NULL)
            tmpl[n++] = (CK_ATTRIBUTE){ keys[i], (void *)v, len };
    }
    /* Last: the id and label turn most objects away first (find.c). */
    tmpl[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, &token_object, sizeof(CK_BBOOL) };
    rv = hsmkey_find_handles(obj->tok, fn, s, tmpl, n, &found, &count);
    if (rv == CKR_OK && count == 1)
        *out = found[0];
    else if (rv == CKR_OK)
        rv = HSMKEY_CKR_NOT_UNIQUE;
    OPENSSL_free(found);
    return rv;
}

/* A session-object copy of the key in s; 0 when the token would not. */
static int copy_in(struct hsmkey_object *obj, CK_FUNCTION_LIST *fn,
                   CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                   CK_OBJECT_HANDLE *copy)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = { { CKA_TOKEN, &no, sizeof(no) } };
    CK_RV rv;

    hsmkey_token_objects_lock(obj->tok, 1);
    rv = fn->C_CopyObject(s, h, tmpl, 1, copy);
    hsmkey_token_objects_unlock(obj->tok);
    if (rv != CKR_OK)
        hsmkey_pool_slot_no_copies(hsmkey_token_pool(obj->tok), obj->slot,
                                   rv);
    if (rv == CKR_OK)
        hsmkey_debug("copy", "%s: session-object copy of key %lu made in "
                     "session %lu: %lu signs there from now on", obj->desc,
                     (unsigned long)h, (unsigned long)s,
                     (unsigned long)*copy);
    else
        hsmkey_debug("copy", "%s: C_CopyObject of key %lu: %s: the token "
                     "object signs", obj->desc, (unsigned long)h,
                     hsmkey_ckr_name(rv));
    return rv == CKR_OK;
}

/*
 * The handle session s uses for obj, under the gate: the one s holds, else
 * the token object's (found again after the token started over) or a copy
 * of it made in s, remembered for the next lease of s.  The extra calls
 * happen once per session and object.
 */
CK_RV hsmkey_object_handle_in(struct hsmkey_object *obj, CK_FUNCTION_LIST *fn,
                              struct hsmkey_session *sess,
                              CK_OBJECT_HANDLE *out)
{
    struct hsmkey_pool *pool = hsmkey_token_pool(obj->tok);
    unsigned long serial = atomic_load(&obj->serial);
    unsigned long epoch = hsmkey_session_epoch(sess);
    CK_SESSION_HANDLE s = hsmkey_session_handle(sess);
    CK_OBJECT_HANDLE h, use, old;
    int copies = 0, copied = 0;
    CK_RV rv;

    if (hsmkey_session_get_handle(sess, obj->slot, serial, out))
        return CKR_OK;
    if (!hsmkey_pool_slot_handle(pool, obj->slot, serial, epoch, &h,
                                 &copies)) {
        if ((rv = search_again(obj, fn, s, &h)) != CKR_OK)
            return rv;
        hsmkey_pool_slot_set_handle(pool, obj->slot, serial, epoch, h);
    }
    use = h;
    if (copies && obj->cls == CKO_PRIVATE_KEY
        && hsmkey_token_copies_keys(obj->tok))
        copied = copy_in(obj, fn, s, h, &use);
    if (!hsmkey_session_set_handle(sess, obj->slot, serial, use, copied,
                                   &old)) {
        if (copied)
            fn->C_DestroyObject(s, use);
        return CKR_HOST_MEMORY;
    }
    if (old != 0)
        fn->C_DestroyObject(s, old);
    if (copied || old != 0)
        hsmkey_pool_count_copies(pool, epoch, copied - (old != 0));
    *out = use;
    return CKR_OK;
}

/* The token refused obj's handle: every session's handle for it, and the
 * token object's, are found or made again on next use; the token's index,
 * which may hold the same stale handle, goes too. */
void hsmkey_object_invalidate(struct hsmkey_object *obj)
{
    unsigned long serial = hsmkey_pool_slot_renew(hsmkey_token_pool(obj->tok),
                                                  obj->slot);

    hsmkey_index_drop(hsmkey_token_index(obj->tok));
    if (serial != 0)
        atomic_store(&obj->serial, serial);
}

/* ---- what is set once ---- */

EVP_PKEY *hsmkey_object_cached_pub(struct hsmkey_object *obj, EVP_PKEY *set)
{
    EVP_PKEY *none = NULL, *out;

    if (set != NULL && EVP_PKEY_up_ref(set)
        && !atomic_compare_exchange_strong(&obj->pub, &none, set))
        EVP_PKEY_free(set); /* another thread's came first */
    out = atomic_load(&obj->pub);
    if (out != NULL && !EVP_PKEY_up_ref(out))
        out = NULL;
    return out;
}

void hsmkey_object_set_partner(struct hsmkey_object *obj,
                               struct hsmkey_object *partner)
{
    struct hsmkey_object *none = NULL;

    hsmkey_object_ref(partner);
    if (!atomic_compare_exchange_strong(&obj->partner, &none, partner))
        hsmkey_object_free(partner);
}

struct hsmkey_object *hsmkey_object_get_partner(struct hsmkey_object *obj)
{
    return hsmkey_object_ref(atomic_load(&obj->partner));
}

char *hsmkey_object_uri(const struct hsmkey_object *obj)
{
    P11KitUri *uri = p11_kit_uri_new();
    static const CK_ATTRIBUTE_TYPE keys[] = { CKA_CLASS, CKA_ID, CKA_LABEL };
    char *text = NULL, *out = NULL;

    if (uri == NULL)
        goto done;
    *p11_kit_uri_get_token_info(uri) = *hsmkey_token_info(obj->tok);
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
