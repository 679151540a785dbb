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

/*
 * The next part of *p up to an unescaped sep, '\'-escapes resolved in
 * place; NULL at the end.  In the printed form (sep ',') a value in double
 * quotes may hold the separator: openssl prints O="Example, Inc.".
 */
static char *next_part(char **p, char sep)
{
    char *start = *p, *out = *p, *in = *p;
    int quoted = 0;

    if (*in == '\0')
        return NULL;
    for (; *in != '\0' && (*in != sep || quoted); in++) {
        if (*in == '\\' && in[1] != '\0') {
            in++;
        } else if (*in == '"' && sep == ',') {
            quoted = !quoted;
            continue;
        }
        *out++ = *in;
    }
    *p = *in == sep ? in + 1 : in;
    *out = '\0';
    return start;
}

/* Blanks around a type or value of the printed form ("CN = a, O = b"). */
static char *trim(char *s)
{
    char *end = s + strlen(s);

    while (*s == ' ' || *s == '\t')
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    return s;
}

static int add_part(X509_NAME *name, const char *opt, char *part, int comma)
{
    char *eq = strchr(part, '='), *type = part, *value;
    unsigned long e;

    if (eq != NULL) {
        *eq = '\0';
        value = eq + 1;
        if (comma) {
            type = trim(type);
            value = trim(value);
        }
    }
    if (eq == NULL || *type == '\0' || *value == '\0') {
        if (eq != NULL)
            *eq = '=';
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: '%s' is not TYPE=value "
                     "(e.g. /CN=node1.example.com/O=Example or "
                     "'CN=node1.example.com, O=Example')", opt, part);
        return 0;
    }
    if (X509_NAME_add_entry_by_txt(name, type, MBSTRING_UTF8,
                                   (const unsigned char *)value, -1, -1, 0))
        return 1;
    e = ERR_peek_last_error();
    ERR_clear_error();
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: cannot use %s='%s': %s", opt,
                 type, value,
                 ERR_GET_REASON(e) == X509_R_INVALID_FIELD_NAME
                     ? "unknown attribute type (CN, O, OU, L, ST, C, ...)"
                     : ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                                  : "rejected by OpenSSL");
    return 0;
}

/*
 * Two spellings, in the order given: OpenSSL's -subj form
 * "/CN=a/O=b" ('\' escapes '/'), and the form hsmkey and openssl print,
 * "CN=a, O=b" ('\' escapes ','), so a subject copied from `hsmkey check`
 * or `openssl x509 -subject` is taken as it is.
 */
X509_NAME *tool_x509_name(const char *opt, const char *text)
{
    X509_NAME *name = X509_NAME_new();
    char *copy = OPENSSL_strdup(text), *p, *part;
    int comma;

    if (name == NULL || copy == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        goto err;
    }
    comma = copy[0] != '/';
    if (comma && strchr(copy, '=') == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s '%s': expected the "
                     "/CN=name/O=org or 'CN=name, O=org' form", opt, text);
        goto err;
    }
    p = comma ? copy : copy + 1;
    while ((part = next_part(&p, comma ? ',' : '/')) != NULL)
        if (*trim(part) != '\0' && !add_part(name, opt, part, comma))
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

/* The purposes people mean; OpenSSL's names are case-sensitive. */
static const char *const eku_names[] = {
    "serverAuth", "clientAuth", "codeSigning", "emailProtection",
    "timeStamping", "OCSPSigning", "ipsecIKE", "anyExtendedKeyUsage",
};

/* One entry of an EKU list that OpenSSL does not know: named, with the
 * spelling it probably meant. */
static int eku_entry_ok(const char *entry, size_t len)
{
    char buf[64];
    ASN1_OBJECT *obj;
    size_t i;

    snprintf(buf, sizeof(buf), "%.*s", (int)len, entry);
    if ((obj = OBJ_txt2obj(buf, 0)) != NULL) {
        ASN1_OBJECT_free(obj);
        return 1;
    }
    ERR_clear_error();
    for (i = 0; i < sizeof(eku_names) / sizeof(eku_names[0]); i++)
        if (strcasecmp(buf, eku_names[i]) == 0)
            break;
    if (i < sizeof(eku_names) / sizeof(eku_names[0]))
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--eku: '%s' is not an Extended "
                     "Key Usage name: did you mean %s? (names are "
                     "case-sensitive)", buf, eku_names[i]);
    else
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--eku: '%s' is not an Extended "
                     "Key Usage name or OID (serverAuth, clientAuth, "
                     "codeSigning, emailProtection, ... or 1.3.6.1.5.5.7.3.1)",
                     buf);
    return 0;
}

/* The list's form, then each entry. */
static int eku_check(const char *eku)
{
    const char *p = eku;

    if (!eku_list_ok(eku)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--eku '%s': not a list of "
                     "names or OIDs (e.g. serverAuth,clientAuth)", eku);
        return 0;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ",");

        if (!eku_entry_ok(p, n))
            return 0;
        p += n + (p[n] == ',');
    }
    return 1;
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
    if (strcmp(eku, "none") != 0 && !eku_check(eku))
        return 0;
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
