/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x509util.h - what `hsmkey csr` and `hsmkey devcert` both put into a node
 * certificate: subject, SAN, Extended Key Usage and a Key Usage that fits
 * the key type.  Errors are raised naming the option and the part that is
 * wrong (exit 2).
 */
#ifndef HSMKEY_TOOL_X509UTIL_H
#define HSMKEY_TOOL_X509UTIL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* What a node needs to both accept and open cluster connections. */
#define TOOL_X509_DEFAULT_EKU "serverAuth,clientAuth"

/* "/CN=node1/O=Example" (OpenSSL's -subj form; '\' escapes '/' and '\'). */
X509_NAME *tool_x509_name(const char *opt, const char *text);

/*
 * The node's extensions for pub: Key Usage (critical; digitalSignature,
 * plus keyEncipherment for RSA), Extended Key Usage eku (an OpenSSL list
 * such as "serverAuth,clientAuth"; NULL: that default; "none": left out),
 * and a subjectAltName from san ("DNS:a,IP:10.0.0.1,URI:spiffe://x"; NULL:
 * none).
 * Appended to *exts (created when NULL).  pub NULL checks --san and --eku
 * before a token is touched.
 */
int tool_x509_node_exts(STACK_OF(X509_EXTENSION) **exts, const EVP_PKEY *pub,
                        const char *san, const char *eku);

/* The digest to sign with: "SHA256", or NULL for EdDSA (no digest). */
const char *tool_x509_digest(const EVP_PKEY *key);

/* One line of the name, "CN=node1, O=Example"; OPENSSL_free it. */
char *tool_x509_name_text(const X509_NAME *name);

#endif
