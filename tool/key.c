/* SPDX-License-Identifier: Apache-2.0 */
/*
 * key.c - the key a --key argument names (a pkcs11: URI or a key-reference
 * file), found through the core or loaded through the hsmkey provider.
 *
 * The provider's key is decoded from the DER of a key reference by
 * hsmkey.so's own decoder: never through OSSL_STORE with the text, whose
 * "file" scheme is tried first, so a file named like the URI (planted in a
 * shared directory) would be loaded instead of the token key and the URI,
 * with any PIN in it, stat()ed.  A key from any other provider is refused.
 * A PIN typed at the prompt goes to the provider through
 * HSMKEY_PARAM_PIN_PROMPT, from protected PIN memory to protected PIN
 * memory: never in a URI, never through OpenSSL's passphrase wrapper.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsmkey/ckr.h"
#include "hsmkey/keyref.h"
#include "hsmkey/prompt.h"
#include "tool.h"
#include "x509util.h"

#define CHALLENGE_LEN 32

/*
 * A URI from the command line or a file: well-formed and without a PIN.
 * A key-reference file is data, so its pin-source is refused as well.
 */
static int uri_check(const char *uri, const char *where, int from_file)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    int ok = p != NULL;

    if (p != NULL && p11_kit_uri_get_pin_value(p) != NULL) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "%s: the URI carries a pin-value; a "
                     "PIN is never taken from the command line or a file "
                     "given there: use --pin-source", where);
        ok = 0;
    } else if (p != NULL && from_file
               && p11_kit_uri_get_pin_source(p) != NULL) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "%s: the key-reference file's URI "
                     "carries a pin-source; a key-reference file names a "
                     "key, not where its PIN is: use --pin-source", where);
        ok = 0;
    } else if (p == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "%s: not a usable pkcs11: URI", where);
    }
    p11_kit_uri_free(p);
    return ok;
}

static int is_uri(const char *arg)
{
    return strncasecmp(arg, "pkcs11:", 7) == 0;
}

char *tool_key_uri(const char *arg)
{
    BIO *in;
    char *uri;

    if (is_uri(arg))
        return uri_check(arg, "--key", 0) ? OPENSSL_strdup(arg) : NULL;
    if ((in = BIO_new_file(arg, "r")) == NULL) {
        hsmkey_raise(HSMKEY_R_FILE, "--key %s: %s (expected a pkcs11: URI "
                     "or a key-reference file)", arg, strerror(errno));
        return NULL;
    }
    uri = hsmkey_keyref_read_bio(in, arg);
    BIO_free(in);
    if (uri == NULL)
        tool_key_file_hint(arg);
    if (uri != NULL && !uri_check(uri, arg, 1)) {
        OPENSSL_free(uri);
        uri = NULL;
    }
    return uri;
}

struct hsmkey_object *tool_find_one(struct tool_ctx *ctx, const char *uri,
                                    CK_OBJECT_CLASS cls)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    struct hsmkey_object **objs = NULL, *one = NULL;
    size_t n = 0;

    if (p == NULL || !hsmkey_core_find(ctx->core, p, cls, &objs, &n))
        goto done;
    if (n == 1)
        one = hsmkey_object_ref(objs[0]);
    else if (n == 0)
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "no %s matches %s",
                     hsmkey_class_word(cls), uri);
    else
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "%zu %ss match %s (%s, %s%s): add "
                     "object= or id= to the URI", n, hsmkey_class_word(cls), uri,
                     hsmkey_object_desc(objs[0]), hsmkey_object_desc(objs[1]),
                     n > 2 ? ", ..." : "");
done:
    hsmkey_objects_free(objs, n);
    p11_kit_uri_free(p);
    return one;
}

/* Only a key that hsmkey.so holds is a token key. */
static int from_hsmkey(EVP_PKEY *key, const char *shown)
{
    const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(key);
    const char *name = prov != NULL ? OSSL_PROVIDER_get0_name(prov) : NULL;

    if (name != NULL && strcmp(name, "hsmkey") == 0)
        return 1;
    hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "%s: the key loaded is not a token "
                 "key of the hsmkey provider (it comes from %s): refused",
                 shown, name != NULL ? name : "no provider");
    return 0;
}

/* The decoder's settings: the prompt when there is a terminal, and
 * whether the URI is the command line's own (its pin-source then counts). */
static int decoder_params(struct tool_ctx *ctx, OSSL_DECODER_CTX *dctx,
                          int direct)
{
    struct hsmkey_prompt_param prompt = { tool_pin_fill, ctx };
    OSSL_PARAM params[3], *p = params;

    if (ctx->interactive)
        *p++ = OSSL_PARAM_construct_octet_string(HSMKEY_PARAM_PIN_PROMPT,
                                                 &prompt, sizeof(prompt));
    *p++ = OSSL_PARAM_construct_int(HSMKEY_PARAM_URI_DIRECT, &direct);
    *p = OSSL_PARAM_construct_end();
    return OSSL_DECODER_CTX_set_params(dctx, params);
}

/*
 * The key reference goes in as PEM, as a file's would: its PEM stage finds
 * the key and logs in (the provider's decoder.c), and the errors it raises
 * (a refused PIN) reach the caller; the DER stage's would be dropped by
 * OpenSSL's decoder chain, leaving only "no key".
 */
static EVP_PKEY *decode(struct tool_ctx *ctx, const char *uri, int direct)
{
    BIO *pem = BIO_new(BIO_s_mem());
    OSSL_DECODER_CTX *dctx = NULL;
    EVP_PKEY *key = NULL;
    int ok;

    if (pem == NULL || !hsmkey_keyref_write_bio(pem, uri)) {
        BIO_free(pem);
        return NULL;
    }
    dctx = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", NULL, NULL, 0,
                                         ctx->libctx, "provider=hsmkey");
    ok = dctx != NULL && OSSL_DECODER_CTX_get_num_decoders(dctx) > 0
         && decoder_params(ctx, dctx, direct);
    if (!ok)
        hsmkey_raise(HSMKEY_R_MODULE, "the hsmkey provider %s has no "
                     "key-reference decoder", tool_provider_path());
    else
        ok = OSSL_DECODER_from_bio(dctx, pem);
    OSSL_DECODER_CTX_free(dctx);
    BIO_free(pem);
    if (!ok) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    /* After the provider said why (a refused PIN, say), "no private key"
     * would only mislead. */
    if (key == NULL && !tool_errors_ours_queued())
        hsmkey_raise(HSMKEY_R_KEY_NOT_FOUND, "no private key at %s", uri);
    return key;
}

EVP_PKEY *tool_load_key(struct tool_ctx *ctx, const char *arg)
{
    char *uri = tool_key_uri(arg);
    EVP_PKEY *key = NULL;

    if (uri == NULL)
        return NULL;
    key = decode(ctx, uri, is_uri(arg));
    if (key != NULL && !from_hsmkey(key, uri)) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    OPENSSL_free(uri);
    return key;
}

EVP_PKEY *tool_key_public(const EVP_PKEY *key)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(key, &der);
    EVP_PKEY *pub = NULL;

    p = der;
    if (len > 0)
        pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "?provider=default");
    OPENSSL_free(der);
    if (pub == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot read the token key's public "
                     "half");
    return pub;
}

/* Ed25519/Ed448 hash internally: no separate digest. */
static const char *proof_digest(const EVP_PKEY *key)
{
    return EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")
               ? NULL : "SHA256";
}

static int sign_challenge(struct tool_ctx *ctx, EVP_PKEY *key,
                          const unsigned char *msg, unsigned char **sig,
                          size_t *siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL
             && EVP_DigestSignInit_ex(md, NULL, proof_digest(key), ctx->libctx,
                                      NULL, key, NULL) == 1
             && EVP_DigestSign(md, NULL, siglen, msg, CHALLENGE_LEN) == 1
             && (*sig = OPENSSL_malloc(*siglen)) != NULL
             && EVP_DigestSign(md, *sig, siglen, msg, CHALLENGE_LEN) == 1;

    EVP_MD_CTX_free(md);
    return ok;
}

int tool_prove_key(struct tool_ctx *ctx, EVP_PKEY *key, EVP_PKEY *pub,
                   const char *shown)
{
    unsigned char msg[CHALLENGE_LEN], *sig = NULL;
    size_t siglen = 0;
    EVP_MD_CTX *md = NULL;
    int ok;

    if (RAND_bytes(msg, sizeof(msg)) != 1
        || !sign_challenge(ctx, key, msg, &sig, &siglen)) {
        hsmkey_raise(HSMKEY_R_PKCS11, "the token key %s did not sign a "
                     "challenge", shown);
        OPENSSL_free(sig);
        return 0;
    }
    md = EVP_MD_CTX_new();
    ok = md != NULL
         && EVP_DigestVerifyInit_ex(md, NULL, proof_digest(pub), NULL,
                                    "?provider=default", pub, NULL) == 1
         && EVP_DigestVerify(md, sig, siglen, msg, CHALLENGE_LEN) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(sig);
    if (!ok)
        hsmkey_raise(HSMKEY_R_PKCS11, "the token key %s signed a challenge "
                     "that its public key does not verify: not certified",
                     shown);
    return ok;
}

/*
 * A key-reference file is created 0640 (less under a stricter umask), and
 * one it replaces keeps its owner and group but no write bit for group or
 * others (outfile.c): the service reads it through its group, and only the
 * owner (who provisions) can replace it.  A service that may write its own
 * key file can silently replace the token key with a software key.
 */
int tool_write_keyref(const char *path, const char *uri)
{
    struct tool_out *out = tool_out_open(path, 0640);

    return out != NULL
           && tool_out_close(out, hsmkey_keyref_write_bio(tool_out_bio(out),
                                                          uri));
}
