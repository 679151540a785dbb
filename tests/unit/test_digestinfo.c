/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_digestinfo.c - the PKCS#1 v1.5 DigestInfo from constant prefixes
 * (provider/rsa_digestinfo.c) is byte for byte what OpenSSL's ASN.1
 * encoder makes, for every digest in the table and one outside it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "provider/prov.h"

/* The oracle: X509_SIG through i2d, as the encoder-only code did. */
static int oracle(int nid, const unsigned char *d, size_t dlen,
                  unsigned char **out)
{
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg;
    ASN1_OCTET_STRING *os;
    int n;

    assert_non_null(sig);
    X509_SIG_getm(sig, &alg, &os);
    assert_true(X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, NULL));
    assert_true(ASN1_OCTET_STRING_set(os, d, (int)dlen));
    *out = NULL;
    n = i2d_X509_SIG(sig, out);
    X509_SIG_free(sig);
    assert_true(n > 0);
    return n;
}

static void check(int nid, size_t dlen)
{
    unsigned char d[64], got[HKPROV_DIGEST_INFO_MAX], *want;
    size_t gotlen = sizeof(got);
    int wantlen;

    for (size_t i = 0; i < dlen; i++)
        d[i] = (unsigned char)(0xa5 ^ i);
    wantlen = oracle(nid, d, dlen, &want);
    assert_int_equal(hkprov_rsa_digest_info(nid, d, dlen, got, &gotlen), 1);
    assert_int_equal(gotlen, (size_t)wantlen);
    assert_memory_equal(got, want, gotlen);
    OPENSSL_free(want);
}

static void test_digestinfo_table_matches_encoder(void **state)
{
    static const struct {
        int nid;
        size_t len;
    } digests[] = {
        { NID_sha1, 20 },       { NID_sha224, 28 },     { NID_sha256, 32 },
        { NID_sha384, 48 },     { NID_sha512, 64 },     { NID_sha512_224, 28 },
        { NID_sha512_256, 32 }, { NID_sha3_224, 28 },   { NID_sha3_256, 32 },
        { NID_sha3_384, 48 },   { NID_sha3_512, 64 },
        { NID_ripemd160, 20 }, /* outside the table: the encoder */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
        check(digests[i].nid, digests[i].len);
}

static void test_digestinfo_refuses_wrong_sizes(void **state)
{
    unsigned char d[64] = { 0 }, out[HKPROV_DIGEST_INFO_MAX];
    size_t outlen = sizeof(out);

    (void)state;
    /* 31 bytes are no SHA-256 digest. */
    assert_int_equal(hkprov_rsa_digest_info(NID_sha256, d, 31, out, &outlen),
                     0);
    outlen = 19 + 31; /* one byte short */
    assert_int_equal(hkprov_rsa_digest_info(NID_sha256, d, 32, out, &outlen),
                     0);
    outlen = 10;
    assert_int_equal(hkprov_rsa_digest_info(NID_ripemd160, d, 20, out,
                                            &outlen), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digestinfo_table_matches_encoder),
        cmocka_unit_test(test_digestinfo_refuses_wrong_sizes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
