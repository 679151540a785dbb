/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_uri.c - RFC 7512 URIs as the provider receives them: what parses,
 * what is refused (and that the refusal names the culprit), and the
 * C_FindObjects template a URI becomes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "hsmkey/p11.h"
#include "hsmkey/err.h"
#include "provider/core/core.h"
#include "err_capture.h"

static void test_uri_parse_accepts_rfc7512(void **state)
{
    static const char *const good[] = {
        "pkcs11:",
        "pkcs11:token=node1;object=node-key;type=private",
        "pkcs11:id=%01%02;type=public",
        "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"
        "serial=0123;token=t",
        "pkcs11:object=k?pin-source=file:/etc/hsmkey/pin",
        "pkcs11:object=k?module-name=softhsm2&pin-value=1234",
        "PKCS11:object=upper-case-scheme",
        "pkcs11:slot-id=3;type=cert",
    };
    P11KitUri *uri;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uri = hsmkey_uri_parse(good[i]);
        assert_non_null(uri);
        p11_kit_uri_free(uri);
    }
    assert_int_equal(err_capture_count(), 0);
}

static void expect_refused(const char *text, const char *needle)
{
    err_capture_reset();
    assert_null(hsmkey_uri_parse(text));
    assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_URI);
    assert_true(err_capture_contains(needle));
}

static void test_uri_parse_refuses_with_culprit(void **state)
{
    (void)state;
    expect_refused("pkcs11:foo=bar", "'foo'");
    expect_refused("pkcs11:token=t;x-vendor=1", "'x-vendor'");
    expect_refused("pkcs11:object=k?colour=red", "query attribute 'colour'");
    expect_refused("pkcs11:type=bogus", "type='bogus'");
    expect_refused("pkcs11:token=t;objet=k", "unknown path attribute 'objet'");
    expect_refused("pkcs11:token=%00;object=k", "NUL");
    /* p11-kit drops whitespace before decoding: still a NUL (fuzzer find) */
    expect_refused("pkcs11:object=a%\v00b", "NUL");
    expect_refused("pkcs11:object=a% 0\n0b", "NUL");
    /* p11-kit would drop object=b after the empty segment (fuzzer find) */
    expect_refused("pkcs11:token=a;;object=b;type=private", "empty");
    expect_refused("pkcs11:;object=k", "empty path attribute");
    expect_refused("pkcs11:object=%zz", "malformed");
    expect_refused("file:/etc/key.pem", "not a pkcs11: URI");
    expect_refused("", "not a pkcs11: URI");
}

/* A known attribute on the wrong side of '?' says where it belongs. */
static void test_uri_misplaced_attribute(void **state)
{
    (void)state;
    expect_refused("pkcs11:token=t;object=k;pin-value=73951secret",
                   "'pin-value' is a query attribute: it goes after '?'");
    assert_true(err_capture_contains("pin-source (file:PATH)"));
    assert_null(strstr(err_capture_message(), "73951secret"));
    assert_null(strstr(err_capture_message(), "unknown"));
    expect_refused("pkcs11:token=t;pin-source=file:/p;object=k",
                   "'pin-source' is a query attribute: it goes after '?'");
    expect_refused("pkcs11:token=t;module-name=softhsm2",
                   "'module-name' is a query attribute");
    expect_refused("pkcs11:token=t?object=k",
                   "'object' is a path attribute: it goes before '?'");
}

/* p11-kit keeps the last of a repeated attribute: object=a;object=b would
 * load b, type=public;type=private the private key. */
static void test_uri_repeated_attribute_refused(void **state)
{
    (void)state;
    expect_refused("pkcs11:object=a;object=b", "path attribute 'object' is "
                   "given twice");
    expect_refused("pkcs11:token=t;type=public;object=k;type=private",
                   "'type' is given twice");
    expect_refused("pkcs11:token=t;TOKEN=u", "given twice");
    expect_refused("pkcs11:id=%01;object=k;id=%02", "'id' is given twice");
    expect_refused("pkcs11:object=k?pin-source=file:/a&pin-source=file:/b",
                   "query attribute 'pin-source' is given twice");
    expect_refused("pkcs11:object=k?pin-value=1111&pin-value=2222",
                   "'pin-value' is given twice");
    assert_false(err_capture_contains("1111"));
    /* The same name in path and query parts is not a repetition. */
    {
        P11KitUri *u = hsmkey_uri_parse("pkcs11:object=k;token=t"
                                        "?module-name=softhsm2");

        assert_non_null(u);
        p11_kit_uri_free(u);
    }
}

static void test_uri_refusal_never_repeats_pin(void **state)
{
    (void)state;
    expect_refused("pkcs11:object=%zz?pin-value=73951secret", "malformed");
    assert_null(strstr(err_capture_message(), "73951secret"));
    expect_refused("pkcs11:bad=1?pin-value=73951secret", "'bad'");
    assert_null(strstr(err_capture_message(), "73951secret"));
    /* a pin-value run into the path (fuzzer find): not echoed */
    expect_refused("pkcs11:object=k;type=private&pin-value=739512",
                   "type=");
    assert_null(strstr(err_capture_message(), "739512"));
    expect_refused("pkcs11:x739512=1", "not a plain name");
    /* id= is binary: a 00 byte in it is fine */
    {
        P11KitUri *uri = hsmkey_uri_parse("pkcs11:token=t;id=%00%01");

        assert_non_null(uri);
        p11_kit_uri_free(uri);
    }
    assert_null(strstr(err_capture_message(), "739512"));
}

static void test_uri_display_drops_pin_value(void **state)
{
    P11KitUri *uri = hsmkey_uri_parse("pkcs11:token=t;object=k"
                                      "?pin-value=73951secret");
    char *shown;

    (void)state;
    assert_non_null(uri);
    shown = hsmkey_uri_display(uri);
    assert_non_null(shown);
    assert_null(strstr(shown, "73951secret"));
    assert_non_null(strstr(shown, "object=k"));
    /* The URI itself keeps its PIN for the login that needs it. */
    assert_string_equal(p11_kit_uri_get_pin_value(uri), "73951secret");
    OPENSSL_free(shown);
    p11_kit_uri_free(uri);
}

static void test_uri_names_object(void **state)
{
    P11KitUri *a = hsmkey_uri_parse("pkcs11:token=t;serial=1");
    P11KitUri *b = hsmkey_uri_parse("pkcs11:token=t;id=%01");

    (void)state;
    assert_int_equal(hsmkey_uri_names_object(a), 0);
    assert_int_equal(hsmkey_uri_names_object(b), 1);
    p11_kit_uri_free(a);
    p11_kit_uri_free(b);
}

static const CK_ATTRIBUTE *find_attr(const CK_ATTRIBUTE *t, CK_ULONG n,
                                     CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (t[i].type == type)
            return &t[i];
    return NULL;
}

static void test_uri_template_object_attributes(void **state)
{
    P11KitUri *uri = hsmkey_uri_parse("pkcs11:token=t;object=node-key;"
                                      "id=%0a%0b;type=private");
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[8];
    CK_ULONG n = 0;
    const CK_ATTRIBUTE *a;

    (void)state;
    assert_int_equal(hsmkey_uri_template(uri, &cls, tmpl, &n), 1);
    /* class, token object, label, id: the token attributes are not */
    assert_int_equal(n, 4);
    assert_int_equal(tmpl[0].type, CKA_CLASS);
    assert_int_equal(*(CK_OBJECT_CLASS *)tmpl[0].pValue, CKO_PRIVATE_KEY);
    a = find_attr(tmpl, n, CKA_TOKEN);
    assert_non_null(a);
    assert_int_equal(*(CK_BBOOL *)a->pValue, CK_TRUE);
    a = find_attr(tmpl, n, CKA_LABEL);
    assert_non_null(a);
    assert_int_equal(a->ulValueLen, 8);
    assert_memory_equal(a->pValue, "node-key", 8);
    a = find_attr(tmpl, n, CKA_ID);
    assert_non_null(a);
    assert_int_equal(a->ulValueLen, 2);
    assert_memory_equal(a->pValue, "\x0a\x0b", 2);
    p11_kit_uri_free(uri);
}

static void test_uri_template_other_class_matches_nothing(void **state)
{
    P11KitUri *uri = hsmkey_uri_parse("pkcs11:object=k;type=cert");
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[8];
    CK_ULONG n = 99;

    (void)state;
    assert_int_equal(hsmkey_uri_template(uri, &cls, tmpl, &n), 0);
    p11_kit_uri_free(uri);
}

static void test_uri_template_no_object_attrs_is_class_only(void **state)
{
    P11KitUri *uri = hsmkey_uri_parse("pkcs11:token=only-token");
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE tmpl[8];
    CK_ULONG n = 0;

    (void)state;
    assert_int_equal(hsmkey_uri_template(uri, &cls, tmpl, &n), 1);
    assert_int_equal(n, 2); /* class and token object only */
    assert_int_equal(*(CK_OBJECT_CLASS *)tmpl[0].pValue, CKO_CERTIFICATE);
    p11_kit_uri_free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_uri_parse_accepts_rfc7512,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_parse_refuses_with_culprit,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_misplaced_attribute,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_repeated_attribute_refused,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_refusal_never_repeats_pin,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_display_drops_pin_value,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_names_object, err_capture_setup),
        cmocka_unit_test_setup(test_uri_template_object_attributes,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_template_other_class_matches_nothing,
                               err_capture_setup),
        cmocka_unit_test_setup(test_uri_template_no_object_attrs_is_class_only,
                               err_capture_setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
