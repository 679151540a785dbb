/* SPDX-License-Identifier: Apache-2.0 */
/*
 * derive_key.c - puts on the token an EC P-256 key pair that may derive
 * but not sign (CKA_SIGN false), as some tokens make ECDH keys: hsmkey then
 * proves its public key object with ECDH instead of a signature
 * (core/partner.c).  Used by cli_swapped_pubkey.sh.
 *
 *     derive_key MODULE TOKEN PINFILE LABEL OUT.pub.pem
 *
 * The key is made in software and written with C_CreateObject (sensitive,
 * not extractable); its public key goes to OUT.pub.pem.  CKA_ID is 0x0d.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hsmkey/p11.h"

static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
                                      0x3d, 0x03, 0x01, 0x07 };
static unsigned char id[] = { 0x0d };

static CK_RV create(struct hsmkey_token *tok, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_FUNCTION_LIST *fn = hsmkey_token_functions(tok);
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h;
    CK_RV rv;

    /* A session of its own, beside the core's (which logged in). */
    rv = fn->C_OpenSession(hsmkey_token_slot(tok),
                           CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return rv;
    rv = fn->C_CreateObject(s, tmpl, n, &h);
    fn->C_CloseSession(s);
    return rv;
}

static int write_pair(struct hsmkey_token *tok, const char *label,
                      EVP_PKEY *key)
{
    unsigned char d[32], point[65], ecpoint[67];
    size_t plen = 0;
    BIGNUM *bn = NULL;
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, pub = CKO_PUBLIC_KEY;
    CK_KEY_TYPE type = CKK_EC;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &bn)
             && BN_bn2binpad(bn, d, sizeof(d)) == sizeof(d)
             && EVP_PKEY_get_octet_string_param(
                    key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                    sizeof(point), &plen) && plen == sizeof(point);
    CK_ATTRIBUTE tpriv[] = {
        { CKA_CLASS, &priv, sizeof(priv) }, { CKA_KEY_TYPE, &type, sizeof(type) },
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
        { CKA_SENSITIVE, &yes, 1 }, { CKA_EXTRACTABLE, &no, 1 },
        { CKA_SIGN, &no, 1 }, { CKA_DERIVE, &yes, 1 },
        { CKA_ID, id, sizeof(id) }, { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
        { CKA_VALUE, d, sizeof(d) },
    };
    CK_ATTRIBUTE tpub[] = {
        { CKA_CLASS, &pub, sizeof(pub) }, { CKA_KEY_TYPE, &type, sizeof(type) },
        { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &no, 1 },
        { CKA_DERIVE, &yes, 1 }, { CKA_VERIFY, &no, 1 },
        { CKA_ID, id, sizeof(id) }, { CKA_LABEL, (void *)label, strlen(label) },
        { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
        { CKA_EC_POINT, ecpoint, sizeof(ecpoint) },
    };

    BN_clear_free(bn);
    ecpoint[0] = 0x04; /* DER OCTET STRING around the point */
    ecpoint[1] = sizeof(point);
    memcpy(ecpoint + 2, point, sizeof(point));
    ok = ok && hsmkey_token_login(tok, NULL)
         && create(tok, tpriv, sizeof(tpriv) / sizeof(tpriv[0])) == CKR_OK
         && create(tok, tpub, sizeof(tpub) / sizeof(tpub[0])) == CKR_OK;
    OPENSSL_cleanse(d, sizeof(d));
    return ok;
}

int main(int argc, char **argv)
{
    char source[4200];
    struct hsmkey_core *core;
    struct hsmkey_token **toks = NULL;
    size_t n = 0;
    EVP_PKEY *key = NULL;
    FILE *out = NULL;
    int ok = 0;

    if (argc != 6) {
        fprintf(stderr, "usage: derive_key MODULE TOKEN PINFILE LABEL "
                "OUT.pub.pem\n");
        return 2;
    }
    snprintf(source, sizeof(source), "file:%s", argv[3]);
    if ((core = hsmkey_core_new(argv[1], source)) == NULL)
        return 2;
    if (hsmkey_core_tokens(core, NULL, &toks, &n) && n == 1
        && strcmp(hsmkey_token_label(toks[0]), argv[2]) == 0
        && (key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) != NULL
        && write_pair(toks[0], argv[4], key)
        && (out = fopen(argv[5], "w")) != NULL)
        ok = PEM_write_PUBKEY(out, key);
    if (out != NULL)
        ok = fclose(out) == 0 && ok;
    EVP_PKEY_free(key);
    OPENSSL_free(toks);
    hsmkey_core_free(core);
    if (!ok)
        fprintf(stderr, "derive_key: could not put the key on the token\n");
    return ok ? 0 : 1;
}
