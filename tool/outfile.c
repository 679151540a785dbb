/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outfile.c - output files (--out) that appear whole or not at all.
 *
 * Opening path with O_TRUNC would follow a symlink someone planted there
 * (in /tmp, in a shared project directory) and write where it points, and a
 * failure half-way would leave a truncated file behind.  So the content goes
 * to a new file beside path, created with O_EXCL|O_NOFOLLOW under a random
 * name, and is renamed over path once it is complete and on disk: rename
 * replaces a link at path instead of following it, and a failure removes
 * the new file and leaves path as it was.
 *
 * A file replaced keeps its owner and group (so a service still reads it
 * through its group) and its mode, but never a write bit for group or
 * others - nothing hsmkey writes, a key reference above all, may be
 * changed by a service that only reads it - and others get no more than a
 * new file would.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "tool.h"

#define TRIES 16

struct tool_out {
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    int fd;
    int created; /* tmp is ours to remove */
    BIO *bio;
};

/* dir/.base.XXXXXXXXXXXX beside path; 0 when the name would not fit. */
static int temp_name(const char *path, char *tmp, size_t len)
{
    const char *slash = strrchr(path, '/');
    unsigned char rnd[6];
    int n;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return 0;
    n = snprintf(tmp, len, "%.*s.%s.%02x%02x%02x%02x%02x%02x",
                 slash ? (int)(slash - path + 1) : 0, path,
                 slash ? slash + 1 : path, rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
    return n > 0 && (size_t)n < len;
}

/* The attributes of the file being replaced, within the rule above. */
static void keep_attributes(int fd, const char *path, int mode)
{
    struct stat st;
    mode_t keep;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    keep = st.st_mode & 07777 & ~(mode_t)(S_IWGRP | S_IWOTH);
    keep &= ~(mode_t)S_IRWXO | ((mode_t)mode & S_IRWXO);
    if (fchmod(fd, keep) != 0)
        return;
    if (fchown(fd, st.st_uid, st.st_gid) != 0)
        return; /* not root: the file becomes ours, as any write would */
}

struct tool_out *tool_out_open(const char *path, int mode)
{
    struct tool_out *out = OPENSSL_zalloc(sizeof(*out));
    int tries = 0;

    if (out == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    out->fd = -1;
    if (snprintf(out->path, sizeof(out->path), "%s", path)
        >= (int)sizeof(out->path)) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: path too long", path);
        goto err;
    }
    do {
        if (!temp_name(path, out->tmp, sizeof(out->tmp))) {
            hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: path too long",
                         path);
            goto err;
        }
        out->fd = open(out->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                                     | O_CLOEXEC, (mode_t)mode);
    } while (out->fd < 0 && errno == EEXIST && ++tries < TRIES);
    if (out->fd < 0) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", path,
                     strerror(errno));
        goto err;
    }
    out->created = 1;
    keep_attributes(out->fd, path, mode);
    if ((out->bio = BIO_new_fd(out->fd, BIO_NOCLOSE)) == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        goto err;
    }
    return out;
err:
    tool_out_close(out, 0);
    return NULL;
}

BIO *tool_out_bio(struct tool_out *out)
{
    return out->bio;
}

/* fsync before rename: after a crash, path is the old file or the whole
 * new one, never an empty one. */
static int finish(struct tool_out *out)
{
    int err = 0;

    if (BIO_flush(out->bio) != 1 || fsync(out->fd) != 0)
        err = errno ? errno : EIO;
    if (close(out->fd) != 0 && err == 0)
        err = errno;
    out->fd = -1;
    if (err == 0 && rename(out->tmp, out->path) != 0)
        err = errno;
    if (err == 0)
        return 1;
    hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", out->path,
                 strerror(err));
    return 0;
}

int tool_out_close(struct tool_out *out, int ok)
{
    if (out == NULL)
        return 0;
    if (ok && out->bio != NULL)
        ok = finish(out);
    else if (out->bio != NULL)
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", out->path,
                     errno ? strerror(errno) : "write failed");
    BIO_free(out->bio);
    if (out->fd >= 0)
        close(out->fd);
    if (!ok && out->created)
        unlink(out->tmp);
    OPENSSL_free(out);
    return ok;
}
