/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyhint.c - what to tell someone who gave an on-disk private key or a
 * certificate where a token key was wanted (--key): the two files people
 * mix up with a key reference, and the command that gets them further.
 */
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tool.h"

#define HINT_MAX_FILE (256 * 1024)

enum file_kind { KIND_OTHER, KIND_PRIVATE_KEY, KIND_CERTIFICATE };

/* PEM labels, in the order a combined file would show them. */
static const struct {
    const char *label;
    enum file_kind kind;
} pem_kinds[] = {
    { "PRIVATE KEY", KIND_PRIVATE_KEY },
    { "ENCRYPTED PRIVATE KEY", KIND_PRIVATE_KEY },
    { "RSA PRIVATE KEY", KIND_PRIVATE_KEY },
    { "EC PRIVATE KEY", KIND_PRIVATE_KEY },
    { "CERTIFICATE", KIND_CERTIFICATE },
    { "TRUSTED CERTIFICATE", KIND_CERTIFICATE },
};

static enum file_kind pem_kind(const char *label)
{
    for (size_t i = 0; i < sizeof(pem_kinds) / sizeof(pem_kinds[0]); i++)
        if (strcmp(label, pem_kinds[i].label) == 0)
            return pem_kinds[i].kind;
    return KIND_OTHER;
}

/* The first PEM block that is a key or a certificate, by its label. */
static enum file_kind pem_scan(const unsigned char *data, long len)
{
    BIO *in = BIO_new_mem_buf(data, (int)len);
    enum file_kind kind = KIND_OTHER;
    char *name = NULL, *header = NULL;
    unsigned char *body = NULL;
    long n;

    while (in != NULL && kind == KIND_OTHER
           && PEM_read_bio(in, &name, &header, &body, &n) == 1) {
        kind = pem_kind(name);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(body);
    }
    BIO_free(in);
    return kind;
}

/*
 * One DER object: a certificate, or a PKCS#8 private key (plain or
 * encrypted).  Plain ASN.1 decoding only: libcrypto's key decoders drop
 * the caller's error mark (OpenSSL 3.0), and the queued errors must
 * survive when the file turns out to be neither.
 */
static enum file_kind der_kind(const unsigned char *data, long len)
{
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, len);
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    X509_SIG *enc = NULL;
    enum file_kind kind = KIND_OTHER;

    if (x != NULL) {
        kind = KIND_CERTIFICATE;
    } else if (p = data, (p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len))
                             != NULL) {
        kind = KIND_PRIVATE_KEY;
    } else if (p = data, (enc = d2i_X509_SIG(NULL, &p, len)) != NULL) {
        kind = KIND_PRIVATE_KEY;
    }
    X509_free(x);
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key bytes it held */
    X509_SIG_free(enc);
    return kind;
}

static enum file_kind file_kind(const char *path)
{
    BIO *in = BIO_new_file(path, "rb"), *mem = BIO_new(BIO_s_mem());
    unsigned char buf[4096];
    enum file_kind kind = KIND_OTHER;
    char *data = NULL;
    long len = 0;
    int n;

    while (in != NULL && mem != NULL && len < HINT_MAX_FILE
           && (n = BIO_read(in, buf, sizeof(buf))) > 0)
        len += BIO_write(mem, buf, n);
    if (mem != NULL && (len = BIO_get_mem_data(mem, &data)) > 0) {
        kind = pem_scan((unsigned char *)data, len);
        if (kind == KIND_OTHER)
            kind = der_kind((unsigned char *)data, len);
    }
    OPENSSL_cleanse(buf, sizeof(buf)); /* it may have been a key */
    BIO_free(mem); /* BIO_s_mem clears its buffer when freed */
    BIO_free(in);
    return kind;
}

void tool_key_file_hint(const char *path)
{
    enum file_kind kind;

    hsmkey_err_set_mark();
    kind = file_kind(path);
    hsmkey_err_pop_to_mark(); /* what the probing raised is not news */
    if (kind == KIND_OTHER)
        return;
    ERR_clear_error(); /* "no PKCS#11 PROVIDER URI block": this says more */
    if (kind == KIND_PRIVATE_KEY)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "--key %s is a private key on disk, "
                     "not a token key: move it into the token with `hsmkey "
                     "import --token LABEL --label NAME --key %s --out "
                     "REF.pem`, then give that key-reference file (or the "
                     "URI import prints) as --key", path, path);
    else
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "--key %s is a certificate, not a "
                     "key: --key wants the token key, as a pkcs11: URI (see "
                     "hsmkey keys) or a key-reference file (hsmkey keyref); "
                     "the certificate goes to --cert", path);
}
