/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keygen.c - a key pair generated on the token (C_GenerateKeyPair), never
 * extractable, with usage flags fitting its type: RSA sign (+ decrypt), EC
 * sign (+ derive), Ed25519 sign; the extras only where the token agrees.
 */
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "provision_int.h"

/* The one table of key types keygen offers. */
static const struct hsmkey_keyspec specs[] = {
    { CKK_RSA, 2048, NID_undef, "rsa:2048" },
    { CKK_RSA, 3072, NID_undef, "rsa:3072" },
    { CKK_RSA, 4096, NID_undef, "rsa:4096" },
    { CKK_EC, 256, NID_X9_62_prime256v1, "ec:P-256" },
    { CKK_EC, 384, NID_secp384r1, "ec:P-384" },
    { CKK_EC, 521, NID_secp521r1, "ec:P-521" },
    { CKK_EC_EDWARDS, 255, NID_ED25519, "ed25519" },
};
static const struct {
    const char *alias, *name;
} aliases[] = {
    { "ec:prime256v1", "ec:P-256" }, { "ec:secp256r1", "ec:P-256" },
    { "ec:secp384r1", "ec:P-384" }, { "ec:secp521r1", "ec:P-521" },
};

int hsmkey_keyspec_parse(const char *text, struct hsmkey_keyspec *spec)
{
    size_t n = sizeof(specs) / sizeof(specs[0]);

    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcasecmp(text, aliases[i].alias) == 0)
            text = aliases[i].name;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(text, specs[i].name) == 0) {
            *spec = specs[i];
            return 1;
        }
    }
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "unknown key type '%.32s': use "
                 "rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, "
                 "ec:P-521 or ed25519", text);
    return 0;
}

static CK_MECHANISM_TYPE keygen_mech(const struct hsmkey_keyspec *spec)
{
    switch (spec->type) {
    case CKK_RSA: return CKM_RSA_PKCS_KEY_PAIR_GEN;
    case CKK_EC: return CKM_EC_KEY_PAIR_GEN;
    default: return CKM_EC_EDWARDS_KEY_PAIR_GEN;
    }
}

/* The token offers the mechanism (in its list: some tokens answer
 * C_GetMechanismInfo for mechanisms they were configured not to offer),
 * and the size for RSA. */
static int check_mechanism(struct hsmkey_token *tok,
                           const struct hsmkey_keyspec *spec)
{
    CK_MECHANISM_TYPE mech = keygen_mech(spec);
    const char *name = hsmkey_ckm_name(mech);
    CK_MECHANISM_INFO info;
    int listed = hsmkey_token_has_mechanism(tok, mech);
    CK_RV rv = listed == 0 ? CKR_MECHANISM_INVALID
                           : hsmkey_token_mechanism_info(tok, mech, &info);

    if (rv != CKR_OK || !(info.flags & CKF_GENERATE_KEY_PAIR)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "token '%s' cannot generate %s "
                     "keys: it does not offer %s (%s)",
                     hsmkey_token_label(tok), spec->name,
                     name ? name : "the mechanism",
                     rv != CKR_OK ? hsmkey_ckr_name(rv)
                                  : "no CKF_GENERATE_KEY_PAIR");
        return 0;
    }
    if (spec->type == CKK_RSA
        && (spec->bits < info.ulMinKeySize || spec->bits > info.ulMaxKeySize)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "token '%s' generates RSA keys of "
                     "%lu to %lu bits, not %lu", hsmkey_token_label(tok),
                     info.ulMinKeySize, info.ulMaxKeySize, spec->bits);
        return 0;
    }
    return 1;
}

/* DER of the curve's OID (named curve, never explicit parameters). */
static int curve_der(int nid, unsigned char *out, size_t *len)
{
    ASN1_OBJECT *oid = OBJ_nid2obj(nid);
    int n = oid ? i2d_ASN1_OBJECT(oid, NULL) : 0;
    unsigned char *p = out;

    if (n <= 0 || (size_t)n > *len || i2d_ASN1_OBJECT(oid, &p) != n) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot encode curve %s",
                     OBJ_nid2sn(nid));
        return 0;
    }
    *len = (size_t)n;
    return 1;
}

struct gen_attrs {
    unsigned char params[32];
    size_t paramslen;
    CK_ULONG bits;
    CK_BYTE exponent[3];
};

static void templates(const struct hsmkey_keyspec *spec,
                      const struct hsmkey_newkey *nk, struct gen_attrs *g,
                      struct prov_tmpl *pub, struct prov_tmpl *priv)
{
    size_t lablen = strlen(nk->label);

    prov_add_bool(pub, CKA_TOKEN, 1);
    /* Readable without a PIN (check --no-login, key-match); optional. */
    prov_add_bool(pub, CKA_PRIVATE, 0);
    prov_optional(pub);
    prov_add(pub, CKA_LABEL, nk->label, lablen);
    prov_add_bool(priv, CKA_TOKEN, 1);
    prov_add_bool(priv, CKA_PRIVATE, 1);
    prov_add_bool(priv, CKA_SENSITIVE, 1);
    prov_add_bool(priv, CKA_EXTRACTABLE, 0);
    prov_add_usage(pub, priv, spec->type);
    prov_add(priv, CKA_LABEL, nk->label, lablen);
    if (nk->id != NULL) {
        prov_add(pub, CKA_ID, nk->id, nk->idlen);
        prov_add(priv, CKA_ID, nk->id, nk->idlen);
    }
    if (spec->type == CKK_RSA) {
        prov_add_ulong(pub, CKA_MODULUS_BITS, &g->bits);
        prov_add(pub, CKA_PUBLIC_EXPONENT, g->exponent, 3);
        return;
    }
    prov_add(pub, CKA_EC_PARAMS, g->params, g->paramslen);
}

/* The public half as a software key, to derive the id from. */
static EVP_PKEY *public_of(struct prov_job *job, CK_OBJECT_HANDLE pub)
{
    struct hsmkey_object *obj = prov_object(job, pub);
    EVP_PKEY *key = NULL;
    size_t len;
    const unsigned char *pt;

    if (obj == NULL)
        return NULL;
    if (hsmkey_object_key_type(obj) != CKK_EC_EDWARDS) {
        key = hsmkey_object_public_key(obj, NULL, NULL);
    } else if ((pt = hsmkey_object_attr(obj, CKA_EC_POINT, &len)) != NULL) {
        /* A DER OCTET STRING of 32 bytes, or (some tokens) the raw key. */
        if (len == 34 && pt[0] == 0x04 && pt[1] == 32) {
            pt += 2;
            len -= 2;
        }
        key = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pt, len);
        if (key == NULL)
            hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: unusable CKA_EC_POINT",
                         hsmkey_object_desc(obj));
    }
    hsmkey_object_free(obj);
    return key;
}

struct gen_call {
    CK_MECHANISM mech;
    CK_OBJECT_HANDLE hpub, hpriv;
};

static CK_RV gen_pair(struct prov_job *job, CK_FUNCTION_LIST *fn,
                      struct prov_tmpl *pub, struct prov_tmpl *priv,
                      void *arg, const char **call)
{
    struct gen_call *c = arg;

    *call = "C_GenerateKeyPair";
    return fn->C_GenerateKeyPair(job->s, &c->mech, pub->a, pub->n, priv->a,
                                 priv->n, &c->hpub, &c->hpriv);
}

static struct hsmkey_object *generate(struct prov_job *job,
                                      const struct hsmkey_keyspec *spec,
                                      struct gen_attrs *g, size_t *replaced)
{
    struct prov_tmpl pub = { 0 }, priv = { 0 };
    struct gen_call c = { { keygen_mech(spec), NULL, 0 }, 0, 0 };
    CK_OBJECT_HANDLE hpub, hpriv;
    unsigned char id[20];
    EVP_PKEY *key;
    int ok;

    templates(spec, job->nk, g, &pub, &priv);
    if (!prov_create(job, gen_pair, &pub, &priv, &c))
        return NULL;
    hpub = c.hpub;
    hpriv = c.hpriv;
    if (job->nk->id != NULL)
        return prov_finish(job, hpriv, hpub, NULL, 0, replaced);
    key = public_of(job, hpub);
    ok = key != NULL && hsmkey_pubkey_id(key, id);
    EVP_PKEY_free(key);
    if (!ok) {
        prov_destroy(job, hpriv);
        prov_destroy(job, hpub);
        return NULL;
    }
    return prov_finish(job, hpriv, hpub, id, sizeof(id), replaced);
}

struct hsmkey_object *hsmkey_keygen(struct hsmkey_token *tok,
                                    const struct hsmkey_keyspec *spec,
                                    const struct hsmkey_newkey *nk,
                                    size_t *replaced)
{
    struct gen_attrs g = { .paramslen = sizeof(g.params), .bits = spec->bits,
                           .exponent = { 1, 0, 1 } };
    struct prov_job job;
    struct hsmkey_object *obj = NULL;

    if (replaced != NULL)
        *replaced = 0;
    if (!check_mechanism(tok, spec))
        return NULL;
    if (spec->nid != NID_undef && !curve_der(spec->nid, g.params,
                                             &g.paramslen))
        return NULL;
    if (prov_begin(&job, tok, nk, nk->id, nk->idlen))
        obj = generate(&job, spec, &g, replaced);
    prov_end(&job);
    return obj;
}
