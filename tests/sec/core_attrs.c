/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core_attrs.c - the core never reads a private key's CKA_VALUE.
 *
 *     core_attrs MODULE TOKEN PINFILE
 *
 * Writes to the token an EC private key that is neither sensitive nor
 * unextractable (a token then hands out its CKA_VALUE, the private scalar,
 * to whoever asks), finds it through the core as a provider or the CLI
 * would, and checks that its cached attributes hold no CKA_VALUE, while a
 * certificate's CKA_VALUE (its DER) is read.  The token's certificate is
 * mktoken.sh's rsa-cert.  Exit 0 when all holds.
 */
#include <stdio.h>
#include <string.h>

#include "hsmkey/p11.h"

#define CHECK(cond, what)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "core_attrs: FAIL: %s\n", what);                  \
            return 0;                                                         \
        }                                                                     \
    } while (0)

/* A P-256 private scalar: any value below the group order will do. */
static const unsigned char scalar[32] = {
    0x1c, 0x2b, 0x3a, 0x49, 0x58, 0x67, 0x76, 0x85, 0x94, 0xa3, 0xb2,
    0xc1, 0xd0, 0xef, 0xfe, 0x0d, 0x1c, 0x2b, 0x3a, 0x49, 0x58, 0x67,
    0x76, 0x85, 0x94, 0xa3, 0xb2, 0xc1, 0xd0, 0xef, 0xfe, 0x0d,
};

static int create_plain_key(struct hsmkey_token *tok)
{
    static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
                                          0x3d, 0x03, 0x01, 0x07 };
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE type = CKK_EC;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    unsigned char id[] = { 0x7e };
    char label[] = "plain-key";
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_KEY_TYPE, &type, sizeof(type) },
        { CKA_TOKEN, &yes, sizeof(yes) },
        { CKA_PRIVATE, &yes, sizeof(yes) },
        { CKA_SENSITIVE, &no, sizeof(no) },
        { CKA_EXTRACTABLE, &yes, sizeof(yes) },
        { CKA_SIGN, &yes, sizeof(yes) },
        { CKA_ID, id, sizeof(id) },
        { CKA_LABEL, label, strlen(label) },
        { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
        { CKA_VALUE, (void *)scalar, sizeof(scalar) },
    };
    CK_FUNCTION_LIST *fn = hsmkey_token_functions(tok);
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h;
    CK_RV rv;

    /* A session of the test's own, beside the core's (the login is the
     * module's, shared by every session of this process). */
    CHECK(hsmkey_token_login(tok, NULL), "login");
    CHECK(fn->C_OpenSession(hsmkey_token_slot(tok),
                            CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                            &s) == CKR_OK, "a session");
    rv = fn->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &h);
    fn->C_CloseSession(s);
    CHECK(rv == CKR_OK, "C_CreateObject of a non-sensitive EC key");
    return 1;
}

static struct hsmkey_object *find(struct hsmkey_core *core, const char *uri,
                                  CK_OBJECT_CLASS cls)
{
    P11KitUri *p = hsmkey_uri_parse(uri);
    struct hsmkey_object *obj = p ? hsmkey_core_find_one(core, p, cls) : NULL;

    p11_kit_uri_free(p);
    return obj;
}

static int run(struct hsmkey_core *core, const char *label)
{
    struct hsmkey_token **toks = NULL;
    struct hsmkey_object *key, *cert;
    size_t n = 0, len = 0;
    char uri[256];
    int ok;

    CHECK(hsmkey_core_tokens(core, NULL, &toks, &n) && n == 1, "one token");
    ok = create_plain_key(toks[0]);
    OPENSSL_free(toks);
    if (!ok)
        return 0;
    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=plain-key;"
             "type=private", label);
    key = find(core, uri, CKO_PRIVATE_KEY);
    CHECK(key != NULL, "finding the key");
    ok = hsmkey_object_flag(key, CKA_SENSITIVE, 1) == 0
         && hsmkey_object_attr(key, CKA_VALUE, &len) == NULL;
    hsmkey_object_free(key);
    CHECK(ok, "the private key's CKA_VALUE was read (or the key is "
              "sensitive after all)");
    snprintf(uri, sizeof(uri), "pkcs11:token=%s;object=rsa-cert;type=cert",
             label);
    cert = find(core, uri, CKO_CERTIFICATE);
    CHECK(cert != NULL, "finding the certificate");
    ok = hsmkey_object_attr(cert, CKA_VALUE, &len) != NULL && len > 100;
    hsmkey_object_free(cert);
    CHECK(ok, "the certificate's CKA_VALUE was not read");
    return 1;
}

int main(int argc, char **argv)
{
    char source[4200];
    struct hsmkey_core *core;
    int ok;

    if (argc != 4) {
        fprintf(stderr, "usage: core_attrs MODULE TOKEN PINFILE\n");
        return 2;
    }
    snprintf(source, sizeof(source), "file:%s", argv[3]);
    if ((core = hsmkey_core_new(argv[1], source)) == NULL)
        return 2;
    ok = run(core, argv[2]);
    hsmkey_core_free(core);
    if (ok)
        printf("core_attrs: ok: a private key's CKA_VALUE is never read, a "
               "certificate's is\n");
    return ok ? 0 : 1;
}
