/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_chain.c - the `chain` item: the node certificate verifies to a root
 * CA of --ca, with intermediates from either file.
 *
 * OpenSSL's verification decides; when it fails, the path is walked by
 * hand from the node certificate up, to name the exact break in one line:
 * an issuer in neither file (and which file lacks it), an issuer with the
 * right name but another key (AKI against SKI), a root only in --cert, a
 * second certificate in --cert that issued nothing.  What the walk cannot
 * explain (an expired CA, a CA without CA:TRUE) keeps OpenSSL's reason.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "check.h"

#define NAME_MAX_LEN 200
#define WALK_MAX 10

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

/* What to do about a verification error the walk could not explain. */
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

static void report_chain(STACK_OF(X509) *chain, struct check_result *r)
{
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

/* ---- the walk ---- */

/* Where a certificate came from, for messages: "--ca #2". */
struct where {
    STACK_OF(X509) *extra, *cas;
};

static int index_of(STACK_OF(X509) *sk, X509 *x)
{
    for (int i = 0; i < sk_X509_num(sk); i++)
        if (sk_X509_value(sk, i) == x)
            return i;
    return -1;
}

static const char *where_text(const struct where *w, X509 *x, char *buf,
                              size_t len)
{
    int i;

    /* The certificate file's #1 is the node certificate. */
    if ((i = index_of(w->extra, x)) >= 0)
        snprintf(buf, len, "--cert #%d", i + 2);
    else if ((i = index_of(w->cas, x)) >= 0)
        snprintf(buf, len, "--ca #%d", i + 1);
    else
        snprintf(buf, len, "the node certificate");
    return buf;
}

/*
 * issuer really issued x: names, AKI/SKI and the signature agree.  Whether
 * it may issue (CA:TRUE, keyCertSign) is OpenSSL's verdict to report.
 */
static int issued(X509 *issuer, X509 *x)
{
    EVP_PKEY *pub = X509_get0_pubkey(issuer);
    int rc = X509_check_issued(issuer, x);

    return (rc == X509_V_OK || rc == X509_V_ERR_KEYUSAGE_NO_CERTSIGN)
           && pub != NULL && X509_verify(x, pub) == 1;
}

/* A certificate of either file named like x's issuer (first: a real
 * issuer, else the first of that name). */
static X509 *issuer_of(const struct where *w, X509 *x, X509 **same_name)
{
    STACK_OF(X509) *sets[2] = { w->extra, w->cas };

    *same_name = NULL;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < sk_X509_num(sets[s]); i++) {
            X509 *c = sk_X509_value(sets[s], i);

            if (c == x || X509_NAME_cmp(X509_get_subject_name(c),
                                        X509_get_issuer_name(x)) != 0)
                continue;
            if (issued(c, x))
                return c;
            if (*same_name == NULL)
                *same_name = c;
        }
    return NULL;
}

/* The names of --ca's certificates, for "--ca holds ..." */
static void append_ca_names(const struct where *w, struct check_result *r)
{
    char name[NAME_MAX_LEN];
    int n = sk_X509_num(w->cas);

    for (int i = 0; i < n && i < 3; i++)
        check_append(r, "%s'%s'", i ? ", " : "",
                     check_name(X509_get_subject_name(sk_X509_value(w->cas,
                                                                    i)),
                                name, sizeof(name)));
    if (n > 3)
        check_append(r, " and %d more", n - 3);
}

static int cas_only_roots(const struct where *w)
{
    for (int i = 0; i < sk_X509_num(w->cas); i++)
        if (check_cert_role(sk_X509_value(w->cas, i)) != CHECK_ROLE_ROOT)
            return 0;
    return 1;
}

/* x names an issuer with another key: the AKI says which key it wants. */
static void same_name_other_key(const struct where *w, X509 *x, X509 *twin,
                                struct check_result *r)
{
    char name[NAME_MAX_LEN], at[32], aki[CHECK_KEYID_MAX],
        ski[CHECK_KEYID_MAX], xname[NAME_MAX_LEN];

    check_name(X509_get_subject_name(twin), name, sizeof(name));
    check_name(X509_get_subject_name(x), xname, sizeof(xname));
    check_aki(x, aki, sizeof(aki));
    check_ski(twin, ski, sizeof(ski));
    check_set(r, CHECK_FAIL, "the %s '%s' (%s) has the name of the issuer of "
              "'%s' but another key", check_role_name(check_cert_role(twin)),
              name, where_text(w, twin, at, sizeof(at)), xname);
    if (*aki && *ski)
        check_append(r, " (that certificate's AKI is %s, this one's SKI is "
                      "%s)", aki, ski);
    else
        check_append(r, " (its signature does not verify with that key)");
    check_append(r, ": it is another CA with the same name (re-made, or from "
                  "another root); use the CA certificate that issued '%s'",
                  xname);
}

/* No certificate of that name anywhere: which one is missing, and where
 * it belongs. */
static void missing_issuer(const struct where *w, X509 *leaf, X509 *x,
                           struct check_result *r)
{
    char issuer[NAME_MAX_LEN], aki[CHECK_KEYID_MAX], name[NAME_MAX_LEN],
        at[32];
    X509 *second = sk_X509_value(w->extra, 0);

    check_name(X509_get_issuer_name(x), issuer, sizeof(issuer));
    check_aki(x, aki, sizeof(aki));
    if (x == leaf && second != NULL) {
        check_set(r, CHECK_FAIL, "%s ('%s') is not the issuer of the node "
                  "certificate, which was issued by '%s'%s%s: put that CA "
                  "certificate after the node certificate instead",
                  where_text(w, second, at, sizeof(at)),
                  check_name(X509_get_subject_name(second), name,
                             sizeof(name)), issuer, *aki ? ", AKI " : "", aki);
    } else if (x == leaf && cas_only_roots(w)) {
        /* Nothing tells an absent intermediate from another root. */
        check_set(r, CHECK_FAIL, "the node certificate's issuer '%s'%s%s is "
                  "in neither file, and --ca holds only the root ", issuer,
                  *aki ? ", AKI " : "", aki);
        append_ca_names(w, r);
        check_append(r, ": if '%s' is an intermediate CA under it, append "
                     "its certificate to --cert after the node certificate "
                     "(peers need it too); otherwise the certificate is from "
                     "another CA than --ca", issuer);
    } else if (x == leaf) {
        check_set(r, CHECK_FAIL, "the node certificate was issued by '%s'%s%s, "
                  "which is in neither file; --ca holds ", issuer,
                  *aki ? ", AKI " : "", aki);
        append_ca_names(w, r);
        check_append(r, ": a certificate from another issuing CA? add '%s' "
                     "(with its chain) or reissue from the CA in --ca",
                     issuer);
    } else {
        check_set(r, CHECK_FAIL, "the chain ends at '%s' (%s): its issuer "
                  "'%s' is not in --ca, which holds ",
                  check_name(X509_get_subject_name(x), name, sizeof(name)),
                  where_text(w, x, at, sizeof(at)), issuer);
        append_ca_names(w, r);
        check_append(r, ": is --ca the wrong CA?");
    }
}

/* A root reached through --cert alone: not trusted by --ca. */
static int root_only_in_cert(const struct where *w, X509 *root,
                             struct check_result *r)
{
    char name[NAME_MAX_LEN];

    for (int i = 0; i < sk_X509_num(w->cas); i++)
        if (X509_cmp(sk_X509_value(w->cas, i), root) == 0)
            return 0;
    check_set(r, CHECK_FAIL, "the chain leads to the root '%s', which is in "
              "--cert but not in --ca (which holds ",
              check_name(X509_get_subject_name(root), name, sizeof(name)));
    append_ca_names(w, r);
    check_append(r, "): is --ca the wrong CA?");
    return 1;
}

/* 1 when the walk named the break in r; 0 leaves OpenSSL's reason. */
static int walk(const struct where *w, X509 *leaf, struct check_result *r)
{
    X509 *x = leaf, *up, *twin;

    for (int depth = 0; depth < WALK_MAX; depth++) {
        if (check_is_self_issued(x))
            return x != leaf && root_only_in_cert(w, x, r);
        if ((up = issuer_of(w, x, &twin)) == NULL) {
            if (twin != NULL)
                same_name_other_key(w, x, twin, r);
            else
                missing_issuer(w, leaf, x, r);
            return 1;
        }
        x = up;
    }
    return 0;
}

/* ---- a chain that verified, with certificates it does not use ---- */

/* A certificate of --cert that is not in the verified chain is sent to
 * every peer for nothing, and strict ones refuse a broken order. */
static void extra_warnings(STACK_OF(X509) *extra, STACK_OF(X509) *chain,
                           struct check_result *r)
{
    char name[NAME_MAX_LEN];

    for (int i = 0; i < sk_X509_num(extra); i++) {
        X509 *x = sk_X509_value(extra, i);
        int pos = -1;

        for (int c = 0; c < sk_X509_num(chain); c++)
            if (X509_cmp(sk_X509_value(chain, c), x) == 0)
                pos = c;
        check_name(X509_get_subject_name(x), name, sizeof(name));
        if (pos < 0) {
            r->status = CHECK_WARN;
            check_append(r, "; but --cert #%d ('%s') is not part of the "
                         "node's chain: servers send it to every peer; "
                         "remove it", i + 2, name);
            return;
        }
        if (pos != i + 1) {
            r->status = CHECK_WARN;
            check_append(r, "; but --cert is out of order: #%d ('%s') "
                         "should come where the chain needs it (each issuer "
                         "after the certificate it issued)", i + 2, name);
            return;
        }
    }
}

static void verify(X509 *leaf, X509_STORE *store, const struct where *w,
                   STACK_OF(X509) *untrusted, STACK_OF(X509) **verified,
                   struct check_result *r)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        check_set(r, CHECK_FAIL, "cannot set up verification: out of memory");
    } else if (X509_verify_cert(ctx) == 1) {
        report_chain(X509_STORE_CTX_get0_chain(ctx), r);
        extra_warnings(w->extra, X509_STORE_CTX_get0_chain(ctx), r);
        if (verified != NULL)
            *verified = X509_STORE_CTX_get1_chain(ctx);
    } else if (!walk(w, leaf, r)) {
        report_error(ctx, r);
    }
    X509_STORE_CTX_free(ctx);
}

void check_chain_verified(X509 *leaf, STACK_OF(X509) *extra,
                          STACK_OF(X509) *cas, STACK_OF(X509) **verified,
                          struct check_result *r)
{
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null(); /* borrows, no refs */
    struct where w = { extra, cas };
    int roots;

    r->item = CHECK_CHAIN;
    if (verified != NULL)
        *verified = NULL;
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
        verify(leaf, store, &w, untrusted, verified, r);
    }
done:
    sk_X509_free(untrusted);
    X509_STORE_free(store);
}

void check_chain(X509 *leaf, STACK_OF(X509) *extra, STACK_OF(X509) *cas,
                 struct check_result *r)
{
    check_chain_verified(leaf, extra, cas, NULL, r);
}
