/* SPDX-License-Identifier: Apache-2.0 */
/* devca.c - the development CA of `hsmkey devcert` (see devca.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "devca.h"
#include "tool.h"
#include "x509util.h"

#define CA_DAYS 3650
#define SERIAL_BYTES 16

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

int devca_add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);

    X509_EXTENSION_free(ext);
    if (!ok)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot add extension %s = %s",
                     OBJ_nid2sn(nid), value);
    return ok;
}

/* RFC 5280: positive, at most 20 octets; random so reissues never clash. */
static int set_serial(X509 *cert)
{
    unsigned char buf[SERIAL_BYTES];
    BIGNUM *bn = NULL;
    int ok;

    ok = RAND_bytes(buf, sizeof(buf)) == 1;
    buf[0] &= 0x7f;
    ok = ok && (bn = BN_bin2bn(buf, sizeof(buf), NULL)) != NULL
         && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

X509 *devca_new_cert(const char *cn, const X509_NAME *issuer, long skew_secs,
                     long days)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    int ok = cert != NULL && name != NULL
             && X509_set_version(cert, X509_VERSION_3) && set_serial(cert)
             && X509_time_adj_ex(X509_getm_notBefore(cert), 0, skew_secs,
                                 NULL)
             && X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL);

    if (!ok) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot start a certificate for "
                     "'%s' valid %ld days", cn, days);
    } else if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                          (const unsigned char *)cn, -1, -1,
                                          0)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--cn '%s': not a usable common "
                     "name (at most 64 characters)", cn);
        ok = 0;
    } else {
        ok = X509_set_subject_name(cert, name)
             && X509_set_issuer_name(cert, issuer ? issuer : name);
        if (!ok)
            hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    }
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* ---- loading ---- */

static int load_cert(struct devca *ca)
{
    BIO *in = BIO_new_file(ca->cert_path, "r");

    ca->cert = in != NULL ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    BIO_free(in);
    if (ca->cert == NULL)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: %s", ca->cert_path,
                     in == NULL ? strerror(errno) : "not a PEM certificate");
    else if (X509_check_ca(ca->cert) < 1)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s is not a CA certificate",
                     ca->cert_path);
    else
        return 1;
    return 0;
}

static int load_key(struct devca *ca)
{
    BIO *in = BIO_new_file(ca->key_path, "r");

    /* "" as passphrase: an encrypted key fails instead of prompting. */
    ca->key = in != NULL ? PEM_read_bio_PrivateKey(in, NULL, NULL, "") : NULL;
    BIO_free(in);
    if (ca->key == NULL)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: %s", ca->key_path,
                     in == NULL ? strerror(errno)
                                : "not an unencrypted PEM private key");
    else if (X509_check_private_key(ca->cert, ca->key) != 1)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s is not the key of %s",
                     ca->key_path, ca->cert_path);
    else
        return 1;
    return 0;
}

/* ---- creating ---- */

static X509 *self_signed(EVP_PKEY *key)
{
    unsigned char rnd[4];
    char cn[64];
    X509 *cert;
    X509V3_CTX v3;

    /* A distinct name per CA: a re-made dev CA is not mistaken for the
     * old one by name-based chain building. */
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return NULL;
    snprintf(cn, sizeof(cn), "hsmkey dev CA %02x%02x%02x%02x", rnd[0],
             rnd[1], rnd[2], rnd[3]);
    if ((cert = devca_new_cert(cn, NULL, -300, CA_DAYS)) == NULL)
        return NULL;
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    if (!X509_set_pubkey(cert, key)
        || !devca_add_ext(cert, &v3, NID_basic_constraints,
                          "critical,CA:TRUE,pathlen:0")
        || !devca_add_ext(cert, &v3, NID_key_usage,
                          "critical,keyCertSign,cRLSign")
        || !devca_add_ext(cert, &v3, NID_subject_key_identifier, "hash")
        || !X509_sign(cert, key, EVP_sha256())) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* O_EXCL: a key that appeared meanwhile is never overwritten. */
static int write_key(const struct devca *ca)
{
    int fd = open(ca->key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    BIO *out = f != NULL ? BIO_new_fp(f, BIO_CLOSE) : NULL;

    if (out == NULL) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot create %s: %s", ca->key_path,
                     strerror(errno));
        if (f != NULL)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        return 0;
    }
    return tool_x509_out_close(out, ca->key_path,
                               PEM_write_bio_PrivateKey(out, ca->key, NULL,
                                                        NULL, 0, NULL, NULL));
}

static int create(const char *dir, struct devca *ca)
{
    BIO *out;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        hsmkey_raise(HSMKEY_R_FILE, "--ca-dir %s: cannot create it: %s", dir,
                     strerror(errno));
        return 0;
    }
    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ca->cert = ca->key != NULL ? self_signed(ca->key) : NULL;
    if (ca->cert == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot make the dev CA for %s", dir);
        return 0;
    }
    if (!write_key(ca))
        return 0;
    out = tool_x509_out_open(ca->cert_path, 0644);
    if (out == NULL
        || !tool_x509_out_close(out, ca->cert_path,
                                PEM_write_bio_X509(out, ca->cert))) {
        remove(ca->key_path); /* no key without its certificate */
        return 0;
    }
    ca->created = 1;
    return 1;
}

int devca_open(const char *dir, struct devca *ca)
{
    int have_cert, have_key;

    if (snprintf(ca->cert_path, sizeof(ca->cert_path), "%s/ca.pem", dir)
            >= (int)sizeof(ca->cert_path)
        || snprintf(ca->key_path, sizeof(ca->key_path), "%s/ca.key", dir)
            >= (int)sizeof(ca->key_path)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--ca-dir: path too long");
        return 0;
    }
    have_cert = exists(ca->cert_path);
    have_key = exists(ca->key_path);
    if (have_cert && have_key)
        return load_cert(ca) && load_key(ca);
    if (have_cert || have_key) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "--ca-dir %s has %s but not %s: "
                     "restore it, or remove both to start a new dev CA",
                     dir, have_cert ? "ca.pem" : "ca.key",
                     have_cert ? "ca.key" : "ca.pem");
        return 0;
    }
    return create(dir, ca);
}

void devca_close(struct devca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    ca->cert = NULL;
    ca->key = NULL;
}
