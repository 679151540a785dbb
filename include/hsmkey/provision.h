/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision.h - putting keys on a token and describing what is there: key
 * generation and import (the hsmkey CLI's keygen / import), the slot list
 * including slots without an initialized token, and a key object's type
 * and size for listings; setting a token up, its PINs, and deleting
 * objects (init-token, set-pin, delete).
 *
 * Private keys are always created CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE and
 * CKA_SIGN true, CKA_EXTRACTABLE false, with a public key object beside them
 * (same CKA_ID and CKA_LABEL); CKA_DECRYPT (RSA) or CKA_DERIVE (EC) true
 * where the token allows it.  Nothing else is stated: the token sets the
 * rest.  A template the token refuses is raised with the attributes tried
 * (HSMKEY_R_UNSUPPORTED).  CKA_ID is the given one or the SHA-1 of the public
 * key (the certificate's Subject Key Identifier, so a certificate written to
 * the token later pairs with its key by id).
 *
 * Functions return 1/0 or pointer/NULL; on failure an error has been raised.
 */
#ifndef HSMKEY_PROVISION_H
#define HSMKEY_PROVISION_H

#include <stddef.h>
#include <openssl/evp.h>

#include "hsmkey/p11.h"

/* ---- key types (keygen --type) ---- */

struct hsmkey_keyspec {
    CK_KEY_TYPE type;  /* CKK_RSA, CKK_EC or CKK_EC_EDWARDS */
    CK_ULONG bits;     /* RSA modulus bits; EC field bits */
    int nid;           /* curve NID for EC and EdDSA, else NID_undef */
    const char *name;  /* "rsa:2048", "ec:P-256", "ed25519" */
};

/*
 * rsa:2048|3072|4096, ec:P-256|P-384|P-521 (also prime256v1, secp384r1,
 * secp521r1), ed25519; case-insensitive.  Anything else raises
 * HSMKEY_R_BAD_ARGUMENT listing the accepted types.
 */
int hsmkey_keyspec_parse(const char *text, struct hsmkey_keyspec *spec);

/* ---- creating keys ---- */

struct hsmkey_newkey {
    const char *label;        /* CKA_LABEL, required */
    const unsigned char *id;  /* CKA_ID; NULL: SHA-1 of the public key */
    size_t idlen;
    int force;  /* replace key objects with the same label or id */
};

/*
 * Generate a key pair on tok (logged in).  A private or public key with the
 * same label or id is refused (HSMKEY_R_BAD_ARGUMENT, naming it) unless
 * nk->force, which destroys those objects once the new pair exists;
 * *replaced (may be NULL) counts them.  A token without the mechanism or
 * key size raises HSMKEY_R_UNSUPPORTED.  Returns the new private key.
 */
struct hsmkey_object *hsmkey_keygen(struct hsmkey_token *tok,
                                    const struct hsmkey_keyspec *spec,
                                    const struct hsmkey_newkey *nk,
                                    size_t *replaced);

/*
 * Create a private key object (sensitive, never extractable from then on)
 * and its public key object from a software key: RSA, EC on a named curve,
 * Ed25519.  Same conflict rules as keygen.  Returns the private key.
 */
struct hsmkey_object *hsmkey_import(struct hsmkey_token *tok, EVP_PKEY *key,
                                    const struct hsmkey_newkey *nk,
                                    size_t *replaced);

/* SHA-1 of the subjectPublicKey BIT STRING content (RFC 5280 SKI). */
int hsmkey_pubkey_id(EVP_PKEY *pub, unsigned char id[20]);

/* ---- describing (keys, tokens listings) ---- */

/*
 * A key or certificate object's kind: *type "rsa", "ec", "ed25519",
 * "ed448" or "unknown"; size "2048", "P-256", "Ed25519" ... or "" when the
 * token does not say.  For a certificate, the certified key's.
 */
void hsmkey_object_keyinfo(const struct hsmkey_object *obj, char *type,
                           size_t typelen, char *size, size_t sizelen);

/* The NID of an EC or EdDSA key object's CKA_EC_PARAMS; NID_undef when
 * absent or unknown. */
int hsmkey_object_curve_nid(const struct hsmkey_object *obj);

/* Every slot of the core's modules, with or without a token. */
struct hsmkey_slot {
    CK_SLOT_ID id;
    CK_SLOT_INFO info;
    CK_TOKEN_INFO token; /* zeroed when no token is present */
    int has_token;
    int initialized;     /* token present and CKF_TOKEN_INITIALIZED */
    char module[64];     /* the module's library description */
};

int hsmkey_core_slots(struct hsmkey_core *core, struct hsmkey_slot **slots,
                      size_t *count);

/* ---- token administration (token_admin.c) ---- */

/*
 * Initialize the token in slot: C_InitToken with so_pin and label (1 to 32
 * bytes), then as the security officer C_InitPIN with user_pin.  A token
 * already initialized there loses every object: the caller asks first.
 * Both PINs are checked against the token's length limits before anything
 * is changed.  Afterwards the core's token list is scanned again (a token
 * may change slot id once initialized).
 */
int hsmkey_token_init(struct hsmkey_core *core, CK_SLOT_ID slot,
                      const char *label, const struct hsmkey_pin *so_pin,
                      const struct hsmkey_pin *user_pin);

/* Change the user PIN (C_SetPIN with the current one, not logged in). */
int hsmkey_token_set_pin(struct hsmkey_token *tok,
                         const struct hsmkey_pin *old_pin,
                         const struct hsmkey_pin *new_pin);

/*
 * Set the user PIN as the security officer (C_Login CKU_SO, C_InitPIN):
 * also what unlocks a user PIN the token locked after too many tries.
 */
int hsmkey_token_reset_pin(struct hsmkey_token *tok,
                           const struct hsmkey_pin *so_pin,
                           const struct hsmkey_pin *new_pin);

/* ---- deleting (destroy.c) ---- */

/*
 * C_DestroyObject on the token object obj stands for (found again by class,
 * key type, CKA_ID and CKA_LABEL: exactly one must match); a private key
 * needs the token logged in.  Cached searches are invalidated.
 */
int hsmkey_object_destroy(struct hsmkey_object *obj);

#endif
