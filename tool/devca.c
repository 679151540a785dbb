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

/* ---- the directory and its files ---- */

/*
 * Someone else's directory, or one others may write, could hold a CA they
 * made (root would then issue node certificates under it) or links that
 * send what we write elsewhere: the directory must be the caller's and
 * closed to others, and is used through a descriptor from then on.
 */
static int open_dir(const char *dir, struct devca *ca)
{
    struct stat st;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        hsmkey_raise(HSMKEY_R_FILE, "--ca-dir %s: cannot create it: %s", dir,
                     strerror(errno));
        return 0;
    }
    ca->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ca->dirfd < 0) {
        hsmkey_raise(HSMKEY_R_FILE, "--ca-dir %s: %s", dir,
                     errno == ELOOP || errno == ENOTDIR
                         ? "not a directory (a symbolic link is refused)"
                         : strerror(errno));
        return 0;
    }
    if (fstat(ca->dirfd, &st) != 0 || st.st_uid != geteuid()
        || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        hsmkey_raise(HSMKEY_R_FILE, "--ca-dir %s: must belong to this user "
                     "(uid %u) and not be writable by group or others (it "
                     "is uid %u, mode %04o): refused", dir,
                     (unsigned int)geteuid(), (unsigned int)st.st_uid,
                     (unsigned int)(st.st_mode & 07777));
        return 0;
    }
    return 1;
}

/* 1 when name is in the directory (a link counts: it is refused later). */
static int present(const struct devca *ca, const char *name)
{
    struct stat st;

    return fstatat(ca->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * One of the CA's files, for reading: a regular file of this user that
 * group and others cannot write (nor, with closed set, read), never
 * through a link.  A BIO that owns the descriptor, or NULL + raised.
 */
static BIO *open_file(const struct devca *ca, const char *name,
                      const char *path, int closed)
{
    int fd = openat(ca->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    mode_t refused = closed ? 077 : (S_IWGRP | S_IWOTH);
    struct stat st;
    BIO *in;

    if (fd < 0) {
        hsmkey_raise(HSMKEY_R_FILE, "%s: %s", path, errno == ELOOP
                     ? "a symbolic link: refused" : strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()
        || (st.st_mode & refused) != 0) {
        hsmkey_raise(HSMKEY_R_FILE, "%s: must be a regular file of this user "
                     "(uid %u)%s (it is uid %u, mode %04o): refused", path,
                     (unsigned int)geteuid(), closed
                         ? " that nobody else can read or write (mode 0600)"
                         : " that nobody else can write",
                     (unsigned int)st.st_uid,
                     (unsigned int)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    if ((in = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        close(fd);
    }
    return in;
}

/* A new file in the directory: never one that is there, never a link. */
static BIO *create_file(const struct devca *ca, const char *name,
                        const char *path, int mode)
{
    int fd = openat(ca->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                                         | O_CLOEXEC, (mode_t)mode);
    BIO *out;

    if (fd < 0) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot create %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    if ((out = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        close(fd);
    }
    return out;
}

/* ---- loading ---- */

static int load_cert(struct devca *ca)
{
    BIO *in = open_file(ca, "ca.pem", ca->cert_path, 0);

    if (in == NULL)
        return 0;
    ca->cert = PEM_read_bio_X509(in, NULL, NULL, NULL);
    BIO_free(in);
    if (ca->cert == NULL)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: not a PEM certificate",
                     ca->cert_path);
    else if (X509_check_ca(ca->cert) < 1)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s is not a CA certificate",
                     ca->cert_path);
    else
        return 1;
    return 0;
}

static int load_key(struct devca *ca)
{
    BIO *in = open_file(ca, "ca.key", ca->key_path, 1);

    if (in == NULL)
        return 0;
    /* "" as passphrase: an encrypted key fails instead of prompting. */
    ca->key = PEM_read_bio_PrivateKey(in, NULL, NULL, "");
    BIO_free(in);
    if (ca->key == NULL)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: not an unencrypted PEM private "
                     "key", ca->key_path);
    else if (X509_check_private_key(ca->cert, ca->key) != 1)
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s is not the key of %s",
                     ca->key_path, ca->cert_path);
    else
        return 1;
    return 0;
}

/* A written file: 1 when every write and the close went well. */
static int out_close(BIO *out, const char *path, int ok)
{
    ok = ok && BIO_flush(out) == 1;
    BIO_free(out);
    if (!ok)
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", path,
                     errno ? strerror(errno) : "write failed");
    return ok;
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

static int create(const char *dir, struct devca *ca)
{
    BIO *out;
    int ok;

    ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ca->cert = ca->key != NULL ? self_signed(ca->key) : NULL;
    if (ca->cert == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot make the dev CA for %s", dir);
        return 0;
    }
    if ((out = create_file(ca, "ca.key", ca->key_path, 0600)) == NULL
        || !out_close(out, ca->key_path,
                      PEM_write_bio_PrivateKey(out, ca->key, NULL, NULL, 0,
                                               NULL, NULL))) {
        unlinkat(ca->dirfd, "ca.key", 0);
        return 0;
    }
    out = create_file(ca, "ca.pem", ca->cert_path, 0644);
    ok = out != NULL
         && out_close(out, ca->cert_path, PEM_write_bio_X509(out, ca->cert));
    if (!ok) {
        if (out != NULL)
            unlinkat(ca->dirfd, "ca.pem", 0);
        unlinkat(ca->dirfd, "ca.key", 0); /* no key without its certificate */
        return 0;
    }
    ca->created = 1;
    return 1;
}

int devca_open(const char *dir, struct devca *ca)
{
    int have_cert, have_key;

    ca->dirfd = -1;
    if (snprintf(ca->cert_path, sizeof(ca->cert_path), "%s/ca.pem", dir)
            >= (int)sizeof(ca->cert_path)
        || snprintf(ca->key_path, sizeof(ca->key_path), "%s/ca.key", dir)
            >= (int)sizeof(ca->key_path)) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "--ca-dir: path too long");
        return 0;
    }
    if (!open_dir(dir, ca))
        return 0;
    have_cert = present(ca, "ca.pem");
    have_key = present(ca, "ca.key");
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
    if (ca->dirfd >= 0)
        close(ca->dirfd);
    ca->dirfd = -1;
}
