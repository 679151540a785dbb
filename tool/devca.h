/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devca.h - the development CA of `hsmkey devcert`: DIR/ca.pem and its key
 * DIR/ca.key (EC P-256, mode 0600), made on first use and reused after.
 * Errors are raised naming the file (exit 2).
 */
#ifndef HSMKEY_TOOL_DEVCA_H
#define HSMKEY_TOOL_DEVCA_H

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

struct devca {
    X509 *cert;
    EVP_PKEY *key;
    int created; /* made by this run */
    int dirfd;   /* the directory, once checked (-1: none) */
    char cert_path[PATH_MAX];
    char key_path[PATH_MAX];
};

/*
 * Load the CA of dir, or create dir (mode 0700, one level) and a new CA in
 * it when neither file is there.  Only one of the two present is an error:
 * a CA without its key (or the reverse) is never silently replaced.  dir
 * must be the caller's, not a symbolic link, not writable by group or
 * others; ca.key the caller's regular file with mode 0600 (or less), ca.pem
 * the caller's and not writable by others; new files are made with O_EXCL
 * and O_NOFOLLOW inside the checked directory.
 */
int devca_open(const char *dir, struct devca *ca);
void devca_close(struct devca *ca);

/*
 * A v3 certificate with a random serial, subject CN=cn, the issuer's name
 * (NULL: its own, self-signed), valid from skew_secs (<= 0) ago for days.
 */
X509 *devca_new_cert(const char *cn, const X509_NAME *issuer, long skew_secs,
                     long days);
int devca_add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value);

#endif
