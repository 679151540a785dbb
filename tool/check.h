/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.h - the items of `hsmkey check` (CONTRIBUTING.md, "The contract")
 * as functions over libcrypto objects.
 *
 * Nothing here touches a token, prints or exits: each function fills one
 * struct check_result, so the rules are unit-tested on fixed certificates
 * (tests/check/test_check_rules.c) and cmd_check.c only gathers the inputs,
 * runs the items in their documented order and prints them.
 *
 * A detail says what was found and, when something is wrong, what to do
 * about it; it never contains a PIN (no function here ever sees one).
 */
#ifndef HSMKEY_TOOL_CHECK_H
#define HSMKEY_TOOL_CHECK_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsmkey/err.h" /* HSMKEY_PRINTF */

/* Long enough for two names and two key identifiers with the fix;
 * longer is cut. */
#define CHECK_DETAIL_MAX 1024

enum check_status { CHECK_PASS, CHECK_WARN, CHECK_FAIL };

/* In their documented order, which is the order they are printed. */
enum check_item {
    CHECK_CERT,
    CHECK_CHAIN,
    CHECK_KEY_MATCH,
    CHECK_KEY_PROOF,
    CHECK_EKU,
    CHECK_KEY_USAGE,
    CHECK_VALIDITY,
    CHECK_HOST,
    CHECK_KEY_PROTECTION,
    CHECK_ITEM_MAX
};

struct check_result {
    enum check_item item;
    enum check_status status;
    char detail[CHECK_DETAIL_MAX];
};

/* The token key's PKCS#11 protection flags (CKA_*), 1 true / 0 false. */
struct check_key_flags {
    int sensitive;
    int extractable;
    int always_sensitive;
    int never_extractable;
};

/* ---- check_cert.c: names, results, reading certificates ---- */

const char *check_item_name(enum check_item item);
const char *check_status_name(enum check_status status);
void check_set(struct check_result *r, enum check_status status,
               const char *fmt, ...) HSMKEY_PRINTF(3, 4);
/* Adds to the detail, status unchanged. */
void check_append(struct check_result *r, const char *fmt, ...)
    HSMKEY_PRINTF(2, 3);

/* "CN=node1, O=example" (one line, '=' without spaces) into buf. */
const char *check_name(const X509_NAME *name, char *buf, size_t len);

/*
 * cert: the first certificate of path is the node's; any after it are
 * intermediates that may complete the chain.  PEM (one or more) or a single
 * DER certificate.  Returns 1 with r PASS, or 0 with r FAIL naming the file
 * and what is wrong with it (the caller exits 2: bad input).
 */
int check_cert_load(const char *path, X509 **leaf, STACK_OF(X509) **extra,
                    struct check_result *r);

/*
 * Every certificate of the --ca file.  Returns 1, or 0 with r (the chain
 * item) FAIL naming the file (bad input).
 */
int check_ca_load(const char *path, STACK_OF(X509) **cas,
                  struct check_result *r);

/* ---- check_certs.c: what each given certificate is ---- */

enum check_role { CHECK_ROLE_LEAF, CHECK_ROLE_INTERMEDIATE, CHECK_ROLE_ROOT };

/* Where the node certificate was found (check_arrange). */
enum check_layout {
    CHECK_LAYOUT_OK,       /* first in --cert */
    CHECK_LAYOUT_REVERSED, /* later in --cert, after a CA certificate */
    CHECK_LAYOUT_SWAPPED,  /* in --ca, while --cert holds CA certificates */
};

/* "AB:CD:..." of a 20-byte key identifier, and room to spare. */
#define CHECK_KEYID_MAX 100

/*
 * The two files as given, and the node certificate with what goes along
 * with it once check_arrange found where it is.  leaf, extra and cas
 * borrow from the files (the caller owns cert_file and ca_file).
 */
struct check_inputs {
    STACK_OF(X509) *cert_file; /* every certificate of --cert, in order */
    STACK_OF(X509) *ca_file;   /* every certificate of --ca, in order */
    enum check_layout layout;
    X509 *leaf;                /* the node certificate */
    int leaf_index;            /* its position (from 1) in its file */
    STACK_OF(X509) *extra;     /* the others of the leaf's file */
    STACK_OF(X509) *cas;       /* the trust file (--cert when swapped) */
};

const char *check_role_name(enum check_role role);
/* Leaf (no CA:TRUE), intermediate (CA, not self-issued) or root. */
enum check_role check_cert_role(X509 *x);
/* Subject and issuer are the same name (and key identifiers agree). */
int check_is_self_issued(X509 *x);
/* Key identifiers in hex with colons, "" when the extension is absent. */
const char *check_ski(X509 *x, char *buf, size_t len);
const char *check_aki(X509 *x, char *buf, size_t len);
/* "intermediate, subject '...', issuer '...', SKI ..., AKI ..." */
void check_cert_summary(X509 *x, char *buf, size_t len);

/*
 * Find the node certificate (see enum check_layout) and fill leaf, extra
 * and cas; 0 when cert_file is empty or out of memory.  Release with
 * check_inputs_release (the files stay the caller's).
 */
int check_arrange(struct check_inputs *in);
void check_inputs_release(struct check_inputs *in);

/*
 * chain, when the layout is not OK: one FAIL naming what is swapped or
 * reversed and the fix, then what the chain does the right way round
 * (verified: check_chain's result on the arranged inputs).
 */
void check_layout_result(const struct check_inputs *in,
                         const struct check_result *verified,
                         struct check_result *r);

/* ---- check_chain.c ---- */

/*
 * chain: leaf verifies to a self-signed root of cas.  Intermediates come
 * from extra (the certificate file) and the non-root certificates of cas.
 * The leaf's own dates are left to the validity item, so an expired leaf is
 * reported once, where the detail fits; an expired CA still fails here.
 */
void check_chain(X509 *leaf, STACK_OF(X509) *extra, STACK_OF(X509) *cas,
                 struct check_result *r);
/*
 * The same, handing out the verified chain (leaf first, up-ref'd; free
 * with sk_X509_pop_free) when it verified, else *verified = NULL.  A
 * failure names the break: an issuer in neither file, one with the right
 * name but another key (AKI against SKI), a root only in --cert, a second
 * certificate in --cert that did not issue the node's.  A chain that
 * verifies with a certificate of --cert it does not use, or in the wrong
 * order, is a WARN.
 */
void check_chain_verified(X509 *leaf, STACK_OF(X509) *extra,
                          STACK_OF(X509) *cas, STACK_OF(X509) **verified,
                          struct check_result *r);

/* ---- check_key.c ---- */

/* "RSA 2048", "EC P-256", "ED25519" into buf. */
const char *check_key_describe(const EVP_PKEY *pkey, char *buf, size_t len);

/*
 * key-match: token_pub (the token key's public half, in any provider that
 * can export it) equals the certificate's key; on a difference the detail
 * names the part that differs (type, modulus, exponent, curve, point).
 */
void check_key_match(const EVP_PKEY *token_pub, X509 *cert,
                     struct check_result *r);

/*
 * key-proof: token_key signs a fresh 32-byte random challenge, fetched in
 * libctx/propq (the hsmkey provider); the certificate's key verifies the
 * signature with the default provider.  OpenSSL errors raised on the way go
 * into the detail and are taken off the error queue.
 */
void check_key_proof(EVP_PKEY *token_key, OSSL_LIB_CTX *libctx,
                     const char *propq, X509 *cert, struct check_result *r);

/* key-protection: WARN unless sensitive and not extractable. */
void check_key_protection(const struct check_key_flags *flags,
                          struct check_result *r);

/* ---- check_tls.c ---- */

/* eku: both serverAuth and clientAuth. */
void check_eku(X509 *cert, struct check_result *r);
/* key-usage: digitalSignature; keyEncipherment only for RSA; no CA bits. */
void check_key_usage(X509 *cert, struct check_result *r);
/* validity at time now: FAIL outside the dates, WARN within warn_days. */
void check_validity(X509 *cert, time_t now, int warn_days,
                    struct check_result *r);
/* host: a DNS name or IP address literal against the SAN (CN fallback). */
void check_host(X509 *cert, const char *host, struct check_result *r);

#endif
