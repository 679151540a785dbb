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

/*
 * A search on one token: the template, the narrower one the token's index
 * must hold an object of before its answer is taken (index.c: an object
 * another process made since the index was read is not in it), and the
 * objects found.
 */
struct search {
    CK_ATTRIBUTE *tmpl;
    CK_ULONG ntmpl;
    const CK_ATTRIBUTE *need;
    CK_ULONG nneed;
    struct hsmkey_object **found;
    size_t nfound;
};

static void search_clear(struct search *q)
{
    hsmkey_objects_free(q->found, q->nfound);
    q->found = NULL;
    q->nfound = 0;
}

/*
 * obj has every value of tmpl, as the token says now: the index may be
 * stale, and a handle another object has since (a session object too)
 * must not pass for the one it knew.
 */
static int object_matches(const struct hsmkey_object *obj,
                          const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        size_t len;
        const void *v;

        if (tmpl[i].type == CKA_TOKEN) {
            if (!hsmkey_object_flag(obj, CKA_TOKEN, 0))
                return 0;
            continue;
        }
        v = hsmkey_object_attr(obj, tmpl[i].type, &len);
        if (v == NULL || len != tmpl[i].ulValueLen
            || (len > 0 && memcmp(v, tmpl[i].pValue, len) != 0))
            return 0;
    }
    return 1;
}

/*
 * The objects of handles, read in session s.  From the index (indexed),
 * a handle the token refuses or an object that no longer matches sets
 * *stale; from a search, an object gone meanwhile is fine.
 */
static CK_RV make_objects(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                          CK_SESSION_HANDLE s, struct search *q,
                          const CK_OBJECT_HANDLE *handles, CK_ULONG n,
                          int indexed, int *stale)
{
    w->failed = "C_GetAttributeValue";
    *stale = 0;
    if (n > 0 && (q->found = OPENSSL_zalloc(n * sizeof(*q->found))) == NULL)
        return CKR_HOST_MEMORY;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV rv;
        struct hsmkey_object *obj = hsmkey_object_new(w->tok, fn, s,
                                                      handles[i], w->epoch,
                                                      &rv);

        if (obj == NULL && rv != CKR_OBJECT_HANDLE_INVALID)
            return rv;
        if (obj == NULL && !indexed)
            continue; /* gone meanwhile: fine */
        if (obj == NULL || (indexed && !object_matches(obj, q->tmpl,
                                                       q->ntmpl))) {
            hsmkey_object_free(obj);
            *stale = 1;
            return CKR_OK;
        }
        q->found[q->nfound++] = obj;
    }
    return CKR_OK;
}

/*
 * The index's answer to q (index.c), after an installment towards it when
 * the searches since the last one paid for it.  *answered 0: search the
 * token, and add what it finds when *gen is not 0.
 */
static CK_RV from_index(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                        CK_SESSION_HANDLE s, struct search *q, int logged_in,
                        CK_OBJECT_HANDLE **handles, CK_ULONG *n,
                        int *answered, unsigned long *gen)
{
    static CK_BBOOL token_object = CK_TRUE;
    static CK_ATTRIBUTE all[] = { { CKA_TOKEN, &token_object,
                                    sizeof(token_object) } };
    struct hsmkey_index *ix = hsmkey_token_index(w->tok);
    struct hsmkey_index_job job;
    int claim = hsmkey_index_claim(ix, w->epoch, logged_in, &job);
    CK_RV rv = CKR_OK;

    *answered = 0;
    *gen = 0;
    if (claim == 2) {
        CK_OBJECT_HANDLE *objects = NULL;
        CK_ULONG nobjects = 0;

        rv = hsmkey_find_handles(w->tok, fn, s, all, 1, &objects, &nobjects);
        if (rv == CKR_OK)
            hsmkey_index_scanned(ix, &job, objects, nobjects);
    }
    if (claim != 0) {
        if (rv == CKR_OK)
            rv = hsmkey_index_pay(ix, &job, fn, s);
        hsmkey_index_release(ix, &job);
        /* Another thread logged in (or the token forgot us) while objects
         * were read: what was read belongs to neither state. */
        if (hsmkey_token_is_logged_in(w->tok) != logged_in)
            hsmkey_index_drop(ix);
        if (rv != CKR_OK)
            return rv;
    }
    *answered = hsmkey_index_lookup(ix, w->epoch, logged_in, q->tmpl,
                                    q->ntmpl, q->need, q->nneed, handles, n,
                                    gen);
    return CKR_OK;
}

/* The token's own search, timed for the index: what it would save. */
static CK_RV search_token(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                          CK_SESSION_HANDLE s, struct search *q,
                          int indexable, int logged_in,
                          CK_OBJECT_HANDLE **handles, CK_ULONG *n)
{
    unsigned long long t0 = hsmkey_index_clock();
    CK_RV rv = hsmkey_find_handles(w->tok, fn, s, q->tmpl, q->ntmpl, handles,
                                   n);

    if (rv == CKR_OK && indexable)
        hsmkey_index_rent(hsmkey_token_index(w->tok), w->epoch, logged_in,
                          hsmkey_index_clock() - t0);
    return rv;
}

static CK_RV search_body(struct hsmkey_work *w, CK_FUNCTION_LIST *fn,
                         CK_SESSION_HANDLE s, CK_OBJECT_HANDLE unused)
{
    struct search *q = w->arg;
    struct hsmkey_index *ix = hsmkey_token_index(w->tok);
    int indexable = hsmkey_index_covers(q->tmpl, q->ntmpl)
                    && hsmkey_index_covers(q->need, q->nneed);
    int logged_in = hsmkey_token_is_logged_in(w->tok);
    int answered = 0, stale = 0;
    unsigned long gen = 0;
    CK_OBJECT_HANDLE *handles = NULL;
    CK_ULONG n = 0;
    CK_RV rv = CKR_OK;

    (void)unused;
    search_clear(q); /* a repeated attempt starts afresh */
    w->failed = "C_FindObjects";
    if (indexable)
        rv = from_index(w, fn, s, q, logged_in, &handles, &n, &answered,
                        &gen);
    if (rv == CKR_OK && answered) {
        rv = make_objects(w, fn, s, q, handles, n, 1, &stale);
        OPENSSL_free(handles);
        handles = NULL;
        if (rv != CKR_OK || !stale)
            goto done;
        /* Changed behind the index's back: drop it, ask the token. */
        hsmkey_debug("index", "token '%s': the index named an object that "
                     "is gone or changed: searching the token",
                     hsmkey_token_label(w->tok));
        hsmkey_index_drop(ix);
        search_clear(q);
        gen = 0;
    }
    w->failed = "C_FindObjects";
    if (rv == CKR_OK)
        rv = search_token(w, fn, s, q, indexable, logged_in, &handles, &n);
    if (rv == CKR_OK)
        rv = make_objects(w, fn, s, q, handles, n, 0, &stale);
    if (rv == CKR_OK && gen != 0 && n > 0)
        rv = hsmkey_index_extend(ix, gen, fn, s, handles, n);
    OPENSSL_free(handles);
done:
    if (rv != CKR_OK)
        search_clear(q);
    return rv;
}

static int find_needing(struct hsmkey_token *tok, CK_ATTRIBUTE *tmpl,
                        CK_ULONG ntmpl, const CK_ATTRIBUTE *need,
                        CK_ULONG nneed, struct hsmkey_object ***objs,
                        size_t *count)
{
    struct search q = { tmpl, ntmpl, need, nneed, NULL, 0 };
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

/* Objects matching tmpl on tok; the array and its references are the
 * caller's (hsmkey_objects_free). */
int hsmkey_token_find(struct hsmkey_token *tok, CK_ATTRIBUTE *tmpl,
                      CK_ULONG ntmpl, struct hsmkey_object ***objs,
                      size_t *count)
{
    return find_needing(tok, tmpl, ntmpl, tmpl, ntmpl, objs, count);
}

/*
 * A private key is searched without its class, so the public key that
 * usually shares its label and id comes back in the same search: an EC
 * private key needs it for its public point, and a second search costs as
 * much as the first (SoftHSM2: ~14 ms with 1000 objects).  The token's
 * index answers only when it holds a private key matching the whole
 * template.
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

    if (!find_needing(tok, tmpl + widen, ntmpl - widen, tmpl, ntmpl, &found,
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
