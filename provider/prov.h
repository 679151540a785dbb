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
#include "hsmkey/prompt.h"

/* Names as the default provider spells them, so EVP_PKEY_is_a() agrees. */
#define HKPROV_NAMES_RSA "RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define HKPROV_NAMES_RSA_PSS "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10"
#define HKPROV_NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"
#define HKPROV_NAMES_ECDSA "ECDSA"
#define HKPROV_NAMES_ECDH "ECDH"
#define HKPROV_NAMES_ED25519 "ED25519:1.3.101.112"
#define HKPROV_NAMES_ED448 "ED448:1.3.101.113"
/*
 * Operation names that only this provider registers: a token key's key
 * manager answers them to query_operation_name, so OpenSSL fetches the key's
 * signature, decryption and key exchange here at the first try and never
 * moves the key to another provider for them (see keymgmt.c).
 */
#define HKPROV_OPNAME_RSA "HSMKEY-RSA"
#define HKPROV_OPNAME_ECDSA "HSMKEY-ECDSA"
#define HKPROV_OPNAME_ECDH "HSMKEY-ECDH"
#define HKPROV_OPNAME_ED25519 "HSMKEY-ED25519"
#define HKPROV_OPNAME_ED448 "HSMKEY-ED448"
#define HKPROV_PROPS "provider=hsmkey"
/* Provider parameters (OSSL_PROVIDER_get_params) for monitoring. */
#define HKPROV_PARAM_SESSIONS "hsmkey-sessions"
#define HKPROV_PARAM_SESSIONS_IDLE "hsmkey-sessions-idle"
#define HKPROV_PARAM_SESSION_COPIES "hsmkey-session-copies"
/* Software work (public halves, digests) must never land back on us. */
#define HKPROV_SOFTWARE_PROPQ "provider!=hsmkey"

/* Config keys of the openssl.cnf section (one table in config.c). */
#define HKPROV_CFG_PKCS11_MODULE "pkcs11-module"
#define HKPROV_CFG_PKCS11_MODULE_INIT_ARGS "pkcs11-module-init-args"
#define HKPROV_CFG_PIN_SOURCE "pin-source"
#define HKPROV_CFG_SESSION_COPIES "session-copies"
#define HKPROV_CFG_MAX_SESSIONS "max-sessions"
#define HKPROV_CFG_SESSION_WAIT "session-wait"
#define HKPROV_CFG_KEYREF_PIN "keyref-pin"
#define HKPROV_CFG_DEBUG "debug"

struct hkprov_ctx {
    const OSSL_CORE_HANDLE *handle;
    struct hkprov_errors *errors; /* this instance's error sink */
    struct hkprov_digests *digests; /* fetched once (digests.c) */
    OSSL_LIB_CTX *libctx; /* child of the application's library context */
    struct hsmkey_core *core;
    char *module_path;
    char *init_args; /* C_Initialize pReserved of module_path's module */
    char *pin_source;
    enum hsmkey_copies session_copies;
    unsigned long max_sessions; /* 0: the token's own limit */
    long session_wait_ms;       /* -1: the core's default */
    int keyref_pin_allow; /* keyref-pin = allow: a key-reference file's
                             pin-value/pin-source are used */
    char config_error[256]; /* the first value that made no sense */
};

/* config.c: read the section and the environment overrides. */
int hkprov_config_load(struct hkprov_ctx *ctx, const OSSL_CORE_HANDLE *handle,
                       const OSSL_DISPATCH *in);
void hkprov_config_free(struct hkprov_ctx *ctx);
/* 1, or 0 raising the configuration's first bad value (config.c). */
int hkprov_config_check(const struct hkprov_ctx *ctx);

/* digests.c: EVP_MD_fetch in the instance's context, once per name. */
struct hkprov_digests *hkprov_digests_new(void);
void hkprov_digests_free(struct hkprov_digests *d);
EVP_MD *hkprov_digest_fetch(struct hkprov_ctx *prov, const char *name);

/* errors.c: the err.h sink over the core's upcalls, one per instance. */
struct hkprov_errors *hkprov_errors_new(const OSSL_CORE_HANDLE *handle,
                                        const OSSL_DISPATCH *in);
void hkprov_errors_free(struct hkprov_errors *e);
/* This thread's errors go to e's instance from now on. */
void hkprov_errors_enter(struct hkprov_errors *e);
const OSSL_ITEM *hkprov_reason_strings(void);

/* prompt.c: the application's way of asking for a PIN, asked last. */
struct hkprov_prompt {
    OSSL_PASSPHRASE_CALLBACK *pw_cb; /* OpenSSL's (store, decoder), or NULL */
    void *pw_cbarg;
    const struct hsmkey_prompt_param *cli; /* the hsmkey CLI's: wins */
};
/*
 * Before a search for private keys: log in to the token uri names with p
 * asked after every configured PIN source.  1 when p has nothing to ask
 * with (the search logs in as configured) or nothing needs a PIN.
 */
int hkprov_login(struct hkprov_ctx *prov, P11KitUri *uri,
                 const struct hkprov_prompt *p);

/* key.c: a private key on the token, with its software public half. */
struct hkprov_key {
    atomic_int refs;
    struct hkprov_ctx *prov;
    struct hsmkey_object *obj; /* the private key object */
    EVP_PKEY *pub;             /* public half, in another provider */
    CK_KEY_TYPE type;
    int rsa_pss;               /* pub is an RSA-PSS key: PSS only */
};

struct hkprov_key *hkprov_key_new(struct hkprov_ctx *prov,
                                  struct hsmkey_object *obj);
/* The public half of obj alone: no token operation, like an imported key */
struct hkprov_key *hkprov_key_new_public(struct hkprov_ctx *prov,
                                         struct hsmkey_object *obj);
struct hkprov_key *hkprov_key_ref(struct hkprov_key *key);
void hkprov_key_free(struct hkprov_key *key);
/* Largest signature in bytes (RSA: modulus size; ECDSA: DER maximum). */
size_t hkprov_key_max_sig(const struct hkprov_key *key);
int hkprov_key_bits(const struct hkprov_key *key);

/* store_search.c: OSSL_STORE_find criteria, applied to found objects. */
struct hkprov_store_search;
struct hkprov_store_search *hkprov_store_search_new(void);
void hkprov_store_search_free(struct hkprov_store_search *s);
/* Subject, issuer, serial, digest + fingerprint, alias from params. */
int hkprov_store_search_set(struct hkprov_store_search *s,
                            const OSSL_PARAM params[]);
int hkprov_store_search_active(const struct hkprov_store_search *s);
/* A criterion only certificates can meet (subject, issuer, serial). */
int hkprov_store_search_certs_only(const struct hkprov_store_search *s);
int hkprov_store_search_matches(struct hkprov_ctx *prov,
                                const struct hkprov_store_search *s,
                                struct hsmkey_object *obj);
/* The settable parameters it reads, for the store's table. */
#define HKPROV_STORE_SEARCH_SETTABLE                                          \
    OSSL_PARAM_octet_string(OSSL_STORE_PARAM_SUBJECT, NULL, 0),               \
    OSSL_PARAM_octet_string(OSSL_STORE_PARAM_ISSUER, NULL, 0),                \
    OSSL_PARAM_BN(OSSL_STORE_PARAM_SERIAL, NULL, 0),                          \
    OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_DIGEST, NULL, 0),                 \
    OSSL_PARAM_octet_string(OSSL_STORE_PARAM_FINGERPRINT, NULL, 0),           \
    OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_ALIAS, NULL, 0)

/* signature_rsa.c: a digest's CKM_SHA* and CKG_MGF1_* (either may be NULL) */
int hkprov_rsa_hash_ids(const EVP_MD *md, CK_MECHANISM_TYPE *hash,
                        CK_RSA_PKCS_MGF_TYPE *mgf);

/* rsa_digestinfo.c: the DER DigestInfo of a digest (of the digest with
 * NID nid) into out, *outlen its size on entry; 0 when it does not fit or
 * dlen is not that digest's size. */
#define HKPROV_DIGEST_INFO_MAX 128
int hkprov_rsa_digest_info(int nid, const unsigned char *dgst, size_t dlen,
                           unsigned char *out, size_t *outlen);

/* rsa_tls_padding.c: TLS premaster from a raw RSA block, constant time */
int hkprov_rsa_tls_unpad(const unsigned char *em, size_t k,
                         unsigned int client_version,
                         unsigned int alt_version, unsigned char *out);

extern const OSSL_DISPATCH hkprov_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH hkprov_rsapss_keymgmt_functions[];
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
extern const OSSL_DISPATCH hkprov_rsapss_decoder_functions[];
extern const OSSL_DISPATCH hkprov_ec_decoder_functions[];

#endif
