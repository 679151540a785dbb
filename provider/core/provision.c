/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision.c - the steps around putting a key pair on a token, shared by
 * key generation (keygen.c) and import (import.c): the search
 * for objects with the same label or id, CKA_ID, replacing old objects.
 */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "provision_int.h"

void prov_raise(struct prov_job *job, const char *call, CK_RV rv)
{
    hsmkey_raise(HSMKEY_R_PKCS11, "token '%s': %s: %s",
                 hsmkey_token_label(job->tok), call, hsmkey_ckr_name(rv));
}

CK_FUNCTION_LIST *prov_enter(struct prov_job *job)
{
    return hsmkey_lease_enter(&job->lease, &job->s);
}

void prov_leave(struct prov_job *job)
{
    hsmkey_lease_leave(&job->lease);
}

struct hsmkey_object *prov_object(struct prov_job *job, CK_OBJECT_HANDLE h)
{
    CK_FUNCTION_LIST *fn = prov_enter(job);
    struct hsmkey_object *obj;
    CK_RV rv = CKR_OK;

    if (fn == NULL)
        return NULL;
    obj = hsmkey_object_new(job->tok, fn, job->s, h,
                            hsmkey_lease_epoch(&job->lease), &rv);
    prov_leave(job);
    if (obj == NULL)
        prov_raise(job, "reading the new key's attributes", rv);
    return obj;
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
    CK_FUNCTION_LIST *fn;
    CK_ULONG n = 0;
    CK_RV rv;

    for (size_t c = 0; c < 2; c++) {
        CK_ATTRIBUTE tmpl[2] = {
            { CKA_CLASS, (void *)&classes[c], sizeof(classes[c]) },
            { type, (void *)v, len },
        };

        if ((fn = prov_enter(job)) == NULL)
            return 0;
        rv = hsmkey_find_handles(job->tok, fn, job->s, tmpl, 2, &found, &n);
        prov_leave(job);
        if (rv != CKR_OK) {
            prov_raise(job, "C_FindObjects", rv);
            return 0;
        }
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
                         "which the servers using it need", hsmkey_token_label(job->tok),
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
    if (!hsmkey_lease_begin(&job->lease, tok, 1))
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
    CK_FUNCTION_LIST *fn = prov_enter(job);
    CK_RV rv;

    if (fn == NULL)
        return 0;
    rv = fn->C_SetAttributeValue(job->s, h, &a, 1);
    prov_leave(job);
    if (rv != CKR_OK)
        prov_raise(job, "C_SetAttributeValue(CKA_ID)", rv);
    return rv == CKR_OK;
}

void prov_destroy(struct prov_job *job, CK_OBJECT_HANDLE h)
{
    CK_FUNCTION_LIST *fn = prov_enter(job);
    CK_RV rv;

    if (fn == NULL)
        return;
    rv = fn->C_DestroyObject(job->s, h);
    prov_leave(job);
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
    if ((obj = prov_object(job, priv)) == NULL)
        goto err;
    for (CK_ULONG i = 0; i < job->nold; i++)
        prov_destroy(job, job->old[i]);
    if (replaced != NULL)
        *replaced = job->nold;
    return obj;
err:
    prov_destroy(job, priv);
    prov_destroy(job, pub);
    return NULL;
}

/* Objects were made, and maybe destroyed: the token's index is read again
 * (a key made beside one it holds, with its label, would not be seen). */
void prov_end(struct prov_job *job)
{
    if (job->have_session)
        hsmkey_lease_end(&job->lease, CKR_OK);
    job->have_session = 0;
    if (job->tok != NULL)
        hsmkey_index_drop(hsmkey_token_index(job->tok));
}
