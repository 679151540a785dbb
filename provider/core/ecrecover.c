/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecrecover.c - the public point of an EC private key that the token shows
 * with nothing beside it: no CKA_EC_POINT on the key, no public key object
 * and no certificate with its CKA_ID (a SoftHSM2 key whose public object
 * was deleted, a key another tool stored alone).
 *
 * An ECDSA signature (r, s) of a digest e determines the public key up to
 * the two points R with x(R) = r:  Q = r^-1 (s R - e G).  The token signs
 * two random digests; the one candidate both signatures give is the key.
 * (x(R) = r + n is left out: for the prime curves it happens with
 * probability about 2^-128.)
 */
#include <string.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "core.h"

#define MAX_DIGEST 64
#define MAX_SIG 2 * 66

struct recover {
    const EC_GROUP *group;
    BN_CTX *bn;
    EC_POINT *cand[2][2]; /* per signature, per y parity */
};

/* e: the digest as the integer ECDSA uses (leftmost order-bits bits). */
static BIGNUM *digest_int(const EC_GROUP *g, const unsigned char *d,
                          size_t dlen)
{
    BIGNUM *e = BN_bin2bn(d, (int)dlen, NULL);
    int bits = EC_GROUP_order_bits(g);

    if (e != NULL && (int)(8 * dlen) > bits
        && !BN_rshift(e, e, (int)(8 * dlen) - bits)) {
        BN_free(e);
        e = NULL;
    }
    return e;
}

/* Both candidates of one signature (raw r||s); 0 on a malformed one. */
static int candidates(struct recover *rc, int k, const unsigned char *sig,
                      size_t siglen, const BIGNUM *e)
{
    const BIGNUM *n = EC_GROUP_get0_order(rc->group);
    BIGNUM *r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
    BIGNUM *s = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
    BIGNUM *rinv = BN_new(), *u1 = BN_new(), *u2 = BN_new();
    EC_POINT *R = EC_POINT_new(rc->group);
    int ok = r && s && rinv && u1 && u2 && R
             && BN_mod_inverse(rinv, r, n, rc->bn) != NULL
             && BN_mod_mul(u1, e, rinv, n, rc->bn)
             && BN_mod_sub(u1, n, u1, n, rc->bn) /* -e/r */
             && BN_mod_mul(u2, s, rinv, n, rc->bn);

    hsmkey_err_set_mark(); /* an x that is on no point is no error */
    for (int y = 0; ok && y < 2; y++) {
        rc->cand[k][y] = EC_POINT_new(rc->group);
        if (rc->cand[k][y] == NULL
            || !EC_POINT_set_compressed_coordinates(rc->group, R, r, y,
                                                    rc->bn)
            || !EC_POINT_mul(rc->group, rc->cand[k][y], u1, R, u2, rc->bn)) {
            EC_POINT_free(rc->cand[k][y]);
            rc->cand[k][y] = NULL; /* no point with this x: one less */
        }
    }
    hsmkey_err_pop_to_mark();
    BN_free(r);
    BN_free(s);
    BN_free(rinv);
    BN_free(u1);
    BN_free(u2);
    EC_POINT_free(R);
    return ok;
}

/* The token signs a random digest; its candidates go to rc->cand[k]. */
static int sign_one(struct recover *rc, struct hsmkey_object *key, int k)
{
    CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
    unsigned char d[MAX_DIGEST], sig[MAX_SIG];
    size_t dlen = (size_t)(EC_GROUP_order_bits(rc->group) + 7) / 8;
    size_t siglen = sizeof(sig);
    BIGNUM *e;
    int ok;

    if (dlen > sizeof(d))
        dlen = sizeof(d);
    if (RAND_bytes(d, (int)dlen) != 1) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "no random bytes");
        return 0;
    }
    if (!hsmkey_object_sign(key, &mech, d, dlen, sig, &siglen))
        return 0;
    if ((e = digest_int(rc->group, d, dlen)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    ok = siglen > 0 && siglen % 2 == 0
         && candidates(rc, k, sig, siglen, e);
    BN_free(e);
    if (!ok)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: the token's ECDSA signature "
                     "is unusable", hsmkey_object_desc(key));
    return ok;
}

/* The one point both signatures agree on, uncompressed, into out. */
static int agreed(struct recover *rc, unsigned char *out, size_t *outlen)
{
    const EC_POINT *found = NULL;
    int n = 0;

    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            if (rc->cand[0][a] != NULL && rc->cand[1][b] != NULL
                && EC_POINT_cmp(rc->group, rc->cand[0][a], rc->cand[1][b],
                                rc->bn) == 0) {
                found = rc->cand[0][a];
                n++;
            }
    if (n != 1)
        return 0;
    *outlen = EC_POINT_point2oct(rc->group, found,
                                 POINT_CONVERSION_UNCOMPRESSED, out, *outlen,
                                 rc->bn);
    return *outlen > 0;
}

int hsmkey_ec_recover_point(struct hsmkey_object *key, const char *curve,
                            unsigned char *out, size_t *outlen)
{
    struct recover rc = { NULL, NULL, { { NULL, NULL }, { NULL, NULL } } };
    EC_GROUP *group = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
    int ok = 0;

    rc.group = group;
    rc.bn = BN_CTX_new();
    if (group == NULL || rc.bn == NULL) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: curve %s is not known",
                     hsmkey_object_desc(key), curve);
        goto done;
    }
    if (!hsmkey_object_has_mechanism(key, CKM_ECDSA)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: no public key, certificate "
                     "or CKA_EC_POINT on the token, and no CKM_ECDSA to "
                     "recover it with", hsmkey_object_desc(key));
        goto done;
    }
    if (!sign_one(&rc, key, 0) || !sign_one(&rc, key, 1))
        goto done;
    if (!(ok = agreed(&rc, out, outlen)))
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: its ECDSA signatures do not "
                     "agree on one public key", hsmkey_object_desc(key));
done:
    for (int k = 0; k < 2; k++)
        for (int y = 0; y < 2; y++)
            EC_POINT_free(rc.cand[k][y]);
    BN_CTX_free(rc.bn);
    EC_GROUP_free(group);
    return ok;
}
