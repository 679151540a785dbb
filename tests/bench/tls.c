/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.c - full TLS 1.3 handshakes per second in one process, client and
 * server over a memory BIO pair, so the figure is CPU and token work only.
 * The server's certificate is made here for whatever key it is given.
 */
#include <stdio.h>
#include <time.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench.h"

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *ca)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    if (x == NULL || name == NULL)
        goto err;
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"bench", -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    if (!X509_set_pubkey(x, key) || !X509_sign(x, ca, EVP_sha256()))
        goto err;
    X509_NAME_free(name);
    return x;
err:
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

static int handshake(SSL_CTX *sctx, SSL_CTX *cctx)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *sb = NULL, *cb = NULL;
    int sdone = 0, cdone = 0, ok = 0;

    if (s == NULL || c == NULL || !BIO_new_bio_pair(&sb, 0, &cb, 0))
        goto done;
    SSL_set_bio(s, sb, sb);
    SSL_set_bio(c, cb, cb);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    for (int i = 0; i < 20 && !(sdone && cdone); i++) {
        int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);

        cdone = rc == 1;
        sdone = rs == 1;
        if ((rc <= 0 && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            || (rs <= 0 && SSL_get_error(s, rs) != SSL_ERROR_WANT_READ))
            goto done;
    }
    ok = sdone && cdone;
done:
    SSL_free(s);
    SSL_free(c);
    return ok;
}

static int tls_once(void *arg, int thread)
{
    SSL_CTX **ctx = arg;

    (void)thread;
    return handshake(ctx[0], ctx[1]);
}

double bench_tls(const struct bench_cfg *cfg, EVP_PKEY *server_key)
{
    EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, "provider=default", "EC", "P-256");
    X509 *cert = ca ? make_cert(server_key, ca) : NULL;
    SSL_CTX *ctx[2] = { SSL_CTX_new(TLS_server_method()),
                        SSL_CTX_new(TLS_client_method()) };
    double rate = 0;

    if (cert == NULL || ctx[0] == NULL || ctx[1] == NULL
        || !SSL_CTX_use_certificate(ctx[0], cert)
        || !SSL_CTX_use_PrivateKey(ctx[0], server_key)) {
        fprintf(stderr, "bench: TLS setup failed\n");
        goto done;
    }
    for (int i = 0; i < 2; i++) {
        SSL_CTX_set_min_proto_version(ctx[i], TLS1_3_VERSION);
        /* Full handshakes only: no tickets, no cache. */
        SSL_CTX_set_session_cache_mode(ctx[i], SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx[i], 0);
    }
    rate = bench_rate(cfg, 1, tls_once, ctx);
done:
    SSL_CTX_free(ctx[0]);
    SSL_CTX_free(ctx[1]);
    X509_free(cert);
    EVP_PKEY_free(ca);
    return rate;
}
