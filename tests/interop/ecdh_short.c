/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ecdh_short.c KEY_URI PEER.pem N - ECDH of a token key with a peer's
 * public key, into an N-byte buffer (EVP_PKEY_derive with *keylen = N, as
 * a program that wants a shorter secret asks), printed as hex.  The openssl
 * CLI always asks for the whole secret, so this is the only way to ask.
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/store.h>

static EVP_PKEY *load_private(const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *key = NULL;

    if (st != NULL && OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);

        if (info != NULL)
            key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return key;
}

int main(int argc, char **argv)
{
    EVP_PKEY *key, *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char out[256];
    size_t len;
    FILE *f;
    int rc = 1;

    if (argc != 4 || (len = strtoul(argv[3], NULL, 10)) > sizeof(out)) {
        fprintf(stderr, "usage: ecdh_short KEY_URI PEER.pem N\n");
        return 2;
    }
    key = load_private(argv[1]);
    if ((f = fopen(argv[2], "r")) != NULL) {
        peer = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (key != NULL && peer != NULL
        && (ctx = EVP_PKEY_CTX_new(key, NULL)) != NULL
        && EVP_PKEY_derive_init(ctx) > 0
        && EVP_PKEY_derive_set_peer(ctx, peer) > 0
        && EVP_PKEY_derive(ctx, out, &len) > 0) {
        for (size_t i = 0; i < len; i++)
            printf("%02x", out[i]);
        printf("\n");
        rc = 0;
    }
    ERR_print_errors_fp(stderr);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(key);
    return rc;
}
