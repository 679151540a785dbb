/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision.c - the steps around putting a key pair on a token, shared by
 * key generation (keygen.c) and import (import.c): templates, the search
 * for objects with the same label or id, CKA_ID, replacing old objects.
 */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "provision_int.h"

static const CK_BBOOL prov_true = CK_TRUE, prov_false = CK_FALSE;

void prov_add(struct prov_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v,
              size_t len)
{
    if (t->n >= PROV_MAX_ATTRS)
        return; /* templates are fixed in code: a bug, caught by tests */
    t->a[t->n].type = type;
    t->a[t->n].pValue = (void *)v;
    t->a[t->n].ulValueLen = len;
    t->n++;
}

void prov_add_bool(struct prov_tmpl *t, CK_ATTRIBUTE_TYPE type, int v)
{
    prov_add(t, type, v ? &prov_true : &prov_false, sizeof(CK_BBOOL));
}

void prov_add_ulong(struct prov_tmpl *t, CK_ATTRIBUTE_TYPE type,
                    const CK_ULONG *v)
{
    prov_add(t, type, v, sizeof(*v));
}

/*
 * Usage flags fitting the key type, every one set explicitly (tokens have
 * generous defaults): RSA sign + decrypt, EC sign + derive, EdDSA sign.
 */
void prov_add_usage(struct prov_tmpl *pub, struct prov_tmpl *priv,
                    CK_KEY_TYPE type)
{
    int rsa = type == CKK_RSA;

    prov_add_bool(pub, CKA_VERIFY, 1);
    prov_add_bool(pub, CKA_ENCRYPT, rsa);
    prov_add_bool(pub, CKA_WRAP, 0);
    prov_add_bool(priv, CKA_SIGN, 1);
    prov_add_bool(priv, CKA_DECRYPT, rsa);
    prov_add_bool(priv, CKA_DERIVE, type == CKK_EC);
    prov_add_bool(priv, CKA_UNWRAP, 0);
}

void prov_raise(struct prov_job *job, const char *call, CK_RV rv)
{
    hsmkey_raise(HSMKEY_R_PKCS11, "token '%s': %s: %s", job->tok->label,
                 call, hsmkey_ckr_name(rv));
}

int hsmkey_pubkey_id(EVP_PKEY *pub, unsigned char id[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *bits;
    int len, ok;

    ok = X509_PUBKEY_set(&xpk, pub)
         && X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk)
         && SHA1(bits, (size_t)len, id) != NULL;
    X509_PUBKEY_free(xpk);
    if (!ok)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot encode the public key to "
                     "derive its id");
    return ok;
}

/* Keys (private and public) on the token with this attribute value. */
static int find_keys(struct prov_job *job, CK_ATTRIBUTE_TYPE type,
                     const void *v, size_t len, const char *what)
{
    static const CK_OBJECT_CLASS classes[] = { CKO_PRIVATE_KEY,
                                               CKO_PUBLIC_KEY };
    CK_OBJECT_HANDLE *found = NULL;
    CK_ULONG n = 0;

    for (size_t c = 0; c < 2; c++) {
        CK_ATTRIBUTE tmpl[2] = {
            { CKA_CLASS, (void *)&classes[c], sizeof(classes[c]) },
            { type, (void *)v, len },
        };

        if (hsmkey_token_find_handles(job->tok, job->s, tmpl, 2, &found, &n)
            != CKR_OK)
            return 0;
        for (CK_ULONG i = 0; i < n && job->nold < 16; i++) {
            int seen = 0;

            for (CK_ULONG j = 0; j < job->nold; j++)
                seen |= job->old[j] == found[i];
            if (!seen)
                job->old[job->nold++] = found[i];
        }
        OPENSSL_free(found);
        if (n > 0 && !job->nk->force) {
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "token '%s' already has a %s "
                         "key with %s: choose another (a new label is how a "
                         "key is rotated), or --force to destroy that key, "
                         "which the servers using it need", job->tok->label,
                         c == 0 ? "private" : "public", what);
            return 0;
        }
    }
    return 1;
}

int prov_begin(struct prov_job *job, struct hsmkey_token *tok,
               const struct hsmkey_newkey *nk, const unsigned char *id,
               size_t idlen)
{
    char what[128];
    size_t n;

    memset(job, 0, sizeof(*job));
    job->tok = tok;
    job->nk = nk;
    if (!hsmkey_token_session_get(tok, &job->s))
        return 0;
    job->have_session = 1;
    snprintf(what, sizeof(what), "label '%.64s'", nk->label);
    if (!find_keys(job, CKA_LABEL, nk->label, strlen(nk->label), what))
        return 0;
    if (id == NULL)
        return 1;
    n = snprintf(what, sizeof(what), "id ");
    for (size_t i = 0; i < idlen && i < 20; i++)
        n += snprintf(what + n, sizeof(what) - n, "%02x", id[i]);
    return find_keys(job, CKA_ID, id, idlen, what);
}

static int set_id(struct prov_job *job, CK_OBJECT_HANDLE h,
                  const unsigned char *id, size_t idlen)
{
    CK_ATTRIBUTE a = { CKA_ID, (void *)id, idlen };
    CK_RV rv = job->tok->fn->C_SetAttributeValue(job->s, h, &a, 1);

    if (rv != CKR_OK)
        prov_raise(job, "C_SetAttributeValue(CKA_ID)", rv);
    return rv == CKR_OK;
}

static void destroy(struct prov_job *job, CK_OBJECT_HANDLE h)
{
    CK_RV rv = job->tok->fn->C_DestroyObject(job->s, h);

    if (rv != CKR_OK)
        prov_raise(job, "C_DestroyObject", rv);
}

struct hsmkey_object *prov_finish(struct prov_job *job, CK_OBJECT_HANDLE priv,
                                  CK_OBJECT_HANDLE pub,
                                  const unsigned char *id, size_t idlen,
                                  size_t *replaced)
{
    struct hsmkey_object *obj = NULL;

    if (id != NULL
        && (!set_id(job, priv, id, idlen) || !set_id(job, pub, id, idlen)))
        goto err;
    if ((obj = hsmkey_object_new(job->tok, job->s, priv)) == NULL)
        goto err;
    for (CK_ULONG i = 0; i < job->nold; i++)
        destroy(job, job->old[i]);
    if (replaced != NULL)
        *replaced = job->nold;
    return obj;
err:
    destroy(job, priv);
    destroy(job, pub);
    return NULL;
}

void prov_end(struct prov_job *job)
{
    if (job->have_session)
        hsmkey_token_session_put(job->tok, job->s, 0);
    job->have_session = 0;
}
