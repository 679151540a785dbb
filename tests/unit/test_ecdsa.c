/* SPDX-License-Identifier: Apache-2.0 */
/* test_ecdsa.c - token r||s to DER ECDSA-Sig-Value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "hsmkey/err.h"
#include "hsmkey/p11.h"
#include "err_capture.h"

/* Converts, parses the DER back and checks r and s are the two halves. */
static void check_round_trip(const unsigned char *raw, size_t rawlen)
{
    unsigned char der[512];
    size_t need = 0, derlen = sizeof(der);
    const unsigned char *p = der;
    const BIGNUM *r, *s;
    BIGNUM *want_r, *want_s;
    ECDSA_SIG *sig;

    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, rawlen, NULL, &need), 1);
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, rawlen, der, &derlen), 1);
    assert_int_equal(derlen, need);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    assert_non_null(sig);
    assert_ptr_equal(p, der + derlen);
    ECDSA_SIG_get0(sig, &r, &s);
    want_r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    want_s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    assert_int_equal(BN_cmp(r, want_r), 0);
    assert_int_equal(BN_cmp(s, want_s), 0);
    BN_free(want_r);
    BN_free(want_s);
    ECDSA_SIG_free(sig);
}

static void test_ecdsa_known_answer(void **state)
{
    static const unsigned char raw[] = { 0x01, 0x02 };
    static const unsigned char want[] = { 0x30, 0x06, 0x02, 0x01, 0x01,
                                          0x02, 0x01, 0x02 };
    unsigned char der[16];
    size_t derlen = sizeof(der);

    (void)state;
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, sizeof(raw), der, &derlen),
                     1);
    assert_int_equal(derlen, sizeof(want));
    assert_memory_equal(der, want, sizeof(want));
}

static void test_ecdsa_p256(void **state)
{
    unsigned char raw[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(0x11 + 3 * i);
    check_round_trip(raw, sizeof(raw));
}

/* A high bit needs a 0x00 prefix in DER; leading zeros must be dropped. */
static void test_ecdsa_high_bit_and_leading_zeros(void **state)
{
    unsigned char raw[64];
    unsigned char der[128];
    size_t derlen = sizeof(der);

    (void)state;
    memset(raw, 0x5a, sizeof(raw));
    raw[0] = 0x80;
    raw[32] = 0x00;
    raw[33] = 0x00;
    raw[34] = 0x01;
    check_round_trip(raw, sizeof(raw));
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, sizeof(raw), der, &derlen),
                     1);
    /* SEQUENCE, then r: INTEGER of 33 bytes starting 00 80. */
    assert_int_equal(der[2], 0x02);
    assert_int_equal(der[3], 33);
    assert_int_equal(der[4], 0x00);
    assert_int_equal(der[5], 0x80);
    /* then s: INTEGER of 30 bytes starting 01 (two zeros dropped). */
    assert_int_equal(der[4 + 33], 0x02);
    assert_int_equal(der[5 + 33], 30);
    assert_int_equal(der[6 + 33], 0x01);
}

static void test_ecdsa_p521_and_zero(void **state)
{
    unsigned char raw[132];

    (void)state;
    memset(raw, 0xff, sizeof(raw));
    raw[0] = 0x01;
    raw[66] = 0x01;
    check_round_trip(raw, sizeof(raw));
    memset(raw, 0, sizeof(raw));
    check_round_trip(raw, sizeof(raw));
}

/* The same bytes as libcrypto's encoder, for every size up to the limit
 * and halves that are zero, all 0xff, or start with zeros before a high or
 * a low bit. */
static void same_as_libcrypto(const unsigned char *raw, size_t rawlen)
{
    unsigned char der[2200], *want = NULL;
    size_t derlen = sizeof(der);
    BIGNUM *r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    int wantlen;

    assert_non_null(sig);
    assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
    wantlen = i2d_ECDSA_SIG(sig, &want);
    assert_true(wantlen > 0);
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, rawlen, der, &derlen), 1);
    assert_int_equal(derlen, (size_t)wantlen);
    assert_memory_equal(der, want, derlen);
    OPENSSL_free(want);
    ECDSA_SIG_free(sig);
}

static void test_ecdsa_every_shape(void **state)
{
    static const unsigned char firsts[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
    unsigned char raw[1024];

    (void)state;
    for (size_t half = 1; half <= 512; half += half < 140 ? 1 : 37) {
        for (size_t z = 0; z <= 2 && z < half; z++) {
            for (size_t f = 0; f < sizeof(firsts); f++) {
                for (size_t i = 0; i < 2 * half; i++)
                    raw[i] = (unsigned char)(0x5a + 7 * i);
                memset(raw, 0, z);
                raw[z] = firsts[f];
                memset(raw + half, 0xff, half);
                raw[half + z] = firsts[sizeof(firsts) - 1 - f];
                same_as_libcrypto(raw, 2 * half);
            }
        }
        memset(raw, 0, 2 * half);
        same_as_libcrypto(raw, 2 * half);
    }
}

static void test_ecdsa_bad_lengths(void **state)
{
    static const unsigned char raw[65] = { 1 };
    size_t derlen = 128;

    (void)state;
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, 0, NULL, &derlen), 0);
    assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_INPUT);
    assert_true(err_capture_contains("0 bytes"));
    err_capture_reset();
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, 65, NULL, &derlen), 0);
    assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_INPUT);
    assert_true(err_capture_contains("65 bytes"));
    assert_int_equal(derlen, 128);
}

static void test_ecdsa_buffer_too_small(void **state)
{
    unsigned char raw[64], der[128];
    size_t need = 0, derlen;

    (void)state;
    memset(raw, 0x7f, sizeof(raw));
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, sizeof(raw), NULL, &need),
                     1);
    assert_int_equal(need, 70);
    derlen = need - 1;
    memset(der, 0xee, sizeof(der));
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, sizeof(raw), der, &derlen),
                     0);
    assert_int_equal(err_capture_reason(), HSMKEY_R_BAD_ARGUMENT);
    assert_int_equal(derlen, need - 1);
    assert_int_equal(der[0], 0xee);
    derlen = need;
    assert_int_equal(hsmkey_ecdsa_raw_to_der(raw, sizeof(raw), der, &derlen),
                     1);
    assert_int_equal(derlen, need);
    assert_int_equal(der[need], 0xee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ecdsa_known_answer, err_capture_setup),
        cmocka_unit_test_setup(test_ecdsa_p256, err_capture_setup),
        cmocka_unit_test_setup(test_ecdsa_high_bit_and_leading_zeros,
                               err_capture_setup),
        cmocka_unit_test_setup(test_ecdsa_p521_and_zero, err_capture_setup),
        cmocka_unit_test_setup(test_ecdsa_every_shape, err_capture_setup),
        cmocka_unit_test_setup(test_ecdsa_bad_lengths, err_capture_setup),
        cmocka_unit_test_setup(test_ecdsa_buffer_too_small,
                               err_capture_setup),
    };

    return cmocka_run_group_tests_name("ecdsa", tests, NULL, NULL);
}
