/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keyref.c - key-reference files (include/hsmkey/keyref.h), as the
 * provider's decoders and the CLI's --key read them: the input as DER, as
 * PEM, and as a URI to encode.
 *
 * Contracts checked on every input:
 *  - a refusal comes with a message;
 *  - input that decodes is its URI's DER up to the form of its lengths
 *    (definite BER lengths are taken): encode(decode(x)) is no longer than
 *    x, is x byte for byte when x used short-form lengths only, and decodes
 *    to the same URI;
 *  - a decoded URI starts with pkcs11: and holds no control character;
 *  - a URI read from PEM is written back (unless it carries a pin-value,
 *    which is refused) and reads back unchanged;
 *  - decode(encode(u)) == u for every u encode accepts;
 *  - what a decoder hands on is then parsed as the provider does.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "hsmkey/keyref.h"
#include "hsmkey/p11.h"
#include "fuzz.h"

static void assert_uri_shape(const char *uri, const char *how)
{
    FUZZ_ASSERT(strncasecmp(uri, "pkcs11:", 7) == 0,
                "%s gave a URI that is not pkcs11: '%s'", how, uri);
    for (const char *p = uri; *p != '\0'; p++)
        FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f,
                    "%s gave a URI with control character 0x%02x", how,
                    (unsigned char)*p);
}

/* What the provider does next with a key reference's URI. */
static void use_uri(const char *uri)
{
    P11KitUri *p = hsmkey_uri_parse(uri);

    if (p != NULL)
        hsmkey_uri_names_object(p);
    p11_kit_uri_free(p);
}

/* The three lengths of a decoded SEQUENCE { a, b } all in short form (the
 * caller knows data decoded, so the structure is there). */
static int short_form_only(const uint8_t *data, size_t size)
{
    size_t at = 2;

    if (size < 2 || data[1] >= 0x80)
        return 0;
    for (int i = 0; i < 2; i++) {
        if (at + 1 >= size || data[at + 1] >= 0x80)
            return 0;
        at += 2 + data[at + 1];
    }
    return 1;
}

static void fuzz_der(const uint8_t *data, size_t size)
{
    char *uri = hsmkey_keyref_decode_der(data, size), *again;
    unsigned char *der = NULL;
    size_t len = 0;

    if (uri == NULL) {
        FUZZ_ASSERT(fuzz_err_count() > 0, "%s", "DER refused silently");
        return;
    }
    assert_uri_shape(uri, "decode_der");
    FUZZ_ASSERT(hsmkey_keyref_encode_der(uri, &der, &len),
                "decoded '%s' cannot be encoded again: %s", uri,
                fuzz_err_last());
    FUZZ_ASSERT(len <= size, "'%s' decoded from %zu bytes encodes to %zu",
                uri, size, len);
    FUZZ_ASSERT(!short_form_only(data, size)
                    || (len == size && memcmp(der, data, size) == 0),
                "'%s' decoded from %zu bytes of DER encodes to %zu other "
                "bytes", uri, size, len);
    again = hsmkey_keyref_decode_der(der, len);
    FUZZ_ASSERT(again != NULL && strcmp(again, uri) == 0,
                "'%s' re-encoded decodes as '%s'", uri,
                again != NULL ? again : "(nothing)");
    OPENSSL_free(again);
    use_uri(uri);
    OPENSSL_free(der);
    OPENSSL_free(uri);
}

static void fuzz_pem(const uint8_t *data, size_t size)
{
    BIO *in = BIO_new_mem_buf(data, (int)size), *out = BIO_new(BIO_s_mem());
    char *uri, *back;

    FUZZ_ASSERT(in != NULL && out != NULL, "%s", "out of memory");
    uri = hsmkey_keyref_read_bio(in, "fuzz.pem");
    FUZZ_ASSERT(uri != NULL || fuzz_err_count() > 0, "%s",
                "PEM refused silently");
    if (uri != NULL) {
        assert_uri_shape(uri, "read_bio");
        if (hsmkey_keyref_write_bio(out, uri)) {
            back = hsmkey_keyref_read_bio(out, "again.pem");
            FUZZ_ASSERT(back != NULL && strcmp(back, uri) == 0,
                        "'%s' written reads back as '%s'", uri,
                        back != NULL ? back : "(nothing)");
            OPENSSL_free(back);
        } else {
            FUZZ_ASSERT(strstr(fuzz_err_last(), "pin-value") != NULL,
                        "'%s' read but not written: %s", uri,
                        fuzz_err_last());
        }
        use_uri(uri);
    }
    OPENSSL_free(uri);
    BIO_free(in);
    BIO_free(out);
}

static void fuzz_encode(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size), *back;
    unsigned char *der = NULL;
    size_t len = 0;

    if (hsmkey_keyref_encode_der(text, &der, &len)) {
        back = hsmkey_keyref_decode_der(der, len);
        FUZZ_ASSERT(back != NULL && strcmp(back, text) == 0,
                    "'%s' encoded decodes as '%s'", text,
                    back != NULL ? back : "(nothing)");
        OPENSSL_free(back);
        OPENSSL_free(der);
    } else {
        FUZZ_ASSERT(fuzz_err_count() > 0, "'%s' not encoded, silently",
                    text);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_err_reset();
    fuzz_der(data, size);
    fuzz_err_reset();
    fuzz_pem(data, size);
    fuzz_err_reset();
    fuzz_encode(data, size);
    ERR_clear_error();
    return 0;
}
