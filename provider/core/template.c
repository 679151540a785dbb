/* SPDX-License-Identifier: Apache-2.0 */
/*
 * template.c - the attribute templates of a new key pair (keygen.c,
 * import.c): what hsmkey states, and what it does when a token refuses it.
 *
 * A template says only what hsmkey needs: token object, private,
 * sensitive, never extractable, able to sign; decrypt (RSA) or derive (EC)
 * and a public key readable without a PIN as optional extras.  It states
 * no FALSE that a token derives itself: tpm2-pkcs11 refuses a template
 * that disagrees with what it derives (CKR_GENERAL_ERROR, "attr
 * mismatch").  When a token refuses the template anyway, it is tried again
 * without each optional attribute in turn, then without all of them; a
 * refusal that remains names the attributes tried.
 */
#include <string.h>

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

void prov_optional(struct prov_tmpl *t)
{
    if (t->n > 0)
        t->optional[t->n - 1] = 1;
}

/*
 * Signing is what hsmkey is for; decryption (TLS 1.2 RSA key exchange) and
 * derivation (ECDH) are extras a key can live without.  The public key
 * needs no usage at all: hsmkey verifies in software.
 */
void prov_add_usage(struct prov_tmpl *pub, struct prov_tmpl *priv,
                    CK_KEY_TYPE type)
{
    (void)pub;
    prov_add_bool(priv, CKA_SIGN, 1);
    if (type == CKK_RSA) {
        prov_add_bool(priv, CKA_DECRYPT, 1);
        prov_optional(priv);
    } else if (type == CKK_EC) {
        prov_add_bool(priv, CKA_DERIVE, 1);
        prov_optional(priv);
    }
}

/* Answers that say "not this template" (tpm2-pkcs11: CKR_GENERAL_ERROR). */
static int template_refused(CK_RV rv)
{
    return rv == CKR_ATTRIBUTE_VALUE_INVALID
           || rv == CKR_ATTRIBUTE_TYPE_INVALID
           || rv == CKR_ATTRIBUTE_READ_ONLY
           || rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_GENERAL_ERROR
           || rv == CKR_FUNCTION_FAILED;
}

/* Which optional attributes: pub ones first, bit i of a mask each. */
struct prov_opts {
    struct prov_tmpl *t[PROV_MAX_ATTRS];
    CK_ULONG idx[PROV_MAX_ATTRS];
    int n;
};

static void find_optional(struct prov_tmpl *pub, struct prov_tmpl *priv,
                          struct prov_opts *o)
{
    o->n = 0;
    for (int k = 0; k < 2; k++) {
        struct prov_tmpl *t = k ? priv : pub;

        for (CK_ULONG i = 0; i < t->n && o->n < 8; i++) {
            if (t->optional[i]) {
                o->t[o->n] = t;
                o->idx[o->n++] = i;
            }
        }
    }
}

/* src without the optional attributes whose bits are set in mask. */
static void without(const struct prov_tmpl *src, const struct prov_opts *o,
                    unsigned mask, struct prov_tmpl *dst)
{
    dst->n = 0;
    for (CK_ULONG i = 0; i < src->n; i++) {
        int drop = 0;

        for (int j = 0; j < o->n; j++)
            drop |= (mask >> j & 1) && o->t[j] == src && o->idx[j] == i;
        if (!drop) {
            dst->a[dst->n] = src->a[i];
            dst->optional[dst->n++] = src->optional[i];
        }
    }
}

/*
 * " CKA_SIGN=TRUE", " CKA_CLASS=0x3" (the numbers a token's log shows), or
 * the name alone for a value (label, id, key material: never shown).
 */
static int attr_text(const CK_ATTRIBUTE *a, char *out, size_t len)
{
    const char *name = hsmkey_cka_name(a->type);
    char v[24] = "";

    if (a->type == CKA_CLASS || a->type == CKA_KEY_TYPE)
        snprintf(v, sizeof(v), "=0x%lx", *(const CK_ULONG *)a->pValue);
    else if (a->ulValueLen == sizeof(CK_BBOOL) && a->type != CKA_LABEL
             && a->type != CKA_ID && a->type != CKA_VALUE)
        snprintf(v, sizeof(v), "%s",
                 *(const CK_BBOOL *)a->pValue ? "=TRUE" : "=FALSE");
    if (name != NULL)
        return snprintf(out, len, " %s%s", name, v);
    return snprintf(out, len, " 0x%lx%s", (unsigned long)a->type, v);
}

/* What the template says of the key: its class, type and flags. */
static void tmpl_text(const struct prov_tmpl *t, char *out, size_t len)
{
    size_t n = 0;

    out[0] = '\0';
    for (CK_ULONG i = 0; i < t->n && n < len; i++)
        if (t->a[i].type == CKA_CLASS || t->a[i].type == CKA_KEY_TYPE
            || (t->a[i].ulValueLen == sizeof(CK_BBOOL)
                && t->a[i].type != CKA_LABEL && t->a[i].type != CKA_ID))
            n += (size_t)attr_text(&t->a[i], out + n, len - n);
}

static void raise_refused(struct prov_job *job, const char *call, CK_RV rv,
                          struct prov_tmpl *pub, struct prov_tmpl *priv,
                          const char *tried)
{
    char tpub[256], tpriv[320];

    tmpl_text(pub, tpub, sizeof(tpub));
    tmpl_text(priv, tpriv, sizeof(tpriv));
    prov_raise(job, call, rv);
    hsmkey_raise(HSMKEY_R_UNSUPPORTED, "token '%s' refused the key template:"
                 " private key%s; public key%s%s", hsmkey_token_label(job->tok), tpriv,
                 tpub, tried);
}

/* ", without CKA_DERIVE=TRUE" and at last " and without all of them". */
static void note_tried(const struct prov_opts *o, int attempt, char *tried,
                       size_t len)
{
    size_t n = strlen(tried);

    if (n + 1 >= len)
        return;
    if (attempt > o->n) {
        snprintf(tried + n, len - n, " and without all of them");
        return;
    }
    n += (size_t)snprintf(tried + n, len - n, "%s",
                          n == 0 ? "; refused as well without" : ", without");
    if (n < len)
        attr_text(&o->t[attempt - 1]->a[o->idx[attempt - 1]], tried + n,
                  len - n);
}

int prov_create(struct prov_job *job, prov_create_fn *create,
                struct prov_tmpl *pub, struct prov_tmpl *priv, void *arg)
{
    struct prov_tmpl tpub, tpriv;
    CK_FUNCTION_LIST *fn;
    struct prov_opts o;
    const char *call = "C_CreateObject", *first_call = NULL;
    char tried[256] = "";
    CK_RV rv, first = CKR_OK;
    unsigned mask;
    int attempt;

    find_optional(pub, priv, &o);
    /* Attempt 0: all; 1..n: without optional attribute n-1; n+1: none. */
    for (attempt = 0; attempt <= o.n + (o.n > 1); attempt++) {
        mask = attempt == 0 ? 0 : attempt <= o.n ? 1u << (attempt - 1)
                                                 : (1u << o.n) - 1;
        without(pub, &o, mask, &tpub);
        without(priv, &o, mask, &tpriv);
        if ((fn = prov_enter(job)) == NULL)
            return 0;
        rv = create(job, fn, &tpub, &tpriv, arg, &call);
        prov_leave(job);
        if (rv == CKR_OK)
            return 1;
        if (attempt == 0) {
            first = rv;
            first_call = call;
        } else {
            note_tried(&o, attempt, tried, sizeof(tried));
        }
        if (!template_refused(rv))
            break;
    }
    if (template_refused(first))
        raise_refused(job, first_call, first, pub, priv, tried);
    else
        prov_raise(job, first_call, first);
    return 0;
}
