/* SPDX-License-Identifier: Apache-2.0 */
/*
 * find.c - objects a URI names, on the tokens it names.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"
#include "hsmkey/debug.h"
#include "partner.h"

/*
 * Handles of the objects matching a template, in session s under the gate
 * (a body: CK_RV, nothing raised).  While SoftHSM2 copies a key the copy
 * looks like a second token object (token.c): searches wait for copies.
 */
CK_RV hsmkey_find_handles(struct hsmkey_token *tok, CK_FUNCTION_LIST *fn,
                          CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                          CK_ULONG ntmpl, CK_OBJECT_HANDLE **handles,
                          CK_ULONG *count)
{
    CK_OBJECT_HANDLE *out = NULL, *grown;
    CK_ULONG n = 0, cap = 0, got;
    CK_RV rv;

    *handles = NULL;
    *count = 0;
    hsmkey_debug_template("find", hsmkey_token_label(tok), tmpl, ntmpl);
    hsmkey_token_objects_lock(tok, 0);
    rv = fn->C_FindObjectsInit(s, tmpl, ntmpl);
    if (rv != CKR_OK) {
        hsmkey_token_objects_unlock(tok);
        return rv;
    }
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if ((grown = OPENSSL_realloc(out, cap * sizeof(*out))) == NULL) {
                rv = CKR_HOST_MEMORY;
                break;
            }
            out = grown;
        }
        rv = fn->C_FindObjects(s, out + n, cap - n, &got);
        n += rv == CKR_OK ? got : 0;
    } while (rv == CKR_OK && n == cap);
    fn->C_FindObjectsFinal(s);
    hsmkey_token_objects_unlock(tok);
    if (rv != CKR_OK) {
        OPENSSL_free(out);
        return rv;
    }
    hsmkey_debug("find", "token '%s': %lu object(s) match",
                 hsmkey_token_label(tok), (unsigned long)n);
    *handles = out;
    *count = n;
    return CKR_OK;
}

/* A PIN goes to one token only: refuse a search that would log in to two. */
static int login_where_needed(struct hsmkey_token **toks, size_t ntok,
                              P11KitUri *uri)
{
    struct hsmkey_token *target = NULL;
    size_t needing = 0;

    for (size_t i = 0; i < ntok; i++) {
        if (hsmkey_token_needs_login(toks[i])) {
            needing++;
            target = toks[i];
        }
    }
    if (needing > 1) {
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "the URI matches %zu tokens that "
                     "need a PIN ('%s', '%s'%s): add token=... so the PIN "
                     "goes to one token", needing, hsmkey_token_label(toks[0]),
                     hsmkey_token_label(toks[1]), needing > 2 ? ", ..." : "");
        return 0;
    }
    return target == NULL || hsmkey_token_login(target, uri);
}

static int append(struct hsmkey_object ***objs, size_t *count,
                  struct hsmkey_object *obj)
{
    struct hsmkey_object **grown;

    grown = OPENSSL_realloc(*objs, (*count + 1) * sizeof(*grown));
    if (grown == NULL) {
        hsmkey_object_free(obj);
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    grown[(*count)++] = obj;
    *objs = grown;
    return 1;
}

/* Keep the objects of class cls; give each private key its partner when
 * exactly one public key matches it (partner.c). */
static int sort_found(struct hsmkey_object **found, size_t n,
                      CK_OBJECT_CLASS cls, struct hsmkey_object ***objs,
                      size_t *count)
{
    for (size_t i = 0; i < n; i++) {
        struct hsmkey_object *partner;

        if (hsmkey_object_class(found[i]) != cls)
            continue;
        if (cls == CKO_PRIVATE_KEY
            && (partner = hsmkey_partner_pick(found[i], found, n)) != NULL)
            hsmkey_object_set_partner(found[i], partner);
        hsmkey_debug("find", "found %s: %s", hsmkey_class_word(cls),
                     hsmkey_object_desc(found[i]));
        if (!append(objs, count, hsmkey_object_ref(found[i])))
            return 0;
    }
    return 1;
}

/* A search on one token: the template, and the objects it found. */
struct search {
    CK_ATTRIBUTE *tmpl;
    CK_ULONG ntmpl;
    struct hsmkey_object **found;
    size_t nfound;
};

static void search_clear(struct search *q)
{
    hsmkey_objects_free(q->found, q->nfound);
    q->found = NULL;
    q->nfound = 0;
}

static CK_RV search_body(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                         CK_SESSION_HANDLE s, CK_OBJECT_HANDLE unused)
{
    struct search *q = w->arg;
    CK_OBJECT_HANDLE *handles = NULL;
    CK_ULONG n = 0;
    CK_RV rv;

    (void)unused;
    search_clear(q); /* a repeated attempt starts afresh */
    w->failed = "C_FindObjects";
    rv = hsmkey_find_handles(w->tok, fn, s, q->tmpl, q->ntmpl, &handles, &n);
    if (rv == CKR_OK && n > 0
        && (q->found = OPENSSL_zalloc(n * sizeof(*q->found))) == NULL)
        rv = CKR_HOST_MEMORY;
    w->failed = "C_GetAttributeValue";
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        CK_RV orv;
        struct hsmkey_object *obj = hsmkey_object_new(w->tok, fn, s,
                                                      handles[i], w->epoch,
                                                      &orv);

        if (obj != NULL)
            q->found[q->nfound++] = obj;
        else if (orv != CKR_OBJECT_HANDLE_INVALID) /* gone meanwhile: fine */
            rv = orv;
    }
    OPENSSL_free(handles);
    if (rv != CKR_OK)
        search_clear(q);
    return rv;
}

/* Objects matching tmpl on tok; the array and its references are the
 * caller's (hsmkey_objects_free). */
int hsmkey_token_find(struct hsmkey_token *tok, CK_ATTRIBUTE *tmpl,
                      CK_ULONG ntmpl, struct hsmkey_object ***objs,
                      size_t *count)
{
    struct search q = { tmpl, ntmpl, NULL, 0 };
    struct hsmkey_work w = { 0 };

    w.tok = tok;
    w.body = search_body;
    w.arg = &q;
    *objs = NULL;
    *count = 0;
    if (!hsmkey_work_run(&w))
        return 0;
    *objs = q.found;
    *count = q.nfound;
    return 1;
}

/*
 * A private key is searched without its class, so the public key that
 * usually shares its label and id comes back in the same search: an EC
 * private key needs it for its public point, and a second search costs as
 * much as the first (SoftHSM2: ~14 ms with 1000 objects).
 */
static int find_on_token(struct hsmkey_token *tok, CK_ATTRIBUTE *tmpl,
                         CK_ULONG ntmpl, struct hsmkey_object ***objs,
                         size_t *count)
{
    CK_OBJECT_CLASS cls = *(CK_OBJECT_CLASS *)tmpl[0].pValue;
    int widen = cls == CKO_PRIVATE_KEY && ntmpl > 2;
    struct hsmkey_object **found = NULL;
    size_t nfound = 0;
    int ok;

    if (!hsmkey_token_find(tok, tmpl + widen, ntmpl - widen, &found,
                           &nfound))
        return 0;
    ok = sort_found(found, nfound, cls, objs, count);
    hsmkey_objects_free(found, nfound);
    return ok;
}

int hsmkey_uri_template(P11KitUri *uri, CK_OBJECT_CLASS *cls,
                        CK_ATTRIBUTE *tmpl, CK_ULONG *ntmpl)
{
    CK_ULONG n = 0;
    CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &n);

    static CK_BBOOL token_object = CK_TRUE;

    *ntmpl = 0;
    tmpl[(*ntmpl)++] = (CK_ATTRIBUTE){ CKA_CLASS, cls, sizeof(*cls) };
    for (CK_ULONG i = 0; i < n && *ntmpl < 7; i++) {
        if (attrs[i].type == CKA_CLASS) {
            if (attrs[i].ulValueLen != sizeof(*cls)
                || memcmp(attrs[i].pValue, cls, sizeof(*cls)) != 0)
                return 0;
            continue;
        }
        tmpl[(*ntmpl)++] = attrs[i];
    }
    /* Session objects are ours (object.c: key copies), or another
     * process's fork leftovers: a URI names token objects.  Last, because a token such as
     * SoftHSM2 tests the template in order on every object it holds, and
     * every object is a token object: the label or id turns most away. */
    tmpl[(*ntmpl)++] = (CK_ATTRIBUTE){ CKA_TOKEN, &token_object,
                                       sizeof(token_object) };
    return 1;
}

static int find_uncached(struct hsmkey_core *core, P11KitUri *uri,
                         CK_OBJECT_CLASS cls, struct hsmkey_object ***objs,
                         size_t *count)
{
    struct hsmkey_token **toks = NULL;
    size_t ntok = 0;
    CK_ATTRIBUTE tmpl[8];
    CK_ULONG ntmpl;
    int ok = 0;

    *objs = NULL;
    *count = 0;
    if (!hsmkey_uri_template(uri, &cls, tmpl, &ntmpl))
        return 1; /* type= names another class: nothing of this class */
    if (!hsmkey_core_tokens(core, uri, &toks, &ntok))
        return 0;
    if (ntok == 0) {
        /* Inserted (or back) since the last look: look again. */
        OPENSSL_free(toks);
        if (!hsmkey_core_rescan(core)
            || !hsmkey_core_tokens(core, uri, &toks, &ntok))
            return 0;
    }
    hsmkey_debug("find", "%zu token(s) match the URI", ntok);
    if (ntok == 0) {
        char *shown = hsmkey_uri_display(uri);

        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "no token matches %s "
                     "(module: %s)", shown ? shown : "the URI",
                     hsmkey_core_module_name(core));
        OPENSSL_free(shown);
        hsmkey_core_raise_skipped(core); /* the token may be behind one */
        goto done;
    }
    if (cls == CKO_PRIVATE_KEY && !login_where_needed(toks, ntok, uri))
        goto done;
    for (size_t i = 0; i < ntok; i++)
        if (!find_on_token(toks[i], tmpl, ntmpl, objs, count))
            goto done;
    ok = 1;
done:
    if (!ok) {
        hsmkey_objects_free(*objs, *count);
        *objs = NULL;
        *count = 0;
    }
    OPENSSL_free(toks);
    return ok;
}

/* A search the same URI answered before, unless a token started over. */
int hsmkey_core_find(struct hsmkey_core *core, P11KitUri *uri,
                     CK_OBJECT_CLASS cls, struct hsmkey_object ***objs,
                     size_t *count)
{
    char *text;
    unsigned long stamp;
    int ok;

    *objs = NULL;
    *count = 0;
    if (!hsmkey_core_ensure(core))
        return 0;
    stamp = hsmkey_core_changes(core);
    text = hsmkey_uri_display(uri);
    if (hsmkey_cache_get(hsmkey_core_cache(core), text, cls, stamp, objs,
                         count)) {
        hsmkey_debug("find", "%s: %zu %s(s), as found before (no token "
                     "started over since)", text ? text : "(URI)", *count,
                     hsmkey_class_word(cls));
        OPENSSL_free(text);
        return 1;
    }
    ok = find_uncached(core, uri, cls, objs, count);
    if (ok && *count > 0)
        hsmkey_cache_put(hsmkey_core_cache(core), text, cls, stamp, *objs,
                         *count);
    OPENSSL_free(text);
    return ok;
}

void hsmkey_raise_not_unique(P11KitUri *uri, CK_OBJECT_CLASS cls,
                             struct hsmkey_object **objs, size_t n)
{
    char *shown = hsmkey_uri_display(uri);

    if (n == 0)
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "no %s matches %s",
                     hsmkey_class_word(cls), shown ? shown : "the URI");
    else
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "%s matches %zu %ss (%s; %s%s): "
                     "add object= or id= to the URI",
                     shown ? shown : "the URI", n, hsmkey_class_word(cls),
                     hsmkey_object_desc(objs[0]),
                     n > 1 ? hsmkey_object_desc(objs[1]) : "",
                     n > 2 ? "; ..." : "");
    OPENSSL_free(shown);
}

struct hsmkey_object *hsmkey_core_find_one(struct hsmkey_core *core,
                                           P11KitUri *uri, CK_OBJECT_CLASS cls)
{
    struct hsmkey_object **objs, *one = NULL;
    size_t n;

    if (!hsmkey_core_find(core, uri, cls, &objs, &n))
        return NULL;
    if (n == 1)
        one = hsmkey_object_ref(objs[0]);
    else
        hsmkey_raise_not_unique(uri, cls, objs, n);
    hsmkey_objects_free(objs, n);
    return one;
}
