/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uri.c - RFC 7512 URIs, parsed by p11-kit.
 *
 * p11-kit parses and matches; this file adds the strictness a key provider
 * needs: an attribute p11-kit does not recognize (or a value it could not
 * use) is an error that names the attribute, never a wildcard.
 */
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "core.h"

static const char *const path_attrs[] = {
    "id", "library-description", "library-manufacturer", "library-version",
    "manufacturer", "model", "object", "serial", "slot-description",
    "slot-id", "slot-manufacturer", "token", "type", NULL
};
static const char *const query_attrs[] = {
    "pin-source", "pin-value", "module-name", "module-path", NULL
};
static const char *const object_types[] = {
    "cert", "data", "private", "public", "secret-key", NULL
};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list != NULL; list++)
        if (strlen(*list) == n && strncasecmp(*list, s, n) == 0)
            return 1;
    return 0;
}

/*
 * Text from the URI goes into a message only when it looks like the name
 * or value of an attribute: a user who typed a PIN in the wrong place (or
 * a pin-value run into another attribute) must not find it in a log.
 */
static int echoable(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* "unknown path attribute 'foo'", or the same without the text when it is
 * not a plain name. */
static int refuse_name(const char *what, const char *name, size_t n)
{
    if (echoable(name, n))
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: unknown %s '%.*s'", what,
                     (int)n, name);
    else
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: unknown %s (not shown: "
                     "not a plain name)", what);
    return 0;
}

/*
 * A known attribute on the wrong side of '?': say where it goes rather
 * than calling it unknown.  A PIN in the path is the common case, and a
 * pin-source keeps it out of the URI altogether.  1 when it recognized
 * the attribute and raised; 0 leaves the message to the caller.
 */
static int misplaced(char sep, const char *name, size_t n)
{
    int pin = n == 9 && strncasecmp(name, "pin-value", 9) == 0;

    if (sep == ';' && in_list(query_attrs, name, n))
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: '%.*s' is a query "
                     "attribute: it goes after '?', not among the ';' path "
                     "attributes (pkcs11:token=T;object=K?%.*s=...)%s",
                     (int)n, name, (int)n, name,
                     pin ? "; better still, keep the PIN out of the URI with "
                           "a pin-source (file:PATH)" : "");
    else if (sep == '&' && in_list(path_attrs, name, n))
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: '%.*s' is a path "
                     "attribute: it goes before '?', separated by ';' "
                     "(pkcs11:token=T;%.*s=...)", (int)n, name, (int)n, name);
    else
        return 0;
    return 1;
}

static int refuse_type(const char *value, size_t n)
{
    if (echoable(value, n))
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: type='%.*s' is not one "
                     "of private, public, cert, secret-key, data", (int)n,
                     value);
    else
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: the type= value (not "
                     "shown: not a plain name) is not one of private, public, "
                     "cert, secret-key, data");
    return 0;
}

/* p11-kit would cut a text value at an encoded NUL and match what is left;
 * only id= is binary.  p11-kit drops whitespace inside a value before
 * decoding it, so "%\v00" is a NUL too (a fuzzer find). */
static int has_nul(const char *name, size_t n, const char *value, size_t vlen)
{
    int matched = 0; /* characters of "%00" seen, whitespace left out */

    if (n == 2 && strncasecmp(name, "id", 2) == 0)
        return 0;
    for (size_t i = 0; i < vlen && matched < 3; i++) {
        unsigned char c = (unsigned char)value[i];

        if (isspace(c))
            continue;
        if (c == '%')
            matched = 1;
        else if (c == '0' && matched > 0)
            matched++;
        else
            matched = 0;
    }
    return matched == 3;
}

/*
 * p11-kit keeps the last of a repeated attribute ("object=a;object=b" is
 * b, "type=public;type=private" a private key): a URI that says two things
 * is refused instead of read as its last word.  1 when the segment named
 * name (n bytes) at p is not the first of that name in part.
 */
static int repeated(const char *part, const char *p, char sep,
                    const char *name, size_t n)
{
    const char *q = part;

    while (q < p) {
        const char *next = memchr(q, sep, p - q);
        const char *eq;
        size_t m;

        next = next ? next : p;
        eq = memchr(q, '=', next - q);
        m = (eq ? eq : next) - q;
        if (m == n && strncasecmp(q, name, n) == 0)
            return 1;
        q = next + 1;
    }
    return 0;
}

/*
 * Name the first attribute of one URI part that is not in known, given
 * twice, or whose value p11-kit would ignore (type=).  Only names are
 * looked at: decoding is p11-kit's job.
 */
static int check_part(const char *part, size_t len, char sep,
                      const char *const *known, const char *what)
{
    const char *p = part, *end = part + len;

    while (p < end) {
        const char *next = memchr(p, sep, end - p);
        const char *eq;
        size_t n;

        next = next ? next : end;
        eq = memchr(p, '=', next - p);
        n = (eq ? eq : next) - p;
        /* p11-kit stops at an empty segment, dropping what follows: a URI
         * would silently match more than it names. */
        if (n == 0) {
            hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: an empty %s "
                         "(\"%c%c\" or a missing name)", what, sep, sep);
            return 0;
        }
        if (!in_list(known, p, n)) {
            if (!misplaced(sep, p, n))
                refuse_name(what, p, n);
            return 0;
        }
        if (repeated(part, p, sep, p, n)) {
            hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: the %s '%.*s' is "
                         "given twice", what, (int)n, p);
            return 0;
        }
        if (eq != NULL && n == 4 && strncasecmp(p, "type", 4) == 0
            && !in_list(object_types, eq + 1, next - eq - 1))
            return refuse_type(eq + 1, next - eq - 1);
        if (eq != NULL && has_nul(p, n, eq + 1, next - eq - 1)) {
            hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI: a text value holds "
                         "an encoded NUL byte (%%00)");
            return 0;
        }
        p = next + (next < end);
    }
    return 1;
}

static int check_names(const char *str)
{
    const char *path = str + strlen(P11_KIT_URI_SCHEME) + 1;
    const char *query = strchr(path, '?');
    size_t pathlen = query ? (size_t)(query - path) : strlen(path);

    if (!check_part(path, pathlen, ';', path_attrs, "path attribute"))
        return 0;
    return query == NULL
           || check_part(query + 1, strlen(query + 1), '&', query_attrs,
                         "query attribute");
}

P11KitUri *hsmkey_uri_parse(const char *str)
{
    P11KitUri *uri;
    int rc;

    if (str == NULL || strncasecmp(str, "pkcs11:", 7) != 0) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "not a pkcs11: URI");
        return NULL;
    }
    if ((uri = p11_kit_uri_new()) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    rc = p11_kit_uri_parse(str, P11_KIT_URI_FOR_ANY, uri);
    if (rc != P11_KIT_URI_OK) {
        /* The text may hold a pin-value: it is not repeated here. */
        hsmkey_raise(HSMKEY_R_BAD_URI, "malformed pkcs11: URI: %s",
                     p11_kit_uri_message(rc));
        goto err;
    }
    if (!check_names(str))
        goto err;
    if (p11_kit_uri_any_unrecognized(uri)) {
        hsmkey_raise(HSMKEY_R_BAD_URI, "pkcs11: URI has a value p11-kit "
                     "cannot use");
        goto err;
    }
    return uri;
err:
    p11_kit_uri_free(uri);
    return NULL;
}

int hsmkey_uri_names_object(P11KitUri *uri)
{
    CK_ULONG n = 0;

    p11_kit_uri_get_attributes(uri, &n);
    return n > 0;
}

char *hsmkey_uri_display(P11KitUri *uri)
{
    char *text = NULL, *out = NULL, *pin = NULL;
    const char *value = p11_kit_uri_get_pin_value(uri);

    if (value != NULL && (pin = OPENSSL_strdup(value)) == NULL)
        return NULL;
    p11_kit_uri_set_pin_value(uri, NULL);
    if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_ANY, &text) == P11_KIT_URI_OK)
        out = OPENSSL_strdup(text);
    free(text);
    if (pin != NULL) {
        p11_kit_uri_set_pin_value(uri, pin);
        OPENSSL_clear_free(pin, strlen(pin));
    }
    return out;
}
