/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provider.c - OSSL_provider_init: the entry point OpenSSL calls when
 * openssl.cnf (or -provider hsmkey) loads hsmkey.so.
 *
 * Init only reads configuration: the PKCS#11 module is started on the first
 * key operation, so programs that load the provider and fork first work.
 */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "prov.h"
#include "hsmkey/debug.h"
#include "hsmkey-config.h"

static OSSL_FUNC_provider_teardown_fn prov_teardown;
static OSSL_FUNC_provider_gettable_params_fn prov_gettable_params;
static OSSL_FUNC_provider_get_params_fn prov_get_params;
static OSSL_FUNC_provider_query_operation_fn prov_query_operation;
static OSSL_FUNC_provider_get_reason_strings_fn prov_get_reason_strings;

static const OSSL_ALGORITHM keymgmt_algs[] = {
    { HKPROV_NAMES_RSA, HKPROV_PROPS, hkprov_rsa_keymgmt_functions,
      "RSA keys on a PKCS#11 token" },
    { HKPROV_NAMES_RSA_PSS, HKPROV_PROPS, hkprov_rsapss_keymgmt_functions,
      "RSA keys allowed only PSS signatures on a PKCS#11 token" },
    { HKPROV_NAMES_EC, HKPROV_PROPS, hkprov_ec_keymgmt_functions,
      "EC keys on a PKCS#11 token" },
    { HKPROV_NAMES_ED25519, HKPROV_PROPS, hkprov_ed25519_keymgmt_functions,
      "Ed25519 keys on a PKCS#11 token" },
    { HKPROV_NAMES_ED448, HKPROV_PROPS, hkprov_ed448_keymgmt_functions,
      "Ed448 keys on a PKCS#11 token" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM signature_algs[] = {
    { HKPROV_NAMES_RSA, HKPROV_PROPS, hkprov_rsa_signature_functions,
      "RSA PKCS#1 v1.5 and PSS signatures on a PKCS#11 token" },
    { HKPROV_NAMES_ECDSA, HKPROV_PROPS, hkprov_ecdsa_signature_functions,
      "ECDSA signatures on a PKCS#11 token" },
    { HKPROV_NAMES_ED25519, HKPROV_PROPS, hkprov_ed25519_signature_functions,
      "Ed25519 signatures on a PKCS#11 token" },
    { HKPROV_NAMES_ED448, HKPROV_PROPS, hkprov_ed448_signature_functions,
      "Ed448 signatures on a PKCS#11 token" },
    /* the same, under the names our key managers give (prov.h) */
    { HKPROV_OPNAME_RSA, HKPROV_PROPS, hkprov_rsa_signature_functions,
      "RSA signatures with a token key" },
    { HKPROV_OPNAME_ECDSA, HKPROV_PROPS, hkprov_ecdsa_signature_functions,
      "ECDSA signatures with a token key" },
    { HKPROV_OPNAME_ED25519, HKPROV_PROPS, hkprov_ed25519_signature_functions,
      "Ed25519 signatures with a token key" },
    { HKPROV_OPNAME_ED448, HKPROV_PROPS, hkprov_ed448_signature_functions,
      "Ed448 signatures with a token key" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM keyexch_algs[] = {
    { HKPROV_NAMES_ECDH, HKPROV_PROPS, hkprov_ecdh_keyexch_functions,
      "ECDH with an EC key on a PKCS#11 token" },
    { HKPROV_OPNAME_ECDH, HKPROV_PROPS, hkprov_ecdh_keyexch_functions,
      "ECDH with a token key" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM asym_cipher_algs[] = {
    { HKPROV_NAMES_RSA, HKPROV_PROPS, hkprov_rsa_asym_cipher_functions,
      "RSA decryption on a PKCS#11 token" },
    { HKPROV_OPNAME_RSA, HKPROV_PROPS, hkprov_rsa_asym_cipher_functions,
      "RSA decryption with a token key" },
    { NULL, NULL, NULL, NULL }
};

/* Key-reference files: PEM -> DER body -> key (see decoder.c). */
#define HKPROV_KEYREF_DER HKPROV_PROPS ",input=der,structure=pkcs11-uri"
static const OSSL_ALGORITHM decoder_algs[] = {
    { "DER", HKPROV_PROPS ",input=pem", hkprov_pem_decoder_functions,
      "PEM key-reference files" },
    { HKPROV_NAMES_RSA, HKPROV_KEYREF_DER, hkprov_rsa_decoder_functions,
      "RSA key references" },
    { HKPROV_NAMES_RSA_PSS, HKPROV_KEYREF_DER,
      hkprov_rsapss_decoder_functions, "RSA-PSS key references" },
    { HKPROV_NAMES_EC, HKPROV_KEYREF_DER, hkprov_ec_decoder_functions,
      "EC key references" },
    { HKPROV_NAMES_ED25519, HKPROV_KEYREF_DER,
      hkprov_ed25519_decoder_functions, "Ed25519 key references" },
    { HKPROV_NAMES_ED448, HKPROV_KEYREF_DER, hkprov_ed448_decoder_functions,
      "Ed448 key references" },
    { NULL, NULL, NULL, NULL }
};

/*
 * A token key "written as a private key" is a key-reference file: claimed
 * for the structures PEM_write_PrivateKey and `openssl pkey -out` ask for.
 */
#define HKPROV_KEYREF_PEM HKPROV_PROPS ",output=pem,structure="
static const OSSL_ALGORITHM encoder_algs[] = {
    { HKPROV_NAMES_RSA, HKPROV_KEYREF_PEM "PrivateKeyInfo",
      hkprov_keyref_encoder_functions, "RSA key-reference files" },
    { HKPROV_NAMES_RSA_PSS, HKPROV_KEYREF_PEM "PrivateKeyInfo",
      hkprov_keyref_encoder_functions, "RSA-PSS key-reference files" },
    { HKPROV_NAMES_EC, HKPROV_KEYREF_PEM "PrivateKeyInfo",
      hkprov_keyref_encoder_functions, "EC key-reference files" },
    { HKPROV_NAMES_ED25519, HKPROV_KEYREF_PEM "PrivateKeyInfo",
      hkprov_keyref_encoder_functions, "Ed25519 key-reference files" },
    { HKPROV_NAMES_ED448, HKPROV_KEYREF_PEM "PrivateKeyInfo",
      hkprov_keyref_encoder_functions, "Ed448 key-reference files" },
    { HKPROV_NAMES_RSA, HKPROV_KEYREF_PEM "pkcs11-uri",
      hkprov_keyref_encoder_functions, "RSA key-reference files" },
    { HKPROV_NAMES_RSA_PSS, HKPROV_KEYREF_PEM "pkcs11-uri",
      hkprov_keyref_encoder_functions, "RSA-PSS key-reference files" },
    { HKPROV_NAMES_EC, HKPROV_KEYREF_PEM "pkcs11-uri",
      hkprov_keyref_encoder_functions, "EC key-reference files" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM store_algs[] = {
    { "pkcs11", HKPROV_PROPS, hkprov_store_functions,
      "RFC 7512 pkcs11: URIs" },
    { NULL, NULL, NULL, NULL }
};

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
        OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
        OSSL_PARAM_ulong(HKPROV_PARAM_SESSIONS, NULL),
        OSSL_PARAM_ulong(HKPROV_PARAM_SESSIONS_IDLE, NULL),
        OSSL_PARAM_ulong(HKPROV_PARAM_SESSION_COPIES, NULL),
        OSSL_PARAM_END
    };

    (void)provctx;
    return table;
}

/* What the token holds for this instance now: sessions open (and idle)
 * and session-object copies of keys, over every token. */
static int stats_params(struct hkprov_ctx *ctx, OSSL_PARAM params[])
{
    struct hsmkey_core_stats st = { 0 };
    OSSL_PARAM *p;

    if (ctx == NULL || ctx->core == NULL)
        return 1;
    hsmkey_core_stats(ctx->core, &st);
    p = OSSL_PARAM_locate(params, HKPROV_PARAM_SESSIONS);
    if (p != NULL && !OSSL_PARAM_set_ulong(p, st.sessions))
        return 0;
    p = OSSL_PARAM_locate(params, HKPROV_PARAM_SESSIONS_IDLE);
    if (p != NULL && !OSSL_PARAM_set_ulong(p, st.idle))
        return 0;
    p = OSSL_PARAM_locate(params, HKPROV_PARAM_SESSION_COPIES);
    return p == NULL || OSSL_PARAM_set_ulong(p, st.copies);
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    if (!stats_params(provctx, params))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "hsmkey PKCS#11 provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, HSMKEY_VERSION))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "hsmkey " HSMKEY_VERSION
                                              " (" OPENSSL_VERSION_TEXT ")"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ALGORITHM *prov_query_operation(void *provctx, int id,
                                                  int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (id) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return signature_algs;
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_algs;
    case OSSL_OP_KEYEXCH:
        return keyexch_algs;
    case OSSL_OP_STORE:
        return store_algs;
    case OSSL_OP_DECODER:
        return decoder_algs;
    case OSSL_OP_ENCODER:
        return encoder_algs;
    }
    return NULL;
}

static const OSSL_ITEM *prov_get_reason_strings(void *provctx)
{
    (void)provctx;
    return hkprov_reason_strings();
}

static void prov_teardown(void *provctx)
{
    struct hkprov_ctx *ctx = provctx;

    if (ctx == NULL)
        return;
    hsmkey_debug("provider", "teardown");
    hsmkey_core_free(ctx->core);
    hkprov_digests_free(ctx->digests);
    OSSL_LIB_CTX_free(ctx->libctx);
    hkprov_config_free(ctx);
    hkprov_errors_free(ctx->errors);
    OPENSSL_free(ctx);
}

static const OSSL_DISPATCH prov_functions[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS,
      (void (*)(void))prov_gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION,
      (void (*)(void))prov_query_operation },
    { OSSL_FUNC_PROVIDER_GET_REASON_STRINGS,
      (void (*)(void))prov_get_reason_strings },
    { 0, NULL }
};

/* The core's token work runs on the caller's thread: its errors are this
 * instance's. */
static void enter_instance(void *arg)
{
    hkprov_errors_enter(arg);
}

OSSL_provider_init_fn OSSL_provider_init;

__attribute__((visibility("default")))
int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    struct hkprov_ctx *ctx;

    if ((ctx = OPENSSL_zalloc(sizeof(*ctx))) == NULL)
        return 0;
    if ((ctx->errors = hkprov_errors_new(handle, in)) == NULL) {
        OPENSSL_free(ctx);
        return 0;
    }
    ctx->handle = handle;
    if (!hkprov_config_load(ctx, handle, in))
        goto err;
    ctx->libctx = OSSL_LIB_CTX_new_child(handle, in);
    if (ctx->libctx == NULL || (ctx->digests = hkprov_digests_new()) == NULL)
        goto err;
    ctx->core = hsmkey_core_new(ctx->module_path, ctx->pin_source);
    if (ctx->core == NULL
        || !hsmkey_core_set_init_args(ctx->core, ctx->init_args))
        goto err;
    hsmkey_core_set_session_copies(ctx->core, ctx->session_copies);
    hsmkey_core_set_enter(ctx->core, enter_instance, ctx->errors);
    if (ctx->max_sessions != 0 || ctx->session_wait_ms >= 0)
        hsmkey_core_set_sessions(ctx->core, ctx->max_sessions,
                                 ctx->session_wait_ms >= 0
                                     ? ctx->session_wait_ms
                                     : HSMKEY_DEFAULT_SESSION_WAIT_MS);
    hsmkey_debug("provider", "hsmkey %s ready in %s; the PKCS#11 module "
                 "starts on the first key operation", HSMKEY_VERSION,
                 OpenSSL_version(OPENSSL_VERSION));
    *out = prov_functions;
    *provctx = ctx;
    return 1;
err:
    prov_teardown(ctx);
    return 0;
}
