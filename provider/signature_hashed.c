/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signature_hashed.c - which way the token signs, and the hash-and-sign way.
 *
 * The raw mechanisms (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA) sign a
 * digest made in software: two token calls per signature whatever the
 * message's size, the path every unrestricted key takes.  A key whose
 * CKA_ALLOWED_MECHANISMS lists only hash-and-sign mechanisms
 * (CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA_SHA256, ...) refuses them, so its
 * message goes to the token instead: whole, when the application hands it
 * over at once (EVP_DigestSign, as TLS and certificate signing do), else
 * streamed as it comes (EVP_DigestSignUpdate) on a session bound to the
 * context until the signature is done.
 *
 * The choice is made when the context is set up (init, and again when a
 * parameter changes the digest or padding), from the attributes read when
 * the key was loaded: no token call, nothing decided per signature.
 */
#include <openssl/crypto.h>

#include "hsmkey/ckr.h"
#include "signature.h"

void hkprov_sig_plan(struct hkprov_sig_ctx *ctx)
{
    struct hsmkey_object *obj = ctx->key != NULL ? ctx->key->obj : NULL;
    CK_MECHANISM_TYPE raw = 0, hashed = 0;

    ctx->raw = 0;
    ctx->hashed = 0;
    ctx->refused = 0;
    if (!ctx->signing || obj == NULL || ctx->family->mechanisms == NULL)
        return;
    ctx->family->mechanisms(ctx, &raw, &hashed);
    ctx->raw = raw;
    if (raw == 0 || hsmkey_object_allows(obj, raw))
        return;
    if (ctx->digest_sign && hashed != 0 && hsmkey_object_allows(obj, hashed))
        ctx->hashed = hashed;
    else
        ctx->refused = 1;
}

static const char *mech_name(CK_MECHANISM_TYPE m)
{
    const char *name = hsmkey_ckm_name(m);

    return name != NULL ? name : "an unnamed mechanism";
}

int hkprov_sig_allowed(const struct hkprov_sig_ctx *ctx)
{
    struct hsmkey_object *obj = ctx->key->obj;
    CK_MECHANISM_TYPE raw = 0, hashed = 0;

    if (!ctx->refused)
        return 1;
    ctx->family->mechanisms(ctx, &raw, &hashed);
    if (hashed != 0 && hsmkey_object_allows(obj, hashed))
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: CKA_ALLOWED_MECHANISMS "
                     "refuses %s: the key signs whole messages only (%s), "
                     "through a digest-sign (EVP_DigestSign*)",
                     hsmkey_object_desc(obj), mech_name(raw),
                     mech_name(hashed));
    else
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: CKA_ALLOWED_MECHANISMS "
                     "allows neither %s nor %s", hsmkey_object_desc(obj),
                     mech_name(raw), hashed != 0 ? mech_name(hashed)
                                 : "a hash-and-sign mechanism for this digest");
    return 0;
}

static int hashed_mechanism(const struct hkprov_sig_ctx *ctx,
                            CK_MECHANISM *mech, CK_RSA_PKCS_PSS_PARAMS *pss)
{
    *mech = (CK_MECHANISM){ ctx->hashed, NULL, 0 };
    return ctx->family->hashed_params == NULL
           || ctx->family->hashed_params(ctx, mech, pss);
}

static int room(const struct hkprov_sig_ctx *ctx, size_t sigsize)
{
    size_t need = hkprov_key_max_sig(ctx->key);

    if (sigsize >= need)
        return 1;
    hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "signature buffer of %zu bytes, %zu "
                 "needed", sigsize, need);
    return 0;
}

/* Where the token writes: straight into sig, or a buffer to encode from. */
struct answer {
    unsigned char buf[HKPROV_SIG_ENCODED_MAX];
    unsigned char *out;
    size_t len;
};

static void answer_init(const struct hkprov_sig_ctx *ctx, struct answer *a,
                        unsigned char *sig, size_t sigsize)
{
    a->out = ctx->family->encode != NULL ? a->buf : sig;
    a->len = ctx->family->encode != NULL ? sizeof(a->buf) : sigsize;
}

static int answer_done(const struct hkprov_sig_ctx *ctx, struct answer *a,
                       unsigned char *sig, size_t *siglen, size_t sigsize)
{
    int ok = 1;

    if (ctx->family->encode == NULL) {
        *siglen = a->len;
        return 1;
    }
    *siglen = sigsize;
    ok = ctx->family->encode(a->buf, a->len, sig, siglen);
    OPENSSL_cleanse(a->buf, sizeof(a->buf));
    return ok;
}

int hkprov_sig_hashed_oneshot(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                              size_t *siglen, size_t sigsize,
                              const unsigned char *tbs, size_t tbslen)
{
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;
    struct answer a;

    if (ctx->stream != NULL || ctx->stream_moved) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: a one-shot signature while "
                     "a streamed one is in progress",
                     hsmkey_object_desc(ctx->key->obj));
        return 0;
    }
    if (!room(ctx, sigsize) || !hashed_mechanism(ctx, &mech, &pss))
        return 0;
    answer_init(ctx, &a, sig, sigsize);
    return hsmkey_object_sign(ctx->key->obj, &mech, tbs, tbslen, a.out,
                              &a.len)
           && answer_done(ctx, &a, sig, siglen, sigsize);
}

/* The stream of this context, begun on the first piece of the message. */
static int stream_ready(struct hkprov_sig_ctx *ctx)
{
    CK_MECHANISM mech;
    CK_RSA_PKCS_PSS_PARAMS pss;

    if (ctx->stream != NULL)
        return 1;
    if (ctx->stream_moved) {
        /* EVP_DigestSignFinal signs on a copy of the context, and a token
         * operation cannot be copied: it went with the copy. */
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: this signature was already "
                     "finished on a copy of the context; start a new one "
                     "(EVP_DigestSignInit)", hsmkey_object_desc(ctx->key->obj));
        return 0;
    }
    if (!hashed_mechanism(ctx, &mech, &pss))
        return 0;
    ctx->stream = hsmkey_sign_begin(ctx->key->obj, &mech);
    return ctx->stream != NULL;
}

int hkprov_sig_hashed_update(struct hkprov_sig_ctx *ctx,
                             const unsigned char *data, size_t datalen)
{
    return stream_ready(ctx)
           && hsmkey_sign_update(ctx->stream, data, datalen);
}

int hkprov_sig_hashed_final(struct hkprov_sig_ctx *ctx, unsigned char *sig,
                            size_t *siglen, size_t sigsize)
{
    struct hsmkey_sign_stream *st;
    struct answer a;

    if (!room(ctx, sigsize) || !stream_ready(ctx))
        return 0;
    st = ctx->stream;
    ctx->stream = NULL; /* final ends it, signed or not */
    answer_init(ctx, &a, sig, sigsize);
    return hsmkey_sign_final(st, a.out, &a.len)
           && answer_done(ctx, &a, sig, siglen, sigsize);
}

void hkprov_sig_hashed_drop(struct hkprov_sig_ctx *ctx)
{
    hsmkey_sign_abort(ctx->stream);
    ctx->stream = NULL;
    ctx->stream_moved = 0;
}
