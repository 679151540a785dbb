/* SPDX-License-Identifier: Apache-2.0 */
/*
 * derive.c - ECDH with a token EC key (CKM_ECDH1_DERIVE): the shared
 * secret is derived into a short-lived session object, read once and
 * destroyed, as the application asked for the secret itself.
 */
#include <openssl/crypto.h>

#include "core.h"

static CK_RV derive_into(struct hsmkey_object *key, CK_SESSION_HANDLE s,
                         CK_OBJECT_HANDLE h, const unsigned char *peer,
                         size_t peerlen, unsigned char *out, size_t *outlen)
{
    CK_FUNCTION_LIST *fn = hsmkey_object_token(key)->fn;
    CK_ECDH1_DERIVE_PARAMS params = { CKD_NULL, 0, NULL, peerlen,
                                      (CK_BYTE *)peer };
    CK_MECHANISM mech = { CKM_ECDH1_DERIVE, &params, sizeof(params) };
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ULONG len = *outlen;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_KEY_TYPE, &type, sizeof(type) },
        { CKA_VALUE_LEN, &len, sizeof(len) },
        { CKA_TOKEN, &no, sizeof(no) },
        { CKA_SENSITIVE, &no, sizeof(no) },
        { CKA_EXTRACTABLE, &yes, sizeof(yes) },
    };
    CK_ATTRIBUTE value = { CKA_VALUE, out, len };
    CK_OBJECT_HANDLE secret;
    CK_RV rv;

    rv = fn->C_DeriveKey(s, &mech, h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
                         &secret);
    if (rv != CKR_OK)
        return rv;
    rv = fn->C_GetAttributeValue(s, secret, &value, 1);
    fn->C_DestroyObject(s, secret);
    if (rv == CKR_OK)
        *outlen = value.ulValueLen;
    return rv;
}

int hsmkey_object_derive(struct hsmkey_object *key,
                         const unsigned char *peer, size_t peerlen,
                         unsigned char *out, size_t *outlen)
{
    struct hsmkey_token *tok = hsmkey_object_token(key);
    CK_OBJECT_HANDLE h;
    CK_SESSION_HANDLE s;
    CK_RV rv;

    if (!hsmkey_object_has_mechanism(key, CKM_ECDH1_DERIVE)) {
        hsmkey_raise(HSMKEY_R_UNSUPPORTED, "%s: the token does not offer "
                     "CKM_ECDH1_DERIVE", hsmkey_object_desc(key));
        return 0;
    }
    if (!hsmkey_object_handle(key, &h) || !hsmkey_token_session_get(tok, &s))
        return 0;
    hsmkey_err_set_mark();
    rv = derive_into(key, s, h, peer, peerlen, out, outlen);
    hsmkey_err_pop_to_mark();
    hsmkey_token_session_put(tok, s, rv == CKR_SESSION_HANDLE_INVALID);
    if (rv != CKR_OK) {
        hsmkey_raise(HSMKEY_R_PKCS11, "%s: C_DeriveKey(CKM_ECDH1_DERIVE): %s",
                     hsmkey_object_desc(key), hsmkey_ckr_name(rv));
        return 0;
    }
    return 1;
}
