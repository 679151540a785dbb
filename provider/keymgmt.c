/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keymgmt.c - key management for RSA and EC keys on the token.
 *
 * Every public property (bits, security bits, max size, default digest,
 * group, encoded point) is answered by the software public half, so they
 * are exactly what the default provider would say for the same key.
 *
 * Export gives the public half, whatever else the selection asks for: a
 * token key has no private components to give, and the default provider
 * exports its own keys without private components the same way.  OpenSSL
 * 3.0's legacy getters (EVP_PKEY_get0_RSA(), EVP_PKEY_get1_EC_KEY(), ...,
 * through evp_pkey_copy_downgraded()) export with OSSL_KEYMGMT_SELECT_ALL
 * and get an RSA or EC_KEY with the public parts only, instead of NULL (on
 * which Node.js aborts).  OpenSSL uses the same selection to move a key to
 * the provider of an operation; a public-only copy there could not sign, so
 * our key managers name operations that only this provider registers
 * (query_operation_name, HKPROV_OPNAME_*): signature, decryption and key
 * exchange with a token key are fetched here first and the key never moves.
 *
 * Import takes public keys only: a software private key is never imported
 * here, so its operations stay in its own provider, while EVP_PKEY_eq(),
 * X509_check_private_key() and SSL_CTX_check_private_key() work by
 * importing the certificate's public key here.
 */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

static OSSL_FUNC_keymgmt_new_fn kmgmt_new;
static OSSL_FUNC_keymgmt_free_fn kmgmt_free;
static OSSL_FUNC_keymgmt_load_fn kmgmt_load;
static OSSL_FUNC_keymgmt_has_fn kmgmt_has;
static OSSL_FUNC_keymgmt_match_fn kmgmt_match;
static OSSL_FUNC_keymgmt_get_params_fn kmgmt_get_params;
static OSSL_FUNC_keymgmt_gettable_params_fn rsa_kmgmt_gettable_params;
static OSSL_FUNC_keymgmt_gettable_params_fn ec_kmgmt_gettable_params;
static OSSL_FUNC_keymgmt_export_fn kmgmt_export;
static OSSL_FUNC_keymgmt_export_types_fn rsa_kmgmt_export_types;
static OSSL_FUNC_keymgmt_export_types_fn ec_kmgmt_export_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn rsa_kmgmt_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn ec_kmgmt_query_operation_name;
static OSSL_FUNC_keymgmt_import_fn rsa_kmgmt_import;
static OSSL_FUNC_keymgmt_import_fn rsapss_kmgmt_import;
static OSSL_FUNC_keymgmt_query_operation_name_fn rsapss_kmgmt_query_operation_name;
static OSSL_FUNC_keymgmt_import_fn ec_kmgmt_import;
static OSSL_FUNC_keymgmt_import_fn ed25519_kmgmt_import;
static OSSL_FUNC_keymgmt_import_fn ed448_kmgmt_import;
static OSSL_FUNC_keymgmt_gettable_params_fn ed_kmgmt_gettable_params;
static OSSL_FUNC_keymgmt_export_types_fn ed_kmgmt_export_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn ed25519_kmgmt_query_operation_name;
static OSSL_FUNC_keymgmt_query_operation_name_fn ed448_kmgmt_query_operation_name;

static void *kmgmt_new(void *provctx)
{
    return hkprov_key_new(provctx, NULL);
}

static void kmgmt_free(void *keydata)
{
    hkprov_key_free(keydata);
}

/* reference is what store.c handed out: the address of a key pointer. */
static void *kmgmt_load(const void *reference, size_t reference_sz)
{
    struct hkprov_key *key;

    if (reference == NULL || reference_sz != sizeof(key))
        return NULL;
    memcpy(&key, reference, sizeof(key));
    return hkprov_key_ref(key);
}

static int kmgmt_has(const void *keydata, int selection)
{
    const struct hkprov_key *key = keydata;

    if (key == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && key->obj == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) && key->pub == NULL)
        return 0;
    return 1;
}

static int kmgmt_match(const void *keydata1, const void *keydata2,
                       int selection)
{
    const struct hkprov_key *a = keydata1, *b = keydata2;

    if (a->pub == NULL || b->pub == NULL)
        return 0;
    if (selection & OSSL_KEYMGMT_SELECT_KEYPAIR)
        return EVP_PKEY_eq(a->pub, b->pub) == 1;
    return EVP_PKEY_parameters_eq(a->pub, b->pub) == 1;
}

static int kmgmt_get_params(void *keydata, OSSL_PARAM params[])
{
    struct hkprov_key *key = keydata;

    return key != NULL && key->pub != NULL
           && EVP_PKEY_get_params(key->pub, params);
}

#define COMMON_GETTABLE                                                       \
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),                               \
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),                      \
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),                           \
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0)

static const OSSL_PARAM *rsa_kmgmt_gettable_params(void *provctx)
{
    static const OSSL_PARAM table[] = {
        COMMON_GETTABLE,
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END
    };

    (void)provctx;
    return table;
}

static const OSSL_PARAM *ec_kmgmt_gettable_params(void *provctx)
{
    static const OSSL_PARAM table[] = {
        COMMON_GETTABLE,
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                               NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_END
    };

    (void)provctx;
    return table;
}

static const OSSL_PARAM *ed_kmgmt_gettable_params(void *provctx)
{
    static const OSSL_PARAM table[] = {
        COMMON_GETTABLE,
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END
    };

    (void)provctx;
    return table;
}

/* The public half, whatever else is asked: see the header note. */
static int kmgmt_export(void *keydata, int selection, OSSL_CALLBACK *cb,
                        void *cbarg)
{
    struct hkprov_key *key = keydata;
    OSSL_PARAM *params = NULL;
    int ok;

    if (key == NULL || key->pub == NULL
        || (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY
                         | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) == 0)
        return 0;
    if (EVP_PKEY_todata(key->pub, EVP_PKEY_PUBLIC_KEY, &params) != 1)
        return 0;
    ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

static const OSSL_PARAM *rsa_kmgmt_export_types(int selection)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END
    };

    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? table : NULL;
}

static const OSSL_PARAM *ec_kmgmt_export_types(int selection)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END
    };

    return (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY
                         | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS))
               ? table : NULL;
}

/* A public key (a peer's, a certificate's) as a key of ours without token. */
static int import_public(struct hkprov_key *key, const char *alg,
                         const char *private_param, const OSSL_PARAM params[])
{
    EVP_PKEY_CTX *pc;
    EVP_PKEY *pub = NULL;

    if (key == NULL || key->obj != NULL || key->pub != NULL
        || OSSL_PARAM_locate_const(params, private_param) != NULL)
        return 0;
    pc = EVP_PKEY_CTX_new_from_name(key->prov->libctx, alg,
                                    HKPROV_SOFTWARE_PROPQ);
    if (pc != NULL && EVP_PKEY_fromdata_init(pc) > 0
        && EVP_PKEY_fromdata(pc, &pub, EVP_PKEY_PUBLIC_KEY,
                             (OSSL_PARAM *)params) > 0) {
        key->pub = pub;
        key->rsa_pss = EVP_PKEY_is_a(pub, "RSA-PSS");
    }
    EVP_PKEY_CTX_free(pc);
    return key->pub != NULL;
}

static int rsa_kmgmt_import(void *keydata, int selection,
                            const OSSL_PARAM params[])
{
    (void)selection;
    return import_public(keydata, "RSA", OSSL_PKEY_PARAM_RSA_D, params);
}

static int rsapss_kmgmt_import(void *keydata, int selection,
                               const OSSL_PARAM params[])
{
    (void)selection;
    return import_public(keydata, "RSA-PSS", OSSL_PKEY_PARAM_RSA_D, params);
}

/* RSA-PSS keys sign with the RSA signature, as in the default provider,
 * under the name only this provider registers (see
 * kmgmt_operation_name); they have no other operation. */
static const char *rsapss_kmgmt_query_operation_name(int operation_id)
{
    return operation_id == OSSL_OP_SIGNATURE ? HKPROV_OPNAME_RSA : NULL;
}

static int ec_kmgmt_import(void *keydata, int selection,
                           const OSSL_PARAM params[])
{
    (void)selection;
    return import_public(keydata, "EC", OSSL_PKEY_PARAM_PRIV_KEY, params);
}

static const OSSL_PARAM *ed_kmgmt_export_types(int selection)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_END
    };

    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? table : NULL;
}

static int ed25519_kmgmt_import(void *keydata, int selection,
                                const OSSL_PARAM params[])
{
    (void)selection;
    return import_public(keydata, "ED25519", OSSL_PKEY_PARAM_PRIV_KEY, params);
}

static int ed448_kmgmt_import(void *keydata, int selection,
                              const OSSL_PARAM params[])
{
    (void)selection;
    return import_public(keydata, "ED448", OSSL_PKEY_PARAM_PRIV_KEY, params);
}

/*
 * The operations this provider does with a token key, under names only it
 * registers (prov.h); any other operation under the key type's own name.
 */
static const char *kmgmt_operation_name(int operation_id, const char *sig,
                                        const char *cipher, const char *kex,
                                        const char *other)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return sig != NULL ? sig : other;
    case OSSL_OP_ASYM_CIPHER:
        return cipher != NULL ? cipher : other;
    case OSSL_OP_KEYEXCH:
        return kex != NULL ? kex : other;
    }
    return other;
}

static const char *rsa_kmgmt_query_operation_name(int operation_id)
{
    return kmgmt_operation_name(operation_id, HKPROV_OPNAME_RSA,
                                HKPROV_OPNAME_RSA, NULL, "RSA");
}

static const char *ec_kmgmt_query_operation_name(int operation_id)
{
    return kmgmt_operation_name(operation_id, HKPROV_OPNAME_ECDSA, NULL,
                                HKPROV_OPNAME_ECDH, "EC");
}

static const char *ed25519_kmgmt_query_operation_name(int operation_id)
{
    return kmgmt_operation_name(operation_id, HKPROV_OPNAME_ED25519, NULL,
                                NULL, "ED25519");
}

static const char *ed448_kmgmt_query_operation_name(int operation_id)
{
    return kmgmt_operation_name(operation_id, HKPROV_OPNAME_ED448, NULL,
                                NULL, "ED448");
}

#define KMGMT_COMMON                                                          \
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))kmgmt_new },                     \
    { OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))kmgmt_free },                   \
    { OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))kmgmt_load },                   \
    { OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))kmgmt_has },                     \
    { OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))kmgmt_match },                 \
    { OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))kmgmt_get_params },       \
    { OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))kmgmt_export }

const OSSL_DISPATCH hkprov_rsa_keymgmt_functions[] = {
    KMGMT_COMMON,
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,
      (void (*)(void))rsa_kmgmt_gettable_params },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_kmgmt_export_types },
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))rsa_kmgmt_import },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_kmgmt_export_types },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
      (void (*)(void))rsa_kmgmt_query_operation_name },
    { 0, NULL }
};

const OSSL_DISPATCH hkprov_rsapss_keymgmt_functions[] = {
    KMGMT_COMMON,
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,
      (void (*)(void))rsa_kmgmt_gettable_params },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_kmgmt_export_types },
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))rsapss_kmgmt_import },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_kmgmt_export_types },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
      (void (*)(void))rsapss_kmgmt_query_operation_name },
    { 0, NULL }
};

const OSSL_DISPATCH hkprov_ec_keymgmt_functions[] = {
    KMGMT_COMMON,
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,
      (void (*)(void))ec_kmgmt_gettable_params },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ec_kmgmt_export_types },
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))ec_kmgmt_import },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ec_kmgmt_export_types },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
      (void (*)(void))ec_kmgmt_query_operation_name },
    { 0, NULL }
};

#define KMGMT_EDWARDS(alg)                                                    \
    KMGMT_COMMON,                                                             \
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,                                      \
      (void (*)(void))ed_kmgmt_gettable_params },                             \
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ed_kmgmt_export_types }, \
    { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))alg##_kmgmt_import },         \
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ed_kmgmt_export_types }, \
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,                                 \
      (void (*)(void))alg##_kmgmt_query_operation_name },                     \
    { 0, NULL }

const OSSL_DISPATCH hkprov_ed25519_keymgmt_functions[] = {
    KMGMT_EDWARDS(ed25519)
};

const OSSL_DISPATCH hkprov_ed448_keymgmt_functions[] = {
    KMGMT_EDWARDS(ed448)
};
