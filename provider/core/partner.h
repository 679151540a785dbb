/* SPDX-License-Identifier: Apache-2.0 */
/*
 * partner.h - the public half of a private key object that does not carry
 * it (EC, EdDSA): which object gives it, and the proof that it belongs
 * (partner.c).  Internal to the core.
 */
#ifndef HSMKEY_PARTNER_H
#define HSMKEY_PARTNER_H

#include "hsmkey/p11.h"

/*
 * 1 when other, a public key or certificate object, may be priv's public
 * half: the same non-empty CKA_ID, key type and curve, and for a public key
 * object the same CKA_LABEL.  Nothing else is trusted of it yet.
 */
int hsmkey_partner_matches(const struct hsmkey_object *priv,
                           const struct hsmkey_object *other);

/* The one public key object among objs[n] that matches priv; NULL when
 * none or several do. */
struct hsmkey_object *hsmkey_partner_pick(const struct hsmkey_object *priv,
                                          struct hsmkey_object *const *objs,
                                          size_t n);

/*
 * Searches priv's token: the one matching public key object, else the
 * matching certificates when they all hold one public key.  1 with a
 * reference in *out, or NULL when there is none (or priv has no CKA_ID to
 * tie one to); 0 + raised when the search failed or several disagree
 * (never a guess).
 */
int hsmkey_partner_find(struct hsmkey_object *priv, struct hsmkey_object **out);

/*
 * Proof that priv holds the private half of pub (built from the object
 * from): one signature by priv on a fresh challenge (ECDH for a key that
 * may only derive), verified in software (libctx, propq).  0 + raised,
 * naming from, when it does not verify or cannot be made.
 */
int hsmkey_partner_prove(struct hsmkey_object *priv, EVP_PKEY *pub,
                         const struct hsmkey_object *from,
                         OSSL_LIB_CTX *libctx, const char *propq);

#endif
