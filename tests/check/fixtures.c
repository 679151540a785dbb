/* SPDX-License-Identifier: Apache-2.0 */
/* fixtures.c - see fixtures.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "fixtures.h"

static void fx_die(const char *what)
{
    fprintf(stderr, "fixture: %s failed\n", what);
    abort();
}

EVP_PKEY *fx_key(const char *spec)
{
    EVP_PKEY *key = NULL;

    if (strncmp(spec, "EC:", 3) == 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", spec + 3);
    else if (strncmp(spec, "RSA:", 4) == 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(spec + 4));
    else
        key = EVP_PKEY_Q_keygen(NULL, NULL, spec);
    if (key == NULL)
        fx_die(spec);
    return key;
}

static void add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext;

    if (value == NULL)
        return;
    ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL || !X509_add_ext(cert, ext, -1))
        fx_die(value);
    X509_EXTENSION_free(ext);
}

static void add_exts(X509 *cert, X509 *issuer, const struct fx_cert_opts *o)
{
    X509V3_CTX ctx;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    /* Key identifiers, as real CAs set them: chains are built by them. */
    add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
    add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    if (o->ca) {
        add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    add_ext(cert, &ctx, NID_key_usage, o->ku);
    add_ext(cert, &ctx, NID_ext_key_usage, o->eku);
    add_ext(cert, &ctx, NID_subject_alt_name, o->san);
}

X509 *fx_cert(const struct fx_cert_opts *o, time_t now, EVP_PKEY *key,
              X509 *issuer, EVP_PKEY *issuer_key)
{
    static long serial = 1;
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    int md_nid = EVP_PKEY_is_a(issuer_key, "ED25519") ? NID_undef
                                                       : NID_sha256;

    if (cert == NULL || name == NULL || !X509_set_version(cert, X509_VERSION_3)
        || !ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++)
        || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       (const unsigned char *)o->subject, -1,
                                       -1, 0)
        || !X509_set_subject_name(cert, name)
        || !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer)
                                              : name)
        || !X509_time_adj_ex(X509_getm_notBefore(cert), 0, o->not_before, &now)
        || !X509_time_adj_ex(X509_getm_notAfter(cert), 0, o->not_after, &now)
        || !X509_set_pubkey(cert, key))
        fx_die(o->subject);
    add_exts(cert, issuer ? issuer : cert, o);
    if (!X509_sign(cert, issuer_key,
                   md_nid == NID_undef ? NULL : EVP_get_digestbynid(md_nid)))
        fx_die("X509_sign");
    X509_NAME_free(name);
    return cert;
}

STACK_OF(X509) *fx_stack(X509 *first, ...)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    va_list ap;
    X509 *c;

    va_start(ap, first);
    for (c = first; c != NULL; c = va_arg(ap, X509 *))
        if (!X509_up_ref(c) || !sk_X509_push(sk, c))
            fx_die("sk_X509_push");
    va_end(ap);
    return sk;
}

void fx_stack_free(STACK_OF(X509) *sk)
{
    sk_X509_pop_free(sk, X509_free);
}

void fx_write(const char *path, int der, X509 *first, ...)
{
    BIO *out = BIO_new_file(path, "wb");
    va_list ap;
    X509 *c;
    int ok = out != NULL;

    va_start(ap, first);
    for (c = first; ok && c != NULL; c = va_arg(ap, X509 *))
        ok = der ? i2d_X509_bio(out, c) : PEM_write_bio_X509(out, c);
    va_end(ap);
    if (!ok)
        fx_die(path);
    BIO_free(out);
}
