/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyref.c - the key-reference file, byte-compatible with what
 * latchset/pkcs11-provider writes:
 *
 *   SEQUENCE { desc VisibleString, uri UTF8String }  in a PEM block
 *
 * The decoder is strict about the structure (exactly these two
 * primitive strings, nothing trailing, exact desc, a pkcs11: URI without
 * control characters) because its output is handed straight to the URI
 * matcher as if a user had typed it.  It takes any definite BER length
 * (long form, leading zero bytes), as pkcs11-provider does and some tools
 * write it; the encoder writes DER.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <p11-kit/uri.h>

#include "hsmkey/err.h"

#include "hsmkey/keyref.h"

/* Far above any real URI; keeps a hostile file from costing much. */
#define KEYREF_MAX_LEN (64 * 1024)

struct keyref_asn1 {
    ASN1_VISIBLESTRING *desc;
    ASN1_UTF8STRING *uri;
};

/* A struct tag rather than a typedef: our style keeps no typedefs. */
ASN1_SEQUENCE(keyref_asn1) = {
    ASN1_SIMPLE(struct keyref_asn1, desc, ASN1_VISIBLESTRING),
    ASN1_SIMPLE(struct keyref_asn1, uri, ASN1_UTF8STRING),
} static_ASN1_SEQUENCE_END_name(struct keyref_asn1, keyref_asn1)

#define KEYREF_IT ASN1_ITEM_rptr(keyref_asn1)

static const char *name_or_default(const char *name)
{
    return name != NULL ? name : "key reference";
}

/* Checks shared by both directions, so we never write what we refuse. */
static int uri_is_acceptable(const char *name, const unsigned char *uri,
                             size_t len)
{
    size_t i;

    if (len > KEYREF_MAX_LEN) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: URI is longer than %d bytes",
                     name, KEYREF_MAX_LEN);
        return 0;
    }
    if (len < 7 || strncasecmp((const char *)uri, "pkcs11:", 7) != 0) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: URI is not a pkcs11: URI",
                     name);
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (uri[i] < 0x20 || uri[i] == 0x7f) {
            hsmkey_raise(HSMKEY_R_BAD_INPUT,
                         "%s: URI contains a control character at offset %zu",
                         name, i);
            return 0;
        }
    }
    return 1;
}

/* A value inside the input: where it starts and its length. */
struct tlv {
    const unsigned char *v;
    size_t len;
};

/*
 * One element at *p (before end) with tag byte `tag` (identifier and
 * primitive/constructed bit alike, so a constructed string is a wrong type)
 * and a definite length in any BER form: short, or long with any number of
 * leading zero bytes.  0 for the indefinite form (0x80), the reserved one
 * (0xff), and a length that runs past end.  *p moves past the element.
 */
static int read_tlv(const unsigned char **p, const unsigned char *end,
                    unsigned char tag, struct tlv *out)
{
    const unsigned char *q = *p;
    size_t len = 0, nbytes;

    if (end - q < 2 || q[0] != tag)
        return 0;
    q++;
    if (*q < 0x80) {
        len = *q++;
    } else {
        if (*q == 0x80 || *q == 0xff)
            return 0;
        nbytes = *q++ & 0x7f;
        if ((size_t)(end - q) < nbytes)
            return 0;
        for (; nbytes > 0; nbytes--) {
            if (len > (SIZE_MAX >> 8))
                return 0;
            len = (len << 8) | *q++;
        }
    }
    if ((size_t)(end - q) < len)
        return 0;
    out->v = q;
    out->len = len;
    *p = q + len;
    return 1;
}

/* SEQUENCE { desc VisibleString, uri UTF8String }, exactly. */
static int parse_ber(const char *name, const unsigned char *der, size_t len,
                     struct tlv *desc, struct tlv *uri)
{
    const unsigned char *p = der, *end = der + len, *in;
    struct tlv seq;

    if (!read_tlv(&p, end, 0x30, &seq)) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: not a SEQUENCE { VisibleString, "
                     "UTF8String } with definite lengths", name);
        return 0;
    }
    in = seq.v;
    if (!read_tlv(&in, seq.v + seq.len, 0x1a, desc)
        || !read_tlv(&in, seq.v + seq.len, 0x0c, uri)
        || in != seq.v + seq.len) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: not a SEQUENCE { VisibleString, "
                     "UTF8String } with definite lengths", name);
        return 0;
    }
    if (p != end) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: %zu trailing bytes after the DER",
                     name, (size_t)(end - p));
        return 0;
    }
    return 1;
}

static char *decode_named(const char *name, const unsigned char *der,
                          size_t len)
{
    struct tlv desc, uri;
    size_t want = strlen(HSMKEY_KEYREF_DESC);
    char *out;

    if (len == 0 || len > KEYREF_MAX_LEN) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: DER length %zu out of range",
                     name, len);
        return NULL;
    }
    if (!parse_ber(name, der, len, &desc, &uri))
        return NULL;
    if (desc.len != want || memcmp(desc.v, HSMKEY_KEYREF_DESC, want) != 0) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: description is not \"%s\"",
                     name, HSMKEY_KEYREF_DESC);
        return NULL;
    }
    if (!uri_is_acceptable(name, uri.v, uri.len))
        return NULL;
    out = OPENSSL_strndup((const char *)uri.v, uri.len);
    if (out == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "%s: out of memory", name);
    return out;
}

char *hsmkey_keyref_decode_der(const unsigned char *der, size_t len)
{
    hsmkey_return_val_if_fail(der != NULL, NULL);
    return decode_named(name_or_default(NULL), der, len);
}

static struct keyref_asn1 *keyref_new(const char *uri, size_t len)
{
    struct keyref_asn1 *ref = (struct keyref_asn1 *)ASN1_item_new(KEYREF_IT);

    if (ref == NULL)
        return NULL;
    if (!ASN1_STRING_set(ref->desc, HSMKEY_KEYREF_DESC, -1)
        || !ASN1_STRING_set(ref->uri, uri, (int)len)) {
        ASN1_item_free((ASN1_VALUE *)ref, KEYREF_IT);
        return NULL;
    }
    return ref;
}

int hsmkey_keyref_encode_der(const char *uri, unsigned char **der,
                             size_t *len)
{
    struct keyref_asn1 *ref;
    unsigned char *out = NULL;
    size_t urilen;
    int n;

    hsmkey_return_val_if_fail(uri != NULL && der != NULL && len != NULL, 0);
    urilen = strlen(uri);
    if (!uri_is_acceptable(name_or_default(NULL),
                           (const unsigned char *)uri, urilen))
        return 0;
    ref = keyref_new(uri, urilen);
    n = ref != NULL ? ASN1_item_i2d((const ASN1_VALUE *)ref, &out, KEYREF_IT)
                    : -1;
    ASN1_item_free((ASN1_VALUE *)ref, KEYREF_IT);
    if (n <= 0) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "key reference: encoding failed");
        return 0;
    }
    *der = out;
    *len = (size_t)n;
    return 1;
}

/*
 * The PIN must never land in a file next to the key reference.  p11-kit's
 * own reading decides (it skips whitespace: "pin-va lue" is a pin-value);
 * a URI it cannot read is checked by name, whitespace removed, names
 * compared whole, so object=pin-value-key is still fine.
 */
static int names_pin_value(const char *uri)
{
    const char *p = uri + strlen("pkcs11:");
    char name[10];
    size_t n;

    while (*p != '\0') {
        n = 0;
        for (; *p != '\0' && !strchr(";?&=", *p); p++)
            if (!isspace((unsigned char)*p) && n < sizeof(name))
                name[n++] = *p;
        if (n == 9 && strncasecmp(name, "pin-value", 9) == 0)
            return 1;
        p += strcspn(p, ";?&");
        if (*p != '\0')
            p++;
    }
    return 0;
}

static int uri_has_pin_value(const char *uri)
{
    P11KitUri *parsed = p11_kit_uri_new();
    int has;

    if (parsed != NULL
        && p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, parsed)
               == P11_KIT_URI_OK)
        has = p11_kit_uri_get_pin_value(parsed) != NULL
              || names_pin_value(uri);
    else
        has = names_pin_value(uri);
    p11_kit_uri_free(parsed);
    return has;
}

int hsmkey_keyref_write_bio(BIO *out, const char *uri)
{
    unsigned char *der = NULL;
    size_t len = 0;
    int ok;

    hsmkey_return_val_if_fail(out != NULL && uri != NULL, 0);
    if (strncasecmp(uri, "pkcs11:", 7) == 0 && uri_has_pin_value(uri)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT,
                     "key reference: the URI carries a pin-value; refusing "
                     "to write a PIN into a file (use pin-source)");
        return 0;
    }
    if (!hsmkey_keyref_encode_der(uri, &der, &len))
        return 0;
    ERR_set_mark();
    ok = PEM_write_bio(out, HSMKEY_KEYREF_PEM_LABEL, "", der, (long)len) > 0;
    ERR_pop_to_mark();
    OPENSSL_free(der);
    if (!ok)
        hsmkey_raise(HSMKEY_R_FILE, "key reference: writing PEM failed");
    return ok;
}

/*
 * One PEM block: 1 = it is ours (*der set), 0 = someone else's, -1 = end of
 * input or malformed (*eof says which).
 */
static int next_block(BIO *in, unsigned char **der, long *len, int *eof)
{
    char *label = NULL, *header = NULL;
    unsigned long e;
    int r;

    ERR_set_mark();
    r = PEM_read_bio(in, &label, &header, der, len);
    e = ERR_peek_last_error();
    ERR_pop_to_mark();
    if (r <= 0) {
        *eof = ERR_GET_LIB(e) == ERR_LIB_PEM
               && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
        return -1;
    }
    r = strcmp(label, HSMKEY_KEYREF_PEM_LABEL) == 0;
    /* Ours never carries headers; Proc-Type would mean an encrypted body. */
    if (r && header[0] != '\0') {
        *eof = 0;
        r = -1;
    }
    OPENSSL_free(label);
    OPENSSL_free(header);
    if (r != 1) {
        OPENSSL_free(*der);
        *der = NULL;
    }
    return r;
}

char *hsmkey_keyref_read_bio(BIO *in, const char *name_for_errors)
{
    const char *name = name_or_default(name_for_errors);
    unsigned char *der = NULL;
    long len = 0;
    char *uri;
    int r, eof = 0;

    hsmkey_return_val_if_fail(in != NULL, NULL);
    while ((r = next_block(in, &der, &len, &eof)) == 0)
        continue;
    if (r < 0) {
        if (eof)
            hsmkey_raise(HSMKEY_R_BAD_INPUT,
                         "%s: no \"%s\" PEM block", name,
                         HSMKEY_KEYREF_PEM_LABEL);
        else
            hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: malformed PEM", name);
        return NULL;
    }
    uri = decode_named(name, der, (size_t)len);
    OPENSSL_free(der);
    return uri;
}

static int starts_with(const char *line, const char *prefix)
{
    return strncmp(line, prefix, strlen(prefix)) == 0;
}

/* The lines of the first key-reference block into mem; 0 when too long. */
static int copy_block(BIO *in, BIO *mem, int *seen)
{
    static const char begin[] = "-----BEGIN " HSMKEY_KEYREF_PEM_LABEL "-----";
    static const char end[] = "-----END " HSMKEY_KEYREF_PEM_LABEL "-----";
    char line[256];
    size_t total = 0;
    int n;

    while ((n = BIO_gets(in, line, sizeof(line))) > 0) {
        if (!*seen && !(*seen = starts_with(line, begin)))
            continue;
        total += (size_t)n;
        /* base64 of the largest DER accepted, with its line breaks */
        if (total > 2 * KEYREF_MAX_LEN || BIO_write(mem, line, n) != n)
            return 0;
        if (starts_with(line, end))
            break;
    }
    return 1;
}

char *hsmkey_keyref_read_block(BIO *in, const char *name_for_errors,
                               int *seen)
{
    const char *name = name_or_default(name_for_errors);
    BIO *mem = BIO_new(BIO_s_mem());
    char *uri = NULL;

    hsmkey_return_val_if_fail(in != NULL && seen != NULL, NULL);
    *seen = 0;
    if (mem == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "%s: out of memory", name);
    } else if (!copy_block(in, mem, seen)) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: the \"%s\" PEM block is too "
                     "long", name, HSMKEY_KEYREF_PEM_LABEL);
    } else {
        uri = hsmkey_keyref_read_bio(mem, name);
    }
    BIO_free(mem);
    return uri;
}
