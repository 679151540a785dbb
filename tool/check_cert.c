/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_cert.c - item names, results, and reading the certificate and CA
 * files for `hsmkey check` (the `cert` item).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"

/* The one table of item names, indexed by enum check_item. */
static const char *const item_names[CHECK_ITEM_MAX] = {
    [CHECK_CERT] = "cert",
    [CHECK_CHAIN] = "chain",
    [CHECK_KEY_MATCH] = "key-match",
    [CHECK_KEY_PROOF] = "key-proof",
    [CHECK_EKU] = "eku",
    [CHECK_KEY_USAGE] = "key-usage",
    [CHECK_VALIDITY] = "validity",
    [CHECK_HOST] = "host",
    [CHECK_KEY_PROTECTION] = "key-protection",
};

const char *check_item_name(enum check_item item)
{
    if ((unsigned)item >= CHECK_ITEM_MAX)
        return "?";
    return item_names[item];
}

const char *check_status_name(enum check_status status)
{
    switch (status) {
    case CHECK_PASS:
        return "PASS";
    case CHECK_WARN:
        return "WARN";
    case CHECK_FAIL:
        return "FAIL";
    }
    return "FAIL";
}

/* Formats at offset off of the detail; a cut detail ends in "...". */
static void detail_vformat(struct check_result *r, size_t off,
                           const char *fmt, va_list ap)
{
    size_t room = sizeof(r->detail) - off;
    int n = vsnprintf(r->detail + off, room, fmt, ap);

    if (n >= 0 && (size_t)n >= room)
        memcpy(r->detail + sizeof(r->detail) - 4, "...", 4);
    /* Names come from the certificate: a newline in a SAN must not start a
     * line of its own in the output (a forged "PASS ..."). */
    for (char *c = r->detail + off; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

void check_set(struct check_result *r, enum check_status status,
               const char *fmt, ...)
{
    va_list ap;

    r->status = status;
    va_start(ap, fmt);
    detail_vformat(r, 0, fmt, ap);
    va_end(ap);
}

void check_append(struct check_result *r, const char *fmt, ...)
{
    va_list ap;
    size_t off = strlen(r->detail);

    if (off + 1 >= sizeof(r->detail))
        return;
    va_start(ap, fmt);
    detail_vformat(r, off, fmt, ap);
    va_end(ap);
}

const char *check_name(const X509_NAME *name, char *buf, size_t len)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;

    buf[0] = '\0';
    if (mem == NULL)
        return buf;
    /* One line with MSB bytes escaped, so the name is safe in JSON too. */
    if (X509_NAME_print_ex(mem, name, 0,
                           XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) >= 0)
        n = BIO_get_mem_data(mem, &data);
    if (n > 0)
        snprintf(buf, len, "%.*s", (int)n, data);
    BIO_free(mem);
    return buf;
}

/* The first OpenSSL error's reason, for "bad PEM" style details. */
static const char *last_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;

    snprintf(buf, len, "%s", reason ? reason : "no certificate found");
    ERR_clear_error();
    return buf;
}

/*
 * Every certificate in path: PEM blocks of any number, or one DER
 * certificate (what `openssl x509 -outform DER` and many CAs hand out).
 * Other PEM blocks (a key-reference, a key) are skipped.
 */
static STACK_OF(X509) *read_certs(const char *path, char *why, size_t len)
{
    BIO *in = BIO_new_file(path, "rb");
    STACK_OF(X509) *certs = sk_X509_new_null();
    STACK_OF(X509_INFO) *infos = NULL;
    X509 *der = NULL;
    int i;

    if (in == NULL || certs == NULL) {
        snprintf(why, len, "cannot read it: %s", strerror(errno));
        goto err;
    }
    infos = PEM_X509_INFO_read_bio(in, NULL, NULL, NULL);
    for (i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);

        if (info->x509 != NULL && sk_X509_push(certs, info->x509) > 0)
            info->x509 = NULL;
    }
    if (sk_X509_num(certs) == 0 && BIO_reset(in) == 0
        && (der = d2i_X509_bio(in, NULL)) != NULL && sk_X509_push(certs, der))
        der = NULL;
    if (sk_X509_num(certs) == 0) {
        char reason[128];

        snprintf(why, len, "no certificate in it (PEM or DER): %s",
                 last_reason(reason, sizeof(reason)));
        goto err;
    }
    ERR_clear_error(); /* PEM blocks we skipped are not errors */
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(in);
    return certs;
err:
    X509_free(der);
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(in);
    return NULL;
}

int check_cert_load(const char *path, X509 **leaf, STACK_OF(X509) **extra,
                    struct check_result *r)
{
    STACK_OF(X509) *certs;
    char why[256], subj[256], issuer[256];
    int more;

    r->item = CHECK_CERT;
    *leaf = NULL;
    *extra = NULL;
    certs = read_certs(path, why, sizeof(why));
    if (certs == NULL) {
        check_set(r, CHECK_FAIL, "%s: %s", path, why);
        return 0;
    }
    *leaf = sk_X509_shift(certs);
    *extra = certs;
    more = sk_X509_num(certs);
    check_set(r, CHECK_PASS, "subject '%s', issuer '%s'",
              check_name(X509_get_subject_name(*leaf), subj, sizeof(subj)),
              check_name(X509_get_issuer_name(*leaf), issuer, sizeof(issuer)));
    if (more > 0)
        check_append(r, "; %d more certificate%s in the file", more,
                     more == 1 ? "" : "s");
    return 1;
}

int check_ca_load(const char *path, STACK_OF(X509) **cas,
                  struct check_result *r)
{
    char why[256];

    r->item = CHECK_CHAIN;
    *cas = read_certs(path, why, sizeof(why));
    if (*cas != NULL)
        return 1;
    check_set(r, CHECK_FAIL, "--ca %s: %s", path, why);
    return 0;
}
