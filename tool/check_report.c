/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_report.c - what `hsmkey check` prints beside each item's line:
 * the structured fields of --json, which a monitoring system reads instead
 * of parsing text (dates in ISO 8601 UTC, days left as a number, names, the
 * SAN as a list, the verified chain and every certificate given), and in
 * text the certificates given, under a chain that did not pass.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "check_report.h"

#define SECS_PER_DAY 86400LL

static void json_name(struct tool_json *j, const char *key,
                      const X509_NAME *name)
{
    char buf[512];

    tool_json_string(j, key, check_name(name, buf, sizeof(buf)));
}

static void json_time(struct tool_json *j, const char *key,
                      const ASN1_TIME *t)
{
    struct tm tm;
    char buf[32];

    if (t != NULL && ASN1_TIME_to_tm(t, &tm)
        && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
        tool_json_string(j, key, buf);
    else
        tool_json_null(j, key);
}

/* Whole days from now to notAfter, rounded down: -1 the day after. */
static void json_days_left(struct tool_json *j, X509 *cert, time_t now)
{
    ASN1_TIME *at = ASN1_TIME_set(NULL, now);
    int days = 0, secs = 0;
    long long total;

    if (at == NULL
        || !ASN1_TIME_diff(&days, &secs, at, X509_get0_notAfter(cert))) {
        tool_json_null(j, "days_left");
    } else {
        total = (long long)days * SECS_PER_DAY + secs;
        tool_json_int(j, "days_left", total >= 0 ? total / SECS_PER_DAY
                                                 : -((-total + SECS_PER_DAY
                                                      - 1) / SECS_PER_DAY));
    }
    ASN1_TIME_free(at);
}

/* "IP:10.0.0.1", "IP:fd00::1": the --san spelling. */
static void ip_text(const ASN1_OCTET_STRING *ip, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    int n = ASN1_STRING_length(ip);

    if (n == 4 || n == 16)
        inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip),
                  addr, sizeof(addr));
    snprintf(buf, len, "IP:%s", addr);
}

/* One SAN entry with the prefix hsmkey csr --san takes. */
static void san_text(const GENERAL_NAME *gn, char *buf, size_t len)
{
    const ASN1_IA5STRING *s = NULL;
    const char *prefix = NULL;

    switch (gn->type) {
    case GEN_DNS:
        prefix = "DNS:", s = gn->d.dNSName;
        break;
    case GEN_URI:
        prefix = "URI:", s = gn->d.uniformResourceIdentifier;
        break;
    case GEN_EMAIL:
        prefix = "email:", s = gn->d.rfc822Name;
        break;
    case GEN_IPADD:
        ip_text(gn->d.iPAddress, buf, len);
        return;
    default:
        snprintf(buf, len, "other:%d", gn->type);
        return;
    }
    snprintf(buf, len, "%s%.*s", prefix, ASN1_STRING_length(s),
             (const char *)ASN1_STRING_get0_data(s));
}

static void json_san(struct tool_json *j, X509 *cert)
{
    GENERAL_NAMES *san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
                                          NULL);
    char buf[512];

    tool_json_begin_array(j, "san");
    for (int i = 0; i < sk_GENERAL_NAME_num(san); i++) {
        san_text(sk_GENERAL_NAME_value(san, i), buf, sizeof(buf));
        tool_json_string(j, NULL, buf);
    }
    tool_json_end_array(j);
    GENERAL_NAMES_free(san);
}

static void json_keyids(struct tool_json *j, X509 *x)
{
    char id[CHECK_KEYID_MAX];

    if (*check_ski(x, id, sizeof(id)))
        tool_json_string(j, "ski", id);
    else
        tool_json_null(j, "ski");
    if (*check_aki(x, id, sizeof(id)))
        tool_json_string(j, "aki", id);
    else
        tool_json_null(j, "aki");
}

static void json_dates(struct tool_json *j, X509 *cert, time_t now)
{
    json_time(j, "not_before", X509_get0_notBefore(cert));
    json_time(j, "not_after", X509_get0_notAfter(cert));
    json_days_left(j, cert, now);
}

static void cert_fields(struct tool_json *j, const struct check_facts *f)
{
    json_name(j, "subject", X509_get_subject_name(f->leaf));
    json_name(j, "issuer", X509_get_issuer_name(f->leaf));
    json_dates(j, f->leaf, f->now);
    json_san(j, f->leaf);
    json_keyids(j, f->leaf);
}

/* A certificate of a chain or a file: who it is and its key ids. */
static void cert_object(struct tool_json *j, X509 *x, const char *file,
                        int index)
{
    tool_json_begin_object(j, NULL);
    if (file != NULL) {
        tool_json_string(j, "file", file);
        tool_json_int(j, "index", index);
    }
    tool_json_string(j, "role", check_role_name(check_cert_role(x)));
    json_name(j, "subject", X509_get_subject_name(x));
    json_name(j, "issuer", X509_get_issuer_name(x));
    json_keyids(j, x);
    json_time(j, "not_after", X509_get0_notAfter(x));
    tool_json_end_object(j);
}

static void chain_fields(struct tool_json *j, const struct check_facts *f)
{
    static const char *const files[] = { "--cert", "--ca" };
    STACK_OF(X509) *given[2] = { f->in->cert_file, f->in->ca_file };

    if (f->verified == NULL) {
        tool_json_null(j, "chain");
    } else {
        tool_json_begin_array(j, "chain");
        for (int i = 0; i < sk_X509_num(f->verified); i++)
            cert_object(j, sk_X509_value(f->verified, i), NULL, 0);
        tool_json_end_array(j);
    }
    tool_json_begin_array(j, "certificates");
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < sk_X509_num(given[k]); i++)
            cert_object(j, sk_X509_value(given[k], i), files[k], i + 1);
    tool_json_end_array(j);
}

void check_json_fields(struct tool_json *j, enum check_item item,
                       const struct check_facts *f)
{
    if (f->leaf == NULL)
        return; /* the files could not be read: nothing to describe */
    switch (item) {
    case CHECK_CERT:
        cert_fields(j, f);
        break;
    case CHECK_CHAIN:
        chain_fields(j, f);
        break;
    case CHECK_VALIDITY:
        json_dates(j, f->leaf, f->now);
        break;
    case CHECK_HOST:
        tool_json_string(j, "host", f->host);
        json_san(j, f->leaf);
        break;
    default:
        break;
    }
}

void check_print_certificates(FILE *out, const struct check_inputs *in)
{
    static const char *const files[] = { "--cert", "--ca" };
    STACK_OF(X509) *given[2] = { in->cert_file, in->ca_file };
    char line[1024];

    for (int k = 0; k < 2; k++)
        for (int i = 0; i < sk_X509_num(given[k]); i++) {
            check_cert_summary(sk_X509_value(given[k], i), line,
                               sizeof(line));
            /* Names come from the files: no control character may start
             * a line of its own. */
            for (char *c = line; *c != '\0'; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?';
            fprintf(out, "  %s #%d: %s\n", files[k], i + 1, line);
        }
}
