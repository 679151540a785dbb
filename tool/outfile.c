/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outfile.c - files hsmkey writes (key references, requests, certificates):
 * whole or not at all (see x509util.h, tool_x509_out_open).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>

#include "tool.h"
#include "x509util.h"

/*
 * Files are written beside their target and renamed over it: a server
 * that reads a certificate or key reference while it is being replaced
 * sees the old file or the new one, never half of one.  The temp name
 * carries the pid, so the close finds it from the target's path.
 */
static void temp_name(const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%ld.tmp", path, (long)getpid());
}

/*
 * Marks a BIO that tool_x509_out_open made (its data goes to the temp
 * file): a caller that opened the file itself (O_EXCL, say) closes it
 * through tool_x509_out_close too, and then nothing is renamed.
 */
static int temp_mark(void)
{
    static int idx = -1;

    if (idx < 0)
        idx = BIO_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return idx;
}

/*
 * A file being replaced keeps its mode and, where allowed, its owner, but
 * never a write bit for group or others (nothing hsmkey writes, a key
 * reference above all, may be changed by a service that only reads it),
 * and others get no more than a new file would (mode).
 */
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

BIO *tool_x509_out_open(const char *path, int mode)
{
    char tmp[PATH_MAX];
    int fd;
    FILE *f = NULL;
    BIO *out = NULL;

    temp_name(path, tmp, sizeof(tmp));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              mode);
    if (fd >= 0) {
        keep_attributes(fd, path, mode);
        f = fdopen(fd, "w");
    }
    out = f != NULL ? BIO_new_fp(f, BIO_CLOSE) : NULL;
    if (out != NULL && BIO_set_ex_data(out, temp_mark(), out) != 1) {
        BIO_free(out); /* closes f */
        out = NULL;
        f = NULL;
        fd = -2; /* closed, the temp file still to remove */
    }
    if (out == NULL) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", path,
                     strerror(errno));
        if (f != NULL)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        if (fd != -1)
            unlink(tmp);
    }
    return out;
}

/* The rename itself made durable: the directory entry is on disk. */
static void sync_dir(const char *path)
{
    char dir[PATH_MAX], *slash;
    int fd;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        if (fsync(fd) != 0)
            errno = 0; /* best effort: the data itself is synced */
        close(fd);
    }
}

/* A file the caller opened in place: closed, removed if incomplete. */
static int close_in_place(BIO *out, const char *path, int ok)
{
    ok = ok && BIO_flush(out) == 1;
    if (BIO_free(out) != 1)
        ok = 0;
    if (!ok) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", path,
                     errno ? strerror(errno) : "write failed");
        remove(path);
    }
    return ok;
}

int tool_x509_out_close(BIO *out, const char *path, int ok)
{
    char tmp[PATH_MAX];
    FILE *f = NULL;

    errno = 0;
    if (BIO_get_ex_data(out, temp_mark()) == NULL)
        return close_in_place(out, path, ok);
    temp_name(path, tmp, sizeof(tmp));
    ok = ok && BIO_flush(out) == 1 && BIO_get_fp(out, &f) == 1 && f != NULL
         && fsync(fileno(f)) == 0;
    if (BIO_free(out) != 1) /* fclose: a late write error counts too */
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot write %s: %s", path,
                     errno ? strerror(errno) : "write failed");
        unlink(tmp);
        return 0;
    }
    sync_dir(path);
    return 1;
}
