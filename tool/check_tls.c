/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_tls.c - the items about what TLS peers will accept the certificate
 * for: eku, key-usage, validity and host.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "check.h"

#define SECS_PER_DAY 86400L

/* ---- eku ---- */

/* The EKU purposes the certificate has, for a detail: "emailProtection". */
static void eku_list(X509 *cert, struct check_result *r)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage,
                                               NULL, NULL);
    char oid[80];
    int i, nid;

    for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        /* The names people type in extension files: "emailProtection". */
        nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
        if (nid != NID_undef)
            snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(nid));
        else
            OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, i), 1);
        check_append(r, "%s%s", i == 0 ? " (it has: " : ", ", oid);
    }
    if (i > 0)
        check_append(r, ")");
    EXTENDED_KEY_USAGE_free(eku);
}

void check_eku(X509 *cert, struct check_result *r)
{
    uint32_t xku = X509_get_extended_key_usage(cert);
    int server = (xku & XKU_SSL_SERVER) != 0;
    int client = (xku & XKU_SSL_CLIENT) != 0;

    r->item = CHECK_EKU;
    if (!(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE)) {
        /* RFC 5280 allows any use then, but cluster CAs are expected to
         * say what a node certificate is for. */
        check_set(r, CHECK_WARN, "no Extended Key Usage extension: TLS "
                  "accepts it on both sides, but the cluster's CA should "
                  "issue serverAuth and clientAuth explicitly");
    } else if (server && client) {
        check_set(r, CHECK_PASS, "serverAuth and clientAuth");
    } else if (server) {
        check_set(r, CHECK_FAIL, "clientAuth missing: this node can accept "
                  "but not open cluster connections");
    } else if (client) {
        check_set(r, CHECK_FAIL, "serverAuth missing: this node can open but "
                  "not accept cluster connections");
    } else {
        check_set(r, CHECK_FAIL, "serverAuth and clientAuth missing: TLS "
                  "peers refuse this certificate on either side");
        eku_list(cert, r);
    }
}

/* ---- key-usage ---- */

struct ku_bit {
    uint32_t bit;
    const char *name;
};

static const struct ku_bit ku_bits[] = {
    { KU_DIGITAL_SIGNATURE, "digitalSignature" },
    { KU_NON_REPUDIATION, "nonRepudiation" },
    { KU_KEY_ENCIPHERMENT, "keyEncipherment" },
    { KU_DATA_ENCIPHERMENT, "dataEncipherment" },
    { KU_KEY_AGREEMENT, "keyAgreement" },
    { KU_KEY_CERT_SIGN, "keyCertSign" },
    { KU_CRL_SIGN, "cRLSign" },
    { KU_ENCIPHER_ONLY, "encipherOnly" },
    { KU_DECIPHER_ONLY, "decipherOnly" },
};

#define KU_COUNT (sizeof(ku_bits) / sizeof(ku_bits[0]))

/*
 * Bits a node certificate should not carry: CA powers, and key-transport
 * or key-agreement bits that do not fit the key type (strict validators
 * such as Go's refuse keyEncipherment on an EC key).
 */
static uint32_t ku_wrong(uint32_t ku, const EVP_PKEY *pub)
{
    uint32_t wrong = KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_ENCIPHER_ONLY
                     | KU_DECIPHER_ONLY;

    if (pub == NULL || !EVP_PKEY_is_a(pub, "RSA"))
        wrong |= KU_KEY_ENCIPHERMENT;
    if (pub == NULL || !EVP_PKEY_is_a(pub, "EC"))
        wrong |= KU_KEY_AGREEMENT;
    return ku & wrong;
}

static void ku_append(struct check_result *r, uint32_t bits)
{
    size_t i;
    int n = 0;

    for (i = 0; i < KU_COUNT; i++)
        if (bits & ku_bits[i].bit)
            check_append(r, "%s%s", n++ ? ", " : "", ku_bits[i].name);
}

/*
 * A node certificate that is a CA (basicConstraints CA:TRUE) lets the
 * node's key issue certificates every cluster peer trusts, for any name:
 * one node could then impersonate all the others.  Browsers and Go also
 * refuse a CA certificate as an end entity.  So it fails, whatever its
 * Key Usage says.
 */
static int ca_fail(X509 *cert, struct check_result *r)
{
    if (!(X509_get_extension_flags(cert) & EXFLAG_CA))
        return 0;
    check_set(r, CHECK_FAIL, "the certificate is a CA certificate "
              "(basicConstraints CA:TRUE): with it this node's key could "
              "issue certificates that every cluster peer trusts; reissue it "
              "as an end-entity certificate (CA:FALSE)");
    return 1;
}

/*
 * The node certificate profile (what hsmkey csr and devcert request):
 * digitalSignature, plus keyEncipherment for an RSA key, which TLS 1.2's
 * RSA key exchange needs and cluster node-certificate requirements list.
 */
static int rsa_without_encipherment(X509 *cert, uint32_t ku,
                                    struct check_result *r)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);

    if (pub == NULL || !EVP_PKEY_is_a(pub, "RSA")
        || (ku & KU_KEY_ENCIPHERMENT))
        return 0;
    check_set(r, CHECK_WARN, "keyEncipherment missing on an RSA key: the "
              "cluster's node certificate profile is digitalSignature and "
              "keyEncipherment for RSA (peers that negotiate TLS 1.2 RSA "
              "key exchange refuse it otherwise); reissue from a request "
              "made by hsmkey csr, which asks for both; it has: ");
    ku_append(r, ku);
    return 1;
}

void check_key_usage(X509 *cert, struct check_result *r)
{
    uint32_t ku = X509_get_key_usage(cert);
    uint32_t wrong = ku_wrong(ku, X509_get0_pubkey(cert));

    r->item = CHECK_KEY_USAGE;
    if (ca_fail(cert, r))
        return;
    if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE)) {
        check_set(r, CHECK_PASS, "no Key Usage extension: no restriction");
        return;
    }
    if (!(ku & KU_DIGITAL_SIGNATURE)) {
        check_set(r, CHECK_FAIL, "digitalSignature missing: TLS 1.3 and "
                  "ECDHE handshakes cannot use this key; it has: ");
        ku_append(r, ku);
        return;
    }
    if (wrong != 0) {
        check_set(r, CHECK_WARN, "a node certificate should not carry ");
        ku_append(r, wrong);
        check_append(r, ": strict peers may refuse it; it has: ");
        ku_append(r, ku);
        return;
    }
    if (rsa_without_encipherment(cert, ku, r))
        return;
    check_set(r, CHECK_PASS, "%s", "");
    ku_append(r, ku);
}

/* ---- validity ---- */

static const char *date(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;

    if (!ASN1_TIME_to_tm(t, &tm)
        || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "(unreadable date)");
    return buf;
}

/* Seconds from now to t (negative when t is past); 0 on a bad date. */
static long long secs_until(const ASN1_TIME *t, time_t now)
{
    ASN1_TIME *at = ASN1_TIME_set(NULL, now);
    int days = 0, secs = 0;

    if (at == NULL || !ASN1_TIME_diff(&days, &secs, at, t))
        days = secs = 0;
    ASN1_TIME_free(at);
    return (long long)days * SECS_PER_DAY + secs;
}

/* "12 days", "1 day", "5 hours": what a person wants to read. */
static const char *span(long long secs, char *buf, size_t len)
{
    long long days = (secs < 0 ? -secs : secs) / SECS_PER_DAY;
    long long hours = (secs < 0 ? -secs : secs) / 3600;

    if (days > 0)
        snprintf(buf, len, "%lld day%s", days, days == 1 ? "" : "s");
    else
        snprintf(buf, len, "%lld hour%s", hours, hours == 1 ? "" : "s");
    return buf;
}

void check_validity(X509 *cert, time_t now, int warn_days,
                    struct check_result *r)
{
    const ASN1_TIME *nb = X509_get0_notBefore(cert);
    const ASN1_TIME *na = X509_get0_notAfter(cert);
    long long left = secs_until(na, now), ahead = secs_until(nb, now);
    char when[48], howlong[32];

    r->item = CHECK_VALIDITY;
    if (ahead > 0)
        check_set(r, CHECK_FAIL, "not valid before %s (in %s): is this "
                  "machine's clock right?", date(nb, when, sizeof(when)),
                  span(ahead, howlong, sizeof(howlong)));
    else if (left <= 0)
        check_set(r, CHECK_FAIL, "expired on %s (%s ago): renew the "
                  "certificate", date(na, when, sizeof(when)),
                  span(left, howlong, sizeof(howlong)));
    else if (left < (long long)warn_days * SECS_PER_DAY)
        check_set(r, CHECK_WARN, "expires on %s, in %s (inside --warn-days "
                  "%d): renew it soon", date(na, when, sizeof(when)),
                  span(left, howlong, sizeof(howlong)), warn_days);
    else
        check_set(r, CHECK_PASS, "valid until %s (%s left)",
                  date(na, when, sizeof(when)),
                  span(left, howlong, sizeof(howlong)));
}

/* ---- host ---- */

/* The SAN entries as "DNS:a, IP Address:10.0.0.1"; counts DNS names. */
static int san_append(X509 *cert, struct check_result *r)
{
    GENERAL_NAMES *san = X509_get_ext_d2i(cert, NID_subject_alt_name,
                                          NULL, NULL);
    BIO *mem = BIO_new(BIO_s_mem());
    char *text = NULL;
    long n;
    int i, dns = 0;

    for (i = 0; mem != NULL && i < sk_GENERAL_NAME_num(san); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(san, i);

        dns += gn->type == GEN_DNS;
        BIO_puts(mem, i == 0 ? "" : ", ");
        GENERAL_NAME_print(mem, gn);
    }
    n = mem != NULL ? BIO_get_mem_data(mem, &text) : 0;
    check_append(r, "SAN %.*s", n > 0 ? (int)n : 4, n > 0 ? text : "none");
    BIO_free(mem);
    GENERAL_NAMES_free(san);
    return dns;
}

static int is_ip_literal(const char *host)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    int is_ip = ip != NULL;

    ASN1_OCTET_STRING_free(ip);
    return is_ip;
}

static void host_mismatch(X509 *cert, const char *host,
                          struct check_result *r)
{
    char subj[256];

    check_set(r, CHECK_FAIL, "'%s' matches none of the certificate's "
              "names: ", host);
    if (san_append(cert, r) > 0)
        check_append(r, " (the subject is not used when SAN DNS names "
                     "exist)");
    else
        check_append(r, ", subject '%s'", check_name(X509_get_subject_name(
                                              cert), subj, sizeof(subj)));
    /* An address is matched against SAN IP entries only, never DNS. */
    check_append(r, "; reissue with --san %s:%s or connect by a listed name",
                 is_ip_literal(host) ? "IP" : "DNS", host);
}

/* 1 when the certificate has at least one SAN DNS name. */
static int has_dns_san(X509 *cert)
{
    GENERAL_NAMES *san = X509_get_ext_d2i(cert, NID_subject_alt_name,
                                          NULL, NULL);
    int i, dns = 0;

    for (i = 0; i < sk_GENERAL_NAME_num(san); i++)
        dns |= sk_GENERAL_NAME_value(san, i)->type == GEN_DNS;
    GENERAL_NAMES_free(san);
    return dns;
}

void check_host(X509 *cert, const char *host, struct check_result *r)
{
    char *peer = NULL;

    r->item = CHECK_HOST;
    if (is_ip_literal(host)) {
        if (X509_check_ip_asc(cert, host, 0) == 1)
            check_set(r, CHECK_PASS, "%s matches an IP address of the SAN",
                      host);
        else
            host_mismatch(cert, host, r);
        return;
    }
    /* OpenSSL's default is the RFC 6125 rule we want: the subject CN
     * counts only when the SAN has no DNS name. */
    if (X509_check_host(cert, host, 0, 0, &peer) != 1)
        host_mismatch(cert, host, r);
    else if (has_dns_san(cert))
        check_set(r, CHECK_PASS, "'%s' matches SAN DNS:%s", host, peer);
    else
        check_set(r, CHECK_WARN, "'%s' matches only the subject CN: clients "
                  "that ignore the CN (Go, browsers) will refuse it; reissue "
                  "with --san DNS:%s", host, host);
    OPENSSL_free(peer);
}
