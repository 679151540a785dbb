/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decoder.c - key-reference files: a PEM "PKCS#11 PROVIDER URI" block
 * becomes the token key it names, so PEM_read_bio_PrivateKey(),
 * SSL_CTX_use_PrivateKey_file(), the openssl CLI's -key FILE and every
 * program that only knows "the path to privateKey.pem" get the token key.
 *
 * Two stages, as OpenSSL chains decoders:
 *  - PEM -> DER: finds the key-reference block (other blocks, such as the
 *    certificate chain of a combined file, are skipped) and hands on its
 *    DER body.  OpenSSL's file store only chains decoders that end in DER,
 *    so this stage is what makes `openssl ... -key ref.pem` work.
 *  - DER -> key, one decoder per key type (OpenSSL asks each decoder for
 *    the types it produces): finds the one private key the URI names and,
 *    when it is of this decoder's type, hands it over by reference to this
 *    provider's keymgmt.
 */
#include <errno.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/bio.h>

#include "prov.h"
#include "hsmkey/debug.h"
#include "hsmkey/keyref.h"

#define KEYREF_STRUCTURE "pkcs11-uri"

static OSSL_FUNC_decoder_newctx_fn dec_newctx;
static OSSL_FUNC_decoder_freectx_fn dec_freectx;
static OSSL_FUNC_decoder_decode_fn pem_dec_decode;
static OSSL_FUNC_decoder_decode_fn rsa_dec_decode;
static OSSL_FUNC_decoder_decode_fn ec_dec_decode;
static OSSL_FUNC_decoder_decode_fn ed25519_dec_decode;
static OSSL_FUNC_decoder_decode_fn ed448_dec_decode;
static OSSL_FUNC_decoder_export_object_fn dec_export_object;

static void *dec_newctx(void *provctx)
{
    return provctx; /* stateless: the provider context is all it needs */
}

static void dec_freectx(void *ctx)
{
    (void)ctx;
}

/* The whole input (bounded: a key reference is small). */
static BIO *slurp(struct hkprov_ctx *prov, OSSL_CORE_BIO *cin)
{
    BIO *in = BIO_new_from_core_bio(prov->libctx, cin);
    BIO *all = BIO_new(BIO_s_mem());
    unsigned char buf[1024];
    int len, total = 0;

    while (in != NULL && all != NULL && total < 1024 * 1024
           && (len = BIO_read(in, buf, sizeof(buf))) > 0) {
        if (BIO_write(all, buf, len) != len)
            break;
        total += len;
    }
    BIO_free(in);
    if (total == 0) {
        BIO_free(all);
        return NULL;
    }
    return all;
}

/*
 * A reference to a key that is not there (or a wrong PIN) must be reported
 * here: OpenSSL's file store drops the errors of the later DER stage.  The
 * search is cached (core/cache.c), so the DER stage does not repeat it.
 */
static int key_reachable(struct hkprov_ctx *prov, const char *text)
{
    P11KitUri *uri = hsmkey_uri_parse(text);
    struct hsmkey_object *obj = NULL;
    int saved = errno;

    if (uri != NULL)
        obj = hsmkey_core_find_one(prov->core, uri, CKO_PRIVATE_KEY);
    errno = saved;
    hsmkey_object_free(obj);
    p11_kit_uri_free(uri);
    return obj != NULL;
}

static int is_keyref_pem(BIO *mem)
{
    static const char begin[] = "-----BEGIN " HSMKEY_KEYREF_PEM_LABEL "-----";
    char *data;
    long len = BIO_get_mem_data(mem, &data);

    return len > 0 && memmem(data, len, begin, sizeof(begin) - 1) != NULL;
}

static int pem_dec_decode(void *ctx, OSSL_CORE_BIO *cin, int selection,
                          OSSL_CALLBACK *cb, void *cbarg,
                          OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    BIO *all = slurp(ctx, cin);
    unsigned char *der = NULL;
    size_t derlen = 0;
    char *uri;
    OSSL_PARAM params[3];
    int ret = 1, ours;

    (void)selection;
    (void)pw_cb;
    (void)pw_cbarg;
    if (all == NULL)
        return 1;
    /* Not a key-reference file is not an error: other decoders go on.  A
     * file with our PEM label that we cannot read is one, and is said. */
    ours = is_keyref_pem(all);
    hsmkey_err_set_mark();
    uri = hsmkey_keyref_read_bio(all, "key-reference file");
    if (uri == NULL && ours) {
        hsmkey_err_clear_last_mark();
        BIO_free(all);
        return 0;
    }
    hsmkey_err_pop_to_mark();
    /* Not the URI itself: a hand-made file may carry a pin-value. */
    hsmkey_debug("decoder", "%s", uri != NULL ? "a key-reference file: "
                 "looking for the key it names" : "not a key-reference "
                 "file: left to the other decoders");
    if (uri != NULL && !key_reachable(ctx, uri))
        ret = 0;
    else if (uri != NULL && hsmkey_keyref_encode_der(uri, &der, &derlen)) {
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
                                                      der, derlen);
        params[1] = OSSL_PARAM_construct_utf8_string(
            OSSL_OBJECT_PARAM_DATA_STRUCTURE, KEYREF_STRUCTURE, 0);
        params[2] = OSSL_PARAM_construct_end();
        ret = cb(params, cbarg);
    }
    OPENSSL_free(der);
    OPENSSL_free(uri);
    BIO_free(all);
    return ret;
}

/*
 * A SEQUENCE whose first element is a VisibleString: only a key reference
 * starts so (no key or certificate format does), so a failure to read it
 * is worth saying rather than passing over.
 */
static int looks_like_keyref(const unsigned char *d, long len)
{
    long at = 2;

    if (len < 4 || d[0] != 0x30)
        return 0;
    if (d[1] & 0x80)
        at += d[1] & 0x7f;
    return at < len && d[at] == 0x1a;
}

/*
 * The URI of a DER key reference; NULL with *fatal 0 when the input is
 * something else, NULL with *fatal 1 (and the error raised) when it is a
 * broken key reference.
 */
static char *read_der_reference(struct hkprov_ctx *prov, OSSL_CORE_BIO *cin,
                                int *fatal)
{
    BIO *all = slurp(prov, cin);
    const unsigned char *data;
    long len;
    char *uri;

    *fatal = 0;
    if (all == NULL)
        return NULL;
    hsmkey_err_set_mark();
    len = BIO_get_mem_data(all, (char **)&data);
    uri = len > 0 ? hsmkey_keyref_decode_der(data, (size_t)len) : NULL;
    if (uri == NULL && looks_like_keyref(data, len)) {
        *fatal = 1;
        hsmkey_err_clear_last_mark();
    } else {
        hsmkey_err_pop_to_mark();
    }
    BIO_free(all);
    return uri;
}

static int hand_key(struct hkprov_key *key, const char *type,
                    OSSL_CALLBACK *cb, void *cbarg)
{
    int objtype = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4];

    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)type, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE,
                                                  &key, sizeof(key));
    params[3] = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

/*
 * 1 lets decoding go on (not a key reference, or a key of another type);
 * after the handover, the callback's verdict; 0 after an error that names
 * the URI (no such key, several keys, wrong PIN, ...).
 */
static int decode_key(struct hkprov_ctx *prov, const char *type,
                      OSSL_CORE_BIO *cin, OSSL_CALLBACK *cb, void *cbarg)
{
    int fatal;
    char *text = read_der_reference(prov, cin, &fatal);
    P11KitUri *uri = NULL;
    struct hsmkey_object *obj = NULL;
    struct hkprov_key *key = NULL;
    int ret = 1;

    if (text == NULL)
        return !fatal;
    if ((uri = hsmkey_uri_parse(text)) == NULL
        || (obj = hsmkey_core_find_one(prov->core, uri, CKO_PRIVATE_KEY))
               == NULL) {
        ret = 0;
    } else if ((key = hkprov_key_new(prov, obj)) == NULL) {
        ret = 0;
    } else if (EVP_PKEY_is_a(key->pub, type)) {
        hsmkey_debug("decoder", "handing over %s (%s)",
                     hsmkey_object_desc(obj), type);
        ret = hand_key(key, type, cb, cbarg);
    }
    hkprov_key_free(key);
    hsmkey_object_free(obj);
    p11_kit_uri_free(uri);
    OPENSSL_free(text);
    return ret;
}

/*
 * errno is restored: PKCS#11 modules leave stray values (a config file they
 * looked for), and some callers (Python's ssl) report errno before the
 * error queue, which would turn "no such key" into "No such file".
 */
static int decode_keeping_errno(struct hkprov_ctx *prov, const char *type,
                                OSSL_CORE_BIO *cin, OSSL_CALLBACK *cb,
                                void *cbarg)
{
    int saved = errno, ret = decode_key(prov, type, cin, cb, cbarg);

    errno = saved;
    return ret;
}

#define KEY_DECODER(alg, name)                                                \
    static int alg##_dec_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, \
                                OSSL_CALLBACK *cb, void *cbarg,               \
                                OSSL_PASSPHRASE_CALLBACK *pw_cb,              \
                                void *pw_cbarg)                               \
    {                                                                         \
        (void)selection;                                                      \
        (void)pw_cb;                                                          \
        (void)pw_cbarg;                                                       \
        return decode_keeping_errno(ctx, name, cin, cb, cbarg);               \
    }

KEY_DECODER(rsa, "RSA")
KEY_DECODER(ec, "EC")
KEY_DECODER(ed25519, "ED25519")
KEY_DECODER(ed448, "ED448")

/*
 * Asked when OpenSSL would move our reference into another provider's
 * keymgmt.  A token key has no private half to give: refuse, so OpenSSL
 * uses this provider's keymgmt instead.
 */
static int dec_export_object(void *ctx, const void *objref, size_t objref_sz,
                             OSSL_CALLBACK *export_cb, void *export_cbarg)
{
    (void)ctx;
    (void)objref;
    (void)objref_sz;
    (void)export_cb;
    (void)export_cbarg;
    return 0;
}

const OSSL_DISPATCH hkprov_pem_decoder_functions[] = {
    { OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx },
    { OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx },
    { OSSL_FUNC_DECODER_DECODE, (void (*)(void))pem_dec_decode },
    { 0, NULL }
};

#define KEY_DECODER_FUNCTIONS(alg)                                            \
    const OSSL_DISPATCH hkprov_##alg##_decoder_functions[] = {                \
        { OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx },             \
        { OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx },           \
        { OSSL_FUNC_DECODER_DECODE, (void (*)(void))alg##_dec_decode },       \
        { OSSL_FUNC_DECODER_EXPORT_OBJECT,                                    \
          (void (*)(void))dec_export_object },                                \
        { 0, NULL }                                                           \
    }

KEY_DECODER_FUNCTIONS(rsa);
KEY_DECODER_FUNCTIONS(ec);
KEY_DECODER_FUNCTIONS(ed25519);
KEY_DECODER_FUNCTIONS(ed448);
