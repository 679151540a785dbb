/* SPDX-License-Identifier: Apache-2.0 */
/* keyref_fixtures.h - PEM made by other tools, for test_keyref.c only. */
#ifndef HSMKEY_TEST_KEYREF_FIXTURES_H
#define HSMKEY_TEST_KEYREF_FIXTURES_H

#define FIXTURE_URI "pkcs11:token=node1;object=node-key;type=private"

/*
 * Made independently of our encoder, with
 *   openssl asn1parse -genconf kr.cnf -out kr.der
 * where kr.cnf is
 *   asn1=SEQUENCE:keyref
 *   [keyref]
 *   desc=VISIBLESTRING:PKCS\#11 Provider URI v1.0
 *   uri=UTF8:pkcs11:token=node1;object=node-key;type=private
 * and wrapped with base64 -w64 between the BEGIN/END lines.
 */
static const char fixture_pem[] =
    "-----BEGIN PKCS#11 PROVIDER URI-----\n"
    "MEwaGVBLQ1MjMTEgUHJvdmlkZXIgVVJJIHYxLjAML3BrY3MxMTp0b2tlbj1ub2Rl\n"
    "MTtvYmplY3Q9bm9kZS1rZXk7dHlwZT1wcml2YXRl\n"
    "-----END PKCS#11 PROVIDER URI-----\n";

/* openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 ... */
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBeTCCAR+gAwIBAgIUAOi5lf+u6tsIN1O6O7r5smcCzmgwCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHZml4dHVyZTAeFw0yNjExMjYyMjQ1MTRaFw0zNjExMjMyMjQ1\n"
    "MTRaMBIxEDAOBgNVBAMMB2ZpeHR1cmUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AASgqFCx4G/sSF0nukzur1UtlHmgw++r6UTjgMJaz/V7Og9GvQ8vgnXTFQJl2B+l\n"
    "RZgy6f4qyx+xZ3IAlZ/L3VdDo1MwUTAdBgNVHQ4EFgQUm9mqyc/6sLBt3hrL4FQe\n"
    "QNRVPAQwHwYDVR0jBBgwFoAUm9mqyc/6sLBt3hrL4FQeQNRVPAQwDwYDVR0TAQH/\n"
    "BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAsypbWCChwxhYlTeDguCiYuMxaMhb\n"
    "4N5ZCmN9HbBZ/P8CIB73iZrooP8D1A4fhMisswk2DQ+ivFKMYjnJIbKkIw+F\n"
    "-----END CERTIFICATE-----\n";

#endif
