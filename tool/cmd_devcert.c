/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_devcert.c - `hsmkey devcert`: development node certificates without
 * a real CA.  A dev CA (EC P-256, key on disk, mode 0600) is made in
 * --ca-dir the first time and reused after; it issues a certificate for the
 * token key's public half with serverAuth+clientAuth, as a cluster CA would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "commands.h"
#include "devca.h"
#include "x509util.h"

const char cmd_devcert_help[] =
    "usage: hsmkey devcert --ca-dir DIR --key URI|REF.pem --cn NAME\n"
    "                      [--san LIST] [--days N] --out CERT.pem\n"
    "\n"
    "For development: issue a node certificate for a token key from a dev CA\n"
    "kept in DIR.  The first run creates DIR (mode 0700) with ca.pem and its\n"
    "key ca.key (EC P-256, mode 0600); later runs reuse them, so all nodes\n"
    "share one CA: give ca.pem to `hsmkey check --ca` and to the TLS peers.\n"
    "The certificate has Extended Key Usage serverAuth+clientAuth (for mutual\n"
    "TLS between nodes) and a Key Usage that fits the key type.\n"
    "\n"
    "Options:\n"
    "  --ca-dir DIR     where the dev CA lives (created when absent)\n"
    "  --key URI|FILE   the token key: a pkcs11: URI or a key-reference file\n"
    "  --cn NAME        subject CN, usually the node's DNS name\n"
    "  --san LIST       subjectAltName: DNS:name,IP:address,URI:uri\n"
    "                   (default DNS:NAME, or IP:NAME for an address)\n"
    "  --days N         validity in days (default 365)\n"
    "  --out FILE       where to write the certificate (PEM)\n"
    "\n"
    "Examples:\n"
    "  hsmkey devcert --ca-dir ./devca \\\n"
    "      --key 'pkcs11:token=node1;object=node-key;type=private' \\\n"
    "      --cn node1.example.com --san DNS:node1.example.com,IP:127.0.0.1 \\\n"
    "      --out node1.pem\n"
    "  openssl verify -CAfile devca/ca.pem node1.pem\n"
    "  hsmkey check --cert node1.pem --ca devca/ca.pem --key node1-key.pem\n"
    "\n" TOOL_GLOBAL_HELP;

#define DAYS_DEFAULT 365
#define DAYS_MAX 36500
#define SKEW_SECS 300 /* nodes' clocks differ a little */

struct devcert_args {
    const char *ca_dir, *key, *cn, *san, *days, *out;
};

static int parse_days(const char *text, long *out)
{
    char *end = NULL;

    *out = DAYS_DEFAULT;
    if (text == NULL)
        return 1;
    *out = strtol(text, &end, 10);
    if (*text != '\0' && *end == '\0' && *out >= 1 && *out <= DAYS_MAX)
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "devcert: --days '%s': not a number "
                 "of days from 1 to %d", text, DAYS_MAX);
    return 0;
}

/*
 * DNS:NAME, or IP:NAME for an address literal; none when the CN is not a
 * host name ("Build server 3"), so a free-form CN is not an error.
 */
static const char *default_san(const char *cn, char *buf, size_t len)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(cn);
    size_t n = strspn(cn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-._*");
    const char *san = NULL;

    if (ip != NULL || (n > 0 && cn[n] == '\0'))
        if (snprintf(buf, len, "%s:%s", ip ? "IP" : "DNS", cn) < (int)len)
            san = buf;
    ASN1_OCTET_STRING_free(ip);
    return san;
}

static int add_exts(X509 *cert, X509 *issuer, const EVP_PKEY *pub,
                    const char *san)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509V3_CTX v3;
    int i, ok = tool_x509_node_exts(&exts, pub, san, NULL);

    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ok = ok && devca_add_ext(cert, &v3, NID_basic_constraints,
                             "critical,CA:FALSE")
         && devca_add_ext(cert, &v3, NID_subject_key_identifier, "hash")
         && devca_add_ext(cert, &v3, NID_authority_key_identifier, "keyid");
    for (i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++)
        ok = X509_add_ext(cert, sk_X509_EXTENSION_value(exts, i), -1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return ok;
}

static X509 *issue(struct devca *ca, EVP_PKEY *pub,
                   const struct devcert_args *a, const char *san, long days)
{
    X509 *cert = devca_new_cert(a->cn, X509_get_subject_name(ca->cert),
                                -SKEW_SECS, days);

    if (cert == NULL)
        return NULL;
    if (!X509_set_pubkey(cert, pub)) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot put the public key of %s "
                     "into a certificate", a->key);
        goto err;
    }
    if (!add_exts(cert, ca->cert, pub, san))
        goto err; /* a bad --san was raised, naming the entry */
    if (!X509_sign(cert, ca->key, EVP_sha256())) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "the dev CA %s cannot sign",
                     ca->cert_path);
        goto err;
    }
    return cert;
err:
    X509_free(cert);
    return NULL;
}

static int write_cert(X509 *cert, const char *path)
{
    struct tool_out *out = tool_out_open(path, 0644);

    return out != NULL
           && tool_out_close(out, PEM_write_bio_X509(tool_out_bio(out), cert));
}

static int report(struct tool_ctx *ctx, X509 *cert, const struct devca *ca,
                  const char *out, const char *san)
{
    static const struct tool_column cols[] = {
        { "OUT", TOOL_COL_STR },     { "SUBJECT", TOOL_COL_STR },
        { "SAN", TOOL_COL_STR },     { "EXPIRES", TOOL_COL_STR },
        { "CA", TOOL_COL_STR },      { "CA_CREATED", TOOL_COL_BOOL },
    };
    struct tool_table *t = tool_table_new(cols, 6);
    char *subject = tool_x509_name_text(X509_get_subject_name(cert));
    char expires[32];
    struct tm tm;
    const char *row[6] = { out, subject, san, expires, ca->cert_path,
                           ca->created ? "yes" : "no" };
    int ok;

    if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm)
        || strftime(expires, sizeof(expires), "%Y-%m-%d %H:%M:%S UTC",
                    &tm) == 0)
        snprintf(expires, sizeof(expires), "?");
    ok = t != NULL && tool_table_add(t, row)
         && tool_table_print_record(t, stdout, ctx->json);
    tool_table_free(t);
    OPENSSL_free(subject);
    return ok;
}

/*
 * The certificate is for the key the token proved it holds: a signature by
 * the token key verified with the public half that goes into it, as csr
 * verifies its request.
 */
static int devcert_run(struct tool_ctx *ctx, const struct devcert_args *a,
                       const char *san, long days)
{
    struct devca ca = { .dirfd = -1 };
    EVP_PKEY *key = NULL, *pub = NULL;
    X509 *cert = NULL;
    int ok;

    /* The token first: a wrong URI or PIN leaves no new CA behind. */
    ok = (key = tool_load_key(ctx, a->key)) != NULL
         && (pub = tool_key_public(key)) != NULL
         && tool_prove_key(ctx, key, pub, a->key)
         && devca_open(a->ca_dir, &ca)
         && (cert = issue(&ca, pub, a, san, days)) != NULL
         && write_cert(cert, a->out) && report(ctx, cert, &ca, a->out, san);
    X509_free(cert);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    devca_close(&ca);
    return ok ? TOOL_EXIT_OK : TOOL_EXIT_RAISED;
}

int cmd_devcert(struct tool_ctx *ctx, int argc, char **argv)
{
    struct devcert_args a = { 0 };
    const struct tool_opt opts[] = {
        { "ca-dir", &a.ca_dir, NULL }, { "key", &a.key, NULL },
        { "cn", &a.cn, NULL },         { "san", &a.san, NULL },
        { "days", &a.days, NULL },     { "out", &a.out, NULL },
        { NULL, NULL, NULL },
    };
    STACK_OF(X509_EXTENSION) *probe = NULL;
    char buf[300];
    const char *san;
    long days;
    int rc = TOOL_EXIT_RAISED;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "ca-dir", a.ca_dir)
        || !tool_opt_required(ctx->cmd, "key", a.key)
        || !tool_opt_required(ctx->cmd, "cn", a.cn)
        || !tool_opt_required(ctx->cmd, "out", a.out)
        || !parse_days(a.days, &days))
        return TOOL_EXIT_RAISED;
    san = a.san != NULL ? a.san : default_san(a.cn, buf, sizeof(buf));
    /* --san checked before the token is asked for a PIN. */
    if (tool_x509_node_exts(&probe, NULL, san, NULL))
        rc = devcert_run(ctx, &a, san, days);
    sk_X509_EXTENSION_pop_free(probe, X509_EXTENSION_free);
    return rc;
}
