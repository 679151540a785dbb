/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_key.c - the items about the token key: key-match (same public key
 * as the certificate), key-proof (the token really holds its private half)
 * and key-protection (it cannot leave the token).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "check.h"

#define DESC_LEN 64
#define CHALLENGE_LEN 32
#define ANOTHER_KEY ": this certificate was issued for another key"

/* "P-256" for prime256v1, else the short name ("brainpoolP256r1"). */
static const char *curve_name(const EVP_PKEY *pkey, char *buf, size_t len)
{
    const char *nist;

    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                        buf, len, NULL))
        return "unknown curve";
    nist = EC_curve_nid2nist(OBJ_sn2nid(buf));
    if (nist != NULL)
        snprintf(buf, len, "%s", nist);
    return buf;
}

const char *check_key_describe(const EVP_PKEY *pkey, char *buf, size_t len)
{
    char curve[DESC_LEN];
    const char *type = EVP_PKEY_get0_type_name(pkey);

    if (EVP_PKEY_is_a(pkey, "EC"))
        snprintf(buf, len, "EC %s", curve_name(pkey, curve, sizeof(curve)));
    else if (EVP_PKEY_is_a(pkey, "ED25519"))
        snprintf(buf, len, "Ed25519");
    else if (EVP_PKEY_is_a(pkey, "ED448"))
        snprintf(buf, len, "Ed448");
    else
        snprintf(buf, len, "%s %d", type ? type : "?", EVP_PKEY_get_bits(pkey));
    return buf;
}

/* 0 when the BIGNUM parameter name is equal in both keys. */
static int bn_param_differs(const EVP_PKEY *a, const EVP_PKEY *b,
                            const char *name)
{
    BIGNUM *x = NULL, *y = NULL;
    int differs = 1;

    if (EVP_PKEY_get_bn_param(a, name, &x)
        && EVP_PKEY_get_bn_param(b, name, &y))
        differs = BN_cmp(x, y) != 0;
    BN_free(x);
    BN_free(y);
    return differs;
}

static void explain_rsa(const EVP_PKEY *cert, const EVP_PKEY *tok,
                        struct check_result *r)
{
    int cbits = EVP_PKEY_get_bits(cert), tbits = EVP_PKEY_get_bits(tok);

    if (cbits != tbits)
        check_set(r, CHECK_FAIL, "the certificate's modulus differs from the "
                  "token key's (RSA %d vs RSA %d)" ANOTHER_KEY, cbits, tbits);
    else if (bn_param_differs(cert, tok, OSSL_PKEY_PARAM_RSA_N))
        check_set(r, CHECK_FAIL, "the certificate's modulus differs from the "
                  "token key's" ANOTHER_KEY);
    else
        check_set(r, CHECK_FAIL, "the certificate's public exponent differs "
                  "from the token key's (same modulus)" ANOTHER_KEY);
}

static void explain_ec(const EVP_PKEY *cert, const EVP_PKEY *tok,
                       struct check_result *r)
{
    char c1[DESC_LEN], c2[DESC_LEN];

    curve_name(cert, c1, sizeof(c1));
    curve_name(tok, c2, sizeof(c2));
    if (strcmp(c1, c2) != 0)
        check_set(r, CHECK_FAIL, "the certificate's curve %s differs from the "
                  "token key's %s" ANOTHER_KEY, c1, c2);
    else
        check_set(r, CHECK_FAIL, "the certificate's EC point differs from the "
                  "token key's (both %s)" ANOTHER_KEY, c1);
}

/* Which part of the public key differs, in the terms of the key type. */
static void explain_difference(const EVP_PKEY *cert, const EVP_PKEY *tok,
                               struct check_result *r)
{
    char d1[DESC_LEN], d2[DESC_LEN];

    check_key_describe(cert, d1, sizeof(d1));
    check_key_describe(tok, d2, sizeof(d2));
    if (!EVP_PKEY_is_a(tok, EVP_PKEY_get0_type_name(cert)))
        check_set(r, CHECK_FAIL, "the certificate holds an %s key but the "
                  "token key is %s" ANOTHER_KEY, d1, d2);
    else if (EVP_PKEY_is_a(cert, "RSA"))
        explain_rsa(cert, tok, r);
    else if (EVP_PKEY_is_a(cert, "EC"))
        explain_ec(cert, tok, r);
    else
        check_set(r, CHECK_FAIL, "the certificate's %s key differs from the "
                  "token key's" ANOTHER_KEY, d1);
}

void check_key_match(const EVP_PKEY *token_pub, X509 *cert,
                     struct check_result *r)
{
    EVP_PKEY *cpub = X509_get0_pubkey(cert);
    char desc[DESC_LEN];

    r->item = CHECK_KEY_MATCH;
    if (cpub == NULL) {
        check_set(r, CHECK_FAIL, "the certificate's public key cannot be "
                  "decoded (algorithm not supported by this OpenSSL?)");
        ERR_clear_error();
        return;
    }
    if (EVP_PKEY_eq(cpub, token_pub) == 1) {
        check_set(r, CHECK_PASS, "the certificate's %s key is the token key's "
                  "(%s)", check_key_describe(cpub, desc, sizeof(desc)),
                  EVP_PKEY_is_a(cpub, "RSA") ? "modulus and exponent"
                  : EVP_PKEY_is_a(cpub, "EC") ? "curve and point"
                                              : "same public key");
        return;
    }
    explain_difference(cpub, token_pub, r);
    ERR_clear_error(); /* failed parameter reads are expected for some types */
}

/* Ed25519/Ed448 hash internally: no separate digest. */
static const char *proof_digest(const EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448"))
        return NULL;
    return "SHA256";
}

/* The first error of the queue: the one where things went wrong. */
static void error_text(char *buf, size_t len)
{
    const char *data = NULL;
    int flags = 0;
    unsigned long e = ERR_peek_error_data(&data, &flags);
    const char *reason = e ? ERR_reason_error_string(e) : NULL;

    if (!(flags & ERR_TXT_STRING))
        data = NULL;
    snprintf(buf, len, "%s%s%s", reason ? reason : "unknown error",
             data && *data ? ": " : "", data && *data ? data : "");
}

static int sign(EVP_PKEY *key, OSSL_LIB_CTX *libctx, const char *propq,
                const unsigned char *msg, unsigned char **sig, size_t *siglen)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int ok = 0;

    *sig = NULL;
    if (mctx == NULL
        || EVP_DigestSignInit_ex(mctx, NULL, proof_digest(key), libctx, propq,
                                 key, NULL) != 1
        || EVP_DigestSign(mctx, NULL, siglen, msg, CHALLENGE_LEN) != 1
        || (*sig = OPENSSL_malloc(*siglen)) == NULL
        || EVP_DigestSign(mctx, *sig, siglen, msg, CHALLENGE_LEN) != 1)
        goto done;
    ok = 1;
done:
    EVP_MD_CTX_free(mctx);
    return ok;
}

/* The default provider verifies: no trust in the token for this half. */
static int verify(EVP_PKEY *pub, const unsigned char *msg,
                  const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int ok = mctx != NULL
             && EVP_DigestVerifyInit_ex(mctx, NULL, proof_digest(pub), NULL,
                                        "?provider=default", pub, NULL) == 1
             && EVP_DigestVerify(mctx, sig, siglen, msg, CHALLENGE_LEN) == 1;

    EVP_MD_CTX_free(mctx);
    return ok;
}

static const char *scheme(const EVP_PKEY *pub)
{
    if (EVP_PKEY_is_a(pub, "RSA"))
        return "RSA PKCS#1 v1.5 with SHA-256";
    if (EVP_PKEY_is_a(pub, "EC"))
        return "ECDSA with SHA-256";
    if (EVP_PKEY_is_a(pub, "ED25519"))
        return "Ed25519";
    return EVP_PKEY_get0_type_name(pub);
}

void check_key_proof(EVP_PKEY *token_key, OSSL_LIB_CTX *libctx,
                     const char *propq, X509 *cert, struct check_result *r)
{
    unsigned char challenge[CHALLENGE_LEN], *sig = NULL;
    size_t siglen = 0;
    EVP_PKEY *cpub = X509_get0_pubkey(cert);
    char why[256];

    r->item = CHECK_KEY_PROOF;
    ERR_clear_error();
    if (RAND_bytes(challenge, sizeof(challenge)) != 1) {
        error_text(why, sizeof(why));
        check_set(r, CHECK_FAIL, "no random challenge: %s", why);
    } else if (!sign(token_key, libctx, propq, challenge, &sig, &siglen)) {
        error_text(why, sizeof(why));
        check_set(r, CHECK_FAIL, "the token key did not sign the challenge: "
                  "%s", why);
    } else if (cpub == NULL || !verify(cpub, challenge, sig, siglen)) {
        check_set(r, CHECK_FAIL, "the token's signature does not verify with "
                  "the certificate's key" ANOTHER_KEY);
    } else {
        check_set(r, CHECK_PASS, "the token signed a fresh %d-byte challenge "
                  "(%s) and the certificate's key verified it", CHALLENGE_LEN,
                  scheme(cpub));
    }
    ERR_clear_error();
    OPENSSL_free(sig);
}

void check_key_protection(const struct check_key_flags *f,
                          struct check_result *r)
{
    r->item = CHECK_KEY_PROTECTION;
    if (f->sensitive && !f->extractable) {
        check_set(r, CHECK_PASS, "sensitive and not extractable: the private "
                  "key cannot leave the token");
        /* Imported keys are fine by policy, but worth knowing about. */
        if (!f->always_sensitive || !f->never_extractable)
            check_append(r, " (it was imported or once exportable, so "
                         "copies may exist outside the token)");
        return;
    }
    if (!f->sensitive && f->extractable)
        check_set(r, CHECK_WARN, "CKA_SENSITIVE is false and CKA_EXTRACTABLE "
                  "is true: the private key can be read off the token");
    else if (!f->sensitive)
        check_set(r, CHECK_WARN, "CKA_SENSITIVE is false: the private key "
                  "value can be read off the token in plain");
    else
        check_set(r, CHECK_WARN, "CKA_EXTRACTABLE is true: the private key "
                  "can be exported (wrapped) off the token");
    check_append(r, "; make a key with `hsmkey keygen` (or `hsmkey import` "
                 "it) and reissue the certificate");
}
