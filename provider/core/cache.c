/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache.c - results of URI searches, so a server that loads the same key
 * again (every worker, every reload, every new SSL_CTX) asks the token
 * nothing.  An entry is valid while no token of the core started over
 * (module re-initialized, token removed or re-inserted): then every entry
 * goes, as handles, login and even the objects present may have changed.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "core.h"

#define CACHE_SLOTS 32

struct hsmkey_cache_entry {
    char *uri;                  /* the URI's text, without any pin-value */
    CK_OBJECT_CLASS cls;
    unsigned long stamp;        /* core->changes when it was stored */
    struct hsmkey_object **objs;
    size_t n;
};

struct hsmkey_cache {
    pthread_mutex_t lock; /* the entries */
    struct hsmkey_cache_entry slots[CACHE_SLOTS];
    size_t next; /* round-robin replacement: old entries go first */
};

static void entry_clear(struct hsmkey_cache_entry *e)
{
    OPENSSL_free(e->uri);
    hsmkey_objects_free(e->objs, e->n);
    memset(e, 0, sizeof(*e));
}

struct hsmkey_cache *hsmkey_cache_new(void)
{
    struct hsmkey_cache *c = OPENSSL_zalloc(sizeof(*c));

    if (c != NULL)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

void hsmkey_cache_free(struct hsmkey_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        entry_clear(&c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    OPENSSL_free(c);
}

static struct hsmkey_object **copy_refs(struct hsmkey_object **objs, size_t n)
{
    struct hsmkey_object **out = OPENSSL_malloc((n ? n : 1) * sizeof(*out));

    if (out != NULL)
        for (size_t i = 0; i < n; i++)
            out[i] = hsmkey_object_ref(objs[i]);
    return out;
}

int hsmkey_cache_get(struct hsmkey_cache *c, const char *uri,
                     CK_OBJECT_CLASS cls, unsigned long stamp,
                     struct hsmkey_object ***objs, size_t *n)
{
    int hit = 0;

    if (c == NULL || uri == NULL)
        return 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < CACHE_SLOTS && !hit; i++) {
        struct hsmkey_cache_entry *e = &c->slots[i];

        if (e->uri == NULL || e->cls != cls || strcmp(e->uri, uri) != 0)
            continue;
        if (e->stamp != stamp) {
            entry_clear(e);
            break;
        }
        if ((*objs = copy_refs(e->objs, e->n)) != NULL) {
            *n = e->n;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void hsmkey_cache_put(struct hsmkey_cache *c, const char *uri,
                      CK_OBJECT_CLASS cls, unsigned long stamp,
                      struct hsmkey_object **objs, size_t n)
{
    struct hsmkey_cache_entry e = { NULL, cls, stamp, NULL, n };

    if (c == NULL || uri == NULL || (e.uri = OPENSSL_strdup(uri)) == NULL)
        return;
    if ((e.objs = copy_refs(objs, n)) == NULL) {
        OPENSSL_free(e.uri);
        return;
    }
    pthread_mutex_lock(&c->lock);
    entry_clear(&c->slots[c->next]);
    c->slots[c->next] = e;
    c->next = (c->next + 1) % CACHE_SLOTS;
    pthread_mutex_unlock(&c->lock);
}

/* The core's fork handlers hold the lock across fork(). */
void hsmkey_cache_fork_prepare(struct hsmkey_cache *c)
{
    pthread_mutex_lock(&c->lock);
}

void hsmkey_cache_fork_parent(struct hsmkey_cache *c)
{
    pthread_mutex_unlock(&c->lock);
}

void hsmkey_cache_fork_child(struct hsmkey_cache *c)
{
    pthread_mutex_unlock(&c->lock);
}
