/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixtures.h - certificates for the check rules, made with libcrypto at
 * test time: no files in the tree to expire, and every date is relative to
 * one fixed "now" that the test hands to check_validity.
 */
#ifndef HSMKEY_TEST_CHECK_FIXTURES_H
#define HSMKEY_TEST_CHECK_FIXTURES_H

#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define FX_DAY 86400L

struct fx_cert_opts {
    const char *subject; /* the CN: "node1.example.com" */
    const char *san;     /* "DNS:a,IP:10.0.0.1"; NULL: no extension */
    const char *eku;     /* "serverAuth,clientAuth"; NULL: no extension */
    const char *ku;      /* "critical,digitalSignature"; NULL: none */
    int ca;              /* basicConstraints CA:TRUE + keyCertSign */
    long not_before;     /* seconds from now, e.g. -FX_DAY */
    long not_after;      /* seconds from now, e.g. 365 * FX_DAY */
};

/* keygen: "EC:P-256", "EC:P-384", "RSA:2048", "ED25519" */
EVP_PKEY *fx_key(const char *spec);

/*
 * A certificate for key, signed by issuer_key with issuer's name (issuer
 * NULL: self-signed).  Aborts the test program on failure: a fixture that
 * cannot be made is a broken test, not a result.
 */
X509 *fx_cert(const struct fx_cert_opts *o, time_t now, EVP_PKEY *key,
              X509 *issuer, EVP_PKEY *issuer_key);

/* A stack of the given certificates (each up-ref'd), NULL-terminated list. */
STACK_OF(X509) *fx_stack(X509 *first, ...);
void fx_stack_free(STACK_OF(X509) *sk);

/* Writes certificates as PEM (der != 0: the first one as DER) to path. */
void fx_write(const char *path, int der, X509 *first, ...);

#endif
