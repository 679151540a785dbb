/* SPDX-License-Identifier: Apache-2.0 */
/*
 * digests.c - the message digests an instance fetched, by the name it was
 * asked for, kept until the instance is torn down.  EVP_MD_fetch looks the
 * name up under the library context's locks every time, and a TLS server
 * makes a signature context, and so a fetch, per handshake.
 *
 * Lock-free: an entry, once in its slot, never changes, so a lookup is a
 * scan of published pointers; a fork at any instant leaves nothing held.
 * Names past the table (an application that asks for dozens of spellings)
 * are fetched every time, as before.
 */
#include <stdatomic.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "prov.h"

#define DIGESTS_MAX 24

struct digest_entry {
    EVP_MD *md;
    char name[]; /* as asked for */
};

struct hkprov_digests {
    _Atomic(struct digest_entry *) e[DIGESTS_MAX];
};

struct hkprov_digests *hkprov_digests_new(void)
{
    return OPENSSL_zalloc(sizeof(struct hkprov_digests));
}

void hkprov_digests_free(struct hkprov_digests *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < DIGESTS_MAX; i++) {
        struct digest_entry *e = atomic_load(&d->e[i]);

        if (e != NULL) {
            EVP_MD_free(e->md);
            OPENSSL_free(e);
        }
    }
    OPENSSL_free(d);
}

/* Ours to keep in a free slot, or NULL when the table is full or another
 * thread put the same name in first (*won: that one). */
static void publish(struct hkprov_digests *d, struct digest_entry *mine,
                    struct digest_entry **won)
{
    *won = mine;
    for (size_t i = 0; i < DIGESTS_MAX; i++) {
        struct digest_entry *seen = NULL;

        if (atomic_compare_exchange_strong(&d->e[i], &seen, mine))
            return;
        if (strcmp(seen->name, mine->name) == 0) {
            *won = seen;
            return;
        }
    }
    *won = NULL;
}

/* The digest named, with a reference for the caller; NULL (not raised: the
 * caller says what it was for) when no provider but ours offers it. */
EVP_MD *hkprov_digest_fetch(struct hkprov_ctx *prov, const char *name)
{
    struct hkprov_digests *d = prov->digests;
    struct digest_entry *e, *won;
    size_t len = strlen(name);
    EVP_MD *md;

    for (size_t i = 0; i < DIGESTS_MAX; i++) {
        if ((e = atomic_load(&d->e[i])) == NULL)
            break;
        if (strcmp(e->name, name) == 0 && EVP_MD_up_ref(e->md))
            return e->md;
    }
    md = EVP_MD_fetch(prov->libctx, name, HKPROV_SOFTWARE_PROPQ);
    if (md == NULL)
        return NULL;
    if ((e = OPENSSL_malloc(sizeof(*e) + len + 1)) == NULL
        || !EVP_MD_up_ref(md)) {
        OPENSSL_free(e);
        return md; /* not kept, still good */
    }
    e->md = md;
    memcpy(e->name, name, len + 1);
    publish(d, e, &won);
    if (won != e) {
        EVP_MD_free(e->md);
        OPENSSL_free(e);
        if (won != NULL && EVP_MD_up_ref(won->md)) {
            EVP_MD_free(md);
            return won->md;
        }
    }
    return md;
}
