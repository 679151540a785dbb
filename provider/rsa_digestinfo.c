/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rsa_digestinfo.c - the DER DigestInfo a PKCS#1 v1.5 signature signs
 * (RFC 8017 9.2): a fixed prefix per digest followed by the digest, so the
 * hot path copies bytes instead of running the ASN.1 encoder (five
 * allocations a signature).  Digests outside the table, rare in TLS and
 * X.509, go through the encoder; tests/unit/test_digestinfo.c checks the
 * table against it.
 */
#include <string.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "prov.h"

/* SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING (length follows) } */
#define DI_SHA2(last, len)                                                   \
    { 0x30, 0x11 + (len), 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,    \
      0x65, 0x03, 0x04, 0x02, (last), 0x05, 0x00, 0x04, (len) }

static const struct digest_prefix {
    int nid;
    size_t len; /* of the digest */
    unsigned char prefix[19];
    size_t prefixlen;
} prefixes[] = {
    { NID_sha1, 20,
      { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
        0x05, 0x00, 0x04, 0x14 }, 15 },
    { NID_sha224, 28, DI_SHA2(0x04, 28), 19 },
    { NID_sha256, 32, DI_SHA2(0x01, 32), 19 },
    { NID_sha384, 48, DI_SHA2(0x02, 48), 19 },
    { NID_sha512, 64, DI_SHA2(0x03, 64), 19 },
    { NID_sha512_224, 28, DI_SHA2(0x05, 28), 19 },
    { NID_sha512_256, 32, DI_SHA2(0x06, 32), 19 },
    { NID_sha3_224, 28, DI_SHA2(0x07, 28), 19 },
    { NID_sha3_256, 32, DI_SHA2(0x08, 32), 19 },
    { NID_sha3_384, 48, DI_SHA2(0x09, 48), 19 },
    { NID_sha3_512, 64, DI_SHA2(0x0a, 64), 19 },
};

/* The general way, for digests not in the table. */
static int encode(int nid, const unsigned char *dgst, size_t dlen,
                  unsigned char *out, size_t *outlen)
{
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg;
    ASN1_OCTET_STRING *os;
    unsigned char *p = out;
    int n = 0;

    if (sig == NULL)
        return 0;
    X509_SIG_getm(sig, &alg, &os);
    if (X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, NULL)
        && ASN1_OCTET_STRING_set(os, dgst, (int)dlen)
        && (n = i2d_X509_SIG(sig, NULL)) > 0 && (size_t)n <= *outlen)
        n = i2d_X509_SIG(sig, &p);
    X509_SIG_free(sig);
    if (n <= 0 || (size_t)n > *outlen)
        return 0;
    *outlen = (size_t)n;
    return 1;
}

int hkprov_rsa_digest_info(int nid, const unsigned char *dgst, size_t dlen,
                           unsigned char *out, size_t *outlen)
{
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        const struct digest_prefix *d = &prefixes[i];

        if (d->nid != nid)
            continue;
        if (dlen != d->len || *outlen < d->prefixlen + dlen)
            return 0;
        memcpy(out, d->prefix, d->prefixlen);
        memcpy(out + d->prefixlen, dgst, dlen);
        *outlen = d->prefixlen + dlen;
        return 1;
    }
    return encode(nid, dgst, dlen, out, outlen);
}
