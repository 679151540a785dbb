/* SPDX-License-Identifier: Apache-2.0 */
/* test_keyref.c - the key-reference DER/PEM codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "hsmkey/err.h"
#include "hsmkey/keyref.h"
#include "err_capture.h"
#include "keyref_fixtures.h"

/* DER by hand (short-form lengths), to vary one field at a time. */
static size_t build_der(unsigned char *out, unsigned char desc_tag,
                        const char *desc, const char *uri, size_t urilen)
{
    size_t dlen = strlen(desc), n = 0;

    assert_true(4 + dlen + urilen < 128);
    out[n++] = 0x30;
    out[n++] = (unsigned char)(4 + dlen + urilen);
    out[n++] = desc_tag;
    out[n++] = (unsigned char)dlen;
    memcpy(out + n, desc, dlen);
    n += dlen;
    out[n++] = 0x0c;
    out[n++] = (unsigned char)urilen;
    memcpy(out + n, uri, urilen);
    return n + urilen;
}

static size_t good_der(unsigned char *out)
{
    return build_der(out, 0x1a, HSMKEY_KEYREF_DESC, FIXTURE_URI,
                     strlen(FIXTURE_URI));
}

static char *read_string(const char *pem, const char *name)
{
    BIO *in = BIO_new_mem_buf(pem, -1);
    char *uri;

    assert_non_null(in);
    uri = hsmkey_keyref_read_bio(in, name);
    BIO_free(in);
    return uri;
}

static void assert_bad_input(const char *needle)
{
    assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_INPUT);
    assert_true(err_capture_contains(needle));
    err_capture_reset();
}

/* ---- DER ---- */

static void test_keyref_der_round_trip(void **state)
{
    unsigned char *der = NULL;
    size_t len = 0;
    char *uri;

    (void)state;
    assert_int_equal(hsmkey_keyref_encode_der(FIXTURE_URI, &der, &len), 1);
    assert_int_equal(len, 78);
    uri = hsmkey_keyref_decode_der(der, len);
    assert_non_null(uri);
    assert_string_equal(uri, FIXTURE_URI);
    OPENSSL_free(uri);
    OPENSSL_free(der);
    assert_int_equal(err_capture_count(), 0);
}

static void test_keyref_der_by_hand(void **state)
{
    unsigned char der[128];
    size_t len;
    char *uri;

    (void)state;
    len = good_der(der);
    uri = hsmkey_keyref_decode_der(der, len);
    assert_non_null(uri);
    assert_string_equal(uri, FIXTURE_URI);
    OPENSSL_free(uri);
    /* The scheme is case-insensitive (RFC 3986). */
    len = build_der(der, 0x1a, HSMKEY_KEYREF_DESC, "PKCS11:token=a", 14);
    uri = hsmkey_keyref_decode_der(der, len);
    assert_non_null(uri);
    assert_string_equal(uri, "PKCS11:token=a");
    OPENSSL_free(uri);
}

static void test_keyref_der_truncated(void **state)
{
    unsigned char der[128];
    size_t len, cut;

    (void)state;
    len = good_der(der);
    for (cut = 0; cut < len; cut++) {
        assert_null(hsmkey_keyref_decode_der(der, cut));
        assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_INPUT);
        err_capture_reset();
    }
}

static void test_keyref_der_trailing(void **state)
{
    unsigned char der[130];
    size_t len;

    (void)state;
    len = good_der(der);
    der[len] = 0x00;
    der[len + 1] = 0x00;
    assert_null(hsmkey_keyref_decode_der(der, len + 2));
    assert_bad_input("2 trailing bytes");
}

static void test_keyref_der_wrong_fields(void **state)
{
    unsigned char der[128];
    size_t len;

    (void)state;
    len = build_der(der, 0x1a, "PKCS#11 Provider URI v1.1", FIXTURE_URI,
                    strlen(FIXTURE_URI));
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("description is not \"PKCS#11 Provider URI v1.0\"");
    /* The same text as a PrintableString is another type. */
    len = build_der(der, 0x13, HSMKEY_KEYREF_DESC, FIXTURE_URI,
                    strlen(FIXTURE_URI));
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("not a SEQUENCE { VisibleString, UTF8String }");
    len = build_der(der, 0x1a, HSMKEY_KEYREF_DESC, "file:/etc/passwd", 16);
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("not a pkcs11: URI");
    len = build_der(der, 0x1a, HSMKEY_KEYREF_DESC, "pkcs11", 6);
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("not a pkcs11: URI");
    len = build_der(der, 0x1a, HSMKEY_KEYREF_DESC, "pkcs11:a\0b", 10);
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("control character at offset 8");
    len = build_der(der, 0x1a, HSMKEY_KEYREF_DESC, "pkcs11:a\nb", 10);
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("control character");
}

static void assert_decodes(const unsigned char *der, size_t len)
{
    char *uri = hsmkey_keyref_decode_der(der, len);

    assert_non_null(uri);
    assert_string_equal(uri, FIXTURE_URI);
    OPENSSL_free(uri);
    assert_int_equal(err_capture_count(), 0);
}

/*
 * The fixture with each length in long form, nbytes bytes (leading zeros):
 * any definite BER length is taken, as other tools write them.
 */
static size_t long_form_der(unsigned char *out, size_t nbytes)
{
    unsigned char in[128];
    size_t len = good_der(in), n = 0, at = 2, dlen = in[3], ulen;

    ulen = in[2 + 2 + dlen + 1];
    out[n++] = 0x30;
    out[n++] = (unsigned char)(0x80 | nbytes);
    memset(out + n, 0, nbytes - 1);
    n += nbytes - 1;
    out[n++] = (unsigned char)(len - 2 + 2 * nbytes);
    for (size_t field = 0; field < 2; field++) {
        size_t flen = field == 0 ? dlen : ulen;

        out[n++] = in[at];
        out[n++] = (unsigned char)(0x80 | nbytes);
        memset(out + n, 0, nbytes - 1);
        n += nbytes - 1;
        out[n++] = (unsigned char)flen;
        memcpy(out + n, in + at + 2, flen);
        n += flen;
        at += 2 + flen;
    }
    return n;
}

static void test_keyref_der_long_form(void **state)
{
    unsigned char der[160];
    size_t len;

    (void)state;
    for (size_t nbytes = 1; nbytes <= 4; nbytes++) {
        len = long_form_der(der, nbytes);
        assert_decodes(der, len);
    }
    /* Only the outer length in long form, as pkcs11-provider's peers do. */
    len = good_der(der + 1);
    der[0] = 0x30;
    der[1] = 0x81;
    der[2] = (unsigned char)(len - 2);
    assert_decodes(der, len + 1);
}

/* Still refused: what is not a definite length, and strings in pieces. */
static void test_keyref_der_ber_refused(void **state)
{
    unsigned char der[160];
    size_t len;

    (void)state;
    /* indefinite length with its end-of-contents octets */
    len = good_der(der + 0);
    memmove(der + 2, der + 2, len - 2);
    der[1] = 0x80;
    der[len] = 0x00;
    der[len + 1] = 0x00;
    assert_null(hsmkey_keyref_decode_der(der, len + 2));
    assert_bad_input("with definite lengths");
    /* the reserved length octet 0xff */
    len = good_der(der);
    der[1] = 0xff;
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("with definite lengths");
    /* a long-form length that runs past the end */
    len = long_form_der(der, 2);
    der[3] = (unsigned char)(der[3] + 1);
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("not a SEQUENCE");
    /* the description as a constructed VisibleString (BER pieces) */
    len = good_der(der);
    der[2] = 0x3a;
    assert_null(hsmkey_keyref_decode_der(der, len));
    assert_bad_input("not a SEQUENCE");
    /* a length too big for the machine */
    static const unsigned char huge[] = { 0x30, 0x89, 1, 0, 0, 0, 0, 0, 0,
                                          0, 5, 0x1a, 0 };
    assert_null(hsmkey_keyref_decode_der(huge, sizeof(huge)));
    assert_bad_input("not a SEQUENCE");
}

static void test_keyref_der_extra_element(void **state)
{
    unsigned char der[130];
    size_t len;

    (void)state;
    len = good_der(der);
    der[1] += 2;
    der[len] = 0x05; /* NULL */
    der[len + 1] = 0x00;
    assert_null(hsmkey_keyref_decode_der(der, len + 2));
    assert_bad_input("not a SEQUENCE { VisibleString, UTF8String }");
}

static void test_keyref_length_bounds(void **state)
{
    static const unsigned char zero[1];
    size_t big = 70 * 1024;
    char *uri = malloc(big + 1);
    unsigned char *der = NULL;
    size_t len = 0;

    (void)state;
    assert_non_null(uri);
    memcpy(uri, "pkcs11:object=", 14);
    memset(uri + 14, 'a', big - 14);
    uri[big] = '\0';
    assert_int_equal(hsmkey_keyref_encode_der(uri, &der, &len), 0);
    assert_null(der);
    assert_bad_input("longer than 65536 bytes");
    free(uri);
    assert_null(hsmkey_keyref_decode_der(zero, big));
    assert_bad_input("out of range");
    assert_null(hsmkey_keyref_decode_der(zero, 0));
    assert_bad_input("out of range");
}

static void test_keyref_encode_refuses_other_uris(void **state)
{
    unsigned char *der = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(hsmkey_keyref_encode_der("/etc/key.pem", &der, &len), 0);
    assert_null(der);
    assert_bad_input("not a pkcs11: URI");
}

/* ---- PEM ---- */

static void test_keyref_pem_fixture(void **state)
{
    BIO *out = BIO_new(BIO_s_mem());
    char *uri = read_string(fixture_pem, "fixture.pem");
    char *text;
    long n;

    (void)state;
    assert_non_null(uri);
    assert_string_equal(uri, FIXTURE_URI);
    OPENSSL_free(uri);
    /* What we write is byte for byte what the independent tool made. */
    assert_non_null(out);
    assert_int_equal(hsmkey_keyref_write_bio(out, FIXTURE_URI), 1);
    n = BIO_get_mem_data(out, &text);
    assert_int_equal(n, strlen(fixture_pem));
    assert_memory_equal(text, fixture_pem, (size_t)n);
    BIO_free(out);
}

static void test_keyref_pem_round_trip(void **state)
{
    static const char *const uris[] = {
        "pkcs11:token=a%20b;id=%01%02;type=private",
        "pkcs11:object=k?module-path=/usr/lib/softhsm/libsofthsm2.so",
        "pkcs11:object=pin-value-key;type=private",
        "pkcs11:token=t?pin-source=file:/etc/hsmkey/pin",
        /* Names are compared whole: this is not pin-value. */
        "pkcs11:token=t?pin-value-file=/x",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *uri;

        assert_non_null(bio);
        assert_int_equal(hsmkey_keyref_write_bio(bio, uris[i]), 1);
        uri = hsmkey_keyref_read_bio(bio, "mem");
        assert_non_null(uri);
        assert_string_equal(uri, uris[i]);
        OPENSSL_free(uri);
        BIO_free(bio);
    }
    assert_int_equal(err_capture_count(), 0);
}

static void test_keyref_pem_combined(void **state)
{
    char pem[4096];
    char *uri;

    (void)state;
    snprintf(pem, sizeof(pem), "node1 bundle\n%s%s\n%s", cert_pem,
             fixture_pem, cert_pem);
    uri = read_string(pem, "bundle.pem");
    assert_non_null(uri);
    assert_string_equal(uri, FIXTURE_URI);
    OPENSSL_free(uri);
    assert_int_equal(err_capture_count(), 0);
}

static void test_keyref_pem_wrong_label(void **state)
{
    char pem[1024];
    char *p;

    (void)state;
    snprintf(pem, sizeof(pem), "%s", fixture_pem);
    while ((p = strstr(pem, "PKCS#11 PROVIDER URI")) != NULL)
        memcpy(p, "PKCS#11 PROVIDER URL", 20);
    assert_null(read_string(pem, "/etc/node/key.pem"));
    assert_bad_input("/etc/node/key.pem: no \"PKCS#11 PROVIDER URI\" PEM");
    /* A certificate alone is not a key reference either. */
    assert_null(read_string(cert_pem, "cert.pem"));
    assert_bad_input("cert.pem: no ");
    assert_null(read_string("", "empty.pem"));
    assert_bad_input("empty.pem: no ");
}

static void test_keyref_pem_malformed(void **state)
{
    static const char bad_base64[] =
        "-----BEGIN PKCS#11 PROVIDER URI-----\n"
        "MEwaGVBLQ1Mj*MTEg\n"
        "-----END PKCS#11 PROVIDER URI-----\n";
    static const char headers[] =
        "-----BEGIN PKCS#11 PROVIDER URI-----\n"
        "Proc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n"
        "\n"
        "MEwaGVBLQ1MjMTEgUHJvdmlkZXIgVVJJIHYxLjAML3BrY3MxMTp0b2tlbj1ub2Rl\n"
        "MTtvYmplY3Q9bm9kZS1rZXk7dHlwZT1wcml2YXRl\n"
        "-----END PKCS#11 PROVIDER URI-----\n";
    /* The fixture's DER with its last byte cut (base64 of 77 bytes). */
    static const char short_der[] =
        "-----BEGIN PKCS#11 PROVIDER URI-----\n"
        "MEwaGVBLQ1MjMTEgUHJvdmlkZXIgVVJJIHYxLjAML3BrY3MxMTp0b2tlbj1ub2Rl\n"
        "MTtvYmplY3Q9bm9kZS1rZXk7dHlwZT1wcml2YXQ=\n"
        "-----END PKCS#11 PROVIDER URI-----\n";

    (void)state;
    assert_null(read_string(bad_base64, "b64.pem"));
    assert_bad_input("b64.pem: malformed PEM");
    assert_null(read_string(headers, "enc.pem"));
    assert_bad_input("enc.pem: malformed PEM");
    assert_null(read_string(short_der, "short.pem"));
    assert_bad_input("short.pem: not a SEQUENCE");
}

/* ---- pin-value ---- */

static void test_keyref_write_refuses_pin_value(void **state)
{
    static const char *const uris[] = {
        "pkcs11:token=t;object=k?pin-value=Pin-4711",
        "pkcs11:token=t?module-name=softhsm2&pin-value=Pin-4711",
        "pkcs11:token=t?PIN-VALUE=Pin-4711",
        "pkcs11:token=t;pin-value=Pin-4711",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        BIO *out = BIO_new(BIO_s_mem());

        assert_non_null(out);
        assert_int_equal(hsmkey_keyref_write_bio(out, uris[i]), 0);
        assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_ARGUMENT);
        assert_true(err_capture_contains("pin-value"));
        assert_false(err_capture_contains("Pin-4711"));
        assert_int_equal(BIO_pending(out), 0);
        BIO_free(out);
        err_capture_reset();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_keyref_der_round_trip, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_by_hand, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_truncated, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_trailing, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_wrong_fields,
                               err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_long_form, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_ber_refused, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_der_extra_element,
                               err_capture_setup),
        cmocka_unit_test_setup(test_keyref_length_bounds, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_encode_refuses_other_uris,
                               err_capture_setup),
        cmocka_unit_test_setup(test_keyref_pem_fixture, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_pem_round_trip, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_pem_combined, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_pem_wrong_label,
                               err_capture_setup),
        cmocka_unit_test_setup(test_keyref_pem_malformed, err_capture_setup),
        cmocka_unit_test_setup(test_keyref_write_refuses_pin_value,
                               err_capture_setup),
    };

    return cmocka_run_group_tests_name("keyref", tests, NULL, NULL);
}
