/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecdsa.c - PKCS#11 returns an ECDSA signature as r||s (two big-endian
 * halves of the order's size); X.509, TLS and OpenSSL callers expect the DER
 * ECDSA-Sig-Value.  libcrypto does the DER so INTEGER minimality (dropped
 * leading zeros, an added 0x00 before a high bit) is not ours to get wrong.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "hsmkey/err.h"
#include "hsmkey/p11.h"

static ECDSA_SIG *sig_from_raw(const unsigned char *raw, size_t rawlen)
{
    size_t half = rawlen / 2;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(raw + half, (int)half, NULL);

    if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        hsmkey_raise(HSMKEY_R_INTERNAL, "ECDSA signature: out of memory");
        return NULL;
    }
    return sig;
}

/* Each INTEGER: tag, up to 3 length bytes, a 0x00 and the half; then the
 * SEQUENCE header. */
#define DER_MAX(half) (2 * (1 + 3 + 1 + (half)) + 1 + 3)
#define RAW_MAX 1024 /* well above P-521's 132 bytes */

int hsmkey_ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen,
                            unsigned char *der, size_t *derlen)
{
    unsigned char buf[DER_MAX(RAW_MAX / 2)], *p = buf;
    ECDSA_SIG *sig;
    int need;

    hsmkey_return_val_if_fail(raw != NULL && derlen != NULL, 0);
    if (rawlen == 0 || rawlen % 2 != 0 || rawlen > RAW_MAX) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT,
                     "ECDSA signature from the token has %zu bytes; "
                     "expected r||s of equal halves", rawlen);
        return 0;
    }
    if ((sig = sig_from_raw(raw, rawlen)) == NULL)
        return 0;
    /* One encoding pass, into room that always suffices (signing path). */
    need = i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    if (need <= 0 || (size_t)need > sizeof(buf)) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "ECDSA signature: DER encoding failed");
        return 0;
    }
    if (der != NULL && *derlen < (size_t)need) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT,
                     "ECDSA signature needs %d bytes, buffer has %zu", need,
                     *derlen);
        return 0;
    }
    if (der != NULL)
        memcpy(der, buf, (size_t)need);
    *derlen = (size_t)need;
    return 1;
}
