/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_certs.c - what each certificate given to `hsmkey check` is (leaf,
 * intermediate, root; its key identifiers), and where the node certificate
 * is among the two files: first in --cert as it should be, later in --cert
 * (the file in reverse order), or in --ca (the files swapped).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "check.h"

static const char *const role_names[] = {
    [CHECK_ROLE_LEAF] = "leaf",
    [CHECK_ROLE_INTERMEDIATE] = "intermediate",
    [CHECK_ROLE_ROOT] = "root",
};

const char *check_role_name(enum check_role role)
{
    return (unsigned)role <= CHECK_ROLE_ROOT ? role_names[role] : "?";
}

/* Names and key identifiers agree with itself (the signature is the
 * chain's business). */
int check_is_self_issued(X509 *x)
{
    return X509_self_signed(x, 0) == 1;
}

/*
 * A CA certificate says so (basicConstraints CA:TRUE); a version 1
 * self-signed certificate is a root by tradition.  Anything else is an
 * end entity: a node certificate.
 */
enum check_role check_cert_role(X509 *x)
{
    int self = check_is_self_issued(x);
    int ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0
             || (self && X509_get_version(x) == X509_VERSION_1);

    if (!ca)
        return CHECK_ROLE_LEAF;
    return self ? CHECK_ROLE_ROOT : CHECK_ROLE_INTERMEDIATE;
}

static const char *hex_id(const ASN1_OCTET_STRING *id, char *buf, size_t len)
{
    size_t n = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; id != NULL && i < ASN1_STRING_length(id) && n + 4 <= len;
         i++)
        n += snprintf(buf + n, len - n, "%s%02X", i ? ":" : "",
                      ASN1_STRING_get0_data(id)[i]);
    return buf;
}

const char *check_ski(X509 *x, char *buf, size_t len)
{
    return hex_id(X509_get0_subject_key_id(x), buf, len);
}

const char *check_aki(X509 *x, char *buf, size_t len)
{
    return hex_id(X509_get0_authority_key_id(x), buf, len);
}

void check_cert_summary(X509 *x, char *buf, size_t len)
{
    char subj[256], issuer[256], ski[CHECK_KEYID_MAX], aki[CHECK_KEYID_MAX];

    check_ski(x, ski, sizeof(ski));
    check_aki(x, aki, sizeof(aki));
    snprintf(buf, len, "%s, subject '%s', issuer '%s', SKI %s, AKI %s",
             check_role_name(check_cert_role(x)),
             check_name(X509_get_subject_name(x), subj, sizeof(subj)),
             check_name(X509_get_issuer_name(x), issuer, sizeof(issuer)),
             *ski ? ski : "none", *aki ? aki : "none");
}

/* The first node certificate of sk from index from on, or -1. */
static int first_leaf(STACK_OF(X509) *sk, int from)
{
    for (int i = from; i < sk_X509_num(sk); i++)
        if (check_cert_role(sk_X509_value(sk, i)) == CHECK_ROLE_LEAF)
            return i;
    return -1;
}

/* Every certificate of from except skip (-1: none), borrowed. */
static STACK_OF(X509) *all_but(STACK_OF(X509) *from, int skip)
{
    STACK_OF(X509) *sk = sk_X509_new_null();

    for (int i = 0; sk != NULL && i < sk_X509_num(from); i++)
        if (i != skip && !sk_X509_push(sk, sk_X509_value(from, i))) {
            sk_X509_free(sk);
            return NULL;
        }
    return sk;
}

/*
 * Where the node certificate is.  When the first certificate of --cert is
 * a CA's: a node certificate later in --cert means the file is in reverse
 * order; one in --ca means the two files were swapped.  Otherwise (or with
 * no node certificate anywhere) the first certificate of --cert is taken,
 * as TLS servers take it.
 */
static void locate(struct check_inputs *in, STACK_OF(X509) **from, int *at)
{
    *from = in->cert_file;
    *at = 0;
    in->layout = CHECK_LAYOUT_OK;
    if (check_cert_role(sk_X509_value(in->cert_file, 0)) == CHECK_ROLE_LEAF)
        return;
    if ((*at = first_leaf(in->cert_file, 1)) >= 0) {
        in->layout = CHECK_LAYOUT_REVERSED;
    } else if ((*at = first_leaf(in->ca_file, 0)) >= 0) {
        in->layout = CHECK_LAYOUT_SWAPPED;
        *from = in->ca_file;
    } else {
        *at = 0;
    }
}

int check_arrange(struct check_inputs *in)
{
    STACK_OF(X509) *from;
    int at;

    in->leaf = NULL;
    in->extra = in->cas = NULL;
    if (sk_X509_num(in->cert_file) == 0)
        return 0;
    locate(in, &from, &at);
    in->leaf = sk_X509_value(from, at);
    in->leaf_index = at + 1;
    /* Swapped: what came with the node certificate (its intermediates)
     * is in --ca, the trust anchors are in --cert. */
    in->extra = all_but(from, at);
    in->cas = all_but(in->layout == CHECK_LAYOUT_SWAPPED ? in->cert_file
                                                         : in->ca_file, -1);
    if (in->extra == NULL || in->cas == NULL) {
        check_inputs_release(in);
        return 0;
    }
    return 1;
}

void check_inputs_release(struct check_inputs *in)
{
    sk_X509_free(in->extra);
    sk_X509_free(in->cas);
    in->extra = in->cas = NULL;
    in->leaf = NULL;
}

/* The "right way round" sentence after a layout FAIL. */
static void append_outcome(const struct check_result *verified,
                           struct check_result *r)
{
    if (verified->status == CHECK_FAIL)
        check_append(r, "; even then: %s", verified->detail);
    else
        check_append(r, "; then the chain %s", verified->detail);
}

void check_layout_result(const struct check_inputs *in,
                         const struct check_result *verified,
                         struct check_result *r)
{
    char leaf[256], first[256];
    X509 *c0 = sk_X509_value(in->cert_file, 0);

    r->item = CHECK_CHAIN;
    check_name(X509_get_subject_name(in->leaf), leaf, sizeof(leaf));
    check_name(X509_get_subject_name(c0), first, sizeof(first));
    if (in->layout == CHECK_LAYOUT_SWAPPED)
        check_set(r, CHECK_FAIL, "--cert and --ca are swapped: --cert holds "
                  "the CA certificate '%s' (%s) and --ca the node "
                  "certificate '%s': give the node's certificate file as "
                  "--cert and the CA file as --ca", first,
                  check_role_name(check_cert_role(c0)), leaf);
    else
        check_set(r, CHECK_FAIL, "the node certificate '%s' is #%d of %d in "
                  "--cert, after the CA certificate '%s': the file is in "
                  "reverse order, and servers send its first certificate as "
                  "their own; put the node certificate first, then each "
                  "issuer after the certificate it issued", leaf,
                  in->leaf_index, sk_X509_num(in->cert_file), first);
    append_outcome(verified, r);
}
