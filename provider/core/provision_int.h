/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision_int.h - what keygen.c and import.c share: attribute templates
 * and their retry without optional attributes (template.c), and the steps
 * around creating a key pair (provision.c: conflict search, CKA_ID,
 * replacing old objects).  Not a public header: the promises are in
 * include/hsmkey/provision.h.
 */
#ifndef HSMKEY_PROVISION_INT_H
#define HSMKEY_PROVISION_INT_H

#include "core.h"
#include "hsmkey/provision.h"

#define PROV_MAX_ATTRS 24

/* A template under construction; values must outlive the PKCS#11 call. */
struct prov_tmpl {
    CK_ATTRIBUTE a[PROV_MAX_ATTRS];
    /* 1: hsmkey can do without it; left out when the token refuses it */
    unsigned char optional[PROV_MAX_ATTRS];
    CK_ULONG n;
};

void prov_add(struct prov_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v,
              size_t len);
void prov_add_bool(struct prov_tmpl *t, CK_ATTRIBUTE_TYPE type, int v);
void prov_add_ulong(struct prov_tmpl *t, CK_ATTRIBUTE_TYPE type,
                    const CK_ULONG *v);

/*
 * What hsmkey needs of a private key of the type: CKA_SIGN, and CKA_DECRYPT
 * (RSA) or CKA_DERIVE (EC) as optional; nothing on the public key.  No
 * FALSE is stated: tokens derive the rest themselves (tpm2-pkcs11 refuses a
 * template that disagrees with what it derives).
 */
void prov_add_usage(struct prov_tmpl *pub, struct prov_tmpl *priv,
                    CK_KEY_TYPE type);
/* The attribute added last is optional (see prov_create). */
void prov_optional(struct prov_tmpl *t);

/* One creation on one token: the session and the objects it replaces. */
struct prov_job {
    struct hsmkey_token *tok;
    const struct hsmkey_newkey *nk;
    struct hsmkey_lease lease;
    int have_session;
    CK_SESSION_HANDLE s; /* the lease's, valid between enter and leave */
    CK_RV last;          /* the last call's answer */
    CK_OBJECT_HANDLE old[16];
    CK_ULONG nold;
};

/* Module calls of the job go between these (the gate and the fence):
 * the function list, or NULL when the token started over (raised). */
CK_FUNCTION_LIST *prov_enter(struct prov_job *job);
void prov_leave(struct prov_job *job);
/* The object h, read in the job's session; NULL + raise. */
struct hsmkey_object *prov_object(struct prov_job *job, CK_OBJECT_HANDLE h);

/*
 * Take a session and look for private/public keys with nk's label or with
 * id (NULL: not yet known); refuse them unless nk->force.
 */
int prov_begin(struct prov_job *job, struct hsmkey_token *tok,
               const struct hsmkey_newkey *nk, const unsigned char *id,
               size_t idlen);
/*
 * The new pair exists: set CKA_ID on both when id is given (derived after
 * generation), destroy the replaced objects, return the private key.  On
 * failure the new pair is destroyed again.
 */
struct hsmkey_object *prov_finish(struct prov_job *job, CK_OBJECT_HANDLE priv,
                                  CK_OBJECT_HANDLE pub,
                                  const unsigned char *id, size_t idlen,
                                  size_t *replaced);
void prov_end(struct prov_job *job);

/* Destroy an object the job made or replaces (a failure is raised). */
void prov_destroy(struct prov_job *job, CK_OBJECT_HANDLE h);

/* The raise for a failed PKCS#11 call during provisioning. */
void prov_raise(struct prov_job *job, const char *call, CK_RV rv);

/*
 * The token's part of making a key pair from two templates (one
 * C_GenerateKeyPair, or two C_CreateObject), under the gate in the job's
 * session: CKR_OK, or the CK_RV of the call that failed, named in *call,
 * with nothing left behind on the token.
 */
typedef CK_RV prov_create_fn(struct prov_job *job, CK_FUNCTION_LIST *fn,
                             struct prov_tmpl *pub, struct prov_tmpl *priv,
                             void *arg, const char **call);
/*
 * create() with the templates as they are.  When the token refuses them
 * (a template error, or CKR_GENERAL_ERROR as tpm2-pkcs11 answers), again
 * without each optional attribute in turn, then without all of them.  A
 * refusal that remains is raised with the attributes tried.
 */
int prov_create(struct prov_job *job, prov_create_fn *create,
                struct prov_tmpl *pub, struct prov_tmpl *priv, void *arg);

#endif
