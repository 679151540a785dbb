/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x509util.c - subject, SAN and usage extensions of node certificates and
 * requests (see x509util.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tool.h"
#include "x509util.h"

/* ---- subject ---- */

/* The next '/'-separated part of *p, '\'-escapes resolved in place. */
static char *next_part(char **p)
{
    char *start = *p, *out = *p, *in = *p;

    if (*in == '\0')
        return NULL;
    for (; *in != '\0' && *in != '/'; in++) {
        if (*in == '\\' && in[1] != '\0')
            in++;
        *out++ = *in;
    }
    *p = *in == '/' ? in + 1 : in;
    *out = '\0';
    return start;
}

static int add_part(X509_NAME *name, const char *opt, char *part)
{
    char *eq = strchr(part, '=');
    unsigned long e;

    if (eq == NULL || eq == part || eq[1] == '\0') {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: '%s' is not TYPE=value "
                     "(e.g. /CN=node1.example.com/O=Example)", opt, part);
        return 0;
    }
    *eq = '\0';
    if (X509_NAME_add_entry_by_txt(name, part, MBSTRING_UTF8,
                                   (const unsigned char *)eq + 1, -1, -1, 0))
        return 1;
    e = ERR_peek_last_error();
    ERR_clear_error();
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: cannot use %s='%s': %s", opt,
                 part, eq + 1,
                 ERR_GET_REASON(e) == X509_R_INVALID_FIELD_NAME
                     ? "unknown attribute type (CN, O, OU, L, ST, C, ...)"
                     : ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                                  : "rejected by OpenSSL");
    return 0;
}

X509_NAME *tool_x509_name(const char *opt, const char *text)
{
    X509_NAME *name = X509_NAME_new();
    char *copy = OPENSSL_strdup(text), *p, *part;

    if (name == NULL || copy == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        goto err;
    }
    if (copy[0] != '/') {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s '%s': expected the "
                     "/CN=name/O=org form", opt, text);
        goto err;
    }
    p = copy + 1;
    while ((part = next_part(&p)) != NULL)
        if (*part != '\0' && !add_part(name, opt, part))
            goto err;
    if (X509_NAME_entry_count(name) == 0) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s '%s': no attribute in it",
                     opt, text);
        goto err;
    }
    OPENSSL_free(copy);
    return name;
err:
    OPENSSL_free(copy);
    X509_NAME_free(name);
    return NULL;
}

char *tool_x509_name_text(const X509_NAME *name)
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long n;

    if (mem != NULL
        && X509_NAME_print_ex(mem, name, 0,
                              XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) >= 0
        && (n = BIO_get_mem_data(mem, &data)) >= 0)
        out = OPENSSL_strndup(data, (size_t)n);
    BIO_free(mem);
    return out;
}

/* ---- subjectAltName ---- */

static const struct {
    const char *prefix;
    int type;
} san_types[] = {
    { "DNS:", GEN_DNS },
    { "IP:", GEN_IPADD },
    { "URI:", GEN_URI },
    { "email:", GEN_EMAIL },
};

static GENERAL_NAME *san_entry(const char *entry)
{
    size_t i, n;
    const char *v;
    GENERAL_NAME *gn;

    for (i = 0; i < sizeof(san_types) / sizeof(san_types[0]); i++) {
        n = strlen(san_types[i].prefix);
        if (strncasecmp(entry, san_types[i].prefix, n) != 0)
            continue;
        for (v = entry + n; *v != '\0' && isgraph((unsigned char)*v); v++)
            ;
        gn = *v == '\0' && v > entry + n
                 ? a2i_GENERAL_NAME(NULL, NULL, NULL, san_types[i].type,
                                    entry + n, 0)
                 : NULL;
        ERR_clear_error();
        if (gn == NULL)
            hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--san: '%s' is not a valid "
                         "%.*s name", entry, (int)n - 1, san_types[i].prefix);
        return gn;
    }
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--san: '%s' has no known type "
                 "(DNS:, IP:, URI: or email:)", entry);
    return NULL;
}

static GENERAL_NAMES *san_parse(const char *text)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    char *copy = OPENSSL_strdup(text), *save = NULL, *tok;
    GENERAL_NAME *gn;

    if (gens == NULL || copy == NULL)
        goto err;
    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if ((gn = san_entry(tok)) == NULL)
            goto err;
        if (!sk_GENERAL_NAME_push(gens, gn)) {
            GENERAL_NAME_free(gn);
            goto err;
        }
    }
    if (sk_GENERAL_NAME_num(gens) == 0) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--san '%s': no name in it", text);
        goto err;
    }
    OPENSSL_free(copy);
    return gens;
err:
    OPENSSL_free(copy);
    GENERAL_NAMES_free(gens);
    return NULL;
}

/* ---- the extension set ---- */

static int push_conf(STACK_OF(X509_EXTENSION) **exts, int nid,
                     const char *value, const char *opt)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

    if (ext == NULL || !X509v3_add_ext(exts, ext, -1)) {
        ERR_clear_error();
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s '%s': not a valid list "
                     "(e.g. serverAuth,clientAuth)", opt, value);
        X509_EXTENSION_free(ext);
        return 0;
    }
    X509_EXTENSION_free(ext);
    return 1;
}

/*
 * An EKU list is names or OIDs separated by commas.  OpenSSL's parser also
 * takes "DER:" / "ASN1:" raw forms, which would let any bytes into the
 * extension (a fuzzer made one that does not decode): refused.
 */
static int eku_list_ok(const char *v)
{
    if (*v == '\0' || *v == ',')
        return 0;
    for (; *v != '\0'; v++)
        if (!isalnum((unsigned char)*v) && *v != '.' && *v != '-'
            && *v != ',')
            return 0;
    return v[-1] != ',';
}

int tool_x509_node_exts(STACK_OF(X509_EXTENSION) **exts, const EVP_PKEY *pub,
                        const char *san, const char *eku)
{
    GENERAL_NAMES *gens = NULL;
    int ok = 0;

    /* keyEncipherment only where it means something: RSA key transport. */
    if (!push_conf(exts, NID_key_usage,
                   pub != NULL && EVP_PKEY_is_a(pub, "RSA")
                       ? "critical,digitalSignature,keyEncipherment"
                       : "critical,digitalSignature",
                   "key usage"))
        return 0;
    if (eku == NULL)
        eku = TOOL_X509_DEFAULT_EKU;
    if (strcmp(eku, "none") != 0 && !eku_list_ok(eku)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--eku '%s': not a list of "
                     "names or OIDs (e.g. serverAuth,clientAuth)", eku);
        return 0;
    }
    if (strcmp(eku, "none") != 0
        && !push_conf(exts, NID_ext_key_usage, eku, "--eku"))
        return 0;
    if (san == NULL)
        return 1;
    if ((gens = san_parse(san)) == NULL)
        return 0;
    ok = X509V3_add1_i2d(exts, NID_subject_alt_name, gens, 0,
                         X509V3_ADD_APPEND) == 1;
    if (!ok)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot encode the SAN '%s'", san);
    GENERAL_NAMES_free(gens);
    return ok;
}

const char *tool_x509_digest(const EVP_PKEY *key)
{
    if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
        return NULL;
    return "SHA256";
}
