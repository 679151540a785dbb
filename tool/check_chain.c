/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_chain.c - the `chain` item: the node certificate verifies to a root
 * CA of --ca, with intermediates from either file.
 */
#include <stdio.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "check.h"

#define NAME_MAX_LEN 200

/*
 * The leaf's own dates belong to the validity item (which says how long
 * ago, or how soon); failing the chain for them too would report one
 * problem twice.  A CA's dates stay chain errors.
 */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    int err = X509_STORE_CTX_get_error(ctx);

    if (!ok && X509_STORE_CTX_get_error_depth(ctx) == 0
        && (err == X509_V_ERR_CERT_HAS_EXPIRED
            || err == X509_V_ERR_CERT_NOT_YET_VALID))
        return 1;
    return ok;
}

/* Roots of --ca go into the store; its other certificates and the
 * certificate file's extras are only candidates for the path. */
static int split_cas(STACK_OF(X509) *cas, STACK_OF(X509) *extra,
                     X509_STORE *store, STACK_OF(X509) *untrusted)
{
    int i, roots = 0;

    for (i = 0; i < sk_X509_num(extra); i++)
        if (!sk_X509_push(untrusted, sk_X509_value(extra, i)))
            return -1;
    for (i = 0; i < sk_X509_num(cas); i++) {
        X509 *ca = sk_X509_value(cas, i);

        if (X509_self_signed(ca, 0) == 1) {
            if (!X509_STORE_add_cert(store, ca))
                return -1;
            roots++;
        } else if (!sk_X509_push(untrusted, ca)) {
            return -1;
        }
    }
    return roots;
}

/* What to do about a verification error, for the common ones. */
static const char *hint(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        return "is the intermediate CA missing from --ca and the certificate "
               "file, or is --ca the wrong CA?";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return "that root is not in --ca: is --ca the wrong CA?";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return "the certificate is self-signed: issue it from the CA in --ca";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return "a CA with the same name but another key signed it: is --ca "
               "the wrong CA (or an older one)?";
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "renew that CA certificate";
    case X509_V_ERR_INVALID_CA:
        return "that certificate is not marked as a CA (basicConstraints "
               "CA:TRUE): is a node certificate in --ca?";
    default:
        return "";
    }
}

static void report_error(X509_STORE_CTX *ctx, struct check_result *r)
{
    int err = X509_STORE_CTX_get_error(ctx);
    X509 *at = X509_STORE_CTX_get_current_cert(ctx);
    char subj[NAME_MAX_LEN], issuer[NAME_MAX_LEN];
    const char *h = hint(err);

    check_set(r, CHECK_FAIL, "%s", X509_verify_cert_error_string(err));
    if (at != NULL) {
        check_name(X509_get_subject_name(at), subj, sizeof(subj));
        check_name(X509_get_issuer_name(at), issuer, sizeof(issuer));
        check_append(r, " at '%s' (issuer '%s')", subj, issuer);
    }
    if (*h != '\0')
        check_append(r, " — %s", h);
}

static void report_chain(X509_STORE_CTX *ctx, struct check_result *r)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int n = sk_X509_num(chain), i;
    char name[NAME_MAX_LEN];

    check_set(r, CHECK_PASS, "verified to root '%s' of --ca",
              check_name(X509_get_subject_name(sk_X509_value(chain, n - 1)),
                         name, sizeof(name)));
    for (i = 1; i < n - 1; i++)
        check_append(r, "%s'%s'", i == 1 ? " through " : ", ",
                     check_name(X509_get_subject_name(sk_X509_value(chain, i)),
                                name, sizeof(name)));
}

static void verify(X509 *leaf, X509_STORE *store, STACK_OF(X509) *untrusted,
                   struct check_result *r)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        check_set(r, CHECK_FAIL, "cannot set up verification: out of memory");
    } else if (X509_verify_cert(ctx) == 1) {
        report_chain(ctx, r);
    } else {
        report_error(ctx, r);
    }
    X509_STORE_CTX_free(ctx);
}

void check_chain(X509 *leaf, STACK_OF(X509) *extra, STACK_OF(X509) *cas,
                 struct check_result *r)
{
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null(); /* borrows, no refs */
    int roots;

    r->item = CHECK_CHAIN;
    if (store == NULL || untrusted == NULL) {
        check_set(r, CHECK_FAIL, "cannot set up verification: out of memory");
        goto done;
    }
    X509_STORE_set_verify_cb(store, verify_cb);
    roots = split_cas(cas, extra, store, untrusted);
    if (roots < 0) {
        check_set(r, CHECK_FAIL, "cannot set up verification: out of memory");
    } else if (roots == 0) {
        /* Trusting an intermediate alone would pass here but fail at peers
         * that hold only the root; say what --ca lacks instead. */
        check_set(r, CHECK_FAIL, "--ca holds no root (self-signed) "
                  "certificate: add the root CA that the cluster trusts");
    } else {
        verify(leaf, store, untrusted, r);
    }
done:
    sk_X509_free(untrusted);
    X509_STORE_free(store);
}
