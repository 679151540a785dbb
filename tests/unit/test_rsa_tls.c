/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rsa_tls.c - the TLS premaster check: a well-formed block gives the
 * premaster, anything else gives 48 random bytes and no error (RFC 5246
 * 7.4.7.1), so a bad padding is not an oracle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "provider/prov.h"

#define K 256 /* RSA-2048 */

/* 00 02 PS(nonzero) 00 <version> <46 bytes> */
static void block(unsigned char em[K], unsigned int version)
{
    memset(em, 0x5a, K);
    em[0] = 0x00;
    em[1] = 0x02;
    em[K - 49] = 0x00;
    em[K - 48] = (unsigned char)(version >> 8);
    em[K - 47] = (unsigned char)version;
    for (int i = 0; i < 46; i++)
        em[K - 46 + i] = (unsigned char)i;
}

static void test_tls_unpad_accepts_good_block(void **state)
{
    unsigned char em[K], out[48];

    (void)state;
    block(em, 0x0303);
    assert_int_equal(hkprov_rsa_tls_unpad(em, K, 0x0303, 0, out), 1);
    assert_memory_equal(out, em + K - 48, 48);
}

static void test_tls_unpad_accepts_alt_version(void **state)
{
    unsigned char em[K], out[48];

    (void)state;
    block(em, 0x0301); /* an old client put the negotiated version */
    assert_int_equal(hkprov_rsa_tls_unpad(em, K, 0x0303, 0x0301, out), 1);
    assert_memory_equal(out, em + K - 48, 48);
}

static void expect_random(unsigned char *em)
{
    unsigned char out[48], again[48];

    assert_int_equal(hkprov_rsa_tls_unpad(em, K, 0x0303, 0, out), 1);
    assert_memory_not_equal(out, em + K - 48, 48);
    /* Fresh randomness each time, not a fixed substitute. */
    assert_int_equal(hkprov_rsa_tls_unpad(em, K, 0x0303, 0, again), 1);
    assert_memory_not_equal(out, again, 48);
}

static void test_tls_unpad_rejects_silently(void **state)
{
    unsigned char em[K];

    (void)state;
    block(em, 0x0302);
    expect_random(em); /* wrong version */
    block(em, 0x0303);
    em[0] = 0x01;
    expect_random(em); /* bad first byte */
    block(em, 0x0303);
    em[1] = 0x01;
    expect_random(em); /* block type 1 */
    block(em, 0x0303);
    em[5] = 0x00;
    expect_random(em); /* zero inside the padding string */
    block(em, 0x0303);
    em[K - 49] = 0x07;
    expect_random(em); /* no separator before the premaster */
}

static void test_tls_unpad_refuses_short_block(void **state)
{
    unsigned char em[K], out[48];

    (void)state;
    block(em, 0x0303);
    assert_int_equal(hkprov_rsa_tls_unpad(em, 58, 0x0303, 0, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_unpad_accepts_good_block),
        cmocka_unit_test(test_tls_unpad_accepts_alt_version),
        cmocka_unit_test(test_tls_unpad_rejects_silently),
        cmocka_unit_test(test_tls_unpad_refuses_short_block),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
