/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rsa_tls_padding.c - the premaster secret of TLS 1.2's RSA key exchange.
 *
 * The token only does raw RSA here (CKM_RSA_X_509), which takes the same
 * time whatever the block holds; the PKCS#1 v1.5 check and the version
 * check run below in constant time, and any failure yields a random
 * premaster instead of an error (RFC 5246, 7.4.7.1), so neither the token
 * nor this code is a Bleichenbacher oracle.
 */
#include <string.h>
#include <openssl/rand.h>

#include "prov.h"

#define PREMASTER 48

/* All-ones when a == b, else zero, without a branch. */
static unsigned int ct_eq(unsigned int a, unsigned int b)
{
    unsigned int x = a ^ b;

    return (unsigned int)0 - (((x | (0U - x)) >> (sizeof(x) * 8 - 1)) ^ 1U);
}

static unsigned int ct_zero(unsigned int a)
{
    return ct_eq(a, 0);
}

/*
 * em: the k-byte raw RSA result.  out: always 48 bytes - the premaster
 * when em is 00 02 PS(8+ nonzero) 00 M(48) and M starts with the client's
 * version (or, for old clients, the negotiated one), else random bytes.
 */
int hkprov_rsa_tls_unpad(const unsigned char *em, size_t k,
                         unsigned int client_version,
                         unsigned int alt_version, unsigned char *out)
{
    unsigned char fake[PREMASTER];
    unsigned int good, version_ok, ps_ok = ~0U;
    const unsigned char *m;

    if (k < PREMASTER + 11 || RAND_priv_bytes(fake, sizeof(fake)) != 1)
        return 0;
    good = ct_zero(em[0]) & ct_eq(em[1], 2) & ct_zero(em[k - PREMASTER - 1]);
    for (size_t i = 2; i < k - PREMASTER - 1; i++)
        ps_ok &= ~ct_zero(em[i]);
    good &= ps_ok;
    m = em + k - PREMASTER;
    version_ok = ct_eq(m[0], (client_version >> 8) & 0xff)
                 & ct_eq(m[1], client_version & 0xff);
    if (alt_version != 0)
        version_ok |= ct_eq(m[0], (alt_version >> 8) & 0xff)
                      & ct_eq(m[1], alt_version & 0xff);
    good &= version_ok;
    for (size_t i = 0; i < PREMASTER; i++)
        out[i] = (unsigned char)((m[i] & good) | (fake[i] & ~good));
    OPENSSL_cleanse(fake, sizeof(fake));
    return 1;
}
