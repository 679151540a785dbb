/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov.h - what the provider's files share: the provider context, the key
 * object, the dispatch tables and the algorithm names (one place).
 */
#ifndef HKPROV_PROV_H
#define HKPROV_PROV_H

#include <stdatomic.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include "hsmkey/p11.h"
#include "hsmkey/err.h"

/* Names as the default provider spells them, so EVP_PKEY_is_a() agrees. */
#define HKPROV_NAMES_RSA "RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define HKPROV_NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"
#define HKPROV_NAMES_ECDSA "ECDSA"
#define HKPROV_NAMES_ECDH "ECDH"
#define HKPROV_NAMES_ED25519 "ED25519:1.3.101.112"
#define HKPROV_NAMES_ED448 "ED448:1.3.101.113"
#define HKPROV_PROPS "provider=hsmkey"
/* Software work (public halves, digests) must never land back on us. */
#define HKPROV_SOFTWARE_PROPQ "provider!=hsmkey"

/* Config keys of the openssl.cnf section (one table in config.c). */
#define HKPROV_CFG_PKCS11_MODULE "pkcs11-module"
#define HKPROV_CFG_PIN_SOURCE "pin-source"
#define HKPROV_CFG_SESSION_COPIES "session-copies"
#define HKPROV_CFG_DEBUG "debug"

struct hkprov_ctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* child of the application's library context */
    struct hsmkey_core *core;
    char *module_path;
    char *pin_source;
    int session_copies; /* sign with session-object copies: yes (1) / no */
};

/* config.c: read the section and the environment overrides. */
int hkprov_config_load(struct hkprov_ctx *ctx, const OSSL_CORE_HANDLE *handle,
                       const OSSL_DISPATCH *in);
void hkprov_config_free(struct hkprov_ctx *ctx);

/* errors.c: the err.h sink over the core's upcalls. */
int hkprov_errors_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in);
const OSSL_ITEM *hkprov_reason_strings(void);

/* key.c: a private key on the token, with its software public half. */
struct hkprov_key {
    atomic_int refs;
    struct hkprov_ctx *prov;
    struct hsmkey_object *obj; /* the private key object */
    EVP_PKEY *pub;             /* public half, in another provider */
    CK_KEY_TYPE type;
};

struct hkprov_key *hkprov_key_new(struct hkprov_ctx *prov,
                                  struct hsmkey_object *obj);
struct hkprov_key *hkprov_key_ref(struct hkprov_key *key);
void hkprov_key_free(struct hkprov_key *key);
/* Largest signature in bytes (RSA: modulus size; ECDSA: DER maximum). */
size_t hkprov_key_max_sig(const struct hkprov_key *key);
int hkprov_key_bits(const struct hkprov_key *key);

/* signature_rsa.c: a digest's CKM_SHA* and CKG_MGF1_* (either may be NULL) */
int hkprov_rsa_hash_ids(const EVP_MD *md, CK_MECHANISM_TYPE *hash,
                        CK_RSA_PKCS_MGF_TYPE *mgf);

/* rsa_tls_padding.c: TLS premaster from a raw RSA block, constant time */
int hkprov_rsa_tls_unpad(const unsigned char *em, size_t k,
                         unsigned int client_version,
                         unsigned int alt_version, unsigned char *out);

extern const OSSL_DISPATCH hkprov_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH hkprov_ec_keymgmt_functions[];
extern const OSSL_DISPATCH hkprov_ed25519_keymgmt_functions[];
extern const OSSL_DISPATCH hkprov_ed448_keymgmt_functions[];
extern const OSSL_DISPATCH hkprov_ed25519_signature_functions[];
extern const OSSL_DISPATCH hkprov_ed448_signature_functions[];
extern const OSSL_DISPATCH hkprov_ed25519_decoder_functions[];
extern const OSSL_DISPATCH hkprov_ed448_decoder_functions[];
extern const OSSL_DISPATCH hkprov_rsa_signature_functions[];
extern const OSSL_DISPATCH hkprov_ecdsa_signature_functions[];
extern const OSSL_DISPATCH hkprov_rsa_asym_cipher_functions[];
extern const OSSL_DISPATCH hkprov_store_functions[];
extern const OSSL_DISPATCH hkprov_ecdh_keyexch_functions[];
extern const OSSL_DISPATCH hkprov_pem_decoder_functions[];
extern const OSSL_DISPATCH hkprov_keyref_encoder_functions[];
extern const OSSL_DISPATCH hkprov_rsa_decoder_functions[];
extern const OSSL_DISPATCH hkprov_ec_decoder_functions[];

#endif
