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
 *
 * A key-reference file is data that anyone who can write the file (or the
 * directory it is in) chose: a pin-value or pin-source in its URI is not
 * used unless the configuration says keyref-pin = allow.  The PIN comes
 * from HSMKEY_PIN_SOURCE or the configuration, else the application's
 * passphrase callback.  The hsmkey CLI, which decodes URIs of its own
 * command line this way, says so with HSMKEY_PARAM_URI_DIRECT and hands
 * its own prompt over with HSMKEY_PARAM_PIN_PROMPT (hsmkey/prompt.h).
 */
#include <errno.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "prov.h"
#include "hsmkey/debug.h"
#include "hsmkey/keyref.h"

#define KEYREF_STRUCTURE "pkcs11-uri"

static OSSL_FUNC_decoder_newctx_fn dec_newctx;
static OSSL_FUNC_decoder_freectx_fn dec_freectx;
static OSSL_FUNC_decoder_settable_ctx_params_fn dec_settable_ctx_params;
static OSSL_FUNC_decoder_set_ctx_params_fn dec_set_ctx_params;
static OSSL_FUNC_decoder_decode_fn pem_dec_decode;
static OSSL_FUNC_decoder_decode_fn rsa_dec_decode;
static OSSL_FUNC_decoder_decode_fn rsapss_dec_decode;
static OSSL_FUNC_decoder_decode_fn ec_dec_decode;
static OSSL_FUNC_decoder_decode_fn ed25519_dec_decode;
static OSSL_FUNC_decoder_decode_fn ed448_dec_decode;
static OSSL_FUNC_decoder_export_object_fn dec_export_object;

struct dec_ctx {
    struct hkprov_ctx *prov;
    int direct;                     /* HSMKEY_PARAM_URI_DIRECT */
    struct hsmkey_prompt_param cli; /* HSMKEY_PARAM_PIN_PROMPT; fill NULL */
};

static void *dec_newctx(void *provctx)
{
    struct dec_ctx *d = OPENSSL_zalloc(sizeof(*d));

    if (d != NULL)
        d->prov = provctx;
    return d;
}

static void dec_freectx(void *ctx)
{
    OPENSSL_free(ctx);
}

static const OSSL_PARAM *dec_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM table[] = {
        OSSL_PARAM_octet_string(HSMKEY_PARAM_PIN_PROMPT, NULL, 0),
        OSSL_PARAM_int(HSMKEY_PARAM_URI_DIRECT, NULL),
        OSSL_PARAM_END
    };

    (void)provctx;
    return table;
}

static int dec_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
    struct dec_ctx *d = ctx;
    const OSSL_PARAM *p;

    p = OSSL_PARAM_locate_const(params, HSMKEY_PARAM_PIN_PROMPT);
    if (p != NULL) {
        if (p->data_type != OSSL_PARAM_OCTET_STRING
            || p->data_size != sizeof(d->cli))
            return 0;
        memcpy(&d->cli, p->data, sizeof(d->cli));
    }
    p = OSSL_PARAM_locate_const(params, HSMKEY_PARAM_URI_DIRECT);
    return p == NULL || OSSL_PARAM_get_int(p, &d->direct);
}

/* The application's prompt: the hsmkey CLI's when it gave one. */
static struct hkprov_prompt prompt_of(const struct dec_ctx *d,
                                      OSSL_PASSPHRASE_CALLBACK *pw_cb,
                                      void *pw_cbarg)
{
    struct hkprov_prompt p = { pw_cb, pw_cbarg,
                               d->cli.fill != NULL ? &d->cli : NULL };

    return p;
}

/*
 * The URI of a key reference, its pin-value and pin-source dropped (see
 * the top of the file); *dropped says that happened.
 */
static P11KitUri *keyref_uri(const struct dec_ctx *d, const char *text,
                             int *dropped)
{
    P11KitUri *uri = hsmkey_uri_parse(text);

    *dropped = 0;
    if (uri == NULL || d->direct || d->prov->keyref_pin_allow)
        return uri;
    if (p11_kit_uri_get_pin_value(uri) != NULL
        || p11_kit_uri_get_pin_source(uri) != NULL) {
        p11_kit_uri_set_pin_value(uri, NULL);
        p11_kit_uri_set_pin_source(uri, NULL);
        *dropped = 1;
    }
    return uri;
}

/* What a key reference names: the public key when its type= says so, else
 * (the usual case, with or without type=private) the private key. */
static CK_OBJECT_CLASS uri_class(P11KitUri *uri)
{
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, CKA_CLASS);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;

    if (a != NULL && a->ulValueLen == sizeof(cls))
        memcpy(&cls, a->pValue, sizeof(cls));
    return cls == CKO_PUBLIC_KEY ? cls : CKO_PRIVATE_KEY;
}

/* The one key a key reference names, and its class; NULL + raised.  A
 * private key may need the application's prompt; a public key never. */
static struct hsmkey_object *find_key(const struct dec_ctx *d,
                                      const char *text,
                                      const struct hkprov_prompt *prompt,
                                      CK_OBJECT_CLASS *cls)
{
    int dropped;
    P11KitUri *uri = keyref_uri(d, text, &dropped);
    struct hsmkey_object *obj = NULL;

    *cls = CKO_PRIVATE_KEY;
    /* Not the URI itself: a hand-made file may carry a pin-value. */
    hsmkey_debug("decoder", "%s", uri != NULL ? "a key-reference file: "
                 "looking for the key it names" : "not a key-reference "
                 "file: left to the other decoders");
    if (uri != NULL && !hkprov_config_check(d->prov)) {
        p11_kit_uri_free(uri);
        return NULL;
    }
    if (uri != NULL) {
        *cls = uri_class(uri);
        if (*cls != CKO_PRIVATE_KEY || hkprov_login(d->prov, uri, prompt))
            obj = hsmkey_core_find_one(d->prov->core, uri, *cls);
    }
    if (obj == NULL && dropped)
        hsmkey_raise(HSMKEY_R_LOGIN, "key-reference file: the pin-value or "
                     "pin-source in its URI was not used (a key-reference "
                     "file's PIN attributes are used only with %s = allow)",
                     HKPROV_CFG_KEYREF_PIN);
    p11_kit_uri_free(uri);
    return obj;
}

/* The whole input (bounded: a key reference is small). */
static BIO *slurp(const struct hkprov_ctx *prov, OSSL_CORE_BIO *cin)
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

/* A public key goes on as SubjectPublicKeyInfo DER: the default provider's
 * decoders make an ordinary software key of it. */
static int hand_public_der(struct hkprov_ctx *prov, struct hsmkey_object *obj,
                           OSSL_CALLBACK *cb, void *cbarg)
{
    EVP_PKEY *pub = hsmkey_object_public_key(obj, prov->libctx,
                                             HKPROV_SOFTWARE_PROPQ);
    unsigned char *der = NULL;
    int len = pub != NULL ? i2d_PUBKEY(pub, &der) : -1, ret = 0;
    OSSL_PARAM params[4];

    if (len > 0) {
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
                                                      der, (size_t)len);
        params[1] = OSSL_PARAM_construct_utf8_string(
            OSSL_OBJECT_PARAM_DATA_TYPE,
            (char *)EVP_PKEY_get0_type_name(pub), 0);
        params[2] = OSSL_PARAM_construct_utf8_string(
            OSSL_OBJECT_PARAM_DATA_STRUCTURE, "SubjectPublicKeyInfo", 0);
        params[3] = OSSL_PARAM_construct_end();
        ret = cb(params, cbarg);
    } else if (pub != NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "%s: cannot encode its public key",
                     hsmkey_object_desc(obj));
    }
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    return ret;
}

/*
 * A reference to a key that is not there (or a wrong PIN) is reported
 * here: OpenSSL's file store drops the errors of the later DER stage.  The
 * search is cached (core/cache.c), so the DER stage does not repeat it.
 */
static int hand_on(const struct dec_ctx *d, const char *text,
                   const struct hkprov_prompt *prompt, OSSL_CALLBACK *cb,
                   void *cbarg)
{
    CK_OBJECT_CLASS cls;
    struct hsmkey_object *obj = find_key(d, text, prompt, &cls);
    unsigned char *der = NULL;
    size_t derlen = 0;
    OSSL_PARAM params[3];
    int ret = 0;

    if (obj == NULL)
        return 0;
    if (cls == CKO_PUBLIC_KEY) {
        ret = hand_public_der(d->prov, obj, cb, cbarg);
    } else if (hsmkey_keyref_encode_der(text, &der, &derlen)) {
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA,
                                                      der, derlen);
        params[1] = OSSL_PARAM_construct_utf8_string(
            OSSL_OBJECT_PARAM_DATA_STRUCTURE, KEYREF_STRUCTURE, 0);
        params[2] = OSSL_PARAM_construct_end();
        ret = cb(params, cbarg);
    }
    OPENSSL_free(der);
    hsmkey_object_free(obj);
    return ret;
}

/*
 * Reads only up to the end of the key-reference block: the next object of
 * a file is where OSSL_STORE looks for it, and a failure here leaves the
 * file not at its end, which is what makes the file store report it
 * (`openssl storeutl` exits 1) instead of taking it for the end.
 */
static int pem_dec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
                          OSSL_CALLBACK *cb, void *cbarg,
                          OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    struct dec_ctx *d = vctx;
    struct hkprov_prompt prompt = prompt_of(d, pw_cb, pw_cbarg);
    BIO *in = BIO_new_from_core_bio(d->prov->libctx, cin);
    char *text;
    int seen = 0, ret, saved = errno;

    (void)selection;
    hkprov_errors_enter(d->prov->errors);
    if (in == NULL)
        return 0;
    hsmkey_err_set_mark();
    text = hsmkey_keyref_read_block(in, "key-reference file", &seen);
    BIO_free(in);
    /* Not a key-reference file is not an error: other decoders go on.  A
     * file with our PEM label that we cannot read is one, and is said. */
    if (text == NULL) {
        if (!seen) {
            hsmkey_err_pop_to_mark();
            return 1;
        }
        hsmkey_err_clear_last_mark();
        return 0;
    }
    hsmkey_err_pop_to_mark();
    ret = hand_on(d, text, &prompt, cb, cbarg);
    OPENSSL_free(text);
    errno = saved; /* see decode_keeping_errno */
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
static char *read_der_reference(const struct hkprov_ctx *prov,
                                OSSL_CORE_BIO *cin, int *fatal)
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
static int decode_key(const struct dec_ctx *d, const char *type,
                      OSSL_CORE_BIO *cin, OSSL_CALLBACK *cb, void *cbarg,
                      const struct hkprov_prompt *prompt)
{
    int fatal;
    char *text;
    CK_OBJECT_CLASS cls;
    struct hsmkey_object *obj = NULL;
    struct hkprov_key *key = NULL;
    int ret = 1;

    hkprov_errors_enter(d->prov->errors);
    text = read_der_reference(d->prov, cin, &fatal);
    if (text == NULL)
        return !fatal;
    if ((obj = find_key(d, text, prompt, &cls)) == NULL) {
        ret = 0;
    } else if ((key = cls == CKO_PUBLIC_KEY
                          ? hkprov_key_new_public(d->prov, obj)
                          : hkprov_key_new(d->prov, obj)) == NULL) {
        ret = 0;
    } else if (EVP_PKEY_is_a(key->pub, type)) {
        hsmkey_debug("decoder", "handing over %s (%s)",
                     hsmkey_object_desc(obj), type);
        ret = hand_key(key, type, cb, cbarg);
    }
    hkprov_key_free(key);
    hsmkey_object_free(obj);
    OPENSSL_free(text);
    return ret;
}

/*
 * errno is restored: PKCS#11 modules leave stray values (a config file they
 * looked for), and some callers (Python's ssl) report errno before the
 * error queue, which would turn "no such key" into "No such file".
 */
static int decode_keeping_errno(const struct dec_ctx *d, const char *type,
                                OSSL_CORE_BIO *cin, OSSL_CALLBACK *cb,
                                void *cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
                                void *pw_cbarg)
{
    struct hkprov_prompt prompt = prompt_of(d, pw_cb, pw_cbarg);
    int saved = errno, ret = decode_key(d, type, cin, cb, cbarg, &prompt);

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
        return decode_keeping_errno(ctx, name, cin, cb, cbarg, pw_cb,         \
                                    pw_cbarg);                                \
    }

KEY_DECODER(rsa, "RSA")
KEY_DECODER(rsapss, "RSA-PSS")
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

#define DEC_CTX_FUNCTIONS                                                     \
    { OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx },                 \
    { OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx },               \
    { OSSL_FUNC_DECODER_SETTABLE_CTX_PARAMS,                                  \
      (void (*)(void))dec_settable_ctx_params },                              \
    { OSSL_FUNC_DECODER_SET_CTX_PARAMS, (void (*)(void))dec_set_ctx_params }

const OSSL_DISPATCH hkprov_pem_decoder_functions[] = {
    DEC_CTX_FUNCTIONS,
    { OSSL_FUNC_DECODER_DECODE, (void (*)(void))pem_dec_decode },
    { 0, NULL }
};

#define KEY_DECODER_FUNCTIONS(alg)                                            \
    const OSSL_DISPATCH hkprov_##alg##_decoder_functions[] = {                \
        DEC_CTX_FUNCTIONS,                                                    \
        { OSSL_FUNC_DECODER_DECODE, (void (*)(void))alg##_dec_decode },       \
        { OSSL_FUNC_DECODER_EXPORT_OBJECT,                                    \
          (void (*)(void))dec_export_object },                                \
        { 0, NULL }                                                           \
    }

KEY_DECODER_FUNCTIONS(rsa);
KEY_DECODER_FUNCTIONS(rsapss);
KEY_DECODER_FUNCTIONS(ec);
KEY_DECODER_FUNCTIONS(ed25519);
KEY_DECODER_FUNCTIONS(ed448);
