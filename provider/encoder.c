/* SPDX-License-Identifier: Apache-2.0 */
/*
 * encoder.c - writing a token key as a key-reference file, so that
 * `openssl pkey -in 'pkcs11:...' -out ref.pem` and PEM_write_PrivateKey()
 * produce a file any program can use as "the private key" - instead of
 * failing, as private key material can never leave the token.  The URI
 * written names the object exactly and never carries a PIN.
 */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/bio.h>

#include "prov.h"
#include "hsmkey/keyref.h"

static OSSL_FUNC_encoder_newctx_fn enc_newctx;
static OSSL_FUNC_encoder_freectx_fn enc_freectx;
static OSSL_FUNC_encoder_does_selection_fn enc_does_selection;
static OSSL_FUNC_encoder_encode_fn enc_encode;

static void *enc_newctx(void *provctx)
{
    return provctx;
}

static void enc_freectx(void *ctx)
{
    (void)ctx;
}

/* Only whole keys: a public key is written by the default provider. */
static int enc_does_selection(void *ctx, int selection)
{
    (void)ctx;
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

static int enc_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj_raw,
                      const OSSL_PARAM obj_abstract[], int selection,
                      OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct hkprov_ctx *prov = ctx;
    const struct hkprov_key *key = obj_raw;
    BIO *out;
    char *uri;
    int ok = 0;

    (void)obj_abstract;
    (void)cb;
    (void)cbarg;
    hkprov_errors_enter(prov->errors);
    if (key == NULL || key->obj == NULL
        || !(selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        return 0;
    if ((uri = hsmkey_object_uri(key->obj)) == NULL)
        return 0;
    out = BIO_new_from_core_bio(prov->libctx, cout);
    ok = out != NULL && hsmkey_keyref_write_bio(out, uri);
    BIO_free(out);
    OPENSSL_free(uri);
    return ok;
}

const OSSL_DISPATCH hkprov_keyref_encoder_functions[] = {
    { OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))enc_newctx },
    { OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))enc_freectx },
    { OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))enc_does_selection },
    { OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))enc_encode },
    { 0, NULL }
};
