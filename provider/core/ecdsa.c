/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecdsa.c - PKCS#11 returns an ECDSA signature as r||s (two big-endian
 * halves of the order's size); X.509, TLS and OpenSSL callers expect the DER
 * ECDSA-Sig-Value, SEQUENCE { r INTEGER, s INTEGER }.
 *
 * Encoded here, not through ECDSA_SIG and two BIGNUMs: that costs about a
 * microsecond and six allocations on every ECDSA signature, a sizeable part
 * of what the provider adds to a token signature.  The rules are few
 * (positive INTEGERs: leading zero bytes dropped, a 0x00 before a high bit;
 * definite lengths), and the unit test holds the result to i2d_ECDSA_SIG's
 * for every shape of input.
 */
#include <string.h>

#include "hsmkey/err.h"
#include "hsmkey/p11.h"

#define RAW_MAX 1024 /* well above P-521's 132 bytes */

/* Bytes of a DER length; lengths here stay below 64 KiB. */
static size_t len_size(size_t len)
{
    return len < 0x80 ? 1 : len <= 0xff ? 2 : 3;
}

static unsigned char *put_len(unsigned char *p, size_t len)
{
    if (len >= 0x80) {
        if (len > 0xff) {
            *p++ = 0x82;
            *p++ = (unsigned char)(len >> 8);
        } else {
            *p++ = 0x81;
        }
    }
    *p++ = (unsigned char)len;
    return p;
}

/* The INTEGER's content: v without its leading zeros (one kept for zero)
 * and a 0x00 ahead when the first byte has its high bit set. */
struct uint_der {
    const unsigned char *v;
    size_t n, pad, content;
};

static void uint_der(struct uint_der *u, const unsigned char *v, size_t n)
{
    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    u->v = v;
    u->n = n;
    u->pad = (v[0] & 0x80) != 0;
    u->content = u->n + u->pad;
}

static size_t uint_size(const struct uint_der *u)
{
    return 1 + len_size(u->content) + u->content;
}

static unsigned char *put_uint(unsigned char *p, const struct uint_der *u)
{
    *p++ = 0x02;
    p = put_len(p, u->content);
    if (u->pad)
        *p++ = 0x00;
    memcpy(p, u->v, u->n);
    return p + u->n;
}

int hsmkey_ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen,
                            unsigned char *der, size_t *derlen)
{
    struct uint_der r, s;
    size_t body, need;
    unsigned char *p;

    hsmkey_return_val_if_fail(raw != NULL && derlen != NULL, 0);
    if (rawlen == 0 || rawlen % 2 != 0 || rawlen > RAW_MAX) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT,
                     "ECDSA signature from the token has %zu bytes; "
                     "expected r||s of equal halves", rawlen);
        return 0;
    }
    uint_der(&r, raw, rawlen / 2);
    uint_der(&s, raw + rawlen / 2, rawlen / 2);
    body = uint_size(&r) + uint_size(&s);
    need = 1 + len_size(body) + body;
    if (der != NULL && *derlen < need) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT,
                     "ECDSA signature needs %zu bytes, buffer has %zu", need,
                     *derlen);
        return 0;
    }
    if (der != NULL) {
        p = der;
        *p++ = 0x30;
        p = put_len(p, body);
        p = put_uint(p, &r);
        put_uint(p, &s);
    }
    *derlen = need;
    return 1;
}
