/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.c - full TLS 1.3 handshakes per second in one process, client and
 * server over a memory BIO pair, so the figure is CPU and token work only:
 * the server's key on disk and on the token, in interleaved rounds.  The
 * server's certificate is made here for whatever key it is given.
 *
 * A handshake with a token key should cost one disk-key handshake, minus
 * one software signature, plus one token signature at the raw limit; the
 * ratio to that is taken in CPU time per handshake (one thread does both
 * sides and the token's work), from each round and the signing table's
 * 1-thread medians.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* A server and a client context, full handshakes only; NULL on failure. */
static int tls_setup(EVP_PKEY *server_key, EVP_PKEY *ca, SSL_CTX *ctx[2])
{
    X509 *cert = make_cert(server_key, ca);
    int ok;

    ctx[0] = SSL_CTX_new(TLS_server_method());
    ctx[1] = SSL_CTX_new(TLS_client_method());
    ok = cert != NULL && ctx[0] != NULL && ctx[1] != NULL
         && SSL_CTX_use_certificate(ctx[0], cert)
         && SSL_CTX_use_PrivateKey(ctx[0], server_key);
    for (int i = 0; ok && i < 2; i++) {
        SSL_CTX_set_min_proto_version(ctx[i], TLS1_3_VERSION);
        /* Full handshakes only: no tickets, no cache. */
        SSL_CTX_set_session_cache_mode(ctx[i], SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx[i], 0);
    }
    X509_free(cert);
    return ok;
}

static void row(const struct bench_cfg *cfg, const char *name, EVP_PKEY *key,
                EVP_PKEY *sw, double limit, double soft)
{
    EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, "provider=default", "EC", "P-256");
    SSL_CTX *disk[2] = { NULL, NULL }, *tok[2] = { NULL, NULL };
    struct bench_mode modes[2] = { { tls_once, disk }, { tls_once, tok } };
    struct bench_result res;
    double ratio[BENCH_MAX_ROUNDS];

    if (ca == NULL || !tls_setup(sw, ca, disk) || !tls_setup(key, ca, tok)) {
        fprintf(stderr, "bench: TLS setup failed\n");
        exit(1);
    }
    bench_run(cfg, 1, modes, 2, &res);
    bench_require_no_failures(&res, "TLS handshake");
    for (int i = 0; i < res.rounds; i++)
        ratio[i] = (res.cpu[0][i] - soft + limit) / res.cpu[1][i];
    printf("| %s | %.0f | %.0f | %.3f |\n", name,
           bench_result_rate(&res, 0), bench_result_rate(&res, 1),
           bench_median(ratio, res.rounds));
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        SSL_CTX_free(disk[i]);
        SSL_CTX_free(tok[i]);
    }
    EVP_PKEY_free(ca);
}

void bench_handshakes(const struct bench_cfg *cfg, const double limit[],
                      const double soft[])
{
    static const struct { size_t alg; const char *label; } rows[] = {
        { 1, "RSA-2048 (RSA-PSS)" }, { 2, "ECDSA P-256" } };
    char uri[256];

    printf("\n## TLS 1.3 full handshakes per second (1 thread)\n\n"
           "The last column is the token key's handshakes over what the "
           "token's raw signing allows (one disk-key handshake, minus a "
           "software signature, plus a raw token signature), in CPU time."
           "\n\n| server key | on disk | on token | token / expected, CPU "
           "|\n|---|---|---|---|\n");
    for (size_t i = 0; i < 2; i++) {
        const struct bench_alg *alg = &bench_algs[rows[i].alg];
        EVP_PKEY *key, *sw = bench_software_key(alg);

        bench_progress("TLS, %s\n", rows[i].label);
        bench_uri(cfg, alg->label, uri, sizeof(uri));
        if ((key = bench_load_key(uri)) == NULL || sw == NULL)
            exit(1);
        row(cfg, rows[i].label, key, sw, limit[rows[i].alg],
            soft[rows[i].alg]);
        EVP_PKEY_free(key);
        EVP_PKEY_free(sw);
    }
}
