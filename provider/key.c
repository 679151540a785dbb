/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key.c - the provider's key object: a reference to a private key on the
 * token plus its public half as a software key in another provider.
 *
 * The store hands a reference to keymgmt's load, which takes its own, so
 * either side may go first.
 */
#include <openssl/crypto.h>

#include "prov.h"

struct hkprov_key *hkprov_key_new(struct hkprov_ctx *prov,
                                  struct hsmkey_object *obj)
{
    struct hkprov_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    atomic_init(&key->refs, 1);
    key->prov = prov;
    if (obj == NULL)
        return key; /* keymgmt new(): an empty key, never usable */
    key->type = hsmkey_object_key_type(obj);
    key->pub = hsmkey_object_public_key(obj, prov->libctx,
                                        HKPROV_SOFTWARE_PROPQ);
    if (key->pub == NULL) {
        OPENSSL_free(key);
        return NULL;
    }
    key->rsa_pss = EVP_PKEY_is_a(key->pub, "RSA-PSS");
    key->obj = hsmkey_object_ref(obj);
    return key;
}

/* A public key only (a key reference to a public key object). */
struct hkprov_key *hkprov_key_new_public(struct hkprov_ctx *prov,
                                         struct hsmkey_object *obj)
{
    struct hkprov_key *key = hkprov_key_new(prov, NULL);

    if (key == NULL)
        return NULL;
    key->type = hsmkey_object_key_type(obj);
    key->pub = hsmkey_object_public_key(obj, prov->libctx,
                                        HKPROV_SOFTWARE_PROPQ);
    if (key->pub == NULL) {
        hkprov_key_free(key);
        return NULL;
    }
    key->rsa_pss = EVP_PKEY_is_a(key->pub, "RSA-PSS");
    return key;
}

struct hkprov_key *hkprov_key_ref(struct hkprov_key *key)
{
    if (key != NULL)
        atomic_fetch_add(&key->refs, 1);
    return key;
}

void hkprov_key_free(struct hkprov_key *key)
{
    if (key == NULL || atomic_fetch_sub(&key->refs, 1) > 1)
        return;
    hsmkey_object_free(key->obj);
    EVP_PKEY_free(key->pub);
    OPENSSL_free(key);
}

size_t hkprov_key_max_sig(const struct hkprov_key *key)
{
    int n = key->pub != NULL ? EVP_PKEY_get_size(key->pub) : 0;

    return n > 0 ? (size_t)n : 0;
}

int hkprov_key_bits(const struct hkprov_key *key)
{
    return key->pub != NULL ? EVP_PKEY_get_bits(key->pub) : 0;
}
