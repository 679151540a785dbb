/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_uri.c - pkcs11: URIs as the provider receives them (the store's
 * open, the URI inside a key-reference file, the CLI's --key):
 * hsmkey_uri_parse(), then what is done with an accepted URI.
 *
 * Contracts checked on every input (include/hsmkey/p11.h, keyref.h):
 *  - a rejected URI is rejected with a message;
 *  - no message shows a pin-value: each pin-value of the input is replaced
 *    by a marker and the result parsed again with the marker forbidden;
 *  - every object attribute (object=, id=, type=) of an accepted URI's
 *    path is in what p11-kit parsed: a URI never matches more objects
 *    than its text names;
 *  - the display text of an accepted URI (what messages show) carries no
 *    pin-value, parses again and names the same object, token, slot and
 *    module; making it leaves the URI's own pin-value in place;
 *  - a URI in which p11-kit sees a pin-value is never written into a
 *    key-reference file; one that is written reads back unchanged.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "hsmkey/keyref.h"
#include "hsmkey/p11.h"
#include "hsmkey/pin.h"
#include "fuzz.h"

#define MARKER "Zq7PINMARKERq7Z"
/* Forbidden in messages: a cut echo shows only the start of a PIN. */
#define MARKER_START 8

/* Reported bugs (tests/fuzz/README.md) a long run may skip: */
/* uri-empty-segment: an empty path segment (";;") ends p11-kit's path. */
static int has_empty_segment(const char *text)
{
    const char *path = text + 7, *end = path + strcspn(path, "?");

    for (const char *p = path; p < end; p++)
        if (*p == ';' && (p == path || p[-1] == ';') && p + 1 < end)
            return 1;
    return 0;
}

/* uri-nul-value: %00 in a value, which p11-kit formats away (p11-kit
 * drops white space first, so "%0 0" is one too). */
static int has_nul_escape(const char *text)
{
    char *bare = strdup(text), *o = bare;
    int found;

    FUZZ_ASSERT(bare != NULL, "%s", "out of memory");
    for (const char *p = text; *p != '\0'; p++)
        if (strchr(" \t\n\r\v\f", *p) == NULL)
            *o++ = *p;
    *o = '\0';
    found = strstr(bare, "%00") != NULL;
    free(bare);
    return found;
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL)
           || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The URI the display text parses to names what the original names. */
static void assert_same_uri(P11KitUri *a, P11KitUri *b, const char *shown)
{
    CK_ULONG na = 0, nb = 0;
    CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(a, &na);

    p11_kit_uri_get_attributes(b, &nb);
    FUZZ_ASSERT(na == nb, "display '%s' has %lu attributes, not %lu", shown,
                nb, na);
    for (CK_ULONG i = 0; i < na; i++) {
        CK_ATTRIBUTE *o = p11_kit_uri_get_attribute(b, attrs[i].type);

        FUZZ_ASSERT(o != NULL && o->ulValueLen == attrs[i].ulValueLen
                        && (o->ulValueLen == 0
                            || memcmp(o->pValue, attrs[i].pValue,
                                      o->ulValueLen) == 0),
                    "display '%s' changes attribute 0x%lx", shown,
                    attrs[i].type);
    }
    FUZZ_ASSERT(memcmp(p11_kit_uri_get_token_info(a),
                       p11_kit_uri_get_token_info(b), sizeof(CK_TOKEN_INFO))
                    == 0,
                "display '%s' names another token", shown);
    FUZZ_ASSERT(memcmp(p11_kit_uri_get_module_info(a),
                       p11_kit_uri_get_module_info(b), sizeof(CK_INFO)) == 0,
                "display '%s' names another library", shown);
    FUZZ_ASSERT(memcmp(p11_kit_uri_get_slot_info(a),
                       p11_kit_uri_get_slot_info(b), sizeof(CK_SLOT_INFO))
                        == 0
                    && p11_kit_uri_get_slot_id(a) == p11_kit_uri_get_slot_id(b),
                "display '%s' names another slot", shown);
    FUZZ_ASSERT(same_str(p11_kit_uri_get_pin_source(a),
                         p11_kit_uri_get_pin_source(b))
                    && same_str(p11_kit_uri_get_module_name(a),
                                p11_kit_uri_get_module_name(b))
                    && same_str(p11_kit_uri_get_module_path(a),
                                p11_kit_uri_get_module_path(b)),
                "display '%s' changes a query attribute", shown);
}

/* The object attributes the path of text names are all in uri. */
static void assert_path_used(P11KitUri *uri, const char *text)
{
    static const struct {
        const char *name;
        CK_ATTRIBUTE_TYPE type;
    } attrs[] = { { "object", CKA_LABEL }, { "id", CKA_ID },
                  { "type", CKA_CLASS } };
    const char *p = text + 7, *end = p + strcspn(p, "?");

    while (p < end) {
        size_t n = strcspn(p, ";?"), k = strcspn(p, "=;?");

        for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
            if (k < n && k == strlen(attrs[i].name)
                && strncasecmp(p, attrs[i].name, k) == 0)
                FUZZ_ASSERT(p11_kit_uri_get_attribute(uri, attrs[i].type)
                                != NULL,
                            "'%s' was accepted but its %s= is not used: the "
                            "URI matches more than it names", text,
                            attrs[i].name);
        p += n + (p + n < end);
    }
}

static void check_accepted(P11KitUri *uri, const char *text)
{
    const char *pin = p11_kit_uri_get_pin_value(uri);
    char *pin_before = pin != NULL ? strdup(pin) : NULL;
    char *shown = hsmkey_uri_display(uri);
    P11KitUri *again;

    FUZZ_ASSERT(strncasecmp(text, "pkcs11:", 7) == 0, "accepted '%s'", text);
    FUZZ_ASSERT(shown != NULL, "no display text for '%s'", text);
    if ((fuzz_known("uri-empty-segment") && has_empty_segment(text))
        || (fuzz_known("uri-nul-value") && has_nul_escape(text))) {
        OPENSSL_free(shown);
        free(pin_before);
        return;
    }
    assert_path_used(uri, text);
    FUZZ_ASSERT(same_str(pin_before, p11_kit_uri_get_pin_value(uri)),
                "display changed the pin-value of '%s'", text);
    again = hsmkey_uri_parse(shown);
    FUZZ_ASSERT(again != NULL, "display '%s' of '%s' is refused: %s", shown,
                text, fuzz_err_last());
    FUZZ_ASSERT(p11_kit_uri_get_pin_value(again) == NULL,
                "display '%s' carries a pin-value", shown);
    assert_same_uri(uri, again, shown);
    hsmkey_uri_names_object(uri);
    if (p11_kit_uri_get_pin_source(uri) != NULL)
        hsmkey_pin_source_check(p11_kit_uri_get_pin_source(uri));
    p11_kit_uri_free(again);
    OPENSSL_free(shown);
    free(pin_before);
}

/* text with the value of every pin-value attribute replaced by MARKER. */
static char *mark_pins(const char *text, int *marked)
{
    size_t len = strlen(text), cap = len * (sizeof(MARKER) + 1) + 1;
    char *out = malloc(cap), *o = out;
    const char *p = text, *end = text + len;

    FUZZ_ASSERT(out != NULL, "%s", "out of memory");
    *marked = 0;
    while (p < end) {
        size_t n = strcspn(p, ";?&");
        const char *eq = memchr(p, '=', n);

        if (eq != NULL && eq - p == 9 && strncasecmp(p, "pin-value", 9) == 0) {
            memcpy(o, p, 10);
            o += 10;
            memcpy(o, MARKER, sizeof(MARKER) - 1);
            o += sizeof(MARKER) - 1;
            *marked = 1;
        } else {
            memcpy(o, p, n);
            o += n;
        }
        p += n;
        if (p < end)
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* No message, accepted or not, shows what a pin-value held. */
static void check_pin_never_shown(const char *text)
{
    int marked;
    char *masked;
    P11KitUri *uri;

    if (memmem(text, strlen(text), MARKER, MARKER_START) != NULL)
        return;
    /* uri-type-echo: type= is echoed up to its ';', so a "&pin-value="
     * typed into the path (no '?') is shown. */
    if (fuzz_known("uri-type-echo") && strchr(text, '&') != NULL
        && strchr(text, '&') < text + strcspn(text, "?"))
        return;
    masked = mark_pins(text, &marked);
    if (marked) {
        fuzz_err_forbid(MARKER, MARKER_START);
        uri = hsmkey_uri_parse(masked);
        if (uri != NULL)
            OPENSSL_free(hsmkey_uri_display(uri));
        p11_kit_uri_free(uri);
        fuzz_err_forbid(NULL, 0);
    }
    free(masked);
}

/* Never a PIN into a key-reference file (keyref.h). */
static void check_keyref_write(const char *text)
{
    P11KitUri *raw = p11_kit_uri_new();
    BIO *mem = BIO_new(BIO_s_mem());
    int has_pin, written;
    char *back;

    FUZZ_ASSERT(raw != NULL && mem != NULL, "%s", "out of memory");
    has_pin = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, raw)
                  == P11_KIT_URI_OK
              && p11_kit_uri_get_pin_value(raw) != NULL;
    written = hsmkey_keyref_write_bio(mem, text);
    /* uri-keyref-space: p11-kit drops white space, "pin-va lue" too. */
    if (fuzz_known("uri-keyref-space") && strpbrk(text, " \t\n\r") != NULL)
        has_pin = 0;
    FUZZ_ASSERT(!(written && has_pin),
                "a pin-value was written into a key reference: '%s'", text);
    FUZZ_ASSERT(written || fuzz_err_count() > 0,
                "write refused '%s' without a message", text);
    if (written) {
        back = hsmkey_keyref_read_bio(mem, "fuzz");
        FUZZ_ASSERT(back != NULL && strcmp(back, text) == 0,
                    "'%s' was written but reads back as '%s'", text,
                    back != NULL ? back : "(nothing)");
        OPENSSL_free(back);
    }
    BIO_free(mem);
    p11_kit_uri_free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    P11KitUri *uri;

    fuzz_err_reset();
    uri = hsmkey_uri_parse(text);
    FUZZ_ASSERT(uri != NULL || fuzz_err_count() > 0,
                "'%s' refused without a message", text);
    if (uri != NULL)
        check_accepted(uri, text);
    p11_kit_uri_free(uri);
    check_pin_never_shown(text);
    fuzz_err_reset();
    check_keyref_write(text);
    ERR_clear_error();
    free(text);
    return 0;
}
